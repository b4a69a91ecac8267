//! Loading and attaching any XDP object (not only xptp's steering program) with the same
//! guarantees as [`crate::XdpSteering`]: libbpf load from an embedded ELF, attachment through a
//! bpf_link that the kernel removes when the descriptor closes (process death included), never
//! a netlink attachment that would outlive the process.
//!
//! Used by the benchmark's kernel-bound responder and by tools that bring their own program.
//! It does not know any program's maps beyond the names the caller asks for.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use crate::loader::{ActiveMode, AttachMode, LoadError};
use crate::sys;

/// A loaded (not yet attached) XDP program and the maps the caller named.
#[derive(Debug)]
pub struct XdpObject {
    name: String,
    prog: OwnedFd,
    maps: Vec<(String, OwnedFd)>,
    ncpus: usize,
}

/// An attachment of an [`XdpObject`]'s program to one interface; closing (dropping) it detaches.
#[derive(Debug)]
pub struct XdpLink {
    link: OwnedFd,
    /// Interface name.
    pub ifname: String,
    /// Interface index.
    pub ifindex: u32,
    /// Mode the kernel reports.
    pub mode: ActiveMode,
    /// Kernel id of the attached program.
    pub prog_id: u32,
}

impl XdpLink {
    /// The bpf_link descriptor.
    pub fn link_fd(&self) -> BorrowedFd<'_> {
        self.link.as_fd()
    }
}

fn is_perm(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EPERM) | Some(libc::EACCES))
}

impl XdpObject {
    /// Opens the ELF `elf` (clang `-target bpf` output), loads program `prog_name` and finds
    /// the maps `map_names`. `obj_name` names the object in errors and in `bpftool`.
    pub fn load(
        elf: &[u8],
        obj_name: &str,
        prog_name: &str,
        map_names: &[&str],
    ) -> Result<Self, LoadError> {
        let _ = sys::take_log();
        let loaded = sys::load_object(elf, obj_name, prog_name, &[], None, map_names, &[])
            .map_err(|(stage, source)| {
                let log = sys::take_log();
                if is_perm(&source) {
                    LoadError::PermissionDenied {
                        op: "loading an XDP object (bpf syscall)",
                        source,
                    }
                } else {
                    LoadError::ObjectRejected {
                        object: obj_name.to_string(),
                        stage: stage.to_string(),
                        log,
                        source,
                    }
                }
            })?;
        let ncpus = sys::possible_cpus().map_err(|source| LoadError::Syscall {
            op: "reading /sys/devices/system/cpu/possible",
            source,
        })?;
        Ok(XdpObject {
            name: obj_name.to_string(),
            prog: loaded.prog,
            maps: map_names
                .iter()
                .map(|m| (*m).to_string())
                .zip(loaded.maps)
                .collect(),
            ncpus,
        })
    }

    /// Object name given at load.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The program descriptor.
    pub fn prog_fd(&self) -> BorrowedFd<'_> {
        self.prog.as_fd()
    }

    /// Descriptor of map `name` (one of the names given at load).
    pub fn map_fd(&self, name: &str) -> Option<BorrowedFd<'_>> {
        self.maps
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, fd)| fd.as_fd())
    }

    fn map(&self, name: &str) -> Result<BorrowedFd<'_>, LoadError> {
        self.map_fd(name).ok_or(LoadError::Syscall {
            op: "finding a map that was not named at load",
            source: io::Error::from_raw_os_error(libc::ENOENT),
        })
    }

    /// Writes `value` at `key` of map `name`; both must have exactly the map's sizes.
    pub fn map_update(&self, name: &str, key: &[u8], value: &[u8]) -> Result<(), LoadError> {
        sys::map_update_bytes(self.map(name)?, key, value).map_err(|source| LoadError::Syscall {
            op: "updating a map",
            source,
        })
    }

    /// Sum over CPUs of the `u64` at `key` of the per-CPU array `name`.
    pub fn percpu_sum_u64(&self, name: &str, key: u32) -> Result<u64, LoadError> {
        let mut per_cpu = vec![0u64; self.ncpus];
        sys::percpu_lookup_u64(self.map(name)?, key, &mut per_cpu).map_err(|source| {
            LoadError::Syscall {
                op: "reading a per-CPU map",
                source,
            }
        })?;
        Ok(per_cpu.iter().copied().fold(0, u64::wrapping_add))
    }

    /// Attaches the program to `ifname` (in the calling thread's network namespace) through a
    /// bpf_link. Several links may share one object.
    pub fn attach(&self, ifname: &str, mode: AttachMode) -> Result<XdpLink, LoadError> {
        let ifindex = sys::if_index(ifname).ok_or_else(|| LoadError::NoSuchInterface {
            ifname: ifname.to_string(),
        })?;
        let link =
            sys::xdp_link_create(self.prog.as_fd(), ifindex, mode.flags()).map_err(|source| {
                match source.raw_os_error() {
                    Some(libc::EPERM) | Some(libc::EACCES) => LoadError::PermissionDenied {
                        op: "attaching an XDP program (BPF_LINK_CREATE)",
                        source,
                    },
                    Some(libc::EBUSY) | Some(libc::EEXIST) => LoadError::AlreadyAttached {
                        ifname: ifname.to_string(),
                        prog_id: sys::xdp_query(ifindex).map(|q| q.prog_id).unwrap_or(0),
                    },
                    Some(libc::EOPNOTSUPP) if mode == AttachMode::Native => {
                        LoadError::NativeUnsupported {
                            ifname: ifname.to_string(),
                        }
                    }
                    _ => LoadError::Syscall {
                        op: "attaching an XDP program (BPF_LINK_CREATE)",
                        source,
                    },
                }
            })?;
        let q = sys::xdp_query(ifindex).unwrap_or_default();
        Ok(XdpLink {
            link,
            ifname: ifname.to_string(),
            ifindex,
            mode: ActiveMode::from_attach_mode(q.attach_mode),
            prog_id: q.prog_id,
        })
    }
}
