//! The text form of a [`Status`], in the spirit of a switch's `show ptp`: a clock block, a
//! port table (one line per port), then per port its message counters, drops and datapath,
//! then the datapath workers and any alarms. Pure formatting: no I/O.

use std::fmt::Write as _;

use super::{PortStatus, SecurityStatus, Status};

/// Left-aligned columns separated by two spaces (trailing blanks trimmed).
pub fn columns(rows: &[Vec<String>]) -> String {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            let w = widths.get(c).copied().unwrap_or(0);
            let _ = write!(line, "{cell:<w$}  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn opt_ns(v: Option<i64>) -> String {
    v.map(|v| format!("{v} ns")).unwrap_or_else(|| "-".into())
}

fn servo_words(s: &str) -> &'static str {
    match s {
        "s0" => "unlocked",
        "s1" => "jump",
        "s2" => "locked",
        _ => "",
    }
}

fn uptime(s: f64) -> String {
    let t = s.max(0.0) as u64;
    let (d, h, m, sec) = (t / 86_400, t / 3600 % 24, t / 60 % 60, t % 60);
    if d > 0 {
        format!("{d}d {h:02}:{m:02}:{sec:02}")
    } else {
        format!("{h:02}:{m:02}:{sec:02}")
    }
}

fn kv(rows: &mut Vec<Vec<String>>, k: &str, v: impl Into<String>) {
    rows.push(vec![format!("  {k}"), v.into()]);
}

/// Renders the whole status.
pub fn render(s: &Status) -> String {
    let mut out = String::new();
    let c = &s.clock;
    let mut rows = Vec::new();
    kv(&mut rows, "Clock identity", c.clock_identity.clone());
    kv(&mut rows, "Clock type", c.clock_type.clone());
    kv(&mut rows, "Domain", c.domain.to_string());
    kv(
        &mut rows,
        "Priority1 / Priority2",
        format!("{} / {}", c.priority1, c.priority2),
    );
    kv(&mut rows, "Clock class", c.clock_class.to_string());
    let transparent = c.clock_type.ends_with("_TC");
    if !transparent {
        kv(
            &mut rows,
            "Grandmaster identity",
            if c.is_grandmaster {
                format!("{} (this clock)", c.grandmaster_identity)
            } else {
                c.grandmaster_identity.clone()
            },
        );
        kv(
            &mut rows,
            "Grandmaster priority1 / class",
            format!(
                "{} / {}",
                c.grandmaster_priority1, c.grandmaster_clock_class
            ),
        );
        kv(&mut rows, "Parent port", c.parent_port_identity.clone());
        kv(&mut rows, "Steps removed", c.steps_removed.to_string());
        kv(
            &mut rows,
            "Offset from master",
            opt_ns(c.offset_from_master_ns),
        );
        kv(&mut rows, "Mean path delay", opt_ns(c.mean_path_delay_ns));
        kv(
            &mut rows,
            "Servo state",
            format!("{} ({})", c.servo_state, servo_words(&c.servo_state)),
        );
        kv(
            &mut rows,
            "Frequency adjustment",
            format!("{:+.1} ppb", c.frequency_ppb),
        );
    }
    let name = if c.clock_name == c.clock_source {
        c.clock_source.clone()
    } else {
        format!("{} {}", c.clock_source, c.clock_name)
    };
    let clock = match c.true_error_ns {
        Some(te) => format!("{name} (true error {te:+} ns)"),
        None => name,
    };
    kv(&mut rows, "Clock", clock.trim_end().to_owned());
    kv(
        &mut rows,
        "Timestamps",
        format!("{} (time_stamping {})", c.timestamp_source, c.time_stamping),
    );
    kv(
        &mut rows,
        "UTC offset",
        format!(
            "{} s{}",
            c.current_utc_offset,
            if c.ptp_timescale {
                ", PTP timescale"
            } else {
                ""
            }
        ),
    );
    kv(&mut rows, "Uptime", uptime(s.uptime_s));
    let _ = writeln!(out, "PTP clock (xptp {}, pid {})", s.version, s.pid);
    out.push_str(&columns(&rows));
    if let Some(p) = &s.phc2sys {
        out.push('\n');
        phc2sys_block(&mut out, p);
    }

    out.push('\n');
    let mut t = vec![vec![
        "Port".to_owned(),
        "Interface".into(),
        "State".into(),
        "Transport".into(),
        "Mean delay".into(),
        "NRR".into(),
        "RX".into(),
        "TX".into(),
        "Drops".into(),
        "Timestamps".into(),
        "Datapath".into(),
        "XDP".into(),
    ]];
    for p in &s.ports {
        let rx: u64 = p.rx.values().sum();
        let tx: u64 = p.tx.values().sum::<u64>() + p.fast_path_tx.values().sum::<u64>();
        let drops: u64 = p.rejected.values().sum();
        t.push(vec![
            p.port_number.to_string(),
            p.interface.clone(),
            p.state.clone(),
            format!("{} {}", p.transport, p.delay_mechanism),
            opt_ns(p.mean_delay_ns),
            p.neighbor_rate_ratio
                .map(|r| format!("{r:.9}"))
                .unwrap_or_else(|| "-".into()),
            rx.to_string(),
            tx.to_string(),
            drops.to_string(),
            p.timestamp_source.clone(),
            format!("{} q{}", p.datapath.mode, p.datapath.queue),
            format!("{} {}", p.datapath.xdp_mode, p.datapath.xdp_build),
        ]);
    }
    out.push_str(&columns(&t));
    for p in &s.ports {
        out.push('\n');
        port_detail(&mut out, p);
    }
    for w in &s.workers {
        out.push('\n');
        let _ = writeln!(
            out,
            "Datapath worker {} (ports {:?}, {})",
            w.index,
            w.ports,
            if w.pinned { "pinned" } else { "not pinned" }
        );
        let keys = [
            "rx_frames",
            "rx_to_control",
            "rx_fast_handled",
            "tx_frames",
            "fast_tx_enqueued",
        ];
        let line: Vec<String> = keys
            .iter()
            .filter_map(|k| w.counters.get(*k).map(|v| format!("{k} {v}")))
            .collect();
        let _ = writeln!(out, "  {}", line.join(", "));
        let fp: Vec<String> = w
            .fast_path
            .iter()
            .filter(|(_, v)| **v > 0)
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        if !fp.is_empty() {
            let _ = writeln!(out, "  fast path: {}", fp.join(", "));
        }
        let d: Vec<String> = w
            .dropped
            .iter()
            .filter(|d| d.count > 0)
            .map(|d| format!("{}/{} {}", d.stage, d.reason, d.count))
            .collect();
        let _ = writeln!(
            out,
            "  drops: {}",
            if d.is_empty() {
                "none".to_owned()
            } else {
                d.join(", ")
            }
        );
    }
    let hs: Vec<&super::HistogramStatus> = s.histograms.iter().filter(|h| h.count() > 0).collect();
    if !hs.is_empty() {
        out.push('\n');
        let mut rows = vec![vec![
            "Histogram".to_owned(),
            "Port".into(),
            "Count".into(),
            "Mean".into(),
            "p50 <=".into(),
            "p99 <=".into(),
        ]];
        for h in hs {
            let n = h.count();
            let q = |q| {
                h.quantile_bound(q)
                    .map(|b| format!("{b}"))
                    .unwrap_or_else(|| "+Inf".into())
            };
            rows.push(vec![
                h.name.clone(),
                h.port.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
                n.to_string(),
                format!("{:.3e}", h.sum / n as f64),
                q(0.5),
                q(0.99),
            ]);
        }
        out.push_str(&columns(&rows));
    }
    security(&mut out, &s.security);
    let reload = |k| s.control.get(k).copied().unwrap_or(0);
    let (ok, failed) = (
        reload("sa_file_reloads_ok"),
        reload("sa_file_reloads_failed"),
    );
    if ok + failed > 0 {
        let _ = writeln!(
            out,
            "\nsa_file reloads (SIGHUP): {ok} applied, {failed} refused"
        );
    }
    out.push('\n');
    if s.alarms.is_empty() {
        out.push_str("Alarms: none\n");
    } else {
        out.push_str("Alarms:\n");
        for a in &s.alarms {
            let _ = writeln!(out, "  ! {a}");
        }
    }
    out
}

fn ago(s: f64) -> String {
    if s < 60.0 {
        format!("{s:.0}s ago")
    } else {
        format!("{} ago", uptime(s))
    }
}

/// The rogue-master table and the latest alarms (only when there is something to show).
fn security(out: &mut String, sec: &SecurityStatus) {
    if !sec.rogue_masters.is_empty() {
        out.push('\n');
        let _ = writeln!(
            out,
            "Rogue masters (blocked by grandmaster_block{})",
            if sec.rogue_masters_evicted > 0 {
                format!(", {} older entries evicted", sec.rogue_masters_evicted)
            } else {
                String::new()
            }
        );
        let mut rows = vec![vec![
            "  Port".to_owned(),
            "Identity".into(),
            "Address".into(),
            "GM / priority1".into(),
            "Announce".into(),
            "Sync".into(),
            "Follow_Up".into(),
            "First seen".into(),
            "Last seen".into(),
        ]];
        let dash = || "-".to_owned();
        for r in &sec.rogue_masters {
            let n = |k: &str| r.frames.get(k).copied().unwrap_or(0).to_string();
            rows.push(vec![
                format!("  {} {}", r.port, r.interface),
                r.identity.clone(),
                r.address.clone().unwrap_or_else(dash),
                match (&r.grandmaster_identity, r.priority1) {
                    (Some(g), Some(p)) => format!("{g} / {p}"),
                    (Some(g), None) => g.clone(),
                    _ => dash(),
                },
                n("Announce"),
                n("Sync"),
                n("Follow_Up"),
                ago(r.first_seen_ago_s),
                ago(r.last_seen_ago_s),
            ]);
        }
        out.push_str(&columns(&rows));
    }
    if !sec.recent_alarms.is_empty() {
        out.push('\n');
        let counts: Vec<String> = sec
            .alarm_counts
            .iter()
            .filter(|(_, v)| **v > 0)
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(out, "Recent alarms ({})", counts.join(", "));
        for a in &sec.recent_alarms {
            let port = a.port.map(|p| format!("port {p}: ")).unwrap_or_default();
            let _ = writeln!(out, "  {:>9}  {port}{}: {}", ago(a.ago_s), a.kind, a.detail);
        }
    }
}

fn phc2sys_block(out: &mut String, p: &crate::status::Phc2SysStatus) {
    let _ = writeln!(out, "phc2sys: {} follows {}", p.target, p.source);
    let mut rows = Vec::new();
    kv(&mut rows, "Method", p.method.clone());
    let state = if p.waiting_for_sync {
        "waiting for the PTP clock to synchronize (phc2sys_wait_sync)".to_owned()
    } else if p.state.is_empty() {
        "- (no update yet)".to_owned()
    } else {
        format!("{} ({})", p.state, servo_words(&p.state))
    };
    kv(&mut rows, "State", state);
    kv(&mut rows, "Offset", opt_ns(p.offset_ns));
    kv(&mut rows, "Frequency", format!("{:+.1} ppb", p.freq_ppb));
    kv(&mut rows, "Read delay", opt_ns(p.delay_ns));
    kv(
        &mut rows,
        "Sync offset (-O)",
        format!("{} s", p.sync_offset_s),
    );
    kv(
        &mut rows,
        "Updates",
        format!(
            "{} at {} Hz, {} steps, {} failed",
            p.updates, p.rate_hz, p.steps, p.errors
        ),
    );
    if let Some(te) = p.true_error_ns {
        kv(&mut rows, "True error", format!("{te:+} ns"));
    }
    if let Some(e) = &p.last_error {
        kv(&mut rows, "Last error", e.clone());
    }
    out.push_str(&columns(&rows));
}

fn port_detail(out: &mut String, p: &PortStatus) {
    let _ = writeln!(
        out,
        "Port {} ({}, {}) {}",
        p.port_number, p.interface, p.port_identity, p.state
    );
    let mut rows = vec![vec![
        "  Message".to_owned(),
        "RX".into(),
        "TX".into(),
        "Fast-path TX".into(),
    ]];
    let mut names: Vec<&String> =
        p.rx.keys()
            .chain(p.tx.keys())
            .chain(p.fast_path_tx.keys())
            .collect();
    names.sort();
    names.dedup();
    for n in names {
        let get = |m: &std::collections::BTreeMap<String, u64>| m.get(n).copied().unwrap_or(0);
        let (rx, tx, fp) = (get(&p.rx), get(&p.tx), get(&p.fast_path_tx));
        if rx + tx + fp == 0 {
            continue;
        }
        rows.push(vec![
            format!("  {n}"),
            rx.to_string(),
            tx.to_string(),
            if fp > 0 { fp.to_string() } else { "-".into() },
        ]);
    }
    out.push_str(&columns(&rows));
    let drops: Vec<String> = p
        .rejected
        .iter()
        .filter(|(_, v)| **v > 0)
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let _ = writeln!(
        out,
        "  Drops: {}",
        if drops.is_empty() {
            "none".to_owned()
        } else {
            drops.join(", ")
        }
    );
    let ev: Vec<String> = p
        .events
        .iter()
        .filter(|(_, v)| **v > 0)
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    if !ev.is_empty() {
        let _ = writeln!(out, "  Events: {}", ev.join(", "));
    }
    let d = &p.datapath;
    let _ = writeln!(
        out,
        "  Datapath: AF_XDP {} on queue {} (worker {}){}; XDP {} {} (prog {}); TX timestamps {}",
        d.mode,
        d.queue,
        d.worker,
        d.mode_reason
            .as_ref()
            .map(|r| format!(" [{r}]"))
            .unwrap_or_default(),
        d.xdp_mode,
        d.xdp_build,
        d.xdp_prog_id,
        d.tx_timestamps
    );
    match (&d.wire_stamps, &d.wire_fallback) {
        (true, _) => {
            let _ = writeln!(
                out,
                "  veth wire stamps: on (event frames timed at the sender's net_dev_start_xmit)"
            );
        }
        (false, Some(why)) => {
            let _ = writeln!(
                out,
                "  veth wire stamps: off ({why}); event frames timed at XDP ingress"
            );
        }
        (false, None) => {}
    }
    let xdp: Vec<String> = p
        .xdp
        .iter()
        .filter(|(_, v)| **v > 0)
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    if !xdp.is_empty() {
        let _ = writeln!(out, "  XDP: {}", xdp.join(", "));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::*;
    use super::*;

    pub(crate) fn sample() -> Status {
        let mut rx = BTreeMap::new();
        rx.insert("SYNC".to_owned(), 40);
        rx.insert("ANNOUNCE".to_owned(), 10);
        let mut tx = BTreeMap::new();
        tx.insert("DELAY_REQ".to_owned(), 39);
        let mut rejected = BTreeMap::new();
        rejected.insert("wrong_state".to_owned(), 0);
        rejected.insert("not_from_master".to_owned(), 3);
        let mut h = HistogramStatus::new("xptp_offset_abs_ns", None, &[100.0, 1000.0]);
        h.observe(50.0);
        h.observe(500.0);
        Status {
            format: STATUS_FORMAT,
            version: "0.1.0".into(),
            pid: 1234,
            uptime_s: 3723.0,
            clock: ClockStatus {
                clock_identity: "020000.fffe.000001".into(),
                clock_type: "OC".into(),
                domain: 0,
                priority1: 128,
                priority2: 128,
                clock_class: 255,
                slave_only: true,
                grandmaster_identity: "020000.fffe.0000aa".into(),
                parent_port_identity: "020000.fffe.0000aa-1".into(),
                steps_removed: 1,
                offset_from_master_ns: Some(-12),
                mean_path_delay_ns: Some(9700),
                servo_state: "s2".into(),
                frequency_ppb: -19800.4,
                clock_source: "virtual".into(),
                clock_name: "virtual".into(),
                true_error_ns: Some(35),
                timestamp_source: "XDP-ingress software".into(),
                time_stamping: "software".into(),
                current_utc_offset: 37,
                ptp_timescale: true,
                ..ClockStatus::default()
            },
            ports: vec![PortStatus {
                port_number: 1,
                port_identity: "020000.fffe.000001-1".into(),
                interface: "veth-long-name0".into(),
                state: "SLAVE".into(),
                state_code: 9,
                delay_mechanism: "E2E".into(),
                transport: "L2".into(),
                mean_delay_ns: Some(9700),
                rx,
                tx,
                rejected,
                timestamp_source: "XDP-ingress software".into(),
                datapath: DatapathStatus {
                    mode: "copy".into(),
                    xdp_build: "portable".into(),
                    xdp_mode: "native".into(),
                    ..DatapathStatus::default()
                },
                ..PortStatus::default()
            }],
            alarms: vec!["port 1: something".into()],
            histograms: vec![h],
            ..Status::default()
        }
    }

    /// A security section with one rogue master and its alarm.
    pub(crate) fn security_sample() -> SecurityStatus {
        SecurityStatus {
            rogue_masters: vec![RogueMasterStatus {
                port: 2,
                interface: "eth1".into(),
                identity: "020000.fffe.000050-1".into(),
                address: Some("02:00:00:00:00:50".into()),
                grandmaster_identity: Some("020000.fffe.000050".into()),
                priority1: Some(50),
                frames: [("Announce", 3), ("Sync", 5), ("Follow_Up", 5)]
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
                total: 13,
                first_seen_ago_s: 75.0,
                last_seen_ago_s: 0.4,
            }],
            rogue_masters_evicted: 0,
            alarm_counts: [("rogue_master", 1), ("time_jump", 0)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            recent_alarms: vec![AlarmStatus {
                kind: "rogue_master".into(),
                port: Some(2),
                detail: "020000.fffe.000050-1 tried to lead".into(),
                ago_s: 74.0,
            }],
        }
    }

    #[test]
    fn table_shows_rogue_masters_and_recent_alarms() {
        let plain = render(&sample());
        assert!(!plain.contains("Rogue masters"), "{plain}");
        let mut s = sample();
        s.security = security_sample();
        let t = render(&s);
        for want in [
            "Rogue masters (blocked by grandmaster_block)",
            "2 eth1",
            "020000.fffe.000050-1",
            "02:00:00:00:00:50",
            "020000.fffe.000050 / 50",
            "00:01:15 ago",
            "0s ago",
            "Recent alarms (rogue_master 1)",
            "port 2: rogue_master: 020000.fffe.000050-1 tried to lead",
        ] {
            assert!(t.contains(want), "missing {want:?} in\n{t}");
        }
        let lines: Vec<&str> = t.lines().collect();
        let hi = lines
            .iter()
            .position(|l| l.starts_with("  Port") && l.contains("Identity"))
            .unwrap();
        let (h, r) = (lines[hi], lines[hi + 1]);
        let at = h.find("Sync").unwrap();
        assert_eq!(&r[at..at + 1], "5", "{h}\n{r}");
    }

    #[test]
    fn columns_align() {
        let t = columns(&[
            vec!["a".into(), "bb".into(), "c".into()],
            vec!["aaa".into(), "b".into()],
        ]);
        assert_eq!(t, "a    bb  c\naaa  b\n");
    }

    #[test]
    fn phc2sys_block_shows_source_target_method_and_state() {
        let mut st = sample();
        assert!(
            !render(&st).contains("phc2sys"),
            "no block without the task"
        );
        st.phc2sys = Some(crate::status::Phc2SysStatus {
            source: "/dev/ptp0".into(),
            target: "CLOCK_REALTIME".into(),
            method: "PTP_SYS_OFFSET_PRECISE".into(),
            state: "s2".into(),
            offset_ns: Some(-12),
            freq_ppb: 3021.0,
            delay_ns: Some(0),
            sync_offset_s: -37,
            rate_hz: 1.0,
            updates: 10,
            last_error: Some("clock_adjtime refused".into()),
            ..Default::default()
        });
        let t = render(&st);
        for want in [
            "phc2sys: CLOCK_REALTIME follows /dev/ptp0",
            "PTP_SYS_OFFSET_PRECISE",
            "s2 (locked)",
            "-12 ns",
            "+3021.0 ppb",
            "-37 s",
            "10 at 1 Hz",
            "clock_adjtime refused",
        ] {
            assert!(t.contains(want), "missing {want:?} in\n{t}");
        }
        let j = serde_json::to_string(&st).unwrap();
        assert!(j.contains(r#""phc2sys":{"source":"/dev/ptp0""#), "{j}");
    }

    #[test]
    fn table_shows_the_clock_ports_and_alarms() {
        let t = render(&sample());
        for want in [
            "Clock identity",
            "020000.fffe.000001",
            "Grandmaster identity",
            "020000.fffe.0000aa",
            "Offset from master",
            "-12 ns",
            "s2 (locked)",
            "-19800.4 ppb",
            "true error +35 ns",
            "Uptime",
            "01:02:03",
            "Port 1 (veth-long-name0, 020000.fffe.000001-1) SLAVE",
            "not_from_master 3",
            "! port 1: something",
            "xptp_offset_abs_ns",
        ] {
            assert!(t.contains(want), "missing {want:?} in\n{t}");
        }
        assert!(
            !t.contains("wrong_state"),
            "zero drops are not listed:\n{t}"
        );
        // The port table: header and row start their columns at the same offsets.
        let lines: Vec<&str> = t.lines().collect();
        let hi = lines
            .iter()
            .position(|l| l.starts_with("Port  Interface"))
            .unwrap();
        let (h, r) = (lines[hi], lines[hi + 1]);
        for col in [
            "State",
            "Transport",
            "Mean delay",
            "RX",
            "Timestamps",
            "Datapath",
        ] {
            let at = h.find(col).unwrap();
            assert_eq!(&r[at - 2..at], "  ", "column {col} misaligned:\n{h}\n{r}");
        }
        assert!(r.starts_with("1     veth-long-name0  SLAVE"), "{r}");
        assert!(r.contains("copy q0"), "{r}");
        assert!(r.contains("XDP-ingress software"), "{r}");
    }

    #[test]
    fn transparent_clock_omits_the_servo_block() {
        let mut s = sample();
        s.clock.clock_type = "E2E_TC".into();
        s.alarms.clear();
        let t = render(&s);
        assert!(!t.contains("Servo state"), "{t}");
        assert!(t.contains("Alarms: none"), "{t}");
    }
}
