//! The phc2sys task of `xptp run` (`--phc2sys`, the `phc2sys*` keys): keeps a target clock
//! (CLOCK_REALTIME, another PHC, or a lab `virtual` clock) disciplined to the port's clock on
//! its own control-side thread, the way linuxptp's `phc2sys -s IFACE -c TARGET -O OFFSET -R
//! RATE -N READINGS` runs next to ptp4l. It logs phc2sys's line for every update
//! (`CLOCK_REALTIME phc offset -12 s2 freq +3021 delay 1234`) and publishes a
//! [`Phc2SysStatus`] that `xptp status` and the metrics show.
//!
//! Sources: the PHC of the first port (opened a second time, read only), or the daemon's
//! virtual clock, which only a `virtual` target may follow (a start-up error otherwise: the
//! virtual clock is xptp's own software time, and steering the machine's clock to it would
//! hide a missing PHC). The automatic `-O` comes from the control loop's timePropertiesDS
//! ([`Phc2SysShared::set_time_properties`]).
//!
//! Privilege: the thread is started before the control thread drops its capabilities and
//! then keeps only CAP_SYS_TIME when its target is CLOCK_REALTIME (capabilities are per
//! thread), nothing otherwise. It never runs on a datapath core and never touches a ring.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::thread::CapabilitySet;

use super::clock::DaemonClock;
use super::DaemonError;
use crate::clock::phc2sys::{
    log_line, Phc2SysSource, Phc2SysTarget, Phc2SysTask, Phc2SysUpdate, VirtualReadClock,
};
use crate::clock::{
    Clock, ClockSyscalls, LinuxSyscalls, PhcClock, SystemClock, TaiSource, TimeSource,
    VirtualClock, VirtualClockConfig, VirtualClockReader, NS_PER_SEC,
};
use crate::config::{Config, Phc2SysOffset};
use crate::servo::{build, ServoConfig, TimeStamping};
use crate::status::{servo_name, Phc2SysStatus};

/// `phc2sys_target` naming the lab clock.
pub const VIRTUAL_TARGET: &str = "virtual";
/// Longest sleep between checks of the stop flag.
const STOP_POLL: Duration = Duration::from_millis(50);
/// A failing update is logged on the first failure and then every this many.
const ERROR_LOG_EVERY: u64 = 60;

/// The lab target's start (`--phc2sys-virtual-offset-ns`, `--phc2sys-virtual-freq-ppb`):
/// its error from the time it should keep, and its oscillator error.
#[derive(Clone, Copy, PartialEq, Debug, Default)]
pub struct VirtualTargetOptions {
    /// Initial error (ns).
    pub offset_ns: i64,
    /// Oscillator error (ppb).
    pub freq_ppb: f64,
}

/// What the task needs from the control loop while it runs.
#[derive(Debug)]
pub struct Phc2SysShared {
    status: Mutex<Phc2SysStatus>,
    /// The automatic `-O` (ns): −currentUtcOffset or 0.
    auto_offset_ns: AtomicI64,
    /// Whether the target keeps UTC (fixed at start).
    target_utc: bool,
    /// Whether the PTP clock is synchronized (set by the control loop).
    synced: AtomicBool,
    stop: AtomicBool,
}

impl Phc2SysShared {
    /// Control loop: the timePropertiesDS the automatic `-O` follows.
    pub fn set_time_properties(&self, current_utc_offset: i16, ptp_timescale: bool) {
        let o = if self.target_utc && ptp_timescale {
            -i64::from(current_utc_offset) * NS_PER_SEC
        } else {
            0
        };
        // Relaxed: one value, read once per update by the task.
        self.auto_offset_ns.store(o, Ordering::Relaxed);
    }

    /// Control loop: whether the PTP clock is synchronized now (a port SLAVE with its servo
    /// locked, or the clock is grandmaster); phc2sys_wait_sync waits for the first `true`.
    pub fn set_synced(&self, synced: bool) {
        // Relaxed: a flag; the task only needs to see it eventually.
        self.synced.store(synced, Ordering::Relaxed);
    }

    /// The task's last published status.
    pub fn status(&self) -> Phc2SysStatus {
        self.status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn with_status(&self, f: impl FnOnce(&mut Phc2SysStatus)) {
        f(&mut self.status.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

/// For a lab target: the readers that give its true error.
#[derive(Debug)]
struct TrueError {
    source: VirtualClockReader,
    target: VirtualClockReader,
}

/// A configured task, not yet running.
#[derive(Debug)]
pub struct Phc2SysPlan<S: ClockSyscalls + 'static = LinuxSyscalls> {
    task: Phc2SysTask<S>,
    offset: Phc2SysOffset,
    rate_hz: f64,
    truth: Option<TrueError>,
    shared: Arc<Phc2SysShared>,
}

fn err(msg: String) -> DaemonError {
    DaemonError::Unsupported(format!("phc2sys: {msg}"))
}

/// Builds the task `cfg` asks for (None when `phc2sys 0`): opens the target, picks the
/// measurement method (logged) and checks that the pair makes sense.
pub fn plan(
    cfg: &Config,
    clock: &DaemonClock,
    virt: VirtualTargetOptions,
) -> Result<Option<Phc2SysPlan>, DaemonError> {
    let k = &cfg.phc2sys;
    if !k.enabled {
        return Ok(None);
    }
    // Before opening anything: a bad -O is a configuration error.
    k.offset().map_err(err)?;
    let target_name = k.target.trim();
    let mut truth_source = None;
    let source =
        match clock {
            DaemonClock::Phc { clock, .. } => Phc2SysSource::Phc(PhcClock::open(clock.name())?),
            DaemonClock::Virtual { clock, .. } if target_name == VIRTUAL_TARGET => {
                truth_source = Some(clock.reader());
                Phc2SysSource::Read(Box::new(VirtualReadClock::new(
                    clock.reader(),
                    TaiSource,
                    "virtual",
                )))
            }
            DaemonClock::Virtual { .. } => {
                return Err(err(format!(
                "the source would be the virtual clock (clock_source virtual): xptp's software \
                 time, not a PTP hardware clock, so phc2sys_target {target_name} is not steered \
                 to it; use clock_source phc on a NIC with a PHC, or phc2sys_target virtual to \
                 measure the task in a lab"
            )))
            }
            DaemonClock::System { .. } => return Err(err(
                "clock_source system already disciplines CLOCK_REALTIME from PTP; phc2sys needs \
                 a PHC source: use clock_source phc, or drop --phc2sys"
                    .into(),
            )),
        };
    let source_name = source.name().to_string();
    let mut truth_target = None;
    let target = match target_name {
        "CLOCK_REALTIME" => {
            Phc2SysTarget::Realtime(SystemClock::discipline_realtime_explicitly(LinuxSyscalls)?)
        }
        VIRTUAL_TARGET => {
            // A clock keeping UTC like CLOCK_REALTIME, `offset_ns` off it.
            let utc = -i64::from(cfg.clock.utc_offset) * NS_PER_SEC;
            let v = VirtualClock::new(
                TaiSource,
                VirtualClockConfig {
                    initial_offset_ns: utc.saturating_add(virt.offset_ns),
                    frequency_error_ppb: virt.freq_ppb,
                    ..VirtualClockConfig::default()
                },
            );
            truth_target = Some(v.reader());
            Phc2SysTarget::Other {
                clock: Box::new(v),
                utc: true,
            }
        }
        t if t.starts_with("/dev/") => {
            if t == source_name {
                return Err(err(format!(
                    "phc2sys_target {t} is the source PHC itself; name another clock \
                     (CLOCK_REALTIME or a second /dev/ptpN)"
                )));
            }
            Phc2SysTarget::Phc(PhcClock::open(t)?)
        }
        t => {
            return Err(err(format!(
                "phc2sys_target '{t}' is not CLOCK_REALTIME, a PHC device (/dev/ptpN) or \
                 virtual; e.g. --phc2sys-target CLOCK_REALTIME"
            )))
        }
    };
    if target.needs_sys_time() {
        check_sys_time()?;
    }
    let truth = truth_source
        .zip(truth_target)
        .map(|(source, target)| TrueError { source, target });
    assemble(cfg, source, target, truth).map(Some)
}

/// The syscall-independent part of [`plan`]: servo, method probe, shared status, start-up
/// log.
fn assemble<S: ClockSyscalls + 'static>(
    cfg: &Config,
    source: Phc2SysSource<S>,
    target: Phc2SysTarget<S>,
    truth: Option<TrueError>,
) -> Result<Phc2SysPlan<S>, DaemonError> {
    let k = &cfg.phc2sys;
    let offset = k.offset().map_err(err)?;
    let source_name = source.name().to_string();
    // phc2sys's servo: PI with hardware-timestamping constants (kp 0.7, ki 0.3), its own
    // step thresholds, limited to what the target accepts.
    let servo_cfg = ServoConfig {
        clock_servo: k.servo,
        time_stamping: TimeStamping::Hardware,
        step_threshold: k.step_threshold,
        first_step_threshold: k.first_step_threshold,
        ..cfg.servo
    }
    .limited_to_clock(target.clock().max_frequency_ppb());
    let mut task = Phc2SysTask::new(source, target, build(k.servo, &servo_cfg), k.readings)?;
    task.set_interval(1.0 / k.rate_hz);
    for (m, why) in task.skipped() {
        tracing::info!(
            "phc2sys: {} on {source_name}: {why}; trying the next method",
            m.as_str()
        );
    }
    let target_utc = task.target().keeps_utc();
    let shared = Arc::new(Phc2SysShared {
        status: Mutex::new(Phc2SysStatus {
            source: source_name.clone(),
            target: task.target().clock().name().to_string(),
            method: task.method().as_str().into(),
            rate_hz: k.rate_hz,
            ..Phc2SysStatus::default()
        }),
        auto_offset_ns: AtomicI64::new(0),
        target_utc,
        // A transparent clock has no servo to wait for.
        synced: AtomicBool::new(!k.wait_sync || cfg.clock_type.is_transparent()),
        stop: AtomicBool::new(false),
    });
    shared.set_time_properties(cfg.clock.utc_offset, true);
    tracing::info!(
        source = %source_name,
        target = task.target().clock().name(),
        method = task.method().as_str(),
        "phc2sys: {} follows {source_name} by {}, {} Hz, {} readings, servo {}, offset {}",
        task.target().clock().name(),
        task.method().as_str(),
        k.rate_hz,
        k.readings,
        k.servo.as_str(),
        match offset {
            Phc2SysOffset::Auto => "auto (-currentUtcOffset for a UTC target)".to_string(),
            Phc2SysOffset::Seconds(s) => format!("{s} s"),
        }
    );
    Ok(Phc2SysPlan {
        task,
        offset,
        rate_hz: k.rate_hz,
        truth,
        shared,
    })
}

/// A CLOCK_REALTIME target needs CAP_SYS_TIME in the permitted set (the task's thread keeps
/// it from there): refuse to start without it rather than fail on the first step.
fn check_sys_time() -> Result<(), DaemonError> {
    let have = rustix::thread::capabilities(None)
        .map(|c| c.permitted.contains(CapabilitySet::SYS_TIME))
        .unwrap_or(false);
    if have {
        Ok(())
    } else {
        Err(err(format!(
            "phc2sys_target CLOCK_REALTIME {}",
            crate::clock::FIX_CAP_SYS_TIME.replacen("steering CLOCK_REALTIME ", "", 1)
        )))
    }
}

impl<S: ClockSyscalls + 'static> Phc2SysPlan<S> {
    /// The capabilities the task's thread keeps.
    pub fn needed_capabilities(&self) -> CapabilitySet {
        if self.task.target().needs_sys_time() {
            CapabilitySet::SYS_TIME
        } else {
            CapabilitySet::empty()
        }
    }

    /// Starts the thread. Call before the control thread drops its capabilities; unless
    /// `keep_privileges`, the thread drops to [`Self::needed_capabilities`] itself.
    pub fn spawn(self, keep_privileges: bool) -> std::io::Result<Phc2SysHandle> {
        let shared = self.shared.clone();
        let thread = std::thread::Builder::new()
            .name("xptp-phc2sys".into())
            .spawn(move || {
                if !keep_privileges {
                    let keep = self.needed_capabilities();
                    match super::privilege::drop_to(keep) {
                        Ok(d) => tracing::info!(
                            "phc2sys: thread keeps {}",
                            super::privilege::names(d.kept)
                        ),
                        Err(e) => tracing::warn!("phc2sys: could not drop capabilities: {e}"),
                    }
                }
                self.run();
            })?;
        Ok(Phc2SysHandle {
            shared,
            thread: Some(thread),
        })
    }

    fn offset_ns(&self) -> i64 {
        match self.offset {
            // Relaxed: see `set_time_properties`.
            Phc2SysOffset::Auto => self.shared.auto_offset_ns.load(Ordering::Relaxed),
            Phc2SysOffset::Seconds(s) => i64::from(s) * NS_PER_SEC,
        }
    }

    fn true_error(&self, offset_ns: i64) -> Option<i64> {
        let t = self.truth.as_ref()?;
        let tai = TaiSource.now_ns();
        Some(
            t.target
                .to_virtual(tai)
                .wrapping_sub(t.source.to_virtual(tai).wrapping_add(offset_ns)),
        )
    }

    fn run(mut self) {
        let period = Duration::from_secs_f64(1.0 / self.rate_hz);
        let mut next = Instant::now();
        let target = self.task.target().clock().name().to_string();
        let mut waiting = true;
        let mut told = false;
        // Relaxed: a stop request; nothing else is published with it.
        while !self.shared.stop.load(Ordering::Relaxed) {
            if waiting {
                // Relaxed: see `set_synced`.
                let synced = self.shared.synced.load(Ordering::Relaxed);
                self.shared.with_status(|s| s.waiting_for_sync = !synced);
                if !synced {
                    if !told {
                        told = true;
                        tracing::info!(
                            "phc2sys: waiting for the PTP clock to synchronize before steering \
                             {target} (phc2sys_wait_sync 1)"
                        );
                    }
                    std::thread::sleep(STOP_POLL);
                    continue;
                }
                waiting = false;
                if told {
                    tracing::info!("phc2sys: PTP clock synchronized; steering {target}");
                }
                next = Instant::now();
            }
            let now = Instant::now();
            if now < next {
                std::thread::sleep((next - now).min(STOP_POLL));
                continue;
            }
            next += period;
            if next < now {
                // Fell behind (a stall): skip the missed updates rather than bursting.
                next = now + period;
            }
            let offset = self.offset_ns();
            match self.task.update(offset) {
                Ok(u) => {
                    tracing::info!(target: "phc2sys", "{}", log_line(&target, &u));
                    let te = self.true_error(offset);
                    self.shared.with_status(|s| note_update(s, &u, offset, te));
                }
                Err(e) => {
                    let msg = e.to_string();
                    let mut n = 0;
                    self.shared.with_status(|s| {
                        s.errors += 1;
                        n = s.errors;
                        s.last_error = Some(msg.clone());
                    });
                    if n == 1 || n % ERROR_LOG_EVERY == 0 {
                        tracing::warn!("phc2sys: update {n} failed: {msg}");
                    }
                }
            }
        }
    }
}

fn note_update(s: &mut Phc2SysStatus, u: &Phc2SysUpdate, offset_ns: i64, te: Option<i64>) {
    s.state = servo_name(u.state).into();
    s.offset_ns = Some(u.measurement.offset_ns);
    s.delay_ns = Some(u.measurement.window_ns);
    s.freq_ppb = u.freq_ppb;
    s.sync_offset_s = offset_ns / NS_PER_SEC;
    s.updates += 1;
    s.steps += u64::from(u.stepped);
    s.true_error_ns = te;
    s.last_error = None;
}

/// The running task; stopped and joined when dropped.
#[derive(Debug)]
pub struct Phc2SysHandle {
    shared: Arc<Phc2SysShared>,
    thread: Option<JoinHandle<()>>,
}

impl Phc2SysHandle {
    /// What the control loop and the snapshot share with the task.
    pub fn shared(&self) -> &Arc<Phc2SysShared> {
        &self.shared
    }
}

impl Drop for Phc2SysHandle {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let s = self.shared.status();
        tracing::info!(
            updates = s.updates,
            steps = s.steps,
            errors = s.errors,
            "phc2sys stopped: {} updates, {} steps, {} failed",
            s.updates,
            s.steps,
            s.errors
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::phc2sys::{Phc2SysSource, Phc2SysTarget};
    use crate::clock::ClockSource;
    use crate::daemon::clock::VirtualOptions;

    fn virtual_clock() -> DaemonClock {
        DaemonClock::open(ClockSource::Virtual, "unused", VirtualOptions::default()).unwrap()
    }

    fn cfg(target: &str) -> Config {
        let mut c = Config::default();
        c.phc2sys.enabled = true;
        c.phc2sys.target = target.into();
        c
    }

    #[test]
    fn off_by_default_and_virtual_clock_never_feeds_a_real_target() {
        let clock = virtual_clock();
        let none = plan(&Config::default(), &clock, VirtualTargetOptions::default()).unwrap();
        assert!(none.is_none());
        for t in ["CLOCK_REALTIME", "/dev/ptp1"] {
            let e = plan(&cfg(t), &clock, VirtualTargetOptions::default()).unwrap_err();
            let m = e.to_string();
            assert!(
                m.contains("clock_source virtual")
                    && m.contains("clock_source phc")
                    && m.contains("phc2sys_target virtual"),
                "{m}"
            );
        }
        let mut c = cfg("virtual");
        c.phc2sys.offset_text = "minus37".into();
        let e = plan(&c, &clock, VirtualTargetOptions::default()).unwrap_err();
        assert!(e.to_string().contains("phc2sys_offset 'minus37'"), "{e}");
    }

    #[test]
    fn realtime_target_without_cap_sys_time_is_a_start_up_error() {
        // Capabilities are per thread: only the spawned thread loses CAP_SYS_TIME.
        let (with, without) = std::thread::spawn(|| {
            let with = check_sys_time().map_err(|e| e.to_string());
            crate::daemon::privilege::drop_to(CapabilitySet::empty()).unwrap();
            (with, check_sys_time().map_err(|e| e.to_string()))
        })
        .join()
        .unwrap();
        // The test runs as root (netns tests need it), so the first check passes.
        if rustix::process::geteuid().is_root() {
            assert_eq!(with, Ok(()));
        }
        let m = without.unwrap_err();
        assert!(
            m.starts_with(
                "phc2sys: phc2sys_target CLOCK_REALTIME needs CAP_SYS_TIME: run xptp as root"
            ),
            "{m}"
        );
    }

    /// A fake PHC at /dev/ptp0 keeping TAI, CLOCK_REALTIME 2 ms ahead, and a thread that
    /// advances the fake's true time 10 ms per 10 ms until `stop`.
    fn fake_world(
        stop: Arc<AtomicBool>,
    ) -> (
        crate::clock::fake::FakeSyscalls,
        std::thread::JoinHandle<()>,
    ) {
        use crate::clock::fake::FakeSyscalls;
        const T0: i64 = 1_700_000_000 * NS_PER_SEC;
        let fake = FakeSyscalls::new(T0);
        fake.add_phc(
            "/dev/ptp0",
            T0 + 37 * NS_PER_SEC + 2_000_000,
            0.0,
            1_000_000,
            true,
        );
        let f = fake.clone();
        let clock = std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(10));
                f.advance(10_000_000);
            }
        });
        (fake, clock)
    }

    fn realtime_plan(
        fake: &crate::clock::fake::FakeSyscalls,
    ) -> Phc2SysPlan<crate::clock::fake::FakeSyscalls> {
        let mut c = cfg("CLOCK_REALTIME");
        c.phc2sys.rate_hz = 50.0;
        c.phc2sys.wait_sync = false;
        let phc = PhcClock::open_with(fake.clone(), "/dev/ptp0").unwrap();
        let sys = SystemClock::discipline_realtime_explicitly(fake.clone()).unwrap();
        assemble(
            &c,
            Phc2SysSource::Phc(phc),
            Phc2SysTarget::Realtime(sys),
            None,
        )
        .unwrap()
    }

    #[test]
    fn realtime_target_on_fakes_follows_the_phc_with_minus_utc_offset() {
        let stop = Arc::new(AtomicBool::new(false));
        let (fake, ticker) = fake_world(stop.clone());
        let p = realtime_plan(&fake);
        assert_eq!(p.needed_capabilities(), CapabilitySet::SYS_TIME);
        let h = p.spawn(true).unwrap();
        let start = Instant::now();
        let mut s = h.shared().status();
        while start.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(50));
            s = h.shared().status();
            if s.state == "s2" && s.offset_ns.is_some_and(|o| o.abs() < 100) {
                break;
            }
        }
        drop(h);
        stop.store(true, Ordering::Relaxed);
        ticker.join().unwrap();
        assert_eq!(
            (s.source.as_str(), s.target.as_str(), s.method.as_str()),
            ("/dev/ptp0", "CLOCK_REALTIME", "PTP_SYS_OFFSET_EXTENDED")
        );
        assert_eq!(
            (s.state.as_str(), s.sync_offset_s, s.errors),
            ("s2", -37, 0),
            "{s:?}"
        );
        let phc = fake.read(fake.phc_clock_id("/dev/ptp0").unwrap()).unwrap();
        let err = fake.read(crate::clock::ClockId::REALTIME).unwrap() - (phc - 37 * NS_PER_SEC);
        assert!(
            err.abs() < 1_000,
            "CLOCK_REALTIME off the PHC's UTC by {err} ns"
        );
    }

    #[test]
    fn refused_realtime_steps_show_in_the_status_with_the_fix() {
        let stop = Arc::new(AtomicBool::new(false));
        let (fake, ticker) = fake_world(stop.clone());
        fake.refuse_changes(crate::clock::ClockId::REALTIME, libc::EPERM);
        let h = realtime_plan(&fake).spawn(true).unwrap();
        let start = Instant::now();
        while h.shared().status().errors < 3 {
            assert!(start.elapsed() < Duration::from_secs(20), "no failures");
            std::thread::sleep(Duration::from_millis(20));
        }
        let s = h.shared().status();
        drop(h);
        stop.store(true, Ordering::Relaxed);
        ticker.join().unwrap();
        let e = s.last_error.unwrap_or_default();
        assert!(
            e.contains(" on CLOCK_REALTIME was refused (Operation not permitted")
                && e.contains("needs CAP_SYS_TIME"),
            "{e}"
        );
        assert_eq!(s.steps, 0);
    }

    #[test]
    fn wait_sync_holds_the_first_update_until_the_clock_is_synchronized() {
        let clock = virtual_clock();
        let mut c = cfg("virtual");
        c.phc2sys.rate_hz = 50.0;
        let h = plan(&c, &clock, VirtualTargetOptions::default())
            .unwrap()
            .unwrap()
            .spawn(true)
            .unwrap();
        std::thread::sleep(Duration::from_millis(400));
        let s = h.shared().status();
        assert!(s.waiting_for_sync && s.updates == 0, "{s:?}");
        h.shared().set_synced(true);
        let start = Instant::now();
        while h.shared().status().updates < 3 {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "no updates after sync"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // Losing sync later does not stop it (the PHC holds over; so does its follower).
        h.shared().set_synced(false);
        let n = h.shared().status().updates;
        std::thread::sleep(Duration::from_millis(200));
        let s = h.shared().status();
        assert!(!s.waiting_for_sync && s.updates > n, "{s:?}");
    }

    #[test]
    fn lab_target_converges_on_its_own_thread() {
        let clock = virtual_clock();
        let mut c = cfg("virtual");
        c.phc2sys.rate_hz = 20.0;
        c.phc2sys.wait_sync = false;
        let p = plan(
            &c,
            &clock,
            VirtualTargetOptions {
                offset_ns: 1_000_000,
                freq_ppb: 50_000.0,
            },
        )
        .unwrap()
        .unwrap();
        assert!(p.needed_capabilities().is_empty());
        let h = p.spawn(true).unwrap();
        let start = Instant::now();
        let mut last = Phc2SysStatus::default();
        while start.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(200));
            last = h.shared().status();
            if last.state == "s2" && last.true_error_ns.is_some_and(|e| e.abs() < 2_000) {
                break;
            }
        }
        assert_eq!(last.method, "clock_gettime");
        assert_eq!(last.sync_offset_s, -37);
        assert_eq!(last.state, "s2", "{last:?}");
        assert!(last.steps >= 1, "the 1 ms error is stepped: {last:?}");
        let te = last.true_error_ns.unwrap();
        assert!(te.abs() < 2_000, "true error {te} ns: {last:?}");
        // The 50 ppm oscillator error is found and cancelled.
        assert!((last.freq_ppb + 50_000.0).abs() < 2_000.0, "{last:?}");
    }
}
