//! `xptp lab`: a whole PTP network on one machine, in network namespaces joined by veth links,
//! that never touches the machine's clock.
//!
//! ```text
//!  [gm] ptp4l grandmaster (software timestamps, CLOCK_REALTIME as its time)
//!    | eth0 — p1
//!  [tc|bc] xptp run on the AF_XDP datapath: E2E or P2P transparent clock (fast path), or a
//!    |     boundary clock on its own virtual clock
//!    | p2 — eth0                    | p3 — eth0
//!  [xptp] xptp run slave            [ptp4l] ptp4l slave, free_running 1
//!         virtual clock started +100 µs, +30 ppm off
//! ```
//!
//! The xptp slave's clock is virtual, so its *true* error (virtual clock − CLOCK_REALTIME, the
//! grandmaster's time) is known at every instant; the ptp4l slave shares the host clock, so its
//! true offset is 0 and whatever it measures is its measurement error. The lab prints a live
//! table, a summary (lock, true-error percentiles, both slaves' measured offsets), writes an SVG
//! plot, and removes everything it created: on normal exit, on error, and on Ctrl-C / SIGTERM
//! (the daemons run in their own process groups, so the terminal's Ctrl-C reaches only the lab,
//! which stops them in order). `--keep` leaves the network running for inspection.
//!
//! Modules: [`report`] (series, statistics, table and summary), [`plot`] (the SVG).

pub mod plot;
pub mod report;

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::linuxptp::{DelayMechanism, Ptp4l, Ptp4lConfig, Transport};
use super::netns::{self, veth, Netns, NS_PREFIX};
use super::xptp_run::{self, XptpRun};
use report::{Ptp4lSample, Row, Summary, XptpSample};

/// The network in the middle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Topology {
    /// xptp end-to-end transparent clock (IEEE 1588-2019 10.2) on the fast path.
    #[default]
    #[value(name = "e2e-tc")]
    E2eTc,
    /// xptp peer-to-peer transparent clock (10.3); every link measures its peer delay.
    #[value(name = "p2p-tc")]
    P2pTc,
    /// xptp boundary clock with three ports on its own virtual clock.
    Bc,
}

impl Topology {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Topology::E2eTc => "e2e-tc",
            Topology::P2pTc => "p2p-tc",
            Topology::Bc => "bc",
        }
    }

    fn delay(self) -> DelayMechanism {
        match self {
            Topology::P2pTc => DelayMechanism::P2P,
            Topology::E2eTc | Topology::Bc => DelayMechanism::E2E,
        }
    }

    fn middle(self) -> &'static str {
        match self {
            Topology::E2eTc => "xptp E2E transparent clock",
            Topology::P2pTc => "xptp P2P transparent clock",
            Topology::Bc => "xptp boundary clock (virtual clock)",
        }
    }
}

/// `xptp lab` options.
#[derive(Clone, Debug, clap::Args)]
pub struct LabArgs {
    /// How long to run (seconds).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(5..=86_400))]
    pub duration: u64,
    /// What sits between the grandmaster and the two slaves.
    #[arg(long, value_enum, default_value = "e2e-tc")]
    pub topology: Topology,
    /// Leave the namespaces and daemons running at the end, for inspection (prints how to
    /// query and remove them).
    #[arg(long)]
    pub keep: bool,
    /// Where to write the plot of time error over time (SVG).
    #[arg(long, value_name = "FILE", default_value = "xptp-lab.svg")]
    pub plot: PathBuf,
    /// Print the table rows and the summary as JSON lines instead of text.
    #[arg(long)]
    pub json: bool,
    /// Initial offset of the xptp slave's virtual clock from the truth (ns).
    #[arg(long, default_value_t = 100_000, allow_hyphen_values = true)]
    pub slave_offset_ns: i64,
    /// Frequency error of the xptp slave's virtual oscillator (ppb).
    #[arg(long, default_value_t = 30_000.0, allow_hyphen_values = true)]
    pub slave_freq_ppb: f64,
    /// Remove what earlier `--keep` runs (or killed labs) left behind, then exit.
    #[arg(long)]
    pub clean: bool,
}

/// Why `xptp lab` could not run.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// Not root.
    #[error(
        "xptp lab needs root: it creates network namespaces and veth links and attaches XDP \
         programs (it never changes the machine's clock); run `sudo xptp lab`"
    )]
    NotRoot,
    /// A system tool is missing.
    #[error("`{0}` not found in PATH: install iproute2 and linuxptp (scripts/setup, as root)")]
    MissingTool(&'static str),
    /// The harness failed (namespaces, processes, pmc).
    #[error(transparent)]
    Harness(#[from] super::Error),
    /// A daemon died while the lab ran.
    #[error("{what} exited during the lab ({status}); the end of its log:\n{log}")]
    Exited {
        /// Which daemon.
        what: String,
        /// Its exit status.
        status: ExitStatus,
        /// The last lines of its log.
        log: String,
    },
    /// The plot could not be written.
    #[error("{0}")]
    Plot(String),
    /// The own executable could not be found (it runs itself as `xptp run`).
    #[error("cannot find the xptp executable to start `xptp run` with: {0}")]
    Binary(#[source] std::io::Error),
    /// Writing the table failed.
    #[error("writing output: {0}")]
    Output(#[source] std::io::Error),
}

/// What a finished (or interrupted) lab reports.
#[derive(Debug)]
pub struct LabOutcome {
    /// The summary.
    pub summary: Summary,
    /// Where the plot went (none if there was nothing to plot).
    pub plot: Option<PathBuf>,
}

fn in_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| {
        std::env::split_paths(&p).any(|d| {
            let f = d.join(tool);
            f.is_file()
        })
    })
}

/// The running network. Field order is drop order: daemons before namespaces, namespaces
/// before the work directory.
struct Network {
    xslave: XptpRun,
    pslave: Ptp4l,
    mid: XptpRun,
    gm: Ptp4l,
    namespaces: Vec<Netns>,
    work: tempfile::TempDir,
}

const MID_IFS: [&str; 3] = ["p1", "p2", "p3"];

fn common_intervals() -> Vec<String> {
    [
        "logAnnounceInterval=-2",
        "announceReceiptTimeout=3",
        "logSyncInterval=-2",
        "logMinDelayReqInterval=-2",
        "logMinPdelayReqInterval=-2",
    ]
    .iter()
    .flat_map(|kv| ["--set".to_owned(), (*kv).to_owned()])
    .collect()
}

fn build(args: &LabArgs, bin: &Path) -> Result<Network, LabError> {
    let work = tempfile::Builder::new()
        .prefix(&format!("xptp-lab-{}-", std::process::id()))
        .tempdir()
        .map_err(|source| super::Error::Io {
            path: std::env::temp_dir(),
            source,
        })?;
    let topo = args.topology;
    let gm_ns = Netns::new("lab-gm")?;
    let mid_ns = Netns::new(match topo {
        Topology::Bc => "lab-bc",
        _ => "lab-tc",
    })?;
    let x_ns = Netns::new("lab-xptp")?;
    let p_ns = Netns::new("lab-ptp4l")?;
    veth(&mid_ns, MID_IFS[0], &gm_ns, "eth0")?;
    veth(&mid_ns, MID_IFS[1], &x_ns, "eth0")?;
    veth(&mid_ns, MID_IFS[2], &p_ns, "eth0")?;

    let delay = topo.delay();
    let (d_flag, tc_type) = match delay {
        DelayMechanism::E2E => ("-E", "clock_type=E2E_TC"),
        DelayMechanism::P2P => ("-P", "clock_type=P2P_TC"),
    };
    let gm = Ptp4l::spawn_in(
        &gm_ns,
        "eth0",
        &Ptp4lConfig::master(Transport::L2, delay),
        work.path(),
    )?;

    let intervals = common_intervals();
    let mut mid_args: Vec<String> = Vec::new();
    for i in MID_IFS {
        mid_args.extend(["-i".into(), i.into()]);
    }
    mid_args.extend(["-2", d_flag, "-S", "-m", "--clock", "virtual"].map(String::from));
    match topo {
        Topology::Bc => mid_args.extend(
            [
                // ptp4l's software-timestamping grandmaster sends CLOCK_REALTIME.
                "--virtual-truth",
                "realtime",
                "--virtual-offset-ns",
                "-20000",
                "--virtual-freq-ppb",
                "-10000",
                "--set",
                "clock_servo=kalman",
                "--set",
                "summary_interval=-2",
            ]
            .map(String::from),
        ),
        _ => mid_args.extend(["--set".into(), tc_type.into()]),
    }
    mid_args.extend(intervals.iter().cloned());
    let mid_ref: Vec<&str> = mid_args.iter().map(String::as_str).collect();
    let mid = XptpRun::spawn_in(&mid_ns, bin, &mid_ref, work.path())?;

    let off = args.slave_offset_ns.to_string();
    let freq = args.slave_freq_ppb.to_string();
    let mut x_args: Vec<&str> = vec![
        "-i",
        "eth0",
        "-2",
        d_flag,
        "-S",
        "-s",
        "-m",
        "--clock",
        "virtual",
        "--virtual-offset-ns",
        &off,
        "--virtual-freq-ppb",
        &freq,
        "--virtual-truth",
        "realtime",
        // xptp's best servo under software-timestamp noise; ptp4l's PI constants for software
        // timestamps wait ~30 s before their first frequency estimate.
        "--set",
        "clock_servo=kalman",
        "--set",
        "summary_interval=-2",
    ];
    x_args.extend(intervals.iter().map(String::as_str));
    let xslave = XptpRun::spawn_in(&x_ns, bin, &x_args, work.path())?;
    let pslave = Ptp4l::spawn_in(
        &p_ns,
        "eth0",
        &Ptp4lConfig::slave(Transport::L2, delay),
        work.path(),
    )?;
    Ok(Network {
        xslave,
        pslave,
        mid,
        gm,
        namespaces: vec![gm_ns, mid_ns, x_ns, p_ns],
        work,
    })
}

/// Reads a growing log file line by line.
struct Tail {
    path: PathBuf,
    pos: u64,
    partial: String,
}

impl Tail {
    fn new(path: &Path) -> Self {
        Tail {
            path: path.to_owned(),
            pos: 0,
            partial: String::new(),
        }
    }

    fn new_lines(&mut self) -> Vec<String> {
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return Vec::new();
        };
        let mut buf = String::new();
        if f.seek(SeekFrom::Start(self.pos)).is_err() || f.read_to_string(&mut buf).is_err() {
            return Vec::new();
        }
        self.pos += buf.len() as u64;
        self.partial.push_str(&buf);
        let mut lines: Vec<String> = self.partial.split('\n').map(str::to_owned).collect();
        self.partial = lines.pop().unwrap_or_default();
        lines
    }
}

/// The last `n` lines of a file.
fn log_tail(path: &Path, n: usize) -> String {
    let s = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// What one `xptp run` log has said so far.
#[derive(Default)]
struct XptpView {
    state: Option<String>,
    samples: Vec<XptpSample>,
    tc_forwarded: Option<u64>,
}

impl XptpView {
    fn absorb(&mut self, lines: &[String], start_sod: f64) {
        for l in lines {
            if let Some(s) = xptp_run::parse_summary(l) {
                let t = xptp_run::parse_time_of_day(l)
                    .map(|sod| (sod - start_sod).rem_euclid(86_400.0))
                    .unwrap_or(0.0);
                self.samples.push(XptpSample {
                    t,
                    offset_ns: s.offset_ns,
                    servo: s.servo,
                    path_delay_ns: s.path_delay_ns,
                    freq_ppb: s.freq_ppb,
                    true_error_ns: s.true_error_ns.unwrap_or(0),
                });
            } else if let Some((1, st)) = xptp_run::parse_port_state(l) {
                self.state = Some(st);
            } else if let Some(f) = xptp_run::parse_tc_forwarded(l) {
                self.tc_forwarded = Some(f);
            }
        }
    }
}

/// One pmc poll of the ptp4l slave.
struct Ptp4lPoll {
    state: String,
    /// (ingress time ns, offset ns, path delay ns) when it has a measurement.
    measurement: Option<(i128, i64, i64)>,
}

/// pmc over the ptp4l slave's UNIX socket, inside its namespace.
#[derive(Clone, Debug)]
struct PmcClient {
    ns: String,
    uds: PathBuf,
}

impl PmcClient {
    fn pmc(&self, commands: &[&str]) -> Option<Vec<super::linuxptp::PmcResponse>> {
        let out = netns::run(
            std::process::Command::new("ip")
                .args(["netns", "exec", &self.ns, "pmc", "-u", "-b", "0", "-s"])
                .arg(&self.uds)
                .args(commands),
        )
        .ok()?;
        Some(super::linuxptp::parse_pmc_output(&String::from_utf8_lossy(
            &out.stdout,
        )))
    }

    fn poll(&self, p2p: bool) -> Option<Ptp4lPoll> {
        let r = self.pmc(&[
            "GET PORT_DATA_SET",
            "GET TIME_STATUS_NP",
            "GET CURRENT_DATA_SET",
        ])?;
        let get = |tlv: &str, key: &str| {
            r.iter()
                .find(|x| x.tlv == tlv)
                .and_then(|x| x.get(key))
                .map(str::to_owned)
        };
        let int = |v: Option<String>| -> Option<i64> { v?.split('.').next()?.parse().ok() };
        let state = get("PORT_DATA_SET", "portState")?;
        let ingress: Option<i128> =
            get("TIME_STATUS_NP", "ingress_time").and_then(|v| v.parse().ok());
        let offset = int(get("TIME_STATUS_NP", "master_offset"));
        let delay = if p2p {
            int(get("PORT_DATA_SET", "peerMeanPathDelay"))
        } else {
            int(get("CURRENT_DATA_SET", "meanPathDelay"))
        };
        let gm = get("TIME_STATUS_NP", "gmPresent").as_deref() == Some("true");
        let measurement = match (ingress, offset, delay) {
            // Right after SLAVE, before its first delay measurement, ptp4l reports 0 / 0.
            (Some(i), Some(o), Some(d)) if i != 0 && d != 0 && gm => Some((i, o, d)),
            _ => None,
        };
        if state == "UNCALIBRATED" {
            // A free-running ptp4l stays UNCALIBRATED until told its time is certain.
            let _ = self.pmc(&["SET SYNCHRONIZATION_UNCERTAIN_NP 0"]);
        }
        Some(Ptp4lPoll { state, measurement })
    }

    /// Polls every 200 ms on its own thread (a pmc round trip can take a good part of a
    /// second on a loaded machine) until `done` is set.
    fn spawn_poller(
        self,
        p2p: bool,
        done: std::sync::Arc<AtomicBool>,
    ) -> std::sync::mpsc::Receiver<Ptp4lPoll> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if let Some(p) = self.poll(p2p) {
                    if tx.send(p).is_err() {
                        break;
                    }
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        rx
    }
}

fn realtime_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[derive(Serialize)]
struct JsonLine<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(flatten)]
    body: T,
}

fn emit_json<T: Serialize>(out: &mut dyn Write, kind: &str, body: T) -> Result<(), LabError> {
    let line = serde_json::to_string(&JsonLine { kind, body })
        .map_err(|e| LabError::Output(std::io::Error::other(e)))?;
    writeln!(out, "{line}").map_err(LabError::Output)
}

#[derive(Serialize)]
struct StartInfo<'a> {
    topology: &'a str,
    duration_s: u64,
    namespaces: Vec<String>,
    work_dir: String,
}

#[derive(Serialize)]
struct SummaryLine<'a> {
    #[serde(flatten)]
    summary: &'a Summary,
    plot: Option<String>,
}

/// Runs the lab until `duration` has passed or `stop` is set; writes the table and summary to
/// `out`. Everything created is removed before returning (unless `--keep`), also on error.
pub fn run(args: &LabArgs, stop: &AtomicBool, out: &mut dyn Write) -> Result<LabOutcome, LabError> {
    if !netns::is_root() {
        return Err(LabError::NotRoot);
    }
    for tool in ["ip", "ptp4l", "pmc"] {
        if !in_path(tool) {
            return Err(LabError::MissingTool(tool));
        }
    }
    let bin = std::env::current_exe().map_err(LabError::Binary)?;
    // Ctrl-C in the terminal must reach only the lab; it stops the daemons itself.
    netns::spawn_in_own_process_group(true);
    let say = |out: &mut dyn Write, s: String| -> Result<(), LabError> {
        if args.json {
            Ok(())
        } else {
            writeln!(out, "{s}").map_err(LabError::Output)
        }
    };
    let topo = args.topology;
    say(
        out,
        format!(
            "lab: {}: ptp4l grandmaster -> {} on the AF_XDP datapath -> xptp slave (virtual clock \
             {:+} us, {:+} ppm off) and ptp4l slave (free_running); software timestamps on veth",
            topo.name(),
            topo.middle(),
            args.slave_offset_ns as f64 / 1000.0,
            args.slave_freq_ppb / 1000.0
        ),
    )?;
    let start_rt = realtime_s();
    let start_sod = start_rt.rem_euclid(86_400.0);
    let started = Instant::now();
    let mut net = build(args, &bin)?;
    let names: Vec<String> = net.namespaces.iter().map(|n| n.name().to_owned()).collect();
    if args.json {
        emit_json(
            out,
            "start",
            StartInfo {
                topology: topo.name(),
                duration_s: args.duration,
                namespaces: names.clone(),
                work_dir: net.work.path().display().to_string(),
            },
        )?;
    } else {
        say(out, format!("lab: namespaces {}", names.join(", ")))?;
        say(
            out,
            format!(
                "lab: running for {} s (Ctrl-C stops early; everything is removed on exit{})",
                args.duration,
                if args.keep { " except with --keep" } else { "" }
            ),
        )?;
        say(out, report::header())?;
    }

    let p2p = topo.delay() == DelayMechanism::P2P;
    let mut xtail = Tail::new(net.xslave.log_path());
    let mut mtail = Tail::new(net.mid.log_path());
    let mut xv = XptpView::default();
    let mut mv = XptpView::default();
    let mut psamples: Vec<Ptp4lSample> = Vec::new();
    let mut pstate = String::from("-");
    let mut last_ingress = 0i128;
    let mut next_row = 1.0f64;
    let duration = Duration::from_secs(args.duration);
    let poller_done = std::sync::Arc::new(AtomicBool::new(false));
    let polls = PmcClient {
        ns: names.get(3).cloned().unwrap_or_default(),
        uds: net.pslave.uds().to_owned(),
    }
    .spawn_poller(p2p, poller_done.clone());
    let result: Result<(), LabError> = loop {
        if stop.load(Ordering::Relaxed) || started.elapsed() >= duration {
            break Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
        xv.absorb(&xtail.new_lines(), start_sod);
        mv.absorb(&mtail.new_lines(), start_sod);
        for p in polls.try_iter() {
            if let (Some((ing, off, d)), "SLAVE") = (p.measurement, p.state.as_str()) {
                if ing != last_ingress {
                    last_ingress = ing;
                    psamples.push(Ptp4lSample {
                        t: ing as f64 / 1e9 - start_rt,
                        offset_ns: off,
                        path_delay_ns: d,
                    });
                }
            }
            pstate = p.state;
        }
        if let Some(e) = exited(&mut net) {
            break Err(e);
        }
        let t = started.elapsed().as_secs_f64();
        if t >= next_row {
            next_row = t.floor() + 1.0;
            let row = Row {
                t: t.floor(),
                xptp_state: xv.state.clone().unwrap_or_else(|| "-".into()),
                xptp: xv.samples.last().copied(),
                ptp4l_state: pstate.clone(),
                ptp4l: psamples.last().copied(),
            };
            if args.json {
                emit_json(out, "row", &row)?;
            } else {
                say(out, row.render())?;
            }
            out.flush().map_err(LabError::Output)?;
        }
    };
    poller_done.store(true, Ordering::Relaxed);
    let completed = result.is_ok() && !stop.load(Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    if let Err(e) = result {
        // Dropping `net` stops the daemons and removes the namespaces.
        drop(net);
        return Err(e);
    }

    let summary = Summary::compute(
        topo.name(),
        elapsed,
        completed,
        &xv.samples,
        &psamples,
        &mv.samples,
        mv.tc_forwarded,
    );
    let plot = if xv.samples.is_empty() && psamples.is_empty() {
        None
    } else {
        plot::write_svg(
            &args.plot,
            &plot::PlotInput {
                title: format!(
                    "xptp lab ({}): ptp4l GM -> {} -> xptp slave / ptp4l slave",
                    topo.name(),
                    topo.middle()
                ),
                xptp: &xv.samples,
                ptp4l: &psamples,
                ptp4l_truth: if topo == Topology::Bc {
                    "its truth is minus the BC's error"
                } else {
                    "its truth is 0"
                },
                lock_t: summary.xptp_time_to_lock_s,
                duration_s: elapsed,
            },
        )
        .map_err(LabError::Plot)?;
        Some(args.plot.clone())
    };

    let kept = if args.keep {
        Some(net)
    } else {
        // A clean stop: SIGTERM lets xptp run detach its XDP programs and log its counters.
        net.xslave.stop();
        net.mid.stop();
        drop(net);
        None
    };
    if args.json {
        emit_json(
            out,
            "summary",
            SummaryLine {
                summary: &summary,
                plot: plot.as_ref().map(|p| p.display().to_string()),
            },
        )?;
    } else {
        write!(out, "{}", summary.render()).map_err(LabError::Output)?;
        if let Some(p) = &plot {
            say(out, format!("lab: plot written to {}", p.display()))?;
        }
        if !args.keep {
            let left = netns::leftover_namespaces().unwrap_or_default();
            let still: Vec<&String> = names.iter().filter(|n| left.contains(n)).collect();
            if still.is_empty() {
                say(out, "lab: removed the namespaces, links and daemons".into())?;
            } else {
                say(out, format!("lab: WARNING: could not remove {still:?}"))?;
            }
        }
    }
    if let Some(net) = kept {
        keep(net, out, args.json)?;
    }
    Ok(LabOutcome { summary, plot })
}

/// The first daemon that is no longer running, as an error with the end of its log.
fn exited(net: &mut Network) -> Option<LabError> {
    for (what, r) in [
        ("the xptp slave (xptp run)", &mut net.xslave),
        (
            "the xptp transparent/boundary clock (xptp run)",
            &mut net.mid,
        ),
    ] {
        if let Ok(Some(status)) = r.try_wait() {
            return Some(LabError::Exited {
                what: what.to_owned(),
                status,
                log: log_tail(r.log_path(), 30),
            });
        }
    }
    for (what, p) in [
        ("the ptp4l grandmaster", &mut net.gm),
        ("the ptp4l slave", &mut net.pslave),
    ] {
        if let Ok(Some(status)) = p.try_wait() {
            return Some(LabError::Exited {
                what: what.to_owned(),
                status,
                log: log_tail(p.log_path(), 30),
            });
        }
    }
    None
}

fn keep(net: Network, out: &mut dyn Write, json: bool) -> Result<(), LabError> {
    let Network {
        xslave,
        pslave,
        mid,
        gm,
        namespaces,
        work,
    } = net;
    let (_, xdir) = xslave.keep();
    let (_, pdir) = pslave.keep();
    let (_, _) = mid.keep();
    let (_, _) = gm.keep();
    let names: Vec<String> = namespaces.into_iter().map(Netns::keep).collect();
    let work = work.keep();
    if json {
        return Ok(());
    }
    let w = |out: &mut dyn Write, s: String| writeln!(out, "{s}").map_err(LabError::Output);
    w(
        out,
        format!(
            "lab: --keep: the network is still running; logs, configs and sockets are in {}",
            work.display()
        ),
    )?;
    if let [_, _, xs, ps] = names.as_slice() {
        w(
            out,
            format!(
                "lab:   sudo ip netns exec {ps} pmc -u -b 0 -s {} 'GET TIME_STATUS_NP'",
                pdir.join("ptp4l.sock").display()
            ),
        )?;
        w(
            out,
            format!(
                "lab:   sudo ip netns exec {xs} pmc -u -b 0 -s {} 'GET CURRENT_DATA_SET'",
                xdir.join("xptp.sock").display()
            ),
        )?;
        w(
            out,
            format!("lab:   sudo ip netns exec {xs} tcpdump -ni eth0"),
        )?;
    }
    w(
        out,
        "lab: remove it with `sudo xptp lab --clean` (or kill `ip netns pids NS` and `ip netns del NS` for each)".into(),
    )
}

/// `xptp lab --clean`: removes namespaces and work directories of labs whose process is gone
/// (kept with `--keep`, or killed before they could clean up). Returns what was removed.
pub fn clean(out: &mut dyn Write) -> Result<usize, LabError> {
    if !netns::is_root() {
        return Err(LabError::NotRoot);
    }
    let mut removed = 0;
    let own = std::process::id();
    let dead = |pid: u32| pid != own && !Path::new(&format!("/proc/{pid}")).exists();
    for name in netns::leftover_namespaces()? {
        // xptp-<pid>-<n>-lab-<role>
        let Some(pid) = name
            .strip_prefix(NS_PREFIX)
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !name.contains("-lab-") || !dead(pid) {
            continue;
        }
        let pids = netns::run(std::process::Command::new("ip").args(["netns", "pids", &name]))
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        for p in pids
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
        {
            if let Some(p) = rustix::process::Pid::from_raw(p) {
                let _ = rustix::process::kill_process(p, rustix::process::Signal::TERM);
            }
        }
        std::thread::sleep(Duration::from_millis(500));
        let pids = netns::run(std::process::Command::new("ip").args(["netns", "pids", &name]))
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        for p in pids
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
        {
            if let Some(p) = rustix::process::Pid::from_raw(p) {
                let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
            }
        }
        netns::run(std::process::Command::new("ip").args(["netns", "del", &name]))?;
        writeln!(out, "lab: removed namespace {name}").map_err(LabError::Output)?;
        removed += 1;
    }
    if let Ok(rd) = std::fs::read_dir(std::env::temp_dir()) {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            let pid = n
                .strip_prefix("xptp-lab-")
                .and_then(|r| r.split('-').next())
                .and_then(|p| p.parse::<u32>().ok());
            if let Some(pid) = pid {
                if dead(pid) && std::fs::remove_dir_all(e.path()).is_ok() {
                    writeln!(out, "lab: removed {}", e.path().display())
                        .map_err(LabError::Output)?;
                    removed += 1;
                }
            }
        }
    }
    if removed == 0 {
        writeln!(out, "lab: nothing to remove").map_err(LabError::Output)?;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_returns_whole_lines_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        std::fs::write(&p, "a\nb").unwrap();
        let mut t = Tail::new(&p);
        assert_eq!(t.new_lines(), vec!["a".to_owned()]);
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        write!(f, "c\nd\n").unwrap();
        assert_eq!(t.new_lines(), vec!["bc".to_owned(), "d".to_owned()]);
        assert!(t.new_lines().is_empty());
    }

    #[test]
    fn xptp_view_collects_summaries_states_and_tc_counts() {
        let mut v = XptpView::default();
        let start = 13.0 * 3600.0 + 16.0 * 60.0;
        v.absorb(
            &[
                "2026-11-21T13:16:01.000000Z  INFO port 1: LISTENING to UNCALIBRATED on RS_SLAVE port=1 from=LISTENING to=UNCALIBRATED".into(),
                "2026-11-21T13:16:02.500000Z  INFO master offset -770 s2 freq -17567 path delay 13142 port=1 offset_ns=-770 servo=2 freq_ppb=-17567 path_delay_ns=13142 true_error_ns=4358".into(),
                "2026-11-21T13:16:03.000000Z  INFO tc E2e: 10 frames forwarded forwarded=10 follow_ups=2 pdelay_resp=0".into(),
            ],
            start,
        );
        assert_eq!(v.state.as_deref(), Some("UNCALIBRATED"));
        assert_eq!(v.samples.len(), 1);
        assert!((v.samples[0].t - 2.5).abs() < 1e-6);
        assert_eq!(v.samples[0].true_error_ns, 4358);
        assert_eq!(v.tc_forwarded, Some(10));
    }

    #[test]
    fn refuses_without_root_with_the_fix() {
        if netns::is_root() {
            return;
        }
        let args = LabArgs {
            duration: 5,
            topology: Topology::E2eTc,
            keep: false,
            plot: "x.svg".into(),
            json: false,
            slave_offset_ns: 0,
            slave_freq_ppb: 0.0,
            clean: false,
        };
        let err = run(&args, &AtomicBool::new(false), &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("sudo xptp lab"), "{err}");
    }
}
