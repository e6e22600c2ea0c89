/* socks4 — SOCKS4/4a wire codec.  Like socks5.c, parsers run a bounded cursor
 * over what has arrived and write outputs only once the message is complete.
 * SOCKS4 strings carry no length byte, so each is bounded by a limit: 256
 * bytes without a NUL is an error, never a reason to wait for more. */
#include "socks4.h"

#include <arpa/inet.h>

#include <string.h>

#include "buf.h"

/* Look for a NUL-terminated string of at most max bytes at the cursor.
 * CODEC_OK: *s points at it, *n is its length, the cursor is past the NUL. */
static enum codec_status socks4_cstr(struct cur *c, size_t max, const char **s, size_t *n)
{
	size_t avail = cur_left(c);
	size_t scan = avail < max + 1 ? avail : max + 1;
	const uint8_t *p = c->p + c->off;
	const uint8_t *nul = memchr(p, '\0', scan);

	if (nul == NULL)
		return scan > max ? CODEC_ERR : CODEC_NEED_MORE;
	*s = (const char *)p;
	*n = (size_t)(nul - p);
	c->off += *n + 1;
	return CODEC_OK;
}

/* SOCKS4A.protocol: DSTIP 0.0.0.x with x != 0 means "a host name follows";
 * 0.0.0.0 stays a plain (and refused) IPv4 destination. */
static bool socks4_is_4a(const struct in_addr *ip)
{
	const uint8_t *b = (const uint8_t *)&ip->s_addr;

	return b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] != 0;
}

enum codec_status socks4_parse_request(const uint8_t *in, size_t len, struct socks4_request *r,
				       size_t *used)
{
	struct cur c;
	uint8_t vn, cmd;
	uint16_t port;
	struct in_addr ip;
	const char *uid, *host;
	size_t uidlen, hostlen;
	enum codec_status st;
	enum socks_name_status ns;
	struct socks_addr a;

	cur_init(&c, in, len);
	if (!cur_u8(&c, &vn))
		return CODEC_NEED_MORE;
	/* Fail on the first byte: a SOCKS5 or HTTP peer never sends a NUL
	 * where we would wait for one. */
	if (vn != SOCKS4_VERSION)
		return CODEC_ERR;
	if (!cur_u8(&c, &cmd) || !cur_u16(&c, &port) || !cur_bytes(&c, &ip, sizeof(ip)))
		return CODEC_NEED_MORE;
	st = socks4_cstr(&c, SOCKS4_USERID_MAX, &uid, &uidlen);
	if (st != CODEC_OK)
		return st;
	/* Build the destination in a scratch copy so that a refused name
	 * leaves *r untouched. */
	memset(&a, 0, sizeof(a));
	if (socks4_is_4a(&ip)) {
		st = socks4_cstr(&c, SOCKS4_HOST_MAX, &host, &hostlen);
		if (st != CODEC_OK)
			return st;
		if (hostlen == 0)
			return CODEC_ERR;
		/* Literals sent as names become ATYP 1/4 (RFC 3089 §3). */
		ns = socks_addr_set_name(&a, host, hostlen);
		if (ns != SOCKS_NAME_OK && ns != SOCKS_NAME_LITERAL)
			return CODEC_ERR;
	} else {
		a.atyp = SOCKS_ATYP_IPV4;
		a.u.v4 = ip;
	}
	a.port = port;
	r->cmd = cmd;
	r->is_4a = socks4_is_4a(&ip);
	r->dst = a;
	memcpy(r->userid, uid, uidlen);
	r->userid[uidlen] = '\0';
	*used = c.off;
	return CODEC_OK;
}

enum codec_status socks4_parse_reply(const uint8_t *in, size_t len, uint8_t *cd,
				     struct socks_addr *bnd, size_t *used)
{
	struct cur c;
	uint8_t vn, code;
	uint16_t port;
	struct in_addr ip;

	cur_init(&c, in, len);
	if (!cur_u8(&c, &vn))
		return CODEC_NEED_MORE;
	if (vn != SOCKS4_REPLY_VERSION)
		return CODEC_ERR;
	if (!cur_u8(&c, &code) || !cur_u16(&c, &port) || !cur_bytes(&c, &ip, sizeof(ip)))
		return CODEC_NEED_MORE;
	memset(bnd, 0, sizeof(*bnd));
	bnd->atyp = SOCKS_ATYP_IPV4;
	bnd->port = port;
	bnd->u.v4 = ip;
	*cd = code;
	*used = c.off;
	return CODEC_OK;
}

size_t socks4_build_request(uint8_t *out, size_t cap, uint8_t cmd, const struct socks_addr *dst,
			    const char *userid)
{
	/* SOCKS4A.protocol: any 0.0.0.x with x != 0 marks a name; 0.0.0.1 is
	 * what Firefox and curl send. */
	static const uint8_t marker[4] = {0, 0, 0, 1};
	size_t uidlen;
	struct wbuf w;

	if (userid == NULL)
		userid = "";
	uidlen = strlen(userid);
	if (dst == NULL || uidlen > SOCKS4_USERID_MAX)
		return 0;
	if (dst->atyp != SOCKS_ATYP_IPV4 && (dst->atyp != SOCKS_ATYP_NAME || dst->namelen == 0))
		return 0;
	/* 0.0.0.x (x != 0) is 4a's "a name follows" marker: SOCKS4 cannot
	 * address it, and writing it would make the request a 4a one. */
	if (dst->atyp == SOCKS_ATYP_IPV4 && (ntohl(dst->u.v4.s_addr) >> 8) == 0 &&
	    dst->u.v4.s_addr != 0)
		return 0;

	wbuf_init(&w, out, cap);
	wbuf_u8(&w, SOCKS4_VERSION);
	wbuf_u8(&w, cmd);
	wbuf_u16(&w, dst->port);
	if (dst->atyp == SOCKS_ATYP_IPV4)
		wbuf_bytes(&w, &dst->u.v4, sizeof(dst->u.v4));
	else
		wbuf_bytes(&w, marker, sizeof(marker));
	wbuf_bytes(&w, userid, uidlen + 1);
	if (dst->atyp == SOCKS_ATYP_NAME) {
		wbuf_bytes(&w, dst->u.name, dst->namelen);
		wbuf_u8(&w, 0);
	}
	return w.err ? 0 : w.len;
}

size_t socks4_build_reply(uint8_t *out, size_t cap, uint8_t cd, const struct socks_addr *bnd)
{
	static const uint8_t zero[4];
	struct wbuf w;
	bool v4 = bnd != NULL && bnd->atyp == SOCKS_ATYP_IPV4;

	wbuf_init(&w, out, cap);
	wbuf_u8(&w, SOCKS4_REPLY_VERSION);
	wbuf_u8(&w, cd);
	/* SOCKS4.protocol: for CONNECT the client ignores DSTPORT/DSTIP;
	 * for BIND they are the listener the caller must supply. */
	wbuf_u16(&w, v4 ? bnd->port : 0);
	wbuf_bytes(&w, v4 ? (const void *)&bnd->u.v4 : zero, 4);
	return w.err ? 0 : w.len;
}

uint8_t socks4_cd_from_rep(uint8_t rep)
{
	return rep == SOCKS5_REP_SUCCEEDED ? SOCKS4_CD_GRANTED : SOCKS4_CD_REJECTED;
}

const char *socks4_cd_str(uint8_t cd)
{
	switch (cd) {
	case SOCKS4_CD_GRANTED:
		return "granted";
	case SOCKS4_CD_REJECTED:
		return "rejected or failed";
	case SOCKS4_CD_NO_IDENTD:
		return "no identd";
	case SOCKS4_CD_IDENT_MISMATCH:
		return "user id mismatch";
	default:
		return "unassigned";
	}
}
