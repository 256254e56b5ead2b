//! A UDP relay in front of one server, for one client at a time: it can delay what it
//! forwards (a network with that one-way delay), drop what the client sends while held,
//! and record the client's datagrams (to replay them).

#![allow(clippy::unwrap_used)] // test support: a poisoned lock is a failed test

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::UdpSocket;

/// Datagrams recorded at most.
const RECORD_MAX: usize = 16;

pub struct Relay {
    /// Where clients send to reach the server.
    pub front: SocketAddr,
    /// While set, what the client sends is dropped.
    pub hold: Arc<AtomicBool>,
    record: Arc<Mutex<Option<Vec<Vec<u8>>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    pub async fn start(server: SocketAddr, delay: Duration) -> Relay {
        let front = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("relay front"));
        let back = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("relay back"));
        back.connect(server).await.expect("relay target");
        let addr = front.local_addr().expect("relay address");
        let hold = Arc::new(AtomicBool::new(false));
        let record: Arc<Mutex<Option<Vec<Vec<u8>>>>> = Arc::new(Mutex::new(None));
        let (held, recording) = (hold.clone(), record.clone());
        let task = tokio::spawn(async move {
            let mut client = None;
            let (mut up, mut down) = (vec![0u8; 2048], vec![0u8; 2048]);
            loop {
                tokio::select! {
                    r = front.recv_from(&mut up) => {
                        let Ok((n, from)) = r else { return };
                        client = Some(from);
                        if let Some(kept) = recording.lock().unwrap().as_mut() {
                            if kept.len() < RECORD_MAX {
                                kept.push(up[..n].to_vec());
                            }
                        }
                        if !held.load(Ordering::Relaxed) {
                            let (back, packet) = (back.clone(), up[..n].to_vec());
                            later(delay, async move { let _ = back.send(&packet).await; });
                        }
                    }
                    r = back.recv(&mut down) => {
                        let Ok(n) = r else { return };
                        if let Some(to) = client {
                            let (front, packet) = (front.clone(), down[..n].to_vec());
                            later(delay, async move { let _ = front.send_to(&packet, to).await; });
                        }
                    }
                }
            }
        });
        Relay {
            front: addr,
            hold,
            record,
            task,
        }
    }

    /// Records the client's next datagrams (up to 16), forgetting earlier ones.
    pub fn record(&self) {
        *self.record.lock().unwrap() = Some(Vec::new());
    }

    /// What was recorded since [`record`](Self::record).
    pub fn recorded(&self) -> Vec<Vec<u8>> {
        self.record.lock().unwrap().clone().unwrap_or_default()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Runs `send` after `delay` (at once without one).
fn later(delay: Duration, send: impl std::future::Future<Output = ()> + Send + 'static) {
    tokio::spawn(async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        send.await;
    });
}
