#!/bin/bash
# The translation scenario on the reference topology: from the IPv4-only LAN
# host, curl --socks5-hostname fetches http://www.v6.test/ from the IPv6-only
# server through socks64d; from the IPv6-only LAN host, http://www.v4.test/
# from the IPv4-only server.  Negative checks prove the LAN hosts have no
# path of their own to the WAN side, so every success was relayed (and
# translated) by the gateway.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
ns_require "netns translate scenario"

if ! ns_topology; then
	t_fail "build the namespace topology"
	t_finish
fi
t_pass "topology: lan4 lan6 gw wan6 wan4 (${NS_PREFIX}-*)"

# --- the topology is what it claims to be
t_check "gw forwards nothing (ip_forward=0)" \
	test "$(ip netns exec "$NS_GW" sysctl -n net.ipv4.ip_forward)" = 0
t_check "lan4 has no IPv6 at all" \
	test -z "$(ip -n "$NS_LAN4" -6 addr show)"
t_check "lan4 has no default route" \
	test -z "$(ip -n "$NS_LAN4" route show default)"
t_check "lan6 has no IPv4 address beyond loopback" \
	test -z "$(ip -n "$NS_LAN6" -4 addr show scope global)"
t_check "lan6 has no default route" \
	test -z "$(ip -n "$NS_LAN6" -6 route show default)"

no_path() {
	local name=$1 ns=$2 url=$3 out
	if out=$(ip netns exec "$ns" curl -sS -g --max-time 3 "$url" 2>&1); then
		t_fail "$name" "reached it directly: $out"
	else
		t_pass "$name ($(printf '%s' "$out" | head -c 80))"
	fi
}

DNS=127.0.0.1
mkdir -p "$T_TMP/wan6" "$T_TMP/wan4"
echo "served by wan6 over IPv6" >"$T_TMP/wan6/index.html"
echo "served by wan4 over IPv4" >"$T_TMP/wan4/index.html"
head -c $((8 * 1024 * 1024)) /dev/urandom >"$T_TMP/wan6/blob.bin"
BLOBSUM=$(sha256sum <"$T_TMP/wan6/blob.bin" | cut -d' ' -f1)

t_dnsmasq "$NS_GW" 53 "$DNS" 203.0.113.80 2001:db8:6::80 || t_fail "start dnsmasq in gw"
t_dns_zone_checks "$NS_GW" "$DNS" 53 203.0.113.80 2001:db8:6::80
t_httpd "$NS_WAN6" 2001:db8:6::80 80 "$T_TMP/wan6" || t_fail "start httpd in wan6"
t_httpd "$NS_WAN4" 203.0.113.80 80 "$T_TMP/wan4" || t_fail "start httpd in wan4"

# Only on-link routes: the LAN hosts cannot reach either server themselves.
no_path "lan4 has no path to wan6 (2001:db8:6::80)" "$NS_LAN4" "http://[2001:db8:6::80]/"
no_path "lan4 has no path to wan4 (203.0.113.80)" "$NS_LAN4" "http://203.0.113.80/"
no_path "lan6 has no path to wan6 (2001:db8:6::80)" "$NS_LAN6" "http://[2001:db8:6::80]/"
no_path "lan6 has no path to wan4 (203.0.113.80)" "$NS_LAN6" "http://203.0.113.80/"
# ... while the gateway itself reaches both servers.
t_check "gw reaches wan6 directly" ip netns exec "$NS_GW" curl -sSf --max-time 5 -g \
	"http://[2001:db8:6::80]/"
t_check "gw reaches wan4 directly" ip netns exec "$NS_GW" curl -sSf --max-time 5 \
	"http://203.0.113.80/"

cat >"$T_TMP/socks64d.conf" <<EOF2
listen 198.51.100.1:1080
listen [2001:db8:1::1]:1080
workers 2
nameserver $DNS:53
handshake-timeout 5s
connect-timeout 5s
log-level info
pass from 198.51.100.0/24 to any
pass from 2001:db8:1::/64 to any
block
EOF2
if ! t_is_socks64d; then
	# Debugging the script against microsocks: the system resolver, pointed
	# at the gw's dnsmasq through a private resolv.conf.
	echo "nameserver $DNS" >"$T_TMP/resolv.conf"
	export T_GW_MOUNTS="$T_TMP/resolv.conf=/etc/resolv.conf"
fi
if ! t_gw_start "$NS_GW" "$T_TMP/socks64d.conf" "$T_TMP/gw.log"; then
	t_fail "start the gateway in gw"
	t_finish
fi
t_pass "gateway ready on 198.51.100.1:1080 and [2001:db8:1::1]:1080"

# fetch NAME NS PROXYURL URL WANT...: the page must be one of WANT.
fetch() {
	local name=$1 ns=$2 proxy=$3 url=$4 body w
	shift 4
	body=$(ip netns exec "$ns" curl -sS -g --max-time 20 -x "$proxy" "$url" 2>&1)
	for w in "$@"; do
		if [ "$body" = "$w" ]; then
			t_pass "$name: $body"
			return 0
		fi
	done
	t_fail "$name" "got: $(printf '%s' "$body" | head -c 200)"
}

P4='socks5h://198.51.100.1:1080'
P6='socks5h://[2001:db8:1::1]:1080'
fetch "lan4 (IPv4 only) -> www.v6.test via the gateway" "$NS_LAN4" "$P4" \
	http://www.v6.test/ "served by wan6 over IPv6"
fetch "lan6 (IPv6 only) -> www.v4.test via the gateway" "$NS_LAN6" "$P6" \
	http://www.v4.test/ "served by wan4 over IPv4"
fetch "lan4 -> dual.test" "$NS_LAN4" "$P4" http://dual.test/ \
	"served by wan6 over IPv6" "served by wan4 over IPv4"
fetch "lan6 -> dual.test" "$NS_LAN6" "$P6" http://dual.test/ \
	"served by wan6 over IPv6" "served by wan4 over IPv4"
fetch "lan4 -> www.v4.test (same family)" "$NS_LAN4" "$P4" http://www.v4.test/ \
	"served by wan4 over IPv4"
fetch "lan4 --socks5 IPv6 literal (ATYP 4)" "$NS_LAN4" socks5://198.51.100.1:1080 \
	"http://[2001:db8:6::80]/" "served by wan6 over IPv6"
fetch "lan6 --socks5 IPv4 literal (ATYP 1)" "$NS_LAN6" "socks5://[2001:db8:1::1]:1080" \
	http://203.0.113.80/ "served by wan4 over IPv4"

sum=$(ip netns exec "$NS_LAN4" curl -sS --max-time 60 -x "$P4" http://www.v6.test/blob.bin |
	sha256sum | cut -d' ' -f1)
if [ "$sum" = "$BLOBSUM" ]; then
	t_pass "lan4 -> www.v6.test 8 MiB, sha256 equal"
else
	t_fail "lan4 -> www.v6.test 8 MiB" "sha256 $sum, want $BLOBSUM"
fi

if t_is_socks64d; then
	# Clients off the gateway's own host may not reach its loopback through
	# "any" (only a rule naming it explicitly would allow that).
	t_check "lan4 may not CONNECT to the gateway's loopback (REP 2)" \
		ip netns exec "$NS_LAN4" "$PYTHON" "$T_ROOT/tests/integration/socks_probe.py" \
		--proxy 198.51.100.1:1080 --target 127.0.0.1:53 --want-rep 2 target_rep
	if t_wait_file_grep "$T_GW_LOG" \
		'client=198\.51\.100\.10:[0-9]+ .*target=www\.v6\.test:80 .*addr=\[2001:db8:6::80\]:80 .*result=ok' 5; then
		t_pass "session log: lan4 -> www.v6.test via [2001:db8:6::80]:80, result=ok"
	else
		t_fail "session log: lan4 -> www.v6.test" "no such line"
	fi
	if t_wait_file_grep "$T_GW_LOG" \
		'client=\[2001:db8:1::10\]:[0-9]+ .*target=www\.v4\.test:80 .*addr=203\.0\.113\.80:80 .*result=ok' 5; then
		t_pass "session log: lan6 -> www.v4.test via 203.0.113.80:80, result=ok"
	else
		t_fail "session log: lan6 -> www.v4.test" "no such line"
	fi
fi

t_gw_stop "gateway exits cleanly on SIGTERM"
[ "$T_FAILED" -gt 0 ] && t_gw_log_tail 40
t_finish
