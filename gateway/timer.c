/* timer — binary min-heap; each timer knows its slot, so cancel and re-arm
 * are O(log n) without searching. */
#include "timer.h"

#include <stdlib.h>

static void timer_heap_place(struct timer_heap *h, uint32_t i, struct timer *t)
{
	h->v[i] = t;
	t->idx = i + 1;
}

static void timer_heap_up(struct timer_heap *h, uint32_t i)
{
	struct timer *t = h->v[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (h->v[parent]->when <= t->when)
			break;
		timer_heap_place(h, i, h->v[parent]);
		i = parent;
	}
	timer_heap_place(h, i, t);
}

static void timer_heap_down(struct timer_heap *h, uint32_t i)
{
	struct timer *t = h->v[i];

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1]->when < h->v[c]->when)
			c++;
		if (t->when <= h->v[c]->when)
			break;
		timer_heap_place(h, i, h->v[c]);
		i = c;
	}
	timer_heap_place(h, i, t);
}

void timer_heap_init(struct timer_heap *h)
{
	h->v = NULL;
	h->n = 0;
	h->cap = 0;
}

void timer_heap_fini(struct timer_heap *h)
{
	for (uint32_t i = 0; i < h->n; i++)
		h->v[i]->idx = 0;
	free(h->v);
	timer_heap_init(h);
}

int timer_heap_set(struct timer_heap *h, struct timer *t, uint64_t when)
{
	if (timer_armed(t)) {
		uint64_t old = t->when;
		uint32_t i = t->idx - 1;

		t->when = when;
		if (when < old)
			timer_heap_up(h, i);
		else if (when > old)
			timer_heap_down(h, i);
		return 0;
	}
	if (h->n == h->cap) {
		uint32_t cap = h->cap ? h->cap * 2 : 64;
		struct timer **v = realloc(h->v, (size_t)cap * sizeof(*v));

		if (v == NULL)
			return -1;
		h->v = v;
		h->cap = cap;
	}
	t->when = when;
	h->v[h->n] = t;
	t->idx = ++h->n;
	timer_heap_up(h, h->n - 1);
	return 0;
}

void timer_heap_del(struct timer_heap *h, struct timer *t)
{
	uint32_t i;
	struct timer *last;

	if (!timer_armed(t))
		return;
	i = t->idx - 1;
	t->idx = 0;
	last = h->v[--h->n];
	if (i == h->n)
		return;
	timer_heap_place(h, i, last);
	if (i > 0 && h->v[(i - 1) / 2]->when > last->when)
		timer_heap_up(h, i);
	else
		timer_heap_down(h, i);
}

struct timer *timer_heap_peek(const struct timer_heap *h)
{
	return h->n ? h->v[0] : NULL;
}

struct timer *timer_heap_pop_due(struct timer_heap *h, uint64_t now)
{
	struct timer *t = timer_heap_peek(h);

	if (t == NULL || t->when > now)
		return NULL;
	timer_heap_del(h, t);
	return t;
}
