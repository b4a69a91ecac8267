//! The same pmc commands against a real ptp4l (3.1.1, in a network namespace) and against
//! xptp's management socket: every answer has the same kind (data or error) and the same set
//! of field names, and the clock defaults read the same. Needs root for the namespace (skips
//! otherwise, fails under XPTP_REQUIRE_ROOT=1).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use xptp_control::datasets::{
    ClockConfig, CurrentDs, DefaultDs, ParentDs, PortConfig, PortDs, TimePropertiesDs,
};
use xptp_control::mgmt::uds::{UdsConfig, UdsServer};
use xptp_control::mgmt::{
    GrandmasterSettings, ManagementSnapshot, PortView, SyncUncertain, TimeStatus, Timestamping,
};
use xptp_control::port::state::PortState;
use xptp_datapath::wire::ClockIdentity;
use xptp_tests::linuxptp::{
    parse_pmc_output, DelayMechanism, PmcResponse, PortState as LptpState, Ptp4l, Ptp4lConfig,
    Transport,
};
use xptp_tests::netns::{require_root, Lab};

/// What the lab's ptp4l master is configured as, as an xptp view: one port, grandmaster.
fn grandmaster_view(cfg: &Ptp4lConfig) -> ManagementSnapshot {
    let id = ClockIdentity([0x02, 0, 0, 0xff, 0xfe, 0, 0, 0x01]);
    let clock = ClockConfig {
        priority1: cfg.priority1,
        domain_number: cfg.domain_number,
        ..ClockConfig::default()
    };
    let dds = DefaultDs::new(&clock, id, 1);
    let port_cfg = PortConfig {
        log_announce_interval: cfg.log_announce_interval,
        announce_receipt_timeout: cfg.announce_receipt_timeout,
        log_sync_interval: cfg.log_sync_interval,
        log_min_delay_req_interval: cfg.log_min_delay_req_interval,
        log_min_pdelay_req_interval: cfg.log_min_pdelay_req_interval,
        ..PortConfig::default()
    };
    let mut ds = PortDs::new(&port_cfg, id, 1);
    ds.port_state = PortState::Master;
    ManagementSnapshot {
        default_ds: dds,
        current_ds: CurrentDs::default(),
        parent_ds: ParentDs::own(&dds),
        // ptp4l with software timestamping runs on CLOCK_REALTIME and then announces the UTC
        // timescale (its `utc_timescale`): ptpTimescale 0 as grandmaster.
        time_properties_ds: TimePropertiesDs {
            ptp_timescale: false,
            ..TimePropertiesDs::own(&clock)
        },
        ports: vec![PortView {
            ds,
            interface: "eth0".into(),
            timestamping: Timestamping::Software,
            as_capable: true,
            neighbor_prop_delay_thresh_ns: 20_000_000,
            stats: None,
        }],
        time_status: TimeStatus::default(),
        sync_uncertain: SyncUncertain::DontCare,
        grandmaster_settings: Some(GrandmasterSettings {
            clock_quality: dds.clock_quality,
            utc_offset: 37,
            time_flags: 0x08,
            time_source: 0xA0,
        }),
    }
}

const GETS: &[&str] = &[
    "GET DEFAULT_DATA_SET",
    "GET CURRENT_DATA_SET",
    "GET PARENT_DATA_SET",
    "GET TIME_PROPERTIES_DATA_SET",
    "GET PORT_DATA_SET",
    "GET TIME_STATUS_NP",
    "GET PORT_PROPERTIES_NP",
    "GET PRIORITY1",
    "GET PRIORITY2",
    "GET DOMAIN",
    "GET SLAVE_ONLY",
    "GET CLOCK_ACCURACY",
    "GET GRANDMASTER_SETTINGS_NP",
    "GET SYNCHRONIZATION_UNCERTAIN_NP",
    "GET PORT_DATA_SET_NP",
    "GET LOG_ANNOUNCE_INTERVAL",
    "GET ANNOUNCE_RECEIPT_TIMEOUT",
    "GET LOG_SYNC_INTERVAL",
    "GET DELAY_MECHANISM",
    "GET LOG_MIN_PDELAY_REQ_INTERVAL",
    "GET NULL_MANAGEMENT",
    "GET TIME",
    "SET PRIORITY2 99",
    "SET SYNCHRONIZATION_UNCERTAIN_NP 0",
    "TARGET ffffff.ffff.ffffff-7",
    "GET PORT_DATA_SET",
];

/// (sequenceId, kind, managementId, field names) per answer.
fn shape(r: &[PmcResponse]) -> Vec<(u16, String, String, BTreeSet<String>)> {
    r.iter()
        .map(|x| {
            (
                x.sequence_id,
                x.kind.clone(),
                x.tlv.clone(),
                x.fields.keys().cloned().collect(),
            )
        })
        .collect()
}

fn pmc_on_host(server: &Path, client: &Path, cmds: &[&str]) -> Vec<PmcResponse> {
    let out = Command::new("pmc")
        .args(["-u", "-b", "0", "-s"])
        .arg(server)
        .arg("-i")
        .arg(client)
        .args(cmds)
        .output()
        .expect("run pmc");
    parse_pmc_output(&String::from_utf8_lossy(&out.stdout))
}

#[test]
fn pmc_sees_the_same_answers_from_xptp_as_from_ptp4l() {
    if !require_root() {
        return;
    }
    let lab = Lab::pair("mgmtcmp").expect("build lab");
    let node = lab.node(0);
    let cfg = Ptp4lConfig::master(Transport::UdpV4, DelayMechanism::E2E);
    let ptp4l = Ptp4l::spawn(&node.ns, &node.ifname, &cfg).unwrap();
    ptp4l
        .wait_for_state(LptpState::Master, Duration::from_secs(10))
        .unwrap();
    let theirs = ptp4l.pmc(GETS).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut server = UdsServer::bind(&UdsConfig {
        address: dir.path().join("xptp"),
        ro_address: None,
        ..UdsConfig::default()
    })
    .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let mut view = grandmaster_view(&cfg);
    let th = std::thread::spawn(move || {
        while !s.load(Ordering::Relaxed) {
            for c in server.poll(&view) {
                view.apply(c);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    });
    let ours = pmc_on_host(&dir.path().join("xptp"), &dir.path().join("pmc"), GETS);
    stop.store(true, Ordering::Relaxed);
    th.join().unwrap();

    assert!(
        theirs.len() >= GETS.len() - 2,
        "ptp4l answered too little: {theirs:#?}"
    );
    let (t, o) = (shape(&theirs), shape(&ours));
    for (a, b) in t.iter().zip(o.iter()) {
        assert_eq!(a, b, "ptp4l vs xptp answer differs");
    }
    assert_eq!(t.len(), o.len(), "ptp4l: {theirs:#?}\nxptp: {ours:#?}");

    // The defaults of a ptp4l grandmaster and of xptp's data sets built from the same
    // configuration read the same (identities aside).
    for id in [
        "DEFAULT_DATA_SET",
        "TIME_PROPERTIES_DATA_SET",
        "CURRENT_DATA_SET",
    ] {
        let pick = |r: &[PmcResponse]| {
            let mut f = r.iter().find(|x| x.tlv == id).unwrap().fields.clone();
            f.remove("clockIdentity");
            f
        };
        assert_eq!(pick(&theirs), pick(&ours), "{id}");
    }
    let port = |r: &[PmcResponse]| {
        let mut f = r
            .iter()
            .find(|x| x.tlv == "PORT_DATA_SET")
            .unwrap()
            .fields
            .clone();
        f.remove("portIdentity");
        f.remove("versionNumber");
        f
    };
    assert_eq!(port(&theirs), port(&ours), "PORT_DATA_SET");
}
