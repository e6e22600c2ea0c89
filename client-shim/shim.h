/* shim — the LD_PRELOAD library's shared state: the real libc symbols
 * (resolved once with dlsym(RTLD_NEXT), usable before initialisation), the
 * configuration and the synthetic map (loaded on first use), and logging.
 * Internal to libsocks64.so; only the hooks are exported (exports.map). */
#ifndef SOCKS64_SHIM_H
#define SOCKS64_SHIM_H

#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/socket.h>

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

#endif
