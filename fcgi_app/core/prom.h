/* The Prometheus text exposition format, written into a bounded buffer that
 * grows as needed. A writer that hit its bound or ran out of memory stays
 * failed and says so from mm_prom_finish. mm_prom_init has one matching
 * mm_prom_free. */
#ifndef MM_PROM_H
#define MM_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "mm.h"

typedef struct {
    char *data;
    size_t len, cap, max;
    int failed;
} mm_prom;

void mm_prom_init(mm_prom *p, size_t max);
void mm_prom_free(mm_prom *p);

/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram). */
void mm_prom_family(mm_prom *p, const char *name, const char *type, const char *help);

/* One sample: name{labels} value. labels is preformatted (k="v",k2="v2") or
 * "" for none; label values come from fixed names and the configured
 * products, never from request data. */
void mm_prom_counter(mm_prom *p, const char *name, const char *labels, uint64_t value);
void mm_prom_gauge(mm_prom *p, const char *name, const char *labels, double value);

/* A histogram: counts[i] observations fell in bucket i (not cumulative),
 * bounds[i] the upper bound in seconds of bucket i < n - 1, the last bucket
 * being +Inf; sum in seconds. */
void mm_prom_histogram(mm_prom *p, const char *name, const char *labels, const double *bounds,
                       const uint64_t *counts, size_t n, double sum);

/* The bucket of a histogram with these n - 1 bounds (seconds, ascending) that
 * an observation of seconds falls in: the first bound >= seconds, else the
 * last bucket (+Inf), n - 1. */
size_t mm_prom_bucket(const double *bounds, size_t n, double seconds);

/* MM_OK and the text (NUL-terminated, owned by p) or MM_ERR_NOMEM. */
mm_status mm_prom_finish(mm_prom *p, const char **text, size_t *len);

#endif
