//! The control thread watching its own scheduling.
//!
//! Sync, Announce and Delay_Req leave when the control thread's timers fire; if the thread does
//! not run for a while, those messages are late and slaves see missed intervals. The cause is
//! either the CPU (the thread was runnable but not scheduled: real-time threads or softirqs
//! held the cores) or the thread itself (it was blocked in a call). The kernel tells the two
//! apart in `/proc/thread-self/schedstat` (time on the CPU, time waiting on a run queue), so a
//! stall is logged with the share that was spent waiting for a CPU, and counted for status.

use std::time::{Duration, Instant};

/// A pass gap above this is a stall (a quarter of the shortest interval a profile uses, 1/16 s,
/// would be tighter; this keeps the log for the gaps that cost a message interval).
pub const STALL_THRESHOLD: Duration = Duration::from_millis(100);

/// How often the scheduler statistics are sampled while the loop runs normally.
const SAMPLE_PERIOD: Duration = Duration::from_millis(50);

/// `/proc/<tid>/schedstat`: nanoseconds on a CPU and waiting on a run queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedStat {
    /// Time spent running.
    pub on_cpu_ns: u64,
    /// Time spent runnable, waiting for a CPU.
    pub run_delay_ns: u64,
}

impl SchedStat {
    /// Parses the file's `on_cpu run_delay timeslices` line.
    pub fn parse(s: &str) -> Option<SchedStat> {
        let mut it = s.split_ascii_whitespace().map(|f| f.parse::<u64>().ok());
        Some(SchedStat {
            on_cpu_ns: it.next()??,
            run_delay_ns: it.next()??,
        })
    }

    /// The calling thread's statistics (None where schedstats are not available).
    pub fn current() -> Option<SchedStat> {
        let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
        Self::parse(&s)
    }
}

/// One stall of the control loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stall {
    /// Time between two passes of the loop.
    pub gap: Duration,
    /// Of that, time the thread was runnable but not scheduled (None without schedstats).
    pub waiting_for_cpu: Option<Duration>,
}

/// Watches the gaps between passes of the control loop.
#[derive(Debug)]
pub struct StallWatch {
    threshold: Duration,
    last_pass: Option<Instant>,
    sample: Option<(Instant, SchedStat)>,
    /// Stalls seen.
    pub stalls: u64,
    /// The longest gap seen (ns).
    pub worst_ns: u64,
}

impl StallWatch {
    /// A watch; the first [`Self::pass`] starts it.
    pub fn new(threshold: Duration) -> Self {
        StallWatch {
            threshold,
            last_pass: None,
            sample: None,
            stalls: 0,
            worst_ns: 0,
        }
    }

    /// Called at the start of every pass; returns the stall that just ended, if any.
    pub fn pass(&mut self, now: Instant, read: impl Fn() -> Option<SchedStat>) -> Option<Stall> {
        let gap = self
            .last_pass
            .map_or(Duration::ZERO, |l| now.saturating_duration_since(l));
        self.last_pass = Some(now);
        let stall = if gap > self.threshold {
            let cur = read();
            let waiting_for_cpu = match (self.sample, cur) {
                (Some((_, a)), Some(b)) => Some(Duration::from_nanos(
                    b.run_delay_ns.saturating_sub(a.run_delay_ns),
                )),
                _ => None,
            };
            self.sample = cur.map(|c| (now, c));
            self.stalls += 1;
            self.worst_ns = self.worst_ns.max(gap.as_nanos() as u64);
            Some(Stall {
                gap,
                waiting_for_cpu,
            })
        } else {
            None
        };
        if self
            .sample
            .is_none_or(|(at, _)| now.saturating_duration_since(at) >= SAMPLE_PERIOD)
        {
            if let Some(c) = read() {
                self.sample = Some((now, c));
            }
        }
        stall
    }
}

impl Stall {
    /// What the log says about it.
    pub fn explain(&self) -> String {
        let gap = self.gap.as_secs_f64() * 1e3;
        match self.waiting_for_cpu {
            Some(w) if w.as_secs_f64() * 2.0 >= self.gap.as_secs_f64() => format!(
                "control thread did not run for {gap:.0} ms, {:.0} ms of it runnable but not \
                 scheduled: the CPUs were taken (real-time threads, softirqs); give control a \
                 core of its own (--cores lists the workers' cores) or a real-time priority",
                w.as_secs_f64() * 1e3
            ),
            Some(w) => format!(
                "control thread did not run for {gap:.0} ms, only {:.0} ms of it waiting for a \
                 CPU: it was blocked (a slow system call, page faults or memory pressure)",
                w.as_secs_f64() * 1e3
            ),
            None => format!("control thread did not run for {gap:.0} ms"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_schedstat() {
        assert_eq!(
            SchedStat::parse("123 456 7\n"),
            Some(SchedStat {
                on_cpu_ns: 123,
                run_delay_ns: 456
            })
        );
        assert_eq!(SchedStat::parse("x 1 2"), None);
        assert_eq!(SchedStat::parse(""), None);
        assert!(
            SchedStat::current().is_some(),
            "/proc/thread-self/schedstat"
        );
    }

    #[test]
    fn reports_gaps_above_the_threshold_with_the_run_queue_share() {
        let t0 = Instant::now();
        let mut w = StallWatch::new(Duration::from_millis(100));
        assert_eq!(w.pass(t0, || None), None);
        let stat = std::cell::Cell::new(SchedStat::default());
        let read = || Some(stat.get());
        assert_eq!(w.pass(t0 + Duration::from_millis(1), read), None);
        // 400 ms without a pass, 300 ms of them on the run queue: starved of CPU.
        stat.set(SchedStat {
            on_cpu_ns: 0,
            run_delay_ns: 300_000_000,
        });
        let s = w.pass(t0 + Duration::from_millis(401), read).unwrap();
        assert_eq!(s.gap, Duration::from_millis(400));
        assert_eq!(s.waiting_for_cpu, Some(Duration::from_millis(300)));
        assert!(s.explain().contains("not scheduled"), "{}", s.explain());
        // 200 ms more, none of it waiting: blocked.
        let s = w.pass(t0 + Duration::from_millis(601), read).unwrap();
        assert_eq!(s.waiting_for_cpu, Some(Duration::ZERO));
        assert!(s.explain().contains("blocked"), "{}", s.explain());
        assert_eq!(w.pass(t0 + Duration::from_millis(602), read), None);
        assert_eq!((w.stalls, w.worst_ns), (2, 400_000_000));
        // Without schedstats only the gap is known.
        let mut w = StallWatch::new(Duration::from_millis(100));
        assert_eq!(
            w.pass(t0 + Duration::from_secs(5), || None),
            None,
            "the first pass starts it"
        );
        let s = w.pass(t0 + Duration::from_millis(5150), || None).unwrap();
        assert_eq!(s.waiting_for_cpu, None);
    }
}
