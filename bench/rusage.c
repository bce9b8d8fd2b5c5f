/* Runs one command and appends "wall_us user_us sys_us maxrss_kib exit_status" to a file.
 * Why not /usr/bin/time: it prints times with 10 ms resolution, and a runtime op takes ~10 ms.
 * user/sys/maxrss come from wait4(), so they cover the command and every descendant it waited
 * for (not a detached container process). A command still running after the time limit is
 * killed (exit status 137), so a hung runtime cannot stall the benchmark.
 *
 *   rusage [-t SECONDS] OUTFILE COMMAND [ARG...] */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static volatile sig_atomic_t timedOut = 0;

static void onAlarm(int sig) {
    (void)sig;
    timedOut = 1;
}

static long long toMicros(struct timeval tv) { return (long long)tv.tv_sec * 1000000 + tv.tv_usec; }

int main(int argc, char **argv) {
    unsigned limit = 60;
    int arg = 1;
    if (argc > 2 && strcmp(argv[1], "-t") == 0) {
        limit = (unsigned)atoi(argv[2]);
        arg = 3;
    }
    if (argc - arg < 2) {
        fprintf(stderr, "usage: %s [-t SECONDS] OUTFILE COMMAND [ARG...]\n", argv[0]);
        return 2;
    }
    const char *outPath = argv[arg];
    char **command = argv + arg + 1;
    FILE *out = fopen(outPath, "a");
    if (!out) {
        fprintf(stderr, "rusage: open %s: %s\n", outPath, strerror(errno));
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = onAlarm; /* no SA_RESTART: wait4 returns EINTR when the limit passes */
    sigaction(SIGALRM, &sa, NULL);

    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    pid_t pid;
    int err = posix_spawnp(&pid, command[0], NULL, NULL, command, environ);
    if (err != 0) {
        fprintf(stderr, "rusage: spawn %s: %s\n", command[0], strerror(err));
        return 127;
    }
    if (limit > 0) alarm(limit);
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "rusage: wait4: %s\n", strerror(errno));
            return 2;
        }
        if (timedOut) {
            fprintf(stderr, "rusage: %s still running after %u s: killed\n", command[0], limit);
            kill(pid, SIGKILL);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    long long wall = (end.tv_sec - start.tv_sec) * 1000000LL + (end.tv_nsec - start.tv_nsec) / 1000;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    fprintf(out, "%lld %lld %lld %ld %d\n", wall, toMicros(ru.ru_utime), toMicros(ru.ru_stime),
            ru.ru_maxrss, code);
    fclose(out);
    return code;
}
