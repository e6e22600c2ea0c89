/* stats — the gateway's counters, summed over the workers, as one log line
 * (SIGUSR1) or a Prometheus text file (stats-file) written atomically for
 * node-exporter's textfile collector. */
#ifndef SOCKS64_STATS_H
#define SOCKS64_STATS_H

#include "worker.h"

void stats_sum(const struct gw *gw, struct worker_stats *out);
void stats_log(const struct gw *gw);
/* Write path.tmp then rename(2) over path.  Returns 0 or -1 (errno). */
int stats_write_file(const struct gw *gw, const char *path);

#endif
