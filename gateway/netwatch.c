/* netwatch — netlink watcher of links, addresses and routes; see netwatch.h.
 *
 * The tables are plain arrays searched linearly: a router has tens of
 * addresses and routes, and a burst of hundreds is still cheap next to the
 * system calls that deliver it. */
#include "netwatch.h"

#include <errno.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "log.h"
#include "loop.h"
#include "netstate.h"

/* After a refused or failed dump request, or a failed snapshot allocation
 * (all transient: a full receive buffer, a dump still running, memory). */
#define NETWATCH_RETRY_MS 250
/* Enough for a burst of a few thousand events; the kernel caps it at
 * net.core.rmem_max. */
#define NETWATCH_RCVBUF_DEFAULT (256 * 1024)

enum netwatch_phase {
	NETWATCH_IDLE, /* no dump in flight */
	NETWATCH_LINKS,
	NETWATCH_ADDRS,
	NETWATCH_ROUTES,
};

struct netwatch_vec {
	void *v;
	size_t n, cap;
};

struct netwatch {
	struct loop *loop;
	struct nl_sock *sk;
	struct loop_io io;
	struct timer debounce;
	struct timer retry;
	void (*publish)(void *arg, struct netstate *snap);
	void *arg;
	struct netwatch_vec links; /* struct netstate_link */
	struct netwatch_vec addrs; /* struct netstate_addr */
	struct netwatch_vec routes; /* struct netstate_route */
	enum netwatch_phase phase;
	uint32_t dump_seq; /* sequence number of the dump in flight */
	bool syncing; /* tables being (re)built: nothing is published */
	bool resync; /* read everything again once the dump in flight ends */
	bool dirty; /* changed since the last snapshot */
	/* An overflow (error) episode lasts until a snapshot goes out: one
	 * log line each, however many re-reads a burst of changes takes. */
	bool overflow_logged;
	bool error_logged;
	bool published; /* at least one snapshot went out */
	bool usable4, usable6; /* as last published, to log changes */
	unsigned resyncs;
	unsigned episode_resyncs; /* resyncs when the overflow was logged */
};

static void *netwatch_vec_at(const struct netwatch_vec *v, size_t i, size_t size)
{
	return (char *)v->v + i * size;
}

static int netwatch_vec_push(struct netwatch_vec *v, const void *e, size_t size)
{
	if (v->n == v->cap) {
		size_t ncap = v->cap ? v->cap * 2 : 16;
		void *nv = realloc(v->v, ncap * size);

		if (nv == NULL)
			return -1;
		v->v = nv;
		v->cap = ncap;
	}
	memcpy(netwatch_vec_at(v, v->n++, size), e, size);
	return 0;
}

/* Order does not matter: the last element fills the hole. */
static void netwatch_vec_del(struct netwatch_vec *v, size_t i, size_t size)
{
	if (i != --v->n)
		memcpy(netwatch_vec_at(v, i, size), netwatch_vec_at(v, v->n, size), size);
}

#define NETWATCH_LINK(w, i) ((struct netstate_link *)(w)->links.v + (i))
#define NETWATCH_ADDR(w, i) ((struct netstate_addr *)(w)->addrs.v + (i))
#define NETWATCH_ROUTE(w, i) ((struct netstate_route *)(w)->routes.v + (i))

static void netwatch_schedule(struct netwatch *w)
{
	if (!w->syncing && w->dirty && !timer_armed(&w->debounce))
		loop_timer_set(w->loop, &w->debounce, NETWATCH_DEBOUNCE_MS);
}

static void netwatch_changed(struct netwatch *w)
{
	w->dirty = true;
	netwatch_schedule(w);
}

static void netwatch_want_resync(struct netwatch *w);

/* A table could not grow: it no longer matches the kernel's. */
static void netwatch_nomem(struct netwatch *w)
{
	log_warnx("netwatch: out of memory; reading the tables again");
	netwatch_want_resync(w);
}

/* ---- tables ---- */

static void netwatch_forget_routes(struct netwatch *w, uint32_t ifindex)
{
	for (size_t i = 0; i < w->routes.n;) {
		if (NETWATCH_ROUTE(w, i)->oif == ifindex)
			netwatch_vec_del(&w->routes, i, sizeof(struct netstate_route));
		else
			i++;
	}
}

static void netwatch_forget_addrs(struct netwatch *w, uint32_t ifindex)
{
	for (size_t i = 0; i < w->addrs.n;) {
		if (NETWATCH_ADDR(w, i)->ifindex == ifindex)
			netwatch_vec_del(&w->addrs, i, sizeof(struct netstate_addr));
		else
			i++;
	}
}

static void netwatch_on_link(struct netwatch *w, const struct nlmsghdr *h)
{
	const struct ifinfomsg *ifi;
	struct netstate_link l;
	size_t i;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return;
	ifi = nlmsg_data(h);
	/* AF_BRIDGE and other per-family link messages are not about the
	 * link's state. */
	if (ifi->ifi_family != AF_UNSPEC || ifi->ifi_index <= 0)
		return;
	l.ifindex = (uint32_t)ifi->ifi_index;
	l.flags = ifi->ifi_flags;
	for (i = 0; i < w->links.n; i++)
		if (NETWATCH_LINK(w, i)->ifindex == l.ifindex)
			break;
	if (h->nlmsg_type == RTM_DELLINK) {
		if (i < w->links.n)
			netwatch_vec_del(&w->links, i, sizeof(l));
		netwatch_forget_addrs(w, l.ifindex);
		netwatch_forget_routes(w, l.ifindex);
		netwatch_changed(w);
		return;
	}
	if (i == w->links.n) {
		if (netwatch_vec_push(&w->links, &l, sizeof(l)) < 0)
			netwatch_nomem(w);
		else
			netwatch_changed(w);
		return;
	}
	{
		uint32_t old = NETWATCH_LINK(w, i)->flags;

		NETWATCH_LINK(w, i)->flags = l.flags;
		/* The kernel flushes the routes of a link taken down without
		 * sending RTM_DELROUTE for the IPv4 ones. */
		if ((old & IFF_UP) && !(l.flags & IFF_UP))
			netwatch_forget_routes(w, l.ifindex);
		/* RTM_NEWLINK also reports statistics and the like. */
		if ((old ^ l.flags) & (IFF_UP | IFF_RUNNING))
			netwatch_changed(w);
	}
}

static int netwatch_addr_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

static uint32_t netwatch_u32(const struct nlattr *a, uint32_t dflt)
{
	return a != NULL && nla_len(a) >= 4 ? nla_get_u32(a) : dflt;
}

static void netwatch_on_addr(struct netwatch *w, struct nlmsghdr *h)
{
	struct nlattr *tb[IFA_MAX + 1];
	const struct ifaddrmsg *ifa;
	const struct nlattr *at;
	struct netstate_addr a;
	int alen;
	size_t i;

	if (nlmsg_parse(h, sizeof(*ifa), tb, IFA_MAX, NULL) < 0)
		return;
	ifa = nlmsg_data(h);
	alen = netwatch_addr_len(ifa->ifa_family);
	/* IFA_LOCAL is the address itself; IFA_ADDRESS is the peer on a
	 * point-to-point link, and the only one IPv6 usually sends. */
	at = tb[IFA_LOCAL] != NULL ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (alen == 0 || at == NULL || nla_len(at) != alen)
		return;
	memset(&a, 0, sizeof(a));
	a.family = ifa->ifa_family;
	a.prefixlen = ifa->ifa_prefixlen;
	a.scope = ifa->ifa_scope;
	a.ifindex = ifa->ifa_index;
	a.flags = netwatch_u32(tb[IFA_FLAGS], ifa->ifa_flags);
	memcpy(a.addr, nla_data(at), (size_t)alen);
	for (i = 0; i < w->addrs.n; i++) {
		const struct netstate_addr *e = NETWATCH_ADDR(w, i);

		if (e->family == a.family && e->ifindex == a.ifindex &&
		    e->prefixlen == a.prefixlen && memcmp(e->addr, a.addr, 16) == 0)
			break;
	}
	if (h->nlmsg_type == RTM_DELADDR) {
		if (i < w->addrs.n) {
			netwatch_vec_del(&w->addrs, i, sizeof(a));
			netwatch_changed(w);
		}
		return;
	}
	if (i < w->addrs.n) {
		/* e.g. DAD completed: the tentative flag went away */
		if (memcmp(NETWATCH_ADDR(w, i), &a, sizeof(a)) != 0) {
			*NETWATCH_ADDR(w, i) = a;
			netwatch_changed(w);
		}
		return;
	}
	if (netwatch_vec_push(&w->addrs, &a, sizeof(a)) < 0)
		netwatch_nomem(w);
	else
		netwatch_changed(w);
}

/* Same destination, TOS and metric: what the kernel treats as one route
 * (several may share it with different next hops). */
static bool netwatch_route_key_eq(const struct netstate_route *x, const struct netstate_route *y)
{
	return x->family == y->family && x->dst_len == y->dst_len && x->tos == y->tos &&
	       x->priority == y->priority && memcmp(x->dst, y->dst, 16) == 0;
}

static void netwatch_on_route(struct netwatch *w, struct nlmsghdr *h)
{
	struct nlattr *tb[RTA_MAX + 1];
	const struct rtmsg *rtm;
	struct netstate_route r;
	bool any_oif;
	int alen;
	size_t i;

	if (nlmsg_parse(h, sizeof(*rtm), tb, RTA_MAX, NULL) < 0)
		return;
	rtm = nlmsg_data(h);
	alen = netwatch_addr_len(rtm->rtm_family);
	if (alen == 0 || (rtm->rtm_flags & RTM_F_CLONED) || rtm->rtm_dst_len > alen * 8)
		return;
	/* Policy routing is out of scope: the main table is what an
	 * ordinary connect() from the gateway uses. */
	if (netwatch_u32(tb[RTA_TABLE], rtm->rtm_table) != RT_TABLE_MAIN)
		return;
	switch (rtm->rtm_type) {
	case RTN_UNICAST:
	case RTN_LOCAL:
	case RTN_UNREACHABLE:
	case RTN_BLACKHOLE:
	case RTN_PROHIBIT:
	case RTN_THROW:
		break;
	default:
		return; /* multicast, broadcast, anycast: not egress routes */
	}
	memset(&r, 0, sizeof(r));
	r.family = rtm->rtm_family;
	r.dst_len = rtm->rtm_dst_len;
	r.type = rtm->rtm_type;
	r.tos = rtm->rtm_tos;
	r.priority = netwatch_u32(tb[RTA_PRIORITY], 0);
	/* a multipath route has no single output link: 0 */
	r.oif = netwatch_u32(tb[RTA_OIF], 0);
	if (tb[RTA_DST] != NULL) {
		if (nla_len(tb[RTA_DST]) != alen)
			return;
		memcpy(r.dst, nla_data(tb[RTA_DST]), (size_t)alen);
	} else if (r.dst_len != 0) {
		return;
	}
	/* NLM_F_REPLACE swaps the route with this key whatever its next hop;
	 * otherwise the next hop tells apart routes sharing a key. */
	any_oif =
		h->nlmsg_type == RTM_NEWROUTE ? (h->nlmsg_flags & NLM_F_REPLACE) != 0 : r.oif == 0;
	for (i = 0; i < w->routes.n; i++) {
		const struct netstate_route *e = NETWATCH_ROUTE(w, i);

		if (netwatch_route_key_eq(e, &r) && (any_oif || e->oif == r.oif))
			break;
	}
	if (h->nlmsg_type == RTM_DELROUTE) {
		if (i < w->routes.n) {
			netwatch_vec_del(&w->routes, i, sizeof(r));
			netwatch_changed(w);
		}
		return;
	}
	if (i < w->routes.n) {
		if (memcmp(NETWATCH_ROUTE(w, i), &r, sizeof(r)) != 0) {
			*NETWATCH_ROUTE(w, i) = r;
			netwatch_changed(w);
		}
		return;
	}
	if (netwatch_vec_push(&w->routes, &r, sizeof(r)) < 0)
		netwatch_nomem(w);
	else
		netwatch_changed(w);
}

/* ---- dumps ---- */

static void netwatch_request(struct netwatch *w, enum netwatch_phase p)
{
	union {
		struct ifinfomsg link;
		struct ifaddrmsg addr;
		struct rtmsg route;
	} req;
	int type, err;
	size_t len;

	memset(&req, 0, sizeof(req)); /* family AF_UNSPEC: every family */
	if (p == NETWATCH_LINKS) {
		type = RTM_GETLINK;
		len = sizeof(req.link);
	} else if (p == NETWATCH_ADDRS) {
		type = RTM_GETADDR;
		len = sizeof(req.addr);
	} else {
		type = RTM_GETROUTE;
		len = sizeof(req.route);
	}
	/* nl_send_simple numbers the request with the socket's next sequence
	 * number; taking one here tells which (the one taken is skipped).
	 * Answers to an earlier dump, still queued, are then told apart. */
	w->dump_seq = nl_socket_use_seq(w->sk) + 1;
	err = nl_send_simple(w->sk, type, NLM_F_DUMP, &req, len);
	if (err < 0) {
		log_warnx("netwatch: cannot ask for a dump: %s; retrying", nl_geterror(err));
		w->phase = NETWATCH_IDLE;
		w->resync = true;
		loop_timer_set(w->loop, &w->retry, NETWATCH_RETRY_MS);
		return;
	}
	w->phase = p;
}

/* Throw the tables away and dump links, then addresses, then routes. */
static void netwatch_resync_begin(struct netwatch *w)
{
	w->resync = false;
	w->syncing = true;
	w->links.n = w->addrs.n = w->routes.n = 0;
	loop_timer_cancel(w->loop, &w->debounce);
	netwatch_request(w, NETWATCH_LINKS);
}

/* Only one dump may run on a socket at a time: a resync asked for during
 * one begins when it ends (its answers would otherwise mix with the new). */
static void netwatch_want_resync(struct netwatch *w)
{
	if (!w->resync)
		w->resyncs++;
	w->resync = true;
	if (w->phase == NETWATCH_IDLE && !timer_armed(&w->retry))
		netwatch_resync_begin(w);
}

/* The dump in flight ended: NLMSG_DONE (ok) or an error answer. */
static void netwatch_dump_end(struct netwatch *w, bool ok)
{
	enum netwatch_phase p = w->phase;

	w->phase = NETWATCH_IDLE;
	if (!ok) {
		w->resync = true;
		loop_timer_set(w->loop, &w->retry, NETWATCH_RETRY_MS);
		return;
	}
	if (w->resync) {
		netwatch_resync_begin(w);
	} else if (p == NETWATCH_LINKS) {
		netwatch_request(w, NETWATCH_ADDRS);
	} else if (p == NETWATCH_ADDRS) {
		netwatch_request(w, NETWATCH_ROUTES);
	} else {
		w->syncing = false;
		netwatch_changed(w);
	}
}

/* ---- netlink callbacks ---- */

static bool netwatch_current_dump(const struct netwatch *w, uint32_t seq)
{
	return w->phase != NETWATCH_IDLE && seq == w->dump_seq;
}

static int netwatch_valid_cb(struct nl_msg *msg, void *arg)
{
	struct netwatch *w = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);

	/* Part of a dump (events never carry NLM_F_MULTI): one we gave up on
	 * would bring back what later events removed. */
	if (h->nlmsg_flags & NLM_F_MULTI) {
		if (!netwatch_current_dump(w, h->nlmsg_seq))
			return NL_OK;
		/* The table changed under the dump: its answer may be
		 * inconsistent (libnl-tiny does not check this itself). */
		if (h->nlmsg_flags & NLM_F_DUMP_INTR)
			netwatch_want_resync(w); /* begins when this dump ends */
	}
	switch (h->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		netwatch_on_link(w, h);
		break;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		netwatch_on_addr(w, h);
		break;
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		netwatch_on_route(w, h);
		break;
	default:
		break;
	}
	return NL_OK;
}

static int netwatch_finish_cb(struct nl_msg *msg, void *arg)
{
	struct netwatch *w = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	bool ok = true;

	if (!netwatch_current_dump(w, h->nlmsg_seq))
		return NL_OK;
	if (h->nlmsg_flags & NLM_F_DUMP_INTR)
		netwatch_want_resync(w); /* begins in netwatch_dump_end */
	/* A dump that fails part-way says so in NLMSG_DONE's payload. */
	if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int)) && *(const int *)nlmsg_data(h) < 0) {
		log_warnx("netwatch: dump failed: %s", strerror(-*(const int *)nlmsg_data(h)));
		ok = false;
	}
	netwatch_dump_end(w, ok);
	return NL_OK;
}

static int netwatch_error_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct netwatch *w = arg;

	(void)nla;
	if (!netwatch_current_dump(w, e->msg.nlmsg_seq))
		return NL_SKIP;
	/* ENOBUFS: the dump could not start for a full receive buffer (an
	 * overflow, logged as such); EBUSY: an abandoned dump still runs. */
	if (e->error == -ENOBUFS || e->error == -EBUSY) {
		log_debug("netwatch: dump refused: %s; retrying", strerror(-e->error));
	} else if (!w->error_logged) {
		log_warnx("netwatch: dump refused: %s; retrying", strerror(-e->error));
		w->error_logged = true;
	}
	netwatch_dump_end(w, false);
	return NL_SKIP;
}

static void netwatch_io_cb(struct loop_io *io, uint32_t events)
{
	struct netwatch *w = container_of(io, struct netwatch, io);
	int err;

	(void)events;
	/* One datagram (or the rest of a dump) per call; the fd is
	 * level-triggered, so the loop comes back for more. */
	err = nl_recvmsgs_default(w->sk);
	if (err >= 0 || err == -NLE_AGAIN || err == -NLE_INTR)
		return;
	if (err == -NLE_NOMEM) {
		/* ENOBUFS: the kernel dropped events; only a full re-read
		 * makes the tables true again. */
		if (!w->overflow_logged) {
			log_notice("netwatch: netlink socket overflowed (ENOBUFS), events lost: "
				   "resync, reading links, addresses and routes again");
			w->episode_resyncs = w->resyncs;
		}
		w->overflow_logged = true;
		netwatch_want_resync(w);
		return;
	}
	if (err == -NLE_MSG_TRUNC) {
		/* a message did not fit the buffer: it is lost */
		if (!w->error_logged)
			log_warnx("netwatch: netlink message truncated; reading everything again");
		w->error_logged = true;
		netwatch_want_resync(w);
		return;
	}
#ifdef NLE_DUMP_INTR
	/* libnl-3 reports NLM_F_DUMP_INTR after the dump: seen already */
	if (err == -NLE_DUMP_INTR)
		return;
#endif
	if (!w->error_logged)
		log_warnx("netwatch: netlink receive: %s", nl_geterror(err));
	w->error_logged = true;
}

/* ---- timers ---- */

static void netwatch_debounce_cb(struct timer *t)
{
	struct netwatch *w = container_of(t, struct netwatch, debounce);
	struct netstate *snap;
	bool u4, u6;

	if (w->syncing || !w->dirty)
		return;
	snap = netstate_build(w->links.v, w->links.n, w->addrs.v, w->addrs.n, w->routes.v,
			      w->routes.n);
	if (snap == NULL) {
		log_warnx("netwatch: out of memory building a snapshot; retrying");
		loop_timer_set(w->loop, t, NETWATCH_RETRY_MS);
		return;
	}
	w->dirty = false;
	u4 = netstate_family_usable(snap, AF_INET);
	u6 = netstate_family_usable(snap, AF_INET6);
	if (!w->published || u4 != w->usable4 || u6 != w->usable6)
		log_notice("netwatch: IPv4 %s, IPv6 %s (%zu links, %zu addresses, %zu routes)",
			   u4 ? "usable" : "unusable", u6 ? "usable" : "unusable", snap->nlinks,
			   snap->naddrs, snap->nroutes);
	else
		log_debug("netwatch: new snapshot (%zu links, %zu addresses, %zu routes)",
			  snap->nlinks, snap->naddrs, snap->nroutes);
	if (w->overflow_logged)
		log_notice("netwatch: resync complete (%u re-reads)",
			   w->resyncs - w->episode_resyncs);
	w->overflow_logged = false;
	w->error_logged = false;
	w->published = true;
	w->usable4 = u4;
	w->usable6 = u6;
	w->publish(w->arg, snap);
}

static void netwatch_retry_cb(struct timer *t)
{
	struct netwatch *w = container_of(t, struct netwatch, retry);

	if (w->phase == NETWATCH_IDLE && w->resync)
		netwatch_resync_begin(w);
	else if (w->dirty)
		netwatch_schedule(w);
}

/* ---- life cycle ---- */

struct netwatch *netwatch_new(struct loop *loop, void (*publish)(void *arg, struct netstate *snap),
			      void *arg, int rcvbuf)
{
	struct netwatch *w = calloc(1, sizeof(*w));
	struct nl_cb *cb;
	int err;

	if (w == NULL) {
		log_warn("netwatch");
		return NULL;
	}
	w->loop = loop;
	w->publish = publish;
	w->arg = arg;
	w->io.fd = -1;
	w->io.cb = netwatch_io_cb;
	w->debounce.cb = netwatch_debounce_cb;
	w->retry.cb = netwatch_retry_cb;
	w->sk = nl_socket_alloc();
	if (w->sk == NULL) {
		log_warnx("netwatch: cannot allocate a netlink socket");
		goto fail;
	}
	/* Events carry sequence number 0 and dumps their own: no sequence
	 * check; no ACKs (a dump ends with NLMSG_DONE).  No MSG_PEEK: after an
	 * overflow, each peek makes the kernel try to resume the paused dump,
	 * fail while the peeked message is still queued and raise ENOBUFS
	 * again, so the real read never takes it off the queue (a livelock).
	 * Without peeking, libnl reads into a page-sized buffer, and the
	 * kernel sizes dump datagrams to what the reader asks for. */
	nl_socket_disable_seq_check(w->sk);
	nl_socket_disable_auto_ack(w->sk);
	nl_socket_disable_msg_peek(w->sk);
	err = nl_connect(w->sk, NETLINK_ROUTE);
	if (err < 0) {
		log_warnx("netwatch: netlink: %s", nl_geterror(err));
		goto fail;
	}
	/* The same size both ways: libnl-tiny swaps the two arguments. */
	if (rcvbuf <= 0)
		rcvbuf = NETWATCH_RCVBUF_DEFAULT;
	err = nl_socket_set_buffer_size(w->sk, rcvbuf, rcvbuf);
	if (err < 0)
		log_warnx("netwatch: netlink buffer size: %s", nl_geterror(err));
	err = nl_socket_add_memberships(w->sk, RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR,
					RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE,
					0);
	if (err < 0) {
		log_warnx("netwatch: netlink groups: %s", nl_geterror(err));
		goto fail;
	}
	err = nl_socket_set_nonblocking(w->sk);
	if (err < 0) {
		log_warnx("netwatch: netlink non-blocking: %s", nl_geterror(err));
		goto fail;
	}
	nl_socket_modify_cb(w->sk, NL_CB_VALID, NL_CB_CUSTOM, netwatch_valid_cb, w);
	nl_socket_modify_cb(w->sk, NL_CB_FINISH, NL_CB_CUSTOM, netwatch_finish_cb, w);
	cb = nl_socket_get_cb(w->sk);
	if (cb == NULL) {
		log_warnx("netwatch: no netlink callback set");
		goto fail;
	}
	nl_cb_err(cb, NL_CB_CUSTOM, netwatch_error_cb, w);
	nl_cb_put(cb);
	w->io.fd = nl_socket_get_fd(w->sk);
	if (loop_io_add(loop, &w->io, EPOLLIN) < 0) {
		log_warn("netwatch: epoll");
		w->io.fd = -1;
		goto fail;
	}
	log_info("netwatch: following links, addresses and routes over netlink");
	netwatch_resync_begin(w);
	return w;
fail:
	netwatch_free(w);
	return NULL;
}

void netwatch_free(struct netwatch *w)
{
	if (w == NULL)
		return;
	loop_timer_cancel(w->loop, &w->debounce);
	loop_timer_cancel(w->loop, &w->retry);
	/* nl_socket_free closes the fd, which also takes it out of the epoll
	 * set (the loop never dups fds): loop_io_close would close it twice. */
	if (w->sk != NULL)
		nl_socket_free(w->sk);
	w->io.fd = -1;
	free(w->links.v);
	free(w->addrs.v);
	free(w->routes.v);
	free(w);
}

unsigned netwatch_resyncs(const struct netwatch *w)
{
	return w->resyncs;
}
