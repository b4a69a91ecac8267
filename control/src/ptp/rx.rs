//! Received messages: parsing and the checks every message passes (version, domain, own
//! messages, port state), then per type: Announce into the foreign master table (9.5.3),
//! Sync/Follow_Up into the slave's matcher and the servo (9.5.4, 11.3), Delay_Req answered by
//! a master (9.5.11), Delay_Resp completing the slave's exchange, and the peer delay messages
//! (11.4). Every dropped message is counted under one [`RejectReason`].

use xptp_datapath::wire::{AnnounceBody, Body, HeaderRepr, MessageRepr, Timestamp, WireError};

use crate::bmca::AnnounceRejected;
use crate::datasets::DelayMechanism;
use crate::port::counters::RejectReason;
use crate::port::delay::{
    e2e_mean_path_delay, offset_from_master, p2p_mean_link_delay, round_ns, scaled, PdelayExchange,
    Ratio, SyncSample, NEGATIVE_DELAY_TOLERANCE_NS,
};
use crate::port::master;
use crate::port::messages::{announce_info, find_c37_238, find_path_trace, ts};
use crate::port::slave::{FollowUpRx, SyncRx};
use crate::port::state::{Event, PortState};
use crate::port::timers::{announce_receipt_timeout, sync_receipt_timeout, TimerId, TimerKind};
use crate::port::{Action, ClockAdjustment, OneStep};
use crate::security::SourceAddress;
use crate::servo::{ServoAction, ServoState};
use crate::time::Instant;

use super::port::{to_interval, AnnounceExtras, PdelayRespIn, PendingKind};
use super::{Measurement, PtpInstance};

impl PtpInstance {
    /// A PTP message (`bytes`: the payload after framing) received on `port` at `now`, with
    /// its ingress timestamp `rx_timestamp` in local-clock ns.
    pub fn handle_message(&mut self, now: Instant, port: u16, bytes: &[u8], rx_timestamp: i128) {
        self.handle_message_from(now, port, bytes, rx_timestamp, None);
    }

    /// [`Self::handle_message`] with the frame's source address, which the shell knows from
    /// the framing: it is recorded when the sender turns out to be a rogue master.
    pub fn handle_message_from(
        &mut self,
        now: Instant,
        port: u16,
        bytes: &[u8],
        rx_timestamp: i128,
        source: Option<SourceAddress>,
    ) {
        self.rx_message(now, port, bytes, rx_timestamp, source);
        self.master_check(now);
    }

    fn rx_message(
        &mut self,
        now: Instant,
        port: u16,
        bytes: &[u8],
        rx_timestamp: i128,
        source: Option<SourceAddress>,
    ) {
        self.ensure_init(now);
        let Some(idx) = self.index(port) else {
            self.counters.unknown_port += 1;
            return;
        };
        let msg = match MessageRepr::parse(bytes) {
            Ok(m) => m,
            Err(e) => {
                let r = match e {
                    WireError::UnsupportedVersion(_) => RejectReason::WrongVersion,
                    _ => RejectReason::Malformed,
                };
                self.reject(idx, r);
                return;
            }
        };
        let own = self.clock.default_ds.clock_identity;
        let domain = self.clock.default_ds.domain_number;
        let Some(p) = self.ports.get_mut(idx) else {
            return;
        };
        p.counters.count_rx(msg.message_type());
        let reason = if msg.header.domain_number != domain {
            Some(RejectReason::WrongDomain)
        } else if msg.header.source_port_identity.clock_identity == own {
            Some(RejectReason::OwnMessage)
        } else if matches!(
            p.bmca.ds.port_state,
            PortState::Initializing | PortState::Faulty | PortState::Disabled
        ) {
            Some(RejectReason::WrongState)
        } else {
            None
        };
        if let Some(r) = reason {
            p.counters.reject(r);
            return;
        }
        // Who may steer time: a grandmaster-block port reports would-be masters whoever they
        // claim to be; then authentication (16.14) before anything reads the message.
        if self.block_rogue(now, idx, &msg, source)
            || !self.authenticate(now, idx, bytes, &msg.header, msg.message_type())
        {
            return;
        }
        self.note_time(now, rx_timestamp);
        let h = &msg.header;
        match msg.body {
            Body::Announce(a) => self.rx_announce(now, idx, h, &a, &msg.tlvs),
            Body::Sync { origin_timestamp } => {
                self.rx_sync(now, idx, h, origin_timestamp, rx_timestamp)
            }
            Body::FollowUp {
                precise_origin_timestamp,
            } => self.rx_follow_up(now, idx, h, precise_origin_timestamp),
            Body::DelayReq { .. } => self.rx_delay_req(now, idx, h, rx_timestamp),
            Body::DelayResp {
                receive_timestamp,
                requesting_port_identity,
            } => self.rx_delay_resp(now, idx, h, receive_timestamp, requesting_port_identity),
            Body::PdelayReq { .. } => self.rx_pdelay_req(now, idx, h, rx_timestamp),
            Body::PdelayResp {
                request_receipt_timestamp,
                requesting_port_identity,
            } => {
                if requesting_port_identity != self.port_identity(idx) {
                    self.reject(idx, RejectReason::PdelayRespNotForUs);
                } else {
                    self.rx_pdelay_resp(idx, h, request_receipt_timestamp, rx_timestamp);
                }
            }
            Body::PdelayRespFollowUp {
                response_origin_timestamp,
                requesting_port_identity,
            } => {
                if requesting_port_identity != self.port_identity(idx) {
                    self.reject(idx, RejectReason::PdelayRespNotForUs);
                } else {
                    self.rx_pdelay_resp_follow_up(idx, h, response_origin_timestamp);
                }
            }
            Body::Signaling { .. } | Body::Management(_) => {
                self.reject(idx, RejectReason::NotHandled)
            }
        }
    }

    fn reject(&mut self, idx: usize, r: RejectReason) {
        if let Some(p) = self.ports.get_mut(idx) {
            p.counters.reject(r);
        }
    }

    fn port_identity(&self, idx: usize) -> xptp_datapath::wire::PortIdentity {
        self.ports
            .get(idx)
            .map(|p| p.identity())
            .unwrap_or_default()
    }

    fn mechanism(&self, idx: usize) -> DelayMechanism {
        self.ports
            .get(idx)
            .map(|p| p.bmca.ds.delay_mechanism)
            .unwrap_or_default()
    }

    /// Whether a Sync/Follow_Up/Delay_Resp comes from the selected master (9.5.4).
    fn is_from_parent(&self, idx: usize, h: &HeaderRepr, allow_any: bool) -> bool {
        let any = allow_any
            && self
                .ports
                .get(idx)
                .is_some_and(|p| p.bmca.config.ignore_source_id);
        any || h.source_port_identity == self.clock.parent_ds.parent_port_identity
    }

    // ---- Announce ------------------------------------------------------------------------

    fn rx_announce(
        &mut self,
        now: Instant,
        idx: usize,
        h: &HeaderRepr,
        a: &AnnounceBody,
        tlvs: &[xptp_datapath::wire::TlvRepr],
    ) {
        let own = self.clock.default_ds.clock_identity;
        let path_trace = find_path_trace(tlvs);
        if self.cfg.path_trace_enabled && path_trace.is_some_and(|l| l.contains(&own)) {
            self.reject(idx, RejectReason::PathTraceLoop);
            return;
        }
        let c37 = find_c37_238(tlvs).cloned();
        if self.cfg.c37_238.is_some_and(|c| c.require_tlv) && c37.is_none() {
            self.reject(idx, RejectReason::MissingC37238Tlv);
            return;
        }
        let mut info = announce_info(h, a);
        // IEEE 1588-2019 17.6: only senders in the acceptable master table are qualified;
        // an entry's alternatePriority1 replaces the announced priority1 (17.6.4).
        match self.acceptable_master(idx, h.source_port_identity) {
            Err(()) => {
                self.reject(idx, RejectReason::NotAcceptableMaster);
                return;
            }
            Ok(Some(e)) if e.alternate_priority1 != 0 => {
                info.grandmaster_priority1 = e.alternate_priority1;
            }
            Ok(_) => {}
        }
        let max_steps = self.clock.config.max_steps_removed;
        let parent = self.clock.parent_ds.parent_port_identity;
        let random = self.random();
        let Some(p) = self.ports.get_mut(idx) else {
            return;
        };
        let log = p.bmca.ds.log_announce_interval;
        let rec = match p.bmca.foreign.record(now, info, own, max_steps, log) {
            Ok(r) => r,
            Err(e) => {
                p.counters.reject(match e {
                    AnnounceRejected::FromOwnClock => RejectReason::OwnMessage,
                    AnnounceRejected::NotMostRecent => RejectReason::AnnounceNotMostRecent,
                    AnnounceRejected::StepsRemovedTooLarge(_) => RejectReason::StepsRemovedTooLarge,
                    AnnounceRejected::TableFull => RejectReason::ForeignMasterTableFull,
                });
                return;
            }
        };
        p.remember_extras(AnnounceExtras {
            sender: h.source_port_identity,
            path_trace: path_trace.map(<[_]>::to_vec).unwrap_or_default(),
            c37_238: c37,
        });
        // 9.2.6.12: Announces from the current master (slave side), or any qualified one
        // while LISTENING/PASSIVE, restart the announce receipt timer.
        let state = p.bmca.ds.port_state;
        let restart = (state.is_slave_side() && h.source_port_identity == parent)
            || (matches!(state, PortState::Listening | PortState::Passive) && rec.qualified);
        if restart {
            let t = announce_receipt_timeout(p.bmca.ds.announce_receipt_timeout, log, random);
            self.deadlines.set(
                TimerId::new(p.number(), TimerKind::AnnounceReceipt),
                now + t,
            );
        }
        if rec.bmca_relevant_change {
            self.state_decision(now);
        }
    }

    // ---- Sync / Follow_Up ----------------------------------------------------------------

    fn slave_checks(&mut self, idx: usize, h: &HeaderRepr) -> bool {
        let slave_side = self
            .ports
            .get(idx)
            .is_some_and(|p| p.bmca.ds.port_state.is_slave_side());
        if !slave_side {
            self.reject(idx, RejectReason::WrongState);
            return false;
        }
        if !self.is_from_parent(idx, h, true) {
            self.reject(idx, RejectReason::NotFromMaster);
            return false;
        }
        true
    }

    fn rx_sync(&mut self, now: Instant, idx: usize, h: &HeaderRepr, origin: Timestamp, t2: i128) {
        if !self.slave_checks(idx, h) {
            return;
        }
        let Some(p) = self.ports.get_mut(idx) else {
            return;
        };
        if let Some(d) = sync_receipt_timeout(
            p.bmca.config.sync_receipt_timeout,
            p.bmca.ds.log_sync_interval,
        ) {
            self.deadlines
                .set(TimerId::new(p.number(), TimerKind::SyncReceipt), now + d);
        }
        let s = SyncRx {
            source: h.source_port_identity,
            sequence_id: h.sequence_id,
            two_step: h.flags.two_step(),
            origin: origin.to_nanos(),
            correction: i128::from(h.correction.0),
            log_interval: h.log_message_interval,
            t2,
        };
        if let Some(sample) = p.matcher.on_sync(s, &mut p.counters) {
            self.on_sync_sample(now, idx, sample);
        }
    }

    fn rx_follow_up(&mut self, now: Instant, idx: usize, h: &HeaderRepr, precise: Timestamp) {
        if !self.slave_checks(idx, h) {
            return;
        }
        let Some(p) = self.ports.get_mut(idx) else {
            return;
        };
        let f = FollowUpRx {
            source: h.source_port_identity,
            sequence_id: h.sequence_id,
            precise_origin: precise.to_nanos(),
            correction: i128::from(h.correction.0),
        };
        if let Some(sample) = p.matcher.on_follow_up(f, &mut p.counters) {
            self.on_sync_sample(now, idx, sample);
        }
    }

    /// A completed Sync: compute offsetFromMaster with the current delay estimate and feed
    /// the servo.
    fn on_sync_sample(&mut self, now: Instant, idx: usize, sample: SyncSample) {
        let _ = now;
        let Some(p) = self.ports.get_mut(idx) else {
            return;
        };
        p.last_sync = Some(sample);
        let mean = match p.bmca.ds.delay_mechanism {
            DelayMechanism::NoMechanism => Some(0),
            DelayMechanism::E2E | DelayMechanism::P2P => p.mean_delay,
        };
        let Some(mean) = mean else {
            return;
        };
        let asym = scaled(i128::from(p.bmca.ds.delay_asymmetry_ns));
        let off = offset_from_master(&sample, mean, asym);
        let (t3, t4) = match p.last_delay {
            Some((a, b)) => (Some(a), Some(b)),
            None => (None, None),
        };
        p.last_measurement = Some(Measurement {
            port: p.number(),
            sequence_id: sample.sequence_id,
            t1: sample.t1,
            t2: sample.t2,
            t3,
            t4,
            correction: to_interval(sample.correction),
            mean_delay: to_interval(mean),
            offset_from_master: to_interval(off),
        });
        self.clock.current_ds.offset_from_master = to_interval(off).0;
        self.clock.current_ds.mean_delay = to_interval(mean).0;
        if self.cfg.free_running {
            return;
        }
        let offset_ns = round_ns(off).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
        let local = sample.t2.clamp(0, i128::from(i64::MAX)) as i64;
        if (-10..=10).contains(&sample.log_interval) {
            self.servo
                .set_sync_interval(2f64.powi(i32::from(sample.log_interval)));
        }
        let out = self.servo.sample(offset_ns, local, 1.0);
        self.servo_state = out.state;
        let step = match out.action {
            ServoAction::Step { step_ns, .. } => Some(step_ns),
            _ => None,
        };
        let port = self.ports.get(idx).map(|p| p.number()).unwrap_or(0);
        self.watch_time(now, port, offset_ns, step, out.state);
        let state = self.ports.get(idx).map(|p| p.bmca.ds.port_state);
        match out.action {
            ServoAction::None => {}
            ServoAction::AdjustFrequency(ppb) => {
                if out.state == ServoState::Locked {
                    self.note_locked_frequency(state == Some(PortState::Slave), ppb);
                }
                self.actions
                    .push_back(Action::AdjustClock(ClockAdjustment::Frequency { ppb }))
            }
            ServoAction::Step { step_ns, freq_ppb } => {
                self.actions
                    .push_back(Action::AdjustClock(ClockAdjustment::Step {
                        offset_ns: step_ns,
                    }));
                self.actions
                    .push_back(Action::AdjustClock(ClockAdjustment::Frequency {
                        ppb: freq_ppb,
                    }));
                self.after_step();
            }
        }
        let state = self.ports.get(idx).map(|p| p.bmca.ds.port_state);
        match (out.state, state) {
            (ServoState::Locked, Some(PortState::Uncalibrated)) => {
                self.port_event(now, idx, Event::MasterClockSelected, None, false)
            }
            (ServoState::Unlocked | ServoState::Jump, Some(PortState::Slave)) => {
                self.port_event(now, idx, Event::SynchronizationFault, None, false)
            }
            _ => {}
        }
    }

    /// The local clock was stepped: every half-done exchange holds timestamps from the old
    /// timescale.
    fn after_step(&mut self) {
        for p in &mut self.ports {
            p.matcher.drop_pending();
            p.last_sync = None;
            p.delay_req = None;
            p.reset_pdelay();
        }
        self.pending.retain(|p| {
            !matches!(
                p.kind,
                PendingKind::DelayReq { .. } | PendingKind::PdelayReq { .. }
            )
        });
        self.time_ref = None;
    }

    // ---- E2E -----------------------------------------------------------------------------

    fn rx_delay_req(&mut self, now: Instant, idx: usize, h: &HeaderRepr, t4: i128) {
        if self.mechanism(idx) != DelayMechanism::E2E {
            self.reject(idx, RejectReason::WrongDelayMechanism);
            return;
        }
        let Some(p) = self.ports.get(idx) else {
            return;
        };
        if p.bmca.ds.port_state != PortState::Master {
            self.reject(idx, RejectReason::WrongState);
            return;
        }
        let Some(t4) = ts(t4) else {
            self.count_build_error(idx);
            return;
        };
        let msg = master::delay_resp(h, p.identity(), t4, p.bmca.ds.log_min_delay_req_interval);
        self.send(now, idx, &msg, None, None);
    }

    fn rx_delay_resp(
        &mut self,
        _now: Instant,
        idx: usize,
        h: &HeaderRepr,
        t4: Timestamp,
        requester: xptp_datapath::wire::PortIdentity,
    ) {
        if self.mechanism(idx) != DelayMechanism::E2E {
            self.reject(idx, RejectReason::WrongDelayMechanism);
            return;
        }
        if requester != self.port_identity(idx) {
            self.reject(idx, RejectReason::DelayRespNotForUs);
            return;
        }
        if !self
            .ports
            .get(idx)
            .is_some_and(|p| p.bmca.ds.port_state.is_slave_side())
        {
            self.reject(idx, RejectReason::WrongState);
            return;
        }
        if !self.is_from_parent(idx, h, false) {
            self.reject(idx, RejectReason::NotFromMaster);
            return;
        }
        let Some(p) = self.ports.get_mut(idx) else {
            return;
        };
        match p.delay_req.as_mut() {
            Some(d) if d.seq == h.sequence_id && d.resp.is_none() => {
                d.resp = Some((t4.to_nanos(), i128::from(h.correction.0)));
            }
            _ => {
                p.counters.reject(RejectReason::UnexpectedResponse);
                return;
            }
        }
        if h.log_message_interval != 0x7F {
            p.master_log_min_delay_req = Some(h.log_message_interval);
        }
        self.try_complete_delay(idx);
    }

    /// IEEE 1588-2019 11.3.2: once t3 (TX timestamp) and t4 (Delay_Resp) are known, compute
    /// meanPathDelay with the latest Sync and filter it.
    ///
    /// Each Sync gives at most one sample: Delay_Req spacing is random (9.5.11.2), so several
    /// exchanges can complete between two Syncs, and they would all carry that one Sync's
    /// t2 − t1. A Sync with a late timestamp (a software stamp after an interrupt) would then
    /// fill half the median filter's window and move meanPathDelay by half its error, as seen
    /// in the simulator with software timestamps. Later exchanges against the same Sync are
    /// counted in `delay_sync_reused` and dropped.
    pub(super) fn try_complete_delay(&mut self, idx: usize) {
        let Some(p) = self.ports.get_mut(idx) else {
            return;
        };
        let Some(d) = p.delay_req else {
            return;
        };
        let (Some(t3), Some((t4, c))) = (d.t3, d.resp) else {
            return;
        };
        p.delay_req = None;
        let Some(sync) = p.last_sync else {
            return;
        };
        if p.delay_sync_seq == Some(sync.sequence_id) {
            p.counters.delay_sync_reused += 1;
            return;
        }
        let mean = e2e_mean_path_delay(&sync, t3, t4, c);
        if mean < -scaled(NEGATIVE_DELAY_TOLERANCE_NS) {
            p.counters.reject(RejectReason::NegativePathDelay);
            return;
        }
        p.delay_sync_seq = Some(sync.sequence_id);
        let filtered = p.delay_filter.push(to_interval(mean).0);
        p.mean_delay = Some(i128::from(filtered));
        p.last_delay = Some((t3, t4));
    }

    // ---- P2P -----------------------------------------------------------------------------

    /// IEEE 1588-2019 11.4.2: answer a Pdelay_Req (two-step unless configured one-step).
    fn rx_pdelay_req(&mut self, now: Instant, idx: usize, h: &HeaderRepr, t2: i128) {
        if self.mechanism(idx) != DelayMechanism::P2P {
            self.reject(idx, RejectReason::WrongDelayMechanism);
            return;
        }
        let two_step = !self.cfg.pdelay_one_step;
        let Some(t2_ts) = ts(t2) else {
            self.count_build_error(idx);
            return;
        };
        let msg = master::pdelay_resp(h, self.port_identity(idx), t2_ts, two_step);
        if two_step {
            let kind = PendingKind::PdelayResp {
                seq: h.sequence_id,
                requester: h.source_port_identity,
                correction: h.correction.0,
            };
            self.send(now, idx, &msg, Some(kind), None);
        } else {
            let one = OneStep::Turnaround { ingress_ns: t2 };
            self.send(now, idx, &msg, None, Some(one));
        }
    }

    fn rx_pdelay_resp(&mut self, idx: usize, h: &HeaderRepr, t2: Timestamp, t4: i128) {
        if self.mechanism(idx) != DelayMechanism::P2P {
            self.reject(idx, RejectReason::WrongDelayMechanism);
            return;
        }
        let Some(p) = self.ports.get_mut(idx) else {
            return;
        };
        match p.pdelay.as_mut() {
            Some(x) if x.seq == h.sequence_id && x.resp.is_none() => {
                x.resp = Some(PdelayRespIn {
                    responder: h.source_port_identity,
                    two_step: h.flags.two_step(),
                    t2: t2.to_nanos(),
                    t4,
                    correction: i128::from(h.correction.0),
                });
            }
            _ => {
                p.counters.reject(RejectReason::UnexpectedResponse);
                return;
            }
        }
        self.try_complete_pdelay(idx);
    }

    fn rx_pdelay_resp_follow_up(&mut self, idx: usize, h: &HeaderRepr, t3: Timestamp) {
        if self.mechanism(idx) != DelayMechanism::P2P {
            self.reject(idx, RejectReason::WrongDelayMechanism);
            return;
        }
        let Some(p) = self.ports.get_mut(idx) else {
            return;
        };
        match p.pdelay.as_mut() {
            Some(x)
                if x.seq == h.sequence_id
                    && x.follow_up.is_none()
                    && x.resp
                        .is_some_and(|r| r.two_step && r.responder == h.source_port_identity) =>
            {
                x.follow_up = Some((t3.to_nanos(), i128::from(h.correction.0)));
            }
            _ => {
                p.counters.reject(RejectReason::UnexpectedResponse);
                return;
            }
        }
        self.try_complete_pdelay(idx);
    }

    /// IEEE 1588-2019 11.4.2: meanLinkDelay once t1, the Pdelay_Resp and (two-step) the
    /// Pdelay_Resp_Follow_Up are in; neighborRateRatio from successive two-step exchanges.
    pub(super) fn try_complete_pdelay(&mut self, idx: usize) {
        let Some(p) = self.ports.get_mut(idx) else {
            return;
        };
        let Some(x) = p.pdelay else {
            return;
        };
        let (Some(t1), Some(r)) = (x.t1, x.resp) else {
            return;
        };
        let (t2, t3, fup_c) = if r.two_step {
            let Some((t3, c)) = x.follow_up else {
                return;
            };
            (r.t2, t3, c)
        } else {
            (0, 0, 0)
        };
        p.pdelay = None;
        let nrr = if r.two_step {
            p.rate_ratio.push(t3, r.t4);
            p.rate_ratio.ratio().unwrap_or(Ratio::ONE)
        } else {
            Ratio::ONE
        };
        let ex = PdelayExchange {
            t1,
            t2,
            t3,
            t4: r.t4,
            resp_correction: r.correction,
            fup_correction: fup_c,
        };
        let mean = p2p_mean_link_delay(&ex, nrr);
        if mean < -scaled(NEGATIVE_DELAY_TOLERANCE_NS) {
            p.counters.reject(RejectReason::NegativePathDelay);
            return;
        }
        if mean > scaled(i128::from(p.bmca.config.neighbor_prop_delay_thresh_ns)) {
            p.counters.link_delay_above_threshold += 1;
        }
        p.nrr = nrr;
        let filtered = p.delay_filter.push(to_interval(mean).0);
        p.mean_delay = Some(i128::from(filtered));
        p.bmca.ds.mean_link_delay = filtered;
    }
}
