/* fdtab — what the shim remembers per descriptor, and the descriptors it
 * owns itself.
 *
 * Per socket: the synthetic address the program asked for, so getpeername()
 * answers with it (RFC 3089 §3: the application must not see the gateway);
 * the state of a non-blocking connect (pending, connected, failed with an
 * errno not yet fetched by SO_ERROR); the handshake in flight; and the
 * program's epoll registrations of the socket (hook_poll.c), so they can be
 * withheld from the kernel while the handshake runs.
 *
 * Records are keyed by fd number and checked against the socket's inode, so
 * a record left behind by a close the shim does not see (a raw syscall,
 * closefrom()) never applies to a different socket that reuses the number.
 *
 * Beside the records, one atomic byte of flags per fd number tells the hot
 * hooks (close, poll, select, epoll_ctl, getsockopt) without a lock and
 * without allocating whether the fd needs them at all: most calls see 0 and
 * go straight to libc, which keeps them usable from signal handlers.  Every
 * change of a record happens under one mutex (fdtab_lock), taken with all
 * signals blocked, so a signal handler that closes or polls a socket of the
 * shim cannot deadlock against the thread it interrupted.  Lock order: other
 * modules' locks may be taken under fdtab_lock (the helper thread calls
 * hook_bind's shim_bind_note_connect under it), never fdtab_lock (fdtab_set,
 * fdtab_peer, fdtab_lock) under theirs.  fdtab_flags, fdtab_flags_update,
 * fdtab_own and fdtab_own_close take no lock. */
#ifndef SOCKS64_FDTAB_H
#define SOCKS64_FDTAB_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "socks_client.h"

/* Per-fd flags (fdtab_flags). */
#define FDTAB_F_OWN 0x01u /* a descriptor of the shim: the program may not close it */
#define FDTAB_F_PENDING 0x02u /* a SOCKS handshake runs on this socket */
#define FDTAB_F_FAILED 0x04u /* the handshake failed; SO_ERROR not yet fetched */
#define FDTAB_F_EPOLL 0x08u /* the record holds epoll registrations */
#define FDTAB_F_EPSET 0x10u /* an epoll set holding registrations of pending sockets */

enum fdtab_state {
	FDTAB_NONE = 0, /* only epoll registrations are remembered */
	FDTAB_PENDING, /* non-blocking connect: handshake in flight */
	FDTAB_CONNECTED, /* connected through the gateway: peer is valid */
	FDTAB_FAILED, /* the handshake failed: err until SO_ERROR fetches it */
};

/* One registration of the socket in one of the program's epoll sets. */
struct fdtab_epreg {
	struct fdtab_epreg *next;
	int epfd;
	struct epoll_event ev; /* the program's events and data */
};

/* A non-blocking connect in flight.  hook_connect.c drives it on the
 * helper thread; fdtab owns its lifetime and its descriptors. */
struct fdtab_pending {
	struct fdtab_pending *next; /* the list of handshakes in flight */
	uint64_t serial; /* data of dupfd in the helper's epoll set (never 0) */
	int fd; /* the program's descriptor */
	int dupfd; /* the shim's dup() of it, registered in helper_epfd */
	int helper_epfd;
	int evfd; /* eventfd: readable once the handshake is over */
	int users; /* poll/select calls waiting on evfd right now */
	bool done; /* handshake over: no longer in the list */
	int phase; /* hook_connect.c's */
	unsigned gw_first; /* the gateway to try first */
	unsigned gw_next; /* gateways tried so far */
	unsigned gw_cur; /* the gateway of the current attempt */
	int family;
	bool auth_set; /* socks_client_auth applied for gw_cur */
	long long deadline; /* CLOCK_MONOTONIC ms */
	struct socks_client sc;
};

struct fdtab_entry {
	ino_t ino; /* 0: empty */
	dev_t dev;
	enum fdtab_state state;
	int err; /* FDTAB_FAILED: the errno for SO_ERROR */
	socklen_t len; /* peer */
	struct sockaddr_storage peer;
	struct fdtab_pending *pend; /* FDTAB_PENDING */
	struct fdtab_epreg *regs;
};

/* The flags of fd; lock-free, async-signal-safe. */
unsigned fdtab_flags(int fd);

/* Set and clear flags of fd; under fdtab_lock (the storage for the flags
 * is allocated here: returns -1 when that fails). */
int fdtab_flags_update(int fd, unsigned set, unsigned clear);

/* The records' mutex, taken with every signal blocked; old receives the
 * mask to restore. */
void fdtab_lock(sigset_t *old);
void fdtab_unlock(const sigset_t *old);

/* Under the lock: the record of fd when it describes the socket st (from
 * fstat of fd), else NULL. */
struct fdtab_entry *fdtab_find(int fd, const struct stat *st);

/* Under the lock: the record of fd for st, an empty one replacing a stale
 * record (whose handshake is dropped).  NULL when out of memory. */
struct fdtab_entry *fdtab_claim(int fd, const struct stat *st);

/* Under the lock: empty the record of fd (the program closes it): drop its
 * handshake and its epoll registrations, clear its flags but FDTAB_F_OWN. */
void fdtab_forget(int fd, struct fdtab_entry *e);

/* Remember sa as fd's peer (a blocking connect through the gateway).  0, or
 * -1 (out of memory: getpeername then shows the gateway, nothing worse). */
int fdtab_set(int fd, const struct sockaddr *sa, socklen_t len);

/* Copy fd's remembered peer like getpeername() would (truncating to *len,
 * *len set to the full size).  0 when connected through the gateway; 1 when
 * the record says the socket is not connected (handshake pending or
 * failed: ENOTCONN); -1 when there is no valid record. */
int fdtab_peer(int fd, struct sockaddr *sa, socklen_t *len);

/* The shim's own descriptors: fdtab_own marks fd (moving it above the
 * numbers programs usually pick, when the limit allows) and returns the
 * number to use, or -1 (fd closed) when marking is impossible.
 * fdtab_own_close unmarks and closes it. */
int fdtab_own(int fd);
void fdtab_own_close(int fd);

/* Under the lock: a new handshake record with its eventfd (NULL: errno),
 * and its registration in the list of handshakes in flight. */
struct fdtab_pending *fdtab_pending_new(void);
void fdtab_pending_link(struct fdtab_pending *p);

/* How many handshakes are in flight (lock-free): 0 lets the readiness
 * hooks go straight to libc without looking at their descriptors. */
int fdtab_pending_count(void);

/* Under the lock: the record p belongs to, or NULL. */
struct fdtab_entry *fdtab_pending_entry(struct fdtab_pending *p);

/* Under the lock: the handshake whose helper epoll data is serial. */
struct fdtab_pending *fdtab_pending_by_serial(uint64_t serial);

/* Under the lock: the first handshake in flight (then ->next). */
struct fdtab_pending *fdtab_pending_first(void);

/* Under the lock: end a handshake: its dup leaves the helper's epoll set
 * and is closed, its eventfd is signalled (waking every poll on it) and
 * closed once no poll uses it any more. */
void fdtab_pending_drop(struct fdtab_pending *p);

/* Under the lock: a poll that used p's eventfd is over. */
void fdtab_pending_unuse(struct fdtab_pending *p);

/* fork(): fdtab holds its lock across fork() (pthread_atfork, registered
 * on first use), and in the child -- where the helper thread does not
 * exist -- drops every handshake in flight (the parent's helper finishes it
 * on the shared socket) and closes the child's copies of their
 * descriptors. */

/* Under the lock: the program closes the epoll set epfd; registrations of
 * pending sockets in it (not in the kernel yet) are dropped. */
void fdtab_epset_closing(int epfd);

/* Epoll registrations of a record (under the lock). */
struct fdtab_epreg *fdtab_epreg_find(struct fdtab_entry *e, int epfd);
int fdtab_epreg_add(int fd, struct fdtab_entry *e, int epfd, const struct epoll_event *ev);
void fdtab_epreg_del(int fd, struct fdtab_entry *e, int epfd);

#endif
