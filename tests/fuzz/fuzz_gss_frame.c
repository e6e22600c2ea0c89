/* libFuzzer target: RFC 1961 message framing, gss_frame_parse() and the
 * streaming gss_deframer of the encapsulated phase (§5).
 *
 * Input: byte 0 picks the expected MTYP (auth, level, data) and the token
 * limit passed to the parser; byte 1 the size of the reads the deframer
 * gets (1..256 bytes); the rest is the byte stream from the peer.
 *
 * Invariants: outputs untouched unless CODEC_OK; a token is never longer
 * than the limit nor than the input, and points into it; every proper prefix
 * of an accepted message is NEED_MORE; the writers reproduce it byte for
 * byte; the deframer fed in pieces yields exactly the messages that parsing
 * the whole stream in one go yields (an unexpected MTYP or a bad VER breaks
 * the stream for good), never offers zero space while it waits for more,
 * and keeps the bytes of an incomplete message pending. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gss_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const size_t fuzz_limits[] = {0, 1, 64, GSS_FRAME_TOKEN_MAX};

/* One message of the whole stream: checks of the single-shot parser. */
static enum codec_status fuzz_parse_one(const uint8_t *in, size_t len, size_t max_token,
					struct gss_frame *out, size_t *out_used)
{
	struct gss_frame f, f2, before;
	uint8_t *buf;
	size_t used = 0xdead, used2, n;
	enum codec_status st;

	memset(&f, 0xa5, sizeof(f));
	before = f;
	st = gss_frame_parse(in, len, max_token, &f, &used);
	assert(st == CODEC_OK || st == CODEC_NEED_MORE || st == CODEC_ERR);
	if (st != CODEC_OK) {
		assert(used == 0xdead && memcmp(&f, &before, sizeof(f)) == 0);
		if (len > 0 && in[0] != GSS_FRAME_VERSION)
			assert(st == CODEC_ERR);
		return st;
	}
	assert(used <= len);
	if (f.mtyp == GSS_FRAME_ABORT) {
		assert(used == GSS_FRAME_ABORT_LEN && f.len == 0 && f.token == NULL);
		assert(in[0] == GSS_FRAME_VERSION && in[1] == GSS_FRAME_ABORT);
	} else {
		assert(f.mtyp == GSS_FRAME_AUTH || f.mtyp == GSS_FRAME_LEVEL ||
		       f.mtyp == GSS_FRAME_DATA);
		assert(f.len <= max_token && used == GSS_FRAME_HDR_LEN + (size_t)f.len);
		assert(f.token == in + GSS_FRAME_HDR_LEN);
	}
	for (size_t k = 0; k < used; k++) {
		used2 = 0xdead;
		assert(gss_frame_parse(in, k, max_token, &f2, &used2) == CODEC_NEED_MORE);
		assert(used2 == 0xdead);
	}
	buf = malloc(used);
	assert(buf != NULL);
	if (f.mtyp == GSS_FRAME_ABORT) {
		n = gss_frame_build_abort(buf, used);
		assert(gss_frame_build_abort(buf, used - 1) == 0);
	} else {
		n = gss_frame_build(buf, used, f.mtyp, f.token, f.len);
		assert(gss_frame_build(buf, used - 1, f.mtyp, f.token, f.len) == 0);
		assert(gss_frame_build_hdr(buf, GSS_FRAME_HDR_LEN, f.mtyp, f.len) ==
		       GSS_FRAME_HDR_LEN);
	}
	assert(n == used && memcmp(buf, in, used) == 0);
	free(buf);
	*out = f;
	*out_used = used;
	return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gss_deframer d; /* 64 KiB: not on the stack */
	struct gss_frame f, g;
	size_t max_token, chunk, used, pos = 0, fed = 0, cap;
	const uint8_t *in;
	uint8_t mtyp;
	enum codec_status st, ds;
	bool broken = false;

	if (size < 2)
		return 0;
	mtyp = (uint8_t)(GSS_FRAME_AUTH + data[0] % 3);
	max_token = fuzz_limits[(data[0] >> 2) % 4];
	chunk = 1u + data[1];
	in = data + 2;
	size -= 2;

	fuzz_parse_one(in, size, max_token, &f, &used);

	/* The deframer against the one-shot parser (with the largest limit,
	 * as the deframer uses) over the whole stream. */
	gss_deframer_init(&d, mtyp);
	while (!broken) {
		st = pos < size
			     ? fuzz_parse_one(in + pos, size - pos, GSS_FRAME_TOKEN_MAX, &f, &used)
			     : CODEC_NEED_MORE;
		if (st == CODEC_OK && f.mtyp != mtyp && f.mtyp != GSS_FRAME_ABORT)
			st = CODEC_ERR;
		/* Feed until the deframer has the message (or all there is). */
		for (;;) {
			ds = gss_deframer_next(&d, &g);
			if (ds != CODEC_NEED_MORE || fed == size)
				break;
			assert(gss_deframer_space(&d, &cap) != NULL && cap > 0);
			cap = gss_deframer_feed(&d, in + fed,
						size - fed < chunk ? size - fed : chunk);
			assert(cap > 0);
			fed += cap;
		}
		assert(ds == st);
		if (st == CODEC_ERR) {
			/* Sticky. */
			assert(gss_deframer_next(&d, &g) == CODEC_ERR);
			broken = true;
		} else if (st == CODEC_NEED_MORE) {
			assert(gss_deframer_pending(&d) == size - pos);
			break;
		} else {
			assert(g.mtyp == f.mtyp && g.len == f.len);
			assert(g.len == 0 ||
			       memcmp(g.token, in + pos + GSS_FRAME_HDR_LEN, g.len) == 0);
			pos += used;
			if (g.mtyp == GSS_FRAME_ABORT)
				break;
		}
	}
	return 0;
}
