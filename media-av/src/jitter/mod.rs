//! The adaptive jitter buffer: reordering, late-packet drops, target delay, loss signalling.
