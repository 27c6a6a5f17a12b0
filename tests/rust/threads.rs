//! Threads and synchronisation: spawn/join with names, channels, Mutex and
//! Condvar (with a timeout), RwLock, Barrier, park/unpark, scoped threads,
//! OnceLock, and thread-locals whose destructors run at thread exit.
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier, Condvar, Mutex, OnceLock, RwLock};
use std::thread;
use std::time::Duration;

struct Noisy(String);
impl Drop for Noisy {
    fn drop(&mut self) {
        println!("drop {}", self.0);
    }
}

thread_local! {
    static SUM: RefCell<u64> = const { RefCell::new(0) };
    static NOISY: RefCell<Option<Noisy>> = const { RefCell::new(None) };
}

static CONFIG: OnceLock<String> = OnceLock::new();

fn main() {
    // Named threads sending over a channel; each leaves a thread-local
    // whose destructor prints before join returns.
    let (tx, rx) = mpsc::channel();
    for i in 0..4u64 {
        let tx = tx.clone();
        let h = thread::Builder::new()
            .name(format!("worker-{i}"))
            .stack_size(256 * 1024)
            .spawn(move || {
                SUM.with(|s| *s.borrow_mut() += (0..=1000).map(|x| x * i).sum::<u64>());
                NOISY.with(|n| *n.borrow_mut() = Some(Noisy(format!("tls of worker-{i}"))));
                let name = thread::current().name().unwrap().to_string();
                tx.send((i, name, SUM.with(|s| *s.borrow()))).unwrap();
            })
            .unwrap();
        h.join().unwrap();
    }
    drop(tx);
    let got: Vec<_> = rx.iter().collect();
    println!("channel {got:?}");

    // Mutex + Condvar: a producer counts to 100.
    let pair = Arc::new((Mutex::new(0u32), Condvar::new()));
    let p = Arc::clone(&pair);
    let producer = thread::spawn(move || {
        for _ in 0..100 {
            let (m, c) = &*p;
            *m.lock().unwrap() += 1;
            c.notify_all();
        }
    });
    {
        let (m, c) = &*pair;
        let mut g = m.lock().unwrap();
        while *g < 100 {
            g = c.wait(g).unwrap();
        }
        println!("condvar reached {}", *g);
    }
    // Only once the producer is gone can no late notify end the wait early.
    producer.join().unwrap();
    {
        let (m, c) = &*pair;
        let g = m.lock().unwrap();
        let (g, timeout) = c.wait_timeout(g, Duration::from_millis(30)).unwrap();
        println!("wait_timeout timed out: {} value {}", timeout.timed_out(), *g);
    }

    // RwLock, Barrier and many threads hammering a counter.
    let lock = Arc::new(RwLock::new(Vec::new()));
    let barrier = Arc::new(Barrier::new(8));
    let counter = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let (lock, barrier, counter) = (lock.clone(), barrier.clone(), counter.clone());
            thread::spawn(move || {
                barrier.wait();
                for _ in 0..1000 {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                // The length is taken under the write lock: read separately,
                // two writers could both see the later length.
                let len = {
                    let mut v = lock.write().unwrap();
                    v.push(i);
                    v.len()
                };
                assert!(lock.read().unwrap().contains(&i));
                len
            })
        })
        .collect();
    let mut lens: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    lens.sort();
    let mut v = lock.read().unwrap().clone();
    v.sort();
    println!("rwlock {v:?} lens {lens:?} counter {}", counter.load(Ordering::Relaxed));

    // park/unpark, park_timeout, sleep, scoped threads.
    let parked = thread::spawn(|| {
        thread::park();
        "unparked"
    });
    thread::sleep(Duration::from_millis(20));
    parked.thread().unpark();
    println!("park: {}", parked.join().unwrap());
    let t0 = std::time::Instant::now();
    thread::park_timeout(Duration::from_millis(20));
    println!("park_timeout waited: {}", t0.elapsed() >= Duration::from_millis(1));
    let data = [1u64, 2, 3, 4, 5, 6];
    let total: u64 = thread::scope(|s| {
        let parts: Vec<_> = data.chunks(2).map(|c| s.spawn(move || c.iter().sum::<u64>())).collect();
        parts.into_iter().map(|p| p.join().unwrap()).sum()
    });
    println!("scoped sum {total}");
    println!("once {}", CONFIG.get_or_init(|| "initialised once".to_string()));
    println!("available_parallelism >= 1: {}", thread::available_parallelism().unwrap().get() >= 1);
    NOISY.with(|n| *n.borrow_mut() = Some(Noisy("tls of main".into())));
    println!("main ends");
}
