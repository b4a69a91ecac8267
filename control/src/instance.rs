//! The PTP Instance (ordinary or boundary clock) as the BMCA sees it: the clock-wide data sets
//! and the driver that runs the state decision over all ports ([`BoundaryClock`]), plus the
//! BMCA part of each port ([`BmcaPort`]: portDS and foreign master table).
//!
//! An ordinary clock is the one-port case. Pure: `now` is an input, nothing is sent.

use xptp_datapath::wire::ClockIdentity;

use crate::bmca::{
    apply_update, state_decision, AnnounceInfo, AnnounceRecorded, AnnounceRejected, DataSetUpdate,
    ForeignMasterList, PortDecision, PortInput,
};
use crate::datasets::{
    ClockConfig, CurrentDs, DefaultDs, ParentDs, PortConfig, PortDs, TimePropertiesDs,
};
use crate::port::state::{next, Event, FsmContext, PortState};
use crate::time::Instant;

/// The BMCA state of one port: portDS and the foreign master table (9.3.2.4.5).
#[derive(Clone, Debug)]
pub struct BmcaPort {
    pub ds: PortDs,
    pub config: PortConfig,
    pub foreign: ForeignMasterList,
}

impl BmcaPort {
    /// Port `number` (1-based) of the clock `clock_identity`, in INITIALIZING.
    pub fn new(config: PortConfig, clock_identity: ClockIdentity, number: u16) -> Self {
        BmcaPort {
            ds: PortDs::new(&config, clock_identity, number),
            config,
            foreign: ForeignMasterList::default(),
        }
    }

    /// Records a received Announce in the foreign master table (9.3.2.5 qualification).
    pub fn handle_announce(
        &mut self,
        now: Instant,
        ann: AnnounceInfo,
        clock: &BoundaryClock,
    ) -> Result<AnnounceRecorded, AnnounceRejected> {
        self.foreign.record(
            now,
            ann,
            clock.default_ds.clock_identity,
            clock.config.max_steps_removed,
            self.ds.log_announce_interval,
        )
    }

    /// Feeds one event to the port state machine; returns `(from, to)` when the state changed.
    /// Leaving the slave side or entering FAULTY/DISABLED/INITIALIZING clears the foreign
    /// master table as Table 27 asks for a re-initialised port.
    pub fn apply_event(
        &mut self,
        event: Event,
        ctx: &FsmContext,
    ) -> Option<(PortState, PortState)> {
        let from = self.ds.port_state;
        let to = next(from, event, ctx);
        if to == from {
            return None;
        }
        if matches!(
            to,
            PortState::Initializing | PortState::Faulty | PortState::Disabled
        ) {
            self.foreign.clear();
        }
        self.ds.port_state = to;
        Some((from, to))
    }

    fn input(&self, now: Instant, clock: &BoundaryClock) -> PortInput {
        PortInput {
            identity: self.ds.port_identity,
            state: self.ds.port_state,
            master_only: self.ds.master_only,
            local_priority: self.ds.local_priority,
            erbest: self
                .foreign
                .erbest(
                    now,
                    self.ds.log_announce_interval,
                    self.ds.port_identity,
                    self.ds.local_priority,
                    clock.config.dataset_comparison,
                )
                .copied(),
        }
    }
}

/// What one run of [`BoundaryClock::state_decision`] produced.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DecisionReport {
    /// Per port that got a decision: its recommended state and decision code.
    pub decisions: Vec<PortDecision>,
    /// The port number Ebest was received on.
    pub ebest_port: Option<u16>,
    /// The update applied to currentDS/parentDS/timePropertiesDS.
    pub update: DataSetUpdate,
    /// parentDS.parentPortIdentity changed (the slave port must re-calibrate).
    pub parent_changed: bool,
}

impl DecisionReport {
    /// The FSM context for the port at `index` (slave-only variant, new-master flag).
    pub fn fsm_context(&self, clock: &BoundaryClock) -> FsmContext {
        FsmContext {
            slave_only: clock.default_ds.slave_only,
            new_master: self.parent_changed,
            gm_capable_is_false: !clock.default_ds.gm_capable,
        }
    }
}

/// A PTP Instance's clock-wide data sets and its BMCA driver (IEEE 1588-2019 9.3.3, 9.3.5).
#[derive(Clone, Debug)]
pub struct BoundaryClock {
    pub config: ClockConfig,
    pub default_ds: DefaultDs,
    pub current_ds: CurrentDs,
    pub parent_ds: ParentDs,
    pub time_properties_ds: TimePropertiesDs,
    /// What this instance announces about time when it is grandmaster (from the
    /// configuration, later from a local reference such as GNSS).
    pub local_time_properties: TimePropertiesDs,
}

impl BoundaryClock {
    /// A clock with `number_ports` ports, its own grandmaster until a state decision says
    /// otherwise (8.2 initialisation).
    pub fn new(config: ClockConfig, identity: ClockIdentity, number_ports: u16) -> Self {
        let default_ds = DefaultDs::new(&config, identity, number_ports);
        let local = TimePropertiesDs::own(&config);
        BoundaryClock {
            parent_ds: ParentDs::own(&default_ds),
            current_ds: CurrentDs::default(),
            time_properties_ds: local,
            local_time_properties: local,
            default_ds,
            config,
        }
    }

    /// Runs the state decision algorithm over `ports` at `now` (Erbest per port, Ebest over
    /// ports, Figure 33) and applies the data set update it implies (Tables 30-33). The
    /// returned decisions are to be fed to each port as STATE_DECISION_EVENTs, for instance
    /// with [`BoundaryClock::state_decision_and_apply`].
    pub fn state_decision(&mut self, now: Instant, ports: &[&BmcaPort]) -> DecisionReport {
        let inputs: Vec<PortInput> = ports.iter().map(|p| p.input(now, self)).collect();
        let sd = state_decision(&self.default_ds, self.config.dataset_comparison, &inputs);
        let parent_changed = apply_update(
            &sd.update,
            &self.default_ds,
            &self.local_time_properties,
            &mut self.current_ds,
            &mut self.parent_ds,
            &mut self.time_properties_ds,
        );
        DecisionReport {
            ebest_port: sd
                .ebest_index
                .and_then(|i| ports.get(i))
                .map(|p| p.ds.port_identity.port_number),
            decisions: sd.decisions,
            update: sd.update,
            parent_changed,
        }
    }

    /// [`BoundaryClock::state_decision`] followed by the STATE_DECISION_EVENT on every port
    /// that got a decision. Returns the state changes as `(port number, from, to, decision)`.
    pub fn state_decision_and_apply(
        &mut self,
        now: Instant,
        ports: &mut [BmcaPort],
    ) -> (DecisionReport, Vec<(u16, PortState, PortState)>) {
        let report = {
            let refs: Vec<&BmcaPort> = ports.iter().collect();
            self.state_decision(now, &refs)
        };
        let ctx = report.fsm_context(self);
        let mut changes = Vec::new();
        for d in &report.decisions {
            if let Some(p) = ports.get_mut(d.index) {
                if let Some((from, to)) = p.apply_event(Event::StateDecision(d.recommended), &ctx) {
                    changes.push((d.port_number, from, to));
                }
            }
        }
        (report, changes)
    }
}
