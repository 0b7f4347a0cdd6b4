//! Keeps a peer's panic or hang from ending the run: a panic becomes a finding, a call that
//! outlasts its budget is stopped and becomes a finding too.
//!
//! A panic hook installed once keeps panics inside a guarded call off stderr (the message is
//! returned instead); panics anywhere else still print as usual.
//!
//! An in-process call cannot be killed, so a call with a budget runs on a worker thread and
//! the caller waits at most the budget for it. On timeout the worker is left behind, still
//! inside the peer (it exits if the call ever returns), and the party that hung is marked
//! dead: later calls to it return at once as [`Stopped::Abandoned`]. Workers come from a pool
//! and are reused, so the cost per call is two thread hand-overs, not a thread start.
//! [`watch`] wraps a party so that every call it takes runs this way.

use crate::peer::{Party, Reject, RejectClass};
use std::any::Any;
use std::cell::Cell;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, Once, OnceLock, Weak};
use std::time::{Duration, Instant};

thread_local! {
    static GUARDED: Cell<u32> = const { Cell::new(0) };
}

static HOOK: Once = Once::new();

/// A peer panicked; the payload's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Panicked(pub String);

/// Why a guarded call gave no result.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stopped {
    /// The peer panicked; the payload's text.
    Panicked(String),
    /// The call outlasted its budget and was abandoned.
    Hung {
        /// The party method (`encrypt`, `decrypt`, ...), or `call` for a bare closure.
        call: &'static str,
        /// The budget it outlasted.
        budget: Duration,
    },
    /// The party hung in an earlier call and is no longer called.
    Abandoned {
        /// The method of the earlier call.
        hung_in: &'static str,
    },
}

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stopped::Panicked(text) => write!(f, "panicked: {text}"),
            Stopped::Hung { call, budget } => write!(
                f,
                "{call} did not return within its budget of {} ms and was abandoned",
                budget.as_millis()
            ),
            Stopped::Abandoned { hung_in } => {
                write!(f, "not called: the party hung in {hung_in} earlier")
            }
        }
    }
}

fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if GUARDED.with(Cell::get) == 0 {
                previous(info);
            }
        }));
    });
}

fn payload_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-text payload".to_string()
    }
}

/// Runs `f` on this thread, returning why it stopped instead of unwinding: its panic, or a
/// hang or abandonment reported by a [`watch`]ed party it called.
pub fn guarded_call<T>(f: impl FnOnce() -> T) -> Result<T, Stopped> {
    install_hook();
    GUARDED.with(|g| g.set(g.get() + 1));
    // Unwind safety: after a panic the peer's party is still used, on purpose: whatever
    // state it was left in is what the bench reports on.
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(g.get() - 1));
    result.map_err(|payload| match payload.downcast::<Stopped>() {
        Ok(stopped) => *stopped,
        Err(other) => Stopped::Panicked(payload_text(other.as_ref())),
    })
}

/// Runs `f`, returning its panic message instead of unwinding (a hang of a watched party it
/// called is reported as a panic with the hang's text).
pub fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, Panicked> {
    guarded_call(f).map_err(|stopped| match stopped {
        Stopped::Panicked(text) => Panicked(text),
        other => Panicked(other.to_string()),
    })
}

/// The per-call budget, in milliseconds (0: not read yet; [`NO_BUDGET`]: none).
static BUDGET_MS: AtomicU64 = AtomicU64::new(0);

/// [`BUDGET_MS`]'s value for "no budget": calls run on the caller's thread.
const NO_BUDGET: u64 = u64::MAX;

/// The budget when neither [`set_call_budget`] nor the environment says otherwise: far above
/// any honest call (a far jump's derivations, a group set-up under a sanitizer), below
/// libFuzzer's usual `-timeout`, so that a hang is reported with its peer and call.
pub const DEFAULT_CALL_BUDGET: Duration = Duration::from_secs(10);

/// The environment variable that sets the per-call budget in milliseconds (`0`: no budget,
/// every call on the caller's thread, a hang hangs the run).
pub const CALL_BUDGET_ENV: &str = "RATCHET_BENCH_CALL_BUDGET_MS";

/// How long one call of a watched party may take: [`set_call_budget`]'s value, else
/// [`CALL_BUDGET_ENV`], else [`DEFAULT_CALL_BUDGET`]; `None` when switched off.
pub fn call_budget() -> Option<Duration> {
    let mut ms = BUDGET_MS.load(Ordering::Relaxed);
    if ms == 0 {
        ms = match std::env::var(CALL_BUDGET_ENV)
            .ok()
            .map(|v| v.parse::<u64>())
        {
            Some(Ok(0)) => NO_BUDGET,
            Some(Ok(v)) => v,
            _ => DEFAULT_CALL_BUDGET.as_millis() as u64,
        };
        BUDGET_MS.store(ms, Ordering::Relaxed);
    }
    (ms != NO_BUDGET).then(|| Duration::from_millis(ms))
}

/// Sets the per-call budget of every party watched from now on in this process (tests use a
/// short one); `Duration::ZERO` switches it off.
pub fn set_call_budget(budget: Duration) {
    let ms = if budget.is_zero() {
        NO_BUDGET
    } else {
        (budget.as_millis() as u64).max(1)
    };
    BUDGET_MS.store(ms, Ordering::Relaxed);
}

type Job = Box<dyn FnOnce() + Send>;

/// An idle worker: the sending end of its job queue.
struct Worker(mpsc::Sender<Job>);

/// Idle workers. A worker whose job outlasted its budget is never put back.
static POOL: Mutex<Vec<Worker>> = Mutex::new(Vec::new());

/// The most idle workers kept; more are let go when they come back.
const POOL_MAX: usize = 64;

fn take_worker() -> Option<Worker> {
    if let Some(w) = POOL.lock().ok().and_then(|mut pool| pool.pop()) {
        return Some(w);
    }
    let (tx, rx) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("ratchet-bench peer call".into())
        .spawn(move || {
            install_hook();
            // Every job runs guarded (see guarded_within), so the hook stays quiet here.
            while let Ok(job) = rx.recv() {
                job();
            }
        })
        .ok()?;
    Some(Worker(tx))
}

fn give_back(worker: Worker) {
    if let Ok(mut pool) = POOL.lock() {
        if pool.len() < POOL_MAX {
            pool.push(worker);
        }
    }
}

/// Runs `f` on a worker thread and waits at most `budget` for it: its result, its panic, or
/// [`Stopped::Hung`] (the worker is then left behind, inside `f`).
pub fn guarded_within<T: Send + 'static>(
    budget: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Stopped> {
    run_within("call", budget, f)
}

fn run_within<T: Send + 'static>(
    call: &'static str,
    budget: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Stopped> {
    let Some(worker) = take_worker() else {
        // No thread could be started: run here, unguarded against hangs.
        return guarded_call(f);
    };
    let (tx, rx) = mpsc::sync_channel(1);
    let job: Job = Box::new(move || {
        let _ = tx.send(guarded_call(f));
    });
    if worker.0.send(job).is_err() {
        return Err(Stopped::Panicked("the worker thread is gone".into()));
    }
    match rx.recv_timeout(budget) {
        Ok(result) => {
            give_back(worker);
            result
        }
        Err(mpsc::RecvTimeoutError::Timeout) => Err(Stopped::Hung { call, budget }),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(Stopped::Panicked(
            "the worker thread ended inside the call".into(),
        )),
    }
}

/// How many of a batch's encryptions ([`Party::encrypt_many`]) one budgeted call makes.
const ENCRYPT_CHUNK: u32 = 64;

/// A party whose every call runs on a worker thread within [`call_budget`]. A panic of the
/// party is raised again on the caller's thread (so [`guarded`] and [`guarded_call`] see it as
/// before); a hang is raised as [`Stopped::Hung`], after which the party is dead and every
/// call raises [`Stopped::Abandoned`]. Callers must therefore call it under
/// [`guarded_call`].
pub struct Watched {
    inner: Option<Box<dyn Party>>,
    hung_in: Option<&'static str>,
    budget: Duration,
}

impl fmt::Debug for Watched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watched")
            .field("hung_in", &self.hung_in)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

/// `party` of the peer named `peer`, with every call it takes run within the per-call
/// budget: on a worker thread ([`Watched`]), or on this thread under the watchdog when
/// [`abort_on_hang`] is on; `party` itself when the budget is switched off or the party
/// keeps its own ([`Party::own_budget`]).
pub fn watch(party: Box<dyn Party>, peer: &str) -> Box<dyn Party> {
    if party.own_budget() {
        return party;
    }
    match call_budget() {
        Some(budget) if ABORT_ON_HANG.load(Ordering::Relaxed) => Box::new(Deadlined {
            inner: party,
            peer: peer.into(),
            budget,
        }),
        Some(budget) => Box::new(Watched {
            inner: Some(party),
            hung_in: None,
            budget,
        }),
        None => party,
    }
}

/// Splits a batch of `count` encryptions into calls of at most [`ENCRYPT_CHUNK`], each its
/// own budgeted call: a jump's thousands of encryptions under a sanitizer on a busy machine
/// can outlast one call's budget without any one of them hanging (measured: 2000 vodozemac
/// encryptions took over 10 s under ASan at load 10).
fn in_chunks(
    count: u32,
    mut call: impl FnMut(u32) -> (Vec<Vec<u8>>, Option<Reject>),
) -> (Vec<Vec<u8>>, Option<Reject>) {
    let mut wires = Vec::with_capacity(count as usize);
    let mut left = count;
    while left > 0 {
        let n = left.min(ENCRYPT_CHUNK);
        let (chunk, refused) = call(n);
        wires.extend(chunk);
        if refused.is_some() {
            return (wires, refused);
        }
        left -= n;
    }
    (wires, None)
}

impl Watched {
    fn call<T: Send + 'static>(
        &mut self,
        name: &'static str,
        f: impl FnOnce(&mut dyn Party) -> T + Send + 'static,
    ) -> T {
        let Some(mut party) = self.inner.take() else {
            let hung_in = self.hung_in.unwrap_or(name);
            panic::resume_unwind(Box::new(Stopped::Abandoned { hung_in }));
        };
        let result = run_within(name, self.budget, move || {
            let r = guarded_call(|| f(party.as_mut()));
            (party, r)
        });
        match result {
            Ok((party, Ok(value))) => {
                self.inner = Some(party);
                value
            }
            Ok((party, Err(stopped))) => {
                self.inner = Some(party);
                panic::resume_unwind(Box::new(stopped))
            }
            Err(stopped) => {
                if matches!(stopped, Stopped::Hung { .. }) {
                    self.hung_in = Some(name);
                }
                panic::resume_unwind(Box::new(stopped))
            }
        }
    }
}

impl Party for Watched {
    fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
        let (ad, plaintext) = (ad.to_vec(), plaintext.to_vec());
        self.call("encrypt", move |p| p.encrypt(&ad, &plaintext))
    }

    fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject> {
        let (ad, wire) = (ad.to_vec(), wire.to_vec());
        self.call("decrypt", move |p| p.decrypt(&ad, &wire))
    }

    fn encrypt_many(
        &mut self,
        ad: &[u8],
        plaintext: &[u8],
        count: u32,
    ) -> (Vec<Vec<u8>>, Option<Reject>) {
        in_chunks(count, |n| {
            let (ad, plaintext) = (ad.to_vec(), plaintext.to_vec());
            self.call("encrypt", move |p| p.encrypt_many(&ad, &plaintext, n))
        })
    }

    fn handshake(&mut self) -> Result<Option<Vec<u8>>, Reject> {
        self.call("handshake", |p| p.handshake())
    }

    fn export_state(&self) -> Result<Vec<u8>, Reject> {
        // A shared borrow cannot move the party to a worker; exporting is the peer's own
        // serialisation, run here.
        match &self.inner {
            Some(p) => p.export_state(),
            None => Err(Reject::new(
                RejectClass::Other,
                format!(
                    "the party hung in {} and was abandoned",
                    self.hung_in.unwrap_or("a call")
                ),
            )),
        }
    }

    fn work(&self) -> Option<crate::peer::Work> {
        self.inner.as_ref().and_then(|p| p.work())
    }

    fn join(&mut self, handshake: &[u8]) -> Result<(), Reject> {
        let handshake = handshake.to_vec();
        self.call("join", move |p| p.join(&handshake))
    }

    fn publish(&mut self) -> Result<Vec<u8>, Reject> {
        self.call("publish", |p| p.publish())
    }

    fn renew(&mut self, bundle: &[u8]) -> Result<(), Reject> {
        let bundle = bundle.to_vec();
        self.call("renew", move |p| p.renew(&bundle))
    }
}

/// Whether watched calls run on this thread under the watchdog, which ends the process when
/// one outlasts its budget ([`abort_on_hang`]), instead of on a worker thread.
static ABORT_ON_HANG: AtomicBool = AtomicBool::new(false);

/// Switches this process to the fuzz targets' way of stopping hangs: from now on every
/// watched call (and every [`within_deadline`] call) runs on the caller's thread, and a
/// watchdog thread ends the process when one outlasts the per-call budget, after printing
/// the finding's crash message (`ratchet-bench finding: <peer>/hang/<call>` on the first
/// line, as every target crash starts). A fuzz target runs one input at a time and libFuzzer
/// keeps the input that was running as a crash artifact, so nothing is lost, and `replay`
/// shows it as a `hang` finding under the worker-thread budget. What it saves: a campaign's
/// two thread hand-overs per call, which cost more than many calls themselves. Campaigns
/// (`run`), `replay` and `minimize` never switch it on: they must go on after a hang.
pub fn abort_on_hang() {
    ABORT_ON_HANG.store(true, Ordering::Relaxed);
}

/// Milliseconds since the first use of the watchdog, the clock of [`Slot::deadline`].
fn now_ms() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    // Plus one: 0 means "no call under way".
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1
}

/// One thread's call under way, as the watchdog sees it.
struct Slot {
    /// When the call must have returned ([`now_ms`]), 0 when no call is under way.
    deadline: AtomicU64,
    /// The peer and the call, for the crash message.
    what: Mutex<(Arc<str>, &'static str)>,
}

/// Every thread's slot (a thread registers on its first watched call).
static SLOTS: Mutex<Vec<Weak<Slot>>> = Mutex::new(Vec::new());

thread_local! {
    static SLOT: Arc<Slot> = register_slot();
}

fn register_slot() -> Arc<Slot> {
    let slot = Arc::new(Slot {
        deadline: AtomicU64::new(0),
        what: Mutex::new((Arc::from(""), "call")),
    });
    if let Ok(mut slots) = SLOTS.lock() {
        slots.retain(|s| s.strong_count() > 0);
        slots.push(Arc::downgrade(&slot));
    }
    start_watchdog();
    slot
}

fn start_watchdog() {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("ratchet-bench watchdog".into())
            .spawn(watchdog);
        if spawned.is_err() {
            // No watchdog: hangs are left to libFuzzer's own -timeout.
            eprintln!("ratchet-bench: could not start the watchdog thread; hangs are not stopped");
        }
    });
}

/// Checks every slot a few times per budget; ends the process on the first expired call.
fn watchdog() {
    loop {
        let budget = call_budget().unwrap_or(DEFAULT_CALL_BUDGET);
        std::thread::sleep(
            (budget / 10).clamp(Duration::from_millis(5), Duration::from_millis(500)),
        );
        let now = now_ms();
        let slots: Vec<Arc<Slot>> = match SLOTS.lock() {
            Ok(slots) => slots.iter().filter_map(Weak::upgrade).collect(),
            Err(_) => continue,
        };
        for slot in slots {
            let deadline = slot.deadline.load(Ordering::Acquire);
            if deadline == 0 || now <= deadline {
                continue;
            }
            let (peer, call) = match slot.what.lock() {
                Ok(what) => (what.0.clone(), what.1),
                Err(_) => (Arc::from("a peer"), "call"),
            };
            let stopped = Stopped::Hung { call, budget };
            eprintln!("ratchet-bench finding: {peer}/hang/{call}\n{peer}: {stopped}");
            std::process::abort();
        }
    }
}

/// Puts the slot back as it was when dropped (also when the call panics).
struct Armed {
    previous: (u64, (Arc<str>, &'static str)),
}

impl Drop for Armed {
    fn drop(&mut self) {
        let (deadline, what) = std::mem::replace(&mut self.previous, (0, (Arc::from(""), "")));
        SLOT.with(|slot| {
            if let Ok(mut w) = slot.what.lock() {
                *w = what;
            }
            slot.deadline.store(deadline, Ordering::Release);
        });
    }
}

fn arm(peer: &Arc<str>, call: &'static str, budget: Duration) -> Armed {
    SLOT.with(|slot| {
        let deadline = now_ms().saturating_add(budget.as_millis() as u64);
        let previous_deadline = slot.deadline.swap(deadline, Ordering::AcqRel);
        let previous_what = match slot.what.lock() {
            Ok(mut w) => std::mem::replace(&mut *w, (peer.clone(), call)),
            Err(_) => (Arc::from(""), "call"),
        };
        Armed {
            previous: (previous_deadline, previous_what),
        }
    })
}

/// Runs `f` (a call `call` into the peer named `peer` that is not a party's, such as
/// `respond` or `restore`) under the watchdog when [`abort_on_hang`] is on; otherwise just
/// runs it: a borrowed peer cannot be moved to a worker thread, so outside fuzz targets these
/// calls have no budget.
pub fn within_deadline<T>(peer: &str, call: &'static str, f: impl FnOnce() -> T) -> T {
    match call_budget() {
        Some(budget) if ABORT_ON_HANG.load(Ordering::Relaxed) => {
            let _armed = arm(&Arc::from(peer), call, budget);
            f()
        }
        _ => f(),
    }
}

/// A party whose every call runs on the caller's thread under the watchdog
/// ([`abort_on_hang`]).
struct Deadlined {
    inner: Box<dyn Party>,
    peer: Arc<str>,
    budget: Duration,
}

impl Deadlined {
    fn call<T>(&mut self, name: &'static str, f: impl FnOnce(&mut dyn Party) -> T) -> T {
        let _armed = arm(&self.peer, name, self.budget);
        f(self.inner.as_mut())
    }
}

impl Party for Deadlined {
    fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
        self.call("encrypt", |p| p.encrypt(ad, plaintext))
    }

    fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject> {
        self.call("decrypt", |p| p.decrypt(ad, wire))
    }

    fn encrypt_many(
        &mut self,
        ad: &[u8],
        plaintext: &[u8],
        count: u32,
    ) -> (Vec<Vec<u8>>, Option<Reject>) {
        in_chunks(count, |n| {
            self.call("encrypt", |p| p.encrypt_many(ad, plaintext, n))
        })
    }

    fn handshake(&mut self) -> Result<Option<Vec<u8>>, Reject> {
        self.call("handshake", |p| p.handshake())
    }

    fn export_state(&self) -> Result<Vec<u8>, Reject> {
        let _armed = arm(&self.peer, "export_state", self.budget);
        self.inner.export_state()
    }

    fn work(&self) -> Option<crate::peer::Work> {
        self.inner.work()
    }

    fn join(&mut self, handshake: &[u8]) -> Result<(), Reject> {
        self.call("join", |p| p.join(handshake))
    }

    fn publish(&mut self) -> Result<Vec<u8>, Reject> {
        self.call("publish", |p| p.publish())
    }

    fn renew(&mut self, bundle: &[u8]) -> Result<(), Reject> {
        self.call("renew", |p| p.renew(bundle))
    }
}
