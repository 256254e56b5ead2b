//! Media sources: tone, test pattern, WAV, Y4M.
