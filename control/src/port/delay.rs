//! The delay and offset arithmetic of IEEE 1588-2019 11.3 (delay request-response, E2E) and
//! 11.4 (peer delay, P2P), in integers.
//!
//! Timestamps are local-clock nanoseconds (`i128`); correctionFields and results are scaled
//! nanoseconds (2^-16 ns, the [`TimeInterval`](xptp_datapath::wire::TimeInterval) unit) in
//! `i128`, so the fractional nanoseconds a transparent clock writes are kept. The
//! neighborRateRatio is an exact rational ([`Ratio`]), never a float. Pure functions: no state
//! except the small rate-ratio history of [`RateRatioEstimator`].

use std::collections::VecDeque;

/// 2^16: nanoseconds to scaled nanoseconds.
pub const SCALE: i128 = 1 << 16;

/// Nanoseconds → scaled nanoseconds.
pub const fn scaled(ns: i128) -> i128 {
    ns * SCALE
}

/// The most negative mean path / link delay sample still used (ns); see
/// [`xptp_datapath::delay_filter::NEGATIVE_DELAY_TOLERANCE_NS`], which the fast path's P2P
/// transparent clock applies too.
pub const NEGATIVE_DELAY_TOLERANCE_NS: i128 =
    xptp_datapath::delay_filter::NEGATIVE_DELAY_TOLERANCE_NS as i128;

/// Scaled nanoseconds → nanoseconds, rounded to nearest.
pub fn round_ns(s: i128) -> i128 {
    if s >= 0 {
        (s + SCALE / 2) / SCALE
    } else {
        -((-s + SCALE / 2) / SCALE)
    }
}

/// One completed Sync (with its Follow_Up for a two-step master): the master's t1, the local
/// t2, and the sum of the correctionFields (11.3.2 / 11.4.3: Sync's plus Follow_Up's).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SyncSample {
    pub sequence_id: u16,
    /// preciseOriginTimestamp (two-step) or originTimestamp (one-step), master time, ns.
    pub t1: i128,
    /// Ingress timestamp of the Sync, local time, ns.
    pub t2: i128,
    /// Sync correctionField + Follow_Up correctionField, scaled ns.
    pub correction: i128,
    /// The Sync's logMessageInterval.
    pub log_interval: i8,
}

/// IEEE 1588-2019 11.3.2: meanPathDelay = [(t2 − t1) + (t4 − t3) − correctedSyncCorrection −
/// Delay_Resp correctionField] / 2, in scaled ns. `delayAsymmetry` cancels out of the mean
/// (it is added to the Sync correction and subtracted from the Delay_Req's, 11.6), so it does
/// not appear here.
pub fn e2e_mean_path_delay(sync: &SyncSample, t3: i128, t4: i128, resp_correction: i128) -> i128 {
    (scaled(sync.t2 - sync.t1) - sync.correction + scaled(t4 - t3) - resp_correction) / 2
}

/// IEEE 1588-2019 11.2 / 11.3.2 / 11.4.3: offsetFromMaster = t2 − t1 − correction −
/// meanDelay − delayAsymmetry, in scaled ns (`mean_delay` is meanPathDelay for E2E,
/// meanLinkDelay for P2P; `asymmetry` is portDS.delayAsymmetry, scaled).
pub fn offset_from_master(sync: &SyncSample, mean_delay: i128, asymmetry: i128) -> i128 {
    scaled(sync.t2 - sync.t1) - sync.correction - mean_delay - asymmetry
}

/// An exact ratio `num / den` with `den > 0`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Ratio {
    pub num: i128,
    pub den: i128,
}

impl Ratio {
    pub const ONE: Ratio = Ratio { num: 1, den: 1 };

    /// `x × num / den` (truncating), `x` unchanged when the ratio is degenerate.
    pub fn apply(&self, x: i128) -> i128 {
        if self.den <= 0 {
            return x;
        }
        x.saturating_mul(self.num) / self.den
    }

    /// The ratio as a float, for display and management only.
    pub fn as_f64(&self) -> f64 {
        if self.den == 0 {
            1.0
        } else {
            self.num as f64 / self.den as f64
        }
    }
}

/// One peer delay exchange (11.4.2): t1 and t4 in the requester's time, t2 and t3 in the
/// responder's; for a one-step responder `t2 = t3 = 0` and the turnaround sits in
/// `resp_correction`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PdelayExchange {
    pub t1: i128,
    pub t2: i128,
    pub t3: i128,
    pub t4: i128,
    /// Pdelay_Resp correctionField, scaled ns.
    pub resp_correction: i128,
    /// Pdelay_Resp_Follow_Up correctionField (two-step), scaled ns.
    pub fup_correction: i128,
}

/// IEEE 1588-2019 11.4.2: meanLinkDelay = [(t4 − t1) × neighborRateRatio − (t3 − t2) −
/// correctionFields] / 2, in scaled ns (the requester's interval is converted to the
/// responder's timebase by the rate ratio).
pub fn p2p_mean_link_delay(x: &PdelayExchange, nrr: Ratio) -> i128 {
    (nrr.apply(scaled(x.t4 - x.t1)) - scaled(x.t3 - x.t2) - x.resp_correction - x.fup_correction)
        / 2
}

/// neighborRateRatio (11.4.2, 16.6-style): the responder's elapsed time over the requester's
/// between the oldest and newest of the last few exchanges, (t3ₙ − t3₀) / (t4ₙ − t4₀).
#[derive(Clone, Debug)]
pub struct RateRatioEstimator {
    history: VecDeque<(i128, i128)>,
    len: usize,
}

impl RateRatioEstimator {
    /// Keeps `len` (≥ 2) exchanges; the ratio spans `len − 1` request intervals.
    pub fn new(len: usize) -> Self {
        RateRatioEstimator {
            history: VecDeque::with_capacity(len.max(2)),
            len: len.max(2),
        }
    }

    /// Records (t3, t4) of a two-step exchange (t3 including the Follow_Up correction would
    /// only matter with a TC between the peers, which P2P forbids).
    pub fn push(&mut self, t3: i128, t4: i128) {
        if let Some(&(l3, l4)) = self.history.back() {
            if t3 <= l3 || t4 <= l4 {
                // Not monotonic: one side stepped its clock; start over.
                self.history.clear();
            }
        }
        if self.history.len() == self.len {
            self.history.pop_front();
        }
        self.history.push_back((t3, t4));
    }

    /// The current ratio, once two exchanges are known.
    pub fn ratio(&self) -> Option<Ratio> {
        let (&(f3, f4), &(l3, l4)) = (self.history.front()?, self.history.back()?);
        let den = l4 - f4;
        (den > 0 && l3 > f3).then_some(Ratio { num: l3 - f3, den })
    }

    /// Forgets the history (a clock step on this side).
    pub fn reset(&mut self) {
        self.history.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t1: i128, t2: i128, c: i128) -> SyncSample {
        SyncSample {
            sequence_id: 0,
            t1,
            t2,
            correction: c,
            log_interval: 0,
        }
    }

    #[test]
    fn e2e_exact_with_offset_and_corrections() {
        // Slave 500 ns ahead, 1000 ns each way, a TC added 100.5 ns residence to the Sync and
        // 40 ns to the Delay_Req.
        let s = sample(
            1_000_000,
            1_000_000 + 1000 + 100 + 500,
            scaled(100) + SCALE / 2,
        );
        let (t3, t4) = (2_000_000 + 500, 2_000_000 + 1000 + 40);
        let resp_c = scaled(40);
        let mpd = e2e_mean_path_delay(&s, t3, t4, resp_c);
        // The Sync path was 1100.5 − 100.5 = 1000 plus the half-ns; mean exact to 2^-17.
        assert_eq!(round_ns(mpd), 1000);
        let off = offset_from_master(&s, mpd, 0);
        assert_eq!(round_ns(off), 500);
    }

    #[test]
    fn asymmetry_is_half_the_difference_unless_configured() {
        // Master→slave 1200, slave→master 800, clocks equal.
        let s = sample(0, 1200, 0);
        let mpd = e2e_mean_path_delay(&s, 10_000, 10_800, 0);
        assert_eq!(mpd, scaled(1000));
        assert_eq!(offset_from_master(&s, mpd, 0), scaled(200));
        assert_eq!(offset_from_master(&s, mpd, scaled(200)), 0);
    }

    #[test]
    fn p2p_with_rate_ratio() {
        // Responder runs 100 ppm fast: the requester's (t4 − t1) is converted by 1.0001.
        let x = PdelayExchange {
            t1: 0,
            t2: 5_000,
            t3: 15_000,
            t4: 2_000 + 10_000,
            resp_correction: 0,
            fup_correction: 0,
        };
        let nrr = Ratio {
            num: 10_001,
            den: 10_000,
        };
        // (12000 × 1.0001 − 10000) / 2 = 1000.6
        assert_eq!(round_ns(p2p_mean_link_delay(&x, nrr)), 1001);
        assert_eq!(p2p_mean_link_delay(&x, Ratio::ONE), scaled(1000));
        let mut r = RateRatioEstimator::new(3);
        assert_eq!(r.ratio(), None);
        r.push(1_000_000_100, 1_000_000_000);
        r.push(2_000_000_200, 2_000_000_100);
        let q = r.ratio().unwrap();
        assert_eq!((q.num, q.den), (1_000_000_100, 1_000_000_100));
        r.push(10, 3_000_000_000);
        assert_eq!(r.ratio(), None, "a step restarts the history");
    }
}
