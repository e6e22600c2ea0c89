/* session — the SOCKS5 session state machine; see session.h.
 *
 * Sockets are registered edge-triggered once for both directions; the
 * session keeps the last reported readiness per socket and each state's
 * handler works until the kernel says EAGAIN, so no epoll_ctl() is needed
 * after setup. */
#include "session.h"

#include "session_priv.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth_gssapi.h"
#include "auth_pass.h"
#include "authq.h"
#include "conf.h"
#include "connect.h"
#include "quota.h"
#include "log.h"
#include "netstate.h"
#include "resolver.h"
#include "rules.h"
#include "socks4.h"
#include "socks5.h"
#include "udp.h"
#include "worker.h"

/* After a failure reply: how long to wait for the client to close before
 * closing ourselves (RFC 1928 §6: no more than 10 seconds). */
#define SESSION_LINGER_MS 2000

void session_advance(struct session *s);

static const char *const session_cmd_names[] = {"?", "connect", "bind", "udp"};

static const char *session_cmd_str(uint8_t cmd)
{
	if (cmd < sizeof(session_cmd_names) / sizeof(session_cmd_names[0]))
		return session_cmd_names[cmd];
	if (cmd == SOCKS5_CMD_RESOLVE)
		return "resolve";
	return "unknown";
}

static bool sa_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}

static bool sa_is_unspecified(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
	return sa->sa_family == AF_INET6 &&
	       IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

/* Destinations a client from elsewhere must not reach through us by
 * default (DESIGN.md, security defaults): loopback, link-local,
 * multicast, unspecified and 0.0.0.0/8. */
static bool sa_is_special(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);

		return (a >> 24) == 127 || (a >> 24) == 0 || (a >> 16) == 0xa9fe ||
		       (a >> 28) == 0xe || a == 0xffffffffu;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			struct sockaddr_in s4 = {.sin_family = AF_INET};

			memcpy(&s4.sin_addr, &a->s6_addr[12], 4);
			return sa_is_special((struct sockaddr *)&s4);
		}
		return IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) ||
		       IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_MULTICAST(a) ||
		       IN6_IS_ADDR_V4COMPAT(a);
	}
	return true;
}

/* ---- teardown ---------------------------------------------------------- */

static void session_hs_free_cb(struct loop_defer *d)
{
	free(container_of(d, struct session_hs, defer));
}

/* Stop resolving and dialling; the buffers stay. */
static void session_hs_stop_work(struct session *s)
{
	struct session_hs *hs = s->hs;

	if (hs == NULL)
		return;
	resolver_cancel(s->w->resolver, &hs->query);
	dialer_cancel(&hs->dialer);
	loop_timer_cancel(s->w->loop, &hs->res_delay);
	bind_stop(s);
	if (hs->auth_job != NULL) {
		/* The verifier finishes anyway; its result is dropped. */
		hs->auth_job->s = NULL;
		hs->auth_job = NULL;
	}
}

/* Handshake state goes after the current batch: its dialer's handles may
 * still have events queued in it. */
static void session_hs_release(struct session *s)
{
	struct session_hs *hs = s->hs;

	if (hs == NULL)
		return;
	session_hs_stop_work(s);
	s->hs = NULL;
	hs->defer.cb = session_hs_free_cb;
	loop_defer(s->w->loop, &hs->defer);
}

static void session_defer_cb(struct loop_defer *d)
{
	struct session *s = container_of(d, struct session, defer);

	s->defer_queued = false;
	if (s->state == SS_CLOSED) {
		udp_free(s);
		auth_gss_free(s);
		conf_unref(s->conf);
		free(s->user);
		free(s);
		return;
	}
	if (s->state == SS_RELAYING)
		session_advance(s);
}

static void session_defer(struct session *s)
{
	if (s->defer_queued)
		return;
	s->defer_queued = true;
	s->defer.cb = session_defer_cb;
	loop_defer(s->w->loop, &s->defer);
}

/* Key for max-sessions-per-client: the address without the port, IPv4 in
 * its v4-mapped form so both families of one host count alike. */
static void session_client_key(const struct session *s, uint8_t key[16])
{
	memset(key, 0, 16);
	if (s->client.sa.sa_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &s->client.v4.sin_addr, 4);
	} else {
		memcpy(key, &s->client.v6.sin6_addr, 16);
	}
}

static void session_quota_release(struct session *s)
{
	uint8_t key[16];

	if (s->limit_client) {
		session_client_key(s, key);
		quota_release(s->w->gw->quota, key, sizeof(key));
		s->limit_client = false;
	}
	if (s->limit_user) {
		quota_release(s->w->gw->quota, s->user, strlen(s->user) + 1);
		s->limit_user = false;
	}
}

static void session_log(struct session *s)
{
	char client[SOCKS_ADDR_STRLEN], target[SOCKS_ADDR_STRLEN], addr[SOCKS_ADDR_STRLEN];
	char extra[128] = "";
	uint64_t dur = loop_now(s->w->loop) - s->t_start;
	int n;

	if (!log_enabled(LOG_LVL_INFO))
		return;
	sockaddr_format(&s->client.sa, client, sizeof(client));
	n = auth_gss_log_extra(s, extra, sizeof(extra));
	if (n < 0 || (size_t)n >= sizeof(extra))
		n = 0;
	udp_log_extra(s, extra + n, sizeof(extra) - (size_t)n);
	if (s->dst.atyp != 0)
		socks_addr_format(&s->dst, target, sizeof(target));
	else
		strcpy(target, "-");
	if (s->peer.sa.sa_family != AF_UNSPEC)
		sockaddr_format(&s->peer.sa, addr, sizeof(addr));
	else
		strcpy(addr, "-");
	log_msg(LOG_LVL_INFO,
		"session=%llu client=%s user=%s cmd=%s target=%s addr=%s result=%s up=%llu "
		"down=%llu dur_ms=%llu%s%s%s%s",
		(unsigned long long)s->id, client, s->user ? s->user : "-",
		s->cmd ? session_cmd_str(s->cmd) : "-", target, addr, s->result,
		(unsigned long long)s->up.bytes, (unsigned long long)s->down.bytes,
		(unsigned long long)dur, extra, s->reason ? " reason=\"" : "",
		s->reason ? s->reason : "", s->reason ? "\"" : "");
}

/* The one teardown: logs once, closes every fd, frees after the batch. */
void session_close(struct session *s, const char *result, const char *reason)
{
	struct worker *w = s->w;

	if (s->state == SS_CLOSED)
		return;
	if (result != NULL)
		s->result = result;
	if (reason != NULL)
		s->reason = reason;
	session_log(s);
	s->state = SS_CLOSED;
	session_quota_release(s);
	session_hs_release(s);
	/* The association's sockets go with the session: a late datagram
	 * must find nothing registered. */
	udp_stop(s);
	loop_timer_cancel(w->loop, &s->timer);
	relay_dir_release(&w->pipes, &s->up);
	relay_dir_release(&w->pipes, &s->down);
	loop_io_close(w->loop, &s->cio);
	loop_io_close(w->loop, &s->uio);
	STAT_ADD(w, bytes_up, s->up.bytes);
	STAT_ADD(w, bytes_down, s->down.bytes);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		w->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	w->nsessions--;
	__atomic_fetch_sub(&w->gw->active, 1, __ATOMIC_RELAXED);
	session_defer(s);
	worker_session_closed(w);
}

void session_abort(struct session *s, const char *reason)
{
	session_close(s, NULL, reason);
}

/* Relayed sessions that end with a reset pass the reset on. */
static void session_reset(struct loop_io *io)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	if (io->fd >= 0)
		(void)setsockopt(io->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

/* ---- handshake I/O ----------------------------------------------------- */

/* Write queued output; returns 0 when all is written, 1 when waiting for
 * the socket, -1 on error (session closed). */
int session_send(struct session *s, const uint8_t *p, size_t len, size_t *off)
{
	while (*off < len) {
		ssize_t n;

		if (!s->cend.writable)
			return 1;
		n = send(s->cio.fd, p + *off, len - *off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				s->cend.writable = false;
				return 1;
			}
			session_close(s, "closed", "client write failed");
			return -1;
		}
		*off += (size_t)n;
	}
	return 0;
}

static int session_flush(struct session *s)
{
	struct session_hs *hs = s->hs;
	size_t off = hs->outoff;
	int r;

	if (off == hs->outlen)
		return 0;
	r = session_send(s, hs->out, hs->outlen, &off);
	if (r < 0)
		return -1;
	hs->outoff = (uint16_t)off;
	if (r == 0)
		hs->outoff = hs->outlen = 0;
	return r;
}

void session_queue(struct session *s, const uint8_t *p, size_t n)
{
	struct session_hs *hs = s->hs;
	size_t room = sizeof(hs->out) - hs->outlen, w;

	if (s->xform != NULL) {
		/* RFC 1961 §4: with protection, replies are wrapped too. */
		if (s->xform->ops->tx_wrap(s->xform, p, n, hs->out + hs->outlen, room, &w) < 0) {
			log_msg(LOG_LVL_ERR, "session=%llu reply not sent: %s",
				(unsigned long long)s->id, s->xform->err);
			return;
		}
		hs->outlen += (uint16_t)w;
		return;
	}
	/* The largest sequence (method select + reply) fits by construction. */
	if (n <= room) {
		memcpy(hs->out + hs->outlen, p, n);
		hs->outlen += (uint16_t)n;
	}
}

int session_recv(struct session *s, uint8_t *p, size_t cap, size_t *got)
{
	*got = 0;
	while (s->cend.readable) {
		ssize_t n = recv(s->cio.fd, p, cap, 0);

		if (n > 0) {
			/* A short read drained the socket, and edge-triggered
			 * epoll reports every later arrival, so no recv() is
			 * spent just to hear EAGAIN -- unless the FIN was
			 * already reported: it makes no new edge, and must
			 * still be read when relaying starts. */
			if ((size_t)n < cap && !s->cend.hup)
				s->cend.readable = false;
			*got = (size_t)n;
			return 1;
		}
		if (n == 0) {
			session_close(s, "closed", "client closed during handshake");
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			s->cend.readable = false;
			return 0;
		}
		session_close(s, "closed", "client read failed");
		return -1;
	}
	return 0;
}

/* Read what has arrived; returns 1 if bytes were added, 0 if none are
 * waiting, -1 if the session was closed (EOF, error, buffer full). */
static int session_read(struct session *s)
{
	struct session_hs *hs = s->hs;
	size_t n;
	int r;

	if (s->xform != NULL)
		return auth_gss_read_request(s);
	if (hs->inlen == sizeof(hs->in)) {
		session_close(s, "bad-request", "handshake too long");
		return -1;
	}
	r = session_recv(s, hs->in + hs->inlen, sizeof(hs->in) - hs->inlen, &n);
	if (r > 0)
		hs->inlen += (uint16_t)n;
	return r;
}

static void session_consume(struct session_hs *hs, size_t n)
{
	memmove(hs->in, hs->in + n, hs->inlen - n);
	hs->inlen -= (uint16_t)n;
}

/* The reply in the client's protocol.  SOCKS4 (reply version 0) has only
 * granted (90) or rejected (91) and cannot carry IPv6: a v6 BND is sent as
 * zeros, which CONNECT clients ignore anyway. */
size_t session_build_reply(struct session *s, uint8_t rep, const struct socks_addr *bnd,
			   uint8_t *buf, size_t cap)
{
	if (s->version == 4)
		return socks4_build_reply(buf, cap, socks4_cd_from_rep(rep),
					  bnd && bnd->atyp == SOCKS_ATYP_IPV4 ? bnd : NULL);
	return socks5_build_reply(buf, cap, rep, bnd);
}

/* Queue final bytes; the session closes once they are written and the
 * client has gone (or SESSION_LINGER_MS passed). */
void session_send_close(struct session *s, const uint8_t *buf, size_t n, const char *result,
			const char *reason)
{
	s->result = result;
	s->reason = reason;
	s->state = SS_FAILING;
	session_hs_stop_work(s);
	session_queue(s, buf, n);
	loop_timer_set(s->w->loop, &s->timer, SESSION_LINGER_MS);
	session_advance(s);
}

void session_reply_close(struct session *s, uint8_t rep, const struct socks_addr *bnd,
			 const char *result, const char *reason)
{
	uint8_t buf[SOCKS5_REPLY_MAX];
	size_t n = session_build_reply(s, rep, bnd, buf, sizeof(buf));

	s->rep = rep;
	session_send_close(s, buf, n, result, reason);
}

void session_fail(struct session *s, uint8_t rep, const char *result, const char *reason)
{
	session_reply_close(s, rep, NULL, result, reason);
}

/* ---- destination checks ------------------------------------------------- */

/* Destination policy for one address (literal or resolved), so a name
 * cannot route around a CIDR rule.  For clients that are not on the
 * gateway's own loopback, special destinations (loopback, link-local,
 * multicast, 0.0.0.0/8, the gateway's own addresses) need a pass rule that
 * names them: a rule with a `to` list matched, `any` does not count. */
bool session_dst_allowed(struct session *s, const struct sockaddr *sa, uint8_t command)
{
	struct rule_query q;
	const struct rule *r;
	bool special;
	char a[SOCKS_ADDR_STRLEN];

	/* A BIND for "any peer" names no destination to protect. */
	special = !s->client_local && !(command == RULE_CMD_BIND && sa_is_unspecified(sa)) &&
		  (sa_is_special(sa) || netstate_is_local(s->w->net, sa));
	if (s->conf->nrules == 0) {
		/* Only loopback clients get this far without rules. */
		return !special;
	}
	memset(&q, 0, sizeof(q));
	q.client = &s->client.sa;
	q.dst = &s->dst;
	q.dst_sa = sa;
	q.command = command;
	q.method = s->method == SOCKS5_METHOD_USERNAME ? RULE_METHOD_USERNAME
		   : s->method == SOCKS5_METHOD_GSSAPI ? RULE_METHOD_GSSAPI
						       : RULE_METHOD_NONE;
	q.version = s->version == 4 ? RULE_VERSION_4 : RULE_VERSION_5;
	q.user = s->user;
	r = rules_match(s->conf->rules, s->conf->nrules, &q);
	if (r == NULL || !r->pass) {
		log_info("session=%llu destination %s refused by %s %u", (unsigned long long)s->id,
			 sockaddr_format(sa, a, sizeof(a)),
			 r ? "block rule at line" : "default deny", r ? r->line : 0);
		s->deny_line = r ? r->line : 0;
		return false;
	}
	if (special && r->nto == 0) {
		log_info("session=%llu destination %s is the gateway's own, loopback, link-local "
			 "or multicast: rule at line %u passes it only with `to` naming it",
			 (unsigned long long)s->id, sockaddr_format(sa, a, sizeof(a)), r->line);
		return false;
	}
	return true;
}

/* ---- greeting and request ----------------------------------------------- */

static void session_greeting(struct session *s)
{
	struct session_hs *hs = s->hs;
	struct socks5_greeting g;
	size_t used;
	uint8_t m, out[2];

	if (hs->inlen > 0 && hs->in[0] == SOCKS4_VERSION) {
		/* SOCKS4/4a has no greeting: the request comes first.  It has
		 * no login either, so it is served only when `auth` offers
		 * none: a gateway that requires logins cannot be entered by
		 * speaking the older protocol. */
		s->version = 4;
		if (memchr(s->conf->methods, SOCKS5_METHOD_NONE, s->conf->nmethods) == NULL) {
			session_fail(s, SOCKS5_REP_NOT_ALLOWED, "denied",
				     "SOCKS4 has no login and auth does not offer none");
			return;
		}
		s->state = SS_REQUEST;
		return;
	}
	switch (socks5_parse_greeting(hs->in, hs->inlen, &g, &used)) {
	case CODEC_NEED_MORE:
		return;
	case CODEC_ERR:
		/* Not SOCKS5 (or no methods): nothing sensible to answer. */
		session_close(s, "bad-request", "bad greeting");
		return;
	case CODEC_OK:
		break;
	}
	session_consume(hs, used);
	m = socks5_choose_method(&g, s->conf->methods, s->conf->nmethods);
	socks5_build_method_select(out, sizeof(out), m);
	session_queue(s, out, 2);
	if (m == SOCKS5_METHOD_NO_ACCEPTABLE) {
		/* §3: the client must close; we close after the reply. */
		s->result = "denied";
		s->reason = "no acceptable method";
		s->state = SS_FAILING;
		loop_timer_set(s->w->loop, &s->timer, SESSION_LINGER_MS);
		return;
	}
	s->method = m;
	if (m == SOCKS5_METHOD_GSSAPI) {
		/* Whatever followed the greeting is the first RFC 1961
		 * message (or part of it). */
		auth_gss_start(s, hs->in, hs->inlen);
		hs->inlen = 0;
		return;
	}
	s->state = m == SOCKS5_METHOD_USERNAME ? SS_AUTH : SS_REQUEST;
}

/* RFC 1929: the credentials go to a verifier thread; the client waits. */
static void session_auth(struct session *s)
{
	struct session_hs *hs = s->hs;
	struct authq_job *j;
	size_t used;
	uint8_t fail[AUTH_PASS_REPLY_LEN];

	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		session_close(s, "error", "out of memory");
		return;
	}
	switch (auth_pass_parse_request(hs->in, hs->inlen, &j->creds, &used)) {
	case CODEC_NEED_MORE:
		free(j);
		return;
	case CODEC_ERR:
		free(j);
		auth_pass_build_reply(fail, sizeof(fail), AUTH_PASS_STATUS_FAIL);
		session_send_close(s, fail, sizeof(fail), "bad-request",
				   "malformed username/password request");
		return;
	case CODEC_OK:
		break;
	}
	/* The password leaves the input buffer at once. */
	explicit_bzero(hs->in, used);
	session_consume(hs, used);
	j->w = s->w;
	j->s = s;
	j->conf = conf_ref(s->conf);
	hs->auth_job = j;
	s->state = SS_AUTH_WAIT;
	authq_submit(s->w->gw->authq, j);
}

/* One line per failed login, at most five per ten seconds per worker: a
 * password-guessing burst must not flood the log. */
static void session_auth_log_failure(struct session *s, const char *name)
{
	struct worker *w = s->w;
	uint64_t now = loop_now(w->loop);
	char client[SOCKS_ADDR_STRLEN];

	if (now - w->authfail_since >= 10000) {
		if (w->authfail_quiet > 0)
			log_msg(LOG_LVL_WARN, "%u more failed logins were not logged",
				w->authfail_quiet);
		w->authfail_since = now;
		w->authfail_count = 0;
		w->authfail_quiet = 0;
	}
	if (++w->authfail_count > 5) {
		w->authfail_quiet++;
		return;
	}
	log_msg(LOG_LVL_WARN, "session=%llu login failed for user '%s' from %s",
		(unsigned long long)s->id, name,
		sockaddr_format(&s->client.sa, client, sizeof(client)));
}

int session_login(struct session *s, const char *name, const char **why)
{
	free(s->user);
	s->user = strdup(name);
	if (s->user == NULL) {
		*why = "out of memory";
		return -1;
	}
	if (s->conf->max_sessions_per_user) {
		if (!quota_acquire(s->w->gw->quota, s->user, strlen(s->user) + 1,
				   s->conf->max_sessions_per_user)) {
			*why = "max-sessions-per-user reached";
			return -1;
		}
		s->limit_user = true;
	}
	return 0;
}

void session_auth_done(struct session *s, struct authq_job *j)
{
	uint8_t reply[AUTH_PASS_REPLY_LEN];
	const char *why;

	if (s->hs != NULL)
		s->hs->auth_job = NULL;
	if (s->state != SS_AUTH_WAIT)
		return;
	if (!j->ok) {
		session_auth_log_failure(s, j->creds.name);
		auth_pass_build_reply(reply, sizeof(reply), AUTH_PASS_STATUS_FAIL);
		session_send_close(s, reply, sizeof(reply), "denied", "bad username or password");
		return;
	}
	if (session_login(s, j->creds.name, &why) < 0) {
		auth_pass_build_reply(reply, sizeof(reply), AUTH_PASS_STATUS_FAIL);
		session_send_close(s, reply, sizeof(reply), "denied", why);
		return;
	}
	auth_pass_build_reply(reply, sizeof(reply), AUTH_PASS_STATUS_OK);
	session_queue(s, reply, sizeof(reply));
	s->state = SS_REQUEST;
	session_advance(s);
}

static void session_request4(struct session *s)
{
	struct session_hs *hs = s->hs;
	struct socks4_request r;
	size_t used;

	switch (socks4_parse_request(hs->in, hs->inlen, &r, &used)) {
	case CODEC_NEED_MORE:
		return;
	case CODEC_ERR:
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "bad-request",
			     "malformed SOCKS4 request");
		return;
	case CODEC_OK:
		break;
	}
	session_consume(hs, used);
	s->cmd = r.cmd;
	s->dst = r.dst;
	/* The SOCKS4 user id is the client's claim, not a login: rules may
	 * match it (`user`), logs show it. */
	if (r.userid[0] != '\0' && (s->user = strdup(r.userid)) == NULL) {
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "error", "out of memory");
		return;
	}
	loop_timer_set(s->w->loop, &s->timer, s->conf->connect_timeout_ms);
	if (r.cmd == SOCKS4_CMD_BIND) {
		session_dial_bind(s);
		return;
	}
	if (r.cmd != SOCKS4_CMD_CONNECT) {
		session_fail(s, SOCKS5_REP_CMD_NOT_SUPPORTED, "bad-request",
			     "command not supported");
		return;
	}
	if (socks_addr_is_synthetic_v4(&s->dst)) {
		session_fail(s, SOCKS5_REP_NOT_ALLOWED, "denied",
			     "destination in 0.0.0.0/8 (SOCKS4 without a 4a name)");
		return;
	}
	session_dial_connect(s);
}

static void session_request(struct session *s)
{
	struct session_hs *hs = s->hs;
	struct socks5_request r;
	size_t used;
	uint8_t rep = SOCKS5_REP_GENERAL_FAILURE;

	switch (socks5_parse_request(hs->in, hs->inlen, &r, &used, &rep)) {
	case CODEC_NEED_MORE:
		return;
	case CODEC_ERR:
		session_fail(s, rep, "bad-request",
			     rep == SOCKS5_REP_ATYP_NOT_SUPPORTED ? "address type not supported"
								  : "malformed request");
		return;
	case CODEC_OK:
		break;
	}
	session_consume(hs, used);
	s->cmd = r.cmd;
	s->dst = r.dst;
	/* The handshake timer now covers resolving and connecting. */
	loop_timer_set(s->w->loop, &s->timer, s->conf->connect_timeout_ms);
	if (r.cmd == SOCKS5_CMD_RESOLVE && s->conf->allow_resolve) {
		session_dial_resolve(s);
		return;
	}
	if (r.cmd == SOCKS5_CMD_BIND) {
		session_dial_bind(s);
		return;
	}
	if (r.cmd == SOCKS5_CMD_UDP_ASSOCIATE) {
		udp_start(s);
		return;
	}
	if (r.cmd != SOCKS5_CMD_CONNECT) {
		session_fail(s, SOCKS5_REP_CMD_NOT_SUPPORTED, "bad-request",
			     "command not supported");
		return;
	}
	if (socks_addr_is_synthetic_v4(&s->dst)) {
		/* A 0.0.0.0/8 destination is a shim's synthetic address that
		 * escaped it: refuse loudly rather than dial it (DESIGN.md). */
		char a[SOCKS_ADDR_STRLEN];

		log_msg(LOG_LVL_WARN,
			"session=%llu refused leaked synthetic address %s (the client's "
			"shim is not resolving names through the gateway)",
			(unsigned long long)s->id, socks_addr_format(&s->dst, a, sizeof(a)));
		session_fail(s, SOCKS5_REP_NOT_ALLOWED, "denied", "leaked synthetic address");
		return;
	}
	session_dial_connect(s);
}

/* ---- relaying ------------------------------------------------------------ */

static void session_io_cb(struct loop_io *io, uint32_t ev);

void session_start_relay(struct session *s, bool registered)
{
	uint32_t ev = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	int rc;

	s->uio.cb = session_io_cb;
	s->uend.fd = s->uio.fd;
	/* Nothing can have come from the destination that epoll will not
	 * report: registering (or re-registering) checks readiness. */
	s->uend.readable = false;
	s->uend.writable = true;
	s->state = SS_REPLYING;
	/* The dialer registered the fd under its own handle: point epoll at
	 * ours and ask for both directions. */
	rc = registered ? loop_io_mod(s->w->loop, &s->uio, ev)
			: loop_io_add(s->w->loop, &s->uio, ev);
	if (rc < 0) {
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "error", "epoll_ctl failed");
		return;
	}
	session_advance(s);
}

/* Reply written: hand early client bytes to the relay, drop the handshake
 * state and switch the timer to idle. */
static void session_enter_relay(struct session *s)
{
	struct session_hs *hs = s->hs;

	if (hs->inlen > 0 && relay_dir_preload(&s->up, hs->in, hs->inlen) < 0) {
		session_close(s, "error", "out of memory");
		return;
	}
	s->state = SS_RELAYING;
	s->result = "ok";
	STAT_ADD(s->w, ok, 1);
	session_hs_release(s);
	s->t_active = loop_now(s->w->loop);
	if (s->conf->idle_timeout_ms)
		loop_timer_set(s->w->loop, &s->timer, s->conf->idle_timeout_ms);
	else
		loop_timer_cancel(s->w->loop, &s->timer);
}

/* A pump failed: pass a reset on, or end on a message the client side's
 * transform refused (forged, replayed, malformed, or the client's abort:
 * the stream cannot be trusted past it).  up: the client -> destination
 * direction. */
static void session_relay_fail(struct session *s, enum relay_status st, bool up)
{
	bool client_side;

	if (st == RELAY_ERR_XFORM) {
		session_close(s, up ? NULL : "error", s->xform->err);
		return;
	}
	/* Which socket failed: the source of up is the client. */
	client_side = (st == RELAY_ERR_SRC) == up;
	session_reset(client_side ? &s->uio : &s->cio);
	session_close(s, NULL, client_side ? "client reset" : "destination reset");
}

static void session_relay(struct session *s)
{
	struct worker *w = s->w;
	bool moved = false;
	enum relay_status a, b;

	/* Unprotected sessions keep the splice path. */
	if (s->xform == NULL)
		a = relay_pump(&w->pipes, &s->up, &s->cend, &s->uend, &moved);
	else
		a = relay_pump_from_client(&s->up, s->xform, &s->cend, &s->uend, &moved);
	if (a != RELAY_WAIT && a != RELAY_MORE) {
		session_relay_fail(s, a, true);
		return;
	}
	if (s->xform == NULL)
		b = relay_pump(&w->pipes, &s->down, &s->uend, &s->cend, &moved);
	else
		b = relay_pump_to_client(&w->pipes, &s->down, s->xform, &s->uend, &s->cend, &moved);
	if (b != RELAY_WAIT && b != RELAY_MORE) {
		session_relay_fail(s, b, false);
		return;
	}
	if (moved)
		s->t_active = loop_now(w->loop);
	if (s->up.shut && s->down.shut) {
		session_close(s, NULL, NULL);
		return;
	}
	if (a == RELAY_MORE || b == RELAY_MORE)
		session_defer(s);
}

static void session_udp_control(struct session *s)
{
	uint8_t sink[512];

	while (s->cend.readable) {
		ssize_t n = recv(s->cio.fd, sink, sizeof(sink), 0);

		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			s->cend.readable = false;
			return;
		}
		session_close(s, NULL,
			      n == 0 ? "control connection closed" : "control connection reset");
		return;
	}
}

/* ---- dispatch ------------------------------------------------------------ */

/* Run the current state's handler until it waits for I/O. */
void session_advance(struct session *s)
{
	/* Terminates: every pass either changes state, consumes input (bounded
	 * by the handshake buffer) or returns to wait for I/O. */
	for (;;) {
		uint8_t before = s->state;

		switch (s->state) {
		case SS_GREETING:
		case SS_AUTH:
		case SS_REQUEST:
			if (session_flush(s) < 0)
				return;
			if (s->state == SS_GREETING)
				session_greeting(s);
			else if (s->state == SS_AUTH)
				session_auth(s);
			else if (s->version == 4)
				session_request4(s);
			else
				session_request(s);
			if (s->state == before && s->state != SS_CLOSED) {
				/* Incomplete message: read more, or wait. */
				int r = session_read(s);

				if (r <= 0)
					return;
			}
			continue;
		case SS_GSS_AUTH:
		case SS_GSS_LEVEL:
			if (session_flush(s) != 0)
				return;
			auth_gss_advance(s);
			if (s->state == before)
				return;
			continue;
		case SS_AUTH_WAIT:
		case SS_RESOLVING:
		case SS_CONNECTING:
			/* The client waits for its reply; its bytes stay queued. */
			return;
		case SS_BIND_WAIT:
			/* First reply out; the peer's connection moves us on. */
			session_flush(s);
			return;
		case SS_UDP:
			/* The control connection only says "still here" (§7):
			 * anything it sends is dropped, its end ends the
			 * association. */
			if (s->hs != NULL && s->hs->outlen > 0) {
				if (session_flush(s) != 0)
					return;
				session_hs_release(s);
			}
			session_udp_control(s);
			return;
		case SS_REPLYING:
			if (session_flush(s) != 0)
				return;
			session_enter_relay(s);
			continue;
		case SS_RELAYING:
			session_relay(s);
			return;
		case SS_FAILING:
			if (s->hs != NULL && s->hs->outlen > 0) {
				if (session_flush(s) != 0)
					return;
				shutdown(s->cio.fd, SHUT_WR);
				s->hs->inlen = 0;
			}
			/* Discard what the client still sends until it closes
			 * (closing on unread data would reset our reply). */
			while (s->cend.readable) {
				ssize_t n = recv(s->cio.fd, s->hs->in, sizeof(s->hs->in), 0);

				if (n > 0)
					continue;
				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0 && errno == EAGAIN) {
					s->cend.readable = false;
					break;
				}
				session_close(s, NULL, NULL);
				return;
			}
			return;
		case SS_CLOSED:
		default:
			return;
		}
	}
}

static void session_mark(struct relay_end *e, uint32_t ev)
{
	if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		e->readable = true;
	if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		e->hup = true;
	if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		e->writable = true;
}

static void session_client_cb(struct loop_io *io, uint32_t ev)
{
	struct session *s = container_of(io, struct session, cio);

	session_mark(&s->cend, ev);
	if ((s->state == SS_RESOLVING || s->state == SS_CONNECTING || s->state == SS_AUTH_WAIT ||
	     s->state == SS_BIND_WAIT) &&
	    (ev & (EPOLLHUP | EPOLLERR))) {
		session_close(s, "closed", "client gone before reply");
		return;
	}
	session_advance(s);
}

static void session_io_cb(struct loop_io *io, uint32_t ev)
{
	struct session *s = container_of(io, struct session, uio);

	session_mark(&s->uend, ev);
	session_advance(s);
}

static void session_timer_cb(struct timer *t)
{
	struct session *s = container_of(t, struct session, timer);
	uint64_t now = loop_now(s->w->loop), idle;

	switch (s->state) {
	case SS_GREETING:
	case SS_AUTH:
	case SS_AUTH_WAIT:
	case SS_GSS_AUTH:
	case SS_GSS_LEVEL:
	case SS_REQUEST:
		session_close(s, "timeout", "handshake timeout");
		return;
	case SS_RESOLVING:
	case SS_CONNECTING:
		session_fail(s, SOCKS5_REP_TTL_EXPIRED, "timeout", "connect timeout");
		return;
	case SS_BIND_WAIT:
		session_fail(s, SOCKS5_REP_TTL_EXPIRED, "timeout", "BIND: no peer connected");
		return;
	case SS_RELAYING:
	case SS_UDP:
		idle = now - s->t_active;
		if (idle >= s->conf->idle_timeout_ms) {
			session_close(s, NULL, "idle timeout");
			return;
		}
		loop_timer_set(s->w->loop, t, s->conf->idle_timeout_ms - idle);
		return;
	case SS_FAILING:
	case SS_REPLYING:
		session_close(s, NULL, NULL);
		return;
	default:
		return;
	}
}

void session_new(struct worker *w, int fd, const struct sockaddr *sa, socklen_t salen)
{
	struct session *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->hs = calloc(1, sizeof(*s->hs))) == NULL) {
		free(s);
		close(fd);
		log_warnx("session: out of memory, connection dropped");
		return;
	}
	s->hs->s = s;
	s->hs->lio.fd = -1;
	session_dial_prepare(s->hs, w->loop);
	s->w = w;
	s->conf = conf_ref(w->conf);
	s->id = __atomic_add_fetch(&w->gw->next_id, 1, __ATOMIC_RELAXED);
	s->t_start = s->t_active = loop_now(w->loop);
	s->result = "closed";
	s->state = SS_GREETING;
	s->version = 5;
	s->method = SOCKS5_METHOD_NONE;
	if (salen > sizeof(s->client))
		salen = sizeof(s->client);
	memcpy(&s->client, sa, salen);
	s->client_local = sa_is_loopback(sa);
	s->cio.fd = fd;
	s->cio.cb = session_client_cb;
	s->uio.fd = -1;
	s->cend.fd = fd;
	s->uend.fd = -1;
	s->timer.cb = session_timer_cb;
	/* TCP_NODELAY comes from the listening socket. */

	s->next = w->sessions;
	if (w->sessions != NULL)
		w->sessions->prev = s;
	w->sessions = s;
	w->nsessions++;
	STAT_ADD(w, accepted, 1);

	if (loop_io_add(w->loop, &s->cio, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) < 0) {
		session_close(s, "error", "epoll_ctl failed");
		return;
	}
	loop_timer_set(w->loop, &s->timer, s->conf->handshake_timeout_ms);
	if (s->conf->max_sessions_per_client) {
		uint8_t key[16];

		session_client_key(s, key);
		if (!quota_acquire(w->gw->quota, key, sizeof(key),
				   s->conf->max_sessions_per_client)) {
			session_close(s, "denied", "max-sessions-per-client reached");
			return;
		}
		s->limit_client = true;
	}
	/* Data usually arrives with the connection: try at once. */
	s->cend.readable = true;
	s->cend.writable = true;
	session_advance(s);
}
