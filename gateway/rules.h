/* rules — access rules: parsing of one rule line and first-match evaluation.
 * Pure: no I/O.  Syntax (DESIGN.md):
 *   pass|block [from CIDR|any[,...]] [to CIDR|NAME|*.SUFFIX|any[,...]]
 *              [port N|N-M[,...]] [command connect,bind,udp,resolve]
 *              [user NAME,...] [method none,username,gssapi] [version 4,5]
 * A missing field matches anything.  Rules are evaluated in file order and
 * the first match wins. */
#ifndef SOCKS64_RULES_H
#define SOCKS64_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "socks_addr.h"

struct cidr {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t plen;
	uint8_t addr[16]; /* network address, host bits cleared */
};

enum rule_dest_kind {
	RULE_DEST_CIDR,
	RULE_DEST_NAME, /* exact name, case-insensitive, trailing dot ignored */
	RULE_DEST_SUFFIX, /* "*.example.org": example.org itself and any name below it */
};

struct rule_dest {
	enum rule_dest_kind kind;
	struct cidr cidr;
	char *name; /* NAME/SUFFIX, lower-case, without "*." */
};

struct port_range {
	uint16_t lo, hi;
};

/* Bits for rule.commands */
#define RULE_CMD_CONNECT 0x01
#define RULE_CMD_BIND 0x02
#define RULE_CMD_UDP 0x04
#define RULE_CMD_RESOLVE 0x08
/* Bits for rule.methods */
#define RULE_METHOD_NONE 0x01
#define RULE_METHOD_USERNAME 0x02
#define RULE_METHOD_GSSAPI 0x04
/* Bits for rule.versions */
#define RULE_VERSION_4 0x01
#define RULE_VERSION_5 0x02

struct rule {
	bool pass;
	unsigned line; /* line in the config file, for log lines */
	struct cidr *from;
	size_t nfrom; /* 0: any */
	struct rule_dest *to;
	size_t nto; /* 0: any */
	struct port_range *ports;
	size_t nports; /* 0: any */
	char **users;
	size_t nusers; /* 0: any */
	uint8_t commands; /* 0: any */
	uint8_t methods; /* 0: any */
	uint8_t versions; /* 0: any */
};

/* What is known about a session when rules are evaluated.  Fields not yet
 * known are NULL/0 and a rule that needs them does not match: at the client
 * stage only `client` is set. */
struct rule_query {
	const struct sockaddr *client;
	const struct socks_addr *dst; /* name, or address */
	const struct sockaddr *dst_sa; /* resolved address of a named dst, if known */
	uint8_t command; /* RULE_CMD_* */
	uint8_t method; /* RULE_METHOD_* */
	uint8_t version; /* RULE_VERSION_* */
	const char *user;
};

/* Parse the words of one rule line (words[0] is "pass" or "block").
 * Returns 0, or -1 with a message in err. */
int rule_parse(struct rule *r, char **words, size_t nwords, unsigned line, char *err,
	       size_t errlen);
void rule_free(struct rule *r);

/* First rule that matches q, or NULL. */
const struct rule *rules_match(const struct rule *rules, size_t n, const struct rule_query *q);

/* Client-stage check, before any byte is read: true if some pass rule could
 * still match a client from this address (i.e. the first rule whose `from`
 * covers the client and which does not depend on later fields is not a block). */
bool rules_client_may_pass(const struct rule *rules, size_t n, const struct sockaddr *client);

/* CIDR helpers shared with config validation. */
int cidr_parse(struct cidr *c, const char *s);
bool cidr_contains(const struct cidr *c, const struct sockaddr *sa);

#endif
