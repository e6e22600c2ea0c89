/* hook_connect — connect() to a synthetic address becomes a SOCKS5 CONNECT
 * carrying the name (RFC 3089 §3, RFC 1928 §4 ATYP 3); getpeername() keeps
 * showing the synthetic address; getsockopt(SO_ERROR), close(), dup2(),
 * dup3() and close_range() for the sockets and descriptors of the shim;
 * the RESOLVE name check.
 *
 * The handshake always runs on the caller's own socket, and the caller's
 * descriptor flags are never changed: the shim only ever reads O_NONBLOCK.
 *
 * Blocking sockets: the shim connects the socket to the gateway (gateways
 * in order, the last one that worked first), then exchanges greeting,
 * request and reply with poll() and MSG_DONTWAIT, within the socket's
 * SO_SNDTIMEO (else connect-timeout), and connect() returns the result.
 *
 * Non-blocking sockets behave like a kernel connect in progress:
 *  - connect() starts the TCP connect to the gateway on the socket, records
 *    the socket as pending in fdtab and returns -1/EINPROGRESS at once (an
 *    immediate failure of every gateway is returned at once, as the kernel
 *    returns ENETUNREACH at once).
 *  - A per-process helper thread (started on the first such connect, with
 *    every signal blocked, again in a child after fork()) completes the
 *    handshake on a dup() of the descriptor -- the dup shares the socket
 *    and its O_NONBLOCK, so nothing of the caller's changes -- from its own
 *    epoll set: TCP connect (failing over to the next gateway), greeting,
 *    request, reply, each step non-blocking under the fdtab lock, with the
 *    connect-timeout as the deadline.
 *  - Until the reply is in, the program cannot see the socket ready:
 *    hook_poll.c substitutes an eventfd for it in poll/ppoll/select/pselect
 *    and keeps its epoll registrations out of the kernel (they are added
 *    back when the handshake ends, which wakes epoll_wait as a new ready fd
 *    does).  So application bytes are only written once the socket reports
 *    writable, after the reply.  A program that writes before that (on a
 *    real connecting socket the kernel answers EAGAIN) would have its bytes
 *    sent to the gateway behind the request (RFC 1928 lets a server relay
 *    them, socks64d does) or, before the request, fail the handshake; a
 *    program that reads before that may take the reply and fail it.
 *  - When it ends, success makes the socket a plain connected socket (the
 *    next poll sees it writable); failure disconnects the socket
 *    (connect(AF_UNSPEC)), so it polls like a refused connect (POLLOUT,
 *    POLLHUP), and the error is reported once by getsockopt(SO_ERROR) or by
 *    a second connect(): ECONNREFUSED for REP 5, ENETUNREACH 3, EHOSTUNREACH
 *    4, ETIMEDOUT 6 or the deadline, EACCES 2 (socks_client_rep_errno).
 *  - connect() again while pending: EALREADY; once connected: EISCONN.
 *  - close() (or dup2/dup3 onto it) of a pending socket cancels the
 *    handshake: the dup leaves the helper's set and is closed, so the
 *    program's close really closes the socket.
 *
 * auth gssapi (RFC 1961, socks_client.h): the context, the protection
 * level and the wrapped request and reply run inside the same exchange,
 * blocking or in the helper.  The GSS-API step that may block -- the
 * reverse lookup of the gateway's name (once per gateway) and the KDC
 * exchange for the first service ticket (MIT keeps it in the ccache) --
 * runs in the helper with the fdtab lock released, so the program's hooks
 * never wait for it; other handshakes in flight do wait, so the first
 * connection to a gateway may hold the helper for that round trip.  At
 * levels 1 and 2 the program's descriptor then becomes its end of a
 * protected relay (gss_relay.h: a loopback TCP pair, flags and getpeername
 * kept); at level none the connection is used unwrapped.  A refused
 * authentication (no ticket, a level not granted) fails connect() with
 * EACCES and a warning naming the GSS-API reason.
 *
 * The shim's own descriptors (the helper's epoll and wake eventfd, each
 * handshake's dup and eventfd) are marked in fdtab: close() of one returns
 * EBADF as if it were not open, dup2()/dup3() onto one EBADF, close_range()
 * skips them.  closefrom() and raw close syscalls are not seen; fdtab's
 * inode checks keep the records right even then. */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "fdtab.h"
#include "gss_relay.h"
#include "socks_client.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* Index of the gateway that worked last (failover is remembered). */
static atomic_uint hook_gw_first;

long long shim_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The synthetic IPv4 address inside sa (AF_INET, or v4-mapped AF_INET6). */
static bool hook_sa_v4(const struct sockaddr *sa, socklen_t len, struct in_addr *out)
{
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		*out = ((const struct sockaddr_in *)sa)->sin_addr;
		return true;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			memcpy(&out->s_addr, &a6->s6_addr[12], 4);
			return true;
		}
	}
	return false;
}

/* 1 and the entry when sa is a synthetic address of ours; 0 when it is
 * not synthetic; -1 (errno) when it is synthetic but unknown. */
static int hook_synthetic(const struct sockaddr *sa, socklen_t len, struct synth_entry_info *e)
{
	const struct shim_conf *c = shim_conf();
	const struct in6_addr *a6 = NULL;
	struct synth *s;
	struct in_addr v4;
	bool is_v4 = hook_sa_v4(sa, len, &v4);

	/* Pool membership by configuration first: a program that only talks
	 * to real addresses never opens the map. */
	if (is_v4) {
		if (!synth_table_config_in_pool_v4(&c->synth, &v4))
			return 0;
	} else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (!synth_table_config_in_pool_v6(&c->synth, a6))
			return 0;
	} else {
		return 0;
	}
	s = shim_synth();
	if (!s)
		return 0;
	if ((is_v4 ? synth_lookup_v4(s, &v4, e) : synth_lookup_v6(s, a6, e)) < 0)
		return -1;
	return 1;
}

static uint16_t hook_sa_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
}

/* The socket's own connect timeout (SO_SNDTIMEO, as the kernel uses for a
 * blocking connect), else the configured one. */
static int hook_timeout_ms(int fd, const struct shim_conf *c)
{
	struct timeval tv;
	socklen_t len = sizeof(tv);
	long long ms;

	if (getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &len) == 0 &&
	    (tv.tv_sec > 0 || tv.tv_usec > 0)) {
		ms = (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
		if (ms < 1)
			ms = 1;
		return ms > (long long)c->connect_timeout_ms ? (int)c->connect_timeout_ms : (int)ms;
	}
	return (int)c->connect_timeout_ms;
}

/* Gateway i as an address fd (of family fam) can connect to: the same
 * family, or an IPv4 gateway as v4-mapped from an IPv6 socket. */
static socklen_t hook_gw_addr(const struct shim_conf *c, size_t i, int fam,
			      struct sockaddr_storage *out)
{
	const struct sockaddr_storage *gw = &c->gateways[i];

	if (gw->ss_family == fam) {
		memcpy(out, gw, c->gateway_lens[i]);
		return c->gateway_lens[i];
	}
	if (fam == AF_INET6 && gw->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)gw;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;

		memset(sin6, 0, sizeof(*sin6));
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = sin->sin_port;
		sin6->sin6_addr.s6_addr[10] = 0xff;
		sin6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&sin6->sin6_addr.s6_addr[12], &sin->sin_addr, 4);
		return sizeof(*sin6);
	}
	return 0;
}

/* Connect fd to one gateway within the deadline; 0 or -1 with errno. */
int shim_connect_gw(int fd, const struct sockaddr *gw, socklen_t len, long long deadline)
{
	const struct shim_syms *real = shim_syms();
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	socklen_t elen = sizeof(int);
	int err = 0;

	if (real->connect(fd, gw, len) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EINTR && errno != EAGAIN)
		return -1;
	for (;;) {
		long long left = deadline - shim_now_ms();
		int n;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			break;
		if (n < 0 && errno != EINTR)
			return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		return -1;
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

/* A failed exchange with a reached gateway.  A refused authentication
 * (EACCES without a REP: no ticket, a level not granted) is a warning: the
 * program only sees EACCES, and only the user can fix it. */
static void hook_log_refusal(const char *gwtext, const struct socks_client *sc, int err)
{
	if (err == EACCES && sc->rep == 0)
		shim_log(SHIM_LOG_WARN, "gateway %s: %s", gwtext,
			 sc->why ? sc->why : strerror(err));
	else
		shim_log(SHIM_LOG_VERBOSE, "gateway %s: %s (REP %u)", gwtext,
			 sc->why ? sc->why : strerror(err), sc->rep);
}

/* Connect fd through the first gateway that answers, then run cmd for dst.
 * 0 with the reply in *sc, or -1 with errno.  *reached tells whether some
 * gateway was reached (then the error is the gateway's answer). */
static int hook_via_gateway(int fd, int fam, uint8_t cmd, const struct socks_addr *dst,
			    int timeout_ms, struct socks_client *sc, bool *reached)
{
	const struct shim_conf *c = shim_conf();
	long long deadline = shim_now_ms() + timeout_ms;
	unsigned first = atomic_load(&hook_gw_first);
	char gwtext[SOCKS_ADDR_STRLEN];
	int err = ENETUNREACH;

	*reached = false;
	for (size_t k = 0; k < c->ngateways; k++) {
		size_t i = (first + k) % c->ngateways;
		struct sockaddr_storage gw;
		socklen_t len = hook_gw_addr(c, i, fam, &gw);

		if (len == 0)
			continue; /* an IPv6 gateway cannot carry an IPv4 socket */
		sockaddr_format((struct sockaddr *)&c->gateways[i], gwtext, sizeof(gwtext));
		if (shim_connect_gw(fd, (struct sockaddr *)&gw, len, deadline) < 0) {
			err = errno;
			shim_log(SHIM_LOG_VERBOSE, "gateway %s: %s", gwtext, strerror(err));
			if (err == ETIMEDOUT)
				break;
			continue;
		}
		*reached = true;
		atomic_store(&hook_gw_first, (unsigned)i);
		socks_client_init(sc, cmd, dst);
		if (socks_client_auth(sc, c, (const struct sockaddr *)&c->gateways[i]) == 0 &&
		    socks_client_run(sc, fd, (int)(deadline - shim_now_ms()), NULL) == 0)
			return 0;
		err = errno;
		hook_log_refusal(gwtext, sc, err);
		socks_client_cleanup(sc);
		errno = err;
		return -1;
	}
	errno = err;
	return -1;
}

/* The other half of the shim's UDP and BIND support (hook_udp.c,
 * hook_bind.c), called when it is linked in. */
#pragma weak shim_udp_connect
#pragma weak shim_udp_bind_on_close
#pragma weak shim_bind_note_connect
#pragma weak shim_ub_any

static void hook_ub_on_close(int fd)
{
	if (shim_ub_any && shim_udp_bind_on_close && shim_ub_any())
		shim_udp_bind_on_close(fd);
}

/* Kernel-style disconnect (RFC 793 reset): the socket can connect again,
 * and polls like a connect that failed. */
static void hook_disconnect(int fd)
{
	struct sockaddr sa = {.sa_family = AF_UNSPEC};

	shim_syms()->connect(fd, &sa, sizeof(sa));
}

/* After a successful exchange on fd (gwfd: the shim's own descriptor of
 * that connection, or -1): at GSSAPI levels 1 and 2 the program's fd
 * becomes its end of a protected relay (gss_relay.h); at level none, or
 * without GSSAPI, the connection is used as it is.  sc is cleaned up.  0,
 * or -1 with errno (gwfd closed either way when given). */
static int hook_protect(int fd, int gwfd, struct socks_client *sc)
{
	struct gss_ctx *ctx = socks_client_take_gss(sc);
	char label[SOCKS_ADDR_STRLEN + 8];
	int level = socks_client_level(sc), err;

	socks_client_cleanup(sc);
	if (!ctx) {
		if (level >= 0)
			shim_log(SHIM_LOG_VERBOSE, "%s:%u: GSSAPI, protection none", sc->dst.u.name,
				 sc->dst.port);
		fdtab_own_close(gwfd);
		return 0;
	}
	snprintf(label, sizeof(label), "%s:%u", sc->dst.u.name, sc->dst.port);
	if (gss_relay_attach(fd, gwfd, ctx, label) == 0)
		return 0;
	err = errno;
	shim_log(SHIM_LOG_WARN, "%s: cannot set up the protected relay: %s", label, strerror(err));
	errno = err;
	return -1;
}

/* ---- non-blocking connect: the helper thread ---- */

enum {
	HOOK_PH_TCP, /* connecting to a gateway */
	HOOK_PH_SOCKS, /* RFC 1928 exchange */
};

#define HOOK_HELPER_EVENTS 32
#define HOOK_HELPER_STACK (256 * 1024)

/* Under the fdtab lock; -1 while no helper runs in this process. */
static int hook_helper_epfd = -1;
static int hook_helper_wakefd = -1;
static pthread_once_t hook_helper_once = PTHREAD_ONCE_INIT;

/* In the child after fork() the helper thread does not exist (fdtab has
 * already dropped the handshakes): close the child's copies of its
 * descriptors so the next non-blocking connect starts a new one. */
static void hook_helper_fork_child(void)
{
	fdtab_own_close(hook_helper_epfd);
	fdtab_own_close(hook_helper_wakefd);
	hook_helper_epfd = -1;
	hook_helper_wakefd = -1;
}

static void hook_helper_register_fork(void)
{
	pthread_atfork(NULL, NULL, hook_helper_fork_child);
}

/* Connect the handshake's socket to the next gateway that can be tried:
 * 1 connected, 0 in progress, -1 (errno) when none is left. */
static int hook_async_try_gw(struct fdtab_pending *p, const struct shim_conf *c)
{
	const struct shim_syms *real = shim_syms();
	int err = ENETUNREACH;

	while (p->gw_next < c->ngateways) {
		size_t i = (p->gw_first + p->gw_next++) % c->ngateways;
		struct sockaddr_storage gw;
		socklen_t len = hook_gw_addr(c, i, p->family, &gw);
		char gwtext[SOCKS_ADDR_STRLEN];

		if (len == 0)
			continue;
		p->gw_cur = (unsigned)i;
		if (real->connect(p->dupfd, (struct sockaddr *)&gw, len) == 0)
			return 1;
		if (errno == EINPROGRESS)
			return 0;
		err = errno;
		sockaddr_format((struct sockaddr *)&c->gateways[i], gwtext, sizeof(gwtext));
		shim_log(SHIM_LOG_VERBOSE, "gateway %s: %s", gwtext, strerror(err));
	}
	errno = err;
	return -1;
}

/* Under the lock: the handshake is over (err 0: connected). */
static void hook_async_finish(struct fdtab_pending *p, int err)
{
	const struct shim_syms *real = shim_syms();
	struct fdtab_entry *e = fdtab_pending_entry(p);
	char text[SOCKS_ADDR_STRLEN];
	int fd = p->fd;

	if (!e) {
		fdtab_pending_drop(p);
		return;
	}
	sockaddr_format((struct sockaddr *)&e->peer, text, sizeof(text));
	if (!err) {
		struct stat st;
		int gwfd = p->dupfd;

		/* The helper's dup is the gateway connection: a protected one
		 * goes to the relay, and fd becomes a new socket. */
		real->epoll_ctl(p->helper_epfd, EPOLL_CTL_DEL, gwfd, NULL);
		p->dupfd = -1;
		if (hook_protect(fd, gwfd, &p->sc) < 0) {
			err = errno;
		} else if (fstat(fd, &st) == 0) {
			e->ino = st.st_ino;
			e->dev = st.st_dev;
		}
	}
	if (err) {
		if (err == EACCES && p->sc.rep == 0)
			shim_log(SHIM_LOG_WARN, "connect %s:%u (%s): %s", p->sc.dst.u.name,
				 p->sc.dst.port, text, p->sc.why ? p->sc.why : strerror(err));
		else
			shim_log(SHIM_LOG_VERBOSE, "connect %s:%u (%s): %s (REP %u)",
				 p->sc.dst.u.name, p->sc.dst.port, text,
				 p->sc.why ? p->sc.why : strerror(err), p->sc.rep);
		hook_disconnect(fd);
		e->state = FDTAB_FAILED;
		e->err = err;
		fdtab_flags_update(p->fd, FDTAB_F_FAILED, FDTAB_F_PENDING);
	} else {
		shim_log(SHIM_LOG_VERBOSE, "connect %s:%u (%s) through the gateway",
			 p->sc.dst.u.name, p->sc.dst.port, text);
		atomic_store(&hook_gw_first, p->gw_cur);
		e->state = FDTAB_CONNECTED;
		fdtab_flags_update(p->fd, 0, FDTAB_F_PENDING);
		if (shim_bind_note_connect)
			shim_bind_note_connect(p->fd, &p->sc.bnd);
	}
	e->pend = NULL;
	fdtab_pending_drop(p); /* p may be freed: fd is used from here */
	/* The program's epoll registrations, withheld while the handshake
	 * ran: adding a ready socket reports it at once, level- or
	 * edge-triggered, so epoll_wait wakes as for a kernel connect. */
	for (struct fdtab_epreg *r = e->regs, *next; r; r = next) {
		next = r->next;
		if (real->epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &r->ev) < 0 &&
		    (errno != EEXIST || real->epoll_ctl(r->epfd, EPOLL_CTL_MOD, fd, &r->ev) < 0))
			fdtab_epreg_del(fd, e, r->epfd); /* that epoll set is gone */
	}
}

/* Under the lock: the GSS-API step of p's handshake, which may block (the
 * gateway's reverse lookup, the KDC for a first ticket), run with the lock
 * released so the program's hooks do not wait for it.  p is held by a
 * user count meanwhile (a close() in between ends it but does not free
 * it).  false when p ended meanwhile (and is gone now). */
static bool hook_async_gss(struct fdtab_pending *p)
{
	sigset_t all, old;
	bool gone;

	/* The helper runs with every signal blocked: nothing to restore. */
	sigfillset(&all);
	p->users++;
	fdtab_unlock(&all);
	socks_client_gss_step(&p->sc);
	fdtab_lock(&old);
	gone = p->done;
	fdtab_pending_unuse(p);
	return !gone;
}

/* Under the lock: advance p after events on its dup. */
static void hook_async_advance(struct fdtab_pending *p, uint32_t events)
{
	const struct shim_syms *real = shim_syms();
	const struct shim_conf *c = shim_conf();
	struct epoll_event ev = {.data.u64 = p->serial};
	enum socks_client_status st;

	if (p->phase == HOOK_PH_TCP) {
		socklen_t elen = sizeof(int);
		int err = 0, rc;

		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (real->getsockopt(p->dupfd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
			err = errno;
		if (err) {
			shim_log(SHIM_LOG_VERBOSE, "gateway %u: %s", p->gw_cur, strerror(err));
			/* The failed attempt leaves the socket connecting as
			 * far as the kernel knows; reset it to try the next. */
			hook_disconnect(p->dupfd);
			rc = hook_async_try_gw(p, c);
			if (rc < 0) {
				hook_async_finish(p, err);
				return;
			}
			if (rc == 0)
				return; /* still registered for EPOLLOUT */
		}
		p->phase = HOOK_PH_SOCKS;
	}
	if (!p->auth_set) {
		p->auth_set = true;
		if (socks_client_auth(&p->sc, c, (const struct sockaddr *)&c->gateways[p->gw_cur]) <
		    0) {
			hook_async_finish(p, errno);
			return;
		}
	}
	while ((st = socks_client_step(&p->sc, p->dupfd)) == SOCKS_CLIENT_WANT_GSS) {
		if (!hook_async_gss(p))
			return;
	}
	if (st == SOCKS_CLIENT_DONE || st == SOCKS_CLIENT_FAILED) {
		hook_async_finish(p, st == SOCKS_CLIENT_DONE ? 0 : p->sc.err);
		return;
	}
	ev.events = st == SOCKS_CLIENT_WANT_READ ? EPOLLIN : EPOLLOUT;
	if (real->epoll_ctl(p->helper_epfd, EPOLL_CTL_MOD, p->dupfd, &ev) < 0)
		hook_async_finish(p, errno);
}

/* Under the lock: fail handshakes past their deadline; the wait until the
 * next deadline (-1: none). */
static int hook_async_expire(void)
{
	long long now = shim_now_ms(), next = -1;
	struct fdtab_pending *p, *nextp;

	for (p = fdtab_pending_first(); p; p = nextp) {
		nextp = p->next;
		if (p->deadline <= now) {
			p->sc.why = "gateway handshake timed out";
			hook_async_finish(p, ETIMEDOUT);
		} else if (next < 0 || p->deadline - now < next) {
			next = p->deadline - now;
		}
	}
	return next > INT32_MAX ? INT32_MAX : (int)next;
}

static void *hook_helper_main(void *arg)
{
	int epfd = (int)(intptr_t)arg;
	struct epoll_event evs[HOOK_HELPER_EVENTS];
	sigset_t old;
	int timeout, n;

	fdtab_lock(&old);
	timeout = hook_async_expire();
	fdtab_unlock(&old);
	for (;;) {
		n = epoll_wait(epfd, evs, HOOK_HELPER_EVENTS, timeout);
		fdtab_lock(&old);
		for (int i = 0; i < n; i++) {
			struct fdtab_pending *p;
			eventfd_t v;

			if (evs[i].data.u64 == 0) {
				/* Only wakes this loop up: drain it. */
				eventfd_read(hook_helper_wakefd, &v);
				continue;
			}
			/* A handshake cancelled since epoll_wait returned is
			 * no longer found. */
			p = fdtab_pending_by_serial(evs[i].data.u64);
			if (p)
				hook_async_advance(p, evs[i].events);
		}
		timeout = hook_async_expire();
		fdtab_unlock(&old);
	}
	return NULL;
}

/* Under the lock (so every signal is blocked, and the thread starts with
 * them all blocked): the helper of this process.  0, or -1. */
static int hook_helper_start(void)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};
	pthread_attr_t attr;
	pthread_t t;
	int epfd, wakefd, rc;

	if (hook_helper_epfd >= 0)
		return 0;
	epfd = fdtab_own(epoll_create1(EPOLL_CLOEXEC));
	wakefd = fdtab_own(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (epfd < 0 || wakefd < 0 || shim_syms()->epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev) < 0)
		goto fail;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, HOOK_HELPER_STACK);
	rc = pthread_create(&t, &attr, hook_helper_main, (void *)(intptr_t)epfd);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		errno = rc;
		goto fail;
	}
	hook_helper_epfd = epfd;
	hook_helper_wakefd = wakefd;
	return 0;
fail:
	shim_log(SHIM_LOG_WARN, "cannot start the connect helper: %s", strerror(errno));
	fdtab_own_close(epfd);
	fdtab_own_close(wakefd);
	return -1;
}

/* ---- non-blocking connect: the connect() side ---- */

enum {
	HOOK_ASYNC_SYNC = 1, /* no helper: run the handshake synchronously */
};

/* Start the handshake of fd (non-blocking) in the helper.  -1 with errno
 * (EINPROGRESS, or an immediate failure), or HOOK_ASYNC_SYNC. */
static int hook_async_start(int fd, const struct stat *st, const struct sockaddr *sa, socklen_t len,
			    const struct socks_addr *dst, const struct shim_conf *c)
{
	const struct shim_syms *real = shim_syms();
	struct epoll_event ev = {.events = EPOLLOUT};
	struct fdtab_pending *p = NULL;
	struct fdtab_entry *e;
	sigset_t old;
	int rc, err;

	/* Outside the lock: pthread_atfork takes glibc's fork lock, which
	 * fork() holds while fdtab's prepare handler waits for this lock. */
	pthread_once(&hook_helper_once, hook_helper_register_fork);
	if (c->auth == SOCKS5_METHOD_GSSAPI)
		gss_relay_prepare();
	fdtab_lock(&old);
	if (hook_helper_start() < 0)
		goto sync;
	e = fdtab_claim(fd, st);
	p = e ? fdtab_pending_new() : NULL;
	if (!p)
		goto sync;
	p->dupfd = fdtab_own(fcntl(fd, F_DUPFD_CLOEXEC, 0));
	if (p->dupfd < 0)
		goto sync;
	p->fd = fd;
	p->helper_epfd = hook_helper_epfd;
	p->family = sa->sa_family;
	p->deadline = shim_now_ms() + c->connect_timeout_ms;
	p->gw_first = atomic_load(&hook_gw_first);
	socks_client_init(&p->sc, SOCKS5_CMD_CONNECT, dst);
	rc = hook_async_try_gw(p, c);
	if (rc < 0)
		goto fail;
	p->phase = rc == 1 ? HOOK_PH_SOCKS : HOOK_PH_TCP;
	ev.data.u64 = p->serial;
	if (real->epoll_ctl(hook_helper_epfd, EPOLL_CTL_ADD, p->dupfd, &ev) < 0)
		goto fail;
	fdtab_pending_link(p);
	e->pend = p;
	e->state = FDTAB_PENDING;
	e->err = 0;
	/* A program may pass a longer length than its family's sockaddr. */
	e->len = len < sizeof(e->peer) ? len : sizeof(e->peer);
	memcpy(&e->peer, sa, e->len);
	fdtab_flags_update(fd, FDTAB_F_PENDING, FDTAB_F_FAILED);
	/* Registrations made before connect(): out of the kernel's sets
	 * until the reply is in (hook_async_finish puts them back). */
	for (struct fdtab_epreg *r = e->regs, *next; r; r = next) {
		next = r->next;
		if (real->epoll_ctl(r->epfd, EPOLL_CTL_DEL, fd, NULL) < 0)
			fdtab_epreg_del(fd, e, r->epfd); /* stale: not in that set */
	}
	if (eventfd_write(hook_helper_wakefd, 1) < 0) {
		/* the helper wakes up for the socket's events anyway */
	}
	fdtab_unlock(&old);
	errno = EINPROGRESS;
	return -1;
fail:
	err = errno;
	fdtab_pending_drop(p);
	fdtab_unlock(&old);
	errno = err;
	return -1;
sync:
	if (p)
		fdtab_pending_drop(p);
	fdtab_unlock(&old);
	return HOOK_ASYNC_SYNC;
}

/* What a connect() on a socket the shim already handles must answer, as
 * the kernel would: 1 with errno set (EALREADY, EISCONN, or the error of a
 * failed non-blocking connect, once), 0 to go on connecting. */
static int hook_connect_again(int fd, const struct stat *st)
{
	struct fdtab_entry *e;
	sigset_t old;
	int err = 0;

	if (!(fdtab_flags(fd) & (FDTAB_F_PENDING | FDTAB_F_FAILED | FDTAB_F_EPOLL)) &&
	    fdtab_peer(fd, &(struct sockaddr){0}, &(socklen_t){0}) != 0)
		return 0;
	fdtab_lock(&old);
	e = fdtab_find(fd, st);
	if (e && e->state == FDTAB_PENDING) {
		err = EALREADY;
	} else if (e && e->state == FDTAB_CONNECTED) {
		err = EISCONN;
	} else if (e && e->state == FDTAB_FAILED && e->err) {
		err = e->err;
		e->err = 0;
		fdtab_flags_update(fd, 0, FDTAB_F_FAILED);
	}
	fdtab_unlock(&old);
	if (!err)
		return 0;
	errno = err;
	return 1;
}

SHIM_EXPORT int connect(int fd, SHIM_CONST_SA addr, socklen_t len)
{
	const struct shim_syms *real = shim_syms();
	const struct sockaddr *sa = SHIM_CONST_SA_PTR(addr);
	const struct shim_conf *c;
	struct synth_entry_info e;
	struct socks_client sc;
	struct socks_addr dst;
	char text[SOCKS_ADDR_STRLEN];
	int type = 0, rc, fl, saved = errno;
	socklen_t tlen = sizeof(type);
	struct stat st;
	bool reached;

	if (!sa || len < sizeof(sa_family_t) ||
	    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6 && sa->sa_family != AF_UNSPEC) ||
	    !(c = shim_conf()))
		return real->connect(fd, addr, len);
	if (shim_udp_connect && real->getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0 &&
	    type == SOCK_DGRAM) {
		bool handled = false;

		errno = saved;
		rc = shim_udp_connect(fd, sa, len, &handled);
		if (handled)
			return rc;
	}
	if (sa->sa_family == AF_UNSPEC) {
		errno = saved;
		return real->connect(fd, addr, len);
	}
	rc = hook_synthetic(sa, len, &e);
	if (rc == 0) {
		errno = saved;
		return real->connect(fd, addr, len);
	}
	sockaddr_format(sa, text, sizeof(text));
	if (rc < 0) {
		/* Recycled long ago, or from another map: nowhere to go. */
		shim_log(SHIM_LOG_WARN, "connect to %s: synthetic address not in the map", text);
		errno = EHOSTUNREACH;
		return -1;
	}
	tlen = sizeof(type);
	if (real->getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 || fstat(fd, &st) < 0)
		return -1;
	if (type != SOCK_STREAM) {
		shim_log(SHIM_LOG_WARN, "connect to %s (%s): only TCP goes through the gateway",
			 text, e.name);
		errno = ENETUNREACH;
		return -1;
	}
	if (hook_connect_again(fd, &st))
		return -1;
	memset(&dst, 0, sizeof(dst));
	if (socks_addr_set_name(&dst, e.name, e.namelen) != SOCKS_NAME_OK) {
		errno = EHOSTUNREACH;
		return -1;
	}
	dst.port = hook_sa_port(sa);
	fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && (fl & O_NONBLOCK)) {
		rc = hook_async_start(fd, &st, sa, len, &dst, c);
		if (rc != HOOK_ASYNC_SYNC) {
			if (errno != EINPROGRESS)
				shim_log(SHIM_LOG_WARN, "connect %s:%u (%s): %s", e.name, dst.port,
					 text, strerror(errno));
			return rc;
		}
	}
	if (hook_via_gateway(fd, sa->sa_family, SOCKS5_CMD_CONNECT, &dst, hook_timeout_ms(fd, c),
			     &sc, &reached) < 0) {
		int err = errno;

		shim_log(reached ? SHIM_LOG_VERBOSE : SHIM_LOG_WARN, "connect %s:%u (%s): %s",
			 e.name, dst.port, text, strerror(err));
		errno = err;
		return -1;
	}
	shim_log(SHIM_LOG_VERBOSE, "connect %s:%u (%s) through the gateway", e.name, dst.port,
		 text);
	if (hook_protect(fd, -1, &sc) < 0) {
		int err = errno;

		hook_disconnect(fd);
		errno = err;
		return -1;
	}
	fdtab_set(fd, sa, len);
	if (shim_bind_note_connect)
		shim_bind_note_connect(fd, &sc.bnd);
	errno = saved;
	return 0;
}

SHIM_EXPORT int getpeername(int fd, SHIM_SA addr, socklen_t *len)
{
	const struct shim_syms *real = shim_syms();
	struct sockaddr *sa = SHIM_SA_PTR(addr);
	int saved = errno, rc;

	if (sa && len) {
		rc = fdtab_peer(fd, sa, len);
		if (rc == 0) {
			errno = saved;
			return 0;
		}
		if (rc == 1) {
			/* Still connecting, or failed: as the kernel says. */
			errno = ENOTCONN;
			return -1;
		}
	}
	errno = saved;
	return real->getpeername(fd, addr, len);
}

/* SO_ERROR of a socket whose handshake the shim runs: 0 while it runs (as
 * for a kernel connect in progress), the mapped error once after it
 * failed, then what the kernel says. */
SHIM_EXPORT int getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen)
{
	const struct shim_syms *real = shim_syms();
	struct fdtab_entry *e;
	struct stat st;
	sigset_t old;
	int val = -1, saved = errno;

	if (level != SOL_SOCKET || optname != SO_ERROR || !optval || !optlen ||
	    *optlen < sizeof(int) || !(fdtab_flags(fd) & (FDTAB_F_PENDING | FDTAB_F_FAILED)) ||
	    fstat(fd, &st) < 0)
		return real->getsockopt(fd, level, optname, optval, optlen);
	fdtab_lock(&old);
	e = fdtab_find(fd, &st);
	if (e && e->state == FDTAB_PENDING) {
		val = 0;
	} else if (e && e->state == FDTAB_FAILED && e->err) {
		int kerr = 0;
		socklen_t klen = sizeof(kerr);

		val = e->err;
		e->err = 0;
		fdtab_flags_update(fd, 0, FDTAB_F_FAILED);
		/* The kernel's own error of the disconnect is not the
		 * program's: fetch it so it is not reported later. */
		real->getsockopt(fd, SOL_SOCKET, SO_ERROR, &kerr, &klen);
	}
	fdtab_unlock(&old);
	if (val < 0) {
		errno = saved;
		return real->getsockopt(fd, level, optname, optval, optlen);
	}
	memcpy(optval, &val, sizeof(val));
	*optlen = sizeof(val);
	errno = saved;
	return 0;
}

/* fd is about to be closed (close, or replaced by dup2/dup3): cancel its
 * handshake, forget its records. */
static void hook_closing(int fd)
{
	struct fdtab_entry *e;
	struct stat st;
	sigset_t old;
	int saved = errno;

	unsigned f = fdtab_flags(fd);

	hook_ub_on_close(fd);
	if (f & FDTAB_F_EPSET) {
		fdtab_lock(&old);
		fdtab_epset_closing(fd);
		fdtab_unlock(&old);
	}
	if (!(f & (FDTAB_F_PENDING | FDTAB_F_FAILED | FDTAB_F_EPOLL)) || fstat(fd, &st) < 0) {
		errno = saved;
		return;
	}
	fdtab_lock(&old);
	e = fdtab_find(fd, &st);
	if (e)
		fdtab_forget(fd, e);
	fdtab_unlock(&old);
	errno = saved;
}

SHIM_EXPORT int close(int fd)
{
	if (fdtab_flags(fd) & FDTAB_F_OWN) {
		errno = EBADF; /* not the program's to close */
		return -1;
	}
	hook_closing(fd);
	return shim_syms()->close(fd);
}

SHIM_EXPORT int dup2(int oldfd, int newfd)
{
	if (fdtab_flags(newfd) & FDTAB_F_OWN) {
		errno = EBADF;
		return -1;
	}
	if (oldfd != newfd && fcntl(oldfd, F_GETFD) >= 0)
		hook_closing(newfd);
	return shim_syms()->dup2(oldfd, newfd);
}

SHIM_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	if (fdtab_flags(newfd) & FDTAB_F_OWN) {
		errno = EBADF;
		return -1;
	}
	if (oldfd != newfd && fcntl(oldfd, F_GETFD) >= 0)
		hook_closing(newfd);
	return shim_syms()->dup3(oldfd, newfd, flags);
}

/* The range minus the shim's own descriptors, closed piecewise. */
SHIM_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	const struct shim_syms *real = shim_syms();
	unsigned from = first;
	int rc = 0;

	if ((flags & CLOSE_RANGE_CLOEXEC) || first > last)
		return real->close_range(first, last, flags);
	for (unsigned fd = first; fd <= last && fd < (1u << 20); fd++) {
		unsigned f = fdtab_flags((int)fd);

		if (f & (FDTAB_F_PENDING | FDTAB_F_FAILED | FDTAB_F_EPOLL | FDTAB_F_EPSET))
			hook_closing((int)fd);
		if (!(f & FDTAB_F_OWN))
			continue;
		if (fd > from && real->close_range(from, fd - 1, flags) < 0)
			rc = -1;
		from = fd + 1;
		if (fd == last)
			return rc;
	}
	if (from <= last && real->close_range(from, last, flags) < 0)
		rc = -1;
	return rc;
}

int shim_gateway_verify(const char *name)
{
	const struct shim_conf *c = shim_conf();
	struct socks_client sc;
	struct socks_addr dst;
	bool reached;
	int rc = -1;

	if (!c || c->ngateways == 0)
		return -1;
	memset(&dst, 0, sizeof(dst));
	if (socks_addr_set_name(&dst, name, strlen(name)) != SOCKS_NAME_OK)
		return -1;
	for (int fam = AF_INET; fam != 0; fam = fam == AF_INET ? AF_INET6 : 0) {
		int fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			continue;
		/* Tor's RESOLVE: REP 0 with the address in BND; REP 4 for a
		 * name that does not resolve. */
		if (hook_via_gateway(fd, fam, SOCKS5_CMD_RESOLVE, &dst, (int)c->connect_timeout_ms,
				     &sc, &reached) == 0) {
			rc = 1;
		} else if (reached && sc.rep == SOCKS5_REP_HOST_UNREACHABLE) {
			rc = 0;
		} else if (reached) {
			shim_log(SHIM_LOG_VERBOSE, "cannot verify %s: %s", name,
				 sc.why ? sc.why : strerror(errno));
		}
		socks_client_cleanup(&sc);
		close(fd);
		if (reached)
			break;
	}
	return rc;
}
