//! The clock `xptp run` disciplines, seen from the daemon: which timescale the datapath's
//! CLOCK_TAI timestamps are converted to before they reach the protocol core, how servo
//! output is applied, and what offset the fast path adds to CLOCK_TAI so its Delay_Resp /
//! Pdelay_Resp timestamps are on the same scale as the core's Sync timestamps.
//!
//! It owns no syscalls (those are in [`crate::clock`]); it must not decide how to steer (the
//! servo in the core does).

use xptp_datapath::handoff::RxTimestamps;
use xptp_datapath::xsk::clock_tai_ns;

use crate::clock::{
    Clock, ClockError, ClockSource, LinuxSyscalls, PhcClock, SystemClock, TaiSource, VirtualClock,
    VirtualClockConfig,
};
use crate::port::ClockAdjustment;

/// `CLOCK_REALTIME − CLOCK_TAI` (ns, whole milliseconds): the kernel's TAI offset, negated.
pub fn realtime_minus_tai_ns() -> i64 {
    xptp_datapath::fastpath::run::realtime_minus_tai_ns()
}

/// What the virtual clock's true error is measured against.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, clap::ValueEnum)]
pub enum VirtualTruth {
    /// CLOCK_TAI (a PTP-timescale grandmaster).
    #[default]
    Tai,
    /// CLOCK_REALTIME (a linuxptp grandmaster with software timestamping, which sends
    /// CLOCK_REALTIME as its time).
    Realtime,
}

/// The virtual clock's start: offset and oscillator error relative to the truth.
#[derive(Clone, Copy, PartialEq, Debug, Default)]
pub struct VirtualOptions {
    /// Initial offset from the truth (ns).
    pub offset_ns: i64,
    /// Oscillator frequency error (ppb).
    pub freq_ppb: f64,
    /// The truth.
    pub truth: VirtualTruth,
}

/// The disciplined clock.
#[derive(Debug)]
pub enum DaemonClock {
    /// A software clock over CLOCK_TAI; `truth_minus_tai` is 0 or `CLOCK_REALTIME − CLOCK_TAI`.
    Virtual {
        clock: VirtualClock<TaiSource>,
        truth_minus_tai: i64,
    },
    /// The PHC of the first port; `phc_minus_tai` is re-sampled every second.
    Phc {
        clock: PhcClock,
        phc_minus_tai: i64,
        sampled: std::time::Instant,
    },
    /// CLOCK_REALTIME (only with `clock_source system`).
    System {
        clock: SystemClock,
        realtime_minus_tai: i64,
    },
}

impl DaemonClock {
    /// Opens the clock `source` names. `phc_ifname` is the interface whose PHC is used.
    pub fn open(
        source: ClockSource,
        phc_ifname: &str,
        virt: VirtualOptions,
    ) -> Result<Self, ClockError> {
        Ok(match source {
            ClockSource::Virtual => {
                let base = match virt.truth {
                    VirtualTruth::Tai => 0,
                    VirtualTruth::Realtime => realtime_minus_tai_ns(),
                };
                DaemonClock::Virtual {
                    clock: VirtualClock::new(
                        TaiSource,
                        VirtualClockConfig {
                            initial_offset_ns: base.saturating_add(virt.offset_ns),
                            frequency_error_ppb: virt.freq_ppb,
                            ..VirtualClockConfig::default()
                        },
                    ),
                    truth_minus_tai: base,
                }
            }
            ClockSource::Phc => {
                let clock = PhcClock::for_interface(phc_ifname)?;
                let mut c = DaemonClock::Phc {
                    clock,
                    phc_minus_tai: 0,
                    sampled: std::time::Instant::now(),
                };
                c.resample()?;
                c
            }
            ClockSource::System => DaemonClock::System {
                clock: SystemClock::discipline_realtime_explicitly(LinuxSyscalls)?,
                realtime_minus_tai: realtime_minus_tai_ns(),
            },
        })
    }

    /// `virtual`, `/dev/ptpN` or `CLOCK_REALTIME`.
    pub fn name(&self) -> &str {
        match self {
            DaemonClock::Virtual { clock, .. } => clock.name(),
            DaemonClock::Phc { clock, .. } => clock.name(),
            DaemonClock::System { clock, .. } => clock.name(),
        }
    }

    /// Which timestamps feed the core, in words (for the start-up log and the status).
    pub fn timestamp_source(&self, hw_rx: bool) -> String {
        match self {
            DaemonClock::Virtual { .. } => {
                "XDP-ingress CLOCK_TAI (software) mapped onto the virtual clock; TX: CLOCK_TAI read before the AF_XDP kick".into()
            }
            DaemonClock::Phc { clock, .. } if hw_rx => format!(
                "NIC hardware RX timestamps ({}) where present, else XDP-ingress CLOCK_TAI converted to the PHC",
                clock.name()
            ),
            DaemonClock::Phc { clock, .. } => format!(
                "XDP-ingress CLOCK_TAI (software) converted to {} (PHC−TAI sampled every second)",
                clock.name()
            ),
            DaemonClock::System { .. } => {
                "XDP-ingress CLOCK_TAI (software) converted to CLOCK_REALTIME".into()
            }
        }
    }

    /// Re-samples the PHC−TAI offset (PHC only; the others are exact).
    fn resample(&mut self) -> Result<(), ClockError> {
        if let DaemonClock::Phc {
            clock,
            phc_minus_tai,
            sampled,
        } = self
        {
            let s = clock.best_sys_offset(5)?;
            // The PHC/system samples are against CLOCK_REALTIME.
            *phc_minus_tai = s.phc_minus_sys() + realtime_minus_tai_ns();
            *sampled = std::time::Instant::now();
        }
        Ok(())
    }

    /// Grandmaster start: sets the PHC to CLOCK_REALTIME + `utc_offset_s` (see
    /// [`crate::clock::sync::set_phc_from_system`]) and re-samples PHC − TAI. `None` for a
    /// clock that is not a PHC (the caller refuses that configuration first).
    pub fn set_phc_from_system(
        &mut self,
        utc_offset_s: i16,
    ) -> Result<Option<crate::clock::sync::PhcSetReport>, ClockError> {
        let DaemonClock::Phc { clock, .. } = self else {
            return Ok(None);
        };
        let r = crate::clock::sync::set_phc_from_system(clock, utc_offset_s, 5)?;
        self.resample()?;
        Ok(Some(r))
    }

    /// Periodic upkeep (PHC offset sampling).
    pub fn maintain(&mut self) -> Result<(), ClockError> {
        if let DaemonClock::Phc { sampled, .. } = self {
            if sampled.elapsed() >= std::time::Duration::from_secs(1) {
                return self.resample();
            }
        }
        Ok(())
    }

    /// A CLOCK_TAI reading on this clock's scale.
    pub fn from_tai(&self, tai_ns: u64) -> i128 {
        let t = i64::try_from(tai_ns).unwrap_or(i64::MAX);
        i128::from(match self {
            DaemonClock::Virtual { clock, .. } => clock.to_virtual(t),
            DaemonClock::Phc { phc_minus_tai, .. } => t.saturating_add(*phc_minus_tai),
            DaemonClock::System {
                realtime_minus_tai, ..
            } => t.saturating_add(*realtime_minus_tai),
        })
    }

    /// The receive timestamp of a frame on this clock's scale: the NIC's hardware stamp for a
    /// PHC when present, else the XDP-ingress CLOCK_TAI reading, else (counted by the caller)
    /// the worker's CLOCK_TAI reading when it took the frame off the ring.
    pub fn rx_timestamp(&self, ts: &RxTimestamps) -> (i128, bool) {
        if let (DaemonClock::Phc { .. }, Some(hw)) = (self, ts.hw_ns) {
            return (i128::from(hw), true);
        }
        match ts.xdp_tai_ns {
            Some(t) => (self.from_tai(t), true),
            None => (self.from_tai(ts.user_tai_ns), false),
        }
    }

    /// A transmit timestamp on this clock's scale.
    pub fn tx_timestamp(&self, sw_tai_ns: u64, hw_ns: Option<u64>) -> i128 {
        match (self, hw_ns) {
            (DaemonClock::Phc { .. }, Some(hw)) => i128::from(hw),
            _ => self.from_tai(sw_tai_ns),
        }
    }

    /// This clock minus CLOCK_TAI now (ns): the fast path's `tai_to_ptp_ns`.
    pub fn minus_tai_now(&self) -> i64 {
        let tai = clock_tai_ns();
        let v = self.from_tai(tai);
        i64::try_from(v - i128::from(tai)).unwrap_or(0)
    }

    /// The virtual clock's true error (ns) against its truth; `None` for real clocks.
    pub fn true_error_ns(&self) -> Option<i64> {
        match self {
            DaemonClock::Virtual {
                clock,
                truth_minus_tai,
            } => Some(clock.true_error_now().wrapping_sub(*truth_minus_tai)),
            _ => None,
        }
    }

    /// Applies a servo output. Returns the frequency now in effect (ppb) when it changed.
    pub fn apply(&mut self, adj: ClockAdjustment) -> Result<Option<f64>, ClockError> {
        let r = match adj {
            ClockAdjustment::Step { offset_ns } => {
                self.clock_mut().step(offset_ns)?;
                None
            }
            ClockAdjustment::Frequency { ppb } => Some(self.clock_mut().adjust_frequency(ppb)?),
        };
        if matches!(self, DaemonClock::Phc { .. }) {
            self.resample()?;
        }
        Ok(r)
    }

    fn clock_mut(&mut self) -> &mut dyn Clock {
        match self {
            DaemonClock::Virtual { clock, .. } => clock,
            DaemonClock::Phc { clock, .. } => clock,
            DaemonClock::System { clock, .. } => clock,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_clock_maps_tai_and_reports_true_error() {
        let c = DaemonClock::open(
            ClockSource::Virtual,
            "unused",
            VirtualOptions {
                offset_ns: 50_000,
                freq_ppb: 0.0,
                truth: VirtualTruth::Tai,
            },
        )
        .unwrap();
        let tai = clock_tai_ns();
        assert_eq!(c.from_tai(tai) - i128::from(tai), 50_000);
        let e = c.true_error_ns().unwrap();
        assert!((49_000..=51_000).contains(&e), "{e}");
        assert!((49_000..=51_000).contains(&c.minus_tai_now()));
        let (ts, xdp) = c.rx_timestamp(&RxTimestamps {
            xdp_tai_ns: Some(tai),
            hw_ns: Some(1),
            user_tai_ns: tai + 10,
        });
        assert!(xdp);
        assert_eq!(ts - i128::from(tai), 50_000);
        let (ts, xdp) = c.rx_timestamp(&RxTimestamps {
            xdp_tai_ns: None,
            hw_ns: None,
            user_tai_ns: tai + 10,
        });
        assert!(!xdp);
        assert_eq!(ts - i128::from(tai), 50_010);
    }

    #[test]
    fn steps_and_frequency_reach_the_virtual_clock() {
        let mut c =
            DaemonClock::open(ClockSource::Virtual, "unused", VirtualOptions::default()).unwrap();
        c.apply(ClockAdjustment::Step { offset_ns: -1_000 })
            .unwrap();
        let e = c.true_error_ns().unwrap();
        assert!((-1_500..=-500).contains(&e), "{e}");
        assert_eq!(
            c.apply(ClockAdjustment::Frequency { ppb: 1e12 }).unwrap(),
            Some(VirtualClockConfig::default().max_frequency_ppb)
        );
    }
}
