/* session_priv — what the session's command modules (session_dial, bind, udp)
 * share with session.c.  Not for anything else. */
#ifndef SOCKS64_SESSION_PRIV_H
#define SOCKS64_SESSION_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "authq.h"
#include "connect.h"
#include "resolver.h"
#include "session.h"

#define SESSION_IN_MAX 1024
/* Room for two replies, each possibly wrapped as an RFC 1961 message (§5:
 * 4-byte header plus the Kerberos wrap overhead, under 100 bytes even for
 * aes256-cts-hmac-sha384-192). */
#define SESSION_WRAP_OVERHEAD 128
#define SESSION_OUT_MAX (2 * (SOCKS5_REPLY_MAX + SESSION_WRAP_OVERHEAD))

/* Handshake-time state, freed when relaying starts. */
struct session_hs {
	struct session *s;
	struct resolver_query query;
	struct dialer dialer;
	struct timer res_delay; /* RFC 8305 §3 resolution delay */
	struct loop_defer defer;
	int families_pending; /* RESOLVE_V4/V6 still unanswered */
	unsigned ncand; /* addresses the resolver returned */
	int dns_status; /* enum dns_status: the worst failure of either family */
	struct authq_job *auth_job; /* password check in flight */
	bool res_have[2]; /* RESOLVE: [0] IPv6, [1] IPv4 answered */
	union dns_addr res_addr[2];
	struct loop_io lio; /* BIND: the listening socket */
	union session_sa bind_peer; /* BIND: who may connect */
	bool bind_any; /* BIND: the client named no peer */
	uint16_t inlen;
	uint16_t outlen, outoff;
	uint8_t in[SESSION_IN_MAX];
	uint8_t out[SESSION_OUT_MAX];
};

/* Queue bytes for the client (replies), through the session's transform
 * when there is one; written by the state machine. */
void session_queue(struct session *s, const uint8_t *p, size_t n);
/* Write p[*off..len) to the client as far as it goes: 0 when all is
 * written, 1 when waiting for the socket, -1 on error (session closed). */
int session_send(struct session *s, const uint8_t *p, size_t len, size_t *off);
/* One read from the client during the handshake: 1 with *n > 0 bytes, 0
 * when none are waiting, -1 on EOF or error (session closed). */
int session_recv(struct session *s, uint8_t *p, size_t cap, size_t *n);
/* The one teardown (logs once, frees after the batch). */
void session_close(struct session *s, const char *result, const char *reason);
/* Queue final bytes (as session_queue), then close once they are written
 * and the client has gone (or a short linger passed). */
void session_send_close(struct session *s, const uint8_t *buf, size_t n, const char *result,
			const char *reason);
/* An authenticated user (RFC 1929 name, GSSAPI principal): kept for rules
 * and the log, counted in max-sessions-per-user.  -1 with *why set when
 * refused (the caller answers the client and closes). */
int session_login(struct session *s, const char *name, const char **why);
/* Reply in the client's protocol (SOCKS4 or 5); 0 if it does not fit. */
size_t session_build_reply(struct session *s, uint8_t rep, const struct socks_addr *bnd,
			   uint8_t *buf, size_t cap);
/* A final reply, then close; session_fail() is the same without BND. */
void session_reply_close(struct session *s, uint8_t rep, const struct socks_addr *bnd,
			 const char *result, const char *reason);
void session_fail(struct session *s, uint8_t rep, const char *result, const char *reason);
/* Rules and the default refusals for one destination address. */
bool session_dst_allowed(struct session *s, const struct sockaddr *sa, uint8_t command);
/* s->uio holds a connected socket and the success reply is queued: write it
 * and start relaying.  registered: the fd is already in the epoll set. */
void session_start_relay(struct session *s, bool registered);
/* Run the state machine (after an external event changed the state). */
void session_advance(struct session *s);

/* session_dial.c: where a request goes.  prepare: once per session
 * (callbacks); connect: CONNECT to the request's destination (names
 * resolved, Happy Eyeballs); resolve: RESOLVE's one address, also BIND's
 * named peer; bind: BIND's expected peer, then bind_start. */
void session_dial_prepare(struct session_hs *hs, struct loop *loop);
void session_dial_connect(struct session *s);
void session_dial_resolve(struct session *s);
void session_dial_bind(struct session *s);

/* bind.c: BIND (RFC 1928 §4, SOCKS4) once the expected peer's address is
 * known (an unspecified address: any peer). */
void bind_start(struct session *s, const struct sockaddr *peer);
/* bind.c: the client gave up, or the session ends: close the listener. */
void bind_stop(struct session *s);

#endif
