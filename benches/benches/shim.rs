//! What the shim host costs per request: one `encrypt` of 16 bytes through a [`ShimParty`]
//! to the template shim in its echo mode (`shims/template/shim.py --echo`, trivial
//! work in Python), beside
//!
//! - the same request written and read on the same kind of process by hand (a JSON line
//!   formatted, written, one line read back, nothing parsed): the floor of the pipe and the
//!   Python side, so that `through_host - raw_pipe` is what the host itself adds (its JSON,
//!   hex, id check, channel hand-over from the reader thread, mutex);
//! - a direct in-process call of an echo party through the `Party` trait.
//!
//! Needs `python3` on the PATH.
//!
//! Then one library both ways: libolm in process (the `libolm-olm` peer, libolm's C++ built
//! into the bench) against the same libolm through python-olm's shim
//! (`shims/python-olm`, set up by `ci/setup-shims`; left out with a message when its
//! environment is missing): a 1 KiB message one way (A encrypts, B decrypts: a chain step),
//! and a ping-pong (A to B, then B to A: each message starts a new ratchet chain), on an
//! established session.
//!
//! And a jump's lost messages through the echo shim, one request each against the batches
//! of `encrypt_many` and `wire_layout` (`shim_jump`).

// criterion_group! defines an undocumented `pub fn`.
#![allow(missing_docs)]
// Setup failures are bugs in the bench, and a bench has nobody to report to.
#![allow(clippy::expect_used)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ratchet_bench::peer::{Party, Peer, Reject, SessionInit};
use ratchet_bench::peers::shim::{self, ShimOptions, ShimSpec};
use ratchet_bench::peers::LibolmOlm;
use ratchet_bench::rng;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

const AD: &[u8] = b"ratchet-bench shim bench";
const PLAINTEXT: &[u8; 16] = b"sixteen bytes!!!";

fn template() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shims/template/shim.py")
}

/// The echo work in process: header, counter, plaintext, no checksum.
struct EchoParty {
    sent: u32,
}

impl Party for EchoParty {
    fn encrypt(&mut self, _ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
        let mut wire = Vec::with_capacity(8 + plaintext.len());
        wire.extend_from_slice(b"ECHO");
        wire.extend_from_slice(&self.sent.to_be_bytes());
        wire.extend_from_slice(plaintext);
        self.sent += 1;
        Ok(wire)
    }

    fn decrypt(&mut self, _ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject> {
        Ok(wire.get(8..).unwrap_or_default().to_vec())
    }
}

fn requests(c: &mut Criterion) {
    let mut group = c.benchmark_group("shim_request");
    group.throughput(Throughput::Elements(1));

    let spec = ShimSpec::new("echo", format!("python3 '{}' --echo", template().display()));
    let peers = shim::start(&spec, &ShimOptions::default()).expect("the echo shim starts");
    let peer = peers.first().expect("the echo shim serves one peer");
    let init = SessionInit {
        shared_secret: [1; 32],
    };
    let (_b, bundle) = peer
        .respond(&init, Box::new(rng::stream(1, "B")))
        .expect("the echo shim responds");
    let mut a = peer
        .initiate(&init, &bundle, Box::new(rng::stream(1, "A")))
        .expect("the echo shim initiates");
    group.bench_function("through_host", |bench| {
        bench.iter(|| black_box(a.encrypt(AD, PLAINTEXT).expect("echo encrypts")));
    });

    let mut child = Command::new("python3")
        .arg(template())
        .arg("--echo")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    let mut ask = |request: String, line: &mut String| {
        stdin.write_all(request.as_bytes()).expect("write");
        stdin.flush().expect("flush");
        line.clear();
        stdout.read_line(line).expect("read");
    };
    ask(
        "{\"id\":0,\"op\":\"hello\",\"protocol\":1}\n".into(),
        &mut line,
    );
    ask(format!("{{\"id\":1,\"op\":\"respond\",\"peer\":0,\"party\":1,\"shared_secret\":\"{}\",\"seed\":\"{}\"}}\n", "01".repeat(32), "02".repeat(32)), &mut line);
    let ad = hex_of(AD);
    let pt = hex_of(PLAINTEXT);
    let mut id = 2u64;
    group.bench_function("raw_pipe", |bench| {
        bench.iter(|| {
            id += 1;
            ask(
                format!("{{\"id\":{id},\"op\":\"encrypt\",\"party\":1,\"ad\":\"{ad}\",\"plaintext\":\"{pt}\"}}\n"),
                &mut line,
            );
            black_box(line.len())
        });
    });

    let mut direct = EchoParty { sent: 0 };
    group.bench_function("in_process", |bench| {
        bench.iter(|| black_box(direct.encrypt(AD, PLAINTEXT).expect("echo encrypts")));
    });
    group.finish();
    let _ = child.kill();
    let _ = child.wait();
}

/// The python-olm shim's Olm peer, if its environment is set up.
fn python_olm() -> Option<Box<dyn Peer>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join("shims/python-olm/.venv/bin/python");
    if !python.exists() {
        eprintln!(
            "olm_round_trip: python-olm's shim is not set up ({} missing): run ci/setup-shims; \
             only the in-process libolm is measured",
            python.display()
        );
        return None;
    }
    let spec = ShimSpec::new(
        "python-olm",
        format!(
            "'{}' '{}'",
            python.display(),
            root.join("shims/python-olm/shim.py").display()
        ),
    );
    let peers = shim::start(&spec, &ShimOptions::default()).expect("python-olm's shim starts");
    peers
        .into_iter()
        .find(|p| p.info().family == ratchet_bench::peer::Family::OLM)
}

/// An Olm session of `peer` with one message each way already exchanged (so both sides
/// hold a sending and a receiving chain).
fn olm_session(peer: &dyn Peer) -> (Box<dyn Party>, Box<dyn Party>) {
    let init = SessionInit {
        shared_secret: [3; 32],
    };
    let (mut b, bundle) = peer
        .respond(&init, Box::new(rng::stream(2, "B")))
        .expect("responds");
    let mut a = peer
        .initiate(&init, &bundle, Box::new(rng::stream(2, "A")))
        .expect("initiates");
    let wire = a.encrypt(AD, b"hello").expect("A encrypts");
    b.decrypt(AD, &wire)
        .expect("B decrypts the pre-key message");
    let wire = b.encrypt(AD, b"hi").expect("B encrypts");
    a.decrypt(AD, &wire).expect("A decrypts");
    (a, b)
}

fn olm_round_trip(c: &mut Criterion) {
    let message = vec![0x5a; 1024];
    let mut group = c.benchmark_group("olm_round_trip");
    group.throughput(Throughput::Elements(1));
    let mut peers: Vec<(&str, Box<dyn Peer>)> = vec![("libolm_in_process", Box::new(LibolmOlm))];
    if let Some(p) = python_olm() {
        peers.push(("python_olm_shim", p));
    }
    for (name, peer) in &peers {
        let (mut a, mut b) = olm_session(peer.as_ref());
        group.bench_function(format!("{name}/one_way"), |bench| {
            bench.iter(|| {
                let wire = a.encrypt(AD, &message).expect("A encrypts");
                black_box(b.decrypt(AD, &wire).expect("B decrypts"))
            });
        });
        group.bench_function(format!("{name}/ping_pong"), |bench| {
            bench.iter(|| {
                let wire = a.encrypt(AD, &message).expect("A encrypts");
                b.decrypt(AD, &wire).expect("B decrypts");
                let wire = b.encrypt(AD, &message).expect("B encrypts");
                black_box(a.decrypt(AD, &wire).expect("A decrypts"))
            });
        });
    }
    group.finish();
}

/// The messages of one jump (sent, never delivered) through the echo shim: one `encrypt`
/// each (a shim without the optional features, `batching: false`) against `encrypt_many`
/// batches with their layouts (`batching: true`), then the layout of each message the
/// oracles ask for. Per message.
fn jump(c: &mut Criterion) {
    const LOST: u32 = 1000;
    let mut group = c.benchmark_group("shim_jump");
    group.throughput(Throughput::Elements(u64::from(LOST)));
    for batching in [false, true] {
        let spec = ShimSpec::new("echo", format!("python3 '{}' --echo", template().display()));
        let opts = ShimOptions {
            batching,
            ..ShimOptions::default()
        };
        let peers = shim::start(&spec, &opts).expect("the echo shim starts");
        let peer = peers.first().expect("the echo shim serves one peer");
        let init = SessionInit {
            shared_secret: [1; 32],
        };
        let (_b, bundle) = peer
            .respond(&init, Box::new(rng::stream(1, "B")))
            .expect("the echo shim responds");
        let mut a = peer
            .initiate(&init, &bundle, Box::new(rng::stream(1, "A")))
            .expect("the echo shim initiates");
        let name = if batching { "batched" } else { "one_by_one" };
        group.bench_function(name, |bench| {
            bench.iter(|| {
                let (wires, refused) = a.encrypt_many(AD, PLAINTEXT, LOST);
                assert!(refused.is_none(), "echo refused: {refused:?}");
                for wire in &wires {
                    black_box(peer.layout(wire));
                }
                black_box(wires.len())
            });
        });
    }
    group.finish();
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .measurement_time(Duration::from_secs(4));
    targets = requests, jump, olm_round_trip
}
criterion_main!(benches);
