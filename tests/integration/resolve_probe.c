/* resolve_probe — drive dns/resolver.c on a real loop against real servers.
 *
 * usage: resolve_probe [-t timeout_ms] [-r tries] [-m cache_max_ttl]
 *                      [-n negative_ttl] [-g guard_ms] [-x NAME] [-w] [-c] [-d]
 *                      SERVERS NAME...
 *
 * Resolves every NAME for A and AAAA at once and prints one line per family:
 *   www.v6.test AAAA ok 2001:db8:6::80 ttl=300
 *   www.v6.test A nodata
 * -x NAME  also looks NAME up and cancels it at once; its answer must never
 *          arrive (exit 1 if it does).
 * -w       after the first round print "round 1 done", wait for SIGUSR1, then
 *          print what resolver_cached() holds ("NAME A cached ok ...") and
 *          resolve every NAME again.
 * -c       the first answer's callback cancels every query (its own too) and
 *          stops: exactly one line may be printed.
 * -g MS    give up after MS milliseconds (default 30000): prints "gave up: N
 *          answers missing" and frees the resolver with those still in flight.
 * Exits 0 when everything was answered (whatever the status), 1 on a broken
 * promise of the resolver, 2 on usage errors or when it gave up. */
#include <arpa/inet.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "resolver.h"

struct probe {
	struct loop *loop;
	struct resolver *res;
	struct loop_io sig_io;
	struct timer guard;
	char **names;
	int nnames;
	struct probe_q *qs;
	struct resolver_query cancelled;
	int outstanding;
	int round;
	bool twice;
	bool cancel_all;
	bool in_lookup;
	int rc;
};

struct probe_q {
	struct resolver_query q;
	struct probe *p;
	const char *name;
};

static const char *probe_status_word(enum dns_status st)
{
	switch (st) {
	case DNS_OK:
		return "ok";
	case DNS_NODATA:
		return "nodata";
	case DNS_NXDOMAIN:
		return "nxdomain";
	case DNS_TIMEOUT:
		return "timeout";
	case DNS_FAIL:
		break;
	}
	return "fail";
}

static void probe_print(const char *name, const char *tag, const struct dns_answer *a)
{
	char buf[INET6_ADDRSTRLEN];

	printf("%s %s %s%s", name, a->family == AF_INET ? "A" : "AAAA", tag,
	       probe_status_word(a->status));
	if (a->status == DNS_OK) {
		for (unsigned i = 0; i < a->naddrs; i++)
			printf(" %s", inet_ntop(a->family, &a->addrs[i], buf, sizeof(buf)));
		printf(" ttl=%u", a->ttl);
	}
	printf("\n");
	fflush(stdout);
}

static void probe_cancelled_cb(struct resolver_query *q, const struct dns_answer *a)
{
	(void)q;
	(void)a;
	printf("BROKEN: an answer reached a cancelled query\n");
	exit(1);
}

static void probe_round(struct probe *p);

static void probe_answer_cb(struct resolver_query *q, const struct dns_answer *a)
{
	struct probe_q *pq = container_of(q, struct probe_q, q);
	struct probe *p = pq->p;

	if (p->in_lookup) {
		printf("BROKEN: callback ran inside resolver_lookup\n");
		exit(1);
	}
	probe_print(pq->name, "", a);
	if (p->cancel_all) {
		/* Queries sharing this very c-ares answer, queries of other
		 * names, the answered half of this one, and the long
		 * cancelled one: none may hear anything more. */
		for (int i = 0; i < p->nnames; i++)
			resolver_cancel(p->res, &p->qs[i].q);
		resolver_cancel(p->res, &p->cancelled);
		loop_stop(p->loop);
		return;
	}
	if (--p->outstanding > 0)
		return;
	if (p->twice && p->round == 1) {
		printf("round 1 done\n");
		fflush(stdout);
		return;
	}
	loop_stop(p->loop);
}

static void probe_guard_cb(struct timer *t)
{
	struct probe *p = container_of(t, struct probe, guard);

	printf("gave up: %d answers missing\n", p->outstanding);
	p->rc = 2;
	loop_stop(p->loop);
}

static void probe_round(struct probe *p)
{
	p->round++;
	p->outstanding = 2 * p->nnames;
	p->in_lookup = true;
	for (int i = 0; i < p->nnames; i++) {
		if (resolver_lookup(p->res, &p->qs[i].q, p->names[i], RESOLVE_V4 | RESOLVE_V6) <
		    0) {
			perror("resolver_lookup");
			exit(2);
		}
	}
	p->in_lookup = false;
}

static void probe_signal_cb(struct loop_io *io, uint32_t events)
{
	struct probe *p = container_of(io, struct probe, sig_io);
	struct signalfd_siginfo si;
	struct dns_answer a;
	static const int fams[2] = {AF_INET, AF_INET6};

	(void)events;
	if (read(io->fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return;
	if (p->round != 1 || p->outstanding > 0)
		return;
	for (int i = 0; i < p->nnames; i++) {
		for (int f = 0; f < 2; f++) {
			if (resolver_cached(p->res, p->names[i], fams[f], &a))
				probe_print(p->names[i], "cached ", &a);
		}
	}
	probe_round(p);
}

static int probe_signals(struct probe *p)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	p->sig_io.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (p->sig_io.fd < 0)
		return -1;
	p->sig_io.cb = probe_signal_cb;
	return loop_io_add(p->loop, &p->sig_io, EPOLLIN);
}

static void probe_usage(void)
{
	fprintf(stderr, "usage: resolve_probe [-t timeout_ms] [-r tries] [-m cache_max_ttl] "
			"[-n negative_ttl] [-g guard_ms] [-x NAME] [-w] [-c] [-d] SERVERS "
			"NAME...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct resolver_opts o = {.timeout_ms = 1000,
				  .tries = 2,
				  .cache_size = 1024,
				  .cache_max_ttl = 3600,
				  .negative_ttl = 30};
	struct probe p = {.sig_io = {.fd = -1}};
	const char *cancel_name = NULL;
	unsigned long guard_ms = 30000;
	int c;

	while ((c = getopt(argc, argv, "t:r:m:n:g:x:wcd")) != -1) {
		switch (c) {
		case 't':
			o.timeout_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'r':
			o.tries = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'm':
			o.cache_max_ttl = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			o.negative_ttl = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'g':
			guard_ms = strtoul(optarg, NULL, 10);
			break;
		case 'x':
			cancel_name = optarg;
			break;
		case 'w':
			p.twice = true;
			break;
		case 'c':
			p.cancel_all = true;
			break;
		case 'd':
			log_set_level(LOG_LVL_DEBUG);
			break;
		default:
			probe_usage();
		}
	}
	if (argc - optind < 2)
		probe_usage();
	o.servers = argv[optind];
	p.names = argv + optind + 1;
	p.nnames = argc - optind - 1;

	p.loop = loop_new();
	if (p.loop == NULL || (p.twice && probe_signals(&p) < 0)) {
		perror("resolve_probe: setup");
		return 2;
	}
	p.res = resolver_new(p.loop, &o);
	if (p.res == NULL) {
		fprintf(stderr, "resolve_probe: resolver_new failed\n");
		return 2;
	}
	p.qs = calloc((size_t)p.nnames, sizeof(*p.qs));
	if (p.qs == NULL)
		return 2;
	for (int i = 0; i < p.nnames; i++) {
		p.qs[i].p = &p;
		p.qs[i].name = p.names[i];
		p.qs[i].q.cb = probe_answer_cb;
	}
	p.guard.cb = probe_guard_cb;
	loop_timer_set(p.loop, &p.guard, guard_ms);

	if (cancel_name != NULL) {
		p.cancelled.cb = probe_cancelled_cb;
		if (resolver_lookup(p.res, &p.cancelled, cancel_name, RESOLVE_V4 | RESOLVE_V6) < 0)
			return 2;
		resolver_cancel(p.res, &p.cancelled);
		/* Twice is harmless. */
		resolver_cancel(p.res, &p.cancelled);
	}
	probe_round(&p);
	if (loop_run(p.loop) < 0)
		p.rc = 2;

	/* Whatever is still in flight (the cancelled lookup, a gave-up round)
	 * is torn down here: nothing may be delivered from it. */
	resolver_free(p.res);
	loop_timer_cancel(p.loop, &p.guard);
	loop_io_close(p.loop, &p.sig_io);
	loop_free(p.loop);
	free(p.qs);
	return p.rc;
}
