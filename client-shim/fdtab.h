/* fdtab — what the shim remembers per socket it connected through the
 * gateway: the synthetic address the program asked for, so getpeername()
 * answers with it (RFC 3089 §3: the application must not see the gateway).
 *
 * Records are keyed by fd number and checked against the socket's inode, so
 * a record left behind by close(), dup2() or close_range() -- which the shim
 * does not hook -- never applies to a different socket that reuses the
 * number.  Thread-safe. */
#ifndef SOCKS64_FDTAB_H
#define SOCKS64_FDTAB_H

#include <sys/socket.h>

/* Remember sa as fd's peer.  0, or -1 (out of memory: getpeername then
 * shows the gateway, nothing worse). */
int fdtab_set(int fd, const struct sockaddr *sa, socklen_t len);

/* Copy fd's remembered peer like getpeername() would (truncating to *len,
 * *len set to the full size).  0, or -1 when there is no valid record. */
int fdtab_peer(int fd, struct sockaddr *sa, socklen_t *len);

#endif
