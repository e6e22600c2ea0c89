#!/bin/bash
# Uplinks that go away and come back (router appliance issue).  On the
# reference topology the gateway's IPv6 WAN route is removed: a name with A
# and AAAA (dual.test) is then reached over IPv4 at once — netwatch has
# already marked IPv6 unreachable, so no attempt and no attempt delay is
# spent on it — and an IPv6-only name fails at once with REP 3.  The route
# comes back: IPv6 is used again, no restart.  Then the same for IPv4.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
ns_require "netns uplink scenario"
if ! ns_topology; then
	t_fail "build the namespace topology"
	t_finish
fi
if ! t_is_socks64d; then
	t_skip "uplink" "needs socks64d"
	t_finish
fi
DNS=127.0.0.1
mkdir -p "$T_TMP/wan6" "$T_TMP/wan4"
echo "served by wan6 over IPv6" >"$T_TMP/wan6/index.html"
echo "served by wan4 over IPv4" >"$T_TMP/wan4/index.html"
t_dnsmasq "$NS_GW" 53 "$DNS" 203.0.113.80 2001:db8:6::80 || t_fail "start dnsmasq in gw"
t_httpd "$NS_WAN6" 2001:db8:6::80 80 "$T_TMP/wan6" || t_fail "start httpd in wan6"
t_httpd "$NS_WAN4" 203.0.113.80 80 "$T_TMP/wan4" || t_fail "start httpd in wan4"
cat >"$T_TMP/socks64d.conf" <<EOF
listen 198.51.100.1:1080
workers 2
nameserver $DNS:53
prefer ipv6
connect-timeout 8s
log-level debug
pass from 198.51.100.0/24 to any
block
EOF
t_gw_start "$NS_GW" "$T_TMP/socks64d.conf" "$T_TMP/gw.log" || {
	t_fail "start socks64d in gw"
	t_finish
}
fetch() {
	ip netns exec "$NS_LAN4" curl -sS --max-time 10 --socks5-hostname 198.51.100.1:1080 "$@" 2>&1
}
last_dur() { # TARGET: dur_ms of the last session line for it
	grep "target=$1 " "$T_TMP/gw.log" | tail -n 1 | sed -n 's/.*dur_ms=\([0-9]*\).*/\1/p'
}
wait_netwatch() { # give the debounced snapshot time to reach the workers
	sleep 0.3
}

out=$(fetch http://dual.test/)
[ "$out" = "served by wan6 over IPv6" ] && t_pass "both uplinks: dual.test over IPv6" ||
	t_fail "both uplinks: dual.test" "$out"

# --- the IPv6 uplink goes away
ip -n "$NS_GW" -6 route del 2001:db8:6::/64 dev wan6
wait_netwatch
out=$(fetch http://dual.test/)
[ "$out" = "served by wan4 over IPv4" ] && t_pass "IPv6 route gone: dual.test over IPv4" ||
	t_fail "IPv6 route gone: dual.test" "$out"
d=$(last_dur dual.test:80)
if [ -n "$d" ] && [ "$d" -lt 200 ]; then
	t_pass "IPv4 used at once, no attempt delay spent on IPv6 (${d} ms)"
else
	t_fail "no attempt delay without an IPv6 route" "dur_ms=$d"
fi
t_check "netwatch skipped the IPv6 address" \
	t_wait_file_grep "$T_TMP/gw.log" "skipping \[2001:db8:6::80\]:80: no route" 3
out=$(fetch http://www.v6.test/)
case $out in
*"(3)"* | *nreachable*) t_pass "IPv6-only name without an IPv6 uplink: REP 3 at once" ;;
*) t_fail "IPv6-only name without an IPv6 uplink" "$out" ;;
esac

# --- it comes back
ip -n "$NS_GW" -6 route add 2001:db8:6::/64 dev wan6
wait_netwatch
out=$(fetch http://dual.test/)
[ "$out" = "served by wan6 over IPv6" ] && t_pass "IPv6 route back: dual.test over IPv6 again, no restart" ||
	t_fail "IPv6 route back" "$out"

# --- the IPv4 uplink goes away and comes back
ip -n "$NS_GW" -4 route del 203.0.113.0/24 dev wan4
wait_netwatch
out=$(fetch http://www.v4.test/)
case $out in
*"(3)"* | *nreachable*) t_pass "IPv4 route gone: IPv4-only name fails at once with REP 3" ;;
*) t_fail "IPv4 route gone: www.v4.test" "$out" ;;
esac
out=$(fetch http://dual.test/)
[ "$out" = "served by wan6 over IPv6" ] && t_pass "IPv4 route gone: dual.test still over IPv6" ||
	t_fail "IPv4 route gone: dual.test" "$out"
ip -n "$NS_GW" -4 route add 203.0.113.0/24 dev wan4
wait_netwatch
out=$(fetch http://www.v4.test/)
[ "$out" = "served by wan4 over IPv4" ] && t_pass "IPv4 route back: www.v4.test again, no restart" ||
	t_fail "IPv4 route back" "$out"
t_check "gateway alive" t_gw_alive
t_gw_stop "socks64d exits cleanly"
t_finish
