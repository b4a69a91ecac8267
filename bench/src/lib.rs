//! Load generators and side-by-side benchmark scenarios (xptp vs ptp4l vs the kernel bound).
//!
//! - [`loadgen`]: the pinned AF_XDP/AF_PACKET request generator with reply matching, loss
//!   accounting and round-trip histograms.
//! - [`kernel_bound`]: the XDP_TX responder that marks the fastest possible answer on a link.
//! - [`target`]: the systems under test behind one [`target::Target`] trait.
//! - [`scenario`]: capacity search, handling latency, stall test, TC residence.
//! - [`report`]: machine facts, JSON and Markdown output.
//!
//! Everything here needs root (namespaces, XDP, AF_XDP) and never touches the host clock.

pub mod kernel_bound;
pub mod loadgen;
pub mod report;
pub mod scenario;
pub mod target;

/// Errors of the benchmark harness, each naming the cause.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Loading or attaching an XDP program.
    #[error(transparent)]
    Xdp(#[from] xptp_ebpf::LoadError),
    /// Opening an AF_XDP socket.
    #[error(transparent)]
    Xsk(#[from] xptp_datapath::xsk::XskError),
    /// The netns / linuxptp harness.
    #[error(transparent)]
    Harness(#[from] xptp_tests::Error),
    /// Building a frame.
    #[error("building a request frame: {0:?}")]
    Wire(xptp_datapath::wire::WireError),
    /// Anything else in setting up a run.
    #[error("{0}")]
    Setup(String),
}

impl From<xptp_datapath::wire::WireError> for Error {
    fn from(e: xptp_datapath::wire::WireError) -> Self {
        Error::Wire(e)
    }
}
