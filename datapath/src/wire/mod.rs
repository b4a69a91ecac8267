//! The PTP wire codec: IEEE 1588-2019 clause 13 messages, clause 14 TLVs, and the Annex C/D/E
//! framings (Ethernet II with an optional 802.1Q/802.1ad tag, UDP over IPv4 and IPv6).
//!
//! This module owns byte layouts and nothing else: it never reads a clock or a socket.
//!
//! # Entry points
//! * Frames: [`frame::parse`] → [`frame::Frame`] (transport + PTP payload range, zero-copy);
//!   [`frame::build`] / [`frame::FrameRepr`] emit complete frames;
//!   [`frame::add_correction`] is the transparent clock's in-place correctionField update.
//! * Messages, zero-copy: [`Message::new_checked`] then accessors/setters (fast path).
//! * Messages, owned: [`MessageRepr::parse`] / [`MessageRepr::emit`] /
//!   [`MessageRepr::buffer_len`] (control plane), made of a [`HeaderRepr`], a [`Body`] and
//!   [`TlvRepr`]s.
//! * Errors: every rejection is a `Copy` [`WireError`] whose [`WireError::reason`] names a drop
//!   counter.
//!
//! Views give panic-free access after `new_checked`; `Repr` structs give owned values. Reserved
//! octets are emitted as zero; everything else (including unknown TLVs and padding, via
//! [`frame::FrameRepr`]) round-trips byte for byte.

pub mod auth;
mod body;
pub(crate) mod bytes;
mod error;
pub mod frame;
mod header;
mod message;
mod packet;
mod time;
pub mod tlv;
mod types;

#[cfg(test)]
mod tests;

pub use body::{AnnounceBody, Body, ManagementAction, ManagementBody};
pub use error::WireError;
pub use header::{FlagField, HeaderRepr, MessageType, HEADER_LEN, VERSION_PTP};
pub use message::MessageRepr;
pub use packet::{AnnounceView, Message};
pub use time::{CorrectionField, TimeInterval};
pub use tlv::{Tlv, TlvIter, TlvRepr};
pub use types::{ClockIdentity, ClockQuality, PortIdentity, Timestamp, TimestampError};
