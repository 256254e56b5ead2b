//! The demo's summary: a table for people, JSON (`--json`) for scripts and tests.

use std::fmt::Write as _;

use serde::Serialize;

/// Everything the demo measured.
#[derive(Debug, Serialize)]
pub(crate) struct Summary {
    /// The transport's command-line name.
    pub(crate) transport: &'static str,
    /// The instant-messaging part.
    pub(crate) im: ImSummary,
    /// The call.
    pub(crate) call: CallSummary,
    /// Media figures.
    pub(crate) media: MediaSummary,
    /// Wall-clock time of the whole demo, in milliseconds.
    pub(crate) total_ms: f64,
}

/// The instant-messaging part of the demo.
#[derive(Debug, Default, Serialize)]
pub(crate) struct ImSummary {
    /// From `add_participant` to the invitation's completion, in milliseconds.
    pub(crate) setup_ms: f64,
    /// Messages alice sent.
    pub(crate) sent: u32,
    /// Messages whose delivery result was a success.
    pub(crate) delivered: u32,
    /// Messages bob received, byte-exact and in order.
    pub(crate) received_in_order: u32,
    /// Bob saw alice composing.
    pub(crate) composing_seen: bool,
    /// Bob saw alice go idle after her messages.
    pub(crate) idle_seen: bool,
    /// Alice received bob's reply.
    pub(crate) reply_received: bool,
}

/// The call part of the demo.
#[derive(Debug, Default, Serialize)]
pub(crate) struct CallSummary {
    /// From `add_participant` to the call being answered, in milliseconds.
    pub(crate) setup_ms: f64,
    /// How long the call was up, in milliseconds.
    pub(crate) duration_ms: f64,
    /// Hold negotiated at both sides (alice send-only, bob receive-only).
    pub(crate) hold: bool,
    /// Resume negotiated at both sides.
    pub(crate) resume: bool,
    /// Video added mid-call and seen by bob.
    pub(crate) video_added: bool,
    /// Video removed mid-call and seen by bob.
    pub(crate) video_removed: bool,
    /// Bob's session ended when alice hung up.
    pub(crate) hangup_seen: bool,
}

/// Media figures of the call, measured while it was up.
#[derive(Debug, Default, Serialize)]
pub(crate) struct MediaSummary {
    /// The audio codec negotiated.
    pub(crate) audio_codec: String,
    /// The video codec negotiated (while video was on).
    pub(crate) video_codec: String,
    /// RTP packets alice sent (audio and video).
    pub(crate) packets_sent: u64,
    /// RTP packets bob received.
    pub(crate) packets_received: u64,
    /// RTP packets bob counted lost (RFC 3550 A.3).
    pub(crate) packets_lost: u64,
    /// Fraction of packets lost.
    pub(crate) loss: f64,
    /// Interarrival jitter of bob's audio, in milliseconds (RFC 3550 A.8).
    pub(crate) jitter_ms: f64,
    /// Round-trip time from alice's RTCP reports, in milliseconds.
    pub(crate) round_trip_ms: Option<f64>,
    /// Bytes of RTP alice sent.
    pub(crate) octets_sent: u64,
    /// Alice's sending rate over the call, in kbit/s.
    pub(crate) bitrate_kbps: f64,
    /// The dominant frequency of the audio bob decoded (the source is a 1 kHz tone).
    pub(crate) audio_frequency_hz: Option<f64>,
    /// Median SNR of bob's audio against the tone alice sent, 100 ms blocks, in dB.
    pub(crate) audio_snr_db: Option<f64>,
    /// Audio frames bob concealed (loss).
    pub(crate) concealed_frames: u64,
    /// Pictures bob decoded.
    pub(crate) video_frames: u64,
    /// Mean PSNR of bob's pictures against the test pattern alice sent, in dB.
    pub(crate) video_psnr_db: Option<f64>,
    /// Lowest PSNR of one of bob's pictures, in dB.
    pub(crate) video_psnr_min_db: Option<f64>,
    /// Keyframe requests (PLI) bob sent.
    pub(crate) keyframe_requests: u64,
}

/// A figure with its unit, or "n/a".
fn opt(v: Option<f64>, unit: &str) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.1} {unit}"))
}

impl Summary {
    /// The human-readable table.
    pub(crate) fn table(&self) -> String {
        let mut out = String::new();
        let yes = |b: bool| if b { "yes" } else { "NO" };
        let rows: Vec<(&str, String)> = vec![
            ("transport", self.transport.to_string()),
            ("IM setup", format!("{:.2} ms", self.im.setup_ms)),
            (
                "messages sent / delivered / received in order",
                format!(
                    "{} / {} / {}",
                    self.im.sent, self.im.delivered, self.im.received_in_order
                ),
            ),
            (
                "composing / idle seen",
                format!(
                    "{} / {}",
                    yes(self.im.composing_seen),
                    yes(self.im.idle_seen)
                ),
            ),
            ("reply received", yes(self.im.reply_received).to_string()),
            ("call setup", format!("{:.2} ms", self.call.setup_ms)),
            ("call duration", format!("{:.0} ms", self.call.duration_ms)),
            (
                "hold / resume",
                format!("{} / {}", yes(self.call.hold), yes(self.call.resume)),
            ),
            (
                "video added / removed",
                format!(
                    "{} / {}",
                    yes(self.call.video_added),
                    yes(self.call.video_removed)
                ),
            ),
            (
                "hang-up seen by bob",
                yes(self.call.hangup_seen).to_string(),
            ),
            (
                "codecs",
                format!("{} / {}", self.media.audio_codec, self.media.video_codec),
            ),
            (
                "RTP packets sent / received / lost",
                format!(
                    "{} / {} / {} ({:.2}% loss)",
                    self.media.packets_sent,
                    self.media.packets_received,
                    self.media.packets_lost,
                    self.media.loss * 100.0
                ),
            ),
            ("jitter", format!("{:.2} ms", self.media.jitter_ms)),
            ("round-trip time", opt(self.media.round_trip_ms, "ms")),
            (
                "bitrate (alice)",
                format!("{:.0} kbit/s", self.media.bitrate_kbps),
            ),
            (
                "audio at bob: tone / SNR",
                format!(
                    "{} / {}",
                    opt(self.media.audio_frequency_hz, "Hz"),
                    opt(self.media.audio_snr_db, "dB")
                ),
            ),
            (
                "video at bob: pictures / PSNR (min)",
                format!(
                    "{} / {} ({})",
                    self.media.video_frames,
                    opt(self.media.video_psnr_db, "dB"),
                    opt(self.media.video_psnr_min_db, "dB")
                ),
            ),
            ("total", format!("{:.0} ms", self.total_ms)),
        ];
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (k, v) in rows {
            let _ = writeln!(out, "{k:<width$}  {v}");
        }
        out
    }
}
