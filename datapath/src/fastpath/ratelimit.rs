//! Flood protection on the datapath core: token buckets in front of the requests that cost
//! the clock work (Delay_Req and Pdelay_Req answered here, Management sent up to control), one
//! per port and one per requester (sourcePortIdentity), so that a flood of requests can neither
//! fill the TX ring ahead of Sync/Announce nor fill the lane to control. What a bucket refuses
//! is dropped and counted ([`super::FastPathError::RateLimitedPort`],
//! [`super::FastPathError::RateLimitedRequester`]).
//!
//! Fixed memory, integer arithmetic, no clock of its own: the caller passes CLOCK_TAI. The
//! requester table is a small open-addressed hash table with bounded probing; when every slot
//! of a probe window is taken, the least recently seen requester is evicted (it starts again
//! with a full bucket when it comes back: a spoofer rotating identities escapes the
//! per-requester limit and is held by the per-port one).

use crate::wire::PortIdentity;

/// One token bucket's settings: `rate` tokens per second, at most `burst` saved up.
/// `rate == 0` disables the limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct RateLimit {
    /// Sustained messages per second (0 = unlimited).
    pub rate: u32,
    /// Messages accepted back to back after a quiet period (at least 1 when limited).
    pub burst: u32,
}

impl RateLimit {
    /// No limit.
    pub const UNLIMITED: RateLimit = RateLimit { rate: 0, burst: 0 };

    /// `rate` per second with a burst of `burst`.
    pub const fn new(rate: u32, burst: u32) -> Self {
        RateLimit { rate, burst }
    }

    /// Whether this limits anything.
    pub const fn is_limited(&self) -> bool {
        self.rate != 0
    }

    /// Bucket capacity in nano-tokens.
    fn capacity(&self) -> u64 {
        u64::from(self.burst.max(1)) * NANO
    }
}

/// Per-port and per-requester limits of one message class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct ClassLimits {
    /// Whole port (all requesters together).
    pub port: RateLimit,
    /// Each requester (sourcePortIdentity) on its own.
    pub requester: RateLimit,
}

/// The limits of every limited message class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RateLimits {
    /// Delay_Req (answered on MASTER ports, IEEE 1588-2019 9.5.11).
    pub delay_req: ClassLimits,
    /// Pdelay_Req (answered on P2P ports, 11.4).
    pub pdelay_req: ClassLimits,
    /// Management messages going up to control (clause 15).
    pub management: ClassLimits,
}

impl RateLimits {
    /// Nothing limited.
    pub const UNLIMITED: RateLimits = RateLimits {
        delay_req: ClassLimits {
            port: RateLimit::UNLIMITED,
            requester: RateLimit::UNLIMITED,
        },
        pdelay_req: ClassLimits {
            port: RateLimit::UNLIMITED,
            requester: RateLimit::UNLIMITED,
        },
        management: ClassLimits {
            port: RateLimit::UNLIMITED,
            requester: RateLimit::UNLIMITED,
        },
    };

    /// The defaults: far above what well-behaved peers send (the fastest profile rate is
    /// 128 Delay_Req/s per slave; a port serving a thousand such slaves stays under the
    /// per-port limit), low enough that one misbehaving host cannot take a port's TX ring.
    pub const DEFAULT: RateLimits = RateLimits {
        delay_req: ClassLimits {
            port: RateLimit::new(100_000, 10_000),
            requester: RateLimit::new(256, 256),
        },
        pdelay_req: ClassLimits {
            port: RateLimit::new(1_000, 256),
            requester: RateLimit::new(256, 64),
        },
        management: ClassLimits {
            port: RateLimit::new(1_000, 256),
            requester: RateLimit::new(100, 100),
        },
    };

    /// The limits of `class`.
    pub fn get(&self, class: LimitedClass) -> &ClassLimits {
        match class {
            LimitedClass::DelayReq => &self.delay_req,
            LimitedClass::PdelayReq => &self.pdelay_req,
            LimitedClass::Management => &self.management,
        }
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A message class with its own buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LimitedClass {
    /// Delay_Req.
    DelayReq,
    /// Pdelay_Req.
    PdelayReq,
    /// Management.
    Management,
}

impl LimitedClass {
    /// Number of classes.
    pub const COUNT: usize = 3;

    /// Index for per-class arrays.
    pub const fn index(self) -> usize {
        match self {
            LimitedClass::DelayReq => 0,
            LimitedClass::PdelayReq => 1,
            LimitedClass::Management => 2,
        }
    }

    /// Names, by [`Self::index`].
    pub const NAMES: [&'static str; Self::COUNT] = ["delay_req", "pdelay_req", "management"];
}

const NANO: u64 = 1_000_000_000;

/// A token bucket in nano-tokens (one message = 10^9), refilled from CLOCK_TAI readings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenBucket {
    nano_tokens: u64,
    last_ns: u64,
    primed: bool,
}

impl TokenBucket {
    /// Takes one token at `now_ns` if `limit` allows. A new bucket starts full; time going
    /// backwards refills nothing.
    pub fn take(&mut self, limit: &RateLimit, now_ns: u64) -> bool {
        if !limit.is_limited() {
            return true;
        }
        let cap = limit.capacity();
        if !self.primed {
            self.primed = true;
            self.nano_tokens = cap;
        } else {
            let dt = now_ns.saturating_sub(self.last_ns);
            // dt · rate nano-tokens; beyond a full refill the product does not matter.
            let refill = dt.saturating_mul(u64::from(limit.rate));
            self.nano_tokens = self.nano_tokens.saturating_add(refill).min(cap);
        }
        if now_ns > self.last_ns {
            self.last_ns = now_ns;
        }
        if self.nano_tokens >= NANO {
            self.nano_tokens -= NANO;
            true
        } else {
            false
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Slot {
    id: PortIdentity,
    used: bool,
    bucket: TokenBucket,
    seen_ns: u64,
}

/// Probe window of the requester table.
const PROBE: usize = 8;

/// Per-requester buckets of one port and class: `N` slots (a power of two), open addressing
/// with a probe window of 8, least-recently-seen eviction within the window.
#[derive(Clone, Debug)]
pub struct RequesterBuckets<const N: usize> {
    slots: [Slot; N],
    /// Requesters evicted to make room (table pressure: many distinct identities).
    pub evictions: u64,
}

impl<const N: usize> Default for RequesterBuckets<N> {
    fn default() -> Self {
        RequesterBuckets {
            slots: [Slot::default(); N],
            evictions: 0,
        }
    }
}

fn hash(id: &PortIdentity) -> u64 {
    // FNV-1a over the 10 octets: cheap, and the table only needs spreading, not secrecy
    // (eviction bounds what a colliding attacker gains).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id
        .clock_identity
        .0
        .iter()
        .chain(id.port_number.to_be_bytes().iter())
    {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl<const N: usize> RequesterBuckets<N> {
    /// Takes one token for `id` at `now_ns`.
    pub fn take(&mut self, id: PortIdentity, limit: &RateLimit, now_ns: u64) -> bool {
        if !limit.is_limited() || N == 0 {
            return true;
        }
        let start = hash(&id) as usize % N;
        let mut victim: Option<(usize, u64)> = None;
        for k in 0..PROBE.min(N) {
            let i = (start + k) % N;
            let Some(s) = self.slots.get(i) else {
                continue;
            };
            if s.used && s.id == id {
                victim = Some((i, u64::MAX));
                break;
            }
            if !s.used {
                victim = Some((i, 0));
                break;
            }
            if victim.is_none_or(|(_, seen)| s.seen_ns < seen) {
                victim = Some((i, s.seen_ns));
            }
        }
        let victim = victim.map(|(i, _)| i);
        if let Some(s) = victim.and_then(|v| self.slots.get_mut(v)) {
            if s.used && s.id == id {
                s.seen_ns = now_ns;
                return s.bucket.take(limit, now_ns);
            }
        }
        let Some(s) = victim.and_then(|v| self.slots.get_mut(v)) else {
            return true;
        };
        if s.used {
            self.evictions += 1;
        }
        *s = Slot {
            id,
            used: true,
            bucket: TokenBucket::default(),
            seen_ns: now_ns,
        };
        s.bucket.take(limit, now_ns)
    }

    /// Requesters currently tracked.
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.used).count()
    }

    /// None tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shed {
    /// The port's bucket for the class was empty.
    Port,
    /// The requester's bucket was empty.
    Requester,
}

/// Requesters tracked per port and class.
pub const REQUESTER_SLOTS: usize = 256;

/// All buckets of one port.
#[derive(Clone, Debug, Default)]
pub struct PortBuckets {
    port: [TokenBucket; LimitedClass::COUNT],
    requesters: [RequesterBuckets<REQUESTER_SLOTS>; LimitedClass::COUNT],
}

impl PortBuckets {
    /// Admits or refuses one `class` message from `id` at `now_ns`. The requester's bucket is
    /// checked first, so that one noisy requester does not drain the port's bucket for the
    /// others.
    pub fn admit(
        &mut self,
        limits: &RateLimits,
        class: LimitedClass,
        id: PortIdentity,
        now_ns: u64,
    ) -> Result<(), Shed> {
        let l = limits.get(class);
        let i = class.index();
        if let Some(r) = self.requesters.get_mut(i) {
            if !r.take(id, &l.requester, now_ns) {
                return Err(Shed::Requester);
            }
        }
        if let Some(b) = self.port.get_mut(i) {
            if !b.take(&l.port, now_ns) {
                return Err(Shed::Port);
            }
        }
        Ok(())
    }

    /// Requesters evicted from the tables of `class`.
    pub fn evictions(&self, class: LimitedClass) -> u64 {
        self.requesters
            .get(class.index())
            .map(|r| r.evictions)
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ClockIdentity;

    fn id(n: u16) -> PortIdentity {
        PortIdentity::new(
            ClockIdentity([0xaa, 0, 0, 0, 0, 0, (n >> 8) as u8, n as u8]),
            1,
        )
    }

    #[test]
    fn unlimited_admits_everything() {
        let mut b = TokenBucket::default();
        assert!((0..100_000).all(|_| b.take(&RateLimit::UNLIMITED, 5)));
    }

    #[test]
    fn bucket_admits_the_burst_then_the_rate() {
        let l = RateLimit::new(100, 10);
        let mut b = TokenBucket::default();
        let t0 = 1_000_000_000_000;
        // A full bucket: exactly the burst at one instant.
        assert_eq!((0..50).filter(|_| b.take(&l, t0)).count(), 10);
        // 100/s: one token per 10 ms.
        assert!(!b.take(&l, t0 + 9_999_999));
        assert!(b.take(&l, t0 + 10_000_000));
        assert!(!b.take(&l, t0 + 10_000_001));
        // One second of offered 1000/s admits about 100.
        let admitted = (1..=1000u64)
            .filter(|k| b.take(&l, t0 + 10_000_000 + k * 1_000_000))
            .count();
        assert!((99..=101).contains(&admitted), "{admitted}");
        // After a long pause the bucket is full again, not more.
        let later = t0 + 100 * NANO;
        assert_eq!((0..50).filter(|_| b.take(&l, later)).count(), 10);
    }

    #[test]
    fn time_going_backwards_refills_nothing() {
        let l = RateLimit::new(1, 1);
        let mut b = TokenBucket::default();
        assert!(b.take(&l, 10 * NANO));
        assert!(!b.take(&l, 5 * NANO));
        assert!(!b.take(&l, 10 * NANO + NANO / 2));
        assert!(b.take(&l, 11 * NANO));
    }

    #[test]
    fn requesters_have_their_own_buckets() {
        let l = RateLimit::new(10, 2);
        let mut t: RequesterBuckets<16> = RequesterBuckets::default();
        assert!(t.take(id(1), &l, 0));
        assert!(t.take(id(1), &l, 0));
        assert!(!t.take(id(1), &l, 0));
        assert!(t.take(id(2), &l, 0));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn a_full_table_evicts_the_least_recently_seen() {
        let l = RateLimit::new(1, 1);
        let mut t: RequesterBuckets<8> = RequesterBuckets::default();
        for n in 0..8 {
            assert!(t.take(id(n), &l, u64::from(n)));
        }
        assert_eq!(t.len(), 8);
        // id(0) is the oldest: a ninth requester replaces it, the others keep their (empty)
        // buckets.
        assert!(t.take(id(100), &l, 100));
        assert_eq!(t.evictions, 1);
        assert!(!t.take(id(7), &l, 101));
        assert!(t.take(id(0), &l, 102), "evicted requester starts over");
        assert_eq!(t.len(), 8);
    }

    #[test]
    fn port_bucket_holds_a_spoofer_rotating_identities() {
        let limits = RateLimits {
            delay_req: ClassLimits {
                port: RateLimit::new(1000, 100),
                requester: RateLimit::new(10, 1),
            },
            ..RateLimits::UNLIMITED
        };
        let mut p = PortBuckets::default();
        let now = 7 * NANO;
        // 1000 distinct identities at one instant: each requester bucket has a token, the
        // port's burst admits 100.
        let admitted = (0..1000)
            .filter(|n| {
                p.admit(&limits, LimitedClass::DelayReq, id(*n), now)
                    .is_ok()
            })
            .count();
        assert_eq!(admitted, 100);
        assert_eq!(
            p.admit(&limits, LimitedClass::DelayReq, id(5000), now),
            Err(Shed::Port)
        );
        // A requester repeating itself one second later is held by its own bucket first.
        let later = now + NANO;
        assert!(p
            .admit(&limits, LimitedClass::DelayReq, id(7000), later)
            .is_ok());
        assert_eq!(
            p.admit(&limits, LimitedClass::DelayReq, id(7000), later),
            Err(Shed::Requester)
        );
        // Other classes are unlimited.
        assert!(p
            .admit(&limits, LimitedClass::Management, id(1), now)
            .is_ok());
    }

    #[test]
    fn defaults_are_limited_and_generous() {
        let d = RateLimits::default();
        assert!(d.delay_req.port.rate >= 100_000);
        assert!(d.delay_req.requester.rate >= 128);
        assert!(d.management.port.is_limited());
    }
}
