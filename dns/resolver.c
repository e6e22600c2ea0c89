/* resolver — c-ares 1.18 driven by the worker's event loop.
 *
 * Objects:
 *  - resolver_lookup: one question (canonical name, family).  While c-ares
 *    owns it, it sits on r->pending, where later lookups of the same question
 *    join it (coalescing).  An answer that must not be delivered right away
 *    (a cache hit, or c-ares calling back from inside ares_query()) moves it to
 *    r->ready, which a zero-delay loop timer drains.  So callbacks never run
 *    from inside resolver_lookup().
 *  - resolver_req: what a resolver_query points to (q->pending): one waiter
 *    per family asked.  Cancelling unlinks the waiters and frees the req; the
 *    lookup lives on until c-ares answers (1.18 cannot cancel one query), and
 *    then only its answer is cached.
 *  - resolver_sock: one slot per c-ares socket, registered level-triggered
 *    with the loop.  Slots are reused, never freed before resolver_free(), so
 *    an event still queued for a closed slot finds valid memory (fd == -1).
 *
 * resolver_free() must not be called from inside a resolver callback. */
#include "resolver.h"

#include <ares.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"

struct resolver_lookup;
struct resolver_req;

struct resolver_waiter {
	struct resolver_waiter *next, **pprev;
	struct resolver_lookup *lk; /* NULL once answered or cancelled */
	struct resolver_req *req;
};

struct resolver_req {
	struct resolver_query *q;
	unsigned nwait; /* waiters still attached */
	struct resolver_waiter w[2];
};

struct resolver_lookup {
	struct resolver_lookup *next, **pprev; /* on r->pending or r->ready */
	struct resolver *r;
	struct resolver_waiter *waiters;
	int family;
	struct dns_answer ans;
	char name[DNS_NAME_MAX + 1]; /* canonical */
};

struct resolver_sock {
	struct loop_io io; /* io.fd: our duplicate of fd, -1 when the slot is free */
	ares_socket_t fd; /* c-ares' own socket, given back to ares_process_fd() */
	uint32_t events;
	struct resolver *r;
};

struct resolver {
	struct loop *loop;
	ares_channel ch;
	struct dns_cache *cache; /* NULL: caching off */
	unsigned cache_max_ttl;
	unsigned negative_ttl;
	struct timer ares_tmr; /* ares_timeout() */
	struct timer ready_tmr; /* drains r->ready */
	struct resolver_lookup *pending;
	struct resolver_lookup *ready;
	struct resolver_sock **socks;
	size_t nsocks;
	bool submitting; /* inside ares_query(): answers must wait */
	bool channel_up; /* ares_init_options() succeeded */
};

static void resolver_list_add(struct resolver_lookup **head, struct resolver_lookup *lk)
{
	lk->next = *head;
	if (*head != NULL)
		(*head)->pprev = &lk->next;
	lk->pprev = head;
	*head = lk;
}

static void resolver_list_del(struct resolver_lookup *lk)
{
	if (lk->pprev == NULL)
		return;
	*lk->pprev = lk->next;
	if (lk->next != NULL)
		lk->next->pprev = lk->pprev;
	lk->next = NULL;
	lk->pprev = NULL;
}

static void resolver_waiter_add(struct resolver_lookup *lk, struct resolver_waiter *w)
{
	w->lk = lk;
	w->next = lk->waiters;
	if (lk->waiters != NULL)
		lk->waiters->pprev = &w->next;
	w->pprev = &lk->waiters;
	lk->waiters = w;
	w->req->nwait++;
}

static void resolver_waiter_del(struct resolver_waiter *w)
{
	*w->pprev = w->next;
	if (w->next != NULL)
		w->next->pprev = w->pprev;
	w->next = NULL;
	w->pprev = NULL;
	w->lk = NULL;
}

/* ---- loop glue: timers and sockets ---- */

static void resolver_arm(struct resolver *r)
{
	struct timeval tv, *tvp = ares_timeout(r->ch, NULL, &tv);

	if (tvp == NULL) {
		loop_timer_cancel(r->loop, &r->ares_tmr);
		return;
	}
	/* Round up so the timer never fires before c-ares considers the
	 * query late, which would only spin. */
	loop_timer_set(r->loop, &r->ares_tmr,
		       (uint64_t)tvp->tv_sec * 1000 + ((uint64_t)tvp->tv_usec + 999) / 1000);
}

static void resolver_ares_timer(struct timer *t)
{
	struct resolver *r = container_of(t, struct resolver, ares_tmr);

	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	resolver_arm(r);
}

static void resolver_sock_io(struct loop_io *io, uint32_t events)
{
	struct resolver_sock *s = container_of(io, struct resolver_sock, io);
	struct resolver *r = s->r;
	ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;

	/* Errors and hang-ups are surfaced by c-ares' own read. */
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		rfd = s->fd;
	if (events & EPOLLOUT)
		wfd = s->fd;
	ares_process_fd(r->ch, rfd, wfd);
	resolver_arm(r);
}

static struct resolver_sock *resolver_sock_find(struct resolver *r, ares_socket_t fd)
{
	for (size_t i = 0; i < r->nsocks; i++) {
		if (r->socks[i]->io.fd >= 0 && r->socks[i]->fd == fd)
			return r->socks[i];
	}
	return NULL;
}

static struct resolver_sock *resolver_sock_slot(struct resolver *r)
{
	struct resolver_sock **v, *s;

	for (size_t i = 0; i < r->nsocks; i++) {
		if (r->socks[i]->io.fd < 0)
			return r->socks[i];
	}
	v = realloc(r->socks, (r->nsocks + 1) * sizeof(*v));
	if (v == NULL)
		return NULL;
	r->socks = v;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->io.fd = -1;
	s->io.cb = resolver_sock_io;
	s->r = r;
	r->socks[r->nsocks++] = s;
	return s;
}

/* ARES_OPT_SOCK_STATE_CB: c-ares tells us which of its sockets want which
 * readiness; (0, 0) comes right before it closes one. */
static void resolver_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct resolver *r = data;
	struct resolver_sock *s = resolver_sock_find(r, fd);
	uint32_t events = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0);

	if (events == 0) {
		/* The loop owns (and closes) what it watches, c-ares closes
		 * its own socket: we watch a duplicate, so each side closes
		 * exactly one descriptor.  c-ares closes its one right after
		 * this call, which releases the socket and with it the epoll
		 * registration, before the loop waits again. */
		if (s != NULL) {
			loop_io_close(r->loop, &s->io);
			s->fd = ARES_SOCKET_BAD;
		}
		return;
	}
	if (s != NULL) {
		if (s->events == events)
			return;
		if (loop_io_mod(r->loop, &s->io, events) < 0)
			log_warn("resolver: epoll mod of DNS socket");
		else
			s->events = events;
		return;
	}
	s = resolver_sock_slot(r);
	if (s == NULL) {
		log_warnx("resolver: out of memory for a DNS socket");
		return;
	}
	s->io.fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (s->io.fd < 0) {
		log_warn("resolver: dup of DNS socket");
		return;
	}
	if (loop_io_add(r->loop, &s->io, events) < 0) {
		/* The query on it will time out; nothing better to do. */
		log_warn("resolver: epoll add of DNS socket");
		loop_io_close(r->loop, &s->io);
		return;
	}
	s->fd = fd;
	s->events = events;
}

/* ---- answers ---- */

static void resolver_deliver(struct resolver_lookup *lk)
{
	struct resolver_waiter *w;

	/* Take one waiter at a time off the head: a callback may cancel any
	 * other query, including ones still waiting here. */
	while ((w = lk->waiters) != NULL) {
		struct resolver_req *req = w->req;
		struct resolver_query *q = req->q;

		resolver_waiter_del(w);
		if (--req->nwait == 0) {
			/* Last family: q is the caller's again before the call,
			 * so the callback may free it or look up anew. */
			q->pending = NULL;
			free(req);
		}
		q->cb(q, &lk->ans);
	}
}

static void resolver_ready_timer(struct timer *t)
{
	struct resolver *r = container_of(t, struct resolver, ready_tmr);
	struct resolver_lookup *batch = r->ready, *lk;

	/* Lookups started by these callbacks go to a fresh list and wait
	 * for the next loop iteration. */
	r->ready = NULL;
	if (batch != NULL)
		batch->pprev = &batch;
	while ((lk = batch) != NULL) {
		resolver_list_del(lk);
		resolver_deliver(lk);
		free(lk);
	}
}

static void resolver_make_ready(struct resolver *r, struct resolver_lookup *lk)
{
	resolver_list_add(&r->ready, lk);
	loop_timer_set(r->loop, &r->ready_tmr, 0);
}

static enum dns_status resolver_status(int status)
{
	switch (status) {
	case ARES_SUCCESS:
		return DNS_OK;
	case ARES_ENODATA:
		return DNS_NODATA;
	case ARES_ENOTFOUND:
		return DNS_NXDOMAIN;
	case ARES_ETIMEOUT:
		return DNS_TIMEOUT;
	default:
		return DNS_FAIL;
	}
}

/* Fill lk->ans from a reply; returns the TTL to cache it for (0: don't). */
static uint32_t resolver_parse(struct resolver *r, struct resolver_lookup *lk, int status,
			       const unsigned char *abuf, int alen)
{
	struct dns_answer *a = &lk->ans;
	uint32_t ttl = UINT32_MAX;
	int n = DNS_MAX_ADDRS;

	a->status = resolver_status(status);
	if (a->status == DNS_OK) {
		if (lk->family == AF_INET) {
			struct ares_addrttl at[DNS_MAX_ADDRS];

			status = ares_parse_a_reply(abuf, alen, NULL, at, &n);
			for (int i = 0; status == ARES_SUCCESS && i < n; i++) {
				a->addrs[i].v4 = at[i].ipaddr;
				ttl = at[i].ttl >= 0 && (uint32_t)at[i].ttl < ttl
					      ? (uint32_t)at[i].ttl
					      : ttl;
			}
		} else {
			struct ares_addr6ttl at[DNS_MAX_ADDRS];

			status = ares_parse_aaaa_reply(abuf, alen, NULL, at, &n);
			for (int i = 0; status == ARES_SUCCESS && i < n; i++) {
				memcpy(&a->addrs[i].v6, &at[i].ip6addr, sizeof(a->addrs[i].v6));
				ttl = at[i].ttl >= 0 && (uint32_t)at[i].ttl < ttl
					      ? (uint32_t)at[i].ttl
					      : ttl;
			}
		}
		if (status != ARES_SUCCESS)
			n = 0;
		/* An answer of only CNAMEs (or of another type) is NODATA. */
		a->status = status == ARES_SUCCESS || status == ARES_ENODATA
				    ? (n > 0 ? DNS_OK : DNS_NODATA)
				    : DNS_FAIL;
		a->naddrs = a->status == DNS_OK ? (uint8_t)n : 0;
	}
	switch (a->status) {
	case DNS_OK:
		if (ttl > r->cache_max_ttl)
			ttl = r->cache_max_ttl;
		if (ttl < 1)
			ttl = 1;
		break;
	case DNS_NODATA:
	case DNS_NXDOMAIN:
		ttl = r->negative_ttl;
		break;
	default:
		ttl = 0;
		break;
	}
	a->ttl = ttl;
	return ttl;
}

static void resolver_ares_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct resolver_lookup *lk = arg;
	struct resolver *r = lk->r;
	uint32_t ttl;

	(void)timeouts;
	resolver_list_del(lk);
	if (status == ARES_EDESTRUCTION) {
		/* resolver_free(): callers were detached before. */
		free(lk);
		return;
	}
	ttl = resolver_parse(r, lk, status, abuf, alen);
	log_debug("resolver: %s %s: %s (%u addresses, ttl %u)", lk->name,
		  lk->family == AF_INET ? "A" : "AAAA", ares_strerror(status), lk->ans.naddrs, ttl);
	if (r->cache != NULL && ttl > 0)
		dns_cache_put(r->cache, lk->name, lk->family, loop_now(r->loop), &lk->ans, ttl);
	if (r->submitting) {
		resolver_make_ready(r, lk);
		return;
	}
	resolver_deliver(lk);
	free(lk);
}

/* ---- lookups ---- */

static struct resolver_lookup *resolver_lookup_new(struct resolver *r, const char *canon,
						   int family)
{
	struct resolver_lookup *lk = calloc(1, sizeof(*lk));

	if (lk == NULL)
		return NULL;
	lk->r = r;
	lk->family = family;
	lk->ans.family = family;
	strcpy(lk->name, canon);
	return lk;
}

static int resolver_attach(struct resolver *r, struct resolver_waiter *w, const char *name,
			   int family)
{
	char canon[DNS_NAME_MAX + 1];
	struct resolver_lookup *lk;
	bool saved;

	if (dns_name_canon(name, canon) < 0) {
		/* Not a name DNS can carry: answered like c-ares would. */
		lk = resolver_lookup_new(r, "", family);
		if (lk == NULL)
			return -1;
		lk->ans.status = DNS_FAIL;
		resolver_waiter_add(lk, w);
		resolver_make_ready(r, lk);
		return 0;
	}
	for (lk = r->pending; lk != NULL; lk = lk->next) {
		if (lk->family == family && strcmp(lk->name, canon) == 0) {
			resolver_waiter_add(lk, w);
			return 0;
		}
	}
	lk = resolver_lookup_new(r, canon, family);
	if (lk == NULL)
		return -1;
	resolver_waiter_add(lk, w);
	if (r->cache != NULL &&
	    dns_cache_get(r->cache, canon, family, loop_now(r->loop), &lk->ans)) {
		resolver_make_ready(r, lk);
		return 0;
	}
	resolver_list_add(&r->pending, lk);
	/* The name is taken as given, without search domains: a SOCKS
	 * destination name is fully qualified (RFC 1928 section 5). */
	saved = r->submitting;
	r->submitting = true;
	ares_query(r->ch, canon, ns_c_in, family == AF_INET ? ns_t_a : ns_t_aaaa, resolver_ares_cb,
		   lk);
	r->submitting = saved;
	resolver_arm(r);
	return 0;
}

int resolver_lookup(struct resolver *r, struct resolver_query *q, const char *name, int families)
{
	struct resolver_req *req;
	/* AAAA first (RFC 8305 section 3). */
	static const int order[2][2] = {{RESOLVE_V6, AF_INET6}, {RESOLVE_V4, AF_INET}};
	unsigned used = 0;

	if (q->pending != NULL)
		resolver_cancel(r, q);
	if ((families & (RESOLVE_V4 | RESOLVE_V6)) == 0) {
		errno = EINVAL;
		return -1;
	}
	req = calloc(1, sizeof(*req));
	if (req == NULL)
		return -1;
	req->q = q;
	q->pending = req;
	for (size_t i = 0; i < 2; i++) {
		if (!(families & order[i][0]))
			continue;
		req->w[used].req = req;
		if (resolver_attach(r, &req->w[used], name, order[i][1]) < 0) {
			resolver_cancel(r, q);
			errno = ENOMEM;
			return -1;
		}
		used++;
	}
	return 0;
}

void resolver_cancel(struct resolver *r, struct resolver_query *q)
{
	struct resolver_req *req = q->pending;

	(void)r;
	if (req == NULL)
		return;
	for (size_t i = 0; i < 2; i++) {
		if (req->w[i].lk != NULL)
			resolver_waiter_del(&req->w[i]);
	}
	q->pending = NULL;
	free(req);
}

bool resolver_cached(struct resolver *r, const char *name, int family, struct dns_answer *out)
{
	if (r->cache == NULL)
		return false;
	return dns_cache_get(r->cache, name, family, loop_now(r->loop), out);
}

/* ---- life cycle ---- */

struct resolver *resolver_new(struct loop *loop, const struct resolver_opts *o)
{
	struct resolver *r = calloc(1, sizeof(*r));
	struct ares_options ao;
	int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_FLAGS;
	int rc;

	if (r == NULL)
		return NULL;
	r->loop = loop;
	r->ares_tmr.cb = resolver_ares_timer;
	r->ready_tmr.cb = resolver_ready_timer;
	r->cache_max_ttl = o->cache_max_ttl;
	r->negative_ttl = o->negative_ttl;
	if (o->cache_size > 0) {
		r->cache = dns_cache_new(o->cache_size);
		if (r->cache == NULL)
			goto fail;
	}
	memset(&ao, 0, sizeof(ao));
	ao.sock_state_cb = resolver_sock_state;
	ao.sock_state_cb_data = r;
	/* No search list and no HOSTALIASES: names are queried as given. */
	ao.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	if (o->timeout_ms > 0) {
		ao.timeout = (int)o->timeout_ms;
		mask |= ARES_OPT_TIMEOUTMS;
	}
	if (o->tries > 0) {
		ao.tries = (int)o->tries;
		mask |= ARES_OPT_TRIES;
	}
	rc = ares_init_options(&r->ch, &ao, mask);
	if (rc != ARES_SUCCESS) {
		log_warnx("resolver: c-ares init: %s", ares_strerror(rc));
		goto fail;
	}
	r->channel_up = true;
	if (o->servers != NULL && o->servers[0] != '\0') {
		rc = ares_set_servers_ports_csv(r->ch, o->servers);
		if (rc != ARES_SUCCESS) {
			log_warnx("resolver: nameservers \"%s\": %s", o->servers,
				  ares_strerror(rc));
			goto fail;
		}
	}
	return r;
fail:
	resolver_free(r);
	return NULL;
}

static void resolver_detach_all(struct resolver_lookup *head)
{
	for (struct resolver_lookup *lk = head; lk != NULL; lk = lk->next) {
		while (lk->waiters != NULL) {
			struct resolver_req *req = lk->waiters->req;

			req->q->pending = NULL;
			for (size_t i = 0; i < 2; i++) {
				if (req->w[i].lk != NULL)
					resolver_waiter_del(&req->w[i]);
			}
			free(req);
		}
	}
}

void resolver_free(struct resolver *r)
{
	struct resolver_lookup *lk;

	if (r == NULL)
		return;
	/* Nobody hears about the end: detach every caller first, so the
	 * ARES_EDESTRUCTION callbacks find no waiters. */
	resolver_detach_all(r->pending);
	resolver_detach_all(r->ready);
	while ((lk = r->ready) != NULL) {
		resolver_list_del(lk);
		free(lk);
	}
	if (r->channel_up)
		ares_destroy(r->ch);
	loop_timer_cancel(r->loop, &r->ares_tmr);
	loop_timer_cancel(r->loop, &r->ready_tmr);
	for (size_t i = 0; i < r->nsocks; i++) {
		loop_io_close(r->loop, &r->socks[i]->io);
		free(r->socks[i]);
	}
	free(r->socks);
	dns_cache_free(r->cache);
	free(r);
}
