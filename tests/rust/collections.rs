//! HashMap/HashSet with std's random seeds, BTreeMap, strings, formatting
//! of integers and floats, sorting, and Box<dyn Trait>.
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt::Write;

trait Shape {
    fn area(&self) -> f64;
    fn name(&self) -> String;
}
struct Circle(f64);
struct Rect(f64, f64);
impl Shape for Circle {
    fn area(&self) -> f64 {
        std::f64::consts::PI * self.0 * self.0
    }
    fn name(&self) -> String {
        format!("circle r={}", self.0)
    }
}
impl Shape for Rect {
    fn area(&self) -> f64 {
        self.0 * self.1
    }
    fn name(&self) -> String {
        format!("rect {}x{}", self.0, self.1)
    }
}

fn main() {
    let mut words: HashMap<String, usize> = HashMap::new();
    let text = "the quick brown fox jumps over the lazy dog the end";
    for w in text.split_whitespace() {
        *words.entry(w.to_string()).or_default() += 1;
    }
    let mut counts: Vec<_> = words.iter().collect();
    counts.sort();
    println!("words {counts:?}");
    // Two maps get different random seeds; their contents still agree.
    let a: HashSet<u32> = (0..5000).collect();
    let b: HashSet<u32> = (0..5000).rev().collect();
    println!("sets equal {} len {}", a == b, a.len());
    let mut big: HashMap<u64, u64> = HashMap::new();
    for i in 0..100_000u64 {
        big.insert(i.wrapping_mul(0x9E37_79B9_7F4A_7C15), i);
    }
    big.retain(|_, v| *v % 3 == 0);
    println!("big {} sum {}", big.len(), big.values().sum::<u64>());

    let mut tree = BTreeMap::new();
    for (i, w) in text.split_whitespace().enumerate() {
        tree.entry(w).or_insert_with(Vec::new).push(i);
    }
    println!("tree {tree:?}");
    let mut dq: VecDeque<i32> = (1..=5).collect();
    dq.rotate_left(2);
    dq.push_front(0);
    println!("deque {dq:?}");

    let mut s = String::new();
    for x in [0.1f64, 1.0 / 3.0, 1e300, -2.5e-8, f64::MAX, f64::NAN, f64::INFINITY] {
        write!(s, "{x} {x:e} {x:.3}|").unwrap();
    }
    println!("floats {s}");
    println!("ints {} {:x} {:o} {:b} {:>8} {:+}", i64::MIN, u64::MAX, 511, 10, 42, 7);
    println!("parse {:?} {:?} {:?}", "3.25".parse::<f64>(), "-17".parse::<i32>(), "x".parse::<u8>().is_err());
    println!("math {:.6} {:.6} {:.6}", 2f64.sqrt(), 1f64.exp(), 0.5f64.atan2(1.5));
    let unicode = "grüße, 世界";
    println!("unicode {} chars {} upper {}", unicode.len(), unicode.chars().count(), unicode.to_uppercase());

    let shapes: Vec<Box<dyn Shape>> = vec![Box::new(Circle(1.5)), Box::new(Rect(2.0, 3.5)), Box::new(Circle(0.5))];
    let mut by_area: Vec<_> = shapes.iter().map(|s| (s.area(), s.name())).collect();
    by_area.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
    for (area, name) in by_area {
        println!("{name}: {area:.4}");
    }
    let mut v: Vec<u32> = (0..1000).map(|i| (i * 7919) % 1009).collect();
    v.sort_unstable();
    v.dedup();
    println!("sorted {} first {:?} last {:?}", v.len(), &v[..3], &v[v.len() - 3..]);
}
