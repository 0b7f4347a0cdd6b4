//! Conformance of the shim host to the shim protocol (shims/PROTOCOL.md): a
//! deliberately broken shim (tests/shims/broken.py) hangs, crashes, writes garbage, a wrong
//! id or an oversized line, lies in its hello, floods stderr; each must be reported with a
//! message naming the shim, the request and the problem, and must never hang the bench or
//! lose the other peers' results. The template's echo mode is the well-behaved shim.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ratchet_bench::bench::{self, RunOptions};
use ratchet_bench::campaign::check_scenario;
use ratchet_bench::peer::{Family, Party, Peer, RejectClass, SessionInit};
use ratchet_bench::peers::shim::{self, ShimOptions, ShimSpec};
use ratchet_bench::peers::ReferenceSignalDr;
use ratchet_bench::report::FindingKind;
use ratchet_bench::rng;
use ratchet_bench::scenario::Scenario;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn broken_command(mode: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/shims/broken.py");
    format!("python3 '{}' {mode}", path.display())
}

fn echo_command() -> String {
    let path = repo().join("shims/template/shim.py");
    format!("python3 '{}' --echo", path.display())
}

fn options() -> ShimOptions {
    ShimOptions {
        timeout: Duration::from_millis(700),
        hello_timeout: Duration::from_secs(2),
        ..ShimOptions::default()
    }
}

fn start(name: &str, command: String) -> Result<Vec<Box<dyn Peer>>, String> {
    shim::start(&ShimSpec::new(name, command), &options())
}

fn start_err(name: &str, command: String) -> String {
    match start(name, command) {
        Ok(_) => panic!("shim {name} should be refused"),
        Err(e) => e,
    }
}

fn start_broken(mode: &str) -> Box<dyn Peer> {
    let mut peers = start(mode, broken_command(mode)).expect("the broken shim's hello is fine");
    assert_eq!(peers.len(), 1);
    peers.remove(0)
}

fn init() -> SessionInit {
    SessionInit {
        shared_secret: [9; 32],
    }
}

/// Both parties of a session of `peer`: `[A, B]`.
fn session(peer: &dyn Peer) -> [Box<dyn Party>; 2] {
    let (b, bundle) = peer
        .respond(&init(), Box::new(rng::stream(1, "B")))
        .expect("respond should work");
    let a = peer
        .initiate(&init(), &bundle, Box::new(rng::stream(1, "A")))
        .expect("initiate should work");
    [a, b]
}

/// Makes the first encrypt of a `mode` shim fail; returns its error and checks that the
/// next call fails at once with the same error.
fn first_encrypt_fails(mode: &str) -> String {
    let peer = start_broken(mode);
    let [mut a, mut b] = session(peer.as_ref());
    let started = Instant::now();
    let err = a
        .encrypt(b"ad", b"hello")
        .expect_err("the broken encrypt should fail");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "a failure should be seen within the budget, took {:?}",
        started.elapsed()
    );
    assert_eq!(err.class, RejectClass::Other);
    let again = Instant::now();
    let later = b
        .decrypt(b"ad", b"anything")
        .expect_err("a stopped shim should refuse");
    assert!(
        again.elapsed() < Duration::from_millis(100),
        "a stopped shim should fail fast, took {:?}",
        again.elapsed()
    );
    assert_eq!(
        later, err,
        "every later call should fail with the same error"
    );
    assert!(shim::failure_kind(&err).is_some(), "{}", err.detail);
    err.detail
}

fn assert_names(detail: &str, mode: &str, problem: &str) {
    assert!(
        detail.starts_with(&format!(
            "shim-failed/{mode_kind}: shim \"{mode}\" (python3 ",
            mode_kind = kind(mode)
        )),
        "the message should name the failure and the shim: {detail}"
    );
    assert!(
        detail.contains("request 3 (encrypt)"),
        "the message should name the request (hello 0, respond 1, initiate 2, encrypt 3): {detail}"
    );
    assert!(
        detail.contains(problem),
        "the message should say {problem:?}: {detail}"
    );
}

fn kind(mode: &str) -> &'static str {
    match mode {
        "hang-encrypt" => "hang",
        "garbage" => "garbage",
        "wrong-id" | "random-wrong-id" => "wrong-id",
        "random-undeclared" | "random-too-much" | "random-over-total" => "bad-random",
        "oversized" => "oversized",
        _ => "exited",
    }
}

#[test]
fn a_hang_is_stopped_at_the_budget_with_the_stderr_tail() {
    let detail = first_encrypt_fails("hang-encrypt");
    assert_names(
        &detail,
        "hang-encrypt",
        "no answer within 700 ms; it was stopped",
    );
    assert!(
        detail.contains("the last lines of its stderr:\nbroken shim: hello received\nbroken shim: about to hang"),
        "{detail}"
    );
}

#[test]
fn garbage_wrong_ids_and_oversized_lines_stop_the_shim() {
    assert_names(
        &first_encrypt_fails("garbage"),
        "garbage",
        "it wrote a line that is not JSON (expected ident at line 1 column 2): \"this is not json\"",
    );
    assert_names(
        &first_encrypt_fails("wrong-id"),
        "wrong-id",
        "it answered with id 4, expected 3",
    );
    assert_names(
        &first_encrypt_fails("oversized"),
        "oversized",
        "it wrote a line longer than 16777216 bytes",
    );
}

#[test]
fn asks_for_random_bytes_that_break_the_protocol_stop_the_shim() {
    let undeclared = first_encrypt_fails("random-undeclared");
    assert_names(
        &undeclared,
        "random-undeclared",
        "it asked for 16 random bytes during encrypt, which may not ask: its hello did not declare host_rng for this peer",
    );
    assert!(
        undeclared.ends_with("broken shim: asking for random bytes"),
        "the stderr tail is shown: {undeclared}"
    );
    assert_names(
        &first_encrypt_fails("random-wrong-id"),
        "random-wrong-id",
        "it asked for random bytes with id 4, expected 3",
    );
    assert_names(
        &first_encrypt_fails("random-too-much"),
        "random-too-much",
        "it asked for 4097 random bytes, expected an integer from 1 to 4096",
    );
    assert_names(
        &first_encrypt_fails("random-over-total"),
        "random-over-total",
        "it asked for 4096 random bytes after 65536 in the same request, more than the 65536 one request may take",
    );
}

#[test]
fn an_ask_during_a_request_about_no_partys_randomness_stops_the_shim() {
    let peer = start_broken("random-export");
    let [mut a, b] = session(peer.as_ref());
    a.encrypt(b"ad", b"fine")
        .expect("asks during encrypt are allowed");
    let err = b.export_state().expect_err("an ask during export fails");
    assert_eq!(
        shim::failure_kind(&err),
        Some("bad-random"),
        "{}",
        err.detail
    );
    assert!(
        err.detail.contains(
            "request 4 (export): it asked for 8 random bytes during export, which may not ask: exporting a state draws no randomness"
        ),
        "{}",
        err.detail
    );
}

/// The bytes `n` of a fresh stream after `skip`: what a party's generator gives.
fn stream_bytes(label: &str, skip: usize, n: usize) -> Vec<u8> {
    use rand_core::RngCore;
    let mut all = vec![0u8; skip + n];
    rng::stream(1, label).fill_bytes(&mut all);
    all.split_off(skip)
}

#[test]
fn host_randomness_comes_from_each_partys_own_generator() {
    let command = format!("{} --host-rng", echo_command());
    let peers = start("echo-rng", command).unwrap();
    let peer = peers[0].as_ref();
    assert!(
        peer.info().capabilities.injectable_rng,
        "a peer with host_rng is byte-comparable"
    );
    // The responder's session id is the first 16 bytes of its generator (no seed drawn
    // before); each message carries a 4-byte nonce drawn by its sender.
    let [mut a, mut b] = session(peer);
    let m0 = a.encrypt(b"ad", b"x").unwrap();
    let m1 = a.encrypt(b"ad", b"y").unwrap();
    assert_eq!(&m0[9..13], stream_bytes("A", 0, 4).as_slice());
    assert_eq!(&m1[9..13], stream_bytes("A", 4, 4).as_slice());
    assert_eq!(b.decrypt(b"ad", &m1).unwrap(), b"y");
    let r0 = b.encrypt(b"ad", b"z").unwrap();
    assert_eq!(&r0[9..13], stream_bytes("B", 16, 4).as_slice());
    let state = b.export_state().unwrap();
    let mut copy = peer.restore(&state, Box::new(rng::stream(1, "C"))).unwrap();
    let c0 = copy.encrypt(b"ad", b"w").unwrap();
    assert_eq!(&c0[9..13], stream_bytes("C", 0, 4).as_slice());
    assert_eq!(a.decrypt(b"ad", &r0).unwrap(), b"z");
    assert_eq!(
        peer.layout(&m0).header,
        0..8,
        "layout asks for nothing and still works"
    );
    let (_, bundle) = peer
        .respond(&init(), Box::new(rng::stream(1, "B")))
        .unwrap();
    assert_eq!(bundle, stream_bytes("B", 0, 16));
}

#[test]
fn a_crash_names_the_exit_status_and_keeps_the_last_words() {
    let peer = start_broken("crash");
    let [mut a, _b] = session(peer.as_ref());
    for i in 0..4 {
        a.encrypt(b"ad", &[i])
            .expect("the first four encrypts work");
    }
    let err = a
        .encrypt(b"ad", b"5")
        .expect_err("the fifth encrypt crashes");
    assert_eq!(shim::failure_kind(&err), Some("exited"));
    assert!(
        err.detail
            .contains("request 7 (encrypt): it exited (exit status: 3) without answering"),
        "{}",
        err.detail
    );
    assert!(
        err.detail.ends_with("broken shim: crashing at encrypt 5"),
        "{}",
        err.detail
    );
}

#[test]
fn a_hello_that_hangs_or_lies_is_refused_naming_the_field() {
    let started = Instant::now();
    let e = start_err("hang-hello", broken_command("hang-hello"));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        e.starts_with("hello failed: hang: shim \"hang-hello\" (python3 ")
            && e.contains("request 0 (hello): no answer within 2000 ms"),
        "{e}"
    );
    let e = start_err("lie-protocol", broken_command("lie-protocol"));
    assert!(
        e.ends_with(
            "refused: its hello is wrong: field \"protocol\": this bench speaks protocol 1, the shim answered 2"
        ),
        "{e}"
    );
    let e = start_err("lie-family", broken_command("lie-family"));
    assert!(
        e.contains("refused: its hello is wrong: field \"peers[0].family\": unknown family \"quantum\"; expected one of signal-dr, dr2, mls, olm, megolm, signal-v3, libsignal, or a family of its own described in \"peers[0].declares\""),
        "{e}"
    );
    let e = start_err("lie-declares", broken_command("lie-declares"));
    assert!(
        e.ends_with("refused: its hello is wrong: field \"peers[0].declares\": \"olm\" is a built-in family (ratchets_per_turn true, uses_previous_length false, deletes_used_keys true); a declaration with ratchets_per_turn false, uses_previous_length false, deletes_used_keys false is another format: give it another name"),
        "{e}"
    );
    let e = start_err("lie-limits", broken_command("lie-limits"));
    assert!(e.starts_with("shim \"lie-limits\" (python3 "), "{e}");
    assert!(
        e.ends_with("refused: its hello is wrong: field \"peers[0].limits\" is missing"),
        "{e}"
    );
    let e = start_err("absent", "no-such-program-for-a-shim --x".into());
    assert!(
        e.starts_with("shim \"absent\" (no-such-program-for-a-shim --x): cannot start \"no-such-program-for-a-shim\""),
        "{e}"
    );
}

#[test]
fn stderr_noise_is_drained_and_only_its_tail_kept() {
    let peer = start_broken("stderr-noise");
    let [mut a, mut b] = session(peer.as_ref());
    for i in 0..4 {
        let wire = a.encrypt(b"ad", &[i]).expect("a noisy shim still works");
        assert_eq!(b.decrypt(b"ad", &wire).unwrap(), [i]);
    }
    let err = a
        .encrypt(b"ad", b"5")
        .expect_err("the fifth encrypt crashes");
    let tail = err
        .detail
        .split_once("the last lines of its stderr:\n")
        .expect("the tail is shown")
        .1;
    let lines: Vec<&str> = tail.lines().collect();
    assert_eq!(lines.len(), 40, "{tail}");
    assert_eq!(lines[39], "broken shim: crashing at encrypt 5");
    assert!(lines[0].starts_with("noise 11.11: "), "{}", lines[0]);
}

/// A failed process costs the sessions it held, not the rest of the run: a later session
/// gets a new process, `MAX_RESTARTS` times; the failure after that stops the shim, and
/// every later session is refused at once with it.
#[test]
fn a_failed_process_is_replaced_for_later_sessions_a_bounded_number_of_times() {
    let peer = start_broken("crash");
    for process in 0..=shim::MAX_RESTARTS {
        let [mut a, mut b] = session(peer.as_ref());
        for i in 0..4 {
            a.encrypt(b"ad", b"hello")
                .unwrap_or_else(|e| panic!("process {process}: encrypt {i} should work: {e}"));
        }
        let err = a
            .encrypt(b"ad", b"hello")
            .expect_err("the fifth encrypt of a process crashes it");
        assert_eq!(shim::failure_kind(&err), Some("exited"), "{}", err.detail);
        assert!(
            err.detail.contains("crashing at encrypt 5"),
            "the process's own last words: {}",
            err.detail
        );
        let other = b
            .decrypt(b"ad", b"anything")
            .expect_err("the session's other party went with its process");
        assert_eq!(other, err);
    }
    let started = Instant::now();
    let refused = peer
        .respond(&init(), Box::new(rng::stream(1, "B")))
        .err()
        .expect("a shim whose restarts are spent refuses new sessions");
    assert!(started.elapsed() < Duration::from_millis(100));
    assert_eq!(shim::failure_kind(&refused), Some("exited"));
    assert!(
        refused.detail.contains(&format!(
            "its processes failed {} times; the shim is not restarted again",
            shim::MAX_RESTARTS + 1
        )),
        "{}",
        refused.detail
    );
}

#[test]
fn a_crashing_shim_is_one_finding_and_the_other_peers_results_stay() {
    let crash = start_broken("crash");
    let reference: Box<dyn Peer> = Box::new(ReferenceSignalDr);
    let scenario: Scenario = "send A 16; send A 16; deliver-all; send B 8; deliver m2; send A 4; send A 4; send A 4; deliver-all"
        .parse()
        .expect("the scenario parses");
    let (transcripts, findings) =
        check_scenario(&[reference.as_ref(), crash.as_ref()], &scenario, 3);
    assert_eq!(
        transcripts[0].records.len(),
        12,
        "the reference ran every step"
    );
    assert!(transcripts[0].records.iter().all(|r| r.outcome.succeeded()));
    let signatures: Vec<&str> = findings.iter().map(|f| f.signature.as_str()).collect();
    assert_eq!(signatures, ["crash/shim-failed/exited"], "{findings:#?}");
    assert_eq!(findings[0].kind, FindingKind::ShimFailed);
    assert!(findings[0]
        .detail
        .contains("broken shim: crashing at encrypt 5"));

    // A whole run: the crashed shim's later scenarios fail fast, the run finishes, the
    // reference's counts are all there, and the finding appears once.
    let opts = run_options(5, ratchet_bench::bench::DEFAULT_SHIM_SCENARIOS, Vec::new());
    let started = Instant::now();
    let report = bench::run_on(
        &opts,
        vec![Box::new(ReferenceSignalDr), start_broken("crash")],
        &|| {},
    )
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(120));
    let reference_inputs: u64 = report.outcomes["reference"].values().sum();
    assert!(reference_inputs > 100, "{:?}", report.outcomes);
    let shim_findings: Vec<_> = report
        .findings
        .iter()
        .filter(|s| s.signature.starts_with("crash/"))
        .map(|s| s.signature.as_str())
        .collect();
    assert!(
        shim_findings.contains(&"crash/shim-failed/exited"),
        "{shim_findings:?}"
    );
    assert_eq!(report.exit_code, 1);
}

#[test]
fn the_template_echo_shim_goes_through_hello_and_every_request() {
    let peers = start("echo", echo_command()).unwrap();
    let info = peers[0].info();
    assert_eq!(info.name, "echo");
    assert_eq!(info.family, Family::SIGNAL_DR);
    assert_eq!(info.version, "template-echo 1 (no cryptography)");
    assert!(info.capabilities.export_state && !info.capabilities.injectable_rng);
    assert!(!info.weakened.is_empty());
    let peer = peers[0].as_ref();
    let [mut a, mut b] = session(peer);
    assert_eq!(a.handshake().unwrap(), None);
    let m0 = a.encrypt(b"ad", b"first").unwrap();
    let m1 = a.encrypt(b"ad", b"second").unwrap();
    // The echo wire format of template/README.md: "ECHO", counter, plaintext, 8-byte tag.
    assert_eq!(&m1[..9], b"ECHO\0\0\0\x01s");
    assert_eq!(m1.len(), 4 + 4 + 6 + 8);
    assert_eq!(b.decrypt(b"ad", &m1).unwrap(), b"second");
    let replay = b.decrypt(b"ad", &m1).unwrap_err();
    assert_eq!(
        (replay.class, replay.detail.as_str()),
        (RejectClass::Replay, "counter 1 already received")
    );
    assert_eq!(
        b.decrypt(b"other ad", &m0).unwrap_err().class,
        RejectClass::Auth
    );
    assert_eq!(
        b.decrypt(b"ad", b"xy").unwrap_err().class,
        RejectClass::Malformed
    );
    let layout = peer.layout(&m1);
    assert_eq!(
        (layout.header, layout.body, layout.mac),
        (0..8, 8..14, 14..22)
    );
    let state = b.export_state().unwrap();
    let mut copy = peer.restore(&state, Box::new(rng::stream(1, "C"))).unwrap();
    assert_eq!(copy.decrypt(b"ad", &m0).unwrap(), b"first");
    assert_eq!(
        copy.decrypt(b"ad", &m1).unwrap_err().class,
        RejectClass::Replay
    );
    assert_eq!(b.decrypt(b"ad", &m0).unwrap(), b"first");
    drop(copy);
    let reply = b.encrypt(b"", b"").unwrap();
    assert_eq!(a.decrypt(b"", &reply).unwrap(), b"");
}

/// The requests of the shim named `name` (unique in this test binary), by kind.
fn requests_of(name: &str) -> std::collections::BTreeMap<&'static str, (u64, u64)> {
    let all = shim::stats::stats();
    let stats = all
        .iter()
        .find(|s| s.shim == name)
        .unwrap_or_else(|| panic!("no statistics for shim {name:?}: {all:?}"));
    stats
        .ops
        .iter()
        .map(|(op, o)| (*op, (o.requests, o.encryptions)))
        .collect()
}

#[test]
fn a_jump_in_batches_makes_the_same_wires_in_fewer_round_trips() {
    // The template takes up encrypt_many and wire_layout when offered; with batching off
    // it runs as a shim written before them.
    let lost = 130;
    let mut made = Vec::new();
    for (name, batching) in [("echo-one-by-one", false), ("echo-batched", true)] {
        let opts = ShimOptions {
            batching,
            ..options()
        };
        let peers = shim::start(&ShimSpec::new(name, echo_command()), &opts).unwrap();
        let peer = peers[0].as_ref();
        let [mut a, mut b] = session(peer);
        let (wires, refused) = a.encrypt_many(b"ad", b"lost", lost);
        assert!(refused.is_none(), "{refused:?}");
        assert_eq!(wires.len(), lost as usize);
        let layouts: Vec<_> = wires.iter().map(|w| peer.layout(w)).collect();
        assert_eq!(b.decrypt(b"ad", &wires[129]).unwrap(), b"lost");
        made.push((wires, layouts));
        let ops = requests_of(name);
        if batching {
            // 32 + 32 + 32 + 32 + 2, the layouts with the wires: no layout request.
            assert_eq!(ops.get("encrypt_many"), Some(&(5, 130)), "{ops:?}");
            assert_eq!(ops.get("encrypt"), None, "{ops:?}");
            assert_eq!(ops.get("layout"), None, "{ops:?}");
        } else {
            assert_eq!(ops.get("encrypt"), Some(&(130, 0)), "{ops:?}");
            assert_eq!(ops.get("layout"), Some(&(130, 0)), "{ops:?}");
            assert_eq!(ops.get("encrypt_many"), None, "{ops:?}");
        }
    }
    // The echo's wires and layouts are functions of the seed and the counter alone.
    assert_eq!(made[0], made[1]);
    assert_eq!(made[1].1[0].header, 0..8);
}

/// With the security oracles watching (they lay out every message sent, a jump's lost ones
/// too), an honest scenario with a jump asks the shim for no layout: each came with its wire.
#[test]
fn the_oracles_ask_no_layout_that_came_with_the_wires() {
    let name = "echo-oracles-batched";
    let peers = shim::start(&ShimSpec::new(name, echo_command()), &options()).unwrap();
    let scenario: Scenario = "send A 16; deliver m0; send B 4; deliver m1; jump A +0; send B 4"
        .parse()
        .unwrap();
    let (transcripts, findings) = check_scenario(&[peers[0].as_ref()], &scenario, 3);
    assert!(findings.is_empty(), "{findings:#?}");
    assert!(transcripts[0].records.iter().any(|r| r.kind == "jump"));
    let ops = requests_of(name);
    assert!(ops.contains_key("encrypt_many"), "{ops:?}");
    assert_eq!(ops.get("layout"), None, "{ops:?}");
}

#[test]
fn several_threads_get_processes_of_their_own_with_the_same_results() {
    let opts = ShimOptions {
        processes: 2,
        ..options()
    };
    let peers = shim::start(&ShimSpec::new("echo-two-processes", echo_command()), &opts).unwrap();
    let peer = peers[0].as_ref();
    let scenarios: Vec<Scenario> = [
        "send A 16; send A 16; deliver m1; jump A +100; send B 8; deliver-all",
        "send A 4; deliver-all; send B 4; send B 4; deliver m2; tamper m1 mac 3; deliver-all",
    ]
    .iter()
    .map(|t| t.parse().unwrap())
    .collect();
    let run = |i: usize| {
        let (transcripts, findings) = check_scenario(&[peer], &scenarios[i], i as u64);
        serde_json::to_string(&(transcripts, findings.len())).unwrap()
    };
    // Two threads at once: the second starts a second process.
    let together: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2).map(|i| s.spawn(move || run(i))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let alone: Vec<String> = (0..2).map(run).collect();
    assert_eq!(together, alone);
    let processes = shim::stats::stats()
        .iter()
        .find(|s| s.shim == "echo-two-processes")
        .map(|s| s.processes);
    assert_eq!(processes, Some(2));
}

#[test]
fn the_template_skeleton_says_unimplemented() {
    let command = format!(
        "python3 '{}'",
        repo().join("shims/template/shim.py").display()
    );
    let peers = start("skeleton", command).unwrap();
    let err = peers[0]
        .respond(&init(), Box::new(rng::stream(1, "B")))
        .err()
        .expect("the skeleton builds no party");
    assert_eq!(err.class, RejectClass::Other);
    assert_eq!(
        err.detail,
        "unimplemented: the shim does not do respond: respond: connect your library here"
    );
    assert_eq!(
        peers[0].layout(b"abcd").body,
        0..4,
        "no layout: the whole message is body"
    );
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ratchet-bench"))
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn list_shows_a_shim_after_its_hello() {
    let spec = format!("shim:echo={}", echo_command());
    let (code, out, err) = cli(&["list", "--peer", &spec]);
    assert_eq!(code, 0, "{err}");
    let shims = out.split_once("shims (after their hello):").expect(&out).1;
    assert!(
        shims.contains("  echo                 signal-dr  template-echo 1 (no cryptography)      max-skip 2147483647, unbounded store"),
        "{shims}"
    );
}

#[test]
fn a_listed_shim_that_cannot_start_says_how_to_install_it() {
    let dir = std::env::temp_dir().join(format!("ratchet-bench-shims-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("shims.json");
    std::fs::write(
        &file,
        r#"[{"name": "novenv", "command": "shims/novenv/.venv/bin/python shim.py"}]"#,
    )
    .unwrap();
    let (code, _, err) = cli(&["list", "--peers", "all", "--shims", file.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("shim \"novenv\" (shims/novenv/.venv/bin/python shim.py): cannot start"),
        "{err}"
    );
    assert!(
        err.contains("ci/setup-shims installs the shims' dependencies"),
        "{err}"
    );
    let (code, _, err) = cli(&["run", "--peer", "shim:x=", "--no-vectors"]);
    assert_eq!(code, 2);
    assert!(err.contains("shim \"x\": the command is empty"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The template's echo shim declaring its own family (`--own-family`), with host
/// randomness, as the peer `name`.
fn own_family_peer(name: &str) -> String {
    format!("shim:{name}={} --own-family --host-rng", echo_command())
}

#[test]
fn a_shim_declaring_a_family_of_its_own_runs_through_run_interop_and_replay() {
    let (one, two) = (own_family_peer("echo-1"), own_family_peer("echo-2"));
    let (code, out, err) = cli(&[
        "run",
        "--peer",
        &one,
        "--peer",
        &two,
        "--no-vectors",
        "--no-expectations",
        "--scenarios",
        "30",
        "--shim-scenarios",
        "30",
        "--json",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["peers"][0]["family"], "template-echo");
    assert_eq!(report["scenarios"]["template-echo"], 30);
    let matrix = &report["interop"][0];
    assert_eq!(matrix["family"], "template-echo");
    assert_eq!(matrix["peers"], serde_json::json!(["echo-1", "echo-2"]));
    let cells = matrix["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 4);
    assert!(cells.iter().all(|c| c["result"] == "pass"), "{matrix}");
    // Both take their randomness from the bench: every input of the 30 scenarios (and the
    // pinned ones) was compared byte for byte, and they agree.
    let outcomes = &report["outcomes"];
    assert!(
        outcomes["echo-1"]["sent"].as_u64().unwrap() > 100,
        "{outcomes}"
    );
    assert_eq!(outcomes["echo-1"], outcomes["echo-2"]);
    assert_eq!(
        report["findings"],
        serde_json::json!([]),
        "{}",
        report["findings"]
    );

    let (code, out, err) = cli(&[
        "interop",
        "--family",
        "template-echo",
        "--peer",
        &one,
        "--peer",
        &two,
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.starts_with("interop template-echo (rows initiate, columns respond):\n"),
        "{out}"
    );
    assert!(out.contains("\n  echo-1     pass       pass\n"), "{out}");
    assert!(
        out.ends_with("result: 4 cells, 0 failing (0 new), 0 stale expectations\n"),
        "{out}"
    );

    let (code, out, err) = cli(&[
        "replay",
        "send A 5; send A 7; deliver m1; tamper m0 mac 3; deliver m0; replay m0",
        "--peer",
        &one,
        "--peer",
        &two,
        "--seed",
        "3",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("\necho-1 (template-echo):\n"), "{out}");
    assert!(out.contains("\necho-2 (template-echo):\n"), "{out}");
    assert!(out.ends_with("\nfindings: 0\n"), "{out}");
}

#[test]
fn two_shims_that_declare_one_family_differently_are_refused_naming_both() {
    let mine = own_family_peer("mine");
    let other = format!("shim:other={}", broken_command("declare-other"));
    let (code, _, err) = cli(&["list", "--peer", &mine, "--peer", &other]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(
            "peers \"mine\" and \"other\" declare the family \"template-echo\" differently"
        ) && err.contains("deletes_used_keys false); peers of one family must agree on its spec"),
        "{err}"
    );
}

/// The options of a whole run under `seed` of 30 drawn scenarios, shims taking the first
/// `shim_scenarios`, with no vectors or pinned cases.
fn run_options(seed: u64, shim_scenarios: u64, expectations: Vec<PathBuf>) -> RunOptions {
    RunOptions {
        seed,
        scenarios: Some(30),
        peers: Vec::new(),
        expectations,
        vectors_dir: None,
        mls_vectors_dir: None,
        regressions: None,
        suites: Vec::new(),
        accept_changed_vectors: false,
        workers: 2,
        today: "2026-01-01".into(),
        shim_scenarios,
        shard: None,
        group_schedules: None,
        group_regressions: None,
        release_matrices: false,
    }
}

/// The echo's sightings (its weakened checks make them notes) with each signature's
/// peer name dropped, and the shim's requests in all.
fn echo_sightings(name: &str, expectations: Vec<PathBuf>) -> (Vec<(String, Scenario)>, u64) {
    let peers = shim::start(&ShimSpec::new(name, echo_command()), &options()).unwrap();
    let report = bench::run_on(&run_options(1, 30, expectations), peers, &|| {}).unwrap();
    let seen = report
        .findings
        .iter()
        .chain(&report.notes)
        .map(|s| {
            let rest = s.signature.strip_prefix(name).unwrap().to_string();
            (rest, s.scenario.parse().unwrap())
        })
        .collect();
    let requests = requests_of(name).values().map(|(r, _)| r).sum();
    (seen, requests)
}

#[test]
fn a_listed_finding_on_a_shim_is_cut_not_searched_again() {
    let (searched, searched_requests) = echo_sightings("echo-searched", Vec::new());
    assert!(!searched.is_empty(), "the echo showed nothing to shrink");
    let dir = std::env::temp_dir().join(format!("ratchet-bench-listed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("expectations.json");
    let entries: Vec<_> = searched
        .iter()
        .map(|(rest, _)| serde_json::json!({"signature": format!("echo-cut{rest}"), "reason": "the echo has no cryptography"}))
        .collect();
    std::fs::write(
        &file,
        serde_json::json!({ "expectations": entries }).to_string(),
    )
    .unwrap();
    let (cut, cut_requests) = echo_sightings("echo-cut", vec![file]);
    std::fs::remove_dir_all(&dir).unwrap();

    // The same sightings; each listed one keeps the campaign's scenario cut after its step,
    // never shorter than the searched one, and the search's requests are saved.
    let signatures =
        |v: &[(String, Scenario)]| v.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>();
    assert_eq!(signatures(&searched), signatures(&cut));
    for ((signature, small), (_, kept)) in searched.iter().zip(&cut) {
        assert!(
            small.steps.len() <= kept.steps.len(),
            "{signature}: searched {small} is longer than the cut {kept}"
        );
    }
    assert!(
        searched
            .iter()
            .zip(&cut)
            .any(|((_, s), (_, k))| s.steps.len() < k.steps.len()),
        "the search shortened nothing: {searched:?}"
    );
    assert!(
        cut_requests < searched_requests,
        "listed: {cut_requests} requests, unlisted: {searched_requests}"
    );
}
