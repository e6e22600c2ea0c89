/* fdtab — per-socket records of the shim (see fdtab.h). */
#include "fdtab.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FDTAB_MAX_FD (1 << 20)

struct fdtab_entry {
	ino_t ino; /* 0: empty */
	dev_t dev;
	socklen_t len;
	struct sockaddr_storage peer;
};

static pthread_mutex_t fdtab_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fdtab_entry *fdtab;
static size_t fdtab_cap;

int fdtab_set(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct stat st;
	int rc = -1;

	if (fd < 0 || fd >= FDTAB_MAX_FD || len > sizeof(struct sockaddr_storage) ||
	    fstat(fd, &st) < 0)
		return -1;
	pthread_mutex_lock(&fdtab_lock);
	if ((size_t)fd >= fdtab_cap) {
		size_t cap = fdtab_cap ? fdtab_cap : 64;
		struct fdtab_entry *t;

		while (cap <= (size_t)fd)
			cap *= 2;
		t = realloc(fdtab, cap * sizeof(*t));
		if (!t)
			goto out;
		memset(t + fdtab_cap, 0, (cap - fdtab_cap) * sizeof(*t));
		fdtab = t;
		fdtab_cap = cap;
	}
	fdtab[fd].ino = st.st_ino;
	fdtab[fd].dev = st.st_dev;
	fdtab[fd].len = len;
	memcpy(&fdtab[fd].peer, sa, len);
	rc = 0;
out:
	pthread_mutex_unlock(&fdtab_lock);
	return rc;
}

int fdtab_peer(int fd, struct sockaddr *sa, socklen_t *len)
{
	struct stat st;
	int rc = -1;

	if (fd < 0 || !len || fstat(fd, &st) < 0)
		return -1;
	pthread_mutex_lock(&fdtab_lock);
	if ((size_t)fd < fdtab_cap && fdtab[fd].ino != 0 && fdtab[fd].ino == st.st_ino &&
	    fdtab[fd].dev == st.st_dev) {
		memcpy(sa, &fdtab[fd].peer, *len < fdtab[fd].len ? *len : fdtab[fd].len);
		*len = fdtab[fd].len;
		rc = 0;
	}
	pthread_mutex_unlock(&fdtab_lock);
	return rc;
}
