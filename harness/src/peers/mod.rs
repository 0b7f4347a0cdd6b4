//! Adapters: one file per implementation under test, and the registry of bundled peers.

mod dr2;
mod guard;
mod ksi;
mod reference;

pub use dr2::DoubleRatchet2;
pub use guard::{guarded, Panicked};
pub use ksi::KsiDoubleRatchet;
pub use reference::ReferenceSignalDr;

use crate::peer::Peer;

/// Every in-process peer the bench bundles, in report order.
pub fn bundled() -> Vec<Box<dyn Peer>> {
    vec![
        Box::new(ReferenceSignalDr),
        Box::new(KsiDoubleRatchet),
        Box::new(DoubleRatchet2),
    ]
}

/// The bundled peers named in `names` (all of them when `names` is empty), or the first
/// unknown name.
pub fn select(names: &[String]) -> Result<Vec<Box<dyn Peer>>, String> {
    let all = bundled();
    if names.is_empty() {
        return Ok(all);
    }
    let known: Vec<String> = all.iter().map(|p| p.info().name).collect();
    if let Some(unknown) = names.iter().find(|n| !known.contains(n)) {
        return Err(format!(
            "unknown peer {unknown:?}; expected one of {}",
            known.join(", ")
        ));
    }
    Ok(all
        .into_iter()
        .filter(|p| names.contains(&p.info().name))
        .collect())
}
