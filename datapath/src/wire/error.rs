//! The one error type of the wire codec.
//!
//! Every rejection of a frame, a message or a TLV is a [`WireError`] variant that names the field
//! at fault. The type is small and `Copy` so that the fast path can count drops per
//! [`WireError::reason`] without allocating.

/// Why the codec rejected a frame, a PTP message or a TLV.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum WireError {
    /// The buffer ends before a field that must be present.
    #[error("truncated {what}: need {need} bytes, have {have}")]
    Truncated {
        what: &'static str,
        need: usize,
        have: usize,
    },
    /// The frame is not PTP: Ethernet type neither 0x88F7 nor IPv4/IPv6 (after one VLAN tag).
    #[error("not a PTP frame: ethertype {0:#06x}")]
    NotPtpEthertype(u16),
    /// An IP packet whose payload is not UDP (IPv6 extension headers are not supported).
    #[error("not a PTP frame: IP protocol/next header {0} is not UDP")]
    NotUdp(u8),
    /// A UDP datagram whose destination port is neither 319 (event) nor 320 (general).
    #[error("not a PTP frame: UDP destination port {0} is neither 319 nor 320")]
    WrongUdpPort(u16),
    /// IP version nibble does not match the ethertype.
    #[error("bad IP version {0} for the ethertype")]
    BadIpVersion(u8),
    /// IPv4 IHL below 5, or beyond the frame.
    #[error("bad IPv4 header length (IHL) {0}")]
    BadIpHeaderLength(u8),
    /// IPv4 total length / IPv6 payload length disagrees with the frame.
    #[error("bad IP length field {length}: frame holds {available} bytes")]
    BadIpLength { length: u16, available: usize },
    /// IPv4 fragment (MF set or fragment offset non-zero): PTP messages are never fragmented.
    #[error("IPv4 fragment (flags/offset {0:#06x}): PTP over UDP is never fragmented")]
    Ipv4Fragment(u16),
    /// UDP length below 8 or beyond the IP payload.
    #[error("bad UDP length field {length}: IP payload holds {available} bytes")]
    BadUdpLength { length: u16, available: usize },
    /// UDP checksum does not verify (only reported by the explicit check).
    #[error("bad UDP checksum {0:#06x}")]
    BadUdpChecksum(u16),
    /// IPv6 UDP with a zero checksum, which RFC 8200 forbids.
    #[error("UDP over IPv6 with zero checksum")]
    ZeroUdpChecksumIpv6,
    /// versionPTP is not 2.
    #[error("unsupported versionPTP {0} (only 2 is supported)")]
    UnsupportedVersion(u8),
    /// messageType is reserved (IEEE 1588-2019 13.3.2.2, Table 36).
    #[error("unknown messageType {0:#x}")]
    UnknownMessageType(u8),
    /// messageLength is shorter than the fixed part of the message or longer than the buffer.
    #[error("bad messageLength {length}: message needs at least {min}, buffer holds {available}")]
    BadMessageLength {
        length: u16,
        min: usize,
        available: usize,
    },
    /// A Timestamp's nanoseconds field is not below 10^9 (IEEE 1588-2019 5.3.3).
    #[error("{what} nanoseconds field {value} is not below 1000000000")]
    BadNanoseconds { what: &'static str, value: u32 },
    /// A TLV's lengthField runs past the end of the message.
    #[error("TLV type {tlv_type:#06x} lengthField {length} overruns the message ({remaining} bytes left)")]
    TlvOverrun {
        tlv_type: u16,
        length: u16,
        remaining: usize,
    },
    /// A TLV's lengthField does not fit its type's layout.
    #[error("TLV {what}: bad lengthField {length}")]
    BadTlvLength { what: &'static str, length: u16 },
    /// A management TLV's data length does not fit the management ID's layout.
    #[error("management TLV id {id:#06x}: data length {length} does not match its layout")]
    BadManagementLength { id: u16, length: usize },
    /// A PTPText's lengthField runs past its container.
    #[error("PTPText in {what} overruns its container")]
    BadPtpText { what: &'static str },
    /// Management actionField above 4 (IEEE 1588-2019 15.4.1.6, Table 57).
    #[error("bad management actionField {0}")]
    BadManagementAction(u8),
    /// Management message without its management (or error status) TLV.
    #[error("management message without a MANAGEMENT or MANAGEMENT_ERROR_STATUS TLV")]
    MissingManagementTlv,
    /// A value does not fit the wire field it is emitted into.
    #[error("{what} does not fit its wire field")]
    FieldOverflow { what: &'static str },
    /// correctionField addition overflowed 64 bits.
    #[error("correctionField addition overflows")]
    CorrectionOverflow,
    /// The output buffer is too small for the emitted bytes.
    #[error("output buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall { need: usize, have: usize },
}

impl WireError {
    /// A stable snake_case name for drop counters and metrics labels.
    pub fn reason(&self) -> &'static str {
        match self {
            WireError::Truncated { .. } => "truncated",
            WireError::NotPtpEthertype(_) => "not_ptp_ethertype",
            WireError::NotUdp(_) => "not_udp",
            WireError::WrongUdpPort(_) => "wrong_udp_port",
            WireError::BadIpVersion(_) => "bad_ip_version",
            WireError::BadIpHeaderLength(_) => "bad_ip_header_length",
            WireError::BadIpLength { .. } => "bad_ip_length",
            WireError::Ipv4Fragment(_) => "ipv4_fragment",
            WireError::BadUdpLength { .. } => "bad_udp_length",
            WireError::BadUdpChecksum(_) => "bad_udp_checksum",
            WireError::ZeroUdpChecksumIpv6 => "zero_udp_checksum_ipv6",
            WireError::UnsupportedVersion(_) => "unsupported_version",
            WireError::UnknownMessageType(_) => "unknown_message_type",
            WireError::BadMessageLength { .. } => "bad_message_length",
            WireError::BadNanoseconds { .. } => "bad_nanoseconds",
            WireError::TlvOverrun { .. } => "tlv_overrun",
            WireError::BadTlvLength { .. } => "bad_tlv_length",
            WireError::BadManagementLength { .. } => "bad_management_length",
            WireError::BadPtpText { .. } => "bad_ptp_text",
            WireError::BadManagementAction(_) => "bad_management_action",
            WireError::MissingManagementTlv => "missing_management_tlv",
            WireError::FieldOverflow { .. } => "field_overflow",
            WireError::CorrectionOverflow => "correction_overflow",
            WireError::BufferTooSmall { .. } => "buffer_too_small",
        }
    }

    /// True when the frame is simply not PTP (another ethertype, protocol or port), as opposed
    /// to a PTP frame that is malformed. Filters count these separately from malformed frames.
    pub fn is_not_ptp(&self) -> bool {
        matches!(
            self,
            WireError::NotPtpEthertype(_) | WireError::NotUdp(_) | WireError::WrongUdpPort(_)
        )
    }
}

/// Checks that `buf` holds at least `need` bytes for `what`.
pub(crate) fn need(buf: &[u8], need: usize, what: &'static str) -> Result<(), WireError> {
    if buf.len() < need {
        Err(WireError::Truncated {
            what,
            need,
            have: buf.len(),
        })
    } else {
        Ok(())
    }
}
