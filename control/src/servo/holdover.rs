//! Holdover: what the clock does when it loses its master. It keeps running at the last good
//! frequency (an average over the last locked samples, which is steadier than the servo's last
//! output), reports that it is in holdover and for how long, and — for a clock that may become
//! grandmaster — degrades its advertised clockClass along a configurable ladder once its
//! holdover budget is spent (IEEE 1588-2019 7.6.2.5 Table 4; ITU-T G.8275.1 Table 2).
//!
//! It is pure: time comes in as arguments; it never touches a clock.

use std::collections::VecDeque;

/// One rung: from `after_ns` of holdover on, advertise `clock_class`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ClassStep {
    pub after_ns: i64,
    pub clock_class: u8,
}

/// The clockClass to advertise in each situation (configuration data, not code).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ClockClassLadder {
    /// Locked to a primary reference (e.g. 6).
    pub locked: u8,
    /// Never locked, or holdover ladder exhausted with no rung (e.g. 248).
    pub free_running: u8,
    /// Holdover rungs, ascending `after_ns`; the last one reached applies.
    pub holdover: Vec<ClassStep>,
}

impl ClockClassLadder {
    /// Default profile: 6 locked, 7 in holdover within budget, 187 (degradation alternative B)
    /// after `budget_ns`, 248 after `free_run_after_ns`.
    pub fn default_profile(budget_ns: i64, free_run_after_ns: i64) -> Self {
        ClockClassLadder {
            locked: 6,
            free_running: 248,
            holdover: vec![
                ClassStep {
                    after_ns: 0,
                    clock_class: 7,
                },
                ClassStep {
                    after_ns: budget_ns,
                    clock_class: 187,
                },
                ClassStep {
                    after_ns: free_run_after_ns,
                    clock_class: 248,
                },
            ],
        }
    }

    /// ITU-T G.8275.1 T-GM: 6 locked, 7 in holdover within specification, 140 (category 1 out of
    /// specification) after `budget_ns`, 248 free-running after `free_run_after_ns`.
    pub fn g8275_1(budget_ns: i64, free_run_after_ns: i64) -> Self {
        ClockClassLadder {
            locked: 6,
            free_running: 248,
            holdover: vec![
                ClassStep {
                    after_ns: 0,
                    clock_class: 7,
                },
                ClassStep {
                    after_ns: budget_ns,
                    clock_class: 140,
                },
                ClassStep {
                    after_ns: free_run_after_ns,
                    clock_class: 248,
                },
            ],
        }
    }

    fn in_holdover(&self, elapsed_ns: i64) -> u8 {
        self.holdover
            .iter()
            .rfind(|s| s.after_ns <= elapsed_ns)
            .map_or(self.free_running, |s| s.clock_class)
    }
}

/// Holdover configuration.
#[derive(Clone, PartialEq, Debug)]
pub struct HoldoverConfig {
    /// How long holdover stays within specification (ns).
    pub budget_ns: i64,
    /// Locked samples averaged into the holdover frequency.
    pub averaging_samples: usize,
    /// clockClass ladder.
    pub ladder: ClockClassLadder,
}

impl Default for HoldoverConfig {
    fn default() -> Self {
        let hour = 3_600 * 1_000_000_000;
        HoldoverConfig {
            budget_ns: hour,
            averaging_samples: 64,
            ladder: ClockClassLadder::default_profile(hour, 24 * hour),
        }
    }
}

/// Where the clock stands.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum HoldoverState {
    /// Never locked since start.
    FreeRunning,
    /// Tracking a master.
    Locked,
    /// Master lost at `since_ns`; running at `frequency_ppb`.
    Holdover { since_ns: i64, frequency_ppb: f64 },
}

/// A report for management and metrics.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct HoldoverStatus {
    pub state: HoldoverState,
    /// Time in holdover (ns), if in holdover.
    pub elapsed_ns: Option<i64>,
    /// Whether holdover is still within its budget (true when not in holdover).
    pub within_budget: bool,
    /// clockClass to advertise if this clock is grandmaster.
    pub clock_class: u8,
}

/// Holdover tracking.
#[derive(Clone, Debug)]
pub struct Holdover {
    cfg: HoldoverConfig,
    state: HoldoverState,
    recent: VecDeque<f64>,
}

impl Holdover {
    /// Starts free-running.
    pub fn new(cfg: HoldoverConfig) -> Self {
        Holdover {
            cfg,
            state: HoldoverState::FreeRunning,
            recent: VecDeque::new(),
        }
    }

    /// A locked servo sample with the frequency it set (call on every locked sample).
    pub fn on_locked(&mut self, frequency_ppb: f64) {
        self.state = HoldoverState::Locked;
        if self.recent.len() >= self.cfg.averaging_samples.max(1) {
            self.recent.pop_front();
        }
        self.recent.push_back(frequency_ppb);
    }

    /// The last good frequency: the average of the recent locked samples.
    pub fn last_good_frequency(&self) -> Option<f64> {
        (!self.recent.is_empty())
            .then(|| self.recent.iter().sum::<f64>() / self.recent.len() as f64)
    }

    /// The master is gone at `now_ns`. Returns the frequency to hold, `None` if the clock
    /// was never locked (nothing better than its current frequency is known).
    pub fn on_master_lost(&mut self, now_ns: i64) -> Option<f64> {
        match self.state {
            HoldoverState::Locked => {
                let f = self.last_good_frequency()?;
                self.state = HoldoverState::Holdover {
                    since_ns: now_ns,
                    frequency_ppb: f,
                };
                Some(f)
            }
            HoldoverState::Holdover { frequency_ppb, .. } => Some(frequency_ppb),
            HoldoverState::FreeRunning => None,
        }
    }

    /// A master is back: the servo takes over again and the state is Locked at once (the
    /// instance decides when a master counts as regained); recent frequencies are kept, so a
    /// loss before the next locked sample holds the same average again.
    pub fn on_master_regained(&mut self) {
        if let HoldoverState::Holdover { .. } = self.state {
            self.state = HoldoverState::Locked;
        }
    }

    /// The status at `now_ns`.
    pub fn status(&self, now_ns: i64) -> HoldoverStatus {
        match self.state {
            HoldoverState::FreeRunning => HoldoverStatus {
                state: self.state,
                elapsed_ns: None,
                within_budget: true,
                clock_class: self.cfg.ladder.free_running,
            },
            HoldoverState::Locked => HoldoverStatus {
                state: self.state,
                elapsed_ns: None,
                within_budget: true,
                clock_class: self.cfg.ladder.locked,
            },
            HoldoverState::Holdover { since_ns, .. } => {
                let e = now_ns.saturating_sub(since_ns).max(0);
                HoldoverStatus {
                    state: self.state,
                    elapsed_ns: Some(e),
                    within_budget: e < self.cfg.budget_ns,
                    clock_class: self.cfg.ladder.in_holdover(e),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn ladder_degrades_with_elapsed_holdover() {
        let cfg = HoldoverConfig {
            budget_ns: 100 * S,
            averaging_samples: 4,
            ladder: ClockClassLadder::default_profile(100 * S, 1000 * S),
        };
        let mut h = Holdover::new(cfg);
        assert_eq!(h.status(0).clock_class, 248);
        assert_eq!(h.on_master_lost(0), None, "never locked: nothing to hold");
        for f in [10.0, 20.0, 30.0, 40.0, 50.0] {
            h.on_locked(f);
        }
        assert_eq!(h.status(0).clock_class, 6);
        // Average of the last 4.
        assert_eq!(h.on_master_lost(10 * S), Some(35.0));
        let st = h.status(10 * S);
        assert_eq!(
            (st.clock_class, st.elapsed_ns, st.within_budget),
            (7, Some(0), true)
        );
        let st = h.status(110 * S);
        assert_eq!((st.clock_class, st.within_budget), (187, false));
        assert_eq!(h.status(1010 * S).clock_class, 248);
        // A second loss report keeps the original start and frequency.
        assert_eq!(h.on_master_lost(500 * S), Some(35.0));
        assert_eq!(h.status(500 * S).elapsed_ns, Some(490 * S));
        h.on_master_regained();
        assert_eq!(h.status(2000 * S).clock_class, 6);
    }

    #[test]
    fn g8275_classes_are_data() {
        let l = ClockClassLadder::g8275_1(10, 20);
        assert_eq!(
            (l.in_holdover(0), l.in_holdover(10), l.in_holdover(25)),
            (7, 140, 248)
        );
        let custom = ClockClassLadder {
            locked: 6,
            free_running: 248,
            holdover: vec![ClassStep {
                after_ns: 5,
                clock_class: 52,
            }],
        };
        assert_eq!((custom.in_holdover(0), custom.in_holdover(5)), (248, 52));
    }
}
