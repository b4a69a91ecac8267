//! The real linuxptp `pmc -u` against `xptp run` as an E2E and as a P2P transparent clock
//! (ptp4l master → xptp TC → ptp4l slave, L2, three namespaces): the slave locks through the
//! TC, and every field pmc prints for DEFAULT_DATA_SET, PORT_DATA_SET (per port, with
//! peerMeanPathDelay = the fast path's measured link delay for P2P), PORT_PROPERTIES_NP,
//! TIME_STATUS_NP, ... matches `xptp status --json` of the same TC; the read-only socket
//! answers the same GETs and refuses SET. Then, side by side, ptp4l 3.1.1 as the TC in the
//! same topology gets the same pmc commands: it answers none of them (its UNIX-socket port
//! runs the TC event handler, which forwards MANAGEMENT onto the network ports:
//! linuxptp e2e_tc.c / p2p_tc.c), which is [`PTP4L_TC_ANSWERS`]; xptp answers a superset.
//! With `network_management 1`, `pmc -2` from the slave's link gets the xptp TC's answers
//! (and none from ptp4l's TC).
//! Needs root and the `xptp` binary (skips without root, fails under XPTP_REQUIRE_ROOT=1).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use xptp_tests::golden::xptp_binary;
use xptp_tests::linuxptp::{parse_pmc_output, DelayMechanism, PmcResponse, Ptp4l, Ptp4lConfig};
use xptp_tests::linuxptp::{PortState, Transport};
use xptp_tests::netns::require_root;
use xptp_tests::tc_chain::{chain, start_ptp4l_tc, wait_until};
use xptp_tests::xptp_run::{clock_identity_of, XptpRun};

/// Every GET pmc 3.1.1 can send that concerns a TC (it has no TRANSPARENT_CLOCK_* commands).
const GETS: &[&str] = &[
    "GET DEFAULT_DATA_SET",
    "GET CURRENT_DATA_SET",
    "GET PARENT_DATA_SET",
    "GET TIME_PROPERTIES_DATA_SET",
    "GET PRIORITY1",
    "GET PRIORITY2",
    "GET DOMAIN",
    "GET SLAVE_ONLY",
    "GET CLOCK_ACCURACY",
    "GET TIME_STATUS_NP",
    "GET GRANDMASTER_SETTINGS_NP",
    "GET SYNCHRONIZATION_UNCERTAIN_NP",
    "GET PORT_DATA_SET",
    "GET LOG_ANNOUNCE_INTERVAL",
    "GET ANNOUNCE_RECEIPT_TIMEOUT",
    "GET LOG_SYNC_INTERVAL",
    "GET VERSION_NUMBER",
    "GET DELAY_MECHANISM",
    "GET LOG_MIN_PDELAY_REQ_INTERVAL",
    "GET PORT_DATA_SET_NP",
    "GET PORT_STATS_NP",
    "GET PORT_PROPERTIES_NP",
];

/// What ptp4l 3.1.1 as a TC answers of [`GETS`] on its UNIX socket: nothing (see the module
/// docs). xptp answers these IDs from the TC's state instead of leaving pmc scripts without
/// an answer.
const PTP4L_TC_ANSWERS: &[&str] = &[];

/// The IDs xptp answers with MANAGEMENT_ERROR_STATUS NOT_SUPPORTED for a TC: it is never
/// grandmaster, so it has no grandmaster settings.
const XPTP_TC_NOT_SUPPORTED: &[&str] = &["GRANDMASTER_SETTINGS_NP"];

/// `pmc -u -b 0 -s SOCK -i CLIENT CMDS...` on the host (the socket is a file).
fn pmc(sock: &Path, client: &Path, cmds: &[&str]) -> (Vec<PmcResponse>, String) {
    let out = Command::new("pmc")
        .args(["-u", "-b", "0", "-s"])
        .arg(sock)
        .arg("-i")
        .arg(client)
        .args(cmds)
        .output()
        .expect("run pmc");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (parse_pmc_output(&text), text)
}

/// `pmc -2 -i eth0 -b 0 CMDS...` from the slave's namespace (management over the network,
/// through the TC's port 2); only the answers from `clock` (the TC's clock identity).
fn pmc_l2(ns: &xptp_tests::netns::Netns, clock: &str, cmds: &[&str]) -> (Vec<PmcResponse>, String) {
    let mut args = vec!["-2", "-i", "eth0", "-b", "0"];
    args.extend_from_slice(cmds);
    let out = ns.output("pmc", &args).expect("run pmc -2");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let r = parse_pmc_output(&text)
        .into_iter()
        .filter(|a| a.source.starts_with(clock))
        .collect();
    (r, text)
}

/// The IDs answered with data.
fn answered(r: &[PmcResponse]) -> BTreeSet<String> {
    r.iter()
        .filter(|a| a.kind == "MANAGEMENT")
        .map(|a| a.tlv.clone())
        .collect()
}

fn answers<'a>(r: &'a [PmcResponse], id: &str) -> Vec<&'a PmcResponse> {
    r.iter()
        .filter(|a| a.tlv == id && a.kind == "MANAGEMENT")
        .collect()
}

fn field<'a>(a: &'a PmcResponse, key: &str) -> &'a str {
    a.get(key)
        .unwrap_or_else(|| panic!("{} has no {key}: {:?}", a.tlv, a.fields))
}

/// Whole nanoseconds of a TimeInterval pmc prints as `-1234.0`.
fn ns(v: &str) -> i64 {
    v.split('.').next().unwrap().parse().unwrap()
}

fn pmc_against_tc(delay: DelayMechanism, tag: &str) {
    if !require_root() {
        return;
    }
    let Some(bin) = xptp_binary() else {
        panic!("the xptp binary is not built: run `cargo build -p xptp-control --bin xptp` (or set XPTP_BIN)");
    };
    let c = chain(tag);
    let (flag, clock_type, p2p) = match delay {
        DelayMechanism::E2E => ("-E", "clock_type=E2E_TC", false),
        DelayMechanism::P2P => ("-P", "clock_type=P2P_TC", true),
    };
    let xptp = XptpRun::spawn(
        &c.tc,
        &bin,
        &[
            "-i",
            "tc0",
            "-i",
            "tc1",
            "-2",
            flag,
            "-S",
            "-m",
            "--clock",
            "virtual",
            "--set",
            clock_type,
            "--set",
            "logMinPdelayReqInterval=-2",
            "--set",
            "priority1=200",
            "--set",
            "network_management=1",
        ],
    )
    .unwrap();
    let master = Ptp4l::spawn(&c.m, "eth0", &Ptp4lConfig::master(Transport::L2, delay)).unwrap();
    let slave = Ptp4l::spawn(&c.s, "eth0", &Ptp4lConfig::slave(Transport::L2, delay)).unwrap();
    master
        .wait_for_state(PortState::Master, Duration::from_secs(15))
        .unwrap();
    slave.wait_for_slave(Duration::from_secs(30)).unwrap();
    let st = wait_until("the TC's status", Duration::from_secs(15), || {
        let v = xptp.status_json(&bin).ok()?;
        let ready = !p2p || v["ports"][0]["mean_delay_ns"].is_i64();
        ready.then_some(v)
    });
    let client = xptp.dir().join("pmc.sock");
    let (r, text) = pmc(&xptp.uds(), &client, GETS);
    let st_after = xptp.status_json(&bin).unwrap();
    println!("{tag}: xptp TC answers:\n{text}");
    let cl = &st["clock"];
    let ours = clock_identity_of(&c.tc.mac("tc0").unwrap());

    let dds = answers(&r, "DEFAULT_DATA_SET");
    assert_eq!(dds.len(), 1, "{text}");
    let dds = dds[0];
    assert_eq!(field(dds, "clockIdentity"), ours);
    assert_eq!(field(dds, "clockIdentity"), cl["clock_identity"]);
    assert_eq!(field(dds, "numberPorts"), "2");
    assert_eq!(
        field(dds, "numberPorts"),
        st["ports"].as_array().unwrap().len().to_string()
    );
    assert_eq!(field(dds, "priority1"), "200");
    assert_eq!(field(dds, "priority1"), cl["priority1"].to_string());
    assert_eq!(field(dds, "priority2"), cl["priority2"].to_string());
    assert_eq!(field(dds, "clockClass"), cl["clock_class"].to_string());
    assert_eq!(field(dds, "domainNumber"), cl["domain"].to_string());
    assert_eq!(field(dds, "slaveOnly"), "0");
    assert_eq!(field(dds, "twoStepFlag"), "1");
    assert_eq!(cl["clock_type"], if p2p { "P2P_TC" } else { "E2E_TC" });

    let ts = answers(&r, "TIME_STATUS_NP");
    assert_eq!(ts.len(), 1, "{text}");
    assert_eq!(field(ts[0], "gmPresent"), "false", "a TC has no parent");
    assert_eq!(field(ts[0], "gmIdentity"), ours);

    let pds = answers(&r, "PORT_DATA_SET");
    let props = answers(&r, "PORT_PROPERTIES_NP");
    assert_eq!((pds.len(), props.len()), (2, 2), "one per port:\n{text}");
    for (i, (pd, pp)) in pds.iter().zip(&props).enumerate() {
        let sp = &st["ports"][i];
        assert_eq!(field(pd, "portIdentity"), format!("{ours}-{}", i + 1));
        assert_eq!(field(pd, "portIdentity"), sp["port_identity"]);
        assert_eq!(sp["state"], "TRANSPARENT");
        assert_eq!(field(pd, "portState"), "MASTER", "a forwarding TC port");
        assert_eq!(field(pd, "delayMechanism"), if p2p { "2" } else { "1" });
        assert_eq!(sp["delay_mechanism"], if p2p { "P2P" } else { "E2E" });
        assert_eq!(field(pd, "logMinPdelayReqInterval"), "-2");
        let peer = ns(field(pd, "peerMeanPathDelay"));
        if p2p {
            // Sampled between two status snapshots: the smoothed link delay moves a little.
            let (a, b) = (
                sp["mean_delay_ns"].as_i64(),
                st_after["ports"][i]["mean_delay_ns"].as_i64(),
            );
            if i == 0 {
                let (a, b) = (a.unwrap(), b.unwrap());
                let (lo, hi) = (a.min(b), a.max(b));
                let slack = 5_000 + hi.abs() / 2;
                // A veth has no propagation delay: with wire stamps the filtered link delay
                // sits around 0 and may be slightly negative (samples down to -10 us are used).
                assert!(
                    peer > -10_000 && peer >= lo - slack && peer <= hi + slack,
                    "port 1 peerMeanPathDelay {peer} ns vs status {a}..{b} ns"
                );
            }
            if a.is_none() && b.is_none() {
                assert_eq!(peer, 0, "no measurement yet on port {}", i + 1);
            }
        } else {
            assert_eq!(peer, 0, "E2E: no link delay");
            assert!(sp["mean_delay_ns"].is_null());
        }
        assert_eq!(field(pp, "portIdentity"), sp["port_identity"]);
        assert_eq!(field(pp, "interface"), sp["interface"]);
        assert_eq!(field(pp, "timestamping"), "SOFTWARE");
        assert_eq!(field(pp, "portState"), "MASTER");
    }

    // PORT_STATS_NP: what the TC received and sent per port and type, as status counts it
    // (read between two status snapshots: Sync, Follow_Up and Announce keep coming).
    let stats = answers(&r, "PORT_STATS_NP");
    assert_eq!(stats.len(), 2, "{text}");
    let mut forwarded = 0;
    for (i, ps) in stats.iter().enumerate() {
        for t in ["Sync", "Follow_Up", "Announce", "Delay_Req", "Delay_Resp"] {
            for dir in ["rx", "tx"] {
                let v: u64 = field(ps, &format!("{dir}_{t}")).parse().unwrap();
                let a = st["ports"][i][dir][t].as_u64().unwrap();
                let b = st_after["ports"][i][dir][t].as_u64().unwrap();
                assert!(
                    a <= v && v <= b,
                    "port {} {dir}_{t}: pmc {v}, status {a}..{b}",
                    i + 1
                );
                if dir == "tx" {
                    forwarded += v;
                }
            }
        }
    }
    // Sync, Follow_Up and Announce from the master leave port 2.
    for t in ["Sync", "Follow_Up", "Announce"] {
        assert!(
            st["ports"][1]["tx"][t].as_u64().unwrap() > 0,
            "port 2 forwarded no {t}: {}",
            st["ports"][1]
        );
    }
    assert!(forwarded > 0);

    // The table shows the TC's ports with their counts and the residence histogram.
    let table = Command::new(&bin)
        .args(["status", "-s"])
        .arg(xptp.uds())
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    println!("{tag}: xptp status:\n{table}");
    assert!(table.contains("TRANSPARENT"), "{table}");
    assert!(table.contains("xptp_residence_time_seconds"), "{table}");

    let xptp_ids = answered(&r);
    let errors: BTreeSet<String> = r
        .iter()
        .filter(|a| a.kind == "MANAGEMENT_ERROR_STATUS")
        // pmc prints no ID on an error line: pmc numbers its commands from 0.
        .map(|a| {
            GETS[usize::from(a.sequence_id)]
                .trim_start_matches("GET ")
                .to_owned()
        })
        .collect();
    let unsupported: BTreeSet<String> = XPTP_TC_NOT_SUPPORTED
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(errors, unsupported, "{text}");
    for g in GETS {
        let id = g.trim_start_matches("GET ");
        assert!(
            xptp_ids.contains(id) || unsupported.contains(id),
            "{id} unanswered:\n{text}"
        );
    }

    // The read-only socket reads the same and refuses SET.
    let ro_client = xptp.dir().join("pmc-ro.sock");
    let (ro, ro_text) = pmc(
        &xptp.uds_ro(),
        &ro_client,
        &["GET DEFAULT_DATA_SET", "SET PRIORITY2 7"],
    );
    assert_eq!(
        answers(&ro, "DEFAULT_DATA_SET").len(),
        1,
        "read-only socket:\n{ro_text}"
    );
    assert!(
        ro.iter().any(|a| a.kind == "MANAGEMENT_ERROR_STATUS"),
        "read-only SET refused:\n{ro_text}"
    );
    // SET on the read-write socket: kept and shown.
    let (w, w_text) = pmc(&xptp.uds(), &client, &["SET PRIORITY2 7", "GET PRIORITY2"]);
    assert!(
        answers(&w, "PRIORITY2")
            .iter()
            .all(|a| field(a, "priority2") == "7"),
        "{w_text}"
    );
    // Management over the network (network_management 1): pmc -2 on the slave's link reaches
    // the TC's port 2, which answers (clock-scoped from port 2, port-scoped from each port)
    // and forwards the request towards the master as well.
    let net_gets = [
        "GET DEFAULT_DATA_SET",
        "GET PORT_DATA_SET",
        "GET TIME_STATUS_NP",
    ];
    let (nr, ntext) = pmc_l2(&c.s, &ours, &net_gets);
    println!("{tag}: pmc -2 answers from the xptp TC:\n{ntext}");
    let nd = answers(&nr, "DEFAULT_DATA_SET");
    assert_eq!(nd.len(), 1, "{ntext}");
    assert_eq!(
        nd[0].source,
        format!("{ours}-2"),
        "answered by the ingress port"
    );
    assert_eq!(field(nd[0], "clockIdentity"), ours);
    assert_eq!(field(nd[0], "numberPorts"), "2");
    let np: Vec<&str> = answers(&nr, "PORT_DATA_SET")
        .iter()
        .map(|a| field(a, "portIdentity"))
        .collect();
    assert_eq!(np, [format!("{ours}-1"), format!("{ours}-2")], "{ntext}");
    assert_eq!(answers(&nr, "TIME_STATUS_NP").len(), 1, "{ntext}");
    let nst = xptp.status_json(&bin).unwrap();
    assert!(
        nst["control"]["network_management_answered"]
            .as_u64()
            .unwrap()
            >= 3,
        "{}",
        nst["control"]
    );
    let mut xptp = xptp;
    xptp.stop();
    let log = xptp.log_text();
    assert!(
        log.contains("management (pmc -u -s PATH) listening"),
        "{log}"
    );

    // Side by side: ptp4l 3.1.1 as the TC in the same chain, the same pmc commands.
    let dir = tempfile::tempdir().unwrap();
    let mut p4 = start_ptp4l_tc(&c, dir.path(), delay);
    std::thread::sleep(Duration::from_secs(4));
    let (pr, ptext) = pmc(
        &dir.path().join("tc.sock"),
        &dir.path().join("pmc.sock"),
        GETS,
    );
    println!("{tag}: ptp4l TC answers:\n{ptext}");
    let (pn, pntext) = pmc_l2(&c.s, &ours, &net_gets);
    assert!(
        pn.is_empty(),
        "ptp4l 3.1.1 TC answers no network management either:\n{pntext}"
    );
    let p4_ids = answered(&pr);
    let documented: BTreeSet<String> = PTP4L_TC_ANSWERS.iter().map(|s| s.to_string()).collect();
    assert_eq!(p4_ids, documented, "ptp4l 3.1.1 TC:\n{ptext}");
    assert!(p4_ids.is_subset(&xptp_ids));
    println!(
        "{tag}: answered with data: xptp {} IDs {:?}; ptp4l {} IDs {:?}",
        xptp_ids.len(),
        xptp_ids,
        p4_ids.len(),
        p4_ids
    );
    p4.stop();
    drop((master, slave, c));
}

#[test]
fn pmc_against_an_e2e_transparent_clock() {
    pmc_against_tc(DelayMechanism::E2E, "tcm-e2e");
}

#[test]
fn pmc_against_a_p2p_transparent_clock() {
    pmc_against_tc(DelayMechanism::P2P, "tcm-p2p");
}
