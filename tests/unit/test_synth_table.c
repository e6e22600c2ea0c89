/* Unit tests for synth_table: assignment, lookups both ways, case, LRU
 * recycling and quarantine, full pools, pool configurations and corruption
 * detection.  Every table lives in a malloc'ed region, as the private map
 * does. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synth_table.h"

struct test_tab {
	struct synth_table_config cfg;
	size_t len;
	void *mem;
};

static void test_tab_new(struct test_tab *t, const char *v4, unsigned v4_plen, const char *v6,
			 unsigned v6_plen, uint32_t capacity, uint32_t quarantine, uint32_t seed)
{
	synth_table_config_default(&t->cfg);
	assert_int_equal(inet_pton(AF_INET, v4, &t->cfg.v4_net), 1);
	t->cfg.v4_plen = (uint8_t)v4_plen;
	assert_int_equal(inet_pton(AF_INET6, v6, &t->cfg.v6_net), 1);
	t->cfg.v6_plen = (uint8_t)v6_plen;
	t->cfg.capacity = capacity;
	t->cfg.quarantine = quarantine;
	t->len = synth_table_size(&t->cfg);
	assert_true(t->len > 0);
	t->mem = malloc(t->len);
	assert_non_null(t->mem);
	assert_int_equal(synth_table_init(t->mem, t->len, &t->cfg, seed), 0);
	assert_int_equal(synth_table_check(t->mem, t->len, &t->cfg, NULL, 0), 0);
}

static void test_tab_free(struct test_tab *t)
{
	free(t->mem);
}

static void test_tab_ok(const struct test_tab *t)
{
	char why[200] = "";

	if (synth_table_check(t->mem, t->len, &t->cfg, why, sizeof(why)) != 0)
		fail_msg("table check: %s", why);
}

static int test_assign(struct test_tab *t, const char *name, uint64_t now,
		       struct synth_entry_info *e)
{
	return synth_table_assign(t->mem, name, strlen(name), now, e);
}

static void test_expect_v4(const struct in_addr *a, const char *want)
{
	char buf[INET_ADDRSTRLEN];

	assert_non_null(inet_ntop(AF_INET, a, buf, sizeof(buf)));
	assert_string_equal(buf, want);
}

static void test_expect_v6(const struct in6_addr *a, const char *want)
{
	char buf[INET6_ADDRSTRLEN];

	assert_non_null(inet_ntop(AF_INET6, a, buf, sizeof(buf)));
	assert_string_equal(buf, want);
}

static void test_defaults(void **state)
{
	struct synth_table_config c;
	char why[100];

	(void)state;
	synth_table_config_default(&c);
	assert_int_equal(c.v4_plen, 8);
	assert_int_equal(c.v4_net.s_addr, 0);
	test_expect_v6(&c.v6_net, "100::");
	assert_int_equal(c.v6_plen, 64);
	assert_int_equal(c.quarantine, SYNTH_QUARANTINE_DEFAULT);
	assert_int_equal(synth_table_config_check(&c, why, sizeof(why)), 0);
	assert_true(synth_table_size(&c) > SYNTH_CAPACITY_DEFAULT * (size_t)SYNTH_NAME_MAX);
}

static void test_assign_and_lookup(void **state)
{
	struct test_tab t;
	struct synth_entry_info a, b, c, e;

	(void)state;
	test_tab_new(&t, "0.0.0.0", 8, "100::", 64, 64, 600, 0);
	assert_int_equal(test_assign(&t, "www.v6.test", 1000, &a), 0);
	assert_string_equal(a.name, "www.v6.test");
	assert_int_equal(a.namelen, 11);
	/* seed 0: the first slot gets host offset 1 in both pools. */
	test_expect_v4(&a.v4, "0.0.0.1");
	test_expect_v6(&a.v6, "100::1");
	assert_int_equal(a.created, 1000);
	assert_int_equal(a.last_use, 1000);

	/* A second name gets the next pair; the first keeps its own. */
	assert_int_equal(test_assign(&t, "www.v4.test", 1001, &b), 0);
	test_expect_v4(&b.v4, "0.0.0.2");
	test_expect_v6(&b.v6, "100::2");
	assert_int_equal(test_assign(&t, "www.v6.test", 1002, &c), 0);
	assert_memory_equal(&c.v4, &a.v4, sizeof(a.v4));
	assert_memory_equal(&c.v6, &a.v6, sizeof(a.v6));
	assert_int_equal(c.created, 1000);
	assert_int_equal(c.last_use, 1002);
	assert_int_equal(synth_table_count(t.mem), 2);

	/* Both address directions give the name back and mark it used. */
	assert_int_equal(synth_table_lookup_v4(t.mem, &b.v4, 1010, &e), 0);
	assert_string_equal(e.name, "www.v4.test");
	assert_int_equal(e.last_use, 1010);
	assert_int_equal(synth_table_lookup_v6(t.mem, &b.v6, 1011, &e), 0);
	assert_string_equal(e.name, "www.v4.test");
	assert_int_equal(e.last_use, 1011);
	assert_int_equal(synth_table_lookup_name(t.mem, "www.v4.test", 11, 1012, &e), 0);
	assert_memory_equal(&e.v4, &b.v4, sizeof(b.v4));
	assert_int_equal(e.last_use, 1012);

	/* Unknown names and addresses, in and out of the pools. */
	errno = 0;
	assert_int_equal(synth_table_lookup_name(t.mem, "nope.test", 9, 1013, &e), -1);
	assert_int_equal(errno, ENOENT);
	struct in_addr v4;
	struct in6_addr v6;
	inet_pton(AF_INET, "0.0.0.3", &v4);
	assert_true(synth_table_in_pool_v4(t.mem, &v4));
	assert_int_equal(synth_table_lookup_v4(t.mem, &v4, 1013, &e), -1);
	assert_int_equal(errno, ENOENT);
	inet_pton(AF_INET, "0.0.0.0", &v4);
	assert_false(synth_table_in_pool_v4(t.mem, &v4));
	assert_int_equal(synth_table_lookup_v4(t.mem, &v4, 1013, &e), -1);
	inet_pton(AF_INET, "1.0.0.1", &v4);
	assert_false(synth_table_in_pool_v4(t.mem, &v4));
	assert_int_equal(synth_table_lookup_v4(t.mem, &v4, 1013, &e), -1);
	inet_pton(AF_INET6, "100::", &v6);
	assert_false(synth_table_in_pool_v6(t.mem, &v6));
	assert_int_equal(synth_table_lookup_v6(t.mem, &v6, 1013, &e), -1);
	inet_pton(AF_INET6, "100:0:0:1::1", &v6);
	assert_false(synth_table_in_pool_v6(t.mem, &v6));
	assert_int_equal(synth_table_lookup_v6(t.mem, &v6, 1013, &e), -1);
	inet_pton(AF_INET6, "::1", &v6);
	assert_int_equal(synth_table_lookup_v6(t.mem, &v6, 1013, &e), -1);
	test_tab_ok(&t);
	test_tab_free(&t);
}

static void test_names(void **state)
{
	struct test_tab t;
	struct synth_entry_info a, b;
	char canon[SYNTH_NAME_MAX + 1];
	char longname[300];

	(void)state;
	test_tab_new(&t, "0.0.0.0", 8, "100::", 64, 16, 600, 7);
	assert_int_equal(test_assign(&t, "WWW.Example.TEST.", 1, &a), 0);
	assert_string_equal(a.name, "www.example.test");
	assert_int_equal(test_assign(&t, "www.example.test", 2, &b), 0);
	assert_memory_equal(&a.v4, &b.v4, sizeof(a.v4));
	assert_int_equal(synth_table_lookup_name(t.mem, "www.EXAMPLE.test.", 17, 3, &b), 0);
	assert_memory_equal(&a.v6, &b.v6, sizeof(a.v6));
	assert_int_equal(synth_table_count(t.mem), 1);

	/* Bad names: empty, only a dot, too long, spaces, control bytes, NUL. */
	errno = 0;
	assert_int_equal(test_assign(&t, "", 4, &b), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(test_assign(&t, ".", 4, &b), -1);
	assert_int_equal(test_assign(&t, "a b", 4, &b), -1);
	assert_int_equal(test_assign(&t, "a\tb", 4, &b), -1);
	assert_int_equal(synth_table_assign(t.mem, "a\0b", 3, 4, &b), -1);
	assert_int_equal(test_assign(&t, "caf\xc3\xa9.test", 4, &b), -1);
	memset(longname, 'a', sizeof(longname));
	assert_int_equal(synth_table_assign(t.mem, longname, 254, 4, &b), -1);
	assert_int_equal(synth_table_assign(t.mem, longname, 253, 4, &b), 0);
	assert_int_equal(b.namelen, 253);
	longname[253] = '.';
	assert_int_equal(synth_table_assign(t.mem, longname, 254, 4, &b), 0); /* 253 + dot */
	assert_int_equal(synth_table_count(t.mem), 2);
	assert_int_equal(synth_table_canon_name("A.B", 3, canon), 3);
	assert_string_equal(canon, "a.b");
	/* One trailing dot at most: "x.." is refused, not turned into the
	 * non-canonical "x." (found by fuzzing). */
	assert_int_equal(synth_table_canon_name("x..", 3, canon), -1);
	test_tab_ok(&t);
	test_tab_free(&t);
}

/* Capacity 3: the fourth name recycles the least recently used slot once it
 * is out of quarantine, and gets that slot's addresses. */
static void test_lru_and_quarantine(void **state)
{
	struct test_tab t;
	struct synth_entry_info a, b, c, d, e;

	(void)state;
	test_tab_new(&t, "0.0.0.0", 8, "100::", 64, 3, 600, 0);
	assert_int_equal(test_assign(&t, "a.test", 100, &a), 0);
	assert_int_equal(test_assign(&t, "b.test", 101, &b), 0);
	assert_int_equal(test_assign(&t, "c.test", 102, &c), 0);
	/* Touch a through its address: b becomes the least recently used. */
	assert_int_equal(synth_table_lookup_v4(t.mem, &a.v4, 200, &e), 0);

	/* All three used within 600 s: nothing can be recycled. */
	errno = 0;
	assert_int_equal(test_assign(&t, "d.test", 700, &d), -1);
	assert_int_equal(errno, ENOSPC);
	/* A clock running backwards counts as recent, too. */
	assert_int_equal(test_assign(&t, "d.test", 50, &d), -1);
	assert_int_equal(errno, ENOSPC);
	/* Existing names still resolve while the table is full. */
	assert_int_equal(test_assign(&t, "c.test", 700, &e), 0);
	assert_memory_equal(&e.v4, &c.v4, sizeof(c.v4));

	/* b was last used at 101: free for reuse at 701, not before. */
	assert_int_equal(test_assign(&t, "d.test", 700, &d), -1);
	assert_int_equal(test_assign(&t, "d.test", 701, &d), 0);
	assert_memory_equal(&d.v4, &b.v4, sizeof(b.v4));
	assert_memory_equal(&d.v6, &b.v6, sizeof(b.v6));
	assert_int_equal(d.created, 701);
	assert_int_equal(synth_table_lookup_name(t.mem, "b.test", 6, 702, &e), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(synth_table_lookup_v4(t.mem, &b.v4, 702, &e), 0);
	assert_string_equal(e.name, "d.test");
	assert_int_equal(synth_table_count(t.mem), 3);

	/* Next victim is a (last use 200), then c (700). */
	assert_int_equal(test_assign(&t, "e.test", 801, &e), 0);
	assert_memory_equal(&e.v4, &a.v4, sizeof(a.v4));
	assert_int_equal(test_assign(&t, "f.test", 801, &e), -1);
	assert_int_equal(test_assign(&t, "f.test", 1300, &e), 0);
	assert_memory_equal(&e.v4, &c.v4, sizeof(c.v4));
	test_tab_ok(&t);
	test_tab_free(&t);
}

static int test_collect(const struct synth_entry_info *e, void *arg)
{
	char *out = arg;

	strcat(out, e->name);
	strcat(out, " ");
	return 0;
}

static void test_foreach_order(void **state)
{
	struct test_tab t;
	struct synth_entry_info e;
	char out[200] = "";

	(void)state;
	test_tab_new(&t, "0.0.0.0", 8, "100::", 64, 8, 0, 3);
	assert_int_equal(test_assign(&t, "one", 1, &e), 0);
	assert_int_equal(test_assign(&t, "two", 2, &e), 0);
	assert_int_equal(test_assign(&t, "three", 3, &e), 0);
	assert_int_equal(synth_table_lookup_name(t.mem, "one", 3, 4, &e), 0);
	assert_int_equal(synth_table_foreach(t.mem, test_collect, out), 0);
	assert_string_equal(out, "one three two ");
	test_tab_free(&t);
}

/* Small pools bound the capacity; the seed rotates addresses inside the
 * pool and lookups invert it, wrapping around the end of the pool. */
static void test_small_pools(void **state)
{
	struct test_tab t;
	struct synth_entry_info e[4], x;
	uint32_t gen;

	(void)state;
	/* 10.1.2.0/30 has 3 usable addresses (offset 0 is never used); v6 /126 too. */
	test_tab_new(&t, "10.1.2.0", 30, "2001:db8:5::", 126, 1000, 0, 2);
	assert_true(t.len < synth_table_size(&(struct synth_table_config){
				    .v4_plen = 8, .v6_plen = 64, .capacity = 1000}));
	assert_int_equal(test_assign(&t, "n0", 10, &e[0]), 0);
	assert_int_equal(test_assign(&t, "n1", 11, &e[1]), 0);
	assert_int_equal(test_assign(&t, "n2", 12, &e[2]), 0);
	test_expect_v4(&e[0].v4, "10.1.2.3");
	test_expect_v4(&e[1].v4, "10.1.2.1");
	test_expect_v4(&e[2].v4, "10.1.2.2");
	test_expect_v6(&e[0].v6, "2001:db8:5::3");
	test_expect_v6(&e[1].v6, "2001:db8:5::1");
	for (int i = 0; i < 3; i++) {
		assert_int_equal(synth_table_lookup_v4(t.mem, &e[i].v4, 20, &x), 0);
		assert_string_equal(x.name, e[i].name);
		assert_int_equal(synth_table_lookup_v6(t.mem, &e[i].v6, 20, &x), 0);
		assert_string_equal(x.name, e[i].name);
	}
	/* Quarantine 0: a full pool recycles at once, LRU first (n0). */
	gen = synth_table_generation(t.mem);
	assert_int_equal(test_assign(&t, "n3", 21, &e[3]), 0);
	assert_true(synth_table_generation(t.mem) != gen);
	assert_memory_equal(&e[3].v4, &e[0].v4, sizeof(e[0].v4));
	assert_int_equal(synth_table_count(t.mem), 3);
	/* Cycle many names through the three slots; the table stays sound. */
	for (int i = 0; i < 100; i++) {
		char name[16];

		snprintf(name, sizeof(name), "loop%d", i);
		assert_int_equal(test_assign(&t, name, 30 + (uint64_t)i, &x), 0);
		assert_true(synth_table_in_pool_v4(t.mem, &x.v4));
		assert_true(synth_table_in_pool_v6(t.mem, &x.v6));
	}
	test_tab_ok(&t);
	test_tab_free(&t);

	/* A large seed near the end of the /8: offsets wrap to the start. */
	test_tab_new(&t, "0.0.0.0", 8, "100::", 64, 4, 0, 0xfffffdu);
	for (int i = 0; i < 4; i++) {
		char name[16];

		snprintf(name, sizeof(name), "w%d", i);
		assert_int_equal(test_assign(&t, name, 1, &x), 0);
		assert_int_equal(synth_table_lookup_v4(t.mem, &x.v4, 2, &e[0]), 0);
		assert_string_equal(e[0].name, name);
		assert_int_equal(synth_table_lookup_v6(t.mem, &x.v6, 2, &e[0]), 0);
		assert_string_equal(e[0].name, name);
		if (i == 0)
			test_expect_v4(&x.v4, "0.255.255.254");
		if (i == 2)
			test_expect_v4(&x.v4, "0.0.0.1");
	}
	test_tab_free(&t);
}

static void test_bad_configs(void **state)
{
	struct synth_table_config c;
	char why[100];
	char mem[64] __attribute__((aligned(8)));

	(void)state;
	synth_table_config_default(&c);
	c.v4_plen = 31;
	assert_int_equal(synth_table_config_check(&c, why, sizeof(why)), -1);
	assert_int_equal(synth_table_size(&c), 0);
	c.v4_plen = 7;
	assert_int_equal(synth_table_config_check(&c, why, sizeof(why)), -1);
	synth_table_config_default(&c);
	inet_pton(AF_INET, "0.0.0.1", &c.v4_net);
	assert_int_equal(synth_table_config_check(&c, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "host bits"));
	synth_table_config_default(&c);
	inet_pton(AF_INET6, "100::1:0:0", &c.v6_net);
	c.v6_plen = 80;
	assert_int_equal(synth_table_config_check(&c, why, sizeof(why)), -1);
	c.v6_plen = 63;
	assert_int_equal(synth_table_config_check(&c, why, sizeof(why)), -1);
	synth_table_config_default(&c);
	c.capacity = 0;
	assert_int_equal(synth_table_config_check(&c, why, sizeof(why)), -1);
	/* A region too small is refused. */
	synth_table_config_default(&c);
	assert_int_equal(synth_table_init(mem, sizeof(mem), &c, 0), -1);
}

/* Damage one thing at a time in a copy of a populated table; the check must
 * name the problem every time, and the intact copy must pass. */
static void test_corruption(void **state)
{
	struct test_tab t;
	struct synth_entry_info e;
	struct synth_table_config other;
	char why[200];
	void *copy;
	uint32_t *w;

	(void)state;
	test_tab_new(&t, "0.0.0.0", 8, "100::", 64, 32, 600, 11);
	for (int i = 0; i < 20; i++) {
		char name[16];

		snprintf(name, sizeof(name), "host%d.test", i);
		assert_int_equal(test_assign(&t, name, (uint64_t)i, &e), 0);
	}
	test_tab_ok(&t);
	copy = malloc(t.len);
	assert_non_null(copy);

	/* Truncated region. */
	assert_int_equal(synth_table_check(t.mem, t.len - 1, &t.cfg, why, sizeof(why)), -1);
	assert_int_equal(synth_table_check(t.mem, 8, &t.cfg, why, sizeof(why)), -1);
	/* Another configuration. */
	other = t.cfg;
	other.quarantine = 60;
	assert_int_equal(synth_table_check(t.mem, t.len, &other, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "differ"));
	assert_int_equal(synth_table_check(t.mem, t.len, NULL, why, sizeof(why)), 0);

	/* Every word of the header (magic, version, sizes, pools, checksum,
	 * counters, list heads) flipped in turn is detected, except the
	 * generation counter at offset 68, which carries no structure.  The
	 * offsets mirror struct synth_hdr (88 bytes). */
	for (size_t off = 0; off < 84; off += 4) {
		memcpy(copy, t.mem, t.len);
		w = (uint32_t *)((char *)copy + off);
		*w ^= 0x00010001u;
		if (off == 68) {
			assert_int_equal(synth_table_check(copy, t.len, &t.cfg, why, sizeof(why)),
					 0);
			assert_int_not_equal(synth_table_generation(copy),
					     synth_table_generation(t.mem));
		} else if (synth_table_check(copy, t.len, &t.cfg, why, sizeof(why)) == 0) {
			fail_msg("flipped header word at offset %zu not detected", off);
		}
	}

	/* Zeroed header. */
	memcpy(copy, t.mem, t.len);
	memset(copy, 0, 16);
	assert_int_equal(synth_table_check(copy, t.len, &t.cfg, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "magic"));

	/* Scribbles over the entries and the index (entry 0 starts at 88:
	 * hnext, lru_prev, lru_next, hash; the bucket array ends the region). */
	struct {
		size_t off;
		uint32_t val;
	} hits[] = {
		{88, 0}, /* entry 0 chained to itself */
		{92, 3}, /* LRU back link wrong */
		{96, 0xfffffff0u}, /* LRU link out of range */
		{100, 0x12345678}, /* stale hash */
		{t.len - 8, 0xfffffff0u}, /* a bucket head out of range */
	};
	for (size_t i = 0; i < sizeof(hits) / sizeof(hits[0]); i++) {
		memcpy(copy, t.mem, t.len);
		memcpy((char *)copy + hits[i].off, &hits[i].val, 4);
		if (synth_table_check(copy, t.len, &t.cfg, why, sizeof(why)) == 0)
			fail_msg("scribble at offset %zu not detected", hits[i].off);
	}
	/* Every bucket head moved to the next bucket: chains of the wrong hash. */
	memcpy(copy, t.mem, t.len);
	{
		uint32_t *b = (uint32_t *)((char *)copy + t.len - 32 * sizeof(uint32_t));
		uint32_t last = b[31];

		memmove(b + 1, b, 31 * sizeof(uint32_t));
		b[0] = last;
		assert_int_equal(synth_table_check(copy, t.len, &t.cfg, why, sizeof(why)), -1);
		assert_non_null(strstr(why, "name index"));
	}

	/* An upper-case byte in a stored name. */
	memcpy(copy, t.mem, t.len);
	{
		char *p = memmem(copy, t.len, "host7.test", 10);

		assert_non_null(p);
		p[0] = 'H';
		assert_int_equal(synth_table_check(copy, t.len, &t.cfg, why, sizeof(why)), -1);
		p[0] = 'h';
		p[4] = '8'; /* now "host8.test" twice, with a stale hash */
		assert_int_equal(synth_table_check(copy, t.len, &t.cfg, why, sizeof(why)), -1);
	}
	free(copy);
	test_tab_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),      cmocka_unit_test(test_assign_and_lookup),
		cmocka_unit_test(test_names),         cmocka_unit_test(test_lru_and_quarantine),
		cmocka_unit_test(test_foreach_order), cmocka_unit_test(test_small_pools),
		cmocka_unit_test(test_bad_configs),   cmocka_unit_test(test_corruption),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
