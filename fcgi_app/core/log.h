/* Logging: one line per event on stderr, key=value, UTC timestamp first:
 *   ts=2026-11-23T18:04:05.123456Z level=info prog=matchmaker-fcgi pid=42 msg="..." k=v
 * The level threshold is process-wide and set once at start-up. */
#ifndef MM_LOG_H
#define MM_LOG_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { MM_LOG_ERROR = 0, MM_LOG_WARN, MM_LOG_INFO, MM_LOG_DEBUG } mm_log_level;

void mm_log_init(const char *prog, mm_log_level level);
void mm_log_set_level(mm_log_level level);
/* Sends the log (stderr) to path, appending; returns 0 or -1 with errno.
 * For process managers that start us with stderr closed. */
int mm_log_open(const char *path);
/* Parses "error", "warn", "info" or "debug"; returns 0 on success. */
int mm_log_level_parse(const char *s, mm_log_level *out);

/* Copies s (len bytes) into dst for a log line, at most cap - 1 bytes and a NUL (cap at
 * least 1): each byte that is not printable ASCII, each quote and each backslash becomes
 * '?', so text from outside can neither end a quoted value nor start a line of its own.
 * Spaces stay in a value written between quotes (quoted), else become '?' too. Returns
 * the length of the copy. */
size_t mm_log_clean(char *dst, size_t cap, const char *s, size_t len, bool quoted);

/* fmt produces the part after the fixed prefix: typically
 * "msg=\"...\" key=value ...". */
void mm_log(mm_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define mm_log_error(...) mm_log(MM_LOG_ERROR, __VA_ARGS__)
#define mm_log_warn(...) mm_log(MM_LOG_WARN, __VA_ARGS__)
#define mm_log_info(...) mm_log(MM_LOG_INFO, __VA_ARGS__)
#define mm_log_debug(...) mm_log(MM_LOG_DEBUG, __VA_ARGS__)

#endif
