/* socks_addr — SOCKS destination addresses and the helpers shared by the
 * gateway and the shim.  Pure: no I/O, no globals; inet_pton()/inet_ntop()
 * are the only libc calls that look at the text. */
#include "socks_addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is an IPv4 destination: keeping
 * it as IPv6 would let it slip past IPv4 rules (loopback, 0.0.0.0/8). */
static void socks_addr_set_v6(struct socks_addr *a, const struct in6_addr *v6)
{
	if (IN6_IS_ADDR_V4MAPPED(v6)) {
		a->atyp = SOCKS_ATYP_IPV4;
		memcpy(&a->u.v4, &v6->s6_addr[12], sizeof(a->u.v4));
	} else {
		a->atyp = SOCKS_ATYP_IPV6;
		a->u.v6 = *v6;
	}
	a->namelen = 0;
}

/* Host names are plain visible ASCII; anything else (NUL, controls, space,
 * DEL, 8-bit) would either truncate the C string or poison log lines. */
static bool socks_addr_name_chars_ok(const char *name, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch <= 0x20 || ch >= 0x7f)
			return false;
	}
	return true;
}

/* RFC 3089 §3: a literal travels as a DOMAINNAME when the application could
 * not express it otherwise, and Chromium sends every host that way, so a
 * literal must never reach DNS.  inet_pton() is strict on purpose: AF_INET
 * takes a full dotted quad only ("1.2.3", "0x7f.1" and "01.2.3.4" stay names
 * and fail in DNS instead of being guessed at). */
static bool socks_addr_parse_literal(struct socks_addr *a, const char *text, size_t len)
{
	char tmp[SOCKS_NAME_MAX + 1];
	struct in_addr v4;
	struct in6_addr v6;

	memcpy(tmp, text, len);
	tmp[len] = '\0';
	if (inet_pton(AF_INET, tmp, &v4) == 1) {
		a->atyp = SOCKS_ATYP_IPV4;
		a->namelen = 0;
		a->u.v4 = v4;
		return true;
	}
	if (inet_pton(AF_INET6, tmp, &v6) == 1) {
		socks_addr_set_v6(a, &v6);
		return true;
	}
	return false;
}

enum socks_name_status socks_addr_set_name(struct socks_addr *a, const char *name, size_t len)
{
	/* RFC 1928 §5: one length octet, so at most 255 octets on the wire. */
	if (len > SOCKS_NAME_MAX)
		return SOCKS_NAME_BAD;
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0)
		return SOCKS_NAME_EMPTY;
	/* Only one trailing dot is the root; "a.." has an empty label (and
	 * would change meaning each time it is stored). */
	if (name[len - 1] == '.')
		return SOCKS_NAME_BAD;
	if (!socks_addr_name_chars_ok(name, len))
		return SOCKS_NAME_BAD;

	/* "[v6]" is how URLs write IPv6; brackets around anything else are no
	 * host name either. */
	if (name[0] == '[' || name[len - 1] == ']') {
		if (len < 3 || name[0] != '[' || name[len - 1] != ']' ||
		    memchr(name + 1, ':', len - 2) == NULL)
			return SOCKS_NAME_BAD;
		if (!socks_addr_parse_literal(a, name + 1, len - 2))
			return SOCKS_NAME_BAD;
		return SOCKS_NAME_LITERAL;
	}
	if (socks_addr_parse_literal(a, name, len))
		return SOCKS_NAME_LITERAL;

	a->atyp = SOCKS_ATYP_NAME;
	a->namelen = (uint8_t)len;
	memcpy(a->u.name, name, len);
	a->u.name[len] = '\0';
	return SOCKS_NAME_OK;
}

int socks_addr_from_sockaddr(struct socks_addr *a, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		a->atyp = SOCKS_ATYP_IPV4;
		a->namelen = 0;
		a->u.v4 = sin->sin_addr;
		a->port = ntohs(sin->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		socks_addr_set_v6(a, &sin6->sin6_addr);
		a->port = ntohs(sin6->sin6_port);
		return 0;
	}
	return -1;
}

socklen_t socks_addr_to_sockaddr(const struct socks_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->atyp == SOCKS_ATYP_IPV4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_addr = a->u.v4;
		sin->sin_port = htons(a->port);
		return sizeof(*sin);
	}
	if (a->atyp == SOCKS_ATYP_IPV6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = a->u.v6;
		sin6->sin6_port = htons(a->port);
		return sizeof(*sin6);
	}
	return 0;
}

bool socks_addr_is_synthetic_v4(const struct socks_addr *a)
{
	/* 0.0.0.0/8: the shim's synthetic pool (RFC 3089 §3 "0.0.0.x", widened)
	 * and RFC 1122 "this network"; neither is a place to connect to. */
	return a->atyp == SOCKS_ATYP_IPV4 && (ntohl(a->u.v4.s_addr) >> 24) == 0;
}

char *socks_addr_format(const struct socks_addr *a, char *out, size_t outlen)
{
	char ip[INET6_ADDRSTRLEN];

	if (outlen == 0)
		return out;
	switch (a->atyp) {
	case SOCKS_ATYP_IPV4:
		inet_ntop(AF_INET, &a->u.v4, ip, sizeof(ip));
		snprintf(out, outlen, "%s:%u", ip, (unsigned)a->port);
		break;
	case SOCKS_ATYP_IPV6:
		inet_ntop(AF_INET6, &a->u.v6, ip, sizeof(ip));
		snprintf(out, outlen, "[%s]:%u", ip, (unsigned)a->port);
		break;
	case SOCKS_ATYP_NAME:
		/* namelen bounds the copy even if the NUL was lost. */
		snprintf(out, outlen, "%.*s:%u", (int)a->namelen, a->u.name, (unsigned)a->port);
		break;
	default:
		snprintf(out, outlen, "?:%u", (unsigned)a->port);
		break;
	}
	return out;
}

char *sockaddr_format(const struct sockaddr *sa, char *out, size_t outlen)
{
	struct socks_addr a;

	if (outlen == 0)
		return out;
	if (socks_addr_from_sockaddr(&a, sa) < 0) {
		snprintf(out, outlen, "?");
		return out;
	}
	return socks_addr_format(&a, out, outlen);
}
