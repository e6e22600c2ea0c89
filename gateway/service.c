/* service — sd_notify and privilege drop; see service.h. */
#include "service.h"

#include <errno.h>
#include <grp.h>
#include <stddef.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

void service_notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return;
	len = strlen(path);
	if (len >= sizeof(sun.sun_path))
		return;
	memcpy(sun.sun_path, path, len);
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0'; /* abstract namespace */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	/* A datagram to a local socket: never blocks for long, and the
	 * main thread is the only caller. */
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sun,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		log_warn("sd_notify");
	close(fd);
}

void service_notify_reloading(void)
{
	struct timespec ts;
	char msg[96];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ull +
			 (unsigned long long)ts.tv_nsec / 1000);
	service_notify(msg);
}

/* Without libcap: the raw capset(2) interface, version 3 (two words). */
static int service_keep_bind_cap(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];
	unsigned bit = CAP_NET_BIND_SERVICE;

	memset(data, 0, sizeof(data));
	data[bit / 32].effective = data[bit / 32].permitted = 1u << (bit % 32);
	return (int)syscall(SYS_capset, &hdr, data);
}

int service_drop_privileges(const char *user, char *err, size_t errlen)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int rc;

	rc = getpwnam_r(user, &pw, buf, sizeof(buf), &res);
	if (rc != 0 || res == NULL) {
		snprintf(err, errlen, "user %s: %s", user, rc ? strerror(rc) : "no such user");
		return -1;
	}
	if (getuid() == pw.pw_uid && geteuid() == pw.pw_uid)
		return 0; /* already that user (e.g. started by it) */
	/* Nothing but the bind capability can ever come back, not even
	 * through an executable with file capabilities. */
	for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (cap != CAP_NET_BIND_SERVICE)
			(void)prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
	/* Keep the permitted set across setuid so the bind capability can
	 * be kept; everything else is dropped by service_keep_bind_cap(). */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setgroups(0, NULL) < 0 ||
	    setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid) < 0 ||
	    setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid) < 0) {
		snprintf(err, errlen, "becoming %s: %s", user, strerror(errno));
		return -1;
	}
	if (service_keep_bind_cap() < 0)
		log_warn("keeping CAP_NET_BIND_SERVICE after dropping to %s", user);
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	/* Setuid-root can never come back. */
	if (setuid(0) == 0) {
		snprintf(err, errlen, "privileges could be regained after dropping to %s", user);
		return -1;
	}
	return 0;
}
