/* timer — a binary min-heap of timers embedded in their owners.
 * O(log n) arm, re-arm and cancel; the heap array only grows. Pure. */
#ifndef SOCKS64_TIMER_H
#define SOCKS64_TIMER_H

#include <stdbool.h>
#include <stdint.h>

struct timer {
	uint64_t when; /* expiry, monotonic milliseconds */
	uint32_t idx; /* position in the heap + 1; 0 when not armed */
	void (*cb)(struct timer *t);
};

struct timer_heap {
	struct timer **v;
	uint32_t n;
	uint32_t cap;
};

static inline bool timer_armed(const struct timer *t)
{
	return t->idx != 0;
}

void timer_heap_init(struct timer_heap *h);
void timer_heap_fini(struct timer_heap *h);
/* Arm (or re-arm) t to fire at `when`. Returns 0, or -1 if the heap could not grow. */
int timer_heap_set(struct timer_heap *h, struct timer *t, uint64_t when);
/* Disarm t; harmless when not armed. */
void timer_heap_del(struct timer_heap *h, struct timer *t);
/* Earliest timer, or NULL. */
struct timer *timer_heap_peek(const struct timer_heap *h);
/* Remove and return the earliest timer if it is due at `now`, else NULL. */
struct timer *timer_heap_pop_due(struct timer_heap *h, uint64_t now);

#endif
