//! Arguments, the environment, files and directories: create, write, read,
//! append, seek, metadata, rename, symlinks, read_dir, canonicalize, error
//! kinds (errno values that differ between macOS and Linux), remove_dir_all.
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::Path;

fn kind<T>(r: std::io::Result<T>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => format!("{:?}", e.kind()),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("args {args:?}");
    println!("argv0 is a path: {}", std::env::args().next().map_or(false, |a| !a.is_empty()));
    std::env::set_var("FILES_TEST_VAR", "set here");
    println!("env {:?} {:?}", std::env::var("FILES_TEST_VAR"), std::env::var("FILES_TEST_UNSET"));
    println!("inherited {:?}", std::env::var("RUST_PROGRAMS_INPUT"));
    std::env::remove_var("FILES_TEST_VAR");
    println!("removed {}", std::env::var_os("FILES_TEST_VAR").is_none());
    println!("vars has PATH: {}", std::env::vars().any(|(k, _)| k == "PATH"));

    let base = std::env::temp_dir().join(format!("rust-files-{}", std::process::id()));
    let _ = fs::remove_dir_all(&base);
    fs::create_dir_all(base.join("sub/deeper")).unwrap();
    println!("create existing: {}", kind(fs::create_dir(&base)));
    std::env::set_current_dir(&base).unwrap();
    println!("cwd ends with base: {}", std::env::current_dir().unwrap().ends_with(base.file_name().unwrap()));

    let mut f = File::create("data.txt").unwrap();
    for i in 0..100 {
        writeln!(f, "line {i}").unwrap();
    }
    f.sync_all().unwrap();
    drop(f);
    let mut f = OpenOptions::new().append(true).open("data.txt").unwrap();
    f.write_all(b"appended\n").unwrap();
    drop(f);
    let lines: Vec<String> = BufReader::new(File::open("data.txt").unwrap()).lines().map(Result::unwrap).collect();
    println!("lines {} first {:?} last {:?}", lines.len(), lines[0], lines[lines.len() - 1]);
    let mut f = File::open("data.txt").unwrap();
    f.seek(SeekFrom::Start(7)).unwrap();
    let mut buf = [0u8; 6];
    f.read_exact(&mut buf).unwrap();
    println!("seek read {:?}", std::str::from_utf8(&buf).unwrap());
    let end = f.seek(SeekFrom::End(0)).unwrap();
    let md = fs::metadata("data.txt").unwrap();
    println!("len {} end {} file {} dir {} readonly {}", md.len(), end, md.is_file(), md.is_dir(), md.permissions().readonly());
    println!("modified recently: {}", md.modified().unwrap().elapsed().map_or(true, |d| d.as_secs() < 3600));
    let copy = f.try_clone().unwrap();
    println!("clone len {}", copy.metadata().unwrap().len());

    fs::write("sub/a.bin", [0u8, 1, 2, 255]).unwrap();
    fs::write("sub/b.txt", "bee").unwrap();
    fs::rename("sub/b.txt", "sub/deeper/c.txt").unwrap();
    fs::copy("sub/deeper/c.txt", "sub/d.txt").unwrap();
    std::os::unix::fs::symlink("sub/deeper/c.txt", "link").unwrap();
    println!("via link {:?}", fs::read_to_string("link").unwrap());
    println!("read_link {:?}", fs::read_link("link").unwrap());
    println!("symlink_metadata is symlink: {}", fs::symlink_metadata("link").unwrap().file_type().is_symlink());
    println!("canonical link ends with c.txt: {}", fs::canonicalize("link").unwrap().ends_with("sub/deeper/c.txt"));

    let mut entries: Vec<String> = fs::read_dir(".").unwrap().map(|e| {
        let e = e.unwrap();
        let t = e.file_type().unwrap();
        format!("{}:{}", e.file_name().to_string_lossy(), if t.is_dir() { "dir" } else if t.is_symlink() { "link" } else { "file" })
    }).collect();
    entries.sort();
    println!("read_dir . {entries:?}");
    let mut sub: Vec<_> = fs::read_dir("sub").unwrap().map(|e| e.unwrap().path()).collect();
    sub.sort();
    println!("read_dir sub {sub:?}");

    println!("open missing: {}", kind(File::open("nope")));
    println!("remove non-empty dir: {}", kind(fs::remove_dir("sub")));
    println!("read a dir as file: {}", kind(fs::read_to_string("sub")));
    println!("create_new existing: {}", kind(OpenOptions::new().write(true).create_new(true).open("data.txt")));
    println!("dir under a file: {}", kind(fs::create_dir("data.txt/x")));
    println!("remove_file missing: {}", kind(fs::remove_file("nope")));
    println!("is NotFound: {}", File::open("nope").unwrap_err().kind() == ErrorKind::NotFound);

    std::env::set_current_dir(std::env::temp_dir()).unwrap();
    fs::remove_dir_all(&base).unwrap();
    println!("removed all: {}", !Path::new(&base).exists());
}
