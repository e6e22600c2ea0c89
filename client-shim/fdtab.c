/* fdtab — per-descriptor records of the shim (see fdtab.h). */
#include "fdtab.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "shim.h"

#define FDTAB_MAX_FD (1 << 20)
#define FDTAB_CHUNK 1024
/* The shim's own descriptors go at or above this number when the limit
 * allows: programs that pick numbers themselves (dup2 in shells, "close
 * every fd above 2" loops) mostly use small ones, and select()-based
 * programs keep the numbers below FD_SETSIZE for their own sockets. */
#define FDTAB_OWN_MIN 256

/* Flags: chunks allocated on first use and never freed, so a reader needs
 * no lock (a signal handler may read them). */
static _Atomic(atomic_uchar *) fdtab_fl[FDTAB_MAX_FD / FDTAB_CHUNK];

static pthread_mutex_t fdtab_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct fdtab_entry *fdtab;
static size_t fdtab_cap;
static struct fdtab_pending *fdtab_pend_list;
static uint64_t fdtab_serial;
static atomic_int fdtab_npending;

unsigned fdtab_flags(int fd)
{
	atomic_uchar *c;

	if (fd < 0 || fd >= FDTAB_MAX_FD)
		return 0;
	c = atomic_load_explicit(&fdtab_fl[fd / FDTAB_CHUNK], memory_order_acquire);
	return c ? atomic_load_explicit(&c[fd % FDTAB_CHUNK], memory_order_acquire) : 0;
}

int fdtab_flags_update(int fd, unsigned set, unsigned clear)
{
	atomic_uchar *c, *fresh = NULL;

	if (fd < 0 || fd >= FDTAB_MAX_FD)
		return -1;
	c = atomic_load_explicit(&fdtab_fl[fd / FDTAB_CHUNK], memory_order_acquire);
	if (!c) {
		if (!set)
			return 0;
		fresh = calloc(FDTAB_CHUNK, sizeof(*fresh));
		if (!fresh)
			return -1;
		if (atomic_compare_exchange_strong(&fdtab_fl[fd / FDTAB_CHUNK], &c, fresh)) {
			c = fresh;
		} else {
			free(fresh); /* another thread was first; c is its chunk */
		}
	}
	if (clear)
		atomic_fetch_and(&c[fd % FDTAB_CHUNK], (unsigned char)~clear);
	if (set)
		atomic_fetch_or(&c[fd % FDTAB_CHUNK], (unsigned char)set);
	return 0;
}

static pthread_once_t fdtab_once = PTHREAD_ONCE_INIT;
static sigset_t fdtab_fork_mask;

static void fdtab_fork_child(void);

static void fdtab_fork_prepare(void)
{
	fdtab_lock(&fdtab_fork_mask);
}

static void fdtab_fork_parent(void)
{
	fdtab_unlock(&fdtab_fork_mask);
}

static void fdtab_fork_child_handler(void)
{
	fdtab_fork_child();
	fdtab_unlock(&fdtab_fork_mask);
}

static void fdtab_init(void)
{
	pthread_atfork(fdtab_fork_prepare, fdtab_fork_parent, fdtab_fork_child_handler);
}

void fdtab_lock(sigset_t *old)
{
	sigset_t all;

	pthread_once(&fdtab_once, fdtab_init);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, old);
	pthread_mutex_lock(&fdtab_mutex);
}

void fdtab_unlock(const sigset_t *old)
{
	pthread_mutex_unlock(&fdtab_mutex);
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

static bool fdtab_same(const struct fdtab_entry *e, const struct stat *st)
{
	return e->ino != 0 && e->ino == st->st_ino && e->dev == st->st_dev;
}

struct fdtab_entry *fdtab_find(int fd, const struct stat *st)
{
	if (fd < 0 || (size_t)fd >= fdtab_cap || !fdtab_same(&fdtab[fd], st))
		return NULL;
	return &fdtab[fd];
}

void fdtab_forget(int fd, struct fdtab_entry *e)
{
	while (e->regs) {
		struct fdtab_epreg *r = e->regs;

		e->regs = r->next;
		free(r);
	}
	if (e->pend) {
		fdtab_pending_drop(e->pend);
		e->pend = NULL;
	}
	memset(e, 0, sizeof(*e));
	fdtab_flags_update(fd, 0, FDTAB_F_PENDING | FDTAB_F_FAILED | FDTAB_F_EPOLL);
}

struct fdtab_entry *fdtab_claim(int fd, const struct stat *st)
{
	struct fdtab_entry *e;

	if (fd < 0 || fd >= FDTAB_MAX_FD) {
		errno = EMFILE;
		return NULL;
	}
	if ((size_t)fd >= fdtab_cap) {
		size_t cap = fdtab_cap ? fdtab_cap : 64;
		struct fdtab_entry *t;

		while (cap <= (size_t)fd)
			cap *= 2;
		t = realloc(fdtab, cap * sizeof(*t));
		if (!t)
			return NULL;
		memset(t + fdtab_cap, 0, (cap - fdtab_cap) * sizeof(*t));
		fdtab = t;
		fdtab_cap = cap;
	}
	e = &fdtab[fd];
	if (e->ino != 0 && !fdtab_same(e, st))
		fdtab_forget(fd, e); /* the program closed it behind the shim's back */
	if (e->ino == 0) {
		e->ino = st->st_ino;
		e->dev = st->st_dev;
		e->state = FDTAB_NONE;
	}
	return e;
}

int fdtab_set(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct fdtab_entry *e;
	struct stat st;
	sigset_t old;
	int rc = -1;

	if (len > sizeof(struct sockaddr_storage) || fstat(fd, &st) < 0)
		return -1;
	fdtab_lock(&old);
	e = fdtab_claim(fd, &st);
	if (e) {
		e->state = FDTAB_CONNECTED;
		e->len = len;
		memcpy(&e->peer, sa, len);
		rc = 0;
	}
	fdtab_unlock(&old);
	return rc;
}

int fdtab_peer(int fd, struct sockaddr *sa, socklen_t *len)
{
	struct fdtab_entry *e;
	struct stat st;
	sigset_t old;
	int rc = -1;

	if (fd < 0 || !len || fstat(fd, &st) < 0)
		return -1;
	fdtab_lock(&old);
	e = fdtab_find(fd, &st);
	if (e && e->state == FDTAB_CONNECTED) {
		memcpy(sa, &e->peer, *len < e->len ? *len : e->len);
		*len = e->len;
		rc = 0;
	} else if (e && (e->state == FDTAB_PENDING || e->state == FDTAB_FAILED)) {
		rc = 1;
	}
	fdtab_unlock(&old);
	return rc;
}

int fdtab_own(int fd)
{
	int hi;

	if (fd < 0)
		return -1;
	if (fd < FDTAB_OWN_MIN) {
		hi = fcntl(fd, F_DUPFD_CLOEXEC, FDTAB_OWN_MIN);
		if (hi >= 0) {
			shim_syms()->close(fd);
			fd = hi;
		}
	}
	if (fdtab_flags_update(fd, FDTAB_F_OWN, 0) < 0) {
		shim_syms()->close(fd);
		errno = ENOMEM;
		return -1;
	}
	return fd;
}

void fdtab_own_close(int fd)
{
	if (fd < 0)
		return;
	fdtab_flags_update(fd, 0, FDTAB_F_OWN);
	shim_syms()->close(fd);
}

struct fdtab_pending *fdtab_pending_new(void)
{
	struct fdtab_pending *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->dupfd = -1;
	p->helper_epfd = -1;
	p->fd = -1;
	p->evfd = fdtab_own(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (p->evfd < 0) {
		free(p);
		return NULL;
	}
	p->serial = ++fdtab_serial;
	return p;
}

void fdtab_pending_link(struct fdtab_pending *p)
{
	p->next = fdtab_pend_list;
	fdtab_pend_list = p;
	atomic_fetch_add(&fdtab_npending, 1);
}

int fdtab_pending_count(void)
{
	return atomic_load_explicit(&fdtab_npending, memory_order_acquire);
}

struct fdtab_entry *fdtab_pending_entry(struct fdtab_pending *p)
{
	if (p->fd < 0 || (size_t)p->fd >= fdtab_cap || fdtab[p->fd].pend != p)
		return NULL;
	return &fdtab[p->fd];
}

struct fdtab_pending *fdtab_pending_by_serial(uint64_t serial)
{
	for (struct fdtab_pending *p = fdtab_pend_list; p; p = p->next)
		if (p->serial == serial)
			return p;
	return NULL;
}

struct fdtab_pending *fdtab_pending_first(void)
{
	return fdtab_pend_list;
}

static void fdtab_pending_free(struct fdtab_pending *p)
{
	socks_client_cleanup(&p->sc);
	fdtab_own_close(p->evfd);
	free(p);
}

void fdtab_pending_drop(struct fdtab_pending *p)
{
	if (p->done)
		return;
	for (struct fdtab_pending **pp = &fdtab_pend_list; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			atomic_fetch_sub(&fdtab_npending, 1);
			break;
		}
	}
	/* The program's descriptor keeps the socket open, so closing the dup
	 * alone would leave it in the helper's set: take it out first. */
	if (p->dupfd >= 0) {
		shim_syms()->epoll_ctl(p->helper_epfd, EPOLL_CTL_DEL, p->dupfd, NULL);
		fdtab_own_close(p->dupfd);
		p->dupfd = -1;
	}
	p->done = true;
	/* eventfd_write: libc's own write, not the program-facing hooks. */
	if (eventfd_write(p->evfd, 1) < 0) {
		/* the counter cannot overflow with one write per handshake */
	}
	if (p->users == 0)
		fdtab_pending_free(p);
}

void fdtab_pending_unuse(struct fdtab_pending *p)
{
	p->users--;
	if (p->done && p->users == 0)
		fdtab_pending_free(p);
}

static void fdtab_fork_child(void)
{
	struct fdtab_pending *p, *next;

	for (p = fdtab_pend_list; p; p = next) {
		next = p->next;
		if (p->fd >= 0 && (size_t)p->fd < fdtab_cap && fdtab[p->fd].pend == p) {
			/* The parent's helper completes it; here it is an
			 * ordinary socket whose peer is the synthetic address. */
			fdtab[p->fd].pend = NULL;
			fdtab[p->fd].state = FDTAB_CONNECTED;
			fdtab_flags_update(p->fd, 0, FDTAB_F_PENDING);
		}
		fdtab_own_close(p->dupfd);
		fdtab_own_close(p->evfd);
		/* No GSS-API call in the child (the parent's helper may have
		 * been inside one): the handshake's context is left behind. */
		free(p->sc.gss);
		free(p);
	}
	fdtab_pend_list = NULL;
	atomic_store(&fdtab_npending, 0);
}

void fdtab_epset_closing(int epfd)
{
	for (struct fdtab_pending *p = fdtab_pend_list; p; p = p->next) {
		struct fdtab_entry *e = fdtab_pending_entry(p);

		if (e)
			fdtab_epreg_del(p->fd, e, epfd);
	}
	fdtab_flags_update(epfd, 0, FDTAB_F_EPSET);
}

struct fdtab_epreg *fdtab_epreg_find(struct fdtab_entry *e, int epfd)
{
	for (struct fdtab_epreg *r = e->regs; r; r = r->next)
		if (r->epfd == epfd)
			return r;
	return NULL;
}

int fdtab_epreg_add(int fd, struct fdtab_entry *e, int epfd, const struct epoll_event *ev)
{
	struct fdtab_epreg *r = fdtab_epreg_find(e, epfd);

	if (!r) {
		r = malloc(sizeof(*r));
		if (!r || fdtab_flags_update(fd, FDTAB_F_EPOLL, 0) < 0) {
			free(r);
			return -1;
		}
		r->epfd = epfd;
		r->next = e->regs;
		e->regs = r;
	}
	r->ev = *ev;
	return 0;
}

void fdtab_epreg_del(int fd, struct fdtab_entry *e, int epfd)
{
	for (struct fdtab_epreg **rp = &e->regs; *rp; rp = &(*rp)->next) {
		if ((*rp)->epfd == epfd) {
			struct fdtab_epreg *r = *rp;

			*rp = r->next;
			free(r);
			break;
		}
	}
	if (!e->regs)
		fdtab_flags_update(fd, 0, FDTAB_F_EPOLL);
}
