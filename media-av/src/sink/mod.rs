//! Media sinks: WAV, Y4M, null.
