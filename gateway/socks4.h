/* socks4 — SOCKS4 and SOCKS4a wire codec (Ying-Da Lee's SOCKS4.protocol and
 * SOCKS4A.protocol), shared by the gateway, the shim and the test tools.
 * Same conventions as socks5.h: pure functions over bounded input, parsers
 * return CODEC_NEED_MORE without touching their outputs until the whole
 * message is there, *used is set only on CODEC_OK.  No I/O, no allocation.
 *
 * SOCKS4 has no IPv6 at all: a request can only name an IPv4 address (or, with
 * 4a, a host name), and a reply can only carry an IPv4 address.  A caller
 * whose BIND listener or CONNECT source is IPv6 cannot report it; for BIND it
 * answers SOCKS4_CD_REJECTED (protocols.md §5), for CONNECT the reply address
 * is ignored by clients anyway (pass NULL). */
#ifndef SOCKS64_SOCKS4_H
#define SOCKS64_SOCKS4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "socks5.h"
#include "socks_addr.h"

#define SOCKS4_VERSION 0x04
/* The reply's VN is 0, not 4. */
#define SOCKS4_REPLY_VERSION 0x00

#define SOCKS4_CMD_CONNECT 0x01
#define SOCKS4_CMD_BIND 0x02

/* Reply codes (CD). */
#define SOCKS4_CD_GRANTED 90
#define SOCKS4_CD_REJECTED 91 /* rejected or failed */
#define SOCKS4_CD_NO_IDENTD 92 /* cannot reach identd on the client */
#define SOCKS4_CD_IDENT_MISMATCH 93 /* identd and the client disagree on the user id */

/* User id and 4a host name: at most 255 bytes each, plus the NUL. */
#define SOCKS4_USERID_MAX 255
#define SOCKS4_HOST_MAX SOCKS_NAME_MAX

/* VN CD DSTPORT DSTIP = 8 bytes, then USERID NUL [HOST NUL]. */
#define SOCKS4_HDR_LEN 8
#define SOCKS4_REQUEST_MAX (SOCKS4_HDR_LEN + SOCKS4_USERID_MAX + 1 + SOCKS4_HOST_MAX + 1)
#define SOCKS4_REPLY_LEN 8

struct socks4_request {
	uint8_t cmd; /* as sent: the caller refuses anything but CONNECT/BIND */
	bool is_4a; /* DSTIP was 0.0.0.x, x != 0, and a host name followed */
	/* ATYP_IPV4 for SOCKS4; for 4a whatever socks_addr_set_name() made of
	 * the name (ATYP_NAME, or ATYP_IPV4/6 for a literal). */
	struct socks_addr dst;
	char userid[SOCKS4_USERID_MAX + 1]; /* NUL-terminated, may be empty */
};

/* Request: VN=4 CD DSTPORT DSTIP USERID NUL [HOST NUL when DSTIP is 0.0.0.x,
 * x != 0].  CODEC_ERR for VN != 4, a user id or host name of 256 bytes with
 * no NUL yet (the limit: never wait forever), an empty 4a host name, or a name
 * socks_addr_set_name() refuses.  DSTIP 0.0.0.0 is plain SOCKS4 (not 4a) and
 * comes back as ATYP_IPV4 0.0.0.0 for the caller to refuse.  Unknown commands
 * are returned as sent.  The whole request must be read before replying:
 * the caller checks cmd after CODEC_OK. */
enum codec_status socks4_parse_request(const uint8_t *in, size_t len, struct socks4_request *r,
				       size_t *used);

/* Reply: VN=0 CD DSTPORT DSTIP.  For the client side (shim, tests, bench).
 * CODEC_ERR for VN != 0.  *bnd is ATYP_IPV4. */
enum codec_status socks4_parse_reply(const uint8_t *in, size_t len, uint8_t *cd,
				     struct socks_addr *bnd, size_t *used);

/* Writers return the number of bytes written, or 0 if out is too small or
 * the message cannot be expressed.
 *
 * build_request: dst ATYP_IPV4 -> SOCKS4; ATYP_NAME -> 4a (DSTIP 0.0.0.1);
 * ATYP_IPV6 -> 0.  userid NULL means empty; longer than 255 bytes -> 0. */
size_t socks4_build_request(uint8_t *out, size_t cap, uint8_t cmd, const struct socks_addr *dst,
			    const char *userid);

/* build_reply: DSTPORT DSTIP from an ATYP_IPV4 bnd; NULL or any other ATYP
 * is written as 0.0.0.0:0 (an IPv6 BIND address must be answered with
 * SOCKS4_CD_REJECTED by the caller, not passed here). */
size_t socks4_build_reply(uint8_t *out, size_t cap, uint8_t cd, const struct socks_addr *bnd);

/* SOCKS5 REP -> SOCKS4 CD: SUCCEEDED -> 90, everything else -> 91 (SOCKS4
 * has no finer failure codes; 92/93 are about identd only). */
uint8_t socks4_cd_from_rep(uint8_t rep);

/* Short lower-case text for a CD code, for log lines. */
const char *socks4_cd_str(uint8_t cd);

#endif
