/* socks_client — RFC 1928 client exchange (see socks_client.h). */
#include "socks_client.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "gss_frame.h"
#include "shim.h"

enum {
	SC_SEND_GREETING,
	SC_READ_METHOD,
	SC_SEND_REQUEST,
	SC_READ_REPLY,
	SC_DONE,
	SC_FAILED,
	/* RFC 1961 */
	SC_GSS_CALL, /* waiting for socks_client_gss_step() */
	SC_GSS_SEND, /* a context token (and, once established, the level) */
	SC_GSS_READ_TOKEN, /* the server's next context token */
	SC_GSS_READ_LEVEL, /* the server's protection level */
	SC_GSS_SEND_REQUEST, /* the wrapped request */
	SC_GSS_READ_REPLY, /* the wrapped reply */
};

struct socks_client_gss {
	struct gss_ctx *ctx;
	char service[SHIM_CONF_GSS_NAME_MAX];
	char host[SHIM_CONF_GSS_NAME_MAX]; /* "": look the gateway up */
	struct sockaddr_storage gw;
	socklen_t gwlen;
	uint8_t asked; /* level */
	int level; /* agreed, -1 before */
	bool established;
	size_t in_len; /* bytes of the message being read */
	size_t out_len, out_off;
	uint8_t in[GSS_FRAME_MAX];
	uint8_t out[GSS_FRAME_MAX];
};

/* Gateway host names from reverse lookups, once per gateway address. */
#define SC_HOSTS_MAX (2 * SHIM_CONF_GATEWAYS_MAX)

struct socks_client_host {
	struct sockaddr_storage addr;
	char name[NI_MAXHOST];
};

static pthread_mutex_t socks_client_hosts_lock = PTHREAD_MUTEX_INITIALIZER;
static struct socks_client_host socks_client_hosts[SC_HOSTS_MAX];
static size_t socks_client_nhosts;

static enum socks_client_status socks_client_fail(struct socks_client *c, int err, const char *why)
{
	c->state = SC_FAILED;
	c->err = err;
	c->why = why;
	return SOCKS_CLIENT_FAILED;
}

static enum socks_client_status socks_client_failf(struct socks_client *c, int err, const char *fmt,
						   ...) __attribute__((format(printf, 3, 4)));

static enum socks_client_status socks_client_failf(struct socks_client *c, int err, const char *fmt,
						   ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why_buf, sizeof(c->why_buf), fmt, ap);
	va_end(ap);
	return socks_client_fail(c, err, c->why_buf);
}

void socks_client_init(struct socks_client *c, uint8_t cmd, const struct socks_addr *dst)
{
	memset(c, 0, sizeof(*c));
	c->method = SOCKS5_METHOD_NONE;
	c->cmd = cmd;
	c->dst = *dst;
	c->len = socks5_build_greeting(c->buf, sizeof(c->buf), &c->method, 1);
	c->state = SC_SEND_GREETING;
}

int socks_client_rep_errno(uint8_t rep)
{
	switch (rep) {
	case SOCKS5_REP_NOT_ALLOWED:
		return EACCES;
	case SOCKS5_REP_NET_UNREACHABLE:
		return ENETUNREACH;
	case SOCKS5_REP_HOST_UNREACHABLE:
		return EHOSTUNREACH;
	case SOCKS5_REP_TTL_EXPIRED:
		return ETIMEDOUT;
	default:
		return ECONNREFUSED;
	}
}

int socks_client_send_pending(int fd, const uint8_t *buf, size_t len, size_t *off)
{
	while (*off < len) {
		ssize_t n = send(fd, buf + *off, len - *off, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			return -1;
		*off += (size_t)n;
	}
	return 1;
}

/* Send what is left of buf[*off..len); 1 when all is out. */
static int socks_client_send_buf(struct socks_client *c, int fd, const uint8_t *buf, size_t len,
				 size_t *off)
{
	int r = socks_client_send_pending(fd, buf, len, off);

	if (r < 0)
		socks_client_fail(c, errno, "send to the gateway failed");
	return r;
}

static int socks_client_send(struct socks_client *c, int fd)
{
	return socks_client_send_buf(c, fd, c->buf, c->len, &c->off);
}

/* Read until buf holds want bytes (*have so far); 1 when it does. */
static int socks_client_recv_buf(struct socks_client *c, int fd, uint8_t *buf, size_t *have,
				 size_t want)
{
	while (*have < want) {
		ssize_t n = recv(fd, buf + *have, want - *have, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0) {
			socks_client_fail(c, errno, "receive from the gateway failed");
			return -1;
		}
		if (n == 0) {
			socks_client_fail(c, ECONNRESET, "gateway closed during the handshake");
			return -1;
		}
		*have += (size_t)n;
	}
	return 1;
}

static int socks_client_recv(struct socks_client *c, int fd, size_t want)
{
	return socks_client_recv_buf(c, fd, c->buf, &c->len, want);
}

/* Read one whole RFC 1961 message into gss->in, never more: the header
 * first (an abort is only two octets, §3.8), then exactly its token.  1
 * when it is there (f describes it), 0 would block, -1 failed. */
static int socks_client_read_frame(struct socks_client *c, int fd, struct gss_frame *f)
{
	struct socks_client_gss *g = c->gss;
	size_t want = GSS_FRAME_ABORT_LEN, used;
	int rc;

	for (;;) {
		rc = socks_client_recv_buf(c, fd, g->in, &g->in_len, want);
		if (rc <= 0)
			return rc;
		switch (gss_frame_parse(g->in, g->in_len, GSS_FRAME_TOKEN_MAX, f, &used)) {
		case CODEC_OK:
			g->in_len = 0; /* f->token stays valid until the next read */
			return 1;
		case CODEC_NEED_MORE:
			want = g->in_len < GSS_FRAME_HDR_LEN
				       ? GSS_FRAME_HDR_LEN
				       : GSS_FRAME_HDR_LEN + ((size_t)g->in[2] << 8 | g->in[3]);
			break;
		default:
			socks_client_fail(c, EPROTO, "malformed GSSAPI message from the gateway");
			return -1;
		}
	}
}

/* Exact length of the reply from its first five bytes (RFC 1928 §6), so
 * nothing after it is read. */
static size_t socks_client_reply_len(const struct socks_client *c)
{
	if (c->len < 5)
		return 5;
	switch (c->buf[3]) {
	case SOCKS_ATYP_IPV4:
		return 4 + 4 + 2;
	case SOCKS_ATYP_IPV6:
		return 4 + 16 + 2;
	case SOCKS_ATYP_NAME:
		return 4 + 1 + (size_t)c->buf[4] + 2;
	default:
		return 5; /* the parser rejects it */
	}
}

/* The reply, plain (exactly its bytes) or unwrapped from one message. */
static enum socks_client_status socks_client_reply(struct socks_client *c, const uint8_t *p,
						   size_t len)
{
	size_t used;

	if (socks5_parse_reply(p, len, &c->rep, &c->bnd, &used) != CODEC_OK || used != len)
		return socks_client_fail(c, EPROTO, "malformed reply from gateway");
	if (c->rep != SOCKS5_REP_SUCCEEDED)
		return socks_client_fail(c, socks_client_rep_errno(c->rep), socks5_rep_str(c->rep));
	c->state = SC_DONE;
	return SOCKS_CLIENT_DONE;
}

/* The request, after authentication: wrapped when the level protects
 * data (RFC 1961 §5), else as RFC 1928 §4 has it. */
static enum socks_client_status socks_client_request(struct socks_client *c)
{
	struct socks_client_gss *g = c->gss;
	struct gss_err gerr;

	c->len = socks5_build_request(c->buf, sizeof(c->buf), c->cmd, &c->dst);
	c->off = 0;
	if (c->len == 0)
		return socks_client_fail(c, EINVAL, "request does not fit");
	if (!g || g->level == GSS_LEVEL_NONE) {
		c->state = SC_SEND_REQUEST;
		return SOCKS_CLIENT_WANT_WRITE;
	}
	g->out_off = 0;
	if (gss_wrap_msg(g->ctx, c->buf, c->len, g->out, sizeof(g->out), &g->out_len, &gerr) < 0)
		return socks_client_failf(c, EPROTO, "GSSAPI: %s", gerr.msg);
	c->state = SC_GSS_SEND_REQUEST;
	return SOCKS_CLIENT_WANT_WRITE;
}

/* The server's protection level (§4.3): the level octet, unwrapped; an
 * answer weaker than asked is not acceptable, and the client closes. */
static enum socks_client_status socks_client_level_answer(struct socks_client *c,
							  const struct gss_frame *f)
{
	struct socks_client_gss *g = c->gss;
	struct gss_err gerr;
	uint8_t level;
	bool bare;

	if (f->mtyp != GSS_FRAME_LEVEL)
		return socks_client_failf(c, EPROTO,
					  "GSSAPI: message type %u instead of the protection level",
					  f->mtyp);
	if (gss_level_parse(g->ctx, f->token, f->len, false, &level, &bare, &gerr) < 0)
		return socks_client_failf(c, EACCES, "GSSAPI: %s", gerr.msg);
	if (!gss_frame_level_acceptable(g->asked, level))
		return socks_client_failf(
			c, EACCES, "GSSAPI: asked for protection %s, the gateway answered %s",
			gss_frame_level_str(g->asked), gss_frame_level_str(level));
	if (gss_ctx_set_level(g->ctx, level, &gerr) < 0)
		return socks_client_failf(c, EACCES, "GSSAPI: %s", gerr.msg);
	g->level = level;
	return socks_client_request(c);
}

/* One pass over an RFC 1961 state; SOCKS_CLIENT_WANT_GSS with the state
 * changed means "go on". */
static enum socks_client_status socks_client_gss_io(struct socks_client *c, int fd, bool *again)
{
	struct socks_client_gss *g = c->gss;
	struct gss_frame f;
	struct gss_err gerr;
	int rc, was;

	*again = false;
	switch (c->state) {
	case SC_GSS_CALL:
		return SOCKS_CLIENT_WANT_GSS;
	case SC_GSS_SEND:
	case SC_GSS_SEND_REQUEST:
		rc = socks_client_send_buf(c, fd, g->out, g->out_len, &g->out_off);
		if (rc < 0)
			return SOCKS_CLIENT_FAILED;
		if (rc == 0)
			return SOCKS_CLIENT_WANT_WRITE;
		if (c->state == SC_GSS_SEND_REQUEST)
			c->state = SC_GSS_READ_REPLY;
		else
			c->state = g->established ? SC_GSS_READ_LEVEL : SC_GSS_READ_TOKEN;
		*again = true;
		return SOCKS_CLIENT_WANT_READ;
	default:
		break;
	}
	was = c->state;
	rc = socks_client_read_frame(c, fd, &f);
	if (rc < 0 && c->err == ECONNRESET && was == SC_GSS_READ_LEVEL)
		/* Dante's answer to a level it does not grant. */
		return socks_client_failf(c, EACCES,
					  "GSSAPI: the gateway closed the connection instead of "
					  "answering protection level %s (not granted?)",
					  gss_frame_level_str(g->asked));
	if (rc < 0 && c->err == ECONNRESET && was == SC_GSS_READ_TOKEN)
		return socks_client_fail(c, EACCES,
					 "GSSAPI: the gateway closed the connection during "
					 "authentication");
	if (rc < 0)
		return SOCKS_CLIENT_FAILED;
	if (rc == 0)
		return SOCKS_CLIENT_WANT_READ;
	/* §3.8: the server gives up (a refused ticket, a level it will not
	 * grant). */
	if (f.mtyp == GSS_FRAME_ABORT)
		return socks_client_fail(
			c, EACCES,
			c->state == SC_GSS_READ_TOKEN
				? "GSSAPI: the gateway refused the authentication"
				: "GSSAPI: the gateway refused the protection level");
	switch (c->state) {
	case SC_GSS_READ_TOKEN:
		if (f.mtyp != GSS_FRAME_AUTH || f.len == 0)
			return socks_client_fail(c, EPROTO, "GSSAPI: bad context token");
		/* The token stays in g->in for socks_client_gss_step(). */
		memmove(g->in, f.token, f.len);
		g->in_len = f.len;
		c->state = SC_GSS_CALL;
		return SOCKS_CLIENT_WANT_GSS;
	case SC_GSS_READ_LEVEL:
		rc = socks_client_level_answer(c, &f);
		*again = rc != SOCKS_CLIENT_FAILED;
		return rc;
	case SC_GSS_READ_REPLY: {
		uint8_t plain[SOCKS5_REPLY_MAX];
		size_t n;

		if (f.mtyp != GSS_FRAME_DATA ||
		    gss_unwrap_msg(g->ctx, f.token, f.len, g->out, sizeof(g->out), &n, &gerr) < 0)
			return socks_client_failf(c, EPROTO, "GSSAPI: reply: %s",
						  f.mtyp != GSS_FRAME_DATA ? "not a data message"
									   : gerr.msg);
		if (n > sizeof(plain))
			return socks_client_fail(c, EPROTO, "malformed reply from gateway");
		memcpy(plain, g->out, n);
		return socks_client_reply(c, plain, n);
	}
	default:
		return socks_client_fail(c, EINVAL, "bad client state");
	}
}

enum socks_client_status socks_client_step(struct socks_client *c, int fd)
{
	enum socks_client_status st;
	bool again;
	int rc;

	for (;;) {
		switch (c->state) {
		case SC_SEND_GREETING:
		case SC_SEND_REQUEST:
			rc = socks_client_send(c, fd);
			if (rc < 0)
				return SOCKS_CLIENT_FAILED;
			if (rc == 0)
				return SOCKS_CLIENT_WANT_WRITE;
			c->state = c->state == SC_SEND_GREETING ? SC_READ_METHOD : SC_READ_REPLY;
			c->len = 0;
			c->off = 0;
			break;
		case SC_READ_METHOD:
			rc = socks_client_recv(c, fd, 2);
			if (rc < 0)
				return SOCKS_CLIENT_FAILED;
			if (rc == 0)
				return SOCKS_CLIENT_WANT_READ;
			/* §3: VER METHOD; 0xFF means none of ours is acceptable. */
			if (c->buf[0] != SOCKS5_VERSION)
				return socks_client_fail(c, EPROTO, "gateway is not SOCKS5");
			if (c->buf[1] != c->method)
				return socks_client_fail(
					c, EACCES,
					c->method == SOCKS5_METHOD_GSSAPI
						? "gateway does not accept GSSAPI"
						: "gateway accepts no offered method");
			if (c->method == SOCKS5_METHOD_GSSAPI) {
				/* RFC 1961 §3: the client speaks first. */
				c->state = SC_GSS_CALL;
				return SOCKS_CLIENT_WANT_GSS;
			}
			st = socks_client_request(c);
			if (st == SOCKS_CLIENT_FAILED)
				return st;
			break;
		case SC_READ_REPLY:
			for (;;) {
				size_t want = socks_client_reply_len(c);

				rc = socks_client_recv(c, fd, want);
				if (rc < 0)
					return SOCKS_CLIENT_FAILED;
				if (rc == 0)
					return SOCKS_CLIENT_WANT_READ;
				if (socks_client_reply_len(c) == want)
					break;
			}
			return socks_client_reply(c, c->buf, c->len);
		case SC_DONE:
			return SOCKS_CLIENT_DONE;
		case SC_FAILED:
			return SOCKS_CLIENT_FAILED;
		default:
			st = socks_client_gss_io(c, fd, &again);
			if (!again)
				return st;
			break;
		}
	}
}

/* The gateway's host name for the target service@host: gssapi-host, else
 * the name of its address (NI_NAMEREQD: an address is no Kerberos host
 * name), looked up once per gateway with libc's own getnameinfo (the
 * shim's would answer synthetic names).  0 or -1. */
static int socks_client_host(struct socks_client_gss *g, char *out, size_t cap)
{
	const struct sockaddr *sa = (const struct sockaddr *)&g->gw;
	char name[NI_MAXHOST];
	int rc;

	if (g->host[0]) {
		snprintf(out, cap, "%s", g->host);
		return 0;
	}
	pthread_mutex_lock(&socks_client_hosts_lock);
	for (size_t i = 0; i < socks_client_nhosts; i++) {
		if (memcmp(&socks_client_hosts[i].addr, &g->gw, g->gwlen) == 0) {
			snprintf(out, cap, "%s", socks_client_hosts[i].name);
			pthread_mutex_unlock(&socks_client_hosts_lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&socks_client_hosts_lock);
	rc = shim_syms()->getnameinfo(sa, g->gwlen, name, sizeof(name), NULL, 0, NI_NAMEREQD);
	if (rc != 0)
		return -1;
	pthread_mutex_lock(&socks_client_hosts_lock);
	if (socks_client_nhosts < SC_HOSTS_MAX) {
		struct socks_client_host *h = &socks_client_hosts[socks_client_nhosts++];

		memset(&h->addr, 0, sizeof(h->addr));
		memcpy(&h->addr, &g->gw, g->gwlen);
		snprintf(h->name, sizeof(h->name), "%s", name);
	}
	pthread_mutex_unlock(&socks_client_hosts_lock);
	snprintf(out, cap, "%s", name);
	return 0;
}

int socks_client_auth(struct socks_client *c, const struct shim_conf *conf,
		      const struct sockaddr *gw)
{
	struct socks_client_gss *g;

	if (conf->auth != SOCKS5_METHOD_GSSAPI)
		return 0;
	g = c->gss ? c->gss : calloc(1, sizeof(*g));
	if (!g) {
		errno = ENOMEM;
		return -1;
	}
	c->gss = g;
	snprintf(g->service, sizeof(g->service), "%s", conf->gssapi_service);
	snprintf(g->host, sizeof(g->host), "%s", conf->gssapi_host);
	g->gwlen =
		gw->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	memset(&g->gw, 0, sizeof(g->gw));
	memcpy(&g->gw, gw, g->gwlen);
	g->asked = conf->gssapi_level;
	g->level = -1;
	c->method = SOCKS5_METHOD_GSSAPI;
	c->len = socks5_build_greeting(c->buf, sizeof(c->buf), &c->method, 1);
	c->off = 0;
	return 0;
}

void socks_client_gss_step(struct socks_client *c)
{
	struct socks_client_gss *g = c->gss;
	char host[NI_MAXHOST], gwtext[SOCKS_ADDR_STRLEN];
	struct gss_err gerr;
	enum gss_step st;
	size_t n = 0;

	if (c->state != SC_GSS_CALL || !g)
		return;
	if (!g->ctx) {
		if (socks_client_host(g, host, sizeof(host)) < 0) {
			sockaddr_format((const struct sockaddr *)&g->gw, gwtext, sizeof(gwtext));
			socks_client_failf(c, EACCES,
					   "GSSAPI: the gateway address %s has no host name "
					   "(set gssapi-host)",
					   gwtext);
			return;
		}
		g->ctx = gss_cli_new(g->service, host, NULL, &gerr);
		if (!g->ctx) {
			socks_client_failf(c, EACCES, "GSSAPI: %s", gerr.msg);
			return;
		}
		st = gss_cli_step(g->ctx, NULL, 0, g->out, sizeof(g->out), &g->out_len, &gerr);
	} else {
		st = gss_cli_step(g->ctx, g->in, g->in_len, g->out, sizeof(g->out), &g->out_len,
				  &gerr);
	}
	g->in_len = 0;
	g->out_off = 0;
	if (st == GSS_STEP_ERR) {
		/* §3.5: on failure the client closes without another message. */
		socks_client_failf(c, EACCES, "GSSAPI: %s", gerr.msg);
		return;
	}
	if (st == GSS_STEP_DONE) {
		/* §4.3: the level goes right behind the last token, if any. */
		g->established = true;
		if (gss_level_build(g->ctx, g->asked, false, g->out + g->out_len,
				    sizeof(g->out) - g->out_len, &n, &gerr) < 0) {
			socks_client_failf(c, EACCES, "GSSAPI: %s", gerr.msg);
			return;
		}
		g->out_len += n;
	}
	c->state = SC_GSS_SEND;
}

static long long socks_client_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int socks_client_run(struct socks_client *c, int fd, int timeout_ms,
		     int (*pollfn)(struct pollfd *, nfds_t, int))
{
	long long deadline = socks_client_ms() + timeout_ms;
	enum socks_client_status st;

	if (!pollfn)
		pollfn = poll;
	for (;;) {
		struct pollfd pfd = {.fd = fd};
		long long left;
		int n;

		st = socks_client_step(c, fd);
		if (st == SOCKS_CLIENT_WANT_GSS) {
			socks_client_gss_step(c);
			continue;
		}
		if (st != SOCKS_CLIENT_WANT_READ && st != SOCKS_CLIENT_WANT_WRITE)
			break;
		pfd.events = st == SOCKS_CLIENT_WANT_READ ? POLLIN : POLLOUT;
		left = deadline - socks_client_ms();
		if (left <= 0) {
			socks_client_fail(c, ETIMEDOUT, "gateway handshake timed out");
			break;
		}
		n = pollfn(&pfd, 1, (int)left);
		if (n < 0 && errno != EINTR) {
			socks_client_fail(c, errno, "poll failed");
			break;
		}
	}
	if (c->state == SC_DONE)
		return 0;
	errno = c->err;
	return -1;
}

int socks_client_level(const struct socks_client *c)
{
	return c->gss ? c->gss->level : -1;
}

struct gss_ctx *socks_client_take_gss(struct socks_client *c)
{
	struct gss_ctx *ctx;

	if (c->state != SC_DONE || !c->gss || c->gss->level <= GSS_LEVEL_NONE)
		return NULL;
	ctx = c->gss->ctx;
	c->gss->ctx = NULL;
	return ctx;
}

void socks_client_cleanup(struct socks_client *c)
{
	if (!c->gss)
		return;
	gss_ctx_free(c->gss->ctx);
	free(c->gss);
	c->gss = NULL;
}
