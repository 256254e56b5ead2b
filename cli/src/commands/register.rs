//! `ucc register`: registers at the registrar, then removes the registration.

use crate::agent::config::{self, Settings};
use crate::agent::media;
use crate::agent::ua::Ua;
use crate::args::RegisterArgs;
use crate::exit::CliError;

/// Registers and unregisters; exit 0, 5 when the registrar refuses the credentials.
pub(crate) async fn run(args: RegisterArgs) -> Result<(), CliError> {
    let settings = Settings::resolve(&args.ua, None, config::any_port)?;
    let Some(registrar) = settings.account.registrar.clone() else {
        return Err(CliError::Usage(
            "register needs a registrar (--registrar or [account] registrar)".into(),
        ));
    };
    let ua = Ua::start(&settings, media::engine(&media::MediaOptions::default())?).await?;
    ua.enable(args.ua.timeout).await?;
    ua.disable(args.ua.timeout).await?;
    println!(
        "registered {} at {registrar} and unregistered",
        ua.endpoint.uri()
    );
    Ok(())
}
