//! Dialogs (RFC 3261 §12): sans-IO dialog state.
