//! sa_file parsing (a good file, every error with its text), the HMAC-SHA256 crate against
//! RFC 4231, and a PTP message signed and verified with the ICV at known octets.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use xptp_datapath::wire::{
    Body, ClockIdentity, HeaderRepr, MessageRepr, MessageType, PortIdentity, Timestamp, TlvRepr,
};

use super::auth::{self, AuthFailure, AUTH_TLV_FIXED_LEN};
use super::sa_file::{IcvAlgorithm, SaFileError, SecurityAssociation, SecurityAssociations};
use super::{parse_acceptable_masters, AcceptableMaster};

const GOOD: &str = "\
# keys for the substation LAN
[security_association]
  spp 2
  seqid_window 5
  allow_mutable 1
  seqnum_length 0
  res_length 0
  1 SHA256-128 HEX:000102030405060708090a0b0c0d0e0f
  2 sha256 32 B64:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
  3 HMAC-SHA256-128 ASCII:correct-horse
  4 SHA256 battery-staple

[SECURITY_ASSOCIATION]
spp 0
7 SHA256-128 16 HEX:ffffffffffffffffffffffffffffffff
";

#[test]
fn good_sa_file() {
    let db = SecurityAssociations::parse(GOOD).unwrap();
    assert_eq!(db.associations.len(), 2);
    let a = db.get(2).unwrap();
    assert_eq!(a.seqid_window, 5);
    assert!(a.allow_mutable);
    assert_eq!(a.keys.len(), 4);
    let k1 = a.key(1).unwrap();
    assert_eq!(k1.algorithm, IcvAlgorithm::HmacSha256_128);
    assert_eq!(k1.secret(), (0u8..16).collect::<Vec<_>>().as_slice());
    let k2 = a.key(2).unwrap();
    assert_eq!(k2.algorithm, IcvAlgorithm::HmacSha256);
    assert_eq!(k2.secret(), (0u8..32).collect::<Vec<_>>().as_slice());
    assert_eq!(a.key(3).unwrap().secret(), b"correct-horse");
    assert_eq!(a.key(4).unwrap().secret(), b"battery-staple");
    let b = db.get(0).unwrap();
    assert_eq!(b.seqid_window, 3, "linuxptp's default");
    assert!(!b.allow_mutable);
    assert_eq!(b.key(7).unwrap().secret(), &[0xff; 16]);
    // Keys never show in Debug output.
    let dbg = format!("{db:?}");
    assert!(
        !dbg.contains("correct-horse") && !dbg.contains("255, 255"),
        "{dbg}"
    );
    assert!(dbg.contains("<13 octets redacted>"), "{dbg}");
}

#[test]
fn every_sa_file_error_names_its_line() {
    let text = "\
spp 1
[security_association]
1 SHA256 HEX:00
spp 300
spp x
spp 1
seqid_window 40000
seqid_window many
seqnum_length 4
res_length 2
allow_mutable 2
0 SHA256 HEX:00
1 AES128 HEX:00112233445566778899aabbccddeeff
1 MD5 HEX:00
1 SHA256 HEX:0
1 SHA256 HEX:zz
1 SHA256 B64:***
1 SHA256 ASCII:
1 SHA256 4 HEX:001122
1 SHA256 x HEX:00
1 SHA256
1 SHA256 HEX:00
1 SHA256 HEX:01
spp 1
frobnicate 1
";
    let e = SecurityAssociations::parse(text).unwrap_err();
    let SaFileError::Invalid(d) = &e else {
        panic!("{e}")
    };
    assert_eq!(
        e.to_string(),
        "\
sa_file line 1: 'spp 1' is outside a [security_association] section; put [security_association] before it
sa_file line 3: '1 SHA256 HEX:00' comes before the association's spp line; start each [security_association] with 'spp N'
sa_file line 4: spp 300 out of range [0, 255]
sa_file line 5: spp 'x' is not an integer
sa_file line 7: seqid_window 40000 out of range [0, 32767]
sa_file line 8: seqid_window 'many' is not an integer
sa_file line 9: seqnum_length 4 is not supported: the optional sequenceNo field of the AUTHENTICATION TLV is not implemented (linuxptp does not implement it either); remove the line or set seqnum_length 0
sa_file line 10: res_length 2 is not supported: the optional RES field of the AUTHENTICATION TLV is not implemented (linuxptp does not implement it either); remove the line or set res_length 0
sa_file line 11: allow_mutable 2 must be 0 or 1
sa_file line 12: key_id '0' is not in [1, 4294967295]
sa_file line 13: algorithm 'AES128' is not supported: xptp implements HMAC-SHA256 only; use SHA256-128 or SHA256
sa_file line 14: unknown algorithm 'MD5': use SHA256-128 or SHA256
sa_file line 15: HEX: key has an odd number of digits or a character that is not a hex digit
sa_file line 16: HEX: key has an odd number of digits or a character that is not a hex digit
sa_file line 17: B64: key is not valid Base64
sa_file line 18: the key is empty
sa_file line 19: the key has 3 octets but the line says 4
sa_file line 20: key length 'x' is not a number
sa_file line 21: '1 SHA256' is not a key line: expected 'KEY_ID ALGORITHM [LENGTH] KEY'
sa_file line 23: key_id 1 is already defined on line 22 of this association
sa_file line 24: spp 1 is already defined on line 6; each association needs its own spp
sa_file line 25: 'frobnicate 1' is not a known sa_file line"
    );
    assert_eq!(d.len(), 22);
}

#[test]
fn missing_sa_file_is_an_io_error_naming_the_path() {
    let e =
        SecurityAssociations::load(std::path::Path::new("/nonexistent/xptp-sa.cfg")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("cannot read sa_file /nonexistent/xptp-sa.cfg: "),
        "{e}"
    );
}

/// RFC 4231 test cases 1 and 2 (HMAC-SHA-256), and test case 5's 128-bit truncation: checks
/// that the crate is used the way the ICV needs it.
#[test]
fn hmac_sha256_rfc4231() {
    let hex = |s: &str| -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    };
    let mac = |k: &[u8], d: &[u8]| {
        let mut m = Hmac::<Sha256>::new_from_slice(k).unwrap();
        m.update(d);
        m.finalize().into_bytes().to_vec()
    };
    assert_eq!(
        mac(&[0x0b; 20], b"Hi There"),
        hex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    );
    assert_eq!(
        mac(b"Jefe", b"what do ya want for nothing?"),
        hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    );
    assert_eq!(
        mac(&[0x0c; 20], b"Test With Truncation")[..16],
        hex("a3b6167473100ee06e0c796c2955552b")[..]
    );
}

fn sa(alg: IcvAlgorithm, mutable: bool) -> SecurityAssociation {
    let mut sa = SecurityAssociation::new(9);
    sa.allow_mutable = mutable;
    sa.keys
        .push(super::SaKey::new(0x0102_0304, alg, b"k3y".to_vec()));
    sa
}

fn sync_bytes() -> Vec<u8> {
    let h = HeaderRepr {
        source_port_identity: PortIdentity {
            clock_identity: ClockIdentity([1, 2, 3, 4, 5, 6, 7, 8]),
            port_number: 1,
        },
        sequence_id: 77,
        ..HeaderRepr::default()
    };
    let m = MessageRepr::new(
        h,
        Body::Sync {
            origin_timestamp: Timestamp::from_nanos(1_700_000_000_123_456_789).unwrap(),
        },
    );
    m.to_vec().unwrap()
}

#[test]
fn signed_sync_has_the_tlv_and_icv_at_known_octets_and_verifies() {
    for (alg, icv) in [
        (IcvAlgorithm::HmacSha256_128, 16),
        (IcvAlgorithm::HmacSha256, 32),
    ] {
        let sa = sa(alg, false);
        let plain = sync_bytes();
        assert_eq!(plain.len(), 44);
        let mut m = plain.clone();
        auth::sign(&mut m, &sa, 0x0102_0304).unwrap();
        assert_eq!(m.len(), 44 + AUTH_TLV_FIXED_LEN + icv);
        assert_eq!(
            &m[2..4],
            &((44 + 10 + icv) as u16).to_be_bytes(),
            "messageLength"
        );
        assert_eq!(&m[44..46], &[0x80, 0x09], "tlvType AUTHENTICATION");
        assert_eq!(&m[46..48], &((6 + icv) as u16).to_be_bytes(), "lengthField");
        assert_eq!(
            &m[48..54],
            &[9, 0, 1, 2, 3, 4],
            "SPP, secParamIndicator, keyID"
        );
        // The ICV is the HMAC of octets 0..54 (everything before it).
        let mut h = Hmac::<Sha256>::new_from_slice(b"k3y").unwrap();
        h.update(&m[..54]);
        assert_eq!(&m[54..], &h.finalize().into_bytes()[..icv]);
        // The codec sees the TLV too.
        let r = MessageRepr::parse(&m).unwrap();
        assert!(
            matches!(&r.tlvs[..], [TlvRepr::Authentication(a)] if a.spp == 9 && a.rest.len() == icv)
        );
        assert_eq!(auth::verify(&m, MessageType::Sync, &sa), Ok(0x0102_0304));

        // Every single-bit flip anywhere is caught.
        for i in 0..m.len() {
            let mut x = m.clone();
            x[i] ^= 0x01;
            assert!(
                auth::verify(&x, MessageType::Sync, &sa).is_err(),
                "flip in octet {i} undetected"
            );
        }
        assert_eq!(
            auth::verify(&plain, MessageType::Sync, &sa),
            Err(AuthFailure::Missing)
        );
    }
}

#[test]
fn wrong_key_unknown_key_and_mutable_correction() {
    let sa1 = sa(IcvAlgorithm::HmacSha256_128, false);
    let mut other = sa1.clone();
    other.keys[0] = super::SaKey::new(0x0102_0304, IcvAlgorithm::HmacSha256_128, b"other".to_vec());
    let mut m = sync_bytes();
    auth::sign(&mut m, &other, 0x0102_0304).unwrap();
    assert_eq!(
        auth::verify(&m, MessageType::Sync, &sa1),
        Err(AuthFailure::BadIcv)
    );
    let mut unknown = sa1.clone();
    unknown.keys[0].key_id = 5;
    assert_eq!(
        auth::verify(&m, MessageType::Sync, &unknown),
        Err(AuthFailure::UnknownKey {
            spp: 9,
            key_id: 0x0102_0304
        })
    );
    assert!(auth::sign(&mut sync_bytes(), &unknown, 0x0102_0304).is_err());
    // allow_mutable: a TC may rewrite correctionField; otherwise that breaks the ICV.
    let mutable = sa(IcvAlgorithm::HmacSha256_128, true);
    let mut m = sync_bytes();
    auth::sign(&mut m, &mutable, 0x0102_0304).unwrap();
    m[8..16].copy_from_slice(&123_456i64.to_be_bytes());
    assert!(auth::verify(&m, MessageType::Sync, &mutable).is_ok());
    let mut m = sync_bytes();
    auth::sign(&mut m, &sa1, 0x0102_0304).unwrap();
    m[8..16].copy_from_slice(&123_456i64.to_be_bytes());
    assert_eq!(
        auth::verify(&m, MessageType::Sync, &sa1),
        Err(AuthFailure::BadIcv)
    );
}

#[test]
fn auth_tlv_must_be_last() {
    let sa = sa(IcvAlgorithm::HmacSha256_128, false);
    let mut m = sync_bytes();
    auth::sign(&mut m, &sa, 0x0102_0304).unwrap();
    // Append a PAD TLV after the AUTHENTICATION TLV and fix messageLength.
    m.extend_from_slice(&[0x80, 0x08, 0, 2, 0, 0]);
    let l = m.len() as u16;
    m[2..4].copy_from_slice(&l.to_be_bytes());
    assert_eq!(
        auth::verify(&m, MessageType::Sync, &sa),
        Err(AuthFailure::BadIcv)
    );
}

#[test]
fn acceptable_master_entries() {
    let l = parse_acceptable_masters("001122.fffe.334455, 001122.fffe.334456-2:64").unwrap();
    assert_eq!(
        l,
        vec![
            AcceptableMaster {
                clock_identity: ClockIdentity([0, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55]),
                port_number: None,
                alternate_priority1: 0
            },
            AcceptableMaster {
                clock_identity: ClockIdentity([0, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x56]),
                port_number: Some(2),
                alternate_priority1: 64
            },
        ]
    );
    assert_eq!(l[1].to_string(), "001122.fffe.334456-2:64");
    let any_port = PortIdentity {
        clock_identity: l[0].clock_identity,
        port_number: 7,
    };
    assert!(l[0].matches(any_port));
    assert!(!l[1].matches(PortIdentity {
        clock_identity: l[1].clock_identity,
        port_number: 1
    }));
    for bad in [
        "001122.fffe.3344",
        "001122.fffe.33445x",
        "001122.fffe.334455-x",
        "001122.fffe.334455:300",
    ] {
        assert_eq!(
            parse_acceptable_masters(bad).unwrap_err().to_string(),
            format!("'{bad}' is not CLOCKID[-PORT][:ALTPRIO1] (e.g. 001122.fffe.334455-1:64)")
        );
    }
}
