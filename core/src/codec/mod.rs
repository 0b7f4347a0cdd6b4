//! Typed wire fields: a family's codec parses a wire message (or a bundle) into named,
//! typed fields and writes it back, so that an attacker schedule can change one field the
//! way an attacker who knows the protocol would (a low-order key, an overlong varint, a
//! truncated tag, a duplicated field) instead of flipping a bit somewhere.
//!
//! A parsed message is a tree of [`Node`]s. Each has a name (the family's own name for the
//! field, used in finding signatures: `ratchet-key`, `counter`, `mac`), a [`FieldKind`]
//! (what mutation operators may do to it) and a [`Body`]: raw bytes, an integer in an
//! [`IntEncoding`], a sequence of children, a length-prefixed sequence, or a tagged
//! protobuf field. [`Message::encode`] writes the tree back; a codec must give back exactly
//! the bytes it parsed for every message its peers produce (each codec's tests check this
//! on real messages). Length prefixes are recomputed from their content when written, unless
//! an operator pinned other bytes, so changing a nested field keeps every enclosing length
//! right (or wrong, on purpose).
//!
//! Operators ([`ops`]) are data, with a text form, drawn by `arbitrary`, shared by campaigns,
//! fuzz targets, `replay` and `minimize`. A family without a codec falls back to the byte
//! ranges of [`crate::peer::WireLayout`].

mod int;
pub mod ops;
pub mod protobuf;

pub use int::IntEncoding;

use crate::peer::FamilySpec;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a field holds, which decides the operators that apply to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FieldKind {
    /// A protocol version byte (or bytes).
    Version,
    /// A byte that says which kind of message follows (the bench's type prefixes, a key's
    /// type byte).
    Type,
    /// An X25519 public key (32 bytes, little-endian u).
    X25519Key,
    /// An Ed25519 signature (R || S, 64 bytes), or an XEdDSA one of the same shape.
    Ed25519Signature,
    /// An Ed25519 public key (32 bytes).
    Ed25519Key,
    /// A counter, index or identifier.
    Integer,
    /// A length prefix.
    Length,
    /// A MAC or authentication tag.
    Tag,
    /// Ciphertext.
    Ciphertext,
    /// A nonce or IV sent in the clear.
    Nonce,
    /// A message or structure nested in another (its fields are its children).
    Message,
    /// A field the family does not define.
    Unknown,
    /// Other bytes.
    Opaque,
}

impl FieldKind {
    /// Every kind, in text order.
    pub const ALL: [FieldKind; 13] = [
        FieldKind::Version,
        FieldKind::Type,
        FieldKind::X25519Key,
        FieldKind::Ed25519Signature,
        FieldKind::Ed25519Key,
        FieldKind::Integer,
        FieldKind::Length,
        FieldKind::Tag,
        FieldKind::Ciphertext,
        FieldKind::Nonce,
        FieldKind::Message,
        FieldKind::Unknown,
        FieldKind::Opaque,
    ];

    /// The kind's name in scenario text.
    pub fn name(self) -> &'static str {
        match self {
            FieldKind::Version => "version",
            FieldKind::Type => "type",
            FieldKind::X25519Key => "x25519-key",
            FieldKind::Ed25519Signature => "ed25519-signature",
            FieldKind::Ed25519Key => "ed25519-key",
            FieldKind::Integer => "integer",
            FieldKind::Length => "length",
            FieldKind::Tag => "tag",
            FieldKind::Ciphertext => "ciphertext",
            FieldKind::Nonce => "nonce",
            FieldKind::Message => "message",
            FieldKind::Unknown => "unknown",
            FieldKind::Opaque => "opaque",
        }
    }

    /// The kind named `name`.
    pub fn from_name(name: &str) -> Option<FieldKind> {
        FieldKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl fmt::Display for FieldKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the children of a sequence are framed, which decides the structure operators that
/// apply to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// Fields at fixed places, each of a fixed size: nothing can be inserted or reordered.
    Fixed,
    /// Protobuf fields ([`Body::Field`]): any may be repeated, reordered or unknown.
    Protobuf,
    /// The TLS presentation language (MLS): fields in a fixed order, vectors with length
    /// prefixes.
    Tls,
}

/// One field of a parsed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// The family's name for the field (`ratchet-key`, `counter`, `mac`).
    pub name: String,
    /// What it holds.
    pub kind: FieldKind,
    /// Its bytes or children.
    pub body: Body,
}

/// What a node is made of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// Bytes written as they are.
    Bytes(Vec<u8>),
    /// An integer; `raw`, when set, is written instead of the value's minimal encoding (an
    /// overlong or otherwise changed encoding).
    Int {
        /// The value.
        value: u64,
        /// Its encoding.
        enc: IntEncoding,
        /// Bytes written in its place, if any.
        raw: Option<Vec<u8>>,
    },
    /// Children written one after another.
    Seq {
        /// How they are framed.
        flavor: Flavor,
        /// The children.
        children: Vec<Node>,
    },
    /// A length prefix in `enc`, then `content`: the prefix is the content's length unless
    /// `raw` pins other bytes.
    Sized {
        /// The prefix's encoding.
        enc: IntEncoding,
        /// Bytes written as the prefix instead of the length, if any.
        raw: Option<Vec<u8>>,
        /// The content.
        content: Vec<Node>,
    },
    /// A protobuf field: its key (field number and wire type as a varint; `raw_key` when an
    /// operator changed its encoding), then a varint value or a length-delimited one.
    Field {
        /// The field number.
        number: u32,
        /// The key written in place of the minimal one, if any.
        raw_key: Option<Vec<u8>>,
        /// The value: an [`Body::Int`] with [`IntEncoding::Varint`] (wire type 0) or a
        /// [`Body::Sized`] with a varint length (wire type 2).
        value: Box<Body>,
    },
}

impl Node {
    /// A node of raw bytes.
    pub fn bytes(name: &str, kind: FieldKind, bytes: &[u8]) -> Node {
        Node {
            name: name.into(),
            kind,
            body: Body::Bytes(bytes.to_vec()),
        }
    }

    /// An integer node in its minimal encoding.
    pub fn int(name: &str, kind: FieldKind, value: u64, enc: IntEncoding) -> Node {
        Node {
            name: name.into(),
            kind,
            body: Body::Int {
                value,
                enc,
                raw: None,
            },
        }
    }

    /// A sequence node.
    pub fn seq(name: &str, kind: FieldKind, flavor: Flavor, children: Vec<Node>) -> Node {
        Node {
            name: name.into(),
            kind,
            body: Body::Seq { flavor, children },
        }
    }

    /// Appends the node's bytes to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        self.body.write(out);
    }

    /// The node's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }

    /// The node's children, if it has any (the content of a sequence, a length-prefixed
    /// field or a protobuf field's length-delimited value).
    pub fn children(&self) -> Option<&Vec<Node>> {
        self.body.children()
    }

    /// Mutable access to [`Node::children`].
    pub fn children_mut(&mut self) -> Option<&mut Vec<Node>> {
        self.body.children_mut()
    }
}

impl Body {
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Body::Bytes(b) => out.extend_from_slice(b),
            Body::Int { value, enc, raw } => match raw {
                Some(r) => out.extend_from_slice(r),
                None => out.extend(enc.encode(*value).unwrap_or_default()),
            },
            Body::Seq { children, .. } => {
                for c in children {
                    c.write(out);
                }
            }
            Body::Sized { enc, raw, content } => {
                let mut inner = Vec::new();
                for c in content {
                    c.write(&mut inner);
                }
                match raw {
                    Some(r) => out.extend_from_slice(r),
                    None => out.extend(enc.encode(inner.len() as u64).unwrap_or_default()),
                }
                out.extend(inner);
            }
            Body::Field {
                number,
                raw_key,
                value,
            } => {
                let wire_type = match **value {
                    Body::Sized { .. } => 2,
                    _ => 0,
                };
                match raw_key {
                    Some(k) => out.extend_from_slice(k),
                    None => out.extend(
                        IntEncoding::Varint
                            .encode((u64::from(*number) << 3) | wire_type)
                            .unwrap_or_default(),
                    ),
                }
                value.write(out);
            }
        }
    }

    fn children(&self) -> Option<&Vec<Node>> {
        match self {
            Body::Seq { children, .. } => Some(children),
            Body::Sized { content, .. } => Some(content),
            Body::Field { value, .. } => value.children(),
            _ => None,
        }
    }

    fn children_mut(&mut self) -> Option<&mut Vec<Node>> {
        match self {
            Body::Seq { children, .. } => Some(children),
            Body::Sized { content, .. } => Some(content),
            Body::Field { value, .. } => value.children_mut(),
            _ => None,
        }
    }
}

/// A parsed message: its top-level fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The fields, in wire order.
    pub nodes: Vec<Node>,
}

/// Where a node sits in a [`Message`]: child indices from the top.
pub type Path = Vec<usize>;

impl Message {
    /// The message's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for n in &self.nodes {
            n.write(&mut out);
        }
        out
    }

    /// Every node with its path, depth first, in wire order.
    pub fn walk(&self) -> Vec<(Path, &Node)> {
        fn go<'a>(nodes: &'a [Node], at: &mut Path, out: &mut Vec<(Path, &'a Node)>) {
            for (i, n) in nodes.iter().enumerate() {
                at.push(i);
                out.push((at.clone(), n));
                if let Some(c) = n.children() {
                    go(c, at, out);
                }
                at.pop();
            }
        }
        let mut out = Vec::new();
        go(&self.nodes, &mut Vec::new(), &mut out);
        out
    }

    /// The `nth` node of `kind` in field order, with its path: wire order, except that the
    /// protobuf fields of one message are taken by field number, so that `integer.0` names
    /// the same field of a message whichever order its sender wrote the fields in (genuine
    /// senders of one family differ there).
    pub fn find(&self, kind: FieldKind, nth: usize) -> Option<(Path, &Node)> {
        fn go<'a>(nodes: &'a [Node], at: &mut Path, out: &mut Vec<(Path, &'a Node)>) {
            for i in field_order(nodes) {
                at.push(i);
                out.push((at.clone(), &nodes[i]));
                if let Some(c) = nodes[i].children() {
                    go(c, at, out);
                }
                at.pop();
            }
        }
        let mut all = Vec::new();
        go(&self.nodes, &mut Vec::new(), &mut all);
        all.into_iter().filter(|(_, n)| n.kind == kind).nth(nth)
    }

    /// How many nodes of `kind` there are.
    pub fn count(&self, kind: FieldKind) -> usize {
        self.walk().iter().filter(|(_, n)| n.kind == kind).count()
    }

    /// The name of the innermost field whose bytes hold `offset` of the encoded message (a
    /// protobuf field's key and length belong to the field itself).
    pub fn field_at(&self, offset: usize) -> Option<&str> {
        self.node_at(offset).map(|(_, n)| n.name.as_str())
    }

    /// The innermost node whose bytes hold `offset` of the encoded message, and where its
    /// bytes start (a protobuf field's key and length belong to the field itself).
    pub fn node_at(&self, offset: usize) -> Option<(usize, &Node)> {
        fn go(nodes: &[Node], start: usize, offset: usize) -> Option<(usize, &Node)> {
            let mut at = start;
            for n in nodes {
                let len = n.encode().len();
                if (at..at + len).contains(&offset) {
                    if let Some(children) = n.children() {
                        // A length prefix or a protobuf key comes before the children.
                        let inner: usize = children.iter().map(|c| c.encode().len()).sum();
                        if let Some(found) = go(children, at + len - inner, offset) {
                            return Some(found);
                        }
                    }
                    return Some((at, n));
                }
                at += len;
            }
            None
        }
        go(&self.nodes, 0, offset)
    }

    /// If the bytes from `offset` to the end are one or more unknown fields appended to a
    /// sequence of this message, that sequence's name: an `extend` that appended well-formed
    /// unknown fields is the append-unknown change.
    pub fn appended_unknown(&self, offset: usize) -> Option<&str> {
        fn go<'a>(
            nodes: &'a [Node],
            start: usize,
            offset: usize,
            name: &'a str,
        ) -> Option<&'a str> {
            let mut at = start;
            for (i, n) in nodes.iter().enumerate() {
                let len = n.encode().len();
                if at >= offset && n.kind == FieldKind::Unknown {
                    // Every node from here to the end must be unknown too.
                    return nodes[i..]
                        .iter()
                        .all(|m| m.kind == FieldKind::Unknown)
                        .then_some(name);
                }
                if (at..at + len).contains(&offset) {
                    let children = n.children()?;
                    let inner: usize = children.iter().map(|c| c.encode().len()).sum();
                    return go(children, at + len - inner, offset, &n.name);
                }
                at += len;
            }
            None
        }
        go(&self.nodes, 0, offset, "message")
    }

    /// The node at `path`.
    pub fn get(&self, path: &[usize]) -> Option<&Node> {
        let (first, rest) = path.split_first()?;
        let mut node = self.nodes.get(*first)?;
        for &i in rest {
            node = node.children()?.get(i)?;
        }
        Some(node)
    }

    /// The node at `path`, mutably.
    pub fn get_mut(&mut self, path: &[usize]) -> Option<&mut Node> {
        let (first, rest) = path.split_first()?;
        let mut node = self.nodes.get_mut(*first)?;
        for &i in rest {
            node = node.children_mut()?.get_mut(i)?;
        }
        Some(node)
    }

    /// The children list that holds the node at `path` (the message's own for a top-level
    /// node), and the node's index in it.
    pub fn parent_mut(&mut self, path: &[usize]) -> Option<(&mut Vec<Node>, usize)> {
        let (last, up) = path.split_last()?;
        if up.is_empty() {
            return Some((&mut self.nodes, *last));
        }
        Some((self.get_mut(up)?.children_mut()?, *last))
    }

    /// The flavor of the sequence that holds the node at `path`.
    pub fn parent_flavor(&self, path: &[usize]) -> Flavor {
        let Some((_, up)) = path.split_last() else {
            return Flavor::Fixed;
        };
        if up.is_empty() {
            return self.top_flavor();
        }
        match self.get(up).map(|n| &n.body) {
            Some(Body::Seq { flavor, .. }) => *flavor,
            Some(Body::Field { .. }) => Flavor::Protobuf,
            Some(Body::Sized { content, .. }) if content.iter().any(is_field) => Flavor::Protobuf,
            Some(Body::Sized { .. }) => Flavor::Tls,
            _ => Flavor::Fixed,
        }
    }

    fn top_flavor(&self) -> Flavor {
        if self.nodes.iter().any(is_field) {
            Flavor::Protobuf
        } else {
            Flavor::Fixed
        }
    }
}

/// A wire message as its family compares it between peers and with its vectors: for a
/// family whose genuine senders write one message in several encodings
/// ([`FamilySpec::several_encodings`]), the message without the protobuf fields it declares
/// benign whatever their value, and with the protobuf fields of each message sorted by number
/// where it declares their order benign. `None` where the bytes are compared as they are: the
/// family declares no such re-encoding, has no codec, the bytes do not parse, or the form is
/// the bytes themselves. Authenticated parts keep their bytes (a MAC over another encoding
/// still differs), so only what no key or tag covers is set aside.
pub fn comparison_form(
    codec: Option<&dyn Codec>,
    spec: &FamilySpec,
    wire: &[u8],
) -> Option<Vec<u8>> {
    let codec = codec?;
    if !spec.several_encodings() || codec.under_one_mac(wire) {
        return None;
    }
    let mut message = codec.message(wire).ok()?;
    normalise(&mut message.nodes, spec);
    let form = message.encode();
    (form != wire).then_some(form)
}

/// [`comparison_form`] of one sequence of nodes and, inside them, of every nested one.
fn normalise(nodes: &mut Vec<Node>, spec: &FamilySpec) {
    nodes.retain(|n| !(is_field(n) && spec.benign(&n.name, "*").is_some()));
    if nodes
        .iter()
        .filter(|n| is_field(n))
        .all(|n| spec.benign(&n.name, "reorder").is_some())
    {
        let order = field_order(nodes);
        *nodes = order.into_iter().map(|i| nodes[i].clone()).collect();
    }
    for n in nodes.iter_mut() {
        if let Some(children) = n.children_mut() {
            normalise(children, spec);
        }
    }
}

/// The indices of `nodes` in field order: the protobuf fields by number (stable among equal
/// numbers) in the places fields hold, every other node where it is.
fn field_order(nodes: &[Node]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..nodes.len()).collect();
    let places: Vec<usize> = (0..nodes.len()).filter(|&i| is_field(&nodes[i])).collect();
    let mut by_number = places.clone();
    by_number.sort_by_key(|&i| match nodes[i].body {
        Body::Field { number, .. } => number,
        _ => u32::MAX,
    });
    for (place, i) in places.into_iter().zip(by_number) {
        order[place] = i;
    }
    order
}

fn is_field(n: &Node) -> bool {
    matches!(n.body, Body::Field { .. })
}

/// A wire message or bundle that does not parse as the family's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {reason}")]
pub struct CodecError {
    /// What was being read (`signal-dr message`, `olm pre-key message`).
    pub what: String,
    /// What is wrong, naming the field.
    pub reason: String,
}

impl CodecError {
    /// An error reading `what`.
    pub fn new(what: impl Into<String>, reason: impl Into<String>) -> CodecError {
        CodecError {
            what: what.into(),
            reason: reason.into(),
        }
    }
}

/// A family's codec: its wire messages and its set-up messages as typed fields.
pub trait Codec: Send + Sync {
    /// Parses a wire message.
    fn message(&self, wire: &[u8]) -> Result<Message, CodecError>;

    /// Parses a responder's bundle (what an initiator starts from), where the family's bundle
    /// has a structure worth attacking; `None` otherwise.
    fn bundle(&self, bundle: &[u8]) -> Option<Result<Message, CodecError>> {
        let _ = bundle;
        None
    }

    /// The family's protocol versions as its version field writes them, for the
    /// "other version" operator.
    fn versions(&self) -> &[u64] {
        &[]
    }

    /// A field number the family does not define, for inserted unknown protobuf fields.
    fn unknown_field_number(&self) -> u32 {
        15
    }

    /// Whether everything in `wire` but its type byte lies under one MAC, so that a
    /// re-encoding the family declares benign cannot be in it and its comparison form could
    /// not change a comparison ([`comparison_form`] then skips the parse: a jump's thousands
    /// of lost messages are mostly such).
    fn under_one_mac(&self, wire: &[u8]) -> bool {
        let _ = wire;
        false
    }
}
