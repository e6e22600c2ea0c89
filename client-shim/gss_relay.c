/* gss_relay — wrap/unwrap relay between the program's loopback socket and
 * the gateway connection (see gss_relay.h).
 *
 * One relay thread per process, started with the first protected
 * connection (again in a child after fork()), with every signal blocked.
 * It owns its epoll set and every relay: other threads only queue a new
 * relay and wake it through an eventfd, so the relays' state needs no lock.
 * It is a thread of its own rather than the connect helper's (whose loop
 * runs under the fdtab lock the program's close() and poll() hooks take):
 * wrapping and unwrapping 64 KiB tokens must not stall those hooks.
 *
 * Per relay and direction one buffer: the program's bytes are read at most
 * gss_ctx_max_plain() at a time and wrapped into one message (§5), which is
 * sent before the next read; the gateway's messages are deframed, unwrapped
 * one at a time and written to the program before the next.  A side that
 * is not drained is not read (backpressure).  End of stream is TCP's:
 * a read of 0 on one side becomes shutdown(SHUT_WR) on the other once its
 * buffer is out; the relay ends when both directions have.  All socket
 * calls use MSG_DONTWAIT: the gateway connection may share its file with a
 * descriptor the program dup()ed before connect(), whose flags stay as
 * they are. */
#include "gss_relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdtab.h"
#include "gss_frame.h"
#include "shim.h"
#include "socks_client.h"

#define GSS_RELAY_EVENTS 32
#define GSS_RELAY_STACK (256 * 1024)
/* Rounds of work on one relay per wake-up before the others get a turn. */
#define GSS_RELAY_ROUNDS 16

enum {
	GSS_RELAY_LO = 0, /* the program's side, plaintext */
	GSS_RELAY_GW = 1, /* the gateway's side, RFC 1961 messages */
};

struct gss_relay {
	struct gss_relay *next; /* all relays (gss_relay_mutex) */
	struct gss_relay *queue; /* new relays, or relays with work left */
	int lo, gw;
	uint32_t ev[2]; /* epoll interest per side; 0: not in the set */
	struct gss_ctx *ctx;
	size_t max_plain;
	bool lo_eof, gw_eof; /* a read returned 0 */
	bool up_shut, down_shut; /* shutdown(SHUT_WR) done towards gw / lo */
	bool dead, again;
	unsigned long long bytes_up, bytes_down;
	char label[SOCKS_ADDR_STRLEN + 16];
	size_t up_len, up_off; /* wrapped bytes for the gateway */
	size_t down_len, down_off; /* unwrapped bytes for the program */
	uint8_t up[GSS_FRAME_MAX];
	uint8_t down[GSS_FRAME_TOKEN_MAX];
	struct gss_deframer df;
};

static pthread_mutex_t gss_relay_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t gss_relay_once = PTHREAD_ONCE_INIT;
static struct gss_relay *gss_relay_all; /* gss_relay_mutex */
static struct gss_relay *gss_relay_new; /* queued by gss_relay_attach, gss_relay_mutex */
static int gss_relay_epfd = -1; /* gss_relay_mutex; -1: no thread */
static int gss_relay_wakefd = -1;
/* The relay thread's scratch buffer for one read from the program. */
static uint8_t gss_relay_plain[GSS_FRAME_TOKEN_MAX];

static void gss_relay_fork_prepare(void)
{
	pthread_mutex_lock(&gss_relay_mutex);
}

static void gss_relay_fork_parent(void)
{
	pthread_mutex_unlock(&gss_relay_mutex);
}

/* The child has no relay thread: its copies of the relays' descriptors
 * are closed (the parent's thread goes on serving the shared sockets).
 * No GSS-API call here -- the parent's thread may have been inside one --
 * so the contexts' memory is left behind. */
static void gss_relay_fork_child(void)
{
	struct gss_relay *r, *next;

	for (r = gss_relay_all; r; r = next) {
		next = r->next;
		fdtab_own_close(r->lo);
		fdtab_own_close(r->gw);
		free(r);
	}
	for (r = gss_relay_new; r; r = next) {
		next = r->queue;
		fdtab_own_close(r->lo);
		fdtab_own_close(r->gw);
		free(r);
	}
	gss_relay_all = NULL;
	gss_relay_new = NULL;
	fdtab_own_close(gss_relay_epfd);
	fdtab_own_close(gss_relay_wakefd);
	gss_relay_epfd = -1;
	gss_relay_wakefd = -1;
	pthread_mutex_unlock(&gss_relay_mutex);
}

static void gss_relay_register_fork(void)
{
	pthread_atfork(gss_relay_fork_prepare, gss_relay_fork_parent, gss_relay_fork_child);
}

void gss_relay_prepare(void)
{
	pthread_once(&gss_relay_once, gss_relay_register_fork);
}

/* Set side's epoll interest to want (0: out of the set, so a socket that
 * hangs up while nothing is wanted from it cannot spin the loop). */
static int gss_relay_watch(struct gss_relay *r, int side, uint32_t want)
{
	const struct shim_syms *real = shim_syms();
	struct epoll_event ev = {.events = want, .data.u64 = (uintptr_t)r | (unsigned)side};
	int fd = side == GSS_RELAY_GW ? r->gw : r->lo, op;

	if (want == r->ev[side])
		return 0;
	if (want == 0)
		op = EPOLL_CTL_DEL;
	else
		op = r->ev[side] ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (real->epoll_ctl(gss_relay_epfd, op, fd, &ev) < 0)
		return -1;
	r->ev[side] = want;
	return 0;
}

/* Send buf[*off, len) to fd (the SIDE named in log lines): 1 when all is
 * sent, 0 when the socket is full, -1 on an error (logged). */
static int gss_relay_flush(struct gss_relay *r, int fd, const uint8_t *buf, size_t len, size_t *off,
			   const char *side, bool *progress)
{
	size_t before = *off;
	int rc = socks_client_send_pending(fd, buf, len, off);

	if (*off != before)
		*progress = true;
	if (rc < 0)
		shim_log(SHIM_LOG_VERBOSE, "%s: %s side: %s", r->label, side, strerror(errno));
	return rc;
}

/* recv() from fd without blocking: bytes read (0: end of stream),
 * GSS_RELAY_AGAIN when nothing is waiting, -1 on an error (logged). */
#define GSS_RELAY_AGAIN (-2)
static ssize_t gss_relay_recv(struct gss_relay *r, int fd, void *buf, size_t cap, const char *side)
{
	for (;;) {
		ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT);

		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return GSS_RELAY_AGAIN;
		shim_log(SHIM_LOG_VERBOSE, "%s: %s side: %s", r->label, side, strerror(errno));
		return -1;
	}
}

/* Gateway to program: flush the unwrapped buffer, then the next message.
 * 0 (blocked or done), -1 (end the relay). */
static int gss_relay_down(struct gss_relay *r, bool *progress)
{
	struct gss_frame f;
	struct gss_err err;
	uint8_t *space;
	size_t cap;
	ssize_t n;

	for (;;) {
		int fl = gss_relay_flush(r, r->lo, r->down, r->down_len, &r->down_off, "program",
					 progress);

		if (fl <= 0)
			return fl;
		if (r->down_shut)
			return 0;
		switch (gss_deframer_next(&r->df, &f)) {
		case CODEC_OK:
			if (f.mtyp == GSS_FRAME_ABORT) {
				shim_log(SHIM_LOG_WARN, "%s: the gateway aborted (RFC 1961 §3.8)",
					 r->label);
				return -1;
			}
			/* §5: a token that does not unwrap is tampering, a replay or
			 * a gap: the stream cannot be trusted past it. */
			if (gss_unwrap_msg(r->ctx, f.token, f.len, r->down, sizeof(r->down), &cap,
					   &err) < 0) {
				shim_log(SHIM_LOG_WARN, "%s: %s; connection closed", r->label,
					 err.msg);
				return -1;
			}
			r->down_len = cap;
			r->down_off = 0;
			r->bytes_down += cap;
			*progress = true;
			continue;
		case CODEC_NEED_MORE:
			break;
		default:
			shim_log(SHIM_LOG_WARN,
				 "%s: malformed RFC 1961 message from the gateway; connection "
				 "closed",
				 r->label);
			return -1;
		}
		if (r->gw_eof) {
			if (gss_deframer_pending(&r->df) > 0) {
				shim_log(SHIM_LOG_WARN, "%s: the gateway closed inside a message",
					 r->label);
				return -1;
			}
			shutdown(r->lo, SHUT_WR);
			r->down_shut = true;
			*progress = true;
			return 0;
		}
		space = gss_deframer_space(&r->df, &cap);
		n = gss_relay_recv(r, r->gw, space, cap, "gateway");
		if (n < 0)
			return n == GSS_RELAY_AGAIN ? 0 : -1;
		if (n == 0)
			r->gw_eof = true;
		else
			gss_deframer_commit(&r->df, (size_t)n);
		*progress = true;
	}
}

/* Program to gateway: flush the wrapped buffer, then wrap the next read.
 * 0 or -1. */
static int gss_relay_up(struct gss_relay *r, bool *progress)
{
	struct gss_err err;
	ssize_t n;

	for (;;) {
		int fl = gss_relay_flush(r, r->gw, r->up, r->up_len, &r->up_off, "gateway",
					 progress);

		if (fl <= 0)
			return fl;
		if (r->up_shut)
			return 0;
		if (r->lo_eof) {
			shutdown(r->gw, SHUT_WR);
			r->up_shut = true;
			*progress = true;
			return 0;
		}
		n = gss_relay_recv(r, r->lo, gss_relay_plain, r->max_plain, "program");
		if (n < 0)
			return n == GSS_RELAY_AGAIN ? 0 : -1;
		*progress = true;
		if (n == 0) {
			r->lo_eof = true;
			continue;
		}
		/* One token per read (§5). */
		if (gss_wrap_msg(r->ctx, gss_relay_plain, (size_t)n, r->up, sizeof(r->up),
				 &r->up_len, &err) < 0) {
			shim_log(SHIM_LOG_WARN, "%s: %s; connection closed", r->label, err.msg);
			return -1;
		}
		r->up_off = 0;
		r->bytes_up += (size_t)n;
	}
}

/* Close both sides; reset the program's socket when the relay failed, so
 * the program reads ECONNRESET rather than a clean end of stream. */
static void gss_relay_end(struct gss_relay *r, bool failed)
{
	const struct shim_syms *real = shim_syms();

	if (failed) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};

		setsockopt(r->lo, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	} else {
		shim_log(SHIM_LOG_VERBOSE, "%s: protected relay closed, %llu bytes out, %llu in",
			 r->label, r->bytes_up, r->bytes_down);
	}
	if (r->ev[GSS_RELAY_LO])
		real->epoll_ctl(gss_relay_epfd, EPOLL_CTL_DEL, r->lo, NULL);
	if (r->ev[GSS_RELAY_GW])
		real->epoll_ctl(gss_relay_epfd, EPOLL_CTL_DEL, r->gw, NULL);
	r->ev[GSS_RELAY_LO] = r->ev[GSS_RELAY_GW] = 0;
	fdtab_own_close(r->lo);
	fdtab_own_close(r->gw);
	r->lo = r->gw = -1;
	r->dead = true;
}

/* Work on r until every side would block (or GSS_RELAY_ROUNDS: r->again),
 * then wait for what it needs. */
static void gss_relay_run(struct gss_relay *r)
{
	bool progress = true;
	uint32_t lo = 0, gw = 0;

	r->again = false;
	for (int round = 0; progress; round++) {
		if (round == GSS_RELAY_ROUNDS) {
			r->again = true;
			break;
		}
		progress = false;
		if (gss_relay_down(r, &progress) < 0 || gss_relay_up(r, &progress) < 0) {
			gss_relay_end(r, true);
			return;
		}
	}
	if (r->up_shut && r->down_shut && r->up_off >= r->up_len && r->down_off >= r->down_len) {
		gss_relay_end(r, false);
		return;
	}
	if (!r->lo_eof && r->up_off >= r->up_len)
		lo |= EPOLLIN;
	if (r->down_off < r->down_len)
		lo |= EPOLLOUT;
	if (!r->gw_eof && r->down_off >= r->down_len)
		gw |= EPOLLIN;
	if (r->up_off < r->up_len)
		gw |= EPOLLOUT;
	if (gss_relay_watch(r, GSS_RELAY_LO, lo) < 0 || gss_relay_watch(r, GSS_RELAY_GW, gw) < 0) {
		shim_log(SHIM_LOG_WARN, "%s: epoll: %s", r->label, strerror(errno));
		gss_relay_end(r, true);
	}
}

/* Free the relays that ended (after the batch of events that may still
 * name them). */
static void gss_relay_reap(void)
{
	struct gss_relay **rp, *dead = NULL;

	pthread_mutex_lock(&gss_relay_mutex);
	for (rp = &gss_relay_all; *rp;) {
		if ((*rp)->dead) {
			struct gss_relay *r = *rp;

			*rp = r->next;
			r->next = dead;
			dead = r;
		} else {
			rp = &(*rp)->next;
		}
	}
	pthread_mutex_unlock(&gss_relay_mutex);
	while (dead) {
		struct gss_relay *r = dead;

		dead = r->next;
		gss_ctx_free(r->ctx);
		free(r);
	}
}

static void *gss_relay_main(void *arg)
{
	struct epoll_event evs[GSS_RELAY_EVENTS];
	struct gss_relay *again = NULL;
	int epfd = (int)(intptr_t)arg;

	for (;;) {
		struct gss_relay *fresh, *r, *next;
		eventfd_t v;
		int n;

		n = epoll_wait(epfd, evs, GSS_RELAY_EVENTS, again ? 0 : -1);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u64 == 0) {
				eventfd_read(gss_relay_wakefd, &v);
				continue;
			}
			r = (struct gss_relay *)(uintptr_t)(evs[i].data.u64 & ~(uint64_t)1);
			/* A relay already queued with work left runs below. */
			if (r->dead || r->again)
				continue;
			gss_relay_run(r);
			if (!r->dead && r->again) {
				r->queue = again;
				again = r;
			}
		}
		/* Relays that still had work, then new ones. */
		pthread_mutex_lock(&gss_relay_mutex);
		fresh = gss_relay_new;
		gss_relay_new = NULL;
		for (r = fresh; r; r = r->queue) {
			r->next = gss_relay_all;
			gss_relay_all = r;
		}
		pthread_mutex_unlock(&gss_relay_mutex);
		for (r = again, again = NULL; r; r = next) {
			next = r->queue;
			if (r->dead)
				continue;
			gss_relay_run(r);
			if (!r->dead && r->again) {
				r->queue = again;
				again = r;
			}
		}
		for (r = fresh; r; r = next) {
			next = r->queue;
			gss_relay_run(r);
			if (!r->dead && r->again) {
				r->queue = again;
				again = r;
			}
		}
		gss_relay_reap();
	}
	return NULL;
}

/* gss_relay_mutex held: the relay thread of this process.  0 or -1. */
static int gss_relay_start(void)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t t;
	int epfd, wakefd, rc;

	if (gss_relay_epfd >= 0)
		return 0;
	epfd = fdtab_own(epoll_create1(EPOLL_CLOEXEC));
	wakefd = fdtab_own(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (epfd < 0 || wakefd < 0 || shim_syms()->epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev) < 0)
		goto fail;
	gss_relay_epfd = epfd;
	gss_relay_wakefd = wakefd;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, GSS_RELAY_STACK);
	rc = pthread_create(&t, &attr, gss_relay_main, (void *)(intptr_t)epfd);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		gss_relay_epfd = gss_relay_wakefd = -1;
		goto fail;
	}
	return 0;
fail:
	rc = errno;
	shim_log(SHIM_LOG_WARN, "cannot start the protection relay: %s", strerror(rc));
	fdtab_own_close(epfd);
	fdtab_own_close(wakefd);
	errno = rc;
	return -1;
}

/* A connected loopback TCP pair in family fam: *prog for the program,
 * *mine for the relay.  The accepted end is checked to be ours (another
 * local process could connect to the short-lived listener).  0 or -1. */
static int gss_relay_pair(int fam, int *prog, int *mine)
{
	const struct shim_ub_syms *ub = shim_ub_syms();
	const struct shim_syms *real = shim_syms();
	struct sockaddr_storage ss, a_local, b_peer;
	socklen_t len, alen = sizeof(a_local), blen = sizeof(b_peer);
	int l = -1, a = -1, b = -1, err;

	memset(&ss, 0, sizeof(ss));
	if (fam == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
	}
	l = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
	a = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || a < 0 || ub->bind(l, (struct sockaddr *)&ss, len) < 0 ||
	    ub->listen(l, 1) < 0 || ub->getsockname(l, (struct sockaddr *)&ss, &len) < 0 ||
	    real->connect(a, (struct sockaddr *)&ss, len) < 0 ||
	    (b = ub->accept4(l, (struct sockaddr *)&b_peer, &blen, SOCK_CLOEXEC)) < 0 ||
	    ub->getsockname(a, (struct sockaddr *)&a_local, &alen) < 0)
		goto fail;
	if (alen != blen || memcmp(&a_local, &b_peer, alen) != 0) {
		errno = ECONNABORTED;
		goto fail;
	}
	real->close(l);
	*prog = a;
	*mine = b;
	return 0;
fail:
	err = errno;
	if (l >= 0)
		real->close(l);
	if (a >= 0)
		real->close(a);
	if (b >= 0)
		real->close(b);
	errno = err;
	return -1;
}

/* Options a program may have set before connect() that matter on the
 * socket it keeps. */
static void gss_relay_copy_opts(int from, int to)
{
	static const struct {
		int level, name;
	} opts[] = {
		{SOL_SOCKET, SO_RCVTIMEO},  {SOL_SOCKET, SO_SNDTIMEO},  {SOL_SOCKET, SO_LINGER},
		{SOL_SOCKET, SO_OOBINLINE}, {IPPROTO_TCP, TCP_NODELAY},
	};
	const struct shim_syms *real = shim_syms();

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		uint8_t val[32];
		socklen_t len = sizeof(val);

		if (real->getsockopt(from, opts[i].level, opts[i].name, val, &len) == 0)
			setsockopt(to, opts[i].level, opts[i].name, val, len);
	}
}

int gss_relay_attach(int fd, int gwfd, struct gss_ctx *ctx, const char *label)
{
	const struct shim_syms *real = shim_syms();
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct gss_relay *r = NULL;
	int prog = -1, mine = -1, fl, fdfl, pfl, err;
	eventfd_t one = 1;

	gss_relay_prepare();
	if (gwfd < 0)
		gwfd = fdtab_own(fcntl(fd, F_DUPFD_CLOEXEC, 0));
	r = calloc(1, sizeof(*r));
	if (gwfd < 0 || !r || shim_ub_syms()->getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0 ||
	    (fl = fcntl(fd, F_GETFL)) < 0 || (fdfl = fcntl(fd, F_GETFD)) < 0)
		goto fail;
	if (gss_relay_pair(ss.ss_family == AF_INET6 ? AF_INET6 : AF_INET, &prog, &mine) < 0)
		goto fail;
	mine = fdtab_own(mine);
	if (mine < 0)
		goto fail;
	/* The program's flags, as they are now, on the socket it keeps. */
	pfl = fcntl(prog, F_GETFL);
	if (pfl < 0 || fcntl(prog, F_SETFL, (pfl & ~O_NONBLOCK) | (fl & O_NONBLOCK)) < 0)
		goto fail;
	gss_relay_copy_opts(fd, prog);
	r->lo = mine;
	r->gw = gwfd;
	r->ctx = ctx;
	r->max_plain = gss_ctx_max_plain(ctx);
	if (r->max_plain == 0 || r->max_plain > sizeof(gss_relay_plain)) {
		errno = EINVAL;
		goto fail;
	}
	snprintf(r->label, sizeof(r->label), "fd %d (%s)", fd, label);
	gss_deframer_init(&r->df, GSS_FRAME_DATA);
	pthread_mutex_lock(&gss_relay_mutex);
	if (gss_relay_start() < 0) {
		pthread_mutex_unlock(&gss_relay_mutex);
		goto fail;
	}
	/* libc's dup3: the hooked one would treat fd as being closed. */
	if (real->dup3(prog, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
		pthread_mutex_unlock(&gss_relay_mutex);
		goto fail;
	}
	r->queue = gss_relay_new;
	gss_relay_new = r;
	eventfd_write(gss_relay_wakefd, one);
	pthread_mutex_unlock(&gss_relay_mutex);
	real->close(prog);
	shim_log(SHIM_LOG_VERBOSE, "%s: protected at level %s, %zu bytes per token", r->label,
		 gss_frame_level_str(gss_ctx_level(ctx)), r->max_plain);
	return 0;
fail:
	err = errno;
	if (prog >= 0)
		real->close(prog);
	if (mine >= 0)
		fdtab_own_close(mine);
	fdtab_own_close(gwfd);
	gss_ctx_free(ctx);
	free(r);
	errno = err;
	return -1;
}
