//! The main thread's heap, set up once at start for a process that lives tens of
//! milliseconds and allocates tens of megabytes (BENCHMARKS.md, steps 55 and 57).
//!
//! With glibc's defaults, each 4 KiB page of the heap costs a page fault when first
//! touched (a 1,000-service check made ~9,500: a third of its time was the kernel), the
//! heap grows and shrinks one `brk` at a time, and every block over 128 KiB (the rendered
//! files, the documents' lists) is a mapping of its own, faulted in page by page and
//! unmapped when freed. Here the heap grows 32 MiB at a time, large blocks come from it,
//! it is not trimmed, and the kernel is asked to back it with 2 MiB pages (transparent
//! huge pages, where the system allows them for regions that ask: `madvise`, the usual
//! default): one fault then maps 2 MiB, from the first block the program allocates on
//! (`TACOSGEN_TIMINGS` prints how far below that the small pages end). The helper threads'
//! arenas are left as they are. Peak memory grows by a few MiB (pages are resident 2 MiB
//! at a time and freed blocks are kept), within the 50 MB target at 1,000 services.

/// Sets up the heap; call first thing in `main`, before any thread starts.
pub fn prepare() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc();
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn glibc() {
    const MIB: usize = 1 << 20;
    const HUGE_PAGE: usize = 2 * MIB;
    const PAGE: usize = 4096;
    // SAFETY: mallopt and mallinfo2 only set and read malloc's parameters and statistics,
    // and no other thread allocates yet. The filler block is never freed and never
    // touched. The advice covers whole 2 MiB blocks of the heap from `boundary` to the
    // break, only when the filler grew the heap past `boundary` (mapped memory of this
    // process, which the heap keeps: no trim below 64 MiB); advice changes no contents.
    unsafe {
        libc::mallopt(libc::M_TOP_PAD, 32 * MIB as i32);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 * MIB as i32);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 * MIB as i32);
        // A 2 MiB block gets a huge page only if none of its pages was touched before the
        // advice. malloc hands out blocks from the start of its top chunk upwards and writes
        // a header where the top chunk begins. So a filler block takes the top chunk up to
        // one page below the first 2 MiB boundary past the break: allocating it grows the
        // heap (by the 32 MiB pad) without touching the blocks above, the next header lands
        // below the boundary, and the blocks the program allocates next start at it. The
        // filler's pages are never touched: address space, not memory. Without it the
        // first blocks, all a small run needs, stayed in small pages (BENCHMARKS.md, step 57).
        let brk = libc::sbrk(0) as usize;
        // The top chunk ends at the break (the main heap is contiguous) and spans `keepcost`.
        let top = brk.saturating_sub(libc::mallinfo2().keepcost);
        let boundary = (brk + PAGE + 64).next_multiple_of(HUGE_PAGE);
        let mut filler = std::ptr::null_mut();
        if top > 0 && top < brk {
            // malloc's chunk for n bytes is n + 8 rounded up to 16: exactly up to the page.
            // `black_box`: an optimiser may drop an allocation nobody reads (and did, with
            // LTO: the heap then never grew).
            filler = std::hint::black_box(libc::malloc(boundary - PAGE - top - 8));
        }
        let after = libc::sbrk(0) as usize;
        let end = after / HUGE_PAGE * HUGE_PAGE;
        let mut advised = false;
        if !filler.is_null() && end > boundary {
            // Without transparent huge pages this fails, and the heap keeps small pages.
            let len = end - boundary;
            advised = libc::madvise(boundary as *mut libc::c_void, len, libc::MADV_HUGEPAGE) == 0;
        }
        if crate::timings() {
            // Where malloc's next block starts, and the first 2 MiB block that no header
            // touched before the advice: the bytes between stay small pages.
            let next = after.saturating_sub(libc::mallinfo2().keepcost);
            let huge = if next < boundary {
                boundary
            } else {
                (next / HUGE_PAGE + 1) * HUGE_PAGE
            };
            let pages = if advised {
                format!("2 MiB pages from {} KiB on", (huge - next) / 1024)
            } else {
                "small pages".to_string()
            };
            eprintln!("timing: heap of {} MiB, {pages}", (after - brk) / MIB);
        }
    }
}
