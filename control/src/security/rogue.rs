//! Rogue-master records and alarms: what a "grandmaster block" port saw (who tried to lead
//! on a port that must only lead, from where, how often), and the alarms the instance raises
//! for the shell to log and export (a rogue master, a grandmaster change, a time jump).
//!
//! The rogue table is bounded: when full, the entry seen least recently makes room and the
//! eviction is counted, so a flood of forged identities costs a fixed amount of memory.

use core::fmt;
use std::net::IpAddr;

use xptp_datapath::wire::{ClockIdentity, MessageType, PortIdentity};

use crate::time::Instant;

/// Rogue masters remembered per instance.
pub const ROGUE_CAPACITY: usize = 32;

/// Where a frame came from, as the shell saw it (the core never sees link-layer framing).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum SourceAddress {
    /// Ethernet source address (Annex E, or the frame under UDP).
    Mac([u8; 6]),
    /// IPv4/IPv6 source address (Annexes C, D).
    Ip(IpAddr),
}

impl fmt::Display for SourceAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceAddress::Mac(m) => write!(
                f,
                "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                m[0], m[1], m[2], m[3], m[4], m[5]
            ),
            SourceAddress::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// A sender that tried to act as master on a grandmaster-block port.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RogueMaster {
    /// The port (1-based) it was seen on.
    pub port: u16,
    /// Its sourcePortIdentity.
    pub source: PortIdentity,
    /// grandmasterIdentity and grandmasterPriority1 of its latest Announce, if it sent one.
    pub grandmaster: Option<ClockIdentity>,
    pub priority1: Option<u8>,
    /// Its latest source address, when the shell provided one.
    pub address: Option<SourceAddress>,
    pub first_seen: Instant,
    pub last_seen: Instant,
    /// Frames dropped: Announce, Sync, Follow_Up.
    pub announces: u64,
    pub syncs: u64,
    pub follow_ups: u64,
}

impl RogueMaster {
    /// All frames dropped from this sender.
    pub fn total(&self) -> u64 {
        self.announces + self.syncs + self.follow_ups
    }
}

/// The instance's rogue-master table.
#[derive(Clone, Debug, Default)]
pub struct RogueTable {
    entries: Vec<RogueMaster>,
    /// Entries pushed out by newer rogues.
    pub evicted: u64,
}

/// One blocked frame.
#[derive(Clone, Copy, Debug)]
pub struct BlockedFrame {
    pub port: u16,
    pub source: PortIdentity,
    pub mtype: MessageType,
    /// From an Announce: (grandmasterIdentity, grandmasterPriority1).
    pub announce: Option<(ClockIdentity, u8)>,
    pub address: Option<SourceAddress>,
}

impl RogueTable {
    /// Records a blocked frame; returns the updated entry and whether the sender is new.
    pub fn note(&mut self, now: Instant, f: BlockedFrame) -> Option<(&RogueMaster, bool)> {
        let pos = self
            .entries
            .iter()
            .position(|r| r.port == f.port && r.source == f.source);
        let (idx, new) = match pos {
            Some(i) => (i, false),
            None => {
                if self.entries.len() >= ROGUE_CAPACITY {
                    if let Some(i) = self
                        .entries
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, r)| r.last_seen)
                        .map(|(i, _)| i)
                    {
                        self.entries.remove(i);
                        self.evicted += 1;
                    }
                }
                self.entries.push(RogueMaster {
                    port: f.port,
                    source: f.source,
                    grandmaster: None,
                    priority1: None,
                    address: None,
                    first_seen: now,
                    last_seen: now,
                    announces: 0,
                    syncs: 0,
                    follow_ups: 0,
                });
                (self.entries.len() - 1, true)
            }
        };
        let r = self.entries.get_mut(idx)?;
        r.last_seen = now;
        if f.address.is_some() {
            r.address = f.address;
        }
        match f.mtype {
            MessageType::Announce => r.announces += 1,
            MessageType::Sync => r.syncs += 1,
            _ => r.follow_ups += 1,
        }
        if let Some((gm, p1)) = f.announce {
            r.grandmaster = Some(gm);
            r.priority1 = Some(p1);
        }
        Some((r, new))
    }

    /// Every remembered rogue, oldest first.
    pub fn entries(&self) -> &[RogueMaster] {
        &self.entries
    }
}

/// What an alarm is about.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum AlarmKind {
    /// A sender tried to lead on a grandmaster-block port (raised once per new sender).
    RogueMaster,
    /// parentDS.grandmasterIdentity changed after a grandmaster had been selected.
    GrandmasterChanged,
    /// After lock, the servo stepped the clock or |offsetFromMaster| rose above the
    /// configured threshold (raised once per excursion).
    TimeJump,
}

impl AlarmKind {
    /// A stable snake_case name for logs and metrics labels.
    pub const fn name(self) -> &'static str {
        match self {
            AlarmKind::RogueMaster => "rogue_master",
            AlarmKind::GrandmasterChanged => "grandmaster_changed",
            AlarmKind::TimeJump => "time_jump",
        }
    }
}

/// An alarm for the shell (log at warning level, export as an event and a counter).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Alarm {
    pub at: Instant,
    pub kind: AlarmKind,
    /// The port concerned, if one.
    pub port: Option<u16>,
    /// A one-line description.
    pub detail: String,
}

impl fmt::Display for Alarm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(p) => write!(f, "port {p}: {}: {}", self.kind.name(), self.detail),
            None => write!(f, "{}: {}", self.kind.name(), self.detail),
        }
    }
}
