//! The logic of the fuzz targets, kept in the library so that tests and targets share it.
//!
//! A target is a few lines calling one function here. Each function panics when, and only
//! when, it finds something new. The panic message's first line is [`CRASH_PREFIX`] and the
//! finding's signature, nothing else: every input showing one finding crashes with the same
//! first line, and two findings never share one, so crash triage that keys on the message
//! (libFuzzer's and ClusterFuzz's reports, `ratchet-bench fuzz-report`) groups them by
//! signature. What varies (the detail, the scenario) follows on later lines. Findings the
//! checked-in expectations file lists are not crashes.
//!
//! Each target also has a `check_*` function that returns the crash instead of raising it,
//! so that `ratchet-bench replay` and `fuzz-report` decode an artifact exactly as the target
//! does and name its signature without dying.

use crate::campaign::check_scenario;
use crate::peer::{Family, Peer};
use crate::peers;
use crate::reference::signal_dr::{DoubleRatchet, KeyPair, RootKey};
use crate::report::{Expectations, Finding};
use crate::rng;
use crate::scenario::{Scenario, SESSION_AD};
use rand_chacha::ChaCha20Rng;
use std::sync::OnceLock;

/// The expectations compiled into fuzz builds (ci/expectations.json at build time).
const EXPECTATIONS: &str = include_str!("../../ci/expectations.json");

fn expectations() -> &'static Expectations {
    static PARSED: OnceLock<Expectations> = OnceLock::new();
    PARSED.get_or_init(|| serde_json::from_str(EXPECTATIONS).unwrap_or_default())
}

/// The families each differential target runs: `diff_session` the Double Ratchet peers,
/// `diff_olm` and `diff_megolm` theirs. MLS sessions cost a group set-up each, too slow for
/// a fuzzer's inner loop; the campaign of `run` covers them.
pub const SESSION_FAMILIES: &[Family] = &[Family::SIGNAL_DR, Family::DR2];

/// Every bundled peer of `families`, built once per process: the peers of `run`'s campaign.
/// The earlier release lines stay out, as they stay out of that campaign (they take part in
/// the interop matrices and `compare`): each would cost a target as much as its current line
/// (a vodozemac Olm jump is 2000 encryptions, each deriving its ratchet public key).
pub fn peers_of(families: &[Family]) -> Vec<&'static dyn Peer> {
    static PEERS: OnceLock<Vec<Box<dyn Peer>>> = OnceLock::new();
    PEERS
        .get_or_init(peers::bundled)
        .iter()
        .map(|p| p.as_ref())
        .filter(|p| families.contains(&p.info().family))
        .collect()
}

/// The findings of `scenario` on every known peer of `families` that fail a run and that the
/// expectations file does not list. A peer built with weakened checks (vodozemac under
/// `cfg(fuzzing)`, which every fuzz build sets) reports its accepted forgeries as
/// `weakened-accept`, which does not fail: the fuzzer still sees its panics, refusals of
/// genuine messages and wrong plaintexts.
pub fn unexpected(scenario: &Scenario, seed: u64, families: &[Family]) -> Vec<Finding> {
    let (_, findings) = check_scenario(&peers_of(families), scenario, seed);
    let known = expectations();
    findings
        .into_iter()
        .filter(|f| f.kind.fails_run() && !known.lists(&f.signature))
        .collect()
}

/// The MLS group peers, built once per process.
pub fn group_peers() -> Vec<&'static dyn crate::group::GroupPeer> {
    static PEERS: OnceLock<Vec<Box<dyn crate::group::GroupPeer>>> = OnceLock::new();
    PEERS
        .get_or_init(crate::peers::mls_group::bundled)
        .iter()
        .map(|p| p.as_ref())
        .collect()
}

/// The crash a group schedule causes on the MLS group peers (each alone and mixed, under
/// [`FUZZ_SEED`]), if any: its first finding the expectations file does not list.
pub fn check_mls_group(schedule: &crate::group::GroupSchedule) -> Option<Crash> {
    let known = expectations();
    crate::group::campaign::check_schedule(&group_peers(), schedule, FUZZ_SEED)
        .into_iter()
        .flat_map(|t| t.findings)
        .find(|f| f.kind.fails_run() && !known.lists(&f.signature))
        .map(|f| {
            Crash::new(
                &f.signature,
                format!("{}\ngroup schedule: {schedule}", f.detail),
            )
        })
}

/// `diff_mls_group`: runs a drawn group schedule; crashes on an unexpected finding.
pub fn diff_mls_group(schedule: crate::group::GroupSchedule) {
    raise(check_mls_group(&schedule));
}

/// The start of the first line of every crash a target raises; the signature follows.
pub const CRASH_PREFIX: &str = "ratchet-bench finding: ";

/// The session seed the differential targets run every scenario under (a fuzz input carries
/// only the scenario); `replay` and `minimize` use it for artifacts.
pub const FUZZ_SEED: u64 = 0;

/// What a target crashes with: the signature (the message's first line, after
/// [`CRASH_PREFIX`]) and the detail (the lines after it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crash {
    /// The finding's stable signature, `peer[+peer]/kind/where[/class]`.
    pub signature: String,
    /// What happened, for a person; varies between inputs of one signature.
    pub detail: String,
}

impl Crash {
    fn new(signature: impl Into<String>, detail: impl Into<String>) -> Self {
        Crash {
            signature: signature.into(),
            detail: detail.into(),
        }
    }

    /// The panic message: [`CRASH_PREFIX`] and the signature alone on the first line.
    pub fn message(&self) -> String {
        format!("{CRASH_PREFIX}{}\n{}", self.signature, self.detail)
    }
}

/// The signature in a crash message (a panic's text, or a libFuzzer log holding it), if the
/// message is one of ours.
pub fn crash_signature(message: &str) -> Option<&str> {
    let at = message.find(CRASH_PREFIX)?;
    message
        .get(at + CRASH_PREFIX.len()..)?
        .lines()
        .next()
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Raises `crash` when there is one: the fuzzer's signal.
#[allow(clippy::panic)]
fn raise(crash: Option<Crash>) {
    if let Some(c) = crash {
        panic!("{}", c.message());
    }
}

/// The crash `scenario` causes on the peers of `families`, if any: its first unexpected
/// finding (under [`FUZZ_SEED`]), with the finding's detail and the scenario's text.
pub fn check_families(scenario: &Scenario, families: &[Family]) -> Option<Crash> {
    unexpected(scenario, FUZZ_SEED, families)
        .first()
        .map(|f| Crash::new(&f.signature, format!("{}\nscenario: {scenario}", f.detail)))
}

/// Target `diff_session`: the Double Ratchet peers ([`SESSION_FAMILIES`]).
pub fn diff(scenario: Scenario) {
    crate::guard::abort_on_hang();
    raise(check_families(&scenario, SESSION_FAMILIES));
}

/// Target `diff_olm`: every Olm peer (the reference, vodozemac, libolm when built).
pub fn diff_olm(scenario: Scenario) {
    crate::guard::abort_on_hang();
    raise(check_families(&scenario, &[Family::OLM]));
}

/// Target `diff_signal_v3`: the signal-v3 peers (the reference, the only bundled one that
/// keeps a session record: the target that reaches `renew` with a second session).
pub fn diff_signal_v3(scenario: Scenario) {
    crate::guard::abort_on_hang();
    raise(check_families(&scenario, &[Family::SIGNAL_V3]));
}

/// Target `diff_megolm`: every Megolm peer.
pub fn diff_megolm(scenario: Scenario) {
    crate::guard::abort_on_hang();
    raise(check_families(&scenario, &[Family::MEGOLM]));
}

type Reference = DoubleRatchet<ChaCha20Rng>;

/// An established reference session, built once: one message each way (so both parties
/// hold receiving chains) and one message A sent that B has not received (so B holds no
/// key for it yet and A's chain is ahead).
fn template() -> &'static Result<(Reference, Reference), Crash> {
    static SESSION: OnceLock<Result<(Reference, Reference), Crash>> = OnceLock::new();
    SESSION.get_or_init(|| {
        let sk = RootKey::from_bytes([7; 32]);
        let mut rng_b = rng::stream(0, "fuzz B");
        let bob_pair = KeyPair::generate(&mut rng_b);
        let mut alice =
            Reference::init_alice(sk.clone(), bob_pair.public(), rng::stream(0, "fuzz A"));
        let mut bob = Reference::init_bob(sk, bob_pair, rng_b);
        let _ = alice.ratchet_encrypt(b"never delivered", SESSION_AD);
        exchange(&mut alice, &mut bob, b"hello", "setup")?;
        exchange(&mut bob, &mut alice, b"hi", "setup")?;
        Ok((alice, bob))
    })
}

/// Sends `pt` from one reference party to the other; `when` names the moment in the
/// signature (`setup`, or `after-input`).
fn exchange(from: &mut Reference, to: &mut Reference, pt: &[u8], when: &str) -> Result<(), Crash> {
    let wire = from.ratchet_encrypt(pt, SESSION_AD).map_err(|e| {
        Crash::new(
            format!("reference/send-failed/{when}"),
            format!("the reference could not encrypt: {e}"),
        )
    })?;
    match to.ratchet_decrypt(&wire, SESSION_AD) {
        Ok(got) if got == pt => Ok(()),
        other => Err(Crash::new(
            format!("reference/rejected-genuine/{when}"),
            format!("expected {pt:?}, got {other:?}"),
        )),
    }
}

/// The crash `bytes` cause as the input of `reference_decrypt`, if any.
pub fn check_reference_decrypt(bytes: &[u8]) -> Option<Crash> {
    let (mut alice, mut bob) = match template() {
        Ok((a, b)) => (a.clone(), b.clone()),
        Err(e) => return Some(e.clone()),
    };
    for (side, party) in [("B", &mut bob), ("A", &mut alice)] {
        if let Ok(pt) = party.ratchet_decrypt(bytes, SESSION_AD) {
            return Some(Crash::new(
                "reference/accepted-forgery/inject",
                format!("{side} decrypted {} bytes of fuzz input", pt.len()),
            ));
        }
    }
    exchange(&mut alice, &mut bob, b"still there?", "after-input")
        .and_then(|()| exchange(&mut bob, &mut alice, b"yes", "after-input"))
        .err()
}

/// Target `reference_decrypt`: feeds `bytes` to both parties of a copy of an established
/// reference session. Any acceptance is a crash (fuzz input cannot carry a valid MAC), and
/// so is a session that no longer works afterwards.
pub fn reference_decrypt(bytes: &[u8]) {
    raise(check_reference_decrypt(bytes));
}

/// The manifest compiled into fuzz builds (vectors/MANIFEST.json at build time), for the
/// names of the MLS loaders it uses.
const MANIFEST: &str = include_str!("../../vectors/MANIFEST.json");

/// The path loader errors name for a fuzz input.
const FUZZ_FILE: &str = "fuzz-input.json";

/// Above this many secret-tree ratchet steps in one input, [`vector_parse`] parses the
/// secret-tree file but does not check it: a generation near 2^32 costs billions of HKDF
/// calls, which is the check doing its job, not a loader failing.
pub const SECRET_TREE_STEP_BUDGET: u64 = 4096;

/// The MLS loaders the manifest names, each once, in manifest order.
fn mls_loaders() -> &'static [(String, crate::vectors::mls::MlsFile)] {
    static LOADERS: OnceLock<Vec<(String, crate::vectors::mls::MlsFile)>> = OnceLock::new();
    LOADERS.get_or_init(|| {
        let manifest: crate::vectors::Manifest = serde_json::from_str(MANIFEST)
            .unwrap_or(crate::vectors::Manifest { suites: Vec::new() });
        let mut loaders: Vec<(String, crate::vectors::mls::MlsFile)> = Vec::new();
        for suite in &manifest.suites {
            if let Some(kind) = crate::vectors::mls::MlsFile::from_loader(&suite.loader) {
                if !loaders.iter().any(|(name, _)| name == &suite.loader) {
                    loaders.push((suite.loader.clone(), kind));
                }
            }
        }
        loaders
    })
}

/// At most the ratchet steps checking a secret-tree file takes: each listed generation,
/// reached from generation 0 (as when listed out of order), in both ratchets.
fn secret_tree_steps(cases: &[crate::vectors::mls::SecretTreeCase]) -> u64 {
    cases
        .iter()
        .flat_map(|c| &c.leaves)
        .flatten()
        .map(|g| 2 * (u64::from(g.generation) + 1))
        .sum()
}

/// Target `vector_parse`: `bytes` as a vector file, given to every loader the bench has:
/// our ratchet-session files (parsed, checked and replayed on the reference), the parse of
/// each Wycheproof file type the runner reads, and each MLS loader the manifest names
/// (parsed and checked on the reference; a secret-tree file over
/// [`SECRET_TREE_STEP_BUDGET`] is only parsed). Each must answer with a report or an error
/// naming the file; a panic is the crash. Returns each loader's name and the number of
/// cases it judged, or its error.
pub fn vector_parse(bytes: &[u8]) -> Vec<(String, Result<usize, crate::vectors::VectorError>)> {
    use crate::vectors::mls::{run_text, MlsFile, SecretTreeCase};
    use crate::vectors::wycheproof::WycheproofFile;
    use crate::vectors::{parse_json, replay_file, VectorError};
    let path = std::path::Path::new(FUZZ_FILE);
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            // SuiteFile::read refuses such a file before any loader sees it.
            return vec![(
                "utf-8".into(),
                Err(VectorError::Field {
                    path: path.to_path_buf(),
                    case: String::new(),
                    field: ".".into(),
                    reason: format!("expected UTF-8 JSON: {e}"),
                }),
            )];
        }
    };
    let mut out = Vec::new();
    let cases = |r: Result<crate::vectors::SuiteReport, VectorError>| {
        r.map(|report| report.passed + report.failed + report.skipped)
    };
    out.push((
        "ratchet-session".into(),
        cases(replay_file(
            path,
            FUZZ_FILE,
            "fuzz",
            text,
            &crate::peers::ReferenceSignalDr,
        )),
    ));
    for file in WycheproofFile::ALL {
        out.push((
            format!("wycheproof {}", file.file_name()),
            crate::vectors::wycheproof::WycheproofFile::parse_count(file, path, text),
        ));
    }
    for (loader, kind) in mls_loaders() {
        let result = match kind {
            MlsFile::SecretTree => {
                parse_json::<Vec<SecretTreeCase>>(path, text).and_then(|parsed| {
                    if secret_tree_steps(&parsed) > SECRET_TREE_STEP_BUDGET {
                        Ok(0)
                    } else {
                        cases(run_text("fuzz", FUZZ_FILE, *kind, path, text))
                    }
                })
            }
            _ => cases(run_text("fuzz", FUZZ_FILE, *kind, path, text)),
        };
        out.push((loader.clone(), result));
    }
    out
}

/// The libolm peers the `libolm_decode` target drives (absent without the `libolm` feature).
pub const LIBOLM_PEERS: [&str; 2] = ["libolm-olm", "libolm-megolm"];

/// One established two-party session of an Olm or Megolm peer.
type Session = (Box<dyn crate::peer::Party>, Box<dyn crate::peer::Party>);

/// Sets up a session of `peer` from fixed seeds and exchanges one message each way, so that
/// both sides hold their sessions (an Olm responder has taken the pre-key message, and the
/// initiator has moved on to normal messages).
fn established(peer: &dyn Peer) -> Result<Session, Crash> {
    let init = crate::peer::SessionInit {
        shared_secret: [0; 32],
    };
    let name = peer.info().name;
    let fail = |what: &str, e: crate::peer::Reject| {
        Crash::new(format!("{name}/setup-failed/{what}"), e.to_string())
    };
    let (mut b, bundle) = peer
        .respond(&init, Box::new(rng::stream(0, "decode B")))
        .map_err(|e| fail("respond", e))?;
    let mut a = peer
        .initiate(&init, &bundle, Box::new(rng::stream(0, "decode A")))
        .map_err(|e| fail("initiate", e))?;
    if let Some(h) = a.handshake().map_err(|e| fail("handshake", e))? {
        b.join(&h).map_err(|e| fail("join", e))?;
    }
    session_exchange(&name, &mut a, &mut b, b"hello", "setup")?;
    session_exchange(&name, &mut b, &mut a, b"hi", "setup")?;
    Ok((a, b))
}

fn session_exchange(
    name: &str,
    from: &mut Box<dyn crate::peer::Party>,
    to: &mut Box<dyn crate::peer::Party>,
    pt: &[u8],
    when: &str,
) -> Result<(), Crash> {
    let wire = from.encrypt(SESSION_AD, pt).map_err(|e| {
        Crash::new(
            format!("{name}/send-failed/{when}"),
            format!("could not encrypt: {e}"),
        )
    })?;
    match to.decrypt(SESSION_AD, &wire) {
        Ok(got) if got == pt => Ok(()),
        other => Err(Crash::new(
            format!("{name}/rejected-genuine/{when}"),
            format!("expected {pt:?}, got {other:?}"),
        )),
    }
}

/// The crash `bytes` cause as a wire message to both parties of a fresh established session
/// of the known peer `name`, if any (none when the peer is not built).
pub fn check_decode_on(name: &str, bytes: &[u8]) -> Option<Crash> {
    static PEERS: OnceLock<Vec<Box<dyn Peer>>> = OnceLock::new();
    let all = PEERS.get_or_init(peers::known);
    let peer = all.iter().find(|p| p.info().name == name)?;
    let (mut a, mut b) = match established(peer.as_ref()) {
        Ok(s) => s,
        Err(e) => return Some(e),
    };
    for (side, party) in [("B", &mut b), ("A", &mut a)] {
        if let Ok(pt) = party.decrypt(SESSION_AD, bytes) {
            return Some(Crash::new(
                format!("{name}/accepted-forgery/inject"),
                format!("{side} decrypted {} bytes of fuzz input", pt.len()),
            ));
        }
    }
    session_exchange(name, &mut a, &mut b, b"still there?", "after-input")
        .and_then(|()| session_exchange(name, &mut b, &mut a, b"yes", "after-input"))
        .err()
}

/// Feeds `bytes` as a wire message to both parties of a fresh established session of the
/// known peer `name` (nothing when it is not built). Acceptance is a crash (fuzz input carries
/// no valid MAC or signature), and so is a session that no longer works afterwards; under
/// libFuzzer's sanitizers, so is any memory error in the peer.
pub fn decode_on(name: &str, bytes: &[u8]) {
    raise(check_decode_on(name, bytes));
}

/// The peer `libolm_decode` gives `bytes` to and the wire message: the first byte picks
/// libolm's Olm (even) or Megolm (odd) peer, the rest is the message. `None` for no bytes.
pub fn libolm_decode_input(bytes: &[u8]) -> Option<(&'static str, &[u8])> {
    let (first, rest) = bytes.split_first()?;
    let peer = if first & 1 == 0 {
        LIBOLM_PEERS[0]
    } else {
        LIBOLM_PEERS[1]
    };
    Some((peer, rest))
}

/// The crash `bytes` cause as the input of `libolm_decode`, if any.
pub fn check_libolm_decode(bytes: &[u8]) -> Option<Crash> {
    let (peer, rest) = libolm_decode_input(bytes)?;
    check_decode_on(peer, rest)
}

/// Target `libolm_decode`: the first byte picks libolm's Olm (even) or Megolm (odd) peer, the
/// rest is the wire message given to [`decode_on`].
pub fn libolm_decode(bytes: &[u8]) {
    raise(check_libolm_decode(bytes));
}

/// The crash `case` causes as the input of `mls_secret_tree`, if any: the reference and
/// mls-rs disagree on the leaf's key or nonce, or on the epoch (seen through the exporter),
/// or either refuses the case.
pub fn check_mls_secret_tree(case: &crate::mls_secret_tree::SecretTreeCase) -> Option<Crash> {
    let e = crate::mls_secret_tree::compare(case).err()?;
    let what = e.cause();
    Some(Crash::new(
        format!("reference+mls-rs/secret-tree/{what}"),
        format!("{e}\ncase: {case:?}"),
    ))
}

/// Target `mls_secret_tree`: crashes when the reference and mls-rs disagree on `case`, or
/// when either refuses it.
pub fn mls_secret_tree(case: &crate::mls_secret_tree::SecretTreeCase) {
    raise(check_mls_secret_tree(case));
}
