/* libFuzzer target: the SOCKS5 request (RFC 1928 §4, §5),
 * socks5_parse_request().
 *
 * Invariants: outputs and *used untouched unless CODEC_OK, *rep set only on
 * CODEC_ERR and then to a §6 code the header names; every proper prefix of
 * an accepted request is NEED_MORE; a name comes back printable and
 * NUL-terminated; build -> parse reproduces the request (byte for byte when
 * nothing was normalised) and parse -> build -> parse is a fixed point. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "socks5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct socks5_request r, r2, before;
	uint8_t out[SOCKS5_REQUEST_MAX], out2[SOCKS5_REQUEST_MAX];
	size_t used = 0xdead, used2, n, n2;
	uint8_t rep = 0xee, rep2;
	enum codec_status st;

	memset(&r, 0xa5, sizeof(r));
	before = r;
	st = socks5_parse_request(data, size, &r, &used, &rep);
	assert(st == CODEC_OK || st == CODEC_NEED_MORE || st == CODEC_ERR);
	if (st != CODEC_OK) {
		assert(used == 0xdead);
		assert(memcmp(&r, &before, sizeof(r)) == 0);
		if (st == CODEC_NEED_MORE) {
			assert(rep == 0xee);
			return 0;
		}
		assert(rep == SOCKS5_REP_GENERAL_FAILURE || rep == SOCKS5_REP_ATYP_NOT_SUPPORTED);
		if (size >= 4 && data[0] == SOCKS5_VERSION && data[2] == 0 &&
		    data[3] != SOCKS_ATYP_IPV4 && data[3] != SOCKS_ATYP_NAME &&
		    data[3] != SOCKS_ATYP_IPV6)
			assert(rep == SOCKS5_REP_ATYP_NOT_SUPPORTED);
		return 0;
	}
	assert(rep == 0xee);
	assert(used >= 8 && used <= size && used <= SOCKS5_REQUEST_MAX);
	assert(r.cmd == data[1]);
	assert(r.dst.port == (uint16_t)(data[used - 2] << 8 | data[used - 1]));
	switch (r.dst.atyp) {
	case SOCKS_ATYP_IPV4:
	case SOCKS_ATYP_IPV6:
		break;
	case SOCKS_ATYP_NAME:
		assert(r.dst.namelen > 0 && r.dst.u.name[r.dst.namelen] == '\0');
		assert(strlen(r.dst.u.name) == r.dst.namelen);
		for (size_t i = 0; i < r.dst.namelen; i++)
			assert(r.dst.u.name[i] > 0x20 && r.dst.u.name[i] < 0x7f);
		break;
	default:
		assert(!"unexpected ATYP on CODEC_OK");
	}

	/* One recv() is never one message: every shorter read waits. */
	for (size_t k = 0; k < used; k++) {
		used2 = 0xdead;
		rep2 = 0xee;
		st = socks5_parse_request(data, k, &r2, &used2, &rep2);
		assert(st == CODEC_NEED_MORE && used2 == 0xdead && rep2 == 0xee);
	}
	/* Bytes after the message do not change it. */
	memset(&r2, 0x5a, sizeof(r2));
	st = socks5_parse_request(data, used, &r2, &used2, &rep2);
	assert(st == CODEC_OK && used2 == used && memcmp(&r, &r2, sizeof(r)) == 0);

	n = socks5_build_request(out, sizeof(out), r.cmd, &r.dst);
	assert(n > 0 && n <= SOCKS5_REQUEST_MAX);
	assert(socks5_build_request(out2, n - 1, r.cmd, &r.dst) == 0);
	/* Untouched by normalisation (no literal name, no trailing dot, no
	 * v4-mapped IPv6): the writer gives back the very same bytes. */
	if (data[3] == r.dst.atyp && (r.dst.atyp != SOCKS_ATYP_NAME || data[4] == r.dst.namelen))
		assert(n == used && memcmp(out, data, used) == 0);

	memset(&r2, 0x5a, sizeof(r2));
	st = socks5_parse_request(out, n, &r2, &used2, &rep2);
	assert(st == CODEC_OK && used2 == n && r2.cmd == r.cmd);
	n2 = socks5_build_request(out2, sizeof(out2), r2.cmd, &r2.dst);
	assert(n2 == n && memcmp(out, out2, n) == 0);
	return 0;
}
