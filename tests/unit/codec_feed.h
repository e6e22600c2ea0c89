/* codec_feed — the byte-by-byte harness the codec unit tests share: feed a
 * parser every prefix of a message from a heap copy of exactly that many
 * bytes (ASan and valgrind catch a read past it), with its outputs poisoned
 * first, and check what a pure codec promises: a proper prefix needs more
 * and writes nothing; a complete message parses with used == its length,
 * alone or with pipelined bytes after it; a malformed one fails from the
 * offending byte on, writing nothing.  Include after <cmocka.h>. */
#ifndef SOCKS64_TESTS_CODEC_FEED_H
#define SOCKS64_TESTS_CODEC_FEED_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "socks5.h" /* enum codec_status */

#define TEST_USED_UNSET ((size_t)0xdeadbeef)
#define TEST_REP_UNSET 0xee
#define TEST_POISON 0xa5

/* One signature for every parser (adapters in each test file); rep is
 * for parsers that say which SOCKS reply a failure deserves, else left
 * alone. */
typedef enum codec_status (*codec_feed_fn)(const uint8_t *in, size_t len, void *out, size_t *used,
					   uint8_t *rep);

static inline enum codec_status codec_feed_run(codec_feed_fn fn, const uint8_t *msg, size_t len,
					       void *out, size_t outsize, size_t *used,
					       uint8_t *rep)
{
	uint8_t *copy = malloc(len ? len : 1);
	enum codec_status st;

	assert_non_null(copy);
	memcpy(copy, msg, len);
	memset(out, TEST_POISON, outsize);
	*used = TEST_USED_UNSET;
	*rep = TEST_REP_UNSET;
	st = fn(copy, len, out, used, rep);
	free(copy);
	return st;
}

static inline void codec_feed_untouched(const void *out, size_t outsize)
{
	const uint8_t *p = out;

	for (size_t i = 0; i < outsize; i++)
		assert_int_equal(p[i], TEST_POISON);
}

/* msg[0, len) is one complete message; tail is what a pipelining client
 * would send next.  out holds the parse of the message afterwards. */
static inline void codec_feed_ok(codec_feed_fn fn, const uint8_t *msg, size_t len, void *out,
				 size_t outsize, const void *tail, size_t taillen)
{
	uint8_t *more = malloc(len + taillen);
	size_t used;
	uint8_t rep;

	assert_non_null(more);
	for (size_t i = 0; i < len; i++) {
		assert_int_equal(codec_feed_run(fn, msg, i, out, outsize, &used, &rep),
				 CODEC_NEED_MORE);
		assert_int_equal(used, TEST_USED_UNSET);
		assert_int_equal(rep, TEST_REP_UNSET);
		codec_feed_untouched(out, outsize);
	}
	memcpy(more, msg, len);
	memcpy(more + len, tail, taillen);
	assert_int_equal(codec_feed_run(fn, more, len + taillen, out, outsize, &used, &rep),
			 CODEC_OK);
	assert_int_equal(used, len);
	assert_int_equal(rep, TEST_REP_UNSET);
	free(more);

	assert_int_equal(codec_feed_run(fn, msg, len, out, outsize, &used, &rep), CODEC_OK);
	assert_int_equal(used, len);
	assert_int_equal(rep, TEST_REP_UNSET);
}

/* Prefixes shorter than err_at need more; from err_at on the parser fails
 * with want_rep (TEST_REP_UNSET for parsers without a reply code) and
 * leaves every output alone. */
static inline void codec_feed_err(codec_feed_fn fn, const uint8_t *msg, size_t len, size_t err_at,
				  uint8_t want_rep, void *out, size_t outsize)
{
	size_t used;
	uint8_t rep;

	assert_true(err_at <= len);
	for (size_t i = 0; i <= len; i++) {
		enum codec_status st = codec_feed_run(fn, msg, i, out, outsize, &used, &rep);

		if (i < err_at) {
			assert_int_equal(st, CODEC_NEED_MORE);
			assert_int_equal(rep, TEST_REP_UNSET);
		} else {
			assert_int_equal(st, CODEC_ERR);
			assert_int_equal(rep, want_rep);
		}
		assert_int_equal(used, TEST_USED_UNSET);
		codec_feed_untouched(out, outsize);
	}
}

/* codec_feed_err for parsers without a reply code. */
static inline void codec_feed_err_at(codec_feed_fn fn, const uint8_t *msg, size_t len,
				     size_t err_at, void *out, size_t outsize)
{
	codec_feed_err(fn, msg, len, err_at, TEST_REP_UNSET, out, outsize);
}

#endif
