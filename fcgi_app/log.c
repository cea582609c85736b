#include "log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "matchmaker";
static mm_log_level log_level = MM_LOG_INFO;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

void mm_log_init(const char *prog, mm_log_level level)
{
    log_prog = prog;
    log_level = level;
}

void mm_log_set_level(mm_log_level level)
{
    log_level = level;
}

int mm_log_open(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    if (fd != STDERR_FILENO) {
        if (dup2(fd, STDERR_FILENO) < 0) {
            close(fd);
            return -1;
        }
        close(fd);
    }
    return 0;
}

int mm_log_enabled(mm_log_level level)
{
    return level <= log_level;
}

int mm_log_level_parse(const char *s, mm_log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (mm_log_level)i;
            return 0;
        }
    }
    return -1;
}

void mm_log(mm_log_level level, const char *fmt, ...)
{
    if (level > log_level)
        return;
    /* One buffer, one write: lines from a pool sharing a file stay whole. */
    char line[2048];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof(line),
                     "ts=%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ level=%s prog=%s pid=%ld ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (long)tv.tv_usec, level_names[level], log_prog, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(line))
        return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2; /* truncated; keep the newline */
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
