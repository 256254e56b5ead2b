//! The engine's window for applications and tests: every stream's negotiated
//! parameters and counters, read without disturbing the media tasks.
//!
//! Decoded media itself is tapped with the sink factories of
//! [`EngineConfig`](super::EngineConfig) ([`audio_sink`](super::EngineConfig::audio_sink),
//! [`video_sink`](super::EngineConfig::video_sink)): each receiving pipeline
//! delivers its decoded frames to a sink the factory made for it, so an
//! application plays them and a test measures their quality.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Instant;

use session_core::contract::media::NegotiatedStream;
use session_core::description::{MediaAddress, MediaType};

use super::StreamId;
use super::counters::{CounterSnapshot, Counters};
use super::history::RetransmitHistory;
use crate::rtp::Ssrc;

/// What the engine and the tasks of one stream share.
#[derive(Debug)]
pub(crate) struct StreamShared {
    pub(crate) id: StreamId,
    pub(crate) media_type: MediaType,
    pub(crate) local: MediaAddress,
    pub(crate) ssrc: Ssrc,
    pub(crate) opened: Instant,
    pub(crate) counters: Counters,
    pub(crate) muted: AtomicBool,
    /// Set by a received PLI, taken by the video sender.
    pub(crate) keyframe_requested: AtomicBool,
    /// Video packets sent, for answering NACKs: written by the send task, read
    /// by the receive task when a NACK arrives (uncontended otherwise).
    pub(crate) history: Mutex<RetransmitHistory>,
    pub(crate) closed: AtomicBool,
    /// The last negotiated parameters (for snapshots only; never locked by
    /// the media tasks).
    pub(crate) negotiated: Mutex<Option<NegotiatedStream>>,
}

impl StreamShared {
    pub(crate) fn snapshot(&self) -> StreamSnapshot {
        StreamSnapshot {
            id: self.id,
            media_type: self.media_type,
            local: self.local.clone(),
            ssrc: self.ssrc,
            negotiated: self
                .negotiated
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            muted: self.muted.load(Relaxed),
            closed: self.closed.load(Relaxed),
            counters: self.counters.snapshot(),
        }
    }
}

/// One stream as the [`Monitor`] sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamSnapshot {
    /// The stream.
    pub id: StreamId,
    /// Audio or video.
    pub media_type: MediaType,
    /// Where it receives.
    pub local: MediaAddress,
    /// The SSRC it sends with.
    pub ssrc: Ssrc,
    /// The last parameters applied, if any.
    pub negotiated: Option<NegotiatedStream>,
    /// Whether sending is muted.
    pub muted: bool,
    /// Whether it was closed.
    pub closed: bool,
    /// Its counters.
    pub counters: CounterSnapshot,
}

/// Reads the state of an engine's streams. Cheap to clone; holds the streams
/// weakly, so closed and dropped streams disappear from it.
///
/// ```
/// use media_av::engine::{AvEngine, EngineConfig};
///
/// let engine = AvEngine::new(EngineConfig::new());
/// let monitor = engine.monitor();
/// assert!(monitor.streams().is_empty());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Monitor {
    streams: Arc<Mutex<Vec<Weak<StreamShared>>>>,
}

impl Monitor {
    pub(crate) fn register(&self, stream: &Arc<StreamShared>) {
        let mut streams = self.streams.lock().unwrap_or_else(PoisonError::into_inner);
        streams.retain(|s| s.strong_count() > 0);
        streams.push(Arc::downgrade(stream));
    }

    /// Every live stream, in the order they were opened.
    #[must_use]
    pub fn streams(&self) -> Vec<StreamSnapshot> {
        let live: Vec<Arc<StreamShared>> = self
            .streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        live.iter().map(|s| s.snapshot()).collect()
    }

    /// The live streams of `media_type`.
    #[must_use]
    pub fn streams_of(&self, media_type: MediaType) -> Vec<StreamSnapshot> {
        let mut all = self.streams();
        all.retain(|s| s.media_type == media_type);
        all
    }

    /// One stream, if it is live.
    #[must_use]
    pub fn stream(&self, id: StreamId) -> Option<StreamSnapshot> {
        self.streams().into_iter().find(|s| s.id == id)
    }
}
