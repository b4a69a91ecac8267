//! xptp's packet side: the PTP wire codec ([`wire`]), the AF_XDP sockets and rings ([`xsk`], the
//! crate's only `unsafe`), the pinned busy-polling workers ([`worker`]) and the bounded queues
//! between them and control ([`handoff`]). Pure per-frame fast-path decisions plug into
//! [`worker::Decide`].
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

pub mod delay_filter;
pub mod fastpath;
pub mod handoff;
pub mod wire;
pub mod worker;
pub mod xsk;
