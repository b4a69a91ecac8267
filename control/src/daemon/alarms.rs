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

use std::collections::{BTreeMap, VecDeque};

use crate::ptp::PtpInstance;
#[cfg(test)]
use crate::security::AlarmKind;
use crate::security::{Alarm, RogueMaster};
use crate::status::{AlarmStatus, RogueMasterStatus, SecurityStatus};
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

impl SecuritySnapshot {
    /// Seconds from `at` to the snapshot.
    fn ago_s(&self, at: Instant) -> f64 {
        self.now.as_nanos().saturating_sub(at.as_nanos()) as f64 * 1e-9
    }

    /// The status document's `security` section; `interface` names a port.
    pub fn to_status(&self, interface: impl Fn(u16) -> String) -> SecurityStatus {
        let rogue_masters = self
            .rogue_masters
            .iter()
            .map(|r| RogueMasterStatus {
                port: r.port,
                interface: interface(r.port),
                identity: r.source.to_string(),
                address: r.address.map(|a| a.to_string()),
                grandmaster_identity: r.grandmaster.map(|g| g.to_string()),
                priority1: r.priority1,
                frames: [
                    ("Announce", r.announces),
                    ("Sync", r.syncs),
                    ("Follow_Up", r.follow_ups),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
                total: r.total(),
                first_seen_ago_s: self.ago_s(r.first_seen),
                last_seen_ago_s: self.ago_s(r.last_seen),
            })
            .collect();
        let c = self.counts;
        let alarm_counts: BTreeMap<String, u64> = [
            ("rogue_master", c.rogue_master),
            ("grandmaster_changed", c.grandmaster_changed),
            ("time_jump", c.time_jump),
            ("dropped", c.dropped),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        SecurityStatus {
            rogue_masters,
            rogue_masters_evicted: self.rogue_masters_evicted,
            alarm_counts,
            recent_alarms: self
                .recent_alarms
                .iter()
                .map(|a| AlarmStatus {
                    kind: a.kind.name().to_owned(),
                    port: a.port,
                    detail: a.detail.clone(),
                    ago_s: self.ago_s(a.at),
                })
                .collect(),
        }
    }

    /// One line per rogue master for the status document's list of conditions to look at.
    pub fn alarm_lines(&self) -> Vec<String> {
        self.rogue_masters
            .iter()
            .map(|r| {
                format!(
                    "rogue master {} on port {} (from {}): {} frames dropped by grandmaster_block",
                    r.source,
                    r.port,
                    r.address
                        .map(|a| a.to_string())
                        .unwrap_or_else(|| "an unknown address".into()),
                    r.total()
                )
            })
            .collect()
    }
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
    fn snapshot_renders_rogues_and_alarms_for_status() {
        use crate::security::SourceAddress;
        use xptp_datapath::wire::{ClockIdentity, PortIdentity};
        let rogue = ClockIdentity([0x02, 0, 0, 0xff, 0xfe, 0, 0, 0x50]);
        let s = SecuritySnapshot {
            now: Instant::from_nanos(10_000_000_000),
            recent_alarms: vec![Alarm {
                at: Instant::from_nanos(9_000_000_000),
                kind: AlarmKind::RogueMaster,
                port: Some(2),
                detail: "x".into(),
            }],
            rogue_masters: vec![RogueMaster {
                port: 2,
                source: PortIdentity::new(rogue, 1),
                grandmaster: Some(rogue),
                priority1: Some(50),
                address: Some(SourceAddress::Mac([2, 0, 0, 0, 0, 0x50])),
                first_seen: Instant::from_nanos(4_000_000_000),
                last_seen: Instant::from_nanos(9_500_000_000),
                announces: 3,
                syncs: 5,
                follow_ups: 5,
            }],
            rogue_masters_evicted: 1,
            counts: AlarmCounts {
                rogue_master: 1,
                ..AlarmCounts::default()
            },
        };
        let st = s.to_status(|p| format!("eth{}", p - 1));
        let r = &st.rogue_masters[0];
        assert_eq!(r.interface, "eth1");
        assert_eq!(r.identity, "020000.fffe.000050-1");
        assert_eq!(r.address.as_deref(), Some("02:00:00:00:00:50"));
        assert_eq!((r.total, r.frames["Sync"], r.priority1), (13, 5, Some(50)));
        assert!((r.first_seen_ago_s - 6.0).abs() < 1e-9 && (r.last_seen_ago_s - 0.5).abs() < 1e-9);
        assert_eq!(st.alarm_counts["rogue_master"], 1);
        assert_eq!(st.recent_alarms[0].kind, "rogue_master");
        assert!((st.recent_alarms[0].ago_s - 1.0).abs() < 1e-9);
        let l = s.alarm_lines();
        assert_eq!(
            l,
            ["rogue master 020000.fffe.000050-1 on port 2 (from 02:00:00:00:00:50): 13 frames dropped by grandmaster_block"]
        );
    }

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
