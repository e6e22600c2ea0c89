/* shim_conf — the client shim's configuration (socks64.conf, DESIGN.md's
 * sketch): flat "key value" lines, '#' comments, errors as file:line.
 *
 * Sources, later ones overriding earlier ones: SYSCONFDIR/socks64/socks64.conf,
 * $XDG_CONFIG_HOME/socks64/socks64.conf (default ~/.config), the file named
 * by SOCKS64_CONF, then SOCKS64_GATEWAY ("HOST:PORT[,HOST:PORT...]").  A
 * repeatable key (gateway, bypass) given in a later source replaces the
 * list from earlier sources; single-value keys simply override.
 *
 * Keys: gateway HOST:PORT (repeatable, failover in order; literal addresses,
 * [v6]:port), auth none|gssapi, gssapi-service NAME, gssapi-host NAME,
 * gssapi-protection none|integrity|confidentiality, resolve remote|auto,
 * bypass CIDR|.SUFFIX... , synth-ipv4 CIDR, synth-ipv6 CIDR, synth-size N,
 * verify-names yes|no, quarantine DURATION, connect-timeout DURATION,
 * bind auto|remote|local.  Durations take ms/s/m/h.
 *
 * GSSAPI (RFC 1961): the target is gssapi-service@HOST, HOST being
 * gssapi-host when given, else the name a reverse lookup of the gateway's
 * address returns (each gateway looked up once); a service containing '/'
 * is a whole principal name.  gssapi-protection is the level asked for;
 * the gateway may answer it or a stronger one (§4.3), anything else fails
 * the connection. */
#ifndef SOCKS64_SHIM_CONF_H
#define SOCKS64_SHIM_CONF_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "synth_table.h"

#define SHIM_CONF_GATEWAYS_MAX 8
#define SHIM_CONF_NETS_MAX 64
#define SHIM_CONF_SUFFIXES_MAX 32
#define SHIM_CONF_DEFAULT_PORT 1080
#define SHIM_CONF_GSS_NAME_MAX 256

enum shim_resolve {
	SHIM_RESOLVE_REMOTE = 0, /* every non-bypassed name gets a synthetic address (RFC 3089) */
	SHIM_RESOLVE_AUTO, /* only names this host cannot reach natively */
};

/* Which listening sockets become a gateway-side BIND (RFC 1928 §4; the
 * heuristic is described in hook_bind.c). */
enum shim_bind {
	SHIM_BIND_AUTO = 0, /* port-0 listeners on the wildcard address or on the local address
			       a proxied connection shows (the FTP active-mode pattern) */
	SHIM_BIND_REMOTE, /* every port-0 listener that is not on loopback */
	SHIM_BIND_LOCAL, /* never: listening sockets stay local */
};

struct shim_conf_net {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network byte order; 4 bytes used for AF_INET */
	uint8_t plen;
};

struct shim_conf {
	struct sockaddr_storage gateways[SHIM_CONF_GATEWAYS_MAX];
	socklen_t gateway_lens[SHIM_CONF_GATEWAYS_MAX];
	size_t ngateways;
	uint8_t auth; /* SOCKS5_METHOD_NONE or SOCKS5_METHOD_GSSAPI (username: later) */
	char gssapi_service[SHIM_CONF_GSS_NAME_MAX]; /* default "rcmd" (Dante, curl) */
	char gssapi_host[SHIM_CONF_GSS_NAME_MAX]; /* "": reverse lookup of the gateway */
	uint8_t gssapi_level; /* GSS_LEVEL_*: requested; default confidentiality */
	enum shim_resolve resolve;
	struct shim_conf_net nets[SHIM_CONF_NETS_MAX];
	size_t nnets;
	char suffixes[SHIM_CONF_SUFFIXES_MAX][SYNTH_NAME_MAX + 2]; /* canonical, leading dot kept */
	size_t nsuffixes;
	struct synth_table_config synth;
	bool verify_names;
	unsigned connect_timeout_ms; /* whole SOCKS connect when the socket sets none */
	enum shim_bind bind; /* default auto */
};

/* Defaults: gateway 127.0.0.1:1080, auth none (gssapi-service rcmd,
 * gssapi-protection confidentiality), resolve remote, bypass
 * nothing (loopback is always direct anyway), DESIGN.md's pools,
 * verify-names no, quarantine 10 min, connect-timeout 60 s, bind auto. */
void shim_conf_defaults(struct shim_conf *c);

/* Apply one source.  Each returns 0 or -1 with "NAME:LINE: message" in err.
 * load_file: a missing file is not an error when optional is true. */
int shim_conf_load_string(struct shim_conf *c, const char *text, const char *name, char *err,
			  size_t errlen);
int shim_conf_load_file(struct shim_conf *c, const char *path, bool optional, char *err,
			size_t errlen);
/* SOCKS64_GATEWAY's value: gateways separated by commas or spaces. */
int shim_conf_set_gateways(struct shim_conf *c, const char *list, char *err, size_t errlen);

/* Defaults, then every source above in order (environment from getenv).
 * On error c holds what was read before it. */
int shim_conf_load(struct shim_conf *c, char *err, size_t errlen);

/* "HOST:PORT" (literal IPv4, [IPv6]; port optional, default 1080). */
int shim_conf_parse_hostport(const char *s, struct sockaddr_storage *ss, socklen_t *len);

/* Whether an address (AF_INET/AF_INET6 sockaddr) or a canonical name must go
 * direct: loopback always, then the bypass networks / name suffixes.  A
 * suffix ".lan" matches "lan" and "x.lan"; a suffix without a dot matches
 * that name exactly. */
bool shim_conf_bypass_addr(const struct shim_conf *c, const struct sockaddr *sa);
bool shim_conf_bypass_name(const struct shim_conf *c, const char *canon);

#endif
