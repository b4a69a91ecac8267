//! The AF_PACKET transmit backend: one raw socket bound to the interface with
//! PACKET_QDISC_BYPASS, frames handed to the kernel in batches with one `sendmmsg(2)` each.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Largest frame the batch buffer holds.
pub const MAX_FRAME: usize = 128;

/// A raw TX socket and its batch buffer.
#[derive(Debug)]
pub struct PacketTx {
    fd: OwnedFd,
    buf: Vec<u8>,
    lens: Vec<usize>,
    batch: usize,
}

impl PacketTx {
    /// Opens a socket on `ifname` (in the calling thread's namespace) for batches of `batch`.
    pub fn open(ifname: &str, batch: usize) -> io::Result<Self> {
        let c = std::ffi::CString::new(ifname).map_err(io::Error::other)?;
        // SAFETY: `c` is NUL-terminated and outlives the call.
        let ifindex = unsafe { libc::if_nametoindex(c.as_ptr()) };
        if ifindex == 0 {
            return Err(io::Error::last_os_error());
        }
        // Protocol 0: this socket receives nothing.
        // SAFETY: plain socket(2).
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: sockaddr_ll is plain data; all-zero is valid.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: `sll` is a valid sockaddr_ll of the size passed.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        let one: libc::c_int = 1;
        // SAFETY: an int option of the stated size. Failure only costs speed.
        let _ = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_QDISC_BYPASS,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as u32,
            )
        };
        let batch = batch.max(1);
        Ok(PacketTx {
            fd,
            buf: vec![0; batch * MAX_FRAME],
            lens: Vec::with_capacity(batch),
            batch,
        })
    }

    /// Room left in the current batch.
    pub fn room(&self) -> usize {
        self.batch - self.lens.len()
    }

    /// The buffer of the next frame; commit it with [`PacketTx::push`].
    pub fn next_buf(&mut self) -> &mut [u8] {
        let i = self.lens.len();
        self.buf
            .get_mut(i * MAX_FRAME..(i + 1) * MAX_FRAME)
            .unwrap_or(&mut [])
    }

    /// Commits `len` octets written into [`PacketTx::next_buf`].
    pub fn push(&mut self, len: usize) {
        if self.lens.len() < self.batch && len > 0 {
            self.lens.push(len.min(MAX_FRAME));
        }
    }

    /// Sends the batch; returns how many frames the kernel took (the rest are dropped and
    /// counted by the caller as not sent).
    pub fn flush(&mut self) -> usize {
        let n = self.lens.len();
        if n == 0 {
            return 0;
        }
        let mut iov: Vec<libc::iovec> = Vec::with_capacity(n);
        for (i, &l) in self.lens.iter().enumerate() {
            iov.push(libc::iovec {
                // SAFETY: in bounds of `buf` (i < batch).
                iov_base: unsafe { self.buf.as_mut_ptr().add(i * MAX_FRAME) }.cast(),
                iov_len: l,
            });
        }
        // SAFETY: mmsghdr is plain data; all-zero is valid.
        let mut msgs: Vec<libc::mmsghdr> = (0..n).map(|_| unsafe { std::mem::zeroed() }).collect();
        for (m, v) in msgs.iter_mut().zip(iov.iter_mut()) {
            m.msg_hdr.msg_iov = v;
            m.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: `msgs` holds `n` headers each pointing at one live iovec into `buf`.
        let rc = unsafe { libc::sendmmsg(self.fd.as_raw_fd(), msgs.as_mut_ptr(), n as u32, 0) };
        self.lens.clear();
        if rc < 0 {
            0
        } else {
            rc as usize
        }
    }
}
