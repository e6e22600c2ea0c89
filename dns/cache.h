/* dns_cache — a bounded per-worker DNS answer cache that honours TTLs.
 * c-ares 1.18 has none.  Keys are (name, family), names compared without
 * case and without a trailing dot.  LRU eviction when full.  Pure: the
 * caller passes the clock. */
#ifndef SOCKS64_DNS_CACHE_H
#define SOCKS64_DNS_CACHE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_MAX_ADDRS 8
#define DNS_NAME_MAX 253 /* presentation form, without the trailing dot (RFC 1035 2.3.4) */

enum dns_status {
	DNS_OK = 0, /* addrs[0..naddrs) */
	DNS_NODATA, /* the name exists but has no record of this family */
	DNS_NXDOMAIN, /* no such name */
	DNS_TIMEOUT, /* no answer from any server */
	DNS_FAIL, /* SERVFAIL, refused, malformed answer, out of memory */
};

union dns_addr {
	struct in_addr v4;
	struct in6_addr v6;
};

struct dns_answer {
	int family; /* AF_INET or AF_INET6 */
	enum dns_status status;
	uint8_t naddrs;
	uint32_t ttl; /* seconds, as cached */
	union dns_addr addrs[DNS_MAX_ADDRS];
};

struct dns_cache;

struct dns_cache *dns_cache_new(size_t max_entries);
void dns_cache_free(struct dns_cache *c);

/* Fresh answer for (name, family) at now_ms?  Copies it to *out (ttl set to
 * the seconds left) and marks the entry recently used. */
bool dns_cache_get(struct dns_cache *c, const char *name, int family, uint64_t now_ms,
		   struct dns_answer *out);
/* Store (replace) an answer valid for ttl_s seconds from now_ms.  Only
 * DNS_OK, DNS_NODATA and DNS_NXDOMAIN are worth caching; others are ignored. */
void dns_cache_put(struct dns_cache *c, const char *name, int family, uint64_t now_ms,
		   const struct dns_answer *a, uint32_t ttl_s);
size_t dns_cache_count(const struct dns_cache *c);

/* The key form of name: lower-cased, without a trailing dot, into out
 * (DNS_NAME_MAX + 1 bytes).  Returns its length, or -1 if name is empty or
 * too long.  Shared with the resolver so both agree on what "one name" is. */
int dns_name_canon(const char *name, char *out);

#endif
