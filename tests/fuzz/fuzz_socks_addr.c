/* libFuzzer target: destination names as clients send them,
 * socks_addr_set_name(), and the formatting helpers applied to the result.
 *
 * Invariants: the port is never touched; EMPTY only for "" and "."; a name
 * is kept as sent (one trailing dot dropped), printable, NUL-terminated and
 * never an IP literal (RFC 3089 §3: literals must not reach DNS) and stays
 * the same when stored again (normalising is idempotent); a literal
 * survives sockaddr and text round trips; formatting always NUL-terminates
 * inside the buffer, whatever its size. */
#include <arpa/inet.h>
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "socks_addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_format(const struct socks_addr *a)
{
	char buf[SOCKS_ADDR_STRLEN + 8];

	for (size_t outlen = 1; outlen <= sizeof(buf); outlen += outlen < 16 ? 1 : 37) {
		memset(buf, 'X', sizeof(buf));
		assert(socks_addr_format(a, buf, outlen) == buf);
		assert(memchr(buf, '\0', outlen) != NULL);
		for (size_t i = outlen; i < sizeof(buf); i++)
			assert(buf[i] == 'X');
	}
	memset(buf, 'X', sizeof(buf));
	socks_addr_format(a, buf, 0);
	assert(buf[0] == 'X');
	socks_addr_format(a, buf, sizeof(buf));
	assert(strlen(buf) < SOCKS_ADDR_STRLEN);
}

static void fuzz_literal(const struct socks_addr *a)
{
	struct sockaddr_storage ss;
	struct socks_addr b;
	char text[INET6_ADDRSTRLEN + 2], buf[SOCKS_ADDR_STRLEN];
	socklen_t sl;

	sl = socks_addr_to_sockaddr(a, &ss);
	assert(sl > 0);
	memset(&b, 0, sizeof(b));
	assert(socks_addr_from_sockaddr(&b, (struct sockaddr *)&ss) == 0);
	assert(b.atyp == a->atyp && b.port == a->port);
	if (a->atyp == SOCKS_ATYP_IPV4) {
		assert(memcmp(&b.u.v4, &a->u.v4, sizeof(a->u.v4)) == 0);
		assert(socks_addr_is_synthetic_v4(a) == (((const uint8_t *)&a->u.v4)[0] == 0));
		assert(inet_ntop(AF_INET, &a->u.v4, text, sizeof(text)) != NULL);
	} else {
		/* v4-mapped addresses were made IPv4 already. */
		assert(!IN6_IS_ADDR_V4MAPPED(&a->u.v6));
		assert(memcmp(&b.u.v6, &a->u.v6, sizeof(a->u.v6)) == 0);
		assert(!socks_addr_is_synthetic_v4(a));
		assert(inet_ntop(AF_INET6, &a->u.v6, text, sizeof(text)) != NULL);
	}
	/* The canonical text is a literal again, with the same address. */
	memset(&b, 0, sizeof(b));
	assert(socks_addr_set_name(&b, text, strlen(text)) == SOCKS_NAME_LITERAL);
	assert(b.atyp == a->atyp);
	assert(memcmp(&b.u, &a->u, a->atyp == SOCKS_ATYP_IPV4 ? 4 : 16) == 0);
	sockaddr_format((struct sockaddr *)&ss, buf, sizeof(buf));
	assert(strlen(buf) < sizeof(buf));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *name = (const char *)data;
	struct socks_addr a, b;
	enum socks_name_status st;
	size_t len = size;
	char tmp[SOCKS_NAME_MAX + 1];
	struct in6_addr v6;

	memset(&a, 0, sizeof(a));
	a.port = 0xbeef;
	st = socks_addr_set_name(&a, name, size);
	assert(a.port == 0xbeef);
	if (size > 0 && name[size - 1] == '.')
		len--;
	switch (st) {
	case SOCKS_NAME_EMPTY:
		assert(size <= SOCKS_NAME_MAX && len == 0);
		return 0;
	case SOCKS_NAME_BAD:
		assert(len > 0);
		return 0;
	case SOCKS_NAME_OK:
		assert(size <= SOCKS_NAME_MAX && len > 0);
		assert(a.atyp == SOCKS_ATYP_NAME && a.namelen == len);
		assert(memcmp(a.u.name, name, len) == 0 && a.u.name[len] == '\0');
		for (size_t i = 0; i < len; i++)
			assert(a.u.name[i] > 0x20 && a.u.name[i] < 0x7f);
		/* No literal may pass as a name. */
		memcpy(tmp, name, len);
		tmp[len] = '\0';
		assert(inet_pton(AF_INET, tmp, &v6) != 1 && inet_pton(AF_INET6, tmp, &v6) != 1);
		assert(!socks_addr_is_synthetic_v4(&a));
		/* Storing a stored name again changes nothing. */
		memset(&b, 0, sizeof(b));
		assert(socks_addr_set_name(&b, a.u.name, a.namelen) == SOCKS_NAME_OK);
		assert(b.namelen == a.namelen && memcmp(b.u.name, a.u.name, a.namelen + 1) == 0);
		fuzz_format(&a);
		return 0;
	case SOCKS_NAME_LITERAL:
		assert(size <= SOCKS_NAME_MAX && len > 0);
		assert(a.atyp == SOCKS_ATYP_IPV4 || a.atyp == SOCKS_ATYP_IPV6);
		fuzz_literal(&a);
		fuzz_format(&a);
		return 0;
	}
	assert(!"unknown socks_name_status");
	return 0;
}
