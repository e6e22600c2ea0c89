/* socks_client — the shim's side of an RFC 1928 exchange (greeting, method
 * selection, request, reply) on a connected socket, built on the gateway's
 * own codec (gateway/socks5.c).  Step-wise for non-blocking use, and a
 * poll()-driven run for blocking use; neither changes the fd's flags
 * (MSG_DONTWAIT per call), and neither reads a byte past the reply, so data
 * the destination sends at once (an SSH banner) stays in the socket for the
 * application. */
#ifndef SOCKS64_SOCKS_CLIENT_H
#define SOCKS64_SOCKS_CLIENT_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "socks5.h"

enum socks_client_status {
	SOCKS_CLIENT_DONE = 0, /* reply read: c->rep, c->bnd */
	SOCKS_CLIENT_WANT_READ,
	SOCKS_CLIENT_WANT_WRITE,
	SOCKS_CLIENT_FAILED = -1, /* c->err holds the errno */
};

struct socks_client {
	int state; /* private */
	uint8_t method; /* offered (only none for now) */
	uint8_t cmd;
	struct socks_addr dst;
	uint8_t buf[SOCKS5_GREETING_MAX + SOCKS5_REQUEST_MAX];
	size_t len; /* bytes to send, or bytes read so far */
	size_t off; /* bytes sent */
	uint8_t rep; /* the server's REP (valid after DONE or a REP failure) */
	struct socks_addr bnd;
	int err;
	const char *why; /* short reason for logs after FAILED */
};

void socks_client_init(struct socks_client *c, uint8_t cmd, const struct socks_addr *dst);

/* Advance as far as the socket allows. */
enum socks_client_status socks_client_step(struct socks_client *c, int fd);

/* Drive the exchange to the end with pollfn (NULL: poll) waiting at most
 * timeout_ms in all; 0 when the server answered REP 0, else -1 with errno
 * (socks_client_rep_errno for REP != 0, ETIMEDOUT, or the I/O error). */
int socks_client_run(struct socks_client *c, int fd, int timeout_ms,
		     int (*pollfn)(struct pollfd *, nfds_t, int));

/* The errno a program expects for a failed connect with this REP:
 * 2 EACCES, 3 ENETUNREACH, 4 EHOSTUNREACH, 5 ECONNREFUSED, 6 ETIMEDOUT,
 * anything else ECONNREFUSED. */
int socks_client_rep_errno(uint8_t rep);

#endif
