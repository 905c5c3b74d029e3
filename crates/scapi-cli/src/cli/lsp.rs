//! `scapi lsp`: the language server (crate `scapi-lsp`) with the settings
//! of `scapi.toml`.

use super::config::ConfigArgs;
use super::{CliError, Exit};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Talk LSP over standard input and output (the only transport; the
    /// flag is accepted because clients pass it).
    #[arg(long)]
    stdio: bool,
    #[command(flatten)]
    config: ConfigArgs,
}

pub fn run(args: Args) -> Exit {
    let _ = args.stdio;
    let settings = match super::config::settings(&args.config, None, None, &[]) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    match scapi_lsp::run(settings) {
        Ok(true) => Exit::Success,
        Ok(false) => Exit::Negative,
        Err(e) => CliError::Lsp(e).report(),
    }
}
