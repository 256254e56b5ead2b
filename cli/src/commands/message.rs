//! `ucc message`: one instant message, delivered or not.

use std::time::Instant;

use session_core::events::ParticipantEvent;
use session_core::{Context, Reason, SessionType};

use crate::agent::config::{self, Settings};
use crate::agent::media;
use crate::agent::ua::{Ua, bounded, parse_uri};
use crate::args::MessageArgs;
use crate::demo::next;
use crate::exit::CliError;

/// Sends the message; exit 0 on a 2xx, else the code of the failure.
pub(crate) async fn run(args: MessageArgs) -> Result<(), CliError> {
    let settings = Settings::resolve(&args.ua, None, config::any_port)?;
    let target = parse_uri("recipient", &args.target)?;
    let timeout = args.ua.timeout;
    let ua = Ua::start(&settings, media::engine(&media::MediaOptions::default())?).await?;
    ua.enable(timeout).await?;
    let started = Instant::now();
    let session = ua
        .endpoint
        .session_manager()
        .create_session(SessionType::InstantMessaging, Context::new())
        .map_err(|e| CliError::from_library("message", e))?;
    let peer = session
        .create_participant(target.clone(), Context::new())
        .map_err(|e| CliError::from_library("message", e))?;
    let mut from_peer = peer.events();
    let invite = session
        .add_participant(&peer, None)
        .map_err(|e| CliError::from_library("message", e))?;
    bounded("message", timeout, invite).await?;
    let im = session
        .im()
        .map_err(|e| CliError::from_library("message", e))?;
    let op = im
        .send_message("text/plain; charset=UTF-8", args.text.clone(), None)
        .map_err(|e| CliError::from_library("message", e))?;
    let report = bounded("message", timeout, op).await?;
    if let Some(failed) = report.results.iter().find(|r| !r.status.code.is_success()) {
        let error = session_core::Error::Failed {
            action: "message",
            status: failed.status.clone(),
            source: None,
        };
        return Err(CliError::from_library("message", error));
    }
    println!(
        "delivered to {target} in {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    if let Some(wait) = args.wait_reply {
        let _ = tokio::time::timeout(wait, async {
            while let Some(e) = next(&mut from_peer).await {
                if let ParticipantEvent::MessageReceived { body, .. } = e {
                    println!("reply: {}", String::from_utf8_lossy(&body));
                    // Our 200 to the reply goes out after this event: let it leave
                    // before the hang-up ends the dialog.
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    break;
                }
            }
        })
        .await;
    }
    if let Ok(end) = session.terminate(Reason::NotSpecified, None) {
        let _ = tokio::time::timeout(timeout, end).await;
    }
    if settings.account.registrar.is_some() {
        ua.disable(timeout).await?;
    }
    ua.shutdown().await;
    Ok(())
}
