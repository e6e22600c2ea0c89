/* service — living under a service manager: systemd's readiness protocol
 * (written by hand, no libsystemd) and dropping root after start-up. */
#ifndef SOCKS64_SERVICE_H
#define SOCKS64_SERVICE_H

#include <stddef.h>

/* Send one sd_notify(3) message ("READY=1", "RELOADING=1\nMONOTONIC_USEC=...",
 * "STOPPING=1") to $NOTIFY_SOCKET if it is set; harmless otherwise. */
void service_notify(const char *msg);
/* Tell systemd a reload started (with the monotonic time it requires). */
void service_notify_reloading(void);

/* Become `user` (its primary group, no supplementary groups), keeping only
 * CAP_NET_BIND_SERVICE so listeners on ports below 1024 can still be bound
 * later.  Returns 0, or -1 with a message in err. */
int service_drop_privileges(const char *user, char *err, size_t errlen);

#endif
