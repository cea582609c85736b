#include "prom.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mm_prom_init(mm_prom *p, size_t max)
{
    memset(p, 0, sizeof(*p));
    p->max = max;
}

void mm_prom_free(mm_prom *p)
{
    free(p->data);
    memset(p, 0, sizeof(*p));
}

static int grow(mm_prom *p, size_t need)
{
    if (need <= p->cap)
        return 0;
    if (need > p->max)
        return -1;
    size_t cap = p->cap ? p->cap : 4096;
    while (cap < need)
        cap *= 2;
    if (cap > p->max)
        cap = p->max;
    char *d = realloc(p->data, cap);
    if (d == NULL)
        return -1;
    p->data = d;
    p->cap = cap;
    return 0;
}

static void add(mm_prom *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(mm_prom *p, const char *fmt, ...)
{
    if (p->failed)
        return;
    for (int attempt = 0; attempt < 2; attempt++) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = p->cap - p->len;
        int n = vsnprintf(p->data ? p->data + p->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0)
            break;
        if ((size_t)n < room) {
            p->len += (size_t)n;
            return;
        }
        if (grow(p, p->len + (size_t)n + 1) != 0)
            break;
    }
    p->failed = 1;
}

void mm_prom_family(mm_prom *p, const char *name, const char *type, const char *help)
{
    add(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample_name(mm_prom *p, const char *name, const char *suffix, const char *labels)
{
    if (labels[0] != '\0')
        add(p, "%s%s{%s} ", name, suffix, labels);
    else
        add(p, "%s%s ", name, suffix);
}

void mm_prom_counter(mm_prom *p, const char *name, const char *labels, uint64_t value)
{
    sample_name(p, name, "", labels);
    add(p, "%" PRIu64 "\n", value);
}

void mm_prom_gauge(mm_prom *p, const char *name, const char *labels, double value)
{
    sample_name(p, name, "", labels);
    add(p, "%.17g\n", value);
}

void mm_prom_histogram(mm_prom *p, const char *name, const char *labels, const double *bounds,
                       const uint64_t *counts, size_t n, double sum)
{
    const char *sep = labels[0] != '\0' ? "," : "";
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += counts[i];
        if (i + 1 < n)
            add(p, "%s_bucket{%s%sle=\"%g\"} %" PRIu64 "\n", name, labels, sep, bounds[i], total);
        else
            add(p, "%s_bucket{%s%sle=\"+Inf\"} %" PRIu64 "\n", name, labels, sep, total);
    }
    sample_name(p, name, "_sum", labels);
    add(p, "%.6f\n", sum);
    sample_name(p, name, "_count", labels);
    add(p, "%" PRIu64 "\n", total);
}

size_t mm_prom_bucket(const double *bounds, size_t n, double seconds)
{
    size_t b = 0;
    while (b + 1 < n && seconds > bounds[b])
        b++;
    return b;
}

mm_status mm_prom_finish(mm_prom *p, const char **text, size_t *len)
{
    if (p->failed || grow(p, p->len + 1) != 0)
        return MM_ERR_NOMEM;
    p->data[p->len] = '\0';
    *text = p->data;
    *len = p->len;
    return MM_OK;
}
