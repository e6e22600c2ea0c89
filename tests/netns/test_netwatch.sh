#!/bin/bash
# The netlink watcher (gateway/netwatch.c) against a real kernel: in a
# namespace of its own (a veth to a peer namespace, a veth pair inside it),
# tests/integration/netwatch_probe prints every snapshot netwatch publishes
# while this script changes addresses, routes and links underneath it:
#   - the initial snapshot matches `ip addr` / `ip route`;
#   - an IPv6 address and route make IPv6 reachable, deleting the route
#     takes the destination away again; an "unreachable" route hides a
#     covering one (longest prefix wins);
#   - an address in duplicate address detection is not usable until DAD
#     completes;
#   - a link taken down (or losing carrier) is unusable, and usable again
#     when it comes back;
#   - with a tiny receive buffer, a burst of 500 address changes overflows
#     the socket (ENOBUFS): the watcher resyncs and its last snapshot
#     matches `ip addr` and `ip -6 route` exactly.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
ns_require "netns netwatch scenario"

PROBE=${NETWATCH_PROBE:-$T_ROOT/tests/integration/netwatch_probe}
if [ ! -x "$PROBE" ]; then
	t_fail "netwatch_probe is built" "make tests/integration/netwatch_probe"
	t_finish
fi

NS="${NS_PREFIX}-nw"
PEER="${NS_PREFIX}-nwpeer"
if ! { ns_add "$NS" && ns_add "$PEER" && ns_link "$NS" w0 "$PEER" p0 &&
	ip -n "$NS" link add d0 type veth peer name d1 && ip -n "$NS" link set d1 up &&
	ip -n "$NS" link set d0 up &&
	ns_addr "$NS" w0 198.51.100.1/24 && ns_addr "$PEER" p0 198.51.100.10/24; }; then
	t_fail "build the namespaces"
	t_finish
fi
t_pass "namespaces $NS (w0 198.51.100.1/24, veth d0-d1) and $PEER"

PROBE_PID=
OUT=
# probe_start NAME ARGS...: netwatch_probe in $NS, stdout to $T_TMP/NAME.out,
# stderr (netwatch's log) to $T_TMP/NAME.err.
probe_start() {
	local name=$1
	shift
	OUT=$T_TMP/$name.out
	ip netns exec "$NS" "$PROBE" "$@" </dev/null >"$OUT" 2>"$T_TMP/$name.err" &
	PROBE_PID=$!
	T_PIDS+=("$PROBE_PID")
}

# The last snapshot block on one line: "snapshot ... | reach A yes | ...".
nw_last() {
	awk '/^snapshot / { b = $0; next } /^reach / { b = b " | " $0 } END { print b }' "$OUT"
}

nw_matches() {
	local last=$1 re
	shift
	for re in "$@"; do
		printf '%s\n' "$last" | grep -Eq -- "$re" || return 1
	done
	return 0
}

# nw_wait NAME REGEX...: within 5 s the last snapshot matches every REGEX.
nw_wait() {
	local name=$1 last
	shift
	for _ in $(seq 1 50); do
		last=$(nw_last)
		if nw_matches "$last" "$@"; then
			t_pass "$name"
			return 0
		fi
		sleep 0.1
	done
	t_fail "$name" "last snapshot: ${last:-none}; wanted: $*"
	return 1
}

# What the kernel says, counted the way the probe counts.
k_addrs() {
	ip -n "$NS" -o addr show | wc -l
}
k_routes() {
	ip -n "$NS" "-$1" route show table main | wc -l
}

# --- the initial snapshot
probe_start watch -t 120 --check 198.51.100.10 --check 203.0.113.80 \
	--check 2001:db8:6::80 --check 2001:db8:6:1::80 --check 2001:db8:2::80
# link-local addresses may still be appearing: wait for the kernel to settle
sleep 0.5
nw_wait "initial snapshot matches ip addr / ip route" \
	"v4=reachable" "v6=unreachable" "addrs=$(k_addrs) " "routes4=$(k_routes 4) " \
	"routes6=$(k_routes 6) " "reach 198.51.100.10 yes" "reach 203.0.113.80 no" \
	"reach 2001:db8:6::80 no"

# --- an IPv6 address and a route appear, the route goes
ns_addr "$NS" d0 2001:db8:1::1/64
ip -n "$NS" -6 route add 2001:db8:6::/64 dev d0
nw_wait "IPv6 address + route: v6 reachable, 2001:db8:6::80 yes" \
	"v6=reachable" "reach 2001:db8:6::80 yes" "reach 2001:db8:6:1::80 no"
ip -n "$NS" -6 route del 2001:db8:6::/64 dev d0
nw_wait "route deleted: 2001:db8:6::80 no" \
	"v6=reachable" "reach 2001:db8:6::80 no" "routes6=$(k_routes 6) "

# --- longest prefix: an unreachable /64 inside a /48
ip -n "$NS" -6 route add 2001:db8:6::/48 dev d0
ip -n "$NS" -6 route add unreachable 2001:db8:6::/64
nw_wait "unreachable /64 hides the covering /48" \
	"reach 2001:db8:6::80 no" "reach 2001:db8:6:1::80 yes"
ip -n "$NS" -6 route del unreachable 2001:db8:6::/64
nw_wait "unreachable /64 removed: the /48 covers it again" \
	"reach 2001:db8:6::80 yes" "reach 2001:db8:6:1::80 yes"
ip -n "$NS" -6 route del 2001:db8:6::/48 dev d0

# --- the only global IPv6 address goes: IPv6 unusable
ip -n "$NS" addr del 2001:db8:1::1/64 dev d0
nw_wait "global IPv6 address removed: v6 unreachable" "v6=unreachable" "addrs=$(k_addrs) "

# --- duplicate address detection: tentative, then usable
ip netns exec "$NS" sysctl -qw net.ipv6.conf.w0.accept_dad=1 \
	net.ipv6.conf.w0.dad_transmits=3
ip -n "$NS" addr add 2001:db8:2::1/64 dev w0
nw_wait "address in DAD: reported tentative, not usable" \
	"tentative=1 " "v6=unreachable" "reach 2001:db8:2::80 no"
if ip -n "$NS" -6 addr show dev w0 | grep -q 'tentative'; then
	t_pass "the kernel still has 2001:db8:2::1 tentative (the snapshot was not late)"
else
	t_fail "the kernel still has 2001:db8:2::1 tentative" "DAD ended before the check"
fi
# dad_transmits=3 with a 1 s retransmit timer: about 3 s
for _ in $(seq 1 100); do
	ip -n "$NS" -6 addr show dev w0 | grep -q tentative || break
	sleep 0.1
done
nw_wait "DAD completed: v6 reachable, 2001:db8:2::80 yes" \
	"tentative=0 " "v6=reachable" "reach 2001:db8:2::80 yes"

# --- carrier and link state
ip -n "$PEER" link set p0 down
nw_wait "peer down (no carrier on w0): 198.51.100.10 no, v4 unreachable" \
	"reach 198.51.100.10 no" "v4=unreachable"
ip -n "$PEER" link set p0 up
nw_wait "peer up again: 198.51.100.10 yes" "reach 198.51.100.10 yes" "v4=reachable"
ip -n "$NS" link set w0 down
nw_wait "w0 down: v4 and v6 unreachable" \
	"reach 198.51.100.10 no" "v4=unreachable" "v6=unreachable" "reach 2001:db8:2::80 no" \
	"addrs=$(k_addrs) " "routes4=$(k_routes 4) "
ip -n "$NS" link set w0 up
nw_wait "w0 up: 198.51.100.10 yes again" "reach 198.51.100.10 yes" "v4=reachable"

if grep -q 'resync' "$T_TMP/watch.err"; then
	t_fail "no resync with the default buffer" "$(grep resync "$T_TMP/watch.err" | head -n 3)"
else
	t_pass "no resync with the default buffer"
fi
t_kill_pids "$PROBE_PID"

# --- ENOBUFS: a 1 KiB receive buffer against a burst of 500 address changes
probe_start burst -t 120 -b 1024
nw_wait "tiny-buffer probe: initial snapshot" "addrs=$(k_addrs) " "resyncs=0"
{
	for i in $(seq 1 500); do
		printf 'address add 2001:db8:7::%x/128 dev d0 nodad\n' "$i"
	done
	for i in $(seq 1 2 500); do
		printf 'address del 2001:db8:7::%x/128 dev d0\n' "$i"
	done
} >"$T_TMP/burst.batch"
if ip -n "$NS" -batch "$T_TMP/burst.batch"; then
	t_pass "burst: 500 addresses added, 250 removed ($(k_addrs) addresses now)"
else
	t_fail "burst: ip -batch"
fi
# The resync, and the debounce, need a moment after the burst ends.
for _ in $(seq 1 100); do
	nw_matches "$(nw_last)" "addrs=$(k_addrs) " "routes6=$(k_routes 6) " && break
	sleep 0.1
done
nw_wait "after the burst: the last snapshot matches ip addr and ip -6 route" \
	"addrs=$(k_addrs) " "routes6=$(k_routes 6) " "routes4=$(k_routes 4) " "resyncs=[1-9]"
if grep -q 'ENOBUFS.*resync' "$T_TMP/burst.err" &&
	grep -q 'resync complete' "$T_TMP/burst.err"; then
	t_pass "the overflow and the resync were logged ($(grep -c 'ENOBUFS' "$T_TMP/burst.err") overflow line(s))"
else
	t_fail "the overflow and the resync were logged" "$(head -n 5 "$T_TMP/burst.err")"
fi
t_kill_pids "$PROBE_PID"
if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T_TMP"/*.err; then
	grep -hE -A20 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T_TMP"/*.err |
		head -n 40 | sed 's/^/#   /'
	t_fail "no sanitizer report from the probes"
fi

t_finish
