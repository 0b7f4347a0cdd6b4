//! The parts of MLS (RFC 9420) that the published tree-math and secret-tree vectors check:
//! the left-balanced binary tree's index arithmetic, the labelled key derivations, and the
//! secret tree with its per-leaf handshake and application ratchets and the sender-data
//! key and nonce.
//!
//! Only the hash and the AEAD's key and nonce sizes of a cipher suite matter here, so every
//! suite of RFC 9420 §17.1 (1 to 7) is covered with HKDF over SHA-256, SHA-384 or SHA-512.
//! One file per concept, named after the RFC's own terms.

mod cipher_suite;
mod labels;
mod secret_tree;
mod sender_data;
pub mod tree_math;

pub use cipher_suite::{CipherSuite, Hash, UnknownCipherSuite};
pub use labels::{
    derive_secret, derive_tree_secret, encode_varint, expand_with_label, kdf_label, LabelError,
    MLS_LABEL_PREFIX,
};
pub use secret_tree::{Ratchet, RatchetKind, SecretTree, SecretTreeError};
pub use sender_data::{sender_data_key_nonce, SenderDataKeyNonce};
