//! One-step timestamp insertion at egress, as a one-step PHY or the datapath does it: the
//! core's [`OneStep`] says what to write, the engine supplies the egress timestamp of the
//! departing frame. IEEE 1588-2019 9.5.9 (one-step Sync: originTimestamp is the egress time)
//! and 11.4.2 c (one-step Pdelay_Resp: the turnaround t3 − t2 is added to correctionField).
//!
//! Frames are edited in place through the codec's view (no parse and re-emit); a frame that
//! cannot be edited is left unchanged and the caller counts it.

use xptp_control::port::OneStep;
use xptp_datapath::wire::{Message, MessageType, TimeInterval, Timestamp};

/// Why a one-step frame could not be edited.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum OneStepError {
    #[error("frame is not a valid PTP message")]
    NotPtp,
    #[error("one-step originTimestamp requested on a {0:?}, only Sync carries one")]
    NotSync(MessageType),
    #[error("egress timestamp {0} ns is not a valid PTP Timestamp (negative or beyond 48 bits of seconds)")]
    TimestampOutOfRange(i64),
    #[error("correctionField would overflow")]
    CorrectionOverflow,
}

/// Writes what `os` asks for into the PTP message `data`, given its egress timestamp.
pub fn insert_one_step(data: &mut [u8], os: OneStep, egress_ns: i64) -> Result<(), OneStepError> {
    let mut msg = Message::new_checked(data).map_err(|_| OneStepError::NotPtp)?;
    match os {
        OneStep::OriginTimestamp => {
            let t = msg.message_type();
            if t != MessageType::Sync {
                return Err(OneStepError::NotSync(t));
            }
            let ts = Timestamp::from_nanos(i128::from(egress_ns))
                .map_err(|_| OneStepError::TimestampOutOfRange(egress_ns))?;
            msg.set_timestamp(ts);
            Ok(())
        }
        OneStep::Turnaround { ingress_ns } => {
            let turnaround = i128::from(egress_ns) - ingress_ns;
            let delta = i64::try_from(turnaround)
                .ok()
                .and_then(TimeInterval::from_nanos)
                .ok_or(OneStepError::CorrectionOverflow)?;
            msg.add_correction(delta)
                .map_err(|_| OneStepError::CorrectionOverflow)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::testnodes::ptp_message;

    #[test]
    fn origin_timestamp_and_turnaround_are_written_in_place() {
        let mut sync = ptp_message(MessageType::Sync, 7, 1_000, 0);
        insert_one_step(
            &mut sync,
            OneStep::OriginTimestamp,
            1_700_000_000_123_456_789,
        )
        .unwrap();
        let m = Message::new_checked(&sync[..]).unwrap();
        assert_eq!(m.timestamp().unwrap().to_nanos(), 1_700_000_000_123_456_789);
        assert_eq!(m.sequence_id(), 7);

        let mut resp = ptp_message(MessageType::Sync, 1, 0, 0);
        let os = OneStep::Turnaround { ingress_ns: 5_000 };
        insert_one_step(&mut resp, os, 7_500).unwrap();
        insert_one_step(&mut resp, os, 5_100).unwrap();
        let m = Message::new_checked(&resp[..]).unwrap();
        assert_eq!(m.correction_field().nanos_round(), 2_500 + 100);
    }

    #[test]
    fn what_cannot_be_written_is_an_error() {
        let mut fup = ptp_message(MessageType::FollowUp, 1, 0, 0);
        assert_eq!(
            insert_one_step(&mut fup, OneStep::OriginTimestamp, 1),
            Err(OneStepError::NotSync(MessageType::FollowUp))
        );
        let mut sync = ptp_message(MessageType::Sync, 1, 0, 0);
        assert_eq!(
            insert_one_step(&mut sync, OneStep::OriginTimestamp, -1),
            Err(OneStepError::TimestampOutOfRange(-1))
        );
        let mut short = vec![0u8; 10];
        assert_eq!(
            insert_one_step(&mut short, OneStep::OriginTimestamp, 1),
            Err(OneStepError::NotPtp)
        );
    }
}
