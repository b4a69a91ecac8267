//! The management core: one request message in, response messages and at most one command out
//! (IEEE 1588-2019 15.3, 15.4, 15.5).

use xptp_datapath::wire::tlv::management::{
    error_id, id, CurrentDataSet, DefaultDataSet, ManagementData, ManagementErrorStatusTlv,
    ManagementTlv, ParentDataSet, PortDataSet, PortPropertiesNp, PortStatsNp,
    TimePropertiesDataSet, TimeStatusNp,
};
use xptp_datapath::wire::tlv::{tlv_type, PtpText};
use xptp_datapath::wire::{
    Body, ClockIdentity, HeaderRepr, ManagementAction, ManagementBody, Message, MessageRepr,
    MessageType, PortIdentity, TimeInterval, TlvIter, TlvRepr, WireError,
};

use super::{ManagementCommand, ManagementView, PortView, SyncUncertain};

/// Management IDs of IEEE 1588-2019 Table 59 that the codec has no constant for. Only their
/// scope matters here (they are all answered NOT_SUPPORTED).
mod more_id {
    pub const SAVE_IN_NON_VOLATILE_STORAGE: u16 = 0x0003;
    pub const RESET_NON_VOLATILE_STORAGE: u16 = 0x0004;
    pub const INITIALIZE: u16 = 0x0005;
    pub const FAULT_LOG: u16 = 0x0006;
    pub const FAULT_LOG_RESET: u16 = 0x0007;
    pub const UTC_PROPERTIES: u16 = 0x2011;
    pub const TRACEABILITY_PROPERTIES: u16 = 0x2012;
    pub const TIMESCALE_PROPERTIES: u16 = 0x2013;
    pub const UNICAST_NEGOTIATION_ENABLE: u16 = 0x2014;
    pub const PATH_TRACE_LIST: u16 = 0x2015;
    pub const PATH_TRACE_ENABLE: u16 = 0x2016;
    pub const GRANDMASTER_CLUSTER_TABLE: u16 = 0x2017;
    pub const UNICAST_MASTER_TABLE: u16 = 0x2018;
    pub const UNICAST_MASTER_MAX_TABLE_SIZE: u16 = 0x2019;
    pub const ACCEPTABLE_MASTER_TABLE: u16 = 0x201A;
    pub const ACCEPTABLE_MASTER_TABLE_ENABLED: u16 = 0x201B;
    pub const ACCEPTABLE_MASTER_MAX_TABLE_SIZE: u16 = 0x201C;
    pub const ALTERNATE_MASTER: u16 = 0x201D;
    pub const ALTERNATE_TIME_OFFSET_ENABLE: u16 = 0x201E;
    pub const ALTERNATE_TIME_OFFSET_NAME: u16 = 0x201F;
    pub const ALTERNATE_TIME_OFFSET_MAX_KEY: u16 = 0x2020;
    pub const ALTERNATE_TIME_OFFSET_PROPERTIES: u16 = 0x2021;
    pub const TRANSPARENT_CLOCK_DEFAULT_DATA_SET: u16 = 0x4000;
    pub const TRANSPARENT_CLOCK_PORT_DATA_SET: u16 = 0x4001;
    pub const PRIMARY_DOMAIN: u16 = 0x4002;
}

/// Where a request came from, which decides what it may do.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Access {
    /// The read-write UNIX socket (`uds_address`): GET, SET and COMMAND.
    UdsReadWrite,
    /// The read-only UNIX socket (`uds_ro_address`): GET only; SET and COMMAND are answered
    /// NOT_SETABLE.
    UdsReadOnly,
    /// A PTP port (management over the network): GET only; SET and COMMAND are answered
    /// NOT_SUPPORTED as ptp4l does. Clock-scoped answers come from this port's identity.
    Network { port_number: u16 },
}

/// Why a message got no answer at all (each a counter in the servers).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ignored {
    /// Not a well-formed PTP message.
    Malformed(WireError),
    /// A PTP message of another type.
    NotManagement,
    /// domainNumber differs from defaultDS.domainNumber (ptp4l ignores these too).
    WrongDomain { domain: u8 },
    /// targetPortIdentity.clockIdentity is neither ours nor the all-ones wildcard.
    NotForThisClock,
    /// actionField RESPONSE or ACKNOWLEDGE: an answer, not a request.
    NotARequest,
    /// The suffix is not exactly one MANAGEMENT TLV (a MANAGEMENT_ERROR_STATUS, none, or more
    /// than one; ptp4l ignores these too).
    NotOneManagementTlv,
}

impl Ignored {
    /// A stable counter name.
    pub const fn reason(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::NotManagement => "not_management",
            Self::WrongDomain { .. } => "wrong_domain",
            Self::NotForThisClock => "not_for_this_clock",
            Self::NotARequest => "not_a_request",
            Self::NotOneManagementTlv => "not_one_management_tlv",
        }
    }
}

/// What [`handle_management`] produced.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ManagementOutcome {
    /// Complete PTP messages (RESPONSE, ACKNOWLEDGE or MANAGEMENT_ERROR_STATUS), in the order
    /// to send them, all to the requester.
    pub responses: Vec<Vec<u8>>,
    /// The change a successful SET asked for; the daemon applies it.
    pub command: Option<ManagementCommand>,
    /// Set when the message got no answer, saying why.
    pub ignored: Option<Ignored>,
    /// Set when a SET or COMMAND was refused because of where it came from (the read-only
    /// socket or the network); it was answered with an error status.
    pub refused: bool,
}

impl ManagementOutcome {
    fn ignored(why: Ignored) -> Self {
        ManagementOutcome {
            ignored: Some(why),
            ..Default::default()
        }
    }
}

/// Which entity answers an ID (linuxptp's split between `clock_manage` and `port_manage`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scope {
    Clock,
    Port,
    Unknown,
}

fn scope(mid: u16) -> Scope {
    use more_id::*;
    match mid {
        id::USER_DESCRIPTION
        | SAVE_IN_NON_VOLATILE_STORAGE
        | RESET_NON_VOLATILE_STORAGE
        | INITIALIZE
        | FAULT_LOG
        | FAULT_LOG_RESET
        | id::DEFAULT_DATA_SET
        | id::CURRENT_DATA_SET
        | id::PARENT_DATA_SET
        | id::TIME_PROPERTIES_DATA_SET
        | id::PRIORITY1
        | id::PRIORITY2
        | id::DOMAIN
        | id::SLAVE_ONLY
        | id::TIME
        | id::CLOCK_ACCURACY
        | UTC_PROPERTIES
        | TRACEABILITY_PROPERTIES
        | TIMESCALE_PROPERTIES
        | PATH_TRACE_LIST
        | PATH_TRACE_ENABLE
        | GRANDMASTER_CLUSTER_TABLE
        | ACCEPTABLE_MASTER_TABLE
        | ACCEPTABLE_MASTER_MAX_TABLE_SIZE
        | ALTERNATE_TIME_OFFSET_ENABLE
        | ALTERNATE_TIME_OFFSET_NAME
        | ALTERNATE_TIME_OFFSET_MAX_KEY
        | ALTERNATE_TIME_OFFSET_PROPERTIES
        | TRANSPARENT_CLOCK_DEFAULT_DATA_SET
        | PRIMARY_DOMAIN
        | id::TIME_STATUS_NP
        | id::GRANDMASTER_SETTINGS_NP
        | id::SUBSCRIBE_EVENTS_NP
        | id::SYNCHRONIZATION_UNCERTAIN_NP => Scope::Clock,
        id::NULL_MANAGEMENT
        | id::CLOCK_DESCRIPTION
        | id::PORT_DATA_SET
        | id::LOG_ANNOUNCE_INTERVAL
        | id::ANNOUNCE_RECEIPT_TIMEOUT
        | id::LOG_SYNC_INTERVAL
        | id::VERSION_NUMBER
        | id::ENABLE_PORT
        | id::DISABLE_PORT
        | UNICAST_NEGOTIATION_ENABLE
        | UNICAST_MASTER_TABLE
        | UNICAST_MASTER_MAX_TABLE_SIZE
        | ACCEPTABLE_MASTER_TABLE_ENABLED
        | ALTERNATE_MASTER
        | TRANSPARENT_CLOCK_PORT_DATA_SET
        | id::DELAY_MECHANISM
        | id::LOG_MIN_PDELAY_REQ_INTERVAL
        | id::PORT_DATA_SET_NP
        | id::PORT_PROPERTIES_NP
        | id::PORT_STATS_NP => Scope::Port,
        _ => Scope::Unknown,
    }
}

/// IDs whose data Table 59 (or linuxptp, for the `_NP` IDs) lets a SET change. A SET of any
/// other known ID is answered NOT_SETABLE; a settable ID xptp does not implement, NOT_SUPPORTED.
fn settable_by_standard(mid: u16) -> bool {
    use more_id::*;
    matches!(
        mid,
        id::NULL_MANAGEMENT
            | id::USER_DESCRIPTION
            | id::PRIORITY1
            | id::PRIORITY2
            | id::DOMAIN
            | id::SLAVE_ONLY
            | id::LOG_ANNOUNCE_INTERVAL
            | id::ANNOUNCE_RECEIPT_TIMEOUT
            | id::LOG_SYNC_INTERVAL
            | id::TIME
            | id::CLOCK_ACCURACY
            | UTC_PROPERTIES
            | TRACEABILITY_PROPERTIES
            | TIMESCALE_PROPERTIES
            | UNICAST_NEGOTIATION_ENABLE
            | PATH_TRACE_ENABLE
            | GRANDMASTER_CLUSTER_TABLE
            | UNICAST_MASTER_TABLE
            | ACCEPTABLE_MASTER_TABLE
            | ACCEPTABLE_MASTER_TABLE_ENABLED
            | ALTERNATE_MASTER
            | ALTERNATE_TIME_OFFSET_ENABLE
            | ALTERNATE_TIME_OFFSET_NAME
            | ALTERNATE_TIME_OFFSET_PROPERTIES
            | PRIMARY_DOMAIN
            | id::DELAY_MECHANISM
            | id::LOG_MIN_PDELAY_REQ_INTERVAL
            | id::GRANDMASTER_SETTINGS_NP
            | id::PORT_DATA_SET_NP
            | id::SUBSCRIBE_EVENTS_NP
            | id::SYNCHRONIZATION_UNCERTAIN_NP
    )
}

/// The request fields the answer depends on.
struct Request<'a> {
    major_sdo_id: u8,
    minor_version: u8,
    sequence_id: u16,
    domain: u8,
    source: PortIdentity,
    target: PortIdentity,
    starting_boundary_hops: u8,
    boundary_hops: u8,
    action: ManagementAction,
    management_id: u16,
    /// The MANAGEMENT TLV value (managementId + data).
    value: &'a [u8],
    /// The data octets after managementId.
    data: &'a [u8],
}

/// Builds the answers of one request.
struct Responder<'a> {
    req: Request<'a>,
    domain: u8,
    /// Who answers clock-scoped IDs and clock-level errors.
    clock_responder: PortIdentity,
    out: ManagementOutcome,
}

impl Responder<'_> {
    fn send(&mut self, from: PortIdentity, tlv: TlvRepr) {
        let hops = self
            .req
            .starting_boundary_hops
            .wrapping_sub(self.req.boundary_hops);
        let action = match self.req.action {
            ManagementAction::Command => ManagementAction::Acknowledge,
            _ => ManagementAction::Response,
        };
        let header = HeaderRepr {
            major_sdo_id: self.req.major_sdo_id,
            minor_version: self.req.minor_version,
            domain_number: self.domain,
            source_port_identity: from,
            sequence_id: self.req.sequence_id,
            log_message_interval: 0x7f,
            ..HeaderRepr::default()
        };
        let body = Body::Management(ManagementBody {
            target_port_identity: self.req.source,
            starting_boundary_hops: hops,
            boundary_hops: hops,
            action,
        });
        let msg = MessageRepr {
            header,
            body,
            tlvs: vec![tlv],
        };
        match msg.to_vec() {
            Ok(v) => self.out.responses.push(v),
            Err(e) => tracing::warn!(error = %e, "management: could not emit a response"),
        }
    }

    fn data(&mut self, from: PortIdentity, data: ManagementData) {
        let tlv = TlvRepr::Management(ManagementTlv {
            management_id: self.req.management_id,
            data,
        });
        self.send(from, tlv);
    }

    fn error_with(&mut self, from: PortIdentity, error: u16, text: Option<&str>) {
        let tlv = TlvRepr::ManagementErrorStatus(ManagementErrorStatusTlv {
            management_error_id: error,
            management_id: self.req.management_id,
            display_data: text.and_then(|t| PtpText::new(t.as_bytes().to_vec()).ok()),
        });
        self.send(from, tlv);
    }

    fn error(&mut self, from: PortIdentity, error: u16) {
        self.error_with(from, error, None);
    }

    fn clock_error(&mut self, error: u16) {
        self.error(self.clock_responder, error);
    }
}

fn parse_request(buf: &[u8]) -> Result<Request<'_>, Ignored> {
    let msg = Message::new_checked(buf).map_err(Ignored::Malformed)?;
    if msg.message_type() != MessageType::Management {
        return Err(Ignored::NotManagement);
    }
    // new_checked guarantees messageLength >= 48 and within `buf`.
    let bytes = buf.get(..usize::from(msg.message_length())).unwrap_or(buf);
    let (header, _, _) = HeaderRepr::parse(bytes).map_err(Ignored::Malformed)?;
    let at = |i: usize| bytes.get(i).copied().unwrap_or(0);
    let action = ManagementAction::from_u8(at(46) & 0x0f).map_err(Ignored::Malformed)?;
    let suffix = bytes
        .get(MessageType::Management.fixed_len()..)
        .unwrap_or(&[]);
    let mut tlvs = TlvIter::new(suffix);
    let first = match tlvs.next() {
        Some(Ok(t)) => t,
        Some(Err(e)) => return Err(Ignored::Malformed(e)),
        None => return Err(Ignored::NotOneManagementTlv),
    };
    if tlvs.next().is_some() || first.tlv_type != tlv_type::MANAGEMENT {
        return Err(Ignored::NotOneManagementTlv);
    }
    let value = first.value;
    let (Some(mid), Some(data)) = (value.get(..2), value.get(2..)) else {
        return Err(Ignored::Malformed(WireError::BadTlvLength {
            what: "MANAGEMENT",
            length: value.len() as u16,
        }));
    };
    Ok(Request {
        major_sdo_id: header.major_sdo_id,
        minor_version: header.minor_version,
        sequence_id: header.sequence_id,
        source: header.source_port_identity,
        target: msg.target_port_identity().unwrap_or_default(),
        domain: header.domain_number,
        starting_boundary_hops: at(44),
        boundary_hops: at(45),
        action,
        management_id: u16::from_be_bytes([mid[0], mid[1]]),
        value,
        data,
    })
}

/// Answers one management message (`request`: the PTP message octets, trailing padding
/// allowed) from `view`, as the PTP Instance would (IEEE 1588-2019 15.3).
///
/// * The message is ignored (no answer, [`ManagementOutcome::ignored`] says why) unless it is a
///   well-formed GET, SET or COMMAND in our domain carrying exactly one MANAGEMENT TLV and
///   targetPortIdentity.clockIdentity is ours or all ones.
/// * Clock-scoped IDs (data sets, PRIORITY1/2, TIME_STATUS_NP, ...) get one answer whatever
///   the target port number. Port-scoped IDs (PORT_DATA_SET, PORT_PROPERTIES_NP, ...) get one
///   answer per addressed port (port number 0xFFFF addresses all), and WRONG_VALUE when no port
///   has the number (IEEE 1588 interpretation 21, as ptp4l).
/// * GET ignores the request's data (pmc sends zeros of the data set's size; `pmc -z` none).
/// * SET without data: WRONG_LENGTH; SET data of the wrong size: WRONG_LENGTH; a value out of
///   range: WRONG_VALUE. A successful SET is answered with the new value and returns the
///   [`ManagementCommand`]. SET of a GET-only ID: NOT_SETABLE (ptp4l says NOT_SUPPORTED); SET of
///   a settable ID xptp does not implement: NOT_SUPPORTED.
/// * COMMAND NULL_MANAGEMENT is ACKNOWLEDGEd per addressed port; other commands NOT_SUPPORTED.
/// * An ID outside Table 59 and linuxptp's set: NO_SUCH_ID.
/// * On [`Access::UdsReadOnly`] SET and COMMAND get NOT_SETABLE with the display text
///   "read-only management socket"; on [`Access::Network`] NOT_SUPPORTED (ptp4l accepts SET
///   only on its UNIX socket). PORT_PROPERTIES_NP is not answered over the network (ptp4l).
///
/// Responses copy majorSdoId and minorVersionPTP from the request (pmc 3.1.1 accepts only its
/// own version octet), target the requester's sourcePortIdentity, and carry
/// startingBoundaryHops = boundaryHops = the request's startingBoundaryHops − boundaryHops
/// (15.4.1.4). Clock-scoped answers come from (clockIdentity, 0) on a UNIX socket, like ptp4l's
/// UDS port, and from the ingress port over the network; port-scoped answers from each port.
pub fn handle_management(
    request: &[u8],
    view: &dyn ManagementView,
    access: Access,
) -> ManagementOutcome {
    let req = match parse_request(request) {
        Ok(r) => r,
        Err(why) => return ManagementOutcome::ignored(why),
    };
    let dds = view.default_ds();
    let domain = req.domain;
    if domain != dds.domain_number {
        return ManagementOutcome::ignored(Ignored::WrongDomain { domain });
    }
    let target_clock = req.target.clock_identity;
    if target_clock != ClockIdentity::ALL && target_clock != dds.clock_identity {
        return ManagementOutcome::ignored(Ignored::NotForThisClock);
    }
    if matches!(
        req.action,
        ManagementAction::Response | ManagementAction::Acknowledge
    ) {
        return ManagementOutcome::ignored(Ignored::NotARequest);
    }
    let clock_responder = match access {
        Access::Network { port_number } => PortIdentity::new(dds.clock_identity, port_number),
        Access::UdsReadWrite | Access::UdsReadOnly => super::uds_responder(dds.clock_identity),
    };
    let mut r = Responder {
        req,
        domain: dds.domain_number,
        clock_responder,
        out: ManagementOutcome::default(),
    };
    match r.req.action {
        ManagementAction::Get => get(&mut r, view, access),
        ManagementAction::Set => set(&mut r, view, access),
        ManagementAction::Command => command(&mut r, view, access),
        ManagementAction::Response | ManagementAction::Acknowledge => {}
    }
    r.out
}

/// The ports a port-scoped request addresses.
fn addressed(req: &Request<'_>, view: &dyn ManagementView) -> Vec<PortView> {
    let n = req.target.port_number;
    view.ports()
        .into_iter()
        .filter(|p| n == 0xFFFF || p.ds.port_identity.port_number == n)
        .collect()
}

/// Refuses SET/COMMAND where the access does not allow them; true when refused.
fn refuse_write(r: &mut Responder<'_>, access: Access) -> bool {
    match access {
        Access::UdsReadWrite => return false,
        Access::UdsReadOnly => {
            r.error_with(
                r.clock_responder,
                error_id::NOT_SETABLE,
                Some("read-only management socket"),
            );
        }
        Access::Network { .. } => r.clock_error(error_id::NOT_SUPPORTED),
    }
    r.out.refused = true;
    true
}

fn get(r: &mut Responder<'_>, view: &dyn ManagementView, access: Access) {
    let mid = r.req.management_id;
    match scope(mid) {
        Scope::Clock => match clock_data(mid, view) {
            Some(d) => r.data(r.clock_responder, d),
            None => r.clock_error(error_id::NOT_SUPPORTED),
        },
        Scope::Port => {
            if mid == id::PORT_PROPERTIES_NP && matches!(access, Access::Network { .. }) {
                r.clock_error(error_id::NOT_SUPPORTED);
                return;
            }
            let ports = addressed(&r.req, view);
            if ports.is_empty() {
                r.clock_error(error_id::WRONG_VALUE);
            }
            for p in ports {
                let from = p.ds.port_identity;
                match port_data(mid, &p) {
                    Some(d) => r.data(from, d),
                    None => r.error(from, error_id::NOT_SUPPORTED),
                }
            }
        }
        Scope::Unknown => unknown_id(r, view),
    }
}

/// ptp4l hands an unknown ID to its ports; the first addressed port answers NO_SUCH_ID (and
/// with no addressed port the clock answers WRONG_VALUE).
fn unknown_id(r: &mut Responder<'_>, view: &dyn ManagementView) {
    match addressed(&r.req, view).first() {
        Some(p) => r.error(p.ds.port_identity, error_id::NO_SUCH_ID),
        None => r.clock_error(error_id::WRONG_VALUE),
    }
}

fn set(r: &mut Responder<'_>, view: &dyn ManagementView, access: Access) {
    let mid = r.req.management_id;
    if r.req.data.is_empty() && mid != id::NULL_MANAGEMENT {
        r.clock_error(error_id::WRONG_LENGTH);
        return;
    }
    if refuse_write(r, access) {
        return;
    }
    let sc = scope(mid);
    if sc == Scope::Unknown {
        unknown_id(r, view);
        return;
    }
    let refusal = if settable_by_standard(mid) {
        error_id::NOT_SUPPORTED
    } else {
        error_id::NOT_SETABLE
    };
    if sc == Scope::Port {
        let ports = addressed(&r.req, view);
        if ports.is_empty() {
            r.clock_error(error_id::WRONG_VALUE);
        }
        for p in ports {
            if mid == id::NULL_MANAGEMENT {
                r.data(p.ds.port_identity, ManagementData::Empty);
            } else {
                r.error(p.ds.port_identity, refusal);
            }
        }
        return;
    }
    if !matches!(
        mid,
        id::PRIORITY1 | id::PRIORITY2 | id::SYNCHRONIZATION_UNCERTAIN_NP
    ) {
        r.clock_error(refusal);
        return;
    }
    let parsed = match ManagementTlv::parse(r.req.value) {
        Ok(t) => t.data,
        Err(_) => {
            r.clock_error(error_id::WRONG_LENGTH);
            return;
        }
    };
    let (data, command) = match parsed {
        ManagementData::Priority1(v) => (
            ManagementData::Priority1(v),
            ManagementCommand::SetPriority1(v),
        ),
        ManagementData::Priority2(v) => (
            ManagementData::Priority2(v),
            ManagementCommand::SetPriority2(v),
        ),
        ManagementData::SynchronizationUncertainNp(v) => match SyncUncertain::from_wire(v) {
            Some(s) => (
                ManagementData::SynchronizationUncertainNp(v),
                ManagementCommand::SetSyncUncertain(s),
            ),
            None => {
                r.clock_error(error_id::WRONG_VALUE);
                return;
            }
        },
        _ => {
            r.clock_error(error_id::WRONG_LENGTH);
            return;
        }
    };
    r.data(r.clock_responder, data);
    r.out.command = Some(command);
}

fn command(r: &mut Responder<'_>, view: &dyn ManagementView, access: Access) {
    if refuse_write(r, access) {
        return;
    }
    let mid = r.req.management_id;
    match scope(mid) {
        Scope::Unknown => unknown_id(r, view),
        Scope::Clock => r.clock_error(error_id::NOT_SUPPORTED),
        Scope::Port => {
            let ports = addressed(&r.req, view);
            if ports.is_empty() {
                r.clock_error(error_id::WRONG_VALUE);
            }
            for p in ports {
                if mid == id::NULL_MANAGEMENT {
                    r.data(p.ds.port_identity, ManagementData::Empty);
                } else {
                    r.error(p.ds.port_identity, error_id::NOT_SUPPORTED);
                }
            }
        }
    }
}

/// Two octets: a value and the reserved pad (linuxptp `management_tlv_datum`).
fn datum(v: u8) -> ManagementData {
    ManagementData::Raw(vec![v, 0])
}

/// The data of a clock-scoped GET, or `None` for NOT_SUPPORTED.
fn clock_data(mid: u16, view: &dyn ManagementView) -> Option<ManagementData> {
    Some(match mid {
        // IEEE 1588-2019 15.5.3.3.1
        id::DEFAULT_DATA_SET => {
            let d = view.default_ds();
            ManagementData::DefaultDataSet(DefaultDataSet {
                two_step: d.two_step_flag,
                slave_only: d.slave_only,
                number_ports: d.number_ports,
                priority1: d.priority1,
                clock_quality: d.clock_quality,
                priority2: d.priority2,
                clock_identity: d.clock_identity,
                domain_number: d.domain_number,
            })
        }
        // 15.5.3.4.1
        id::CURRENT_DATA_SET => {
            let c = view.current_ds();
            ManagementData::CurrentDataSet(CurrentDataSet {
                steps_removed: c.steps_removed,
                offset_from_master: TimeInterval(c.offset_from_master),
                mean_path_delay: TimeInterval(c.mean_delay),
            })
        }
        // 15.5.3.5.1
        id::PARENT_DATA_SET => {
            let p = view.parent_ds();
            ManagementData::ParentDataSet(ParentDataSet {
                parent_port_identity: p.parent_port_identity,
                parent_stats: p.parent_stats,
                observed_parent_offset_scaled_log_variance: p
                    .observed_parent_offset_scaled_log_variance,
                observed_parent_clock_phase_change_rate: p.observed_parent_clock_phase_change_rate,
                grandmaster_priority1: p.grandmaster_priority1,
                grandmaster_clock_quality: p.grandmaster_clock_quality,
                grandmaster_priority2: p.grandmaster_priority2,
                grandmaster_identity: p.grandmaster_identity,
            })
        }
        // 15.5.3.6.1
        id::TIME_PROPERTIES_DATA_SET => {
            let t = view.time_properties_ds();
            ManagementData::TimePropertiesDataSet(TimePropertiesDataSet {
                current_utc_offset: t.current_utc_offset,
                leap61: t.leap61,
                leap59: t.leap59,
                current_utc_offset_valid: t.current_utc_offset_valid,
                ptp_timescale: t.ptp_timescale,
                time_traceable: t.time_traceable,
                frequency_traceable: t.frequency_traceable,
                time_source: t.time_source,
            })
        }
        id::PRIORITY1 => ManagementData::Priority1(view.default_ds().priority1),
        id::PRIORITY2 => ManagementData::Priority2(view.default_ds().priority2),
        id::DOMAIN => ManagementData::Domain(view.default_ds().domain_number),
        id::SLAVE_ONLY => ManagementData::SlaveOnly(view.default_ds().slave_only),
        id::CLOCK_ACCURACY => datum(view.default_ds().clock_quality.clock_accuracy),
        // linuxptp: gmPresent is false exactly when the grandmaster is this clock.
        id::TIME_STATUS_NP => {
            let s = view.time_status();
            let gm = view.parent_ds().grandmaster_identity;
            ManagementData::TimeStatusNp(TimeStatusNp {
                master_offset: s.master_offset_ns,
                ingress_time: s.ingress_time_ns,
                cumulative_scaled_rate_offset: s.cumulative_scaled_rate_offset,
                scaled_last_gm_phase_change: s.scaled_last_gm_phase_change,
                gm_time_base_indicator: s.gm_time_base_indicator,
                last_gm_phase_change: s.last_gm_phase_change,
                gm_present: i32::from(gm != view.default_ds().clock_identity),
                gm_identity: gm,
            })
        }
        id::GRANDMASTER_SETTINGS_NP => {
            let g = view.grandmaster_settings()?;
            let mut v = g.clock_quality.to_bytes().to_vec();
            v.extend_from_slice(&g.utc_offset.to_be_bytes());
            v.push(g.time_flags);
            v.push(g.time_source);
            ManagementData::Raw(v)
        }
        id::SYNCHRONIZATION_UNCERTAIN_NP => {
            ManagementData::SynchronizationUncertainNp(view.sync_uncertain().to_wire())
        }
        _ => return None,
    })
}

/// The data of a port-scoped GET for port `p`, or `None` for NOT_SUPPORTED.
fn port_data(mid: u16, p: &PortView) -> Option<ManagementData> {
    let ds = &p.ds;
    Some(match mid {
        id::NULL_MANAGEMENT => ManagementData::Empty,
        // 15.5.3.7.1
        id::PORT_DATA_SET => ManagementData::PortDataSet(PortDataSet {
            port_identity: ds.port_identity,
            port_state: ds.port_state.to_wire(),
            log_min_delay_req_interval: ds.log_min_delay_req_interval,
            peer_mean_path_delay: TimeInterval(ds.mean_link_delay),
            log_announce_interval: ds.log_announce_interval,
            announce_receipt_timeout: ds.announce_receipt_timeout,
            log_sync_interval: ds.log_sync_interval,
            delay_mechanism: ds.delay_mechanism.to_wire(),
            log_min_pdelay_req_interval: ds.log_min_pdelay_req_interval,
            version_number: version_octet(ds.version_number, ds.minor_version_number),
        }),
        id::LOG_ANNOUNCE_INTERVAL => datum(ds.log_announce_interval as u8),
        id::ANNOUNCE_RECEIPT_TIMEOUT => datum(ds.announce_receipt_timeout),
        id::LOG_SYNC_INTERVAL => datum(ds.log_sync_interval as u8),
        id::VERSION_NUMBER => datum(version_octet(ds.version_number, ds.minor_version_number)),
        id::DELAY_MECHANISM => datum(ds.delay_mechanism.to_wire()),
        id::LOG_MIN_PDELAY_REQ_INTERVAL => datum(ds.log_min_pdelay_req_interval as u8),
        // linuxptp port_ds_np: neighborPropDelayThresh (UInteger32), asCapable (Integer32).
        id::PORT_DATA_SET_NP => {
            let mut v = p.neighbor_prop_delay_thresh_ns.to_be_bytes().to_vec();
            v.extend_from_slice(&i32::from(p.as_capable).to_be_bytes());
            ManagementData::Raw(v)
        }
        id::PORT_PROPERTIES_NP => ManagementData::PortPropertiesNp(PortPropertiesNp {
            port_identity: ds.port_identity,
            port_state: ds.port_state.to_wire(),
            timestamping: p.timestamping as u8,
            interface: PtpText::new(truncated(&p.interface)).ok()?,
        }),
        id::PORT_STATS_NP => {
            let s = p.stats?;
            ManagementData::PortStatsNp(Box::new(PortStatsNp {
                port_identity: ds.port_identity,
                rx_msg_type: s.rx_msg_type,
                tx_msg_type: s.tx_msg_type,
            }))
        }
        _ => return None,
    })
}

/// portDS.versionNumber on the wire: minorVersionNumber in the high nibble (15.5.3.7.1).
fn version_octet(version: u8, minor: u8) -> u8 {
    (minor << 4) | (version & 0x0f)
}

/// PTPText holds at most 255 octets.
fn truncated(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    b.get(..255).unwrap_or(b).to_vec()
}
