/* libFuzzer target: the SOCKS5 UDP request header (RFC 1928 §7),
 * socks5_parse_udp().
 *
 * Invariants: a datagram is whole, so the parser never answers NEED_MORE and
 * every truncated header is CODEC_ERR; outputs untouched on error; *hdrlen
 * within the datagram; the reply header the relay would write for the parsed
 * address parses back to the same address with FRAG 0. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "socks5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct socks_addr dst, dst2, before;
	uint8_t out[SOCKS5_UDP_HDR_MAX], out2[SOCKS5_UDP_HDR_MAX];
	size_t hdrlen = 0xdead, hdrlen2, n, n2;
	uint8_t frag = 0xee, frag2;
	enum codec_status st;

	memset(&dst, 0xa5, sizeof(dst));
	before = dst;
	st = socks5_parse_udp(data, size, &frag, &dst, &hdrlen);
	assert(st == CODEC_OK || st == CODEC_ERR);
	if (st != CODEC_OK) {
		assert(hdrlen == 0xdead && frag == 0xee);
		assert(memcmp(&dst, &before, sizeof(dst)) == 0);
		return 0;
	}
	assert(hdrlen >= 8 && hdrlen <= size && hdrlen <= SOCKS5_UDP_HDR_MAX);
	assert(data[0] == 0 && data[1] == 0 && frag == data[2]);
	assert(dst.port == (uint16_t)(data[hdrlen - 2] << 8 | data[hdrlen - 1]));
	assert(dst.atyp == SOCKS_ATYP_IPV4 || dst.atyp == SOCKS_ATYP_IPV6 ||
	       dst.atyp == SOCKS_ATYP_NAME);
	if (dst.atyp == SOCKS_ATYP_NAME)
		assert(dst.namelen > 0 && strlen(dst.u.name) == dst.namelen);

	for (size_t k = 0; k < hdrlen; k++) {
		hdrlen2 = 0xdead;
		st = socks5_parse_udp(data, k, &frag2, &dst2, &hdrlen2);
		assert(st == CODEC_ERR && hdrlen2 == 0xdead);
	}

	n = socks5_build_udp_header(out, sizeof(out), &dst);
	assert(n > 0 && n <= SOCKS5_UDP_HDR_MAX);
	assert(socks5_build_udp_header(out2, n - 1, &dst) == 0);
	if (frag == 0 && data[3] == dst.atyp &&
	    (dst.atyp != SOCKS_ATYP_NAME || data[4] == dst.namelen))
		assert(n == hdrlen && memcmp(out, data, n) == 0);

	st = socks5_parse_udp(out, n, &frag2, &dst2, &hdrlen2);
	assert(st == CODEC_OK && hdrlen2 == n && frag2 == 0);
	n2 = socks5_build_udp_header(out2, sizeof(out2), &dst2);
	assert(n2 == n && memcmp(out, out2, n) == 0);
	return 0;
}
