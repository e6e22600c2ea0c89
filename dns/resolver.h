/* resolver — asynchronous name resolution with c-ares on a worker's loop.
 *
 * One c-ares channel per worker; its sockets are registered with the loop
 * through ARES_OPT_SOCK_STATE_CB, readiness is fed to ares_process_fd() and
 * ares_timeout() drives a loop timer (nothing newer than c-ares 1.18).  A and
 * AAAA are asked at once and answered separately, so Happy Eyeballs can start
 * on the first answer (RFC 8305 §3).  Concurrent lookups of one name share
 * one query; answers are cached per worker with their TTLs. */
#ifndef SOCKS64_RESOLVER_H
#define SOCKS64_RESOLVER_H

#include <stdbool.h>

#include "cache.h"

struct loop;
struct resolver;

struct resolver_opts {
	const char *servers; /* c-ares CSV of servers (with ports), NULL: /etc/resolv.conf */
	unsigned timeout_ms; /* per try */
	unsigned tries;
	unsigned cache_size; /* 0: no cache */
	unsigned cache_max_ttl; /* seconds */
	unsigned negative_ttl; /* seconds, for NXDOMAIN/NODATA */
};

/* Families to ask for. */
#define RESOLVE_V4 0x1
#define RESOLVE_V6 0x2

/* Embedded in the caller.  cb runs once per family asked, never from inside
 * resolver_lookup().  `a` is valid only during the call. */
struct resolver_query {
	void (*cb)(struct resolver_query *q, const struct dns_answer *a);
	void *pending; /* resolver-internal */
};

struct resolver *resolver_new(struct loop *loop, const struct resolver_opts *o);
void resolver_free(struct resolver *r);

/* From the cache only, synchronously: true and *out filled if a fresh
 * answer for (name, family) is cached. */
bool resolver_cached(struct resolver *r, const char *name, int family, struct dns_answer *out);

/* Start resolving name for the families in `families`.  Returns 0, or -1 if
 * the lookup could not be started (out of memory). */
int resolver_lookup(struct resolver *r, struct resolver_query *q, const char *name, int families);

/* Stop delivering answers to q (safe when nothing is pending). */
void resolver_cancel(struct resolver *r, struct resolver_query *q);

#endif
