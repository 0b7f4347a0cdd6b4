//! Families: the wire formats peers speak, each a declaration of what the oracles need to
//! judge a session of it.
//!
//! A [`Family`] is a handle on a [`FamilySpec`]. The bench's own families are constants
//! ([`Family::BUILT_IN`]); a peer whose wire format the bench does not know declares its own
//! spec ([`Family::declare`] in Rust, the `declares` object of a shim's hello), and gets the
//! same treatment: the ideal model built from the spec's properties, the security oracles its
//! capabilities allow, an interop matrix with every other peer of its family, and byte
//! comparison where randomness is injected. Two families are the same when their specs are
//! equal; peers that give one name two different specs are refused when selected.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

/// What the ideal model needs to know of a wire format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct FamilySpec {
    /// The family's name as used on the command line, in reports and in signatures.
    pub name: &'static str,
    /// One line on what the format is.
    pub description: &'static str,
    /// Whether a side starts a new sending chain after it hears from a newer chain of the
    /// other side (the Double Ratchet's DH step). In MLS each member keeps one application
    /// ratchet per epoch however messages interleave, and both members can send from the
    /// moment the group is joined; a Megolm sender's ratchet only moves forward.
    pub ratchets_per_turn: bool,
    /// Whether a receiver, when a message starts a new chain, stores the keys of the rest of
    /// the previous chain by the header's length of it (the Double Ratchet's PN and its
    /// SkipMessageKeys). Olm's headers carry no PN, and libsignal carries it but never reads
    /// it: such a receiver keeps the chains it has (up to its limit) and derives a late
    /// message of an older chain from where that chain stopped.
    pub uses_previous_length: bool,
    /// Whether a receiver deletes a message key once used, so that a replay must be refused.
    /// Megolm keeps the ratchet at the first index it knows and can decrypt any later index
    /// again: replay detection belongs to the application (by message index).
    pub deletes_used_keys: bool,
    /// Re-encodings the family declares benign: a peer accepting a message (or bundle) with
    /// such a change is conformant, not malleable, for the reason given.
    pub benign: &'static [Benign],
}

/// Changes of fields that a family declares benign, with the reason: accepting them gives an
/// attacker nothing (nothing derives from the field, or the family's specification and every
/// implementation take it so by design).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Benign {
    /// The fields' names in the family's codec (`registration-id`); `*` for any field.
    pub fields: &'static [&'static str],
    /// The changes, as finding signatures name them (`max-value`, `other-version-34`); `*`
    /// for any change.
    pub changes: &'static [&'static str],
    /// Why they are benign.
    pub reason: &'static str,
}

impl FamilySpec {
    /// The declaration that makes `change` of `field` benign, if there is one.
    pub fn benign(&self, field: &str, change: &str) -> Option<&'static Benign> {
        let hit = |list: &[&str], x: &str| list.iter().any(|l| *l == "*" || *l == x);
        self.benign
            .iter()
            .find(|b| hit(b.fields, field) && hit(b.changes, change))
    }

    /// Whether the family's genuine senders may write one message in several encodings: it
    /// declares a field benign whatever its value (a field a sender may leave out), or the
    /// order of every field benign. Such a family's messages are compared between peers, and
    /// with its vectors, in their comparison form ([`crate::codec::comparison_form`]).
    pub fn several_encodings(&self) -> bool {
        self.benign.iter().any(|b| {
            b.changes.contains(&"*") || (b.fields.contains(&"*") && b.changes.contains(&"reorder"))
        })
    }
}

/// The wire format a peer speaks. Peers of one family interoperate; peers of different
/// families are compared on outcomes only.
#[derive(Clone, Copy)]
pub struct Family(&'static FamilySpec);

const SIGNAL_DR: FamilySpec = FamilySpec {
    name: "signal-dr",
    description: "Signal's Double Ratchet under the bench's signal-dr profile",
    ratchets_per_turn: true,
    uses_previous_length: true,
    deletes_used_keys: true,
    benign: &[],
};

const DR2: FamilySpec = FamilySpec {
    name: "dr2",
    description: "double-ratchet-2's own format (AES-GCM-SIV, bincode headers)",
    ratchets_per_turn: true,
    uses_previous_length: true,
    deletes_used_keys: true,
    benign: &[],
};

const MLS: FamilySpec = FamilySpec {
    name: "mls",
    description: "MLS (RFC 9420) application messages, PrivateMessages keyed by the secret tree",
    ratchets_per_turn: false,
    uses_previous_length: true,
    deletes_used_keys: true,
    benign: &[],
};

const OLM: FamilySpec = FamilySpec {
    name: "olm",
    description: "Matrix's Olm v1: 3DH over identity and one-time keys, then the Olm ratchet",
    ratchets_per_turn: true,
    uses_previous_length: false,
    deletes_used_keys: true,
    benign: &[Benign {
        fields: &[
            "pre-key-payload",
            "one-time-key",
            "base-key",
            "identity-key",
            "message",
        ],
        changes: &["insert-unknown", "append-unknown", "duplicate", "reorder"],
        reason: "olm.md gives a pre-key message's payload as key-value pairs, outside any MAC, without saying what a reader does with an unknown, repeated or reordered key; the payload is bound by the keys it carries (3DH) and the inner message's own MAC, not by its bytes, and libolm, vodozemac and the reference all take the keys they know (a normal message's payload is under its MAC: no such change is benign there)",
    }],
};

const MEGOLM: FamilySpec = FamilySpec {
    name: "megolm",
    description: "Matrix's Megolm: one hash ratchet per sender, shared by its session key",
    ratchets_per_turn: false,
    uses_previous_length: true,
    deletes_used_keys: false,
    benign: &[],
};

/// What the Signal Protocol's families declare benign.
const REGISTRATION_ID: Benign = Benign {
    fields: &["registration-id"],
    changes: &["*"],
    reason: "nothing derives from a registration id: it rides outside the MAC (in a pre-key message's outer part, in the bundle) and libsignal stores it without checking it",
};
const FIELD_ORDER: Benign = Benign {
    fields: &["*"],
    changes: &["reorder"],
    reason: "protobuf lets fields come in any order, and genuine senders of the family write a pre-key message's fields in two orders (libsignal by number, libsignal-protocol-typescript as declared); its outer part is bound by the keys it carries, not by its bytes",
};
const VERSION_NIBBLE: &str = "a version-3 message's version byte is 33 from libaxolotl's ports and 34 from libsignal (its low nibble is the writer's newest version); readers take the high nibble, and a pre-key message's is outside the MAC";

const SIGNAL_V3: FamilySpec = FamilySpec {
    name: "signal-v3",
    description:
        "the Signal Protocol's version-3 session (X3DH, no Kyber, no SPQR) as libsignal speaks it",
    ratchets_per_turn: true,
    // libsignal writes previousCounter and never reads it (nor do libaxolotl's ports).
    uses_previous_length: false,
    deletes_used_keys: true,
    benign: &[
        REGISTRATION_ID,
        FIELD_ORDER,
        Benign {
            fields: &["device-id"],
            changes: &["*"],
            reason: "a bundle's device id addresses the device at the server and enters no key",
        },
        Benign {
            fields: &["version"],
            changes: &["other-version-33", "other-version-34"],
            reason: VERSION_NIBBLE,
        },
        Benign {
            fields: &["signed-pre-key-signature"],
            changes: &["s-plus-l"],
            reason: "XEdDSA's verification (Signal's XEdDSA specification, and libsignal) takes any s below 2^253, so s and s + q are both valid encodings of one signature; the bundle signed is the same",
        },
    ],
};

const LIBSIGNAL: FamilySpec = FamilySpec {
    name: "libsignal",
    description: "the Signal Protocol as libsignal speaks it today (PQXDH, SPQR), through shims",
    ratchets_per_turn: true,
    // As in version 3: libsignal writes previousCounter and never reads it.
    uses_previous_length: false,
    deletes_used_keys: true,
    benign: &[REGISTRATION_ID, FIELD_ORDER],
};

impl Family {
    /// Signal's Double Ratchet under the bench's `signal-dr` profile.
    pub const SIGNAL_DR: Family = Family(&SIGNAL_DR);
    /// double-ratchet-2's own format (AES-GCM-SIV, bincode headers).
    pub const DR2: Family = Family(&DR2);
    /// MLS (RFC 9420) application messages in a two-member group: `PrivateMessage`s keyed
    /// by the secret tree, cipher suite 1.
    pub const MLS: Family = Family(&MLS);
    /// Matrix's Olm v1 (pairwise): 3DH over identity and one-time keys, pre-key messages
    /// until the responder answers, then the Olm ratchet.
    pub const OLM: Family = Family(&OLM);
    /// Matrix's Megolm (group): one hash ratchet per sender, shared by its session key;
    /// each side of a two-party session owns one outbound session and imports the other's.
    pub const MEGOLM: Family = Family(&MEGOLM);
    /// The Signal Protocol's version-3 session (X3DH with a signed pre-key and an optional
    /// one-time pre-key, no Kyber pre-key, no SPQR) in libsignal's wire format, spoken by
    /// libsignal up to 0.72, its ports and the bundled reference.
    pub const SIGNAL_V3: Family = Family(&SIGNAL_V3);
    /// The Signal Protocol as libsignal implements it today (PQXDH session set-up, then its
    /// Double Ratchet with SPQR and its own protobuf wire format); only reachable through a
    /// shim.
    pub const LIBSIGNAL: Family = Family(&LIBSIGNAL);

    /// The families the bench declares itself, in report order.
    pub const BUILT_IN: [Family; 7] = [
        Family::SIGNAL_DR,
        Family::DR2,
        Family::MLS,
        Family::OLM,
        Family::MEGOLM,
        Family::SIGNAL_V3,
        Family::LIBSIGNAL,
    ];

    /// The family of a spec a peer declares (a `static` of its own, in Rust).
    pub const fn declare(spec: &'static FamilySpec) -> Family {
        Family(spec)
    }

    /// The built-in family named `name`, if there is one.
    pub fn built_in(name: &str) -> Option<Family> {
        Family::BUILT_IN.into_iter().find(|f| f.name() == name)
    }

    /// The family a peer declares at run time (a shim's hello), checked as
    /// [`Family::check_declared`] does: a built-in name with the built-in's properties is
    /// the built-in family; a new name is stored once per distinct spec for the rest of the
    /// process (a few bytes per declaration, never freed, so that [`Family`] stays `Copy`).
    pub fn declare_at_run_time(
        name: &str,
        description: &str,
        properties: Properties,
    ) -> Result<Family, DeclarationError> {
        let wanted = |spec: &FamilySpec| {
            spec.name == name && spec.description == description && properties.of(spec)
        };
        if let Some(built_in) = Family::built_in(name) {
            return if properties.of(built_in.spec()) {
                Ok(built_in)
            } else {
                Err(DeclarationError::BuiltIn {
                    family: name.to_string(),
                    declared: properties,
                    built_in: Properties::from(built_in.spec()),
                })
            };
        }
        check_name(name)?;
        if description.trim().is_empty() {
            return Err(DeclarationError::NoDescription {
                family: name.to_string(),
            });
        }
        let mut declared = DECLARED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(spec) = declared.iter().copied().find(|s| wanted(s)) {
            return Ok(Family(spec));
        }
        let spec: &'static FamilySpec = Box::leak(Box::new(FamilySpec {
            name: Box::leak(name.to_string().into_boxed_str()),
            description: Box::leak(description.to_string().into_boxed_str()),
            ratchets_per_turn: properties.ratchets_per_turn,
            uses_previous_length: properties.uses_previous_length,
            deletes_used_keys: properties.deletes_used_keys,
            benign: &[],
        }));
        declared.push(spec);
        Ok(Family(spec))
    }

    /// Checks a family a peer declares: a declared name is lowercase letters, digits, `.`
    /// and `-` (it shows in signatures, peer names and on the command line), and a built-in
    /// name must come with the built-in's properties. Run before a gate or a run starts, so
    /// that a peer that names a built-in family wrongly is refused rather than misjudged.
    pub fn check_declared(self) -> Result<(), DeclarationError> {
        if let Some(built_in) = Family::built_in(self.name()) {
            if built_in.spec() != self.spec() {
                return Err(DeclarationError::BuiltIn {
                    family: self.name().to_string(),
                    declared: Properties::from(self.spec()),
                    built_in: Properties::from(built_in.spec()),
                });
            }
            return Ok(());
        }
        check_name(self.name())
    }

    /// The distinct families of `families`, in report order (the built-in ones in their
    /// order, then the declared ones by name): the families a run or a gate goes through.
    pub fn present(families: impl IntoIterator<Item = Family>) -> Vec<Family> {
        let mut all: Vec<Family> = families.into_iter().collect();
        all.sort();
        all.dedup();
        all
    }

    /// Checks that the peers described by `peers` agree on their families: every declared
    /// family passes [`Family::check_declared`], and no two peers give one family name two
    /// different specs (the error names both peers). Selecting peers runs it, so that two
    /// shims that disagree about a family are refused before anything runs.
    pub fn check_agreement<'a>(
        peers: impl IntoIterator<Item = (&'a str, Family)>,
    ) -> Result<(), DeclarationError> {
        let mut seen: Vec<(&str, Family)> = Vec::new();
        for (peer, family) in peers {
            family.check_declared().map_err(|e| e.of_peer(peer))?;
            if let Some((first, other)) = seen
                .iter()
                .find(|(_, f)| f.name() == family.name() && *f != family)
            {
                return Err(DeclarationError::Disagree {
                    family: family.name().to_string(),
                    first: (*first).to_string(),
                    first_spec: describe(other.spec()),
                    second: peer.to_string(),
                    second_spec: describe(family.spec()),
                });
            }
            seen.push((peer, family));
        }
        Ok(())
    }

    /// The declaration.
    pub fn spec(self) -> &'static FamilySpec {
        self.0
    }

    /// The family's name as used on the command line and in reports.
    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// Whether the family is one of the bench's own ([`Family::BUILT_IN`]).
    pub fn is_built_in(self) -> bool {
        Family::BUILT_IN.contains(&self)
    }

    /// [`FamilySpec::ratchets_per_turn`].
    pub fn ratchets_per_turn(self) -> bool {
        self.0.ratchets_per_turn
    }

    /// [`FamilySpec::uses_previous_length`].
    pub fn uses_previous_length(self) -> bool {
        self.0.uses_previous_length
    }

    /// [`FamilySpec::deletes_used_keys`].
    pub fn deletes_used_keys(self) -> bool {
        self.0.deletes_used_keys
    }

    /// Where the family comes in reports: the built-in families in their order, then the
    /// declared ones by name.
    fn rank(self) -> (usize, &'static str) {
        let position = Family::BUILT_IN
            .iter()
            .position(|f| f.0 == self.0)
            .unwrap_or(Family::BUILT_IN.len());
        (position, self.0.name)
    }
}

/// The declarations made at run time ([`Family::declare_at_run_time`]), each stored once.
static DECLARED: Mutex<Vec<&'static FamilySpec>> = Mutex::new(Vec::new());

/// The longest name a declared family may have.
const MAX_NAME: usize = 40;

fn check_name(name: &str) -> Result<(), DeclarationError> {
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.');
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if first_ok && name.len() <= MAX_NAME && name.chars().all(ok) {
        Ok(())
    } else {
        Err(DeclarationError::Name {
            family: name.to_string(),
        })
    }
}

fn describe(spec: &FamilySpec) -> String {
    format!("{:?}, {}", spec.description, Properties::from(spec))
}

/// What the oracles read of a family: a [`FamilySpec`] without its name and description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Properties {
    /// [`FamilySpec::ratchets_per_turn`].
    pub ratchets_per_turn: bool,
    /// [`FamilySpec::uses_previous_length`].
    pub uses_previous_length: bool,
    /// [`FamilySpec::deletes_used_keys`].
    pub deletes_used_keys: bool,
}

impl Properties {
    fn of(self, spec: &FamilySpec) -> bool {
        self == Properties::from(spec)
    }
}

impl From<&FamilySpec> for Properties {
    fn from(spec: &FamilySpec) -> Self {
        Properties {
            ratchets_per_turn: spec.ratchets_per_turn,
            uses_previous_length: spec.uses_previous_length,
            deletes_used_keys: spec.deletes_used_keys,
        }
    }
}

impl fmt::Display for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ratchets_per_turn {}, uses_previous_length {}, deletes_used_keys {}",
            self.ratchets_per_turn, self.uses_previous_length, self.deletes_used_keys
        )
    }
}

/// A family declaration the bench refuses.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeclarationError {
    /// A built-in family's name with other properties than the built-in's.
    #[error("{family:?} is a built-in family ({built_in}); a declaration with {declared} is another format: give it another name")]
    BuiltIn {
        /// The name.
        family: String,
        /// What was declared.
        declared: Properties,
        /// What the built-in family says.
        built_in: Properties,
    },
    /// A name that cannot be used in signatures and on the command line.
    #[error("family name {family:?}: expected 1 to 40 lowercase letters, digits, '.' or '-', starting with a letter or a digit")]
    Name {
        /// The name.
        family: String,
    },
    /// A declaration without a description.
    #[error("family {family:?}: expected a description, got none")]
    NoDescription {
        /// The name.
        family: String,
    },
    /// Two peers give one family name two different specs.
    #[error("peers {first:?} and {second:?} declare the family {family:?} differently ({first}: {first_spec}; {second}: {second_spec}); peers of one family must agree on its spec")]
    Disagree {
        /// The name.
        family: String,
        /// The first peer.
        first: String,
        /// Its spec, as text.
        first_spec: String,
        /// The second peer.
        second: String,
        /// Its spec, as text.
        second_spec: String,
    },
    /// A declaration of one peer that is refused.
    #[error("peer {peer:?}: {source}")]
    Peer {
        /// The peer.
        peer: String,
        /// Why.
        source: Box<DeclarationError>,
    },
}

impl DeclarationError {
    fn of_peer(self, peer: &str) -> DeclarationError {
        DeclarationError::Peer {
            peer: peer.to_string(),
            source: Box::new(self),
        }
    }
}

impl PartialEq for Family {
    fn eq(&self, other: &Family) -> bool {
        std::ptr::eq(self.0, other.0) || self.0 == other.0
    }
}

impl Eq for Family {}

impl Hash for Family {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl PartialOrd for Family {
    fn partial_cmp(&self, other: &Family) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Family {
    fn cmp(&self, other: &Family) -> Ordering {
        self.rank()
            .cmp(&other.rank())
            .then_with(|| self.0.description.cmp(other.0.description))
            .then_with(|| {
                let flags = |s: &FamilySpec| {
                    (
                        s.ratchets_per_turn,
                        s.uses_previous_length,
                        s.deletes_used_keys,
                    )
                };
                flags(self.0).cmp(&flags(other.0))
            })
    }
}

impl fmt::Debug for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A family is written as its name.
impl Serialize for Family {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// A family is read back from its name: a built-in family, one of the declared families
/// given to [`Family::with_declared`] around the read (a report that carries their specs),
/// or one a peer of this process declared at run time ([`Family::declare_at_run_time`]).
/// Any other name alone does not say how to judge the family, so reading one is an error.
impl<'de> Deserialize<'de> for Family {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        let scoped = || SCOPED.with(|d| d.borrow().iter().copied().find(|f| f.name() == name));
        let declared = || {
            let declared = DECLARED
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut named = declared.iter().filter(|s| s.name == name);
            match (named.next(), named.next()) {
                (Some(spec), None) => Some(Family(spec)),
                _ => None,
            }
        };
        Family::built_in(&name).or_else(scoped).or_else(declared).ok_or_else(|| {
            let known: Vec<&str> = Family::BUILT_IN.iter().map(|f| f.name()).collect();
            serde::de::Error::custom(format!(
                "unknown family {name:?}: expected one of {} (a declared family is read only where a peer declared it)",
                known.join(", ")
            ))
        })
    }
}

thread_local! {
    /// The declared families a read on this thread may name ([`Family::with_declared`]).
    static SCOPED: std::cell::RefCell<Vec<Family>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Family {
    /// Runs `read` (a deserialisation) with the declared families `declared` readable by
    /// name, as a report that carries their specs reads its peers back.
    pub fn with_declared<T>(declared: &[Family], read: impl FnOnce() -> T) -> T {
        let before = SCOPED.with(|d| d.replace(declared.to_vec()));
        let out = read();
        SCOPED.with(|d| d.replace(before));
        out
    }
}

/// A spec is read back as written (a report carries its declared families' specs). Its
/// strings are leaked: a family lives as long as the process, as a declared `static` does.
impl<'de> Deserialize<'de> for FamilySpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Written {
            name: String,
            description: String,
            ratchets_per_turn: bool,
            uses_previous_length: bool,
            deletes_used_keys: bool,
            #[serde(default)]
            benign: Vec<WrittenBenign>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct WrittenBenign {
            fields: Vec<String>,
            changes: Vec<String>,
            reason: String,
        }
        fn leak_all(list: Vec<String>) -> &'static [&'static str] {
            let leaked: Vec<&'static str> = list.into_iter().map(|s| &*s.leak()).collect();
            leaked.leak()
        }
        let w = Written::deserialize(deserializer)?;
        let benign: Vec<Benign> = w
            .benign
            .into_iter()
            .map(|b| Benign {
                fields: leak_all(b.fields),
                changes: leak_all(b.changes),
                reason: b.reason.leak(),
            })
            .collect();
        Ok(FamilySpec {
            name: w.name.leak(),
            description: w.description.leak(),
            ratchets_per_turn: w.ratchets_per_turn,
            uses_previous_length: w.uses_previous_length,
            deletes_used_keys: w.deletes_used_keys,
            benign: benign.leak(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_families_keep_their_order_and_declared_ones_follow() {
        static MINE: FamilySpec = FamilySpec {
            name: "aaa-mine",
            description: "a team's own format",
            ratchets_per_turn: true,
            uses_previous_length: false,
            deletes_used_keys: true,
            benign: &[],
        };
        let mut all = vec![Family::declare(&MINE)];
        all.extend(Family::BUILT_IN.iter().rev());
        all.sort();
        let names: Vec<&str> = all.iter().map(|f| f.name()).collect();
        assert_eq!(
            names,
            [
                "signal-dr",
                "dr2",
                "mls",
                "olm",
                "megolm",
                "signal-v3",
                "libsignal",
                "aaa-mine"
            ]
        );
        assert!(!Family::declare(&MINE).is_built_in());
        assert_eq!(Family::built_in("olm"), Some(Family::OLM));
    }

    #[test]
    fn a_declared_family_reads_back_with_its_spec_and_not_without() {
        static MINE: FamilySpec = FamilySpec {
            name: "team-format",
            description: "a team's own format",
            ratchets_per_turn: true,
            uses_previous_length: false,
            deletes_used_keys: true,
            benign: &[Benign {
                fields: &["device-id"],
                changes: &["*"],
                reason: "nothing derives from it",
            }],
        };
        let mine = Family::declare(&MINE);
        let spec: FamilySpec =
            serde_json::from_str(&serde_json::to_string(mine.spec()).unwrap()).unwrap();
        assert_eq!(spec, MINE);
        let written = serde_json::to_string(&mine).unwrap();
        let err = serde_json::from_str::<Family>(&written).unwrap_err();
        assert!(err.to_string().contains("team-format"), "{err}");
        let read = Family::declare(Box::leak(Box::new(spec)));
        let back: Family =
            Family::with_declared(&[read], || serde_json::from_str(&written).unwrap());
        assert_eq!(back, mine);
        assert!(
            serde_json::from_str::<Family>(&written).is_err(),
            "the scope ends"
        );
    }

    #[test]
    fn a_family_is_its_spec_not_where_it_is_stored() {
        let copy: &'static FamilySpec = Box::leak(Box::new(*Family::OLM.spec()));
        assert_eq!(Family::declare(copy), Family::OLM);
        let other: &'static FamilySpec = Box::leak(Box::new(FamilySpec {
            deletes_used_keys: false,
            ..*Family::OLM.spec()
        }));
        assert_ne!(Family::declare(other), Family::OLM);
    }

    #[test]
    fn a_run_time_declaration_is_stored_once_and_checked() {
        let props = Properties {
            ratchets_per_turn: false,
            uses_previous_length: false,
            deletes_used_keys: true,
        };
        let a = Family::declare_at_run_time("test-own", "a test format", props).unwrap();
        let b = Family::declare_at_run_time("test-own", "a test format", props).unwrap();
        assert!(std::ptr::eq(a.spec(), b.spec()), "one spec per declaration");
        assert!(!a.is_built_in());
        assert_eq!(
            serde_json::from_str::<Family>("\"test-own\"").unwrap(),
            a,
            "a declared family reads back by its name"
        );
        let olm = Properties::from(Family::OLM.spec());
        assert_eq!(
            Family::declare_at_run_time("olm", "my olm", olm).unwrap(),
            Family::OLM,
            "a built-in name with the built-in's properties is the built-in family"
        );
        let e = Family::declare_at_run_time(
            "olm",
            "x",
            Properties {
                deletes_used_keys: false,
                ..olm
            },
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "\"olm\" is a built-in family (ratchets_per_turn true, uses_previous_length false, \
             deletes_used_keys true); a declaration with ratchets_per_turn true, \
             uses_previous_length false, deletes_used_keys false is another format: give it \
             another name"
        );
        assert!(matches!(
            Family::declare_at_run_time("Bad Name", "x", props),
            Err(DeclarationError::Name { .. })
        ));
        assert!(matches!(
            Family::declare_at_run_time("fine", " ", props),
            Err(DeclarationError::NoDescription { .. })
        ));
    }

    #[test]
    fn peers_that_disagree_on_a_family_are_named() {
        static ONE: FamilySpec = FamilySpec {
            name: "test-shared",
            description: "one",
            ratchets_per_turn: true,
            uses_previous_length: true,
            deletes_used_keys: true,
            benign: &[],
        };
        static TWO: FamilySpec = FamilySpec {
            deletes_used_keys: false,
            ..ONE
        };
        static FAKE_OLM: FamilySpec = FamilySpec { name: "olm", ..ONE };
        let one = Family::declare(&ONE);
        assert!(Family::check_agreement([("a", one), ("b", one), ("c", Family::OLM)]).is_ok());
        let e = Family::check_agreement([("a", one), ("b", Family::declare(&TWO))]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "peers \"a\" and \"b\" declare the family \"test-shared\" differently (a: \"one\", \
             ratchets_per_turn true, uses_previous_length true, deletes_used_keys true; b: \
             \"one\", ratchets_per_turn true, uses_previous_length true, deletes_used_keys \
             false); peers of one family must agree on its spec"
        );
        let e = Family::check_agreement([("mine", Family::declare(&FAKE_OLM))]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("peer \"mine\": \"olm\" is a built-in family"),
            "{e}"
        );
        assert_eq!(
            Family::present([one, Family::OLM, one, Family::SIGNAL_DR]),
            [Family::SIGNAL_DR, Family::OLM, one]
        );
    }
}
