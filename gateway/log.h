/* log — logging that never blocks the event loops.
 *
 * Callers format into a bounded in-memory queue; one writer thread moves the
 * lines to stderr or syslog(3) (LOG_DAEMON).  If the writer falls behind, new
 * lines are dropped and counted rather than stalling traffic.  Debug
 * formatting costs nothing when debug is off. */
#ifndef SOCKS64_LOG_H
#define SOCKS64_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LVL_ERR = 0,
	LOG_LVL_WARN,
	LOG_LVL_NOTICE,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

extern int log_level_cur;

/* Start the writer thread. use_syslog: syslog(3) with this ident, else stderr. */
int log_init(const char *ident, bool use_syslog, int level);
/* Flush what is queued and stop the writer thread. */
void log_fini(void);
void log_set_level(int level);
/* "err", "warning", "notice", "info", "debug" -> level, or -1. */
int log_level_parse(const char *s);
unsigned long log_dropped(void);

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* log_warn appends ": strerror(errno)" (errno preserved); log_warnx does not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_enabled(lvl) ((lvl) <= log_level_cur)
#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_info(...)                                       \
	do {                                                \
		if (log_enabled(LOG_LVL_INFO))              \
			log_msg(LOG_LVL_INFO, __VA_ARGS__); \
	} while (0)
#define log_debug(...)                                       \
	do {                                                 \
		if (log_enabled(LOG_LVL_DEBUG))              \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
