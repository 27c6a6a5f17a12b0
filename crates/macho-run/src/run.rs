//! Running a loaded image: initialisers, then `main` through LC_MAIN.

use crate::error::LoadError;
use crate::images::Program;
use crate::macho::Image;
use crate::shims::{self, Host};
use crate::{fixups, loader};
use object::macho;
use std::ffi::{c_char, c_int, CString, OsString};
use std::os::unix::ffi::OsStrExt;

type Main =
    extern "C" fn(c_int, *const *mut c_char, *const *mut c_char, *const *mut c_char) -> c_int;
type Initializer = extern "C" fn(
    c_int,
    *const *mut c_char,
    *const *mut c_char,
    *const *mut c_char,
    *const shims::ProgramVars,
);

/// A program ready to run: mapped, fixed up and bound.
pub struct Loaded {
    entry: u64,
    initializers: Vec<u64>,
}

/// Parses, maps, fixes up and binds `data`, the contents of `file`, and
/// the dylibs it needs.
pub fn load(data: &[u8], file: &str) -> Result<Loaded, LoadError> {
    let image = Image::parse(data, file)?;
    let plan = fixups::plan(&image)?;
    let entry = image
        .fileoff_to_vmaddr(image.entryoff)
        .filter(|&a| {
            image
                .segment_at(a)
                .is_some_and(|s| s.initprot & macho::VM_PROT_EXECUTE != 0)
        })
        .ok_or_else(|| {
            image.blame.whole(format!(
                "LC_MAIN entry offset {:#x} is not inside an executable segment",
                image.entryoff
            ))
        })?;
    let host = Host::new();
    let program = Program::load(image, plan, file)?;
    program.bind_and_fix(&host)?;
    // Before any initialiser runs: it may throw, or ask dyld about images.
    for img in &program.images {
        crate::unwind::registry::register(&img.image, &img.mapped, &img.path);
    }
    // Dylibs' initialisers first, dependencies before their users, then
    // the main program's.
    let mut inits = Vec::new();
    for &i in program.init_order.iter().chain(std::iter::once(&0)) {
        let img = &program.images[i];
        inits.extend(initializers(&img.image, &img.mapped)?);
    }
    Ok(Loaded {
        entry: program.images[0].mapped.addr(entry),
        initializers: inits,
    })
}

/// Addresses of `__mod_init_func` pointers and `__init_offsets` entries, in
/// section order, read from fixed-up memory.
fn initializers(image: &Image, mapped: &loader::Mapped) -> Result<Vec<u64>, LoadError> {
    let mut out = Vec::new();
    for s in image.sections() {
        match s.kind() {
            macho::S_MOD_INIT_FUNC_POINTERS => {
                for i in 0..s.size / 8 {
                    // SAFETY: the section lies inside a mapped segment.
                    out.push(unsafe { mapped.read_u64(s.addr + i * 8) });
                }
            }
            macho::S_INIT_FUNC_OFFSETS => {
                for i in 0..s.size / 4 {
                    // SAFETY: as above.
                    let off =
                        unsafe { (mapped.addr(s.addr + i * 4) as *const u32).read_unaligned() };
                    out.push(mapped.base + u64::from(off));
                }
            }
            _ => continue,
        }
    }
    for &f in &out {
        if !mapped.contains(f, 1) {
            return Err(image
                .blame
                .whole(format!("initializer address {f:#x} is outside the image")));
        }
    }
    Ok(out)
}

fn c_strings(items: impl IntoIterator<Item = Vec<u8>>) -> Vec<*mut c_char> {
    items
        .into_iter()
        .map(|mut s| {
            s.retain(|&b| b != 0);
            CString::new(s).unwrap().into_raw()
        })
        .chain(std::iter::once(std::ptr::null_mut()))
        .collect()
}

impl Loaded {
    /// Runs initialisers and `main(argc, argv, envp, apple)`, then exits the
    /// process through the C library's `exit`, so atexit handlers run and
    /// stdio is flushed, as on macOS.
    pub fn run(self, program: &str, args: &[OsString]) -> ! {
        let argv = c_strings(
            std::iter::once(program.as_bytes().to_vec())
                .chain(args.iter().map(|a| a.as_bytes().to_vec())),
        );
        let argc = argv.len() - 1;
        // Leaked on purpose: the program may keep pointers into argv forever.
        let argv: &'static mut [*mut c_char] = Vec::leak(argv);
        // SAFETY: argv is leaked, NUL-terminated C strings plus a null.
        unsafe { shims::set_args(argc, argv.as_mut_ptr()) };
        let apple: &'static mut [*mut c_char] =
            Vec::leak(c_strings([
                format!("executable_path={program}").into_bytes()
            ]));
        extern "C" {
            static environ: *const *mut c_char;
        }
        // SAFETY: the addresses were checked to lie in the mapped image and
        // the program was linked to be called with these C signatures.
        unsafe {
            // Rust ignores SIGPIPE for its own sake; the program expects the
            // default disposition, under which writing to a closed pipe kills it.
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            // The program starts with errno 0, whatever loading left there
            // (a refused MAP_FIXED_NOREPLACE probe sets EEXIST when sliding).
            *libc::__errno_location() = 0;
            for &f in &self.initializers {
                let init: Initializer = std::mem::transmute(f as usize);
                init(
                    argc as c_int,
                    argv.as_ptr(),
                    environ,
                    apple.as_ptr(),
                    &raw const shims::VARS,
                );
            }
            let main: Main = std::mem::transmute(self.entry as usize);
            let status = main(argc as c_int, argv.as_ptr(), environ, apple.as_ptr());
            libc::exit(status)
        }
    }
}

/// Runs the Mach-O executable at `path` in a child process (the image is
/// mapped into the process that runs it, and its exit ends that process)
/// and returns its exit status, or 128 + the signal that ended it. Stdout
/// and stderr are inherited. An arm64 program started from x86_64 runs
/// through the aarch64 build, as `macho-run PROG` does.
pub fn run_file_in_child(path: &std::path::Path, args: &[OsString]) -> std::io::Result<i32> {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: the child only loads and runs the image, then exits; it
    // never returns into the caller's code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if pid == 0 {
        let name = path.display().to_string();
        let loaded = std::fs::read(path)
            .map_err(|source| LoadError::Io {
                file: name.clone(),
                source,
            })
            .and_then(|data| {
                crate::foreign::exec_if_foreign(&data, path, args);
                load(&data, &name)
            });
        match loaded {
            Ok(program) => program.run(&name, args),
            Err(e) => {
                eprintln!("macho-run: error: {e}");
                // SAFETY: leave the child without running the parent's
                // exit handlers.
                unsafe { libc::_exit(e.exit_status()) }
            }
        }
    }
    let mut status = 0;
    // SAFETY: waiting for the child we forked.
    if unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    })
}
