/* buf — a bounded read cursor for wire codecs.
 *
 * Codecs never consume input they cannot finish: they run a cursor over what
 * has arrived and either report a complete message (and how many bytes it
 * took) or "need more", leaving the caller's buffer untouched.  One recv() is
 * never assumed to be one message. */
#ifndef SOCKS64_BUF_H
#define SOCKS64_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cur {
	const uint8_t *p;
	size_t len;
	size_t off;
};

static inline void cur_init(struct cur *c, const void *p, size_t len)
{
	c->p = p;
	c->len = len;
	c->off = 0;
}

static inline size_t cur_left(const struct cur *c)
{
	return c->len - c->off;
}

static inline bool cur_u8(struct cur *c, uint8_t *v)
{
	if (cur_left(c) < 1)
		return false;
	*v = c->p[c->off++];
	return true;
}

/* Network byte order. */
static inline bool cur_u16(struct cur *c, uint16_t *v)
{
	if (cur_left(c) < 2)
		return false;
	*v = (uint16_t)((c->p[c->off] << 8) | c->p[c->off + 1]);
	c->off += 2;
	return true;
}

static inline bool cur_bytes(struct cur *c, void *out, size_t n)
{
	if (cur_left(c) < n)
		return false;
	memcpy(out, c->p + c->off, n);
	c->off += n;
	return true;
}

/* A bounded writer: w->err is set once anything did not fit, and stays set. */
struct wbuf {
	uint8_t *p;
	size_t cap;
	size_t len;
	bool err;
};

static inline void wbuf_init(struct wbuf *w, void *p, size_t cap)
{
	w->p = p;
	w->cap = cap;
	w->len = 0;
	w->err = false;
}

static inline void wbuf_bytes(struct wbuf *w, const void *src, size_t n)
{
	if (w->err || w->cap - w->len < n) {
		w->err = true;
		return;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

static inline void wbuf_u8(struct wbuf *w, uint8_t v)
{
	wbuf_bytes(w, &v, 1);
}

static inline void wbuf_u16(struct wbuf *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	wbuf_bytes(w, b, 2);
}

#endif
