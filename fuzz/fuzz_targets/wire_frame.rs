//! Whole frames: `frame::parse` and `FrameRepr::parse` never panic, and whatever parses re-emits
//! to octets that parse back to the same value (parse(emit(parse(x))) == parse(x)). The PTP
//! payload alone goes through `MessageRepr::parse` with the same invariant.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xptp_datapath::wire::frame::{self, FrameRepr};
use xptp_datapath::wire::{Message, MessageRepr};

fn message_round_trip(bytes: &[u8]) {
    let Ok(m) = MessageRepr::parse(bytes) else {
        return;
    };
    assert_eq!(m.to_vec().map(|v| v.len()).ok(), Some(m.buffer_len()));
    let emitted = m.to_vec().expect("a parsed message re-emits");
    let again = MessageRepr::parse(&emitted).expect("a re-emitted message parses");
    assert_eq!(again, m, "parse(emit(parse(x))) != parse(x)");
    // What the owned parser accepts, the zero-copy view accepts too, with the same header.
    let v = Message::new_checked(bytes).expect("MessageRepr accepted what the view refuses");
    assert_eq!(v.message_type(), m.message_type());
    assert_eq!(v.sequence_id(), m.header.sequence_id);
    assert_eq!(v.source_port_identity(), m.header.source_port_identity);
    assert_eq!(v.correction_field(), m.header.correction);
}

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = frame::parse(data) {
        let payload = f.payload(data);
        let _ = f.verify_udp_checksum(data);
        message_round_trip(payload);
    }
    if let Ok(fr) = FrameRepr::parse(data) {
        let emitted = fr.emit().expect("a parsed frame re-emits");
        let again = FrameRepr::parse(&emitted).expect("a re-emitted frame parses");
        assert_eq!(again, fr, "frame parse(emit(parse(x))) != parse(x)");
    }
    message_round_trip(data);
});
