//! The master role's messages (IEEE 1588-2019 9.5.8-9.5.13, 11.3, 11.4): Announce with the
//! grandmaster fields of parentDS/timePropertiesDS, Sync (one- or two-step) and Follow_Up,
//! Delay_Resp, and the peer-delay responder's Pdelay_Resp / Pdelay_Resp_Follow_Up.
//!
//! Pure builders: the caller supplies sequence numbers, timestamps and data sets; nothing is
//! sent from here.

use xptp_datapath::wire::{
    AnnounceBody, Body, FlagField, HeaderRepr, MessageRepr, PortIdentity, Timestamp, TlvRepr,
};

use super::messages::{message, time_flags, Head, NO_INTERVAL};
use crate::datasets::{CurrentDs, ParentDs, TimePropertiesDs};

/// IEEE 1588-2019 13.5: an Announce carrying parentDS's grandmaster, currentDS.stepsRemoved and
/// timePropertiesDS (flags in flagField octet 7), plus `tlvs` (PATH_TRACE, C37.238).
pub fn announce(
    head: Head,
    origin: Timestamp,
    parent: &ParentDs,
    current: &CurrentDs,
    tp: &TimePropertiesDs,
    tlvs: Vec<TlvRepr>,
) -> MessageRepr {
    let head = Head {
        flags: FlagField(head.flags.0 | time_flags(tp).0),
        ..head
    };
    let mut m = message(
        &head,
        Body::Announce(AnnounceBody {
            origin_timestamp: origin,
            current_utc_offset: tp.current_utc_offset,
            grandmaster_priority1: parent.grandmaster_priority1,
            grandmaster_clock_quality: parent.grandmaster_clock_quality,
            grandmaster_priority2: parent.grandmaster_priority2,
            grandmaster_identity: parent.grandmaster_identity,
            steps_removed: current.steps_removed,
            time_source: tp.time_source,
        }),
    );
    m.tlvs = tlvs;
    m
}

/// IEEE 1588-2019 13.6: Sync. Two-step sets twoStepFlag and carries an estimate of the
/// sending time; one-step carries the same estimate, which the datapath overwrites with the
/// egress timestamp.
pub fn sync(head: Head, origin: Timestamp, two_step: bool) -> MessageRepr {
    let head = Head {
        flags: FlagField(head.flags.0).with(FlagField::TWO_STEP, two_step),
        ..head
    };
    message(
        &head,
        Body::Sync {
            origin_timestamp: origin,
        },
    )
}

/// IEEE 1588-2019 13.7: Follow_Up with the Sync's precise egress timestamp t1.
pub fn follow_up(head: Head, t1: Timestamp) -> MessageRepr {
    message(
        &head,
        Body::FollowUp {
            precise_origin_timestamp: t1,
        },
    )
}

/// IEEE 1588-2019 11.3.2 / 13.8: the Delay_Resp to a Delay_Req received at `t4`: same
/// sequenceId and correctionField as the request, its sourcePortIdentity as
/// requestingPortIdentity, logMessageInterval = portDS.logMinDelayReqInterval.
pub fn delay_resp(
    req: &HeaderRepr,
    source: PortIdentity,
    t4: Timestamp,
    log_min_delay_req_interval: i8,
) -> MessageRepr {
    let head = Head {
        domain: req.domain_number,
        source,
        sequence_id: req.sequence_id,
        log_interval: log_min_delay_req_interval,
        flags: FlagField::default(),
        correction: req.correction.0,
    };
    message(
        &head,
        Body::DelayResp {
            receive_timestamp: t4,
            requesting_port_identity: req.source_port_identity,
        },
    )
}

/// IEEE 1588-2019 11.4.2 / 13.10: the Pdelay_Resp to a Pdelay_Req received at `t2`.
/// Two-step: requestReceiptTimestamp = t2, correctionField 0, twoStepFlag set (t3 follows in
/// the Pdelay_Resp_Follow_Up). One-step: requestReceiptTimestamp 0 and the request's
/// correctionField, to which the datapath adds the turnaround t3 − t2.
pub fn pdelay_resp(
    req: &HeaderRepr,
    source: PortIdentity,
    t2: Timestamp,
    two_step: bool,
) -> MessageRepr {
    let head = Head {
        domain: req.domain_number,
        source,
        sequence_id: req.sequence_id,
        log_interval: NO_INTERVAL,
        flags: FlagField::default().with(FlagField::TWO_STEP, two_step),
        correction: if two_step { 0 } else { req.correction.0 },
    };
    message(
        &head,
        Body::PdelayResp {
            request_receipt_timestamp: if two_step { t2 } else { Timestamp::default() },
            requesting_port_identity: req.source_port_identity,
        },
    )
}

/// IEEE 1588-2019 11.4.2 / 13.11: Pdelay_Resp_Follow_Up with the Pdelay_Resp's egress time
/// t3 and the request's correctionField.
pub fn pdelay_resp_follow_up(
    domain: u8,
    source: PortIdentity,
    sequence_id: u16,
    requester: PortIdentity,
    request_correction: i64,
    t3: Timestamp,
) -> MessageRepr {
    let head = Head {
        domain,
        source,
        sequence_id,
        log_interval: NO_INTERVAL,
        flags: FlagField::default(),
        correction: request_correction,
    };
    message(
        &head,
        Body::PdelayRespFollowUp {
            response_origin_timestamp: t3,
            requesting_port_identity: requester,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::{ClockConfig, DefaultDs};
    use xptp_datapath::wire::{ClockIdentity, MessageType, TimeInterval};

    fn pid(b: u8, n: u16) -> PortIdentity {
        PortIdentity::new(ClockIdentity([b; 8]), n)
    }

    #[test]
    fn delay_resp_carries_the_request_over() {
        let req = HeaderRepr {
            domain_number: 24,
            correction: TimeInterval(12345),
            source_port_identity: pid(2, 1),
            sequence_id: 77,
            ..HeaderRepr::default()
        };
        let t4 = Timestamp {
            seconds: 5,
            nanoseconds: 6,
        };
        let m = delay_resp(&req, pid(1, 1), t4, -4);
        let bytes = m.to_vec().unwrap();
        let back = MessageRepr::parse(&bytes).unwrap();
        assert_eq!(back.message_type(), MessageType::DelayResp);
        assert_eq!(back.header.sequence_id, 77);
        assert_eq!(back.header.correction, TimeInterval(12345));
        assert_eq!(back.header.domain_number, 24);
        assert_eq!(back.header.log_message_interval, -4);
        assert_eq!(
            back.body,
            Body::DelayResp {
                receive_timestamp: t4,
                requesting_port_identity: pid(2, 1)
            }
        );
    }

    #[test]
    fn announce_takes_the_grandmaster_from_parent_ds() {
        let d = DefaultDs::new(&ClockConfig::default(), ClockIdentity([9; 8]), 1);
        let mut parent = ParentDs::own(&d);
        parent.grandmaster_priority1 = 7;
        let current = CurrentDs {
            steps_removed: 2,
            ..CurrentDs::default()
        };
        let mut tp = TimePropertiesDs::own(&ClockConfig::default());
        tp.time_traceable = true;
        let head = Head {
            domain: 0,
            source: pid(9, 1),
            sequence_id: 1,
            log_interval: 1,
            flags: FlagField::default(),
            correction: 0,
        };
        let m = announce(head, Timestamp::default(), &parent, &current, &tp, vec![]);
        let back = MessageRepr::parse(&m.to_vec().unwrap()).unwrap();
        let Body::Announce(a) = back.body else {
            panic!("not an announce")
        };
        assert_eq!(a.grandmaster_priority1, 7);
        assert_eq!(a.steps_removed, 2);
        assert!(back.header.flags.time_traceable() && back.header.flags.ptp_timescale());
        let s = sync(head, Timestamp::default(), true);
        assert!(s.header.flags.two_step());
        let p = pdelay_resp(&s.header, pid(3, 1), Timestamp::default(), false);
        assert!(!p.header.flags.two_step());
    }
}
