//! `ratchet-bench compare`: two releases of one implementation on the same seeded campaign
//! and vectors, every behaviour that changed, with reproducers.
//!
//! The known change it must find is vodozemac's, documented in its CHANGELOG under 0.10.0:
//! "The `Curve25519SecretKey.diffie_hellman()` method now returns an `Option`. This change
//! makes the `Account::create_outbound_session()` and `Session::encrypt()` methods fallible"
//! (pull request 298): from 0.10 on, a Diffie-Hellman step with a non-contributory
//! (low-order) public key is refused with `NonContributoryKey`, where 0.9 went on with an
//! all-zero shared secret. An Olm message whose ratchet key is replaced by a low-order point
//! is then refused by 0.9 for its MAC (the chain it derives is not the sender's) and by 0.10
//! as malformed.

// Test helpers may fail loudly, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod binary;

use binary::{bench, stderr, stdout};
use serde_json::Value;

/// The signatures of a comparison's (confirmed) changes, from its JSON.
fn changes(json: &Value) -> Vec<String> {
    json["changes"]
        .as_array()
        .expect("a comparison lists its changes")
        .iter()
        .map(|c| c["signature"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn compare_finds_vodozemac_0_10_refusing_low_order_keys_with_a_reproducer() {
    let out = bench(&[
        "compare",
        "vodozemac-olm@0.9",
        "vodozemac-olm@0.10",
        "--scenarios",
        "120",
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a comparison that finds changes exits 1: {}",
        stderr(&out)
    );
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let found = changes(&json);
    let low_order = "vodozemac-olm@0.9+vodozemac-olm@0.10/changed/ratchet-key/low-order/rejected:auth->rejected:malformed";
    assert!(
        found.iter().any(|s| s == low_order),
        "the documented change (a low-order ratchet key: 0.9 fails the MAC, 0.10 refuses the \
         key) is among the changes: {found:#?}"
    );
    let change = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["signature"] == low_order)
        .unwrap();
    let reproducer = change["reproducer"].as_str().unwrap();
    assert!(
        reproducer.starts_with("ratchet-bench replay '")
            && reproducer.contains("low-order")
            && reproducer.contains("--peer vodozemac-olm@0.9 --peer vodozemac-olm@0.10"),
        "the reproducer is a replay of the scenario on both peers: {reproducer}"
    );
    // Every change is between the two peers, and every one is a low-order key's: the only
    // Olm behaviour the CHANGELOG of 0.10 changes that the bench's inputs reach.
    for s in &found {
        assert!(
            s.starts_with("vodozemac-olm@0.9+vodozemac-olm@0.10/changed/")
                && s.contains("low-order"),
            "a change names both peers and comes from a low-order key: {s}"
        );
    }

    // The reproducer, replayed, shows the two behaviours: 0.9's MAC failure, 0.10's refusal.
    let scenario = change["case"]["scenario"].as_str().unwrap();
    let seed = change["case"]["seed"].as_u64().unwrap().to_string();
    let replay = bench(&[
        "replay",
        scenario,
        "--peer",
        "vodozemac-olm@0.9",
        "--peer",
        "vodozemac-olm@0.10",
        "--seed",
        &seed,
    ]);
    let text = stdout(&replay);
    assert!(
        text.contains("invalid MAC") && text.contains("lacked contributory behavior"),
        "replay shows 0.9's MAC failure and 0.10's refusal of the non-contributory key:\n{text}"
    );
}

/// openmls's two lines: 0.6.0 takes a generation's key before the AEAD check (a changed copy
/// costs the genuine message: `rejected:replay`) and reads past an MLSMessage's version
/// field; 0.9.2 does neither (ci/expectations.json, the `openmls@0.6` entries, says where in
/// each line's source). Both show among the changes, and nothing else does but, in a debug
/// build (this test's), two `debug_assert!`s that 0.6 reaches on an attacker's input and
/// 0.9.2 does not: `debug_assert!(false, "Ciphertext decryption failed")`
/// (framing/private_message_in.rs:129) on a failed AEAD check, and tls_codec 0.4.2's
/// `debug_assert!(len_len_log <= MAX_LEN_LEN_LOG)` (quic_vec.rs:53) on an overlong length.
/// A release build refuses both inputs.
#[test]
fn compare_finds_openmls_0_9_keeping_keys_until_the_aead_check_and_reading_the_version() {
    let out = bench(&[
        "compare",
        "openmls@0.6",
        "openmls",
        "--scenarios",
        "60",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let found = changes(&json);
    // A debug build's 0.6 panics at the failed AEAD check, after it took the key: the
    // genuine message's refusal then follows a panic and is not compared.
    let key_taken = if cfg!(debug_assertions) {
        "openmls@0.6+openmls/changed/ciphertext/bit-flip/panic->rejected:auth"
    } else {
        "openmls@0.6+openmls/changed/deliver/rejected:replay->accepted"
    };
    for expected in [
        key_taken,
        "openmls@0.6+openmls/changed/version/other-version-02/accepted->rejected:malformed",
    ] {
        assert!(
            found.iter().any(|s| s == expected),
            "{expected} among the changes: {found:#?}"
        );
    }
    for s in &found {
        let debug_assertion = cfg!(debug_assertions) && s.contains("/panic->");
        assert!(
            s.contains("/changed/version/") || s.contains("rejected:replay->") || debug_assertion,
            "every change comes from the version field, from a key taken before the AEAD \
             check or from a debug assertion: {s}"
        );
    }
}

#[test]
fn a_peer_compared_with_itself_changes_nothing() {
    let out = bench(&[
        "compare",
        "vodozemac-olm@0.10",
        "vodozemac-olm@0.10",
        "--scenarios",
        "120",
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "nothing changed, exit 0: {}{}",
        stdout(&out),
        stderr(&out)
    );
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(changes(&json), Vec::<String>::new());
    assert_eq!(json["scenarios"], 120, "the campaign ran");
}

#[test]
fn compare_refuses_peers_of_two_families() {
    let out = bench(&["compare", "vodozemac-olm@0.9", "vodozemac-megolm"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("compare takes two peers of one family: vodozemac-olm@0.9 speaks olm, vodozemac-megolm speaks megolm"),
        "the error names both peers and their families: {}",
        stderr(&out)
    );
    let out = bench(&["compare", "vodozemac@0.9", "vodozemac-olm"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out)
            .contains("vodozemac@0.9 names 2 peers (vodozemac-olm@0.9, vodozemac-megolm@0.9)"),
        "a release line of two peers is refused, naming them: {}",
        stderr(&out)
    );
}
