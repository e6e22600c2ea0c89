/* hook_connect — connect() to a synthetic address becomes a SOCKS5 CONNECT
 * carrying the name (RFC 3089 §3, RFC 1928 §4 ATYP 3); getpeername() keeps
 * showing the synthetic address; the RESOLVE name check.
 *
 * The handshake runs on the caller's own socket: the shim connects it to
 * the gateway (gateways in order, the last one that worked first), then
 * exchanges greeting/request/reply with poll() and MSG_DONTWAIT, so the
 * socket's flags are never changed and no descriptor of the shim's own
 * outlives the call.  Blocking sockets wait at most their SO_SNDTIMEO (else
 * connect-timeout).
 *
 * Non-blocking sockets are, for now, handled the same way: connect()
 * returns 0 once the gateway has replied -- a legal outcome of a
 * non-blocking connect that programs must handle (loopback connects do it),
 * so the socket is never seen writable before the reply and application
 * bytes never mix with the handshake.  The price is that the calling thread
 * waits one handshake.  A connected TCP socket cannot be kept from polling
 * writable, so returning EINPROGRESS instead needs the readiness calls
 * hooked: a per-process helper thread completes the handshake on a dup of
 * the fd; poll/ppoll/select/pselect substitute a per-connection eventfd for
 * the pending fd; epoll_ctl on a pending fd registers that eventfd with the
 * caller's epoll_data and the helper swaps the real fd in (EPOLL_CTL_ADD of
 * a ready fd fires at once, level or edge) when the reply is in;
 * getsockopt(SO_ERROR) reports the mapped REP.  A socket already in an
 * epoll set before connect() cannot be found that way, which is why the
 * synchronous form is the default. */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "fdtab.h"
#include "socks_client.h"

/* Index of the gateway that worked last (failover is remembered). */
static atomic_uint hook_gw_first;

static long long hook_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The synthetic IPv4 address inside sa (AF_INET, or v4-mapped AF_INET6). */
static bool hook_sa_v4(const struct sockaddr *sa, socklen_t len, struct in_addr *out)
{
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		*out = ((const struct sockaddr_in *)sa)->sin_addr;
		return true;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			memcpy(&out->s_addr, &a6->s6_addr[12], 4);
			return true;
		}
	}
	return false;
}

/* 1 and the entry when sa is a synthetic address of ours; 0 when it is
 * not synthetic; -1 (errno) when it is synthetic but unknown. */
static int hook_synthetic(const struct sockaddr *sa, socklen_t len, struct synth_entry_info *e)
{
	const struct shim_conf *c = shim_conf();
	const struct in6_addr *a6 = NULL;
	struct synth *s;
	struct in_addr v4;
	bool is_v4 = hook_sa_v4(sa, len, &v4);

	/* Pool membership by configuration first: a program that only talks
	 * to real addresses never opens the map. */
	if (is_v4) {
		if (!synth_table_config_in_pool_v4(&c->synth, &v4))
			return 0;
	} else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (!synth_table_config_in_pool_v6(&c->synth, a6))
			return 0;
	} else {
		return 0;
	}
	s = shim_synth();
	if (!s)
		return 0;
	if ((is_v4 ? synth_lookup_v4(s, &v4, e) : synth_lookup_v6(s, a6, e)) < 0)
		return -1;
	return 1;
}

static uint16_t hook_sa_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
}

/* The socket's own connect timeout (SO_SNDTIMEO, as the kernel uses for a
 * blocking connect), else the configured one. */
static int hook_timeout_ms(int fd, const struct shim_conf *c)
{
	struct timeval tv;
	socklen_t len = sizeof(tv);
	long long ms;

	if (getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &len) == 0 &&
	    (tv.tv_sec > 0 || tv.tv_usec > 0)) {
		ms = (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
		if (ms < 1)
			ms = 1;
		return ms > (long long)c->connect_timeout_ms ? (int)c->connect_timeout_ms : (int)ms;
	}
	return (int)c->connect_timeout_ms;
}

/* Gateway i as an address fd (of family fam) can connect to: the same
 * family, or an IPv4 gateway as v4-mapped from an IPv6 socket. */
static socklen_t hook_gw_addr(const struct shim_conf *c, size_t i, int fam,
			      struct sockaddr_storage *out)
{
	const struct sockaddr_storage *gw = &c->gateways[i];

	if (gw->ss_family == fam) {
		memcpy(out, gw, c->gateway_lens[i]);
		return c->gateway_lens[i];
	}
	if (fam == AF_INET6 && gw->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)gw;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;

		memset(sin6, 0, sizeof(*sin6));
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = sin->sin_port;
		sin6->sin6_addr.s6_addr[10] = 0xff;
		sin6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&sin6->sin6_addr.s6_addr[12], &sin->sin_addr, 4);
		return sizeof(*sin6);
	}
	return 0;
}

/* Connect fd to one gateway within the deadline; 0 or -1 with errno. */
static int hook_connect_gw(int fd, const struct sockaddr *gw, socklen_t len, long long deadline)
{
	const struct shim_syms *real = shim_syms();
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	socklen_t elen = sizeof(int);
	int err = 0;

	if (real->connect(fd, gw, len) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EINTR && errno != EAGAIN)
		return -1;
	for (;;) {
		long long left = deadline - hook_now_ms();
		int n;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			break;
		if (n < 0 && errno != EINTR)
			return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		return -1;
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

/* Connect fd through the first gateway that answers, then run cmd for dst.
 * 0 with the reply in *sc, or -1 with errno.  *reached tells whether some
 * gateway was reached (then the error is the gateway's answer). */
static int hook_via_gateway(int fd, int fam, uint8_t cmd, const struct socks_addr *dst,
			    int timeout_ms, struct socks_client *sc, bool *reached)
{
	const struct shim_conf *c = shim_conf();
	long long deadline = hook_now_ms() + timeout_ms;
	unsigned first = atomic_load(&hook_gw_first);
	char gwtext[SOCKS_ADDR_STRLEN];
	int err = ENETUNREACH;

	*reached = false;
	for (size_t k = 0; k < c->ngateways; k++) {
		size_t i = (first + k) % c->ngateways;
		struct sockaddr_storage gw;
		socklen_t len = hook_gw_addr(c, i, fam, &gw);

		if (len == 0)
			continue; /* an IPv6 gateway cannot carry an IPv4 socket */
		sockaddr_format((struct sockaddr *)&c->gateways[i], gwtext, sizeof(gwtext));
		if (hook_connect_gw(fd, (struct sockaddr *)&gw, len, deadline) < 0) {
			err = errno;
			shim_log(SHIM_LOG_VERBOSE, "gateway %s: %s", gwtext, strerror(err));
			if (err == ETIMEDOUT)
				break;
			continue;
		}
		*reached = true;
		atomic_store(&hook_gw_first, (unsigned)i);
		socks_client_init(sc, cmd, dst);
		if (socks_client_run(sc, fd, (int)(deadline - hook_now_ms()), NULL) == 0)
			return 0;
		err = errno;
		shim_log(SHIM_LOG_VERBOSE, "gateway %s: %s (REP %u)", gwtext,
			 sc->why ? sc->why : strerror(err), sc->rep);
		errno = err;
		return -1;
	}
	errno = err;
	return -1;
}

SHIM_EXPORT int connect(int fd, SHIM_CONST_SA addr, socklen_t len)
{
	const struct shim_syms *real = shim_syms();
	const struct sockaddr *sa = SHIM_CONST_SA_PTR(addr);
	const struct shim_conf *c;
	struct synth_entry_info e;
	struct socks_client sc;
	struct socks_addr dst;
	char text[SOCKS_ADDR_STRLEN];
	int type = 0, rc, saved = errno;
	socklen_t tlen = sizeof(type);
	bool reached;

	if (!sa || len < sizeof(sa_family_t) ||
	    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) || !(c = shim_conf()))
		return real->connect(fd, addr, len);
	rc = hook_synthetic(sa, len, &e);
	if (rc == 0) {
		errno = saved;
		return real->connect(fd, addr, len);
	}
	sockaddr_format(sa, text, sizeof(text));
	if (rc < 0) {
		/* Recycled long ago, or from another map: nowhere to go. */
		shim_log(SHIM_LOG_WARN, "connect to %s: synthetic address not in the map", text);
		errno = EHOSTUNREACH;
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0)
		return -1;
	if (type != SOCK_STREAM) {
		shim_log(SHIM_LOG_WARN, "connect to %s (%s): only TCP goes through the gateway",
			 text, e.name);
		errno = ENETUNREACH;
		return -1;
	}
	memset(&dst, 0, sizeof(dst));
	if (socks_addr_set_name(&dst, e.name, e.namelen) != SOCKS_NAME_OK) {
		errno = EHOSTUNREACH;
		return -1;
	}
	dst.port = hook_sa_port(sa);
	if (hook_via_gateway(fd, sa->sa_family, SOCKS5_CMD_CONNECT, &dst, hook_timeout_ms(fd, c),
			     &sc, &reached) < 0) {
		int err = errno;

		shim_log(reached ? SHIM_LOG_VERBOSE : SHIM_LOG_WARN, "connect %s:%u (%s): %s",
			 e.name, dst.port, text, strerror(err));
		errno = err;
		return -1;
	}
	shim_log(SHIM_LOG_VERBOSE, "connect %s:%u (%s) through the gateway", e.name, dst.port,
		 text);
	fdtab_set(fd, sa, len);
	errno = saved;
	return 0;
}

SHIM_EXPORT int getpeername(int fd, SHIM_SA addr, socklen_t *len)
{
	const struct shim_syms *real = shim_syms();
	struct sockaddr *sa = SHIM_SA_PTR(addr);
	int saved = errno;

	if (sa && len && fdtab_peer(fd, sa, len) == 0) {
		errno = saved;
		return 0;
	}
	errno = saved;
	return real->getpeername(fd, addr, len);
}

int shim_gateway_verify(const char *name)
{
	const struct shim_conf *c = shim_conf();
	struct socks_client sc;
	struct socks_addr dst;
	bool reached;
	int rc = -1;

	if (!c || c->ngateways == 0)
		return -1;
	memset(&dst, 0, sizeof(dst));
	if (socks_addr_set_name(&dst, name, strlen(name)) != SOCKS_NAME_OK)
		return -1;
	for (int fam = AF_INET; fam != 0; fam = fam == AF_INET ? AF_INET6 : 0) {
		int fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			continue;
		/* Tor's RESOLVE: REP 0 with the address in BND; REP 4 for a
		 * name that does not resolve. */
		if (hook_via_gateway(fd, fam, SOCKS5_CMD_RESOLVE, &dst, (int)c->connect_timeout_ms,
				     &sc, &reached) == 0) {
			rc = 1;
		} else if (reached && sc.rep == SOCKS5_REP_HOST_UNREACHABLE) {
			rc = 0;
		} else if (reached) {
			shim_log(SHIM_LOG_VERBOSE, "cannot verify %s: %s", name,
				 sc.why ? sc.why : strerror(errno));
		}
		close(fd);
		if (reached)
			break;
	}
	return rc;
}
