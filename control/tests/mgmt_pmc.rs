//! The real linuxptp `pmc` against xptp's management socket: every supported GET, SET
//! PRIORITY1 and the read-only socket, with the printed fields checked against the view.
//!
//! pmc over a UNIX socket needs neither root nor a network namespace (`-i` puts its own
//! socket under /tmp). Skipped with a message when pmc is not installed, unless
//! XPTP_REQUIRE_ROOT=1 (CI), where a missing pmc fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use xptp_control::datasets::{
    ClockConfig, CurrentDs, DefaultDs, ParentDs, PortConfig, PortDs, TimePropertiesDs,
};
use xptp_control::mgmt::uds::{UdsConfig, UdsServer};
use xptp_control::mgmt::{
    ManagementSnapshot, ManagementView, PortView, SyncUncertain, TimeStatus, Timestamping,
};
use xptp_control::port::state::PortState;
use xptp_datapath::wire::{ClockIdentity, ClockQuality, PortIdentity};

const CLOCK: ClockIdentity = ClockIdentity([0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55]);
const GM: ClockIdentity = ClockIdentity([0xaa, 0xbb, 0xcc, 0xff, 0xfe, 0xdd, 0xee, 0x01]);
const PARENT: ClockIdentity = ClockIdentity([0x0c, 0x0d, 0x0e, 0xff, 0xfe, 0x0f, 0x10, 0x11]);

/// A two-port boundary clock: port 1 SLAVE to PARENT (two hops from GM), port 2 MASTER.
fn boundary_clock() -> ManagementSnapshot {
    let cfg = ClockConfig {
        priority1: 120,
        priority2: 130,
        domain_number: 0,
        ..ClockConfig::default()
    };
    let dds = DefaultDs::new(&cfg, CLOCK, 2);
    let port = |n: u16, state: PortState, ifname: &str| {
        let mut ds = PortDs::new(&PortConfig::default(), CLOCK, n);
        ds.port_state = state;
        ds.mean_link_delay = 0;
        PortView {
            ds,
            interface: ifname.to_string(),
            timestamping: Timestamping::Software,
            as_capable: true,
            neighbor_prop_delay_thresh_ns: 20_000_000,
            stats: None,
        }
    };
    ManagementSnapshot {
        default_ds: dds,
        current_ds: CurrentDs {
            steps_removed: 2,
            offset_from_master: -1234 << 16,
            mean_delay: 5678 << 16,
        },
        parent_ds: ParentDs {
            parent_port_identity: PortIdentity::new(PARENT, 3),
            parent_stats: false,
            observed_parent_offset_scaled_log_variance: 0xffff,
            observed_parent_clock_phase_change_rate: 0x7fff_ffff,
            grandmaster_identity: GM,
            grandmaster_clock_quality: ClockQuality {
                clock_class: 6,
                clock_accuracy: 0x21,
                offset_scaled_log_variance: 0x4e5d,
            },
            grandmaster_priority1: 1,
            grandmaster_priority2: 2,
        },
        time_properties_ds: TimePropertiesDs {
            current_utc_offset: 37,
            current_utc_offset_valid: true,
            leap59: false,
            leap61: false,
            time_traceable: true,
            frequency_traceable: true,
            ptp_timescale: true,
            time_source: 0x20,
        },
        ports: vec![
            port(1, PortState::Slave, "veth-up"),
            port(2, PortState::Master, "veth-down"),
        ],
        time_status: TimeStatus {
            master_offset_ns: -1234,
            ingress_time_ns: 1_700_000_000_123_456_789,
            ..TimeStatus::default()
        },
        sync_uncertain: SyncUncertain::DontCare,
        grandmaster_settings: None,
    }
}

fn pmc_available() -> bool {
    let ok = Command::new("pmc").arg("-v").output().is_ok();
    if !ok {
        assert!(
            std::env::var("XPTP_REQUIRE_ROOT").as_deref() != Ok("1"),
            "pmc (linuxptp) is not installed but XPTP_REQUIRE_ROOT=1"
        );
        eprintln!("skipping: pmc (linuxptp) is not installed");
    }
    ok
}

/// Runs the server on its own thread until dropped, applying commands to the snapshot.
struct Running {
    view: Arc<Mutex<ManagementSnapshot>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    dir: PathBuf,
}

impl Running {
    fn start(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("xptp-mgmt-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = UdsConfig {
            address: dir.join("xptp"),
            ro_address: Some(dir.join("xptp.ro")),
            ..UdsConfig::default()
        };
        let mut server = UdsServer::bind(&cfg).unwrap();
        let view = Arc::new(Mutex::new(boundary_clock()));
        let stop = Arc::new(AtomicBool::new(false));
        let (v, s) = (view.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                loop {
                    let mut snap = v.lock().unwrap();
                    let cmds = server.poll(&*snap);
                    if cmds.is_empty() {
                        break;
                    }
                    for c in cmds {
                        snap.apply(c);
                    }
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        Running {
            view,
            stop,
            thread: Some(thread),
            dir,
        }
    }

    fn rw(&self) -> PathBuf {
        self.dir.join("xptp")
    }
    fn ro(&self) -> PathBuf {
        self.dir.join("xptp.ro")
    }

    fn pmc(&self, server: &Path, cmds: &[&str]) -> String {
        pmc(server, &self.dir.join("pmc"), cmds)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn pmc(server: &Path, client: &Path, cmds: &[&str]) -> String {
    let out = Command::new("pmc")
        .args(["-u", "-b", "0", "-s"])
        .arg(server)
        .arg("-i")
        .arg(client)
        .args(cmds)
        .output()
        .expect("run pmc");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One answer as pmc prints it: the header line's words and the indented fields.
#[derive(Debug)]
struct Answer {
    from: String,
    kind: String,
    id: String,
    fields: BTreeMap<String, String>,
}

/// Splits pmc's output into answers ("\t<portIdentity> seq N RESPONSE <kind> [<ID>]" then
/// "\t\t<field> <value>" lines).
fn answers(out: &str) -> Vec<Answer> {
    let mut v: Vec<Answer> = Vec::new();
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("\t\t") {
            let mut it = rest.splitn(2, char::is_whitespace);
            let (k, val) = (it.next().unwrap_or(""), it.next().unwrap_or("").trim());
            if let Some(a) = v.last_mut() {
                a.fields.insert(k.to_string(), val.to_string());
            }
        } else if let Some(rest) = line.strip_prefix('\t') {
            let w: Vec<&str> = rest.split_whitespace().collect();
            if w.len() >= 5 && w[1] == "seq" {
                v.push(Answer {
                    from: w[0].to_string(),
                    kind: format!("{} {}", w[3], w[4]),
                    id: w.get(5).unwrap_or(&"").to_string(),
                    fields: BTreeMap::new(),
                });
            }
        }
    }
    v
}

fn only<'a>(a: &'a [Answer], id: &str) -> Vec<&'a Answer> {
    a.iter().filter(|x| x.id == id).collect()
}

fn field<'a>(a: &'a Answer, k: &str) -> &'a str {
    a.fields
        .get(k)
        .map(String::as_str)
        .unwrap_or_else(|| panic!("{} has no field {k}: {a:?}", a.id))
}

#[test]
fn pmc_reads_every_data_set_as_the_view_holds_it() {
    if !pmc_available() {
        return;
    }
    let r = Running::start("get");
    let out = r.pmc(
        &r.rw(),
        &[
            "GET DEFAULT_DATA_SET",
            "GET CURRENT_DATA_SET",
            "GET PARENT_DATA_SET",
            "GET TIME_PROPERTIES_DATA_SET",
            "GET PORT_DATA_SET",
            "GET TIME_STATUS_NP",
            "GET PORT_PROPERTIES_NP",
        ],
    );
    let a = answers(&out);
    let one = |id: &str| {
        let v = only(&a, id);
        assert_eq!(v.len(), 1, "{id}: expected one answer in\n{out}");
        v[0]
    };
    let d = one("DEFAULT_DATA_SET");
    assert_eq!(d.from, "021122.fffe.334455-0");
    assert_eq!(field(d, "clockIdentity"), "021122.fffe.334455");
    assert_eq!(field(d, "numberPorts"), "2");
    assert_eq!(field(d, "priority1"), "120");
    assert_eq!(field(d, "priority2"), "130");
    assert_eq!(field(d, "clockClass"), "248");
    let c = one("CURRENT_DATA_SET");
    assert_eq!(field(c, "stepsRemoved"), "2");
    assert_eq!(field(c, "offsetFromMaster"), "-1234.0");
    assert_eq!(field(c, "meanPathDelay"), "5678.0");
    let p = one("PARENT_DATA_SET");
    assert_eq!(field(p, "parentPortIdentity"), "0c0d0e.fffe.0f1011-3");
    assert_eq!(field(p, "grandmasterIdentity"), "aabbcc.fffe.ddee01");
    assert_eq!(field(p, "grandmasterPriority1"), "1");
    assert_eq!(field(p, "gm.ClockClass"), "6");
    let t = one("TIME_PROPERTIES_DATA_SET");
    assert_eq!(field(t, "currentUtcOffset"), "37");
    assert_eq!(field(t, "currentUtcOffsetValid"), "1");
    assert_eq!(field(t, "timeSource"), "0x20");
    let ports = only(&a, "PORT_DATA_SET");
    assert_eq!(ports.len(), 2, "one PORT_DATA_SET per port:\n{out}");
    assert_eq!(ports[0].from, "021122.fffe.334455-1");
    assert_eq!(field(ports[0], "portState"), "SLAVE");
    assert_eq!(ports[1].from, "021122.fffe.334455-2");
    assert_eq!(field(ports[1], "portState"), "MASTER");
    assert_eq!(field(ports[1], "delayMechanism"), "1");
    let s = one("TIME_STATUS_NP");
    assert_eq!(field(s, "master_offset"), "-1234");
    assert_eq!(field(s, "ingress_time"), "1700000000123456789");
    assert_eq!(field(s, "gmPresent"), "true");
    assert_eq!(field(s, "gmIdentity"), "aabbcc.fffe.ddee01");
    let pp = only(&a, "PORT_PROPERTIES_NP");
    assert_eq!(pp.len(), 2, "{out}");
    assert_eq!(field(pp[0], "interface"), "veth-up");
    assert_eq!(field(pp[0], "portState"), "SLAVE");
    assert_eq!(field(pp[0], "timestamping"), "SOFTWARE");
    assert_eq!(field(pp[1], "interface"), "veth-down");
    assert_eq!(field(pp[1], "portState"), "MASTER");
}

#[test]
fn pmc_set_priority1_answers_the_new_value_and_changes_the_clock() {
    if !pmc_available() {
        return;
    }
    let r = Running::start("set");
    let out = r.pmc(
        &r.rw(),
        &["SET PRIORITY1 100", "GET DEFAULT_DATA_SET", "GET PRIORITY1"],
    );
    let a = answers(&out);
    let p1 = only(&a, "PRIORITY1");
    assert_eq!(p1.len(), 2, "{out}");
    assert_eq!(
        field(p1[0], "priority1"),
        "100",
        "SET answered with the new value"
    );
    assert_eq!(field(p1[1], "priority1"), "100", "GET after SET");
    assert_eq!(field(only(&a, "DEFAULT_DATA_SET")[0], "priority1"), "100");
    assert_eq!(r.view.lock().unwrap().default_ds().priority1, 100);

    let out = r.pmc(
        &r.rw(),
        &[
            "SET SYNCHRONIZATION_UNCERTAIN_NP 0",
            "GET SYNCHRONIZATION_UNCERTAIN_NP",
        ],
    );
    let a = answers(&out);
    let su = only(&a, "SYNCHRONIZATION_UNCERTAIN_NP");
    assert_eq!(su.len(), 2, "{out}");
    assert!(su.iter().all(|x| field(x, "uncertain") == "0"), "{out}");
    assert_eq!(
        r.view.lock().unwrap().sync_uncertain(),
        SyncUncertain::False
    );
}

#[test]
fn pmc_target_selects_one_port() {
    if !pmc_available() {
        return;
    }
    let r = Running::start("target");
    let out = r.pmc(
        &r.rw(),
        &["TARGET 021122.fffe.334455-2", "GET PORT_DATA_SET"],
    );
    let a = answers(&out);
    let p = only(&a, "PORT_DATA_SET");
    assert_eq!(p.len(), 1, "{out}");
    assert_eq!(field(p[0], "portIdentity"), "021122.fffe.334455-2");
    // A port that does not exist: MANAGEMENT_ERROR_STATUS (WRONG_VALUE), no data.
    let out = r.pmc(
        &r.rw(),
        &["TARGET 021122.fffe.334455-7", "GET PORT_DATA_SET"],
    );
    let a = answers(&out);
    assert!(only(&a, "PORT_DATA_SET").is_empty(), "{out}");
    assert!(
        a.iter()
            .any(|x| x.kind == "RESPONSE MANAGEMENT_ERROR_STATUS"),
        "{out}"
    );
    // Another clock: no answer at all.
    let out = r.pmc(
        &r.rw(),
        &["TARGET 0a0b0c.fffe.0d0e0f-1", "GET PORT_DATA_SET"],
    );
    assert!(answers(&out).is_empty(), "{out}");
}

#[test]
fn read_only_socket_answers_get_and_refuses_set() {
    if !pmc_available() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let r = Running::start("ro");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&r.rw()), 0o600);
    assert_eq!(mode(&r.ro()), 0o666);
    let out = r.pmc(&r.ro(), &["SET PRIORITY2 7", "GET PRIORITY2"]);
    let a = answers(&out);
    assert!(
        a.iter()
            .any(|x| x.kind == "RESPONSE MANAGEMENT_ERROR_STATUS"),
        "SET refused:\n{out}"
    );
    let p2 = only(&a, "PRIORITY2");
    assert_eq!(p2.len(), 1, "{out}");
    assert_eq!(field(p2[0], "priority2"), "130");
    assert_eq!(r.view.lock().unwrap().default_ds().priority2, 130);
}
