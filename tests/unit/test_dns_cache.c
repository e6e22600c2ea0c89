/* Unit tests for dns/cache.c: keys, TTLs against the passed clock, LRU. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cache.h"

static struct dns_answer test_v4(const char *addr)
{
	struct dns_answer a;

	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	a.status = DNS_OK;
	a.naddrs = 1;
	assert_int_equal(inet_pton(AF_INET, addr, &a.addrs[0].v4), 1);
	return a;
}

static struct dns_answer test_v6(const char *addr)
{
	struct dns_answer a;

	memset(&a, 0, sizeof(a));
	a.family = AF_INET6;
	a.status = DNS_OK;
	a.naddrs = 1;
	assert_int_equal(inet_pton(AF_INET6, addr, &a.addrs[0].v6), 1);
	return a;
}

static struct dns_answer test_status(int family, enum dns_status st)
{
	struct dns_answer a;

	memset(&a, 0, sizeof(a));
	a.family = family;
	a.status = st;
	return a;
}

static void test_v4_equal(const struct dns_answer *a, const char *addr)
{
	struct in_addr want;

	assert_int_equal(inet_pton(AF_INET, addr, &want), 1);
	assert_int_equal(a->family, AF_INET);
	assert_int_equal(a->status, DNS_OK);
	assert_int_equal(a->naddrs, 1);
	assert_memory_equal(&a->addrs[0].v4, &want, sizeof(want));
}

static void test_put_get(void **state)
{
	struct dns_cache *c = dns_cache_new(16);
	struct dns_answer a = test_v4("198.51.100.80"), out;

	(void)state;
	assert_non_null(c);
	assert_false(dns_cache_get(c, "www.v4.test", AF_INET, 1000, &out));
	dns_cache_put(c, "www.v4.test", AF_INET, 1000, &a, 300);
	assert_int_equal(dns_cache_count(c), 1);
	memset(&out, 0xa5, sizeof(out));
	assert_true(dns_cache_get(c, "www.v4.test", AF_INET, 1000, &out));
	test_v4_equal(&out, "198.51.100.80");
	assert_int_equal(out.ttl, 300);
	assert_false(dns_cache_get(c, "www.v4.tes", AF_INET, 1000, &out));
	assert_false(dns_cache_get(c, "ww.v4.test", AF_INET, 1000, &out));
	dns_cache_free(c);
}

static void test_case_and_trailing_dot(void **state)
{
	struct dns_cache *c = dns_cache_new(16);
	struct dns_answer a = test_v4("203.0.113.80"), out;

	(void)state;
	dns_cache_put(c, "WWW.V4.Test.", AF_INET, 0, &a, 60);
	assert_true(dns_cache_get(c, "www.v4.test", AF_INET, 0, &out));
	test_v4_equal(&out, "203.0.113.80");
	assert_true(dns_cache_get(c, "www.V4.TEST.", AF_INET, 0, &out));
	assert_true(dns_cache_get(c, "wWw.v4.tEsT", AF_INET, 0, &out));
	/* Only one trailing dot is the root label; two are a different name. */
	assert_false(dns_cache_get(c, "www.v4.test..", AF_INET, 0, &out));
	/* The same name in another spelling replaces, it does not duplicate. */
	dns_cache_put(c, "www.v4.test", AF_INET, 0, &a, 60);
	assert_int_equal(dns_cache_count(c), 1);
	dns_cache_free(c);
}

static void test_bad_names(void **state)
{
	struct dns_cache *c = dns_cache_new(16);
	struct dns_answer a = test_v4("203.0.113.80"), out;
	char longname[DNS_NAME_MAX + 3];
	char canon[DNS_NAME_MAX + 1];

	(void)state;
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	dns_cache_put(c, "", AF_INET, 0, &a, 60);
	dns_cache_put(c, ".", AF_INET, 0, &a, 60);
	dns_cache_put(c, longname, AF_INET, 0, &a, 60);
	assert_int_equal(dns_cache_count(c), 0);
	assert_false(dns_cache_get(c, "", AF_INET, 0, &out));
	assert_false(dns_cache_get(c, longname, AF_INET, 0, &out));
	/* Exactly DNS_NAME_MAX characters (plus the optional dot) still fit. */
	longname[DNS_NAME_MAX] = '.';
	longname[DNS_NAME_MAX + 1] = '\0';
	assert_int_equal(dns_name_canon(longname, canon), DNS_NAME_MAX);
	dns_cache_put(c, longname, AF_INET, 0, &a, 60);
	assert_int_equal(dns_cache_count(c), 1);
	longname[DNS_NAME_MAX] = '\0';
	assert_true(dns_cache_get(c, longname, AF_INET, 0, &out));
	dns_cache_free(c);
}

static void test_family_separation(void **state)
{
	struct dns_cache *c = dns_cache_new(16);
	struct dns_answer a4 = test_v4("198.51.100.80"), a6 = test_v6("2001:db8:6::80");
	struct dns_answer out;
	struct in6_addr want6;

	(void)state;
	dns_cache_put(c, "dual.test", AF_INET, 0, &a4, 100);
	assert_false(dns_cache_get(c, "dual.test", AF_INET6, 0, &out));
	dns_cache_put(c, "dual.test", AF_INET6, 0, &a6, 200);
	assert_int_equal(dns_cache_count(c), 2);
	assert_true(dns_cache_get(c, "dual.test", AF_INET, 0, &out));
	test_v4_equal(&out, "198.51.100.80");
	assert_int_equal(out.ttl, 100);
	assert_true(dns_cache_get(c, "dual.test", AF_INET6, 0, &out));
	assert_int_equal(out.family, AF_INET6);
	assert_int_equal(out.ttl, 200);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8:6::80", &want6), 1);
	assert_memory_equal(&out.addrs[0].v6, &want6, sizeof(want6));
	dns_cache_free(c);
}

static void test_expiry(void **state)
{
	struct dns_cache *c = dns_cache_new(16);
	struct dns_answer a = test_v4("198.51.100.80"), out;

	(void)state;
	dns_cache_put(c, "www.v4.test", AF_INET, 5000, &a, 10);
	assert_true(dns_cache_get(c, "www.v4.test", AF_INET, 5000 + 9999, &out));
	assert_int_equal(out.ttl, 1);
	assert_false(dns_cache_get(c, "www.v4.test", AF_INET, 5000 + 10000, &out));
	/* The expired entry was removed, not just hidden. */
	assert_int_equal(dns_cache_count(c), 0);
	assert_false(dns_cache_get(c, "www.v4.test", AF_INET, 5000, &out));
	dns_cache_free(c);
}

static void test_ttl_left(void **state)
{
	struct dns_cache *c = dns_cache_new(16);
	struct dns_answer a = test_v4("198.51.100.80"), out;
	uint32_t prev = UINT32_MAX;

	(void)state;
	dns_cache_put(c, "www.v4.test", AF_INET, 0, &a, 300);
	for (uint64_t t = 0; t < 300000; t += 7001) {
		assert_true(dns_cache_get(c, "www.v4.test", AF_INET, t, &out));
		assert_true(out.ttl < prev || t == 0);
		assert_int_equal(out.ttl, (300000 - t + 999) / 1000);
		prev = out.ttl;
	}
	assert_true(dns_cache_get(c, "www.v4.test", AF_INET, 299500, &out));
	assert_int_equal(out.ttl, 1);
	dns_cache_free(c);
}

static void test_lru_eviction(void **state)
{
	struct dns_cache *c = dns_cache_new(3);
	struct dns_answer a = test_v4("198.51.100.80"), out;

	(void)state;
	dns_cache_put(c, "a.test", AF_INET, 0, &a, 60);
	dns_cache_put(c, "b.test", AF_INET, 0, &a, 60);
	dns_cache_put(c, "c.test", AF_INET, 0, &a, 60);
	assert_int_equal(dns_cache_count(c), 3);
	/* Touch a: b becomes the least recently used. */
	assert_true(dns_cache_get(c, "a.test", AF_INET, 0, &out));
	dns_cache_put(c, "d.test", AF_INET, 0, &a, 60);
	assert_int_equal(dns_cache_count(c), 3);
	assert_false(dns_cache_get(c, "b.test", AF_INET, 0, &out));
	/* Order now (old -> new): c, a, d.  Replacing c refreshes it too. */
	dns_cache_put(c, "c.test", AF_INET, 0, &a, 60);
	dns_cache_put(c, "e.test", AF_INET, 0, &a, 60);
	assert_false(dns_cache_get(c, "a.test", AF_INET, 0, &out));
	assert_true(dns_cache_get(c, "c.test", AF_INET, 0, &out));
	assert_true(dns_cache_get(c, "d.test", AF_INET, 0, &out));
	assert_true(dns_cache_get(c, "e.test", AF_INET, 0, &out));
	assert_int_equal(dns_cache_count(c), 3);
	dns_cache_free(c);
}

static void test_replace(void **state)
{
	struct dns_cache *c = dns_cache_new(16);
	struct dns_answer a = test_v4("198.51.100.80"), b = test_v4("203.0.113.80"), out;
	struct dns_answer nx = test_status(AF_INET, DNS_NXDOMAIN);

	(void)state;
	dns_cache_put(c, "www.v4.test", AF_INET, 0, &a, 300);
	dns_cache_put(c, "www.v4.test", AF_INET, 1000, &b, 5);
	assert_int_equal(dns_cache_count(c), 1);
	assert_true(dns_cache_get(c, "www.v4.test", AF_INET, 1000, &out));
	test_v4_equal(&out, "203.0.113.80");
	assert_int_equal(out.ttl, 5);
	/* The shorter TTL of the replacement applies. */
	assert_false(dns_cache_get(c, "www.v4.test", AF_INET, 6000, &out));
	dns_cache_put(c, "www.v4.test", AF_INET, 0, &a, 300);
	dns_cache_put(c, "www.v4.test", AF_INET, 0, &nx, 30);
	assert_true(dns_cache_get(c, "www.v4.test", AF_INET, 0, &out));
	assert_int_equal(out.status, DNS_NXDOMAIN);
	assert_int_equal(out.naddrs, 0);
	dns_cache_free(c);
}

static void test_negative(void **state)
{
	struct dns_cache *c = dns_cache_new(16);
	struct dns_answer nod = test_status(AF_INET, DNS_NODATA);
	struct dns_answer nx = test_status(AF_INET6, DNS_NXDOMAIN);
	struct dns_answer to = test_status(AF_INET, DNS_TIMEOUT);
	struct dns_answer fail = test_status(AF_INET, DNS_FAIL);
	struct dns_answer good = test_v4("198.51.100.80"), out;

	(void)state;
	dns_cache_put(c, "www.v6.test", AF_INET, 0, &nod, 30);
	dns_cache_put(c, "x.test", AF_INET6, 0, &nx, 30);
	assert_true(dns_cache_get(c, "www.v6.test", AF_INET, 0, &out));
	assert_int_equal(out.status, DNS_NODATA);
	assert_int_equal(out.family, AF_INET);
	assert_int_equal(out.ttl, 30);
	assert_true(dns_cache_get(c, "x.test", AF_INET6, 29999, &out));
	assert_int_equal(out.status, DNS_NXDOMAIN);
	assert_false(dns_cache_get(c, "x.test", AF_INET6, 30000, &out));
	/* Timeouts and failures are not stored, nor do they replace. */
	dns_cache_put(c, "t.test", AF_INET, 0, &to, 30);
	dns_cache_put(c, "f.test", AF_INET, 0, &fail, 30);
	assert_false(dns_cache_get(c, "t.test", AF_INET, 0, &out));
	assert_false(dns_cache_get(c, "f.test", AF_INET, 0, &out));
	dns_cache_put(c, "g.test", AF_INET, 0, &good, 30);
	dns_cache_put(c, "g.test", AF_INET, 0, &fail, 30);
	assert_true(dns_cache_get(c, "g.test", AF_INET, 0, &out));
	test_v4_equal(&out, "198.51.100.80");
	/* A zero TTL means "do not cache". */
	dns_cache_put(c, "z.test", AF_INET, 0, &good, 0);
	assert_false(dns_cache_get(c, "z.test", AF_INET, 0, &out));
	assert_int_equal(dns_cache_count(c), 2);
	dns_cache_free(c);
}

static void test_many(void **state)
{
	struct dns_cache *c = dns_cache_new(4096);
	struct dns_answer a = test_v4("198.51.100.80"), out;
	char name[64];

	(void)state;
	for (unsigned i = 0; i < 100000; i++) {
		snprintf(name, sizeof(name), "host%u.many.test", i);
		a.addrs[0].v4.s_addr = htonl(i);
		dns_cache_put(c, name, (i & 1) ? AF_INET6 : AF_INET, i, &a, 3600);
		assert_true(dns_cache_count(c) <= 4096);
	}
	assert_int_equal(dns_cache_count(c), 4096);
	/* Exactly the last 4096 survive. */
	for (unsigned i = 100000 - 4096; i < 100000; i++) {
		snprintf(name, sizeof(name), "HOST%u.many.test.", i);
		assert_true(dns_cache_get(c, name, (i & 1) ? AF_INET6 : AF_INET, 100000, &out));
		assert_int_equal(ntohl(out.addrs[0].v4.s_addr), i);
	}
	for (unsigned i = 0; i < 100000 - 4096; i += 97) {
		snprintf(name, sizeof(name), "host%u.many.test", i);
		assert_false(dns_cache_get(c, name, (i & 1) ? AF_INET6 : AF_INET, 100000, &out));
	}
	dns_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get),      cmocka_unit_test(test_case_and_trailing_dot),
		cmocka_unit_test(test_bad_names),    cmocka_unit_test(test_family_separation),
		cmocka_unit_test(test_expiry),       cmocka_unit_test(test_ttl_left),
		cmocka_unit_test(test_lru_eviction), cmocka_unit_test(test_replace),
		cmocka_unit_test(test_negative),     cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
