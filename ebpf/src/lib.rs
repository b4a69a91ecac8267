//! The XDP program that steers PTP frames into AF_XDP sockets, the ABI header it shares with
//! Rust, and the loader that attaches it.

pub mod abi;
