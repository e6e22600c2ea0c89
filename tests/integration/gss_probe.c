/* gss_probe — the whole RFC 1961 exchange between a client and a server
 * built from gateway/gss.c and gateway/gss_frame.c, in two processes over
 * a stream socketpair (the control connection) and a datagram socketpair
 * (UDP), against whatever realm the Kerberos environment names:
 *
 *   context establishment (mtyp 1) -> protection level (mtyp 2) ->
 *   a stream echoed both ways in wrapped chunks (mtyp 3) ->
 *   datagrams echoed both ways, each one wrapped message.
 *
 * The client can misbehave on request (flip a byte in a token, replay a
 * token, replay or reorder datagrams) to show the server catches it.  Each
 * side prints "client: ..." / "server: ..." lines; the exit status is 0
 * only when both sides finished cleanly.
 *
 *   gss_probe [--keytab PATH] [--acceptor SERVICE] [--service S] [--host H]
 *             [--ccache NAME] [--level N] [--grant none,integrity,...]
 *             [--downgrade] [--nec | --nec-client] [--bytes N] [--dgrams N] [--tamper K]
 *             [--replay K] [--dgram-replay K] [--dgram-reorder K]
 *             [--dgram-tamper K]
 * Tokens and datagrams are counted from 1. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gss.h"
#include "gss_frame.h"

#define PROBE_TIMEOUT_MS 10000
#define PROBE_MARKER "SOCKS64-CLEAR-MARKER"
#define PROBE_CHUNK_MAX 100000 /* one round trip stays inside socket buffers */

struct probe_opts {
	const char *keytab;
	const char *acceptor;
	const char *service;
	const char *host;
	const char *ccache;
	unsigned level;
	unsigned granted;
	bool downgrade;
	bool nec; /* client sends its level unwrapped */
	bool nec_srv; /* server accepts that */
	size_t bytes;
	unsigned dgrams;
	unsigned tamper;
	unsigned replay;
	unsigned dgram_replay;
	unsigned dgram_reorder;
	unsigned dgram_tamper;
};

struct probe_conn {
	const char *side;
	int fd; /* stream */
	int dfd; /* datagrams */
	struct gss_deframer *df;
	struct gss_ctx *ctx;
	unsigned read_turn; /* varies read sizes */
	unsigned tokens_out;
	unsigned tokens_in;
	unsigned marker_tokens; /* received tokens with the marker in clear */
};

static struct probe_opts probe_o = {
	.service = "rcmd",
	.host = "localhost",
	.level = GSS_LEVEL_CONFIDENTIALITY,
	.granted = GSS_LEVEL_BIT(GSS_LEVEL_INTEGRITY) | GSS_LEVEL_BIT(GSS_LEVEL_CONFIDENTIALITY),
	.bytes = 300000,
	.dgrams = 20,
};

static void probe_say(const struct probe_conn *pc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void probe_say(const struct probe_conn *pc, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n, m;

	n = snprintf(line, sizeof(line), "%s: ", pc->side);
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* one write per line so the two processes' lines never mix */
	if (write(STDOUT_FILENO, line, (size_t)n) < 0)
		return;
}

static int probe_wait(int fd, short ev)
{
	struct pollfd p = {.fd = fd, .events = ev};
	int r;

	do {
		r = poll(&p, 1, PROBE_TIMEOUT_MS);
	} while (r < 0 && errno == EINTR);
	if (r == 0)
		errno = ETIMEDOUT;
	return r > 0 ? 0 : -1;
}

/* Write everything, in pieces: 1 byte, then the rest of the header, then
 * the token — how Dante's messages arrive (header and token in separate
 * segments) and a test of every reader's NEED_MORE path. */
static int probe_send(struct probe_conn *pc, const uint8_t *p, size_t n)
{
	size_t off = 0, piece;
	ssize_t w;

	while (off < n) {
		piece = off == 0 ? 1 : off < GSS_FRAME_HDR_LEN ? GSS_FRAME_HDR_LEN - off : n - off;
		if (piece > n - off)
			piece = n - off;
		if (probe_wait(pc->fd, POLLOUT) != 0)
			return -1;
		w = write(pc->fd, p + off, piece);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

/* Read into the deframer until one whole message is there.  Read sizes
 * cycle through small and large to exercise partial messages. */
static int probe_recv(struct probe_conn *pc, uint8_t mtyp, struct gss_frame *f)
{
	static const size_t sizes[] = {1, 3, 5, 17, 1000, 65536};
	enum codec_status st;
	uint8_t *space;
	size_t cap, want;
	ssize_t r;

	pc->df->mtyp = mtyp;
	for (;;) {
		st = gss_deframer_next(pc->df, f);
		if (st == CODEC_OK)
			break;
		if (st == CODEC_ERR) {
			probe_say(pc, "error: malformed RFC 1961 message (expected mtyp %u)", mtyp);
			return -1;
		}
		space = gss_deframer_space(pc->df, &cap);
		want = sizes[pc->read_turn++ % (sizeof(sizes) / sizeof(sizes[0]))];
		if (want > cap)
			want = cap;
		if (probe_wait(pc->fd, POLLIN) != 0) {
			probe_say(pc, "error: waiting for mtyp %u: %s", mtyp, strerror(errno));
			return -1;
		}
		r = read(pc->fd, space, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			probe_say(pc, "error: connection closed while waiting for mtyp %u", mtyp);
			return -1;
		}
		gss_deframer_commit(pc->df, (size_t)r);
	}
	if (f->mtyp == GSS_FRAME_ABORT) {
		probe_say(pc, "error: peer aborted (01 ff)");
		return -1;
	}
	return 0;
}

/* The stream both sides expect: a fixed pattern with a marker every
 * 4 KiB, so a level-1 token shows it in clear and a level-2 token must not.
 * Never shorter than one token, as datagrams are cut from it too. */
static uint8_t *probe_pattern(size_t n)
{
	uint8_t *p;
	size_t mlen = strlen(PROBE_MARKER);

	if (n < GSS_FRAME_TOKEN_MAX)
		n = GSS_FRAME_TOKEN_MAX;
	p = malloc(n);
	if (p == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 131u) ^ (i >> 9));
	for (size_t i = 0; i + mlen <= n; i += 4096)
		memcpy(p + i, PROBE_MARKER, mlen);
	return p;
}

/* ---- client ---- */

static int probe_cli_establish(struct probe_conn *pc)
{
	static uint8_t out[GSS_FRAME_MAX];
	struct gss_err err = {{0}};
	struct gss_frame f;
	enum gss_step st;
	size_t n;
	uint8_t answered;
	bool bare;

	pc->ctx = gss_cli_new(probe_o.service, probe_o.host, probe_o.ccache, &err);
	if (pc->ctx == NULL) {
		probe_say(pc, "error: %s", err.msg);
		return -1;
	}
	st = gss_cli_step(pc->ctx, NULL, 0, out, sizeof(out), &n, &err);
	for (unsigned round = 0; st != GSS_STEP_ERR; round++) {
		if (n > 0 && probe_send(pc, out, n) != 0) {
			probe_say(pc, "error: send: %s", strerror(errno));
			return -1;
		}
		if (st == GSS_STEP_DONE)
			break;
		if (round > 8 || probe_recv(pc, GSS_FRAME_AUTH, &f) != 0)
			return -1;
		st = gss_cli_step(pc->ctx, f.token, f.len, out, sizeof(out), &n, &err);
	}
	if (st == GSS_STEP_ERR) {
		probe_say(pc, "error: %s", err.msg);
		return -1;
	}
	probe_say(pc, "context established with %s", gss_ctx_peer(pc->ctx));

	if (gss_level_build(pc->ctx, (uint8_t)probe_o.level, probe_o.nec, out, sizeof(out), &n,
			    &err) != 0 ||
	    probe_send(pc, out, n) != 0) {
		probe_say(pc, "error: level: %s", err.msg);
		return -1;
	}
	if (probe_recv(pc, GSS_FRAME_LEVEL, &f) != 0)
		return -1;
	if (gss_level_parse(pc->ctx, f.token, f.len, probe_o.nec, &answered, &bare, &err) != 0) {
		probe_say(pc, "error: %s", err.msg);
		return -1;
	}
	if (!gss_frame_level_acceptable((uint8_t)probe_o.level, answered)) {
		probe_say(pc, "error: asked for %s, server answered %s: unacceptable",
			  gss_frame_level_str((uint8_t)probe_o.level),
			  gss_frame_level_str(answered));
		return -1;
	}
	if (gss_ctx_set_level(pc->ctx, answered, &err) != 0) {
		probe_say(pc, "error: %s", err.msg);
		return -1;
	}
	probe_say(pc, "level %s (asked %s)%s, %zu bytes per token", gss_frame_level_str(answered),
		  gss_frame_level_str((uint8_t)probe_o.level), bare ? ", unwrapped (NEC)" : "",
		  gss_ctx_max_plain(pc->ctx));
	return 0;
}

/* Send one chunk of the stream as wrapped messages, misbehaving on
 * request; frames go one by one so a replayed one can be repeated. */
static int probe_cli_send_chunk(struct probe_conn *pc, const uint8_t *p, size_t n)
{
	static uint8_t out[GSS_FRAME_MAX];
	struct gss_err err = {{0}};
	size_t used = 0, consumed, w, max = gss_ctx_max_plain(pc->ctx);

	if (gss_ctx_level(pc->ctx) == GSS_LEVEL_NONE)
		return probe_send(pc, p, n);
	while (used < n) {
		size_t take = n - used < max ? n - used : max;

		/* out holds exactly one message, so the stream helper makes
		 * one token per call here */
		if (gss_wrap_stream(pc->ctx, p + used, take, out, GSS_FRAME_HDR_LEN + 65535,
				    &consumed, &w, &err) != 0 ||
		    consumed == 0) {
			probe_say(pc, "error: wrap: %s", err.msg);
			return -1;
		}
		used += consumed;
		pc->tokens_out++;
		if (pc->tokens_out == probe_o.tamper) {
			out[GSS_FRAME_HDR_LEN + (w - GSS_FRAME_HDR_LEN) / 2] ^= 0x01;
			probe_say(pc, "flipped a byte in token %u", pc->tokens_out);
		}
		if (probe_send(pc, out, w) != 0)
			return -1;
		if (pc->tokens_out == probe_o.replay) {
			probe_say(pc, "sent token %u twice", pc->tokens_out);
			if (probe_send(pc, out, w) != 0)
				return -1;
		}
	}
	return 0;
}

/* Read n bytes of echo (unwrapped) into p. */
static int probe_recv_plain(struct probe_conn *pc, uint8_t *p, size_t n)
{
	static uint8_t plain[GSS_FRAME_MAX];
	struct gss_err err = {{0}};
	struct gss_frame f;
	size_t got = 0, k;
	ssize_t r;

	while (got < n) {
		if (gss_ctx_level(pc->ctx) == GSS_LEVEL_NONE) {
			if (probe_wait(pc->fd, POLLIN) != 0)
				return -1;
			r = read(pc->fd, p + got, n - got);
			if (r <= 0) {
				probe_say(pc, "error: stream: connection closed");
				return -1;
			}
			got += (size_t)r;
			continue;
		}
		if (probe_recv(pc, GSS_FRAME_DATA, &f) != 0)
			return -1;
		pc->tokens_in++;
		if (memmem(f.token, f.len, PROBE_MARKER, strlen(PROBE_MARKER)) != NULL)
			pc->marker_tokens++;
		if (gss_unwrap_msg(pc->ctx, f.token, f.len, plain, sizeof(plain), &k, &err) != 0) {
			probe_say(pc, "error: stream: %s", err.msg);
			return -1;
		}
		if (k > n - got) {
			probe_say(pc, "error: stream: %zu bytes more than expected", k - (n - got));
			return -1;
		}
		memcpy(p + got, plain, k);
		got += k;
	}
	return 0;
}

static int probe_cli_stream(struct probe_conn *pc, const uint8_t *pat)
{
	static const size_t sizes[] = {1, 3, 500, 4096, 65536, 70000, PROBE_CHUNK_MAX};
	uint8_t *echo = malloc(PROBE_CHUNK_MAX);
	size_t off = 0, n;
	unsigned turn = 0;
	int rc = -1;

	if (echo == NULL)
		return -1;
	while (off < probe_o.bytes) {
		n = sizes[turn++ % (sizeof(sizes) / sizeof(sizes[0]))];
		if (n > probe_o.bytes - off)
			n = probe_o.bytes - off;
		if (probe_cli_send_chunk(pc, pat + off, n) != 0 ||
		    probe_recv_plain(pc, echo, n) != 0)
			goto out;
		if (memcmp(echo, pat + off, n) != 0) {
			probe_say(pc, "error: stream: echo differs at offset %zu", off);
			goto out;
		}
		off += n;
	}
	probe_say(pc, "stream %zu bytes echoed, %u tokens out, %u in", off, pc->tokens_out,
		  pc->tokens_in);
	rc = 0;
out:
	free(echo);
	return rc;
}

static int probe_dgram_send(struct probe_conn *pc, const uint8_t *p, size_t n)
{
	if (probe_wait(pc->dfd, POLLOUT) != 0 || send(pc->dfd, p, n, 0) != (ssize_t)n) {
		probe_say(pc, "error: datagram send: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Receive one datagram; *len 0 and return 1 on timeout. */
static int probe_dgram_recv(struct probe_conn *pc, uint8_t *p, size_t cap, size_t *len)
{
	ssize_t r;

	*len = 0;
	if (probe_wait(pc->dfd, POLLIN) != 0)
		return 1;
	r = recv(pc->dfd, p, cap, 0);
	if (r < 0)
		return -1;
	*len = (size_t)r;
	return 0;
}

/* Datagram i: "dgram <i>" then pattern bytes; sizes vary up to the token
 * limit. */
static size_t probe_dgram_payload(const struct probe_conn *pc, unsigned i, const uint8_t *pat,
				  uint8_t *p)
{
	size_t n = 16 + (size_t)i * 97 % 1400;

	if (i == 3)
		n = gss_ctx_max_plain(pc->ctx); /* the largest that fits */
	memcpy(p, pat, n);
	snprintf((char *)p, 16, "dgram %u", i);
	return n;
}

static int probe_cli_dgrams(struct probe_conn *pc, const uint8_t *pat)
{
	static uint8_t pl[GSS_FRAME_MAX], w1[GSS_FRAME_MAX], w2[GSS_FRAME_MAX], in[GSS_FRAME_MAX],
		plain[GSS_FRAME_MAX], want[GSS_FRAME_MAX];
	struct gss_err err = {{0}};
	size_t n1, n2, len, k, wl;
	unsigned i = 1, echoes = 0;

	while (i <= probe_o.dgrams) {
		unsigned batch = 1;

		n1 = probe_dgram_payload(pc, i, pat, pl);
		if (gss_wrap_msg(pc->ctx, pl, n1, w1, sizeof(w1), &n1, &err) != 0) {
			probe_say(pc, "error: datagram wrap: %s", err.msg);
			return -1;
		}
		if (i == probe_o.dgram_tamper) {
			w1[n1 - 1] ^= 0x80;
			probe_say(pc, "flipped a byte in datagram %u", i);
		}
		if (i == probe_o.dgram_reorder && i < probe_o.dgrams) {
			/* wrap i+1 now and send it first */
			n2 = probe_dgram_payload(pc, i + 1, pat, pl);
			if (gss_wrap_msg(pc->ctx, pl, n2, w2, sizeof(w2), &n2, &err) != 0) {
				probe_say(pc, "error: datagram wrap: %s", err.msg);
				return -1;
			}
			if (probe_dgram_send(pc, w2, n2) != 0)
				return -1;
			probe_say(pc, "sent datagram %u before %u", i + 1, i);
			batch = 2;
		}
		if (probe_dgram_send(pc, w1, n1) != 0)
			return -1;
		if (i == probe_o.dgram_replay) {
			probe_say(pc, "sent datagram %u twice", i);
			if (probe_dgram_send(pc, w1, n1) != 0)
				return -1;
		}
		if (i == probe_o.dgram_tamper)
			batch = 0; /* the server drops it: no echo */
		for (unsigned b = 0; b < batch; b++) {
			int r = probe_dgram_recv(pc, in, sizeof(in), &len);

			if (r != 0) {
				probe_say(pc, "error: no echo for datagram %u", i);
				return -1;
			}
			r = gss_unwrap_dgram(pc->ctx, in, len, plain, sizeof(plain), &k, &err);
			if (r != 0) {
				probe_say(pc, "error: datagram echo: %s", err.msg);
				return -1;
			}
			/* echoes come back in the order the server got them */
			wl = probe_dgram_payload(pc, batch == 2 ? (b == 0 ? i + 1 : i) : i, pat,
						 want);
			if (k != wl || memcmp(plain, want, k) != 0) {
				probe_say(pc, "error: datagram echo %u differs", i);
				return -1;
			}
			echoes++;
		}
		i += batch == 2 ? 2 : 1;
	}
	probe_say(pc, "datagrams: %u echoes verified", echoes);
	return 0;
}

static int probe_client(struct probe_conn *pc)
{
	uint8_t *pat = probe_pattern(probe_o.bytes);

	if (pat == NULL || probe_cli_establish(pc) != 0)
		goto fail;
	if (probe_o.bytes > 0 && probe_cli_stream(pc, pat) != 0)
		goto fail;
	if (gss_ctx_level(pc->ctx) != GSS_LEVEL_NONE && probe_o.dgrams > 0 &&
	    probe_cli_dgrams(pc, pat) != 0)
		goto fail;
	probe_say(pc, "done");
	free(pat);
	return 0;
fail:
	free(pat);
	return 1;
}

/* ---- server ---- */

static int probe_srv_establish(struct probe_conn *pc, struct gss_acceptor *acc)
{
	static uint8_t out[GSS_FRAME_MAX];
	struct gss_err err = {{0}};
	struct gss_frame f;
	enum gss_step st = GSS_STEP_CONTINUE;
	size_t n;
	uint8_t asked;
	bool bare;
	int chosen;

	pc->ctx = gss_srv_new(acc);
	if (pc->ctx == NULL)
		return -1;
	for (unsigned round = 0; st == GSS_STEP_CONTINUE; round++) {
		if (round > 8 || probe_recv(pc, GSS_FRAME_AUTH, &f) != 0)
			return -1;
		st = gss_srv_step(pc->ctx, f.token, f.len, out, sizeof(out), &n, &err);
		if (n > 0 && probe_send(pc, out, n) != 0)
			return -1;
	}
	if (st == GSS_STEP_ERR) {
		probe_say(pc, "error: %s (abort sent)", err.msg);
		return -1;
	}
	probe_say(pc, "context established with %s", gss_ctx_peer(pc->ctx));

	if (probe_recv(pc, GSS_FRAME_LEVEL, &f) != 0)
		return -1;
	if (gss_level_parse(pc->ctx, f.token, f.len, probe_o.nec_srv, &asked, &bare, &err) != 0) {
		probe_say(pc, "error: %s", err.msg);
		goto abort;
	}
	chosen = gss_frame_level_choose(probe_o.granted & gss_ctx_levels(pc->ctx), asked,
					probe_o.downgrade);
	if (chosen < 0) {
		probe_say(pc, "error: client asked for level %u (%s), not granted (abort sent)",
			  asked, gss_frame_level_str(asked));
		goto abort;
	}
	if (gss_level_build(pc->ctx, (uint8_t)chosen, bare, out, sizeof(out), &n, &err) != 0 ||
	    gss_ctx_set_level(pc->ctx, (uint8_t)chosen, &err) != 0) {
		probe_say(pc, "error: %s", err.msg);
		goto abort;
	}
	if (probe_send(pc, out, n) != 0)
		return -1;
	probe_say(pc, "level %s (asked %s)%s", gss_frame_level_str((uint8_t)chosen),
		  gss_frame_level_str(asked), bare ? ", unwrapped (NEC)" : "");
	return 0;
abort:
	n = gss_frame_build_abort(out, sizeof(out));
	probe_send(pc, out, n);
	return -1;
}

/* Echo the stream: every token unwrapped, checked against the pattern and
 * wrapped back (one token per token received). */
static int probe_srv_stream(struct probe_conn *pc, const uint8_t *pat)
{
	static uint8_t plain[GSS_FRAME_MAX], out[GSS_FRAME_MAX];
	struct gss_err err = {{0}};
	struct gss_frame f;
	size_t off = 0, k, used, w;
	ssize_t r;

	while (off < probe_o.bytes) {
		if (gss_ctx_level(pc->ctx) == GSS_LEVEL_NONE) {
			if (probe_wait(pc->fd, POLLIN) != 0)
				return -1;
			r = read(pc->fd, plain,
				 probe_o.bytes - off < 65536 ? probe_o.bytes - off : 65536);
			if (r <= 0) {
				probe_say(pc, "error: stream: connection closed at %zu", off);
				return -1;
			}
			k = (size_t)r;
		} else {
			if (probe_recv(pc, GSS_FRAME_DATA, &f) != 0)
				return -1;
			pc->tokens_in++;
			if (memmem(f.token, f.len, PROBE_MARKER, strlen(PROBE_MARKER)) != NULL)
				pc->marker_tokens++;
			if (gss_unwrap_msg(pc->ctx, f.token, f.len, plain, sizeof(plain), &k,
					   &err) != 0) {
				probe_say(pc, "error: stream: token %u: %s", pc->tokens_in,
					  err.msg);
				return -1;
			}
		}
		if (k > probe_o.bytes - off || memcmp(plain, pat + off, k) != 0) {
			probe_say(pc, "error: stream: data differs at offset %zu", off);
			return -1;
		}
		off += k;
		if (gss_ctx_level(pc->ctx) == GSS_LEVEL_NONE) {
			if (probe_send(pc, plain, k) != 0)
				return -1;
			continue;
		}
		if (gss_wrap_stream(pc->ctx, plain, k, out, sizeof(out), &used, &w, &err) != 0 ||
		    used != k || probe_send(pc, out, w) != 0) {
			probe_say(pc, "error: stream: echo: %s", err.msg);
			return -1;
		}
		pc->tokens_out++;
	}
	probe_say(pc, "stream %zu bytes verified, %u tokens in, marker in clear in %u", off,
		  pc->tokens_in, pc->marker_tokens);
	return 0;
}

static int probe_srv_dgrams(struct probe_conn *pc, const uint8_t *pat)
{
	static uint8_t in[GSS_FRAME_MAX + 16], plain[GSS_FRAME_MAX], out[GSS_FRAME_MAX];
	struct gss_err err = {{0}};
	unsigned accepted = 0, dropped = 0, rejected = 0;
	unsigned want = probe_o.dgrams - (probe_o.dgram_tamper ? 1 : 0);
	size_t len, k, w;
	unsigned id;
	int r;

	(void)pat;
	while (accepted < want) {
		if (probe_dgram_recv(pc, in, sizeof(in), &len) != 0) {
			probe_say(pc, "error: datagrams: only %u of %u arrived", accepted, want);
			return -1;
		}
		r = gss_unwrap_dgram(pc->ctx, in, len, plain, sizeof(plain), &k, &err);
		if (r == 1) {
			dropped++;
			probe_say(pc, "dropped a datagram: %s", err.msg);
			continue;
		}
		if (r < 0) {
			rejected++;
			probe_say(pc, "rejected a datagram: %s", err.msg);
			continue;
		}
		if (k < 16 || sscanf((const char *)plain, "dgram %u", &id) != 1) {
			probe_say(pc, "error: datagram content");
			return -1;
		}
		accepted++;
		if (gss_wrap_msg(pc->ctx, plain, k, out, sizeof(out), &w, &err) != 0 ||
		    probe_dgram_send(pc, out, w) != 0) {
			probe_say(pc, "error: datagram echo: %s", err.msg);
			return -1;
		}
	}
	probe_say(pc, "datagrams: %u accepted, %u dropped as replays, %u rejected", accepted,
		  dropped, rejected);
	return 0;
}

static int probe_server(struct probe_conn *pc)
{
	struct gss_err err = {{0}};
	struct gss_acceptor *acc;
	uint8_t *pat = probe_pattern(probe_o.bytes);
	int rc = 1;

	acc = gss_acceptor_new(probe_o.keytab, probe_o.acceptor, &err);
	if (acc == NULL) {
		probe_say(pc, "error: %s", err.msg);
		free(pat);
		return 1;
	}
	probe_say(pc, "accepting %s", gss_acceptor_desc(acc));
	if (pat == NULL || probe_srv_establish(pc, acc) != 0)
		goto out;
	if (probe_o.bytes > 0 && probe_srv_stream(pc, pat) != 0)
		goto out;
	if (gss_ctx_level(pc->ctx) != GSS_LEVEL_NONE && probe_o.dgrams > 0 &&
	    probe_srv_dgrams(pc, pat) != 0)
		goto out;
	probe_say(pc, "done");
	rc = 0;
out:
	gss_ctx_free(pc->ctx);
	pc->ctx = NULL;
	gss_acceptor_free(acc);
	free(pat);
	return rc;
}

/* ---- main ---- */

static int probe_parse_levels(const char *s, unsigned *mask)
{
	char *copy = strdup(s), *save = NULL, *w;

	*mask = 0;
	if (copy == NULL)
		return -1;
	for (w = strtok_r(copy, ",", &save); w != NULL; w = strtok_r(NULL, ",", &save)) {
		if (strcmp(w, "none") == 0)
			*mask |= GSS_LEVEL_BIT(GSS_LEVEL_NONE);
		else if (strcmp(w, "integrity") == 0)
			*mask |= GSS_LEVEL_BIT(GSS_LEVEL_INTEGRITY);
		else if (strcmp(w, "confidentiality") == 0)
			*mask |= GSS_LEVEL_BIT(GSS_LEVEL_CONFIDENTIALITY);
		else {
			free(copy);
			return -1;
		}
	}
	free(copy);
	return 0;
}

static void probe_usage(void)
{
	fprintf(stderr, "usage: gss_probe [--keytab PATH] [--acceptor SERVICE] [--service S] "
			"[--host H] [--ccache NAME] [--level N] [--grant LIST] [--downgrade] "
			"[--nec | --nec-client] [--bytes N] [--dgrams N] [--tamper K] [--replay K] "
			"[--dgram-replay K] [--dgram-reorder K] [--dgram-tamper K]\n");
	exit(2);
}

static void probe_opts_parse(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"keytab", required_argument, NULL, 'k'},
		{"acceptor", required_argument, NULL, 'a'},
		{"service", required_argument, NULL, 's'},
		{"host", required_argument, NULL, 'H'},
		{"ccache", required_argument, NULL, 'c'},
		{"level", required_argument, NULL, 'l'},
		{"grant", required_argument, NULL, 'g'},
		{"downgrade", no_argument, NULL, 'd'},
		{"nec", no_argument, NULL, 'n'},
		{"nec-client", no_argument, NULL, 'N'},
		{"bytes", required_argument, NULL, 'b'},
		{"dgrams", required_argument, NULL, 'D'},
		{"tamper", required_argument, NULL, 't'},
		{"replay", required_argument, NULL, 'r'},
		{"dgram-replay", required_argument, NULL, 'R'},
		{"dgram-reorder", required_argument, NULL, 'O'},
		{"dgram-tamper", required_argument, NULL, 'T'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			probe_o.keytab = optarg;
			break;
		case 'a':
			probe_o.acceptor = optarg;
			break;
		case 's':
			probe_o.service = optarg;
			break;
		case 'H':
			probe_o.host = optarg;
			break;
		case 'c':
			probe_o.ccache = optarg;
			break;
		case 'l':
			probe_o.level = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'g':
			if (probe_parse_levels(optarg, &probe_o.granted) != 0)
				probe_usage();
			break;
		case 'd':
			probe_o.downgrade = true;
			break;
		case 'n':
			probe_o.nec = true;
			probe_o.nec_srv = true;
			break;
		case 'N':
			probe_o.nec = true;
			break;
		case 'b':
			probe_o.bytes = strtoul(optarg, NULL, 10);
			break;
		case 'D':
			probe_o.dgrams = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 't':
			probe_o.tamper = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'r':
			probe_o.replay = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'R':
			probe_o.dgram_replay = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'O':
			probe_o.dgram_reorder = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'T':
			probe_o.dgram_tamper = (unsigned)strtoul(optarg, NULL, 10);
			break;
		default:
			probe_usage();
		}
	}
	if (optind != argc || probe_o.level > 255)
		probe_usage();
}

int main(int argc, char **argv)
{
	int sv[2], dv[2], status = 0, rc;
	struct gss_deframer *df;
	struct probe_conn pc = {0};
	pid_t pid;

	probe_opts_parse(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	df = malloc(sizeof(*df));
	if (df == NULL || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 ||
	    socketpair(AF_UNIX, SOCK_DGRAM, 0, dv) != 0) {
		perror("gss_probe: setup");
		return 1;
	}
	gss_deframer_init(df, GSS_FRAME_AUTH);
	pc.df = df;
	pid = fork();
	if (pid < 0) {
		perror("gss_probe: fork");
		return 1;
	}
	if (pid == 0) {
		alarm(60);
		close(sv[0]);
		close(dv[0]);
		pc.side = "client";
		pc.fd = sv[1];
		pc.dfd = dv[1];
		rc = probe_client(&pc);
		gss_ctx_free(pc.ctx);
		free(df);
		_exit(rc);
	}
	alarm(90);
	close(sv[1]);
	close(dv[1]);
	pc.side = "server";
	pc.fd = sv[0];
	pc.dfd = dv[0];
	rc = probe_server(&pc);
	/* closing ends a client still waiting for us */
	close(sv[0]);
	close(dv[0]);
	free(df);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		rc = 1;
	printf("result: %s\n", rc == 0 ? "ok" : "failed");
	return rc;
}
