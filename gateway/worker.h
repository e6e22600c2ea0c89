/* worker — one thread, one event loop, its own listeners (SO_REUSEPORT), its
 * own c-ares channel, pipe pool and sessions.  Workers share only atomic
 * counters and reference-counted configuration snapshots with the main
 * thread, which owns signals and reload. */
#ifndef SOCKS64_WORKER_H
#define SOCKS64_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "loop.h"
#include "relay.h"

struct authq;
struct authq_job;
struct conf;
struct quota;
struct netstate;
struct resolver;
struct listener;
struct session;
struct udp_bufs;

/* Counters written by one worker, read by the main thread (relaxed atomics). */
struct worker_stats {
	uint64_t accepted;
	uint64_t refused; /* closed at accept: limits, client rules */
	uint64_t ok; /* sessions that reached relaying */
	uint64_t failed; /* failure replies */
	uint64_t bytes_up; /* client -> destination */
	uint64_t bytes_down; /* destination -> client */
};

struct gw {
	struct conf *conf; /* main thread's current snapshot */
	const char *conf_path; /* NULL: embedded default */
	unsigned nworkers;
	struct worker *workers;
	unsigned long active; /* sessions open, all workers (atomic) */
	uint64_t next_id; /* session ids (atomic) */
	unsigned drain_ms; /* SIGTERM: how long live sessions may finish */
	struct netstate *net; /* main thread's current snapshot */
	struct quota *quota; /* per-client / per-user session counts */
	struct authq *authq; /* password verifier threads */
};

struct worker {
	unsigned id;
	struct gw *gw;
	pthread_t thread;
	struct loop *loop;
	struct resolver *resolver;
	struct conf *conf; /* this worker's snapshot; sessions hold their own ref */
	struct netstate *net; /* this worker's snapshot */
	struct listener *listeners; /* listen.c's list */
	struct pipe_pool pipes;
	struct udp_bufs *udp_bufs; /* recvmmsg/sendmmsg batch, made on first use */

	/* Messages from the main thread: an eventfd plus mailbox under a lock. */
	struct loop_io inbox;
	pthread_mutex_t mu;
	struct conf *next_conf;
	struct netstate *next_net;
	struct authq_job *auth_done; /* finished password checks */
	bool want_stop;

	bool stopping; /* listeners closed, draining */
	bool accept_failing; /* accept4 out of descriptors: logged once */
	struct timer accept_timer; /* resume accepting after a limit or EMFILE */
	struct timer drain_timer;
	struct timer trim_timer; /* gives idle pipes back to the kernel */
	unsigned long trim_gets; /* pipes.gets at the last trim check */
	struct session *sessions; /* intrusive list of live sessions */
	unsigned long nsessions;
	struct worker_stats st;
	/* Failed-login log rate limit (session_auth_log_failure). */
	uint64_t authfail_since;
	unsigned authfail_count, authfail_quiet;
};

#define STAT_ADD(w, field, n) __atomic_fetch_add(&(w)->st.field, (n), __ATOMIC_RELAXED)
#define STAT_GET(w, field) __atomic_load_n(&(w)->st.field, __ATOMIC_RELAXED)

/* Open this worker's listening sockets (called from the main thread before
 * the thread starts, so bind errors other than "address not here yet" are
 * fatal at start-up). */
int worker_open_listeners(struct worker *w);
/* A listening socket of this worker is readable: accept what is waiting
 * (limits, client rules, sessions are the worker's business). */
void worker_accept(struct worker *w, int lfd);
int worker_init(struct worker *w, struct gw *gw, unsigned id);
int worker_start(struct worker *w);
/* From the main thread: hand over a new configuration / ask to stop. */
void worker_post_conf(struct worker *w, struct conf *c, struct netstate *n);
void worker_post_stop(struct worker *w);
/* From a verifier thread: a finished password check. */
void worker_post_auth(struct worker *w, struct authq_job *j);
void worker_join(struct worker *w);
void worker_fini(struct worker *w);

/* From a session: one closed, so the limit may allow accepting again. */
void worker_session_closed(struct worker *w);

#endif
