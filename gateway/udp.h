/* udp — UDP ASSOCIATE relay (RFC 1928 §7); see udp.c. */
#ifndef SOCKS64_UDP_H
#define SOCKS64_UDP_H

#include <stddef.h>

struct session;
struct udp_assoc;

/* The request was UDP ASSOCIATE: open the relay, reply, enter SS_UDP. */
void udp_start(struct session *s);
/* Teardown (session_close): close the sockets, drop what waits. */
void udp_stop(struct session *s);
/* Free the association with the session (after the batch). */
void udp_free(struct session *s);
/* " dgrams_up=N dgrams_down=N dropped=N" for the session log line. */
int udp_log_extra(const struct session *s, char *out, size_t outlen);

#endif
