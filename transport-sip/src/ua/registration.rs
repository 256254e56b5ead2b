//! Registration (RFC 3261 §10): REGISTER with an expiry, refreshed at half the granted
//! interval, removed with `Expires: 0`; digest challenges (RFC 2617, RFC 7616) answered
//! from the endpoint's credentials.

use std::time::{Duration, Instant};

use rand::Rng;
use session_core::error::SignalingError;
use session_core::status::{Status, StatusCode};
use tracing::{debug, info};

use super::body;
use super::leg::{Done, EndpointId};
use super::stack::{Purpose, Stack};
use crate::Response;
use crate::auth::{ChallengeOutcome, Credentials};
use crate::header::Header;

/// Most digest retries for one REGISTER before giving up (a server that keeps
/// challenging would otherwise loop).
const MAX_AUTH_RETRIES: u32 = 3;

/// How long to wait before trying again after a refresh failed.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

/// One endpoint's binding at the registrar.
#[derive(Debug)]
pub(crate) struct Registration {
    call_id: String,
    local_tag: String,
    cseq: u32,
    /// Seconds asked for (0 while unregistering).
    expires: u32,
    /// When to refresh.
    pub(crate) refresh_at: Option<Instant>,
    /// Completions of `register`/`unregister` calls waiting for the outcome.
    waiting: Vec<Done<()>>,
    auth_retries: u32,
    pub(crate) registered: bool,
}

impl Stack {
    /// `register`: sends REGISTER (or completes at once without a registrar).
    pub(crate) async fn register(&mut self, ep: EndpointId, done: Done<()>, now: Instant) {
        self.start_registration(ep, self.config.register_expires, done, now)
            .await;
    }

    /// `unregister`: REGISTER with `Expires: 0` if registered.
    pub(crate) async fn unregister(&mut self, ep: EndpointId, done: Done<()>, now: Instant) {
        let registered = self
            .endpoints
            .get(&ep)
            .and_then(|a| a.registration.as_ref())
            .is_some_and(|r| r.registered);
        if !registered {
            let _ = done.send(Ok(()));
            return;
        }
        self.start_registration(ep, 0, done, now).await;
    }

    async fn start_registration(
        &mut self,
        ep: EndpointId,
        expires: u32,
        done: Done<()>,
        now: Instant,
    ) {
        if self.config.registrar.is_none() {
            let _ = done.send(Ok(()));
            return;
        }
        let call_id = format!("{:032x}@{}", self.rng.random::<u128>(), self.local.ip());
        let local_tag = self.txn.new_tag();
        let Some(attached) = self.endpoints.get_mut(&ep) else {
            let _ = done.send(Err(SignalingError::closed()));
            return;
        };
        let reg = attached.registration.get_or_insert_with(|| Registration {
            call_id,
            local_tag,
            cseq: 0,
            expires,
            refresh_at: None,
            waiting: Vec::new(),
            auth_retries: 0,
            registered: false,
        });
        reg.expires = expires;
        reg.auth_retries = 0;
        reg.waiting.push(done);
        self.send_register(ep, now).await;
    }

    /// Builds and sends the endpoint's next REGISTER, with credentials when challenged.
    async fn send_register(&mut self, ep: EndpointId, now: Instant) {
        let Some(registrar) = self.config.registrar.clone() else {
            return;
        };
        let via = self.via();
        let contact = self.contact(ep);
        let ua = self.config.user_agent.clone();
        let route = self.proxy_route();
        let first_hop = self
            .config
            .outbound_proxy
            .clone()
            .unwrap_or_else(|| registrar.clone());
        let Some(attached) = self.endpoints.get_mut(&ep) else {
            return;
        };
        let aor = attached.identity.uri.to_string();
        let Some(reg) = attached.registration.as_mut() else {
            return;
        };
        reg.cseq += 1;
        let head = format!(
            "REGISTER {registrar} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\n\
             From: <{aor}>;tag={tag}\r\nTo: <{aor}>\r\nCall-ID: {cid}\r\n\
             CSeq: {cseq} REGISTER\r\nContact: {contact}\r\nExpires: {expires}\r\n\
             User-Agent: {ua}\r\n{route}",
            tag = reg.local_tag,
            cid = reg.call_id,
            cseq = reg.cseq,
            expires = reg.expires,
        );
        let mut request = match body::request(head, "", bytes::Bytes::new()) {
            Ok(r) => r,
            Err(e) => {
                self.finish_registration(ep, Err(super::uac::bad_request(&e)));
                return;
            }
        };
        // Answer the challenges already known (RFC 3261 §22.3); none known is no error.
        let _ = attached.digest.authorize(&mut request, &mut self.rng);
        let peer = match self.peer_for(&first_hop).await {
            Ok(p) => p,
            Err(e) => {
                self.finish_registration(ep, Err(e));
                return;
            }
        };
        match self.txn.start_client(request, peer, now) {
            Ok(key) => {
                self.purposes.insert(key, Purpose::Register(ep));
            }
            Err(e) => self.finish_registration(
                ep,
                Err(SignalingError::rejected(Status::with_text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    e.to_string(),
                ))),
            ),
        }
    }

    /// A final response to REGISTER.
    pub(crate) async fn on_register_response(
        &mut self,
        ep: EndpointId,
        response: Response,
        now: Instant,
    ) {
        let code = response.status().as_u16();
        if code < 200 {
            return;
        }
        if code == 401 || code == 407 {
            self.on_register_challenge(ep, &response, now).await;
            return;
        }
        if code == 423 {
            // Interval Too Brief: ask again with the registrar's minimum.
            let min = min_expires(&response);
            if let (Some(min), Some(reg)) = (
                min,
                self.endpoints
                    .get_mut(&ep)
                    .and_then(|a| a.registration.as_mut()),
            ) {
                if min > reg.expires && reg.expires != 0 {
                    reg.expires = min;
                    self.send_register(ep, now).await;
                    return;
                }
            }
        }
        if code >= 300 {
            let error = super::uac::rejected(&response);
            self.registration_failed(ep, error, now);
            return;
        }
        let contact = self.contact(ep);
        let Some(reg) = self
            .endpoints
            .get_mut(&ep)
            .and_then(|a| a.registration.as_mut())
        else {
            return;
        };
        reg.auth_retries = 0;
        if reg.expires == 0 {
            info!("unregistered");
            reg.registered = false;
            reg.refresh_at = None;
        } else {
            let granted = granted_expiry(&response, &contact).unwrap_or(reg.expires);
            info!(granted, "registered");
            reg.registered = true;
            reg.refresh_at = Some(now + refresh_interval(granted));
        }
        self.finish_registration(ep, Ok(()));
    }

    async fn on_register_challenge(&mut self, ep: EndpointId, response: &Response, now: Instant) {
        let Some(attached) = self.endpoints.get_mut(&ep) else {
            return;
        };
        let outcome = attached.digest.handle_challenges(response);
        let error = |text: String| {
            SignalingError::rejected(Status::with_text(
                StatusCode::new(response.status().as_u16()).unwrap_or(StatusCode::UNAUTHORIZED),
                text,
            ))
        };
        let retry = match outcome {
            Ok(ChallengeOutcome::Retry) => Ok(()),
            Ok(ChallengeOutcome::NeedCredentials { realms }) => {
                let mut missing = Vec::new();
                for realm in realms {
                    match attached.identity.credentials.get(&realm) {
                        Some(c) => attached
                            .digest
                            .store_mut()
                            .insert(&realm, Credentials::new(&c.user, &c.password)),
                        None => missing.push(realm),
                    }
                }
                if missing.is_empty() {
                    Ok(())
                } else {
                    Err(error(format!(
                        "no credentials for realm {}",
                        missing.join(", ")
                    )))
                }
            }
            Ok(ChallengeOutcome::Rejected { realms }) => Err(error(format!(
                "credentials refused for realm {}",
                realms.join(", ")
            ))),
            Err(e) => Err(error(e.to_string())),
        };
        let Some(reg) = attached.registration.as_mut() else {
            return;
        };
        reg.auth_retries += 1;
        match retry {
            Ok(()) if reg.auth_retries <= MAX_AUTH_RETRIES => self.send_register(ep, now).await,
            Ok(()) => self.registration_failed(ep, error("too many challenges".to_owned()), now),
            Err(e) => self.registration_failed(ep, e, now),
        }
    }

    /// A REGISTER failed (error response, timeout, transport error).
    pub(crate) fn registration_failed(
        &mut self,
        ep: EndpointId,
        error: SignalingError,
        now: Instant,
    ) {
        debug!(%error, "registration failed");
        if let Some(reg) = self
            .endpoints
            .get_mut(&ep)
            .and_then(|a| a.registration.as_mut())
        {
            // A binding that was up is retried later; a first attempt reports the error.
            if reg.registered && reg.expires != 0 {
                reg.refresh_at = Some(now + RETRY_AFTER_FAILURE);
            } else {
                reg.registered = false;
                reg.refresh_at = None;
            }
        }
        self.finish_registration(ep, Err(error));
    }

    fn finish_registration(&mut self, ep: EndpointId, result: Result<(), SignalingError>) {
        let Some(reg) = self
            .endpoints
            .get_mut(&ep)
            .and_then(|a| a.registration.as_mut())
        else {
            return;
        };
        for done in reg.waiting.drain(..) {
            let copy = match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(SignalingError::new(e.kind, e.status.clone())),
            };
            let _ = done.send(copy);
        }
    }

    /// Refreshes every binding whose time has come.
    pub(crate) async fn refresh_registrations(&mut self, now: Instant) {
        let due: Vec<EndpointId> = self
            .endpoints
            .iter()
            .filter(|(_, a)| {
                a.registration
                    .as_ref()
                    .and_then(|r| r.refresh_at)
                    .is_some_and(|at| at <= now)
            })
            .map(|(id, _)| *id)
            .collect();
        for ep in due {
            if let Some(reg) = self
                .endpoints
                .get_mut(&ep)
                .and_then(|a| a.registration.as_mut())
            {
                reg.refresh_at = None;
                reg.auth_retries = 0;
            }
            debug!(ep, "refreshing registration");
            self.send_register(ep, now).await;
        }
    }

    /// The earliest registration refresh.
    pub(crate) fn next_refresh(&self) -> Option<Instant> {
        self.endpoints
            .values()
            .filter_map(|a| a.registration.as_ref()?.refresh_at)
            .min()
    }
}

/// When to refresh a binding granted for `seconds`: at half its life (at least 1 s),
/// well before it lapses.
fn refresh_interval(seconds: u32) -> Duration {
    Duration::from_secs(u64::from(seconds / 2).max(1))
}

/// The expiry the registrar granted our Contact: its `expires` parameter in the 2xx
/// Contact list, else the Expires header (RFC 3261 §10.2.4).
fn granted_expiry(response: &Response, our_contact: &str) -> Option<u32> {
    let ours = our_contact
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(uri, _)| uri.to_owned());
    let from_contact = response.contacts().find_map(|c| {
        let a = c.address()?;
        let uri = a.uri().to_string();
        (Some(&uri) == ours.as_ref()).then(|| a.expires()).flatten()
    });
    from_contact.or_else(|| {
        response.headers().iter().find_map(|h| match h {
            Header::Expires(e) => Some(e.0),
            _ => None,
        })
    })
}

/// The Min-Expires of a 423 response.
fn min_expires(response: &Response) -> Option<u32> {
    response
        .headers()
        .values(&crate::HeaderName::from_token(b"Min-Expires"))
        .next()
        .and_then(|v| std::str::from_utf8(&v).ok()?.trim().parse().ok())
}
