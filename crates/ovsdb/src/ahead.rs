//! Work made ahead on the rayon pool and used in order on the calling
//! thread: the rows of a large transaction are read in chunks while the
//! operations before them already run.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

enum Slot<T> {
    Pending,
    Ready(Vec<T>),
    /// Its producer panicked; the panic is raised again once the scope ends.
    Lost,
}

/// Calls `make(i)` for every `i` in `0..n` on the rayon pool, a chunk of
/// `chunk` indices at a time and earliest chunks first, and hands each
/// result to `take(i, item)` on the calling thread, in order of `i`, as
/// soon as its chunk is done. Once `take` returns `false`, chunks not yet
/// begun are not made, and `ahead` returns `false`.
///
/// Called on a thread of the pool itself, which must not block waiting
/// for its own pool, it makes as many chunks at a time as the pool has
/// threads (rayon's own fork-join, which such a thread may wait on), then
/// takes them.
pub fn ahead<T: Send>(n: usize, chunk: usize, make: impl Fn(usize) -> T + Sync, mut take: impl FnMut(usize, T) -> bool) -> bool {
    let chunk = chunk.max(1);
    let chunks = n.div_ceil(chunk);
    let make_chunk = |c: usize| -> Vec<T> { (c * chunk..n.min((c + 1) * chunk)).map(&make).collect() };
    if rayon::current_thread_index().is_some() {
        use rayon::prelude::*;
        let window = rayon::current_num_threads().max(1);
        for first in (0..chunks).step_by(window) {
            let made: Vec<Vec<T>> = (first..chunks.min(first + window)).into_par_iter().map(make_chunk).collect();
            for (k, item) in made.into_iter().flatten().enumerate() {
                if !take(first * chunk + k, item) {
                    return false;
                }
            }
        }
        return true;
    }
    let slots: Mutex<Vec<Slot<T>>> = Mutex::new((0..chunks).map(|_| Slot::Pending).collect());
    let done = Condvar::new();
    let next = AtomicUsize::new(0);
    let makers = rayon::current_num_threads().clamp(1, chunks.max(1));
    rayon::in_place_scope(|scope| {
        for _ in 0..makers {
            scope.spawn(|_| {
                loop {
                    let c = next.fetch_add(1, Ordering::Relaxed);
                    if c >= chunks {
                        return;
                    }
                    let made = catch_unwind(AssertUnwindSafe(|| make_chunk(c)));
                    let mut slots = slots.lock().unwrap_or_else(|e| e.into_inner());
                    match made {
                        Ok(items) => slots[c] = Slot::Ready(items),
                        Err(panic) => {
                            slots[c] = Slot::Lost;
                            drop(slots);
                            done.notify_all();
                            resume_unwind(panic);
                        }
                    }
                    drop(slots);
                    done.notify_all();
                }
            });
        }
        let stop = || next.store(chunks, Ordering::Relaxed);
        for c in 0..chunks {
            let mut slots = slots.lock().unwrap_or_else(|e| e.into_inner());
            while matches!(slots[c], Slot::Pending) {
                slots = done.wait(slots).unwrap_or_else(|e| e.into_inner());
            }
            let items = match std::mem::replace(&mut slots[c], Slot::Pending) {
                Slot::Ready(items) => items,
                _ => {
                    stop();
                    return false;
                }
            };
            drop(slots);
            for (k, item) in items.into_iter().enumerate() {
                if !take(c * chunk + k, item) {
                    stop();
                    return false;
                }
            }
        }
        true
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_arrive_in_order() {
        for (n, chunk) in [(0, 4), (1, 4), (7, 1), (100, 7), (1000, 64), (64, 64), (65, 64)] {
            let mut got = Vec::new();
            assert!(ahead(n, chunk, |i| i * 3, |i, v| {
                got.push((i, v));
                true
            }));
            assert_eq!(got, (0..n).map(|i| (i, i * 3)).collect::<Vec<_>>(), "n {n} chunk {chunk}");
        }
    }

    #[test]
    fn a_refusal_stops_the_making() {
        use std::sync::atomic::AtomicBool;
        let made = AtomicUsize::new(0);
        let refused = AtomicBool::new(false);
        let mut taken = 0;
        let all = ahead(
            100_000,
            10,
            |i| {
                // Past the first two chunks, making waits for the refusal,
                // so that it cannot run ahead of it, and is slow after it.
                if i >= 20 {
                    while !refused.load(Ordering::Relaxed) {
                        std::thread::yield_now();
                    }
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                made.fetch_add(1, Ordering::Relaxed);
                i
            },
            |i, _| {
                taken += 1;
                refused.store(i >= 15, Ordering::Relaxed);
                i < 15
            },
        );
        assert!(!all);
        assert_eq!(taken, 16);
        // The two chunks taken, the one each maker had begun, and what
        // they begin in the moment before the refusal reaches them: a
        // handful of chunks, not the 10,000.
        assert!(made.load(Ordering::Relaxed) < 1000, "{} made", made.load(Ordering::Relaxed));
    }

    #[test]
    fn on_the_pool_items_still_arrive_in_order() {
        let got = rayon::scope(|_| {
            let mut got = Vec::new();
            ahead(50, 8, |i| i + 1, |_, v| {
                got.push(v);
                true
            });
            got
        });
        assert_eq!(got, (1..=50).collect::<Vec<_>>());
    }

    #[test]
    fn a_panic_reaches_the_caller() {
        let caught = catch_unwind(|| ahead(1000, 10, |i| if i == 555 { panic!("boom") } else { i }, |_, _| true));
        assert!(caught.is_err());
    }
}
