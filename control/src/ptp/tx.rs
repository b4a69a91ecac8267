//! Timers and transmissions of the instance: dispatching expired deadlines, the master's
//! Announce and Sync, the slave's Delay_Req (randomised spacing, 9.5.11.2), the Pdelay_Req of
//! P2P ports, and what each TX timestamp completes (Follow_Up, t3, t1,
//! Pdelay_Resp_Follow_Up).

use xptp_datapath::wire::{Body, FlagField, MessageRepr, Timestamp, TlvRepr};

use crate::datasets::DelayMechanism;
use crate::port::master;
use crate::port::messages::{c37_238_tlv, message, ts, Head, NO_INTERVAL};
use crate::port::state::{Event, PortState};
use crate::port::timers::{TimerId, TimerKind};
use crate::port::{Action, MessageClass, OneStep};
use crate::time::{log_interval, Instant};

use super::port::{DelayReqOut, PdelayOut, PendingKind, PendingTx, SequenceIds};
use super::PtpInstance;

/// PATH_TRACE entries that still fit an Announce in a 1500-octet frame (16.2.3).
const MAX_PATH_TRACE: usize = 179;

impl PtpInstance {
    /// Processes every deadline due at `now` (timeouts, periodic transmissions, the state
    /// decision) and abandons TX timestamps that did not come in time.
    pub fn handle_timer(&mut self, now: Instant) {
        self.ensure_init(now);
        while let Some(id) = self.deadlines.pop_expired(now) {
            self.on_timer(now, id);
        }
        self.expire_pending(now);
        self.master_check(now);
    }

    fn on_timer(&mut self, now: Instant, id: TimerId) {
        if id.kind == TimerKind::StateDecision {
            self.state_decision_tick(now);
            return;
        }
        let Some(idx) = self.index(id.port) else {
            return;
        };
        match id.kind {
            TimerKind::AnnounceReceipt => {
                // The master fell silent: forget the senders that stopped announcing (linuxptp
                // clears the best foreign master's records) and let the FSM and BMCA move on.
                if let Some(p) = self.ports.get_mut(idx) {
                    let ds = &p.bmca.ds;
                    let max_age = crate::time::log_interval_times(
                        u32::from(ds.announce_receipt_timeout.saturating_sub(1)),
                        ds.log_announce_interval,
                    );
                    p.bmca.foreign.forget_silent(now, max_age);
                }
                self.port_event(now, idx, Event::AnnounceReceiptTimeoutExpires, None, false);
                self.state_decision(now);
            }
            TimerKind::SyncReceipt => {
                self.port_event(now, idx, Event::SynchronizationFault, None, false)
            }
            TimerKind::Qualification => {
                self.port_event(now, idx, Event::QualificationTimeoutExpires, None, false)
            }
            TimerKind::FaultReset => self.port_event(now, idx, Event::FaultCleared, None, false),
            TimerKind::AnnounceTx => self.send_announce(now, idx),
            TimerKind::SyncTx => self.send_sync(now, idx),
            TimerKind::DelayReq => self.send_delay_req(now, idx),
            TimerKind::PdelayReq => self.send_pdelay_req(now, idx),
            TimerKind::StateDecision => {}
        }
    }

    fn expire_pending(&mut self, now: Instant) {
        let mut i = 0;
        while let Some(p) = self.pending.get(i).copied() {
            if p.deadline > now {
                i += 1;
                continue;
            }
            self.pending.swap_remove(i);
            if let Some(port) = self.ports.get_mut(p.idx) {
                port.counters.tx_timestamp_timeout += 1;
                match p.kind {
                    PendingKind::DelayReq { seq } => {
                        if port.delay_req.is_some_and(|d| d.seq == seq) {
                            port.delay_req = None;
                        }
                    }
                    PendingKind::PdelayReq { seq } => {
                        if port.pdelay.is_some_and(|d| d.seq == seq) {
                            port.pdelay = None;
                        }
                    }
                    PendingKind::Sync { .. } | PendingKind::PdelayResp { .. } => {}
                }
            }
        }
    }

    /// Emits `msg` on port `idx`. With `pending`, mints a token and waits for its TX timestamp.
    pub(super) fn send(
        &mut self,
        now: Instant,
        idx: usize,
        msg: &MessageRepr,
        pending: Option<PendingKind>,
        one_step: Option<OneStep>,
    ) {
        let mtype = msg.message_type();
        let timeout = self.cfg.tx_timestamp_timeout;
        let Some(p) = self.ports.get_mut(idx) else {
            return;
        };
        let Ok(mut data) = msg.to_vec() else {
            p.counters.tx_build_error += 1;
            return;
        };
        // IEEE 1588-2019 16.14: a port with an spp signs everything it sends. Without the
        // association (or the active key) the message is not sent: an unsigned message would
        // only be dropped by the peers.
        let sec = &p.bmca.config.security;
        if sec.spp.is_some() {
            let signed = p.sa.as_ref().is_some_and(|sa| {
                crate::security::auth::sign(&mut data, sa, sec.active_key_id).is_ok()
            });
            if !signed {
                p.counters.tx_build_error += 1;
                return;
            }
        }
        p.counters.count_tx(mtype);
        let port = p.number();
        let token = pending.map(|kind| {
            let t = self.tokens.mint();
            self.pending.push(PendingTx {
                id: t.id(),
                idx,
                sent: now,
                deadline: now + timeout,
                kind,
            });
            t
        });
        let class = if mtype.is_event() {
            MessageClass::Event
        } else {
            MessageClass::General
        };
        self.actions.push_back(Action::Send {
            port,
            class,
            data,
            token,
            one_step,
        });
    }

    fn estimate_ts(&self, now: Instant) -> Timestamp {
        ts(self.estimate_local(now)).unwrap_or_default()
    }

    fn head(&self, idx: usize, seq: u16, log_interval: i8) -> Option<Head> {
        let p = self.ports.get(idx)?;
        Some(Head {
            domain: self.clock.default_ds.domain_number,
            source: p.identity(),
            sequence_id: seq,
            log_interval,
            flags: FlagField::default(),
            correction: 0,
        })
    }

    fn state(&self, idx: usize) -> Option<PortState> {
        self.ports.get(idx).map(|p| p.bmca.ds.port_state)
    }

    /// IEEE 1588-2019 9.5.8: Announce every 2^logAnnounceInterval s while MASTER.
    fn send_announce(&mut self, now: Instant, idx: usize) {
        if self.state(idx) != Some(PortState::Master) {
            return;
        }
        let origin = self.estimate_ts(now);
        let tlvs = self.announce_tlvs();
        let Some(p) = self.ports.get_mut(idx) else {
            return;
        };
        if p.bmca.config.inhibit_announce {
            return;
        }
        let log = p.bmca.ds.log_announce_interval;
        let number = p.number();
        let seq = SequenceIds::take(&mut p.seq.announce);
        self.deadlines.set(
            TimerId::new(number, TimerKind::AnnounceTx),
            now + log_interval(log),
        );
        let Some(head) = self.head(idx, seq, log) else {
            return;
        };
        let msg = master::announce(
            head,
            origin,
            &self.clock.parent_ds,
            &self.clock.current_ds,
            &self.clock.time_properties_ds,
            tlvs,
        );
        self.send(now, idx, &msg, None, None);
    }

    /// PATH_TRACE (16.2.3: the parent's list plus this clock) and the C37.238 TLV (the
    /// grandmaster's as received when we are not the grandmaster, our own otherwise).
    fn announce_tlvs(&self) -> Vec<TlvRepr> {
        let me = self.clock.default_ds.clock_identity;
        let parent = self.clock.parent_ds.parent_port_identity;
        let is_gm = parent.clock_identity == me;
        let extras = (!is_gm)
            .then(|| self.ports.iter().find_map(|p| p.extras_of(parent)))
            .flatten();
        let mut tlvs = Vec::new();
        if self.cfg.path_trace_enabled {
            let mut list = extras.map(|e| e.path_trace.clone()).unwrap_or_default();
            if list.len() < MAX_PATH_TRACE {
                list.push(me);
            }
            tlvs.push(TlvRepr::PathTrace(list));
        }
        if let Some(c) = &self.cfg.c37_238 {
            let tlv = extras
                .and_then(|e| e.c37_238.clone())
                .unwrap_or_else(|| c37_238_tlv(c, &self.cfg.c37_238_local));
            tlvs.push(tlv);
        }
        tlvs
    }

    /// IEEE 1588-2019 9.5.9: Sync every 2^logSyncInterval s while MASTER; two-step waits for
    /// its TX timestamp to send the Follow_Up, one-step asks the datapath to insert it.
    fn send_sync(&mut self, now: Instant, idx: usize) {
        if self.state(idx) != Some(PortState::Master) {
            return;
        }
        let origin = self.estimate_ts(now);
        let two_step = self.clock.default_ds.two_step_flag;
        let Some(p) = self.ports.get_mut(idx) else {
            return;
        };
        let log = p.bmca.ds.log_sync_interval;
        let number = p.number();
        let seq = SequenceIds::take(&mut p.seq.sync);
        self.deadlines.set(
            TimerId::new(number, TimerKind::SyncTx),
            now + log_interval(log),
        );
        let Some(head) = self.head(idx, seq, log) else {
            return;
        };
        let msg = master::sync(head, origin, two_step);
        if two_step {
            self.send(now, idx, &msg, Some(PendingKind::Sync { seq }), None);
        } else {
            self.send(now, idx, &msg, None, Some(OneStep::OriginTimestamp));
        }
    }

    /// Arms the next Delay_Req uniformly in [0, 2^(logMinDelayReqInterval + 1)] s
    /// (9.5.11.2; the interval is the master's from its Delay_Resp, else portDS's).
    pub(super) fn arm_delay_req(&mut self, now: Instant, idx: usize) {
        let random = self.random();
        let Some(p) = self.ports.get(idx) else {
            return;
        };
        let log = p
            .master_log_min_delay_req
            .unwrap_or(p.bmca.ds.log_min_delay_req_interval);
        let span = 2 * log_interval(log).as_nanos();
        let wait = (span * u128::from(random)) >> 32;
        let wait = core::time::Duration::from_nanos(u64::try_from(wait).unwrap_or(u64::MAX));
        self.deadlines
            .set(TimerId::new(p.number(), TimerKind::DelayReq), now + wait);
    }

    fn send_delay_req(&mut self, now: Instant, idx: usize) {
        let origin = self.estimate_ts(now);
        let Some(p) = self.ports.get_mut(idx) else {
            return;
        };
        if !p.bmca.ds.port_state.is_slave_side() || p.bmca.ds.delay_mechanism != DelayMechanism::E2E
        {
            return;
        }
        if p.delay_req.is_some() {
            p.counters.response_missing += 1;
        }
        let seq = SequenceIds::take(&mut p.seq.delay_req);
        p.delay_req = Some(DelayReqOut {
            seq,
            t3: None,
            resp: None,
        });
        self.arm_delay_req(now, idx);
        let Some(head) = self.head(idx, seq, NO_INTERVAL) else {
            return;
        };
        let msg = message(
            &head,
            Body::DelayReq {
                origin_timestamp: origin,
            },
        );
        self.send(now, idx, &msg, Some(PendingKind::DelayReq { seq }), None);
    }

    /// IEEE 1588-2019 9.5.13 / 11.4: Pdelay_Req every 2^logMinPdelayReqInterval s in every
    /// state but INITIALIZING, FAULTY and DISABLED.
    fn send_pdelay_req(&mut self, now: Instant, idx: usize) {
        let origin = self.estimate_ts(now);
        let Some(p) = self.ports.get_mut(idx) else {
            return;
        };
        if matches!(
            p.bmca.ds.port_state,
            PortState::Initializing | PortState::Faulty | PortState::Disabled
        ) || p.bmca.ds.delay_mechanism != DelayMechanism::P2P
        {
            return;
        }
        if p.pdelay.is_some() {
            p.counters.response_missing += 1;
        }
        let seq = SequenceIds::take(&mut p.seq.pdelay_req);
        p.pdelay = Some(PdelayOut {
            seq,
            t1: None,
            resp: None,
            follow_up: None,
        });
        let number = p.number();
        let log = p.bmca.ds.log_min_pdelay_req_interval;
        self.deadlines.set(
            TimerId::new(number, TimerKind::PdelayReq),
            now + log_interval(log),
        );
        let Some(head) = self.head(idx, seq, NO_INTERVAL) else {
            return;
        };
        let msg = message(
            &head,
            Body::PdelayReq {
                origin_timestamp: origin,
            },
        );
        self.send(now, idx, &msg, Some(PendingKind::PdelayReq { seq }), None);
    }

    /// What a TX timestamp completes.
    pub(super) fn on_tx_timestamp(&mut self, id: u64, t: i128) {
        let Some(pos) = self.pending.iter().position(|p| p.id == id) else {
            self.counters.unknown_tx_token += 1;
            return;
        };
        let p = self.pending.swap_remove(pos);
        self.note_time(p.sent, t);
        let idx = p.idx;
        match p.kind {
            PendingKind::Sync { seq } => {
                if self.state(idx) != Some(PortState::Master) {
                    return;
                }
                let log = self
                    .ports
                    .get(idx)
                    .map(|x| x.bmca.ds.log_sync_interval)
                    .unwrap_or(0);
                let (Some(head), Some(t1)) = (self.head(idx, seq, log), ts(t)) else {
                    self.count_build_error(idx);
                    return;
                };
                let msg = master::follow_up(head, t1);
                self.send(p.sent, idx, &msg, None, None);
            }
            PendingKind::DelayReq { seq } => {
                if let Some(port) = self.ports.get_mut(idx) {
                    if let Some(d) = port.delay_req.as_mut().filter(|d| d.seq == seq) {
                        d.t3 = Some(t);
                    }
                }
                self.try_complete_delay(idx);
            }
            PendingKind::PdelayReq { seq } => {
                if let Some(port) = self.ports.get_mut(idx) {
                    if let Some(d) = port.pdelay.as_mut().filter(|d| d.seq == seq) {
                        d.t1 = Some(t);
                    }
                }
                self.try_complete_pdelay(idx);
            }
            PendingKind::PdelayResp {
                seq,
                requester,
                correction,
            } => {
                let (Some(port), Some(t3)) = (self.ports.get(idx), ts(t)) else {
                    self.count_build_error(idx);
                    return;
                };
                let msg = master::pdelay_resp_follow_up(
                    self.clock.default_ds.domain_number,
                    port.identity(),
                    seq,
                    requester,
                    correction,
                    t3,
                );
                self.send(p.sent, idx, &msg, None, None);
            }
        }
    }

    pub(super) fn count_build_error(&mut self, idx: usize) {
        if let Some(p) = self.ports.get_mut(idx) {
            p.counters.tx_build_error += 1;
        }
    }
}
