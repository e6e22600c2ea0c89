/* Unit tests for socks_addr: names, literals inside names, sockaddr
 * conversion, the synthetic-IPv4 check and log formatting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "socks_addr.h"

/* A struct full of a byte no field takes, to see what a call wrote. */
static void test_addr_poison(struct socks_addr *a)
{
	memset(a, 0xa5, sizeof(*a));
}

/* set_name() on a heap copy of exactly len bytes, so reading past the end
 * is caught by ASan/valgrind. */
static enum socks_name_status test_addr_set(struct socks_addr *a, const char *name, size_t len)
{
	char *copy = malloc(len ? len : 1);
	enum socks_name_status st;

	assert_non_null(copy);
	memcpy(copy, name, len);
	st = socks_addr_set_name(a, copy, len);
	free(copy);
	return st;
}

static enum socks_name_status test_addr_set_str(struct socks_addr *a, const char *name)
{
	return test_addr_set(a, name, strlen(name));
}

static void test_addr_expect_v4(const char *text, const char *want)
{
	struct socks_addr a;
	struct in_addr v4;

	test_addr_poison(&a);
	a.port = 8080;
	assert_int_equal(test_addr_set_str(&a, text), SOCKS_NAME_LITERAL);
	assert_int_equal(a.atyp, SOCKS_ATYP_IPV4);
	assert_int_equal(inet_pton(AF_INET, want, &v4), 1);
	assert_memory_equal(&a.u.v4, &v4, sizeof(v4));
	assert_int_equal(a.port, 8080);
}

static void test_addr_expect_v6(const char *text, const char *want)
{
	struct socks_addr a;
	struct in6_addr v6;

	test_addr_poison(&a);
	a.port = 443;
	assert_int_equal(test_addr_set_str(&a, text), SOCKS_NAME_LITERAL);
	assert_int_equal(a.atyp, SOCKS_ATYP_IPV6);
	assert_int_equal(inet_pton(AF_INET6, want, &v6), 1);
	assert_memory_equal(&a.u.v6, &v6, sizeof(v6));
	assert_int_equal(a.port, 443);
}

static void test_addr_expect_name(const char *text, const char *want)
{
	struct socks_addr a;

	test_addr_poison(&a);
	a.port = 80;
	assert_int_equal(test_addr_set_str(&a, text), SOCKS_NAME_OK);
	assert_int_equal(a.atyp, SOCKS_ATYP_NAME);
	assert_int_equal(a.namelen, strlen(want));
	assert_string_equal(a.u.name, want);
	assert_int_equal(a.port, 80);
}

/* A refused name leaves the address exactly as it was. */
static void test_addr_expect_status(const char *name, size_t len, enum socks_name_status want)
{
	struct socks_addr a, before;

	test_addr_poison(&a);
	before = a;
	assert_int_equal(test_addr_set(&a, name, len), want);
	assert_memory_equal(&a, &before, sizeof(a));
}

static void test_name_plain(void **state)
{
	(void)state;
	test_addr_expect_name("www.example", "www.example");
	test_addr_expect_name("WWW.Example.TEST", "WWW.Example.TEST");
	test_addr_expect_name("localhost", "localhost");
	test_addr_expect_name("xn--bcher-kva.example", "xn--bcher-kva.example");
}

static void test_name_trailing_dot(void **state)
{
	(void)state;
	test_addr_expect_name("www.v6.test.", "www.v6.test");
	/* Only one trailing dot (the root) is allowed: "a.." has an empty
	 * label, and keeping "a." would change the name each time it is
	 * stored (found by fuzzing). */
	test_addr_expect_status("a..", 3, SOCKS_NAME_BAD);
	test_addr_expect_status("example.org..", 13, SOCKS_NAME_BAD);
	test_addr_expect_v4("198.51.100.7.", "198.51.100.7");
	test_addr_expect_v6("2001:db8::1.", "2001:db8::1");
}

static void test_name_empty(void **state)
{
	(void)state;
	test_addr_expect_status("", 0, SOCKS_NAME_EMPTY);
	test_addr_expect_status(".", 1, SOCKS_NAME_EMPTY);
}

static void test_name_bad_bytes(void **state)
{
	static const char *bad[] = {
		"a\0b", "www.example\0", "\0",     "a b",      "tab\there",
		"nl\n", "del\x7f",       "hi\x80", "\xff\xfe", "\x01",
	};
	static const size_t len[] = {3, 12, 1, 3, 8, 3, 4, 3, 2, 1};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		test_addr_expect_status(bad[i], len[i], SOCKS_NAME_BAD);
}

static void test_name_length(void **state)
{
	char name[300];
	struct socks_addr a;

	(void)state;
	memset(name, 'a', sizeof(name));
	/* 255 octets is the most one length octet can say (RFC 1928 §5). */
	test_addr_poison(&a);
	assert_int_equal(test_addr_set(&a, name, 255), SOCKS_NAME_OK);
	assert_int_equal(a.atyp, SOCKS_ATYP_NAME);
	assert_int_equal(a.namelen, 255);
	assert_int_equal(strlen(a.u.name), 255);
	assert_memory_equal(a.u.name, name, 255);

	name[254] = '.';
	assert_int_equal(test_addr_set(&a, name, 255), SOCKS_NAME_OK);
	assert_int_equal(a.namelen, 254);
	assert_int_equal(strlen(a.u.name), 254);

	test_addr_expect_status(name, 256, SOCKS_NAME_BAD);
	test_addr_expect_status(name, 300, SOCKS_NAME_BAD);
}

static void test_name_literal_v4(void **state)
{
	(void)state;
	test_addr_expect_v4("198.51.100.1", "198.51.100.1");
	test_addr_expect_v4("0.0.0.17", "0.0.0.17");
	test_addr_expect_v4("255.255.255.255", "255.255.255.255");
	/* Only a full dotted quad is a literal (inet_pton AF_INET). */
	test_addr_expect_name("1.2.3", "1.2.3");
	test_addr_expect_name("127.1", "127.1");
	test_addr_expect_name("0x7f.0.0.1", "0x7f.0.0.1");
	test_addr_expect_name("2130706433", "2130706433");
	test_addr_expect_name("1.2.3.256", "1.2.3.256");
	test_addr_expect_name("1.2.3.4.5", "1.2.3.4.5");
}

static void test_name_literal_v6(void **state)
{
	(void)state;
	test_addr_expect_v6("2001:db8::1", "2001:db8::1");
	test_addr_expect_v6("::1", "::1");
	test_addr_expect_v6("2001:DB8:6::80", "2001:db8:6::80");
	test_addr_expect_v6("[2001:db8::1]", "2001:db8::1");
	test_addr_expect_v6("[::]", "::");
	test_addr_expect_v6("[2001:db8::1].", "2001:db8::1");
	/* v4-mapped is an IPv4 destination (rules must see it as such). */
	test_addr_expect_v4("::ffff:127.0.0.1", "127.0.0.1");
	test_addr_expect_v4("[::ffff:0.0.0.5]", "0.0.0.5");
}

static void test_name_brackets_bad(void **state)
{
	static const char *bad[] = {
		"[]",
		"[",
		"]",
		"[2001:db8::1",
		"2001:db8::1]",
		"[198.51.100.1]",
		"[www.example]",
		"[2001:db8::g]",
		"[[::1]]",
		"[::1]x",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		test_addr_expect_status(bad[i], strlen(bad[i]), SOCKS_NAME_BAD);
}

static void test_from_sockaddr(void **state)
{
	struct sockaddr_in sin = {0};
	struct sockaddr_in6 sin6 = {0};
	struct sockaddr_un sun = {0};
	struct socks_addr a, before;
	struct in6_addr want6;

	(void)state;
	sin.sin_family = AF_INET;
	sin.sin_port = htons(1080);
	inet_pton(AF_INET, "203.0.113.80", &sin.sin_addr);
	test_addr_poison(&a);
	assert_int_equal(socks_addr_from_sockaddr(&a, (struct sockaddr *)&sin), 0);
	assert_int_equal(a.atyp, SOCKS_ATYP_IPV4);
	assert_int_equal(a.port, 1080);
	assert_memory_equal(&a.u.v4, &sin.sin_addr, 4);

	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(65535);
	inet_pton(AF_INET6, "2001:db8:6::80", &sin6.sin6_addr);
	want6 = sin6.sin6_addr;
	test_addr_poison(&a);
	assert_int_equal(socks_addr_from_sockaddr(&a, (struct sockaddr *)&sin6), 0);
	assert_int_equal(a.atyp, SOCKS_ATYP_IPV6);
	assert_int_equal(a.port, 65535);
	assert_memory_equal(&a.u.v6, &want6, 16);

	inet_pton(AF_INET6, "::ffff:198.51.100.10", &sin6.sin6_addr);
	sin6.sin6_port = htons(1);
	test_addr_poison(&a);
	assert_int_equal(socks_addr_from_sockaddr(&a, (struct sockaddr *)&sin6), 0);
	assert_int_equal(a.atyp, SOCKS_ATYP_IPV4);
	assert_int_equal(a.port, 1);
	assert_int_equal(ntohl(a.u.v4.s_addr), 0xc633640a);

	sun.sun_family = AF_UNIX;
	test_addr_poison(&a);
	before = a;
	assert_int_equal(socks_addr_from_sockaddr(&a, (struct sockaddr *)&sun), -1);
	assert_memory_equal(&a, &before, sizeof(a));
}

static void test_to_sockaddr(void **state)
{
	struct socks_addr a;
	struct sockaddr_storage ss;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
	struct socks_addr back;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.port = 80;
	assert_int_equal(test_addr_set_str(&a, "198.51.100.1"), SOCKS_NAME_LITERAL);
	memset(&ss, 0xa5, sizeof(ss));
	assert_int_equal(socks_addr_to_sockaddr(&a, &ss), sizeof(struct sockaddr_in));
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 80);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0xc6336401);
	assert_int_equal(socks_addr_from_sockaddr(&back, (struct sockaddr *)&ss), 0);
	assert_int_equal(back.atyp, a.atyp);
	assert_int_equal(back.port, a.port);
	assert_memory_equal(&back.u.v4, &a.u.v4, 4);

	a.port = 443;
	assert_int_equal(test_addr_set_str(&a, "2001:db8::1"), SOCKS_NAME_LITERAL);
	memset(&ss, 0xa5, sizeof(ss));
	assert_int_equal(socks_addr_to_sockaddr(&a, &ss), sizeof(struct sockaddr_in6));
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 443);
	assert_memory_equal(&sin6->sin6_addr, &a.u.v6, 16);
	assert_int_equal(sin6->sin6_flowinfo, 0);
	assert_int_equal(sin6->sin6_scope_id, 0);
	assert_int_equal(socks_addr_from_sockaddr(&back, (struct sockaddr *)&ss), 0);
	assert_int_equal(back.atyp, SOCKS_ATYP_IPV6);
	assert_int_equal(back.port, 443);
	assert_memory_equal(&back.u.v6, &a.u.v6, 16);

	assert_int_equal(test_addr_set_str(&a, "www.example"), SOCKS_NAME_OK);
	assert_int_equal(socks_addr_to_sockaddr(&a, &ss), 0);
}

static void test_synthetic_v4(void **state)
{
	static const char *synth[] = {"0.0.0.0", "0.0.0.1", "0.0.0.17", "0.1.2.3", "0.255.255.255"};
	static const char *real[] = {"1.0.0.0", "127.0.0.1", "198.51.100.1", "255.255.255.255"};
	struct socks_addr a;

	(void)state;
	memset(&a, 0, sizeof(a));
	for (size_t i = 0; i < sizeof(synth) / sizeof(synth[0]); i++) {
		assert_int_equal(test_addr_set_str(&a, synth[i]), SOCKS_NAME_LITERAL);
		assert_true(socks_addr_is_synthetic_v4(&a));
	}
	for (size_t i = 0; i < sizeof(real) / sizeof(real[0]); i++) {
		assert_int_equal(test_addr_set_str(&a, real[i]), SOCKS_NAME_LITERAL);
		assert_false(socks_addr_is_synthetic_v4(&a));
	}
	/* Only IPv4 counts: :: and ::0.0.0.5 are IPv6 addresses. */
	assert_int_equal(test_addr_set_str(&a, "::"), SOCKS_NAME_LITERAL);
	assert_false(socks_addr_is_synthetic_v4(&a));
	assert_int_equal(test_addr_set_str(&a, "::0.0.0.5"), SOCKS_NAME_LITERAL);
	assert_int_equal(a.atyp, SOCKS_ATYP_IPV6);
	assert_false(socks_addr_is_synthetic_v4(&a));
	/* A leaked synthetic address in v4-mapped form is still caught. */
	assert_int_equal(test_addr_set_str(&a, "::ffff:0.0.0.9"), SOCKS_NAME_LITERAL);
	assert_true(socks_addr_is_synthetic_v4(&a));
	assert_int_equal(test_addr_set_str(&a, "0.0.0.1.example"), SOCKS_NAME_OK);
	assert_false(socks_addr_is_synthetic_v4(&a));
}

static void test_format(void **state)
{
	char out[SOCKS_ADDR_STRLEN];
	char name[256];
	struct socks_addr a;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.port = 80;
	test_addr_set_str(&a, "198.51.100.1");
	assert_string_equal(socks_addr_format(&a, out, sizeof(out)), "198.51.100.1:80");
	test_addr_set_str(&a, "2001:db8::1");
	assert_string_equal(socks_addr_format(&a, out, sizeof(out)), "[2001:db8::1]:80");
	test_addr_set_str(&a, "www.example");
	assert_ptr_equal(socks_addr_format(&a, out, sizeof(out)), out);
	assert_string_equal(out, "www.example:80");

	/* The longest name with the longest port fits SOCKS_ADDR_STRLEN. */
	memset(name, 'n', 255);
	name[255] = '\0';
	a.port = 65535;
	assert_int_equal(test_addr_set(&a, name, 255), SOCKS_NAME_OK);
	socks_addr_format(&a, out, sizeof(out));
	assert_int_equal(strlen(out), 255 + 6);
	assert_string_equal(out + 255, ":65535");

	test_addr_set_str(&a, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	socks_addr_format(&a, out, sizeof(out));
	assert_string_equal(out, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");

	memset(&a, 0, sizeof(a));
	a.port = 7;
	assert_string_equal(socks_addr_format(&a, out, sizeof(out)), "?:7");
}

static void test_format_truncates(void **state)
{
	char out[8];
	struct socks_addr a;
	struct sockaddr_in sin = {0};

	(void)state;
	sin.sin_family = AF_INET;
	memset(&a, 0, sizeof(a));
	a.port = 80;
	test_addr_set_str(&a, "198.51.100.1");
	memset(out, 'x', sizeof(out));
	socks_addr_format(&a, out, sizeof(out));
	assert_string_equal(out, "198.51.");
	memset(out, 'x', sizeof(out));
	socks_addr_format(&a, out, 1);
	assert_int_equal(out[0], '\0');
	assert_int_equal(out[1], 'x');
	/* outlen 0: nothing may be written at all. */
	memset(out, 'x', sizeof(out));
	assert_ptr_equal(socks_addr_format(&a, out, 0), out);
	assert_int_equal(out[0], 'x');
	memset(out, 'x', sizeof(out));
	assert_ptr_equal(sockaddr_format((struct sockaddr *)&sin, out, 0), out);
	assert_int_equal(out[0], 'x');
}

static void test_sockaddr_format(void **state)
{
	char out[SOCKS_ADDR_STRLEN];
	struct sockaddr_in sin = {0};
	struct sockaddr_in6 sin6 = {0};
	struct sockaddr_un sun = {0};

	(void)state;
	sin.sin_family = AF_INET;
	sin.sin_port = htons(1080);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	assert_string_equal(sockaddr_format((struct sockaddr *)&sin, out, sizeof(out)),
			    "127.0.0.1:1080");

	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(80);
	inet_pton(AF_INET6, "2001:db8:6::80", &sin6.sin6_addr);
	assert_string_equal(sockaddr_format((struct sockaddr *)&sin6, out, sizeof(out)),
			    "[2001:db8:6::80]:80");
	inet_pton(AF_INET6, "::ffff:203.0.113.80", &sin6.sin6_addr);
	assert_string_equal(sockaddr_format((struct sockaddr *)&sin6, out, sizeof(out)),
			    "203.0.113.80:80");

	sun.sun_family = AF_UNIX;
	assert_string_equal(sockaddr_format((struct sockaddr *)&sun, out, sizeof(out)), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_plain),       cmocka_unit_test(test_name_trailing_dot),
		cmocka_unit_test(test_name_empty),       cmocka_unit_test(test_name_bad_bytes),
		cmocka_unit_test(test_name_length),      cmocka_unit_test(test_name_literal_v4),
		cmocka_unit_test(test_name_literal_v6),  cmocka_unit_test(test_name_brackets_bad),
		cmocka_unit_test(test_from_sockaddr),    cmocka_unit_test(test_to_sockaddr),
		cmocka_unit_test(test_synthetic_v4),     cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_truncates), cmocka_unit_test(test_sockaddr_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) != 0;
}
