//! The MANAGEMENT TLV (IEEE 1588-2019 15.5.2) and MANAGEMENT_ERROR_STATUS TLV (15.5.4), with
//! typed data for the management IDs pmc uses most and linuxptp's `_NP` extensions.
//!
//! Data layouts follow IEEE 1588-2019 15.5.3 and, for the implementation-specific IDs
//! (0xC000–0xC00F), linuxptp's `tlv.h`. Data of any other ID is kept as raw octets. Reserved
//! octets are emitted as zero; odd-length data gets linuxptp's trailing pad octet.

use crate::wire::bytes::{arr, i64_at, u16_at, u32_at, u8_at};
use crate::wire::error::WireError;
use crate::wire::time::TimeInterval;
use crate::wire::types::{ClockIdentity, ClockQuality, PortIdentity};

use super::text::PtpText;

/// Management IDs (IEEE 1588-2019 15.5.2.3, Table 59, and linuxptp's implementation-specific
/// range).
pub mod id {
    pub const NULL_MANAGEMENT: u16 = 0x0000;
    pub const CLOCK_DESCRIPTION: u16 = 0x0001;
    pub const USER_DESCRIPTION: u16 = 0x0002;
    pub const DEFAULT_DATA_SET: u16 = 0x2000;
    pub const CURRENT_DATA_SET: u16 = 0x2001;
    pub const PARENT_DATA_SET: u16 = 0x2002;
    pub const TIME_PROPERTIES_DATA_SET: u16 = 0x2003;
    pub const PORT_DATA_SET: u16 = 0x2004;
    pub const PRIORITY1: u16 = 0x2005;
    pub const PRIORITY2: u16 = 0x2006;
    pub const DOMAIN: u16 = 0x2007;
    pub const SLAVE_ONLY: u16 = 0x2008;
    pub const LOG_ANNOUNCE_INTERVAL: u16 = 0x2009;
    pub const ANNOUNCE_RECEIPT_TIMEOUT: u16 = 0x200A;
    pub const LOG_SYNC_INTERVAL: u16 = 0x200B;
    pub const VERSION_NUMBER: u16 = 0x200C;
    pub const ENABLE_PORT: u16 = 0x200D;
    pub const DISABLE_PORT: u16 = 0x200E;
    pub const TIME: u16 = 0x200F;
    pub const CLOCK_ACCURACY: u16 = 0x2010;
    pub const DELAY_MECHANISM: u16 = 0x6000;
    pub const LOG_MIN_PDELAY_REQ_INTERVAL: u16 = 0x6001;
    /// linuxptp: TIME_STATUS_NP.
    pub const TIME_STATUS_NP: u16 = 0xC000;
    /// linuxptp: GRANDMASTER_SETTINGS_NP.
    pub const GRANDMASTER_SETTINGS_NP: u16 = 0xC001;
    /// linuxptp: PORT_DATA_SET_NP.
    pub const PORT_DATA_SET_NP: u16 = 0xC002;
    /// linuxptp: SUBSCRIBE_EVENTS_NP.
    pub const SUBSCRIBE_EVENTS_NP: u16 = 0xC003;
    /// linuxptp: PORT_PROPERTIES_NP.
    pub const PORT_PROPERTIES_NP: u16 = 0xC004;
    /// linuxptp: PORT_STATS_NP.
    pub const PORT_STATS_NP: u16 = 0xC005;
    /// linuxptp: SYNCHRONIZATION_UNCERTAIN_NP.
    pub const SYNCHRONIZATION_UNCERTAIN_NP: u16 = 0xC006;

    /// The pmc name of an ID, if this codec knows it.
    pub fn name(id: u16) -> Option<&'static str> {
        Some(match id {
            NULL_MANAGEMENT => "NULL_MANAGEMENT",
            CLOCK_DESCRIPTION => "CLOCK_DESCRIPTION",
            USER_DESCRIPTION => "USER_DESCRIPTION",
            DEFAULT_DATA_SET => "DEFAULT_DATA_SET",
            CURRENT_DATA_SET => "CURRENT_DATA_SET",
            PARENT_DATA_SET => "PARENT_DATA_SET",
            TIME_PROPERTIES_DATA_SET => "TIME_PROPERTIES_DATA_SET",
            PORT_DATA_SET => "PORT_DATA_SET",
            PRIORITY1 => "PRIORITY1",
            PRIORITY2 => "PRIORITY2",
            DOMAIN => "DOMAIN",
            SLAVE_ONLY => "SLAVE_ONLY",
            LOG_ANNOUNCE_INTERVAL => "LOG_ANNOUNCE_INTERVAL",
            ANNOUNCE_RECEIPT_TIMEOUT => "ANNOUNCE_RECEIPT_TIMEOUT",
            LOG_SYNC_INTERVAL => "LOG_SYNC_INTERVAL",
            VERSION_NUMBER => "VERSION_NUMBER",
            ENABLE_PORT => "ENABLE_PORT",
            DISABLE_PORT => "DISABLE_PORT",
            TIME => "TIME",
            CLOCK_ACCURACY => "CLOCK_ACCURACY",
            DELAY_MECHANISM => "DELAY_MECHANISM",
            LOG_MIN_PDELAY_REQ_INTERVAL => "LOG_MIN_PDELAY_REQ_INTERVAL",
            TIME_STATUS_NP => "TIME_STATUS_NP",
            GRANDMASTER_SETTINGS_NP => "GRANDMASTER_SETTINGS_NP",
            PORT_DATA_SET_NP => "PORT_DATA_SET_NP",
            SUBSCRIBE_EVENTS_NP => "SUBSCRIBE_EVENTS_NP",
            PORT_PROPERTIES_NP => "PORT_PROPERTIES_NP",
            PORT_STATS_NP => "PORT_STATS_NP",
            SYNCHRONIZATION_UNCERTAIN_NP => "SYNCHRONIZATION_UNCERTAIN_NP",
            _ => return None,
        })
    }
}

/// IEEE 1588-2019 15.5.3.3.1: DEFAULT_DATA_SET data (20 octets).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DefaultDataSet {
    pub two_step: bool,
    pub slave_only: bool,
    pub number_ports: u16,
    pub priority1: u8,
    pub clock_quality: ClockQuality,
    pub priority2: u8,
    pub clock_identity: ClockIdentity,
    pub domain_number: u8,
}

/// IEEE 1588-2019 15.5.3.4.1: CURRENT_DATA_SET data (18 octets).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CurrentDataSet {
    pub steps_removed: u16,
    pub offset_from_master: TimeInterval,
    pub mean_path_delay: TimeInterval,
}

/// IEEE 1588-2019 15.5.3.5.1: PARENT_DATA_SET data (32 octets).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ParentDataSet {
    pub parent_port_identity: PortIdentity,
    pub parent_stats: bool,
    pub observed_parent_offset_scaled_log_variance: u16,
    pub observed_parent_clock_phase_change_rate: i32,
    pub grandmaster_priority1: u8,
    pub grandmaster_clock_quality: ClockQuality,
    pub grandmaster_priority2: u8,
    pub grandmaster_identity: ClockIdentity,
}

/// IEEE 1588-2019 15.5.3.6.1: TIME_PROPERTIES_DATA_SET data (4 octets).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TimePropertiesDataSet {
    pub current_utc_offset: i16,
    pub leap61: bool,
    pub leap59: bool,
    pub current_utc_offset_valid: bool,
    pub ptp_timescale: bool,
    pub time_traceable: bool,
    pub frequency_traceable: bool,
    pub time_source: u8,
}

/// IEEE 1588-2019 15.5.3.7.1: PORT_DATA_SET data (26 octets).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PortDataSet {
    pub port_identity: PortIdentity,
    /// IEEE 1588-2019 8.2.15.3.1, Table 20 (1 INITIALIZING … 9 SLAVE).
    pub port_state: u8,
    pub log_min_delay_req_interval: i8,
    pub peer_mean_path_delay: TimeInterval,
    pub log_announce_interval: i8,
    pub announce_receipt_timeout: u8,
    pub log_sync_interval: i8,
    /// 1 E2E, 2 P2P, 0xFE disabled.
    pub delay_mechanism: u8,
    pub log_min_pdelay_req_interval: i8,
    /// versionNumber: low nibble versionPTP, high nibble minorVersionPTP.
    pub version_number: u8,
}

/// ScaledNs (linuxptp `Integer96`): 96-bit signed nanoseconds scaled by 2^16, kept as its three
/// wire words.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct ScaledNs {
    pub nanoseconds_msb: u16,
    pub nanoseconds_lsb: u64,
    pub fractional_nanoseconds: u16,
}

/// linuxptp TIME_STATUS_NP data (50 octets).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TimeStatusNp {
    /// Offset from master in ns.
    pub master_offset: i64,
    /// Ingress time of the last Sync in ns.
    pub ingress_time: i64,
    pub cumulative_scaled_rate_offset: i32,
    pub scaled_last_gm_phase_change: i32,
    pub gm_time_base_indicator: u16,
    pub last_gm_phase_change: ScaledNs,
    /// Non-zero when a grandmaster is present.
    pub gm_present: i32,
    pub gm_identity: ClockIdentity,
}

/// linuxptp PORT_PROPERTIES_NP data.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PortPropertiesNp {
    pub port_identity: PortIdentity,
    pub port_state: u8,
    /// linuxptp `enum timestamp_type`: 0 software, 1 hardware, 2 legacy hw, 3 onestep, 4 p2p1step.
    pub timestamping: u8,
    pub interface: PtpText,
}

/// linuxptp PORT_STATS_NP data (266 octets). The counters are little-endian on the wire,
/// exactly as linuxptp sends them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PortStatsNp {
    pub port_identity: PortIdentity,
    /// Received messages per messageType nibble.
    pub rx_msg_type: [u64; 16],
    /// Transmitted messages per messageType nibble.
    pub tx_msg_type: [u64; 16],
}

/// The data field of a MANAGEMENT TLV.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ManagementData {
    /// No data: GET requests and COMMANDs without arguments.
    Empty,
    DefaultDataSet(DefaultDataSet),
    CurrentDataSet(CurrentDataSet),
    ParentDataSet(ParentDataSet),
    TimePropertiesDataSet(TimePropertiesDataSet),
    PortDataSet(PortDataSet),
    Priority1(u8),
    Priority2(u8),
    Domain(u8),
    SlaveOnly(bool),
    TimeStatusNp(TimeStatusNp),
    PortPropertiesNp(PortPropertiesNp),
    /// Boxed: 266 octets of counters.
    PortStatsNp(Box<PortStatsNp>),
    /// 0 false, 1 true, 0xFF don't care.
    SynchronizationUncertainNp(u8),
    /// Any other ID: the data octets as received.
    Raw(Vec<u8>),
}

/// IEEE 1588-2019 15.5.2: the MANAGEMENT TLV value.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ManagementTlv {
    pub management_id: u16,
    pub data: ManagementData,
}

fn exact(id: u16, data: &[u8], len: usize) -> Result<(), WireError> {
    if data.len() != len {
        Err(WireError::BadManagementLength {
            id,
            length: data.len(),
        })
    } else {
        Ok(())
    }
}

fn quality(b: &[u8], off: usize) -> ClockQuality {
    let a: [u8; 4] = arr(b, off);
    ClockQuality {
        clock_class: a[0],
        clock_accuracy: a[1],
        offset_scaled_log_variance: u16::from_be_bytes([a[2], a[3]]),
    }
}

fn port_id(b: &[u8], off: usize) -> PortIdentity {
    PortIdentity::from_slice(&arr::<10>(b, off)).unwrap_or_default()
}

impl ManagementTlv {
    /// Parses the TLV value (managementId + data).
    pub fn parse(value: &[u8]) -> Result<Self, WireError> {
        if value.len() < 2 {
            return Err(WireError::BadTlvLength {
                what: "MANAGEMENT",
                length: value.len() as u16,
            });
        }
        let mid = u16_at(value, 0);
        let d = value.get(2..).unwrap_or(&[]);
        let data = if d.is_empty() {
            ManagementData::Empty
        } else {
            Self::parse_data(mid, d)?
        };
        Ok(ManagementTlv {
            management_id: mid,
            data,
        })
    }

    fn parse_data(mid: u16, d: &[u8]) -> Result<ManagementData, WireError> {
        Ok(match mid {
            id::DEFAULT_DATA_SET => {
                exact(mid, d, 20)?;
                let flags = u8_at(d, 0);
                ManagementData::DefaultDataSet(DefaultDataSet {
                    two_step: flags & 1 != 0,
                    slave_only: flags & 2 != 0,
                    number_ports: u16_at(d, 2),
                    priority1: u8_at(d, 4),
                    clock_quality: quality(d, 5),
                    priority2: u8_at(d, 9),
                    clock_identity: ClockIdentity(arr(d, 10)),
                    domain_number: u8_at(d, 18),
                })
            }
            id::CURRENT_DATA_SET => {
                exact(mid, d, 18)?;
                ManagementData::CurrentDataSet(CurrentDataSet {
                    steps_removed: u16_at(d, 0),
                    offset_from_master: TimeInterval(i64_at(d, 2)),
                    mean_path_delay: TimeInterval(i64_at(d, 10)),
                })
            }
            id::PARENT_DATA_SET => {
                exact(mid, d, 32)?;
                ManagementData::ParentDataSet(ParentDataSet {
                    parent_port_identity: port_id(d, 0),
                    parent_stats: u8_at(d, 10) & 1 != 0,
                    observed_parent_offset_scaled_log_variance: u16_at(d, 12),
                    observed_parent_clock_phase_change_rate: u32_at(d, 14) as i32,
                    grandmaster_priority1: u8_at(d, 18),
                    grandmaster_clock_quality: quality(d, 19),
                    grandmaster_priority2: u8_at(d, 23),
                    grandmaster_identity: ClockIdentity(arr(d, 24)),
                })
            }
            id::TIME_PROPERTIES_DATA_SET => {
                exact(mid, d, 4)?;
                let f = u8_at(d, 2);
                ManagementData::TimePropertiesDataSet(TimePropertiesDataSet {
                    current_utc_offset: u16_at(d, 0) as i16,
                    leap61: f & 0x01 != 0,
                    leap59: f & 0x02 != 0,
                    current_utc_offset_valid: f & 0x04 != 0,
                    ptp_timescale: f & 0x08 != 0,
                    time_traceable: f & 0x10 != 0,
                    frequency_traceable: f & 0x20 != 0,
                    time_source: u8_at(d, 3),
                })
            }
            id::PORT_DATA_SET => {
                exact(mid, d, 26)?;
                ManagementData::PortDataSet(PortDataSet {
                    port_identity: port_id(d, 0),
                    port_state: u8_at(d, 10),
                    log_min_delay_req_interval: u8_at(d, 11) as i8,
                    peer_mean_path_delay: TimeInterval(i64_at(d, 12)),
                    log_announce_interval: u8_at(d, 20) as i8,
                    announce_receipt_timeout: u8_at(d, 21),
                    log_sync_interval: u8_at(d, 22) as i8,
                    delay_mechanism: u8_at(d, 23),
                    log_min_pdelay_req_interval: u8_at(d, 24) as i8,
                    version_number: u8_at(d, 25),
                })
            }
            id::PRIORITY1 => {
                exact(mid, d, 2)?;
                ManagementData::Priority1(u8_at(d, 0))
            }
            id::PRIORITY2 => {
                exact(mid, d, 2)?;
                ManagementData::Priority2(u8_at(d, 0))
            }
            id::DOMAIN => {
                exact(mid, d, 2)?;
                ManagementData::Domain(u8_at(d, 0))
            }
            id::SLAVE_ONLY => {
                exact(mid, d, 2)?;
                ManagementData::SlaveOnly(u8_at(d, 0) & 1 != 0)
            }
            id::SYNCHRONIZATION_UNCERTAIN_NP => {
                exact(mid, d, 2)?;
                ManagementData::SynchronizationUncertainNp(u8_at(d, 0))
            }
            id::TIME_STATUS_NP => {
                exact(mid, d, 50)?;
                ManagementData::TimeStatusNp(TimeStatusNp {
                    master_offset: i64_at(d, 0),
                    ingress_time: i64_at(d, 8),
                    cumulative_scaled_rate_offset: u32_at(d, 16) as i32,
                    scaled_last_gm_phase_change: u32_at(d, 20) as i32,
                    gm_time_base_indicator: u16_at(d, 24),
                    last_gm_phase_change: ScaledNs {
                        nanoseconds_msb: u16_at(d, 26),
                        nanoseconds_lsb: crate::wire::bytes::u64_at(d, 28),
                        fractional_nanoseconds: u16_at(d, 36),
                    },
                    gm_present: u32_at(d, 38) as i32,
                    gm_identity: ClockIdentity(arr(d, 42)),
                })
            }
            id::PORT_PROPERTIES_NP => {
                let (interface, used) = PtpText::parse(d.get(12..).unwrap_or(&[]), "interface")?;
                let total = 12 + used;
                if d.len() != total + (total & 1) {
                    return Err(WireError::BadManagementLength {
                        id: mid,
                        length: d.len(),
                    });
                }
                ManagementData::PortPropertiesNp(PortPropertiesNp {
                    port_identity: port_id(d, 0),
                    port_state: u8_at(d, 10),
                    timestamping: u8_at(d, 11),
                    interface,
                })
            }
            id::PORT_STATS_NP => {
                exact(mid, d, 266)?;
                let mut rx = [0u64; 16];
                let mut tx = [0u64; 16];
                for (i, (r, t)) in rx.iter_mut().zip(tx.iter_mut()).enumerate() {
                    *r = u64::from_le_bytes(arr(d, 10 + 8 * i));
                    *t = u64::from_le_bytes(arr(d, 138 + 8 * i));
                }
                ManagementData::PortStatsNp(Box::new(PortStatsNp {
                    port_identity: port_id(d, 0),
                    rx_msg_type: rx,
                    tx_msg_type: tx,
                }))
            }
            _ => ManagementData::Raw(d.to_vec()),
        })
    }

    /// Appends managementId and data to `out`.
    pub fn emit_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.management_id.to_be_bytes());
        let start = out.len();
        match &self.data {
            ManagementData::Empty => {}
            ManagementData::DefaultDataSet(s) => {
                out.push(u8::from(s.two_step) | (u8::from(s.slave_only) << 1));
                out.push(0);
                out.extend_from_slice(&s.number_ports.to_be_bytes());
                out.push(s.priority1);
                out.extend_from_slice(&s.clock_quality.to_bytes());
                out.push(s.priority2);
                out.extend_from_slice(&s.clock_identity.0);
                out.push(s.domain_number);
                out.push(0);
            }
            ManagementData::CurrentDataSet(s) => {
                out.extend_from_slice(&s.steps_removed.to_be_bytes());
                out.extend_from_slice(&s.offset_from_master.0.to_be_bytes());
                out.extend_from_slice(&s.mean_path_delay.0.to_be_bytes());
            }
            ManagementData::ParentDataSet(s) => {
                out.extend_from_slice(&s.parent_port_identity.to_bytes());
                out.push(u8::from(s.parent_stats));
                out.push(0);
                out.extend_from_slice(&s.observed_parent_offset_scaled_log_variance.to_be_bytes());
                out.extend_from_slice(&s.observed_parent_clock_phase_change_rate.to_be_bytes());
                out.push(s.grandmaster_priority1);
                out.extend_from_slice(&s.grandmaster_clock_quality.to_bytes());
                out.push(s.grandmaster_priority2);
                out.extend_from_slice(&s.grandmaster_identity.0);
            }
            ManagementData::TimePropertiesDataSet(s) => {
                out.extend_from_slice(&s.current_utc_offset.to_be_bytes());
                let f = u8::from(s.leap61)
                    | (u8::from(s.leap59) << 1)
                    | (u8::from(s.current_utc_offset_valid) << 2)
                    | (u8::from(s.ptp_timescale) << 3)
                    | (u8::from(s.time_traceable) << 4)
                    | (u8::from(s.frequency_traceable) << 5);
                out.push(f);
                out.push(s.time_source);
            }
            ManagementData::PortDataSet(s) => {
                out.extend_from_slice(&s.port_identity.to_bytes());
                out.push(s.port_state);
                out.push(s.log_min_delay_req_interval as u8);
                out.extend_from_slice(&s.peer_mean_path_delay.0.to_be_bytes());
                out.push(s.log_announce_interval as u8);
                out.push(s.announce_receipt_timeout);
                out.push(s.log_sync_interval as u8);
                out.push(s.delay_mechanism);
                out.push(s.log_min_pdelay_req_interval as u8);
                out.push(s.version_number);
            }
            ManagementData::Priority1(v)
            | ManagementData::Priority2(v)
            | ManagementData::Domain(v)
            | ManagementData::SynchronizationUncertainNp(v) => out.extend_from_slice(&[*v, 0]),
            ManagementData::SlaveOnly(v) => out.extend_from_slice(&[u8::from(*v), 0]),
            ManagementData::TimeStatusNp(s) => {
                out.extend_from_slice(&s.master_offset.to_be_bytes());
                out.extend_from_slice(&s.ingress_time.to_be_bytes());
                out.extend_from_slice(&s.cumulative_scaled_rate_offset.to_be_bytes());
                out.extend_from_slice(&s.scaled_last_gm_phase_change.to_be_bytes());
                out.extend_from_slice(&s.gm_time_base_indicator.to_be_bytes());
                out.extend_from_slice(&s.last_gm_phase_change.nanoseconds_msb.to_be_bytes());
                out.extend_from_slice(&s.last_gm_phase_change.nanoseconds_lsb.to_be_bytes());
                out.extend_from_slice(&s.last_gm_phase_change.fractional_nanoseconds.to_be_bytes());
                out.extend_from_slice(&s.gm_present.to_be_bytes());
                out.extend_from_slice(&s.gm_identity.0);
            }
            ManagementData::PortPropertiesNp(s) => {
                out.extend_from_slice(&s.port_identity.to_bytes());
                out.push(s.port_state);
                out.push(s.timestamping);
                s.interface.emit(out);
            }
            ManagementData::PortStatsNp(s) => {
                out.extend_from_slice(&s.port_identity.to_bytes());
                for v in s.rx_msg_type.iter().chain(s.tx_msg_type.iter()) {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
            ManagementData::Raw(d) => out.extend_from_slice(d),
        }
        if !matches!(self.data, ManagementData::Raw(_)) && (out.len() - start) % 2 == 1 {
            out.push(0);
        }
    }
}

/// IEEE 1588-2019 15.5.4.1.4, Table 109: managementErrorId values.
pub mod error_id {
    pub const RESPONSE_TOO_BIG: u16 = 0x0001;
    pub const NO_SUCH_ID: u16 = 0x0002;
    pub const WRONG_LENGTH: u16 = 0x0003;
    pub const WRONG_VALUE: u16 = 0x0004;
    pub const NOT_SETABLE: u16 = 0x0005;
    pub const NOT_SUPPORTED: u16 = 0x0006;
    pub const GENERAL_ERROR: u16 = 0xFFFE;
}

/// IEEE 1588-2019 15.5.4: the MANAGEMENT_ERROR_STATUS TLV value.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ManagementErrorStatusTlv {
    pub management_error_id: u16,
    pub management_id: u16,
    /// Optional displayData.
    pub display_data: Option<PtpText>,
}

impl ManagementErrorStatusTlv {
    pub fn parse(value: &[u8]) -> Result<Self, WireError> {
        if value.len() < 8 {
            return Err(WireError::BadTlvLength {
                what: "MANAGEMENT_ERROR_STATUS",
                length: value.len() as u16,
            });
        }
        let display_data = match value.get(8..) {
            Some(rest) if !rest.is_empty() => {
                let (t, used) = PtpText::parse(rest, "displayData")?;
                if rest.len() != used + (used & 1) {
                    return Err(WireError::BadTlvLength {
                        what: "MANAGEMENT_ERROR_STATUS",
                        length: value.len() as u16,
                    });
                }
                Some(t)
            }
            _ => None,
        };
        Ok(ManagementErrorStatusTlv {
            management_error_id: u16_at(value, 0),
            management_id: u16_at(value, 2),
            display_data,
        })
    }

    pub fn emit_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.management_error_id.to_be_bytes());
        out.extend_from_slice(&self.management_id.to_be_bytes());
        out.extend_from_slice(&[0; 4]);
        if let Some(t) = &self.display_data {
            t.emit(out);
            if t.buffer_len() % 2 == 1 {
                out.push(0);
            }
        }
    }
}
