//! What control tells the fast path: which ports are MASTER or run P2P, our identities and
//! addresses, the domain, logMinDelayReqInterval, per-port meanLinkDelay, the transparent-clock
//! mode and the timescale offset. Plain `Copy` data of fixed size, carried to the worker as
//! [`ConfigUpdate`] messages on a bounded lock-free lane ([`crate::handoff::Lane`]) that the
//! worker drains between batches: no lock, no allocation and no shared mutable state in the loop.

use core::net::{Ipv4Addr, Ipv6Addr};

use super::ratelimit::RateLimits;
use crate::handoff::PortId;
use crate::wire::{auth, ClockIdentity, PortIdentity, TimeInterval};

/// Most ports one fast-path instance (one worker) serves.
pub const MAX_PORTS: usize = 8;

/// Transparent-clock behaviour of the port group (IEEE 1588-2019 10.2, 10.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TcMode {
    /// No transparent clock: nothing is forwarded.
    #[default]
    Off,
    /// End-to-end TC (10.2): Sync/Follow_Up/Delay_Req/Delay_Resp get residence time; Pdelay
    /// messages are not handled by the TC.
    E2e,
    /// Peer-to-peer TC (10.3): Sync/Follow_Up get residence time plus the ingress port's
    /// meanLinkDelay; Pdelay_Req is answered on every port, Pdelay messages are never
    /// forwarded; Delay_Req/Delay_Resp are dropped.
    P2p,
}

/// How Pdelay_Req is answered (IEEE 1588-2019 11.4.2 c).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum PdelayMode {
    /// Pdelay_Resp with requestReceiptTimestamp = t2, then Pdelay_Resp_Follow_Up with
    /// responseOriginTimestamp = t3 from the Pdelay_Resp's TX timestamp.
    #[default]
    TwoStep,
    /// Pdelay_Resp only: requestReceiptTimestamp zero, turnaround t3 − t2 added to
    /// correctionField just before the kick.
    OneStep,
}

/// One port as the fast path sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortConfig {
    /// Whether the port exists.
    pub enabled: bool,
    /// portNumber of our sourcePortIdentity on this port (1-based).
    pub port_number: u16,
    /// The port's MAC address (Ethernet source of replies).
    pub mac: [u8; 6],
    /// IPv4 source of UDPv4 multicast replies (unicast replies use the request's destination).
    pub ipv4: Option<Ipv4Addr>,
    /// IPv6 source of UDPv6 multicast replies.
    pub ipv6: Option<Ipv6Addr>,
    /// Port state MASTER: Delay_Req is answered here (IEEE 1588-2019 9.2.5, 11.3).
    pub master: bool,
    /// The port runs the peer delay mechanism: Pdelay_Req is answered here in any port state
    /// (IEEE 1588-2019 11.4.1).
    pub p2p: bool,
    /// Member of the transparent-clock port group.
    pub tc: bool,
    /// meanLinkDelay of the link on this port, measured by control (IEEE 1588-2019 11.4),
    /// added by a P2P TC to Sync / Follow_Up that arrive on this port.
    pub mean_link_delay: TimeInterval,
    /// The port requires authentication (linuxptp `spp` with an `sa_file`): Delay_Req and
    /// Pdelay_Req must carry a valid AUTHENTICATION TLV (unless `allow_unauth` lets event
    /// messages through unsigned) and every reply is signed (IEEE 1588-2019 16.14).
    pub auth: Option<PortAuth>,
}

/// Keys one port's security association may hold in the fast path.
pub const MAX_AUTH_KEYS: usize = 4;

/// One pre-shared HMAC-SHA256 key (IEEE 1588-2019 P.3.2), compacted to at most one HMAC
/// block (longer keys are replaced by their SHA-256, which yields the same MACs).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AuthKey {
    /// keyID of the AUTHENTICATION TLV.
    pub key_id: u32,
    /// Octets of the ICV: 16 (SHA256-128) or 32 (SHA256).
    pub icv_len: u8,
    len: u8,
    secret: [u8; auth::HMAC_BLOCK_LEN],
}

impl AuthKey {
    /// A key; `icv_len` above 32 is clamped to 32.
    pub fn new(key_id: u32, icv_len: usize, secret: &[u8]) -> Self {
        let (secret, len) = auth::compact_key(secret);
        AuthKey {
            key_id,
            icv_len: icv_len.min(auth::MAX_ICV_LEN) as u8,
            len: len as u8,
            secret,
        }
    }

    /// As the ICV functions take it.
    pub fn key_ref(&self) -> auth::KeyRef<'_> {
        auth::KeyRef {
            key_id: self.key_id,
            icv_len: usize::from(self.icv_len),
            secret: self.secret.get(..usize::from(self.len)).unwrap_or(&[]),
        }
    }
}

impl core::fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AuthKey")
            .field("key_id", &self.key_id)
            .field("icv_len", &self.icv_len)
            .field("secret", &format_args!("<{} octets redacted>", self.len))
            .finish()
    }
}

/// A port's security association as the fast path uses it (linuxptp `spp`,
/// `active_key_id`, `allow_unauth`, and the association's `seqid_window` / `allow_mutable`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortAuth {
    /// Security Parameter Pointer of the port's association.
    pub spp: u8,
    /// keyID replies are signed with.
    pub active_key_id: u32,
    /// `allow_unauth` >= 1: event messages (Delay_Req, Pdelay_Req) may come unsigned; signed
    /// ones are still verified.
    pub allow_unauth_event: bool,
    /// `allow_mutable`: correctionField is left out of the ICV.
    pub allow_mutable: bool,
    /// Anti-replay window: a requester's sequenceId must be 1..=window ahead of its last
    /// accepted one (0 = no replay check).
    pub seqid_window: u16,
    keys: [Option<AuthKey>; MAX_AUTH_KEYS],
}

impl PortAuth {
    /// An association with SPP `spp` signing with `active_key_id`, holding the first
    /// [`MAX_AUTH_KEYS`] of `keys` (the active key first if it is among them).
    pub fn new(spp: u8, active_key_id: u32, keys: &[AuthKey]) -> Self {
        let mut slots = [None; MAX_AUTH_KEYS];
        let active = keys.iter().filter(|k| k.key_id == active_key_id);
        let others = keys.iter().filter(|k| k.key_id != active_key_id);
        for (slot, k) in slots.iter_mut().zip(active.chain(others)) {
            *slot = Some(*k);
        }
        PortAuth {
            spp,
            active_key_id,
            allow_unauth_event: false,
            allow_mutable: false,
            seqid_window: 3,
            keys: slots,
        }
    }

    /// The key with `key_id`.
    pub fn key(&self, key_id: u32) -> Option<&AuthKey> {
        self.keys.iter().flatten().find(|k| k.key_id == key_id)
    }

    /// The key replies are signed with.
    pub fn active_key(&self) -> Option<&AuthKey> {
        self.key(self.active_key_id)
    }
}

impl PortConfig {
    /// A disabled slot.
    pub const DISABLED: PortConfig = PortConfig {
        enabled: false,
        port_number: 0,
        mac: [0; 6],
        ipv4: None,
        ipv6: None,
        master: false,
        p2p: false,
        tc: false,
        mean_link_delay: TimeInterval::ZERO,
        auth: None,
    };

    /// An enabled port with number `port_number` and MAC `mac`, no role yet.
    pub const fn new(port_number: u16, mac: [u8; 6]) -> Self {
        PortConfig {
            enabled: true,
            port_number,
            mac,
            ..Self::DISABLED
        }
    }
}

/// The whole fast-path configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FastPathConfig {
    /// defaultDS.clockIdentity (our sourcePortIdentity's clock identity).
    pub clock_identity: ClockIdentity,
    /// defaultDS.domainNumber: messages of other domains go to control.
    pub domain_number: u8,
    /// portDS.logMinDelayReqInterval, sent in Delay_Resp's logMessageInterval (13.8.1 / 7.7.2.4).
    pub log_min_delay_req_interval: i8,
    /// Peer-delay responder behaviour.
    pub pdelay_mode: PdelayMode,
    /// Transparent-clock mode of the ports with `tc` set.
    pub tc_mode: TcMode,
    /// PTP time = CLOCK_TAI + this offset (ns). Zero when CLOCK_TAI is the PTP timescale;
    /// `CLOCK_REALTIME − CLOCK_TAI` when interoperating with software-timestamping peers that
    /// stamp in CLOCK_REALTIME (linuxptp `time_stamping software`).
    pub tai_to_ptp_ns: i64,
    /// The TC's rate ratio to the grandmaster minus one, in units of 2^-41 (802.1AS style
    /// scaled ratio): residence times are multiplied by `1 + rate_ratio_offset / 2^41` when
    /// syntonized. Zero when not syntonized.
    pub rate_ratio_offset: i64,
    /// Estimate the rate ratio from successive two-step Sync/Follow_Up (syntonized mode);
    /// overrides `rate_ratio_offset` once two samples are in.
    pub syntonize: bool,
    /// Two-step Sync / E2E Delay_Req match entries older than this are dropped (counted).
    pub match_timeout_ns: u64,
    /// Flood protection: token buckets per port and per requester for Delay_Req, Pdelay_Req
    /// and Management (see [`super::ratelimit`]).
    pub rate_limits: RateLimits,
    /// Per port, indexed by [`PortId`].
    pub ports: [PortConfig; MAX_PORTS],
    /// A transparent clock forwards Management messages (IEEE 1588-2019 15.3.3) and, when
    /// set, also copies them up to control, which answers those addressed to this clock
    /// (`network_management 1`).
    pub tc_management_to_control: bool,
}

impl Default for FastPathConfig {
    fn default() -> Self {
        FastPathConfig {
            clock_identity: ClockIdentity([0; 8]),
            domain_number: 0,
            log_min_delay_req_interval: 0,
            pdelay_mode: PdelayMode::TwoStep,
            tc_mode: TcMode::Off,
            tai_to_ptp_ns: 0,
            rate_ratio_offset: 0,
            syntonize: false,
            match_timeout_ns: 1_000_000_000,
            rate_limits: RateLimits::DEFAULT,
            ports: [PortConfig::DISABLED; MAX_PORTS],
            tc_management_to_control: false,
        }
    }
}

impl FastPathConfig {
    /// The enabled port `port`, if any.
    pub fn port(&self, port: PortId) -> Option<&PortConfig> {
        self.ports.get(usize::from(port)).filter(|p| p.enabled)
    }

    /// Our sourcePortIdentity on `port`.
    pub fn port_identity(&self, p: &PortConfig) -> PortIdentity {
        PortIdentity::new(self.clock_identity, p.port_number)
    }

    /// Converts an XDP-ingress / TX CLOCK_TAI reading to PTP nanoseconds.
    pub fn to_ptp_ns(&self, tai_ns: u64) -> i128 {
        i128::from(tai_ns) + i128::from(self.tai_to_ptp_ns)
    }
}

/// A configuration change, sent by control, applied by the worker between batches.
// Not boxed on purpose: the lane holds values inline, so the worker never frees memory.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigUpdate {
    /// Replace everything (table contents are kept).
    Full(FastPathConfig),
    /// A new meanLinkDelay measurement on one port.
    MeanLinkDelay {
        /// The port.
        port: PortId,
        /// Its meanLinkDelay.
        delay: TimeInterval,
    },
    /// The port became (or stopped being) MASTER.
    Master {
        /// The port.
        port: PortId,
        /// MASTER or not.
        master: bool,
    },
    /// New timescale offset (e.g. after a leap second or a UTC offset change).
    TaiToPtp(i64),
    /// New flood-protection limits (bucket contents are kept).
    RateLimits(RateLimits),
    /// New security association of one port (keys changed, or authentication switched on
    /// or off).
    Auth {
        /// The port.
        port: PortId,
        /// Its association, `None` = no authentication.
        auth: Option<PortAuth>,
    },
}

impl FastPathConfig {
    /// Applies one update.
    pub fn apply(&mut self, u: &ConfigUpdate) {
        match *u {
            ConfigUpdate::Full(c) => *self = c,
            ConfigUpdate::MeanLinkDelay { port, delay } => {
                if let Some(p) = self.ports.get_mut(usize::from(port)) {
                    p.mean_link_delay = delay;
                }
            }
            ConfigUpdate::Master { port, master } => {
                if let Some(p) = self.ports.get_mut(usize::from(port)) {
                    p.master = master;
                }
            }
            ConfigUpdate::TaiToPtp(o) => self.tai_to_ptp_ns = o,
            ConfigUpdate::RateLimits(l) => self.rate_limits = l,
            ConfigUpdate::Auth { port, auth } => {
                if let Some(p) = self.ports.get_mut(usize::from(port)) {
                    p.auth = auth;
                }
            }
        }
    }
}
