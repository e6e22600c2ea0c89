/* hook_bind — listening sockets that belong to a proxied peer become a
 * gateway-side BIND (RFC 1928 §4 and §6): the FTP active-mode pattern.
 *
 * The heuristic (socks64.conf `bind auto`, the default): a TCP socket
 * bound to port 0 on the wildcard address, or on the local address that
 * getsockname() shows for a connection the shim made through the gateway,
 * and then put into listen(), is meant for that connection's peer -- FTP
 * clients (curl binds the control connection's local address, Python's
 * ftplib the wildcard one) do exactly this.  The connection it belongs to
 * is the one whose address matched, for the wildcard the most recently
 * made one (highest socket inode); with none there is nothing to do and
 * the socket stays local.  `bind remote` also takes port-0 listeners on
 * any other address but loopback; `bind local` never asks the gateway.
 * Listeners on a fixed port are servers of this host and stay local.
 *
 * listen() then asks the gateway for a BIND whose expected peer is that
 * connection's destination NAME (port 0: FTP servers connect from port 20
 * or anywhere), waiting at most connect-timeout for the first reply, and
 * puts the BIND control connection in the program's descriptor (dup3; the
 * program's own socket is kept aside, its O_NONBLOCK and close-on-exec
 * flags carried over), so poll/select/epoll see the listener readable
 * exactly when the second reply arrives.  getsockname() shows the first
 * reply's address (the gateway's rendezvous, what goes into PORT/EPRT).
 * accept()/accept4() read the second reply and return the control
 * connection itself as the accepted socket (RFC 1928 §6: after it, the
 * connection relays), with the peer shown as the synthetic address of the
 * expected name; the listener's descriptor gets the program's own socket
 * back.  One connection per listener, as BIND gives one (§4): a second
 * accept() fails with EINVAL.
 *
 * getsockname() of a proxied connection shows the CONNECT reply's BND when
 * the connect hook passed it in (shim_bind_note_connect): the gateway's
 * own address towards the destination, which is where its BIND listens.
 * Without it, a connection with a pending BIND shows that BIND's address
 * (Python's ftplib asks after creating the listener), else its real one.
 *
 * Across families: the peer connects to the gateway in the peer's family,
 * so protocols that carry only a port (the peer connects back to where the
 * control connection came from) work either way; an address the program
 * cannot hold (an IPv6 rendezvous for an IPv4 socket) is shown as the
 * synthetic address of its literal, which is useless inside a protocol
 * (FTP's PORT cannot carry IPv6, and EPRT follows the socket's family).
 *
 * With `auth gssapi` at a protection level above none, listeners stay
 * local: the accepted connection's data would be wrapped (RFC 1961 §5)
 * and this module does not put a relay under it. */
#include "shim.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdtab.h"
#include "gss_frame.h"

struct hook_bind_note {
	struct shim_ub_obj obj;
	struct socks_addr bnd;
};

enum hook_bind_state {
	HOOK_BIND_BOUND, /* bind() seen, listen() not yet */
	HOOK_BIND_WAITING, /* first reply in, fd is the control connection */
};

struct hook_bind {
	struct shim_ub_obj obj;
	pthread_mutex_t lock;
	enum hook_bind_state state;
	int family; /* of the program's socket */
	bool real_bound; /* the program's own socket is bound (else: to the gateway's address) */
	dev_t tie_dev; /* the proxied connection this listener belongs to */
	ino_t tie_ino;
	struct socks_addr peer; /* its destination name: the expected peer */
	struct sockaddr_storage local; /* first reply, as the program sees it */
	socklen_t locallen;
	int saved; /* the program's own socket while fd is the control connection */
	uint8_t rbuf[SOCKS5_REPLY_MAX]; /* second reply so far */
	size_t rlen;
};

static void hook_bind_note_drop(struct shim_ub_obj *o)
{
	free(o);
}

static void hook_bind_drop(struct shim_ub_obj *o)
{
	struct hook_bind *b = (struct hook_bind *)o;

	if (b->saved >= 0)
		close(b->saved);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

void shim_bind_note_connect(int fd, const struct socks_addr *bnd)
{
	struct hook_bind_note *n;

	if (!bnd || bnd->atyp == SOCKS_ATYP_NAME)
		return;
	n = calloc(1, sizeof(*n));
	if (!n)
		return;
	n->obj.refs = 1;
	n->obj.kind = SHIM_UB_NOTE;
	n->obj.drop = hook_bind_note_drop;
	n->bnd = *bnd;
	if (shim_ub_attach(fd, &n->obj) < 0)
		free(n);
}

static bool hook_bind_unspecified(const struct socks_addr *a)
{
	return (a->atyp == SOCKS_ATYP_IPV4 && a->u.v4.s_addr == htonl(INADDR_ANY)) ||
	       (a->atyp == SOCKS_ATYP_IPV6 && IN6_IS_ADDR_UNSPECIFIED(&a->u.v6));
}

static bool hook_bind_loopback(const struct socks_addr *a)
{
	return (a->atyp == SOCKS_ATYP_IPV4 && (ntohl(a->u.v4.s_addr) >> 24) == 127) ||
	       (a->atyp == SOCKS_ATYP_IPV6 && IN6_IS_ADDR_LOOPBACK(&a->u.v6));
}

/* Same host address (ports ignored), v4-mapped and IPv4 alike. */
static bool hook_bind_same_host(const struct sockaddr *x, const struct sockaddr *y)
{
	struct socks_addr a, b;

	if (socks_addr_from_sockaddr(&a, x) < 0 || socks_addr_from_sockaddr(&b, y) < 0 ||
	    a.atyp != b.atyp)
		return false;
	return a.atyp == SOCKS_ATYP_IPV4 ? a.u.v4.s_addr == b.u.v4.s_addr
					 : memcmp(&a.u.v6, &b.u.v6, 16) == 0;
}

static uint16_t hook_bind_port(const struct sockaddr *sa)
{
	return ntohs(sa->sa_family == AF_INET ? ((const struct sockaddr_in *)sa)->sin_port
					      : ((const struct sockaddr_in6 *)sa)->sin6_port);
}

static int hook_bind_family(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (shim_ub_syms()->getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	return ss.ss_family;
}

/* What getsockname() shows for a proxied connection with a noted CONNECT
 * reply; 0 when there is none (or `bind local`). */
static socklen_t hook_bind_noted(int fd, int fam, struct sockaddr_storage *out)
{
	const struct shim_conf *c = shim_conf();
	struct hook_bind_note *n;
	socklen_t len = 0;

	if (!c || c->bind == SHIM_BIND_LOCAL)
		return 0;
	n = (struct hook_bind_note *)shim_ub_find(fd, SHIM_UB_NOTE);
	if (n) {
		len = shim_ub_show(fam, &n->bnd, out);
		shim_ub_put(&n->obj);
	}
	return len;
}

struct hook_bind_tie {
	dev_t dev;
	ino_t ino;
	struct socks_addr name;
};

/* The proxied TCP connection a listener bound to match (NULL: any) belongs
 * to; the most recent (highest inode) when several fit.  0 or -1. */
static int hook_bind_find_tie(const struct sockaddr *match, struct hook_bind_tie *tie)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	bool found = false;

	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL) {
		struct sockaddr_storage peer, shown;
		socklen_t plen = sizeof(peer), slen = sizeof(shown);
		struct synth_entry_info e;
		struct stat st;
		int type = 0, fd;
		socklen_t tlen = sizeof(type);

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		fd = atoi(de->d_name);
		if (fd == dirfd(d) || fdtab_peer(fd, (struct sockaddr *)&peer, &plen) != 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 || type != SOCK_STREAM ||
		    fstat(fd, &st) < 0 || (found && st.st_ino < tie->ino))
			continue;
		if (match) {
			if (shim_ub_syms()->getsockname(fd, (struct sockaddr *)&shown, &slen) < 0)
				continue;
			(void)hook_bind_noted(fd, shown.ss_family, &shown);
			if (!hook_bind_same_host((struct sockaddr *)&shown, match))
				continue;
		}
		if (shim_ub_synthetic((struct sockaddr *)&peer, plen, &e) <= 0)
			continue;
		memset(&tie->name, 0, sizeof(tie->name));
		if (socks_addr_set_name(&tie->name, e.name, e.namelen) == SOCKS_NAME_BAD)
			continue;
		tie->name.port = 0;
		tie->dev = st.st_dev;
		tie->ino = st.st_ino;
		found = true;
	}
	closedir(d);
	return found ? 0 : -1;
}

static bool hook_bind_is_stream(int fd)
{
	int type = 0;
	socklen_t tlen = sizeof(type);

	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0 && type == SOCK_STREAM;
}

/* A BIND record for fd (bound to sa, or unbound when sa is NULL) when the
 * heuristic says its listener belongs to a proxied peer; NULL otherwise. */
static struct hook_bind *hook_bind_candidate(int fd, const struct sockaddr *sa, socklen_t len)
{
	const struct shim_conf *c = shim_conf();
	struct hook_bind_tie tie;
	struct socks_addr a;
	struct hook_bind *b;
	int fam;

	if (!c || c->bind == SHIM_BIND_LOCAL || !hook_bind_is_stream(fd))
		return NULL;
	/* A BIND whose data would be wrapped (RFC 1961 §5) is not carried:
	 * the accepted connection would need a relay of its own. */
	if (c->auth == SOCKS5_METHOD_GSSAPI && c->gssapi_level != GSS_LEVEL_NONE)
		return NULL;
	fam = sa ? sa->sa_family : hook_bind_family(fd);
	if (fam != AF_INET && fam != AF_INET6)
		return NULL;
	if (sa) {
		if (len < (sa->sa_family == AF_INET ? sizeof(struct sockaddr_in)
						    : sizeof(struct sockaddr_in6)) ||
		    hook_bind_port(sa) != 0 || socks_addr_from_sockaddr(&a, sa) < 0)
			return NULL;
		if (hook_bind_unspecified(&a)) {
			if (hook_bind_find_tie(NULL, &tie) < 0)
				return NULL;
		} else if (hook_bind_find_tie(sa, &tie) < 0 &&
			   (c->bind != SHIM_BIND_REMOTE || hook_bind_loopback(&a) ||
			    hook_bind_find_tie(NULL, &tie) < 0)) {
			return NULL;
		}
	} else if (hook_bind_find_tie(NULL, &tie) < 0) {
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->obj.refs = 1;
	b->obj.kind = SHIM_UB_BIND;
	b->obj.drop = hook_bind_drop;
	pthread_mutex_init(&b->lock, NULL);
	b->state = HOOK_BIND_BOUND;
	b->family = fam;
	b->saved = -1;
	b->tie_dev = tie.dev;
	b->tie_ino = tie.ino;
	b->peer = tie.name;
	return b;
}

SHIM_EXPORT int bind(int fd, SHIM_CONST_SA addr, socklen_t len)
{
	const struct shim_ub_syms *real = shim_ub_syms();
	const struct sockaddr *sa = SHIM_CONST_SA_PTR(addr);
	struct hook_bind *b;
	int saved = errno;

	if (!sa || len < sizeof(sa_family_t) ||
	    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) ||
	    (b = hook_bind_candidate(fd, sa, len)) == NULL) {
		errno = saved;
		return real->bind(fd, addr, len);
	}
	/* The gateway's address (what a proxied connection shows) is not
	 * ours to bind: then the socket stays unbound until listen(). */
	if (real->bind(fd, addr, len) == 0) {
		b->real_bound = true;
	} else if (errno != EADDRNOTAVAIL) {
		hook_bind_drop(&b->obj);
		return -1;
	}
	if (shim_ub_attach(fd, &b->obj) < 0) {
		bool bound = b->real_bound;

		hook_bind_drop(&b->obj);
		if (!bound) {
			errno = ENOMEM;
			return -1;
		}
	}
	errno = saved;
	return 0;
}

/* First reply: ask, then put the control connection into fd.  b->lock
 * held.  0 or -1 with errno. */
static int hook_bind_start(int fd, struct hook_bind *b)
{
	const struct shim_conf *c = shim_conf();
	struct sockaddr_storage gw;
	struct socks_addr bnd;
	char text[SOCKS_ADDR_STRLEN];
	int ctl, fl, fdfl, err;

	ctl = shim_ub_request(b->family, SOCKS5_CMD_BIND, &b->peer, NULL,
			      (int)c->connect_timeout_ms, &bnd, &gw, NULL);
	if (ctl < 0) {
		err = errno;
		shim_log(SHIM_LOG_WARN, "BIND for %s: %s", b->peer.u.name, strerror(err));
		errno = err;
		return -1;
	}
	if (hook_bind_unspecified(&bnd)) {
		uint16_t port = bnd.port;

		socks_addr_from_sockaddr(&bnd, (struct sockaddr *)&gw);
		bnd.port = port;
	}
	b->locallen = shim_ub_show(b->family, &bnd, &b->local);
	fdfl = fcntl(fd, F_GETFD);
	fl = fcntl(ctl, F_GETFL);
	if (b->locallen == 0 || fdfl < 0 || fl < 0 ||
	    fcntl(ctl, F_SETFL, (fl & ~O_NONBLOCK) | (fcntl(fd, F_GETFL) & O_NONBLOCK)) < 0 ||
	    (b->saved = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		err = b->locallen == 0 ? EAFNOSUPPORT : errno;
		close(ctl);
		errno = err;
		return -1;
	}
	if (shim_ub_swap(fd, ctl, fdfl & FD_CLOEXEC, &b->obj) < 0) {
		err = errno;
		close(ctl);
		close(b->saved);
		b->saved = -1;
		errno = err;
		return -1;
	}
	close(ctl);
	b->state = HOOK_BIND_WAITING;
	shim_log(SHIM_LOG_VERBOSE, "fd %d: BIND for %s, the peer connects to %s", fd,
		 b->peer.u.name, sockaddr_format((struct sockaddr *)&b->local, text, sizeof(text)));
	return 0;
}

SHIM_EXPORT int listen(int fd, int backlog)
{
	const struct shim_ub_syms *real = shim_ub_syms();
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct hook_bind *b;
	int rc, saved = errno;

	b = (struct hook_bind *)shim_ub_find(fd, SHIM_UB_BIND);
	if (!b) {
		/* listen() without bind(): the kernel would pick the wildcard
		 * address and a port, the same as bind(port 0). */
		if (!shim_conf() || real->getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
		    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) ||
		    hook_bind_port((struct sockaddr *)&ss) != 0 ||
		    (b = hook_bind_candidate(fd, NULL, 0)) == NULL) {
			errno = saved;
			return real->listen(fd, backlog);
		}
		b->obj.refs = 2; /* the table's and ours */
		if (shim_ub_attach(fd, &b->obj) < 0) {
			hook_bind_drop(&b->obj);
			errno = saved;
			return real->listen(fd, backlog);
		}
	}
	pthread_mutex_lock(&b->lock);
	rc = b->state == HOOK_BIND_WAITING ? 0 : hook_bind_start(fd, b);
	pthread_mutex_unlock(&b->lock);
	shim_ub_put(&b->obj);
	if (rc == 0)
		errno = saved;
	return rc;
}

static int hook_bind_rep_errno(uint8_t rep)
{
	switch (rep) {
	case SOCKS5_REP_TTL_EXPIRED:
		return ETIMEDOUT; /* the gateway's bind-timeout: nobody came */
	case SOCKS5_REP_NOT_ALLOWED:
		return EACCES;
	default:
		return ECONNABORTED;
	}
}

/* Read the second reply, one byte at a time so nothing after it is taken
 * (the peer may speak first).  b->lock held.  1 done (*rep, *peer), 0
 * would block, -1 error (errno). */
static int hook_bind_second(int fd, struct hook_bind *b, uint8_t *rep, struct socks_addr *peer)
{
	const struct shim_ub_syms *real = shim_ub_syms();
	size_t used;

	for (;;) {
		enum codec_status st;
		ssize_t n;

		if (b->rlen > 0) {
			st = socks5_parse_reply(b->rbuf, b->rlen, rep, peer, &used);
			if (st == CODEC_OK)
				return 1;
			if (st == CODEC_ERR || b->rlen == sizeof(b->rbuf)) {
				errno = EPROTO;
				return -1;
			}
		}
		n = real->recv(fd, b->rbuf + b->rlen, 1, MSG_DONTWAIT);
		if (n == 1) {
			b->rlen++;
			continue;
		}
		if (n == 0) {
			errno = ECONNABORTED;
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (fcntl(fd, F_GETFL) & O_NONBLOCK)
			return 0;
		{
			struct pollfd pfd = {.fd = fd, .events = POLLIN};

			if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
				return -1;
		}
	}
}

static int hook_bind_accept(int fd, struct sockaddr *addr, socklen_t *alen, int flags,
			    bool *handled)
{
	struct hook_bind *b = (struct hook_bind *)shim_ub_find(fd, SHIM_UB_BIND);
	struct sockaddr_storage shown;
	struct socks_addr peer;
	socklen_t slen;
	uint8_t rep = 0;
	int rc, nfd = -1, err = 0, fdfl, fl;

	*handled = false;
	if (!b)
		return -1;
	pthread_mutex_lock(&b->lock);
	if (b->state != HOOK_BIND_WAITING) {
		pthread_mutex_unlock(&b->lock);
		shim_ub_put(&b->obj);
		return -1;
	}
	*handled = true;
	rc = hook_bind_second(fd, b, &rep, &peer);
	if (rc == 0) {
		err = EAGAIN;
		goto out;
	}
	if (rc < 0 || rep != SOCKS5_REP_SUCCEEDED) {
		err = rc < 0 ? errno : hook_bind_rep_errno(rep);
		shim_log(SHIM_LOG_WARN, "BIND for %s: %s", b->peer.u.name,
			 rc < 0 ? strerror(err) : socks5_rep_str(rep));
	} else {
		nfd = fcntl(fd, (flags & SOCK_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
		if (nfd < 0)
			err = errno;
	}
	/* The listener's descriptor gets the program's own socket back, with
	 * the O_NONBLOCK the program has set on it meanwhile. */
	fdfl = fcntl(fd, F_GETFD);
	fl = fcntl(b->saved, F_GETFL);
	if (fl >= 0)
		(void)fcntl(b->saved, F_SETFL,
			    (fl & ~O_NONBLOCK) | (fcntl(fd, F_GETFL) & O_NONBLOCK));
	(void)shim_ub_swap(fd, b->saved, fdfl >= 0 && (fdfl & FD_CLOEXEC), &b->obj);
	close(b->saved);
	b->saved = -1;
	b->state = HOOK_BIND_BOUND;
	shim_ub_detach(fd, &b->obj);
	if (nfd < 0)
		goto out;
	fl = fcntl(nfd, F_GETFL);
	(void)fcntl(nfd, F_SETFL, (fl & ~O_NONBLOCK) | ((flags & SOCK_NONBLOCK) ? O_NONBLOCK : 0));
	/* The expected peer is the only one the gateway lets in: show its
	 * synthetic address (getpeername too), with the real port. */
	b->peer.port = peer.port;
	slen = shim_ub_show(b->family, &b->peer, &shown);
	if (slen == 0)
		slen = shim_ub_show(b->family, &peer, &shown);
	if (slen) {
		fdtab_set(nfd, (struct sockaddr *)&shown, slen);
		if (addr && alen) {
			memcpy(addr, &shown, *alen < slen ? *alen : slen);
			*alen = slen;
		}
	}
	{
		struct socks_addr here;

		/* getsockname of the new socket: the rendezvous address. */
		if (socks_addr_from_sockaddr(&here, (struct sockaddr *)&b->local) == 0) {
			here.port = hook_bind_port((struct sockaddr *)&b->local);
			shim_bind_note_connect(nfd, &here);
		}
	}
	shim_log(SHIM_LOG_VERBOSE, "fd %d: BIND for %s accepted as fd %d", fd, b->peer.u.name, nfd);
out:
	pthread_mutex_unlock(&b->lock);
	shim_ub_put(&b->obj);
	if (nfd < 0)
		errno = err;
	return nfd;
}

SHIM_EXPORT int accept4(int fd, SHIM_SA addr, socklen_t *alen, int flags)
{
	bool handled;
	int saved = errno, rc;

	rc = hook_bind_accept(fd, SHIM_SA_PTR(addr), alen, flags, &handled);
	if (handled) {
		if (rc >= 0)
			errno = saved;
		return rc;
	}
	errno = saved;
	return shim_ub_syms()->accept4(fd, addr, alen, flags);
}

SHIM_EXPORT int accept(int fd, SHIM_SA addr, socklen_t *alen)
{
	bool handled;
	int saved = errno, rc;

	rc = hook_bind_accept(fd, SHIM_SA_PTR(addr), alen, 0, &handled);
	if (handled) {
		if (rc >= 0)
			errno = saved;
		return rc;
	}
	errno = saved;
	return shim_ub_syms()->accept(fd, addr, alen);
}

struct hook_bind_pending {
	dev_t dev;
	ino_t ino;
	struct sockaddr_storage local;
	bool found;
};

static int hook_bind_pending_fn(int fd, struct shim_ub_obj *o, void *arg)
{
	struct hook_bind *b = (struct hook_bind *)o;
	struct hook_bind_pending *p = arg;

	(void)fd;
	if (b->state != HOOK_BIND_WAITING || b->tie_dev != p->dev || b->tie_ino != p->ino)
		return 0;
	p->local = b->local;
	p->found = true;
	return 1;
}

SHIM_EXPORT int getsockname(int fd, SHIM_SA addr, socklen_t *len)
{
	const struct shim_ub_syms *real = shim_ub_syms();
	struct sockaddr *sa = SHIM_SA_PTR(addr);
	struct sockaddr_storage real_ss, shown;
	socklen_t rlen = sizeof(real_ss), slen = 0;
	struct hook_bind *b;
	int saved = errno;

	if (!shim_ub_any() || !sa || !len)
		return real->getsockname(fd, addr, len);
	if (real->getsockname(fd, (struct sockaddr *)&real_ss, &rlen) < 0)
		return -1;
	b = (struct hook_bind *)shim_ub_find(fd, SHIM_UB_BIND);
	if (b) {
		pthread_mutex_lock(&b->lock);
		/* A program asks for the port it is about to announce: curl
		 * does so between bind() and listen(), so the BIND starts here
		 * (listen() then finds it waiting).  If the gateway cannot
		 * help, the socket stays local. */
		if (b->state == HOOK_BIND_BOUND && hook_bind_start(fd, b) < 0) {
			pthread_mutex_unlock(&b->lock);
			shim_ub_detach(fd, &b->obj);
			shim_ub_put(&b->obj);
			errno = saved;
			return real->getsockname(fd, addr, len);
		}
		if (b->state == HOOK_BIND_WAITING) {
			memcpy(&shown, &b->local, sizeof(shown));
			slen = b->locallen;
		}
		pthread_mutex_unlock(&b->lock);
		shim_ub_put(&b->obj);
	} else if ((slen = hook_bind_noted(fd, real_ss.ss_family, &shown)) == 0 &&
		   real_ss.ss_family != AF_UNIX) {
		struct hook_bind_pending p = {.found = false};
		struct stat st;

		if (fstat(fd, &st) == 0) {
			p.dev = st.st_dev;
			p.ino = st.st_ino;
			shim_ub_foreach(SHIM_UB_BIND, hook_bind_pending_fn, &p);
		}
		if (p.found) {
			struct socks_addr a;

			/* The BIND's address with this connection's own port. */
			if (socks_addr_from_sockaddr(&a, (struct sockaddr *)&p.local) == 0) {
				a.port = hook_bind_port((struct sockaddr *)&real_ss);
				slen = shim_ub_show(real_ss.ss_family, &a, &shown);
			}
		}
	}
	if (slen == 0) {
		memcpy(&shown, &real_ss, sizeof(shown));
		slen = rlen;
	}
	memcpy(sa, &shown, *len < slen ? *len : slen);
	*len = slen;
	errno = saved;
	return 0;
}
