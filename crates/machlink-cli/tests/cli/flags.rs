//! Command-line flags that shape the output: export lists, -map, -rpath,
//! -headerpad, -e, -u, -x, @response files, --version.

use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::capture;
use testkit::cli::{compile, macho_run};

const PROGRAM: &str = "#include <stdio.h>\nint helper_one(void) { return 1; }\nint helper_two(void) { return 2; }\n\
                       int other_entry(void) { printf(\"other entry\\n\"); return 5; }\n\
                       int main(void) { printf(\"%d\\n\", helper_one() + helper_two()); return 0; }\n";

fn link(dir: &Path, objs: &[&Path], extra: &[&str]) -> PathBuf {
    let out = dir.join("out");
    let o = capture(testkit::machlink_command(&out).args(extra).args(objs));
    assert_eq!(o.code, 0, "link failed: {}", o.stderr_str());
    out
}

fn tool(name: &str, args: &[&str], file: &Path) -> String {
    let o = capture(
        Command::new(testkit::require_tool(name))
            .args(args)
            .arg(file),
    );
    assert_eq!(o.code, 0, "{name}: {}", o.stderr_str());
    o.stdout_str()
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
