/* dns_cache — chained hash table keyed by (canonical name, family) plus an
 * intrusive LRU list.  Entries are allocated on put only; get never
 * allocates.  Expired entries are dropped when they are looked at, or fall
 * off the LRU end when the table is full. */
#include "cache.h"

#include <stdlib.h>
#include <string.h>

struct dns_cache_entry {
	struct dns_cache_entry *hnext; /* hash chain */
	struct dns_cache_entry *newer, *older; /* LRU list */
	uint64_t expires_ms;
	uint32_t hash;
	int family;
	struct dns_answer ans;
	size_t namelen;
	char name[]; /* canonical, NUL-terminated */
};

struct dns_cache {
	struct dns_cache_entry **buckets;
	size_t mask; /* buckets - 1, a power of two minus one */
	size_t count;
	size_t max;
	struct dns_cache_entry *newest, *oldest;
};

int dns_name_canon(const char *name, char *out)
{
	size_t len = strlen(name);

	/* One trailing dot marks an absolute name; "x.test." and "x.test"
	 * are the same name (RFC 1034 3.1). */
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > DNS_NAME_MAX)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		/* ASCII-only case folding: DNS compares labels without case
		 * for A-Z only (RFC 4343 3). */
		out[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : (char)ch;
	}
	out[len] = '\0';
	return (int)len;
}

/* FNV-1a over the canonical name, with the family folded in. */
static uint32_t dns_cache_hash(const char *canon, size_t len, int family)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)canon[i];
		h *= 16777619u;
	}
	h ^= (uint32_t)family;
	h *= 16777619u;
	return h;
}

struct dns_cache *dns_cache_new(size_t max_entries)
{
	struct dns_cache *c;
	size_t nb = 16;

	if (max_entries == 0)
		max_entries = 1;
	/* Load factor at most 1 when full keeps chains short. */
	while (nb < max_entries)
		nb <<= 1;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->buckets = calloc(nb, sizeof(*c->buckets));
	if (c->buckets == NULL) {
		free(c);
		return NULL;
	}
	c->mask = nb - 1;
	c->max = max_entries;
	return c;
}

void dns_cache_free(struct dns_cache *c)
{
	struct dns_cache_entry *e, *next;

	if (c == NULL)
		return;
	for (e = c->newest; e != NULL; e = next) {
		next = e->older;
		free(e);
	}
	free(c->buckets);
	free(c);
}

size_t dns_cache_count(const struct dns_cache *c)
{
	return c->count;
}

static struct dns_cache_entry *dns_cache_find(const struct dns_cache *c, const char *canon,
					      size_t len, int family, uint32_t hash)
{
	struct dns_cache_entry *e;

	for (e = c->buckets[hash & c->mask]; e != NULL; e = e->hnext) {
		if (e->hash == hash && e->family == family && e->namelen == len &&
		    memcmp(e->name, canon, len) == 0)
			return e;
	}
	return NULL;
}

static void dns_cache_lru_unlink(struct dns_cache *c, struct dns_cache_entry *e)
{
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void dns_cache_lru_push(struct dns_cache *c, struct dns_cache_entry *e)
{
	e->newer = NULL;
	e->older = c->newest;
	if (c->newest != NULL)
		c->newest->newer = e;
	else
		c->oldest = e;
	c->newest = e;
}

static void dns_cache_remove(struct dns_cache *c, struct dns_cache_entry *e)
{
	struct dns_cache_entry **pp = &c->buckets[e->hash & c->mask];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	dns_cache_lru_unlink(c, e);
	c->count--;
	free(e);
}

bool dns_cache_get(struct dns_cache *c, const char *name, int family, uint64_t now_ms,
		   struct dns_answer *out)
{
	char canon[DNS_NAME_MAX + 1];
	struct dns_cache_entry *e;
	int len = dns_name_canon(name, canon);

	if (len < 0)
		return false;
	e = dns_cache_find(c, canon, (size_t)len, family,
			   dns_cache_hash(canon, (size_t)len, family));
	if (e == NULL)
		return false;
	if (now_ms >= e->expires_ms) {
		dns_cache_remove(c, e);
		return false;
	}
	*out = e->ans;
	/* Round up: an entry is never reported with 0 s left while fresh. */
	out->ttl = (uint32_t)((e->expires_ms - now_ms + 999) / 1000);
	dns_cache_lru_unlink(c, e);
	dns_cache_lru_push(c, e);
	return true;
}

void dns_cache_put(struct dns_cache *c, const char *name, int family, uint64_t now_ms,
		   const struct dns_answer *a, uint32_t ttl_s)
{
	char canon[DNS_NAME_MAX + 1];
	struct dns_cache_entry *e;
	uint32_t hash;
	int len;

	/* Timeouts and failures say nothing about the name: never cached. */
	if (a->status != DNS_OK && a->status != DNS_NODATA && a->status != DNS_NXDOMAIN)
		return;
	if (ttl_s == 0)
		return;
	len = dns_name_canon(name, canon);
	if (len < 0)
		return;
	hash = dns_cache_hash(canon, (size_t)len, family);
	e = dns_cache_find(c, canon, (size_t)len, family, hash);
	if (e != NULL) {
		dns_cache_lru_unlink(c, e);
	} else {
		if (c->count >= c->max)
			dns_cache_remove(c, c->oldest);
		e = malloc(sizeof(*e) + (size_t)len + 1);
		if (e == NULL)
			return;
		memcpy(e->name, canon, (size_t)len + 1);
		e->namelen = (size_t)len;
		e->hash = hash;
		e->family = family;
		e->hnext = c->buckets[hash & c->mask];
		c->buckets[hash & c->mask] = e;
		c->count++;
	}
	e->ans = *a;
	e->ans.family = family;
	if (e->ans.status != DNS_OK || e->ans.naddrs > DNS_MAX_ADDRS)
		e->ans.naddrs = e->ans.status == DNS_OK ? DNS_MAX_ADDRS : 0;
	e->ans.ttl = ttl_s;
	e->expires_ms = now_ms + (uint64_t)ttl_s * 1000;
	dns_cache_lru_push(c, e);
}
