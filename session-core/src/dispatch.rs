//! Event dispatch: one publisher per object, any number of pulling subscribers.
//!
//! Every object (endpoint, session manager, session, participant, media channel)
//! owns a [`Publisher`] inside its state; applications call `events()` on the object
//! and get a [`Subscription`], a bounded queue they pull from (`recv().await`,
//! `try_recv()`, or as a `Stream`).
//!
//! # Design
//! Each subscription is a single-producer single-consumer ring (`rtrb`) of fixed
//! capacity. The publisher is the only writer of every ring (it is reached through
//! `&mut`, under the owning object's state), so publishing takes no lock: for each
//! subscriber it writes one slot and, once per event, one memory fence to pair with
//! sleeping subscribers. The last subscriber gets the event moved, the others a
//! clone. Event types are built so that a clone never allocates: their heap parts
//! (texts, bodies, handles, result lists) sit behind `Arc` or `Bytes`, allocated once
//! when the event is made — the one shared allocation per event — and shared by
//! every subscriber's copy. Plain events (a state change) allocate nothing at all.
//!
//! # Ordering and overflow
//! Events of one object arrive in the order they were published, to every
//! subscriber. A subscriber whose ring is full loses the events that do not fit and
//! then receives [`RecvError::Lagged`] with their count, at the exact place in the
//! sequence where they were lost; the publisher never waits, so other subscribers
//! are not slowed. Dropping a [`Subscription`] unsubscribes. When the object is gone
//! (its publisher dropped), subscribers drain what is queued and then see
//! [`RecvError::Closed`] (or the end of the stream).

use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering, fence};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context as TaskContext, Poll};

use atomic_waker::AtomicWaker;
use futures_core::Stream;

/// Default number of events a subscription queues before it lags.
pub const DEFAULT_CAPACITY: usize = 1024;

/// Why [`Subscription::recv`] returned no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecvError {
    /// This many events were lost here because the subscriber fell behind.
    #[error("subscriber lagged: {0} events lost")]
    Lagged(u64),
    /// The object is gone and every queued event was received.
    #[error("event source closed")]
    Closed,
}

/// Why [`Subscription::try_recv`] returned no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TryRecvError {
    /// Nothing queued now.
    #[error("no event queued")]
    Empty,
    /// This many events were lost here because the subscriber fell behind.
    #[error("subscriber lagged: {0} events lost")]
    Lagged(u64),
    /// The object is gone and every queued event was received.
    #[error("event source closed")]
    Closed,
}

enum Item<E> {
    Event(E),
    Lagged(u64),
}

/// Wake-up state shared by one subscriber and the publisher.
struct Signal {
    waker: AtomicWaker,
    waiting: AtomicBool,
}

impl Signal {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            waker: AtomicWaker::new(),
            waiting: AtomicBool::new(false),
        })
    }

    fn wake_if_waiting(&self) {
        if self.waiting.load(Ordering::Relaxed) && self.waiting.swap(false, Ordering::AcqRel) {
            self.waker.wake();
        }
    }
}

struct Sink<E> {
    producer: rtrb::Producer<Item<E>>,
    signal: Arc<Signal>,
    /// Events lost since the last successful push (to report as `Lagged`).
    lost: u64,
}

struct HubShared<E> {
    capacity: usize,
    pending: Mutex<Vec<Sink<E>>>,
    has_pending: AtomicBool,
    closed: AtomicBool,
}

/// The subscribe side of an object's events; cheap to clone.
pub struct EventHub<E> {
    shared: Arc<HubShared<E>>,
}

impl<E> Clone for EventHub<E> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<E> fmt::Debug for EventHub<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventHub")
            .field("capacity", &self.shared.capacity)
            .finish()
    }
}

/// The publish side of an object's events. Not `Clone`: one writer per object.
pub struct Publisher<E> {
    shared: Arc<HubShared<E>>,
    sinks: Vec<Sink<E>>,
}

impl<E> fmt::Debug for Publisher<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Publisher")
            .field("subscribers", &self.sinks.len())
            .finish()
    }
}

/// A channel of events: the publisher for the owner, the hub to hand out subscriptions.
pub fn channel<E>(capacity: usize) -> (Publisher<E>, EventHub<E>) {
    let shared = Arc::new(HubShared {
        capacity: capacity.max(2),
        pending: Mutex::new(Vec::new()),
        has_pending: AtomicBool::new(false),
        closed: AtomicBool::new(false),
    });
    (
        Publisher {
            shared: shared.clone(),
            sinks: Vec::new(),
        },
        EventHub { shared },
    )
}

impl<E> EventHub<E> {
    /// A new subscription: it receives every event published from now on.
    pub fn subscribe(&self) -> Subscription<E> {
        let (producer, consumer) = rtrb::RingBuffer::new(self.shared.capacity);
        let signal = Signal::new();
        if !self.shared.closed.load(Ordering::Acquire) {
            let mut pending = self
                .shared
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            pending.retain(|s| !s.producer.is_abandoned());
            pending.push(Sink {
                producer,
                signal: signal.clone(),
                lost: 0,
            });
            self.shared.has_pending.store(true, Ordering::Release);
        }
        // When closed, `producer` is dropped here and the subscription reads as closed.
        Subscription { consumer, signal }
    }
}

impl<E: Clone> Publisher<E> {
    /// Number of live subscribers known to the publisher (pending ones not counted).
    pub fn subscriber_count(&self) -> usize {
        self.sinks.len()
    }

    fn adopt_pending(&mut self) {
        if self.shared.has_pending.load(Ordering::Acquire) {
            let mut pending = self
                .shared
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            self.shared.has_pending.store(false, Ordering::Release);
            self.sinks.append(&mut pending);
        }
    }

    /// Publishes one event to every subscriber. Never waits.
    pub fn publish(&mut self, event: E) {
        self.adopt_pending();
        let Some((last, others)) = self.sinks.split_last_mut() else {
            return;
        };
        for sink in others {
            push(sink, Item::Event(event.clone()));
        }
        push(last, Item::Event(event));
        // Pairs with the fence in `Subscription::poll_recv`: either the subscriber sees
        // the item we just wrote, or we see that it is waiting and wake it.
        fence(Ordering::SeqCst);
        let mut abandoned = false;
        for sink in &self.sinks {
            sink.signal.wake_if_waiting();
            abandoned |= sink.producer.is_abandoned();
        }
        if abandoned {
            self.sinks.retain(|s| !s.producer.is_abandoned());
        }
    }
}

fn push<E>(sink: &mut Sink<E>, item: Item<E>) {
    if sink.lost > 0 {
        if sink.producer.slots() < 2 {
            sink.lost += 1;
            return;
        }
        let lost = std::mem::take(&mut sink.lost);
        // Two free slots were checked above; the marker cannot fail.
        let _ = sink.producer.push(Item::Lagged(lost));
    }
    if sink.producer.push(item).is_err() {
        sink.lost += 1;
    }
}

impl<E> Drop for Publisher<E> {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        let pending = std::mem::take(
            &mut *self
                .shared
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        self.sinks.extend(pending);
        for sink in self.sinks.drain(..) {
            let signal = sink.signal.clone();
            drop(sink);
            signal.waiting.store(false, Ordering::Release);
            signal.waker.wake();
        }
    }
}

/// A subscriber's queue of events from one object. Dropping it unsubscribes.
pub struct Subscription<E> {
    consumer: rtrb::Consumer<Item<E>>,
    signal: Arc<Signal>,
}

impl<E> fmt::Debug for Subscription<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("queued", &self.consumer.slots())
            .finish()
    }
}

impl<E> Subscription<E> {
    /// The next event if one is queued.
    pub fn try_recv(&mut self) -> Result<E, TryRecvError> {
        match self.consumer.pop() {
            Ok(Item::Event(e)) => Ok(e),
            Ok(Item::Lagged(n)) => Err(TryRecvError::Lagged(n)),
            Err(_) if self.consumer.is_abandoned() => {
                // The publisher is gone; an item may have landed just before it went.
                match self.consumer.pop() {
                    Ok(Item::Event(e)) => Ok(e),
                    Ok(Item::Lagged(n)) => Err(TryRecvError::Lagged(n)),
                    Err(_) => Err(TryRecvError::Closed),
                }
            }
            Err(_) => Err(TryRecvError::Empty),
        }
    }

    /// Polls for the next event.
    pub fn poll_recv(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<E, RecvError>> {
        match self.try_recv() {
            Ok(e) => return Poll::Ready(Ok(e)),
            Err(TryRecvError::Lagged(n)) => return Poll::Ready(Err(RecvError::Lagged(n))),
            Err(TryRecvError::Closed) => return Poll::Ready(Err(RecvError::Closed)),
            Err(TryRecvError::Empty) => {}
        }
        self.signal.waker.register(cx.waker());
        self.signal.waiting.store(true, Ordering::SeqCst);
        // Pairs with the fence in `Publisher::publish` (see there).
        fence(Ordering::SeqCst);
        match self.try_recv() {
            Ok(e) => Poll::Ready(Ok(e)),
            Err(TryRecvError::Lagged(n)) => Poll::Ready(Err(RecvError::Lagged(n))),
            Err(TryRecvError::Closed) => Poll::Ready(Err(RecvError::Closed)),
            Err(TryRecvError::Empty) => Poll::Pending,
        }
    }

    /// Waits for the next event.
    pub async fn recv(&mut self) -> Result<E, RecvError> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Number of events queued now.
    pub fn len(&self) -> usize {
        self.consumer.slots()
    }

    /// Whether no event is queued now.
    pub fn is_empty(&self) -> bool {
        self.consumer.is_empty()
    }
}

impl<E> Stream for Subscription<E> {
    /// An event, or the number of events lost before the next one.
    type Item = Result<E, u64>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        match self.get_mut().poll_recv(cx) {
            Poll::Ready(Ok(e)) => Poll::Ready(Some(Ok(e))),
            Poll::Ready(Err(RecvError::Lagged(n))) => Poll::Ready(Some(Err(n))),
            Poll::Ready(Err(RecvError::Closed)) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_subscriber_gets_events_in_order() {
        let (mut p, hub) = channel::<u32>(8);
        let mut s = hub.subscribe();
        for i in 0..5 {
            p.publish(i);
        }
        for i in 0..5 {
            assert_eq!(s.try_recv().unwrap(), i);
        }
        assert_eq!(s.try_recv().unwrap_err(), TryRecvError::Empty);
    }

    #[test]
    fn several_subscribers_share_the_event_heap_data() {
        let (mut p, hub) = channel::<Arc<str>>(8);
        let mut a = hub.subscribe();
        let mut b = hub.subscribe();
        p.publish(Arc::from("x"));
        let (ea, eb) = (a.try_recv().unwrap(), b.try_recv().unwrap());
        assert!(Arc::ptr_eq(&ea, &eb));
    }

    #[test]
    fn events_before_subscribing_are_not_delivered() {
        let (mut p, hub) = channel::<u32>(8);
        p.publish(1);
        let mut s = hub.subscribe();
        p.publish(2);
        assert_eq!(s.try_recv().unwrap(), 2);
    }

    #[test]
    fn a_lagging_subscriber_is_told_where_and_others_are_not_slowed() {
        let (mut p, hub) = channel::<u32>(4);
        let mut slow = hub.subscribe();
        let mut fast = hub.subscribe();
        for i in 0..10 {
            p.publish(i);
            assert_eq!(fast.try_recv().unwrap(), i);
        }
        for i in 0..4 {
            assert_eq!(slow.try_recv().unwrap(), i);
        }
        assert_eq!(slow.try_recv().unwrap_err(), TryRecvError::Empty);
        p.publish(10);
        // The marker comes first, at the place where 4..=9 were lost.
        assert_eq!(slow.try_recv().unwrap_err(), TryRecvError::Lagged(6));
        assert_eq!(slow.try_recv().unwrap(), 10);
        assert_eq!(fast.try_recv().unwrap(), 10);
    }

    #[test]
    fn dropping_the_publisher_closes_after_draining() {
        let (mut p, hub) = channel::<u32>(4);
        let mut s = hub.subscribe();
        p.publish(7);
        drop(p);
        assert_eq!(s.try_recv().unwrap(), 7);
        assert_eq!(s.try_recv().unwrap_err(), TryRecvError::Closed);
        let mut late = hub.subscribe();
        assert_eq!(late.try_recv().unwrap_err(), TryRecvError::Closed);
    }

    #[test]
    fn dropped_subscriptions_are_pruned() {
        let (mut p, hub) = channel::<u32>(4);
        let s = hub.subscribe();
        let _keep = hub.subscribe();
        p.publish(1);
        assert_eq!(p.subscriber_count(), 2);
        drop(s);
        p.publish(2);
        assert_eq!(p.subscriber_count(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn recv_wakes_a_waiting_task_across_threads() {
        let (mut p, hub) = channel::<u32>(1024);
        let mut s = hub.subscribe();
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                match s.recv().await {
                    Ok(e) => got.push(e),
                    Err(RecvError::Closed) => break,
                    Err(RecvError::Lagged(n)) => panic!("lagged {n}"),
                }
            }
            got
        });
        let writer = tokio::task::spawn_blocking(move || {
            for i in 0..10_000u32 {
                p.publish(i);
                if i % 512 == 0 {
                    std::thread::yield_now();
                }
                while p.sinks.first().is_some_and(|s| s.producer.slots() < 2) {
                    std::thread::yield_now();
                }
            }
        });
        writer.await.unwrap();
        let got = reader.await.unwrap();
        assert_eq!(got, (0..10_000).collect::<Vec<_>>());
    }
}
