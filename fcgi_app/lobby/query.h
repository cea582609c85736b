/* Query strings: finding a parameter and reading the lobby's page numbers.
 * Pure functions over the raw (not percent-decoded) query string. */
#ifndef MM_QUERY_H
#define MM_QUERY_H

#include <stdbool.h>
#include <stddef.h>

/* Finds the first name=value pair; *val points into query (not decoded). A name
 * without '=' has an empty value. Returns false when the name is absent. */
bool mm_query_param(const char *query, const char *name, const char **val, size_t *len);

/* A non-negative decimal integer of 1 to 9 ASCII digits, nothing else. */
bool mm_query_uint(const char *val, size_t len, long *out);

#endif
