//! The shim host: peers in other processes, in any language, speaking the JSON-lines shim
//! protocol (`shims/PROTOCOL.md`, version 1).
//!
//! One child process serves every party of the peers its hello declares: the process sits
//! behind a mutex shared by the [`ShimPeer`]s and their [`ShimParty`]s, and parties are
//! numbered by the bench. Every request has a time budget. When a shim breaks the protocol
//! (it exits, hangs, writes garbage, answers with the wrong id, writes an oversized line) it
//! is stopped, and every later call returns the same refusal at once, whose detail starts
//! with [`process::FAILED_PREFIX`]; [`failure_kind`] recognises it so that the campaign
//! reports one `shim-failed` finding with the shim's stderr tail and carries on with the
//! other peers.

pub mod command;
pub mod hello;
pub mod process;

use hello::Hello;
use process::{Answer, FailureKind, Process};
pub use process::{Randomness, MAX_RANDOM_ASK, MAX_RANDOM_PER_REQUEST};
use ratchet_bench_core::codec::Codec;
use ratchet_bench_core::peer::{
    BoxRng, Capabilities, Party, Peer, PeerInfo, Reject, RejectClass, SessionInit, WireLayout,
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

/// What sets up the shims of a command: where the peers file is, and each request's budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShimOptions {
    /// The peers file (`--shims`).
    pub shims_file: PathBuf,
    /// The budget of every request but the hello (`--shim-timeout-ms`).
    pub timeout: Duration,
    /// The hello's budget ([`HELLO_TIMEOUT`]; tests shorten it).
    pub hello_timeout: Duration,
}

impl Default for ShimOptions {
    fn default() -> Self {
        ShimOptions {
            shims_file: PathBuf::from(DEFAULT_SHIMS_FILE),
            timeout: DEFAULT_TIMEOUT,
            hello_timeout: HELLO_TIMEOUT,
        }
    }
}

/// One shim to start: its name and command line.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShimSpec {
    /// The name the bench gives its peers (`NAME`, or `NAME-FAMILY` when it serves several).
    pub name: String,
    /// The command line, split like a shell would for simple cases.
    pub command: String,
}

impl ShimSpec {
    /// Parses `NAME=COMMAND` (what follows `shim:` in `--peer shim:NAME=COMMAND`).
    pub fn parse(spec: &str) -> Result<ShimSpec, String> {
        let (name, command) = spec.split_once('=').ok_or_else(|| {
            format!("--peer shim:{spec}: expected shim:NAME=COMMAND (no '=' found)")
        })?;
        let spec = ShimSpec {
            name: name.trim().to_string(),
            command: command.trim().to_string(),
        };
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

/// The process and what all its peers share.
struct Shared {
    process: Mutex<Process>,
    timeout: Duration,
}

impl Shared {
    /// Sends `op` and reads its `ok` fields with `read`; an `ok` that `read` cannot use stops
    /// the shim (bad-answer). `err` becomes the implementation's refusal; `unimplemented` a
    /// refusal of class Other saying so.
    fn call<T>(
        &self,
        op: &str,
        fields: Map<String, Value>,
        randomness: Randomness<'_>,
        read: impl FnOnce(&Map<String, Value>) -> Result<T, String>,
    ) -> Result<T, Reject> {
        let mut process = self.process.lock().map_err(|_| {
            Reject::new(
                RejectClass::Other,
                "the shim's lock was poisoned by an earlier panic",
            )
        })?;
        let (id, answer) = process.request(op, fields, self.timeout, randomness)?;
        match answer {
            Answer::Ok(ok) => {
                read(&ok).map_err(|problem| process.fail(FailureKind::BadAnswer, id, op, problem))
            }
            Answer::Refused(reject) => Err(reject),
            Answer::Unimplemented(why) => Err(Reject::new(
                RejectClass::Other,
                format!("unimplemented: the shim does not do {op}: {why}"),
            )),
        }
    }

    fn new_party(&self) -> Result<u64, Reject> {
        let mut process = self.process.lock().map_err(|_| {
            Reject::new(
                RejectClass::Other,
                "the shim's lock was poisoned by an earlier panic",
            )
        })?;
        if let Some(failed) = process.failure() {
            return Err(failed.clone());
        }
        Ok(process.new_party())
    }
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

/// Why a request about no party's randomness may not ask for random bytes.
const NO_PARTY: &str = "the request draws on no party's randomness";

fn fields<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// A peer served by a shim process.
pub struct ShimPeer {
    info: PeerInfo,
    /// Its index in the hello's `peers`, which requests name it by.
    index: usize,
    /// Its hello declared `host_rng`: its parties ask for their random bytes.
    host_rng: bool,
    shared: Arc<Shared>,
    /// Set once the shim answered `layout` with `unimplemented`: not asked again.
    no_layout: AtomicBool,
}

impl std::fmt::Debug for ShimPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShimPeer")
            .field("name", &self.info.name)
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

/// Starts `spec`'s process, checks its hello, and returns its peers, named `NAME` when it
/// serves one and `NAME-FAMILY` when it serves several.
pub fn start(spec: &ShimSpec, opts: &ShimOptions) -> Result<Vec<Box<dyn Peer>>, String> {
    spec.check()?;
    let label = format!("shim {:?} ({})", spec.name, spec.command);
    let argv = command::split(&spec.command).map_err(|e| format!("{label}: {e}"))?;
    let mut process = Process::spawn(label.clone(), &argv)?;
    let fields = fields([
        ("protocol", Value::from(hello::PROTOCOL)),
        ("features", Value::from(vec![hello::HOST_RNG])),
    ]);
    let hello: Hello = match process.request(
        "hello",
        fields,
        opts.hello_timeout,
        Randomness::Refused(NO_PARTY),
    ) {
        Ok((_, Answer::Ok(ok))) => {
            hello::parse(&ok).map_err(|e| format!("{label}: refused: its hello is wrong: {e}"))?
        }
        Ok((_, Answer::Refused(r))) => {
            return Err(format!(
                "{label}: refused: it answered the hello with an error: {r}"
            ))
        }
        Ok((_, Answer::Unimplemented(why))) => {
            return Err(format!(
                "{label}: refused: it answered the hello with unimplemented: {why}"
            ))
        }
        Err(r) => {
            let text = r.detail.strip_prefix(FAILED_PREFIX).unwrap_or(&r.detail);
            return Err(format!("hello failed: {text}"));
        }
    };
    let shared = Arc::new(Shared {
        process: Mutex::new(process),
        timeout: opts.timeout,
    });
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
                shared: Arc::clone(&shared),
                no_layout: AtomicBool::new(false),
            }) as Box<dyn Peer>
        })
        .collect())
}

impl ShimPeer {
    /// The party `number`, keeping `rng` for its later asks when the peer has `host_rng`.
    fn party(&self, number: u64, rng: BoxRng) -> Box<dyn Party> {
        Box::new(ShimParty {
            number,
            shared: Arc::clone(&self.shared),
            capabilities: self.info.capabilities,
            rng: self.host_rng.then_some(rng),
        })
    }

    /// Where a request building a party takes the random bytes its shim asks for.
    fn randomness<'a>(&self, rng: &'a mut BoxRng) -> Randomness<'a> {
        if self.host_rng {
            Randomness::Party(rng)
        } else {
            Randomness::Refused(NOT_DECLARED)
        }
    }
}

impl Peer for ShimPeer {
    fn out_of_process(&self) -> bool {
        true
    }

    fn info(&self) -> PeerInfo {
        self.info.clone()
    }

    fn respond(
        &self,
        init: &SessionInit,
        mut rng: BoxRng,
    ) -> Result<(Box<dyn Party>, Vec<u8>), Reject> {
        let number = self.shared.new_party()?;
        let mut request = fields([
            ("peer", Value::from(self.index)),
            ("party", Value::from(number)),
            ("shared_secret", hex_value(&init.shared_secret)),
        ]);
        request.extend(seed(&mut rng, self.host_rng).map(|(k, v)| (k.to_string(), v)));
        let bundle = self
            .shared
            .call("respond", request, self.randomness(&mut rng), |ok| {
                hex_field(ok, "bundle")
            })?;
        Ok((self.party(number, rng), bundle))
    }

    fn initiate(
        &self,
        init: &SessionInit,
        bundle: &[u8],
        mut rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        let number = self.shared.new_party()?;
        let mut request = fields([
            ("peer", Value::from(self.index)),
            ("party", Value::from(number)),
            ("shared_secret", hex_value(&init.shared_secret)),
            ("bundle", hex_value(bundle)),
        ]);
        request.extend(seed(&mut rng, self.host_rng).map(|(k, v)| (k.to_string(), v)));
        self.shared
            .call("initiate", request, self.randomness(&mut rng), |_| Ok(()))?;
        Ok(self.party(number, rng))
    }

    fn layout(&self, wire: &[u8]) -> WireLayout {
        let whole = WireLayout {
            body: 0..wire.len(),
            ..WireLayout::default()
        };
        if self.no_layout.load(Ordering::Relaxed) {
            return whole;
        }
        let request = fields([("peer", Value::from(self.index)), ("wire", hex_value(wire))]);
        let range = |ok: &Map<String, Value>,
                     key: &str|
         -> Result<Option<std::ops::Range<usize>>, String> {
            let bad = || format!("its \"ok.{key}\" is not [start, end] with start <= end");
            match ok.get(key) {
                None | Some(Value::Null) if key == "ratchet_key" => Ok(None),
                Some(Value::Array(pair)) => match pair.as_slice() {
                    [s, e] => {
                        let (s, e) = (s.as_u64().ok_or_else(bad)?, e.as_u64().ok_or_else(bad)?);
                        let (s, e) = (
                            usize::try_from(s).map_err(|_| bad())?,
                            usize::try_from(e).map_err(|_| bad())?,
                        );
                        if s <= e {
                            Ok(Some(s..e))
                        } else {
                            Err(bad())
                        }
                    }
                    _ => Err(bad()),
                },
                _ => Err(bad()),
            }
        };
        let answer = self
            .shared
            .call("layout", request, Randomness::Refused(NO_PARTY), |ok| {
                Ok(WireLayout {
                    header: range(ok, "header")?.unwrap_or_default(),
                    body: range(ok, "body")?.unwrap_or_default(),
                    mac: range(ok, "mac")?.unwrap_or_default(),
                    ratchet_key: range(ok, "ratchet_key")?,
                })
            });
        match answer {
            Ok(layout) => layout,
            Err(r) => {
                if r.detail.starts_with("unimplemented:") {
                    self.no_layout.store(true, Ordering::Relaxed);
                }
                whole
            }
        }
    }

    fn codec(&self) -> Option<&'static dyn Codec> {
        ratchet_bench_references::codec::for_family(self.info.family.name())
    }

    fn restore(&self, state: &[u8], mut rng: BoxRng) -> Result<Box<dyn Party>, Reject> {
        let number = self.shared.new_party()?;
        let mut request = fields([
            ("peer", Value::from(self.index)),
            ("party", Value::from(number)),
            ("state", hex_value(state)),
        ]);
        request.extend(seed(&mut rng, self.host_rng).map(|(k, v)| (k.to_string(), v)));
        self.shared
            .call("restore", request, self.randomness(&mut rng), |_| Ok(()))
            .map_err(|r| disagree(r, self.info.capabilities))?;
        Ok(self.party(number, rng))
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
    shared: Arc<Shared>,
    capabilities: Capabilities,
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
}

impl Party for ShimParty {
    fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
        let request = self.with(fields([
            ("ad", hex_value(ad)),
            ("plaintext", hex_value(plaintext)),
        ]));
        let randomness = Self::randomness(&mut self.rng);
        self.shared
            .call("encrypt", request, randomness, |ok| hex_field(ok, "wire"))
    }

    fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject> {
        let request = self.with(fields([("ad", hex_value(ad)), ("wire", hex_value(wire))]));
        let randomness = Self::randomness(&mut self.rng);
        self.shared.call("decrypt", request, randomness, |ok| {
            hex_field(ok, "plaintext")
        })
    }

    fn handshake(&mut self) -> Result<Option<Vec<u8>>, Reject> {
        let request = self.with(Map::new());
        let randomness = Self::randomness(&mut self.rng);
        self.shared.call("handshake", request, randomness, |ok| {
            match ok.get("handshake") {
                None | Some(Value::Null) => Ok(None),
                Some(_) => hex_field(ok, "handshake").map(Some),
            }
        })
    }

    fn join(&mut self, handshake: &[u8]) -> Result<(), Reject> {
        let request = self.with(fields([("handshake", hex_value(handshake))]));
        let randomness = Self::randomness(&mut self.rng);
        self.shared.call("join", request, randomness, |_| Ok(()))
    }

    fn export_state(&self) -> Result<Vec<u8>, Reject> {
        let request = self.with(Map::new());
        self.shared
            .call(
                "export",
                request,
                Randomness::Refused("exporting a state draws no randomness"),
                |ok| hex_field(ok, "state"),
            )
            .map_err(|r| disagree(r, self.capabilities))
    }
}

impl Drop for ShimParty {
    /// Tells the shim to forget the party; best effort (a failed shim is not asked).
    fn drop(&mut self) {
        if let Ok(process) = self.shared.process.lock() {
            if process.failure().is_some() {
                return;
            }
        }
        let request = self.with(Map::new());
        let _ = self
            .shared
            .call("drop", request, Randomness::Refused(NO_PARTY), |_| Ok(()));
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
