//! Header-list storage kept per thread for the next parse.
//!
//! Every parsed message holds two vectors: its field lines and its typed values, with
//! room for 16 of each. A typed value is a few hundred bytes, so the value vector is
//! several kilobytes: beyond glibc's per-thread cache (1,032 bytes at most), so each parse
//! took the allocator's slow path and each drop handed the block back to the shared bins,
//! where it was merged with its neighbours (`malloc_consolidate` in the load profile of
//! `docs/performance.md`). Instead, a parsed list that is dropped gives its emptied
//! vectors to a small stack of the dropping thread, and the next parse on that thread
//! takes them: a receive loop reuses the same few blocks message after message.
//!
//! The stack is bounded ([`KEEP`] pairs per thread) and only vectors of the parse's size
//! class are kept (from the parse reservation up to [`MAX_CAPACITY`]), so a message with
//! hundreds of headers does not pin its storage.

use std::cell::RefCell;

use super::Header;
use super::headers::Entry;

/// Pairs of vectors kept per thread.
const KEEP: usize = 8;

/// Vectors larger than this (grown by an unusually long header list) are freed.
const MAX_CAPACITY: usize = 64;

thread_local! {
    static SPARE: RefCell<Vec<(Vec<Entry>, Vec<Header>)>> = const { RefCell::new(Vec::new()) };
}

/// Empty vectors with room for at least `capacity` elements each: kept ones when this
/// thread has some, else new ones.
pub(crate) fn take(capacity: usize) -> (Vec<Entry>, Vec<Header>) {
    let kept = SPARE
        .try_with(|s| s.try_borrow_mut().ok().and_then(|mut s| s.pop()))
        .ok()
        .flatten();
    match kept {
        Some((entries, values))
            if entries.capacity() >= capacity && values.capacity() >= capacity =>
        {
            (entries, values)
        }
        _ => (Vec::with_capacity(capacity), Vec::with_capacity(capacity)),
    }
}

/// Keeps the storage of a dropped list for [`take`] when it is of the parse's size class
/// (`min_capacity..=MAX_CAPACITY`) and this thread keeps fewer than [`KEEP`]; otherwise
/// frees it.
pub(crate) fn give(mut entries: Vec<Entry>, mut values: Vec<Header>, min_capacity: usize) {
    let fits = |c: usize| (min_capacity..=MAX_CAPACITY).contains(&c);
    if !fits(entries.capacity()) || !fits(values.capacity()) {
        return;
    }
    // Dropped here, before the stack is borrowed: a value's drop never reaches it.
    entries.clear();
    values.clear();
    let _ = SPARE.try_with(|s| {
        if let Ok(mut s) = s.try_borrow_mut()
            && s.len() < KEEP
        {
            s.push((entries, values));
        }
    });
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::{HeaderName, Message};

    /// Pairs this thread keeps.
    fn kept() -> usize {
        SPARE.with(|s| s.borrow().len())
    }

    fn options(call_id: &str, extra: usize) -> Message {
        let mut raw = format!(
            "OPTIONS sip:bob@example.com SIP/2.0\r\n\
             Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK{call_id}\r\n\
             From: <sip:alice@example.com>;tag=1\r\n\
             To: <sip:bob@example.com>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: 1 OPTIONS\r\n\
             Max-Forwards: 70\r\n"
        );
        for i in 0..extra {
            raw.push_str(&format!("X-Extra-{i}: {i}\r\n"));
        }
        raw.push_str("Content-Length: 0\r\n\r\n");
        Message::parse(Bytes::from(raw)).expect("valid request")
    }

    #[test]
    fn a_dropped_list_is_reused_by_the_next_parse_and_holds_nothing_old() {
        assert_eq!(kept(), 0);
        drop(options("first", 3));
        assert_eq!(kept(), 1, "the dropped list's storage is kept");
        let second = options("second", 0);
        assert_eq!(kept(), 0, "and taken by the next parse");
        let call_ids: Vec<_> = second.headers().named(&HeaderName::CallId).collect();
        assert_eq!(call_ids.len(), 1);
        assert_eq!(
            second.headers().iter().count(),
            7,
            "no value of the first message"
        );
        assert!(
            second
                .headers()
                .named(&HeaderName::parse(b"X-Extra-0").expect("token"))
                .next()
                .is_none()
        );
    }

    #[test]
    fn at_most_keep_lists_are_kept_per_thread() {
        let many: Vec<_> = (0..KEEP + 5).map(|i| options(&i.to_string(), 0)).collect();
        drop(many);
        assert_eq!(kept(), KEEP);
    }

    #[test]
    fn a_grown_list_is_freed() {
        drop(options("long", MAX_CAPACITY + 10));
        assert_eq!(kept(), 0);
    }

    #[test]
    fn a_built_list_of_another_size_is_freed() {
        let mut h = crate::Headers::new();
        h.reserve(4);
        drop(h);
        assert_eq!(kept(), 0);
    }
}
