//! The signaling codec: every frame round-trips, unknown parts are tolerated, bad input
//! is a typed error and never a panic.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use session_core::description::{
    Codec, MediaAddress, MediaDescription, MediaDirection, MediaType, SessionDescription,
};
use session_core::{SessionType, StatusCode, Uri};
use transport_quic::codec::{
    CodecError, ComposingFlag, Frame, FrameDecoder, MAX_FRAME_SIZE, varint,
};

fn description() -> SessionDescription {
    let mut audio = MediaDescription::new(
        MediaType::Audio,
        MediaDirection::BOTH,
        vec![Codec::opus(), Codec::pcmu()],
    );
    audio.address = MediaAddress::Udp("[::1]:40000".parse().unwrap());
    let mut video =
        MediaDescription::new(MediaType::Video, MediaDirection::SEND, vec![Codec::h264()]);
    video.address = MediaAddress::Signaling { flow_id: 1 };
    let removed =
        MediaDescription::new(MediaType::Video, MediaDirection::NONE, vec![Codec::h264()])
            .disabled();
    SessionDescription {
        version: 7,
        media: vec![audio, video, removed],
    }
}

fn all_frames() -> Vec<Frame> {
    vec![
        Frame::Invite {
            from: Uri::parse("quic:alice@127.0.0.1:4433").unwrap(),
            to: Uri::parse("quic:bob@[::1]:4434").unwrap(),
            session_type: SessionType::AudioVideo,
            conversation_id: Some("6f1c-✓".into()),
            offer: Some(description()),
            device: Some("laptop".into()),
        },
        Frame::Invite {
            from: Uri::parse("quic:a@h").unwrap(),
            to: Uri::parse("quic:b@h").unwrap(),
            session_type: SessionType::InstantMessaging,
            conversation_id: None,
            offer: None,
            device: None,
        },
        Frame::Progress {
            code: StatusCode::RINGING,
        },
        Frame::Accept {
            answer: Some(description()),
            device: Some("phone".into()),
        },
        Frame::Accept {
            answer: None,
            device: None,
        },
        Frame::Reject {
            code: StatusCode::BUSY_HERE,
            text: "Busy Here".into(),
        },
        Frame::Cancel,
        Frame::Update {
            id: 3,
            offer: description(),
        },
        Frame::UpdateAccept {
            id: 3,
            answer: description(),
        },
        Frame::Message {
            id: 1 << 40,
            content_type: "text/html".into(),
            body: Bytes::from_static("<b>caf\u{e9}</b>\r\n".as_bytes()),
        },
        Frame::Result {
            id: 9,
            code: StatusCode::OK,
            text: String::new(),
        },
        Frame::Composing {
            state: ComposingFlag::Active,
        },
        Frame::Composing {
            state: ComposingFlag::Idle,
        },
        Frame::Terminate {
            code: StatusCode::OK,
            text: "bye".into(),
        },
    ]
}

#[test]
fn every_frame_round_trips_whole_and_byte_by_byte() {
    let mut wire = BytesMut::new();
    for f in all_frames() {
        f.encode(&mut wire).unwrap();
    }
    let mut whole = FrameDecoder::new();
    whole.push(&wire);
    let mut trickle = FrameDecoder::new();
    let mut trickled = Vec::new();
    for b in wire.iter() {
        trickle.push(std::slice::from_ref(b));
        while let Some(f) = trickle.next_frame() {
            trickled.push(f.unwrap());
        }
    }
    for expected in all_frames() {
        assert_eq!(whole.next_frame().unwrap().unwrap(), expected);
    }
    assert_eq!(whole.next_frame(), None);
    assert_eq!(trickled, all_frames());
}

/// Appends an unknown field to a frame's body, re-prefixing its length.
fn with_unknown_field(frame: &Frame) -> BytesMut {
    let mut wire = BytesMut::new();
    frame.encode(&mut wire).unwrap();
    let mut peek = &wire[..];
    let len = varint::get(&mut peek).unwrap() as usize;
    let mut body = BytesMut::from(&peek[..len]);
    varint::put(&mut body, 999); // unknown tag
    varint::put(&mut body, 3);
    body.extend_from_slice(b"new");
    let mut out = BytesMut::new();
    varint::put(&mut out, body.len() as u64);
    out.extend_from_slice(&body);
    out
}

#[test]
fn unknown_fields_are_skipped_and_unknown_frames_reported() {
    for frame in all_frames() {
        let mut d = FrameDecoder::new();
        d.push(&with_unknown_field(&frame));
        assert_eq!(d.next_frame().unwrap().unwrap(), frame);
    }
    let mut wire = BytesMut::new();
    varint::put(&mut wire, 4);
    varint::put(&mut wire, 0x3f00); // a future frame type (two-byte varint)
    wire.extend_from_slice(&[0x01, 0x00]);
    Frame::Cancel.encode(&mut wire).unwrap();
    let mut d = FrameDecoder::new();
    d.push(&wire);
    assert_eq!(
        d.next_frame().unwrap().unwrap(),
        Frame::Unknown { frame_type: 0x3f00 }
    );
    assert_eq!(
        d.next_frame().unwrap().unwrap(),
        Frame::Cancel,
        "the stream goes on"
    );
}

#[test]
fn bad_input_is_a_typed_error() {
    // Oversized frame announced: refused before buffering it.
    let mut d = FrameDecoder::new();
    let mut wire = BytesMut::new();
    varint::put(&mut wire, MAX_FRAME_SIZE as u64 + 1);
    d.push(&wire);
    assert!(matches!(
        d.next_frame(),
        Some(Err(CodecError::FrameTooLarge { .. }))
    ));
    assert_eq!(d.next_frame(), None, "a failed stream yields nothing more");
    d.push(b"more");
    assert_eq!(d.buffered(), 0);

    // Missing required field.
    let mut wire = BytesMut::new();
    varint::put(&mut wire, 1);
    varint::put(&mut wire, 2); // PROGRESS without its code
    let mut d = FrameDecoder::new();
    d.push(&wire);
    assert!(matches!(
        d.next_frame(),
        Some(Err(CodecError::MissingField {
            frame: "PROGRESS",
            ..
        }))
    ));

    // A field whose length runs past the frame.
    let mut body = BytesMut::new();
    varint::put(&mut body, 10);
    varint::put(&mut body, 1);
    varint::put(&mut body, 50);
    let mut wire = BytesMut::new();
    varint::put(&mut wire, body.len() as u64);
    wire.extend_from_slice(&body);
    let mut d = FrameDecoder::new();
    d.push(&wire);
    assert!(matches!(d.next_frame(), Some(Err(CodecError::Truncated))));

    // Semantic checks: a 200 is no rejection, a 486 no progress, payload types stay ≤ 127.
    for frame in [
        Frame::Reject {
            code: StatusCode::OK,
            text: String::new(),
        },
        Frame::Progress {
            code: StatusCode::BUSY_HERE,
        },
    ] {
        let mut wire = BytesMut::new();
        frame.encode(&mut wire).unwrap();
        let mut d = FrameDecoder::new();
        d.push(&wire);
        assert!(matches!(
            d.next_frame(),
            Some(Err(CodecError::InvalidField { field: "code", .. }))
        ));
    }

    // A message too large to send is refused at encoding.
    let big = Frame::Message {
        id: 1,
        content_type: "text/plain".into(),
        body: Bytes::from(vec![b'x'; MAX_FRAME_SIZE]),
    };
    assert!(matches!(
        big.encode(&mut BytesMut::new()),
        Err(CodecError::FrameTooLarge { .. })
    ));
}

#[test]
fn too_many_media_lines_are_refused() {
    let mut d = description();
    d.media = vec![d.media[0].clone(); session_core::description::MAX_MEDIA_LINES + 1];
    let mut wire = BytesMut::new();
    Frame::Update { id: 1, offer: d }.encode(&mut wire).unwrap();
    let mut dec = FrameDecoder::new();
    dec.push(&wire);
    assert_eq!(
        dec.next_frame(),
        Some(Err(CodecError::TooMany("media lines")))
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512), split in 0usize..512) {
        let mut d = FrameDecoder::new();
        let split = split.min(data.len());
        d.push(&data[..split]);
        while let Some(r) = d.next_frame() { let _ = r; }
        d.push(&data[split..]);
        while let Some(r) = d.next_frame() { let _ = r; }
        prop_assert!(d.buffered() <= data.len());
    }

    #[test]
    fn corrupted_frames_never_panic(idx in 0usize..14, pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let frame = &all_frames()[idx];
        let mut wire = BytesMut::new();
        frame.encode(&mut wire).unwrap();
        let i = pos.index(wire.len());
        wire[i] = byte;
        let mut d = FrameDecoder::new();
        d.push(&wire);
        while let Some(r) = d.next_frame() { let _ = r; }
    }

    #[test]
    fn messages_round_trip(id in 0u64..=varint::MAX, ct in "[a-z]{1,10}/[a-z+.-]{1,20}", body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let frame = Frame::Message { id, content_type: ct, body: Bytes::from(body) };
        let mut wire = BytesMut::new();
        frame.encode(&mut wire).unwrap();
        let mut d = FrameDecoder::new();
        d.push(&wire);
        prop_assert_eq!(d.next_frame().unwrap().unwrap(), frame);
    }
}
