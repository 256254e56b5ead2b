//! [`DigestVerifier`]: the server side, for test responders and simple registrars.

use super::digest::{Algorithm, Challenge, DigestParams, Qop, compute_response};
use crate::header::Auth;
use crate::message::Method;

/// Why credentials were refused. [`VerifyError::StaleNonce`] asks for a new challenge
/// with `stale=true`; the others for a plain new challenge (or 403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The scheme is not Digest.
    #[error("credentials scheme is not Digest")]
    NotDigest,
    /// A required parameter is missing.
    #[error("credentials have no {0} parameter")]
    MissingParam(&'static str),
    /// The realm is not the challenge's.
    #[error("credentials are for another realm")]
    RealmMismatch,
    /// The algorithm is not the challenge's.
    #[error("credentials use another algorithm")]
    AlgorithmMismatch,
    /// The opaque value was not echoed unchanged.
    #[error("opaque value not echoed")]
    OpaqueMismatch,
    /// The qop is not one offered (or is missing when one was offered).
    #[error("qop not offered")]
    QopMismatch,
    /// The `uri` directive is not the Request-URI.
    #[error("uri directive does not match the request")]
    UriMismatch,
    /// `nc` is not eight hex digits.
    #[error("malformed nonce count")]
    BadNonceCount,
    /// The user is unknown.
    #[error("unknown user")]
    UnknownUser,
    /// The response digest is wrong: wrong password or altered request.
    #[error("response digest does not match")]
    BadResponse,
    /// The digest is right but for an old nonce: challenge again with `stale=true`.
    #[error("nonce is stale")]
    StaleNonce,
    /// The nonce count did not increase: a replay.
    #[error("nonce count {0} was already used")]
    Replay(u32),
}

/// Who authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The user name.
    pub username: String,
}

/// Checks credentials against the challenge it issued. The nonce is the caller's (it
/// owns the randomness and any expiry); [`renew`](Self::renew) replaces it.
#[derive(Debug, Clone)]
pub struct DigestVerifier {
    challenge: Challenge,
    last_nc: u32,
}

impl DigestVerifier {
    /// A verifier for `challenge`, which the server sends in a 401 or 407.
    pub fn new(challenge: Challenge) -> DigestVerifier {
        DigestVerifier {
            challenge,
            last_nc: 0,
        }
    }

    /// The current challenge.
    pub fn challenge(&self) -> &Challenge {
        &self.challenge
    }

    /// Replaces the nonce (nonce counts restart) and sets `stale` in the challenge.
    pub fn renew(&mut self, nonce: &str, stale: bool) {
        self.challenge.nonce = nonce.to_owned();
        self.challenge.stale = stale;
        self.last_nc = 0;
    }

    /// Verifies `credentials` (an Authorization or Proxy-Authorization value) of a
    /// request with `method`, Request-URI `request_uri` and `body`; `password` looks up
    /// the user's password.
    pub fn verify(
        &mut self,
        credentials: &Auth,
        method: &Method,
        request_uri: &[u8],
        body: &[u8],
        password: impl FnOnce(&str) -> Option<String>,
    ) -> Result<Verified, VerifyError> {
        if !credentials.scheme().eq_ignore_ascii_case("Digest") {
            return Err(VerifyError::NotDigest);
        }
        let get = |name: &'static str| {
            credentials
                .param(name)
                .map(|v| String::from_utf8_lossy(&v).into_owned())
        };
        let need = |name: &'static str| get(name).ok_or(VerifyError::MissingParam(name));
        let username = need("username")?;
        let realm = need("realm")?;
        let nonce = need("nonce")?;
        let uri = need("uri")?;
        let response = need("response")?;
        let c = &self.challenge;
        if realm != c.realm {
            return Err(VerifyError::RealmMismatch);
        }
        let algorithm = match get("algorithm") {
            Some(a) => Algorithm::parse(a.as_bytes()).ok_or(VerifyError::AlgorithmMismatch)?,
            None => Algorithm::Md5,
        };
        if algorithm != c.algorithm {
            return Err(VerifyError::AlgorithmMismatch);
        }
        if c.opaque.is_some() && get("opaque") != c.opaque {
            return Err(VerifyError::OpaqueMismatch);
        }
        if uri.as_bytes() != request_uri {
            return Err(VerifyError::UriMismatch);
        }
        let qop = match get("qop").as_deref() {
            None if c.qop.is_empty() => None,
            Some("auth") if c.qop.contains(&Qop::Auth) => Some(Qop::Auth),
            Some("auth-int") if c.qop.contains(&Qop::AuthInt) => Some(Qop::AuthInt),
            _ => return Err(VerifyError::QopMismatch),
        };
        let (nc, cnonce) = match qop {
            Some(_) => {
                let nc = need("nc")?;
                if nc.len() != 8 || !nc.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(VerifyError::BadNonceCount);
                }
                let n = u32::from_str_radix(&nc, 16).map_err(|_| VerifyError::BadNonceCount)?;
                (n, need("cnonce")?)
            }
            None => (0, get("cnonce").unwrap_or_default()),
        };
        let password = password(&username).ok_or(VerifyError::UnknownUser)?;
        let expected = compute_response(&DigestParams {
            algorithm,
            username: &username,
            realm: &realm,
            password: &password,
            method: method.as_bytes(),
            uri: uri.as_bytes(),
            nonce: &nonce,
            qop,
            nc,
            cnonce: &cnonce,
            body,
        });
        if !constant_time_eq(
            expected.as_bytes(),
            response.to_ascii_lowercase().as_bytes(),
        ) {
            return Err(VerifyError::BadResponse);
        }
        if nonce != c.nonce {
            return Err(VerifyError::StaleNonce);
        }
        if qop.is_some() {
            if nc <= self.last_nc {
                return Err(VerifyError::Replay(nc));
            }
            self.last_nc = nc;
        }
        Ok(Verified { username })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
