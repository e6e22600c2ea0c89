/* gss — RFC 1961 over MIT Kerberos GSS-API, for both ends: acceptor
 * credentials from a keytab, context establishment as a step function, the
 * protection-level message, and per-message wrap/unwrap producing and
 * consuming whole RFC 1961 messages.  No socket I/O: the caller moves the
 * bytes (gss_frame.h parses them) and runs its own event loop.
 *
 * Threads: one struct gss_ctx is used by one thread at a time; a
 * struct gss_acceptor may be shared by every worker (MIT locks its
 * credential internally).  Everything here is CPU and file work only,
 * except gss_cli_step(), which may talk to the KDC (a TGS exchange) the
 * first time a ticket for the target is needed — the library does that
 * synchronously.
 *
 * Errors: functions that can fail take a struct gss_err * (may be NULL)
 * and fill it with one log-ready line: what failed, then the GSS major and
 * Kerberos minor texts from gss_display_status(), e.g.
 *   "accept: Unspecified GSS failure.  Minor code may provide more
 *    information; Wrong principal in request". */
#ifndef SOCKS64_GSS_H
#define SOCKS64_GSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gss_frame.h"

#define GSS_ERR_MAX 256

struct gss_err {
	char msg[GSS_ERR_MAX];
};

/* Acceptor credentials: the keys of one keytab, restricted to the krb5
 * mechanism (RFC 1961 §9).  keytab: a path or "FILE:path"; NULL means the
 * process default (KRB5_KTNAME, else /etc/krb5.keytab).  service:
 *   NULL or ""        any key in the keytab (GSS_C_NO_NAME), so one keytab
 *                     holding rcmd/HOST and socks/HOST serves Dante, curl
 *                     (both default to rcmd) and RFC-style "socks" clients;
 *   "rcmd"            only service/ANY-HOST principals of that service;
 *   "rcmd@host"       only that host-based name;
 *   "rcmd/host@REALM" exactly that principal (contains '/').
 * Read once here (gss_acquire_cred_from with a "keytab" cred store, so
 * each configuration snapshot has its own keytab and nothing process-wide
 * changes); acquire a new one on reload and free the old one when the last
 * session using its snapshot is gone.  MIT reads the keytab file again at
 * each accept, so rotated keys also work without a reload.  Fails (NULL,
 * err set) when the keytab is missing, unreadable, empty or has no key for
 * service. */
struct gss_acceptor *gss_acceptor_new(const char *keytab, const char *service, struct gss_err *err);
void gss_acceptor_free(struct gss_acceptor *a);

/* What gss_acceptor_new() was given, for log lines: "any service in
 * FILE:/etc/socks64/krb5.keytab" or "rcmd in ...". */
const char *gss_acceptor_desc(const struct gss_acceptor *a);

struct gss_ctx;

enum gss_step {
	GSS_STEP_ERR = -1,
	GSS_STEP_DONE = 0, /* established: send *outlen bytes (if any), then levels */
	GSS_STEP_CONTINUE = 1, /* send *outlen bytes, wait for the peer's next token */
};

/* Server side of one connection.  a == NULL uses the default acceptor
 * credential (KRB5_KTNAME; any service).  NULL only on ENOMEM. */
struct gss_ctx *gss_srv_new(const struct gss_acceptor *a);

/* Feed one client token (the payload of an mtyp-1 message) to
 * gss_accept_sec_context (no channel bindings, delegated credentials
 * discarded — RFC 1961 §3.6, and addresses change in translation).  out
 * receives whole RFC 1961 messages ready to send (cap >= GSS_FRAME_MAX is
 * always enough):
 *   CONTINUE: 01 01 len token;
 *   DONE:     01 01 len token, or 01 01 00 00 when the mechanism had no
 *             token (§3.7; never with Kerberos mutual authentication);
 *   ERR:      01 ff (§3.8) — send it, then close.
 * An empty token, or a call after DONE, is an error. */
enum gss_step gss_srv_step(struct gss_ctx *c, const uint8_t *tok, size_t len, uint8_t *out,
			   size_t cap, size_t *outlen, struct gss_err *err);

/* Client side: target service@host as GSS_C_NT_HOSTBASED_SERVICE (service
 * "rcmd" by default in Dante and curl; host as the user named the gateway —
 * Kerberos maps it to service/host@REALM), or, when service contains '/',
 * that exact principal name (host ignored).  ccache: NULL for the default
 * credentials (KRB5CCNAME), else a ccache name such as "FILE:/path".
 * Flags MUTUAL | REPLAY | SEQUENCE | INTEG | CONF; no DELEG (a proxy has no
 * business with the user's TGT; Dante omits it too), mechanism krb5.
 * Nothing is sent to the KDC yet. */
struct gss_ctx *gss_cli_new(const char *service, const char *host, const char *ccache,
			    struct gss_err *err);

/* First call with tok == NULL; then with each server token (mtyp 1).  out
 * receives the mtyp-1 message to send (none on DONE with Kerberos: the
 * last call consumes the server's AP-REP).  ERR: close without sending
 * anything (§3.5).  DONE also requires that mutual authentication
 * happened.  May block on the KDC (see above). */
enum gss_step gss_cli_step(struct gss_ctx *c, const uint8_t *tok, size_t len, uint8_t *out,
			   size_t cap, size_t *outlen, struct gss_err *err);

/* gss_delete_sec_context with no output token (§6: nothing goes on the
 * wire).  NULL is fine. */
void gss_ctx_free(struct gss_ctx *c);

/* After DONE: the other end's principal, e.g. "alice@TEST.EXAMPLE" on the
 * server (for rules and the session log), "rcmd/gw.example@TEST.EXAMPLE"
 * on the client.  "" before. */
const char *gss_ctx_peer(const struct gss_ctx *c);

/* After DONE: GSS_LEVEL_BIT()s this context can provide (none always;
 * integrity and confidentiality with the flags the mechanism returned).
 * AND it with the configured levels before gss_frame_level_choose(). */
unsigned gss_ctx_levels(const struct gss_ctx *c);

/* The protection-level message (§4.3, mtyp 2), either direction: the one
 * octet wrapped with conf_req = FALSE, or bare (a 1-octet token, the NEC /
 * curl --socks5-gssapi-nec form) when bare is true.  Writes the whole
 * message to out.  Returns 0 or -1. */
int gss_level_build(struct gss_ctx *c, uint8_t level, bool bare, uint8_t *out, size_t cap,
		    size_t *outlen, struct gss_err *err);

/* The token of a received mtyp-2 message: unwrapped and checked to be one
 * octet (any level value comes back; the policy is the caller's).  A
 * 1-octet token is the bare NEC form: accepted only with bare_ok (*bare is
 * then true; answer in the same form).  Returns 0 or -1. */
int gss_level_parse(struct gss_ctx *c, const uint8_t *tok, size_t len, bool bare_ok, uint8_t *level,
		    bool *bare, struct gss_err *err);

/* Enter the protected phase at the agreed level (both ends, after the
 * level exchange).  Level 0: nothing is wrapped any more (wrap/unwrap
 * fail).  Levels 1 and 2: computes the largest plaintext that wraps into
 * one 65535-octet token.  Returns 0 or -1 (level 3+, or a context without
 * the needed service). */
int gss_ctx_set_level(struct gss_ctx *c, uint8_t level, struct gss_err *err);
uint8_t gss_ctx_level(const struct gss_ctx *c);

/* The largest plaintext per token at the current level (gss_wrap_size_limit
 * for 65535 octets: 65507 at integrity, 65475 at confidentiality with
 * aes256-cts).  0 at level 0. */
size_t gss_ctx_max_plain(const struct gss_ctx *c);

/* Wrap len <= gss_ctx_max_plain() bytes into one message 01 03 len token
 * in out (conf_req TRUE at level 2, FALSE at level 1; §5).  Every call
 * uses up a sequence number, so a message that is built must be sent: it
 * fails before wrapping when out cannot hold the result.  A UDP datagram
 * (SOCKS UDP header + payload) is wrapped whole with this call (§5; Dante
 * does the same); one larger than max_plain cannot be carried — drop it.
 * Returns 0 or -1. */
int gss_wrap_msg(struct gss_ctx *c, const void *in, size_t len, uint8_t *out, size_t cap,
		 size_t *outlen, struct gss_err *err);

/* Stream chunking: wrap as much of in as fits in out as consecutive
 * messages of at most max_plain plaintext each (a short tail chunk is cut
 * to what still fits, using gss_wrap_size_limit).  *consumed bytes of in
 * were used, *outlen bytes written; consumed < len just means out is full.
 * Returns 0 or -1. */
int gss_wrap_stream(struct gss_ctx *c, const void *in, size_t len, uint8_t *out, size_t cap,
		    size_t *consumed, size_t *outlen, struct gss_err *err);

/* Unwrap the token of one mtyp-3 message from a TCP stream (from
 * gss_deframer_next) into out (cap >= the token length is always enough).
 * Strict: a token that fails its checksum, is replayed, old, out of order
 * or follows a gap is an error — on a reliable stream each of those means
 * tampering — and so is a token without confidentiality at level 2.
 * Returns 0 or -1 (end the session). */
int gss_unwrap_msg(struct gss_ctx *c, const uint8_t *tok, size_t len, uint8_t *out, size_t cap,
		   size_t *outlen, struct gss_err *err);

/* Unwrap one whole UDP datagram, itself one message 01 03 len token (§5).
 * Loss and reordering are normal for datagrams: tokens after a gap or out
 * of order are accepted; duplicates and tokens too old to tell are not.
 * Returns 0 (plaintext in out), 1 (a replayed or stale datagram: drop it
 * quietly, err says why) or -1 (malformed or forged: drop and log). */
int gss_unwrap_dgram(struct gss_ctx *c, const uint8_t *dgram, size_t len, uint8_t *out, size_t cap,
		     size_t *outlen, struct gss_err *err);

#endif
