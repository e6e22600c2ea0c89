#!/usr/bin/env bash
# Third-party interop: Dante's client (socksify, rebuilt WITH GSSAPI by
# tests/interop/build_dante_gssapi.sh, cached) as a client of socks64d with
# RFC 1961 protection, on loopback, against a throw-away MIT realm:
#   - request/response over CONNECT at integrity and at confidentiality
#     (Dante wraps every write as one message; not FTP: its encapsulation
#     corrupts tokens in long multi-message sessions, see TESTING.md);
#   - UDP ASSOCIATE at confidentiality (each datagram one wrapped message);
#   - Dante never downgrades: asking for confidentiality from a gateway that
#     grants only integrity is refused at the level exchange, cleanly.
# Dante finds the proxy's service principal by reverse lookup of its
# address (rcmd@NAME), so it runs in a private mount namespace whose
# /etc/hosts names 127.0.0.1 gw.test: the ticket is for rcmd/gw.test.
# SOCKS_AUTOADD_LANROUTES=no stops it from sending loopback destinations
# directly; the gateway's session lines prove every flow went through it.
# Skips (77), loudly, when Dante cannot be built here, the KDC tools are
# missing, or mount namespaces are not available.
. "$(dirname "$0")/../lib.sh"
. "$T_ROOT/tests/krb5/realm.sh"
t_init

if ! t_is_socks64d; then
	t_skip "Dante GSSAPI interop" "needs socks64d"
	t_finish
fi
if ! command -v unshare >/dev/null 2>&1 || ! unshare -m true 2>/dev/null; then
	t_skip "Dante GSSAPI interop" "SKIPPED: needs root and unshare -m for a private /etc/hosts"
	t_finish
fi
DANTE=$(bash "$T_ROOT/tests/interop/build_dante_gssapi.sh")
rc=$?
if [ "$rc" -ne 0 ] || [ ! -x "$DANTE/bin/socksify" ]; then
	t_skip "Dante GSSAPI interop" \
		"SKIPPED: Dante with GSSAPI could not be built here (build_dante_gssapi.sh exit $rc)"
	t_finish
fi
krb_realm_setup localhost gw.test
case $? in
0) ;;
77)
	t_skip "Dante GSSAPI interop" "SKIPPED: MIT Kerberos KDC tools not installed"
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

GW=$(t_free_port) && GWI=$(t_free_port) && E4=$(t_free_port) && U4=$(t_free_port) || exit 1
t_bg "$T_TMP/echo.log" "" "$PYTHON" -c '
import socket, sys, threading
ls = socket.socket(socket.AF_INET)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[1])))
ls.listen(16)
def serve(c):
    with c:
        f = c.makefile("rb")
        for line in f:
            c.sendall(b"reply to " + line)
while True:
    threading.Thread(target=serve, args=(ls.accept()[0],), daemon=True).start()
' "$E4"
t_bg "$T_TMP/uecho.log" "" "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    d, a = s.recvfrom(70000)
    s.sendto(b"echo:" + d, a)
' "$U4"
t_wait_listen "" tcp 127.0.0.1 "$E4" 10 && t_wait_listen "" udp 127.0.0.1 "$U4" 10 || exit 1

cat >"$T_TMP/gw.conf" <<EOF
listen 127.0.0.1:$GW
auth gssapi
gssapi-keytab $KRB_KEYTAB
log-level info
EOF
cat >"$T_TMP/gwi.conf" <<EOF
listen 127.0.0.1:$GWI
auth gssapi
gssapi-keytab $KRB_KEYTAB
gssapi-protection integrity
log-level info
EOF
t_gw_start "" "$T_TMP/gwi.conf" "$T_TMP/gwi.log" || exit 1
t_gw_start "" "$T_TMP/gw.conf" "$T_TMP/gw.log" || exit 1

printf '127.0.0.1 gw.test localhost\n::1 localhost ip6-localhost\n' >"$T_TMP/hosts"

# dante PORT ENCTYPE CMD...: run CMD under Dante's socksify, routed through
# the gateway on PORT with GSSAPI at ENCTYPE, with the private hosts file.
dante() {
	local port=$1 enc=$2
	shift 2
	cat >"$T_TMP/socks-$port-$enc.conf" <<EOF
logoutput: stderr
route {
	from: 0.0.0.0/0 to: 0.0.0.0/0 via: 127.0.0.1 port = $port
	proxyprotocol: socks_v5
	command: connect udpassociate
	method: gssapi
	gssapi.enctype: $enc
}
EOF
	# shellcheck disable=SC2016 # expanded by the inner sh
	timeout -k 5 30 unshare -m sh -c 'mount --bind "$1" /etc/hosts || exit 1; shift; exec "$@"' \
		sh "$T_TMP/hosts" env SOCKS_CONF="$T_TMP/socks-$port-$enc.conf" \
		SOCKS_AUTOADD_LANROUTES=no SOCKS_USEFULLPATH=1 "$DANTE/bin/socksify" "$@"
}

# Five requests, one answer each, on one connection.
RR='import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
f = s.makefile("rb")
for i in range(5):
    s.sendall(b"request %d from dante\n" % i)
    line = f.readline()
    if line != b"reply to request %d from dante\n" % i:
        sys.exit("bad answer %r" % line)
print("5 answers ok")'

for enc in integrity confidentiality; do
	# Dante's own log goes to stderr, kept apart: written by another
	# process, it could land in the middle of the program's line.
	out=$(dante "$GW" "$enc" "$PYTHON" -c "$RR" "$E4" 2>"$T_TMP/dante.err")
	if grep -qx '5 answers ok' <<<"$out"; then
		t_pass "Dante socksify, $enc: five requests and answers through socks64d"
	else
		{ printf '%s\n' "$out"; tail -n 12 "$T_TMP/dante.err"; } | sed 's/^/#   /'
		t_fail "Dante socksify, $enc: request/response" "no good answers"
	fi
	if t_wait_file_grep "$T_TMP/gw.log" \
		"user=alice@TEST\\.EXAMPLE cmd=connect target=127\\.0\\.0\\.1:$E4 .*result=ok up=[0-9]+ down=[0-9]+ .*gssapi=$enc" 5; then
		t_pass "session log: Dante's session as alice@TEST.EXAMPLE at $enc"
	else
		t_gw_log_tail 10
		t_fail "session log: Dante at $enc" "no session line"
	fi
done

UDP='import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
for i in range(3):
    s.sendto(b"dante udp %d" % i, ("127.0.0.1", int(sys.argv[1])))
    d, a = s.recvfrom(1000)
    if d != b"echo:dante udp %d" % i:
        sys.exit("bad datagram %r" % d)
print("3 datagrams ok")'
out=$(dante "$GW" confidentiality "$PYTHON" -c "$UDP" "$U4" 2>"$T_TMP/dante.err")
if grep -qx '3 datagrams ok' <<<"$out"; then
	t_pass "Dante socksify, confidentiality: UDP datagrams through socks64d"
else
	{ printf '%s\n' "$out"; tail -n 12 "$T_TMP/dante.err"; } | sed 's/^/#   /'
	t_fail "Dante socksify UDP at confidentiality" "no good echoes"
fi
if t_wait_file_grep "$T_TMP/gw.log" \
	'user=alice@TEST\.EXAMPLE cmd=udp .*result=ok .*gssapi=confidentiality dgrams_up=3 dgrams_down=3' 5; then
	t_pass "session log: Dante's UDP association, three wrapped datagrams each way"
else
	t_gw_log_tail 10
	t_fail "session log: Dante UDP" "no session line"
fi

# Dante asks for confidentiality and never accepts less; socks64d never
# downgrades: a clean refusal at the level exchange.
out=$(dante "$GWI" confidentiality "$PYTHON" -c "$RR" "$E4" 2>"$T_TMP/dante.err")
if ! grep -qx '5 answers ok' <<<"$out" &&
	t_wait_file_grep "$T_TMP/gwi.log" \
		'GSSAPI level of alice@TEST\.EXAMPLE from .* refused: client asked for level 2 \(confidentiality\), granted: integrity' 5; then
	t_pass "Dante at confidentiality, gateway grants integrity only: refused at the level exchange"
else
	{ printf '%s\n' "$out"; tail -n 8 "$T_TMP/dante.err"; } | sed 's/^/#   /'
	t_fail "Dante level refusal" "not refused as expected"
fi

t_check "gateways alive" t_gw_alive
t_gw_stop "socks64d exits cleanly"
t_finish
