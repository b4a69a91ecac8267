//! A transparent clock model (IEEE 1588-2019 10.2, 11.5): a multi-port node that forwards
//! every PTP message received on one port out of all its other ports and, as a one-step TC,
//! adds each event message's residence time to its correctionField as the frame leaves
//! (11.5.2.2 for Sync, 11.5.3 for Delay_Req).
//!
//! Residence time is measured the way hardware measures it: the ingress timestamp and the
//! egress timestamp both come from the TC's own timestamper (its free-running oscillator, never
//! steered, plus its timestamp noise), so an oscillator error of y ppb biases every residence
//! time by y × residence, as in an unsyntonized TC. How long frames stay inside is the node's
//! transmit latency ([`NodeConfig::tx_latency`](super::node::NodeConfig)).
//!
//! In P2P mode (11.5.2.2, 11.4) the TC also adds the measured mean link delay of the ingress
//! port to Sync, and does not forward peer-delay messages (they are link-local). Until the
//! peer-delay mechanism runs on the TC itself, the per-port link delay is configured (an
//! oracle); a TC does not answer Pdelay_Req in this model.
//!
//! This is a stand-in until the datapath's own TC runs in the simulator; it must not grow
//! protocol logic beyond forwarding and correction.

use std::collections::VecDeque;

use xptp_control::port::{Action, MessageClass, TxToken};
use xptp_control::time::Instant;
use xptp_datapath::wire::{Message, MessageType, TimeInterval};

use super::node::{NodeCtx, SimNode};

/// End-to-end or peer-to-peer transparent clock.
#[derive(Clone, PartialEq, Debug)]
pub enum TcMode {
    /// E2E TC: forwards everything; corrects Sync, Delay_Req, Pdelay_Req and Pdelay_Resp.
    EndToEnd,
    /// P2P TC: drops peer-delay messages, corrects Sync with residence + ingress link delay.
    /// `link_delay_ns[i]` is the mean link delay of port i + 1.
    PeerToPeer { link_delay_ns: Vec<i64> },
}

/// Why the TC could not correct a frame (counted, the frame is still forwarded unchanged, as a
/// hardware TC would forward it).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct TcCounters {
    /// Messages received.
    pub received: u64,
    /// Frames sent (one per message per egress port).
    pub forwarded: u64,
    /// Event messages whose correctionField was updated.
    pub corrected: u64,
    /// Frames that do not parse as PTP (forwarded unchanged).
    pub not_ptp: u64,
    /// Peer-delay messages not forwarded (P2P mode).
    pub peer_delay_dropped: u64,
    /// correctionField would overflow (forwarded unchanged).
    pub correction_overflow: u64,
}

/// A one-step transparent clock. See the module docs.
#[derive(Debug)]
pub struct TransparentClock {
    ports: u16,
    mode: TcMode,
    /// Per egress port (index port - 1): (ingress port, ingress timestamp) of the event
    /// frames queued for that port, in transmit order.
    pending: Vec<VecDeque<(u16, i64)>>,
    counters: TcCounters,
    /// Every residence time added (ns), for tests.
    residences: Vec<i64>,
}

/// Whether `t` is an event message (IEEE 1588-2019 7.3.3, Table 36).
fn is_event(t: MessageType) -> bool {
    matches!(
        t,
        MessageType::Sync
            | MessageType::DelayReq
            | MessageType::PdelayReq
            | MessageType::PdelayResp
    )
}

/// Adds `delta_ns` to the correctionField of the PTP message in `data`, in place.
pub fn add_correction_ns(data: &mut [u8], delta_ns: i64) -> Result<(), CorrectionError> {
    let mut msg = Message::new_checked(data).map_err(|_| CorrectionError::NotPtp)?;
    let delta = TimeInterval::from_nanos(delta_ns).ok_or(CorrectionError::Overflow)?;
    msg.add_correction(delta)
        .map_err(|_| CorrectionError::Overflow)
}

/// Why a correction could not be added.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum CorrectionError {
    #[error("frame is not a valid PTP message")]
    NotPtp,
    #[error("correctionField would overflow")]
    Overflow,
}

impl TransparentClock {
    /// A TC with `ports` ports.
    pub fn new(ports: u16, mode: TcMode) -> Self {
        TransparentClock {
            ports,
            mode,
            pending: (0..ports).map(|_| VecDeque::new()).collect(),
            counters: TcCounters::default(),
            residences: Vec::new(),
        }
    }

    /// An E2E TC with two ports (a link in a chain).
    pub fn e2e_two_port() -> Self {
        Self::new(2, TcMode::EndToEnd)
    }

    pub fn counters(&self) -> TcCounters {
        self.counters
    }

    /// Every residence time added so far (ns, as measured by the TC).
    pub fn residences(&self) -> &[i64] {
        &self.residences
    }

    fn link_delay(&self, port: u16) -> i64 {
        match &self.mode {
            TcMode::EndToEnd => 0,
            TcMode::PeerToPeer { link_delay_ns } => usize::from(port)
                .checked_sub(1)
                .and_then(|i| link_delay_ns.get(i))
                .copied()
                .unwrap_or(0),
        }
    }
}

impl SimNode for TransparentClock {
    fn handle_message(
        &mut self,
        _ctx: &NodeCtx,
        port: u16,
        data: &[u8],
        rx_timestamp_ns: i64,
    ) -> Vec<Action> {
        self.counters.received += 1;
        let mtype = Message::new_checked(data).ok().map(|m| m.message_type());
        if mtype.is_none() {
            self.counters.not_ptp += 1;
        }
        let p2p = matches!(self.mode, TcMode::PeerToPeer { .. });
        if p2p
            && matches!(
                mtype,
                Some(
                    MessageType::PdelayReq
                        | MessageType::PdelayResp
                        | MessageType::PdelayRespFollowUp
                )
            )
        {
            self.counters.peer_delay_dropped += 1;
            return Vec::new();
        }
        let event = mtype.is_some_and(is_event);
        let mut out = Vec::new();
        for egress in (1..=self.ports).filter(|&p| p != port) {
            if event {
                if let Some(q) = self.pending.get_mut(usize::from(egress - 1)) {
                    q.push_back((port, rx_timestamp_ns));
                }
            }
            self.counters.forwarded += 1;
            out.push(Action::Send {
                port: egress,
                class: if event {
                    MessageClass::Event
                } else {
                    MessageClass::General
                },
                data: data.to_vec(),
                token: None,
                one_step: None,
            });
        }
        out
    }

    fn handle_tx_timestamp(
        &mut self,
        _ctx: &NodeCtx,
        _token: TxToken,
        _tx_timestamp_ns: i64,
    ) -> Vec<Action> {
        Vec::new()
    }

    fn handle_timer(&mut self, _ctx: &NodeCtx) -> Vec<Action> {
        Vec::new()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    fn on_egress(&mut self, port: u16, data: &mut [u8], egress_timestamp_ns: i64) {
        let Ok(mtype) = Message::new_checked(&*data).map(|m| m.message_type()) else {
            return;
        };
        if !is_event(mtype) {
            return;
        }
        let Some((ingress_port, ingress_ts)) = usize::from(port)
            .checked_sub(1)
            .and_then(|i| self.pending.get_mut(i))
            .and_then(VecDeque::pop_front)
        else {
            return;
        };
        let residence = egress_timestamp_ns - ingress_ts;
        // 11.5.2.2 (P2P): Sync also carries the ingress link's delay.
        let extra = if mtype == MessageType::Sync {
            self.link_delay(ingress_port)
        } else {
            0
        };
        match add_correction_ns(data, residence + extra) {
            Ok(()) => {
                self.counters.corrected += 1;
                self.residences.push(residence);
            }
            Err(CorrectionError::Overflow) => self.counters.correction_overflow += 1,
            Err(CorrectionError::NotPtp) => self.counters.not_ptp += 1,
        }
    }
}
