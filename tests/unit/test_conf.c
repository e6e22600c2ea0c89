/* Unit tests for conf: the lexer, every keyword valid and invalid, defaults,
 * file:line messages and the shipped example configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "gss_frame.h"
#include "log.h"
#include "socks5.h"

#define TEST_NAME "test.conf"

static char test_err[512];

static struct conf *test_load(const char *text)
{
	test_err[0] = '\0';
	return conf_load_string(text, TEST_NAME, test_err, sizeof(test_err));
}

/* Loading must fail with exactly this message. */
static void test_expect_error(const char *text, const char *message)
{
	struct conf *c = test_load(text);

	if (c != NULL) {
		conf_unref(c);
		fail_msg("accepted: %s", text);
	}
	if (strcmp(test_err, message) != 0)
		fail_msg("input %s\n  got:      %s\n  expected: %s", text, test_err, message);
}

static void test_defaults_check(const struct conf *c)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&c->listen[0].ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&c->listen[1].ss;

	assert_int_equal(c->refs, 1);
	assert_int_equal(c->nlisten, 2);
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
	assert_int_equal(ntohs(sin->sin_port), 1080);
	assert_int_equal(c->listen[0].sslen, sizeof(struct sockaddr_in));
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_true(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	assert_int_equal(ntohs(sin6->sin6_port), 1080);
	assert_int_equal(c->listen[1].port, 1080);
	assert_int_equal(c->workers, 0);
	assert_null(c->nameservers);
	assert_int_equal(c->prefer, CONF_PREFER_IPV6);
	assert_int_equal(c->handshake_timeout_ms, 10000);
	assert_int_equal(c->connect_timeout_ms, 10000);
	assert_int_equal(c->idle_timeout_ms, 3600000);
	assert_int_equal(c->attempt_delay_ms, 250);
	assert_int_equal(c->resolution_delay_ms, 50);
	assert_int_equal(c->dns_timeout_ms, 2000);
	assert_int_equal(c->dns_tries, 2);
	assert_int_equal(c->dns_cache_size, 4096);
	assert_int_equal(c->dns_cache_max_ttl, 3600);
	assert_int_equal(c->dns_negative_ttl, 30);
	assert_int_equal(c->max_sessions, 20000);
	assert_int_equal(c->log_level, LOG_LVL_INFO);
	assert_int_equal(c->nmethods, 1);
	assert_int_equal(c->methods[0], SOCKS5_METHOD_NONE);
	assert_false(c->allow_resolve);
	assert_int_equal(c->nrules, 0);
}

static void test_default(void **state)
{
	struct conf *c = conf_default();

	(void)state;
	assert_non_null(c);
	test_defaults_check(c);
	assert_string_equal(c->file, "(embedded default)");
	conf_unref(c);
}

static void test_empty_and_comments(void **state)
{
	static const char *const texts[] = {
		"",
		"\n\n\n",
		"# only a comment\n",
		"   \t  # indented comment\n\t\n",
		"# no final newline",
		"\r\n# CRLF\r\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct conf *c = test_load(texts[i]);

		if (c == NULL)
			fail_msg("'%s': %s", texts[i], test_err);
		test_defaults_check(c);
		assert_string_equal(c->file, TEST_NAME);
		conf_unref(c);
	}
}

static void test_all_keys(void **state)
{
	struct conf *c;

	(void)state;
	c = test_load("listen 198.51.100.1:1080   # trailing comment\n"
		      "listen [2001:db8::1]:1081\n"
		      "listen br-lan:1082\n"
		      "workers 4\n"
		      "nameserver 198.51.100.53\n"
		      "nameserver 198.51.100.54:5353\n"
		      "nameserver 2001:db8::53\n"
		      "nameserver [2001:db8::54]:5353\n"
		      "prefer ipv4\n"
		      "handshake-timeout 5s\n"
		      "connect-timeout 2m\n"
		      "idle-timeout 0\n"
		      "attempt-delay 100ms\n"
		      "resolution-delay 0\n"
		      "dns-timeout 1500ms\n"
		      "dns-tries 10\n"
		      "dns-cache-size 0\n"
		      "dns-cache-max-ttl 5m\n"
		      "dns-negative-ttl 0\n"
		      "max-sessions 1\n"
		      "log-level debug\n"
		      "auth none\n"
		      "allow-resolve yes\n"
		      "pass from 198.51.100.0/24 to any\n"
		      "block to any\n");
	if (c == NULL)
		fail_msg("%s", test_err);
	assert_int_equal(c->nlisten, 3);
	assert_int_equal(c->listen[0].line, 1);
	assert_int_equal(c->listen[0].port, 1080);
	assert_int_equal(c->listen[0].ss.ss_family, AF_INET);
	assert_int_equal(c->listen[1].port, 1081);
	assert_int_equal(c->listen[1].ss.ss_family, AF_INET6);
	assert_int_equal(c->listen[2].line, 3);
	assert_string_equal(c->listen[2].ifname, "br-lan");
	assert_int_equal(c->listen[2].port, 1082);
	assert_int_equal(c->workers, 4);
	assert_string_equal(c->nameservers, "198.51.100.53:53,198.51.100.54:5353,[2001:db8::53]:53,"
					    "[2001:db8::54]:5353");
	assert_int_equal(c->prefer, CONF_PREFER_IPV4);
	assert_int_equal(c->handshake_timeout_ms, 5000);
	assert_int_equal(c->connect_timeout_ms, 120000);
	assert_int_equal(c->idle_timeout_ms, 0);
	assert_int_equal(c->attempt_delay_ms, 100);
	assert_int_equal(c->resolution_delay_ms, 0);
	assert_int_equal(c->dns_timeout_ms, 1500);
	assert_int_equal(c->dns_tries, 10);
	assert_int_equal(c->dns_cache_size, 0);
	assert_int_equal(c->dns_cache_max_ttl, 300);
	assert_int_equal(c->dns_negative_ttl, 0);
	assert_int_equal(c->max_sessions, 1);
	assert_int_equal(c->log_level, LOG_LVL_DEBUG);
	assert_int_equal(c->nmethods, 1);
	assert_int_equal(c->methods[0], SOCKS5_METHOD_NONE);
	assert_true(c->allow_resolve);
	assert_int_equal(c->nrules, 2);
	assert_true(c->rules[0].pass);
	assert_int_equal(c->rules[0].line, 24);
	assert_int_equal(c->rules[0].nfrom, 1);
	assert_false(c->rules[1].pass);
	assert_int_equal(c->rules[1].line, 25);
	conf_unref(c);
}

/* One keyword, one value: the field it sets must hold the expected value. */
struct test_value {
	const char *text;
	size_t off;
	unsigned expect;
};

#define TV(text, field, value)                            \
	{                                                 \
		text, offsetof(struct conf, field), value \
	}

static void test_values(void **state)
{
	static const struct test_value cases[] = {
		TV("workers auto", workers, 0),
		TV("workers 1", workers, 1),
		TV("workers 256", workers, 256),
		TV("prefer ipv6", prefer, CONF_PREFER_IPV6),
		TV("prefer none", prefer, CONF_PREFER_NONE),
		TV("handshake-timeout 100ms", handshake_timeout_ms, 100),
		TV("handshake-timeout 1h", handshake_timeout_ms, 3600000),
		TV("connect-timeout 30", connect_timeout_ms, 30000),
		TV("idle-timeout 2h", idle_timeout_ms, 7200000),
		TV("idle-timeout 168h", idle_timeout_ms, 604800000),
		TV("attempt-delay 10ms", attempt_delay_ms, 10),
		TV("attempt-delay 2s", attempt_delay_ms, 2000),
		TV("resolution-delay 1s", resolution_delay_ms, 1000),
		TV("resolution-delay 1000ms", resolution_delay_ms, 1000),
		TV("dns-timeout 1m", dns_timeout_ms, 60000),
		TV("dns-tries 1", dns_tries, 1),
		TV("dns-cache-size 1000000", dns_cache_size, 1000000),
		TV("dns-cache-max-ttl 1s", dns_cache_max_ttl, 1),
		TV("dns-cache-max-ttl 2000ms", dns_cache_max_ttl, 2),
		TV("dns-cache-max-ttl 86400", dns_cache_max_ttl, 86400),
		TV("dns-negative-ttl 1h", dns_negative_ttl, 3600),
		TV("max-sessions 1000000", max_sessions, 1000000),
		TV("log-level err", log_level, LOG_LVL_ERR),
		TV("log-level warning", log_level, LOG_LVL_WARN),
		TV("log-level notice", log_level, LOG_LVL_NOTICE),
		TV("log-level info", log_level, LOG_LVL_INFO),
		TV("allow-resolve on", allow_resolve, 1),
		TV("allow-resolve true", allow_resolve, 1),
		TV("allow-resolve 1", allow_resolve, 1),
		TV("allow-resolve no", allow_resolve, 0),
		TV("allow-resolve off", allow_resolve, 0),
		TV("allow-resolve false", allow_resolve, 0),
		TV("allow-resolve 0", allow_resolve, 0),
		TV("workers \"8\"", workers, 8),
		TV("\tprefer\t\tipv4\t# tabs\n", prefer, CONF_PREFER_IPV4),
		TV("prefer ipv4# comment without a blank", prefer, CONF_PREFER_IPV4),
		TV("prefer \"ipv4\"# comment", prefer, CONF_PREFER_IPV4),
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conf *c = test_load(cases[i].text);
		const char *field;
		unsigned got;

		if (c == NULL)
			fail_msg("'%s': %s", cases[i].text, test_err);
		field = (const char *)c + cases[i].off;
		if (cases[i].off == offsetof(struct conf, allow_resolve))
			got = *(const bool *)field;
		else if (cases[i].off == offsetof(struct conf, prefer))
			got = (unsigned)*(const enum conf_prefer *)field;
		else if (cases[i].off == offsetof(struct conf, log_level))
			got = (unsigned)*(const int *)field;
		else
			got = *(const unsigned *)field;
		if (got != cases[i].expect)
			fail_msg("'%s': got %u, expected %u", cases[i].text, got, cases[i].expect);
		conf_unref(c);
	}
}

struct test_bad {
	const char *text;
	const char *message;
};

static void test_bad_values(void **state)
{
	static const struct test_bad cases[] = {
		{"frobnicate 1", "test.conf:1: unknown keyword 'frobnicate'"},
		{"\n\nListen 127.0.0.1:1080", "test.conf:3: unknown keyword 'Listen'"},
		{"listen", "test.conf:1: listen: missing value"},
		{"listen 127.0.0.1:1080 127.0.0.1:1081", "test.conf:1: listen: extra values"},
		{"listen 127.0.0.1", "test.conf:1: listen: expected ADDRESS:PORT, [IPV6]:PORT or "
				     "IFNAME:PORT, got '127.0.0.1'"},
		{"listen 127.0.0.1:0", "test.conf:1: listen: bad port in '127.0.0.1:0' (1..65535)"},
		{"listen 2001:db8::1:1080",
		 "test.conf:1: listen: IPv6 address needs brackets: [ADDRESS]:PORT, got "
		 "'2001:db8::1:1080'"},
		{"workers 0", "test.conf:1: workers: expected auto or a number from 1 to 256"},
		{"workers 257", "test.conf:1: workers: expected auto or a number from 1 to 256"},
		{"workers many", "test.conf:1: workers: expected auto or a number from 1 to 256"},
		{"nameserver 198.51.100.300", "test.conf:1: nameserver: bad address in "
					      "'198.51.100.300'"},
		{"prefer ipv5", "test.conf:1: prefer: expected ipv6, ipv4 or none"},
		{"prefer IPV6", "test.conf:1: prefer: expected ipv6, ipv4 or none"},
		{"handshake-timeout 0",
		 "test.conf:1: handshake-timeout: 0 is out of range (100ms..1h)"},
		{"handshake-timeout 2h",
		 "test.conf:1: handshake-timeout: 2h is out of range (100ms..1h)"},
		{"connect-timeout 10x",
		 "test.conf:1: connect-timeout: bad duration '10x' (expected "
		 "N, Nms, Ns, Nm or Nh)"},
		{"idle-timeout 169h", "test.conf:1: idle-timeout: 169h is out of range (0s..168h)"},
		{"idle-timeout -1",
		 "test.conf:1: idle-timeout: bad duration '-1' (expected N, Nms, "
		 "Ns, Nm or Nh)"},
		{"attempt-delay 9ms", "test.conf:1: attempt-delay: 9ms is out of range (10ms..2s)"},
		{"attempt-delay 2001ms",
		 "test.conf:1: attempt-delay: 2001ms is out of range (10ms..2s)"},
		{"resolution-delay 1001ms",
		 "test.conf:1: resolution-delay: 1001ms is out of range (0s..1s)"},
		{"dns-timeout 99ms", "test.conf:1: dns-timeout: 99ms is out of range (100ms..1m)"},
		{"dns-tries 0", "test.conf:1: dns-tries: expected a number from 1 to 10"},
		{"dns-tries 11", "test.conf:1: dns-tries: expected a number from 1 to 10"},
		{"dns-tries 2s", "test.conf:1: dns-tries: expected a number from 1 to 10"},
		{"dns-cache-size 1000001",
		 "test.conf:1: dns-cache-size: expected a number from 0 to 1000000"},
		{"dns-cache-size -1",
		 "test.conf:1: dns-cache-size: expected a number from 0 to 1000000"},
		{"dns-cache-max-ttl 0",
		 "test.conf:1: dns-cache-max-ttl: 0 is out of range (1s..168h)"},
		{"dns-cache-max-ttl 1500ms",
		 "test.conf:1: dns-cache-max-ttl: 1500ms is not a whole number of seconds"},
		{"dns-negative-ttl 2h",
		 "test.conf:1: dns-negative-ttl: 2h is out of range (0s..1h)"},
		{"max-sessions 0",
		 "test.conf:1: max-sessions: expected a number from 1 to 1000000"},
		{"max-sessions 4294967296",
		 "test.conf:1: max-sessions: expected a number from 1 to 1000000"},
		{"log-level warn",
		 "test.conf:1: log-level: expected err, warning, notice, info or debug"},
		{"auth", "test.conf:1: auth: missing value"},
		{"auth username", "test.conf: auth username needs users-file"},
		{"auth none gssapi", "test.conf: auth gssapi needs gssapi-keytab"},
		{"gssapi-keytab krb5.keytab",
		 "test.conf:1: gssapi-keytab: expected an absolute path"},
		{"gssapi-keytab", "test.conf:1: gssapi-keytab: missing value"},
		{"gssapi-service \"\"", "test.conf:1: gssapi-service: empty value"},
		{"gssapi-service rcmd socks", "test.conf:1: gssapi-service: extra values"},
		{"gssapi-protection", "test.conf:1: gssapi-protection: missing value"},
		{"gssapi-protection integrity secret",
		 "test.conf:1: gssapi-protection: unknown level 'secret' (expected none, integrity "
		 "or confidentiality)"},
		{"gssapi-protection selective",
		 "test.conf:1: gssapi-protection: unknown level 'selective' (expected none, "
		 "integrity or confidentiality)"},
		{"gssapi-protection none none",
		 "test.conf:1: gssapi-protection: level none given twice"},
		{"gssapi-protection none integrity confidentiality none",
		 "test.conf:1: gssapi-protection: too many values"},
		{"gssapi-nec maybe", "test.conf:1: gssapi-nec: expected yes or no"},
		{"auth gssapi\ngssapi-keytab /nonexistent/krb5.keytab",
		 "test.conf:2: gssapi-keytab: /nonexistent/krb5.keytab: No such file or directory"},
		{"auth gssapi\ngssapi-keytab /",
		 "test.conf:2: gssapi-keytab: /: not a regular file"},
		{"auth none none", "test.conf:1: auth: method none given twice"},
		{"auth none plain",
		 "test.conf:1: auth: unknown method 'plain' (expected none, username or gssapi)"},
		{"auth none none none none", "test.conf:1: auth: too many values"},
		{"allow-resolve maybe", "test.conf:1: allow-resolve: expected yes or no"},
		{"allow-resolve", "test.conf:1: allow-resolve: missing value"},
		{"allow-resolve yes no", "test.conf:1: allow-resolve: extra values"},
		{"pass from 198.51.100.0/33",
		 "test.conf:1: pass: from: bad address or CIDR '198.51.100.0/33'"},
		{"block frm any", "test.conf:1: block: unknown keyword 'frm'"},
		/* Repeated non-repeatable keys name the first line. */
		{"prefer ipv6\n# x\nprefer ipv4", "test.conf:3: prefer: already set on line 1"},
		{"idle-timeout 1h\nidle-timeout 1h", "test.conf:2: idle-timeout: already set on "
						     "line 1"},
		{"auth none\nauth none", "test.conf:2: auth: already set on line 1"},
		/* Lexer */
		{"prefer \"ipv6", "test.conf:1: unterminated quote"},
		{"prefer \"ipv6\"x", "test.conf:1: text after a closing quote"},
		{"prefer ip\"v6\"", "test.conf:1: quote inside a word"},
		{"prefer \"\"", "test.conf:1: prefer: expected ipv6, ipv4 or none"},
		{"prefer \"ipv6 ipv4\"", "test.conf:1: prefer: expected ipv6, ipv4 or none"},
		{"pass a b c d e f g h i j k l m n o p q r s t u v w x y z 1 2 3 4 5 6",
		 "test.conf:1: too many words (at most 32)"},
		/* The first error wins and counts lines across comments and blanks. */
		{"# c\n\nprefer ipv6\n  \nworkers x\nprefer y",
		 "test.conf:5: workers: expected auto or a number from 1 to 256"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		test_expect_error(cases[i].text, cases[i].message);
}

static void test_quoting(void **state)
{
	struct conf *c;

	(void)state;
	/* '#' inside quotes is not a comment; escapes inside quotes. */
	c = test_load("pass user \"a#b\" # real comment\n"
		      "pass user \"q\\\"uote\\\\\"\n"
		      "\"prefer\" \"ipv4\"\n");
	if (c == NULL)
		fail_msg("%s", test_err);
	assert_int_equal(c->nrules, 2);
	assert_int_equal(c->rules[0].nusers, 1);
	assert_string_equal(c->rules[0].users[0], "a#b");
	assert_string_equal(c->rules[1].users[0], "q\"uote\\");
	assert_int_equal(c->prefer, CONF_PREFER_IPV4);
	conf_unref(c);
}

static void test_parse_duration(void **state)
{
	static const struct {
		const char *s;
		int rc;
		unsigned ms;
	} cases[] = {
		{"0", 0, 0},
		{"1", 0, 1000},
		{"250ms", 0, 250},
		{"10s", 0, 10000},
		{"5m", 0, 300000},
		{"1h", 0, 3600000},
		{"4294967295ms", 0, 4294967295u},
		{"4294967s", 0, 4294967000u},
		{"4294968s", -1, 0},
		{"4294967296ms", -1, 0},
		{"99999999999999999999999", -1, 0},
		{"1194h", -1, 0}, /* 4 298 400 000 ms does not fit in 32 bits */
		{"", -1, 0},
		{"s", -1, 0},
		{"-1s", -1, 0},
		{"+1s", -1, 0},
		{" 1s", -1, 0},
		{"1s ", -1, 0},
		{"1.5s", -1, 0},
		{"1S", -1, 0},
		{"1d", -1, 0},
		{"1sms", -1, 0},
		{"0x10", -1, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned ms = 12345;
		char err[128] = "";
		int rc = conf_parse_duration(cases[i].s, &ms, err, sizeof(err));

		if (rc != cases[i].rc)
			fail_msg("'%s': rc %d, expected %d", cases[i].s, rc, cases[i].rc);
		if (rc == 0)
			assert_int_equal(ms, cases[i].ms);
		else
			assert_true(err[0] != '\0');
	}
}

static void test_parse_uint_bool(void **state)
{
	unsigned v = 0;
	bool b = false;
	char err[128];

	(void)state;
	assert_int_equal(conf_parse_uint("7", 1, 10, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 7);
	assert_int_equal(conf_parse_uint("4294967295", 0, 4294967295u, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 4294967295u);
	assert_int_equal(conf_parse_uint("4294967296", 0, 4294967295u, &v, err, sizeof(err)), -1);
	assert_int_equal(conf_parse_uint("", 0, 10, &v, err, sizeof(err)), -1);
	assert_int_equal(conf_parse_uint("1 ", 0, 10, &v, err, sizeof(err)), -1);
	assert_int_equal(conf_parse_uint("+1", 0, 10, &v, err, sizeof(err)), -1);
	assert_int_equal(conf_parse_uint("11", 0, 10, &v, err, sizeof(err)), -1);
	assert_string_equal(err, "expected a number from 0 to 10");
	assert_int_equal(conf_parse_bool("yes", &b, err, sizeof(err)), 0);
	assert_true(b);
	assert_int_equal(conf_parse_bool("YES", &b, err, sizeof(err)), -1);
	assert_int_equal(conf_parse_bool("", &b, err, sizeof(err)), -1);
}

static void test_parse_listen(void **state)
{
	static const struct {
		const char *s;
		int family; /* 0: interface name; -1: invalid */
		const char *host;
		unsigned port;
	} cases[] = {
		{"198.51.100.1:1080", AF_INET, "198.51.100.1", 1080},
		{"0.0.0.0:1", AF_INET, "0.0.0.0", 1},
		{"[2001:db8::1]:1080", AF_INET6, "2001:db8::1", 1080},
		{"[::]:65535", AF_INET6, "::", 65535},
		{"[::ffff:198.51.100.1]:1080", AF_INET6, "::ffff:198.51.100.1", 1080},
		{"br-lan:1080", 0, "br-lan", 1080},
		{"eth0.100:1080", 0, "eth0.100", 1080},
		{"wlan_0:1080", 0, "wlan_0", 1080},
		{"abcdefghijklmno:1080", 0, "abcdefghijklmno", 1080}, /* IF_NAMESIZE - 1 */
		{"abcdefghijklmnop:1080", -1, NULL, 0},
		{"198.51.100.1:65536", -1, NULL, 0},
		{"198.51.100.1:0", -1, NULL, 0},
		{"198.51.100.1:", -1, NULL, 0},
		{"198.51.100.1:x", -1, NULL, 0},
		{"198.51.100.1:-1", -1, NULL, 0},
		{"198.51.100.1", -1, NULL, 0},
		{"198.51.100:1080", -1, NULL, 0},
		{"198.51.100.256:1080", -1, NULL, 0},
		{"2001:db8::1:1080", -1, NULL, 0},
		{"[2001:db8::1]", -1, NULL, 0},
		{"[2001:db8::1]1080", -1, NULL, 0},
		{"[2001:db8::1:1080", -1, NULL, 0},
		{"[198.51.100.1]:1080", -1, NULL, 0},
		{"[]:1080", -1, NULL, 0},
		{":1080", -1, NULL, 0},
		{"br lan:1080", -1, NULL, 0},
		{"br/lan:1080", -1, NULL, 0},
		{"", -1, NULL, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conf_listen l;
		char err[256] = "", text[INET6_ADDRSTRLEN];
		int rc = conf_parse_listen(cases[i].s, &l, err, sizeof(err));

		if (cases[i].family < 0) {
			if (rc == 0)
				fail_msg("'%s' accepted", cases[i].s);
			assert_true(err[0] != '\0');
			continue;
		}
		if (rc != 0)
			fail_msg("'%s': %s", cases[i].s, err);
		assert_int_equal(l.port, cases[i].port);
		if (cases[i].family == 0) {
			assert_string_equal(l.ifname, cases[i].host);
			continue;
		}
		assert_string_equal(l.ifname, "");
		assert_int_equal(l.ss.ss_family, cases[i].family);
		if (cases[i].family == AF_INET) {
			const struct sockaddr_in *sin = (const struct sockaddr_in *)&l.ss;

			assert_int_equal(l.sslen, sizeof(*sin));
			assert_int_equal(ntohs(sin->sin_port), cases[i].port);
			inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
		} else {
			const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&l.ss;

			assert_int_equal(l.sslen, sizeof(*sin6));
			assert_int_equal(ntohs(sin6->sin6_port), cases[i].port);
			inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text));
		}
		assert_string_equal(text, cases[i].host);
	}
}

static void test_parse_nameserver(void **state)
{
	static const struct {
		const char *s;
		const char *entry; /* NULL: invalid */
	} cases[] = {
		{"198.51.100.53", "198.51.100.53:53"},
		{"198.51.100.53:5353", "198.51.100.53:5353"},
		{"2001:db8::53", "[2001:db8::53]:53"},
		{"2001:DB8:0::53", "[2001:db8::53]:53"},
		{"[2001:db8::53]:5353", "[2001:db8::53]:5353"},
		{"[2001:db8::53]", "[2001:db8::53]:53"},
		{"::1", "[::1]:53"},
		{"198.51.100.53:0", NULL},
		{"198.51.100.53:65536", NULL},
		{"[198.51.100.53]:53", NULL},
		{"[2001:db8::53]:", NULL},
		{"[2001:db8::53]x", NULL},
		{"ns.example.org", NULL},
		{"ns.example.org:53", NULL},
		{"198.51.100", NULL},
		{"2001:db8::g", NULL},
		{"", NULL},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *csv = NULL, err[256] = "";
		int rc = conf_parse_nameserver(cases[i].s, &csv, err, sizeof(err));

		if (cases[i].entry == NULL) {
			if (rc == 0)
				fail_msg("'%s' accepted as %s", cases[i].s, csv);
			assert_null(csv);
			assert_true(err[0] != '\0');
			continue;
		}
		if (rc != 0)
			fail_msg("'%s': %s", cases[i].s, err);
		assert_string_equal(csv, cases[i].entry);
		/* Appending keeps earlier entries, comma-separated. */
		assert_int_equal(conf_parse_nameserver("203.0.113.53", &csv, err, sizeof(err)), 0);
		assert_true(strncmp(csv, cases[i].entry, strlen(cases[i].entry)) == 0);
		assert_string_equal(csv + strlen(cases[i].entry), ",203.0.113.53:53");
		/* A failing append leaves the string as it was. */
		assert_int_equal(conf_parse_nameserver("bad", &csv, err, sizeof(err)), -1);
		assert_string_equal(csv + strlen(cases[i].entry), ",203.0.113.53:53");
		free(csv);
	}
}

static void test_listen_replaces_default(void **state)
{
	struct conf *c = test_load("listen [::]:1080\n");

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->nlisten, 1);
	assert_int_equal(c->listen[0].ss.ss_family, AF_INET6);
	assert_int_equal(c->listen[0].line, 1);
	conf_unref(c);
}

static void test_refcount(void **state)
{
	struct conf *c = conf_default();

	(void)state;
	assert_ptr_equal(conf_ref(c), c);
	assert_int_equal(c->refs, 2);
	conf_unref(c);
	assert_int_equal(c->refs, 1);
	conf_unref(c); /* frees: valgrind/ASan prove it and that nothing leaks */
	assert_null(conf_ref(NULL));
	conf_unref(NULL);
}

static void test_rules_in_order(void **state)
{
	struct conf *c = test_load("pass from 198.51.100.0/24 port 80,443\n"
				   "# a comment between rules\n"
				   "block user alice\n"
				   "pass\n");

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->nrules, 3);
	assert_true(c->rules[0].pass);
	assert_int_equal(c->rules[0].nports, 2);
	assert_int_equal(c->rules[0].line, 1);
	assert_false(c->rules[1].pass);
	assert_string_equal(c->rules[1].users[0], "alice");
	assert_int_equal(c->rules[1].line, 3);
	assert_true(c->rules[2].pass);
	assert_int_equal(c->rules[2].nfrom + c->rules[2].nto + c->rules[2].nports, 0);
	conf_unref(c);
}

/* Write text to a temporary file and return its path (caller unlinks). */
static void test_write_file(char *path, size_t pathlen, const void *data, size_t len)
{
	FILE *f;
	int fd;

	snprintf(path, pathlen, "%s", "/tmp/socks64-test-conf-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void test_file_errors(void **state)
{
	char path[64], err[512], expect[600];
	struct conf *c;
	char *big;

	(void)state;
	/* The file name appears in messages. */
	test_write_file(path, sizeof(path), "# x\nprefer sideways\n", 20);
	c = conf_load_file(path, err, sizeof(err));
	assert_null(c);
	snprintf(expect, sizeof(expect), "%s:2: prefer: expected ipv6, ipv4 or none", path);
	assert_string_equal(err, expect);
	unlink(path);

	/* A NUL byte is refused with its line. */
	test_write_file(path, sizeof(path), "prefer ipv6\n\nwork\0ers 2\n", 24);
	assert_null(conf_load_file(path, err, sizeof(err)));
	snprintf(expect, sizeof(expect), "%s:3: NUL byte in file", path);
	assert_string_equal(err, expect);
	unlink(path);

	/* 1 MiB of comments is fine, one byte more is not. */
	big = malloc(1024 * 1024 + 1);
	assert_non_null(big);
	memset(big, '#', 1024 * 1024 + 1);
	test_write_file(path, sizeof(path), big, 1024 * 1024);
	c = conf_load_file(path, err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_string_equal(c->file, path);
	assert_int_equal(c->nlisten, 2);
	conf_unref(c);
	unlink(path);
	test_write_file(path, sizeof(path), big, 1024 * 1024 + 1);
	assert_null(conf_load_file(path, err, sizeof(err)));
	assert_non_null(strstr(err, "larger than"));
	unlink(path);
	free(big);

	/* A missing file names the file and the reason. */
	assert_null(conf_load_file("/nonexistent/socks64d.conf", err, sizeof(err)));
	assert_string_equal(err, "/nonexistent/socks64d.conf: No such file or directory");
}

static void test_file_ok(void **state)
{
	static const char text[] = "listen 127.0.0.1:10800\nprefer none\n";
	char path[64], err[512] = "";
	struct conf *c;

	(void)state;
	test_write_file(path, sizeof(path), text, sizeof(text) - 1);
	c = conf_load_file(path, err, sizeof(err));
	unlink(path);
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->nlisten, 1);
	assert_int_equal(c->listen[0].port, 10800);
	assert_int_equal(c->prefer, CONF_PREFER_NONE);
	conf_unref(c);
}

/* GSSAPI keys are read without `auth gssapi` too (nothing is acquired
 * then); the defaults grant the RFC 1961 levels only. */
static void test_gssapi_keys(void **state)
{
	struct conf *c;

	(void)state;
	c = test_load("");
	assert_non_null(c);
	assert_null(c->gssapi_keytab);
	assert_null(c->gssapi_service);
	assert_int_equal(c->gssapi_levels, GSS_LEVEL_BIT(GSS_LEVEL_INTEGRITY) |
						   GSS_LEVEL_BIT(GSS_LEVEL_CONFIDENTIALITY));
	assert_false(c->gssapi_nec);
	assert_null(c->gss);
	conf_unref(c);

	c = test_load("gssapi-keytab /etc/socks64/krb5.keytab\n"
		      "gssapi-service rcmd/gw.example@EXAMPLE\n"
		      "gssapi-protection confidentiality none\n"
		      "gssapi-nec yes\n");
	if (c == NULL)
		fail_msg("%s", test_err);
	assert_string_equal(c->gssapi_keytab, "/etc/socks64/krb5.keytab");
	assert_int_equal(c->gssapi_keytab_line, 1);
	assert_string_equal(c->gssapi_service, "rcmd/gw.example@EXAMPLE");
	assert_int_equal(c->gssapi_levels,
			 GSS_LEVEL_BIT(GSS_LEVEL_NONE) | GSS_LEVEL_BIT(GSS_LEVEL_CONFIDENTIALITY));
	assert_true(c->gssapi_nec);
	assert_null(c->gss);
	conf_unref(c);
}

/* With auth gssapi the keytab is checked and its credentials acquired at
 * load: a keytab anybody can read is refused, an empty one names MIT's
 * reason, both with the keytab's line. */
static void test_gssapi_keytab_checks(void **state)
{
	char path[64], text[256], expect[600];
	struct conf *c;

	(void)state;
	test_write_file(path, sizeof(path), "", 0);
	snprintf(text, sizeof(text), "auth gssapi\n\ngssapi-keytab %s\n", path);

	assert_int_equal(chmod(path, 0644), 0);
	c = test_load(text);
	assert_null(c);
	snprintf(expect, sizeof(expect),
		 "test.conf:3: gssapi-keytab: %s is accessible to every user (mode 0644): chmod "
		 "o-rw it",
		 path);
	assert_string_equal(test_err, expect);

	assert_int_equal(chmod(path, 0600), 0);
	c = test_load(text);
	assert_null(c);
	snprintf(expect, sizeof(expect),
		 "test.conf:3: gssapi-keytab: keytab %s: empty file, holds no keys", path);
	assert_string_equal(test_err, expect);
	unlink(path);
}

/* The shipped example must stay valid (tests run from the repository root). */
static void test_example_conf(void **state)
{
	char err[512] = "";
	struct conf *c = conf_load_file("conf/socks64d.conf", err, sizeof(err));

	(void)state;
	if (c == NULL)
		fail_msg("%s", err);
	assert_string_equal(c->file, "conf/socks64d.conf");
	assert_true(c->nlisten >= 1);
	assert_true(c->nrules >= 1);
	/* The example ends with a catch-all block. */
	assert_false(c->rules[c->nrules - 1].pass);
	conf_unref(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_empty_and_comments),
		cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_parse_uint_bool),
		cmocka_unit_test(test_parse_listen),
		cmocka_unit_test(test_parse_nameserver),
		cmocka_unit_test(test_listen_replaces_default),
		cmocka_unit_test(test_refcount),
		cmocka_unit_test(test_rules_in_order),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_file_ok),
		cmocka_unit_test(test_example_conf),
		cmocka_unit_test(test_gssapi_keys),
		cmocka_unit_test(test_gssapi_keytab_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
