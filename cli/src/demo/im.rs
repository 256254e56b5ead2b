//! The instant-messaging part of the demo.

use std::time::Instant;

use session_core::events::ParticipantEvent;
use session_core::{Context, SessionType};

use session_core::dispatch::RecvError;

use super::{Progress, ms, next, step, within};
use crate::exit::CliError;
use crate::stack::Stack;
use crate::summary::ImSummary;

/// Alice opens an IM session with bob, composes, sends `count` messages, bob replies.
pub(crate) async fn run(
    stack: &mut Stack,
    bob_incoming: &mut session_core::endpoint::IncomingSessions,
    count: u32,
    progress: &Progress,
) -> Result<ImSummary, CliError> {
    let mut summary = ImSummary::default();
    progress.say("IM: alice invites bob");
    let session = stack
        .alice
        .session_manager()
        .create_session(SessionType::InstantMessaging, Context::new())
        .map_err(|e| CliError::from_library("create IM session", e))?;
    let bob = session
        .create_participant(stack.bob_uri.clone(), Context::new())
        .map_err(|e| CliError::from_library("IM participant", e))?;
    let mut at_alice = bob.events();
    let started = Instant::now();
    let invite = session
        .add_participant(&bob, None)
        .map_err(|e| CliError::from_library("invite bob to IM", e))?;
    let mut incoming = within("bob receives the IM invitation", bob_incoming.next())
        .await?
        .ok_or(CliError::Internal("bob's incoming stream ended".into()))?;
    let alice_at_bob = incoming.inviter().clone();
    let mut at_bob = alice_at_bob.events();
    let bob_session = step("bob accepts IM", incoming.accept()).await?;
    step("IM invitation", invite).await?;
    summary.setup_ms = ms(started.elapsed());

    let im = session
        .im()
        .map_err(|e| CliError::from_library("IM facet", e))?;
    im.start_composing()
        .map_err(|e| CliError::from_library("composing", e))?;
    summary.composing_seen = within("bob sees composing", async {
        while let Some(e) = next(&mut at_bob).await {
            if matches!(e, ParticipantEvent::Composing) {
                return true;
            }
        }
        false
    })
    .await?;

    progress.say(&format!("IM: alice sends {count} messages"));
    let mut sends = Vec::new();
    for i in 0..count {
        sends.push(
            im.send_message("text/plain; charset=UTF-8", text(i), None)
                .map_err(|e| CliError::from_library("send message", e))?,
        );
    }
    summary.sent = count;
    let mut index = 0u32;
    within("bob receives the messages", async {
        while index < count {
            match at_bob.recv().await {
                Ok(ParticipantEvent::MessageReceived { body, .. }) => {
                    if body == text(index).as_bytes() {
                        summary.received_in_order += 1;
                    }
                    index += 1;
                }
                Ok(ParticipantEvent::Idle) => summary.idle_seen = true,
                Ok(_) => {}
                // Events this subscriber fell behind on are messages bob did not see.
                Err(RecvError::Lagged(lost)) => {
                    index = index.saturating_add(u32::try_from(lost).unwrap_or(u32::MAX));
                }
                Err(RecvError::Closed) => break,
            }
        }
    })
    .await?;
    for op in sends {
        if step("message delivery", op).await?.all_delivered() {
            summary.delivered += 1;
        }
    }
    if !summary.idle_seen {
        summary.idle_seen = within("bob sees alice idle", async {
            while let Some(e) = next(&mut at_bob).await {
                if matches!(e, ParticipantEvent::Idle) {
                    return true;
                }
            }
            false
        })
        .await?;
    }

    let reply = format!("bob got {} messages", summary.received_in_order);
    let bob_im = bob_session
        .im()
        .map_err(|e| CliError::from_library("bob's IM facet", e))?;
    let op = bob_im
        .send_message("text/plain; charset=UTF-8", reply.clone(), None)
        .map_err(|e| CliError::from_library("bob replies", e))?;
    step("bob's reply", op).await?;
    summary.reply_received = within("alice receives the reply", async {
        while let Some(e) = next(&mut at_alice).await {
            if let ParticipantEvent::MessageReceived { body, .. } = e {
                return body == reply.as_bytes();
            }
        }
        false
    })
    .await?;
    let end = session
        .terminate(session_core::Reason::NotSpecified, None)
        .map_err(|e| CliError::from_library("end IM session", e))?;
    step("end IM session", end).await?;
    Ok(summary)
}

/// The `i`th message: UTF-8 on purpose.
fn text(i: u32) -> String {
    format!("message {i} — héllo ✓")
}
