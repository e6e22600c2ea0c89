#!/bin/bash
# The client shim with `auth gssapi` (RFC 1961) on loopback, against a
# throw-away MIT realm (tests/krb5/realm.sh, ticket for alice): unmodified
# curl and python3 urllib fetch by name through
#   (a) Dante's sockd rebuilt with GSSAPI (tests/interop/build_dante_gssapi.sh)
#       at integrity, confidentiality and level none ("clear");
#   (b) socks64d with auth gssapi, when it accepts that configuration;
# a python3 probe checks the program's socket (blocking and non-blocking
# connects, flags, SO_ERROR, getpeername, 1 MiB down and 600 KB both ways
# through the protected relay, half-close); UDP through a protected
# association (shim_udp_probe.py); a capture of the shim-to-gateway port
# (tcpdump on lo) shows the page's marker in clear at integrity and never
# at confidentiality; no ticket fails connect() with EACCES and a clear
# message; a weaker level than asked is refused.
#
# The names live in a private /etc/hosts for Dante (a mount namespace: root)
# and in a dnsmasq for socks64d; the shim finds the gateway's host name
# (rcmd/localhost) by a reverse lookup of 127.0.0.1.  Checks that need
# Dante, root or tcpdump are skipped loudly when those are missing.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/krb5/realm.sh
. "$T_ROOT/tests/krb5/realm.sh"
t_init

SOCKS64=$T_ROOT/client-shim/socks64
if [ ! -f "$T_ROOT/client-shim/libsocks64.so" ]; then
	t_skip "shim GSSAPI" "client-shim/libsocks64.so not built"
	t_finish
fi
krb_realm_setup localhost
case $? in
0) ;;
77)
	t_skip "shim GSSAPI" "MIT Kerberos KDC tools not installed"
	t_finish
	;;
*)
	t_fail "throw-away realm" "krb_realm_setup failed"
	t_finish
	;;
esac
krb_kinit alice || {
	t_fail "kinit alice" "no ticket"
	t_finish
}

HTTP=$(t_free_port) && ECHO=$(t_free_port) && DNSPORT=$(t_free_port) || exit 1
export XDG_RUNTIME_DIR=$T_TMP/run
mkdir -m 0700 "$XDG_RUNTIME_DIR"
export XDG_CONFIG_HOME=$T_TMP/config
unset SOCKS64_GATEWAY SOCKS64_CONF SOCKS64_VERBOSE

MARKER=rfc1961-marker-$RANDOM$RANDOM
mkdir -p "$T_TMP/www"
echo "hello gss $MARKER" >"$T_TMP/www/index.html"
"$PYTHON" -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 4096)' >"$T_TMP/www/big.bin"
t_httpd "" 127.0.0.1 "$HTTP" "$T_TMP/www" || t_fail "start httpd"
# TCP and UDP echo services on the same port.
t_bg "$T_TMP/echo.log" "" "$PYTHON" -c '
import socket, sys, threading
port = int(sys.argv[1])
def tcp():
    l = socket.socket()
    l.bind(("127.0.0.1", port))
    l.listen(16)
    while True:
        c, _ = l.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
def serve(c):
    with c:
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
        c.shutdown(socket.SHUT_WR)
threading.Thread(target=tcp, daemon=True).start()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", port))
while True:
    d, a = u.recvfrom(70000)
    u.sendto(b"echo:" + d, a)
' "$ECHO"
if ! t_wait_listen "" tcp 127.0.0.1 "$ECHO" 10 || ! t_wait_listen "" udp 127.0.0.1 "$ECHO" 10; then
	t_fail "start the echo services"
fi

# The target is rcmd@<name of the gateway's address>: the realm holds
# rcmd/localhost, so 127.0.0.1 must reverse-resolve to localhost here.
GWNAME=$("$PYTHON" -c 'import socket; print(socket.getnameinfo(("127.0.0.1", 0), socket.NI_NAMEREQD)[0])' 2>/dev/null)
if [ "$GWNAME" = localhost ]; then
	HOSTLINE=
	t_pass "127.0.0.1 reverse-resolves to localhost: the shim's default target is rcmd@localhost"
else
	HOSTLINE="gssapi-host localhost"
	t_log "127.0.0.1 reverse-resolves to '$GWNAME', not localhost: using gssapi-host"
fi

# client_conf NAME PORT LEVEL [EXTRA-LINE]: a shim configuration file.
client_conf() {
	printf 'gateway 127.0.0.1:%s\nauth gssapi\ngssapi-protection %s\n%s\n%s\n' \
		"$2" "$3" "$HOSTLINE" "${4:-}" >"$T_TMP/$1.conf"
	echo "$T_TMP/$1.conf"
}

# shim CONF CMD...: run CMD under the shim (verbose), stderr to $T_TMP/stderr.
shim() {
	local conf=$1
	shift
	SOCKS64_CONF=$conf timeout 60 "$SOCKS64" -v "$@" 2>"$T_TMP/stderr"
}

# fetch_checks LABEL CONF: curl and python3 urllib fetch the page by name.
fetch_checks() {
	local label=$1 conf=$2 got want="hello gss $MARKER"
	got=$(shim "$conf" curl -sS --max-time 20 "http://www.v4.test:$HTTP/")
	if [ "$got" = "$want" ]; then
		t_pass "$label: curl fetches www.v4.test"
	else
		t_fail "$label: curl" "got '$got'; stderr: $(tail -c 400 "$T_TMP/stderr")"
	fi
	got=$(shim "$conf" "$PYTHON" -c 'import sys, urllib.request as u
print(u.urlopen(sys.argv[1], timeout=20).read().decode().strip())' "http://www.v4.test:$HTTP/")
	if [ "$got" = "$want" ]; then
		t_pass "$label: python3 urllib fetches www.v4.test"
	else
		t_fail "$label: python3 urllib" "got '$got'; stderr: $(tail -c 400 "$T_TMP/stderr")"
	fi
}

# probe_lines LABEL CONF SCRIPT ARGS...: one PASS/FAIL per "ok"/"fail" line.
probe_lines() {
	local label=$1 conf=$2 verdict what rest n=0
	shift 2
	while read -r verdict what rest; do
		case $verdict in
		ok) t_pass "$label: $what" ;;
		fail) t_fail "$label: ${what%:}" "$rest" ;;
		*) continue ;;
		esac
		n=$((n + 1))
	done < <(shim "$conf" "$PYTHON" "$@" 2>&1)
	[ "$n" -gt 0 ] || t_fail "$label" "the probe printed nothing; stderr: $(tail -c 400 "$T_TMP/stderr")"
}

HAVE_TCPDUMP=0
command -v tcpdump >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && HAVE_TCPDUMP=1

# capture_count PORT CONF: fetch the page under the shim while capturing
# TCP port PORT on lo (only the shim-to-gateway leg); print how many times
# the marker appears in the capture and how many packets it holds.
capture_count() {
	local port=$1 conf=$2 pcap=$T_TMP/cap-$1.pcap pid
	rm -f "$pcap"
	# -Z root: the capture file goes into the test's private directory;
	# --immediate-mode: packets reach the file before tcpdump is stopped.
	tcpdump -i lo --immediate-mode -U -n -s 0 -Z root -w "$pcap" "tcp port $port" \
		>"$T_TMP/tcpdump.log" 2>&1 &
	pid=$!
	T_PIDS+=("$pid")
	t_wait_file_grep "$T_TMP/tcpdump.log" 'listening on' 10 || true
	shim "$conf" curl -sS --max-time 20 "http://www.v4.test:$HTTP/" >/dev/null
	sleep 0.5
	t_kill_pids "$pid"
	echo "$(grep -a -c -- "$MARKER" "$pcap" 2>/dev/null || true)" \
		"$(tcpdump -r "$pcap" -n 2>/dev/null | wc -l)"
}

# no_ticket_check LABEL CONF: without credentials connect() fails with
# EACCES and the shim says why.
no_ticket_check() {
	local label=$1 conf=$2 got
	got=$(KRB5CCNAME=FILE:$T_TMP/no-such-ccache shim "$conf" "$PYTHON" -c '
import socket, sys
s = socket.socket()
try:
    s.connect(("www.v4.test", int(sys.argv[1])))
    print("connected")
except OSError as e:
    print("errno", e.errno)' "$HTTP")
	if [ "$got" = "errno 13" ] && grep -q 'No Kerberos credentials available' "$T_TMP/stderr"; then
		t_pass "$label: no ticket: connect() fails with EACCES, the shim says why"
	else
		t_fail "$label: no ticket" "got '$got'; stderr: $(tail -c 400 "$T_TMP/stderr")"
	fi
}

# ---- (a) Dante's sockd with GSSAPI -----------------------------------------

DANTE=$(bash "$T_ROOT/tests/interop/build_dante_gssapi.sh")
drc=$?
if [ "$drc" -ne 0 ] || [ ! -x "$DANTE/sbin/sockd" ]; then
	t_skip "Dante sockd with GSSAPI: every Dante check" \
		"build_dante_gssapi.sh exit $drc (77: cannot be built here)"
elif [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
	t_skip "Dante sockd with GSSAPI: every Dante check" "needs root for a private /etc/hosts"
else
	printf '127.0.0.1 localhost www.v4.test\n::1 localhost\n' >"$T_TMP/hosts"
	# dante_start ENCTYPE: sockd on a free port granting that GSSAPI level
	# (gssapi.* keys belong to the client rule); its port in DPORT.
	dante_start() {
		local enc=$1 dir=$T_TMP/dante-$1
		DPORT=$(t_free_port) || return 1
		mkdir -p "$dir"
		cat >"$dir/sockd.conf" <<EOF
logoutput: $dir/sockd.log
internal: 127.0.0.1 port = $DPORT
external: 127.0.0.1
socksmethod: gssapi
clientmethod: none
user.privileged: root
user.unprivileged: root
client pass {
	from: 127.0.0.0/8 to: 0.0.0.0/0
	gssapi.keytab: FILE:$KRB_KEYTAB
	gssapi.servicename: rcmd
	gssapi.enctype: $enc
	log: connect disconnect error
}
socks pass {
	from: 0.0.0.0/0 to: 0.0.0.0/0
	command: connect udpassociate udpreply
	log: connect disconnect error
}
EOF
		# shellcheck disable=SC2016 # expanded by the inner sh
		t_bg "$dir/sockd.out" "" unshare -m sh -c \
			'mount --bind "$1" /etc/hosts && exec "$2" -f "$3" -N 1' \
			sh "$T_TMP/hosts" "$DANTE/sbin/sockd" "$dir/sockd.conf"
		t_wait_listen "" tcp 127.0.0.1 "$DPORT" 10
	}

	for enc in integrity confidentiality; do
		if ! dante_start "$enc"; then
			t_fail "start Dante sockd ($enc)"
			continue
		fi
		conf=$(client_conf "dante-$enc" "$DPORT" "$enc")
		fetch_checks "Dante $enc" "$conf"
		if t_wait_file_grep "$T_TMP/dante-$enc/sockd.log" "gssapi/$enc%alice@TEST\.EXAMPLE" 5; then
			t_pass "Dante $enc: sockd logs alice@TEST.EXAMPLE at level $enc"
		else
			t_fail "Dante $enc: sockd log" "no 'gssapi/$enc%alice@TEST.EXAMPLE'"
		fi
		probe_lines "Dante $enc, TCP" "$conf" "$T_ROOT/tests/integration/shim_gss_probe.py" \
			www.v4.test "$HTTP" "$ECHO"
		probe_lines "Dante $enc, UDP" "$conf" "$T_ROOT/tests/integration/shim_udp_probe.py" \
			www.v4.test "$ECHO" 4
		if [ "$HAVE_TCPDUMP" = 1 ]; then
			read -r hits pkts <<<"$(capture_count "$DPORT" "$conf")"
			if [ "$enc" = integrity ] && [ "${hits:-0}" -gt 0 ]; then
				t_pass "Dante integrity: the marker is on the wire in clear (signed only): the capture sees payloads"
			elif [ "$enc" = confidentiality ] && [ "${hits:-1}" -eq 0 ] && [ "${pkts:-0}" -gt 5 ]; then
				t_pass "Dante confidentiality: the marker never appears on the wire ($pkts packets captured)"
			else
				t_fail "Dante $enc: capture" "marker seen $hits times in $pkts packets"
			fi
		else
			t_skip "Dante $enc: wire capture" "tcpdump missing or not root"
		fi
		[ "$enc" = confidentiality ] && no_ticket_check "Dante" "$conf"
		if [ "$enc" = integrity ]; then
			# RFC 1961 §4.3: an answer weaker than asked closes.
			conf=$(client_conf dante-weaker "$DPORT" confidentiality)
			got=$(shim "$conf" curl -sS --max-time 20 "http://www.v4.test:$HTTP/")
			if [ -z "$got" ] && grep -Eq 'GSSAPI: .*protection.* confidentiality' "$T_TMP/stderr"; then
				t_pass "Dante integrity only, confidentiality asked: refused, the shim says why"
			else
				t_fail "weaker level than asked" "got '$got'; stderr: $(tail -c 400 "$T_TMP/stderr")"
			fi
		fi
	done

	if dante_start clear; then
		conf=$(client_conf dante-none "$DPORT" none)
		fetch_checks "Dante level none" "$conf"
		if grep -q 'GSSAPI, protection none' "$T_TMP/stderr" &&
			t_wait_file_grep "$T_TMP/dante-clear/sockd.log" 'gssapi/clear%alice@TEST\.EXAMPLE' 5; then
			t_pass "Dante level none: authenticated as alice, then used unwrapped"
		else
			t_fail "Dante level none" "no 'protection none' from the shim or no gssapi/clear in sockd's log"
		fi
	else
		t_fail "start Dante sockd (clear)"
	fi
fi

# ---- (b) socks64d with auth gssapi ------------------------------------------

GWPORT=$(t_free_port) || exit 1
cat >"$T_TMP/socks64d.conf" <<EOF
listen 127.0.0.1:$GWPORT
workers 1
nameserver 127.0.0.1:$DNSPORT
auth gssapi
gssapi-keytab $KRB_KEYTAB
gssapi-protection none integrity confidentiality
handshake-timeout 5s
log-level info
EOF
if ! t_is_socks64d; then
	t_skip "socks64d with GSSAPI" "SOCKS_IMPL=$SOCKS_IMPL"
elif ! "$SOCKS64D" -n -f "$T_TMP/socks64d.conf" >"$T_TMP/check.out" 2>&1; then
	t_skip "socks64d with GSSAPI: every socks64d check" \
		"socks64d -n refuses auth gssapi: $(head -c 200 "$T_TMP/check.out")"
else
	t_dnsmasq "" "$DNSPORT" 127.0.0.1 127.0.0.1 ::1 || t_fail "start dnsmasq"
	if t_gw_start "" "$T_TMP/socks64d.conf" "$T_TMP/gw.log"; then
		for level in none integrity confidentiality; do
			conf=$(client_conf "s64-$level" "$GWPORT" "$level")
			fetch_checks "socks64d $level" "$conf"
			if t_wait_file_grep "$T_TMP/gw.log" "user=alice@TEST\.EXAMPLE .*gssapi=$level" 5; then
				t_pass "socks64d $level: the session log names alice and level $level"
			else
				t_fail "socks64d $level: session log" "no 'user=alice@TEST.EXAMPLE ... gssapi=$level'"
			fi
		done
		conf=$T_TMP/s64-confidentiality.conf
		probe_lines "socks64d confidentiality, TCP" "$conf" \
			"$T_ROOT/tests/integration/shim_gss_probe.py" www.v4.test "$HTTP" "$ECHO"
		probe_lines "socks64d confidentiality, UDP" "$conf" \
			"$T_ROOT/tests/integration/shim_udp_probe.py" www.v4.test "$ECHO" 4
		if [ "$HAVE_TCPDUMP" = 1 ]; then
			read -r hits pkts <<<"$(capture_count "$GWPORT" "$conf")"
			if [ "${hits:-1}" -eq 0 ] && [ "${pkts:-0}" -gt 5 ]; then
				t_pass "socks64d confidentiality: the marker never appears on the wire ($pkts packets captured)"
			else
				t_fail "socks64d confidentiality: capture" "marker seen $hits times in $pkts packets"
			fi
		else
			t_skip "socks64d confidentiality: wire capture" "tcpdump missing or not root"
		fi
		no_ticket_check "socks64d" "$conf"
		t_gw_stop "socks64d stops cleanly"
	else
		t_fail "start socks64d with auth gssapi"
	fi
fi

t_finish
