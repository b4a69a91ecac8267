//! Privilege drop of `xptp run`. Start-up needs CAP_BPF / CAP_SYS_ADMIN (load the XDP
//! program), CAP_NET_ADMIN (attach it), CAP_NET_RAW (AF_XDP sockets), CAP_IPC_LOCK (UMEM
//! beyond RLIMIT_MEMLOCK) and, for some clocks, access to /dev/ptp*. Once everything is open,
//! the running daemon only uses descriptors it already holds:
//!
//! | what it still does | capability |
//! |---|---|
//! | AF_XDP rings, `sendto` kicks (workers) | none: the worker threads drop all theirs |
//! | XDP counters (BPF map lookups by fd), bpf_link close at exit | none |
//! | rtnetlink link notifications, SIOCGIFFLAGS | none |
//! | management sockets (already bound), replies to pmc | none |
//! | SIGHUP: re-reading the `sa_file` | none (uid 0 reads a root-owned file by its owner bits) |
//! | PHC: clock_adjtime on the open /dev/ptpN | none (the descriptor was opened for writing) |
//! | virtual clock: clock_gettime | none |
//! | `clock_source system`: clock_adjtime(CLOCK_REALTIME) | CAP_SYS_TIME |
//! | phc2sys thread, target CLOCK_REALTIME | CAP_SYS_TIME (that thread only) |
//! | phc2sys thread, target a PHC or `virtual` | none |
//!
//! So after setup the control thread keeps CAP_SYS_TIME with `clock_source system` and
//! nothing otherwise, in its effective and permitted sets; the bounding and ambient sets are
//! emptied too (when CAP_SETPCAP allows), `no_new_privs` is set and, as uid 0 keeps the power
//! to regain capabilities through execve, SECBIT_NOROOT is set and locked. The process stays
//! uid 0 (files it created stay its own). Capabilities are per thread on Linux: the datapath
//! workers drop theirs when they start ([`xptp_datapath::worker::WorkerConfig`]), and the
//! phc2sys thread, started before the control thread's drop, reduces itself to what its
//! target needs ([`super::phc2sys::Phc2SysPlan::needed_capabilities`]).
//!
//! Failing to drop is logged, not fatal: the daemon works the same, with more privilege.

use rustix::thread::{self, CapabilitySet, CapabilitySets};

use crate::clock::ClockSource;

/// The capabilities the running control thread needs with `clock`.
pub fn needed(clock: ClockSource) -> CapabilitySet {
    match clock {
        ClockSource::System => CapabilitySet::SYS_TIME,
        ClockSource::Phc | ClockSource::Virtual => CapabilitySet::empty(),
    }
}

/// Names of the capabilities in `set` (`CAP_SYS_TIME, ...`), or `none`.
pub fn names(set: CapabilitySet) -> String {
    let v: Vec<String> = set.iter_names().map(|(n, _)| format!("CAP_{n}")).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// What [`drop_to`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dropped {
    /// Effective and permitted set afterwards.
    pub kept: CapabilitySet,
    /// What was given up from the permitted set.
    pub given_up: CapabilitySet,
    /// Whether the bounding set could be reduced to `kept`.
    pub bounding_reduced: bool,
}

/// Reduces the calling thread (the control thread) to `keep` (∩ what it has).
pub fn drop_to(keep: CapabilitySet) -> std::io::Result<Dropped> {
    let before = thread::capabilities(None)?;
    let kept = before.permitted & keep;
    // The bounding set, securebits and no_new_privs first: they need CAP_SETPCAP, which
    // goes away with the rest.
    let mut bounding_reduced = before.effective.contains(CapabilitySet::SETPCAP);
    if bounding_reduced {
        for (_, cap) in CapabilitySet::all().iter_names() {
            if keep.contains(cap) {
                continue;
            }
            if thread::capability_is_in_bounding_set(cap).unwrap_or(false)
                && thread::remove_capability_from_bounding_set(cap).is_err()
            {
                bounding_reduced = false;
            }
        }
        let bits = thread::CapabilitiesSecureBits::NO_ROOT
            | thread::CapabilitiesSecureBits::NO_ROOT_LOCKED;
        if let Err(e) = thread::set_capabilities_secure_bits(bits) {
            tracing::debug!("privilege: SECBIT_NOROOT not set: {e}");
        }
    }
    if let Err(e) = thread::clear_ambient_capability_set() {
        tracing::debug!("privilege: ambient set not cleared: {e}");
    }
    if let Err(e) = thread::set_no_new_privs(true) {
        tracing::debug!("privilege: no_new_privs not set: {e}");
    }
    thread::set_capabilities(
        None,
        CapabilitySets {
            effective: kept,
            permitted: kept,
            inheritable: CapabilitySet::empty(),
        },
    )?;
    Ok(Dropped {
        kept,
        given_up: before.permitted - kept,
        bounding_reduced,
    })
}

/// The daemon's hook after setup: drops to [`needed`] and logs the outcome.
pub fn drop_after_setup(clock: ClockSource) {
    let keep = needed(clock);
    match drop_to(keep) {
        Ok(d) => tracing::info!(
            kept = %names(d.kept),
            bounding_reduced = d.bounding_reduced,
            "privileges dropped after setup: keeping {} (clock {}); gave up {}",
            names(d.kept),
            clock.as_str(),
            names(d.given_up)
        ),
        Err(e) => tracing::warn!(
            "privileges: could not drop capabilities after setup ({e}); running with all of them"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_sys_time_only_for_the_system_clock() {
        assert_eq!(needed(ClockSource::System), CapabilitySet::SYS_TIME);
        assert!(needed(ClockSource::Virtual).is_empty());
        assert!(needed(ClockSource::Phc).is_empty());
        assert_eq!(names(CapabilitySet::SYS_TIME), "CAP_SYS_TIME");
        assert_eq!(names(CapabilitySet::empty()), "none");
    }

    #[test]
    fn drop_in_a_thread_keeps_only_what_was_asked() {
        // Capabilities are per thread: this changes only the spawned thread.
        let r = std::thread::spawn(|| {
            let d = drop_to(CapabilitySet::SYS_TIME).unwrap();
            let now = thread::capabilities(None).unwrap();
            (d, now)
        })
        .join()
        .unwrap();
        let (d, now) = r;
        assert_eq!(now.effective, d.kept);
        assert_eq!(now.permitted, d.kept);
        assert!((now.permitted - CapabilitySet::SYS_TIME).is_empty());
        assert!(now.inheritable.is_empty());
    }
}
