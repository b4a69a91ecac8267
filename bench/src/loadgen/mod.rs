//! The load generator: sends valid PTP requests (Delay_Req, Pdelay_Req, or a Sync/Follow_Up
//! stream) from N distinct sourcePortIdentities at a set rate or flat out, receives the replies
//! through AF_XDP (xptp's steering program on the generator's own interface, so every reply
//! carries its XDP-ingress CLOCK_TAI time), matches them by (identity, sequenceId) in a fixed
//! table, and reports loss and round-trip percentiles.
//!
//! One thread does everything, pinned to its own core: TX, completion and RX rings are polled
//! in one loop, so nothing is shared and nothing waits. Transmission goes either through the
//! same AF_XDP socket (copy mode on veth: one `sendto` kick per batch) or through an AF_PACKET
//! socket with `sendmmsg` (see [`TxBackend`]); which one is faster is measured by
//! `xptp-bench gen-probe` and reported in the README.
//!
//! Time: request send times are CLOCK_TAI read just before the batch goes to the kernel; reply
//! times are the XDP-ingress CLOCK_TAI of the generator's interface. The round trip therefore
//! covers both veth crossings and the target's whole handling, and excludes the generator's
//! own AF_XDP RX delivery.

pub mod afpacket;
pub mod frames;
pub mod table;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use xptp_datapath::handoff::TxToken;
use xptp_datapath::wire::{frame, Message, MessageType};
use xptp_datapath::xsk::{clock_tai_ns, XskConfig, XskSocket, ZeroCopyPolicy};

use frames::{identity_index, Template};
pub use frames::{Request, Wire};
pub use table::{Accounting, MatchTable};

use crate::Error;

/// How request frames leave the generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
pub enum TxBackend {
    /// The AF_XDP socket that also receives (copy mode on veth).
    AfXdp,
    /// A raw AF_PACKET socket, PACKET_QDISC_BYPASS, one `sendmmsg` per batch.
    AfPacket,
}

/// One generator run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Network namespace to run in (`ip netns` name); `None` = the caller's.
    pub netns: Option<String>,
    /// Interface requests leave by.
    pub tx_if: String,
    /// Interface replies (or forwarded Syncs) arrive on; usually `tx_if`.
    pub rx_if: String,
    /// Source MAC and IPv4 address of requests.
    pub src_mac: [u8; 6],
    pub src_ip: Ipv4Addr,
    pub request: Request,
    pub wire: Wire,
    pub domain: u8,
    /// Distinct sourcePortIdentities, used round robin.
    pub identities: u32,
    /// Requests per second; `None` floods (as fast as TX frames free up).
    pub rate: Option<u64>,
    /// How long requests are sent.
    pub duration: Duration,
    /// How long replies are still awaited after the last request.
    pub drain: Duration,
    /// Core to pin to.
    pub core: Option<usize>,
    pub tx: TxBackend,
    /// Outstanding sequenceIds per identity in the match table.
    pub window: u32,
    /// Frames per batch.
    pub batch: usize,
    /// Also count Sync/Announce from other clocks (the stall test's view of the master).
    pub watch_master: bool,
    /// Send requests unicast to this MAC (and, for UDP, IPv4 address) instead of the PTP
    /// multicast group, so a bridge delivers them to the target alone.
    pub unicast_to: Option<([u8; 6], Ipv4Addr)>,
}

impl LoadConfig {
    /// A Delay_Req run on `ifname` with defaults: 64 identities, AF_XDP TX, batch 32.
    pub fn new(ifname: &str, src_mac: [u8; 6], src_ip: Ipv4Addr) -> Self {
        LoadConfig {
            netns: None,
            tx_if: ifname.to_string(),
            rx_if: ifname.to_string(),
            src_mac,
            src_ip,
            request: Request::DelayReq,
            wire: Wire::L2,
            domain: 0,
            identities: 64,
            rate: None,
            duration: Duration::from_secs(2),
            drain: Duration::from_millis(300),
            core: None,
            tx: TxBackend::AfXdp,
            window: 4096,
            batch: 32,
            watch_master: false,
            unicast_to: None,
        }
    }
}

/// Percentiles of a histogram, in ns.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub min: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
}

impl Percentiles {
    /// Summary of `h` (all zero when empty).
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            count: h.len(),
            min: h.min(),
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: h.mean(),
        }
    }
}

/// What the generator saw of the master while it ran (stall test).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct MasterWatch {
    pub syncs: u64,
    /// Syncs received while requests were being sent.
    pub syncs_during_load: u64,
    /// Gaps in the Sync sequenceIds.
    pub missed_syncs: u64,
    pub announces: u64,
    /// Announces received while requests were being sent.
    pub announces_during_load: u64,
    /// Gaps in the Announce sequenceIds.
    pub missed_announces: u64,
    /// Longest time between two Announces while requests were being sent (ns).
    pub max_announce_gap_during_load_ns: u64,
    /// Longest time between two Syncs (ns).
    pub max_sync_gap_ns: u64,
    /// Longest time between two Syncs while requests were being sent (ns).
    pub max_sync_gap_during_load_ns: u64,
    /// First Sync after the load stopped: ns after the stop (0: none seen).
    pub first_sync_after_load_ns: u64,
}

/// Result of one run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadReport {
    pub request: Request,
    pub wire: Wire,
    pub tx: TxBackend,
    pub identities: u32,
    /// Offered rate (None: flood).
    pub offered_rate: Option<u64>,
    pub seconds: f64,
    pub acc: Accounting,
    /// Frames the TX path refused (counted neither as sent nor as lost).
    pub tx_refused: u64,
    pub sent_rate: f64,
    pub answered_rate: f64,
    /// Unanswered / sent.
    pub loss: f64,
    /// Offered rate not reached (sent < 95 % of offered): the generator, not the target, was
    /// the limit.
    pub generator_limited: bool,
    /// Request → reply round trip (ns).
    pub rtt: Percentiles,
    /// Pdelay: turnaround t3 − t2 as reported in the replies (ns).
    pub turnaround: Percentiles,
    /// Delay_Req: the round trip split at the target's own receive timestamp (the Delay_Resp's
    /// receiveTimestamp, t4): request sent → target's RX stamp (ns). For xptp and the kernel
    /// bound that stamp is taken in XDP, for ptp4l in the kernel's software RX path.
    pub leg_to_stamp: Percentiles,
    /// ... and target's RX stamp → reply at the generator's XDP (ns): the target's handling
    /// after its stamp plus the return veth hop.
    pub leg_from_stamp: Percentiles,
    /// Replies whose t4 could not be placed between send and receive on either timescale
    /// (TAI or UTC): left out of both legs.
    pub legs_unplaced: u64,
    /// Sync stream: correctionField accumulated (residence) per Follow_Up+Sync (ns).
    pub residence: Percentiles,
    /// Frames received that were neither a reply nor ours (ptp4l's Announce, Sync ...).
    pub other_rx: u64,
    pub master: MasterWatch,
}

fn hist() -> Histogram<u64> {
    // 1 ns .. 100 s, 3 significant digits: valid bounds, cannot fail.
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("valid histogram bounds")
}

/// Runs `f` on a new thread inside network namespace `ns` (`/var/run/netns/<ns>`).
pub fn in_netns<R: Send, F: FnOnce() -> Result<R, Error> + Send>(
    ns: Option<&str>,
    f: F,
) -> Result<R, Error> {
    std::thread::scope(|s| {
        s.spawn(|| {
            if let Some(ns) = ns {
                enter_netns(ns)?;
            }
            f()
        })
        .join()
        .map_err(|_| Error::Setup("generator thread panicked".into()))?
    })
}

/// Moves the calling thread into network namespace `ns`.
pub fn enter_netns(ns: &str) -> Result<(), Error> {
    use std::os::fd::AsRawFd;
    let path = format!("/var/run/netns/{ns}");
    let file = std::fs::File::open(&path).map_err(|e| Error::Setup(format!("{path}: {e}")))?;
    // SAFETY: a valid namespace descriptor; setns changes only this thread's namespace.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc != 0 {
        return Err(Error::Setup(format!(
            "setns({path}): {} (needs root)",
            std::io::Error::last_os_error()
        )));
    }
    Ok(())
}

struct Rx<'a> {
    table: &'a mut MatchTable,
    rtt: &'a mut Histogram<u64>,
    turnaround: &'a mut Histogram<u64>,
    residence: &'a mut Histogram<u64>,
    legs: &'a mut Legs,
    other: &'a mut u64,
    watch: &'a mut WatchState,
    request: Request,
}

/// The round trip split at the target's receive timestamp (see [`LoadReport::leg_to_stamp`]).
struct Legs {
    to_stamp: Histogram<u64>,
    from_stamp: Histogram<u64>,
    unplaced: u64,
    /// CLOCK_TAI − CLOCK_REALTIME: targets stamp in TAI (XDP programs, xptp on a TAI clock)
    /// or in UTC (ptp4l's software timestamps, the PTP timescale with a zero UTC offset).
    tai_minus_utc_ns: i128,
}

impl Legs {
    fn new() -> Self {
        Legs {
            to_stamp: hist(),
            from_stamp: hist(),
            unplaced: 0,
            tai_minus_utc_ns: i128::from(xptp_datapath::xsk::tai_minus_realtime_ns()),
        }
    }

    /// Records one reply: sent at `rx_ns − rtt_ns` (TAI), received at `rx_ns` (TAI), stamped
    /// `t4_ns` by the target on its own timescale.
    fn record(&mut self, rx_ns: u64, rtt_ns: u64, t4_ns: i128) {
        let (sent, rx) = (i128::from(rx_ns - rtt_ns.min(rx_ns)), i128::from(rx_ns));
        let placed = [t4_ns, t4_ns + self.tai_minus_utc_ns]
            .into_iter()
            .find(|t| (sent..=rx).contains(t));
        match placed {
            Some(t) => {
                let _ = self.to_stamp.record(((t - sent) as u64).max(1));
                let _ = self.from_stamp.record(((rx - t) as u64).max(1));
            }
            None => self.unplaced += 1,
        }
    }
}

#[derive(Default)]
struct WatchState {
    w: MasterWatch,
    last_sync_seq: Option<u16>,
    last_ann_seq: Option<u16>,
    last_sync_ns: u64,
    last_ann_ns: u64,
    loading: bool,
    load_end_ns: u64,
}

fn seq_gap(last: &mut Option<u16>, seq: u16) -> u64 {
    let gap = match *last {
        Some(l) => {
            let d = seq.wrapping_sub(l);
            if (1..1000).contains(&d) {
                u64::from(d - 1)
            } else {
                0
            }
        }
        None => 0,
    };
    *last = Some(seq);
    gap
}

impl Rx<'_> {
    #[inline]
    fn frame(&mut self, data: &[u8], rx_ns: u64) {
        let Ok(f) = frame::parse(data) else {
            *self.other += 1;
            return;
        };
        let Ok(m) = Message::new_checked(f.payload(data)) else {
            *self.other += 1;
            return;
        };
        let seq = m.sequence_id();
        let corr_ns = |m: &Message<&[u8]>| (m.correction_field().0 >> 16).max(0) as u64;
        match m.message_type() {
            MessageType::DelayResp | MessageType::PdelayResp | MessageType::PdelayRespFollowUp => {
                let Some(id) = m
                    .requesting_port_identity()
                    .and_then(|p| identity_index(&p.to_bytes()))
                else {
                    *self.other += 1;
                    return;
                };
                match m.message_type() {
                    MessageType::PdelayRespFollowUp => {
                        let t3 = m.timestamp().map(|t| t.to_nanos()).unwrap_or(0);
                        if let Some(t2) = self.table.take_t2(id, seq) {
                            let _ = self
                                .turnaround
                                .record((t3 as u64).saturating_sub(t2).max(1));
                        }
                    }
                    t => {
                        if let table::Match::Answered { rtt_ns } = self.table.reply(id, seq, rx_ns)
                        {
                            let _ = self.rtt.record(rtt_ns.max(1));
                            if t == MessageType::DelayResp {
                                if let Some(t4) = m.timestamp() {
                                    self.legs.record(rx_ns, rtt_ns, t4.to_nanos());
                                }
                            }
                            if t == MessageType::PdelayResp {
                                if m.flags().0 & 0x0200 != 0 {
                                    let t2 = m.timestamp().map(|t| t.to_nanos()).unwrap_or(0);
                                    self.table.set_t2(id, seq, t2 as u64);
                                } else {
                                    let _ = self.turnaround.record(corr_ns(&m).max(1));
                                }
                            }
                        }
                    }
                }
            }
            MessageType::Sync | MessageType::FollowUp
                if identity_index(&m.source_port_identity().to_bytes()).is_some() =>
            {
                let id = identity_index(&m.source_port_identity().to_bytes()).unwrap_or(0);
                if self.request == Request::Sync {
                    if m.message_type() == MessageType::Sync {
                        if let table::Match::Answered { rtt_ns } = self.table.reply(id, seq, rx_ns)
                        {
                            let _ = self.rtt.record(rtt_ns.max(1));
                            // One-step TCs put the residence into the Sync itself.
                            self.table.set_t2(id, seq, corr_ns(&m).max(1));
                        }
                    } else if let Some(sync_corr) = self.table.take_t2(id, seq) {
                        let total = corr_ns(&m) + sync_corr.saturating_sub(1);
                        let _ = self.residence.record(total.max(1));
                    }
                } else {
                    *self.other += 1;
                }
            }
            MessageType::Sync => {
                *self.other += 1;
                let w = &mut *self.watch;
                w.w.syncs += 1;
                if w.loading {
                    w.w.syncs_during_load += 1;
                }
                w.w.missed_syncs += seq_gap(&mut w.last_sync_seq, seq);
                if w.last_sync_ns != 0 {
                    let gap = rx_ns.saturating_sub(w.last_sync_ns);
                    w.w.max_sync_gap_ns = w.w.max_sync_gap_ns.max(gap);
                    if w.loading {
                        w.w.max_sync_gap_during_load_ns = w.w.max_sync_gap_during_load_ns.max(gap);
                    }
                }
                if !w.loading && w.load_end_ns != 0 && w.w.first_sync_after_load_ns == 0 {
                    w.w.first_sync_after_load_ns = rx_ns.saturating_sub(w.load_end_ns).max(1);
                }
                w.last_sync_ns = rx_ns;
            }
            MessageType::Announce => {
                *self.other += 1;
                let w = &mut *self.watch;
                w.w.announces += 1;
                w.w.missed_announces += seq_gap(&mut w.last_ann_seq, seq);
                if w.loading {
                    w.w.announces_during_load += 1;
                    if w.last_ann_ns != 0 {
                        let gap = rx_ns.saturating_sub(w.last_ann_ns);
                        w.w.max_announce_gap_during_load_ns =
                            w.w.max_announce_gap_during_load_ns.max(gap);
                    }
                }
                w.last_ann_ns = rx_ns;
            }
            _ => *self.other += 1,
        }
    }
}

/// Runs the generator per `cfg` (on its own thread, inside `cfg.netns`) and reports.
pub fn run(cfg: &LoadConfig) -> Result<LoadReport, Error> {
    in_netns(cfg.netns.as_deref(), || run_here(cfg))
}

fn open_rx(ifname: &str) -> Result<(xptp_ebpf::XdpSteering, XskSocket), Error> {
    let steering = xptp_ebpf::XdpSteering::attach(ifname, xptp_ebpf::AttachMode::Native, false)?;
    let cfg = XskConfig {
        frame_count: 8192,
        ring_size: 4096,
        batch: 64,
        zero_copy: ZeroCopyPolicy::Never,
        want_hw_tx_timestamps: false,
        ..XskConfig::default()
    };
    // The kernel releases the previous run's socket from the queue in deferred work: a bind
    // right after it can see EBUSY for a moment on a busy machine. Retry for up to 3 s.
    let t0 = Instant::now();
    let sock = loop {
        match XskSocket::open(0, ifname, 0, &cfg) {
            Ok(s) => break s,
            Err(e) if t0.elapsed() < Duration::from_secs(3) && e.to_string().contains("busy") => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(e.into()),
        }
    };
    steering.register_xsk(0, sock.as_fd())?;
    Ok((steering, sock))
}

fn run_here(cfg: &LoadConfig) -> Result<LoadReport, Error> {
    let (_rx_steer, mut rx_sock) = open_rx(&cfg.rx_if)?;
    // A separate TX socket only when requests leave by another interface (TC scenario).
    let mut tx_sock = if cfg.tx_if != cfg.rx_if && cfg.tx == TxBackend::AfXdp {
        Some(open_rx(&cfg.tx_if)?)
    } else {
        None
    };
    let mut pkt = match cfg.tx {
        TxBackend::AfPacket => Some(
            afpacket::PacketTx::open(&cfg.tx_if, cfg.batch)
                .map_err(|e| Error::Setup(format!("AF_PACKET socket on {}: {e}", cfg.tx_if)))?,
        ),
        TxBackend::AfXdp => None,
    };
    if let Some(c) = cfg.core {
        if !core_affinity::set_for_current(core_affinity::CoreId { id: c }) {
            tracing::warn!(core = c, "could not pin the generator");
        }
    }
    let mut req_t = Template::request(cfg.request, cfg.wire, cfg.src_mac, cfg.src_ip, cfg.domain)?;
    let mut fu_t = Template::follow_up(cfg.wire, cfg.src_mac, cfg.src_ip, cfg.domain)?;
    if let Some((mac, ip)) = cfg.unicast_to {
        req_t.set_unicast(mac, ip);
        fu_t.set_unicast(mac, ip);
    }
    let per_send = if cfg.request == Request::Sync { 2 } else { 1 };
    let ids = cfg.identities.max(1);
    let mut table = MatchTable::new(ids, cfg.window);
    let mut seqs = vec![0u16; ids as usize];
    let mut next_id = 0u32;
    let (mut rtt, mut turnaround, mut residence) = (hist(), hist(), hist());
    let mut legs = Legs::new();
    let mut other = 0u64;
    let mut watch = WatchState {
        loading: true,
        ..WatchState::default()
    };
    let mut tx_refused = 0u64;
    let mut scratch = [0u8; afpacket::MAX_FRAME];
    let mut pending: Vec<(u32, u16)> = Vec::with_capacity(cfg.batch);

    // Drain whatever arrived before we started (ptp4l's Announce and Sync).
    rx_sock.poll_rx(|_| {});

    let start = Instant::now();
    // Sync gaps count from the start of the load, so a master silent throughout shows one
    // gap as long as the load.
    watch.last_sync_ns = clock_tai_ns();
    watch.last_ann_ns = watch.last_sync_ns;
    let end_send = start + cfg.duration;
    let end_all = end_send + cfg.drain;
    let mut sent_req = 0u64;
    let mut load_done = false;
    loop {
        let now = Instant::now();
        if now >= end_all {
            break;
        }
        if now < end_send {
            let elapsed = now.duration_since(start).as_nanos() as u64;
            let due = match cfg.rate {
                Some(r) => (u128::from(elapsed) * u128::from(r) / 1_000_000_000) as u64,
                None => u64::MAX,
            };
            let want = due.saturating_sub(sent_req).min(cfg.batch as u64) as usize;
            if want > 0 {
                let t_ns = clock_tai_ns();
                pending.clear();
                for _ in 0..want {
                    let id = next_id;
                    next_id = if next_id + 1 >= ids { 0 } else { next_id + 1 };
                    let seq = seqs.get(id as usize).copied().unwrap_or(0);
                    if let Some(s) = seqs.get_mut(id as usize) {
                        *s = seq.wrapping_add(1);
                    }
                    let ok = match (&mut pkt, &mut tx_sock) {
                        (Some(p), _) => {
                            if p.room() < per_send {
                                false
                            } else {
                                let n = req_t.stamp(p.next_buf(), id, seq, t_ns);
                                p.push(n);
                                if per_send == 2 {
                                    let n = fu_t.stamp(p.next_buf(), id, seq, t_ns);
                                    p.push(n);
                                }
                                true
                            }
                        }
                        (None, Some((_, s))) => {
                            enqueue(s, &req_t, &fu_t, per_send, &mut scratch, id, seq, t_ns)
                        }
                        (None, None) => enqueue(
                            &mut rx_sock,
                            &req_t,
                            &fu_t,
                            per_send,
                            &mut scratch,
                            id,
                            seq,
                            t_ns,
                        ),
                    };
                    if !ok {
                        // Back-pressure: give the seq back and try later.
                        if let Some(s) = seqs.get_mut(id as usize) {
                            *s = seq;
                        }
                        next_id = id;
                        break;
                    }
                    pending.push((id, seq));
                }
                let accepted = match (&mut pkt, &mut tx_sock) {
                    (Some(p), _) => p.flush() / per_send,
                    (None, Some((_, s))) => {
                        s.flush_tx();
                        pending.len()
                    }
                    (None, None) => {
                        rx_sock.flush_tx();
                        pending.len()
                    }
                };
                for (i, &(id, seq)) in pending.iter().enumerate() {
                    if i < accepted {
                        table.sent(id, seq, t_ns);
                    } else {
                        tx_refused += 1;
                    }
                }
                sent_req += pending.len() as u64;
                if cfg.rate.is_none() && pending.is_empty() {
                    // Flood and no TX frame free: let completions come back.
                    std::hint::spin_loop();
                }
            }
        } else if !load_done {
            load_done = true;
            watch.loading = false;
            watch.load_end_ns = clock_tai_ns();
        }
        // Retry frames that did not fit on the TX ring, reclaim completed ones.
        match &mut tx_sock {
            Some((_, s)) => {
                s.flush_tx();
                s.poll_completions(|_, _| {});
            }
            None => {
                rx_sock.flush_tx();
                rx_sock.poll_completions(|_, _| {});
            }
        }
        let mut rx = Rx {
            table: &mut table,
            rtt: &mut rtt,
            turnaround: &mut turnaround,
            residence: &mut residence,
            legs: &mut legs,
            other: &mut other,
            watch: &mut watch,
            request: cfg.request,
        };
        rx_sock.poll_rx(|f| {
            let ns = f
                .meta
                .map(|m| m.xdp_tai_ns)
                .filter(|&t| t != 0)
                .unwrap_or_else(clock_tai_ns);
            rx.frame(f.data, ns);
        });
        if let Some((_, s)) = &mut tx_sock {
            // Frames arriving on the TX side (e.g. a TC's Delay_Req echo) are not ours to count.
            s.poll_rx(|_| {});
        }
    }
    let secs = cfg.duration.as_secs_f64();
    let acc = table.acc;
    let sent_rate = acc.sent as f64 / secs;
    Ok(LoadReport {
        request: cfg.request,
        wire: cfg.wire,
        tx: cfg.tx,
        identities: ids,
        offered_rate: cfg.rate,
        seconds: secs,
        acc,
        tx_refused,
        sent_rate,
        answered_rate: acc.answered as f64 / secs,
        loss: acc.loss(),
        generator_limited: cfg.rate.is_some_and(|r| sent_rate < 0.95 * r as f64),
        rtt: Percentiles::of(&rtt),
        turnaround: Percentiles::of(&turnaround),
        leg_to_stamp: Percentiles::of(&legs.to_stamp),
        leg_from_stamp: Percentiles::of(&legs.from_stamp),
        legs_unplaced: legs.unplaced,
        residence: Percentiles::of(&residence),
        other_rx: other,
        master: watch.w,
    })
}

#[allow(clippy::too_many_arguments)]
#[inline]
fn enqueue(
    s: &mut XskSocket,
    req: &Template,
    fu: &Template,
    per_send: usize,
    scratch: &mut [u8],
    id: u32,
    seq: u16,
    t_ns: u64,
) -> bool {
    if s.tx_free_frames() < per_send {
        return false;
    }
    let n = req.stamp(scratch, id, seq, t_ns);
    if s.enqueue_tx(TxToken(0), scratch.get(..n).unwrap_or(&[]))
        .is_err()
    {
        return false;
    }
    if per_send == 2 {
        let n = fu.stamp(scratch, id, seq, t_ns);
        let _ = s.enqueue_tx(TxToken(0), scratch.get(..n).unwrap_or(&[]));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn legs(tai_minus_utc_ns: i128) -> Legs {
        Legs {
            tai_minus_utc_ns,
            ..Legs::new()
        }
    }

    /// The one value recorded in `h` is `want` (to the histogram's precision).
    fn assert_legs(h: &Histogram<u64>, want: u64) {
        assert!(
            h.equivalent(h.max(), want),
            "{} recorded, {want} expected",
            h.max()
        );
    }

    #[test]
    fn legs_split_the_round_trip_at_a_tai_stamp() {
        let mut l = legs(37_000_000_000);
        // Sent at 10 000, stamped by the target at 10 400 (TAI), back at 13 000.
        l.record(13_000, 3_000, 10_400);
        assert_legs(&l.to_stamp, 400);
        assert_legs(&l.from_stamp, 2_600);
        assert_eq!(l.unplaced, 0);
    }

    #[test]
    fn legs_place_a_utc_stamp_on_the_tai_axis() {
        let mut l = legs(37_000_000_000);
        let sent = 40_000_000_000u64;
        // ptp4l's software stamp is UTC: 37 s behind the generator's TAI clock.
        l.record(
            sent + 50_000,
            50_000,
            i128::from(sent) + 1_000 - 37_000_000_000,
        );
        assert_legs(&l.to_stamp, 1_000);
        assert_legs(&l.from_stamp, 49_000);
    }

    #[test]
    fn a_stamp_outside_the_round_trip_is_counted_not_recorded() {
        let mut l = legs(37_000_000_000);
        l.record(13_000, 3_000, 20_000);
        l.record(13_000, 3_000, 0);
        assert_eq!(l.unplaced, 2);
        assert!(l.to_stamp.is_empty() && l.from_stamp.is_empty());
    }
}
