/* loop — epoll loop with a timer heap and deferred work.
 *
 * Events carry the loop_io pointer; a handle closed while its events are
 * still in the current batch has fd == -1 and is skipped, and its owner frees
 * it through loop_defer(), which runs after the batch. */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOOP_BATCH 256

struct loop {
	int epfd;
	int stop;
	uint64_t now;
	struct timer_heap timers;
	struct loop_defer *defer_head;
	struct loop_defer **defer_tail;
};

static uint64_t loop_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	timer_heap_init(&l->timers);
	l->defer_tail = &l->defer_head;
	l->now = loop_clock();
	return l;
}

void loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	close(l->epfd);
	timer_heap_fini(&l->timers);
	free(l);
}

int loop_io_add(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = io};

	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, io->fd, &ev);
}

int loop_io_mod(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = io};

	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, io->fd, &ev);
}

void loop_io_close(struct loop *l, struct loop_io *io)
{
	(void)l;
	if (io->fd < 0)
		return;
	/* close() removes the fd from the epoll set: the fd is never dup'ed. */
	close(io->fd);
	io->fd = -1;
}

void loop_timer_set(struct loop *l, struct timer *t, uint64_t delay_ms)
{
	if (timer_heap_set(&l->timers, t, l->now + delay_ms) < 0)
		log_warnx("timer heap: out of memory");
}

void loop_timer_cancel(struct loop *l, struct timer *t)
{
	timer_heap_del(&l->timers, t);
}

uint64_t loop_now(const struct loop *l)
{
	return l->now;
}

uint64_t loop_now_update(struct loop *l)
{
	l->now = loop_clock();
	return l->now;
}

void loop_defer(struct loop *l, struct loop_defer *d)
{
	d->next = NULL;
	*l->defer_tail = d;
	l->defer_tail = &d->next;
}

/* Runs what was deferred before this call; work deferred by these callbacks
 * waits for the next iteration, so a busy session cannot starve the loop. */
static void loop_run_deferred(struct loop *l)
{
	struct loop_defer *d = l->defer_head;

	l->defer_head = NULL;
	l->defer_tail = &l->defer_head;
	while (d != NULL) {
		struct loop_defer *next = d->next;

		d->cb(d);
		d = next;
	}
}

void loop_run_pending(struct loop *l)
{
	while (l->defer_head != NULL)
		loop_run_deferred(l);
}

static void loop_run_timers(struct loop *l)
{
	struct timer *t;

	while ((t = timer_heap_pop_due(&l->timers, l->now)) != NULL)
		t->cb(t);
}

static int loop_wait_ms(struct loop *l)
{
	struct timer *t = timer_heap_peek(&l->timers);

	if (l->defer_head != NULL)
		return 0;
	if (t == NULL)
		return -1;
	if (t->when <= l->now)
		return 0;
	if (t->when - l->now > 60000)
		return 60000;
	return (int)(t->when - l->now);
}

int loop_run(struct loop *l)
{
	struct epoll_event ev[LOOP_BATCH];

	l->stop = 0;
	while (!l->stop) {
		int n = epoll_wait(l->epfd, ev, LOOP_BATCH, loop_wait_ms(l));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_warn("epoll_wait");
			return -1;
		}
		l->now = loop_clock();
		for (int i = 0; i < n; i++) {
			struct loop_io *io = ev[i].data.ptr;

			if (io->fd >= 0)
				io->cb(io, ev[i].events);
		}
		loop_run_deferred(l);
		loop_run_timers(l);
		loop_run_deferred(l);
	}
	return 0;
}

void loop_stop(struct loop *l)
{
	l->stop = 1;
}
