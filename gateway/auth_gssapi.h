/* auth_gssapi — the GSSAPI method (RFC 1961, SOCKS5 method 0x01) on the
 * gateway's side of a session:
 *
 *   SS_GSS_AUTH   context establishment (§3, mtyp 1) with the snapshot's
 *                 acceptor credentials; the client principal becomes the
 *                 session's user;
 *   SS_GSS_LEVEL  protection-level sub-negotiation (§4, mtyp 2) under
 *                 gssapi-protection; a refusal is logged, answered 01 ff
 *                 and closed;
 *   then          level 0: nothing is wrapped any more (plain session,
 *                 splice relay); levels 1 and 2: a per-message transform on
 *                 the client side (§5, mtyp 3) for the request, the reply,
 *                 the TCP relay and UDP datagrams.
 *
 * The context lives as long as the session (UDP datagrams use it too) and
 * is deleted locally at the end: nothing goes on the wire (§6). */
#ifndef SOCKS64_AUTH_GSSAPI_H
#define SOCKS64_AUTH_GSSAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct session;
struct auth_gss;

/* Method 0x01 was chosen (its selection is queued).  early: bytes the
 * client already sent after its greeting.  Enters SS_GSS_AUTH; on failure
 * the session is closed. */
void auth_gss_start(struct session *s, const uint8_t *early, size_t len);

/* SS_GSS_AUTH and SS_GSS_LEVEL: work until waiting for the client (state
 * unchanged) or the state changed (SS_REQUEST, SS_FAILING, SS_CLOSED). */
void auth_gss_advance(struct session *s);

/* SS_REQUEST at levels 1 and 2: unwrap the client's next message and
 * append its plaintext to the request buffer, so the SOCKS5 parser sees
 * plaintext however the client cut its messages.  Returns 1 if bytes were
 * added, 0 if none are waiting, -1 if the session was closed. */
int auth_gss_read_request(struct session *s);

/* UDP at levels 1 and 2 (§5: each datagram, SOCKS UDP header included, is
 * one wrapped message).  wrap: -1 when the datagram is larger than one
 * token carries (drop it).  unwrap: 0 (plaintext in out), 1 (replayed:
 * drop quietly), -1 (malformed or forged: drop; logged once per
 * session). */
int auth_gss_wrap_dgram(struct session *s, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
			size_t *outlen);
int auth_gss_unwrap_dgram(struct session *s, const uint8_t *in, size_t len, uint8_t *out,
			  size_t cap, size_t *outlen);

/* " gssapi=LEVEL" for the session log line ("" before the level is
 * agreed). */
int auth_gss_log_extra(const struct session *s, char *out, size_t outlen);

/* Delete the context and free everything (after the session's batch). */
void auth_gss_free(struct session *s);

#endif
