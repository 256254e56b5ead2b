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
    /// Media figures; `null` while the platform runs without a media engine.
    pub(crate) media: Option<MediaSummary>,
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

/// Media figures of the call (filled once a media engine runs the streams).
#[derive(Debug, Default, Serialize)]
pub(crate) struct MediaSummary {
    /// RTP packets bob received.
    pub(crate) packets: u64,
    /// Fraction of packets lost.
    pub(crate) loss: f64,
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
                "media",
                match &self.media {
                    Some(m) => format!("{} packets, {:.2}% loss", m.packets, m.loss * 100.0),
                    None => "not measured: no media engine in this build".to_string(),
                },
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
