//! The three-namespace chain the transparent-clock tests run in (master ns `eth0` — TC ns
//! `tc0 | tc1` — slave ns `eth0`), ptp4l 3.1.1 as the TC in it for side-by-side runs, and a
//! polling helper. Everything is removed when the values drop.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::linuxptp::DelayMechanism;
use crate::netns::{veth, Netns, Proc};

/// master ns (eth0) — tc ns (tc0 | tc1) — slave ns (eth0).
#[derive(Debug)]
pub struct Chain {
    /// The master's namespace (`eth0`).
    pub m: Netns,
    /// The transparent clock's namespace (`tc0` towards the master, `tc1` towards the slave).
    pub tc: Netns,
    /// The slave's namespace (`eth0`).
    pub s: Netns,
}

/// Builds the chain; namespace names start with `tag`. Panics (test setup) on failure.
pub fn chain(tag: &str) -> Chain {
    let m = Netns::new(&format!("{tag}-m")).unwrap();
    let tc = Netns::new(&format!("{tag}-tc")).unwrap();
    let s = Netns::new(&format!("{tag}-s")).unwrap();
    veth(&m, "eth0", &tc, "tc0").unwrap();
    veth(&tc, "tc1", &s, "eth0").unwrap();
    Chain { m, tc, s }
}

/// ptp4l as the chain's transparent clock (`E2E_TC`/`P2P_TC`, software timestamps, L2,
/// `tc_spanning_tree 1`, free running); config, log (`tc.log`) and its management socket
/// (`tc.sock`) in `dir`.
pub fn start_ptp4l_tc(c: &Chain, dir: &Path, delay: DelayMechanism) -> Proc {
    let cfg = dir.join("tc.cfg");
    let clock_type = match delay {
        DelayMechanism::E2E => "E2E_TC",
        DelayMechanism::P2P => "P2P_TC",
    };
    std::fs::write(
        &cfg,
        format!(
            "[global]\nfree_running 1\ntime_stamping software\nnetwork_transport L2\n\
             delay_mechanism {}\nclock_type {clock_type}\ntc_spanning_tree 1\n\
             logMinPdelayReqInterval -2\nuds_address {}\n",
            delay.config_value(),
            dir.join("tc.sock").display()
        ),
    )
    .unwrap();
    let cfg_s = cfg.to_string_lossy().into_owned();
    c.tc.spawn_logged(
        "ptp4l",
        &["-f", &cfg_s, "-i", "tc0", "-i", "tc1", "-m", "-q"],
        &dir.join("tc.log"),
    )
    .unwrap()
}

/// Polls `f` every 250 ms until it gives a value; panics after `timeout`, naming `what`.
pub fn wait_until<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}
