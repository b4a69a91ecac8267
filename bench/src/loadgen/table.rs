//! The fixed-size table that matches replies to requests by (identity, sequenceId) and does
//! the loss accounting. One slot per (identity, sequenceId mod window): a reply for a slot that
//! has since been reused is "unmatched", a second reply for an answered slot a "duplicate", a
//! slot reused while still outstanding an "expired" request (counted as unanswered).

/// Slot state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum State {
    #[default]
    Empty,
    Outstanding,
    Answered,
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    seq: u16,
    state: State,
    sent_ns: u64,
    /// Pdelay two-step: requestReceiptTimestamp (t2) of the Pdelay_Resp, waiting for t3.
    t2_ns: u64,
}

/// Loss counters of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Accounting {
    /// Requests sent.
    pub sent: u64,
    /// Requests answered (first reply).
    pub answered: u64,
    /// Replies for one of our identities whose slot holds another sequenceId (too late, or
    /// never sent).
    pub unmatched: u64,
    /// Second and later replies to an answered request.
    pub duplicates: u64,
    /// Requests whose slot was reused before a reply came.
    pub expired: u64,
}

impl Accounting {
    /// Requests never answered.
    pub fn unanswered(&self) -> u64 {
        self.sent.saturating_sub(self.answered)
    }
    /// Unanswered fraction of sent.
    pub fn loss(&self) -> f64 {
        if self.sent == 0 {
            0.0
        } else {
            self.unanswered() as f64 / self.sent as f64
        }
    }
}

/// What a reply turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// First reply: round trip in ns (reply receive − request send).
    Answered {
        rtt_ns: u64,
    },
    Duplicate,
    Unmatched,
}

/// The table: `identities × window` slots.
#[derive(Debug)]
pub struct MatchTable {
    slots: Vec<Slot>,
    window: u32,
    identities: u32,
    /// Counters.
    pub acc: Accounting,
}

impl MatchTable {
    /// A table for `identities` identities with `window` (rounded up to a power of two)
    /// outstanding sequenceIds each.
    pub fn new(identities: u32, window: u32) -> Self {
        let window = window.clamp(1, 1 << 15).next_power_of_two();
        let identities = identities.max(1);
        MatchTable {
            slots: vec![Slot::default(); identities as usize * window as usize],
            window,
            identities,
            acc: Accounting::default(),
        }
    }

    #[inline]
    fn idx(&self, id: u32, seq: u16) -> Option<usize> {
        (id < self.identities).then(|| {
            id as usize * self.window as usize + (u32::from(seq) & (self.window - 1)) as usize
        })
    }

    /// Records a request sent at `now_ns`.
    #[inline]
    pub fn sent(&mut self, id: u32, seq: u16, now_ns: u64) {
        let Some(i) = self.idx(id, seq) else { return };
        if let Some(s) = self.slots.get_mut(i) {
            if s.state == State::Outstanding {
                self.acc.expired += 1;
            }
            *s = Slot {
                seq,
                state: State::Outstanding,
                sent_ns: now_ns,
                t2_ns: 0,
            };
            self.acc.sent += 1;
        }
    }

    /// Records a reply received at `rx_ns`.
    #[inline]
    pub fn reply(&mut self, id: u32, seq: u16, rx_ns: u64) -> Match {
        let slot = self.idx(id, seq).and_then(|i| self.slots.get_mut(i));
        match slot {
            Some(s) if s.seq == seq && s.state == State::Outstanding => {
                s.state = State::Answered;
                self.acc.answered += 1;
                Match::Answered {
                    rtt_ns: rx_ns.saturating_sub(s.sent_ns),
                }
            }
            Some(s) if s.seq == seq && s.state == State::Answered => {
                self.acc.duplicates += 1;
                Match::Duplicate
            }
            _ => {
                self.acc.unmatched += 1;
                Match::Unmatched
            }
        }
    }

    /// Stores t2 of a two-step Pdelay_Resp for its follow-up.
    #[inline]
    pub fn set_t2(&mut self, id: u32, seq: u16, t2_ns: u64) {
        if let Some(s) = self.idx(id, seq).and_then(|i| self.slots.get_mut(i)) {
            if s.seq == seq {
                s.t2_ns = t2_ns;
            }
        }
    }

    /// The stored t2 of (id, seq), taken (so a duplicate follow-up does not count twice).
    #[inline]
    pub fn take_t2(&mut self, id: u32, seq: u16) -> Option<u64> {
        let s = self.idx(id, seq).and_then(|i| self.slots.get_mut(i))?;
        if s.seq != seq || s.t2_ns == 0 {
            return None;
        }
        Some(std::mem::take(&mut s.t2_ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_duplicates_unmatched_and_expiry_are_counted() {
        let mut t = MatchTable::new(2, 4);
        t.sent(0, 10, 1_000);
        t.sent(1, 10, 1_500);
        assert_eq!(t.reply(0, 10, 1_700), Match::Answered { rtt_ns: 700 });
        assert_eq!(t.reply(0, 10, 1_800), Match::Duplicate);
        assert_eq!(t.reply(0, 11, 1_800), Match::Unmatched);
        assert_eq!(t.reply(5, 10, 1_800), Match::Unmatched);
        // Slot of (1, 10) reused by (1, 14) before a reply: expired, and a late reply to 10
        // is unmatched.
        t.sent(1, 14, 2_000);
        assert_eq!(t.reply(1, 10, 2_100), Match::Unmatched);
        assert_eq!(t.reply(1, 14, 2_100), Match::Answered { rtt_ns: 100 });
        assert_eq!(
            t.acc,
            Accounting {
                sent: 3,
                answered: 2,
                unmatched: 3,
                duplicates: 1,
                expired: 1
            }
        );
        assert_eq!(t.acc.unanswered(), 1);
    }

    #[test]
    fn two_step_t2_is_taken_once() {
        let mut t = MatchTable::new(1, 8);
        t.sent(0, 3, 0);
        t.set_t2(0, 3, 42);
        assert_eq!(t.take_t2(0, 3), Some(42));
        assert_eq!(t.take_t2(0, 3), None);
        assert_eq!(t.take_t2(0, 4), None);
    }
}
