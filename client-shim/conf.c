/* shim_conf — the client shim's configuration (see conf.h). */
#include "conf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gss_frame.h"
#include "socks5.h"

#ifndef SOCKS64_SYSCONFDIR
#define SOCKS64_SYSCONFDIR "/etc"
#endif

#define SHIM_CONF_WORDS_MAX 66
#define SHIM_CONF_LINE_MAX 4096

/* Per-source state: which repeatable lists this source has started. */
struct shim_conf_src {
	const char *name;
	unsigned line;
	bool gateways;
	bool bypass;
};

static int shim_conf_err(char *err, size_t errlen, const struct shim_conf_src *src, const char *fmt,
			 ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err && errlen)
		snprintf(err, errlen, "%s:%u: %s", src->name, src->line, msg);
	return -1;
}

void shim_conf_defaults(struct shim_conf *c)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&c->gateways[0];

	memset(c, 0, sizeof(*c));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(SHIM_CONF_DEFAULT_PORT);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->gateway_lens[0] = sizeof(*sin);
	c->ngateways = 1;
	c->auth = SOCKS5_METHOD_NONE;
	strcpy(c->gssapi_service, "rcmd");
	c->gssapi_level = GSS_LEVEL_CONFIDENTIALITY;
	c->resolve = SHIM_RESOLVE_REMOTE;
	synth_table_config_default(&c->synth);
	c->verify_names = false;
	c->connect_timeout_ms = 60000;
	c->bind = SHIM_BIND_AUTO;
}

int shim_conf_parse_hostport(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port = NULL, *end;
	unsigned long p = SHIM_CONF_DEFAULT_PORT;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end || (end[1] != '\0' && end[1] != ':'))
			return -1;
		hl = (size_t)(end - s - 1);
		if (hl >= sizeof(host))
			return -1;
		memcpy(host, s + 1, hl);
		if (end[1] == ':')
			port = end + 2;
	} else {
		end = strchr(s, ':');
		if (end && strchr(end + 1, ':'))
			return -1; /* bare IPv6 literal: needs brackets to carry a port */
		hl = end ? (size_t)(end - s) : strlen(s);
		if (hl >= sizeof(host))
			return -1;
		memcpy(host, s, hl);
		if (end)
			port = end + 1;
	}
	host[hl] = '\0';
	if (port) {
		char *pe;

		if (!isdigit((unsigned char)*port))
			return -1;
		errno = 0;
		p = strtoul(port, &pe, 10);
		if (*pe != '\0' || errno != 0 || p == 0 || p > 65535)
			return -1;
	}
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/* "ADDR/LEN" (LEN optional: a host).  Host bits must be zero. */
static int shim_conf_parse_cidr(const char *s, struct shim_conf_net *n)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t al = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long plen;
	unsigned bytes;

	if (al >= sizeof(addr))
		return -1;
	memcpy(addr, s, al);
	addr[al] = '\0';
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, addr, n->addr) == 1) {
		n->family = AF_INET;
		bytes = 4;
	} else if (inet_pton(AF_INET6, addr, n->addr) == 1) {
		n->family = AF_INET6;
		bytes = 16;
	} else {
		return -1;
	}
	plen = bytes * 8;
	if (slash) {
		char *end;

		if (!isdigit((unsigned char)slash[1]))
			return -1;
		plen = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || plen > bytes * 8)
			return -1;
	}
	n->plen = (uint8_t)plen;
	for (unsigned bit = (unsigned)plen; bit < bytes * 8; bit++) {
		if (n->addr[bit / 8] & (0x80 >> (bit % 8)))
			return -1;
	}
	return 0;
}

static bool shim_conf_net_match(const struct shim_conf_net *n, const uint8_t *addr)
{
	unsigned full = n->plen / 8, rest = n->plen % 8;

	if (memcmp(n->addr, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((n->addr[full] ^ addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

bool shim_conf_bypass_addr(const struct shim_conf *c, const struct sockaddr *sa)
{
	const uint8_t *a;
	uint8_t v4[4];
	int family = sa->sa_family;

	if (family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	} else if (family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_LOOPBACK(a6))
			return true;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			memcpy(v4, &a6->s6_addr[12], 4);
			a = v4;
			family = AF_INET;
		} else {
			a = a6->s6_addr;
		}
	} else {
		return true;
	}
	if (family == AF_INET && a[0] == 127)
		return true;
	for (size_t i = 0; i < c->nnets; i++) {
		if (c->nets[i].family == family && shim_conf_net_match(&c->nets[i], a))
			return true;
	}
	return false;
}

bool shim_conf_bypass_name(const struct shim_conf *c, const char *canon)
{
	size_t len = strlen(canon);

	/* RFC 6761 §6.3: localhost names are loopback, never remote. */
	if (strcmp(canon, "localhost") == 0 ||
	    (len > 10 && strcmp(canon + len - 10, ".localhost") == 0))
		return true;
	for (size_t i = 0; i < c->nsuffixes; i++) {
		const char *suf = c->suffixes[i];
		size_t sl = strlen(suf);

		if (suf[0] != '.') {
			if (strcmp(canon, suf) == 0)
				return true;
			continue;
		}
		if (strcmp(canon, suf + 1) == 0)
			return true;
		if (len >= sl && strcmp(canon + len - sl, suf) == 0)
			return true;
	}
	return false;
}

/* N, Nms, Ns, Nm, Nh (bare N: seconds, as in socks64d.conf). */
static int shim_conf_duration(const char *s, unsigned *ms)
{
	unsigned long long v = 0, mult;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p)) {
		v = v * 10 + (unsigned)(*p++ - '0');
		if (v > UINT_MAX)
			return -1;
	}
	if (strcmp(p, "ms") == 0)
		mult = 1;
	else if (*p == '\0' || strcmp(p, "s") == 0)
		mult = 1000;
	else if (strcmp(p, "m") == 0)
		mult = 60000;
	else if (strcmp(p, "h") == 0)
		mult = 3600000;
	else
		return -1;
	v *= mult;
	if (v > UINT_MAX)
		return -1;
	*ms = (unsigned)v;
	return 0;
}

static int shim_conf_gateway_add(struct shim_conf *c, struct shim_conf_src *src, const char *s,
				 char *err, size_t errlen)
{
	if (!src->gateways) {
		c->ngateways = 0; /* this source replaces earlier lists */
		src->gateways = true;
	}
	if (c->ngateways == SHIM_CONF_GATEWAYS_MAX)
		return shim_conf_err(err, errlen, src, "more than %d gateways",
				     SHIM_CONF_GATEWAYS_MAX);
	if (shim_conf_parse_hostport(s, &c->gateways[c->ngateways],
				     &c->gateway_lens[c->ngateways]) < 0)
		return shim_conf_err(err, errlen, src,
				     "bad gateway '%s' (expected IPV4:PORT or [IPV6]:PORT)", s);
	c->ngateways++;
	return 0;
}

static int shim_conf_bypass_add(struct shim_conf *c, struct shim_conf_src *src, const char *s,
				char *err, size_t errlen)
{
	char canon[SYNTH_NAME_MAX + 1];

	if (!src->bypass) {
		c->nnets = 0;
		c->nsuffixes = 0;
		src->bypass = true;
	}
	if (isdigit((unsigned char)s[0]) || strchr(s, ':')) {
		if (c->nnets == SHIM_CONF_NETS_MAX)
			return shim_conf_err(err, errlen, src, "more than %d bypass networks",
					     SHIM_CONF_NETS_MAX);
		if (shim_conf_parse_cidr(s, &c->nets[c->nnets]) < 0)
			return shim_conf_err(err, errlen, src, "bad bypass network '%s'", s);
		c->nnets++;
		return 0;
	}
	if (c->nsuffixes == SHIM_CONF_SUFFIXES_MAX)
		return shim_conf_err(err, errlen, src, "more than %d bypass names",
				     SHIM_CONF_SUFFIXES_MAX);
	/* Canonicalise without the leading dot, then put it back. */
	if (synth_table_canon_name(s[0] == '.' ? s + 1 : s, strlen(s) - (s[0] == '.'), canon) < 0)
		return shim_conf_err(err, errlen, src, "bad bypass name '%s'", s);
	snprintf(c->suffixes[c->nsuffixes], sizeof(c->suffixes[0]), "%s%s", s[0] == '.' ? "." : "",
		 canon);
	c->nsuffixes++;
	return 0;
}

static int shim_conf_pool(struct shim_conf *c, struct shim_conf_src *src, int family, const char *s,
			  char *err, size_t errlen)
{
	struct synth_table_config t = c->synth;
	struct shim_conf_net n;
	char why[128];

	if (shim_conf_parse_cidr(s, &n) < 0 || n.family != family)
		return shim_conf_err(err, errlen, src, "bad %s pool '%s'",
				     family == AF_INET ? "IPv4" : "IPv6", s);
	if (family == AF_INET) {
		memcpy(&t.v4_net, n.addr, 4);
		t.v4_plen = n.plen;
	} else {
		memcpy(&t.v6_net, n.addr, 16);
		t.v6_plen = n.plen;
	}
	if (synth_table_config_check(&t, why, sizeof(why)) < 0)
		return shim_conf_err(err, errlen, src, "%s", why);
	c->synth = t;
	return 0;
}

/* gssapi-service / gssapi-host: printable, no '@' (the target is joined as
 * service@host), a '/' only in a service (a whole principal name). */
static int shim_conf_gss_name(struct shim_conf *c, struct shim_conf_src *src, const char *key,
			      const char *v, char *err, size_t errlen)
{
	bool service = strcmp(key, "gssapi-service") == 0;
	char *dst = service ? c->gssapi_service : c->gssapi_host;

	if (strlen(v) >= SHIM_CONF_GSS_NAME_MAX)
		return shim_conf_err(err, errlen, src, "%s too long", key);
	for (const char *p = v; *p; p++) {
		if (!isgraph((unsigned char)*p) || (*p == '@' && !strchr(v, '/')) ||
		    (*p == '/' && !service))
			return shim_conf_err(err, errlen, src, "bad %s '%s'", key, v);
	}
	strcpy(dst, v);
	return 0;
}

static int shim_conf_words(char *line, char **words, size_t max, size_t *n)
{
	char *save = NULL, *w;

	*n = 0;
	for (w = strtok_r(line, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save)) {
		if (*n == max)
			return -1;
		words[(*n)++] = w;
	}
	return 0;
}

static int shim_conf_bool(const char *s, bool *out)
{
	if (strcmp(s, "yes") == 0 || strcmp(s, "on") == 0 || strcmp(s, "true") == 0 ||
	    strcmp(s, "1") == 0)
		*out = true;
	else if (strcmp(s, "no") == 0 || strcmp(s, "off") == 0 || strcmp(s, "false") == 0 ||
		 strcmp(s, "0") == 0)
		*out = false;
	else
		return -1;
	return 0;
}

static int shim_conf_line(struct shim_conf *c, struct shim_conf_src *src, char *line, char *err,
			  size_t errlen)
{
	char *words[SHIM_CONF_WORDS_MAX], *hash = strchr(line, '#');
	const char *key;
	size_t n;
	unsigned ms;
	char *end;

	if (hash)
		*hash = '\0';
	if (shim_conf_words(line, words, SHIM_CONF_WORDS_MAX, &n) < 0)
		return shim_conf_err(err, errlen, src, "too many words");
	if (n == 0)
		return 0;
	key = words[0];
	if (n == 1)
		return shim_conf_err(err, errlen, src, "'%s' needs a value", key);
	if (strcmp(key, "gateway") == 0) {
		for (size_t i = 1; i < n; i++) {
			if (shim_conf_gateway_add(c, src, words[i], err, errlen) < 0)
				return -1;
		}
		return 0;
	}
	if (strcmp(key, "bypass") == 0) {
		for (size_t i = 1; i < n; i++) {
			if (shim_conf_bypass_add(c, src, words[i], err, errlen) < 0)
				return -1;
		}
		return 0;
	}
	if (n != 2)
		return shim_conf_err(err, errlen, src, "'%s' takes one value", key);
	if (strcmp(key, "auth") == 0) {
		if (strcmp(words[1], "none") == 0)
			c->auth = SOCKS5_METHOD_NONE;
		else if (strcmp(words[1], "gssapi") == 0)
			c->auth = SOCKS5_METHOD_GSSAPI;
		else if (strcmp(words[1], "username") == 0)
			return shim_conf_err(err, errlen, src,
					     "auth %s is not supported by the shim yet", words[1]);
		else
			return shim_conf_err(err, errlen, src, "unknown auth method '%s'",
					     words[1]);
	} else if (strcmp(key, "gssapi-service") == 0 || strcmp(key, "gssapi-host") == 0) {
		return shim_conf_gss_name(c, src, key, words[1], err, errlen);
	} else if (strcmp(key, "gssapi-protection") == 0) {
		/* RFC 1961 §4.3 levels; none is the de-facto level 0 of Dante
		 * and curl (authentication only). */
		if (strcmp(words[1], "none") == 0)
			c->gssapi_level = GSS_LEVEL_NONE;
		else if (strcmp(words[1], "integrity") == 0)
			c->gssapi_level = GSS_LEVEL_INTEGRITY;
		else if (strcmp(words[1], "confidentiality") == 0)
			c->gssapi_level = GSS_LEVEL_CONFIDENTIALITY;
		else
			return shim_conf_err(err, errlen, src,
					     "gssapi-protection must be none, integrity or "
					     "confidentiality, not '%s'",
					     words[1]);
	} else if (strcmp(key, "resolve") == 0) {
		if (strcmp(words[1], "remote") == 0)
			c->resolve = SHIM_RESOLVE_REMOTE;
		else if (strcmp(words[1], "auto") == 0)
			c->resolve = SHIM_RESOLVE_AUTO;
		else
			return shim_conf_err(err, errlen, src,
					     "resolve must be remote or auto, not '%s'", words[1]);
	} else if (strcmp(key, "bind") == 0) {
		if (strcmp(words[1], "auto") == 0)
			c->bind = SHIM_BIND_AUTO;
		else if (strcmp(words[1], "remote") == 0)
			c->bind = SHIM_BIND_REMOTE;
		else if (strcmp(words[1], "local") == 0)
			c->bind = SHIM_BIND_LOCAL;
		else
			return shim_conf_err(err, errlen, src,
					     "bind must be auto, remote or local, not '%s'",
					     words[1]);
	} else if (strcmp(key, "synth-ipv4") == 0) {
		return shim_conf_pool(c, src, AF_INET, words[1], err, errlen);
	} else if (strcmp(key, "synth-ipv6") == 0) {
		return shim_conf_pool(c, src, AF_INET6, words[1], err, errlen);
	} else if (strcmp(key, "synth-size") == 0) {
		unsigned long v;

		errno = 0;
		v = strtoul(words[1], &end, 10);
		if (!isdigit((unsigned char)words[1][0]) || *end || errno || v < 1 ||
		    v > SYNTH_CAPACITY_MAX)
			return shim_conf_err(err, errlen, src, "synth-size must be 1..%u",
					     SYNTH_CAPACITY_MAX);
		c->synth.capacity = (uint32_t)v;
	} else if (strcmp(key, "verify-names") == 0) {
		if (shim_conf_bool(words[1], &c->verify_names) < 0)
			return shim_conf_err(err, errlen, src, "verify-names must be yes or no");
	} else if (strcmp(key, "quarantine") == 0) {
		if (shim_conf_duration(words[1], &ms) < 0)
			return shim_conf_err(err, errlen, src,
					     "bad duration '%s' (expected N, Nms, Ns, Nm or Nh)",
					     words[1]);
		c->synth.quarantine = ms / 1000;
	} else if (strcmp(key, "connect-timeout") == 0) {
		if (shim_conf_duration(words[1], &ms) < 0 || ms == 0)
			return shim_conf_err(err, errlen, src,
					     "bad duration '%s' (expected N, Nms, Ns, Nm or Nh)",
					     words[1]);
		c->connect_timeout_ms = ms;
	} else {
		return shim_conf_err(err, errlen, src, "unknown key '%s'", key);
	}
	return 0;
}

int shim_conf_load_string(struct shim_conf *c, const char *text, const char *name, char *err,
			  size_t errlen)
{
	struct shim_conf_src src = {.name = name};
	char line[SHIM_CONF_LINE_MAX];
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		src.line++;
		if (len >= sizeof(line))
			return shim_conf_err(err, errlen, &src, "line too long");
		memcpy(line, p, len);
		line[len] = '\0';
		if (shim_conf_line(c, &src, line, err, errlen) < 0)
			return -1;
		p += len + (nl ? 1 : 0);
	}
	return 0;
}

int shim_conf_load_file(struct shim_conf *c, const char *path, bool optional, char *err,
			size_t errlen)
{
	struct shim_conf_src src = {.name = path};
	char line[SHIM_CONF_LINE_MAX];
	FILE *f = fopen(path, "re");
	int rc = 0;

	if (!f) {
		if (optional && errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		src.line++;
		if (!strchr(line, '\n') && !feof(f)) {
			rc = shim_conf_err(err, errlen, &src, "line too long");
			break;
		}
		if (shim_conf_line(c, &src, line, err, errlen) < 0) {
			rc = -1;
			break;
		}
	}
	fclose(f);
	return rc;
}

int shim_conf_set_gateways(struct shim_conf *c, const char *list, char *err, size_t errlen)
{
	struct shim_conf_src src = {.name = "SOCKS64_GATEWAY", .line = 1};
	char buf[SHIM_CONF_LINE_MAX], *save = NULL, *w;

	if (strlen(list) >= sizeof(buf))
		return shim_conf_err(err, errlen, &src, "too long");
	strcpy(buf, list);
	for (w = strtok_r(buf, ", \t", &save); w; w = strtok_r(NULL, ", \t", &save)) {
		if (shim_conf_gateway_add(c, &src, w, err, errlen) < 0)
			return -1;
	}
	if (!src.gateways)
		return shim_conf_err(err, errlen, &src, "no gateway given");
	return 0;
}

int shim_conf_load(struct shim_conf *c, char *err, size_t errlen)
{
	char path[PATH_MAX];
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME"), *v;

	shim_conf_defaults(c);
	if (shim_conf_load_file(c, SOCKS64_SYSCONFDIR "/socks64/socks64.conf", true, err, errlen) <
	    0)
		return -1;
	path[0] = '\0';
	if (xdg && xdg[0] == '/')
		snprintf(path, sizeof(path), "%s/socks64/socks64.conf", xdg);
	else if (home && home[0] == '/')
		snprintf(path, sizeof(path), "%s/.config/socks64/socks64.conf", home);
	if (path[0] && shim_conf_load_file(c, path, true, err, errlen) < 0)
		return -1;
	v = getenv("SOCKS64_CONF");
	if (v && *v && shim_conf_load_file(c, v, false, err, errlen) < 0)
		return -1;
	v = getenv("SOCKS64_GATEWAY");
	if (v && *v && shim_conf_set_gateways(c, v, err, errlen) < 0)
		return -1;
	return 0;
}
