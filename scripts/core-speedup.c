/* How much a second core adds right now, and what starting a thread costs (BENCHMARKS.md,
 * tenth and eleventh sessions): times a loop of pure arithmetic on one thread, then the same
 * work split over two, and prints the ratio; then starts and joins 200 threads that do
 * nothing. On the shared VMs the benchmarks ran on, the ratio moved between 1.0x and 2.0x
 * within minutes, so run it beside any comparison of parallel stages. The "wide" loop, eight
 * independent chains, is bound by the multipliers instead of by latency: two hyperthreads of
 * one core would share them and gain little, two cores gain 2x. At -O2 it is vectorized;
 * with -fno-tree-vectorize it runs on the scalar multiplier. Both runs of a loop go through
 * one function (`compare`): a run inlined into main would time different code.
 *
 *   cc -O2 -pthread scripts/core-speedup.c -o /tmp/core-speedup && /tmp/core-speedup
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* A chain of dependent multiply-adds: no memory traffic, nothing to vectorize. */
static void *work(void *arg) {
    uint64_t n = *(uint64_t *)arg, x = 1;
    for (uint64_t k = 0; k < n; k++) x = x * 6364136223846793005ULL + k;
    *(uint64_t *)arg = x;
    return NULL;
}

/* Eight independent chains: as many multiplies as the core can issue. */
static void *wide(void *arg) {
    uint64_t n = *(uint64_t *)arg, x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, s = 0;
    for (uint64_t k = 0; k < n; k++)
        for (int j = 0; j < 8; j++) x[j] = x[j] * 6364136223846793005ULL + k;
    for (int j = 0; j < 8; j++) s ^= x[j];
    *(uint64_t *)arg = s;
    return NULL;
}

static void *nothing(void *arg) { return arg; }

/* Times `work` over `all` iterations on one thread, then split over two, and prints both. */
__attribute__((noinline)) static int compare(const char *name, void *(*work)(void *),
                                             uint64_t all) {
    uint64_t a = all / 2, b = all / 2;
    double t0 = now_ms();
    work(&all);
    double one = now_ms() - t0;
    t0 = now_ms();
    pthread_t helper;
    if (pthread_create(&helper, NULL, work, &b) != 0) return 1;
    work(&a);
    pthread_join(helper, NULL);
    double two = now_ms() - t0;
    printf("%s: one thread %.2f ms, two threads %.2f ms: %.2fx (%llu)\n", name, one, two,
           one / two, (unsigned long long)(all ^ a ^ b));
    return 0;
}

int main(void) {
    for (int run = 0; run < 3; run++)
        if (compare("chain", work, 50000000) != 0) return 1;
    for (int run = 0; run < 3; run++)
        if (compare("wide", wide, 20000000) != 0) return 1;
    pthread_t idle;
    double t0 = now_ms();
    for (int i = 0; i < 200; i++) {
        if (pthread_create(&idle, NULL, nothing, NULL) != 0) return 1;
        pthread_join(idle, NULL);
    }
    printf("thread start and join: %.1f us\n", (now_ms() - t0) * 1e3 / 200);
    return 0;
}
