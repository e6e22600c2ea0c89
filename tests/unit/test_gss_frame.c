/* Unit tests for the RFC 1961 codec: every message type byte by byte,
 * malformed version and type, oversize lengths, the two-byte abort, the
 * builders, the streaming deframer (random read sizes, compaction, wrong
 * types, sticky errors) and the protection-level policy. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "gss_frame.h"

#define TEST_USED_UNSET ((size_t)0xdeadbeef)
#define TEST_POISON 0xa5

/* Parse a heap copy of exactly len bytes, so a read past len is caught by
 * ASan/valgrind.  f starts poisoned; *used starts unset. */
static enum codec_status test_parse(const uint8_t *msg, size_t len, size_t max_token,
				    struct gss_frame *f, size_t *used, uint8_t **copy)
{
	*copy = malloc(len ? len : 1);
	assert_non_null(*copy);
	memcpy(*copy, msg, len);
	memset(f, TEST_POISON, sizeof(*f));
	*used = TEST_USED_UNSET;
	return gss_frame_parse(*copy, len, max_token, f, used);
}

/* Every proper prefix of msg says NEED_MORE and leaves the outputs alone;
 * the whole of it parses. */
static void test_prefixes_need_more(const uint8_t *msg, size_t len, size_t max_token)
{
	struct gss_frame f, poison;
	size_t used;
	uint8_t *copy;

	memset(&poison, TEST_POISON, sizeof(poison));
	for (size_t i = 0; i < len; i++) {
		assert_int_equal(test_parse(msg, i, max_token, &f, &used, &copy), CODEC_NEED_MORE);
		assert_int_equal(used, TEST_USED_UNSET);
		assert_memory_equal(&f, &poison, sizeof(f));
		free(copy);
	}
}

static uint8_t *test_frame(uint8_t mtyp, size_t toklen, size_t *len)
{
	uint8_t *m = malloc(GSS_FRAME_HDR_LEN + toklen);

	assert_non_null(m);
	m[0] = 0x01;
	m[1] = mtyp;
	m[2] = (uint8_t)(toklen >> 8);
	m[3] = (uint8_t)toklen;
	for (size_t i = 0; i < toklen; i++)
		m[GSS_FRAME_HDR_LEN + i] = (uint8_t)(i * 7 + mtyp);
	*len = GSS_FRAME_HDR_LEN + toklen;
	return m;
}

static void test_parse_each_type(void **state)
{
	static const uint8_t types[] = {GSS_FRAME_AUTH, GSS_FRAME_LEVEL, GSS_FRAME_DATA};
	static const size_t sizes[] = {0, 1, 2, 255, 256, 1000};
	struct gss_frame f;
	size_t used, len;
	uint8_t *copy, *m;

	(void)state;
	for (size_t t = 0; t < sizeof(types); t++) {
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			m = test_frame(types[t], sizes[s], &len);
			test_prefixes_need_more(m, len, GSS_FRAME_TOKEN_MAX);
			assert_int_equal(test_parse(m, len, GSS_FRAME_TOKEN_MAX, &f, &used, &copy),
					 CODEC_OK);
			assert_int_equal(used, len);
			assert_int_equal(f.mtyp, types[t]);
			assert_int_equal(f.len, sizes[s]);
			/* the token points into the input, not a copy */
			assert_ptr_equal(f.token, copy + GSS_FRAME_HDR_LEN);
			assert_memory_equal(f.token, m + GSS_FRAME_HDR_LEN, sizes[s]);
			free(copy);
			free(m);
		}
	}
}

static void test_parse_largest(void **state)
{
	struct gss_frame f;
	size_t used, len;
	uint8_t *copy, *m = test_frame(GSS_FRAME_DATA, GSS_FRAME_TOKEN_MAX, &len);

	(void)state;
	assert_int_equal(len, GSS_FRAME_MAX);
	/* a few prefixes around the edges (all 65539 would be slow under ASan) */
	for (size_t i = 0; i < 8; i++) {
		assert_int_equal(test_parse(m, i, GSS_FRAME_TOKEN_MAX, &f, &used, &copy),
				 CODEC_NEED_MORE);
		free(copy);
	}
	assert_int_equal(test_parse(m, len - 1, GSS_FRAME_TOKEN_MAX, &f, &used, &copy),
			 CODEC_NEED_MORE);
	free(copy);
	assert_int_equal(test_parse(m, len, GSS_FRAME_TOKEN_MAX, &f, &used, &copy), CODEC_OK);
	assert_int_equal(f.len, 65535);
	assert_int_equal(used, GSS_FRAME_MAX);
	free(copy);
	free(m);
}

static void test_parse_trailing_bytes(void **state)
{
	/* two messages back to back: the first is reported alone */
	static const uint8_t two[] = {0x01, 0x02, 0x00, 0x02, 0xaa, 0xbb, 0x01, 0x03, 0x00, 0x00};
	struct gss_frame f;
	size_t used;
	uint8_t *copy;

	(void)state;
	assert_int_equal(test_parse(two, sizeof(two), 100, &f, &used, &copy), CODEC_OK);
	assert_int_equal(used, 6);
	assert_int_equal(f.mtyp, GSS_FRAME_LEVEL);
	assert_int_equal(f.len, 2);
	assert_int_equal(f.token[0], 0xaa);
	assert_int_equal(f.token[1], 0xbb);
	free(copy);
	assert_int_equal(test_parse(two + 6, 4, 100, &f, &used, &copy), CODEC_OK);
	assert_int_equal(used, 4);
	assert_int_equal(f.mtyp, GSS_FRAME_DATA);
	assert_int_equal(f.len, 0);
	free(copy);
}

static void test_parse_bad_version(void **state)
{
	/* SOCKS5 (05), SOCKS4 (04), HTTP ('G'), 00, 02, ff: wrong at once */
	static const uint8_t vers[] = {0x05, 0x04, 'G', 0x00, 0x02, 0xff};
	struct gss_frame f;
	size_t used;
	uint8_t msg[4], *copy;

	(void)state;
	for (size_t i = 0; i < sizeof(vers); i++) {
		msg[0] = vers[i];
		msg[1] = GSS_FRAME_AUTH;
		msg[2] = 0;
		msg[3] = 0;
		for (size_t n = 1; n <= sizeof(msg); n++) {
			assert_int_equal(test_parse(msg, n, 100, &f, &used, &copy), CODEC_ERR);
			assert_int_equal(used, TEST_USED_UNSET);
			free(copy);
		}
	}
}

static void test_parse_bad_type(void **state)
{
	struct gss_frame f;
	size_t used;
	uint8_t msg[4] = {0x01, 0, 0, 0}, *copy;

	(void)state;
	for (unsigned t = 0; t <= 0xff; t++) {
		if (t == GSS_FRAME_AUTH || t == GSS_FRAME_LEVEL || t == GSS_FRAME_DATA ||
		    t == GSS_FRAME_ABORT)
			continue;
		msg[1] = (uint8_t)t;
		/* refused as soon as the type byte is there */
		assert_int_equal(test_parse(msg, 2, 100, &f, &used, &copy), CODEC_ERR);
		free(copy);
		assert_int_equal(test_parse(msg, 4, 100, &f, &used, &copy), CODEC_ERR);
		free(copy);
	}
}

static void test_parse_abort(void **state)
{
	static const uint8_t abort_junk[] = {0x01, 0xff, 0x05, 0x00};
	struct gss_frame f;
	size_t used;
	uint8_t *copy;

	(void)state;
	test_prefixes_need_more(abort_junk, 2, 100);
	/* §3.8: two bytes, no length: complete after two */
	assert_int_equal(test_parse(abort_junk, 2, 100, &f, &used, &copy), CODEC_OK);
	assert_int_equal(used, 2);
	assert_int_equal(f.mtyp, GSS_FRAME_ABORT);
	assert_int_equal(f.len, 0);
	assert_null(f.token);
	free(copy);
	/* whatever follows is not part of it */
	assert_int_equal(test_parse(abort_junk, sizeof(abort_junk), 0, &f, &used, &copy), CODEC_OK);
	assert_int_equal(used, 2);
	free(copy);
}

static void test_parse_oversize(void **state)
{
	struct gss_frame f;
	size_t used;
	uint8_t msg[GSS_FRAME_HDR_LEN + 257], *copy;

	(void)state;
	memset(msg, 0, sizeof(msg));
	msg[0] = 0x01;
	msg[1] = GSS_FRAME_AUTH;
	msg[2] = 0x01;
	msg[3] = 0x01; /* 257 */
	/* refused once the length is known, without waiting for the token */
	assert_int_equal(test_parse(msg, 3, 256, &f, &used, &copy), CODEC_NEED_MORE);
	free(copy);
	assert_int_equal(test_parse(msg, 4, 256, &f, &used, &copy), CODEC_ERR);
	assert_int_equal(used, TEST_USED_UNSET);
	free(copy);
	assert_int_equal(test_parse(msg, sizeof(msg), 256, &f, &used, &copy), CODEC_ERR);
	free(copy);
	/* at the limit it is fine */
	assert_int_equal(test_parse(msg, 4, 257, &f, &used, &copy), CODEC_NEED_MORE);
	free(copy);
	assert_int_equal(test_parse(msg, sizeof(msg), 257, &f, &used, &copy), CODEC_OK);
	assert_int_equal(f.len, 257);
	free(copy);
	/* a level message is one wrapped octet: a small limit refuses a
	 * 64 KiB announcement at once */
	msg[1] = GSS_FRAME_LEVEL;
	msg[2] = 0xff;
	msg[3] = 0xff;
	assert_int_equal(test_parse(msg, 4, 1024, &f, &used, &copy), CODEC_ERR);
	free(copy);
	/* zero-length tokens are the caller's business (§3.7) */
	msg[2] = 0;
	msg[3] = 0;
	assert_int_equal(test_parse(msg, 4, 0, &f, &used, &copy), CODEC_OK);
	assert_int_equal(f.len, 0);
	free(copy);
}

static void test_build_roundtrip(void **state)
{
	static const size_t sizes[] = {0, 1, 60, 65535};
	uint8_t *tok = malloc(GSS_FRAME_TOKEN_MAX), *out = malloc(GSS_FRAME_MAX);
	struct gss_frame f;
	size_t used, n;

	(void)state;
	assert_non_null(tok);
	assert_non_null(out);
	for (size_t i = 0; i < GSS_FRAME_TOKEN_MAX; i++)
		tok[i] = (uint8_t)(i ^ (i >> 8));
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		n = gss_frame_build(out, GSS_FRAME_MAX, GSS_FRAME_DATA, tok, sizes[s]);
		assert_int_equal(n, GSS_FRAME_HDR_LEN + sizes[s]);
		assert_int_equal(out[0], 0x01);
		assert_int_equal(out[1], 0x03);
		/* network byte order (the RFC's "0x02" is the field width) */
		assert_int_equal(out[2], sizes[s] >> 8);
		assert_int_equal(out[3], sizes[s] & 0xff);
		assert_int_equal(gss_frame_parse(out, n, GSS_FRAME_TOKEN_MAX, &f, &used), CODEC_OK);
		assert_int_equal(used, n);
		assert_int_equal(f.len, sizes[s]);
		assert_memory_equal(f.token, tok, sizes[s]);
		/* exactly the room needed, and one byte less */
		assert_int_equal(gss_frame_build(out, n, GSS_FRAME_DATA, tok, sizes[s]), n);
		assert_int_equal(gss_frame_build(out, n - 1, GSS_FRAME_DATA, tok, sizes[s]), 0);
		assert_int_equal(gss_frame_build_hdr(out, 4, GSS_FRAME_AUTH, sizes[s]), 4);
	}
	free(tok);
	free(out);
}

static void test_build_refusals(void **state)
{
	uint8_t out[8], tok[1] = {2};

	(void)state;
	/* a token RFC 1961 cannot carry */
	assert_int_equal(gss_frame_build_hdr(out, sizeof(out), GSS_FRAME_DATA, 65536), 0);
	assert_int_equal(gss_frame_build_hdr(out, 3, GSS_FRAME_DATA, 1), 0);
	/* the abort has its own builder: no length field */
	assert_int_equal(gss_frame_build_hdr(out, sizeof(out), GSS_FRAME_ABORT, 0), 0);
	assert_int_equal(gss_frame_build(out, 0, GSS_FRAME_LEVEL, tok, 1), 0);
	/* the NEC-style bare level: a 1-octet token */
	assert_int_equal(gss_frame_build(out, sizeof(out), GSS_FRAME_LEVEL, tok, 1), 5);
	assert_memory_equal(out, ((uint8_t[]){0x01, 0x02, 0x00, 0x01, 0x02}), 5);
	assert_int_equal(gss_frame_build_abort(out, 1), 0);
	assert_int_equal(gss_frame_build_abort(out, sizeof(out)), 2);
	assert_memory_equal(out, ((uint8_t[]){0x01, 0xff}), 2);
}

/* ---- deframer ---- */

struct test_stream {
	uint8_t *p;
	size_t len;
	size_t ntok;
	size_t toklens[64];
	size_t tokoff[64];
};

static void test_stream_add(struct test_stream *s, uint8_t mtyp, size_t toklen)
{
	size_t n;
	uint8_t *m = test_frame(mtyp, toklen, &n);

	s->p = realloc(s->p, s->len + n);
	assert_non_null(s->p);
	memcpy(s->p + s->len, m, n);
	s->toklens[s->ntok] = toklen;
	s->tokoff[s->ntok] = s->len + GSS_FRAME_HDR_LEN;
	s->ntok++;
	s->len += n;
	free(m);
}

/* Push the stream through the deframer with reads of size 1..maxread from
 * a fixed seed; every token must come out whole and in order. */
static void test_deframe_stream(const struct test_stream *s, size_t maxread, unsigned seed,
				struct gss_deframer *d)
{
	struct gss_frame f;
	size_t in = 0, got = 0, cap, n;
	uint8_t *space;
	enum codec_status st;

	gss_deframer_init(d, GSS_FRAME_DATA);
	srand(seed);
	while (got < s->ntok) {
		st = gss_deframer_next(d, &f);
		assert_int_not_equal(st, CODEC_ERR);
		if (st == CODEC_OK) {
			assert_int_equal(f.mtyp, GSS_FRAME_DATA);
			assert_int_equal(f.len, s->toklens[got]);
			assert_memory_equal(f.token, s->p + s->tokoff[got], f.len);
			got++;
			continue;
		}
		assert_true(in < s->len);
		space = gss_deframer_space(d, &cap);
		assert_true(cap > 0);
		n = 1 + (size_t)rand() % maxread;
		if (n > cap)
			n = cap;
		if (n > s->len - in)
			n = s->len - in;
		memcpy(space, s->p + in, n);
		gss_deframer_commit(d, n);
		in += n;
	}
	assert_int_equal(in, s->len);
	assert_int_equal(gss_deframer_pending(d), 0);
	assert_int_equal(gss_deframer_next(d, &f), CODEC_NEED_MORE);
}

static void test_deframer_pieces(void **state)
{
	static const size_t sizes[] = {0, 1, 100, 65535, 3, 65535, 65534, 7, 40000, 65535, 1};
	struct gss_deframer *d = malloc(sizeof(*d));
	struct test_stream s = {0};

	(void)state;
	assert_non_null(d);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		test_stream_add(&s, GSS_FRAME_DATA, sizes[i]);
	/* byte by byte, small reads, reads around a token, huge reads */
	test_deframe_stream(&s, 1, 1, d);
	test_deframe_stream(&s, 7, 2, d);
	test_deframe_stream(&s, 70000, 3, d);
	test_deframe_stream(&s, 200000, 4, d);
	for (unsigned seed = 10; seed < 20; seed++)
		test_deframe_stream(&s, 1 + seed * 3000, seed, d);
	free(s.p);
	free(d);
}

static void test_deframer_feed(void **state)
{
	struct gss_deframer *d = malloc(sizeof(*d));
	struct gss_frame f;
	size_t len, taken;
	uint8_t *big = test_frame(GSS_FRAME_DATA, GSS_FRAME_TOKEN_MAX, &len);
	uint8_t small[] = {0x01, 0x03, 0x00, 0x01, 0x42};

	(void)state;
	assert_non_null(d);
	gss_deframer_init(d, GSS_FRAME_DATA);
	/* bytes that arrived before the protected phase */
	assert_int_equal(gss_deframer_feed(d, small, sizeof(small)), sizeof(small));
	assert_int_equal(gss_deframer_pending(d), sizeof(small));
	taken = gss_deframer_feed(d, big, len);
	/* the buffer holds one largest message: the rest waits */
	assert_int_equal(taken, GSS_FRAME_MAX - sizeof(small));
	assert_int_equal(gss_deframer_next(d, &f), CODEC_OK);
	assert_int_equal(f.len, 1);
	assert_int_equal(f.token[0], 0x42);
	assert_int_equal(gss_deframer_next(d, &f), CODEC_NEED_MORE);
	/* now the big one moves to the front and completes in place */
	assert_int_equal(gss_deframer_feed(d, big + taken, len - taken), len - taken);
	assert_int_equal(gss_deframer_next(d, &f), CODEC_OK);
	assert_int_equal(f.len, GSS_FRAME_TOKEN_MAX);
	assert_memory_equal(f.token, big + GSS_FRAME_HDR_LEN, GSS_FRAME_TOKEN_MAX);
	assert_int_equal(gss_deframer_pending(d), 0);
	free(big);
	free(d);
}

static void test_deframer_abort_and_errors(void **state)
{
	struct gss_deframer *d = malloc(sizeof(*d));
	struct gss_frame f;
	size_t cap;
	uint8_t data_then_abort[] = {0x01, 0x03, 0x00, 0x01, 0x11, 0x01, 0xff};
	uint8_t wrong_type[] = {0x01, 0x01, 0x00, 0x01, 0x11};
	uint8_t bad_ver[] = {0x05, 0x01, 0x00};

	(void)state;
	assert_non_null(d);
	gss_deframer_init(d, GSS_FRAME_DATA);
	gss_deframer_feed(d, data_then_abort, sizeof(data_then_abort));
	assert_int_equal(gss_deframer_next(d, &f), CODEC_OK);
	assert_int_equal(f.mtyp, GSS_FRAME_DATA);
	/* a peer abort comes out as such, for the log line */
	assert_int_equal(gss_deframer_next(d, &f), CODEC_OK);
	assert_int_equal(f.mtyp, GSS_FRAME_ABORT);

	/* a well-formed message of another type breaks the stream */
	gss_deframer_init(d, GSS_FRAME_DATA);
	gss_deframer_feed(d, wrong_type, sizeof(wrong_type));
	assert_int_equal(gss_deframer_next(d, &f), CODEC_ERR);
	/* sticky: no more reading, no more messages */
	assert_int_equal(gss_deframer_next(d, &f), CODEC_ERR);
	gss_deframer_space(d, &cap);
	assert_int_equal(cap, 0);
	assert_int_equal(gss_deframer_feed(d, wrong_type, sizeof(wrong_type)), 0);
	assert_int_equal(gss_deframer_pending(d), 0);
	assert_int_equal(gss_deframer_next(d, &f), CODEC_ERR);

	/* the expected type may change between messages (handshake phases) */
	gss_deframer_init(d, GSS_FRAME_DATA);
	gss_deframer_feed(d, wrong_type, sizeof(wrong_type));
	d->mtyp = GSS_FRAME_AUTH;
	assert_int_equal(gss_deframer_next(d, &f), CODEC_OK);
	assert_int_equal(f.mtyp, GSS_FRAME_AUTH);

	gss_deframer_init(d, GSS_FRAME_DATA);
	gss_deframer_feed(d, bad_ver, 1);
	assert_int_equal(gss_deframer_next(d, &f), CODEC_ERR);
	free(d);
}

/* ---- level policy ---- */

#define B(l) GSS_LEVEL_BIT(GSS_LEVEL_##l)

static void test_level_choose(void **state)
{
	static const struct {
		unsigned granted;
		uint8_t asked;
		bool downgrade;
		int want;
	} cases[] = {
		/* echo what is granted (Dante does the same) */
		{B(INTEGRITY) | B(CONFIDENTIALITY), 1, false, 1},
		{B(INTEGRITY) | B(CONFIDENTIALITY), 2, false, 2},
		{GSS_LEVEL_ALL, 0, false, 0},
		{GSS_LEVEL_ALL, 1, false, 1},
		{GSS_LEVEL_ALL, 2, false, 2},
		/* level 0 (curl, Dante "clear") only when listed, never upgraded */
		{B(INTEGRITY) | B(CONFIDENTIALITY), 0, false, -1},
		{B(INTEGRITY) | B(CONFIDENTIALITY), 0, true, -1},
		{B(NONE), 0, false, 0},
		/* more protection than asked is an answer; less is not */
		{B(CONFIDENTIALITY), 1, false, 2},
		{B(INTEGRITY), 2, false, -1},
		{B(INTEGRITY), 2, true, 1},
		{B(NONE), 1, false, -1},
		{B(NONE), 2, true, -1},
		{B(NONE) | B(INTEGRITY), 2, false, -1},
		/* selective: the strongest granted */
		{GSS_LEVEL_ALL, 3, false, 2},
		{B(NONE) | B(INTEGRITY), 3, false, 1},
		{B(NONE), 3, false, -1},
		/* nothing granted, unknown levels, stray bits ignored */
		{0, 0, true, -1},
		{0, 1, true, -1},
		{0, 2, true, -1},
		{GSS_LEVEL_ALL, 4, true, -1},
		{GSS_LEVEL_ALL, 255, true, -1},
		{~0u, 4, false, -1},
		{GSS_LEVEL_BIT(3) | GSS_LEVEL_BIT(4), 3, false, -1},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = gss_frame_level_choose(cases[i].granted, cases[i].asked,
						 cases[i].downgrade);

		if (got != cases[i].want)
			fail_msg("case %zu: granted %#x asked %u downgrade %d: got %d, want %d", i,
				 cases[i].granted, cases[i].asked, cases[i].downgrade, got,
				 cases[i].want);
	}
	/* never an answer that was not granted, for every input */
	for (unsigned g = 0; g < 8; g++) {
		for (unsigned a = 0; a < 256; a++) {
			for (int dg = 0; dg < 2; dg++) {
				int got = gss_frame_level_choose(g, (uint8_t)a, dg);

				if (got >= 0) {
					assert_true(g & GSS_LEVEL_BIT(got));
					assert_true(got <= GSS_LEVEL_CONFIDENTIALITY);
					if (!dg && a <= 2)
						assert_true(got >= (int)a);
				}
			}
		}
	}
}

static void test_level_acceptable(void **state)
{
	(void)state;
	assert_true(gss_frame_level_acceptable(0, 0));
	assert_true(gss_frame_level_acceptable(1, 1));
	assert_true(gss_frame_level_acceptable(2, 2));
	assert_true(gss_frame_level_acceptable(1, 2));
	assert_true(gss_frame_level_acceptable(0, 1));
	assert_true(gss_frame_level_acceptable(0, 2));
	assert_false(gss_frame_level_acceptable(2, 1));
	assert_false(gss_frame_level_acceptable(2, 0));
	assert_false(gss_frame_level_acceptable(1, 0));
	assert_false(gss_frame_level_acceptable(1, 3));
	assert_false(gss_frame_level_acceptable(3, 3));
	assert_true(gss_frame_level_acceptable(3, 2));
	assert_true(gss_frame_level_acceptable(3, 1));
	assert_false(gss_frame_level_acceptable(3, 0));
	assert_false(gss_frame_level_acceptable(4, 4));
	assert_false(gss_frame_level_acceptable(2, 255));
	assert_string_equal(gss_frame_level_str(0), "none");
	assert_string_equal(gss_frame_level_str(1), "integrity");
	assert_string_equal(gss_frame_level_str(2), "confidentiality");
	assert_string_equal(gss_frame_level_str(3), "selective");
	assert_string_equal(gss_frame_level_str(9), "invalid");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_each_type),
		cmocka_unit_test(test_parse_largest),
		cmocka_unit_test(test_parse_trailing_bytes),
		cmocka_unit_test(test_parse_bad_version),
		cmocka_unit_test(test_parse_bad_type),
		cmocka_unit_test(test_parse_abort),
		cmocka_unit_test(test_parse_oversize),
		cmocka_unit_test(test_build_roundtrip),
		cmocka_unit_test(test_build_refusals),
		cmocka_unit_test(test_deframer_pieces),
		cmocka_unit_test(test_deframer_feed),
		cmocka_unit_test(test_deframer_abort_and_errors),
		cmocka_unit_test(test_level_choose),
		cmocka_unit_test(test_level_acceptable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
