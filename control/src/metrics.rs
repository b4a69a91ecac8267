//! `xptp run --metrics ADDR`: the daemon's [`Status`] as OpenMetrics text (the format
//! Prometheus scrapes; `Content-Type: application/openmetrics-text; version=1.0.0`) on
//! `GET /metrics`, encoded by the prometheus org's `prometheus-client` crate.
//!
//! The HTTP side is a minimal HTTP/1.0-style server on a std `TcpListener` in its own thread
//! (one request per connection, `Connection: close`, 2 s I/O timeouts). Each scrape asks the
//! [`StatusHub`] for a fresh snapshot (waiting at most 300 ms for the control loop) and
//! encodes it through a [`Collector`]; nothing here touches the protocol core or the
//! datapath. Without `--metrics` nothing listens. `--metrics` alone binds
//! [`DEFAULT_METRICS_ADDR`]; a bare port binds 127.0.0.1:PORT; any other address is bound as
//! given (the endpoint has no authentication: expose it beyond loopback deliberately).
//!
//! Names (gauges in the PTP world's units, nanoseconds and ppb; latency histograms in
//! seconds): see [`METRIC_NAMES`]. A family without samples (no offset before a port is
//! slave, no residence histogram outside a transparent clock) is left out of the exposition.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::status::{HistogramStatus, Status, StatusHub};

/// `--metrics` without a value.
pub const DEFAULT_METRICS_ADDR: &str = "127.0.0.1:9184";
/// The content type of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// How long a scrape waits for a fresh snapshot.
const FRESH_WAIT: Duration = Duration::from_millis(300);
const IO_TIMEOUT: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_millis(50);
const MAX_REQUEST_HEAD: usize = 8192;

/// Every metric family served (the names as they appear in the exposition, before the
/// `_total` / `_bucket` / `_sum` / `_count` suffixes).
pub const METRIC_NAMES: &[&str] = &[
    "xptp_info",
    "xptp_uptime_seconds",
    "xptp_offset_ns",
    "xptp_path_delay_ns",
    "xptp_frequency_ppb",
    "xptp_servo_state",
    "xptp_steps_removed",
    "xptp_grandmaster_info",
    "xptp_virtual_clock_true_error_ns",
    "xptp_alarms",
    "xptp_alarms_raised",
    "xptp_rogue_masters",
    "xptp_rogue_masters_evicted",
    "xptp_rogue_frames",
    "xptp_rogue_master_info",
    "xptp_rogue_last_seen_seconds",
    "xptp_port_state",
    "xptp_port_info",
    "xptp_port_mean_delay_ns",
    "xptp_port_neighbor_rate_ratio",
    "xptp_rx",
    "xptp_tx",
    "xptp_port_events",
    "xptp_dropped",
    "xptp_xdp_frames",
    "xptp_datapath_dropped",
    "xptp_worker_frames",
    "xptp_fast_path",
    "xptp_control",
    "xptp_offset_abs_ns",
    "xptp_residence_time_seconds",
    "xptp_delay_req_handling_seconds",
    "xptp_pdelay_turnaround_seconds",
    "xptp_phc2sys_offset_ns",
    "xptp_phc2sys_frequency_ppb",
    "xptp_phc2sys_state",
    "xptp_phc2sys_delay_ns",
    "xptp_phc2sys_true_error_ns",
    "xptp_phc2sys_updates",
];

/// ptp4l's servo state names as numbers: 0 unlocked (s0), 1 jump (s1), 2 locked (s2).
fn servo_code(state: &str) -> i64 {
    match state {
        "s1" => 1,
        "s2" => 2,
        _ => 0,
    }
}

/// `--metrics` values: `HOST:PORT`, a bare `PORT` (on 127.0.0.1) or nothing (the default).
pub fn parse_metrics_addr(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    if s.is_empty() {
        return DEFAULT_METRICS_ADDR.parse().map_err(|e| format!("{e}"));
    }
    if let Ok(port) = s.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    s.parse().map_err(|_| {
        format!(
            "{s:?} is not an address: give HOST:PORT (e.g. 127.0.0.1:9184 or [::1]:9184) or a port"
        )
    })
}

type Labels = Vec<(&'static str, String)>;

/// `labels` plus one more.
fn with(labels: &Labels, k: &'static str, v: &str) -> Labels {
    let mut l = labels.clone();
    l.push((k, v.to_string()));
    l
}

/// Encodes one snapshot: a [`Collector`] over an immutable [`Status`].
#[derive(Debug)]
struct SnapshotCollector(Arc<Status>);

fn gauges<V: prometheus_client::encoding::EncodeGaugeValue>(
    e: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    samples: &[(Labels, V)],
) -> Result<(), std::fmt::Error> {
    if samples.is_empty() {
        return Ok(());
    }
    let mut m = e.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (l, v) in samples {
        if l.is_empty() {
            m.encode_gauge(v)?;
        } else {
            m.encode_family(l)?.encode_gauge(v)?;
        }
    }
    Ok(())
}

fn counters(
    e: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    samples: &[(Labels, u64)],
) -> Result<(), std::fmt::Error> {
    if samples.is_empty() {
        return Ok(());
    }
    let mut m = e.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (l, v) in samples {
        if l.is_empty() {
            m.encode_counter::<NoLabelSet, u64, u64>(v, None)?;
        } else {
            m.encode_family(l)?
                .encode_counter::<NoLabelSet, u64, u64>(v, None)?;
        }
    }
    Ok(())
}

fn histograms(
    e: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    hs: &[&HistogramStatus],
    labels: impl Fn(&HistogramStatus) -> Labels,
) -> Result<(), std::fmt::Error> {
    if hs.is_empty() {
        return Ok(());
    }
    let mut m = e.encode_descriptor(name, help, None, MetricType::Histogram)?;
    for h in hs {
        let mut buckets: Vec<(f64, u64)> = h
            .bounds
            .iter()
            .copied()
            .zip(h.counts.iter().copied())
            .collect();
        // The +Inf bucket (prometheus-client writes f64::MAX as "+Inf").
        buckets.push((f64::MAX, h.counts.last().copied().unwrap_or(0)));
        let l = labels(h);
        if l.is_empty() {
            m.encode_histogram::<NoLabelSet>(h.sum, h.count(), &buckets, None)?;
        } else {
            m.encode_family(&l)?.encode_histogram::<NoLabelSet>(
                h.sum,
                h.count(),
                &buckets,
                None,
            )?;
        }
    }
    Ok(())
}

impl Collector for SnapshotCollector {
    fn encode(&self, mut e: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let s = &*self.0;
        let c = &s.clock;
        let none = Labels::new;
        gauges(
            &mut e,
            "xptp_info",
            "The daemon: version, clock identity, clock type and disciplined clock (value 1)",
            &[(
                vec![
                    ("version", s.version.clone()),
                    ("clock_identity", c.clock_identity.clone()),
                    ("clock_type", c.clock_type.clone()),
                    ("clock_source", c.clock_source.clone()),
                    ("timestamp_source", c.timestamp_source.clone()),
                ],
                1i64,
            )],
        )?;
        gauges(
            &mut e,
            "xptp_uptime_seconds",
            "Seconds since the daemon started",
            &[(none(), s.uptime_s)],
        )?;
        let opt = |v: Option<i64>| v.map(|v| vec![(none(), v)]).unwrap_or_default();
        gauges(
            &mut e,
            "xptp_offset_ns",
            "Latest offsetFromMaster in nanoseconds (absent until a port is slave)",
            &opt(c.offset_from_master_ns),
        )?;
        gauges(
            &mut e,
            "xptp_path_delay_ns",
            "meanPathDelay used with the latest offset, in nanoseconds",
            &opt(c.mean_path_delay_ns),
        )?;
        let transparent = c.clock_type.ends_with("_TC");
        if !transparent {
            gauges(
                &mut e,
                "xptp_frequency_ppb",
                "Frequency adjustment applied to the disciplined clock, in ppb",
                &[(none(), c.frequency_ppb)],
            )?;
            let servo = servo_code(&c.servo_state);
            gauges(
                &mut e,
                "xptp_servo_state",
                "Servo state as ptp4l prints it: 0 unlocked (s0), 1 jump (s1), 2 locked (s2)",
                &[(none(), servo)],
            )?;
            gauges(
                &mut e,
                "xptp_steps_removed",
                "currentDS.stepsRemoved",
                &[(none(), i64::from(c.steps_removed))],
            )?;
            gauges(
                &mut e,
                "xptp_grandmaster_info",
                "parentDS: grandmaster identity and parent port (value 1; 'self' is 1 when this clock is the grandmaster)",
                &[(
                    vec![
                        ("grandmaster_identity", c.grandmaster_identity.clone()),
                        ("parent_port_identity", c.parent_port_identity.clone()),
                        ("self", (c.is_grandmaster as u8).to_string()),
                    ],
                    1i64,
                )],
            )?;
        }
        gauges(
            &mut e,
            "xptp_virtual_clock_true_error_ns",
            "The virtual clock's error against its truth (CLOCK_TAI or CLOCK_REALTIME), in nanoseconds (virtual clock only)",
            &opt(c.true_error_ns),
        )?;
        if let Some(p) = &s.phc2sys {
            let l =
                || -> Labels { vec![("source", p.source.clone()), ("target", p.target.clone())] };
            let one = |v: Option<i64>| v.map(|v| vec![(l(), v)]).unwrap_or_default();
            gauges(
                &mut e,
                "xptp_phc2sys_offset_ns",
                "phc2sys: target minus (source + offset) at the last update, in nanoseconds",
                &one(p.offset_ns),
            )?;
            gauges(
                &mut e,
                "xptp_phc2sys_frequency_ppb",
                "phc2sys: frequency adjustment of the target, in ppb",
                &[(l(), p.freq_ppb)],
            )?;
            gauges(
                &mut e,
                "xptp_phc2sys_state",
                "phc2sys servo state: 0 unlocked (s0), 1 jump (s1), 2 locked (s2)",
                &[(l(), servo_code(&p.state))],
            )?;
            gauges(
                &mut e,
                "xptp_phc2sys_delay_ns",
                "phc2sys: width of the last source/target read window, in nanoseconds",
                &one(p.delay_ns),
            )?;
            gauges(
                &mut e,
                "xptp_phc2sys_true_error_ns",
                "phc2sys: a virtual target's true error against the source, in nanoseconds (labs only)",
                &one(p.true_error_ns),
            )?;
            let mut m = l();
            m.push(("method", p.method.clone()));
            counters(
                &mut e,
                "xptp_phc2sys_updates",
                "phc2sys updates by outcome",
                &[
                    (with(&m, "outcome", "ok"), p.updates),
                    (with(&m, "outcome", "step"), p.steps),
                    (with(&m, "outcome", "failed"), p.errors),
                ],
            )?;
        }
        gauges(
            &mut e,
            "xptp_alarms",
            "Active alarms (see `xptp status`)",
            &[(none(), s.alarms.len() as i64)],
        )?;
        security(&mut e, &s.security, !transparent)?;

        let pl = |p: &crate::status::PortStatus| -> Labels {
            vec![
                ("port", p.port_number.to_string()),
                ("interface", p.interface.clone()),
            ]
        };
        let with = |mut l: Labels, k: &'static str, v: &str| {
            l.push((k, v.to_owned()));
            l
        };
        gauges(
            &mut e,
            "xptp_port_state",
            "portDS.portState as IEEE 1588 numbers it: 1 INITIALIZING, 2 FAULTY, 3 DISABLED, 4 LISTENING, 5 PRE_MASTER, 6 MASTER, 7 PASSIVE, 8 UNCALIBRATED, 9 SLAVE",
            &s.ports
                .iter()
                .map(|p| (pl(p), i64::from(p.state_code)))
                .collect::<Vec<_>>(),
        )?;
        gauges(
            &mut e,
            "xptp_port_info",
            "Per port: identity, state name, delay mechanism, timestamp source and datapath mode (value 1)",
            &s.ports
                .iter()
                .map(|p| {
                    let mut l = pl(p);
                    l.extend([
                        ("port_identity", p.port_identity.clone()),
                        ("state", p.state.clone()),
                        ("delay_mechanism", p.delay_mechanism.clone()),
                        ("timestamp_source", p.timestamp_source.clone()),
                        ("datapath_mode", p.datapath.mode.clone()),
                        ("xdp_mode", p.datapath.xdp_mode.clone()),
                    ]);
                    (l, 1i64)
                })
                .collect::<Vec<_>>(),
        )?;
        gauges(
            &mut e,
            "xptp_port_mean_delay_ns",
            "Filtered meanPathDelay (E2E) or meanLinkDelay (P2P) of the port, in nanoseconds",
            &s.ports
                .iter()
                .filter_map(|p| p.mean_delay_ns.map(|d| (pl(p), d)))
                .collect::<Vec<_>>(),
        )?;
        gauges(
            &mut e,
            "xptp_port_neighbor_rate_ratio",
            "neighborRateRatio of a P2P port",
            &s.ports
                .iter()
                .filter_map(|p| p.neighbor_rate_ratio.map(|r| (pl(p), r)))
                .collect::<Vec<_>>(),
        )?;
        let per_type =
            |f: fn(&crate::status::PortStatus) -> &std::collections::BTreeMap<String, u64>| {
                s.ports
                    .iter()
                    .flat_map(|p| f(p).iter().map(move |(t, v)| (with(pl(p), "type", t), *v)))
                    .collect::<Vec<_>>()
            };
        counters(
            &mut e,
            "xptp_rx",
            "PTP messages the protocol core received, per port and message type",
            &per_type(|p| &p.rx),
        )?;
        counters(
            &mut e,
            "xptp_tx",
            "PTP messages the protocol core sent, per port and message type (the fast path's replies are in xptp_fast_path_total)",
            &per_type(|p| &p.tx),
        )?;
        counters(
            &mut e,
            "xptp_port_events",
            "Per-port core events: TX timestamp timeouts, missing responses, delay samples skipped, ...",
            &s.ports
                .iter()
                .flat_map(|p| {
                    p.events
                        .iter()
                        .map(move |(k, v)| (with(pl(p), "event", k), *v))
                })
                .collect::<Vec<_>>(),
        )?;
        counters(
            &mut e,
            "xptp_dropped",
            "Received frames dropped for a port, per stage (port: the protocol core's reject reasons; xdp: PTP frames the XDP program could not hand to xptp) and reason",
            &s.ports
                .iter()
                .flat_map(|p| {
                    let core = p.rejected.iter().map(move |(r, v)| {
                        (with(with(pl(p), "stage", "port"), "reason", r), *v)
                    });
                    let xdp = p
                        .xdp
                        .iter()
                        .filter(|(k, _)| k.as_str() == "no_socket")
                        .map(move |(r, v)| (with(with(pl(p), "stage", "xdp"), "reason", r), *v));
                    core.chain(xdp)
                })
                .collect::<Vec<_>>(),
        )?;
        counters(
            &mut e,
            "xptp_xdp_frames",
            "Frames the XDP program saw on the port's interface, per decision (steered_* to AF_XDP, passed_* to the kernel)",
            &s.ports
                .iter()
                .flat_map(|p| {
                    p.xdp
                        .iter()
                        .map(move |(k, v)| (with(pl(p), "decision", k), *v))
                })
                .collect::<Vec<_>>(),
        )?;
        let wl =
            |w: &crate::status::WorkerStatus| -> Labels { vec![("worker", w.index.to_string())] };
        counters(
            &mut e,
            "xptp_datapath_dropped",
            "Frames dropped on a datapath worker, per stage (worker, fastpath, lane) and reason",
            &s.workers
                .iter()
                .flat_map(|w| {
                    w.dropped.iter().map(move |d| {
                        (
                            with(with(wl(w), "stage", &d.stage), "reason", &d.reason),
                            d.count,
                        )
                    })
                })
                .collect::<Vec<_>>(),
        )?;
        counters(
            &mut e,
            "xptp_worker_frames",
            "Datapath worker counters (frames off the RX rings, handed to control, put on TX rings, loop passes, ...)",
            &s.workers
                .iter()
                .flat_map(|w| {
                    w.counters
                        .iter()
                        .map(move |(k, v)| (with(wl(w), "counter", k), *v))
                })
                .collect::<Vec<_>>(),
        )?;
        counters(
            &mut e,
            "xptp_fast_path",
            "Fast-path work on the datapath core: replies sent (Delay_Resp, Pdelay_Resp, ...), TC forwarding",
            &s.workers
                .iter()
                .flat_map(|w| {
                    w.fast_path
                        .iter()
                        .map(move |(k, v)| (with(wl(w), "event", k), *v))
                })
                .collect::<Vec<_>>(),
        )?;
        counters(
            &mut e,
            "xptp_control",
            "Control-loop counters (frames it could not use, TX reports, clock errors, management)",
            &s.control
                .iter()
                .map(|(k, v)| (vec![("counter", k.clone())], *v))
                .collect::<Vec<_>>(),
        )?;
        let hs = |n: &str| -> Vec<&HistogramStatus> {
            s.histograms.iter().filter(|h| h.name == n).collect()
        };
        let port_label = |h: &HistogramStatus| -> Labels {
            vec![("port", h.port.map(|p| p.to_string()).unwrap_or_default())]
        };
        histograms(
            &mut e,
            "xptp_offset_abs_ns",
            "|offsetFromMaster| of each measurement, in nanoseconds",
            &hs("xptp_offset_abs_ns"),
            |_| Labels::new(),
        )?;
        histograms(
            &mut e,
            "xptp_residence_time_seconds",
            "Transparent clock residence time (XDP ingress to TX kick) per egress port, in seconds",
            &hs("xptp_residence_time_seconds"),
            port_label,
        )?;
        histograms(
            &mut e,
            "xptp_delay_req_handling_seconds",
            "Delay_Req handling on the fast path (XDP ingress to the Delay_Resp's TX kick) per port, in seconds",
            &hs("xptp_delay_req_handling_seconds"),
            port_label,
        )?;
        histograms(
            &mut e,
            "xptp_pdelay_turnaround_seconds",
            "Pdelay_Req turnaround on the fast path (t3 - t2: XDP ingress to the Pdelay_Resp's TX kick) per port, in seconds",
            &hs("xptp_pdelay_turnaround_seconds"),
            port_label,
        )?;
        Ok(())
    }
}

/// The rogue-master and alarm families. Their cardinality is bounded: one series per entry
/// of the rogue table (at most [`crate::security::ROGUE_CAPACITY`] senders, times three
/// message types for `xptp_rogue_frames`) and one per alarm kind.
fn security(
    e: &mut DescriptorEncoder<'_>,
    sec: &crate::status::SecurityStatus,
    has_instance: bool,
) -> Result<(), std::fmt::Error> {
    counters(
        e,
        "xptp_alarms_raised",
        "Alarms raised since start by kind (rogue_master, grandmaster_changed, time_jump; dropped: lost to a full queue)",
        &sec.alarm_counts
            .iter()
            .map(|(k, v)| (vec![("kind", k.clone())], *v))
            .collect::<Vec<_>>(),
    )?;
    if has_instance {
        gauges(
            e,
            "xptp_rogue_masters",
            "Senders currently in the rogue-master table (seen leading on a grandmaster_block port)",
            &[(Labels::new(), sec.rogue_masters.len() as i64)],
        )?;
        counters(
            e,
            "xptp_rogue_masters_evicted",
            "Rogue-master table entries pushed out by newer rogues",
            &[(Labels::new(), sec.rogue_masters_evicted)],
        )?;
    }
    let rl = |r: &crate::status::RogueMasterStatus| -> Labels {
        vec![
            ("port", r.port.to_string()),
            ("interface", r.interface.clone()),
            ("identity", r.identity.clone()),
        ]
    };
    counters(
        e,
        "xptp_rogue_frames",
        "Frames dropped from each rogue master by grandmaster_block, by message type",
        &sec.rogue_masters
            .iter()
            .flat_map(|r| {
                r.frames.iter().map(move |(t, v)| {
                    let mut l = rl(r);
                    l.push(("type", t.clone()));
                    (l, *v)
                })
            })
            .collect::<Vec<_>>(),
    )?;
    gauges(
        e,
        "xptp_rogue_master_info",
        "Each rogue master: its latest source address and the grandmaster and priority1 it announced (value 1)",
        &sec.rogue_masters
            .iter()
            .map(|r| {
                let mut l = rl(r);
                let or_empty = |v: &Option<String>| v.clone().unwrap_or_default();
                l.extend([
                    ("address", or_empty(&r.address)),
                    ("grandmaster_identity", or_empty(&r.grandmaster_identity)),
                    (
                        "priority1",
                        r.priority1.map(|p| p.to_string()).unwrap_or_default(),
                    ),
                ]);
                (l, 1i64)
            })
            .collect::<Vec<_>>(),
    )?;
    gauges(
        e,
        "xptp_rogue_last_seen_seconds",
        "Seconds since each rogue master was last seen",
        &sec.rogue_masters
            .iter()
            .map(|r| (rl(r), r.last_seen_ago_s))
            .collect::<Vec<_>>(),
    )
}

/// The OpenMetrics text of one snapshot (ends with `# EOF`).
pub fn encode(status: Arc<Status>) -> String {
    let mut reg = Registry::default();
    reg.register_collector(Box::new(SnapshotCollector(status)));
    let mut out = String::new();
    // Writing into a String cannot fail; a collector error would leave a partial body,
    // which the missing `# EOF` marks as such.
    let _ = prometheus_client::encoding::text::encode(&mut out, &reg);
    out
}

/// Why the metrics endpoint could not be served.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// bind(2) failed.
    #[error("metrics: cannot listen on {addr}: {source} (is another exporter using the port? choose another with --metrics HOST:PORT)")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Socket or thread set-up failed.
    #[error("metrics on {addr}: {op}: {source}")]
    Io {
        /// Address.
        addr: SocketAddr,
        /// What.
        op: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
}

/// The running endpoint; dropping it stops the thread.
#[derive(Debug)]
pub struct MetricsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MetricsServer {
    /// Listens on `addr` and serves `hub` on a thread.
    pub fn spawn(addr: SocketAddr, hub: Arc<StatusHub>) -> Result<Self, MetricsError> {
        let listener =
            TcpListener::bind(addr).map_err(|source| MetricsError::Bind { addr, source })?;
        let io_err = |op, source| MetricsError::Io { addr, op, source };
        let addr = listener.local_addr().map_err(|e| io_err("local_addr", e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| io_err("set_nonblocking", e))?;
        let (stop, thread) =
            crate::status::spawn_server("xptp-metrics", move |stop| serve(&listener, &hub, stop))
                .map_err(|e| io_err("spawning the thread", e))?;
        Ok(MetricsServer {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The bound address (with the port the kernel chose for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        // Release: pairs with the thread's Acquire load.
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(listener: &TcpListener, hub: &StatusHub, stop: &AtomicBool) {
    while !stop.load(Ordering::Acquire) {
        match listener.accept() {
            Ok((s, peer)) => {
                if let Err(e) = answer(s, hub) {
                    tracing::debug!(%peer, "metrics client: {e}");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(POLL),
            Err(e) => {
                tracing::warn!("metrics accept: {e}");
                std::thread::sleep(POLL);
            }
        }
    }
}

/// What a request asks for.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Metrics,
    Index,
    NotFound,
    MethodNotAllowed,
    BadRequest,
}

fn route(head: &str) -> Route {
    let mut parts = head.lines().next().unwrap_or("").split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Route::BadRequest;
    };
    if method != "GET" {
        return Route::MethodNotAllowed;
    }
    match target.split('?').next().unwrap_or("") {
        "/metrics" => Route::Metrics,
        "/" => Route::Index,
        _ => Route::NotFound,
    }
}

fn read_head(s: &mut TcpStream) -> io::Result<String> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && !buf.windows(2).any(|w| w == b"\n\n") {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
        if buf.len() > MAX_REQUEST_HEAD {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn answer(mut s: TcpStream, hub: &StatusHub) -> io::Result<()> {
    s.set_nonblocking(false)?;
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    let head = read_head(&mut s)?;
    let (status, ctype, body, extra) = match route(&head) {
        Route::Metrics => match hub.fresh(FRESH_WAIT) {
            Some(st) => ("200 OK", CONTENT_TYPE, encode(st), ""),
            None => (
                "503 Service Unavailable",
                "text/plain; charset=utf-8",
                "xptp is starting: no status yet\n".to_owned(),
                "Retry-After: 1\r\n",
            ),
        },
        Route::Index => (
            "200 OK",
            "text/plain; charset=utf-8",
            "xptp metrics: GET /metrics\n".to_owned(),
            "",
        ),
        Route::NotFound => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "not found: the metrics are at /metrics\n".to_owned(),
            "",
        ),
        Route::MethodNotAllowed => (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            "only GET\n".to_owned(),
            "Allow: GET\r\n",
        ),
        Route::BadRequest => (
            "400 Bad Request",
            "text/plain; charset=utf-8",
            "bad request\n".to_owned(),
            "",
        ),
    };
    let resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
        body.len()
    );
    s.write_all(resp.as_bytes())?;
    s.write_all(body.as_bytes())?;
    s.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{ClockStatus, DropCount, PortStatus, WorkerStatus};

    fn sample() -> Status {
        let mut p = PortStatus {
            port_number: 1,
            interface: "eth0".into(),
            port_identity: "020000.fffe.000001-1".into(),
            state: "SLAVE".into(),
            state_code: 9,
            delay_mechanism: "E2E".into(),
            timestamp_source: "XDP-ingress software".into(),
            mean_delay_ns: Some(9700),
            ..PortStatus::default()
        };
        p.rx.insert("SYNC".into(), 40);
        p.tx.insert("DELAY_REQ".into(), 39);
        p.rejected.insert("wrong_state".into(), 2);
        p.xdp.insert("no_socket".into(), 0);
        p.xdp.insert("steered_l2".into(), 90);
        let mut w = WorkerStatus::default();
        w.counters.insert("rx_frames".into(), 90);
        w.fast_path.insert("delay_resp_sent".into(), 3);
        w.dropped.push(DropCount {
            stage: "fastpath".into(),
            reason: "malformed".into(),
            count: 1,
        });
        let mut h = HistogramStatus::new("xptp_delay_req_handling_seconds", Some(1), &[1e-6, 1e-5]);
        h.observe(2e-6);
        p.neighbor_rate_ratio = Some(1.000_001);
        p.events.insert("response_missing".into(), 1);
        let mut o = HistogramStatus::new("xptp_offset_abs_ns", None, &[100.0]);
        o.observe(12.0);
        Status {
            version: "0.1.0".into(),
            clock: ClockStatus {
                clock_identity: "020000.fffe.000001".into(),
                clock_type: "OC".into(),
                servo_state: "s2".into(),
                offset_from_master_ns: Some(-12),
                mean_path_delay_ns: Some(9700),
                true_error_ns: Some(5),
                ..ClockStatus::default()
            },
            phc2sys: Some(crate::status::Phc2SysStatus {
                source: "/dev/ptp0".into(),
                target: "CLOCK_REALTIME".into(),
                method: "PTP_SYS_OFFSET_EXTENDED".into(),
                state: "s2".into(),
                offset_ns: Some(-12),
                freq_ppb: 3021.0,
                delay_ns: Some(1234),
                updates: 60,
                steps: 1,
                true_error_ns: Some(3),
                ..Default::default()
            }),
            ports: vec![p],
            workers: vec![w],
            histograms: vec![
                o,
                h,
                HistogramStatus::new("xptp_residence_time_seconds", Some(1), &[1e-6]),
                HistogramStatus::new("xptp_pdelay_turnaround_seconds", Some(1), &[1e-6]),
            ],
            control: [("clock_errors".to_owned(), 0)].into_iter().collect(),
            security: crate::status::table::tests::security_sample(),
            ..Status::default()
        }
    }

    #[test]
    fn every_family_is_registered_with_help_and_parses_as_openmetrics() {
        let text = encode(Arc::new(sample()));
        assert!(text.ends_with("# EOF\n"), "{text}");
        for n in METRIC_NAMES {
            assert!(
                text.contains(&format!("# HELP {n} ")),
                "{n} has no HELP:\n{text}"
            );
            assert!(text.contains(&format!("# TYPE {n} ")), "{n} has no TYPE");
        }
        let exp = openmetrics_parser::openmetrics::parse_openmetrics(&text)
            .unwrap_or_else(|e| panic!("not valid OpenMetrics: {e:?}\n{text}"));
        for n in METRIC_NAMES {
            assert!(
                exp.families.contains_key(*n),
                "parser lacks {n}: {:?}",
                exp.families.keys()
            );
        }
        let rx = &exp.families["xptp_rx"];
        let s = rx
            .iter_samples()
            .find(|s| {
                let l = s.get_labelset().unwrap();
                l.get_label_value("type") == Some("SYNC") && l.get_label_value("port") == Some("1")
            })
            .unwrap();
        match &s.value {
            openmetrics_parser::OpenMetricsValue::Counter(c) => assert_eq!(c.value.as_f64(), 40.0),
            o => panic!("{o:?}"),
        }
        assert!(text.contains("xptp_servo_state 2\n"), "{text}");
        assert!(text.contains("xptp_rogue_masters 1\n"), "{text}");
        assert!(
            text.contains("xptp_rogue_masters_evicted_total 0\n"),
            "{text}"
        );
        assert!(
            text.contains(r#"xptp_rogue_frames_total{port="2",interface="eth1",identity="020000.fffe.000050-1",type="Sync"} 5"#),
            "{text}"
        );
        assert!(
            text.contains(r#"xptp_alarms_raised_total{kind="rogue_master"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"xptp_phc2sys_offset_ns{source="/dev/ptp0",target="CLOCK_REALTIME"} -12"#
            ) && text
                .contains(r#"xptp_phc2sys_state{source="/dev/ptp0",target="CLOCK_REALTIME"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"xptp_rx_total{port="1",interface="eth0",type="SYNC"} 40"#),
            "{text}"
        );
        assert!(
            text.contains(r#"xptp_delay_req_handling_seconds_bucket{le="+Inf",port="1"} 1"#),
            "{text}"
        );
    }

    #[test]
    fn metrics_addresses() {
        assert_eq!(
            parse_metrics_addr("").unwrap(),
            DEFAULT_METRICS_ADDR.parse().unwrap()
        );
        assert_eq!(
            parse_metrics_addr("9300").unwrap(),
            "127.0.0.1:9300".parse().unwrap()
        );
        assert_eq!(
            parse_metrics_addr("[::1]:9300").unwrap(),
            "[::1]:9300".parse().unwrap()
        );
        assert!(parse_metrics_addr("localhost").is_err());
    }

    #[test]
    fn routes() {
        assert_eq!(
            route("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Route::Metrics
        );
        assert_eq!(route("GET /metrics?x=1 HTTP/1.0\r\n\r\n"), Route::Metrics);
        assert_eq!(route("GET / HTTP/1.0\r\n\r\n"), Route::Index);
        assert_eq!(route("GET /x HTTP/1.0\r\n\r\n"), Route::NotFound);
        assert_eq!(
            route("POST /metrics HTTP/1.0\r\n\r\n"),
            Route::MethodNotAllowed
        );
        assert_eq!(route(""), Route::BadRequest);
    }

    #[test]
    fn serves_http() {
        let hub = StatusHub::new();
        let srv = MetricsServer::spawn("127.0.0.1:0".parse().unwrap(), hub.clone()).unwrap();
        let get = |path: &str| {
            let mut s = TcpStream::connect(srv.local_addr()).unwrap();
            write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            out
        };
        assert!(get("/metrics").starts_with("HTTP/1.1 503"));
        hub.publish(sample());
        let r = get("/metrics");
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(r.contains(CONTENT_TYPE));
        let body = r.split("\r\n\r\n").nth(1).unwrap();
        let len: usize = r
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(body.len(), len);
        assert!(body.ends_with("# EOF\n"));
        assert!(get("/nope").starts_with("HTTP/1.1 404"));
        // The port stays taken while the server runs.
        assert!(matches!(
            MetricsServer::spawn(srv.local_addr(), hub),
            Err(MetricsError::Bind { .. })
        ));
    }
}
