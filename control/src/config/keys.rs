//! The key table: every configuration key of linuxptp 3.1.1's ptp4l (its `config_tab[]`), a
//! few of linuxptp 4.x, and xptp's own, each with its scope, value type, range, default and
//! what xptp does with it.
//!
//! Scopes, types and ranges are linuxptp 3.1.1's, measured against the ptp4l 3.1.1 binary
//! (`control/tests/fixtures/linuxptp-3.1.1/keys.txt` records them; a test compares the table
//! with it). Deliberate deviations are listed in [`DEVIATIONS`].
//!
//! [`Status`] decides what happens to a value:
//! * [`Status::Implemented`]: it sets a field of the typed configuration.
//! * [`Status::ClockWide`]: a per-port key in linuxptp that xptp holds once per clock; an
//!   interface section may repeat the global value but not change it.
//! * [`Status::Ignored`]: accepted, no effect (the reason says why that is harmless); a
//!   non-default value gives a warning.
//! * [`Status::Unsupported`]: accepted at its default (so that stock linuxptp files load);
//!   any other value is an error naming the missing feature.

/// Where a key may appear (ptp4l's `GLOB_ITEM`/`PORT_ITEM`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Scope {
    /// `[global]` only.
    Global,
    /// `[global]` (the default for every port) or an interface section.
    Port,
}

/// A key's value type.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Ty {
    /// An integer (strtol with base 0: decimal, `0x` hex, `0` octal) in `[min, max]`.
    Int { min: i64, max: i64 },
    /// A real number in `[min, max]` (`min_open`: the minimum itself is excluded).
    Double { min: f64, max: f64, min_open: bool },
    /// One of the words (compared case-insensitively, as ptp4l does).
    Enum(&'static [&'static str]),
    /// Free text (the rest of the line).
    Str,
    /// A MAC address `xx:xx:xx:xx:xx:xx`.
    Mac,
    /// An OUI `xx:xx:xx`.
    Oui,
    /// A clock identity `xxxxxx.xxxx.xxxxxx`.
    ClockId,
    /// An integer in `[min, max]` or `ASAP` (ptp4l's fault intervals).
    FaultInterval { min: i64, max: i64 },
}

/// What xptp does with a key.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Status {
    Implemented,
    ClockWide,
    Ignored(&'static str),
    Unsupported(&'static str),
}

/// Which software defines the key.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Since {
    /// linuxptp 3.1.1's ptp4l.
    Linuxptp3,
    /// linuxptp 4.x (not in 3.1.1).
    Linuxptp4,
    /// xptp's own.
    Xptp,
}

/// One key.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct KeyDef {
    pub name: &'static str,
    pub scope: Scope,
    pub ty: Ty,
    /// The default in configuration-file spelling.
    pub default: &'static str,
    pub status: Status,
    pub since: Since,
}

const I32_MIN: i64 = i32::MIN as i64;
const I32_MAX: i64 = i32::MAX as i64;
const BOOL: Ty = Ty::Int { min: 0, max: 1 };
const U8: Ty = Ty::Int { min: 0, max: 255 };
const I8: Ty = Ty::Int {
    min: -128,
    max: 127,
};
const I32: Ty = Ty::Int {
    min: I32_MIN,
    max: I32_MAX,
};
const fn int(min: i64, max: i64) -> Ty {
    Ty::Int { min, max }
}
const NON_NEG: Ty = Ty::Double {
    min: 0.0,
    max: f64::MAX,
    min_open: false,
};
const ANY_REAL: Ty = Ty::Double {
    min: f64::MIN,
    max: f64::MAX,
    min_open: false,
};

use Scope::{Global as G, Port as P};
use Since::{Linuxptp3 as L3, Linuxptp4 as L4, Xptp as X};
use Status::{ClockWide as CW, Ignored as Ign, Implemented as I, Unsupported as Uns};

const fn k(
    name: &'static str,
    scope: Scope,
    ty: Ty,
    default: &'static str,
    status: Status,
) -> KeyDef {
    KeyDef {
        name,
        scope,
        ty,
        default,
        status,
        since: L3,
    }
}

const fn k4(
    name: &'static str,
    scope: Scope,
    ty: Ty,
    default: &'static str,
    status: Status,
) -> KeyDef {
    KeyDef {
        name,
        scope,
        ty,
        default,
        status,
        since: L4,
    }
}

const fn kx(name: &'static str, scope: Scope, ty: Ty, default: &'static str) -> KeyDef {
    KeyDef {
        name,
        scope,
        ty,
        default,
        status: I,
        since: X,
    }
}

const TS2PHC: &str = "a ts2phc key (ptp4l ignores it too)";
const UNICAST: &str = "unicast negotiation (IEEE 1588-2019 16.1) is not implemented";
const AS802_1: &str = "an IEEE 802.1AS (gPTP) feature, which xptp does not implement";
const INTERVAL_REQ: &str =
    "used only with msg_interval_request (interval negotiation), which xptp does not implement";

/// Every key, in linuxptp's table order (alphabetical), xptp's own at the end.
pub const KEYS: &[KeyDef] = &[
    k4("active_key_id", P, int(0, u32::MAX as i64), "0", I),
    k4("allow_unauth", P, int(0, 2), "0", I),
    k("announceReceiptTimeout", P, int(2, 255), "3", I),
    k("asCapable", P, Ty::Enum(&["true", "auto"]), "auto", Uns(AS802_1)),
    k("assume_two_step", G, BOOL, "0", Uns(AS802_1)),
    k("boundary_clock_jbod", P, BOOL, "0", Uns("a boundary clock over several unsynchronised PHCs (JBOD) is not implemented")),
    k("BMCA", P, Ty::Enum(&["ptp", "noop"]), "ptp", Uns("BMCA noop (static port roles) is not implemented")),
    k("check_fup_sync", G, BOOL, "0", Uns("the Follow_Up/Sync reception order check is not implemented")),
    k("clockAccuracy", G, U8, "0xFE", I),
    k("clockClass", G, U8, "248", I),
    k("clockIdentity", G, Ty::ClockId, "000000.0000.000000", I),
    k("clock_servo", G, Ty::Enum(&["pi", "linreg", "ntpshm", "nullf", "kalman"]), "pi", I),
    k("clock_type", G, Ty::Enum(&["OC", "BC", "P2P_TC", "E2E_TC"]), "OC", I),
    k("dataset_comparison", G, Ty::Enum(&["ieee1588", "G.8275.x"]), "ieee1588", I),
    k("delayAsymmetry", P, I32, "0", I),
    k("delay_filter", P, Ty::Enum(&["moving_average", "moving_median"]), "moving_median", CW),
    k("delay_filter_length", P, int(1, I32_MAX), "10", CW),
    k("delay_mechanism", P, Ty::Enum(&["Auto", "COMMON_P2P", "E2E", "P2P", "NONE"]), "E2E", I),
    k("dscp_event", G, int(0, 63), "0", I),
    k("dscp_general", G, int(0, 63), "0", I),
    k("domainNumber", G, U8, "0", I),
    k("egressLatency", P, I32, "0", I),
    k("fault_badpeernet_interval", P, Ty::FaultInterval { min: I32_MIN, max: I32_MAX }, "16", Uns("detecting several peers on a peer-delay link is not implemented")),
    k("fault_reset_interval", P, Ty::FaultInterval { min: -128, max: 127 }, "4", I),
    k("first_step_threshold", G, NON_NEG, "0.00002", I),
    k("follow_up_info", P, BOOL, "0", Uns(AS802_1)),
    k("free_running", G, BOOL, "0", I),
    k("freq_est_interval", P, int(0, I32_MAX), "1", Ign("xptp's servos estimate the frequency themselves; there is no separate estimation interval")),
    k("G.8275.defaultDS.localPriority", G, int(1, 255), "128", I),
    k("G.8275.portDS.localPriority", P, int(1, 255), "128", I),
    k("gmCapable", G, BOOL, "1", I),
    k("hwts_filter", G, Ty::Enum(&["normal", "check", "full"]), "normal", Ign("xptp enables receive timestamping of all packets itself; the filter negotiation mode has no effect")),
    k("hybrid_e2e", P, BOOL, "0", Uns(UNICAST)),
    k("ignore_source_id", P, BOOL, "0", I),
    k("ignore_transport_specific", P, BOOL, "0", Uns(AS802_1)),
    k("ingressLatency", P, I32, "0", I),
    k("inhibit_announce", P, BOOL, "0", I),
    k("inhibit_delay_req", P, BOOL, "0", Uns("suppressing Delay_Req (the automotive profile) is not implemented")),
    k("inhibit_multicast_service", P, BOOL, "0", Uns(UNICAST)),
    k("initial_delay", G, int(0, I32_MAX), "0", Uns("a delayed start is not implemented")),
    k("kernel_leap", G, BOOL, "1", Ign("xptp never sets the kernel's leap-second flags; leap seconds are handled by its UTC/TAI conversion")),
    k("leapfile", G, Ty::Str, "", Ign(TS2PHC)),
    k("logAnnounceInterval", P, I8, "1", I),
    k("logMinDelayReqInterval", P, I8, "0", I),
    k("logMinPdelayReqInterval", P, I8, "0", I),
    k("logSyncInterval", P, I8, "0", I),
    k("logging_level", G, int(0, 7), "6", I),
    k("masterOnly", P, BOOL, "0", I),
    k("maxStepsRemoved", G, int(2, 255), "255", I),
    k("message_tag", G, Ty::Str, "", I),
    k("manufacturerIdentity", G, Ty::Oui, "00:00:00", I),
    k("max_frequency", G, int(0, I32_MAX), "900000000", I),
    k("min_neighbor_prop_delay", P, int(I32_MIN, -1), "-20000000", Uns(AS802_1)),
    k("msg_interval_request", P, BOOL, "0", Uns("interval negotiation (Signaling message interval request) is not implemented")),
    k("neighborPropDelayThresh", P, int(0, I32_MAX), "20000000", I),
    k("net_sync_monitor", P, BOOL, "0", Uns("the NetSync monitor extension is not implemented")),
    k("network_transport", P, Ty::Enum(&["L2", "UDPv4", "UDPv6"]), "UDPv4", I),
    k("ntpshm_segment", G, I32, "0", Ign("used only by the ntpshm servo, which xptp does not have")),
    k("offsetScaledLogVariance", G, int(0, 0xFFFF), "0xFFFF", I),
    k("operLogPdelayReqInterval", P, I8, "0", Ign(INTERVAL_REQ)),
    k("operLogSyncInterval", P, I8, "0", Ign(INTERVAL_REQ)),
    k("path_trace_enabled", P, BOOL, "0", Uns("the PATH_TRACE TLV (IEEE 1588-2019 16.2) is not implemented")),
    k("pi_integral_const", G, NON_NEG, "0.0", I),
    k("pi_integral_exponent", G, ANY_REAL, "0.4", I),
    k("pi_integral_norm_max", G, Ty::Double { min: 0.0, max: 2.0, min_open: true }, "0.3", I),
    k("pi_integral_scale", G, NON_NEG, "0.0", I),
    k("pi_proportional_const", G, NON_NEG, "0.0", I),
    k("pi_proportional_exponent", G, ANY_REAL, "-0.3", I),
    k("pi_proportional_norm_max", G, Ty::Double { min: 0.0, max: 1.0, min_open: true }, "0.7", I),
    k("pi_proportional_scale", G, NON_NEG, "0.0", I),
    k4("power_profile.version", P, Ty::Enum(&["none", "2011", "2017"]), "none", Uns("the C37.238 TLV is configured by the profile: use --profile c37.238-2011 or c37.238-2017")),
    k("priority1", G, U8, "128", I),
    k("priority2", G, U8, "128", I),
    k("productDescription", G, Ty::Str, ";;", I),
    k("ptp_dst_mac", P, Ty::Mac, "01:1B:19:00:00:00", I),
    k("p2p_dst_mac", P, Ty::Mac, "01:80:C2:00:00:0E", I),
    k("revisionData", G, Ty::Str, ";;", I),
    k4("sa_file", G, Ty::Str, "", I),
    k("sanity_freq_limit", G, int(0, I32_MAX), "200000000", I),
    k("servo_num_offset_values", G, int(0, I32_MAX), "10", Ign(INTERVAL_REQ)),
    k("servo_offset_threshold", G, int(0, I32_MAX), "0", Ign(INTERVAL_REQ)),
    k("slave_event_monitor", G, Ty::Str, "", Uns("the slave event monitor socket is not implemented")),
    k("slaveOnly", G, BOOL, "0", I),
    k("socket_priority", G, int(0, 15), "0", Ign("PTP frames leave through AF_XDP, which bypasses the qdisc layer the socket priority selects")),
    k4("spp", P, int(-1, 255), "-1", I),
    k("step_threshold", G, NON_NEG, "0.0", I),
    k("summary_interval", G, I32, "0", I),
    k("syncReceiptTimeout", P, U8, "0", I),
    k("tc_spanning_tree", G, BOOL, "0", I),
    k("timeSource", G, int(0x10, 0xFE), "0xA0", I),
    k("time_stamping", G, Ty::Enum(&["hardware", "software", "legacy", "onestep", "p2p1step"]), "hardware", I),
    k("transportSpecific", P, int(0, 0x0F), "0x0", Uns("a transportSpecific (majorSdoId) other than 0 is used by IEEE 802.1AS, which xptp does not implement")),
    k("ts2phc.channel", P, int(0, I32_MAX), "0", Ign(TS2PHC)),
    k("ts2phc.extts_correction", P, I32, "0", Ign(TS2PHC)),
    k("ts2phc.extts_polarity", P, Ty::Enum(&["rising", "falling", "both"]), "rising", Ign(TS2PHC)),
    k("ts2phc.master", P, BOOL, "0", Ign(TS2PHC)),
    k("ts2phc.nmea_remote_host", G, Ty::Str, "", Ign(TS2PHC)),
    k("ts2phc.nmea_remote_port", G, Ty::Str, "", Ign(TS2PHC)),
    k("ts2phc.nmea_serialport", G, Ty::Str, "/dev/ttyS0", Ign(TS2PHC)),
    k("ts2phc.pin_index", P, int(0, I32_MAX), "0", Ign(TS2PHC)),
    k("ts2phc.pulsewidth", G, int(1_000_000, 999_000_000), "500000000", Ign(TS2PHC)),
    k("tsproc_mode", P, Ty::Enum(&["filter", "raw", "filter_weight", "raw_weight"]), "filter", Uns("only tsproc_mode filter (filtered delay, raw offset) is implemented")),
    k("twoStepFlag", G, BOOL, "1", I),
    k("tx_timestamp_timeout", G, int(1, I32_MAX), "1", I),
    k("udp_ttl", P, int(1, 255), "1", I),
    k("udp6_scope", P, int(0, 0x0F), "0x0E", I),
    k("uds_address", G, Ty::Str, "/var/run/xptp", I),
    k4("uds_ro_address", G, Ty::Str, "/var/run/xptp.ro", I),
    k("unicast_listen", P, BOOL, "0", Uns(UNICAST)),
    k("unicast_master_table", P, int(0, I32_MAX), "0", Uns(UNICAST)),
    k("unicast_req_duration", P, int(10, I32_MAX), "3600", Ign(UNICAST)),
    k("use_syslog", G, BOOL, "1", I),
    k("userDescription", G, Ty::Str, "", I),
    k("utc_offset", G, int(0, i16::MAX as i64), "37", I),
    k("verbose", G, BOOL, "0", I),
    k("write_phase_mode", G, BOOL, "0", Uns("phase-mode PHC adjustment (ADJ_OFFSET) is not implemented")),
    // xptp's own keys.
    kx("clock_source", G, Ty::Enum(&["phc", "virtual", "system"]), "phc"),
    kx("kalman_measurement_noise", G, NON_NEG, "0.0"),
    kx("kalman_frequency_wander", G, NON_NEG, "0.1"),
    kx("kalman_phase_wander", G, NON_NEG, "1.0"),
    kx("kalman_outlier_gate", G, NON_NEG, "5.0"),
    kx("kalman_time_constant", G, NON_NEG, "4.0"),
    // Rogue-master protection and alarms (crate::security).
    kx("grandmaster_block", P, BOOL, "0"),
    kx("acceptable_master_table", P, Ty::Str, ""),
    kx("time_jump_threshold", G, int(0, I32_MAX), "100000"),
    // Management over the network (crate::mgmt::network): answer pmc -2/-4/-6 GETs arriving on
    // PTP ports. Off by default: ptp4l always answers, but a GET reveals the clock's state to
    // any host on the segment. SET and COMMAND over the network are always refused.
    kx("network_management", G, BOOL, "0"),
    // Flood protection in the fast path (token buckets, one per port and one per requester
    // sourcePortIdentity, for each message class). `*_rate_limit` is messages per second
    // (0 = no limit), `*_burst` the messages accepted back to back. What a bucket refuses is
    // dropped and counted (rate_limited_port / rate_limited_requester). The defaults are far
    // above normal use: 128 Delay_Req/s is the fastest profile rate of one slave.
    kx("delay_req_rate_limit", G, int(0, I32_MAX), "100000"),
    kx("delay_req_burst", G, int(1, I32_MAX), "10000"),
    kx("delay_req_per_requester_rate_limit", G, int(0, I32_MAX), "256"),
    kx("delay_req_per_requester_burst", G, int(1, I32_MAX), "256"),
    kx("pdelay_req_rate_limit", G, int(0, I32_MAX), "1000"),
    kx("pdelay_req_burst", G, int(1, I32_MAX), "256"),
    kx("pdelay_req_per_requester_rate_limit", G, int(0, I32_MAX), "256"),
    kx("pdelay_req_per_requester_burst", G, int(1, I32_MAX), "64"),
    kx("management_rate_limit", G, int(0, I32_MAX), "1000"),
    kx("management_burst", G, int(1, I32_MAX), "256"),
    kx("management_per_requester_rate_limit", G, int(0, I32_MAX), "100"),
    kx("management_per_requester_burst", G, int(1, I32_MAX), "100"),
    // Holdover (crate::servo::holdover, crate::ptp): budget and free-run times in seconds.
    kx("holdover_budget", G, int(1, I32_MAX), "3600"),
    kx("holdover_free_run", G, int(1, I32_MAX), "86400"),
    kx("holdover_averaging", G, int(1, 4096), "64"),
    kx("holdover_clock_class_ladder", G, Ty::Enum(&["off", "default", "g8275.1"]), "off"),
    kx("holdover_locked_clock_class", G, int(1, 255), "6"),
    // The phc2sys task (daemon::phc2sys; linuxptp's phc2sys flags in brackets): keep a target
    // clock disciplined to the port's PHC on a control-side thread. `phc2sys_target` is
    // CLOCK_REALTIME, a PHC device (/dev/ptpN) or `virtual` (a lab clock keeping UTC, to
    // measure the task without touching the machine's clock); `phc2sys_offset` [-O] is
    // target − source in whole seconds, or `auto`: −currentUtcOffset when the source keeps
    // the PTP timescale and the target keeps UTC, else 0. `phc2sys_rate` [-R] updates per
    // second, `phc2sys_readings` [-N] PHC readings per update, `phc2sys_step_threshold` [-S]
    // / `phc2sys_first_step_threshold` [-F] in seconds, `phc2sys_servo` the servo,
    // `phc2sys_wait_sync` [-w, but on by default]: no update before the PTP clock is
    // synchronized (a port SLAVE with the servo locked, or grandmaster).
    kx("phc2sys", G, BOOL, "0"),
    kx("phc2sys_target", G, Ty::Str, "CLOCK_REALTIME"),
    kx("phc2sys_offset", G, Ty::Str, "auto"),
    kx("phc2sys_rate", G, Ty::Double { min: 0.0, max: 1024.0, min_open: true }, "1.0"),
    kx("phc2sys_readings", G, int(1, 25), "5"),
    kx("phc2sys_step_threshold", G, NON_NEG, "0.0"),
    kx("phc2sys_first_step_threshold", G, NON_NEG, "0.00002"),
    kx("phc2sys_servo", G, Ty::Enum(&["pi", "linreg", "kalman"]), "pi"),
    kx("phc2sys_wait_sync", G, BOOL, "1"),
    // Grandmaster start: set the PHC from CLOCK_REALTIME + utc_offset once (`phc_ctl set`).
    kx("phc_set_from_system", G, BOOL, "0"),
];

/// Values that linuxptp accepts for a key but xptp does not implement: (key, value, reason).
pub const UNSUPPORTED_VALUES: &[(&str, &str, &str)] = &[
    (
        "clock_servo",
        "ntpshm",
        "the NTP shared-memory servo is not implemented; use pi, linreg or kalman",
    ),
    (
        "clock_servo",
        "nullf",
        "the null servo is not implemented; use free_running 1 to leave the clock alone",
    ),
    (
        "delay_mechanism",
        "Auto",
        "automatic delay mechanism selection is not implemented; use E2E or P2P",
    ),
    (
        "delay_mechanism",
        "COMMON_P2P",
        "the common mean link delay service (IEEE 1588-2019 16.6) is not implemented; use P2P",
    ),
    (
        "time_stamping",
        "legacy",
        "legacy PHY timestamping is not implemented; use hardware or software",
    ),
];

/// Deliberate differences from ptp4l 3.1.1's table: (key, what differs and why).
pub const DEVIATIONS: &[(&str, &str)] = &[
    (
        "domainNumber",
        "range 0..255 as in linuxptp 4.x (3.1.1: 0..127); IEEE C37.238-2017 uses domain 254",
    ),
    (
        "utc_offset",
        "range 0..32767 (3.1.1: 0..INT_MAX): currentUtcOffset is an Integer16 on the wire",
    ),
    ("leapfile", "default empty (3.1.1: none)"),
    (
        "uds_address",
        "default /var/run/xptp (ptp4l: /var/run/ptp4l), so that xptp and a ptp4l on the same host do not fight over one socket; a file naming /var/run/ptp4l gets it",
    ),
    (
        "uds_ro_address",
        "default <uds_address>.ro, i.e. /var/run/xptp.ro (linuxptp 4.x: /var/run/ptp4lro)",
    ),
];

/// Alternative spellings: (alias, canonical key, deprecated). The deprecated ones are ptp4l
/// 3.1.1's own renames; `clientOnly`/`serverOnly` are linuxptp 4.x's names.
pub const ALIASES: &[(&str, &str, bool)] = &[
    ("pi_offset_const", "step_threshold", true),
    ("pi_f_offset_const", "first_step_threshold", true),
    ("pi_max_frequency", "max_frequency", true),
    ("clientOnly", "slaveOnly", false),
    ("serverOnly", "masterOnly", false),
];

/// Looks a key up by its exact (case-sensitive, as in ptp4l) name; aliases resolve to the
/// canonical key. Returns the definition and, for a deprecated alias, the alias.
pub fn lookup(name: &str) -> Option<(&'static KeyDef, Option<(&'static str, bool)>)> {
    if let Some(d) = KEYS.iter().find(|d| d.name == name) {
        return Some((d, None));
    }
    let (alias, canon, deprecated) = ALIASES.iter().find(|(a, _, _)| *a == name)?;
    let d = KEYS.iter().find(|d| d.name == *canon)?;
    Some((d, Some((alias, *deprecated))))
}

/// The closest known key to a misspelt one (same letters ignoring case, or at most two edits).
pub fn suggest(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let names = KEYS
        .iter()
        .map(|d| d.name)
        .chain(ALIASES.iter().map(|a| a.0));
    let mut best: Option<(usize, &'static str)> = None;
    let len = lower.chars().count();
    for n in names {
        // The distance is at least the length difference: skip the quadratic comparison
        // (a long garbage line would otherwise cost it against every key).
        if n.len().abs_diff(len) > 2 {
            continue;
        }
        let d = edit_distance(&lower, &n.to_ascii_lowercase());
        if d <= 2 && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, n));
        }
    }
    best.map(|(_, n)| n)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            let del = prev[j + 1] + 1;
            let ins = cur[j] + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev[b.len()]
}
