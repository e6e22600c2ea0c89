/* shim — initialisation, the real symbols, logging and the map dump of
 * `socks64 --map` (see shim.h). */
#include "shim.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct shim_syms shim_real;
static pthread_once_t shim_syms_once = PTHREAD_ONCE_INIT;
static pthread_once_t shim_conf_once = PTHREAD_ONCE_INIT;
static pthread_once_t shim_synth_once = PTHREAD_ONCE_INIT;
static struct shim_conf shim_config;
static bool shim_enabled;
static struct synth *shim_map;
static int shim_verbosity = SHIM_LOG_WARN;

/* A missing symbol is fatal for the hook that needs it only; the libc we
 * run on provides all of these. */
static void *shim_sym(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (!p)
		shim_log(SHIM_LOG_WARN, "libc has no %s", name);
	return p;
}

static void shim_syms_load(void)
{
	const char *v = getenv("SOCKS64_VERBOSE");

	if (v && *v >= '0' && *v <= '9')
		shim_verbosity = *v - '0';
	shim_real.connect = shim_sym("connect");
	shim_real.getpeername = shim_sym("getpeername");
	shim_real.getaddrinfo = shim_sym("getaddrinfo");
	shim_real.freeaddrinfo = shim_sym("freeaddrinfo");
	shim_real.gethostbyname = shim_sym("gethostbyname");
	shim_real.gethostbyname2 = shim_sym("gethostbyname2");
	shim_real.gethostbyname_r = shim_sym("gethostbyname_r");
	shim_real.gethostbyname2_r = shim_sym("gethostbyname2_r");
	shim_real.gethostbyaddr = shim_sym("gethostbyaddr");
	shim_real.gethostbyaddr_r = shim_sym("gethostbyaddr_r");
	shim_real.getnameinfo = shim_sym("getnameinfo");
	/* BEGIN nonblocking-connect */
	shim_real.close = shim_sym("close");
	shim_real.dup2 = shim_sym("dup2");
	shim_real.dup3 = shim_sym("dup3");
	shim_real.close_range = shim_sym("close_range");
	shim_real.getsockopt = shim_sym("getsockopt");
	shim_real.poll = shim_sym("poll");
	shim_real.ppoll = shim_sym("ppoll");
	shim_real.select = shim_sym("select");
	shim_real.pselect = shim_sym("pselect");
	shim_real.epoll_ctl = shim_sym("epoll_ctl");
	/* END nonblocking-connect */
}

const struct shim_syms *shim_syms(void)
{
	pthread_once(&shim_syms_once, shim_syms_load);
	return &shim_real;
}

bool shim_log_enabled(enum shim_level level)
{
	return shim_verbosity >= (int)level;
}

/* One write() per line, straight to stderr: no stdio state of the program
 * is touched. */
void shim_log(enum shim_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n, m;

	if (!shim_log_enabled(level))
		return;
	n = snprintf(line, sizeof(line), "socks64[%d]: ", (int)getpid());
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

static void shim_conf_init(void)
{
	char err[600];
	int saved = errno;

	shim_syms();
	if (shim_conf_load(&shim_config, err, sizeof(err)) < 0) {
		/* Half a configuration would send names to the wrong place:
		 * stay out of the way entirely. */
		shim_log(SHIM_LOG_WARN, "%s; shim disabled", err);
		shim_enabled = false;
	} else {
		shim_enabled = true;
	}
	errno = saved;
}

const struct shim_conf *shim_conf(void)
{
	pthread_once(&shim_conf_once, shim_conf_init);
	return shim_enabled ? &shim_config : NULL;
}

static void shim_synth_warn(const char *msg)
{
	shim_log(SHIM_LOG_WARN, "%s", msg);
}

static void shim_fork_prepare(void)
{
	synth_fork_prepare(shim_map);
}

static void shim_fork_release(void)
{
	synth_fork_release(shim_map);
}

static void shim_synth_init(void)
{
	int saved = errno;

	if (!shim_conf())
		return;
	shim_map = synth_open(&shim_config.synth, NULL, shim_synth_warn);
	if (!shim_map)
		shim_log(SHIM_LOG_WARN, "cannot allocate the synthetic map: %s", strerror(errno));
	else
		pthread_atfork(shim_fork_prepare, shim_fork_release, shim_fork_release);
	errno = saved;
}

struct synth *shim_synth(void)
{
	pthread_once(&shim_synth_once, shim_synth_init);
	return shim_map;
}

static int shim_dump_entry(const struct synth_entry_info *e, void *arg)
{
	char v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN], when[32];
	time_t t = (time_t)e->last_use;
	struct tm tm;

	(void)arg;
	inet_ntop(AF_INET, &e->v4, v4, sizeof(v4));
	inet_ntop(AF_INET6, &e->v6, v6, sizeof(v6));
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", localtime_r(&t, &tm));
	printf("%-40s %-15s %-39s %s\n", e->name, v4, v6, when);
	return 0;
}

/* `socks64 --map` runs any program with SOCKS64_MAP_DUMP=1: print the map
 * and leave before the program starts. */
__attribute__((constructor)) static void shim_map_dump(void)
{
	struct synth *s;

	if (!getenv("SOCKS64_MAP_DUMP"))
		return;
	if (!shim_conf())
		_exit(1);
	s = synth_open(&shim_config.synth, NULL, shim_synth_warn);
	if (!s || !synth_is_shared(s)) {
		fprintf(stderr, "socks64: no shared map\n");
		_exit(1);
	}
	printf("# %s\n%-40s %-15s %-39s %s\n", synth_path(s), "NAME", "IPV4", "IPV6", "LAST-USE");
	synth_foreach(s, shim_dump_entry, NULL);
	fflush(stdout);
	_exit(0);
}

/* BEGIN udp-bind */
static struct shim_ub_syms shim_ub_real;
static pthread_once_t shim_ub_once = PTHREAD_ONCE_INIT;

/* No logging here: write() is one of these hooks, and a log line from
 * inside this pthread_once would come back to it. */
static void shim_ub_syms_load(void)
{
	shim_ub_real.sendto = dlsym(RTLD_NEXT, "sendto");
	shim_ub_real.sendmsg = dlsym(RTLD_NEXT, "sendmsg");
	shim_ub_real.send = dlsym(RTLD_NEXT, "send");
	shim_ub_real.write = dlsym(RTLD_NEXT, "write");
	shim_ub_real.recvfrom = dlsym(RTLD_NEXT, "recvfrom");
	shim_ub_real.recvmsg = dlsym(RTLD_NEXT, "recvmsg");
	shim_ub_real.recv = dlsym(RTLD_NEXT, "recv");
	shim_ub_real.read = dlsym(RTLD_NEXT, "read");
	shim_ub_real.bind = dlsym(RTLD_NEXT, "bind");
	shim_ub_real.listen = dlsym(RTLD_NEXT, "listen");
	shim_ub_real.accept = dlsym(RTLD_NEXT, "accept");
	shim_ub_real.accept4 = dlsym(RTLD_NEXT, "accept4");
	shim_ub_real.getsockname = dlsym(RTLD_NEXT, "getsockname");
}

const struct shim_ub_syms *shim_ub_syms(void)
{
	pthread_once(&shim_ub_once, shim_ub_syms_load);
	return &shim_ub_real;
}
/* END udp-bind */
