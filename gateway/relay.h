/* relay — moving bytes between two connected sockets.
 *
 * Fast path: splice() through a pipe per direction, taken from a per-worker
 * pool only while data is in flight (an idle session holds no pipe).  Copy
 * path: a small buffer allocated while data is pending, used when no pipe can
 * be had and for bytes the client sent ahead of the reply.  Half-close is
 * carried with shutdown(SHUT_WR); a side whose peer is not draining is not
 * read (backpressure).
 *
 * Protected path: when the session's auth method installed a per-message
 * transform on the client side (GSSAPI levels 1 and 2, RFC 1961 §5), bytes
 * to and from the client go through it on a copy path of whole messages;
 * the destination side stays plain.  Sessions without a transform never
 * touch it. */
#ifndef SOCKS64_RELAY_H
#define SOCKS64_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct relay_pipe {
	int r, w;
	unsigned size; /* capacity the kernel granted */
	struct relay_pipe *next;
};

struct pipe_pool {
	struct relay_pipe *free;
	uint8_t *scratch; /* protected path: one plaintext read (RELAY_XFORM_MAX) */
	unsigned nfree;
	unsigned max_free;
	unsigned size; /* pipe capacity in bytes */
	bool disabled; /* splice unusable: copy path only */
	unsigned long gets; /* pipes handed out, ever (for idle trimming) */
};

struct relay_dir {
	struct relay_pipe *pipe;
	uint8_t *buf; /* copy path */
	uint32_t boff, blen;
	uint32_t in_pipe; /* bytes spliced in, not yet out */
	bool eof; /* source said EOF */
	bool shut; /* SHUT_WR sent to the destination */
	uint64_t bytes;
};

/* One socket's edge-triggered readiness, as last reported by epoll. */
struct relay_end {
	int fd;
	bool readable;
	bool writable;
	bool hup; /* the peer's FIN (or an error) was reported: read to the end */
};

enum relay_status {
	RELAY_WAIT = 0, /* nothing more to do until the next readiness event */
	RELAY_MORE, /* budget used up with work left: pump again soon */
	RELAY_ERR_SRC, /* reading the source failed (errno set) */
	RELAY_ERR_DST, /* writing the destination failed (errno set) */
	RELAY_ERR_XFORM, /* a message from the client failed the transform (xform->err) */
};

/* Room for one whole message either way: RFC 1961's 4-byte header and a
 * token of up to 65535 bytes (§5); also enough for any plaintext. */
#define RELAY_XFORM_MAX (4 + 65535)

struct relay_xform;

/* A per-message transform on the client side.  The relay only moves the
 * bytes; the transform's owner frames, protects and checks them. */
struct relay_xform_ops {
	/* Client -> destination: where the next read from the client may
	 * write, and how much (0 only for a stream already broken, which
	 * rx_next reports). */
	uint8_t *(*rx_space)(struct relay_xform *x, size_t *cap);
	void (*rx_commit)(struct relay_xform *x, size_t n);
	/* The plaintext of the next whole message into out (cap
	 * RELAY_XFORM_MAX): 1 with *outlen set (0 bytes is fine), 0 when
	 * more input is needed, -1 when the stream is broken, forged or
	 * aborted by the client (x->err says why: end the session). */
	int (*rx_next)(struct relay_xform *x, uint8_t *out, size_t cap, size_t *outlen);
	/* Destination -> client: the most plaintext one message carries. */
	size_t (*tx_max)(struct relay_xform *x);
	/* One message carrying len <= tx_max bytes into out: 0 or -1
	 * (x->err set).  Every message built must be sent. */
	int (*tx_wrap)(struct relay_xform *x, const uint8_t *in, size_t len, uint8_t *out,
		       size_t cap, size_t *outlen);
};

struct relay_xform {
	const struct relay_xform_ops *ops;
	const char *err; /* why the last call failed, for the session log */
};

void pipe_pool_init(struct pipe_pool *p, unsigned size, unsigned max_free);
void pipe_pool_fini(struct pipe_pool *p);
/* Close every cached pipe (the worker calls it when the pool sat unused). */
void pipe_pool_trim(struct pipe_pool *p);

/* Queue bytes to be written to the destination before anything else. */
int relay_dir_preload(struct relay_dir *d, const void *data, size_t len);

/* Move what can be moved from src to dst without blocking.  *moved is set
 * to true if any byte moved.  Sends SHUT_WR to dst once src said EOF and
 * everything was written. */
enum relay_status relay_pump(struct pipe_pool *pool, struct relay_dir *d, struct relay_end *src,
			     struct relay_end *dst, bool *moved);

/* The protected copy path, one per direction: client -> destination
 * (decode each message, write its plaintext) and destination -> client
 * (read at most tx_max bytes, send them as one message: no coalescing, so
 * a message never waits for more data).  Same contract as relay_pump(),
 * plus RELAY_ERR_XFORM. */
enum relay_status relay_pump_from_client(struct relay_dir *d, struct relay_xform *x,
					 struct relay_end *src, struct relay_end *dst, bool *moved);
enum relay_status relay_pump_to_client(struct pipe_pool *pool, struct relay_dir *d,
				       struct relay_xform *x, struct relay_end *src,
				       struct relay_end *dst, bool *moved);

/* Give back the pipe and buffer (session teardown). */
void relay_dir_release(struct pipe_pool *pool, struct relay_dir *d);

#endif
