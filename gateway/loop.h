/* loop — one epoll event loop per worker thread.  It owns every fd of its
 * worker through loop_io handles embedded in their owners (container_of), and
 * a timer heap.  Nothing here blocks except epoll_wait itself. */
#ifndef SOCKS64_LOOP_H
#define SOCKS64_LOOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "timer.h"

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

struct loop;

struct loop_io {
	int fd; /* -1 once closed: events still queued for it are skipped */
	void (*cb)(struct loop_io *io, uint32_t events);
};

/* Work to run after the current batch of events (deferred frees). */
struct loop_defer {
	struct loop_defer *next;
	void (*cb)(struct loop_defer *d);
};

struct loop *loop_new(void);
void loop_free(struct loop *l);

/* Register io->fd with EPOLL* events (EPOLLET allowed). io->fd and io->cb
 * must be set. Returns 0 or -1 (errno). */
int loop_io_add(struct loop *l, struct loop_io *io, uint32_t events);
int loop_io_mod(struct loop *l, struct loop_io *io, uint32_t events);
/* Deregister and close io->fd, set io->fd = -1. Harmless when fd is -1. */
void loop_io_close(struct loop *l, struct loop_io *io);

/* Timers: t->cb must be set. Re-arming an armed timer moves it. */
void loop_timer_set(struct loop *l, struct timer *t, uint64_t delay_ms);
void loop_timer_cancel(struct loop *l, struct timer *t);

/* Monotonic milliseconds, refreshed once per loop iteration. */
uint64_t loop_now(const struct loop *l);
/* Refresh and return the clock (for measuring inside a callback). */
uint64_t loop_now_update(struct loop *l);

/* Run d->cb once the current batch of events has been handled. */
void loop_defer(struct loop *l, struct loop_defer *d);

/* Run everything deferred so far, and what that defers in turn (teardown,
 * when the loop will not run again). */
void loop_run_pending(struct loop *l);

/* Run until loop_stop(). Returns 0, or -1 if epoll_wait failed. */
int loop_run(struct loop *l);
/* Ask loop_run to return after the current iteration (loop thread only). */
void loop_stop(struct loop *l);

#endif
