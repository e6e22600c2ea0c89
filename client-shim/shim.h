/* shim — the LD_PRELOAD library's shared state: the real libc symbols
 * (resolved once with dlsym(RTLD_NEXT), usable before initialisation), the
 * configuration and the synthetic map (loaded on first use), and logging.
 * Internal to libsocks64.so; only the hooks are exported (exports.map). */
#ifndef SOCKS64_SHIM_H
#define SOCKS64_SHIM_H

#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
/* BEGIN nonblocking-connect */
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
/* END nonblocking-connect */

#include "conf.h"
#include "synth.h"

/* The hooks' own visibility (the build uses -fvisibility=hidden). */
#define SHIM_EXPORT __attribute__((visibility("default")))

/* glibc declares the sockaddr arguments of connect()/getpeername() as
 * transparent unions under _GNU_SOURCE; other libcs use plain pointers. */
#ifdef __CONST_SOCKADDR_ARG
#define SHIM_CONST_SA __CONST_SOCKADDR_ARG
#define SHIM_CONST_SA_PTR(a) ((a).__sockaddr__)
#define SHIM_SA __SOCKADDR_ARG
#define SHIM_SA_PTR(a) ((a).__sockaddr__)
#else
#define SHIM_CONST_SA const struct sockaddr *
#define SHIM_CONST_SA_PTR(a) (a)
#define SHIM_SA struct sockaddr *
#define SHIM_SA_PTR(a) (a)
#endif

struct shim_syms {
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*getpeername)(int, struct sockaddr *, socklen_t *);
	int (*getaddrinfo)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
	void (*freeaddrinfo)(struct addrinfo *);
	struct hostent *(*gethostbyname)(const char *);
	struct hostent *(*gethostbyname2)(const char *, int);
	int (*gethostbyname_r)(const char *, struct hostent *, char *, size_t, struct hostent **,
			       int *);
	int (*gethostbyname2_r)(const char *, int, struct hostent *, char *, size_t,
				struct hostent **, int *);
	struct hostent *(*gethostbyaddr)(const void *, socklen_t, int);
	int (*gethostbyaddr_r)(const void *, socklen_t, int, struct hostent *, char *, size_t,
			       struct hostent **, int *);
	int (*getnameinfo)(const struct sockaddr *, socklen_t, char *, socklen_t, char *, socklen_t,
			   int);
	/* BEGIN nonblocking-connect */
	int (*close)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*close_range)(unsigned, unsigned, int);
	int (*getsockopt)(int, int, int, void *, socklen_t *);
	int (*poll)(struct pollfd *, nfds_t, int);
	int (*ppoll)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
	int (*select)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
	int (*pselect)(int, fd_set *, fd_set *, fd_set *, const struct timespec *,
		       const sigset_t *);
	int (*epoll_ctl)(int, int, int, struct epoll_event *);
	/* END nonblocking-connect */
};

enum shim_level {
	SHIM_LOG_QUIET = 0,
	SHIM_LOG_WARN = 1, /* default */
	SHIM_LOG_VERBOSE = 2,
};

/* The real functions; safe from any thread at any time. */
const struct shim_syms *shim_syms(void);

/* Configuration, or NULL when the shim is disabled (bad configuration:
 * every hook passes straight to libc).  Loads it on first call. */
const struct shim_conf *shim_conf(void);

/* The synthetic map (shared, or private after one warning); NULL when the
 * shim is disabled or out of memory. */
struct synth *shim_synth(void);

void shim_log(enum shim_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool shim_log_enabled(enum shim_level level);

/* hook_connect.c: ask the gateways (failover in order) to resolve name with
 * the RESOLVE extension (command 0xF0).  1: the name exists; 0: it does
 * not (REP 4, as Tor answers unknown names); -1: could not tell (gateway
 * down, command not supported) -- the caller then trusts the name. */
int shim_gateway_verify(const char *name);

/* BEGIN udp-bind */
#include <sys/types.h>

#include "socks5.h"

/* The real functions behind hook_udp.c and hook_bind.c. */
struct shim_ub_syms {
	ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	ssize_t (*send)(int, const void *, size_t, int);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	ssize_t (*recv)(int, void *, size_t, int);
	ssize_t (*read)(int, void *, size_t);
	int (*bind)(int, const struct sockaddr *, socklen_t);
	int (*listen)(int, int);
	int (*accept)(int, struct sockaddr *, socklen_t *);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	int (*getsockname)(int, struct sockaddr *, socklen_t *);
};

const struct shim_ub_syms *shim_ub_syms(void);

/* hook_udp.c, for the connect() hook, which calls it first for every
 * SOCK_DGRAM socket: connect() of a UDP socket to a synthetic address sets
 * up the socket's UDP association and makes that address the default
 * destination of send()/write() (*handled true: return what this returns,
 * 0 or -1 with errno).  *handled false: connect() as usual (a real address
 * or AF_UNSPEC also drops an earlier synthetic default). */
int shim_udp_connect(int fd, const struct sockaddr *sa, socklen_t len, bool *handled);

/* For the close() hook (and dup2/dup3 onto fd, close_range): forget fd's
 * UDP association (its control connection closes, RFC 1928 §7) and any
 * BIND state.  Records are also checked against the socket's inode on
 * every use, so a missed close never applies to a reused fd number. */
void shim_udp_bind_on_close(int fd);

/* hook_bind.c, for the connect() hook after a CONNECT succeeded (blocking
 * or not): the reply's BND, the gateway's own address towards the
 * destination.  getsockname() of fd then shows it (RFC 3089 §3; what FTP
 * puts in PORT), and a bind() to it is the active-mode pattern. */
void shim_bind_note_connect(int fd, const struct socks_addr *bnd);

/* hook_udp.c, shared with hook_bind.c.  A control connection of the shim's
 * own: the first configured gateway that answers (an IPv4 socket's
 * association or BIND needs an IPv4 gateway; IPv6 takes either), then cmd
 * for dst within timeout_ms, bound to src first when src is not NULL, with
 * the configured authentication.  Returns the connected fd (close-on-exec,
 * non-blocking) with the reply's BND in *bnd and the gateway's address in
 * *gw, or -1 with errno.  *gss receives the GSSAPI context when the agreed
 * level protects data (RFC 1961 §5; NULL otherwise); a caller passing
 * gss == NULL cannot carry protected data, and such a session fails with
 * EPROTONOSUPPORT. */
struct gss_ctx;
int shim_ub_request(int sockfam, uint8_t cmd, const struct socks_addr *dst,
		    const struct sockaddr *src, int timeout_ms, struct socks_addr *bnd,
		    struct sockaddr_storage *gw, struct gss_ctx **gss);

/* 1 and the map entry when sa (AF_INET, AF_INET6, v4-mapped) is a
 * synthetic address the map knows; 0 when it is not synthetic; -1 when it
 * is synthetic but unknown. */
int shim_ub_synthetic(const struct sockaddr *sa, socklen_t len, struct synth_entry_info *e);

/* How a socket of family fam shows the remote end a (with its port): the
 * same family as it is, IPv4 to IPv6 sockets v4-mapped, IPv6 to IPv4
 * sockets and any name as the synthetic address of that text (RFC 3089 §3:
 * a literal sent back as a name is taken as the literal).  Length, or 0. */
socklen_t shim_ub_show(int fam, const struct socks_addr *a, struct sockaddr_storage *out);

/* Per-fd records of hook_udp.c and hook_bind.c: one object per fd,
 * reference counted, validated by the socket's inode on every lookup. */
enum shim_ub_kind {
	SHIM_UB_UDP = 1,
	SHIM_UB_NOTE, /* a proxied TCP connection's CONNECT reply */
	SHIM_UB_BIND, /* a listener that is (or will be) a gateway BIND */
};

struct shim_ub_obj {
	int refs; /* the table's reference counts as one */
	enum shim_ub_kind kind;
	dev_t dev;
	ino_t ino;
	void (*drop)(struct shim_ub_obj *o);
};

/* True once any record exists: the hooks' fast path. */
bool shim_ub_any(void);
/* Put o (one reference, the table's) at fd, dropping what was there; o
 * already there is only re-validated against fd's current inode. */
int shim_ub_attach(int fd, struct shim_ub_obj *o);
/* fd's object of that kind, with a reference for the caller, or NULL. */
struct shim_ub_obj *shim_ub_find(int fd, enum shim_ub_kind kind);
/* dup3(file, fd) with o following fd's new inode, atomically for the
 * lookups.  0 or -1 with errno. */
int shim_ub_swap(int fd, int file, bool cloexec, struct shim_ub_obj *o);
/* Remove o from fd if it is still there. */
void shim_ub_detach(int fd, struct shim_ub_obj *o);
void shim_ub_put(struct shim_ub_obj *o);
/* Call fn for every valid record of kind (under the table lock: fn must
 * not call back into the table); stops when fn returns non-zero. */
int shim_ub_foreach(enum shim_ub_kind kind, int (*fn)(int fd, struct shim_ub_obj *o, void *arg),
		    void *arg);
/* END udp-bind */

/* hook_connect.c, shared with hook_udp.c: CLOCK_MONOTONIC milliseconds, and
 * a connect of fd to one gateway within deadline (0, or -1 with errno). */
long long shim_now_ms(void);
int shim_connect_gw(int fd, const struct sockaddr *gw, socklen_t len, long long deadline);

#endif
