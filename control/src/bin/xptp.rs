//! The `xptp` command.
use clap::{Parser, Subcommand};

/// xptp: a kernel-bypass IEEE 1588-2019 PTP appliance.
#[derive(Debug, Parser)]
#[command(name = "xptp", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Configuration files (ptp4l.conf syntax).
    #[command(subcommand)]
    Config(xptp_control::config::cli::ConfigCommand),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Config(c)) => std::process::exit(xptp_control::config::cli::run(
            &c,
            &mut std::io::stdout(),
            &mut std::io::stderr(),
        )),
        None => {}
    }
    Ok(())
}
