/* Circuit breakers of the game servers (SPEC 11), one per game server (keyed by its base
 * URL), shared by every process of a host's pools through one mapped file: after
 * game_server_failure_threshold failures in a row, calls to that game server are refused
 * for game_server_cooldown_ms; then one call is let through as a trial, and its outcome
 * closes the breaker or opens it again. A failure is a call with no usable answer (no
 * connection, a timeout, an answer that cannot be used); a refusal (a non-2xx answer) is an
 * answer, and counts as the game server being there.
 *
 * A breaker's whole state is one 64-bit word changed by compare-and-swap, so no lock is
 * held across a call and a process killed at any moment leaves it consistent; a trial
 * whose process died is replaced once the trial's time is up.
 * mm_breaker_open has one matching mm_breaker_close. */
#ifndef MM_BREAKER_H
#define MM_BREAKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* ---- the state machine, on one word (no I/O, the time is given) ---- */

typedef enum {
    MM_BREAKER_CLOSED, /* calls go through; failures in a row are counted */
    MM_BREAKER_OPEN,   /* calls are refused until the cooldown ends */
    MM_BREAKER_TRIAL   /* one call is on trial; the others are refused */
} mm_breaker_state;

typedef struct {
    long failure_threshold; /* failures in a row that open it (>= 1) */
    long cooldown_ms;       /* how long it stays open */
    long trial_ms;          /* how long a trial may last before another may start */
} mm_breaker_rules;

typedef enum {
    MM_BREAKER_ALLOW,       /* call it */
    MM_BREAKER_ALLOW_TRIAL, /* call it: this call is the trial */
    MM_BREAKER_REFUSE       /* do not call it */
} mm_breaker_verdict;

typedef enum {
    MM_BREAKER_UNCHANGED,
    MM_BREAKER_OPENED,   /* the threshold was reached */
    MM_BREAKER_REOPENED, /* the trial failed */
    MM_BREAKER_RECLOSED  /* the trial succeeded */
} mm_breaker_change;

/* Before a call: may it be made? Moves an open breaker whose cooldown is over (or a trial
 * whose time is up) to a trial of this call. */
mm_breaker_verdict mm_breaker_decide(uint64_t *word, const mm_breaker_rules *r, int64_t now_ms);
/* After a call let through (trial: it was the trial), ok: it had an answer. Outcomes of
 * calls let through before the breaker opened change nothing once it is open. */
mm_breaker_change mm_breaker_note(uint64_t *word, const mm_breaker_rules *r, int64_t now_ms,
                                  bool trial, bool ok);
/* What the word says: state, failures in a row (closed), and until when (open: the end of
 * the cooldown; trial: the end of the trial's time), any of them NULL. */
void mm_breaker_read(uint64_t word, mm_breaker_state *state, long *failures, int64_t *until_ms);

/* ---- the host's table of breakers ---- */

typedef struct mm_breaker mm_breaker;

/* Maps path (created 0600) and finds or adds a breaker for the game_server_url of each of
 * cfg's products (products with the same URL share one); cfg must outlive it. The rules
 * come from cfg (a trial may last game_server_timeout_ms plus a second). When the file
 * cannot be used the breakers live in this process only and *warning says why (it is
 * empty when they are shared). NULL only when out of memory. */
mm_breaker *mm_breaker_open(const char *path, const mm_config *cfg, char *warning, size_t warnlen);
/* The pool's: the file mm_breaker_path names for cfg's metrics_file; a process that cannot
 * use it logs so once (warn) and keeps breakers of its own. NULL only when out of memory. */
mm_breaker *mm_breaker_open_pool(const mm_config *cfg);
/* NULL is accepted. */
void mm_breaker_close(mm_breaker *b);

/* The breakers' file beside the pool's metrics file: metrics_file + ".breakers". 0, or -1
 * when it does not fit cap. */
int mm_breaker_path(const char *metrics_file, char *out, size_t cap);

/* One call's pass: made by mm_breaker_admit, given back to mm_breaker_record. */
typedef struct {
    int slot; /* -1: no breaker watches this URL */
    bool trial;
} mm_breaker_ticket;

/* Before a call to the game server at base_url: true when it may be made. b NULL, or a URL
 * of no configured product, always may. */
bool mm_breaker_admit(mm_breaker *b, const char *base_url, int64_t now_ms, mm_breaker_ticket *t);
/* After the call admit let through: ok when it had an answer (2xx or not). */
mm_breaker_change mm_breaker_record(mm_breaker *b, const mm_breaker_ticket *t, bool ok,
                                    int64_t now_ms);

/* For the metrics: the breaker of a product's game server. false when there is none. */
typedef struct {
    mm_breaker_state state;
    uint64_t opens;   /* times it opened (threshold reached or trial failed) */
    uint64_t refused; /* calls refused while it was open */
} mm_breaker_stats;
bool mm_breaker_stats_of(const mm_breaker *b, const char *base_url, mm_breaker_stats *out);

#endif
