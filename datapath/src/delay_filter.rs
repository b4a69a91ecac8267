//! Path-delay filter (linuxptp `delay_filter` / `delay_filter_length`): a moving median or a
//! moving average over the last N meanPathDelay / meanLinkDelay measurements, so one delayed
//! Delay_Resp or Pdelay_Resp does not move every following offset or correction. Shared by
//! control's ports (E2E and P2P, IEEE 1588-2019 11.3 / 11.4) and the fast path's P2P transparent
//! clock, which measures each port's meanLinkDelay itself (11.4; the P2P transparent clock, 10.3).

/// The most negative mean path / link delay sample still used (ns). A link with next to no
/// propagation delay (a veth, a short cable with timestamps taken at matching points) has
/// samples scattered around zero by timestamp noise, half of them negative; dropping those
/// would leave only the positive half, biasing the filtered delay up and the offset (or, in a
/// P2P transparent clock, every corrected Sync) with it. ptp4l uses them too. Below this a
/// sample is taken as broken (a clock step during the exchange, a bad timestamp) and rejected.
pub const NEGATIVE_DELAY_TOLERANCE_NS: i64 = 10_000;

use std::collections::VecDeque;
use std::str::FromStr;

/// Which filter (`delay_filter` key: `moving_median` or `moving_average`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum DelayFilterKind {
    #[default]
    MovingMedian,
    MovingAverage,
}

/// An unknown `delay_filter` value.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("unknown delay_filter {0:?}: use moving_median or moving_average")]
pub struct UnknownDelayFilter(pub String);

impl FromStr for DelayFilterKind {
    type Err = UnknownDelayFilter;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "moving_median" => Ok(DelayFilterKind::MovingMedian),
            "moving_average" => Ok(DelayFilterKind::MovingAverage),
            o => Err(UnknownDelayFilter(o.to_string())),
        }
    }
}

/// The filter state.
#[derive(Clone, Debug)]
pub struct DelayFilter {
    kind: DelayFilterKind,
    len: usize,
    values: VecDeque<i64>,
    sum: i128,
}

impl DelayFilter {
    /// A filter over the last `len` values (at least 1).
    pub fn new(kind: DelayFilterKind, len: usize) -> Self {
        let len = len.max(1);
        DelayFilter {
            kind,
            len,
            values: VecDeque::with_capacity(len),
            sum: 0,
        }
    }

    /// Adds a measurement (ns) and returns the filtered value.
    pub fn push(&mut self, delay_ns: i64) -> i64 {
        if self.values.len() == self.len {
            if let Some(old) = self.values.pop_front() {
                self.sum -= i128::from(old);
            }
        }
        self.values.push_back(delay_ns);
        self.sum += i128::from(delay_ns);
        self.value().unwrap_or(delay_ns)
    }

    /// The current filtered value, `None` before the first measurement.
    pub fn value(&self) -> Option<i64> {
        let n = self.values.len();
        if n == 0 {
            return None;
        }
        match self.kind {
            DelayFilterKind::MovingAverage => Some((self.sum / n as i128) as i64),
            DelayFilterKind::MovingMedian => {
                let mut v: Vec<i64> = self.values.iter().copied().collect();
                v.sort_unstable();
                let hi = *v.get(n / 2)?;
                if n % 2 == 1 {
                    Some(hi)
                } else {
                    let lo = *v.get(n / 2 - 1)?;
                    Some(((i128::from(lo) + i128::from(hi)) / 2) as i64)
                }
            }
        }
    }

    /// Forgets all measurements (e.g. after a master change).
    pub fn reset(&mut self) {
        self.values.clear();
        self.sum = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_ignores_a_spike_average_does_not() {
        let mut m = DelayFilter::new(DelayFilterKind::MovingMedian, 5);
        let mut a = DelayFilter::new(DelayFilterKind::MovingAverage, 5);
        for d in [1000, 1010, 990, 50_000, 1005] {
            m.push(d);
            a.push(d);
        }
        assert_eq!(m.value(), Some(1005));
        assert_eq!(a.value(), Some((1000 + 1010 + 990 + 50_000 + 1005) / 5));
    }

    #[test]
    fn window_slides_and_even_median_is_midpoint() {
        let mut m = DelayFilter::new(DelayFilterKind::MovingMedian, 4);
        assert_eq!(m.value(), None);
        assert_eq!(m.push(10), 10);
        assert_eq!(m.push(20), 15);
        for d in [100, 200, 300, 400] {
            m.push(d);
        }
        // Window now 100..400: median (200 + 300) / 2.
        assert_eq!(m.value(), Some(250));
        m.reset();
        assert_eq!(m.value(), None);
        assert_eq!("moving_average".parse(), Ok(DelayFilterKind::MovingAverage));
        assert!("median".parse::<DelayFilterKind>().is_err());
    }
}
