//! Alarms and rogue masters in `xptp run`: drains the core's alarm queue
//! ([`PtpInstance::poll_alarm`]) after every call into it, logs each alarm as a warning
//! (`port 2: rogue_master: ...`), and keeps the latest [`RECENT_ALARMS`] for status.
//!
//! For the status / metrics code: [`AlarmLog::snapshot`] returns a [`SecuritySnapshot`], an
//! owned copy (alarms newest last, the rogue-master table, the alarm counters by kind) that
//! can be rendered or exported without holding the instance. Alarm times are the control
//! loop's monotonic [`Instant`]s; `SecuritySnapshot::now` is the same clock at snapshot time,
//! so `now - at` is an alarm's age.
//!
//! This module decides nothing: which frames are rogue and when an alarm is raised is the
//! core's business ([`crate::security`]).

use std::collections::VecDeque;

use crate::ptp::PtpInstance;
#[cfg(test)]
use crate::security::AlarmKind;
use crate::security::{Alarm, RogueMaster};
use crate::time::Instant;

/// Alarms kept for status.
pub const RECENT_ALARMS: usize = 32;

/// The alarm counters of the instance, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AlarmCounts {
    pub rogue_master: u64,
    pub grandmaster_changed: u64,
    pub time_jump: u64,
    /// Alarms the core dropped because its queue was full.
    pub dropped: u64,
}

/// What status and metrics show about security: see the module documentation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecuritySnapshot {
    /// The control loop's clock when the snapshot was taken.
    pub now: Instant,
    /// The latest alarms, oldest first (at most [`RECENT_ALARMS`]).
    pub recent_alarms: Vec<Alarm>,
    /// Senders blocked on `grandmaster_block` ports, with identity, address and counts.
    pub rogue_masters: Vec<RogueMaster>,
    /// Rogue-master entries evicted from the bounded table.
    pub rogue_masters_evicted: u64,
    /// Alarms raised since start, by kind.
    pub counts: AlarmCounts,
}

/// The shell's alarm log.
#[derive(Debug, Default)]
pub struct AlarmLog {
    recent: VecDeque<Alarm>,
}

impl AlarmLog {
    /// Takes every pending alarm from `inst`, logs it and remembers it. Returns how many.
    pub fn drain(&mut self, inst: &mut PtpInstance) -> usize {
        let mut n = 0;
        while let Some(a) = inst.poll_alarm() {
            n += 1;
            tracing::warn!(alarm = a.kind.name(), port = a.port, "{a}");
            self.remember(a);
        }
        n
    }

    fn remember(&mut self, a: Alarm) {
        if self.recent.len() >= RECENT_ALARMS {
            self.recent.pop_front();
        }
        self.recent.push_back(a);
    }

    /// The latest alarms, oldest first.
    pub fn recent(&self) -> impl Iterator<Item = &Alarm> {
        self.recent.iter()
    }

    /// An owned view for status and metrics.
    pub fn snapshot(&self, inst: &PtpInstance, now: Instant) -> SecuritySnapshot {
        let c = inst.instance_counters();
        SecuritySnapshot {
            now,
            recent_alarms: self.recent.iter().cloned().collect(),
            rogue_masters: inst.rogue_masters().to_vec(),
            rogue_masters_evicted: inst.rogue_masters_evicted(),
            counts: AlarmCounts {
                rogue_master: c.alarms_rogue_master,
                grandmaster_changed: c.alarms_grandmaster_changed,
                time_jump: c.alarms_time_jump,
                dropped: c.alarms_dropped,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_latest_alarms() {
        let mut log = AlarmLog::default();
        for i in 0..(RECENT_ALARMS + 5) {
            log.remember(Alarm {
                at: Instant::from_nanos(i as u64),
                kind: AlarmKind::TimeJump,
                port: None,
                detail: format!("{i}"),
            });
        }
        let r: Vec<_> = log.recent().collect();
        assert_eq!(r.len(), RECENT_ALARMS);
        assert_eq!(r.first().map(|a| a.detail.as_str()), Some("5"));
    }
}
