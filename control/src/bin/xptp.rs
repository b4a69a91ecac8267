//! The `xptp` command.
use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use xptp_control::decode::{decode_file, Format};
use xptp_control::watch::{watch, WatchOptions};
use xptp_ebpf::AttachMode;

/// xptp: a kernel-bypass IEEE 1588-2019 PTP appliance.
#[derive(Debug, Parser)]
#[command(
    name = "xptp",
    version,
    about = "xptp: a kernel-bypass IEEE 1588-2019 PTP appliance"
)]
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
    /// Attach the XDP/AF_XDP datapath to an interface and print every PTP frame it receives,
    /// with its XDP-ingress timestamp, then what was steered, dropped and how fast (root).
    Watch {
        /// Interface to attach to.
        #[arg(short = 'i', long = "interface")]
        ifname: String,
        /// RX queue for the AF_XDP socket.
        #[arg(long, default_value_t = 0)]
        queue: u32,
        /// XDP attach mode.
        #[arg(long, value_enum, default_value = "auto")]
        mode: ModeArg,
        /// Try the NIC hardware RX-timestamp build of the XDP program first.
        #[arg(long)]
        hw_timestamps: bool,
        /// Pin the datapath worker to this core.
        #[arg(long)]
        core: Option<usize>,
        /// Stop after N PTP frames.
        #[arg(short = 'c', long)]
        count: Option<u64>,
        /// Stop after this many seconds.
        #[arg(short = 't', long)]
        seconds: Option<f64>,
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run the PTP daemon (ptp4l's options: -f FILE -i IFACE -2 -4 -6 -E -P -S -H -s -m -q
    /// -l N) on the XDP/AF_XDP datapath until SIGINT/SIGTERM (root or CAP_BPF, CAP_NET_ADMIN,
    /// CAP_NET_RAW).
    Run(Box<xptp_control::daemon::RunArgs>),
    /// Configuration files (ptp4l.conf syntax).
    #[command(subcommand)]
    Config(xptp_control::config::cli::ConfigCommand),
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ModeArg {
    Auto,
    Native,
    Skb,
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
        Command::Watch {
            ifname,
            queue,
            mode,
            hw_timestamps,
            core,
            count,
            seconds,
            json,
        } => {
            tracing_subscriber::fmt()
                .with_writer(io::stderr)
                .with_ansi(io::IsTerminal::is_terminal(&io::stderr()))
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "info".into()),
                )
                .init();
            let stop = Arc::new(AtomicBool::new(false));
            for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
                signal_hook::flag::register(sig, stop.clone())
                    .context("installing the SIGINT/SIGTERM handler")?;
            }
            let opts = WatchOptions {
                ifname,
                queue,
                mode: match mode {
                    ModeArg::Auto => AttachMode::Auto,
                    ModeArg::Native => AttachMode::Native,
                    ModeArg::Skb => AttachMode::Skb,
                },
                hw_timestamps,
                core,
                count,
                duration: seconds.map(Duration::from_secs_f64),
                format: if json { Format::Json } else { Format::Text },
            };
            let stdout = io::stdout();
            let mut out = io::LineWriter::new(stdout.lock());
            let report = watch(&opts, &stop, &mut out)
                .with_context(|| format!("xptp watch -i {}", opts.ifname))?;
            eprint!("{report}");
        }
        Command::Run(args) => {
            let stop = Arc::new(AtomicBool::new(false));
            for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
                signal_hook::flag::register(sig, stop.clone())
                    .context("installing the SIGINT/SIGTERM handler")?;
            }
            if let Err(e) = xptp_control::daemon::run(&args, &stop) {
                eprintln!("xptp run: {e}");
                std::process::exit(e.exit_code());
            }
        }
        Command::Config(c) => std::process::exit(xptp_control::config::cli::run(
            &c,
            &mut std::io::stdout(),
            &mut std::io::stderr(),
        )),
    }
    Ok(())
}
