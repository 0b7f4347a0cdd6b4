//! A finding: a transcript that disagrees with the oracle, two peers that disagree with each
//! other, or a peer that panicked.

use super::reproducer::Reproducer;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of disagreement a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// The session could not be set up.
    SetupFailed,
    /// A genuine message within the limits was refused (or a send that must work failed).
    RejectedGenuine,
    /// A genuine message decrypted to another plaintext.
    WrongPlaintext,
    /// A replayed message was accepted.
    AcceptedReplay,
    /// Bytes no party sent were accepted, with a plaintext other than any sent.
    AcceptedForgery,
    /// A modified copy of a message was accepted with the original's plaintext.
    AcceptedMalleated,
    /// A message of another session was accepted.
    AcceptedForeign,
    /// A message beyond the declared MAX_SKIP was accepted.
    AcceptedTooFarAhead,
    /// The peer panicked on an input it had to refuse.
    Panic,
    /// A call into the peer outlasted the per-call budget and was abandoned (signature
    /// `peer/hang/<call>`).
    Hang,
    /// Two peers of one family with injected randomness produced different bytes or
    /// outcomes from one seed.
    DivergenceBytes,
    /// Two peers reached different outcomes where the oracle allows either. Reported, not
    /// failing.
    DivergenceOutcome,
    /// A cell of the interop matrix failed: a session set up by one peer and answered by
    /// another (or itself) did not carry the fixed exchange.
    InteropFailed,
    /// A forged or foreign input was accepted by a peer that runs with weakened checks (its
    /// `weakened` list, shown in every report header, says which). Reported, not failing.
    WeakenedAccept,
    /// A vector case failed on a peer.
    VectorFailed,
    /// A copy of a party's state taken after it decrypted a message decrypted that message
    /// (or an earlier one) again ([`crate::oracle::security`]).
    ForwardSecrecy,
    /// A copy of a party's state from before a full DH ratchet round trip decrypted a
    /// message sent after it ([`crate::oracle::security`]).
    NoHealing,
    /// Two honest messages under one key and nonce, or a repeated or stale ratchet public
    /// key on a new chain ([`crate::oracle::security`]).
    KeyReuse,
    /// One input cost more key derivations or stored keys than the declared limits allow
    /// ([`crate::oracle::security`]).
    UnboundedWork,
    /// A shim process broke the protocol (exited, hung past its budget, wrote garbage, a
    /// wrong id or an oversized line) and was stopped; the detail holds its stderr tail.
    ShimFailed,
    /// The process was ended by a signal during a peer's turn in a scenario (an abort no
    /// panic guard catches); the supervisor ran the rest without it ([`crate::journal`]).
    Abort,
    /// A member removed from an MLS group decrypted a message of an epoch after its removal
    /// ([`crate::group::oracle`]).
    RemovedDecrypted,
    /// A member accepted a group message and named another sender (credential or leaf) than
    /// the member that sent it ([`crate::group::oracle`]).
    Misattributed,
    /// Two releases (or builds) of one implementation did differently with the same input:
    /// `compare`'s finding ([`crate::compare`]), never a run's.
    Changed,
}

impl FindingKind {
    /// The kind's name in signatures.
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::SetupFailed => "setup-failed",
            FindingKind::RejectedGenuine => "rejected-genuine",
            FindingKind::WrongPlaintext => "wrong-plaintext",
            FindingKind::AcceptedReplay => "accepted-replay",
            FindingKind::AcceptedForgery => "accepted-forgery",
            FindingKind::AcceptedMalleated => "accepted-malleated",
            FindingKind::AcceptedForeign => "accepted-foreign",
            FindingKind::AcceptedTooFarAhead => "accepted-too-far-ahead",
            FindingKind::Panic => "panic",
            FindingKind::Hang => "hang",
            FindingKind::DivergenceBytes => "divergence-bytes",
            FindingKind::DivergenceOutcome => "divergence-outcome",
            FindingKind::InteropFailed => "interop",
            FindingKind::WeakenedAccept => "weakened-accept",
            FindingKind::VectorFailed => "vector-failed",
            FindingKind::ForwardSecrecy => "forward-secrecy",
            FindingKind::NoHealing => "no-healing",
            FindingKind::KeyReuse => "key-reuse",
            FindingKind::UnboundedWork => "unbounded-work",
            FindingKind::ShimFailed => "shim-failed",
            FindingKind::Abort => "abort",
            FindingKind::RemovedDecrypted => "removed-decrypted",
            FindingKind::Misattributed => "misattributed",
            FindingKind::Changed => "changed",
        }
    }

    /// Whether a new finding of this kind fails the run.
    pub fn fails_run(self) -> bool {
        !matches!(
            self,
            FindingKind::DivergenceOutcome | FindingKind::WeakenedAccept
        )
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One finding in one scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable identity for deduplication and expectations:
    /// `peer[+peer]/kind/step-kind[/class]`.
    pub signature: String,
    /// The kind.
    pub kind: FindingKind,
    /// The peer or peers involved.
    pub peers: Vec<String>,
    /// The step at which it showed.
    pub step: usize,
    /// What happened, in a sentence.
    pub detail: String,
}

impl Finding {
    /// A finding with its signature built from its parts.
    pub fn new(
        kind: FindingKind,
        peers: Vec<String>,
        step: usize,
        step_kind: &str,
        class: Option<&str>,
        detail: String,
    ) -> Self {
        let mut signature = format!("{}/{}/{}", peers.join("+"), kind.name(), step_kind);
        if let Some(class) = class {
            signature.push('/');
            signature.push_str(class);
        }
        Finding {
            signature,
            kind,
            peers,
            step,
            detail,
        }
    }
}

/// A signature as seen over a campaign: how often, and the first reproducer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    /// The finding's signature.
    pub signature: String,
    /// Its kind.
    pub kind: FindingKind,
    /// In how many scenarios it showed.
    pub count: u64,
    /// The first occurrence's detail.
    pub detail: String,
    /// The first occurrence's scenario, cut after the step where it showed.
    pub scenario: String,
    /// The seed of that scenario's session.
    pub seed: u64,
    /// A command that shows it again.
    pub reproducer: String,
    /// The same as data: what `expectations add` writes into an entry and `expectations
    /// check` replays.
    pub case: Reproducer,
    /// Whether an expectations file lists it, and why.
    pub expected: Option<String>,
    /// The expectations file whose entry lists it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listed_in: Option<String>,
}

impl Seen {
    /// The first sighting of `finding` in `scenario` under `seed`.
    pub fn first(finding: &Finding, scenario: String, seed: u64) -> Self {
        let mut seen = Seen {
            signature: finding.signature.clone(),
            kind: finding.kind,
            count: 1,
            detail: String::new(),
            reproducer: String::new(),
            case: Reproducer::Scenario {
                scenario: String::new(),
                seed,
                peers: finding.peers.clone(),
            },
            scenario: String::new(),
            seed,
            expected: None,
            listed_in: None,
        };
        seen.show(finding, scenario);
        seen
    }

    /// Makes `scenario` (showing `finding`) the sighting's reproducer.
    pub fn show(&mut self, finding: &Finding, scenario: String) {
        self.detail = finding.detail.clone();
        self.case = Reproducer::Scenario {
            scenario: scenario.clone(),
            seed: self.seed,
            peers: finding.peers.clone(),
        };
        self.reproducer = self.case.command();
        self.scenario = scenario;
    }
}

/// Peers started in this process from an argument that their name alone would not find again
/// (a shim started from `shim:NAME=COMMAND` is in no peers file), with that argument.
static PEER_ARGS: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

/// Records that the peer named `name` was selected by the command-line argument `arg`, so that
/// reproducers name it by that argument ([`peer_arg`]).
pub fn register_peer_arg(name: &str, arg: &str) {
    if let Ok(mut args) = PEER_ARGS.lock() {
        if !args.iter().any(|(n, _)| n == name) {
            args.push((name.to_string(), arg.to_string()));
        }
    }
}

/// The `--peer` argument that selects the peer named `name` again in a reproducer command:
/// ` --peer NAME`, or for a peer registered with [`register_peer_arg`] its argument, quoted
/// for a POSIX shell.
pub fn peer_arg(name: &str) -> String {
    let registered = PEER_ARGS.lock().ok().and_then(|args| {
        args.iter()
            .find(|(peer, _)| peer == name)
            .map(|(_, arg)| arg.clone())
    });
    match registered {
        Some(arg) => format!(" --peer '{}'", arg.replace('\'', "'\\''")),
        None => format!(" --peer {name}"),
    }
}
