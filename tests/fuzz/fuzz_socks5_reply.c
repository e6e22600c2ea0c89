/* libFuzzer target: the SOCKS5 reply (RFC 1928 §6), socks5_parse_reply(),
 * as the shim and the test clients read it.
 *
 * Invariants: outputs untouched unless CODEC_OK; *used within the input;
 * every proper prefix of an accepted reply is NEED_MORE; parse -> build ->
 * parse is a fixed point, and exact when nothing was normalised. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "socks5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct socks_addr bnd, bnd2, before;
	uint8_t out[SOCKS5_REPLY_MAX], out2[SOCKS5_REPLY_MAX];
	size_t used = 0xdead, used2, n, n2;
	uint8_t rep = 0xee, rep2;
	enum codec_status st;

	memset(&bnd, 0xa5, sizeof(bnd));
	before = bnd;
	st = socks5_parse_reply(data, size, &rep, &bnd, &used);
	assert(st == CODEC_OK || st == CODEC_NEED_MORE || st == CODEC_ERR);
	if (st != CODEC_OK) {
		assert(used == 0xdead && rep == 0xee);
		assert(memcmp(&bnd, &before, sizeof(bnd)) == 0);
		if (size > 0 && data[0] != SOCKS5_VERSION)
			assert(st == CODEC_ERR);
		return 0;
	}
	assert(used >= 8 && used <= size && used <= SOCKS5_REPLY_MAX);
	assert(rep == data[1]);
	assert(bnd.port == (uint16_t)(data[used - 2] << 8 | data[used - 1]));
	assert(bnd.atyp == SOCKS_ATYP_IPV4 || bnd.atyp == SOCKS_ATYP_IPV6 ||
	       bnd.atyp == SOCKS_ATYP_NAME);
	if (bnd.atyp == SOCKS_ATYP_NAME)
		assert(bnd.namelen > 0 && strlen(bnd.u.name) == bnd.namelen);

	for (size_t k = 0; k < used; k++) {
		used2 = 0xdead;
		rep2 = 0xee;
		st = socks5_parse_reply(data, k, &rep2, &bnd2, &used2);
		assert(st == CODEC_NEED_MORE && used2 == 0xdead && rep2 == 0xee);
	}

	n = socks5_build_reply(out, sizeof(out), rep, &bnd);
	assert(n > 0 && n <= SOCKS5_REPLY_MAX);
	assert(socks5_build_reply(out2, n - 1, rep, &bnd) == 0);
	if (data[3] == bnd.atyp && (bnd.atyp != SOCKS_ATYP_NAME || data[4] == bnd.namelen))
		assert(n == used && memcmp(out, data, used) == 0);

	st = socks5_parse_reply(out, n, &rep2, &bnd2, &used2);
	assert(st == CODEC_OK && used2 == n && rep2 == rep);
	n2 = socks5_build_reply(out2, sizeof(out2), rep2, &bnd2);
	assert(n2 == n && memcmp(out, out2, n) == 0);
	return 0;
}
