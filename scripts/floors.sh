#!/usr/bin/env bash
# What a seed run costs before and beside tacosgen's own work (BENCHMARKS.md, thirteenth
# session): the measurements behind "What is left" for the seed build, rerunnable.
#
#   scripts/floors.sh [BINARY]      (default: the release build, built if missing)
#
# 1. Process start: /bin/true, a static C hello linked with glibc and with musl
#    (musl-gcc from Debian's musl-tools), and the cost of one `cpuid` instruction, which a
#    VM may trap (glibc's start-up executes dozens to read the CPU's features and caches).
# 2. The binary's page cache: the same bytes timed (`tacosgen check` of the seed) as the
#    file given, as a copy written in large chunks (`cp`), as a copy written 4 KiB at a time
#    (`dd bs=4k`), and as a copy evicted from the page cache and read back from disk.
# 3. The durable write: a C model that writes the seed's 18 files (their sizes) into a
#    directory under out/ and syncs it as `emit.rs` does, from one thread and from two,
#    with and without starting each file's writeback (`sync_file_range`).
# 4. What the durability costs: the same 18 files written, then swapped in by a rename, with
#    the sync emit.rs does and with less (fifteenth session): how much of the write a build
#    without the sync would still pay, and what it would give up.
# Needs hyperfine and a C compiler; musl-gcc is optional (skipped with a message).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)
log() { printf 'floors: %s\n' "$*" >&2; }
command -v hyperfine >/dev/null || { log "hyperfine is missing: apt-get install hyperfine"; exit 2; }
command -v cc >/dev/null || { log "cc is missing: apt-get install gcc"; exit 2; }

bin=${1:-$(bash scripts/shipped-binary.sh release)}
work=$(mktemp -d)
trap 'rm -rf "$work" "$repo/out/.floors-"*' EXIT

# hyperfine's median in ms of each command given, all in one run.
medians() {
    # (Its warnings about outliers go with the rest of its output: medians are the point.)
    hyperfine -N --style none --warmup 5 --runs "${RUNS:-100}" --export-json "$work/h.json" "$@" \
        >/dev/null 2>&1 || { log "hyperfine failed: $*"; exit 1; }
    python3 -c '
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print("  {:6.3f} ms  {}".format(r["median"] * 1000, r["command"]))' "$work/h.json"
}

echo "1. Process start (medians):"
printf '#include <unistd.h>\nint main(void) { write(1, "hi\\n", 3); return 0; }\n' >"$work/hi.c"
cc -O2 -static -o "$work/hi-glibc" "$work/hi.c"
hellos=("$work/hi-glibc")
if command -v musl-gcc >/dev/null; then
    musl-gcc -O2 -static -o "$work/hi-musl" "$work/hi.c"
    hellos+=("$work/hi-musl")
else
    log "skipping the musl hello: musl-gcc is missing (apt-get install musl-tools)"
fi
medians /bin/true "${hellos[@]}" "$bin --version"
cat >"$work/cpuid.c" <<'C'
#include <cpuid.h>
#include <stdio.h>
#include <time.h>
int main(void) {
    unsigned a, b, c, d, sum = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 1000; i++) { __cpuid_count(0x8000001D, i & 3, a, b, c, d); sum += a; }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("  one cpuid: %.2f us (%u)\n", ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e6, sum & 1);
    return 0;
}
C
if [[ $(uname -m) == x86_64 ]]; then
    cc -O2 -o "$work/cpuid" "$work/cpuid.c" && "$work/cpuid"
fi

echo "2. The binary's page cache (seed check, medians):"
cp "$bin" "$work/tacosgen-cp"
dd if="$bin" of="$work/tacosgen-dd4k" bs=4k status=none && chmod +x "$work/tacosgen-dd4k"
cp "$bin" "$work/tacosgen-evicted" && sync
python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)' \
    "$work/tacosgen-evicted"
"$work/tacosgen-evicted" --version >/dev/null # read back from disk
spec=environments/prod.yaml
medians "$bin check -q $spec" "$work/tacosgen-cp check -q $spec" \
    "$work/tacosgen-dd4k check -q $spec" "$work/tacosgen-evicted check -q $spec"

# What the two C models of sections 3 and 4 share: the seed's files and a clock.
cat >"$work/seed.h" <<'C'
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
/* The seed's output files, in bytes (out/prod, thirteenth session). */
static const int sizes[] = {8348, 11274, 1937, 13198, 5304, 1621, 485, 3401, 18145,
                            13148, 478, 5284, 2355, 9194, 507, 601, 1978, 2211};
enum { FILES = sizeof sizes / sizeof *sizes };
static char buf[20000];
static double now(void) {
    struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
C

echo "3. The durable write of the seed's 18 files (mean of 80 runs, ms):"
cat >"$work/write.c" <<'C'
#include "seed.h"
#include <pthread.h>
static char dir[4096];
static int threads, writeback;
static void *work(void *arg) {
    char path[4200];
    for (int i = (int)(long)arg; i < FILES; i += threads) {
        snprintf(path, sizeof path, "%s/f%d", dir, i);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (fd < 0 || write(fd, buf, sizes[i]) != sizes[i]) { perror(path); exit(1); }
        if (writeback) sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
        close(fd);
    }
    return NULL;
}
int main(int argc, char **argv) {
    threads = atoi(argv[2]); writeback = atoi(argv[3]);
    memset(buf, 'x', sizeof buf);
    double writes = 0, syncs = 0; const int runs = 80;
    for (int r = 0; r < runs; r++) {
        snprintf(dir, sizeof dir, "%s-%d", argv[1], r);
        double t0 = now();
        if (mkdir(dir, 0777)) { perror(dir); return 1; }
        pthread_t t[2];
        for (long i = 1; i < threads; i++) pthread_create(&t[i], NULL, work, (void *)i);
        work((void *)0);
        for (int i = 1; i < threads; i++) pthread_join(t[i], NULL);
        double t1 = now();
        int fd = open(dir, O_RDONLY);
        syncfs(fd); close(fd);
        double t2 = now();
        writes += t1 - t0; syncs += t2 - t1;
        char cmd[4200]; snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd)) return 1;
        usleep(5000);
    }
    printf("  %d thread(s), %s sync_file_range: writes %.3f, syncfs %.3f, both %.3f\n", threads,
           writeback ? "with" : "without", writes / runs, syncs / runs, (writes + syncs) / runs);
    return 0;
}
C
cc -O2 -pthread -o "$work/write" "$work/write.c"
mkdir -p out
for t in 1 2; do
    for wb in 1 0; do "$work/write" "$repo/out/.floors-$t-$wb" "$t" "$wb"; done
done

echo "4. The 18 files written and renamed into place, by how durable (mean of 100 runs, ms):"
cat >"$work/swap.c" <<'C'
#include "seed.h"
static const char *modes[] = {
    "writeback started, syncfs, rename, fsync of the parent (what emit.rs does)",
    "writeback started and waited for, rename, fsync of the parent (one journal commit)",
    "writeback started, rename, no sync (not durable; a power cut's result depends on the file system)",
    "no writeback, rename, no sync (ext4's delayed allocation can leave empty files after a power cut)",
};
int main(int argc, char **argv) {
    const char *base = argv[1], *parent = argv[2];
    int mode = atoi(argv[3]); const int runs = 100;
    memset(buf, 'x', sizeof buf);
    double writes = 0, total = 0;
    for (int r = 0; r < runs; r++) {
        char dir[4200], dst[4200], name[32], cmd[9000];
        snprintf(dir, sizeof dir, "%s-%d", base, r);
        snprintf(dst, sizeof dst, "%s-in-place", base);
        double t0 = now();
        if (mkdir(dir, 0777)) { perror(dir); return 1; }
        int dfd = open(dir, O_RDONLY | O_DIRECTORY), fds[FILES];
        for (int i = 0; i < FILES; i++) {
            snprintf(name, sizeof name, "f%d", i);
            fds[i] = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
            if (fds[i] < 0 || write(fds[i], buf, sizes[i]) != sizes[i]) { perror(name); return 1; }
            if (mode != 3) sync_file_range(fds[i], 0, 0, SYNC_FILE_RANGE_WRITE);
        }
        double t1 = now();
        if (mode == 0) syncfs(dfd);
        if (mode == 1)
            for (int i = 0; i < FILES; i++)
                sync_file_range(fds[i], 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE |
                                SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
        for (int i = 0; i < FILES; i++) close(fds[i]);
        close(dfd);
        if (rename(dir, dst)) { perror(dst); return 1; }
        if (mode <= 1) { int p = open(parent, O_RDONLY); fsync(p); close(p); }
        double t2 = now();
        writes += t1 - t0; total += t2 - t0;
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dst);
        if (system(cmd)) return 1;
        usleep(5000);
    }
    printf("  %.3f (of which creating and writing %.3f)  %s\n", total / runs, writes / runs, modes[mode]);
    return 0;
}
C
cc -O2 -o "$work/swap" "$work/swap.c"
for mode in 0 1 2 3; do "$work/swap" "$repo/out/.floors-swap" "$repo/out" "$mode"; done
