//! [`DigestClient`]: answers 401/407 challenges (RFC 3261 §22.2, §22.3).

use std::collections::HashMap;
use std::fmt;

use super::digest::{
    AuthTarget, Challenge, DigestError, DigestParams, Qop, compute_response, quote,
};
use crate::header::{Auth, Header, HeaderName};
use crate::message::{Method, Request, Response};
use crate::uri::Uri;

/// A user name and password. `Debug` does not show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    username: String,
    password: String,
}

impl Credentials {
    /// Credentials for `username`.
    pub fn new(username: &str, password: &str) -> Credentials {
        Credentials {
            username: username.to_owned(),
            password: password.to_owned(),
        }
    }

    /// The user name.
    pub fn username(&self) -> &str {
        &self.username
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Credentials keyed by realm, with an optional default for any realm.
#[derive(Debug, Clone, Default)]
pub struct CredentialStore {
    by_realm: HashMap<String, Credentials>,
    default: Option<Credentials>,
}

impl CredentialStore {
    /// An empty store.
    pub fn new() -> CredentialStore {
        CredentialStore::default()
    }

    /// Sets the credentials for `realm` (compared exactly, RFC 7616 §3.3).
    pub fn insert(&mut self, realm: &str, credentials: Credentials) {
        self.by_realm.insert(realm.to_owned(), credentials);
    }

    /// Sets credentials for any realm without its own. Any server that challenges then
    /// receives a digest of them.
    pub fn set_default(&mut self, credentials: Credentials) {
        self.default = Some(credentials);
    }

    /// Removes the credentials of `realm`.
    pub fn remove(&mut self, realm: &str) -> Option<Credentials> {
        self.by_realm.remove(realm)
    }

    /// The credentials for `realm`.
    pub fn get(&self, realm: &str) -> Option<&Credentials> {
        self.by_realm.get(realm).or(self.default.as_ref())
    }
}

/// What the client should do after a 401 or 407.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChallengeOutcome {
    /// Resend the request (new CSeq, same Call-ID) after [`DigestClient::authorize`].
    Retry,
    /// Credentials are needed for these realms: add them to the store, then retry.
    NeedCredentials {
        /// The realms without credentials.
        realms: Vec<String>,
    },
    /// The server challenged again, without `stale=true`, after credentials were sent
    /// for the realm: they are wrong. Retrying with the same ones would loop; change
    /// them in the store to try again, or give up.
    Rejected {
        /// The realms that refused the credentials.
        realms: Vec<String>,
    },
}

/// Most realms a client remembers challenges for.
pub const MAX_REALMS: usize = 16;

#[derive(Debug, Clone)]
struct RealmState {
    challenge: Challenge,
    /// Requests sent with this nonce (the next `nc` is this plus one).
    nc: u32,
}

/// A digest client: the challenges received, per realm, and the credentials to answer
/// them. One per registration or call is typical; it can also serve a whole user agent.
#[derive(Debug, Clone, Default)]
pub struct DigestClient {
    store: CredentialStore,
    realms: Vec<RealmState>,
}

impl DigestClient {
    /// A client with these credentials.
    pub fn new(store: CredentialStore) -> DigestClient {
        DigestClient {
            store,
            realms: Vec::new(),
        }
    }

    /// The credential store.
    pub fn store(&self) -> &CredentialStore {
        &self.store
    }

    /// The credential store, to add or change credentials.
    pub fn store_mut(&mut self) -> &mut CredentialStore {
        &mut self.store
    }

    /// The current challenge of `realm` for `target`.
    pub fn challenge(&self, target: AuthTarget, realm: &str) -> Option<&Challenge> {
        self.state(target, realm).map(|s| &s.challenge)
    }

    fn state(&self, target: AuthTarget, realm: &str) -> Option<&RealmState> {
        self.realms
            .iter()
            .find(|s| s.challenge.target == target && s.challenge.realm == realm)
    }

    /// Takes the challenges of a 401 or 407 (every WWW-Authenticate and
    /// Proxy-Authenticate, RFC 3261 §22.3) and says what to do.
    ///
    /// Challenges this client cannot answer (other schemes, unknown algorithms) are
    /// skipped; when one realm offers several algorithms the strongest wins (RFC 7616
    /// §3.7).
    pub fn handle_challenges(
        &mut self,
        response: &Response,
    ) -> Result<ChallengeOutcome, DigestError> {
        // The best challenge per (target, realm) in this response.
        let mut fresh: Vec<Challenge> = Vec::new();
        for h in response.headers() {
            let Some(parsed) = Challenge::from_header(h) else {
                continue;
            };
            let c = match parsed {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!(error = %e, "digest challenge skipped");
                    continue;
                }
            };
            match fresh
                .iter_mut()
                .find(|f| f.target == c.target && f.realm == c.realm)
            {
                Some(f) if c.algorithm.strength() > f.algorithm.strength() => *f = c,
                Some(_) => {}
                None => fresh.push(c),
            }
        }
        if fresh.is_empty() {
            return Err(DigestError::NoChallenge);
        }
        let mut rejected = Vec::new();
        let mut missing = Vec::new();
        for c in fresh {
            let realm = c.realm.clone();
            match self
                .realms
                .iter_mut()
                .find(|s| s.challenge.target == c.target && s.challenge.realm == c.realm)
            {
                Some(s) => {
                    // Challenged again, without stale, right after the first answer to a
                    // nonce: the credentials were refused. A nonce reused for several
                    // requests (nc > 1) may simply have expired at a server that does not
                    // set stale, so that case retries once (and lands here with nc = 1
                    // if it fails again).
                    if s.nc == 1 && !c.stale {
                        tracing::debug!(realm = %realm, "digest credentials refused");
                        rejected.push(realm.clone());
                    }
                    *s = RealmState {
                        challenge: c,
                        nc: 0,
                    };
                }
                None => {
                    if self.realms.len() >= MAX_REALMS {
                        // Bounded against servers inventing realms: forget the oldest.
                        self.realms.remove(0);
                    }
                    self.realms.push(RealmState {
                        challenge: c,
                        nc: 0,
                    });
                }
            }
            if self.store.get(&realm).is_none() {
                missing.push(realm);
            }
        }
        Ok(if !rejected.is_empty() {
            ChallengeOutcome::Rejected { realms: rejected }
        } else if !missing.is_empty() {
            ChallengeOutcome::NeedCredentials { realms: missing }
        } else {
            ChallengeOutcome::Retry
        })
    }

    /// Replaces the request's Authorization and Proxy-Authorization headers with one per
    /// known realm that has credentials, each with the next nonce count.
    ///
    /// Realms without credentials are skipped; it is an error only if none remains.
    pub fn authorize(
        &mut self,
        request: &mut Request,
        rng: &mut impl rand::RngCore,
    ) -> Result<(), DigestError> {
        let method = request.method().clone();
        let uri = request.uri().as_bytes().to_vec();
        let body = request.body().clone();
        let mut built = Vec::new();
        for i in 0..self.realms.len() {
            let Some(s) = self.realms.get(i) else { break };
            let realm = s.challenge.realm.clone();
            if self.store.get(&realm).is_none() {
                continue;
            }
            let target = s.challenge.target;
            let cnonce = cnonce(rng);
            built.push(self.build(target, &realm, &method, &uri, &body, &cnonce)?);
        }
        if built.is_empty() {
            return Err(match self.realms.first() {
                Some(s) => DigestError::NoCredentials(s.challenge.realm.clone()),
                None => DigestError::NoChallenge,
            });
        }
        let headers = request.headers_mut();
        headers.remove_all(&HeaderName::Authorization);
        headers.remove_all(&HeaderName::ProxyAuthorization);
        for h in built {
            headers.push(h);
        }
        Ok(())
    }

    /// The Authorization (or Proxy-Authorization) header for a request with `method`
    /// and `uri` and an empty body, answering the current challenge of `realm`.
    pub fn authorization(
        &mut self,
        target: AuthTarget,
        realm: &str,
        method: &Method,
        uri: &Uri,
        rng: &mut impl rand::RngCore,
    ) -> Result<Header, DigestError> {
        let cnonce = cnonce(rng);
        self.build(target, realm, method, uri.as_bytes(), &[], &cnonce)
    }

    /// As [`authorization`](Self::authorization) with a given client nonce and a raw
    /// `uri` directive (the RFC test vectors use HTTP paths) and body.
    pub fn authorization_with_cnonce(
        &mut self,
        target: AuthTarget,
        realm: &str,
        method: &Method,
        uri: &[u8],
        body: &[u8],
        cnonce: &str,
    ) -> Result<Header, DigestError> {
        self.build(target, realm, method, uri, body, cnonce)
    }

    fn build(
        &mut self,
        target: AuthTarget,
        realm: &str,
        method: &Method,
        uri: &[u8],
        body: &[u8],
        cnonce: &str,
    ) -> Result<Header, DigestError> {
        let creds = self
            .store
            .get(realm)
            .ok_or_else(|| DigestError::NoCredentials(realm.to_owned()))?;
        let s = self
            .realms
            .iter_mut()
            .find(|s| s.challenge.target == target && s.challenge.realm == realm)
            .ok_or_else(|| DigestError::UnknownRealm(realm.to_owned()))?;
        let c = &s.challenge;
        // Prefer auth: auth-int costs a body hash and few servers require it.
        let qop = if c.qop.contains(&Qop::Auth) {
            Some(Qop::Auth)
        } else {
            c.qop.first().copied()
        };
        s.nc = s.nc.saturating_add(1);
        let response = compute_response(&DigestParams {
            algorithm: c.algorithm,
            username: creds.username(),
            realm,
            password: &creds.password,
            method: method.as_bytes(),
            uri,
            nonce: &c.nonce,
            qop,
            nc: s.nc,
            cnonce,
            body,
        });
        let uri_text = String::from_utf8_lossy(uri);
        let mut v = format!(
            "Digest username={}, realm={}, nonce={}, uri={}, response=\"{response}\"",
            quote(creds.username()),
            quote(realm),
            quote(&c.nonce),
            quote(&uri_text),
        );
        if c.algorithm_explicit {
            v += &format!(", algorithm={}", c.algorithm.as_str());
        }
        if let Some(q) = qop {
            v += &format!(
                ", cnonce={}, qop={}, nc={:08x}",
                quote(cnonce),
                q.as_str(),
                s.nc
            );
        }
        if let Some(o) = &c.opaque {
            v += &format!(", opaque={}", quote(o));
        }
        tracing::trace!(realm, nc = s.nc, "digest credentials built");
        let auth = Auth::parse(v.as_bytes()).map_err(DigestError::Header)?;
        Ok(match target {
            AuthTarget::Www => Header::Authorization(auth),
            AuthTarget::Proxy => Header::ProxyAuthorization(auth),
        })
    }
}

/// 128 random bits in hex (RFC 7616 §3.4: the cnonce must not be predictable).
fn cnonce(rng: &mut impl rand::RngCore) -> String {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    hex::encode(b)
}
