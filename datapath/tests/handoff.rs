//! The worker → control handoff under a producer much faster than its consumer: the lane never
//! holds more than its capacity, nothing blocks, and every item is either received or counted
//! as dropped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use xptp_datapath::handoff::{
    FrameBuf, Lane, Link, LinkConfig, RxMessage, RxTimestamps, Transport,
};

fn msg(seq: u64) -> RxMessage {
    let mut bytes = [0u8; 64];
    bytes[..8].copy_from_slice(&seq.to_be_bytes());
    RxMessage {
        port: 0,
        queue_id: 0,
        transport: Transport::Ethernet,
        vlan: false,
        udp_event: false,
        ts: RxTimestamps {
            xdp_tai_ns: Some(seq),
            hw_ns: None,
            user_tai_ns: seq,
        },
        frame: FrameBuf::from_slice(&bytes).unwrap(),
    }
}

#[test]
fn fast_producer_slow_consumer_is_bounded_and_every_drop_counted() {
    const SENT: u64 = 200_000;
    let link = Arc::new(Link::new(LinkConfig {
        rx_up: 256,
        ..LinkConfig::default()
    }));
    let done = Arc::new(AtomicBool::new(false));

    let producer = {
        let link = link.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            let mut refused = 0u64;
            for seq in 0..SENT {
                if !link.rx_up.push(msg(seq)) {
                    refused += 1;
                }
            }
            done.store(true, Ordering::Release);
            refused
        })
    };

    // The consumer is deliberately slow: it pauses every few items.
    let mut received = 0u64;
    let mut max_len = 0usize;
    let mut last_seq = None;
    loop {
        max_len = max_len.max(link.rx_up.len());
        match link.rx_up.pop() {
            Some(m) => {
                let seq = u64::from_be_bytes(m.frame.as_slice()[..8].try_into().unwrap());
                assert_eq!(
                    m.ts.xdp_tai_ns,
                    Some(seq),
                    "payload and metadata travel together"
                );
                if let Some(prev) = last_seq {
                    assert!(
                        seq > prev,
                        "FIFO order, drops only skip ({prev} then {seq})"
                    );
                }
                last_seq = Some(seq);
                received += 1;
                if received.is_multiple_of(64) {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
            None if done.load(Ordering::Acquire) => break,
            None => std::thread::yield_now(),
        }
    }
    let refused = producer.join().unwrap();
    let lane = &link.rx_up;
    println!(
        "sent {SENT}, received {received}, dropped {}, max queue length {max_len}/{}",
        lane.dropped(),
        lane.capacity()
    );
    assert!(max_len <= lane.capacity(), "queue exceeded its capacity");
    assert_eq!(lane.dropped(), refused, "every refused push is counted");
    assert_eq!(
        SENT,
        received + lane.dropped(),
        "sent == received + dropped"
    );
    assert_eq!(lane.pushed(), received);
    assert!(
        lane.dropped() > 0,
        "the consumer was slower, so this test must have exercised the full-queue path"
    );
}

#[test]
fn drops_are_counted_with_several_producers() {
    let lane = Arc::new(Lane::<u64>::new(8));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let lane = lane.clone();
            std::thread::spawn(move || {
                (0..10_000u64)
                    .filter(|i| lane.push(t * 100_000 + i))
                    .count()
            })
        })
        .collect();
    let accepted: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let mut left = 0;
    while lane.pop().is_some() {
        left += 1;
    }
    assert!(left <= 8);
    assert_eq!(accepted as u64, lane.pushed());
    assert_eq!(40_000, lane.pushed() + lane.dropped());
}

/// Control (a normal thread) feeding a SCHED_FIFO worker on the same CPU, the way `xptp run`
/// schedules them on shared cores: the worker wakes every 20 µs (as frames and timers wake it),
/// preempting control wherever it is, often in the middle of a push. A consumer that waited
/// for a half-done push would spin at real-time priority over the very thread that has to
/// finish it, until the kernel's real-time throttling (~950 ms); a pop must never wait.
#[test]
fn realtime_consumer_never_waits_for_a_preempted_producer() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: SCHED_FIFO needs root");
        return;
    }
    let lane = Arc::new(Lane::<u64>::new(1024));
    let stop = Arc::new(AtomicBool::new(false));
    let core = core_affinity::get_core_ids()
        .and_then(|c| c.last().copied())
        .expect("a core id");
    let consumer = {
        let (lane, stop) = (lane.clone(), stop.clone());
        std::thread::spawn(move || {
            core_affinity::set_for_current(core);
            xptp_datapath::worker::set_realtime(40).expect("SCHED_FIFO as root");
            let (mut got, mut worst) = (0u64, Duration::ZERO);
            while !stop.load(Ordering::Relaxed) {
                let t = std::time::Instant::now();
                while lane.pop().is_some() {
                    got += 1;
                }
                worst = worst.max(t.elapsed());
                std::thread::sleep(Duration::from_micros(20));
            }
            (got, worst)
        })
    };
    let producer = {
        let (lane, stop) = (lane.clone(), stop.clone());
        std::thread::spawn(move || {
            core_affinity::set_for_current(core);
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if lane.push(n) {
                    n += 1;
                }
            }
            n
        })
    };
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let pushed = producer.join().unwrap();
    let (got, worst) = consumer.join().unwrap();
    println!("pushed {pushed}, popped {got}, longest drain {worst:?}");
    assert!(
        worst < Duration::from_millis(50),
        "a drain of the lane took {worst:?}: the real-time consumer waited for the preempted producer"
    );
    assert!(pushed > 100_000, "the producer made {pushed} pushes in 2 s");
    assert!(
        got + lane.len() as u64 == pushed,
        "popped {got} + left {} != pushed {pushed}",
        lane.len()
    );
}
