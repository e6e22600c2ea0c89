/* stats — counters for people and for Prometheus; see stats.h. */
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

void stats_sum(const struct gw *gw, struct worker_stats *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < gw->nworkers; i++) {
		struct worker *w = &gw->workers[i];

		t->accepted += STAT_GET(w, accepted);
		t->refused += STAT_GET(w, refused);
		t->ok += STAT_GET(w, ok);
		t->failed += STAT_GET(w, failed);
		t->bytes_up += STAT_GET(w, bytes_up);
		t->bytes_down += STAT_GET(w, bytes_down);
	}
}

void stats_log(const struct gw *gw)
{
	struct worker_stats t;

	stats_sum(gw, &t);
	log_notice("stats: active=%lu accepted=%llu refused=%llu relayed=%llu up=%llu "
		   "down=%llu log_dropped=%lu",
		   __atomic_load_n(&gw->active, __ATOMIC_RELAXED), (unsigned long long)t.accepted,
		   (unsigned long long)t.refused, (unsigned long long)t.ok,
		   (unsigned long long)t.bytes_up, (unsigned long long)t.bytes_down, log_dropped());
}

int stats_write_file(const struct gw *gw, const char *path)
{
	struct worker_stats t;
	char tmp[4096];
	FILE *f;
	int fd, saved;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	stats_sum(gw, &t);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	if (f == NULL) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	/* Prometheus text format 0.0.4: counters end in _total, base units. */
	fprintf(f,
		"# HELP socks64_build_info socks64d version.\n"
		"# TYPE socks64_build_info gauge\n"
		"socks64_build_info{version=\"%s\"} 1\n"
		"# HELP socks64_sessions_active Sessions open now.\n"
		"# TYPE socks64_sessions_active gauge\n"
		"socks64_sessions_active %lu\n"
		"# HELP socks64_sessions_total Sessions by outcome.\n"
		"# TYPE socks64_sessions_total counter\n"
		"socks64_sessions_total{result=\"accepted\"} %llu\n"
		"socks64_sessions_total{result=\"refused_at_accept\"} %llu\n"
		"socks64_sessions_total{result=\"relayed\"} %llu\n"
		"# HELP socks64_bytes_total Bytes relayed, by direction.\n"
		"# TYPE socks64_bytes_total counter\n"
		"socks64_bytes_total{direction=\"up\"} %llu\n"
		"socks64_bytes_total{direction=\"down\"} %llu\n"
		"# HELP socks64_log_dropped_total Log lines dropped because the writer lagged.\n"
		"# TYPE socks64_log_dropped_total counter\n"
		"socks64_log_dropped_total %lu\n",
		SOCKS64_VERSION, __atomic_load_n(&gw->active, __ATOMIC_RELAXED),
		(unsigned long long)t.accepted, (unsigned long long)t.refused,
		(unsigned long long)t.ok, (unsigned long long)t.bytes_up,
		(unsigned long long)t.bytes_down, log_dropped());
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
}
