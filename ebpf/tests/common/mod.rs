//! Shared helpers of the root-only integration tests.
#![allow(dead_code)]

/// True when the test may run. Not root: prints why and returns false, unless
/// XPTP_REQUIRE_ROOT=1 (CI), in which case it panics so the skip cannot go unnoticed.
pub fn require_root(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var("XPTP_REQUIRE_ROOT").as_deref() == Ok("1") {
        panic!("{test}: needs root (XPTP_REQUIRE_ROOT=1 is set)");
    }
    eprintln!(
        "SKIP {test}: needs root (BPF_PROG_LOAD, netns); set XPTP_REQUIRE_ROOT=1 to fail instead"
    );
    false
}

/// CLOCK_TAI now, in ns.
pub fn tai_now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_TAI, &mut ts) };
    assert_eq!(r, 0, "clock_gettime(CLOCK_TAI)");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
