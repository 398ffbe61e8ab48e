//! The main thread's heap, set up once at start for a process that lives tens of
//! milliseconds and allocates tens of megabytes (BENCHMARKS.md, step 55).
//!
//! With glibc's defaults, each 4 KiB page of the heap costs a page fault when first
//! touched (a 1,000-service check made ~9,500: a third of its time was the kernel), the
//! heap grows and shrinks one `brk` at a time, and every block over 128 KiB (the rendered
//! files, the documents' lists) is a mapping of its own, faulted in page by page and
//! unmapped when freed. Here the heap grows 32 MiB at a time, large blocks come from it,
//! it is not trimmed, and the kernel is asked to back it with 2 MiB pages (transparent
//! huge pages, where the system allows them for regions that ask: `madvise`, the usual
//! default): one fault then maps 2 MiB. The helper threads' arenas are left as they are.
//! Peak memory grows by a few MiB (pages are resident 2 MiB at a time and freed blocks are
//! kept), within the 50 MB target at 1,000 services.

/// Sets up the heap; call first thing in `main`, before any thread starts.
pub fn prepare() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc();
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn glibc() {
    const MIB: usize = 1 << 20;
    const HUGE_PAGE: usize = 2 * MIB;
    // SAFETY: mallopt only sets malloc parameters, and no other thread allocates yet. The
    // probe block is freed once. The advice covers the heap from the probe to the break,
    // only when the probe grew the heap (so it lies in it, below the new break): mapped
    // memory of this process, which the heap keeps (no trim below 64 MiB); advice changes
    // no contents.
    unsafe {
        libc::mallopt(libc::M_TOP_PAD, 32 * MIB as i32);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 * MIB as i32);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 * MIB as i32);
        let before = libc::sbrk(0) as usize;
        let probe = libc::malloc(MIB);
        let after = libc::sbrk(0) as usize;
        let start = (probe as usize).next_multiple_of(HUGE_PAGE);
        let mut advised = false;
        if !probe.is_null() && before < after && start < after {
            // Without transparent huge pages this fails, and the heap keeps small pages.
            let len = after - start;
            advised = libc::madvise(start as *mut libc::c_void, len, libc::MADV_HUGEPAGE) == 0;
        }
        libc::free(probe);
        if crate::timings() {
            let pages = if advised {
                "2 MiB pages"
            } else {
                "small pages"
            };
            eprintln!("timing: heap of {} MiB, {pages}", (after - before) / MIB);
        }
    }
}
