//! `-arch arm64`: the corpus, a dylib and hand-written objects linked by
//! machlink for macOS arm64, checked statically: llvm-objdump reads them
//! without a warning, they import what ld64.lld-19's links of the same
//! objects import, their ad-hoc signature hashes every page, and what
//! machlink must refuse is refused by name. (Running them is
//! `corpus_arm64`; meaning what lld's links mean is `semantic_diff`.)

use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::cli::tool;
use testkit::{capture, Outcome, CORPUS_CFLAGS};

/// ld64.lld-19 or machlink, for `-arch arm64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Linker {
    Machlink,
    Lld,
}

fn try_link(linker: Linker, out: &Path, objs: &[PathBuf], extra: &[&str]) -> Outcome {
    let bin = match linker {
        Linker::Machlink => testkit::workspace_bin("machlink"),
        Linker::Lld => testkit::require_tool("ld64.lld-19"),
    };
    capture(
        testkit::ld64_arm64_command(&bin, out)
            .args(extra)
            .args(objs),
    )
}

fn link(linker: Linker, out: &Path, objs: &[PathBuf], extra: &[&str]) -> PathBuf {
    let o = try_link(linker, out, objs, extra);
    assert_eq!(
        o.code,
        0,
        "{linker:?} -arch arm64 {extra:?} failed: {}",
        o.stderr_str()
    );
    out.to_path_buf()
}

/// Assembles (or compiles) `src` for arm64 macOS with clang-19.
fn clang_arm64(dir: &Path, name: &str, src: &str, target: &str) -> PathBuf {
    let ext = if src.trim_start().starts_with('.') {
        "s"
    } else {
        "c"
    };
    let path = dir.join(format!("{name}.{ext}"));
    std::fs::write(&path, src).unwrap();
    let obj = dir.join(format!("{name}.o"));
    testkit::check(
        Command::new(testkit::require_tool("clang-19"))
            .args(["-target", target, "-O1", "-c"])
            .arg(&path)
            .arg("-o")
            .arg(&obj),
    );
    obj
}

/// Everything llvm-objdump-19 reads of an image; it must not warn.
fn objdump_clean(file: &Path) -> String {
    let o = capture(
        Command::new(testkit::require_tool("llvm-objdump-19"))
            .args([
                "--macho",
                "-d",
                "--bind",
                "--rebase",
                "--lazy-bind",
                "--weak-bind",
                "--chained-fixups",
                "--unwind-info",
                "--private-headers",
                "--exports-trie",
            ])
            .arg(file),
    );
    assert!(
        o.code == 0 && o.stderr.is_empty(),
        "llvm-objdump-19 on {}: exit {}: {}",
        file.display(),
        o.code,
        o.stderr_str()
    );
    o.stdout_str()
}

/// The imports an image binds, as `dylib symbol`, whichever fixup format
/// it uses (dyld-info opcodes or chained fixups).
fn bound_symbols(file: &Path) -> std::collections::BTreeSet<String> {
    let mut set = std::collections::BTreeSet::new();
    let chained = tool("llvm-objdump-19", &["--macho", "--dyld-info"], file);
    for line in chained.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() == 8 && cols[4] == "bind" {
            set.insert(format!("{} {}", cols[6], cols[7]));
        }
    }
    let classic = tool(
        "llvm-objdump-19",
        &["--macho", "--bind", "--lazy-bind"],
        file,
    );
    for line in classic.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.first().is_some_and(|c| c.starts_with("__")) && cols.len() >= 5 {
            let n = cols.len();
            set.insert(format!("{} {}", cols[n - 2], cols[n - 1]));
        }
    }
    set
}

/// The mach header line (`MH_MAGIC_64 ARM64 ALL 0x00 EXECUTE ...`) and
/// the load commands.
fn check_headers(file: &Path, filetype: &str) -> String {
    let headers = testkit::cli::private_headers(file);
    let header = headers
        .lines()
        .find(|l| l.trim_start().starts_with("MH_MAGIC_64"))
        .unwrap_or_else(|| panic!("{}: no mach header", file.display()));
    let cols: Vec<&str> = header.split_whitespace().collect();
    assert_eq!(
        (cols[1], cols[2], cols[4]),
        ("ARM64", "ALL", filetype),
        "{header}"
    );
    // Segments are aligned to arm64's 16 KiB pages.
    for line in headers.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("vmaddr ") {
            let v = u64::from_str_radix(v.trim().trim_start_matches("0x"), 16).unwrap();
            assert_eq!(v % 0x4000, 0, "{}: segment at {v:#x}", file.display());
        }
    }
    assert!(
        headers.contains("LC_CODE_SIGNATURE"),
        "arm64 outputs are signed"
    );
    headers
}

#[test]
fn arm64_corpus_programs_link_like_lld_in_both_fixup_formats() {
    testkit::require_tool("ld64.lld-19");
    let dirs = testkit::corpus_programs();
    let problems = std::sync::Mutex::new(Vec::new());
    testkit::parallel_for(dirs.len(), |i| {
        let name = dirs[i].file_name().unwrap().to_string_lossy().into_owned();
        let work = testkit::scratch_dir(&format!("arm64-corpus/{name}"));
        let objs =
            testkit::compile_all_macos_arm64(&testkit::c_sources(&dirs[i]), &work, CORPUS_CFLAGS);
        for format in ["-fixup_chains", "-no_fixup_chains"] {
            let ours = link(
                Linker::Machlink,
                &work.join(format!("ml{format}")),
                &objs,
                &[format],
            );
            let lld = link(
                Linker::Lld,
                &work.join(format!("lld{format}")),
                &objs,
                &[format],
            );
            let listing = objdump_clean(&ours);
            let headers = check_headers(&ours, "EXECUTE");
            assert!(
                headers.contains("vmsize 0x0000000100000000"),
                "4 GiB __PAGEZERO"
            );
            testkit::check_adhoc_signature(&std::fs::read(&ours).unwrap());
            // Every call to an import goes through a stub.
            assert!(
                !listing.contains("bl\t0x0\n"),
                "{name}: an unrelocated call"
            );
            let (a, b) = (bound_symbols(&ours), bound_symbols(&lld));
            assert!(
                a.iter().any(|s| s.starts_with("libSystem ")),
                "{name}: {a:?}"
            );
            if a != b {
                problems.lock().unwrap().push(format!(
                    "{name} {format}: machlink binds {a:?}, ld64.lld-19 {b:?}"
                ));
            }
        }
    });
    let problems = problems.into_inner().unwrap();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn arm64_dylibs_are_signed_export_their_symbols_and_link_into_executables() {
    let work = testkit::scratch_dir("arm64-dylib");
    let lib_src = "#include <stdio.h>\n\
                   int lib_counter = 3;\n\
                   int *lib_counter_ptr = &lib_counter;\n\
                   int lib_fn(int x) { printf(\"lib %d\\n\", x); return x + *lib_counter_ptr; }\n";
    let lib_c = work.join("lib.c");
    std::fs::write(&lib_c, lib_src).unwrap();
    let lib_o = work.join("lib.o");
    testkit::compile_macos_arm64(&lib_c, &lib_o, &["-O1"]);
    let install = ["-install_name", "@rpath/libarm.dylib"];
    for format in ["-fixup_chains", "-no_fixup_chains"] {
        let dylib = work.join(format!("libarm{format}.dylib"));
        let mut flags = vec!["-dylib", format];
        flags.extend(install);
        link(
            Linker::Machlink,
            &dylib,
            std::slice::from_ref(&lib_o),
            &flags,
        );
        objdump_clean(&dylib);
        let headers = check_headers(&dylib, "DYLIB");
        assert!(headers.contains("LC_ID_DYLIB") && headers.contains("@rpath/libarm.dylib"));
        assert!(!headers.contains("__PAGEZERO"));
        testkit::check_adhoc_signature(&std::fs::read(&dylib).unwrap());
        let exports = tool("llvm-nm-19", &["-g", "--defined-only"], &dylib);
        for sym in ["_lib_fn", "_lib_counter", "_lib_counter_ptr"] {
            assert!(exports.contains(sym), "{sym} not exported: {exports}");
        }
        // The pointer in data is a rebase (or a chained rebase).
        let fixups = tool(
            "llvm-objdump-19",
            &["--macho", "--rebase", "--dyld-info"],
            &dylib,
        );
        assert!(
            fixups
                .lines()
                .any(|l| l.contains("__data") && (l.contains("rebase") || l.contains("pointer"))),
            "{fixups}"
        );

        let main_c = work.join("main.c");
        std::fs::write(
            &main_c,
            "int lib_fn(int);\nextern int lib_counter;\n\
             int main(void) { return lib_fn(lib_counter) == 6 ? 0 : 1; }\n",
        )
        .unwrap();
        let main_o = work.join("main.o");
        testkit::compile_macos_arm64(&main_c, &main_o, &["-O1"]);
        let exe = work.join(format!("main{format}"));
        let objs = [main_o.clone(), dylib.clone()];
        link(Linker::Machlink, &exe, &objs, &[format]);
        objdump_clean(&exe);
        let headers = check_headers(&exe, "EXECUTE");
        assert!(headers.contains("@rpath/libarm.dylib"), "LC_LOAD_DYLIB");
        let binds = bound_symbols(&exe);
        assert!(binds.contains("libarm _lib_fn"), "{binds:?}");
        assert!(binds.contains("libarm _lib_counter"), "{binds:?}");
        let lld = link(
            Linker::Lld,
            &work.join(format!("lld{format}")),
            &objs,
            &[format],
        );
        assert_eq!(binds, bound_symbols(&lld));
    }
}

#[test]
fn arm64_outputs_are_unsigned_only_with_no_adhoc_codesign() {
    let work = testkit::scratch_dir("arm64-no-adhoc");
    let obj = clang_arm64(
        &work,
        "m",
        "int main(void) { return 0; }\n",
        "arm64-apple-macos13",
    );
    let signed = link(
        Linker::Machlink,
        &work.join("signed"),
        std::slice::from_ref(&obj),
        &[],
    );
    testkit::check_adhoc_signature(&std::fs::read(&signed).unwrap());
    let unsigned = link(
        Linker::Machlink,
        &work.join("unsigned"),
        &[obj],
        &["-no_adhoc_codesign"],
    );
    assert!(!testkit::cli::private_headers(&unsigned).contains("LC_CODE_SIGNATURE"));
}

#[test]
fn arm64_branches_out_of_reach_are_an_error_naming_the_target() {
    let work = testkit::scratch_dir("arm64-far-branch");
    let far = clang_arm64(
        &work,
        "far",
        ".globl _far\n_far = 0x300000000\n",
        "arm64-apple-macos13",
    );
    let call = clang_arm64(
        &work,
        "call",
        ".text\n.globl _main\n.p2align 2\n_main:\n  bl _far\n  ret\n",
        "arm64-apple-macos13",
    );
    let o = try_link(Linker::Machlink, &work.join("out"), &[call, far], &[]);
    testkit::cli::fails_with(&o, "branch to _far is out of range");
    assert!(o.stderr_str().contains("call.o"), "{}", o.stderr_str());
}

/// An arm64 object whose data pointer's UNSIGNED relocation is made an
/// ARM64_RELOC_AUTHENTICATED_POINTER (clang-19 writes none for arm64e).
#[test]
fn arm64_authenticated_pointers_are_refused_by_name() {
    use object::read::macho::{MachHeader, Section, Segment};
    let work = testkit::scratch_dir("arm64-auth-pointer");
    let obj = clang_arm64(
        &work,
        "p",
        "int x;\nint *p = &x;\nint main(void) { return *p; }\n",
        "arm64-apple-macos13",
    );
    let mut data = std::fs::read(&obj).unwrap();
    let le = object::Endianness::Little;
    let header = object::macho::MachHeader64::<object::Endianness>::parse(&*data, 0).unwrap();
    let mut patched = 0;
    let mut entries = Vec::new();
    let mut cmds = header.load_commands(le, &*data, 0).unwrap();
    while let Some(cmd) = cmds.next().unwrap() {
        if let Some((segment, section_data)) = cmd.segment_64().unwrap() {
            let sections = segment.sections(le, section_data).unwrap();
            for s in sections.iter().filter(|s| s.name() == b"__data") {
                entries.push((s.reloff.get(le) as usize, s.nreloc.get(le) as usize));
            }
        }
    }
    for (reloff, n) in entries {
        for i in 0..n {
            let word = reloff + 8 * i + 4;
            let packed = u32::from_le_bytes(data[word..word + 4].try_into().unwrap());
            if packed >> 28 == u32::from(object::macho::ARM64_RELOC_UNSIGNED) {
                let auth = u32::from(object::macho::ARM64_RELOC_AUTHENTICATED_POINTER) << 28;
                data[word..word + 4].copy_from_slice(&(packed & 0x0fff_ffff | auth).to_le_bytes());
                patched += 1;
            }
        }
    }
    assert_eq!(patched, 1, "one pointer in __data");
    std::fs::write(&obj, &data).unwrap();
    let o = try_link(Linker::Machlink, &work.join("out"), &[obj], &[]);
    testkit::cli::fails_with(&o, "ARM64_RELOC_AUTHENTICATED_POINTER");
    assert!(o.stderr_str().contains("arm64e"), "{}", o.stderr_str());
    assert!(o.stderr_str().contains("p.o"), "{}", o.stderr_str());
}

/// Two functions whose frames compact unwind cannot describe (x19 / x20
/// saved without a frame record) defer to DWARF: their rows must hold
/// their own FDE's offset in the output `__eh_frame`.
#[test]
fn arm64_dwarf_mode_unwind_rows_point_at_their_fde() {
    let work = testkit::scratch_dir("arm64-dwarf-unwind");
    let frameless = |name: &str, reg: &str, size: u32| {
        format!(
            ".globl {name}\n.p2align 2\n{name}:\n  .cfi_startproc\n  sub sp, sp, #{size}\n  \
             .cfi_def_cfa_offset {size}\n  str {reg}, [sp, #8]\n  .cfi_offset w{n}, -{off}\n  \
             ldr {reg}, [sp, #8]\n  add sp, sp, #{size}\n  ret\n  .cfi_endproc\n",
            n = &reg[1..],
            off = size - 8
        )
    };
    let src = format!(
        ".text\n{}.globl _main\n.p2align 2\n_main:\n  .cfi_startproc\n  \
         stp x29, x30, [sp, #-16]!\n  .cfi_def_cfa_offset 16\n  mov x29, sp\n  \
         .cfi_def_cfa w29, 16\n  .cfi_offset w30, -8\n  .cfi_offset w29, -16\n  bl _odd\n  \
         bl _odd2\n  mov w0, #0\n  ldp x29, x30, [sp], #16\n  ret\n  .cfi_endproc\n{}\
         .subsections_via_symbols\n",
        frameless("_odd", "x19", 32),
        frameless("_odd2", "x20", 48)
    );
    let obj = clang_arm64(&work, "dw", &src, "arm64-apple-macos13");
    for linker in [Linker::Machlink, Linker::Lld] {
        let out = link(
            linker,
            &work.join(format!("{linker:?}")),
            std::slice::from_ref(&obj),
            &[],
        );
        // FDE offsets by the address their function starts at.
        let frames = tool("llvm-objdump-19", &["--macho", "--dwarf=frames"], &out);
        let mut fde_at = std::collections::HashMap::new();
        for line in frames.lines().filter(|l| l.contains(" FDE ")) {
            let offset = u64::from_str_radix(line.split_whitespace().next().unwrap(), 16).unwrap();
            let pc = line
                .split("pc=")
                .nth(1)
                .unwrap()
                .split("...")
                .next()
                .unwrap();
            fde_at.insert(u64::from_str_radix(pc, 16).unwrap(), offset);
        }
        assert_eq!(fde_at.len(), 2, "{linker:?}: {frames}");
        let unwind = tool("llvm-objdump-19", &["--macho", "--unwind-info"], &out);
        let encodings: Vec<u64> = unwind
            .lines()
            .filter_map(|l| l.trim().strip_prefix("encoding["))
            .filter_map(|l| l.split("0x").nth(1))
            .map(|h| u64::from_str_radix(h.trim(), 16).unwrap())
            .collect();
        let nm = tool("llvm-nm-19", &[], &out);
        let addr_of = |sym: &str| {
            let line = nm
                .lines()
                .find(|l| l.ends_with(&format!(" {sym}")))
                .unwrap();
            u64::from_str_radix(line.split_whitespace().next().unwrap(), 16).unwrap()
        };
        for f in ["_odd", "_odd2"] {
            let want = 0x0300_0000 | fde_at[&addr_of(f)];
            assert!(
                encodings.contains(&want),
                "{linker:?}: no row {want:#x} for {f}: {unwind}"
            );
        }
    }
}

/// A universal object: the arm64 slice is taken, not an arm64e one
/// before it, nor the x86_64 one.
#[test]
fn arm64_universal_inputs_use_the_arm64_slice() {
    let work = testkit::scratch_dir("arm64-fat");
    let slice = |name: &str, target: &str, value: u32| {
        clang_arm64(
            &work,
            name,
            &format!("int main(void) {{ return {value}; }}\n"),
            target,
        )
    };
    let e = slice("e", "arm64e-apple-macos13", 0x2e);
    let a = slice("a", "arm64-apple-macos13", 0x64);
    let x = slice("x", "x86_64-apple-macos13", 0x86);
    let fat = work.join("fat.o");
    testkit::check(
        Command::new(testkit::require_tool("llvm-lipo-19"))
            .arg("-create")
            .args([&e, &x, &a])
            .arg("-output")
            .arg(&fat),
    );
    let out = link(Linker::Machlink, &work.join("out"), &[fat], &[]);
    let code = tool("llvm-objdump-19", &["--macho", "-d"], &out);
    assert!(code.contains("#0x64"), "{code}");
}

#[test]
fn arm64_incremental_links_keep_their_stubs_aligned_after_the_code_reserve() {
    // An incremental link's __text ends with slots and a reserve whose
    // sizes are a quarter more than the code, so any byte count: the
    // stubs after it must still start on an instruction boundary.
    let work = testkit::scratch_dir("arm64-incremental-stubs");
    for n in 1..=4 {
        let body: String = (0..n)
            .map(|i| format!("    x = x * {} + {i};\n", 2 * i + 3))
            .collect();
        let src = format!(
            "int printf(const char *, ...);\nint f(volatile int x) {{\n{body}    return x;\n}}\n\
             int main(void) {{ printf(\"%d\\n\", f(1)); return 0; }}\n"
        );
        let obj = clang_arm64(&work, &format!("m{n}"), &src, "arm64-apple-macos13");
        let out = link(
            Linker::Machlink,
            &work.join(format!("prog{n}")),
            &[obj],
            &["-incremental"],
        );
        let headers = testkit::cli::private_headers(&out);
        let stubs = headers
            .split("sectname __stubs")
            .nth(1)
            .expect("a __stubs section");
        let addr = stubs
            .lines()
            .find_map(|l| l.trim().strip_prefix("addr 0x"))
            .map(|a| u64::from_str_radix(a, 16).unwrap())
            .unwrap();
        assert_eq!(addr % 4, 0, "__stubs at {addr:#x} in prog{n}");
        assert_eq!(testkit::cli::macho_run(&out).code, 0, "prog{n}");
    }
}
