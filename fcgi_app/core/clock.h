/* Monotonic time, for durations and schedules; timestamps come from the wall clock
 * (log.c, the game model's _last_updated). */
#ifndef MM_CLOCK_H
#define MM_CLOCK_H

#include <stdint.h>

/* Microseconds on CLOCK_MONOTONIC: only differences mean anything. */
int64_t mm_clock_us(void);
/* The same in milliseconds. */
int64_t mm_clock_ms(void);

#endif
