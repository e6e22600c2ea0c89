/* socks64d — the dual-stack SOCKS gateway daemon (RFC 3089).
 *
 * The main thread owns signals (signalfd) and reload; the workers own the
 * traffic.  A reload builds and validates a new configuration beside the
 * old one and hands each worker the new snapshot; a bad file keeps the old
 * one. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "auth_pass.h"
#include "authq.h"
#include "conf.h"
#include "quota.h"
#include "listen.h"
#include "log.h"
#include "netstate.h"
#include "netwatch.h"
#include "loop.h"
#include "service.h"
#include "socks_addr.h"
#include "stats.h"
#include "worker.h"

#define MAIN_DRAIN_MS 4000 /* inside procd's and systemd's 5 s stop timeouts */

struct main_ctx {
	struct gw gw;
	struct loop *loop;
	struct loop_io sig;
	struct timer stats_timer;
	struct netwatch *nw; /* NULL: netlink unavailable, getifaddrs snapshots */
	bool stats_failing; /* log a failing stats file once, not every time */
	bool debug;
};

static void main_usage(FILE *f)
{
	fprintf(f, "usage: socks64d [-f FILE] [-n] [-d] [-s] [-V] | -p NAME\n"
		   "  -f FILE  configuration file (default: embedded loopback-only default)\n"
		   "  -n       check the configuration and exit (0: valid, 1: invalid)\n"
		   "  -d       debug logging\n"
		   "  -s       log to syslog instead of stderr\n"
		   "  -V       print the version and exit\n"
		   "  -p NAME  read a password on standard input, print a users-file line\n");
}

/* `socks64d -p NAME`: one users-file line (RFC 1929 logins) for NAME, the
 * password read from standard input without echo when it is a terminal. */
static int main_hash_password(const char *name)
{
	char pw[AUTH_PASS_FIELD_MAX + 2], hash[AUTH_PASS_HASH_MAX];
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	size_t n;
	int rc = 1;

	if (name[0] == '\0' || strlen(name) > AUTH_PASS_FIELD_MAX ||
	    strpbrk(name, ": \t") != NULL) {
		fprintf(stderr, "socks64d: bad user name '%s' (1-255 bytes, no ':' or blanks)\n",
			name);
		return 1;
	}
	if (tty) {
		fprintf(stderr, "password for %s: ", name);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	if (fgets(pw, sizeof(pw), stdin) == NULL)
		pw[0] = '\0';
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	n = strcspn(pw, "\r\n");
	pw[n] = '\0';
	if (n == 0 || n > AUTH_PASS_FIELD_MAX) {
		fprintf(stderr, "socks64d: the password must be 1-255 bytes\n");
	} else if (auth_pass_hash(pw, hash, sizeof(hash)) < 0) {
		perror("socks64d: crypt");
	} else {
		printf("%s:%s\n", name, hash);
		rc = 0;
	}
	explicit_bzero(pw, sizeof(pw));
	return rc;
}

/* Room for every session's two sockets and two pipes, plus listeners. */
static void main_raise_nofile(unsigned max_sessions)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)max_sessions * 6 + 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_max < want) {
		struct rlimit r2 = {.rlim_cur = want, .rlim_max = want};

		if (setrlimit(RLIMIT_NOFILE, &r2) == 0)
			return;
	}
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warn("setrlimit(RLIMIT_NOFILE)");
	if (rl.rlim_cur < want)
		log_msg(LOG_LVL_WARN,
			"file descriptor limit %llu is below what %u sessions need (%llu)",
			(unsigned long long)rl.rlim_cur, max_sessions, (unsigned long long)want);
}

static void main_stats(struct main_ctx *m)
{
	stats_log(&m->gw);
}

static void main_stats_timer_cb(struct timer *t)
{
	struct main_ctx *m = container_of(t, struct main_ctx, stats_timer);
	const char *path = m->gw.conf->stats_file;

	if (path == NULL)
		return;
	if (stats_write_file(&m->gw, path) < 0) {
		if (!m->stats_failing)
			log_warn("stats file %s", path);
		m->stats_failing = true;
	} else {
		m->stats_failing = false;
	}
	loop_timer_set(m->loop, t, m->gw.conf->stats_interval_ms);
}

/* The gateway's own addresses, for the default refusal of clients that
 * would use it to reach the router itself. */
static void main_rescan(struct main_ctx *m)
{
	struct netstate *n = netstate_scan();

	if (n == NULL) {
		log_warn("cannot list the interfaces' addresses; keeping the previous list");
		return;
	}
	netstate_unref(m->gw.net);
	m->gw.net = n;
}

/* netwatch: a new view of links, addresses and routes for the workers. */
static void main_net_publish(void *arg, struct netstate *snap)
{
	struct main_ctx *m = arg;

	netstate_unref(m->gw.net);
	m->gw.net = snap;
	for (unsigned i = 0; i < m->gw.nworkers; i++)
		worker_post_conf(&m->gw.workers[i], m->gw.conf, snap);
}

static void main_reload(struct main_ctx *m)
{
	char err[512];
	struct conf *c;

	if (m->gw.conf_path == NULL) {
		log_notice("reload: running on the embedded default, nothing to reload");
		return;
	}
	service_notify_reloading();
	c = conf_load_file(m->gw.conf_path, err, sizeof(err));
	if (c == NULL) {
		log_err("reload failed, keeping the running configuration: %s", err);
		service_notify("READY=1");
		return;
	}
	if (!m->debug)
		log_set_level(c->log_level);
	if (m->nw == NULL)
		main_rescan(m);
	for (unsigned i = 0; i < m->gw.nworkers; i++)
		worker_post_conf(&m->gw.workers[i], c, m->gw.net);
	conf_unref(m->gw.conf);
	m->gw.conf = c;
	log_notice("reloaded %s (%zu rules); nameservers, workers and user apply at restart",
		   m->gw.conf_path, c->nrules);
	loop_timer_set(m->loop, &m->stats_timer, 0);
	service_notify("READY=1");
}

static void main_signal_cb(struct loop_io *io, uint32_t events)
{
	struct main_ctx *m = container_of(io, struct main_ctx, sig);
	struct signalfd_siginfo si;

	(void)events;
	while (read(io->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			main_reload(m);
			break;
		case SIGUSR1:
			main_stats(m);
			break;
		case SIGTERM:
		case SIGINT:
			log_notice("signal %u: stopping (draining for up to %u ms)", si.ssi_signo,
				   m->gw.drain_ms);
			service_notify("STOPPING=1");
			loop_stop(m->loop);
			return;
		default:
			break;
		}
	}
}

static void main_log_ready(struct main_ctx *m)
{
	char line[400];

	if (listen_describe(&m->gw.workers[0], line, sizeof(line)) == 0)
		snprintf(line, sizeof(line), "nothing yet (waiting for addresses)");
	log_notice("socks64d %s ready: %u workers, config %s, listening on %s", SOCKS64_VERSION,
		   m->gw.nworkers, m->gw.conf_path ? m->gw.conf_path : "(embedded default)", line);
}

int main(int argc, char **argv)
{
	struct main_ctx m;
	const char *path = NULL;
	bool check = false, use_syslog = false;
	char err[512];
	sigset_t mask;
	int opt, rc = 1;
	unsigned started = 0;

	memset(&m, 0, sizeof(m));
	while ((opt = getopt(argc, argv, "f:ndsVhp:")) != -1) {
		switch (opt) {
		case 'f':
			path = optarg;
			break;
		case 'n':
			check = true;
			break;
		case 'd':
			m.debug = true;
			break;
		case 's':
			use_syslog = true;
			break;
		case 'V':
			printf("%s\n", SOCKS64_VERSION);
			return 0;
		case 'h':
			main_usage(stdout);
			return 0;
		case 'p':
			return main_hash_password(optarg);
		default:
			main_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		main_usage(stderr);
		return 2;
	}
	m.gw.conf = path ? conf_load_file(path, err, sizeof(err)) : conf_default();
	if (m.gw.conf == NULL) {
		fprintf(stderr, "socks64d: %s\n", err);
		return 1;
	}
	if (check) {
		printf("socks64d: %s: configuration OK\n", path ? path : "(embedded default)");
		conf_unref(m.gw.conf);
		return 0;
	}
	m.gw.conf_path = path;
	m.gw.drain_ms = MAIN_DRAIN_MS;

	/* Signals go to the main thread's signalfd only: block them before
	 * any worker thread exists so every thread inherits the mask. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (log_init("socks64d", use_syslog, m.debug ? LOG_LVL_DEBUG : m.gw.conf->log_level) < 0) {
		fprintf(stderr, "socks64d: cannot start the logger\n");
		return 1;
	}
	main_raise_nofile(m.gw.conf->max_sessions);

	m.gw.nworkers = m.gw.conf->workers;
	if (m.gw.nworkers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		m.gw.nworkers = n > 0 ? (unsigned)n : 1;
	}
	m.gw.workers = calloc(m.gw.nworkers, sizeof(*m.gw.workers));
	m.gw.quota = quota_new();
	m.gw.authq = authq_new(m.gw.nworkers > 1 ? 2 : 1);
	main_rescan(&m);
	m.loop = loop_new();
	m.sig.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	m.sig.cb = main_signal_cb;
	if (m.gw.workers == NULL || m.gw.quota == NULL || m.gw.authq == NULL || m.loop == NULL ||
	    m.sig.fd < 0 || loop_io_add(m.loop, &m.sig, EPOLLIN) < 0) {
		log_warn("start-up");
		goto out;
	}
	for (unsigned i = 0; i < m.gw.nworkers; i++) {
		if (worker_init(&m.gw.workers[i], &m.gw, i) < 0 ||
		    worker_open_listeners(&m.gw.workers[i]) < 0) {
			log_err("cannot start worker %u; exiting", i);
			started = i + 1;
			goto out_workers;
		}
	}
	started = m.gw.nworkers;
	/* Every listener is bound: root is no longer needed. */
	if (m.gw.conf->run_user != NULL &&
	    service_drop_privileges(m.gw.conf->run_user, err, sizeof(err)) < 0) {
		log_err("%s; exiting", err);
		goto out_workers;
	}
	for (unsigned i = 0; i < m.gw.nworkers; i++) {
		if (worker_start(&m.gw.workers[i]) < 0) {
			log_err("cannot start worker thread %u", i);
			/* Threads already running must be stopped before teardown. */
			for (unsigned j = 0; j < i; j++) {
				worker_post_stop(&m.gw.workers[j]);
				worker_join(&m.gw.workers[j]);
			}
			goto out_workers;
		}
	}
	/* Routes and addresses as they change: egress skips a family that
	 * cannot be reached instead of waiting for it to time out. */
	m.nw = netwatch_new(m.loop, main_net_publish, &m, 0);
	if (m.nw == NULL)
		log_msg(LOG_LVL_WARN,
			"netlink unavailable: not following route and address changes");
	main_log_ready(&m);
	service_notify("READY=1");
	m.stats_timer.cb = main_stats_timer_cb;
	if (m.gw.conf->stats_file != NULL)
		loop_timer_set(m.loop, &m.stats_timer, 0);
	loop_run(m.loop);
	for (unsigned i = 0; i < m.gw.nworkers; i++)
		worker_post_stop(&m.gw.workers[i]);
	for (unsigned i = 0; i < m.gw.nworkers; i++)
		worker_join(&m.gw.workers[i]);
	main_stats(&m);
	log_notice("socks64d stopped");
	rc = 0;
out_workers:
	/* Verifier threads post to worker mailboxes: stop them first. */
	authq_free(m.gw.authq);
	m.gw.authq = NULL;
	for (unsigned i = 0; i < started; i++)
		worker_fini(&m.gw.workers[i]);
out:
	if (m.nw != NULL)
		netwatch_free(m.nw);
	if (m.loop != NULL) {
		loop_io_close(m.loop, &m.sig);
		loop_free(m.loop);
	}
	free(m.gw.workers);
	authq_free(m.gw.authq);
	quota_free(m.gw.quota);
	netstate_unref(m.gw.net);
	conf_unref(m.gw.conf);
	log_fini();
	return rc;
}
