/* netwatch_probe — run gateway/netwatch.c on a real loop in the current
 * network namespace and print what it publishes.
 *
 * usage: netwatch_probe [-n COUNT] [-t SECONDS] [-b RCVBUF] [-v]
 *                       [--check ADDR]...
 *
 * One block per published snapshot:
 *   snapshot v4=reachable v6=unreachable addrs=3 routes4=2 routes6=1 links=2 tentative=0 resyncs=0
 *   reach 2001:db8:6::80 yes
 * "reachable" is netstate_family_usable(); addrs counts every address (as
 * `ip -o addr` lists them), tentative those still in DAD; each --check ADDR
 * prints netstate_reachable() for it.  resyncs is netwatch_resyncs().
 * -n COUNT   exit 0 after COUNT snapshots (default: run until the timeout)
 * -t SECONDS give up after SECONDS (default 30): exit 0 when no COUNT was
 *            given, 1 when fewer than COUNT snapshots came
 * -b RCVBUF  netlink receive buffer in bytes (tiny values provoke ENOBUFS)
 * -v         debug logging
 * SIGTERM/SIGINT end it with status 0.  Exit 2: usage, 3: no netwatch. */
#include <arpa/inet.h>
#include <getopt.h>
#include <linux/if_addr.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "netstate.h"
#include "netwatch.h"

struct probe {
	struct loop *loop;
	struct loop_io sig;
	struct timer guard;
	struct netstate *snap;
	const char **checks;
	int nchecks;
	unsigned long want, seen;
	struct netwatch *nw;
	int rc;
};

static void probe_print(struct probe *p, const struct netstate *n)
{
	size_t tentative = 0;

	for (size_t i = 0; i < n->naddrs; i++)
		tentative += (n->addrs[i].flags & IFA_F_TENTATIVE) != 0;
	printf("snapshot v4=%s v6=%s addrs=%zu routes4=%zu routes6=%zu links=%zu tentative=%zu "
	       "resyncs=%u\n",
	       netstate_family_usable(n, AF_INET) ? "reachable" : "unreachable",
	       netstate_family_usable(n, AF_INET6) ? "reachable" : "unreachable", n->naddrs,
	       netstate_count_routes(n, AF_INET), netstate_count_routes(n, AF_INET6), n->nlinks,
	       tentative, netwatch_resyncs(p->nw));
	for (int i = 0; i < p->nchecks; i++) {
		struct sockaddr_storage ss;
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		memset(&ss, 0, sizeof(ss));
		if (inet_pton(AF_INET6, p->checks[i], &s6->sin6_addr) == 1)
			s6->sin6_family = AF_INET6;
		else if (inet_pton(AF_INET, p->checks[i], &s4->sin_addr) == 1)
			s4->sin_family = AF_INET;
		printf("reach %s %s\n", p->checks[i],
		       netstate_reachable(n, (struct sockaddr *)&ss) ? "yes" : "no");
	}
	fflush(stdout);
}

static void probe_publish(void *arg, struct netstate *snap)
{
	struct probe *p = arg;

	netstate_unref(p->snap);
	p->snap = snap;
	probe_print(p, snap);
	if (p->want != 0 && ++p->seen >= p->want) {
		p->rc = 0;
		loop_stop(p->loop);
	}
}

static void probe_guard_cb(struct timer *t)
{
	struct probe *p = container_of(t, struct probe, guard);

	if (p->want != 0) {
		fprintf(stderr, "netwatch_probe: %lu of %lu snapshots before the timeout\n",
			p->seen, p->want);
		p->rc = 1;
	} else {
		p->rc = 0;
	}
	loop_stop(p->loop);
}

static void probe_sig_cb(struct loop_io *io, uint32_t events)
{
	struct probe *p = container_of(io, struct probe, sig);
	struct signalfd_siginfo si;

	(void)events;
	if (read(io->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		p->rc = 0;
		loop_stop(p->loop);
	}
}

static int probe_usage(void)
{
	fprintf(stderr, "usage: netwatch_probe [-n COUNT] [-t SECONDS] [-b RCVBUF] [-v] "
			"[--check ADDR]...\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"check", required_argument, NULL, 'c'},
		{NULL, 0, NULL, 0},
	};
	struct probe p;
	unsigned long secs = 30;
	int rcvbuf = 0, opt;
	sigset_t ss;

	memset(&p, 0, sizeof(p));
	p.rc = 1;
	p.checks = calloc((size_t)argc, sizeof(*p.checks));
	if (p.checks == NULL)
		return 2;
	while ((opt = getopt_long(argc, argv, "n:t:b:v", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			p.want = strtoul(optarg, NULL, 10);
			break;
		case 't':
			secs = strtoul(optarg, NULL, 10);
			break;
		case 'b':
			rcvbuf = atoi(optarg);
			break;
		case 'v':
			log_set_level(LOG_LVL_DEBUG);
			break;
		case 'c':
			p.checks[p.nchecks++] = optarg;
			break;
		default:
			free(p.checks);
			return probe_usage();
		}
	}
	if (optind != argc || secs == 0) {
		free(p.checks);
		return probe_usage();
	}
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	p.loop = loop_new();
	p.sig.fd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
	p.sig.cb = probe_sig_cb;
	if (p.loop == NULL || p.sig.fd < 0 || loop_io_add(p.loop, &p.sig, EPOLLIN) < 0) {
		perror("netwatch_probe");
		return 3;
	}
	p.guard.cb = probe_guard_cb;
	loop_timer_set(p.loop, &p.guard, secs * 1000);
	p.nw = netwatch_new(p.loop, probe_publish, &p, rcvbuf);
	if (p.nw == NULL) {
		p.rc = 3;
	} else if (loop_run(p.loop) < 0) {
		perror("netwatch_probe: loop");
		p.rc = 3;
	}
	netwatch_free(p.nw);
	loop_timer_cancel(p.loop, &p.guard);
	loop_io_close(p.loop, &p.sig);
	loop_free(p.loop);
	netstate_unref(p.snap);
	free(p.checks);
	return p.rc;
}
