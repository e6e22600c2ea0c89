/* hook_udp — UDP through the gateway (RFC 1928 §7) for sockets that send to
 * synthetic addresses, plus the per-fd record table and gateway helpers
 * that hook_bind.c shares.
 *
 * The first sendto()/sendmsg() of a UDP socket to a synthetic address (or a
 * connect() to one, through shim_udp_connect) sets up the socket's UDP
 * ASSOCIATE: a TCP control connection of the shim's own to the first
 * gateway that answers, held until the socket is closed (§7: the
 * association lives as long as it).  The program's socket itself carries
 * the datagrams, so poll/select/epoll on it keep working unchanged: each
 * datagram goes to the relay address of the reply (the gateway's address
 * when the reply says 0.0.0.0 or ::) behind a header naming the
 * destination -- ATYP 3 with the NAME for a synthetic address (RFC 3089
 * §3).  A socket not yet bound is bound to its wildcard address first, so
 * the request can name the port datagrams will come from.
 *
 * Received datagrams from the relay are unwrapped; the source reported to
 * the program is:
 *   - the synthetic address (and port) the program sent to, when the
 *     source is the real address the gateway found for that name: the
 *     first reply from the port of a name not yet seen is taken to come
 *     from that name (the most recently used one when several wait), and
 *     the pairing is remembered;
 *   - otherwise the real source in the socket's family: as it is, or
 *     v4-mapped for an IPv4 source on an IPv6 socket; an IPv6 source on an
 *     IPv4 socket (which cannot hold one) gets a synthetic IPv4 address
 *     whose name is the IPv6 literal, so replies sent to it reach the same
 *     host through the gateway.  Such sources are remembered too: sending
 *     to them goes through the association as well.
 * Datagrams that do not come from the relay address are passed through
 * untouched: the same socket may talk directly to bypassed destinations
 * (loopback, local networks).  Malformed ones from the relay and FRAG != 0
 * (no reassembly, §7) are dropped.  MSG_PEEK and MSG_TRUNC keep their
 * meaning for the payload; the relay header needs at most
 * SOCKS5_UDP_HDR_MAX bytes more in the receive buffer (the RFC's note that
 * clients should report a smaller buffer space to the program applies to
 * programs that size their datagrams to the path: see the manual page).
 *
 * A connected UDP socket (connect() to a synthetic address) is connected
 * to the relay in the kernel, remembers the synthetic destination for
 * send()/write()/sendto(NULL), and getpeername() shows the synthetic
 * address.
 *
 * With `auth gssapi` at levels 1 and 2 (RFC 1961 §5) each datagram --
 * SOCKS UDP header and payload -- travels wrapped whole as one message
 * (01 03 len token): sendto() wraps, recvfrom() unwraps (datagrams lost or
 * reordered are fine, replayed or forged ones are dropped with a log
 * line), under the record's lock since a GSS-API context is used by one
 * thread at a time.  A datagram whose header and payload exceed the
 * token's plaintext limit fails with EMSGSIZE.  A token cannot be
 * unwrapped twice (the second time is a replay), so the plaintext a
 * MSG_PEEK unwrapped is kept for the receive that takes the datagram.
 *
 * Not hooked: sendmmsg()/recvmmsg(), and the _chk variants of fortified
 * builds; datagrams they send to a synthetic address fail as leaks do. */
#include "shim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "fdtab.h"
#include "gss.h"
#include "socks_client.h"

#define HOOK_UDP_MAX_FD (1 << 20)
#define HOOK_UDP_PEERS 32
#define HOOK_UDP_IOV_MAX 64
#define HOOK_UDP_DGRAM_MAX 65535

/* ---- the per-fd record table --------------------------------------------- */

static pthread_mutex_t hook_ub_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shim_ub_obj **hook_ub_tab;
static size_t hook_ub_cap;
static atomic_uint hook_ub_count;

bool shim_ub_any(void)
{
	return atomic_load_explicit(&hook_ub_count, memory_order_relaxed) != 0;
}

void shim_ub_put(struct shim_ub_obj *o)
{
	int left;

	if (!o)
		return;
	pthread_mutex_lock(&hook_ub_lock);
	left = --o->refs;
	pthread_mutex_unlock(&hook_ub_lock);
	if (left == 0)
		o->drop(o);
}

/* Take the table's reference of slot fd out; the caller puts it. */
static struct shim_ub_obj *hook_ub_take(int fd)
{
	struct shim_ub_obj *o = hook_ub_tab[fd];

	if (o) {
		hook_ub_tab[fd] = NULL;
		atomic_fetch_sub(&hook_ub_count, 1);
	}
	return o;
}

int shim_ub_attach(int fd, struct shim_ub_obj *o)
{
	struct shim_ub_obj *old = NULL;
	struct stat st;

	if (fd < 0 || fd >= HOOK_UDP_MAX_FD || fstat(fd, &st) < 0)
		return -1;
	o->dev = st.st_dev;
	o->ino = st.st_ino;
	pthread_mutex_lock(&hook_ub_lock);
	if ((size_t)fd >= hook_ub_cap) {
		size_t cap = hook_ub_cap ? hook_ub_cap : 64;
		struct shim_ub_obj **t;

		while (cap <= (size_t)fd)
			cap *= 2;
		t = realloc(hook_ub_tab, cap * sizeof(*t));
		if (!t) {
			pthread_mutex_unlock(&hook_ub_lock);
			return -1;
		}
		memset(t + hook_ub_cap, 0, (cap - hook_ub_cap) * sizeof(*t));
		hook_ub_tab = t;
		hook_ub_cap = cap;
	}
	if (hook_ub_tab[fd] != o) {
		old = hook_ub_take(fd);
		hook_ub_tab[fd] = o;
		atomic_fetch_add(&hook_ub_count, 1);
	}
	pthread_mutex_unlock(&hook_ub_lock);
	shim_ub_put(old);
	return 0;
}

struct shim_ub_obj *shim_ub_find(int fd, enum shim_ub_kind kind)
{
	struct shim_ub_obj *o = NULL, *stale = NULL;
	struct stat st;

	if (fd < 0 || !shim_ub_any())
		return NULL;
	pthread_mutex_lock(&hook_ub_lock);
	/* fstat under the lock: shim_ub_swap changes the file and the
	 * record's inode together. */
	if ((size_t)fd < hook_ub_cap && (o = hook_ub_tab[fd]) != NULL) {
		if (o->kind != kind) {
			o = NULL; /* not ours to judge: no fstat on this path */
		} else if (fstat(fd, &st) < 0 || o->ino != st.st_ino || o->dev != st.st_dev) {
			/* The number now names another file: closed behind
			 * our back (close, dup2, close_range). */
			stale = hook_ub_take(fd);
			o = NULL;
		} else {
			o->refs++;
		}
	}
	pthread_mutex_unlock(&hook_ub_lock);
	shim_ub_put(stale);
	return o;
}

int shim_ub_swap(int fd, int file, bool cloexec, struct shim_ub_obj *o)
{
	struct stat st;
	int rc = -1;

	pthread_mutex_lock(&hook_ub_lock);
	/* libc's dup3: the hooked one would come back to this table. */
	if (shim_syms()->dup3(file, fd, cloexec ? O_CLOEXEC : 0) >= 0 && fstat(fd, &st) == 0) {
		o->dev = st.st_dev;
		o->ino = st.st_ino;
		rc = 0;
	}
	pthread_mutex_unlock(&hook_ub_lock);
	return rc;
}

void shim_ub_detach(int fd, struct shim_ub_obj *o)
{
	struct shim_ub_obj *gone = NULL;

	pthread_mutex_lock(&hook_ub_lock);
	if (fd >= 0 && (size_t)fd < hook_ub_cap && hook_ub_tab[fd] == o)
		gone = hook_ub_take(fd);
	pthread_mutex_unlock(&hook_ub_lock);
	shim_ub_put(gone);
}

int shim_ub_foreach(enum shim_ub_kind kind, int (*fn)(int fd, struct shim_ub_obj *o, void *arg),
		    void *arg)
{
	int rc = 0;

	pthread_mutex_lock(&hook_ub_lock);
	for (size_t i = 0; i < hook_ub_cap && rc == 0; i++) {
		if (hook_ub_tab[i] && hook_ub_tab[i]->kind == kind)
			rc = fn((int)i, hook_ub_tab[i], arg);
	}
	pthread_mutex_unlock(&hook_ub_lock);
	return rc;
}

void shim_udp_bind_on_close(int fd)
{
	struct shim_ub_obj *o = NULL;

	if (fd < 0 || !shim_ub_any())
		return;
	pthread_mutex_lock(&hook_ub_lock);
	if ((size_t)fd < hook_ub_cap)
		o = hook_ub_take(fd);
	pthread_mutex_unlock(&hook_ub_lock);
	shim_ub_put(o);
}

/* ---- addresses ------------------------------------------------------------ */

int shim_ub_synthetic(const struct sockaddr *sa, socklen_t len, struct synth_entry_info *e)
{
	const struct shim_conf *c = shim_conf();
	struct socks_addr a;
	struct synth *s;

	if (!c || !sa || len < sizeof(sa_family_t) ||
	    (sa->sa_family == AF_INET && len < sizeof(struct sockaddr_in)) ||
	    (sa->sa_family == AF_INET6 && len < sizeof(struct sockaddr_in6)) ||
	    socks_addr_from_sockaddr(&a, sa) < 0)
		return 0;
	/* Pool membership by configuration first: programs that only use
	 * real addresses never open the map. */
	if (a.atyp == SOCKS_ATYP_IPV4 ? !synth_table_config_in_pool_v4(&c->synth, &a.u.v4)
				      : !synth_table_config_in_pool_v6(&c->synth, &a.u.v6))
		return 0;
	s = shim_synth();
	if (!s)
		return 0;
	if ((a.atyp == SOCKS_ATYP_IPV4 ? synth_lookup_v4(s, &a.u.v4, e)
				       : synth_lookup_v6(s, &a.u.v6, e)) < 0)
		return -1;
	return 1;
}

socklen_t shim_ub_show(int fam, const struct socks_addr *a, struct sockaddr_storage *out)
{
	struct synth_entry_info e;
	char text[INET6_ADDRSTRLEN];
	const char *name = text;
	struct synth *s;
	socklen_t len;

	memset(out, 0, sizeof(*out));
	if (a->atyp == SOCKS_ATYP_IPV4 && fam == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(a->port);
		sin6->sin6_addr.s6_addr[10] = 0xff;
		sin6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&sin6->sin6_addr.s6_addr[12], &a->u.v4, 4);
		return sizeof(*sin6);
	}
	if ((a->atyp == SOCKS_ATYP_IPV4 && fam == AF_INET) ||
	    (a->atyp == SOCKS_ATYP_IPV6 && fam == AF_INET6))
		return socks_addr_to_sockaddr(a, out);
	if (a->atyp == SOCKS_ATYP_NAME)
		name = a->u.name;
	else if (!inet_ntop(AF_INET6, &a->u.v6, text, sizeof(text)))
		return 0;
	s = shim_synth();
	if (!s || synth_assign(s, name, strlen(name), &e) < 0)
		return 0;
	if (fam == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)out;

		sin->sin_family = AF_INET;
		sin->sin_addr = e.v4;
		sin->sin_port = htons(a->port);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = e.v6;
		sin6->sin6_port = htons(a->port);
		len = sizeof(*sin6);
	}
	return len;
}

static uint16_t hook_udp_port(const struct sockaddr *sa)
{
	return ntohs(sa->sa_family == AF_INET ? ((const struct sockaddr_in *)sa)->sin_port
					      : ((const struct sockaddr_in6 *)sa)->sin6_port);
}

/* Same address and port, v4-mapped and plain IPv4 alike. */
static bool hook_udp_same(const struct sockaddr *x, const struct sockaddr *y)
{
	struct socks_addr a, b;

	if (socks_addr_from_sockaddr(&a, x) < 0 || socks_addr_from_sockaddr(&b, y) < 0)
		return false;
	if (a.atyp != b.atyp || hook_udp_port(x) != hook_udp_port(y))
		return false;
	return a.atyp == SOCKS_ATYP_IPV4 ? a.u.v4.s_addr == b.u.v4.s_addr
					 : memcmp(&a.u.v6, &b.u.v6, 16) == 0;
}

static bool hook_udp_same_addr(const struct socks_addr *a, const struct socks_addr *b)
{
	if (a->atyp != b->atyp || a->port != b->port)
		return false;
	if (a->atyp == SOCKS_ATYP_IPV4)
		return a->u.v4.s_addr == b->u.v4.s_addr;
	if (a->atyp == SOCKS_ATYP_IPV6)
		return memcmp(&a->u.v6, &b->u.v6, 16) == 0;
	return strcasecmp(a->u.name, b->u.name) == 0;
}

/* ---- gateway control connections ------------------------------------------ */

/* Index of the gateway that worked last: failover is remembered. */
static atomic_uint hook_udp_gw_first;

int shim_ub_request(int sockfam, uint8_t cmd, const struct socks_addr *dst,
		    const struct sockaddr *src, int timeout_ms, struct socks_addr *bnd,
		    struct sockaddr_storage *gw, struct gss_ctx **gss)
{
	const struct shim_conf *c = shim_conf();
	struct gss_ctx *ctx;
	long long deadline = shim_now_ms() + timeout_ms;
	unsigned first = atomic_load(&hook_udp_gw_first);
	char gwtext[SOCKS_ADDR_STRLEN];
	struct socks_client sc;
	int err = ENETUNREACH;

	if (gss)
		*gss = NULL;
	if (!c) {
		errno = ENETUNREACH;
		return -1;
	}
	for (size_t k = 0; k < c->ngateways; k++) {
		size_t i = (first + k) % c->ngateways;
		const struct sockaddr *g = (const struct sockaddr *)&c->gateways[i];
		int fd;

		/* The relay (and a BIND's connection) is in the gateway's
		 * family: an IPv4 socket cannot use an IPv6 gateway. */
		if (sockfam == AF_INET && g->sa_family != AF_INET)
			continue;
		sockaddr_format(g, gwtext, sizeof(gwtext));
		fd = socket(g->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (src && src->sa_family == g->sa_family) {
			struct sockaddr_storage ss;
			socklen_t sl = src->sa_family == AF_INET ? sizeof(struct sockaddr_in)
								 : sizeof(struct sockaddr_in6);

			memcpy(&ss, src, sl);
			if (ss.ss_family == AF_INET)
				((struct sockaddr_in *)&ss)->sin_port = 0;
			else
				((struct sockaddr_in6 *)&ss)->sin6_port = 0;
			(void)shim_ub_syms()->bind(fd, (struct sockaddr *)&ss, sl);
		}
		if (shim_connect_gw(fd, g, c->gateway_lens[i], deadline) < 0) {
			err = errno;
			close(fd);
			shim_log(SHIM_LOG_VERBOSE, "gateway %s: %s", gwtext, strerror(err));
			if (err == ETIMEDOUT)
				break;
			continue;
		}
		atomic_store(&hook_udp_gw_first, (unsigned)i);
		socks_client_init(&sc, cmd, dst);
		if (socks_client_auth(&sc, c, g) < 0 ||
		    socks_client_run(&sc, fd, (int)(deadline - shim_now_ms()), NULL) < 0) {
			err = errno;
			if (err == EACCES && sc.rep == 0)
				shim_log(SHIM_LOG_WARN, "gateway %s: %s", gwtext,
					 sc.why ? sc.why : strerror(err));
			else
				shim_log(SHIM_LOG_VERBOSE, "gateway %s: %s (REP %u)", gwtext,
					 sc.why ? sc.why : strerror(err), sc.rep);
			socks_client_cleanup(&sc);
			close(fd);
			errno = err;
			return -1;
		}
		ctx = socks_client_take_gss(&sc);
		socks_client_cleanup(&sc);
		if (gss) {
			*gss = ctx;
		} else if (ctx) {
			gss_ctx_free(ctx);
			shim_log(SHIM_LOG_WARN, "gateway %s: protected data not supported here",
				 gwtext);
			close(fd);
			errno = EPROTONOSUPPORT;
			return -1;
		}
		*bnd = sc.bnd;
		memset(gw, 0, sizeof(*gw));
		memcpy(gw, g, c->gateway_lens[i]);
		return fd;
	}
	errno = err;
	return -1;
}

/* ---- UDP sockets ------------------------------------------------------------ */

/* What a MSG_PEEK on a protected association unwrapped: the raw
 * datagram (rawlen bytes), then its plaintext (len bytes). */
struct hook_udp_stash {
	size_t rawlen;
	size_t len;
	uint8_t data[];
};

/* A destination the program used, or a real source it was shown. */
struct hook_udp_peer {
	bool used;
	bool have_real; /* real: the address the gateway reports for it */
	struct socks_addr dst; /* what goes in the header: a name, or the real address */
	struct socks_addr real;
	struct sockaddr_storage shown; /* what the program sees */
	uint64_t stamp;
};

struct hook_udp {
	struct shim_ub_obj obj;
	pthread_mutex_t lock;
	int family; /* the socket's */
	int ctl; /* control connection, -1: no association */
	struct sockaddr_storage relay; /* in the socket's family */
	socklen_t relaylen;
	struct gss_ctx *gss; /* the association's, at protection levels 1 and 2 */
	uint8_t *gbuf; /* GSS_FRAME_MAX: a datagram being wrapped */
	struct hook_udp_stash *stash; /* what a MSG_PEEK unwrapped */
	bool connected; /* default destination set by connect() */
	struct socks_addr dflt;
	uint64_t clock;
	struct hook_udp_peer peers[HOOK_UDP_PEERS];
};

/* UDP records alive: read()/write()/send()/recv() of every other
 * descriptor skip the table while there are none. */
static atomic_uint hook_udp_live;

static void hook_udp_drop(struct shim_ub_obj *o)
{
	struct hook_udp *u = (struct hook_udp *)o;

	atomic_fetch_sub(&hook_udp_live, 1);
	if (u->ctl >= 0)
		fdtab_own_close(u->ctl);
	gss_ctx_free(u->gss);
	free(u->gbuf);
	free(u->stash);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

static struct hook_udp *hook_udp_find(int fd)
{
	return (struct hook_udp *)shim_ub_find(fd, SHIM_UB_UDP);
}

static struct hook_udp *hook_udp_get(int fd)
{
	struct hook_udp *u = hook_udp_find(fd);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (u)
		return u;
	if (shim_ub_syms()->getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return NULL;
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->obj.refs = 2; /* the table's and ours */
	u->obj.kind = SHIM_UB_UDP;
	u->obj.drop = hook_udp_drop;
	u->family = ss.ss_family;
	u->ctl = -1;
	pthread_mutex_init(&u->lock, NULL);
	atomic_fetch_add(&hook_udp_live, 1);
	if (shim_ub_attach(fd, &u->obj) < 0) {
		hook_udp_drop(&u->obj);
		return NULL;
	}
	return u;
}

/* Whether the control connection is still there (§7: the association ends
 * with it).  The gateway never sends on it, so readable means closed. */
static bool hook_udp_alive(struct hook_udp *u)
{
	struct pollfd pfd = {.fd = u->ctl, .events = POLLIN};
	char c;

	if (poll(&pfd, 1, 0) <= 0)
		return true;
	return shim_ub_syms()->recv(u->ctl, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

static int hook_udp_timeout_ms(int fd)
{
	const struct shim_conf *c = shim_conf();
	struct timeval tv;
	socklen_t len = sizeof(tv);

	if (getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &len) == 0 &&
	    (tv.tv_sec > 0 || tv.tv_usec > 0) &&
	    (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000 < (long long)c->connect_timeout_ms)
		return (int)(tv.tv_sec * 1000 + tv.tv_usec / 1000) + 1;
	return (int)c->connect_timeout_ms;
}

/* Set up (or renew) the association; u->lock held.  0 or -1 with errno. */
static int hook_udp_associate(struct hook_udp *u, int fd)
{
	const struct shim_syms *real = shim_syms();
	struct sockaddr_storage local, gw, relay;
	socklen_t len = sizeof(local);
	struct socks_addr dst, bnd;
	char text[SOCKS_ADDR_STRLEN];
	const struct sockaddr *src = NULL;
	struct gss_ctx *gss = NULL;
	int ctl;

	if (u->ctl >= 0) {
		if (hook_udp_alive(u))
			return 0;
		shim_log(SHIM_LOG_VERBOSE, "fd %d: UDP association ended by the gateway", fd);
		fdtab_own_close(u->ctl);
		u->ctl = -1;
		gss_ctx_free(u->gss);
		u->gss = NULL;
		free(u->stash);
		u->stash = NULL;
	}
	/* Bound now (as sendto would do), so the request names our port. */
	if (shim_ub_syms()->getsockname(fd, (struct sockaddr *)&local, &len) < 0)
		return -1;
	if (hook_udp_port((struct sockaddr *)&local) == 0) {
		struct sockaddr_storage any;

		memset(&any, 0, sizeof(any));
		any.ss_family = local.ss_family;
		len = local.ss_family == AF_INET ? sizeof(struct sockaddr_in)
						 : sizeof(struct sockaddr_in6);
		if (shim_ub_syms()->bind(fd, (struct sockaddr *)&any, len) < 0 ||
		    shim_ub_syms()->getsockname(fd, (struct sockaddr *)&local, &len) < 0)
			return -1;
	}
	if (socks_addr_from_sockaddr(&dst, (struct sockaddr *)&local) < 0) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	dst.port = hook_udp_port((struct sockaddr *)&local);
	/* §7: DST is where datagrams will come from; an unspecified address
	 * leaves it to the gateway (the control connection's source). */
	if ((dst.atyp == SOCKS_ATYP_IPV4 && dst.u.v4.s_addr == htonl(INADDR_ANY)) ||
	    (dst.atyp == SOCKS_ATYP_IPV6 && IN6_IS_ADDR_UNSPECIFIED(&dst.u.v6))) {
		dst.atyp = SOCKS_ATYP_IPV4;
		dst.u.v4.s_addr = htonl(INADDR_ANY);
	} else {
		src = (const struct sockaddr *)&local;
	}
	ctl = shim_ub_request(u->family, SOCKS5_CMD_UDP_ASSOCIATE, &dst, src,
			      hook_udp_timeout_ms(fd), &bnd, &gw, &gss);
	if (ctl < 0) {
		int err = errno;

		shim_log(SHIM_LOG_WARN, "UDP ASSOCIATE: %s", strerror(err));
		errno = err;
		return -1;
	}
	/* BND 0.0.0.0 or :: means "the address you reached me on". */
	if ((bnd.atyp == SOCKS_ATYP_IPV4 && bnd.u.v4.s_addr == htonl(INADDR_ANY)) ||
	    (bnd.atyp == SOCKS_ATYP_IPV6 && IN6_IS_ADDR_UNSPECIFIED(&bnd.u.v6))) {
		uint16_t port = bnd.port;

		socks_addr_from_sockaddr(&bnd, (struct sockaddr *)&gw);
		bnd.port = port;
	}
	if (bnd.atyp == SOCKS_ATYP_NAME || (bnd.atyp == SOCKS_ATYP_IPV6 && u->family == AF_INET)) {
		gss_ctx_free(gss);
		close(ctl);
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (gss && !u->gbuf && !(u->gbuf = malloc(GSS_FRAME_MAX))) {
		gss_ctx_free(gss);
		close(ctl);
		errno = ENOMEM;
		return -1;
	}
	/* The program may not close it by number (closefrom() loops). */
	ctl = fdtab_own(ctl);
	if (ctl < 0) {
		gss_ctx_free(gss);
		return -1;
	}
	u->gss = gss;
	u->relaylen = shim_ub_show(u->family, &bnd, &relay);
	memcpy(&u->relay, &relay, sizeof(relay));
	u->ctl = ctl;
	shim_log(SHIM_LOG_VERBOSE, "fd %d: UDP association, relay %s%s", fd,
		 sockaddr_format((struct sockaddr *)&u->relay, text, sizeof(text)),
		 gss ? (gss_ctx_level(gss) == GSS_LEVEL_CONFIDENTIALITY ? ", confidentiality"
									: ", integrity")
		     : "");
	if (u->connected && real->connect(fd, (struct sockaddr *)&u->relay, u->relaylen) < 0)
		return -1;
	return 0;
}

/* The peer slot for dst (a name or a real address); u->lock held. */
static struct hook_udp_peer *hook_udp_peer(struct hook_udp *u, const struct socks_addr *dst,
					   const struct sockaddr *shown)
{
	struct hook_udp_peer *p, *oldest = &u->peers[0];

	for (int i = 0; i < HOOK_UDP_PEERS; i++) {
		p = &u->peers[i];
		if (p->used && hook_udp_same_addr(&p->dst, dst)) {
			p->stamp = ++u->clock;
			return p;
		}
		if (!p->used || (oldest->used && p->stamp < oldest->stamp))
			oldest = p;
	}
	p = oldest;
	memset(p, 0, sizeof(*p));
	p->used = true;
	p->dst = *dst;
	if (dst->atyp != SOCKS_ATYP_NAME) {
		p->real = *dst;
		p->have_real = true;
	}
	memcpy(&p->shown, shown,
	       shown->sa_family == AF_INET ? sizeof(struct sockaddr_in)
					   : sizeof(struct sockaddr_in6));
	p->stamp = ++u->clock;
	return p;
}

/* RFC 1961 §5: header and payload wrapped whole into one message, sent
 * as one datagram; u->lock held.  The payload length, or -1. */
static ssize_t hook_udp_gss_send(int fd, struct hook_udp *u, const uint8_t *hdr, size_t hl,
				 const struct msghdr *msg, int flags)
{
	size_t max = gss_ctx_max_plain(u->gss), len = hl, wlen;
	struct iovec iov;
	struct msghdr m;
	struct gss_err err;
	uint8_t *plain;
	ssize_t n;

	for (size_t i = 0; i < msg->msg_iovlen; i++) {
		len += msg->msg_iov[i].iov_len;
		if (len > max) {
			errno = EMSGSIZE;
			return -1;
		}
	}
	plain = malloc(len);
	if (!plain)
		return -1;
	memcpy(plain, hdr, hl);
	len = hl;
	for (size_t i = 0; i < msg->msg_iovlen; i++) {
		memcpy(plain + len, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len);
		len += msg->msg_iov[i].iov_len;
	}
	n = gss_wrap_msg(u->gss, plain, len, u->gbuf, GSS_FRAME_MAX, &wlen, &err);
	free(plain);
	if (n < 0) {
		shim_log(SHIM_LOG_WARN, "fd %d: %s", fd, err.msg);
		errno = EMSGSIZE;
		return -1;
	}
	iov.iov_base = u->gbuf;
	iov.iov_len = wlen;
	memset(&m, 0, sizeof(m));
	m.msg_name = &u->relay;
	m.msg_namelen = u->relaylen;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = msg->msg_control;
	m.msg_controllen = msg->msg_controllen;
	n = shim_ub_syms()->sendmsg(fd, &m, flags);
	if (n < 0)
		return -1;
	return (ssize_t)(len - hl);
}

/* Send msg's data to dst through the relay; u->lock held. */
static ssize_t hook_udp_wrap_send(int fd, struct hook_udp *u, const struct socks_addr *dst,
				  const struct msghdr *msg, int flags)
{
	uint8_t hdr[SOCKS5_UDP_HDR_MAX];
	struct iovec iov[HOOK_UDP_IOV_MAX + 1];
	struct msghdr m;
	size_t hl = socks5_build_udp_header(hdr, sizeof(hdr), dst);
	ssize_t n;

	if (hl == 0 || msg->msg_iovlen > HOOK_UDP_IOV_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	if (u->gss)
		return hook_udp_gss_send(fd, u, hdr, hl, msg, flags);
	iov[0].iov_base = hdr;
	iov[0].iov_len = hl;
	for (size_t i = 0; i < msg->msg_iovlen; i++)
		iov[i + 1] = msg->msg_iov[i];
	memset(&m, 0, sizeof(m));
	m.msg_name = &u->relay;
	m.msg_namelen = u->relaylen;
	m.msg_iov = iov;
	m.msg_iovlen = msg->msg_iovlen + 1;
	m.msg_control = msg->msg_control;
	m.msg_controllen = msg->msg_controllen;
	n = shim_ub_syms()->sendmsg(fd, &m, flags);
	if (n < 0)
		return -1;
	return n >= (ssize_t)hl ? n - (ssize_t)hl : 0;
}

static bool hook_udp_is_dgram(int fd)
{
	int type = 0;
	socklen_t tlen = sizeof(type);

	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0 && type == SOCK_DGRAM;
}

/* true when the shim took the send (result in *ret); false: send as is. */
static bool hook_udp_send(int fd, const struct msghdr *msg, int flags, ssize_t *ret)
{
	const struct sockaddr *sa = msg->msg_name;
	struct synth_entry_info e;
	struct socks_addr dst;
	struct hook_udp *u;
	int rc = 0;

	if (sa && msg->msg_namelen >= sizeof(sa_family_t) &&
	    (sa->sa_family == AF_INET || sa->sa_family == AF_INET6))
		rc = shim_ub_synthetic(sa, msg->msg_namelen, &e);
	else
		sa = NULL;
	if (rc == 0 && atomic_load_explicit(&hook_udp_live, memory_order_relaxed) == 0)
		return false;
	if (rc != 0 && !hook_udp_is_dgram(fd))
		return false; /* a TCP sendto ignores the address anyway */
	if (rc < 0) {
		char text[SOCKS_ADDR_STRLEN];

		shim_log(SHIM_LOG_WARN, "sendto %s: synthetic address not in the map",
			 sockaddr_format(sa, text, sizeof(text)));
		errno = EHOSTUNREACH;
		*ret = -1;
		return true;
	}
	u = rc > 0 ? hook_udp_get(fd) : hook_udp_find(fd);
	if (!u) {
		if (rc == 0)
			return false;
		*ret = -1; /* out of memory, or not a socket */
		return true;
	}
	pthread_mutex_lock(&u->lock);
	if (rc > 0) {
		memset(&dst, 0, sizeof(dst));
		if (socks_addr_set_name(&dst, e.name, e.namelen) == SOCKS_NAME_BAD) {
			errno = EHOSTUNREACH;
			*ret = -1;
			goto out;
		}
		dst.port = hook_udp_port(sa);
		if (hook_udp_associate(u, fd) < 0) {
			*ret = -1;
			goto out;
		}
		hook_udp_peer(u, &dst, sa);
	} else if (sa) {
		struct hook_udp_peer *p = NULL;

		/* A real address the program was shown as a relayed source. */
		for (int i = 0; i < HOOK_UDP_PEERS && u->ctl >= 0; i++) {
			if (u->peers[i].used && u->peers[i].have_real &&
			    hook_udp_same((struct sockaddr *)&u->peers[i].shown, sa)) {
				p = &u->peers[i];
				break;
			}
		}
		if (!p) {
			rc = -2;
			goto out;
		}
		dst = p->dst.atyp == SOCKS_ATYP_NAME ? p->dst : p->real;
		if (hook_udp_associate(u, fd) < 0) {
			*ret = -1;
			goto out;
		}
	} else if (u->connected) {
		dst = u->dflt;
		if (hook_udp_associate(u, fd) < 0) {
			*ret = -1;
			goto out;
		}
	} else {
		rc = -2;
		goto out;
	}
	*ret = hook_udp_wrap_send(fd, u, &dst, msg, flags);
out:
	pthread_mutex_unlock(&u->lock);
	shim_ub_put(&u->obj);
	return rc != -2;
}

/* Which address the program is shown for a relayed source; u->lock held. */
static socklen_t hook_udp_source(struct hook_udp *u, const struct socks_addr *src,
				 struct sockaddr_storage *out)
{
	struct hook_udp_peer *best = NULL;
	socklen_t len;

	for (int i = 0; i < HOOK_UDP_PEERS; i++) {
		struct hook_udp_peer *p = &u->peers[i];

		if (p->used && p->have_real && hook_udp_same_addr(&p->real, src)) {
			best = p;
			goto shown;
		}
	}
	/* A name's first answer: from the port it was sent to. */
	for (int i = 0; i < HOOK_UDP_PEERS; i++) {
		struct hook_udp_peer *p = &u->peers[i];

		if (p->used && !p->have_real && p->dst.atyp == SOCKS_ATYP_NAME &&
		    p->dst.port == src->port && (!best || p->stamp > best->stamp))
			best = p;
	}
	if (best && src->atyp != SOCKS_ATYP_NAME) {
		best->real = *src;
		best->have_real = true;
		goto shown;
	}
	len = shim_ub_show(u->family, src, out);
	if (len == 0)
		return 0;
	best = hook_udp_peer(u, src, (struct sockaddr *)out);
shown:
	best->stamp = ++u->clock;
	memcpy(out, &best->shown, sizeof(*out));
	return best->shown.ss_family == AF_INET ? sizeof(struct sockaddr_in)
						: sizeof(struct sockaddr_in6);
}

/* Copy len bytes of src into msg's iovecs; returns what fitted. */
static size_t hook_udp_scatter(const struct msghdr *msg, const uint8_t *src, size_t len)
{
	size_t done = 0;

	for (size_t i = 0; i < msg->msg_iovlen && done < len; i++) {
		size_t n = msg->msg_iov[i].iov_len;

		if (n > len - done)
			n = len - done;
		memcpy(msg->msg_iov[i].iov_base, src + done, n);
		done += n;
	}
	return done;
}

static void hook_udp_name_out(struct msghdr *msg, const struct sockaddr_storage *ss, socklen_t len)
{
	if (!msg->msg_name)
		return;
	memcpy(msg->msg_name, ss, msg->msg_namelen < len ? msg->msg_namelen : len);
	msg->msg_namelen = len;
}

/* true when the shim took the receive (result in *ret). */
/* A dropped datagram that a MSG_PEEK left queued must leave, so the next
 * call sees the one after it. */
static void hook_udp_discard(int fd, struct hook_udp *u, int flags)
{
	char c;

	if (!(flags & MSG_PEEK))
		return;
	pthread_mutex_lock(&u->lock);
	free(u->stash);
	u->stash = NULL;
	pthread_mutex_unlock(&u->lock);
	(void)shim_ub_syms()->recv(fd, &c, 1, MSG_DONTWAIT);
}

/* A protected association's next datagram, whole (buf holds 2 *
 * GSS_FRAME_MAX: the raw datagram, then its plaintext), unwrapped when it
 * came from the relay (*relayed), into *data; m receives the source and
 * control data.  Its length, -1 (errno), or -2 (dropped: read the next).
 * A token cannot be unwrapped twice (the second time is a replay), so what
 * a MSG_PEEK unwrapped is kept in u->stash with the raw datagram, and the
 * next receive of those same bytes takes the kept plaintext. */
static ssize_t hook_udp_gss_recv(int fd, struct hook_udp *u, struct msghdr *m, int flags,
				 const struct sockaddr *relay, uint8_t *buf, uint8_t **data,
				 bool *relayed)
{
	struct hook_udp_stash *st;
	struct gss_err err;
	size_t len;
	ssize_t n;
	int rc;

	m->msg_iov->iov_base = buf;
	m->msg_iov->iov_len = GSS_FRAME_MAX;
	n = shim_ub_syms()->recvmsg(fd, m, flags & ~MSG_TRUNC);
	if (n < 0)
		return -1;
	*relayed = m->msg_namelen != 0 && hook_udp_same((struct sockaddr *)m->msg_name, relay);
	*data = buf;
	len = (size_t)n;
	if (!*relayed)
		return n;
	pthread_mutex_lock(&u->lock);
	st = u->stash;
	if (st && st->rawlen == len && memcmp(st->data, buf, len) == 0) {
		/* Unwrapped by the MSG_PEEK before. */
		memcpy(buf + GSS_FRAME_MAX, st->data + st->rawlen, st->len);
		len = st->len;
		if (!(flags & MSG_PEEK)) {
			u->stash = NULL;
			free(st);
		}
	} else {
		const char *why = "the association ended";
		struct hook_udp_stash *keep = NULL;

		/* Kept before unwrapping: the library may work on the token in
		 * place. */
		if ((flags & MSG_PEEK) && (keep = malloc(sizeof(*keep) + 2 * len)) != NULL) {
			keep->rawlen = len;
			memcpy(keep->data, buf, len);
		}
		rc = -1;
		if (u->gss) {
			rc = gss_unwrap_dgram(u->gss, buf, (size_t)n, buf + GSS_FRAME_MAX,
					      GSS_FRAME_MAX, &len, &err);
			why = err.msg;
		}
		if (rc != 0) {
			pthread_mutex_unlock(&u->lock);
			free(keep);
			/* §5: replays quietly, forgeries loudly. */
			shim_log(rc > 0 ? SHIM_LOG_VERBOSE : SHIM_LOG_WARN,
				 "fd %d: dropped a datagram from the relay: %s", fd, why);
			hook_udp_discard(fd, u, flags);
			return -2;
		}
		if (keep) {
			/* The plaintext is never longer than its token. */
			keep->len = len;
			memcpy(keep->data + keep->rawlen, buf + GSS_FRAME_MAX, len);
			free(u->stash);
			u->stash = keep;
		}
	}
	pthread_mutex_unlock(&u->lock);
	*data = buf + GSS_FRAME_MAX;
	return (ssize_t)len;
}

/* true when the shim took the receive (result in *ret). */
static bool hook_udp_recv(int fd, struct msghdr *msg, int flags, ssize_t *ret)
{
	const struct shim_ub_syms *real = shim_ub_syms();
	struct sockaddr_storage relay;
	struct hook_udp *u;
	uint8_t *buf;
	size_t want = 0, cap;
	bool active, gss;

	if (atomic_load_explicit(&hook_udp_live, memory_order_relaxed) == 0)
		return false;
	u = hook_udp_find(fd);
	if (!u)
		return false;
	pthread_mutex_lock(&u->lock);
	active = u->ctl >= 0;
	gss = u->gss != NULL;
	relay = u->relay;
	pthread_mutex_unlock(&u->lock);
	if (!active) {
		shim_ub_put(&u->obj);
		return false;
	}
	for (size_t i = 0; i < msg->msg_iovlen; i++)
		want += msg->msg_iov[i].iov_len;
	if (want > HOOK_UDP_DGRAM_MAX)
		want = HOOK_UDP_DGRAM_MAX;
	cap = gss ? 2 * (size_t)GSS_FRAME_MAX : SOCKS5_UDP_HDR_MAX + want;
	buf = malloc(cap);
	if (!buf) {
		shim_ub_put(&u->obj);
		errno = ENOMEM;
		*ret = -1;
		return true;
	}
	for (;;) {
		struct sockaddr_storage from, shown;
		struct iovec iov = {.iov_base = buf, .iov_len = cap};
		struct msghdr m;
		struct socks_addr src;
		socklen_t slen;
		size_t hl, got, payload;
		uint8_t frag, *data = buf;
		bool relayed;
		ssize_t n;

		memset(&m, 0, sizeof(m));
		m.msg_name = &from;
		m.msg_namelen = sizeof(from);
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = msg->msg_control;
		m.msg_controllen = msg->msg_controllen;
		if (gss) {
			n = hook_udp_gss_recv(fd, u, &m, flags, (struct sockaddr *)&relay, buf,
					      &data, &relayed);
			if (n == -2)
				continue;
		} else {
			/* MSG_TRUNC: the kernel tells the whole datagram's length. */
			n = real->recvmsg(fd, &m, flags | MSG_TRUNC);
			relayed =
				n >= 0 && m.msg_namelen != 0 &&
				hook_udp_same((struct sockaddr *)&from, (struct sockaddr *)&relay);
		}
		if (n < 0) {
			*ret = -1;
			break;
		}
		got = (size_t)n < cap ? (size_t)n : cap;
		msg->msg_controllen = m.msg_controllen;
		msg->msg_flags = m.msg_flags & ~MSG_TRUNC;
		if (!relayed) {
			/* Not from the relay: a direct peer of this socket. */
			size_t put = hook_udp_scatter(msg, data, got);

			hook_udp_name_out(msg, &from, m.msg_namelen);
			if ((size_t)n > put)
				msg->msg_flags |= MSG_TRUNC;
			*ret = (flags & MSG_TRUNC) ? n : (ssize_t)put;
			break;
		}
		slen = 0;
		if (socks5_parse_udp(data, got, &frag, &src, &hl) == CODEC_OK && frag == 0) {
			pthread_mutex_lock(&u->lock);
			slen = hook_udp_source(u, &src, &shown);
			pthread_mutex_unlock(&u->lock);
		}
		if (slen == 0) {
			shim_log(SHIM_LOG_VERBOSE, "fd %d: dropped a bad datagram from the relay",
				 fd);
			hook_udp_discard(fd, u, flags);
			continue;
		}
		payload = (size_t)n - hl;
		got -= hl;
		got = hook_udp_scatter(msg, data + hl, got);
		hook_udp_name_out(msg, &shown, slen);
		if (payload > got)
			msg->msg_flags |= MSG_TRUNC;
		*ret = (flags & MSG_TRUNC) ? (ssize_t)payload : (ssize_t)got;
		break;
	}
	free(buf);
	shim_ub_put(&u->obj);
	return true;
}

int shim_udp_connect(int fd, const struct sockaddr *sa, socklen_t len, bool *handled)
{
	const struct shim_syms *real = shim_syms();
	struct synth_entry_info e;
	struct hook_udp *u;
	int rc, saved = errno, ret = -1;

	*handled = false;
	rc = sa ? shim_ub_synthetic(sa, len, &e) : 0;
	if (rc == 0) {
		/* A real address or AF_UNSPEC: no synthetic default any more. */
		u = hook_udp_find(fd);
		if (u) {
			pthread_mutex_lock(&u->lock);
			u->connected = false;
			pthread_mutex_unlock(&u->lock);
			shim_ub_put(&u->obj);
		}
		errno = saved;
		return 0;
	}
	*handled = true;
	if (rc < 0) {
		errno = EHOSTUNREACH;
		return -1;
	}
	u = hook_udp_get(fd);
	if (!u)
		return -1;
	pthread_mutex_lock(&u->lock);
	memset(&u->dflt, 0, sizeof(u->dflt));
	if (socks_addr_set_name(&u->dflt, e.name, e.namelen) == SOCKS_NAME_BAD) {
		errno = EHOSTUNREACH;
		goto out;
	}
	u->dflt.port = hook_udp_port(sa);
	if (hook_udp_associate(u, fd) < 0)
		goto out;
	/* Connected to the relay: the kernel then takes only its datagrams,
	 * as it would take only the peer's. */
	if (real->connect(fd, (struct sockaddr *)&u->relay, u->relaylen) < 0)
		goto out;
	u->connected = true;
	hook_udp_peer(u, &u->dflt, sa);
	fdtab_set(fd, sa, len);
	shim_log(SHIM_LOG_VERBOSE, "fd %d: UDP connected to %s:%u through the gateway", fd, e.name,
		 u->dflt.port);
	errno = saved;
	ret = 0;
out:
	pthread_mutex_unlock(&u->lock);
	shim_ub_put(&u->obj);
	return ret;
}

/* ---- the hooks ---------------------------------------------------------------- */

SHIM_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, SHIM_CONST_SA addr,
			   socklen_t alen)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = n};
	struct msghdr m = {.msg_name = (void *)SHIM_CONST_SA_PTR(addr),
			   .msg_namelen = SHIM_CONST_SA_PTR(addr) ? alen : 0,
			   .msg_iov = &iov,
			   .msg_iovlen = 1};
	ssize_t r;

	if (hook_udp_send(fd, &m, flags, &r))
		return r;
	return shim_ub_syms()->sendto(fd, buf, n, flags, addr, alen);
}

SHIM_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	ssize_t r;

	if (msg && hook_udp_send(fd, msg, flags, &r))
		return r;
	return shim_ub_syms()->sendmsg(fd, msg, flags);
}

SHIM_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = n};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t r;

	if (atomic_load_explicit(&hook_udp_live, memory_order_relaxed) != 0 &&
	    hook_udp_send(fd, &m, flags, &r))
		return r;
	return shim_ub_syms()->send(fd, buf, n, flags);
}

SHIM_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = n};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t r;

	if (atomic_load_explicit(&hook_udp_live, memory_order_relaxed) != 0 &&
	    hook_udp_send(fd, &m, 0, &r))
		return r;
	return shim_ub_syms()->write(fd, buf, n);
}

SHIM_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	ssize_t r;

	if (msg && hook_udp_recv(fd, msg, flags, &r))
		return r;
	return shim_ub_syms()->recvmsg(fd, msg, flags);
}

SHIM_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, SHIM_SA addr, socklen_t *alen)
{
	struct sockaddr *sa = SHIM_SA_PTR(addr);
	struct iovec iov = {.iov_base = buf, .iov_len = n};
	struct msghdr m = {.msg_name = alen ? sa : NULL,
			   .msg_namelen = alen && sa ? *alen : 0,
			   .msg_iov = &iov,
			   .msg_iovlen = 1};
	ssize_t r;

	if (hook_udp_recv(fd, &m, flags, &r)) {
		if (r >= 0 && alen && sa)
			*alen = m.msg_namelen;
		return r;
	}
	return shim_ub_syms()->recvfrom(fd, buf, n, flags, addr, alen);
}

SHIM_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	struct iovec iov = {.iov_base = buf, .iov_len = n};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t r;

	if (hook_udp_recv(fd, &m, flags, &r))
		return r;
	return shim_ub_syms()->recv(fd, buf, n, flags);
}

SHIM_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	struct iovec iov = {.iov_base = buf, .iov_len = n};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t r;

	if (hook_udp_recv(fd, &m, 0, &r))
		return r;
	return shim_ub_syms()->read(fd, buf, n);
}
