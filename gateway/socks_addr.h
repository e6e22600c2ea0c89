/* socks_addr — SOCKS destination addresses (IPv4, IPv6 or a name) and the
 * helpers shared by the gateway and the shim.  Pure: no I/O, no globals. */
#ifndef SOCKS64_SOCKS_ADDR_H
#define SOCKS64_SOCKS_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* RFC 1928 §4 address types. */
#define SOCKS_ATYP_IPV4 0x01
#define SOCKS_ATYP_NAME 0x03
#define SOCKS_ATYP_IPV6 0x04

#define SOCKS_NAME_MAX 255

struct socks_addr {
	uint8_t atyp; /* SOCKS_ATYP_* */
	uint8_t namelen; /* ATYP_NAME only; name is NUL-terminated too */
	uint16_t port; /* host byte order */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		char name[SOCKS_NAME_MAX + 1];
	} u;
};

/* Outcome of socks_addr_set_name(). */
enum socks_name_status {
	SOCKS_NAME_OK = 0, /* a name; stored as ATYP_NAME, trailing dot removed */
	SOCKS_NAME_LITERAL, /* an IPv4 or IPv6 literal (RFC 3089 §3); stored as ATYP_IPV4/6 */
	SOCKS_NAME_EMPTY, /* zero length (or only "."): refused */
	SOCKS_NAME_BAD, /* embedded NUL, bytes outside printable ASCII, or too long */
};

/* Store a destination name as the client sent it (len bytes, not
 * NUL-terminated).  IP literals inside a name are treated as literals:
 * "198.51.100.1", "2001:db8::1" and "[2001:db8::1]" become ATYP 1/4 (RFC 3089
 * §3; Chromium sends every host as a name).  A single trailing dot is
 * dropped.  Names are kept as sent (case is not changed).  Port untouched. */
enum socks_name_status socks_addr_set_name(struct socks_addr *a, const char *name, size_t len);

/* ATYP 1/4 from a sockaddr (AF_INET, AF_INET6; v4-mapped IPv6 becomes IPv4).
 * Returns 0, or -1 for another family. */
int socks_addr_from_sockaddr(struct socks_addr *a, const struct sockaddr *sa);

/* ATYP 1/4 to a sockaddr; returns its length, or 0 for ATYP_NAME. */
socklen_t socks_addr_to_sockaddr(const struct socks_addr *a, struct sockaddr_storage *ss);

/* True for an IPv4 destination inside 0.0.0.0/8: a synthetic address that
 * leaked past a shim (DESIGN.md) or "this network"; never dialled. */
bool socks_addr_is_synthetic_v4(const struct socks_addr *a);

/* "host:port" for logs: 198.51.100.1:80, [2001:db8::1]:80, www.example:80.
 * Always NUL-terminates; truncates to fit. Returns out. */
char *socks_addr_format(const struct socks_addr *a, char *out, size_t outlen);

/* Same for a sockaddr (AF_INET/AF_INET6, v4-mapped shown as IPv4). */
char *sockaddr_format(const struct sockaddr *sa, char *out, size_t outlen);

/* Big enough for socks_addr_format()/sockaddr_format() of anything. */
#define SOCKS_ADDR_STRLEN (SOCKS_NAME_MAX + 4 + 8)

#endif
