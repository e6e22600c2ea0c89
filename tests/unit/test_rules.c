/* Unit tests for rules: parsing, every matching field, first match wins,
 * the client-stage check and CIDR edge cases. */
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

#include "rules.h"

#define TEST_MAX_RULES 8
#define TEST_MAX_WORDS 32

struct test_rules {
	struct rule r[TEST_MAX_RULES];
	size_t n;
};

/* Parse rule lines separated by ';' (words by blanks), as conf would. */
static int test_parse(struct test_rules *t, const char *text, char *err, size_t errlen)
{
	char *copy = strdup(text), *line, *save_line = NULL;
	int rc = 0;

	assert_non_null(copy);
	t->n = 0;
	for (line = strtok_r(copy, ";", &save_line); line != NULL;
	     line = strtok_r(NULL, ";", &save_line)) {
		char *words[TEST_MAX_WORDS], *w, *save_word = NULL;
		size_t nw = 0;

		for (w = strtok_r(line, " ", &save_word); w != NULL;
		     w = strtok_r(NULL, " ", &save_word)) {
			assert_true(nw < TEST_MAX_WORDS);
			words[nw++] = w;
		}
		assert_true(t->n < TEST_MAX_RULES);
		rc = rule_parse(&t->r[t->n], words, nw, (unsigned)t->n + 1, err, errlen);
		if (rc < 0)
			break;
		t->n++;
	}
	free(copy);
	return rc;
}

static void test_release(struct test_rules *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		rule_free(&t->r[i]);
	t->n = 0;
}

/* "198.51.100.1" or "2001:db8::1" into a sockaddr; port 0. */
static const struct sockaddr *test_sa(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (s == NULL)
		return NULL;
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
	} else {
		assert_int_equal(inet_pton(AF_INET6, s, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
	}
	return (const struct sockaddr *)ss;
}

/* An address literal becomes ATYP 1/4, anything else a name (ATYP 3). */
static const struct socks_addr *test_dst(const char *s, uint16_t port, struct socks_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (s == NULL)
		return NULL;
	a->port = port;
	if (inet_pton(AF_INET, s, &a->u.v4) == 1) {
		a->atyp = SOCKS_ATYP_IPV4;
	} else if (inet_pton(AF_INET6, s, &a->u.v6) == 1) {
		a->atyp = SOCKS_ATYP_IPV6;
	} else {
		a->atyp = SOCKS_ATYP_NAME;
		a->namelen = (uint8_t)strlen(s);
		memcpy(a->u.name, s, a->namelen + 1u);
	}
	return a;
}

struct test_bad_rule {
	const char *text;
	const char *message;
};

static void test_parse_errors(void **state)
{
	static const struct test_bad_rule cases[] = {
		{"allow from any", "a rule starts with pass or block"},
		{"pass frm any", "unknown keyword 'frm'"},
		{"pass any", "unknown keyword 'any'"},
		{"pass from", "from: missing value"},
		{"pass from any to", "to: missing value"},
		{"pass from any from any", "from: given twice"},
		{"pass port 80 to any port 81", "port: given twice"},
		{"pass from 198.51.100.0/33", "from: bad address or CIDR '198.51.100.0/33'"},
		{"pass from 2001:db8::/129", "from: bad address or CIDR '2001:db8::/129'"},
		{"pass from 198.51.100.0/", "from: bad address or CIDR '198.51.100.0/'"},
		{"pass from 198.51.100.0/+8", "from: bad address or CIDR '198.51.100.0/+8'"},
		{"pass from /8", "from: bad address or CIDR '/8'"},
		{"pass from example.org", "from: bad address or CIDR 'example.org'"},
		{"pass from any,198.51.100.0/24", "from: bad address or CIDR 'any'"},
		{"pass from 198.51.100.0/24,", "from: empty item in list '198.51.100.0/24,'"},
		{"pass from ,198.51.100.0/24", "from: empty item in list ',198.51.100.0/24'"},
		{"pass to 198.51.100.0/24,,x.org",
		 "to: empty item in list '198.51.100.0/24,,x.org'"},
		{"pass to 198.51.100.300",
		 "to: bad address, CIDR, name or *.suffix '198.51.100.300'"},
		{"pass to 198.51.100", "to: bad address, CIDR, name or *.suffix '198.51.100'"},
		{"pass to 2001:db8::/200",
		 "to: bad address, CIDR, name or *.suffix '2001:db8::/200'"},
		{"pass to bad_name!", "to: bad address, CIDR, name or *.suffix 'bad_name!'"},
		{"pass to a..b", "to: bad address, CIDR, name or *.suffix 'a..b'"},
		{"pass to .", "to: bad address, CIDR, name or *.suffix '.'"},
		{"pass to *.", "to: bad address, CIDR, name or *.suffix '*.'"},
		{"pass to *", "to: bad address, CIDR, name or *.suffix '*'"},
		{"pass to a.*.org", "to: bad address, CIDR, name or *.suffix 'a.*.org'"},
		{"pass port 0", "port: bad port '0' (1..65535, N-M, N,M,...)"},
		{"pass port 65536", "port: bad port '65536' (1..65535, N-M, N,M,...)"},
		{"pass port 80-", "port: bad port '80-' (1..65535, N-M, N,M,...)"},
		{"pass port -80", "port: bad port '-80' (1..65535, N-M, N,M,...)"},
		{"pass port 1-2-3", "port: bad port '1-2-3' (1..65535, N-M, N,M,...)"},
		{"pass port http", "port: bad port 'http' (1..65535, N-M, N,M,...)"},
		{"pass port 8080-8000", "port: empty range '8080-8000'"},
		{"pass port 22,", "port: empty item in list '22,'"},
		{"pass command connect,listen", "command: unknown value 'listen'"},
		{"pass command CONNECT", "command: unknown value 'CONNECT'"},
		{"pass method none,plain", "method: unknown value 'plain'"},
		{"pass version 6", "version: unknown value '6'"},
		{"pass user alice,", "user: empty item in list 'alice,'"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct test_rules t;
		char err[256] = "";

		if (test_parse(&t, cases[i].text, err, sizeof(err)) == 0) {
			test_release(&t);
			fail_msg("accepted: %s", cases[i].text);
		}
		if (strcmp(err, cases[i].message) != 0)
			fail_msg("'%s'\n  got:      %s\n  expected: %s", cases[i].text, err,
				 cases[i].message);
		test_release(&t);
	}
}

static void test_parse_fields(void **state)
{
	struct test_rules t;
	char err[256] = "";
	const struct rule *r;

	(void)state;
	if (test_parse(&t,
		       "block version 4,5 method none,username,gssapi user alice,bob "
		       "command connect,bind,udp,resolve port 22,8000-8080 "
		       "to 203.0.113.7/24,2001:db8::/32,WWW.Example.ORG.,*.Test "
		       "from 198.51.100.0/24,2001:db8:1::1;"
		       "pass from any to any",
		       err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(t.n, 2);
	r = &t.r[0];
	assert_false(r->pass);
	assert_int_equal(r->line, 1);
	assert_int_equal(r->versions, RULE_VERSION_4 | RULE_VERSION_5);
	assert_int_equal(r->methods, RULE_METHOD_NONE | RULE_METHOD_USERNAME | RULE_METHOD_GSSAPI);
	assert_int_equal(r->nusers, 2);
	assert_string_equal(r->users[0], "alice");
	assert_string_equal(r->users[1], "bob");
	assert_int_equal(r->commands,
			 RULE_CMD_CONNECT | RULE_CMD_BIND | RULE_CMD_UDP | RULE_CMD_RESOLVE);
	assert_int_equal(r->nports, 2);
	assert_int_equal(r->ports[0].lo, 22);
	assert_int_equal(r->ports[0].hi, 22);
	assert_int_equal(r->ports[1].lo, 8000);
	assert_int_equal(r->ports[1].hi, 8080);
	assert_int_equal(r->nto, 4);
	assert_int_equal(r->to[0].kind, RULE_DEST_CIDR);
	assert_int_equal(r->to[0].cidr.family, AF_INET);
	assert_int_equal(r->to[0].cidr.plen, 24);
	assert_int_equal(r->to[0].cidr.addr[3], 0); /* host bits cleared */
	assert_int_equal(r->to[1].kind, RULE_DEST_CIDR);
	assert_int_equal(r->to[1].cidr.family, AF_INET6);
	assert_int_equal(r->to[2].kind, RULE_DEST_NAME);
	assert_string_equal(r->to[2].name, "www.example.org");
	assert_int_equal(r->to[3].kind, RULE_DEST_SUFFIX);
	assert_string_equal(r->to[3].name, "test");
	assert_int_equal(r->nfrom, 2);
	assert_int_equal(r->from[1].plen, 128);
	r = &t.r[1];
	assert_true(r->pass);
	assert_int_equal(r->line, 2);
	assert_int_equal(r->nfrom + r->nto + r->nports + r->nusers, 0);
	assert_int_equal(r->commands | r->methods | r->versions, 0);
	test_release(&t);
}

/* One query against a rule set: the expected 1-based rule, 0 for none. */
struct test_match {
	const char *rules;
	const char *client;
	const char *dst; /* address literal or name */
	const char *dst_sa; /* resolved address of a named dst */
	uint16_t port;
	uint8_t command, method, version;
	const char *user;
	unsigned expect;
};

#define C RULE_CMD_CONNECT
#define B RULE_CMD_BIND
#define U RULE_CMD_UDP
#define R RULE_CMD_RESOLVE
#define MN RULE_METHOD_NONE
#define MU RULE_METHOD_USERNAME
#define MG RULE_METHOD_GSSAPI
#define V4 RULE_VERSION_4
#define V5 RULE_VERSION_5

static const struct test_match test_matches[] = {
	/* No rules, empty rule, first match wins. */
	{"", "198.51.100.10", "203.0.113.80", NULL, 80, C, MN, V5, NULL, 0},
	{"pass", "198.51.100.10", "203.0.113.80", NULL, 80, C, MN, V5, NULL, 1},
	{"block;pass", "198.51.100.10", "203.0.113.80", NULL, 80, C, MN, V5, NULL, 1},
	{"pass port 22;block;pass", "198.51.100.10", "203.0.113.80", NULL, 80, C, MN, V5, NULL, 2},
	/* from */
	{"pass from 198.51.100.0/24", "198.51.100.10", NULL, NULL, 0, 0, 0, 0, NULL, 1},
	{"pass from 198.51.100.0/24", "198.51.101.10", NULL, NULL, 0, 0, 0, 0, NULL, 0},
	{"pass from 198.51.100.0/24", "::ffff:198.51.100.10", NULL, NULL, 0, 0, 0, 0, NULL, 1},
	{"pass from 198.51.100.0/24", "2001:db8::10", NULL, NULL, 0, 0, 0, 0, NULL, 0},
	{"pass from 2001:db8:1::/48", "2001:db8:1:ff::10", NULL, NULL, 0, 0, 0, 0, NULL, 1},
	{"pass from 2001:db8:1::/48", "2001:db8:2::10", NULL, NULL, 0, 0, 0, 0, NULL, 0},
	{"pass from 2001:db8:1::/48", "198.51.100.10", NULL, NULL, 0, 0, 0, 0, NULL, 0},
	{"pass from 203.0.113.0/24,2001:db8::/32", "2001:db8::1", NULL, NULL, 0, 0, 0, 0, NULL, 1},
	{"pass from any", "2001:db8::1", NULL, NULL, 0, 0, 0, 0, NULL, 1},
	{"pass from 198.51.100.0/24", NULL, NULL, NULL, 0, 0, 0, 0, NULL, 0},
	/* to: CIDR against literals and resolved names */
	{"pass to 203.0.113.0/24", NULL, "203.0.113.80", NULL, 80, C, MN, V5, NULL, 1},
	{"pass to 203.0.113.0/24", NULL, "203.0.114.80", NULL, 80, C, MN, V5, NULL, 0},
	{"pass to 2001:db8:6::/48", NULL, "2001:db8:6::80", NULL, 80, C, MN, V5, NULL, 1},
	{"pass to 203.0.113.0/24", NULL, "www.v4.test", NULL, 80, C, MN, V5, NULL, 0},
	{"pass to 203.0.113.0/24", NULL, "www.v4.test", "203.0.113.80", 80, C, MN, V5, NULL, 1},
	{"pass to 203.0.113.0/24", NULL, "www.v4.test", "203.0.112.80", 80, C, MN, V5, NULL, 0},
	{"pass to 203.0.113.0/24", NULL, NULL, NULL, 0, C, MN, V5, NULL, 0},
	{"pass to any", NULL, NULL, NULL, 0, C, MN, V5, NULL, 1},
	/* to: names and suffixes */
	{"pass to www.example.org", NULL, "www.example.org", NULL, 80, C, MN, V5, NULL, 1},
	{"pass to www.example.org", NULL, "WWW.Example.Org.", NULL, 80, C, MN, V5, NULL, 1},
	{"pass to www.example.org.", NULL, "www.example.org", NULL, 80, C, MN, V5, NULL, 1},
	{"pass to www.example.org", NULL, "a.www.example.org", NULL, 80, C, MN, V5, NULL, 0},
	{"pass to www.example.org", NULL, "ww.example.org", NULL, 80, C, MN, V5, NULL, 0},
	{"pass to www.example.org", NULL, "203.0.113.80", NULL, 80, C, MN, V5, NULL, 0},
	{"pass to *.example.org", NULL, "example.org", NULL, 80, C, MN, V5, NULL, 1},
	{"pass to *.example.org", NULL, "Example.Org.", NULL, 80, C, MN, V5, NULL, 1},
	{"pass to *.example.org", NULL, "www.example.org", NULL, 80, C, MN, V5, NULL, 1},
	{"pass to *.example.org", NULL, "a.b.EXAMPLE.org", NULL, 80, C, MN, V5, NULL, 1},
	{"pass to *.example.org", NULL, "badexample.org", NULL, 80, C, MN, V5, NULL, 0},
	{"pass to *.example.org", NULL, "example.org.evil", NULL, 80, C, MN, V5, NULL, 0},
	{"pass to *.example.org", NULL, "org", NULL, 80, C, MN, V5, NULL, 0},
	{"pass to *.example.org", NULL, ".example.org", NULL, 80, C, MN, V5, NULL, 0},
	{"pass to x.test,*.example.org", NULL, "x.test", NULL, 80, C, MN, V5, NULL, 1},
	/* port */
	{"pass port 80", NULL, "203.0.113.80", NULL, 80, C, MN, V5, NULL, 1},
	{"pass port 80", NULL, "203.0.113.80", NULL, 81, C, MN, V5, NULL, 0},
	{"pass port 8000-8080", NULL, "x.test", NULL, 8000, C, MN, V5, NULL, 1},
	{"pass port 8000-8080", NULL, "x.test", NULL, 8080, C, MN, V5, NULL, 1},
	{"pass port 8000-8080", NULL, "x.test", NULL, 7999, C, MN, V5, NULL, 0},
	{"pass port 8000-8080", NULL, "x.test", NULL, 8081, C, MN, V5, NULL, 0},
	{"pass port 22,80,443", NULL, "x.test", NULL, 443, C, MN, V5, NULL, 1},
	{"pass port 22,80,443", NULL, "x.test", NULL, 0, U, MN, V5, NULL, 0},
	{"pass port 1-65535", NULL, "x.test", NULL, 65535, C, MN, V5, NULL, 1},
	{"pass port 80", NULL, NULL, NULL, 0, C, MN, V5, NULL, 0},
	/* command */
	{"pass command connect", NULL, NULL, NULL, 0, C, MN, V5, NULL, 1},
	{"pass command connect", NULL, NULL, NULL, 0, B, MN, V5, NULL, 0},
	{"pass command bind,udp", NULL, NULL, NULL, 0, U, MN, V5, NULL, 1},
	{"pass command resolve", NULL, NULL, NULL, 0, R, MN, V5, NULL, 1},
	{"pass command resolve", NULL, NULL, NULL, 0, 0, MN, V5, NULL, 0},
	/* method */
	{"pass method gssapi", NULL, NULL, NULL, 0, C, MG, V5, NULL, 1},
	{"pass method gssapi", NULL, NULL, NULL, 0, C, MN, V5, NULL, 0},
	{"pass method none,username", NULL, NULL, NULL, 0, C, MU, V5, NULL, 1},
	{"pass method none", NULL, NULL, NULL, 0, C, 0, V5, NULL, 0},
	/* version */
	{"pass version 4", NULL, NULL, NULL, 0, C, MN, V4, NULL, 1},
	{"pass version 4", NULL, NULL, NULL, 0, C, MN, V5, NULL, 0},
	{"pass version 5", NULL, NULL, NULL, 0, C, MN, 0, NULL, 0},
	/* user: case-sensitive, absent user never matches */
	{"pass user alice,bob", NULL, NULL, NULL, 0, C, MU, V5, "bob", 1},
	{"pass user alice,bob", NULL, NULL, NULL, 0, C, MU, V5, "Alice", 0},
	{"pass user alice", NULL, NULL, NULL, 0, C, MU, V5, "alice2", 0},
	{"pass user alice", NULL, NULL, NULL, 0, C, MN, V5, NULL, 0},
	/* all fields together, and one field off at a time */
	{"pass from 198.51.100.0/24 to *.v6.test port 80 command connect method none version 5 "
	 "user alice",
	 "198.51.100.10", "www.v6.test", NULL, 80, C, MN, V5, "alice", 1},
	{"pass from 198.51.100.0/24 to *.v6.test port 80 command connect method none version 5 "
	 "user alice",
	 "198.51.100.10", "www.v6.test", NULL, 80, C, MN, V4, "alice", 0},
	{"pass from 198.51.100.0/24 to *.v6.test port 80 command connect method none version 5 "
	 "user alice;block from 198.51.100.0/24",
	 "198.51.100.10", "www.v4.test", NULL, 80, C, MN, V5, "alice", 2},
};

static void test_match_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(test_matches) / sizeof(test_matches[0]); i++) {
		const struct test_match *m = &test_matches[i];
		struct sockaddr_storage client, dst_sa;
		struct socks_addr dst;
		struct rule_query q = {
			.client = test_sa(m->client, &client),
			.dst = test_dst(m->dst, m->port, &dst),
			.dst_sa = test_sa(m->dst_sa, &dst_sa),
			.command = m->command,
			.method = m->method,
			.version = m->version,
			.user = m->user,
		};
		const struct rule *hit;
		struct test_rules t;
		char err[256] = "";
		unsigned got;

		if (test_parse(&t, m->rules, err, sizeof(err)) < 0)
			fail_msg("'%s': %s", m->rules, err);
		hit = rules_match(t.r, t.n, &q);
		got = hit != NULL ? (unsigned)(hit - t.r) + 1 : 0;
		if (got != m->expect)
			fail_msg("case %zu '%s' client %s dst %s: rule %u, expected %u", i,
				 m->rules, m->client, m->dst, got, m->expect);
		if (hit != NULL)
			assert_int_equal(hit->line, got);
		test_release(&t);
	}
}

struct test_client {
	const char *rules;
	const char *client;
	bool may_pass;
};

static void test_client_stage(void **state)
{
	static const struct test_client cases[] = {
		{"", "127.0.0.1", false},
		{"pass", "198.51.100.10", true},
		{"block", "198.51.100.10", false},
		{"pass from 198.51.100.0/24", "198.51.100.10", true},
		{"pass from 198.51.100.0/24", "203.0.113.10", false},
		{"pass from 198.51.100.0/24", "::ffff:198.51.100.10", true},
		/* A pass rule that depends on later fields may still match. */
		{"pass from 198.51.100.0/24 port 80", "198.51.100.10", true},
		{"pass user alice", "203.0.113.10", true},
		/* A block covering the client decides unless it depends on more. */
		{"block from 198.51.100.0/24;pass", "198.51.100.10", false},
		{"block from 198.51.100.0/24;pass", "203.0.113.10", true},
		{"block from 198.51.100.0/24 to *.bad.test;pass", "198.51.100.10", true},
		{"block from 198.51.100.0/24 command bind;block", "198.51.100.10", false},
		{"block user mallory;pass from 198.51.100.0/24", "198.51.100.10", true},
		{"block method none;block version 4;pass from 2001:db8::/32", "2001:db8::1", true},
		{"block method none;block version 4;pass from 2001:db8::/32", "198.51.100.1",
		 false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_storage ss;
		struct test_rules t;
		char err[256] = "";
		bool got;

		if (test_parse(&t, cases[i].rules, err, sizeof(err)) < 0)
			fail_msg("'%s': %s", cases[i].rules, err);
		got = rules_client_may_pass(t.r, t.n, test_sa(cases[i].client, &ss));
		if (got != cases[i].may_pass)
			fail_msg("'%s' client %s: %d, expected %d", cases[i].rules, cases[i].client,
				 got, cases[i].may_pass);
		test_release(&t);
	}
}

struct test_cidr {
	const char *cidr; /* NULL ends a group */
	int family; /* 0: invalid */
	unsigned plen;
	const char *network; /* after clearing host bits */
};

static void test_cidr_parse(void **state)
{
	static const struct test_cidr cases[] = {
		{"198.51.100.0/24", AF_INET, 24, "198.51.100.0"},
		{"198.51.100.77/24", AF_INET, 24, "198.51.100.0"},
		{"198.51.100.77/25", AF_INET, 25, "198.51.100.0"},
		{"198.51.100.200/25", AF_INET, 25, "198.51.100.128"},
		{"198.51.100.77/31", AF_INET, 31, "198.51.100.76"},
		{"198.51.100.77", AF_INET, 32, "198.51.100.77"},
		{"198.51.100.77/32", AF_INET, 32, "198.51.100.77"},
		{"203.0.113.1/0", AF_INET, 0, "0.0.0.0"},
		{"255.255.255.255/9", AF_INET, 9, "255.128.0.0"},
		{"2001:db8::/32", AF_INET6, 32, "2001:db8::"},
		{"2001:db8:ffff::1/33", AF_INET6, 33, "2001:db8:8000::"},
		{"2001:db8::1", AF_INET6, 128, "2001:db8::1"},
		{"2001:db8::1/128", AF_INET6, 128, "2001:db8::1"},
		{"2001:db8::1/127", AF_INET6, 127, "2001:db8::"},
		{"::/0", AF_INET6, 0, "::"},
		{"ffff::/1", AF_INET6, 1, "8000::"},
		{"198.51.100.0/33", 0, 0, NULL},
		{"2001:db8::/129", 0, 0, NULL},
		{"198.51.100.0/-1", 0, 0, NULL},
		{"198.51.100.0/ 8", 0, 0, NULL},
		{"198.51.100.0/8x", 0, 0, NULL},
		{"198.51.100.0/0008", 0, 0, NULL},
		{"198.51.100.0/", 0, 0, NULL},
		{"198.51.100.0//8", 0, 0, NULL},
		{"/8", 0, 0, NULL},
		{"198.51.100/24", 0, 0, NULL},
		{"[2001:db8::]/32", 0, 0, NULL},
		{"2001:db8::%eth0/64", 0, 0, NULL},
		{"any", 0, 0, NULL},
		{"", 0, 0, NULL},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cidr c;
		char text[INET6_ADDRSTRLEN];
		int rc = cidr_parse(&c, cases[i].cidr);

		if (cases[i].family == 0) {
			if (rc == 0)
				fail_msg("'%s' accepted", cases[i].cidr);
			continue;
		}
		if (rc != 0)
			fail_msg("'%s' refused", cases[i].cidr);
		assert_int_equal(c.family, cases[i].family);
		assert_int_equal(c.plen, cases[i].plen);
		assert_non_null(inet_ntop(c.family, c.addr, text, sizeof(text)));
		assert_string_equal(text, cases[i].network);
	}
}

struct test_contains {
	const char *cidr;
	const char *addr;
	bool inside;
};

static void test_cidr_contains(void **state)
{
	static const struct test_contains cases[] = {
		{"0.0.0.0/0", "198.51.100.1", true},
		{"0.0.0.0/0", "255.255.255.255", true},
		{"0.0.0.0/0", "::ffff:203.0.113.1", true},
		{"0.0.0.0/0", "2001:db8::1", false},
		{"::/0", "2001:db8::1", true},
		{"::/0", "::ffff:203.0.113.1", true},
		{"::/0", "198.51.100.1", false},
		{"198.51.100.1/32", "198.51.100.1", true},
		{"198.51.100.1/32", "198.51.100.2", false},
		{"198.51.100.1/32", "::ffff:198.51.100.1", true},
		{"198.51.100.1/32", "::198.51.100.1", false}, /* v4-compatible is not mapped */
		{"198.51.100.1/32", "64:ff9b::198.51.100.1", false},
		{"198.51.100.128/25", "198.51.100.127", false},
		{"198.51.100.128/25", "198.51.100.128", true},
		{"198.51.100.128/25", "198.51.100.255", true},
		{"198.51.100.0/23", "198.51.101.255", true},
		{"198.51.100.0/23", "198.51.102.0", false},
		{"2001:db8::1/128", "2001:db8::1", true},
		{"2001:db8::1/128", "2001:db8::", false},
		{"2001:db8::/127", "2001:db8::1", true},
		{"2001:db8::/127", "2001:db8::2", false},
		{"2001:db8::/33", "2001:db8:7fff::1", true},
		{"2001:db8::/33", "2001:db8:8000::1", false},
		{"::ffff:0:0/96", "::ffff:198.51.100.1", true},
		{"::ffff:0:0/96", "198.51.100.1", false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_storage ss;
		struct cidr c;

		assert_int_equal(cidr_parse(&c, cases[i].cidr), 0);
		if (cidr_contains(&c, test_sa(cases[i].addr, &ss)) != cases[i].inside)
			fail_msg("%s in %s: expected %d", cases[i].addr, cases[i].cidr,
				 cases[i].inside);
	}
	assert_false(cidr_contains(&(struct cidr){.family = AF_INET6}, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_errors), cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_match_table),  cmocka_unit_test(test_client_stage),
		cmocka_unit_test(test_cidr_parse),   cmocka_unit_test(test_cidr_contains),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
