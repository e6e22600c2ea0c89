/* socks_client — the shim's side of an RFC 1928 exchange (greeting, method
 * selection, request, reply) on a connected socket, built on the gateway's
 * own codec (gateway/socks5.c).  Step-wise for non-blocking use, and a
 * poll()-driven run for blocking use; neither changes the fd's flags
 * (MSG_DONTWAIT per call), and neither reads a byte past the reply, so data
 * the destination sends at once (an SSH banner) stays in the socket for the
 * application.
 *
 * With `auth gssapi` (socks_client_auth) the method offered is GSSAPI and
 * RFC 1961 runs between method selection and request: context
 * establishment (mtyp 1, the target gssapi-service@HOST), the protection
 * level (mtyp 2, the level octet wrapped with integrity, §4.3; an answer
 * weaker than asked fails), then at levels 1 and 2 the request and the
 * reply travel as wrapped messages (mtyp 3, §5).  Every message is read
 * with its exact length, so nothing after the reply is taken here either.
 * The GSS-API calls that may block -- the reverse lookup of the gateway's
 * name and the KDC exchange of the first context to a service -- are never
 * made inside socks_client_step(): it returns SOCKS_CLIENT_WANT_GSS and the
 * caller runs socks_client_gss_step() where blocking is acceptable (the
 * helper thread drops its lock around it), then steps on. */
#ifndef SOCKS64_SOCKS_CLIENT_H
#define SOCKS64_SOCKS_CLIENT_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf.h"
#include "gss.h"
#include "socks5.h"

enum socks_client_status {
	SOCKS_CLIENT_DONE = 0, /* reply read: c->rep, c->bnd */
	SOCKS_CLIENT_WANT_READ,
	SOCKS_CLIENT_WANT_WRITE,
	SOCKS_CLIENT_WANT_GSS, /* call socks_client_gss_step(), then step again */
	SOCKS_CLIENT_FAILED = -1, /* c->err holds the errno */
};

struct socks_client_gss;

struct socks_client {
	int state; /* private */
	uint8_t method; /* offered: none, or GSSAPI after socks_client_auth() */
	uint8_t cmd;
	struct socks_addr dst;
	uint8_t buf[SOCKS5_GREETING_MAX + SOCKS5_REQUEST_MAX];
	size_t len; /* bytes to send, or bytes read so far */
	size_t off; /* bytes sent */
	uint8_t rep; /* the server's REP (valid after DONE or a REP failure) */
	struct socks_addr bnd;
	int err;
	const char *why; /* short reason for logs after FAILED */
	struct socks_client_gss *gss; /* private; NULL for method none */
	char why_buf[GSS_ERR_MAX + 64]; /* why may point here */
};

void socks_client_init(struct socks_client *c, uint8_t cmd, const struct socks_addr *dst);

/* Apply the configured authentication for the gateway gw (the address the
 * configuration names, for the reverse lookup of its host name) before the
 * first step.  Nothing for auth none.  0, or -1 with errno (ENOMEM). */
int socks_client_auth(struct socks_client *c, const struct shim_conf *conf,
		      const struct sockaddr *gw);

/* Advance as far as the socket allows. */
enum socks_client_status socks_client_step(struct socks_client *c, int fd);

/* After SOCKS_CLIENT_WANT_GSS: the GSS-API call the exchange waits for (may
 * block, see above).  Failures are reported by the next step. */
void socks_client_gss_step(struct socks_client *c);

/* Drive the exchange to the end with pollfn (NULL: poll) waiting at most
 * timeout_ms in all; 0 when the server answered REP 0, else -1 with errno
 * (socks_client_rep_errno for REP != 0, EACCES for a refused or failed
 * GSSAPI authentication, ETIMEDOUT, or the I/O error). */
int socks_client_run(struct socks_client *c, int fd, int timeout_ms,
		     int (*pollfn)(struct pollfd *, nfds_t, int));

/* After DONE: the agreed protection level (GSS_LEVEL_*), or -1 when no
 * GSSAPI ran. */
int socks_client_level(const struct socks_client *c);

/* After DONE: the context when the agreed level protects the data (1 or
 * 2), handed over to the caller (who frees it); NULL otherwise. */
struct gss_ctx *socks_client_take_gss(struct socks_client *c);

/* Free what the exchange holds (idempotent; nothing for method none). */
void socks_client_cleanup(struct socks_client *c);

/* The errno a program expects for a failed connect with this REP:
 * 2 EACCES, 3 ENETUNREACH, 4 EHOSTUNREACH, 5 ECONNREFUSED, 6 ETIMEDOUT,
 * anything else ECONNREFUSED. */
int socks_client_rep_errno(uint8_t rep);

/* Send what is left of buf[*off, len) without blocking (also the shim's
 * GSSAPI relay's send): 1 when all is out, 0 when the socket is full, -1
 * with errno. */
int socks_client_send_pending(int fd, const uint8_t *buf, size_t len, size_t *off);

#endif
