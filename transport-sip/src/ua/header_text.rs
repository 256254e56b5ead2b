//! Headers built from text: the user agent writes header values as the RFC spells
//! them and lets the codec's own parser type them, so what it sends is exactly what it
//! would accept.

use bytes::Bytes;

use crate::header::{Header, HeaderName, parse_value};
use crate::{HeaderError, ParseLimits};

/// Parses `value` as header `name` (one [`Header`] per comma-separated value for list
/// headers).
pub(crate) fn header(name: &str, value: &str) -> Result<Vec<Header>, HeaderError> {
    let name = HeaderName::from_token(name.as_bytes());
    let src = Bytes::copy_from_slice(value.as_bytes());
    let mut out = Vec::with_capacity(1);
    parse_value(&name, &src, 0, src.len(), &ParseLimits::default(), &mut out)?;
    Ok(out)
}

/// Appends header `name: value`.
pub(crate) fn push(
    headers: &mut crate::Headers,
    name: &str,
    value: &str,
) -> Result<(), HeaderError> {
    for h in header(name, value)? {
        headers.push(h);
    }
    Ok(())
}

/// Puts header `name: value` first (a new top Via).
pub(crate) fn push_front(
    headers: &mut crate::Headers,
    name: &str,
    value: &str,
) -> Result<(), HeaderError> {
    for (i, h) in header(name, value)?.into_iter().enumerate() {
        headers.insert(i, h);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_from_text() {
        let via = header("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx;rport").unwrap();
        assert!(matches!(&via[..], [Header::Via(v)] if v.branch() == Some("z9hG4bKx")));
        let contacts = header("Contact", "<sip:a@h>, <sip:b@h>").unwrap();
        assert_eq!(contacts.len(), 2);
        assert!(header("CSeq", "one INVITE").is_err());
    }
}
