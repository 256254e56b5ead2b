//! The call part of the demo: audio call, hold, resume, video added and removed, hang-up.

use std::time::{Duration, Instant};

use session_core::events::{ParticipantEvent, SessionEvent};
use session_core::{Context, MediaChannel, MediaDirection, MediaType, Reason, SessionType};

use super::{Progress, ms, next, step, within};
use crate::exit::CliError;
use crate::stack::Stack;
use crate::summary::{CallSummary, MediaSummary};

/// Alice calls bob with audio, holds, resumes, adds and removes video, and hangs up.
pub(crate) async fn run(
    stack: &mut Stack,
    bob_incoming: &mut session_core::endpoint::IncomingSessions,
    duration: Duration,
    progress: &Progress,
) -> Result<(CallSummary, MediaSummary), CliError> {
    let mut summary = CallSummary::default();
    progress.say("call: alice calls bob");
    let session = stack
        .alice
        .session_manager()
        .create_session(SessionType::AudioVideo, Context::new())
        .map_err(|e| CliError::from_library("create call", e))?;
    let bob = session
        .create_participant(stack.bob_uri.clone(), Context::new())
        .map_err(|e| CliError::from_library("call participant", e))?;
    let alice_av = bob
        .av()
        .map_err(|e| CliError::from_library("A/V facet", e))?;
    let audio = alice_av.create_channel(MediaType::Audio);
    alice_av
        .add_channel(&audio)
        .map_err(|e| CliError::from_library("add audio", e))?;
    let started = Instant::now();
    let invite = session
        .add_participant(&bob, None)
        .map_err(|e| CliError::from_library("call bob", e))?;
    let mut incoming = within("bob receives the call", bob_incoming.next())
        .await?
        .ok_or(CliError::Internal("bob's incoming stream ended".into()))?;
    let alice_at_bob = incoming.inviter().clone();
    let mut at_bob = alice_at_bob.events();
    let bob_session = step("bob answers", incoming.accept()).await?;
    let mut bob_session_events = bob_session.events();
    step("call setup", invite).await?;
    summary.setup_ms = ms(started.elapsed());
    let bob_av = alice_at_bob
        .av()
        .map_err(|e| CliError::from_library("bob's A/V facet", e))?;
    let bob_audio = bob_av
        .channels()
        .into_iter()
        .find(|c| c.media_type() == MediaType::Audio)
        .ok_or(CliError::Internal("bob has no audio channel".into()))?;

    let up = Instant::now();
    let half = duration / 2;
    talk(progress, "call up", up, half).await;

    progress.say("call: alice holds");
    audio.set_preferred_media(MediaDirection::SEND);
    step("hold", update(&alice_av)?).await?;
    summary.hold = audio.negotiated_media() == MediaDirection::SEND
        && settled(&bob_audio, MediaDirection::RECEIVE).await;
    progress.say("call: alice resumes");
    audio.set_preferred_media(MediaDirection::BOTH);
    step("resume", update(&alice_av)?).await?;
    summary.resume = audio.negotiated_media() == MediaDirection::BOTH
        && settled(&bob_audio, MediaDirection::BOTH).await;

    progress.say("call: alice adds video");
    let video = alice_av.create_channel(MediaType::Video);
    alice_av
        .add_channel(&video)
        .map_err(|e| CliError::from_library("add video", e))?;
    step("add video", update(&alice_av)?).await?;
    let bob_video = within("bob sees video", async {
        while let Some(e) = next(&mut at_bob).await {
            if let ParticipantEvent::ChannelAdded { channel } = e {
                if channel.media_type() == MediaType::Video {
                    return Some(channel);
                }
            }
        }
        None
    })
    .await?;
    summary.video_added = video.negotiated_media() == MediaDirection::BOTH
        && bob_video.is_some_and(|v| v.negotiated_media() == MediaDirection::BOTH);
    talk(progress, "call up with video", up, duration).await;

    let mut kept = super::media::Snapshots::default();
    kept.keep(&stack.alice_media, &stack.bob_media);
    progress.say("call: alice removes video");
    alice_av
        .remove_channel(&video)
        .map_err(|e| CliError::from_library("remove video", e))?;
    step("remove video", update(&alice_av)?).await?;
    summary.video_removed = within("bob sees video removed", async {
        while let Some(e) = next(&mut at_bob).await {
            if let ParticipantEvent::ChannelRemoved { channel } = e {
                if channel.media_type() == MediaType::Video {
                    return true;
                }
            }
        }
        false
    })
    .await?;
    summary.duration_ms = ms(up.elapsed());
    let media = super::media::summarize(
        &stack.alice_media,
        &stack.bob_media,
        &kept,
        &stack.bob_taps,
        up.elapsed().as_secs_f64(),
    );

    progress.say("call: alice hangs up");
    let end = session
        .terminate(Reason::NotSpecified, None)
        .map_err(|e| CliError::from_library("hang up", e))?;
    step("hang up", end).await?;
    summary.hangup_seen = within("bob sees the hang-up", async {
        while let Some(e) = next(&mut bob_session_events).await {
            if matches!(e, SessionEvent::Terminated { .. }) {
                return true;
            }
        }
        false
    })
    .await?;
    Ok((summary, media))
}

fn update(
    av: &session_core::session::AvParticipant,
) -> Result<session_core::Operation<()>, CliError> {
    av.update_channels(None)
        .map_err(|e| CliError::from_library("update channels", e))
}

/// Waits (briefly) for bob's side of a renegotiation to show `want`.
async fn settled(channel: &MediaChannel, want: MediaDirection) -> bool {
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        if channel.negotiated_media() == want {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    channel.negotiated_media() == want
}

/// Keeps the call up until `until` after `up`, refreshing the status line.
async fn talk(progress: &Progress, what: &str, up: Instant, until: Duration) {
    while up.elapsed() < until {
        progress.say(&format!("{what}: {:.1} s", up.elapsed().as_secs_f64()));
        let left = until.saturating_sub(up.elapsed());
        tokio::time::sleep(left.min(Duration::from_millis(200))).await;
    }
}
