//! Per-port runtime state of a [`super::PtpInstance`]: the BMCA part ([`BmcaPort`]), counters,
//! sequence numbers, the slave's Sync matching and delay exchanges, the peer delay state, and
//! what the latest Announce of each foreign master carried besides its BMCA fields.

use xptp_datapath::wire::{ClockIdentity, PortIdentity, TimeInterval, TlvRepr};

use super::{InstanceConfig, Measurement};
use crate::instance::BmcaPort;
use crate::port::counters::PortCounters;
use crate::port::delay::{RateRatioEstimator, Ratio, SyncSample};
use crate::port::slave::SyncMatcher;
use crate::security::replay::ReplayGuard;
use crate::security::SecurityAssociation;
use crate::servo::DelayFilter;
use crate::time::Instant;

/// Senders whose Announce TLVs are remembered per port.
const EXTRAS_CAPACITY: usize = 16;

/// An outstanding Delay_Req (11.3).
#[derive(Clone, Copy, Debug)]
pub(super) struct DelayReqOut {
    pub seq: u16,
    /// Egress time of the Delay_Req (from its TX timestamp).
    pub t3: Option<i128>,
    /// (t4, Delay_Resp correctionField scaled).
    pub resp: Option<(i128, i128)>,
}

/// The Pdelay_Resp half of a peer delay exchange.
#[derive(Clone, Copy, Debug)]
pub(super) struct PdelayRespIn {
    pub responder: PortIdentity,
    pub two_step: bool,
    pub t2: i128,
    pub t4: i128,
    pub correction: i128,
}

/// An outstanding Pdelay_Req (11.4).
#[derive(Clone, Copy, Debug)]
pub(super) struct PdelayOut {
    pub seq: u16,
    pub t1: Option<i128>,
    pub resp: Option<PdelayRespIn>,
    /// (t3, Pdelay_Resp_Follow_Up correctionField scaled).
    pub follow_up: Option<(i128, i128)>,
}

/// What an Announce carried that the BMCA does not read but a boundary clock re-emits.
#[derive(Clone, Debug)]
pub(super) struct AnnounceExtras {
    pub sender: PortIdentity,
    pub path_trace: Vec<ClockIdentity>,
    pub c37_238: Option<TlvRepr>,
}

/// Which message a TX timestamp is awaited for.
#[derive(Clone, Copy, Debug)]
pub(super) enum PendingKind {
    Sync {
        seq: u16,
    },
    DelayReq {
        seq: u16,
    },
    PdelayReq {
        seq: u16,
    },
    PdelayResp {
        seq: u16,
        requester: PortIdentity,
        correction: i64,
    },
}

/// A message sent with a token, waiting for its TX timestamp.
#[derive(Clone, Copy, Debug)]
pub(super) struct PendingTx {
    pub id: u64,
    pub idx: usize,
    pub sent: Instant,
    pub deadline: Instant,
    pub kind: PendingKind,
}

/// Sequence counters, one per message type a port originates (7.3.7).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct SequenceIds {
    pub announce: u16,
    pub sync: u16,
    pub delay_req: u16,
    pub pdelay_req: u16,
}

impl SequenceIds {
    /// Returns the current value of `field` and advances it (wrapping).
    pub fn take(field: &mut u16) -> u16 {
        let v = *field;
        *field = v.wrapping_add(1);
        v
    }
}

#[derive(Debug)]
pub(super) struct PortRuntime {
    pub bmca: BmcaPort,
    pub counters: PortCounters,
    pub seq: SequenceIds,
    pub matcher: SyncMatcher,
    pub last_sync: Option<SyncSample>,
    pub delay_req: Option<DelayReqOut>,
    /// (t3, t4) of the last completed E2E exchange.
    pub last_delay: Option<(i128, i128)>,
    /// sequenceId of the Sync the last meanPathDelay sample was computed with.
    pub delay_sync_seq: Option<u16>,
    pub delay_filter: DelayFilter,
    /// Filtered meanPathDelay / meanLinkDelay, scaled ns.
    pub mean_delay: Option<i128>,
    /// logMinDelayReqInterval from the master's Delay_Resp (9.5.11.2).
    pub master_log_min_delay_req: Option<i8>,
    pub pdelay: Option<PdelayOut>,
    pub rate_ratio: RateRatioEstimator,
    pub nrr: Ratio,
    pub extras: Vec<AnnounceExtras>,
    pub last_measurement: Option<Measurement>,
    /// The security association of the port's `spp`, if it has one and the database holds it.
    pub sa: Option<SecurityAssociation>,
    pub replay: ReplayGuard,
}

impl PortRuntime {
    pub fn new(bmca: BmcaPort, cfg: &InstanceConfig) -> Self {
        let sa = bmca
            .config
            .security
            .spp
            .and_then(|spp| cfg.security.as_ref()?.get(spp).cloned());
        PortRuntime {
            bmca,
            counters: PortCounters::default(),
            seq: SequenceIds::default(),
            matcher: SyncMatcher::default(),
            last_sync: None,
            delay_req: None,
            last_delay: None,
            delay_sync_seq: None,
            delay_filter: DelayFilter::new(cfg.servo.delay_filter, cfg.servo.delay_filter_length),
            mean_delay: None,
            master_log_min_delay_req: None,
            pdelay: None,
            rate_ratio: RateRatioEstimator::new(cfg.rate_ratio_window),
            nrr: Ratio::ONE,
            extras: Vec::new(),
            last_measurement: None,
            sa,
            replay: ReplayGuard::default(),
        }
    }

    pub fn number(&self) -> u16 {
        self.bmca.ds.port_identity.port_number
    }

    pub fn identity(&self) -> PortIdentity {
        self.bmca.ds.port_identity
    }

    /// Forgets the slave-side state (new master, leaving UNCALIBRATED/SLAVE). The E2E path
    /// delay belongs to the old master's path and goes too; a P2P link delay stays.
    pub fn reset_slave(&mut self, p2p: bool) {
        self.matcher.reset();
        self.last_sync = None;
        self.delay_req = None;
        self.last_delay = None;
        self.delay_sync_seq = None;
        self.master_log_min_delay_req = None;
        if !p2p {
            self.delay_filter.reset();
            self.mean_delay = None;
        }
    }

    /// Forgets the peer delay state (FAULTY, or a local clock step).
    pub fn reset_pdelay(&mut self) {
        self.pdelay = None;
        self.rate_ratio.reset();
    }

    /// Remembers the TLVs of `sender`'s latest Announce.
    pub fn remember_extras(&mut self, e: AnnounceExtras) {
        self.extras.retain(|x| x.sender != e.sender);
        if self.extras.len() >= EXTRAS_CAPACITY {
            self.extras.remove(0);
        }
        self.extras.push(e);
    }

    pub fn extras_of(&self, sender: PortIdentity) -> Option<&AnnounceExtras> {
        self.extras.iter().find(|x| x.sender == sender)
    }
}

/// Scaled i128 → TimeInterval, saturating.
pub(super) fn to_interval(s: i128) -> TimeInterval {
    TimeInterval(s.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}
