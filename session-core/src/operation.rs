//! Asynchronous operations (the UCC operation model).
//!
//! A network action (enable, add a participant, send a message, update channels,
//! terminate…) is checked at once — misuse is returned as an [`Error`] straight away,
//! as the UCC API's synchronous HRESULT did — and then runs in the background as an
//! [`Operation`]: a future of its typed outcome that can be [cancelled](Operation::cancel).
//! The operation's progress and completion are also published as
//! [`OperationProgress`] events on the object that owns it, carrying the optional
//! [`OperationContext`] given by the caller, so a central event loop can correlate
//! them without holding the future. Dropping an `Operation` detaches it: the action
//! still completes and still publishes its completion event.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context as TaskContext, Poll};

use tokio::sync::{Notify, oneshot};

use crate::context::Context;
use crate::error::Error;
use crate::status::Status;

/// The caller's correlation token for an operation (`IUccOperationContext`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OperationContext {
    /// The caller's operation id.
    pub id: i64,
    /// The caller's properties.
    pub context: Context,
}

impl OperationContext {
    /// A context with an id and no properties.
    pub fn new(id: i64) -> Self {
        Self {
            id,
            context: Context::new(),
        }
    }

    /// A context with an id and properties.
    pub fn with_context(id: i64, context: Context) -> Self {
        Self { id, context }
    }
}

/// Which operation a progress event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OperationKind {
    /// `Endpoint::enable`.
    Enable,
    /// `Endpoint::disable`.
    Disable,
    /// `Session::add_participant`.
    AddParticipant,
    /// `Session::remove_participant`.
    RemoveParticipant,
    /// `Session::terminate`.
    Terminate,
    /// `ImSession::send_message`.
    SendMessage,
    /// `AvParticipant::update_channels`.
    UpdateChannels,
    /// `Platform::shutdown`.
    Shutdown,
}

/// Progress or completion of an operation (`IUccOperationProgressEvent`).
#[derive(Clone, Debug, PartialEq)]
pub struct OperationProgress {
    /// The operation.
    pub kind: OperationKind,
    /// The caller's context, echoed (shared: copies of the event do not allocate).
    pub context: Option<Arc<OperationContext>>,
    /// 1xx while in progress; the final status when complete.
    pub status: Status,
    /// Whether this is the completion.
    pub is_complete: bool,
}

impl OperationProgress {
    /// Whether it completed successfully.
    pub fn succeeded(&self) -> bool {
        self.is_complete && self.status.code.is_success()
    }
}

/// The cancellation signal shared by an [`Operation`] and the task running it.
#[derive(Debug, Default)]
pub(crate) struct CancelSignal {
    flag: AtomicBool,
    notify: Notify,
}

impl CancelSignal {
    pub(crate) fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Resolves once cancellation was requested.
    pub(crate) async fn cancelled(&self) {
        let notified = self.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.is_cancelled() {
            return;
        }
        notified.await;
    }
}

/// A running operation: await it for the outcome, or cancel it.
#[must_use = "an operation runs anyway; await it to learn its outcome"]
#[derive(Debug)]
pub struct Operation<T> {
    kind: OperationKind,
    rx: oneshot::Receiver<Result<T, Error>>,
    cancel: Arc<CancelSignal>,
}

impl<T: Send + 'static> Operation<T> {
    /// Runs `work` in the background; it gets the cancellation signal.
    pub(crate) fn spawn<F, Fut>(kind: OperationKind, work: F) -> Self
    where
        F: FnOnce(Arc<CancelSignal>) -> Fut,
        Fut: Future<Output = Result<T, Error>> + Send + 'static,
    {
        let cancel = Arc::new(CancelSignal::default());
        let (tx, rx) = oneshot::channel();
        let fut = work(cancel.clone());
        tokio::spawn(async move {
            let _ = tx.send(fut.await);
        });
        Self { kind, rx, cancel }
    }
}

impl<T> Operation<T> {
    /// Which operation this is.
    pub fn kind(&self) -> OperationKind {
        self.kind
    }

    /// Requests cancellation. An invitation not yet answered is cancelled at the far
    /// end too; an operation that already completed is unaffected.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }
}

impl<T> Future for Operation<T> {
    type Output = Result<T, Error>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(Error::Closed("runtime"))))
    }
}
