/* netstate — what the gateway knows about its own network, as an immutable
 * reference-counted snapshot that workers read without locks: its own
 * addresses now (so clients cannot use the gateway to reach the router
 * itself); per-family reachability joins when netlink watching arrives. */
#ifndef SOCKS64_NETSTATE_H
#define SOCKS64_NETSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct netstate {
	unsigned refs; /* atomic */
	struct sockaddr_storage *local; /* every address on every interface */
	size_t nlocal;
};

/* Scan the interfaces (getifaddrs); NULL on failure (errno set). */
struct netstate *netstate_scan(void);
struct netstate *netstate_ref(struct netstate *n);
void netstate_unref(struct netstate *n);
/* Is sa (port ignored; v4-mapped counts as IPv4) one of the gateway's own? */
bool netstate_is_local(const struct netstate *n, const struct sockaddr *sa);

#endif
