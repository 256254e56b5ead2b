//! Codecs behind encoder/decoder traits: G.711, Opus (libopus), H.264 (openh264).
