/* The log line format (log.h): prefix fields, the pid after fork(), the newline, and
 * truncation of an over-long line. stderr is pointed at a pipe for the test. */
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

static int saved_stderr = -1;
static int pipe_rd = -1;

static void capture(void)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    saved_stderr = dup(STDERR_FILENO);
    assert_true(saved_stderr >= 0);
    assert_true(dup2(fds[1], STDERR_FILENO) >= 0);
    close(fds[1]);
    pipe_rd = fds[0];
}

/* Restores stderr and returns everything written meanwhile (static buffer). */
static const char *release(void)
{
    static char buf[16384];
    assert_true(dup2(saved_stderr, STDERR_FILENO) >= 0);
    close(saved_stderr);
    size_t n = 0;
    ssize_t r;
    while (n < sizeof(buf) - 1 && (r = read(pipe_rd, buf + n, sizeof(buf) - 1 - n)) > 0)
        n += (size_t)r;
    close(pipe_rd);
    buf[n] = '\0';
    return buf;
}

static void assert_line(const char *line, const char *level, long pid, const char *rest)
{
    char want[512];
    snprintf(want, sizeof(want),
             "^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z "
             "level=%s prog=test_log pid=%ld %s$",
             level, pid, rest);
    regex_t re;
    assert_int_equal(regcomp(&re, want, REG_EXTENDED | REG_NOSUB), 0);
    int rc = regexec(&re, line, 0, NULL, 0);
    regfree(&re);
    if (rc != 0)
        fail_msg("line \"%s\" does not match \"%s\"", line, want);
}

/* Splits text into lines in place; returns how many. The slots after the last line hold an
 * empty string: a line that is missing fails its check on the text, never reads garbage. */
static size_t lines_of(char *text, const char **out, size_t max)
{
    size_t n = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l != NULL && n < max;
         l = strtok_r(NULL, "\n", &save))
        out[n++] = l;
    for (size_t i = n; i < max; i++)
        out[i] = "";
    return n;
}

static void test_format_and_levels(void **state)
{
    (void)state;
    mm_log_init("test_log", MM_LOG_INFO);
    capture();
    mm_log_info("msg=\"first\" n=%d", 1);
    mm_log_debug("msg=\"hidden\""); /* below the threshold */
    mm_log_warn("msg=\"second\" s=%s", "x y");
    mm_log_error("msg=\"third\"");
    char *text = strdup(release());
    const char *l[8];
    assert_int_equal(lines_of(text, l, 8), 3);
    long pid = (long)getpid();
    assert_line(l[0], "info", pid, "msg=\"first\" n=1");
    assert_line(l[1], "warn", pid, "msg=\"second\" s=x y");
    assert_line(l[2], "error", pid, "msg=\"third\"");
    free(text);
}

/* A child of fork() logs with its own pid, even within the second the parent last logged. */
static void test_pid_after_fork(void **state)
{
    (void)state;
    mm_log_init("test_log", MM_LOG_INFO);
    capture();
    mm_log_info("msg=parent");
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        mm_log_info("msg=child");
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    mm_log_info("msg=parent-again");
    char *text = strdup(release());
    const char *l[8];
    assert_int_equal(lines_of(text, l, 8), 3);
    assert_line(l[0], "info", (long)getpid(), "msg=parent");
    assert_line(l[1], "info", (long)child, "msg=child");
    assert_line(l[2], "info", (long)getpid(), "msg=parent-again");
    free(text);
}

/* A line longer than the buffer is cut, and still ends with its newline. */
static void test_truncation(void **state)
{
    (void)state;
    mm_log_init("test_log", MM_LOG_INFO);
    char big[5000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    capture();
    mm_log_info("msg=\"%s\"", big);
    mm_log_info("msg=after");
    char *text = strdup(release());
    char *nl = strchr(text, '\n');
    assert_non_null(nl);
    assert_int_equal((size_t)(nl - text) + 1, 2047); /* the whole buffer but its last byte */
    const char *l[2];
    assert_int_equal(lines_of(nl + 1, l, 2), 1);
    assert_line(l[0], "info", (long)getpid(), "msg=after");
    free(text);
}

/* Text from outside, made safe for a log line: quoted, spaces stay; unquoted, they go. */
static void test_clean(void **state)
{
    static const struct {
        const char *s;
        size_t len;
        bool quoted;
        const char *want;
    } cases[] = {
        {"GET", 3, false, "GET"},
        {"/a b", 4, true, "/a b"},
        {"/a b", 4, false, "/a?b"},
        {"x\"y\\z", 5, true, "x?y?z"},
        {"\r\nlevel=error", 13, true, "??level=error"},
        {"\x01\x7f\xc3\xa9~", 5, true, "????~"},
        {"a\0b", 3, true, "a?b"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[64];
        size_t n = mm_log_clean(out, sizeof(out), cases[i].s, cases[i].len, cases[i].quoted);
        assert_int_equal(n, strlen(cases[i].want));
        assert_string_equal(out, cases[i].want);
    }
    /* at most cap - 1 bytes and the NUL */
    char small[4] = {'#', '#', '#', '#'};
    assert_int_equal(mm_log_clean(small, 3, "abcdef", 6, true), 2);
    assert_string_equal(small, "ab");
    assert_int_equal(small[3], '#');
    assert_int_equal(mm_log_clean(small, 1, "abcdef", 6, true), 0);
    assert_string_equal(small, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_and_levels),
        cmocka_unit_test(test_pid_after_fork),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
