/* netstate — what the gateway knows about its own network, as an immutable
 * reference-counted snapshot that workers read without locks: its own
 * addresses (so clients cannot use the gateway to reach the router itself)
 * and, when built from netlink (netwatch), the links, addresses and main-table
 * routes that say which destinations the gateway can reach at all, so the
 * dialer skips an address with no route or no usable source address at once
 * instead of waiting for a connect timeout.
 *
 * A snapshot from netstate_scan() (getifaddrs, no netlink) has known ==
 * false: reachability is unknown and every destination counts as reachable. */
#ifndef SOCKS64_NETSTATE_H
#define SOCKS64_NETSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* One interface: its index and IFF_* flags as netlink reports them. */
struct netstate_link {
	uint32_t ifindex;
	uint32_t flags; /* IFF_UP, IFF_RUNNING, ... */
};

/* One address of the gateway. */
struct netstate_addr {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t prefixlen;
	uint8_t scope; /* RT_SCOPE_*: 0 (universe) is global */
	uint32_t flags; /* IFA_F_TENTATIVE, IFA_F_DADFAILED, IFA_F_DEPRECATED, ... */
	uint32_t ifindex;
	uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes */
};

/* One route of the main table.  type is the rtm_type: RTN_UNICAST and
 * RTN_LOCAL are routes; RTN_UNREACHABLE, RTN_BLACKHOLE, RTN_PROHIBIT and
 * RTN_THROW are kept as explicit "no route" entries, because a more specific
 * one of those hides a covering route in the kernel too. */
struct netstate_route {
	uint8_t family;
	uint8_t dst_len; /* 0: default route */
	uint8_t type;
	uint8_t tos;
	uint32_t priority; /* metric: lower wins between equal prefixes */
	uint32_t oif; /* 0: none, or several next hops (multipath) */
	uint8_t dst[16]; /* network order; IPv4 in the first 4 bytes */
};

struct netstate {
	unsigned refs; /* atomic */
	struct sockaddr_storage *local; /* every address on every interface */
	size_t nlocal;
	/* false: nothing but `local` is known (netstate_scan): everything
	 * counts as reachable. */
	bool known;
	struct netstate_link *links;
	size_t nlinks;
	struct netstate_addr *addrs;
	size_t naddrs;
	/* Sorted: by family, longest prefix first, then lowest metric. */
	struct netstate_route *routes;
	size_t nroutes;
};

/* Scan the interfaces (getifaddrs); NULL on failure (errno set).  The
 * snapshot has known == false. */
struct netstate *netstate_scan(void);
/* A snapshot (known == true, one reference) holding copies of the tables;
 * `local` is filled from addrs.  NULL when out of memory. */
struct netstate *netstate_build(const struct netstate_link *links, size_t nlinks,
				const struct netstate_addr *addrs, size_t naddrs,
				const struct netstate_route *routes, size_t nroutes);
struct netstate *netstate_ref(struct netstate *n);
void netstate_unref(struct netstate *n);
/* Is sa (port ignored; v4-mapped counts as IPv4) one of the gateway's own? */
bool netstate_is_local(const struct netstate *n, const struct sockaddr *sa);

/* Can the gateway send to dst (port ignored; v4-mapped counts as IPv4)?
 * True when n is NULL or unknown; when dst is loopback or one of the
 * gateway's own addresses; otherwise when the longest-prefix match among the
 * routes of dst's family whose output link is up and running (or unknown)
 * is a route rather than a "no route" entry (a default route covers
 * everything), and the family has a usable source address: global scope (or
 * link scope for an IPv6 link-local dst), neither tentative nor DAD-failed,
 * on a link that is up.  Deprecated addresses still count (RFC 4862 §5.5.4:
 * used when nothing better exists). */
bool netstate_reachable(const struct netstate *n, const struct sockaddr *dst);
/* Does family (AF_INET, AF_INET6) reach anything beyond link-local: a usable
 * source address and at least one route other than fe80::/10 or
 * 169.254.0.0/16 on a link that is up and running?  True when n is NULL or
 * unknown. */
bool netstate_family_usable(const struct netstate *n, int family);
/* Number of routes of family in the snapshot ("no route" entries included). */
size_t netstate_count_routes(const struct netstate *n, int family);

#endif
