//! [`HeaderName`]: header field names, long and compact (RFC 3261 §7.3.3, §20).

use std::fmt;

use crate::text::Text;

/// The dispatch key of a header name: its length and lower-cased first byte.
const fn name_key(len: usize, first: u8) -> usize {
    (len << 8) | first.to_ascii_lowercase() as usize
}

/// Case-insensitive equality of a received token with a known name of letters and `-`.
///
/// Setting bit 5 lower-cases a letter and leaves `-` and digits as they are; the only
/// other byte it maps onto a letter or `-` is a control character, which no token holds.
fn eq_folded(token: &[u8], known: &[u8]) -> bool {
    token.len() == known.len() && token.iter().zip(known).all(|(&t, &k)| t | 0x20 == k | 0x20)
}

macro_rules! header_names {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal $(, $compact:literal)?; )*) => {
        /// A header field name. Names compare case-insensitively (RFC 3261 §7.3.1), known
        /// names also in compact form; serialization uses the long form of a known name
        /// and the received spelling of any other.
        #[derive(Debug, Clone)]
        #[non_exhaustive]
        pub enum HeaderName {
            $( $(#[$doc])* $variant, )*
            /// Any other name, as received.
            Extension(Text),
        }

        impl HeaderName {
            /// The long-form name.
            pub fn as_str(&self) -> &str {
                match self {
                    $( HeaderName::$variant => $name, )*
                    HeaderName::Extension(t) => crate::text::ascii(t),
                }
            }

            /// Maps a received name (already checked to be a token) to a header name.
            pub(crate) fn from_token(b: &[u8]) -> HeaderName {
                if b.len() == 1 {
                    let c = b[0].to_ascii_lowercase();
                    $( $( if c == $compact { return HeaderName::$variant; } )? )*
                } else if let Some(&first) = b.first() {
                    // Length and lower-cased first byte select the one candidate worth a
                    // full comparison (the constants fold at compile time).
                    let key = name_key(b.len(), first);
                    $( if key == name_key($name.len(), $name.as_bytes()[0])
                        && eq_folded(b, $name.as_bytes())
                    {
                        return HeaderName::$variant;
                    } )*
                }
                HeaderName::Extension(Text::copy_from(b))
            }
        }

        /// Every known name: long form, compact form (0 when none), variant.
        #[cfg(test)]
        const KNOWN: &[(&str, u8, HeaderName)] = &[
            $( ($name, [$($compact,)? 0u8][0], HeaderName::$variant), )*
        ];
    };
}

header_names! {
    /// Via (`v`).
    Via = "Via", b'v';
    /// From (`f`).
    From = "From", b'f';
    /// To (`t`).
    To = "To", b't';
    /// Call-ID (`i`).
    CallId = "Call-ID", b'i';
    /// CSeq.
    CSeq = "CSeq";
    /// Contact (`m`).
    Contact = "Contact", b'm';
    /// Max-Forwards.
    MaxForwards = "Max-Forwards";
    /// Content-Length (`l`).
    ContentLength = "Content-Length", b'l';
    /// Content-Type (`c`).
    ContentType = "Content-Type", b'c';
    /// Route.
    Route = "Route";
    /// Record-Route.
    RecordRoute = "Record-Route";
    /// Expires.
    Expires = "Expires";
    /// Allow.
    Allow = "Allow";
    /// Supported (`k`).
    Supported = "Supported", b'k';
    /// Require.
    Require = "Require";
    /// Proxy-Require.
    ProxyRequire = "Proxy-Require";
    /// Unsupported.
    Unsupported = "Unsupported";
    /// WWW-Authenticate.
    WwwAuthenticate = "WWW-Authenticate";
    /// Proxy-Authenticate.
    ProxyAuthenticate = "Proxy-Authenticate";
    /// Authorization.
    Authorization = "Authorization";
    /// Proxy-Authorization.
    ProxyAuthorization = "Proxy-Authorization";
    /// Event (`o`, RFC 6665).
    Event = "Event", b'o';
    /// Subscription-State (RFC 6665).
    SubscriptionState = "Subscription-State";
    /// Refer-To (`r`, RFC 3515).
    ReferTo = "Refer-To", b'r';
    /// Referred-By (`b`, RFC 3892).
    ReferredBy = "Referred-By", b'b';
    /// Retry-After.
    RetryAfter = "Retry-After";
    /// User-Agent.
    UserAgent = "User-Agent";
    /// Server.
    Server = "Server";
    /// Date.
    Date = "Date";
    /// Subject (`s`), kept raw.
    Subject = "Subject", b's';
    /// Content-Encoding (`e`), kept raw.
    ContentEncoding = "Content-Encoding", b'e';
    /// Allow-Events (`u`, RFC 6665), kept raw.
    AllowEvents = "Allow-Events", b'u';
    /// Session-Expires (`x`, RFC 4028), kept raw.
    SessionExpires = "Session-Expires", b'x';
    /// Identity (`y`, RFC 8224), kept raw.
    Identity = "Identity", b'y';
    /// Accept-Contact (`a`, RFC 3841), kept raw.
    AcceptContact = "Accept-Contact", b'a';
    /// Reject-Contact (`j`, RFC 3841), kept raw.
    RejectContact = "Reject-Contact", b'j';
    /// Request-Disposition (`d`, RFC 3841), kept raw.
    RequestDisposition = "Request-Disposition", b'd';
    /// Identity-Info (`n`, RFC 4474), kept raw.
    IdentityInfo = "Identity-Info", b'n';
}

impl HeaderName {
    /// Parses a header name; `None` if `b` is not a token.
    pub fn parse(b: &[u8]) -> Option<HeaderName> {
        if b.is_empty() || !b.iter().all(|&c| crate::parse::chars::is_token(c)) {
            return None;
        }
        Some(HeaderName::from_token(b))
    }
}

impl PartialEq for HeaderName {
    /// Known names by variant; other names ignoring ASCII case (RFC 3261 §7.3.1: field
    /// names are case-insensitive). A known name never reads as [`HeaderName::Extension`],
    /// so the two kinds never match each other.
    #[inline]
    fn eq(&self, other: &HeaderName) -> bool {
        match (self, other) {
            (HeaderName::Extension(a), HeaderName::Extension(b)) => a.eq_ignore_ascii_case(b),
            (HeaderName::Extension(_), _) | (_, HeaderName::Extension(_)) => false,
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }
}
impl Eq for HeaderName {}

impl std::hash::Hash for HeaderName {
    /// Consistent with `eq`: other names hash lower-cased.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        if let HeaderName::Extension(t) = self {
            for b in t.iter() {
                state.write_u8(b.to_ascii_lowercase());
            }
        }
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_and_case_insensitive() {
        assert_eq!(HeaderName::from_token(b"v"), HeaderName::Via);
        assert_eq!(
            HeaderName::from_token(b"MaX-fOrWaRdS"),
            HeaderName::MaxForwards
        );
        assert_eq!(HeaderName::from_token(b"I"), HeaderName::CallId);
        assert_eq!(
            HeaderName::from_token(b"C%6Fntact"),
            HeaderName::Extension("C%6Fntact".into())
        );
    }

    /// What `from_token` must return, the slow way: the known name equal to `b` ignoring
    /// ASCII case, or whose compact form it is.
    fn reference(b: &[u8]) -> HeaderName {
        KNOWN
            .iter()
            .find(|(long, compact, _)| {
                long.as_bytes().eq_ignore_ascii_case(b)
                    || (*compact != 0 && b.len() == 1 && b[0].to_ascii_lowercase() == *compact)
            })
            .map_or_else(
                || HeaderName::Extension(Text::copy_from(b)),
                |k| k.2.clone(),
            )
    }

    #[test]
    fn every_known_name_and_its_near_misses_map_as_the_reference_does() {
        let mut probes: Vec<Vec<u8>> = (0u8..=255).map(|c| vec![c]).collect();
        for (long, _, name) in KNOWN {
            assert_eq!(&HeaderName::from_token(long.as_bytes()), name);
            let upper = long.to_ascii_uppercase().into_bytes();
            let lower = long.to_ascii_lowercase().into_bytes();
            let mut longer = lower.clone();
            longer.push(b's');
            let mut shorter = lower.clone();
            shorter.pop();
            let mut other_last = lower.clone();
            *other_last.last_mut().expect("not empty") ^= 0x01;
            probes.extend([upper, lower, longer, shorter, other_last]);
        }
        for b in probes.iter().filter(|b| !b.is_empty()) {
            let got = HeaderName::from_token(b);
            let want = reference(b);
            assert_eq!(got, want, "{:?}", String::from_utf8_lossy(b));
            if let HeaderName::Extension(t) = &got {
                assert_eq!(&t[..], &b[..], "other names keep their spelling");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_tokens_map_as_the_reference_does(b in "[-.!%*_+`'~a-zA-Z0-9]{1,24}") {
            let b = b.as_bytes();
            proptest::prop_assert_eq!(HeaderName::from_token(b), reference(b));
        }
    }

    #[test]
    fn other_names_compare_and_hash_ignoring_case() {
        use std::collections::HashSet;
        let received = HeaderName::from_token(b"Ms-Conversation-ID");
        let asked = HeaderName::parse(b"ms-conversation-id").expect("token");
        assert_eq!(received, asked);
        assert_eq!(received.as_str(), "Ms-Conversation-ID", "spelling kept");
        assert_ne!(received, HeaderName::from_token(b"Ms-Conversation-IDs"));
        assert_ne!(HeaderName::from_token(b"X-Via"), HeaderName::Via);
        let set: HashSet<_> = [received].into_iter().collect();
        assert!(set.contains(&asked));
        assert_eq!(HeaderName::from_token(b"l"), HeaderName::ContentLength);
    }
}
