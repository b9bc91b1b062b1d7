/*
 * timeit: run a command and report its wall time and peak resident set.
 *   timeit OUT CMD [ARGS...]
 * Appends "SECONDS MAXRSS_KIB EXIT" to OUT. The peak is the kernel's
 * ru_maxrss from wait4, the figure /usr/bin/time -v reports as "Maximum
 * resident set size". Standard streams are the command's own.
 *
 * cc -O2 -std=c11 -o timeit timeit.c
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: timeit OUT CMD [ARGS...]\n");
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) { perror("timeit: fork"); return 1; }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        fprintf(stderr, "timeit: %s: %s\n", argv[2], strerror(errno));
        _exit(127);
    }
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) { perror("timeit: wait4"); return 1; }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    FILE *f = fopen(argv[1], "a");
    if (!f) { perror(argv[1]); return 1; }
    fprintf(f, "%.6f %ld %d\n", secs, ru.ru_maxrss, code);
    fclose(f);
    return code;
}
