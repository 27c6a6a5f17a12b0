//! The long differential campaign of issue #17: the random edit steps of
//! [`super`] over a range of seeds, for hours, with a report. The script
//! `campaigns/differential.sh` runs it (through the ignored test
//! `campaign` below) and documents its settings; all of them come from
//! the environment:
//!
//! - `MACHLINK_CAMPAIGN_DIR`: the campaign's directory (required). It
//!   holds `results.tsv` (one line per finished seed), `steps.tsv` (one
//!   line per step of a finished seed), `report.txt`, `failures/` (one
//!   directory per failing seed, with its shrunk reproducer) and `work/`
//!   (each running seed's scratch directory). A run with the same
//!   directory resumes: it skips the seeds `results.tsv` already lists,
//!   and reports over all of them.
//! - `MACHLINK_CAMPAIGN_SEEDS`: `A-B` (inclusive) or `A,B,C`; default
//!   `1000-1999`. A seed fixes everything about its run: its target
//!   (`seed / 2`, over the targets asked for), its fixup format (odd seeds
//!   `-no_fixup_chains`), its languages (`seed / 4 % 4`: C, C with a C++
//!   object, C with a Rust object, C with both) and `-dead_strip` (a bit
//!   of its hash).
//! - `MACHLINK_CAMPAIGN_STEPS`: edit steps per seed (default 50).
//! - `MACHLINK_CAMPAIGN_TOTAL_STEPS`: start no seed once this many steps
//!   are done (resumed ones included).
//! - `MACHLINK_CAMPAIGN_HOURS`: stop at the first step boundary after this
//!   long (the seed running then is kept as a shorter run).
//! - `MACHLINK_CAMPAIGN_TARGETS`: `x86_64,arm64` (the default) or one.
//! - `MACHLINK_CAMPAIGN_JOBS`: seeds run at once (default 1).
//! - `MACHLINK_CAMPAIGN_SHRINK`: `0` keeps a failure's whole history
//!   without shrinking it; `MACHLINK_CAMPAIGN_SHRINK_REPLAYS` bounds the
//!   shrinker's replays (default 60).
//! - `MACHLINK_CAMPAIGN_KEEP`: `1` keeps every seed's scratch directory.
//!
//! A divergence (the update runs, unwinds or verifies unlike a fresh link,
//! either link fails, or the final program differs from its native build)
//! is shrunk: the shrinker replays the recorded program states with states
//! left out (a left-out state merges two edits into one), then with
//! functions removed from every state, keeping each cut that fails the
//! same way. What remains is written as `reproducer/` (the sources of each
//! state, `step000/`, `step001/`, ..., and `target.txt`); copied to
//! `tests/cli/incremental_random/reproducers/NAME/`, it becomes a case of
//! the regular test `shrunk_reproducers_stay_fixed`.

use super::*;
use std::collections::BTreeSet;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The latest panic messages of this process (a panic in a scoped thread
/// reaches `catch_unwind` without its message).
static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Runs `f`; the message of its panic, if it panics.
pub(super) fn catching(f: impl FnOnce()) -> Result<(), String> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let mut panics = PANICS.lock().unwrap_or_else(|e| e.into_inner());
            if panics.len() >= 16 {
                panics.remove(0);
            }
            panics.push(payload_text(info.payload()).unwrap_or_default());
            drop(panics);
            previous(info);
        }));
    });
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| match payload_text(
        &*payload,
    ) {
        Some(m) if !m.contains("a scoped thread panicked") => m,
        _ => PANICS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .rev()
            .find(|m| !m.is_empty() && !m.contains("a scoped thread panicked"))
            .cloned()
            .unwrap_or_else(|| "a panic without a message".to_string()),
    })
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
}

/// What kind of failure a message reports: the shrinker keeps only cuts
/// that fail the same way. `harness` is a failure of the test's own tools
/// (a compiler), not a divergence.
fn failure_kind(message: &str) -> &'static str {
    const KINDS: &[(&str, &str)] = &[
        ("incremental link failed", "incremental link failed"),
        ("full link failed", "fresh link failed"),
        // Before "differs from a fresh link", which its message also says.
        ("unwind information differs", "unwind differs"),
        ("differs from a fresh link", "runs unlike a fresh link"),
        ("the slid program differs", "slid run differs"),
        (": verify: ", "verify fails"),
        ("code signature does not check", "signature fails"),
        ("differs from its native build", "native build differs"),
        ("moved the canonical address", "function address moved"),
    ];
    KINDS
        .iter()
        .find(|(needle, _)| message.contains(needle))
        .map_or("harness", |&(_, kind)| kind)
}

/// The campaign's settings (see the module's documentation).
struct Config {
    dir: PathBuf,
    seeds: Vec<u64>,
    steps: usize,
    total_steps: Option<usize>,
    deadline: Option<Instant>,
    targets: Vec<Target>,
    jobs: usize,
    shrink: bool,
    shrink_replays: usize,
    keep: bool,
    /// `MACHLINK_CAMPAIGN_PLANT`: the self-test of [`Session::plant`].
    plant: Option<String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn parse_seeds(spec: &str) -> Vec<u64> {
    let number = |s: &str| -> u64 {
        s.trim()
            .parse()
            .unwrap_or_else(|_| panic!("MACHLINK_CAMPAIGN_SEEDS: {s:?} is not a number"))
    };
    match spec.split_once('-') {
        Some((a, b)) => (number(a)..=number(b)).collect(),
        None => spec.split(',').map(number).collect(),
    }
}

impl Config {
    fn from_env() -> Config {
        let dir = PathBuf::from(env("MACHLINK_CAMPAIGN_DIR").expect(
            "MACHLINK_CAMPAIGN_DIR names the campaign's directory (campaigns/differential.sh sets it)",
        ));
        let number = |name: &str, default: usize| -> usize {
            env(name).map_or(default, |v| {
                v.parse()
                    .unwrap_or_else(|_| panic!("{name}: {v:?} is not a number"))
            })
        };
        let targets = env("MACHLINK_CAMPAIGN_TARGETS")
            .unwrap_or_else(|| "x86_64,arm64".to_string())
            .split(',')
            .map(|t| match t.trim() {
                "x86_64" => Target::X86_64,
                "arm64" => Target::Arm64,
                other => panic!("MACHLINK_CAMPAIGN_TARGETS: unknown target {other:?}"),
            })
            .collect();
        Config {
            dir,
            seeds: parse_seeds(&env("MACHLINK_CAMPAIGN_SEEDS").unwrap_or("1000-1999".into())),
            steps: number("MACHLINK_CAMPAIGN_STEPS", 50),
            total_steps: env("MACHLINK_CAMPAIGN_TOTAL_STEPS")
                .map(|_| number("MACHLINK_CAMPAIGN_TOTAL_STEPS", 0)),
            deadline: env("MACHLINK_CAMPAIGN_HOURS").map(|h| {
                let hours: f64 = h
                    .parse()
                    .unwrap_or_else(|_| panic!("MACHLINK_CAMPAIGN_HOURS: {h:?} is not a number"));
                Instant::now() + std::time::Duration::from_secs_f64(hours * 3600.0)
            }),
            targets,
            jobs: number("MACHLINK_CAMPAIGN_JOBS", 1).max(1),
            shrink: env("MACHLINK_CAMPAIGN_SHRINK").is_none_or(|v| v != "0"),
            shrink_replays: number("MACHLINK_CAMPAIGN_SHRINK_REPLAYS", 60),
            keep: env("MACHLINK_CAMPAIGN_KEEP").is_some_and(|v| v == "1"),
            plant: env("MACHLINK_CAMPAIGN_PLANT"),
        }
    }
}

/// What seed `n` runs: its target, languages and `-dead_strip` (its
/// fixup format is its parity, see [`seed_flags`]).
fn campaign_seed(n: u64, targets: &[Target]) -> (Target, Seed) {
    let target = targets[(n / 2 % targets.len() as u64) as usize];
    let langs = n / 4 % 4;
    let hash = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 60;
    let seed = Seed {
        seed: n,
        dead_strip: hash & 1 == 1,
        cxx: langs & 1 == 1,
        rust: langs & 2 == 2,
    };
    (target, seed)
}

fn format_name(seed: Seed) -> &'static str {
    if seed.seed % 2 == 1 {
        "classic"
    } else {
        "chained"
    }
}

fn langs_name(seed: Seed) -> &'static str {
    match (seed.cxx, seed.rust) {
        (false, false) => "C",
        (true, false) => "C+C++",
        (false, true) => "C+Rust",
        (true, true) => "C+C++ +Rust",
    }
}

/// A text for one field of a TSV line.
fn field(s: &str) -> String {
    s.replace(['\t', '\n', '\r'], " ")
}

/// A reason with its numbers and file names' digits blurred, so that
/// alike reasons count together.
fn reason_key(reason: &str) -> String {
    let summary = reason_summary(reason);
    let mut key = String::new();
    for c in summary.chars() {
        if c.is_ascii_digit() {
            if !key.ends_with('N') {
                key.push('N');
            }
        } else {
            key.push(c);
        }
    }
    key
}

/// The campaign's shared state: its files and how far it got.
struct Campaign {
    config: Config,
    steps_done: AtomicUsize,
    files: Mutex<()>,
}

impl Campaign {
    fn append(&self, name: &str, text: &str) {
        let _guard = self.files.lock().unwrap_or_else(|e| e.into_inner());
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.config.dir.join(name))
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f.sync_data().unwrap();
    }

    /// Runs seed `n` and writes its lines (and its failure, if any).
    fn run_one(&self, n: u64) {
        let (target, seed) = campaign_seed(n, &self.config.targets);
        let arch = target.arch();
        let dir = self.config.dir.join("work").join(format!("{arch}-{n}"));
        let mut opts = RunOptions::new(dir.clone());
        opts.strict = false;
        opts.deadline = self.config.deadline;
        opts.plant = self.config.plant.clone();
        let started = Instant::now();
        let mut counts = None;
        let result =
            catching(|| counts = Some(run_seed(target, seed, self.config.steps, false, &mut opts)));
        let seconds = started.elapsed().as_secs_f64();
        let steps = opts.records.len().saturating_sub(1);
        let (status, note) = match &result {
            Ok(()) if counts.as_ref().is_some_and(|c| c.cut) => ("cut", String::new()),
            Ok(()) => ("ok", String::new()),
            Err(m) => {
                let kind = failure_kind(m);
                let status = if kind == "harness" {
                    "error"
                } else {
                    "divergence"
                };
                (
                    status,
                    format!("{kind}: {}", m.lines().next().unwrap_or("")),
                )
            }
        };
        eprintln!(
            "campaign: {arch} seed {n} ({} {} {}): {status} after {steps} steps in {seconds:.0} s {note}",
            format_name(seed),
            langs_name(seed),
            if seed.dead_strip { "-dead_strip" } else { "" },
        );
        let mut lines = String::new();
        for (step, r) in opts.records.iter().enumerate() {
            lines.push_str(&format!(
                "{arch}\t{}\t{}\t{n}\t{step}\t{}\t{}\t{:.2}\t{:.1}\t{}\n",
                format_name(seed),
                langs_name(seed),
                r.outcome,
                field(&reason_key(&r.reason)),
                r.link_ms,
                r.step_ms,
                DOCUMENTED_FALLBACKS.iter().any(|d| r.reason.contains(d)),
            ));
        }
        self.append("steps.tsv", &lines);
        self.append(
            "results.tsv",
            &format!(
                "{arch}\t{}\t{}\t{n}\t{}\t{steps}\t{status}\t{seconds:.1}\t{}\n",
                format_name(seed),
                langs_name(seed),
                seed.dead_strip,
                field(&note)
            ),
        );
        self.steps_done.fetch_add(steps, Ordering::Relaxed);
        if let Err(message) = result {
            self.keep_failure(target, seed, &message, &opts);
        } else if !self.config.keep {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    /// Writes `failures/ARCH-seedN/`: the message, the edits, and the
    /// (shrunk) reproducer.
    fn keep_failure(&self, target: Target, seed: Seed, message: &str, opts: &RunOptions) {
        let arch = target.arch();
        let n = seed.seed;
        let out = self
            .config
            .dir
            .join("failures")
            .join(format!("{arch}-seed{n}"));
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out).unwrap();
        let kind = failure_kind(message);
        let edits: String = opts
            .history
            .iter()
            .enumerate()
            .map(|(i, (what, _))| format!("step {i}: {what}\n"))
            .collect();
        std::fs::write(out.join("edits.txt"), edits).unwrap();
        std::fs::write(
            out.join("rerun.txt"),
            format!(
                "campaigns/differential.sh --workdir NEW_DIR --seeds {n} --targets {arch} --steps {} \
                 --no-shrink\n(a seed's program, edits and flags do not depend on the targets asked for)\n",
                self.config.steps
            ),
        )
        .unwrap();
        let flags = seed_flags(seed);
        let mut summary = format!("{kind}\n\n{message}\n");
        // A failure at the end (the native build) or of the harness is not
        // a step to shrink.
        let states: Vec<Program> = opts.history.iter().map(|(_, p)| p.clone()).collect();
        let shrinkable = kind != "harness" && kind != "native build differs" && !states.is_empty();
        let states = if shrinkable && self.config.shrink {
            let work = self
                .config
                .dir
                .join("work")
                .join(format!("{arch}-{n}-shrink"));
            let shrunk = Shrinker {
                target,
                flags: &flags,
                kind,
                dir: &work,
                plant: self.config.plant.as_deref(),
                replays: 0,
                budget: self.config.shrink_replays,
            }
            .shrink(states);
            let _ = std::fs::remove_dir_all(&work);
            summary.push_str(&format!(
                "\nshrunk to {} state(s) and {} function(s) in {} replays; its failure:\n{}\n",
                shrunk.states.len(),
                shrunk
                    .states
                    .last()
                    .map_or(0, |p| p.funcs.iter().filter(|f| f.exists).count()),
                shrunk.replays,
                shrunk.message
            ));
            shrunk.states
        } else {
            states
        };
        std::fs::write(out.join("message.txt"), summary).unwrap();
        write_reproducer(&out.join("reproducer"), target, &flags, &states);
    }
}

/// A program state's sources, named, in link order.
pub(super) type Sources = Vec<(String, String)>;

/// Writes `states` as a reproducer directory ([`read_reproducer`]).
fn write_reproducer(dir: &Path, target: Target, flags: &[String], states: &[Program]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("target.txt"),
        format!("{}\n{}\n", target.arch(), flags.join(" ")),
    )
    .unwrap();
    for (i, p) in states.iter().enumerate() {
        let step = dir.join(format!("step{i:03}"));
        std::fs::create_dir_all(&step).unwrap();
        for (name, text) in p.sources() {
            std::fs::write(step.join(name), text).unwrap();
        }
    }
}

/// A reproducer directory: `target.txt` (the target's name, then the link
/// flags on one line) and `stepNNN/` directories with each state's
/// sources; the objects link in the order `obj*` by name, then `main.c`.
pub(super) fn read_reproducer(dir: &Path) -> (Target, Vec<String>, Vec<Sources>) {
    let spec = std::fs::read_to_string(dir.join("target.txt")).unwrap();
    let mut lines = spec.lines();
    let target = match lines.next().map(str::trim) {
        Some("arm64") => Target::Arm64,
        Some("x86_64") => Target::X86_64,
        other => panic!("{}: unknown target {other:?}", dir.display()),
    };
    let flags = lines
        .next()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let mut steps: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    steps.sort();
    let states = steps
        .iter()
        .map(|step| {
            let mut names: Vec<String> = std::fs::read_dir(step)
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            // The objects by name, main last: the order of a run's links.
            names.sort_by_key(|n| (n == "main.c", n.clone()));
            names
                .into_iter()
                .map(|n| {
                    let text = std::fs::read_to_string(step.join(&n)).unwrap();
                    (n, text)
                })
                .collect()
        })
        .collect();
    (target, flags, states)
}

/// Cuts a failing history down while it fails the same way.
struct Shrinker<'a> {
    target: Target,
    flags: &'a [String],
    kind: &'static str,
    dir: &'a Path,
    plant: Option<&'a str>,
    replays: usize,
    budget: usize,
}

struct Shrunk {
    states: Vec<Program>,
    message: String,
    replays: usize,
}

impl Shrinker<'_> {
    /// The failure of `states` replayed, if it is of the same kind.
    fn fails(&mut self, states: &[Program]) -> Option<String> {
        if self.replays >= self.budget || states.is_empty() {
            return None;
        }
        self.replays += 1;
        let sources: Vec<_> = states.iter().map(Program::sources).collect();
        match replay(self.target, self.flags, &sources, self.dir, self.plant) {
            Err(m) if failure_kind(&m) == self.kind => Some(m),
            _ => None,
        }
    }

    fn shrink(mut self, history: Vec<Program>) -> Shrunk {
        let mut states = history;
        let mut message = String::from("(not replayed)");
        let last = states.len() - 1;
        // The failing state after each earlier one alone: one edit that
        // merges all the edits between them.
        if last > 0 {
            let mut starts: Vec<usize> = vec![last - 1, 0];
            starts.extend((1..last - 1).rev());
            starts.dedup();
            for j in starts {
                if let Some(m) = self.fails(&[states[j].clone(), states[last].clone()]) {
                    states = vec![states[j].clone(), states[last].clone()];
                    message = m;
                    break;
                }
            }
        }
        // Otherwise leave states out, one at a time, the failing one last.
        let mut i = 0;
        while states.len() > 2 && i + 1 < states.len() {
            let mut cut = states.clone();
            cut.remove(i);
            match self.fails(&cut) {
                Some(m) => {
                    states = cut;
                    message = m;
                }
                None => i += 1,
            }
        }
        // Then functions, from every state at once.
        for g in 0..states[0].funcs.len() {
            if !states.iter().any(|p| p.funcs[g].exists) {
                continue;
            }
            let cut: Vec<Program> = states.iter().map(|p| p.without(g)).collect();
            if let Some(m) = self.fails(&cut) {
                states = cut;
                message = m;
            }
        }
        Shrunk {
            states,
            message,
            replays: self.replays,
        }
    }
}

/// One row of the report's table.
#[derive(Default)]
struct Row {
    seeds: usize,
    steps: usize,
    updates: usize,
    fulls: usize,
    nothing: usize,
    other: usize,
    step_ms: f64,
    link_ms: f64,
    seconds: f64,
}

/// The report over every seed in the campaign's files (earlier runs'
/// included).
fn report(dir: &Path, this_run: std::time::Duration, this_run_steps: usize) -> String {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    let results = read("results.tsv");
    let steps = read("steps.tsv");
    let mut rows: BTreeMap<(String, String, String), Row> = BTreeMap::new();
    let mut by_arch: BTreeMap<String, Row> = BTreeMap::new();
    let mut langs: BTreeMap<&str, usize> = BTreeMap::new();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut undocumented = 0;
    for line in steps.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 9 || f[4] == "0" {
            continue;
        }
        let key = (f[0].to_string(), f[1].to_string(), f[2].to_string());
        let (link_ms, step_ms): (f64, f64) =
            (f[7].parse().unwrap_or(0.0), f[8].parse().unwrap_or(0.0));
        for row in [
            rows.entry(key).or_default(),
            by_arch.entry(f[0].to_string()).or_default(),
        ] {
            row.steps += 1;
            row.link_ms += link_ms;
            row.step_ms += step_ms;
            match f[5] {
                "update" => row.updates += 1,
                "full" => row.fulls += 1,
                "nothing" => row.nothing += 1,
                _ => row.other += 1,
            }
        }
        for lang in ["C", "C++", "Rust"] {
            if lang == "C" || f[2].contains(lang) {
                *langs.entry(lang).or_default() += 1;
            }
        }
        if f[5] == "full" {
            *reasons.entry(f[6].to_string()).or_default() += 1;
            if f.get(9) != Some(&"true") {
                undocumented += 1;
            }
        }
    }
    let mut statuses: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for line in results.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 9 {
            continue;
        }
        *statuses.entry(f[6]).or_default() += 1;
        let key = (f[0].to_string(), f[1].to_string(), f[2].to_string());
        let seconds: f64 = f[7].parse().unwrap_or(0.0);
        for row in [
            rows.entry(key).or_default(),
            by_arch.entry(f[0].to_string()).or_default(),
        ] {
            row.seeds += 1;
            row.seconds += seconds;
        }
        if f[6] == "divergence" || f[6] == "error" {
            failures.push(format!("  {} seed {}: {} {}", f[0], f[3], f[6], f[8]));
        }
    }
    let total: usize = by_arch.values().map(|r| r.steps).sum();
    let seconds: f64 = by_arch.values().map(|r| r.seconds).sum();
    let mut out = format!(
        "differential campaign report ({})\n\
         {} seeds, {total} edit steps in all; this run: {this_run_steps} steps in {:.1} min\n\
         seeds by outcome: {statuses:?}\n\
         steps by language (a step counts for each language its program has): {langs:?}\n\n\
         target  format   languages      seeds  steps  updates  full  nothing  other  s/step  link ms\n",
        dir.display(),
        results.lines().count(),
        this_run.as_secs_f64() / 60.0,
    );
    for ((arch, format, lang), r) in &rows {
        out.push_str(&format!(
            "{arch:<7} {format:<8} {lang:<13} {:>6} {:>6} {:>8} {:>5} {:>8} {:>6} {:>7.2} {:>8.2}\n",
            r.seeds,
            r.steps,
            r.updates,
            r.fulls,
            r.nothing,
            r.other,
            r.step_ms / 1e3 / r.steps.max(1) as f64,
            r.link_ms / r.steps.max(1) as f64,
        ));
    }
    out.push_str("\nfull links by reason:\n");
    let mut reasons: Vec<(String, usize)> = reasons.into_iter().collect();
    reasons.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    for (reason, n) in &reasons {
        out.push_str(&format!("  {n:>6}  {reason}\n"));
    }
    out.push_str(&format!(
        "  ({undocumented} full links for a reason the README's list of fallbacks does not name)\n"
    ));
    out.push_str("\nspeed (a seed's wall time, its first link and native build included):\n");
    for (arch, r) in &by_arch {
        let per_minute = r.steps as f64 / (r.seconds / 60.0).max(1e-9);
        out.push_str(&format!(
            "  {arch}: {:.1} steps/minute ({:.2} s/step)\n",
            per_minute,
            r.seconds / r.steps.max(1) as f64
        ));
    }
    if total > 0 {
        let per_step = seconds / total as f64;
        out.push_str(&format!(
            "  10,000 steps at this mix of targets: about {:.1} h with one job\n",
            per_step * 10_000.0 / 3600.0
        ));
    }
    out.push_str(&format!(
        "\ndivergences: {} (harness errors: {})\n",
        statuses.get("divergence").copied().unwrap_or(0),
        statuses.get("error").copied().unwrap_or(0)
    ));
    for f in &failures {
        out.push_str(f);
        out.push('\n');
    }
    if !failures.is_empty() {
        out.push_str(&format!(
            "  (each failure's message, edits and shrunk reproducer: {}/failures/)\n",
            dir.display()
        ));
    }
    out
}

/// The campaign: runs the seeds `MACHLINK_CAMPAIGN_*` ask for, skipping
/// the ones an earlier run in the same directory finished, and writes
/// and prints the report. Fails if any seed diverged.
#[test]
#[ignore = "the long campaign: campaigns/differential.sh runs it"]
fn campaign() {
    let config = Config::from_env();
    std::fs::create_dir_all(config.dir.join("work")).unwrap();
    if config.targets.contains(&Target::Arm64) {
        testkit::require_aarch64_macho_run(&testkit::workspace_bin("macho-run"));
    }
    let results = std::fs::read_to_string(config.dir.join("results.tsv")).unwrap_or_default();
    let mut done = BTreeSet::new();
    let mut earlier_steps = 0;
    for line in results.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() >= 9 {
            if let Ok(n) = f[3].parse::<u64>() {
                done.insert((f[0].to_string(), n));
                earlier_steps += f[5].parse::<usize>().unwrap_or(0);
            }
        }
    }
    // A seed cut short by a crash left steps for no finished seed: drop
    // them, so that the steps file matches the results file.
    let steps = std::fs::read_to_string(config.dir.join("steps.tsv")).unwrap_or_default();
    let kept: String = steps
        .lines()
        .filter(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            f.len() >= 4
                && f[3]
                    .parse()
                    .is_ok_and(|n: u64| done.contains(&(f[0].to_string(), n)))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(config.dir.join("steps.tsv"), kept).unwrap();
    let seeds: Vec<u64> = config
        .seeds
        .iter()
        .copied()
        .filter(|&n| {
            let (target, _) = campaign_seed(n, &config.targets);
            !done.contains(&(target.arch().to_string(), n))
        })
        .collect();
    eprintln!(
        "campaign: {} seeds to run ({} finished earlier, {earlier_steps} steps), {} steps each, in {}",
        seeds.len(),
        done.len(),
        config.steps,
        config.dir.display()
    );
    let started = Instant::now();
    let campaign = Campaign {
        steps_done: AtomicUsize::new(0),
        files: Mutex::new(()),
        config,
    };
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..campaign.config.jobs {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let steps = earlier_steps + campaign.steps_done.load(Ordering::Relaxed);
                let out_of_time = campaign
                    .config
                    .deadline
                    .is_some_and(|d| Instant::now() >= d);
                let enough = campaign.config.total_steps.is_some_and(|t| steps >= t);
                if i >= seeds.len() || out_of_time || enough {
                    break;
                }
                campaign.run_one(seeds[i]);
            });
        }
    });
    let text = report(
        &campaign.config.dir,
        started.elapsed(),
        campaign.steps_done.load(Ordering::Relaxed),
    );
    std::fs::write(campaign.config.dir.join("report.txt"), &text).unwrap();
    eprintln!("{text}");
    let results =
        std::fs::read_to_string(campaign.config.dir.join("results.tsv")).unwrap_or_default();
    let diverged = results
        .lines()
        .filter(|l| l.split('\t').nth(6) == Some("divergence"))
        .count();
    assert_eq!(
        diverged,
        0,
        "the campaign found divergences: see {}/failures/",
        campaign.config.dir.display()
    );
}

/// The campaign's fast sample of its own machinery: a divergence planted
/// in seed 1000's program (an update while a source calls `f_2_5`) is
/// found at its first update, shrunk to two states and the few functions
/// it needs, written as a reproducer that reads back and fails the same
/// way, and passes without the plant.
#[test]
fn the_shrinker_cuts_a_planted_divergence_down() {
    let target = Target::X86_64;
    let (_, seed) = campaign_seed(1000, &[target]);
    let plant = "f_2_5(s & 255)";
    let dir = testkit::scratch_dir("incremental/campaign-shrinker");
    let mut opts = RunOptions::new(dir.join("run"));
    opts.strict = false;
    opts.plant = Some(plant.to_string());
    let message = catching(|| {
        run_seed(target, seed, 6, false, &mut opts);
    })
    .expect_err("the planted divergence is found");
    let kind = failure_kind(&message);
    assert_eq!(kind, "runs unlike a fresh link", "{message}");
    let flags = seed_flags(seed);
    let states: Vec<Program> = opts.history.iter().map(|(_, p)| p.clone()).collect();
    let shrunk = Shrinker {
        target,
        flags: &flags,
        kind,
        dir: &dir.join("shrink"),
        plant: Some(plant),
        replays: 0,
        budget: 60,
    }
    .shrink(states);
    let live = shrunk.states[1].funcs.iter().filter(|f| f.exists).count();
    assert!(
        shrunk.states.len() == 2 && live <= 3,
        "shrunk to {} states, {live} functions in {} replays",
        shrunk.states.len(),
        shrunk.replays
    );
    write_reproducer(&dir.join("reproducer"), target, &flags, &shrunk.states);
    let (t, f, sources) = read_reproducer(&dir.join("reproducer"));
    assert_eq!((t, &f), (target, &flags));
    let again = replay(t, &f, &sources, &dir.join("replay"), Some(plant))
        .expect_err("the reproducer fails as the campaign's run did");
    assert_eq!(failure_kind(&again), kind, "{again}");
    if let Err(e) = replay(t, &f, &sources, &dir.join("replay"), None) {
        panic!("without the plant the reproducer links like a fresh link: {e}");
    }
}
