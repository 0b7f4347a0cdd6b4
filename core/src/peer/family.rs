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
};

const DR2: FamilySpec = FamilySpec {
    name: "dr2",
    description: "double-ratchet-2's own format (AES-GCM-SIV, bincode headers)",
    ratchets_per_turn: true,
    uses_previous_length: true,
    deletes_used_keys: true,
};

const MLS: FamilySpec = FamilySpec {
    name: "mls",
    description: "MLS (RFC 9420) application messages, PrivateMessages keyed by the secret tree",
    ratchets_per_turn: false,
    uses_previous_length: true,
    deletes_used_keys: true,
};

const OLM: FamilySpec = FamilySpec {
    name: "olm",
    description: "Matrix's Olm v1: 3DH over identity and one-time keys, then the Olm ratchet",
    ratchets_per_turn: true,
    uses_previous_length: false,
    deletes_used_keys: true,
};

const MEGOLM: FamilySpec = FamilySpec {
    name: "megolm",
    description: "Matrix's Megolm: one hash ratchet per sender, shared by its session key",
    ratchets_per_turn: false,
    uses_previous_length: true,
    deletes_used_keys: false,
};

const SIGNAL_V3: FamilySpec = FamilySpec {
    name: "signal-v3",
    description:
        "the Signal Protocol's version-3 session (X3DH, no Kyber, no SPQR) as libsignal speaks it",
    ratchets_per_turn: true,
    // libsignal writes previousCounter and never reads it (nor do libaxolotl's ports).
    uses_previous_length: false,
    deletes_used_keys: true,
};

const LIBSIGNAL: FamilySpec = FamilySpec {
    name: "libsignal",
    description: "the Signal Protocol as libsignal speaks it today (PQXDH, SPQR), through shims",
    ratchets_per_turn: true,
    uses_previous_length: true,
    deletes_used_keys: true,
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

/// A family is read back from its name: a built-in family, or one of the declared families
/// given to [`Family::with_declared`] around the read. A declared family's name alone does
/// not say how to judge it, so reading one without its spec is an error.
impl<'de> Deserialize<'de> for Family {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        if let Some(f) = Family::built_in(&name) {
            return Ok(f);
        }
        let declared = DECLARED.with(|d| d.borrow().iter().copied().find(|f| f.name() == name));
        declared.ok_or_else(|| {
            let known: Vec<&str> = Family::BUILT_IN.iter().map(|f| f.name()).collect();
            serde::de::Error::custom(format!(
                "unknown family {name:?}: expected one of {} (a declared family is read only with its spec)",
                known.join(", ")
            ))
        })
    }
}

thread_local! {
    /// The declared families a read on this thread may name ([`Family::with_declared`]).
    static DECLARED: std::cell::RefCell<Vec<Family>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Family {
    /// Runs `read` (a deserialisation) with the declared families `declared` readable by
    /// name, as a report that carries their specs reads its peers back.
    pub fn with_declared<T>(declared: &[Family], read: impl FnOnce() -> T) -> T {
        let before = DECLARED.with(|d| d.replace(declared.to_vec()));
        let out = read();
        DECLARED.with(|d| d.replace(before));
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
        }
        let w = Written::deserialize(deserializer)?;
        Ok(FamilySpec {
            name: w.name.leak(),
            description: w.description.leak(),
            ratchets_per_turn: w.ratchets_per_turn,
            uses_previous_length: w.uses_previous_length,
            deletes_used_keys: w.deletes_used_keys,
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
}
