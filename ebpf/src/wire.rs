//! User space's read-only view of the veth wire-stamp table of `xptp.bpf.c` (`xptp_wire`, an
//! mmap-able array): the time the `net_dev_start_xmit` hook saw an event message leave a veth.
//!
//! The RX side already gets that time from the XDP program (`META_F_WIRE`). This view serves
//! the TX side: after one of our own event messages leaves a veth, its slot holds the hook's
//! time for it, taken at the same point as the ingress stamps of the frames we receive. Using
//! it as the TX timestamp makes every veth residence, turnaround and path measurement
//! hook-to-hook, so whatever lies between the hook and the driver's own software TX stamp
//! cancels out.
//!
//! The slot layout and hash mirror the C (`struct wire_slot`, `wire_slot_of`); unit tests pin
//! the key layout, the netns tests the agreement with the kernel's copy (user space finds the
//! entry the kernel wrote for a frame it sent).

use std::{
    io,
    os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd},
    ptr::NonNull,
};

/// `struct wire_key` as bytes (see [`key_of`]).
pub type WireKey = [u8; 16];

/// `WIRE_SLOTS` in `xptp.bpf.c`.
pub const WIRE_SLOTS: usize = 4096;
/// `sizeof(struct wire_slot)`: a 16-byte key and the 8-byte CLOCK_TAI time.
pub const SLOT_LEN: usize = 24;
/// Length of the PTP common header the key is read from (IEEE 1588-2019 13.3.1).
const PTP_HEADER_LEN: usize = 34;

/// `struct wire_key` as bytes: sourcePortIdentity (10), sequenceId (2, wire order),
/// messageType, domainNumber, 2 zero bytes. `None` for a short header or a general message
/// (only event messages, types 0-3, are stamped).
pub fn key_of(ptp_header: &[u8]) -> Option<WireKey> {
    let h = ptp_header.get(..PTP_HEADER_LEN)?;
    let msg_type = h[0] & 0x0f;
    if msg_type > 3 {
        return None;
    }
    let mut k = [0u8; 16];
    k[..10].copy_from_slice(&h[20..30]);
    k[10..12].copy_from_slice(&h[30..32]);
    k[12] = msg_type;
    k[13] = h[4];
    Some(k)
}

/// `wire_slot_of` of the C: the slot a key lives in.
pub fn slot_of(key: &WireKey) -> usize {
    let seq = u32::from(u16::from_ne_bytes([key[10], key[11]]));
    let mut h = (seq << 8) ^ u32::from(key[12]) ^ (u32::from(key[13]) << 4);
    for &b in &key[..10] {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h ^= h >> 15;
    h as usize & (WIRE_SLOTS - 1)
}

/// The mapped table. Reads race with the kernel's writes by design; [`WireTable::lookup`]
/// only accepts a slot whose time did not change while its key was read.
#[derive(Debug)]
pub struct WireTable {
    base: NonNull<u8>,
    len: usize,
    // Keeps the map alive as long as the mapping (the mapping holds its own reference too).
    map: OwnedFd,
}

// SAFETY: the mapping is read-only shared memory; every access is a volatile read of plain
// integers, valid from any thread.
unsafe impl Send for WireTable {}
// SAFETY: as above: no interior state beyond the kernel-written bytes.
unsafe impl Sync for WireTable {}

impl WireTable {
    /// Maps the `xptp_wire` array read-only.
    pub(crate) fn map(map: OwnedFd) -> io::Result<Self> {
        let len = WIRE_SLOTS * SLOT_LEN;
        // SAFETY: mmap of a BPF_F_MMAPABLE array map fd; the kernel checks size and flags. The
        // result is checked against MAP_FAILED before use.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                map.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base =
            NonNull::new(p.cast::<u8>()).ok_or_else(|| io::Error::other("mmap gave null"))?;
        Ok(WireTable { base, len, map })
    }

    /// The table's map descriptor (to load another program with the same table).
    pub(crate) fn map_fd(&self) -> BorrowedFd<'_> {
        self.map.as_fd()
    }

    /// The hook's CLOCK_TAI time for the event message with `key`, if its slot still holds it.
    pub fn lookup(&self, key: &WireKey) -> Option<u64> {
        let off = slot_of(key) * SLOT_LEN;
        debug_assert!(off + SLOT_LEN <= self.len);
        // SAFETY: `off + SLOT_LEN <= len` (slot_of < WIRE_SLOTS); the mapping is live for
        // `self`'s lifetime; the slot is 8-byte aligned (24-byte slots from a page boundary).
        unsafe {
            let slot = self.base.as_ptr().add(off);
            let tai_p = slot.add(16).cast::<u64>();
            let t1 = std::ptr::read_volatile(tai_p);
            if t1 == 0 {
                return None;
            }
            let k0 = std::ptr::read_volatile(slot.cast::<[u8; 8]>());
            let k1 = std::ptr::read_volatile(slot.add(8).cast::<[u8; 8]>());
            let t2 = std::ptr::read_volatile(tai_p);
            (t1 == t2 && k0 == key[..8] && k1 == key[8..]).then_some(t1)
        }
    }
}

impl Drop for WireTable {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` are exactly what mmap returned; unmapped once.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(msg_type: u8, domain: u8, seq: u16, spi_last: u8) -> [u8; 34] {
        let mut h = [0u8; 34];
        h[0] = msg_type;
        h[1] = 2;
        h[4] = domain;
        h[20..30].copy_from_slice(&[0, 0x1b, 0x19, 0xff, 0xfe, 0, 0, spi_last, 0, 1]);
        h[30..32].copy_from_slice(&seq.to_be_bytes());
        h
    }

    #[test]
    fn only_event_messages_have_a_key() {
        assert!(key_of(&header(0, 0, 1, 1)).is_some()); // Sync
        assert!(key_of(&header(3, 0, 1, 1)).is_some()); // Pdelay_Resp
        assert!(key_of(&header(8, 0, 1, 1)).is_none()); // Follow_Up
        assert!(key_of(&header(0xb, 0, 1, 1)).is_none()); // Announce
        assert!(key_of(&[0u8; 33]).is_none());
    }

    #[test]
    fn key_layout_is_the_c_struct() {
        let k = key_of(&header(1, 24, 0x1234, 7)).unwrap();
        assert_eq!(&k[..10], &[0, 0x1b, 0x19, 0xff, 0xfe, 0, 0, 7, 0, 1]);
        assert_eq!(&k[10..12], &[0x12, 0x34], "sequenceId stays in wire order");
        assert_eq!((k[12], k[13], k[14], k[15]), (1, 24, 0, 0));
    }

    #[test]
    fn slots_spread_and_stay_in_range() {
        let mut seen = std::collections::HashSet::new();
        for seq in 0..1000u16 {
            let s = slot_of(&key_of(&header(0, 0, seq, 1)).unwrap());
            assert!(s < WIRE_SLOTS);
            seen.insert(s);
        }
        // Consecutive sequenceIds of one sender must not pile onto a few slots.
        assert!(seen.len() > 900, "{} distinct slots", seen.len());
        let a = slot_of(&key_of(&header(0, 0, 5, 1)).unwrap());
        let b = slot_of(&key_of(&header(1, 0, 5, 1)).unwrap());
        assert_ne!(a, b, "Sync and Delay_Req of one sequenceId share a slot");
    }
}
