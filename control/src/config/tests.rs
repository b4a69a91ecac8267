//! Unit tests of the key table and the loader: the table is consistent with the typed
//! defaults, every implemented key reaches a field and reads back, and the cross-key rules.

use super::apply::{get_global, get_port, set_global, set_port};
use super::keys::{lookup, suggest, Scope, Since, Status, Ty, ALIASES, KEYS, UNSUPPORTED_VALUES};
use super::value::{parse, Value};
use super::*;

const NO: &[(&str, &str)] = &[];

fn is_implemented(s: Status) -> bool {
    matches!(s, Status::Implemented | Status::ClockWide)
}

#[test]
fn table_is_consistent() {
    let mut names: Vec<&str> = KEYS.iter().map(|d| d.name).collect();
    names.sort_unstable();
    let n = names.len();
    names.dedup();
    assert_eq!(n, names.len(), "duplicate key in KEYS");
    for d in KEYS {
        assert!(
            parse(d, d.default).is_ok(),
            "default of {} does not parse",
            d.name
        );
        if d.since == Since::Xptp {
            assert_eq!(d.status, Status::Implemented, "{}", d.name);
        }
    }
    for (alias, canon, _) in ALIASES {
        assert_eq!(lookup(alias).map(|(d, _)| d.name), Some(*canon));
        assert!(!KEYS.iter().any(|d| d.name == *alias));
    }
    for (key, word, _) in UNSUPPORTED_VALUES {
        let (d, _) = lookup(key).unwrap();
        assert!(
            matches!(d.ty, Ty::Enum(w) if w.contains(word)),
            "{key} {word}"
        );
    }
}

/// Every implemented key has a field, and the typed defaults are linuxptp's (the table's).
#[test]
fn implemented_keys_reach_fields_and_defaults_agree() {
    let c = Config::default();
    for d in KEYS.iter().filter(|d| is_implemented(d.status)) {
        let got = match d.scope {
            Scope::Global => get_global(&c, d.name),
            Scope::Port => get_port(&c.port_defaults, d.name).or_else(|| get_global(&c, d.name)),
        };
        let got = got.unwrap_or_else(|| panic!("{} has no field", d.name));
        assert_eq!(
            parse(d, &got).unwrap(),
            parse(d, d.default).unwrap(),
            "{}: typed default {got} differs from the table's {}",
            d.name,
            d.default
        );
    }
    for d in KEYS.iter().filter(|d| !is_implemented(d.status)) {
        assert_eq!(
            get_global(&c, d.name),
            None,
            "{} is not implemented",
            d.name
        );
        assert_eq!(get_port(&c.port_defaults, d.name), None, "{}", d.name);
    }
}

/// Setting a non-default value and reading it back gives the value: no key is dropped or
/// written to the wrong field.
#[test]
fn implemented_keys_round_trip() {
    for d in KEYS.iter().filter(|d| is_implemented(d.status)) {
        let sample = match d.ty {
            Ty::Int { min, max } | Ty::FaultInterval { min, max } => {
                let v = if min < 0 && max > 0 {
                    -1
                } else {
                    max.min(min + 3)
                };
                Value::Int(v)
            }
            Ty::Double { .. } => Value::Double(0.625),
            Ty::Enum(words) => Value::Enum(
                words
                    .iter()
                    .rev()
                    .find(|w| {
                        !UNSUPPORTED_VALUES
                            .iter()
                            .any(|u| u.0 == d.name && u.1 == **w)
                    })
                    .unwrap(),
            ),
            Ty::Str if d.name == "acceptable_master_table" => {
                Value::Str("001122.fffe.334455-1:64 001122.fffe.334466".into())
            }
            Ty::Str => Value::Str("a;b;c".into()),
            Ty::Mac => Value::Mac([1, 2, 3, 4, 5, 6]),
            Ty::Oui => Value::Oui([7, 8, 9]),
            Ty::ClockId => parse(d, "001122.3344.556677").unwrap(),
        };
        let mut c = Config::default();
        let written = match d.scope {
            Scope::Global => set_global(&mut c, d.name, &sample),
            Scope::Port => {
                set_port(&mut c.port_defaults, d.name, &sample)
                    || set_global(&mut c, d.name, &sample)
            }
        };
        assert!(written, "{}", d.name);
        let back = get_port(&c.port_defaults, d.name)
            .or_else(|| get_global(&c, d.name))
            .unwrap();
        assert_eq!(parse(d, &back).unwrap(), sample, "{}", d.name);
    }
}

#[test]
fn suggestions() {
    assert_eq!(suggest("logsyncinterval"), Some("logSyncInterval"));
    assert_eq!(suggest("priorty1"), Some("priority1"));
    assert_eq!(suggest("completely_different"), None);
}

#[test]
fn one_step_rules() {
    let c = Config::load_str(None, "[global]\ntwoStepFlag 0\n", NO).unwrap();
    assert_eq!(c.time_stamping, TimeStampingMode::OneStep);
    let c = Config::load_str(None, "[global]\ntime_stamping p2p1step\n", NO).unwrap();
    assert!(!c.clock.two_step_flag);
    let e = Config::load_str(
        None,
        "[global]\ntwoStepFlag 0\ntime_stamping software\n",
        NO,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 2: twoStepFlag 0 (one-step) needs time_stamping hardware, onestep or p2p1step, not software"
    );
    let c = Config::load_str(None, "[global]\ntime_stamping software\n", NO).unwrap();
    assert_eq!(c.servo.time_stamping, crate::servo::TimeStamping::Software);
}

#[test]
fn slave_only_rules() {
    let c = Config::load_str(None, "[global]\nslaveOnly 1\nclockClass 6\n", NO).unwrap();
    assert_eq!(c.clock.clock_quality.clock_class, 255);
    let c = Config::load_str(None, "[global]\nclientOnly 1\n", NO).unwrap();
    assert!(c.clock.slave_only);
    assert!(c.warnings.is_empty());
    let e = Config::load_str(None, "[global]\nslaveOnly 1\ngmCapable 0\n", NO).unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 3: slaveOnly 1 cannot be combined with gmCapable 0 (ptp4l refuses it too); drop gmCapable 0"
    );
}

#[test]
fn transparent_and_boundary_clock_rules() {
    let e = Config::load_str(None, "[global]\nclock_type BC\n[eth0]\n", NO).unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 2: clock_type BC needs at least two interfaces, but only [eth0] is configured"
    );
    let e = Config::load_str(
        None,
        "[global]\nclock_type P2P_TC\ndelay_mechanism P2P\n[eth0]\n[eth1]\ndelay_mechanism E2E\n",
        NO,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 6: clock_type P2P_TC needs delay_mechanism P2P, found E2E in [eth1]"
    );
    let c = Config::load_str(None, "[global]\nclock_type E2E_TC\n[eth0]\n[eth1]\n", NO).unwrap();
    assert!(c.clock_type.is_transparent());
}

#[test]
fn deprecated_and_ignored_keys_warn() {
    let c = Config::load_str(
        None,
        "[global]\npi_offset_const 0.5\nsocket_priority 3\nkernel_leap 1\n",
        NO,
    )
    .unwrap();
    assert_eq!(c.servo.step_threshold, 0.5);
    let w: Vec<String> = c.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        w,
        vec![
            "line 2: pi_offset_const is deprecated, use step_threshold instead".to_owned(),
            "line 3: socket_priority 3 has no effect in xptp: PTP frames leave through AF_XDP, which bypasses the qdisc layer the socket priority selects".to_owned(),
        ]
    );
}

#[test]
fn descriptions_are_checked_like_ptp4l() {
    let c = Config::load_str(
        None,
        "[global]\nproductDescription Acme;Grandmaster 9;SN-1\nuserDescription rack 4, shelf 2\n",
        NO,
    )
    .unwrap();
    assert_eq!(c.description.product_description, "Acme;Grandmaster 9;SN-1");
    assert_eq!(c.description.user_description, "rack 4, shelf 2");
    let e = Config::load_str(None, "[global]\nrevisionData 1.0\n", NO).unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 2: revisionData '1.0' is not hardware;firmware;software with exactly two ';' and at most 32 characters"
    );
}

#[test]
fn fault_reset_interval_asap_and_clock_identity() {
    let c = Config::load_str(
        None,
        "[global]\nclockIdentity 001122.fffe.334455\n[eth0]\nfault_reset_interval asap\n",
        NO,
    )
    .unwrap();
    assert_eq!(
        c.port("eth0").unwrap().fault_reset_interval,
        crate::datasets::FaultResetInterval::Asap
    );
    assert_eq!(
        c.clock.clock_identity.map(|i| i.0),
        Some([0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55])
    );
}

#[test]
fn clock_wide_keys_may_repeat_the_global_value_per_port() {
    let c = Config::load_str(
        None,
        "[global]\ndelay_filter_length 5\n[eth0]\ndelay_filter_length 5\ndelay_filter MOVING_MEDIAN\n",
        NO,
    )
    .unwrap();
    assert_eq!(c.servo.delay_filter_length, 5);
}

#[test]
fn unsupported_string_keys_say_remove() {
    let e = Config::load_str(None, "[global]\nslave_event_monitor /tmp/mon\n", NO).unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 2: slave_event_monitor /tmp/mon is not supported by xptp yet: the slave event monitor socket is not implemented; remove the line"
    );
}

fn sa_file(text: &str) -> tempfile::NamedTempFile {
    use std::io::Write as _;
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

const SA: &str =
    "[security_association]\nspp 1\n7 SHA256-128 HEX:00112233445566778899aabbccddeeff\n";

#[test]
fn authentication_keys_load_the_sa_file() {
    let f = sa_file(SA);
    let text = format!(
        "[global]\nsa_file {}\nspp 1\nactive_key_id 7\n[eth0]\nallow_unauth 1\n[eth1]\nspp -1\n",
        f.path().display()
    );
    let c = Config::load_str(None, &text, NO).unwrap();
    let db = c.security.as_ref().unwrap();
    assert_eq!(db.get(1).unwrap().key(7).unwrap().secret().len(), 16);
    let e0 = &c.port("eth0").unwrap().security;
    assert_eq!(e0.spp, Some(1));
    assert_eq!(e0.active_key_id, 7);
    assert_eq!(e0.allow_unauth, crate::security::AllowUnauth::Event);
    assert_eq!(c.port("eth1").unwrap().security.spp, None);
}

#[test]
fn authentication_errors_name_the_line_and_the_fix() {
    let f = sa_file(SA);
    let p = f.path().display().to_string();
    let err = |text: &str| Config::load_str(None, text, NO).unwrap_err().to_string();
    assert_eq!(
        err("[global]\nspp 1\nactive_key_id 7\n"),
        "line 2: spp 1 needs an sa_file: set sa_file in [global] to the security association file"
    );
    assert_eq!(
        err(&format!("[global]\nsa_file {p}\n[eth0]\nspp 2\nactive_key_id 7\n")),
        format!("line 4: spp 2 is not defined in sa_file {p}: add a [security_association] with 'spp 2' or fix the spp")
    );
    assert_eq!(
        err(&format!("[global]\nsa_file {p}\n[eth0]\nspp 1\n")),
        format!("default: spp 1 needs active_key_id: the keyID of sa_file {p} that outgoing messages are signed with")
    );
    assert_eq!(
        err(&format!("[global]\nsa_file {p}\nspp 1\nactive_key_id 8\n")),
        format!("line 4: active_key_id 8 is not a key of spp 1 in sa_file {p}")
    );
    assert_eq!(
        err(&format!("[global]\nsa_file {p}\ntime_stamping onestep\nspp 1\nactive_key_id 7\n")),
        "line 4: spp 1 (authentication) cannot be combined with time_stamping onestep: the NIC rewrites one-step Syncs after they were signed; use time_stamping hardware (two-step)"
    );
    let bad = sa_file("[security_association]\nspp 1\n7 SHA256-128 HEX:0\nspp 1\n");
    let b = bad.path().display().to_string();
    assert_eq!(
        err(&format!("[global]\nsa_file {b}\n")),
        format!("line 2: sa_file {b} line 3: HEX: key has an odd number of digits or a character that is not a hex digit\nline 2: sa_file {b} line 4: spp 1 is already defined on line 2; each association needs its own spp")
    );
    assert!(err("[global]\nsa_file /nonexistent/xptp.sa\n")
        .starts_with("line 2: cannot read sa_file /nonexistent/xptp.sa: "));
}

#[test]
fn rogue_master_keys() {
    let c = Config::load_str(
        None,
        "[global]\ntime_jump_threshold 5000\n[eth0]\ngrandmaster_block 1\nmasterOnly 1\n[eth1]\nacceptable_master_table 001122.fffe.334455\nacceptable_master_table 001122.fffe.334466-2:10, 001122.fffe.334477\n",
        NO,
    )
    .unwrap();
    assert_eq!(c.alarms.time_jump_threshold_ns, 5000);
    assert!(c.port("eth0").unwrap().security.grandmaster_block);
    let t = &c.port("eth1").unwrap().security.acceptable_masters;
    assert_eq!(t.len(), 3, "repeated lines add up");
    assert_eq!(t[1].to_string(), "001122.fffe.334466-2:10");
    let e =
        Config::load_str(None, "[eth0]\nacceptable_master_table 001122.fffe.33\n", NO).unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 2: acceptable_master_table '001122.fffe.33' is not an acceptable master CLOCKID[-PORT][:ALTPRIO1], e.g. 001122.fffe.334455-1:64"
    );
}

#[test]
fn rate_limit_keys_reach_the_fast_path_limits() {
    use xptp_datapath::fastpath::{RateLimit, RateLimits};
    let c = Config::load_str(None, "", NO).unwrap();
    assert_eq!(
        c.rate_limits,
        RateLimits::DEFAULT,
        "table defaults = datapath defaults"
    );
    let c = Config::load_str(
        None,
        "[global]\ndelay_req_rate_limit 5000\ndelay_req_burst 50\n\
         delay_req_per_requester_rate_limit 0\npdelay_req_per_requester_burst 4\n\
         management_rate_limit 10\n",
        NO,
    )
    .unwrap();
    assert_eq!(c.rate_limits.delay_req.port, RateLimit::new(5000, 50));
    assert!(!c.rate_limits.delay_req.requester.is_limited());
    assert_eq!(c.rate_limits.pdelay_req.requester.burst, 4);
    assert_eq!(c.rate_limits.management.port.rate, 10);
    let err = Config::load_str(None, "[global]\ndelay_req_burst 0\n", NO).unwrap_err();
    assert!(err.to_string().contains("delay_req_burst"), "{err}");
}

#[test]
fn holdover_keys() {
    let c = Config::load_str(None, "[global]\n", NO).unwrap();
    let (h, ladder) = c.holdover.instance();
    assert!(!ladder, "off by default: the clockClass never changes");
    assert_eq!((h.budget_ns, h.averaging_samples), (3_600_000_000_000, 64));
    let c = Config::load_str(
        None,
        "[global]\nholdover_budget 600\nholdover_free_run 7200\nholdover_averaging 16\nholdover_clock_class_ladder G8275.1\nholdover_locked_clock_class 6\n",
        NO,
    )
    .unwrap();
    let (h, ladder) = c.holdover.instance();
    assert!(ladder);
    assert_eq!((h.budget_ns, h.averaging_samples), (600_000_000_000, 16));
    let classes: Vec<_> = h
        .ladder
        .holdover
        .iter()
        .map(|r| (r.after_ns / 1_000_000_000, r.clock_class))
        .collect();
    assert_eq!(classes, [(0, 7), (600, 140), (7200, 248)]);
    assert_eq!(h.ladder.locked, 6);
    let e = Config::load_str(None, "[global]\nholdover_budget 0\n", NO).unwrap_err();
    assert!(
        e.to_string().contains("holdover_budget 0 out of range"),
        "{e}"
    );
    let e = Config::load_str(
        None,
        "[global]\nholdover_budget 600\nholdover_free_run 60\n",
        NO,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("holdover_free_run 60 is shorter than holdover_budget 600"),
        "{e}"
    );
    let e =
        Config::load_str(None, "[global]\nholdover_clock_class_ladder g8275.2\n", NO).unwrap_err();
    assert!(e.to_string().contains("holdover_clock_class_ladder"), "{e}");
}

#[test]
fn network_management_switch() {
    let d = Config::load_str(None, "", NO).unwrap();
    assert!(!d.network_management.enabled, "off by default");
    let c = Config::load_str(None, "[global]\nnetwork_management 1\n", NO).unwrap();
    assert!(c.network_management.enabled);
    let (k, _) = crate::config::keys::lookup("network_management").unwrap();
    assert_eq!(k.since, crate::config::keys::Since::Xptp);
    let e = Config::load_str(None, "[eth0]\nnetwork_management 1\n", NO).unwrap_err();
    assert!(e.to_string().contains("network_management"), "{e}");
    let e = Config::load_str(None, "[global]\nnetwork_management 2\n", NO).unwrap_err();
    assert!(e.to_string().contains("line 2"), "{e}");
}

#[test]
fn phc2sys_keys() {
    use crate::config::Phc2SysOffset;
    let c = Config::load_str(None, "[global]\n", NO).unwrap();
    assert!(!c.phc2sys.enabled && !c.phc_set_from_system);
    assert_eq!(c.phc2sys.target, "CLOCK_REALTIME");
    assert_eq!(c.phc2sys.offset(), Ok(Phc2SysOffset::Auto));
    assert_eq!((c.phc2sys.rate_hz, c.phc2sys.readings), (1.0, 5));
    assert!(c.phc2sys.wait_sync, "like phc2sys -w: on by default");
    let c = Config::load_str(
        None,
        "[global]\nphc2sys 1\nphc2sys_target /dev/ptp1\nphc2sys_offset -37\nphc2sys_rate 8\nphc2sys_readings 9\nphc2sys_step_threshold 0.5\nphc2sys_servo kalman\nphc2sys_wait_sync 0\nphc_set_from_system 1\n",
        NO,
    )
    .unwrap();
    assert!(c.phc2sys.enabled && c.phc_set_from_system);
    assert_eq!(c.phc2sys.target, "/dev/ptp1");
    assert_eq!(c.phc2sys.offset(), Ok(Phc2SysOffset::Seconds(-37)));
    assert_eq!((c.phc2sys.rate_hz, c.phc2sys.readings), (8.0, 9));
    assert_eq!(c.phc2sys.step_threshold, 0.5);
    assert_eq!(c.phc2sys.servo, crate::servo::ServoKind::Kalman);
    assert!(!c.phc2sys.wait_sync);
    for (text, want) in [
        (
            "phc2sys_offset 37s",
            "phc2sys_offset '37s' is neither `auto` nor whole seconds",
        ),
        ("phc2sys_readings 26", "phc2sys_readings 26 out of range"),
        ("phc2sys_rate 0", "phc2sys_rate 0 out of range"),
        ("phc2sys_servo nullf", "phc2sys_servo 'nullf' is not one of"),
    ] {
        let e = Config::load_str(None, &format!("[global]\n{text}\n"), NO).unwrap_err();
        assert!(e.to_string().contains(want), "{text}: {e}");
    }
}
