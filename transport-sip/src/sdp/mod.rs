//! SDP (RFC 8866) and its mapping to the session-core description (RFC 3264 offer/answer).
