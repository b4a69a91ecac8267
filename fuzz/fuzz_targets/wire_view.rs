//! The zero-copy view: after `Message::new_checked` succeeds no accessor or setter panics
//! (the view's contract), the TLV walk ends, and every TLV either converts or reports an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xptp_datapath::wire::{Message, TimeInterval, Timestamp};

fuzz_target!(|data: &[u8]| {
    let Ok(m) = Message::new_checked(data) else {
        return;
    };
    let _ = (
        m.message_type(),
        m.major_sdo_id(),
        m.minor_version(),
        m.message_length(),
        m.domain_number(),
        m.minor_sdo_id(),
        m.flags(),
        m.correction_field(),
        m.message_type_specific(),
        m.source_port_identity(),
        m.sequence_id(),
        m.control_field(),
        m.log_message_interval(),
        m.timestamp(),
        m.requesting_port_identity(),
        m.target_port_identity(),
        m.announce(),
        m.suffix(),
        m.message_bytes(),
    );
    let mut n = 0usize;
    for t in m.tlvs() {
        n += 1;
        assert!(n <= data.len(), "the TLV walk does not end");
        match t {
            Ok(t) => {
                let _ = t.to_repr();
            }
            Err(_) => break,
        }
    }
    // Setters on a copy keep the view valid.
    let mut buf = data.to_vec();
    let mut w = Message::new_checked(&mut buf[..]).expect("a copy checks like the original");
    let delta = TimeInterval(i64::from_le_bytes(
        data.get(..8)
            .and_then(|s| s.try_into().ok())
            .unwrap_or([0; 8]),
    ));
    let _ = w.add_correction(delta);
    w.set_sequence_id(m.sequence_id().wrapping_add(1));
    w.set_domain_number(m.domain_number().wrapping_add(1));
    w.set_flags(m.flags());
    w.set_log_message_interval(-3);
    w.set_source_port_identity(m.source_port_identity());
    w.set_timestamp(Timestamp::default());
    w.set_requesting_port_identity(m.source_port_identity());
    let w2 = Message::new_checked(&buf[..]).expect("setters keep the message valid");
    assert_eq!(w2.sequence_id(), m.sequence_id().wrapping_add(1));
});
