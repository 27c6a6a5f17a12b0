//! `machlink demo [--arch x86_64|arm64]`: incremental relinking on a fresh
//! machine, with no C compiler and no SDK. A sample program (objects
//! compiled from `demo/*.c` for both targets, embedded in the binary) and a
//! minimal libSystem stub of our own are written to a temporary directory;
//! the program is linked incrementally, run under macho-run, edited (one
//! function grows past its slot), relinked, inspected and run again.
//!
//! The target defaults to the host's: arm64 on an aarch64 machine (what a
//! developer on Apple Silicon iterates on), x86_64 elsewhere. arm64
//! programs run on an x86_64 host through macho-run's aarch64 build under
//! qemu-aarch64 (see macho-run's `foreign` module); the demo checks that
//! those are there before it links anything.

use machlink::arch::Arch;
use machlink::options::Options;
use object::{Object, ObjectSection, ObjectSymbol};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One target's build of the sample program (see demo/build.sh).
struct Sample {
    arch: &'static str,
    main_o: &'static [u8],
    greet_v1_o: &'static [u8],
    greet_v2_o: &'static [u8],
}

const X86_64: Sample = Sample {
    arch: "x86_64",
    main_o: include_bytes!("../demo/x86_64/main.o"),
    greet_v1_o: include_bytes!("../demo/x86_64/greet_v1.o"),
    greet_v2_o: include_bytes!("../demo/x86_64/greet_v2.o"),
};

const ARM64: Sample = Sample {
    arch: "arm64",
    main_o: include_bytes!("../demo/arm64/main.o"),
    greet_v1_o: include_bytes!("../demo/arm64/greet_v1.o"),
    greet_v2_o: include_bytes!("../demo/arm64/greet_v2.o"),
};

/// What `machlink demo --help` prints.
pub const USAGE: &str = "usage: machlink demo [--arch x86_64|arm64]\n\
    Links a sample program incrementally, runs it under macho-run, grows one\n\
    function past its slot, relinks (the old slot becomes a trampoline), runs\n\
    it again and checks the image with `machlink verify`. Needs no compiler or\n\
    SDK. --arch defaults to the host's architecture (arm64 on aarch64, else\n\
    x86_64); arm64 on an x86_64 host runs under qemu-aarch64 and needs\n\
    macho-run's aarch64 build (`cargo build --release -p macho-run --target\n\
    aarch64-unknown-linux-gnu`).";

type DemoResult<T> = Result<T, Box<dyn std::error::Error>>;

/// A command line the demo does not take (exit status 2, with the usage).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}\n{USAGE}", self.0)
    }
}

impl std::error::Error for UsageError {}

/// Writes a line to stdout, or returns the write's error (a closed stdout
/// ends the demo, quietly: see main).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

/// What the demo was asked to do.
pub enum Command {
    Run { arch: &'static str },
    Help,
}

/// The host's architecture as `-arch` names it: what the demo links for
/// unless told otherwise.
pub fn host_arch() -> &'static str {
    if cfg!(target_arch = "aarch64") {
        "arm64"
    } else {
        "x86_64"
    }
}

/// Parses the arguments after `demo`.
pub fn parse(args: &[String]) -> Result<Command, UsageError> {
    let mut arch = host_arch();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--help" | "-help" | "-h" => return Ok(Command::Help),
            "--arch" | "-arch" => {
                let value = it
                    .next()
                    .ok_or_else(|| UsageError(format!("{a} needs a value")))?;
                arch = match value.as_str() {
                    "x86_64" => X86_64.arch,
                    "arm64" | "aarch64" => ARM64.arch,
                    other => {
                        return Err(UsageError(format!(
                            "the demo has no sample for the architecture '{other}'"
                        )))
                    }
                };
            }
            other => return Err(UsageError(format!("unknown argument '{other}'"))),
        }
    }
    Ok(Command::Run { arch })
}

/// The demo's link command line, as a user would type it.
fn link(dir: &Path, arch: &str) -> DemoResult<(machlink::link::Stats, f64)> {
    let args: Vec<String> = [
        "-arch",
        arch,
        "-platform_version",
        "macos",
        "13.0",
        "13.0",
        "-incremental",
        "-lSystem",
        "-o",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        dir.join("demo").display().to_string(),
        "-syslibroot".into(),
        dir.join("sdk").display().to_string(),
        dir.join("main.o").display().to_string(),
        dir.join("greet.o").display().to_string(),
    ])
    .collect();
    let opts = Options::parse(args)?;
    let start = Instant::now();
    let stats = machlink::link::link(&opts)?;
    Ok((stats, start.elapsed().as_secs_f64() * 1e3))
}

/// A trampoline found in a function's slot.
struct Trampoline {
    target: u64,
    /// What it is, for the narration ("a 5-byte `jmp rel32`").
    form: &'static str,
}

/// How a trampoline of `len` bytes is written for `arch` (the lengths
/// `Arch::write_trampoline` returns).
fn trampoline_form(arch: &str, len: usize) -> &'static str {
    match (arch, len) {
        ("x86_64", 5) => "a 5-byte `jmp rel32`",
        ("arm64", 4) => "a 4-byte `b`",
        ("arm64", 12) => "a 12-byte `adrp x16 / add x16 / br x16`",
        _ => "an unknown",
    }
}

/// Where `_greet` is, and the trampoline in its slot, if any: the slot's
/// first instruction decodes as the target's trampoline, and writing that
/// trampoline afresh gives the same bytes (so a function that merely
/// starts with a branch does not count).
fn inspect(exe: &Path, arch: &dyn Arch) -> DemoResult<(u64, Option<Trampoline>)> {
    let data = std::fs::read(exe)?;
    let file = object::File::parse(&*data)?;
    let sym = file
        .symbols()
        .find(|s| s.name() == Ok("_greet"))
        .ok_or("no _greet in the output")?;
    let text = file.section_by_name("__text").ok_or("no __text")?;
    let code = text.data()?;
    let at = sym
        .address()
        .checked_sub(text.address())
        .and_then(|off| code.get(off as usize..))
        .ok_or("_greet lies outside __text")?;
    let Some(target) = arch.read_trampoline(at, sym.address()) else {
        return Ok((sym.address(), None));
    };
    let mut fresh = [0u8; 16];
    let found = arch
        .write_trampoline(&mut fresh, sym.address(), target)
        .filter(|&n| at.get(..n) == Some(&fresh[..n]))
        .map(|n| Trampoline {
            target,
            form: trampoline_form(arch.name(), n),
        });
    Ok((sym.address(), found))
}

fn run(exe: &Path) -> DemoResult<()> {
    say!("  $ macho-run {}", exe.display())?;
    let status = macho_run::run_file_in_child(exe, &[])?;
    if status != 0 {
        return Err(format!("the program exited with status {status}").into());
    }
    Ok(())
}

/// Whether this machine can run `arch`'s programs under macho-run; the
/// reason, with what to build or install, when it cannot.
fn check_runner(arch: &str) -> DemoResult<()> {
    match (host_arch(), arch) {
        (host, want) if host == want => Ok(()),
        ("x86_64", "arm64") => macho_run::foreign::aarch64_runner()
            .map(|_| ())
            .map_err(|why| {
                format!(
                    "--arch arm64 on this x86_64 machine runs the program under qemu-aarch64, \
                     and an arm64 Mach-O {why}"
                )
                .into()
            }),
        (host, want) => Err(format!(
            "macho-run runs {want} programs on an {want} host only, and this one is {host}: \
             use --arch {host}"
        )
        .into()),
    }
}

fn write(path: PathBuf, bytes: &[u8]) -> DemoResult<()> {
    std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()).into())
}

pub fn main(args: &[String]) -> DemoResult<()> {
    let arch = match parse(args)? {
        Command::Help => return Ok(say!("{USAGE}")?),
        Command::Run { arch } => arch,
    };
    check_runner(arch)?;
    let dir = std::env::temp_dir().join(format!("machlink-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let sample = if arch == ARM64.arch { &ARM64 } else { &X86_64 };
    let result = demo(&dir, sample);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn demo(dir: &Path, sample: &Sample) -> DemoResult<()> {
    let arch = machlink::arch::by_name(sample.arch).ok_or("no such target")?;
    machlink::image::write_minimal_sdk(&dir.join("sdk"))?;
    write(dir.join("main.o"), sample.main_o)?;
    write(dir.join("greet.o"), sample.greet_v1_o)?;
    let exe = dir.join("demo");
    say!(
        "machlink demo ({}): a two-object program (main.o, greet.o) and our own libSystem stub",
        sample.arch
    )?;
    say!("in {}\n", dir.display())?;

    say!("1. First link with -incremental: a full link that gives every function a slot")?;
    say!("   with headroom and records the image's state.")?;
    let (stats, ms) = link(dir, sample.arch)?;
    say!(
        "   {} ({} bytes, {ms:.1} ms)",
        stats.incremental.unwrap_or_default(),
        stats.output_size
    )?;
    let (greet, _) = inspect(&exe, arch)?;
    say!("   _greet is at {greet:#x}.")?;
    run(&exe)?;

    say!(
        "\n2. Edit: greet.o is recompiled with a bigger greet() ({} -> {} bytes of object).",
        sample.greet_v1_o.len(),
        sample.greet_v2_o.len()
    )?;
    // A new modification time, as a compiler's write would give it.
    std::thread::sleep(std::time::Duration::from_millis(10));
    write(dir.join("greet.o"), sample.greet_v2_o)?;
    let (stats, ms) = link(dir, sample.arch)?;
    say!(
        "   relink: {} ({ms:.1} ms in all)",
        stats.incremental.unwrap_or_default()
    )?;
    match inspect(&exe, arch)? {
        (addr, Some(t)) if addr == greet => say!(
            "   greet() outgrew its slot: its body moved to {:#x}; the slot at {addr:#x}\n   \
             is now {} trampoline, so every call and the pointer main.o\n   \
             stored keep working without being rewritten.",
            t.target,
            t.form
        )?,
        (addr, None) if addr == greet => {
            say!("   greet() still fit its slot at {addr:#x} and was overwritten in place.")?
        }
        (addr, _) => {
            return Err(
                format!("_greet moved from {greet:#x} to {addr:#x}: a broken invariant").into(),
            )
        }
    }
    run(&exe)?;

    say!("\n3. `machlink verify` checks the invariants of the updated image:")?;
    let data = std::fs::read(&exe)?;
    let name = exe.display().to_string();
    let r = crate::verify::verify(&data, &name)?;
    if !r.violations.is_empty() {
        return Err(format!("verify: {}", r.violations.join("; ")).into());
    }
    say!(
        "   ok: {} functions, {} direct branches (each lands on a function start or\n   \
         through one trampoline; {} trampolines, none leading to another), {} fixups\n   \
         inside their segments, {} exports matching the symbol table.",
        r.functions,
        r.branches,
        r.trampolines,
        r.fixups,
        r.exports
    )?;
    Ok(())
}
