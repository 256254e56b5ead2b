//! `ucc demo`: alice and bob in one process, instant messages then a call.

mod call;
mod im;
pub(crate) mod media;

use std::future::Future;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use session_core::Error;
use session_core::dispatch::{RecvError, Subscription};

use crate::args::DemoArgs;
use crate::exit::CliError;
use crate::stack::Stack;
use crate::summary::Summary;

/// How long any single step may take before the demo gives up.
pub(crate) const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs the demo and prints its summary.
pub(crate) async fn run(args: DemoArgs) -> Result<(), CliError> {
    let started = Instant::now();
    let progress = Progress::new(!args.json);
    let mut stack = Stack::build(args.transport).await?;
    progress.say(&format!(
        "enabling alice and bob over {}",
        args.transport.name()
    ));
    let mut bob_incoming = stack
        .bob
        .session_manager()
        .incoming()
        .map_err(|e| CliError::from_library("bob's incoming sessions", e))?;
    for (what, endpoint) in [("enable alice", &stack.alice), ("enable bob", &stack.bob)] {
        let op = endpoint
            .enable(None)
            .map_err(|e| CliError::from_library(what, e))?;
        step(what, op).await?;
    }
    let im = im::run(&mut stack, &mut bob_incoming, args.messages, &progress).await?;
    let (call, media) = call::run(&mut stack, &mut bob_incoming, args.duration, &progress).await?;
    if let Some(dir) = &args.record {
        media::record(&stack.bob_taps, dir)?;
    }
    let summary = Summary {
        transport: args.transport.name(),
        im,
        call,
        media,
        total_ms: ms(started.elapsed()),
    };
    progress.done();
    if args.json {
        let json = serde_json::to_string_pretty(&summary)
            .map_err(|e| CliError::Internal(format!("summary as JSON: {e}")))?;
        println!("{json}");
    } else {
        print!("{}", summary.table());
    }
    Ok(())
}

/// Awaits a library operation under [`STEP_TIMEOUT`].
pub(crate) async fn step<T>(
    what: &'static str,
    fut: impl Future<Output = Result<T, Error>>,
) -> Result<T, CliError> {
    within(what, fut)
        .await?
        .map_err(|e| CliError::from_library(what, e))
}

/// Awaits any future under [`STEP_TIMEOUT`].
pub(crate) async fn within<T>(
    what: &'static str,
    fut: impl Future<Output = T>,
) -> Result<T, CliError> {
    tokio::time::timeout(STEP_TIMEOUT, fut)
        .await
        .map_err(|_| CliError::Timeout(what))
}

/// The next event of a subscription, skipping over a lag; `None` once it is closed.
pub(crate) async fn next<E>(events: &mut Subscription<E>) -> Option<E> {
    loop {
        match events.recv().await {
            Ok(e) => return Some(e),
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return None,
        }
    }
}

/// Milliseconds, for the summary.
pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The live status line on stderr (only when stderr is a terminal and not `--json`).
pub(crate) struct Progress {
    live: bool,
}

impl Progress {
    fn new(wanted: bool) -> Progress {
        Progress {
            live: wanted && std::io::stderr().is_terminal(),
        }
    }

    /// Replaces the status line.
    pub(crate) fn say(&self, line: &str) {
        if self.live {
            eprint!("\r\x1b[2K{line}");
        }
    }

    fn done(&self) {
        if self.live {
            eprint!("\r\x1b[2K");
        }
    }
}
