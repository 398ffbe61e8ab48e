/* What one page fault costs on this machine (BENCHMARKS.md, step 14): touches 4,096 fresh
 * 4 KiB pages three ways and prints the time per page.
 *
 *   cc -O2 scripts/pagefault-cost.c -o /tmp/pagefault-cost && /tmp/pagefault-cost
 *
 * mode 0: plain first touch; mode 1: the region madvised for transparent huge pages;
 * mode 2: populated up front with MADV_POPULATE_WRITE (Linux 5.14+) before the touches. */
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(void) {
    const size_t pages = 4096, huge = 2UL << 20;
    for (int mode = 0; mode < 3; mode++) {
        char *p = mmap(0, pages * 4096 + huge, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            perror("mmap");
            return 1;
        }
        p = (char *)(((unsigned long)p + huge - 1) & ~(huge - 1));
        if (mode == 1) madvise(p, pages * 4096, MADV_HUGEPAGE);
        double start = now_ms();
        if (mode == 2) madvise(p, pages * 4096, MADV_POPULATE_WRITE);
        for (size_t i = 0; i < pages; i++) p[i * 4096] = 1;
        double ms = now_ms() - start;
        printf("mode %d: %.3f ms for %zu pages (%.2f us/page)\n", mode, ms, pages,
               ms * 1000 / pages);
    }
    return 0;
}
