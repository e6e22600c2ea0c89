#!/bin/bash
# RFC 3089 translation with the client shim on the reference topology:
# unmodified curl, wget and python3 urllib, run under client-shim/socks64 on
# the IPv4-only LAN host, fetch http://www.v6.test/ from the IPv6-only
# server; on the IPv6-only LAN host they fetch http://www.v4.test/ from the
# IPv4-only server.  The LAN hosts have no route to the WAN side and no DNS
# server of their own (the names exist only in the gateway's dnsmasq), so
# every success proves the name went to the gateway inside a SOCKS5 CONNECT
# and the gateway translated.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
ns_require "netns shim translate scenario"

SOCKS64=$T_ROOT/client-shim/socks64
if [ ! -f "$T_ROOT/client-shim/libsocks64.so" ]; then
	t_skip "shim translate" "client-shim/libsocks64.so not built"
	t_finish
fi
if ! ns_topology; then
	t_fail "build the namespace topology"
	t_finish
fi
t_pass "topology: lan4 lan6 gw wan6 wan4 (${NS_PREFIX}-*)"

export XDG_RUNTIME_DIR=$T_TMP/run
mkdir -m 0700 "$XDG_RUNTIME_DIR"
export XDG_CONFIG_HOME=$T_TMP/config
unset SOCKS64_CONF SOCKS64_GATEWAY SOCKS64_VERBOSE

DNS=127.0.0.1
mkdir -p "$T_TMP/wan6" "$T_TMP/wan4"
echo "served by wan6 over IPv6" >"$T_TMP/wan6/index.html"
echo "served by wan4 over IPv4" >"$T_TMP/wan4/index.html"
t_dnsmasq "$NS_GW" 53 "$DNS" 203.0.113.80 2001:db8:6::80 || t_fail "start dnsmasq in gw"
t_httpd "$NS_WAN6" 2001:db8:6::80 80 "$T_TMP/wan6" || t_fail "start httpd in wan6"
t_httpd "$NS_WAN4" 203.0.113.80 80 "$T_TMP/wan4" || t_fail "start httpd in wan4"

cat >"$T_TMP/socks64d.conf" <<EOF
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
EOF
if ! t_gw_start "$NS_GW" "$T_TMP/socks64d.conf" "$T_TMP/gw.log"; then
	t_fail "start the gateway in gw"
	t_finish
fi

G4=198.51.100.1:1080
G6='[2001:db8:1::1]:1080'

# run NS GATEWAY CMD...: CMD under the shim inside namespace NS.
run() {
	local ns=$1 gw=$2
	shift 2
	timeout 30 ip netns exec "$ns" "$SOCKS64" -g "$gw" "$@"
}

# expect NAME WANT NS GATEWAY CMD...
expect() {
	local name=$1 want=$2 got
	shift 2
	got=$(run "$@" 2>"$T_TMP/stderr")
	if [ "$got" = "$want" ]; then
		t_pass "$name"
	else
		t_fail "$name" "got '$(printf '%s' "$got" | head -c 200)'; stderr: $(head -c 300 "$T_TMP/stderr")"
	fi
}

for side in "lan4 $NS_LAN4 $G4 www.v6.test wan6 over IPv6" \
	"lan6 $NS_LAN6 $G6 www.v4.test wan4 over IPv4"; do
	read -r host ns gw name rest <<<"$side"
	want="served by $rest"
	if ip netns exec "$ns" getent hosts "$name" >/dev/null 2>&1; then
		t_fail "$host cannot resolve $name without the shim" "it can"
	else
		t_pass "$host cannot resolve $name without the shim"
	fi
	expect "$host: curl under socks64 -> http://$name/" "$want" \
		"$ns" "$gw" curl -sS --max-time 20 "http://$name/"
	expect "$host: wget under socks64 -> http://$name/" "$want" \
		"$ns" "$gw" wget -q -T 20 -O - "http://$name/"
	expect "$host: python3 urllib under socks64 -> http://$name/" "$want" \
		"$ns" "$gw" "$PYTHON" -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=20).read().decode())' \
		"http://$name/"
	# One address across processes: getent, then curl to the same name.
	out=$(run "$ns" "$gw" sh -c "getent ahosts $name | head -n 1; curl -sS --max-time 20 -w ' %{remote_ip}' http://$name/" 2>&1)
	first=$(printf '%s\n' "$out" | awk 'NR == 1 { print $1 }')
	remote=$(printf '%s\n' "$out" | tail -n 1 | awk '{ print $NF }')
	if [ -n "$first" ] && [ "$first" = "$remote" ]; then
		t_pass "$host: getent and curl see one synthetic address ($first)"
	else
		t_fail "$host: one synthetic address across processes" "got: $out"
	fi
	expect "$host: getent hosts $first -> $name" "$name" \
		"$ns" "$gw" sh -c "getent hosts '$first' | awk '{ print \$2 }'"
done

# The IPv4-only host gets IPv4 synthetic addresses first; the IPv6-only
# host IPv6 ones (AI_ADDRCONFIG: only its own family).
expect "lan4: AI_ADDRCONFIG answer is IPv4 only" "AF_INET" \
	"$NS_LAN4" "$G4" "$PYTHON" -c 'import socket
print(*sorted({a[0].name for a in socket.getaddrinfo("dual.test", 80, 0, socket.SOCK_STREAM, 0, socket.AI_ADDRCONFIG)}))'
expect "lan6: AI_ADDRCONFIG answer is IPv6 only" "AF_INET6" \
	"$NS_LAN6" "$G6" "$PYTHON" -c 'import socket
print(*sorted({a[0].name for a in socket.getaddrinfo("dual.test", 80, 0, socket.SOCK_STREAM, 0, socket.AI_ADDRCONFIG)}))'

if t_is_socks64d; then
	if t_wait_file_grep "$T_GW_LOG" \
		'client=198\.51\.100\.10:[0-9]+ .*target=www\.v6\.test:80 .*result=ok' 5; then
		t_pass "session log: lan4 sent the name www.v6.test"
	else
		t_fail "session log: lan4 -> www.v6.test" "no such line"
	fi
fi

t_gw_stop "gateway exits cleanly on SIGTERM"
[ "$T_FAILED" -gt 0 ] && t_gw_log_tail 40
t_finish
