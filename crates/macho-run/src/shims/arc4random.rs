//! `arc4random` and friends: random numbers from the kernel (libc++'s
//! `std::random_device` reads them; macOS seeds them from the kernel too).

use std::ffi::c_void;

fn fill(buf: *mut c_void, len: usize) {
    let mut done = 0;
    while done < len {
        // SAFETY: buf has len bytes; getrandom writes at most len - done.
        let n = unsafe { libc::getrandom(buf.cast::<u8>().add(done).cast(), len - done, 0) };
        if n > 0 {
            done += n as usize;
        } else if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            eprintln!(
                "macho-run: getrandom failed: {}",
                std::io::Error::last_os_error()
            );
            // SAFETY: arc4random cannot fail on macOS; nor may it here.
            unsafe { libc::abort() }
        }
    }
}

extern "C" fn arc4random() -> u32 {
    let mut v = 0u32;
    fill((&mut v as *mut u32).cast(), 4);
    v
}

unsafe extern "C" fn arc4random_buf(buf: *mut c_void, len: usize) {
    fill(buf, len);
}

/// A uniform number below `bound`, without modulo bias.
extern "C" fn arc4random_uniform(bound: u32) -> u32 {
    if bound < 2 {
        return 0;
    }
    // Values below `min` would make some results more likely than others.
    let min = bound.wrapping_neg() % bound;
    loop {
        let r = arc4random();
        if r >= min {
            return r % bound;
        }
    }
}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![
        ("_arc4random", arc4random as *const () as usize),
        ("_arc4random_buf", arc4random_buf as *const () as usize),
        (
            "_arc4random_uniform",
            arc4random_uniform as *const () as usize,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_numbers_stay_below_their_bound() {
        assert!((0..1000).all(|_| arc4random_uniform(7) < 7));
        assert_eq!(arc4random_uniform(1), 0);
        let mut buf = [0u8; 64];
        // SAFETY: buf is 64 bytes.
        unsafe { arc4random_buf(buf.as_mut_ptr().cast(), buf.len()) };
        assert!(buf.iter().any(|&b| b != 0));
    }
}
