//! Panic-free big-endian field access used by the views and the `Repr` parsers.
//!
//! Readers return 0 for bytes outside the slice and writers ignore them: the views call them
//! only on ranges their `new_checked` has already validated, so the fallback never shows, but no
//! call can panic whatever the input.

pub(crate) fn u8_at(b: &[u8], off: usize) -> u8 {
    b.get(off).copied().unwrap_or(0)
}

pub(crate) fn arr<const N: usize>(b: &[u8], off: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(s) = off.checked_add(N).and_then(|end| b.get(off..end)) {
        out.copy_from_slice(s);
    }
    out
}

pub(crate) fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_be_bytes(arr(b, off))
}

pub(crate) fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_be_bytes(arr(b, off))
}

pub(crate) fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_be_bytes(arr(b, off))
}

pub(crate) fn i64_at(b: &[u8], off: usize) -> i64 {
    i64::from_be_bytes(arr(b, off))
}

/// Reads a 48-bit unsigned integer (UInteger48).
pub(crate) fn u48_at(b: &[u8], off: usize) -> u64 {
    let a: [u8; 6] = arr(b, off);
    let mut w = [0u8; 8];
    w[2..].copy_from_slice(&a);
    u64::from_be_bytes(w)
}

pub(crate) fn put(b: &mut [u8], off: usize, src: &[u8]) {
    if let Some(d) = off
        .checked_add(src.len())
        .and_then(|end| b.get_mut(off..end))
    {
        d.copy_from_slice(src);
    }
}

pub(crate) fn put_u8(b: &mut [u8], off: usize, v: u8) {
    if let Some(d) = b.get_mut(off) {
        *d = v;
    }
}

pub(crate) fn put_u16(b: &mut [u8], off: usize, v: u16) {
    put(b, off, &v.to_be_bytes());
}

pub(crate) fn put_u32(b: &mut [u8], off: usize, v: u32) {
    put(b, off, &v.to_be_bytes());
}
