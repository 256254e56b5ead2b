//! `ucc call`: one audio call, kept up for `--duration`, then hung up.

use std::time::Instant;

use serde::Serialize;
use session_core::events::SessionEvent;
use session_core::{Context, MediaType, Reason, SessionType};

use crate::agent::config::{self, Settings};
use crate::agent::media;
use crate::agent::ua::{Ua, bounded, parse_uri};
use crate::args::CallArgs;
use crate::demo::next;
use crate::exit::CliError;

/// What `ucc call` prints.
#[derive(Debug, Default, Serialize)]
struct CallResult {
    /// Whom we called.
    target: String,
    /// The transport.
    transport: &'static str,
    /// From INVITE to answer.
    setup_ms: f64,
    /// From answer to hang-up.
    duration_ms: f64,
    /// Who hung up: `us` or `peer`.
    ended_by: &'static str,
    /// The negotiated audio codec.
    codec: String,
    /// RTP packets sent and received.
    packets_sent: u64,
    packets_received: u64,
    /// The WAV file of the received audio (`--record`).
    #[serde(skip_serializing_if = "Option::is_none")]
    recorded: Option<String>,
}

/// Calls, waits, hangs up, prints the result.
pub(crate) async fn run(args: CallArgs) -> Result<(), CliError> {
    let settings = Settings::resolve(&args.ua, None, config::any_port)?;
    let target = parse_uri("callee", &args.target)?;
    let timeout = args.ua.timeout;
    let ua = Ua::start(
        &settings,
        media::engine(&media::MediaOptions {
            play: args.play.as_deref(),
            record: args.record.as_deref(),
            ..media::MediaOptions::default()
        })?,
    )
    .await?;
    ua.enable(timeout).await?;
    let session = ua
        .endpoint
        .session_manager()
        .create_session(SessionType::AudioVideo, Context::new())
        .map_err(|e| CliError::from_library("call", e))?;
    let peer = session
        .create_participant(target.clone(), Context::new())
        .map_err(|e| CliError::from_library("call", e))?;
    let av = peer.av().map_err(|e| CliError::from_library("call", e))?;
    av.add_channel(&av.create_channel(MediaType::Audio))
        .map_err(|e| CliError::from_library("call", e))?;
    let mut events = session.events();
    let started = Instant::now();
    let invite = session
        .add_participant(&peer, None)
        .map_err(|e| CliError::from_library("call", e))?;
    let outcome = bounded("call", timeout, invite).await;
    if let Err(e) = outcome {
        // Give up on the attempt (CANCEL) before reporting, without waiting long.
        if let Ok(end) = session.terminate(Reason::NotSpecified, None) {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), end).await;
        }
        return Err(e);
    }
    let mut result = CallResult {
        target: target.to_string(),
        transport: ua.transport,
        setup_ms: ms(started),
        ended_by: "us",
        ..CallResult::default()
    };
    let up = Instant::now();
    let peer_hung_up = tokio::time::timeout(args.duration, async {
        while let Some(e) = next(&mut events).await {
            if matches!(e, SessionEvent::Terminated { .. }) {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    for s in ua.monitor.streams() {
        if s.media_type == MediaType::Audio {
            result.packets_sent += s.counters.stats.packets_sent;
            result.packets_received += s.counters.stats.packets_received;
            if let Some(n) = &s.negotiated {
                result.codec = n.codec.name.to_string();
            }
        }
    }
    result.duration_ms = ms(up);
    if peer_hung_up {
        result.ended_by = "peer";
    } else {
        let end = session
            .terminate(Reason::NotSpecified, None)
            .map_err(|e| CliError::from_library("hang up", e))?;
        bounded("hang up", timeout, end).await?;
    }
    if let Some(dir) = &args.record {
        result.recorded = recorded(dir, timeout).await;
    }
    if settings.account.registrar.is_some() {
        ua.disable(timeout).await?;
    }
    ua.shutdown().await;
    if args.json {
        let json = serde_json::to_string(&result)
            .map_err(|e| CliError::Internal(format!("result as JSON: {e}")))?;
        println!("{json}");
    } else {
        println!(
            "call to {} over {}: answered in {:.0} ms, up {:.1} s, {} audio, {} packets sent, {} received, hung up by {}",
            result.target,
            result.transport,
            result.setup_ms,
            result.duration_ms / 1000.0,
            if result.codec.is_empty() {
                "no"
            } else {
                &result.codec
            },
            result.packets_sent,
            result.packets_received,
            result.ended_by
        );
        if let Some(path) = &result.recorded {
            println!("recorded {path}");
        }
    }
    Ok(())
}

/// Waits (bounded) for the recording of the call that just ended: the engine writes it
/// when the receiving stream closes, just after the hang-up.
async fn recorded(dir: &std::path::Path, timeout: std::time::Duration) -> Option<String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(p) = media::recordings(dir).pop() {
            return Some(p.display().to_string());
        }
        if Instant::now() > deadline {
            tracing::warn!("--record: no audio was received");
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}
