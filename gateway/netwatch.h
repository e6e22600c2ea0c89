/* netwatch — follows the kernel's links, addresses and main-table routes over
 * a NETLINK_ROUTE socket on an event loop and publishes netstate snapshots,
 * so egress skips a family (or a destination) with no route or no usable
 * source address at once, and uses one that appears without a restart.
 *
 * libnl core API only (nl_socket_*, nlmsg_*, nla_*): messages are parsed by
 * hand, so it builds against OpenWrt's libnl-tiny as well as libnl-3.
 *
 * Start-up: one dump each of links, addresses and routes, one at a time;
 * then incremental updates from the RTNLGRP_LINK, _IPV4_IFADDR,
 * _IPV6_IFADDR, _IPV4_ROUTE and _IPV6_ROUTE groups.  When the socket
 * overflows (ENOBUFS: events were lost) or a dump was interrupted
 * (NLM_F_DUMP_INTR), the tables are thrown away and dumped again; nothing is
 * published until the re-read is complete.  Changes are published at most
 * every NETWATCH_DEBOUNCE_MS.  Nothing here blocks the loop: the socket is
 * non-blocking and no request waits for an answer. */
#ifndef SOCKS64_NETWATCH_H
#define SOCKS64_NETWATCH_H

struct loop;
struct netstate;
struct netwatch;

#define NETWATCH_DEBOUNCE_MS 50

/* Watch the network namespace the caller runs in.  publish(arg, snap) runs
 * on loop (from a timer) with a new snapshot whose one reference passes to
 * the callee; it must not call netwatch_free.  rcvbuf: the socket's receive
 * buffer in bytes, 0 for the default (tests use a tiny one to provoke
 * ENOBUFS).  NULL when netlink cannot be used (logged): the caller keeps a
 * netstate_scan() snapshot, which counts everything as reachable. */
struct netwatch *netwatch_new(struct loop *loop, void (*publish)(void *arg, struct netstate *snap),
			      void *arg, int rcvbuf);
/* Close the socket, cancel the timers, free.  Not from publish(). */
void netwatch_free(struct netwatch *w);
/* Full re-reads begun because events were lost or a dump was interrupted
 * (the initial read does not count). */
unsigned netwatch_resyncs(const struct netwatch *w);

#endif
