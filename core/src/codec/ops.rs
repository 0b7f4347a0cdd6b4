//! Mutation operators by field kind: what an attacker who knows the protocol does to one
//! field of a message (or bundle), as data with a text form (`low-order 3`, `overlong 1`,
//! `duplicate 0`), applied to a parsed [`Message`] and written back.
//!
//! Each operator applies to fields of some kinds; on another kind, or a family whose
//! messages have no field of the kind asked for, it does not apply and says why (the
//! scenario's step is then skipped with that reason, never silently). The constants are
//! facts: the X25519 encodings of low-order points, the Ed25519 group order L and the
//! encodings of small-order Ed25519 points, each with its source.

use super::{Body, Codec, FieldKind, Flavor, IntEncoding, Message, Node};
use arbitrary::{Arbitrary, Unstructured};
use std::fmt;

/// X25519 public keys of low order, as 32-byte little-endian u-coordinates: 0 and 1, the
/// two points of order 8, p - 1 (order 2), p and p + 1 (non-canonical encodings of 0 and 1:
/// the first seven are the list libsodium's `crypto_scalarmult_curve25519` refuses), and the
/// first five again with the unused top bit set, which RFC 7748 §5 tells X25519 to mask.
/// RFC 7748 §6.1 tells protocols to check for the all-zero shared secret every one of these
/// gives; the references' tests check that each does.
pub const LOW_ORDER_X25519: [[u8; 32]; 12] = [
    hex32("0000000000000000000000000000000000000000000000000000000000000000"),
    hex32("0100000000000000000000000000000000000000000000000000000000000000"),
    hex32("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
    hex32("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
    hex32("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    hex32("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    hex32("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    hex32("0000000000000000000000000000000000000000000000000000000000000080"),
    hex32("0100000000000000000000000000000000000000000000000000000000000080"),
    hex32("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880"),
    hex32("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11d7"),
    hex32("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
];

/// The order of Ed25519's prime-order subgroup, L = 2^252 + 27742317777372353535851937790883648493
/// (RFC 8032 §5.1), little-endian: a signature's S must be below it (RFC 8032 §5.1.7).
pub const ED25519_L: [u8; 32] =
    hex32("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");

/// Encodings of Ed25519 points of small order (dividing 8): the identity, the point of
/// order 2, the two of order 4 and the four of order 8 (as listed with the "small order"
/// test cases of Wycheproof's EdDSA vectors and in "Taming the many EdDSAs"). A verifier that
/// takes one as R accepts signatures an attacker can make without the key for some messages.
/// The references' tests check each is of small order.
pub const SMALL_ORDER_ED25519: [[u8; 32]; 8] = [
    hex32("0100000000000000000000000000000000000000000000000000000000000000"),
    hex32("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    hex32("0000000000000000000000000000000000000000000000000000000000000000"),
    hex32("0000000000000000000000000000000000000000000000000000000000000080"),
    hex32("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
    hex32("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"),
    hex32("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
    hex32("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"),
];

const fn hex32(s: &str) -> [u8; 32] {
    let b = s.as_bytes();
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (nibble(b[2 * i]) << 4) | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

const fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => 0,
    }
}

/// Adds two 256-bit little-endian numbers; `None` on overflow past 2^256.
fn add256(a: &[u8; 32], b: &[u8; 32]) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let s = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = s as u8;
        carry = s >> 8;
    }
    (carry == 0).then_some(out)
}

/// Which field a mutation targets: the `nth` field of `kind` in field order (counted over the
/// whole tree, nested fields included, protobuf fields by number: [`Message::find`]), so that
/// one scenario runs on every family and on every sender of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldSel {
    /// The kind.
    pub kind: FieldKind,
    /// Which one of that kind, from 0.
    pub nth: u8,
}

impl fmt::Display for FieldSel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind, self.nth)
    }
}

impl std::str::FromStr for FieldSel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, nth) = s.rsplit_once('.').unwrap_or((s, "0"));
        let kind = FieldKind::from_name(kind).ok_or_else(|| {
            let all: Vec<&str> = FieldKind::ALL.iter().map(|k| k.name()).collect();
            format!("expected a field kind ({}), got {kind:?}", all.join(", "))
        })?;
        let nth = nth
            .parse()
            .map_err(|_| format!("expected a field's number after the kind, got {nth:?}"))?;
        Ok(FieldSel { kind, nth })
    }
}

/// A mutation operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// X25519 key: one of [`LOW_ORDER_X25519`] (index modulo their number).
    LowOrder(u8),
    /// X25519 key: the same key with the unused top bit set, its one second encoding (RFC
    /// 7748 §5 tells X25519 to mask the bit; the u + p encodings exist only for u below 19,
    /// which [`LOW_ORDER_X25519`] covers).
    NonCanonical,
    /// X25519 key: the receiver's own key of the same field, from its latest message.
    Reflect,
    /// X25519 key: the sender's key of the same field from an earlier message, where it
    /// differs (an earlier chain's).
    EarlierKey,
    /// X25519 key: the same field of a message of another session.
    ForeignKey,
    /// Ed25519 signature: S + L, the second encoding of the same S (RFC 8032 asks verifiers
    /// to refuse S >= L).
    SPlusL,
    /// Ed25519 signature: S = 0.
    SZero,
    /// Ed25519 signature: R replaced by a point of small order ([`SMALL_ORDER_ED25519`]).
    SmallOrderR(u8),
    /// Ed25519 signature: all 64 bytes zero.
    ZeroSignature,
    /// Tag: no bytes at all.
    EmptyTag,
    /// Tag: cut to the argument's number of bytes (modulo its length).
    TruncateTag(u8),
    /// Tag: every byte zero.
    ZeroTag,
    /// Integer or length: the same value in more bytes than needed (varints, QUIC
    /// integers), or, on any protobuf field, its key so written.
    Overlong(u8),
    /// Integer: the largest value its encoding holds.
    MaxValue,
    /// Integer: a value that wraps to the same low bits in a narrower type (v + 2^32 for a
    /// varint, which a 32-bit reader truncates back to v; for a fixed width, max - v).
    Wrap,
    /// Length prefix: too long by the argument (at least 1).
    LengthLong(u8),
    /// Length prefix: too short by the argument (at least 1).
    LengthShort(u8),
    /// Structure: an unknown protobuf field inserted before the selected field.
    InsertUnknown,
    /// Structure: an unknown protobuf field appended to the selected field's message.
    AppendUnknown,
    /// Structure: the selected protobuf field twice, the copy with another value, first
    /// (argument even) or last (odd).
    Duplicate(u8),
    /// Structure: the selected protobuf field swapped with the next one of its message.
    Reorder,
    /// Structure: the argument's number of zero bytes (at least 1) appended inside the
    /// selected length-delimited field.
    Trailing(u8),
    /// Version: the family's other known versions (the argument modulo their number).
    OtherVersion(u8),
}

impl Op {
    /// Every operator with argument 0, in text order.
    pub const ALL: [Op; 23] = [
        Op::LowOrder(0),
        Op::NonCanonical,
        Op::Reflect,
        Op::EarlierKey,
        Op::ForeignKey,
        Op::SPlusL,
        Op::SZero,
        Op::SmallOrderR(0),
        Op::ZeroSignature,
        Op::EmptyTag,
        Op::TruncateTag(0),
        Op::ZeroTag,
        Op::Overlong(0),
        Op::MaxValue,
        Op::Wrap,
        Op::LengthLong(0),
        Op::LengthShort(0),
        Op::InsertUnknown,
        Op::AppendUnknown,
        Op::Duplicate(0),
        Op::Reorder,
        Op::Trailing(0),
        Op::OtherVersion(0),
    ];

    /// The operator's name, in scenario text and finding signatures.
    pub fn name(self) -> &'static str {
        match self {
            Op::LowOrder(_) => "low-order",
            Op::NonCanonical => "non-canonical",
            Op::Reflect => "reflect",
            Op::EarlierKey => "earlier-key",
            Op::ForeignKey => "foreign-key",
            Op::SPlusL => "s-plus-l",
            Op::SZero => "s-zero",
            Op::SmallOrderR(_) => "small-order-r",
            Op::ZeroSignature => "zero-signature",
            Op::EmptyTag => "empty-tag",
            Op::TruncateTag(_) => "truncate-tag",
            Op::ZeroTag => "zero-tag",
            Op::Overlong(_) => "overlong",
            Op::MaxValue => "max-value",
            Op::Wrap => "wrap",
            Op::LengthLong(_) => "length-long",
            Op::LengthShort(_) => "length-short",
            Op::InsertUnknown => "insert-unknown",
            Op::AppendUnknown => "append-unknown",
            Op::Duplicate(_) => "duplicate",
            Op::Reorder => "reorder",
            Op::Trailing(_) => "trailing",
            Op::OtherVersion(_) => "other-version",
        }
    }

    /// The operator's argument, if it takes one.
    pub fn arg(self) -> Option<u8> {
        match self {
            Op::LowOrder(a)
            | Op::SmallOrderR(a)
            | Op::TruncateTag(a)
            | Op::Overlong(a)
            | Op::LengthLong(a)
            | Op::LengthShort(a)
            | Op::Duplicate(a)
            | Op::Trailing(a)
            | Op::OtherVersion(a) => Some(a),
            _ => None,
        }
    }

    /// The operator named `name` with argument `arg` (ignored by those without).
    pub fn from_name(name: &str, arg: u8) -> Option<Op> {
        Op::ALL
            .into_iter()
            .find(|o| o.name() == name)
            .map(|o| o.with_arg(arg))
    }

    /// The same operator with argument `a` (none changes for those without).
    pub fn with_arg(self, a: u8) -> Op {
        match self {
            Op::LowOrder(_) => Op::LowOrder(a),
            Op::SmallOrderR(_) => Op::SmallOrderR(a),
            Op::TruncateTag(_) => Op::TruncateTag(a),
            Op::Overlong(_) => Op::Overlong(a),
            Op::LengthLong(_) => Op::LengthLong(a),
            Op::LengthShort(_) => Op::LengthShort(a),
            Op::Duplicate(_) => Op::Duplicate(a),
            Op::Trailing(_) => Op::Trailing(a),
            Op::OtherVersion(_) => Op::OtherVersion(a),
            other => other,
        }
    }

    /// The field kinds the operator is drawn for (it may apply to others: an overlong
    /// encoding of any protobuf field's key, a structure operator on any protobuf field).
    pub fn kinds(self) -> &'static [FieldKind] {
        use FieldKind as K;
        match self {
            Op::LowOrder(_) | Op::NonCanonical | Op::Reflect | Op::EarlierKey | Op::ForeignKey => {
                &[K::X25519Key]
            }
            Op::SPlusL | Op::SZero | Op::SmallOrderR(_) | Op::ZeroSignature => {
                &[K::Ed25519Signature]
            }
            Op::EmptyTag | Op::TruncateTag(_) | Op::ZeroTag => &[K::Tag],
            Op::Overlong(_) | Op::MaxValue | Op::Wrap => &[K::Integer, K::Length],
            Op::LengthLong(_) | Op::LengthShort(_) => {
                &[K::Length, K::Ciphertext, K::X25519Key, K::Message]
            }
            Op::InsertUnknown | Op::AppendUnknown | Op::Duplicate(_) | Op::Reorder => {
                &[K::Integer, K::X25519Key, K::Ciphertext, K::Message]
            }
            Op::Trailing(_) => &[K::X25519Key, K::Ciphertext, K::Message],
            Op::OtherVersion(_) => &[K::Version],
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.arg() {
            Some(a) => write!(f, "{} {a}", self.name()),
            None => f.write_str(self.name()),
        }
    }
}

impl<'a> Arbitrary<'a> for Op {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let op = *u.choose(&Op::ALL)?;
        Ok(op.with_arg(u.int_in_range(0..=7)?))
    }
}

/// Messages a context-dependent operator takes a field from.
#[derive(Default)]
pub struct Donors<'a> {
    /// The receiver's latest message.
    pub receiver: Option<&'a Message>,
    /// The sender's earlier messages, newest first.
    pub earlier: Vec<&'a Message>,
    /// A message of another session.
    pub foreign: Option<&'a Message>,
}

/// What a mutation changed: the family's name of the field, and the change as finding
/// signatures name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The field's name (`ratchet-key`, `counter`).
    pub field: String,
    /// The operator's name, or for [`Op::OtherVersion`] `other-version-XX` with the version
    /// written (the family may declare one version benign and not another).
    pub change: String,
}

/// Applies `op` to the field `sel` selects in `message`, written back; or why it does not
/// apply.
pub fn apply(
    message: &Message,
    sel: FieldSel,
    op: Op,
    codec: &dyn Codec,
    donors: &Donors<'_>,
) -> Result<(Vec<u8>, Applied), String> {
    let mut m = message.clone();
    let (path, node) = m.find(sel.kind, usize::from(sel.nth)).ok_or_else(|| {
        let n = message.count(sel.kind);
        if n == 0 {
            format!("no {} field here", sel.kind)
        } else {
            format!("only {n} {} field(s) here, not {}", sel.kind, sel.nth + 1)
        }
    })?;
    let name = node.name.clone();
    let mut applied = Applied {
        field: name.clone(),
        change: op.name().into(),
    };
    let same_field = |donor: &Message| -> Option<Vec<u8>> {
        donor
            .walk()
            .into_iter()
            .find(|(_, n)| n.name == name && n.kind == sel.kind)
            .map(|(_, n)| value_of(n))
    };
    let before = message.encode();
    match op {
        Op::LowOrder(i) => {
            let point = LOW_ORDER_X25519[usize::from(i) % LOW_ORDER_X25519.len()];
            set_key(&mut m, &path, &point)?;
        }
        Op::NonCanonical => {
            let mut key = key_bytes(&m, &path)?;
            key[31] |= 0x80;
            set_key(&mut m, &path, &key)?;
        }
        Op::Reflect | Op::EarlierKey | Op::ForeignKey => {
            let key = key_bytes(&m, &path)?;
            let donor = match op {
                Op::Reflect => donors
                    .receiver
                    .and_then(same_field)
                    .ok_or("the receiver has sent no message with this field yet")?,
                Op::EarlierKey => donors
                    .earlier
                    .iter()
                    .filter_map(|d| same_field(d))
                    .find(|k| k.as_slice() != key)
                    .ok_or("the sender has no earlier message with another value of this field")?,
                _ => donors
                    .foreign
                    .and_then(same_field)
                    .ok_or("no message of another session has this field")?,
            };
            let donor: [u8; 32] = donor
                .try_into()
                .map_err(|_| "the donor's field is not a 32-byte key".to_string())?;
            set_key(&mut m, &path, &donor)?;
        }
        Op::SPlusL | Op::SZero | Op::SmallOrderR(_) | Op::ZeroSignature => {
            let node = m.get_mut(&path).ok_or("no such field")?;
            let sig = leaf_bytes(node).ok_or("the signature is not raw bytes")?;
            if sig.len() != 64 {
                return Err(format!(
                    "expected a 64-byte signature, got {} bytes",
                    sig.len()
                ));
            }
            match op {
                Op::SPlusL => {
                    let s: [u8; 32] = sig[32..].try_into().map_err(|_| "no S")?;
                    let s = add256(&s, &ED25519_L).ok_or("S + L does not fit in 32 bytes")?;
                    sig[32..].copy_from_slice(&s);
                }
                Op::SZero => sig[32..].fill(0),
                Op::SmallOrderR(i) => sig[..32].copy_from_slice(
                    &SMALL_ORDER_ED25519[usize::from(i) % SMALL_ORDER_ED25519.len()],
                ),
                _ => sig.fill(0),
            }
        }
        Op::EmptyTag | Op::TruncateTag(_) | Op::ZeroTag => {
            let node = m.get_mut(&path).ok_or("no such field")?;
            let bytes = leaf_bytes(node).ok_or("the tag is not raw bytes")?;
            match op {
                Op::EmptyTag => bytes.clear(),
                Op::TruncateTag(n) => {
                    let keep = usize::from(n) % bytes.len().max(1);
                    bytes.truncate(keep);
                }
                _ => bytes.fill(0),
            }
        }
        Op::Overlong(extra) => {
            let target = if is_encoded(m.get(&path).ok_or("no such field")?) {
                path.clone()
            } else {
                sized_ancestor(&m, &path)
                    .ok_or_else(|| format!("{name} has no variable-length encoding"))?
            };
            let node = m.get_mut(&target).ok_or("no such field")?;
            overlong(node, extra.max(1))?;
        }
        Op::MaxValue | Op::Wrap => {
            let node = m.get_mut(&path).ok_or("no such field")?;
            let (value, enc, raw) = int_mut(node).ok_or("the field is not an integer")?;
            let new = match (op, enc) {
                (Op::MaxValue, e) => e.max(),
                (_, IntEncoding::Varint) => value.checked_add(1 << 32).ok_or("no room to wrap")?,
                (_, e) => e.max() - *value,
            };
            *value = new;
            *raw = None;
        }
        Op::LengthLong(d) | Op::LengthShort(d) => {
            let target =
                sized_ancestor(&m, &path).ok_or_else(|| format!("{name} has no length prefix"))?;
            let node = m.get_mut(&target).ok_or("no such field")?;
            let d = u64::from(d.max(1));
            let (enc, raw, len) = sized_mut(node).ok_or("the field has no length prefix")?;
            let new = if matches!(op, Op::LengthLong(_)) {
                len.checked_add(d)
            } else {
                len.checked_sub(d)
            }
            .ok_or("the length cannot move that far")?;
            *raw = Some(
                enc.encode(new)
                    .ok_or("the new length does not fit its encoding")?,
            );
        }
        Op::InsertUnknown | Op::AppendUnknown | Op::Duplicate(_) | Op::Reorder => {
            let field_path = enclosing_field(&m, &path).ok_or_else(|| {
                format!("{name} is in no protobuf field: its message has no optional fields to add, repeat or reorder")
            })?;
            let number = codec.unknown_field_number();
            // Named by what changed: the message that gains a field, or the field repeated or
            // moved.
            applied.field = match op {
                Op::InsertUnknown | Op::AppendUnknown => message_name(&m, &field_path),
                _ => m.get(&field_path).map_or(name.clone(), |n| n.name.clone()),
            };
            let (siblings, at) = m.parent_mut(&field_path).ok_or("no parent")?;
            match op {
                Op::InsertUnknown => siblings.insert(at, unknown_field(number)),
                Op::AppendUnknown => siblings.push(unknown_field(number)),
                Op::Duplicate(which) => {
                    let mut copy = siblings[at].clone();
                    change_value(&mut copy);
                    if which % 2 == 0 {
                        siblings.insert(at, copy);
                    } else {
                        siblings.insert(at + 1, copy);
                    }
                }
                _ => {
                    let next = (at + 1..siblings.len())
                        .find(|j| matches!(siblings[*j].body, Body::Field { .. }))
                        .ok_or("the field is the last of its message")?;
                    siblings.swap(at, next);
                }
            }
        }
        Op::Trailing(n) => {
            let target = sized_ancestor(&m, &path)
                .ok_or_else(|| format!("{name} is not inside a length-delimited field"))?;
            let node = m.get_mut(&target).ok_or("no such field")?;
            let children = node.children_mut().ok_or("no content")?;
            children.push(Node::bytes(
                "trailing",
                FieldKind::Opaque,
                &vec![0; usize::from(n.max(1))],
            ));
        }
        Op::OtherVersion(k) => {
            let node = m.get_mut(&path).ok_or("no such field")?;
            let (value, _, raw) = int_mut(node).ok_or("the version is not an integer")?;
            let others: Vec<u64> = codec
                .versions()
                .iter()
                .copied()
                .filter(|v| v != value)
                .collect();
            if others.is_empty() {
                return Err("the family knows no other version".into());
            }
            *value = others[usize::from(k) % others.len()];
            *raw = None;
            applied.change = format!("other-version-{:02x}", *value);
        }
    }
    let after = m.encode();
    if after == before {
        return Err(format!("{op} leaves this {name} as it was"));
    }
    Ok((after, applied))
}

fn leaf_bytes(node: &mut Node) -> Option<&mut Vec<u8>> {
    match &mut node.body {
        Body::Bytes(b) => Some(b),
        Body::Field { value, .. } => match &mut **value {
            Body::Bytes(b) => Some(b),
            Body::Sized { content, .. } if content.len() == 1 => leaf_bytes(&mut content[0]),
            _ => None,
        },
        Body::Sized { content, .. } if content.len() == 1 => leaf_bytes(&mut content[0]),
        _ => None,
    }
}

/// A node's value: for a field (a protobuf tag and length around raw bytes), the bytes
/// inside, which [`set_key`] and the signature operators change; else its encoding.
fn value_of(node: &Node) -> Vec<u8> {
    let mut node = node.clone();
    match leaf_bytes(&mut node) {
        Some(b) => std::mem::take(b),
        None => node.encode(),
    }
}

fn key_bytes(m: &Message, path: &[usize]) -> Result<[u8; 32], String> {
    let node = m.get(path).ok_or("no such field")?;
    value_of(node)
        .try_into()
        .map_err(|_| format!("expected a 32-byte key in {}", node.name))
}

fn set_key(m: &mut Message, path: &[usize], key: &[u8; 32]) -> Result<(), String> {
    let node = m.get_mut(path).ok_or("no such field")?;
    let bytes = leaf_bytes(node).ok_or("the key is not raw bytes")?;
    if bytes.len() != 32 {
        return Err(format!("expected a 32-byte key, got {} bytes", bytes.len()));
    }
    bytes.copy_from_slice(key);
    Ok(())
}

fn int_mut(node: &mut Node) -> Option<(&mut u64, IntEncoding, &mut Option<Vec<u8>>)> {
    match &mut node.body {
        Body::Int { value, enc, raw } => Some((value, *enc, raw)),
        Body::Field { value, .. } => match &mut **value {
            Body::Int { value, enc, raw } => Some((value, *enc, raw)),
            _ => None,
        },
        _ => None,
    }
}

fn sized_mut(node: &mut Node) -> Option<(IntEncoding, &mut Option<Vec<u8>>, u64)> {
    let body = match &mut node.body {
        Body::Field { value, .. } => &mut **value,
        other => other,
    };
    match body {
        Body::Sized { enc, raw, content } => {
            let len: usize = content.iter().map(|c| c.encode().len()).sum();
            Some((*enc, raw, len as u64))
        }
        _ => None,
    }
}

/// Whether the node itself has an encoding the overlong operator can stretch.
fn is_encoded(node: &Node) -> bool {
    matches!(
        node.body,
        Body::Int { .. } | Body::Sized { .. } | Body::Field { .. }
    )
}

fn overlong(node: &mut Node, extra: u8) -> Result<(), String> {
    if let Some((value, enc, raw)) = int_mut(node) {
        *raw = Some(
            enc.overlong(*value, extra)
                .ok_or_else(|| format!("a {enc:?} integer has no longer encoding"))?,
        );
        return Ok(());
    }
    if let Some((enc, raw, len)) = sized_mut(node) {
        *raw = Some(
            enc.overlong(len, extra)
                .ok_or_else(|| format!("a {enc:?} length has no longer encoding"))?,
        );
        return Ok(());
    }
    match &mut node.body {
        Body::Field {
            number,
            raw_key,
            value,
        } => {
            let wire_type = if matches!(**value, Body::Sized { .. }) {
                2
            } else {
                0
            };
            *raw_key = IntEncoding::Varint.overlong((u64::from(*number) << 3) | wire_type, extra);
            Ok(())
        }
        _ => Err("the field has no variable-length encoding".into()),
    }
}

/// The name of the message holding the node at `path`: its parent sequence's name, or
/// `message` at the top.
fn message_name(m: &Message, path: &[usize]) -> String {
    match path.split_last() {
        Some((_, up)) if !up.is_empty() => m.get(up).map_or("message".into(), |n| n.name.clone()),
        _ => "message".into(),
    }
}

/// The nearest node at or above `path` that is a protobuf field.
fn enclosing_field(m: &Message, path: &[usize]) -> Option<Vec<usize>> {
    (1..=path.len())
        .rev()
        .map(|n| &path[..n])
        .find(|p| matches!(m.get(p).map(|n| &n.body), Some(Body::Field { .. })))
        .map(<[usize]>::to_vec)
}

/// The nearest node at or above `path` whose content has a length prefix.
fn sized_ancestor(m: &Message, path: &[usize]) -> Option<Vec<usize>> {
    (1..=path.len()).rev().map(|n| &path[..n]).find_map(|p| {
        let body = &m.get(p)?.body;
        let sized = match body {
            Body::Sized { .. } => true,
            Body::Field { value, .. } => matches!(**value, Body::Sized { .. }),
            _ => false,
        };
        sized.then(|| p.to_vec())
    })
}

fn unknown_field(number: u32) -> Node {
    Node {
        name: format!("unknown-{number}"),
        kind: FieldKind::Unknown,
        body: Body::Field {
            number,
            raw_key: None,
            value: Box::new(Body::Int {
                value: 1,
                enc: IntEncoding::Varint,
                raw: None,
            }),
        },
    }
}

/// Gives a field's copy another value: the integer plus one, or the last byte of its bytes
/// flipped.
fn change_value(node: &mut Node) {
    if let Some((value, _, raw)) = int_mut(node) {
        *value = value.wrapping_add(1) & 0xffff_ffff;
        *raw = None;
        return;
    }
    fn flip_last(nodes: &mut [Node]) -> bool {
        for n in nodes.iter_mut().rev() {
            match &mut n.body {
                Body::Bytes(b) if !b.is_empty() => {
                    if let Some(last) = b.last_mut() {
                        *last ^= 1;
                    }
                    return true;
                }
                _ => {
                    if let Some(c) = n.children_mut() {
                        if flip_last(c) {
                            return true;
                        }
                    }
                }
            }
        }
        false
    }
    if let Some(children) = node.children_mut() {
        flip_last(children);
    }
}

/// The flavor of the sequence holding the selected field, for reports.
pub fn flavor_of(message: &Message, sel: FieldSel) -> Option<Flavor> {
    message
        .find(sel.kind, usize::from(sel.nth))
        .map(|(p, _)| message.parent_flavor(&p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::protobuf::{self, SchemaField, Shape};
    use crate::codec::CodecError;

    struct Pb;
    const SCHEMA: &[SchemaField] = &[
        SchemaField {
            number: 1,
            name: "ratchet-key",
            kind: FieldKind::X25519Key,
            shape: Shape::TypedKey,
        },
        SchemaField {
            number: 2,
            name: "counter",
            kind: FieldKind::Integer,
            shape: Shape::Varint,
        },
        SchemaField {
            number: 4,
            name: "ciphertext",
            kind: FieldKind::Ciphertext,
            shape: Shape::Bytes,
        },
    ];
    impl Codec for Pb {
        fn message(&self, wire: &[u8]) -> Result<Message, CodecError> {
            let (v, rest) = wire.split_first().ok_or(CodecError::new("m", "empty"))?;
            let (body, mac) = rest.split_at(rest.len().saturating_sub(8));
            let mut nodes = vec![Node::int(
                "version",
                FieldKind::Version,
                u64::from(*v),
                IntEncoding::FixedBe(1),
            )];
            nodes.push(Node::seq(
                "message",
                FieldKind::Message,
                Flavor::Protobuf,
                protobuf::parse(body, SCHEMA, "m")?,
            ));
            nodes.push(Node::bytes("mac", FieldKind::Tag, mac));
            Ok(Message { nodes })
        }
        fn versions(&self) -> &[u64] {
            &[0x33, 0x34]
        }
    }

    fn sample() -> Vec<u8> {
        let mut w = vec![0x33, 0x0a, 33, 5];
        w.extend([9u8; 32]);
        w.extend([0x10, 0x05, 0x22, 0x03, 1, 2, 3]);
        w.extend([0xee; 8]);
        w
    }

    fn run(sel: &str, op: Op) -> Result<Vec<u8>, String> {
        let m = Pb.message(&sample()).unwrap();
        apply(&m, sel.parse().unwrap(), op, &Pb, &Donors::default()).map(|(b, _)| b)
    }

    /// Olm's keys are plain bytes fields: the field and the bytes inside are both nodes of
    /// the key's kind, and an operator that reads the key (non-canonical, reflect) reads the
    /// bytes inside either way.
    #[test]
    fn a_plain_key_field_is_read_through_its_tag_and_length() {
        const PLAIN: &[SchemaField] = &[SchemaField {
            number: 1,
            name: "ratchet-key",
            kind: FieldKind::X25519Key,
            shape: Shape::Bytes,
        }];
        let mut wire = vec![0x0a, 32];
        wire.extend([9u8; 32]);
        let m = Message {
            nodes: protobuf::parse(&wire, PLAIN, "m").unwrap(),
        };
        assert_eq!(m.count(FieldKind::X25519Key), 2, "the field and its bytes");
        for sel in ["x25519-key.0", "x25519-key.1"] {
            let (top, applied) = apply(
                &m,
                sel.parse().unwrap(),
                Op::NonCanonical,
                &Pb,
                &Donors::default(),
            )
            .unwrap_or_else(|e| panic!("{sel}: {e}"));
            assert_eq!(top[33], 9 | 0x80, "{sel}");
            assert_eq!(top.len(), wire.len(), "{sel}");
            assert_eq!(applied.field, "ratchet-key");
        }
    }

    #[test]
    fn operators_change_exactly_their_field() {
        let w = sample();
        assert_eq!(Pb.message(&w).unwrap().encode(), w, "the codec round-trips");
        let low = run("x25519-key.0", Op::LowOrder(1)).unwrap();
        assert_eq!(&low[4..36], &LOW_ORDER_X25519[1]);
        assert_eq!(low.len(), w.len());
        let top = run("x25519-key.0", Op::NonCanonical).unwrap();
        assert_eq!(top[35], 9 | 0x80);
        let over = run("integer.0", Op::Overlong(1)).unwrap();
        assert_eq!(&over[36..39], &[0x10, 0x85, 0x00]);
        let wrapped = run("integer.0", Op::Wrap).unwrap();
        assert_eq!(
            IntEncoding::Varint.decode(&wrapped[37..]).unwrap().0,
            5 + (1 << 32)
        );
        let empty = run("tag.0", Op::EmptyTag).unwrap();
        assert_eq!(empty, &w[..w.len() - 8]);
        let cut = run("tag.0", Op::TruncateTag(3)).unwrap();
        assert_eq!(cut.len(), w.len() - 5);
        let v = run("version.0", Op::OtherVersion(0)).unwrap();
        assert_eq!(v[0], 0x34);
        let dup = run("integer.0", Op::Duplicate(0)).unwrap();
        assert_eq!(&dup[36..40], &[0x10, 0x06, 0x10, 0x05]);
        let reordered = run("integer.0", Op::Reorder).unwrap();
        assert_eq!(&reordered[36..38], &[0x22, 0x03]);
        let long = run("ciphertext.0", Op::LengthLong(2)).unwrap();
        assert_eq!(long[39], 0x05);
        let trailing = run("x25519-key.0", Op::Trailing(1)).unwrap();
        assert_eq!(trailing[2], 34);
        let unknown = run("integer.0", Op::InsertUnknown).unwrap();
        assert_eq!(&unknown[36..38], &[0x78, 0x01]);
    }

    #[test]
    fn operators_that_do_not_apply_say_why() {
        assert!(run("ed25519-signature.0", Op::SZero)
            .unwrap_err()
            .contains("no ed25519-signature field here"));
        assert!(run("x25519-key.0", Op::Reflect)
            .unwrap_err()
            .contains("receiver has sent no message"));
        assert!(run("version.0", Op::Duplicate(0))
            .unwrap_err()
            .contains("in no protobuf field"));
        assert!(run("tag.0", Op::Reorder)
            .unwrap_err()
            .contains("in no protobuf field"));
    }

    #[test]
    fn s_plus_l_is_the_second_encoding_of_s() {
        let mut s = [0u8; 32];
        s[0] = 5;
        let sum = add256(&s, &ED25519_L).unwrap();
        assert_eq!(sum[0], 0xed + 5);
        assert_eq!(sum[31], 0x10);
    }

    #[test]
    fn every_operator_reads_back_from_its_text() {
        for op in Op::ALL {
            let op = op.with_arg(3);
            let text = op.to_string();
            let (name, arg) = text.split_once(' ').unwrap_or((&text, "0"));
            assert_eq!(
                Op::from_name(name, arg.parse().unwrap()),
                Some(op),
                "{text}"
            );
        }
        let sel: FieldSel = "x25519-key.2".parse().unwrap();
        assert_eq!(sel.to_string(), "x25519-key.2");
        assert!("nonsense.1".parse::<FieldSel>().is_err());
    }
}
