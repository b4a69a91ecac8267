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
    /// The FSM context for feeding these decisions to the ports (slave-only variant,
    /// new-master flag, gmCapable).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bmca::{DecisionCode, TimeFlags};
    use crate::port::state::RecommendedState;
    use xptp_datapath::wire::{ClockQuality, PortIdentity};

    const SEC: u64 = 1_000_000_000;

    fn gm_announce(seq: u16, steps: u16) -> AnnounceInfo {
        AnnounceInfo {
            source_port_identity: PortIdentity::new(ClockIdentity([0x0A; 8]), 1),
            sequence_id: seq,
            log_message_interval: 1,
            current_utc_offset: 37,
            grandmaster_priority1: 128,
            grandmaster_clock_quality: ClockQuality {
                clock_class: 6,
                clock_accuracy: 0x21,
                offset_scaled_log_variance: 0x4E5D,
            },
            grandmaster_priority2: 128,
            grandmaster_identity: ClockIdentity([0x0A; 8]),
            steps_removed: steps,
            time_source: 0x20,
            flags: TimeFlags::from_octet(0x3C),
        }
    }

    /// A two-port boundary clock hears a grandmaster on port 1: port 1 becomes the slave
    /// port, port 2 (already master after its announce timeout) stays master by M3, and the
    /// data sets follow the grandmaster (Table 33). When the GM's records age out, the clock
    /// becomes its own grandmaster again (M2, Table 30).
    #[test]
    fn boundary_clock_follows_a_grandmaster_and_falls_back() {
        let me = ClockIdentity([0x50; 8]);
        let mut bc = BoundaryClock::new(ClockConfig::default(), me, 2);
        let mut ports = vec![
            BmcaPort::new(PortConfig::default(), me, 1),
            BmcaPort::new(PortConfig::default(), me, 2),
        ];
        let ctx = FsmContext::default();
        for p in &mut ports {
            p.apply_event(Event::InitializationComplete, &ctx);
        }
        ports[1].apply_event(Event::AnnounceReceiptTimeoutExpires, &ctx);
        assert_eq!(ports[1].ds.port_state, PortState::Master);

        // Own announcements looped back are refused; the GM's qualify after two.
        let mut own = gm_announce(1, 0);
        own.source_port_identity = PortIdentity::new(me, 2);
        assert_eq!(
            ports[0].handle_announce(Instant(0), own, &bc),
            Err(AnnounceRejected::FromOwnClock)
        );
        assert!(
            !ports[0]
                .handle_announce(Instant(0), gm_announce(1, 2), &bc)
                .unwrap()
                .qualified
        );
        assert!(
            ports[0]
                .handle_announce(Instant(2 * SEC), gm_announce(2, 2), &bc)
                .unwrap()
                .bmca_relevant_change
        );

        let (report, changes) = bc.state_decision_and_apply(Instant(3 * SEC), &mut ports);
        let codes: Vec<_> = report
            .decisions
            .iter()
            .map(|d| (d.port_number, d.code, d.recommended))
            .collect();
        assert_eq!(
            codes,
            vec![
                (1, DecisionCode::S1, RecommendedState::Slave),
                (2, DecisionCode::M3, RecommendedState::Master)
            ]
        );
        assert_eq!(report.ebest_port, Some(1));
        assert!(report.parent_changed);
        assert_eq!(
            changes,
            vec![(1, PortState::Listening, PortState::Uncalibrated)]
        );
        assert_eq!(bc.current_ds.steps_removed, 3);
        assert_eq!(bc.parent_ds.grandmaster_identity, ClockIdentity([0x0A; 8]));
        assert_eq!(bc.parent_ds.grandmaster_clock_quality.clock_class, 6);
        assert_eq!(bc.time_properties_ds.time_source, 0x20);
        assert!(bc.time_properties_ds.time_traceable);

        ports[0].apply_event(Event::MasterClockSelected, &ctx);
        assert_eq!(ports[0].ds.port_state, PortState::Slave);
        // Same master again: no change of parent, the slave stays SLAVE.
        let (report, changes) = bc.state_decision_and_apply(Instant(4 * SEC), &mut ports);
        assert!(!report.parent_changed);
        assert!(changes.is_empty());

        // The GM falls silent: once its record is disqualified the clock is GM again.
        let (report, changes) = bc.state_decision_and_apply(Instant(20 * SEC), &mut ports);
        assert_eq!(report.update, DataSetUpdate::OwnGrandmaster);
        assert_eq!(
            changes,
            vec![(1, PortState::Slave, PortState::Master)],
            "M2 takes the slave port straight to MASTER"
        );
        assert_eq!(bc.current_ds.steps_removed, 0);
        assert_eq!(bc.parent_ds, ParentDs::own(&bc.default_ds));
        assert_eq!(bc.time_properties_ds, bc.local_time_properties);
    }

    #[test]
    fn faulty_port_forgets_its_foreign_masters() {
        let me = ClockIdentity([0x50; 8]);
        let bc = BoundaryClock::new(ClockConfig::default(), me, 1);
        let mut p = BmcaPort::new(PortConfig::default(), me, 1);
        p.apply_event(Event::InitializationComplete, &FsmContext::default());
        p.handle_announce(Instant(0), gm_announce(1, 0), &bc)
            .unwrap();
        assert_eq!(p.foreign.records().len(), 1);
        assert_eq!(
            p.apply_event(Event::FaultDetected, &FsmContext::default()),
            Some((PortState::Listening, PortState::Faulty))
        );
        assert!(p.foreign.records().is_empty());
    }
}
