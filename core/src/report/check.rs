//! Turns transcripts into findings: each against the oracle, and peers against each other.

use super::finding::{Finding, FindingKind};
use crate::oracle::{Verdict, Why};
use crate::scenario::{hex_preview, Delivery, Outcome, Record, Transcript};
use std::collections::BTreeMap;

/// Where the transcript of one peer disagrees with the oracle.
pub fn conformance(t: &Transcript) -> Vec<Finding> {
    let peer = &t.peer.name;
    let one = |kind, step, step_kind: &str, class: Option<&str>, detail: String| {
        Finding::new(kind, vec![peer.clone()], step, step_kind, class, detail)
    };
    // A shim that broke the protocol was stopped: its refusals are the bench's, not the
    // implementation's answers, so they make one shim-failed finding, not a verdict.
    if let Some((what, reject)) = t.setup_failure.as_ref().and_then(shim_failed) {
        return vec![one(
            FindingKind::ShimFailed,
            0,
            &what,
            None,
            reject.detail.clone(),
        )];
    }
    if let Some(failure) = &t.setup_failure {
        return vec![one(
            FindingKind::SetupFailed,
            0,
            "setup",
            None,
            format!("the session could not be set up: {failure:?}"),
        )];
    }
    let mut findings = Vec::new();
    // Once a peer with weakened checks has accepted a forgery, its later disagreements
    // (the genuine message's key already used, a counter moved by the forgery) follow from
    // that acceptance, not from a bug of their own: they are reported as weakened-accept too.
    let mut after_weakened = false;
    for r in &t.records {
        let at = |m: &Record| {
            m.msg.map_or_else(
                || format!("{} to {}", m.kind, m.party),
                |id| format!("{} {id} to {}", m.kind, m.party),
            )
        };
        if let Some((what, reject)) = shim_failed(&r.outcome) {
            findings.push(one(
                FindingKind::ShimFailed,
                r.step,
                &what,
                None,
                reject.detail.clone(),
            ));
            break;
        }
        let finding = match (&r.verdict, &r.outcome) {
            (_, Outcome::Hung { call, detail }) => Some(one(
                FindingKind::Hang,
                r.step,
                call,
                None,
                format!("{}: {detail}", at(r)),
            )),
            (Verdict::MustAccept, Outcome::Panicked(text)) => Some(one(
                FindingKind::RejectedGenuine,
                r.step,
                r.what(),
                Some("panic"),
                format!("{}: expected success, the peer panicked: {text}", at(r)),
            )),
            (_, Outcome::Panicked(text)) => Some(one(
                FindingKind::Panic,
                r.step,
                r.what(),
                None,
                format!("{}: the peer panicked: {text}", at(r)),
            )),
            (Verdict::MustAccept, Outcome::Rejected(reject)) => Some(one(
                FindingKind::RejectedGenuine,
                r.step,
                r.what(),
                Some(reject.class.name()),
                format!("{}: expected success, got {reject}", at(r)),
            )),
            (Verdict::MustAccept, Outcome::Accepted(pt)) if r.expected.as_ref() != Some(pt) => {
                Some(one(
                    FindingKind::WrongPlaintext,
                    r.step,
                    r.what(),
                    None,
                    format!(
                        "{}: expected plaintext {}, got {}",
                        at(r),
                        hex_preview(r.expected.as_deref().unwrap_or_default(), 24),
                        hex_preview(pt, 24)
                    ),
                ))
            }
            (Verdict::MustReject(why), Outcome::Accepted(pt)) => {
                let kind = match why {
                    Why::Replay => FindingKind::AcceptedReplay,
                    Why::TooFarAhead => FindingKind::AcceptedTooFarAhead,
                    // A peer built with its authentication switched off (vodozemac under
                    // cfg(fuzzing)) accepts forgeries by construction: said in the header,
                    // counted, never a failing finding.
                    Why::Foreign | Why::Forged if !t.peer.weakened.is_empty() => {
                        FindingKind::WeakenedAccept
                    }
                    Why::Foreign => FindingKind::AcceptedForeign,
                    // A changed copy of the genuine bundle the initiator started from.
                    _ if r.kind == "bundle" => FindingKind::AcceptedMalleated,
                    _ if malleated(t, r, pt) => FindingKind::AcceptedMalleated,
                    _ => FindingKind::AcceptedForgery,
                };
                Some(one(
                    kind,
                    r.step,
                    r.what(),
                    None,
                    format!(
                        "{}: expected a rejection ({}), the peer decrypted {}",
                        at(r),
                        why.name(),
                        hex_preview(pt, 24)
                    ),
                ))
            }
            _ => None,
        };
        let finding = finding.map(|mut f| {
            if after_weakened
                && f.kind.fails_run()
                && !matches!(f.kind, FindingKind::Panic | FindingKind::Hang)
            {
                f = one(
                    FindingKind::WeakenedAccept,
                    f.step,
                    r.what(),
                    Some(f.kind.name()),
                    format!(
                        "after a forgery accepted with weakened checks: {}",
                        f.detail
                    ),
                );
            }
            after_weakened |= f.kind == FindingKind::WeakenedAccept;
            f
        });
        findings.extend(finding);
    }
    findings.extend(crate::oracle::security::findings(t));
    findings
}

/// Whether `pt` is the plaintext of the message the forged record copied: the plaintext its
/// send encrypted (so that the ruling does not depend on whether the genuine message is
/// delivered later, and a reproducer cut after the forged step keeps its signature).
fn malleated(t: &Transcript, forged: &Record, pt: &[u8]) -> bool {
    forged.msg.is_some_and(|id| {
        t.records.iter().any(|r| {
            r.msg == Some(id)
                && r.kind != forged.kind
                && (r.expected.as_deref() == Some(pt)
                    || (r.delivery.is_none() && r.input.as_slice() == pt))
        })
    })
}

/// Records keyed by (step, ordinal within the step), so that transcripts of peers with
/// different limits still line up step by step.
pub(crate) fn by_position(t: &Transcript) -> BTreeMap<(usize, usize), &Record> {
    let mut out = BTreeMap::new();
    let mut last = (usize::MAX, 0);
    for r in &t.records {
        let ordinal = if last.0 == r.step { last.1 + 1 } else { 0 };
        last = (r.step, ordinal);
        out.insert((r.step, ordinal), r);
    }
    out
}

/// Where peers disagree with each other: byte for byte between peers of one family whose
/// randomness the bench injects, and on outcomes wherever the oracle allowed either.
pub fn divergence(transcripts: &[Transcript]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let positions: Vec<_> = transcripts.iter().map(by_position).collect();
    // A stopped shim's transcript says nothing about its implementation (its finding is
    // shim-failed): it is compared with no one.
    let stopped: Vec<bool> = transcripts.iter().map(shim_stopped).collect();
    for i in 0..transcripts.len() {
        for j in i + 1..transcripts.len() {
            if stopped[i] || stopped[j] {
                continue;
            }
            let (a, b) = (&transcripts[i], &transcripts[j]);
            // Where an attack step applied on one peer and not on the other (a peer without a
            // codec skips typed changes), the two took different inputs from there on; a
            // changed bundle changes the whole session.
            let cut = attack_split(a, b);
            if cut == Some(0) {
                continue;
            }
            // One took a changed bundle and the other refused it: they differ there, and
            // nothing after it compares (the refusing one has no session).
            let split = bundle_split(a, b);
            let keep = |step: usize| match (split, cut) {
                (Some(at), _) => step == at && cut.is_none_or(|c| step < c),
                (None, Some(c)) => step < c,
                (None, None) => true,
            };
            // The whole transcripts (their lost jump messages too) compare only when nothing
            // was cut.
            let whole = cut.is_none() && split.is_none();
            let kept;
            let (pi, pj) = if whole {
                (&positions[i], &positions[j])
            } else {
                kept = (only(&positions[i], keep), only(&positions[j], keep));
                (&kept.0, &kept.1)
            };
            let peers = vec![a.peer.name.clone(), b.peer.name.clone()];
            let same_bytes = a.peer.family == b.peer.family
                && a.peer.capabilities.injectable_rng
                && b.peer.capabilities.injectable_rng;
            // A jump sends as many lost messages as the receiver's forward limit allows: of
            // peers with other limits the byte comparison stops at the first jump, from where
            // their sessions count other messages.
            let jump = jump_split(a, b);
            let before_jump;
            let (bi, bj, whole) = match jump {
                Some(at) => {
                    before_jump = (only(pi, |s| s < at), only(pj, |s| s < at));
                    (&before_jump.0, &before_jump.1, false)
                }
                None => (pi, pj, whole),
            };
            // Peers of their own randomness are handed other bytes anyway: only their
            // outcomes compare, step by step.
            let split = if same_bytes {
                forgery_split(bi, bj)
            } else {
                None
            };
            let before_forgery;
            let (pi, pj, bi, bj, whole) = match split {
                Some(at) => {
                    before_forgery = (
                        only(pi, |s| s < at),
                        only(pj, |s| s < at),
                        only(bi, |s| s < at),
                        only(bj, |s| s < at),
                    );
                    let f = &before_forgery;
                    (&f.0, &f.1, &f.2, &f.3, false)
                }
                None => (pi, pj, bi, bj, whole),
            };
            if same_bytes {
                if let Some(f) = byte_divergence(a, b, bi, bj, &peers, whole) {
                    findings.push(f);
                    continue;
                }
            }
            findings.extend(outcome_divergence(pi, pj, &peers));
        }
    }
    findings
}

/// The first jump's step, if `a` and `b` jump by different numbers of messages (their peers
/// declare forward limits that give other jump bases).
fn jump_split(a: &Transcript, b: &Transcript) -> Option<usize> {
    let base = |t: &Transcript| crate::scenario::jump_base(t.peer.limits.max_skip);
    if base(a) == base(b) {
        return None;
    }
    a.records
        .iter()
        .chain(&b.records)
        .filter(|r| r.kind == "jump")
        .map(|r| r.step)
        .min()
}

/// The first step at which `a` and `b` were handed different forgeries, if any. A forged
/// copy is made from each peer's own wire bytes: where two senders write one message in
/// other encodings (the comparison form hides that from the byte comparison of sends), a
/// `tamper` flips the same bit of the same region of other bytes, and a `mutate` of the
/// n-th integer changes another field, so from that step on the two sessions ran on other
/// inputs and their outcomes do not compare. The same change of both encodings (a version
/// byte, an unknown field) gives the same comparison form, and compares. A changed bundle is
/// left to [`bundle_split`]: its operator changes the same field of the family's one bundle
/// format, and the bytes differ only where a responder's signature is randomised.
fn forgery_split(
    pa: &BTreeMap<(usize, usize), &Record>,
    pb: &BTreeMap<(usize, usize), &Record>,
) -> Option<usize> {
    pa.iter().find_map(|(key, ra)| {
        let rb = pb.get(key)?;
        let forged = ra.delivery == Some(Delivery::Forged) && ra.kind != "bundle";
        (forged && ra.compared_input() != rb.compared_input()).then_some(ra.step)
    })
}

/// The step of the bundle change both `a` and `b` applied, if one refused it and the other
/// took it.
fn bundle_split(a: &Transcript, b: &Transcript) -> Option<usize> {
    fn bundle(t: &Transcript) -> Option<&Record> {
        t.records
            .iter()
            .find(|r| r.kind == "bundle" && r.op.is_some())
    }
    let (ra, rb) = (bundle(a)?, bundle(b)?);
    let refused = |r: &Record| matches!(r.outcome, Outcome::Rejected(_));
    (ra.step == rb.step && refused(ra) != refused(rb)).then_some(ra.step)
}

/// The records of `p` at the steps `keep` takes.
fn only<'t>(
    p: &BTreeMap<(usize, usize), &'t Record>,
    keep: impl Fn(usize) -> bool,
) -> BTreeMap<(usize, usize), &'t Record> {
    p.iter()
        .filter(|((step, _), _)| keep(*step))
        .map(|(k, r)| (*k, *r))
        .collect()
}

/// The first step from which `a` and `b` took different inputs because an attack step (a
/// typed change of a message or of the bundle) applied on one and was skipped on the other:
/// `Some(0)` when it is a bundle change (the sessions differ from their set-up), `None` when
/// every attack step fared alike on both.
fn attack_split(a: &Transcript, b: &Transcript) -> Option<usize> {
    let applied = |t: &Transcript| -> BTreeMap<usize, (bool, bool)> {
        t.records
            .iter()
            .filter(|r| r.op.is_some())
            .map(|r| {
                let skipped = matches!(r.outcome, Outcome::Skipped(_));
                (r.step, (!skipped, r.kind == "bundle"))
            })
            .collect()
    };
    let (ra, rb) = (applied(a), applied(b));
    let steps: std::collections::BTreeSet<usize> = ra.keys().chain(rb.keys()).copied().collect();
    steps.into_iter().find_map(|step| {
        let (x, y) = (ra.get(&step), rb.get(&step));
        let applied_a = x.is_some_and(|v| v.0);
        let applied_b = y.is_some_and(|v| v.0);
        let bundle = x.or(y).is_some_and(|v| v.1);
        (applied_a != applied_b).then_some(if bundle { 0 } else { step })
    })
}

/// How the shim behind a peer broke the protocol, if `o` is its stopped shim's refusal.
fn shim_failed(o: &Outcome) -> Option<(String, &crate::peer::Reject)> {
    match o {
        Outcome::Rejected(r) => r.failure_kind().map(|k| (k.to_string(), r)),
        _ => None,
    }
}

/// Whether a shim behind `t`'s peer broke the protocol during the scenario.
fn shim_stopped(t: &Transcript) -> bool {
    t.setup_failure.as_ref().and_then(shim_failed).is_some()
        || t.records.iter().any(|r| shim_failed(&r.outcome).is_some())
}

/// Whether `r` is a step played on a party of its own (a fresh responder, a second
/// initiator) that one peer may skip for want of a capability the other has (a state to
/// restore, a codec): the session goes on alike either way, so a skip on one side is no
/// divergence.
fn aside(r: &Record) -> bool {
    matches!(r.kind, "fresh" | "second")
}

fn byte_divergence(
    a: &Transcript,
    b: &Transcript,
    pa: &BTreeMap<(usize, usize), &Record>,
    pb: &BTreeMap<(usize, usize), &Record>,
    peers: &[String],
    whole: bool,
) -> Option<Finding> {
    let diverged = |step: usize, kind: &str, detail: String| {
        Some(Finding::new(
            FindingKind::DivergenceBytes,
            peers.to_vec(),
            step,
            kind,
            None,
            detail,
        ))
    };
    for (key, ra) in pa {
        let Some(rb) = pb.get(key) else {
            return diverged(
                ra.step,
                ra.what(),
                format!(
                    "{} recorded an input at step {} that {} did not",
                    peers[0], ra.step, peers[1]
                ),
            );
        };
        let (oa, ob) = (&ra.outcome, &rb.outcome);
        if aside(ra) && (matches!(oa, Outcome::Skipped(_)) || matches!(ob, Outcome::Skipped(_))) {
            continue;
        }
        // A sent message is compared in its family's comparison form: genuine senders of
        // some families write one message in several encodings.
        if oa.succeeded() != ob.succeeded() || ra.compared_bytes() != rb.compared_bytes() {
            let shown = |o: &crate::scenario::Outcome| {
                let bytes = o.bytes().map(|b| hex_preview(b, 24)).unwrap_or_default();
                format!("{} {bytes}", o.label())
            };
            return diverged(
                ra.step,
                ra.what(),
                format!(
                    "step {} ({}): {} gave {}, {} gave {}",
                    ra.step,
                    ra.what(),
                    peers[0],
                    shown(oa),
                    peers[1],
                    shown(ob)
                ),
            );
        }
    }
    if whole && (pa.len() != pb.len() || a.sent_digest != b.sent_digest) {
        let step = pb.keys().find(|k| !pa.contains_key(k)).map_or(0, |k| k.0);
        return diverged(
            step,
            "send",
            "the wire bytes of the lost messages of a jump differ, or one peer recorded more inputs"
                .into(),
        );
    }
    None
}

fn outcome_divergence(
    pa: &BTreeMap<(usize, usize), &Record>,
    pb: &BTreeMap<(usize, usize), &Record>,
    peers: &[String],
) -> Option<Finding> {
    pa.iter().find_map(|(key, ra)| {
        let rb = pb.get(key)?;
        let both_may =
            matches!(ra.verdict, Verdict::May(_)) && matches!(rb.verdict, Verdict::May(_));
        let skipped =
            matches!(ra.outcome, Outcome::Skipped(_)) || matches!(rb.outcome, Outcome::Skipped(_));
        (both_may && !skipped && ra.outcome.succeeded() != rb.outcome.succeeded()).then(|| {
            Finding::new(
                FindingKind::DivergenceOutcome,
                peers.to_vec(),
                ra.step,
                ra.what(),
                None,
                format!(
                    "step {} ({}), where either outcome is allowed: {} {}, {} {}",
                    ra.step,
                    ra.what(),
                    peers[0],
                    ra.outcome.label(),
                    peers[1],
                    rb.outcome.label()
                ),
            )
        })
    })
}
