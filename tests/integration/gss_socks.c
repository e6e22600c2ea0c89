/* gss_socks — a SOCKS5 client with the GSSAPI method (RFC 1961) built from
 * gateway/gss.c, gateway/gss_frame.c and gateway/socks5.c, for testing and
 * measuring socks64d:
 *
 *   gss_socks -x PROXY [options] echo TARGET TEXT [COUNT]
 *       CONNECT to an echo server; send TEXT COUNT times (one write, so one
 *       wrapped message, each), expect it back each time.
 *   gss_socks -x PROXY [options] http TARGET PATH
 *       CONNECT; "GET PATH HTTP/1.0"; print the response body on stdout.
 *   gss_socks -x PROXY [options] read TARGET
 *       CONNECT; send nothing; print what arrives until EOF on stdout.
 *   gss_socks -x PROXY [options] hold TARGET TEXT SECS
 *       echo TEXT, wait SECS (the ticket may expire meanwhile), echo again.
 *   gss_socks -x PROXY [options] udp TARGET TEXT COUNT
 *       UDP ASSOCIATE; COUNT datagrams "TEXT i" to an echo server that
 *       answers "echo:" + datagram; each answer checked.
 *   gss_socks -x PROXY [options] bulk TARGET BYTES
 *       download BYTES from tests/bench/loadgen's server ('D'); MB/s.
 *   gss_socks -x PROXY [options] rate TARGET SECS
 *       new session (greeting, auth, CONNECT) plus one 100-byte
 *       request/reply ('R') after another for SECS; sessions/s.
 *
 * TARGET is HOST:PORT, [IPv6]:PORT or NAME:PORT (sent as ATYP 3).
 * Options: -m gssapi|none (method, default gssapi), -s SERVICE (default
 * rcmd), -H HOST (the gateway's name in the service principal, default
 * localhost), -c CCACHE, -l LEVEL (0-3, default 2), -n (level message
 * unwrapped, NEC style).
 *
 * Prints "client: ..." progress lines and "result: ok", or "error: ...",
 * on stderr (stdout: the HTTP body, the bulk and rate figures) and exits
 * with: 2 method refused, 3 authentication failed or aborted,
 * 4 protection level refused, 5 SOCKS reply not success, 6 data phase
 * broken (closed, mismatch, unwrap failure), 1 anything else. */
#include <errno.h>
#include <netdb.h>
#include <stddef.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gss.h"
#include "gss_frame.h"
#include "socks5.h"
#include "socks_addr.h"

#define GS_TIMEOUT_MS 10000
#define GS_EXIT_OTHER 1
#define GS_EXIT_METHOD 2
#define GS_EXIT_AUTH 3
#define GS_EXIT_LEVEL 4
#define GS_EXIT_REPLY 5
#define GS_EXIT_DATA 6
#define GS_RR_SIZE 100

struct gs_opts {
	struct sockaddr_storage proxy;
	socklen_t proxylen;
	uint8_t method;
	const char *service;
	const char *host;
	const char *ccache;
	uint8_t level;
	bool nec;
	bool quiet; /* rate: no per-session lines */
};

struct gs_conn {
	int fd;
	struct gss_ctx *ctx; /* NULL for method none */
	bool wrapped; /* level 1 or 2 */
	size_t plen, poff; /* unwrapped bytes in plain, and how many were handed out */
	struct gss_deframer df;
	uint8_t plain[GSS_FRAME_MAX];
	uint8_t out[GSS_FRAME_MAX];
};

static struct gs_opts gs_o = {
	.method = SOCKS5_METHOD_GSSAPI,
	.service = "rcmd",
	.host = "localhost",
	.level = GSS_LEVEL_CONFIDENTIALITY,
};

static void gs_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void gs_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)))
__attribute__((noreturn));

static void gs_say(const char *fmt, ...)
{
	va_list ap;

	if (gs_o.quiet)
		return;
	va_start(ap, fmt);
	fputs("client: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void gs_die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(code);
}

static double gs_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void gs_wait(int fd, short ev, int code, const char *what)
{
	struct pollfd p = {.fd = fd, .events = ev};
	int r;

	do {
		r = poll(&p, 1, GS_TIMEOUT_MS);
	} while (r < 0 && errno == EINTR);
	if (r <= 0)
		gs_die(code, "%s: %s", what, r == 0 ? "timed out" : strerror(errno));
}

static void gs_write(int fd, const void *p, size_t n, int code)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w;

		gs_wait(fd, POLLOUT, code, "send");
		w = send(fd, b, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			gs_die(code, "send: %s", strerror(errno));
		b += w;
		n -= (size_t)w;
	}
}

/* Read some bytes; 0 on EOF. */
static size_t gs_read(int fd, void *p, size_t cap, int code)
{
	ssize_t r;

	for (;;) {
		gs_wait(fd, POLLIN, code, "receive");
		r = recv(fd, p, cap, 0);
		if (r >= 0)
			return (size_t)r;
		if (errno != EINTR)
			gs_die(code, "receive: %s", strerror(errno));
	}
}

static void gs_read_full(int fd, void *p, size_t n, int code, const char *what)
{
	uint8_t *b = p;

	while (n > 0) {
		size_t r = gs_read(fd, b, n, code);

		if (r == 0)
			gs_die(code, "%s: connection closed by the gateway", what);
		b += r;
		n -= r;
	}
}

/* One whole RFC 1961 message of type mtyp; an abort exits with code. */
static void gs_recv_msg(struct gs_conn *c, uint8_t mtyp, struct gss_frame *f, int code,
			const char *what)
{
	c->df.mtyp = mtyp;
	for (;;) {
		enum codec_status st = gss_deframer_next(&c->df, f);
		size_t cap, n;
		uint8_t *space;

		if (st == CODEC_OK && f->mtyp == GSS_FRAME_ABORT)
			gs_die(code, "%s: the gateway aborted (01 ff)", what);
		if (st == CODEC_OK)
			return;
		if (st == CODEC_ERR)
			gs_die(code, "%s: malformed RFC 1961 message", what);
		space = gss_deframer_space(&c->df, &cap);
		n = gs_read(c->fd, space, cap, code);
		if (n == 0)
			gs_die(code, "%s: connection closed by the gateway", what);
		gss_deframer_commit(&c->df, n);
	}
}

/* ---- the stream after authentication (wrapped at levels 1 and 2) ---- */

static void gs_send(struct gs_conn *c, const void *p, size_t n)
{
	const uint8_t *b = p;
	struct gss_err err;
	size_t used, w;

	if (!c->wrapped) {
		gs_write(c->fd, p, n, GS_EXIT_DATA);
		return;
	}
	while (n > 0) {
		if (gss_wrap_stream(c->ctx, b, n, c->out, sizeof(c->out), &used, &w, &err) != 0)
			gs_die(GS_EXIT_DATA, "wrap: %s", err.msg);
		gs_write(c->fd, c->out, w, GS_EXIT_DATA);
		b += used;
		n -= used;
	}
}

/* Some plaintext bytes (at most cap); 0 on EOF. */
static size_t gs_recv(struct gs_conn *c, void *p, size_t cap, int code)
{
	struct gss_err err;
	struct gss_frame f;
	size_t n;

	if (!c->wrapped)
		return gs_read(c->fd, p, cap, code);
	while (c->poff == c->plen) {
		enum codec_status st;
		uint8_t *space;
		size_t room;

		c->df.mtyp = GSS_FRAME_DATA;
		st = gss_deframer_next(&c->df, &f);
		if (st == CODEC_OK && f.mtyp == GSS_FRAME_ABORT)
			gs_die(code, "the gateway aborted (01 ff)");
		if (st == CODEC_ERR)
			gs_die(code, "malformed RFC 1961 message from the gateway");
		if (st == CODEC_OK) {
			if (gss_unwrap_msg(c->ctx, f.token, f.len, c->plain, sizeof(c->plain),
					   &c->plen, &err) != 0)
				gs_die(code, "unwrap: %s", err.msg);
			c->poff = 0;
			continue;
		}
		space = gss_deframer_space(&c->df, &room);
		n = gs_read(c->fd, space, room, code);
		if (n == 0)
			return 0;
		gss_deframer_commit(&c->df, n);
	}
	n = c->plen - c->poff < cap ? c->plen - c->poff : cap;
	memcpy(p, c->plain + c->poff, n);
	c->poff += n;
	return n;
}

static void gs_recv_full(struct gs_conn *c, void *p, size_t n, const char *what)
{
	uint8_t *b = p;

	while (n > 0) {
		size_t r = gs_recv(c, b, n, GS_EXIT_DATA);

		if (r == 0)
			gs_die(GS_EXIT_DATA, "%s: connection closed by the gateway", what);
		b += r;
		n -= r;
	}
}

/* ---- handshake ---- */

static void gs_auth(struct gs_conn *c)
{
	struct gss_err err;
	struct gss_frame f;
	enum gss_step st;
	size_t n;
	uint8_t answered;
	bool bare;

	c->ctx = gss_cli_new(gs_o.service, gs_o.host, gs_o.ccache, &err);
	if (c->ctx == NULL)
		gs_die(GS_EXIT_AUTH, "%s", err.msg);
	st = gss_cli_step(c->ctx, NULL, 0, c->out, sizeof(c->out), &n, &err);
	for (unsigned round = 0; st != GSS_STEP_ERR; round++) {
		if (n > 0)
			gs_write(c->fd, c->out, n, GS_EXIT_AUTH);
		if (st == GSS_STEP_DONE)
			break;
		if (round > 8)
			gs_die(GS_EXIT_AUTH, "authentication: too many round trips");
		gs_recv_msg(c, GSS_FRAME_AUTH, &f, GS_EXIT_AUTH, "authentication");
		st = gss_cli_step(c->ctx, f.token, f.len, c->out, sizeof(c->out), &n, &err);
	}
	if (st == GSS_STEP_ERR)
		gs_die(GS_EXIT_AUTH, "%s", err.msg);
	gs_say("context established with %s", gss_ctx_peer(c->ctx));

	/* §4.3 */
	if (gss_level_build(c->ctx, gs_o.level, gs_o.nec, c->out, sizeof(c->out), &n, &err) != 0)
		gs_die(GS_EXIT_LEVEL, "level: %s", err.msg);
	gs_write(c->fd, c->out, n, GS_EXIT_LEVEL);
	gs_recv_msg(c, GSS_FRAME_LEVEL, &f, GS_EXIT_LEVEL, "protection level");
	if (gss_level_parse(c->ctx, f.token, f.len, gs_o.nec, &answered, &bare, &err) != 0)
		gs_die(GS_EXIT_LEVEL, "%s", err.msg);
	if (!gss_frame_level_acceptable(gs_o.level, answered))
		gs_die(GS_EXIT_LEVEL, "asked for %s, the gateway answered %s: unacceptable",
		       gss_frame_level_str(gs_o.level), gss_frame_level_str(answered));
	if (gss_ctx_set_level(c->ctx, answered, &err) != 0)
		gs_die(GS_EXIT_LEVEL, "%s", err.msg);
	c->wrapped = answered != GSS_LEVEL_NONE;
	gs_say("level %s (asked %s)%s", gss_frame_level_str(answered),
	       gss_frame_level_str(gs_o.level), bare ? ", unwrapped (NEC)" : "");
}

static int gs_parse_target(const char *s, struct socks_addr *a)
{
	const char *colon = strrchr(s, ':');
	char *end;
	unsigned long port;

	if (colon == NULL || colon == s)
		return -1;
	port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || port == 0 || port > 65535)
		return -1;
	if (socks_addr_set_name(a, s, (size_t)(colon - s)) > SOCKS_NAME_LITERAL)
		return -1;
	a->port = (uint16_t)port;
	return 0;
}

/* Greeting, method, authentication, request and reply.  bnd gets BND. */
static void gs_open(struct gs_conn *c, uint8_t cmd, const struct socks_addr *dst,
		    struct socks_addr *bnd)
{
	uint8_t buf[SOCKS5_REPLY_MAX], rep;
	size_t n, used, have = 0;
	char a[SOCKS_ADDR_STRLEN];

	memset(c, 0, offsetof(struct gs_conn, df));
	gss_deframer_init(&c->df, GSS_FRAME_AUTH);
	c->fd = socket(gs_o.proxy.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&gs_o.proxy, gs_o.proxylen) != 0)
		gs_die(GS_EXIT_OTHER, "connect to the gateway: %s", strerror(errno));
	n = socks5_build_greeting(buf, sizeof(buf), &gs_o.method, 1);
	gs_write(c->fd, buf, n, GS_EXIT_METHOD);
	gs_read_full(c->fd, buf, 2, GS_EXIT_METHOD, "method selection");
	if (buf[0] != SOCKS5_VERSION || buf[1] != gs_o.method)
		gs_die(GS_EXIT_METHOD, "method refused (the gateway answered %02x %02x)", buf[0],
		       buf[1]);
	if (gs_o.method == SOCKS5_METHOD_GSSAPI)
		gs_auth(c);
	n = socks5_build_request(buf, sizeof(buf), cmd, dst);
	gs_send(c, buf, n);
	/* §6: the reply is wrapped like everything else after the level. */
	for (;;) {
		enum codec_status st = socks5_parse_reply(buf, have, &rep, bnd, &used);

		if (st == CODEC_OK)
			break;
		if (st == CODEC_ERR)
			gs_die(GS_EXIT_REPLY, "malformed SOCKS5 reply");
		n = gs_recv(c, buf + have, 1, GS_EXIT_REPLY);
		if (n == 0)
			gs_die(GS_EXIT_REPLY, "connection closed before the SOCKS5 reply");
		have += n;
	}
	if (rep != SOCKS5_REP_SUCCEEDED)
		gs_die(GS_EXIT_REPLY, "SOCKS5 reply %u (%s)", rep, socks5_rep_str(rep));
	gs_say("reply succeeded, bound %s", socks_addr_format(bnd, a, sizeof(a)));
}

static void gs_close(struct gs_conn *c)
{
	close(c->fd);
	gss_ctx_free(c->ctx);
	c->ctx = NULL;
}

/* ---- modes ---- */

static void gs_echo_once(struct gs_conn *c, const char *text)
{
	size_t len = strlen(text);
	char *back = malloc(len + 1);

	if (back == NULL)
		gs_die(GS_EXIT_OTHER, "out of memory");
	gs_send(c, text, len);
	gs_recv_full(c, back, len, "echo");
	if (memcmp(back, text, len) != 0)
		gs_die(GS_EXIT_DATA, "echo differs");
	free(back);
}

static void gs_mode_echo(struct gs_conn *c, const struct socks_addr *dst, const char *text,
			 unsigned count)
{
	struct socks_addr bnd;

	gs_open(c, SOCKS5_CMD_CONNECT, dst, &bnd);
	for (unsigned i = 0; i < count; i++)
		gs_echo_once(c, text);
	gs_say("echo verified %u times", count);
	gs_close(c);
}

static void gs_mode_hold(struct gs_conn *c, const struct socks_addr *dst, const char *text,
			 unsigned secs)
{
	struct socks_addr bnd;

	gs_open(c, SOCKS5_CMD_CONNECT, dst, &bnd);
	gs_echo_once(c, text);
	sleep(secs);
	gs_echo_once(c, text);
	gs_say("echo verified before and after %u s", secs);
	gs_close(c);
}

static void gs_mode_http(struct gs_conn *c, const struct socks_addr *dst, const char *path)
{
	struct socks_addr bnd;
	char req[512], host[SOCKS_ADDR_STRLEN];
	static uint8_t buf[65536];
	size_t n, total = 0;
	bool body = false;
	unsigned state = 0;

	gs_open(c, SOCKS5_CMD_CONNECT, dst, &bnd);
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path,
		 socks_addr_format(dst, host, sizeof(host)));
	gs_send(c, req, strlen(req));
	while ((n = gs_recv(c, buf, sizeof(buf), GS_EXIT_DATA)) > 0) {
		size_t i = 0;

		/* Skip the header up to the blank line. */
		for (; !body && i < n; i++) {
			state = buf[i] == (state % 2 ? '\n' : '\r') ? state + 1 : buf[i] == '\r';
			body = state == 4;
		}
		if (body && i < n) {
			fwrite(buf + i, 1, n - i, stdout);
			total += n - i;
		}
	}
	fflush(stdout);
	gs_close(c);
	gs_say("http body %zu bytes", total);
}

static void gs_mode_read(struct gs_conn *c, const struct socks_addr *dst)
{
	static uint8_t buf[65536];
	struct socks_addr bnd;
	size_t n, total = 0;

	gs_open(c, SOCKS5_CMD_CONNECT, dst, &bnd);
	while ((n = gs_recv(c, buf, sizeof(buf), GS_EXIT_DATA)) > 0) {
		fwrite(buf, 1, n, stdout);
		total += n;
	}
	fflush(stdout);
	gs_close(c);
	gs_say("read %zu bytes, then EOF", total);
}

static void gs_mode_udp(struct gs_conn *c, const struct socks_addr *dst, const char *text,
			unsigned count)
{
	static uint8_t dg[GSS_FRAME_MAX], in[GSS_FRAME_MAX], plain[GSS_FRAME_MAX];
	struct socks_addr bnd, any = {.atyp = SOCKS_ATYP_IPV4};
	struct sockaddr_storage relay, local;
	socklen_t llen = sizeof(local);
	struct gss_err err;
	unsigned ok = 0;
	int u;

	/* §7: DST names where the datagrams will come from: the address
	 * family of the control connection, port 0 (not known yet). */
	if (gs_o.proxy.ss_family == AF_INET6)
		any.atyp = SOCKS_ATYP_IPV6;
	gs_open(c, SOCKS5_CMD_UDP_ASSOCIATE, &any, &bnd);
	if (socks_addr_to_sockaddr(&bnd, &relay) == 0)
		gs_die(GS_EXIT_REPLY, "UDP relay address is not a literal");
	u = socket(relay.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	getsockname(c->fd, (struct sockaddr *)&local, &llen);
	if (local.ss_family == AF_INET)
		((struct sockaddr_in *)&local)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&local)->sin6_port = 0;
	if (u < 0 || bind(u, (struct sockaddr *)&local, llen) != 0 ||
	    connect(u, (struct sockaddr *)&relay,
		    relay.ss_family == AF_INET ? sizeof(struct sockaddr_in)
					       : sizeof(struct sockaddr_in6)) != 0)
		gs_die(GS_EXIT_OTHER, "UDP socket: %s", strerror(errno));
	for (unsigned i = 0; i < count; i++) {
		char payload[256], want[300];
		size_t hl = socks5_build_udp_header(dg, sizeof(dg), dst), n, plen, k;
		struct socks_addr src;
		uint8_t frag;

		snprintf(payload, sizeof(payload), "%s %u", text, i);
		memcpy(dg + hl, payload, strlen(payload));
		n = hl + strlen(payload);
		if (c->wrapped) {
			/* §5: header and payload wrapped whole, one message */
			if (gss_wrap_msg(c->ctx, dg, n, in, sizeof(in), &n, &err) != 0)
				gs_die(GS_EXIT_DATA, "wrap datagram: %s", err.msg);
			memcpy(dg, in, n);
		}
		if (send(u, dg, n, 0) != (ssize_t)n)
			gs_die(GS_EXIT_DATA, "send datagram: %s", strerror(errno));
		struct pollfd p = {.fd = u, .events = POLLIN};

		if (poll(&p, 1, 2000) <= 0)
			continue; /* UDP: a loss is counted, not fatal */
		ssize_t r = recv(u, in, sizeof(in), 0);

		if (r <= 0)
			continue;
		plen = (size_t)r;
		uint8_t *d = in;

		if (c->wrapped) {
			if (gss_unwrap_dgram(c->ctx, in, plen, plain, sizeof(plain), &plen, &err) !=
			    0)
				gs_die(GS_EXIT_DATA, "unwrap datagram: %s", err.msg);
			d = plain;
		}
		if (socks5_parse_udp(d, plen, &frag, &src, &k) != CODEC_OK)
			gs_die(GS_EXIT_DATA, "malformed UDP reply header");
		snprintf(want, sizeof(want), "echo:%s", payload);
		if (plen - k == strlen(want) && memcmp(d + k, want, plen - k) == 0)
			ok++;
	}
	gs_say("datagrams: %u of %u echoes verified", ok, count);
	close(u);
	gs_close(c);
	if (ok != count)
		gs_die(GS_EXIT_DATA, "%u datagrams lost or wrong", count - ok);
}

static void gs_mode_bulk(struct gs_conn *c, const struct socks_addr *dst, unsigned long long bytes)
{
	static uint8_t buf[262144];
	struct socks_addr bnd;
	uint8_t hdr[9] = {'D'};
	unsigned long long got = 0;
	double t0;

	gs_open(c, SOCKS5_CMD_CONNECT, dst, &bnd);
	for (int i = 0; i < 8; i++)
		hdr[1 + i] = (uint8_t)(bytes >> (56 - 8 * i));
	t0 = gs_now();
	gs_send(c, hdr, sizeof(hdr));
	while (got < bytes) {
		size_t n = gs_recv(c, buf, sizeof(buf), GS_EXIT_DATA);

		if (n == 0)
			gs_die(GS_EXIT_DATA, "bulk: closed after %llu bytes", got);
		got += n;
	}
	double secs = gs_now() - t0;

	printf("result mode=bulk method=%s level=%s bytes=%llu secs=%.3f mbytes_s=%.1f\n",
	       gs_o.method == SOCKS5_METHOD_GSSAPI ? "gssapi" : "none",
	       c->ctx ? gss_frame_level_str(gss_ctx_level(c->ctx)) : "-", got, secs,
	       (double)got / secs / 1e6);
	gs_close(c);
}

static void gs_mode_rate(struct gs_conn *c, const struct socks_addr *dst, unsigned secs)
{
	uint8_t req[GS_RR_SIZE] = {'R'}, rep[GS_RR_SIZE];
	struct socks_addr bnd;
	double t0 = gs_now(), t;
	unsigned long n = 0;

	gs_o.quiet = true;
	do {
		gs_open(c, SOCKS5_CMD_CONNECT, dst, &bnd);
		gs_send(c, req, sizeof(req));
		gs_recv_full(c, rep, sizeof(rep), "request/reply");
		gs_close(c);
		n++;
		t = gs_now() - t0;
	} while (t < secs);
	printf("result mode=rate method=%s level=%u sessions=%lu secs=%.2f rate=%.1f\n",
	       gs_o.method == SOCKS5_METHOD_GSSAPI ? "gssapi" : "none", gs_o.level, n, t,
	       (double)n / t);
}

static int gs_parse_proxy(const char *s)
{
	char host[128];
	const char *colon = strrchr(s, ':');
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_STREAM}, *ai;
	size_t hl;

	if (colon == NULL)
		return -1;
	hl = (size_t)(colon - s);
	if (s[0] == '[' && hl >= 2 && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
		return -1;
	memcpy(&gs_o.proxy, ai->ai_addr, ai->ai_addrlen);
	gs_o.proxylen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static void gs_usage(void)
{
	fprintf(stderr,
		"usage: gss_socks -x PROXY [-m gssapi|none] [-s SERVICE] [-H HOST] "
		"[-c CCACHE] [-l LEVEL] [-n]\n"
		"       MODE TARGET ARGS...   (modes: echo http read hold udp bulk rate)\n");
	exit(GS_EXIT_OTHER);
}

int main(int argc, char **argv)
{
	static struct gs_conn conn;
	struct socks_addr dst;
	const char *mode;
	int ch;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((ch = getopt(argc, argv, "x:m:s:H:c:l:n")) != -1) {
		switch (ch) {
		case 'x':
			if (gs_parse_proxy(optarg) != 0)
				gs_usage();
			break;
		case 'm':
			gs_o.method = strcmp(optarg, "none") == 0 ? SOCKS5_METHOD_NONE
								  : SOCKS5_METHOD_GSSAPI;
			break;
		case 's':
			gs_o.service = optarg;
			break;
		case 'H':
			gs_o.host = optarg;
			break;
		case 'c':
			gs_o.ccache = optarg;
			break;
		case 'l':
			gs_o.level = (uint8_t)atoi(optarg);
			break;
		case 'n':
			gs_o.nec = true;
			break;
		default:
			gs_usage();
		}
	}
	if (gs_o.proxylen == 0 || argc - optind < 2 || gs_parse_target(argv[optind + 1], &dst) != 0)
		gs_usage();
	mode = argv[optind];
	argv += optind + 2;
	argc -= optind + 2;
	if (strcmp(mode, "read") == 0)
		gs_mode_read(&conn, &dst);
	else if (argc < 1)
		gs_usage();
	else if (strcmp(mode, "echo") == 0)
		gs_mode_echo(&conn, &dst, argv[0], argc > 1 ? (unsigned)atoi(argv[1]) : 1);
	else if (strcmp(mode, "http") == 0)
		gs_mode_http(&conn, &dst, argv[0]);
	else if (strcmp(mode, "hold") == 0 && argc > 1)
		gs_mode_hold(&conn, &dst, argv[0], (unsigned)atoi(argv[1]));
	else if (strcmp(mode, "udp") == 0 && argc > 1)
		gs_mode_udp(&conn, &dst, argv[0], (unsigned)atoi(argv[1]));
	else if (strcmp(mode, "bulk") == 0)
		gs_mode_bulk(&conn, &dst, strtoull(argv[0], NULL, 10));
	else if (strcmp(mode, "rate") == 0)
		gs_mode_rate(&conn, &dst, (unsigned)atoi(argv[0]));
	else
		gs_usage();
	if (strcmp(mode, "bulk") != 0 && strcmp(mode, "rate") != 0)
		fprintf(stderr, "result: ok\n");
	return 0;
}
