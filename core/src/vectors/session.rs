//! The serde structs of a ratchet-session vector file (schema in the module above).

use super::HexBytes;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Name of the schema our ratchet-session files declare.
pub const SESSION_SCHEMA: &str = "ratchet_session_test_schema.json";

/// A whole file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionFile {
    /// The family, e.g. `signal-dr`.
    pub algorithm: String,
    /// Always [`SESSION_SCHEMA`].
    pub schema: String,
    /// What made the file.
    pub generator_version: String,
    /// How many tests the file holds.
    pub number_of_tests: usize,
    /// Free text.
    #[serde(default)]
    pub header: Vec<String>,
    /// What each flag means.
    pub notes: BTreeMap<String, String>,
    /// The groups.
    pub test_groups: Vec<SessionGroup>,
}

/// Tests sharing parameters.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionGroup {
    /// Always `RatchetSessionTest`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The associated data of every message.
    pub ad: HexBytes,
    /// The MAX_SKIP the expected outcomes assume.
    pub max_skip: u32,
    /// The tests.
    pub tests: Vec<SessionTest>,
}

/// One test case: a session, a schedule and every expected input and outcome.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionTest {
    /// The case's number, unique in the file.
    pub tc_id: u64,
    /// What it tests.
    pub comment: String,
    /// Flags explained in the file's notes.
    pub flags: Vec<String>,
    /// `valid` or `invalid`.
    pub result: String,
    /// The secret both parties start from.
    pub shared_secret: HexBytes,
    /// Every byte A drew from its RNG.
    pub random_a: HexBytes,
    /// Every byte B drew from its RNG.
    pub random_b: HexBytes,
    /// The schedule, in the scenario language.
    pub scenario: String,
    /// One entry per input.
    pub steps: Vec<SessionStep>,
    /// SHA-256 over every wire message sent, each in its family's comparison form where the
    /// family has one ([`crate::codec::comparison_form`]).
    pub sent_digest: HexBytes,
}

/// One expected input and outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionStep {
    /// Index of the scenario step.
    pub step: usize,
    /// The input's kind (`send`, `deliver`, `tamper-mac`, ...).
    pub kind: String,
    /// The party acting (`A` or `B`).
    pub party: String,
    /// The plaintext of a send, the bytes of a delivery.
    pub input: HexBytes,
    /// `sent`, `accepted` or `rejected`.
    pub outcome: String,
    /// The wire bytes of a send, the plaintext of an accepted delivery.
    pub output: HexBytes,
}
