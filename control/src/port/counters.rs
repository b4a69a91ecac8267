//! Per-port message counters: received and sent per message type, and one counter per reason a
//! received message was dropped ([`RejectReason`]). Every message a port ignores is counted
//! under exactly one reason, so "why is my slave not locking" has an answer in the metrics.
//!
//! Plain integers owned by the single-threaded core; the shell copies them out for management
//! (`PORT_STATS_NP`) and metrics.

use core::fmt;

use xptp_datapath::wire::MessageType;

/// Why a received message was dropped (each variant is a counter).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum RejectReason {
    /// The message does not parse (truncated, bad length, bad timestamp, bad TLV).
    Malformed,
    /// versionPTP is not 2 (IEEE 1588-2019 13.3.2.4).
    WrongVersion,
    /// domainNumber differs from defaultDS.domainNumber (7.1).
    WrongDomain,
    /// Sent by this clock (looped back by the network).
    OwnMessage,
    /// The port's state does not handle this message (e.g. Sync while MASTER,
    /// Delay_Req while SLAVE, anything while FAULTY).
    WrongState,
    /// Sync/Follow_Up/Delay_Resp from a port other than parentDS.parentPortIdentity (9.5.4).
    NotFromMaster,
    /// Sync with the same sequenceId as the last accepted one.
    DuplicateSequence,
    /// Sync with a sequenceId older than the last accepted one.
    OutOfOrderSequence,
    /// Follow_Up that matches no Sync (its Sync was lost, or the Follow_Up is a duplicate).
    FollowUpWithoutSync,
    /// Two-step Sync whose Follow_Up never arrived (counted when the next Sync replaces it).
    SyncWithoutFollowUp,
    /// Delay_Resp whose requestingPortIdentity is another port (normal on a shared segment).
    DelayRespNotForUs,
    /// Pdelay_Resp / Pdelay_Resp_Follow_Up for another requester.
    PdelayRespNotForUs,
    /// A response whose sequenceId matches no outstanding request (late, or duplicated).
    UnexpectedResponse,
    /// Delay_Req on a P2P port, Pdelay_Req on an E2E port (9.1: one mechanism per port).
    WrongDelayMechanism,
    /// Announce refused by the foreign master table: stepsRemoved at maxStepsRemoved (9.3.2.5 d).
    StepsRemovedTooLarge,
    /// Announce not newer than the last from its sender (9.3.2.5 b).
    AnnounceNotMostRecent,
    /// Foreign master table full.
    ForeignMasterTableFull,
    /// Announce whose PATH_TRACE already holds this clock's identity (16.2.2: a loop).
    PathTraceLoop,
    /// Announce without the IEEE C37.238 TLV, on a port whose profile requires it.
    MissingC37238Tlv,
    /// A computed path delay below -10 µs (`NEGATIVE_DELAY_TOLERANCE_NS`: clock steps during
    /// the exchange, broken timestamps); smaller negative samples are timestamp noise and used.
    NegativePathDelay,
    /// Signaling and Management: not handled by the port core (the management module takes
    /// Management messages before they reach it).
    NotHandled,
    /// Announce, Sync or Follow_Up on a grandmaster-block port: a would-be master where only
    /// this clock may lead (the sender is recorded as a rogue master).
    GrandmasterBlocked,
    /// Announce from a sender missing from the port's acceptable master table (17.6).
    NotAcceptableMaster,
    /// No AUTHENTICATION TLV on a port that requires one (16.14, `allow_unauth`).
    AuthMissing,
    /// AUTHENTICATION TLV whose ICV does not match (wrong key, altered message) or whose
    /// layout does not fit the security association.
    AuthBadIcv,
    /// AUTHENTICATION TLV naming an SPP or keyID the port has no key for.
    AuthUnknownKey,
    /// Correctly signed, but its sequenceId is not newer than the sender's last (a replay).
    AuthReplay,
}

impl RejectReason {
    /// Every reason, in counter order.
    pub const ALL: [RejectReason; 27] = [
        Self::Malformed,
        Self::WrongVersion,
        Self::WrongDomain,
        Self::OwnMessage,
        Self::WrongState,
        Self::NotFromMaster,
        Self::DuplicateSequence,
        Self::OutOfOrderSequence,
        Self::FollowUpWithoutSync,
        Self::SyncWithoutFollowUp,
        Self::DelayRespNotForUs,
        Self::PdelayRespNotForUs,
        Self::UnexpectedResponse,
        Self::WrongDelayMechanism,
        Self::StepsRemovedTooLarge,
        Self::AnnounceNotMostRecent,
        Self::ForeignMasterTableFull,
        Self::PathTraceLoop,
        Self::MissingC37238Tlv,
        Self::NegativePathDelay,
        Self::NotHandled,
        Self::GrandmasterBlocked,
        Self::NotAcceptableMaster,
        Self::AuthMissing,
        Self::AuthBadIcv,
        Self::AuthUnknownKey,
        Self::AuthReplay,
    ];

    /// A stable snake_case name for metrics labels.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::WrongVersion => "wrong_version",
            Self::WrongDomain => "wrong_domain",
            Self::OwnMessage => "own_message",
            Self::WrongState => "wrong_state",
            Self::NotFromMaster => "not_from_master",
            Self::DuplicateSequence => "duplicate_sequence",
            Self::OutOfOrderSequence => "out_of_order_sequence",
            Self::FollowUpWithoutSync => "follow_up_without_sync",
            Self::SyncWithoutFollowUp => "sync_without_follow_up",
            Self::DelayRespNotForUs => "delay_resp_not_for_us",
            Self::PdelayRespNotForUs => "pdelay_resp_not_for_us",
            Self::UnexpectedResponse => "unexpected_response",
            Self::WrongDelayMechanism => "wrong_delay_mechanism",
            Self::StepsRemovedTooLarge => "steps_removed_too_large",
            Self::AnnounceNotMostRecent => "announce_not_most_recent",
            Self::ForeignMasterTableFull => "foreign_master_table_full",
            Self::PathTraceLoop => "path_trace_loop",
            Self::MissingC37238Tlv => "missing_c37_238_tlv",
            Self::NegativePathDelay => "negative_path_delay",
            Self::NotHandled => "not_handled",
            Self::GrandmasterBlocked => "grandmaster_blocked",
            Self::NotAcceptableMaster => "not_acceptable_master",
            Self::AuthMissing => "auth_missing",
            Self::AuthBadIcv => "auth_bad_icv",
            Self::AuthUnknownKey => "auth_unknown_key",
            Self::AuthReplay => "auth_replay",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Counters of one port.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct PortCounters {
    rx: [u64; 16],
    tx: [u64; 16],
    rejected: [u64; RejectReason::ALL.len()],
    /// Two-step messages whose egress timestamp never came back within
    /// `tx_timestamp_timeout` (the Follow_Up / Pdelay_Resp_Follow_Up was skipped, or the
    /// delay exchange abandoned).
    pub tx_timestamp_timeout: u64,
    /// Delay_Req or Pdelay_Req exchanges that got no (complete) response before the next
    /// request.
    pub response_missing: u64,
    /// Messages the core could not build (a local time outside the PTP timestamp range).
    pub tx_build_error: u64,
    /// P2P link delays above neighborPropDelayThresh.
    pub link_delay_above_threshold: u64,
    /// E2E delay exchanges not turned into a meanPathDelay sample because the latest Sync
    /// had already given one (each Sync contributes at most one sample).
    pub delay_sync_reused: u64,
    /// Received messages whose AUTHENTICATION TLV verified (16.14).
    pub authenticated: u64,
    /// Received messages without the TLV accepted because of `allow_unauth`.
    pub unauthenticated_accepted: u64,
}

impl PortCounters {
    /// Messages received of `t` (accepted or not, once they parsed far enough to have a type).
    pub fn rx(&self, t: MessageType) -> u64 {
        self.rx.get(usize::from(t as u8)).copied().unwrap_or(0)
    }

    /// Messages sent of `t`.
    pub fn tx(&self, t: MessageType) -> u64 {
        self.tx.get(usize::from(t as u8)).copied().unwrap_or(0)
    }

    /// Messages dropped for `reason`.
    pub fn rejected(&self, reason: RejectReason) -> u64 {
        self.rejected.get(reason.index()).copied().unwrap_or(0)
    }

    /// Every reason with its count.
    pub fn rejections(&self) -> impl Iterator<Item = (RejectReason, u64)> + '_ {
        RejectReason::ALL.iter().map(|r| (*r, self.rejected(*r)))
    }

    /// Total of all rejection counters.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.iter().sum()
    }

    pub(crate) fn count_rx(&mut self, t: MessageType) {
        if let Some(c) = self.rx.get_mut(usize::from(t as u8)) {
            *c += 1;
        }
    }

    pub(crate) fn count_tx(&mut self, t: MessageType) {
        if let Some(c) = self.tx.get_mut(usize::from(t as u8)) {
            *c += 1;
        }
    }

    pub(crate) fn reject(&mut self, reason: RejectReason) {
        if let Some(c) = self.rejected.get_mut(reason.index()) {
            *c += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_indexed_in_order_and_named_uniquely() {
        for (i, r) in RejectReason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
        let mut names: Vec<_> = RejectReason::ALL.iter().map(|r| r.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), RejectReason::ALL.len());
        let mut c = PortCounters::default();
        c.reject(RejectReason::NotHandled);
        c.count_rx(MessageType::Management);
        c.count_tx(MessageType::Sync);
        assert_eq!(c.rejected(RejectReason::NotHandled), 1);
        assert_eq!(c.rejected_total(), 1);
        assert_eq!(c.rx(MessageType::Management), 1);
        assert_eq!(c.tx(MessageType::Sync), 1);
    }
}
