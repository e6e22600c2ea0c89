/* hook_poll — readiness while the shim's SOCKS handshake runs on a
 * non-blocking socket (hook_connect.c): the program must not see the socket
 * readable or writable before the gateway's reply (RFC 1928 §6) is in,
 * although the kernel reports it writable as soon as the TCP connection to
 * the gateway is up.
 *
 * poll, ppoll (and glibc's fortified __poll_chk, __ppoll_chk), select and
 * pselect: while any handshake is in flight (a lock-free counter; 0 sends
 * every call straight to libc), the descriptors of the call are looked up
 * in fdtab's lock-free flags, and only a call that names a pending socket
 * takes the slow path.  There the call runs on a copy of its set in which
 * each pending socket is replaced by its handshake's eventfd (POLLIN), which
 * the helper signals when the handshake ends.  When the eventfd fires, the
 * socket's real readiness for the program's events is read with a zero
 * timeout; if it is not ready for them yet (a program waiting to read), the
 * call goes on waiting, on the real socket now, for what is left of its
 * timeout.  select and pselect are answered through the same ppoll path
 * (so an eventfd numbered above FD_SETSIZE is no problem), with the Linux
 * meanings of the sets (readable: POLLIN|POLLHUP|POLLERR, writable:
 * POLLOUT|POLLERR, exceptional: POLLPRI), EBADF for a closed descriptor, and
 * select's timeout updated to the time left, as Linux does.
 *
 * epoll: epoll_ctl is hooked, epoll_wait is not.  The shim remembers the
 * program's registrations of sockets (epoll set, events, data) in fdtab.
 * While a socket's handshake runs, its registrations stay out of the
 * kernel: ones made before connect() are deleted from their sets by
 * connect(), ones made during the handshake are only recorded, and MOD and
 * DEL act on the record (EEXIST and ENOENT as the kernel answers).  When the
 * handshake ends, the helper adds them to their sets with the program's own
 * events and data; adding a ready socket reports it at once (level- or
 * edge-triggered), so the program's epoll_wait wakes exactly as for a
 * kernel connect that completed, and its epoll_data makes the swap
 * invisible.  Closing an epoll set drops the registrations withheld for it
 * (close hook), so a reused number never receives one; a set closed in a
 * way the shim does not see is noticed by the failing epoll_ctl.
 *
 * Limits: a descriptor the program dup()ed from a pending socket is not
 * pending itself; an epoll set shared with a forked child sees the parent's
 * registrations come back when the parent's helper completes. */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fdtab.h"

/* Calls with more descriptors than this copy their set to the heap. */
#define HOOK_POLL_STACK 64

extern void __chk_fail(void) __attribute__((noreturn));

static bool hook_poll_any_pending(const struct pollfd *fds, nfds_t nfds)
{
	if (fdtab_pending_count() == 0)
		return false;
	for (nfds_t i = 0; i < nfds; i++)
		if (fdtab_flags(fds[i].fd) & FDTAB_F_PENDING)
			return true;
	return false;
}

static long long hook_poll_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* What is left until deadline (ns, CLOCK_MONOTONIC) as a timespec. */
static void hook_poll_left(long long deadline, struct timespec *ts)
{
	long long left = deadline - hook_poll_now_ns();

	if (left < 0)
		left = 0;
	ts->tv_sec = (time_t)(left / 1000000000LL);
	ts->tv_nsec = (long)(left % 1000000000LL);
}

/* Under the lock: replace the pending sockets of copy by their eventfds,
 * holding each handshake in subs[i].  The number replaced. */
static nfds_t hook_poll_substitute(struct pollfd *copy, struct fdtab_pending **subs, nfds_t nfds)
{
	nfds_t n = 0;

	for (nfds_t i = 0; i < nfds; i++) {
		struct fdtab_entry *e;
		struct stat st;

		subs[i] = NULL;
		if (!(fdtab_flags(copy[i].fd) & FDTAB_F_PENDING) || fstat(copy[i].fd, &st) < 0)
			continue;
		e = fdtab_find(copy[i].fd, &st);
		if (!e || e->state != FDTAB_PENDING || !e->pend)
			continue;
		subs[i] = e->pend;
		subs[i]->users++;
		copy[i].fd = subs[i]->evfd;
		copy[i].events = POLLIN;
		n++;
	}
	return n;
}

/* ppoll with the pending sockets of fds hidden (see the header). */
static int hook_poll_slow(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo,
			  const sigset_t *mask)
{
	const struct shim_syms *real = shim_syms();
	struct pollfd stack_copy[HOOK_POLL_STACK];
	struct fdtab_pending *stack_subs[HOOK_POLL_STACK];
	struct pollfd *copy = stack_copy;
	struct fdtab_pending **subs = stack_subs;
	long long deadline = 0;
	struct timespec left;
	int rc = -1;

	if (nfds > HOOK_POLL_STACK) {
		copy = malloc(nfds * sizeof(*copy));
		subs = malloc(nfds * sizeof(*subs));
		if (!copy || !subs) {
			free(copy);
			free(subs);
			errno = ENOMEM;
			return -1;
		}
	}
	if (tmo)
		deadline =
			hook_poll_now_ns() + (long long)tmo->tv_sec * 1000000000LL + tmo->tv_nsec;
	for (;;) {
		nfds_t nsub;
		sigset_t old;
		bool again = false;
		int n, err;

		memcpy(copy, fds, nfds * sizeof(*copy));
		fdtab_lock(&old);
		nsub = hook_poll_substitute(copy, subs, nfds);
		fdtab_unlock(&old);
		if (tmo)
			hook_poll_left(deadline, &left);
		if (nsub == 0) {
			/* Every handshake of the set ended meanwhile. */
			rc = real->ppoll(fds, nfds, tmo ? &left : NULL, mask);
			break;
		}
		n = real->ppoll(copy, nfds, tmo ? &left : NULL, mask);
		err = errno;
		fdtab_lock(&old);
		for (nfds_t i = 0; i < nfds; i++)
			if (subs[i])
				fdtab_pending_unuse(subs[i]);
		fdtab_unlock(&old);
		if (n < 0) {
			errno = err;
			break;
		}
		rc = 0;
		for (nfds_t i = 0; i < nfds; i++) {
			short rev = copy[i].revents;

			if (subs[i] && rev) {
				/* The handshake is over: the socket's own answer
				 * for the program's events. */
				struct pollfd one = {.fd = fds[i].fd, .events = fds[i].events};

				rev = 0;
				if (real->poll(&one, 1, 0) > 0)
					rev = one.revents;
				if (!rev)
					again = true;
			} else if (subs[i]) {
				rev = 0;
			}
			fds[i].revents = rev;
			if (rev)
				rc++;
		}
		if (rc > 0 || !again)
			break;
		if (tmo && hook_poll_now_ns() >= deadline)
			break;
	}
	if (copy != stack_copy) {
		free(copy);
		free(subs);
	}
	return rc;
}

SHIM_EXPORT int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	struct timespec ts;

	if (!fds || !hook_poll_any_pending(fds, nfds))
		return shim_syms()->poll(fds, nfds, timeout);
	ts.tv_sec = timeout / 1000;
	ts.tv_nsec = (long)(timeout % 1000) * 1000000L;
	return hook_poll_slow(fds, nfds, timeout < 0 ? NULL : &ts, NULL);
}

SHIM_EXPORT int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo,
		      const sigset_t *mask)
{
	if (!fds || !hook_poll_any_pending(fds, nfds) ||
	    (tmo && (tmo->tv_sec < 0 || tmo->tv_nsec < 0 || tmo->tv_nsec >= 1000000000L)))
		return shim_syms()->ppoll(fds, nfds, tmo, mask);
	return hook_poll_slow(fds, nfds, tmo, mask);
}

/* _FORTIFY_SOURCE: glibc's checks, then the hooks above. */
SHIM_EXPORT int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen);
SHIM_EXPORT int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen)
{
	if (fdslen / sizeof(*fds) < nfds)
		__chk_fail();
	return poll(fds, nfds, timeout);
}

SHIM_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo,
			    const sigset_t *mask, size_t fdslen);
SHIM_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo,
			    const sigset_t *mask, size_t fdslen)
{
	if (fdslen / sizeof(*fds) < nfds)
		__chk_fail();
	return ppoll(fds, nfds, tmo, mask);
}

static bool hook_select_any_pending(int nfds, const fd_set *r, const fd_set *w, const fd_set *x)
{
	/* A set larger than FD_SETSIZE (a program's own allocation) is left
	 * to libc as it is. */
	if (fdtab_pending_count() == 0 || nfds <= 0 || nfds > FD_SETSIZE)
		return false;
	for (int fd = 0; fd < nfds; fd++)
		if (((r && FD_ISSET(fd, r)) || (w && FD_ISSET(fd, w)) || (x && FD_ISSET(fd, x))) &&
		    (fdtab_flags(fd) & FDTAB_F_PENDING))
			return true;
	return false;
}

/* select/pselect through hook_poll_slow; the count, or -1 with errno. */
static int hook_select_slow(int nfds, fd_set *r, fd_set *w, fd_set *x, const struct timespec *tmo,
			    const sigset_t *mask)
{
	struct pollfd pfds[FD_SETSIZE];
	nfds_t n = 0;
	int count = 0;

	for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++) {
		short ev = (short)((r && FD_ISSET(fd, r) ? POLLIN : 0) |
				   (w && FD_ISSET(fd, w) ? POLLOUT : 0) |
				   (x && FD_ISSET(fd, x) ? POLLPRI : 0));

		if (ev) {
			pfds[n].fd = fd;
			pfds[n].events = ev;
			pfds[n].revents = 0;
			n++;
		}
	}
	if (hook_poll_slow(pfds, n, tmo, mask) < 0)
		return -1;
	for (nfds_t i = 0; i < n; i++) {
		if (pfds[i].revents & POLLNVAL) {
			errno = EBADF;
			return -1;
		}
	}
	if (r)
		FD_ZERO(r);
	if (w)
		FD_ZERO(w);
	if (x)
		FD_ZERO(x);
	for (nfds_t i = 0; i < n; i++) {
		short ev = pfds[i].events, rev = pfds[i].revents;

		if ((ev & POLLIN) && (rev & (POLLIN | POLLHUP | POLLERR))) {
			FD_SET(pfds[i].fd, r);
			count++;
		}
		if ((ev & POLLOUT) && (rev & (POLLOUT | POLLERR))) {
			FD_SET(pfds[i].fd, w);
			count++;
		}
		if ((ev & POLLPRI) && (rev & POLLPRI)) {
			FD_SET(pfds[i].fd, x);
			count++;
		}
	}
	return count;
}

SHIM_EXPORT int select(int nfds, fd_set *r, fd_set *w, fd_set *x, struct timeval *tv)
{
	struct timespec ts;
	long long deadline = 0;
	int rc;

	if (!hook_select_any_pending(nfds, r, w, x) ||
	    (tv && (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000)))
		return shim_syms()->select(nfds, r, w, x, tv);
	if (tv) {
		ts.tv_sec = tv->tv_sec;
		ts.tv_nsec = tv->tv_usec * 1000L;
		deadline = hook_poll_now_ns() + (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	}
	rc = hook_select_slow(nfds, r, w, x, tv ? &ts : NULL, NULL);
	if (tv) {
		/* Linux leaves the time not slept in the timeval. */
		struct timespec left;

		hook_poll_left(deadline, &left);
		tv->tv_sec = left.tv_sec;
		tv->tv_usec = left.tv_nsec / 1000;
	}
	return rc;
}

SHIM_EXPORT int pselect(int nfds, fd_set *r, fd_set *w, fd_set *x, const struct timespec *tmo,
			const sigset_t *mask)
{
	if (!hook_select_any_pending(nfds, r, w, x) ||
	    (tmo && (tmo->tv_sec < 0 || tmo->tv_nsec < 0 || tmo->tv_nsec >= 1000000000L)))
		return shim_syms()->pselect(nfds, r, w, x, tmo, mask);
	return hook_select_slow(nfds, r, w, x, tmo, mask);
}

/* Under the lock: epoll_ctl on a pending socket, answered from its record
 * as the kernel would answer. */
static int hook_epoll_pending(int epfd, int op, int fd, struct epoll_event *ev,
			      struct fdtab_entry *e)
{
	struct fdtab_epreg *r = fdtab_epreg_find(e, epfd);

	switch (op) {
	case EPOLL_CTL_ADD:
		if (r) {
			errno = EEXIST;
			return -1;
		}
		if (fcntl(epfd, F_GETFD) < 0)
			return -1; /* EBADF */
		/* The set is marked so that closing it drops this record
		 * (a reused number must not receive the registration). */
		if (fdtab_epreg_add(fd, e, epfd, ev) < 0 ||
		    fdtab_flags_update(epfd, FDTAB_F_EPSET, 0) < 0) {
			fdtab_epreg_del(fd, e, epfd);
			errno = ENOMEM;
			return -1;
		}
		return 0;
	case EPOLL_CTL_MOD:
		if (!r) {
			errno = ENOENT;
			return -1;
		}
		r->ev = *ev;
		return 0;
	default:
		if (!r) {
			errno = ENOENT;
			return -1;
		}
		fdtab_epreg_del(fd, e, epfd);
		return 0;
	}
}

SHIM_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	const struct shim_syms *real = shim_syms();
	struct fdtab_entry *e;
	struct stat st;
	sigset_t old;
	int rc, err, saved = errno;

	if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL)
		return real->epoll_ctl(epfd, op, fd, ev);
	if (op != EPOLL_CTL_DEL && !ev)
		return real->epoll_ctl(epfd, op, fd, ev);
	/* Only sockets can be pending; only ADD creates a record. */
	if (op != EPOLL_CTL_ADD && !(fdtab_flags(fd) & (FDTAB_F_PENDING | FDTAB_F_EPOLL)))
		return real->epoll_ctl(epfd, op, fd, ev);
	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		errno = saved;
		return real->epoll_ctl(epfd, op, fd, ev);
	}
	fdtab_lock(&old);
	e = op == EPOLL_CTL_ADD ? fdtab_claim(fd, &st) : fdtab_find(fd, &st);
	if (e && e->state == FDTAB_PENDING) {
		rc = hook_epoll_pending(epfd, op, fd, ev, e);
	} else {
		rc = real->epoll_ctl(epfd, op, fd, ev);
		err = errno;
		if (e && rc == 0 && op != EPOLL_CTL_DEL)
			fdtab_epreg_add(fd, e, epfd, ev); /* untracked if out of memory */
		else if (e && (rc == 0 || err == ENOENT) && op == EPOLL_CTL_DEL)
			fdtab_epreg_del(fd, e, epfd);
		errno = err;
	}
	err = errno;
	fdtab_unlock(&old);
	errno = rc == 0 ? saved : err;
	return rc;
}
