//! Shrinks a scenario to a shorter one that still shows the same finding signature, so
//! that a report's reproducer is something a person can read.
//!
//! Delta debugging over steps: remove chunks of steps, halving the chunk size, keeping any
//! removal after which the signature still shows, within a budget of runs. Removing a step
//! that sent a message also removes every step naming that message and renumbers the later
//! ones, so every candidate is a valid scenario.

use crate::campaign::check_scenario;
use crate::peer::Peer;
use crate::report::Finding;
use crate::scenario::{MsgId, Scenario, Step};

impl Scenario {
    /// The scenario without step `i`. If step `i` sent a message, the steps that name it go
    /// too, and later messages are renumbered.
    pub fn without(&self, i: usize) -> Scenario {
        let Some(removed) = self.steps.get(i) else {
            return self.clone();
        };
        if !removed.creates_message() {
            let mut steps = self.steps.clone();
            steps.remove(i);
            return Scenario { steps };
        }
        let gone = self.steps[..i]
            .iter()
            .filter(|s| s.creates_message())
            .count() as u32;
        let renumber = |m: MsgId| if m.0 > gone { MsgId(m.0 - 1) } else { m };
        let steps = self
            .steps
            .iter()
            .enumerate()
            .filter(|(j, s)| *j != i && s.refers_to() != Some(MsgId(gone)))
            .map(|(_, s)| match s.clone() {
                Step::Deliver { msg } => Step::Deliver { msg: renumber(msg) },
                Step::Drop { msg } => Step::Drop { msg: renumber(msg) },
                Step::Replay { msg } => Step::Replay { msg: renumber(msg) },
                Step::Tamper { msg, region, bit } => Step::Tamper {
                    msg: renumber(msg),
                    region,
                    bit,
                },
                Step::Rekey { msg } => Step::Rekey { msg: renumber(msg) },
                Step::Truncate { msg, keep } => Step::Truncate {
                    msg: renumber(msg),
                    keep,
                },
                Step::Extend { msg, bytes } => Step::Extend {
                    msg: renumber(msg),
                    bytes,
                },
                other => other,
            })
            .collect();
        Scenario { steps }
    }

    /// The scenario without steps `from..to`.
    fn without_range(&self, from: usize, to: usize) -> Scenario {
        (from..to.min(self.steps.len()))
            .rev()
            .fold(self.clone(), |s, i| s.without(i))
    }
}

/// The peers a signature names (`a+b/kind/...`), out of `peers`.
fn involved<'p>(peers: &'p [Box<dyn Peer>], signature: &str) -> Vec<&'p dyn Peer> {
    let names: Vec<&str> = signature
        .split('/')
        .next()
        .unwrap_or_default()
        .split('+')
        .collect();
    peers
        .iter()
        .filter(|p| names.contains(&p.info().name.as_str()))
        .map(|p| p.as_ref())
        .collect()
}

/// The finding with `signature` that `scenario` shows on `peers` under `seed`, if any.
fn shows(peers: &[&dyn Peer], scenario: &Scenario, seed: u64, signature: &str) -> Option<Finding> {
    check_scenario(peers, scenario, seed)
        .1
        .into_iter()
        .find(|f| f.signature == signature)
}

/// The shortest scenario found, within `budget` runs, that still shows `signature` on the
/// peers it names, cut after the step where it shows, with that finding. `None` if
/// `scenario` itself does not show it.
pub fn shrink(
    peers: &[Box<dyn Peer>],
    scenario: &Scenario,
    seed: u64,
    signature: &str,
    budget: usize,
) -> Option<(Scenario, Finding)> {
    let peers = involved(peers, signature);
    let mut best = shows(&peers, scenario, seed, signature)?;
    let mut current = scenario.prefix(best.step);
    let mut runs = 1;
    let mut chunk = current.steps.len().div_ceil(2);
    while chunk >= 1 && runs < budget {
        let mut at = 0;
        while at < current.steps.len() && runs < budget {
            let candidate = current.without_range(at, at + chunk);
            runs += 1;
            match shows(&peers, &candidate, seed, signature) {
                Some(f) => {
                    current = candidate.prefix(f.step);
                    best = f;
                }
                None => at += chunk,
            }
        }
        chunk /= 2;
    }
    Some((current, best))
}
