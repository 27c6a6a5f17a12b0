//! Squares in a SmallVec (spilling to the heap), formatted with itoa,
//! summed on two threads.
use smallvec::SmallVec;
use std::thread;

fn main() {
    let mut squares: SmallVec<[u64; 4]> = SmallVec::new();
    for i in 0..12u64 {
        squares.push(i * i);
    }
    let spilled = squares.spilled();
    let mut buf = itoa::Buffer::new();
    let text: Vec<String> = squares.iter().map(|n| buf.format(*n).to_owned()).collect();
    let (a, b) = squares.split_at(squares.len() / 2);
    let (a, b) = (a.to_vec(), b.to_vec());
    let left = thread::spawn(move || a.iter().sum::<u64>());
    let right = thread::spawn(move || b.iter().sum::<u64>());
    let total = left.join().unwrap() + right.join().unwrap();
    println!("{} spilled={spilled} total={total}", text.join(","));
}
