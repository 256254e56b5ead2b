//! The send task of a stream: paces the sending pipeline (20 ms audio
//! frames, video at the configured frame rate), encodes, packetizes and
//! sends; idles on hold; keeps pacing but sends nothing when muted.

use std::fmt;
use std::sync::PoisonError;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use session_core::description::MediaType;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use tracing::{debug, warn};

use super::audio_pipeline::AudioSender;
use super::counters::{add, inc};
use super::error::EngineError;
use super::negotiated::{CodecKind, SendParams};
use super::random_u32;
use super::send_buffer::SendBuffer;
use super::stream::{Control, TaskCtx};
use super::video_pipeline::VideoSender;
use crate::rtp::header::FIXED_HEADER_LEN;
use crate::rtp::{OutPacket, SeqNo, Sequencer};

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Audio(a) => a.fmt(f),
            Self::Video(v) => v.fmt(f),
        }
    }
}

pub(super) enum Sender {
    Audio(AudioSender),
    /// Boxed: openh264's encoder state is several KiB inline.
    Video(Box<VideoSender>),
}

impl Sender {
    fn kind(&self) -> Option<CodecKind> {
        match self {
            Self::Audio(a) => Some(a.kind()),
            Self::Video(_) => Some(CodecKind::H264),
        }
    }
}

pub(super) fn build_sender(
    ctx: &TaskCtx,
    send: &SendParams,
    now: Instant,
) -> Result<Sender, EngineError> {
    let clock = ctx.clock;
    let c = &ctx.config;
    if send.kind.is_video() {
        let mtu = ctx.path.max_packet_size().min(c.max_packet_size);
        Ok(Sender::Video(Box::new(VideoSender::new(
            ctx.shared.id,
            send,
            &c.video,
            &c.factories,
            mtu,
        )?)))
    } else {
        let first = clock.at(now, send.kind.clock_rate());
        Ok(Sender::Audio(AudioSender::new(
            ctx.shared.id,
            send,
            &c.audio,
            &c.factories,
            first,
        )?))
    }
}

/// Sends one packet and counts it.
fn send_packet(ctx: &TaskCtx, buf: &mut SendBuffer, packet: &OutPacket) {
    let c = &ctx.shared.counters;
    let datagram = buf.datagram(packet);
    if ctx.shared.media_type == MediaType::Video {
        ctx.shared
            .history
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .store(packet.sequence(), datagram.clone());
    }
    match ctx.path.send(datagram) {
        Ok(()) => {
            inc(&c.packets_sent);
            add(
                &c.octets_sent,
                (packet.wire_len() - FIXED_HEADER_LEN) as u64,
            );
            c.last_rtp_timestamp.store(packet.timestamp().0, Relaxed);
            let since = ctx.shared.opened.elapsed().as_micros();
            c.last_send_micros
                .store(u64::try_from(since).unwrap_or(u64::MAX), Relaxed);
        }
        Err(e) => {
            inc(&c.send_errors);
            debug!(error = %e, "packet not sent");
        }
    }
}

pub(super) async fn send_task(ctx: TaskCtx, mut control: watch::Receiver<Control>) {
    let mut seq = Sequencer::new(ctx.shared.ssrc, SeqNo(random_u32() as u16));
    let clock = ctx.clock;
    let mut buf = SendBuffer::default();
    let mut sender: Option<(SendParams, Sender)> = None;
    loop {
        let current = control.borrow_and_update().clone();
        let send = match current {
            Control::Closed => return,
            Control::Active(p) => p.send.clone(),
            Control::Idle => None,
        };
        let Some(send) = send else {
            if control.changed().await.is_err() {
                return;
            }
            continue;
        };
        let now = Instant::now();
        let resumed = sender.as_ref().is_some_and(|(p, _)| *p == send);
        if !resumed {
            let prepared = ctx
                .prepared
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
                .filter(|(p, _)| *p == send);
            let built = match prepared {
                Some((_, s)) => Ok(s),
                None => build_sender(&ctx, &send, now),
            };
            match built {
                Ok(s) => sender = Some((send.clone(), s)),
                Err(e) => {
                    warn!(error = %e, "cannot start the sending pipeline");
                    inc(&ctx.shared.counters.send_errors);
                    sender = None;
                    if control.changed().await.is_err() {
                        return;
                    }
                    continue;
                }
            }
        }
        let Some((_, s)) = &mut sender else { continue };
        debug!(codec = ?s.kind(), resumed, "sending");
        let (period, behavior) = match s {
            Sender::Audio(a) => {
                // Resuming after hold: the media clock ran on meanwhile.
                let rate = a.kind().clock_rate();
                let gap = clock.at(now, rate).diff(a.next_timestamp());
                if gap > (rate / 25) as i32 {
                    a.skip(gap as u32);
                }
                // A late tick sends the frames it owes (a live source
                // would have buffered them): the peer's clock stays right.
                (Duration::from_millis(20), MissedTickBehavior::Burst)
            }
            Sender::Video(_) => {
                let fps = ctx.config.video.fps.max(1);
                // A late picture is dropped, not sent in a burst.
                (Duration::from_secs(1) / fps, MissedTickBehavior::Skip)
            }
        };
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(behavior);
        let mut keyframe = true;
        let mut was_muted = false;
        let mut stopped = false;
        loop {
            tokio::select! {
                biased;
                changed = control.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    break;
                }
                _ = ticker.tick() => {}
            }
            let muted = ctx.shared.muted.load(Relaxed);
            keyframe |= was_muted && !muted;
            was_muted = muted;
            let produced = match s {
                Sender::Audio(a) => a.produce(&mut seq, muted, &ctx.shared.counters, |p| {
                    send_packet(&ctx, &mut buf, &p);
                }),
                Sender::Video(v) => {
                    keyframe |= ctx.shared.keyframe_requested.swap(false, Relaxed);
                    let ts = clock.at(Instant::now(), 90_000);
                    let r = v.produce(&mut seq, ts, muted, keyframe, &ctx.shared.counters, |p| {
                        send_packet(&ctx, &mut buf, &p);
                    });
                    if !muted {
                        keyframe = false;
                    }
                    r
                }
            };
            match produced {
                Ok(true) => {}
                Ok(false) => {
                    debug!("source ended");
                    stopped = true;
                    break;
                }
                Err(e) => {
                    warn!(error = %e, "sending pipeline failed");
                    inc(&ctx.shared.counters.send_errors);
                    stopped = true;
                    break;
                }
            }
        }
        if stopped {
            sender = None;
            if control.changed().await.is_err() {
                return;
            }
        }
    }
}
