/* relay — splice fast path with a copy fallback; see relay.h. */
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

#define RELAY_BUF_SIZE 16384

void pipe_pool_init(struct pipe_pool *p, unsigned size, unsigned max_free)
{
	memset(p, 0, sizeof(*p));
	p->size = size;
	p->max_free = max_free;
}

void pipe_pool_trim(struct pipe_pool *p)
{
	free(p->scratch);
	p->scratch = NULL;
	while (p->free != NULL) {
		struct relay_pipe *rp = p->free;

		p->free = rp->next;
		close(rp->r);
		close(rp->w);
		free(rp);
	}
	p->nfree = 0;
}

void pipe_pool_fini(struct pipe_pool *p)
{
	pipe_pool_trim(p);
}

static struct relay_pipe *pipe_pool_get(struct pipe_pool *p)
{
	struct relay_pipe *rp = p->free;
	int fds[2], n;

	p->gets++;
	if (rp != NULL) {
		p->free = rp->next;
		p->nfree--;
		return rp;
	}
	if (p->disabled)
		return NULL;
	rp = malloc(sizeof(*rp));
	if (rp == NULL)
		return NULL;
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) {
		/* EMFILE/ENFILE: fd pressure, the copy path carries on. */
		free(rp);
		return NULL;
	}
	/* A bigger pipe means fewer splice calls per megabyte; the kernel may
	 * refuse (pipe-user-pages limits), which only costs speed. */
	if (p->size > 65536)
		(void)fcntl(fds[1], F_SETPIPE_SZ, (int)p->size);
	n = fcntl(fds[1], F_GETPIPE_SZ);
	rp->size = n > 0 ? (unsigned)n : 65536;
	rp->r = fds[0];
	rp->w = fds[1];
	rp->next = NULL;
	return rp;
}

static void pipe_pool_put(struct pipe_pool *p, struct relay_pipe *rp)
{
	if (p->nfree >= p->max_free) {
		close(rp->r);
		close(rp->w);
		free(rp);
		return;
	}
	rp->next = p->free;
	p->free = rp;
	p->nfree++;
}

int relay_dir_preload(struct relay_dir *d, const void *data, size_t len)
{
	if (len == 0)
		return 0;
	if (d->buf == NULL) {
		d->buf = malloc(RELAY_BUF_SIZE);
		if (d->buf == NULL)
			return -1;
		d->boff = d->blen = 0;
	}
	if (len > RELAY_BUF_SIZE - d->boff - d->blen)
		return -1;
	memcpy(d->buf + d->boff + d->blen, data, len);
	d->blen += (uint32_t)len;
	return 0;
}

void relay_dir_release(struct pipe_pool *pool, struct relay_dir *d)
{
	if (d->pipe != NULL) {
		/* A pipe with bytes still in it cannot be reused. */
		if (d->in_pipe == 0) {
			pipe_pool_put(pool, d->pipe);
		} else {
			close(d->pipe->r);
			close(d->pipe->w);
			free(d->pipe);
		}
		d->pipe = NULL;
		d->in_pipe = 0;
	}
	free(d->buf);
	d->buf = NULL;
	d->boff = d->blen = 0;
}

static bool relay_again(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

/* One recv() into buf, EINTR retried: *n is its result (0: EOF); *n < 0
 * means the socket is drained (readable cleared: edge-triggered epoll
 * reports the next arrival).  RELAY_ERR_SRC on an error. */
static enum relay_status relay_recv(struct relay_end *src, void *buf, size_t cap, ssize_t *n)
{
	for (;;) {
		*n = recv(src->fd, buf, cap, 0);
		if (*n >= 0)
			return RELAY_WAIT;
		if (errno == EINTR)
			continue;
		if (!relay_again(errno))
			return RELAY_ERR_SRC;
		src->readable = false;
		return RELAY_WAIT;
	}
}

/* Flush the copy buffer until the destination cannot take more.  count:
 * the bytes are the session's payload (not protected messages, which are
 * counted as the plaintext they carry). */
static enum relay_status relay_flush_buf(struct relay_dir *d, struct relay_end *dst, bool count,
					 bool *moved)
{
	while (d->blen > 0 && dst->writable) {
		ssize_t n = send(dst->fd, d->buf + d->boff, d->blen, MSG_NOSIGNAL);

		if (n < 0) {
			if (relay_again(errno)) {
				if (errno != EINTR)
					dst->writable = false;
				continue;
			}
			return RELAY_ERR_DST;
		}
		d->boff += (uint32_t)n;
		d->blen -= (uint32_t)n;
		if (count)
			d->bytes += (uint64_t)n;
		*moved = true;
	}
	if (d->blen == 0) {
		free(d->buf);
		d->buf = NULL;
		d->boff = 0;
	}
	return RELAY_WAIT;
}

static enum relay_status relay_flush_pipe(struct pipe_pool *pool, struct relay_dir *d,
					  struct relay_end *dst, bool *moved)
{
	while (d->in_pipe > 0 && dst->writable) {
		ssize_t n = splice(d->pipe->r, NULL, dst->fd, NULL, d->in_pipe,
				   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);

		if (n < 0) {
			if (relay_again(errno)) {
				if (errno != EINTR)
					dst->writable = false;
				continue;
			}
			return RELAY_ERR_DST;
		}
		d->in_pipe -= (uint32_t)n;
		d->bytes += (uint64_t)n;
		*moved = true;
	}
	if (d->in_pipe == 0 && d->pipe != NULL) {
		pipe_pool_put(pool, d->pipe);
		d->pipe = NULL;
	}
	return RELAY_WAIT;
}

/* Read into the pipe. Returns RELAY_WAIT, RELAY_ERR_SRC, or sets *fallback
 * when splice cannot serve (no pipe, EINVAL). */
static enum relay_status relay_fill_pipe(struct pipe_pool *pool, struct relay_dir *d,
					 struct relay_end *src, bool *moved, bool *fallback)
{
	if (d->pipe == NULL) {
		d->pipe = pipe_pool_get(pool);
		if (d->pipe == NULL) {
			*fallback = true;
			return RELAY_WAIT;
		}
	}
	while (src->readable && !d->eof && d->in_pipe < d->pipe->size) {
		ssize_t n = splice(src->fd, NULL, d->pipe->w, NULL, d->pipe->size - d->in_pipe,
				   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);

		if (n < 0) {
			if (errno == EINVAL && d->in_pipe == 0) {
				*fallback = true;
				return RELAY_WAIT;
			}
			if (relay_again(errno)) {
				/* EAGAIN also means "pipe full" (small segments
				 * use a slot each): only an empty pipe proves the
				 * socket is drained; otherwise flush and retry. */
				if (errno != EINTR && d->in_pipe == 0)
					src->readable = false;
				break;
			}
			return RELAY_ERR_SRC;
		}
		if (n == 0) {
			d->eof = true;
			break;
		}
		d->in_pipe += (uint32_t)n;
		*moved = true;
		/* Move it on at once: keeps the pipe small and latency low. */
		break;
	}
	return RELAY_WAIT;
}

static enum relay_status relay_fill_buf(struct relay_dir *d, struct relay_end *src, bool *moved)
{
	if (d->buf == NULL) {
		d->buf = malloc(RELAY_BUF_SIZE);
		if (d->buf == NULL)
			return RELAY_WAIT; /* retried on the next event */
		d->boff = d->blen = 0;
	}
	if (d->blen == 0)
		d->boff = 0;
	if (src->readable && !d->eof && d->boff + d->blen < RELAY_BUF_SIZE) {
		ssize_t n;

		if (relay_recv(src, d->buf + d->boff + d->blen, RELAY_BUF_SIZE - d->boff - d->blen,
			       &n) != RELAY_WAIT)
			return RELAY_ERR_SRC;
		if (n == 0)
			d->eof = true;
		/* A short read does not prove the socket drained: a FIN that
		 * came with the data is only seen by the next recv(), and
		 * edge-triggered epoll will not report it again.  Only EAGAIN
		 * clears readable. */
		if (n > 0) {
			d->blen += (uint32_t)n;
			*moved = true;
		}
	}
	return RELAY_WAIT;
}

/* Everything the source sent is out: carry its EOF (RFC 1928 says nothing;
 * TCP semantics do). */
static enum relay_status relay_half_close(struct relay_dir *d, struct relay_end *dst, bool *moved)
{
	if (d->eof && !d->shut && d->blen == 0 && d->in_pipe == 0) {
		if (shutdown(dst->fd, SHUT_WR) < 0 && errno != ENOTCONN)
			return RELAY_ERR_DST;
		d->shut = true;
		*moved = true;
	}
	return RELAY_WAIT;
}

/* After a pump's rounds: still moving (the session yields and comes back),
 * or settled -- then an EOF that has been passed on is carried. */
static enum relay_status relay_pump_end(struct relay_dir *d, struct relay_end *dst, bool progress,
					bool *moved)
{
	if (progress)
		return RELAY_MORE;
	return relay_half_close(d, dst, moved);
}

enum relay_status relay_pump(struct pipe_pool *pool, struct relay_dir *d, struct relay_end *src,
			     struct relay_end *dst, bool *moved)
{
	enum relay_status st;
	bool progress = false;

	/* Bounded: each round moves at most one pipe or buffer's worth in and
	 * out, and a busy session yields to the others after a few. */
	for (int round = 0; round < 16; round++) {
		bool fallback = false;

		progress = false;
		st = relay_flush_buf(d, dst, true, &progress);
		if (st != RELAY_WAIT)
			return st;
		if (d->blen == 0) {
			st = relay_flush_pipe(pool, d, dst, &progress);
			if (st != RELAY_WAIT)
				return st;
		}
		if (!d->eof && src->readable) {
			if (d->blen == 0 && d->buf == NULL && !pool->disabled)
				st = relay_fill_pipe(pool, d, src, &progress, &fallback);
			if (st == RELAY_WAIT && (fallback || pool->disabled || d->buf != NULL) &&
			    d->in_pipe == 0)
				st = relay_fill_buf(d, src, &progress);
			if (st != RELAY_WAIT)
				return st;
		}
		if (progress)
			*moved = true;
		else
			break;
	}
	return relay_pump_end(d, dst, progress, moved);
}

/* ---- protected path (per-message transform on the client side) ---------- */

/* relay_pump_end() for a protected direction, which holds its buffer only
 * while bytes wait in it. */
static enum relay_status relay_xform_end(struct relay_dir *d, struct relay_end *dst, bool progress,
					 bool *moved)
{
	if (d->blen == 0) {
		free(d->buf);
		d->buf = NULL;
	}
	return relay_pump_end(d, dst, progress, moved);
}

/* One read from the client into the transform's buffer. */
static enum relay_status relay_read_msgs(struct relay_dir *d, struct relay_xform *x,
					 struct relay_end *src, bool *moved)
{
	size_t cap;
	uint8_t *p = x->ops->rx_space(x, &cap);
	ssize_t n;

	if (p == NULL || cap == 0)
		return RELAY_WAIT; /* out of memory (retried) or broken (rx_next says) */
	if (relay_recv(src, p, cap, &n) != RELAY_WAIT)
		return RELAY_ERR_SRC;
	if (n < 0)
		return RELAY_WAIT;
	if (n == 0) {
		/* A message cut short by the EOF is simply never delivered. */
		d->eof = true;
		return RELAY_WAIT;
	}
	/* Readable until EAGAIN, as relay_fill_buf(): a queued FIN must be
	 * read. */
	x->ops->rx_commit(x, (size_t)n);
	*moved = true;
	return RELAY_WAIT;
}

enum relay_status relay_pump_from_client(struct relay_dir *d, struct relay_xform *x,
					 struct relay_end *src, struct relay_end *dst, bool *moved)
{
	enum relay_status st;
	bool progress = false;
	size_t n;
	int r;

	for (int round = 0; round < 16; round++) {
		progress = false;
		st = d->blen > 0 ? relay_flush_buf(d, dst, true, &progress) : RELAY_WAIT;
		if (st != RELAY_WAIT)
			return st;
		/* The plaintext of one message at a time: nothing more is
		 * decoded or read while the destination has not taken it. */
		if (d->blen == 0) {
			if (d->buf == NULL && (d->buf = malloc(RELAY_XFORM_MAX)) == NULL)
				break; /* retried on the next event */
			r = x->ops->rx_next(x, d->buf, RELAY_XFORM_MAX, &n);
			if (r < 0)
				return RELAY_ERR_XFORM;
			if (r > 0) {
				d->boff = 0;
				d->blen = (uint32_t)n;
				progress = true;
			} else if (!d->eof && src->readable) {
				st = relay_read_msgs(d, x, src, &progress);
				if (st != RELAY_WAIT)
					return st;
			}
		}
		if (progress)
			*moved = true;
		else
			break;
	}
	return relay_xform_end(d, dst, progress, moved);
}

/* One read from the destination, at most one message's worth, sent as one
 * message. */
static enum relay_status relay_wrap_read(struct pipe_pool *pool, struct relay_dir *d,
					 struct relay_xform *x, struct relay_end *src, bool *moved)
{
	size_t max = x->ops->tx_max(x), out;
	ssize_t n;

	if (max > RELAY_XFORM_MAX)
		max = RELAY_XFORM_MAX;
	if (pool->scratch == NULL && (pool->scratch = malloc(RELAY_XFORM_MAX)) == NULL)
		return RELAY_WAIT;
	if (d->buf == NULL && (d->buf = malloc(RELAY_XFORM_MAX)) == NULL)
		return RELAY_WAIT;
	if (relay_recv(src, pool->scratch, max, &n) != RELAY_WAIT)
		return RELAY_ERR_SRC;
	if (n < 0)
		return RELAY_WAIT;
	if (n == 0) {
		d->eof = true;
		return RELAY_WAIT;
	}
	if (x->ops->tx_wrap(x, pool->scratch, (size_t)n, d->buf, RELAY_XFORM_MAX, &out) < 0)
		return RELAY_ERR_XFORM;
	d->boff = 0;
	d->blen = (uint32_t)out;
	d->bytes += (uint64_t)n;
	*moved = true;
	return RELAY_WAIT;
}

enum relay_status relay_pump_to_client(struct pipe_pool *pool, struct relay_dir *d,
				       struct relay_xform *x, struct relay_end *src,
				       struct relay_end *dst, bool *moved)
{
	enum relay_status st;
	bool progress = false;

	for (int round = 0; round < 16; round++) {
		progress = false;
		st = d->blen > 0 ? relay_flush_buf(d, dst, false, &progress) : RELAY_WAIT;
		if (st != RELAY_WAIT)
			return st;
		if (d->blen == 0 && !d->eof && src->readable) {
			st = relay_wrap_read(pool, d, x, src, &progress);
			if (st != RELAY_WAIT)
				return st;
		}
		if (progress)
			*moved = true;
		else
			break;
	}
	return relay_xform_end(d, dst, progress, moved);
}
