/* session_dial — where a request goes: resolving its name (c-ares on the
 * worker's loop, cache first), checking every address against the rules
 * and netwatch, and the Happy Eyeballs dial (connect.c) for CONNECT; the
 * one-address answers of RESOLVE and the expected peer of BIND.  Failures
 * become the reply and the session line's result here. */
#include "session_priv.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "conf.h"
#include "connect.h"
#include "log.h"
#include "netstate.h"
#include "resolver.h"
#include "rules.h"
#include "socks5.h"
#include "worker.h"

static int session_dial_check(struct dialer *d, const struct sockaddr *sa)
{
	struct session_hs *hs = container_of(d, struct session_hs, dialer);

	if (!session_dst_allowed(hs->s, sa, RULE_CMD_CONNECT))
		return EACCES;
	/* netwatch's view: no covering route or no usable source address of
	 * that family now (e.g. the IPv6 uplink is gone). */
	if (!netstate_reachable(hs->s->w->net, sa)) {
		char a[SOCKS_ADDR_STRLEN];

		log_debug("session=%llu skipping %s: no route or source address of its family",
			  (unsigned long long)hs->s->id, sockaddr_format(sa, a, sizeof(a)));
		return ENETUNREACH;
	}
	return 0;
}

/* A failed connect: the reply from errno, and a result that says the
 * same (EMFILE and the like are the gateway's own failure, REP 1). */
static void session_dial_fail_errno(struct session *s, int err)
{
	uint8_t rep = socks5_rep_from_errno(err);

	session_fail(s, rep,
		     err == ECONNREFUSED                 ? "refused"
		     : err == ETIMEDOUT                  ? "timeout"
		     : rep == SOCKS5_REP_GENERAL_FAILURE ? "error"
							 : "unreachable",
		     strerror(err));
}

/* Why a name gave no address, for the session line.  With one family
 * failing and the other empty, the failure is the reason: the failed
 * family might have had addresses. */
static int session_dial_dns_merge(int old, enum dns_status st)
{
	static const uint8_t weight[] = {
		[DNS_OK] = 0,      [DNS_NODATA] = 1, [DNS_NXDOMAIN] = 2,
		[DNS_TIMEOUT] = 3, [DNS_FAIL] = 3,
	};

	if ((unsigned)st >= sizeof(weight) || (unsigned)old >= sizeof(weight))
		return (int)st;
	return weight[st] >= weight[old] ? (int)st : old;
}

static const char *session_dial_dns_reason(int st)
{
	switch (st) {
	case DNS_TIMEOUT:
		return "dns timeout";
	case DNS_NXDOMAIN:
		return "no such name";
	case DNS_FAIL:
		return "dns server failure";
	default:
		return "no address";
	}
}

static void session_dial_connected(struct dialer *d, int fd, int err)
{
	struct session_hs *hs = container_of(d, struct session_hs, dialer);
	struct session *s = hs->s;
	union session_sa bnd;
	socklen_t len = sizeof(bnd);
	struct socks_addr ba;
	uint8_t buf[SOCKS5_REPLY_MAX];
	size_t n;

	if (fd < 0) {
		if (err == EACCES && d->denied > 0)
			session_fail(s, SOCKS5_REP_NOT_ALLOWED, "denied",
				     "destination not allowed");
		else if (hs->ncand == 0 && s->dst.atyp == SOCKS_ATYP_NAME)
			session_fail(s, SOCKS5_REP_HOST_UNREACHABLE, "dns-fail",
				     session_dial_dns_reason(hs->dns_status));
		else
			session_dial_fail_errno(s, err);
		return;
	}
	s->uio.fd = fd;
	memcpy(&s->peer, &d->winner, sizeof(s->peer));
	/* BND is where we connected from (RFC 1928 §6), in the
	 * destination's family. */
	len = sizeof(bnd);
	if (getsockname(fd, &bnd.sa, &len) < 0 || socks_addr_from_sockaddr(&ba, &bnd.sa) < 0)
		memset(&ba, 0, sizeof(ba));
	n = session_build_reply(s, SOCKS5_REP_SUCCEEDED, &ba, buf, sizeof(buf));
	s->rep = SOCKS5_REP_SUCCEEDED;
	session_queue(s, buf, n);
	s->state = SS_REPLYING;
	session_start_relay(s, true);
}

static void session_dial_start(struct session *s)
{
	struct session_hs *hs = s->hs;

	s->state = SS_CONNECTING;
	dialer_start(&hs->dialer);
}

static void session_dial_res_delay_cb(struct timer *t)
{
	struct session_hs *hs = container_of(t, struct session_hs, res_delay);

	session_dial_start(hs->s);
}

/* RESOLVE (Tor's 0xF0 extension, used by the shim's name check): answer
 * with one address of the name, the preferred family first. */
static void session_dial_resolve_done(struct session *s)
{
	struct session_hs *hs = s->hs;
	int first = s->conf->prefer == CONF_PREFER_IPV4 ? 1 : 0;
	union session_sa sa;
	struct socks_addr ba;

	for (int k = 0; k < 2; k++) {
		int f = (first + k) % 2;

		if (!hs->res_have[f])
			continue;
		memset(&sa, 0, sizeof(sa));
		if (f == 0) {
			sa.v6.sin6_family = AF_INET6;
			sa.v6.sin6_addr = hs->res_addr[f].v6;
		} else {
			sa.v4.sin_family = AF_INET;
			sa.v4.sin_addr = hs->res_addr[f].v4;
		}
		if (s->cmd == SOCKS5_CMD_BIND) {
			bind_start(s, &sa.sa);
			return;
		}
		if (!session_dst_allowed(s, &sa.sa, RULE_CMD_RESOLVE)) {
			session_fail(s, SOCKS5_REP_NOT_ALLOWED, "denied", "name not allowed");
			return;
		}
		socks_addr_from_sockaddr(&ba, &sa.sa);
		s->peer = sa;
		session_reply_close(s, SOCKS5_REP_SUCCEEDED, &ba, "ok", NULL);
		return;
	}
	session_fail(s, SOCKS5_REP_HOST_UNREACHABLE, "dns-fail",
		     session_dial_dns_reason(hs->dns_status));
}

static void session_dial_add_answer(struct session *s, const struct dns_answer *a)
{
	struct session_hs *hs = s->hs;

	/* RESOLVE and BIND only need one address of the name. */
	if (s->cmd == SOCKS5_CMD_RESOLVE || s->cmd == SOCKS5_CMD_BIND) {
		int f = a->family == AF_INET6 ? 0 : 1;

		hs->families_pending &= a->family == AF_INET6 ? ~RESOLVE_V6 : ~RESOLVE_V4;
		if (a->status == DNS_OK && a->naddrs > 0) {
			hs->res_have[f] = true;
			hs->res_addr[f] = a->addrs[0];
		} else {
			hs->dns_status = session_dial_dns_merge(hs->dns_status, a->status);
		}
		if (hs->families_pending == 0)
			session_dial_resolve_done(s);
		return;
	}
	int fam = a->family == AF_INET6 ? RESOLVE_V6 : RESOLVE_V4;
	int preferred = s->conf->prefer == CONF_PREFER_IPV4 ? RESOLVE_V4 : RESOLVE_V6;

	hs->families_pending &= ~fam;
	if (a->status == DNS_OK && a->naddrs > 0) {
		hs->ncand += a->naddrs;
		dialer_add(&hs->dialer, a->family, a->addrs, a->naddrs);
	} else {
		hs->dns_status = session_dial_dns_merge(hs->dns_status, a->status);
	}
	/* RFC 8305 §3: start on the preferred family's answer; if the other
	 * comes first, give the preferred one a short resolution delay. */
	if (s->state == SS_RESOLVING) {
		if (hs->families_pending == 0 || fam == preferred ||
		    s->conf->prefer == CONF_PREFER_NONE || s->conf->resolution_delay_ms == 0) {
			loop_timer_cancel(s->w->loop, &hs->res_delay);
			session_dial_start(s);
		} else if (!timer_armed(&hs->res_delay) && a->status == DNS_OK) {
			loop_timer_set(s->w->loop, &hs->res_delay, s->conf->resolution_delay_ms);
		}
	}
	if (s->state != SS_CLOSED && s->hs != NULL)
		dialer_family_done(&hs->dialer, a->family);
}

static void session_dial_resolved(struct resolver_query *q, const struct dns_answer *a)
{
	struct session_hs *hs = container_of(q, struct session_hs, query);

	session_dial_add_answer(hs->s, a);
}

/* CONNECT (RFC 1928 §4): literals go straight to the dialer; names are
 * answered from the cache where possible, else both families are asked. */
void session_dial_connect(struct session *s)
{
	struct session_hs *hs = s->hs;
	bool prefer_v4 = s->conf->prefer == CONF_PREFER_IPV4;
	union dns_addr lit;

	if (s->dst.atyp != SOCKS_ATYP_NAME) {
		int fam = s->dst.atyp == SOCKS_ATYP_IPV4 ? AF_INET : AF_INET6;

		if (fam == AF_INET)
			lit.v4 = s->dst.u.v4;
		else
			lit.v6 = s->dst.u.v6;
		dialer_init(&hs->dialer, s->w->loop, s->dst.port, prefer_v4,
			    s->conf->attempt_delay_ms, 0);
		dialer_add(&hs->dialer, fam, &lit, 1);
		session_dial_start(s);
		return;
	}
	hs->families_pending = RESOLVE_V4 | RESOLVE_V6;
	dialer_init(&hs->dialer, s->w->loop, s->dst.port, prefer_v4, s->conf->attempt_delay_ms,
		    hs->families_pending);
	s->state = SS_RESOLVING;
	for (int i = 0; i < 2; i++) {
		/* Preferred family first, so a full cache hit starts with it. */
		int fam = (i == 0) == prefer_v4 ? AF_INET : AF_INET6;
		struct dns_answer a;

		if (resolver_cached(s->w->resolver, s->dst.u.name, fam, &a)) {
			session_dial_add_answer(s, &a);
			if (s->state == SS_CLOSED || s->state == SS_FAILING)
				return;
		}
	}
	if (hs->families_pending == 0)
		return;
	if (resolver_lookup(s->w->resolver, &hs->query, s->dst.u.name, hs->families_pending) < 0)
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "error", "resolver: out of memory");
}

void session_dial_resolve(struct session *s)
{
	struct session_hs *hs = s->hs;

	if (s->dst.atyp != SOCKS_ATYP_NAME) {
		/* A literal resolves to itself (RFC 3089 §3 literals). */
		int f = s->dst.atyp == SOCKS_ATYP_IPV6 ? 0 : 1;

		hs->res_have[f] = true;
		if (f == 0)
			hs->res_addr[f].v6 = s->dst.u.v6;
		else
			hs->res_addr[f].v4 = s->dst.u.v4;
		session_dial_resolve_done(s);
		return;
	}
	hs->families_pending = RESOLVE_V4 | RESOLVE_V6;
	s->state = SS_RESOLVING;
	for (int fam = AF_INET; fam != 0; fam = fam == AF_INET ? AF_INET6 : 0) {
		struct dns_answer a;

		if (resolver_cached(s->w->resolver, s->dst.u.name, fam, &a)) {
			session_dial_add_answer(s, &a);
			if (s->state != SS_RESOLVING)
				return;
		}
	}
	if (resolver_lookup(s->w->resolver, &hs->query, s->dst.u.name, hs->families_pending) < 0)
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "error", "resolver: out of memory");
}

/* BIND: the expected peer is a literal (0.0.0.0 or :: for "anyone") or a
 * name resolved first. */
void session_dial_bind(struct session *s)
{
	struct sockaddr_storage ss;

	if (s->dst.atyp == SOCKS_ATYP_NAME) {
		session_dial_resolve(s);
		return;
	}
	if (s->dst.atyp == SOCKS_ATYP_IPV4 && s->dst.u.v4.s_addr != htonl(INADDR_ANY) &&
	    socks_addr_is_synthetic_v4(&s->dst)) {
		session_fail(s, SOCKS5_REP_NOT_ALLOWED, "denied", "leaked synthetic address");
		return;
	}
	socks_addr_to_sockaddr(&s->dst, &ss);
	bind_start(s, (struct sockaddr *)&ss);
}

void session_dial_prepare(struct session_hs *hs, struct loop *loop)
{
	hs->query.cb = session_dial_resolved;
	hs->dialer.done = session_dial_connected;
	hs->dialer.check = session_dial_check;
	dialer_init(&hs->dialer, loop, 0, false, 0, 0);
	hs->res_delay.cb = session_dial_res_delay_cb;
}
