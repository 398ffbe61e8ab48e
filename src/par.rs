//! Independent work spread over the machine's cores, for the stages whose work grows with the
//! number of services (render, verify). Small environments stay on one thread: starting one
//! costs tens of microseconds, as much as rendering a whole small environment.

use std::sync::atomic::{AtomicUsize, Ordering};

/// From this many services on, the per-service work of the front stages (validate, plan)
/// is shared with the other cores: it takes microseconds to tens of microseconds a service,
/// and a thread start tens of microseconds.
pub const MIN_SERVICES: usize = 64;

/// How many threads `work` units (e.g. bytes) deserve: 1 below `min`, else one per core.
pub fn threads_for(work: usize, min: usize) -> usize {
    if work < min {
        return 1;
    }
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| cores().min(8))
}

/// The CPUs this process may run on. Not `std::thread::available_parallelism`: on Linux it
/// also reads cgroup quota files under /proc and /sys on every call; with at most
/// eight short-lived threads, exceeding a CPU quota costs less than reading it.
#[cfg(target_os = "linux")]
fn cores() -> usize {
    // SAFETY: `set` is a plain bit set that sched_getaffinity fills; its size is passed.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0 {
            (libc::CPU_COUNT(&set) as usize).max(1)
        } else {
            1
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `a()` and `b()`; with `parallel`, `b` on a second thread meanwhile. Callers pass
/// `threads_for(work, min) > 1`, so small inputs and one-core machines start no thread.
pub fn join<A: Send, B: Send>(
    parallel: bool,
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    if !parallel {
        return (a(), b());
    }
    std::thread::scope(|s| {
        let helper = s.spawn(b);
        let a = a();
        let b = helper
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        (a, b)
    })
}

/// `f` over `items` on `threads` threads, results in item order. Each thread takes the next
/// unclaimed item, so a big item early in the list does not hold up the others.
pub fn map<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    map_with(items, threads, || (), |(), item| f(item))
}

/// [`map`] over owned items, each moved into `f` (e.g. a loaded spec into the stage that
/// consumes it).
pub fn map_owned<T: Send, R: Send>(
    items: Vec<T>,
    threads: usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    if threads.min(items.len()) <= 1 {
        return items.into_iter().map(f).collect();
    }
    // Each slot is taken exactly once: `map` hands every index to one thread.
    let slots: Vec<std::sync::Mutex<Option<T>>> =
        items.into_iter().map(|t| Some(t).into()).collect();
    map(&slots, threads, |slot| {
        let item = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        f(item.expect("map hands each item to one thread"))
    })
}

/// [`map`] with a state per thread, made by `init` (e.g. a cache the thread reads without
/// touching memory another core writes).
pub fn map_with<T: Sync, S, R: Send>(
    items: &[T],
    threads: usize,
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, &T) -> R + Sync,
) -> Vec<R> {
    let threads = threads.min(items.len());
    if threads <= 1 {
        let mut state = init();
        return items.iter().map(|item| f(&mut state, item)).collect();
    }
    let next = AtomicUsize::new(0);
    let started = std::time::Instant::now();
    let work = || {
        let mut done = Vec::new();
        let mut state = init();
        let first = started.elapsed();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else {
                return (done, first, started.elapsed());
            };
            done.push((i, f(&mut state, item)));
        }
    };
    let (mut all, spans) = std::thread::scope(|s| {
        let helpers: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        let (mut all, first, last) = work();
        let mut spans = vec![(all.len(), first, last)];
        for h in helpers {
            let (done, first, last) = h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            spans.push((done.len(), first, last));
            all.extend(done);
        }
        (all, spans)
    });
    // `TACOSGEN_TIMINGS`: how the items fell to the threads, and when each began and ended
    // (a thread that starts late leaves the others the work).
    if crate::timings() {
        let spans: Vec<String> = spans
            .iter()
            .map(|(n, a, b)| {
                let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
                format!("{n} items {:.3}-{:.3} ms", ms(*a), ms(*b))
            })
            .collect();
        eprintln!("timing: par of {}: {}", items.len(), spans.join(", "));
    }
    all.sort_unstable_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_on_any_thread_count() {
        let items: Vec<u64> = (0..1000).collect();
        for threads in [1, 2, 3, 16] {
            let out = map(&items, threads, |x| x * x);
            assert_eq!(out, items.iter().map(|x| x * x).collect::<Vec<_>>());
        }
        assert!(map(&[] as &[u8], 4, |x| *x).is_empty());
        for threads in [1, 2, 3] {
            let owned: Vec<String> = (0..100).map(|i| i.to_string()).collect();
            let lens = map_owned(owned.clone(), threads, |s| s + "!");
            assert_eq!(
                lens,
                owned.iter().map(|s| format!("{s}!")).collect::<Vec<_>>()
            );
        }
        // Each thread's state sees only its own items: as many first items as threads at most.
        for threads in [1, 2, 3] {
            let out = map_with(
                &items,
                threads,
                || 0,
                |seen, x| (std::mem::replace(seen, *seen + 1), *x),
            );
            assert_eq!(out.iter().map(|(_, x)| *x).collect::<Vec<_>>(), items);
            let firsts = out.iter().filter(|(seen, _)| *seen == 0).count();
            assert!((1..=threads).contains(&firsts), "{firsts} of {threads}");
            if threads == 1 {
                assert!(out.iter().enumerate().all(|(i, (seen, _))| *seen == i));
            }
        }
        assert_eq!(threads_for(10, 11), 1);
        for parallel in [false, true] {
            assert_eq!(join(parallel, || 1, || "b"), (1, "b"));
        }
        assert!(threads_for(11, 11) >= 1);
    }
}
