//! Digest authentication (RFC 3261 §22, RFC 2617, RFC 7616): a sans-IO client and a
//! verifier for test responders.
//!
//! # Design
//!
//! A [`Challenge`] is parsed from a WWW-Authenticate (401) or Proxy-Authenticate (407)
//! value. [`DigestClient`] keeps one state per `(header, realm)`: the latest nonce, its
//! nonce count and whether credentials were already sent for it. Fed a 401/407 with
//! [`DigestClient::handle_challenges`], it says what to do next ([`ChallengeOutcome`]):
//! retry; ask for credentials of some realms; or stop because credentials sent for the
//! current nonce were refused. A challenge with `stale=true` only renews the nonce
//! (RFC 7616 §3.3), so it is a plain retry. [`DigestClient::authorize`] then adds one
//! Authorization / Proxy-Authorization per known realm to the request, counting `nc`
//! per nonce, so later requests (a re-REGISTER) authenticate without a new round trip.
//!
//! Credentials live in a [`CredentialStore`] keyed by realm, with an optional default.
//! Randomness (the cnonce) comes from the caller's RNG, so tests are deterministic;
//! nothing here reads a clock.
//!
//! Supported: MD5, MD5-sess, SHA-256, SHA-256-sess; `qop=auth`, `qop=auth-int` and the
//! RFC 2069 form without qop. When a response carries several challenges for one realm
//! the client uses the strongest algorithm (RFC 7616 §3.7).
//!
//! # Known limits
//!
//! | Limit | Note |
//! | --- | --- |
//! | `userhash`, `username*` (RFC 7616 §3.4.4) | not sent; user names are sent as quoted strings |
//! | SHA-512-256 | challenges with it are skipped |
//! | `nextnonce` (Authentication-Info) | not used |
//!
//! # Example
//!
//! ```
//! use rand::SeedableRng;
//! use transport_sip::auth::{ChallengeOutcome, CredentialStore, Credentials, DigestClient};
//! use transport_sip::header::{Auth, Header};
//! use transport_sip::{Method, Request, Response, StatusCode, Uri};
//!
//! let mut store = CredentialStore::new();
//! store.insert("atlanta.example.com", Credentials::new("alice", "secret"));
//! let mut client = DigestClient::new(store);
//!
//! let mut unauthorized = Response::new(StatusCode::new(401).expect("valid code"));
//! unauthorized.headers_mut().push(Header::WwwAuthenticate(Auth::parse(
//!     br#"Digest realm="atlanta.example.com", nonce="84a4cc6f", algorithm=MD5, qop="auth""#,
//! )?));
//! assert_eq!(client.handle_challenges(&unauthorized)?, ChallengeOutcome::Retry);
//!
//! let mut register = Request::new(Method::Register, Uri::parse(b"sip:atlanta.example.com")?);
//! let mut rng = rand::rngs::StdRng::seed_from_u64(7);
//! client.authorize(&mut register, &mut rng)?;
//! let Some(Header::Authorization(a)) = register.headers().iter().next() else { panic!() };
//! assert_eq!(a.param("nc").as_deref(), Some(&b"00000001"[..]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod client;
mod digest;
mod verifier;

pub use self::client::{ChallengeOutcome, CredentialStore, Credentials, DigestClient, MAX_REALMS};
pub use self::digest::{
    Algorithm, AuthTarget, Challenge, DigestError, DigestParams, Qop, compute_response,
};
pub use self::verifier::{DigestVerifier, Verified, VerifyError};
