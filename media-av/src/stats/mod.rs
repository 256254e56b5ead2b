//! Receive statistics (RFC 3550 A.3, A.8): loss, extended sequence numbers, jitter, round-trip time.
