//! Audio/video: media channels per participant and their offer/answer.
//!
//! Each remote participant of an audio/video session has media lines; each line
//! carries one [`MediaChannel`] or none (a removed or rejected stream keeps its
//! position, RFC 3264 §8.2). Offers are built from the channels' preferred
//! directions; answers set their negotiated directions. With a media engine, every
//! channel gets a [`MediaStream`](crate::contract::media::MediaStream) that is opened
//! before its address is offered and re-applied after each exchange.

use std::fmt;
use std::sync::Arc;

use tokio::sync::mpsc;

use tracing::debug;

use super::{Session, SessionInner, SessionType};
use crate::channel::MediaChannel;
use crate::contract::media::{NegotiatedStream, StreamRequest};
use crate::contract::signaling::Reply;
use crate::description::{
    self, Codec, LocalMedia, MAX_MEDIA_LINES, MediaAddress, MediaDescription, MediaDirection,
    MediaType, SessionDescription,
};
use crate::error::{Error, MediaError};
use crate::events::{ParticipantEvent, SessionEvent};
use crate::lock;
use crate::operation::{Operation, OperationContext, OperationKind, OperationProgress};
use crate::participant::{Line, Participant, ParticipantState};
use crate::status::{Status, StatusCode};

/// The audio/video facet of a participant; from [`Participant::av`].
#[derive(Clone, Debug)]
pub struct AvParticipant {
    participant: Participant,
}

impl Participant {
    /// The audio/video facet, for participants of audio/video sessions.
    pub fn av(&self) -> Result<AvParticipant, Error> {
        let actual = self.session().map(|s| s.session_type());
        match actual {
            Some(SessionType::AudioVideo) => Ok(AvParticipant {
                participant: self.clone(),
            }),
            Some(other) => Err(Error::WrongSessionType {
                action: "media channels",
                expected: SessionType::AudioVideo.name(),
                actual: other.name(),
            }),
            None => Err(Error::Closed("session")),
        }
    }
}

impl AvParticipant {
    /// The participant.
    pub fn participant(&self) -> &Participant {
        &self.participant
    }

    /// Creates a channel, not yet attached (`CreateChannel`); it prefers sending and receiving.
    pub fn create_channel(&self, media_type: MediaType) -> MediaChannel {
        MediaChannel::new(media_type, MediaDirection::BOTH)
    }

    /// Attaches a channel (`AddChannel`); it is offered at the next invitation or `update_channels`.
    pub fn add_channel(&self, channel: &MediaChannel) -> Result<(), Error> {
        let mut d = lock(&self.participant.inner.data);
        if d.state == ParticipantState::Disconnected {
            return Err(Error::invalid_state(
                "participant",
                d.state,
                "add a channel",
            ));
        }
        if d.all_channels().contains(channel) {
            return Err(Error::invalid_state(
                "channel",
                "attached",
                "be added again",
            ));
        }
        if d.lines.len() + d.new_channels.len() >= MAX_MEDIA_LINES {
            return Err(Error::invalid_state(
                "participant",
                "at its media line limit",
                "add a channel",
            ));
        }
        d.new_channels.push(channel.clone());
        d.publish(ParticipantEvent::ChannelAdded {
            channel: channel.clone(),
        });
        Ok(())
    }

    /// Detaches a channel (`RemoveChannel`); the stream is removed at the next `update_channels`.
    pub fn remove_channel(&self, channel: &MediaChannel) -> Result<(), Error> {
        let mut d = lock(&self.participant.inner.data);
        if let Some(pos) = d.new_channels.iter().position(|c| c == channel) {
            d.new_channels.remove(pos);
        } else if let Some(line) = d
            .lines
            .iter_mut()
            .find(|l| l.channel.as_ref() == Some(channel))
        {
            line.channel = None;
        } else {
            return Err(Error::Foreign("channel"));
        }
        d.publish(ParticipantEvent::ChannelRemoved {
            channel: channel.clone(),
        });
        drop(d);
        close_streams(std::slice::from_ref(channel));
        channel.set_negotiated(MediaDirection::NONE);
        Ok(())
    }

    /// Takes the stream of this participant's media requests (offers that add media).
    /// Until it is taken, such offers are accepted from the channels' preferences.
    pub fn media_requests(&self) -> Result<MediaRequests, Error> {
        let mut d = lock(&self.participant.inner.data);
        if d.media_requests_taken {
            return Err(Error::AlreadyTaken("the media request stream"));
        }
        d.media_requests_taken = true;
        let (tx, rx) = mpsc::channel(MEDIA_REQUEST_QUEUE);
        d.media_requests = Some(tx);
        Ok(MediaRequests { rx })
    }

    /// The attached channels, negotiated lines first.
    pub fn channels(&self) -> Vec<MediaChannel> {
        lock(&self.participant.inner.data).all_channels()
    }

    /// Renegotiates (`UpdateChannels`): offers the current channels with their preferred
    /// directions — hold, resume, added and removed video — and applies the answer.
    pub fn update_channels(
        &self,
        operation: Option<OperationContext>,
    ) -> Result<Operation<()>, Error> {
        let operation = operation.map(Arc::new);
        let participant = self.participant.clone();
        let session = participant.session().ok_or(Error::Closed("session"))?.inner;
        let signaling = session.signaling()?;
        {
            let mut d = lock(&participant.inner.data);
            if d.state != ParticipantState::Connected {
                return Err(Error::invalid_state(
                    "participant",
                    d.state,
                    "update channels",
                ));
            }
            if d.negotiating {
                return Err(Error::invalid_state(
                    "participant",
                    "negotiating",
                    "update channels",
                ));
            }
            d.negotiating = true;
        }
        Ok(Operation::spawn(
            OperationKind::UpdateChannels,
            move |_| async move {
                let result = async {
                    let offer = build_offer(&session, &participant).await?;
                    let answer = signaling
                        .update(participant.leg(), offer.clone())
                        .await
                        .map_err(|e| Error::failed("update channels", e))?;
                    apply_answer(&participant, &offer, Some(&answer)).await
                }
                .await;
                lock(&participant.inner.data).negotiating = false;
                let status = match &result {
                    Ok(()) => Status::ok(),
                    Err(e) => e.status(),
                };
                session.publish(SessionEvent::Operation(OperationProgress {
                    kind: OperationKind::UpdateChannels,
                    context: operation,
                    status,
                    is_complete: true,
                }));
                result
            },
        ))
    }
}

/// Codecs offered for a media type: the engine's, or a signaling-only default set.
fn local_codecs(session: &SessionInner, media_type: MediaType) -> Vec<Codec> {
    match &session.endpoint.media {
        Some(engine) => engine.codecs(media_type),
        None => match media_type {
            MediaType::Audio => vec![Codec::opus(), Codec::pcmu(), Codec::pcma()],
            MediaType::Video => vec![Codec::h264()],
        },
    }
}

/// Opens a stream for every channel that has none yet; returns channel addresses.
/// Opens a stream for every line's channel that has none yet. Line `i` is media flow
/// `i` of the participant's leg: when the transport carries media itself it provides
/// the packet path for it.
async fn ensure_streams(
    session: &SessionInner,
    participant: &Participant,
    lines: &[Line],
) -> Result<(), Error> {
    let Some(engine) = &session.endpoint.media else {
        return Ok(());
    };
    let signaling = session.signaling().ok();
    for (flow, line) in lines.iter().enumerate() {
        let Some(ch) = &line.channel else { continue };
        if lock(&ch.inner.data).stream.is_some() {
            continue;
        }
        let packet_path = signaling
            .as_ref()
            .and_then(|s| s.packet_path(participant.leg(), flow as u64));
        let stream = engine
            .open(StreamRequest {
                media_type: ch.media_type(),
                packet_path,
            })
            .await?;
        let stream: Arc<dyn crate::contract::media::MediaStream> = Arc::from(stream);
        let mut d = lock(&ch.inner.data);
        stream.set_muted(d.muted);
        d.stream = Some(stream);
    }
    Ok(())
}

fn address_of(ch: &MediaChannel) -> MediaAddress {
    lock(&ch.inner.data)
        .stream
        .as_ref()
        .map_or(MediaAddress::None, |s| s.local_address())
}

/// Builds an offer from the participant's lines and new channels (which become lines).
pub(crate) async fn build_offer(
    session: &Arc<SessionInner>,
    participant: &Participant,
) -> Result<SessionDescription, Error> {
    let lines = {
        let mut d = lock(&participant.inner.data);
        let new: Vec<MediaChannel> = std::mem::take(&mut d.new_channels);
        for ch in new {
            d.lines.push(Line {
                media_type: ch.media_type(),
                channel: Some(ch),
            });
        }
        d.lines.clone()
    };
    ensure_streams(session, participant, &lines).await?;
    let media = lines
        .iter()
        .map(|line| match &line.channel {
            Some(ch) => MediaDescription {
                media_type: line.media_type,
                enabled: true,
                direction: ch.preferred_media(),
                address: address_of(ch),
                rtcp_mux: true,
                codecs: local_codecs(session, line.media_type),
            },
            None => MediaDescription::new(
                line.media_type,
                MediaDirection::NONE,
                local_codecs(session, line.media_type),
            )
            .disabled(),
        })
        .collect();
    Ok(SessionDescription {
        version: session.next_version(),
        media,
    })
}

/// Applies the answer to an offer this side made.
pub(crate) async fn apply_answer(
    participant: &Participant,
    offer: &SessionDescription,
    answer: Option<&SessionDescription>,
) -> Result<(), Error> {
    let answer = answer.ok_or_else(|| Error::Failed {
        action: "negotiate media",
        status: Status::with_text(StatusCode::NOT_ACCEPTABLE_HERE, "answer without media"),
        source: None,
    })?;
    let directions =
        description::negotiated_directions(offer, answer).map_err(|e| Error::Failed {
            action: "negotiate media",
            status: Status::with_text(StatusCode::NOT_ACCEPTABLE_HERE, e.to_string()),
            source: None,
        })?;
    let lines = lock(&participant.inner.data).lines.clone();
    for (i, line) in lines.iter().enumerate() {
        let Some(ch) = &line.channel else { continue };
        let dir = directions.get(i).copied().flatten();
        let remote = &answer.media[i];
        apply_line(ch, dir, remote, &remote.codecs).await?;
    }
    Ok(())
}

async fn apply_line(
    ch: &MediaChannel,
    direction: Option<MediaDirection>,
    remote: &MediaDescription,
    common: &[Codec],
) -> Result<(), MediaError> {
    ch.set_negotiated(direction.unwrap_or(MediaDirection::NONE));
    let stream = lock(&ch.inner.data).stream.clone();
    if let (Some(stream), Some(direction), Some(codec)) = (stream, direction, common.first()) {
        stream
            .apply(NegotiatedStream {
                direction,
                codec: codec.clone(),
                codecs: common.to_vec(),
                remote: remote.address.clone(),
                rtcp_mux: remote.rtcp_mux,
            })
            .await?;
    }
    Ok(())
}

/// Answers an offer from the participant whose lines were already matched to it
/// ([`sync_lines`]): each line is answered from its channel's preference, or rejected
/// when the application removed the channel.
pub(crate) async fn answer_offer(
    session: &Arc<SessionInner>,
    participant: &Participant,
    offer: &SessionDescription,
) -> Result<SessionDescription, Error> {
    description::check_limits(offer).map_err(|e| Error::Failed {
        action: "answer media",
        status: Status::with_text(StatusCode::NOT_ACCEPTABLE_HERE, e.to_string()),
        source: None,
    })?;
    let lines = lock(&participant.inner.data).lines.clone();
    if lines.len() != offer.media.len() {
        return Err(Error::Failed {
            action: "answer media",
            status: Status::with_text(StatusCode::NOT_ACCEPTABLE_HERE, "media lines out of step"),
            source: None,
        });
    }
    ensure_streams(session, participant, &lines).await?;
    let answer = description::answer(offer, session.next_version(), |i, _| {
        let ch = lines.get(i)?.channel.as_ref()?;
        Some(LocalMedia {
            media_type: ch.media_type(),
            direction: ch.preferred_media(),
            codecs: local_codecs(session, ch.media_type()),
            address: address_of(ch),
        })
    })
    .map_err(|e| Error::Failed {
        action: "answer media",
        status: Status::with_text(StatusCode::NOT_ACCEPTABLE_HERE, e.to_string()),
        source: None,
    })?;
    for (i, line) in lines.iter().enumerate() {
        let Some(ch) = &line.channel else { continue };
        let a = &answer.media[i];
        let dir = a.enabled.then_some(a.direction);
        if let Err(e) = apply_line(ch, dir, &offer.media[i], &a.codecs).await {
            debug!(error = %e, "media stream failed to apply");
            return Err(e.into());
        }
    }
    Ok(answer)
}

/// Matches the participant's lines to an offer by position: new or re-enabled lines
/// become channels (announced with `ChannelAdded`), disabled lines remove theirs
/// (`ChannelRemoved`). A disabled position may be reused for another media type
/// (RFC 3264 §8.1). Returns the (added, removed) channels.
pub(crate) fn sync_lines(
    participant: &Participant,
    offer: &SessionDescription,
) -> Result<(Vec<MediaChannel>, Vec<MediaChannel>), Error> {
    description::check_limits(offer).map_err(|e| Error::Failed {
        action: "answer media",
        status: Status::with_text(StatusCode::NOT_ACCEPTABLE_HERE, e.to_string()),
        source: None,
    })?;
    let mut d = lock(&participant.inner.data);
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    for (i, m) in offer.media.iter().enumerate() {
        if i >= d.lines.len() {
            d.lines.push(Line {
                media_type: m.media_type,
                channel: None,
            });
        }
        let line = &mut d.lines[i];
        match (&line.channel, m.enabled) {
            (Some(_), true) if line.media_type != m.media_type => {
                return Err(Error::Failed {
                    action: "answer media",
                    status: Status::with_text(
                        StatusCode::NOT_ACCEPTABLE_HERE,
                        "an active media line changed type",
                    ),
                    source: None,
                });
            }
            (Some(_), true) => {}
            (Some(_), false) => removed.extend(line.channel.take()),
            (None, true) => {
                line.media_type = m.media_type;
                let ch = MediaChannel::new(m.media_type, MediaDirection::BOTH);
                line.channel = Some(ch.clone());
                added.push(ch);
            }
            (None, false) => {}
        }
    }
    for ch in &added {
        d.publish(ParticipantEvent::ChannelAdded {
            channel: ch.clone(),
        });
    }
    for ch in &removed {
        d.publish(ParticipantEvent::ChannelRemoved {
            channel: ch.clone(),
        });
    }
    Ok((added, removed))
}

/// Undoes the channels a declined offer added, back to `previous_lines` lines.
pub(crate) fn roll_back(participant: &Participant, added: &[MediaChannel], previous_lines: usize) {
    let mut d = lock(&participant.inner.data);
    for line in &mut d.lines {
        if line.channel.as_ref().is_some_and(|c| added.contains(c)) {
            line.channel = None;
        }
    }
    d.lines.truncate(previous_lines);
    for ch in added {
        d.publish(ParticipantEvent::ChannelRemoved {
            channel: ch.clone(),
        });
    }
}

/// Most media requests queued per participant before new ones are answered automatically.
pub const MEDIA_REQUEST_QUEUE: usize = 16;

/// A participant's offer that adds media (`OnMediaRequest`), for example video added to
/// a call. Accept it — after removing or changing the added channels to decline parts
/// of it — or reject it; dropping it unanswered rejects it (488), leaving the call as it
/// was.
#[must_use = "dropping a media request rejects it"]
pub struct MediaRequest {
    participant: Participant,
    offer: SessionDescription,
    added: Vec<MediaChannel>,
    previous_lines: usize,
    reply: Option<Reply<SessionDescription>>,
}

impl fmt::Debug for MediaRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaRequest")
            .field("participant", &self.participant.uri().to_string())
            .field("added", &self.added)
            .finish()
    }
}

impl MediaRequest {
    /// Who asks.
    pub fn participant(&self) -> &Participant {
        &self.participant
    }

    /// The channels the offer adds (already attached to the participant).
    pub fn added_channels(&self) -> &[MediaChannel] {
        &self.added
    }

    /// Accepts: answers with the participant's channels as they are now.
    pub async fn accept(mut self) -> Result<(), Error> {
        let reply = self.reply.take().ok_or(Error::Closed("media request"))?;
        let session = self.participant.session().ok_or(Error::Closed("session"))?;
        let result = answer_offer(&session.inner, &self.participant, &self.offer).await;
        lock(&self.participant.inner.data).negotiating = false;
        match result {
            Ok(answer) => {
                reply.accept(answer);
                Ok(())
            }
            Err(e) => {
                roll_back(&self.participant, &self.added, self.previous_lines);
                reply.reject(e.status());
                Err(e)
            }
        }
    }

    /// Rejects (488 Not Acceptable Here): the call stays as it was.
    pub fn reject(mut self) {
        self.decline();
    }

    fn decline(&mut self) {
        if let Some(reply) = self.reply.take() {
            roll_back(&self.participant, &self.added, self.previous_lines);
            lock(&self.participant.inner.data).negotiating = false;
            reply.reject(Status::new(StatusCode::NOT_ACCEPTABLE_HERE));
        }
    }
}

impl Drop for MediaRequest {
    fn drop(&mut self) {
        self.decline();
    }
}

/// The stream of a participant's media requests; from [`AvParticipant::media_requests`].
#[derive(Debug)]
pub struct MediaRequests {
    rx: mpsc::Receiver<MediaRequest>,
}

impl MediaRequests {
    /// The next request; `None` once the participant is gone.
    pub async fn next(&mut self) -> Option<MediaRequest> {
        self.rx.recv().await
    }
}

/// Handles a participant's new offer on an established leg: offers that add media go to
/// the application when it took the participant's media requests; everything else
/// (direction changes, removals, or additions nobody asked to decide) is answered from
/// the channels' preferences.
pub(crate) fn on_offer(
    session: Session,
    participant: Participant,
    offer: SessionDescription,
    reply: Reply<SessionDescription>,
) {
    let previous_lines = lock(&participant.inner.data).lines.len();
    let requests = lock(&participant.inner.data).media_requests.clone();
    if let Some(tx) = requests {
        let added = match sync_lines(&participant, &offer) {
            Ok((added, removed)) => {
                close_streams(&removed);
                for ch in &removed {
                    ch.set_negotiated(MediaDirection::NONE);
                }
                added
            }
            Err(e) => {
                lock(&participant.inner.data).negotiating = false;
                reply.reject(e.status());
                return;
            }
        };
        if !added.is_empty() {
            let request = MediaRequest {
                participant: participant.clone(),
                offer,
                added,
                previous_lines,
                reply: Some(reply),
            };
            match tx.try_send(request) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(r) | mpsc::error::TrySendError::Closed(r)) => {
                    // Nobody is deciding: answer from the preferences instead.
                    let mut r = r;
                    let reply = r.reply.take();
                    let offer = std::mem::take(&mut r.offer);
                    r.added.clear();
                    drop(r);
                    if let Some(reply) = reply {
                        spawn_answer(session, participant, offer, reply);
                    }
                    return;
                }
            }
        }
        spawn_answer(session, participant, offer, reply);
        return;
    }
    spawn_answer(session, participant, offer, reply);
}

fn spawn_answer(
    session: Session,
    participant: Participant,
    offer: SessionDescription,
    reply: Reply<SessionDescription>,
) {
    tokio::spawn(async move {
        let result = match sync_lines(&participant, &offer) {
            Ok((_, removed)) => {
                close_streams(&removed);
                for ch in &removed {
                    ch.set_negotiated(MediaDirection::NONE);
                }
                answer_offer(&session.inner, &participant, &offer).await
            }
            Err(e) => Err(e),
        };
        lock(&participant.inner.data).negotiating = false;
        match result {
            Ok(answer) => reply.accept(answer),
            Err(e) => reply.reject(e.status()),
        }
    });
}

/// The offer an acceptance carries when the invitation came without one: the
/// channels the application attached to the inviter before accepting, or one audio
/// channel. Kept until the answer comes ([`on_late_answer`]); meanwhile the participant
/// counts as negotiating (a re-INVITE gets 491).
pub(crate) async fn late_offer(
    session: &Arc<SessionInner>,
    participant: &Participant,
) -> Result<SessionDescription, Error> {
    {
        let mut d = lock(&participant.inner.data);
        if d.lines.is_empty() && d.new_channels.is_empty() {
            d.new_channels
                .push(MediaChannel::new(MediaType::Audio, MediaDirection::BOTH));
        }
    }
    let offer = build_offer(session, participant).await?;
    let mut d = lock(&participant.inner.data);
    d.local_offer = Some(offer.clone());
    d.negotiating = true;
    Ok(offer)
}

/// The remote answer to a [`late_offer`]: applied to the streams; a missing or
/// unusable one ends the call (RFC 3261 §13.3.1.4: an ACK without the answer is
/// followed by a BYE).
pub(crate) fn on_late_answer(
    session: Session,
    participant: Participant,
    answer: Option<SessionDescription>,
) {
    let Some(offer) = lock(&participant.inner.data).local_offer.take() else {
        debug!("an answer without an offer of ours: ignored");
        return;
    };
    tokio::spawn(async move {
        let applied = match &answer {
            Some(answer) => apply_answer(&participant, &offer, Some(answer)).await,
            None => Err(Error::Failed {
                action: "negotiate media",
                status: Status::with_text(StatusCode::NOT_ACCEPTABLE_HERE, "no answer"),
                source: None,
            }),
        };
        lock(&participant.inner.data).negotiating = false;
        if let Err(e) = applied {
            debug!(error = %e, "the answer to our offer is unusable: hanging up");
            super::lifecycle::hang_up_unusable(&session.inner, &participant).await;
        }
    });
}

/// Closes the media streams of channels (in the background).
pub(crate) fn close_streams(channels: &[MediaChannel]) {
    let streams: Vec<_> = channels
        .iter()
        .filter_map(|c| lock(&c.inner.data).stream.take())
        .collect();
    if streams.is_empty() {
        return;
    }
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        rt.spawn(async move {
            for s in streams {
                s.close().await;
            }
        });
    }
}
