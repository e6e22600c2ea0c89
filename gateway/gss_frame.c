/* gss_frame — RFC 1961 wire codec.  Parsers run a bounded cursor over what
 * has arrived and fill their outputs only once the whole message is there. */
#include "gss_frame.h"

#include <string.h>

#include "buf.h"

static bool gss_frame_mtyp_valid(uint8_t mtyp)
{
	return mtyp == GSS_FRAME_AUTH || mtyp == GSS_FRAME_LEVEL || mtyp == GSS_FRAME_DATA ||
	       mtyp == GSS_FRAME_ABORT;
}

enum codec_status gss_frame_parse(const uint8_t *in, size_t len, size_t max_token,
				  struct gss_frame *f, size_t *used)
{
	struct cur c;
	uint8_t ver, mtyp;
	uint16_t toklen;

	cur_init(&c, in, len);
	if (!cur_u8(&c, &ver))
		return CODEC_NEED_MORE;
	/* Fail on the first wrong byte: a peer speaking something else will
	 * never complete a length we wait for. */
	if (ver != GSS_FRAME_VERSION)
		return CODEC_ERR;
	if (!cur_u8(&c, &mtyp))
		return CODEC_NEED_MORE;
	if (!gss_frame_mtyp_valid(mtyp))
		return CODEC_ERR;
	/* §3.8: the abort is VER and MTYP only. */
	if (mtyp == GSS_FRAME_ABORT) {
		f->mtyp = mtyp;
		f->len = 0;
		f->token = NULL;
		*used = c.off;
		return CODEC_OK;
	}
	if (!cur_u16(&c, &toklen))
		return CODEC_NEED_MORE;
	if (toklen > max_token)
		return CODEC_ERR;
	if (cur_left(&c) < toklen)
		return CODEC_NEED_MORE;

	f->mtyp = mtyp;
	f->len = toklen;
	f->token = in + c.off;
	*used = c.off + toklen;
	return CODEC_OK;
}

size_t gss_frame_build_hdr(uint8_t *out, size_t cap, uint8_t mtyp, size_t len)
{
	struct wbuf w;

	if (len > GSS_FRAME_TOKEN_MAX || mtyp == GSS_FRAME_ABORT)
		return 0;
	wbuf_init(&w, out, cap);
	wbuf_u8(&w, GSS_FRAME_VERSION);
	wbuf_u8(&w, mtyp);
	wbuf_u16(&w, (uint16_t)len);
	return w.err ? 0 : w.len;
}

size_t gss_frame_build(uint8_t *out, size_t cap, uint8_t mtyp, const void *token, size_t len)
{
	size_t n;

	if (cap < GSS_FRAME_HDR_LEN || cap - GSS_FRAME_HDR_LEN < len)
		return 0;
	n = gss_frame_build_hdr(out, cap, mtyp, len);
	if (n == 0)
		return 0;
	if (len > 0)
		memcpy(out + n, token, len);
	return n + len;
}

size_t gss_frame_build_abort(uint8_t *out, size_t cap)
{
	struct wbuf w;

	wbuf_init(&w, out, cap);
	wbuf_u8(&w, GSS_FRAME_VERSION);
	wbuf_u8(&w, GSS_FRAME_ABORT);
	return w.err ? 0 : w.len;
}

void gss_deframer_init(struct gss_deframer *d, uint8_t mtyp)
{
	d->off = 0;
	d->len = 0;
	d->mtyp = mtyp;
}

/* Bytes the message at d->off needs in all: the header until its length is
 * known, then header + token. */
static size_t gss_deframer_need(const struct gss_deframer *d)
{
	size_t have = d->len - d->off;

	if (have < GSS_FRAME_HDR_LEN)
		return GSS_FRAME_HDR_LEN;
	return GSS_FRAME_HDR_LEN + (((size_t)d->buf[d->off + 2] << 8) | d->buf[d->off + 3]);
}

uint8_t *gss_deframer_space(struct gss_deframer *d, size_t *cap)
{
	if (d->off > d->len) {
		/* broken stream: nothing more is read */
		*cap = 0;
		return d->buf;
	}
	if (d->off == d->len) {
		d->off = 0;
		d->len = 0;
	} else if (d->off > 0 && d->off + gss_deframer_need(d) > sizeof(d->buf)) {
		/* The current message cannot complete in place: move it to
		 * the front, once. */
		memmove(d->buf, d->buf + d->off, d->len - d->off);
		d->len -= d->off;
		d->off = 0;
	}
	*cap = sizeof(d->buf) - d->len;
	return d->buf + d->len;
}

void gss_deframer_commit(struct gss_deframer *d, size_t n)
{
	d->len += n;
}

size_t gss_deframer_feed(struct gss_deframer *d, const void *p, size_t n)
{
	size_t cap;
	uint8_t *dst = gss_deframer_space(d, &cap);

	if (n > cap)
		n = cap;
	memcpy(dst, p, n);
	gss_deframer_commit(d, n);
	return n;
}

enum codec_status gss_deframer_next(struct gss_deframer *d, struct gss_frame *f)
{
	enum codec_status st;
	size_t used;

	if (d->off > d->len)
		return CODEC_ERR;
	st = gss_frame_parse(d->buf + d->off, d->len - d->off, GSS_FRAME_TOKEN_MAX, f, &used);
	if (st == CODEC_OK && f->mtyp != d->mtyp && f->mtyp != GSS_FRAME_ABORT)
		st = CODEC_ERR;
	if (st == CODEC_ERR) {
		/* Sticky: off past len makes every later call fail too. */
		d->off = d->len + 1;
		return CODEC_ERR;
	}
	if (st == CODEC_OK)
		d->off += used;
	return st;
}

size_t gss_deframer_pending(const struct gss_deframer *d)
{
	return d->off > d->len ? 0 : d->len - d->off;
}

int gss_frame_level_choose(unsigned granted, uint8_t requested, bool downgrade)
{
	granted &= GSS_LEVEL_ALL;
	switch (requested) {
	case GSS_LEVEL_NONE:
		/* Non-standard (curl, Dante "clear"): only when listed.  An
		 * upgrade would leave such a client speaking cleartext into a
		 * protected session. */
		return (granted & GSS_LEVEL_BIT(GSS_LEVEL_NONE)) ? GSS_LEVEL_NONE : -1;
	case GSS_LEVEL_INTEGRITY:
		if (granted & GSS_LEVEL_BIT(GSS_LEVEL_INTEGRITY))
			return GSS_LEVEL_INTEGRITY;
		if (granted & GSS_LEVEL_BIT(GSS_LEVEL_CONFIDENTIALITY))
			return GSS_LEVEL_CONFIDENTIALITY;
		return -1;
	case GSS_LEVEL_CONFIDENTIALITY:
		if (granted & GSS_LEVEL_BIT(GSS_LEVEL_CONFIDENTIALITY))
			return GSS_LEVEL_CONFIDENTIALITY;
		if (downgrade && (granted & GSS_LEVEL_BIT(GSS_LEVEL_INTEGRITY)))
			return GSS_LEVEL_INTEGRITY;
		return -1;
	case GSS_LEVEL_SELECTIVE:
		/* §4.3 leaves level 3 to local configuration; ours is
		 * "everything protected, as strongly as granted". */
		if (granted & GSS_LEVEL_BIT(GSS_LEVEL_CONFIDENTIALITY))
			return GSS_LEVEL_CONFIDENTIALITY;
		if (granted & GSS_LEVEL_BIT(GSS_LEVEL_INTEGRITY))
			return GSS_LEVEL_INTEGRITY;
		return -1;
	default:
		return -1;
	}
}

bool gss_frame_level_acceptable(uint8_t requested, uint8_t answered)
{
	if (answered > GSS_LEVEL_CONFIDENTIALITY)
		return false;
	/* selective leaves it to the server: any real protection will do */
	if (requested == GSS_LEVEL_SELECTIVE)
		return answered >= GSS_LEVEL_INTEGRITY;
	return answered >= requested && (answered == requested || answered >= GSS_LEVEL_INTEGRITY);
}

const char *gss_frame_level_str(uint8_t level)
{
	switch (level) {
	case GSS_LEVEL_NONE:
		return "none";
	case GSS_LEVEL_INTEGRITY:
		return "integrity";
	case GSS_LEVEL_CONFIDENTIALITY:
		return "confidentiality";
	case GSS_LEVEL_SELECTIVE:
		return "selective";
	default:
		return "invalid";
	}
}
