/* gss_relay — RFC 1961 per-message protection (levels 1 and 2) for the
 * program's TCP connections, without interposing its I/O calls.
 *
 * The design: once the SOCKS handshake -- GSSAPI context, protection level,
 * wrapped request and reply -- is done on the shim's connection to the
 * gateway, the program's descriptor is replaced (dup3) by one end of a
 * connected loopback TCP pair.  The other end and the gateway connection
 * belong to one relay thread per process, which wraps what the program
 * writes (one token per read, at most gss_ctx_max_plain bytes, §5) and
 * unwraps what the gateway sends.  So the program keeps a real TCP socket:
 * read/write/send/recv/sendfile/splice, poll/select/epoll, shutdown and
 * SO_RCVTIMEO all behave as the kernel makes them, with no per-call hook.
 *
 * What the program sees:
 *  - getpeername(): the synthetic address it connected to (fdtab);
 *  - getsockname(): the gateway's address towards the destination, from
 *    the CONNECT reply (hook_bind's note), as for unprotected connections;
 *  - getsockopt(SO_ERROR): 0; the O_NONBLOCK and close-on-exec flags the
 *    descriptor had (read at the swap and put on the new socket, never
 *    changed otherwise); SO_RCVTIMEO, SO_SNDTIMEO, SO_LINGER, SO_OOBINLINE
 *    and TCP_NODELAY copied over.  Other options set before connect() are
 *    not carried (on a loopback socket they would mean nothing).
 *  - shutdown(SHUT_WR) reaches the gateway as a TCP half-close after the
 *    data before it; the gateway's half-close comes back the same way.  A
 *    token that fails to unwrap (tampered, replayed, out of order) or an
 *    abort ends both connections with a log line, and the program's
 *    socket is reset (ECONNRESET).
 *
 * Limits: epoll registrations a program made on a blocking socket before
 * connect() do not follow the swap (non-blocking sockets are fine: their
 * registrations are withheld during the handshake and added after it).
 * The relay lives in the process that connected: a child after fork()
 * shares the socket and the parent's relay serves it, but after exec() of
 * a process holding the only relay, its program-side socket sees EOF. */
#ifndef SOCKS64_GSS_RELAY_H
#define SOCKS64_GSS_RELAY_H

#include "gss.h"

/* Register the fork handlers; call it outside the fdtab lock before a
 * gss_relay_attach() made under it (pthread_atfork takes glibc's fork
 * lock, which fork() holds while fdtab's handler waits for that lock). */
void gss_relay_prepare(void);

/* Put a protected relay under fd: gwfd (a descriptor of the shim's own,
 * fdtab_own, connected to the gateway; -1: take a dup of fd, which is
 * then that connection) and ctx (established, level 1 or 2) are handed
 * over in every case; label names the connection in log lines.  0 when fd
 * is the program's end of the relay now; -1 with errno, fd untouched
 * (still the gateway connection, which the caller must then disconnect). */
int gss_relay_attach(int fd, int gwfd, struct gss_ctx *ctx, const char *label);

#endif
