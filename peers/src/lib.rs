//! The adapters of the implementations under test, one module per implementation, each
//! behind a cargo feature of its own (on by default, but for `libolm`, which needs cmake and
//! a C++ compiler); the shim host, which puts implementations in other languages behind the
//! same [`Peer`] trait; and the registry the command line selects peers from by name.

#[cfg(feature = "dr2")]
mod dr2;
#[cfg(feature = "dr2")]
mod dr2_codec;
#[cfg(feature = "ksi")]
mod ksi;
#[cfg(feature = "libolm")]
mod libolm;
pub mod libolm_known;
#[cfg(any(feature = "openmls", feature = "mls-rs"))]
pub mod mls_group;
#[cfg(any(feature = "mls-rs", feature = "mls-rs-0.54"))]
pub mod mls_rs;
#[cfg(feature = "mls-rs")]
pub mod mls_secret_tree;
#[cfg(any(
    feature = "openmls",
    feature = "mls-rs",
    feature = "openmls-0.6",
    feature = "mls-rs-0.54"
))]
mod mls_wire;
#[cfg(any(feature = "openmls", feature = "openmls-0.6"))]
pub mod openmls;
pub mod shim;
#[cfg(any(
    feature = "vodozemac",
    feature = "vodozemac-0.9",
    feature = "vodozemac-0.10"
))]
pub mod vodozemac;

#[cfg(feature = "mls-rs")]
pub use self::mls_rs::v0_57::MlsRs;
#[cfg(feature = "openmls")]
pub use self::openmls::v0_9::OpenMls;
#[cfg(feature = "vodozemac")]
pub use self::vodozemac::v0_11::{VodozemacMegolm, VodozemacOlm};
#[cfg(feature = "dr2")]
pub use dr2::DoubleRatchet2;
#[cfg(feature = "ksi")]
pub use ksi::KsiDoubleRatchet;
#[cfg(feature = "libolm")]
pub use libolm::{LibolmMegolm, LibolmOlm};
pub use ratchet_bench_references::peers::{
    mutant, ReferenceMegolm, ReferenceOlm, ReferenceSignalDr, ReferenceSignalV3,
};

use ratchet_bench_core::peer::{Family, Peer};

/// A release line's peer name: `base` (`vodozemac-olm`) for today's release, `base@LINE`
/// for an earlier line (the adapters compiled once per line say theirs).
#[cfg(any(
    feature = "vodozemac",
    feature = "vodozemac-0.9",
    feature = "vodozemac-0.10",
    feature = "mls-rs",
    feature = "mls-rs-0.54",
    feature = "openmls",
    feature = "openmls-0.6"
))]
fn release_name(base: &str, release: Option<&str>) -> String {
    match release {
        Some(line) => format!("{base}@{line}"),
        None => base.to_string(),
    }
}

/// Every in-process peer this build bundles, in report order: family by family, the
/// reference first. `run` takes them all unless told otherwise.
pub fn bundled() -> Vec<Box<dyn Peer>> {
    let mut all: Vec<Box<dyn Peer>> = vec![Box::new(ReferenceSignalDr)];
    #[cfg(feature = "ksi")]
    all.push(Box::new(KsiDoubleRatchet));
    #[cfg(feature = "dr2")]
    all.push(Box::new(DoubleRatchet2));
    #[cfg(feature = "openmls")]
    all.push(Box::new(OpenMls));
    #[cfg(feature = "mls-rs")]
    all.push(Box::new(MlsRs));
    all.push(Box::new(ReferenceOlm));
    #[cfg(feature = "vodozemac")]
    all.push(Box::new(VodozemacOlm));
    #[cfg(feature = "libolm")]
    all.push(Box::new(LibolmOlm));
    all.push(Box::new(ReferenceMegolm));
    #[cfg(feature = "vodozemac")]
    all.push(Box::new(VodozemacMegolm));
    #[cfg(feature = "libolm")]
    all.push(Box::new(LibolmMegolm));
    all.push(Box::new(ReferenceSignalV3));
    all
}

/// The earlier release lines of in-process implementations, each a peer of its own named
/// with its line (`vodozemac-olm@0.9`), in report order (oldest line first). They are not among [`bundled`]:
/// `run` puts them in its interop matrices (the release matrix: old sender to new receiver
/// and back) but not in its campaigns unless they are named; `compare` runs two of them.
// Each line is behind its own feature, so the list cannot be one `vec!`.
#[allow(unused_mut, clippy::vec_init_then_push)]
pub fn releases() -> Vec<Box<dyn Peer>> {
    let mut all: Vec<Box<dyn Peer>> = Vec::new();
    #[cfg(feature = "openmls-0.6")]
    all.push(Box::new(openmls::v0_6::OpenMls));
    #[cfg(feature = "mls-rs-0.54")]
    all.push(Box::new(mls_rs::v0_54::MlsRs));
    #[cfg(feature = "vodozemac-0.9")]
    all.push(Box::new(vodozemac::v0_9::VodozemacOlm));
    #[cfg(feature = "vodozemac-0.10")]
    all.push(Box::new(vodozemac::v0_10::VodozemacOlm));
    #[cfg(feature = "vodozemac-0.9")]
    all.push(Box::new(vodozemac::v0_9::VodozemacMegolm));
    #[cfg(feature = "vodozemac-0.10")]
    all.push(Box::new(vodozemac::v0_10::VodozemacMegolm));
    all
}

/// Every peer the bench can run by name: the bundled ones, then the earlier release lines.
pub fn known() -> Vec<Box<dyn Peer>> {
    let mut all = bundled();
    all.extend(releases());
    all
}

/// The names `name` stands for: itself, or, for an implementation's release line that is
/// several peers (`vodozemac@0.9`), every known peer of that line (`vodozemac-olm@0.9`,
/// `vodozemac-megolm@0.9`).
fn expand(name: &str, known: &[String]) -> Vec<String> {
    if known.iter().any(|k| k == name) {
        return vec![name.to_string()];
    }
    let Some((implementation, line)) = name.split_once('@') else {
        return vec![name.to_string()];
    };
    let prefix = format!("{implementation}-");
    let suffix = format!("@{line}");
    let lines: Vec<String> = known
        .iter()
        .filter(|k| k.starts_with(&prefix) && k.ends_with(&suffix))
        .cloned()
        .collect();
    if lines.is_empty() {
        vec![name.to_string()]
    } else {
        lines
    }
}

/// The peers this build leaves out, by name, with the reason, so that reports can say so
/// instead of silently running fewer peers: each adapter is behind a cargo feature of this
/// crate, and libolm's (which builds libolm's C/C++ source with cmake) is off by default.
pub fn not_built() -> Vec<(&'static str, &'static str)> {
    // Pushed to only in builds that leave an adapter out.
    #[allow(unused_mut)]
    let mut absent: Vec<(&'static str, &'static str)> = Vec::new();
    #[cfg(not(feature = "ksi"))]
    absent.push((
        "ksi-double-ratchet",
        "built without the `ksi` cargo feature",
    ));
    #[cfg(not(feature = "dr2"))]
    absent.push(("double-ratchet-2", "built without the `dr2` cargo feature"));
    #[cfg(not(feature = "openmls"))]
    absent.push(("openmls", "built without the `openmls` cargo feature"));
    #[cfg(not(feature = "mls-rs"))]
    absent.push(("mls-rs", "built without the `mls-rs` cargo feature"));
    #[cfg(not(feature = "vodozemac"))]
    absent.extend([
        (
            "vodozemac-olm",
            "built without the `vodozemac` cargo feature",
        ),
        (
            "vodozemac-megolm",
            "built without the `vodozemac` cargo feature",
        ),
    ]);
    #[cfg(not(feature = "openmls-0.6"))]
    absent.push((
        "openmls@0.6",
        "built without the `openmls-0.6` cargo feature",
    ));
    #[cfg(not(feature = "mls-rs-0.54"))]
    absent.push((
        "mls-rs@0.54",
        "built without the `mls-rs-0.54` cargo feature",
    ));
    #[cfg(not(feature = "vodozemac-0.10"))]
    absent.extend([
        (
            "vodozemac-olm@0.10",
            "built without the `vodozemac-0.10` cargo feature",
        ),
        (
            "vodozemac-megolm@0.10",
            "built without the `vodozemac-0.10` cargo feature",
        ),
    ]);
    #[cfg(not(feature = "vodozemac-0.9"))]
    absent.extend([
        (
            "vodozemac-olm@0.9",
            "built without the `vodozemac-0.9` cargo feature",
        ),
        (
            "vodozemac-megolm@0.9",
            "built without the `vodozemac-0.9` cargo feature",
        ),
    ]);
    #[cfg(not(feature = "libolm"))]
    {
        const WHY: &str =
            "built without the `libolm` cargo feature (add `--features libolm`; it needs cmake and a C++ compiler)";
        absent.extend([("libolm-olm", WHY), ("libolm-megolm", WHY)]);
    }
    absent
}

/// The bundled peers named in `names` (all of them when `names` is empty), or the first
/// unknown name. Shims start with the default [`shim::ShimOptions`]; see [`select_with`].
pub fn select(names: &[String]) -> Result<Vec<Box<dyn Peer>>, String> {
    select_with(names, &shim::ShimOptions::default())
}

/// The peers named in `names` (all bundled peers when `names` is empty): bundled peers by
/// name, `shim:NAME=COMMAND` for a shim, `all` for the bundled peers and every shim of the
/// peers file, or the name of a shim (or of one of its peers) listed there. Bundled peers
/// come first, in report order, then the shims by name, whatever order they were named in:
/// a pair's finding signatures (`a+b/divergence-bytes/...`) then read the same however a run
/// named its peers, so that one expectations entry serves every run. An implementation's
/// release line names all its peers (`vodozemac@0.9`: `vodozemac-olm@0.9` and
/// `vodozemac-megolm@0.9`). Peers that give one family name two specs (two shims declaring a
/// family differently) are refused, naming both.
pub fn select_with(
    names: &[String],
    shims: &shim::ShimOptions,
) -> Result<Vec<Box<dyn Peer>>, String> {
    if names.is_empty() {
        return Ok(bundled());
    }
    let all = known();
    let known: Vec<String> = all.iter().map(|p| p.info().name).collect();
    let names: Vec<String> = names.iter().flat_map(|n| expand(n, &known)).collect();
    let (started, rest) = shim::select(&names, shims)?;
    if let Some(unknown) = rest.iter().find(|n| !known.contains(n)) {
        return Err(format!(
            "unknown peer {unknown:?}; expected one of {}, all, a shim listed in {}, or shim:NAME=COMMAND",
            known.join(", "),
            shims.shims_file.display()
        ));
    }
    let every = names.iter().any(|n| n == "all");
    let mut selected: Vec<Box<dyn Peer>> = all
        .into_iter()
        .filter(|p| every || rest.contains(&p.info().name))
        .collect();
    let mut started = started;
    started.sort_by_key(|p| p.info().name);
    selected.extend(started);
    let infos: Vec<_> = selected.iter().map(|p| p.info()).collect();
    // Peers of one family must agree on its spec (two shims declaring one name differently).
    Family::check_agreement(infos.iter().map(|i| (i.name.as_str(), i.family)))
        .map_err(|e| e.to_string())?;
    Ok(selected)
}
