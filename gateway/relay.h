/* relay — moving bytes between two connected sockets.
 *
 * Fast path: splice() through a pipe per direction, taken from a per-worker
 * pool only while data is in flight (an idle session holds no pipe).  Copy
 * path: a small buffer allocated while data is pending, used when no pipe can
 * be had and for bytes the client sent ahead of the reply.  Half-close is
 * carried with shutdown(SHUT_WR); a side whose peer is not draining is not
 * read (backpressure). */
#ifndef SOCKS64_RELAY_H
#define SOCKS64_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct relay_pipe {
	int r, w;
	unsigned size; /* capacity the kernel granted */
	struct relay_pipe *next;
};

struct pipe_pool {
	struct relay_pipe *free;
	unsigned nfree;
	unsigned max_free;
	unsigned size; /* pipe capacity in bytes */
	bool disabled; /* splice unusable: copy path only */
	unsigned long gets; /* pipes handed out, ever (for idle trimming) */
};

struct relay_dir {
	struct relay_pipe *pipe;
	uint8_t *buf; /* copy path */
	uint32_t boff, blen;
	uint32_t in_pipe; /* bytes spliced in, not yet out */
	bool eof; /* source said EOF */
	bool shut; /* SHUT_WR sent to the destination */
	uint64_t bytes;
};

/* One socket's edge-triggered readiness, as last reported by epoll. */
struct relay_end {
	int fd;
	bool readable;
	bool writable;
};

enum relay_status {
	RELAY_WAIT = 0, /* nothing more to do until the next readiness event */
	RELAY_MORE, /* budget used up with work left: pump again soon */
	RELAY_ERR_SRC, /* reading the source failed (errno set) */
	RELAY_ERR_DST, /* writing the destination failed (errno set) */
};

void pipe_pool_init(struct pipe_pool *p, unsigned size, unsigned max_free);
void pipe_pool_fini(struct pipe_pool *p);
/* Close every cached pipe (the worker calls it when the pool sat unused). */
void pipe_pool_trim(struct pipe_pool *p);

/* Queue bytes to be written to the destination before anything else. */
int relay_dir_preload(struct relay_dir *d, const void *data, size_t len);

/* Move what can be moved from src to dst without blocking.  *moved is set
 * to true if any byte moved.  Sends SHUT_WR to dst once src said EOF and
 * everything was written. */
enum relay_status relay_pump(struct pipe_pool *pool, struct relay_dir *d, struct relay_end *src,
			     struct relay_end *dst, bool *moved);

/* Give back the pipe and buffer (session teardown). */
void relay_dir_release(struct pipe_pool *pool, struct relay_dir *d);

#endif
