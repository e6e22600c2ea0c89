/* gss_frame — RFC 1961 wire codec and protection-level policy, shared by the
 * gateway, the shim and the test tools.  Pure: no GSS-API calls, no I/O, no
 * globals, no allocation.
 *
 * Every RFC 1961 message is   VER(1)=0x01 MTYP(1) LEN(2, network order) TOKEN
 * (§3.4, §4.3, §5), except the abort, which is the two octets 01 ff (§3.8).
 * Parsers follow socks5.h: CODEC_NEED_MORE without consuming until the whole
 * message is there, so input may arrive one byte at a time. */
#ifndef SOCKS64_GSS_FRAME_H
#define SOCKS64_GSS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "socks5.h" /* enum codec_status */

#define GSS_FRAME_VERSION 0x01

/* MTYP values */
#define GSS_FRAME_AUTH 0x01 /* context establishment token (§3.3, §3.6) */
#define GSS_FRAME_LEVEL 0x02 /* protection-level sub-negotiation (§4.3) */
#define GSS_FRAME_DATA 0x03 /* encapsulated, wrapped data (§5) */
#define GSS_FRAME_ABORT 0xff /* 01 ff, no length (§3.8) */

#define GSS_FRAME_HDR_LEN 4
#define GSS_FRAME_ABORT_LEN 2
#define GSS_FRAME_TOKEN_MAX 65535
#define GSS_FRAME_MAX (GSS_FRAME_HDR_LEN + GSS_FRAME_TOKEN_MAX)

struct gss_frame {
	uint8_t mtyp;
	uint16_t len; /* token length; 0 for an abort */
	const uint8_t *token; /* points into the parsed input; NULL for an abort */
};

/* One message.  CODEC_ERR for VER != 1, an MTYP other than 1, 2, 3 or ff,
 * or a token longer than max_token (checked as soon as LEN has arrived, so
 * a peer cannot make us wait for up to 64 KiB we would refuse anyway).  An
 * abort is CODEC_OK after two bytes with f->mtyp == GSS_FRAME_ABORT: check
 * for it before anything else (§3.8; a client reading 4 bytes would hang).
 * A zero-length token is valid here (§3.7 readiness token); the caller
 * decides whether it expects one.  On CODEC_OK *used is the message length
 * and f->token points into in. */
enum codec_status gss_frame_parse(const uint8_t *in, size_t len, size_t max_token,
				  struct gss_frame *f, size_t *used);

/* Writers return the number of bytes written, or 0 if out is too small or
 * the token longer than GSS_FRAME_TOKEN_MAX.  build_hdr writes only the
 * 4-byte header, for callers that send the token from its own buffer. */
size_t gss_frame_build(uint8_t *out, size_t cap, uint8_t mtyp, const void *token, size_t len);
size_t gss_frame_build_hdr(uint8_t *out, size_t cap, uint8_t mtyp, size_t len);
size_t gss_frame_build_abort(uint8_t *out, size_t cap);

/* A streaming deframer for the encapsulated phase (§5): bytes from the
 * socket go in, whole messages of one expected MTYP come out, each in
 * contiguous memory as gss_unwrap() needs (a ring buffer could split a
 * token).  One message of up to 64 KiB is always completed in place;
 * leftover bytes move to the front at most once per message.  About 64 KiB:
 * allocate it only for protected sessions. */
struct gss_deframer {
	size_t off; /* first unread byte */
	size_t len; /* end of the bytes held */
	uint8_t mtyp; /* the message type expected */
	uint8_t buf[GSS_FRAME_MAX];
};

void gss_deframer_init(struct gss_deframer *d, uint8_t mtyp);

/* Where the next read may write, and how much: never 0 while
 * gss_deframer_next() says CODEC_NEED_MORE. */
uint8_t *gss_deframer_space(struct gss_deframer *d, size_t *cap);
/* n bytes were written at gss_deframer_space(). */
void gss_deframer_commit(struct gss_deframer *d, size_t n);
/* Copy in as much of p as fits; returns how much was taken (for bytes that
 * were read before the protected phase began). */
size_t gss_deframer_feed(struct gss_deframer *d, const void *p, size_t n);

/* The next whole message.  CODEC_OK with f->mtyp the expected type, or
 * GSS_FRAME_ABORT when the peer aborted; f->token stays valid until the
 * next call to space(), feed() or next().  CODEC_ERR (the stream is
 * broken: wrong VER or MTYP) is sticky. */
enum codec_status gss_deframer_next(struct gss_deframer *d, struct gss_frame *f);

/* Bytes held that do not yet form a whole message. */
size_t gss_deframer_pending(const struct gss_deframer *d);

/* Protection levels (§4.3).  0 is not in the RFC: curl and Dante use it for
 * "authentication only, then cleartext"; 3 (selective, "by local
 * configuration") is never granted. */
#define GSS_LEVEL_NONE 0
#define GSS_LEVEL_INTEGRITY 1
#define GSS_LEVEL_CONFIDENTIALITY 2
#define GSS_LEVEL_SELECTIVE 3
#define GSS_LEVEL_BIT(l) (1u << (l))
#define GSS_LEVEL_ALL                                                         \
	(GSS_LEVEL_BIT(GSS_LEVEL_NONE) | GSS_LEVEL_BIT(GSS_LEVEL_INTEGRITY) | \
	 GSS_LEVEL_BIT(GSS_LEVEL_CONFIDENTIALITY))

/* Server policy (§4.3: the server answers the level it agrees to; the
 * client closes if it cannot live with it).  granted: GSS_LEVEL_BIT()s the
 * configuration allows, already masked by what the context can do.
 *   - a granted request is echoed (as Dante does);
 *   - 1 not granted but 2 granted: 2 (more protection than asked; RFC
 *     clients and our shim accept it, Dante's client only if configured);
 *   - 0 not granted: refused, never upgraded: a client asking for 0 (curl,
 *     Dante "clear") would then speak cleartext into a protected session;
 *   - 2 not granted: refused, unless downgrade is true (then 1 if granted);
 *   - 3: the strongest granted of 2, 1 (we do not do selective protection);
 *   - anything else (4..255): refused.
 * Returns the level to answer, or -1: send the abort (01 ff) and close. */
int gss_frame_level_choose(unsigned granted, uint8_t requested, bool downgrade);

/* Client check of the server's answer (§4.3: the client closes when it
 * cannot accept it): true when answered is what was requested or a
 * stronger level (1 or 2); for a request of 3 (selective), 1 or 2.  An
 * answer of 3 or more is never acceptable: nobody implements selective
 * protection. */
bool gss_frame_level_acceptable(uint8_t requested, uint8_t answered);

/* "none", "integrity", "confidentiality", "selective" or "invalid". */
const char *gss_frame_level_str(uint8_t level);

#endif
