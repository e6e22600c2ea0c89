/* libFuzzer target: sequences of synth_table operations on a small table,
 * checked against what the header promises (RFC 3089 synthetic map).
 *
 * Input: bytes 0..3 pick the table (IPv4 pool size, capacity, quarantine,
 * seed); then each operation is an opcode byte and its operands: assign or
 * look up a name (length byte, then the name bytes: any bytes, so case,
 * trailing dots and invalid names are covered), look up a pool address by
 * offset, look up the IPv6 twin of an earlier answer, walk the table, or let
 * time pass.  Time never goes backwards.
 *
 * Invariants after every operation: synth_table_check() accepts the table;
 * count <= capacity; a name keeps its addresses while it is in the table;
 * name -> address -> name agree in both families; every answer lies in the
 * pools; EINVAL exactly for names synth_table_canon_name() refuses; ENOSPC
 * only when every slot is in use and inside the quarantine; the generation
 * moves on every success and stays on every failure; foreach visits each
 * entry once, most recently used first, with distinct names and addresses. */
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

#define FUZZ_MAX_ENTRIES 64

struct fuzz_tab {
	struct synth_table_config cfg;
	void *mem;
	size_t len;
	uint64_t now;
	struct synth_entry_info last[8]; /* recent answers, for address lookups */
	size_t nlast;
};

struct fuzz_walk {
	struct synth_entry_info e[FUZZ_MAX_ENTRIES];
	size_t n;
};

static int fuzz_walk_one(const struct synth_entry_info *e, void *arg)
{
	struct fuzz_walk *w = arg;

	assert(w->n < FUZZ_MAX_ENTRIES);
	w->e[w->n++] = *e;
	return 0;
}

static void fuzz_walk(struct fuzz_tab *t, struct fuzz_walk *w)
{
	uint32_t gen = synth_table_generation(t->mem);

	w->n = 0;
	assert(synth_table_foreach(t->mem, fuzz_walk_one, w) == 0);
	assert(synth_table_generation(t->mem) == gen);
	assert(w->n == synth_table_count(t->mem));
	for (size_t i = 0; i < w->n; i++) {
		/* Most recently used first: time only moves forward here. */
		if (i > 0)
			assert(w->e[i].last_use <= w->e[i - 1].last_use);
		assert(w->e[i].created <= w->e[i].last_use);
		for (size_t j = 0; j < i; j++) {
			assert(strcmp(w->e[i].name, w->e[j].name) != 0);
			assert(w->e[i].v4.s_addr != w->e[j].v4.s_addr);
			assert(memcmp(&w->e[i].v6, &w->e[j].v6, sizeof(w->e[i].v6)) != 0);
		}
	}
}

static void fuzz_valid(struct fuzz_tab *t)
{
	char why[160];

	if (synth_table_check(t->mem, t->len, &t->cfg, why, sizeof(why)) != 0) {
		fprintf(stderr, "table check after an operation: %s\n", why);
		assert(!"an operation corrupted the table");
	}
	assert(synth_table_count(t->mem) <= t->cfg.capacity);
}

/* Both directions agree for an answer, and it lies in the pools. */
static void fuzz_answer(struct fuzz_tab *t, const struct synth_entry_info *e)
{
	struct synth_entry_info x;

	assert(e->namelen > 0 && strlen(e->name) == e->namelen);
	assert(synth_table_in_pool_v4(t->mem, &e->v4) && synth_table_in_pool_v6(t->mem, &e->v6));
	assert(synth_table_config_in_pool_v4(&t->cfg, &e->v4));
	assert(synth_table_config_in_pool_v6(&t->cfg, &e->v6));
	assert(synth_table_lookup_v4(t->mem, &e->v4, t->now, &x) == 0 &&
	       strcmp(x.name, e->name) == 0 && memcmp(&x.v6, &e->v6, sizeof(x.v6)) == 0);
	assert(synth_table_lookup_v6(t->mem, &e->v6, t->now, &x) == 0 &&
	       strcmp(x.name, e->name) == 0 && x.v4.s_addr == e->v4.s_addr);
	assert(synth_table_lookup_name(t->mem, e->name, e->namelen, t->now, &x) == 0 &&
	       x.v4.s_addr == e->v4.s_addr);
	t->last[t->nlast++ % 8] = *e;
}

static void fuzz_name_op(struct fuzz_tab *t, bool assign, const char *name, size_t len)
{
	char canon[SYNTH_NAME_MAX + 1];
	struct synth_entry_info e, before;
	struct fuzz_walk w;
	int n = synth_table_canon_name(name, len, canon);
	uint32_t gen = synth_table_generation(t->mem);
	bool known = n > 0 && synth_table_lookup_name(t->mem, name, len, t->now, &before) == 0;
	int rc;

	if (known)
		gen = synth_table_generation(t->mem);
	errno = 0;
	rc = assign ? synth_table_assign(t->mem, name, len, t->now, &e)
		    : synth_table_lookup_name(t->mem, name, len, t->now, &e);
	if (rc == 0) {
		assert(n > 0 && e.namelen == (size_t)n && strcmp(e.name, canon) == 0);
		assert(synth_table_generation(t->mem) != gen);
		/* A name keeps its addresses while it is in the table. */
		if (known)
			assert(e.v4.s_addr == before.v4.s_addr &&
			       memcmp(&e.v6, &before.v6, sizeof(e.v6)) == 0);
		fuzz_answer(t, &e);
		return;
	}
	assert(synth_table_generation(t->mem) == gen);
	if (n < 0) {
		assert(errno == EINVAL);
		return;
	}
	if (!assign) {
		assert(errno == ENOENT && !known);
		return;
	}
	/* ENOSPC: full, and every entry used within the quarantine. */
	assert(errno == ENOSPC && !known);
	assert(synth_table_count(t->mem) == t->cfg.capacity);
	fuzz_walk(t, &w);
	for (size_t i = 0; i < w.n; i++)
		assert(w.e[i].last_use > t->now || t->now - w.e[i].last_use < t->cfg.quarantine);
}

static void fuzz_addr_op(struct fuzz_tab *t, uint8_t off)
{
	struct synth_entry_info e;
	struct in_addr a;

	a.s_addr = htonl(ntohl(t->cfg.v4_net.s_addr) + off);
	if (synth_table_lookup_v4(t->mem, &a, t->now, &e) == 0) {
		assert(e.v4.s_addr == a.s_addr);
		fuzz_answer(t, &e);
	} else {
		assert(errno == ENOENT);
	}
}

static void fuzz_v6_op(struct fuzz_tab *t, uint8_t which, uint8_t flip)
{
	struct synth_entry_info e;
	struct in6_addr a;

	if (t->nlast == 0)
		return;
	a = t->last[which % (t->nlast < 8 ? t->nlast : 8)].v6;
	a.s6_addr[15 - (flip >> 5)] ^= (uint8_t)(flip & 0x1f);
	if (synth_table_lookup_v6(t->mem, &a, t->now, &e) == 0) {
		assert(memcmp(&e.v6, &a, sizeof(a)) == 0);
		fuzz_answer(t, &e);
	} else {
		assert(errno == ENOENT);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_tab t;
	struct fuzz_walk w;
	uint64_t pool4, pool6;
	size_t p = 4;

	if (size < 4)
		return 0;
	memset(&t, 0, sizeof(t));
	synth_table_config_default(&t.cfg);
	inet_pton(AF_INET, "10.64.0.0", &t.cfg.v4_net);
	inet_pton(AF_INET6, "2001:db8:64::", &t.cfg.v6_net);
	t.cfg.v4_plen = (uint8_t)(26 + data[0] % 5); /* 1..63 addresses */
	t.cfg.v6_plen = (uint8_t)(64 + data[0] % 63);
	t.cfg.capacity = 1u + data[1] % FUZZ_MAX_ENTRIES;
	t.cfg.quarantine = data[2] % 8;
	t.len = synth_table_size(&t.cfg);
	assert(t.len > 0);
	t.mem = malloc(t.len);
	assert(t.mem != NULL);
	assert(synth_table_init(t.mem, t.len, &t.cfg, data[3]) == 0);
	/* The table trims capacity to the smaller pool (host offset 0 unused). */
	pool4 = (UINT64_C(1) << (32 - t.cfg.v4_plen)) - 1;
	pool6 = t.cfg.v6_plen > 64 ? (UINT64_C(1) << (128 - t.cfg.v6_plen)) - 1 : UINT64_MAX;
	if (pool4 < t.cfg.capacity)
		t.cfg.capacity = (uint32_t)pool4;
	if (pool6 < t.cfg.capacity)
		t.cfg.capacity = (uint32_t)pool6;
	t.now = 100;

	while (p < size) {
		uint8_t op = data[p++];

		switch (op % 6) {
		case 0:
		case 1: {
			size_t len = p < size ? data[p++] % 40 : 0;

			if (len > size - p)
				len = size - p;
			fuzz_name_op(&t, op % 6 == 0, (const char *)data + p, len);
			p += len;
			break;
		}
		case 2:
			fuzz_addr_op(&t, p < size ? data[p++] : 0);
			break;
		case 3:
			if (p + 1 < size) {
				fuzz_v6_op(&t, data[p], data[p + 1]);
				p += 2;
			}
			break;
		case 4:
			fuzz_walk(&t, &w);
			break;
		default:
			t.now += op >> 3;
			break;
		}
		fuzz_valid(&t);
	}
	free(t.mem);
	return 0;
}
