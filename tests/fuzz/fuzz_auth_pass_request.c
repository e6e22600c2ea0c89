/* libFuzzer target: the RFC 1929 §2 username/password request,
 * auth_pass_parse_request().
 *
 * Invariants: outputs untouched unless CODEC_OK; *used is exactly
 * 3 + ULEN + PLEN and within the input; both fields come back as C strings
 * of exactly the length sent (a NUL inside is refused, never truncated);
 * every proper prefix is NEED_MORE; the writer reproduces the request. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "auth_pass.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_pass_creds c, c2, before;
	uint8_t out[AUTH_PASS_REQUEST_MAX];
	size_t used = 0xdead, used2, ulen, plen;
	enum codec_status st;

	memset(&c, 0xa5, sizeof(c));
	before = c;
	st = auth_pass_parse_request(data, size, &c, &used);
	assert(st == CODEC_OK || st == CODEC_NEED_MORE || st == CODEC_ERR);
	if (st != CODEC_OK) {
		assert(used == 0xdead);
		assert(memcmp(&c, &before, sizeof(c)) == 0);
		if (size > 0 && data[0] != AUTH_PASS_VERSION)
			assert(st == CODEC_ERR);
		return 0;
	}
	ulen = data[1];
	assert(used >= 3 + ulen && used <= size && used <= AUTH_PASS_REQUEST_MAX);
	plen = data[2 + ulen];
	assert(used == 3 + ulen + plen);
	assert(strlen(c.name) == ulen && memcmp(c.name, data + 2, ulen) == 0);
	assert(strlen(c.password) == plen && memcmp(c.password, data + 3 + ulen, plen) == 0);

	for (size_t k = 0; k < used; k++) {
		used2 = 0xdead;
		st = auth_pass_parse_request(data, k, &c2, &used2);
		assert(st == CODEC_NEED_MORE && used2 == 0xdead);
	}
	assert(auth_pass_build_request(out, sizeof(out), c.name, c.password) == used);
	assert(memcmp(out, data, used) == 0);
	assert(auth_pass_build_request(out, used - 1, c.name, c.password) == 0);
	return 0;
}
