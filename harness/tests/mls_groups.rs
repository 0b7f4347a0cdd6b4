//! MLS groups beyond one epoch, on openmls and mls-rs: the executor on a schedule that
//! crosses every operation, each oracle against a deliberately weakened wrapper of each real
//! peer (and the real peer as the control), the interop cells per operation, copied states,
//! shrinking and minimizing, the pinned group cases and the fuzz target's seeds.

// Tests may fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ratchet_bench::group::campaign::{self, schedule_bytes, schedule_for};
use ratchet_bench::group::executor::{execute, Assignment, GroupOutcome, GroupTranscript};
use ratchet_bench::group::oracle::{Ruling, Why};
use ratchet_bench::group::{interop, GroupPeer, GroupSchedule, MemberId, Received};
use ratchet_bench::peers::mls_group::weakened_for_testing_only::{Flaw, Weakened};
use ratchet_bench::peers::mls_group::{bundled, MlsRsGroup, OpenMlsGroup};
use ratchet_bench::report::FindingKind;
use ratchet_bench::{fuzzing, group_run};
use std::path::Path;

fn real() -> Vec<Box<dyn GroupPeer>> {
    bundled()
}

fn refs(peers: &[Box<dyn GroupPeer>]) -> Vec<&dyn GroupPeer> {
    peers.iter().map(|p| p.as_ref()).collect()
}

fn run_on(peer: &dyn GroupPeer, schedule: &str) -> GroupTranscript {
    let s: GroupSchedule = schedule.parse().unwrap();
    execute(&[peer], &Assignment::one(0), &s, 7)
}

/// A schedule that crosses every operation: proposals and commits of both wire formats,
/// adds, removes, updates, a leaf reused, lagging members, late messages within and beyond
/// every peer's retention, a removed member's own late message, flipped membership tags, a
/// copied state.
const TOUR: &str = "group 4; send M1 5; send M2 6; commit M0 update public; tamper m2 M3 tag 11; \
    sync M3; deliver m0; propose M3 remove M2 private; commit M1 pending public; \
    tamper m4 M0 tag 300; sync M0; sync M3; send M2 4; deliver m5; deliver m1; \
    commit M0 add private; sync; send M4 7; send M1 6; deliver m7; commit M3 update private; \
    commit M4 update public; sync; commit M1 update private; sync; compromise M0; \
    send M0 3; propose M4 update public; commit M1 pending private; sync; deliver m8";

#[test]
fn the_tour_runs_clean_on_each_peer_and_on_mixed_groups() {
    let peers = real();
    let refs = refs(&peers);
    let schedule: GroupSchedule = TOUR.parse().unwrap();
    let transcripts = campaign::check_schedule(&refs, &schedule, 3);
    assert_eq!(transcripts.len(), 4, "each alone and two mixed groups");
    for t in &transcripts {
        assert!(t.stopped.is_none(), "{}: {:?}", t.assignment, t.stopped);
        assert!(
            t.findings.is_empty(),
            "{}: {:#?}\n{}",
            t.assignment,
            t.findings,
            group_run::render(std::slice::from_ref(t))
        );
        let ruled = |msg: u32, member: u8| {
            t.records
                .iter()
                .find(|r| {
                    r.action == "receive-app"
                        && r.msg.map(|m| m.0) == Some(msg)
                        && r.member == MemberId(member)
                })
                .unwrap_or_else(|| panic!("{}: no delivery of m{msg} to M{member}", t.assignment))
        };
        // m1 (epoch 1, from M2) reaches M0 in epoch 3: late, within both retentions, but its
        // sender has been removed since (mls-rs declares it refuses that).
        let r = ruled(1, 0);
        assert_eq!(r.epochs, Some((1, 3)));
        // m5, sent by M2 after the commit removing it (which M2 had not taken).
        let r = ruled(5, 0);
        assert!(matches!(r.ruling, Some(Ruling::May(_))), "{r:?}");
        // M2 was removed in epoch 3: m7 (epoch 4) must be refused by it.
        let r = ruled(7, 2);
        assert_eq!(r.ruling, Some(Ruling::MustReject(Why::Removed)));
        assert_eq!(r.outcome.kind(), "refused");
        // m7 from M4, the new member at M2's old leaf, is attributed to M4.
        let r = ruled(7, 1);
        match &r.outcome {
            GroupOutcome::Accepted {
                received: Received::Application { sender, .. },
            } => {
                assert_eq!(sender.identity, "M4");
                assert_eq!(sender.leaf, 2, "M4 took the leaf M2 left");
            }
            other => panic!("{}: {other:?}", t.assignment),
        }
        // m8 (epoch 4) reaches M3 in epoch 8: beyond every retention.
        let r = ruled(8, 3);
        assert_eq!(r.epochs, Some((4, 8)));
        assert_eq!(r.ruling, Some(Ruling::MustReject(Why::PastRetention)));
        // Both tampered tags were PublicMessages and were refused.
        let tampered: Vec<&str> = t
            .records
            .iter()
            .filter(|r| r.action == "tamper-tag")
            .map(|r| r.outcome.kind())
            .collect();
        assert_eq!(tampered, vec!["refused", "refused"], "{}", t.assignment);
        // The copy of M0 was probed and refused every message it had to have deleted.
        let probes: Vec<&str> = t
            .records
            .iter()
            .filter(|r| r.action == "probe")
            .map(|r| r.outcome.kind())
            .collect();
        assert!(!probes.is_empty(), "{}: no probe", t.assignment);
        assert!(probes.iter().all(|p| *p == "refused"), "{probes:?}");
    }
    assert_eq!(transcripts[0].shape.reused_leaves, 1);
    assert_eq!(transcripts[0].shape.epochs, 8);
}

/// The flaws, the schedule that shows each, and the finding kind and class the oracle gives.
const FLAWS: [(Flaw, &str, FindingKind, &str); 7] = [
    (
        Flaw::KeepsRemovedKeys,
        "group 3; commit M0 remove M2 private; sync; send M0 5; deliver m1 M2; deliver m1",
        FindingKind::RemovedDecrypted,
        "removed",
    ),
    (
        Flaw::IgnoresMembershipTag,
        "group 3; commit M0 update public; tamper m0 M1 tag 5; sync",
        FindingKind::AcceptedMalleated,
        "membership-tag",
    ),
    (
        Flaw::KeepsUsedKeys,
        "group 3; send M0 5; deliver m0; compromise M1",
        FindingKind::ForwardSecrecy,
        "used-key",
    ),
    (
        Flaw::ClaimsNoPastEpochs,
        "group 3; send M0 5; commit M1 update private; sync; deliver m0",
        FindingKind::ForwardSecrecy,
        "past-epoch",
    ),
    (
        Flaw::NamesSenderByLeaf,
        "group 3; commit M0 remove M1 private; sync; commit M0 add private; sync; send M3 5; \
         deliver m2",
        FindingKind::Misattributed,
        "identity",
    ),
    (
        Flaw::DropsLateMessages,
        "group 3; send M0 5; commit M1 update private; sync; deliver m0",
        FindingKind::RejectedGenuine,
        "other",
    ),
    (
        Flaw::ClaimsShortForwardLimit,
        "group 2; jump M0 999; deliver m0",
        FindingKind::AcceptedTooFarAhead,
        "too-far-ahead",
    ),
];

#[test]
fn every_oracle_catches_its_weakened_wrapper_of_each_real_peer() {
    let makers: [fn() -> Box<dyn GroupPeer>; 2] =
        [|| Box::new(OpenMlsGroup), || Box::new(MlsRsGroup)];
    for make in makers {
        for (flaw, schedule, kind, class) in FLAWS {
            let control = make();
            let name = control.info().name;
            let t = run_on(control.as_ref(), schedule);
            assert!(
                t.findings.is_empty() && t.stopped.is_none(),
                "{name} itself must pass {schedule}: {:#?}",
                t.findings
            );
            let weak = Weakened::new(make(), flaw);
            let t = run_on(&weak, schedule);
            let caught = t.findings.iter().find(|f| f.kind == kind);
            let f = caught.unwrap_or_else(|| {
                panic!(
                    "{name} with {} must give {kind}: {:#?}\n{}",
                    flaw.name(),
                    t.findings,
                    group_run::render(std::slice::from_ref(&t))
                )
            });
            assert!(
                f.signature.ends_with(&format!("/{class}")),
                "{}: {}",
                flaw.name(),
                f.signature
            );
            assert!(
                f.signature.starts_with(&format!("{name}~{}/", flaw.name())),
                "{}",
                f.signature
            );
        }
    }
}

#[test]
fn every_interop_cell_passes_and_the_matrix_is_stable() {
    let peers = real();
    let cells = interop::run(&refs(&peers));
    assert_eq!(cells.len(), interop::OPERATIONS.len() * 4);
    let text = interop::render(&cells);
    assert!(interop::sightings(&cells).is_empty(), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn an_interop_cell_fails_with_its_first_finding() {
    let peers: Vec<Box<dyn GroupPeer>> = vec![
        Box::new(OpenMlsGroup),
        Box::new(Weakened::new(Box::new(MlsRsGroup), Flaw::DropsLateMessages)),
    ];
    let cells = interop::run(&refs(&peers));
    let seen = interop::sightings(&cells);
    assert!(
        seen.iter().any(|s| s.signature
            == "openmls+mls-rs~drops-late-messages/interop/group-app-across-epoch/other"),
        "{:#?}",
        seen.iter().map(|s| &s.signature).collect::<Vec<_>>()
    );
    for s in &seen {
        assert!(
            s.reproducer.starts_with("ratchet-bench replay 'group "),
            "{}",
            s.reproducer
        );
    }
}

#[test]
fn a_copied_member_comes_back_in_its_epoch_and_damage_is_refused() {
    for peer in real() {
        let (mut a, _) = peer.client("M0").unwrap();
        let (mut b, kp) = peer.client("M1").unwrap();
        a.create().unwrap();
        let commit = a
            .commit(
                &[ratchet_bench::group::Proposal::Add { key_package: kp }],
                ratchet_bench::group::WireFormat::Private,
            )
            .unwrap();
        b.join(&commit.welcome.unwrap()).unwrap();
        let wire = a.send(b"hello").unwrap();
        let state = b.export_state().unwrap();
        let mut copy = peer.restore(&state).unwrap();
        assert_eq!(copy.epoch(), b.epoch());
        assert_eq!(copy.leaf(), Some(1));
        match copy.receive(&wire).unwrap() {
            Received::Application { plaintext, sender } => {
                assert_eq!(plaintext, b"hello");
                assert_eq!(sender.identity, "M0");
            }
            other => panic!("{other:?}"),
        }
        let err = peer.restore(&state[..state.len() / 2]).err().unwrap();
        assert!(err.detail.contains("member state: field"), "{}", err.detail);
        let err = peer.restore(b"\0\0\0\x03abc").err().unwrap();
        assert!(err.detail.contains("field format"), "{}", err.detail);
    }
}

#[test]
fn a_finding_shrinks_to_the_steps_that_show_it() {
    let weak = Weakened::new(Box::new(OpenMlsGroup), Flaw::NamesSenderByLeaf);
    let peers: Vec<&dyn GroupPeer> = vec![&weak];
    let padded: GroupSchedule = "group 5; send M2 9; deliver m0; commit M0 update private; sync; \
        commit M0 remove M1 private; send M3 3; sync; deliver m3; commit M2 add public; sync; \
        send M4 8; send M5 5; deliver m6; deliver m5"
        .parse()
        .unwrap();
    let min = group_run::minimize(&padded, &peers, 7, None, 200).unwrap();
    assert_eq!(min.finding.kind, FindingKind::Misattributed);
    assert!(
        min.schedule.steps.len() < padded.steps.len(),
        "{} from {padded}",
        min.schedule
    );
    let t = execute(&peers, &Assignment::one(0), &min.schedule, 7);
    assert!(t
        .findings
        .iter()
        .any(|f| f.signature == min.finding.signature));
    // Written as a regression case, it reads back.
    let dir = std::env::temp_dir().join(format!("rb-groups-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("groups.txt");
    group_run::write_case(&file, "leaf-names", 7, &min, padded.steps.len()).unwrap();
    let pinned = group_run::pinned(&file).unwrap();
    assert_eq!(pinned, vec![(min.schedule.clone(), 7)]);
    let again = group_run::write_case(&file, "leaf-names", 7, &min, padded.steps.len());
    assert!(again.unwrap_err().contains("already there"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_pinned_group_cases_parse_and_show_what_they_pin() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/regressions/groups.txt");
    let text = std::fs::read_to_string(&path).unwrap();
    let pinned = campaign::parse_pinned(&text).unwrap();
    let peers = real();
    let refs = refs(&peers);
    let mut case: Option<String> = None;
    let mut checked = 0;
    for line in text.lines() {
        if let Some(rest) = line.trim().strip_prefix("# case ") {
            case = rest.split_once(':').map(|(_, s)| s.trim().to_string());
            continue;
        }
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let (schedule, seed) = &pinned[checked];
        checked += 1;
        let signatures: Vec<String> = campaign::check_schedule(&refs, schedule, *seed)
            .into_iter()
            .flat_map(|t| t.findings)
            .map(|f| f.signature)
            .collect();
        match case.take() {
            Some(sig) => assert!(
                signatures.contains(&sig),
                "{schedule} must show {sig}; it shows {signatures:?}"
            ),
            None => assert!(
                signatures.is_empty(),
                "{schedule} pins no finding but shows {signatures:?}"
            ),
        }
    }
    assert_eq!(checked, pinned.len());
}

#[test]
fn fuzz_seeds_are_campaign_schedules_without_new_findings() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/diff_mls_group");
    std::fs::create_dir_all(&dir).unwrap();
    for index in 0..6 {
        let bytes = schedule_bytes(1, index);
        let (schedule, _) = schedule_for(1, index);
        let decoded: GroupSchedule =
            arbitrary::Arbitrary::arbitrary_take_rest(arbitrary::Unstructured::new(&bytes))
                .unwrap();
        assert_eq!(
            decoded, schedule,
            "a seed must decode to the campaign's schedule {index}"
        );
        assert!(
            fuzzing::check_mls_group(&schedule).is_none(),
            "schedule {index} ({schedule}) crashes the target"
        );
        let path = dir.join(format!("campaign-1-{index:02}"));
        if std::fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
            std::fs::write(path, &bytes).unwrap();
        }
    }
}

/// The drawn schedules alone, with no schedule written for the flaw: the group campaign of
/// `run`'s default size finds every flaw of a weakened openmls, and the reproducer it keeps
/// (shrunk) shows the same finding again.
#[test]
fn the_default_group_campaign_finds_every_flaw_and_its_reproducer_shows_it() {
    for (flaw, _, kind, _) in FLAWS {
        let peers: Vec<Box<dyn GroupPeer>> =
            vec![Box::new(Weakened::new(Box::new(OpenMlsGroup), flaw))];
        let run = group_run::run(
            &peers,
            &[],
            1,
            group_run::DEFAULT_GROUP_SCHEDULES,
            2,
            &|| {},
        );
        let seen = run
            .findings
            .iter()
            .find(|s| s.kind == kind)
            .unwrap_or_else(|| {
                panic!(
                    "{} not found by {} drawn schedules: {:#?}",
                    flaw.name(),
                    group_run::DEFAULT_GROUP_SCHEDULES,
                    run.findings
                )
            });
        let schedule: GroupSchedule = seen.scenario.parse().unwrap();
        let shown = campaign::check_schedule(&refs(&peers), &schedule, seen.seed)
            .into_iter()
            .flat_map(|t| t.findings)
            .any(|f| f.signature == seen.signature);
        assert!(shown, "{} must show {}", seen.reproducer, seen.signature);
        println!(
            "{}: {} x{} ({} steps)",
            flaw.name(),
            seen.signature,
            seen.count,
            schedule.steps.len()
        );
    }
}

/// One seed, one result: the campaign's counts and findings do not depend on the number of
/// workers nor on the run, and another seed draws other schedules.
#[test]
fn the_group_campaign_is_deterministic_for_one_seed() {
    let peers = real();
    let refs = refs(&peers);
    let one = campaign::run(&refs, &[], 5, 6, 1, &|| {});
    let two = campaign::run(&refs, &[], 5, 6, 2, &|| {});
    assert_eq!(format!("{:?}", one.runs), format!("{:?}", two.runs));
    assert_eq!(format!("{:?}", one.shape), format!("{:?}", two.shape));
    let sigs = |c: &campaign::GroupCampaign| {
        c.sightings()
            .iter()
            .map(|s| (s.signature.clone(), s.reproducer.clone(), s.count))
            .collect::<Vec<_>>()
    };
    assert_eq!(sigs(&one), sigs(&two));
    assert_eq!(schedule_for(5, 3), schedule_for(5, 3));
    assert_ne!(schedule_for(5, 3).0, schedule_for(6, 3).0);
}
