//! The receive task of a stream: reads the path, tells RTP from RTCP
//! (rtcp-mux), checks and counts RTP, feeds the receiving pipeline and plays
//! it out at its deadlines, and runs the RTCP session.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use session_core::contract::media::{PacketPathError, recv_packet};
use session_core::description::MediaType;
use tokio::sync::watch;
use tracing::debug;

use super::audio_pipeline::AudioReceiver;
use super::counters::{Counters, add, inc};
use super::negotiated::ActiveParams;
use super::rtcp_session::{RtcpEvent, RtcpSession, SentSoFar};
use super::stream::{Control, TaskCtx};
use super::video_pipeline::VideoReceiver;
use crate::rtcp::{Demuxed, demux};
use crate::rtp::{RtpPacket, SeqNo, Ssrc, Timestamp};
use crate::stats::ReceiveStats;

/// A source silent this long may be replaced by another SSRC.
const SOURCE_TIMEOUT: Duration = Duration::from_millis(500);
/// Least time between PLIs for decode failures.
const PLI_INTERVAL: Duration = Duration::from_millis(250);
/// Largest RTCP compound written.
const RTCP_BUF: usize = 1200;

/// The receiving pipeline of the current remote source.
enum Receiver {
    Audio(AudioReceiver),
    Video(VideoReceiver),
}

/// The peer's source and its pipeline.
struct Source {
    ssrc: Ssrc,
    stats: ReceiveStats,
    last_seen: Instant,
    receiver: Receiver,
}

/// Receive-side state of the receive task.
struct ReceiveState {
    ctx: TaskCtx,
    rtcp: RtcpSession,
    source: Option<Source>,
    /// Cumulative loss of earlier sources.
    lost_before: i64,
    last_pli: Option<Instant>,
    /// Missing video packets to NACK (reused).
    nacks: Vec<SeqNo>,
    buf: Box<[u8]>,
}

impl ReceiveState {
    fn new(ctx: TaskCtx, now: Instant) -> Self {
        let rtcp = RtcpSession::new(
            ctx.shared.ssrc,
            ctx.config.rtcp.cname.clone(),
            ctx.config.rtcp.interval,
            now,
        );
        Self {
            ctx,
            rtcp,
            source: None,
            lost_before: 0,
            last_pli: None,
            nacks: Vec::new(),
            buf: vec![0u8; RTCP_BUF].into_boxed_slice(),
        }
    }

    fn counters(&self) -> &Counters {
        &self.ctx.shared.counters
    }

    fn next_deadline(&self, params: Option<&ActiveParams>, now: Instant) -> Instant {
        let mut at = now + Duration::from_secs(3600);
        if let Some(p) = params {
            if p.rtcp {
                at = at.min(self.rtcp.poll_timeout());
            }
            let media = self.source.as_ref().and_then(|s| match &s.receiver {
                Receiver::Audio(a) => a.poll_timeout(),
                Receiver::Video(v) => v.poll_timeout(),
            });
            if let Some(m) = media {
                at = at.min(m);
            }
        }
        at
    }

    fn on_datagram(&mut self, datagram: Bytes, now: Instant, params: Option<&ActiveParams>) {
        match demux(&datagram) {
            Demuxed::Rtcp => {
                inc(&self.counters().rtcp_received);
                self.on_rtcp(&datagram, now);
            }
            Demuxed::Rtp => match RtpPacket::parse(datagram) {
                Ok(packet) => self.on_rtp(packet, now, params),
                Err(_) => inc(&self.counters().malformed),
            },
            Demuxed::Other => inc(&self.counters().malformed),
        }
    }

    fn on_rtcp(&mut self, datagram: &[u8], now: Instant) {
        let shared = &self.ctx.shared;
        let source = self.source.as_mut();
        let remote = source.map(|s| &mut s.stats);
        let mut bye = None;
        let result = self
            .rtcp
            .handle(datagram, now, remote, |event| match event {
                RtcpEvent::RoundTrip(rtt) => {
                    let micros = u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX).max(1);
                    shared.counters.rtt_micros.store(micros, Relaxed);
                }
                RtcpEvent::KeyframeRequested => {
                    inc(&shared.counters.plis_received);
                    shared.keyframe_requested.store(true, Relaxed);
                }
                RtcpEvent::Retransmit(seq) => {
                    inc(&shared.counters.nacked_received);
                    let kept = shared
                        .history
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .get(seq);
                    if let Some(datagram) = kept {
                        match self.ctx.path.send(datagram) {
                            Ok(()) => inc(&shared.counters.retransmitted),
                            Err(e) => debug!(error = %e, "retransmission not sent"),
                        }
                    }
                }
                RtcpEvent::Bye(ssrc) => bye = Some(ssrc),
            });
        if result.is_err() {
            inc(&self.counters().malformed);
        }
        if let Some(ssrc) = bye {
            if self.source.as_ref().is_some_and(|s| s.ssrc == ssrc) {
                debug!(ssrc = ssrc.0, "remote source said BYE");
                self.retire_source();
            }
        }
    }

    fn retire_source(&mut self) {
        if let Some(old) = self.source.take() {
            self.lost_before += old.stats.cumulative_lost().max(0);
        }
    }

    fn on_rtp(&mut self, packet: RtpPacket, now: Instant, params: Option<&ActiveParams>) {
        let Some(params) = params.filter(|p| p.direction.receives()) else {
            // Not receiving (hold, or not negotiated yet): dropped uncounted.
            return;
        };
        let ssrc = packet.ssrc();
        if ssrc == self.ctx.shared.ssrc {
            // RFC 3550 §8.2: a collision (or our own packets looped back).
            inc(&self.counters().ssrc_collisions);
            return;
        }
        let Some((kind, _)) = params.receive_codec(packet.payload_type()) else {
            inc(&self.counters().dropped_payload_type);
            return;
        };
        if kind.is_video() != (self.ctx.shared.media_type == MediaType::Video) {
            inc(&self.counters().dropped_payload_type);
            return;
        }
        match &self.source {
            Some(s) if s.ssrc != ssrc => {
                if now.saturating_duration_since(s.last_seen) < SOURCE_TIMEOUT {
                    inc(&self.counters().dropped_foreign_ssrc);
                    return;
                }
                debug!(old = s.ssrc.0, new = ssrc.0, "remote source changed");
                self.retire_source();
            }
            _ => {}
        }
        let (id, config) = (self.ctx.shared.id, &self.ctx.config);
        let source = self.source.get_or_insert_with(|| Source {
            ssrc,
            // RFC 3550 A.1 probation would hold back the first packets;
            // signaling already told us to expect this stream.
            stats: ReceiveStats::new(ssrc, kind.clock_rate()).with_probation(0),
            last_seen: now,
            receiver: if kind.is_video() {
                Receiver::Video(VideoReceiver::new(id, &config.video))
            } else {
                Receiver::Audio(AudioReceiver::new(id, &config.audio))
            },
        });
        source.last_seen = now;
        source
            .stats
            .on_packet(packet.sequence(), packet.timestamp(), now);
        let c = &self.ctx.shared.counters;
        inc(&c.packets_received);
        add(&c.octets_received, packet.payload().len() as u64);
        c.packets_lost.store(
            self.lost_before + source.stats.cumulative_lost().max(0),
            Relaxed,
        );
        c.jitter.store(source.stats.jitter(), Relaxed);
        match &mut source.receiver {
            Receiver::Audio(a) => a.insert(packet, kind, now),
            Receiver::Video(v) => v.insert(packet, now),
        }
        self.on_timeout(now, Some(params));
    }

    /// Plays out what is due and sends the RTCP report when due.
    fn on_timeout(&mut self, now: Instant, params: Option<&ActiveParams>) {
        let Some(params) = params else { return };
        let factories = &self.ctx.config.factories;
        let counters = &self.ctx.shared.counters;
        let mut want_keyframe = false;
        if let Some(source) = &mut self.source {
            match &mut source.receiver {
                Receiver::Audio(a) => a.play(now, params, factories, counters),
                Receiver::Video(v) => {
                    self.nacks.clear();
                    v.poll_nacks(now, &mut self.nacks);
                    want_keyframe = v.play(now, params, factories, counters);
                }
            }
        }
        if params.rtcp && self.ctx.config.video.nack && !self.nacks.is_empty() {
            self.send_nack();
        }
        if want_keyframe && params.rtcp {
            self.send_pli(now);
        }
        if params.rtcp {
            let sent = self.sent_so_far(now, params);
            let remote = self.source.as_mut().map(|s| &mut s.stats);
            match self.rtcp.poll_report(now, sent, remote, &mut self.buf) {
                Some(Ok(n)) => self.send_rtcp(n),
                Some(Err(e)) => debug!(error = %e, "RTCP report not written"),
                None => {}
            }
        }
    }

    /// NACKs the missing packets in `self.nacks`, as many as fit one compound.
    fn send_nack(&mut self) {
        let Some(media) = self.source.as_ref().map(|s| s.ssrc) else {
            return;
        };
        match self.rtcp.write_nack(media, &self.nacks, &mut self.buf) {
            Ok(n) => {
                inc(&self.counters().nacks_sent);
                self.send_rtcp(n);
            }
            Err(e) => debug!(error = %e, "NACK not written"),
        }
    }

    fn send_pli(&mut self, now: Instant) {
        let Some(media) = self.source.as_ref().map(|s| s.ssrc) else {
            return;
        };
        if self
            .last_pli
            .is_some_and(|at| now.saturating_duration_since(at) < PLI_INTERVAL)
        {
            return;
        }
        self.last_pli = Some(now);
        if let Ok(n) = self.rtcp.write_pli(media, &mut self.buf) {
            inc(&self.counters().plis_sent);
            self.send_rtcp(n);
        }
    }

    fn send_bye(&mut self, params: Option<&ActiveParams>) {
        let sent = self.counters().packets_sent.load(Relaxed) > 0;
        if params.is_some_and(|p| p.rtcp) && sent {
            if let Ok(n) = self.rtcp.write_bye(&mut self.buf) {
                self.send_rtcp(n);
            }
        }
    }

    fn send_rtcp(&self, n: usize) {
        let Some(bytes) = self.buf.get(..n) else {
            return;
        };
        // One allocation per report: a few per second.
        match self.ctx.path.send(Bytes::copy_from_slice(bytes)) {
            Ok(()) => inc(&self.counters().rtcp_sent),
            Err(e) => debug!(error = %e, "RTCP not sent"),
        }
    }

    fn sent_so_far(&self, now: Instant, params: &ActiveParams) -> SentSoFar {
        let c = self.counters();
        let rate = params.send.as_ref().map_or(8000, |s| s.kind.clock_rate());
        let last = c.last_send_micros.load(Relaxed);
        let since = now
            .saturating_duration_since(self.ctx.shared.opened)
            .as_micros()
            .saturating_sub(u128::from(last));
        let ticks = (since * u128::from(rate) / 1_000_000) as u32;
        SentSoFar {
            packets: c.packets_sent.load(Relaxed),
            octets: c.octets_sent.load(Relaxed),
            rtp_timestamp: Timestamp(c.last_rtp_timestamp.load(Relaxed).wrapping_add(ticks)),
        }
    }
}

pub(super) async fn receive_task(ctx: TaskCtx, mut control: watch::Receiver<Control>) {
    let path = ctx.path.clone();
    let mut state = ReceiveState::new(ctx, Instant::now());
    let mut params: Option<Arc<ActiveParams>> = None;
    let sleep = tokio::time::sleep(Duration::from_secs(3600));
    tokio::pin!(sleep);
    let mut path_open = true;
    loop {
        let now = Instant::now();
        let deadline = state.next_deadline(params.as_deref(), now);
        sleep.as_mut().reset(deadline.into());
        tokio::select! {
            biased;
            changed = control.changed() => {
                if changed.is_err() {
                    return;
                }
                let current = control.borrow_and_update().clone();
                match current {
                    Control::Closed => {
                        state.send_bye(params.as_deref());
                        return;
                    }
                    Control::Active(p) => params = Some(p),
                    Control::Idle => {}
                }
            }
            () = &mut sleep => state.on_timeout(Instant::now(), params.as_deref()),
            received = recv_packet(path.as_ref()), if path_open => match received {
                Ok(datagram) => state.on_datagram(datagram, Instant::now(), params.as_deref()),
                Err(PacketPathError::Closed) => {
                    debug!("packet path closed");
                    path_open = false;
                }
                Err(e) => {
                    debug!(error = %e, "packet path receive error");
                    inc(&state.counters().malformed);
                }
            },
        }
    }
}
