//! Loader of the kernel-bound responder (`kernel_bound.bpf.c`): an XDP program that answers
//! Delay_Req and Pdelay_Req in place with XDP_TX. It is the upper limit of any responder on the
//! same interface and the denominator of the "xptp / kernel bound" ratio.
//!
//! Loading and attaching go through [`xptp_ebpf::generic`] (libbpf, bpf_link): the program is
//! detached when [`KernelBound`] is dropped or the process dies.

use std::net::Ipv4Addr;

use xptp_datapath::wire::PortIdentity;
use xptp_ebpf::generic::{XdpLink, XdpObject};
use xptp_ebpf::{AttachMode, LoadError};

#[repr(C, align(8))]
struct Aligned<B: ?Sized>(B);

static OBJ: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(
    env!("OUT_DIR"),
    "/kernel_bound.bpf.o"
)));

const PROG: &str = "kb_respond";
const CONFIG_MAP: &str = "kb_config";
const COUNTERS_MAP: &str = "kb_counters";

/// What the program answers as: the source address and port identity of its replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KbConfig {
    /// Source MAC of replies (the interface's own).
    pub mac: [u8; 6],
    /// Source IPv4 address of UDP replies.
    pub ipv4: Ipv4Addr,
    /// sourcePortIdentity of replies.
    pub port_identity: PortIdentity,
}

impl KbConfig {
    /// The 24-octet `struct kb_config` of the C program.
    pub fn to_bytes(&self) -> [u8; 24] {
        let mut b = [0u8; 24];
        b[..6].copy_from_slice(&self.mac);
        b[8..12].copy_from_slice(&self.ipv4.octets());
        b[12..22].copy_from_slice(&self.port_identity.to_bytes());
        b
    }
}

/// Counters of the program, summed over CPUs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct KbCounters {
    /// Delay_Resp sent.
    pub delay_resp: u64,
    /// Pdelay_Resp sent.
    pub pdelay_resp: u64,
    /// Frames passed to the kernel (not a delay request).
    pub passed: u64,
    /// Requests passed because the frame could not be resized.
    pub resize_failed: u64,
}

/// The responder attached to one interface. Dropping it detaches.
#[derive(Debug)]
pub struct KernelBound {
    // Field order is drop order: the link first.
    link: XdpLink,
    obj: XdpObject,
}

impl KernelBound {
    /// Loads the program, configures it and attaches it in native mode to `ifname` in the
    /// calling thread's network namespace.
    pub fn attach(ifname: &str, cfg: &KbConfig) -> Result<Self, LoadError> {
        let obj = XdpObject::load(&OBJ.0, "kernel_bound", PROG, &[CONFIG_MAP, COUNTERS_MAP])?;
        obj.map_update(CONFIG_MAP, &0u32.to_ne_bytes(), &cfg.to_bytes())?;
        let link = obj.attach(ifname, AttachMode::Native)?;
        Ok(KernelBound { link, obj })
    }

    /// The attachment (mode, program id).
    pub fn link(&self) -> &XdpLink {
        &self.link
    }

    /// The program's counters.
    pub fn counters(&self) -> Result<KbCounters, LoadError> {
        Ok(KbCounters {
            delay_resp: self.obj.percpu_sum_u64(COUNTERS_MAP, 0)?,
            pdelay_resp: self.obj.percpu_sum_u64(COUNTERS_MAP, 1)?,
            passed: self.obj.percpu_sum_u64(COUNTERS_MAP, 2)?,
            resize_failed: self.obj.percpu_sum_u64(COUNTERS_MAP, 3)?,
        })
    }
}
