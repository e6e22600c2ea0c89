#!/bin/bash
# UDP and BIND through the client shim on loopback (RFC 1928 §7 and §4):
# a python UDP client under client-shim/socks64 reaches an echo service by
# a name only the gateway resolves (IPv4 and IPv6 sockets, both families of
# destination), sees the synthetic address as the source, and its
# association ends with the socket; connected UDP; FTP in active mode
# (python's ftplib and curl --ftp-port -) downloads a file through a
# gateway-side BIND, its SHA-256 checked, in both families.  No root needed.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init

SOCKS64=$T_ROOT/client-shim/socks64
if [ ! -f "$T_ROOT/client-shim/libsocks64.so" ]; then
	t_skip "shim UDP/BIND" "client-shim/libsocks64.so not built"
	t_finish
fi
if ! t_is_socks64d; then
	t_skip "shim UDP/BIND" "needs socks64d"
	t_finish
fi

DNSPORT=$(t_free_port) && GWPORT=$(t_free_port) && ECHO=$(t_free_port) &&
	FTPPORT=$(t_free_port) || exit 1

export XDG_RUNTIME_DIR=$T_TMP/run
mkdir -m 0700 "$XDG_RUNTIME_DIR"
export XDG_CONFIG_HOME=$T_TMP/config
export SOCKS64_GATEWAY=127.0.0.1:$GWPORT
unset SOCKS64_CONF SOCKS64_VERBOSE

t_dnsmasq "" "$DNSPORT" 127.0.0.1 127.0.0.1 ::1 || {
	t_fail "start dnsmasq"
	t_finish
}
for a in 127.0.0.1 ::1; do
	t_bg "$T_TMP/echo-$a.log" "" "$PYTHON" -c '
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    d, a = s.recvfrom(70000)
    s.sendto(b"echo:" + d, a)
' "$a" "$ECHO"
	t_wait_listen "" udp "$a" "$ECHO" 10 || t_fail "start the UDP echo on $a"
done

cat >"$T_TMP/socks64d.conf" <<EOF
listen 127.0.0.1:$GWPORT
listen [::1]:$GWPORT
workers 1
nameserver 127.0.0.1:$DNSPORT
handshake-timeout 5s
connect-timeout 5s
bind-timeout 10s
log-level info
EOF
if ! t_gw_start "" "$T_TMP/socks64d.conf" "$T_TMP/gw.log"; then
	t_fail "start gateway"
	t_finish
fi

# UDP: every combination of socket family and destination family.
for spec in "4 www.v4.test" "4 www.v6.test" "6 www.v4.test" "6 www.v6.test"; do
	read -r fam name <<<"$spec"
	while read -r verdict what rest; do
		case $verdict in
		ok) t_pass "UDP, IPv$fam socket -> $name: $what" ;;
		*) t_fail "UDP, IPv$fam socket -> $name: ${what%:}" "$rest" ;;
		esac
	done < <(timeout -k 5 60 "$SOCKS64" -q "$PYTHON" \
		"$T_ROOT/tests/integration/shim_udp_probe.py" "$name" "$ECHO" "$fam" 2>&1)
done
# The gateway relayed by name: the echo services never saw the program's
# own socket, only the gateway's relay (one line per association, each
# closed with its socket).
if t_wait_file_grep "$T_TMP/gw.log" \
	'cmd=udp .*result=ok .*dgrams_up=[1-9][0-9]* dgrams_down=[1-9].*dropped=0' 5; then
	t_pass "gateway session log: UDP associations relayed datagrams, none dropped"
else
	t_fail "gateway UDP session lines" "$(grep 'cmd=udp' "$T_TMP/gw.log" | tail -n 3)"
fi

# A direct peer of the same socket (loopback bypasses the gateway) is
# passed through with its real address.
expect_out() {
	local name=$1 want=$2 got
	shift 2
	got=$(timeout -k 5 60 "$@" 2>"$T_TMP/stderr")
	if [ "$got" = "$want" ]; then
		t_pass "$name"
	else
		t_fail "$name" "got '$(printf '%s' "$got" | head -c 300)'; stderr: $(head -c 300 "$T_TMP/stderr")"
	fi
}
expect_out "UDP: relayed and direct datagrams on one socket" "echo:via-gw echo:direct 127.0.0.1" \
	"$SOCKS64" -q "$PYTHON" -c 'import socket, sys
p = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(b"via-gw", ("www.v6.test", p))
a = s.recvfrom(100)[0].decode()
s.sendto(b"direct", ("127.0.0.1", p))
d, src = s.recvfrom(100)
print(a, d.decode(), src[0])' "$ECHO"
expect_out "UDP: unknown synthetic address is EHOSTUNREACH" "EHOSTUNREACH" \
	"$SOCKS64" -q "$PYTHON" -c 'import socket, errno
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.sendto(b"x", ("0.255.255.250", 7))
except OSError as e:
    print(errno.errorcode.get(e.errno, e))'

# FTP in active mode: the data connection comes back through a BIND.
mkdir -p "$T_TMP/ftp"
head -c 3000000 /dev/urandom >"$T_TMP/ftp/file.bin"
want=$(sha256sum "$T_TMP/ftp/file.bin" | cut -d' ' -f1)
FTPD_PY=/usr/bin/python3
if ! "$FTPD_PY" -c 'import pyftpdlib' 2>/dev/null; then
	t_skip "FTP active mode" "python3-pyftpdlib not installed"
else
	for a in 127.0.0.1 ::1; do
		t_bg "$T_TMP/ftpd-$a.log" "" "$FTPD_PY" "$T_ROOT/tests/integration/shim_ftp.py" \
			serve "$a" "$FTPPORT" "$T_TMP/ftp"
		t_wait_listen "" tcp "$a" "$FTPPORT" 10 || t_fail "start pyftpdlib on $a"
	done
	expect_out "FTP active mode, python ftplib, IPv4 -> www.v4.test: SHA-256" "$want" \
		"$SOCKS64" -q "$PYTHON" "$T_ROOT/tests/integration/shim_ftp.py" get www.v4.test \
		"$FTPPORT" file.bin 4
	expect_out "FTP active mode, python ftplib, IPv6 -> www.v6.test: SHA-256" "$want" \
		"$SOCKS64" -q "$PYTHON" "$T_ROOT/tests/integration/shim_ftp.py" get www.v6.test \
		"$FTPPORT" file.bin 6
	expect_out "FTP active mode, curl --ftp-port -, IPv4 -> www.v4.test: SHA-256" "$want" \
		sh -c "'$SOCKS64' -q curl -4 -sS --max-time 30 --ftp-port - \
			ftp://www.v4.test:$FTPPORT/file.bin | sha256sum | cut -d' ' -f1"
	expect_out "FTP active mode, curl --ftp-port -, IPv6 -> www.v6.test: SHA-256" "$want" \
		sh -c "'$SOCKS64' -q curl -6 -sS --max-time 30 --ftp-port - \
			ftp://www.v6.test:$FTPPORT/file.bin | sha256sum | cut -d' ' -f1"
	n=$(grep -cE 'cmd=bind target=www\.v[46]\.test:0 .*result=ok up=[0-9]+ down=3000000 ' \
		"$T_TMP/gw.log")
	if t_wait_file_grep "$T_TMP/gw.log" 'cmd=bind .*result=ok' 5 && [ "$n" -ge 4 ]; then
		t_pass "gateway session log: $n BINDs by name carried the file"
	else
		t_fail "gateway BIND session lines" "$(grep 'cmd=bind' "$T_TMP/gw.log" | tail -n 4)"
	fi
	# bind local: the listener stays on this host (on loopback the server
	# can reach it directly); the gateway sees no BIND at all.
	before=$(grep -c 'cmd=bind' "$T_TMP/gw.log")
	printf 'bind local\n' >"$T_TMP/local.conf"
	timeout -k 5 60 "$SOCKS64" -q -c "$T_TMP/local.conf" curl -4 -sS --max-time 10 \
		--ftp-port - -o /dev/null "ftp://www.v4.test:$FTPPORT/file.bin" 2>/dev/null
	after=$(grep -c 'cmd=bind' "$T_TMP/gw.log")
	if [ "$before" = "$after" ]; then
		t_pass "bind local: no gateway BIND"
	else
		t_fail "bind local" "the gateway saw $((after - before)) BIND requests"
	fi
fi

t_check "gateway alive" t_gw_alive
t_gw_stop "gateway exits cleanly on SIGTERM"
[ "$T_FAILED" -gt 0 ] && t_gw_log_tail 30
t_finish
