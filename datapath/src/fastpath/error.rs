//! The fast path's drop reasons: one small `Copy` enum, one counter per variant.
//!
//! Every frame the fast path declines ends as exactly one [`FastPathError`]; the engine counts it
//! in [`super::FastPathCounters::drops`] at [`FastPathError::index`]. Errors that mean "not for
//! me" ([`FastPathError::is_pass`]) send the frame to control instead of dropping it.

use crate::wire::WireError;

/// Why the fast path did not handle (or could not build a reply to) a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FastPathError {
    /// The frame's headers or PTP message did not parse.
    #[error("malformed frame: {0}")]
    Malformed(WireError),
    /// The message type is not one this function handles (caller bug or routing).
    #[error("message type not handled by this fast-path function")]
    WrongMessageType,
    /// domainNumber differs from the configured domain.
    #[error("domainNumber {0} is not the configured domain")]
    WrongDomain(u8),
    /// Delay_Req on a port that is not MASTER (control answers nothing there either).
    #[error("Delay_Req on a port that is not MASTER")]
    NotMaster,
    /// The port is not configured (no entry in the fast-path configuration).
    #[error("port {0} is not in the fast-path configuration")]
    UnknownPort(u16),
    /// The XDP metadata carried no ingress timestamp: the XDP program or kernel lacks
    /// bpf_ktime_get_tai_ns; without it no timestamp can be put in a reply.
    #[error("no XDP ingress timestamp (metadata missing)")]
    NoIngressTimestamp,
    /// A timestamp converted to the PTP timescale fell outside the 48-bit seconds range:
    /// check the timescale offset given by control.
    #[error("timestamp outside the PTP timestamp range (check the timescale offset)")]
    TimestampRange,
    /// The output buffer is too small for the reply.
    #[error("output buffer too small")]
    BufferTooSmall,
    /// correctionField would overflow.
    #[error("correctionField overflow")]
    CorrectionOverflow,
    /// A UDP reply needs our IP address on the port, and control has not configured one.
    #[error("no source IP address configured for the port")]
    NoSourceAddress,
    /// The worker's outgoing-frame batch was full.
    #[error("outgoing batch full")]
    OutboxFull,
    /// A bounded matching table (two-step Sync, E2E Delay_Req, in-flight TX) was full.
    #[error("matching table full")]
    TableFull,
    /// A Follow_Up without a matching forwarded Sync.
    #[error("Follow_Up without a matching Sync")]
    UnmatchedFollowUp,
    /// The transparent clock drops this message type in its mode (e.g. Delay_Req on a P2P TC).
    #[error("message type not forwarded in this transparent-clock mode")]
    NotForwarded,
    /// The frame came from one of our own ports (loop).
    #[error("frame sent by this clock (loop)")]
    OwnFrame,
    /// versionPTP is not 2 (IEEE 1588-2019 13.3.2.4): a PTPv1 or future-version message.
    #[error("unsupported versionPTP {0}")]
    UnsupportedVersion(u8),
    /// messageType is reserved (IEEE 1588-2019 13.3.2.2, Table 36).
    #[error("reserved messageType {0:#x}")]
    ReservedMessageType(u8),
    /// The port's token bucket for this message class was empty (flood protection).
    #[error("rate limited: port bucket empty")]
    RateLimitedPort,
    /// The requester's (sourcePortIdentity's) token bucket was empty (flood protection).
    #[error("rate limited: requester bucket empty")]
    RateLimitedRequester,
    /// The port requires authentication (IEEE 1588-2019 16.14) and the request carries no
    /// AUTHENTICATION TLV.
    #[error("authentication required: no AUTHENTICATION TLV")]
    AuthMissing,
    /// An SPP or keyID the port's security association does not hold.
    #[error("authentication: unknown SPP or keyID")]
    AuthUnknownKey,
    /// The ICV does not match (wrong key, altered frame) or the TLV is malformed.
    #[error("authentication: ICV check failed")]
    AuthBadIcv,
    /// A correctly signed request whose sequenceId is not fresh (16.14 / Annex P.2.2).
    #[error("authentication: replayed sequenceId")]
    AuthReplay,
    /// A Delay_Resp, Pdelay_Resp or Pdelay_Resp_Follow_Up whose requestingPortIdentity is not
    /// the receiving port (IEEE 1588-2019 11.3.2, 11.4.3): another requester's answer, which on
    /// a multicast segment every port sees. Dropped on the worker so that a flood of answers to
    /// others cannot fill the lane to control.
    #[error("response for another requester")]
    NotForUs,
}

impl FastPathError {
    /// Number of variants (size of the drop counter array).
    pub const COUNT: usize = 24;

    /// The counter index of this reason.
    pub const fn index(self) -> usize {
        match self {
            FastPathError::Malformed(_) => 0,
            FastPathError::WrongMessageType => 1,
            FastPathError::WrongDomain(_) => 2,
            FastPathError::NotMaster => 3,
            FastPathError::UnknownPort(_) => 4,
            FastPathError::NoIngressTimestamp => 5,
            FastPathError::TimestampRange => 6,
            FastPathError::BufferTooSmall => 7,
            FastPathError::CorrectionOverflow => 8,
            FastPathError::NoSourceAddress => 9,
            FastPathError::OutboxFull => 10,
            FastPathError::TableFull => 11,
            FastPathError::UnmatchedFollowUp => 12,
            FastPathError::NotForwarded => 13,
            FastPathError::OwnFrame => 14,
            FastPathError::UnsupportedVersion(_) => 15,
            FastPathError::ReservedMessageType(_) => 16,
            FastPathError::RateLimitedPort => 17,
            FastPathError::RateLimitedRequester => 18,
            FastPathError::AuthMissing => 19,
            FastPathError::AuthUnknownKey => 20,
            FastPathError::AuthBadIcv => 21,
            FastPathError::AuthReplay => 22,
            FastPathError::NotForUs => 23,
        }
    }

    /// One value of every reason, by [`Self::index`] (payloads zero): turns a counter index
    /// back into its reason.
    pub const ALL: [FastPathError; Self::COUNT] = [
        FastPathError::Malformed(crate::wire::WireError::UnsupportedVersion(0)),
        FastPathError::WrongMessageType,
        FastPathError::WrongDomain(0),
        FastPathError::NotMaster,
        FastPathError::UnknownPort(0),
        FastPathError::NoIngressTimestamp,
        FastPathError::TimestampRange,
        FastPathError::BufferTooSmall,
        FastPathError::CorrectionOverflow,
        FastPathError::NoSourceAddress,
        FastPathError::OutboxFull,
        FastPathError::TableFull,
        FastPathError::UnmatchedFollowUp,
        FastPathError::NotForwarded,
        FastPathError::OwnFrame,
        FastPathError::UnsupportedVersion(0),
        FastPathError::ReservedMessageType(0),
        FastPathError::RateLimitedPort,
        FastPathError::RateLimitedRequester,
        FastPathError::AuthMissing,
        FastPathError::AuthUnknownKey,
        FastPathError::AuthBadIcv,
        FastPathError::AuthReplay,
        FastPathError::NotForUs,
    ];

    /// Counter names, by [`Self::index`].
    pub const NAMES: [&'static str; Self::COUNT] = [
        "malformed",
        "wrong_message_type",
        "wrong_domain",
        "not_master",
        "unknown_port",
        "no_ingress_timestamp",
        "timestamp_range",
        "buffer_too_small",
        "correction_overflow",
        "no_source_address",
        "outbox_full",
        "table_full",
        "unmatched_follow_up",
        "not_forwarded",
        "own_frame",
        "unsupported_version",
        "reserved_message_type",
        "rate_limited_port",
        "rate_limited_requester",
        "auth_missing",
        "auth_unknown_key",
        "auth_bad_icv",
        "auth_replay",
        "not_for_us",
    ];

    /// Errors after which the frame goes up to control rather than being dropped: the fast
    /// path has no business with it, control may.
    pub const fn is_pass(self) -> bool {
        matches!(
            self,
            FastPathError::WrongMessageType
                | FastPathError::WrongDomain(_)
                | FastPathError::NotMaster
                | FastPathError::UnknownPort(_)
        )
    }
}

impl From<crate::wire::auth::AuthFailure> for FastPathError {
    fn from(e: crate::wire::auth::AuthFailure) -> Self {
        use crate::wire::auth::AuthFailure;
        match e {
            AuthFailure::Missing => FastPathError::AuthMissing,
            AuthFailure::UnknownKey { .. } => FastPathError::AuthUnknownKey,
            AuthFailure::BadIcv => FastPathError::AuthBadIcv,
        }
    }
}

impl From<WireError> for FastPathError {
    fn from(e: WireError) -> Self {
        match e {
            WireError::CorrectionOverflow => FastPathError::CorrectionOverflow,
            WireError::UnsupportedVersion(v) => FastPathError::UnsupportedVersion(v),
            WireError::UnknownMessageType(t) => FastPathError::ReservedMessageType(t),
            other => FastPathError::Malformed(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FastPathError;

    #[test]
    fn all_is_in_index_order_and_every_reason_has_a_distinct_name() {
        for (i, e) in FastPathError::ALL.iter().enumerate() {
            assert_eq!(e.index(), i, "{e:?}");
        }
        let mut names = FastPathError::NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FastPathError::COUNT);
    }
}
