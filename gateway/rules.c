/* rules — access rules: parsing of one rule line and first-match evaluation.
 * Pure: no I/O, no globals.  See rules.h for the syntax. */
#include "rules.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest DNS name in text form without the trailing dot (RFC 1035 §2.3.4). */
#define RULES_NAME_MAX 253

/* One "keyword value" pair of a rule line: the parser for its value. */
struct rules_field {
	const char *name;
	int (*parse)(struct rule *r, const struct rules_field *f, char *value, char *err,
		     size_t errlen);
	const struct rules_word *words; /* for bit-set fields */
	size_t off; /* offset of the uint8_t bit set in struct rule */
};

/* A word of a bit-set list ("connect", "gssapi", "5") and its bit. */
struct rules_word {
	const char *name;
	uint8_t bit;
};

static const struct rules_word rules_commands[] = {
	{"connect", RULE_CMD_CONNECT},
	{"bind", RULE_CMD_BIND},
	{"udp", RULE_CMD_UDP},
	{"resolve", RULE_CMD_RESOLVE},
	{NULL, 0},
};

static const struct rules_word rules_methods[] = {
	{"none", RULE_METHOD_NONE},
	{"username", RULE_METHOD_USERNAME},
	{"gssapi", RULE_METHOD_GSSAPI},
	{NULL, 0},
};

static const struct rules_word rules_versions[] = {
	{"4", RULE_VERSION_4},
	{"5", RULE_VERSION_5},
	{NULL, 0},
};

static void rules_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void rules_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Number of comma-separated items in s; empty items ("a,,b", "a,") are an
 * error, reported as 0. */
static size_t rules_count_items(const char *s)
{
	size_t n = 1;
	const char *p;

	if (*s == '\0' || *s == ',')
		return 0;
	for (p = s; *p != '\0'; p++) {
		if (*p != ',')
			continue;
		if (p[1] == '\0' || p[1] == ',')
			return 0;
		n++;
	}
	return n;
}

/* Next item of a comma list, cut in place; *cursor advances past it. */
static char *rules_next_item(char **cursor)
{
	char *item = *cursor;
	char *comma = strchr(item, ',');

	if (comma != NULL) {
		*comma = '\0';
		*cursor = comma + 1;
	} else {
		*cursor = item + strlen(item);
	}
	return item;
}

/* The number of items of a list field; 0 after an error naming the field
 * (an empty item). */
static size_t rules_list_count(const struct rules_field *f, const char *value, char *err,
			       size_t errlen)
{
	size_t n = rules_count_items(value);

	if (n == 0)
		rules_err(err, errlen, "%s: empty item in list '%s'", f->name, value);
	return n;
}

/* An array of n items for a list field; NULL after an error. */
static void *rules_list_alloc(const struct rules_field *f, size_t n, size_t size, char *err,
			      size_t errlen)
{
	void *p = calloc(n, size);

	if (p == NULL)
		rules_err(err, errlen, "%s: out of memory", f->name);
	return p;
}

static bool rules_is_dotted_digits(const char *s)
{
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s) && *s != '.')
			return false;
	}
	return true;
}

int cidr_parse(struct cidr *c, const char *s)
{
	char buf[INET6_ADDRSTRLEN + 5];
	const char *slash = strchr(s, '/');
	size_t alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	unsigned plen, maxlen, i;

	memset(c, 0, sizeof(*c));
	if (alen == 0 || alen >= sizeof(buf))
		return -1;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, c->addr) == 1) {
		c->family = AF_INET;
		maxlen = 32;
	} else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
		c->family = AF_INET6;
		maxlen = 128;
	} else {
		goto fail;
	}

	plen = maxlen;
	if (slash != NULL) {
		const char *p = slash + 1;

		/* Digits only: strtoul would take signs, spaces and hex. */
		if (*p == '\0' || strlen(p) > 3)
			goto fail;
		plen = 0;
		for (; *p != '\0'; p++) {
			if (!isdigit((unsigned char)*p))
				goto fail;
			plen = plen * 10 + (unsigned)(*p - '0');
		}
		if (plen > maxlen)
			goto fail;
	}
	c->plen = (uint8_t)plen;

	/* Clear host bits so that "198.51.100.7/24" means 198.51.100.0/24. */
	for (i = 0; i < maxlen / 8; i++) {
		if (plen >= (i + 1) * 8)
			continue;
		if (plen <= i * 8)
			c->addr[i] = 0;
		else
			c->addr[i] &= (uint8_t)(0xff << (8 - (plen - i * 8)));
	}
	return 0;

fail:
	memset(c, 0, sizeof(*c));
	return -1;
}

/* Compare the first plen bits of a and b. */
static bool rules_prefix_equal(const uint8_t *a, const uint8_t *b, unsigned plen)
{
	unsigned whole = plen / 8, rest = plen % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[whole] ^ b[whole]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

bool cidr_contains(const struct cidr *c, const struct sockaddr *sa)
{
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		return c->family == AF_INET &&
		       rules_prefix_equal((const uint8_t *)&sin->sin_addr, c->addr, c->plen);
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		const uint8_t *a = sin6->sin6_addr.s6_addr;

		if (c->family == AF_INET6)
			return rules_prefix_equal(a, c->addr, c->plen);
		/* A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d
		 * (RFC 4291 §2.5.5.2); they are IPv4 clients for the rules. */
		if (c->family == AF_INET && IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			return rules_prefix_equal(a + 12, c->addr, c->plen);
	}
	return false;
}

/* Copy an address of a socks_addr into a sockaddr for cidr_contains(). */
static bool rules_dst_sockaddr(const struct socks_addr *dst, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (dst->atyp == SOCKS_ATYP_IPV4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_addr = dst->u.v4;
		return true;
	}
	if (dst->atyp == SOCKS_ATYP_IPV6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = dst->u.v6;
		return true;
	}
	return false;
}

/* Validate a destination name (or suffix) and store it lower-case without a
 * trailing dot.  Letters, digits, '-' and '_' in non-empty labels. */
static char *rules_name_dup(const char *s)
{
	size_t len = strlen(s), i, label = 0;
	char *name;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > RULES_NAME_MAX)
		return NULL;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '.') {
			if (label == 0)
				return NULL;
			label = 0;
			continue;
		}
		if (!isalnum(ch) && ch != '-' && ch != '_')
			return NULL;
		if (++label > 63)
			return NULL;
	}
	name = strndup(s, len);
	if (name == NULL)
		return NULL;
	for (i = 0; i < len; i++)
		name[i] = (char)tolower((unsigned char)name[i]);
	return name;
}

static int rules_parse_from(struct rule *r, const struct rules_field *f, char *value, char *err,
			    size_t errlen)
{
	size_t n, i;
	char *cursor = value;

	if (strcmp(value, "any") == 0)
		return 0;
	n = rules_list_count(f, value, err, errlen);
	if (n == 0 || (r->from = rules_list_alloc(f, n, sizeof(*r->from), err, errlen)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		char *item = rules_next_item(&cursor);

		if (cidr_parse(&r->from[i], item) < 0) {
			rules_err(err, errlen, "%s: bad address or CIDR '%s'", f->name, item);
			return -1;
		}
		r->nfrom++;
	}
	return 0;
}

static int rules_parse_dest(struct rule_dest *d, const char *item)
{
	if (cidr_parse(&d->cidr, item) == 0) {
		d->kind = RULE_DEST_CIDR;
		return 0;
	}
	/* Something numeric that is not a valid address is a typo, not a
	 * host name: refuse it rather than match nothing silently. */
	if (strchr(item, '/') != NULL || strchr(item, ':') != NULL || rules_is_dotted_digits(item))
		return -1;
	if (strncmp(item, "*.", 2) == 0) {
		d->kind = RULE_DEST_SUFFIX;
		d->name = rules_name_dup(item + 2);
	} else {
		d->kind = RULE_DEST_NAME;
		d->name = rules_name_dup(item);
	}
	return d->name != NULL ? 0 : -1;
}

static int rules_parse_to(struct rule *r, const struct rules_field *f, char *value, char *err,
			  size_t errlen)
{
	size_t n, i;
	char *cursor = value;

	if (strcmp(value, "any") == 0)
		return 0;
	n = rules_list_count(f, value, err, errlen);
	if (n == 0 || (r->to = rules_list_alloc(f, n, sizeof(*r->to), err, errlen)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		char *item = rules_next_item(&cursor);

		if (rules_parse_dest(&r->to[i], item) < 0) {
			rules_err(err, errlen, "%s: bad address, CIDR, name or *.suffix '%s'",
				  f->name, item);
			return -1;
		}
		r->nto++;
	}
	return 0;
}

/* "80" -> 80; digits only, 1..65535. */
static int rules_parse_port_number(const char *s, size_t len, uint16_t *out)
{
	unsigned v = 0;
	size_t i;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int rules_parse_ports(struct rule *r, const struct rules_field *f, char *value, char *err,
			     size_t errlen)
{
	size_t n = rules_list_count(f, value, err, errlen);
	char *cursor = value;

	if (n == 0 || (r->ports = rules_list_alloc(f, n, sizeof(*r->ports), err, errlen)) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char *item = rules_next_item(&cursor);
		char *dash = strchr(item, '-');
		struct port_range *pr = &r->ports[i];
		int rc;

		if (dash == NULL) {
			rc = rules_parse_port_number(item, strlen(item), &pr->lo);
			pr->hi = pr->lo;
		} else {
			rc = rules_parse_port_number(item, (size_t)(dash - item), &pr->lo);
			if (rc == 0)
				rc = rules_parse_port_number(dash + 1, strlen(dash + 1), &pr->hi);
		}
		if (rc < 0) {
			rules_err(err, errlen, "%s: bad port '%s' (1..65535, N-M, N,M,...)",
				  f->name, item);
			return -1;
		}
		if (pr->lo > pr->hi) {
			rules_err(err, errlen, "%s: empty range '%s'", f->name, item);
			return -1;
		}
		r->nports++;
	}
	return 0;
}

static int rules_parse_users(struct rule *r, const struct rules_field *f, char *value, char *err,
			     size_t errlen)
{
	size_t n = rules_list_count(f, value, err, errlen);
	char *cursor = value;

	if (n == 0 || (r->users = rules_list_alloc(f, n, sizeof(*r->users), err, errlen)) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		r->users[i] = strdup(rules_next_item(&cursor));
		if (r->users[i] == NULL) {
			rules_err(err, errlen, "%s: out of memory", f->name);
			return -1;
		}
		r->nusers++;
	}
	return 0;
}

/* command/method/version: a comma list of words, each a bit. */
static int rules_parse_bits(struct rule *r, const struct rules_field *f, char *value, char *err,
			    size_t errlen)
{
	uint8_t *bits = (uint8_t *)r + f->off;
	size_t n = rules_list_count(f, value, err, errlen);
	char *cursor = value;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char *item = rules_next_item(&cursor);
		const struct rules_word *w;

		for (w = f->words; w->name != NULL; w++) {
			if (strcmp(w->name, item) == 0)
				break;
		}
		if (w->name == NULL) {
			rules_err(err, errlen, "%s: unknown value '%s'", f->name, item);
			return -1;
		}
		*bits |= w->bit;
	}
	return 0;
}

static const struct rules_field rules_fields[] = {
	{"from", rules_parse_from, NULL, 0},
	{"to", rules_parse_to, NULL, 0},
	{"port", rules_parse_ports, NULL, 0},
	{"command", rules_parse_bits, rules_commands, offsetof(struct rule, commands)},
	{"user", rules_parse_users, NULL, 0},
	{"method", rules_parse_bits, rules_methods, offsetof(struct rule, methods)},
	{"version", rules_parse_bits, rules_versions, offsetof(struct rule, versions)},
};

#define RULES_NFIELDS (sizeof(rules_fields) / sizeof(rules_fields[0]))

int rule_parse(struct rule *r, char **words, size_t nwords, unsigned line, char *err, size_t errlen)
{
	bool seen[RULES_NFIELDS] = {false};
	size_t i, k;

	memset(r, 0, sizeof(*r));
	r->line = line;
	if (nwords == 0 || (strcmp(words[0], "pass") != 0 && strcmp(words[0], "block") != 0)) {
		rules_err(err, errlen, "a rule starts with pass or block");
		return -1;
	}
	r->pass = strcmp(words[0], "pass") == 0;

	for (i = 1; i < nwords; i += 2) {
		for (k = 0; k < RULES_NFIELDS; k++) {
			if (strcmp(rules_fields[k].name, words[i]) == 0)
				break;
		}
		if (k == RULES_NFIELDS) {
			rules_err(err, errlen, "unknown keyword '%s'", words[i]);
			goto fail;
		}
		if (seen[k]) {
			rules_err(err, errlen, "%s: given twice", words[i]);
			goto fail;
		}
		seen[k] = true;
		if (i + 1 >= nwords) {
			rules_err(err, errlen, "%s: missing value", words[i]);
			goto fail;
		}
		if (rules_fields[k].parse(r, &rules_fields[k], words[i + 1], err, errlen) < 0)
			goto fail;
	}
	return 0;

fail:
	rule_free(r);
	return -1;
}

void rule_free(struct rule *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nto; i++)
		free(r->to[i].name);
	for (i = 0; i < r->nusers; i++)
		free(r->users[i]);
	free(r->from);
	free(r->to);
	free(r->ports);
	free(r->users);
	memset(r, 0, sizeof(*r));
}

/* Case-insensitive name comparison ignoring one trailing dot on the query
 * name; rule names are stored lower-case without it. */
static bool rules_name_matches(const struct rule_dest *d, const char *name)
{
	size_t len = strlen(name), nlen = strlen(d->name);

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == nlen)
		return strncasecmp(name, d->name, len) == 0;
	/* "*.example.org" also covers "a.b.example.org", but "badexample.org"
	 * is a different domain: the character before the suffix must be a dot. */
	if (d->kind == RULE_DEST_SUFFIX && len > nlen + 1 && name[len - nlen - 1] == '.')
		return strncasecmp(name + len - nlen, d->name, nlen) == 0;
	return false;
}

static bool rules_dest_matches(const struct rule_dest *d, const struct rule_query *q)
{
	struct sockaddr_storage ss;

	if (d->kind != RULE_DEST_CIDR)
		return q->dst->atyp == SOCKS_ATYP_NAME && rules_name_matches(d, q->dst->u.name);
	if (rules_dst_sockaddr(q->dst, &ss))
		return cidr_contains(&d->cidr, (const struct sockaddr *)&ss);
	/* A named destination matches a CIDR once its address is known. */
	return q->dst_sa != NULL && cidr_contains(&d->cidr, q->dst_sa);
}

static bool rules_one_matches(const struct rule *r, const struct rule_query *q)
{
	bool hit;
	size_t i;

	if (r->nfrom > 0) {
		hit = false;
		for (i = 0; i < r->nfrom && !hit; i++)
			hit = cidr_contains(&r->from[i], q->client);
		if (!hit)
			return false;
	}
	if ((r->nto > 0 || r->nports > 0) && q->dst == NULL)
		return false;
	if (r->nto > 0) {
		hit = false;
		for (i = 0; i < r->nto && !hit; i++)
			hit = rules_dest_matches(&r->to[i], q);
		if (!hit)
			return false;
	}
	if (r->nports > 0) {
		hit = false;
		for (i = 0; i < r->nports && !hit; i++)
			hit = q->dst->port >= r->ports[i].lo && q->dst->port <= r->ports[i].hi;
		if (!hit)
			return false;
	}
	if (r->nusers > 0) {
		hit = false;
		for (i = 0; i < r->nusers && !hit && q->user != NULL; i++)
			hit = strcmp(r->users[i], q->user) == 0;
		if (!hit)
			return false;
	}
	if (r->commands != 0 && (r->commands & q->command) == 0)
		return false;
	if (r->methods != 0 && (r->methods & q->method) == 0)
		return false;
	if (r->versions != 0 && (r->versions & q->version) == 0)
		return false;
	return true;
}

const struct rule *rules_match(const struct rule *rules, size_t n, const struct rule_query *q)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (rules_one_matches(&rules[i], q))
			return &rules[i];
	}
	return NULL;
}

/* True if the rule needs something beyond the client address. */
static bool rules_needs_more(const struct rule *r)
{
	return r->nto > 0 || r->nports > 0 || r->nusers > 0 || r->commands != 0 ||
	       r->methods != 0 || r->versions != 0;
}

bool rules_client_may_pass(const struct rule *rules, size_t n, const struct sockaddr *client)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		const struct rule *r = &rules[i];
		bool covered = r->nfrom == 0;

		for (j = 0; j < r->nfrom && !covered; j++)
			covered = cidr_contains(&r->from[j], client);
		if (!covered)
			continue;
		/* A pass rule that depends on later fields may still match; a
		 * block rule that does may not, so look further. */
		if (r->pass)
			return true;
		if (!rules_needs_more(r))
			return false;
	}
	return false;
}
