/* libFuzzer target: synth_table_check() on a corrupted region, then every
 * lookup on any region it accepts.  The map lives in shared memory that
 * other processes write, so the check is the only thing between a scribbled
 * region and out-of-bounds reads in the shim.
 *
 * Input: byte 0 picks a mode.  Even: the rest of the input is the region
 * itself.  Odd: bytes 1..5 pick a small table (pool, capacity, quarantine,
 * seed, entries), which is built and filled, then the rest is patches of
 * three bytes (16-bit offset, XOR value); mode bit 1 re-seals the header
 * checksum afterwards (so corruption behind it is reached), mode bit 2
 * checks against the configuration as well.
 *
 * Invariants: the check never reads outside the region (the region is its
 * own allocation of exactly len bytes, so ASan sees any overrun); on a region
 * it accepts, lookups by name and by address, assignments and foreach stay
 * inside it too and leave a region the check still accepts. */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synth_table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Entries seen through foreach, for lookups afterwards. */
struct fuzz_seen {
	struct synth_entry_info e[64];
	size_t n;
	size_t visits;
};

static int fuzz_collect(const struct synth_entry_info *e, void *arg)
{
	struct fuzz_seen *s = arg;

	assert(e->namelen > 0 && strlen(e->name) == e->namelen);
	s->visits++;
	if (s->n < sizeof(s->e) / sizeof(s->e[0]))
		s->e[s->n++] = *e;
	return 0;
}

/* FNV-1a, the header checksum's algorithm.  The checksum's offset is found
 * on a freshly initialised table rather than hard-coded: it is the first
 * 32-bit word that equals the hash of everything before it. */
static uint32_t fuzz_fnv(const uint8_t *p, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

static size_t fuzz_checksum_offset(const uint8_t *mem, size_t len)
{
	uint32_t v;

	for (size_t off = 4; off + 4 <= len && off <= 256; off += 4) {
		memcpy(&v, mem + off, 4);
		if (v == fuzz_fnv(mem, off))
			return off;
	}
	return 0;
}

static void fuzz_still_valid(const void *mem, size_t len, const struct synth_table_config *c)
{
	char why[160];

	if (synth_table_check(mem, len, c, why, sizeof(why)) != 0) {
		fprintf(stderr, "accepted region no longer valid after a lookup: %s\n", why);
		assert(!"lookup broke an accepted region");
	}
}

/* Everything a client of an accepted region may do. */
static void fuzz_use(void *mem, size_t len, const struct synth_table_config *c)
{
	struct fuzz_seen seen = {.n = 0};
	struct synth_entry_info e;
	uint32_t count = synth_table_count(mem);
	char name[32];

	synth_table_generation(mem);
	assert(synth_table_foreach(mem, fuzz_collect, &seen) == 0);
	assert(seen.visits == count);
	for (size_t i = 0; i < seen.n; i++) {
		const struct synth_entry_info *s = &seen.e[i];

		assert(synth_table_in_pool_v4(mem, &s->v4) && synth_table_in_pool_v6(mem, &s->v6));
		assert(synth_table_lookup_name(mem, s->name, s->namelen, 1000, &e) == 0);
		assert(memcmp(&e.v4, &s->v4, sizeof(e.v4)) == 0);
		assert(synth_table_lookup_v4(mem, &s->v4, 1001, &e) == 0);
		assert(strcmp(e.name, s->name) == 0);
		assert(synth_table_lookup_v6(mem, &s->v6, 1002, &e) == 0);
		assert(strcmp(e.name, s->name) == 0);
		fuzz_still_valid(mem, len, c);
	}
	/* Addresses next to the first entry's, assigned or not. */
	if (seen.n > 0) {
		struct in_addr a4 = seen.e[0].v4;
		struct in6_addr a6 = seen.e[0].v6;

		for (int d = 0; d < 256; d++) {
			a4.s_addr = htonl((ntohl(seen.e[0].v4.s_addr) & ~0xffu) | (uint32_t)d);
			a6.s6_addr[15] = (uint8_t)d;
			synth_table_in_pool_v4(mem, &a4);
			synth_table_in_pool_v6(mem, &a6);
			if (synth_table_lookup_v4(mem, &a4, 2000, &e) == 0)
				assert(synth_table_in_pool_v4(mem, &a4));
			if (synth_table_lookup_v6(mem, &a6, 2000, &e) == 0)
				assert(synth_table_in_pool_v6(mem, &a6));
		}
		fuzz_still_valid(mem, len, c);
	}
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "new%d.fuzz.example", i);
		if (synth_table_assign(mem, name, strlen(name), UINT64_C(1) << 40, &e) == 0) {
			assert(strcmp(e.name, name) == 0);
			assert(synth_table_lookup_v4(mem, &e.v4, UINT64_C(1) << 40, NULL) == 0);
		} else {
			assert(errno == ENOSPC);
		}
		fuzz_still_valid(mem, len, c);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct synth_table_config cfg;
	const struct synth_table_config *c = NULL;
	uint8_t *mem;
	size_t len;
	char why[160], name[32];

	if (size < 1)
		return 0;
	if ((data[0] & 1) == 0) {
		len = size - 1;
		mem = malloc(len ? len : 1);
		assert(mem != NULL);
		memcpy(mem, data + 1, len);
	} else {
		size_t sum, nent, p;

		if (size < 6)
			return 0;
		synth_table_config_default(&cfg);
		cfg.v4_net.s_addr = htonl(0x0a000000u);
		cfg.v4_plen = (uint8_t)(24 + data[1] % 7);
		cfg.v6_plen = (uint8_t)(120 + data[1] % 7);
		cfg.capacity = 1u + data[2] % 24;
		cfg.quarantine = data[3] % 4;
		len = synth_table_size(&cfg);
		assert(len > 0);
		mem = malloc(len);
		assert(mem != NULL);
		assert(synth_table_init(mem, len, &cfg, data[4]) == 0);
		nent = data[5] % (cfg.capacity + 3);
		for (size_t i = 0; i < nent; i++) {
			snprintf(name, sizeof(name), "h%zu.Example.", i % (cfg.capacity + 1));
			synth_table_assign(mem, name, strlen(name), 10 + i, NULL);
		}
		assert(synth_table_check(mem, len, &cfg, why, sizeof(why)) == 0);
		sum = fuzz_checksum_offset(mem, len);
		assert(sum != 0);
		for (p = 6; p + 3 <= size; p += 3) {
			size_t off = (size_t)(data[p] | data[p + 1] << 8) % len;

			mem[off] ^= data[p + 2];
		}
		if (data[0] & 2) {
			uint32_t v = fuzz_fnv(mem, sum);

			memcpy(mem + sum, &v, 4);
		}
		if (data[0] & 4)
			c = &cfg;
	}
	why[0] = '\0';
	if (synth_table_check(mem, len, c, why, sizeof(why)) == 0)
		fuzz_use(mem, len, c);
	else
		assert(why[0] != '\0');
	free(mem);
	return 0;
}
