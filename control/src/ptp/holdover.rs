//! Holdover in the instance: which frequency the clock keeps when it loses its master, when
//! holdover starts and ends, and the clockClass a grandmaster-capable clock advertises while
//! in holdover (IEEE 1588-2019 7.6.2.5 Table 4, 9.3: the BMCA re-runs with the degraded
//! class; ITU-T G.8275.1 6.4 for the telecom ladder).
//!
//! The rules, checked after every `handle_*` call (so that a BMCA round that moves the slave
//! role from one port to another is not mistaken for a loss):
//! - *Locked samples*: while a port is SLAVE and the servo is locked, every frequency the
//!   servo sets is fed to [`Holdover::on_locked`] (which averages the recent ones).
//! - *Master lost*: no port is SLAVE or UNCALIBRATED any more although one was (announce
//!   receipt timeout, no Ebest, fault); or, with the clockClass ladder active, the BMCA
//!   replaced a reference-grade grandmaster the clock was locked to by a lesser one. The clock is set to the averaged frequency
//!   (`AdjustClock(Frequency)`), not left at the servo's last output, and the servo is told
//!   to prepare to relock from there ([`Servo::enter_holdover`](crate::servo::Servo)).
//! - *Master regained*: a port is SLAVE or UNCALIBRATED again; the servo steers from its
//!   first sample. With the clockClass ladder engaged, holdover only ends when the new
//!   grandmaster's clockClass is at least as good as the ladder's locked class: a clock in
//!   holdover that follows a lesser grandmaster keeps its degraded class (it is still the
//!   best holder of the reference's time), and cannot flap between leading with a better
//!   class and following with a worse one.
//! - *clockClass*: a clock whose defaultDS clockClass is 1..127 never becomes SLAVE (9.3.3),
//!   so a boundary clock follows its grandmaster with an ordinary class (e.g. the default
//!   248). With [`InstanceConfig::holdover_clock_class`](super::InstanceConfig) set on a
//!   gmCapable, non-slaveOnly clock, losing a grandmaster whose clockClass was the ladder's
//!   locked class or better (e.g. 6) engages the ladder: defaultDS.clockQuality.clockClass
//!   is the ladder's holdover class (e.g. 7, then 187 after the budget, then 248) until
//!   holdover ends, then the configured class again. Each change re-runs the state decision;
//!   the ladder advances on the instance's timers, so a rung takes effect within one
//!   announce interval.

use crate::port::{Action, ClockAdjustment};
use crate::servo::{HoldoverState, ServoState};
use crate::time::Instant;

use super::PtpInstance;

/// Holdover time is kept in signed nanoseconds.
pub(super) fn ns(t: Instant) -> i64 {
    i64::try_from(t.as_nanos()).unwrap_or(i64::MAX)
}

impl PtpInstance {
    fn in_holdover(&self) -> bool {
        matches!(
            self.holdover.status(ns(self.last_now)).state,
            HoldoverState::Holdover { .. }
        )
    }

    /// Whether defaultDS.clockClass follows the holdover ladder.
    fn ladder_active(&self) -> bool {
        let d = &self.clock.default_ds;
        self.cfg.holdover_clock_class && d.gm_capable && !d.slave_only
    }

    /// A frequency the servo set while locked, on port `port_state`'s sample.
    pub(super) fn note_locked_frequency(&mut self, slave: bool, ppb: f64) {
        if slave && !self.in_holdover() {
            self.holdover.on_locked(ppb);
            let p = &self.clock.parent_ds;
            self.locked_gm = Some((
                p.grandmaster_identity,
                p.grandmaster_clock_quality.clock_class,
            ));
        }
    }

    /// The ladder's locked class: the grandmaster clockClass that counts as a primary
    /// reference.
    fn locked_class(&self) -> u8 {
        self.cfg.holdover.ladder.locked
    }

    /// After every `handle_*` call: detect the loss and the return of a master, and keep
    /// defaultDS.clockClass on the ladder (re-running the state decision when it changes).
    pub(super) fn master_check(&mut self, now: Instant) {
        self.last_now = self.last_now.max(now);
        // A class change can change the roles (and so whether there is a master), which can
        // change the class once more; three rounds cover lose → degrade → follow.
        for _ in 0..3 {
            let has = self
                .ports
                .iter()
                .any(|p| p.bmca.ds.port_state.is_slave_side());
            if (self.had_master && !has) || (has && self.reference_lost()) {
                self.master_lost(now);
            } else if has && self.in_holdover() && self.regain_qualifies() {
                self.holdover.on_master_regained();
                self.ladder_engaged = false;
                self.counters.holdover_exited += 1;
            }
            self.had_master = has;
            if !self.apply_clock_class(now) {
                break;
            }
        }
    }

    fn master_lost(&mut self, now: Instant) {
        let was = self.in_holdover();
        match self.holdover.on_master_lost(ns(now)) {
            Some(ppb) => {
                let _ = self.servo.enter_holdover();
                self.servo_state = ServoState::Unlocked;
                self.actions
                    .push_back(Action::AdjustClock(ClockAdjustment::Frequency { ppb }));
                if !was {
                    self.counters.holdover_entered += 1;
                    self.ladder_engaged = self.ladder_active()
                        && self
                            .locked_gm
                            .is_some_and(|(_, c)| c <= self.locked_class());
                }
            }
            None => self.counters.master_lost_unlocked += 1,
        }
    }

    /// With the ladder active and not in holdover: the reference-grade grandmaster the clock
    /// was locked to is gone and the BMCA already picked a lesser one (e.g. a standby that
    /// was itself following this clock). That is a loss too: in holdover this clock may
    /// still be the better grandmaster.
    fn reference_lost(&self) -> bool {
        let p = &self.clock.parent_ds;
        self.ladder_active()
            && !self.in_holdover()
            && self.locked_gm.is_some_and(|(id, c)| {
                c <= self.locked_class()
                    && p.grandmaster_identity != id
                    && p.grandmaster_clock_quality.clock_class > self.locked_class()
            })
    }

    /// Whether the master now followed ends holdover (see the module documentation).
    fn regain_qualifies(&self) -> bool {
        !self.ladder_engaged
            || self.clock.parent_ds.grandmaster_clock_quality.clock_class <= self.locked_class()
    }

    /// Puts defaultDS.clockClass where the ladder says; returns whether it changed (the state
    /// decision has then run again).
    fn apply_clock_class(&mut self, now: Instant) -> bool {
        if !self.ladder_active() {
            return false;
        }
        let st = self.holdover.status(ns(now));
        let class = match st.state {
            HoldoverState::Holdover { .. } if self.ladder_engaged => st.clock_class,
            _ => self.cfg.clock.clock_quality.clock_class,
        };
        if self.clock.default_ds.clock_quality.clock_class == class {
            return false;
        }
        self.clock.default_ds.clock_quality.clock_class = class;
        self.counters.clock_class_changes += 1;
        self.state_decision(now);
        true
    }
}
