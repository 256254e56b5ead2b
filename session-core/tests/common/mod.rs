//! A signaling transport the test drives by hand: it hands the test the inbound
//! channel session-core attached, answers every command at once, and records hang-ups.

#![allow(dead_code, unreachable_pub)] // each test file uses part of this module
#![allow(clippy::unwrap_used)] // test support: a failed unwrap is a failed test

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use session_core::Scheme;
use session_core::contract::signaling::{
    Answer, ComposingState, Inbound, Invite, LegId, LocalIdentity, Message, Progress,
    SignalingEndpoint, SignalingTransport,
};
use session_core::description::SessionDescription;
use session_core::error::SignalingError;
use session_core::status::Reason;
use tokio::sync::mpsc;

/// A transport whose inbound channel the test drives; it records hang-ups.
#[derive(Debug, Default, Clone)]
pub struct Scripted {
    pub inbound: Arc<Mutex<Option<mpsc::Sender<Inbound>>>>,
    pub terminated: Arc<Mutex<Vec<(LegId, Reason)>>>,
}

#[derive(Debug)]
pub struct ScriptedEndpoint(Scripted);

#[async_trait]
impl SignalingTransport for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }
    fn schemes(&self) -> &[Scheme] {
        &[Scheme::Sip]
    }
    async fn attach(
        &self,
        _identity: LocalIdentity,
        inbound: mpsc::Sender<Inbound>,
    ) -> Result<Arc<dyn SignalingEndpoint>, SignalingError> {
        *self.inbound.lock().unwrap() = Some(inbound);
        Ok(Arc::new(ScriptedEndpoint(self.clone())))
    }
}

#[async_trait]
impl SignalingEndpoint for ScriptedEndpoint {
    async fn register(&self) -> Result<(), SignalingError> {
        Ok(())
    }
    async fn unregister(&self) -> Result<(), SignalingError> {
        Ok(())
    }
    async fn invite(&self, _leg: LegId, _invite: Invite) -> Result<Answer, SignalingError> {
        Ok(Answer::default())
    }
    async fn cancel(&self, _leg: LegId) -> Result<(), SignalingError> {
        Ok(())
    }
    async fn progress(&self, _leg: LegId, _p: Progress) -> Result<(), SignalingError> {
        Ok(())
    }
    async fn update(
        &self,
        _leg: LegId,
        offer: SessionDescription,
    ) -> Result<SessionDescription, SignalingError> {
        Ok(offer)
    }
    async fn message(&self, _leg: LegId, _m: Message) -> Result<(), SignalingError> {
        Ok(())
    }
    async fn composing(&self, _leg: LegId, _s: ComposingState) -> Result<(), SignalingError> {
        Ok(())
    }
    async fn terminate(&self, leg: LegId, reason: Reason) -> Result<(), SignalingError> {
        self.0.terminated.lock().unwrap().push((leg, reason));
        Ok(())
    }
    async fn shutdown(&self) {}
}
