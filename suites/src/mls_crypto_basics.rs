//! crypto-basics.json (RFC 9420 §5): the schema and checks are in [`super::mls`]'s module
//! documentation.

use super::mls::{same, Parts};
use super::HexBytes;
use ratchet_bench_references::mls::hpke::{decrypt_with_label, kem_public_key};
use ratchet_bench_references::mls::signature::{
    sign_with_label, signature_public_key, verify_with_label,
};
use ratchet_bench_references::mls::{
    derive_secret, derive_tree_secret, expand_with_label, ref_hash, CipherSuite,
};
use serde::Deserialize;

/// One case of crypto-basics.json: one cipher suite.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CryptoBasicsCase {
    /// The cipher suite's number.
    pub cipher_suite: u16,
    /// RefHash(label, value) = out.
    pub ref_hash: RefHashCase,
    /// ExpandWithLabel(secret, label, context, length) = out.
    pub expand_with_label: ExpandWithLabelCase,
    /// DeriveSecret(secret, label) = out.
    pub derive_secret: DeriveSecretCase,
    /// DeriveTreeSecret(secret, label, generation, length) = out.
    pub derive_tree_secret: DeriveTreeSecretCase,
    /// VerifyWithLabel(pub, label, content, signature) holds.
    pub sign_with_label: SignWithLabelCase,
    /// DecryptWithLabel(priv, label, context, kem_output, ciphertext) = plaintext.
    pub encrypt_with_label: EncryptWithLabelCase,
}

/// The RefHash part.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefHashCase {
    /// The label, as text.
    pub label: String,
    /// The value hashed.
    pub value: HexBytes,
    /// The hash.
    pub out: HexBytes,
}

/// The ExpandWithLabel part.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpandWithLabelCase {
    /// The secret.
    pub secret: HexBytes,
    /// The label, as text.
    pub label: String,
    /// The context.
    pub context: HexBytes,
    /// The output length.
    pub length: u16,
    /// The output.
    pub out: HexBytes,
}

/// The DeriveSecret part.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeriveSecretCase {
    /// The secret.
    pub secret: HexBytes,
    /// The label, as text.
    pub label: String,
    /// The output.
    pub out: HexBytes,
}

/// The DeriveTreeSecret part.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeriveTreeSecretCase {
    /// The secret.
    pub secret: HexBytes,
    /// The label, as text.
    pub label: String,
    /// The generation.
    pub generation: u32,
    /// The output length.
    pub length: u16,
    /// The output.
    pub out: HexBytes,
}

/// The SignWithLabel part.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignWithLabelCase {
    /// The signing key.
    #[serde(rename = "priv")]
    pub private: HexBytes,
    /// The verification key.
    #[serde(rename = "pub")]
    pub public: HexBytes,
    /// The content signed.
    pub content: HexBytes,
    /// The label, as text.
    pub label: String,
    /// A signature by `priv`.
    pub signature: HexBytes,
}

/// The EncryptWithLabel part.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptWithLabelCase {
    /// The KEM private key.
    #[serde(rename = "priv")]
    pub private: HexBytes,
    /// The KEM public key.
    #[serde(rename = "pub")]
    pub public: HexBytes,
    /// The label, as text.
    pub label: String,
    /// The context.
    pub context: HexBytes,
    /// The plaintext.
    pub plaintext: HexBytes,
    /// The KEM output (`enc`).
    pub kem_output: HexBytes,
    /// The ciphertext.
    pub ciphertext: HexBytes,
}

/// Checks one crypto-basics case; the error is the first difference.
pub fn check_crypto_basics(suite: CipherSuite, case: &CryptoBasicsCase) -> Result<Parts, String> {
    let mut parts = Parts::new(format!("suite {}", suite.id()));
    let r = &case.ref_hash;
    let got =
        ref_hash(suite, r.label.as_bytes(), &r.value).map_err(|e| format!("ref_hash: {e}"))?;
    same("ref_hash.out".into(), &r.out, &got)?;
    parts.checked("ref_hash");

    let e = &case.expand_with_label;
    let got = expand_with_label(
        suite,
        &e.secret,
        e.label.as_bytes(),
        &e.context,
        usize::from(e.length),
    )
    .map_err(|err| format!("expand_with_label: {err}"))?;
    same("expand_with_label.out".into(), &e.out, &got)?;
    parts.checked("expand_with_label");

    let d = &case.derive_secret;
    let got = derive_secret(suite, &d.secret, d.label.as_bytes())
        .map_err(|err| format!("derive_secret: {err}"))?;
    same("derive_secret.out".into(), &d.out, &got)?;
    parts.checked("derive_secret");

    let t = &case.derive_tree_secret;
    let got = derive_tree_secret(
        suite,
        &t.secret,
        t.label.as_bytes(),
        t.generation,
        usize::from(t.length),
    )
    .map_err(|err| format!("derive_tree_secret: {err}"))?;
    same("derive_tree_secret.out".into(), &t.out, &got)?;
    parts.checked("derive_tree_secret");

    let s = &case.sign_with_label;
    match signature_public_key(suite, &s.private) {
        Err(why) => parts.skipped("sign_with_label", why),
        Ok(public) => {
            same("sign_with_label.pub".into(), &s.public, &public)?;
            verify_with_label(
                suite,
                &s.public,
                s.label.as_bytes(),
                &s.content,
                &s.signature,
            )
            .map_err(|err| format!("sign_with_label.signature: {err}"))?;
            // Ed25519 is deterministic: signing again gives the same bytes.
            let again = sign_with_label(suite, &s.private, s.label.as_bytes(), &s.content)
                .map_err(|err| format!("sign_with_label: {err}"))?;
            same("sign_with_label.signature".into(), &s.signature, &again)?;
            parts.checked("sign_with_label");
        }
    }

    let h = &case.encrypt_with_label;
    match kem_public_key(suite, &h.private) {
        Err(why) => parts.skipped("encrypt_with_label", why),
        Ok(public) => {
            same("encrypt_with_label.pub".into(), &h.public, &public)?;
            let plaintext = decrypt_with_label(
                suite,
                &h.private,
                h.label.as_bytes(),
                &h.context,
                &h.kem_output,
                &h.ciphertext,
            )
            .map_err(|err| format!("encrypt_with_label.ciphertext: {err}"))?;
            same(
                "encrypt_with_label.plaintext".into(),
                &h.plaintext,
                &plaintext,
            )?;
            parts.checked("encrypt_with_label");
        }
    }
    Ok(parts)
}
