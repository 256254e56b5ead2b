//! Character classes of RFC 3261 §25.1 as lookup tables.

const fn table(extra: &[u8], alnum: bool) -> [bool; 256] {
    let mut t = [false; 256];
    if alnum {
        let mut c = b'0';
        while c <= b'9' {
            t[c as usize] = true;
            c += 1;
        }
        let mut c = b'a';
        while c <= b'z' {
            t[c as usize] = true;
            t[(c - 32) as usize] = true;
            c += 1;
        }
    }
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = true;
        i += 1;
    }
    t
}

/// `token` (RFC 3261 §25.1).
static TOKEN: [bool; 256] = table(b"-.!%*_+`'~", true);
/// Characters of a domain name or IPv4 address (`hostname` / `IPv4address`).
static HOST: [bool; 256] = table(b"-.", true);
/// `word` (Call-ID).
static WORD: [bool; 256] = table(b"-.!%*_+`'~()<>:\\\"/[]?{}", true);
/// `user`: unreserved / escaped / user-unreserved.
static USER: [bool; 256] = table(b"-_.!~*'()%&=+$,;?/", true);
/// `password`.
static PASSWORD: [bool; 256] = table(b"-_.!~*'()%&=+$,", true);
/// `paramchar`.
static PARAM: [bool; 256] = table(b"-_.!~*'()%[]/:&+$", true);
/// `hname` / `hvalue` characters plus the `=` and `&` separators.
static URI_HEADER: [bool; 256] = table(b"-_.!~*'()%[]/?:+$=&", true);
/// Characters of any absolute URI (`uric` plus `[]`).
static URIC: [bool; 256] = table(b"-_.!~*'()%;/?:@&=+$,[]#", true);

pub(crate) fn is_token(c: u8) -> bool {
    TOKEN[c as usize]
}
pub(crate) fn is_host(c: u8) -> bool {
    HOST[c as usize]
}
pub(crate) fn is_word(c: u8) -> bool {
    WORD[c as usize]
}
pub(crate) fn is_user(c: u8) -> bool {
    USER[c as usize]
}
pub(crate) fn is_password(c: u8) -> bool {
    PASSWORD[c as usize]
}
pub(crate) fn is_param(c: u8) -> bool {
    PARAM[c as usize]
}
pub(crate) fn is_uri_header(c: u8) -> bool {
    URI_HEADER[c as usize]
}
pub(crate) fn is_uric(c: u8) -> bool {
    URIC[c as usize]
}
/// LWS after unfolding: SP, HTAB, and the CR LF of a fold.
pub(crate) fn is_lws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// Trims LWS from both ends.
pub(crate) fn trim_lws(b: &[u8]) -> (usize, usize) {
    let mut s = 0;
    let mut e = b.len();
    while s < e && is_lws(b[s]) {
        s += 1;
    }
    while e > s && is_lws(b[e - 1]) {
        e -= 1;
    }
    (s, e)
}

/// Parses `1*DIGIT` into a u64, `None` on empty, non-digit, or overflow past `max`.
pub(crate) fn parse_number(b: &[u8], max: u64) -> Result<u64, crate::HeaderError> {
    if b.is_empty() {
        return Err(crate::HeaderError::NotANumber);
    }
    let mut v: u64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return Err(crate::HeaderError::NotANumber);
        }
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(c - b'0')))
            .ok_or(crate::HeaderError::OutOfRange)?;
        if v > max {
            return Err(crate::HeaderError::OutOfRange);
        }
    }
    Ok(v)
}
