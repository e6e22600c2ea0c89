/* synth — the per-user shared synthetic map (see synth.h). */
#include "synth.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SYNTH_FILE_MAGIC 0x53363446u /* "S64F" */
#define SYNTH_FILE_VERSION 1
#define SYNTH_TABLE_OFF 256 /* the table starts here, after the file header */
#define SYNTH_LOCK_TIMEOUT 3 /* seconds; the lock is held for microseconds */
#define SYNTH_OPEN_TRIES 4
#define SYNTH_FILE_MAX (512u << 20)

/* Written once at creation, before the file is linked into place; only the
 * mutex changes afterwards. */
struct synth_file_hdr {
	uint32_t magic;
	uint32_t version;
	uint64_t size; /* of the whole file */
	uint32_t table_off;
	uint32_t pad;
	pthread_mutex_t lock; /* process-shared, robust */
};

_Static_assert(sizeof(struct synth_file_hdr) <= SYNTH_TABLE_OFF, "file header too large");

struct synth {
	struct synth_table_config cfg;
	synth_warn_fn warn;
	/* Serialises this process's threads, and the switch to private. */
	pthread_mutex_t plock;
	bool shared;
	struct synth_file_hdr *file; /* shared mapping, or NULL */
	size_t maplen; /* of that mapping */
	size_t filelen; /* of a map file made for cfg */
	void *table; /* inside the mapping, or the private block */
	size_t tablelen;
	char path[PATH_MAX];
};

static void synth_warnf(const struct synth *s, const char *fmt, ...)
{
	char msg[PATH_MAX + 200];
	va_list ap;

	if (!s->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->warn(msg);
}

static uint64_t synth_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

static uint32_t synth_seed(void)
{
	uint32_t seed;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
		return seed;
	return (uint32_t)synth_now() ^ ((uint32_t)getpid() << 16);
}

/* A directory usable for the map: a real directory (not a symlink) owned by
 * us that nobody else can write into. */
static int synth_dir_ok(const char *dir)
{
	struct stat st;

	if (dir[0] != '/' || lstat(dir, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 022) != 0) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

int synth_runtime_dir(char *out, size_t outlen)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char buf[PATH_MAX];

	if (xdg && *xdg && synth_dir_ok(xdg) == 0)
		return snprintf(out, outlen, "%s", xdg) < (int)outlen ? 0 : -1;
	snprintf(buf, sizeof(buf), "/run/user/%u", (unsigned)getuid());
	if (synth_dir_ok(buf) == 0)
		return snprintf(out, outlen, "%s", buf) < (int)outlen ? 0 : -1;
	snprintf(buf, sizeof(buf), "/tmp/socks64-%u", (unsigned)getuid());
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -1;
	/* Someone else may have made it first (mode or owner wrong): refuse. */
	if (synth_dir_ok(buf) < 0) {
		errno = EPERM;
		return -1;
	}
	{
		struct stat st;

		if (lstat(buf, &st) < 0 || (st.st_mode & 077) != 0) {
			errno = EPERM;
			return -1;
		}
	}
	return snprintf(out, outlen, "%s", buf) < (int)outlen ? 0 : -1;
}

static int synth_mutex_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t attr;
	int rc = -1;

	if (pthread_mutexattr_init(&attr) != 0)
		return -1;
	if (pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) != 0 ||
	    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST) != 0)
		goto out;
	if (pthread_mutex_init(m, &attr) != 0)
		goto out;
	rc = 0;
out:
	pthread_mutexattr_destroy(&attr);
	return rc;
}

/* Build a complete new map under a temporary name and put it in place:
 * link() when there was none (EEXIST: someone else won, use theirs),
 * rename() when replacing a broken one.  Returns 0, 1 (lost the race) or -1. */
static int synth_create(struct synth *s, const char *dir, bool replace, char *why, size_t whylen)
{
	char tmp[PATH_MAX];
	struct synth_file_hdr *h = MAP_FAILED;
	int fd = -1, rc = -1;

	if (snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, SYNTH_FILE_NAME) >= (int)sizeof(tmp)) {
		snprintf(why, whylen, "path too long");
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, whylen, "create in %s: %s", dir, strerror(errno));
		return -1;
	}
	if (fchmod(fd, 0600) < 0 || ftruncate(fd, (off_t)s->filelen) < 0) {
		snprintf(why, whylen, "size %s: %s", tmp, strerror(errno));
		goto out;
	}
	h = mmap(NULL, s->filelen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED) {
		snprintf(why, whylen, "mmap: %s", strerror(errno));
		goto out;
	}
	h->magic = SYNTH_FILE_MAGIC;
	h->version = SYNTH_FILE_VERSION;
	h->size = s->filelen;
	h->table_off = SYNTH_TABLE_OFF;
	if (synth_mutex_init(&h->lock) < 0 ||
	    synth_table_init((char *)h + SYNTH_TABLE_OFF, s->tablelen, &s->cfg, synth_seed()) < 0) {
		snprintf(why, whylen, "initialise the map");
		goto out;
	}
	if (replace) {
		if (rename(tmp, s->path) < 0) {
			snprintf(why, whylen, "rename to %s: %s", s->path, strerror(errno));
			goto out;
		}
		tmp[0] = '\0';
		rc = 0;
	} else if (link(tmp, s->path) == 0) {
		rc = 0;
	} else if (errno == EEXIST) {
		rc = 1;
	} else {
		snprintf(why, whylen, "link %s: %s", s->path, strerror(errno));
	}
out:
	if (h != MAP_FAILED)
		munmap(h, s->filelen);
	if (tmp[0])
		unlink(tmp);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Lock the shared mutex; a dead owner may have left the table half
 * changed, so check it and reset it if need be before marking the mutex
 * consistent.  -1 when the lock is unusable (timeout, not recoverable). */
static int synth_lock_shared(struct synth *s)
{
	struct timespec ts;
	char why[200];
	int rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += SYNTH_LOCK_TIMEOUT;
	rc = pthread_mutex_timedlock(&s->file->lock, &ts);
	if (rc == 0)
		return 0;
	if (rc == EOWNERDEAD) {
		/* A file of another size is not ours to reset; the caller
		 * finds that out by itself. */
		if (s->maplen == s->filelen &&
		    synth_table_check(s->table, s->tablelen, NULL, why, sizeof(why)) < 0) {
			synth_warnf(s, "socks64: map %s left damaged by a dead process (%s): reset",
				    s->path, why);
			synth_table_init(s->table, s->tablelen, &s->cfg, synth_seed());
		}
		pthread_mutex_consistent(&s->file->lock);
		return 0;
	}
	errno = rc;
	return -1;
}

static void synth_unlock_shared(struct synth *s)
{
	pthread_mutex_unlock(&s->file->lock);
}

/* Open the file at s->path and check its header.  Returns the mapping
 * (length in *len), or NULL with *bad set when the file should be replaced
 * (and why filled), or NULL with *bad false on a hard error. */
static struct synth_file_hdr *synth_map_file(struct synth *s, size_t *len, bool *bad, char *why,
					     size_t whylen)
{
	struct synth_file_hdr *h;
	struct stat st;
	int fd;

	*bad = false;
	fd = open(s->path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;

		snprintf(why, whylen, "open %s: %s", s->path, strerror(err));
		errno = err;
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != getuid()) {
		snprintf(why, whylen, "%s is not a regular file of ours", s->path);
		close(fd);
		return NULL;
	}
	if ((st.st_mode & 077) != 0)
		fchmod(fd, 0600);
	if (st.st_size < SYNTH_TABLE_OFF || (uint64_t)st.st_size > SYNTH_FILE_MAX) {
		snprintf(why, whylen, "size %lld", (long long)st.st_size);
		*bad = true;
		close(fd);
		return NULL;
	}
	*len = (size_t)st.st_size;
	h = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (h == MAP_FAILED) {
		snprintf(why, whylen, "mmap %s: %s", s->path, strerror(errno));
		return NULL;
	}
	if (h->magic != SYNTH_FILE_MAGIC || h->version != SYNTH_FILE_VERSION || h->size != *len ||
	    h->table_off != SYNTH_TABLE_OFF) {
		snprintf(why, whylen, "bad header");
		*bad = true;
		munmap(h, *len);
		return NULL;
	}
	return h;
}

/* Returns 0 (s is using the shared file) or -1 (why says why not). */
static int synth_open_shared(struct synth *s, const char *dir, char *why, size_t whylen)
{
	char rdir[PATH_MAX], twhy[200];
	struct synth_file_hdr *h;
	size_t len = 0;
	bool bad, warned = false;

	if (!dir) {
		if (synth_runtime_dir(rdir, sizeof(rdir)) < 0) {
			snprintf(why, whylen, "no private runtime directory: %s", strerror(errno));
			return -1;
		}
		dir = rdir;
	} else if (synth_dir_ok(dir) < 0) {
		snprintf(why, whylen, "directory %s is not private to this user", dir);
		return -1;
	}
	if (snprintf(s->path, sizeof(s->path), "%s/%s", dir, SYNTH_FILE_NAME) >=
	    (int)sizeof(s->path)) {
		snprintf(why, whylen, "path too long");
		return -1;
	}
	for (int tries = 0; tries < SYNTH_OPEN_TRIES; tries++) {
		int rc;

		h = synth_map_file(s, &len, &bad, why, whylen);
		if (!h && !bad && errno == ENOENT) {
			rc = synth_create(s, dir, false, why, whylen);
			if (rc < 0)
				return -1;
			continue; /* ours or someone else's: open it like any other */
		}
		if (!h && !bad)
			return -1;
		if (h) {
			s->file = h;
			s->maplen = len;
			s->table = (char *)h + SYNTH_TABLE_OFF;
			if (synth_lock_shared(s) < 0) {
				snprintf(why, whylen, "lock %s: %s", s->path, strerror(errno));
				break;
			}
			rc = synth_table_check(s->table, len - SYNTH_TABLE_OFF, NULL, twhy,
					       sizeof(twhy));
			if (rc == 0 && synth_table_check(s->table, len - SYNTH_TABLE_OFF, &s->cfg,
							 NULL, 0) < 0) {
				synth_unlock_shared(s);
				snprintf(why, whylen, "%s was made for other pools or capacity",
					 s->path);
				break;
			}
			if (rc == 0) {
				synth_unlock_shared(s);
				return 0;
			}
			if (len == s->filelen) {
				/* Header sound, table not: reset it in place so every
				 * process keeps sharing this file. */
				synth_warnf(s, "socks64: map %s is corrupt (%s): reset", s->path,
					    twhy);
				synth_table_init(s->table, s->tablelen, &s->cfg, synth_seed());
				synth_unlock_shared(s);
				return 0;
			}
			synth_unlock_shared(s);
			snprintf(why, whylen, "%s", twhy);
			munmap(h, len);
			s->file = NULL;
			s->table = NULL;
		}
		/* Truncated, foreign or broken header: replace the file. */
		if (!warned)
			synth_warnf(s, "socks64: map %s is invalid (%s): reset", s->path, why);
		warned = true;
		if (synth_create(s, dir, true, why, whylen) < 0)
			return -1;
	}
	if (s->file)
		munmap(s->file, s->maplen);
	s->file = NULL;
	s->table = NULL;
	if (why[0] == '\0')
		snprintf(why, whylen, "%s keeps failing validation", s->path);
	return -1;
}

/* Switch to a table in this process's memory.  If a shared table is still
 * mapped and sound, start from a copy so names keep their addresses. */
static int synth_go_private(struct synth *s, const char *why)
{
	void *mem;

	if (posix_memalign(&mem, 64, s->tablelen) != 0)
		return -1;
	if (s->table && s->maplen == s->filelen &&
	    synth_table_check(s->table, s->tablelen, &s->cfg, NULL, 0) == 0)
		memcpy(mem, s->table, s->tablelen);
	else
		synth_table_init(mem, s->tablelen, &s->cfg, synth_seed());
	synth_warnf(s, "socks64: shared map unusable (%s): using a private map", why);
	/* A mapping other threads might still be reading is left in place. */
	s->table = mem;
	s->file = NULL;
	s->shared = false;
	s->path[0] = '\0';
	return 0;
}

struct synth *synth_open(const struct synth_table_config *c, const char *dir, synth_warn_fn warn)
{
	struct synth *s;
	char why[PATH_MAX + 100] = "";

	if (synth_table_config_check(c, NULL, 0) < 0) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cfg = *c;
	s->warn = warn;
	s->tablelen = synth_table_size(c);
	s->filelen = SYNTH_TABLE_OFF + s->tablelen;
	pthread_mutex_init(&s->plock, NULL);
	if (synth_open_shared(s, dir, why, sizeof(why)) == 0) {
		s->shared = true;
		return s;
	}
	if (synth_go_private(s, why) < 0) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

void synth_close(struct synth *s)
{
	if (!s)
		return;
	if (s->shared)
		munmap(s->file, s->maplen);
	else
		free(s->table);
	pthread_mutex_destroy(&s->plock);
	free(s);
}

bool synth_is_shared(const struct synth *s)
{
	return s->shared;
}

const char *synth_path(const struct synth *s)
{
	return s->path;
}

/* Take both locks; a shared lock that has become unusable turns this handle
 * private for good.  -1 (errno EAGAIN) only when even that fails. */
static int synth_lock(struct synth *s)
{
	pthread_mutex_lock(&s->plock);
	if (s->shared && synth_lock_shared(s) < 0) {
		char why[PATH_MAX + 64];

		snprintf(why, sizeof(why), "lock %s: %s", s->path, strerror(errno));
		if (synth_go_private(s, why) < 0) {
			pthread_mutex_unlock(&s->plock);
			errno = EAGAIN;
			return -1;
		}
	}
	return 0;
}

static void synth_unlock(struct synth *s)
{
	if (s->shared)
		synth_unlock_shared(s);
	pthread_mutex_unlock(&s->plock);
}

int synth_assign(struct synth *s, const char *name, size_t len, struct synth_entry_info *out)
{
	int rc, err;

	if (synth_lock(s) < 0)
		return -1;
	rc = synth_table_assign(s->table, name, len, synth_now(), out);
	err = errno;
	synth_unlock(s);
	errno = err;
	return rc;
}

int synth_lookup_name(struct synth *s, const char *name, size_t len, struct synth_entry_info *out)
{
	int rc, err;

	if (synth_lock(s) < 0)
		return -1;
	rc = synth_table_lookup_name(s->table, name, len, synth_now(), out);
	err = errno;
	synth_unlock(s);
	errno = err;
	return rc;
}

int synth_lookup_v4(struct synth *s, const struct in_addr *a, struct synth_entry_info *out)
{
	int rc, err;

	if (synth_lock(s) < 0)
		return -1;
	rc = synth_table_lookup_v4(s->table, a, synth_now(), out);
	err = errno;
	synth_unlock(s);
	errno = err;
	return rc;
}

int synth_lookup_v6(struct synth *s, const struct in6_addr *a, struct synth_entry_info *out)
{
	int rc, err;

	if (synth_lock(s) < 0)
		return -1;
	rc = synth_table_lookup_v6(s->table, a, synth_now(), out);
	err = errno;
	synth_unlock(s);
	errno = err;
	return rc;
}

int synth_foreach(struct synth *s, int (*fn)(const struct synth_entry_info *e, void *arg),
		  void *arg)
{
	int rc;

	if (synth_lock(s) < 0)
		return -1;
	rc = synth_table_foreach(s->table, fn, arg);
	synth_unlock(s);
	return rc;
}

bool synth_in_pool_v4(const struct synth *s, const struct in_addr *a)
{
	return synth_table_config_in_pool_v4(&s->cfg, a);
}

bool synth_in_pool_v6(const struct synth *s, const struct in6_addr *a)
{
	return synth_table_config_in_pool_v6(&s->cfg, a);
}

void synth_fork_prepare(struct synth *s)
{
	pthread_mutex_lock(&s->plock);
}

void synth_fork_release(struct synth *s)
{
	pthread_mutex_unlock(&s->plock);
}
