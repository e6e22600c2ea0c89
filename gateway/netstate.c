/* netstate — snapshots of the gateway's own network; see netstate.h. */
#include "netstate.h"

#include <ifaddrs.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* An output link must be up and have carrier: the kernel keeps IPv4 routes
 * over a link without carrier, but nothing sent there arrives. */
#define NETSTATE_ROUTE_LINK (IFF_UP | IFF_RUNNING)

struct netstate *netstate_scan(void)
{
	struct ifaddrs *ifa, *i;
	struct netstate *n = calloc(1, sizeof(*n));
	size_t cap = 0;

	if (n == NULL)
		return NULL;
	n->refs = 1;
	if (getifaddrs(&ifa) < 0) {
		free(n);
		return NULL;
	}
	for (i = ifa; i != NULL; i = i->ifa_next) {
		size_t len;

		if (i->ifa_addr == NULL)
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			len = sizeof(struct sockaddr_in);
		else if (i->ifa_addr->sa_family == AF_INET6)
			len = sizeof(struct sockaddr_in6);
		else
			continue;
		if (n->nlocal == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct sockaddr_storage *v = realloc(n->local, ncap * sizeof(*v));

			if (v == NULL)
				break; /* a shorter list still protects what it lists */
			n->local = v;
			cap = ncap;
		}
		memset(&n->local[n->nlocal], 0, sizeof(n->local[0]));
		memcpy(&n->local[n->nlocal++], i->ifa_addr, len);
	}
	freeifaddrs(ifa);
	return n;
}

/* malloc'ed copy of an array; *out NULL for an empty one. */
static int netstate_dup(void **out, const void *src, size_t count, size_t size)
{
	*out = NULL;
	if (count == 0)
		return 0;
	*out = malloc(count * size);
	if (*out == NULL)
		return -1;
	memcpy(*out, src, count * size);
	return 0;
}

static int netstate_route_cmp(const void *a, const void *b)
{
	const struct netstate_route *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->dst_len != y->dst_len)
		return x->dst_len > y->dst_len ? -1 : 1;
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return 0;
}

static void netstate_fill_local(struct netstate *n)
{
	for (size_t i = 0; i < n->naddrs; i++) {
		const struct netstate_addr *a = &n->addrs[i];
		struct sockaddr_storage *ss = &n->local[n->nlocal];

		memset(ss, 0, sizeof(*ss));
		if (a->family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)ss;

			sin->sin_family = AF_INET;
			memcpy(&sin->sin_addr, a->addr, 4);
		} else if (a->family == AF_INET6) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

			sin6->sin6_family = AF_INET6;
			memcpy(&sin6->sin6_addr, a->addr, 16);
			if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr))
				sin6->sin6_scope_id = a->ifindex;
		} else {
			continue;
		}
		n->nlocal++;
	}
}

struct netstate *netstate_build(const struct netstate_link *links, size_t nlinks,
				const struct netstate_addr *addrs, size_t naddrs,
				const struct netstate_route *routes, size_t nroutes)
{
	struct netstate *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->refs = 1;
	n->known = true;
	if (netstate_dup((void **)&n->links, links, nlinks, sizeof(*links)) < 0 ||
	    netstate_dup((void **)&n->addrs, addrs, naddrs, sizeof(*addrs)) < 0 ||
	    netstate_dup((void **)&n->routes, routes, nroutes, sizeof(*routes)) < 0)
		goto fail;
	n->nlinks = nlinks;
	n->naddrs = naddrs;
	n->nroutes = nroutes;
	if (nroutes > 1)
		qsort(n->routes, nroutes, sizeof(*n->routes), netstate_route_cmp);
	if (naddrs > 0) {
		n->local = calloc(naddrs, sizeof(*n->local));
		if (n->local == NULL)
			goto fail;
		netstate_fill_local(n);
	}
	return n;
fail:
	netstate_unref(n);
	return NULL;
}

struct netstate *netstate_ref(struct netstate *n)
{
	if (n != NULL)
		__atomic_add_fetch(&n->refs, 1, __ATOMIC_RELAXED);
	return n;
}

void netstate_unref(struct netstate *n)
{
	if (n == NULL || __atomic_sub_fetch(&n->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	free(n->local);
	free(n->links);
	free(n->addrs);
	free(n->routes);
	free(n);
}

/* 16-byte form: IPv4 as v4-mapped, so one comparison serves both. */
static bool netstate_key(const struct sockaddr *sa, struct in6_addr *out)
{
	if (sa->sa_family == AF_INET) {
		memset(out, 0, sizeof(*out));
		out->s6_addr[10] = out->s6_addr[11] = 0xff;
		memcpy(&out->s6_addr[12], &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		*out = ((const struct sockaddr_in6 *)sa)->sin6_addr;
		return true;
	}
	return false;
}

bool netstate_is_local(const struct netstate *n, const struct sockaddr *sa)
{
	struct in6_addr a, b;

	if (n == NULL || !netstate_key(sa, &a))
		return false;
	for (size_t i = 0; i < n->nlocal; i++)
		if (netstate_key((const struct sockaddr *)&n->local[i], &b) &&
		    memcmp(&a, &b, sizeof(a)) == 0)
			return true;
	return false;
}

/* The destination as (family, bytes in the tables' layout); v4-mapped
 * becomes IPv4.  False for other families. */
static bool netstate_dst(const struct sockaddr *sa, int *family, uint8_t out[16])
{
	memset(out, 0, 16);
	if (sa->sa_family == AF_INET) {
		*family = AF_INET;
		memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			*family = AF_INET;
			memcpy(out, &a6->s6_addr[12], 4);
		} else {
			*family = AF_INET6;
			memcpy(out, a6, 16);
		}
		return true;
	}
	return false;
}

/* Do the first len bits of a and b agree? */
static bool netstate_prefix_eq(const uint8_t *a, const uint8_t *b, unsigned len)
{
	unsigned bytes = len / 8, bits = len % 8;

	if (memcmp(a, b, bytes) != 0)
		return false;
	if (bits == 0)
		return true;
	return ((a[bytes] ^ b[bytes]) & (uint8_t)(0xff00 >> bits)) == 0;
}

static bool netstate_is_linklocal(int family, const uint8_t *a, unsigned len)
{
	static const uint8_t ll4[4] = {169, 254, 0, 0}, ll6[16] = {0xfe, 0x80};

	if (family == AF_INET)
		return len >= 16 && netstate_prefix_eq(a, ll4, 16);
	return len >= 10 && netstate_prefix_eq(a, ll6, 10);
}

/* Does link ifindex have every flag of need?  A link the snapshot does not
 * list (or ifindex 0) is not held against anything. */
static bool netstate_link_ok(const struct netstate *n, uint32_t ifindex, uint32_t need)
{
	if (ifindex == 0)
		return true;
	for (size_t i = 0; i < n->nlinks; i++)
		if (n->links[i].ifindex == ifindex)
			return (n->links[i].flags & need) == need;
	return true;
}

static bool netstate_route_positive(const struct netstate_route *r)
{
	return r->type == RTN_UNICAST || r->type == RTN_LOCAL;
}

/* Longest-prefix match (then lowest metric) over routes whose link works;
 * the sort order makes the first hit the best one. */
static const struct netstate_route *netstate_lookup(const struct netstate *n, int family,
						    const uint8_t *a)
{
	unsigned max = family == AF_INET ? 32 : 128;

	for (size_t i = 0; i < n->nroutes; i++) {
		const struct netstate_route *r = &n->routes[i];

		if (r->family != family || r->dst_len > max ||
		    !netstate_prefix_eq(a, r->dst, r->dst_len))
			continue;
		if (!netstate_link_ok(n, r->oif, NETSTATE_ROUTE_LINK))
			continue;
		return r;
	}
	return NULL;
}

/* A usable source address of family: not tentative or DAD-failed (RFC 4862
 * §5.4: a tentative address is not yet assigned), global scope (or link
 * scope when link_scope_ok), on a link that is up. */
static bool netstate_has_source(const struct netstate *n, int family, bool link_scope_ok)
{
	for (size_t i = 0; i < n->naddrs; i++) {
		const struct netstate_addr *a = &n->addrs[i];

		if (a->family != family || (a->flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)))
			continue;
		if (a->scope != RT_SCOPE_UNIVERSE && !(link_scope_ok && a->scope == RT_SCOPE_LINK))
			continue;
		if (!link_scope_ok && netstate_is_linklocal(family, a->addr, 128))
			continue;
		if (netstate_link_ok(n, a->ifindex, IFF_UP))
			return true;
	}
	return false;
}

static bool netstate_is_loopback(int family, const uint8_t *a)
{
	static const uint8_t lo6[16] = {[15] = 1};

	if (family == AF_INET)
		return a[0] == 127;
	return memcmp(a, lo6, 16) == 0;
}

bool netstate_reachable(const struct netstate *n, const struct sockaddr *dst)
{
	const struct netstate_route *r;
	uint8_t a[16];
	int family;

	if (n == NULL || !n->known || !netstate_dst(dst, &family, a))
		return true;
	/* Loopback and the gateway's own addresses live in the local table,
	 * which the snapshot does not keep. */
	if (netstate_is_loopback(family, a) || netstate_is_local(n, dst))
		return true;
	r = netstate_lookup(n, family, a);
	if (r == NULL || !netstate_route_positive(r))
		return false;
	return netstate_has_source(n, family,
				   family == AF_INET6 && netstate_is_linklocal(family, a, 128));
}

bool netstate_family_usable(const struct netstate *n, int family)
{
	if (n == NULL || !n->known)
		return true;
	if (!netstate_has_source(n, family, false))
		return false;
	for (size_t i = 0; i < n->nroutes; i++) {
		const struct netstate_route *r = &n->routes[i];

		if (r->family == family && netstate_route_positive(r) &&
		    !netstate_is_linklocal(family, r->dst, r->dst_len) &&
		    netstate_link_ok(n, r->oif, NETSTATE_ROUTE_LINK))
			return true;
	}
	return false;
}

size_t netstate_count_routes(const struct netstate *n, int family)
{
	size_t c = 0;

	for (size_t i = 0; n != NULL && i < n->nroutes; i++)
		c += n->routes[i].family == family;
	return c;
}
