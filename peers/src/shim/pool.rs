//! A shim's processes: its command started once, and again (up to a bound) when several
//! threads of the bench use it at the same time, so that a campaign's workers do not queue
//! for one pipe.
//!
//! A thread takes a process for its whole life (a lease, the one with the fewest threads,
//! a new one while there are fewer than the bound), and every party it builds lives on that
//! process, whichever thread calls it later: a scenario runs on one worker, so its parties
//! (and the attacker's copies of them) stay on one process. Every process must say the same
//! hello as the first. Parties are numbered per process, as the protocol has it.
//!
//! A failure (an exit, a hang, a broken answer) ends its process: the parties it held refuse
//! every later call at once with that failure (their state went with the process), and the
//! next thread to need a process of the shim gets a new one in its place, so that one slow
//! answer under load costs one scenario, not the rest of the run. A shim that keeps failing
//! is not restarted without end: after [`MAX_RESTARTS`] new processes the next failure stops
//! the whole shim, and every later call to any of its peers returns it at once.

use super::features::{self, Features};
use super::hello::{self, Hello};
use super::process::{Answer, FailureKind, Killer, Process, Randomness};
use super::stats::Counters;
use ratchet_bench_core::peer::{Reject, RejectClass, FAILED_PREFIX};
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// Why a request about no party's randomness may not ask for random bytes.
pub(crate) const NO_PARTY: &str = "the request draws on no party's randomness";

/// How many processes a shim may start in place of failed ones in one run.
pub const MAX_RESTARTS: usize = 3;

/// One process of a shim.
pub(crate) struct Member {
    process: Mutex<Process>,
    killer: Killer,
    /// The failure that ended the process, if one did: the process keeps it too, but this
    /// copy is read without waiting for a request in flight on the process's lock.
    failed: Mutex<Option<Reject>>,
}

impl Member {
    fn new(process: Process) -> Arc<Member> {
        Arc::new(Member {
            killer: process.killer(),
            process: Mutex::new(process),
            failed: Mutex::new(None),
        })
    }

    /// The failure that ended this process, if one did.
    pub(crate) fn failure(&self) -> Option<Reject> {
        self.failed.lock().ok().and_then(|f| f.clone())
    }
}

/// How a shim's processes start, and what the first one said.
pub(crate) struct Pool {
    /// Tells this pool's leases from other pools' in a thread's list.
    id: u64,
    /// `shim "NAME" (COMMAND)`.
    label: String,
    argv: Vec<String>,
    /// The optional features the bench offers.
    offered: Features,
    /// The first process's hello, which every later one must repeat.
    pub(crate) hello: Hello,
    /// The features the shim took up.
    pub(crate) features: Features,
    /// The most processes started.
    max: usize,
    /// Every request's budget but the hello's.
    timeout: Duration,
    hello_timeout: Duration,
    /// The processes and how many live threads lease each.
    members: Mutex<Vec<(Arc<Member>, usize)>>,
    /// The failure that ended the shim (once its restarts were spent).
    failed: Mutex<Option<Reject>>,
    /// How many processes were started in place of failed ones.
    restarts: AtomicUsize,
    pub(crate) counters: Arc<Counters>,
}

/// What starting a pool needs besides the command.
pub(crate) struct PoolOptions {
    pub(crate) offered: Features,
    pub(crate) max: usize,
    pub(crate) timeout: Duration,
    pub(crate) hello_timeout: Duration,
}

/// The lease a thread holds on one process of one pool, given back when the thread ends.
struct Lease {
    pool: u64,
    home: Weak<Pool>,
    index: usize,
    member: Arc<Member>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(pool) = self.home.upgrade() {
            if let Ok(mut members) = pool.members.lock() {
                if let Some((_, n)) = members.get_mut(self.index) {
                    *n = n.saturating_sub(1);
                }
            }
        }
    }
}

thread_local! {
    static LEASES: RefCell<Vec<Lease>> = const { RefCell::new(Vec::new()) };
}

static NEXT_POOL: AtomicU64 = AtomicU64::new(0);

fn poisoned() -> Reject {
    Reject::new(
        RejectClass::Other,
        "the shim's lock was poisoned by an earlier panic",
    )
}

/// What a request's answer came to: the result, the implementation's refusal, or a
/// problem with the answer that stops the shim (bad-answer).
pub(crate) type Read<T> = Result<Result<T, Reject>, String>;

/// The usual reading of an answer: `ok` fields read by `read_ok` (an `ok` it cannot use is
/// a bad answer), `err` the implementation's refusal, `unimplemented` a refusal of class
/// Other saying so.
pub(crate) fn usual<T>(
    op: &str,
    answer: Answer,
    read_ok: impl FnOnce(&Map<String, Value>) -> Result<T, String>,
) -> Read<T> {
    match answer {
        Answer::Ok(ok) => read_ok(&ok).map(Ok),
        Answer::Refused(reject) => Ok(Err(reject)),
        Answer::Unimplemented(why) => Ok(Err(Reject::new(
            RejectClass::Other,
            format!("unimplemented: the shim does not do {op}: {why}"),
        ))),
    }
}

/// Starts one process of the shim and reads its hello.
fn spawn(
    label: &str,
    argv: &[String],
    offered: Features,
    budget: Duration,
) -> Result<(Process, Hello, Features), String> {
    let mut process = Process::spawn(label.to_string(), argv)?;
    let mut fields = Map::new();
    fields.insert("protocol".into(), Value::from(hello::PROTOCOL));
    fields.insert("features".into(), Value::from(offered.offer()));
    match process.request("hello", fields, budget, Randomness::Refused(NO_PARTY)) {
        Ok((_, Answer::Ok(ok))) => {
            let parsed = hello::parse(&ok)
                .and_then(|h| features::taken_up(&ok, offered).map(|f| (h, f)))
                .map_err(|e| format!("{label}: refused: its hello is wrong: {e}"))?;
            Ok((process, parsed.0, parsed.1))
        }
        Ok((_, Answer::Refused(r))) => Err(format!(
            "{label}: refused: it answered the hello with an error: {r}"
        )),
        Ok((_, Answer::Unimplemented(why))) => Err(format!(
            "{label}: refused: it answered the hello with unimplemented: {why}"
        )),
        Err(r) => {
            let text = r.detail.strip_prefix(FAILED_PREFIX).unwrap_or(&r.detail);
            Err(format!("hello failed: {text}"))
        }
    }
}

impl Pool {
    /// Starts the shim's first process and checks its hello.
    pub(crate) fn start(
        label: String,
        argv: Vec<String>,
        opts: PoolOptions,
        counters: Arc<Counters>,
    ) -> Result<Arc<Pool>, String> {
        let (process, hello, features) = spawn(&label, &argv, opts.offered, opts.hello_timeout)?;
        let member = Member::new(process);
        Ok(Arc::new(Pool {
            id: NEXT_POOL.fetch_add(1, Ordering::Relaxed),
            label,
            argv,
            offered: opts.offered,
            hello,
            features,
            max: opts.max.max(1),
            timeout: opts.timeout,
            hello_timeout: opts.hello_timeout,
            members: Mutex::new(vec![(member, 0)]),
            failed: Mutex::new(None),
            restarts: AtomicUsize::new(0),
            counters,
        }))
    }

    /// The failure that ended the whole shim, if one did.
    pub(crate) fn failure(&self) -> Option<Reject> {
        self.failed.lock().ok().and_then(|f| f.clone())
    }

    /// Records `reject` as the failure of `member`'s process (which `Process::fail` has
    /// already killed) and returns it: the parties on it refuse with it from now on.
    fn member_failed(&self, member: &Member, reject: Reject) -> Reject {
        match member.failed.lock() {
            Ok(mut failed) => failed.get_or_insert(reject).clone(),
            Err(_) => reject,
        }
    }

    /// Records `reject` as the shim's failure, unless another came first, stops every
    /// process, and returns the shim's failure.
    fn failed_with(&self, reject: Reject) -> Reject {
        let first = match self.failed.lock() {
            Ok(mut failed) => failed.get_or_insert(reject).clone(),
            Err(_) => return reject,
        };
        if let Ok(members) = self.members.lock() {
            for (m, _) in members.iter() {
                m.killer.kill();
            }
        }
        first
    }

    /// The process of the calling thread: the one it leased, or a new lease.
    pub(crate) fn member(self: &Arc<Self>) -> Result<Arc<Member>, Reject> {
        if let Some(failed) = self.failure() {
            return Err(failed);
        }
        let leased = LEASES.with(|leases| {
            leases
                .borrow()
                .iter()
                .find(|l| l.pool == self.id)
                .map(|l| Arc::clone(&l.member))
        });
        if let Some(member) = leased {
            if member.failure().is_none() {
                return Ok(member);
            }
            // Its process failed: give the lease back and take another (a new process in
            // the failed one's place).
            LEASES.with(|leases| leases.borrow_mut().retain(|l| l.pool != self.id));
        }
        let (index, member) = self.lease()?;
        LEASES.with(|leases| {
            let mut leases = leases.borrow_mut();
            leases.retain(|l| l.home.strong_count() > 0);
            leases.push(Lease {
                pool: self.id,
                home: Arc::downgrade(self),
                index,
                member: Arc::clone(&member),
            });
        });
        Ok(member)
    }

    /// A process for a thread that holds none: the one fewest threads lease, or a new one
    /// when every process is leased and there are fewer than the bound.
    fn lease(&self) -> Result<(usize, Arc<Member>), Reject> {
        let problem = {
            let mut members = self.members.lock().map_err(|_| poisoned())?;
            let (best, leased) = members
                .iter()
                .enumerate()
                .min_by_key(|(_, (_, n))| *n)
                .map_or((0, 0), |(i, (_, n))| (i, *n));
            if leased > 0 && members.len() < self.max {
                match self.grow(members.len() + 1) {
                    Ok(member) => {
                        members.push((Arc::clone(&member), 1));
                        self.counters.processes(members.len());
                        return Ok((members.len() - 1, member));
                    }
                    Err(problem) => problem,
                }
            } else {
                let (member, n) = members.get_mut(best).ok_or_else(poisoned)?;
                if let Some(failure) = member.failure() {
                    match self.restart(best + 1, failure) {
                        Ok(new) => *member = new,
                        Err(stop) => {
                            drop(members);
                            return Err(self.failed_with(stop));
                        }
                    }
                }
                *n += 1;
                return Ok((best, Arc::clone(member)));
            }
        };
        // Stopping the shim kills every process, listed under the lock released above.
        Err(self.failed_with(Reject::new(
            RejectClass::Other,
            format!(
                "{FAILED_PREFIX}{}: {}: {problem}",
                FailureKind::BadAnswer.name(),
                self.label
            ),
        )))
    }

    /// A new process number `n` in place of one that ended with `failure`, while the shim
    /// has restarts left; else (or if it cannot start) the failure that stops the shim.
    fn restart(&self, n: usize, failure: Reject) -> Result<Arc<Member>, Reject> {
        let restarts = self.restarts.fetch_add(1, Ordering::SeqCst);
        if restarts >= MAX_RESTARTS {
            return Err(Reject::new(
                failure.class,
                format!(
                    "{} (its processes failed {} times; the shim is not restarted again)",
                    failure.detail,
                    restarts + 1
                ),
            ));
        }
        let member = self.grow(n).map_err(|problem| {
            Reject::new(
                RejectClass::Other,
                format!(
                    "{FAILED_PREFIX}{}: {}: {problem}",
                    FailureKind::BadAnswer.name(),
                    self.label
                ),
            )
        })?;
        self.counters.restarted();
        Ok(member)
    }

    /// Starts process number `n`; it must say the first one's hello.
    fn grow(&self, n: usize) -> Result<Arc<Member>, String> {
        match spawn(&self.label, &self.argv, self.offered, self.hello_timeout) {
            Ok((process, hello, features)) if hello == self.hello && features == self.features => {
                Ok(Member::new(process))
            }
            Ok(_) => Err(format!(
                "its process {n} said another hello than its first (a shim's processes must be alike)"
            )),
            Err(e) => Err(format!("its process {n} could not start: {e}")),
        }
    }

    /// A new party number on `member`.
    pub(crate) fn new_party(&self, member: &Member) -> Result<u64, Reject> {
        if let Some(failed) = self.failure() {
            return Err(failed);
        }
        let mut process = member.process.lock().map_err(|_| poisoned())?;
        Ok(process.new_party())
    }

    /// Sends `op` to `member` and reads its answer with `read`; a problem `read` finds stops
    /// the shim (bad-answer), as does any broken protocol. `encryptions` counts the
    /// encryptions the request asks for (statistics only).
    pub(crate) fn call<T>(
        &self,
        member: &Member,
        op: &'static str,
        encryptions: u64,
        fields: Map<String, Value>,
        randomness: Randomness<'_>,
        read: impl FnOnce(Answer) -> Read<T>,
    ) -> Result<T, Reject> {
        if let Some(failed) = self.failure() {
            return Err(failed);
        }
        let queued = Instant::now();
        let mut process = member.process.lock().map_err(|_| poisoned())?;
        if let Some(failed) = self.failure() {
            return Err(failed);
        }
        let sent = Instant::now();
        // A batch has the budget of the encryptions it stands for: a slow shim (one that
        // serialises every stored key on each encryption) gets no less time per message than
        // one `encrypt` at a time would.
        let budget = self
            .timeout
            .saturating_mul(u32::try_from(encryptions.max(1)).unwrap_or(u32::MAX));
        let result = process.request(op, fields, budget, randomness);
        self.counters
            .count(op, encryptions, sent - queued, sent.elapsed());
        let (id, answer) = match result {
            Ok(answered) => answered,
            Err(failed) => return Err(self.member_failed(member, failed)),
        };
        match read(answer) {
            Ok(result) => result,
            Err(problem) => {
                let failed = process.fail(FailureKind::BadAnswer, id, op, problem);
                Err(self.member_failed(member, failed))
            }
        }
    }
}
