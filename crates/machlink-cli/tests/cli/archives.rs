//! Static archives: members are loaded only when they define a symbol that
//! is still undefined (transitively), or all of them with -all_load or
//! -force_load; both BSD (darwin) and GNU archive formats are read.

use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::capture;
use testkit::cli::{compile, run_ok};

fn archive(dir: &Path, name: &str, format: &str, members: &[PathBuf]) -> PathBuf {
    let lib = dir.join(format!("lib{name}-{format}.a"));
    let _ = std::fs::remove_file(&lib);
    testkit::check(
        Command::new(testkit::require_tool("llvm-ar-19"))
            .args(["rcs", &format!("--format={format}")])
            .arg(&lib)
            .args(members),
    );
    lib
}

/// Links `main.o` with `args` and returns what the program prints.
fn link_and_run(dir: &Path, main: &Path, args: &[&str]) -> String {
    let out = dir.join("prog");
    let mut cmd = testkit::machlink_command(&out);
    let o = capture(cmd.arg(main).args(args));
    assert_eq!(o.code, 0, "link failed: {}", o.stderr_str());
    run_ok(&out)
}

#[test]
fn members_are_pulled_on_demand_or_all_with_all_load() {
    let dir = testkit::scratch_dir("archives");
    let main = compile(&dir, "main", "#include <stdio.h>\nint lib_a(void);\nint main(void) { printf(\"%d\\n\", lib_a()); return 0; }\n");
    let members = vec![
        compile(&dir, "a", "int lib_b(void);\nint lib_a(void) { return lib_b() + 1; }\n"),
        compile(&dir, "b", "int lib_b(void) { return 41; }\n"),
        compile(
            &dir,
            "c",
            "#include <stdio.h>\n__attribute__((constructor)) static void hello(void) { puts(\"c loaded\"); }\n\
             int lib_b(void) { return -1; } /* would clash with b.o if loaded */\n",
        ),
    ];
    let c_only = compile(
        &dir,
        "c2",
        "#include <stdio.h>\n__attribute__((constructor)) static void hello(void) { puts(\"c2 loaded\"); }\nint lib_c2(void) { return 0; }\n",
    );
    for format in ["darwin", "gnu"] {
        let lib = archive(&dir, "parts", format, &members);
        let lib_str = lib.to_string_lossy().into_owned();
        // Only a.o and b.o are needed: c.o's duplicate lib_b is never seen.
        assert_eq!(link_and_run(&dir, &main, &[&lib_str]), "42\n", "{format}");
        let name = format!("-lparts-{format}");
        let search = format!("-L{}", dir.display());
        assert_eq!(
            link_and_run(&dir, &main, &[&search, &name]),
            "42\n",
            "{format} via -l"
        );

        let extra = archive(&dir, "extra", format, std::slice::from_ref(&c_only));
        let extra_str = extra.to_string_lossy().into_owned();
        assert_eq!(
            link_and_run(&dir, &main, &[&lib_str, "-force_load", &extra_str]),
            "c2 loaded\n42\n",
            "{format}: -force_load loads every member"
        );
        let dup = capture(
            testkit::machlink_command(&dir.join("dup"))
                .args(["-all_load", &lib_str])
                .arg(&main),
        );
        assert!(
            dup.stderr_str().contains("duplicate symbol: _lib_b"),
            "{format}: -all_load loads c.o too: {}",
            dup.stderr_str()
        );
        // With -all_load every member loads: c.o's lib_b would clash, so
        // use an archive of a.o and b.o only.
        let ab = archive(&dir, "ab", format, &members[..2]);
        let ab_str = ab.to_string_lossy().into_owned();
        let all = link_and_run(&dir, &main, &["-all_load", &ab_str, &extra_str]);
        assert!(all.contains("c2 loaded"), "{format}: -all_load: {all}");
    }
}
