//! Event dispatch: session-core's dispatcher beside tokio's broadcast and mpsc channels
//! and a plain loop over boxed callbacks, delivering one event to 1 and to 8
//! subscribers.
//!
//! The event is a real `ParticipantEvent::StateChanged` (no heap data), sent by value
//! to every peer (each subscriber receives a clone; ours clones it out of one shared ring
//! shared by all subscribers).
//!
//! Modes:
//! * `try_recv`: one event published, then each subscriber drains it with `try_recv`.
//! * `async`: subscribers are tasks on a current-thread runtime awaiting `recv`; an
//!   iteration publishes a burst of 64 events and waits until every subscriber has
//!   received all of them. Figures are per event (`Throughput::Elements(64)`).

use std::cell::Cell;
use std::hint::black_box;
use std::rc::Rc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use session_core::dispatch;
use session_core::events::{ParticipantEvent, StateChange};
use session_core::{ParticipantState, StateChangeReason};

const BURST: u64 = 64;

/// The callback peer: a plain list of boxed closures.
type Callback = Box<dyn Fn(&ParticipantEvent)>;

fn event() -> ParticipantEvent {
    ParticipantEvent::StateChanged(StateChange {
        old: ParticipantState::Connecting,
        new: ParticipantState::Connected,
        reason: StateChangeReason::Normal,
        status: None,
    })
}

fn try_recv_mode(c: &mut Criterion) {
    for subs in [1usize, 8] {
        let mut g = c.benchmark_group(format!("event_dispatch/try_recv/{subs}_subscribers"));
        g.throughput(Throughput::Elements(1));

        g.bench_function("ucc_dispatch", |b| {
            let (mut publisher, hub) = dispatch::channel::<ParticipantEvent>(1024);
            let mut rx: Vec<_> = (0..subs).map(|_| hub.subscribe()).collect();
            b.iter(|| {
                publisher.publish(event());
                for r in &mut rx {
                    black_box(r.try_recv().ok());
                }
            });
        });

        g.bench_function("tokio_broadcast", |b| {
            let (tx, _) = tokio::sync::broadcast::channel::<ParticipantEvent>(1024);
            let mut rx: Vec<_> = (0..subs).map(|_| tx.subscribe()).collect();
            b.iter(|| {
                let _ = tx.send(event());
                for r in &mut rx {
                    black_box(r.try_recv().ok());
                }
            });
        });

        g.bench_function("tokio_mpsc", |b| {
            let (txs, mut rxs): (Vec<_>, Vec<_>) = (0..subs)
                .map(|_| tokio::sync::mpsc::channel::<ParticipantEvent>(1024))
                .unzip();
            b.iter(|| {
                let e = event();
                for tx in &txs {
                    let _ = tx.try_send(e.clone());
                }
                for r in &mut rxs {
                    black_box(r.try_recv().ok());
                }
            });
        });

        g.bench_function("boxed_callbacks", |b| {
            let callbacks: Vec<Callback> = (0..subs)
                .map(|_| {
                    Box::new(|e: &ParticipantEvent| {
                        black_box(e);
                    }) as Box<dyn Fn(&ParticipantEvent)>
                })
                .collect();
            b.iter(|| {
                let e = event();
                for cb in &callbacks {
                    cb(&e);
                }
            });
        });
        g.finish();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}

/// Waits (yielding to the subscriber tasks) until `count` reaches `target`.
async fn until(count: &Cell<u64>, target: u64) {
    while count.get() < target {
        tokio::task::yield_now().await;
    }
}

fn async_mode(c: &mut Criterion) {
    for subs in [1usize, 8] {
        let mut g = c.benchmark_group(format!("event_dispatch/async/{subs}_subscribers"));
        g.throughput(Throughput::Elements(BURST));

        g.bench_function(BenchmarkId::from_parameter("ucc_dispatch"), |b| {
            let rt = runtime();
            let local = tokio::task::LocalSet::new();
            let count = Rc::new(Cell::new(0u64));
            let (mut publisher, hub) = dispatch::channel::<ParticipantEvent>(1024);
            for _ in 0..subs {
                let mut rx = hub.subscribe();
                let count = count.clone();
                local.spawn_local(async move {
                    while let Ok(e) = rx.recv().await {
                        black_box(&e);
                        count.set(count.get() + 1);
                    }
                });
            }
            let mut target = 0;
            b.iter(|| {
                for _ in 0..BURST {
                    publisher.publish(event());
                }
                target += BURST * subs as u64;
                local.block_on(&rt, until(&count, target));
            });
        });

        g.bench_function(BenchmarkId::from_parameter("tokio_broadcast"), |b| {
            let rt = runtime();
            let local = tokio::task::LocalSet::new();
            let count = Rc::new(Cell::new(0u64));
            let (tx, _) = tokio::sync::broadcast::channel::<ParticipantEvent>(1024);
            for _ in 0..subs {
                let mut rx = tx.subscribe();
                let count = count.clone();
                local.spawn_local(async move {
                    while let Ok(e) = rx.recv().await {
                        black_box(&e);
                        count.set(count.get() + 1);
                    }
                });
            }
            let mut target = 0;
            b.iter(|| {
                for _ in 0..BURST {
                    let _ = tx.send(event());
                }
                target += BURST * subs as u64;
                local.block_on(&rt, until(&count, target));
            });
        });

        g.bench_function(BenchmarkId::from_parameter("tokio_mpsc"), |b| {
            let rt = runtime();
            let local = tokio::task::LocalSet::new();
            let count = Rc::new(Cell::new(0u64));
            let mut txs = Vec::new();
            for _ in 0..subs {
                let (tx, mut rx) = tokio::sync::mpsc::channel::<ParticipantEvent>(1024);
                txs.push(tx);
                let count = count.clone();
                local.spawn_local(async move {
                    while let Some(e) = rx.recv().await {
                        black_box(&e);
                        count.set(count.get() + 1);
                    }
                });
            }
            let mut target = 0;
            b.iter(|| {
                for _ in 0..BURST {
                    let e = event();
                    for tx in &txs {
                        let _ = tx.try_send(e.clone());
                    }
                }
                target += BURST * subs as u64;
                local.block_on(&rt, until(&count, target));
            });
        });
        g.finish();
    }
}

criterion_group!(benches, try_recv_mode, async_mode);
criterion_main!(benches);
