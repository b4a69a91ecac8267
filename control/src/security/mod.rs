//! Who may steer time: PTP authentication and rogue-master protection for the sans-IO core.
//!
//! - [`sa_file`]: the security association database in linuxptp 4.x's `sa_file` format
//!   (pre-shared HMAC-SHA256 keys, Annex P "prong A").
//! - [`auth`]: the AUTHENTICATION TLV (IEEE 1588-2019 16.14) with immediate security
//!   processing: signing outgoing messages and verifying received ones.
//! - [`replay`]: sequenceId anti-replay windows per sender and message type.
//! - [`reload`]: whether a re-read sa_file (SIGHUP) may replace the keys in force, and what
//!   changed.
//! - [`rogue`]: the grandmaster-block records (who tried to lead where) and the alarms the
//!   instance raises (rogue master, grandmaster change, time jump).
//!
//! This module owns the per-port settings ([`PortSecurity`]) and the pure mechanisms; the
//! decisions about received messages are taken in [`crate::ptp`]. Nothing here reads a
//! clock, a socket or a file except [`sa_file::SecurityAssociations::load`].

pub mod auth;
pub mod reload;
pub mod replay;
pub mod rogue;
pub mod sa_file;

use core::fmt;
use core::str::FromStr;

use xptp_datapath::wire::{ClockIdentity, PortIdentity};

pub use auth::AuthFailure;
pub use rogue::{Alarm, AlarmKind, RogueMaster, SourceAddress, ROGUE_CAPACITY};
pub use sa_file::{IcvAlgorithm, SaKey, SecurityAssociation, SecurityAssociations};

/// linuxptp 4.x `allow_unauth`: which received messages may come without an AUTHENTICATION
/// TLV on a port with an `spp`. A message that carries the TLV is verified in every mode;
/// a bad ICV is always dropped.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum AllowUnauth {
    /// `0`: every message must be authenticated.
    #[default]
    None,
    /// `1`: event messages (Sync, Delay_Req, Pdelay_Req, Pdelay_Resp) may come without the
    /// TLV — for peers whose one-step hardware rewrites event messages after signing.
    Event,
    /// `2`: any message may come without the TLV (migration: peers not yet keyed).
    All,
}

impl AllowUnauth {
    pub fn from_level(v: i64) -> Self {
        match v {
            1 => Self::Event,
            2 => Self::All,
            _ => Self::None,
        }
    }

    pub const fn level(self) -> u8 {
        match self {
            Self::None => 0,
            Self::Event => 1,
            Self::All => 2,
        }
    }
}

/// An entry of the acceptable master table (IEEE 1588-2019 17.6.3): a sender that a port
/// may qualify as foreign master, and optionally the priority1 its Announces are compared
/// with instead of their own (alternatePriority1, 17.6.4; 0 keeps the announced value).
///
/// Configuration form (xptp's, ptp4l has no such table): `CLOCKID[-PORT][:ALTPRIO1]`, e.g.
/// `001122.fffe.334455`, `001122.fffe.334455-1`, `001122.fffe.334455-1:64`. Without a port
/// number every port of that clock is acceptable.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct AcceptableMaster {
    pub clock_identity: ClockIdentity,
    pub port_number: Option<u16>,
    pub alternate_priority1: u8,
}

impl AcceptableMaster {
    /// Whether `sender` matches this entry.
    pub fn matches(&self, sender: PortIdentity) -> bool {
        sender.clock_identity == self.clock_identity
            && self.port_number.is_none_or(|p| p == sender.port_number)
    }
}

impl fmt::Display for AcceptableMaster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.clock_identity)?;
        if let Some(p) = self.port_number {
            write!(f, "-{p}")?;
        }
        if self.alternate_priority1 != 0 {
            write!(f, ":{}", self.alternate_priority1)?;
        }
        Ok(())
    }
}

/// Why an acceptable-master entry does not parse.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("'{0}' is not CLOCKID[-PORT][:ALTPRIO1] (e.g. 001122.fffe.334455-1:64)")]
pub struct BadAcceptableMaster(pub String);

impl FromStr for AcceptableMaster {
    type Err = BadAcceptableMaster;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadAcceptableMaster(s.to_owned());
        let (rest, alt) = match s.split_once(':') {
            Some((r, a)) => (r, a.parse::<u8>().map_err(|_| bad())?),
            None => (s, 0),
        };
        let (id, port) = match rest.split_once('-') {
            Some((i, p)) => (i, Some(p.parse::<u16>().map_err(|_| bad())?)),
            None => (rest, None),
        };
        let hex: String = id.chars().filter(|c| *c != '.').collect();
        if hex.len() != 16 || id.len() != 18 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let mut b = [0u8; 8];
        for (i, o) in b.iter_mut().enumerate() {
            *o = hex
                .get(2 * i..2 * i + 2)
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(bad)?;
        }
        Ok(AcceptableMaster {
            clock_identity: ClockIdentity(b),
            port_number: port,
            alternate_priority1: alt,
        })
    }
}

/// Parses a whitespace- or comma-separated list of acceptable masters.
pub fn parse_acceptable_masters(s: &str) -> Result<Vec<AcceptableMaster>, BadAcceptableMaster> {
    s.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .map(str::parse)
        .collect()
}

/// Security settings of one port.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct PortSecurity {
    /// linuxptp `spp` (-1 = none): sign outgoing messages and verify received ones with the
    /// security association of this SPP.
    pub spp: Option<u8>,
    /// linuxptp `active_key_id`: the key outgoing messages are signed with.
    pub active_key_id: u32,
    /// linuxptp `allow_unauth`.
    pub allow_unauth: AllowUnauth,
    /// xptp `grandmaster_block`: drop and report every Announce, Sync and Follow_Up received
    /// on this port (a port that must only lead), recording the sender as a rogue master.
    pub grandmaster_block: bool,
    /// xptp `acceptable_master_table` (IEEE 1588-2019 17.6): when not empty, Announces from
    /// other senders are not qualified on this port.
    pub acceptable_masters: Vec<AcceptableMaster>,
}

/// Instance-wide alarm settings.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AlarmConfig {
    /// xptp `time_jump_threshold` (ns, 0 = off): after the servo has locked, an
    /// |offsetFromMaster| above this raises [`AlarmKind::TimeJump`] (once, until the offset
    /// falls below half the threshold). A servo step after lock always raises it.
    pub time_jump_threshold_ns: u64,
}

impl Default for AlarmConfig {
    fn default() -> Self {
        AlarmConfig {
            time_jump_threshold_ns: 100_000,
        }
    }
}

/// The fast path's copy of a port's security settings: the association `sec.spp` points at
/// in `db`, its keys (the active one first; at most
/// [`xptp_datapath::fastpath::MAX_AUTH_KEYS`]) and the port's `allow_unauth`, so that the
/// datapath worker verifies Delay_Req / Pdelay_Req and signs its Delay_Resp / Pdelay_Resp /
/// Pdelay_Resp_Follow_Up like control signs everything else (IEEE 1588-2019 16.14). `None`
/// when the port does not authenticate (or its SPP is not in `db`, which the configuration
/// check already refused).
pub fn fast_path_auth(
    sec: &PortSecurity,
    db: Option<&SecurityAssociations>,
) -> Option<xptp_datapath::fastpath::PortAuth> {
    use xptp_datapath::fastpath::{AuthKey, PortAuth};
    let sa = db?.get(sec.spp?)?;
    let keys: Vec<AuthKey> = sa
        .keys
        .iter()
        .map(|k| AuthKey::new(k.key_id, k.algorithm.icv_len(), k.secret()))
        .collect();
    let mut a = PortAuth::new(sa.spp, sec.active_key_id, &keys);
    a.allow_unauth_event = sec.allow_unauth != AllowUnauth::None;
    a.allow_mutable = sa.allow_mutable;
    a.seqid_window = sa.seqid_window;
    Some(a)
}

#[cfg(test)]
mod tests;
