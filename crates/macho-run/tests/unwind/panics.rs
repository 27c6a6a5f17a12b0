//! Rust panics under macho-run's unwinder (tests/unwind_rust.rs): a panic
//! caught by `catch_unwind` with destructors run on the way, a panic in a
//! spawned thread observed by `join`, and `Backtrace::force_capture()`
//! naming this program's frames. The same source runs natively for the
//! expected output.

use std::panic;

struct Guard(&'static str);

impl Drop for Guard {
    fn drop(&mut self) {
        println!("drop {}", self.0);
    }
}

#[inline(never)]
fn descend(n: u32) -> u32 {
    let _g = Guard("descend");
    if n == 0 {
        panic!("boom at depth {}", std::hint::black_box(0));
    }
    descend(std::hint::black_box(n - 1)) + 1
}

fn message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(p) => p.downcast_ref::<&str>().map_or("?".into(), |s| s.to_string()),
    }
}

#[inline(never)]
fn capture_here() -> String {
    std::backtrace::Backtrace::force_capture().to_string()
}

fn main() {
    panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        println!("panic in {}: {}", thread.name().unwrap_or("?"), info.payload_as_str().unwrap_or("?"));
    }));
    let caught = panic::catch_unwind(|| {
        let _g = Guard("closure");
        descend(3)
    });
    println!("caught: {}", message(caught.unwrap_err()));

    let worker = std::thread::Builder::new()
        .name("worker".into())
        .spawn(|| {
            let _g = Guard("worker");
            descend(2)
        })
        .unwrap();
    println!("joined: {}", message(worker.join().unwrap_err()));

    let nested = panic::catch_unwind(|| {
        let inner = panic::catch_unwind(|| descend(0));
        println!("inner caught: {}", message(inner.unwrap_err()));
        panic::resume_unwind(Box::new("rethrown"));
    });
    println!("outer caught: {}", message(nested.unwrap_err()));

    // This program's own frames, innermost first, as the backtrace names
    // them (std's frames differ between platforms).
    let backtrace = capture_here();
    let ours: Vec<&str> = backtrace
        .lines()
        .filter_map(|l| l.trim().split_once(": ").map(|(_, f)| f))
        .filter(|f| f.starts_with("panics::"))
        .collect();
    println!("backtrace: {}", ours.join(" <- "));
}
