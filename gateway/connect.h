/* connect — the outbound dialer: RFC 8305 Happy Eyeballs v2.
 *
 * Candidates arrive per family as the resolver answers; the dialer keeps one
 * queue per family and alternates between them starting with the preferred
 * family (First Address Family Count 1, §4).  Attempts start one at a time,
 * a Connection Attempt Delay apart (§5), or at once when the previous one
 * fails; the first connected socket wins and the others are closed. */
#ifndef SOCKS64_CONNECT_H
#define SOCKS64_CONNECT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "cache.h"
#include "loop.h"

#define DIALER_MAX_CAND (2 * DNS_MAX_ADDRS)
#define DIALER_MAX_ATTEMPTS 4

struct dialer;

struct dialer_attempt {
	struct loop_io io;
	struct dialer *d;
	struct sockaddr_in6 sa; /* AF_INET stored as sockaddr_in in the same space */
};

struct dialer {
	struct loop *loop;
	/* Called once: fd >= 0 connected (ownership passes, still registered
	 * with the loop under the attempt's handle: re-register it), or fd -1
	 * with err the errno of the most telling failure. */
	void (*done)(struct dialer *d, int fd, int err);
	/* Candidate filter: 0 to try the address, else why not: EACCES
	 * (rules), ENETUNREACH (no route or no source address right now). */
	int (*check)(struct dialer *d, const struct sockaddr *sa);

	struct sockaddr_in6 cand[2][DIALER_MAX_CAND]; /* [0] IPv6, [1] IPv4 */
	uint8_t ncand[2], next[2];
	uint8_t turn; /* family index to try next */
	bool pending[2]; /* resolution of that family still running */
	bool started;
	bool finished;
	uint16_t port;
	unsigned attempt_delay_ms;
	int err; /* most telling error so far */
	unsigned denied; /* candidates refused by the filter */
	struct sockaddr_in6 winner; /* the address that connected (AF_INET in the same space) */
	struct timer delay;
	struct dialer_attempt att[DIALER_MAX_ATTEMPTS];
};

/* prefer_v4: start with IPv4 (conf prefer ipv4); families: RESOLVE_V4|V6 still to come. */
void dialer_init(struct dialer *d, struct loop *loop, uint16_t port, bool prefer_v4,
		 unsigned attempt_delay_ms, int families_pending);
/* Add one family's addresses (from the resolver or a literal). */
void dialer_add(struct dialer *d, int family, const union dns_addr *addrs, unsigned n);
/* No more addresses will come for this family. */
void dialer_family_done(struct dialer *d, int family);
/* Begin attempting (after the RFC 8305 §3 resolution delay, the caller's
 * business). Safe to call more than once. */
void dialer_start(struct dialer *d);
/* Close every attempt; done() is not called. */
void dialer_cancel(struct dialer *d);

#endif
