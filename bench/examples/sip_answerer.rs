//! A SIP endpoint that answers every call, for the SIPp load benchmark
//! (`bench/sip_load.sh`, `docs/performance.md`).
//!
//! Binds a `SipTransport` over UDP on `127.0.0.1:<port>`, enables one endpoint
//! `sip:<user>@127.0.0.1:<port>`, accepts every incoming session at once and holds it
//! until the caller's BYE ends it. No media engine is plugged in: audio/video answers come
//! from the channels with placeholder addresses, which is all a signaling load needs.
//!
//! ```text
//! sip_answerer [--port 5070] [--user bob] [--duration 300] [--threads 0] [--t1-ms 500]
//! ```
//!
//! Prints `ready 127.0.0.1:<port>` once enabled. Exits when stdin closes (EOF), after
//! `--duration` seconds, or when the endpoint's incoming stream ends, printing its
//! counters as one `counters …` line. `--threads 0` (the default) runs on a
//! current-thread runtime; `N` on a multi-thread runtime with `N` workers. `--t1-ms` is a
//! diagnostic only: it shortens RFC 3261 T1 (default 500 ms) and with it the 64×T1 that
//! completed server transactions linger (Timers J and L), so the stack's limit on live
//! transactions is not what a short run measures.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use session_core::dispatch::RecvError;
use session_core::events::SessionEvent;
use session_core::{EndpointConfig, Platform, Session, Uri};
use tokio::sync::oneshot;
use transport_sip::ua::{SipConfig, SipTransport};

/// Command-line settings.
struct Args {
    port: u16,
    user: String,
    duration: Duration,
    threads: usize,
    t1: Option<Duration>,
}

fn usage(problem: &str) -> ! {
    let _ = writeln!(
        std::io::stderr().lock(),
        "sip_answerer: {problem}\n\
         usage: sip_answerer [--port 5070] [--user bob] [--duration SECS] [--threads N] \
         [--t1-ms MS]"
    );
    std::process::exit(2);
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> T {
    value
        .parse()
        .unwrap_or_else(|_| usage(&format!("bad value for {flag}: {value}")))
}

fn parse_args() -> Args {
    let mut args = Args {
        port: 5070,
        user: "bob".to_owned(),
        duration: Duration::from_secs(300),
        threads: 0,
        t1: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let Some(value) = it.next() else {
            usage(&format!("{flag} needs a value"));
        };
        match flag.as_str() {
            "--port" => args.port = number(&flag, &value),
            "--user" => args.user.clone_from(&value),
            "--duration" => args.duration = Duration::from_secs(number(&flag, &value)),
            "--threads" => args.threads = number(&flag, &value),
            "--t1-ms" => args.t1 = Some(Duration::from_millis(number(&flag, &value))),
            _ => usage(&format!("unknown argument {flag}")),
        }
    }
    args
}

/// What happened to the calls, updated by the per-session tasks.
#[derive(Default)]
struct Counters {
    incoming: AtomicU64,
    accepted: AtomicU64,
    accept_failed: AtomicU64,
    terminated: AtomicU64,
    lagged: AtomicU64,
}

impl Counters {
    fn line(&self, elapsed: Duration) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "counters elapsed_s={:.1} incoming={} accepted={} accept_failed={} terminated={} \
             active={} lagged={}",
            elapsed.as_secs_f64(),
            get(&self.incoming),
            get(&self.accepted),
            get(&self.accept_failed),
            get(&self.terminated),
            get(&self.accepted).saturating_sub(get(&self.terminated)),
            get(&self.lagged),
        )
    }
}

/// Holds an accepted session until it ends (the caller's BYE).
async fn hold(session: Session, counters: &Counters) {
    let mut events = session.events();
    if !session.is_terminated() {
        loop {
            match events.recv().await {
                Ok(SessionEvent::Terminated { .. }) | Err(RecvError::Closed) => break,
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => {
                    counters.lagged.fetch_add(1, Ordering::Relaxed);
                    if session.is_terminated() {
                        break;
                    }
                }
            }
        }
    }
    counters.terminated.fetch_add(1, Ordering::Relaxed);
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let bind = SocketAddr::from(([127, 0, 0, 1], args.port));
    let mut config = SipConfig::udp(bind);
    if let Some(t1) = args.t1 {
        config.timers.t1 = t1;
    }
    let sip = SipTransport::bind(config).await?;
    let local = sip.local_addr();
    let platform = Platform::builder().transport(sip).build();
    let endpoint = platform.create_endpoint(EndpointConfig::new(Uri::parse(&format!(
        "sip:{}@{local}",
        args.user
    ))?))?;
    endpoint.enable(None)?.await?;
    let mut incoming = endpoint.session_manager().incoming()?;

    // stdin EOF (or any read error) ends the run; read on a plain thread so no tokio
    // io-std feature is needed.
    let (stdin_closed, mut stop) = oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        let mut stdin = std::io::stdin().lock();
        while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
        let _ = stdin_closed.send(());
    });

    writeln!(std::io::stdout().lock(), "ready {local}")?;
    let counters = Arc::new(Counters::default());
    let started = Instant::now();
    let deadline = tokio::time::sleep(args.duration);
    tokio::pin!(deadline);
    let why = loop {
        tokio::select! {
            next = incoming.next() => {
                let Some(mut call) = next else { break "incoming stream ended" };
                counters.incoming.fetch_add(1, Ordering::Relaxed);
                let counters = Arc::clone(&counters);
                tokio::spawn(async move {
                    match call.accept().await {
                        Ok(session) => {
                            counters.accepted.fetch_add(1, Ordering::Relaxed);
                            drop(call);
                            hold(session, &counters).await;
                        }
                        Err(_) => {
                            counters.accept_failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
            _ = &mut stop => break "stdin closed",
            () = &mut deadline => break "duration elapsed",
        }
    };
    writeln!(
        std::io::stdout().lock(),
        "{} reason=\"{why}\"",
        counters.line(started.elapsed())
    )?;
    drop(incoming);
    drop(endpoint);
    drop(platform);
    Ok(())
}

fn main() {
    let args = parse_args();
    let mut builder = if args.threads == 0 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(args.threads);
        b
    };
    let runtime = builder
        .enable_all()
        .build()
        .unwrap_or_else(|e| usage(&format!("cannot start the runtime: {e}")));
    if let Err(e) = runtime.block_on(run(args)) {
        let _ = writeln!(std::io::stderr().lock(), "sip_answerer: {e}");
        std::process::exit(1);
    }
    // Per-session tasks still holding calls are dropped with the runtime.
    runtime.shutdown_timeout(Duration::from_millis(200));
}
