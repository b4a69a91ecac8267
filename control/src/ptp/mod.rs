//! The sans-IO PTP Instance: an ordinary clock (one port), a boundary clock (several ports) or
//! a grandmaster, driven entirely by its caller (quinn-proto style).
//!
//! # API
//!
//! ```text
//! PtpInstance::new(config, ports, clock_identity, rng)
//! handle_message(now, port, bytes, rx_timestamp)   a received PTP message
//! handle_tx_timestamp(token, tx_timestamp)         the egress time of a message sent with a token
//! handle_timer(now)                                call when now >= poll_timeout()
//! handle_fault(now, port)                          the shell saw the port fail (link, socket)
//! poll_timeout() -> Option<Instant>                the next deadline
//! poll_action() -> Option<Action>                  drain after every handle_* call
//! handle_message_from(.., Some(source_address))    the same, naming the frame's sender
//! poll_alarm() -> Option<Alarm>                    rogue master, grandmaster change, time jump
//! holdover_status() -> HoldoverStatus              free-running, locked or in holdover
//! rogue_masters() -> &[RogueMaster]                who was blocked where (status, metrics)
//! ```
//!
//! Security (see [`crate::security`]): a port with an `spp` signs everything it sends and
//! drops, counting each under its [`RejectReason`](crate::port::counters::RejectReason),
//! received messages that lack a valid AUTHENTICATION TLV (`auth_missing`, `auth_bad_icv`,
//! `auth_unknown_key`) or replay an old sequenceId (`auth_replay`); a `grandmaster_block`
//! port drops Announce/Sync/Follow_Up (`grandmaster_blocked`) and records the sender; an
//! acceptable master table leaves other senders unqualified (`not_acceptable_master`).
//!
//! - `now` is a monotonic [`Instant`] that only drives timers. The first call (of any
//!   `handle_*`) initialises the ports; until then `poll_timeout` returns `Instant::ZERO`.
//! - `bytes` is the PTP message alone (the payload after Ethernet/UDP framing has been
//!   removed, e.g. by `xptp_datapath::wire::frame::parse`).
//! - Timestamps (`rx_timestamp`, `tx_timestamp`) are nanoseconds (`i128`) on the instance's own
//!   clock, the clock this instance disciplines (PHC, virtual clock, simulated oscillator).
//!   The instance never reads a clock: when it needs "the time now" for an originTimestamp it
//!   extrapolates from the last timestamp it was given (two-step messages carry the precise
//!   time in the Follow_Up anyway).
//! - Actions ([`Action`]): `Send` a message on a port (event messages needing a timestamp
//!   carry a [`TxToken`](crate::port::TxToken), to be handed back once through
//!   `handle_tx_timestamp`; one-step messages carry a [`OneStep`](crate::port::OneStep) telling
//!   the datapath what to insert at egress), `AdjustClock` (servo output: step and/or
//!   frequency), `PortStateChanged` (printable as linuxptp does).
//! - Randomness (announce receipt timeout extension 9.2.6.12, Delay_Req spacing 9.5.11.2) comes
//!   from the seeded generator given at construction, so runs are reproducible.
//!
//! One-step Sync is modelled as "Sync with twoStepFlag = 0 whose originTimestamp the datapath
//! overwrites at egress" ([`OneStep::OriginTimestamp`](crate::port::OneStep)); no Follow_Up is
//! sent. A two-step Sync whose TX timestamp does not come back within
//! [`InstanceConfig::tx_timestamp_timeout`] gets no Follow_Up and is counted in
//! [`PortCounters::tx_timestamp_timeout`].
//!
//! Holdover (see `holdover`): when the clock loses its master after having been locked, it
//! holds the averaged locked frequency (an `AdjustClock(Frequency)` action), reports it in
//! [`PtpInstance::holdover_status`] and [`InstanceCounters`], and — if configured, on a
//! grandmaster-capable clock — advertises a degrading clockClass while in holdover.
//!
//! Module layout: this file holds the configuration, the state and the public calls;
//! `rx` handles received messages, `tx` timers and transmissions, `fsm` the port state machine
//! and the state decision, `port` the per-port runtime state, `holdover` master loss and
//! clockClass degradation.

mod fsm;
mod guard;
mod holdover;
mod port;
mod rx;
mod tx;

use core::fmt;
use core::time::Duration;
use std::collections::VecDeque;
use std::sync::Arc;

use rand::Rng;
use xptp_datapath::wire::{ClockIdentity, TimeInterval};

use crate::datasets::{
    ClockConfig, CurrentDs, DefaultDs, ParentDs, PortConfig, PortDs, TimePropertiesDs,
};
use crate::instance::{BmcaPort, BoundaryClock};
use crate::port::counters::PortCounters;
use crate::port::messages::C37238Local;
use crate::port::state::PortState;
use crate::port::timers::Deadlines;
use crate::port::{Action, TxToken, TxTokenSource};
use crate::profile::{Profile, C37238};
use crate::security::rogue::RogueTable;
use crate::security::{Alarm, AlarmConfig, RogueMaster, SecurityAssociations};
use crate::servo::{
    self, Holdover, HoldoverConfig, HoldoverStatus, Servo, ServoConfig, ServoState,
};
use crate::time::Instant;

use port::{PendingTx, PortRuntime};

/// Instance-wide configuration beyond [`ClockConfig`].
#[derive(Clone, Debug)]
pub struct InstanceConfig {
    /// defaultDS and the BMCA variant.
    pub clock: ClockConfig,
    /// Servo and path delay filter (linuxptp `clock_servo`, `delay_filter`, ...).
    pub servo: ServoConfig,
    /// IEEE C37.238: announce its TLV, and (if `require_tlv`) drop Announces without it.
    pub c37_238: Option<C37238>,
    /// The C37.238 TLV values this clock announces as grandmaster.
    pub c37_238_local: C37238Local,
    /// linuxptp `path_trace_enabled`: append PATH_TRACE to Announce and drop looped
    /// Announces (IEEE 1588-2019 16.2).
    pub path_trace_enabled: bool,
    /// linuxptp `free_running`: measure but never adjust the clock (the slave stays
    /// UNCALIBRATED, as ptp4l's does).
    pub free_running: bool,
    /// Answer Pdelay_Req one-step (turnaround in correctionField, inserted by the datapath)
    /// instead of two-step.
    pub pdelay_one_step: bool,
    /// linuxptp `tx_timestamp_timeout`: how long to wait for an egress timestamp.
    pub tx_timestamp_timeout: Duration,
    /// Exchanges spanned by the neighborRateRatio estimate (≥ 2).
    pub rate_ratio_window: usize,
    /// The security association database (linuxptp `sa_file`); ports with an `spp` sign and
    /// verify with it (IEEE 1588-2019 16.14).
    pub security: Option<Arc<SecurityAssociations>>,
    /// Alarm thresholds.
    pub alarms: AlarmConfig,
    /// Holdover: how many locked servo outputs are averaged into the frequency held when the
    /// master is lost, the holdover budget and the clockClass ladder (see [`holdover`]).
    pub holdover: HoldoverConfig,
    /// xptp `holdover_clock_class_ladder` (not `off`): a grandmaster-capable clock (gmCapable,
    /// not slaveOnly) that loses a grandmaster whose clockClass is `holdover.ladder.locked`
    /// or better (e.g. 6, locked to a primary reference) advertises the ladder's holdover
    /// classes in its defaultDS while in holdover; otherwise its configured clockClass.
    pub holdover_clock_class: bool,
}

impl InstanceConfig {
    /// Defaults around a clock configuration (linuxptp defaults, 10 ms TX timestamp timeout).
    pub fn new(clock: ClockConfig) -> Self {
        InstanceConfig {
            clock,
            servo: ServoConfig::default(),
            c37_238: None,
            c37_238_local: C37238Local::default(),
            path_trace_enabled: false,
            free_running: false,
            pdelay_one_step: false,
            tx_timestamp_timeout: Duration::from_millis(10),
            rate_ratio_window: 4,
            security: None,
            alarms: AlarmConfig::default(),
            holdover: HoldoverConfig::default(),
            holdover_clock_class: false,
        }
    }

    /// The profile's defaults: the instance configuration and the port configuration to give
    /// every port.
    pub fn from_profile(profile: &Profile) -> (Self, PortConfig) {
        let (clock, port) = profile.configs();
        let mut c = Self::new(clock);
        c.c37_238 = profile.c37_238;
        (c, port)
    }
}

impl Default for InstanceConfig {
    fn default() -> Self {
        Self::new(ClockConfig::default())
    }
}

/// One offset measurement handed to the servo (or, free-running, only recorded).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Measurement {
    pub port: u16,
    /// The Sync's sequenceId.
    pub sequence_id: u16,
    /// Master's origin time of the Sync, ns.
    pub t1: i128,
    /// Local receive time of the Sync, ns.
    pub t2: i128,
    /// E2E: the Delay_Req's egress and the master's receive time of the last exchange.
    pub t3: Option<i128>,
    pub t4: Option<i128>,
    /// Sync + Follow_Up correctionField.
    pub correction: TimeInterval,
    /// The filtered meanPathDelay (E2E) or meanLinkDelay (P2P) used.
    pub mean_delay: TimeInterval,
    /// offsetFromMaster (11.2), with delayAsymmetry applied.
    pub offset_from_master: TimeInterval,
}

/// Counters that belong to no port.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct InstanceCounters {
    /// Messages for a port number this instance does not have.
    pub unknown_port: u64,
    /// TX timestamps for a token that is no longer (or never was) pending.
    pub unknown_tx_token: u64,
    /// Alarms raised, by kind.
    pub alarms_rogue_master: u64,
    pub alarms_grandmaster_changed: u64,
    pub alarms_time_jump: u64,
    /// Alarms dropped because the shell did not drain [`PtpInstance::poll_alarm`].
    pub alarms_dropped: u64,
    /// Times the clock lost its master after having been locked and entered holdover.
    pub holdover_entered: u64,
    /// Times holdover ended because the clock followed a master again.
    pub holdover_exited: u64,
    /// Master losses while never locked: nothing learned to hold (the clock keeps whatever
    /// frequency it had).
    pub master_lost_unlocked: u64,
    /// Changes of defaultDS.clockClass along the holdover ladder (each re-runs the BMCA).
    pub clock_class_changes: u64,
}

/// The PTP Instance. See the module documentation for the calling convention.
pub struct PtpInstance {
    cfg: InstanceConfig,
    clock: BoundaryClock,
    ports: Vec<PortRuntime>,
    deadlines: Deadlines,
    pending: Vec<PendingTx>,
    tokens: TxTokenSource,
    actions: VecDeque<Action>,
    rng: Box<dyn Rng + Send>,
    servo: Box<dyn Servo>,
    servo_state: ServoState,
    counters: InstanceCounters,
    /// (monotonic instant, local clock ns) of the latest timestamp seen: the estimate of
    /// "local time now" for originTimestamps.
    time_ref: Option<(Instant, i128)>,
    initialized: bool,
    rogues: RogueTable,
    alarms: VecDeque<Alarm>,
    guard: guard::GuardState,
    holdover: Holdover,
    /// The grandmaster (identity, clockClass) at the latest locked sample.
    locked_gm: Option<(ClockIdentity, u8)>,
    /// The current holdover follows the clockClass ladder (it began after losing a
    /// grandmaster at least as good as the ladder's locked class).
    ladder_engaged: bool,
    /// A port was SLAVE or UNCALIBRATED after the last master check.
    had_master: bool,
    /// The latest `now` seen by a `handle_*` call (for [`PtpInstance::holdover_status`]).
    last_now: Instant,
}

impl fmt::Debug for PtpInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PtpInstance")
            .field("clock", &self.clock)
            .field("ports", &self.ports.len())
            .field("servo_state", &self.servo_state)
            .finish_non_exhaustive()
    }
}

impl PtpInstance {
    /// An instance with one port per entry of `ports` (numbered from 1), identified by
    /// `clock_identity` (which overrides `config.clock.clock_identity`). All ports start in
    /// INITIALIZING and leave it on the first `handle_*` call.
    pub fn new(
        config: InstanceConfig,
        ports: Vec<PortConfig>,
        clock_identity: ClockIdentity,
        rng: Box<dyn Rng + Send>,
    ) -> Self {
        let n = u16::try_from(ports.len()).unwrap_or(u16::MAX);
        let mut clock_cfg = config.clock.clone();
        clock_cfg.clock_identity = Some(clock_identity);
        let clock = BoundaryClock::new(clock_cfg, clock_identity, n);
        let ports = ports
            .into_iter()
            .take(usize::from(n))
            .enumerate()
            .map(|(i, pc)| {
                let number = u16::try_from(i + 1).unwrap_or(u16::MAX);
                PortRuntime::new(BmcaPort::new(pc, clock_identity, number), &config)
            })
            .collect();
        let servo = servo::build(config.servo.clock_servo, &config.servo);
        PtpInstance {
            holdover: Holdover::new(config.holdover.clone()),
            locked_gm: None,
            ladder_engaged: false,
            had_master: false,
            last_now: Instant::ZERO,
            cfg: config,
            clock,
            ports,
            deadlines: Deadlines::new(),
            pending: Vec::new(),
            tokens: TxTokenSource::default(),
            actions: VecDeque::new(),
            rng,
            servo,
            servo_state: ServoState::Unlocked,
            counters: InstanceCounters::default(),
            time_ref: None,
            initialized: false,
            rogues: RogueTable::default(),
            alarms: VecDeque::new(),
            guard: guard::GuardState::default(),
        }
    }

    /// The next action for the shell, in the order the core produced them.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When `handle_timer` must be called next (at the latest).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.initialized {
            return Some(Instant::ZERO);
        }
        let pending = self.pending.iter().map(|p| p.deadline).min();
        match (self.deadlines.poll_timeout(), pending) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The egress timestamp (local clock ns) of the message sent with `token`.
    pub fn handle_tx_timestamp(&mut self, token: TxToken, tx_timestamp: i128) {
        self.on_tx_timestamp(token.id(), tx_timestamp);
    }

    /// The shell detected a fault on `port` (link down, socket error): FAULT_DETECTED
    /// (9.2.6.6). The port recovers after its fault_reset_interval.
    pub fn handle_fault(&mut self, now: Instant, port: u16) {
        self.ensure_init(now);
        if let Some(idx) = self.index(port) {
            self.port_event(
                now,
                idx,
                crate::port::state::Event::FaultDetected,
                None,
                false,
            );
        }
        self.master_check(now);
    }

    /// The shell saw the fault on `port` go away (link up again, datapath worker back):
    /// FAULT_CLEARED (9.2.6.7) at once, as linuxptp does on a link-up notification, instead
    /// of waiting for the fault_reset_interval. No effect on a port that is not FAULTY.
    pub fn handle_fault_cleared(&mut self, now: Instant, port: u16) {
        self.ensure_init(now);
        if let Some(idx) = self.index(port) {
            if self.ports.get(idx).map(|p| p.bmca.ds.port_state) == Some(PortState::Faulty) {
                self.port_event(
                    now,
                    idx,
                    crate::port::state::Event::FaultCleared,
                    None,
                    false,
                );
            }
        }
    }

    /// Management SET PRIORITY1 / PRIORITY2 (IEEE 1588-2019 15.5.3.3.3–4): changes
    /// defaultDS.priority1/2 and runs the state decision (9.3) with the new values.
    pub fn set_priorities(&mut self, now: Instant, priority1: Option<u8>, priority2: Option<u8>) {
        self.ensure_init(now);
        if let Some(p) = priority1 {
            self.clock.default_ds.priority1 = p;
        }
        if let Some(p) = priority2 {
            self.clock.default_ds.priority2 = p;
        }
        self.state_decision(now);
        self.master_check(now);
    }

    // ---- read access -------------------------------------------------------------------

    /// The number of ports.
    pub fn number_ports(&self) -> u16 {
        self.clock.default_ds.number_ports
    }

    /// portDS.portState of `port` (1-based).
    pub fn port_state(&self, port: u16) -> Option<PortState> {
        self.port_ref(port).map(|p| p.bmca.ds.port_state)
    }

    /// portDS of `port`.
    pub fn port_ds(&self, port: u16) -> Option<&PortDs> {
        self.port_ref(port).map(|p| &p.bmca.ds)
    }

    /// The counters of `port`.
    pub fn port_counters(&self, port: u16) -> Option<&PortCounters> {
        self.port_ref(port).map(|p| &p.counters)
    }

    /// Counters that belong to no port.
    pub fn instance_counters(&self) -> &InstanceCounters {
        &self.counters
    }

    /// The last measurement taken on `port` (a slave port).
    pub fn last_measurement(&self, port: u16) -> Option<Measurement> {
        self.port_ref(port).and_then(|p| p.last_measurement)
    }

    /// The filtered meanLinkDelay (P2P) or meanPathDelay (E2E) of `port`.
    pub fn mean_delay(&self, port: u16) -> Option<TimeInterval> {
        self.port_ref(port)
            .and_then(|p| p.mean_delay)
            .map(port::to_interval)
    }

    /// neighborRateRatio of a P2P `port` (1.0 until two two-step exchanges completed).
    pub fn neighbor_rate_ratio(&self, port: u16) -> Option<f64> {
        self.port_ref(port).map(|p| p.nrr.as_f64())
    }

    /// defaultDS.
    pub fn default_ds(&self) -> &DefaultDs {
        &self.clock.default_ds
    }

    /// currentDS.
    pub fn current_ds(&self) -> &CurrentDs {
        &self.clock.current_ds
    }

    /// parentDS.
    pub fn parent_ds(&self) -> &ParentDs {
        &self.clock.parent_ds
    }

    /// timePropertiesDS.
    pub fn time_properties_ds(&self) -> &TimePropertiesDs {
        &self.clock.time_properties_ds
    }

    /// The servo's lock state.
    pub fn servo_state(&self) -> ServoState {
        self.servo_state
    }

    /// Holdover at the latest `now` the instance was given: free-running (never locked),
    /// locked, or in holdover since when, at which frequency, within budget or not; its
    /// `clock_class` is the one defaultDS holds (the ladder's only when it is engaged).
    pub fn holdover_status(&self) -> HoldoverStatus {
        HoldoverStatus {
            clock_class: self.clock.default_ds.clock_quality.clock_class,
            ..self.holdover.status(holdover::ns(self.last_now))
        }
    }

    /// The configuration.
    pub fn config(&self) -> &InstanceConfig {
        &self.cfg
    }

    /// Replaces the security association database (a re-read `sa_file`, see
    /// [`crate::security::reload`]): each port with an `spp` signs and verifies with its
    /// association in `db` from now on (IEEE 1588-2019 16.14). The ports' replay windows are
    /// kept: they follow senders, not keys (P.2.2).
    pub fn set_security(&mut self, db: Arc<SecurityAssociations>) {
        for p in &mut self.ports {
            p.sa = p
                .bmca
                .config
                .security
                .spp
                .and_then(|spp| db.get(spp).cloned());
        }
        self.cfg.security = Some(db);
    }

    /// The next alarm (rogue master, grandmaster change, time jump) for the shell to log and
    /// export; drain after every `handle_*` call. At most 256 wait; older
    /// ones are dropped and counted in [`InstanceCounters::alarms_dropped`].
    pub fn poll_alarm(&mut self) -> Option<Alarm> {
        self.alarms.pop_front()
    }

    /// The senders blocked on grandmaster-block ports (bounded, least recently seen evicted).
    pub fn rogue_masters(&self) -> &[RogueMaster] {
        self.rogues.entries()
    }

    /// Rogue-master entries evicted to make room for newer ones.
    pub fn rogue_masters_evicted(&self) -> u64 {
        self.rogues.evicted
    }

    // ---- helpers shared by the submodules ----------------------------------------------

    fn index(&self, port: u16) -> Option<usize> {
        let i = usize::from(port).checked_sub(1)?;
        (i < self.ports.len()).then_some(i)
    }

    fn port_ref(&self, port: u16) -> Option<&PortRuntime> {
        self.index(port).and_then(|i| self.ports.get(i))
    }

    fn note_time(&mut self, now: Instant, local: i128) {
        self.time_ref = Some((now, local));
    }

    /// The estimated local time at `now` (0 before any timestamp was seen).
    fn estimate_local(&self, now: Instant) -> i128 {
        match self.time_ref {
            Some((at, local)) => local + i128::from(now.as_nanos()) - i128::from(at.as_nanos()),
            None => 0,
        }
    }

    fn random(&mut self) -> u32 {
        self.rng.next_u32()
    }
}

#[cfg(test)]
mod tests;
