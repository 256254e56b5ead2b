//! [`ParseLimits`]: the bounds a parser enforces on remote input.

/// Bounds on what the parser accepts from the network.
///
/// Every limit is checked before the memory it bounds is used, so a hostile peer can make
/// the parser reject a message but never make it allocate without bound. The parser has
/// no recursion (SIP's header grammar is flat once folding is undone), so there is no
/// nesting depth to bound; multipart bodies are not parsed here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseLimits {
    /// Largest message (start line, header and body) in bytes. Default 64 KiB, the most a
    /// UDP datagram can carry. Over it: [`ParseError::MessageTooLarge`](crate::ParseError),
    /// answered with 513 (RFC 3261 §21.5.14).
    pub max_message_size: usize,
    /// Largest body in bytes. Default 64 KiB. Over it:
    /// [`ParseError::BodyTooLarge`](crate::ParseError), answered with 413.
    pub max_body_size: usize,
    /// Most header fields (lines, after folding) in one message. Default 128.
    pub max_headers: usize,
    /// Longest header field, folded continuation lines included, in bytes. Default 8 KiB.
    pub max_header_line: usize,
    /// Most parameters in one URI or one header value. Default 32.
    pub max_params: usize,
    /// Most comma-separated values in one header field. Default 64.
    pub max_values_per_header: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_message_size: 64 * 1024,
            max_body_size: 64 * 1024,
            max_headers: 128,
            max_header_line: 8 * 1024,
            max_params: 32,
            max_values_per_header: 64,
        }
    }
}
