/* Whole-process times of two or more commands run in turn (A, B, A, B, ...), with medians
 * and quartiles (BENCHMARKS.md, fourteenth session). hyperfine runs one command's runs, then
 * the next's, so a minute in which the shared VM is slow lands on one command only; here
 * both see the same minutes. Unlike scripts/compare.sh nothing is added to the commands (no
 * TACOSGEN_TIMINGS output), so the times are what a user waits. PREP runs through the shell
 * before every run (e.g. "rm -rf out" for a fresh build), untimed; leading VAR=VALUE words
 * of a command go into its environment, and its program is a path (PATH is not searched).
 * Three rounds are run first and not counted.
 *
 *   cc -O2 scripts/interleave.c -o /tmp/interleave
 *   /tmp/interleave 150 "rm -rf out" -- old/tacosgen build -q environments/prod.yaml \
 *       -- new/tacosgen build -q environments/prod.yaml
 *   /tmp/interleave 300 "" -- ./tacosgen check environments/prod.yaml \
 *       -- TACOSGEN_X=1 ./tacosgen check environments/prod.yaml
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

enum { MAX_COMMANDS = 8, MAX_ENV = 256 };

int main(int argc, char **argv) {
    if (argc < 5 || strcmp(argv[3], "--") != 0) {
        fprintf(stderr, "usage: interleave RUNS PREP -- COMMAND... [-- COMMAND...]\n");
        return 2;
    }
    int runs = atoi(argv[1]);
    const char *prep = argv[2];
    if (runs < 1) {
        fprintf(stderr, "interleave: RUNS must be a positive number, not %s\n", argv[1]);
        return 2;
    }
    char **commands[MAX_COMMANDS];
    int count = 0;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--") != 0) continue;
        argv[i] = NULL; /* ends the previous command's arguments */
        if (count == MAX_COMMANDS || i + 1 == argc) {
            fprintf(stderr, "interleave: 1 to %d commands, each after --\n", MAX_COMMANDS);
            return 2;
        }
        commands[count++] = &argv[i + 1];
    }
    double *times[MAX_COMMANDS];
    for (int c = 0; c < count; c++) times[c] = calloc(runs, sizeof(double));

    for (int r = -3; r < runs; r++) {
        for (int c = 0; c < count; c++) {
            if (*prep && system(prep) != 0) {
                fprintf(stderr, "interleave: PREP failed: %s\n", prep);
                return 2;
            }
            char **command = commands[c];
            char *env[MAX_ENV + 1];
            int n = 0;
            for (char **e = environ; *e && n < MAX_ENV - 16; e++) env[n++] = *e;
            while (*command && strchr(*command, '=') && n < MAX_ENV) env[n++] = *command++;
            env[n] = NULL;
            posix_spawn_file_actions_t actions;
            posix_spawn_file_actions_init(&actions);
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
            pid_t pid;
            double start = now_ms();
            if (posix_spawn(&pid, command[0], &actions, NULL, command, env) != 0) {
                fprintf(stderr, "interleave: cannot run %s\n", command[0]);
                return 2;
            }
            int status;
            waitpid(pid, &status, 0);
            double elapsed = now_ms() - start;
            posix_spawn_file_actions_destroy(&actions);
            if (r >= 0) times[c][r] = elapsed;
        }
    }
    for (int c = 0; c < count; c++) {
        qsort(times[c], runs, sizeof(double), by_value);
        printf("command %d: median %.3f ms, quartiles %.3f-%.3f, minimum %.3f (%d runs):",
               c + 1, times[c][runs / 2], times[c][runs / 4], times[c][3 * runs / 4], times[c][0],
               runs);
        for (char **a = commands[c]; *a; a++) printf(" %s", *a);
        printf("\n");
    }
    return 0;
}
