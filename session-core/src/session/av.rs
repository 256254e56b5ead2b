//! Audio/video: media channels per participant and their offer/answer.
//!
//! Each remote participant of an audio/video session has media lines; each line
//! carries one [`MediaChannel`] or none (a removed or rejected stream keeps its
//! position, RFC 3264 §8.2). Offers are built from the channels' preferred
//! directions; answers set their negotiated directions. With a media engine, every
//! channel gets a [`MediaStream`](crate::contract::media::MediaStream) that is opened
//! before its address is offered and re-applied after each exchange.

use std::sync::Arc;

use tracing::debug;

use super::{SessionInner, SessionType};
use crate::channel::MediaChannel;
use crate::contract::media::{NegotiatedStream, StreamRequest};
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
async fn ensure_streams(session: &SessionInner, channels: &[MediaChannel]) -> Result<(), Error> {
    let Some(engine) = &session.endpoint.media else {
        return Ok(());
    };
    for ch in channels {
        if lock(&ch.inner.data).stream.is_some() {
            continue;
        }
        let stream = engine
            .open(StreamRequest {
                media_type: ch.media_type(),
                packet_path: None,
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
    let channels: Vec<MediaChannel> = lines.iter().filter_map(|l| l.channel.clone()).collect();
    ensure_streams(session, &channels).await?;
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

/// Answers an offer from the participant: lines are matched by position, new enabled
/// lines become channels (announced with `ChannelAdded`), disabled lines remove theirs.
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
    let removed = sync_lines(participant, offer)?;
    let lines = lock(&participant.inner.data).lines.clone();
    close_streams(&removed);
    for ch in &removed {
        ch.set_negotiated(MediaDirection::NONE);
    }
    let channels: Vec<MediaChannel> = lines.iter().filter_map(|l| l.channel.clone()).collect();
    ensure_streams(session, &channels).await?;
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

/// Matches the participant's lines to an offer by position: new enabled lines become
/// channels (announced with `ChannelAdded`), disabled lines remove theirs. Returns the
/// removed channels.
pub(crate) fn sync_lines(
    participant: &Participant,
    offer: &SessionDescription,
) -> Result<Vec<MediaChannel>, Error> {
    let mut d = lock(&participant.inner.data);
    let mut removed = Vec::new();
    for (i, m) in offer.media.iter().enumerate() {
        if i < d.lines.len() {
            if d.lines[i].media_type != m.media_type {
                return Err(Error::Failed {
                    action: "answer media",
                    status: Status::with_text(
                        StatusCode::NOT_ACCEPTABLE_HERE,
                        "media line changed type",
                    ),
                    source: None,
                });
            }
            if !m.enabled {
                if let Some(ch) = d.lines[i].channel.take() {
                    removed.push(ch);
                }
            }
        } else {
            let channel = m
                .enabled
                .then(|| MediaChannel::new(m.media_type, MediaDirection::BOTH));
            if let Some(ch) = &channel {
                d.publish(ParticipantEvent::ChannelAdded {
                    channel: ch.clone(),
                });
            }
            d.lines.push(Line {
                media_type: m.media_type,
                channel,
            });
        }
    }
    for ch in &removed {
        d.publish(ParticipantEvent::ChannelRemoved {
            channel: ch.clone(),
        });
    }
    Ok(removed)
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
