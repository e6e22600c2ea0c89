/* udp — UDP ASSOCIATE (RFC 1928 §7).
 *
 * Per association: one relay socket facing the client, bound to the local
 * address of its control connection (so BND is an address the client can
 * use), and one egress socket per destination family, made on first use.
 * Datagrams are accepted only from the control connection's client address
 * (and from DST.PORT when the client named one; otherwise the first port
 * seen is kept).  Replies are accepted only from address:port pairs the
 * client has sent to (address-and-port-restricted, like a careful NAT), and
 * are wrapped in a header naming their real source.  Fragments (FRAG != 0)
 * are dropped and counted, as §7 requires of a relay without reassembly.
 * Names are resolved on the worker's resolver and kept per association.
 * I/O is batched with recvmmsg/sendmmsg through per-worker buffers.
 *
 * With GSSAPI protection (RFC 1961 §5) every datagram, SOCKS UDP header
 * included, is one wrapped message of the session's context, both ways:
 * incoming ones are unwrapped after the source check (loss and reordering
 * accepted, replays dropped), outgoing ones wrapped whole and sent one by
 * one; a datagram too large for one token is dropped. */
#include "udp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth_gssapi.h"
#include "conf.h"
#include "gss_frame.h"
#include "log.h"
#include "rules.h"
#include "session_priv.h"
#include "socks5.h"
#include "worker.h"

#define UDP_BATCH 16
#define UDP_PAYLOAD_MAX 65535
#define UDP_HEADROOM SOCKS5_UDP_HDR_MAX
#define UDP_SLOT (UDP_HEADROOM + UDP_PAYLOAD_MAX)
#define UDP_PEERS 32 /* destinations remembered for replies */
#define UDP_NAMES 8 /* names remembered per association */
#define UDP_PENDING 16 /* datagrams waiting for a name */

struct udp_peer {
	union session_sa sa;
	bool used;
	bool allowed; /* rules decision, cached */
};

struct udp_name {
	char name[SOCKS_NAME_MAX + 1];
	union session_sa sa; /* chosen address, port 0 */
	uint64_t expires;
	bool valid;
};

struct udp_pending {
	uint8_t *data; /* payload copy */
	uint16_t len;
	uint16_t port;
};

struct udp_assoc {
	struct session *s;
	struct loop_io relay; /* facing the client */
	struct loop_io eg[2]; /* [0] IPv6, [1] IPv4 egress */
	union session_sa client; /* where datagrams must come from */
	bool port_locked;
	struct udp_peer peers[UDP_PEERS];
	unsigned next_peer;
	struct udp_name names[UDP_NAMES];
	unsigned next_name;
	/* One lookup at a time; datagrams for it wait here. */
	struct resolver_query q;
	char qname[SOCKS_NAME_MAX + 1];
	int qpending; /* RESOLVE_V4|V6 still unanswered */
	bool qhave[2];
	union dns_addr qaddr[2];
	struct udp_pending pending[UDP_PENDING];
	unsigned npending;
	uint64_t dg_up, dg_down, dropped;
};

/* Batch buffers, one set per worker, made on first use. */
struct udp_bufs {
	struct mmsghdr msg[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	union session_sa addr[UDP_BATCH];
	uint8_t data[UDP_BATCH][UDP_SLOT];
	/* GSSAPI: one unwrapped datagram in, one wrapped datagram out */
	uint8_t plain[UDP_SLOT];
	uint8_t wrapped[GSS_FRAME_MAX];
};

static socklen_t udp_salen(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

static bool udp_same(const struct sockaddr *a, const struct sockaddr *b, bool port)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_addr.s_addr == y->sin_addr.s_addr &&
		       (!port || x->sin_port == y->sin_port);
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

	return memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0 &&
	       (!port || x->sin6_port == y->sin6_port);
}

static uint16_t udp_port(const struct sockaddr *sa)
{
	return ntohs(sa->sa_family == AF_INET ? ((const struct sockaddr_in *)sa)->sin_port
					      : ((const struct sockaddr_in6 *)sa)->sin6_port);
}

static void udp_set_port(union session_sa *sa, uint16_t port)
{
	if (sa->sa.sa_family == AF_INET)
		sa->v4.sin_port = htons(port);
	else
		sa->v6.sin6_port = htons(port);
}

static struct udp_bufs *udp_bufs(struct worker *w)
{
	if (w->udp_bufs == NULL)
		w->udp_bufs = malloc(sizeof(struct udp_bufs));
	return w->udp_bufs;
}

/* ---- client -> destination ------------------------------------------------ */

static void udp_egress6_cb(struct loop_io *io, uint32_t events);
static void udp_egress4_cb(struct loop_io *io, uint32_t events);

static int udp_egress(struct udp_assoc *u, int family)
{
	struct loop_io *io = &u->eg[family == AF_INET6 ? 0 : 1];

	if (io->fd >= 0)
		return io->fd;
	io->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (io->fd < 0)
		return -1;
	io->cb = family == AF_INET6 ? udp_egress6_cb : udp_egress4_cb;
	if (loop_io_add(u->s->w->loop, io, EPOLLIN) < 0) {
		loop_io_close(u->s->w->loop, io);
		return -1;
	}
	return io->fd;
}

/* Remember (and judge, once) a destination; false if rules refuse it. */
static bool udp_peer_allowed(struct udp_assoc *u, const union session_sa *dst)
{
	struct udp_peer *p;

	for (unsigned i = 0; i < UDP_PEERS; i++) {
		p = &u->peers[i];
		if (p->used && udp_same(&p->sa.sa, &dst->sa, true))
			return p->allowed;
	}
	p = &u->peers[u->next_peer++ % UDP_PEERS];
	p->used = true;
	p->sa = *dst;
	p->allowed = session_dst_allowed(u->s, &dst->sa, RULE_CMD_UDP);
	return p->allowed;
}

static void udp_send_one(struct udp_assoc *u, const union session_sa *dst, const uint8_t *data,
			 size_t len)
{
	int fd;

	if (!udp_peer_allowed(u, dst)) {
		u->dropped++;
		return;
	}
	fd = udp_egress(u, dst->sa.sa_family);
	if (fd < 0 || sendto(fd, data, len, 0, &dst->sa, udp_salen(&dst->sa)) < 0) {
		u->dropped++;
		return;
	}
	u->dg_up++;
	u->s->up.bytes += len;
}

static struct udp_name *udp_name_find(struct udp_assoc *u, const char *name, uint64_t now)
{
	for (unsigned i = 0; i < UDP_NAMES; i++) {
		struct udp_name *n = &u->names[i];

		if (n->valid && n->expires > now && strcasecmp(n->name, name) == 0)
			return n;
	}
	return NULL;
}

static void udp_resolved(struct resolver_query *q, const struct dns_answer *a);

/* Queue a datagram for a name being resolved (only one name at a time;
 * others are dropped until it is done: UDP may lose packets anyway). */
static void udp_queue(struct udp_assoc *u, const struct socks_addr *dst, const uint8_t *data,
		      size_t len)
{
	struct udp_pending *p;

	if (u->qpending != 0 && strcasecmp(u->qname, dst->u.name) != 0) {
		u->dropped++;
		return;
	}
	if (u->npending == UDP_PENDING) {
		u->dropped++;
		return;
	}
	p = &u->pending[u->npending];
	p->data = malloc(len ? len : 1);
	if (p->data == NULL) {
		u->dropped++;
		return;
	}
	memcpy(p->data, data, len);
	p->len = (uint16_t)len;
	p->port = dst->port;
	u->npending++;
	if (u->qpending != 0)
		return;
	strcpy(u->qname, dst->u.name);
	u->qpending = RESOLVE_V4 | RESOLVE_V6;
	u->qhave[0] = u->qhave[1] = false;
	u->q.cb = udp_resolved;
	if (resolver_lookup(u->s->w->resolver, &u->q, u->qname, u->qpending) < 0)
		u->qpending = 0; /* the pending datagrams go when the next name comes */
}

static void udp_flush_pending(struct udp_assoc *u, const struct udp_name *n)
{
	for (unsigned i = 0; i < u->npending; i++) {
		struct udp_pending *p = &u->pending[i];

		if (n != NULL) {
			union session_sa dst = n->sa;

			udp_set_port(&dst, p->port);
			udp_send_one(u, &dst, p->data, p->len);
		} else {
			u->dropped++;
		}
		free(p->data);
	}
	u->npending = 0;
}

static void udp_resolved(struct resolver_query *q, const struct dns_answer *a)
{
	struct udp_assoc *u = container_of(q, struct udp_assoc, q);
	int f = a->family == AF_INET6 ? 0 : 1;
	struct udp_name *n = NULL;
	uint64_t now = loop_now(u->s->w->loop);

	u->qpending &= a->family == AF_INET6 ? ~RESOLVE_V6 : ~RESOLVE_V4;
	if (a->status == DNS_OK && a->naddrs > 0) {
		u->qhave[f] = true;
		u->qaddr[f] = a->addrs[0];
	}
	if (u->qpending != 0)
		return;
	for (int k = 0; k < 2; k++) {
		/* The configured family first; UDP has no race to run. */
		int g = (k + (u->s->conf->prefer == CONF_PREFER_IPV4)) % 2;

		if (!u->qhave[g])
			continue;
		n = &u->names[u->next_name++ % UDP_NAMES];
		memset(n, 0, sizeof(*n));
		strcpy(n->name, u->qname);
		if (g == 0) {
			n->sa.v6.sin6_family = AF_INET6;
			n->sa.v6.sin6_addr = u->qaddr[0].v6;
		} else {
			n->sa.v4.sin_family = AF_INET;
			n->sa.v4.sin_addr = u->qaddr[1].v4;
		}
		n->expires = now + 1000ull * (a->ttl ? a->ttl : 1);
		n->valid = true;
		break;
	}
	udp_flush_pending(u, n);
}

static void udp_from_client(struct udp_assoc *u, const union session_sa *src, uint8_t *data,
			    size_t len)
{
	struct socks_addr dst;
	union session_sa to;
	struct udp_name *n;
	size_t hl;
	uint8_t frag;

	if (!udp_same(&src->sa, &u->client.sa, u->port_locked)) {
		u->dropped++; /* §7: only the associated client */
		return;
	}
	if (u->s->xform != NULL) {
		/* RFC 1961 §5: the whole datagram is one wrapped message;
		 * nothing of a forged one is looked at, and it does not lock
		 * the client's port. */
		struct udp_bufs *b = udp_bufs(u->s->w);

		if (auth_gss_unwrap_dgram(u->s, data, len, b->plain, sizeof(b->plain), &len) != 0) {
			u->dropped++;
			return;
		}
		data = b->plain;
	}
	if (!u->port_locked) {
		u->client = *src;
		u->port_locked = true;
	}
	if (socks5_parse_udp(data, len, &frag, &dst, &hl) != CODEC_OK || frag != 0) {
		u->dropped++; /* §7: no reassembly here, so FRAG != 0 is dropped */
		return;
	}
	u->s->t_active = loop_now(u->s->w->loop);
	if (dst.atyp == SOCKS_ATYP_NAME) {
		n = udp_name_find(u, dst.u.name, loop_now(u->s->w->loop));
		if (n == NULL) {
			udp_queue(u, &dst, data + hl, len - hl);
			return;
		}
		to = n->sa;
		udp_set_port(&to, dst.port);
	} else {
		struct sockaddr_storage ss;

		if (socks_addr_is_synthetic_v4(&dst)) {
			u->dropped++;
			return;
		}
		socks_addr_to_sockaddr(&dst, &ss);
		memcpy(&to, &ss, sizeof(to));
	}
	udp_send_one(u, &to, data + hl, len - hl);
}

static void udp_relay_cb(struct loop_io *io, uint32_t events)
{
	struct udp_assoc *u = container_of(io, struct udp_assoc, relay);
	struct udp_bufs *b = udp_bufs(u->s->w);
	int n;

	(void)events;
	if (b == NULL)
		return;
	for (int i = 0; i < UDP_BATCH; i++) {
		b->iov[i].iov_base = b->data[i];
		b->iov[i].iov_len = UDP_SLOT;
		memset(&b->msg[i].msg_hdr, 0, sizeof(b->msg[i].msg_hdr));
		b->msg[i].msg_hdr.msg_iov = &b->iov[i];
		b->msg[i].msg_hdr.msg_iovlen = 1;
		b->msg[i].msg_hdr.msg_name = &b->addr[i];
		b->msg[i].msg_hdr.msg_namelen = sizeof(b->addr[i]);
	}
	n = recvmmsg(io->fd, b->msg, UDP_BATCH, MSG_DONTWAIT, NULL);
	for (int i = 0; i < n && u->s->state == SS_UDP; i++)
		udp_from_client(u, &b->addr[i], b->data[i], b->msg[i].msg_len);
}

/* ---- destination -> client ------------------------------------------------ */

static bool udp_known_peer(const struct udp_assoc *u, const struct sockaddr *sa)
{
	for (unsigned i = 0; i < UDP_PEERS; i++)
		if (u->peers[i].used && u->peers[i].allowed &&
		    udp_same(&u->peers[i].sa.sa, sa, true))
			return true;
	return false;
}

static void udp_from_egress(struct udp_assoc *u, struct loop_io *io)
{
	struct udp_bufs *b = udp_bufs(u->s->w);
	struct mmsghdr out[UDP_BATCH];
	struct iovec oiov[UDP_BATCH];
	int n, nout = 0;

	if (b == NULL || !u->port_locked)
		return;
	for (int i = 0; i < UDP_BATCH; i++) {
		b->iov[i].iov_base = b->data[i] + UDP_HEADROOM;
		b->iov[i].iov_len = UDP_PAYLOAD_MAX;
		memset(&b->msg[i].msg_hdr, 0, sizeof(b->msg[i].msg_hdr));
		b->msg[i].msg_hdr.msg_iov = &b->iov[i];
		b->msg[i].msg_hdr.msg_iovlen = 1;
		b->msg[i].msg_hdr.msg_name = &b->addr[i];
		b->msg[i].msg_hdr.msg_namelen = sizeof(b->addr[i]);
	}
	n = recvmmsg(io->fd, b->msg, UDP_BATCH, MSG_DONTWAIT, NULL);
	for (int i = 0; i < n; i++) {
		uint8_t hdr[SOCKS5_UDP_HDR_MAX], *dg;
		size_t wlen;
		struct socks_addr src;
		size_t hl;

		if (!udp_known_peer(u, &b->addr[i].sa) ||
		    socks_addr_from_sockaddr(&src, &b->addr[i].sa) < 0) {
			u->dropped++;
			continue;
		}
		src.port = udp_port(&b->addr[i].sa);
		hl = socks5_build_udp_header(hdr, sizeof(hdr), &src);
		/* Header goes in the headroom right before the payload. */
		dg = b->data[i] + UDP_HEADROOM - hl;
		memcpy(dg, hdr, hl);
		if (u->s->xform != NULL) {
			/* Wrapped one at a time: the batch would need 16
			 * wrapped copies. */
			if (auth_gss_wrap_dgram(u->s, dg, hl + b->msg[i].msg_len, b->wrapped,
						sizeof(b->wrapped), &wlen) < 0 ||
			    sendto(u->relay.fd, b->wrapped, wlen, MSG_DONTWAIT, &u->client.sa,
				   udp_salen(&u->client.sa)) < 0) {
				u->dropped++;
				continue;
			}
			u->s->down.bytes += b->msg[i].msg_len;
			u->dg_down++;
			u->s->t_active = loop_now(u->s->w->loop);
			continue;
		}
		oiov[nout].iov_base = dg;
		oiov[nout].iov_len = hl + b->msg[i].msg_len;
		memset(&out[nout].msg_hdr, 0, sizeof(out[nout].msg_hdr));
		out[nout].msg_hdr.msg_iov = &oiov[nout];
		out[nout].msg_hdr.msg_iovlen = 1;
		out[nout].msg_hdr.msg_name = &u->client;
		out[nout].msg_hdr.msg_namelen = udp_salen(&u->client.sa);
		u->s->down.bytes += b->msg[i].msg_len;
		nout++;
	}
	if (nout > 0) {
		int sent = sendmmsg(u->relay.fd, out, (unsigned)nout, MSG_DONTWAIT);

		if (sent < 0)
			sent = 0;
		u->dg_down += (uint64_t)sent;
		u->dropped += (uint64_t)(nout - sent);
		u->s->t_active = loop_now(u->s->w->loop);
	}
}

static void udp_egress6_cb(struct loop_io *io, uint32_t events)
{
	(void)events;
	udp_from_egress(container_of(io, struct udp_assoc, eg[0]), io);
}

static void udp_egress4_cb(struct loop_io *io, uint32_t events)
{
	(void)events;
	udp_from_egress(container_of(io, struct udp_assoc, eg[1]), io);
}

/* ---- association lifetime ---------------------------------------------- */

void udp_start(struct session *s)
{
	struct udp_assoc *u = calloc(1, sizeof(*u));
	union session_sa local;
	socklen_t len = sizeof(local);
	struct socks_addr ba;
	uint8_t buf[SOCKS5_REPLY_MAX];
	size_t n;
	int one = 1;

	if (u == NULL) {
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "error", "out of memory");
		return;
	}
	u->s = s;
	u->relay.fd = u->eg[0].fd = u->eg[1].fd = -1;
	s->udp = u;
	/* §7: DST names where the client will send from; zeros mean "not
	 * known".  The control connection's address is the client's in any
	 * case (a UDP relay must not serve anyone who merely learns its port). */
	u->client = s->client;
	udp_set_port(&u->client, s->dst.port);
	u->port_locked = s->dst.port != 0;
	if (getsockname(s->cio.fd, &local.sa, &len) < 0)
		goto fail;
	udp_set_port(&local, 0);
	u->relay.fd = socket(local.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->relay.fd < 0)
		goto fail;
	u->relay.cb = udp_relay_cb;
	if (local.sa.sa_family == AF_INET6)
		(void)setsockopt(u->relay.fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	len = udp_salen(&local.sa);
	if (bind(u->relay.fd, &local.sa, len) < 0 || getsockname(u->relay.fd, &local.sa, &len) < 0)
		goto fail;
	if (loop_io_add(s->w->loop, &u->relay, EPOLLIN) < 0)
		goto fail;
	socks_addr_from_sockaddr(&ba, &local.sa);
	n = session_build_reply(s, SOCKS5_REP_SUCCEEDED, &ba, buf, sizeof(buf));
	s->rep = SOCKS5_REP_SUCCEEDED;
	session_queue(s, buf, n);
	s->result = "ok";
	s->state = SS_UDP;
	s->t_active = loop_now(s->w->loop);
	if (s->conf->idle_timeout_ms)
		loop_timer_set(s->w->loop, &s->timer, s->conf->idle_timeout_ms);
	else
		loop_timer_cancel(s->w->loop, &s->timer);
	session_advance(s);
	return;
fail:
	session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "error", "UDP relay socket");
}

void udp_stop(struct session *s)
{
	struct udp_assoc *u = s->udp;

	if (u == NULL)
		return;
	resolver_cancel(s->w->resolver, &u->q);
	udp_flush_pending(u, NULL);
	loop_io_close(s->w->loop, &u->relay);
	loop_io_close(s->w->loop, &u->eg[0]);
	loop_io_close(s->w->loop, &u->eg[1]);
}

void udp_free(struct session *s)
{
	free(s->udp);
	s->udp = NULL;
}

int udp_log_extra(const struct session *s, char *out, size_t outlen)
{
	const struct udp_assoc *u = s->udp;

	if (u == NULL || outlen == 0)
		return 0;
	return snprintf(out, outlen, " dgrams_up=%llu dgrams_down=%llu dropped=%llu",
			(unsigned long long)u->dg_up, (unsigned long long)u->dg_down,
			(unsigned long long)u->dropped);
}
