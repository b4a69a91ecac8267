//! The PTP Port state machine of IEEE 1588-2019 9.2.5 as a pure transition function.
//!
//! [`next`] maps (state, event, context) to the next state and nothing else: it arms no timer and
//! sends nothing. The port shell reacts to the state change (arming the announce receipt or
//! qualification timer, starting Sync transmission, resetting the servo). Two variants exist:
//! the full machine of Figure 30 and the slave-only machine of Figure 31, chosen by
//! [`FsmContext::slave_only`].

use core::fmt;

/// IEEE 1588-2019 8.2.15.3.1, Table 20: portDS.portState. Discriminants are the wire values.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[repr(u8)]
pub enum PortState {
    Initializing = 1,
    Faulty = 2,
    Disabled = 3,
    Listening = 4,
    PreMaster = 5,
    Master = 6,
    Passive = 7,
    Uncalibrated = 8,
    Slave = 9,
}

impl PortState {
    /// The enumeration value used in management messages (Table 20).
    pub const fn to_wire(self) -> u8 {
        self as u8
    }

    /// The name linuxptp prints (`SLAVE`, `PRE_MASTER`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Initializing => "INITIALIZING",
            Self::Faulty => "FAULTY",
            Self::Disabled => "DISABLED",
            Self::Listening => "LISTENING",
            Self::PreMaster => "PRE_MASTER",
            Self::Master => "MASTER",
            Self::Passive => "PASSIVE",
            Self::Uncalibrated => "UNCALIBRATED",
            Self::Slave => "SLAVE",
        }
    }

    /// States in which the port sends Announce and Sync (9.2.5, Table 27).
    pub const fn is_master(self) -> bool {
        matches!(self, Self::Master)
    }

    /// States in which the port tracks a master (and runs its announce receipt timer).
    pub const fn is_slave_side(self) -> bool {
        matches!(self, Self::Uncalibrated | Self::Slave)
    }
}

impl fmt::Display for PortState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The state recommended by the state decision algorithm (9.3.3), which the port receives as a
/// STATE_DECISION_EVENT (9.2.6.8).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum RecommendedState {
    /// BMC_MASTER from M3: master, not grandmaster (enters PRE_MASTER first).
    Master,
    /// BMC_MASTER from M1/M2: this instance is grandmaster (straight to MASTER).
    GrandMaster,
    /// BMC_SLAVE (S1).
    Slave,
    /// BMC_PASSIVE (P1, P2).
    Passive,
}

/// Events of IEEE 1588-2019 9.2.6 that drive the port state machine.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Event {
    /// 9.2.6.2: power applied.
    Powerup,
    /// 9.2.6.3: (re-)initialisation, e.g. the INITIALIZE management command.
    Initialize,
    /// The unnamed transition of Figure 30 out of INITIALIZING once the port's data sets and
    /// communication path are ready.
    InitializationComplete,
    /// 9.2.6.4
    DesignatedEnabled,
    /// 9.2.6.5
    DesignatedDisabled,
    /// 9.2.6.6
    FaultDetected,
    /// 9.2.6.7 (raised by the fault reset timer, linuxptp `fault_reset_interval`).
    FaultCleared,
    /// 9.2.6.8 with the recommended state.
    StateDecision(RecommendedState),
    /// 9.2.6.12
    AnnounceReceiptTimeoutExpires,
    /// 9.2.6.11
    QualificationTimeoutExpires,
    /// 9.2.6.13: the servo lost lock, or no Sync within syncReceiptTimeout.
    SynchronizationFault,
    /// 9.2.6.14: the servo has locked to the selected master.
    MasterClockSelected,
}

impl Event {
    /// The name linuxptp prints for the event in its state-change lines
    /// (`INIT_COMPLETE`, `RS_SLAVE`, `MASTER_CLOCK_SELECTED`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Powerup => "POWERUP",
            Self::Initialize => "INITIALIZE",
            Self::InitializationComplete => "INIT_COMPLETE",
            Self::DesignatedEnabled => "DESIGNATED_ENABLED",
            Self::DesignatedDisabled => "DESIGNATED_DISABLED",
            Self::FaultDetected => "FAULT_DETECTED",
            Self::FaultCleared => "FAULT_CLEARED",
            Self::StateDecision(RecommendedState::Master) => "RS_MASTER",
            Self::StateDecision(RecommendedState::GrandMaster) => "RS_GRAND_MASTER",
            Self::StateDecision(RecommendedState::Slave) => "RS_SLAVE",
            Self::StateDecision(RecommendedState::Passive) => "RS_PASSIVE",
            Self::AnnounceReceiptTimeoutExpires => "ANNOUNCE_RECEIPT_TIMEOUT_EXPIRES",
            Self::QualificationTimeoutExpires => "QUALIFICATION_TIMEOUT_EXPIRES",
            Self::SynchronizationFault => "SYNCHRONIZATION_FAULT",
            Self::MasterClockSelected => "MASTER_CLOCK_SELECTED",
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What [`next`] needs besides the state and the event.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct FsmContext {
    /// defaultDS.slaveOnly: use the slave-only machine of Figure 31.
    pub slave_only: bool,
    /// For a BMC_SLAVE recommendation received in SLAVE: whether the selected master
    /// (parentDS.parentPortIdentity) differs from the one the port was tracking. Figure 30
    /// sends the port back to UNCALIBRATED in that case.
    pub new_master: bool,
    /// linuxptp `gmCapable`: when false an announce receipt timeout does not make the port
    /// master (the instance may not become grandmaster); it goes to LISTENING instead.
    pub gm_capable_is_false: bool,
}

/// The transition function of IEEE 1588-2019 Figure 30 (full) and Figure 31 (slave-only).
/// Events that have no transition from `state` leave it unchanged.
pub fn next(state: PortState, event: Event, ctx: &FsmContext) -> PortState {
    use Event as E;
    use PortState as S;
    use RecommendedState as R;

    // Transitions valid from every state (the "any state" arcs of Figures 30 and 31).
    match event {
        E::Powerup | E::Initialize => return S::Initializing,
        E::DesignatedDisabled => return S::Disabled,
        E::FaultDetected if state != S::Disabled => return S::Faulty,
        _ => {}
    }

    match (state, event) {
        (S::Initializing, E::InitializationComplete) => S::Listening,
        (S::Faulty, E::FaultCleared) => S::Initializing,
        (S::Disabled, E::DesignatedEnabled) => S::Initializing,
        (S::Initializing | S::Faulty | S::Disabled, _) => state,

        // Figure 31: a slave-only port is LISTENING, UNCALIBRATED or SLAVE.
        _ if ctx.slave_only => match (state, event) {
            (S::Uncalibrated | S::Slave, E::AnnounceReceiptTimeoutExpires) => S::Listening,
            (_, E::StateDecision(R::Master | R::GrandMaster | R::Passive)) => S::Listening,
            (S::Slave, E::StateDecision(R::Slave)) if ctx.new_master => S::Uncalibrated,
            (S::Slave, E::StateDecision(R::Slave)) => S::Slave,
            (_, E::StateDecision(R::Slave)) => S::Uncalibrated,
            (S::Uncalibrated, E::MasterClockSelected) => S::Slave,
            (S::Slave, E::SynchronizationFault) => S::Uncalibrated,
            // A slave-only port never holds a master state; should one reach here, listen.
            (S::PreMaster | S::Master | S::Passive, _) => S::Listening,
            _ => state,
        },

        // Figure 30.
        (
            S::Listening | S::Uncalibrated | S::Slave | S::Passive,
            E::AnnounceReceiptTimeoutExpires,
        ) => {
            if ctx.gm_capable_is_false {
                S::Listening
            } else {
                S::Master
            }
        }
        (S::PreMaster, E::QualificationTimeoutExpires) => S::Master,
        (S::Uncalibrated, E::MasterClockSelected) => S::Slave,
        (S::Slave, E::SynchronizationFault) => S::Uncalibrated,

        (_, E::StateDecision(R::GrandMaster)) => S::Master,
        (S::Master | S::PreMaster, E::StateDecision(R::Master)) => state,
        (_, E::StateDecision(R::Master)) => S::PreMaster,
        (_, E::StateDecision(R::Passive)) => S::Passive,
        (S::Slave, E::StateDecision(R::Slave)) if ctx.new_master => S::Uncalibrated,
        (S::Slave | S::Uncalibrated, E::StateDecision(R::Slave)) => state,
        (_, E::StateDecision(R::Slave)) => S::Uncalibrated,

        _ => state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Event as E;
    use PortState as S;
    use RecommendedState as R;

    const FULL: FsmContext = FsmContext {
        slave_only: false,
        new_master: false,
        gm_capable_is_false: false,
    };
    const NEW: FsmContext = FsmContext {
        slave_only: false,
        new_master: true,
        gm_capable_is_false: false,
    };
    const SO: FsmContext = FsmContext {
        slave_only: true,
        new_master: false,
        gm_capable_is_false: false,
    };
    const SO_NEW: FsmContext = FsmContext {
        slave_only: true,
        new_master: true,
        gm_capable_is_false: false,
    };
    const NO_GM: FsmContext = FsmContext {
        slave_only: false,
        new_master: false,
        gm_capable_is_false: true,
    };

    /// One row per arc of IEEE 1588-2019 Figure 30 (full machine), plus the events that must
    /// leave a state alone.
    #[rustfmt::skip]
    const FULL_TABLE: &[(S, E, FsmContext, S)] = &[
        // any state
        (S::Slave, E::Powerup, FULL, S::Initializing),
        (S::Master, E::Initialize, FULL, S::Initializing),
        (S::Faulty, E::Initialize, FULL, S::Initializing),
        (S::Passive, E::DesignatedDisabled, FULL, S::Disabled),
        (S::Initializing, E::DesignatedDisabled, FULL, S::Disabled),
        (S::Listening, E::FaultDetected, FULL, S::Faulty),
        (S::Master, E::FaultDetected, FULL, S::Faulty),
        (S::Initializing, E::FaultDetected, FULL, S::Faulty),
        (S::Disabled, E::FaultDetected, FULL, S::Disabled),
        // INITIALIZING / FAULTY / DISABLED
        (S::Initializing, E::InitializationComplete, FULL, S::Listening),
        (S::Initializing, E::StateDecision(R::Slave), FULL, S::Initializing),
        (S::Faulty, E::FaultCleared, FULL, S::Initializing),
        (S::Faulty, E::StateDecision(R::GrandMaster), FULL, S::Faulty),
        (S::Faulty, E::AnnounceReceiptTimeoutExpires, FULL, S::Faulty),
        (S::Disabled, E::DesignatedEnabled, FULL, S::Initializing),
        (S::Disabled, E::FaultCleared, FULL, S::Disabled),
        (S::Disabled, E::StateDecision(R::Master), FULL, S::Disabled),
        // LISTENING
        (S::Listening, E::AnnounceReceiptTimeoutExpires, FULL, S::Master),
        (S::Listening, E::StateDecision(R::Master), FULL, S::PreMaster),
        (S::Listening, E::StateDecision(R::GrandMaster), FULL, S::Master),
        (S::Listening, E::StateDecision(R::Passive), FULL, S::Passive),
        (S::Listening, E::StateDecision(R::Slave), FULL, S::Uncalibrated),
        (S::Listening, E::QualificationTimeoutExpires, FULL, S::Listening),
        // PRE_MASTER
        (S::PreMaster, E::QualificationTimeoutExpires, FULL, S::Master),
        (S::PreMaster, E::StateDecision(R::Master), FULL, S::PreMaster),
        (S::PreMaster, E::StateDecision(R::GrandMaster), FULL, S::Master),
        (S::PreMaster, E::StateDecision(R::Passive), FULL, S::Passive),
        (S::PreMaster, E::StateDecision(R::Slave), FULL, S::Uncalibrated),
        (S::PreMaster, E::AnnounceReceiptTimeoutExpires, FULL, S::PreMaster),
        // MASTER
        (S::Master, E::StateDecision(R::Master), FULL, S::Master),
        (S::Master, E::StateDecision(R::GrandMaster), FULL, S::Master),
        (S::Master, E::StateDecision(R::Passive), FULL, S::Passive),
        (S::Master, E::StateDecision(R::Slave), FULL, S::Uncalibrated),
        (S::Master, E::AnnounceReceiptTimeoutExpires, FULL, S::Master),
        (S::Master, E::QualificationTimeoutExpires, FULL, S::Master),
        // PASSIVE
        (S::Passive, E::AnnounceReceiptTimeoutExpires, FULL, S::Master),
        (S::Passive, E::StateDecision(R::Master), FULL, S::PreMaster),
        (S::Passive, E::StateDecision(R::GrandMaster), FULL, S::Master),
        (S::Passive, E::StateDecision(R::Passive), FULL, S::Passive),
        (S::Passive, E::StateDecision(R::Slave), FULL, S::Uncalibrated),
        // UNCALIBRATED
        (S::Uncalibrated, E::MasterClockSelected, FULL, S::Slave),
        (S::Uncalibrated, E::AnnounceReceiptTimeoutExpires, FULL, S::Master),
        (S::Uncalibrated, E::StateDecision(R::Slave), FULL, S::Uncalibrated),
        (S::Uncalibrated, E::StateDecision(R::Slave), NEW, S::Uncalibrated),
        (S::Uncalibrated, E::StateDecision(R::Master), FULL, S::PreMaster),
        (S::Uncalibrated, E::StateDecision(R::GrandMaster), FULL, S::Master),
        (S::Uncalibrated, E::StateDecision(R::Passive), FULL, S::Passive),
        (S::Uncalibrated, E::SynchronizationFault, FULL, S::Uncalibrated),
        // SLAVE
        (S::Slave, E::SynchronizationFault, FULL, S::Uncalibrated),
        (S::Slave, E::StateDecision(R::Slave), FULL, S::Slave),
        (S::Slave, E::StateDecision(R::Slave), NEW, S::Uncalibrated),
        (S::Slave, E::AnnounceReceiptTimeoutExpires, FULL, S::Master),
        (S::Slave, E::StateDecision(R::Master), FULL, S::PreMaster),
        (S::Slave, E::StateDecision(R::GrandMaster), FULL, S::Master),
        (S::Slave, E::StateDecision(R::Passive), FULL, S::Passive),
        (S::Slave, E::MasterClockSelected, FULL, S::Slave),
        // gmCapable 0: a timeout never makes the port master.
        (S::Slave, E::AnnounceReceiptTimeoutExpires, NO_GM, S::Listening),
        (S::Listening, E::AnnounceReceiptTimeoutExpires, NO_GM, S::Listening),
    ];

    /// One row per arc of IEEE 1588-2019 Figure 31 (slave-only machine).
    #[rustfmt::skip]
    const SLAVE_ONLY_TABLE: &[(S, E, FsmContext, S)] = &[
        (S::Slave, E::Powerup, SO, S::Initializing),
        (S::Slave, E::FaultDetected, SO, S::Faulty),
        (S::Listening, E::DesignatedDisabled, SO, S::Disabled),
        (S::Initializing, E::InitializationComplete, SO, S::Listening),
        (S::Faulty, E::FaultCleared, SO, S::Initializing),
        (S::Disabled, E::DesignatedEnabled, SO, S::Initializing),
        (S::Listening, E::StateDecision(R::Slave), SO, S::Uncalibrated),
        (S::Listening, E::StateDecision(R::Master), SO, S::Listening),
        (S::Listening, E::StateDecision(R::GrandMaster), SO, S::Listening),
        (S::Listening, E::StateDecision(R::Passive), SO, S::Listening),
        (S::Listening, E::AnnounceReceiptTimeoutExpires, SO, S::Listening),
        (S::Uncalibrated, E::MasterClockSelected, SO, S::Slave),
        (S::Uncalibrated, E::StateDecision(R::Slave), SO, S::Uncalibrated),
        (S::Uncalibrated, E::AnnounceReceiptTimeoutExpires, SO, S::Listening),
        (S::Uncalibrated, E::StateDecision(R::Master), SO, S::Listening),
        (S::Uncalibrated, E::StateDecision(R::Passive), SO, S::Listening),
        (S::Slave, E::AnnounceReceiptTimeoutExpires, SO, S::Listening),
        (S::Slave, E::SynchronizationFault, SO, S::Uncalibrated),
        (S::Slave, E::StateDecision(R::Slave), SO, S::Slave),
        (S::Slave, E::StateDecision(R::Slave), SO_NEW, S::Uncalibrated),
        (S::Slave, E::StateDecision(R::GrandMaster), SO, S::Listening),
        (S::Slave, E::StateDecision(R::Passive), SO, S::Listening),
        (S::Slave, E::QualificationTimeoutExpires, SO, S::Slave),
    ];

    fn check(table: &[(S, E, FsmContext, S)]) {
        for (i, &(from, ev, ctx, want)) in table.iter().enumerate() {
            let got = next(from, ev, &ctx);
            assert_eq!(
                got, want,
                "row {i}: {from} --{ev:?} ({ctx:?})--> {got}, want {want}"
            );
        }
    }

    #[test]
    fn figure_30_full_state_machine() {
        check(FULL_TABLE);
    }

    #[test]
    fn figure_31_slave_only_state_machine() {
        check(SLAVE_ONLY_TABLE);
    }

    #[test]
    fn slave_only_never_reaches_a_master_state() {
        let states = [
            S::Initializing,
            S::Faulty,
            S::Disabled,
            S::Listening,
            S::Uncalibrated,
            S::Slave,
        ];
        let events = [
            E::Powerup,
            E::Initialize,
            E::InitializationComplete,
            E::DesignatedEnabled,
            E::DesignatedDisabled,
            E::FaultDetected,
            E::FaultCleared,
            E::StateDecision(R::Master),
            E::StateDecision(R::GrandMaster),
            E::StateDecision(R::Slave),
            E::StateDecision(R::Passive),
            E::AnnounceReceiptTimeoutExpires,
            E::QualificationTimeoutExpires,
            E::SynchronizationFault,
            E::MasterClockSelected,
        ];
        for s in states {
            for e in events {
                for ctx in [SO, SO_NEW] {
                    let n = next(s, e, &ctx);
                    assert!(
                        !matches!(n, S::Master | S::PreMaster | S::Passive),
                        "{s} --{e:?}--> {n}"
                    );
                }
            }
        }
    }

    #[test]
    fn wire_values_and_names() {
        assert_eq!(S::Initializing.to_wire(), 1);
        assert_eq!(S::Slave.to_wire(), 9);
        assert_eq!(S::PreMaster.to_string(), "PRE_MASTER");
    }
}
