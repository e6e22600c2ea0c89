/* libFuzzer target: the gateway configuration and rules language,
 * conf_load_string() (which runs rule_parse() for pass/block lines), then
 * rules_match() and rules_client_may_pass() over whatever rules it accepted.
 *
 * "users-file PATH" must never make the fuzzer read files of this machine:
 * the build links this target with -Wl,--wrap=auth_users_load, and the wrapper
 * below hands the real loader a fixed users file in a memfd instead (or a
 * missing file when the path says "missing", to cover that error path).
 * The users-file parser itself has its own target, fuzz_auth_users.
 * Likewise "gssapi-keytab PATH" never reaches Kerberos: the build wraps
 * gss_acceptor_new/free and the acceptor is a stand-in (none for a path
 * saying "missing").
 *
 * Invariants: a refused text leaves a one-line reason; an accepted snapshot
 * holds every value inside the bounds of its keyword, at least one listener,
 * one to three distinct offered methods and users whenever "username" is
 * offered, and rules in canonical form (host bits clear, lower-case names,
 * port ranges lo <= hi); rule evaluation returns one of the snapshot's rules
 * or none. */
#include <arpa/inet.h>
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth_pass.h"
#include "conf.h"
#include "gss.h"
#include "log.h"
#include "socks5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
struct auth_users *__real_auth_users_load(const char *path, char *err, size_t errlen);
struct auth_users *__wrap_auth_users_load(const char *path, char *err, size_t errlen);
struct gss_acceptor *__wrap_gss_acceptor_new(const char *keytab, const char *service,
					     struct gss_err *err);
void __wrap_gss_acceptor_free(struct gss_acceptor *a);

#define FUZZ_HOUR (3600u * 1000u)

static char fuzz_users_path[64];

/* Two users with real hashes, so the loader succeeds. */
static void fuzz_users_init(void)
{
	char hash[AUTH_PASS_HASH_MAX];
	int fd;

	fd = memfd_create("socks64-fuzz-conf-users", MFD_CLOEXEC);
	assert(fd >= 0 && fchmod(fd, 0600) == 0);
	assert(auth_pass_hash("fuzz", hash, sizeof(hash)) == 0);
	assert(dprintf(fd, "# fuzz\nalice:%s\nbob:%s\n", hash, hash) > 0);
	snprintf(fuzz_users_path, sizeof(fuzz_users_path), "/proc/self/fd/%d", fd);
}

struct auth_users *__wrap_auth_users_load(const char *path, char *err, size_t errlen)
{
	assert(path != NULL && path[0] == '/');
	if (fuzz_users_path[0] == '\0')
		fuzz_users_init();
	if (strstr(path, "missing") != NULL)
		return __real_auth_users_load("/proc/self/fd/-1", err, errlen);
	return __real_auth_users_load(fuzz_users_path, err, errlen);
}

static char fuzz_acceptor;

struct gss_acceptor *__wrap_gss_acceptor_new(const char *keytab, const char *service,
					     struct gss_err *err)
{
	(void)service;
	assert(keytab != NULL && keytab[0] == '/');
	if (strstr(keytab, "missing") != NULL) {
		snprintf(err->msg, sizeof(err->msg), "keytab %s: missing", keytab);
		return NULL;
	}
	return (struct gss_acceptor *)(void *)&fuzz_acceptor;
}

void __wrap_gss_acceptor_free(struct gss_acceptor *a)
{
	assert(a == NULL || a == (struct gss_acceptor *)(void *)&fuzz_acceptor);
}

static void fuzz_check_cidr(const struct cidr *c)
{
	unsigned max = c->family == AF_INET ? 32 : 128;

	assert(c->family == AF_INET || c->family == AF_INET6);
	assert(c->plen <= max);
	for (unsigned bit = c->plen; bit < max; bit++)
		assert((c->addr[bit / 8] & (0x80 >> (bit % 8))) == 0);
}

static void fuzz_check_rule(const struct rule *r)
{
	assert(r->nfrom == 0 || r->from != NULL);
	for (size_t i = 0; i < r->nfrom; i++)
		fuzz_check_cidr(&r->from[i]);
	assert(r->nto == 0 || r->to != NULL);
	for (size_t i = 0; i < r->nto; i++) {
		const struct rule_dest *d = &r->to[i];

		if (d->kind == RULE_DEST_CIDR) {
			fuzz_check_cidr(&d->cidr);
			continue;
		}
		assert(d->kind == RULE_DEST_NAME || d->kind == RULE_DEST_SUFFIX);
		assert(d->name != NULL && d->name[0] != '\0');
		for (const char *p = d->name; *p != '\0'; p++)
			assert(!(*p >= 'A' && *p <= 'Z'));
	}
	assert(r->nports == 0 || r->ports != NULL);
	for (size_t i = 0; i < r->nports; i++)
		assert(r->ports[i].lo >= 1 && r->ports[i].lo <= r->ports[i].hi);
	assert(r->nusers == 0 || r->users != NULL);
	for (size_t i = 0; i < r->nusers; i++)
		assert(r->users[i] != NULL);
	assert((r->commands & ~0x0fu) == 0);
	assert((r->methods & ~0x07u) == 0);
	assert((r->versions & ~0x03u) == 0);
}

static void fuzz_check_listen(const struct conf_listen *l)
{
	assert(l->port != 0);
	if (l->ifname[0] != '\0') {
		assert(strlen(l->ifname) < sizeof(l->ifname));
		return;
	}
	if (l->sslen == sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&l->ss;

		assert(sin->sin_family == AF_INET && ntohs(sin->sin_port) == l->port);
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&l->ss;

		assert(l->sslen == sizeof(*sin6));
		assert(sin6->sin6_family == AF_INET6 && ntohs(sin6->sin6_port) == l->port);
	}
}

static void fuzz_check_conf(const struct conf *c)
{
	bool username = false;

	assert(c->refs == 1 && c->file != NULL && strcmp(c->file, "fuzz") == 0);
	assert(c->nlisten >= 1 && c->listen != NULL);
	for (size_t i = 0; i < c->nlisten; i++)
		fuzz_check_listen(&c->listen[i]);
	assert(c->workers <= 256);
	assert(c->prefer == CONF_PREFER_IPV6 || c->prefer == CONF_PREFER_IPV4 ||
	       c->prefer == CONF_PREFER_NONE);
	assert(c->handshake_timeout_ms >= 100 && c->handshake_timeout_ms <= FUZZ_HOUR);
	assert(c->connect_timeout_ms >= 100 && c->connect_timeout_ms <= FUZZ_HOUR);
	assert(c->idle_timeout_ms <= 168 * FUZZ_HOUR);
	assert(c->bind_timeout_ms >= 100 && c->bind_timeout_ms <= FUZZ_HOUR);
	assert(c->attempt_delay_ms >= 10 && c->attempt_delay_ms <= 2000);
	assert(c->resolution_delay_ms <= 1000);
	assert(c->dns_timeout_ms >= 100 && c->dns_timeout_ms <= 60000);
	assert(c->dns_tries >= 1 && c->dns_tries <= 10);
	assert(c->dns_cache_size <= 1000000);
	assert(c->dns_cache_max_ttl >= 1 && c->dns_cache_max_ttl <= 168 * 3600);
	assert(c->dns_negative_ttl <= 3600);
	assert(c->max_sessions >= 1 && c->max_sessions <= 1000000);
	assert(c->max_sessions_per_client <= 1000000 && c->max_sessions_per_user <= 1000000);
	assert(c->log_level >= LOG_LVL_ERR && c->log_level <= LOG_LVL_DEBUG);
	assert(c->nmethods >= 1 && c->nmethods <= sizeof(c->methods));
	for (size_t i = 0; i < c->nmethods; i++) {
		assert(c->methods[i] == SOCKS5_METHOD_NONE ||
		       c->methods[i] == SOCKS5_METHOD_USERNAME ||
		       c->methods[i] == SOCKS5_METHOD_GSSAPI);
		for (size_t j = 0; j < i; j++)
			assert(c->methods[i] != c->methods[j]);
		username |= c->methods[i] == SOCKS5_METHOD_USERNAME;
	}
	if (username)
		assert(c->users_file != NULL && c->users != NULL &&
		       auth_users_count(c->users) == 2);
	if (c->nameservers != NULL)
		assert(c->nameservers[0] != '\0' && strchr(c->nameservers, ' ') == NULL);
	assert(c->nrules == 0 || c->rules != NULL);
	for (size_t i = 0; i < c->nrules; i++)
		fuzz_check_rule(&c->rules[i]);
}

/* Every combination of a few clients, destinations, commands, methods,
 * versions and users, including the client stage (only `client` known). */
static void fuzz_eval_rules(const struct conf *c)
{
	static const char *const clients[] = {"198.51.100.7", "2001:db8:1::7", "127.0.0.1",
					      "::ffff:198.51.100.7"};
	static const char *const dsts[] = {"www.example.org", "203.0.113.80", "2001:db8:6::80",
					   "Example.ORG."};
	static const uint8_t cmds[] = {0, RULE_CMD_CONNECT, RULE_CMD_BIND, RULE_CMD_UDP,
				       RULE_CMD_RESOLVE};
	static const char *const users[] = {NULL, "alice"};
	struct sockaddr_storage cl, dsa;
	struct socks_addr dst;
	struct rule_query q;
	const struct rule *r;

	for (size_t i = 0; i < sizeof(clients) / sizeof(clients[0]); i++) {
		memset(&cl, 0, sizeof(cl));
		if (strchr(clients[i], ':') != NULL) {
			cl.ss_family = AF_INET6;
			inet_pton(AF_INET6, clients[i], &((struct sockaddr_in6 *)&cl)->sin6_addr);
		} else {
			cl.ss_family = AF_INET;
			inet_pton(AF_INET, clients[i], &((struct sockaddr_in *)&cl)->sin_addr);
		}
		rules_client_may_pass(c->rules, c->nrules, (struct sockaddr *)&cl);
		memset(&q, 0, sizeof(q));
		q.client = (struct sockaddr *)&cl;
		r = rules_match(c->rules, c->nrules, &q);
		assert(r == NULL || (r >= c->rules && r < c->rules + c->nrules));
		for (size_t d = 0; d < sizeof(dsts) / sizeof(dsts[0]); d++) {
			memset(&dst, 0, sizeof(dst));
			socks_addr_set_name(&dst, dsts[d], strlen(dsts[d]));
			dst.port = (uint16_t)(25 + 1000 * d);
			socks_addr_to_sockaddr(&dst, &dsa);
			for (size_t k = 0; k < sizeof(cmds); k++) {
				q.dst = &dst;
				q.dst_sa = dst.atyp == SOCKS_ATYP_NAME ? NULL
								       : (struct sockaddr *)&dsa;
				q.command = cmds[k];
				q.method = (uint8_t)(1u << (k % 3));
				q.version = (uint8_t)(1u + d % 2);
				q.user = users[k % 2];
				r = rules_match(c->rules, c->nrules, &q);
				assert(r == NULL || (r >= c->rules && r < c->rules + c->nrules));
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, err[512];
	struct conf *c;

	text = malloc(size + 1);
	assert(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	memset(err, 'X', sizeof(err));
	c = conf_load_string(text, "fuzz", err, sizeof(err));
	free(text);
	if (c == NULL) {
		assert(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
		assert(strchr(err, '\n') == NULL);
		return 0;
	}
	fuzz_check_conf(c);
	fuzz_eval_rules(c);
	assert(conf_ref(c) == c && c->refs == 2);
	conf_unref(c);
	conf_unref(c);
	return 0;
}
