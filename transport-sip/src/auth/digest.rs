//! The digest computation (RFC 7616 §3.4.1-§3.4.3, RFC 2617 §3.2.2) and challenges.

use md5::Md5;
use sha2::Sha256;

use crate::HeaderError;
use crate::header::{Auth, Header};

/// Why a challenge could not be used or credentials not produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// The challenge's scheme is not Digest.
    #[error("authentication scheme {0:?} is not Digest")]
    NotDigest(String),
    /// A required parameter is missing from the challenge.
    #[error("digest challenge has no {0} parameter")]
    MissingParam(&'static str),
    /// The challenge names an algorithm this client does not implement.
    #[error("unsupported digest algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// The challenge offers only qop values this client does not implement.
    #[error("no supported qop in {0:?}")]
    UnsupportedQop(String),
    /// The response carries no usable Digest challenge.
    #[error("response carries no supported Digest challenge")]
    NoChallenge,
    /// No challenge has been received for this realm.
    #[error("no challenge known for realm {0:?}")]
    UnknownRealm(String),
    /// No credentials are stored for this realm.
    #[error("no credentials for realm {0:?}")]
    NoCredentials(String),
    /// A built header value did not parse back (a value with characters a quoted string
    /// cannot hold).
    #[error("built authorization header is invalid")]
    Header(#[source] HeaderError),
}

/// A digest algorithm (RFC 7616 §3.3, §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// `MD5` (the default when a challenge names none).
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256`.
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
}

impl Algorithm {
    /// Parses an algorithm token (case-insensitive).
    pub fn parse(s: &[u8]) -> Option<Algorithm> {
        [
            Algorithm::Md5,
            Algorithm::Md5Sess,
            Algorithm::Sha256,
            Algorithm::Sha256Sess,
        ]
        .into_iter()
        .find(|a| a.as_str().as_bytes().eq_ignore_ascii_case(s))
    }

    /// The token.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    fn is_sess(self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess)
    }

    /// Preference order of RFC 7616 §3.7: SHA-256 before MD5.
    pub(super) fn strength(self) -> u8 {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => 0,
            Algorithm::Sha256 | Algorithm::Sha256Sess => 1,
        }
    }

    /// Lower-case hex of the hash of `parts` joined by `:`.
    fn hash(self, parts: &[&[u8]]) -> String {
        fn run<D: md5::Digest>(parts: &[&[u8]]) -> String {
            let mut d = D::new();
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    d.update(b":");
                }
                d.update(p);
            }
            hex::encode(d.finalize())
        }
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => run::<Md5>(parts),
            Algorithm::Sha256 | Algorithm::Sha256Sess => run::<Sha256>(parts),
        }
    }
}

/// Quality of protection (RFC 7616 §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Qop {
    /// `auth`: the request line is protected.
    Auth,
    /// `auth-int`: the body too.
    AuthInt,
}

impl Qop {
    /// The token.
    pub fn as_str(self) -> &'static str {
        match self {
            Qop::Auth => "auth",
            Qop::AuthInt => "auth-int",
        }
    }
}

/// Which header pair a challenge came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthTarget {
    /// WWW-Authenticate (401), answered with Authorization.
    Www,
    /// Proxy-Authenticate (407), answered with Proxy-Authorization.
    Proxy,
}

/// A parsed Digest challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The header it came in.
    pub target: AuthTarget,
    /// `realm`.
    pub realm: String,
    /// `nonce`.
    pub nonce: String,
    /// `opaque`, echoed unchanged.
    pub opaque: Option<String>,
    /// `algorithm` (MD5 when absent).
    pub algorithm: Algorithm,
    /// Whether the challenge named the algorithm (echoed then).
    pub algorithm_explicit: bool,
    /// The supported qop values offered, in order; empty for the RFC 2069 form.
    pub qop: Vec<Qop>,
    /// `stale=true`: the nonce expired, the credentials were fine.
    pub stale: bool,
}

fn text(v: std::borrow::Cow<'_, [u8]>) -> String {
    String::from_utf8_lossy(&v).into_owned()
}

impl Challenge {
    /// Parses a WWW-Authenticate or Proxy-Authenticate value.
    pub fn parse(auth: &Auth, target: AuthTarget) -> Result<Challenge, DigestError> {
        if !auth.scheme().eq_ignore_ascii_case("Digest") {
            return Err(DigestError::NotDigest(auth.scheme().to_owned()));
        }
        let realm = auth
            .param("realm")
            .map(text)
            .ok_or(DigestError::MissingParam("realm"))?;
        let nonce = auth
            .param("nonce")
            .map(text)
            .ok_or(DigestError::MissingParam("nonce"))?;
        let (algorithm, algorithm_explicit) = match auth.param("algorithm") {
            Some(a) => (
                Algorithm::parse(&a)
                    .ok_or_else(|| DigestError::UnsupportedAlgorithm(text(a.clone())))?,
                true,
            ),
            None => (Algorithm::Md5, false),
        };
        let qop = match auth.param("qop") {
            None => Vec::new(),
            Some(list) => {
                let offered: Vec<Qop> = list
                    .split(|&b| b == b',')
                    .filter_map(|t| {
                        let t = t.trim_ascii();
                        if t.eq_ignore_ascii_case(b"auth") {
                            Some(Qop::Auth)
                        } else if t.eq_ignore_ascii_case(b"auth-int") {
                            Some(Qop::AuthInt)
                        } else {
                            None
                        }
                    })
                    .collect();
                if offered.is_empty() {
                    return Err(DigestError::UnsupportedQop(text(list)));
                }
                offered
            }
        };
        let stale = auth
            .param("stale")
            .is_some_and(|s| s.eq_ignore_ascii_case(b"true"));
        Ok(Challenge {
            target,
            realm,
            nonce,
            opaque: auth.param("opaque").map(text),
            algorithm,
            algorithm_explicit,
            qop,
            stale,
        })
    }

    /// Parses the challenge in a WWW-Authenticate or Proxy-Authenticate header; `None`
    /// for other headers.
    pub fn from_header(h: &Header) -> Option<Result<Challenge, DigestError>> {
        match h {
            Header::WwwAuthenticate(a) => Some(Challenge::parse(a, AuthTarget::Www)),
            Header::ProxyAuthenticate(a) => Some(Challenge::parse(a, AuthTarget::Proxy)),
            _ => None,
        }
    }

    /// The header carrying this challenge (what a server sends).
    pub fn to_header(&self) -> Result<Header, DigestError> {
        let mut v = format!(
            "Digest realm={}, nonce={}",
            quote(&self.realm),
            quote(&self.nonce)
        );
        if let Some(o) = &self.opaque {
            v += &format!(", opaque={}", quote(o));
        }
        if self.algorithm_explicit {
            v += &format!(", algorithm={}", self.algorithm.as_str());
        }
        if !self.qop.is_empty() {
            let list: Vec<&str> = self.qop.iter().map(|q| q.as_str()).collect();
            v += &format!(", qop=\"{}\"", list.join(","));
        }
        if self.stale {
            v += ", stale=true";
        }
        let auth = Auth::parse(v.as_bytes()).map_err(DigestError::Header)?;
        Ok(match self.target {
            AuthTarget::Www => Header::WwwAuthenticate(auth),
            AuthTarget::Proxy => Header::ProxyAuthenticate(auth),
        })
    }
}

/// A quoted string with `"` and `\` escaped (RFC 3261 §25.1).
pub(super) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        // CR and LF cannot appear in a header value.
        out.push(if c == '\r' || c == '\n' { ' ' } else { c });
    }
    out.push('"');
    out
}

/// The inputs of one digest response (RFC 7616 §3.4.1).
#[derive(Debug, Clone, Copy)]
pub struct DigestParams<'a> {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// The user name.
    pub username: &'a str,
    /// The realm.
    pub realm: &'a str,
    /// The password.
    pub password: &'a str,
    /// The request method (`INVITE`; `GET` in the RFC examples).
    pub method: &'a [u8],
    /// The `uri` directive: the Request-URI as sent.
    pub uri: &'a [u8],
    /// The server's nonce.
    pub nonce: &'a str,
    /// The qop, or `None` for the RFC 2069 form.
    pub qop: Option<Qop>,
    /// The nonce count (with a qop).
    pub nc: u32,
    /// The client nonce (with a qop or a `-sess` algorithm).
    pub cnonce: &'a str,
    /// The body (hashed for `auth-int`).
    pub body: &'a [u8],
}

/// The `response` value: lower-case hex of KD(H(A1), nonce:nc:cnonce:qop:H(A2)), or of
/// KD(H(A1), nonce:H(A2)) without qop.
pub fn compute_response(p: &DigestParams<'_>) -> String {
    let alg = p.algorithm;
    let mut ha1 = alg.hash(&[
        p.username.as_bytes(),
        p.realm.as_bytes(),
        p.password.as_bytes(),
    ]);
    if alg.is_sess() {
        ha1 = alg.hash(&[ha1.as_bytes(), p.nonce.as_bytes(), p.cnonce.as_bytes()]);
    }
    let ha2 = match p.qop {
        Some(Qop::AuthInt) => {
            let hbody = alg.hash(&[p.body]);
            alg.hash(&[p.method, p.uri, hbody.as_bytes()])
        }
        _ => alg.hash(&[p.method, p.uri]),
    };
    match p.qop {
        Some(q) => {
            let nc = format!("{:08x}", p.nc);
            alg.hash(&[
                ha1.as_bytes(),
                p.nonce.as_bytes(),
                nc.as_bytes(),
                p.cnonce.as_bytes(),
                q.as_str().as_bytes(),
                ha2.as_bytes(),
            ])
        }
        None => alg.hash(&[ha1.as_bytes(), p.nonce.as_bytes(), ha2.as_bytes()]),
    }
}
