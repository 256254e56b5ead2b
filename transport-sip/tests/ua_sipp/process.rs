//! A peer program (SIPp, baresip) run by a test: bounded in time, killed through its own
//! [`Child`] handle, its stdout and stderr captured line by line so a test can wait for a
//! line (a signal, not a sleep) and put the whole output in its failure messages.
//!
//! The process's exit is observed as the end of both its output pipes (neither peer
//! forks), so no thread ever blocks in `wait` while the handle is needed for `kill`.

// Shared by several test binaries: each uses part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

/// What a reader thread reports.
enum Event {
    Line(String),
    Eof,
}

/// A running peer program.
pub(crate) struct PeerProcess {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    events: mpsc::UnboundedReceiver<Event>,
    open_streams: usize,
    output: Arc<Mutex<String>>,
    deadline: Instant,
}

/// A finished peer program.
#[derive(Debug)]
pub(crate) struct Finished {
    /// Its exit code (`None` when killed by a signal).
    pub(crate) code: Option<i32>,
    /// Whether the test killed it at its deadline.
    pub(crate) killed: bool,
    /// Its stdout and stderr, interleaved by line.
    pub(crate) output: String,
}

/// The last `max` bytes of `s`, on a character boundary.
pub(crate) fn tail(s: &str, max: usize) -> &str {
    let start = s.len().saturating_sub(max);
    let start = (start..s.len())
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(s.len());
    &s[start..]
}

impl PeerProcess {
    /// Starts `program args…` in `dir` with piped stdin, stdout and stderr. It is killed
    /// if it has not exited `kill_after` from now. `Err(NotFound)` when the program is
    /// not installed.
    pub(crate) fn spawn(
        program: &str,
        args: &[String],
        dir: &Path,
        kill_after: Duration,
    ) -> std::io::Result<PeerProcess> {
        let mut child = Command::new(program)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let (tx, events) = mpsc::unbounded_channel();
        let output = Arc::new(Mutex::new(String::new()));
        let stdout = child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        let stderr = child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        let mut open_streams = 0;
        for stream in [stdout, stderr].into_iter().flatten() {
            open_streams += 1;
            let tx = tx.clone();
            let output = output.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                let mut buf = Vec::new();
                loop {
                    buf.clear();
                    match reader.read_until(b'\n', &mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            let line = String::from_utf8_lossy(&buf)
                                .trim_end_matches(['\r', '\n'])
                                .to_owned();
                            if let Ok(mut o) = output.lock() {
                                o.push_str(&line);
                                o.push('\n');
                            }
                            let _ = tx.send(Event::Line(line));
                        }
                    }
                }
                let _ = tx.send(Event::Eof);
            });
        }
        Ok(PeerProcess {
            name: program.to_owned(),
            stdin: child.stdin.take(),
            child,
            events,
            open_streams,
            output,
            deadline: Instant::now() + kill_after,
        })
    }

    /// Everything the program printed so far.
    pub(crate) fn output(&self) -> String {
        self.output.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// Writes `text` to the program's stdin.
    pub(crate) fn send(&mut self, text: &str) {
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = stdin.write_all(text.as_bytes());
            let _ = stdin.flush();
        }
    }

    /// Waits (at most `within`, and never past the kill deadline) for a line of output
    /// that `pick` accepts; earlier lines are skipped. `None` on timeout or exit.
    pub(crate) async fn wait_line<T>(
        &mut self,
        within: Duration,
        mut pick: impl FnMut(&str) -> Option<T>,
    ) -> Option<T> {
        let until = (Instant::now() + within).min(self.deadline);
        loop {
            match tokio::time::timeout_at(until, self.events.recv()).await {
                Ok(Some(Event::Line(line))) => {
                    if let Some(t) = pick(&line) {
                        return Some(t);
                    }
                }
                Ok(Some(Event::Eof)) => {
                    self.open_streams = self.open_streams.saturating_sub(1);
                    if self.open_streams == 0 {
                        return None;
                    }
                }
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// Waits for the program to exit by itself until its deadline, kills it then, and
    /// collects its exit code and output.
    pub(crate) async fn finish(mut self) -> Finished {
        self.stdin = None;
        let mut killed = false;
        while self.open_streams > 0 {
            match tokio::time::timeout_at(self.deadline, self.events.recv()).await {
                Ok(Some(Event::Line(_))) => {}
                Ok(Some(Event::Eof)) => self.open_streams -= 1,
                Ok(None) => break,
                Err(_) => {
                    // Only this child, through its own handle.
                    let _ = self.child.kill();
                    killed = true;
                    break;
                }
            }
        }
        // The pipes are closed (or the child was killed): it is exiting. Reap it within a
        // bound, killing it if it lingers after closing its output.
        let mut code = None;
        let reap_until = Instant::now() + Duration::from_secs(5);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    code = status.code();
                    break;
                }
                Ok(None) if Instant::now() < reap_until => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Ok(None) => {
                    let _ = self.child.kill();
                    killed = true;
                    code = self.child.wait().ok().and_then(|s| s.code());
                    break;
                }
                Err(_) => break,
            }
        }
        Finished {
            code,
            killed,
            output: self.output(),
        }
    }

    /// Kills the program now (through its handle) and collects what it printed.
    pub(crate) async fn kill(mut self) -> Finished {
        let _ = self.child.kill();
        self.deadline = Instant::now() + Duration::from_secs(5);
        let mut f = self.finish().await;
        f.killed = true;
        f
    }

    /// Whether the program has exited (it is reaped then).
    pub(crate) fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// The program's name, for messages.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        // A test that panicked mid-way still ends its peer (by its own handle).
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
