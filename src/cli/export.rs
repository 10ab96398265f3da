//! `fangsheng export` (being built).

use clap::Args as ClapArgs;

/// Flags of `fangsheng export`.
#[derive(Debug, ClapArgs)]
pub struct Args {}

/// Runs the subcommand.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
