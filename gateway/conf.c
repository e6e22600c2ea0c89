/* conf — the gateway configuration.  A file is split into lines and words
 * by a small lexer; one keyword table maps each key to its setter, the
 * bounds of its value and whether it may repeat.  Setters use the shared
 * validators (conf_parse_*), which the UCI bridge and the tests call too.
 * The result is one immutable, reference-counted snapshot. */
#include "conf.h"

#include "auth_pass.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gss.h"
#include "log.h"
#include "socks5.h"

#define CONF_FILE_MAX (1024 * 1024)
#define CONF_WORDS_MAX 32
#define CONF_REASON_MAX 256
#define CONF_DEFAULT_NAME "(embedded default)"
#define CONF_DNS_PORT 53

#define CONF_SECOND 1000u
#define CONF_MINUTE (60u * CONF_SECOND)
#define CONF_HOUR (60u * CONF_MINUTE)

struct conf_keyword;

/* words[0] is the key; words[1..nwords-1] its values, already counted
 * against min_args/max_args.  On error the setter writes only the reason;
 * the caller adds "file:line: key: ". */
typedef int (*conf_setter)(struct conf *c, const struct conf_keyword *kw, char **words,
			   size_t nwords, unsigned line, char *err, size_t errlen);

struct conf_keyword {
	const char *name;
	conf_setter set;
	size_t off; /* field of struct conf for the generic setters */
	unsigned min, max; /* bounds: a number, or a duration in ms */
	unsigned min_args, max_args; /* values after the key; max 0 = unbounded */
	bool repeatable;
};

/* Methods the gateway can offer (RFC 1928 §3).  `available` turns true
 * when the method's module is part of the build. */
static const struct conf_method {
	const char *name;
	uint8_t code;
	bool available;
} conf_methods[] = {
	{"none", SOCKS5_METHOD_NONE, true},
	{"username", SOCKS5_METHOD_USERNAME, true},
	{"gssapi", SOCKS5_METHOD_GSSAPI, true},
};

/* gssapi-protection words, indexed by RFC 1961 §4.3 level ("none" is the
 * non-standard 0 that curl and Dante's "clear" ask for). */
static const char *const conf_gss_level_names[] = {
	[GSS_LEVEL_NONE] = "none",
	[GSS_LEVEL_INTEGRITY] = "integrity",
	[GSS_LEVEL_CONFIDENTIALITY] = "confidentiality",
};

static const char *const conf_prefer_names[] = {
	[CONF_PREFER_IPV6] = "ipv6",
	[CONF_PREFER_IPV4] = "ipv4",
	[CONF_PREFER_NONE] = "none",
};

static const char *const conf_log_level_names[] = {
	[LOG_LVL_ERR] = "err",   [LOG_LVL_WARN] = "warning", [LOG_LVL_NOTICE] = "notice",
	[LOG_LVL_INFO] = "info", [LOG_LVL_DEBUG] = "debug",
};

#define CONF_NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void conf_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void conf_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Index of s in names[], or -1. */
static int conf_lookup(const char *const *names, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (names[i] != NULL && strcmp(names[i], s) == 0)
			return (int)i;
	}
	return -1;
}

/* A run of decimal digits (no sign, no spaces) into *out; *end gets the
 * first byte after it.  -1 for no digits or a value above UINT_MAX. */
static int conf_digits(const char *s, const char **end, unsigned long long *out)
{
	unsigned long long v = 0;
	const char *p = s;

	for (; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > UINT_MAX)
			return -1;
	}
	if (p == s)
		return -1;
	*end = p;
	*out = v;
	return 0;
}

int conf_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out, char *err,
		    size_t errlen)
{
	unsigned long long v;
	const char *end;

	if (conf_digits(s, &end, &v) < 0 || *end != '\0' || v < min || v > max) {
		conf_err(err, errlen, "expected a number from %u to %u", min, max);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

int conf_parse_duration(const char *s, unsigned *ms, char *err, size_t errlen)
{
	static const struct {
		const char *suffix;
		unsigned ms;
	} units[] = {
		{"", CONF_SECOND},  {"ms", 1},        {"s", CONF_SECOND},
		{"m", CONF_MINUTE}, {"h", CONF_HOUR},
	};
	unsigned long long v;
	const char *end;
	size_t i;

	if (conf_digits(s, &end, &v) < 0) {
		if (isdigit((unsigned char)*s))
			goto too_large;
		goto bad;
	}
	for (i = 0; i < CONF_NELEM(units); i++) {
		if (strcmp(end, units[i].suffix) == 0)
			break;
	}
	if (i == CONF_NELEM(units))
		goto bad;
	v *= units[i].ms;
	if (v > UINT_MAX)
		goto too_large;
	*ms = (unsigned)v;
	return 0;

bad:
	conf_err(err, errlen, "bad duration '%s' (expected N, Nms, Ns, Nm or Nh)", s);
	return -1;
too_large:
	conf_err(err, errlen, "duration '%s' is too large", s);
	return -1;
}

int conf_parse_bool(const char *s, bool *out, char *err, size_t errlen)
{
	static const char *const yes[] = {"yes", "on", "true", "1"};
	static const char *const no[] = {"no", "off", "false", "0"};

	if (conf_lookup(yes, CONF_NELEM(yes), s) >= 0) {
		*out = true;
		return 0;
	}
	if (conf_lookup(no, CONF_NELEM(no), s) >= 0) {
		*out = false;
		return 0;
	}
	conf_err(err, errlen, "expected yes or no");
	return -1;
}

static int conf_parse_port(const char *s, uint16_t *port)
{
	unsigned long long v;
	const char *end;

	if (conf_digits(s, &end, &v) < 0 || *end != '\0' || v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* Interface names as the kernel accepts them, narrowed to what is safe in
 * a config file: [A-Za-z0-9._-], at most IF_NAMESIZE - 1 bytes. */
static bool conf_is_ifname(const char *s, size_t len)
{
	bool digits_and_dots = true;
	size_t i;

	if (len == 0 || len >= IF_NAMESIZE)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (!isalnum(ch) && ch != '.' && ch != '_' && ch != '-')
			return false;
		if (!isdigit(ch) && ch != '.')
			digits_and_dots = false;
	}
	/* "198.51.100" is a mistyped address, not an interface. */
	return !digits_and_dots;
}

/* Split "HOST:PORT" / "[V6]:PORT" / "HOST" (when port_optional) into a host
 * copied to buf and a port.  *bracketed tells whether brackets were used. */
static int conf_split_hostport(const char *s, char *buf, size_t buflen, uint16_t *port,
			       bool port_optional, bool *bracketed, char *err, size_t errlen)
{
	const char *host = s, *colon;
	size_t hlen;

	*bracketed = false;
	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL) {
			conf_err(err, errlen, "missing ']' in '%s'", s);
			return -1;
		}
		host = s + 1;
		hlen = (size_t)(close - host);
		*bracketed = true;
		colon = close[1] == '\0' ? NULL : close + 1;
		if (colon != NULL && *colon != ':') {
			conf_err(err, errlen, "expected ':PORT' after ']' in '%s'", s);
			return -1;
		}
	} else {
		colon = strrchr(s, ':');
		/* Two colons or more without brackets: a bare IPv6 address. */
		if (colon != NULL && memchr(s, ':', (size_t)(colon - s)) != NULL)
			colon = NULL;
		hlen = colon != NULL ? (size_t)(colon - s) : strlen(s);
	}
	if (colon == NULL) {
		if (!port_optional) {
			conf_err(err, errlen,
				 "expected ADDRESS:PORT, [IPV6]:PORT or IFNAME:PORT, got '%s'", s);
			return -1;
		}
		*port = 0;
	} else if (conf_parse_port(colon + 1, port) < 0) {
		conf_err(err, errlen, "bad port in '%s' (1..65535)", s);
		return -1;
	}
	if (hlen == 0 || hlen >= buflen) {
		conf_err(err, errlen, "bad address in '%s'", s);
		return -1;
	}
	memcpy(buf, host, hlen);
	buf[hlen] = '\0';
	return 0;
}

int conf_parse_listen(const char *s, struct conf_listen *l, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE];
	struct sockaddr_in *sin = (struct sockaddr_in *)&l->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&l->ss;
	bool bracketed;
	uint16_t port;

	memset(l, 0, sizeof(*l));
	/* "2001:db8::1:1080" is ambiguous: the port must be set off by brackets. */
	if (*s != '[' && strchr(s, ':') != strrchr(s, ':')) {
		conf_err(err, errlen, "IPv6 address needs brackets: [ADDRESS]:PORT, got '%s'", s);
		return -1;
	}
	if (conf_split_hostport(s, host, sizeof(host), &port, false, &bracketed, err, errlen) < 0)
		return -1;
	if (bracketed) {
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			goto bad;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		l->sslen = sizeof(*sin6);
	} else if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		l->sslen = sizeof(*sin);
	} else if (conf_is_ifname(host, strlen(host))) {
		memcpy(l->ifname, host, strlen(host) + 1);
	} else {
		goto bad;
	}
	l->port = port;
	return 0;

bad:
	memset(l, 0, sizeof(*l));
	conf_err(err, errlen, "bad address or interface name in '%s'", s);
	return -1;
}

int conf_parse_nameserver(const char *s, char **csv, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN];
	unsigned char addr[sizeof(struct in6_addr)];
	bool bracketed;
	uint16_t port;
	char *out = NULL;
	int af, rc;

	if (conf_split_hostport(s, host, sizeof(host), &port, true, &bracketed, err, errlen) < 0)
		return -1;
	af = strchr(host, ':') != NULL ? AF_INET6 : AF_INET;
	if ((bracketed && af != AF_INET6) || inet_pton(af, host, addr) != 1 ||
	    inet_ntop(af, addr, text, sizeof(text)) == NULL) {
		conf_err(err, errlen, "bad address in '%s'", s);
		return -1;
	}
	if (port == 0)
		port = CONF_DNS_PORT;
	/* The form ares_set_servers_ports_csv() takes: a.b.c.d:port,[v6]:port */
	rc = asprintf(&out, "%s%s%s%s%s:%u", *csv != NULL ? *csv : "", *csv != NULL ? "," : "",
		      af == AF_INET6 ? "[" : "", text, af == AF_INET6 ? "]" : "", port);
	if (rc < 0) {
		conf_err(err, errlen, "out of memory");
		return -1;
	}
	free(*csv);
	*csv = out;
	return 0;
}

/* "250ms", "10s", "5m", "1h": the largest unit that divides ms exactly. */
static const char *conf_format_ms(unsigned ms, char *buf, size_t len)
{
	if (ms != 0 && ms % CONF_HOUR == 0)
		snprintf(buf, len, "%uh", ms / CONF_HOUR);
	else if (ms != 0 && ms % CONF_MINUTE == 0)
		snprintf(buf, len, "%um", ms / CONF_MINUTE);
	else if (ms % CONF_SECOND == 0)
		snprintf(buf, len, "%us", ms / CONF_SECOND);
	else
		snprintf(buf, len, "%ums", ms);
	return buf;
}

/* A duration within [kw->min, kw->max] milliseconds. */
static int conf_get_duration(const struct conf_keyword *kw, const char *s, unsigned *ms, char *err,
			     size_t errlen)
{
	char lo[16], hi[16];

	if (conf_parse_duration(s, ms, err, errlen) < 0)
		return -1;
	if (*ms < kw->min || *ms > kw->max) {
		conf_err(err, errlen, "%s is out of range (%s..%s)", s,
			 conf_format_ms(kw->min, lo, sizeof(lo)),
			 conf_format_ms(kw->max, hi, sizeof(hi)));
		return -1;
	}
	return 0;
}

static int conf_set_duration_ms(struct conf *c, const struct conf_keyword *kw, char **words,
				size_t nwords, unsigned line, char *err, size_t errlen)
{
	(void)nwords;
	(void)line;
	return conf_get_duration(kw, words[1], (unsigned *)((char *)c + kw->off), err, errlen);
}

/* Same, stored in seconds (DNS TTLs are whole seconds, RFC 1035 §3.2.1). */
static int conf_set_duration_s(struct conf *c, const struct conf_keyword *kw, char **words,
			       size_t nwords, unsigned line, char *err, size_t errlen)
{
	unsigned ms;

	(void)nwords;
	(void)line;
	if (conf_get_duration(kw, words[1], &ms, err, errlen) < 0)
		return -1;
	if (ms % CONF_SECOND != 0) {
		conf_err(err, errlen, "%s is not a whole number of seconds", words[1]);
		return -1;
	}
	*(unsigned *)((char *)c + kw->off) = ms / CONF_SECOND;
	return 0;
}

static int conf_set_uint(struct conf *c, const struct conf_keyword *kw, char **words, size_t nwords,
			 unsigned line, char *err, size_t errlen)
{
	(void)nwords;
	(void)line;
	return conf_parse_uint(words[1], kw->min, kw->max, (unsigned *)((char *)c + kw->off), err,
			       errlen);
}

static int conf_set_bool(struct conf *c, const struct conf_keyword *kw, char **words, size_t nwords,
			 unsigned line, char *err, size_t errlen)
{
	(void)nwords;
	(void)line;
	return conf_parse_bool(words[1], (bool *)((char *)c + kw->off), err, errlen);
}

static int conf_set_workers(struct conf *c, const struct conf_keyword *kw, char **words,
			    size_t nwords, unsigned line, char *err, size_t errlen)
{
	(void)nwords;
	(void)line;
	if (strcmp(words[1], "auto") == 0) {
		c->workers = 0;
		return 0;
	}
	if (conf_parse_uint(words[1], kw->min, kw->max, &c->workers, NULL, 0) < 0) {
		conf_err(err, errlen, "expected auto or a number from %u to %u", kw->min, kw->max);
		return -1;
	}
	return 0;
}

static int conf_set_prefer(struct conf *c, const struct conf_keyword *kw, char **words,
			   size_t nwords, unsigned line, char *err, size_t errlen)
{
	int i = conf_lookup(conf_prefer_names, CONF_NELEM(conf_prefer_names), words[1]);

	(void)kw;
	(void)nwords;
	(void)line;
	if (i < 0) {
		conf_err(err, errlen, "expected ipv6, ipv4 or none");
		return -1;
	}
	c->prefer = (enum conf_prefer)i;
	return 0;
}

static int conf_set_log_level(struct conf *c, const struct conf_keyword *kw, char **words,
			      size_t nwords, unsigned line, char *err, size_t errlen)
{
	int i = conf_lookup(conf_log_level_names, CONF_NELEM(conf_log_level_names), words[1]);

	(void)kw;
	(void)nwords;
	(void)line;
	if (i < 0) {
		conf_err(err, errlen, "expected err, warning, notice, info or debug");
		return -1;
	}
	c->log_level = i;
	return 0;
}

static int conf_set_auth(struct conf *c, const struct conf_keyword *kw, char **words, size_t nwords,
			 unsigned line, char *err, size_t errlen)
{
	size_t i, j, k;

	(void)kw;
	(void)line;
	c->nmethods = 0;
	for (i = 1; i < nwords; i++) {
		for (k = 0; k < CONF_NELEM(conf_methods); k++) {
			if (strcmp(conf_methods[k].name, words[i]) == 0)
				break;
		}
		if (k == CONF_NELEM(conf_methods)) {
			conf_err(err, errlen,
				 "unknown method '%s' (expected none, username or gssapi)",
				 words[i]);
			return -1;
		}
		for (j = 0; j < c->nmethods; j++) {
			if (c->methods[j] == conf_methods[k].code) {
				conf_err(err, errlen, "method %s given twice", words[i]);
				return -1;
			}
		}
		if (!conf_methods[k].available) {
			conf_err(err, errlen, "auth method %s is not available in this build",
				 words[i]);
			return -1;
		}
		c->methods[c->nmethods++] = conf_methods[k].code;
	}
	return 0;
}

static int conf_add_listen(struct conf *c, const struct conf_listen *l)
{
	struct conf_listen *grown = reallocarray(c->listen, c->nlisten + 1, sizeof(*grown));

	if (grown == NULL)
		return -1;
	c->listen = grown;
	c->listen[c->nlisten++] = *l;
	return 0;
}

static int conf_set_listen(struct conf *c, const struct conf_keyword *kw, char **words,
			   size_t nwords, unsigned line, char *err, size_t errlen)
{
	struct conf_listen l;

	(void)kw;
	(void)nwords;
	if (conf_parse_listen(words[1], &l, err, errlen) < 0)
		return -1;
	l.line = line;
	if (conf_add_listen(c, &l) < 0) {
		conf_err(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int conf_set_nameserver(struct conf *c, const struct conf_keyword *kw, char **words,
			       size_t nwords, unsigned line, char *err, size_t errlen)
{
	(void)kw;
	(void)nwords;
	(void)line;
	return conf_parse_nameserver(words[1], &c->nameservers, err, errlen);
}

static int conf_set_rule(struct conf *c, const struct conf_keyword *kw, char **words, size_t nwords,
			 unsigned line, char *err, size_t errlen)
{
	struct rule r, *grown;

	(void)kw;
	if (rule_parse(&r, words, nwords, line, err, errlen) < 0)
		return -1;
	grown = reallocarray(c->rules, c->nrules + 1, sizeof(*grown));
	if (grown == NULL) {
		rule_free(&r);
		conf_err(err, errlen, "out of memory");
		return -1;
	}
	c->rules = grown;
	c->rules[c->nrules++] = r;
	return 0;
}

/* A string field at kw->off; `absolute` paths only when kw->min is 1. */
static int conf_set_string(struct conf *c, const struct conf_keyword *kw, char **words,
			   size_t nwords, unsigned line, char *err, size_t errlen)
{
	char **field = (char **)(void *)((char *)c + kw->off);

	(void)nwords;
	(void)line;
	if (kw->min == 1 && words[1][0] != '/') {
		conf_err(err, errlen, "expected an absolute path");
		return -1;
	}
	if (words[1][0] == '\0') {
		conf_err(err, errlen, "empty value");
		return -1;
	}
	free(*field);
	*field = strdup(words[1]);
	if (*field == NULL) {
		conf_err(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int conf_set_gss_keytab(struct conf *c, const struct conf_keyword *kw, char **words,
			       size_t nwords, unsigned line, char *err, size_t errlen)
{
	if (conf_set_string(c, kw, words, nwords, line, err, errlen) < 0)
		return -1;
	c->gssapi_keytab_line = line;
	return 0;
}

static int conf_set_gss_levels(struct conf *c, const struct conf_keyword *kw, char **words,
			       size_t nwords, unsigned line, char *err, size_t errlen)
{
	unsigned levels = 0;

	(void)kw;
	(void)line;
	for (size_t i = 1; i < nwords; i++) {
		int l = conf_lookup(conf_gss_level_names, CONF_NELEM(conf_gss_level_names),
				    words[i]);

		if (l < 0) {
			conf_err(err, errlen,
				 "unknown level '%s' (expected none, integrity or confidentiality)",
				 words[i]);
			return -1;
		}
		if (levels & GSS_LEVEL_BIT(l)) {
			conf_err(err, errlen, "level %s given twice", words[i]);
			return -1;
		}
		levels |= GSS_LEVEL_BIT(l);
	}
	c->gssapi_levels = levels;
	return 0;
}

static int conf_add_default_listeners(struct conf *c);

/* The keytab holds every secret of the service principals: refuse one that
 * anybody may read, and one the daemon cannot read any more once it has
 * dropped to `user` (a reload reads the keytab again as that user).  err gets
 * the reason only. */
static int conf_gss_keytab_check(const struct conf *c, char *err, size_t errlen)
{
	struct stat st;
	struct passwd *pw;

	if (stat(c->gssapi_keytab, &st) < 0) {
		conf_err(err, errlen, "%s: %s", c->gssapi_keytab, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		conf_err(err, errlen, "%s: not a regular file", c->gssapi_keytab);
		return -1;
	}
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		conf_err(err, errlen, "%s is accessible to every user (mode %04o): chmod o-rw it",
			 c->gssapi_keytab, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	/* Only at start-up as root: a reload already runs as that user, and
	 * the acceptor below finds out for itself. */
	if (c->run_user == NULL || geteuid() != 0 || (pw = getpwnam(c->run_user)) == NULL ||
	    pw->pw_uid == 0)
		return 0;
	/* service_drop_privileges() leaves no supplementary groups. */
	if (!((st.st_uid == pw->pw_uid && (st.st_mode & S_IRUSR)) ||
	      (st.st_gid == pw->pw_gid && (st.st_mode & S_IRGRP)))) {
		conf_err(err, errlen,
			 "%s is not readable by user %s, which reloads read it as "
			 "(chown it to %s, or chgrp it and chmod g+r)",
			 c->gssapi_keytab, c->run_user, c->run_user);
		return -1;
	}
	return 0;
}

/* GSSAPI offered: the acceptor credentials are acquired with the snapshot,
 * so a missing key shows at start-up (or keeps the old snapshot on reload)
 * rather than at the first client. */
static int conf_finish_gss(struct conf *c, const char *name, char *err, size_t errlen)
{
	struct gss_err gerr;
	char reason[CONF_REASON_MAX];

	if (c->gssapi_keytab == NULL) {
		conf_err(err, errlen, "%s: auth gssapi needs gssapi-keytab", name);
		return -1;
	}
	if (c->gssapi_levels == 0) {
		conf_err(err, errlen, "%s: gssapi-protection grants no level", name);
		return -1;
	}
	if (conf_gss_keytab_check(c, reason, sizeof(reason)) < 0) {
		conf_err(err, errlen, "%s:%u: gssapi-keytab: %s", name, c->gssapi_keytab_line,
			 reason);
		return -1;
	}
	c->gss = gss_acceptor_new(c->gssapi_keytab, c->gssapi_service, &gerr);
	if (c->gss == NULL) {
		conf_err(err, errlen, "%s:%u: gssapi-keytab: %s", name, c->gssapi_keytab_line,
			 gerr.msg);
		return -1;
	}
	return 0;
}

/* Whole-file checks, after every line: the users file is read with the
 * snapshot, so a reload re-reads it and a bad one keeps the old snapshot. */
static int conf_finish(struct conf *c, const char *name, char *err, size_t errlen)
{
	bool username = memchr(c->methods, SOCKS5_METHOD_USERNAME, c->nmethods) != NULL;
	bool gssapi = memchr(c->methods, SOCKS5_METHOD_GSSAPI, c->nmethods) != NULL;

	if (c->nlisten == 0 && conf_add_default_listeners(c) < 0) {
		conf_err(err, errlen, "%s: out of memory", name);
		return -1;
	}
	if (gssapi && conf_finish_gss(c, name, err, errlen) < 0)
		return -1;
	if (!username)
		return 0;
	if (c->users_file == NULL) {
		conf_err(err, errlen, "%s: auth username needs users-file", name);
		return -1;
	}
	c->users = auth_users_load(c->users_file, err, errlen);
	return c->users != NULL ? 0 : -1;
}

#define CONF_OFF(field) offsetof(struct conf, field)

/* The keyword table: the whole configuration language.  Bounds of
 * durations are in milliseconds. */
static const struct conf_keyword conf_keywords[] = {
	{"listen", conf_set_listen, 0, 0, 0, 1, 1, true},
	{"listen-freebind", conf_set_bool, CONF_OFF(listen_freebind), 0, 0, 1, 1, false},
	{"workers", conf_set_workers, 0, 1, 256, 1, 1, false},
	{"nameserver", conf_set_nameserver, 0, 0, 0, 1, 1, true},
	{"prefer", conf_set_prefer, 0, 0, 0, 1, 1, false},
	{"handshake-timeout", conf_set_duration_ms, CONF_OFF(handshake_timeout_ms), 100, CONF_HOUR,
	 1, 1, false},
	{"connect-timeout", conf_set_duration_ms, CONF_OFF(connect_timeout_ms), 100, CONF_HOUR, 1,
	 1, false},
	{"idle-timeout", conf_set_duration_ms, CONF_OFF(idle_timeout_ms), 0, 168 * CONF_HOUR, 1, 1,
	 false},
	/* RFC 8305 §5: at least 10 ms, at most 2 s. */
	{"bind-timeout", conf_set_duration_ms, CONF_OFF(bind_timeout_ms), 100, CONF_HOUR, 1, 1,
	 false},
	{"attempt-delay", conf_set_duration_ms, CONF_OFF(attempt_delay_ms), 10, 2 * CONF_SECOND, 1,
	 1, false},
	{"resolution-delay", conf_set_duration_ms, CONF_OFF(resolution_delay_ms), 0, CONF_SECOND, 1,
	 1, false},
	{"dns-timeout", conf_set_duration_ms, CONF_OFF(dns_timeout_ms), 100, CONF_MINUTE, 1, 1,
	 false},
	{"dns-tries", conf_set_uint, CONF_OFF(dns_tries), 1, 10, 1, 1, false},
	{"dns-cache-size", conf_set_uint, CONF_OFF(dns_cache_size), 0, 1000000, 1, 1, false},
	{"dns-cache-max-ttl", conf_set_duration_s, CONF_OFF(dns_cache_max_ttl), CONF_SECOND,
	 168 * CONF_HOUR, 1, 1, false},
	{"dns-negative-ttl", conf_set_duration_s, CONF_OFF(dns_negative_ttl), 0, CONF_HOUR, 1, 1,
	 false},
	{"max-sessions", conf_set_uint, CONF_OFF(max_sessions), 1, 1000000, 1, 1, false},
	{"max-sessions-per-client", conf_set_uint, CONF_OFF(max_sessions_per_client), 0, 1000000, 1,
	 1, false},
	{"max-sessions-per-user", conf_set_uint, CONF_OFF(max_sessions_per_user), 0, 1000000, 1, 1,
	 false},
	{"log-level", conf_set_log_level, 0, 0, 0, 1, 1, false},
	{"auth", conf_set_auth, 0, 0, 0, 1, CONF_NELEM(conf_methods), false},
	{"allow-resolve", conf_set_bool, CONF_OFF(allow_resolve), 0, 0, 1, 1, false},
	{"users-file", conf_set_string, CONF_OFF(users_file), 1, 0, 1, 1, false},
	{"gssapi-keytab", conf_set_gss_keytab, CONF_OFF(gssapi_keytab), 1, 0, 1, 1, false},
	{"gssapi-service", conf_set_string, CONF_OFF(gssapi_service), 0, 0, 1, 1, false},
	{"gssapi-protection", conf_set_gss_levels, 0, 0, 0, 1, CONF_NELEM(conf_gss_level_names),
	 false},
	{"gssapi-nec", conf_set_bool, CONF_OFF(gssapi_nec), 0, 0, 1, 1, false},
	{"user", conf_set_string, CONF_OFF(run_user), 0, 0, 1, 1, false},
	{"stats-file", conf_set_string, CONF_OFF(stats_file), 1, 0, 1, 1, false},
	{"stats-interval", conf_set_duration_ms, CONF_OFF(stats_interval_ms), CONF_SECOND,
	 CONF_HOUR, 1, 1, false},
	{"pass", conf_set_rule, 0, 0, 0, 0, 0, true},
	{"block", conf_set_rule, 0, 0, 0, 0, 0, true},
};

#define CONF_NKEYWORDS CONF_NELEM(conf_keywords)

static struct conf *conf_new(const char *name)
{
	struct conf *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->file = strdup(name);
	if (c->file == NULL) {
		free(c);
		return NULL;
	}
	c->refs = 1;
	c->workers = 0;
	c->prefer = CONF_PREFER_IPV6;
	c->handshake_timeout_ms = 10 * CONF_SECOND;
	c->connect_timeout_ms = 10 * CONF_SECOND;
	c->idle_timeout_ms = CONF_HOUR;
	c->bind_timeout_ms = 2 * CONF_MINUTE; /* SOCKS4's original limit */
	c->stats_interval_ms = 15 * CONF_SECOND;
	c->attempt_delay_ms = 250; /* RFC 8305 §5 recommended value */
	c->resolution_delay_ms = 50; /* RFC 8305 §3 recommended value */
	c->dns_timeout_ms = 2 * CONF_SECOND;
	c->dns_tries = 2;
	c->dns_cache_size = 4096;
	c->dns_cache_max_ttl = 3600;
	c->dns_negative_ttl = 30;
	c->max_sessions = 20000;
	c->log_level = LOG_LVL_INFO;
	c->methods[0] = SOCKS5_METHOD_NONE;
	c->nmethods = 1;
	c->allow_resolve = false;
	/* RFC 1961 levels only: `none` (auth only, then cleartext) must be
	 * asked for. */
	c->gssapi_levels =
		GSS_LEVEL_BIT(GSS_LEVEL_INTEGRITY) | GSS_LEVEL_BIT(GSS_LEVEL_CONFIDENTIALITY);
	return c;
}

static void conf_free(struct conf *c)
{
	size_t i;

	for (i = 0; i < c->nrules; i++)
		rule_free(&c->rules[i]);
	free(c->rules);
	free(c->listen);
	free(c->nameservers);
	auth_users_free(c->users);
	free(c->users_file);
	gss_acceptor_free(c->gss);
	free(c->gssapi_keytab);
	free(c->gssapi_service);
	free(c->run_user);
	free(c->stats_file);
	free(c->file);
	free(c);
}

/* Loopback only, so that a gateway without a config file is not an open
 * proxy (DESIGN.md, security defaults). */
static int conf_add_default_listeners(struct conf *c)
{
	static const char *const defaults[] = {"127.0.0.1:1080", "[::1]:1080"};
	struct conf_listen l;
	size_t i;

	for (i = 0; i < CONF_NELEM(defaults); i++) {
		if (conf_parse_listen(defaults[i], &l, NULL, 0) < 0 || conf_add_listen(c, &l) < 0)
			return -1;
	}
	return 0;
}

/* Split one line into words in place.  Words are separated by blanks; '#'
 * outside quotes starts a comment; "..." quotes a word, with \" and \\ as
 * escapes.  Returns the number of words, or -1 with a reason in err. */
static int conf_split_words(char *line, char **words, char *err, size_t errlen)
{
	char *p = line;
	int n = 0;

	for (;;) {
		char *start, *out;

		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (*p == '\0' || *p == '#')
			return n;
		if (n == CONF_WORDS_MAX) {
			conf_err(err, errlen, "too many words (at most %d)", CONF_WORDS_MAX);
			return -1;
		}
		if (*p != '"') {
			start = p;
			while (*p != '\0' && *p != '#' && *p != '"' && *p != ' ' && *p != '\t' &&
			       *p != '\r')
				p++;
			if (*p == '"') {
				conf_err(err, errlen, "quote inside a word");
				return -1;
			}
			words[n++] = start;
			if (*p == '\0')
				return n;
			if (*p == '#') {
				*p = '\0';
				return n;
			}
			*p++ = '\0';
			continue;
		}
		start = out = ++p;
		while (*p != '"') {
			if (*p == '\0') {
				conf_err(err, errlen, "unterminated quote");
				return -1;
			}
			if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
				p++;
			*out++ = *p++;
		}
		p++;
		if (*p != '\0' && *p != '#' && *p != ' ' && *p != '\t' && *p != '\r') {
			conf_err(err, errlen, "text after a closing quote");
			return -1;
		}
		/* out is behind the closing quote, so this never hides *p. */
		*out = '\0';
		words[n++] = start;
	}
}

static const struct conf_keyword *conf_find_keyword(const char *name)
{
	size_t i;

	for (i = 0; i < CONF_NKEYWORDS; i++) {
		if (strcmp(conf_keywords[i].name, name) == 0)
			return &conf_keywords[i];
	}
	return NULL;
}

/* Apply one line's words; on error writes "file:line: ..." to err. */
static int conf_apply_line(struct conf *c, char **words, size_t n, unsigned line, unsigned *seen,
			   char *err, size_t errlen)
{
	const struct conf_keyword *kw = conf_find_keyword(words[0]);
	char reason[CONF_REASON_MAX];
	size_t k;

	if (kw == NULL) {
		conf_err(err, errlen, "%s:%u: unknown keyword '%s'", c->file, line, words[0]);
		return -1;
	}
	k = (size_t)(kw - conf_keywords);
	if (!kw->repeatable && seen[k] != 0) {
		snprintf(reason, sizeof(reason), "already set on line %u", seen[k]);
		goto fail;
	}
	seen[k] = line;
	if (n - 1 < kw->min_args) {
		snprintf(reason, sizeof(reason), "missing value");
		goto fail;
	}
	if (kw->max_args != 0 && n - 1 > kw->max_args) {
		snprintf(reason, sizeof(reason),
			 kw->max_args == 1 ? "extra values" : "too many values");
		goto fail;
	}
	reason[0] = '\0';
	if (kw->set(c, kw, words, n, line, reason, sizeof(reason)) < 0)
		goto fail;
	return 0;

fail:
	conf_err(err, errlen, "%s:%u: %s: %s", c->file, line, kw->name, reason);
	return -1;
}

/* Parse a mutable, NUL-terminated buffer holding a whole file. */
static struct conf *conf_parse_buffer(char *text, const char *name, char *err, size_t errlen)
{
	unsigned seen[CONF_NKEYWORDS] = {0};
	char *words[CONF_WORDS_MAX];
	char reason[CONF_REASON_MAX];
	struct conf *c = conf_new(name);
	unsigned line = 0;
	char *p = text;

	if (c == NULL) {
		conf_err(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	while (*p != '\0') {
		char *nl = strchr(p, '\n');
		int n;

		line++;
		if (nl != NULL)
			*nl = '\0';
		n = conf_split_words(p, words, reason, sizeof(reason));
		if (n < 0) {
			conf_err(err, errlen, "%s:%u: %s", name, line, reason);
			goto fail;
		}
		if (n > 0 && conf_apply_line(c, words, (size_t)n, line, seen, err, errlen) < 0)
			goto fail;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	if (conf_finish(c, name, err, errlen) < 0)
		goto fail;
	return c;

fail:
	conf_free(c);
	return NULL;
}

struct conf *conf_load_string(const char *text, const char *name, char *err, size_t errlen)
{
	struct conf *c;
	char *copy;

	if (strlen(text) > CONF_FILE_MAX) {
		conf_err(err, errlen, "%s: larger than %d bytes", name, CONF_FILE_MAX);
		return NULL;
	}
	copy = strdup(text);
	if (copy == NULL) {
		conf_err(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	c = conf_parse_buffer(copy, name, err, errlen);
	free(copy);
	return c;
}

struct conf *conf_load_file(const char *path, char *err, size_t errlen)
{
	struct conf *c = NULL;
	char *buf = NULL, *nul;
	size_t len = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		conf_err(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	/* One byte more than the limit tells "too large" from "exactly 1 MiB". */
	buf = malloc(CONF_FILE_MAX + 2);
	if (buf == NULL) {
		conf_err(err, errlen, "%s: out of memory", path);
		goto out;
	}
	while (len <= CONF_FILE_MAX) {
		ssize_t r = read(fd, buf + len, CONF_FILE_MAX + 1 - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			conf_err(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > CONF_FILE_MAX) {
		conf_err(err, errlen, "%s: larger than %d bytes", path, CONF_FILE_MAX);
		goto out;
	}
	nul = memchr(buf, '\0', len);
	if (nul != NULL) {
		unsigned line = 1;
		char *q;

		for (q = buf; q < nul; q++)
			line += *q == '\n';
		conf_err(err, errlen, "%s:%u: NUL byte in file", path, line);
		goto out;
	}
	buf[len] = '\0';
	c = conf_parse_buffer(buf, path, err, errlen);

out:
	free(buf);
	close(fd);
	return c;
}

struct conf *conf_default(void)
{
	struct conf *c = conf_new(CONF_DEFAULT_NAME);

	if (c == NULL)
		return NULL;
	if (conf_add_default_listeners(c) < 0) {
		conf_free(c);
		return NULL;
	}
	return c;
}

struct conf *conf_ref(struct conf *c)
{
	if (c != NULL)
		__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
	return c;
}

void conf_unref(struct conf *c)
{
	/* Release/acquire so the freeing thread sees every other holder's
	 * last use of the snapshot. */
	if (c != NULL && __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0)
		conf_free(c);
}
