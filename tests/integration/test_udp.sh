#!/usr/bin/env bash
# UDP ASSOCIATE (RFC 1928 §7) on loopback: IPv4 and IPv6 clients, literal,
# cross-family and named destinations, FRAG != 0 and foreign sources
# dropped, association ends with its control connection; PySocks as a
# third-party UDP client; counters in the session log line.
. "$(dirname "$0")/../lib.sh"
t_init
if ! t_is_socks64d; then
	t_skip "udp" "needs socks64d"
	t_finish
fi
GWP=$(t_free_port) && DNSP=$(t_free_port) && E4=$(t_free_port) && E6=$(t_free_port) || exit 1
t_dnsmasq "" "$DNSP" 127.0.0.1 127.0.0.1 ::1 || exit 1
for spec in "127.0.0.1 $E4" "::1 $E6"; do
	set -- $spec
	t_bg "$T_TMP/echo-$2.log" "" "$PYTHON" -c '
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    d, a = s.recvfrom(70000)
    s.sendto(b"echo:" + d, a)
' "$1" "$2"
	t_wait_listen "" udp "$1" "$2" 10 || exit 1
done
cat >"$T_TMP/gw.conf" <<EOF
listen 127.0.0.1:$GWP
listen [::1]:$GWP
workers 2
nameserver 127.0.0.1:$DNSP
log-level info
EOF
t_gw_start "" "$T_TMP/gw.conf" "$T_TMP/gw.log" || exit 1

for client in 127.0.0.1 ::1; do
	while read -r verdict name rest; do
		case $verdict in
		ok) t_pass "UDP via $client: $name" ;;
		*) t_fail "UDP via $client: $name" "$rest" ;;
		esac
	done < <("$PYTHON" "$T_ROOT/tests/integration/udp_probe.py" "$client" "$GWP" "$E4" "$E6" \
		www.v6.test)
done
t_check "session line counts datagrams and drops" \
	t_wait_file_grep "$T_TMP/gw.log" "cmd=udp .*result=ok .*dgrams_up=5 dgrams_down=5 dropped=[1-9]" 5

if /usr/bin/python3 -c 'import socks' 2>/dev/null; then
	out=$(/usr/bin/python3 - "$GWP" "$E4" <<'EOF' 2>&1
import socks, sys
gw, e4 = int(sys.argv[1]), int(sys.argv[2])
s = socks.socksocket(socks.socket.AF_INET, socks.socket.SOCK_DGRAM)
s.set_proxy(socks.SOCKS5, "127.0.0.1", gw)
s.settimeout(5)
s.sendto(b"pysocks", ("127.0.0.1", e4))
d, a = s.recvfrom(1000)
print(d.decode(), a[0], a[1] == e4)
EOF
)
	[ "$out" = "echo:pysocks 127.0.0.1 True" ] && t_pass "PySocks UDP through the gateway" ||
		t_fail "PySocks UDP" "$out"
else
	t_skip "PySocks UDP" "python3-socks not installed"
fi
t_check "gateway alive" t_gw_alive
t_gw_stop "socks64d exits cleanly"
t_finish
