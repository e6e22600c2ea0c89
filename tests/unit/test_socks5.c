/* Unit tests for the RFC 1928 codec: every message byte by byte, every
 * malformed field, round trips through the builders, errno -> REP. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec_feed.h"
#include "socks5.h"

struct test_reply {
	uint8_t rep;
	struct socks_addr bnd;
};

static enum codec_status test_parse_greeting(const uint8_t *in, size_t len, void *out, size_t *used,
					     uint8_t *rep)
{
	(void)rep;
	return socks5_parse_greeting(in, len, out, used);
}

static enum codec_status test_parse_request(const uint8_t *in, size_t len, void *out, size_t *used,
					    uint8_t *rep)
{
	return socks5_parse_request(in, len, out, used, rep);
}

static enum codec_status test_parse_reply(const uint8_t *in, size_t len, void *out, size_t *used,
					  uint8_t *rep)
{
	struct test_reply *r = out;

	(void)rep;
	return socks5_parse_reply(in, len, &r->rep, &r->bnd, used);
}

/* A pipelined next message after each complete one. */
static void test_feed_ok(codec_feed_fn fn, const uint8_t *msg, size_t len, void *out,
			 size_t outsize)
{
	codec_feed_ok(fn, msg, len, out, outsize, "\x05\x01\x00", 3);
}

static void test_request_err(const uint8_t *msg, size_t len, size_t err_at, uint8_t want_rep)
{
	struct socks5_request r;

	codec_feed_err(test_parse_request, msg, len, err_at, want_rep, &r, sizeof(r));
}

static void test_reply_err(const uint8_t *msg, size_t len, size_t err_at)
{
	struct test_reply r;

	codec_feed_err(test_parse_reply, msg, len, err_at, TEST_REP_UNSET, &r, sizeof(r));
}

static void test_assert_v4(const struct socks_addr *a, const char *ip, uint16_t port)
{
	struct in_addr v4;

	assert_int_equal(inet_pton(AF_INET, ip, &v4), 1);
	assert_int_equal(a->atyp, SOCKS_ATYP_IPV4);
	assert_memory_equal(&a->u.v4, &v4, sizeof(v4));
	assert_int_equal(a->port, port);
}

static void test_assert_v6(const struct socks_addr *a, const char *ip, uint16_t port)
{
	struct in6_addr v6;

	assert_int_equal(inet_pton(AF_INET6, ip, &v6), 1);
	assert_int_equal(a->atyp, SOCKS_ATYP_IPV6);
	assert_memory_equal(&a->u.v6, &v6, sizeof(v6));
	assert_int_equal(a->port, port);
}

static void test_assert_name(const struct socks_addr *a, const char *name, uint16_t port)
{
	assert_int_equal(a->atyp, SOCKS_ATYP_NAME);
	assert_int_equal(a->namelen, strlen(name));
	assert_string_equal(a->u.name, name);
	assert_int_equal(a->port, port);
}

/* VER CMD RSV ATYP=3 LEN name PORT into out; returns the length. */
static size_t test_name_msg(uint8_t *out, uint8_t code, const void *name, size_t namelen,
			    uint16_t port)
{
	out[0] = SOCKS5_VERSION;
	out[1] = code;
	out[2] = 0;
	out[3] = SOCKS_ATYP_NAME;
	out[4] = (uint8_t)namelen;
	memcpy(out + 5, name, namelen);
	out[5 + namelen] = (uint8_t)(port >> 8);
	out[6 + namelen] = (uint8_t)port;
	return 7 + namelen;
}

/* ---- greeting (§3) ---- */

static void test_greeting_bytewise(void **state)
{
	static const uint8_t msg[] = {0x05, 0x03, 0x00, 0x02, 0x01};
	struct socks5_greeting g;

	(void)state;
	test_feed_ok(test_parse_greeting, msg, sizeof(msg), &g, sizeof(g));
	assert_int_equal(g.nmethods, 3);
	assert_memory_equal(g.methods, msg + 2, 3);
}

static void test_greeting_255_methods(void **state)
{
	uint8_t msg[SOCKS5_GREETING_MAX];
	struct socks5_greeting g;

	(void)state;
	msg[0] = 0x05;
	msg[1] = 255;
	for (int i = 0; i < 255; i++)
		msg[2 + i] = (uint8_t)(254 - i);
	test_feed_ok(test_parse_greeting, msg, sizeof(msg), &g, sizeof(g));
	assert_int_equal(g.nmethods, 255);
	assert_memory_equal(g.methods, msg + 2, 255);
}

static void test_greeting_bad(void **state)
{
	static const uint8_t socks4[] = {0x04, 0x01, 0x00, 0x50, 198, 51, 100, 1, 0};
	static const uint8_t http[] = {'G', 'E', 'T', ' ', '/'};
	static const uint8_t nomethods[] = {0x05, 0x00, 0x00};
	struct socks5_greeting g;

	(void)state;
	/* Wrong VER fails on the first byte, not after a length it never sends. */
	codec_feed_err(test_parse_greeting, socks4, sizeof(socks4), 1, TEST_REP_UNSET, &g,
		       sizeof(g));
	codec_feed_err(test_parse_greeting, http, sizeof(http), 1, TEST_REP_UNSET, &g, sizeof(g));
	codec_feed_err(test_parse_greeting, nomethods, sizeof(nomethods), 2, TEST_REP_UNSET, &g,
		       sizeof(g));
}

static void test_choose_method(void **state)
{
	static const uint8_t offer[] = {0x05, 0x03, 0x00, 0x02, 0x01};
	static const uint8_t pref_gss[] = {SOCKS5_METHOD_GSSAPI, SOCKS5_METHOD_USERNAME};
	static const uint8_t pref_user[] = {SOCKS5_METHOD_USERNAME, SOCKS5_METHOD_GSSAPI};
	static const uint8_t pref_private[] = {0x80, 0x03};
	struct socks5_greeting g;
	size_t used;

	(void)state;
	assert_int_equal(socks5_parse_greeting(offer, sizeof(offer), &g, &used), CODEC_OK);
	/* The server's order decides, not the client's. */
	assert_int_equal(socks5_choose_method(&g, pref_gss, 2), SOCKS5_METHOD_GSSAPI);
	assert_int_equal(socks5_choose_method(&g, pref_user, 2), SOCKS5_METHOD_USERNAME);
	assert_int_equal(socks5_choose_method(&g, pref_user, 1), SOCKS5_METHOD_USERNAME);
	assert_int_equal(socks5_choose_method(&g, pref_private, 2), SOCKS5_METHOD_NO_ACCEPTABLE);
	assert_int_equal(socks5_choose_method(&g, pref_gss, 0), SOCKS5_METHOD_NO_ACCEPTABLE);

	/* A client that offers only NONE to a server that wants GSSAPI. */
	g.nmethods = 1;
	g.methods[0] = SOCKS5_METHOD_NONE;
	assert_int_equal(socks5_choose_method(&g, pref_gss, 2), SOCKS5_METHOD_NO_ACCEPTABLE);
}

/* ---- request (§4, §5) ---- */

static void test_request_v4_bytewise(void **state)
{
	static const uint8_t msg[] = {0x05, 0x01, 0x00, 0x01, 198, 51, 100, 1, 0x00, 0x50};
	struct socks5_request r;

	(void)state;
	test_feed_ok(test_parse_request, msg, sizeof(msg), &r, sizeof(r));
	assert_int_equal(r.cmd, SOCKS5_CMD_CONNECT);
	test_assert_v4(&r.dst, "198.51.100.1", 80);
}

static void test_request_v6_bytewise(void **state)
{
	static const uint8_t msg[] = {0x05, 0x02, 0x00, 0x04, 0x20, 0x01, 0x0d, 0xb8,
				      0x00, 0x06, 0,    0,    0,    0,    0,    0,
				      0,    0,    0,    0x80, 0x01, 0xbb};
	struct socks5_request r;

	(void)state;
	test_feed_ok(test_parse_request, msg, sizeof(msg), &r, sizeof(r));
	assert_int_equal(r.cmd, SOCKS5_CMD_BIND);
	test_assert_v6(&r.dst, "2001:db8:6::80", 443);
}

static void test_request_v4mapped(void **state)
{
	static const uint8_t msg[] = {0x05, 0x01, 0x00, 0x04, 0,    0,   0, 0, 0, 0,    0,
				      0,    0,    0,    0xff, 0xff, 127, 0, 0, 1, 0x00, 0x16};
	struct socks5_request r;

	(void)state;
	/* ::ffff:127.0.0.1 is loopback; rules must see it as IPv4. */
	test_feed_ok(test_parse_request, msg, sizeof(msg), &r, sizeof(r));
	test_assert_v4(&r.dst, "127.0.0.1", 22);
}

static void test_request_name_bytewise(void **state)
{
	uint8_t msg[SOCKS5_REQUEST_MAX];
	size_t len = test_name_msg(msg, SOCKS5_CMD_CONNECT, "www.v6.test", 11, 8080);
	struct socks5_request r;

	(void)state;
	test_feed_ok(test_parse_request, msg, len, &r, sizeof(r));
	assert_int_equal(r.cmd, SOCKS5_CMD_CONNECT);
	test_assert_name(&r.dst, "www.v6.test", 8080);
}

static void test_request_name_255(void **state)
{
	uint8_t msg[SOCKS5_REQUEST_MAX];
	char name[256];
	size_t len;
	struct socks5_request r;

	(void)state;
	memset(name, 'x', 255);
	name[255] = '\0';
	len = test_name_msg(msg, SOCKS5_CMD_CONNECT, name, 255, 65535);
	assert_int_equal(len, SOCKS5_REQUEST_MAX);
	test_feed_ok(test_parse_request, msg, len, &r, sizeof(r));
	test_assert_name(&r.dst, name, 65535);

	/* The same length with a trailing dot: stored without it. */
	name[254] = '.';
	len = test_name_msg(msg, SOCKS5_CMD_CONNECT, name, 255, 1);
	test_feed_ok(test_parse_request, msg, len, &r, sizeof(r));
	name[254] = '\0';
	test_assert_name(&r.dst, name, 1);
}

static void test_request_name_literals(void **state)
{
	uint8_t msg[SOCKS5_REQUEST_MAX];
	size_t len;
	struct socks5_request r;

	(void)state;
	/* RFC 3089 §3: literals sent as names are literals, never DNS names. */
	len = test_name_msg(msg, SOCKS5_CMD_CONNECT, "203.0.113.80", 12, 80);
	test_feed_ok(test_parse_request, msg, len, &r, sizeof(r));
	test_assert_v4(&r.dst, "203.0.113.80", 80);

	len = test_name_msg(msg, SOCKS5_CMD_CONNECT, "2001:db8::1", 11, 80);
	test_feed_ok(test_parse_request, msg, len, &r, sizeof(r));
	test_assert_v6(&r.dst, "2001:db8::1", 80);

	len = test_name_msg(msg, SOCKS5_CMD_CONNECT, "[2001:db8::1]", 13, 443);
	test_feed_ok(test_parse_request, msg, len, &r, sizeof(r));
	test_assert_v6(&r.dst, "2001:db8::1", 443);

	len = test_name_msg(msg, SOCKS5_CMD_CONNECT, "0.0.0.17", 8, 80);
	test_feed_ok(test_parse_request, msg, len, &r, sizeof(r));
	test_assert_v4(&r.dst, "0.0.0.17", 80);
	assert_true(socks_addr_is_synthetic_v4(&r.dst));

	/* Not a dotted quad: a name. */
	len = test_name_msg(msg, SOCKS5_CMD_CONNECT, "1.2.3", 5, 80);
	test_feed_ok(test_parse_request, msg, len, &r, sizeof(r));
	test_assert_name(&r.dst, "1.2.3", 80);
}

static void test_request_trailing_dot(void **state)
{
	uint8_t msg[SOCKS5_REQUEST_MAX];
	size_t len = test_name_msg(msg, SOCKS5_CMD_CONNECT, "dual.test.", 10, 80);
	struct socks5_request r;

	(void)state;
	test_feed_ok(test_parse_request, msg, len, &r, sizeof(r));
	test_assert_name(&r.dst, "dual.test", 80);
}

static void test_request_unknown_cmd(void **state)
{
	static const uint8_t cmds[] = {
		0x00, SOCKS5_CMD_UDP_ASSOCIATE, 0x04, 0x7f, SOCKS5_CMD_RESOLVE, 0xf1, 0xff};
	uint8_t msg[] = {0x05, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0};
	struct socks5_request r;

	(void)state;
	/* The caller answers CMD_NOT_SUPPORTED; the codec returns cmd as sent. */
	for (size_t i = 0; i < sizeof(cmds); i++) {
		msg[1] = cmds[i];
		test_feed_ok(test_parse_request, msg, sizeof(msg), &r, sizeof(r));
		assert_int_equal(r.cmd, cmds[i]);
		test_assert_v4(&r.dst, "0.0.0.0", 0);
	}
}

static void test_request_bad_header(void **state)
{
	static const uint8_t ver4[] = {0x04, 0x01, 0x00, 0x01, 1, 2, 3, 4, 0, 80};
	static const uint8_t ver0[] = {0x00, 0x01, 0x00, 0x01, 1, 2, 3, 4, 0, 80};
	static const uint8_t rsv1[] = {0x05, 0x01, 0x01, 0x01, 1, 2, 3, 4, 0, 80};
	static const uint8_t rsvff[] = {0x05, 0x01, 0xff, 0x03, 1, 'a', 0, 80};

	(void)state;
	test_request_err(ver4, sizeof(ver4), 1, SOCKS5_REP_GENERAL_FAILURE);
	test_request_err(ver0, sizeof(ver0), 1, SOCKS5_REP_GENERAL_FAILURE);
	test_request_err(rsv1, sizeof(rsv1), 3, SOCKS5_REP_GENERAL_FAILURE);
	test_request_err(rsvff, sizeof(rsvff), 3, SOCKS5_REP_GENERAL_FAILURE);
}

static void test_request_bad_atyp(void **state)
{
	static const uint8_t atyps[] = {0x00, 0x02, 0x05, 0x06, 0x7f, 0xff};
	uint8_t msg[] = {0x05, 0x01, 0x00, 0x00, 1, 2, 3, 4, 0, 80};

	(void)state;
	for (size_t i = 0; i < sizeof(atyps); i++) {
		msg[3] = atyps[i];
		test_request_err(msg, sizeof(msg), 4, SOCKS5_REP_ATYP_NOT_SUPPORTED);
	}
}

static void test_request_bad_names(void **state)
{
	uint8_t msg[SOCKS5_REQUEST_MAX];
	size_t len;

	(void)state;
	/* Zero length fails as soon as the length octet is seen. */
	len = test_name_msg(msg, SOCKS5_CMD_CONNECT, "", 0, 80);
	test_request_err(msg, len, 5, SOCKS5_REP_GENERAL_FAILURE);

	/* Malformed names fail once the name is complete. */
	len = test_name_msg(msg, SOCKS5_CMD_CONNECT, "evil\0.example", 13, 80);
	test_request_err(msg, len, 5 + 13, SOCKS5_REP_GENERAL_FAILURE);
	len = test_name_msg(msg, SOCKS5_CMD_CONNECT, "\0", 1, 80);
	test_request_err(msg, len, 6, SOCKS5_REP_GENERAL_FAILURE);
	len = test_name_msg(msg, SOCKS5_CMD_CONNECT, ".", 1, 80);
	test_request_err(msg, len, 6, SOCKS5_REP_GENERAL_FAILURE);
	len = test_name_msg(msg, SOCKS5_CMD_CONNECT, "a\r\nb", 4, 80);
	test_request_err(msg, len, 9, SOCKS5_REP_GENERAL_FAILURE);
	len = test_name_msg(msg, SOCKS5_CMD_CONNECT, "caf\xc3\xa9", 5, 80);
	test_request_err(msg, len, 10, SOCKS5_REP_GENERAL_FAILURE);
	len = test_name_msg(msg, SOCKS5_CMD_CONNECT, "[www.example]", 13, 80);
	test_request_err(msg, len, 18, SOCKS5_REP_GENERAL_FAILURE);
}

/* ---- reply (§6), client side ---- */

static void test_reply_bytewise(void **state)
{
	static const uint8_t v4[] = {0x05, 0x00, 0x00, 0x01, 203, 0, 113, 1, 0x04, 0x38};
	static const uint8_t v6[] = {0x05, 0x05, 0x00, 0x04, 0x20, 0x01, 0x0d, 0xb8, 0, 1,    0,
				     0,    0,    0,    0,    0,    0,    0,    0,    1, 0x04, 0x38};
	uint8_t name[SOCKS5_REPLY_MAX];
	size_t len = test_name_msg(name, SOCKS5_REP_SUCCEEDED, "gw.example", 10, 1080);
	struct test_reply r;

	(void)state;
	test_feed_ok(test_parse_reply, v4, sizeof(v4), &r, sizeof(r));
	assert_int_equal(r.rep, SOCKS5_REP_SUCCEEDED);
	test_assert_v4(&r.bnd, "203.0.113.1", 1080);

	test_feed_ok(test_parse_reply, v6, sizeof(v6), &r, sizeof(r));
	assert_int_equal(r.rep, SOCKS5_REP_CONN_REFUSED);
	test_assert_v6(&r.bnd, "2001:db8:1::1", 1080);

	test_feed_ok(test_parse_reply, name, len, &r, sizeof(r));
	assert_int_equal(r.rep, SOCKS5_REP_SUCCEEDED);
	test_assert_name(&r.bnd, "gw.example", 1080);
}

static void test_reply_every_rep(void **state)
{
	uint8_t msg[] = {0x05, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0};
	struct test_reply r;

	(void)state;
	for (unsigned rep = 0; rep <= 0xff; rep++) {
		msg[1] = (uint8_t)rep;
		test_feed_ok(test_parse_reply, msg, sizeof(msg), &r, sizeof(r));
		assert_int_equal(r.rep, rep);
	}
}

static void test_reply_bad(void **state)
{
	static const uint8_t ver[] = {0x04, 0x5a, 0x00, 0x01, 0, 0, 0, 0, 0, 0};
	static const uint8_t rsv[] = {0x05, 0x00, 0x01, 0x01, 0, 0, 0, 0, 0, 0};
	static const uint8_t atyp[] = {0x05, 0x00, 0x00, 0x02, 0, 0, 0, 0, 0, 0};
	static const uint8_t noname[] = {0x05, 0x00, 0x00, 0x03, 0, 0, 0};

	(void)state;
	test_reply_err(ver, sizeof(ver), 1);
	/* Chromium rejects RSV != 0 in a reply too. */
	test_reply_err(rsv, sizeof(rsv), 3);
	test_reply_err(atyp, sizeof(atyp), 4);
	test_reply_err(noname, sizeof(noname), 5);
}

/* ---- builders ---- */

static void test_build_greeting(void **state)
{
	static const uint8_t methods[] = {SOCKS5_METHOD_NONE, SOCKS5_METHOD_GSSAPI};
	static const uint8_t want[] = {0x05, 0x02, 0x00, 0x01};
	uint8_t many[256];
	uint8_t out[SOCKS5_GREETING_MAX + 1];
	struct socks5_greeting g;
	size_t used;

	(void)state;
	assert_int_equal(socks5_build_greeting(out, sizeof(out), methods, 2), sizeof(want));
	assert_memory_equal(out, want, sizeof(want));

	memset(many, SOCKS5_METHOD_USERNAME, sizeof(many));
	assert_int_equal(socks5_build_greeting(out, sizeof(out), many, 255), SOCKS5_GREETING_MAX);
	assert_int_equal(socks5_parse_greeting(out, SOCKS5_GREETING_MAX, &g, &used), CODEC_OK);
	assert_int_equal(used, SOCKS5_GREETING_MAX);
	assert_int_equal(g.nmethods, 255);

	/* NMETHODS is 1..255 (§3). */
	assert_int_equal(socks5_build_greeting(out, sizeof(out), methods, 0), 0);
	assert_int_equal(socks5_build_greeting(out, sizeof(out), many, 256), 0);
}

static void test_build_method_select(void **state)
{
	uint8_t out[2];

	(void)state;
	assert_int_equal(socks5_build_method_select(out, sizeof(out), SOCKS5_METHOD_NO_ACCEPTABLE),
			 2);
	assert_int_equal(out[0], 0x05);
	assert_int_equal(out[1], 0xff);
}

/* Build with cmd/rep code and addr, compare with want, parse it back. */
static void test_roundtrip(bool request, uint8_t code, const struct socks_addr *a,
			   const uint8_t *want, size_t wantlen)
{
	uint8_t out[SOCKS5_REQUEST_MAX];
	size_t n, used = TEST_USED_UNSET;
	struct socks5_request r;
	struct socks_addr bnd;
	uint8_t rep = TEST_REP_UNSET;

	if (request)
		n = socks5_build_request(out, sizeof(out), code, a);
	else
		n = socks5_build_reply(out, sizeof(out), code, a);
	assert_int_equal(n, wantlen);
	assert_memory_equal(out, want, wantlen);

	if (request) {
		assert_int_equal(socks5_parse_request(out, n, &r, &used, &rep), CODEC_OK);
		assert_int_equal(r.cmd, code);
		bnd = r.dst;
	} else {
		assert_int_equal(socks5_parse_reply(out, n, &rep, &bnd, &used), CODEC_OK);
		assert_int_equal(rep, code);
	}
	assert_int_equal(used, n);
	assert_int_equal(bnd.atyp, a->atyp);
	assert_int_equal(bnd.port, a->port);
	if (a->atyp == SOCKS_ATYP_IPV4)
		assert_memory_equal(&bnd.u.v4, &a->u.v4, 4);
	else if (a->atyp == SOCKS_ATYP_IPV6)
		assert_memory_equal(&bnd.u.v6, &a->u.v6, 16);
	else
		assert_string_equal(bnd.u.name, a->u.name);
}

static void test_roundtrip_all_atyps(void **state)
{
	static const uint8_t v4[] = {0x05, 0x01, 0x00, 0x01, 198, 51, 100, 10, 0x1f, 0x90};
	static const uint8_t v6[] = {0x05, 0x01, 0x00, 0x04, 0x20, 0x01, 0x0d, 0xb8,
				     0,    6,    0,    0,    0,    0,    0,    0,
				     0,    0,    0,    0x80, 0x00, 0x50};
	static const uint8_t name[] = {0x05, 0x01, 0x00, 0x03, 11,  'w', 'w', 'w',  '.',
				       'v',  '4',  '.',  't',  'e', 's', 't', 0x00, 0x15};
	uint8_t want[sizeof(v6)];
	struct socks_addr a;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.port = 8080;
	assert_int_equal(socks_addr_set_name(&a, "198.51.100.10", 13), SOCKS_NAME_LITERAL);
	test_roundtrip(true, SOCKS5_CMD_CONNECT, &a, v4, sizeof(v4));
	memcpy(want, v4, sizeof(v4));
	want[1] = SOCKS5_REP_SUCCEEDED;
	test_roundtrip(false, SOCKS5_REP_SUCCEEDED, &a, want, sizeof(v4));

	a.port = 80;
	assert_int_equal(socks_addr_set_name(&a, "2001:db8:6::80", 14), SOCKS_NAME_LITERAL);
	test_roundtrip(true, SOCKS5_CMD_CONNECT, &a, v6, sizeof(v6));
	memcpy(want, v6, sizeof(v6));
	want[1] = SOCKS5_REP_HOST_UNREACHABLE;
	test_roundtrip(false, SOCKS5_REP_HOST_UNREACHABLE, &a, want, sizeof(v6));

	a.port = 21;
	assert_int_equal(socks_addr_set_name(&a, "www.v4.test", 11), SOCKS_NAME_OK);
	test_roundtrip(true, SOCKS5_CMD_CONNECT, &a, name, sizeof(name));
	memcpy(want, name, sizeof(name));
	want[1] = SOCKS5_REP_SUCCEEDED;
	test_roundtrip(false, SOCKS5_REP_SUCCEEDED, &a, want, sizeof(name));
}

static void test_roundtrip_name_255(void **state)
{
	uint8_t out[SOCKS5_REQUEST_MAX];
	char name[256];
	struct socks_addr a;
	struct socks5_request r;
	size_t used;
	uint8_t rep;

	(void)state;
	memset(name, 'q', 255);
	name[255] = '\0';
	memset(&a, 0, sizeof(a));
	a.port = 443;
	assert_int_equal(socks_addr_set_name(&a, name, 255), SOCKS_NAME_OK);
	assert_int_equal(socks5_build_request(out, sizeof(out), SOCKS5_CMD_CONNECT, &a),
			 SOCKS5_REQUEST_MAX);
	assert_int_equal(socks5_parse_request(out, sizeof(out), &r, &used, &rep), CODEC_OK);
	assert_int_equal(used, SOCKS5_REQUEST_MAX);
	test_assert_name(&r.dst, name, 443);
}

static void test_build_reply_null_bnd(void **state)
{
	static const uint8_t want[] = {0x05, 0x02, 0x00, 0x01, 0, 0, 0, 0, 0, 0};
	uint8_t out[SOCKS5_REPLY_MAX];
	struct socks_addr zero, noname;

	(void)state;
	memset(out, 0xcc, sizeof(out));
	assert_int_equal(socks5_build_reply(out, sizeof(out), SOCKS5_REP_NOT_ALLOWED, NULL),
			 sizeof(want));
	assert_memory_equal(out, want, sizeof(want));

	/* A zeroed address (no ATYP) and an empty name are written the same. */
	memset(&zero, 0, sizeof(zero));
	zero.port = 99;
	memset(out, 0xcc, sizeof(out));
	assert_int_equal(socks5_build_reply(out, sizeof(out), SOCKS5_REP_NOT_ALLOWED, &zero),
			 sizeof(want));
	assert_memory_equal(out, want, sizeof(want));

	memset(&noname, 0, sizeof(noname));
	noname.atyp = SOCKS_ATYP_NAME;
	memset(out, 0xcc, sizeof(out));
	assert_int_equal(socks5_build_reply(out, sizeof(out), SOCKS5_REP_NOT_ALLOWED, &noname),
			 sizeof(want));
	assert_memory_equal(out, want, sizeof(want));

	/* A request has no such default: it needs a real destination. */
	assert_int_equal(socks5_build_request(out, sizeof(out), SOCKS5_CMD_CONNECT, NULL), 0);
	assert_int_equal(socks5_build_request(out, sizeof(out), SOCKS5_CMD_CONNECT, &zero), 0);
	assert_int_equal(socks5_build_request(out, sizeof(out), SOCKS5_CMD_CONNECT, &noname), 0);
}

/* Every capacity below the message size gives 0 and writes nothing beyond
 * cap (the buffer is exactly cap bytes on the heap). */
static void test_small_caps(size_t (*build)(uint8_t *, size_t, const void *), const void *arg)
{
	uint8_t big[SOCKS5_REQUEST_MAX + 1];
	size_t full = build(big, sizeof(big), arg);

	assert_true(full > 0);
	for (size_t cap = 0; cap < full; cap++) {
		uint8_t *out = malloc(cap ? cap : 1);

		assert_non_null(out);
		assert_int_equal(build(out, cap, arg), 0);
		free(out);
	}
	assert_int_equal(build(big, full, arg), full);
}

static size_t test_bld_greeting(uint8_t *out, size_t cap, const void *arg)
{
	static const uint8_t methods[] = {0x00, 0x01, 0x02};

	(void)arg;
	return socks5_build_greeting(out, cap, methods, sizeof(methods));
}

static size_t test_bld_select(uint8_t *out, size_t cap, const void *arg)
{
	(void)arg;
	return socks5_build_method_select(out, cap, SOCKS5_METHOD_GSSAPI);
}

static size_t test_bld_request(uint8_t *out, size_t cap, const void *arg)
{
	return socks5_build_request(out, cap, SOCKS5_CMD_CONNECT, arg);
}

static size_t test_bld_reply(uint8_t *out, size_t cap, const void *arg)
{
	return socks5_build_reply(out, cap, SOCKS5_REP_SUCCEEDED, arg);
}

static void test_build_too_small(void **state)
{
	static const char *dsts[] = {"198.51.100.1", "2001:db8::1", "www.example"};
	char longname[256];
	struct socks_addr a;

	(void)state;
	test_small_caps(test_bld_greeting, NULL);
	test_small_caps(test_bld_select, NULL);
	test_small_caps(test_bld_reply, NULL);
	memset(&a, 0, sizeof(a));
	a.port = 1;
	for (size_t i = 0; i < sizeof(dsts) / sizeof(dsts[0]); i++) {
		assert_int_not_equal(socks_addr_set_name(&a, dsts[i], strlen(dsts[i])),
				     SOCKS_NAME_BAD);
		test_small_caps(test_bld_request, &a);
		test_small_caps(test_bld_reply, &a);
	}
	memset(longname, 'z', 255);
	assert_int_equal(socks_addr_set_name(&a, longname, 255), SOCKS_NAME_OK);
	test_small_caps(test_bld_request, &a);
	test_small_caps(test_bld_reply, &a);
}

/* ---- reply codes ---- */

static void test_rep_from_errno(void **state)
{
	static const struct {
		int err;
		uint8_t rep;
	} map[] = {
		{ENETUNREACH, SOCKS5_REP_NET_UNREACHABLE},
		{ENETDOWN, SOCKS5_REP_NET_UNREACHABLE},
		{EAFNOSUPPORT, SOCKS5_REP_NET_UNREACHABLE},
		{EADDRNOTAVAIL, SOCKS5_REP_NET_UNREACHABLE},
		{EHOSTUNREACH, SOCKS5_REP_HOST_UNREACHABLE},
		{EHOSTDOWN, SOCKS5_REP_HOST_UNREACHABLE},
		{ECONNREFUSED, SOCKS5_REP_CONN_REFUSED},
		{ECONNRESET, SOCKS5_REP_CONN_REFUSED},
		{ETIMEDOUT, SOCKS5_REP_TTL_EXPIRED},
		{EACCES, SOCKS5_REP_NOT_ALLOWED},
		{EPERM, SOCKS5_REP_NOT_ALLOWED},
		{0, SOCKS5_REP_GENERAL_FAILURE},
		{-1, SOCKS5_REP_GENERAL_FAILURE},
		{ENOMEM, SOCKS5_REP_GENERAL_FAILURE},
		{EMFILE, SOCKS5_REP_GENERAL_FAILURE},
		{EINVAL, SOCKS5_REP_GENERAL_FAILURE},
		{ENOBUFS, SOCKS5_REP_GENERAL_FAILURE},
		{EINPROGRESS, SOCKS5_REP_GENERAL_FAILURE},
		{EPIPE, SOCKS5_REP_GENERAL_FAILURE},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		uint8_t got = socks5_rep_from_errno(map[i].err);

		if (got != map[i].rep)
			print_error("errno %d gave REP %u\n", map[i].err, got);
		assert_int_equal(got, map[i].rep);
	}
}

static void test_rep_str(void **state)
{
	const char *seen[SOCKS5_REP_ATYP_NOT_SUPPORTED + 1];

	(void)state;
	assert_string_equal(socks5_rep_str(SOCKS5_REP_SUCCEEDED), "succeeded");
	assert_string_equal(socks5_rep_str(SOCKS5_REP_CONN_REFUSED), "refused");
	/* Every assigned code has its own text; the rest share one. */
	for (unsigned i = 0; i <= SOCKS5_REP_ATYP_NOT_SUPPORTED; i++) {
		seen[i] = socks5_rep_str((uint8_t)i);
		assert_non_null(seen[i]);
		assert_string_not_equal(seen[i], "unassigned");
		for (unsigned j = 0; j < i; j++)
			assert_string_not_equal(seen[i], seen[j]);
	}
	assert_string_equal(socks5_rep_str(0x09), "unassigned");
	assert_string_equal(socks5_rep_str(0xff), "unassigned");
}

/* RFC 1928 §7 UDP header: round trips for every ATYP, a datagram is whole
 * (short headers are errors, never "need more"), RSV must be zero, FRAG is
 * reported for the caller to drop, literal names become addresses. */
static void test_udp_header(void **state)
{
	struct socks_addr a, got;
	uint8_t buf[SOCKS5_UDP_HDR_MAX + 8], frag;
	size_t n, hl;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.atyp = SOCKS_ATYP_IPV4;
	a.u.v4.s_addr = htonl(0xc6336401); /* 198.51.100.1 */
	a.port = 5353;
	n = socks5_build_udp_header(buf, sizeof(buf), &a);
	assert_int_equal(n, 10);
	memcpy(buf + n, "data", 4);
	assert_int_equal(socks5_parse_udp(buf, n + 4, &frag, &got, &hl), CODEC_OK);
	assert_int_equal(hl, 10);
	assert_int_equal(frag, 0);
	assert_int_equal(got.atyp, SOCKS_ATYP_IPV4);
	assert_int_equal(got.port, 5353);
	assert_memory_equal(&got.u.v4, &a.u.v4, 4);
	/* Every shorter prefix is malformed, not incomplete. */
	for (size_t k = 0; k < n; k++)
		assert_int_equal(socks5_parse_udp(buf, k, &frag, &got, &hl), CODEC_ERR);

	a.atyp = SOCKS_ATYP_IPV6;
	inet_pton(AF_INET6, "2001:db8::53", &a.u.v6);
	n = socks5_build_udp_header(buf, sizeof(buf), &a);
	assert_int_equal(n, 22);
	assert_int_equal(socks5_parse_udp(buf, n, &frag, &got, &hl), CODEC_OK);
	assert_int_equal(got.atyp, SOCKS_ATYP_IPV6);
	assert_memory_equal(&got.u.v6, &a.u.v6, 16);

	assert_int_equal(socks_addr_set_name(&a, "www.v6.test", 11), SOCKS_NAME_OK);
	n = socks5_build_udp_header(buf, sizeof(buf), &a);
	assert_int_equal(n, 4 + 1 + 11 + 2);
	assert_int_equal(socks5_parse_udp(buf, n, &frag, &got, &hl), CODEC_OK);
	assert_int_equal(got.atyp, SOCKS_ATYP_NAME);
	assert_string_equal(got.u.name, "www.v6.test");

	/* FRAG is returned as sent. */
	buf[2] = 0x81;
	assert_int_equal(socks5_parse_udp(buf, n, &frag, &got, &hl), CODEC_OK);
	assert_int_equal(frag, 0x81);
	/* RSV != 0, unknown ATYP, empty name: refused. */
	buf[2] = 0;
	buf[1] = 1;
	assert_int_equal(socks5_parse_udp(buf, n, &frag, &got, &hl), CODEC_ERR);
	buf[1] = 0;
	buf[3] = 0x05;
	assert_int_equal(socks5_parse_udp(buf, n, &frag, &got, &hl), CODEC_ERR);
	buf[3] = SOCKS_ATYP_NAME;
	buf[4] = 0;
	assert_int_equal(socks5_parse_udp(buf, n, &frag, &got, &hl), CODEC_ERR);

	/* A literal sent as a name is a literal (RFC 3089 §3). */
	{
		const uint8_t lit[] = {0,   0,   0,   3,   9,   '1', '2', '7',
				       '.', '0', '.', '0', '.', '1', 0,   53};

		assert_int_equal(socks5_parse_udp(lit, sizeof(lit), &frag, &got, &hl), CODEC_OK);
		assert_int_equal(got.atyp, SOCKS_ATYP_IPV4);
	}
	/* Builders: too small, or nothing to write. */
	assert_int_equal(socks5_build_udp_header(buf, 5, &a), 0);
	assert_int_equal(socks5_build_udp_header(buf, sizeof(buf), NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_greeting_bytewise),
		cmocka_unit_test(test_greeting_255_methods),
		cmocka_unit_test(test_greeting_bad),
		cmocka_unit_test(test_choose_method),
		cmocka_unit_test(test_request_v4_bytewise),
		cmocka_unit_test(test_request_v6_bytewise),
		cmocka_unit_test(test_request_v4mapped),
		cmocka_unit_test(test_request_name_bytewise),
		cmocka_unit_test(test_request_name_255),
		cmocka_unit_test(test_request_name_literals),
		cmocka_unit_test(test_request_trailing_dot),
		cmocka_unit_test(test_request_unknown_cmd),
		cmocka_unit_test(test_request_bad_header),
		cmocka_unit_test(test_request_bad_atyp),
		cmocka_unit_test(test_request_bad_names),
		cmocka_unit_test(test_reply_bytewise),
		cmocka_unit_test(test_reply_every_rep),
		cmocka_unit_test(test_reply_bad),
		cmocka_unit_test(test_build_greeting),
		cmocka_unit_test(test_build_method_select),
		cmocka_unit_test(test_roundtrip_all_atyps),
		cmocka_unit_test(test_roundtrip_name_255),
		cmocka_unit_test(test_build_reply_null_bnd),
		cmocka_unit_test(test_build_too_small),
		cmocka_unit_test(test_rep_from_errno),
		cmocka_unit_test(test_rep_str),
		cmocka_unit_test(test_udp_header),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) != 0;
}
