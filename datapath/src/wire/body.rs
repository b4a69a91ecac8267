//! Message bodies (IEEE 1588-2019 13.5–13.12): the fixed fields between the common header and
//! the TLV suffix, as owned values.
//!
//! [`Body::parse`] reads the fixed part of a message whose length the caller has checked against
//! [`MessageType::fixed_len`]; [`Body::emit`] writes it. Reserved octets are emitted as zero.

use super::bytes::{arr, put, put_u16, put_u8, u16_at, u8_at};
use super::error::WireError;
use super::header::{MessageType, HEADER_LEN};
use super::types::{ClockIdentity, ClockQuality, PortIdentity, Timestamp};

/// Reads a Timestamp at `off`, naming the field on a bad nanoseconds value.
pub(crate) fn timestamp_at(
    buf: &[u8],
    off: usize,
    what: &'static str,
) -> Result<Timestamp, WireError> {
    match Timestamp::from_slice(&arr::<10>(buf, off)) {
        Some(Ok(t)) => Ok(t),
        Some(Err(_)) | None => Err(WireError::BadNanoseconds {
            what,
            value: super::bytes::u32_at(buf, off + 6),
        }),
    }
}

pub(crate) fn port_identity_at(buf: &[u8], off: usize) -> PortIdentity {
    PortIdentity::from_slice(&arr::<10>(buf, off)).unwrap_or_default()
}

/// IEEE 1588-2019 13.5.1, Table 43: the Announce body.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AnnounceBody {
    pub origin_timestamp: Timestamp,
    pub current_utc_offset: i16,
    pub grandmaster_priority1: u8,
    pub grandmaster_clock_quality: ClockQuality,
    pub grandmaster_priority2: u8,
    pub grandmaster_identity: ClockIdentity,
    pub steps_removed: u16,
    /// IEEE 1588-2019 7.6.2.8, Table 6.
    pub time_source: u8,
}

/// IEEE 1588-2019 15.4.1.6, Table 57: actionField.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[repr(u8)]
pub enum ManagementAction {
    Get = 0,
    Set = 1,
    Response = 2,
    Command = 3,
    Acknowledge = 4,
}

impl ManagementAction {
    pub fn from_u8(v: u8) -> Result<Self, WireError> {
        Ok(match v {
            0 => ManagementAction::Get,
            1 => ManagementAction::Set,
            2 => ManagementAction::Response,
            3 => ManagementAction::Command,
            4 => ManagementAction::Acknowledge,
            other => return Err(WireError::BadManagementAction(other)),
        })
    }

    /// The standard's name, e.g. `GET`.
    pub const fn name(self) -> &'static str {
        match self {
            ManagementAction::Get => "GET",
            ManagementAction::Set => "SET",
            ManagementAction::Response => "RESPONSE",
            ManagementAction::Command => "COMMAND",
            ManagementAction::Acknowledge => "ACKNOWLEDGE",
        }
    }
}

/// IEEE 1588-2019 15.4.1, Table 56: the Management body (the management TLV follows in the
/// suffix).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ManagementBody {
    pub target_port_identity: PortIdentity,
    pub starting_boundary_hops: u8,
    pub boundary_hops: u8,
    pub action: ManagementAction,
}

/// The fixed body of each message type.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Body {
    /// IEEE 1588-2019 13.6, Table 44.
    Sync { origin_timestamp: Timestamp },
    /// IEEE 1588-2019 13.6, Table 44.
    DelayReq { origin_timestamp: Timestamp },
    /// IEEE 1588-2019 13.9, Table 47 (10 reserved octets follow the timestamp).
    PdelayReq { origin_timestamp: Timestamp },
    /// IEEE 1588-2019 13.10, Table 48.
    PdelayResp {
        request_receipt_timestamp: Timestamp,
        requesting_port_identity: PortIdentity,
    },
    /// IEEE 1588-2019 13.7, Table 45.
    FollowUp { precise_origin_timestamp: Timestamp },
    /// IEEE 1588-2019 13.8, Table 46.
    DelayResp {
        receive_timestamp: Timestamp,
        requesting_port_identity: PortIdentity,
    },
    /// IEEE 1588-2019 13.11, Table 49.
    PdelayRespFollowUp {
        response_origin_timestamp: Timestamp,
        requesting_port_identity: PortIdentity,
    },
    /// IEEE 1588-2019 13.5.
    Announce(AnnounceBody),
    /// IEEE 1588-2019 13.12, Table 50.
    Signaling { target_port_identity: PortIdentity },
    /// IEEE 1588-2019 15.4.1.
    Management(ManagementBody),
}

/// Offsets inside a whole message (header included).
pub(crate) mod field {
    pub const TS: usize = 34;
    pub const REQ_PORT: usize = 44;
    pub const ANN_UTC_OFFSET: usize = 44;
    pub const ANN_PRIORITY1: usize = 47;
    pub const ANN_QUALITY: usize = 48;
    pub const ANN_PRIORITY2: usize = 52;
    pub const ANN_GM_ID: usize = 53;
    pub const ANN_STEPS: usize = 61;
    pub const ANN_TIME_SOURCE: usize = 63;
    pub const TARGET_PORT: usize = 34;
    pub const MGMT_STARTING_HOPS: usize = 44;
    pub const MGMT_HOPS: usize = 45;
    pub const MGMT_ACTION: usize = 46;
}

impl Body {
    /// The message type this body belongs to.
    pub const fn message_type(&self) -> MessageType {
        match self {
            Body::Sync { .. } => MessageType::Sync,
            Body::DelayReq { .. } => MessageType::DelayReq,
            Body::PdelayReq { .. } => MessageType::PdelayReq,
            Body::PdelayResp { .. } => MessageType::PdelayResp,
            Body::FollowUp { .. } => MessageType::FollowUp,
            Body::DelayResp { .. } => MessageType::DelayResp,
            Body::PdelayRespFollowUp { .. } => MessageType::PdelayRespFollowUp,
            Body::Announce(_) => MessageType::Announce,
            Body::Signaling { .. } => MessageType::Signaling,
            Body::Management(_) => MessageType::Management,
        }
    }

    /// The body's timestamp (origin, precise origin, receive, request receipt or response
    /// origin), if the message type carries one.
    pub const fn timestamp(&self) -> Option<Timestamp> {
        match *self {
            Body::Sync { origin_timestamp }
            | Body::DelayReq { origin_timestamp }
            | Body::PdelayReq { origin_timestamp } => Some(origin_timestamp),
            Body::FollowUp {
                precise_origin_timestamp,
            } => Some(precise_origin_timestamp),
            Body::DelayResp {
                receive_timestamp, ..
            } => Some(receive_timestamp),
            Body::PdelayResp {
                request_receipt_timestamp,
                ..
            } => Some(request_receipt_timestamp),
            Body::PdelayRespFollowUp {
                response_origin_timestamp,
                ..
            } => Some(response_origin_timestamp),
            Body::Announce(a) => Some(a.origin_timestamp),
            Body::Signaling { .. } | Body::Management(_) => None,
        }
    }

    /// requestingPortIdentity of Delay_Resp, Pdelay_Resp and Pdelay_Resp_Follow_Up.
    pub const fn requesting_port_identity(&self) -> Option<PortIdentity> {
        match *self {
            Body::DelayResp {
                requesting_port_identity,
                ..
            }
            | Body::PdelayResp {
                requesting_port_identity,
                ..
            }
            | Body::PdelayRespFollowUp {
                requesting_port_identity,
                ..
            } => Some(requesting_port_identity),
            _ => None,
        }
    }

    /// Parses the body of a message of type `mtype` from the whole message `msg`, which must
    /// hold at least `mtype.fixed_len()` octets.
    pub fn parse(mtype: MessageType, msg: &[u8]) -> Result<Self, WireError> {
        super::error::need(msg, mtype.fixed_len(), mtype.name())?;
        use field::*;
        let ts = |what| timestamp_at(msg, TS, what);
        Ok(match mtype {
            MessageType::Sync => Body::Sync {
                origin_timestamp: ts("originTimestamp")?,
            },
            MessageType::DelayReq => Body::DelayReq {
                origin_timestamp: ts("originTimestamp")?,
            },
            MessageType::PdelayReq => Body::PdelayReq {
                origin_timestamp: ts("originTimestamp")?,
            },
            MessageType::PdelayResp => Body::PdelayResp {
                request_receipt_timestamp: ts("requestReceiptTimestamp")?,
                requesting_port_identity: port_identity_at(msg, REQ_PORT),
            },
            MessageType::FollowUp => Body::FollowUp {
                precise_origin_timestamp: ts("preciseOriginTimestamp")?,
            },
            MessageType::DelayResp => Body::DelayResp {
                receive_timestamp: ts("receiveTimestamp")?,
                requesting_port_identity: port_identity_at(msg, REQ_PORT),
            },
            MessageType::PdelayRespFollowUp => Body::PdelayRespFollowUp {
                response_origin_timestamp: ts("responseOriginTimestamp")?,
                requesting_port_identity: port_identity_at(msg, REQ_PORT),
            },
            MessageType::Announce => Body::Announce(AnnounceBody {
                origin_timestamp: ts("originTimestamp")?,
                current_utc_offset: u16_at(msg, ANN_UTC_OFFSET) as i16,
                grandmaster_priority1: u8_at(msg, ANN_PRIORITY1),
                grandmaster_clock_quality: ClockQuality::from_slice(&arr::<4>(msg, ANN_QUALITY))
                    .unwrap_or(ClockQuality {
                        clock_class: 0,
                        clock_accuracy: 0,
                        offset_scaled_log_variance: 0,
                    }),
                grandmaster_priority2: u8_at(msg, ANN_PRIORITY2),
                grandmaster_identity: ClockIdentity(arr(msg, ANN_GM_ID)),
                steps_removed: u16_at(msg, ANN_STEPS),
                time_source: u8_at(msg, ANN_TIME_SOURCE),
            }),
            MessageType::Signaling => Body::Signaling {
                target_port_identity: port_identity_at(msg, TARGET_PORT),
            },
            MessageType::Management => Body::Management(ManagementBody {
                target_port_identity: port_identity_at(msg, TARGET_PORT),
                starting_boundary_hops: u8_at(msg, MGMT_STARTING_HOPS),
                boundary_hops: u8_at(msg, MGMT_HOPS),
                action: ManagementAction::from_u8(u8_at(msg, MGMT_ACTION) & 0x0f)?,
            }),
        })
    }

    /// Writes the body into `msg[34..fixed_len]` (the whole-message buffer, sized by the caller).
    pub(crate) fn emit(&self, msg: &mut [u8]) {
        use field::*;
        if let Some(end) = msg.get_mut(HEADER_LEN..self.message_type().fixed_len()) {
            end.fill(0);
        }
        if let Some(t) = self.timestamp() {
            put(msg, TS, &t.to_bytes());
        }
        if let Some(p) = self.requesting_port_identity() {
            put(msg, REQ_PORT, &p.to_bytes());
        }
        match self {
            Body::Announce(a) => {
                put_u16(msg, ANN_UTC_OFFSET, a.current_utc_offset as u16);
                put_u8(msg, ANN_PRIORITY1, a.grandmaster_priority1);
                put(msg, ANN_QUALITY, &a.grandmaster_clock_quality.to_bytes());
                put_u8(msg, ANN_PRIORITY2, a.grandmaster_priority2);
                put(msg, ANN_GM_ID, &a.grandmaster_identity.0);
                put_u16(msg, ANN_STEPS, a.steps_removed);
                put_u8(msg, ANN_TIME_SOURCE, a.time_source);
            }
            Body::Signaling {
                target_port_identity,
            } => put(msg, TARGET_PORT, &target_port_identity.to_bytes()),
            Body::Management(m) => {
                put(msg, TARGET_PORT, &m.target_port_identity.to_bytes());
                put_u8(msg, MGMT_STARTING_HOPS, m.starting_boundary_hops);
                put_u8(msg, MGMT_HOPS, m.boundary_hops);
                put_u8(msg, MGMT_ACTION, m.action as u8);
            }
            _ => {}
        }
    }
}
