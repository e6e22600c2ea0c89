/* bind — the BIND command (RFC 1928 §4 and §6; SOCKS4 CD=2).
 *
 * The gateway listens in the family that reaches the expected peer, on the
 * local address its routing table would use towards that peer (found with
 * a connected UDP socket: a route lookup, no packet sent), so the first
 * reply names an address the peer can actually reach, never 0.0.0.0.  Only
 * the expected peer may connect: others are turned away and logged while
 * the wait goes on, so a stray or hostile connection cannot end it.  The
 * second reply names the peer; then the session relays. */
#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "netstate.h"
#include "rules.h"
#include "session_priv.h"
#include "socks5.h"
#include "worker.h"

static bool bind_is_unspecified(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

/* Same host?  Ports are not compared: FTP servers connect from port 20 or
 * anywhere, whatever the client announced. */
static bool bind_same_host(const struct sockaddr *a, const struct sockaddr *b)
{
	struct socks_addr x, y;

	if (socks_addr_from_sockaddr(&x, a) < 0 || socks_addr_from_sockaddr(&y, b) < 0 ||
	    x.atyp != y.atyp)
		return false;
	if (x.atyp == SOCKS_ATYP_IPV4)
		return x.u.v4.s_addr == y.u.v4.s_addr;
	return memcmp(&x.u.v6, &y.u.v6, sizeof(x.u.v6)) == 0;
}

/* The local address for listening: the route towards the peer, or, for
 * "any peer", the address the client reached us on if the family matches,
 * else the first global address of the family we have. */
static int bind_local_addr(struct session *s, const struct sockaddr *peer, union session_sa *local)
{
	socklen_t len = sizeof(*local);
	int fd, rc = -1;

	memset(local, 0, sizeof(*local));
	if (bind_is_unspecified(peer)) {
		const struct netstate *n = s->w->net;

		if (getsockname(s->cio.fd, &local->sa, &len) == 0 &&
		    local->sa.sa_family == peer->sa_family)
			goto out_port;
		for (size_t i = 0; n != NULL && i < n->nlocal; i++) {
			const struct sockaddr *sa = (const struct sockaddr *)&n->local[i];

			if (sa->sa_family != peer->sa_family)
				continue;
			if (sa->sa_family == AF_INET6 &&
			    (IN6_IS_ADDR_LINKLOCAL(&((const struct sockaddr_in6 *)sa)->sin6_addr) ||
			     IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr)))
				continue;
			if (sa->sa_family == AF_INET &&
			    (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127)
				continue;
			memcpy(local, sa,
			       sa->sa_family == AF_INET ? sizeof(struct sockaddr_in)
							: sizeof(struct sockaddr_in6));
			goto out_port;
		}
		errno = EADDRNOTAVAIL;
		return -1;
	}
	fd = socket(peer->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, peer,
		    peer->sa_family == AF_INET ? sizeof(struct sockaddr_in)
					       : sizeof(struct sockaddr_in6)) == 0 &&
	    getsockname(fd, &local->sa, &len) == 0)
		rc = 0;
	close(fd);
	if (rc < 0)
		return -1;
out_port:
	if (local->sa.sa_family == AF_INET)
		local->v4.sin_port = 0;
	else
		local->v6.sin6_port = 0;
	return 0;
}

static void bind_accept_cb(struct loop_io *io, uint32_t events)
{
	struct session_hs *hs = container_of(io, struct session_hs, lio);
	struct session *s = hs->s;
	char a[SOCKS_ADDR_STRLEN];

	(void)events;
	for (int i = 0; i < 16; i++) {
		union session_sa peer;
		socklen_t len = sizeof(peer);
		struct socks_addr ba;
		uint8_t buf[SOCKS5_REPLY_MAX];
		size_t n;
		int one = 1;
		int fd = accept4(io->fd, &peer.sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		if (!hs->bind_any && !bind_same_host(&peer.sa, &hs->bind_peer.sa)) {
			log_msg(LOG_LVL_WARN,
				"session=%llu BIND: refused a connection from %s (expecting %s)",
				(unsigned long long)s->id, sockaddr_format(&peer.sa, a, sizeof(a)),
				sockaddr_format(&hs->bind_peer.sa, a + 128, sizeof(a) - 128));
			close(fd);
			continue;
		}
		loop_io_close(s->w->loop, io);
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		s->uio.fd = fd;
		s->peer = peer;
		/* Second reply: who connected (RFC 1928 §6). */
		if (socks_addr_from_sockaddr(&ba, &peer.sa) < 0)
			memset(&ba, 0, sizeof(ba));
		n = session_build_reply(s, SOCKS5_REP_SUCCEEDED, &ba, buf, sizeof(buf));
		session_queue(s, buf, n);
		s->rep = SOCKS5_REP_SUCCEEDED;
		session_start_relay(s, false);
		return;
	}
}

void bind_start(struct session *s, const struct sockaddr *peer)
{
	struct session_hs *hs = s->hs;
	union session_sa local;
	socklen_t len = sizeof(local);
	struct socks_addr ba;
	uint8_t buf[SOCKS5_REPLY_MAX];
	size_t n;
	int fd, one = 1;

	if (!session_dst_allowed(s, peer, RULE_CMD_BIND)) {
		session_fail(s, SOCKS5_REP_NOT_ALLOWED, "denied", "BIND not allowed");
		return;
	}
	memset(&hs->bind_peer, 0, sizeof(hs->bind_peer));
	memcpy(&hs->bind_peer, peer,
	       peer->sa_family == AF_INET ? sizeof(struct sockaddr_in)
					  : sizeof(struct sockaddr_in6));
	hs->bind_any = bind_is_unspecified(peer);
	if (bind_local_addr(s, peer, &local) < 0) {
		session_fail(s, socks5_rep_from_errno(errno), "unreachable",
			     "BIND: no local address towards the peer");
		return;
	}
	if (s->version == 4 && local.sa.sa_family != AF_INET) {
		/* SOCKS4 cannot name an IPv6 rendezvous address. */
		session_fail(s, SOCKS5_REP_ATYP_NOT_SUPPORTED, "unreachable",
			     "BIND: SOCKS4 needs an IPv4 address");
		return;
	}
	fd = socket(local.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (local.sa.sa_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, &local.sa,
		 local.sa.sa_family == AF_INET ? sizeof(local.v4) : sizeof(local.v6)) < 0 ||
	    listen(fd, 4) < 0 || getsockname(fd, &local.sa, &len) < 0) {
		close(fd);
		goto fail;
	}
	hs->lio.fd = fd;
	hs->lio.cb = bind_accept_cb;
	if (loop_io_add(s->w->loop, &hs->lio, EPOLLIN) < 0) {
		loop_io_close(s->w->loop, &hs->lio);
		goto fail;
	}
	/* First reply: where the peer should connect (RFC 1928 §6). */
	socks_addr_from_sockaddr(&ba, &local.sa);
	n = session_build_reply(s, SOCKS5_REP_SUCCEEDED, &ba, buf, sizeof(buf));
	session_queue(s, buf, n);
	s->state = SS_BIND_WAIT;
	loop_timer_set(s->w->loop, &s->timer, s->conf->bind_timeout_ms);
	session_advance(s);
	return;
fail:
	session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "error", strerror(errno));
}

void bind_stop(struct session *s)
{
	if (s->hs != NULL && s->hs->lio.fd >= 0)
		loop_io_close(s->w->loop, &s->hs->lio);
}
