/* synth_table — the RFC 3089 synthetic address map (name <-> synthetic IPv4
 * and IPv6 address) laid out in a caller-provided memory region: no I/O, no
 * allocation, no globals, no pointers inside the region (only indexes), so
 * the same bytes work in a MAP_SHARED file seen at different addresses by
 * several processes and in a private malloc'ed block.  Not locked: the
 * caller serialises (dns/synth.c holds a robust process-shared mutex).
 *
 * Layout: header | entries[capacity] | name buckets[nbuckets].
 *
 * Each entry slot owns one IPv4 and one IPv6 address for good (pool base +
 * 1 + (slot + seed) mod pool size), so a name always has one of each and the
 * address -> entry direction is arithmetic (O(1), nothing to corrupt); the
 * name -> entry direction is a chained hash over 32-bit slot indexes.  Slots
 * are handed out in order, then recycled least recently used first, but
 * never one used within the quarantine period (an application may still hold
 * that address).  The seed moves the addresses of a re-created table away
 * from those of the table it replaces.
 *
 * Times are whatever clock the caller passes (dns/synth.c: CLOCK_REALTIME
 * seconds); a time in the future counts as "just used". */
#ifndef SOCKS64_SYNTH_TABLE_H
#define SOCKS64_SYNTH_TABLE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYNTH_TABLE_MAGIC 0x53363453u /* "S64S" */
#define SYNTH_TABLE_VERSION 1
#define SYNTH_NAME_MAX 253 /* presentation form without the trailing dot (RFC 1035 §2.3.4) */
#define SYNTH_CAPACITY_DEFAULT 4096
#define SYNTH_CAPACITY_MAX (1u << 20)
#define SYNTH_QUARANTINE_DEFAULT 600 /* seconds */

/* Pools and size; synth_table_config_default() fills DESIGN.md's defaults:
 * 0.0.0.0/8 (RFC 3089 "0.0.0.x", widened; 0.0.0.0 itself is never used),
 * 100::/64 (RFC 6666 discard-only, so a leaked address goes nowhere). */
struct synth_table_config {
	struct in_addr v4_net;
	uint8_t v4_plen; /* 8..30 */
	struct in6_addr v6_net;
	uint8_t v6_plen; /* 64..126 */
	uint32_t capacity; /* entries; trimmed to the smaller pool */
	uint32_t quarantine; /* seconds an address stays unrecyclable after its last use */
};

/* One map entry as copied out to the caller. */
struct synth_entry_info {
	char name[SYNTH_NAME_MAX + 1];
	uint8_t namelen;
	struct in_addr v4;
	struct in6_addr v6;
	uint64_t created;
	uint64_t last_use;
};

void synth_table_config_default(struct synth_table_config *c);

/* Check pool prefixes (host bits zero, lengths in range) and capacity.
 * Returns 0, or -1 with a reason in why. */
int synth_table_config_check(const struct synth_table_config *c, char *why, size_t whylen);

/* Bytes of region the table needs for c (after trimming capacity to the
 * pools), or 0 if c is invalid. */
size_t synth_table_size(const struct synth_table_config *c);

/* Lay out an empty table in mem (len >= synth_table_size(c), 8-byte
 * aligned).  Returns 0 or -1 (invalid config, region too small). */
int synth_table_init(void *mem, size_t len, const struct synth_table_config *c, uint32_t seed);

/* Corruption check of everything a lookup relies on: header (magic,
 * version, sizes, checksum), pool config equal to c (when c is non-NULL),
 * every used entry's name canonical and findable through its hash chain,
 * chains and LRU list acyclic and consistent with the counts.  O(capacity).
 * Returns 0, or -1 with the first problem in why. */
int synth_table_check(const void *mem, size_t len, const struct synth_table_config *c, char *why,
		      size_t whylen);

/* Canonical form of a name: lower case, one trailing dot dropped, 1..253
 * bytes of printable ASCII without spaces.  Writes out (NUL-terminated) and
 * returns the length, or -1. */
int synth_table_canon_name(const char *name, size_t len, char out[SYNTH_NAME_MAX + 1]);

/* The entry for name, creating it (first a never-used slot, else the least
 * recently used one out of quarantine) if there is none.  Marks it used at
 * now.  Returns 0, or -1 with errno EINVAL (not a valid name) or ENOSPC
 * (every slot used within the quarantine period). */
int synth_table_assign(void *mem, const char *name, size_t len, uint64_t now,
		       struct synth_entry_info *out);

/* Lookups; each marks the entry used at now.  Return 0, or -1 (errno
 * ENOENT: not in the table; EINVAL: bad name). */
int synth_table_lookup_name(void *mem, const char *name, size_t len, uint64_t now,
			    struct synth_entry_info *out);
int synth_table_lookup_v4(void *mem, const struct in_addr *a, uint64_t now,
			  struct synth_entry_info *out);
int synth_table_lookup_v6(void *mem, const struct in6_addr *a, uint64_t now,
			  struct synth_entry_info *out);

/* Whether an address lies inside the table's pools (assigned or not). */
bool synth_table_in_pool_v4(const void *mem, const struct in_addr *a);
bool synth_table_in_pool_v6(const void *mem, const struct in6_addr *a);

/* Same, against a config instead of a table (before any table exists). */
bool synth_table_config_in_pool_v4(const struct synth_table_config *c, const struct in_addr *a);
bool synth_table_config_in_pool_v6(const struct synth_table_config *c, const struct in6_addr *a);

/* Entries in use, and the mutation counter (bumped by every change). */
uint32_t synth_table_count(const void *mem);
uint32_t synth_table_generation(const void *mem);

/* Call fn for every entry, most recently used first; stops early when fn
 * returns non-zero (and returns that value).  Does not mark anything used. */
int synth_table_foreach(const void *mem, int (*fn)(const struct synth_entry_info *e, void *arg),
			void *arg);

#endif
