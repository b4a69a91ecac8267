//! The `xptp` command.
use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use xptp_control::decode::{decode_file, Format};

/// xptp: a kernel-bypass IEEE 1588-2019 PTP appliance.
#[derive(Debug, Parser)]
#[command(name = "xptp", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the PTP messages in a pcap/pcapng capture, one per line, then a summary.
    Decode {
        /// Capture file (pcap or pcapng; Ethernet or Linux cooked link type).
        file: PathBuf,
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Decode { file, json } => {
            let stdout = io::stdout();
            let mut out = io::BufWriter::new(stdout.lock());
            let format = if json { Format::Json } else { Format::Text };
            decode_file(&file, format, &mut out)
                .with_context(|| format!("xptp decode {}", file.display()))?;
            out.flush().context("writing to stdout")?;
        }
    }
    Ok(())
}
