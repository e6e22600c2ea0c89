/* netstate — snapshot of the gateway's own addresses; see netstate.h. */
#include "netstate.h"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

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
