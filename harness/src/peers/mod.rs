//! Adapters: one file per implementation under test, and the registry of bundled peers.

mod dr2;
mod guard;
mod ksi;
#[cfg(feature = "libolm")]
mod libolm;
mod mls_rs;
mod mls_wire;
pub mod mutant;
mod olm_wire;
mod openmls;
mod reference;
mod reference_olm;
pub mod shim;
mod vodozemac;

pub use self::vodozemac::{VodozemacMegolm, VodozemacOlm};
pub use dr2::DoubleRatchet2;
pub use guard::{
    abort_on_hang, call_budget, guarded, guarded_call, guarded_within, set_call_budget, watch,
    within_deadline, Panicked, Stopped, CALL_BUDGET_ENV,
};
pub use ksi::KsiDoubleRatchet;
#[cfg(feature = "libolm")]
pub use libolm::{LibolmMegolm, LibolmOlm};
pub use mls_rs::MlsRs;
pub use openmls::OpenMls;
pub use reference::ReferenceSignalDr;
pub use reference_olm::{ReferenceMegolm, ReferenceOlm};

use crate::peer::Peer;

/// Every in-process peer the bench bundles, in report order: family by family, the reference
/// first. `run` takes them all unless told otherwise.
pub fn bundled() -> Vec<Box<dyn Peer>> {
    let mut all: Vec<Box<dyn Peer>> = vec![
        Box::new(ReferenceSignalDr),
        Box::new(KsiDoubleRatchet),
        Box::new(DoubleRatchet2),
        Box::new(OpenMls),
        Box::new(MlsRs),
        Box::new(ReferenceOlm),
        Box::new(VodozemacOlm),
    ];
    #[cfg(feature = "libolm")]
    all.push(Box::new(LibolmOlm));
    all.push(Box::new(ReferenceMegolm));
    all.push(Box::new(VodozemacMegolm));
    #[cfg(feature = "libolm")]
    all.push(Box::new(LibolmMegolm));
    all
}

/// Every peer the bench can run by name: today the bundled ones.
pub fn known() -> Vec<Box<dyn Peer>> {
    bundled()
}

/// The peers this build leaves out, by name, with the reason, so that reports can say so
/// instead of silently running fewer peers: the libolm peers need the `libolm` cargo feature
/// (on by default), which builds libolm's C/C++ source.
pub fn not_built() -> Vec<(&'static str, &'static str)> {
    #[cfg(feature = "libolm")]
    let absent = Vec::new();
    #[cfg(not(feature = "libolm"))]
    let absent = {
        const WHY: &str =
            "built without the `libolm` cargo feature (needs cmake and a C++ compiler)";
        vec![("libolm-olm", WHY), ("libolm-megolm", WHY)]
    };
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
/// come first, in report order, then the shims.
pub fn select_with(
    names: &[String],
    shims: &shim::ShimOptions,
) -> Result<Vec<Box<dyn Peer>>, String> {
    if names.is_empty() {
        return Ok(bundled());
    }
    let (started, rest) = shim::select(names, shims)?;
    let all = known();
    let known: Vec<String> = all.iter().map(|p| p.info().name).collect();
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
    selected.extend(started);
    Ok(selected)
}

/// The responder's ratchet public key from a signal-dr bundle (32 bytes), as the signal-dr
/// peers' `initiate` takes it.
pub(crate) fn signal_dr_bundle(bundle: &[u8]) -> Result<[u8; 32], crate::peer::Reject> {
    bundle.try_into().map_err(|_| {
        crate::peer::Reject::new(
            crate::peer::RejectClass::Malformed,
            format!(
                "expected a 32-byte ratchet public key, got {} bytes",
                bundle.len()
            ),
        )
    })
}
