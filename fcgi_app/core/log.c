#include "log.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
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

size_t mm_log_clean(char *dst, size_t cap, const char *s, size_t len, bool quoted)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool plain = c > 0x20 && c < 0x7f && c != '"' && c != '\\';
        dst[i] = s[i];
        if (!plain && !(c == ' ' && quoted))
            dst[i] = '?';
    }
    dst[n] = '\0';
    return n;
}

/* The line prefix up to the whole second ("ts=2026-11-23T18:04:05") and the pid change at
 * most once a second, so each thread keeps them and formats only the microseconds. A child
 * made by fork() must not print its parent's pid: it drops its copy (reset_prefix). */
#define LOG_TS_LEN 22 /* "ts=" + "YYYY-MM-DDTHH:MM:SS" */
static _Thread_local time_t prefix_sec = -1;
static _Thread_local char prefix_ts[LOG_TS_LEN + 1];
static _Thread_local char prefix_pid[24];
static _Thread_local size_t prefix_pid_len;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void reset_prefix(void)
{
    prefix_sec = -1;
}

static void register_atfork(void)
{
    (void)pthread_atfork(NULL, NULL, reset_prefix);
}

static bool refresh_prefix(time_t sec)
{
    struct tm tm;
    if (gmtime_r(&sec, &tm) == NULL)
        return false;
    int n =
        snprintf(prefix_ts, sizeof(prefix_ts), "ts=%04d-%02d-%02dT%02d:%02d:%02d",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    int m = snprintf(prefix_pid, sizeof(prefix_pid), "%ld", (long)getpid());
    if (n != LOG_TS_LEN) /* a clock outside years 0..9999: keep the line, mark the time */
        memcpy(prefix_ts, "ts=0000-00-00T00:00:00", LOG_TS_LEN + 1);
    if (m <= 0 || (size_t)m >= sizeof(prefix_pid))
        return false;
    prefix_pid_len = (size_t)m;
    prefix_sec = sec;
    return true;
}

/* Appends s[0..n) at line[*at] if it fits (cap leaves room for the newline). */
static bool put(char *line, size_t cap, size_t *at, const char *s, size_t n)
{
    if (n > cap - *at)
        return false;
    memcpy(line + *at, s, n);
    *at += n;
    return true;
}

void mm_log(mm_log_level level, const char *fmt, ...)
{
    if (level > log_level)
        return;
    /* One buffer, one write: lines from a pool sharing a file stay whole. */
    char line[2048];
    const size_t cap = sizeof(line) - 1;
    size_t n = 0;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    (void)pthread_once(&atfork_once, register_atfork);
    if (tv.tv_sec != prefix_sec && !refresh_prefix(tv.tv_sec))
        return;
    char usec[8] = {'.', 0, 0, 0, 0, 0, 0, 'Z'};
    long us = (long)tv.tv_usec;
    for (int i = 6; i >= 1; i--, us /= 10)
        usec[i] = (char)('0' + us % 10);
    const char *lv = level_names[level];
    if (!put(line, cap, &n, prefix_ts, LOG_TS_LEN) || !put(line, cap, &n, usec, sizeof(usec)) ||
        !put(line, cap, &n, " level=", 7) || !put(line, cap, &n, lv, strlen(lv)) ||
        !put(line, cap, &n, " prog=", 6) || !put(line, cap, &n, log_prog, strlen(log_prog)) ||
        !put(line, cap, &n, " pid=", 5) || !put(line, cap, &n, prefix_pid, prefix_pid_len) ||
        !put(line, cap, &n, " ", 1))
        return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    size_t len = n + (size_t)m;
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2; /* truncated; keep the newline */
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
