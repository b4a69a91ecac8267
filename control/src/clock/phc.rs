//! [`PhcClock`]: a PTP hardware clock (`/dev/ptpN`), opened by path or found from an
//! interface's ethtool timestamping info, read and steered through dynamic-clock syscalls, and
//! compared with the system clock through PTP_SYS_OFFSET_EXTENDED (falling back to
//! PTP_SYS_OFFSET on drivers without it).

use std::sync::atomic::{AtomicBool, Ordering};

use super::syscalls::{ClockId, ClockSyscalls, Fd, LinuxSyscalls, PTP_MAX_SAMPLES};
use super::{clamp_ppb, ppb_to_scaled_ppm, scaled_ppm_to_ppb, Clock, ClockError};

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
        ClockError::Syscall {
            op,
            clock: self.name.clone(),
            source,
        }
    }

    /// Reads `n` (1..=25) PHC/system-clock sample triples, with PTP_SYS_OFFSET_EXTENDED when the
    /// driver supports it (tight per-sample windows) and PTP_SYS_OFFSET otherwise.
    pub fn sys_offset(&self, n: u32) -> Result<Vec<SysOffsetSample>, ClockError> {
        let n = n.clamp(1, PTP_MAX_SAMPLES);
        // Relaxed: a hint cached per clock; a race only costs one extra failed ioctl.
        if self.extended_ok.load(Ordering::Relaxed) {
            match self.sys.sys_offset_extended(self.fd, n) {
                Ok(v) => return Ok(v),
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ENOTTY) | Some(libc::EOPNOTSUPP) | Some(libc::EINVAL)
                    ) =>
                {
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
