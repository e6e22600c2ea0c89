/* conf — the gateway configuration: one immutable, reference-counted
 * snapshot per load.  Flat "key value" lines, '#' comments, rules in file
 * order.  One keyword table; one validator per value type (shared with the
 * UCI bridge).  Errors name file:line. */
#ifndef SOCKS64_CONF_H
#define SOCKS64_CONF_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "rules.h"

struct auth_users;
struct gss_acceptor;

enum conf_prefer {
	CONF_PREFER_IPV6 = 0,
	CONF_PREFER_IPV4,
	CONF_PREFER_NONE, /* whichever family answers first */
};

struct conf_listen {
	char ifname[IF_NAMESIZE]; /* "br-lan:1080" form; empty for an address */
	struct sockaddr_storage ss; /* address form (port set); unused with ifname */
	socklen_t sslen;
	uint16_t port;
	unsigned line;
};

struct conf {
	unsigned refs; /* atomic; conf_ref/conf_unref */
	char *file; /* "(embedded default)" when none */

	struct conf_listen *listen;
	size_t nlisten;
	unsigned workers; /* 0: one per online CPU */
	bool listen_freebind; /* bind listen addresses not (yet) on an interface */

	char *nameservers; /* c-ares CSV "198.51.100.53:53,[2001:db8::53]:53", NULL: resolv.conf */
	enum conf_prefer prefer;

	unsigned handshake_timeout_ms; /* default 10 s: greeting to request complete */
	unsigned connect_timeout_ms; /* default 10 s: resolve + all connect attempts */
	unsigned idle_timeout_ms; /* default 1 h; 0: never */
	unsigned bind_timeout_ms; /* BIND: wait for the peer, default 2 min */
	unsigned
		attempt_delay_ms; /* RFC 8305 connection attempt delay, default 250 ms (10..2000) */
	unsigned resolution_delay_ms; /* RFC 8305 §3, default 50 ms */
	unsigned dns_timeout_ms; /* per try, default 2 s */
	unsigned dns_tries; /* default 2 */
	unsigned dns_cache_size; /* entries per worker, default 4096; 0 disables */
	unsigned dns_cache_max_ttl; /* seconds, default 3600 */
	unsigned dns_negative_ttl; /* seconds, default 30 */

	unsigned max_sessions; /* default 20000 */
	unsigned max_sessions_per_client; /* per client address; 0: no limit (default) */
	unsigned max_sessions_per_user; /* per authenticated user; 0: no limit (default) */
	int log_level; /* enum log_level, default info */

	uint8_t methods[3]; /* offered, in preference order (SOCKS5_METHOD_*) */
	size_t nmethods; /* default: none */
	bool allow_resolve; /* answer command 0xF0 (default no) */

	char *run_user; /* `user`: drop root to this account after binding */
	char *stats_file; /* Prometheus text file, rewritten every stats_interval_ms */
	unsigned stats_interval_ms; /* default 15 s */

	char *users_file; /* RFC 1929 credentials: name:crypt-hash lines */
	struct auth_users *users; /* loaded with the snapshot when username is offered */

	/* GSSAPI (RFC 1961), used when `auth` offers gssapi. */
	char *gssapi_keytab; /* acceptor keys; required with auth gssapi */
	unsigned gssapi_keytab_line; /* for error lines */
	char *gssapi_service; /* NULL: any key in the keytab; "rcmd"; "rcmd/host@REALM" */
	unsigned gssapi_levels; /* GSS_LEVEL_BIT()s granted; default integrity, confidentiality */
	bool gssapi_nec; /* accept the level message unwrapped (NEC, curl --socks5-gssapi-nec) */
	/* Built with the snapshot (so a reload re-reads the keytab), shared by
	 * every worker, freed with the snapshot. */
	struct gss_acceptor *gss;

	struct rule *rules;
	size_t nrules;
};

/* Load a file.  On error returns NULL and writes "file:line: message" to err. */
struct conf *conf_load_file(const char *path, char *err, size_t errlen);
/* Same from memory; name is used in messages. */
struct conf *conf_load_string(const char *text, const char *name, char *err, size_t errlen);
/* The embedded default: listen 127.0.0.1:1080 and [::1]:1080, method none,
 * no rules (clients from loopback only). */
struct conf *conf_default(void);

struct conf *conf_ref(struct conf *c);
void conf_unref(struct conf *c);

/* Validators (shared by the parser, the tests and the UCI bridge).  Each
 * returns 0, or -1 with a message in err. */
int conf_parse_duration(const char *s, unsigned *ms, char *err,
			size_t errlen); /* 250ms 10s 5m 1h; bare number = seconds */
int conf_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out, char *err,
		    size_t errlen);
int conf_parse_bool(const char *s, bool *out, char *err,
		    size_t errlen); /* yes/no on/off true/false 1/0 */
/* "198.51.100.1:1080", "[2001:db8::1]:1080", "br-lan:1080" */
int conf_parse_listen(const char *s, struct conf_listen *l, char *err, size_t errlen);
/* "198.51.100.53", "198.51.100.53:5353", "2001:db8::53", "[2001:db8::53]:5353" ->
 * appended to a c-ares CSV string (*csv reallocated). */
int conf_parse_nameserver(const char *s, char **csv, char *err, size_t errlen);

#endif
