//! Event dispatch: one publisher per object, any number of pulling subscribers.
//!
//! Every object (endpoint, session manager, session, participant, media channel)
//! owns a [`Publisher`] inside its state; applications call `events()` on the object
//! and get a [`Subscription`], a bounded queue they pull from (`recv().await`,
//! `try_recv()`, or as a `Stream`).
//!
//! # Design
//! All subscriptions of an object read one shared ring of `capacity` slots. The
//! publisher is its only writer (it is reached through `&mut`, under the owning
//! object's state), so publishing takes no lock: the event is moved once into a node,
//! the node is stored in the next slot, and one atomic swap advances the tail — the
//! same work for one subscriber or for fifty. Each subscriber clones the event out of
//! the node when it reads it. Event types are built so that a clone never allocates:
//! their heap parts (texts, bodies, handles, result lists) sit behind `Arc` or `Bytes`,
//! allocated once when the event is made — the one shared allocation per event — and
//! shared by every subscriber's copy. Plain events (a state change) allocate nothing.
//!
//! Nodes belong to the publisher, which recycles them. A subscriber may still be
//! cloning an event when the publisher wraps around to its slot, so before reading it
//! announces the start of a window of 32 sequence numbers it may read (one
//! store and one fence per window, not per event). When a slot is overwritten the old
//! node is recycled at once if every subscriber has announced a window beyond it;
//! otherwise it is set aside and checked again later (one fence and one load per
//! subscriber per batch), and the publisher takes another node. The publisher never
//! waits for a subscriber, not even for one in the middle of a clone, and a subscriber
//! that never reads pins at most 32 nodes. Memory is bounded by about
//! `capacity + 32 × (subscribers + 1)` nodes; nodes come from the allocator
//! only until the pool covers that, then publishing allocates nothing. Without
//! subscribers the publisher stores nothing, and when the last one goes it empties
//! the ring and frees the nodes on its next publish. The ring itself is created by the
//! first subscription: an object nobody subscribes to (most per-call objects of a
//! busy server) costs no ring.
//!
//! A subscriber that finds nothing to read registers its waker and sets a bit in the
//! tail word with one atomic read-modify-write; the publisher's swap of the tail
//! returns that bit, so it looks for subscribers to wake only when one is asleep, and
//! a wake-up cannot be lost between them.
//!
//! # Ordering and overflow
//! Events of one object arrive in the order they were published, to every
//! subscriber. The ring keeps the newest `capacity` events. A subscriber that falls
//! more than `capacity` events behind loses the oldest events it had not read: its
//! next receive returns [`RecvError::Lagged`] with their exact count, at the place in
//! the sequence where they were lost, and then it continues with the oldest event
//! still kept (for every subscriber, events received plus events reported lost equal
//! events published since it subscribed). The publisher never waits, so other
//! subscribers are not slowed. Dropping a [`Subscription`] unsubscribes. When the
//! object is gone (its publisher dropped), subscribers drain what is kept and then
//! see [`RecvError::Closed`] (or the end of the stream).
//!
//! # Known limits
//! | Limit | Why |
//! |---|---|
//! | Events stay in the ring until overwritten, even once every subscriber has read them (up to `capacity` per object, plus set-aside nodes). | One shared copy is what makes a publish independent of the subscriber count; tokio's broadcast channel does the same. |
//! | Event types must be `Send + Sync` for the handles to be `Send`. | Subscribers on several threads clone the same stored event through a shared reference. |
//! | A subscription created while an event is being published may or may not receive that event. | Registration is picked up by the publisher at its next publish. |

// The shared ring hands out references to events in nodes the publisher recycles, which
// needs raw pointers and `UnsafeCell`; the unsafe code stays in this module, behind the
// protocol described above and at each block.
#![allow(unsafe_code)]
// `ucc_loom`: the loom model tests (see `loom_tests`), run as
// `RUSTFLAGS="--cfg ucc_loom" cargo test -p session-core --lib --release dispatch::loom`
// (not `cfg(loom)`, which would switch tokio to its own loom build).
#![allow(unexpected_cfgs)]

use std::fmt;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::sync::PoisonError;
use std::sync::atomic::Ordering;
use std::task::{Context as TaskContext, Poll};

use futures_core::Stream;

use sync::{
    Arc, AtomicBool, AtomicPtr, AtomicU64, AtomicWaker, Cell, Mutex, MutexGuard, fence,
    register_waker,
};

/// The synchronization primitives, from std or, for the model tests, from loom.
#[cfg(not(ucc_loom))]
mod sync {
    pub(super) use atomic_waker::AtomicWaker;
    pub(super) use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, fence};
    pub(super) use std::sync::{Arc, Mutex, MutexGuard};

    pub(super) fn register_waker(slot: &AtomicWaker, waker: &std::task::Waker) {
        slot.register(waker);
    }

    /// An `UnsafeCell` reached through loom's two accessors.
    pub(super) struct Cell<T>(std::cell::UnsafeCell<T>);

    impl<T> Cell<T> {
        #[inline(always)]
        pub(super) const fn new(value: T) -> Self {
            Self(std::cell::UnsafeCell::new(value))
        }

        #[inline(always)]
        pub(super) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        #[inline(always)]
        pub(super) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

#[cfg(ucc_loom)]
mod sync {
    pub(super) use loom::cell::UnsafeCell as Cell;
    pub(super) use loom::future::AtomicWaker;
    pub(super) use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, fence};
    pub(super) use loom::sync::{Arc, Mutex, MutexGuard};

    pub(super) fn register_waker(slot: &AtomicWaker, waker: &std::task::Waker) {
        slot.register_by_ref(waker);
    }
}

/// Default number of events a subscription queues before it lags.
pub const DEFAULT_CAPACITY: usize = 1024;

/// Sequence numbers a subscriber may read after one announcement; also the most
/// nodes a subscriber that stopped reading can keep from being recycled.
#[cfg(not(ucc_loom))]
const WINDOW: u64 = 32;
#[cfg(ucc_loom)]
const WINDOW: u64 = 2;

/// Set-aside nodes the publisher collects before it checks them again.
#[cfg(not(ucc_loom))]
const RECLAIM_BATCH: usize = 32;
#[cfg(ucc_loom)]
const RECLAIM_BATCH: usize = 1;

/// Tail word, bit 0: a subscriber is (about to be) asleep.
const SLEEPER: u64 = 1;
/// Tail word, bit 1: the publisher is gone.
const CLOSED: u64 = 2;
/// Tail word, upper bits: the number of events stored in the ring so far.
const SEQ_SHIFT: u32 = 2;
/// Window start of a dropped subscription: it covers nothing.
const GONE: u64 = u64::MAX;

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

/// One stored event. Nodes are allocated by the publisher and freed only when the
/// shared state is dropped (or, with no subscriber left, by the publisher under the
/// registry lock), so a pointer read from a slot can always be dereferenced to read
/// `seq`; `event` is read only under the protocol in the module docs.
struct Node<E> {
    /// Sequence number of the event held: written (`Release`) after the event.
    seq: AtomicU64,
    /// `E::clone`, captured by `Publisher::publish` (the only place that knows
    /// `E: Clone`), so that receiving needs no `Clone` bound.
    clone: fn(&E) -> E,
    event: Cell<MaybeUninit<E>>,
}

type NodePtr<E> = NonNull<Node<E>>;

fn alloc_node<E: Clone>() -> NodePtr<E> {
    NonNull::from(Box::leak(Box::new(Node {
        seq: AtomicU64::new(GONE),
        clone: E::clone,
        event: Cell::new(MaybeUninit::uninit()),
    })))
}

/// Drops the event held by `node`.
///
/// # Safety
/// `node` holds a live event and no subscriber can be reading it or read it later.
unsafe fn drop_event<E>(node: NodePtr<E>) {
    // SAFETY: the caller guarantees the event is live and nobody else touches it.
    unsafe { node.as_ref() }
        .event
        // SAFETY: as above.
        .with_mut(|event| unsafe { (*event).assume_init_drop() })
}

/// Frees `node`, dropping its event first if `live`.
///
/// # Safety
/// `node` came from `alloc_node`, is referenced from no slot or list any more, no
/// subscriber can dereference it again, and it holds a live event exactly if `live`.
unsafe fn free_node<E>(node: NodePtr<E>, live: bool) {
    // SAFETY: the caller guarantees exclusive ownership of a node from `alloc_node`.
    let node = unsafe { Box::from_raw(node.as_ptr()) };
    if live {
        // SAFETY: the caller guarantees the event is live.
        node.event
            .with_mut(|event| unsafe { (*event).assume_init_drop() });
    }
}

/// Keeps a hot atomic on its own cache lines.
#[repr(align(128))]
struct Padded<T>(T);

/// What one subscription shares with the publisher, on its own cache lines.
#[repr(align(128))]
struct Reader {
    /// Start of the window of sequence numbers this subscriber may read; it never
    /// reads below it again. [`GONE`] once the subscription is dropped.
    window: AtomicU64,
    waiting: AtomicBool,
    waker: AtomicWaker,
}

/// Nodes the publisher held when it was dropped; freed with the shared state.
struct Orphans<E> {
    live: Vec<NodePtr<E>>,
    empty: Vec<NodePtr<E>>,
}

struct Shared<E> {
    /// The ring's first slot, null until the first subscription creates the ring
    /// (most objects are never subscribed to: they then cost no ring at all). Set once,
    /// under the `pending` lock; freed with the shared state.
    slots: AtomicPtr<AtomicPtr<Node<E>>>,
    /// Slots in the ring.
    capacity: usize,
    /// [`SLEEPER`] | [`CLOSED`] | events stored << [`SEQ_SHIFT`]. Only the publisher
    /// changes the count; subscribers only set [`SLEEPER`].
    tail: Padded<AtomicU64>,
    /// Set (under the `pending` lock) when a subscription is created or dropped.
    dirty: AtomicBool,
    /// Subscriptions the publisher has not adopted yet.
    pending: Mutex<Vec<Arc<Reader>>>,
    orphans: Mutex<Orphans<E>>,
    _events: PhantomData<E>,
}

// SAFETY: the publisher moves events in on one thread and they may be dropped on
// another; subscribers on any thread clone them through shared references. That is
// sound for `E: Send + Sync`. The raw node pointers are dereferenced only under the
// protocol in the module docs.
unsafe impl<E: Send + Sync> Send for Shared<E> {}
// SAFETY: as above.
unsafe impl<E: Send + Sync> Sync for Shared<E> {}

impl<E> Shared<E> {
    fn capacity(&self) -> u64 {
        self.capacity as u64
    }

    /// The ring, empty while it does not exist yet.
    fn slots(&self) -> &[AtomicPtr<Node<E>>] {
        // Acquire: pairs with the Release store in `create_slots`.
        let first = self.slots.load(Ordering::Acquire);
        if first.is_null() {
            return &[];
        }
        // SAFETY: a non-null `slots` is the start of a boxed slice of `capacity` slots,
        // created once and freed only when the shared state is dropped.
        unsafe { std::slice::from_raw_parts(first, self.capacity) }
    }

    /// Creates the ring if it does not exist yet; the caller holds the `pending` lock,
    /// so two subscriptions never both create it.
    fn create_slots(&self) {
        if self.slots.load(Ordering::Acquire).is_null() {
            let ring: Box<[AtomicPtr<Node<E>>]> = (0..self.capacity)
                .map(|_| AtomicPtr::new(ptr::null_mut()))
                .collect();
            let first = Box::into_raw(ring).cast::<AtomicPtr<Node<E>>>();
            self.slots.store(first, Ordering::Release);
        }
    }

    fn lock_pending(&self) -> MutexGuard<'_, Vec<Arc<Reader>>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<E> Drop for Shared<E> {
    fn drop(&mut self) {
        // Event `seq` is stored in slot `seq % capacity`, so slots past the number of
        // events ever stored were never written: most objects publish a handful of
        // events into a ring of a thousand slots.
        let stored = self.tail.0.load(Ordering::Relaxed) >> SEQ_SHIFT;
        let slots = self.slots();
        let written = usize::try_from(stored).map_or(slots.len(), |n| n.min(slots.len()));
        for slot in slots[..written].iter() {
            if let Some(node) = NonNull::new(slot.load(Ordering::Relaxed)) {
                // SAFETY: the last handle is gone; a node in a slot holds a live event.
                unsafe { free_node(node, true) }
            }
        }
        let first = self.slots.load(Ordering::Relaxed);
        if !first.is_null() {
            // SAFETY: made by `create_slots` from a boxed slice of `capacity` slots;
            // the last handle is gone, so nothing reads it any more.
            drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(first, self.capacity)) });
        }
        let mut orphans = self.orphans.lock().unwrap_or_else(PoisonError::into_inner);
        for node in orphans.live.drain(..) {
            // SAFETY: the last handle is gone; set-aside nodes hold live events.
            unsafe { free_node(node, true) }
        }
        for node in orphans.empty.drain(..) {
            // SAFETY: the last handle is gone; free nodes hold no event.
            unsafe { free_node(node, false) }
        }
    }
}

/// The subscribe side of an object's events; cheap to clone.
pub struct EventHub<E> {
    shared: Arc<Shared<E>>,
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
    shared: Arc<Shared<E>>,
    /// Adopted subscriptions, each with the last window start read from it (a lower
    /// bound of its current one: window starts only grow).
    readers: Vec<(Arc<Reader>, u64)>,
    /// The lowest window start in `readers`: nodes of events below it are recycled
    /// as soon as they leave the ring.
    floor: u64,
    /// Sequence number of the next event stored, and its slot.
    next: u64,
    idx: usize,
    /// Nodes holding no event.
    free: Vec<NodePtr<E>>,
    /// Nodes out of the ring whose event a subscriber may still be reading.
    set_aside: Vec<NodePtr<E>>,
    /// `set_aside` length at which they are checked again.
    reclaim_at: usize,
    /// Nodes allocated and not freed.
    nodes: usize,
}

// SAFETY: the node pointers are owned by the publisher (see `Shared`); moving it to
// another thread moves events, and subscribers may clone them concurrently, which
// needs `E: Send + Sync`.
unsafe impl<E: Send + Sync> Send for Publisher<E> {}
// SAFETY: `&Publisher` only reads plain counters.
unsafe impl<E: Send + Sync> Sync for Publisher<E> {}

impl<E> fmt::Debug for Publisher<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Publisher")
            .field("subscribers", &self.readers.len())
            .field("published", &self.next)
            .field("nodes", &self.nodes)
            .finish()
    }
}

/// A channel of events: the publisher for the owner, the hub to hand out subscriptions.
pub fn channel<E>(capacity: usize) -> (Publisher<E>, EventHub<E>) {
    let shared = Arc::new(Shared {
        slots: AtomicPtr::new(ptr::null_mut()),
        capacity: capacity.max(2),
        tail: Padded(AtomicU64::new(0)),
        dirty: AtomicBool::new(false),
        pending: Mutex::new(Vec::new()),
        orphans: Mutex::new(Orphans {
            live: Vec::new(),
            empty: Vec::new(),
        }),
        _events: PhantomData,
    });
    (
        Publisher {
            shared: shared.clone(),
            readers: Vec::new(),
            floor: GONE,
            next: 0,
            idx: 0,
            free: Vec::new(),
            set_aside: Vec::new(),
            reclaim_at: RECLAIM_BATCH,
            nodes: 0,
        },
        EventHub { shared },
    )
}

impl<E> EventHub<E> {
    /// A new subscription: it receives every event published from now on.
    pub fn subscribe(&self) -> Subscription<E> {
        let shared = &self.shared;
        let mut pending = shared.lock_pending();
        shared.create_slots();
        pending.retain(|r| r.window.load(Ordering::Relaxed) != GONE);
        // SeqCst store then load, paired with the publisher's SeqCst swap of the tail
        // and load of `dirty`: if the load misses the swap that stores event `pos`, the
        // publisher sees `dirty` at its next publish and adopts us before it can
        // overwrite event `pos` (`capacity >= 2`), so it never recycles a node we may
        // read without knowing our window.
        shared.dirty.store(true, Ordering::SeqCst);
        let tail = shared.tail.0.load(Ordering::SeqCst);
        let pos = tail >> SEQ_SHIFT;
        let reader = Arc::new(Reader {
            window: AtomicU64::new(pos),
            waiting: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        });
        if tail & CLOSED == 0 {
            pending.push(reader.clone());
        }
        // When closed, the subscription reads as closed and nobody tracks it.
        drop(pending);
        Subscription {
            idx: (pos % shared.capacity()) as usize,
            pos,
            window_end: pos,
            shared: shared.clone(),
            reader,
        }
    }
}

impl<E: Clone> Publisher<E> {
    /// Number of live subscribers known to the publisher (pending ones not counted).
    pub fn subscriber_count(&self) -> usize {
        self.readers.len()
    }

    /// Publishes one event to every subscriber. Never waits.
    pub fn publish(&mut self, event: E) {
        // SeqCst: see `EventHub::subscribe`.
        if self.shared.dirty.load(Ordering::SeqCst) {
            self.sync_readers();
        }
        if self.readers.is_empty() {
            return; // Nobody to tell: `event` is dropped here.
        }
        let seq = self.next;
        let node = self.free.pop().unwrap_or_else(|| {
            self.nodes += 1;
            alloc_node()
        });
        // SAFETY: nodes stay allocated while the publisher lives.
        unsafe { node.as_ref() }.event.with_mut(|slot| {
            // SAFETY: `node` is fresh or came from `free`, which holds only nodes no
            // subscriber will read the event of again (see `retire` and `reclaim`).
            unsafe { (*slot).write(event) };
        });
        // SAFETY: nodes stay allocated while the publisher lives.
        unsafe { node.as_ref() }.seq.store(seq, Ordering::Release);
        // A reader exists, so its subscription created the ring.
        let Some(slot) = self.shared.slots().get(self.idx) else {
            return;
        };
        let old = slot.load(Ordering::Relaxed);
        slot.store(node.as_ptr(), Ordering::Release);
        self.idx += 1;
        if self.idx == self.shared.capacity {
            self.idx = 0;
        }
        self.next = seq + 1;
        // One read-modify-write per publish: it orders the slot store before the new
        // count for subscribers, and returns the bit of any subscriber that went to
        // sleep before it (see `Subscription::poll_recv`).
        let tail = self
            .shared
            .tail
            .0
            .swap(self.next << SEQ_SHIFT, Ordering::SeqCst);
        if tail & SLEEPER != 0 {
            self.wake_sleepers();
        }
        if let Some(old) = NonNull::new(old) {
            self.retire(old);
        }
    }
}

impl<E> Publisher<E> {
    /// Adopts new subscriptions and forgets dropped ones.
    fn sync_readers(&mut self) {
        let shared = self.shared.clone();
        let mut pending = shared.lock_pending();
        shared.dirty.store(false, Ordering::Relaxed);
        for reader in pending.drain(..) {
            // The mutex orders this after the start `subscribe` stored.
            let start = reader.window.load(Ordering::Relaxed);
            self.readers.push((reader, start));
        }
        // Acquire: a dropped subscription stored `GONE` after its last read.
        self.readers
            .retain(|(r, _)| r.window.load(Ordering::Acquire) != GONE);
        self.floor = self.readers.iter().map(|&(_, w)| w).min().unwrap_or(GONE);
        if self.readers.is_empty() {
            // Still under the lock: a subscription created after it starts at the
            // tail and reads only slots we empty here, or nodes stored later.
            self.clear();
        }
    }

    /// With no subscriber left: drops every stored event and frees every node.
    fn clear(&mut self) {
        for slot in self.shared.slots() {
            let node = slot.load(Ordering::Relaxed);
            if let Some(node) = NonNull::new(node) {
                slot.store(ptr::null_mut(), Ordering::Relaxed);
                self.set_aside.push(node);
            }
        }
        for node in self.set_aside.drain(..) {
            // SAFETY: every subscription that could have read it is dropped (its `GONE`
            // was read with Acquire), and later ones never see it (see `sync_readers`).
            unsafe { free_node(node, true) };
            self.nodes -= 1;
        }
        for node in self.free.drain(..) {
            // SAFETY: as above; free nodes hold no event.
            unsafe { free_node(node, false) };
            self.nodes -= 1;
        }
        self.reclaim_at = RECLAIM_BATCH;
    }

    /// Wakes the subscribers that went to sleep.
    fn wake_sleepers(&mut self) {
        // The swap that returned `SLEEPER` synchronized with every sleeper's
        // `fetch_or`, which it did after registering, so `dirty` is visible here.
        if self.shared.dirty.load(Ordering::Acquire) {
            self.sync_readers();
        }
        for (reader, _) in &self.readers {
            if reader.waiting.load(Ordering::Relaxed)
                && reader.waiting.swap(false, Ordering::AcqRel)
            {
                reader.waker.wake();
            }
        }
    }

    /// Takes back a node that left the ring.
    fn retire(&mut self, node: NodePtr<E>) {
        // SAFETY: nodes stay allocated while the publisher lives.
        let seq = unsafe { node.as_ref() }.seq.load(Ordering::Relaxed);
        if seq < self.floor {
            // SAFETY: every adopted subscriber has announced a window starting above
            // `seq` (read with Acquire, stored after its last read below it), and one
            // not adopted yet starts above `seq` (see `EventHub::subscribe`): nobody
            // reads this event again.
            unsafe { drop_event(node) };
            self.free.push(node);
        } else {
            self.set_aside.push(node);
            if self.set_aside.len() >= self.reclaim_at {
                self.reclaim();
            }
        }
    }

    /// Recycles the set-aside nodes no subscriber's window covers.
    fn reclaim(&mut self) {
        // Pairs with the fence in `Subscription::announce`. Either the window a
        // subscriber announced is read below, or the subscriber's loads of the slots
        // after its fence see the nodes that replaced the set-aside ones, so it never
        // reaches a set-aside node through a slot again.
        fence(Ordering::SeqCst);
        if self.shared.dirty.load(Ordering::Relaxed) {
            self.sync_readers();
            if self.readers.is_empty() {
                return;
            }
        }
        let mut floor = GONE;
        for (reader, seen) in &mut self.readers {
            *seen = reader.window.load(Ordering::Acquire);
            floor = floor.min(*seen);
        }
        self.floor = floor;
        let readers = &self.readers;
        let covered = |seq: u64| {
            seq >= floor
                && readers
                    .iter()
                    .any(|&(_, start)| start <= seq && seq - start < WINDOW)
        };
        let mut kept = 0;
        for i in 0..self.set_aside.len() {
            let node = self.set_aside[i];
            // SAFETY: nodes stay allocated while the publisher lives.
            let seq = unsafe { node.as_ref() }.seq.load(Ordering::Relaxed);
            if covered(seq) {
                self.set_aside[kept] = node;
                kept += 1;
            } else {
                // SAFETY: no window covers `seq` (see the fence above), and windows
                // only move up: nobody reads this event again.
                unsafe { drop_event(node) };
                self.free.push(node);
            }
        }
        self.set_aside.truncate(kept);
        self.reclaim_at = kept + RECLAIM_BATCH;
    }
}

impl<E> Drop for Publisher<E> {
    fn drop(&mut self) {
        let shared = &*self.shared;
        // After every swap of the tail: a subscriber that sees `CLOSED` has seen every
        // event, and one that went to sleep before it is in `readers` or `pending`.
        shared.tail.0.fetch_or(CLOSED, Ordering::SeqCst);
        let pending = std::mem::take(&mut *shared.lock_pending());
        for reader in self.readers.iter().map(|(r, _)| r).chain(&pending) {
            reader.waiting.store(false, Ordering::Relaxed);
            reader.waker.wake();
        }
        // Subscribers may still drain the ring or be cloning from a set-aside node: the
        // shared state frees the nodes when the last handle is gone.
        let mut orphans = shared
            .orphans
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        orphans.live.append(&mut self.set_aside);
        orphans.empty.append(&mut self.free);
    }
}

/// A subscriber's queue of events from one object. Dropping it unsubscribes.
pub struct Subscription<E> {
    shared: Arc<Shared<E>>,
    reader: Arc<Reader>,
    /// Sequence number of the next event to read, and its slot.
    pos: u64,
    idx: usize,
    /// End of the announced window: reading `pos` at or past it needs a new one.
    window_end: u64,
}

impl<E> fmt::Debug for Subscription<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("queued", &self.len())
            .finish()
    }
}

impl<E> Subscription<E> {
    /// The next event if one is queued.
    pub fn try_recv(&mut self) -> Result<E, TryRecvError> {
        loop {
            if self.pos >= self.window_end {
                self.announce();
            }
            // `subscribe` created the ring before this subscription existed.
            let node = self
                .shared
                .slots()
                .get(self.idx)
                .map_or(ptr::null_mut(), |slot| slot.load(Ordering::Acquire));
            if !node.is_null() {
                // SAFETY: nodes stay allocated while the shared state lives.
                let node = unsafe { &*node };
                let seq = node.seq.load(Ordering::Acquire);
                if seq == self.pos {
                    // Before the clone, so that it can build the event in our return slot.
                    // The announced window still covers the event.
                    self.advance();
                    // SAFETY: our announced window covers the event and its fence came
                    // before the slot load, so the publisher cannot recycle this node
                    // until we announce a window past it (see `Publisher::reclaim`); the
                    // Acquire load of `seq` orders the event's write before this read.
                    return Ok(node
                        .event
                        .with(|event| (node.clone)(unsafe { (*event).assume_init_ref() })));
                }
                // The node may have been recycled into another slot since we loaded it
                // (its old event was one we had read): only a newer event of our own
                // slot means that ours was overwritten.
                if seq > self.pos && (seq - self.pos) % self.shared.capacity() == 0 {
                    return Err(TryRecvError::Lagged(self.skip_lost(seq)));
                }
            }
            // Not stored yet, or stored since the slot load: the tail tells.
            let tail = self.shared.tail.0.load(Ordering::Acquire);
            if tail >> SEQ_SHIFT > self.pos {
                continue;
            }
            return Err(if tail & CLOSED != 0 {
                TryRecvError::Closed
            } else {
                TryRecvError::Empty
            });
        }
    }

    /// Polls for the next event.
    pub fn poll_recv(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<E, RecvError>> {
        loop {
            match self.try_recv() {
                Ok(e) => return Poll::Ready(Ok(e)),
                Err(TryRecvError::Lagged(n)) => return Poll::Ready(Err(RecvError::Lagged(n))),
                Err(TryRecvError::Closed) => return Poll::Ready(Err(RecvError::Closed)),
                Err(TryRecvError::Empty) => {}
            }
            register_waker(&self.reader.waker, cx.waker());
            self.reader.waiting.store(true, Ordering::Relaxed);
            // Pairs with the swap of the tail in `Publisher::publish`: a swap after this
            // in the tail's modification order returns `SLEEPER` and wakes us; one
            // before it shows here as a count past `pos`. `<=`: a count below `pos`
            // means the swap for an event we already read comes after us.
            let tail = self.shared.tail.0.fetch_or(SLEEPER, Ordering::AcqRel);
            if tail & CLOSED == 0 && tail >> SEQ_SHIFT <= self.pos {
                return Poll::Pending;
            }
            self.reader.waiting.store(false, Ordering::Relaxed);
        }
    }

    /// Waits for the next event.
    pub async fn recv(&mut self) -> Result<E, RecvError> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }
}

impl<E> Subscription<E> {
    /// Number of events queued now.
    pub fn len(&self) -> usize {
        let stored = self.shared.tail.0.load(Ordering::Acquire) >> SEQ_SHIFT;
        stored.saturating_sub(self.pos).min(self.shared.capacity()) as usize
    }

    /// Whether no event is queued now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Announces a window starting at `pos`.
    fn announce(&mut self) {
        self.reader.window.store(self.pos, Ordering::Release);
        // Pairs with the fence in `Publisher::reclaim` (see there).
        fence(Ordering::SeqCst);
        self.window_end = self.pos + WINDOW;
    }

    fn advance(&mut self) {
        self.pos += 1;
        self.idx += 1;
        if self.idx == self.shared.capacity {
            self.idx = 0;
        }
    }

    /// Moves past events overwritten before we read them, given that the slot of
    /// `pos` holds event `seen > pos`; returns how many were lost.
    fn skip_lost(&mut self, seen: u64) -> u64 {
        let stored = self.shared.tail.0.load(Ordering::Acquire) >> SEQ_SHIFT;
        // Event `seen` is stored, so everything before `seen + 1 - capacity` is
        // overwritten; the tail may already say more. `seen >= pos + capacity`.
        let oldest = stored.max(seen + 1) - self.shared.capacity();
        let lost = oldest - self.pos;
        self.pos = oldest;
        self.idx = (oldest % self.shared.capacity()) as usize;
        lost
    }
}

impl<E> Drop for Subscription<E> {
    fn drop(&mut self) {
        let _pending = self.shared.lock_pending();
        // Release: after our last read. Under the lock with `dirty`, so the publisher's
        // next `sync_readers` sees it.
        self.reader.window.store(GONE, Ordering::Release);
        self.shared.dirty.store(true, Ordering::Relaxed);
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
#[cfg(not(ucc_loom))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, AtomicUsize};
    use std::thread;
    use std::time::{Duration, Instant};

    /// An event that counts its live copies: +1 when made or cloned, -1 when dropped.
    /// The count ends at zero exactly if every copy was dropped once.
    struct Tracked {
        n: u64,
        live: Arc<AtomicI64>,
    }

    impl Tracked {
        fn new(n: u64, live: &Arc<AtomicI64>) -> Self {
            live.fetch_add(1, Ordering::Relaxed);
            Self {
                n,
                live: live.clone(),
            }
        }
    }

    impl Clone for Tracked {
        fn clone(&self) -> Self {
            Self::new(self.n, &self.live)
        }
    }

    impl Drop for Tracked {
        fn drop(&mut self) {
            let before = self.live.fetch_sub(1, Ordering::Relaxed);
            assert!(before > 0, "event dropped twice");
        }
    }

    /// What one subscriber saw: events in order, with the lost ones counted.
    #[derive(Debug, Default)]
    struct Tally {
        next: u64,
        delivered: u64,
        lost: u64,
    }

    impl Tally {
        fn starting_at(next: u64) -> Self {
            Self {
                next,
                ..Self::default()
            }
        }

        fn event(&mut self, n: u64) {
            assert_eq!(n, self.next, "out of order or missing without Lagged");
            self.next += 1;
            self.delivered += 1;
        }

        fn lagged(&mut self, n: u64) {
            assert!(n > 0, "Lagged(0)");
            self.next += n;
            self.lost += n;
        }
    }

    #[test]
    fn the_ring_is_made_by_the_first_subscription() {
        let live = Arc::new(AtomicI64::new(0));
        let (mut publisher, hub) = channel::<Tracked>(64);
        for n in 0..10 {
            publisher.publish(Tracked::new(n, &live));
        }
        assert!(hub.shared.slots().is_empty(), "no subscriber, no ring");
        assert_eq!(
            live.load(Ordering::Relaxed),
            0,
            "unsubscribed events dropped"
        );
        let mut sub = hub.subscribe();
        assert_eq!(hub.shared.slots().len(), 64);
        let _second = hub.subscribe();
        publisher.publish(Tracked::new(10, &live));
        assert_eq!(sub.try_recv().map(|e| e.n).ok(), Some(10));
        drop((sub, _second, publisher, hub));
        assert_eq!(
            live.load(Ordering::Relaxed),
            0,
            "every copy freed with the ring"
        );
    }

    #[test]
    fn one_subscriber_gets_events_in_order() {
        let (mut p, hub) = channel::<u32>(8);
        let mut s = hub.subscribe();
        for i in 0..5 {
            p.publish(i);
        }
        assert_eq!(s.len(), 5);
        for i in 0..5 {
            assert_eq!(s.try_recv().unwrap(), i);
        }
        assert_eq!(s.try_recv().unwrap_err(), TryRecvError::Empty);
        assert!(s.is_empty());
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
        assert_eq!(slow.len(), 4);
        // The oldest events were overwritten: the marker comes first, at the place
        // where 0..=5 were lost, then the four newest.
        assert_eq!(slow.try_recv().unwrap_err(), TryRecvError::Lagged(6));
        for i in 6..10 {
            assert_eq!(slow.try_recv().unwrap(), i);
        }
        assert_eq!(slow.try_recv().unwrap_err(), TryRecvError::Empty);
        p.publish(10);
        assert_eq!(slow.try_recv().unwrap(), 10);
        assert_eq!(fast.try_recv().unwrap(), 10);
    }

    #[test]
    fn a_subscriber_lagging_mid_read_counts_exactly() {
        let (mut p, hub) = channel::<u64>(8);
        let mut s = hub.subscribe();
        let mut tally = Tally::default();
        let mut published = 0;
        for round in 0..200u64 {
            for _ in 0..(round % 23) {
                p.publish(published);
                published += 1;
            }
            for _ in 0..(round % 7) {
                match s.try_recv() {
                    Ok(n) => tally.event(n),
                    Err(TryRecvError::Lagged(n)) => tally.lagged(n),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Closed) => unreachable!(),
                }
            }
        }
        drop(p);
        loop {
            match s.try_recv() {
                Ok(n) => tally.event(n),
                Err(TryRecvError::Lagged(n)) => tally.lagged(n),
                Err(TryRecvError::Empty) => panic!("empty after close"),
                Err(TryRecvError::Closed) => break,
            }
        }
        assert!(tally.lost > 0);
        assert_eq!(tally.delivered + tally.lost, published);
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

    #[test]
    fn events_are_dropped_exactly_once() {
        let live = Arc::new(AtomicI64::new(0));
        {
            let (mut p, hub) = channel::<Tracked>(16);
            p.publish(Tracked::new(0, &live)); // no subscriber: dropped at once
            assert_eq!(live.load(Ordering::Relaxed), 0);
            let mut a = hub.subscribe();
            let mut b = hub.subscribe();
            for i in 0..1000 {
                p.publish(Tracked::new(i, &live));
                if i % 3 == 0 {
                    while a.try_recv().is_ok() {}
                }
                if i % 100 == 0 {
                    drop(b);
                    b = hub.subscribe();
                }
            }
            drop(a);
            // Kept in the ring while `b` lives (and may read them)...
            assert!(live.load(Ordering::Relaxed) > 0);
            drop(b);
            // ... and dropped at the next publish once nobody is subscribed.
            p.publish(Tracked::new(1000, &live));
            assert_eq!(live.load(Ordering::Relaxed), 0);
            assert_eq!(p.nodes, 0);
            let mut c = hub.subscribe();
            p.publish(Tracked::new(1001, &live));
            drop(p);
            assert_eq!(c.try_recv().unwrap().n, 1001);
            assert_eq!(live.load(Ordering::Relaxed), 1);
        }
        assert_eq!(live.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_ring_barely_used_frees_every_event_it_holds() {
        let live = Arc::new(AtomicI64::new(0));
        let (mut p, hub) = channel::<Tracked>(DEFAULT_CAPACITY);
        let s = hub.subscribe();
        for i in 0..3 {
            p.publish(Tracked::new(i, &live));
        }
        assert_eq!(live.load(Ordering::Relaxed), 3);
        drop(p);
        drop(hub);
        // The last handle frees the three stored events (only their slots are scanned).
        drop(s);
        assert_eq!(live.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_subscriber_that_never_reads_pins_a_bounded_number_of_nodes() {
        const CAP: usize = 64;
        let live = Arc::new(AtomicI64::new(0));
        let (mut p, hub) = channel::<Tracked>(CAP);
        let mut idle = hub.subscribe();
        // One read, so that its window is announced.
        p.publish(Tracked::new(0, &live));
        assert_eq!(idle.try_recv().unwrap().n, 0);
        let mut reader = hub.subscribe();
        let mut tally = Tally::starting_at(1);
        for i in 1..50_000 {
            p.publish(Tracked::new(i, &live));
            if i % 10 == 0 {
                while let Ok(e) = reader.try_recv() {
                    tally.event(e.n);
                }
            }
            let bound = CAP + WINDOW as usize + RECLAIM_BATCH + 1;
            assert!(p.nodes <= bound, "{} nodes", p.nodes);
            assert!(live.load(Ordering::Relaxed) <= bound as i64);
        }
        while let Ok(e) = reader.try_recv() {
            tally.event(e.n);
        }
        assert_eq!(tally.delivered, 49_999);
        // The idle subscriber lost all but the newest CAP, and is told exactly.
        let mut idle_tally = Tally::starting_at(1);
        loop {
            match idle.try_recv() {
                Ok(e) => idle_tally.event(e.n),
                Err(TryRecvError::Lagged(n)) => idle_tally.lagged(n),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Closed) => unreachable!(),
            }
        }
        assert_eq!(idle_tally.delivered, CAP as u64);
        assert_eq!(idle_tally.delivered + idle_tally.lost, 49_999);
        drop((p, hub, idle, reader));
        assert_eq!(live.load(Ordering::Relaxed), 0);
    }

    /// One publisher thread and several subscriber threads that read fast, slowly
    /// (lagging), or drop out mid-stream, with an event type that counts its copies,
    /// while another thread subscribes and unsubscribes.
    fn stress_threads(capacity: usize, events: u64) {
        let live = Arc::new(AtomicI64::new(0));
        let started = Instant::now();
        let (mut p, hub) = channel::<Tracked>(capacity);
        let subs: Vec<_> = (0..4).map(|_| hub.subscribe()).collect();
        let readers: Vec<_> = subs
            .into_iter()
            .enumerate()
            .map(|(kind, mut s)| {
                thread::spawn(move || {
                    let mut tally = Tally::default();
                    let mut reads = 0u64;
                    loop {
                        match s.try_recv() {
                            Ok(e) => tally.event(e.n),
                            Err(TryRecvError::Lagged(n)) => tally.lagged(n),
                            Err(TryRecvError::Empty) => {
                                // Subscriber 0 spins right behind the publisher.
                                if kind != 0 {
                                    thread::yield_now();
                                }
                                continue;
                            }
                            Err(TryRecvError::Closed) => return Some(tally),
                        }
                        reads += 1;
                        match kind {
                            // Slow: lags again and again.
                            1 if reads % 64 == 0 => thread::sleep(Duration::from_micros(200)),
                            // Drops out mid-stream.
                            2 if reads == 5_000 => return None,
                            _ => {}
                        }
                    }
                })
            })
            .collect();
        let late = {
            let hub = hub.clone();
            thread::spawn(move || {
                // Subscribes and drops repeatedly while events flow.
                for _ in 0..2_000 {
                    let mut s = hub.subscribe();
                    let _ = s.try_recv();
                }
            })
        };
        for i in 0..events {
            p.publish(Tracked::new(i, &live));
            if i % 4096 == 0 {
                thread::yield_now();
            }
        }
        drop(p);
        late.join().unwrap();
        let mut lagged = false;
        for (kind, r) in readers.into_iter().enumerate() {
            match r.join().unwrap() {
                Some(t) => {
                    assert_eq!(t.delivered + t.lost, events, "subscriber {kind}: {t:?}");
                    lagged |= t.lost > 0;
                }
                None => assert_eq!(kind, 2),
            }
        }
        assert!(lagged, "the slow subscriber should have lagged");
        drop(hub);
        assert_eq!(live.load(Ordering::Relaxed), 0);
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn stress_threads_order_lag_counts_and_drops() {
        stress_threads(256, 200_000);
    }

    /// A tiny ring: nodes are recycled while subscribers are loading them.
    #[test]
    fn stress_threads_tiny_ring() {
        stress_threads(2, 200_000);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn recv_wakes_a_waiting_task_across_threads() {
        let (mut p, hub) = channel::<u32>(1024);
        let mut s = hub.subscribe();
        let received = Arc::new(AtomicUsize::new(0));
        let counter = received.clone();
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                match s.recv().await {
                    Ok(e) => {
                        got.push(e);
                        counter.fetch_add(1, Ordering::Release);
                    }
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
                // Never more than the capacity ahead: no lag.
                while i as usize + 1 - received.load(Ordering::Acquire) >= 1000 {
                    std::thread::yield_now();
                }
            }
        });
        writer.await.unwrap();
        let got = tokio::time::timeout(Duration::from_secs(10), reader)
            .await
            .expect("lost wake-up")
            .unwrap();
        assert_eq!(got, (0..10_000).collect::<Vec<_>>());
    }

    /// Publish one event at a time and wait for every task to take it: a lost
    /// wake-up shows as a timeout.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_lost_wakeups_one_event_at_a_time() {
        const ROUNDS: u64 = 3_000;
        const TASKS: usize = 3;
        let (p, hub) = channel::<u64>(16);
        let acks = Arc::new(AtomicU64::new(0));
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let mut s = hub.subscribe();
                let acks = acks.clone();
                tokio::spawn(async move {
                    let mut tally = Tally::default();
                    while let Ok(n) = s.recv().await {
                        tally.event(n);
                        acks.fetch_add(1, Ordering::Release);
                    }
                    tally
                })
            })
            .collect();
        let writer = tokio::task::spawn_blocking(move || {
            let mut p = p;
            let deadline = Instant::now() + Duration::from_secs(10);
            for i in 0..ROUNDS {
                p.publish(i);
                let want = (i + 1) * TASKS as u64;
                while acks.load(Ordering::Acquire) < want {
                    assert!(Instant::now() < deadline, "lost wake-up at event {i}");
                    std::hint::spin_loop();
                }
            }
        });
        writer.await.unwrap();
        for t in tasks {
            let tally = tokio::time::timeout(Duration::from_secs(10), t)
                .await
                .expect("lost close wake-up")
                .unwrap();
            assert_eq!(tally.delivered, ROUNDS);
        }
    }

    /// Async subscribers (some slow, one dropping out) on a multi-thread runtime, the
    /// publisher on a blocking thread: order, exact lag counts, and every task ends
    /// within a bounded time after the publisher is gone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stress_async_subscribers() {
        const EVENTS: u64 = 100_000;
        let live = Arc::new(AtomicI64::new(0));
        let (mut p, hub) = channel::<Tracked>(128);
        let tasks: Vec<_> = (0..5)
            .map(|kind| {
                let mut s = hub.subscribe();
                tokio::spawn(async move {
                    let mut tally = Tally::default();
                    loop {
                        match s.recv().await {
                            Ok(e) => tally.event(e.n),
                            Err(RecvError::Lagged(n)) => tally.lagged(n),
                            Err(RecvError::Closed) => return Some(tally),
                        }
                        match kind {
                            1 if tally.delivered % 32 == 0 => tokio::task::yield_now().await,
                            2 if tally.delivered % 512 == 0 => {
                                tokio::time::sleep(Duration::from_micros(100)).await;
                            }
                            3 if tally.delivered == 3_000 => return None,
                            _ => {}
                        }
                    }
                })
            })
            .collect();
        let live_in = live.clone();
        tokio::task::spawn_blocking(move || {
            for i in 0..EVENTS {
                p.publish(Tracked::new(i, &live_in));
                if i % 1024 == 0 {
                    std::thread::yield_now();
                }
            }
        })
        .await
        .unwrap();
        for (kind, t) in tasks.into_iter().enumerate() {
            let tally = tokio::time::timeout(Duration::from_secs(10), t)
                .await
                .expect("a subscriber task never finished: lost wake-up")
                .unwrap();
            match tally {
                Some(t) => assert_eq!(t.delivered + t.lost, EVENTS, "task {kind}: {t:?}"),
                None => assert_eq!(kind, 3),
            }
        }
        drop(hub);
        assert_eq!(live.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn waiting_tasks_see_the_close() {
        let (p, hub) = channel::<u32>(8);
        let mut a = hub.subscribe();
        let mut b = hub.subscribe();
        let ta = tokio::spawn(async move { a.recv().await });
        let tb = tokio::spawn(async move { b.recv().await });
        tokio::task::yield_now().await;
        drop(p);
        assert_eq!(ta.await.unwrap(), Err(RecvError::Closed));
        assert_eq!(tb.await.unwrap(), Err(RecvError::Closed));
    }
}

/// Model tests: loom runs every interleaving (up to a preemption bound) and checks the
/// accesses to the events in the nodes for data races. Small constants (a window of 2,
/// a batch of 1) make the publisher set aside and recycle nodes within a few events.
#[cfg(test)]
#[cfg(ucc_loom)]
mod loom_tests {
    use super::*;
    use loom::thread;

    fn model(preemptions: usize, f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(preemptions);
        builder.check(f);
    }

    /// Drains `s` with `try_recv` a bounded number of times, checking order and that
    /// delivered + lost never exceed what was published.
    fn drain(s: &mut Subscription<u64>, tries: usize) -> (u64, u64, bool) {
        let (mut next, mut delivered, mut lost) = (0, 0, 0);
        for _ in 0..tries {
            match s.try_recv() {
                Ok(n) => {
                    assert_eq!(n, next);
                    next += 1;
                    delivered += 1;
                }
                Err(TryRecvError::Lagged(n)) => {
                    assert!(n > 0);
                    next += n;
                    lost += n;
                }
                Err(TryRecvError::Empty) => thread::yield_now(),
                Err(TryRecvError::Closed) => return (delivered, lost, true),
            }
        }
        (delivered, lost, false)
    }

    /// The publisher laps a two-slot ring while a subscriber reads: nodes are set
    /// aside and recycled under the reader, which must never read a recycled event.
    #[test]
    fn recycling_races_a_reader() {
        model(3, || {
            let (mut p, hub) = channel::<u64>(2);
            let mut s = hub.subscribe();
            let reader = thread::spawn(move || drain(&mut s, 4));
            for i in 0..5 {
                p.publish(i);
            }
            drop(p);
            let (delivered, lost, closed) = reader.join().unwrap();
            assert!(delivered + lost <= 5);
            if closed {
                assert_eq!(delivered + lost, 5);
            }
        });
    }

    /// Two readers with different paces over a lapping publisher.
    #[test]
    fn two_readers_and_a_lapping_publisher() {
        model(2, || {
            let (mut p, hub) = channel::<u64>(2);
            let mut a = hub.subscribe();
            let mut b = hub.subscribe();
            let ra = thread::spawn(move || drain(&mut a, 2));
            let rb = thread::spawn(move || drain(&mut b, 1));
            for i in 0..3 {
                p.publish(i);
            }
            ra.join().unwrap();
            rb.join().unwrap();
        });
    }

    /// A subscriber asleep in `recv` is woken by a publish (the publisher stays alive
    /// until the subscriber returns, so only that publish can wake it): loom reports a
    /// lost wake-up as a deadlock.
    #[test]
    fn recv_is_woken_by_publish() {
        model(3, || {
            let (mut p, hub) = channel::<u64>(2);
            let mut s = hub.subscribe();
            let reader = thread::spawn(move || {
                let first = loom::future::block_on(s.recv());
                let second = loom::future::block_on(s.recv());
                (first, second)
            });
            p.publish(7);
            p.publish(8);
            assert_eq!(reader.join().unwrap(), (Ok(7), Ok(8)));
        });
    }

    /// A subscriber asleep in `recv` is woken by the close.
    #[test]
    fn recv_is_woken_by_close() {
        model(3, || {
            let (mut p, hub) = channel::<u64>(2);
            let mut s = hub.subscribe();
            let reader = thread::spawn(move || {
                let first = loom::future::block_on(s.recv());
                let second = loom::future::block_on(s.recv());
                (first, second)
            });
            p.publish(7);
            drop(p);
            assert_eq!(reader.join().unwrap(), (Ok(7), Err(RecvError::Closed)));
        });
    }

    /// A subscriber dropped while the publisher runs: the publisher prunes it and
    /// frees the nodes it no longer needs, racing the subscriber's last read.
    #[test]
    fn dropping_the_last_subscriber_while_publishing() {
        model(3, || {
            let (mut p, hub) = channel::<u64>(2);
            let mut s = hub.subscribe();
            let reader = thread::spawn(move || {
                let _ = s.try_recv();
                drop(s);
            });
            for i in 0..3 {
                p.publish(i);
            }
            reader.join().unwrap();
            p.publish(3);
            assert_eq!(p.subscriber_count(), 0);
        });
    }
}
