//! The discrete-event engine: a priority queue of events in integer true nanoseconds (ties
//! broken by insertion order), the nodes with their oscillators and timestamping units, the
//! links, the time-error sampler and the trace.
//!
//! Frame life cycle: a node's [`Action::Send`] → transmit latency (per port FIFO) → departure:
//! egress timestamp taken in the sender's PTP clock plus noise, one-step hook
//! ([`SimNode::on_egress`]), TX timestamp delivered to the node if it asked with a token →
//! link (loss, delay, jitter) → arrival: RX timestamp in the receiver's PTP clock plus noise →
//! [`SimNode::handle_message`]. Clock adjustments act at the instant the action is executed.
//!
//! The engine never sleeps and never reads a real clock: simulated time jumps from event to
//! event, so hours of network time take seconds.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use xptp_control::port::{Action, ClockAdjustment, TxToken};
use xptp_control::time::Instant;

use super::link::{DirectionState, DirectionStats, Link, LinkConfig, LinkId, NodeId, PortRef};
use super::node::{NodeConfig, NodeCtx, SimNode};
use super::oscillator::Oscillator;
use super::report::{Reference, TeSeries};
use super::rng::{SimRng, Stream};
use super::trace::{Trace, TraceEvent, TraceKind};

/// True time of the run's start on the PTP timescale: 2023-11-14 (TAI), so that clock readings
/// look like real PTP times.
pub const DEFAULT_EPOCH_NS: i64 = 1_700_000_000_000_000_000;

/// Events at one instant beyond which the engine declares a livelock.
const MAX_EVENTS_PER_INSTANT: u64 = 1_000_000;

/// A run that cannot continue.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Events keep being scheduled at the same instant (a node re-arming a timer in the past,
    /// or frames looping through zero-delay links).
    #[error("livelock at t = {at_ns} ns: more than {MAX_EVENTS_PER_INSTANT} events at one instant, last on node {node:?}; check that the node consumes its expired timers and that no frame loops over zero-delay links")]
    Livelock { at_ns: i64, node: String },
}

/// Counters of one node.
#[derive(Clone, Copy, PartialEq, Default, Debug)]
pub struct NodeStats {
    pub frames_sent: u64,
    pub frames_received: u64,
    pub tx_timestamps: u64,
    /// Frames sent on a port that has no link.
    pub dropped_unconnected: u64,
    /// Frames sent on a port number the node does not have.
    pub dropped_bad_port: u64,
    /// Frames that arrived while the node was stopped.
    pub dropped_stopped: u64,
    pub timers: u64,
    pub steps: u64,
    pub frequency_adjustments: u64,
    /// The frequency adjustment last applied (ppb).
    pub last_frequency_ppb: f64,
}

/// A port state change reported by a node.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct StateChange {
    pub t_ns: i64,
    pub node: NodeId,
    pub port: u16,
    pub from: xptp_control::port::state::PortState,
    pub to: xptp_control::port::state::PortState,
}

/// Scenario code run at a simulated instant.
pub type Script = Box<dyn FnOnce(&mut Simulator)>;

enum Event {
    Start(NodeId),
    Timer {
        node: NodeId,
        generation: u64,
    },
    Depart {
        from: PortRef,
        data: Vec<u8>,
        token: Option<TxToken>,
    },
    Arrive {
        to: PortRef,
        data: Vec<u8>,
    },
    TxTimestamp {
        node: NodeId,
        token: TxToken,
        ts: i64,
    },
    Script(Script),
}

struct Scheduled {
    t: i64,
    seq: u64,
    ev: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, o: &Self) -> bool {
        (self.t, self.seq) == (o.t, o.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Scheduled {
    /// Reversed: the heap pops the earliest (then first inserted) event.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.t, o.seq).cmp(&(self.t, self.seq))
    }
}

struct NodeSlot {
    cfg: NodeConfig,
    node: Box<dyn SimNode>,
    osc: Oscillator,
    ts_rng: SimRng,
    latency_rng: SimRng,
    /// (deadline, generation) of the armed timer.
    timer: Option<(Instant, u64)>,
    timer_generation: u64,
    /// Per port (index port - 1): when the last frame left.
    last_departure: Vec<i64>,
    running: bool,
    stats: NodeStats,
}

struct Sampler {
    interval_ns: i64,
    next_ns: i64,
    reference: Reference,
    series: Vec<TeSeries>,
}

/// The simulator. See the module docs.
pub struct Simulator {
    seed: u64,
    epoch_ns: i64,
    now: i64,
    seq: u64,
    queue: BinaryHeap<Scheduled>,
    nodes: Vec<NodeSlot>,
    links: Vec<Link>,
    port_links: HashMap<PortRef, LinkId>,
    trace: Trace,
    sampler: Option<Sampler>,
    state_changes: Vec<StateChange>,
    same_instant: (i64, u64),
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("seed", &self.seed)
            .field("now", &self.now)
            .field("nodes", &self.nodes.len())
            .field("links", &self.links.len())
            .field("pending_events", &self.queue.len())
            .finish()
    }
}

impl Simulator {
    /// An empty network whose randomness derives from `seed`.
    pub fn new(seed: u64) -> Self {
        Simulator {
            seed,
            epoch_ns: DEFAULT_EPOCH_NS,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            nodes: Vec::new(),
            links: Vec::new(),
            port_links: HashMap::new(),
            trace: Trace::default(),
            sampler: None,
            state_changes: Vec::new(),
            same_instant: (0, 0),
        }
    }

    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Simulated time since the start (ns).
    pub fn now(&self) -> i64 {
        self.now
    }

    /// True time of the start on the PTP timescale (ns).
    pub fn epoch_ns(&self) -> i64 {
        self.epoch_ns
    }

    fn abs(&self, t: i64) -> i64 {
        self.epoch_ns.saturating_add(t)
    }

    fn push(&mut self, t: i64, ev: Event) {
        self.seq += 1;
        self.queue.push(Scheduled {
            t: t.max(self.now),
            seq: self.seq,
            ev,
        });
    }

    /// A stream of randomness for scenario code or test nodes, derived from the run seed.
    pub fn user_rng(&self, label: u64) -> SimRng {
        SimRng::derive(self.seed, Stream::User(label))
    }

    /// Adds a node; its `start` runs at `cfg.start_after_ns`.
    pub fn add_node(&mut self, cfg: NodeConfig, node: impl SimNode) -> NodeId {
        let id = NodeId(self.nodes.len());
        let osc = Oscillator::new(
            cfg.oscillator,
            self.abs(self.now),
            SimRng::derive(self.seed, Stream::Oscillator(id.0)),
        );
        let start = cfg.start_after_ns.max(self.now);
        self.nodes.push(NodeSlot {
            last_departure: vec![i64::MIN; usize::from(cfg.ports)],
            cfg,
            node: Box::new(node),
            osc,
            ts_rng: SimRng::derive(self.seed, Stream::Timestamper(id.0)),
            latency_rng: SimRng::derive(self.seed, Stream::TxLatency(id.0)),
            timer: None,
            timer_generation: 0,
            running: false,
            stats: NodeStats::default(),
        });
        if let Some(s) = &mut self.sampler {
            s.series.push(TeSeries::new(id));
        }
        self.push(start, Event::Start(id));
        id
    }

    /// Connects two ports with a link; `cfg.a_to_b` carries frames from `a` to `b`.
    ///
    /// # Panics
    /// If a port does not exist or is already connected (a scenario bug).
    pub fn connect(&mut self, a: (NodeId, u16), b: (NodeId, u16), cfg: LinkConfig) -> LinkId {
        let (a, b) = (PortRef::new(a.0, a.1), PortRef::new(b.0, b.1));
        for p in [a, b] {
            let ports = self.nodes.get(p.node.0).map_or(0, |n| n.cfg.ports);
            assert!(
                p.port >= 1 && p.port <= ports,
                "connect: node {:?} has no port {}",
                p.node,
                p.port
            );
            assert!(
                !self.port_links.contains_key(&p),
                "connect: port {p:?} is already connected"
            );
        }
        let id = LinkId(self.links.len());
        let dir = |cfg: super::link::Direction, d: u8| DirectionState {
            cfg,
            rng: SimRng::derive(self.seed, Stream::Link(id.0, d)),
            last_arrival_ns: i64::MIN,
            stats: DirectionStats::default(),
        };
        let link = Link {
            a,
            b,
            fifo: cfg.fifo,
            up: true,
            dirs: [dir(cfg.a_to_b, 0), dir(cfg.b_to_a, 1)],
        };
        self.links.push(link);
        self.port_links.insert(a, id);
        self.port_links.insert(b, id);
        id
    }

    /// Records the time error of every node every `interval_ns` against `reference`.
    pub fn sample_time_error(&mut self, interval_ns: i64, reference: Reference) {
        self.sampler = Some(Sampler {
            interval_ns: interval_ns.max(1),
            next_ns: self.now,
            reference,
            series: (0..self.nodes.len())
                .map(|i| TeSeries::new(NodeId(i)))
                .collect(),
        });
    }

    /// Keeps the full trace (not only its digest).
    pub fn keep_trace(&mut self, keep: bool) {
        self.trace.keep_events(keep);
    }

    /// Runs `script` at simulated time `t_ns` (failures, link changes, measurements).
    pub fn schedule(&mut self, t_ns: i64, script: impl FnOnce(&mut Simulator) + 'static) {
        self.push(t_ns, Event::Script(Box::new(script)));
    }

    /// Runs for `d_ns` of simulated time.
    pub fn run_for(&mut self, d_ns: i64) -> Result<(), SimError> {
        self.run_until(self.now.saturating_add(d_ns))
    }

    /// Runs every event up to and including simulated time `t_end`.
    pub fn run_until(&mut self, t_end: i64) -> Result<(), SimError> {
        while let Some(t) = self.queue.peek().map(|s| s.t) {
            if t > t_end {
                break;
            }
            self.sample_through(t);
            let Some(s) = self.queue.pop() else { break };
            self.now = s.t;
            if self.same_instant.0 == s.t {
                self.same_instant.1 += 1;
            } else {
                self.same_instant = (s.t, 1);
            }
            let node = self.handle(s.ev);
            if self.same_instant.1 > MAX_EVENTS_PER_INSTANT {
                return Err(SimError::Livelock {
                    at_ns: s.t,
                    node: node
                        .and_then(|n| self.nodes.get(n.0))
                        .map_or_else(String::new, |n| n.cfg.name.clone()),
                });
            }
        }
        self.sample_through(t_end);
        self.now = self.now.max(t_end);
        Ok(())
    }

    fn sample_through(&mut self, t: i64) {
        let Some(mut s) = self.sampler.take() else {
            return;
        };
        while s.next_ns <= t {
            let at = self.abs(s.next_ns);
            let reference = match s.reference {
                Reference::TrueTime => 0,
                Reference::Node(r) => self.nodes.get_mut(r.0).map_or(0, |n| {
                    n.osc.advance_to(at);
                    n.osc.true_error_at(at)
                }),
            };
            for (slot, series) in self.nodes.iter_mut().zip(s.series.iter_mut()) {
                slot.osc.advance_to(at);
                series.push(s.next_ns, slot.osc.true_error_at(at) - reference);
            }
            s.next_ns += s.interval_ns;
        }
        self.sampler = Some(s);
    }

    /// Handles one event; returns the node it concerned.
    fn handle(&mut self, ev: Event) -> Option<NodeId> {
        match ev {
            Event::Start(n) => {
                if let Some(slot) = self.nodes.get_mut(n.0) {
                    slot.running = true;
                }
                self.record(n, TraceKind::Start);
                self.call(n, |node, ctx| node.start(ctx));
                Some(n)
            }
            Event::Timer {
                node: n,
                generation,
            } => {
                self.fire_timer(n, generation);
                Some(n)
            }
            Event::Depart { from, data, token } => {
                self.depart(from, data, token);
                Some(from.node)
            }
            Event::Arrive { to, data } => {
                self.arrive(to, data);
                Some(to.node)
            }
            Event::TxTimestamp { node: n, token, ts } => {
                let running = self.nodes.get(n.0).is_some_and(|s| s.running);
                if running {
                    self.record(
                        n,
                        TraceKind::TxTimestamp {
                            token: token.id(),
                            ts,
                        },
                    );
                    if let Some(slot) = self.nodes.get_mut(n.0) {
                        slot.stats.tx_timestamps += 1;
                    }
                    self.call(n, move |node, ctx| node.handle_tx_timestamp(ctx, token, ts));
                }
                Some(n)
            }
            Event::Script(f) => {
                f(self);
                None
            }
        }
    }

    fn record(&mut self, node: NodeId, kind: TraceKind) {
        self.trace.record(TraceEvent {
            t_ns: self.now,
            node,
            kind,
        });
    }

    /// Brings `n`'s oscillator to now and returns its context.
    fn ctx(&mut self, n: NodeId) -> Option<NodeCtx> {
        let at = self.abs(self.now);
        let slot = self.nodes.get_mut(n.0)?;
        slot.osc.advance_to(at);
        Some(NodeCtx {
            now: slot.osc.monotonic_at(at),
            clock_ns: slot.osc.clock_at(at),
        })
    }

    /// Takes a timestamp in `n`'s PTP clock now (with noise).
    fn timestamp(&mut self, n: NodeId) -> i64 {
        let at = self.abs(self.now);
        self.nodes.get_mut(n.0).map_or(0, |slot| {
            slot.osc.advance_to(at);
            let noise = slot.cfg.timestamp_noise.sample_ns(&mut slot.ts_rng);
            slot.osc.clock_at(at).saturating_add(noise)
        })
    }

    /// Calls into a node, executes its actions and re-arms its timer.
    fn call(&mut self, n: NodeId, f: impl FnOnce(&mut dyn SimNode, &NodeCtx) -> Vec<Action>) {
        let Some(ctx) = self.ctx(n) else { return };
        let Some(slot) = self.nodes.get_mut(n.0) else {
            return;
        };
        let actions = f(slot.node.as_mut(), &ctx);
        for a in actions {
            self.execute(n, a);
        }
        self.rearm_timer(n);
    }

    fn rearm_timer(&mut self, n: NodeId) {
        let at = self.abs(self.now);
        let epoch = self.epoch_ns;
        let Some(slot) = self.nodes.get_mut(n.0) else {
            return;
        };
        let deadline = if slot.running {
            slot.node.poll_timeout()
        } else {
            None
        };
        if deadline == slot.timer.map(|t| t.0) {
            return;
        }
        slot.timer_generation += 1;
        let generation = slot.timer_generation;
        match deadline {
            None => slot.timer = None,
            Some(d) => {
                slot.timer = Some((d, generation));
                let fire = slot.osc.true_time_of_monotonic(d, at) - epoch;
                self.push(
                    fire,
                    Event::Timer {
                        node: n,
                        generation,
                    },
                );
            }
        }
    }

    fn fire_timer(&mut self, n: NodeId, generation: u64) {
        let at = self.abs(self.now);
        let epoch = self.epoch_ns;
        let Some(slot) = self.nodes.get_mut(n.0) else {
            return;
        };
        let Some((deadline, g)) = slot.timer else {
            return;
        };
        if g != generation || !slot.running {
            return;
        }
        slot.osc.advance_to(at);
        if slot.osc.monotonic_at(at) < deadline {
            // Wander moved the oscillator since the timer was armed: try again later.
            let fire = slot.osc.true_time_of_monotonic(deadline, at) - epoch;
            self.push(
                fire.max(self.now + 1),
                Event::Timer {
                    node: n,
                    generation,
                },
            );
            return;
        }
        slot.timer = None;
        slot.stats.timers += 1;
        self.record(n, TraceKind::Timer);
        self.call(n, |node, ctx| node.handle_timer(ctx));
    }

    fn execute(&mut self, n: NodeId, action: Action) {
        let at = self.abs(self.now);
        match action {
            Action::Send {
                port, data, token, ..
            } => self.send(n, port, data, token),
            Action::AdjustClock(adj) => {
                let Some(slot) = self.nodes.get_mut(n.0) else {
                    return;
                };
                slot.osc.advance_to(at);
                let kind = match adj {
                    ClockAdjustment::Step { offset_ns } => {
                        slot.osc.step_at(at, offset_ns);
                        slot.stats.steps += 1;
                        TraceKind::Step { offset_ns }
                    }
                    ClockAdjustment::Frequency { ppb } => {
                        let applied = slot.osc.adjust_frequency_at(at, ppb);
                        slot.stats.frequency_adjustments += 1;
                        slot.stats.last_frequency_ppb = applied;
                        TraceKind::Frequency { ppb: applied }
                    }
                };
                self.record(n, kind);
            }
            Action::PortStateChanged(change) => {
                let (port, from, to) = (change.port, change.from, change.to);
                self.state_changes.push(StateChange {
                    t_ns: self.now,
                    node: n,
                    port,
                    from,
                    to,
                });
                self.record(n, TraceKind::PortState { port, from, to });
            }
        }
    }

    fn send(&mut self, n: NodeId, port: u16, data: Vec<u8>, token: Option<TxToken>) {
        let now = self.now;
        let from = PortRef::new(n, port);
        let connected = self.port_links.contains_key(&from);
        let Some(slot) = self.nodes.get_mut(n.0) else {
            return;
        };
        let Some(last) = usize::from(port)
            .checked_sub(1)
            .and_then(|i| slot.last_departure.get_mut(i))
        else {
            slot.stats.dropped_bad_port += 1;
            self.record(n, TraceKind::Unconnected { port });
            return;
        };
        if !connected {
            slot.stats.dropped_unconnected += 1;
            self.record(n, TraceKind::Unconnected { port });
            return;
        }
        let latency = slot
            .cfg
            .tx_latency_ns
            .saturating_add(slot.cfg.tx_latency.sample_ns(&mut slot.latency_rng))
            .max(0);
        let depart = now.saturating_add(latency).max(*last);
        *last = depart;
        slot.stats.frames_sent += 1;
        self.push(depart, Event::Depart { from, data, token });
    }

    fn depart(&mut self, from: PortRef, mut data: Vec<u8>, token: Option<TxToken>) {
        let n = from.node;
        let egress_ts = self.timestamp(n);
        let Some(slot) = self.nodes.get_mut(n.0) else {
            return;
        };
        slot.node.on_egress(from.port, &mut data, egress_ts);
        let ts_delay = slot.cfg.tx_timestamp_delay_ns.max(0);
        if let Some(token) = token {
            self.push(
                self.now + ts_delay,
                Event::TxTimestamp {
                    node: n,
                    token,
                    ts: egress_ts,
                },
            );
        }
        let Some(&link_id) = self.port_links.get(&from) else {
            return;
        };
        let now = self.now;
        let Some(link) = self.links.get_mut(link_id.0) else {
            return;
        };
        let Some((d, to)) = link.route(from) else {
            return;
        };
        let (fifo, up) = (link.fifo, link.up);
        let arrival = link
            .dirs
            .get_mut(d)
            .and_then(|dir| dir.transit(now, fifo, up));
        let trace_data = data.clone();
        self.record(
            n,
            TraceKind::Depart {
                port: from.port,
                data: trace_data,
                egress_ts,
            },
        );
        match arrival {
            Some(t) => self.push(t, Event::Arrive { to, data }),
            None => self.record(n, TraceKind::Lost { port: from.port }),
        }
    }

    fn arrive(&mut self, to: PortRef, data: Vec<u8>) {
        let n = to.node;
        let Some(slot) = self.nodes.get_mut(n.0) else {
            return;
        };
        if !slot.running {
            slot.stats.dropped_stopped += 1;
            return;
        }
        slot.stats.frames_received += 1;
        let rx_ts = self.timestamp(n);
        self.record(
            n,
            TraceKind::Arrive {
                port: to.port,
                rx_ts,
            },
        );
        self.call(n, |node, ctx| {
            node.handle_message(ctx, to.port, &data, rx_ts)
        });
    }

    // ---- scenario control ----

    /// Stops a node (its frames and timers are dropped) or restarts it (its `start` runs again).
    pub fn set_node_running(&mut self, n: NodeId, running: bool) {
        let Some(slot) = self.nodes.get_mut(n.0) else {
            return;
        };
        if running && !slot.running {
            let now = self.now;
            self.push(now, Event::Start(n));
        } else if !running {
            slot.running = false;
            slot.timer = None;
            slot.timer_generation += 1;
        }
    }

    /// Takes a link down (every frame is lost) or up.
    pub fn set_link_up(&mut self, l: LinkId, up: bool) {
        if let Some(link) = self.links.get_mut(l.0) {
            link.up = up;
        }
    }

    /// Changes a node's free-running frequency error now (a temperature step).
    pub fn set_frequency_error(&mut self, n: NodeId, ppb: f64) {
        let at = self.abs(self.now);
        if let Some(slot) = self.nodes.get_mut(n.0) {
            slot.osc.advance_to(at);
            slot.osc.set_frequency_error_at(at, ppb);
        }
    }

    // ---- observation ----

    /// The node of type `T` at `n`, if it is one.
    pub fn node<T: SimNode>(&self, n: NodeId) -> Option<&T> {
        let node: &dyn std::any::Any = self.nodes.get(n.0)?.node.as_ref();
        node.downcast_ref::<T>()
    }

    /// Mutable access to the node of type `T` at `n`.
    pub fn node_mut<T: SimNode>(&mut self, n: NodeId) -> Option<&mut T> {
        let node: &mut dyn std::any::Any = self.nodes.get_mut(n.0)?.node.as_mut();
        node.downcast_mut::<T>()
    }

    /// A node's configuration.
    pub fn node_config(&self, n: NodeId) -> Option<&NodeConfig> {
        self.nodes.get(n.0).map(|s| &s.cfg)
    }

    /// A node's oscillator and PTP clock (brought to the current instant).
    pub fn oscillator(&mut self, n: NodeId) -> Option<&Oscillator> {
        let at = self.abs(self.now);
        let slot = self.nodes.get_mut(n.0)?;
        slot.osc.advance_to(at);
        Some(&slot.osc)
    }

    /// A node's PTP clock minus true time, now (ns).
    pub fn true_error(&mut self, n: NodeId) -> i64 {
        let at = self.abs(self.now);
        self.oscillator(n).map_or(0, |o| o.true_error_at(at))
    }

    /// A node's counters.
    pub fn node_stats(&self, n: NodeId) -> NodeStats {
        self.nodes.get(n.0).map(|s| s.stats).unwrap_or_default()
    }

    /// A link's counters: [a→b, b→a].
    pub fn link_stats(&self, l: LinkId) -> [DirectionStats; 2] {
        self.links
            .get(l.0)
            .map_or([DirectionStats::default(); 2], |k| {
                [k.dirs[0].stats, k.dirs[1].stats]
            })
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The node named `name`.
    pub fn node_by_name(&self, name: &str) -> Option<NodeId> {
        self.nodes
            .iter()
            .position(|s| s.cfg.name == name)
            .map(NodeId)
    }

    /// The trace (digest always, events if kept).
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// Port state changes reported so far.
    pub fn state_changes(&self) -> &[StateChange] {
        &self.state_changes
    }

    /// The time-error series of `n` (empty unless sampling was enabled).
    pub fn time_error_series(&self, n: NodeId) -> Option<&TeSeries> {
        self.sampler.as_ref()?.series.get(n.0)
    }
}
