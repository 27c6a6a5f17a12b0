//! Effects of the implemented options no other test checks: the defaults
//! and the options that undo others (checked after the option they undo,
//! since the last one wins), libraries and frameworks named by path or
//! with a kind, and the options that name the target or the SDK. Each is
//! read back from the output with llvm-objdump / llvm-nm, or run.

use std::path::Path;
use std::process::Command;
use testkit::capture;
use testkit::cli::{
    compile, link_ok as link, macho_run, private_headers as headers, tool, try_link,
};

const PROGRAM: &str = "#include <stdio.h>\nint unused_fn(void) { return 9; }\n\
                       int main(void) { printf(\"hi\\n\"); return 0; }\n";

/// The mach header's line (`MH_MAGIC_64 X86_64 ... EXECUTE ... PIE ...`).
fn header_line(file: &Path) -> String {
    let h = headers(file);
    let line = h.lines().find(|l| l.starts_with("MH_MAGIC_64"));
    line.unwrap_or_else(|| panic!("no mach header in {h}"))
        .to_string()
}

fn nm(file: &Path) -> String {
    tool("llvm-nm-19", &[], file)
}

/// The value after `key` on the first line starting with it after the
/// first line containing `after`.
fn field(h: &str, after: &str, key: &str) -> String {
    h.lines()
        .skip_while(|l| !l.contains(after))
        .find_map(|l| l.trim().strip_prefix(key).map(|v| v.trim().to_string()))
        .unwrap_or_else(|| panic!("no {key} after {after} in\n{h}"))
}

/// `-execute`, `-arch x86_64`, `-pie` (after `-no_pie`),
/// `-twolevel_namespace` (after `-flat_namespace`),
/// `-no_application_extension`, `-function_starts`, `-data_in_code_info`,
/// `-no_adhoc_codesign` and `-no_dead_strip`, each after the option it
/// undoes.
#[test]
fn the_last_of_an_option_and_its_opposite_wins() {
    let dir = testkit::scratch_dir("option_effects/undo");
    let obj = compile(&dir, "p", PROGRAM);
    let undone = link(
        &dir.join("undone"),
        &[&obj],
        &[
            "-execute",
            "-arch",
            "x86_64",
            "-no_pie",
            "-pie",
            "-flat_namespace",
            "-twolevel_namespace",
            "-application_extension",
            "-no_application_extension",
            "-no_function_starts",
            "-function_starts",
            "-no_data_in_code_info",
            "-data_in_code_info",
            "-adhoc_codesign",
            "-no_adhoc_codesign",
            "-dead_strip",
            "-no_dead_strip",
        ],
    );
    let line = header_line(&undone);
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words.get(1), Some(&"X86_64"), "{line}");
    assert!(words.contains(&"EXECUTE"), "{line}");
    assert!(
        words.contains(&"PIE") && words.contains(&"TWOLEVEL"),
        "{line}"
    );
    assert!(!words.contains(&"APP_EXTENSION_SAFE"), "{line}");
    let h = headers(&undone);
    assert!(h.contains("cmd LC_FUNCTION_STARTS"), "{h}");
    assert!(h.contains("cmd LC_DATA_IN_CODE"), "{h}");
    assert!(!h.contains("cmd LC_CODE_SIGNATURE"), "{h}");
    assert!(nm(&undone).contains(" T _unused_fn"), "not dead-stripped");
    assert_eq!(macho_run(&undone).stdout_str(), "hi\n");

    // The options undone, for contrast: each changes the output.
    let done = link(
        &dir.join("done"),
        &[&obj],
        &[
            "-no_pie",
            "-flat_namespace",
            "-application_extension",
            "-no_function_starts",
            "-no_data_in_code_info",
            "-adhoc_codesign",
            "-dead_strip",
        ],
    );
    let line = header_line(&done);
    let words: Vec<&str> = line.split_whitespace().collect();
    assert!(
        !words.contains(&"PIE") && !words.contains(&"TWOLEVEL"),
        "{line}"
    );
    assert!(words.contains(&"APP_EXTENSION_SAFE"), "{line}");
    let h = headers(&done);
    assert!(!h.contains("cmd LC_FUNCTION_STARTS"), "{h}");
    assert!(!h.contains("cmd LC_DATA_IN_CODE"), "{h}");
    assert!(h.contains("cmd LC_CODE_SIGNATURE"), "{h}");
    assert!(!nm(&done).contains("_unused_fn"), "dead-stripped");
}

/// `-noall_load` after `-all_load`: only referenced archive members are
/// loaded again; `-u SYM` loads the member defining SYM, and is an error
/// when nothing defines it.
#[test]
fn noall_load_and_dash_u_decide_which_members_load() {
    let dir = testkit::scratch_dir("option_effects/members");
    let main = compile(
        &dir,
        "main",
        "int used(void);\nint main(void) { return used(); }\n",
    );
    let used = compile(&dir, "used", "int used(void) { return 5; }\n");
    let extra = compile(&dir, "extra", "int extra_fn(void) { return 6; }\n");
    let archive = dir.join("libparts.a");
    let o = capture(
        Command::new(testkit::require_tool("llvm-ar-19"))
            .arg("rcs")
            .arg(&archive)
            .arg(&used)
            .arg(&extra),
    );
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    let a: &Path = &archive;
    let all = link(&dir.join("all"), &[&main, a], &["-all_load"]);
    assert!(
        nm(&all).contains("_extra_fn"),
        "-all_load loads every member"
    );
    let not_all = link(
        &dir.join("noall"),
        &[&main, a],
        &["-all_load", "-noall_load"],
    );
    assert!(!nm(&not_all).contains("_extra_fn"), "{}", nm(&not_all));
    assert_eq!(macho_run(&not_all).code, 5);
    let forced = link(&dir.join("u"), &[&main, a], &["-u", "_extra_fn"]);
    assert!(nm(&forced).contains(" T _extra_fn"), "{}", nm(&forced));
    let o = try_link(&dir.join("missing"), &[&main, a], &["-u", "_nobody"]);
    assert!(
        o.code != 0 && o.stderr_str().contains("undefined symbol: _nobody"),
        "{}",
        o.stderr_str()
    );
}

/// A TAPI v4 stub for `install` exporting `symbol`.
fn stub(path: &Path, install: &str, symbol: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        path,
        format!(
            "--- !tapi-tbd\ntbd-version: 4\ntargets: [ x86_64-macos ]\n\
             install-name: '{install}'\nexports:\n  - targets: [ x86_64-macos ]\n    \
             symbols: [ {symbol} ]\n...\n"
        ),
    )
    .unwrap();
}

/// (load command, dylib name) of each dylib load command, in order.
fn dylib_commands(file: &Path) -> Vec<(String, String)> {
    let h = headers(file);
    let mut out = Vec::new();
    let mut cmd = None;
    for l in h.lines().map(str::trim) {
        if let Some(c) = l.strip_prefix("cmd ") {
            cmd = Some(c.to_string());
        } else if let (Some(name), Some(c)) = (l.strip_prefix("name "), &cmd) {
            if c.contains("DYLIB") && c != "LC_ID_DYLIB" {
                let name = name.split(" (offset").next().unwrap_or(name);
                out.push((c.clone(), name.to_string()));
            }
        }
    }
    out
}

/// `-needed_library`, `-reexport_library` (by path), `-needed_framework`,
/// `-reexport_framework`, `-upward_framework` and `-F DIR` (separate
/// form): each library gets its load command, the needed ones even under
/// `-dead_strip_dylibs` when nothing uses them.
#[test]
fn libraries_by_path_and_frameworks_get_their_load_commands() {
    let dir = testkit::scratch_dir("option_effects/libraries");
    let obj = compile(&dir, "lib", "int own(void) { return 1; }\n");
    let libs = dir.join("libs");
    let fws = dir.join("fws");
    stub(
        &libs.join("libneed.tbd"),
        "/usr/lib/libneed.dylib",
        "_need_fn",
    );
    stub(&libs.join("libre.tbd"), "/usr/lib/libre.dylib", "_re_fn");
    for name in ["Need", "Re", "Up"] {
        stub(
            &fws.join(format!("{name}.framework/{name}.tbd")),
            &format!("/Library/Frameworks/{name}.framework/{name}"),
            &format!("_{}_fw", name.to_lowercase()),
        );
    }
    let need = libs.join("libneed.tbd");
    let re = libs.join("libre.tbd");
    let out = link(
        &dir.join("libout.dylib"),
        &[&obj],
        &[
            "-dylib",
            "-dead_strip_dylibs",
            "-needed_library",
            need.to_str().unwrap(),
            "-reexport_library",
            re.to_str().unwrap(),
            "-F",
            fws.to_str().unwrap(),
            "-needed_framework",
            "Need",
            "-reexport_framework",
            "Re",
            "-upward_framework",
            "Up",
        ],
    );
    let cmds = dylib_commands(&out);
    let has = |cmd: &str, name: &str| cmds.iter().any(|(c, n)| c == cmd && n == name);
    assert!(has("LC_LOAD_DYLIB", "/usr/lib/libneed.dylib"), "{cmds:?}");
    assert!(has("LC_REEXPORT_DYLIB", "/usr/lib/libre.dylib"), "{cmds:?}");
    assert!(
        has("LC_LOAD_DYLIB", "/Library/Frameworks/Need.framework/Need"),
        "{cmds:?}"
    );
    assert!(
        has("LC_REEXPORT_DYLIB", "/Library/Frameworks/Re.framework/Re"),
        "{cmds:?}"
    );
    // An unused upward dylib is dropped by -dead_strip_dylibs like any
    // other; linked without it, it is there, upward.
    let out = link(
        &dir.join("libup.dylib"),
        &[&obj],
        &[
            "-dylib",
            "-F",
            fws.to_str().unwrap(),
            "-upward_framework",
            "Up",
        ],
    );
    let cmds = dylib_commands(&out);
    assert!(
        cmds.iter()
            .any(|(c, n)| c == "LC_LOAD_UPWARD_DYLIB" && n == "/Library/Frameworks/Up.framework/Up"),
        "{cmds:?}"
    );
}

/// `-syslibroot` is where `-lSystem` is found (without it the link fails),
/// `-macos_version_min` sets the deployment target, `-compatibility_version`
/// and `-current_version` LC_ID_DYLIB's versions, `-print_statistics`
/// prints the phases' times, `-help` the usage.
#[test]
fn sdk_target_versions_statistics_and_help() {
    let dir = testkit::scratch_dir("option_effects/sdk");
    let obj = compile(&dir, "p", PROGRAM);
    let bare = |out: &Path| {
        let mut c = Command::new(testkit::workspace_bin("machlink"));
        c.args(["-arch", "x86_64", "-lSystem", "-o"])
            .arg(out)
            .arg(&obj);
        c
    };
    let exe = dir.join("min");
    let o = capture(
        bare(&exe)
            .args(["-macos_version_min", "12.0", "-syslibroot"])
            .arg(testkit::sdk_root()),
    );
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    let h = headers(&exe);
    assert_eq!(field(&h, "LC_BUILD_VERSION", "minos"), "12.0", "{h}");
    assert_eq!(macho_run(&exe).stdout_str(), "hi\n");
    let o = capture(bare(&dir.join("nosdk")).args(["-macos_version_min", "12.0", "-Z"]));
    assert!(
        o.code != 0 && o.stderr_str().contains("library not found for -lSystem"),
        "{}",
        o.stderr_str()
    );

    let lib = link(
        &dir.join("libv.dylib"),
        &[&obj],
        &[
            "-dylib",
            "-compatibility_version",
            "2.0",
            "-current_version",
            "3.4.5",
        ],
    );
    let h = headers(&lib);
    assert_eq!(field(&h, "LC_ID_DYLIB", "current version"), "3.4.5", "{h}");
    assert_eq!(
        field(&h, "LC_ID_DYLIB", "compatibility version"),
        "2.0.0",
        "{h}"
    );

    let o = try_link(&dir.join("stats"), &[&obj], &["-print_statistics"]);
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    let report = format!("{}{}", o.stdout_str(), o.stderr_str());
    assert!(report.contains("ms") || report.contains("µs"), "{report}");

    let o = capture(Command::new(testkit::workspace_bin("machlink")).arg("-help"));
    assert!(
        o.code == 0 && o.stdout_str().contains("usage: machlink"),
        "{}",
        o.stdout_str()
    );
}
