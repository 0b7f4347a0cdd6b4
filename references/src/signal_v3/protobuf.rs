//! The protobuf subset libsignal's wire messages use (proto2 `optional uint32` and
//! `optional bytes`, rust/protocol/src/proto/wire.proto): a writer, and a strict reader that
//! hands back every field it read with its byte ranges, so that a codec can name and mutate
//! a field without a second parser.
//!
//! The reader accepts exactly the encoding the writer produces, which is the encoding every
//! protobuf library of the family produces for these messages; where libsignal (prost) is
//! lenient, it refuses, and says so naming the field:
//!
//! | input | libsignal 0.72 (prost 0.13) | this reader |
//! |---|---|---|
//! | wire types 1, 3, 4, 5 | skipped as unknown fields | refused |
//! | a varint in more bytes than needed (`80 00` for 0) | taken | refused |
//! | a `uint32` varint above 2^32 - 1 | taken, truncated to 32 bits | refused |
//! | an unknown field number | skipped | refused ([`check_schema`]) |
//! | a field twice | the last one wins | refused ([`check_schema`]) |
//! | fields out of field-number order | taken | taken |
//! | a missing optional field | its default | per message (see the messages) |
//!
//! Every one of those would give a second byte string for one message. Fields out of order
//! are taken nonetheless: protobuf lets a writer put fields in any order, and genuine senders
//! of the family do (libsignal-protocol-typescript writes a PreKeySignalMessage's fields in
//! declaration order, 5, 1, 6, 2, 3, 4), so refusing them would refuse genuine messages. In a SignalMessage
//! they sit under the MAC (only the key holder could make them); in a PreKeySignalMessage's
//! outer fields nothing authenticates them, so there they are what an attacker on the wire
//! could change unnoticed in libsignal.

use super::error::{malformed, SignalV3Error};
use std::ops::Range;

/// A field's protobuf wire type (only the two these messages use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireType {
    /// Wire type 0: a varint.
    Varint,
    /// Wire type 2: a length-delimited byte string.
    Len,
}

/// What a field of a message schema holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `uint32`, a varint at most 2^32 - 1.
    Uint32,
    /// `bytes`.
    Bytes,
}

impl Kind {
    fn wire_type(self) -> WireType {
        match self {
            Kind::Uint32 => WireType::Varint,
            Kind::Bytes => WireType::Len,
        }
    }
}

/// One field of a message schema, in field-number order.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    /// The field number.
    pub number: u32,
    /// Its name in wire.proto.
    pub name: &'static str,
    /// Its type.
    pub kind: Kind,
    /// Whether the reference refuses a message without it.
    pub required: bool,
}

/// One field as read, offsets into the bytes the caller gave (with its `base` added).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The field number.
    pub number: u32,
    /// The wire type.
    pub wire_type: WireType,
    /// The whole field: tag, length (for [`WireType::Len`]) and value.
    pub range: Range<usize>,
    /// The value: the varint's bytes, or the byte string without its length.
    pub value: Range<usize>,
    /// The varint's value (for [`WireType::Varint`]; 0 otherwise).
    pub varint: u64,
}

/// Appends `value` as a varint: seven bits a byte, least significant first.
pub fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends a `uint32` field.
pub fn put_uint32(out: &mut Vec<u8>, number: u32, value: u32) {
    put_varint(out, u64::from(number) << 3);
    put_varint(out, u64::from(value));
}

/// Appends a `bytes` field.
pub fn put_bytes(out: &mut Vec<u8>, number: u32, value: &[u8]) {
    put_varint(out, (u64::from(number) << 3) | 2);
    put_varint(out, value.len() as u64);
    out.extend_from_slice(value);
}

/// Reads a minimal varint at `*at`, or says why it is not one.
fn read_varint(bytes: &[u8], at: &mut usize) -> Result<u64, &'static str> {
    let start = *at;
    let mut value = 0u64;
    for i in 0..10 {
        let b = *bytes.get(*at).ok_or("a truncated varint")?;
        *at += 1;
        if i == 9 && b > 1 {
            return Err("a varint beyond 64 bits");
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            if b == 0 && *at - start > 1 {
                return Err("a varint in more bytes than its value needs");
            }
            return Ok(value);
        }
    }
    Err("a varint beyond 64 bits")
}

/// Every field of `bytes` in order, offsets shifted by `base`; `what` names the message in
/// errors. Structural strictness only (minimal varints, wire types 0 and 2, field numbers
/// 1 to 2^29 - 1, lengths within the bytes); [`check_schema`] checks a message's fields.
pub fn read_fields(bytes: &[u8], base: usize, what: &str) -> Result<Vec<Field>, SignalV3Error> {
    let mut fields = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let start = at;
        let tag = read_varint(bytes, &mut at).map_err(|e| {
            malformed(format!(
                "{what}: at byte {}: expected a tag, got {e}",
                base + start
            ))
        })?;
        let number = u32::try_from(tag >> 3)
            .ok()
            .filter(|n| (1..=(1 << 29) - 1).contains(n))
            .ok_or_else(|| {
                malformed(format!(
                    "{what}: at byte {}: expected a field number from 1 to 2^29 - 1, got {}",
                    base + start,
                    tag >> 3
                ))
            })?;
        let field_err = |e: &str| {
            malformed(format!(
                "{what} field {number}: expected a well-formed value, got {e}"
            ))
        };
        let (wire_type, value, varint) = match tag & 7 {
            0 => {
                let value_start = at;
                let v = read_varint(bytes, &mut at).map_err(field_err)?;
                (WireType::Varint, value_start..at, v)
            }
            2 => {
                let len = read_varint(bytes, &mut at).map_err(field_err)?;
                let end = usize::try_from(len)
                    .ok()
                    .and_then(|l| at.checked_add(l))
                    .filter(|&e| e <= bytes.len())
                    .ok_or_else(|| {
                        malformed(format!(
                            "{what} field {number}: expected {len} bytes, got {}",
                            bytes.len() - at
                        ))
                    })?;
                let value = at..end;
                at = end;
                (WireType::Len, value, 0)
            }
            t => {
                return Err(malformed(format!(
                    "{what} field {number}: expected wire type 0 or 2, got {t}"
                )))
            }
        };
        fields.push(Field {
            number,
            wire_type,
            range: base + start..base + at,
            value: base + value.start..base + value.end,
            varint,
        });
    }
    Ok(fields)
}

/// Checks `fields` against `schema`: every field known and of its type, each at most once (in
/// any order), `uint32` values within 32 bits, the required ones present. Returns, per schema
/// entry, the index of its field in `fields`.
pub fn check_schema(
    fields: &[Field],
    schema: &[FieldSpec],
    what: &str,
) -> Result<Vec<Option<usize>>, SignalV3Error> {
    let mut found = vec![None; schema.len()];
    for (i, field) in fields.iter().enumerate() {
        let Some(slot) = schema.iter().position(|s| s.number == field.number) else {
            return Err(malformed(format!(
                "{what}: expected only fields {}, got field {}",
                schema
                    .iter()
                    .map(|s| s.number.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                field.number
            )));
        };
        let spec = &schema[slot];
        let name = format!("{what} field {} ({})", spec.number, spec.name);
        if found[slot].is_some() {
            return Err(malformed(format!("{name}: expected once, got it twice")));
        }
        if field.wire_type != spec.kind.wire_type() {
            return Err(malformed(format!(
                "{name}: expected wire type {:?}, got {:?}",
                spec.kind.wire_type(),
                field.wire_type
            )));
        }
        if spec.kind == Kind::Uint32 && field.varint > u64::from(u32::MAX) {
            return Err(malformed(format!(
                "{name}: expected a uint32, got {}",
                field.varint
            )));
        }
        found[slot] = Some(i);
    }
    for (spec, f) in schema.iter().zip(&found) {
        if spec.required && f.is_none() {
            return Err(malformed(format!(
                "{what} field {} ({}): expected it, got none",
                spec.number, spec.name
            )));
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn varint(v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, v);
        out
    }

    #[test]
    fn varints_are_little_endian_base_128() {
        assert_eq!(varint(0), [0x00]);
        assert_eq!(varint(300), [0xac, 0x02]);
        assert_eq!(varint(u64::MAX).len(), 10);
    }

    #[test]
    fn non_minimal_and_overlong_varints_are_refused() {
        for (bytes, why) in [
            (&[0x80, 0x00][..], "more bytes"),
            (&[0xac, 0x82, 0x00][..], "more bytes"),
            (&[0x80][..], "truncated"),
            (
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02][..],
                "beyond 64",
            ),
        ] {
            let mut at = 0;
            let e = read_varint(bytes, &mut at).unwrap_err();
            assert!(e.contains(why), "{bytes:02x?}: {e}");
        }
    }

    #[test]
    fn fields_carry_their_ranges() {
        let mut msg = Vec::new();
        put_bytes(&mut msg, 1, b"abc");
        put_uint32(&mut msg, 2, 300);
        let fields = read_fields(&msg, 10, "M").unwrap();
        assert_eq!(fields.len(), 2);
        assert_eq!((fields[0].number, fields[0].wire_type), (1, WireType::Len));
        assert_eq!(fields[0].range, 10..15);
        assert_eq!(fields[0].value, 12..15);
        assert_eq!((fields[1].number, fields[1].varint), (2, 300));
        assert_eq!(fields[1].value, 16..18);
    }

    #[test]
    fn other_wire_types_zero_field_numbers_and_overruns_are_refused() {
        let e = read_fields(&[0x0d, 1, 2, 3, 4], 0, "M").unwrap_err();
        assert_eq!(e, malformed("M field 1: expected wire type 0 or 2, got 5"));
        let e = read_fields(&[0x02, 0x00], 0, "M").unwrap_err();
        assert!(e.to_string().contains("field number"), "{e}");
        let e = read_fields(&[0x0a, 0x05, 1, 2], 0, "M").unwrap_err();
        assert_eq!(e, malformed("M field 1: expected 5 bytes, got 2"));
    }

    const SCHEMA: [FieldSpec; 2] = [
        FieldSpec {
            number: 1,
            name: "a",
            kind: Kind::Bytes,
            required: true,
        },
        FieldSpec {
            number: 2,
            name: "b",
            kind: Kind::Uint32,
            required: false,
        },
    ];

    fn check(bytes: &[u8]) -> Result<Vec<Option<usize>>, SignalV3Error> {
        check_schema(&read_fields(bytes, 0, "M")?, &SCHEMA, "M")
    }

    #[test]
    fn the_schema_refuses_unknown_repeated_mistyped_and_missing_fields_and_takes_any_order() {
        assert_eq!(
            check(&[0x0a, 0x00, 0x10, 0x01]).unwrap(),
            [Some(0), Some(1)]
        );
        assert_eq!(check(&[0x0a, 0x00]).unwrap(), [Some(0), None]);
        let msg = |bytes: &[u8]| check(bytes).unwrap_err().to_string();
        assert!(msg(&[0x0a, 0x00, 0x18, 0x01]).contains("got field 3"));
        assert!(msg(&[0x0a, 0x00, 0x0a, 0x00]).contains("field 1 (a): expected once"));
        assert_eq!(
            check(&[0x10, 0x01, 0x0a, 0x00]).unwrap(),
            [Some(1), Some(0)]
        );
        assert!(msg(&[0x10, 0x01, 0x0a, 0x00, 0x10, 0x01]).contains("field 2 (b): expected once"));
        assert!(msg(&[0x08, 0x00]).contains("field 1 (a): expected wire type Len"));
        assert!(msg(&[0x10, 0x01]).contains("field 1 (a): expected it, got none"));
        let mut big = vec![0x0a, 0x00, 0x10];
        put_varint(&mut big, 1 << 32);
        assert!(msg(&big).contains("field 2 (b): expected a uint32, got 4294967296"));
    }

    proptest! {
        #[test]
        fn what_is_written_reads_back(a in proptest::collection::vec(any::<u8>(), 0..300), b: u32) {
            let mut msg = Vec::new();
            put_bytes(&mut msg, 1, &a);
            put_uint32(&mut msg, 2, b);
            let fields = read_fields(&msg, 0, "M").unwrap();
            prop_assert_eq!(&msg[fields[0].value.clone()], &a[..]);
            prop_assert_eq!(fields[1].varint, u64::from(b));
            prop_assert_eq!(fields[1].range.end, msg.len());
        }

        #[test]
        fn varints_round_trip(v: u64) {
            let bytes = varint(v);
            let mut at = 0;
            prop_assert_eq!(read_varint(&bytes, &mut at), Ok(v));
            prop_assert_eq!(at, bytes.len());
        }
    }
}
