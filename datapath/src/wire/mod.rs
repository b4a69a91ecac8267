//! The PTP wire codec: IEEE 1588-2019 clause 13 messages, clause 14 TLVs, and the Annex C/D/E/F
//! framings (Ethernet II with an optional 802.1Q tag, UDP over IPv4 and IPv6).
//!
//! This module owns byte layouts and nothing else: it never reads a clock or a socket. Views
//! (`Packet<T>`) give zero-copy, panic-free access after `new_checked`; `Repr` structs give owned
//! values for the control plane.

mod types;

pub use types::{ClockIdentity, ClockQuality, PortIdentity, Timestamp, TimestampError};
