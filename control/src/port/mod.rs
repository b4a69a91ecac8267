//! A PTP Port of the sans-IO protocol core: its state machine ([`state`]), its timers
//! ([`timers`]) and the actions it asks the shell to perform ([`Action`], [`TxToken`]).
//!
//! The port roles that turn messages into actions live beside the state machine:
//! [`master`] (Announce, Sync/Follow_Up, Delay_Resp and Pdelay responses), [`slave`]
//! (Sync/Follow_Up matching), [`delay`] (the E2E and P2P delay arithmetic of 11.3 and 11.4,
//! in integers), [`messages`] (message construction and Announce decoding) and
//! [`counters`] (per-port counters, one per rejection reason).
//!
//! The instance that owns the ports and drives them through the sans-IO calls
//! (`handle_message`, `handle_tx_timestamp`, `handle_timer`, `poll_timeout`, `poll_action`)
//! is [`crate::ptp::PtpInstance`]; the clock-wide BMCA data sets and decision are
//! [`crate::instance::BoundaryClock`].

pub mod counters;
pub mod delay;
pub mod master;
pub mod messages;
pub mod slave;
pub mod state;
pub mod timers;

use core::fmt;

use crate::bmca::DecisionCode;
use state::{Event, PortState};

/// The handle that pairs a transmitted event message with its egress timestamp.
///
/// Deliberately neither `Clone` nor `Copy`: the core creates one per message that needs a
/// timestamp, the shell hands it back exactly once through `handle_tx_timestamp` (or drops it
/// when the timestamp never comes, which the core notices as a missing response).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TxToken {
    id: u64,
}

impl TxToken {
    /// Only the core mints tokens.
    pub(crate) fn new(id: u64) -> Self {
        TxToken { id }
    }

    /// An opaque number for logs and for matching in the shell.
    pub fn id(&self) -> u64 {
        self.id
    }
}

/// Mints [`TxToken`]s with unique ids.
#[derive(Debug, Default)]
pub struct TxTokenSource {
    next: u64,
}

impl TxTokenSource {
    /// A fresh token.
    pub fn mint(&mut self) -> TxToken {
        let t = TxToken::new(self.next);
        self.next = self.next.wrapping_add(1);
        t
    }
}

/// Which socket/queue class a message goes out on (IEEE 1588-2019 7.3.3: event messages are
/// timestamped, general messages are not).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum MessageClass {
    Event,
    General,
}

/// A clock correction requested by the servo.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum ClockAdjustment {
    /// Step the clock by this many nanoseconds (positive: forward).
    Step { offset_ns: i64 },
    /// Set the frequency offset, in parts per billion (the servo's output may be fractional).
    Frequency { ppb: f64 },
}

/// What the datapath must write into an event message as it leaves (a one-step clock's
/// hardware timestamp insertion, IEEE 1588-2019 9.5.9 / 11.4.2). The core cannot know the
/// egress time when it builds the message, so it says what to insert and the datapath (or the
/// simulator) does it at the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum OneStep {
    /// One-step Sync: overwrite originTimestamp with the egress timestamp. The originTimestamp
    /// the core wrote is only an estimate.
    OriginTimestamp,
    /// One-step Pdelay_Resp: add the turnaround time (egress timestamp − `ingress_ns`, the
    /// Pdelay_Req's receive time t2 in local-clock ns) to correctionField (11.4.2 c).
    Turnaround { ingress_ns: i128 },
}

/// A port state change, printed the way linuxptp prints it:
/// `port 1: UNCALIBRATED to SLAVE on MASTER_CLOCK_SELECTED`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct StateChange {
    /// The port number (1-based).
    pub port: u16,
    pub from: PortState,
    pub to: PortState,
    /// The event that caused it (9.2.6).
    pub event: Event,
    /// The decision code, when the event was a state decision (9.3.3).
    pub code: Option<DecisionCode>,
}

impl fmt::Display for StateChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "port {}: {} to {} on {}",
            self.port, self.from, self.to, self.event
        )?;
        if let Some(c) = self.code {
            write!(f, " ({c:?})")?;
        }
        Ok(())
    }
}

/// What the core asks the shell to do.
#[derive(Debug, PartialEq)]
pub enum Action {
    /// Transmit `data` (a complete PTP message, without link-layer framing) on `port`.
    /// `token` is present when the core needs the egress timestamp back through
    /// `handle_tx_timestamp`; `one_step` when the datapath must insert it into the message.
    Send {
        port: u16,
        class: MessageClass,
        data: Vec<u8>,
        token: Option<TxToken>,
        one_step: Option<OneStep>,
    },
    /// Adjust the instance's clock.
    AdjustClock(ClockAdjustment),
    /// A port changed state (for logs, management and metrics; linuxptp prints these).
    PortStateChanged(StateChange),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique() {
        let mut s = TxTokenSource::default();
        let a = s.mint();
        let b = s.mint();
        assert_ne!(a.id(), b.id());
        let act = Action::Send {
            port: 1,
            class: MessageClass::Event,
            data: vec![0; 44],
            token: Some(a),
            one_step: None,
        };
        match act {
            Action::Send { token: Some(t), .. } => assert_eq!(t.id(), 0),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn state_change_prints_like_linuxptp() {
        let c = StateChange {
            port: 1,
            from: PortState::Uncalibrated,
            to: PortState::Slave,
            event: Event::MasterClockSelected,
            code: None,
        };
        assert_eq!(
            c.to_string(),
            "port 1: UNCALIBRATED to SLAVE on MASTER_CLOCK_SELECTED"
        );
    }
}
