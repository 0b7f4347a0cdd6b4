//! The secret tree (RFC 9420 §9): per-leaf secrets derived down the tree from the epoch's
//! `encryption_secret`, and from each leaf a handshake and an application ratchet (§9.1).
//!
//! ```text
//! tree_node_[root]_secret = encryption_secret
//! left  = ExpandWithLabel(tree_node_[N]_secret, "tree", "left",  KDF.Nh)
//! right = ExpandWithLabel(tree_node_[N]_secret, "tree", "right", KDF.Nh)
//!
//! handshake_ratchet_secret_[N]_[0]   = ExpandWithLabel(leaf secret, "handshake",   "", KDF.Nh)
//! application_ratchet_secret_[N]_[0] = ExpandWithLabel(leaf secret, "application", "", KDF.Nh)
//!
//! ratchet_key_[i]_[j]      = DeriveTreeSecret(ratchet_secret_[i]_[j], "key",    j, AEAD.Nk)
//! ratchet_nonce_[i]_[j]    = DeriveTreeSecret(ratchet_secret_[i]_[j], "nonce",  j, AEAD.Nn)
//! ratchet_secret_[i]_[j+1] = DeriveTreeSecret(ratchet_secret_[i]_[j], "secret", j, KDF.Nh)
//! ```
//!
//! This reference derives on demand and keeps nothing but the root secret; it does not
//! delete consumed secrets as §9.2 requires of an implementation, since it never holds a
//! group's live state.

use super::labels::{derive_tree_secret, expand_with_label, LabelError};
use super::{tree_math, CipherSuite};
use std::fmt;

/// Why a secret-tree derivation failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretTreeError {
    /// RFC 9420 trees have a power-of-two number of leaves, at least one.
    #[error("expected a power-of-two number of leaves, got {0}")]
    Leaves(u32),
    /// The leaf is not in the tree.
    #[error("expected a leaf below {n_leaves}, got {leaf}")]
    Leaf {
        /// The leaf asked for.
        leaf: u32,
        /// The tree's leaves.
        n_leaves: u32,
    },
    /// The ratchet cannot go past generation 2^32 - 1.
    #[error("the ratchet is at generation {0}, the last one")]
    Exhausted(u32),
    /// A labelled derivation failed.
    #[error(transparent)]
    Label(#[from] LabelError),
}

/// Which of a leaf's two ratchets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RatchetKind {
    /// Handshake messages (label "handshake").
    Handshake,
    /// Application messages (label "application").
    Application,
}

impl RatchetKind {
    fn label(self) -> &'static [u8] {
        match self {
            RatchetKind::Handshake => b"handshake",
            RatchetKind::Application => b"application",
        }
    }
}

/// An epoch's secret tree over `n_leaves` leaves.
#[derive(Clone)]
pub struct SecretTree {
    suite: CipherSuite,
    n_leaves: u32,
    encryption_secret: Vec<u8>,
}

impl fmt::Debug for SecretTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretTree")
            .field("suite", &self.suite.id())
            .field("n_leaves", &self.n_leaves)
            .finish_non_exhaustive()
    }
}

impl SecretTree {
    /// The tree rooted at `encryption_secret`.
    pub fn new(
        suite: CipherSuite,
        encryption_secret: &[u8],
        n_leaves: u32,
    ) -> Result<SecretTree, SecretTreeError> {
        if !n_leaves.is_power_of_two() {
            return Err(SecretTreeError::Leaves(n_leaves));
        }
        Ok(SecretTree {
            suite,
            n_leaves,
            encryption_secret: encryption_secret.to_vec(),
        })
    }

    /// The secret of leaf `leaf`, derived along the path from the root.
    pub fn leaf_secret(&self, leaf: u32) -> Result<Vec<u8>, SecretTreeError> {
        if leaf >= self.n_leaves {
            return Err(SecretTreeError::Leaf {
                leaf,
                n_leaves: self.n_leaves,
            });
        }
        let target = 2 * leaf;
        let mut node = tree_math::root(self.n_leaves);
        let mut secret = self.encryption_secret.clone();
        while node != target {
            // Each step halves the span, so this ends at the leaf.
            let (next, side) = match (tree_math::left(node), tree_math::right(node)) {
                (Some(l), _) if target < node => (l, &b"left"[..]),
                (_, Some(r)) => (r, &b"right"[..]),
                _ => break,
            };
            secret = expand_with_label(self.suite, &secret, b"tree", side, self.suite.hash_len())?;
            node = next;
        }
        Ok(secret)
    }

    /// Leaf `leaf`'s `kind` ratchet at generation 0.
    pub fn ratchet(&self, leaf: u32, kind: RatchetKind) -> Result<Ratchet, SecretTreeError> {
        let leaf_secret = self.leaf_secret(leaf)?;
        let secret = expand_with_label(
            self.suite,
            &leaf_secret,
            kind.label(),
            &[],
            self.suite.hash_len(),
        )?;
        Ok(Ratchet {
            suite: self.suite,
            generation: 0,
            secret,
        })
    }
}

/// A symmetric ratchet of one leaf (RFC 9420 §9.1): its generation and secret.
#[derive(Clone)]
pub struct Ratchet {
    suite: CipherSuite,
    generation: u32,
    secret: Vec<u8>,
}

impl fmt::Debug for Ratchet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ratchet")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl Ratchet {
    /// The current generation.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// The AEAD key and nonce of the current generation.
    pub fn key_nonce(&self) -> Result<(Vec<u8>, Vec<u8>), SecretTreeError> {
        let j = self.generation;
        let key = derive_tree_secret(self.suite, &self.secret, b"key", j, self.suite.key_len())?;
        let nonce = derive_tree_secret(
            self.suite,
            &self.secret,
            b"nonce",
            j,
            self.suite.nonce_len(),
        )?;
        Ok((key, nonce))
    }

    /// Moves to the next generation ("secret").
    pub fn advance(&mut self) -> Result<(), SecretTreeError> {
        let j = self.generation;
        let next = j.checked_add(1).ok_or(SecretTreeError::Exhausted(j))?;
        self.secret = derive_tree_secret(
            self.suite,
            &self.secret,
            b"secret",
            j,
            self.suite.hash_len(),
        )?;
        self.generation = next;
        Ok(())
    }

    /// Moves forward to `generation`; at or past it already, it stays where it is.
    pub fn advance_to(&mut self, generation: u32) -> Result<(), SecretTreeError> {
        while self.generation < generation {
            self.advance()?;
        }
        Ok(())
    }
}
