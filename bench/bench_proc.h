/* What a benchmark reads about its own process: the monotonic clock, CPU
 * time (user + system, every thread), bytes it made the kernel write
 * (/proc/self/io) and a file's size. Header only: each bench_*.c is one
 * executable. */
#ifndef CRMSYNC_BENCH_PROC_H
#define CRMSYNC_BENCH_PROC_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

static inline double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline double bench_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* write_bytes of /proc/self/io; -1 when it cannot be read. */
static inline long long bench_written(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];
    long long v = -1;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "write_bytes: ", 13) == 0)
            v = strtoll(line + 13, NULL, 10);
    }
    fclose(f);
    return v;
}

static inline long long bench_file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long long)sb.st_size : 0;
}

#endif
