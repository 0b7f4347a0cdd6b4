//! Catches a peer's panic so that it becomes a finding instead of ending the run.
//!
//! A panic hook installed once keeps panics inside a guarded call off stderr (the message is
//! returned instead); panics anywhere else still print as usual.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static GUARDED: Cell<u32> = const { Cell::new(0) };
}

static HOOK: Once = Once::new();

/// A peer panicked; the payload's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Panicked(pub String);

/// Runs `f`, returning its panic message instead of unwinding.
pub fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, Panicked> {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if GUARDED.with(Cell::get) == 0 {
                previous(info);
            }
        }));
    });
    GUARDED.with(|g| g.set(g.get() + 1));
    // Unwind safety: after a panic the peer's party is still used, on purpose: whatever
    // state it was left in is what the bench reports on.
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(g.get() - 1));
    result.map_err(|payload| {
        let text = if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "a panic with a non-text payload".to_string()
        };
        Panicked(text)
    })
}
