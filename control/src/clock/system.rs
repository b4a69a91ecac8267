//! [`SystemClock`]: CLOCK_REALTIME steered through `clock_adjtime`, for the phc2sys function
//! and for a software-timestamping slave whose user explicitly asks xptp to own the system
//! clock. Never created implicitly: the only constructor says what it does.

use super::syscalls::{ClockId, ClockSyscalls, LinuxSyscalls};
use super::{clamp_ppb, ppb_to_scaled_ppm, scaled_ppm_to_ppb, syscall_error, Clock, ClockError};

/// The kernel's frequency-adjustment limit for CLOCK_REALTIME when it does not report one
/// (MAXFREQ: 500 ppm).
pub const SYSTEM_CLOCK_DEFAULT_MAX_PPB: f64 = 500_000.0;

/// The system clock (CLOCK_REALTIME).
///
/// **Steering it changes the machine's wall-clock time for every process.** Only construct it
/// when the user configured xptp to discipline the system clock.
#[derive(Debug)]
pub struct SystemClock<S: ClockSyscalls = LinuxSyscalls> {
    sys: S,
    max_ppb: f64,
}

impl<S: ClockSyscalls> SystemClock<S> {
    /// Takes control of CLOCK_REALTIME. The name is deliberate: every frequency change and step
    /// made through the returned value changes the machine's time.
    pub fn discipline_realtime_explicitly(sys: S) -> Result<Self, ClockError> {
        let t = sys
            .adjtime_read(ClockId::REALTIME)
            .map_err(|source| Self::err("clock_adjtime(read)", source))?;
        let tol = scaled_ppm_to_ppb(t.tolerance_scaled_ppm);
        let max_ppb = if tol > 0.0 {
            tol
        } else {
            SYSTEM_CLOCK_DEFAULT_MAX_PPB
        };
        Ok(SystemClock { sys, max_ppb })
    }

    fn err(op: &'static str, source: std::io::Error) -> ClockError {
        syscall_error(op, "CLOCK_REALTIME", source)
    }
}

impl<S: ClockSyscalls> Clock for SystemClock<S> {
    fn name(&self) -> &str {
        "CLOCK_REALTIME"
    }

    fn now(&self) -> Result<i64, ClockError> {
        self.sys
            .clock_gettime(ClockId::REALTIME)
            .map_err(|e| Self::err("clock_gettime", e))
    }

    fn adjust_frequency(&mut self, ppb: f64) -> Result<f64, ClockError> {
        let ppb = clamp_ppb(ppb, self.max_ppb);
        self.sys
            .adjtime_set_frequency(ClockId::REALTIME, ppb_to_scaled_ppm(ppb))
            .map_err(|e| Self::err("clock_adjtime(ADJ_FREQUENCY)", e))?;
        Ok(ppb)
    }

    fn step(&mut self, delta_ns: i64) -> Result<(), ClockError> {
        self.sys
            .adjtime_step(ClockId::REALTIME, delta_ns)
            .map_err(|e| Self::err("clock_adjtime(ADJ_SETOFFSET)", e))
    }

    fn frequency(&self) -> Result<f64, ClockError> {
        self.sys
            .adjtime_read(ClockId::REALTIME)
            .map(|t| scaled_ppm_to_ppb(t.freq_scaled_ppm))
            .map_err(|e| Self::err("clock_adjtime(read)", e))
    }

    fn max_frequency_ppb(&self) -> f64 {
        self.max_ppb
    }
}
