/* socks5 — RFC 1928 wire codec.  Every parser runs a bounded cursor over what
 * has arrived and writes its outputs only once the whole message is there, so
 * a caller can retry with more bytes as often as it likes. */
#include "socks5.h"

#include <errno.h>
#include <string.h>

#include "buf.h"

/* Fixed part of a request or reply: VER CMD|REP RSV ATYP (RFC 1928 §4, §6). */
#define SOCKS5_HDR_LEN 4

enum codec_status socks5_parse_greeting(const uint8_t *in, size_t len, struct socks5_greeting *g,
					size_t *used)
{
	struct cur c;
	uint8_t ver, nmethods;

	cur_init(&c, in, len);
	if (!cur_u8(&c, &ver))
		return CODEC_NEED_MORE;
	/* Fail on the first wrong byte rather than wait for a length that a
	 * non-SOCKS5 peer (SOCKS4, HTTP) will never complete. */
	if (ver != SOCKS5_VERSION)
		return CODEC_ERR;
	if (!cur_u8(&c, &nmethods))
		return CODEC_NEED_MORE;
	/* §3: NMETHODS counts 1 to 255 methods. */
	if (nmethods == 0)
		return CODEC_ERR;
	if (cur_left(&c) < nmethods)
		return CODEC_NEED_MORE;

	g->nmethods = nmethods;
	cur_bytes(&c, g->methods, nmethods);
	*used = c.off;
	return CODEC_OK;
}

uint8_t socks5_choose_method(const struct socks5_greeting *g, const uint8_t *server_methods,
			     size_t n)
{
	/* §3: the server selects; the client's order carries no preference. */
	for (size_t i = 0; i < n; i++) {
		if (memchr(g->methods, server_methods[i], g->nmethods) != NULL)
			return server_methods[i];
	}
	return SOCKS5_METHOD_NO_ACCEPTABLE;
}

/* ATYP ADDR PORT, shared by requests and replies (RFC 1928 §4, §5, §6).
 * On CODEC_ERR *rep says which reply a server would send. */
static enum codec_status socks5_parse_addr(struct cur *c, struct socks_addr *a, uint8_t *rep)
{
	uint8_t atyp, namelen;
	struct sockaddr_in6 sin6 = {0};
	char name[SOCKS_NAME_MAX];
	enum socks_name_status st;

	if (!cur_u8(c, &atyp))
		return CODEC_NEED_MORE;
	switch (atyp) {
	case SOCKS_ATYP_IPV4:
		if (!cur_bytes(c, &a->u.v4, sizeof(a->u.v4)))
			return CODEC_NEED_MORE;
		a->atyp = SOCKS_ATYP_IPV4;
		a->namelen = 0;
		break;
	case SOCKS_ATYP_IPV6:
		if (!cur_bytes(c, &sin6.sin6_addr, sizeof(sin6.sin6_addr)))
			return CODEC_NEED_MORE;
		/* Through the sockaddr helper so that ::ffff:a.b.c.d becomes
		 * IPv4 and meets the IPv4 rules (loopback, 0.0.0.0/8). */
		sin6.sin6_family = AF_INET6;
		socks_addr_from_sockaddr(a, (const struct sockaddr *)&sin6);
		break;
	case SOCKS_ATYP_NAME:
		if (!cur_u8(c, &namelen))
			return CODEC_NEED_MORE;
		/* §5 gives no meaning to an empty name; refuse it at once. */
		if (namelen == 0) {
			*rep = SOCKS5_REP_GENERAL_FAILURE;
			return CODEC_ERR;
		}
		if (!cur_bytes(c, name, namelen))
			return CODEC_NEED_MORE;
		/* RFC 3089 §3: literals sent as names come back as ATYP 1/4. */
		st = socks_addr_set_name(a, name, namelen);
		if (st != SOCKS_NAME_OK && st != SOCKS_NAME_LITERAL) {
			*rep = SOCKS5_REP_GENERAL_FAILURE;
			return CODEC_ERR;
		}
		break;
	default:
		*rep = SOCKS5_REP_ATYP_NOT_SUPPORTED;
		return CODEC_ERR;
	}
	if (!cur_u16(c, &a->port))
		return CODEC_NEED_MORE;
	return CODEC_OK;
}

/* VER CODE RSV ATYP ADDR PORT into locals; outputs are the caller's job. */
static enum codec_status socks5_parse_msg(const uint8_t *in, size_t len, uint8_t *code,
					  struct socks_addr *a, size_t *used, uint8_t *rep)
{
	struct cur c;
	uint8_t ver, rsv;
	enum codec_status st;

	cur_init(&c, in, len);
	if (!cur_u8(&c, &ver))
		return CODEC_NEED_MORE;
	if (ver != SOCKS5_VERSION) {
		*rep = SOCKS5_REP_GENERAL_FAILURE;
		return CODEC_ERR;
	}
	if (!cur_u8(&c, code))
		return CODEC_NEED_MORE;
	if (!cur_u8(&c, &rsv))
		return CODEC_NEED_MORE;
	/* §4, §6: RSV is X'00'; anything else is not a message we understand. */
	if (rsv != 0) {
		*rep = SOCKS5_REP_GENERAL_FAILURE;
		return CODEC_ERR;
	}
	st = socks5_parse_addr(&c, a, rep);
	if (st == CODEC_OK)
		*used = c.off;
	return st;
}

enum codec_status socks5_parse_request(const uint8_t *in, size_t len, struct socks5_request *r,
				       size_t *used, uint8_t *rep)
{
	struct socks5_request tmp;
	size_t n = 0;
	uint8_t why = SOCKS5_REP_GENERAL_FAILURE;
	enum codec_status st;

	memset(&tmp, 0, sizeof(tmp));
	st = socks5_parse_msg(in, len, &tmp.cmd, &tmp.dst, &n, &why);
	if (st == CODEC_ERR)
		*rep = why;
	if (st != CODEC_OK)
		return st;
	/* Unknown commands pass: the caller answers CMD_NOT_SUPPORTED (§4, §6)
	 * once the whole request has been read. */
	*r = tmp;
	*used = n;
	return CODEC_OK;
}

enum codec_status socks5_parse_reply(const uint8_t *in, size_t len, uint8_t *rep,
				     struct socks_addr *bnd, size_t *used)
{
	struct socks_addr tmp;
	uint8_t code = 0, why;
	size_t n = 0;
	enum codec_status st;

	memset(&tmp, 0, sizeof(tmp));
	st = socks5_parse_msg(in, len, &code, &tmp, &n, &why);
	if (st != CODEC_OK)
		return st;
	*rep = code;
	*bnd = tmp;
	*used = n;
	return CODEC_OK;
}

size_t socks5_build_greeting(uint8_t *out, size_t cap, const uint8_t *methods, size_t n)
{
	struct wbuf w;

	/* §3: NMETHODS is one octet and at least 1. */
	if (n == 0 || n > 255)
		return 0;
	wbuf_init(&w, out, cap);
	wbuf_u8(&w, SOCKS5_VERSION);
	wbuf_u8(&w, (uint8_t)n);
	wbuf_bytes(&w, methods, n);
	return w.err ? 0 : w.len;
}

size_t socks5_build_method_select(uint8_t *out, size_t cap, uint8_t method)
{
	struct wbuf w;

	wbuf_init(&w, out, cap);
	wbuf_u8(&w, SOCKS5_VERSION);
	wbuf_u8(&w, method);
	return w.err ? 0 : w.len;
}

/* Whether a can be written as ATYP ADDR PORT. */
static bool socks5_addr_writable(const struct socks_addr *a)
{
	if (a == NULL)
		return false;
	switch (a->atyp) {
	case SOCKS_ATYP_IPV4:
	case SOCKS_ATYP_IPV6:
		return true;
	case SOCKS_ATYP_NAME:
		return a->namelen > 0;
	default:
		return false;
	}
}

/* ATYP ADDR PORT */
static void socks5_put_addr(struct wbuf *w, const struct socks_addr *a)
{
	wbuf_u8(w, a->atyp);
	switch (a->atyp) {
	case SOCKS_ATYP_IPV4:
		wbuf_bytes(w, &a->u.v4, sizeof(a->u.v4));
		break;
	case SOCKS_ATYP_IPV6:
		wbuf_bytes(w, &a->u.v6, sizeof(a->u.v6));
		break;
	default:
		wbuf_u8(w, a->namelen);
		wbuf_bytes(w, a->u.name, a->namelen);
		break;
	}
	wbuf_u16(w, a->port);
}

/* VER CODE RSV ATYP ADDR PORT; a must be writable. */
static size_t socks5_build_msg(uint8_t *out, size_t cap, uint8_t code, const struct socks_addr *a)
{
	struct wbuf w;

	wbuf_init(&w, out, cap);
	wbuf_u8(&w, SOCKS5_VERSION);
	wbuf_u8(&w, code);
	wbuf_u8(&w, 0);
	socks5_put_addr(&w, a);
	return w.err ? 0 : w.len;
}

enum codec_status socks5_parse_udp(const uint8_t *in, size_t len, uint8_t *frag,
				   struct socks_addr *dst, size_t *hdrlen)
{
	struct cur c;
	uint16_t rsv;
	uint8_t f, rep;
	struct socks_addr a;

	cur_init(&c, in, len);
	/* §7: a datagram is whole; a short header is simply malformed. */
	if (!cur_u16(&c, &rsv) || rsv != 0 || !cur_u8(&c, &f))
		return CODEC_ERR;
	if (socks5_parse_addr(&c, &a, &rep) != CODEC_OK)
		return CODEC_ERR;
	*frag = f;
	*dst = a;
	*hdrlen = c.off;
	return CODEC_OK;
}

size_t socks5_build_udp_header(uint8_t *out, size_t cap, const struct socks_addr *src)
{
	struct wbuf w;

	if (!socks5_addr_writable(src))
		return 0;
	wbuf_init(&w, out, cap);
	wbuf_u16(&w, 0);
	wbuf_u8(&w, 0);
	socks5_put_addr(&w, src);
	return w.err ? 0 : w.len;
}

size_t socks5_build_request(uint8_t *out, size_t cap, uint8_t cmd, const struct socks_addr *dst)
{
	if (!socks5_addr_writable(dst))
		return 0;
	return socks5_build_msg(out, cap, cmd, dst);
}

size_t socks5_build_reply(uint8_t *out, size_t cap, uint8_t rep, const struct socks_addr *bnd)
{
	struct socks_addr zero;

	/* A failure reply still carries a well-formed BND (§6); 0.0.0.0:0 is
	 * what clients skip without looking. */
	if (!socks5_addr_writable(bnd)) {
		memset(&zero, 0, sizeof(zero));
		zero.atyp = SOCKS_ATYP_IPV4;
		bnd = &zero;
	}
	return socks5_build_msg(out, cap, rep, bnd);
}

uint8_t socks5_rep_from_errno(int err)
{
	/* RFC 1928 §6 codes; the split follows Dante's errno2reply() so that
	 * clients see what they would see through other servers.  See
	 * docs/replies.md. */
	switch (err) {
	case ENETUNREACH:
	case ENETDOWN:
	case EAFNOSUPPORT:
	case EADDRNOTAVAIL:
		return SOCKS5_REP_NET_UNREACHABLE;
	case EHOSTUNREACH:
	case EHOSTDOWN:
		return SOCKS5_REP_HOST_UNREACHABLE;
	case ECONNREFUSED:
	case ECONNRESET:
		return SOCKS5_REP_CONN_REFUSED;
	case ETIMEDOUT:
		return SOCKS5_REP_TTL_EXPIRED;
	case EACCES:
	case EPERM:
		return SOCKS5_REP_NOT_ALLOWED;
	default:
		return SOCKS5_REP_GENERAL_FAILURE;
	}
}

const char *socks5_rep_str(uint8_t rep)
{
	switch (rep) {
	case SOCKS5_REP_SUCCEEDED:
		return "succeeded";
	case SOCKS5_REP_GENERAL_FAILURE:
		return "general failure";
	case SOCKS5_REP_NOT_ALLOWED:
		return "not allowed";
	case SOCKS5_REP_NET_UNREACHABLE:
		return "network unreachable";
	case SOCKS5_REP_HOST_UNREACHABLE:
		return "host unreachable";
	case SOCKS5_REP_CONN_REFUSED:
		return "refused";
	case SOCKS5_REP_TTL_EXPIRED:
		return "ttl expired";
	case SOCKS5_REP_CMD_NOT_SUPPORTED:
		return "command not supported";
	case SOCKS5_REP_ATYP_NOT_SUPPORTED:
		return "address type not supported";
	default:
		return "unassigned";
	}
}
