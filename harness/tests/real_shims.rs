#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The real shims of harness/shims/ (libsignal through Node, python-olm, python
//! doubleratchet) through the bench: hello, the interop matrices beside the in-process peers,
//! and honest scenarios. They need `ci/setup-shims` to have run (ci/test runs it first); a
//! shim that cannot start fails these tests with the message naming it and the set-up
//! command, never a silent skip.

use ratchet_bench::campaign::check_scenario;
use ratchet_bench::interop::{self, CellResult};
use ratchet_bench::peer::{Family, Peer};
use ratchet_bench::peers::{self, shim::ShimOptions};
use ratchet_bench::scenario::Scenario;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The repository root: shim commands in the peers file are relative to it.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Every bundled peer and every shim of the peers file, started once for the whole test
/// binary (the shims' processes serve every test).
fn all_peers() -> &'static [Box<dyn Peer>] {
    static PEERS: OnceLock<Vec<Box<dyn Peer>>> = OnceLock::new();
    PEERS.get_or_init(|| {
        std::env::set_current_dir(root()).unwrap();
        let options = ShimOptions::default();
        peers::select_with(&["all".to_string()], &options)
            .unwrap_or_else(|e| panic!("cannot start the shims (run ci/setup-shims): {e}"))
    })
}

fn shims() -> Vec<&'static dyn Peer> {
    all_peers()
        .iter()
        .map(|p| p.as_ref())
        .filter(|p| p.out_of_process())
        .collect()
}

#[test]
fn every_shim_of_the_peers_file_says_hello() {
    let mut seen: Vec<(String, Family)> = shims()
        .iter()
        .map(|p| (p.info().name, p.info().family))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("doubleratchet".to_string(), Family::SignalDr),
            ("libsignal".to_string(), Family::Libsignal),
            ("python-olm-megolm".to_string(), Family::Megolm),
            ("python-olm-olm".to_string(), Family::Olm),
        ]
    );
    for p in shims() {
        let info = p.info();
        assert!(!info.version.is_empty(), "{}: no version", info.name);
        assert!(info.limits.max_skip > 0, "{}: no forward limit", info.name);
    }
}

#[test]
fn shims_pass_the_interop_matrices_of_their_families() {
    let families = [
        Family::SignalDr,
        Family::Olm,
        Family::Megolm,
        Family::Libsignal,
    ];
    let matrices = interop::run(all_peers(), &families, 7);
    let mut shim_cells = 0;
    for m in &matrices {
        for cell in &m.cells {
            let involves_shim = shims()
                .iter()
                .any(|s| s.info().name == cell.initiator || s.info().name == cell.responder);
            if !involves_shim {
                continue;
            }
            shim_cells += 1;
            if let CellResult::Fail { step, detail, .. } = &cell.result {
                panic!(
                    "{} -> {} ({}): {step}: {detail}",
                    cell.initiator, cell.responder, m.family
                );
            }
        }
    }
    // signal-dr: doubleratchet with the reference and ksi (5 cells); olm and megolm:
    // python-olm with three in-process peers each (7 cells each); libsignal with itself.
    assert_eq!(shim_cells, 5 + 7 + 7 + 1);
}

/// Honest schedules (out of order, lost messages, several turns) and the two refusals every
/// family owes (a replay where keys are deleted, a flipped MAC bit): no shim may show a
/// finding on them.
#[test]
fn honest_scenarios_show_no_finding_on_any_shim() {
    let scenarios = [
        "send A 5; deliver m0; send B 7; deliver m1; send A 9; deliver m2",
        "send A 5; send A 6; send A 7; deliver m2; deliver m0; drop m1; send B 3; deliver m3; send A 4; deliver m4",
        "send A 12; deliver m0; send B 1; send B 2; send B 3; deliver m3; deliver m1; deliver m2; send A 8; deliver m4",
        "send A 5; deliver m0; send B 7; deliver m1; replay m1; send A 2; deliver m2",
        "send A 5; deliver m0; send B 7; tamper m1 mac 3; deliver m1; send A 2; deliver m2",
    ];
    for shim in shims() {
        let family = shim.info().family;
        let mut group: Vec<&dyn Peer> = all_peers()
            .iter()
            .map(|p| p.as_ref())
            .filter(|p| p.info().family == family && !p.out_of_process())
            .collect();
        group.push(shim);
        for (i, text) in scenarios.iter().enumerate() {
            let scenario: Scenario = text.parse().unwrap();
            let (_, findings) = check_scenario(&group, &scenario, 100 + i as u64);
            let name = shim.info().name;
            let mine: Vec<String> = findings
                .iter()
                .filter(|f| f.peers.contains(&name))
                .map(|f| format!("{}: {}", f.signature, f.detail))
                .collect();
            assert!(mine.is_empty(), "{name} on {text:?}: {mine:#?}");
        }
    }
}
