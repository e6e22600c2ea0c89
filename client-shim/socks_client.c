/* socks_client — RFC 1928 client exchange (see socks_client.h). */
#include "socks_client.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

enum {
	SC_SEND_GREETING,
	SC_READ_METHOD,
	SC_SEND_REQUEST,
	SC_READ_REPLY,
	SC_DONE,
	SC_FAILED,
};

static enum socks_client_status socks_client_fail(struct socks_client *c, int err, const char *why)
{
	c->state = SC_FAILED;
	c->err = err;
	c->why = why;
	return SOCKS_CLIENT_FAILED;
}

void socks_client_init(struct socks_client *c, uint8_t cmd, const struct socks_addr *dst)
{
	memset(c, 0, sizeof(*c));
	c->method = SOCKS5_METHOD_NONE;
	c->cmd = cmd;
	c->dst = *dst;
	c->len = socks5_build_greeting(c->buf, sizeof(c->buf), &c->method, 1);
	c->state = SC_SEND_GREETING;
}

int socks_client_rep_errno(uint8_t rep)
{
	switch (rep) {
	case SOCKS5_REP_NOT_ALLOWED:
		return EACCES;
	case SOCKS5_REP_NET_UNREACHABLE:
		return ENETUNREACH;
	case SOCKS5_REP_HOST_UNREACHABLE:
		return EHOSTUNREACH;
	case SOCKS5_REP_TTL_EXPIRED:
		return ETIMEDOUT;
	default:
		return ECONNREFUSED;
	}
}

/* Send what is left of buf; 1 when all is out. */
static int socks_client_send(struct socks_client *c, int fd)
{
	while (c->off < c->len) {
		ssize_t n = send(fd, c->buf + c->off, c->len - c->off, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0) {
			socks_client_fail(c, errno, "send to the gateway failed");
			return -1;
		}
		c->off += (size_t)n;
	}
	return 1;
}

/* Read until buf holds want bytes; 1 when it does. */
static int socks_client_recv(struct socks_client *c, int fd, size_t want)
{
	while (c->len < want) {
		ssize_t n = recv(fd, c->buf + c->len, want - c->len, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0) {
			socks_client_fail(c, errno, "receive from the gateway failed");
			return -1;
		}
		if (n == 0) {
			socks_client_fail(c, ECONNRESET, "gateway closed during the handshake");
			return -1;
		}
		c->len += (size_t)n;
	}
	return 1;
}

/* Exact length of the reply from its first five bytes (RFC 1928 §6), so
 * nothing after it is read. */
static size_t socks_client_reply_len(const struct socks_client *c)
{
	if (c->len < 5)
		return 5;
	switch (c->buf[3]) {
	case SOCKS_ATYP_IPV4:
		return 4 + 4 + 2;
	case SOCKS_ATYP_IPV6:
		return 4 + 16 + 2;
	case SOCKS_ATYP_NAME:
		return 4 + 1 + (size_t)c->buf[4] + 2;
	default:
		return 5; /* the parser rejects it */
	}
}

enum socks_client_status socks_client_step(struct socks_client *c, int fd)
{
	size_t used;
	int rc;

	for (;;) {
		switch (c->state) {
		case SC_SEND_GREETING:
		case SC_SEND_REQUEST:
			rc = socks_client_send(c, fd);
			if (rc < 0)
				return SOCKS_CLIENT_FAILED;
			if (rc == 0)
				return SOCKS_CLIENT_WANT_WRITE;
			c->state = c->state == SC_SEND_GREETING ? SC_READ_METHOD : SC_READ_REPLY;
			c->len = 0;
			c->off = 0;
			break;
		case SC_READ_METHOD:
			rc = socks_client_recv(c, fd, 2);
			if (rc < 0)
				return SOCKS_CLIENT_FAILED;
			if (rc == 0)
				return SOCKS_CLIENT_WANT_READ;
			/* §3: VER METHOD; 0xFF means none of ours is acceptable. */
			if (c->buf[0] != SOCKS5_VERSION)
				return socks_client_fail(c, EPROTO, "gateway is not SOCKS5");
			if (c->buf[1] != c->method)
				return socks_client_fail(c, EACCES,
							 "gateway accepts no offered method");
			c->len = socks5_build_request(c->buf, sizeof(c->buf), c->cmd, &c->dst);
			if (c->len == 0)
				return socks_client_fail(c, EINVAL, "request does not fit");
			c->state = SC_SEND_REQUEST;
			break;
		case SC_READ_REPLY:
			for (;;) {
				size_t want = socks_client_reply_len(c);

				rc = socks_client_recv(c, fd, want);
				if (rc < 0)
					return SOCKS_CLIENT_FAILED;
				if (rc == 0)
					return SOCKS_CLIENT_WANT_READ;
				if (socks_client_reply_len(c) == want)
					break;
			}
			if (socks5_parse_reply(c->buf, c->len, &c->rep, &c->bnd, &used) != CODEC_OK)
				return socks_client_fail(c, EPROTO, "malformed reply from gateway");
			if (c->rep != SOCKS5_REP_SUCCEEDED)
				return socks_client_fail(c, socks_client_rep_errno(c->rep),
							 socks5_rep_str(c->rep));
			c->state = SC_DONE;
			return SOCKS_CLIENT_DONE;
		case SC_DONE:
			return SOCKS_CLIENT_DONE;
		default:
			return SOCKS_CLIENT_FAILED;
		}
	}
}

static long long socks_client_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int socks_client_run(struct socks_client *c, int fd, int timeout_ms,
		     int (*pollfn)(struct pollfd *, nfds_t, int))
{
	long long deadline = socks_client_ms() + timeout_ms;
	enum socks_client_status st;

	if (!pollfn)
		pollfn = poll;
	while ((st = socks_client_step(c, fd)) == SOCKS_CLIENT_WANT_READ ||
	       st == SOCKS_CLIENT_WANT_WRITE) {
		struct pollfd pfd = {.fd = fd,
				     .events = st == SOCKS_CLIENT_WANT_READ ? POLLIN : POLLOUT};
		long long left = deadline - socks_client_ms();
		int n;

		if (left <= 0) {
			socks_client_fail(c, ETIMEDOUT, "gateway handshake timed out");
			break;
		}
		n = pollfn(&pfd, 1, (int)left);
		if (n < 0 && errno != EINTR) {
			socks_client_fail(c, errno, "poll failed");
			break;
		}
	}
	if (c->state == SC_DONE)
		return 0;
	errno = c->err;
	return -1;
}
