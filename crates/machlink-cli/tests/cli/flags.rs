//! Command-line flags that shape the output: export lists, -map, -rpath,
//! -headerpad, -e, -u, -x, @response files, --version.

use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::capture;
use testkit::cli::{compile, macho_run, tool};

const PROGRAM: &str = "#include <stdio.h>\nint helper_one(void) { return 1; }\nint helper_two(void) { return 2; }\n\
                       int other_entry(void) { printf(\"other entry\\n\"); return 5; }\n\
                       int main(void) { printf(\"%d\\n\", helper_one() + helper_two()); return 0; }\n";

fn link(dir: &Path, objs: &[&Path], extra: &[&str]) -> PathBuf {
    let out = dir.join("out");
    let o = capture(testkit::machlink_command(&out).args(extra).args(objs));
    assert_eq!(o.code, 0, "link failed: {}", o.stderr_str());
    out
}

#[test]
fn export_lists_decide_what_the_trie_exports() {
    let dir = testkit::scratch_dir("flags/exports");
    let obj = compile(&dir, "p", PROGRAM);
    let list = dir.join("exported.txt");
    std::fs::write(&list, "# only main\n_main\n").unwrap();
    let exe = link(
        &dir,
        &[&obj],
        &["-exported_symbols_list", list.to_str().unwrap()],
    );
    let trie = tool("llvm-objdump-19", &["--macho", "--exports-trie"], &exe);
    assert!(
        trie.contains("_main") && !trie.contains("_helper_one"),
        "{trie}"
    );
    let nm = tool("llvm-nm-19", &["-m"], &exe);
    assert!(
        nm.contains("non-external (was a private external) _helper_one"),
        "{nm}"
    );
    assert_eq!(macho_run(&exe).stdout_str(), "3\n");

    std::fs::write(&list, "_helper_*\n").unwrap();
    let exe = link(
        &dir,
        &[&obj],
        &["-unexported_symbols_list", list.to_str().unwrap()],
    );
    let trie = tool("llvm-objdump-19", &["--macho", "--exports-trie"], &exe);
    assert!(
        trie.contains("_main") && trie.contains("_other_entry") && !trie.contains("_helper_two"),
        "{trie}"
    );
}

#[test]
fn map_rpath_headerpad_and_entry() {
    let dir = testkit::scratch_dir("flags/misc");
    let obj = compile(&dir, "p", PROGRAM);
    let map = dir.join("out.map");
    let exe = link(
        &dir,
        &[&obj],
        &[
            "-map",
            map.to_str().unwrap(),
            "-rpath",
            "@loader_path/../lib",
            "-headerpad",
            "0x1000",
        ],
    );
    let text = std::fs::read_to_string(&map).unwrap();
    assert!(
        text.contains("# Sections:") && text.contains("__TEXT\t__text"),
        "{text}"
    );
    assert!(text.contains("] _main") && text.contains("p.o"), "{text}");
    let headers = tool("llvm-objdump-19", &["--macho", "--private-headers"], &exe);
    assert!(
        headers.contains("LC_RPATH") && headers.contains("@loader_path/../lib"),
        "{headers}"
    );
    // The first section starts after the load commands plus 0x1000 bytes of padding.
    let sizeofcmds: u64 = headers
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 8 && f[0] == "MH_MAGIC_64").then(|| f[6].parse().unwrap())
        })
        .expect("header line");
    let sections = tool("llvm-objdump-19", &["--macho", "--section-headers"], &exe);
    let text_addr = sections
        .lines()
        .find(|l| l.contains("__text"))
        .and_then(|l| l.split_whitespace().nth(3))
        .map(|a| u64::from_str_radix(a, 16).unwrap())
        .unwrap();
    assert!(
        text_addr - 0x1_0000_0000 >= 32 + sizeofcmds + 0x1000,
        "{text_addr:#x}"
    );
    assert_eq!(macho_run(&exe).stdout_str(), "3\n");

    let exe = link(&dir, &[&obj], &["-e", "_other_entry"]);
    let o = macho_run(&exe);
    assert_eq!((o.code, o.stdout_str()), (5, "other entry\n".to_string()));
}

/// A `-map` file's parts: the files (index, path) and the symbol rows
/// (address, size, file index, label).
type MapRows = (Vec<(usize, String)>, Vec<(u64, u64, usize, String)>);

fn parse_map(text: &str) -> MapRows {
    let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
    let (mut files, mut rows, mut part) = (Vec::new(), Vec::new(), "");
    for line in text.lines() {
        if let Some(p) = line.strip_prefix("# ") {
            part = if p.ends_with(':') { p } else { part };
            continue;
        }
        let (idx_at, rest) = match part {
            "Object files:" => (0, line),
            "Symbols:" => (line.find('[').unwrap(), line),
            _ => continue,
        };
        let close = rest[idx_at..].find(']').unwrap() + idx_at;
        let index: usize = rest[idx_at + 1..close].trim().parse().unwrap();
        let name = rest[close + 2..].to_string();
        if part == "Object files:" {
            files.push((index, name));
        } else {
            let f: Vec<&str> = line[..idx_at].split_whitespace().collect();
            rows.push((hex(f[0]), hex(f[1]), index, name));
        }
    }
    (files, rows)
}

/// `-map` lists the dylibs linked against (here libSystem.tbd) among the
/// files and labels every synthetic section's entries as ld64 does: stubs,
/// stub helper entries and lazy pointers by the imported symbol and its
/// dylib, GOT slots as `non-lazy-pointer-to[-local]: NAME`, the stub helper
/// header `helper helper`, `__unwind_info` as `compact unwind info`.
#[test]
fn map_lists_dylibs_and_labels_synthetic_sections() {
    let dir = testkit::scratch_dir("flags/map-labels");
    let obj = compile(&dir, "p", PROGRAM);
    for (mode, extra) in [("chained", None), ("classic", Some("-no_fixup_chains"))] {
        let map = dir.join(format!("{mode}.map"));
        let mut flags = vec!["-map", map.to_str().unwrap()];
        flags.extend(extra);
        let exe = link(&dir, &[&obj], &flags);
        let text = std::fs::read_to_string(&map).unwrap();
        let (files, rows) = parse_map(&text);
        let libsystem = files
            .iter()
            .find(|(_, p)| p.ends_with("/usr/lib/libSystem.tbd"))
            .unwrap_or_else(|| panic!("{mode}: libSystem.tbd is not listed:\n{text}"))
            .0;
        assert!(
            files.iter().any(|(i, p)| *i == 1 && p.ends_with("p.o")),
            "{mode}: {text}"
        );
        assert!(
            !text.contains("<lazy pointers>")
                && !text.contains("<GOT>")
                && !text.contains("<stubs>"),
            "{mode}: {text}"
        );
        let sections = tool("llvm-objdump-19", &["--macho", "--section-headers"], &exe);
        let section = |name: &str| -> Option<(u64, u64)> {
            sections.lines().find_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() >= 4 && f[1] == name).then(|| {
                    let n = |s: &str| u64::from_str_radix(s, 16).unwrap();
                    (n(f[3]), n(f[2]))
                })
            })
        };
        let in_section = |name: &str| -> Vec<&(u64, u64, usize, String)> {
            let (addr, size) = section(name).unwrap_or((0, 0));
            rows.iter()
                .filter(|r| r.0 >= addr && r.0 < addr + size)
                .collect()
        };
        // Each indirect symbol of __stubs, __got and __la_symbol_ptr has
        // its row at its address.
        let indirect = tool("llvm-objdump-19", &["--macho", "--indirect-symbols"], &exe);
        let mut current = "";
        let mut checked = 0;
        for line in indirect.lines() {
            if let Some(rest) = line.strip_prefix("Indirect symbols for (") {
                current = rest.split([',', ')']).nth(1).unwrap_or("");
                continue;
            }
            let f: Vec<&str> = line.split_whitespace().collect();
            let Some(addr) = f
                .first()
                .and_then(|a| u64::from_str_radix(a.trim_start_matches("0x"), 16).ok())
            else {
                continue;
            };
            let name = f[f.len() - 1];
            let row = rows
                .iter()
                .find(|r| r.0 == addr)
                .unwrap_or_else(|| panic!("{mode}: no row at {addr:#x} ({name}):\n{text}"));
            let want = match current {
                // Every GOT slot here leads into libSystem (none to a local).
                "__got" => (0, format!("non-lazy-pointer-to: {name}")),
                _ => (libsystem, name.to_string()),
            };
            assert_eq!((row.2, row.3.clone()), want, "{mode} {current}: {text}");
            checked += 1;
        }
        assert!(checked >= if extra.is_some() { 3 } else { 2 }, "{indirect}");
        let unwind = in_section("__unwind_info");
        assert_eq!(unwind.len(), 1, "{mode}: {text}");
        assert_eq!(
            (unwind[0].2, unwind[0].3.as_str()),
            (0, "compact unwind info")
        );
        let helper = in_section("__stub_helper");
        if extra.is_some() {
            assert_eq!(helper[0].3, "helper helper", "{mode}: {helper:?}");
            // One helper entry per stub, in the stubs' order.
            let label = |r: &&(u64, u64, usize, String)| (r.2, r.3.clone());
            let stubs: Vec<_> = in_section("__stubs").iter().map(label).collect();
            let entries: Vec<_> = helper[1..].iter().map(label).collect();
            assert_eq!(entries, stubs, "{mode}: {text}");
            assert!(
                stubs.contains(&(libsystem, "_printf".into())),
                "{mode}: {text}"
            );
            assert!(!in_section("__la_symbol_ptr").is_empty(), "{mode}: {text}");
        } else {
            assert!(helper.is_empty(), "{mode}: {text}");
        }
        assert!(
            in_section("__cstring")
                .iter()
                .any(|r| r.3 == "literal string: %d\\n"),
            "{mode}: {text}"
        );
    }
}

#[test]
fn response_files_strip_locals_and_version() {
    let dir = testkit::scratch_dir("flags/response");
    let obj = compile(&dir, "p", "static int hidden(void) { return 4; }\nint (*ptr)(void) = hidden;\nint main(void) { return ptr(); }\n");
    let rsp = dir.join("args.rsp");
    std::fs::write(&rsp, format!("-x\n\"{}\"\n", obj.display())).unwrap();
    let exe = link(&dir, &[], &[&format!("@{}", rsp.display())]);
    assert_eq!(macho_run(&exe).code, 4);
    // (Stabs of the debug map may still name it: -x strips symbols, -S debug info.)
    let nm = tool("llvm-nm-19", &[], &exe);
    assert!(!nm.contains("_hidden"), "-x strips local symbols: {nm}");
    let v = capture(Command::new(testkit::workspace_bin("machlink")).arg("--version"));
    assert!(
        v.code == 0 && v.stdout_str().starts_with("machlink "),
        "{}",
        v.stdout_str()
    );
}

#[test]
fn dead_strip_drops_unreachable_code_and_its_undefined_references() {
    let dir = testkit::scratch_dir("flags/dead-strip");
    let obj = compile(
        &dir,
        "d",
        "#include <stdio.h>\nvoid never_defined(void);\n\
         int unused_global(void) { never_defined(); return 2; }\n\
         __attribute__((used)) static int kept(void) { return 3; }\n\
         int main(void) { printf(\"dead strip\\n\"); return 0; }\n",
    );
    let exe = link(&dir, &[&obj], &["-dead_strip"]);
    assert_eq!(macho_run(&exe).stdout_str(), "dead strip\n");
    let nm = tool("llvm-nm-19", &[], &exe);
    assert!(
        !nm.contains("_unused_global") && nm.contains("_kept") && nm.contains("_main"),
        "{nm}"
    );
    let o = capture(testkit::machlink_command(&dir.join("out2")).arg(&obj));
    assert!(
        o.code == 1 && o.stderr_str().contains("undefined symbol: _never_defined"),
        "{}",
        o.stderr_str()
    );
}

/// `(address, size)` of every function, from the debug map's N_FUN pairs.
fn function_sizes(exe: &Path) -> Vec<(u64, u64)> {
    // -p: symbol-table order, where each named N_FUN is followed by its size.
    let nm = tool("llvm-nm-19", &["-a", "-p"], exe);
    let mut out = Vec::new();
    let mut start = None;
    for line in nm.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 5 && f[4] == "FUN" {
            let value = u64::from_str_radix(f[0], 16).unwrap();
            match (f.len(), start.take()) {
                (6, _) => start = Some(value),
                (5, Some(addr)) => out.push((addr, value)),
                _ => {}
            }
        }
    }
    out.sort_unstable();
    out
}

#[test]
fn incremental_links_give_every_function_a_slot_with_headroom() {
    let work = testkit::scratch_dir("flags/incremental");
    let objs = testkit::compile_corpus_macos("xobj_calls", &work, &["-O1", "-g"]);
    let refs: Vec<&Path> = objs.iter().map(|p| p.as_path()).collect();
    let plain = link(&work, &refs, &[]);
    let plain_text = text_size(&plain);
    std::fs::rename(&plain, work.join("plain")).unwrap();
    let inc = link(&work, &refs, &["-incremental"]);
    assert_eq!(macho_run(&inc).code, macho_run(&work.join("plain")).code);
    assert!(
        text_size(&inc) >= plain_text + plain_text / 4 + 4096,
        "no reserved space in __text"
    );
    let funcs = function_sizes(&inc);
    assert!(funcs.len() >= 3, "{funcs:?}");
    let bytes = std::fs::read(&inc).unwrap();
    for pair in funcs.windows(2) {
        let ((a, size), (b, _)) = (pair[0], pair[1]);
        assert!(
            b - a >= size + 16,
            "function at {a:#x} ({size} bytes) has no headroom before {b:#x}"
        );
        // The headroom is int3.
        let end = (a + size - 0x1_0000_0000) as usize;
        assert!(
            bytes[end..(b - 0x1_0000_0000) as usize]
                .iter()
                .all(|&x| x == 0xcc),
            "padding after {a:#x}"
        );
    }
}

fn text_size(exe: &Path) -> u64 {
    let sections = tool("llvm-objdump-19", &["--macho", "--section-headers"], exe);
    let line = sections.lines().find(|l| l.contains("__text")).unwrap();
    u64::from_str_radix(line.split_whitespace().nth(2).unwrap(), 16).unwrap()
}
