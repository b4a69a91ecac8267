//! Configuration files as a linuxptp user writes them: a power-utility (IEC 61850-9-3) ptp4l
//! config, linuxptp 3.1.1's default.cfg, the key table against ptp4l 3.1.1's, golden error
//! texts, profile/file/command-line precedence, the dump round trip and `xptp config check`.

use std::path::{Path, PathBuf};
use std::process::Command;

use xptp_control::config::keys::{lookup, Scope, Since, Ty, ALIASES, DEVIATIONS, KEYS};
use xptp_control::config::{
    dump::dump, flag_overrides, ClockType, Config, LoadOptions, Origin, TimeStampingMode,
};
use xptp_control::datasets::DelayMechanism;
use xptp_control::profile::Transport;

const NO: &[(&str, &str)] = &[];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/linuxptp-3.1.1")
        .join(name)
}

const IEC_61850_9_3: &str = "[global]
network_transport L2
delay_mechanism P2P
gmCapable 1
clockClass 248
clockAccuracy 0xFE
offsetScaledLogVariance 0xFFFF
announceReceiptTimeout 3
logAnnounceInterval 0
logSyncInterval 0
logMinPdelayReqInterval 0
domainNumber 0
priority1 128
priority2 128
twoStepFlag 1
time_stamping hardware
[eth0]
";

#[test]
fn iec61850_9_3_ptp4l_config_maps_unchanged() {
    for profile in [None, Some("iec61850-9-3")] {
        let c = Config::load_str(profile, IEC_61850_9_3, NO).unwrap();
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert_eq!(c.ports.len(), 1);
        let (name, p) = &c.ports[0];
        assert_eq!(name, "eth0");
        assert_eq!(p.network_transport, Transport::L2);
        assert_eq!(p.delay_mechanism, DelayMechanism::P2P);
        assert!(c.clock.gm_capable);
        assert_eq!(c.clock.clock_quality.clock_class, 248);
        assert_eq!(c.clock.clock_quality.clock_accuracy, 0xFE);
        assert_eq!(c.clock.clock_quality.offset_scaled_log_variance, 0xFFFF);
        assert_eq!(p.announce_receipt_timeout, 3);
        assert_eq!(p.log_announce_interval, 0);
        assert_eq!(p.log_sync_interval, 0);
        assert_eq!(p.log_min_pdelay_req_interval, 0);
        assert_eq!(c.clock.domain_number, 0);
        assert_eq!((c.clock.priority1, c.clock.priority2), (128, 128));
        assert!(c.clock.two_step_flag);
        assert_eq!(c.time_stamping, TimeStampingMode::Hardware);
        assert_eq!(c.clock_type, ClockType::Ordinary);

        // Every line is taken as written: its key's origin is that line and the effective
        // value, written back, is the file's text.
        let dumped = dump(&c);
        for (i, line) in IEC_61850_9_3.lines().enumerate() {
            let Some((key, value)) = line.split_once(' ') else {
                continue;
            };
            assert_eq!(c.origin(Some("eth0"), key), Origin::Line(i + 1), "{key}");
            let out = dumped
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(char::is_whitespace)?;
                    (k == key).then(|| v.trim().to_owned())
                })
                .unwrap();
            assert_eq!(out, value, "{key}");
        }
    }
}

#[test]
fn linuxptp_default_cfg_parses_to_linuxptp_defaults() {
    let path = fixture("default.cfg");
    let mut c = Config::load(None, Some(&path), NO).unwrap();
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let mut d = Config::load_str(None, "", NO).unwrap();
    c.origins.clear();
    d.origins.clear();
    // The one value default.cfg sets away from ptp4l's built-in default ("").
    assert_eq!(c.description.user_description, ";");
    d.description.user_description = ";".into();
    // xptp's management socket defaults to /var/run/xptp; a file that names ptp4l's socket
    // gets ptp4l's, with the read-only socket beside it.
    assert_eq!(d.uds_address, Path::new("/var/run/xptp"));
    assert_eq!(d.uds_ro_address, Path::new("/var/run/xptp.ro"));
    assert_eq!(c.uds_address, Path::new("/var/run/ptp4l"));
    assert_eq!(c.uds_ro_address, Path::new("/var/run/ptp4l.ro"));
    d.uds_address = c.uds_address.clone();
    d.uds_ro_address = c.uds_ro_address.clone();
    assert_eq!(
        c, d,
        "default.cfg must otherwise mean the built-in defaults"
    );
    // uds_ro_address set explicitly wins.
    let e = Config::load_str(
        None,
        "[global]\nuds_address /tmp/a\nuds_ro_address /tmp/b\n",
        NO,
    )
    .unwrap();
    assert_eq!(
        (e.uds_address.as_path(), e.uds_ro_address.as_path()),
        (Path::new("/tmp/a"), Path::new("/tmp/b"))
    );
}

/// The key table against ptp4l 3.1.1's, as measured from the binary (keys.txt).
#[test]
fn key_table_matches_ptp4l_3_1_1() {
    let text = std::fs::read_to_string(fixture("keys.txt")).unwrap();
    let mut seen = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f[1] == "alias" {
            assert!(
                ALIASES
                    .iter()
                    .any(|(a, c, dep)| *a == f[0] && *c == f[2] && *dep),
                "{line}"
            );
            continue;
        }
        let (d, alias) = lookup(f[0]).unwrap_or_else(|| panic!("{} missing from KEYS", f[0]));
        assert!(alias.is_none(), "{line}");
        assert_eq!(d.since, Since::Linuxptp3, "{line}");
        seen.push(d.name);
        let scope = if f[1] == "port" {
            Scope::Port
        } else {
            Scope::Global
        };
        assert_eq!(d.scope, scope, "{line}");
        let deviates = DEVIATIONS.iter().any(|(k, _)| *k == d.name);
        match (f[2], d.ty) {
            ("int", Ty::Int { min, max } | Ty::FaultInterval { min, max }) => {
                let want: (i64, i64) = (f[3].parse().unwrap(), f[4].parse().unwrap());
                if !deviates {
                    assert_eq!((min, max), want, "{line}");
                }
            }
            ("real", Ty::Double { .. }) => {}
            ("enum", Ty::Enum(_)) => {}
            ("str", Ty::Str | Ty::Mac | Ty::Oui | Ty::ClockId) => {}
            (t, ty) => panic!("{line}: type {t} but table has {ty:?}"),
        }
    }
    for d in KEYS.iter().filter(|d| d.since == Since::Linuxptp3) {
        assert!(
            seen.contains(&d.name),
            "{} is not a ptp4l 3.1.1 key",
            d.name
        );
    }
}

/// Golden error texts: every kind of mistake, each naming its line.
#[test]
fn golden_errors() {
    let text = "\
[global]
fooBar 1
unicast_listen 1
logSyncInterval -200
priority1 high
delay_mechanism E2F
priority2
logsyncinterval 1
logSyncInterval 0 # fast
delay_mechanism Auto
step_threshold -1
ptp_dst_mac 01:1B:19:00:00
[eth0]
priority1 100
delay_filter_length 4
[eth 0]
logSyncInterval 1
[unicast_master_table]
table_id 1
";
    let e = Config::load_str(None, text, &[("domainNumber", "300")]).unwrap_err();
    let expected = "\
line 2: unknown key 'fooBar'
line 3: unicast_listen 1 is not supported by xptp yet: unicast negotiation (IEEE 1588-2019 16.1) is not implemented; remove the line or set unicast_listen 0
line 4: logSyncInterval -200 out of range [-128, 127]
line 5: priority1 'high' is not an integer
line 6: delay_mechanism 'E2F' is not one of E2E, P2P, NONE
line 7: 'priority2' has no value (write 'priority2 VALUE')
line 8: unknown key 'logsyncinterval' (did you mean 'logSyncInterval'?)
line 9: logSyncInterval '0 # fast' is not an integer (ptp4l does not allow a comment after a value: put it on its own line)
line 10: delay_mechanism Auto is not supported by xptp yet: automatic delay mechanism selection is not implemented; use E2E or P2P
line 11: step_threshold -1 out of range [0, inf)
line 12: ptp_dst_mac '01:1B:19:00:00' is not a MAC address (six hex bytes separated by ':', like 01:1B:19:00:00:00)
line 14: priority1 is a global key and cannot be set in interface section [eth0]; move it to [global]
line 16: unknown section '[eth 0]': use [global] or [IFNAME] (an interface name of 1 to 15 characters without '/', ':' or whitespace)
line 18: [unicast_master_table] is not supported by xptp yet (unicast negotiation is not implemented); remove the section
command line: domainNumber 300 out of range [0, 255]";
    assert_eq!(e.to_string(), expected);
    assert_eq!(e.diagnostics().len(), 15);

    // Problems found after the keys are read: a per-port value of a clock-wide key and a
    // value outside the chosen profile.
    let e = Config::load_str(
        Some("iec61850-9-3"),
        "[global]\nlogSyncInterval 1\n[eth0]\ndelay_filter_length 4\n",
        NO,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 2: logSyncInterval = 1 is outside profile iec61850-9-3's range 0..=0\n\
         line 4: delay_filter_length 4 in [eth0] differs from the [global] value 10: xptp uses one delay_filter_length for all ports; set it in [global]"
    );
    let e = Config::load_str(
        Some("iec61850-9-3"),
        "[global]\nlogSyncInterval 1\nnetwork_transport UDPv4\n[eth0]\n",
        NO,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 2: logSyncInterval = 1 is outside profile iec61850-9-3's range 0..=0\n\
         line 3: network_transport UdpIpv4 is not allowed by profile iec61850-9-3 (allowed: [L2])"
    );
    let e = Config::load_str(Some("g8275.2"), "", NO).unwrap_err();
    assert!(e
        .to_string()
        .starts_with("command line: unknown profile \"g8275.2\"; known: default-e2e"));
}

#[test]
fn profile_then_file_then_command_line() {
    // Profile alone.
    let c = Config::load_str(Some("g8275.1"), "", NO).unwrap();
    assert_eq!(c.clock.domain_number, 24);
    assert_eq!(c.port_defaults.log_sync_interval, -4);
    assert_eq!(c.port_defaults.network_transport, Transport::L2);
    assert_eq!(c.origin(None, "domainNumber"), Origin::Default);
    // The file overrides the profile ...
    let file = "[global]\ndomainNumber 30\npriority2 100\n";
    let c = Config::load_str(Some("g8275.1"), file, NO).unwrap();
    assert_eq!((c.clock.domain_number, c.clock.priority2), (30, 100));
    assert_eq!(c.origin(None, "domainNumber"), Origin::Line(2));
    // ... and the command line overrides the file; the last override wins.
    let c = Config::load_str(
        Some("g8275.1"),
        file,
        &[
            ("domainNumber", "40"),
            ("priority2", "7"),
            ("priority2", "50"),
        ],
    )
    .unwrap();
    assert_eq!((c.clock.domain_number, c.clock.priority2), (40, 50));
    assert_eq!(c.origin(None, "priority2"), Origin::CommandLine);
    // The profile still checks the result, wherever a value came from.
    let e = Config::load_str(Some("g8275.1"), file, &[("domainNumber", "44")]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "command line: domainNumber = 44 is outside profile g8275.1's range 24..=43"
    );

    // Port keys: command line beats [global]; an interface section beats both (ptp4l's rule).
    let file = "[global]\nlogAnnounceInterval 2\n[eth1]\nlogAnnounceInterval 3\n[eth0]\n";
    let c = Config::load_with(&LoadOptions {
        profile: Some("default-e2e"),
        text: Some(file),
        overrides: &[("logAnnounceInterval".into(), "4".into())],
        interfaces: &["eth2".into(), "eth0".into()],
        ..LoadOptions::default()
    })
    .unwrap();
    let names: Vec<&str> = c.ports.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["eth2", "eth0", "eth1"], "ptp4l's port order");
    assert_eq!(c.port("eth2").unwrap().log_announce_interval, 4);
    assert_eq!(c.port("eth0").unwrap().log_announce_interval, 4);
    assert_eq!(c.port("eth1").unwrap().log_announce_interval, 3);
    assert_eq!(
        c.origin(Some("eth1"), "logAnnounceInterval"),
        Origin::Line(4)
    );

    // ptp4l's short flags.
    let flags = flag_overrides(&["-2", "-P", "-S", "-s"]).unwrap();
    let c = Config::load_str(
        None,
        "[global]\nnetwork_transport UDPv4\ndelay_mechanism E2E\nclockClass 6\n[eth0]\n",
        &flags,
    )
    .unwrap();
    let p = c.port("eth0").unwrap();
    assert_eq!(p.network_transport, Transport::L2);
    assert_eq!(p.delay_mechanism, DelayMechanism::P2P);
    assert_eq!(c.time_stamping, TimeStampingMode::Software);
    assert!(c.clock.slave_only);
    assert_eq!(
        c.clock.clock_quality.clock_class, 255,
        "slaveOnly means class 255"
    );
}

#[test]
fn dump_loads_back_to_the_same_configuration() {
    let file = "[global]
clockClass 6
clock_servo kalman
kalman_outlier_gate 4.5
step_threshold 0.001
delay_filter moving_average
clock_type BC
productDescription Acme;GM 9;1
manufacturerIdentity 00:1b:19
clockIdentity 001122.fffe.334455
fault_reset_interval ASAP
[eth0]
delay_mechanism P2P
delayAsymmetry -120
ptp_dst_mac 01:80:C2:00:00:0E
[eth1]
masterOnly 1
G.8275.portDS.localPriority 200
";
    let mut a = Config::load_str(None, file, &[("priority1", "64")]).unwrap();
    let text = dump(&a);
    let mut b = Config::load_str(None, &text, NO).unwrap();
    a.origins.clear();
    b.origins.clear();
    assert_eq!(a, b, "dump:\n{text}");
    assert_eq!(dump(&b), text);
}

/// Each configuration file that linuxptp 3.1.1 ships (read from the installed package when
/// present) loads, or fails with exactly the features xptp lacks.
#[test]
fn linuxptp_shipped_configs() {
    let dir = Path::new("/usr/share/doc/linuxptp/configs");
    if !dir.is_dir() {
        println!("skipped: linuxptp's example configs are not installed at {dir:?}");
        return;
    }
    let cases: &[(&str, Option<&str>, &[&str])] = &[
        ("default.cfg", None, &[]),
        ("E2E-TC.cfg", None, &[]),
        ("P2P-TC.cfg", None, &[]),
        ("G.8275.1.cfg", Some("g8275.1"), &[]),
        (
            "G.8275.2.cfg",
            None,
            &["hybrid_e2e", "inhibit_multicast_service", "unicast_listen"],
        ),
        (
            "gPTP.cfg",
            None,
            &[
                "assume_two_step",
                "path_trace_enabled",
                "follow_up_info",
                "transportSpecific",
            ],
        ),
        (
            "UNICAST-SLAVE.cfg",
            None,
            &["[unicast_master_table]", "unicast_master_table"],
        ),
    ];
    for (name, profile, unsupported) in cases {
        let path = dir.join(name);
        if !path.exists() {
            continue;
        }
        match Config::load(*profile, Some(&path), NO) {
            Ok(_) => assert!(unsupported.is_empty(), "{name} should fail"),
            Err(e) => {
                assert!(!unsupported.is_empty(), "{name}: {e}");
                for d in e.diagnostics() {
                    let s = d.to_string();
                    assert!(
                        s.contains("not supported by xptp yet")
                            && unsupported.iter().any(|k| s.contains(k)),
                        "{name}: {s}"
                    );
                }
            }
        }
    }
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("xptp-config-{}-{name}", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn xptp_config_check_command() {
    let bin = env!("CARGO_BIN_EXE_xptp");
    let good = temp_file("good.cfg", IEC_61850_9_3);
    let out = Command::new(bin)
        .args(["config", "check"])
        .arg(&good)
        .args(["--profile", "iec61850-9-3"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout,
        format!(
            "{}: ok (OC hardware, 1 port: eth0, profile iec61850-9-3)\n",
            good.display()
        )
    );

    let out = Command::new(bin)
        .args(["config", "check", "--dump"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(out.status.success());
    let dumped = String::from_utf8(out.stdout).unwrap();
    assert!(
        dumped.contains("\nnetwork_transport               L2\n"),
        "{dumped}"
    );
    assert!(Config::load_str(None, &dumped, NO).is_ok());

    let bad = temp_file("bad.cfg", "[global]\nfooBar 1\nlogSyncInterval 300\n");
    let out = Command::new(bin)
        .args(["config", "check"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let p = bad.display();
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!(
            "{p}: line 2: unknown key 'fooBar'\n{p}: line 3: logSyncInterval 300 out of range [-128, 127]\n"
        )
    );

    let out = Command::new(bin)
        .args(["config", "check", "/nonexistent/xptp.cfg"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .starts_with("cannot read configuration file /nonexistent/xptp.cfg:"));
    let _ = std::fs::remove_file(good);
    let _ = std::fs::remove_file(bad);
}
