//! The SDP parser (RFC 8866 §5, §9) and its errors and limits.

use super::{
    AddrType, Address, Attribute, Bandwidth, Direction, Media, Origin, Rtpmap, Sdp, Timing,
};

/// Bounds on the SDP the parser accepts, checked before parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdpLimits {
    /// Largest description in bytes. Default 32 KiB.
    pub max_size: usize,
    /// Most lines. Default 512.
    pub max_lines: usize,
    /// Most `m=` sections. Default 32.
    pub max_media: usize,
}

impl Default for SdpLimits {
    fn default() -> Self {
        SdpLimits {
            max_size: 32 * 1024,
            max_lines: 512,
            max_media: 32,
        }
    }
}

/// Why a description could not be parsed. Every variant is the sender's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdpError {
    /// The description is larger than [`SdpLimits::max_size`].
    #[error("SDP of {size} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// Bytes received.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// More lines than [`SdpLimits::max_lines`].
    #[error("SDP has more than {limit} lines")]
    TooManyLines {
        /// The limit.
        limit: usize,
    },
    /// More `m=` sections than [`SdpLimits::max_media`].
    #[error("SDP has more than {limit} media sections")]
    TooManyMedia {
        /// The limit.
        limit: usize,
    },
    /// The text is not UTF-8.
    #[error("SDP line {line} is not UTF-8")]
    NotUtf8 {
        /// The 1-based line.
        line: usize,
    },
    /// A required line is missing.
    #[error("SDP has no {0}= line")]
    Missing(char),
    /// A line is malformed or misplaced.
    #[error("SDP line {line}: {kind}")]
    Line {
        /// The 1-based line.
        line: usize,
        /// What is wrong.
        kind: LineError,
    },
}

/// What is wrong with one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// Not `<letter>=<value>`.
    #[error("not of the form <type>=<value>")]
    Syntax,
    /// A type letter RFC 8866 does not define.
    #[error("unknown type letter {0:?}")]
    UnknownType(char),
    /// The first line is not `v=`.
    #[error("the first line must be v=")]
    VersionNotFirst,
    /// `v=` other than 0.
    #[error("unsupported protocol version")]
    UnsupportedVersion,
    /// A line that may appear once appears again.
    #[error("repeated {0}= line")]
    Duplicate(char),
    /// A line where its type may not appear (e.g. `t=` in a media section).
    #[error("{0}= line out of place")]
    Misplaced(char),
    /// A malformed `o=`.
    #[error("malformed o= line")]
    Origin,
    /// A malformed `c=` or address.
    #[error("malformed connection address")]
    Connection,
    /// A malformed `b=`.
    #[error("malformed b= line")]
    Bandwidth,
    /// A malformed `t=`.
    #[error("malformed t= line")]
    Timing,
    /// A malformed `m=`.
    #[error("malformed m= line")]
    Media,
    /// An attribute name that is empty or not a token.
    #[error("malformed attribute name")]
    AttributeName,
    /// A malformed `a=rtpmap`.
    #[error("malformed a=rtpmap")]
    Rtpmap,
    /// A malformed `a=fmtp`.
    #[error("malformed a=fmtp")]
    Fmtp,
    /// A malformed `a=rtcp`.
    #[error("malformed a=rtcp")]
    Rtcp,
    /// A malformed `a=ptime`.
    #[error("malformed a=ptime")]
    Ptime,
}

/// A decimal number without sign or spaces (`u64::from_str` would accept `+1`).
fn number<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'{'
                        | b'|'
                        | b'}'
                        | b'~'
                )
        })
}

fn non_ws_field(s: &str) -> bool {
    !s.is_empty()
        && !s
            .bytes()
            .any(|b| b == b' ' || b == b'\t' || b.is_ascii_control())
}

fn address(fields: &[&str]) -> Option<Address> {
    let [net, addr_type, addr] = fields else {
        return None;
    };
    if !is_token(net) || !is_token(addr_type) || !non_ws_field(addr) {
        return None;
    }
    Some(Address {
        net_type: (*net).to_owned(),
        addr_type: AddrType::parse(addr_type),
        address: (*addr).to_owned(),
    })
}

fn origin(v: &str) -> Option<Origin> {
    // Some agents end structured lines with blanks.
    let v = v.trim_end_matches([' ', '\t']);
    let f: Vec<&str> = v.split(' ').collect();
    let [user, id, version, rest @ ..] = f.as_slice() else {
        return None;
    };
    if !non_ws_field(user) || id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Origin {
        username: (*user).to_owned(),
        session_id: (*id).to_owned(),
        session_version: number(version)?,
        address: address(rest)?,
    })
}

fn bandwidth(v: &str) -> Option<Bandwidth> {
    // Some agents end structured lines with blanks.
    let v = v.trim_end_matches([' ', '\t']);
    let (kind, value) = v.split_once(':')?;
    if !is_token(kind) {
        return None;
    }
    Some(Bandwidth {
        kind: kind.to_owned(),
        value: number(value)?,
    })
}

fn timing(v: &str) -> Option<Timing> {
    // Some agents end structured lines with blanks.
    let v = v.trim_end_matches([' ', '\t']);
    let (start, stop) = v.split_once(' ')?;
    Some(Timing {
        start: number(start)?,
        stop: number(stop)?,
        repeats: Vec::new(),
    })
}

fn media(v: &str) -> Option<Media> {
    // Some agents end structured lines with blanks.
    let v = v.trim_end_matches([' ', '\t']);
    let f: Vec<&str> = v.split(' ').collect();
    let [kind, port, proto, formats @ ..] = f.as_slice() else {
        return None;
    };
    if !is_token(kind) || !non_ws_field(proto) || formats.is_empty() {
        return None;
    }
    let (port, port_count) = match port.split_once('/') {
        Some((p, n)) => (number(p)?, Some(number(n)?)),
        None => (number(port)?, None),
    };
    if !formats.iter().all(|f| non_ws_field(f)) {
        return None;
    }
    let mut m = Media::new(
        kind,
        port,
        proto,
        formats.iter().map(|f| (*f).to_owned()).collect(),
    );
    m.port_count = port_count;
    Some(m)
}

fn rtpmap(v: &str) -> Option<Rtpmap> {
    let (pt, rest) = v.split_once(' ')?;
    let payload_type: u8 = number(pt)?;
    if payload_type > 127 {
        return None;
    }
    let mut parts = rest.trim().split('/');
    let encoding = parts.next()?;
    let clock_rate = number(parts.next()?)?;
    let channels = match parts.next() {
        Some(c) => Some(number(c)?),
        None => None,
    };
    if !non_ws_field(encoding) || parts.next().is_some() {
        return None;
    }
    Some(Rtpmap {
        payload_type,
        encoding: encoding.to_owned(),
        clock_rate,
        channels,
    })
}

fn attribute(v: &str) -> Result<Attribute, LineError> {
    let (name, value) = match v.split_once(':') {
        Some((n, v)) => (n, Some(v)),
        None => (v, None),
    };
    if !is_token(name) {
        return Err(LineError::AttributeName);
    }
    if value.is_none()
        && let Some(d) = Direction::parse(name)
    {
        return Ok(Attribute::Direction(d));
    }
    Ok(match (name, value) {
        ("rtpmap", Some(v)) => Attribute::Rtpmap(rtpmap(v).ok_or(LineError::Rtpmap)?),
        ("rtpmap", None) => return Err(LineError::Rtpmap),
        ("fmtp", Some(v)) => {
            let (format, params) = v.split_once(' ').unwrap_or((v, ""));
            if !non_ws_field(format) {
                return Err(LineError::Fmtp);
            }
            Attribute::Fmtp {
                format: format.to_owned(),
                params: params.to_owned(),
            }
        }
        ("fmtp", None) => return Err(LineError::Fmtp),
        ("rtcp-mux", None) => Attribute::RtcpMux,
        ("rtcp", Some(v)) => {
            let f: Vec<&str> = v.split(' ').collect();
            let [port, rest @ ..] = f.as_slice() else {
                return Err(LineError::Rtcp);
            };
            let port = number(port).ok_or(LineError::Rtcp)?;
            let address = match rest {
                [] => None,
                r => Some(address(r).ok_or(LineError::Rtcp)?),
            };
            Attribute::Rtcp { port, address }
        }
        ("rtcp", None) => return Err(LineError::Rtcp),
        ("ptime", Some(v)) => Attribute::Ptime(number(v).ok_or(LineError::Ptime)?),
        ("ptime", None) => return Err(LineError::Ptime),
        (n, v) => Attribute::Other {
            name: n.to_owned(),
            value: v.map(str::to_owned),
        },
    })
}

fn set_once<T>(slot: &mut Option<T>, value: T, t: char) -> Result<(), LineError> {
    if slot.is_some() {
        return Err(LineError::Duplicate(t));
    }
    *slot = Some(value);
    Ok(())
}

pub(super) fn parse(b: &[u8], limits: &SdpLimits) -> Result<Sdp, SdpError> {
    if b.len() > limits.max_size {
        return Err(SdpError::TooLarge {
            size: b.len(),
            limit: limits.max_size,
        });
    }
    if memchr::memchr_iter(b'\n', b).count() > limits.max_lines {
        return Err(SdpError::TooManyLines {
            limit: limits.max_lines,
        });
    }
    let text = std::str::from_utf8(b).map_err(|e| SdpError::NotUtf8 {
        line: 1 + memchr::memchr_iter(b'\n', &b[..e.valid_up_to()]).count(),
    })?;

    let mut sdp = Sdp::new(Origin {
        username: String::new(),
        session_id: String::new(),
        session_version: 0,
        address: Address::ip(std::net::Ipv4Addr::UNSPECIFIED.into()),
    });
    sdp.session_name.clear();
    sdp.timing.clear();
    let mut have_origin = false;
    let mut have_name = false;
    let mut seen_version = false;

    for (i, raw) in text.split('\n').enumerate() {
        let n = i + 1;
        let l = raw.strip_suffix('\r').unwrap_or(raw);
        if l.is_empty() {
            // Blank lines (a trailing one, or stray ones) carry nothing.
            continue;
        }
        let err = |kind| SdpError::Line { line: n, kind };
        let bytes = l.as_bytes();
        // RFC 8866 §9: text is any byte but NUL, CR and LF.
        if memchr::memchr2(b'\r', 0, bytes).is_some() {
            return Err(err(LineError::Syntax));
        }
        if bytes.len() < 2 || bytes[1] != b'=' || !bytes[0].is_ascii_lowercase() {
            return Err(err(LineError::Syntax));
        }
        let t = char::from(bytes[0]);
        let v = &l[2..];
        if !seen_version {
            if t != 'v' {
                return Err(err(LineError::VersionNotFirst));
            }
            if v != "0" {
                return Err(err(LineError::UnsupportedVersion));
            }
            seen_version = true;
            continue;
        }
        if t == 'm' {
            if sdp.media.len() >= limits.max_media {
                return Err(SdpError::TooManyMedia {
                    limit: limits.max_media,
                });
            }
            sdp.media.push(media(v).ok_or(err(LineError::Media))?);
            continue;
        }
        if let Some(m) = sdp.media.last_mut() {
            // Media section: i, c, b, k, a (RFC 8866 §5).
            let r = match t {
                'i' => set_once(&mut m.info, v.to_owned(), t),
                'c' => set_once(
                    &mut m.connection,
                    conn(v).ok_or(err(LineError::Connection))?,
                    t,
                ),
                'b' => {
                    m.bandwidths
                        .push(bandwidth(v).ok_or(err(LineError::Bandwidth))?);
                    Ok(())
                }
                'k' => set_once(&mut m.key, v.to_owned(), t),
                'a' => attribute(v).map(|a| m.attributes.push(a)),
                'v' | 'o' | 's' | 'u' | 'e' | 'p' | 't' | 'r' | 'z' => Err(LineError::Misplaced(t)),
                _ => Err(LineError::UnknownType(t)),
            };
            r.map_err(err)?;
            continue;
        }
        let r = match t {
            'v' => Err(LineError::Duplicate('v')),
            'o' => {
                if have_origin {
                    Err(LineError::Duplicate('o'))
                } else {
                    have_origin = true;
                    sdp.origin = origin(v).ok_or(err(LineError::Origin))?;
                    Ok(())
                }
            }
            's' => {
                if have_name {
                    Err(LineError::Duplicate('s'))
                } else {
                    have_name = true;
                    sdp.session_name = v.to_owned();
                    Ok(())
                }
            }
            'i' => set_once(&mut sdp.info, v.to_owned(), t),
            'u' => set_once(&mut sdp.uri, v.to_owned(), t),
            'e' => {
                sdp.emails.push(v.to_owned());
                Ok(())
            }
            'p' => {
                sdp.phones.push(v.to_owned());
                Ok(())
            }
            'c' => set_once(
                &mut sdp.connection,
                conn(v).ok_or(err(LineError::Connection))?,
                t,
            ),
            'b' => {
                sdp.bandwidths
                    .push(bandwidth(v).ok_or(err(LineError::Bandwidth))?);
                Ok(())
            }
            't' => {
                sdp.timing.push(timing(v).ok_or(err(LineError::Timing))?);
                Ok(())
            }
            'r' => match sdp.timing.last_mut() {
                Some(tm) => {
                    tm.repeats.push(v.to_owned());
                    Ok(())
                }
                None => Err(LineError::Misplaced('r')),
            },
            'z' => set_once(&mut sdp.time_zones, v.to_owned(), t),
            'k' => set_once(&mut sdp.key, v.to_owned(), t),
            'a' => attribute(v).map(|a| sdp.attributes.push(a)),
            _ => Err(LineError::UnknownType(t)),
        };
        r.map_err(err)?;
    }
    if !seen_version {
        return Err(SdpError::Missing('v'));
    }
    if !have_origin {
        return Err(SdpError::Missing('o'));
    }
    if !have_name {
        return Err(SdpError::Missing('s'));
    }
    Ok(sdp)
}

fn conn(v: &str) -> Option<Address> {
    // Some agents end structured lines with blanks.
    let v = v.trim_end_matches([' ', '\t']);
    let f: Vec<&str> = v.split(' ').collect();
    address(&f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_reject_signs() {
        assert_eq!(number::<u16>("+5"), None);
        assert_eq!(number::<u16>("65536"), None);
        assert_eq!(number::<u16>("5"), Some(5));
    }

    #[test]
    fn errors_name_the_line() {
        let e = Sdp::parse(b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nm=audio x RTP/AVP 0\r\n");
        assert_eq!(
            e,
            Err(SdpError::Line {
                line: 4,
                kind: LineError::Media
            })
        );
        let e = Sdp::parse(b"o=- 1 1 IN IP4 h\r\n");
        assert!(matches!(
            e,
            Err(SdpError::Line {
                line: 1,
                kind: LineError::VersionNotFirst
            })
        ));
        assert_eq!(Sdp::parse(b"v=0\r\ns=-\r\n"), Err(SdpError::Missing('o')));
        let e = Sdp::parse(b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nx=1\r\n");
        assert!(matches!(
            e,
            Err(SdpError::Line {
                kind: LineError::UnknownType('x'),
                ..
            })
        ));
    }
}
