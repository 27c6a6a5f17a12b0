//! Panics: caught with catch_unwind (destructors run while unwinding), a
//! panic in a thread seen by join, a custom hook, resume_unwind, nested
//! catches, a backtrace, and an uncaught panic ending the program (101).
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

struct Guard(&'static str);
impl Drop for Guard {
    fn drop(&mut self) {
        println!("unwound through {}", self.0);
    }
}

#[inline(never)]
fn deep(n: u32) -> u32 {
    let _g = Guard(if n == 0 { "deep(0)" } else { "deep(n)" });
    if n == 0 {
        panic!("bottom reached");
    }
    deep(n - 1) + 1
}

#[inline(never)]
fn index(v: &[u32], i: usize) -> u32 {
    v[i]
}

fn main() {
    let r = panic::catch_unwind(|| deep(3));
    println!("deep: {:?}", r.map_err(|e| e.downcast_ref::<&str>().map(|s| s.to_string())));
    let r = panic::catch_unwind(|| index(&[1, 2, 3], 7));
    println!("index: is_err {}", r.is_err());
    let message = panic::catch_unwind(|| {
        let _g = Guard("formatted");
        panic!("value {} too big", 42)
    })
    .unwrap_err();
    println!("payload: {:?}", message.downcast_ref::<String>());

    let h = std::thread::spawn(|| {
        let _g = Guard("thread");
        let none: Option<u8> = None;
        none.expect("thread gives up")
    });
    println!("join: {:?}", h.join().map_err(|e| e.downcast_ref::<&str>().map(|s| s.to_string())));

    // A poisoned mutex after a panic while holding it.
    let m = Arc::new(Mutex::new(5));
    let m2 = Arc::clone(&m);
    let _ = std::thread::spawn(move || {
        let _lock = m2.lock().unwrap();
        panic!("poison it");
    })
    .join();
    println!("poisoned: {}", m.is_poisoned());

    // A hook sees the message; nested catch_unwind; resume_unwind.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = Arc::clone(&seen);
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        s2.lock().unwrap().push(format!("{}", info.payload().downcast_ref::<&str>().unwrap_or(&"?")));
    }));
    let outer = panic::catch_unwind(AssertUnwindSafe(|| {
        let inner = panic::catch_unwind(|| panic!("inner"));
        println!("inner caught: {}", inner.is_err());
        panic::resume_unwind(Box::new(7u32));
    }));
    println!("resumed payload: {:?}", outer.unwrap_err().downcast_ref::<u32>());
    println!("hook saw: {:?}", seen.lock().unwrap());
    panic::set_hook(previous);

    let bt = std::backtrace::Backtrace::force_capture();
    let text = format!("{bt}");
    println!("backtrace names main: {}", text.contains("panics::main"));

    let _g = Guard("main");
    let v: Vec<u32> = Vec::new();
    println!("about to panic");
    println!("{}", index(&v, 1));
}
