/* libFuzzer target: the client shim's configuration (socks64.conf),
 * shim_conf_load_string() over the defaults, plus shim_conf_set_gateways()
 * (SOCKS64_GATEWAY) and shim_conf_parse_hostport() on each line of the
 * input, then the bypass checks against what was accepted.
 *
 * Invariants: errors carry one "NAME:LINE: ..." line; an accepted config
 * keeps every list inside its array, at least one gateway with a sockaddr of
 * the right length and a non-zero port, canonical bypass names, networks
 * with clear host bits, and synthetic pools that synth_table_config_check()
 * accepts and synth_table_size() can lay out; every bypass network and name
 * it lists is then bypassed; an accepted HOST:PORT survives a text round
 * trip. */
#include <arpa/inet.h>
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "socks5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check_gateways(const struct shim_conf *c)
{
	assert(c->ngateways >= 1 && c->ngateways <= SHIM_CONF_GATEWAYS_MAX);
	for (size_t i = 0; i < c->ngateways; i++) {
		const struct sockaddr_storage *ss = &c->gateways[i];

		if (ss->ss_family == AF_INET) {
			assert(c->gateway_lens[i] == sizeof(struct sockaddr_in));
			assert(((const struct sockaddr_in *)ss)->sin_port != 0);
		} else {
			assert(ss->ss_family == AF_INET6);
			assert(c->gateway_lens[i] == sizeof(struct sockaddr_in6));
			assert(((const struct sockaddr_in6 *)ss)->sin6_port != 0);
		}
	}
}

static void fuzz_check_conf(const struct shim_conf *c)
{
	char canon[SYNTH_NAME_MAX + 1], why[128];

	fuzz_check_gateways(c);
	/* none or gssapi (the shim's two methods) */
	assert(c->auth == SOCKS5_METHOD_NONE || c->auth == SOCKS5_METHOD_GSSAPI);
	assert(c->resolve == SHIM_RESOLVE_REMOTE || c->resolve == SHIM_RESOLVE_AUTO);
	assert(c->connect_timeout_ms > 0);
	assert(synth_table_config_check(&c->synth, why, sizeof(why)) == 0);
	assert(synth_table_size(&c->synth) > 0);

	assert(c->nnets <= SHIM_CONF_NETS_MAX);
	for (size_t i = 0; i < c->nnets; i++) {
		const struct shim_conf_net *n = &c->nets[i];
		unsigned bits = n->family == AF_INET ? 32 : 128;
		struct sockaddr_storage ss;

		assert(n->family == AF_INET || n->family == AF_INET6);
		assert(n->plen <= bits);
		for (unsigned bit = n->plen; bit < bits; bit++)
			assert((n->addr[bit / 8] & (0x80 >> (bit % 8))) == 0);
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = (sa_family_t)n->family;
		if (n->family == AF_INET)
			memcpy(&((struct sockaddr_in *)&ss)->sin_addr, n->addr, 4);
		else
			memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, n->addr, 16);
		assert(shim_conf_bypass_addr(c, (struct sockaddr *)&ss));
	}

	assert(c->nsuffixes <= SHIM_CONF_SUFFIXES_MAX);
	for (size_t i = 0; i < c->nsuffixes; i++) {
		const char *s = c->suffixes[i];
		const char *bare = s[0] == '.' ? s + 1 : s;
		int n;

		assert(memchr(s, '\0', sizeof(c->suffixes[i])) != NULL);
		n = synth_table_canon_name(bare, strlen(bare), canon);
		assert(n > 0 && strcmp(canon, bare) == 0);
		assert(shim_conf_bypass_name(c, bare));
	}
}

/* HOST:PORT back from the sockaddr, parsed again to the same sockaddr. */
static void fuzz_hostport(const char *s)
{
	struct sockaddr_storage ss, ss2;
	socklen_t len = 0, len2 = 0;
	char host[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN + 16];

	if (shim_conf_parse_hostport(s, &ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;

		assert(len == sizeof(*sin) && sin->sin_port != 0);
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(text, sizeof(text), "%s:%u", host, ntohs(sin->sin_port));
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;

		assert(ss.ss_family == AF_INET6 && len == sizeof(*sin6) && sin6->sin6_port != 0);
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(text, sizeof(text), "[%s]:%u", host, ntohs(sin6->sin6_port));
	}
	assert(shim_conf_parse_hostport(text, &ss2, &len2) == 0);
	assert(len2 == len && memcmp(&ss, &ss2, len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shim_conf c;
	char *text, *line, *save = NULL, err[512];
	int rc;

	text = malloc(size + 1);
	assert(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';

	shim_conf_defaults(&c);
	memset(err, 'X', sizeof(err));
	rc = shim_conf_load_string(&c, text, "fuzz", err, sizeof(err));
	if (rc < 0) {
		assert(memchr(err, '\0', sizeof(err)) != NULL);
		assert(strncmp(err, "fuzz:", 5) == 0 && strchr(err, '\n') == NULL);
	} else {
		assert(rc == 0);
		fuzz_check_conf(&c);
	}

	/* The environment's gateway list, over the defaults. */
	shim_conf_defaults(&c);
	if (shim_conf_set_gateways(&c, text, err, sizeof(err)) == 0)
		fuzz_check_gateways(&c);

	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		fuzz_hostport(line);
	free(text);
	return 0;
}
