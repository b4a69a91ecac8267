//! [`FastPath`]: the stateful fast path a worker runs as its [`Decide`] hook. It routes each
//! frame to the pure functions of [`super::reply`] and [`super::tc`], keeps the bounded
//! matching tables and the in-flight TX records, patches one-step corrections right before the
//! kick, releases held two-step Follow_Ups from TX completions, and publishes counters, per
//! frame measurements and the Delay_Req requester sketch on lock-free lanes.
//!
//! It never blocks, allocates (after [`FastPath::new`]) or logs. Configuration arrives as
//! [`ConfigUpdate`]s, applied in [`Decide::tick`].

use std::sync::Arc;

use super::config::{AuthKey, PortConfig};
use super::config::{ConfigUpdate, FastPathConfig, PdelayMode, TcMode, MAX_PORTS};
use super::error::FastPathError;
use super::ratelimit::{LimitedClass, PortBuckets, Shed};
use super::replay::ReplayTable;
use super::reply;
use super::sketch::{RequesterCount, SpaceSaving};
use super::tc::{
    self, rate_ratio_offset, residence, tc_action, DelayReqTable, Evictions, MatchKey, SyncEntry,
    SyncTable, TcAction,
};
use crate::handoff::{FrameBuf, Lane, PortId, TxOutcome, TxToken};
use crate::wire::auth::{self, AuthFailure};
use crate::wire::frame;
use crate::wire::{ClockIdentity, Message, MessageType, PortIdentity, TimeInterval};
use crate::worker::{Counter, Decide, Decision, Outbox, RxInfo, FAST_TOKEN};

/// In-flight TX records (a ring indexed by token).
pub const INFLIGHT_CAP: usize = 2048;
/// Two-step Syncs awaiting their Follow_Up.
pub const SYNC_TABLE_CAP: usize = 64;
/// E2E Delay_Reqs awaiting their Delay_Resp.
pub const DELAY_REQ_TABLE_CAP: usize = 1024;
/// Requesters tracked by the sketch.
pub const TOP_N: usize = 16;
/// Largest Pdelay_Resp frame kept for building its Follow_Up (UDPv6 + VLAN + a 256-bit
/// AUTHENTICATION TLV: 14 + 4 + 40 + 8 + 54 + 42 = 162 octets).
const SMALL_FRAME: usize = 176;

/// The fast path's counters (single writer: the worker).
#[derive(Debug, Default)]
pub struct FastPathCounters {
    /// Drops by [`FastPathError::index`].
    pub drops: [Counter; FastPathError::COUNT],
    /// Delay_Resp sent.
    pub delay_resp_sent: Counter,
    /// Pdelay_Resp sent.
    pub pdelay_resp_sent: Counter,
    /// Pdelay_Resp_Follow_Up sent.
    pub pdelay_resp_follow_up_sent: Counter,
    /// Frames forwarded by the TC (each egress copy counts).
    pub tc_forwarded: Counter,
    /// Two-step Follow_Ups forwarded with residence.
    pub tc_follow_up_sent: Counter,
    /// Delay_Resp forwarded without a matching Delay_Req residence (correction not changed).
    pub tc_delay_resp_unmatched: Counter,
    /// Two-step Sync entries that timed out before their Follow_Up was sent everywhere.
    pub tc_sync_timed_out: Counter,
    /// Delay_Req entries that timed out (their Delay_Resp never came).
    pub tc_delay_req_timed_out: Counter,
    /// Frames the fast path sent that the worker or kernel dropped.
    pub tx_failed: Counter,
    /// In-flight records overwritten before their completion came (ring wrapped).
    pub inflight_overwritten: Counter,
    /// Measurement events dropped because the event lane was full.
    pub events_dropped: Counter,
    /// Configuration updates applied.
    pub config_updates: Counter,
    /// Requests shed by the rate limiter, by [`LimitedClass::index`] (port and requester
    /// buckets together; the split is in `drops`).
    pub shed: [Counter; LimitedClass::COUNT],
    /// Requester-table evictions (many distinct requester identities: spoofing or a very
    /// large network).
    pub requester_evictions: Counter,
    /// Transparent-clock messages received per ingress port and messageType nibble
    /// (IEEE 1588-2019 Table 36), those the TC handles (forwarded or dropped, not the
    /// peer-delay messages it answers or measures with itself).
    pub tc_rx: [[Counter; 16]; MAX_PORTS],
    /// Transparent-clock messages sent per egress port and messageType nibble: forwarded
    /// copies and Follow_Ups with residence (IEEE 1588-2019 10.2, 10.3).
    pub tc_tx: [[Counter; 16]; MAX_PORTS],
}

/// One more `mtype` message in a per-port table (out-of-range ports are ignored).
fn count_port_type(table: &[[Counter; 16]; MAX_PORTS], port: usize, mtype: MessageType) {
    if let Some(c) = table
        .get(port)
        .and_then(|t| t.get(usize::from(mtype as u8 & 0x0f)))
    {
        c.inc();
    }
}

impl FastPathCounters {
    /// The transparent clock's (received, sent) count of `mtype` on `port` (index).
    pub fn tc_port_counts(&self, port: usize, mtype: MessageType) -> (u64, u64) {
        let get = |t: &[[Counter; 16]; MAX_PORTS]| {
            t.get(port)
                .and_then(|t| t.get(usize::from(mtype as u8 & 0x0f)))
                .map(Counter::get)
                .unwrap_or(0)
        };
        (get(&self.tc_rx), get(&self.tc_tx))
    }

    fn count_drop(&self, e: FastPathError) {
        if let Some(c) = self.drops.get(e.index()) {
            c.inc();
        }
    }

    /// `(class, value)` of every non-zero shed counter.
    pub fn shed_summary(&self) -> Vec<(&'static str, u64)> {
        LimitedClass::NAMES
            .iter()
            .zip(self.shed.iter())
            .map(|(n, c)| (*n, c.get()))
            .filter(|(_, v)| *v > 0)
            .collect()
    }

    /// The drop counter of `e`.
    pub fn drops_of(&self, e: FastPathError) -> u64 {
        self.drops.get(e.index()).map(Counter::get).unwrap_or(0)
    }

    /// `(name, value)` of every non-zero drop counter.
    pub fn drop_summary(&self) -> Vec<(&'static str, u64)> {
        FastPathError::NAMES
            .iter()
            .zip(self.drops.iter())
            .map(|(n, c)| (*n, c.get()))
            .filter(|(_, v)| *v > 0)
            .collect()
    }
}

/// What a measurement event measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// Delay_Req → Delay_Resp: XDP ingress → TX kick.
    DelayResp,
    /// Pdelay turnaround t3 − t2 (XDP ingress → TX kick of the Pdelay_Resp).
    PdelayTurnaround,
    /// One-step Sync residence written into the Sync.
    SyncOneStep,
    /// Two-step Sync residence on one egress port.
    SyncTwoStep,
    /// Correction added to a forwarded Follow_Up (residence + link delay).
    FollowUp,
    /// Delay_Req residence on one egress port.
    DelayReq,
    /// Correction added to a forwarded Delay_Resp.
    DelayResp2,
    /// A request refused by authentication (IEEE 1588-2019 16.14): `port_identity` and
    /// `sequence_id` are the requester's, `value_ns` the [`FastPathError::index`] of the
    /// reason (auth_missing, auth_unknown_key, auth_bad_icv, auth_replay).
    AuthRejected,
}

/// One measurement, for histograms and test logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FastPathEvent {
    /// What.
    pub kind: EventKind,
    /// Egress port.
    pub port: PortId,
    /// sequenceId of the message.
    pub sequence_id: u16,
    /// sourcePortIdentity (Sync, Follow_Up, Delay_Req) or requestingPortIdentity.
    pub port_identity: PortIdentity,
    /// The measured interval in ns (handling, turnaround, residence).
    pub value_ns: i64,
    /// What was added to correctionField (zero where nothing was).
    pub correction: TimeInterval,
}

/// A snapshot of the Delay_Req requester sketch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequesterReport {
    /// When (CLOCK_TAI).
    pub at_tai_ns: u64,
    /// Delay_Req answered in total.
    pub total: u64,
    /// Tracked requesters, largest first (`count == 0` entries are unused).
    pub top: [RequesterCount; TOP_N],
}

/// The control side's ends of a [`FastPath`].
#[derive(Clone, Debug)]
pub struct FastPathHandles {
    /// Configuration updates (control pushes).
    pub updates: Arc<Lane<ConfigUpdate>>,
    /// Counters.
    pub counters: Arc<FastPathCounters>,
    /// Measurements (control drains).
    pub events: Arc<Lane<FastPathEvent>>,
    /// Requester sketch snapshots, about one per second (control drains).
    pub requesters: Arc<Lane<RequesterReport>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum Kind {
    #[default]
    None,
    DelayResp,
    PdelayTwoStep,
    PdelayOneStep,
    SyncOneStep,
    SyncTwoStep,
    DelayReq,
}

#[derive(Clone, Copy, Debug)]
struct Inflight {
    token: u64,
    kind: Kind,
    ingress_tai_ns: u64,
    key: MatchKey,
    /// Added at ingress (P2P link delay) or written before the kick.
    extra: TimeInterval,
    req_correction: TimeInterval,
    small_len: u8,
    small: [u8; SMALL_FRAME],
}

impl Inflight {
    const EMPTY: Inflight = Inflight {
        token: 0,
        kind: Kind::None,
        ingress_tai_ns: 0,
        key: MatchKey {
            port_identity: PortIdentity::new(crate::wire::ClockIdentity([0; 8]), 0),
            sequence_id: 0,
            domain: 0,
        },
        extra: TimeInterval::ZERO,
        req_correction: TimeInterval::ZERO,
        small_len: 0,
        small: [0; SMALL_FRAME],
    };
}

#[derive(Clone, Copy, Debug, Default)]
struct RateEstimator {
    anchor: Option<(i128, u64)>,
    offset: Option<i64>,
}

impl RateEstimator {
    /// Feeds (origin time of a Sync in ns, its ingress CLOCK_TAI); updates at most once per
    /// second of local time.
    fn feed(&mut self, origin_ns: i128, ingress_tai_ns: u64) {
        match self.anchor {
            None => self.anchor = Some((origin_ns, ingress_tai_ns)),
            Some(a) if ingress_tai_ns.saturating_sub(a.1) >= 1_000_000_000 => {
                if let Some(o) = rate_ratio_offset(a, (origin_ns, ingress_tai_ns)) {
                    self.offset = Some(o);
                }
                self.anchor = Some((origin_ns, ingress_tai_ns));
            }
            Some(_) => {}
        }
    }
}

/// The fast path. See the module documentation.
pub struct FastPath {
    cfg: FastPathConfig,
    h: FastPathHandles,
    inflight: Box<[Inflight]>,
    next_token: u64,
    syncs: SyncTable,
    delay_reqs: DelayReqTable,
    requesters: SpaceSaving<TOP_N>,
    rate: RateEstimator,
    last_report_tai_ns: u64,
    buckets: Box<[PortBuckets]>,
    replay: ReplayTable,
}

impl core::fmt::Debug for FastPath {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FastPath")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

struct Ctx<'a> {
    cfg: &'a FastPathConfig,
    counters: &'a FastPathCounters,
    events: &'a Lane<FastPathEvent>,
    next_token: &'a mut u64,
}

impl Ctx<'_> {
    fn token(&mut self) -> u64 {
        *self.next_token = self.next_token.wrapping_add(1) & !FAST_TOKEN;
        *self.next_token | FAST_TOKEN
    }
    fn event(&self, e: FastPathEvent) {
        if !self.events.push(e) {
            self.counters.events_dropped.inc();
        }
    }
}

impl FastPath {
    /// A fast path with configuration `cfg`, and the handles control keeps.
    pub fn new(cfg: FastPathConfig) -> (FastPath, FastPathHandles) {
        let h = FastPathHandles {
            updates: Arc::new(Lane::new(64)),
            counters: Arc::new(FastPathCounters::default()),
            events: Arc::new(Lane::new(65536)),
            requesters: Arc::new(Lane::new(8)),
        };
        let fp = FastPath {
            cfg,
            h: h.clone(),
            inflight: vec![Inflight::EMPTY; INFLIGHT_CAP].into_boxed_slice(),
            next_token: 0,
            syncs: SyncTable::new(SYNC_TABLE_CAP),
            delay_reqs: DelayReqTable::new(DELAY_REQ_TABLE_CAP),
            requesters: SpaceSaving::default(),
            rate: RateEstimator::default(),
            last_report_tai_ns: 0,
            buckets: vec![PortBuckets::default(); MAX_PORTS].into_boxed_slice(),
            replay: ReplayTable::default(),
        };
        (fp, h)
    }

    /// The configuration in force.
    pub fn config(&self) -> &FastPathConfig {
        &self.cfg
    }

    /// The rate ratio offset in use (2^-41 units).
    pub fn rate_ratio_offset(&self) -> i64 {
        match (self.cfg.syntonize, self.rate.offset) {
            (true, Some(o)) => o,
            _ => self.cfg.rate_ratio_offset,
        }
    }

    fn split(&mut self) -> (Ctx<'_>, &mut [Inflight], &mut SyncTable, &mut DelayReqTable) {
        (
            Ctx {
                cfg: &self.cfg,
                counters: &self.h.counters,
                events: &self.h.events,
                next_token: &mut self.next_token,
            },
            &mut self.inflight,
            &mut self.syncs,
            &mut self.delay_reqs,
        )
    }

    fn record(inflight: &mut [Inflight], counters: &FastPathCounters, rec: Inflight) {
        let idx = (rec.token & !FAST_TOKEN) as usize % INFLIGHT_CAP;
        if let Some(slot) = inflight.get_mut(idx) {
            if slot.kind != Kind::None {
                counters.inflight_overwritten.inc();
            }
            *slot = rec;
        }
    }

    fn lookup(inflight: &mut [Inflight], token: TxToken) -> Option<&mut Inflight> {
        let idx = (token.0 & !FAST_TOKEN) as usize % INFLIGHT_CAP;
        inflight
            .get_mut(idx)
            .filter(|r| r.token == token.0 && r.kind != Kind::None)
    }

    /// Whether a response's requestingPortIdentity names `pc` (true for every other message,
    /// and while control has not told the fast path our identity yet).
    fn for_this_port(&self, msg: &Message<&[u8]>, pc: &PortConfig) -> bool {
        let ours = self.cfg.clock_identity;
        match msg.requesting_port_identity() {
            Some(r) if ours != ClockIdentity::default() && pc.port_number != 0 => {
                r == PortIdentity::new(ours, pc.port_number)
            }
            _ => true,
        }
    }

    fn fail(&self, e: FastPathError) -> Decision {
        if e.is_pass() {
            Decision::ToControl
        } else {
            self.h.counters.count_drop(e);
            Decision::Drop
        }
    }

    /// Flood protection: takes a token for a `class` message from `id` on `port`, or counts
    /// the shed frame (IEEE 1588-2019 leaves request rates to the profile; the limits are
    /// xptp's, see [`super::ratelimit`]).
    fn admit(&mut self, port: PortId, class: LimitedClass, id: PortIdentity, now: u64) -> bool {
        let Some(b) = self.buckets.get_mut(usize::from(port)) else {
            return true;
        };
        let before = b.evictions(class);
        let r = b.admit(&self.cfg.rate_limits, class, id, now);
        let c = &self.h.counters;
        c.requester_evictions.add(b.evictions(class) - before);
        match r {
            Ok(()) => true,
            Err(shed) => {
                if let Some(s) = c.shed.get(class.index()) {
                    s.inc();
                }
                c.count_drop(match shed {
                    Shed::Port => FastPathError::RateLimitedPort,
                    Shed::Requester => FastPathError::RateLimitedRequester,
                });
                false
            }
        }
    }

    /// On a port that requires authentication (IEEE 1588-2019 16.14, Annex P): the request
    /// `msg` (a Delay_Req or Pdelay_Req, header first) must carry a valid AUTHENTICATION TLV
    /// under the port's association (or come unsigned where `allow_unauth` lets event
    /// messages through), and a fresh sequenceId from its requester.
    fn authenticate(
        &mut self,
        pc: &PortConfig,
        port: PortId,
        mtype: MessageType,
        msg: &[u8],
        key: MatchKey,
        now: u64,
    ) -> Result<(), FastPathError> {
        let Some(a) = pc.auth else {
            return Ok(());
        };
        match auth::verify(
            msg,
            mtype,
            a.spp,
            |id| a.key(id).map(AuthKey::key_ref),
            a.allow_mutable,
        ) {
            Ok(_) => {}
            Err(AuthFailure::Missing) if a.allow_unauth_event => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        if a.seqid_window > 0
            && !self.replay.fresh(
                port,
                mtype as u8,
                key.port_identity,
                key.sequence_id,
                a.seqid_window,
                now,
            )
        {
            return Err(FastPathError::AuthReplay);
        }
        Ok(())
    }

    fn answer_delay_req(
        &mut self,
        frame_bytes: &[u8],
        info: &RxInfo,
        key: MatchKey,
        out: &mut Outbox,
    ) -> Decision {
        let (mut cx, inflight, _, _) = self.split();
        let token = cx.token();
        let port = info.port;
        let cfg = cx.cfg;
        let r = out.push_with(port, TxToken(token), FastPathError::OutboxFull, |buf| {
            reply::delay_resp(frame_bytes, port, info.ts.xdp_tai_ns, cfg, buf)
        });
        match r {
            Ok(()) => {
                cx.counters.delay_resp_sent.inc();
                Self::record(
                    inflight,
                    cx.counters,
                    Inflight {
                        token,
                        kind: Kind::DelayResp,
                        ingress_tai_ns: info.ts.xdp_tai_ns.unwrap_or(0),
                        key,
                        ..Inflight::EMPTY
                    },
                );
                self.requesters.record(key.port_identity);
                Decision::Handled
            }
            Err(e) => self.fail(e),
        }
    }

    fn answer_pdelay_req(
        &mut self,
        frame_bytes: &[u8],
        info: &RxInfo,
        key: MatchKey,
        out: &mut Outbox,
    ) -> Decision {
        let (mut cx, inflight, _, _) = self.split();
        let token = cx.token();
        let port = info.port;
        let cfg = cx.cfg;
        let mut built = None;
        let r = out.push_with(port, TxToken(token), FastPathError::OutboxFull, |buf| {
            let p = reply::pdelay_resp(frame_bytes, port, info.ts.xdp_tai_ns, cfg, buf)?;
            let mut small = [0u8; SMALL_FRAME];
            if let (Some(d), Some(s)) = (small.get_mut(..p.len), buf.get(..p.len)) {
                d.copy_from_slice(s);
            }
            built = Some((p, small));
            Ok(p.len)
        });
        match (r, built) {
            (Ok(()), Some((p, small))) => {
                cx.counters.pdelay_resp_sent.inc();
                let kind = match cfg.pdelay_mode {
                    PdelayMode::TwoStep => Kind::PdelayTwoStep,
                    PdelayMode::OneStep => Kind::PdelayOneStep,
                };
                Self::record(
                    inflight,
                    cx.counters,
                    Inflight {
                        token,
                        kind,
                        ingress_tai_ns: p.t2_tai_ns,
                        key,
                        req_correction: p.req_correction,
                        small_len: p.len.min(SMALL_FRAME) as u8,
                        small,
                        ..Inflight::EMPTY
                    },
                );
                Decision::Handled
            }
            (Err(e), _) => self.fail(e),
            (Ok(()), None) => Decision::Handled,
        }
    }

    /// Sends copies of `frame_bytes` to every other TC port, adding `add` to correctionField
    /// of each copy now, recording `kind` per copy. Returns the egress mask.
    #[allow(clippy::too_many_arguments)]
    fn fan_out(
        cx: &mut Ctx<'_>,
        inflight: &mut [Inflight],
        frame_bytes: &[u8],
        ingress_port: PortId,
        ingress_tai_ns: u64,
        key: MatchKey,
        kind: Kind,
        extra: TimeInterval,
        add: TimeInterval,
        out: &mut Outbox,
    ) -> u16 {
        let mut mask = 0u16;
        for (q, pc) in cx.cfg.ports.iter().enumerate() {
            let q = q as PortId;
            if q == ingress_port || !pc.enabled || !pc.tc {
                continue;
            }
            let token = cx.token();
            let r = out.push_with(q, TxToken(token), FastPathError::OutboxFull, |buf| {
                let len = frame_bytes.len();
                let dst = buf.get_mut(..len).ok_or(FastPathError::BufferTooSmall)?;
                dst.copy_from_slice(frame_bytes);
                if add != TimeInterval::ZERO {
                    frame::add_correction(dst, add)?;
                }
                Ok(len)
            });
            match r {
                Ok(()) => {
                    mask |= 1 << q;
                    cx.counters.tc_forwarded.inc();
                    if kind != Kind::None {
                        Self::record(
                            inflight,
                            cx.counters,
                            Inflight {
                                token,
                                kind,
                                ingress_tai_ns,
                                key,
                                extra,
                                ..Inflight::EMPTY
                            },
                        );
                    }
                }
                Err(e) => cx.counters.count_drop(e),
            }
        }
        mask
    }

    /// Sends the held Follow_Up of `e` on every port whose Sync residence is known.
    fn release_follow_ups(cx: &mut Ctx<'_>, e: &mut SyncEntry, out: &mut Outbox) {
        let ready = e.ready_mask();
        if ready == 0 {
            return;
        }
        let link = if cx.cfg.tc_mode == TcMode::P2p {
            cx.cfg
                .port(e.ingress_port)
                .map(|p| p.mean_link_delay)
                .unwrap_or_default()
        } else {
            TimeInterval::ZERO
        };
        let Some(fup) = e.follow_up else { return };
        for q in 0..MAX_PORTS {
            if ready & (1 << q) == 0 {
                continue;
            }
            let Some(Some(res)) = e.residence.get(q).copied() else {
                continue;
            };
            let corr = match tc::tc_correction(res, link) {
                Ok(c) => c,
                Err(err) => {
                    cx.counters.count_drop(err);
                    e.failed_mask |= 1 << q;
                    continue;
                }
            };
            let token = cx.token();
            let r = out.push_with(
                q as PortId,
                TxToken(token),
                FastPathError::OutboxFull,
                |buf| {
                    let b = fup.as_slice();
                    let dst = buf
                        .get_mut(..b.len())
                        .ok_or(FastPathError::BufferTooSmall)?;
                    dst.copy_from_slice(b);
                    frame::add_correction(dst, corr)?;
                    Ok(b.len())
                },
            );
            match r {
                Ok(()) => {
                    e.sent_mask |= 1 << q;
                    cx.counters.tc_follow_up_sent.inc();
                    count_port_type(&cx.counters.tc_tx, q, MessageType::FollowUp);
                    cx.event(FastPathEvent {
                        kind: EventKind::FollowUp,
                        port: q as PortId,
                        sequence_id: e.key.sequence_id,
                        port_identity: e.key.port_identity,
                        value_ns: res.nanos_round(),
                        correction: corr,
                    });
                }
                Err(err) => {
                    e.failed_mask |= 1 << q;
                    cx.counters.count_drop(err);
                }
            }
        }
    }

    fn transparent(
        &mut self,
        frame_bytes: &[u8],
        msg: &Message<&[u8]>,
        info: &RxInfo,
        out: &mut Outbox,
    ) -> Decision {
        let mode = self.cfg.tc_mode;
        let action = tc_action(mode, msg.message_type(), msg.flags().two_step());
        let port = info.port;
        let key = MatchKey {
            port_identity: msg.source_port_identity(),
            sequence_id: msg.sequence_id(),
            domain: msg.domain_number(),
        };
        if key.port_identity.clock_identity == self.cfg.clock_identity {
            return self.fail(FastPathError::OwnFrame);
        }
        let link = match (mode, self.cfg.port(port)) {
            (TcMode::P2p, Some(p)) => p.mean_link_delay,
            _ => TimeInterval::ZERO,
        };
        let ingress = info.ts.xdp_tai_ns;
        let timeout = self.cfg.match_timeout_ns;
        let rate_offset = self.rate_ratio_offset();
        let (mut cx, inflight, syncs, delay_reqs) = self.split();
        let needs_ts = matches!(
            action,
            TcAction::SyncOneStep | TcAction::SyncTwoStep | TcAction::DelayReq
        );
        if needs_ts && ingress.is_none() {
            cx.counters.count_drop(FastPathError::NoIngressTimestamp);
            return Decision::Drop;
        }
        let t_in = ingress.unwrap_or(0);
        let z = TimeInterval::ZERO;
        let mtype = msg.message_type();
        if action != TcAction::ToControl {
            count_port_type(&cx.counters.tc_rx, usize::from(port), mtype);
        }
        let mask = match action {
            TcAction::ToControl => return Decision::ToControl,
            TcAction::Drop => {
                cx.counters.count_drop(FastPathError::NotForwarded);
                return Decision::Drop;
            }
            TcAction::Plain => Self::fan_out(
                &mut cx,
                inflight,
                frame_bytes,
                port,
                t_in,
                key,
                Kind::None,
                z,
                z,
                out,
            ),
            TcAction::SyncOneStep => Self::fan_out(
                &mut cx,
                inflight,
                frame_bytes,
                port,
                t_in,
                key,
                Kind::SyncOneStep,
                link,
                z,
                out,
            ),
            TcAction::SyncTwoStep => {
                let mut ev = Evictions::default();
                let slot = syncs.insert(key, port, t_in, timeout, &mut ev);
                cx.counters.tc_sync_timed_out.add(ev.timed_out);
                if let Err(e) = slot {
                    // The Sync still goes out; its Follow_Up will find no entry.
                    cx.counters.count_drop(e);
                }
                let mask = Self::fan_out(
                    &mut cx,
                    inflight,
                    frame_bytes,
                    port,
                    t_in,
                    key,
                    Kind::SyncTwoStep,
                    z,
                    z,
                    out,
                );
                if let Some(e) = syncs.find(&key) {
                    e.egress_mask = mask;
                }
                mask
            }
            TcAction::FollowUp => {
                let Some(e) = syncs.find(&key) else {
                    cx.counters.count_drop(FastPathError::UnmatchedFollowUp);
                    return Decision::Drop;
                };
                let Ok(buf) = FrameBuf::from_slice(frame_bytes) else {
                    cx.counters.count_drop(FastPathError::BufferTooSmall);
                    return Decision::Drop;
                };
                e.follow_up = Some(buf);
                let origin = msg.timestamp().map(|t| t.to_nanos()).unwrap_or(0)
                    + i128::from(msg.correction_field().nanos_round());
                let sync_in = e.ingress_tai_ns;
                Self::release_follow_ups(&mut cx, e, out);
                let done = e.complete();
                if done {
                    syncs.remove(&key);
                }
                self.rate.feed(origin, sync_in);
                return Decision::Handled;
            }
            TcAction::DelayReq => {
                let mut ev = Evictions::default();
                let r = delay_reqs.insert(key, t_in, timeout, &mut ev);
                cx.counters.tc_delay_req_timed_out.add(ev.timed_out);
                if let Err(e) = r {
                    cx.counters.count_drop(e);
                }
                Self::fan_out(
                    &mut cx,
                    inflight,
                    frame_bytes,
                    port,
                    t_in,
                    key,
                    Kind::DelayReq,
                    z,
                    z,
                    out,
                )
            }
            TcAction::DelayResp => {
                let req_key = MatchKey {
                    port_identity: msg.requesting_port_identity().unwrap_or_default(),
                    ..key
                };
                let add = match delay_reqs.take(&req_key, port) {
                    Some(r) => r,
                    None => {
                        cx.counters.tc_delay_resp_unmatched.inc();
                        z
                    }
                };
                let m = Self::fan_out(
                    &mut cx,
                    inflight,
                    frame_bytes,
                    port,
                    t_in,
                    key,
                    Kind::None,
                    z,
                    add,
                    out,
                );
                cx.event(FastPathEvent {
                    kind: EventKind::DelayResp2,
                    port,
                    sequence_id: key.sequence_id,
                    port_identity: req_key.port_identity,
                    value_ns: add.nanos_round(),
                    correction: add,
                });
                m
            }
        };
        let _ = rate_offset;
        for q in (0..MAX_PORTS).filter(|q| mask & (1 << q) != 0) {
            count_port_type(&cx.counters.tc_tx, q, mtype);
        }
        if mask == 0 {
            Decision::Drop
        } else {
            Decision::Handled
        }
    }
}

impl Decide for FastPath {
    fn decide(&mut self, frame_bytes: &[u8], info: &RxInfo, out: &mut Outbox) -> Decision {
        let f = match frame::parse(frame_bytes) {
            Ok(f) => f,
            // Not PTP at all (the XDP program steers only PTP; kept for other hooks' frames).
            Err(e) if e.is_not_ptp() => return Decision::ToControl,
            // Headers the XDP program let through but that do not hold a PTP message.
            Err(e) => return self.fail(e.into()),
        };
        // A message control could not parse either: dropped here, counted by reason
        // (malformed / unsupported_version / reserved_message_type), instead of taking a slot
        // on the lane to control.
        let msg = match Message::new_checked(f.payload(frame_bytes)) {
            Ok(m) => m,
            Err(e) => return self.fail(e.into()),
        };
        let Some(pc) = self.cfg.port(info.port).copied() else {
            return Decision::ToControl;
        };
        let key = MatchKey {
            port_identity: msg.source_port_identity(),
            sequence_id: msg.sequence_id(),
            domain: msg.domain_number(),
        };
        let now = info.ts.user_tai_ns;
        let class = match msg.message_type() {
            MessageType::DelayReq => Some(LimitedClass::DelayReq),
            MessageType::PdelayReq => Some(LimitedClass::PdelayReq),
            MessageType::Management => Some(LimitedClass::Management),
            _ => None,
        };
        let answer = match msg.message_type() {
            MessageType::DelayReq if pc.master => Some(LimitedClass::DelayReq),
            MessageType::PdelayReq if pc.p2p => Some(LimitedClass::PdelayReq),
            _ => None,
        };
        if let Some(c) = answer {
            // Flood protection first (cheap), then the ICV (an HMAC per frame).
            if !self.admit(info.port, c, key.port_identity, now) {
                return Decision::Drop;
            }
            let payload = f.payload(frame_bytes);
            let mtype = msg.message_type();
            if let Err(e) = self.authenticate(&pc, info.port, mtype, payload, key, now) {
                // Who was refused, for control's per-requester report.
                let (cx, _, _, _) = self.split();
                cx.event(FastPathEvent {
                    kind: EventKind::AuthRejected,
                    port: info.port,
                    sequence_id: key.sequence_id,
                    port_identity: key.port_identity,
                    value_ns: e.index() as i64,
                    correction: TimeInterval::ZERO,
                });
                return self.fail(e);
            }
            return if c == LimitedClass::DelayReq {
                self.answer_delay_req(frame_bytes, info, key, out)
            } else {
                self.answer_pdelay_req(frame_bytes, info, key, out)
            };
        }
        let d = if pc.tc && self.cfg.tc_mode != TcMode::Off {
            match self.transparent(frame_bytes, &msg, info, out) {
                Decision::Handled
                    if self.cfg.tc_management_to_control
                        && msg.message_type() == MessageType::Management =>
                {
                    Decision::HandledAndToControl
                }
                d => d,
            }
        } else {
            Decision::ToControl
        };
        // Answers to other requesters stop here (IEEE 1588-2019 11.3.2, 11.4.3): on a
        // multicast segment a master's Delay_Resp to every requester reaches every port.
        if matches!(d, Decision::ToControl) && !self.for_this_port(&msg, &pc) {
            return self.fail(FastPathError::NotForUs);
        }
        // What goes up to control is limited before it takes a slot on the lane.
        match (d, class) {
            (Decision::ToControl, Some(c)) if !self.admit(info.port, c, key.port_identity, now) => {
                Decision::Drop
            }
            // Still forwarded; only the copy to control is shed.
            (Decision::HandledAndToControl, Some(c))
                if !self.admit(info.port, c, key.port_identity, now) =>
            {
                Decision::Handled
            }
            _ => d,
        }
    }

    fn before_kick(&mut self, port: PortId, token: TxToken, frame_bytes: &mut [u8], kick: u64) {
        let rate = self.rate_ratio_offset();
        // A signed one-step Pdelay_Resp whose ICV covers correctionField is signed again
        // after the turnaround went in (IEEE 1588-2019 16.14.3.1).
        let resign = self
            .cfg
            .port(port)
            .filter(|p| p.auth.is_some_and(|a| !a.allow_mutable))
            .copied();
        let counters = &self.h.counters;
        let Some(rec) = Self::lookup(&mut self.inflight, token) else {
            return;
        };
        let r = match rec.kind {
            Kind::SyncOneStep => residence(rec.ingress_tai_ns, kick, rate)
                .and_then(|r| tc::tc_correction(r, rec.extra)),
            Kind::PdelayOneStep => reply::add_turnaround(frame_bytes, rec.ingress_tai_ns, kick)
                .and_then(|t| {
                    if let Some(pc) = &resign {
                        reply::resign(frame_bytes, pc)?;
                    }
                    rec.extra = t;
                    Ok(TimeInterval::ZERO)
                }),
            _ => return,
        };
        match r {
            Ok(c) if c != TimeInterval::ZERO => match frame::add_correction(frame_bytes, c) {
                Ok(()) => rec.extra = c,
                Err(e) => counters.count_drop(e.into()),
            },
            Ok(_) => {}
            Err(e) => counters.count_drop(e),
        }
    }

    fn tx_done(&mut self, port: PortId, token: TxToken, outcome: TxOutcome, out: &mut Outbox) {
        let rate = self.rate_ratio_offset();
        let (mut cx, inflight, syncs, delay_reqs) = self.split();
        let Some(rec) = Self::lookup(inflight, token) else {
            if matches!(outcome, TxOutcome::Dropped(_)) {
                cx.counters.tx_failed.inc();
            }
            return;
        };
        let rec_copy = *rec;
        rec.kind = Kind::None;
        let sw = match outcome {
            TxOutcome::Sent { sw_tai_ns, .. } => sw_tai_ns,
            TxOutcome::Dropped(_) => {
                cx.counters.tx_failed.inc();
                if rec_copy.kind == Kind::SyncTwoStep {
                    if let Some(e) = syncs.find(&rec_copy.key) {
                        e.failed_mask |= 1 << port;
                    }
                }
                return;
            }
        };
        let handled = sw.wrapping_sub(rec_copy.ingress_tai_ns) as i64;
        let ev = |kind, value_ns, correction| FastPathEvent {
            kind,
            port,
            sequence_id: rec_copy.key.sequence_id,
            port_identity: rec_copy.key.port_identity,
            value_ns,
            correction,
        };
        match rec_copy.kind {
            Kind::None => {}
            Kind::DelayResp => cx.event(ev(EventKind::DelayResp, handled, TimeInterval::ZERO)),
            Kind::PdelayOneStep => {
                cx.event(ev(EventKind::PdelayTurnaround, handled, rec_copy.extra))
            }
            Kind::PdelayTwoStep => {
                cx.event(ev(EventKind::PdelayTurnaround, handled, TimeInterval::ZERO));
                let small = rec_copy
                    .small
                    .get(..usize::from(rec_copy.small_len))
                    .unwrap_or(&[]);
                let cfg = cx.cfg;
                let t = cx.token();
                let r = out.push_with(port, TxToken(t), FastPathError::OutboxFull, |buf| {
                    let pc = cfg.port(port).ok_or(FastPathError::UnknownPort(port))?;
                    reply::pdelay_resp_follow_up(small, sw, rec_copy.req_correction, cfg, pc, buf)
                });
                match r {
                    Ok(()) => cx.counters.pdelay_resp_follow_up_sent.inc(),
                    Err(e) => cx.counters.count_drop(e),
                }
            }
            Kind::SyncOneStep => cx.event(ev(EventKind::SyncOneStep, handled, rec_copy.extra)),
            Kind::SyncTwoStep => {
                let res = match residence(rec_copy.ingress_tai_ns, sw, rate) {
                    Ok(r) => r,
                    Err(e) => {
                        cx.counters.count_drop(e);
                        return;
                    }
                };
                cx.event(ev(EventKind::SyncTwoStep, handled, TimeInterval::ZERO));
                if let Some(e) = syncs.find(&rec_copy.key) {
                    if let Some(slot) = e.residence.get_mut(usize::from(port)) {
                        *slot = Some(res);
                    }
                    Self::release_follow_ups(&mut cx, e, out);
                    if e.complete() {
                        syncs.remove(&rec_copy.key);
                    }
                }
            }
            Kind::DelayReq => {
                match residence(rec_copy.ingress_tai_ns, sw, rate) {
                    Ok(r) => {
                        delay_reqs.set_residence(&rec_copy.key, port, r);
                    }
                    Err(e) => cx.counters.count_drop(e),
                }
                cx.event(ev(EventKind::DelayReq, handled, TimeInterval::ZERO));
            }
        }
    }

    fn tick(&mut self, now_tai_ns: u64, _out: &mut Outbox) {
        while let Some(u) = self.h.updates.pop() {
            self.cfg.apply(&u);
            self.h.counters.config_updates.inc();
        }
        let timeout = self.cfg.match_timeout_ns;
        let mut ev = Evictions::default();
        self.syncs.expire(now_tai_ns, timeout, &mut ev);
        self.h.counters.tc_sync_timed_out.add(ev.timed_out);
        if now_tai_ns.saturating_sub(self.last_report_tai_ns) >= 1_000_000_000 {
            self.last_report_tai_ns = now_tai_ns;
            if !self.requesters.is_empty() {
                let _ = self.h.requesters.push(RequesterReport {
                    at_tai_ns: now_tai_ns,
                    total: self.requesters.total(),
                    top: self.requesters.top(),
                });
            }
        }
    }
}
