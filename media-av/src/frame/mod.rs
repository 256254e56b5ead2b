//! Audio and video frames.
