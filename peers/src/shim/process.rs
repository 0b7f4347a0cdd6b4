//! The child process behind a shim: one JSON line out, one JSON line back, each within a
//! time budget; stderr kept as a bounded tail; and one failure that ends the process for
//! good, so that every later call fails at once with the same error instead of hanging.
//!
//! The caller reads the answer from stdout itself (no thread hand-over on the hot path); a
//! watchdog thread per process kills the child when a request outlasts its budget, which
//! ends the blocked read. stderr is drained by another thread that keeps the last
//! [`TAIL_LINES`] lines, so a chatty shim never blocks on a full pipe.

use ratchet_bench_core::peer::{Reject, RejectClass};
use serde_json::{Map, Value};
use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::process::ChildStdout;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The longest line a shim may write (the protocol's limit).
pub const MAX_LINE: usize = 16 * 1024 * 1024;

/// How many lines of a shim's stderr are kept to show when it fails.
pub const TAIL_LINES: usize = 40;

/// Longer stderr lines are cut to this many bytes in the tail.
const TAIL_LINE_BYTES: usize = 2000;

/// The most random bytes one ask may request (`{"id": ..., "random": n}`).
pub const MAX_RANDOM_ASK: u64 = 4096;

/// The most random bytes the asks of one request may take in all.
pub const MAX_RANDOM_PER_REQUEST: u64 = 65536;

/// The start of the detail of every [`Reject`] a failed shim returns; what follows up to the
/// next `:` is the [`FailureKind`]. The campaign turns such a refusal into one
/// `shim-failed` finding instead of judging it as the peer's answer.
pub const FAILED_PREFIX: &str = "shim-failed/";

/// How a shim broke the protocol; its name ends the finding's signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// It exited or closed its stdout.
    Exited,
    /// It gave no answer within the budget.
    Hang,
    /// It wrote a line that is not JSON.
    Garbage,
    /// It answered with another request's id.
    WrongId,
    /// It wrote a line longer than [`MAX_LINE`].
    Oversized,
    /// Its answer is JSON but not a valid answer to the request.
    BadAnswer,
    /// Its pipes failed in another way.
    Io,
    /// It asked for random bytes it may not have: without `host_rng`, during a request
    /// about no party, or more than [`MAX_RANDOM_ASK`] / [`MAX_RANDOM_PER_REQUEST`].
    BadRandom,
}

impl FailureKind {
    /// The kind's name in signatures.
    pub fn name(self) -> &'static str {
        match self {
            FailureKind::Exited => "exited",
            FailureKind::Hang => "hang",
            FailureKind::Garbage => "garbage",
            FailureKind::WrongId => "wrong-id",
            FailureKind::Oversized => "oversized",
            FailureKind::BadAnswer => "bad-answer",
            FailureKind::Io => "io",
            FailureKind::BadRandom => "bad-random",
        }
    }
}

/// A shim's answer to one request.
pub enum Answer {
    /// `ok`: the result's fields.
    Ok(Map<String, Value>),
    /// `err`: the implementation refused.
    Refused(Reject),
    /// `unimplemented`: the shim does not do this; its reason.
    Unimplemented(String),
}

/// Where the random bytes a shim asks for during one request come from (protocol feature
/// `host_rng`).
pub enum Randomness<'a> {
    /// From this party's generator: the party the request is about, of a peer whose hello
    /// declared `host_rng`.
    Party(&'a mut dyn rand_core::RngCore),
    /// The shim may not ask during this request; why not, for the failure's message.
    Refused(&'static str),
}

/// One line a shim wrote while a request was under way.
enum Line {
    /// The request's answer.
    Answer(Answer),
    /// An ask for random bytes: the count as written (checked by the caller).
    Ask(Value),
}

/// The watchdog's view of the request under way: when it started (nanoseconds after
/// `base`, 0 when none) and its budget. Whoever clears `started` first owns the request's
/// end: the caller when the answer came in time, the watchdog when it did not (it then
/// kills the child, which ends the caller's read).
struct Watch {
    base: Instant,
    started: AtomicU64,
    budget: AtomicU64,
    fired: AtomicBool,
    closed: AtomicBool,
    child: Mutex<Child>,
}

impl Watch {
    fn now(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    fn begin(&self, budget: Duration) {
        self.budget.store(
            u64::try_from(budget.as_nanos()).unwrap_or(u64::MAX),
            Ordering::SeqCst,
        );
        self.started.store(self.now(), Ordering::SeqCst);
    }

    /// Ends the request; `true` if the watchdog had already claimed it (a hang).
    fn end(&self) -> bool {
        self.started.swap(0, Ordering::SeqCst) == 0
    }

    fn kill(&self) {
        if let Ok(mut child) = self.child.lock() {
            let _ = child.kill();
        }
    }

    /// The watchdog: checks every `tick` whether the request under way is past its budget.
    fn run(&self) {
        while !self.closed.load(Ordering::SeqCst) {
            let budget = Duration::from_nanos(self.budget.load(Ordering::SeqCst));
            std::thread::sleep(
                (budget / 20).clamp(Duration::from_millis(1), Duration::from_millis(25)),
            );
            let started = self.started.load(Ordering::SeqCst);
            if started == 0 {
                continue;
            }
            let late = self.now().saturating_sub(started) > self.budget.load(Ordering::SeqCst);
            if late
                && self
                    .started
                    .compare_exchange(started, 0, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            {
                self.fired.store(true, Ordering::SeqCst);
                self.kill();
            }
        }
    }
}

/// The last lines of the shim's stderr, and whether stderr has closed.
#[derive(Default)]
struct Tail {
    lines: Mutex<(VecDeque<String>, bool)>,
    closed: Condvar,
}

impl Tail {
    fn push(&self, line: String) {
        if let Ok(mut t) = self.lines.lock() {
            if t.0.len() == TAIL_LINES {
                t.0.pop_front();
            }
            t.0.push_back(line);
        }
    }

    fn close(&self) {
        if let Ok(mut t) = self.lines.lock() {
            t.1 = true;
        }
        self.closed.notify_all();
    }

    /// The tail, after waiting up to `wait` for stderr to close (so that a crashing shim's
    /// last words are in it).
    fn text(&self, wait: Duration) -> String {
        let Ok(guard) = self.lines.lock() else {
            return String::new();
        };
        let guard = match self.closed.wait_timeout_while(guard, wait, |t| !t.1) {
            Ok((g, _)) => g,
            Err(_) => return String::new(),
        };
        guard.0.iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

/// Reads up to the next `\n` (not kept) into `out`, keeping at most `max` bytes. Returns
/// `None` at end of input with nothing read, else whether the line was longer than `max`;
/// with `stop_when_over` it returns as soon as that is known instead of reading on.
fn read_bounded(
    r: &mut impl BufRead,
    out: &mut Vec<u8>,
    max: usize,
    stop_when_over: bool,
) -> io::Result<Option<bool>> {
    out.clear();
    let (mut over, mut any) = (false, false);
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(any.then_some(over));
        }
        any = true;
        let (chunk, used, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (buf.get(..i).unwrap_or_default(), i + 1, true),
            None => (buf, buf.len(), false),
        };
        let room = max.saturating_sub(out.len());
        if chunk.len() > room {
            over = true;
            out.extend_from_slice(chunk.get(..room).unwrap_or_default());
        } else {
            out.extend_from_slice(chunk);
        }
        r.consume(used);
        if done || (over && stop_when_over) {
            return Ok(Some(over));
        }
    }
}

fn read_stderr(stderr: impl Read, tail: &Tail) {
    let mut r = BufReader::new(stderr);
    let mut buf = Vec::new();
    while let Ok(Some(cut)) = read_bounded(&mut r, &mut buf, TAIL_LINE_BYTES, false) {
        let mut line = String::from_utf8_lossy(&buf).into_owned();
        if cut {
            line.push_str(" [cut]");
        }
        tail.push(line);
    }
    tail.close();
}

/// Stops a [`Process`] from another thread (when another process of the same shim failed),
/// without waiting for the request it may be in: its reader then sees the shim exit.
#[derive(Clone)]
pub struct Killer(Arc<Watch>);

impl Killer {
    /// Kills the process and stops its watchdog.
    pub fn kill(&self) {
        self.0.closed.store(true, Ordering::SeqCst);
        self.0.kill();
    }
}

/// A running shim.
pub struct Process {
    /// `shim "NAME" (COMMAND)`, the start of every message about it.
    label: String,
    watch: Arc<Watch>,
    stdin: Option<BufWriter<ChildStdin>>,
    stdout: BufReader<ChildStdout>,
    line: Vec<u8>,
    tail: Arc<Tail>,
    next_id: u64,
    next_party: u64,
    failed: Option<Reject>,
}

impl Process {
    /// Starts `argv` with piped stdin, stdout and stderr; `label` names it in messages.
    pub fn spawn(label: String, argv: &[String]) -> Result<Process, String> {
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| format!("{label}: the command is empty"))?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{label}: cannot start {program:?}: {e}"))?;
        let (stdin, stdout, stderr) =
            match (child.stdin.take(), child.stdout.take(), child.stderr.take()) {
                (Some(i), Some(o), Some(e)) => (i, o, e),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("{label}: its pipes could not be opened"));
                }
            };
        let watch = Arc::new(Watch {
            base: Instant::now(),
            started: AtomicU64::new(0),
            budget: AtomicU64::new(1_000_000_000),
            fired: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            child: Mutex::new(child),
        });
        let watchdog = Arc::clone(&watch);
        if let Err(e) = std::thread::Builder::new()
            .name("shim watchdog".into())
            .spawn(move || watchdog.run())
        {
            watch.kill();
            return Err(format!("{label}: cannot start its watchdog thread: {e}"));
        }
        let tail = Arc::new(Tail::default());
        let for_thread = Arc::clone(&tail);
        std::thread::Builder::new()
            .name("shim stderr".into())
            .spawn(move || read_stderr(stderr, &for_thread))
            .map_err(|e| format!("{label}: cannot start a reader thread: {e}"))?;
        Ok(Process {
            label,
            watch,
            stdin: Some(BufWriter::new(stdin)),
            stdout: BufReader::with_capacity(1 << 16, stdout),
            line: Vec::new(),
            tail,
            next_id: 0,
            next_party: 0,
            failed: None,
        })
    }

    /// What stops this process from another thread.
    pub fn killer(&self) -> Killer {
        Killer(Arc::clone(&self.watch))
    }

    /// A party number never used before in this process.
    pub fn new_party(&mut self) -> u64 {
        self.next_party += 1;
        self.next_party
    }

    /// The error every call returns once the shim has failed.
    pub fn failure(&self) -> Option<&Reject> {
        self.failed.as_ref()
    }

    /// Sends request `op` with `fields` and waits up to `budget` for its answer, giving the
    /// shim the random bytes it asks for on the way from `randomness` (the budget covers
    /// the asks too). A broken protocol stops the shim: this and every later call return
    /// the same refusal, whose detail starts with [`FAILED_PREFIX`].
    pub fn request(
        &mut self,
        op: &str,
        fields: Map<String, Value>,
        budget: Duration,
        mut randomness: Randomness<'_>,
    ) -> Result<(u64, Answer), Reject> {
        if let Some(failed) = &self.failed {
            return Err(failed.clone());
        }
        let id = self.next_id;
        self.next_id += 1;
        let mut request = Map::with_capacity(fields.len() + 2);
        request.insert("id".into(), Value::from(id));
        request.insert("op".into(), Value::from(op));
        request.extend(fields);
        let line = match serde_json::to_vec(&Value::Object(request)) {
            Ok(l) => l,
            Err(e) => {
                return Err(self.fail(FailureKind::Io, id, op, format!("cannot encode: {e}")))
            }
        };
        self.watch.begin(budget);
        let mut drawn = 0u64;
        let mut outgoing = line;
        loop {
            let read = self.send_and_read(&mut outgoing);
            let line = match self.check_read(read, id, op, budget) {
                Ok(()) => std::mem::take(&mut self.line),
                Err(reject) => {
                    self.watch.end();
                    return Err(reject);
                }
            };
            let parsed = parse_line(&line, id);
            self.line = line;
            match parsed {
                Ok(Line::Answer(answer)) => {
                    if self.watch.end() || self.watch.fired.load(Ordering::SeqCst) {
                        return Err(self.hang(id, op, budget));
                    }
                    return Ok((id, answer));
                }
                Ok(Line::Ask(count)) => match ask(&count, &mut drawn, &mut randomness, op) {
                    Ok(bytes) => {
                        let mut answer = Map::with_capacity(2);
                        answer.insert("id".into(), Value::from(id));
                        answer.insert("random".into(), Value::String(hex::encode(bytes)));
                        outgoing = match serde_json::to_vec(&Value::Object(answer)) {
                            Ok(l) => l,
                            Err(e) => {
                                self.watch.end();
                                let problem = format!("cannot encode: {e}");
                                return Err(self.fail(FailureKind::Io, id, op, problem));
                            }
                        };
                    }
                    Err(problem) => {
                        self.watch.end();
                        return Err(self.fail(FailureKind::BadRandom, id, op, problem));
                    }
                },
                Err((kind, problem)) => {
                    self.watch.end();
                    return Err(self.fail(kind, id, op, problem));
                }
            }
        }
    }

    /// Writes `line` (and a newline) to the shim unless it is empty, then reads its next
    /// line into `self.line`.
    fn send_and_read(&mut self, line: &mut Vec<u8>) -> io::Result<Option<bool>> {
        if !line.is_empty() {
            line.push(b'\n');
            let written = match self.stdin.as_mut() {
                Some(w) => w.write_all(line).and_then(|()| w.flush()),
                None => Err(io::Error::new(io::ErrorKind::BrokenPipe, "stdin closed")),
            };
            line.clear();
            written?;
        }
        read_bounded(&mut self.stdout, &mut self.line, MAX_LINE, true)
    }

    /// The failure a read of request `id` (`op`) shows, if any: a hang (the watchdog
    /// fired), an oversized line, the shim's exit, a broken pipe.
    fn check_read(
        &mut self,
        read: io::Result<Option<bool>>,
        id: u64,
        op: &str,
        budget: Duration,
    ) -> Result<(), Reject> {
        if self.watch.fired.load(Ordering::SeqCst) {
            return Err(self.hang(id, op, budget));
        }
        match read {
            Ok(Some(false)) => Ok(()),
            Ok(Some(true)) => Err(self.fail(
                FailureKind::Oversized,
                id,
                op,
                format!("it wrote a line longer than {MAX_LINE} bytes"),
            )),
            Ok(None) => {
                let status = self.exit_status(Duration::from_millis(1000));
                Err(self.fail(
                    FailureKind::Exited,
                    id,
                    op,
                    format!("it exited ({status}) without answering"),
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                let status = self.exit_status(Duration::from_millis(1000));
                Err(self.fail(
                    FailureKind::Exited,
                    id,
                    op,
                    format!("it exited ({status}) before taking the request"),
                ))
            }
            Err(e) => Err(self.fail(FailureKind::Io, id, op, format!("cannot talk to it: {e}"))),
        }
    }

    fn hang(&mut self, id: u64, op: &str, budget: Duration) -> Reject {
        self.fail(
            FailureKind::Hang,
            id,
            op,
            format!("no answer within {} ms; it was stopped", budget.as_millis()),
        )
    }

    /// Stops the shim for good because request `id` (`op`) went wrong; the refusal every
    /// later call returns, with the tail of its stderr.
    pub fn fail(&mut self, kind: FailureKind, id: u64, op: &str, problem: String) -> Reject {
        self.watch.closed.store(true, Ordering::SeqCst);
        if let Ok(mut child) = self.watch.child.lock() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.stdin = None;
        let tail = self.tail.text(Duration::from_millis(500));
        let tail = if tail.is_empty() {
            "its stderr was empty".to_string()
        } else {
            format!("the last lines of its stderr:\n{tail}")
        };
        let reject = Reject::new(
            RejectClass::Other,
            format!(
                "{FAILED_PREFIX}{}: {}: request {id} ({op}): {problem}; {tail}",
                kind.name(),
                self.label
            ),
        );
        self.failed = Some(reject.clone());
        reject
    }

    /// How the child ended, waiting up to `wait` for it; killed if it is still running.
    fn exit_status(&mut self, wait: Duration) -> String {
        let until = Instant::now() + wait;
        loop {
            let polled = match self.watch.child.lock() {
                Ok(mut child) => child.try_wait(),
                Err(_) => return "status unknown".into(),
            };
            match polled {
                Ok(Some(status)) => return status.to_string(),
                Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(5)),
                Ok(None) => return "its stdout closed while it kept running".into(),
                Err(e) => return format!("status unknown: {e}"),
            }
        }
    }
}

impl Drop for Process {
    /// Closes stdin (a shim exits then), gives it a moment, and kills it if it lingers.
    fn drop(&mut self) {
        self.watch.closed.store(true, Ordering::SeqCst);
        self.stdin = None;
        let Ok(mut child) = self.watch.child.lock() else {
            return;
        };
        let until = Instant::now() + Duration::from_millis(200);
        while Instant::now() < until {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// The bytes for one ask of `count` random bytes during request `op`, `drawn` bytes having
/// been given already; or why the ask breaks the protocol.
fn ask(
    count: &Value,
    drawn: &mut u64,
    randomness: &mut Randomness<'_>,
    op: &str,
) -> Result<Vec<u8>, String> {
    let n = count
        .as_u64()
        .filter(|n| (1..=MAX_RANDOM_ASK).contains(n))
        .ok_or_else(|| {
            format!(
                "it asked for {count} random bytes, expected an integer from 1 to {MAX_RANDOM_ASK}"
            )
        })?;
    let rng = match randomness {
        Randomness::Party(rng) => rng,
        Randomness::Refused(why) => {
            return Err(format!(
                "it asked for {n} random bytes during {op}, which may not ask: {why}"
            ))
        }
    };
    if *drawn + n > MAX_RANDOM_PER_REQUEST {
        return Err(format!(
            "it asked for {n} random bytes after {drawn} in the same request, more than the {MAX_RANDOM_PER_REQUEST} one request may take"
        ));
    }
    *drawn += n;
    let mut bytes = vec![0u8; usize::try_from(n).map_err(|e| e.to_string())?];
    rng.fill_bytes(&mut bytes);
    Ok(bytes)
}

/// The line in `bytes` written during request `id`: its answer, or an ask for random bytes
/// (an object with `"random"` and none of the answer shapes); or what is wrong with it.
fn parse_line(bytes: &[u8], id: u64) -> Result<Line, (FailureKind, String)> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        (
            FailureKind::Garbage,
            format!("it wrote a line that is not JSON ({e}): {}", preview(bytes)),
        )
    })?;
    let ask = match &value {
        Value::Object(map) => map
            .get("random")
            .filter(|_| {
                !["ok", "err", "unimplemented"]
                    .iter()
                    .any(|k| map.contains_key(*k))
            })
            .map(|n| (map.get("id").cloned(), n.clone())),
        _ => None,
    };
    match ask {
        Some((Some(got), count)) if got.as_u64() == Some(id) => Ok(Line::Ask(count)),
        Some((Some(got), _)) => Err((
            FailureKind::WrongId,
            format!("it asked for random bytes with id {got}, expected {id}"),
        )),
        Some((None, _)) => Err((
            FailureKind::WrongId,
            format!(
                "its ask for random bytes has no \"id\" (expected {id}): {}",
                preview(bytes)
            ),
        )),
        None => answer_of(value, bytes, id).map(Line::Answer),
    }
}

/// The start of a line, for messages.
fn preview(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let cut: String = text.chars().take(120).collect();
    if cut.len() < text.len() {
        format!("{cut:?}... ({} bytes)", bytes.len())
    } else {
        format!("{cut:?}")
    }
}

/// The answer in `bytes` to request `id`, or what is wrong with it.
#[cfg(test)]
fn parse_answer(bytes: &[u8], id: u64) -> Result<Answer, (FailureKind, String)> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        (
            FailureKind::Garbage,
            format!("it wrote a line that is not JSON ({e}): {}", preview(bytes)),
        )
    })?;
    answer_of(value, bytes, id)
}

/// The answer `value` (the line `bytes`) to request `id`, or what is wrong with it.
fn answer_of(value: Value, bytes: &[u8], id: u64) -> Result<Answer, (FailureKind, String)> {
    let preview = || preview(bytes);
    let Value::Object(mut answer) = value else {
        return Err((
            FailureKind::BadAnswer,
            format!("it answered with JSON that is not an object: {}", preview()),
        ));
    };
    match answer.get("id") {
        Some(got) if got.as_u64() == Some(id) => {}
        Some(got) => {
            return Err((
                FailureKind::WrongId,
                format!("it answered with id {got}, expected {id}"),
            ))
        }
        None => {
            return Err((
                FailureKind::WrongId,
                format!("its answer has no \"id\" (expected {id}): {}", preview()),
            ))
        }
    }
    let shapes = ["ok", "err", "unimplemented"];
    let present: Vec<&str> = shapes
        .into_iter()
        .filter(|k| answer.contains_key(*k))
        .collect();
    let bad = |problem: String| Err((FailureKind::BadAnswer, problem));
    match (
        present.as_slice(),
        answer.remove("ok"),
        answer.remove("err"),
        answer.remove("unimplemented"),
    ) {
        (["ok"], Some(Value::Object(ok)), _, _) => Ok(Answer::Ok(ok)),
        (["ok"], Some(other), _, _) => bad(format!("its \"ok\" is not an object: {other}")),
        (["err"], _, Some(Value::Object(err)), _) => {
            refusal(&err, "err.").map(Answer::Refused).or_else(bad)
        }
        (["err"], _, Some(other), _) => bad(format!("its \"err\" is not an object: {other}")),
        (["unimplemented"], _, _, Some(Value::String(why))) => Ok(Answer::Unimplemented(why)),
        (["unimplemented"], _, _, Some(other)) => {
            bad(format!("its \"unimplemented\" is not a string: {other}"))
        }
        _ => bad(format!(
            "its answer holds {} of \"ok\", \"err\", \"unimplemented\" (exactly one expected): {}",
            present.len(),
            preview()
        )),
    }
}

/// The refusal an error object at `path` in an answer holds (`{"class": ..., "detail":
/// ...}`, as an `err` answer's `err`), or what is wrong with it, naming the field.
pub(crate) fn refusal(err: &Map<String, Value>, path: &str) -> Result<Reject, String> {
    let class = err.get("class").and_then(Value::as_str).unwrap_or_default();
    let Some(class) = class_named(class) else {
        return Err(format!(
            "its \"{path}class\" is {}, expected one of {}",
            err.get("class")
                .map_or_else(|| "missing".into(), Value::to_string),
            CLASSES
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    let Some(detail) = err.get("detail").and_then(Value::as_str) else {
        return Err(format!("its \"{path}detail\" is missing or not a string"));
    };
    // A shim cannot make its refusal look like the bench's own failure report.
    let detail = if detail.starts_with(FAILED_PREFIX) {
        format!("(the shim said) {detail}")
    } else {
        detail.to_string()
    };
    Ok(Reject::new(class, detail))
}

/// The protocol's class names.
const CLASSES: [(&str, RejectClass); 7] = [
    ("auth", RejectClass::Auth),
    ("replay", RejectClass::Replay),
    ("too-far-ahead", RejectClass::TooFarAhead),
    ("malformed", RejectClass::Malformed),
    ("storage-full", RejectClass::StorageFull),
    ("unknown-session", RejectClass::UnknownSession),
    ("other", RejectClass::Other),
];

fn class_named(name: &str) -> Option<RejectClass> {
    CLASSES.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_reading_splits_lines_and_flags_long_ones() {
        let mut r = BufReader::with_capacity(4, &b"ab\n0123456789\nlast"[..]);
        let mut out = Vec::new();
        assert_eq!(
            read_bounded(&mut r, &mut out, 5, false).unwrap(),
            Some(false)
        );
        assert_eq!(out, b"ab");
        assert_eq!(
            read_bounded(&mut r, &mut out, 5, false).unwrap(),
            Some(true)
        );
        assert_eq!(out, b"01234");
        assert_eq!(
            read_bounded(&mut r, &mut out, 5, false).unwrap(),
            Some(false)
        );
        assert_eq!(out, b"last");
        assert_eq!(read_bounded(&mut r, &mut out, 5, false).unwrap(), None);
    }

    #[test]
    fn asks_are_told_from_answers_and_bounded() {
        assert!(matches!(
            parse_line(br#"{"id":3,"random":32}"#, 3),
            Ok(Line::Ask(n)) if n == 32
        ));
        assert!(matches!(
            parse_line(br#"{"id":3,"ok":{}}"#, 3),
            Ok(Line::Answer(Answer::Ok(_)))
        ));
        let wrong = parse_line(br#"{"id":2,"random":32}"#, 3).err().unwrap();
        assert_eq!(
            wrong,
            (
                FailureKind::WrongId,
                "it asked for random bytes with id 2, expected 3".into()
            )
        );
        let mut rng = ratchet_bench_core::rng::stream(1, "ask");
        let mut drawn = 0;
        let mut from = Randomness::Party(&mut rng);
        assert_eq!(
            ask(&Value::from(4096), &mut drawn, &mut from, "encrypt")
                .unwrap()
                .len(),
            4096
        );
        assert!(ask(&Value::from(0), &mut drawn, &mut from, "encrypt")
            .unwrap_err()
            .contains("expected an integer from 1 to 4096"));
        assert!(ask(&Value::from(-1), &mut drawn, &mut from, "encrypt").is_err());
        assert!(ask(&Value::from("32"), &mut drawn, &mut from, "encrypt").is_err());
        for _ in 1..16 {
            ask(&Value::from(4096), &mut drawn, &mut from, "encrypt").unwrap();
        }
        assert_eq!(drawn, MAX_RANDOM_PER_REQUEST);
        assert!(ask(&Value::from(1), &mut drawn, &mut from, "encrypt")
            .unwrap_err()
            .contains("more than the 65536"));
        let mut refused = Randomness::Refused("no party");
        assert_eq!(
            ask(&Value::from(1), &mut 0, &mut refused, "layout").unwrap_err(),
            "it asked for 1 random bytes during layout, which may not ask: no party"
        );
    }

    #[test]
    fn answers_are_checked_against_the_protocol() {
        let ok = |s: &str| parse_answer(s.as_bytes(), 3);
        assert!(matches!(
            ok(r#"{"id":3,"ok":{"wire":"00"}}"#),
            Ok(Answer::Ok(_))
        ));
        match ok(r#"{"id":3,"err":{"class":"replay","detail":"old key"}}"#) {
            Ok(Answer::Refused(r)) => assert_eq!(r, Reject::new(RejectClass::Replay, "old key")),
            _ => panic!("an err answer should be a refusal"),
        }
        assert!(matches!(
            ok(r#"{"id":3,"unimplemented":"no"}"#),
            Ok(Answer::Unimplemented(_))
        ));
        let kind = |s: &str| ok(s).err().unwrap();
        assert_eq!(kind("hello").0, FailureKind::Garbage);
        assert_eq!(
            kind(r#"{"id":4,"ok":{}}"#),
            (
                FailureKind::WrongId,
                "it answered with id 4, expected 3".into()
            )
        );
        assert_eq!(kind(r#"{"ok":{}}"#).0, FailureKind::WrongId);
        assert_eq!(kind(r#"[3]"#).0, FailureKind::BadAnswer);
        assert!(kind(r#"{"id":3,"err":{"class":"nope","detail":""}}"#)
            .1
            .contains("\"err.class\" is \"nope\""));
        assert!(kind(r#"{"id":3,"ok":{},"err":{}}"#)
            .1
            .contains("holds 2 of"));
        assert!(kind(r#"{"id":3}"#).1.contains("holds 0 of"));
        match ok(r#"{"id":3,"err":{"class":"other","detail":"shim-failed/hang: x"}}"#) {
            Ok(Answer::Refused(r)) => assert!(!r.detail.starts_with(FAILED_PREFIX)),
            _ => panic!("an err answer should be a refusal"),
        }
    }
}
