#!/bin/bash
# Third-party interop: proxychains-ng (Debian's proxychains4, an LD_PRELOAD
# client nobody here wrote) through socks64d on the reference topology.
# From the IPv4-only LAN host:
#   - socks5 with proxy_dns: proxychains answers the lookup itself with an
#     address of its own (224.x) and sends the NAME in the request (ATYP 3),
#     so unmodified curl reaches the IPv6-only www.v6.test and the IPv4-only
#     www.v4.test by name; the gateway's session line names the target;
#   - socks5 with a username and password (RFC 1929): logged in as that user;
#     a wrong password fails and is logged;
#   - socks4 to an IPv4 literal.
# From the IPv6-only LAN host: socks5 to the gateway's IPv6 address, by name
# to the IPv4-only server.
# The LAN hosts have no route to the WAN side (checked), so every success
# was relayed by the gateway.  SKIP (77) without namespaces or proxychains4.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/netns/lib.sh
. "$T_ROOT/tests/netns/lib.sh"
t_init
ns_require "proxychains interop"
if ! t_is_socks64d; then
	t_skip "proxychains interop" "needs socks64d"
	t_finish
fi
if ! command -v proxychains4 >/dev/null 2>&1; then
	t_skip "proxychains interop" "proxychains4 not installed"
	t_finish
fi
if ! ns_topology; then
	t_fail "build the namespace topology"
	t_finish
fi

A4=203.0.113.80
A6=2001:db8:6::80
mkdir -p "$T_TMP/wan6" "$T_TMP/wan4"
echo "served by wan6 over IPv6" >"$T_TMP/wan6/index.html"
echo "served by wan4 over IPv4" >"$T_TMP/wan4/index.html"
t_dnsmasq "$NS_GW" 53 127.0.0.1 $A4 $A6 || t_fail "start dnsmasq in gw"
t_httpd "$NS_WAN6" $A6 80 "$T_TMP/wan6" || t_fail "start httpd in wan6"
t_httpd "$NS_WAN4" $A4 80 "$T_TMP/wan4" || t_fail "start httpd in wan4"

if ip netns exec "$NS_LAN4" curl -sS --max-time 2 "http://$A4/" >/dev/null 2>&1; then
	t_fail "lan4 has no path of its own to wan4"
else
	t_pass "lan4 has no path of its own to wan4"
fi

printf 'carol-pw\n' | "$SOCKS64D" -p carol >"$T_TMP/users" || exit 1
chmod 600 "$T_TMP/users"
cat >"$T_TMP/gw.conf" <<EOF
listen 198.51.100.1:1080
listen [2001:db8:1::1]:1080
workers 2
nameserver 127.0.0.1
log-level info
auth none
users-file $T_TMP/users
pass from 198.51.100.0/24 to any
pass from 2001:db8:1::/64 to any
block
EOF
# Methods are per daemon: a second instance on port 1082 asks for a login.
sed -e 's/^auth none$/auth username/' -e '/^listen/d' "$T_TMP/gw.conf" >"$T_TMP/gw-login.conf"
sed -i '1i listen 198.51.100.1:1082' "$T_TMP/gw-login.conf"
t_gw_start "$NS_GW" "$T_TMP/gw.conf" "$T_TMP/gw.log" || {
	t_fail "start the gateway"
	t_finish
}
GW_LOG=$T_GW_LOG
t_gw_start "$NS_GW" "$T_TMP/gw-login.conf" "$T_TMP/gw-login.log" || {
	t_fail "start the gateway (username)"
	t_finish
}
LOGIN_LOG=$T_GW_LOG

# pc_conf NAME PROXYLINE: a proxychains configuration with remote DNS.
pc_conf() {
	cat >"$T_TMP/pc-$1.conf" <<EOF
strict_chain
proxy_dns
remote_dns_subnet 224
tcp_read_time_out 15000
tcp_connect_time_out 8000
[ProxyList]
$2
EOF
}
pc_conf s5 "socks5 198.51.100.1 1080"
pc_conf s5v6 "socks5 2001:db8:1::1 1080"
pc_conf s4 "socks4 198.51.100.1 1080"
pc_conf login "socks5 198.51.100.1 1082 carol carol-pw"
pc_conf badlogin "socks5 198.51.100.1 1082 carol wrong"

# fetch NAME NS CONF URL WANT: curl under proxychains4 in NS; PASS when the
# body is WANT.
fetch() {
	local name=$1 ns=$2 conf=$3 url=$4 want=$5 out
	out=$(ip netns exec "$ns" timeout 20 proxychains4 -q -f "$T_TMP/pc-$conf.conf" \
		curl -sS -g --max-time 10 "$url" 2>&1)
	if [ "$out" = "$want" ]; then
		t_pass "$name"
	else
		printf '%s\n' "$out" | tail -n 5 | sed 's/^/#   /'
		t_fail "$name" "wanted '$want'"
	fi
}
# logged LOG PATTERN NAME: the gateway wrote a session line matching PATTERN.
logged() {
	if t_wait_file_grep "$1" "$2" 5; then
		t_pass "$3"
	else
		t_log "last lines: $(tail -n 3 "$1")"
		t_fail "$3" "no line matches /$2/"
	fi
}

fetch "lan4, socks5 + proxy_dns: www.v6.test (IPv6-only) by name" "$NS_LAN4" s5 \
	http://www.v6.test/ "served by wan6 over IPv6"
logged "$GW_LOG" 'cmd=connect target=www\.v6\.test:80 addr=\[2001:db8:6::80\]:80 result=ok' \
	"session line: the name reached the gateway, relayed to the IPv6 address"
fetch "lan4, socks5 + proxy_dns: www.v4.test by name" "$NS_LAN4" s5 \
	http://www.v4.test/ "served by wan4 over IPv4"
fetch "lan4, socks4: IPv4 literal" "$NS_LAN4" s4 "http://$A4/" "served by wan4 over IPv4"
logged "$GW_LOG" "cmd=connect target=$A4:80 addr=$A4:80 result=ok" \
	"session line: the SOCKS4 request"
fetch "lan6, socks5 over IPv6 + proxy_dns: www.v4.test (IPv4-only) by name" "$NS_LAN6" s5v6 \
	http://www.v4.test/ "served by wan4 over IPv4"
logged "$GW_LOG" "client=\\[2001:db8:1::10\\]:[0-9]+ user=- cmd=connect target=www\\.v4\\.test:80 addr=$A4:80 result=ok" \
	"session line: IPv6 client to the IPv4 server"
fetch "lan4, socks5 with a username and password (RFC 1929)" "$NS_LAN4" login \
	http://www.v6.test/ "served by wan6 over IPv6"
logged "$LOGIN_LOG" 'user=carol cmd=connect target=www\.v6\.test:80 .*result=ok' \
	"session line: logged in as carol"
out=$(ip netns exec "$NS_LAN4" timeout 20 proxychains4 -q -f "$T_TMP/pc-badlogin.conf" \
	curl -sS -g --max-time 10 http://www.v6.test/ 2>&1)
if [ "$out" != "served by wan6 over IPv6" ]; then
	t_pass "lan4, wrong password: no page ($(printf '%s' "$out" | head -n 1 | cut -c1-70))"
else
	t_fail "lan4, wrong password: no page"
fi
logged "$LOGIN_LOG" "login failed for user 'carol' from 198\\.51\\.100\\.10:" "the failed login is logged"
logged "$LOGIN_LOG" 'result=denied .*reason="bad username or password"' \
	"session line: denied, bad username or password"

t_check "gateways alive" t_gw_alive
t_gw_stop "socks64d exits cleanly"
# t_gw_stop read the last gateway's log for sanitizer reports; the first's:
if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$GW_LOG"; then
	t_fail "no sanitizer report from the first gateway"
fi
t_finish
