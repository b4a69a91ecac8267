use super::*;
use crate::clock::fake::{FakeCall, FakeIoctl, FakeSyscalls};
use crate::clock::{ClockId, ManualTimeSource, VirtualClock, VirtualClockConfig, NS_PER_SEC};
use crate::servo::{build, ServoConfig, ServoKind};

const S: i64 = NS_PER_SEC;
const T0: i64 = 1_700_000_000 * S;

fn pi() -> Box<dyn Servo> {
    build(ServoKind::Pi, &ServoConfig::default())
}

/// A world with a TAI PHC at /dev/ptp0 and CLOCK_REALTIME 3 ms ahead and 40 ppm fast.
fn world(precise: bool, extended: bool) -> (FakeSyscalls, PhcClock<FakeSyscalls>) {
    let fake = FakeSyscalls::new(T0);
    fake.add_phc("/dev/ptp0", T0 + 37 * S, 0.0, 1_000_000, extended);
    fake.set_precise("/dev/ptp0", precise);
    fake.set_native_ppb(ClockId::REALTIME, 40_000.0);
    fake.set_sys_offset_windows(vec![2_500, 300, 1_200], 0.5);
    let phc = PhcClock::open_with(fake.clone(), "/dev/ptp0").unwrap();
    (fake, phc)
}

/// A task steering the fake CLOCK_REALTIME to `phc`.
fn to_realtime(
    fake: &FakeSyscalls,
    phc: PhcClock<FakeSyscalls>,
    readings: u32,
) -> Result<Phc2SysTask<FakeSyscalls>, ClockError> {
    let sys = SystemClock::discipline_realtime_explicitly(fake.clone()).unwrap();
    Phc2SysTask::new(
        Phc2SysSource::Phc(phc),
        Phc2SysTarget::Realtime(sys),
        pi(),
        readings,
    )
}

fn realtime_error(fake: &FakeSyscalls) -> i64 {
    let phc = fake.read(fake.phc_clock_id("/dev/ptp0").unwrap()).unwrap();
    fake.read(ClockId::REALTIME).unwrap() - (phc - 37 * S)
}

#[test]
fn best_ioctl_is_probed_in_order_and_used_for_every_reading() {
    for (precise, extended, want, probe) in [
        (true, true, SysOffsetMethod::Precise, 1),
        (false, true, SysOffsetMethod::Extended, 2),
        (false, false, SysOffsetMethod::Basic, 3),
    ] {
        let (fake, phc) = world(precise, extended);
        let fd = 3;
        let mut t = to_realtime(&fake, phc, 7).unwrap();
        assert_eq!(t.method(), Phc2SysMethod::SysOffset(want));
        assert_eq!(t.skipped().len(), probe - 1, "{want:?}");
        let probed = fake.ioctls();
        let order = [
            FakeIoctl::Precise(fd),
            FakeIoctl::Extended(fd, 7),
            FakeIoctl::Basic(fd, 7),
        ];
        assert_eq!(probed, order[..probe].to_vec(), "probe for {want:?}");
        t.update(-37 * S).unwrap();
        // The reading after the probe uses the chosen ioctl only.
        assert_eq!(fake.ioctls()[probe..], order[probe - 1..probe]);
        let mut states = vec![];
        for _ in 0..90 {
            fake.advance(S);
            states.push(t.update(-37 * S).unwrap().state);
        }
        assert!(states.contains(&ServoState::Jump), "{want:?}: first step");
        assert_eq!(states.last(), Some(&ServoState::Locked));
        let err = realtime_error(&fake);
        // PRECISE has no read window; the others read the PHC at the window's midpoint.
        assert!(err.abs() < 30, "{want:?}: CLOCK_REALTIME error {err} ns");
        // Only CLOCK_REALTIME was changed.
        assert!(fake.calls().iter().all(|c| matches!(c,
            FakeCall::SetFrequency(id, _) | FakeCall::Step(id, _) if id.is_realtime())));
    }
}

#[test]
fn auto_offset_sign_follows_linuxptp() {
    // With -O 0 the system clock is steered onto the PHC's TAI, 37 s ahead of UTC.
    let (fake, phc) = world(false, true);
    let mut t = to_realtime(&fake, phc, 5).unwrap();
    let m = t.measure(0).unwrap();
    assert!(
        (m.offset_ns + 37 * S - 3_000_000).abs() < 10_000_000,
        "{m:?}"
    );
    let m = t.measure(-37 * S).unwrap();
    assert!((m.offset_ns).abs() < 10_000_000, "{m:?}");
    for _ in 0..3 {
        fake.advance(S);
        t.update(0).unwrap();
    }
    assert!((realtime_error(&fake) - 37 * S).abs() < 10_000_000);
}

#[test]
fn refused_realtime_change_names_cap_sys_time() {
    let (fake, phc) = world(false, true);
    fake.refuse_changes(ClockId::REALTIME, libc::EPERM);
    let mut t = to_realtime(&fake, phc, 5).unwrap();
    // The first sample only feeds the servo; the second steps (3 ms > 20 µs) and is refused.
    let mut err = None;
    for _ in 0..3 {
        fake.advance(S);
        if let Err(e) = t.update(-37 * S) {
            err = Some(e);
            break;
        }
    }
    let e = err.expect("the step must fail");
    assert!(matches!(e, ClockError::NotPermitted { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("CAP_SYS_TIME") && msg.contains("CLOCK_REALTIME"),
        "{msg}"
    );
}

#[test]
fn probe_errors_other_than_unsupported_are_reported() {
    let fake = FakeSyscalls::new(T0);
    fake.add_phc("/dev/ptp0", T0, 0.0, 1_000_000, true);
    let phc = PhcClock::open_with(fake.clone(), "/dev/ptp0").unwrap();
    // Close the descriptor behind the clock's back: every ioctl now fails with EBADF.
    fake.close(3);
    let e = to_realtime(&fake, phc, 5).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("PTP_SYS_OFFSET_PRECISE") && msg.contains("/dev/ptp0"),
        "{msg}"
    );
}

#[test]
fn phc_target_follows_phc_source_through_both_sys_offsets() {
    let fake = FakeSyscalls::new(T0);
    fake.add_phc("/dev/ptp0", T0 + 37 * S, 0.0, 500_000, true);
    fake.add_phc("/dev/ptp1", T0 + 40 * S, -25_000.0, 500_000, false);
    let src = PhcClock::open_with(fake.clone(), "/dev/ptp0").unwrap();
    let dst = PhcClock::open_with(fake.clone(), "/dev/ptp1").unwrap();
    let mut t =
        Phc2SysTask::new(Phc2SysSource::Phc(src), Phc2SysTarget::Phc(dst), pi(), 5).unwrap();
    assert_eq!(
        t.method(),
        Phc2SysMethod::SysOffset(SysOffsetMethod::Extended)
    );
    for _ in 0..60 {
        fake.advance(S);
        t.update(0).unwrap();
    }
    let a = fake.read(fake.phc_clock_id("/dev/ptp0").unwrap()).unwrap();
    let b = fake.read(fake.phc_clock_id("/dev/ptp1").unwrap()).unwrap();
    assert!((b - a).abs() < 50, "PHC difference {} ns", b - a);
    // The target PHC's driver has no EXTENDED: it is read with plain PTP_SYS_OFFSET.
    assert!(fake.ioctls().contains(&FakeIoctl::Basic(4, 5)));
    assert!(!fake.calls().iter().any(|c| matches!(c,
        FakeCall::SetFrequency(id, _) | FakeCall::Step(id, _)
            if *id == fake.phc_clock_id("/dev/ptp0").unwrap())));
}

#[test]
fn virtual_target_follows_virtual_source_with_utc_offset() {
    for kind in ServoKind::ALL {
        virtual_pair_converges(kind);
    }
}

/// Source 12 µs off and 3 ppm fast, target 1 ms off UTC and 50 ppm fast; 60 updates at 1 Hz
/// through servo `kind`.
fn virtual_pair_converges(kind: ServoKind) {
    let time = ManualTimeSource::new(T0);
    let src = VirtualClock::new(
        time.clone(),
        VirtualClockConfig {
            initial_offset_ns: 12_345,
            frequency_error_ppb: 3_000.0,
            ..VirtualClockConfig::default()
        },
    );
    let dst = VirtualClock::new(
        time.clone(),
        VirtualClockConfig {
            initial_offset_ns: -37 * S + 1_000_000,
            frequency_error_ppb: 50_000.0,
            ..VirtualClockConfig::default()
        },
    );
    let dst_reader = dst.reader();
    let reader = VirtualReadClock::new(src.reader(), time.clone(), "virtual");
    let mut t: Phc2SysTask<FakeSyscalls> = Phc2SysTask::new(
        Phc2SysSource::Read(Box::new(reader)),
        Phc2SysTarget::Other {
            clock: Box::new(dst),
            utc: true,
        },
        build(kind, &ServoConfig::default()),
        5,
    )
    .unwrap();
    assert_eq!(t.method(), Phc2SysMethod::ClockGettime);
    let true_err = || {
        let r = time.now_ns();
        dst_reader.to_virtual(r) - (src.to_virtual(r) - 37 * S)
    };
    assert!((true_err() - 1_000_000 + 12_345).abs() < 10);
    let mut lines = vec![];
    for _ in 0..60 {
        time.advance(S);
        let u = t.update(-37 * S).unwrap();
        lines.push(log_line("virtual", &u));
    }
    assert!(
        true_err().abs() < 5,
        "{kind:?}: true error {} ns",
        true_err()
    );
    assert!(
        lines.last().unwrap().starts_with("virtual phc offset")
            && lines.last().unwrap().contains(" s2 freq "),
        "{kind:?}: {lines:?}"
    );
}
