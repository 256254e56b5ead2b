//! The transaction layer (RFC 3261 §17, RFC 6026): sans-IO client and server transactions.
