/* libFuzzer target: the SOCKS4 reply, socks4_parse_reply(), as the shim and
 * the test clients read it.
 *
 * Invariants: outputs untouched unless CODEC_OK; an accepted reply is
 * exactly SOCKS4_REPLY_LEN bytes, its prefixes are NEED_MORE, and the writer
 * reproduces it byte for byte. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "socks4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct socks_addr bnd, bnd2, before;
	uint8_t out[SOCKS4_REPLY_LEN];
	size_t used = 0xdead, used2;
	uint8_t cd = 0xee, cd2;
	enum codec_status st;

	memset(&bnd, 0xa5, sizeof(bnd));
	before = bnd;
	st = socks4_parse_reply(data, size, &cd, &bnd, &used);
	assert(st == CODEC_OK || st == CODEC_NEED_MORE || st == CODEC_ERR);
	if (st != CODEC_OK) {
		assert(used == 0xdead && cd == 0xee);
		assert(memcmp(&bnd, &before, sizeof(bnd)) == 0);
		assert(st == CODEC_ERR ? data[0] != SOCKS4_REPLY_VERSION : size < SOCKS4_REPLY_LEN);
		return 0;
	}
	assert(used == SOCKS4_REPLY_LEN && size >= used);
	assert(cd == data[1] && bnd.atyp == SOCKS_ATYP_IPV4);
	assert(socks4_cd_str(cd) != NULL);

	for (size_t k = 0; k < used; k++) {
		used2 = 0xdead;
		st = socks4_parse_reply(data, k, &cd2, &bnd2, &used2);
		assert(st == CODEC_NEED_MORE && used2 == 0xdead);
	}
	assert(socks4_build_reply(out, sizeof(out), cd, &bnd) == SOCKS4_REPLY_LEN);
	assert(memcmp(out, data, SOCKS4_REPLY_LEN) == 0);
	assert(socks4_build_reply(out, SOCKS4_REPLY_LEN - 1, cd, &bnd) == 0);
	return 0;
}
