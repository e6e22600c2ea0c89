/* libFuzzer target: the SOCKS5 greeting (RFC 1928 §3), socks5_parse_greeting().
 *
 * Invariants beyond "no crash": *used stays within the input and is set only
 * on CODEC_OK; outputs are untouched unless the parse succeeds; every proper
 * prefix of an accepted greeting asks for more bytes; the writer reproduces
 * the accepted bytes exactly; the method chooser only picks a method both
 * sides offered. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "socks5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fuzz_server_methods[] = {SOCKS5_METHOD_GSSAPI, SOCKS5_METHOD_USERNAME,
					      SOCKS5_METHOD_NONE};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct socks5_greeting g, g2, before;
	uint8_t out[SOCKS5_GREETING_MAX];
	size_t used = 0xdead, used2, n;
	enum codec_status st;
	uint8_t m;

	memset(&g, 0xa5, sizeof(g));
	before = g;
	st = socks5_parse_greeting(data, size, &g, &used);
	assert(st == CODEC_OK || st == CODEC_NEED_MORE || st == CODEC_ERR);
	if (st != CODEC_OK) {
		assert(used == 0xdead);
		assert(memcmp(&g, &before, sizeof(g)) == 0);
		/* §3: a wrong VER fails at once, never waits. */
		if (size > 0 && data[0] != SOCKS5_VERSION)
			assert(st == CODEC_ERR);
		return 0;
	}
	assert(used >= 3 && used <= size && used <= SOCKS5_GREETING_MAX);
	assert(g.nmethods != 0 && used == 2u + g.nmethods);
	assert(memcmp(g.methods, data + 2, g.nmethods) == 0);

	for (size_t k = 0; k < used; k++) {
		used2 = 0xdead;
		st = socks5_parse_greeting(data, k, &g2, &used2);
		assert(st == CODEC_NEED_MORE && used2 == 0xdead);
	}

	n = socks5_build_greeting(out, sizeof(out), g.methods, g.nmethods);
	assert(n == used && memcmp(out, data, used) == 0);
	/* Too small a buffer is refused, not overrun. */
	assert(socks5_build_greeting(out, used - 1, g.methods, g.nmethods) == 0);

	m = socks5_choose_method(&g, fuzz_server_methods, sizeof(fuzz_server_methods));
	if (m != SOCKS5_METHOD_NO_ACCEPTABLE) {
		assert(memchr(g.methods, m, g.nmethods) != NULL);
		assert(memchr(fuzz_server_methods, m, sizeof(fuzz_server_methods)) != NULL);
	} else {
		for (size_t i = 0; i < sizeof(fuzz_server_methods); i++)
			assert(memchr(g.methods, fuzz_server_methods[i], g.nmethods) == NULL);
	}
	return 0;
}
