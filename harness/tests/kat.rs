//! Known answers for each step of the signal-dr profile, computed by an independent
//! implementation: tests/kat/signal_dr_kat.py (pyca/cryptography over OpenSSL). Re-run the
//! script to check the values below.

// Test helpers may fail loudly, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ratchet_bench::reference::signal_dr::{
    decrypt, encrypt, kdf_ck, kdf_rk, ChainKey, DoubleRatchet, KeyPair, MessageKey, RootKey,
};
use ratchet_bench::rng::Scripted;

fn seq(from: u8) -> [u8; 32] {
    std::array::from_fn(|i| from + i as u8)
}

#[test]
fn kdf_rk_matches_the_independent_implementation() {
    let (rk, ck) = kdf_rk(&RootKey::from_bytes(seq(0)), &seq(32));
    assert_eq!(
        hex::encode(rk.to_bytes_for_testing_only()),
        "c656c3821a47db71b53ba5497242baf22a9cbf66aa33b833315233702b42d995"
    );
    assert_eq!(
        hex::encode(ck.to_bytes_for_testing_only()),
        "b868478e5c49184635ed5335437c8ac9465c6de435d1b2ff764d5387ba61d7eb"
    );
}

#[test]
fn kdf_ck_matches_the_independent_implementation() {
    let (next, mk) = kdf_ck(&ChainKey::from_bytes(seq(64)));
    assert_eq!(
        hex::encode(next.to_bytes_for_testing_only()),
        "f0bdefbbad3cf097dccb03f2c87159f7608e2480543eef7741c8f2e7f226e78f"
    );
    assert_eq!(
        hex::encode(mk.to_bytes_for_testing_only()),
        "01156abd78ef59f755f1e6945e5d1e2d7ddd1f1e5fe0a164b2f5fa8ad500bfba"
    );
}

#[test]
fn encrypt_matches_the_independent_implementation_and_decrypts() {
    let mk = MessageKey::from_bytes(seq(96));
    let ct = encrypt(&mk, b"ratchet-bench known answer", b"associated data");
    assert_eq!(
        hex::encode(&ct),
        "27ae253770b2e7d38fd3e489c9b192cb5f495305a254f601549f4de8ccc0d06c\
         0449aab7632bad9c34609c8bcfe4668ff13de254ea48f0d7512452f00c4cd60f"
    );
    assert_eq!(
        decrypt(&mk, &ct, b"associated data").as_deref(),
        Ok(&b"ratchet-bench known answer"[..])
    );
    assert!(
        decrypt(&mk, &ct, b"associated datA").is_err(),
        "other associated data must not verify"
    );
}

#[test]
fn a_first_exchange_matches_the_independent_implementation() {
    let sk = RootKey::from_bytes([0x11; 32]);
    let (mut bob_rng, _) = Scripted::new([[0x22; 32], [0x44; 32]].concat());
    let bob0 = KeyPair::generate(&mut bob_rng);
    let (alice_rng, alice_exhausted) = Scripted::new([[0x33; 32], [0x55; 32]].concat());
    let mut alice = DoubleRatchet::init_alice(sk.clone(), bob0.public(), alice_rng);
    let mut bob = DoubleRatchet::init_bob(sk, bob0, bob_rng);
    let ad = b"ratchet-bench session ad";

    let m0 = alice
        .ratchet_encrypt(b"hello bob", ad)
        .expect("Alice can send first");
    assert_eq!(
        hex::encode(&m0),
        "7b0d47d93427f8311160781c7c733fd89f88970aef490d8aa0ee19a4cb8a1b14\
         0000000000000000d66af9d16b6cb6f8c82594a6b9dfd765b44828a59b6d98c2\
         99a6a8fcb5e942faa832cc4549c812c62c60ce61ec709768"
    );
    assert_eq!(
        bob.ratchet_decrypt(&m0, ad).as_deref(),
        Ok(&b"hello bob"[..])
    );

    let m1 = bob
        .ratchet_encrypt(b"hi alice", ad)
        .expect("Bob can reply once he has heard from Alice");
    assert_eq!(
        hex::encode(&m1),
        "ff2ee45601ec1b67310c7790404585ae697331eee1c1f8cf2419731c1fff3e6b\
         000000000000000033e235afd54d6a4fae89ff16ed0890c4ef58b89497a253fd\
         dc9e10f23e67cb36fa8f4b1bfc370e9ba6092a73bbf9540b"
    );
    assert_eq!(
        alice.ratchet_decrypt(&m1, ad).as_deref(),
        Ok(&b"hi alice"[..])
    );
    assert!(
        !*alice_exhausted.lock().unwrap(),
        "Alice draws one key pair at init and one at her DH ratchet step, no more"
    );
}

#[test]
fn key_types_never_print_their_bytes() {
    let debug = format!(
        "{:?} {:?} {:?} {:?}",
        RootKey::from_bytes([0xab; 32]),
        ChainKey::from_bytes([0xab; 32]),
        MessageKey::from_bytes([0xab; 32]),
        KeyPair::generate(&mut Scripted::new(vec![0xab; 32]).0)
    );
    insta::assert_snapshot!(debug);
}
