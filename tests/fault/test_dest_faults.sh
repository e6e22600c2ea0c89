#!/bin/bash
# Destination faults on the reference topology, from both LAN hosts to both
# WAN hosts: a closed port (refused), an on-link address nobody answers
# (no neighbour: ARP / neighbour discovery fails), a prefix whose SYNs are
# dropped without a word (routed to a host that blackholes it), and peers
# that reset mid-stream while sending and while the gateway writes to them.
# Each case checks the REP and its timing, or how the client's connection
# ends; the session lines are shown; afterwards the daemon runs and its
# descriptors are back where they were.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/netns/lib.sh
. "$T_ROOT/tests/netns/lib.sh"
# shellcheck source=tests/fault/lib.sh
. "$T_ROOT/tests/fault/lib.sh"
t_init
ns_require "destination fault scenarios"
if ! t_is_socks64d; then
	t_skip "destination faults" "needs socks64d"
	t_finish
fi
if ! ns_topology; then
	t_fail "build the namespace topology"
	t_finish
fi

A4=203.0.113.80
A6=2001:db8:6::80
PORT=7000
CLOSED=7001
NONEIGH4=203.0.113.99
NONEIGH6=2001:db8:6::99
# Routed to the WAN hosts, which forward into a blackhole route: the SYNs
# vanish without an ICMP error.
DROP4=203.0.113.150
DROP6=2001:db8:6:bad::1
ip netns exec "$NS_WAN4" sysctl -qw net.ipv4.ip_forward=1 &&
	ip -n "$NS_WAN4" route add blackhole 203.0.113.128/25 &&
	ip -n "$NS_GW" route add 203.0.113.128/25 via $A4 &&
	ip netns exec "$NS_WAN6" sysctl -qw net.ipv6.conf.all.forwarding=1 &&
	ip -n "$NS_WAN6" -6 route add blackhole 2001:db8:6:bad::/64 &&
	ip -n "$NS_GW" -6 route add 2001:db8:6:bad::/64 via $A6 || t_fail "blackhole routes"

t_bg "$T_TMP/peer4.log" "$NS_WAN4" "$PYTHON" "$FAULTKIT" peer --listen $A4:$PORT
t_bg "$T_TMP/peer6.log" "$NS_WAN6" "$PYTHON" "$FAULTKIT" peer --listen "[$A6]:$PORT"
t_wait_listen "$NS_WAN4" tcp $A4 $PORT 10 && t_wait_listen "$NS_WAN6" tcp $A6 $PORT 10 ||
	t_fail "start the peers"

P4=198.51.100.1:1080
P6='[2001:db8:1::1]:1080'
CONNECT_TIMEOUT=5
cat >"$T_TMP/gw.conf" <<EOF
listen $P4
listen $P6
workers 2
nameserver 127.0.0.1
connect-timeout ${CONNECT_TIMEOUT}s
log-level info
pass from 198.51.100.0/24 to any
pass from 2001:db8:1::/64 to any
block
EOF
if ! t_gw_start "$NS_GW" "$T_TMP/gw.conf" "$T_TMP/gw.log"; then
	t_fail "start the gateway"
	t_finish
fi
GWPID=$(t_gw_pid)

c4() { fk_connect "$NS_LAN4" "$P4" "$2" "$1" "${@:3}"; }
c6() { fk_connect "$NS_LAN6" "$P6" "$2" "$1" "${@:3}"; }
c4bg() { fk_connect_bg "$NS_LAN4" "$P4" "$2" "$1" "${@:3}"; }
c6bg() { fk_connect_bg "$NS_LAN6" "$P6" "$2" "$1" "${@:3}"; }

c4 "lan4 -> wan6: relayed" "[$A6]:$PORT" --script echo
c6 "lan6 -> wan4: relayed" "$A4:$PORT" --script echo
sleep 0.5
fd0=$(t_fd_count "$GWPID")

# ---- refused ----------------------------------------------------------------
c4 "refused (IPv6 destination): REP 5 at once" "[$A6]:$CLOSED" --want-rep 5 --within 1
fk_session_line "target=\[$A6\]:$CLOSED"
c6 "refused (IPv4 destination): REP 5 at once" "$A4:$CLOSED" --want-rep 5 --within 1

# ---- no neighbour: address resolution fails after its probes (~3 s) -------
c4bg "no neighbour (IPv4): REP 4 before connect-timeout" "$NONEIGH4:$PORT" --want-rep 4 \
	--within $CONNECT_TIMEOUT
c6bg "no neighbour (IPv6): REP 4 before connect-timeout" "[$NONEIGH6]:$PORT" --want-rep 4 \
	--within $CONNECT_TIMEOUT
# ---- SYNs dropped: only the connect timeout ends it ------------------------
c4bg "SYNs dropped (IPv4): REP 6 at connect-timeout" "$DROP4:$PORT" --want-rep 6 \
	--min-secs $((CONNECT_TIMEOUT - 1)) --within $((CONNECT_TIMEOUT + 1))
c6bg "SYNs dropped (IPv6): REP 6 at connect-timeout" "[$DROP6]:$PORT" --want-rep 6 \
	--min-secs $((CONNECT_TIMEOUT - 1)) --within $((CONNECT_TIMEOUT + 1))
# Meanwhile, others are served at once.
sleep 0.5
c4 "while four connects hang: relayed at once" "$A4:$PORT" --within 0.5 --script echo
c6 "while four connects hang: relayed at once (IPv6)" "[$A6]:$PORT" --within 0.5 --script echo
fk_collect
fk_session_line "target=$NONEIGH4:"
fk_session_line "target=\[$NONEIGH6\]:"
fk_session_line "target=$DROP4:"
fk_session_line "target=\[$DROP6\]:"

# ---- resets mid-stream -----------------------------------------------------
c4 "peer sends 1000 bytes and resets: the client gets them, then the end" "[$A6]:$PORT" \
	--script "rst-send 1000"
fk_session_line "target=\[$A6\]:$PORT"
c6 "peer resets with 4 MiB in flight: the client's connection ends" "$A4:$PORT" \
	--script "rst-send 4194304"
c4 "peer resets while the client uploads (IPv4 peer): the upload fails" "$A4:$PORT" \
	--script "rst-recv 1048576"
fk_session_line "target=$A4:$PORT"
c6 "peer resets while the client uploads (IPv6 peer): the upload fails" "[$A6]:$PORT" \
	--script "rst-recv 1048576"
c4 "after the resets: relayed" "[$A6]:$PORT" --script echo

if t_gw_alive; then
	t_pass "gateway alive after the destination faults"
else
	t_fail "gateway alive after the destination faults"
fi
n=$(t_wait_fds "$GWPID" "$((fd0 + 2))" 10)
if [ "$n" -le $((fd0 + 2)) ]; then
	t_pass "descriptors back: $n (before the faults: $fd0)"
else
	t_fail "descriptors back" "$n open, $fd0 before"
	t_fd_list "$GWPID"
fi
left=$(ip netns exec "$NS_GW" ss -Htn state established | wc -l)
if [ "$left" -eq 0 ]; then
	t_pass "no TCP connection left in the gateway's namespace"
else
	t_fail "no TCP connection left in the gateway's namespace" "$left established"
	ip netns exec "$NS_GW" ss -tn | head -n 10 | sed 's/^/#   /'
fi
t_gw_stop "gateway exits cleanly"
t_finish
