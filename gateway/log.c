/* log — a bounded queue of formatted lines and one writer thread.
 *
 * The event loops only format and enqueue under a short mutex; the writer
 * thread does the blocking part (stderr, syslog).  When the queue is full
 * the line is dropped and counted: a stalled syslog must never stall
 * traffic.  Before log_init() (and after log_fini()) lines go straight to
 * stderr, which is what start-up errors want. */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#define LOG_LINE_MAX 512
#define LOG_QUEUE_LEN 1024

int log_level_cur = LOG_LVL_INFO;

struct log_line {
	int level;
	unsigned short len;
	char text[LOG_LINE_MAX];
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool running;
	bool stopping;
	bool use_syslog;
	unsigned head, count;
	unsigned long dropped;
	struct log_line q[LOG_QUEUE_LEN];
} log_q = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static const char *const log_names[] = {"err", "warning", "notice", "info", "debug"};
static const int log_syslog_prio[] = {LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG};

static void log_emit(const struct log_line *l)
{
	if (log_q.use_syslog) {
		syslog(log_syslog_prio[l->level], "%s", l->text);
	} else {
		struct timespec ts;
		struct tm tm;
		char stamp[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld %s: %s\n", stamp, ts.tv_nsec / 1000000L,
			log_names[l->level], l->text);
	}
}

static void *log_writer(void *arg)
{
	struct log_line line;

	(void)arg;
	pthread_mutex_lock(&log_q.mu);
	for (;;) {
		while (log_q.count == 0 && !log_q.stopping)
			pthread_cond_wait(&log_q.cv, &log_q.mu);
		if (log_q.count == 0)
			break;
		line = log_q.q[log_q.head];
		log_q.head = (log_q.head + 1) % LOG_QUEUE_LEN;
		log_q.count--;
		pthread_mutex_unlock(&log_q.mu);
		log_emit(&line);
		pthread_mutex_lock(&log_q.mu);
	}
	pthread_mutex_unlock(&log_q.mu);
	if (!log_q.use_syslog)
		fflush(stderr);
	return NULL;
}

int log_init(const char *ident, bool use_syslog, int level)
{
	log_q.use_syslog = use_syslog;
	log_set_level(level);
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_q.stopping = false;
	if (pthread_create(&log_q.thread, NULL, log_writer, NULL) != 0)
		return -1;
	log_q.running = true;
	return 0;
}

void log_fini(void)
{
	if (!log_q.running)
		return;
	pthread_mutex_lock(&log_q.mu);
	log_q.stopping = true;
	pthread_cond_signal(&log_q.cv);
	pthread_mutex_unlock(&log_q.mu);
	pthread_join(log_q.thread, NULL);
	log_q.running = false;
	if (log_q.use_syslog)
		closelog();
}

void log_set_level(int level)
{
	if (level < LOG_LVL_ERR)
		level = LOG_LVL_ERR;
	if (level > LOG_LVL_DEBUG)
		level = LOG_LVL_DEBUG;
	__atomic_store_n(&log_level_cur, level, __ATOMIC_RELAXED);
}

int log_level_parse(const char *s)
{
	for (int i = 0; i <= LOG_LVL_DEBUG; i++)
		if (strcmp(s, log_names[i]) == 0)
			return i;
	return -1;
}

unsigned long log_dropped(void)
{
	unsigned long n;

	pthread_mutex_lock(&log_q.mu);
	n = log_q.dropped;
	pthread_mutex_unlock(&log_q.mu);
	return n;
}

static void log_vput(int level, const char *suffix, const char *fmt, va_list ap)
{
	struct log_line line;
	int n;

	if (level > log_level_cur)
		return;
	line.level = level;
	n = vsnprintf(line.text, sizeof(line.text), fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line.text))
		n = sizeof(line.text) - 1;
	if (suffix != NULL)
		n += snprintf(line.text + n, sizeof(line.text) - (size_t)n, ": %s", suffix);
	if ((size_t)n >= sizeof(line.text))
		n = sizeof(line.text) - 1;
	line.len = (unsigned short)n;

	pthread_mutex_lock(&log_q.mu);
	if (!log_q.running) {
		pthread_mutex_unlock(&log_q.mu);
		log_emit(&line);
		return;
	}
	if (log_q.count == LOG_QUEUE_LEN) {
		log_q.dropped++;
	} else {
		log_q.q[(log_q.head + log_q.count) % LOG_QUEUE_LEN] = line;
		log_q.count++;
		pthread_cond_signal(&log_q.cv);
	}
	pthread_mutex_unlock(&log_q.mu);
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_vput(level, NULL, fmt, ap);
	va_end(ap);
	errno = saved;
}

void log_warn(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;
	char ebuf[128];
	const char *e = strerror_r(saved, ebuf, sizeof(ebuf));

	va_start(ap, fmt);
	log_vput(LOG_LVL_WARN, e, fmt, ap);
	va_end(ap);
	errno = saved;
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_vput(LOG_LVL_WARN, NULL, fmt, ap);
	va_end(ap);
	errno = saved;
}
