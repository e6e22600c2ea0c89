/* worker — one thread per worker: listeners, accept, mailbox, drain. */
#include "worker.h"

#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "authq.h"
#include "conf.h"
#include "listen.h"
#include "log.h"
#include "netstate.h"
#include "resolver.h"
#include "rules.h"
#include "session.h"

#define WORKER_ACCEPT_BATCH 64
#define WORKER_BACKLOG 4096
#define WORKER_PAUSE_MS 50
#define WORKER_EMFILE_PAUSE_MS 100
#define WORKER_PIPE_SIZE (256 * 1024)
#define WORKER_PIPES_CACHED 64
#define WORKER_TRIM_MS 5000 /* cached pipes unused this long are closed */

static bool worker_client_local(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

static void worker_pause(struct worker *w, unsigned ms)
{
	listen_enable(w, false);
	loop_timer_set(w->loop, &w->accept_timer, ms);
}

static void worker_accept_timer_cb(struct timer *t)
{
	struct worker *w = container_of(t, struct worker, accept_timer);

	if (w->stopping)
		return;
	if (__atomic_load_n(&w->gw->active, __ATOMIC_RELAXED) >= w->conf->max_sessions) {
		loop_timer_set(w->loop, t, WORKER_PAUSE_MS);
		return;
	}
	listen_enable(w, true);
}

void worker_session_closed(struct worker *w)
{
	if (w->stopping) {
		if (w->nsessions == 0)
			loop_stop(w->loop);
		return;
	}
	if (timer_armed(&w->accept_timer) &&
	    __atomic_load_n(&w->gw->active, __ATOMIC_RELAXED) < w->conf->max_sessions) {
		loop_timer_cancel(w->loop, &w->accept_timer);
		listen_enable(w, true);
	}
}

/* Client stage (before any byte is read): with no rules only loopback
 * clients; with rules, a client no pass rule can match is closed now. */
static bool worker_client_allowed(struct worker *w, const struct sockaddr *sa)
{
	if (w->conf->nrules == 0)
		return worker_client_local(sa);
	return rules_client_may_pass(w->conf->rules, w->conf->nrules, sa);
}

void worker_accept(struct worker *w, int lfd)
{

	for (int i = 0; i < WORKER_ACCEPT_BATCH; i++) {
		union {
			struct sockaddr sa;
			struct sockaddr_storage ss;
		} peer;
		socklen_t len = sizeof(peer);
		int fd;

		if (__atomic_load_n(&w->gw->active, __ATOMIC_RELAXED) >= w->conf->max_sessions) {
			/* At the limit: leave new clients in the backlog. */
			worker_pause(w, WORKER_PAUSE_MS);
			return;
		}
		fd = accept4(lfd, &peer.sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* Once per episode, not once per retry. */
				if (!w->accept_failing)
					log_warn("worker %u: accept paused, retrying every %u ms",
						 w->id, WORKER_EMFILE_PAUSE_MS);
				w->accept_failing = true;
				worker_pause(w, WORKER_EMFILE_PAUSE_MS);
			}
			return;
		}
		if (w->accept_failing) {
			log_notice("worker %u: accepting again", w->id);
			w->accept_failing = false;
		}
		if (!worker_client_allowed(w, &peer.sa)) {
			char a[64];

			log_info("client %s refused: %s", sockaddr_format(&peer.sa, a, sizeof(a)),
				 w->conf->nrules ? "no rule lets it pass"
						 : "not loopback and no rules configured");
			STAT_ADD(w, refused, 1);
			close(fd);
			continue;
		}
		__atomic_fetch_add(&w->gw->active, 1, __ATOMIC_RELAXED);
		session_new(w, fd, &peer.sa, len);
	}
}

int worker_open_listeners(struct worker *w)
{
	return listen_sync(w, true);
}

static void worker_close_listeners(struct worker *w)
{
	listen_close_all(w, false);
}

static void worker_trim_cb(struct timer *t)
{
	struct worker *w = container_of(t, struct worker, trim_timer);

	if (w->pipes.gets == w->trim_gets && w->pipes.nfree > 0)
		pipe_pool_trim(&w->pipes);
	w->trim_gets = w->pipes.gets;
	loop_timer_set(w->loop, t, WORKER_TRIM_MS);
}

static void worker_drain_cb(struct timer *t)
{
	struct worker *w = container_of(t, struct worker, drain_timer);

	while (w->sessions != NULL)
		session_abort(w->sessions, "shutdown");
	loop_stop(w->loop);
}

static void worker_inbox_cb(struct loop_io *io, uint32_t events)
{
	struct worker *w = container_of(io, struct worker, inbox);
	uint64_t v;
	struct conf *c;
	struct netstate *n;
	struct authq_job *done;
	bool stop;

	(void)events;
	if (read(io->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("worker %u: inbox", w->id);
	pthread_mutex_lock(&w->mu);
	c = w->next_conf;
	w->next_conf = NULL;
	n = w->next_net;
	w->next_net = NULL;
	stop = w->want_stop;
	done = w->auth_done;
	w->auth_done = NULL;
	pthread_mutex_unlock(&w->mu);
	while (done != NULL) {
		struct authq_job *j = done;

		done = j->next;
		if (j->s != NULL)
			session_auth_done(j->s, j);
		authq_job_free(j);
	}
	if (c != NULL) {
		/* Live sessions keep the snapshot they started with. */
		conf_unref(w->conf);
		w->conf = c;
	}
	if (n != NULL) {
		netstate_unref(w->net);
		w->net = n;
	}
	/* New `listen` lines, or addresses that came or went. */
	if (c != NULL || n != NULL)
		listen_sync(w, false);
	if (stop && !w->stopping) {
		w->stopping = true;
		loop_timer_cancel(w->loop, &w->accept_timer);
		worker_close_listeners(w);
		if (w->nsessions == 0)
			loop_stop(w->loop);
		else
			loop_timer_set(w->loop, &w->drain_timer, w->gw->drain_ms);
	}
}

int worker_init(struct worker *w, struct gw *gw, unsigned id)
{
	struct resolver_opts ro;

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->gw = gw;
	w->conf = conf_ref(gw->conf);
	w->net = netstate_ref(gw->net);
	w->inbox.fd = -1;
	pthread_mutex_init(&w->mu, NULL);
	w->accept_timer.cb = worker_accept_timer_cb;
	w->drain_timer.cb = worker_drain_cb;
	w->trim_timer.cb = worker_trim_cb;
	pipe_pool_init(&w->pipes, WORKER_PIPE_SIZE, WORKER_PIPES_CACHED);
	w->loop = loop_new();
	if (w->loop == NULL)
		return -1;
	memset(&ro, 0, sizeof(ro));
	ro.servers = w->conf->nameservers;
	ro.timeout_ms = w->conf->dns_timeout_ms;
	ro.tries = w->conf->dns_tries;
	ro.cache_size = w->conf->dns_cache_size;
	ro.cache_max_ttl = w->conf->dns_cache_max_ttl;
	ro.negative_ttl = w->conf->dns_negative_ttl;
	w->resolver = resolver_new(w->loop, &ro);
	if (w->resolver == NULL) {
		log_warnx("worker %u: cannot start the resolver", id);
		return -1;
	}
	loop_timer_set(w->loop, &w->trim_timer, WORKER_TRIM_MS);
	w->inbox.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->inbox.cb = worker_inbox_cb;
	if (w->inbox.fd < 0 || loop_io_add(w->loop, &w->inbox, EPOLLIN) < 0) {
		log_warn("worker %u: eventfd", id);
		return -1;
	}
	return 0;
}

static void worker_kick(struct worker *w)
{
	uint64_t one = 1;

	if (write(w->inbox.fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("worker %u: kick", w->id);
}

void worker_post_conf(struct worker *w, struct conf *c, struct netstate *n)
{
	struct conf *old;
	struct netstate *oldn;

	pthread_mutex_lock(&w->mu);
	old = w->next_conf;
	oldn = w->next_net;
	w->next_conf = conf_ref(c);
	w->next_net = netstate_ref(n);
	pthread_mutex_unlock(&w->mu);
	if (old != NULL)
		conf_unref(old);
	netstate_unref(oldn);
	worker_kick(w);
}

void worker_post_auth(struct worker *w, struct authq_job *j)
{
	pthread_mutex_lock(&w->mu);
	j->next = w->auth_done;
	w->auth_done = j;
	pthread_mutex_unlock(&w->mu);
	worker_kick(w);
}

void worker_post_stop(struct worker *w)
{
	pthread_mutex_lock(&w->mu);
	w->want_stop = true;
	pthread_mutex_unlock(&w->mu);
	worker_kick(w);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	loop_run(w->loop);
	return NULL;
}

int worker_start(struct worker *w)
{
	return pthread_create(&w->thread, NULL, worker_main, w) == 0 ? 0 : -1;
}

void worker_join(struct worker *w)
{
	pthread_join(w->thread, NULL);
}

void worker_fini(struct worker *w)
{
	while (w->sessions != NULL)
		session_abort(w->sessions, "shutdown");
	listen_close_all(w, true);
	if (w->resolver != NULL)
		resolver_free(w->resolver);
	pipe_pool_fini(&w->pipes);
	free(w->udp_bufs);
	w->udp_bufs = NULL;
	if (w->loop != NULL) {
		loop_io_close(w->loop, &w->inbox);
		/* Run what sessions deferred (their frees) before the loop goes. */
		loop_run_pending(w->loop);
		loop_free(w->loop);
	}
	if (w->next_conf != NULL)
		conf_unref(w->next_conf);
	netstate_unref(w->next_net);
	netstate_unref(w->net);
	while (w->auth_done != NULL) {
		struct authq_job *j = w->auth_done;

		w->auth_done = j->next;
		authq_job_free(j);
	}
	conf_unref(w->conf);
	pthread_mutex_destroy(&w->mu);
}
