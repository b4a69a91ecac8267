//! xptp's packet side: the PTP wire codec ([`wire`]) and, in later modules, the pure per-frame
//! fast-path decisions, the AF_XDP rings and the pinned worker loops.
//!
//! Nothing in this crate may panic on a received frame: outside tests, `unwrap`, `expect`,
//! slice indexing and `panic!` are denied by lint. Malformed input becomes a typed error whose
//! variant names the field at fault, so that the worker can count every dropped frame by reason.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod wire;
