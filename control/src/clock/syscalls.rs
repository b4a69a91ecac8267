//! The clock syscalls xptp makes, behind [`ClockSyscalls`], and their Linux implementation
//! [`LinuxSyscalls`] (libc; the only `unsafe` of the control crate).
//!
//! Nothing here decides anything: each method is one kernel call with its arguments converted
//! from and to integer nanoseconds. Callers must never hand `CLOCK_REALTIME` to a mutating call
//! unless the user explicitly asked for the system clock to be disciplined.

use std::ffi::CString;
use std::io;

use super::phc::{PhcCaps, SysOffsetSample};
use super::NS_PER_SEC;

/// A file descriptor as the syscall layer sees it (a fake may hand out any number).
pub type Fd = i32;

/// A POSIX clock id: a static clock (`CLOCK_REALTIME`, ...) or a dynamic PHC clock made from a
/// file descriptor.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ClockId(pub libc::clockid_t);

impl ClockId {
    /// CLOCK_REALTIME (UTC, the system clock).
    pub const REALTIME: ClockId = ClockId(libc::CLOCK_REALTIME);
    /// CLOCK_TAI (the system clock plus the kernel's TAI offset; XDP timestamps use it).
    pub const TAI: ClockId = ClockId(libc::CLOCK_TAI);
    /// CLOCK_MONOTONIC_RAW (the undisciplined oscillator).
    pub const MONOTONIC_RAW: ClockId = ClockId(libc::CLOCK_MONOTONIC_RAW);
    /// CLOCK_MONOTONIC.
    pub const MONOTONIC: ClockId = ClockId(libc::CLOCK_MONOTONIC);

    /// The dynamic clock id of an open PHC character device: `((~fd) << 3) | CLOCKFD` with
    /// CLOCKFD = 3 (Linux `FD_TO_CLOCKID`).
    pub const fn from_fd(fd: Fd) -> ClockId {
        ClockId(((!fd) << 3) | 3)
    }

    /// Whether this is CLOCK_REALTIME.
    pub fn is_realtime(self) -> bool {
        self == ClockId::REALTIME
    }
}

/// What `clock_adjtime` with `modes = 0` reports.
#[derive(Clone, Copy, PartialEq, Debug, Default)]
pub struct TimexRead {
    /// Current frequency adjustment, kernel units (ppm << 16).
    pub freq_scaled_ppm: i64,
    /// Maximum frequency error, kernel units (ppm << 16); meaningful for CLOCK_REALTIME.
    pub tolerance_scaled_ppm: i64,
}

/// The clock syscalls, one method per kernel call. Implemented by [`LinuxSyscalls`] and by
/// [`super::fake::FakeSyscalls`].
pub trait ClockSyscalls: Send + Sync + std::fmt::Debug {
    /// `clock_gettime(clk)` in nanoseconds.
    fn clock_gettime(&self, clk: ClockId) -> io::Result<i64>;
    /// `clock_settime(clk, ns)`.
    fn clock_settime(&self, clk: ClockId, ns: i64) -> io::Result<()>;
    /// `clock_adjtime(clk, {modes: 0})`: reads the frequency and tolerance.
    fn adjtime_read(&self, clk: ClockId) -> io::Result<TimexRead>;
    /// `clock_adjtime(clk, {modes: ADJ_FREQUENCY, freq})`.
    fn adjtime_set_frequency(&self, clk: ClockId, freq_scaled_ppm: i64) -> io::Result<()>;
    /// `clock_adjtime(clk, {modes: ADJ_SETOFFSET | ADJ_NANO, time})`: steps by `delta_ns`.
    fn adjtime_step(&self, clk: ClockId, delta_ns: i64) -> io::Result<()>;
    /// Opens a PHC character device read-write.
    fn open_phc(&self, path: &str) -> io::Result<Fd>;
    /// Closes a descriptor from [`ClockSyscalls::open_phc`].
    fn close(&self, fd: Fd);
    /// `ioctl(PTP_CLOCK_GETCAPS)`.
    fn phc_caps(&self, fd: Fd) -> io::Result<PhcCaps>;
    /// `ioctl(PTP_SYS_OFFSET_EXTENDED)` against CLOCK_REALTIME with `n` samples (1..=25).
    fn sys_offset_extended(&self, fd: Fd, n: u32) -> io::Result<Vec<SysOffsetSample>>;
    /// `ioctl(PTP_SYS_OFFSET_PRECISE)`: one hardware cross-timestamp (device time and
    /// CLOCK_REALTIME at the same instant), as a sample whose window is zero.
    fn sys_offset_precise(&self, fd: Fd) -> io::Result<SysOffsetSample>;
    /// `ioctl(PTP_SYS_OFFSET)` with `n` samples (1..=25), as (before, phc, after) triples.
    fn sys_offset(&self, fd: Fd, n: u32) -> io::Result<Vec<SysOffsetSample>>;
    /// `ioctl(SIOCETHTOOL, ETHTOOL_GET_TS_INFO)`: the interface's PHC index, -1 if none.
    fn phc_index(&self, ifname: &str) -> io::Result<i32>;
}

/// The kernel's limit on PTP_SYS_OFFSET* samples (PTP_MAX_SAMPLES).
pub const PTP_MAX_SAMPLES: u32 = 25;

/// `ETHTOOL_GET_TS_INFO` command number (linux/ethtool.h).
const ETHTOOL_GET_TS_INFO: u32 = 0x41;

/// `struct ethtool_ts_info` (linux/ethtool.h).
#[repr(C)]
#[derive(Default)]
struct EthtoolTsInfo {
    cmd: u32,
    so_timestamping: u32,
    phc_index: i32,
    tx_types: u32,
    tx_reserved: [u32; 3],
    rx_filters: u32,
    rx_reserved: [u32; 3],
}

/// The real syscalls (libc).
#[derive(Clone, Copy, Debug, Default)]
pub struct LinuxSyscalls;

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn ptp_time_ns(t: &libc::ptp_clock_time) -> i64 {
    t.sec
        .saturating_mul(NS_PER_SEC)
        .saturating_add(i64::from(t.nsec))
}

fn zeroed_timex() -> libc::timex {
    // SAFETY: `timex` is a plain C struct of integers; all-zero is a valid value (modes = 0).
    unsafe { std::mem::zeroed() }
}

impl ClockSyscalls for LinuxSyscalls {
    fn clock_gettime(&self, clk: ClockId) -> io::Result<i64> {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
        check(unsafe { libc::clock_gettime(clk.0, &mut ts) })?;
        Ok(ts
            .tv_sec
            .saturating_mul(NS_PER_SEC)
            .saturating_add(ts.tv_nsec))
    }

    fn clock_settime(&self, clk: ClockId, ns: i64) -> io::Result<()> {
        let ts = libc::timespec {
            tv_sec: ns.div_euclid(NS_PER_SEC),
            tv_nsec: ns.rem_euclid(NS_PER_SEC),
        };
        // SAFETY: `ts` is a valid timespec read by the kernel during the call.
        check(unsafe { libc::clock_settime(clk.0, &ts) })?;
        Ok(())
    }

    fn adjtime_read(&self, clk: ClockId) -> io::Result<TimexRead> {
        let mut tx = zeroed_timex();
        // SAFETY: `tx` is a valid, writable timex; modes = 0 only reads.
        check(unsafe { libc::clock_adjtime(clk.0, &mut tx) })?;
        Ok(TimexRead {
            freq_scaled_ppm: tx.freq,
            tolerance_scaled_ppm: tx.tolerance,
        })
    }

    fn adjtime_set_frequency(&self, clk: ClockId, freq_scaled_ppm: i64) -> io::Result<()> {
        let mut tx = zeroed_timex();
        tx.modes = libc::ADJ_FREQUENCY;
        tx.freq = freq_scaled_ppm;
        // SAFETY: `tx` is a valid, writable timex for the duration of the call.
        check(unsafe { libc::clock_adjtime(clk.0, &mut tx) })?;
        Ok(())
    }

    fn adjtime_step(&self, clk: ClockId, delta_ns: i64) -> io::Result<()> {
        let mut tx = zeroed_timex();
        tx.modes = libc::ADJ_SETOFFSET | libc::ADJ_NANO;
        // With ADJ_NANO, tv_usec carries nanoseconds and must be in [0, 1e9).
        tx.time.tv_sec = delta_ns.div_euclid(NS_PER_SEC);
        tx.time.tv_usec = delta_ns.rem_euclid(NS_PER_SEC);
        // SAFETY: `tx` is a valid, writable timex for the duration of the call.
        check(unsafe { libc::clock_adjtime(clk.0, &mut tx) })?;
        Ok(())
    }

    fn open_phc(&self, path: &str) -> io::Result<Fd> {
        let c = CString::new(path).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        // SAFETY: `c` is a NUL-terminated string alive for the call.
        check(unsafe { libc::open(c.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) })
    }

    fn close(&self, fd: Fd) {
        // SAFETY: `fd` came from `open_phc` and is closed exactly once by its owner (PhcClock).
        unsafe {
            libc::close(fd);
        }
    }

    fn phc_caps(&self, fd: Fd) -> io::Result<PhcCaps> {
        // SAFETY: plain C struct of integers; zero is valid.
        let mut caps: libc::ptp_clock_caps = unsafe { std::mem::zeroed() };
        // SAFETY: PTP_CLOCK_GETCAPS writes one ptp_clock_caps into the valid buffer `caps`.
        check(unsafe { libc::ioctl(fd, libc::PTP_CLOCK_GETCAPS, &mut caps) })?;
        Ok(PhcCaps {
            max_adj_ppb: caps.max_adj,
            n_pins: caps.n_pins,
            pps: caps.pps != 0,
            cross_timestamping: caps.cross_timestamping != 0,
        })
    }

    fn sys_offset_extended(&self, fd: Fd, n: u32) -> io::Result<Vec<SysOffsetSample>> {
        let n = n.clamp(1, PTP_MAX_SAMPLES);
        // SAFETY: plain C struct of integers; zero is valid (clockid 0 = CLOCK_REALTIME).
        let mut req: libc::ptp_sys_offset_extended = unsafe { std::mem::zeroed() };
        req.n_samples = n;
        // SAFETY: the ioctl reads n_samples and writes at most PTP_MAX_SAMPLES triples into `req`.
        check(unsafe { libc::ioctl(fd, libc::PTP_SYS_OFFSET_EXTENDED, &mut req) })?;
        Ok(req
            .ts
            .iter()
            .take(n as usize)
            .map(|t| SysOffsetSample {
                sys_before: ptp_time_ns(&t[0]),
                phc: ptp_time_ns(&t[1]),
                sys_after: ptp_time_ns(&t[2]),
            })
            .collect())
    }

    fn sys_offset_precise(&self, fd: Fd) -> io::Result<SysOffsetSample> {
        // SAFETY: plain C struct of integers; zero is valid.
        let mut req: libc::ptp_sys_offset_precise = unsafe { std::mem::zeroed() };
        // SAFETY: the ioctl writes one ptp_sys_offset_precise into the valid buffer `req`.
        check(unsafe { libc::ioctl(fd, libc::PTP_SYS_OFFSET_PRECISE, &mut req) })?;
        let sys = ptp_time_ns(&req.sys_realtime);
        Ok(SysOffsetSample {
            sys_before: sys,
            phc: ptp_time_ns(&req.device),
            sys_after: sys,
        })
    }

    fn sys_offset(&self, fd: Fd, n: u32) -> io::Result<Vec<SysOffsetSample>> {
        let n = n.clamp(1, PTP_MAX_SAMPLES);
        // SAFETY: plain C struct of integers; zero is valid.
        let mut req: libc::ptp_sys_offset = unsafe { std::mem::zeroed() };
        req.n_samples = n;
        // SAFETY: the ioctl writes 2n+1 <= 51 timestamps into `req.ts`.
        check(unsafe { libc::ioctl(fd, libc::PTP_SYS_OFFSET, &mut req) })?;
        // ts = sys0, phc0, sys1, phc1, ..., sys_n.
        let ts: Vec<i64> = req.ts.iter().map(ptp_time_ns).collect();
        Ok(ts
            .windows(3)
            .step_by(2)
            .take(n as usize)
            .map(|w| SysOffsetSample {
                sys_before: w[0],
                phc: w[1],
                sys_after: w[2],
            })
            .collect())
    }

    fn phc_index(&self, ifname: &str) -> io::Result<i32> {
        let name = ifname.as_bytes();
        if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains(&0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "bad interface name",
            ));
        }
        let mut info = EthtoolTsInfo {
            cmd: ETHTOOL_GET_TS_INFO,
            ..Default::default()
        };
        // SAFETY: plain C struct (array + union of plain data); zero is valid.
        let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
        for (dst, &b) in ifr.ifr_name.iter_mut().zip(name) {
            *dst = b as libc::c_char;
        }
        ifr.ifr_ifru.ifru_data = (&mut info as *mut EthtoolTsInfo).cast();
        // SAFETY: creating a datagram socket has no memory-safety preconditions.
        let sock = check(unsafe {
            libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0)
        })?;
        // SAFETY: `ifr` names the interface and points at `info`, both alive and writable for
        // the call; SIOCETHTOOL with ETHTOOL_GET_TS_INFO writes one ethtool_ts_info.
        let rc = check(unsafe { libc::ioctl(sock, libc::SIOCETHTOOL, &mut ifr) });
        // SAFETY: `sock` was opened above and is closed once.
        unsafe {
            libc::close(sock);
        }
        rc?;
        Ok(info.phc_index)
    }
}
