//! The `xptp` command.
use clap::Parser;

/// xptp: a kernel-bypass IEEE 1588-2019 PTP appliance.
#[derive(Debug, Parser)]
#[command(name = "xptp", version, about)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
