//! Small nodes that exercise the simulator before (and beside) the real port core:
//! - [`Reflector`]: sends every frame straight back out of the port it came in on;
//! - [`SyncSource`]: every interval sends a Sync with a TX-timestamp token and, once the
//!   timestamp arrives, a Follow_Up carrying it (two-step); records the echoes it gets back
//!   (round trips through a [`Reflector`]);
//! - [`Sink`]: records every message it receives (sequenceId, RX timestamp, correctionField,
//!   body timestamp);
//! - [`ServoSink`]: the measurement end of a "measurement pair": turns Sync + Follow_Up into
//!   offsetFromMaster with a *known* path delay (no delay mechanism) and drives a real servo
//!   from `xptp_control::servo`, applying its output as clock actions.
//!
//! These are fixtures, not a protocol: no BMCA, no delay request-response, no state machine.

use std::collections::HashMap;

use xptp_control::port::{Action, ClockAdjustment, MessageClass, TxToken, TxTokenSource};
use xptp_control::servo::{self, Servo, ServoAction, ServoConfig, ServoKind, ServoState};
use xptp_control::time::Instant;
use xptp_datapath::wire::{
    Body, ClockIdentity, HeaderRepr, Message, MessageRepr, MessageType, PortIdentity, Timestamp,
};

use super::node::{NodeCtx, SimNode};

/// A PTP message of type Sync, Follow_Up, Delay_Req or Pdelay_Req (anything else: Sync) with `seq` and body timestamp `ts_ns`.
pub fn ptp_message(kind: MessageType, seq: u16, ts_ns: i64, log_interval: i8) -> Vec<u8> {
    let ts = Timestamp::from_nanos(i128::from(ts_ns.max(0))).unwrap_or_default();
    let body = match kind {
        MessageType::FollowUp => Body::FollowUp {
            precise_origin_timestamp: ts,
        },
        MessageType::DelayReq => Body::DelayReq {
            origin_timestamp: ts,
        },
        MessageType::PdelayReq => Body::PdelayReq {
            origin_timestamp: ts,
        },
        _ => Body::Sync {
            origin_timestamp: ts,
        },
    };
    let header = HeaderRepr {
        sequence_id: seq,
        source_port_identity: PortIdentity::new(ClockIdentity([0x5e; 8]), 1),
        log_message_interval: log_interval,
        ..HeaderRepr::default()
    };
    MessageRepr::new(header, body).to_vec().unwrap_or_default()
}

/// What a received PTP message carried.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Received {
    pub port: u16,
    pub message_type: MessageType,
    pub sequence_id: u16,
    pub rx_timestamp_ns: i64,
    /// correctionField in whole ns (rounded).
    pub correction_ns: i64,
    /// The body's timestamp (ns), if any.
    pub timestamp_ns: Option<i64>,
}

impl Received {
    /// Parses `data`; `None` if it is not PTP.
    pub fn parse(port: u16, data: &[u8], rx_timestamp_ns: i64) -> Option<Self> {
        let m = Message::new_checked(data).ok()?;
        Some(Received {
            port,
            message_type: m.message_type(),
            sequence_id: m.sequence_id(),
            rx_timestamp_ns,
            correction_ns: m.correction_field().nanos_round(),
            timestamp_ns: m.timestamp().and_then(|t| i64::try_from(t.to_nanos()).ok()),
        })
    }
}

/// Sends every frame back out of the port it arrived on.
#[derive(Debug, Default)]
pub struct Reflector {
    pub reflected: u64,
}

impl SimNode for Reflector {
    fn handle_message(&mut self, _: &NodeCtx, port: u16, data: &[u8], _: i64) -> Vec<Action> {
        self.reflected += 1;
        vec![Action::Send {
            port,
            class: MessageClass::Event,
            data: data.to_vec(),
            token: None,
            one_step: None,
        }]
    }
    fn handle_tx_timestamp(&mut self, _: &NodeCtx, _: TxToken, _: i64) -> Vec<Action> {
        Vec::new()
    }
    fn handle_timer(&mut self, _: &NodeCtx) -> Vec<Action> {
        Vec::new()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}

/// Records everything it receives.
#[derive(Debug, Default)]
pub struct Sink {
    pub received: Vec<Received>,
    pub not_ptp: u64,
}

impl SimNode for Sink {
    fn handle_message(&mut self, _: &NodeCtx, port: u16, data: &[u8], rx: i64) -> Vec<Action> {
        match Received::parse(port, data, rx) {
            Some(r) => self.received.push(r),
            None => self.not_ptp += 1,
        }
        Vec::new()
    }
    fn handle_tx_timestamp(&mut self, _: &NodeCtx, _: TxToken, _: i64) -> Vec<Action> {
        Vec::new()
    }
    fn handle_timer(&mut self, _: &NodeCtx) -> Vec<Action> {
        Vec::new()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}

/// A two-step Sync sender. See the module docs.
#[derive(Debug)]
pub struct SyncSource {
    port: u16,
    interval_ns: u64,
    log_interval: i8,
    next: Option<Instant>,
    seq: u16,
    tokens: TxTokenSource,
    /// token id → sequenceId of Syncs awaiting their TX timestamp.
    pending: HashMap<u64, u16>,
    /// sequenceId → TX timestamp of every Sync sent.
    pub sent: Vec<(u16, i64)>,
    /// Echoed Syncs: (sequenceId, TX timestamp, RX timestamp of the echo).
    pub echoes: Vec<(u16, i64, i64)>,
    /// Stop after this many Syncs.
    pub limit: Option<u32>,
}

impl SyncSource {
    /// Sends on `port` every 2^`log_interval` s.
    pub fn new(port: u16, log_interval: i8) -> Self {
        SyncSource {
            port,
            interval_ns: xptp_control::time::log_interval(log_interval).as_nanos() as u64,
            log_interval,
            next: None,
            seq: 0,
            tokens: TxTokenSource::default(),
            pending: HashMap::new(),
            sent: Vec::new(),
            echoes: Vec::new(),
            limit: None,
        }
    }

    /// Sends at most `n` Syncs.
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }

    fn send_sync(&mut self, ctx: &NodeCtx) -> Vec<Action> {
        let token = self.tokens.mint();
        self.pending.insert(token.id(), self.seq);
        let data = ptp_message(MessageType::Sync, self.seq, ctx.clock_ns, self.log_interval);
        self.seq = self.seq.wrapping_add(1);
        vec![Action::Send {
            port: self.port,
            class: MessageClass::Event,
            data,
            token: Some(token),
            one_step: None,
        }]
    }
}

impl SimNode for SyncSource {
    fn start(&mut self, ctx: &NodeCtx) -> Vec<Action> {
        self.next = Some(ctx.now);
        Vec::new()
    }
    fn handle_message(&mut self, _: &NodeCtx, port: u16, data: &[u8], rx: i64) -> Vec<Action> {
        if let Some(r) = Received::parse(port, data, rx) {
            if r.message_type == MessageType::Sync {
                if let Some(&(_, tx)) = self.sent.iter().rev().find(|s| s.0 == r.sequence_id) {
                    self.echoes.push((r.sequence_id, tx, rx));
                }
            }
        }
        Vec::new()
    }
    fn handle_tx_timestamp(&mut self, _: &NodeCtx, token: TxToken, t: i64) -> Vec<Action> {
        let Some(seq) = self.pending.remove(&token.id()) else {
            return Vec::new();
        };
        self.sent.push((seq, t));
        vec![Action::Send {
            port: self.port,
            class: MessageClass::General,
            data: ptp_message(MessageType::FollowUp, seq, t, self.log_interval),
            token: None,
            one_step: None,
        }]
    }
    fn handle_timer(&mut self, ctx: &NodeCtx) -> Vec<Action> {
        let Some(next) = self.next else {
            return Vec::new();
        };
        if ctx.now < next {
            return Vec::new();
        }
        if self
            .limit
            .is_some_and(|l| u32::from(self.seq) >= l || self.sent.len() as u32 >= l)
        {
            self.next = None;
            return Vec::new();
        }
        self.next = Some(Instant(next.0 + self.interval_ns));
        self.send_sync(ctx)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.next
    }
}

/// One offset measurement of a [`ServoSink`].
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct OffsetSample {
    /// The Sync's RX timestamp (local clock).
    pub t2_ns: i64,
    /// offsetFromMaster = t2 − t1 − corrections − known path delay.
    pub offset_ns: i64,
    pub state: ServoState,
}

/// The measuring end of a measurement pair. See the module docs.
#[derive(Debug)]
pub struct ServoSink {
    path_delay_ns: i64,
    servo: Box<dyn Servo>,
    /// sequenceId → (t2, Sync correction).
    syncs: HashMap<u16, (i64, i64)>,
    pub samples: Vec<OffsetSample>,
}

impl ServoSink {
    /// A sink knowing the one-way `path_delay_ns`, driving `kind` configured by `cfg`, for Syncs
    /// every 2^`log_interval` s.
    pub fn new(path_delay_ns: i64, kind: ServoKind, cfg: &ServoConfig, log_interval: i8) -> Self {
        let mut servo = servo::build(kind, cfg);
        servo.set_sync_interval(2f64.powi(i32::from(log_interval)));
        ServoSink {
            path_delay_ns,
            servo,
            syncs: HashMap::new(),
            samples: Vec::new(),
        }
    }

    fn measure(&mut self, t1: i64, t2: i64, corr: i64) -> Vec<Action> {
        let offset = t2 - t1 - corr - self.path_delay_ns;
        let out = self.servo.sample(offset, t2, 1.0);
        self.samples.push(OffsetSample {
            t2_ns: t2,
            offset_ns: offset,
            state: out.state,
        });
        match out.action {
            ServoAction::None => Vec::new(),
            ServoAction::AdjustFrequency(ppb) => {
                vec![Action::AdjustClock(ClockAdjustment::Frequency { ppb })]
            }
            ServoAction::Step { step_ns, freq_ppb } => vec![
                Action::AdjustClock(ClockAdjustment::Step { offset_ns: step_ns }),
                Action::AdjustClock(ClockAdjustment::Frequency { ppb: freq_ppb }),
            ],
        }
    }
}

impl SimNode for ServoSink {
    fn handle_message(&mut self, _: &NodeCtx, port: u16, data: &[u8], rx: i64) -> Vec<Action> {
        let Some(r) = Received::parse(port, data, rx) else {
            return Vec::new();
        };
        match r.message_type {
            MessageType::Sync => {
                if self.syncs.len() > 64 {
                    self.syncs.clear();
                }
                self.syncs.insert(r.sequence_id, (rx, r.correction_ns));
                Vec::new()
            }
            MessageType::FollowUp => match (self.syncs.remove(&r.sequence_id), r.timestamp_ns) {
                (Some((t2, c1)), Some(t1)) => self.measure(t1, t2, c1 + r.correction_ns),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }
    fn handle_tx_timestamp(&mut self, _: &NodeCtx, _: TxToken, _: i64) -> Vec<Action> {
        Vec::new()
    }
    fn handle_timer(&mut self, _: &NodeCtx) -> Vec<Action> {
        Vec::new()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}
