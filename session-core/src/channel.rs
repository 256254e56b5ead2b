//! Media channels (`IUccMediaChannel`): preferred and negotiated directions per medium.

use std::fmt;
use std::sync::{Arc, Mutex};

use crate::contract::media::{MediaStream, StreamStats};
use crate::description::{MediaDirection, MediaType};
use crate::dispatch::{self, EventHub, Publisher, Subscription};
use crate::events::MediaChannelEvent;
use crate::lock;

pub(crate) struct ChannelData {
    pub(crate) preferred: MediaDirection,
    pub(crate) negotiated: MediaDirection,
    publisher: Publisher<MediaChannelEvent>,
    pub(crate) stream: Option<Arc<dyn MediaStream>>,
    pub(crate) muted: bool,
}

pub(crate) struct ChannelInner {
    pub(crate) media_type: MediaType,
    hub: EventHub<MediaChannelEvent>,
    pub(crate) data: Mutex<ChannelData>,
}

/// One medium (audio or video) between the local side and one participant.
///
/// The application sets the [preferred](Self::set_preferred_media) direction (hold is
/// "send only" or "none") and calls `update_channels`; the
/// [negotiated](Self::negotiated_media) direction is what the last offer/answer
/// exchange agreed, from the local side's view.
#[derive(Clone)]
pub struct MediaChannel {
    pub(crate) inner: Arc<ChannelInner>,
}

impl fmt::Debug for MediaChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaChannel")
            .field("media_type", &self.inner.media_type)
            .field("preferred", &self.preferred_media())
            .field("negotiated", &self.negotiated_media())
            .finish()
    }
}

impl PartialEq for MediaChannel {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl MediaChannel {
    pub(crate) fn new(media_type: MediaType, preferred: MediaDirection) -> Self {
        let (publisher, hub) = dispatch::channel(64);
        Self {
            inner: Arc::new(ChannelInner {
                media_type,
                hub,
                data: Mutex::new(ChannelData {
                    preferred,
                    negotiated: MediaDirection::NONE,
                    publisher,
                    stream: None,
                    muted: false,
                }),
            }),
        }
    }

    /// Audio or video.
    pub fn media_type(&self) -> MediaType {
        self.inner.media_type
    }

    /// What the application wants (`PreferredMedia`).
    pub fn preferred_media(&self) -> MediaDirection {
        lock(&self.inner.data).preferred
    }

    /// Sets what the application wants; takes effect at the next `update_channels`.
    pub fn set_preferred_media(&self, direction: MediaDirection) {
        lock(&self.inner.data).preferred = direction;
    }

    /// What was agreed (`NegotiatedMedia`).
    pub fn negotiated_media(&self) -> MediaDirection {
        lock(&self.inner.data).negotiated
    }

    /// Mutes or unmutes sending without renegotiation (no effect without a media engine).
    pub fn set_muted(&self, muted: bool) {
        let mut d = lock(&self.inner.data);
        d.muted = muted;
        if let Some(s) = &d.stream {
            s.set_muted(muted);
        }
    }

    /// Whether sending is muted.
    pub fn is_muted(&self) -> bool {
        lock(&self.inner.data).muted
    }

    /// The media stream's counters (zero without a media engine).
    pub fn stats(&self) -> StreamStats {
        lock(&self.inner.data)
            .stream
            .as_ref()
            .map(|s| s.stats())
            .unwrap_or_default()
    }

    /// Subscribes to this channel's events.
    pub fn events(&self) -> Subscription<MediaChannelEvent> {
        self.inner.hub.subscribe()
    }

    pub(crate) fn set_negotiated(&self, new: MediaDirection) {
        let mut d = lock(&self.inner.data);
        let old = d.negotiated;
        if old != new {
            d.negotiated = new;
            d.publisher
                .publish(MediaChannelEvent::NegotiatedMediaChanged { old, new });
        }
    }
}
