//! Clocks that the servo disciplines: a PTP hardware clock ([`PhcClock`]), the system clock
//! ([`SystemClock`], only when explicitly asked for) and a software [`VirtualClock`] for labs
//! and simulations, all behind one [`Clock`] trait; plus the phc2sys-style step function in
//! [`sync`].
//!
//! This module owns every clock syscall of xptp (`clock_gettime`, `clock_adjtime`, the PTP
//! ioctls, the ethtool timestamping query) and it is, with the datapath's `xsk`, the only place
//! allowed to use `unsafe`. Every syscall goes through the [`ClockSyscalls`] trait so the logic
//! can be tested against [`fake::FakeSyscalls`]; [`syscalls::LinuxSyscalls`] is the real one.
//! It must not decide *how* to steer a clock: that is the servo's job (`crate::servo`).
//!
//! Time values are integer nanoseconds in an `i64` (the clock's own epoch: TAI for a PHC and
//! for CLOCK_TAI, UTC for CLOCK_REALTIME); frequencies are `f64` parts per billion, positive
//! meaning "run faster".

pub mod fake;
pub mod phc;
pub mod phc2sys;
pub mod sync;
pub mod syscalls;
pub mod system;
pub mod virtual_clock;

pub use phc::{PhcCaps, PhcClock, SysOffsetMethod, SysOffsetSample};
pub use syscalls::{ClockId, ClockSyscalls, Fd, LinuxSyscalls, TimexRead};
pub use system::SystemClock;
pub use virtual_clock::{
    ManualTimeSource, MonotonicRawSource, TaiSource, TimeSource, VirtualClock, VirtualClockConfig,
    VirtualClockReader,
};

/// Which clock the servo disciplines: xptp's `clock_source` configuration key (linuxptp has no
/// equivalent: ptp4l always steers the PHC of its interfaces).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum ClockSource {
    /// The PTP hardware clock of the port's interface ([`PhcClock`]), `phc` (the default).
    #[default]
    Phc,
    /// A software clock over CLOCK_TAI ([`VirtualClock`]), `virtual`: for labs and NICs
    /// without a PHC.
    Virtual,
    /// CLOCK_REALTIME ([`SystemClock`]), `system`: only when explicitly configured.
    System,
}

impl ClockSource {
    /// Every value, in configuration-file order.
    pub const ALL: [ClockSource; 3] = [Self::Phc, Self::Virtual, Self::System];

    /// The configuration-file spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Phc => "phc",
            Self::Virtual => "virtual",
            Self::System => "system",
        }
    }
}

/// Nanoseconds per second.
pub const NS_PER_SEC: i64 = 1_000_000_000;

/// An error from a clock operation. Each variant names the cause and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum ClockError {
    /// The PHC character device could not be opened.
    #[error("cannot open PTP hardware clock {path}: {source} (check that the device exists, e.g. `ls /dev/ptp*`, and that xptp may read and write it)")]
    Open {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The interface reports no PHC (software timestamping only).
    #[error("interface {ifname} has no PTP hardware clock (`ethtool -T {ifname}` shows none); use `time_stamping software` with the virtual clock, or a NIC with hardware timestamping")]
    NoPhc { ifname: String },
    /// The interface name cannot be passed to the kernel.
    #[error("interface name {0:?} is empty, longer than 15 bytes or contains NUL")]
    BadInterfaceName(String),
    /// A clock syscall failed.
    #[error("{op} on {clock} failed: {source}")]
    Syscall {
        op: &'static str,
        clock: String,
        #[source]
        source: std::io::Error,
    },
    /// The kernel refused a clock change for lack of privilege (EPERM / EACCES).
    #[error("{op} on {clock} was refused ({source}): {fix}")]
    NotPermitted {
        op: &'static str,
        clock: String,
        fix: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The clock returned a PTP_SYS_OFFSET* answer with no usable sample.
    #[error("{clock} returned no usable PHC/system offset sample (n_samples {n}); retry, or lower the number of readings")]
    NoOffsetSample { clock: String, n: u32 },
}

/// What to do when the kernel refuses to change CLOCK_REALTIME.
pub const FIX_CAP_SYS_TIME: &str =
    "steering CLOCK_REALTIME needs CAP_SYS_TIME: run xptp as root or grant it \
     (systemd AmbientCapabilities=CAP_SYS_TIME); xptp keeps it after setup only for clock_source \
     system or a phc2sys target of CLOCK_REALTIME";
/// What to do when the kernel refuses to change a PHC.
pub const FIX_PHC_WRITE: &str =
    "steering a PHC needs its /dev/ptpN opened read-write: run xptp as root or give \
     its user write access to the device (udev rule, group ptp)";

/// A syscall error naming the operation and the clock; EPERM/EACCES become
/// [`ClockError::NotPermitted`] with the fix for that clock.
pub(crate) fn syscall_error(op: &'static str, clock: &str, source: std::io::Error) -> ClockError {
    if matches!(
        source.raw_os_error(),
        Some(libc::EPERM) | Some(libc::EACCES)
    ) {
        ClockError::NotPermitted {
            op,
            clock: clock.to_string(),
            fix: if clock == "CLOCK_REALTIME" {
                FIX_CAP_SYS_TIME
            } else {
                FIX_PHC_WRITE
            },
            source,
        }
    } else {
        ClockError::Syscall {
            op,
            clock: clock.to_string(),
            source,
        }
    }
}

/// A clock that can be read and steered in frequency and phase.
///
/// Implementations clamp frequency requests to [`Clock::max_frequency_ppb`] and return the
/// value actually applied, so a servo asking for too much is visible but not fatal.
pub trait Clock: Send + std::fmt::Debug {
    /// A human-readable name for logs and errors (`/dev/ptp0`, `CLOCK_REALTIME`, `virtual`).
    fn name(&self) -> &str;
    /// The clock's current time in nanoseconds.
    fn now(&self) -> Result<i64, ClockError>;
    /// Sets the frequency adjustment (ppb, positive = faster) relative to the clock's free-running
    /// rate, clamped to ±[`Clock::max_frequency_ppb`]. Returns the value applied.
    fn adjust_frequency(&mut self, ppb: f64) -> Result<f64, ClockError>;
    /// Steps the clock by `delta_ns` (added to its time).
    fn step(&mut self, delta_ns: i64) -> Result<(), ClockError>;
    /// The frequency adjustment currently in effect (ppb).
    fn frequency(&self) -> Result<f64, ClockError>;
    /// The largest frequency adjustment the clock accepts (ppb, positive).
    fn max_frequency_ppb(&self) -> f64;
}

/// Clamps `ppb` to ±`max` (a NaN request becomes 0: never hand NaN to the kernel).
pub(crate) fn clamp_ppb(ppb: f64, max: f64) -> f64 {
    if ppb.is_nan() {
        0.0
    } else {
        ppb.clamp(-max, max)
    }
}

/// Converts parts per billion to the kernel's `timex.freq` unit (ppm with a 16-bit binary
/// fraction): `ppb * 65.536`.
pub fn ppb_to_scaled_ppm(ppb: f64) -> i64 {
    (ppb * 65.536).round() as i64
}

/// Converts the kernel's `timex.freq` unit (ppm << 16) to parts per billion.
pub fn scaled_ppm_to_ppb(scaled: i64) -> f64 {
    scaled as f64 / 65.536
}
