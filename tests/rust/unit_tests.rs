//! Built with `rustc --test`: the libtest harness, with passing tests,
//! `#[should_panic]` tests (with and without `expected`), an ignored test,
//! and a test that fails on purpose (so the harness exits 101).
#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    #[test]
    fn adds() {
        assert_eq!(2 + 2, 4);
    }

    #[test]
    fn map_counts() {
        let mut m = HashMap::new();
        for w in "a b a c a b".split(' ') {
            *m.entry(w).or_insert(0) += 1;
        }
        assert_eq!(m["a"], 3);
    }

    #[test]
    #[should_panic]
    fn panics_plainly() {
        let v: Vec<i32> = vec![];
        let _ = v[0];
    }

    #[test]
    #[should_panic(expected = "divide by zero")]
    fn panics_with_message() {
        let zero = std::hint::black_box(0);
        let _ = 1 / zero;
    }

    #[test]
    #[should_panic(expected = "the right words")]
    fn panics_with_the_wrong_message() {
        panic!("other words");
    }

    #[test]
    fn threads_in_a_test() {
        let h = std::thread::spawn(|| (1..=10).sum::<u32>());
        assert_eq!(h.join().unwrap(), 55);
    }

    #[test]
    fn fails_on_purpose() {
        assert_eq!(1 + 1, 3, "arithmetic is broken");
    }

    #[test]
    #[ignore]
    fn ignored() {
        unreachable!();
    }

    #[test]
    fn result_err_fails() -> Result<(), String> {
        Err("returned an error".into())
    }
}
