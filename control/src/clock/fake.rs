//! [`FakeSyscalls`]: an in-memory model of the kernel's clocks for tests and simulations. Each
//! fake clock runs at its own oscillator error plus the frequency adjustment last set, against a
//! shared simulated "true time" that the test advances. Every mutating call is logged so tests
//! can assert which clock was touched.
//!
//! Nothing here calls the kernel.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

use super::phc::{PhcCaps, SysOffsetSample};
use super::syscalls::{ClockId, ClockSyscalls, Fd, TimexRead};
use super::{ppb_to_scaled_ppm, scaled_ppm_to_ppb};

/// One clock of the fake world.
#[derive(Clone, Copy, Debug)]
struct FakeClock {
    /// True time at which the current segment began.
    base_true: i64,
    /// The clock's reading at `base_true` (whole ns) and its sub-ns remainder.
    base_val: i64,
    base_frac: f64,
    /// Free-running oscillator error (ppb).
    native_ppb: f64,
    /// Frequency adjustment in force, as the kernel stores it (ppm << 16).
    adj_scaled: i64,
}

impl FakeClock {
    fn rate_ppb(&self) -> f64 {
        let a = scaled_ppm_to_ppb(self.adj_scaled) * 1e-9;
        let n = self.native_ppb * 1e-9;
        ((1.0 + n) * (1.0 + a) - 1.0) * 1e9
    }

    fn read(&self, t: i64) -> (i64, f64) {
        let dt = t - self.base_true;
        let corr = dt as f64 * self.rate_ppb() * 1e-9 + self.base_frac;
        let whole = corr.floor();
        (self.base_val + dt + whole as i64, corr - whole)
    }

    fn rebase(&mut self, t: i64) {
        let (v, f) = self.read(t);
        self.base_true = t;
        self.base_val = v;
        self.base_frac = f;
    }
}

/// A recorded mutating call.
#[derive(Clone, PartialEq, Debug)]
pub enum FakeCall {
    /// `clock_adjtime(ADJ_FREQUENCY)` with the value in ppb.
    SetFrequency(ClockId, f64),
    /// `clock_adjtime(ADJ_SETOFFSET)` by the given nanoseconds.
    Step(ClockId, i64),
    /// `clock_settime`.
    SetTime(ClockId, i64),
}

/// A recorded PTP_SYS_OFFSET* ioctl (whether or not the fake driver implements it).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FakeIoctl {
    /// PTP_SYS_OFFSET_PRECISE on the descriptor.
    Precise(Fd),
    /// PTP_SYS_OFFSET_EXTENDED on the descriptor with n_samples.
    Extended(Fd, u32),
    /// PTP_SYS_OFFSET on the descriptor with n_samples.
    Basic(Fd, u32),
}

#[derive(Debug)]
struct FakePhc {
    path: String,
    clk: ClockId,
    caps: PhcCaps,
    extended: bool,
    precise: bool,
}

#[derive(Debug, Default)]
struct World {
    true_ns: i64,
    clocks: HashMap<libc::clockid_t, FakeClock>,
    phcs: Vec<FakePhc>,
    open_fds: HashMap<Fd, usize>,
    next_fd: Fd,
    ifaces: HashMap<String, i32>,
    /// System-read window widths for PTP_SYS_OFFSET*, cycled per sample.
    windows: Vec<i64>,
    /// Where inside the window the PHC is really read (0 = at sys_before, 1 = at sys_after).
    read_skew: f64,
    calls: Vec<FakeCall>,
    ioctls: Vec<FakeIoctl>,
    /// Clocks whose mutating calls fail, with the errno.
    refuse: HashMap<libc::clockid_t, i32>,
}

/// The fake kernel. Cloning shares the same world.
#[derive(Clone, Debug)]
pub struct FakeSyscalls {
    world: Arc<Mutex<World>>,
}

impl Default for FakeSyscalls {
    fn default() -> Self {
        Self::new(0)
    }
}

fn enodev() -> io::Error {
    io::Error::from_raw_os_error(libc::ENODEV)
}

impl FakeSyscalls {
    /// A world at true time `true_ns` with CLOCK_REALTIME, CLOCK_TAI (37 s ahead),
    /// CLOCK_MONOTONIC and CLOCK_MONOTONIC_RAW, all perfect.
    pub fn new(true_ns: i64) -> Self {
        let mut w = World {
            true_ns,
            next_fd: 3,
            windows: vec![1_000],
            read_skew: 0.5,
            ..Default::default()
        };
        let mk = |val: i64| FakeClock {
            base_true: true_ns,
            base_val: val,
            base_frac: 0.0,
            native_ppb: 0.0,
            adj_scaled: 0,
        };
        w.clocks.insert(libc::CLOCK_REALTIME, mk(true_ns));
        w.clocks
            .insert(libc::CLOCK_TAI, mk(true_ns + 37 * 1_000_000_000));
        w.clocks.insert(libc::CLOCK_MONOTONIC, mk(0));
        w.clocks.insert(libc::CLOCK_MONOTONIC_RAW, mk(0));
        FakeSyscalls {
            world: Arc::new(Mutex::new(w)),
        }
    }

    fn w(&self) -> MutexGuard<'_, World> {
        // A poisoned lock only means another test thread panicked; the data is still usable.
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a PHC device at `path` whose time is `initial_ns` now, with oscillator error
    /// `native_ppb`, `max_adj_ppb` from GETCAPS, and PTP_SYS_OFFSET_EXTENDED support or not.
    pub fn add_phc(
        &self,
        path: &str,
        initial_ns: i64,
        native_ppb: f64,
        max_adj_ppb: i32,
        extended: bool,
    ) {
        let mut w = self.w();
        let idx = w.phcs.len();
        // Unique fake dynamic clock ids (negative like the kernel's), keyed by device index.
        let clk = ClockId::from_fd(1000 + idx as i32);
        let t = w.true_ns;
        w.clocks.insert(
            clk.0,
            FakeClock {
                base_true: t,
                base_val: initial_ns,
                base_frac: 0.0,
                native_ppb,
                adj_scaled: 0,
            },
        );
        w.phcs.push(FakePhc {
            path: path.to_string(),
            clk,
            caps: PhcCaps {
                max_adj_ppb,
                ..Default::default()
            },
            extended,
            precise: false,
        });
    }

    /// Gives the PHC at `path` hardware cross-timestamping (PTP_SYS_OFFSET_PRECISE and the
    /// `cross_timestamping` capability).
    pub fn set_precise(&self, path: &str, precise: bool) {
        let mut w = self.w();
        if let Some(p) = w.phcs.iter_mut().find(|p| p.path == path) {
            p.precise = precise;
            p.caps.cross_timestamping = precise;
        }
    }

    /// Makes every mutating call on `clk` fail with `errno` (e.g. EPERM: no CAP_SYS_TIME).
    pub fn refuse_changes(&self, clk: ClockId, errno: i32) {
        self.w().refuse.insert(clk.0, errno);
    }

    /// Every PTP_SYS_OFFSET* ioctl so far, in order.
    pub fn ioctls(&self) -> Vec<FakeIoctl> {
        self.w().ioctls.clone()
    }

    /// Declares an interface and its PHC index (-1: none).
    pub fn add_interface(&self, ifname: &str, phc_index: i32) {
        self.w().ifaces.insert(ifname.to_string(), phc_index);
    }

    /// Gives a static clock an oscillator error (e.g. a drifting CLOCK_REALTIME).
    pub fn set_native_ppb(&self, clk: ClockId, ppb: f64) {
        let mut w = self.w();
        let t = w.true_ns;
        if let Some(c) = w.clocks.get_mut(&clk.0) {
            c.rebase(t);
            c.native_ppb = ppb;
        }
    }

    /// Sets the system-read window widths (cycled per sample) and where inside the window the
    /// PHC is really read (0..=1).
    pub fn set_sys_offset_windows(&self, windows: Vec<i64>, read_skew: f64) {
        let mut w = self.w();
        w.windows = if windows.is_empty() { vec![0] } else { windows };
        w.read_skew = read_skew.clamp(0.0, 1.0);
    }

    /// Advances true time.
    pub fn advance(&self, ns: i64) {
        self.w().true_ns += ns;
    }

    /// Current true time.
    pub fn true_now(&self) -> i64 {
        self.w().true_ns
    }

    /// A clock's reading at the current true time.
    pub fn read(&self, clk: ClockId) -> Option<i64> {
        let w = self.w();
        w.clocks.get(&clk.0).map(|c| c.read(w.true_ns).0)
    }

    /// The clock id the fake gave to the PHC at `path`.
    pub fn phc_clock_id(&self, path: &str) -> Option<ClockId> {
        self.w().phcs.iter().find(|p| p.path == path).map(|p| p.clk)
    }

    /// All mutating calls so far.
    pub fn calls(&self) -> Vec<FakeCall> {
        self.w().calls.clone()
    }

    /// Number of descriptors currently open.
    pub fn open_fd_count(&self) -> usize {
        self.w().open_fds.len()
    }

    fn phc_of(w: &World, fd: Fd) -> io::Result<&FakePhc> {
        let idx = *w
            .open_fds
            .get(&fd)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EBADF))?;
        w.phcs.get(idx).ok_or_else(enodev)
    }

    /// Resolves a dynamic clock id made from a fake fd to the fake PHC's clock id.
    fn resolve(w: &World, clk: ClockId) -> ClockId {
        for (&fd, &idx) in &w.open_fds {
            if ClockId::from_fd(fd) == clk {
                if let Some(p) = w.phcs.get(idx) {
                    return p.clk;
                }
            }
        }
        clk
    }

    fn samples(&self, fd: Fd, n: u32) -> io::Result<Vec<SysOffsetSample>> {
        let w = self.w();
        let phc = Self::phc_of(&w, fd)?;
        let pc = *w.clocks.get(&phc.clk.0).ok_or_else(enodev)?;
        let rt = *w.clocks.get(&libc::CLOCK_REALTIME).ok_or_else(enodev)?;
        let mut t = w.true_ns;
        let mut out = Vec::new();
        for i in 0..n as usize {
            let win = w.windows.get(i % w.windows.len()).copied().unwrap_or(0);
            let before = rt.read(t).0;
            let at = t + (win as f64 * w.read_skew) as i64;
            let p = pc.read(at).0;
            let after = rt.read(t + win).0;
            out.push(SysOffsetSample {
                sys_before: before,
                phc: p,
                sys_after: after,
            });
            t += win + 100;
        }
        Ok(out)
    }
}

impl ClockSyscalls for FakeSyscalls {
    fn clock_gettime(&self, clk: ClockId) -> io::Result<i64> {
        let w = self.w();
        let clk = Self::resolve(&w, clk);
        w.clocks
            .get(&clk.0)
            .map(|c| c.read(w.true_ns).0)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))
    }

    fn clock_settime(&self, clk: ClockId, ns: i64) -> io::Result<()> {
        let mut w = self.w();
        let clk = Self::resolve(&w, clk);
        if let Some(&e) = w.refuse.get(&clk.0) {
            return Err(io::Error::from_raw_os_error(e));
        }
        let t = w.true_ns;
        let c = w
            .clocks
            .get_mut(&clk.0)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
        c.rebase(t);
        c.base_val = ns;
        c.base_frac = 0.0;
        w.calls.push(FakeCall::SetTime(clk, ns));
        Ok(())
    }

    fn adjtime_read(&self, clk: ClockId) -> io::Result<TimexRead> {
        let w = self.w();
        let clk = Self::resolve(&w, clk);
        let c = w
            .clocks
            .get(&clk.0)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
        Ok(TimexRead {
            freq_scaled_ppm: c.adj_scaled,
            tolerance_scaled_ppm: ppb_to_scaled_ppm(500_000.0),
        })
    }

    fn adjtime_set_frequency(&self, clk: ClockId, freq_scaled_ppm: i64) -> io::Result<()> {
        let mut w = self.w();
        let clk = Self::resolve(&w, clk);
        if let Some(&e) = w.refuse.get(&clk.0) {
            return Err(io::Error::from_raw_os_error(e));
        }
        let t = w.true_ns;
        let c = w
            .clocks
            .get_mut(&clk.0)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
        c.rebase(t);
        c.adj_scaled = freq_scaled_ppm;
        w.calls.push(FakeCall::SetFrequency(
            clk,
            scaled_ppm_to_ppb(freq_scaled_ppm),
        ));
        Ok(())
    }

    fn adjtime_step(&self, clk: ClockId, delta_ns: i64) -> io::Result<()> {
        let mut w = self.w();
        let clk = Self::resolve(&w, clk);
        if let Some(&e) = w.refuse.get(&clk.0) {
            return Err(io::Error::from_raw_os_error(e));
        }
        let c = w
            .clocks
            .get_mut(&clk.0)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
        c.base_val += delta_ns;
        w.calls.push(FakeCall::Step(clk, delta_ns));
        Ok(())
    }

    fn open_phc(&self, path: &str) -> io::Result<Fd> {
        let mut w = self.w();
        let idx = w
            .phcs
            .iter()
            .position(|p| p.path == path)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))?;
        let fd = w.next_fd;
        w.next_fd += 1;
        w.open_fds.insert(fd, idx);
        Ok(fd)
    }

    fn close(&self, fd: Fd) {
        self.w().open_fds.remove(&fd);
    }

    fn phc_caps(&self, fd: Fd) -> io::Result<PhcCaps> {
        let w = self.w();
        Ok(Self::phc_of(&w, fd)?.caps)
    }

    fn sys_offset_precise(&self, fd: Fd) -> io::Result<SysOffsetSample> {
        let (phc, rt) = {
            let mut w = self.w();
            w.ioctls.push(FakeIoctl::Precise(fd));
            let phc = Self::phc_of(&w, fd)?;
            if !phc.precise {
                return Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP));
            }
            let pc = *w.clocks.get(&phc.clk.0).ok_or_else(enodev)?;
            let rt = *w.clocks.get(&libc::CLOCK_REALTIME).ok_or_else(enodev)?;
            (pc.read(w.true_ns).0, rt.read(w.true_ns).0)
        };
        // A cross-timestamp: both clocks latched at the same instant.
        Ok(SysOffsetSample {
            sys_before: rt,
            phc,
            sys_after: rt,
        })
    }

    fn sys_offset_extended(&self, fd: Fd, n: u32) -> io::Result<Vec<SysOffsetSample>> {
        {
            let mut w = self.w();
            w.ioctls.push(FakeIoctl::Extended(fd, n));
            if !Self::phc_of(&w, fd)?.extended {
                return Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP));
            }
        }
        self.samples(fd, n)
    }

    fn sys_offset(&self, fd: Fd, n: u32) -> io::Result<Vec<SysOffsetSample>> {
        self.w().ioctls.push(FakeIoctl::Basic(fd, n));
        self.samples(fd, n)
    }

    fn phc_index(&self, ifname: &str) -> io::Result<i32> {
        self.w()
            .ifaces
            .get(ifname)
            .copied()
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENODEV))
    }
}
