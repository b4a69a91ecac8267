//! [`PhcClock`]: a PTP hardware clock (`/dev/ptpN`), opened by path or found from an
//! interface's ethtool timestamping info, read and steered through dynamic-clock syscalls, and
//! compared with the system clock through PTP_SYS_OFFSET_EXTENDED (falling back to
//! PTP_SYS_OFFSET on drivers without it).

use std::sync::atomic::{AtomicBool, Ordering};

use super::syscalls::{ClockId, ClockSyscalls, Fd, LinuxSyscalls, PTP_MAX_SAMPLES};
use super::{clamp_ppb, ppb_to_scaled_ppm, scaled_ppm_to_ppb, syscall_error, Clock, ClockError};

/// How a PHC is compared with CLOCK_REALTIME, best first (linuxptp's `sysoff` methods).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum SysOffsetMethod {
    /// PTP_SYS_OFFSET_PRECISE: a hardware cross-timestamp (PCIe PTM, ART); no read window.
    Precise,
    /// PTP_SYS_OFFSET_EXTENDED: the driver brackets the PHC read itself (tight windows).
    Extended,
    /// PTP_SYS_OFFSET: the PTP core brackets the whole driver call (wider windows).
    Basic,
}

impl SysOffsetMethod {
    /// Best first.
    pub const ALL: [SysOffsetMethod; 3] = [Self::Precise, Self::Extended, Self::Basic];

    /// The ioctl's name (for logs and status).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Precise => "PTP_SYS_OFFSET_PRECISE",
            Self::Extended => "PTP_SYS_OFFSET_EXTENDED",
            Self::Basic => "PTP_SYS_OFFSET",
        }
    }
}

/// Whether an ioctl error means "this driver does not implement it" (try the next method).
fn unsupported(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOTTY) | Some(libc::EOPNOTSUPP) | Some(libc::EINVAL)
    )
}

/// What PTP_CLOCK_GETCAPS reports that xptp uses.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct PhcCaps {
    /// Maximum frequency adjustment in ppb.
    pub max_adj_ppb: i32,
    /// Number of programmable pins.
    pub n_pins: i32,
    /// Whether the PHC can deliver PPS events to the kernel.
    pub pps: bool,
    /// Whether PTP_SYS_OFFSET_PRECISE (hardware cross-timestamping) is supported.
    pub cross_timestamping: bool,
}

/// One PHC reading bracketed by two system-clock readings (all nanoseconds).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct SysOffsetSample {
    /// System clock read just before the PHC.
    pub sys_before: i64,
    /// The PHC reading.
    pub phc: i64,
    /// System clock read just after the PHC.
    pub sys_after: i64,
}

impl SysOffsetSample {
    /// Width of the system-read window; the PHC was read somewhere inside it.
    pub fn window(&self) -> i64 {
        self.sys_after.saturating_sub(self.sys_before)
    }

    /// Middle of the system-read window: the best guess of the system time at the PHC read.
    pub fn sys_midpoint(&self) -> i64 {
        self.sys_before + self.window() / 2
    }

    /// `phc - system` at the reading (the PHC's offset from the system clock).
    pub fn phc_minus_sys(&self) -> i64 {
        self.phc.saturating_sub(self.sys_midpoint())
    }
}

/// Picks the sample with the shortest (non-negative) system-read window: the one least disturbed
/// by interrupts and bus latency. `None` if no sample has a sane window.
pub fn best_sample(samples: &[SysOffsetSample]) -> Option<SysOffsetSample> {
    samples
        .iter()
        .filter(|s| s.window() >= 0)
        .min_by_key(|s| s.window())
        .copied()
}

/// A PTP hardware clock.
#[derive(Debug)]
pub struct PhcClock<S: ClockSyscalls = LinuxSyscalls> {
    sys: S,
    fd: Fd,
    clk: ClockId,
    name: String,
    caps: PhcCaps,
    /// Cleared after the first ENOTTY/EOPNOTSUPP/EINVAL from PTP_SYS_OFFSET_EXTENDED.
    extended_ok: AtomicBool,
}

impl PhcClock<LinuxSyscalls> {
    /// Opens a PHC device such as `/dev/ptp0`.
    pub fn open(path: &str) -> Result<Self, ClockError> {
        Self::open_with(LinuxSyscalls, path)
    }

    /// Opens the PHC of a network interface (`ethtool -T <ifname>`'s "PTP Hardware Clock").
    pub fn for_interface(ifname: &str) -> Result<Self, ClockError> {
        Self::for_interface_with(LinuxSyscalls, ifname)
    }
}

impl<S: ClockSyscalls> PhcClock<S> {
    /// Opens a PHC device through the given syscalls.
    pub fn open_with(sys: S, path: &str) -> Result<Self, ClockError> {
        let fd = sys.open_phc(path).map_err(|source| ClockError::Open {
            path: path.to_string(),
            source,
        })?;
        let caps = match sys.phc_caps(fd) {
            Ok(c) => c,
            Err(source) => {
                sys.close(fd);
                return Err(ClockError::Syscall {
                    op: "PTP_CLOCK_GETCAPS",
                    clock: path.to_string(),
                    source,
                });
            }
        };
        Ok(PhcClock {
            sys,
            fd,
            clk: ClockId::from_fd(fd),
            name: path.to_string(),
            caps,
            extended_ok: AtomicBool::new(true),
        })
    }

    /// Finds the interface's PHC index with ETHTOOL_GET_TS_INFO and opens `/dev/ptp<index>`.
    pub fn for_interface_with(sys: S, ifname: &str) -> Result<Self, ClockError> {
        let b = ifname.as_bytes();
        if b.is_empty() || b.len() >= libc::IFNAMSIZ || b.contains(&0) {
            return Err(ClockError::BadInterfaceName(ifname.to_string()));
        }
        let index = sys
            .phc_index(ifname)
            .map_err(|source| ClockError::Syscall {
                op: "ETHTOOL_GET_TS_INFO",
                clock: ifname.to_string(),
                source,
            })?;
        if index < 0 {
            return Err(ClockError::NoPhc {
                ifname: ifname.to_string(),
            });
        }
        Self::open_with(sys, &format!("/dev/ptp{index}"))
    }

    /// The capabilities read at open.
    pub fn caps(&self) -> PhcCaps {
        self.caps
    }

    /// The dynamic clock id.
    pub fn clock_id(&self) -> ClockId {
        self.clk
    }

    /// The syscalls this clock uses.
    pub fn syscalls(&self) -> &S {
        &self.sys
    }

    fn err(&self, op: &'static str, source: std::io::Error) -> ClockError {
        syscall_error(op, &self.name, source)
    }

    /// Finds the best PHC/system comparison the driver implements, trying
    /// [`SysOffsetMethod::ALL`] in order (as linuxptp's `sysoff_probe` does): a method whose
    /// ioctl fails with ENOTTY/EOPNOTSUPP/EINVAL is skipped, any other error is returned.
    /// Returns the method and the reasons the better ones were skipped.
    pub fn probe_sys_offset(
        &self,
        n: u32,
    ) -> Result<(SysOffsetMethod, Vec<(SysOffsetMethod, String)>), ClockError> {
        let mut skipped = Vec::new();
        for m in SysOffsetMethod::ALL {
            match self.sys_offset_raw(m, n) {
                Ok(_) => return Ok((m, skipped)),
                Err(e) if unsupported(&e) => skipped.push((m, e.to_string())),
                Err(e) => return Err(self.err(m.as_str(), e)),
            }
        }
        // PTP_SYS_OFFSET is in every PHC driver; reaching here means the device is no PHC.
        Err(ClockError::NoOffsetSample {
            clock: self.name.clone(),
            n,
        })
    }

    fn sys_offset_raw(&self, m: SysOffsetMethod, n: u32) -> std::io::Result<Vec<SysOffsetSample>> {
        let n = n.clamp(1, PTP_MAX_SAMPLES);
        match m {
            SysOffsetMethod::Precise => self.sys.sys_offset_precise(self.fd).map(|s| vec![s]),
            SysOffsetMethod::Extended => self.sys.sys_offset_extended(self.fd, n),
            SysOffsetMethod::Basic => self.sys.sys_offset(self.fd, n),
        }
    }

    /// `n` PHC/system samples by method `m` (one for [`SysOffsetMethod::Precise`]).
    pub fn sys_offset_by(
        &self,
        m: SysOffsetMethod,
        n: u32,
    ) -> Result<Vec<SysOffsetSample>, ClockError> {
        self.sys_offset_raw(m, n)
            .map_err(|e| self.err(m.as_str(), e))
    }

    /// Reads `n` (1..=25) PHC/system-clock sample triples, with PTP_SYS_OFFSET_EXTENDED when the
    /// driver supports it (tight per-sample windows) and PTP_SYS_OFFSET otherwise.
    pub fn sys_offset(&self, n: u32) -> Result<Vec<SysOffsetSample>, ClockError> {
        let n = n.clamp(1, PTP_MAX_SAMPLES);
        // Relaxed: a hint cached per clock; a race only costs one extra failed ioctl.
        if self.extended_ok.load(Ordering::Relaxed) {
            match self.sys.sys_offset_extended(self.fd, n) {
                Ok(v) => return Ok(v),
                Err(e) if unsupported(&e) => {
                    self.extended_ok.store(false, Ordering::Relaxed);
                }
                Err(e) => return Err(self.err("PTP_SYS_OFFSET_EXTENDED", e)),
            }
        }
        self.sys
            .sys_offset(self.fd, n)
            .map_err(|e| self.err("PTP_SYS_OFFSET", e))
    }

    /// The best of `n` readings (shortest system window).
    pub fn best_sys_offset(&self, n: u32) -> Result<SysOffsetSample, ClockError> {
        let v = self.sys_offset(n)?;
        best_sample(&v).ok_or(ClockError::NoOffsetSample {
            clock: self.name.clone(),
            n,
        })
    }

    /// Sets the PHC to an absolute time (`clock_settime`).
    pub fn set_time(&mut self, ns: i64) -> Result<(), ClockError> {
        self.sys
            .clock_settime(self.clk, ns)
            .map_err(|e| self.err("clock_settime", e))
    }
}

impl<S: ClockSyscalls> Drop for PhcClock<S> {
    fn drop(&mut self) {
        self.sys.close(self.fd);
    }
}

impl<S: ClockSyscalls> Clock for PhcClock<S> {
    fn name(&self) -> &str {
        &self.name
    }

    fn now(&self) -> Result<i64, ClockError> {
        self.sys
            .clock_gettime(self.clk)
            .map_err(|e| self.err("clock_gettime", e))
    }

    fn adjust_frequency(&mut self, ppb: f64) -> Result<f64, ClockError> {
        let ppb = clamp_ppb(ppb, self.max_frequency_ppb());
        self.sys
            .adjtime_set_frequency(self.clk, ppb_to_scaled_ppm(ppb))
            .map_err(|e| self.err("clock_adjtime(ADJ_FREQUENCY)", e))?;
        Ok(ppb)
    }

    fn step(&mut self, delta_ns: i64) -> Result<(), ClockError> {
        self.sys
            .adjtime_step(self.clk, delta_ns)
            .map_err(|e| self.err("clock_adjtime(ADJ_SETOFFSET)", e))
    }

    fn frequency(&self) -> Result<f64, ClockError> {
        self.sys
            .adjtime_read(self.clk)
            .map(|t| scaled_ppm_to_ppb(t.freq_scaled_ppm))
            .map_err(|e| self.err("clock_adjtime(read)", e))
    }

    fn max_frequency_ppb(&self) -> f64 {
        f64::from(self.caps.max_adj_ppb.max(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::fake::{FakeCall, FakeSyscalls};
    use crate::clock::SystemClock;

    const S: i64 = 1_000_000_000;

    #[test]
    fn found_through_the_interface_and_steered_in_kernel_units() {
        let fake = FakeSyscalls::new(100 * S);
        fake.add_phc("/dev/ptp0", 200 * S, 0.0, 100_000, true);
        fake.add_interface("eth0", 0);
        fake.add_interface("veth0", -1);
        let mut phc = PhcClock::for_interface_with(fake.clone(), "eth0").unwrap();
        let id = fake.phc_clock_id("/dev/ptp0").unwrap();
        assert_eq!(phc.name(), "/dev/ptp0");
        assert_eq!(phc.max_frequency_ppb(), 100_000.0);
        assert_eq!(phc.now().unwrap(), 200 * S);
        // Clamped to max_adj, written as ppb × 65.536.
        assert_eq!(phc.adjust_frequency(250_000.0).unwrap(), 100_000.0);
        assert_eq!(phc.adjust_frequency(-1234.5).unwrap(), -1234.5);
        assert!((phc.frequency().unwrap() + 1234.5).abs() < 0.02);
        phc.step(-1_500_000_000).unwrap();
        assert_eq!(
            fake.calls(),
            vec![
                FakeCall::SetFrequency(id, 100_000.0),
                FakeCall::SetFrequency(
                    id,
                    crate::clock::scaled_ppm_to_ppb(ppb_to_scaled_ppm(-1234.5))
                ),
                FakeCall::Step(id, -1_500_000_000),
            ]
        );
        assert_eq!(phc.now().unwrap(), 200 * S - 1_500_000_000);
        // The PHC now runs 1234.5 ppb slow.
        fake.advance(1000 * S);
        let e = phc.now().unwrap() - (1200 * S - 1_500_000_000);
        assert!((e + 1_234_500).abs() < 100, "{e}");
        drop(phc);
        assert_eq!(fake.open_fd_count(), 0, "descriptor closed on drop");

        let e = PhcClock::for_interface_with(fake.clone(), "veth0").unwrap_err();
        assert!(matches!(e, ClockError::NoPhc { .. }), "{e}");
        assert!(e.to_string().contains("time_stamping software"));
        let e = PhcClock::for_interface_with(fake.clone(), "a-name-far-too-long").unwrap_err();
        assert!(matches!(e, ClockError::BadInterfaceName(_)));
        let e = PhcClock::open_with(fake, "/dev/ptp9").unwrap_err();
        assert!(matches!(e, ClockError::Open { .. }), "{e}");
    }

    #[test]
    fn sys_offset_falls_back_when_extended_is_unsupported() {
        let fake = FakeSyscalls::new(100 * S);
        fake.add_phc("/dev/ptp1", 137 * S, 0.0, 100_000, false);
        fake.set_sys_offset_windows(vec![5_000, 100, 3_000], 0.9);
        let phc = PhcClock::open_with(fake.clone(), "/dev/ptp1").unwrap();
        let v = phc.sys_offset(3).unwrap();
        assert_eq!(v.len(), 3);
        let b = phc.best_sys_offset(3).unwrap();
        assert_eq!(b.window(), 100);
        // The PHC is read at 90 % of the window: the best sample's error is 40 ns, not 2 µs.
        assert_eq!(b.phc_minus_sys() - 37 * S, 40);
        assert!(!phc.extended_ok.load(Ordering::Relaxed));
    }

    #[test]
    fn system_clock_is_only_built_on_request_and_reports_its_limits() {
        let fake = FakeSyscalls::new(100 * S);
        let mut sys = SystemClock::discipline_realtime_explicitly(fake.clone()).unwrap();
        assert_eq!(sys.name(), "CLOCK_REALTIME");
        assert!((sys.max_frequency_ppb() - 500_000.0).abs() < 0.1);
        assert!((sys.adjust_frequency(900_000.0).unwrap() - 500_000.0).abs() < 0.1);
        sys.step(5).unwrap();
        assert_eq!(sys.now().unwrap(), 100 * S + 5);
        assert!(fake.calls().iter().all(|c| matches!(c,
            FakeCall::SetFrequency(id, _) | FakeCall::Step(id, _) if id.is_realtime())));
    }

    /// Read-only calls against the real kernel: nothing here changes any clock.
    #[test]
    fn real_kernel_read_only() {
        let sys = LinuxSyscalls;
        let tai = sys.clock_gettime(ClockId::TAI).unwrap();
        assert!(tai > 1_600_000_000 * S, "CLOCK_TAI {tai}");
        // Loopback has no PHC: ETHTOOL_GET_TS_INFO reports index -1.
        match sys.phc_index("lo") {
            Ok(i) => {
                assert_eq!(i, -1);
                let e = PhcClock::for_interface("lo").unwrap_err();
                assert!(matches!(e, ClockError::NoPhc { .. }), "{e}");
            }
            Err(e) => println!("skipping ethtool check: {e}"),
        }
        let e = PhcClock::open("/dev/ptp-xptp-does-not-exist").unwrap_err();
        assert!(matches!(e, ClockError::Open { .. }), "{e}");
        assert_eq!(ClockId::from_fd(3).0, ((!3) << 3) | 3);
    }
}
