/* socks5 — RFC 1928 wire codec, shared by the gateway, the shim and the test
 * tools.  Pure functions over bounded input: each parser returns
 * CODEC_NEED_MORE without consuming when the message is incomplete, so input
 * may arrive one byte at a time.  No I/O, no allocation, no globals. */
#ifndef SOCKS64_SOCKS5_H
#define SOCKS64_SOCKS5_H

#include <stddef.h>
#include <stdint.h>

#include "socks_addr.h"

#define SOCKS5_VERSION 0x05

/* §3 methods */
#define SOCKS5_METHOD_NONE 0x00
#define SOCKS5_METHOD_GSSAPI 0x01
#define SOCKS5_METHOD_USERNAME 0x02
#define SOCKS5_METHOD_NO_ACCEPTABLE 0xff

/* §4 commands; 0xF0 is Tor's RESOLVE extension (used by the shim's name check) */
#define SOCKS5_CMD_CONNECT 0x01
#define SOCKS5_CMD_BIND 0x02
#define SOCKS5_CMD_UDP_ASSOCIATE 0x03
#define SOCKS5_CMD_RESOLVE 0xf0

/* §6 reply codes */
#define SOCKS5_REP_SUCCEEDED 0x00
#define SOCKS5_REP_GENERAL_FAILURE 0x01
#define SOCKS5_REP_NOT_ALLOWED 0x02
#define SOCKS5_REP_NET_UNREACHABLE 0x03
#define SOCKS5_REP_HOST_UNREACHABLE 0x04
#define SOCKS5_REP_CONN_REFUSED 0x05
#define SOCKS5_REP_TTL_EXPIRED 0x06
#define SOCKS5_REP_CMD_NOT_SUPPORTED 0x07
#define SOCKS5_REP_ATYP_NOT_SUPPORTED 0x08

/* Largest messages: greeting 2+255; request/reply 4+1+255+2. */
#define SOCKS5_GREETING_MAX 257
#define SOCKS5_REQUEST_MAX 262
#define SOCKS5_REPLY_MAX 262

enum codec_status {
	CODEC_OK = 0,
	CODEC_NEED_MORE = 1,
	CODEC_ERR = -1,
};

struct socks5_greeting {
	uint8_t nmethods;
	uint8_t methods[255];
};

/* Greeting: VER NMETHODS METHODS.  CODEC_ERR for VER != 5 or NMETHODS == 0.
 * On CODEC_OK *used is the message length. */
enum codec_status socks5_parse_greeting(const uint8_t *in, size_t len, struct socks5_greeting *g,
					size_t *used);

/* The first of the server's methods (in the server's preference order) that
 * the client offered, or SOCKS5_METHOD_NO_ACCEPTABLE. */
uint8_t socks5_choose_method(const struct socks5_greeting *g, const uint8_t *server_methods,
			     size_t n);

struct socks5_request {
	uint8_t cmd;
	struct socks_addr dst;
};

/* Request: VER CMD RSV ATYP DST.ADDR DST.PORT.
 * CODEC_ERR sets *rep to the reply the server should send:
 *   VER != 5 / RSV != 0 / malformed name -> GENERAL_FAILURE,
 *   unknown ATYP -> ATYP_NOT_SUPPORTED.
 * Unknown commands are NOT an error here (cmd is returned as sent) so the
 * caller answers CMD_NOT_SUPPORTED after reading the whole request.
 * A name that is an IP literal comes back as ATYP 1/4 (socks_addr_set_name). */
enum codec_status socks5_parse_request(const uint8_t *in, size_t len, struct socks5_request *r,
				       size_t *used, uint8_t *rep);

/* Reply: VER REP RSV ATYP BND.ADDR BND.PORT (same layout as a request).
 * For the client side (shim, tests).  CODEC_ERR for VER != 5, RSV != 0 or
 * unknown ATYP. */
enum codec_status socks5_parse_reply(const uint8_t *in, size_t len, uint8_t *rep,
				     struct socks_addr *bnd, size_t *used);

/* Writers return the number of bytes written, or 0 if out is too small.
 * A NULL or ATYP_NAME-less bnd in build_reply is written as 0.0.0.0:0. */
size_t socks5_build_greeting(uint8_t *out, size_t cap, const uint8_t *methods, size_t n);
size_t socks5_build_method_select(uint8_t *out, size_t cap, uint8_t method);
size_t socks5_build_request(uint8_t *out, size_t cap, uint8_t cmd, const struct socks_addr *dst);
size_t socks5_build_reply(uint8_t *out, size_t cap, uint8_t rep, const struct socks_addr *bnd);

/* UDP datagram header (§7): RSV(2)=0 FRAG ATYP DST.ADDR DST.PORT, then
 * data.  A datagram is whole, so anything short or malformed is CODEC_ERR
 * (never NEED_MORE); names that are literals come back as ATYP 1/4.
 * On CODEC_OK *hdrlen is where the data starts. */
enum codec_status socks5_parse_udp(const uint8_t *in, size_t len, uint8_t *frag,
				   struct socks_addr *dst, size_t *hdrlen);
/* Header with FRAG 0 naming src (the remote end, in replies).  Returns its
 * length, or 0 if it does not fit.  At most SOCKS5_UDP_HDR_MAX bytes. */
size_t socks5_build_udp_header(uint8_t *out, size_t cap, const struct socks_addr *src);
#define SOCKS5_UDP_HDR_MAX (3 + 1 + 1 + 255 + 2)

/* errno of a failed outbound connect -> REP (RFC 1928 §6; table in
 * docs/replies.md):  ENETUNREACH, ENETDOWN -> 3; EHOSTUNREACH, EHOSTDOWN -> 4;
 * ECONNREFUSED, ECONNRESET -> 5; ETIMEDOUT -> 6; EACCES, EPERM -> 2;
 * EAFNOSUPPORT, EADDRNOTAVAIL -> 3 (no usable address of that family);
 * anything else -> 1. */
uint8_t socks5_rep_from_errno(int err);

/* Short lower-case text for a REP code, for log lines ("refused", ...). */
const char *socks5_rep_str(uint8_t rep);

#endif
