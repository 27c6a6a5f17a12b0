//! Rust panics under macho-run's unwinder (tests/unwind_rust.rs): a panic
//! caught by `catch_unwind` with destructors run on the way, a panic in a
//! spawned thread observed by `join`, and `Backtrace::force_capture()`
//! naming this program's frames. The same source runs natively for the
//! expected output.

use std::panic;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Destructors run by the stress threads' unwinding.
static DROPS: AtomicUsize = AtomicUsize::new(0);

struct Counted;

impl Drop for Counted {
    fn drop(&mut self) {
        DROPS.fetch_add(1, Ordering::Relaxed);
    }
}

#[inline(never)]
fn descend_quietly(n: usize) -> usize {
    let _c = Counted;
    if n == 0 {
        panic!("quiet");
    }
    descend_quietly(std::hint::black_box(n - 1)) + 1
}

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
        Err(p) => p
            .downcast_ref::<&str>()
            .map_or("?".into(), |s| s.to_string()),
    }
}

#[inline(never)]
fn capture_here() -> String {
    std::backtrace::Backtrace::force_capture().to_string()
}

fn main() {
    panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        if thread.name().is_some_and(|n| n.starts_with("stress")) {
            return;
        }
        println!(
            "panic in {}: {}",
            thread.name().unwrap_or("?"),
            info.payload_as_str().unwrap_or("?")
        );
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

    // Threads unwinding at the same time.
    let stress: Vec<_> = (0..4)
        .map(|t| {
            std::thread::Builder::new()
                .name(format!("stress-{t}"))
                .spawn(move || {
                    (0..50)
                        .filter(|i| panic::catch_unwind(|| descend_quietly(i % 7 + t)).is_err())
                        .count()
                })
                .unwrap()
        })
        .collect();
    let caught: usize = stress.into_iter().map(|h| h.join().unwrap()).sum();
    // Each panic at depth d drops d + 1 guards.
    let expected: usize = (0..4)
        .flat_map(|t| (0..50).map(move |i| i % 7 + t + 1))
        .sum();
    println!(
        "stress: {caught} panics caught, {} of {expected} destructors run",
        DROPS.load(Ordering::Relaxed)
    );

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
