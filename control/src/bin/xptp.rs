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
    /// CAP_NET_RAW); SIGHUP re-reads the sa_file (key rotation).
    Run(Box<xptp_control::daemon::RunArgs>),
    /// Ask the running daemon for its state: clock, grandmaster, offset, servo, ports,
    /// counters, datapath mode (a `show ptp`-style table, or JSON).
    Status {
        /// The status socket (`<uds_address>.status`), or the management socket
        /// (`uds_address`) it sits next to. Default: /var/run/xptp.status (or
        /// /var/run/ptp4l.status when only that exists).
        #[arg(short = 's', long = "socket", value_name = "PATH")]
        socket: Option<PathBuf>,
        /// Print the daemon's JSON document instead of the table.
        #[arg(long)]
        json: bool,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 5.0)]
        timeout: f64,
    },
    /// Configuration files (ptp4l.conf syntax).
    #[command(subcommand)]
    Config(xptp_control::config::cli::ConfigCommand),
    /// A whole PTP network on this machine (root; never touches the machine's clock): a ptp4l
    /// grandmaster, an xptp transparent or boundary clock on the AF_XDP datapath, an xptp slave
    /// on a virtual clock and a ptp4l slave, in network namespaces. Prints a live table and a
    /// summary, writes a plot, removes everything on exit (Ctrl-C included).
    Lab(Box<xptp_control::lab::demo::LabArgs>),
}

/// `xptp lab`: exit status 0 when the run completed with the xptp slave locked, 1 on error or
/// when it did not lock, 130 when interrupted.
fn lab(args: &xptp_control::lab::demo::LabArgs) -> i32 {
    use xptp_control::lab::demo;
    let stdout = io::stdout();
    let mut out = io::LineWriter::new(stdout.lock());
    if args.clean {
        return match demo::clean(&mut out) {
            Ok(_) => 0,
            Err(e) => {
                eprintln!("xptp lab --clean: {e}");
                1
            }
        };
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        if let Err(e) = signal_hook::flag::register(sig, stop.clone()) {
            eprintln!("xptp lab: installing the signal handler: {e}");
            return 1;
        }
    }
    match demo::run(args, &stop, &mut out) {
        Ok(o) if !o.summary.completed => {
            eprintln!("xptp lab: interrupted; cleaned up");
            130
        }
        Ok(o) if !o.summary.xptp_locked => {
            eprintln!(
                "xptp lab: the xptp slave did not lock within {} s",
                args.duration
            );
            1
        }
        Ok(_) => 0,
        Err(e) => {
            eprintln!("xptp lab: {e}");
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                130
            } else {
                1
            }
        }
    }
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
            // SIGHUP: re-read the sa_file (key rotation), instead of the default exit.
            let reload = Arc::new(AtomicBool::new(false));
            signal_hook::flag::register(signal_hook::consts::SIGHUP, reload.clone())
                .context("installing the SIGHUP handler")?;
            if let Err(e) = xptp_control::daemon::run(&args, &stop, &reload) {
                eprintln!("xptp run: {e}");
                std::process::exit(e.exit_code());
            }
        }
        Command::Status {
            socket,
            json,
            timeout,
        } => {
            use xptp_control::status::socket::{query_raw, resolve_path};
            let path = resolve_path(socket.as_deref());
            let timeout = Duration::from_secs_f64(timeout.clamp(0.1, 3600.0));
            let raw = match query_raw(&path, timeout) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("xptp status: {e}");
                    std::process::exit(1);
                }
            };
            let mut out = io::stdout().lock();
            if json {
                let v: serde_json::Value =
                    serde_json::from_str(&raw).context("the daemon's answer is not JSON")?;
                serde_json::to_writer_pretty(&mut out, &v).context("writing to stdout")?;
                writeln!(out).context("writing to stdout")?;
            } else {
                let st: xptp_control::status::Status =
                    serde_json::from_str(&raw).with_context(|| {
                        format!(
                            "{}: unreadable status document (is this xptp the daemon's version?)",
                            path.display()
                        )
                    })?;
                out.write_all(xptp_control::status::table::render(&st).as_bytes())
                    .context("writing to stdout")?;
            }
        }
        Command::Lab(args) => std::process::exit(lab(&args)),
        Command::Config(c) => std::process::exit(xptp_control::config::cli::run(
            &c,
            &mut std::io::stdout(),
            &mut std::io::stderr(),
        )),
    }
    Ok(())
}
