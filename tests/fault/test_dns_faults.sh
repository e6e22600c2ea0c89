#!/bin/bash
# DNS faults on the reference topology: the gateway's name server answers
# late, SERVFAIL, REFUSED, truncated (TC, so the resolver must retry over
# TCP), cut off, with a wrong ID, drops the first query; a server that
# refuses the TCP retry; a server that is down (port unreachable), one that
# is blackholed (no neighbour), and a dead first server with a good second.
# Each case is a CONNECT by name from the IPv4-only or IPv6-only LAN host:
# the REP, how long it took, the session's log line; literals keep working
# while DNS is broken; the daemon survives late answers and its descriptors
# come back to where they were.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/netns/lib.sh
. "$T_ROOT/tests/netns/lib.sh"
# shellcheck source=tests/fault/lib.sh
. "$T_ROOT/tests/fault/lib.sh"
t_init
ns_require "DNS fault scenarios"
if ! t_is_socks64d; then
	t_skip "DNS faults" "needs socks64d"
	t_finish
fi

if ! ns_topology; then
	t_fail "build the namespace topology"
	t_finish
fi
# The fault server (203.0.113.53), a second one without TCP (.54), an
# address with nothing on port 53 (2001:db8:6::53), and 203.0.113.99, which
# has no neighbour: queries to it vanish.
ns_addr "$NS_WAN4" eth0 203.0.113.53/24 && ns_addr "$NS_WAN4" eth0 203.0.113.54/24 &&
	ns_addr "$NS_WAN6" eth0 2001:db8:6::53/64 || t_fail "DNS server addresses"

A4=203.0.113.80
A6=2001:db8:6::80
PEERPORT=7000
DELAY=4
t_bg "$T_TMP/dns.log" "$NS_WAN4" "$PYTHON" "$FAULTKIT" dns --listen 203.0.113.53:53 \
	--a4 $A4 --a6 $A6 --delay $DELAY
t_bg "$T_TMP/dns-notcp.log" "$NS_WAN4" "$PYTHON" "$FAULTKIT" dns --listen 203.0.113.54:53 \
	--no-tcp --a4 $A4 --a6 $A6
t_bg "$T_TMP/peer4.log" "$NS_WAN4" "$PYTHON" "$FAULTKIT" peer --listen $A4:$PEERPORT
t_bg "$T_TMP/peer6.log" "$NS_WAN6" "$PYTHON" "$FAULTKIT" peer --listen "[$A6]:$PEERPORT"
t_wait_listen "$NS_WAN4" udp 203.0.113.53 53 10 && t_wait_listen "$NS_WAN4" tcp 203.0.113.53 53 10 &&
	t_wait_listen "$NS_WAN4" udp 203.0.113.54 53 10 &&
	t_wait_listen "$NS_WAN4" tcp $A4 $PEERPORT 10 && t_wait_listen "$NS_WAN6" tcp $A6 $PEERPORT 10 ||
	{
		t_fail "start the fault DNS servers and peers"
		t_finish
	}
t_dns_expect "$NS_GW" 203.0.113.53 53 c0.ok.fault.test A "rcode=NOERROR answers=1 $A4"
t_dns_expect "$NS_GW" 203.0.113.53 53 c0.servfail.fault.test A "rcode=SERVFAIL answers=0"
t_check "203.0.113.54 refuses TCP" \
	ip netns exec "$NS_GW" "$PYTHON" -c '
import socket, sys
try:
    socket.create_connection(("203.0.113.54", 53), timeout=3)
except ConnectionRefusedError:
    sys.exit(0)
sys.exit(1)'

P4=198.51.100.1:1080
P6='[2001:db8:1::1]:1080'
DNS_TIMEOUT_MS=500
DNS_TRIES=2
CONNECT_TIMEOUT=4
# c-ares doubles the timeout on each try: 0.5 s + 1 s before it gives up.
RESOLVER_SECS=1.5

# gw_with NAME NAMESERVER...: (re)start the gateway with these name servers.
gw_with() {
	local name=$1 ns
	shift
	if [ ${#T_GW_PIDS[@]} -gt 0 ]; then
		t_gw_stop "gateway ($CUR_GW) exits cleanly"
	fi
	CUR_GW=$name
	{
		echo "listen $P4"
		echo "listen $P6"
		echo "workers 2"
		for ns in "$@"; do echo "nameserver $ns"; done
		echo "dns-timeout ${DNS_TIMEOUT_MS}ms"
		echo "dns-tries $DNS_TRIES"
		echo "connect-timeout ${CONNECT_TIMEOUT}s"
		echo "dns-negative-ttl 0"
		echo "log-level info"
		echo "pass from 198.51.100.0/24 to any"
		echo "pass from 2001:db8:1::/64 to any"
		echo "block"
	} >"$T_TMP/gw-$name.conf"
	if ! t_gw_start "$NS_GW" "$T_TMP/gw-$name.conf" "$T_TMP/gw-$name.log"; then
		t_fail "start the gateway ($name)"
		t_finish
	fi
}
CUR_GW=

# c4/c6 LABEL TARGET [connect options]: a CONNECT from lan4 / lan6.
c4() { fk_connect "$NS_LAN4" "$P4" "$2" "$1" "${@:3}"; }
c6() { fk_connect "$NS_LAN6" "$P6" "$2" "$1" "${@:3}"; }

# ---- one good server with faults by name --------------------------------
gw_with faults 203.0.113.53
GWPID=$(t_gw_pid)
c4 "warm-up: name from lan4 reaches wan6" c1.ok.fault.test:$PEERPORT --name --script echo
c6 "warm-up: name from lan6 reaches wan6" c2.ok.fault.test:$PEERPORT --name --script echo
sleep 0.5
fd0=$(t_fd_count "$GWPID")

c4 "answer after 0.3 s: relayed" c1.slowish.fault.test:$PEERPORT --name --script echo
c6 "first query dropped, the retry answered: relayed" c1.drop1.fault.test:$PEERPORT --name \
	--within 2.5 --script echo
c4 "SERVFAIL: REP 4 at once" c1.servfail.fault.test:$PEERPORT --name --want-rep 4 --within 1
fk_session_line 'target=c1\.servfail' 'result=dns-fail .*reason="dns server failure"'
c6 "REFUSED: REP 4 at once" c1.refused.fault.test:$PEERPORT --name --want-rep 4 --within 1
fk_session_line 'target=c1\.refused' 'result=dns-fail .*reason="dns server failure"'
c4 "TC over UDP, retried over TCP: relayed" c1.tc.fault.test:$PEERPORT --name --script echo
if grep -q 'proto=tcp .*name=c1\.tc\.fault\.test' "$T_TMP/dns.log"; then
	t_pass "the truncated answer was asked again over TCP"
else
	t_fail "the truncated answer was asked again over TCP" "no TCP query in the server's log"
fi
c6 "answer cut in its answer record: REP 4" c1.cut.fault.test:$PEERPORT --name --want-rep 4 \
	--within $CONNECT_TIMEOUT
fk_session_line 'target=c1\.cut' 'result=dns-fail .*reason="dns server failure"'
c4 "answer with a wrong ID ignored: REP 4 after the resolver's timeout" \
	c1.wrongid.fault.test:$PEERPORT --name --want-rep 4 --min-secs 1 --within $CONNECT_TIMEOUT
fk_session_line 'target=c1\.wrongid' 'result=dns-fail .*reason="dns timeout"'
t0=$(date +%s)
c6 "answer after ${DELAY}s (past the resolver's ${RESOLVER_SECS}s): REP 4 before connect-timeout" \
	c1.slow.fault.test:$PEERPORT --name --want-rep 4 --min-secs 1 --within $CONNECT_TIMEOUT
fk_session_line 'target=c1\.slow' 'result=dns-fail .*reason="dns timeout"'
c4 "while an answer is overdue: literal relayed" $A4:$PEERPORT --script echo
# The late answers arrive now; the daemon must shrug them off.
sleep $((DELAY + 1 - ($(date +%s) - t0)))
c4 "after the late answers: name relayed" c3.ok.fault.test:$PEERPORT --name --script echo
if grep -Eq 'result=dns-fail' "$T_GW_LOG"; then
	t_pass "failed lookups logged as result=dns-fail"
else
	t_fail "failed lookups logged as result=dns-fail" "$(grep -c session= "$T_GW_LOG") lines"
fi
n=$(t_wait_fds "$GWPID" "$((fd0 + 2))" 10)
if [ "$n" -le $((fd0 + 2)) ]; then
	t_pass "descriptors back after the DNS faults: $n (before: $fd0)"
else
	t_fail "descriptors back after the DNS faults" "$n open, $fd0 before"
	t_fd_list "$GWPID"
fi

# ---- TC, and the TCP retry refused ---------------------------------------
gw_with notcp 203.0.113.54
c4 "no TCP: plain answer still relayed" c4.ok.fault.test:$PEERPORT --name --script echo
c6 "TC and the TCP retry refused: REP 4 before connect-timeout" c4.tc.fault.test:$PEERPORT \
	--name --want-rep 4 --within $CONNECT_TIMEOUT
fk_session_line 'target=c4\.tc' 'result=dns-fail .*reason="dns server failure"'

# ---- the server is down: port unreachable --------------------------------
gw_with down "[2001:db8:6::53]"
c4 "server down (port unreachable): REP 4 before connect-timeout" c5.ok.fault.test:$PEERPORT \
	--name --want-rep 4 --within $CONNECT_TIMEOUT
fk_session_line 'target=c5\.ok' 'result=dns-fail .*reason="dns server failure"'
c6 "server down: literal relayed" "[$A6]:$PEERPORT" --script echo

# ---- the server is blackholed: no neighbour answers ----------------------
gw_with blackhole 203.0.113.99
c6 "server blackholed: REP 4 before connect-timeout" c6.ok.fault.test:$PEERPORT --name \
	--want-rep 4 --within $CONNECT_TIMEOUT
fk_session_line 'target=c6\.ok' 'result=dns-fail .*reason="dns timeout"'
c4 "server blackholed: literal relayed" $A4:$PEERPORT --script echo

# ---- first server dead, second good --------------------------------------
gw_with failover 203.0.113.99 203.0.113.53
c4 "first server blackholed, second answers: relayed" c7.ok.fault.test:$PEERPORT --name \
	--within $CONNECT_TIMEOUT --script echo
c6 "and again: relayed" c8.ok.fault.test:$PEERPORT --name --within $CONNECT_TIMEOUT \
	--script echo

t_gw_stop "gateway ($CUR_GW) exits cleanly"
t_finish
