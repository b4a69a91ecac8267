//! Micro-benchmarks (criterion): codec parse/emit per message type, the transparent clock's
//! in-place correctionField rewrite, Delay_Resp construction from a Delay_Req frame, and the
//! BMCA data set comparison. `cargo bench -p xptp-bench --bench micro`.

use std::hint::black_box;
use std::net::Ipv4Addr;

use criterion::{criterion_group, criterion_main, Criterion};
use xptp_control::bmca::{compare, ComparisonDataset};
use xptp_control::datasets::DatasetComparison;
use xptp_datapath::wire::{
    frame::{self, Transport},
    AnnounceBody, Body, ClockIdentity, ClockQuality, HeaderRepr, Message, MessageRepr,
    PortIdentity, TimeInterval, Timestamp,
};

const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 1];

fn header() -> HeaderRepr {
    HeaderRepr {
        source_port_identity: PortIdentity::new(ClockIdentity::from_mac(MAC), 1),
        sequence_id: 4242,
        ..HeaderRepr::default()
    }
}

fn messages() -> Vec<(&'static str, MessageRepr)> {
    let ts = Timestamp::from_nanos(1_700_000_000_123_456_789).unwrap();
    let req = PortIdentity::new(ClockIdentity([1, 2, 3, 4, 5, 6, 7, 8]), 1);
    vec![
        (
            "Sync",
            MessageRepr::new(
                header(),
                Body::Sync {
                    origin_timestamp: ts,
                },
            ),
        ),
        (
            "Delay_Req",
            MessageRepr::new(
                header(),
                Body::DelayReq {
                    origin_timestamp: ts,
                },
            ),
        ),
        (
            "Follow_Up",
            MessageRepr::new(
                header(),
                Body::FollowUp {
                    precise_origin_timestamp: ts,
                },
            ),
        ),
        (
            "Delay_Resp",
            MessageRepr::new(
                header(),
                Body::DelayResp {
                    receive_timestamp: ts,
                    requesting_port_identity: req,
                },
            ),
        ),
        (
            "Pdelay_Req",
            MessageRepr::new(
                header(),
                Body::PdelayReq {
                    origin_timestamp: ts,
                },
            ),
        ),
        (
            "Pdelay_Resp",
            MessageRepr::new(
                header(),
                Body::PdelayResp {
                    request_receipt_timestamp: ts,
                    requesting_port_identity: req,
                },
            ),
        ),
        (
            "Announce",
            MessageRepr::new(
                header(),
                Body::Announce(AnnounceBody {
                    origin_timestamp: ts,
                    current_utc_offset: 37,
                    grandmaster_priority1: 128,
                    grandmaster_clock_quality: ClockQuality {
                        clock_class: 6,
                        clock_accuracy: 0x21,
                        offset_scaled_log_variance: 0x4e5d,
                    },
                    grandmaster_priority2: 128,
                    grandmaster_identity: ClockIdentity::from_mac(MAC),
                    steps_removed: 0,
                    time_source: 0x20,
                }),
            ),
        ),
    ]
}

fn codec(c: &mut Criterion) {
    let mut g = c.benchmark_group("codec");
    for (name, m) in messages() {
        let bytes = m.to_vec().unwrap();
        g.bench_function(format!("{name}/parse_repr"), |b| {
            b.iter(|| MessageRepr::parse(black_box(&bytes)).unwrap())
        });
        g.bench_function(format!("{name}/view_checked"), |b| {
            b.iter(|| {
                let v = Message::new_checked(black_box(&bytes[..])).unwrap();
                (v.sequence_id(), v.source_port_identity())
            })
        });
        let mut out = [0u8; 128];
        g.bench_function(format!("{name}/emit"), |b| {
            b.iter(|| black_box(&m).emit(&mut out).unwrap())
        });
    }
    g.finish();
}

fn correction(c: &mut Criterion) {
    let mut g = c.benchmark_group("correction");
    let (_, sync) = messages().into_iter().next().unwrap();
    for (name, t) in [
        ("L2", Transport::l2_multicast(MAC, sync.message_type())),
        (
            "UDPv4",
            Transport::udp4_multicast(MAC, Ipv4Addr::new(10, 0, 0, 1), sync.message_type()),
        ),
    ] {
        let mut f = frame::build(&t, &sync).unwrap();
        g.bench_function(format!("add_correction/{name}"), |b| {
            b.iter(|| {
                frame::add_correction(black_box(&mut f), TimeInterval(black_box(65_536))).unwrap()
            })
        });
    }
    g.finish();
}

/// Delay_Resp built in place from a received Delay_Req frame through the zero-copy view (what a
/// fast path does per request), until `xptp_datapath::fastpath` provides its own constructor.
fn delay_resp(c: &mut Criterion) {
    let (_, req) = messages().into_iter().nth(1).unwrap();
    let f = frame::build(&Transport::l2_multicast(MAC, req.message_type()), &req).unwrap();
    let ts = Timestamp::from_nanos(1_700_000_000_000_000_001).unwrap();
    let me = PortIdentity::new(ClockIdentity([9; 8]), 1);
    c.bench_function("fastpath/delay_resp_in_place_L2", |b| {
        let mut out = [0u8; 128];
        b.iter(|| {
            let parsed = frame::parse(black_box(&f)).unwrap();
            let p = parsed.payload.start;
            let m = Message::new_checked(&f[p..]).unwrap();
            let requester = m.source_port_identity();
            let seq = m.sequence_id();
            let corr = m.correction_field();
            out[..14].copy_from_slice(&f[..14]);
            out[6..12].copy_from_slice(&MAC);
            let len = 14 + 54;
            let body = &mut out[14..len];
            body[..34].copy_from_slice(&f[p..p + 34]);
            body[0] = (body[0] & 0xf0) | 9;
            body[2..4].copy_from_slice(&54u16.to_be_bytes());
            let mut r = Message::new_checked(&mut out[14..len]).unwrap();
            r.set_source_port_identity(me);
            r.set_sequence_id(seq);
            r.set_correction_field(corr);
            r.set_timestamp(ts);
            r.set_requesting_port_identity(requester);
            black_box(len)
        })
    });
}

fn bmca(c: &mut Criterion) {
    let d = |prio: u8, id: u8, steps: u16| ComparisonDataset {
        gm_priority1: prio,
        gm_identity: ClockIdentity([id; 8]),
        gm_clock_quality: ClockQuality {
            clock_class: 6,
            clock_accuracy: 0x21,
            offset_scaled_log_variance: 0x4e5d,
        },
        gm_priority2: 128,
        steps_removed: steps,
        sender: PortIdentity::new(ClockIdentity([id; 8]), 1),
        receiver: PortIdentity::new(ClockIdentity([0xaa; 8]), 1),
        local_priority: 128,
    };
    let (a, b2, same_gm) = (d(128, 1, 0), d(128, 2, 0), d(128, 1, 2));
    let mut g = c.benchmark_group("bmca");
    g.bench_function("compare/different_gm", |b| {
        b.iter(|| compare(black_box(&a), black_box(&b2), DatasetComparison::Ieee1588))
    });
    g.bench_function("compare/same_gm_topology", |b| {
        b.iter(|| {
            compare(
                black_box(&a),
                black_box(&same_gm),
                DatasetComparison::Ieee1588,
            )
        })
    });
    g.bench_function("compare/g8275", |b| {
        b.iter(|| compare(black_box(&a), black_box(&b2), DatasetComparison::G8275))
    });
    g.finish();
}

criterion_group!(benches, codec, correction, delay_resp, bmca);
criterion_main!(benches);
