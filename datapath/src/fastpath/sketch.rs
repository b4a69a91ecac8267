//! A fixed-memory view of who sends Delay_Req: the space-saving top-N sketch (Metwally et al.
//! 2005). It keeps `N` counters; a new requester replaces the smallest counter and inherits its
//! count as over-estimation error, so any requester with more than `total / N` requests is
//! guaranteed to be listed. No allocation, linear scans over `N` (small) entries.

use crate::wire::PortIdentity;

/// One tracked requester.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequesterCount {
    /// The Delay_Req's sourcePortIdentity.
    pub port_identity: PortIdentity,
    /// Estimated requests (upper bound).
    pub count: u64,
    /// Over-estimation bound: the true count is in `count − error ..= count`.
    pub error: u64,
}

/// The sketch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpaceSaving<const N: usize> {
    entries: [RequesterCount; N],
    len: usize,
    total: u64,
}

impl<const N: usize> Default for SpaceSaving<N> {
    fn default() -> Self {
        SpaceSaving {
            entries: [RequesterCount::default(); N],
            len: 0,
            total: 0,
        }
    }
}

impl<const N: usize> SpaceSaving<N> {
    /// Counts one request from `id`.
    pub fn record(&mut self, id: PortIdentity) {
        self.total += 1;
        let live = self.entries.get_mut(..self.len).unwrap_or(&mut []);
        if let Some(e) = live.iter_mut().find(|e| e.port_identity == id) {
            e.count += 1;
            return;
        }
        if let Some(e) = self.entries.get_mut(self.len) {
            *e = RequesterCount {
                port_identity: id,
                count: 1,
                error: 0,
            };
            self.len += 1;
            return;
        }
        if let Some(e) = self.entries.iter_mut().min_by_key(|e| e.count) {
            *e = RequesterCount {
                port_identity: id,
                count: e.count + 1,
                error: e.count,
            };
        }
    }

    /// Requests counted in total.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The tracked requesters, largest count first.
    pub fn top(&self) -> [RequesterCount; N] {
        let mut out = self.entries;
        if let Some(s) = out.get_mut(..self.len) {
            s.sort_unstable_by_key(|e| core::cmp::Reverse(e.count));
        }
        out
    }

    /// Number of tracked requesters.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Nothing tracked.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
