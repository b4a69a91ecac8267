//! The XDP program that steers PTP frames into AF_XDP sockets (`src/xptp.bpf.c`), the ABI
//! headers it shares with Rust (`abi`), the typed loader that attaches it (`loader`) and the
//! startup checks that turn missing privileges or kernel features into actionable errors
//! (`preflight`). [`generic`] loads and attaches any other XDP object the same way (bpf_link).
//!
//! Typical use by the AF_XDP datapath:
//! ```no_run
//! use xptp_ebpf::{AttachMode, XdpSteering};
//! # fn bound_xsk_fd() -> std::os::fd::OwnedFd { unimplemented!() }
//! let steering = XdpSteering::attach("eth0", AttachMode::Auto, true)?;
//! println!("{:?}", steering.status()); // build, mode, why no hardware timestamps
//! let xsk = bound_xsk_fd(); // AF_XDP socket bound to eth0 queue 0
//! steering.register_xsk(0, std::os::fd::AsFd::as_fd(&xsk))?;
//! let c = steering.counters()?; // summed over CPUs
//! println!("steered {} passed {}", c.steered(), c.passed_non_ptp());
//! // dropping `steering` (or the process dying) detaches the program
//! # Ok::<(), xptp_ebpf::LoadError>(())
//! ```

pub mod abi;
pub mod generic;
pub mod loader;
pub mod preflight;
mod sys;
pub mod wire;

pub use loader::{
    ActiveMode, AttachMode, AttachStatus, Build, Counters, LoadError, SteeringProgram,
    TestRunOutput, XdpSteering, MAX_QUEUES,
};
pub use wire::WireTable;
