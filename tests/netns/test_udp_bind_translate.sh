#!/bin/bash
# UDP ASSOCIATE and BIND across address families on the reference
# topology.  From the IPv4-only LAN host: a UDP echo on the IPv6-only server
# by name under client-shim/socks64 and with PySocks directly; the reverse
# direction from the IPv6-only host; FTP in active mode in each family;
# a connect-back service (only the port travels in the protocol) across
# families through the shim's BIND; Dante's socksify as a third-party
# client of socks64d for UDP and BIND.  The LAN hosts have no route to the
# WAN side, so every success went through the gateway.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
ns_require "netns UDP/BIND translate scenario"

SOCKS64=$T_ROOT/client-shim/socks64
if [ ! -f "$T_ROOT/client-shim/libsocks64.so" ] || ! t_is_socks64d; then
	t_skip "UDP/BIND translate" "needs client-shim/libsocks64.so and socks64d"
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
INT=$T_ROOT/tests/integration
FTPD_PY=/usr/bin/python3

t_dnsmasq "$NS_GW" 53 127.0.0.1 203.0.113.80 2001:db8:6::80 || t_fail "start dnsmasq in gw"
for spec in "$NS_WAN6 2001:db8:6::80" "$NS_WAN4 203.0.113.80"; do
	read -r ns addr <<<"$spec"
	t_bg "$T_TMP/echo-$addr.log" "$ns" "$PYTHON" -c '
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 7))
while True:
    d, a = s.recvfrom(70000)
    s.sendto(b"echo:" + d, a)
' "$addr"
	t_wait_listen "$ns" udp "$addr" 7 10 || t_fail "UDP echo on $addr"
	t_bg "$T_TMP/callback-$addr.log" "$ns" "$PYTHON" "$INT/callback_server.py" "$addr" 7000
	t_wait_listen "$ns" tcp "$addr" 7000 10 || t_fail "callback service on $addr"
done

cat >"$T_TMP/socks64d.conf" <<EOF
listen 198.51.100.1:1080
listen [2001:db8:1::1]:1080
workers 2
nameserver 127.0.0.1:53
handshake-timeout 5s
connect-timeout 5s
bind-timeout 10s
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

# shim NS GATEWAY CMD...: CMD under the shim inside namespace NS.
shim() {
	local ns=$1 gw=$2
	shift 2
	timeout -k 5 60 ip netns exec "$ns" "$SOCKS64" -q -g "$gw" "$@"
}

# expect NAME WANT CMD...: CMD's stdout must be exactly WANT.
expect() {
	local name=$1 want=$2 got
	shift 2
	got=$("$@" 2>"$T_TMP/stderr")
	if [ "$got" = "$want" ]; then
		t_pass "$name"
	else
		t_fail "$name" "got '$(printf '%s' "$got" | head -c 300)'; stderr: $(head -c 300 "$T_TMP/stderr")"
	fi
}

# --- UDP under the shim, both directions (checks of shim_udp_probe.py) ---
for side in "lan4 $NS_LAN4 $G4 www.v6.test 4" "lan6 $NS_LAN6 $G6 www.v4.test 6"; do
	read -r host ns gw name fam <<<"$side"
	while read -r verdict what rest; do
		case $verdict in
		ok) t_pass "$host: UDP under socks64 -> $name: $what" ;;
		*) t_fail "$host: UDP under socks64 -> $name: ${what%:}" "$rest" ;;
		esac
	done < <(shim "$ns" "$gw" "$PYTHON" "$INT/shim_udp_probe.py" "$name" 7 "$fam" 2>&1)
done
if t_wait_file_grep "$T_GW_LOG" \
	'client=198\.51\.100\.10:[0-9]+ .*cmd=udp .*result=ok .*dgrams_down=[1-9]' 5 &&
	t_wait_file_grep "$T_GW_LOG" \
		'client=\[2001:db8:1::10\]:[0-9]+ .*cmd=udp .*result=ok .*dgrams_down=[1-9]' 5; then
	t_pass "session log: UDP associations from lan4 and lan6 relayed datagrams"
else
	t_fail "session log: UDP from lan4 and lan6" "$(grep 'cmd=udp' "$T_GW_LOG" | tail -n 2)"
fi

# --- PySocks UDP, directly (it needs an IPv4 proxy address: lan4 only) ---
if /usr/bin/python3 -c 'import socks' 2>/dev/null; then
	expect "lan4: PySocks UDP by name -> www.v6.test (IPv6-only)" "echo:pysocks" \
		timeout -k 5 30 ip netns exec "$NS_LAN4" /usr/bin/python3 -c 'import socks
s = socks.socksocket(socks.socket.AF_INET, socks.socket.SOCK_DGRAM)
s.set_proxy(socks.SOCKS5, "198.51.100.1", 1080, rdns=True)
s.settimeout(5)
s.sendto(b"pysocks", ("www.v6.test", 7))
print(s.recvfrom(100)[0].decode())'
else
	t_skip "PySocks UDP" "python3-socks not installed"
fi

# --- FTP active mode, each family (PORT/EPRT name the gateway's address) ---
mkdir -p "$T_TMP/ftp"
head -c 2000000 /dev/urandom >"$T_TMP/ftp/file.bin"
want=$(sha256sum "$T_TMP/ftp/file.bin" | cut -d' ' -f1)
if ! "$FTPD_PY" -c 'import pyftpdlib' 2>/dev/null; then
	t_skip "FTP active mode" "python3-pyftpdlib not installed"
else
	for spec in "$NS_WAN6 2001:db8:6::80" "$NS_WAN4 203.0.113.80"; do
		read -r ns addr <<<"$spec"
		t_bg "$T_TMP/ftpd-$addr.log" "$ns" "$FTPD_PY" "$INT/shim_ftp.py" serve "$addr" 21 \
			"$T_TMP/ftp"
		t_wait_listen "$ns" tcp "$addr" 21 10 || t_fail "pyftpdlib on $addr"
	done
	expect "lan4: FTP active mode (ftplib) -> www.v4.test: SHA-256" "$want" \
		shim "$NS_LAN4" "$G4" "$PYTHON" "$INT/shim_ftp.py" get www.v4.test 21 file.bin 4
	expect "lan6: FTP active mode (ftplib) -> www.v6.test: SHA-256" "$want" \
		shim "$NS_LAN6" "$G6" "$PYTHON" "$INT/shim_ftp.py" get www.v6.test 21 file.bin 6
	expect "lan4: FTP active mode (curl --ftp-port -) -> www.v4.test: SHA-256" "$want" \
		sh -c "timeout -k 5 60 ip netns exec '$NS_LAN4' '$SOCKS64' -q -g '$G4' curl -sS \
			--max-time 30 --ftp-port - ftp://www.v4.test/file.bin | sha256sum | cut -d' ' -f1"
fi

# --- BIND across families through the shim: only the port travels ---
expect "lan4 (IPv4) -> www.v6.test: connect-back through a gateway BIND" \
	"callback from 2001:db8:6::80 peer-ok" \
	shim "$NS_LAN4" "$G4" "$PYTHON" "$INT/callback_client.py" www.v6.test 7000
expect "lan6 (IPv6) -> www.v4.test: connect-back through a gateway BIND" \
	"callback from 203.0.113.80 peer-ok" \
	shim "$NS_LAN6" "$G6" "$PYTHON" "$INT/callback_client.py" www.v4.test 7000
if t_wait_file_grep "$T_GW_LOG" 'cmd=bind target=www\.v6\.test:0 addr=\[2001:db8:6::80\]:[0-9]+ result=ok' 5 &&
	t_wait_file_grep "$T_GW_LOG" 'cmd=bind target=www\.v4\.test:0 addr=203\.0\.113\.80:[0-9]+ result=ok' 5; then
	t_pass "session log: BINDs by name, the peer in the other family"
else
	t_fail "session log: cross-family BIND" "$(grep 'cmd=bind' "$T_GW_LOG" | tail -n 3)"
fi

# --- Dante's socksify as a client of socks64d (third-party interop) ---
if ! command -v socksify >/dev/null 2>&1; then
	t_skip "Dante socksify UDP and BIND" "dante-client not installed"
else
	cat >"$T_TMP/socks.conf" <<EOF
resolveprotocol: fake
route {
	from: 0.0.0.0/0 to: 0.0.0.0/0 via: 198.51.100.1 port = 1080
	proxyprotocol: socks_v5
	command: connect bind udpassociate
	method: none
}
EOF
	dante() {
		timeout -k 5 60 ip netns exec "$NS_LAN4" env SOCKS_CONF="$T_TMP/socks.conf" \
			SOCKS_AUTOADD_LANROUTES=no socksify "$@"
	}
	expect "Dante socksify (lan4): UDP by name -> www.v6.test" "echo:dante" \
		dante /usr/bin/python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
s.sendto(b"dante", ("www.v6.test", 7))
print(s.recvfrom(100)[0].decode())'
	# BIND peers as IP literals: with fake resolution Dante names its
	# own fake address as the expected peer.
	expect "Dante socksify (lan4): BIND, connect-back from 203.0.113.80" \
		"callback from 203.0.113.80 peer-ok" \
		dante /usr/bin/python3 "$INT/callback_client.py" 203.0.113.80 7000 --libc-accept
	if t_wait_file_grep "$T_GW_LOG" \
		'client=198\.51\.100\.10:[0-9]+ .*cmd=bind target=203\.0\.113\.80:[0-9]+ .*result=ok' 5; then
		t_pass "session log: Dante's BIND went through socks64d"
	else
		t_fail "session log: Dante's BIND" "$(grep 'cmd=bind' "$T_GW_LOG" | tail -n 2)"
	fi
fi

t_check "gateway alive" t_gw_alive
t_gw_stop "gateway exits cleanly on SIGTERM"
[ "$T_FAILED" -gt 0 ] && t_gw_log_tail 40
t_finish
