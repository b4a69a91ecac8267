//! `xptp-bench`: side-by-side benchmarks of xptp, ptp4l 3.1.1 and the kernel bound on veth
//! pairs between fresh network namespaces. Needs root. See bench/README.md.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use xptp_bench::loadgen::{self, LoadConfig, Request, TxBackend, Wire};
use xptp_bench::report::{Machine, Report};
use xptp_bench::scenario::{self, Opts};
use xptp_bench::target;

#[derive(Parser, Debug)]
#[command(name = "xptp-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Capacity,
    Latency,
    Stall,
    Tc,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Runs scenarios back to back against each target.
    Run {
        /// Scenarios (comma separated).
        #[arg(long, value_delimiter = ',', default_values = ["capacity", "latency"])]
        scenario: Vec<Scenario>,
        /// Targets (comma separated): ptp4l, kernel, xptp (fast path alone), xptp-run (the
        /// daemon, sleeping worker), xptp-run-1core (the same, all on one core), xptp-run-busy (the daemon, `--cores`, busy-polling worker).
        #[arg(long, value_delimiter = ',', default_values = ["ptp4l", "kernel"])]
        target: Vec<String>,
        /// Transports (comma separated).
        #[arg(long, value_delimiter = ',', default_values = ["l2", "udp4"])]
        wire: Vec<Wire>,
        /// About one minute in total: 1 s windows, one bisection step, 3 s stall flood.
        #[arg(long)]
        quick: bool,
        /// Measurement window per step (seconds); default 10 (full) or 1 (quick).
        #[arg(long)]
        window: Option<f64>,
        /// Generator transmit path.
        #[arg(long, value_enum, default_value = "af-xdp")]
        tx: TxBackend,
        /// Distinct sourcePortIdentities of the Delay_Req generator.
        #[arg(long, default_value_t = 256)]
        identities: u32,
        /// Core of the generator thread.
        #[arg(long, default_value_t = 1)]
        gen_core: usize,
        /// Core of the target (ptp4l process).
        #[arg(long, default_value_t = 0)]
        target_core: usize,
        /// Stall test flood rate (default 5× ptp4l's measured capacity, else 950 k/s).
        #[arg(long)]
        stall_rate: Option<u64>,
        /// Write the JSON report here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Write the Markdown summary here.
        #[arg(long)]
        markdown: Option<PathBuf>,
    },
    /// Measures the generator alone (no responder): the send rate of each TX backend.
    GenProbe {
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
        #[arg(long, value_enum, default_value = "l2")]
        wire: Wire,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,libbpf=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    if !xptp_tests::netns::is_root() {
        anyhow::bail!("xptp-bench needs root (network namespaces, XDP, AF_XDP): run it with sudo");
    }
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::GenProbe { seconds, wire } => gen_probe(seconds, wire),
        Cmd::Run {
            scenario,
            target,
            wire,
            quick,
            window,
            tx,
            identities,
            gen_core,
            target_core,
            stall_rate,
            json,
            markdown,
        } => {
            let mut opts = if quick { Opts::quick() } else { Opts::full() };
            if let Some(w) = window {
                opts.window = Duration::from_secs_f64(w);
            }
            opts.tx = tx;
            opts.identities = identities;
            opts.gen_core = Some(gen_core);
            opts.target_core = Some(target_core);
            let mut report = Report {
                machine: Some(Machine::collect(&format!("{tx:?}"))),
                quick,
                ..Report::default()
            };
            for sc in &scenario {
                for tname in &target {
                    for &w in &wire {
                        let mut t = target::by_name(tname)?;
                        let label = format!("{sc:?} / {tname} / {}", w.name());
                        eprintln!("== {label}");
                        let r = match sc {
                            Scenario::Capacity => {
                                scenario::capacity(t.as_mut(), w, &opts).map(|r| {
                                    report.capacity.push(r);
                                })
                            }
                            Scenario::Latency => scenario::latency(t.as_mut(), w, &opts).map(|r| {
                                report.latency.push(r);
                            }),
                            Scenario::Stall => {
                                let mut o = opts.clone();
                                o.stall_rate = stall_rate.unwrap_or_else(|| {
                                    report
                                        .capacity
                                        .iter()
                                        .find(|c| c.target == "ptp4l" && c.wire == w)
                                        .map(|c| c.capacity * 5)
                                        .filter(|&c| c > 0)
                                        .unwrap_or(opts.stall_rate)
                                });
                                if !t.sends_sync() {
                                    report.skipped.push(format!(
                                        "{label}: {tname} sends no Sync here (no master to stall)"
                                    ));
                                    continue;
                                }
                                scenario::stall(t.as_mut(), w, &o).map(|r| report.stall.push(r))
                            }
                            Scenario::Tc => {
                                if tname == "kernel" || w != Wire::L2 {
                                    report.skipped.push(format!(
                                        "{label}: {}",
                                        if tname == "kernel" {
                                            "the kernel bound is no transparent clock"
                                        } else {
                                            "TC scenario runs on L2 only"
                                        }
                                    ));
                                    continue;
                                }
                                scenario::tc(t.as_mut(), w, &opts).map(|r| report.tc.push(r))
                            }
                        };
                        if let Err(e) = r {
                            eprintln!("!! {label}: {e}");
                            report.skipped.push(format!("{label}: {e}"));
                        }
                    }
                }
            }
            if let Some(m) = &mut report.machine {
                m.loadavg_end = std::fs::read_to_string("/proc/loadavg")
                    .unwrap_or_default()
                    .trim()
                    .to_string();
            }
            report.compute_ratios();
            let md = report.markdown();
            println!("{md}");
            if let Some(p) = json {
                std::fs::write(&p, serde_json::to_string_pretty(&report)?)
                    .with_context(|| format!("writing {}", p.display()))?;
            }
            if let Some(p) = markdown {
                std::fs::write(&p, md).with_context(|| format!("writing {}", p.display()))?;
            }
            Ok(())
        }
    }
}

/// Sends Delay_Req flat out into a veth whose far end only drops (nothing listens), with each
/// TX backend, and prints the rates: which backend can outrun the targets.
fn gen_probe(seconds: f64, wire: Wire) -> anyhow::Result<()> {
    let lab = xptp_tests::netns::Lab::pair("genprobe")?;
    let g = lab.node(1);
    println!("| TX backend | wire | sent/s |\n|---|---|---|");
    for tx in [TxBackend::AfXdp, TxBackend::AfPacket] {
        let mac: Vec<u8> = g
            .mac
            .split(':')
            .filter_map(|p| u8::from_str_radix(p, 16).ok())
            .collect();
        let mut c = LoadConfig::new(
            &g.ifname,
            mac.try_into().unwrap_or([2, 0, 0, 0, 0, 2]),
            g.ipv4,
        );
        c.netns = Some(g.ns.name().to_string());
        c.request = Request::DelayReq;
        c.wire = wire;
        c.duration = Duration::from_secs_f64(seconds);
        c.core = Some(1);
        c.tx = tx;
        let r = loadgen::run(&c)?;
        println!("| {tx:?} | {} | {:.0} |", wire.name(), r.sent_rate);
    }
    Ok(())
}
