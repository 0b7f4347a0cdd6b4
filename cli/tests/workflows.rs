//! The GitHub Actions files a messenger project copies: the workflows in .github/workflows/
//! and the composite action (action.yml). Their triggers and jobs, third-party actions pinned
//! by commit, the ClusterFuzzLite wiring, and every `ratchet-bench` command line in a `run:`
//! script checked against the flags the binary really has (its own `--help`). actionlint and
//! ShellCheck run over the same files in ci/lint-workflows.

// Test helpers may fail loudly, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_norway::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn load(rel: &str) -> Value {
    let path = root().join(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} must be readable: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{rel} must be valid YAML: {e}"))
}

/// Every workflow file, by file name.
fn workflows() -> BTreeMap<String, Value> {
    let dir = root().join(".github/workflows");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("the workflows folder exists") {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".yml") || name.ends_with(".yaml") {
            out.insert(name.clone(), load(&format!(".github/workflows/{name}")));
        }
    }
    out
}

/// The value at `path`, or a failure naming the path.
fn at<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    let mut cur = v;
    for (i, key) in path.iter().enumerate() {
        cur = cur
            .get(*key)
            .unwrap_or_else(|| panic!("missing key {:?}", path[..=i].join(".")));
    }
    cur
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("expected a scalar, got {other:?}"),
    }
}

fn jobs(workflow: &Value) -> Vec<(String, &Value)> {
    at(workflow, &["jobs"])
        .as_mapping()
        .expect("jobs is a mapping")
        .iter()
        .map(|(k, v)| (text(k), v))
        .collect()
}

fn steps(job: &Value) -> &Vec<Value> {
    at(job, &["steps"]).as_sequence().expect("steps is a list")
}

fn uses(step: &Value) -> Option<String> {
    step.get("uses").map(text)
}

fn with(step: &Value, key: &str) -> Option<String> {
    step.get("with").and_then(|w| w.get(key)).map(text)
}

/// The first step whose `uses` starts with `prefix`.
fn step_using<'a>(job: &'a Value, prefix: &str) -> &'a Value {
    steps(job)
        .iter()
        .find(|s| uses(s).is_some_and(|u| u.starts_with(prefix)))
        .unwrap_or_else(|| panic!("no step uses {prefix}"))
}

fn triggers(workflow: &Value) -> BTreeSet<String> {
    match at(workflow, &["on"]) {
        Value::Mapping(m) => m.keys().map(text).collect(),
        Value::Sequence(s) => s.iter().map(text).collect(),
        other => [text(other)].into(),
    }
}

/// Every `run:` script of the workflows and of the action, with where it is.
fn run_scripts() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (file, wf) in workflows() {
        for (job, body) in jobs(&wf) {
            for (i, step) in steps(body).iter().enumerate() {
                if let Some(run) = step.get("run") {
                    out.push((format!("{file}: job {job}, step {}", i + 1), text(run)));
                }
            }
        }
    }
    let action = load("action.yml");
    for (i, step) in at(&action, &["runs", "steps"])
        .as_sequence()
        .unwrap()
        .iter()
        .enumerate()
    {
        if let Some(run) = step.get("run") {
            out.push((format!("action.yml: step {}", i + 1), text(run)));
        }
    }
    out
}

/// Shell lines with backslash continuations joined.
fn logical_lines(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in script.lines() {
        if let Some(head) = line.trim_end().strip_suffix('\\') {
            cur.push_str(head);
            cur.push(' ');
        } else {
            cur.push_str(line);
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A shell line split into words as bash would before expansion: quotes group and are
/// removed, a `#` starting a word starts a comment, and `(`, `)`, `|`, `;`, `&`, `>`, `<`
/// outside quotes stand alone.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == c {
                        break;
                    }
                    cur.push(q);
                }
            }
            '#' if !in_word => break,
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '(' | ')' | '|' | ';' | '&' | '>' | '<' => {
                // `${NAME[@]}` and `$(...)` keep their brackets inside the word.
                if in_word && (c == '(' && cur.ends_with('$')) {
                    cur.push(c);
                    continue;
                }
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
                out.push(c.to_string());
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// One `ratchet-bench` command line of a script: the words after the binary's name (flags
/// gathered from bash arrays it expands included).
#[derive(Debug)]
struct Invocation {
    place: String,
    args: Vec<String>,
}

fn invocations(place: &str, script: &str) -> Vec<Invocation> {
    let lines = logical_lines(script);
    // Flags a script gathers in an array (`bench_args+=(--shard "$SHARD")`).
    let mut arrays: HashMap<String, Vec<String>> = HashMap::new();
    for line in &lines {
        let w = words(line);
        if w.len() >= 3 && w[1] == "(" {
            if let Some(name) = w[0].strip_suffix("+=").or_else(|| w[0].strip_suffix('=')) {
                let end = w.iter().position(|x| x == ")").unwrap_or(w.len());
                arrays
                    .entry(name.to_string())
                    .or_default()
                    .extend(w[2..end].iter().filter(|x| x.starts_with("--")).cloned());
            }
        }
    }
    let mut out = Vec::new();
    for line in &lines {
        let w = words(line);
        for (i, word) in w.iter().enumerate() {
            if word != "ratchet-bench" && !word.ends_with("/ratchet-bench") {
                continue;
            }
            let mut args = Vec::new();
            for arg in &w[i + 1..] {
                if ["|", ";", "&", ">", "<", ")"].contains(&arg.as_str()) {
                    break;
                }
                match arg.strip_prefix("${").and_then(|a| a.strip_suffix("[@]}")) {
                    Some(name) => args.extend(arrays.get(name).cloned().unwrap_or_default()),
                    None => args.push(arg.clone()),
                }
            }
            out.push(Invocation {
                place: place.to_string(),
                args,
            });
        }
    }
    out
}

/// The binary's `--help` for a subcommand path, cached.
struct Help {
    cache: HashMap<Vec<String>, Option<String>>,
}

impl Help {
    fn new() -> Self {
        Help {
            cache: HashMap::new(),
        }
    }

    fn of(&mut self, path: &[String]) -> Option<String> {
        self.cache
            .entry(path.to_vec())
            .or_insert_with(|| {
                let o = Command::new(env!("CARGO_BIN_EXE_ratchet-bench"))
                    .args(path)
                    .arg("--help")
                    .output()
                    .expect("the binary runs");
                o.status
                    .success()
                    .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
            })
            .clone()
    }
}

/// The subcommands a help text lists under "Commands:".
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// Whether a help text documents `flag` (`--name`), as a whole word.
fn documents(help: &str, flag: &str) -> bool {
    help.match_indices(flag).any(|(i, _)| {
        let before = help[..i].chars().next_back();
        let after = help[i + flag.len()..].chars().next();
        before.is_none_or(|c| c.is_whitespace() || c == ',')
            && after.is_none_or(|c| c.is_whitespace() || "=<[,".contains(c))
    })
}

/// Everything wrong with one command line: an unknown subcommand or an undocumented flag.
fn problems(inv: &Invocation, help: &mut Help) -> Vec<String> {
    let mut path: Vec<String> = Vec::new();
    let mut rest = inv.args.as_slice();
    loop {
        let Some(h) = help.of(&path) else {
            return vec![format!(
                "{}: `ratchet-bench {} --help` fails: no such command",
                inv.place,
                path.join(" ")
            )];
        };
        match rest.first() {
            Some(next) if !next.starts_with('-') && subcommands(&h).contains(next) => {
                path.push(next.clone());
                rest = &rest[1..];
            }
            Some(next) if !next.starts_with('-') && path.is_empty() => {
                return vec![format!(
                    "{}: `{next}` is no ratchet-bench command",
                    inv.place
                )];
            }
            _ => break,
        }
    }
    let h = help.of(&path).unwrap_or_default();
    rest.iter()
        .filter(|a| a.starts_with("--") && a.len() > 2)
        .map(|a| a.split('=').next().unwrap_or(a))
        .filter(|flag| !documents(&h, flag))
        .map(|flag| {
            format!(
                "{}: `ratchet-bench {}` has no flag {flag}",
                inv.place,
                path.join(" ")
            )
        })
        .collect()
}

fn all_invocations() -> Vec<Invocation> {
    run_scripts()
        .iter()
        .flat_map(|(place, script)| invocations(place, script))
        .collect()
}

#[test]
fn every_ratchet_bench_command_line_uses_flags_the_cli_has() {
    let invs = all_invocations();
    let mut help = Help::new();
    let mut found: BTreeSet<String> = BTreeSet::new();
    let mut bad = Vec::new();
    for inv in &invs {
        found.extend(inv.args.iter().take(1).cloned());
        bad.extend(problems(inv, &mut help));
    }
    assert!(
        found.contains("run") && found.contains("merge"),
        "the action runs `ratchet-bench run`, or `ratchet-bench merge` for the nightly shards; found {found:?} in {invs:#?}"
    );
    // The action turns each of its inputs into a flag; all of them must reach the command line.
    let action_run = invs
        .iter()
        .find(|i| i.place.starts_with("action.yml") && i.args.first().is_some_and(|a| a == "run"))
        .expect("action.yml runs `ratchet-bench run`");
    for flag in [
        "--quick",
        "--peer",
        "--peers",
        "--shims",
        "--expectations",
        "--scenarios",
        "--seed",
        "--shard",
        "--json",
        "--junit",
        "--sarif",
        "--summary",
        "--html",
    ] {
        assert!(
            action_run.args.iter().any(|a| a == flag),
            "the action's command line must be able to pass {flag}: {action_run:?}"
        );
    }
    assert!(
        bad.is_empty(),
        "command lines the CLI would refuse:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_flag_check_refuses_unknown_flags_and_commands() {
    let script = "args=(--seed 3)\nargs+=(--no-such-flag x)\n\
                  target/release/ratchet-bench run --scenarios 5 \\\n  \"${args[@]}\" > out.json\n\
                  ratchet-bench no-such-command --json\n\
                  ratchet-bench vectors replay --suite x --no-such-replay-flag\n";
    let invs = invocations("synthetic", script);
    assert_eq!(invs.len(), 3, "three command lines: {invs:#?}");
    assert_eq!(
        invs[0].args,
        ["run", "--scenarios", "5", "--seed", "--no-such-flag"]
    );
    let mut help = Help::new();
    let found: Vec<String> = invs.iter().flat_map(|i| problems(i, &mut help)).collect();
    assert_eq!(found.len(), 3, "one problem per line: {found:#?}");
    assert!(found[0].contains("`ratchet-bench run` has no flag --no-such-flag"));
    assert!(found[1].contains("`no-such-command` is no ratchet-bench command"));
    assert!(found[2].contains("`ratchet-bench vectors replay` has no flag --no-such-replay-flag"));
}

#[test]
fn the_pull_request_gate_runs_the_quick_mode_and_reports_to_code_scanning() {
    let wf = &workflows()["ratchet-bench-gate.yml"];
    assert!(triggers(wf).contains("pull_request"), "{:?}", triggers(wf));
    let (_, job) = jobs(wf).into_iter().next().expect("one job");
    assert_eq!(text(at(job, &["permissions", "security-events"])), "write");
    let bench = step_using(job, "./");
    assert_eq!(with(bench, "quick").as_deref(), Some("true"));
    assert_eq!(with(bench, "job-summary").as_deref(), Some("true"));
    let id = text(at(bench, &["id"]));
    let upload = step_using(job, "github/codeql-action/upload-sarif@");
    assert_eq!(
        with(upload, "sarif_file"),
        Some(format!("${{{{ steps.{id}.outputs.sarif }}}}"))
    );
    // The findings reach code scanning even when the gate fails.
    assert!(text(at(upload, &["if"])).contains("!cancelled()"));
}

#[test]
fn the_nightly_campaign_is_sharded_over_a_matrix_and_merged() {
    let wf = &workflows()["ratchet-bench-nightly.yml"];
    let t = triggers(wf);
    assert!(
        t.contains("schedule") && t.contains("workflow_dispatch"),
        "{t:?}"
    );
    let jobs: BTreeMap<String, &Value> = jobs(wf).into_iter().collect();
    let shard = jobs["shard"];
    let matrix: Vec<String> = at(shard, &["strategy", "matrix", "shard"])
        .as_sequence()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    let n = matrix.len();
    assert!(n >= 2, "a campaign over several shards: {matrix:?}");
    assert_eq!(
        matrix,
        (1..=n).map(|k| k.to_string()).collect::<Vec<_>>(),
        "shards are numbered 1 to N"
    );
    let bench = step_using(shard, "./");
    assert_eq!(
        with(bench, "shard"),
        Some(format!("${{{{ matrix.shard }}}}/{n}")),
        "the shard input names the matrix's size"
    );
    assert_eq!(with(bench, "fail-on-findings").as_deref(), Some("false"));
    let up = step_using(shard, "actions/upload-artifact@");
    let name = with(up, "name").unwrap();
    let prefix = name
        .strip_suffix("${{ matrix.shard }}")
        .expect("each shard's artifact is named after its shard");
    assert_eq!(
        with(up, "path"),
        Some(format!(
            "${{{{ steps.{}.outputs.json }}}}",
            text(at(bench, &["id"]))
        ))
    );

    let merge = jobs["merge"];
    assert_eq!(text(at(merge, &["needs"])), "shard");
    assert!(text(at(merge, &["if"])).contains("!cancelled()"));
    let down = step_using(merge, "actions/download-artifact@");
    assert_eq!(with(down, "pattern"), Some(format!("{prefix}*")));
    let dir = with(down, "path").unwrap();
    let merging = step_using(merge, "./");
    assert_eq!(
        with(merging, "merge-reports"),
        Some(format!("{dir}/*/report.json")),
        "the action merges every downloaded shard report"
    );
    let upload = step_using(merge, "github/codeql-action/upload-sarif@");
    assert_eq!(
        with(upload, "sarif_file"),
        Some(format!(
            "${{{{ steps.{}.outputs.sarif }}}}",
            text(at(merging, &["id"]))
        ))
    );
}

#[test]
fn clusterfuzzlite_workflows_build_the_integration_in_ci_clusterfuzzlite() {
    // ClusterFuzzLite reads its build integration from .clusterfuzzlite/ only.
    let link = std::fs::read_link(root().join(".clusterfuzzlite"))
        .expect(".clusterfuzzlite is a symbolic link");
    assert_eq!(link, Path::new("ci/clusterfuzzlite"));
    for f in ["Dockerfile", "build.sh", "project.yaml"] {
        assert!(root().join(".clusterfuzzlite").join(f).is_file(), "{f}");
    }
    let project = load("ci/clusterfuzzlite/project.yaml");
    assert_eq!(text(at(&project, &["language"])), "rust");
    let sanitizers: BTreeSet<String> = at(&project, &["sanitizers"])
        .as_sequence()
        .unwrap()
        .iter()
        .map(text)
        .collect();

    let all = workflows();
    for (file, trigger, mode) in [
        ("cflite_pr.yml", "pull_request", "code-change"),
        ("cflite_batch.yml", "schedule", "batch"),
    ] {
        let wf = &all[file];
        assert!(triggers(wf).contains(trigger), "{file}: {:?}", triggers(wf));
        let (_, job) = jobs(wf).into_iter().next().unwrap();
        let build = step_using(job, "google/clusterfuzzlite/actions/build_fuzzers@");
        assert_eq!(with(build, "language").as_deref(), Some("rust"), "{file}");
        let run = step_using(job, "google/clusterfuzzlite/actions/run_fuzzers@");
        assert_eq!(with(run, "mode").as_deref(), Some(mode), "{file}");
        assert_eq!(with(run, "output-sarif").as_deref(), Some("true"), "{file}");
        let matrix: BTreeSet<String> = at(job, &["strategy", "matrix", "sanitizer"])
            .as_sequence()
            .unwrap()
            .iter()
            .map(text)
            .collect();
        assert!(
            matrix.is_subset(&sanitizers),
            "{file}: sanitizers {matrix:?} beyond project.yaml's {sanitizers:?}"
        );
        let sarif = step_using(job, "github/codeql-action/upload-sarif@");
        assert_eq!(
            with(sarif, "sarif_file").as_deref(),
            Some("cifuzz-sarif/results.sarif"),
            "{file}: where run_fuzzers writes its SARIF"
        );
    }
}

#[test]
fn third_party_actions_are_pinned_by_full_commit() {
    let mut files: Vec<String> = workflows()
        .keys()
        .map(|f| format!(".github/workflows/{f}"))
        .collect();
    files.push("action.yml".into());
    let mut pins: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut seen = 0;
    for file in files {
        let raw = std::fs::read_to_string(root().join(&file)).unwrap();
        for line in raw.lines() {
            let Some(rest) = line
                .trim_start()
                .trim_start_matches("- ")
                .strip_prefix("uses:")
            else {
                continue;
            };
            let (spec, comment) = rest.split_once('#').unwrap_or((rest, ""));
            let spec = spec.trim();
            if spec.starts_with("./") {
                continue;
            }
            seen += 1;
            let (action, sha) = spec
                .split_once('@')
                .unwrap_or_else(|| panic!("{file}: {spec} has no ref"));
            assert!(
                sha.len() == 40 && sha.chars().all(|c| c.is_ascii_hexdigit()),
                "{file}: {spec} must be pinned by a full commit SHA"
            );
            assert!(
                comment.trim().starts_with('v'),
                "{file}: {spec} must name its release tag in a comment"
            );
            let repo: String = action.split('/').take(2).collect::<Vec<_>>().join("/");
            pins.entry(repo).or_default().insert(sha.to_string());
        }
    }
    assert!(seen >= 6, "the workflows use several actions; saw {seen}");
    for (repo, shas) in pins {
        assert_eq!(
            shas.len(),
            1,
            "{repo} is pinned to one commit everywhere: {shas:?}"
        );
    }
}

#[test]
fn the_action_declares_its_inputs_and_writes_its_outputs() {
    let action = load("action.yml");
    assert_eq!(text(at(&action, &["runs", "using"])), "composite");
    let inputs: BTreeSet<String> = at(&action, &["inputs"])
        .as_mapping()
        .unwrap()
        .keys()
        .map(text)
        .collect();
    for i in [
        "peers",
        "shims-file",
        "expectations",
        "scenarios",
        "shard",
        "seed",
        "quick",
        "merge-reports",
    ] {
        assert!(inputs.contains(i), "input {i} in {inputs:?}");
    }
    let steps = at(&action, &["runs", "steps"]).as_sequence().unwrap();
    let all_text: String = steps
        .iter()
        .map(|s| serde_norway::to_string(s).unwrap())
        .collect();
    for i in &inputs {
        assert!(
            all_text.contains(&format!("inputs.{i} "))
                || all_text.contains(&format!("inputs.{i}}}")),
            "input {i} is used by a step"
        );
    }
    for s in steps {
        if s.get("run").is_some() {
            assert_eq!(
                s.get("shell").map(text).as_deref(),
                Some("bash"),
                "a composite action's run step names its shell: {s:?}"
            );
        }
    }
    let run = steps
        .iter()
        .find(|s| s.get("id").map(text).as_deref() == Some("run"))
        .expect("a step with id run");
    let script = text(at(run, &["run"]));
    for (name, out) in at(&action, &["outputs"]).as_mapping().unwrap() {
        let name = text(name);
        assert_eq!(
            text(at(out, &["value"])),
            format!("${{{{ steps.run.outputs.{name} }}}}")
        );
        assert!(
            script.contains(&format!("{name}=")) || script.contains(&format!("{name}:")),
            "the run step writes output {name}"
        );
    }
}
