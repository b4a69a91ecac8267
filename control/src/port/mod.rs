//! A PTP Port of the sans-IO protocol core: its state machine ([`state`]), its timers
//! ([`timers`]) and the actions it asks the shell to perform ([`Action`], [`TxToken`]).
//!
//! # Planned API (message handling arrives with the wire codec)
//!
//! The port core never reads a socket or a clock. The shell drives it with four calls and
//! executes the actions they return, in order:
//!
//! ```text
//! handle_message(now, port, bytes, rx_timestamp) -> actions
//!     A received PTP message (bytes from the datapath, already classified as PTP) with its
//!     ingress timestamp. Announce → foreign master table (bmca::foreign); Sync/Follow_Up,
//!     Delay_Resp, Pdelay_* → the slave/delay roles; a changed Erbest schedules a state
//!     decision.
//! handle_tx_timestamp(token, t) -> actions
//!     The egress timestamp of a message sent with a TxToken (two-step Sync → Follow_Up,
//!     Delay_Req → t3, Pdelay_Req → t1, Pdelay_Resp → Pdelay_Resp_Follow_Up).
//! handle_timer(now) -> actions
//!     Pops every expired deadline (timers::Deadlines::pop_expired) and turns it into an
//!     event: ANNOUNCE_RECEIPT_TIMEOUT_EXPIRES, QUALIFICATION_TIMEOUT_EXPIRES, FAULT_CLEARED,
//!     SYNCHRONIZATION_FAULT, or a transmission (Announce, Sync, Delay_Req, Pdelay_Req).
//! poll_timeout() -> Option<Instant>
//!     The earliest deadline; the shell sleeps until then or until a frame arrives.
//! ```
//!
//! Actions out ([`Action`]): send bytes on a port (event messages that need an egress
//! timestamp carry a [`TxToken`], which cannot be cloned, so that each timestamp is consumed
//! exactly once), adjust the clock (step or frequency), and report a port state change.
//!
//! The clock-wide BMCA driver that sits above the ports is
//! [`crate::instance::BoundaryClock`].

pub mod state;
pub mod timers;

use crate::bmca::DecisionCode;
use state::PortState;

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

/// What the core asks the shell to do.
#[derive(Debug, PartialEq)]
pub enum Action {
    /// Transmit `data` (a complete PTP message, without link-layer framing) on `port`.
    /// `token` is present when the core needs the egress timestamp.
    Send {
        port: u16,
        class: MessageClass,
        data: Vec<u8>,
        token: Option<TxToken>,
    },
    /// Adjust the instance's clock.
    AdjustClock(ClockAdjustment),
    /// A port changed state (for logs, management and metrics; linuxptp prints these).
    PortStateChanged {
        port: u16,
        from: PortState,
        to: PortState,
        /// The state decision that caused it, if it was one.
        code: Option<DecisionCode>,
    },
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
        };
        match act {
            Action::Send { token: Some(t), .. } => assert_eq!(t.id(), 0),
            other => panic!("unexpected {other:?}"),
        }
    }
}
