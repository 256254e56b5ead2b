//! The one-shot user-agent commands: `ucc call`, `ucc message` and `ucc register`.
//! Each starts a user agent from the same settings as `ucc agent` (flags over
//! `--config`), does one thing with bounded waits, prints one line and exits with the
//! code of [`crate::exit::CliError`].

pub(crate) mod call;
pub(crate) mod message;
pub(crate) mod register;
