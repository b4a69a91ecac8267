//! The instance's protections against whoever should not steer time: the grandmaster block
//! (drop and report would-be masters on a port that must only lead), authentication of
//! received messages (IEEE 1588-2019 16.14: ICV, then sequenceId replay window), the
//! acceptable master table (17.6), and the alarms on a grandmaster change or a time jump.

use xptp_datapath::wire::{ClockIdentity, HeaderRepr, MessageRepr, MessageType, PortIdentity};

use crate::port::counters::RejectReason;
use crate::security::auth::{self, AuthFailure};
use crate::security::rogue::BlockedFrame;
use crate::security::{AcceptableMaster, Alarm, AlarmKind, AllowUnauth, SourceAddress};
use crate::servo::ServoState;
use crate::time::Instant;

use super::PtpInstance;

/// Alarms kept for the shell before the oldest are dropped.
pub(super) const ALARM_QUEUE: usize = 256;

/// How long the offset must stay below half the threshold before a new time jump can raise
/// another alarm (a servo overshooting after a jump is the same excursion).
const JUMP_CALM: core::time::Duration = core::time::Duration::from_secs(10);

/// What the alarm detectors remember.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct GuardState {
    /// parentDS.grandmasterIdentity at the last state decision.
    last_gm: Option<ClockIdentity>,
    /// The last grandmaster other than this clock that was selected.
    last_remote_gm: Option<ClockIdentity>,
    /// The servo has been locked at some point (steps before that are the initial
    /// acquisition, not jumps).
    locked_once: bool,
    /// A time-jump excursion is in progress: when the offset was last above half the
    /// threshold (or the clock stepped).
    excursion: Option<Instant>,
}

impl PtpInstance {
    pub(super) fn raise(
        &mut self,
        now: Instant,
        kind: AlarmKind,
        port: Option<u16>,
        detail: String,
    ) {
        let c = &mut self.counters;
        match kind {
            AlarmKind::RogueMaster => c.alarms_rogue_master += 1,
            AlarmKind::GrandmasterChanged => c.alarms_grandmaster_changed += 1,
            AlarmKind::TimeJump => c.alarms_time_jump += 1,
        }
        if self.alarms.len() >= ALARM_QUEUE {
            self.alarms.pop_front();
            self.counters.alarms_dropped += 1;
        }
        self.alarms.push_back(Alarm {
            at: now,
            kind,
            port,
            detail,
        });
    }

    /// Grandmaster block: on a port configured with `grandmaster_block`, Announce, Sync and
    /// Follow_Up are dropped and their sender recorded (a new sender raises an alarm).
    /// Returns true when the message was blocked.
    pub(super) fn block_rogue(
        &mut self,
        now: Instant,
        idx: usize,
        msg: &MessageRepr,
        source: Option<SourceAddress>,
    ) -> bool {
        let mtype = msg.message_type();
        let Some(p) = self.ports.get_mut(idx) else {
            return false;
        };
        if !p.bmca.config.security.grandmaster_block
            || !matches!(
                mtype,
                MessageType::Announce | MessageType::Sync | MessageType::FollowUp
            )
        {
            return false;
        }
        p.counters.reject(RejectReason::GrandmasterBlocked);
        let port = p.number();
        let announce = match &msg.body {
            xptp_datapath::wire::Body::Announce(a) => {
                Some((a.grandmaster_identity, a.grandmaster_priority1))
            }
            _ => None,
        };
        let frame = BlockedFrame {
            port,
            source: msg.header.source_port_identity,
            mtype,
            announce,
            address: source,
        };
        let Some((r, new)) = self.rogues.note(now, frame) else {
            return true;
        };
        if new {
            let mut detail = format!("blocked would-be master {}", r.source);
            if let (Some(gm), Some(p1)) = (r.grandmaster, r.priority1) {
                detail.push_str(&format!(" (grandmaster {gm}, priority1 {p1})"));
            }
            if let Some(a) = r.address {
                detail.push_str(&format!(" from {a}"));
            }
            self.raise(now, AlarmKind::RogueMaster, Some(port), detail);
        }
        true
    }

    /// IEEE 1588-2019 16.14 on a port with an `spp`: the AUTHENTICATION TLV must be present
    /// (unless `allow_unauth` admits this message without it) and verify, and a verified
    /// message must be fresh (replay window). Returns true when the message may be processed.
    pub(super) fn authenticate(
        &mut self,
        now: Instant,
        idx: usize,
        bytes: &[u8],
        h: &HeaderRepr,
        mtype: MessageType,
    ) -> bool {
        let Some(p) = self.ports.get_mut(idx) else {
            return false;
        };
        let sec = &p.bmca.config.security;
        if sec.spp.is_none() {
            return true;
        }
        if auth::find_auth_tlv(bytes, mtype).is_none() {
            let allowed = match sec.allow_unauth {
                AllowUnauth::None => false,
                AllowUnauth::Event => mtype.is_event(),
                AllowUnauth::All => true,
            };
            if allowed {
                p.counters.unauthenticated_accepted += 1;
            } else {
                p.counters.reject(RejectReason::AuthMissing);
            }
            return allowed;
        }
        let Some(sa) = p.sa.as_ref() else {
            p.counters.reject(RejectReason::AuthUnknownKey);
            return false;
        };
        match auth::verify(bytes, mtype, sa) {
            Ok(_) => {}
            Err(e) => {
                p.counters.reject(match e {
                    AuthFailure::Missing => RejectReason::AuthMissing,
                    AuthFailure::UnknownKey { .. } => RejectReason::AuthUnknownKey,
                    AuthFailure::BadIcv => RejectReason::AuthBadIcv,
                });
                return false;
            }
        }
        let window = sa.seqid_window;
        if !p.replay.accept(
            now,
            h.source_port_identity,
            mtype,
            h.sequence_id,
            h.log_message_interval,
            window,
        ) {
            p.counters.reject(RejectReason::AuthReplay);
            return false;
        }
        p.counters.authenticated += 1;
        true
    }

    /// IEEE 1588-2019 17.6: the acceptable master table entry `sender` matches on port `idx`.
    /// `Ok(None)`: the port has no table (everyone is acceptable); `Err(())`: not acceptable.
    pub(super) fn acceptable_master(
        &self,
        idx: usize,
        sender: PortIdentity,
    ) -> Result<Option<AcceptableMaster>, ()> {
        let Some(p) = self.ports.get(idx) else {
            return Err(());
        };
        let table = &p.bmca.config.security.acceptable_masters;
        if table.is_empty() {
            return Ok(None);
        }
        table
            .iter()
            .find(|e| e.matches(sender))
            .copied()
            .map(Some)
            .ok_or(())
    }

    /// After a state decision: selecting a grandmaster other than this clock that differs from
    /// the one selected before raises [`AlarmKind::GrandmasterChanged`] (once per change, even
    /// when the clock was briefly its own grandmaster in between; the first selection is no
    /// change).
    pub(super) fn watch_grandmaster(&mut self, now: Instant) {
        let gm = self.clock.parent_ds.grandmaster_identity;
        let own = self.clock.default_ds.clock_identity;
        let prev = self.guard.last_gm.replace(gm);
        if prev == Some(gm) || gm == own {
            return;
        }
        if let Some(old) = self.guard.last_remote_gm.filter(|o| *o != gm) {
            let detail = format!("grandmaster changed from {old} to {gm}");
            self.raise(now, AlarmKind::GrandmasterChanged, None, detail);
        }
        self.guard.last_remote_gm = Some(gm);
    }

    /// After a servo sample: a step once the servo had locked, or an |offset| above the
    /// threshold, raises [`AlarmKind::TimeJump`] once per excursion.
    pub(super) fn watch_time(
        &mut self,
        now: Instant,
        port: u16,
        offset_ns: i64,
        step_ns: Option<i64>,
        state: ServoState,
    ) {
        let threshold = self.cfg.alarms.time_jump_threshold_ns;
        let mag = offset_ns.unsigned_abs();
        let above = step_ns.is_some() || (threshold > 0 && mag > threshold);
        if let Some(since) = self.guard.excursion {
            // The same excursion until the offset has been calm for JUMP_CALM.
            if above || (threshold > 0 && mag > threshold / 2) {
                self.guard.excursion = Some(now);
            } else if now.saturating_duration_since(since) >= JUMP_CALM {
                self.guard.excursion = None;
            }
        } else if self.guard.locked_once && above {
            let detail = match step_ns {
                Some(s) => format!("clock stepped by {s} ns (offset from master {offset_ns} ns)"),
                None => format!(
                    "offset from master {offset_ns} ns exceeds the {threshold} ns threshold"
                ),
            };
            self.guard.excursion = Some(now);
            self.raise(now, AlarmKind::TimeJump, Some(port), detail);
        }
        if state == ServoState::Locked {
            self.guard.locked_once = true;
        }
    }
}
