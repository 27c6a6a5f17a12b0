//! `machlink demo`: incremental relinking on a fresh machine, with no C
//! compiler and no SDK. A sample program (objects compiled from
//! `demo/*.c`, embedded in the binary) and a minimal libSystem stub of our
//! own are written to a temporary directory; the program is linked
//! incrementally, run under macho-run, edited (one function grows past its
//! slot), relinked, inspected and run again.

use machlink::options::Options;
use object::{Object, ObjectSection, ObjectSymbol};
use std::path::{Path, PathBuf};
use std::time::Instant;

const MAIN_O: &[u8] = include_bytes!("../demo/main.o");
const GREET_V1_O: &[u8] = include_bytes!("../demo/greet_v1.o");
const GREET_V2_O: &[u8] = include_bytes!("../demo/greet_v2.o");

type DemoResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Writes a line to stdout, or returns the write's error (a closed stdout
/// ends the demo, quietly: see main).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

/// The demo's link command line, as a user would type it.
fn link(dir: &Path) -> DemoResult<(machlink::link::Stats, f64)> {
    let args: Vec<String> = [
        "-arch",
        "x86_64",
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

/// Where `_greet` is, and where the `jmp rel32` in its slot leads, if any.
fn inspect(exe: &Path) -> DemoResult<(u64, Option<u64>)> {
    let data = std::fs::read(exe)?;
    let file = object::File::parse(&*data)?;
    let sym = file
        .symbols()
        .find(|s| s.name() == Ok("_greet"))
        .ok_or("no _greet in the output")?;
    let text = file.section_by_name("__text").ok_or("no __text")?;
    let code = text.data()?;
    let at = (sym.address() - text.address()) as usize;
    let target = match code.get(at..at + 5) {
        Some([0xe9, d @ ..]) => {
            let disp = i32::from_le_bytes([d[0], d[1], d[2], d[3]]);
            Some((sym.address() as i64 + 5 + i64::from(disp)) as u64)
        }
        _ => None,
    };
    Ok((sym.address(), target))
}

fn run(exe: &Path) -> DemoResult<()> {
    say!("  $ macho-run {}", exe.display())?;
    let status = macho_run::run_file_in_child(exe, &[])?;
    if status != 0 {
        return Err(format!("the program exited with status {status}").into());
    }
    Ok(())
}

fn write(path: PathBuf, bytes: &[u8]) -> DemoResult<()> {
    std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()).into())
}

pub fn main() -> DemoResult<()> {
    let dir = std::env::temp_dir().join(format!("machlink-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = demo(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn demo(dir: &Path) -> DemoResult<()> {
    machlink::image::write_minimal_sdk(&dir.join("sdk"))?;
    write(dir.join("main.o"), MAIN_O)?;
    write(dir.join("greet.o"), GREET_V1_O)?;
    let exe = dir.join("demo");
    say!("machlink demo: a two-object program (main.o, greet.o) and our own libSystem stub")?;
    say!("in {}\n", dir.display())?;

    say!("1. First link with -incremental: a full link that gives every function a slot")?;
    say!("   with headroom and records the image's state.")?;
    let (stats, ms) = link(dir)?;
    say!(
        "   {} ({} bytes, {ms:.1} ms)",
        stats.incremental.unwrap_or_default(),
        stats.output_size
    )?;
    let (greet, _) = inspect(&exe)?;
    say!("   _greet is at {greet:#x}.")?;
    run(&exe)?;

    say!(
        "\n2. Edit: greet.o is recompiled with a bigger greet() ({} -> {} bytes of object).",
        GREET_V1_O.len(),
        GREET_V2_O.len()
    )?;
    // A new modification time, as a compiler's write would give it.
    std::thread::sleep(std::time::Duration::from_millis(10));
    write(dir.join("greet.o"), GREET_V2_O)?;
    let (stats, ms) = link(dir)?;
    say!(
        "   relink: {} ({ms:.1} ms in all)",
        stats.incremental.unwrap_or_default()
    )?;
    match inspect(&exe)? {
        (addr, Some(body)) if addr == greet => say!(
            "   greet() outgrew its slot: its body moved to {body:#x}; the slot at {addr:#x}\n   \
             is now a 5-byte `jmp` trampoline, so every call and the pointer main.o\n   \
             stored keep working without being rewritten."
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
         through one trampoline), {} fixups inside their segments, {} exports matching\n   \
         the symbol table.",
        r.functions,
        r.branches,
        r.fixups,
        r.exports
    )?;
    Ok(())
}
