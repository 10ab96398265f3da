//! `fangsheng diagnose` (being built).

use clap::Args as ClapArgs;

/// Flags of `fangsheng diagnose`.
#[derive(Debug, ClapArgs)]
pub struct Args {}

/// Runs the subcommand.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
