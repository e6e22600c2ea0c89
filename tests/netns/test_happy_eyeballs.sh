#!/bin/bash
# RFC 8305 egress on the reference topology.  he.test has an AAAA record for
# an address on the IPv6 WAN link where no host answers (neighbour discovery
# fails, the SYN never leaves: the classic "IPv6 up but broken") and an A
# record for the IPv4 server.  The gateway must not wait for the IPv6 attempt
# to time out: after the connection attempt delay it tries IPv4 and wins.
# Also: `prefer ipv4` applied by SIGHUP, and a destination with no route
# failing at once with REP 3 instead of a timeout.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
ns_require "netns happy eyeballs scenario"
if ! ns_topology; then
	t_fail "build the namespace topology"
	t_finish
fi
if ! t_is_socks64d; then
	t_skip "happy eyeballs" "needs socks64d"
	t_finish
fi

DNS=127.0.0.1
mkdir -p "$T_TMP/wan6" "$T_TMP/wan4"
echo "served by wan6 over IPv6" >"$T_TMP/wan6/index.html"
echo "served by wan4 over IPv4" >"$T_TMP/wan4/index.html"
t_dnsmasq "$NS_GW" 53 "$DNS" 203.0.113.80 2001:db8:6::80 \
	--host-record=he.test,203.0.113.80,2001:db8:6::99 || t_fail "start dnsmasq in gw"
t_httpd "$NS_WAN6" 2001:db8:6::80 80 "$T_TMP/wan6" || t_fail "start httpd in wan6"
t_httpd "$NS_WAN4" 203.0.113.80 80 "$T_TMP/wan4" || t_fail "start httpd in wan4"

write_conf() {
	cat >"$T_TMP/socks64d.conf" <<EOF
listen 198.51.100.1:1080
workers 2
nameserver $DNS:53
prefer $1
attempt-delay 250ms
connect-timeout 8s
log-level info
pass from 198.51.100.0/24 to any
block
EOF
}
write_conf ipv6
t_gw_start "$NS_GW" "$T_TMP/socks64d.conf" "$T_TMP/gw.log" || {
	t_fail "start socks64d in gw"
	t_finish
}

fetch() {
	ip netns exec "$NS_LAN4" curl -sS --max-time 10 --socks5-hostname 198.51.100.1:1080 "$@" 2>&1
}

out=$(fetch http://he.test/)
if [ "$out" = "served by wan4 over IPv4" ]; then
	t_pass "he.test: the dead IPv6 address did not stop the IPv4 one"
else
	t_fail "he.test via IPv4 fallback" "$out"
fi
# The session line says which address won and how long the whole CONNECT
# took: the IPv6 attempt would need seconds to fail (neighbour discovery),
# the fallback comes after the 250 ms attempt delay.
line=$(grep 'target=he.test:80' "$T_TMP/gw.log" | tail -n 1)
dur=$(printf '%s\n' "$line" | sed -n 's/.*dur_ms=\([0-9]*\).*/\1/p')
case $line in
*addr=203.0.113.80:80*result=ok*) t_pass "session log: he.test connected over IPv4" ;;
*) t_fail "session log for he.test" "$line" ;;
esac
if [ -n "$dur" ] && [ "$dur" -lt 2500 ]; then
	t_pass "IPv4 attempt started after the attempt delay, not after an IPv6 timeout (${dur} ms)"
else
	t_fail "fallback timing" "dur_ms=$dur"
fi

out=$(fetch http://dual.test/)
[ "$out" = "served by wan6 over IPv6" ] && t_pass "prefer ipv6: dual.test over IPv6" ||
	t_fail "prefer ipv6: dual.test" "$out"

write_conf ipv4
kill -HUP "$(t_gw_pid)"
t_wait_file_grep "$T_TMP/gw.log" 'reloaded' 5 || t_fail "reload" "no 'reloaded' line"
out=$(fetch http://dual.test/)
[ "$out" = "served by wan4 over IPv4" ] && t_pass "prefer ipv4 (after SIGHUP): dual.test over IPv4" ||
	t_fail "prefer ipv4: dual.test" "$out"

# No route at all: fails at once with "network unreachable" (REP 3).
start=$(date +%s%N)
out=$(fetch "http://[2001:db8:99::1]/")
ms=$((($(date +%s%N) - start) / 1000000))
case $out in
*"(3)"* | *"unreachable"*) t_pass "no route: REP 3 (${ms} ms)" ;;
*) t_fail "no route" "$out" ;;
esac
t_check "gateway alive" t_gw_alive
t_gw_stop "socks64d exits cleanly"
t_finish
