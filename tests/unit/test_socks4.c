/* Unit tests for the SOCKS4/4a codec: requests byte by byte, the NUL limits on
 * the user id and the 4a name, 4a literals, 0.0.0.0, replies, CD mapping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "codec_feed.h"
#include "socks4.h"

static enum codec_status test_parse4(const uint8_t *in, size_t len, void *out, size_t *used,
				     uint8_t *rep)
{
	(void)rep;
	return socks4_parse_request(in, len, out, used);
}

/* A pipelined first line of HTTP after each complete request. */
static void test_feed_ok(const uint8_t *msg, size_t len, struct socks4_request *r)
{
	codec_feed_ok(test_parse4, msg, len, r, sizeof(*r), "GET ", 4);
}

static void test_feed_err(const uint8_t *msg, size_t len, size_t err_at)
{
	struct socks4_request r;

	codec_feed_err_at(test_parse4, msg, len, err_at, &r, sizeof(r));
}

/* VN CD PORT IP, then userid NUL, then (if host) host NUL; returns length. */
static size_t test_msg(uint8_t *out, uint8_t cd, uint16_t port, const uint8_t ip[4],
		       const void *uid, size_t uidlen, const void *host, size_t hostlen)
{
	size_t n = 0;

	out[n++] = SOCKS4_VERSION;
	out[n++] = cd;
	out[n++] = (uint8_t)(port >> 8);
	out[n++] = (uint8_t)port;
	memcpy(out + n, ip, 4);
	n += 4;
	memcpy(out + n, uid, uidlen);
	n += uidlen;
	out[n++] = 0;
	if (host != NULL) {
		memcpy(out + n, host, hostlen);
		n += hostlen;
		out[n++] = 0;
	}
	return n;
}

static void test_assert_v4(const struct socks_addr *a, const char *ip, uint16_t port)
{
	struct in_addr v4;

	assert_int_equal(inet_pton(AF_INET, ip, &v4), 1);
	assert_int_equal(a->atyp, SOCKS_ATYP_IPV4);
	assert_memory_equal(&a->u.v4, &v4, sizeof(v4));
	assert_int_equal(a->port, port);
}

static const uint8_t test_ip[4] = {198, 51, 100, 1};
static const uint8_t test_4a[4] = {0, 0, 0, 1};

/* ---- requests ---- */

static void test_request_v4_bytewise(void **state)
{
	uint8_t msg[SOCKS4_REQUEST_MAX];
	size_t len = test_msg(msg, SOCKS4_CMD_CONNECT, 80, test_ip, "alice", 5, NULL, 0);
	struct socks4_request r;

	(void)state;
	test_feed_ok(msg, len, &r);
	assert_int_equal(r.cmd, SOCKS4_CMD_CONNECT);
	assert_false(r.is_4a);
	test_assert_v4(&r.dst, "198.51.100.1", 80);
	assert_string_equal(r.userid, "alice");
}

static void test_request_empty_userid(void **state)
{
	uint8_t msg[SOCKS4_REQUEST_MAX];
	size_t len = test_msg(msg, SOCKS4_CMD_BIND, 65535, test_ip, "", 0, NULL, 0);
	struct socks4_request r;

	(void)state;
	assert_int_equal(len, 9);
	test_feed_ok(msg, len, &r);
	assert_int_equal(r.cmd, SOCKS4_CMD_BIND);
	test_assert_v4(&r.dst, "198.51.100.1", 65535);
	assert_string_equal(r.userid, "");
}

static void test_request_unknown_cmd(void **state)
{
	uint8_t msg[SOCKS4_REQUEST_MAX];
	size_t len = test_msg(msg, 0x03, 53, test_ip, "u", 1, NULL, 0);
	struct socks4_request r;

	(void)state;
	/* Returned as sent; the caller answers 91. */
	test_feed_ok(msg, len, &r);
	assert_int_equal(r.cmd, 0x03);
}

static void test_request_userid_limit(void **state)
{
	uint8_t msg[SOCKS4_REQUEST_MAX + 8];
	char uid[SOCKS4_USERID_MAX + 2];
	size_t len;
	struct socks4_request r;

	(void)state;
	/* 255 bytes plus NUL is the longest user id. */
	memset(uid, 'u', sizeof(uid));
	len = test_msg(msg, SOCKS4_CMD_CONNECT, 1, test_ip, uid, 255, NULL, 0);
	test_feed_ok(msg, len, &r);
	assert_int_equal(strlen(r.userid), 255);
	assert_memory_equal(r.userid, uid, 255);

	/* 256 bytes and no NUL: an error exactly when the 256th arrives, not
	 * a wait for a NUL that may never come. */
	memcpy(msg + SOCKS4_HDR_LEN, uid, 256);
	test_feed_err(msg, SOCKS4_HDR_LEN + 256, SOCKS4_HDR_LEN + 256);
	/* ...also when a NUL would follow. */
	len = test_msg(msg, SOCKS4_CMD_CONNECT, 1, test_ip, uid, 256, NULL, 0);
	test_feed_err(msg, len, SOCKS4_HDR_LEN + 256);
}

static void test_request_bad_version(void **state)
{
	static const uint8_t socks5[] = {0x05, 0x01, 0x00};
	static const uint8_t http[] = {'G', 'E', 'T', ' ', '/'};
	static const uint8_t zero[] = {0x00, 0x01, 0x00, 0x50, 198, 51, 100, 1, 0};

	(void)state;
	/* Fails on the first byte. */
	test_feed_err(socks5, sizeof(socks5), 1);
	test_feed_err(http, sizeof(http), 1);
	test_feed_err(zero, sizeof(zero), 1);
}

static void test_request_dstip_zero(void **state)
{
	static const uint8_t zero[4] = {0, 0, 0, 0};
	uint8_t msg[SOCKS4_REQUEST_MAX];
	size_t len = test_msg(msg, SOCKS4_CMD_CONNECT, 80, zero, "bob", 3, NULL, 0);
	struct socks4_request r;

	(void)state;
	/* 0.0.0.0 is not the 4a marker (x == 0): plain SOCKS4, complete after
	 * the user id, for the caller to refuse. */
	test_feed_ok(msg, len, &r);
	assert_false(r.is_4a);
	test_assert_v4(&r.dst, "0.0.0.0", 80);
	assert_true(socks_addr_is_synthetic_v4(&r.dst));
	assert_string_equal(r.userid, "bob");
}

/* ---- 4a ---- */

static void test_request_4a_bytewise(void **state)
{
	uint8_t msg[SOCKS4_REQUEST_MAX];
	size_t len = test_msg(msg, SOCKS4_CMD_CONNECT, 443, test_4a, "carol", 5, "www.v6.test", 11);
	struct socks4_request r;

	(void)state;
	test_feed_ok(msg, len, &r);
	assert_int_equal(r.cmd, SOCKS4_CMD_CONNECT);
	assert_true(r.is_4a);
	assert_int_equal(r.dst.atyp, SOCKS_ATYP_NAME);
	assert_int_equal(r.dst.namelen, 11);
	assert_string_equal(r.dst.u.name, "www.v6.test");
	assert_int_equal(r.dst.port, 443);
	assert_string_equal(r.userid, "carol");
}

static void test_request_4a_any_marker(void **state)
{
	static const uint8_t ip255[4] = {0, 0, 0, 255};
	uint8_t msg[SOCKS4_REQUEST_MAX];
	size_t len = test_msg(msg, SOCKS4_CMD_BIND, 21, ip255, "", 0, "dual.test.", 10);
	struct socks4_request r;

	(void)state;
	/* Any 0.0.0.x with x != 0; the trailing dot is dropped. */
	test_feed_ok(msg, len, &r);
	assert_true(r.is_4a);
	assert_int_equal(r.cmd, SOCKS4_CMD_BIND);
	assert_string_equal(r.dst.u.name, "dual.test");
	assert_int_equal(r.dst.port, 21);
}

static void test_request_4a_literals(void **state)
{
	uint8_t msg[SOCKS4_REQUEST_MAX];
	size_t len;
	struct socks4_request r;
	struct in6_addr v6;

	(void)state;
	len = test_msg(msg, SOCKS4_CMD_CONNECT, 80, test_4a, "", 0, "203.0.113.80", 12);
	test_feed_ok(msg, len, &r);
	assert_true(r.is_4a);
	test_assert_v4(&r.dst, "203.0.113.80", 80);

	/* 4a is the only way SOCKS4 can reach an IPv6 destination. */
	len = test_msg(msg, SOCKS4_CMD_CONNECT, 80, test_4a, "", 0, "2001:db8:6::80", 14);
	test_feed_ok(msg, len, &r);
	assert_int_equal(r.dst.atyp, SOCKS_ATYP_IPV6);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8:6::80", &v6), 1);
	assert_memory_equal(&r.dst.u.v6, &v6, sizeof(v6));
	assert_int_equal(r.dst.port, 80);

	len = test_msg(msg, SOCKS4_CMD_CONNECT, 8080, test_4a, "", 0, "[2001:db8:6::80]", 16);
	test_feed_ok(msg, len, &r);
	assert_int_equal(r.dst.atyp, SOCKS_ATYP_IPV6);
	assert_memory_equal(&r.dst.u.v6, &v6, sizeof(v6));
}

static void test_request_4a_name_limit(void **state)
{
	uint8_t msg[SOCKS4_REQUEST_MAX + 8];
	char host[SOCKS4_HOST_MAX + 2];
	size_t len, start;
	struct socks4_request r;

	(void)state;
	memset(host, 'h', sizeof(host));
	len = test_msg(msg, SOCKS4_CMD_CONNECT, 80, test_4a, "id", 2, host, 255);
	assert_int_equal(len, SOCKS4_HDR_LEN + 3 + 256);
	test_feed_ok(msg, len, &r);
	assert_int_equal(r.dst.namelen, 255);
	assert_memory_equal(r.dst.u.name, host, 255);

	/* Longest user id and longest name together fill SOCKS4_REQUEST_MAX. */
	len = test_msg(msg, SOCKS4_CMD_CONNECT, 80, test_4a, host, 255, host, 255);
	assert_int_equal(len, SOCKS4_REQUEST_MAX);
	test_feed_ok(msg, len, &r);

	/* 256 name bytes without a NUL: an error at the 256th. */
	len = test_msg(msg, SOCKS4_CMD_CONNECT, 80, test_4a, "id", 2, host, 256);
	start = SOCKS4_HDR_LEN + 3;
	test_feed_err(msg, start + 256, start + 256);
	test_feed_err(msg, len, start + 256);
}

static void test_request_4a_bad_names(void **state)
{
	uint8_t msg[SOCKS4_REQUEST_MAX];
	size_t len;

	(void)state;
	/* Empty: fails when its NUL arrives. */
	len = test_msg(msg, SOCKS4_CMD_CONNECT, 80, test_4a, "u", 1, "", 0);
	test_feed_err(msg, len, len);
	/* Only a dot: empty after the dot is dropped. */
	len = test_msg(msg, SOCKS4_CMD_CONNECT, 80, test_4a, "u", 1, ".", 1);
	test_feed_err(msg, len, len);
	/* Bytes socks_addr_set_name() refuses. */
	len = test_msg(msg, SOCKS4_CMD_CONNECT, 80, test_4a, "u", 1, "a b", 3);
	test_feed_err(msg, len, len);
	len = test_msg(msg, SOCKS4_CMD_CONNECT, 80, test_4a, "u", 1, "x\x01y", 3);
	test_feed_err(msg, len, len);
	len = test_msg(msg, SOCKS4_CMD_CONNECT, 80, test_4a, "u", 1, "[v6.test]", 9);
	test_feed_err(msg, len, len);
}

/* ---- builders and replies ---- */

static void test_request_roundtrip(void **state)
{
	uint8_t buf[SOCKS4_REQUEST_MAX];
	struct socks_addr a;
	struct socks4_request r;
	size_t n, used;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.atyp = SOCKS_ATYP_IPV4;
	memcpy(&a.u.v4, test_ip, 4);
	a.port = 1080;
	n = socks4_build_request(buf, sizeof(buf), SOCKS4_CMD_CONNECT, &a, "dave");
	assert_int_equal(n, SOCKS4_HDR_LEN + 5);
	assert_int_equal(socks4_parse_request(buf, n, &r, &used), CODEC_OK);
	assert_int_equal(used, n);
	assert_false(r.is_4a);
	test_assert_v4(&r.dst, "198.51.100.1", 1080);
	assert_string_equal(r.userid, "dave");

	/* A name goes out as 4a with DSTIP 0.0.0.1; NULL user id is empty. */
	assert_int_equal(socks_addr_set_name(&a, "www.v6.test", 11), SOCKS_NAME_OK);
	a.port = 80;
	n = socks4_build_request(buf, sizeof(buf), SOCKS4_CMD_BIND, &a, NULL);
	assert_int_equal(n, SOCKS4_HDR_LEN + 1 + 12);
	assert_memory_equal(buf + 4, test_4a, 4);
	assert_int_equal(socks4_parse_request(buf, n, &r, &used), CODEC_OK);
	assert_true(r.is_4a);
	assert_int_equal(r.cmd, SOCKS4_CMD_BIND);
	assert_string_equal(r.dst.u.name, "www.v6.test");
	assert_int_equal(r.dst.port, 80);
	assert_string_equal(r.userid, "");
}

static void test_build_request_refused(void **state)
{
	uint8_t buf[SOCKS4_REQUEST_MAX];
	char uid[SOCKS4_USERID_MAX + 2];
	struct socks_addr a;

	(void)state;
	memset(&a, 0, sizeof(a));
	/* No IPv6 in SOCKS4. */
	a.atyp = SOCKS_ATYP_IPV6;
	assert_int_equal(socks4_build_request(buf, sizeof(buf), 1, &a, ""), 0);
	assert_int_equal(socks4_build_request(buf, sizeof(buf), 1, NULL, ""), 0);
	/* Over-long user id. */
	a.atyp = SOCKS_ATYP_IPV4;
	memset(uid, 'u', 256);
	uid[256] = '\0';
	assert_int_equal(socks4_build_request(buf, sizeof(buf), 1, &a, uid), 0);
	uid[255] = '\0';
	assert_int_equal(socks4_build_request(buf, sizeof(buf), 1, &a, uid), SOCKS4_HDR_LEN + 256);
	/* Too small an output. */
	assert_int_equal(socks4_build_request(buf, SOCKS4_HDR_LEN, 1, &a, ""), 0);
	assert_int_equal(socks4_build_request(buf, SOCKS4_HDR_LEN + 1, 1, &a, ""),
			 SOCKS4_HDR_LEN + 1);
}

static void test_reply_roundtrip(void **state)
{
	uint8_t buf[SOCKS4_REPLY_LEN + 1];
	struct socks_addr a, bnd;
	uint8_t cd;
	size_t n, used;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.atyp = SOCKS_ATYP_IPV4;
	memcpy(&a.u.v4, test_ip, 4);
	a.port = 40000;
	n = socks4_build_reply(buf, sizeof(buf), SOCKS4_CD_GRANTED, &a);
	assert_int_equal(n, SOCKS4_REPLY_LEN);
	assert_memory_equal(buf, "\x00\x5a\x9c\x40\xc6\x33\x64\x01", 8);
	for (size_t i = 0; i < n; i++) {
		used = TEST_USED_UNSET;
		assert_int_equal(socks4_parse_reply(buf, i, &cd, &bnd, &used), CODEC_NEED_MORE);
		assert_int_equal(used, TEST_USED_UNSET);
	}
	assert_int_equal(socks4_parse_reply(buf, n, &cd, &bnd, &used), CODEC_OK);
	assert_int_equal(used, SOCKS4_REPLY_LEN);
	assert_int_equal(cd, SOCKS4_CD_GRANTED);
	test_assert_v4(&bnd, "198.51.100.1", 40000);

	/* NULL and IPv6 are written as zeros. */
	n = socks4_build_reply(buf, sizeof(buf), SOCKS4_CD_REJECTED, NULL);
	assert_memory_equal(buf, "\x00\x5b\x00\x00\x00\x00\x00\x00", 8);
	a.atyp = SOCKS_ATYP_IPV6;
	memset(&a.u.v6, 0x20, sizeof(a.u.v6));
	n = socks4_build_reply(buf, sizeof(buf), SOCKS4_CD_REJECTED, &a);
	assert_int_equal(n, SOCKS4_REPLY_LEN);
	assert_memory_equal(buf, "\x00\x5b\x00\x00\x00\x00\x00\x00", 8);
	assert_int_equal(socks4_parse_reply(buf, n, &cd, &bnd, &used), CODEC_OK);
	assert_int_equal(cd, SOCKS4_CD_REJECTED);
	test_assert_v4(&bnd, "0.0.0.0", 0);

	assert_int_equal(socks4_build_reply(buf, SOCKS4_REPLY_LEN - 1, 90, NULL), 0);
}

static void test_reply_bad_version(void **state)
{
	/* Reply VN is 0; a server answering 4 is broken. */
	static const uint8_t msg[] = {0x04, 0x5a, 0, 0, 0, 0, 0, 0};
	uint8_t cd = 0xee;
	struct socks_addr bnd;
	size_t used = TEST_USED_UNSET;

	(void)state;
	memset(&bnd, TEST_POISON, sizeof(bnd));
	assert_int_equal(socks4_parse_reply(msg, 0, &cd, &bnd, &used), CODEC_NEED_MORE);
	for (size_t i = 1; i <= sizeof(msg); i++)
		assert_int_equal(socks4_parse_reply(msg, i, &cd, &bnd, &used), CODEC_ERR);
	assert_int_equal(cd, 0xee);
	assert_int_equal(used, TEST_USED_UNSET);
}

static void test_cd_mapping(void **state)
{
	(void)state;
	assert_int_equal(socks4_cd_from_rep(SOCKS5_REP_SUCCEEDED), SOCKS4_CD_GRANTED);
	for (unsigned rep = 1; rep <= 0xff; rep++)
		assert_int_equal(socks4_cd_from_rep((uint8_t)rep), SOCKS4_CD_REJECTED);
	assert_string_equal(socks4_cd_str(90), "granted");
	assert_string_equal(socks4_cd_str(91), "rejected or failed");
	assert_string_equal(socks4_cd_str(92), "no identd");
	assert_string_equal(socks4_cd_str(93), "user id mismatch");
	assert_string_equal(socks4_cd_str(0), "unassigned");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_v4_bytewise),
		cmocka_unit_test(test_request_empty_userid),
		cmocka_unit_test(test_request_unknown_cmd),
		cmocka_unit_test(test_request_userid_limit),
		cmocka_unit_test(test_request_bad_version),
		cmocka_unit_test(test_request_dstip_zero),
		cmocka_unit_test(test_request_4a_bytewise),
		cmocka_unit_test(test_request_4a_any_marker),
		cmocka_unit_test(test_request_4a_literals),
		cmocka_unit_test(test_request_4a_name_limit),
		cmocka_unit_test(test_request_4a_bad_names),
		cmocka_unit_test(test_request_roundtrip),
		cmocka_unit_test(test_build_request_refused),
		cmocka_unit_test(test_reply_roundtrip),
		cmocka_unit_test(test_reply_bad_version),
		cmocka_unit_test(test_cd_mapping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
