//! Port state machine and BMCA wiring of the instance: feeding events to each port's FSM
//! (IEEE 1588-2019 9.2.5), the actions on entering a state (Table 27: timers, starting and
//! stopping transmissions, resetting the slave), and the state decision (9.3.3) that runs at
//! least once per announce interval (9.3.1) and whenever a foreign master's qualification or
//! content changes.

use crate::bmca::DecisionCode;
use crate::datasets::DelayMechanism;
use crate::port::state::{Event, FsmContext, PortState};
use crate::port::timers::{arm_for_state, TimerId, TimerKind};
use crate::port::{Action, StateChange};
use crate::time::{log_interval, Instant};

use super::PtpInstance;

impl PtpInstance {
    /// The first call: INITIALIZING → LISTENING on every port, and the periodic state decision.
    pub(super) fn ensure_init(&mut self, now: Instant) {
        if self.initialized {
            return;
        }
        self.initialized = true;
        for idx in 0..self.ports.len() {
            if self
                .ports
                .get(idx)
                .is_some_and(|p| p.bmca.ds.port_state == PortState::Initializing)
            {
                self.port_event(now, idx, Event::InitializationComplete, None, false);
            }
        }
        self.arm_state_decision(now);
    }

    fn arm_state_decision(&mut self, now: Instant) {
        let log = self
            .ports
            .iter()
            .map(|p| p.bmca.ds.log_announce_interval)
            .min()
            .unwrap_or(1);
        self.deadlines.set(
            TimerId::new(0, TimerKind::StateDecision),
            now + log_interval(log),
        );
    }

    /// The periodic state decision tick (9.3.1), also pruning stale foreign masters.
    pub(super) fn state_decision_tick(&mut self, now: Instant) {
        for p in &mut self.ports {
            let log = p.bmca.ds.log_announce_interval;
            p.bmca.foreign.prune(now, log);
        }
        self.state_decision(now);
        self.arm_state_decision(now);
    }

    /// Runs the state decision over all ports, applies the data set update and feeds every
    /// decision to its port's state machine.
    pub(super) fn state_decision(&mut self, now: Instant) {
        let report = {
            let refs: Vec<_> = self.ports.iter().map(|p| &p.bmca).collect();
            self.clock.state_decision(now, &refs)
        };
        self.watch_grandmaster(now);
        let new_master = report.parent_changed;
        if new_master {
            // The slave port follows someone else now: its measurements are void.
            if let Some(idx) = report.ebest_port.and_then(|n| self.index(n)) {
                let p2p = self.is_p2p(idx);
                if let Some(p) = self.ports.get_mut(idx) {
                    p.reset_slave(p2p);
                }
                self.servo.reset();
            }
        }
        for d in &report.decisions {
            self.port_event(
                now,
                d.index,
                Event::StateDecision(d.recommended),
                Some(d.code),
                new_master,
            );
        }
    }

    pub(super) fn is_p2p(&self, idx: usize) -> bool {
        self.ports
            .get(idx)
            .is_some_and(|p| p.bmca.ds.delay_mechanism == DelayMechanism::P2P)
    }

    /// Feeds `event` to port `idx`'s state machine and performs the actions of the state it
    /// enters.
    pub(super) fn port_event(
        &mut self,
        now: Instant,
        idx: usize,
        event: Event,
        code: Option<DecisionCode>,
        new_master: bool,
    ) {
        let ctx = FsmContext {
            slave_only: self.clock.default_ds.slave_only,
            new_master,
            gm_capable_is_false: !self.clock.default_ds.gm_capable,
        };
        let Some(p) = self.ports.get_mut(idx) else {
            return;
        };
        let Some((from, to)) = p.bmca.apply_event(event, &ctx) else {
            return;
        };
        self.actions
            .push_back(Action::PortStateChanged(StateChange {
                port: p.number(),
                from,
                to,
                event,
                code,
            }));
        self.on_enter(now, idx, from, to);
    }

    /// IEEE 1588-2019 9.2.5, Table 27: what entering `to` does.
    fn on_enter(&mut self, now: Instant, idx: usize, from: PortState, to: PortState) {
        let random = self.random();
        let steps_removed = self.clock.current_ds.steps_removed;
        let p2p = self.is_p2p(idx);
        let Some(p) = self.ports.get_mut(idx) else {
            return;
        };
        let number = p.number();
        let cfg = p.bmca.config.clone();
        arm_for_state(
            &mut self.deadlines,
            now,
            &p.bmca.ds,
            to,
            steps_removed,
            cfg.sync_receipt_timeout,
            cfg.fault_reset_interval,
            random,
        );
        for kind in [
            TimerKind::AnnounceTx,
            TimerKind::SyncTx,
            TimerKind::DelayReq,
        ] {
            self.deadlines.cancel(TimerId::new(number, kind));
        }
        if from.is_slave_side() != to.is_slave_side() {
            p.reset_slave(p2p);
        }
        match to {
            PortState::Master => {
                // Start transmitting at once: the first Announce and Sync go out now.
                if !cfg.inhibit_announce {
                    self.deadlines
                        .set(TimerId::new(number, TimerKind::AnnounceTx), now);
                }
                self.deadlines
                    .set(TimerId::new(number, TimerKind::SyncTx), now);
            }
            PortState::Uncalibrated | PortState::Slave => {
                if !from.is_slave_side() {
                    self.servo.reset();
                }
                if cfg.delay_mechanism == DelayMechanism::E2E {
                    self.arm_delay_req(now, idx);
                }
            }
            PortState::Faulty | PortState::Disabled => {
                p.reset_pdelay();
                p.mean_delay = None;
                p.delay_filter.reset();
                self.deadlines
                    .cancel(TimerId::new(number, TimerKind::PdelayReq));
            }
            PortState::Initializing => {
                self.port_event(now, idx, Event::InitializationComplete, None, false);
                return;
            }
            PortState::Listening | PortState::PreMaster | PortState::Passive => {}
        }
        let active = !matches!(
            to,
            PortState::Initializing | PortState::Faulty | PortState::Disabled
        );
        let id = TimerId::new(number, TimerKind::PdelayReq);
        if p2p && active && self.deadlines.get(id).is_none() {
            self.deadlines.set(id, now);
        }
    }
}
