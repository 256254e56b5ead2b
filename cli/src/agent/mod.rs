//! `ucc agent`: a long-running user agent. It listens (and registers when a registrar
//! is set), answers or rejects incoming calls and IM sessions, records and echoes, and
//! prints one line per event on stdout until SIGINT, SIGTERM or `--max-duration`.

pub(crate) mod config;
pub(crate) mod media;
pub(crate) mod ua;

use std::sync::Arc;
use std::time::Duration;

use session_core::events::{ParticipantEvent, SessionEvent};
use session_core::{IncomingSession, Reason, SessionType};

use self::config::{AgentSettings, Settings};
use self::ua::Ua;
use crate::args::AgentCommand;
use crate::demo::next;
use crate::exit::CliError;

/// The default listening port of the agent (the SIP port; QUIC's default is 4433).
const SIP_PORT: u16 = 5060;
const QUIC_PORT: u16 = 4433;

/// Runs the agent until a signal or `--max-duration`.
pub(crate) async fn run(cmd: AgentCommand) -> Result<(), CliError> {
    let settings = Settings::resolve(&cmd.ua, Some(&cmd.agent), |kind| match kind {
        config::NetTransport::Quic => QUIC_PORT,
        _ => SIP_PORT,
    })?;
    let agent = Arc::new(settings.agent.clone());
    #[cfg(feature = "audio-device")]
    let devices = (
        cmd.agent.capture_device.as_deref(),
        cmd.agent.playback_device.as_deref(),
    );
    #[cfg(not(feature = "audio-device"))]
    let devices = (None, None);
    let engine = media::engine(&media::MediaOptions {
        play: agent.play.as_deref(),
        record: agent.record.as_deref(),
        echo: agent.echo,
        announce: true,
        capture_device: devices.0,
        playback_device: devices.1,
        #[cfg(feature = "video-device")]
        video_device: cmd.agent.video_device.as_deref(),
    })?;
    let ua = Ua::start(&settings, engine).await?;
    let mut incoming = ua
        .endpoint
        .session_manager()
        .incoming()
        .map_err(|e| CliError::from_library("incoming sessions", e))?;
    ua.enable(cmd.ua.timeout).await?;
    let registers = settings.account.registrar.is_some()
        && settings.transport.kind != config::NetTransport::Quic;
    let registered = settings
        .account
        .registrar
        .as_deref()
        .filter(|_| registers)
        .map(|r| format!(", registered at {r}"))
        .unwrap_or_default();
    println!(
        "listening {} over {}{registered}",
        ua.endpoint.uri(),
        ua.transport
    );
    if let Some(fp) = &ua.fingerprint {
        println!("certificate sha-256 {fp}");
    }
    let stop = stop_signal(cmd.max_duration);
    tokio::pin!(stop);
    let mut calls = tokio::task::JoinSet::new();
    // Told to every call when the agent stops, so each hangs up instead of vanishing.
    let (stopping, stop_rx) = tokio::sync::watch::channel(false);
    loop {
        tokio::select! {
            why = &mut stop => {
                println!("stopping ({why})");
                break;
            }
            next = incoming.next() => match next {
                Some(session) => {
                    calls.spawn(handle(session, agent.clone(), stop_rx.clone()));
                }
                None => {
                    println!("stopping (the endpoint closed)");
                    break;
                }
            },
        }
    }
    let _ = stopping.send(true);
    let hang_up = async { while calls.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(5), hang_up)
        .await
        .is_err()
    {
        calls.abort_all();
        while calls.join_next().await.is_some() {}
    }
    if registers {
        if let Err(e) = ua.disable(cmd.ua.timeout).await {
            eprintln!("ucc: {e}");
        }
    }
    ua.shutdown().await;
    Ok(())
}

/// Resolves on SIGINT, SIGTERM or after `max`, with what happened.
async fn stop_signal(max: Option<Duration>) -> &'static str {
    let max = async {
        match max {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).ok();
        let term = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => "SIGINT",
            () = term => "SIGTERM",
            () = max => "--max-duration reached",
        }
    }
    #[cfg(not(unix))]
    {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => "Ctrl-C",
            () = max => "--max-duration reached",
        }
    }
}

/// One incoming call or IM session, from invitation to end.
async fn handle(
    mut incoming: IncomingSession,
    agent: Arc<AgentSettings>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let inviter = incoming.inviter().clone();
    let from = inviter.uri().to_string();
    let kind = match incoming.session_type() {
        SessionType::InstantMessaging => "IM session",
        _ => "call",
    };
    println!("incoming {kind} from {from}");
    if agent.busy || !agent.auto_answer {
        let (reason, word) = if agent.busy {
            (Reason::Busy, "busy")
        } else {
            (Reason::Decline, "declined (no --auto-answer)")
        };
        match incoming.reject(reason) {
            Ok(()) => println!("rejected {kind} from {from}: {word}"),
            Err(e) => println!("error rejecting {kind} from {from}: {e}"),
        }
        return;
    }
    let mut from_peer = inviter.events();
    let session = match tokio::time::timeout(Duration::from_secs(10), incoming.accept()).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            println!("error answering {kind} from {from}: {e}");
            return;
        }
        Err(_) => {
            println!("error answering {kind} from {from}: timed out");
            return;
        }
    };
    let mut session_events = session.events();
    println!("answered {kind} from {from}");
    let mut peer_open = true;
    loop {
        tokio::select! {
            e = next(&mut from_peer), if peer_open => match e {
                Some(ParticipantEvent::MessageReceived { content_type, body, .. }) => {
                    let text = String::from_utf8_lossy(&body);
                    println!("message from {from}: {}", one_line(&text));
                    if agent.echo {
                        echo(&session, &from, &content_type, body.to_vec());
                    }
                }
                Some(_) => {}
                // The participant left; the session's end follows.
                None => peer_open = false,
            },
            _ = stop.changed() => {
                let ended = match session.terminate(Reason::NotSpecified, None) {
                    Ok(op) => tokio::time::timeout(Duration::from_secs(3), op).await.is_ok(),
                    Err(_) => false,
                };
                let how = if ended { "hung up" } else { "left" };
                println!("{how} {kind} with {from} (stopping)");
                break;
            }
            e = next(&mut session_events) => match e {
                Some(SessionEvent::Terminated { status }) => {
                    println!("ended {kind} with {from}: {status}");
                    break;
                }
                Some(_) => {}
                None => {
                    println!("ended {kind} with {from}");
                    break;
                }
            },
        }
    }
}

/// Sends `body` back to the session's peer (in the background) and reports the result.
fn echo(session: &session_core::Session, from: &str, content_type: &str, body: Vec<u8>) {
    let from = from.to_owned();
    let sent = session
        .im()
        .and_then(|im| im.send_message(content_type, body, None));
    match sent {
        Ok(op) => {
            tokio::spawn(async move {
                match tokio::time::timeout(Duration::from_secs(10), op).await {
                    Ok(Ok(r)) if r.all_delivered() => println!("echoed to {from}"),
                    Ok(Ok(_)) => println!("error echoing to {from}: not delivered"),
                    Ok(Err(e)) => println!("error echoing to {from}: {e}"),
                    Err(_) => println!("error echoing to {from}: timed out"),
                }
            });
        }
        Err(e) => println!("error echoing to {from}: {e}"),
    }
}

/// Keeps one event per line: control characters become spaces.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
