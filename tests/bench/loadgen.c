/* loadgen — load generator and sink/source server for the socks64 benchmark
 * (driven by tests/bench/run.sh; the figures are explained in README.md).
 *
 *   loadgen server -l ADDR:PORT [-l ADDR:PORT ...]
 *   loadgen bulk -t HOST:PORT [-x PROXY:PORT] [-b SRC,...] -P STREAMS -B BYTES -d up
 *   loadgen bulk -t HOST:PORT [-x PROXY:PORT] [-b SRC,...] -P STREAMS (-B BYTES | -T SECS) -d down
 *   loadgen rate -t HOST:PORT [-x PROXY:PORT] [-b SRC,...] -c CONC (-T SECS | -N COUNT)
 *   loadgen idle -t HOST:PORT [-x PROXY:PORT] [-b SRC,...] -N CONNS [-c CONC] [-w SECS]
 *
 * With -x every connection is a SOCKS5 CONNECT (RFC 1928, method "none") to
 * HOST, which may be an IP literal (ATYP 1/4) or a name (ATYP 3, resolved by
 * the proxy); without -x HOST must be a literal and the connection is direct.
 *
 * The server speaks a tiny protocol chosen by the first byte it receives:
 *   'D' + 8-byte big-endian count: it sends count bytes (bulk download);
 *   'U' + count: it discards count bytes, then answers one byte 'K' (upload);
 *   'R' + 99 bytes: it answers 100 bytes (request/reply);
 * and then waits for the client to close.  A connection that sends nothing is
 * simply held open (idle mode).
 *
 * Single-threaded epoll over non-blocking sockets, level-triggered.  Results
 * are single "result key=value ..." lines on stdout; errors go to stderr. */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "socks5.h"
#include "socks_addr.h"

#define LG_RR_SIZE 100
#define LG_HDR_SIZE 9 /* op + 8-byte count */
#define LG_IO_BUF (256 * 1024)
#define LG_MAX_ADDRS 64
#define LG_EVENTS 512
#define LG_TICK_MS 100
#define LG_NOFILE 65536 /* 20,000 held connections plus headroom */
#define LG_DRAIN_SECS 5.0 /* rate: time allowed for in-flight work after the deadline */
#define LG_MAX_ERR_LOG 5
#define LG_CONN_TIMEOUT 10.0 /* seconds from connect() to the end of the exchange */

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

/* The payload is never looked at: one buffer is both source and sink. */
static uint8_t lg_iobuf[LG_IO_BUF];

struct lg_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

struct lg_opts {
	const char *mode;
	struct socks_addr target;
	bool have_target;
	struct lg_addr proxy;
	bool use_proxy;
	struct lg_addr src[LG_MAX_ADDRS];
	size_t nsrc;
	struct lg_addr listen[LG_MAX_ADDRS];
	size_t nlisten;
	unsigned conc;
	unsigned streams;
	uint64_t bytes;
	bool upload;
	double secs;
	uint64_t count;
	double wait_secs; /* bound on bulk's whole run and idle's set-up */
};

static double lg_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void lg_raise_nofile(void)
{
	struct rlimit rl = {LG_NOFILE, LG_NOFILE};

	/* Root may raise the hard limit; otherwise take what is allowed. */
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Signals arrive through a signalfd in the loop, so no handler races the loop. */
static int lg_signalfd(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* "198.51.100.1:80", "[2001:db8::1]:80", "bench.test:80" -> a (names kept). */
static int lg_parse_hostport(const char *s, struct socks_addr *a)
{
	const char *colon = strrchr(s, ':');
	char *end;
	unsigned long port;
	enum socks_name_status st;

	if (colon == NULL || colon == s)
		return -1;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || port == 0 || port > 65535)
		return -1;
	st = socks_addr_set_name(a, s, (size_t)(colon - s));
	if (st != SOCKS_NAME_OK && st != SOCKS_NAME_LITERAL)
		return -1;
	a->port = (uint16_t)port;
	return 0;
}

/* An IP literal with a port ("ADDR:PORT") or without one (port 0). */
static int lg_parse_sockaddr(const char *s, bool with_port, struct lg_addr *out)
{
	struct socks_addr a;

	if (with_port) {
		if (lg_parse_hostport(s, &a) != 0)
			return -1;
	} else {
		if (socks_addr_set_name(&a, s, strlen(s)) != SOCKS_NAME_LITERAL)
			return -1;
		a.port = 0;
	}
	out->len = socks_addr_to_sockaddr(&a, &out->ss);
	return out->len == 0 ? -1 : 0;
}

static int lg_parse_srclist(char *list, struct lg_opts *o)
{
	char *save = NULL;

	for (char *tok = strtok_r(list, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		if (o->nsrc == LG_MAX_ADDRS || lg_parse_sockaddr(tok, false, &o->src[o->nsrc]) != 0)
			return -1;
		o->nsrc++;
	}
	return 0;
}

static int lg_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		return -1;
	switch (*end) {
	case 'k':
	case 'K':
		v <<= 10;
		end++;
		break;
	case 'm':
	case 'M':
		v <<= 20;
		end++;
		break;
	case 'g':
	case 'G':
		v <<= 30;
		end++;
		break;
	default:
		break;
	}
	if (*end != '\0')
		return -1;
	*out = v;
	return 0;
}

static void lg_usage(void)
{
	fprintf(stderr, "usage: loadgen server -l ADDR:PORT [-l ...]\n"
			"       loadgen bulk -t HOST:PORT [-x PROXY] [-b SRC,...] -P N -B BYTES -d "
			"down|up\n"
			"       loadgen rate -t HOST:PORT [-x PROXY] [-b SRC,...] -c N (-T SECS | "
			"-N COUNT)\n"
			"       loadgen idle -t HOST:PORT [-x PROXY] [-b SRC,...] -N CONNS [-c N] "
			"[-w SECS]\n");
}

static int lg_parse_args(int argc, char **argv, struct lg_opts *o)
{
	int ch;

	if (argc < 2)
		return -1;
	o->mode = argv[1];
	o->conc = 32;
	o->streams = 4;
	o->wait_secs = 120;
	optind = 2;
	while ((ch = getopt(argc, argv, "l:t:x:b:c:P:B:d:T:N:w:")) != -1) {
		switch (ch) {
		case 'l':
			if (o->nlisten == LG_MAX_ADDRS ||
			    lg_parse_sockaddr(optarg, true, &o->listen[o->nlisten]) != 0)
				return -1;
			o->nlisten++;
			break;
		case 't':
			if (lg_parse_hostport(optarg, &o->target) != 0)
				return -1;
			o->have_target = true;
			break;
		case 'x':
			if (lg_parse_sockaddr(optarg, true, &o->proxy) != 0)
				return -1;
			o->use_proxy = true;
			break;
		case 'b':
			if (lg_parse_srclist(optarg, o) != 0)
				return -1;
			break;
		case 'c':
			o->conc = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'P':
			o->streams = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'B':
			if (lg_parse_size(optarg, &o->bytes) != 0)
				return -1;
			break;
		case 'd':
			if (strcmp(optarg, "up") != 0 && strcmp(optarg, "down") != 0)
				return -1;
			o->upload = strcmp(optarg, "up") == 0;
			break;
		case 'T':
			o->secs = strtod(optarg, NULL);
			break;
		case 'N':
			if (lg_parse_size(optarg, &o->count) != 0)
				return -1;
			break;
		case 'w':
			o->wait_secs = strtod(optarg, NULL);
			break;
		default:
			return -1;
		}
	}
	if (optind != argc || o->conc == 0 || o->streams == 0)
		return -1;
	if (strcmp(o->mode, "server") == 0)
		return o->nlisten > 0 ? 0 : -1;
	if (!o->have_target)
		return -1;
	/* Only a proxy can resolve a name for us. */
	if (!o->use_proxy && o->target.atyp == SOCKS_ATYP_NAME)
		return -1;
	return 0;
}

/* ---- server ---------------------------------------------------------------- */

enum lg_sstate {
	LG_S_FREE = 0,
	LG_S_LISTEN,
	LG_S_HDR, /* reading the op byte and what goes with it */
	LG_S_SEND, /* 'D': sending left bytes */
	LG_S_RECV, /* 'U': discarding left bytes */
	LG_S_DRAIN, /* done; waiting for the client to close */
};

struct lg_sconn {
	uint8_t state;
	uint8_t hlen;
	uint8_t hdr[LG_RR_SIZE];
	uint64_t left;
};

struct lg_server {
	int ep;
	struct lg_sconn *tab; /* indexed by fd */
	size_t ntab;
};

static uint64_t lg_get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void lg_put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static void lg_server_close(struct lg_server *s, int fd)
{
	s->tab[fd].state = LG_S_FREE;
	close(fd);
}

static void lg_server_set(struct lg_server *s, int fd, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.fd = fd};

	epoll_ctl(s->ep, EPOLL_CTL_MOD, fd, &ev);
}

static void lg_server_accept(struct lg_server *s, int lfd)
{
	/* Bounded per wake-up so a flood of SYNs cannot starve established work. */
	for (int i = 0; i < 64; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = {.events = EPOLLIN};

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED)
				perror("loadgen: accept");
			return;
		}
		if ((size_t)fd >= s->ntab) {
			close(fd);
			continue;
		}
		memset(&s->tab[fd], 0, sizeof(s->tab[fd]));
		s->tab[fd].state = LG_S_HDR;
		ev.data.fd = fd;
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
			lg_server_close(s, fd);
	}
}

/* The op byte is complete: act on it.  Returns -1 to drop the connection. */
static int lg_server_op(struct lg_server *s, int fd, struct lg_sconn *c)
{
	switch (c->hdr[0]) {
	case 'D':
		c->left = lg_get_be64(c->hdr + 1);
		c->state = LG_S_SEND;
		lg_server_set(s, fd, EPOLLOUT);
		return 0;
	case 'U': {
		uint64_t extra = c->hlen - LG_HDR_SIZE;

		c->left = lg_get_be64(c->hdr + 1);
		c->left -= extra < c->left ? extra : c->left;
		if (c->left == 0) {
			c->state = LG_S_DRAIN;
			return send(fd, "K", 1, MSG_NOSIGNAL) == 1 ? 0 : -1;
		}
		c->state = LG_S_RECV;
		return 0;
	}
	case 'R':
		/* 100 bytes into an empty socket buffer always fit at once. */
		if (send(fd, lg_iobuf, LG_RR_SIZE, MSG_NOSIGNAL) != LG_RR_SIZE)
			return -1;
		c->state = LG_S_DRAIN;
		return 0;
	default:
		return -1;
	}
}

static int lg_server_readable(struct lg_server *s, int fd, struct lg_sconn *c)
{
	size_t want;
	ssize_t n;

	switch (c->state) {
	case LG_S_HDR:
		/* One read usually takes the whole request; upload payload
		 * that comes along is counted by lg_server_op(). */
		n = recv(fd, c->hdr + c->hlen, sizeof(c->hdr) - c->hlen, 0);
		if (n <= 0)
			break;
		c->hlen = (uint8_t)(c->hlen + n);
		switch (c->hdr[0]) {
		case 'R':
			return c->hlen == LG_RR_SIZE ? lg_server_op(s, fd, c) : 0;
		case 'D':
		case 'U':
			return c->hlen >= LG_HDR_SIZE ? lg_server_op(s, fd, c) : 0;
		default:
			return -1;
		}
	case LG_S_RECV:
		want = c->left < LG_IO_BUF ? (size_t)c->left : LG_IO_BUF;
		n = recv(fd, lg_iobuf, want, 0);
		if (n <= 0)
			break;
		c->left -= (uint64_t)n;
		if (c->left == 0) {
			if (send(fd, "K", 1, MSG_NOSIGNAL) != 1)
				return -1;
			c->state = LG_S_DRAIN;
		}
		return 0;
	default:
		n = recv(fd, lg_iobuf, LG_IO_BUF, 0);
		if (n <= 0)
			break;
		return 0;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	return -1;
}

static int lg_server_writable(struct lg_server *s, int fd, struct lg_sconn *c)
{
	size_t want = c->left < LG_IO_BUF ? (size_t)c->left : LG_IO_BUF;
	ssize_t n = send(fd, lg_iobuf, want, MSG_NOSIGNAL);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	c->left -= (uint64_t)n;
	if (c->left == 0) {
		c->state = LG_S_DRAIN;
		lg_server_set(s, fd, EPOLLIN);
	}
	return 0;
}

static int lg_listen(const struct lg_addr *a)
{
	int one = 1;
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0 || listen(fd, 4096) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int lg_server_run(const struct lg_opts *o)
{
	struct lg_server s = {0};
	struct epoll_event evs[LG_EVENTS];
	struct rlimit rl;
	int sfd = lg_signalfd();
	int ret = -1;
	bool stop = false;

	s.ep = epoll_create1(EPOLL_CLOEXEC);
	if (s.ep < 0 || sfd < 0 || getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		perror("loadgen: server setup");
		goto out;
	}
	s.ntab = rl.rlim_cur > LG_NOFILE * 2 ? LG_NOFILE * 2 : (size_t)rl.rlim_cur;
	s.tab = calloc(s.ntab, sizeof(*s.tab));
	if (s.tab == NULL)
		goto out;
	for (size_t i = 0; i < o->nlisten; i++) {
		int fd = lg_listen(&o->listen[i]);
		struct epoll_event ev = {.events = EPOLLIN};

		if (fd < 0 || (size_t)fd >= s.ntab) {
			perror("loadgen: listen");
			goto out;
		}
		s.tab[fd].state = LG_S_LISTEN;
		ev.data.fd = fd;
		epoll_ctl(s.ep, EPOLL_CTL_ADD, fd, &ev);
	}
	{
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = sfd};

		epoll_ctl(s.ep, EPOLL_CTL_ADD, sfd, &ev);
	}
	printf("ready mode=server listeners=%zu\n", o->nlisten);
	fflush(stdout);

	while (!stop) {
		int n = epoll_wait(s.ep, evs, LG_EVENTS, -1);

		if (n < 0 && errno != EINTR) {
			perror("loadgen: epoll_wait");
			goto out;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			struct lg_sconn *c;
			int r = 0;

			if (fd == sfd) {
				stop = true;
				continue;
			}
			c = &s.tab[fd];
			if (c->state == LG_S_LISTEN) {
				lg_server_accept(&s, fd);
				continue;
			}
			if (c->state == LG_S_FREE)
				continue;
			if (c->state == LG_S_SEND && (evs[i].events & (EPOLLOUT | EPOLLERR)))
				r = lg_server_writable(&s, fd, c);
			else if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				r = lg_server_readable(&s, fd, c);
			if (r != 0)
				lg_server_close(&s, fd);
		}
	}
	ret = 0;
out:
	free(s.tab);
	return ret;
}

/* ---- client ---------------------------------------------------------------- */

enum lg_cstate {
	LG_C_FREE = 0,
	LG_C_CONNECTING,
	LG_C_METHOD, /* greeting sent, waiting for the method selection */
	LG_C_REPLY, /* CONNECT sent, waiting for the reply */
	LG_C_SEND, /* upload: sending left bytes */
	LG_C_RECV, /* waiting for left bytes */
	LG_C_HOLD, /* idle: established and held */
};

enum lg_mode {
	LG_MODE_BULK,
	LG_MODE_RATE,
	LG_MODE_IDLE,
};

struct lg_conn {
	int fd;
	uint8_t state;
	bool first_byte;
	uint16_t got;
	uint64_t left;
	double t_start; /* connect() called */
	double t_req; /* CONNECT request written */
	uint8_t buf[SOCKS5_REPLY_MAX];
};

struct lg_samples {
	double *v;
	size_t n, cap;
};

struct lg_client {
	const struct lg_opts *o;
	enum lg_mode mode;
	int ep;
	struct lg_conn *conns;
	size_t nconns;
	struct lg_addr dst; /* what we connect() to: the proxy or the target */
	uint8_t greeting[4];
	size_t greetlen;
	uint8_t request[SOCKS5_REQUEST_MAX];
	size_t reqlen;
	size_t next_src;
	unsigned active; /* connections not FREE and not HOLD */
	bool counting; /* rate: completions still count */
	uint64_t done, failed, dropped, established;
	uint64_t moved; /* payload bytes received */
	double t_last;
	struct lg_samples connect_ms, ttfb_ms;
};

/* Marks the signalfd in epoll data (conns are pointers). */
static int lg_sigmark;

static void lg_sample_add(struct lg_samples *s, double v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4096;
		double *nv = realloc(s->v, cap * sizeof(*nv));

		if (nv == NULL)
			return; /* drop the sample rather than the run */
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = v;
}

static int lg_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile (p in 0..100) of a sorted set. */
static double lg_pct(const struct lg_samples *s, double p)
{
	size_t rank;

	if (s->n == 0)
		return 0;
	rank = (size_t)(p / 100.0 * (double)s->n + 0.999999);
	if (rank == 0)
		rank = 1;
	if (rank > s->n)
		rank = s->n;
	return s->v[rank - 1];
}

static void lg_conn_close(struct lg_client *cl, struct lg_conn *c)
{
	if (c->state != LG_C_FREE && c->state != LG_C_HOLD)
		cl->active--;
	close(c->fd);
	c->fd = -1;
	c->state = LG_C_FREE;
}

static void lg_conn_fail(struct lg_client *cl, struct lg_conn *c, const char *why, int err)
{
	if (cl->failed < LG_MAX_ERR_LOG)
		fprintf(stderr, "loadgen: connection failed in state %d: %s%s%s\n", c->state, why,
			err ? ": " : "", err ? strerror(err) : "");
	cl->failed++;
	lg_conn_close(cl, c);
}

static void lg_conn_set(struct lg_client *cl, struct lg_conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};

	epoll_ctl(cl->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static int lg_conn_start(struct lg_client *cl, struct lg_conn *c)
{
	const struct lg_opts *o = cl->o;
	struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
	int one = 1;

	c->fd = socket(cl->dst.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		if (cl->failed++ < LG_MAX_ERR_LOG)
			perror("loadgen: socket");
		return -1;
	}
	c->state = LG_C_CONNECTING;
	c->got = 0;
	c->first_byte = false;
	c->t_start = lg_now();
	cl->active++;
	if (o->nsrc > 0) {
		const struct lg_addr *src = &o->src[cl->next_src++ % o->nsrc];

		/* Let connect() pick the port per 4-tuple: several source
		 * addresses then multiply the ports available for one proxy. */
		setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(c->fd, (const struct sockaddr *)&src->ss, src->len) != 0) {
			lg_conn_fail(cl, c, "bind", errno);
			return -1;
		}
	}
	if (connect(c->fd, (const struct sockaddr *)&cl->dst.ss, cl->dst.len) != 0 &&
	    errno != EINPROGRESS) {
		lg_conn_fail(cl, c, "connect", errno);
		return -1;
	}
	if (epoll_ctl(cl->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
		lg_conn_fail(cl, c, "epoll_ctl", errno);
		return -1;
	}
	return 0;
}

/* The byte stream to the target is open (directly or through the proxy). */
static int lg_conn_app_begin(struct lg_client *cl, struct lg_conn *c)
{
	uint8_t hdr[LG_RR_SIZE] = {0};

	switch (cl->mode) {
	case LG_MODE_IDLE:
		cl->active--;
		cl->established++;
		c->state = LG_C_HOLD;
		lg_conn_set(cl, c, EPOLLIN);
		return 0;
	case LG_MODE_RATE:
		hdr[0] = 'R';
		if (send(c->fd, hdr, LG_RR_SIZE, MSG_NOSIGNAL) != LG_RR_SIZE)
			return -1;
		c->left = LG_RR_SIZE;
		c->state = LG_C_RECV;
		lg_conn_set(cl, c, EPOLLIN);
		return 0;
	case LG_MODE_BULK:
		break;
	}
	hdr[0] = cl->o->upload ? 'U' : 'D';
	lg_put_be64(hdr + 1, c->left);
	if (send(c->fd, hdr, LG_HDR_SIZE, MSG_NOSIGNAL) != LG_HDR_SIZE)
		return -1;
	if (cl->o->upload) {
		c->state = LG_C_SEND;
		lg_conn_set(cl, c, EPOLLOUT);
	} else {
		c->state = LG_C_RECV;
		lg_conn_set(cl, c, EPOLLIN);
	}
	return 0;
}

static void lg_conn_done(struct lg_client *cl, struct lg_conn *c)
{
	/* rate: only what completes before the deadline counts. */
	if (cl->mode != LG_MODE_RATE || cl->counting) {
		cl->done++;
		cl->t_last = lg_now();
	}
	lg_conn_close(cl, c);
}

static int lg_conn_recv_reply(struct lg_client *cl, struct lg_conn *c)
{
	struct socks_addr bnd;
	size_t used;
	uint8_t rep;
	ssize_t n = recv(c->fd, c->buf + c->got, sizeof(c->buf) - c->got, 0);

	if (n == 0) {
		lg_conn_fail(cl, c, "proxy closed during the handshake", 0);
		return -1;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		lg_conn_fail(cl, c, "recv", errno);
		return -1;
	}
	c->got = (uint16_t)(c->got + n);
	if (c->state == LG_C_METHOD) {
		if (c->got < 2)
			return 0;
		/* RFC 1928 §3: VER METHOD; we offered only "none". */
		if (c->buf[0] != SOCKS5_VERSION || c->buf[1] != SOCKS5_METHOD_NONE || c->got != 2) {
			lg_conn_fail(cl, c, "bad method selection", 0);
			return -1;
		}
		c->got = 0;
		c->t_req = lg_now();
		if (send(c->fd, cl->request, cl->reqlen, MSG_NOSIGNAL) != (ssize_t)cl->reqlen) {
			lg_conn_fail(cl, c, "send request", errno);
			return -1;
		}
		c->state = LG_C_REPLY;
		return 0;
	}
	switch (socks5_parse_reply(c->buf, c->got, &rep, &bnd, &used)) {
	case CODEC_NEED_MORE:
		return 0;
	case CODEC_ERR:
		lg_conn_fail(cl, c, "malformed reply", 0);
		return -1;
	case CODEC_OK:
		break;
	}
	if (rep != SOCKS5_REP_SUCCEEDED || used != c->got) {
		lg_conn_fail(cl, c,
			     rep != SOCKS5_REP_SUCCEEDED ? socks5_rep_str(rep) : "extra bytes", 0);
		return -1;
	}
	if (cl->mode == LG_MODE_RATE && cl->counting)
		lg_sample_add(&cl->connect_ms, (lg_now() - c->t_req) * 1e3);
	if (lg_conn_app_begin(cl, c) != 0) {
		lg_conn_fail(cl, c, "send", errno);
		return -1;
	}
	return 0;
}

static void lg_conn_event(struct lg_client *cl, struct lg_conn *c, uint32_t events)
{
	int err = 0;
	socklen_t len = sizeof(err);
	ssize_t n;

	switch (c->state) {
	case LG_C_CONNECTING:
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0) {
			lg_conn_fail(cl, c, "connect", err);
			return;
		}
		if (!cl->o->use_proxy) {
			if (lg_conn_app_begin(cl, c) != 0)
				lg_conn_fail(cl, c, "send", errno);
			return;
		}
		/* Greeting and request are not pipelined: many servers (and
		 * RFC 1928 §3) expect the method selection first. */
		if (send(c->fd, cl->greeting, cl->greetlen, MSG_NOSIGNAL) !=
		    (ssize_t)cl->greetlen) {
			lg_conn_fail(cl, c, "send greeting", errno);
			return;
		}
		c->state = LG_C_METHOD;
		lg_conn_set(cl, c, EPOLLIN);
		return;
	case LG_C_METHOD:
	case LG_C_REPLY:
		lg_conn_recv_reply(cl, c);
		return;
	case LG_C_SEND: {
		size_t want = c->left < LG_IO_BUF ? (size_t)c->left : LG_IO_BUF;

		n = send(c->fd, lg_iobuf, want, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				lg_conn_fail(cl, c, "send", errno);
			return;
		}
		c->left -= (uint64_t)n;
		if (c->left == 0) {
			c->left = 1; /* the server's 'K' */
			c->state = LG_C_RECV;
			lg_conn_set(cl, c, EPOLLIN);
		}
		return;
	}
	case LG_C_RECV: {
		size_t want = c->left < LG_IO_BUF ? (size_t)c->left : LG_IO_BUF;

		n = recv(c->fd, lg_iobuf, want, 0);
		if (n <= 0) {
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			lg_conn_fail(cl, c, n == 0 ? "closed early" : "recv", n == 0 ? 0 : errno);
			return;
		}
		if (!c->first_byte) {
			c->first_byte = true;
			if (cl->mode == LG_MODE_RATE && cl->counting)
				lg_sample_add(&cl->ttfb_ms, (lg_now() - c->t_start) * 1e3);
		}
		c->left -= (uint64_t)n;
		cl->moved += (uint64_t)n;
		if (c->left == 0)
			lg_conn_done(cl, c);
		return;
	}
	case LG_C_HOLD:
		(void)events;
		/* Anything here is the far end going away. */
		cl->dropped++;
		cl->established--;
		lg_conn_close(cl, c);
		return;
	default:
		return;
	}
}

/* Fail connections stuck longer than the per-connection timeout. */
static void lg_client_timeouts(struct lg_client *cl, double now)
{
	for (size_t i = 0; i < cl->nconns; i++) {
		struct lg_conn *c = &cl->conns[i];

		if (c->state != LG_C_FREE && c->state != LG_C_HOLD &&
		    now - c->t_start > LG_CONN_TIMEOUT)
			lg_conn_fail(cl, c, "timed out", 0);
	}
}

/* One round of the loop; returns true when a signal arrived. */
static bool lg_client_poll(struct lg_client *cl, int timeout_ms)
{
	struct epoll_event evs[LG_EVENTS];
	int n = epoll_wait(cl->ep, evs, LG_EVENTS, timeout_ms);
	bool sig = false;

	for (int i = 0; i < n; i++) {
		if (evs[i].data.ptr == &lg_sigmark)
			sig = true;
		else
			lg_conn_event(cl, evs[i].data.ptr, evs[i].events);
	}
	return sig;
}

static void lg_print_rate(struct lg_client *cl, double secs)
{
	const char *via = !cl->o->use_proxy                       ? "direct"
			  : cl->o->target.atyp == SOCKS_ATYP_NAME ? "socks5-name"
								  : "socks5-literal";

	qsort(cl->connect_ms.v, cl->connect_ms.n, sizeof(double), lg_cmp_double);
	qsort(cl->ttfb_ms.v, cl->ttfb_ms.n, sizeof(double), lg_cmp_double);
	printf("result mode=rate via=%s conc=%u conns=%" PRIu64 " errors=%" PRIu64
	       " secs=%.2f rate=%.1f ttfb_p50_ms=%.3f ttfb_p99_ms=%.3f",
	       via, cl->o->conc, cl->done, cl->failed, secs, secs > 0 ? (double)cl->done / secs : 0,
	       lg_pct(&cl->ttfb_ms, 50), lg_pct(&cl->ttfb_ms, 99));
	/* A direct connection has no CONNECT handshake to time. */
	if (cl->o->use_proxy)
		printf(" connect_p50_ms=%.3f connect_p99_ms=%.3f", lg_pct(&cl->connect_ms, 50),
		       lg_pct(&cl->connect_ms, 99));
	printf("\n");
}

static int lg_run_rate(struct lg_client *cl)
{
	const struct lg_opts *o = cl->o;
	double t0 = lg_now(), deadline = o->secs > 0 ? t0 + o->secs : 0, now = t0, last_tick = t0;
	uint64_t started = 0;
	bool more = true;

	cl->counting = true;
	for (;;) {
		/* Refill every free slot: a fixed number of clients, each
		 * starting its next connection as soon as the last one ends. */
		for (size_t i = 0; more && i < cl->nconns; i++) {
			if (cl->conns[i].state != LG_C_FREE)
				continue;
			if (o->count > 0 && started >= o->count) {
				more = false;
				break;
			}
			started++;
			lg_conn_start(cl, &cl->conns[i]);
		}
		if (cl->active == 0 && !more)
			break;
		if (lg_client_poll(cl, LG_TICK_MS))
			break;
		now = lg_now();
		if (deadline > 0 && now >= deadline && cl->counting) {
			cl->counting = false;
			more = false;
		}
		if (deadline > 0 && now >= deadline + LG_DRAIN_SECS)
			break;
		if (now - last_tick >= LG_TICK_MS / 1e3) {
			lg_client_timeouts(cl, now);
			last_tick = now;
		}
	}
	lg_print_rate(cl, deadline > 0 ? o->secs : cl->t_last - t0);
	return cl->done > 0 ? 0 : -1;
}

static int lg_run_bulk(struct lg_client *cl)
{
	const struct lg_opts *o = cl->o;
	/* Timed download: the server streams "for ever" and the client counts
	 * what arrives before the deadline. */
	bool timed = o->secs > 0 && !o->upload;
	uint64_t total = timed ? UINT64_MAX / 2 : o->bytes;
	uint64_t per = total / o->streams;
	double t0 = lg_now(), secs;

	for (size_t i = 0; i < cl->nconns; i++) {
		cl->conns[i].left = i + 1 == cl->nconns ? total - per * (o->streams - 1) : per;
		if (lg_conn_start(cl, &cl->conns[i]) != 0)
			return -1;
	}
	while (cl->active > 0) {
		double now;

		if (lg_client_poll(cl, LG_TICK_MS))
			return -1;
		now = lg_now();
		if (timed && now - t0 >= o->secs) {
			for (size_t i = 0; i < cl->nconns; i++) {
				if (cl->conns[i].state != LG_C_FREE)
					lg_conn_close(cl, &cl->conns[i]);
			}
			break;
		}
		/* A fixed amount of work: running out of time is a failure. */
		if (now - t0 > o->wait_secs) {
			fprintf(stderr, "loadgen: bulk not done after %.0f s\n", o->wait_secs);
			return -1;
		}
	}
	secs = lg_now() - t0;
	total = timed ? cl->moved : o->bytes;
	printf("result mode=bulk via=%s dir=%s streams=%u bytes=%" PRIu64 " errors=%" PRIu64
	       " secs=%.3f mbytes_s=%.1f\n",
	       o->use_proxy ? "socks5" : "direct", o->upload ? "up" : "down", o->streams, total,
	       cl->failed, secs, (double)total / secs / 1e6);
	return cl->failed == 0 && total > 0 ? 0 : -1;
}

static int lg_run_idle(struct lg_client *cl)
{
	const struct lg_opts *o = cl->o;
	double t0 = lg_now(), setup, last_tick = t0;
	size_t next = 0;
	uint64_t max_failed = cl->nconns / 100 > 50 ? cl->nconns / 100 : 50;

	while (next < cl->nconns || cl->active > 0) {
		double now;

		/* Stop opening more once the gateway is clearly refusing: a
		 * session limit is a result, not something to retry for minutes. */
		while (next < cl->nconns && cl->active < o->conc && cl->failed < max_failed)
			lg_conn_start(cl, &cl->conns[next++]);
		if (cl->failed >= max_failed && cl->active == 0)
			break;
		if (lg_client_poll(cl, LG_TICK_MS))
			goto report;
		now = lg_now();
		if (now - last_tick >= LG_TICK_MS / 1e3) {
			lg_client_timeouts(cl, now);
			last_tick = now;
		}
		if (now - t0 > o->wait_secs) {
			fprintf(stderr, "loadgen: idle set-up not done after %.0f s\n",
				o->wait_secs);
			break;
		}
	}
	setup = lg_now() - t0;
	printf("ready mode=idle target=%zu established=%" PRIu64 " failed=%" PRIu64
	       " setup_secs=%.2f\n",
	       cl->nconns, cl->established, cl->failed, setup);
	fflush(stdout);
	/* Hold until the driver has measured and signals. */
	while (!lg_client_poll(cl, -1))
		;
report:
	printf("result mode=idle target=%zu established=%" PRIu64 " failed=%" PRIu64
	       " dropped=%" PRIu64 " held=%" PRIu64 "\n",
	       cl->nconns, cl->established + cl->dropped, cl->failed, cl->dropped, cl->established);
	return 0;
}

static int lg_client_run(const struct lg_opts *o)
{
	struct lg_client cl = {.o = o};
	const uint8_t none = SOCKS5_METHOD_NONE;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &lg_sigmark};
	int sfd = lg_signalfd();
	int ret = -1;

	if (strcmp(o->mode, "bulk") == 0) {
		cl.mode = LG_MODE_BULK;
		cl.nconns = o->streams;
	} else if (strcmp(o->mode, "rate") == 0) {
		cl.mode = LG_MODE_RATE;
		cl.nconns = o->conc;
		if (o->secs <= 0 && o->count == 0)
			return -1;
	} else if (strcmp(o->mode, "idle") == 0) {
		cl.mode = LG_MODE_IDLE;
		cl.nconns = o->count;
		if (o->count == 0)
			return -1;
	} else {
		return -1;
	}
	if (o->use_proxy) {
		cl.dst = o->proxy;
		cl.greetlen = socks5_build_greeting(cl.greeting, sizeof(cl.greeting), &none, 1);
		cl.reqlen = socks5_build_request(cl.request, sizeof(cl.request), SOCKS5_CMD_CONNECT,
						 &o->target);
		if (cl.greetlen == 0 || cl.reqlen == 0)
			return -1;
	} else {
		cl.dst.len = socks_addr_to_sockaddr(&o->target, &cl.dst.ss);
	}
	cl.ep = epoll_create1(EPOLL_CLOEXEC);
	cl.conns = calloc(cl.nconns, sizeof(*cl.conns));
	if (cl.ep < 0 || sfd < 0 || cl.conns == NULL ||
	    epoll_ctl(cl.ep, EPOLL_CTL_ADD, sfd, &ev) != 0) {
		perror("loadgen: setup");
		goto out;
	}
	for (size_t i = 0; i < cl.nconns; i++)
		cl.conns[i].fd = -1;
	switch (cl.mode) {
	case LG_MODE_BULK:
		ret = lg_run_bulk(&cl);
		break;
	case LG_MODE_RATE:
		ret = lg_run_rate(&cl);
		break;
	case LG_MODE_IDLE:
		ret = lg_run_idle(&cl);
		break;
	}
out:
	fflush(stdout);
	free(cl.connect_ms.v);
	free(cl.ttfb_ms.v);
	free(cl.conns);
	return ret;
}

int main(int argc, char **argv)
{
	struct lg_opts o = {0};

	if (lg_parse_args(argc, argv, &o) != 0) {
		lg_usage();
		return 2;
	}
	lg_raise_nofile();
	if (strcmp(o.mode, "server") == 0)
		return lg_server_run(&o) == 0 ? 0 : 1;
	return lg_client_run(&o) == 0 ? 0 : 1;
}
