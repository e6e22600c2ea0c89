/* Unit tests for the netstate snapshot: longest-prefix match, default and
 * host routes, "no route" entries, source address usability (tentative,
 * DAD-failed, deprecated, link-local), link state, unknown snapshots. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>

#include "netstate.h"

#define UPR (IFF_UP | IFF_RUNNING)

/* The tables netwatch would hand to netstate_build. */
struct tb {
	struct netstate_link links[8];
	size_t nl;
	struct netstate_addr addrs[16];
	size_t na;
	struct netstate_route routes[16];
	size_t nr;
};

/* "ADDR/LEN" -> family, bytes, length. */
static int tb_cidr(const char *cidr, uint8_t out[16], uint8_t *len)
{
	char buf[64];
	char *slash;
	int family;

	snprintf(buf, sizeof(buf), "%s", cidr);
	slash = strchr(buf, '/');
	assert_non_null(slash);
	*slash = '\0';
	*len = (uint8_t)atoi(slash + 1);
	memset(out, 0, 16);
	family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(family, buf, out), 1);
	return family;
}

static void tb_link(struct tb *t, uint32_t ifindex, uint32_t flags)
{
	t->links[t->nl++] = (struct netstate_link){.ifindex = ifindex, .flags = flags};
}

static void tb_addr(struct tb *t, const char *cidr, uint32_t ifindex, uint8_t scope, uint32_t flags)
{
	struct netstate_addr *a = &t->addrs[t->na++];

	memset(a, 0, sizeof(*a));
	a->family = (uint8_t)tb_cidr(cidr, a->addr, &a->prefixlen);
	a->ifindex = ifindex;
	a->scope = scope;
	a->flags = flags;
}

static void tb_route(struct tb *t, const char *cidr, uint32_t oif, uint8_t type, uint32_t prio)
{
	struct netstate_route *r = &t->routes[t->nr++];

	memset(r, 0, sizeof(*r));
	r->family = (uint8_t)tb_cidr(cidr, r->dst, &r->dst_len);
	r->oif = oif;
	r->type = type;
	r->priority = prio;
}

static struct netstate *tb_build(const struct tb *t)
{
	struct netstate *n = netstate_build(t->links, t->nl, t->addrs, t->na, t->routes, t->nr);

	assert_non_null(n);
	assert_true(n->known);
	return n;
}

static bool reach(const struct netstate *n, const char *addr)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(80);
		assert_int_equal(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(80);
		assert_int_equal(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
	}
	return netstate_reachable(n, (struct sockaddr *)&ss);
}

/* A dual-stack box: link 2 (IPv6 side), link 3 (IPv4 side), both up. */
static void tb_dual(struct tb *t)
{
	memset(t, 0, sizeof(*t));
	tb_link(t, 1, IFF_UP | IFF_RUNNING | IFF_LOOPBACK);
	tb_link(t, 2, UPR);
	tb_link(t, 3, UPR);
	tb_addr(t, "127.0.0.1/8", 1, RT_SCOPE_HOST, IFA_F_PERMANENT);
	tb_addr(t, "::1/128", 1, RT_SCOPE_HOST, IFA_F_PERMANENT);
	tb_addr(t, "2001:db8:6::1/64", 2, RT_SCOPE_UNIVERSE, IFA_F_PERMANENT);
	tb_addr(t, "fe80::1/64", 2, RT_SCOPE_LINK, IFA_F_PERMANENT);
	tb_addr(t, "203.0.113.1/24", 3, RT_SCOPE_UNIVERSE, IFA_F_PERMANENT);
}

static void test_unknown_snapshot(void **state)
{
	struct netstate *n;

	(void)state;
	/* No snapshot at all, and the getifaddrs fallback: nothing is known,
	 * so nothing may be skipped. */
	assert_true(reach(NULL, "2001:db8:6::80"));
	assert_true(netstate_family_usable(NULL, AF_INET6));
	n = netstate_scan();
	assert_non_null(n);
	assert_false(n->known);
	assert_true(reach(n, "2001:db8:6::80"));
	assert_true(reach(n, "203.0.113.80"));
	assert_true(netstate_family_usable(n, AF_INET));
	assert_true(netstate_family_usable(n, AF_INET6));
	assert_int_equal(netstate_count_routes(n, AF_INET6), 0);
	netstate_unref(n);
}

static void test_known_but_empty(void **state)
{
	struct netstate *n = netstate_build(NULL, 0, NULL, 0, NULL, 0);

	(void)state;
	assert_non_null(n);
	assert_true(n->known);
	assert_false(reach(n, "2001:db8:6::80"));
	assert_false(reach(n, "203.0.113.80"));
	assert_false(netstate_family_usable(n, AF_INET));
	assert_false(netstate_family_usable(n, AF_INET6));
	/* Loopback lives in the local table: always reachable. */
	assert_true(reach(n, "127.0.0.1"));
	assert_true(reach(n, "127.3.2.1"));
	assert_true(reach(n, "::1"));
	netstate_unref(n);
}

static void test_default_route(void **state)
{
	struct tb t;
	struct netstate *n;

	(void)state;
	tb_dual(&t);
	tb_route(&t, "::/0", 2, RTN_UNICAST, 1024);
	n = tb_build(&t);
	assert_true(reach(n, "2001:db8:6::80"));
	assert_true(reach(n, "2001:db8:ffff::1"));
	assert_true(netstate_family_usable(n, AF_INET6));
	/* No IPv4 route at all, though there is an IPv4 address. */
	assert_false(reach(n, "203.0.113.80"));
	assert_false(netstate_family_usable(n, AF_INET));
	netstate_unref(n);

	tb_route(&t, "0.0.0.0/0", 3, RTN_UNICAST, 0);
	n = tb_build(&t);
	assert_true(reach(n, "203.0.113.80"));
	assert_true(reach(n, "198.51.100.7"));
	assert_true(netstate_family_usable(n, AF_INET));
	netstate_unref(n);
}

static void test_longest_prefix(void **state)
{
	struct tb t;
	struct netstate *n;

	(void)state;
	tb_dual(&t);
	tb_route(&t, "2001:db8::/32", 2, RTN_UNICAST, 1024);
	tb_route(&t, "2001:db8:6::/48", 0, RTN_UNREACHABLE, 1024);
	tb_route(&t, "2001:db8:6:1::/64", 2, RTN_UNICAST, 1024);
	tb_route(&t, "198.51.100.0/24", 3, RTN_UNICAST, 0);
	tb_route(&t, "198.51.100.128/25", 0, RTN_BLACKHOLE, 0);
	tb_route(&t, "203.0.113.0/27", 3, RTN_UNICAST, 0);
	tb_route(&t, "203.0.113.64/26", 0, RTN_PROHIBIT, 0);
	n = tb_build(&t);
	assert_true(reach(n, "2001:db8:7::1"));
	assert_false(reach(n, "2001:db8:6::80")); /* the /48 "no route" wins over the /32 */
	assert_true(reach(n, "2001:db8:6:1::5")); /* the /64 wins over the /48 */
	assert_false(reach(n, "2001:db9::1")); /* nothing covers it */
	assert_true(reach(n, "198.51.100.10"));
	assert_true(reach(n, "198.51.100.127"));
	assert_false(reach(n, "198.51.100.128"));
	assert_false(reach(n, "198.51.100.200"));
	/* prefixes that do not end on a byte */
	assert_true(reach(n, "203.0.113.31"));
	assert_false(reach(n, "203.0.113.32"));
	assert_false(reach(n, "203.0.113.70"));
	/* v4-mapped is IPv4 */
	assert_true(reach(n, "::ffff:198.51.100.10"));
	assert_false(reach(n, "::ffff:198.51.100.200"));
	assert_int_equal(netstate_count_routes(n, AF_INET6), 3);
	assert_int_equal(netstate_count_routes(n, AF_INET), 4);
	netstate_unref(n);
}

static void test_host_routes(void **state)
{
	struct tb t;
	struct netstate *n;

	(void)state;
	tb_dual(&t);
	tb_route(&t, "203.0.113.80/32", 3, RTN_UNICAST, 0);
	tb_route(&t, "2001:db8:6::80/128", 2, RTN_UNICAST, 1024);
	n = tb_build(&t);
	assert_true(reach(n, "203.0.113.80"));
	assert_false(reach(n, "203.0.113.81"));
	assert_false(reach(n, "203.0.113.79"));
	assert_true(reach(n, "2001:db8:6::80"));
	assert_false(reach(n, "2001:db8:6::81"));
	netstate_unref(n);

	/* a host "no route" inside a covering route */
	tb_route(&t, "2001:db8:6::/64", 2, RTN_UNICAST, 1024);
	tb_route(&t, "2001:db8:6::99/128", 0, RTN_UNREACHABLE, 1024);
	n = tb_build(&t);
	assert_true(reach(n, "2001:db8:6::98"));
	assert_false(reach(n, "2001:db8:6::99"));
	netstate_unref(n);
}

static void test_source_address_state(void **state)
{
	struct tb t;
	struct netstate *n;

	(void)state;
	memset(&t, 0, sizeof(t));
	tb_link(&t, 2, UPR);
	tb_route(&t, "2001:db8:6::/64", 2, RTN_UNICAST, 256);
	tb_route(&t, "fe80::/64", 2, RTN_UNICAST, 256);
	tb_addr(&t, "fe80::1/64", 2, RT_SCOPE_LINK, IFA_F_PERMANENT);
	tb_addr(&t, "2001:db8:6::1/64", 2, RT_SCOPE_UNIVERSE, IFA_F_TENTATIVE);
	n = tb_build(&t);
	/* RFC 4862 §5.4: a tentative address is not assigned yet */
	assert_false(reach(n, "2001:db8:6::80"));
	assert_false(netstate_family_usable(n, AF_INET6));
	/* a link-local destination makes do with a link-local source */
	assert_true(reach(n, "fe80::2"));
	/* the tentative address is still the gateway's own */
	assert_true(reach(n, "2001:db8:6::1"));
	netstate_unref(n);

	t.addrs[1].flags = IFA_F_DADFAILED | IFA_F_TENTATIVE;
	n = tb_build(&t);
	assert_false(reach(n, "2001:db8:6::80"));
	netstate_unref(n);

	t.addrs[1].flags = IFA_F_DEPRECATED;
	n = tb_build(&t);
	assert_true(reach(n, "2001:db8:6::80"));
	assert_true(netstate_family_usable(n, AF_INET6));
	netstate_unref(n);

	t.addrs[1].flags = IFA_F_PERMANENT;
	n = tb_build(&t);
	assert_true(reach(n, "2001:db8:6::80"));
	netstate_unref(n);

	/* a global-looking address with host scope does not count */
	t.addrs[1].scope = RT_SCOPE_HOST;
	n = tb_build(&t);
	assert_false(reach(n, "2001:db8:6::80"));
	netstate_unref(n);
}

static void test_link_state(void **state)
{
	struct tb t;
	struct netstate *n;

	(void)state;
	memset(&t, 0, sizeof(t));
	tb_link(&t, 2, UPR);
	tb_link(&t, 3, UPR);
	tb_addr(&t, "198.51.100.1/24", 2, RT_SCOPE_UNIVERSE, 0);
	tb_route(&t, "198.51.100.0/24", 2, RTN_UNICAST, 0);
	tb_route(&t, "203.0.113.0/24", 3, RTN_UNICAST, 0);
	n = tb_build(&t);
	assert_true(reach(n, "198.51.100.10"));
	assert_true(reach(n, "203.0.113.80"));
	netstate_unref(n);

	/* carrier lost on link 3: its route leads nowhere */
	t.links[1].flags = IFF_UP;
	n = tb_build(&t);
	assert_true(reach(n, "198.51.100.10"));
	assert_false(reach(n, "203.0.113.80"));
	netstate_unref(n);

	/* link 2 (the only address) down: no usable source for anything */
	t.links[1].flags = UPR;
	t.links[0].flags = 0;
	n = tb_build(&t);
	assert_false(reach(n, "198.51.100.10"));
	assert_false(reach(n, "203.0.113.80"));
	assert_false(netstate_family_usable(n, AF_INET));
	netstate_unref(n);

	/* A route whose link the snapshot does not list is not held against
	 * it (nothing known either way). */
	t.links[0].flags = UPR;
	tb_route(&t, "203.0.113.128/25", 9, RTN_UNICAST, 0);
	n = tb_build(&t);
	assert_true(reach(n, "203.0.113.200"));
	netstate_unref(n);
}

static void test_metric_and_down_link(void **state)
{
	struct tb t;
	struct netstate *n;

	(void)state;
	tb_dual(&t);
	/* The better default route goes over a link without carrier: the
	 * worse one over a working link is what the traffic can use. */
	tb_link(&t, 4, IFF_UP);
	tb_route(&t, "::/0", 4, RTN_UNICAST, 100);
	tb_route(&t, "::/0", 2, RTN_UNICAST, 200);
	n = tb_build(&t);
	assert_true(reach(n, "2001:db8:9::1"));
	netstate_unref(n);

	/* ...and an unreachable default with a lower metric than the working
	 * one wins, as in the kernel. */
	tb_route(&t, "::/0", 0, RTN_UNREACHABLE, 50);
	n = tb_build(&t);
	assert_false(reach(n, "2001:db8:9::1"));
	netstate_unref(n);
}

static void test_family_usable(void **state)
{
	struct tb t;
	struct netstate *n;

	(void)state;
	tb_dual(&t);
	/* Every IPv6 link has fe80::/64: that alone is not "IPv6 works". */
	tb_route(&t, "fe80::/64", 2, RTN_UNICAST, 256);
	n = tb_build(&t);
	assert_false(netstate_family_usable(n, AF_INET6));
	assert_false(netstate_family_usable(n, AF_INET));
	netstate_unref(n);

	tb_route(&t, "2001:db8:6::/64", 2, RTN_UNICAST, 256);
	tb_route(&t, "169.254.0.0/16", 3, RTN_UNICAST, 0);
	n = tb_build(&t);
	assert_true(netstate_family_usable(n, AF_INET6));
	assert_false(netstate_family_usable(n, AF_INET));
	netstate_unref(n);

	tb_route(&t, "203.0.113.0/24", 3, RTN_UNICAST, 0);
	n = tb_build(&t);
	assert_true(netstate_family_usable(n, AF_INET));
	netstate_unref(n);
}

static void test_local_addresses(void **state)
{
	struct tb t;
	struct netstate *n;
	struct sockaddr_in6 s6;

	(void)state;
	tb_dual(&t);
	n = tb_build(&t);
	assert_int_equal(n->nlocal, t.na);
	/* no routes at all, yet the gateway's own addresses are reachable */
	assert_true(reach(n, "203.0.113.1"));
	assert_true(reach(n, "2001:db8:6::1"));
	assert_false(reach(n, "203.0.113.2"));
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:203.0.113.1", &s6.sin6_addr);
	assert_true(netstate_is_local(n, (struct sockaddr *)&s6));
	inet_pton(AF_INET6, "2001:db8:6::1", &s6.sin6_addr);
	assert_true(netstate_is_local(n, (struct sockaddr *)&s6));
	inet_pton(AF_INET6, "2001:db8:6::2", &s6.sin6_addr);
	assert_false(netstate_is_local(n, (struct sockaddr *)&s6));
	/* references: the last unref frees (checked by the sanitizers) */
	assert_ptr_equal(netstate_ref(n), n);
	netstate_unref(n);
	netstate_unref(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_snapshot),
		cmocka_unit_test(test_known_but_empty),
		cmocka_unit_test(test_default_route),
		cmocka_unit_test(test_longest_prefix),
		cmocka_unit_test(test_host_routes),
		cmocka_unit_test(test_source_address_state),
		cmocka_unit_test(test_link_state),
		cmocka_unit_test(test_metric_and_down_link),
		cmocka_unit_test(test_family_usable),
		cmocka_unit_test(test_local_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
