//! The group schedule language: text that parses back to what it prints, drawn schedules
//! that are always valid, the model's rules with the step they name, and the edits the
//! shrinker makes.

// Tests may fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use arbitrary::{Arbitrary, Unstructured};
use proptest::prelude::*;
use ratchet_bench_core::group::campaign::{parse_pinned, schedule_for};
use ratchet_bench_core::group::model::{Action, GroupModel};
use ratchet_bench_core::group::{is_group_text, GroupSchedule, MemberId};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Any bytes draw a valid schedule whose text parses back to the same schedule.
    #[test]
    fn drawn_schedules_print_and_parse_back(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let schedule = GroupSchedule::arbitrary_take_rest(Unstructured::new(&bytes)).unwrap();
        prop_assert!(GroupModel::check(&schedule).is_ok(), "a drawn schedule must be valid: {schedule}");
        let text = schedule.to_string();
        prop_assert!(is_group_text(&text));
        let parsed: GroupSchedule = text.parse().map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(&parsed, &schedule);
        prop_assert_eq!(parsed.to_string(), text);
    }

    /// Removing any step or shrinking the group gives a schedule the shrinker can check.
    #[test]
    fn shrinking_edits_keep_names_consistent(bytes in proptest::collection::vec(any::<u8>(), 0..300), at in 0usize..40) {
        let schedule = GroupSchedule::arbitrary_take_rest(Unstructured::new(&bytes)).unwrap();
        if schedule.steps.is_empty() {
            return Ok(());
        }
        let i = at % schedule.steps.len();
        let without = schedule.without(i);
        prop_assert!(without.steps.len() < schedule.steps.len());
        // Every message and member named is one made before it (the model may still refuse
        // other rules).
        let mut made = 0u32;
        let mut names = without.size;
        for s in &without.steps {
            if let Some(m) = s.message() {
                prop_assert!(m.0 < made, "{without}: {s} names a message not made yet");
            }
            for m in s.members() {
                prop_assert!(m.0 < names, "{without}: {s} names a member not made yet");
            }
            made += u32::from(s.creates_message());
            names += u8::from(s.creates_member());
        }
        if let Some(smaller) = schedule.smaller() {
            prop_assert_eq!(smaller.size, schedule.size - 1);
            let mut made = 0u32;
            let mut names = smaller.size;
            for s in &smaller.steps {
                if let Some(m) = s.message() {
                    prop_assert!(m.0 < made, "{smaller}: {s} names a message not made yet");
                }
                for m in s.members() {
                    prop_assert!(m.0 < names, "{smaller}: {s} names a member not made yet");
                }
                made += u32::from(s.creates_message());
                names += u8::from(s.creates_member());
            }
        }
    }
}

#[test]
fn hand_written_schedules_print_canonically() {
    let text =
        "group 3 ;send M1 5; propose M2 update public;  commit M0 pending private; sync M1; \
                tamper m1 M1 tag 9; deliver m0; deliver m0 M2; compromise M1; sync;jump  M2 1001";
    let s: GroupSchedule = text.parse().unwrap();
    assert_eq!(
        s.to_string(),
        "group 3; send M1 5; propose M2 update public; commit M0 pending private; sync M1; \
         tamper m1 M1 tag 9; deliver m0; deliver m0 M2; compromise M1; sync; jump M2 1001"
    );
    assert!(!is_group_text("send A 5; deliver m0"));
    assert!(!is_group_text("groupie 3"));
}

#[test]
fn schedules_that_do_not_fit_the_group_name_the_step() {
    let cases = [
        (
            "group 3; jump M1 70000",
            "step 0",
            "how many messages are lost (0 to 65535)",
        ),
        ("group 9", "header", "2 to 8 members"),
        ("send A 5", "header", "expected `group N`"),
        (
            "group 3; send M5 4",
            "step 0",
            "M5 is not a member name yet",
        ),
        ("group 3; deliver m0", "step 0", "m0 is not sent yet"),
        (
            "group 3; commit M0 pending private",
            "step 0",
            "no proposal is pending",
        ),
        (
            "group 3; commit M0 remove M0 public",
            "step 0",
            "cannot remove itself",
        ),
        (
            "group 3; propose M1 update private; commit M2 update private",
            "step 1",
            "commit them with `pending`",
        ),
        (
            "group 3; propose M1 update private; commit M1 pending private",
            "step 1",
            "its own Update proposal",
        ),
        (
            "group 2; commit M0 remove M1 private",
            "step 0",
            "fewer than 2 members",
        ),
        (
            "group 3; commit M0 remove M2 private; sync; send M2 4",
            "step 2",
            "no group to send in",
        ),
        (
            "group 3; commit M0 remove M2 private; commit M2 update private",
            "step 1",
            "was removed",
        ),
        (
            "group 3; send M0 4; tamper m0 M1 tag 3",
            "step 1",
            "not a proposal or a commit",
        ),
        (
            "group 3; commit M0 update private; deliver m0",
            "step 1",
            "members take it by sync",
        ),
        (
            "group 3; send M0 4; deliver m0 M0",
            "step 1",
            "its own message",
        ),
        ("group 3; send M0 x", "step 0", "plaintext length"),
        (
            "group 3; commit M0 add secret",
            "step 0",
            "public or private",
        ),
        ("group 3; tamper m0 M1 mac 3", "step 0", "expected tag"),
        ("group 3; frobnicate", "step 0", "unknown step"),
        (
            "group 8; commit M0 add public",
            "step 0",
            "more than 8 members",
        ),
    ];
    for (text, at, reason) in cases {
        let err = text.parse::<GroupSchedule>().unwrap_err();
        assert_eq!(err.at, at, "{text}: {err}");
        assert!(
            err.reason.contains(reason),
            "{text}: expected {reason:?} in {err}"
        );
    }
}

#[test]
fn a_member_added_after_a_removal_takes_the_blank_leaf() {
    let s: GroupSchedule = "group 4; commit M0 remove M1 private; commit M2 add public"
        .parse()
        .unwrap();
    let model = GroupModel::check(&s).unwrap();
    let m4 = model.member(MemberId(4)).unwrap();
    assert_eq!(m4.leaf, Some(1), "the leftmost blank leaf (RFC 9420 §7.7)");
    assert!(m4.reused_leaf);
    assert_eq!(m4.joined, Some(3));
    assert_eq!(model.member(MemberId(1)).unwrap().removed, Some(2));
    assert_eq!(model.epoch(), 3);
}

#[test]
fn lagging_members_catch_up_in_order_and_stop_at_their_removal() {
    let s: GroupSchedule =
        "group 3; commit M0 update private; send M1 4; commit M0 remove M1 public; \
                            propose M2 update private; sync M1; sync M2"
            .parse()
            .unwrap();
    let mut model = GroupModel::new(3);
    let mut actions = Vec::new();
    for step in &s.steps {
        actions.push(model.apply(step).unwrap());
    }
    // M1 sent m1 in epoch 1: it had not taken m0.
    assert_eq!(
        model
            .message(ratchet_bench_core::scenario::MsgId(1))
            .unwrap()
            .epoch,
        1
    );
    // sync M1 takes m0 (to epoch 2) then m2, its removal, and nothing after.
    let taken: Vec<_> = actions[4]
        .iter()
        .map(|a| match a {
            Action::Receive { msg, view, .. } => (msg.0, view.epoch),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(taken, vec![(0, 1), (2, 2)]);
    assert!(model.member(MemberId(1)).unwrap().gone);
    // M2 synced before proposing (m0, m2), then its sync takes nothing more.
    assert!(actions[5].is_empty());
    assert_eq!(model.member(MemberId(2)).unwrap().epoch, 3);
}

#[test]
fn campaign_schedules_come_from_the_seed_and_pinned_lines_name_their_line() {
    let (a, seed_a) = schedule_for(1, 7);
    let (b, seed_b) = schedule_for(1, 7);
    assert_eq!((a.clone(), seed_a), (b, seed_b));
    assert_ne!(schedule_for(1, 8).0, a);
    let pinned = parse_pinned("# a comment\n\n5 group 2; send M0 3; deliver m0\n").unwrap();
    assert_eq!(pinned.len(), 1);
    assert_eq!(pinned[0].1, 5);
    let err = parse_pinned("5 group 2; send M0 3\nx group 2").unwrap_err();
    assert!(err.starts_with("line 2"), "{err}");
    let err = parse_pinned("5 group 2; deliver m4").unwrap_err();
    assert!(err.contains("line 1") && err.contains("m4"), "{err}");
}

#[test]
fn a_jump_puts_its_message_ahead_by_the_messages_lost() {
    use ratchet_bench_core::group::model::MessageBody;
    let s: GroupSchedule = "group 2; send M0 4; jump M0 1001; send M0 3; commit M1 update \
        private; sync; jump M0 5"
        .parse()
        .unwrap();
    let model = GroupModel::check(&s).unwrap();
    let generations: Vec<(u64, u32, u16)> = model
        .messages
        .iter()
        .filter_map(|m| match m.body {
            MessageBody::Application { len, generation } => Some((m.epoch, generation, len)),
            MessageBody::Handshake { .. } => None,
        })
        .collect();
    // Generation 0, then 1001 lost (1 to 1001) and 1002 kept (8 bytes), then 1003; in the
    // next epoch the ratchet starts again: 5 lost, 5 kept.
    let e = generations[0].0;
    assert_eq!(
        generations,
        vec![(e, 0, 4), (e, 1002, 8), (e, 1003, 3), (e + 1, 5, 8)]
    );
}
