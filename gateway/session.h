/* session — one client connection, an explicit state machine:
 *
 *   GREETING [-> AUTH -> AUTH_WAIT | -> GSS_AUTH -> GSS_LEVEL] -> REQUEST ->
 *   RESOLVING -> CONNECTING -> REPLYING -> RELAYING
 *                  \______________\_____________\-> FAILING (reply, linger, close)
 *
 * Handshake-time state (buffers, resolver query, dialer) lives in a separate
 * allocation freed when relaying starts, so an idle relayed session costs a
 * few hundred bytes.  One teardown function logs one line and frees once
 * (deferred until the current batch of events is done). */
#ifndef SOCKS64_SESSION_H
#define SOCKS64_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "loop.h"
#include "relay.h"
#include "socks_addr.h"

struct worker;
struct conf;
struct session_hs;

enum session_state {
	SS_GREETING,
	SS_AUTH, /* RFC 1929 sub-negotiation */
	SS_AUTH_WAIT, /* password being checked off the loop */
	SS_GSS_AUTH, /* RFC 1961 context establishment */
	SS_GSS_LEVEL, /* RFC 1961 protection-level sub-negotiation */
	SS_REQUEST,
	SS_RESOLVING,
	SS_CONNECTING,
	SS_BIND_WAIT, /* BIND: first reply sent, waiting for the peer */
	SS_UDP, /* UDP ASSOCIATE: relaying datagrams while the control connection lives */
	SS_REPLYING,
	SS_RELAYING,
	SS_FAILING, /* failure reply queued; then SHUT_WR, drain, close */
	SS_CLOSED,
};

union session_sa {
	struct sockaddr sa;
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
};

struct session {
	struct loop_io cio; /* client */
	struct loop_io uio; /* destination (after connect) */
	struct relay_end cend, uend;
	struct relay_dir up; /* client -> destination */
	struct relay_dir down; /* destination -> client */
	struct worker *w;
	struct conf *conf;
	struct session *prev, *next; /* worker's list */
	struct session_hs *hs;
	struct udp_assoc *udp; /* UDP ASSOCIATE state */
	struct auth_gss *gss; /* GSSAPI method state, NULL for the others */
	/* Per-message transform on the client side (GSSAPI levels 1 and 2):
	 * the request, replies, relayed data and datagrams go through it.
	 * NULL: identity, and the relay may splice. */
	struct relay_xform *xform;
	uint64_t id;
	uint64_t t_start, t_active;
	struct timer timer;
	struct loop_defer defer;
	bool defer_queued;
	bool client_local; /* client on the gateway's own loopback */
	uint8_t state; /* enum session_state */
	uint8_t cmd;
	uint8_t rep; /* last reply code sent */
	uint8_t version; /* 4 or 5 */
	uint8_t method; /* SOCKS5_METHOD_* chosen */
	bool limit_client; /* counted in max-sessions-per-client */
	bool limit_user; /* counted in max-sessions-per-user */
	unsigned deny_line; /* rule that refused, for the log */
	char *user; /* authenticated user or SOCKS4 user id; NULL if none */
	const char *result; /* log: ok, denied, dns-fail, refused, ... */
	const char *reason; /* log: why it ended */
	union session_sa client;
	union session_sa peer; /* destination address connected to */
	struct socks_addr dst;
};

/* Take over an accepted, non-blocking client socket. */
void session_new(struct worker *w, int fd, const struct sockaddr *sa, socklen_t salen);
struct authq_job;
/* A password check finished (worker thread, from the mailbox). */
void session_auth_done(struct session *s, struct authq_job *j);
/* End a session now (shutdown drain): logs and frees. */
void session_abort(struct session *s, const char *reason);

#endif
