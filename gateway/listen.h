/* listen — a worker's listening sockets, following the configuration and
 * the interfaces' addresses; see listen.c. */
#ifndef SOCKS64_LISTEN_H
#define SOCKS64_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

struct worker;
struct listener;

/* Make the worker's listeners match its configuration and network
 * snapshot.  Returns 0, or -1 if some address could not be bound for a
 * reason other than "not an address of this host yet" (logged). */
int listen_sync(struct worker *w, bool startup);
/* Pause (at the session limit) or resume accepting. */
void listen_enable(struct worker *w, bool on);
/* Close every listener (stopping); now: free at once (loop not running). */
void listen_close_all(struct worker *w, bool now);
/* "198.51.100.1:1080 [2001:db8:1::1]:1080" for the ready line. */
size_t listen_describe(const struct worker *w, char *out, size_t outlen);

#endif
