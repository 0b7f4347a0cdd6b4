//! The shim host: peers in other processes, in any language, speaking the JSON-lines shim
//! protocol (`shims/PROTOCOL.md`, version 1).
//!
//! A shim's processes (its command started once, and again while several threads use it
//! at once, module `pool`) serve every party of the peers its hello declares; each process sits
//! behind a mutex shared by the [`ShimPeer`]s and the [`ShimParty`]s built on it, and parties
//! are numbered by the bench. Every request has a time budget. When a shim's process breaks
//! the protocol (it exits, hangs, writes garbage, answers with the wrong id, writes an
//! oversized line) it is stopped, and every later call to the parties it held returns the
//! same refusal at once, whose detail starts with [`process::FAILED_PREFIX`];
//! [`failure_kind`] recognises it so that the campaign reports a `shim-failed` finding with
//! the shim's stderr tail and carries on. Later sessions get a new process, up to
//! [`MAX_RESTARTS`] times per shim; the failure after that stops the whole shim.
//!
//! Where the shim takes them up, the optional features of [`features`] save round trips: a
//! jump's lost messages go in batches (module `batch`), and layouts come with the wire
//! bytes (module `layouts`).

mod batch;
pub mod command;
pub mod features;
pub mod hello;
mod layouts;
mod pool;
pub mod process;
pub mod stats;

use features::{Features, MAX_BATCH, WIRE_LAYOUT};
use layouts::LayoutCache;
pub use pool::MAX_RESTARTS;
use pool::{usual, Member, Pool, PoolOptions, NO_PARTY};
pub use process::{Randomness, MAX_RANDOM_ASK, MAX_RANDOM_PER_REQUEST};
use ratchet_bench_core::codec::Codec;
use ratchet_bench_core::peer::{
    BoxRng, Capabilities, Party, Peer, PeerInfo, Reject, SessionInit, WireLayout,
};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use ratchet_bench_core::peer::FAILED_PREFIX;

/// The peers file `--peers all` reads unless told otherwise, relative to the working
/// directory (the repository root).
pub const DEFAULT_SHIMS_FILE: &str = "shims/shims.json";

/// The per-request budget unless told otherwise (the protocol's default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The hello's budget: interpreters and native libraries take a while to load.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(30);

/// What sets up the shims of a command: where the peers file is, each request's budget,
/// how many processes a shim may run, and whether to offer the features that batch requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShimOptions {
    /// The peers file (`--shims`).
    pub shims_file: PathBuf,
    /// The budget of every request but the hello (`--shim-timeout-ms`); a peers file entry's
    /// `timeout_ms` raises it for that shim.
    pub timeout: Duration,
    /// The hello's budget ([`HELLO_TIMEOUT`]; tests shorten it).
    pub hello_timeout: Duration,
    /// The most processes of one shim: one starts at once, another each time a thread uses
    /// the shim while every running one is taken by another thread (a campaign's workers).
    /// Default: the machine's parallelism. The results do not depend on it.
    pub processes: usize,
    /// Offer `encrypt_many` and `wire_layout` (default); `false` makes every shim run as one
    /// written before them (the benches compare the two).
    pub batching: bool,
}

impl Default for ShimOptions {
    fn default() -> Self {
        ShimOptions {
            shims_file: PathBuf::from(DEFAULT_SHIMS_FILE),
            timeout: DEFAULT_TIMEOUT,
            hello_timeout: HELLO_TIMEOUT,
            processes: std::thread::available_parallelism().map_or(1, |n| n.get()),
            batching: true,
        }
    }
}

/// One shim to start: its name and command line, and its request budget if it needs more
/// than the default.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShimSpec {
    /// The name the bench gives its peers (`NAME`, or `NAME-FAMILY` when it serves several).
    pub name: String,
    /// The command line, split like a shell would for simple cases.
    pub command: String,
    /// The budget of each of its requests but the hello, in milliseconds, where the
    /// implementation is known to be slower than `--shim-timeout-ms` allows (its README
    /// says why); the larger of the two applies.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

impl ShimSpec {
    /// The shim `name` run by `command`, with the default budget.
    pub fn new(name: impl Into<String>, command: impl Into<String>) -> ShimSpec {
        ShimSpec {
            name: name.into(),
            command: command.into(),
            timeout_ms: None,
        }
    }

    /// The budget of each of its requests but the hello: `timeout` (`--shim-timeout-ms`),
    /// or its own `timeout_ms` if larger.
    pub fn budget(&self, timeout: Duration) -> Duration {
        self.timeout_ms
            .map_or(timeout, |ms| timeout.max(Duration::from_millis(ms)))
    }

    /// Parses `NAME=COMMAND` (what follows `shim:` in `--peer shim:NAME=COMMAND`).
    pub fn parse(spec: &str) -> Result<ShimSpec, String> {
        let (name, command) = spec.split_once('=').ok_or_else(|| {
            format!("--peer shim:{spec}: expected shim:NAME=COMMAND (no '=' found)")
        })?;
        let spec = ShimSpec::new(name.trim(), command.trim());
        spec.check()?;
        Ok(spec)
    }

    fn check(&self) -> Result<(), String> {
        let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        let (base, version) = split_version(&self.name);
        if base.is_empty()
            || !base.chars().all(ok)
            || version.is_some_and(|v| v.is_empty() || !v.chars().all(ok))
        {
            return Err(format!(
                "shim name {:?}: expected letters, digits, '-', '_' or '.', and optionally @ and a version of the same",
                self.name
            ));
        }
        if self.timeout_ms == Some(0) {
            return Err(format!(
                "shim {:?}: timeout_ms must be at least 1 (leave it out for the default)",
                self.name
            ));
        }
        command::split(&self.command)
            .map(|_| ())
            .map_err(|e| format!("shim {:?}: {e}", self.name))
    }
}

/// A peer name's base and its version: `libsignal@0.72` is `libsignal` at `0.72`.
pub fn split_version(name: &str) -> (&str, Option<&str>) {
    match name.split_once('@') {
        Some((base, version)) => (base, Some(version)),
        None => (name, None),
    }
}

/// The name of the peer of `family` served by the shim `shim` among several: `NAME-FAMILY`,
/// with the version kept last (`NAME-FAMILY@VERSION`).
pub fn peer_name(shim: &str, family: &str) -> String {
    match split_version(shim) {
        (base, Some(version)) => format!("{base}-{family}@{version}"),
        (base, None) => format!("{base}-{family}"),
    }
}

/// Whether `name` names one peer of a several-family shim called `shim` ([`peer_name`] for
/// some family, built in or declared).
fn names_a_peer_of(name: &str, shim: &str) -> bool {
    let (base, version) = split_version(shim);
    let (name_base, name_version) = split_version(name);
    version == name_version
        && name_base
            .strip_prefix(base)
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|family| !family.is_empty())
}

/// Reads a peers file: a JSON list of `{"name": ..., "command": ...}`.
pub fn load_shims_file(path: &Path) -> Result<Vec<ShimSpec>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "peers file {}: cannot read: {e} (run from the repository root, or pass --shims FILE)",
            path.display()
        )
    })?;
    let mut de = serde_json::Deserializer::from_str(&text);
    let specs: Vec<ShimSpec> = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        format!(
            "peers file {}: at {}: {}",
            path.display(),
            e.path(),
            e.inner()
        )
    })?;
    for (i, s) in specs.iter().enumerate() {
        s.check()
            .map_err(|e| format!("peers file {}: entry {i}: {e}", path.display()))?;
        if specs.iter().take(i).any(|t| t.name == s.name) {
            return Err(format!(
                "peers file {}: entry {i}: the name {:?} is listed twice",
                path.display(),
                s.name
            ));
        }
    }
    Ok(specs)
}

/// The failure kind (`exited`, `hang`, `garbage`, `wrong-id`, `oversized`, `bad-answer`,
/// `io`) if `reject` is the refusal of a shim that broke the protocol, rather than an
/// answer of the implementation ([`Reject::failure_kind`]).
pub fn failure_kind(reject: &Reject) -> Option<&str> {
    reject.failure_kind()
}

fn hex_value(bytes: &[u8]) -> Value {
    Value::String(hex::encode(bytes))
}

fn hex_field(ok: &Map<String, Value>, key: &str) -> Result<Vec<u8>, String> {
    match ok.get(key) {
        Some(Value::String(s)) => {
            hex::decode(s).map_err(|e| format!("its \"ok.{key}\" is not hex: {e}"))
        }
        Some(other) => Err(format!("its \"ok.{key}\" is not a hex string: {other}")),
        None => Err(format!("its \"ok.{key}\" is missing")),
    }
}

/// The `seed` field of a request that builds a party, for a peer without `host_rng`. A
/// peer with it gets none: drawing the seed would shift the party's stream, whose bytes
/// the shim asks for instead.
fn seed(rng: &mut BoxRng, host_rng: bool) -> Option<(&'static str, Value)> {
    if host_rng {
        return None;
    }
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    Some(("seed", hex_value(&seed)))
}

fn fields<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// What a shim peer and its parties share.
struct Core {
    info: PeerInfo,
    /// Its index in the hello's `peers`, which requests name it by.
    index: usize,
    /// Its hello declared `host_rng`: its parties ask for their random bytes.
    host_rng: bool,
    pool: Arc<Pool>,
    /// Set once the shim answered `layout` with `unimplemented`: not asked again.
    no_layout: AtomicBool,
    /// Layouts the shim already gave.
    layouts: Mutex<LayoutCache>,
}

impl Core {
    /// Remembers the layout of a message that may be asked about again.
    fn keep_layout(&self, wire: &[u8], layout: WireLayout) {
        if let Ok(mut cache) = self.layouts.lock() {
            cache.keep(wire, layout);
        }
    }
}

/// A peer served by a shim.
pub struct ShimPeer {
    core: Arc<Core>,
}

impl std::fmt::Debug for ShimPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShimPeer")
            .field("name", &self.core.info.name)
            .field("index", &self.core.index)
            .finish_non_exhaustive()
    }
}

/// Starts `spec`'s first process, checks its hello, and returns its peers, named `NAME`
/// when it serves one and `NAME-FAMILY` when it serves several. More processes of the same
/// command start when several threads use the peers at once, up to `opts.processes`.
pub fn start(spec: &ShimSpec, opts: &ShimOptions) -> Result<Vec<Box<dyn Peer>>, String> {
    spec.check()?;
    let label = format!("shim {:?} ({})", spec.name, spec.command);
    let argv = command::split(&spec.command).map_err(|e| format!("{label}: {e}"))?;
    let offered = if opts.batching {
        Features::ALL
    } else {
        Features::default()
    };
    let pool = Pool::start(
        label,
        argv,
        PoolOptions {
            offered,
            max: opts.processes,
            timeout: spec.budget(opts.timeout),
            hello_timeout: opts.hello_timeout,
        },
        stats::register(&spec.name),
    )?;
    let hello = &pool.hello;
    let several = hello.peers.len() > 1;
    Ok(hello
        .peers
        .iter()
        .enumerate()
        .map(|(index, d)| {
            let name = if several {
                peer_name(&spec.name, d.family.name())
            } else {
                spec.name.clone()
            };
            Box::new(ShimPeer {
                core: Arc::new(Core {
                    info: PeerInfo {
                        name,
                        version: format!("{} {}", hello.implementation, hello.version),
                        family: d.family,
                        limits: d.limits,
                        capabilities: d.capabilities,
                        weakened: d.weakened.clone(),
                    },
                    index,
                    host_rng: d.host_rng,
                    pool: Arc::clone(&pool),
                    no_layout: AtomicBool::new(false),
                    layouts: Mutex::new(LayoutCache::default()),
                }),
            }) as Box<dyn Peer>
        })
        .collect())
}

impl ShimPeer {
    /// The party `number` on `member`, keeping `rng` for its later asks when the peer has
    /// `host_rng`.
    fn party(&self, number: u64, member: Arc<Member>, rng: BoxRng) -> Box<dyn Party> {
        Box::new(ShimParty {
            number,
            member,
            core: Arc::clone(&self.core),
            rng: self.core.host_rng.then_some(rng),
        })
    }

    /// Where a request building a party takes the random bytes its shim asks for.
    fn randomness<'a>(&self, rng: &'a mut BoxRng) -> Randomness<'a> {
        if self.core.host_rng {
            Randomness::Party(rng)
        } else {
            Randomness::Refused(NOT_DECLARED)
        }
    }

    /// Builds party `op` (`respond`, `initiate`, `restore`) from `request` on the calling
    /// thread's process, reading the answer's `ok` with `read`.
    fn build<T>(
        &self,
        op: &'static str,
        mut request: Map<String, Value>,
        mut rng: BoxRng,
        read: impl FnOnce(&Map<String, Value>) -> Result<T, String>,
    ) -> Result<(Box<dyn Party>, T), Reject> {
        let pool = &self.core.pool;
        let member = pool.member()?;
        let number = pool.new_party(&member)?;
        request.insert("peer".into(), Value::from(self.core.index));
        request.insert("party".into(), Value::from(number));
        request.extend(seed(&mut rng, self.core.host_rng).map(|(k, v)| (k.to_string(), v)));
        let built = pool.call(&member, op, 0, request, self.randomness(&mut rng), |a| {
            usual(op, a, read)
        })?;
        Ok((self.party(number, member, rng), built))
    }
}

impl Peer for ShimPeer {
    fn out_of_process(&self) -> bool {
        true
    }

    fn info(&self) -> PeerInfo {
        self.core.info.clone()
    }

    fn respond(
        &self,
        init: &SessionInit,
        rng: BoxRng,
    ) -> Result<(Box<dyn Party>, Vec<u8>), Reject> {
        let request = fields([("shared_secret", hex_value(&init.shared_secret))]);
        self.build("respond", request, rng, |ok| hex_field(ok, "bundle"))
    }

    fn initiate(
        &self,
        init: &SessionInit,
        bundle: &[u8],
        rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        let request = fields([
            ("shared_secret", hex_value(&init.shared_secret)),
            ("bundle", hex_value(bundle)),
        ]);
        self.build("initiate", request, rng, |_| Ok(()))
            .map(|(party, ())| party)
    }

    fn layout(&self, wire: &[u8]) -> WireLayout {
        let whole = WireLayout {
            body: 0..wire.len(),
            ..WireLayout::default()
        };
        let core = &self.core;
        if let Some(known) = core.layouts.lock().ok().and_then(|mut c| c.get(wire)) {
            return known;
        }
        if core.no_layout.load(Ordering::Relaxed) {
            return whole;
        }
        let Ok(member) = core.pool.member() else {
            return whole;
        };
        let request = fields([("peer", Value::from(core.index)), ("wire", hex_value(wire))]);
        let answer = core.pool.call(
            &member,
            "layout",
            0,
            request,
            Randomness::Refused(NO_PARTY),
            |a| usual("layout", a, |ok| layouts::parse(ok, "ok.")),
        );
        match answer {
            Ok(layout) => {
                core.keep_layout(wire, layout.clone());
                layout
            }
            Err(r) => {
                if r.detail.starts_with("unimplemented:") {
                    core.no_layout.store(true, Ordering::Relaxed);
                }
                whole
            }
        }
    }

    fn codec(&self) -> Option<&'static dyn Codec> {
        ratchet_bench_references::codec::for_family(self.core.info.family.name())
    }

    fn restore(&self, state: &[u8], rng: BoxRng) -> Result<Box<dyn Party>, Reject> {
        let request = fields([("state", hex_value(state))]);
        self.build("restore", request, rng, |_| Ok(()))
            .map(|(party, ())| party)
            .map_err(|r| disagree(r, self.core.info.capabilities))
    }
}

/// Says so when a shim answers `unimplemented` to export or restore although its hello
/// declared `export_state`.
fn disagree(reject: Reject, caps: Capabilities) -> Reject {
    if caps.export_state && reject.detail.starts_with("unimplemented:") {
        Reject::new(
            reject.class,
            format!(
                "{} (although its hello declared export_state: true)",
                reject.detail
            ),
        )
    } else {
        reject
    }
}

/// Why a peer whose hello did not declare `host_rng` may not ask for random bytes.
const NOT_DECLARED: &str = "its hello did not declare host_rng for this peer";

/// One party living in a shim process, named there by its number.
pub struct ShimParty {
    number: u64,
    /// The process it lives on.
    member: Arc<Member>,
    core: Arc<Core>,
    /// The party's generator, kept for its whole life when its peer has `host_rng`: the
    /// bytes the shim asks for while handling a request about this party come from it.
    rng: Option<BoxRng>,
}

impl std::fmt::Debug for ShimParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShimParty")
            .field("number", &self.number)
            .finish_non_exhaustive()
    }
}

impl ShimParty {
    fn with(&self, more: Map<String, Value>) -> Map<String, Value> {
        let mut fields = fields([("party", Value::from(self.number))]);
        fields.extend(more);
        fields
    }

    /// Where a request about this party takes the random bytes its shim asks for.
    fn randomness(rng: &mut Option<BoxRng>) -> Randomness<'_> {
        match rng {
            Some(rng) => Randomness::Party(rng),
            None => Randomness::Refused(NOT_DECLARED),
        }
    }

    /// Sends `op` about this party, reading the answer the usual way with `read_ok`.
    fn call<T>(
        &mut self,
        op: &'static str,
        more: Map<String, Value>,
        read_ok: impl FnOnce(&Map<String, Value>) -> Result<T, String>,
    ) -> Result<T, Reject> {
        let request = self.with(more);
        let randomness = Self::randomness(&mut self.rng);
        self.core
            .pool
            .call(&self.member, op, 0, request, randomness, |a| {
                usual(op, a, read_ok)
            })
    }

    /// One `encrypt_many` request of `count` encryptions (at most [`MAX_BATCH`]): the wires
    /// made, and the refusal that stopped the batch, if one did. A broken answer stops the
    /// shim; its failure is then the refusal.
    fn batch(&mut self, ad: &[u8], plaintext: &[u8], count: u32) -> (Vec<Vec<u8>>, Option<Reject>) {
        let request = self.with(fields([
            ("ad", hex_value(ad)),
            ("plaintext", hex_value(plaintext)),
            ("count", Value::from(count)),
        ]));
        let randomness = Self::randomness(&mut self.rng);
        let with_layouts = self.core.pool.features.wire_layout;
        let core = &self.core;
        let answer = core.pool.call(
            &self.member,
            "encrypt_many",
            u64::from(count),
            request,
            randomness,
            |answer| batch::read(answer, count, with_layouts),
        );
        match answer {
            Ok(batch) => {
                if let Ok(mut cache) = core.layouts.lock() {
                    for (wire, layout) in batch.wires.iter().zip(batch.layouts) {
                        cache.once(wire.clone(), layout);
                    }
                }
                (batch.wires, batch.refused)
            }
            Err(failed) => (Vec::new(), Some(failed)),
        }
    }
}

impl Party for ShimParty {
    fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
        let more = fields([("ad", hex_value(ad)), ("plaintext", hex_value(plaintext))]);
        let with_layout = self.core.pool.features.wire_layout;
        let (wire, layout) = self.call("encrypt", more, |ok| {
            let wire = hex_field(ok, "wire")?;
            let layout = match ok.get("layout") {
                Some(l) if with_layout => Some(layouts::parse_value(l, "ok.layout")?),
                None if with_layout => {
                    return Err(format!(
                        "its \"ok.layout\" is missing, although it took up {WIRE_LAYOUT}"
                    ))
                }
                _ => None,
            };
            Ok((wire, layout))
        })?;
        if let Some(layout) = layout {
            self.core.keep_layout(&wire, layout);
        }
        Ok(wire)
    }

    fn encrypt_many(
        &mut self,
        ad: &[u8],
        plaintext: &[u8],
        count: u32,
    ) -> (Vec<Vec<u8>>, Option<Reject>) {
        let mut wires = Vec::with_capacity(count as usize);
        if !self.core.pool.features.encrypt_many {
            for _ in 0..count {
                match self.encrypt(ad, plaintext) {
                    Ok(wire) => wires.push(wire),
                    Err(refused) => return (wires, Some(refused)),
                }
            }
            return (wires, None);
        }
        let mut left = count;
        while left > 0 {
            let n = left.min(MAX_BATCH);
            let (made, refused) = self.batch(ad, plaintext, n);
            wires.extend(made);
            if refused.is_some() {
                return (wires, refused);
            }
            left -= n;
        }
        (wires, None)
    }

    fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject> {
        let more = fields([("ad", hex_value(ad)), ("wire", hex_value(wire))]);
        self.call("decrypt", more, |ok| hex_field(ok, "plaintext"))
    }

    fn handshake(&mut self) -> Result<Option<Vec<u8>>, Reject> {
        self.call("handshake", Map::new(), |ok| match ok.get("handshake") {
            None | Some(Value::Null) => Ok(None),
            Some(_) => hex_field(ok, "handshake").map(Some),
        })
    }

    fn join(&mut self, handshake: &[u8]) -> Result<(), Reject> {
        self.call(
            "join",
            fields([("handshake", hex_value(handshake))]),
            |_| Ok(()),
        )
    }

    fn export_state(&self) -> Result<Vec<u8>, Reject> {
        let request = self.with(Map::new());
        self.core
            .pool
            .call(
                &self.member,
                "export",
                0,
                request,
                Randomness::Refused("exporting a state draws no randomness"),
                |a| usual("export", a, |ok| hex_field(ok, "state")),
            )
            .map_err(|r| disagree(r, self.core.info.capabilities))
    }

    fn own_budget(&self) -> bool {
        true
    }

    fn publish(&mut self) -> Result<Vec<u8>, Reject> {
        self.call("publish", Map::new(), |ok| hex_field(ok, "bundle"))
    }

    fn renew(&mut self, bundle: &[u8]) -> Result<(), Reject> {
        self.call("renew", fields([("bundle", hex_value(bundle))]), |_| Ok(()))
    }
}

impl Drop for ShimParty {
    /// Tells the shim to forget the party; best effort (a failed shim is not asked).
    fn drop(&mut self) {
        if self.core.pool.failure().is_some() || self.member.failure().is_some() {
            return;
        }
        let request = self.with(Map::new());
        let _ = self.core.pool.call(
            &self.member,
            "drop",
            0,
            request,
            Randomness::Refused(NO_PARTY),
            |a| usual("drop", a, |_| Ok(())),
        );
    }
}

/// The `--peer` argument that selects the peer named `name` again in a reproducer command
/// ([`ratchet_bench_core::report::peer_arg`]).
pub fn peer_arg(name: &str) -> String {
    ratchet_bench_core::report::peer_arg(name)
}

/// The shims' peers started for a list of names, and the names left for the bundled peers.
pub type Selected = (Vec<Box<dyn Peer>>, Vec<String>);

/// How to install the shims of the peers file, for errors about a shim that cannot start.
pub const SETUP_HINT: &str = "ci/setup-shims installs the shims' dependencies";

/// Starts the shims named by `names` (`shim:NAME=COMMAND`, `all` for every shim of the peers
/// file, or a name listed in the peers file: `NAME`, or `NAME-FAMILY` for one peer of a shim
/// serving several). Names it does not handle are returned for the bundled peers.
pub fn select(names: &[String], opts: &ShimOptions) -> Result<Selected, String> {
    let mut started: Vec<Box<dyn Peer>> = Vec::new();
    let mut rest = Vec::new();
    let mut file: Option<Vec<ShimSpec>> = None;
    let listed = |file: &mut Option<Vec<ShimSpec>>| -> Result<Vec<ShimSpec>, String> {
        if file.is_none() {
            *file = Some(load_shims_file(&opts.shims_file)?);
        }
        Ok(file.clone().unwrap_or_default())
    };
    let from_file = |spec: &ShimSpec| {
        start(spec, opts).map_err(|e| {
            format!(
                "{e}\n(listed in {}: {SETUP_HINT}; run it from the repository root)",
                opts.shims_file.display()
            )
        })
    };
    // Shims of the peers file asked for by peer name: started once, filtered afterwards.
    let mut wanted: Vec<(ShimSpec, Vec<String>)> = Vec::new();
    for name in names {
        if name == "all" {
            for spec in listed(&mut file)? {
                started.extend(from_file(&spec)?);
            }
        } else if let Some(spec) = name.strip_prefix("shim:") {
            let peers = start(&ShimSpec::parse(spec)?, opts)?;
            for p in &peers {
                ratchet_bench_core::report::register_peer_arg(&p.info().name, name);
            }
            started.extend(peers);
        } else if crate::known().iter().any(|p| p.info().name == *name) {
            rest.push(name.clone());
        } else {
            let specs = if opts.shims_file.exists() {
                listed(&mut file)?
            } else {
                Vec::new()
            };
            let family_of = |s: &ShimSpec| names_a_peer_of(name, &s.name);
            let exact = specs.iter().find(|s| s.name == *name);
            match exact.or_else(|| specs.iter().find(|s| family_of(s))) {
                Some(spec) => match wanted.iter_mut().find(|(s, _)| s == spec) {
                    Some((_, names)) => names.push(name.clone()),
                    None => wanted.push((spec.clone(), vec![name.clone()])),
                },
                None => rest.push(name.clone()),
            }
        }
    }
    for (spec, names) in wanted {
        let peers = from_file(&spec)?;
        let all = names.contains(&spec.name);
        let served: Vec<String> = peers.iter().map(|p| p.info().name).collect();
        if let Some(missing) = names.iter().find(|n| !all && !served.contains(n)) {
            return Err(format!(
                "peer {missing:?}: the shim {:?} of {} serves no peer of that name (it serves {})",
                spec.name,
                opts.shims_file.display(),
                served.join(", ")
            ));
        }
        started.extend(
            peers
                .into_iter()
                .filter(|p| all || names.contains(&p.info().name)),
        );
    }
    let mut seen: Vec<String> = Vec::new();
    for p in &started {
        let name = p.info().name;
        if seen.contains(&name) || rest.contains(&name) {
            return Err(format!(
                "two peers are named {name:?}; give the shims other names"
            ));
        }
        seen.push(name);
    }
    Ok((started, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratchet_bench_core::peer::RejectClass;

    #[test]
    fn versioned_names_keep_the_version_last() {
        assert_eq!(split_version("libsignal@0.72"), ("libsignal", Some("0.72")));
        assert_eq!(split_version("libsignal"), ("libsignal", None));
        assert_eq!(peer_name("vodozemac@0.10", "olm"), "vodozemac-olm@0.10");
        assert_eq!(peer_name("python-olm", "megolm"), "python-olm-megolm");
        assert!(names_a_peer_of("vodozemac-olm@0.10", "vodozemac@0.10"));
        assert!(names_a_peer_of("python-olm-my-family", "python-olm"));
        assert!(!names_a_peer_of("vodozemac-olm@0.11", "vodozemac@0.10"));
        assert!(!names_a_peer_of("vodozemac-olm", "vodozemac@0.10"));
        assert!(!names_a_peer_of("python-olm-", "python-olm"));
        assert!(ShimSpec::parse("libsignal@0.72=node shim.js").is_ok());
        assert!(ShimSpec::parse("a@=node shim.js").is_err());
        assert!(ShimSpec::parse("a@b@c=node shim.js").is_err());
    }

    #[test]
    fn a_reproducer_names_an_ad_hoc_shim_by_its_argument() {
        assert_eq!(peer_arg("reference"), " --peer reference");
        ratchet_bench_core::report::register_peer_arg("mine-olm", "shim:mine=python3 'my shim.py'");
        assert_eq!(
            peer_arg("mine-olm"),
            r#" --peer 'shim:mine=python3 '\''my shim.py'\'''"#
        );
        // What a POSIX shell makes of it: the argument back, whole.
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf '%s\\n'{}", peer_arg("mine-olm")))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "--peer\nshim:mine=python3 'my shim.py'\n"
        );
    }

    #[test]
    fn specs_parse_and_name_their_errors() {
        let s = ShimSpec::parse("mine=python3 'a b.py' --echo").unwrap();
        assert_eq!(s.name, "mine");
        assert_eq!(s.command, "python3 'a b.py' --echo");
        assert!(ShimSpec::parse("mine")
            .unwrap_err()
            .contains("shim:NAME=COMMAND"));
        assert!(ShimSpec::parse("a b=x")
            .unwrap_err()
            .contains("shim name \"a b\""));
        assert!(ShimSpec::parse("m=").unwrap_err().contains("empty"));
        assert!(ShimSpec::parse("m='x")
            .unwrap_err()
            .contains("unterminated"));
    }

    #[test]
    fn a_failed_shims_refusal_is_told_from_an_answer() {
        let failed = Reject::new(
            RejectClass::Other,
            format!("{FAILED_PREFIX}hang: shim \"x\" (y): request 3 (encrypt): no answer"),
        );
        assert_eq!(failure_kind(&failed), Some("hang"));
        let answer = Reject::new(RejectClass::Other, "hang: it said so");
        assert_eq!(failure_kind(&answer), None);
        let auth = Reject::new(RejectClass::Auth, failed.detail.clone());
        assert_eq!(failure_kind(&auth), None);
    }

    #[test]
    fn a_missing_peers_file_says_what_to_do() {
        let e = load_shims_file(Path::new("no/such/shims.json")).unwrap_err();
        assert!(
            e.contains("no/such/shims.json") && e.contains("--shims FILE"),
            "{e}"
        );
    }
}
