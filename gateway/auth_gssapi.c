/* auth_gssapi — RFC 1961 on the gateway's side of a session; see
 * auth_gssapi.h.  Every GSS-API call goes through gss.c; every byte of the
 * RFC 1961 framing through gss_frame.c.  The client's bytes are collected
 * in a deframer (one whole message of up to 64 KiB in contiguous memory,
 * as gss_unwrap needs), held only while a message is incomplete once the
 * session is relaying, so an idle protected session holds none. */
#include "auth_gssapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "gss.h"
#include "gss_frame.h"
#include "log.h"
#include "session_priv.h"

/* A protection-level message is one wrapped octet (§4.3): anything near
 * this long is not one, and is refused as soon as its header is in. */
#define AUTH_GSS_LEVEL_TOKEN_MAX 1024

struct auth_gss {
	struct relay_xform xf; /* the client side's transform at levels 1 and 2 */
	struct session *s;
	struct gss_ctx *ctx;
	struct gss_deframer *df; /* the client's bytes; NULL while none are held */
	uint8_t *out; /* handshake messages to the client (GSS_FRAME_MAX) */
	size_t outlen, outoff;
	uint8_t level; /* agreed protection level */
	bool level_done; /* level answered: enter the next phase once sent */
	bool bad_dgram_logged;
	struct gss_err err; /* the last failure, for the log and the close reason */
};

static const struct relay_xform_ops auth_gss_xform_ops;

static struct auth_gss *auth_gss_of(struct relay_xform *x)
{
	return container_of(x, struct auth_gss, xf);
}

static struct gss_deframer *auth_gss_deframer(struct auth_gss *a, uint8_t mtyp)
{
	if (a->df == NULL) {
		a->df = malloc(sizeof(*a->df));
		if (a->df == NULL)
			return NULL;
		gss_deframer_init(a->df, mtyp);
	}
	a->df->mtyp = mtyp;
	return a->df;
}

static void auth_gss_drop_deframer(struct auth_gss *a)
{
	free(a->df);
	a->df = NULL;
}

/* Refuse: one log line naming the client and why, the abort (§3.8, §4.3),
 * close once it is written. */
static void auth_gss_refuse(struct session *s, const char *what)
{
	struct auth_gss *a = s->gss;
	char client[SOCKS_ADDR_STRLEN];
	uint8_t abort_msg[GSS_FRAME_ABORT_LEN];
	size_t n = gss_frame_build_abort(abort_msg, sizeof(abort_msg));

	log_msg(LOG_LVL_WARN, "session=%llu GSSAPI %s%s%s from %s refused: %s",
		(unsigned long long)s->id, what, s->user ? " of " : "", s->user ? s->user : "",
		sockaddr_format(&s->client.sa, client, sizeof(client)), a->err.msg);
	session_send_close(s, abort_msg, n, "denied", a->err.msg);
}

void auth_gss_start(struct session *s, const uint8_t *early, size_t len)
{
	struct auth_gss *a = calloc(1, sizeof(*a));

	if (a == NULL)
		goto nomem;
	s->gss = a;
	a->s = s;
	a->xf.ops = &auth_gss_xform_ops;
	/* Borrows the snapshot's acceptor, which the session's reference
	 * keeps alive (a reload builds a new one beside it). */
	a->ctx = gss_srv_new(s->conf->gss);
	a->out = malloc(GSS_FRAME_MAX);
	if (a->ctx == NULL || a->out == NULL || auth_gss_deframer(a, GSS_FRAME_AUTH) == NULL)
		goto nomem;
	/* At most the 1 KiB handshake buffer: always fits. */
	gss_deframer_feed(a->df, early, len);
	s->state = SS_GSS_AUTH;
	return;
nomem:
	session_close(s, "error", "out of memory");
}

/* Send what the handshake queued: 0 when done, 1 waiting, -1 closed. */
static int auth_gss_flush(struct session *s)
{
	struct auth_gss *a = s->gss;
	int r;

	if (a->outoff == a->outlen)
		return 0;
	r = session_send(s, a->out, a->outlen, &a->outoff);
	if (r == 0)
		a->outoff = a->outlen = 0;
	return r;
}

/* Read into the deframer: 1 bytes added, 0 none waiting, -1 closed. */
static int auth_gss_fill(struct session *s)
{
	struct auth_gss *a = s->gss;
	size_t cap, n;
	uint8_t *p = gss_deframer_space(a->df, &cap);
	int r;

	if (cap == 0) {
		/* Never with a well-formed stream: a whole message always fits. */
		session_close(s, "bad-request", "RFC 1961 message buffer full");
		return -1;
	}
	r = session_recv(s, p, cap, &n);
	if (r > 0)
		gss_deframer_commit(a->df, n);
	return r;
}

/* §4.3: a level message is one wrapped octet.  A longer one is refused as
 * soon as its header is in rather than waited for (up to 64 KiB). */
static bool auth_gss_level_too_long(const struct gss_deframer *d)
{
	size_t n = gss_deframer_pending(d), used;
	struct gss_frame f;

	return n >= GSS_FRAME_HDR_LEN && d->buf[d->off + 1] == GSS_FRAME_LEVEL &&
	       gss_frame_parse(d->buf + d->off, n, AUTH_GSS_LEVEL_TOKEN_MAX, &f, &used) ==
		       CODEC_ERR;
}

/* The next whole message of the expected type: 1 (in *f), 0 waiting, -1
 * the session was closed (the client aborted, malformed input, EOF). */
static int auth_gss_next(struct session *s, struct gss_frame *f)
{
	struct auth_gss *a = s->gss;

	/* Bounded: each pass reads or returns; a read that adds bytes is
	 * followed by a parse, and the buffer only holds one message. */
	for (;;) {
		enum codec_status st;

		if (a->df->mtyp == GSS_FRAME_LEVEL && auth_gss_level_too_long(a->df)) {
			snprintf(a->err.msg, sizeof(a->err.msg),
				 "protection-level message longer than %d bytes",
				 AUTH_GSS_LEVEL_TOKEN_MAX);
			auth_gss_refuse(s, "level");
			return -1;
		}
		st = gss_deframer_next(a->df, f);
		if (st == CODEC_OK && f->mtyp == GSS_FRAME_ABORT) {
			/* §3.8 (and §4.3 for the client's refusal of a level). */
			session_close(s, "closed", "client aborted GSSAPI (01 ff)");
			return -1;
		}
		if (st == CODEC_OK)
			return 1;
		if (st == CODEC_ERR) {
			snprintf(a->err.msg, sizeof(a->err.msg),
				 "not an RFC 1961 message of type %u (version or type byte wrong)",
				 a->df->mtyp);
			auth_gss_refuse(s,
					a->df->mtyp == GSS_FRAME_AUTH ? "authentication" : "level");
			return -1;
		}
		int r = auth_gss_fill(s);

		if (r <= 0)
			return r;
	}
}

/* §3: one client token in, the answer (or the abort) queued. */
static void auth_gss_step(struct session *s, const struct gss_frame *f)
{
	struct auth_gss *a = s->gss;
	const char *why;

	switch (gss_srv_step(a->ctx, f->token, f->len, a->out, GSS_FRAME_MAX, &a->outlen,
			     &a->err)) {
	case GSS_STEP_CONTINUE:
		return;
	case GSS_STEP_DONE:
		break;
	case GSS_STEP_ERR:
	default:
		a->outlen = 0;
		auth_gss_refuse(s, "authentication");
		return;
	}
	/* The principal is the session's user: rules (`user`) and the log. */
	if (session_login(s, gss_ctx_peer(a->ctx), &why) < 0) {
		a->outlen = 0;
		snprintf(a->err.msg, sizeof(a->err.msg), "%s", why);
		auth_gss_refuse(s, "login");
		return;
	}
	log_debug("session=%llu GSSAPI context established with %s (%s)", (unsigned long long)s->id,
		  s->user, gss_acceptor_desc(s->conf->gss));
	s->state = SS_GSS_LEVEL;
	a->df->mtyp = GSS_FRAME_LEVEL;
}

static void auth_gss_levels_str(unsigned levels, char *out, size_t cap)
{
	size_t off = 0;

	out[0] = '\0';
	for (uint8_t l = GSS_LEVEL_NONE; l <= GSS_LEVEL_CONFIDENTIALITY; l++) {
		if ((levels & GSS_LEVEL_BIT(l)) && off < cap)
			off += (size_t)snprintf(out + off, cap - off, "%s%s", off ? " " : "",
						gss_frame_level_str(l));
	}
	if (off == 0)
		snprintf(out, cap, "nothing");
}

/* §4.3: the client's level in, the server's answer queued, in the form the
 * client used (wrapped, or bare with gssapi-nec). */
static void auth_gss_level(struct session *s, const struct gss_frame *f)
{
	struct auth_gss *a = s->gss;
	unsigned granted = s->conf->gssapi_levels & gss_ctx_levels(a->ctx);
	char list[64];
	uint8_t asked;
	bool bare;
	int chosen;

	if (gss_level_parse(a->ctx, f->token, f->len, s->conf->gssapi_nec, &asked, &bare, &a->err) <
	    0) {
		auth_gss_refuse(s, "level");
		return;
	}
	/* Echo a granted level; a stronger one for 1; never upgrade 0 (the
	 * client would then talk cleartext into a protected stream) nor
	 * downgrade 2. */
	chosen = gss_frame_level_choose(granted, asked, false);
	if (chosen < 0) {
		auth_gss_levels_str(granted, list, sizeof(list));
		snprintf(a->err.msg, sizeof(a->err.msg),
			 "client asked for level %u (%s), granted: %s (gssapi-protection)", asked,
			 gss_frame_level_str(asked), list);
		auth_gss_refuse(s, "level");
		return;
	}
	if (gss_level_build(a->ctx, (uint8_t)chosen, bare, a->out, GSS_FRAME_MAX, &a->outlen,
			    &a->err) < 0 ||
	    gss_ctx_set_level(a->ctx, (uint8_t)chosen, &a->err) < 0) {
		a->outlen = 0;
		auth_gss_refuse(s, "level");
		return;
	}
	a->level = (uint8_t)chosen;
	a->level_done = true;
	log_debug("session=%llu GSSAPI level %s (asked %s%s)", (unsigned long long)s->id,
		  gss_frame_level_str(a->level), gss_frame_level_str(asked),
		  bare ? ", unwrapped (NEC)" : "");
}

/* The level answer is out: the request phase starts, protected or not. */
static void auth_gss_enter_request(struct session *s)
{
	struct auth_gss *a = s->gss;
	struct session_hs *hs = s->hs;
	size_t n = gss_deframer_pending(a->df);

	free(a->out);
	a->out = NULL;
	if (a->level == GSS_LEVEL_NONE) {
		/* Authentication only: whatever the client sent after its level
		 * message is its plaintext request. */
		if (n > sizeof(hs->in)) {
			session_close(s, "bad-request", "handshake too long");
			return;
		}
		memcpy(hs->in, a->df->buf + a->df->off, n);
		hs->inlen = (uint16_t)n;
		auth_gss_drop_deframer(a);
	} else {
		/* §5: from here on every message is wrapped, the request
		 * included. */
		a->df->mtyp = GSS_FRAME_DATA;
		s->xform = &a->xf;
	}
	s->state = SS_REQUEST;
}

void auth_gss_advance(struct session *s)
{
	struct auth_gss *a = s->gss;
	struct gss_frame f;
	uint8_t before;

	/* Bounded: each pass consumes one whole message or returns. */
	for (;;) {
		if (auth_gss_flush(s) != 0)
			return;
		if (a->level_done) {
			auth_gss_enter_request(s);
			return;
		}
		if (auth_gss_next(s, &f) <= 0)
			return;
		before = s->state;
		if (s->state == SS_GSS_AUTH)
			auth_gss_step(s, &f);
		else
			auth_gss_level(s, &f);
		if (s->state != before && s->state != SS_GSS_LEVEL)
			return;
	}
}

int auth_gss_read_request(struct session *s)
{
	struct auth_gss *a = s->gss;
	struct session_hs *hs = s->hs;
	struct gss_frame f;
	size_t n;
	int r;

	if (auth_gss_deframer(a, GSS_FRAME_DATA) == NULL) {
		session_close(s, "error", "out of memory");
		return -1;
	}
	r = auth_gss_next(s, &f);
	if (r <= 0)
		return r;
	/* Straight into the request buffer: a message whose plaintext does
	 * not fit is refused by the unwrap itself. */
	if (gss_unwrap_msg(a->ctx, f.token, f.len, hs->in + hs->inlen, sizeof(hs->in) - hs->inlen,
			   &n, &a->err) < 0) {
		log_msg(LOG_LVL_WARN, "session=%llu GSSAPI request of %s failed to unwrap: %s",
			(unsigned long long)s->id, s->user, a->err.msg);
		session_close(s, "bad-request", a->err.msg);
		return -1;
	}
	hs->inlen += (uint16_t)n;
	return 1;
}

/* ---- the transform (levels 1 and 2, §5) ----------------------------------- */

static uint8_t *auth_gss_rx_space(struct relay_xform *x, size_t *cap)
{
	struct auth_gss *a = auth_gss_of(x);

	*cap = 0;
	if (auth_gss_deframer(a, GSS_FRAME_DATA) == NULL)
		return NULL;
	return gss_deframer_space(a->df, cap);
}

static void auth_gss_rx_commit(struct relay_xform *x, size_t n)
{
	gss_deframer_commit(auth_gss_of(x)->df, n);
}

static int auth_gss_rx_next(struct relay_xform *x, uint8_t *out, size_t cap, size_t *outlen)
{
	struct auth_gss *a = auth_gss_of(x);
	struct gss_frame f;
	enum codec_status st;

	if (a->df == NULL)
		return 0;
	st = gss_deframer_next(a->df, &f);
	if (st == CODEC_NEED_MORE) {
		if (gss_deframer_pending(a->df) == 0)
			auth_gss_drop_deframer(a);
		return 0;
	}
	if (st == CODEC_OK && f.mtyp == GSS_FRAME_ABORT) {
		x->err = "client aborted (01 ff)";
		return -1;
	}
	if (st == CODEC_ERR)
		snprintf(a->err.msg, sizeof(a->err.msg),
			 "not an RFC 1961 data message (version or type byte wrong)");
	if (st == CODEC_ERR ||
	    gss_unwrap_msg(a->ctx, f.token, f.len, out, cap, outlen, &a->err) < 0) {
		/* Tampered, replayed, reordered or truncated: every later
		 * byte is suspect. */
		log_msg(LOG_LVL_WARN,
			"session=%llu GSSAPI message from %s failed to unwrap, ending the session: "
			"%s",
			(unsigned long long)a->s->id, a->s->user, a->err.msg);
		x->err = a->err.msg;
		return -1;
	}
	return 1;
}

static size_t auth_gss_tx_max(struct relay_xform *x)
{
	return gss_ctx_max_plain(auth_gss_of(x)->ctx);
}

static int auth_gss_tx_wrap(struct relay_xform *x, const uint8_t *in, size_t len, uint8_t *out,
			    size_t cap, size_t *outlen)
{
	struct auth_gss *a = auth_gss_of(x);

	if (gss_wrap_msg(a->ctx, in, len, out, cap, outlen, &a->err) < 0) {
		x->err = a->err.msg;
		return -1;
	}
	return 0;
}

static const struct relay_xform_ops auth_gss_xform_ops = {
	.rx_space = auth_gss_rx_space,
	.rx_commit = auth_gss_rx_commit,
	.rx_next = auth_gss_rx_next,
	.tx_max = auth_gss_tx_max,
	.tx_wrap = auth_gss_tx_wrap,
};

/* ---- UDP (§5) ------------------------------------------------------------- */

int auth_gss_wrap_dgram(struct session *s, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
			size_t *outlen)
{
	struct auth_gss *a = s->gss;

	/* Larger than one token carries: dropped (datagrams are not cut). */
	if (len > gss_ctx_max_plain(a->ctx))
		return -1;
	return gss_wrap_msg(a->ctx, in, len, out, cap, outlen, &a->err);
}

int auth_gss_unwrap_dgram(struct session *s, const uint8_t *in, size_t len, uint8_t *out,
			  size_t cap, size_t *outlen)
{
	struct auth_gss *a = s->gss;
	int r = gss_unwrap_dgram(a->ctx, in, len, out, cap, outlen, &a->err);

	if (r < 0 && !a->bad_dgram_logged) {
		/* Once per association: a flood of forgeries must not flood
		 * the log; the session line counts every drop. */
		a->bad_dgram_logged = true;
		log_msg(LOG_LVL_WARN, "session=%llu GSSAPI datagram from %s dropped: %s",
			(unsigned long long)s->id, s->user, a->err.msg);
	}
	return r;
}

int auth_gss_log_extra(const struct session *s, char *out, size_t outlen)
{
	const struct auth_gss *a = s->gss;

	if (outlen == 0)
		return 0;
	out[0] = '\0';
	if (a == NULL || !a->level_done)
		return 0;
	return snprintf(out, outlen, " gssapi=%s", gss_frame_level_str(a->level));
}

void auth_gss_free(struct session *s)
{
	struct auth_gss *a = s->gss;

	if (a == NULL)
		return;
	/* §6: deleted locally, nothing on the wire. */
	gss_ctx_free(a->ctx);
	free(a->df);
	free(a->out);
	free(a);
	s->gss = NULL;
	s->xform = NULL;
}
