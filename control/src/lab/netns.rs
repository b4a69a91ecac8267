//! RAII network-namespace lab: namespaces, veth pairs, bridges, addresses and the processes that
//! run inside them.
//!
//! Everything is done with iproute2 (`ip`) through `std::process::Command`. Each [`Netns`] has a
//! unique name (`xptp-<pid>-<counter>-<tag>`) so tests can run in parallel, and deletes itself on
//! drop after killing every process still inside it, also when a test panics. Processes started
//! with [`Netns::spawn`] are owned by a [`Proc`] that kills and reaps them on drop. Interfaces are
//! created directly inside their namespaces, so nothing ever appears in the host's namespace and
//! the same interface names and addresses can be reused by every lab.
//!
//! This module must not touch the host's network namespace, clock or processes it did not start.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};

use super::{Error, Result};

/// Prefix of every namespace the harness creates; [`leftover_namespaces`] looks for it.
pub const NS_PREFIX: &str = "xptp-";

/// Set to `1` to make root-only tests fail instead of skip when not run as root (CI does).
pub const REQUIRE_ROOT_ENV: &str = "XPTP_REQUIRE_ROOT";

static NS_COUNTER: AtomicU32 = AtomicU32::new(0);

static OWN_PROCESS_GROUP: AtomicBool = AtomicBool::new(false);

/// Makes every process started later by [`Netns::spawn`] the leader of its own process group,
/// so a terminal's Ctrl-C (sent to the foreground group) reaches only this process, which then
/// stops its children in order (`xptp lab` does this). Tests leave it off: a test run killed
/// by Ctrl-C never runs its destructors, and its children should get the signal too.
pub fn spawn_in_own_process_group(on: bool) {
    OWN_PROCESS_GROUP.store(on, Ordering::Relaxed);
}

/// True when running as root (effective uid 0).
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Gate for tests that need root. Returns true when running as root. Otherwise prints
/// "skipping: needs root" and returns false, unless `XPTP_REQUIRE_ROOT=1` is set, in which case
/// it panics: CI must not silently skip the lab tests.
pub fn require_root() -> bool {
    match root_gate(is_root(), std::env::var(REQUIRE_ROOT_ENV).ok().as_deref()) {
        Ok(true) => true,
        Ok(false) => {
            eprintln!("skipping: needs root");
            false
        }
        Err(msg) => panic!("{msg}"),
    }
}

/// The decision of [`require_root`]: run, skip, or fail with a message.
fn root_gate(is_root: bool, require_env: Option<&str>) -> Result<bool, String> {
    if is_root {
        Ok(true)
    } else if require_env == Some("1") {
        Err(format!(
            "this test needs root (network namespaces, veth, ptp4l) and {REQUIRE_ROOT_ENV}=1 \
             forbids skipping it: run the tests as root (sudo -E cargo test) or \
             unset {REQUIRE_ROOT_ENV}"
        ))
    } else {
        Ok(false)
    }
}

/// Names of existing namespaces that start with [`NS_PREFIX`] (from `ip netns list`).
pub fn leftover_namespaces() -> Result<Vec<String>> {
    list_namespaces(NS_PREFIX)
}

/// Names of existing namespaces that this process created and that still exist.
pub fn leftover_namespaces_of_this_process() -> Result<Vec<String>> {
    list_namespaces(&format!("{NS_PREFIX}{}-", std::process::id()))
}

fn list_namespaces(prefix: &str) -> Result<Vec<String>> {
    let out = run(Command::new("ip").args(["netns", "list"]))?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        // Lines look like "name" or "name (id: 3)".
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(prefix))
        .map(str::to_owned)
        .collect())
}

/// Renders a command line for error messages.
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        let a = a.to_string_lossy();
        if a.is_empty() || a.contains(char::is_whitespace) {
            let _ = write!(s, " '{a}'");
        } else {
            let _ = write!(s, " {a}");
        }
    }
    s
}

/// Runs a command to completion; a non-zero exit is an [`Error::CommandFailed`] carrying stderr.
pub fn run(cmd: &mut Command) -> Result<Output> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|source| Error::Spawn {
            command: describe(cmd),
            source,
        })?;
    if !out.status.success() {
        return Err(Error::CommandFailed {
            command: describe(cmd),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(out)
}

/// Sends `sig` to `pid`, ignoring a process that is already gone.
fn signal_pid(pid: u32, sig: Signal) {
    if let Some(p) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        let _ = rustix::process::kill_process(p, sig);
    }
}

/// A process started inside a namespace. Dropping it kills (SIGKILL) and reaps it.
#[derive(Debug)]
pub struct Proc {
    child: Child,
    command: String,
}

impl Proc {
    /// Process id (of the program itself: `ip netns exec` execs it in place).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The command line it was started with.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// Sends a signal (e.g. [`Signal::INT`] to make a capture flush and exit).
    pub fn signal(&self, sig: Signal) {
        // The child is not reaped before `wait`, so its pid cannot have been reused.
        signal_pid(self.pid(), sig);
    }

    /// Returns the exit status if the process has exited.
    pub fn try_wait(&mut self) -> Result<Option<std::process::ExitStatus>> {
        self.child.try_wait().map_err(|source| Error::Spawn {
            command: self.command.clone(),
            source,
        })
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.try_wait(), Ok(None))
    }

    /// Waits up to `timeout` for the process to exit by itself.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<std::process::ExitStatus> {
        let start = Instant::now();
        loop {
            if let Some(st) = self.try_wait()? {
                return Ok(st);
            }
            if start.elapsed() >= timeout {
                return Err(Error::Timeout {
                    what: format!("`{}` to exit", self.command),
                    waited_ms: timeout.as_millis(),
                });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends `sig`, waits up to `grace` for exit, then SIGKILLs. Returns the exit status.
    pub fn stop_with(&mut self, sig: Signal, grace: Duration) -> std::process::ExitStatus {
        if let Ok(Some(st)) = self.try_wait() {
            return st;
        }
        self.signal(sig);
        if let Ok(st) = self.wait_timeout(grace) {
            return st;
        }
        let _ = self.child.kill();
        // kill() on a live child cannot fail to end it; wait() reaps it.
        match self.child.wait() {
            Ok(st) => st,
            Err(_) => std::os::unix::process::ExitStatusExt::from_raw(9),
        }
    }

    /// SIGTERM, then SIGKILL after 2 s.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        self.stop_with(Signal::TERM, Duration::from_secs(2))
    }

    /// Lets the process run on after this value is gone (`xptp lab --keep`): nothing kills or
    /// reaps it. Returns its pid.
    pub fn detach(self) -> u32 {
        let pid = self.pid();
        std::mem::forget(self);
        pid
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// A network namespace, deleted on drop (after every process inside it has been killed).
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates `xptp-<pid>-<n>-<tag>` with `lo` up. IPv6 duplicate address detection and router
    /// solicitations are disabled for interfaces created later, so addresses are usable at once
    /// and captures are not cluttered with autoconfiguration traffic.
    pub fn new(tag: &str) -> Result<Netns> {
        let n = NS_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tag: String = tag
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .take(24)
            .collect();
        let name = format!("{NS_PREFIX}{}-{n}-{tag}", std::process::id());
        run(Command::new("ip").args(["netns", "add", &name]))?;
        // From here on, Drop removes it whatever fails below.
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"])?;
        ns.sysctl(&[
            ("net.ipv6.conf.default.accept_dad", "0"),
            ("net.ipv6.conf.default.router_solicitations", "0"),
            ("net.ipv6.conf.default.accept_ra", "0"),
            ("net.ipv6.conf.all.accept_dad", "0"),
        ])?;
        Ok(ns)
    }

    /// The namespace's name (as shown by `ip netns list`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A `Command` running `program` inside this namespace (`ip netns exec NAME program`).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program);
        c
    }

    /// Runs `program args` inside the namespace to completion and returns its output; a non-zero
    /// exit status is an error carrying stderr.
    pub fn output(&self, program: &str, args: &[&str]) -> Result<Output> {
        run(self.command(program).args(args))
    }

    /// Like [`Netns::output`] but returns stdout as a string.
    pub fn run(&self, program: &str, args: &[&str]) -> Result<String> {
        let out = self.output(program, args)?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs `ip -n NAME args...`.
    pub fn ip(&self, args: &[&str]) -> Result<String> {
        let out = run(Command::new("ip").args(["-n", &self.name]).args(args))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Sets sysctls inside the namespace (`sysctl -q -w k=v ...`).
    pub fn sysctl(&self, settings: &[(&str, &str)]) -> Result<()> {
        let kv: Vec<String> = settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut args = vec!["-q", "-w"];
        args.extend(kv.iter().map(String::as_str));
        self.output("sysctl", &args).map(drop)
    }

    /// Starts `cmd` (build it with [`Netns::command`]) with stdin closed. Its stdout and stderr go
    /// where `cmd` says (inherited unless set). The returned [`Proc`] kills it on drop.
    pub fn spawn(&self, mut cmd: Command) -> Result<Proc> {
        let command = describe(&cmd);
        if OWN_PROCESS_GROUP.load(Ordering::Relaxed) {
            std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        }
        let child = cmd
            .stdin(Stdio::null())
            .spawn()
            .map_err(|source| Error::Spawn {
                command: command.clone(),
                source,
            })?;
        Ok(Proc { child, command })
    }

    /// Starts `program args` inside the namespace with stdout and stderr appended to `log`.
    pub fn spawn_logged(&self, program: &str, args: &[&str], log: &Path) -> Result<Proc> {
        self.spawn_logged_env(program, args, &[], log)
    }

    /// [`Netns::spawn_logged`] with environment variables set for the program (`ip netns
    /// exec` passes its environment on).
    pub fn spawn_logged_env(
        &self,
        program: &str,
        args: &[&str],
        envs: &[(&str, &str)],
        log: &Path,
    ) -> Result<Proc> {
        let open = || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .map_err(|source| Error::Io {
                    path: log.to_owned(),
                    source,
                })
        };
        let mut cmd = self.command(program);
        cmd.args(args)
            .envs(envs.iter().copied())
            .stdout(open()?)
            .stderr(open()?);
        self.spawn(cmd)
    }

    /// Pids of every process whose network namespace is this one (`ip netns pids`).
    pub fn pids(&self) -> Result<Vec<u32>> {
        let out = run(Command::new("ip").args(["netns", "pids", &self.name]))?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect())
    }

    /// Adds an address (`10.0.0.1/24`, `fd00::1/64`) to `ifname`; IPv6 addresses get `nodad`.
    pub fn add_addr(&self, ifname: &str, cidr: &str) -> Result<()> {
        let mut args = vec!["addr", "add", cidr, "dev", ifname];
        if cidr.contains(':') {
            args.push("nodad");
        }
        self.ip(&args).map(drop)
    }

    /// Brings `ifname` up.
    pub fn link_up(&self, ifname: &str) -> Result<()> {
        self.ip(&["link", "set", ifname, "up"]).map(drop)
    }

    /// Routes IPv4 multicast (224.0.0.0/4) out of `ifname`, for senders that do not pick the
    /// interface themselves. IPv6 multicast (ff00::/8) is routed per interface by the kernel.
    pub fn add_multicast_route(&self, ifname: &str) -> Result<()> {
        self.ip(&["route", "replace", "224.0.0.0/4", "dev", ifname])
            .map(drop)
    }

    /// The MAC address of `ifname` (`aa:bb:cc:dd:ee:ff`).
    pub fn mac(&self, ifname: &str) -> Result<String> {
        let out = self.ip(&["-o", "link", "show", "dev", ifname])?;
        let mut toks = out.split_whitespace();
        toks.find(|t| *t == "link/ether")
            .and_then(|_| toks.next())
            .map(str::to_owned)
            .ok_or_else(|| Error::Parse {
                tool: "ip link show",
                detail: format!("no link/ether in {out:?}"),
            })
    }

    /// Creates a Linux bridge `name` (STP off, multicast snooping off so PTP multicast floods,
    /// and forwarding of 01:80:c2:00:00:0e so peer-delay frames cross it) and brings it up.
    pub fn add_bridge(&self, name: &str) -> Result<()> {
        self.ip(&[
            "link",
            "add",
            name,
            "type",
            "bridge",
            "stp_state",
            "0",
            "mcast_snooping",
            "0",
            "group_fwd_mask",
            "0x4000",
        ])?;
        self.link_up(name)
    }

    /// Makes `ifname` a port of bridge `bridge`.
    pub fn enslave(&self, ifname: &str, bridge: &str) -> Result<()> {
        self.ip(&["link", "set", ifname, "master", bridge])
            .map(drop)
    }

    /// Keeps the namespace (and the processes inside) after this value is gone; returns its
    /// name. Remove it later with `ip netns del NAME` after killing `ip netns pids NAME`.
    pub fn keep(self) -> String {
        let name = self.name.clone();
        std::mem::forget(self);
        name
    }

    /// Deletes the namespace now (what drop does), reporting failures.
    pub fn delete(self) -> Result<()> {
        let r = self.teardown();
        std::mem::forget(self);
        r
    }

    fn teardown(&self) -> Result<()> {
        // A process inside keeps the namespace (and its veths) alive after `ip netns del`: kill
        // them first. They were all started by this harness in a namespace only it uses.
        for _ in 0..3 {
            let pids = self.pids().unwrap_or_default();
            if pids.is_empty() {
                break;
            }
            for p in pids {
                signal_pid(p, Signal::KILL);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        run(Command::new("ip").args(["netns", "del", &self.name])).map(drop)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Err(e) = self.teardown() {
            eprintln!("xptp: cleaning up namespace {}: {e}", self.name);
        }
    }
}

/// Creates a veth pair: `a_if` inside `a` and `b_if` inside `b`, both up. The link disappears
/// when either namespace is deleted.
pub fn veth(a: &Netns, a_if: &str, b: &Netns, b_if: &str) -> Result<()> {
    a.ip(&[
        "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", &b.name,
    ])?;
    a.link_up(a_if)?;
    b.link_up(b_if)
}

/// One node of a [`Lab`]: a namespace with one interface `eth0` that has an IPv4 and an IPv6
/// address on the lab's subnet.
#[derive(Debug)]
pub struct Node {
    /// The node's namespace.
    pub ns: Netns,
    /// Its interface (always `eth0`).
    pub ifname: String,
    /// Its IPv4 address (10.77.0.N, /24).
    pub ipv4: Ipv4Addr,
    /// Its IPv6 address (fd77::N, /64).
    pub ipv6: Ipv6Addr,
    /// MAC address of `ifname`.
    pub mac: String,
}

/// A set of namespaces on one link: two nodes joined by a veth pair, or N nodes each joined by
/// a veth to a bridge in a hub namespace. Addresses are the same in every lab (namespaces
/// isolate them): node i (0-based) is 10.77.0.(i+1)/24 and fd77::(i+1)/64, interface `eth0`.
#[derive(Debug)]
pub struct Lab {
    // Field order is drop order: nodes (and their processes) first, then the hub.
    nodes: Vec<Node>,
    hub: Option<Netns>,
}

/// Interface name of every lab node.
pub const LAB_IFNAME: &str = "eth0";

impl Lab {
    /// Two nodes joined back to back by one veth pair.
    pub fn pair(tag: &str) -> Result<Lab> {
        let a = Netns::new(&format!("{tag}-a"))?;
        let b = Netns::new(&format!("{tag}-b"))?;
        veth(&a, LAB_IFNAME, &b, LAB_IFNAME)?;
        let nodes = vec![Self::make_node(a, 0)?, Self::make_node(b, 1)?];
        Ok(Lab { nodes, hub: None })
    }

    /// `n` nodes (2..=200), each joined by a veth to bridge `br0` in a hub namespace.
    pub fn star(tag: &str, n: usize) -> Result<Lab> {
        if !(2..=200).contains(&n) {
            return Err(Error::Invalid(format!(
                "a star lab has 2..=200 nodes, not {n}"
            )));
        }
        let hub = Netns::new(&format!("{tag}-hub"))?;
        hub.add_bridge("br0")?;
        let mut nodes = Vec::with_capacity(n);
        for i in 0..n {
            let ns = Netns::new(&format!("{tag}-{i}"))?;
            let port = format!("p{i}");
            veth(&hub, &port, &ns, LAB_IFNAME)?;
            hub.enslave(&port, "br0")?;
            nodes.push(Self::make_node(ns, i)?);
        }
        Ok(Lab {
            nodes,
            hub: Some(hub),
        })
    }

    fn make_node(ns: Netns, i: usize) -> Result<Node> {
        let host = u8::try_from(i + 1).map_err(|_| Error::Invalid(format!("node index {i}")))?;
        let ipv4 = Ipv4Addr::new(10, 77, 0, host);
        let ipv6 = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, u16::from(host));
        ns.add_addr(LAB_IFNAME, &format!("{ipv4}/24"))?;
        ns.add_addr(LAB_IFNAME, &format!("{ipv6}/64"))?;
        ns.add_multicast_route(LAB_IFNAME)?;
        let mac = ns.mac(LAB_IFNAME)?;
        Ok(Node {
            ns,
            ifname: LAB_IFNAME.to_owned(),
            ipv4,
            ipv6,
            mac,
        })
    }

    /// Node `i` (0-based). Panics if out of range: that is a bug in the test.
    pub fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }

    /// All nodes.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The hub namespace of a star lab.
    pub fn hub(&self) -> Option<&Netns> {
        self.hub.as_ref()
    }

    /// Names of every namespace of the lab (nodes, then hub).
    pub fn namespace_names(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| n.ns.name().to_owned())
            .chain(self.hub.iter().map(|h| h.name().to_owned()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_gate_skips_or_fails_as_configured() {
        assert_eq!(root_gate(true, Some("1")), Ok(true));
        assert_eq!(root_gate(false, None), Ok(false));
        assert_eq!(root_gate(false, Some("0")), Ok(false));
        let msg = root_gate(false, Some("1")).unwrap_err();
        assert!(
            msg.contains("needs root") && msg.contains(REQUIRE_ROOT_ENV),
            "{msg}"
        );
    }

    #[test]
    fn namespaces_are_deleted_when_a_test_panics() {
        if !require_root() {
            return;
        }
        let names = std::sync::Mutex::new(Vec::new());
        let r = std::panic::catch_unwind(|| {
            let lab = Lab::pair("panic").unwrap();
            names.lock().unwrap().extend(lab.namespace_names());
            panic!("test failure while the lab is up");
        });
        assert!(r.is_err());
        let names = names.into_inner().unwrap();
        assert_eq!(names.len(), 2);
        let left = leftover_namespaces_of_this_process().unwrap();
        assert!(names.iter().all(|n| !left.contains(n)), "{left:?}");
    }

    #[test]
    fn describe_quotes_arguments_with_spaces() {
        let mut c = Command::new("pmc");
        c.args(["-u", "GET PORT_DATA_SET", ""]);
        assert_eq!(describe(&c), "pmc -u 'GET PORT_DATA_SET' ''");
    }

    #[test]
    fn run_reports_stderr_of_failing_command() {
        let err = run(Command::new("sh").args(["-c", "echo broken >&2; exit 3"])).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("broken") && msg.contains("exit status: 3"),
            "{msg}"
        );
    }

    #[test]
    fn missing_program_names_setup() {
        let err = run(&mut Command::new("xptp-no-such-program")).unwrap_err();
        assert!(err.to_string().contains("scripts/setup"), "{err}");
    }

    #[test]
    fn pair_lab_pings_over_ipv4_and_ipv6_and_cleans_up() {
        if !require_root() {
            return;
        }
        let lab = Lab::pair("ping").unwrap();
        let names = lab.namespace_names();
        let a = &lab.node(0).ns;
        let b = lab.node(1);
        a.run("ping", &["-c1", "-W2", &b.ipv4.to_string()]).unwrap();
        a.run("ping", &["-6", "-c1", "-W2", &b.ipv6.to_string()])
            .unwrap();
        // A process left running inside must not keep the namespace alive.
        let mut sleep = a.command("sleep");
        sleep.arg("30");
        let _sleeper = a.spawn(sleep).unwrap();
        drop(lab);
        let left = leftover_namespaces_of_this_process().unwrap();
        for n in names {
            assert!(!left.contains(&n), "{n} still exists after drop");
        }
    }

    #[test]
    fn star_lab_connects_three_nodes() {
        if !require_root() {
            return;
        }
        let lab = Lab::star("star", 3).unwrap();
        let a = &lab.node(0).ns;
        for i in 1..3 {
            a.run("ping", &["-c1", "-W2", &lab.node(i).ipv4.to_string()])
                .unwrap();
        }
        assert_eq!(lab.namespace_names().len(), 4);
    }
}
