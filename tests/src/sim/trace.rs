//! What happened in a run: every frame departure, loss, arrival, TX timestamp, timer, clock
//! adjustment and port state change, folded into a 64-bit digest (always) and kept as a list
//! (when asked for). Two runs with the same seed and scenario have the same digest; that is
//! the simulator's determinism contract.

use xptp_control::port::state::PortState;

use super::link::NodeId;

/// One traced occurrence.
#[derive(Clone, PartialEq, Debug)]
pub enum TraceKind {
    /// The node's `start` ran.
    Start,
    /// A frame left `port` with egress timestamp `egress_ts` (after any one-step edit).
    Depart {
        port: u16,
        data: Vec<u8>,
        egress_ts: i64,
    },
    /// A frame sent on `port` was lost on the link.
    Lost { port: u16 },
    /// A frame was sent on a port with no link (or a port the node does not have).
    Unconnected { port: u16 },
    /// A frame arrived on `port`, timestamped `rx_ts`.
    Arrive { port: u16, rx_ts: i64 },
    /// A TX timestamp was delivered for token `token`.
    TxTimestamp { token: u64, ts: i64 },
    /// The node's timer fired.
    Timer,
    /// The node stepped its clock.
    Step { offset_ns: i64 },
    /// The node set its clock's frequency adjustment (the value applied after clamping).
    Frequency { ppb: f64 },
    /// A port changed state.
    PortState {
        port: u16,
        from: PortState,
        to: PortState,
    },
}

/// A traced occurrence at true time `t_ns` (from the start of the run) on `node`.
#[derive(Clone, PartialEq, Debug)]
pub struct TraceEvent {
    pub t_ns: i64,
    pub node: NodeId,
    pub kind: TraceKind,
}

/// The digest and, optionally, the list of events.
#[derive(Clone, Debug)]
pub struct Trace {
    digest: u64,
    count: u64,
    keep: bool,
    events: Vec<TraceEvent>,
}

impl Default for Trace {
    fn default() -> Self {
        Trace {
            digest: 0xcbf2_9ce4_8422_2325,
            count: 0,
            keep: false,
            events: Vec::new(),
        }
    }
}

impl Trace {
    /// Keep the full list from now on (memory grows with the run).
    pub fn keep_events(&mut self, keep: bool) {
        self.keep = keep;
    }

    fn eat(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.digest ^= u64::from(b);
            self.digest = self.digest.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn eat_i64(&mut self, v: i64) {
        self.eat(&v.to_le_bytes());
    }

    /// Records one event.
    pub fn record(&mut self, ev: TraceEvent) {
        self.count += 1;
        self.eat_i64(ev.t_ns);
        self.eat_i64(ev.node.0 as i64);
        match &ev.kind {
            TraceKind::Start => self.eat(&[0]),
            TraceKind::Depart {
                port,
                data,
                egress_ts,
            } => {
                self.eat(&[1]);
                self.eat(&port.to_le_bytes());
                self.eat(data);
                self.eat_i64(*egress_ts);
            }
            TraceKind::Lost { port } => {
                self.eat(&[2]);
                self.eat(&port.to_le_bytes());
            }
            TraceKind::Unconnected { port } => {
                self.eat(&[3]);
                self.eat(&port.to_le_bytes());
            }
            TraceKind::Arrive { port, rx_ts } => {
                self.eat(&[4]);
                self.eat(&port.to_le_bytes());
                self.eat_i64(*rx_ts);
            }
            TraceKind::TxTimestamp { token, ts } => {
                self.eat(&[5]);
                self.eat(&token.to_le_bytes());
                self.eat_i64(*ts);
            }
            TraceKind::Timer => self.eat(&[6]),
            TraceKind::Step { offset_ns } => {
                self.eat(&[7]);
                self.eat_i64(*offset_ns);
            }
            TraceKind::Frequency { ppb } => {
                self.eat(&[8]);
                self.eat(&ppb.to_bits().to_le_bytes());
            }
            TraceKind::PortState { port, from, to } => {
                self.eat(&[9]);
                self.eat(&port.to_le_bytes());
                self.eat(&[from.to_wire(), to.to_wire()]);
            }
        }
        if self.keep {
            self.events.push(ev);
        }
    }

    /// The digest of everything recorded so far.
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// How many events were recorded.
    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The kept events (empty unless [`Trace::keep_events`] was enabled).
    pub fn events(&self) -> &[TraceEvent] {
        &self.events
    }
}
