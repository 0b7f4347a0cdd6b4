//! The bench survives its peers: a peer call that hangs is stopped by the per-call budget and
//! reported as `peer/hang/<call>` (the party abandoned, the rest of the scenario and the other
//! peers' results kept), and a peer that panics is reported as a panic while the run goes on.
//! The faulty peers are the bundled reference with one call made to hang or panic on an
//! injected input.

// Test helpers may fail loudly, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ratchet_bench::campaign::check_scenario;
use ratchet_bench::peer::{BoxRng, Party, Peer, PeerInfo, Reject, SessionInit, WireLayout};
use ratchet_bench::peers::ReferenceSignalDr;
use ratchet_bench::report::FindingKind;
use ratchet_bench::scenario::{Outcome, Scenario};
use std::time::{Duration, Instant};

/// The input that makes a faulty party misbehave: `inject B ff00ff`.
const TRIGGER: &[u8] = &[0xff, 0x00, 0xff];

#[derive(Clone, Copy)]
enum Fault {
    Hang,
    Panic,
}

struct Faulty(Fault);

struct FaultyParty(Box<dyn Party>, Fault);

impl Party for FaultyParty {
    fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
        self.0.encrypt(ad, plaintext)
    }

    fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject> {
        if wire == TRIGGER {
            match self.1 {
                Fault::Hang => loop {
                    std::thread::sleep(Duration::from_secs(3600));
                },
                Fault::Panic => panic!("deliberate panic on the trigger input"),
            }
        }
        self.0.decrypt(ad, wire)
    }
}

impl Peer for Faulty {
    fn info(&self) -> PeerInfo {
        let mut info = ReferenceSignalDr.info();
        info.name = match self.0 {
            Fault::Hang => "hangs".into(),
            Fault::Panic => "panics".into(),
        };
        info
    }

    fn respond(
        &self,
        init: &SessionInit,
        rng: BoxRng,
    ) -> Result<(Box<dyn Party>, Vec<u8>), Reject> {
        let (party, bundle) = ReferenceSignalDr.respond(init, rng)?;
        Ok((Box::new(FaultyParty(party, self.0)), bundle))
    }

    fn initiate(
        &self,
        init: &SessionInit,
        bundle: &[u8],
        rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        let party = ReferenceSignalDr.initiate(init, bundle, rng)?;
        Ok(Box::new(FaultyParty(party, self.0)))
    }

    fn layout(&self, wire: &[u8]) -> WireLayout {
        ReferenceSignalDr.layout(wire)
    }
}

const SCENARIO: &str =
    "send A 5; deliver m0; inject B ff00ff; send A 6; deliver m1; send B 7; deliver m2";

#[test]
fn a_hanging_call_is_stopped_reported_and_the_rest_kept() {
    // Tests in this file share the process-wide budget; this one is the only test that
    // hangs, and a short budget keeps it quick.
    ratchet_bench::guard::set_call_budget(Duration::from_millis(300));
    let scenario: Scenario = SCENARIO.parse().unwrap();
    let hangs = Faulty(Fault::Hang);
    let started = Instant::now();
    let (transcripts, findings) = check_scenario(&[&ReferenceSignalDr, &hangs], &scenario, 3);
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(20),
        "the hang must cost about the budget, not the run: took {took:?}"
    );

    let hang: Vec<_> = findings
        .iter()
        .filter(|f| f.kind == FindingKind::Hang)
        .collect();
    assert_eq!(hang.len(), 1, "one hang finding: {findings:?}");
    assert_eq!(hang[0].signature, "hangs/hang/decrypt");
    assert_eq!(hang[0].step, 2, "the hang is reported at the inject step");

    // The hung party (B) is abandoned: its later calls are skipped, not findings; A goes on.
    let t = &transcripts[1];
    let labels: Vec<(usize, String)> = t
        .records
        .iter()
        .map(|r| (r.step, r.outcome.label()))
        .collect();
    assert_eq!(
        labels,
        [
            (0, "sent".to_string()),
            (1, "accepted".to_string()),
            (2, "hang".to_string()),
            (3, "sent".to_string()),
            (4, "skipped".to_string()),
            (5, "skipped".to_string()),
            (6, "skipped".to_string()),
        ],
        "after the hang, B is never called again: it cannot take m1 or send m2"
    );
    assert!(
        matches!(&t.records[4].outcome, Outcome::Skipped(why) if why.contains("hung in decrypt")),
        "{:?}",
        t.records[4].outcome
    );

    // The other peer's whole transcript is there and clean.
    let reference = &transcripts[0];
    assert_eq!(
        reference.records.len(),
        7,
        "every step of the reference ran"
    );
    assert!(
        findings
            .iter()
            .all(|f| !f.peers.contains(&"reference".to_string())
                || f.kind.name().starts_with("divergence")),
        "{findings:?}"
    );
}

#[test]
fn a_panicking_call_is_reported_and_the_party_goes_on() {
    let scenario: Scenario = SCENARIO.parse().unwrap();
    let panics = Faulty(Fault::Panic);
    let (transcripts, findings) = check_scenario(&[&panics], &scenario, 3);
    let sigs: Vec<&str> = findings.iter().map(|f| f.signature.as_str()).collect();
    assert_eq!(sigs, ["panics/panic/inject"], "only the panic is a finding");
    let t = &transcripts[0];
    let labels: Vec<String> = t.records.iter().map(|r| r.outcome.label()).collect();
    assert_eq!(
        labels,
        ["sent", "accepted", "panic", "sent", "accepted", "sent", "accepted"],
        "the party that panicked keeps its state and carries the rest of the session"
    );
    assert!(
        matches!(&t.records[2].outcome, Outcome::Panicked(text) if text.contains("deliberate panic")),
        "{:?}",
        t.records[2].outcome
    );
}

#[test]
fn a_guarded_closure_reports_its_hang_and_its_panic() {
    let hung = ratchet_bench::guard::guarded_within(Duration::from_millis(100), || loop {
        std::thread::sleep(Duration::from_secs(3600));
    });
    assert!(
        matches!(hung, Err(ratchet_bench::guard::Stopped::Hung { .. })),
        "{hung:?}"
    );
    let panicked =
        ratchet_bench::guard::guarded_within(Duration::from_secs(5), || -> u8 { panic!("boom") });
    assert_eq!(
        panicked,
        Err(ratchet_bench::guard::Stopped::Panicked("boom".into()))
    );
    assert_eq!(
        ratchet_bench::guard::guarded_within(Duration::from_secs(5), || 7),
        Ok(7)
    );
}

/// Set in the child process of [`the_watchdog_ends_a_fuzz_target_on_a_hang`].
const WATCHDOG_CHILD: &str = "RATCHET_BENCH_TEST_WATCHDOG_CHILD";

/// The fuzz targets' way (`peers::abort_on_hang`): calls run on the caller's thread and the
/// watchdog ends the process on a hang, printing the crash message a target's crash has
/// (first line `ratchet-bench finding: <signature>`) so that libFuzzer keeps the input and
/// triage groups it. Run in a child process: it must die.
#[test]
fn the_watchdog_ends_a_fuzz_target_on_a_hang() {
    let exe = std::env::current_exe().unwrap();
    let started = Instant::now();
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "watchdog_child",
            "--include-ignored",
            "--nocapture",
        ])
        .env(WATCHDOG_CHILD, "1")
        .env(ratchet_bench::guard::CALL_BUDGET_ENV, "300")
        .output()
        .unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the child must be ended: {stderr}");
    assert!(
        stderr.contains(
            "ratchet-bench finding: hangs/hang/decrypt\nhangs: decrypt did not return within its budget of 300 ms"
        ),
        "{stderr}"
    );
    let signature = ratchet_bench::fuzzing::crash_signature(&stderr);
    assert_eq!(signature, Some("hangs/hang/decrypt"));
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("the run went on"),
        "the child got past the hang"
    );
    assert!(took < Duration::from_secs(60), "took {took:?}");
}

/// The child of [`the_watchdog_ends_a_fuzz_target_on_a_hang`]: a campaign step on a peer
/// that hangs, under `abort_on_hang`.
#[test]
#[ignore = "run in its own process by the_watchdog_ends_a_fuzz_target_on_a_hang, which it must end"]
fn watchdog_child() {
    assert_eq!(
        std::env::var(WATCHDOG_CHILD).as_deref(),
        Ok("1"),
        "run only as the child of the_watchdog_ends_a_fuzz_target_on_a_hang"
    );
    ratchet_bench::guard::abort_on_hang();
    let scenario: Scenario = SCENARIO.parse().unwrap();
    let hangs = Faulty(Fault::Hang);
    let _ = check_scenario(&[&hangs], &scenario, 3);
    println!("the run went on");
}
