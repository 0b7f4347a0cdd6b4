//! Shrinks a scenario to a shorter one that still shows the same finding signature, so
//! that a report's reproducer is something a person can read.
//!
//! Delta debugging over steps: remove chunks of steps, halving the chunk size, keeping any
//! removal after which the signature still shows, within a budget of runs. Removing a step
//! that sent a message also removes every step naming that message and renumbers the later
//! ones, so every candidate is a valid scenario.
//!
//! [`minimize`] goes on over what the remaining steps carry: each number (a plaintext length,
//! a tampered bit, a truncation length, a jump's distance past the limit, a foreign message's
//! index) is moved toward zero and each byte string (extend, inject) shortened or zeroed,
//! keeping every edit after which the signature still shows.

use crate::campaign::{check_scenario_with, standard, Judge};
use crate::peer::Peer;
use crate::report::{Finding, Seen};
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
                Step::Fresh { msg } => Step::Fresh { msg: renumber(msg) },
                Step::Truncate { msg, keep } => Step::Truncate {
                    msg: renumber(msg),
                    keep,
                },
                Step::Extend { msg, bytes } => Step::Extend {
                    msg: renumber(msg),
                    bytes,
                },
                Step::Mutate { msg, field, op } => Step::Mutate {
                    msg: renumber(msg),
                    field,
                    op,
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

/// The peers a signature names (`a+b/kind/...`), out of `peers`: the ones a search for its
/// reproducer runs.
pub fn involved<'p>(peers: &[&'p dyn Peer], signature: &str) -> Vec<&'p dyn Peer> {
    let names: Vec<&str> = signature
        .split('/')
        .next()
        .unwrap_or_default()
        .split('+')
        .collect();
    peers
        .iter()
        .filter(|p| names.contains(&p.info().name.as_str()))
        .copied()
        .collect()
}

/// The finding with `signature` that `scenario` shows on `peers` under `seed`, if any, as
/// `judge` finds them.
fn shows(
    peers: &[&dyn Peer],
    scenario: &Scenario,
    seed: u64,
    signature: &str,
    judge: &Judge,
) -> Option<Finding> {
    check_scenario_with(peers, scenario, seed, judge)
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
    let peers: Vec<&dyn Peer> = peers.iter().map(|p| p.as_ref()).collect();
    let mut search = Search::start(&peers, scenario, seed, signature, budget, &standard)?;
    search.steps();
    Some((search.current, search.best))
}

/// Replaces a sighting's reproducer with the shortest scenario found, within `budget` runs,
/// that still shows its signature on `peers` (the campaign's first reproducer is whatever
/// the draw gave). A sighting with no scenario (a vector case, an interop cell) is left as
/// it is.
pub fn shorten(peers: &[&dyn Peer], seen: &mut Seen, budget: usize) {
    shorten_with(peers, seen, budget, &standard);
}

/// [`shorten`] for a signature `judge` finds (`compare`'s changes) rather than a run's checks.
pub fn shorten_with(peers: &[&dyn Peer], seen: &mut Seen, budget: usize, judge: &Judge) {
    let Ok(scenario) = seen.scenario.parse::<Scenario>() else {
        return;
    };
    if let Some(mut search) =
        Search::start(peers, &scenario, seen.seed, &seen.signature, budget, judge)
    {
        search.steps();
        seen.show(&search.best, search.current.to_string());
    }
}

/// What [`minimize`] found.
#[derive(Clone, Debug)]
pub struct Minimized {
    /// The smallest scenario found that still shows the signature.
    pub scenario: Scenario,
    /// The finding it shows.
    pub finding: Finding,
    /// How many scenario runs the search took.
    pub runs: usize,
    /// Whether the budget ran out before no edit was left to try.
    pub budget_spent: bool,
}

/// Like [`shrink`], then each number and byte string the steps carry made as small as it
/// can be while `signature` still shows (see the module doc), within `budget` runs in all.
pub fn minimize(
    peers: &[&dyn Peer],
    scenario: &Scenario,
    seed: u64,
    signature: &str,
    budget: usize,
) -> Option<Minimized> {
    let mut search = Search::start(peers, scenario, seed, signature, budget, &standard)?;
    search.steps();
    search.values();
    // Simpler values can make more steps removable.
    search.steps();
    Some(Minimized {
        budget_spent: search.runs >= search.budget,
        scenario: search.current,
        finding: search.best,
        runs: search.runs,
    })
}

/// A shrinking search in progress.
struct Search<'a> {
    peers: Vec<&'a dyn Peer>,
    judge: &'a Judge,
    seed: u64,
    signature: &'a str,
    budget: usize,
    runs: usize,
    current: Scenario,
    best: Finding,
}

impl<'a> Search<'a> {
    fn start(
        peers: &[&'a dyn Peer],
        scenario: &Scenario,
        seed: u64,
        signature: &'a str,
        budget: usize,
        judge: &'a Judge,
    ) -> Option<Self> {
        let peers = involved(peers, signature);
        let best = shows(&peers, scenario, seed, signature, judge)?;
        let mut search = Search {
            current: scenario.clone(),
            peers,
            judge,
            seed,
            signature,
            budget,
            runs: 1,
            best,
        };
        search.cut();
        Some(search)
    }

    /// Cuts the current scenario after the step where its finding shows, if the cut one
    /// still shows it: a later step can change what came before (a bundle step, wherever it
    /// stands, changes the session's set-up), so a cut is kept only once it has been run.
    fn cut(&mut self) {
        let cut = self.current.prefix(self.best.step);
        if cut.steps.len() == self.current.steps.len() {
            return;
        }
        self.runs += 1;
        if let Some(f) = shows(&self.peers, &cut, self.seed, self.signature, self.judge) {
            self.current = cut;
            self.best = f;
        }
    }

    /// Keeps `candidate` if it still shows the signature.
    fn try_keep(&mut self, candidate: Scenario) -> bool {
        self.runs += 1;
        match shows(
            &self.peers,
            &candidate,
            self.seed,
            self.signature,
            self.judge,
        ) {
            Some(f) => {
                self.current = candidate;
                self.best = f;
                self.cut();
                true
            }
            None => false,
        }
    }

    /// Delta debugging over steps.
    fn steps(&mut self) {
        let mut chunk = self.current.steps.len().div_ceil(2);
        while chunk >= 1 && self.runs < self.budget {
            let mut at = 0;
            while at < self.current.steps.len() && self.runs < self.budget {
                let candidate = self.current.without_range(at, at + chunk);
                if !self.try_keep(candidate) {
                    at += chunk;
                }
            }
            chunk /= 2;
        }
    }

    /// Each step's numbers and bytes, simplest first, until no edit is kept.
    fn values(&mut self) {
        let mut changed = true;
        while changed && self.runs < self.budget {
            changed = false;
            let mut i = 0;
            while i < self.current.steps.len() && self.runs < self.budget {
                for simpler in simpler(&self.current.steps[i]) {
                    if self.runs >= self.budget {
                        break;
                    }
                    let mut candidate = self.current.clone();
                    candidate.steps[i] = simpler;
                    if self.try_keep(candidate) {
                        changed = true;
                        break;
                    }
                }
                i += 1;
            }
        }
    }
}

/// Candidates for a simpler `step`, most aggressive first: each number toward zero, each byte
/// string shorter or zeroed. Empty when there is nothing left to simplify.
fn simpler(step: &Step) -> Vec<Step> {
    fn smaller(n: u32) -> Vec<u32> {
        let mut out: Vec<u32> = [0, n / 2, n.saturating_sub(1)]
            .into_iter()
            .filter(|&m| m < n)
            .collect();
        out.dedup();
        out
    }
    fn shorter(bytes: &[u8], min: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for len in [min, bytes.len() / 2, bytes.len().saturating_sub(1)] {
            if len >= min && len < bytes.len() && !out.iter().any(|b: &Vec<u8>| b.len() == len) {
                out.push(bytes[..len].to_vec());
            }
        }
        if bytes.iter().any(|&b| b != 0) {
            out.push(vec![0; bytes.len()]);
        }
        out
    }
    match step {
        Step::Send { from, len } => smaller(u32::from(*len))
            .into_iter()
            .map(|n| Step::Send {
                from: *from,
                len: n as u16,
            })
            .collect(),
        Step::Tamper { msg, region, bit } => smaller(*bit)
            .into_iter()
            .map(|bit| Step::Tamper {
                msg: *msg,
                region: *region,
                bit,
            })
            .collect(),
        Step::Truncate { msg, keep } => smaller(*keep)
            .into_iter()
            .map(|keep| Step::Truncate { msg: *msg, keep })
            .collect(),
        Step::Extend { msg, bytes } => shorter(bytes, 1)
            .into_iter()
            .map(|bytes| Step::Extend { msg: *msg, bytes })
            .collect(),
        Step::Inject { to, bytes } => shorter(bytes, 0)
            .into_iter()
            .map(|bytes| Step::Inject { to: *to, bytes })
            .collect(),
        Step::Foreign { to, index } => smaller(u32::from(*index))
            .into_iter()
            .map(|i| Step::Foreign {
                to: *to,
                index: i as u8,
            })
            .collect(),
        Step::Jump { from, past } if *past != 0 => {
            let toward = if *past > 0 { past - 1 } else { past + 1 };
            let mut out = vec![Step::Jump {
                from: *from,
                past: 0,
            }];
            if toward != 0 {
                out.push(Step::Jump {
                    from: *from,
                    past: toward,
                });
            }
            out
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    fn step(text: &str) -> Step {
        let s: Scenario = format!("send A 1; {text}").parse().unwrap_or_default();
        s.steps.get(1).cloned().unwrap_or(Step::DeliverAll)
    }

    #[test]
    fn simpler_moves_numbers_toward_zero_and_stops_at_zero() {
        let texts =
            |s: &Step| -> Vec<String> { simpler(s).iter().map(|x| x.to_string()).collect() };
        assert_eq!(
            texts(&step("tamper m0 mac 9")),
            ["tamper m0 mac 0", "tamper m0 mac 4", "tamper m0 mac 8"]
        );
        assert_eq!(texts(&step("tamper m0 mac 0")), Vec::<String>::new());
        assert_eq!(
            texts(&step("extend m0 0a0b")),
            ["extend m0 0a", "extend m0 0000"]
        );
        assert_eq!(texts(&step("extend m0 00")), Vec::<String>::new());
        assert_eq!(texts(&step("inject B 01")), ["inject B -", "inject B 00"]);
        assert_eq!(texts(&step("jump A -2")), ["jump A +0", "jump A -1"]);
        assert_eq!(texts(&step("send B 1")), ["send B 0"]);
    }

    #[test]
    fn removing_a_send_renumbers_every_step_that_names_a_later_message() {
        let s: Scenario = "send A 1; send A 2; send A 3; fresh m2; replay m2; fresh m0"
            .parse()
            .unwrap_or_default();
        assert_eq!(s.steps.len(), 6);
        assert_eq!(
            s.without(1).to_string(),
            "send A 1; send A 3; fresh m1; replay m1; fresh m0"
        );
        // The steps naming the removed message go with it.
        assert_eq!(
            s.without(0).to_string(),
            "send A 2; send A 3; fresh m1; replay m1"
        );
    }
}
