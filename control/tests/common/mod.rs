//! A tiny virtual-time "wire" for PtpInstance tests (quinn-proto style): nodes with simple
//! linear clocks, segments that deliver every Send to the other members after a fixed
//! per-direction delay, TX timestamps taken from the sender's clock at send time, and
//! one-step insertion done at "egress". No jitter, no loss: the point is exact arithmetic.

#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use rand::SeedableRng;
use xptp_control::datasets::PortConfig;
use xptp_control::port::{Action, ClockAdjustment, MessageClass, OneStep, TxToken};
use xptp_control::ptp::{InstanceConfig, PtpInstance};
use xptp_control::time::Instant;
use xptp_datapath::wire::{Body, ClockIdentity, MessageRepr, TimeInterval, Timestamp};

pub const MS: u64 = 1_000_000;
pub const S: u64 = 1_000_000_000;
/// Local clocks start near 2024 in TAI so timestamps are plausible.
pub const EPOCH: i128 = 1_700_000_000_000_000_000;

/// A linear clock: local(t) = base_local + (t − base_true) × (1 + (osc + adj) × 1e-9).
#[derive(Clone, Debug)]
pub struct TestClock {
    base_true: u64,
    base_local: i128,
    /// Oscillator error, ppb.
    pub osc_ppb: f64,
    /// Frequency adjustment applied by the servo, ppb.
    pub adj_ppb: f64,
    pub steps: u32,
}

impl TestClock {
    pub fn new(offset_ns: i128, osc_ppb: f64) -> Self {
        TestClock {
            base_true: 0,
            base_local: EPOCH + offset_ns,
            osc_ppb,
            adj_ppb: 0.0,
            steps: 0,
        }
    }

    pub fn perfect() -> Self {
        Self::new(0, 0.0)
    }

    pub fn local_at(&self, t: u64) -> i128 {
        let el = i128::from(t - self.base_true);
        let rate = self.osc_ppb + self.adj_ppb;
        let extra = if rate == 0.0 {
            0
        } else {
            (el as f64 * rate * 1e-9).round() as i128
        };
        self.base_local + el + extra
    }

    fn rebase(&mut self, t: u64) {
        self.base_local = self.local_at(t);
        self.base_true = t;
    }

    /// Local time minus true time (on the EPOCH scale).
    pub fn error_at(&self, t: u64) -> i128 {
        self.local_at(t) - EPOCH - i128::from(t)
    }
}

pub struct Node {
    pub inst: PtpInstance,
    pub clock: TestClock,
    pub alive: bool,
    pub log: Vec<String>,
    /// Never hand TX timestamps back (a broken timestamping path).
    pub drop_tx_timestamps: bool,
    /// Messages delivered to this node (when capturing).
    pub captured: Vec<(u16, Vec<u8>)>,
    pub capture: bool,
}

impl Node {
    pub fn id(&self) -> ClockIdentity {
        self.inst.default_ds().clock_identity
    }
}

enum Ev {
    Deliver {
        node: usize,
        port: u16,
        data: Vec<u8>,
    },
    TxTs {
        node: usize,
        token: TxToken,
        t: i128,
    },
}

pub struct Net {
    pub t: u64,
    pub nodes: Vec<Node>,
    segments: Vec<Vec<(usize, u16)>>,
    /// (from node, to node) → one-way delay in ns.
    pub delay: HashMap<(usize, usize), u64>,
    pub default_delay: u64,
    /// Delay of General messages (Follow_Up, Announce, Delay_Resp ...), when set.
    pub general_delay: Option<u64>,
    /// Extra delay of event messages (Sync, Delay_Req ...), uniform in `0..=jitter` ns, from a
    /// seeded generator (0: none).
    pub jitter: u64,
    jitter_state: u64,
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    events: HashMap<u64, Ev>,
    seq: u64,
}

pub fn identity(b: u8) -> ClockIdentity {
    ClockIdentity([b, 0, 0, 0xff, 0xfe, 0, 0, b])
}

impl Net {
    pub fn new(default_delay: u64) -> Self {
        Net {
            t: 0,
            nodes: Vec::new(),
            segments: Vec::new(),
            delay: HashMap::new(),
            default_delay,
            general_delay: None,
            jitter: 0,
            jitter_state: 0x9E37_79B9_7F4A_7C15,
            queue: BinaryHeap::new(),
            events: HashMap::new(),
            seq: 0,
        }
    }

    pub fn add(
        &mut self,
        cfg: InstanceConfig,
        ports: Vec<PortConfig>,
        id: u8,
        clock: TestClock,
    ) -> usize {
        let rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(u64::from(id) * 7919 + 1);
        let inst = PtpInstance::new(cfg, ports, identity(id), Box::new(rng));
        self.nodes.push(Node {
            inst,
            clock,
            alive: true,
            log: Vec::new(),
            drop_tx_timestamps: false,
            captured: Vec::new(),
            capture: false,
        });
        self.nodes.len() - 1
    }

    /// A shared segment: whatever one member sends, every other member receives.
    pub fn segment(&mut self, members: &[(usize, u16)]) {
        self.segments.push(members.to_vec());
    }

    pub fn link(&mut self, a: (usize, u16), b: (usize, u16)) {
        self.segment(&[a, b]);
    }

    fn push(&mut self, at: u64, ev: Ev) {
        self.seq += 1;
        self.events.insert(self.seq, ev);
        self.queue.push(Reverse((at, self.seq)));
    }

    pub fn run_for(&mut self, d: u64) {
        let end = self.t + d;
        self.run_until(end);
    }

    pub fn run_until(&mut self, end: u64) {
        loop {
            let next_ev = self.queue.peek().map(|Reverse((t, _))| *t);
            let next_timer = self
                .nodes
                .iter()
                .filter(|n| n.alive)
                .filter_map(|n| n.inst.poll_timeout())
                .map(|i| i.as_nanos())
                .min();
            let next = match (next_ev, next_timer) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(x) => x,
                    None => break,
                },
            };
            if next > end {
                break;
            }
            self.t = self.t.max(next);
            let t = self.t;
            while let Some(Reverse((at, id))) = self.queue.peek().copied() {
                if at > t {
                    break;
                }
                self.queue.pop();
                let Some(ev) = self.events.remove(&id) else {
                    continue;
                };
                match ev {
                    Ev::Deliver { node, port, data } => {
                        let n = &mut self.nodes[node];
                        if !n.alive {
                            continue;
                        }
                        if n.capture {
                            n.captured.push((port, data.clone()));
                        }
                        let rx = n.clock.local_at(t);
                        n.inst.handle_message(Instant(t), port, &data, rx);
                        self.drain(node);
                    }
                    Ev::TxTs { node, token, t: ts } => {
                        if self.nodes[node].alive {
                            self.nodes[node].inst.handle_tx_timestamp(token, ts);
                            self.drain(node);
                        }
                    }
                }
            }
            for i in 0..self.nodes.len() {
                let due = self.nodes[i].alive
                    && self.nodes[i]
                        .inst
                        .poll_timeout()
                        .is_some_and(|d| d.as_nanos() <= t);
                if due {
                    self.nodes[i].inst.handle_timer(Instant(t));
                    self.drain(i);
                }
            }
        }
        self.t = end;
    }

    /// Executes node `n`'s actions.
    pub fn drain(&mut self, n: usize) {
        let t = self.t;
        while let Some(a) = self.nodes[n].inst.poll_action() {
            match a {
                Action::Send {
                    port,
                    class,
                    mut data,
                    token,
                    one_step,
                } => {
                    let egress = self.nodes[n].clock.local_at(t);
                    if let Some(os) = one_step {
                        data = insert_one_step(&data, os, egress);
                    }
                    if let Some(token) = token {
                        if !self.nodes[n].drop_tx_timestamps {
                            self.push(
                                t,
                                Ev::TxTs {
                                    node: n,
                                    token,
                                    t: egress,
                                },
                            );
                        }
                    }
                    let peers: Vec<(usize, u16)> = self
                        .segments
                        .iter()
                        .filter(|s| s.contains(&(n, port)))
                        .flat_map(|s| s.iter().copied())
                        .filter(|&(m, _)| m != n)
                        .collect();
                    for (m, mp) in peers {
                        let d = match (class, self.general_delay) {
                            (MessageClass::General, Some(g)) => g,
                            _ => *self.delay.get(&(n, m)).unwrap_or(&self.default_delay),
                        };
                        let d = if class == MessageClass::Event && self.jitter > 0 {
                            d + self.next_jitter()
                        } else {
                            d
                        };
                        self.push(
                            t + d,
                            Ev::Deliver {
                                node: m,
                                port: mp,
                                data: data.clone(),
                            },
                        );
                    }
                }
                Action::AdjustClock(ClockAdjustment::Step { offset_ns }) => {
                    let c = &mut self.nodes[n].clock;
                    c.rebase(t);
                    c.base_local += i128::from(offset_ns);
                    c.steps += 1;
                }
                Action::AdjustClock(ClockAdjustment::Frequency { ppb }) => {
                    let c = &mut self.nodes[n].clock;
                    c.rebase(t);
                    c.adj_ppb = ppb;
                }
                Action::PortStateChanged(c) => self.nodes[n].log.push(c.to_string()),
            }
        }
    }

    fn next_jitter(&mut self) -> u64 {
        // xorshift64: deterministic, good enough for delay noise.
        let mut x = self.jitter_state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.jitter_state = x;
        x % (self.jitter + 1)
    }

    /// Local-clock error of node `a` relative to node `b` now.
    pub fn clock_diff(&self, a: usize, b: usize) -> i128 {
        self.nodes[a].clock.local_at(self.t) - self.nodes[b].clock.local_at(self.t)
    }
}

/// What a one-step datapath does at egress.
pub fn insert_one_step(data: &[u8], os: OneStep, egress: i128) -> Vec<u8> {
    let Ok(mut m) = MessageRepr::parse(data) else {
        return data.to_vec();
    };
    match os {
        OneStep::OriginTimestamp => {
            if let Body::Sync { origin_timestamp } = &mut m.body {
                *origin_timestamp = Timestamp::from_nanos(egress).unwrap();
            }
        }
        OneStep::Turnaround { ingress_ns } => {
            let add = (egress - ingress_ns) * 65536;
            m.header.correction = TimeInterval(m.header.correction.0 + add as i64);
        }
    }
    m.to_vec().unwrap()
}

/// Port defaults for fast tests: 1 s announces, 8 Syncs/s, Delay_Req and Pdelay_Req 1/s.
pub fn fast_port() -> PortConfig {
    PortConfig {
        log_announce_interval: 0,
        log_sync_interval: -3,
        log_min_delay_req_interval: 0,
        log_min_pdelay_req_interval: 0,
        ..PortConfig::default()
    }
}

pub fn slave_cfg() -> InstanceConfig {
    let mut c = InstanceConfig::default();
    c.clock.slave_only = true;
    c
}

pub fn gm_cfg(priority1: u8) -> InstanceConfig {
    let mut c = InstanceConfig::default();
    c.clock.priority1 = priority1;
    c
}
