/* listen — a worker's listening sockets, kept in line with the
 * configuration and the interfaces.
 *
 * The plan (what should be listened on now) is computed from the worker's
 * configuration and network snapshot: a literal `listen` address is always
 * planned; `listen IFNAME:PORT` plans every usable address the interface has
 * now (IPv6 only once duplicate address detection has finished, link-local
 * addresses left out).  Each time the configuration or the snapshot changes
 * the worker reconciles: listeners no longer planned are closed, new ones
 * are opened (each worker its own socket, SO_REUSEPORT).  A literal address
 * that is not on any interface yet is simply waited for (or bound at once
 * with `listen-freebind`).  Listeners are freed after the current batch of
 * events, since one may still have an event queued. */
#include "listen.h"

#include <errno.h>
#include <ifaddrs.h>
#include <linux/if_addr.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "netstate.h"
#include "socks_addr.h"
#include "worker.h"

#define LISTEN_BACKLOG 4096
#define LISTEN_PLAN_MAX 256

struct listener {
	struct loop_io io;
	struct loop_defer defer;
	struct worker *w;
	struct listener *next;
	struct sockaddr_storage addr;
	socklen_t len;
	bool paused;
};

static socklen_t listen_salen(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

static bool listen_same(const struct sockaddr *a, const struct sockaddr *b)
{
	return a->sa_family == b->sa_family && memcmp(a, b, listen_salen(a)) == 0;
}

static void listen_plan_add(struct sockaddr_storage *plan, size_t *n, const struct sockaddr *sa)
{
	for (size_t i = 0; i < *n; i++)
		if (listen_same((struct sockaddr *)&plan[i], sa))
			return;
	if (*n < LISTEN_PLAN_MAX) {
		memset(&plan[*n], 0, sizeof(plan[*n]));
		memcpy(&plan[*n], sa, listen_salen(sa));
		(*n)++;
	}
}

/* An interface's addresses from netlink: skip what cannot be used yet. */
static void listen_plan_if_netlink(const struct netstate *n, unsigned ifindex, uint16_t port,
				   struct sockaddr_storage *plan, size_t *np)
{
	for (size_t i = 0; i < n->naddrs; i++) {
		const struct netstate_addr *a = &n->addrs[i];
		struct sockaddr_storage ss;

		if (a->ifindex != ifindex || (a->flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)))
			continue;
		memset(&ss, 0, sizeof(ss));
		if (a->family == AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			s4->sin_family = AF_INET;
			s4->sin_port = htons(port);
			memcpy(&s4->sin_addr, a->addr, 4);
		} else {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(port);
			memcpy(&s6->sin6_addr, a->addr, 16);
			if (IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr))
				continue;
		}
		listen_plan_add(plan, np, (struct sockaddr *)&ss);
	}
}

/* Without netlink: what getifaddrs says now. */
static void listen_plan_if_scan(const char *ifname, uint16_t port, struct sockaddr_storage *plan,
				size_t *np)
{
	struct ifaddrs *ifa, *i;

	if (getifaddrs(&ifa) < 0)
		return;
	for (i = ifa; i != NULL; i = i->ifa_next) {
		struct sockaddr_storage ss;

		if (i->ifa_addr == NULL || strcmp(i->ifa_name, ifname) != 0 ||
		    (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
			continue;
		memset(&ss, 0, sizeof(ss));
		memcpy(&ss, i->ifa_addr, listen_salen(i->ifa_addr));
		if (ss.ss_family == AF_INET) {
			((struct sockaddr_in *)&ss)->sin_port = htons(port);
		} else {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			if (IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr))
				continue;
			s6->sin6_port = htons(port);
			s6->sin6_scope_id = 0;
		}
		listen_plan_add(plan, np, (struct sockaddr *)&ss);
	}
	freeifaddrs(ifa);
}

static size_t listen_plan(const struct conf *c, const struct netstate *n,
			  struct sockaddr_storage *plan)
{
	size_t np = 0;

	for (size_t i = 0; i < c->nlisten; i++) {
		const struct conf_listen *l = &c->listen[i];
		unsigned idx;

		if (l->ifname[0] == '\0') {
			listen_plan_add(plan, &np, (const struct sockaddr *)&l->ss);
			continue;
		}
		idx = if_nametoindex(l->ifname);
		if (idx == 0)
			continue; /* the interface does not exist (yet) */
		if (n != NULL && n->known)
			listen_plan_if_netlink(n, idx, l->port, plan, &np);
		else
			listen_plan_if_scan(l->ifname, l->port, plan, &np);
	}
	return np;
}

static void listen_accept_cb(struct loop_io *io, uint32_t events)
{
	struct listener *l = container_of(io, struct listener, io);

	(void)events;
	worker_accept(l->w, io->fd);
}

static void listen_free_cb(struct loop_defer *d)
{
	free(container_of(d, struct listener, defer));
}

static void listen_drop(struct worker *w, struct listener *l)
{
	char a[SOCKS_ADDR_STRLEN];

	log_notice("worker %u: no longer listening on %s", w->id,
		   sockaddr_format((struct sockaddr *)&l->addr, a, sizeof(a)));
	loop_io_close(w->loop, &l->io);
	l->defer.cb = listen_free_cb;
	loop_defer(w->loop, &l->defer);
}

/* 0: listening; 1: the address is not (yet) ours, try again later;
 * -1: a real error (in use, permission), errno set. */
static int listen_open(struct worker *w, const struct sockaddr *sa, bool freebind)
{
	struct listener *l;
	int fd, one = 1, saved;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Every worker binds its own socket; the kernel spreads clients. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto fail;
	if (sa->sa_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	/* Accepted sockets inherit it: one call here instead of one per client. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (freebind)
		(void)setsockopt(fd, sa->sa_family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6,
				 sa->sa_family == AF_INET ? IP_FREEBIND : IPV6_FREEBIND, &one,
				 sizeof(one));
	if (bind(fd, sa, listen_salen(sa)) < 0 || listen(fd, LISTEN_BACKLOG) < 0)
		goto fail;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		goto fail;
	l->w = w;
	l->io.fd = fd;
	l->io.cb = listen_accept_cb;
	memcpy(&l->addr, sa, listen_salen(sa));
	l->len = listen_salen(sa);
	/* Join the others' state: paused at the session limit or stopping. */
	l->paused = w->stopping || timer_armed(&w->accept_timer);
	if (loop_io_add(w->loop, &l->io, l->paused ? 0 : EPOLLIN) < 0) {
		free(l);
		goto fail;
	}
	l->next = w->listeners;
	w->listeners = l;
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return errno == EADDRNOTAVAIL ? 1 : -1;
}

int listen_sync(struct worker *w, bool startup)
{
	struct sockaddr_storage plan[LISTEN_PLAN_MAX];
	size_t np = listen_plan(w->conf, w->net, plan);
	struct listener **pp, *l;
	char a[SOCKS_ADDR_STRLEN];
	int rc = 0;

	if (w->stopping)
		return 0;
	/* Close what is no longer planned. */
	for (pp = &w->listeners; (l = *pp) != NULL;) {
		bool keep = false;

		for (size_t i = 0; i < np && !keep; i++)
			keep = listen_same((struct sockaddr *)&l->addr,
					   (struct sockaddr *)&plan[i]);
		if (keep) {
			pp = &l->next;
			continue;
		}
		*pp = l->next;
		listen_drop(w, l);
	}
	/* Open what is planned and not open yet. */
	for (size_t i = 0; i < np; i++) {
		const struct sockaddr *sa = (struct sockaddr *)&plan[i];
		bool have = false;
		int r;

		for (l = w->listeners; l != NULL && !have; l = l->next)
			have = listen_same((struct sockaddr *)&l->addr, sa);
		if (have)
			continue;
		r = listen_open(w, sa, w->conf->listen_freebind);
		sockaddr_format(sa, a, sizeof(a));
		if (r == 0) {
			if (!startup && w->id == 0)
				log_notice("listening on %s", a);
		} else if (r > 0) {
			if (w->id == 0)
				log_msg(LOG_LVL_WARN,
					"%s is not an address of this host yet: listening once it "
					"appears",
					a);
		} else {
			log_warn("listen on %s", a);
			rc = -1;
		}
	}
	return rc;
}

void listen_enable(struct worker *w, bool on)
{
	for (struct listener *l = w->listeners; l != NULL; l = l->next) {
		if (l->io.fd < 0 || l->paused == !on)
			continue;
		if (loop_io_mod(w->loop, &l->io, on ? EPOLLIN : 0) == 0)
			l->paused = !on;
	}
}

void listen_close_all(struct worker *w, bool now)
{
	while (w->listeners != NULL) {
		struct listener *l = w->listeners;

		w->listeners = l->next;
		loop_io_close(w->loop, &l->io);
		if (now) {
			free(l);
		} else {
			l->defer.cb = listen_free_cb;
			loop_defer(w->loop, &l->defer);
		}
	}
}

size_t listen_describe(const struct worker *w, char *out, size_t outlen)
{
	size_t off = 0;
	char a[SOCKS_ADDR_STRLEN];

	if (outlen == 0)
		return 0;
	out[0] = '\0';
	for (const struct listener *l = w->listeners; l != NULL; l = l->next) {
		int n = snprintf(out + off, outlen - off, "%s%s", off ? " " : "",
				 sockaddr_format((const struct sockaddr *)&l->addr, a, sizeof(a)));

		if (n < 0 || (size_t)n >= outlen - off)
			break;
		off += (size_t)n;
	}
	return off;
}
