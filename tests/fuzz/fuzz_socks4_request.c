/* libFuzzer target: the SOCKS4/4a request (SOCKS4.protocol, SOCKS4A.protocol),
 * socks4_parse_request().
 *
 * Invariants: outputs untouched unless CODEC_OK; *used within the input and
 * never beyond SOCKS4_REQUEST_MAX (the NUL-less string limit holds); every
 * proper prefix of an accepted request is NEED_MORE; the user id is the one
 * sent; is_4a follows DSTIP; the writer refuses what SOCKS4 cannot
 * express and writes everything else so that it parses back to the same
 * destination and user id. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "socks4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Destination fields only: ATYP, address or name, port. */
static int fuzz_dst_cmp(const struct socks_addr *a, const struct socks_addr *b)
{
	uint8_t x[SOCKS5_UDP_HDR_MAX], y[SOCKS5_UDP_HDR_MAX];
	size_t nx = socks5_build_udp_header(x, sizeof(x), a);
	size_t ny = socks5_build_udp_header(y, sizeof(y), b);

	return nx == ny && nx > 0 ? memcmp(x, y, nx) : -1;
}

/* 0.0.0.x with x != 0: the SOCKS4A marker. */
static bool fuzz_is_marker(const struct socks_addr *a)
{
	const uint8_t *b = (const uint8_t *)&a->u.v4;

	return b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] != 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct socks4_request r, r2, before;
	uint8_t out[SOCKS4_REQUEST_MAX];
	size_t used = 0xdead, used2, n;
	enum codec_status st;
	bool marker;

	memset(&r, 0xa5, sizeof(r));
	before = r;
	st = socks4_parse_request(data, size, &r, &used);
	assert(st == CODEC_OK || st == CODEC_NEED_MORE || st == CODEC_ERR);
	if (st != CODEC_OK) {
		assert(used == 0xdead);
		assert(memcmp(&r, &before, sizeof(r)) == 0);
		if (size > 0 && data[0] != SOCKS4_VERSION)
			assert(st == CODEC_ERR);
		/* The limit: never wait for more than a maximal request. */
		if (size >= SOCKS4_REQUEST_MAX)
			assert(st == CODEC_ERR);
		return 0;
	}
	assert(used >= SOCKS4_HDR_LEN + 1 && used <= size && used <= SOCKS4_REQUEST_MAX);
	assert(r.cmd == data[1]);
	assert(r.dst.port == (uint16_t)(data[2] << 8 | data[3]));
	marker = data[4] == 0 && data[5] == 0 && data[6] == 0 && data[7] != 0;
	assert(r.is_4a == marker);
	assert(strlen(r.userid) <= SOCKS4_USERID_MAX);
	assert(memcmp(r.userid, data + SOCKS4_HDR_LEN, strlen(r.userid) + 1) == 0);
	if (!r.is_4a) {
		assert(r.dst.atyp == SOCKS_ATYP_IPV4 && memcmp(&r.dst.u.v4, data + 4, 4) == 0);
		assert(used == SOCKS4_HDR_LEN + strlen(r.userid) + 1);
	} else if (r.dst.atyp == SOCKS_ATYP_NAME) {
		assert(r.dst.namelen > 0 && strlen(r.dst.u.name) == r.dst.namelen);
	}

	for (size_t k = 0; k < used; k++) {
		used2 = 0xdead;
		st = socks4_parse_request(data, k, &r2, &used2);
		assert(st == CODEC_NEED_MORE && used2 == 0xdead);
	}

	n = socks4_build_request(out, sizeof(out), r.cmd, &r.dst, r.userid);
	/* What SOCKS4 cannot express is refused: IPv6 (a 4a name that was an
	 * IPv6 literal), and IPv4 0.0.0.x, x != 0 (a 4a literal), which would
	 * go out as the 4a marker and be read back as "a name follows". */
	if (r.dst.atyp == SOCKS_ATYP_IPV6 ||
	    (r.dst.atyp == SOCKS_ATYP_IPV4 && fuzz_is_marker(&r.dst))) {
		assert(n == 0);
		return 0;
	}
	assert(n > 0 && n <= SOCKS4_REQUEST_MAX);
	assert(socks4_build_request(out, n - 1, r.cmd, &r.dst, r.userid) == 0);
	if (!r.is_4a)
		assert(n == used && memcmp(out, data, used) == 0);
	memset(&r2, 0x5a, sizeof(r2));
	st = socks4_parse_request(out, n, &r2, &used2);
	assert(st == CODEC_OK && used2 == n);
	assert(r2.cmd == r.cmd && strcmp(r2.userid, r.userid) == 0);
	assert(fuzz_dst_cmp(&r.dst, &r2.dst) == 0);
	return 0;
}
