/* libFuzzer target: the RFC 1929 §2 server reply, auth_pass_parse_reply(),
 * as the shim and the test clients read it.
 *
 * Invariants: outputs untouched unless CODEC_OK; a wrong VER (the common
 * 0x05 bug) fails at once; an accepted reply is two bytes and the writer
 * reproduces it. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "auth_pass.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[AUTH_PASS_REPLY_LEN];
	size_t used = 0xdead;
	uint8_t status = 0xee;
	enum codec_status st;

	st = auth_pass_parse_reply(data, size, &status, &used);
	assert(st == CODEC_OK || st == CODEC_NEED_MORE || st == CODEC_ERR);
	if (st != CODEC_OK) {
		assert(used == 0xdead && status == 0xee);
		assert(st == CODEC_ERR ? data[0] != AUTH_PASS_VERSION : size < AUTH_PASS_REPLY_LEN);
		return 0;
	}
	assert(used == AUTH_PASS_REPLY_LEN && size >= used && status == data[1]);
	assert(auth_pass_parse_reply(data, 1, &status, &used) == CODEC_NEED_MORE);
	assert(auth_pass_build_reply(out, sizeof(out), status) == AUTH_PASS_REPLY_LEN);
	assert(memcmp(out, data, AUTH_PASS_REPLY_LEN) == 0);
	assert(auth_pass_build_reply(out, 1, status) == 0);
	return 0;
}
