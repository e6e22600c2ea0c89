/* synth_table — synthetic address map in a caller-provided region (see
 * synth_table.h for the layout and the address scheme). */
#include "synth_table.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SYNTH_NIL UINT32_MAX

/* Everything up to and including checksum is fixed at init and covered by
 * the checksum; the rest changes with every assignment. */
struct synth_hdr {
	uint32_t magic;
	uint32_t version;
	uint32_t hdr_size;
	uint32_t slot_size;
	uint64_t total_size;
	uint32_t capacity;
	uint32_t nbuckets;
	uint32_t seed;
	uint32_t quarantine;
	struct in6_addr v6_net;
	struct in_addr v4_net;
	uint8_t v4_plen;
	uint8_t v6_plen;
	uint8_t pad[2];
	uint32_t checksum;
	/* mutable part */
	uint32_t generation;
	uint32_t count; /* slots [0, count) are in use; slots are never freed, only recycled */
	uint32_t lru_head; /* most recently used */
	uint32_t lru_tail; /* least recently used */
	uint32_t pad2;
};

struct synth_slot {
	uint32_t hnext; /* next slot in the same name bucket */
	uint32_t lru_prev;
	uint32_t lru_next;
	uint32_t hash;
	uint64_t created;
	uint64_t last_use;
	uint8_t namelen;
	char name[SYNTH_NAME_MAX + 1];
};

#define SYNTH_ALIGN(n) (((n) + 7u) & ~(size_t)7u)

static struct synth_slot *synth_slots(struct synth_hdr *h)
{
	return (struct synth_slot *)((char *)h + h->hdr_size);
}

static const struct synth_slot *synth_slots_c(const struct synth_hdr *h)
{
	return (const struct synth_slot *)((const char *)h + h->hdr_size);
}

static uint32_t *synth_buckets(struct synth_hdr *h)
{
	return (uint32_t *)((char *)synth_slots(h) + (size_t)h->capacity * h->slot_size);
}

static const uint32_t *synth_buckets_c(const struct synth_hdr *h)
{
	return (const uint32_t *)((const char *)synth_slots_c(h) +
				  (size_t)h->capacity * h->slot_size);
}

static void synth_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* FNV-1a: cheap, and good enough for short names. */
static uint32_t synth_fnv(uint32_t h, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

static uint32_t synth_name_hash(const struct synth_hdr *h, const char *name, size_t len)
{
	return synth_fnv(2166136261u ^ h->seed, name, len);
}

static uint32_t synth_hdr_checksum(const struct synth_hdr *h)
{
	return synth_fnv(2166136261u, h, offsetof(struct synth_hdr, checksum));
}

/* Usable addresses of each pool: every host offset but 0. */
static uint64_t synth_v4_count(uint8_t plen)
{
	return (UINT64_C(1) << (32 - plen)) - 1;
}

static uint64_t synth_v6_count(uint8_t plen)
{
	if (plen == 64)
		return UINT64_MAX;
	return (UINT64_C(1) << (128 - plen)) - 1;
}

static uint64_t synth_v6_low(const struct in6_addr *a)
{
	uint64_t v = 0;

	for (int i = 8; i < 16; i++)
		v = v << 8 | a->s6_addr[i];
	return v;
}

/* The first plen bits of a and net are equal. */
static bool synth_v6_match(const struct in6_addr *a, const struct in6_addr *net, uint8_t plen)
{
	size_t full = plen / 8;
	uint8_t mask;

	if (memcmp(a->s6_addr, net->s6_addr, full) != 0)
		return false;
	if (plen % 8 == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - plen % 8));
	return (a->s6_addr[full] & mask) == (net->s6_addr[full] & mask);
}

static bool synth_v4_match(const struct in_addr *a, const struct in_addr *net, uint8_t plen)
{
	uint32_t mask = plen ? UINT32_MAX << (32 - plen) : 0;

	return (ntohl(a->s_addr) & mask) == (ntohl(net->s_addr) & mask);
}

void synth_table_config_default(struct synth_table_config *c)
{
	memset(c, 0, sizeof(*c));
	c->v4_net.s_addr = htonl(0x00000000u);
	c->v4_plen = 8;
	c->v6_net.s6_addr[0] = 0x01; /* 100:: */
	c->v6_plen = 64;
	c->capacity = SYNTH_CAPACITY_DEFAULT;
	c->quarantine = SYNTH_QUARANTINE_DEFAULT;
}

int synth_table_config_check(const struct synth_table_config *c, char *why, size_t whylen)
{
	struct in6_addr z6;

	if (c->v4_plen < 8 || c->v4_plen > 30) {
		synth_why(why, whylen, "IPv4 pool prefix length %u not in 8..30", c->v4_plen);
		return -1;
	}
	if ((ntohl(c->v4_net.s_addr) & ~(UINT32_MAX << (32 - c->v4_plen))) != 0) {
		synth_why(why, whylen, "IPv4 pool has host bits set");
		return -1;
	}
	if (c->v6_plen < 64 || c->v6_plen > 126) {
		synth_why(why, whylen, "IPv6 pool prefix length %u not in 64..126", c->v6_plen);
		return -1;
	}
	/* Host bits of the v6 pool must be zero: compare with a copy masked to plen. */
	memset(&z6, 0, sizeof(z6));
	memcpy(z6.s6_addr, c->v6_net.s6_addr, c->v6_plen / 8);
	if (c->v6_plen % 8)
		z6.s6_addr[c->v6_plen / 8] =
			c->v6_net.s6_addr[c->v6_plen / 8] & (uint8_t)(0xff << (8 - c->v6_plen % 8));
	if (memcmp(&z6, &c->v6_net, sizeof(z6)) != 0) {
		synth_why(why, whylen, "IPv6 pool has host bits set");
		return -1;
	}
	if (c->capacity < 1 || c->capacity > SYNTH_CAPACITY_MAX) {
		synth_why(why, whylen, "capacity %u not in 1..%u", c->capacity, SYNTH_CAPACITY_MAX);
		return -1;
	}
	return 0;
}

static uint32_t synth_effective_capacity(const struct synth_table_config *c)
{
	uint64_t cap = c->capacity;

	if (synth_v4_count(c->v4_plen) < cap)
		cap = synth_v4_count(c->v4_plen);
	if (synth_v6_count(c->v6_plen) < cap)
		cap = synth_v6_count(c->v6_plen);
	return (uint32_t)cap;
}

static uint32_t synth_nbuckets(uint32_t capacity)
{
	uint32_t n = 16;

	while (n < capacity)
		n <<= 1;
	return n;
}

size_t synth_table_size(const struct synth_table_config *c)
{
	uint32_t cap;

	if (synth_table_config_check(c, NULL, 0) < 0)
		return 0;
	cap = synth_effective_capacity(c);
	return SYNTH_ALIGN(sizeof(struct synth_hdr)) + (size_t)cap * sizeof(struct synth_slot) +
	       (size_t)synth_nbuckets(cap) * sizeof(uint32_t);
}

int synth_table_init(void *mem, size_t len, const struct synth_table_config *c, uint32_t seed)
{
	struct synth_hdr *h = mem;
	size_t need = synth_table_size(c);
	uint32_t *b;

	if (need == 0 || len < need || ((uintptr_t)mem & 7u) != 0) {
		errno = EINVAL;
		return -1;
	}
	memset(mem, 0, need);
	h->magic = SYNTH_TABLE_MAGIC;
	h->version = SYNTH_TABLE_VERSION;
	h->hdr_size = (uint32_t)SYNTH_ALIGN(sizeof(struct synth_hdr));
	h->slot_size = sizeof(struct synth_slot);
	h->total_size = need;
	h->capacity = synth_effective_capacity(c);
	h->nbuckets = synth_nbuckets(h->capacity);
	h->seed = seed;
	h->quarantine = c->quarantine;
	h->v4_net = c->v4_net;
	h->v4_plen = c->v4_plen;
	h->v6_net = c->v6_net;
	h->v6_plen = c->v6_plen;
	h->checksum = synth_hdr_checksum(h);
	h->lru_head = SYNTH_NIL;
	h->lru_tail = SYNTH_NIL;
	b = synth_buckets(h);
	for (uint32_t i = 0; i < h->nbuckets; i++)
		b[i] = SYNTH_NIL;
	return 0;
}

int synth_table_canon_name(const char *name, size_t len, char out[SYNTH_NAME_MAX + 1])
{
	if (len > 0 && name[len - 1] == '.')
		len--;
	/* One trailing dot at most: "a.." would canonicalise to a name that
	 * is not canonical itself. */
	if (len == 0 || len > SYNTH_NAME_MAX || name[len - 1] == '.')
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch <= 0x20 || ch >= 0x7f)
			return -1;
		out[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch);
	}
	out[len] = '\0';
	return (int)len;
}

/* Addresses of a slot. */
static void synth_slot_v4(const struct synth_hdr *h, uint32_t slot, struct in_addr *a)
{
	uint64_t n = synth_v4_count(h->v4_plen);
	uint64_t off = 1 + ((uint64_t)h->seed + slot) % n;

	a->s_addr = htonl(ntohl(h->v4_net.s_addr) + (uint32_t)off);
}

static void synth_slot_v6(const struct synth_hdr *h, uint32_t slot, struct in6_addr *a)
{
	uint64_t n = synth_v6_count(h->v6_plen);
	uint64_t off = 1 + ((uint64_t)h->seed + slot) % n;
	uint64_t low = synth_v6_low(&h->v6_net) + off;

	*a = h->v6_net;
	for (int i = 15; i >= 8; i--) {
		a->s6_addr[i] = (uint8_t)low;
		low >>= 8;
	}
}

/* Inverse of the above: slot for a pool offset, or SYNTH_NIL. */
static uint32_t synth_off_slot(const struct synth_hdr *h, uint64_t off, uint64_t n)
{
	uint64_t k, s = (uint64_t)h->seed % n, slot;

	if (off == 0 || off > n)
		return SYNTH_NIL;
	k = off - 1;
	/* k = (seed + slot) mod n, written so that n near 2^64 cannot wrap. */
	slot = k >= s ? k - s : k + (n - s);
	if (slot >= h->count)
		return SYNTH_NIL;
	return (uint32_t)slot;
}

static void synth_info(const struct synth_hdr *h, uint32_t slot, struct synth_entry_info *out)
{
	const struct synth_slot *s = &synth_slots_c(h)[slot];

	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	memcpy(out->name, s->name, s->namelen);
	out->namelen = s->namelen;
	synth_slot_v4(h, slot, &out->v4);
	synth_slot_v6(h, slot, &out->v6);
	out->created = s->created;
	out->last_use = s->last_use;
}

static void synth_lru_unlink(struct synth_hdr *h, uint32_t slot)
{
	struct synth_slot *s = synth_slots(h);

	if (s[slot].lru_prev != SYNTH_NIL)
		s[s[slot].lru_prev].lru_next = s[slot].lru_next;
	else
		h->lru_head = s[slot].lru_next;
	if (s[slot].lru_next != SYNTH_NIL)
		s[s[slot].lru_next].lru_prev = s[slot].lru_prev;
	else
		h->lru_tail = s[slot].lru_prev;
	s[slot].lru_prev = SYNTH_NIL;
	s[slot].lru_next = SYNTH_NIL;
}

static void synth_lru_push(struct synth_hdr *h, uint32_t slot)
{
	struct synth_slot *s = synth_slots(h);

	s[slot].lru_prev = SYNTH_NIL;
	s[slot].lru_next = h->lru_head;
	if (h->lru_head != SYNTH_NIL)
		s[h->lru_head].lru_prev = slot;
	else
		h->lru_tail = slot;
	h->lru_head = slot;
}

static void synth_touch(struct synth_hdr *h, uint32_t slot, uint64_t now)
{
	struct synth_slot *s = &synth_slots(h)[slot];

	if (now > s->last_use)
		s->last_use = now;
	if (h->lru_head != slot) {
		synth_lru_unlink(h, slot);
		synth_lru_push(h, slot);
	}
	h->generation++;
}

static uint32_t synth_find(const struct synth_hdr *h, const char *canon, size_t len, uint32_t hash)
{
	const struct synth_slot *s = synth_slots_c(h);
	uint32_t i = synth_buckets_c(h)[hash & (h->nbuckets - 1)];

	/* Bounded by count in case another process scribbled a cycle. */
	for (uint32_t steps = 0; i != SYNTH_NIL && i < h->count && steps <= h->count; steps++) {
		if (s[i].hash == hash && s[i].namelen == len && memcmp(s[i].name, canon, len) == 0)
			return i;
		i = s[i].hnext;
	}
	return SYNTH_NIL;
}

static void synth_bucket_unlink(struct synth_hdr *h, uint32_t slot)
{
	struct synth_slot *s = synth_slots(h);
	uint32_t *p = &synth_buckets(h)[s[slot].hash & (h->nbuckets - 1)];

	for (uint32_t steps = 0; *p != SYNTH_NIL && steps <= h->count; steps++) {
		if (*p == slot) {
			*p = s[slot].hnext;
			break;
		}
		p = &s[*p].hnext;
	}
	s[slot].hnext = SYNTH_NIL;
}

static bool synth_in_quarantine(const struct synth_hdr *h, const struct synth_slot *s, uint64_t now)
{
	return s->last_use > now || now - s->last_use < h->quarantine;
}

int synth_table_lookup_name(void *mem, const char *name, size_t len, uint64_t now,
			    struct synth_entry_info *out)
{
	struct synth_hdr *h = mem;
	char canon[SYNTH_NAME_MAX + 1];
	int n = synth_table_canon_name(name, len, canon);
	uint32_t slot;

	if (n < 0) {
		errno = EINVAL;
		return -1;
	}
	slot = synth_find(h, canon, (size_t)n, synth_name_hash(h, canon, (size_t)n));
	if (slot == SYNTH_NIL) {
		errno = ENOENT;
		return -1;
	}
	synth_touch(h, slot, now);
	synth_info(h, slot, out);
	return 0;
}

int synth_table_assign(void *mem, const char *name, size_t len, uint64_t now,
		       struct synth_entry_info *out)
{
	struct synth_hdr *h = mem;
	struct synth_slot *s = synth_slots(h);
	char canon[SYNTH_NAME_MAX + 1];
	int n = synth_table_canon_name(name, len, canon);
	uint32_t hash, slot, *bucket;

	if (n < 0) {
		errno = EINVAL;
		return -1;
	}
	hash = synth_name_hash(h, canon, (size_t)n);
	slot = synth_find(h, canon, (size_t)n, hash);
	if (slot != SYNTH_NIL) {
		synth_touch(h, slot, now);
		synth_info(h, slot, out);
		return 0;
	}
	if (h->count < h->capacity) {
		slot = h->count++;
		s[slot].lru_prev = SYNTH_NIL;
		s[slot].lru_next = SYNTH_NIL;
		s[slot].hnext = SYNTH_NIL;
		synth_lru_push(h, slot);
	} else {
		/* Recycle the least recently used slot, unless an application may
		 * still hold its address (RFC 3089 §3 leaves the mapping's
		 * lifetime to the implementation; reuse too early would connect
		 * a program to a different name). */
		slot = h->lru_tail;
		if (slot == SYNTH_NIL || synth_in_quarantine(h, &s[slot], now)) {
			errno = ENOSPC;
			return -1;
		}
		synth_bucket_unlink(h, slot);
		synth_lru_unlink(h, slot);
		synth_lru_push(h, slot);
	}
	memset(s[slot].name, 0, sizeof(s[slot].name));
	memcpy(s[slot].name, canon, (size_t)n);
	s[slot].namelen = (uint8_t)n;
	s[slot].hash = hash;
	s[slot].created = now;
	s[slot].last_use = now;
	bucket = &synth_buckets(h)[hash & (h->nbuckets - 1)];
	s[slot].hnext = *bucket;
	*bucket = slot;
	h->generation++;
	synth_info(h, slot, out);
	return 0;
}

int synth_table_lookup_v4(void *mem, const struct in_addr *a, uint64_t now,
			  struct synth_entry_info *out)
{
	struct synth_hdr *h = mem;
	uint32_t slot = SYNTH_NIL;

	if (synth_v4_match(a, &h->v4_net, h->v4_plen))
		slot = synth_off_slot(h, ntohl(a->s_addr) - ntohl(h->v4_net.s_addr),
				      synth_v4_count(h->v4_plen));
	if (slot == SYNTH_NIL) {
		errno = ENOENT;
		return -1;
	}
	synth_touch(h, slot, now);
	synth_info(h, slot, out);
	return 0;
}

int synth_table_lookup_v6(void *mem, const struct in6_addr *a, uint64_t now,
			  struct synth_entry_info *out)
{
	struct synth_hdr *h = mem;
	uint32_t slot = SYNTH_NIL;

	if (synth_v6_match(a, &h->v6_net, h->v6_plen))
		slot = synth_off_slot(h, synth_v6_low(a) - synth_v6_low(&h->v6_net),
				      synth_v6_count(h->v6_plen));
	if (slot == SYNTH_NIL) {
		errno = ENOENT;
		return -1;
	}
	synth_touch(h, slot, now);
	synth_info(h, slot, out);
	return 0;
}

bool synth_table_config_in_pool_v4(const struct synth_table_config *c, const struct in_addr *a)
{
	return synth_v4_match(a, &c->v4_net, c->v4_plen) && a->s_addr != c->v4_net.s_addr;
}

bool synth_table_config_in_pool_v6(const struct synth_table_config *c, const struct in6_addr *a)
{
	return synth_v6_match(a, &c->v6_net, c->v6_plen) && memcmp(a, &c->v6_net, sizeof(*a)) != 0;
}

bool synth_table_in_pool_v4(const void *mem, const struct in_addr *a)
{
	const struct synth_hdr *h = mem;

	return synth_v4_match(a, &h->v4_net, h->v4_plen) && a->s_addr != h->v4_net.s_addr;
}

bool synth_table_in_pool_v6(const void *mem, const struct in6_addr *a)
{
	const struct synth_hdr *h = mem;

	return synth_v6_match(a, &h->v6_net, h->v6_plen) && memcmp(a, &h->v6_net, sizeof(*a)) != 0;
}

uint32_t synth_table_count(const void *mem)
{
	return ((const struct synth_hdr *)mem)->count;
}

uint32_t synth_table_generation(const void *mem)
{
	return ((const struct synth_hdr *)mem)->generation;
}

int synth_table_foreach(const void *mem, int (*fn)(const struct synth_entry_info *e, void *arg),
			void *arg)
{
	const struct synth_hdr *h = mem;
	const struct synth_slot *s = synth_slots_c(h);
	struct synth_entry_info info;
	uint32_t i = h->lru_head;
	int rc;

	for (uint32_t steps = 0; i != SYNTH_NIL && i < h->count && steps < h->count; steps++) {
		synth_info(h, i, &info);
		rc = fn(&info, arg);
		if (rc != 0)
			return rc;
		i = s[i].lru_next;
	}
	return 0;
}

static int synth_check_header(const struct synth_hdr *h, size_t len,
			      const struct synth_table_config *c, char *why, size_t whylen)
{
	struct synth_table_config hc;

	if (len < sizeof(*h)) {
		synth_why(why, whylen, "region of %zu bytes is smaller than the header", len);
		return -1;
	}
	if (h->magic != SYNTH_TABLE_MAGIC) {
		synth_why(why, whylen, "bad magic 0x%08x", h->magic);
		return -1;
	}
	if (h->version != SYNTH_TABLE_VERSION) {
		synth_why(why, whylen, "version %u, expected %u", h->version, SYNTH_TABLE_VERSION);
		return -1;
	}
	if (h->checksum != synth_hdr_checksum(h)) {
		synth_why(why, whylen, "header checksum mismatch");
		return -1;
	}
	memset(&hc, 0, sizeof(hc));
	hc.v4_net = h->v4_net;
	hc.v4_plen = h->v4_plen;
	hc.v6_net = h->v6_net;
	hc.v6_plen = h->v6_plen;
	hc.capacity = h->capacity;
	hc.quarantine = h->quarantine;
	if (h->hdr_size != SYNTH_ALIGN(sizeof(*h)) || h->slot_size != sizeof(struct synth_slot) ||
	    synth_table_config_check(&hc, NULL, 0) < 0 ||
	    synth_effective_capacity(&hc) != h->capacity ||
	    h->nbuckets != synth_nbuckets(h->capacity) || h->total_size != synth_table_size(&hc)) {
		synth_why(why, whylen, "inconsistent sizes in header");
		return -1;
	}
	if (h->total_size > len) {
		synth_why(why, whylen, "table needs %llu bytes, region has %zu",
			  (unsigned long long)h->total_size, len);
		return -1;
	}
	if (c &&
	    (hc.v4_net.s_addr != c->v4_net.s_addr || hc.v4_plen != c->v4_plen ||
	     memcmp(&hc.v6_net, &c->v6_net, sizeof(hc.v6_net)) != 0 || hc.v6_plen != c->v6_plen ||
	     hc.quarantine != c->quarantine || h->capacity != synth_effective_capacity(c))) {
		synth_why(why, whylen,
			  "pools, capacity or quarantine differ from the configuration");
		return -1;
	}
	if (h->count > h->capacity) {
		synth_why(why, whylen, "count %u above capacity %u", h->count, h->capacity);
		return -1;
	}
	return 0;
}

static int synth_check_slots(const struct synth_hdr *h, char *why, size_t whylen)
{
	const struct synth_slot *s = synth_slots_c(h);
	char canon[SYNTH_NAME_MAX + 1];

	for (uint32_t i = 0; i < h->count; i++) {
		if (s[i].namelen == 0 || s[i].namelen > SYNTH_NAME_MAX ||
		    s[i].name[s[i].namelen] != '\0' ||
		    synth_table_canon_name(s[i].name, s[i].namelen, canon) != s[i].namelen ||
		    memcmp(canon, s[i].name, s[i].namelen) != 0) {
			synth_why(why, whylen, "entry %u: bad name", i);
			return -1;
		}
		if (s[i].hash != synth_name_hash(h, s[i].name, s[i].namelen)) {
			synth_why(why, whylen, "entry %u: stale hash", i);
			return -1;
		}
		if ((s[i].hnext != SYNTH_NIL && s[i].hnext >= h->count) ||
		    (s[i].lru_prev != SYNTH_NIL && s[i].lru_prev >= h->count) ||
		    (s[i].lru_next != SYNTH_NIL && s[i].lru_next >= h->count)) {
			synth_why(why, whylen, "entry %u: link out of range", i);
			return -1;
		}
	}
	return 0;
}

/* Every used slot sits in exactly the chain of its bucket, once, and no
 * name appears twice.  A slot reached from bucket b has hash & mask == b, so
 * no slot is reachable from two buckets; with no cycle inside a chain, a
 * total of count visits means every slot was reached exactly once. */
static int synth_check_buckets(const struct synth_hdr *h, char *why, size_t whylen)
{
	const struct synth_slot *s = synth_slots_c(h);
	const uint32_t *b = synth_buckets_c(h);
	uint64_t total = 0;

	for (uint32_t k = 0; k < h->nbuckets; k++) {
		uint32_t steps = 0;

		for (uint32_t i = b[k]; i != SYNTH_NIL; i = s[i].hnext) {
			if (i >= h->count || (s[i].hash & (h->nbuckets - 1)) != k ||
			    ++steps > h->count) {
				synth_why(why, whylen, "name index: bad chain at bucket %u", k);
				return -1;
			}
		}
		total += steps;
		/* The chain is now known to be acyclic and in range. */
		for (uint32_t i = b[k]; i != SYNTH_NIL; i = s[i].hnext) {
			for (uint32_t j = s[i].hnext; j != SYNTH_NIL; j = s[j].hnext) {
				if (s[j].namelen == s[i].namelen &&
				    memcmp(s[j].name, s[i].name, s[i].namelen) == 0) {
					synth_why(why, whylen, "name index: '%s' twice", s[i].name);
					return -1;
				}
			}
		}
	}
	if (total != h->count) {
		synth_why(why, whylen, "name index holds %llu entries, header says %u",
			  (unsigned long long)total, h->count);
		return -1;
	}
	return 0;
}

static int synth_check_lru(const struct synth_hdr *h, char *why, size_t whylen)
{
	const struct synth_slot *s = synth_slots_c(h);
	uint32_t prev = SYNTH_NIL, n = 0;

	if (h->count == 0) {
		if (h->lru_head != SYNTH_NIL || h->lru_tail != SYNTH_NIL) {
			synth_why(why, whylen, "LRU list of an empty table is not empty");
			return -1;
		}
		return 0;
	}
	for (uint32_t i = h->lru_head; i != SYNTH_NIL; i = s[i].lru_next) {
		if (i >= h->count || s[i].lru_prev != prev || ++n > h->count) {
			synth_why(why, whylen, "LRU list broken at entry %u", i);
			return -1;
		}
		prev = i;
	}
	if (n != h->count || prev != h->lru_tail) {
		synth_why(why, whylen, "LRU list holds %u entries, header says %u", n, h->count);
		return -1;
	}
	return 0;
}

int synth_table_check(const void *mem, size_t len, const struct synth_table_config *c, char *why,
		      size_t whylen)
{
	const struct synth_hdr *h = mem;

	if (synth_check_header(h, len, c, why, whylen) < 0 ||
	    synth_check_slots(h, why, whylen) < 0 || synth_check_buckets(h, why, whylen) < 0 ||
	    synth_check_lru(h, why, whylen) < 0)
		return -1;
	return 0;
}
