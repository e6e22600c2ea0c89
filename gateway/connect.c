/* connect — RFC 8305 Happy Eyeballs v2 dialer; see connect.h. */
#include "connect.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "resolver.h"

/* Index 0 holds IPv6 candidates, index 1 IPv4. */
static int dialer_fam_idx(int family)
{
	return family == AF_INET6 ? 0 : 1;
}

/* Rank errors: a refusal or timeout from the destination says more than
 * "no route" from a family that was never going to work. */
static int dialer_err_rank(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return 4;
	case ETIMEDOUT:
		return 3;
	case EHOSTUNREACH:
	case ENETUNREACH:
		return 2;
	case 0:
		return 0;
	default:
		return 1;
	}
}

static void dialer_note_err(struct dialer *d, int err)
{
	if (dialer_err_rank(err) >= dialer_err_rank(d->err))
		d->err = err;
}

static void dialer_try_next(struct dialer *d);

static void dialer_close_attempt(struct dialer *d, struct dialer_attempt *a)
{
	loop_io_close(d->loop, &a->io);
}

static unsigned dialer_active(const struct dialer *d)
{
	unsigned n = 0;

	for (unsigned i = 0; i < DIALER_MAX_ATTEMPTS; i++)
		if (d->att[i].io.fd >= 0)
			n++;
	return n;
}

static bool dialer_has_more(const struct dialer *d)
{
	return d->next[0] < d->ncand[0] || d->next[1] < d->ncand[1];
}

static void dialer_finish(struct dialer *d, int fd, int err)
{
	d->finished = true;
	loop_timer_cancel(d->loop, &d->delay);
	for (unsigned i = 0; i < DIALER_MAX_ATTEMPTS; i++)
		dialer_close_attempt(d, &d->att[i]);
	d->done(d, fd, err);
}

/* Nothing running, nothing queued, nothing still resolving: give up. */
static void dialer_check_exhausted(struct dialer *d)
{
	if (d->finished || dialer_active(d) > 0 || dialer_has_more(d) || d->pending[0] ||
	    d->pending[1])
		return;
	if (d->err == 0)
		d->err = d->denied ? EACCES : EHOSTUNREACH;
	dialer_finish(d, -1, d->err);
}

static void dialer_attempt_cb(struct loop_io *io, uint32_t events)
{
	struct dialer_attempt *a = container_of(io, struct dialer_attempt, io);
	struct dialer *d = a->d;
	int err = 0;
	socklen_t len = sizeof(err);

	if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		return;
	if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == 0 && (events & (EPOLLERR | EPOLLHUP)))
		err = ECONNRESET;
	if (err == 0) {
		int fd = io->fd;

		io->fd = -1; /* ownership passes to the caller */
		d->winner = a->sa;
		dialer_finish(d, fd, 0);
		return;
	}
	dialer_note_err(d, err);
	dialer_close_attempt(d, a);
	/* A failed attempt starts the next one at once (§5). */
	dialer_try_next(d);
	dialer_check_exhausted(d);
}

static void dialer_delay_cb(struct timer *t)
{
	struct dialer *d = container_of(t, struct dialer, delay);

	dialer_try_next(d);
}

/* Next candidate, alternating families (§4, First Address Family Count 1). */
static struct sockaddr_in6 *dialer_pick(struct dialer *d)
{
	for (int k = 0; k < 2; k++) {
		int f = (d->turn + k) % 2;

		if (d->next[f] < d->ncand[f]) {
			d->turn = (uint8_t)((f + 1) % 2);
			return &d->cand[f][d->next[f]++];
		}
	}
	return NULL;
}

static struct dialer_attempt *dialer_free_slot(struct dialer *d)
{
	for (unsigned i = 0; i < DIALER_MAX_ATTEMPTS; i++)
		if (d->att[i].io.fd < 0)
			return &d->att[i];
	return NULL;
}

/* Start one attempt; synchronous failures move straight on to the next
 * candidate (no route: the family is skipped at once, not after a delay). */
static void dialer_try_next(struct dialer *d)
{
	if (d->finished || !d->started)
		return;
	for (;;) {
		struct dialer_attempt *a = dialer_free_slot(d);
		struct sockaddr_in6 *sa;
		socklen_t salen;
		int fd, one = 1;

		if (a == NULL)
			return; /* the delay timer or a failure will come back */
		sa = dialer_pick(d);
		if (sa == NULL)
			return;
		if (d->check != NULL) {
			int why = d->check(d, (struct sockaddr *)sa);

			if (why == EACCES) {
				d->denied++;
				continue;
			}
			if (why != 0) {
				/* Known unreachable: skipped at once, no attempt
				 * and no attempt delay spent on it. */
				dialer_note_err(d, why);
				continue;
			}
		}
		salen = sa->sin6_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						    : sizeof(struct sockaddr_in);
		fd = socket(sa->sin6_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			dialer_note_err(d, errno);
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				return; /* no point trying the next one now */
			continue;
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, (struct sockaddr *)sa, salen) < 0 && errno != EINPROGRESS) {
			dialer_note_err(d, errno);
			close(fd);
			continue;
		}
		a->d = d;
		a->io.fd = fd;
		a->io.cb = dialer_attempt_cb;
		a->sa = *sa;
		if (loop_io_add(d->loop, &a->io, EPOLLOUT | EPOLLRDHUP | EPOLLET) < 0) {
			dialer_note_err(d, errno);
			close(fd);
			a->io.fd = -1;
			continue;
		}
		/* The next attempt starts after the Connection Attempt Delay
		 * unless this one fails first (§5). */
		if (dialer_has_more(d) || d->pending[0] || d->pending[1])
			loop_timer_set(d->loop, &d->delay, d->attempt_delay_ms);
		return;
	}
}

void dialer_init(struct dialer *d, struct loop *loop, uint16_t port, bool prefer_v4,
		 unsigned attempt_delay_ms, int families_pending)
{
	void (*done)(struct dialer *, int, int) = d->done;
	int (*check)(struct dialer *, const struct sockaddr *) = d->check;

	memset(d, 0, sizeof(*d));
	d->done = done;
	d->check = check;
	d->loop = loop;
	d->port = port;
	d->turn = prefer_v4 ? 1 : 0;
	d->attempt_delay_ms = attempt_delay_ms;
	d->pending[0] = (families_pending & RESOLVE_V6) != 0;
	d->pending[1] = (families_pending & RESOLVE_V4) != 0;
	d->delay.cb = dialer_delay_cb;
	for (unsigned i = 0; i < DIALER_MAX_ATTEMPTS; i++)
		d->att[i].io.fd = -1;
}

void dialer_add(struct dialer *d, int family, const union dns_addr *addrs, unsigned n)
{
	int f = dialer_fam_idx(family);

	for (unsigned i = 0; i < n && d->ncand[f] < DIALER_MAX_CAND; i++) {
		struct sockaddr_in6 *c = &d->cand[f][d->ncand[f]++];

		memset(c, 0, sizeof(*c));
		if (family == AF_INET6) {
			c->sin6_family = AF_INET6;
			c->sin6_port = htons(d->port);
			c->sin6_addr = addrs[i].v6;
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)c;

			s4->sin_family = AF_INET;
			s4->sin_port = htons(d->port);
			s4->sin_addr = addrs[i].v4;
		}
	}
	/* New addresses while idle (everything so far failed): go on now. */
	if (d->started && !d->finished && dialer_active(d) == 0)
		dialer_try_next(d);
}

void dialer_family_done(struct dialer *d, int family)
{
	d->pending[dialer_fam_idx(family)] = false;
	if (d->started)
		dialer_check_exhausted(d);
}

void dialer_start(struct dialer *d)
{
	if (d->started || d->finished)
		return;
	d->started = true;
	dialer_try_next(d);
	dialer_check_exhausted(d);
}

void dialer_cancel(struct dialer *d)
{
	d->finished = true;
	loop_timer_cancel(d->loop, &d->delay);
	for (unsigned i = 0; i < DIALER_MAX_ATTEMPTS; i++)
		dialer_close_attempt(d, &d->att[i]);
}
