//! PTPText (IEEE 1588-2019 5.3.9): a one-octet length followed by that many UTF-8 octets.

use core::fmt;

use crate::wire::error::WireError;

/// IEEE 1588-2019 5.3.9: a length-prefixed text. The octets are kept as received (they may not
/// be valid UTF-8), so re-emission is exact.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct PtpText(Vec<u8>);

impl PtpText {
    /// Text of at most 255 octets; longer input is an error.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, WireError> {
        let v = bytes.into();
        if v.len() > 255 {
            return Err(WireError::FieldOverflow { what: "PTPText" });
        }
        Ok(PtpText(v))
    }

    /// The raw octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The text, with invalid UTF-8 replaced.
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }

    /// Wire length: the length octet plus the text.
    pub fn buffer_len(&self) -> usize {
        1 + self.0.len()
    }

    /// Parses a PTPText at the start of `buf`; returns it and the octets consumed.
    pub fn parse(buf: &[u8], what: &'static str) -> Result<(Self, usize), WireError> {
        let len = usize::from(*buf.first().ok_or(WireError::BadPtpText { what })?);
        let text = buf.get(1..1 + len).ok_or(WireError::BadPtpText { what })?;
        Ok((PtpText(text.to_vec()), 1 + len))
    }

    /// Appends the wire form to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.0.len() as u8);
        out.extend_from_slice(&self.0);
    }
}

impl fmt::Display for PtpText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

impl fmt::Debug for PtpText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PtpText({:?})", String::from_utf8_lossy(&self.0))
    }
}
