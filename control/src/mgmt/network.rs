//! Management over the network (`pmc -2`, `-4`, `-6`): a pure function from a received frame to
//! the frames that answer it.
//!
//! The daemon calls [`handle_network_management`] for each Management frame the datapath
//! hands to control on a PTP port, and sends the returned frames out of that port. Answers go
//! to the PTP multicast address of the request's transport (as ptp4l sends them), from the
//! port's own MAC and IP address, with the request's VLAN tag. Requests over the network may
//! only read: SET and COMMAND are answered NOT_SUPPORTED, as ptp4l answers them on its network
//! ports. Whether network management is answered at all is a configuration switch
//! ([`NetworkManagementConfig::enabled`]). This module reads no socket.

use std::net::{Ipv4Addr, Ipv6Addr};

use xptp_datapath::wire::frame::{self, NetworkRepr, Transport};
use xptp_datapath::wire::{MessageType, WireError};

use super::handler::{handle_management, Access, Ignored};
use super::ManagementView;

/// The network-management switch (xptp key `network_management`, default off: ptp4l always
/// answers, xptp answers only when asked to, since a management GET from any host on the
/// segment reveals the clock's state).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct NetworkManagementConfig {
    pub enabled: bool,
}

/// The addresses of the port a request arrived on, used as the answers' source.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct IngressPort {
    /// portDS.portIdentity.portNumber of the port.
    pub port_number: u16,
    pub mac: [u8; 6],
    /// Needed to answer UDP/IPv4 requests.
    pub ipv4: Option<Ipv4Addr>,
    /// Needed to answer UDP/IPv6 requests.
    pub ipv6: Option<Ipv6Addr>,
}

/// Why a frame got no answer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NetworkIgnored {
    /// Network management is switched off.
    Disabled,
    /// The frame's headers did not parse.
    BadFrame(WireError),
    /// The management core ignored the message.
    Message(Ignored),
    /// A UDP request on a port without an address of that family.
    NoSourceAddress,
}

impl NetworkIgnored {
    /// A stable counter name.
    pub const fn reason(&self) -> &'static str {
        match self {
            Self::Disabled => "disabled",
            Self::BadFrame(_) => "bad_frame",
            Self::Message(i) => i.reason(),
            Self::NoSourceAddress => "no_source_address",
        }
    }
}

/// What [`handle_network_management`] produced.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct NetworkOutcome {
    /// Complete Ethernet frames (without FCS) to send on the ingress port.
    pub frames: Vec<Vec<u8>>,
    /// Set when nothing is sent, saying why.
    pub ignored: Option<NetworkIgnored>,
    /// Set when the request was a SET or COMMAND, refused (answered NOT_SUPPORTED) because it
    /// came over the network.
    pub refused: bool,
}

impl NetworkOutcome {
    fn ignored(why: NetworkIgnored) -> Self {
        NetworkOutcome {
            frames: Vec::new(),
            ignored: Some(why),
            refused: false,
        }
    }
}

/// Answers a management request that arrived as `frame` on `ingress` (see the module docs).
/// Never returns a command: network requests cannot SET.
pub fn handle_network_management(
    frame_bytes: &[u8],
    ingress: &IngressPort,
    view: &dyn ManagementView,
    config: NetworkManagementConfig,
) -> NetworkOutcome {
    if !config.enabled {
        return NetworkOutcome::ignored(NetworkIgnored::Disabled);
    }
    let f = match frame::parse(frame_bytes) {
        Ok(f) => f,
        Err(e) => return NetworkOutcome::ignored(NetworkIgnored::BadFrame(e)),
    };
    let out = handle_management(
        f.payload(frame_bytes),
        view,
        Access::Network {
            port_number: ingress.port_number,
        },
    );
    if let Some(why) = out.ignored {
        return NetworkOutcome::ignored(NetworkIgnored::Message(why));
    }
    let mtype = MessageType::Management;
    let mut transport = match f.transport.network {
        NetworkRepr::L2 => Transport::l2_multicast(ingress.mac, mtype),
        NetworkRepr::Udp4 { .. } => match ingress.ipv4 {
            Some(ip) => Transport::udp4_multicast(ingress.mac, ip, mtype),
            None => return NetworkOutcome::ignored(NetworkIgnored::NoSourceAddress),
        },
        NetworkRepr::Udp6 { .. } => match ingress.ipv6 {
            Some(ip) => Transport::udp6_multicast(ingress.mac, ip, mtype),
            None => return NetworkOutcome::ignored(NetworkIgnored::NoSourceAddress),
        },
    };
    if let Some(tag) = f.transport.ethernet.vlan {
        transport = transport.with_vlan(tag);
    }
    let mut frames = Vec::with_capacity(out.responses.len());
    for msg in &out.responses {
        let mut buf = Vec::with_capacity(transport.header_len() + msg.len());
        match transport.emit(msg, &mut buf) {
            Ok(()) => {
                if buf.len() < frame::ETH_MIN_LEN {
                    buf.resize(frame::ETH_MIN_LEN, 0);
                }
                frames.push(buf);
            }
            Err(e) => tracing::warn!(error = %e, "management: could not frame a response"),
        }
    }
    NetworkOutcome {
        frames,
        ignored: None,
        refused: out.refused,
    }
}
