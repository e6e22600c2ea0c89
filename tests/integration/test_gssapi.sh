#!/usr/bin/env bash
# GSSAPI (RFC 1961, SOCKS5 method 0x01) in socks64d on loopback, against a
# throw-away MIT realm (tests/krb5/realm.sh), driven by
# tests/integration/gss_socks (a SOCKS5 client built on gateway/gss.c):
#   - the configuration checks (keytab missing, readable by everyone, empty,
#     without the service; socks64d -n);
#   - CONNECT at integrity and confidentiality through IPv4 and IPv6 to
#     echo and HTTP servers; the principal as the session's user;
#   - on the wire (tcpdump on lo, the gateway's port only): a marker sent at
#     confidentiality never appears in clear, one sent at integrity does;
#   - a byte flipped in a wrapped message, and a replayed message, end the
#     session (tests/integration/gss_tamper_proxy.py in between);
#   - refusals seen by the client as clean method/sub-negotiation failures:
#     wrong service principal, service restriction, level not granted, NEC
#     form not enabled, no ticket, expired ticket;
#   - curl --socks5-gssapi (asks for the non-standard level 0);
#   - UDP ASSOCIATE at confidentiality and integrity (datagrams wrapped);
#   - rules matching the principal; keytab re-read on reload; a context
#     outliving its ticket.
# Skips (77) when the MIT KDC tools are not installed.
. "$(dirname "$0")/../lib.sh"
. "$T_ROOT/tests/krb5/realm.sh"
t_init

CLIENT=${GSS_SOCKS:-$T_ROOT/tests/integration/gss_socks}
if ! t_is_socks64d; then
	t_skip "gssapi" "needs socks64d"
	t_finish
fi
if [ ! -x "$CLIENT" ]; then
	t_skip "gssapi" "$CLIENT not built (make tests/integration/gss_socks)"
	t_finish
fi
krb_realm_setup localhost
case $? in
0) ;;
77)
	t_skip "gssapi" "MIT Kerberos KDC tools not installed (krb5-kdc, krb5-admin-server)"
	t_finish
	;;
*)
	t_fail "throw-away realm" "krb_realm_setup failed"
	t_finish
	;;
esac
# A service principal the KDC knows but the gateway has no key for.
"$(krb_tool kadmin.local)" -r "$KRB_REALM" -q "addprinc -randkey rcmd/stranger.test" \
	>>"$KRB_DIR/setup.log" 2>&1

GW1=$(t_free_port) && GW2=$(t_free_port) && GW3=$(t_free_port) && E4=$(t_free_port) &&
	E6=$(t_free_port) && U4=$(t_free_port) && HP=$(t_free_port) && TP1=$(t_free_port) &&
	TP2=$(t_free_port) && BP=$(t_free_port) || exit 1

# --- destinations: TCP echo (both families), UDP echo, HTTP ---
for spec in "127.0.0.1 $E4" "::1 $E6"; do
	# shellcheck disable=SC2086 # two words wanted
	set -- $spec
	t_bg "$T_TMP/echo-$2.log" "" "$PYTHON" -c '
import socket, sys, threading
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
ls = socket.socket(fam)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((sys.argv[1], int(sys.argv[2])))
ls.listen(64)
def echo(c):
    with c:
        while True:
            d = c.recv(65536)
            if not d:
                return
            c.sendall(d)
while True:
    threading.Thread(target=echo, args=(ls.accept()[0],), daemon=True).start()
' "$1" "$2"
	t_wait_listen "" tcp "$1" "$2" 10 || exit 1
done
t_bg "$T_TMP/uecho.log" "" "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    d, a = s.recvfrom(70000)
    s.sendto(b"echo:" + d, a)
' "$U4"
t_wait_listen "" udp 127.0.0.1 "$U4" 10 || exit 1
# A server that sends 150 KB at once and closes: the FIN waits in the
# gateway's socket behind data it has not read yet.
t_bg "$T_TMP/banner.log" "" "$PYTHON" -c '
import socket, sys
ls = socket.socket(socket.AF_INET)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[1])))
ls.listen(16)
while True:
    c = ls.accept()[0]
    c.sendall(b"x" * 150000 + b"then close")
    c.close()
' "$BP"
t_wait_listen "" tcp 127.0.0.1 "$BP" 10 || exit 1
mkdir -p "$T_TMP/www"
head -c 3000000 /dev/urandom >"$T_TMP/www/big"
t_httpd "" 127.0.0.1 "$HP" "$T_TMP/www" || exit 1

# --- configuration checks (socks64d -n) ---
# conf_check NAME WANT_RC REGEX CONF-LINES...
conf_check() {
	local name=$1 want=$2 re=$3 out rc
	shift 3
	printf '%s\n' "listen 127.0.0.1:$GW1" "$@" >"$T_TMP/check.conf"
	out=$("$SOCKS64D" -n -f "$T_TMP/check.conf" 2>&1)
	rc=$?
	if [ "$rc" -eq "$want" ] && grep -Eq -- "$re" <<<"$out"; then
		t_pass "config: $name"
	else
		printf '%s\n' "$out" | sed 's/^/#   /'
		t_fail "config: $name" "exit $rc, wanted $want and /$re/"
	fi
}
cp "$KRB_KEYTAB" "$T_TMP/open.keytab"
chmod 644 "$T_TMP/open.keytab"
: >"$T_TMP/empty.keytab"
chmod 600 "$T_TMP/empty.keytab"
printf '\005\002' >"$T_TMP/nokeys.keytab" # a file keytab's version, no entries
chmod 600 "$T_TMP/nokeys.keytab"
conf_check "valid GSSAPI configuration" 0 '' "auth gssapi" "gssapi-keytab $KRB_KEYTAB"
conf_check "auth gssapi without a keytab" 1 'auth gssapi needs gssapi-keytab' "auth gssapi"
conf_check "keytab missing" 1 \
	"check\\.conf:3: gssapi-keytab: $T_TMP/missing\\.keytab: No such file or directory" \
	"auth gssapi" "gssapi-keytab $T_TMP/missing.keytab"
conf_check "keytab readable by everyone" 1 'check\.conf:3: gssapi-keytab: .* accessible to every user' \
	"auth gssapi" "gssapi-keytab $T_TMP/open.keytab"
conf_check "keytab empty" 1 'check\.conf:3: gssapi-keytab: keytab .*empty\.keytab: empty file, holds no keys' \
	"auth gssapi" "gssapi-keytab $T_TMP/empty.keytab"
conf_check "keytab with a header and no keys" 1 'check\.conf:3: gssapi-keytab: keytab .*nokeys\.keytab: holds no keys' \
	"auth gssapi" "gssapi-keytab $T_TMP/nokeys.keytab"
conf_check "keytab without the service" 1 'gssapi-keytab: acceptor credentials \(service ftp in ' \
	"auth gssapi" "gssapi-keytab $KRB_KEYTAB" "gssapi-service ftp"
conf_check "unknown protection level" 1 "check\\.conf:4: gssapi-protection: unknown level 'privacy'" \
	"auth gssapi" "gssapi-keytab $KRB_KEYTAB" "gssapi-protection integrity privacy"

# --- gateways ---
# gw1: the defaults (integrity, confidentiality), rules on principals.
cat >"$T_TMP/gw1.conf" <<EOF
listen 127.0.0.1:$GW1
listen [::1]:$GW1
workers 2
auth gssapi
gssapi-keytab $KRB_KEYTAB
log-level debug
block user bob@$KRB_REALM port $E4
pass method gssapi user alice@$KRB_REALM,bob@$KRB_REALM
block to any
EOF
# gw2: `none` granted (curl), NEC form accepted.
cat >"$T_TMP/gw2.conf" <<EOF
listen 127.0.0.1:$GW2
listen [::1]:$GW2
auth gssapi
gssapi-keytab $KRB_KEYTAB
gssapi-protection none integrity confidentiality
gssapi-nec yes
log-level debug
EOF
# gw3: socks/ principals only, integrity only.
cat >"$T_TMP/gw3.conf" <<EOF
listen 127.0.0.1:$GW3
auth gssapi
gssapi-keytab $KRB_KEYTAB
gssapi-service socks
gssapi-protection integrity
log-level debug
EOF
t_gw_start "" "$T_TMP/gw1.conf" "$T_TMP/gw1.log" || exit 1
t_gw_start "" "$T_TMP/gw2.conf" "$T_TMP/gw2.log" || exit 1
t_gw_start "" "$T_TMP/gw3.conf" "$T_TMP/gw3.log" || exit 1
GW3_PID=${T_GW_PIDS[2]}

# gs NAME WANT_RC REGEX... -- CLIENT-ARGS...: t_expect with the client.
gs() {
	local -a head=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		head+=("$1")
		shift
	done
	shift
	t_expect "${head[@]}" -- timeout 30 "$CLIENT" "$@"
}

# log_has NAME LOG REGEX: the gateway logged a line matching REGEX.
log_has() {
	if t_wait_file_grep "$2" "$3" 5; then
		t_pass "$1"
	else
		tail -n 15 "$2" | sed 's/^/#   /'
		t_fail "$1" "no log line matches /$3/"
	fi
}

krb_kinit alice || {
	t_fail "kinit alice" "no ticket"
	t_finish
}

# --- CONNECT through both families at both levels ---
gs "IPv4 gateway, confidentiality, to an IPv4 echo server" 0 \
	'^client: context established with rcmd/localhost@TEST\.EXAMPLE$' \
	'^client: level confidentiality \(asked confidentiality\)$' '^client: echo verified 5 times$' \
	-- -x "127.0.0.1:$GW1" -l 2 echo "127.0.0.1:$E4" "hello over RFC 1961" 5
gs "IPv4 gateway, integrity, to an IPv6 echo server" 0 \
	'^client: level integrity \(asked integrity\)$' '^client: echo verified 5 times$' \
	-- -x "127.0.0.1:$GW1" -l 1 echo "[::1]:$E6" "hello over RFC 1961" 5
gs "IPv6 gateway, confidentiality, to an IPv6 echo server" 0 \
	'^client: level confidentiality' '^client: echo verified 3 times$' \
	-- -x "[::1]:$GW1" -l 2 echo "[::1]:$E6" "hello over IPv6" 3
gs "IPv6 gateway, integrity, to an IPv4 echo server" 0 \
	'^client: level integrity' '^client: echo verified 3 times$' \
	-- -x "[::1]:$GW1" -l 1 echo "127.0.0.1:$E4" "hello over IPv6" 3
gs "level 3 (selective) answered with confidentiality" 0 \
	'^client: level confidentiality \(asked selective\)$' '^result: ok$' \
	-- -x "127.0.0.1:$GW1" -l 3 echo "127.0.0.1:$E4" "selective" 1
BIGTEXT=$(head -c 100000 /dev/zero | tr '\0' 'u')
gs "100 KB messages both ways, five times (several tokens each)" 0 '^client: echo verified 5 times$' \
	-- -x "127.0.0.1:$GW1" -l 2 echo "127.0.0.1:$E4" "$BIGTEXT" 5
want=$(sha256sum <"$T_TMP/www/big" | cut -d' ' -f1)
for l in 1 2; do
	got=$(timeout 30 "$CLIENT" -x "127.0.0.1:$GW1" -l $l http "127.0.0.1:$HP" /big 2>"$T_TMP/http.err" |
		sha256sum | cut -d' ' -f1)
	if [ "$got" = "$want" ]; then
		t_pass "HTTP GET of 3 MB at level $l, body intact"
	else
		sed 's/^/#   /' "$T_TMP/http.err"
		t_fail "HTTP GET of 3 MB at level $l" "body differs"
	fi
done
for l in 1 2; do
	# The client sends nothing that could make the server's side move.
	out=$(timeout 20 "$CLIENT" -x "127.0.0.1:$GW1" -l $l read "127.0.0.1:$BP" 2>"$T_TMP/read.err" |
		tail -c 10)
	if [ "$out" = "then close" ] && grep -q '^client: read 150010 bytes, then EOF$' "$T_TMP/read.err"; then
		t_pass "level $l: 150 KB, then the destination's EOF, reach the client"
	else
		tail -n 5 "$T_TMP/read.err" | sed 's/^/#   /'
		t_fail "level $l: data then EOF" "got '$out'"
	fi
done
log_has "session log: principal as user, level, bytes" "$T_TMP/gw1.log" \
	"user=alice@TEST\\.EXAMPLE cmd=connect target=127\\.0\\.0\\.1:$HP .*result=ok up=[0-9]+ down=3000[0-9]{3} .*gssapi=confidentiality"

# --- on the wire ---
if command -v tcpdump >/dev/null 2>&1; then
	# -Z root: tcpdump would drop to its own user before opening the file.
	t_bg "$T_TMP/tcpdump.log" "" tcpdump -Z root --immediate-mode -i lo -U -n -s 0 \
		-w "$T_TMP/wire.pcap" "tcp port $GW1"
	TCPDUMP_PID=$T_LASTPID
	t_wait_file_grep "$T_TMP/tcpdump.log" 'listening on' 10
	"$CLIENT" -x "127.0.0.1:$GW1" -l 2 echo "127.0.0.1:$E4" "CONF-MARKER-7f3a9c CONF-MARKER-7f3a9c" 5 \
		>"$T_TMP/wire2.out" 2>&1
	rc2=$?
	"$CLIENT" -x "127.0.0.1:$GW1" -l 1 echo "127.0.0.1:$E4" "INTEG-MARKER-7f3a9c INTEG-MARKER-7f3a9c" 5 \
		>"$T_TMP/wire1.out" 2>&1
	rc1=$?
	sleep 0.5
	t_kill_pids "$TCPDUMP_PID"
	count() { "$PYTHON" -c 'import sys; print(open(sys.argv[1], "rb").read().count(sys.argv[2].encode()))' "$@"; }
	pkts=$(tcpdump -r "$T_TMP/wire.pcap" -n 2>/dev/null | wc -l)
	conf=$(count "$T_TMP/wire.pcap" CONF-MARKER-7f3a9c)
	integ=$(count "$T_TMP/wire.pcap" INTEG-MARKER-7f3a9c)
	t_log "captured $pkts packets; markers in clear: confidentiality $conf, integrity $integ"
	if [ "$rc2" -eq 0 ] && [ "$pkts" -gt 20 ] && [ "$conf" -eq 0 ]; then
		t_pass "confidentiality: the marker never appears in clear between client and gateway"
	else
		t_fail "confidentiality on the wire" "client exit $rc2, $pkts packets, marker seen $conf times"
	fi
	if [ "$rc1" -eq 0 ] && [ "$integ" -ge 10 ]; then
		t_pass "integrity: the marker travels in clear (signed only), both ways"
	else
		t_fail "integrity on the wire" "client exit $rc1, marker seen $integ times"
	fi
else
	t_skip "marker on the wire" "tcpdump not installed (tests/deps.sh installs it)"
fi

# --- tampering in flight ---
t_bg "$T_TMP/tamper1.log" "" "$PYTHON" "$T_ROOT/tests/integration/gss_tamper_proxy.py" \
	--listen "$TP1" --gateway "127.0.0.1:$GW1" --flip 2
t_bg "$T_TMP/tamper2.log" "" "$PYTHON" "$T_ROOT/tests/integration/gss_tamper_proxy.py" \
	--listen "$TP2" --gateway "127.0.0.1:$GW1" --replay 2
t_wait_listen "" tcp 127.0.0.1 "$TP1" 10 && t_wait_listen "" tcp 127.0.0.1 "$TP2" 10 || exit 1
gs "a flipped byte in a confidentiality message ends the session" 6 \
	'^error: echo: connection closed by the gateway$' \
	-- -x "127.0.0.1:$TP1" -l 2 echo "127.0.0.1:$E4" "tampered" 3
log_has "flipped byte logged: message failed to unwrap" "$T_TMP/gw1.log" \
	'GSSAPI message from alice@TEST\.EXAMPLE failed to unwrap, ending the session: unwrap: .*(integrity|Integrity)'
gs "a flipped byte in an integrity message ends the session" 6 \
	'^error: echo: connection closed by the gateway$' \
	-- -x "127.0.0.1:$TP1" -l 1 echo "127.0.0.1:$E4" "tampered" 3
gs "a replayed message ends the session" 6 '^error: echo: connection closed by the gateway$' \
	-- -x "127.0.0.1:$TP2" -l 2 echo "127.0.0.1:$E4" "replayed" 3
log_has "replay logged" "$T_TMP/gw1.log" 'failed to unwrap, ending the session: unwrap: .*duplicate'
if grep -q 'flipped a byte in data message 2' "$T_TMP/tamper1.log" &&
	grep -q 'sent data message 2 twice' "$T_TMP/tamper2.log"; then
	t_pass "the proxy tampered as asked"
else
	t_fail "tamper proxy" "no tampering recorded"
fi

# --- refusals ---
gs "wrong service principal (no key in the keytab): abort at authentication" 3 \
	'^error: authentication: the gateway aborted \(01 ff\)$' \
	-- -x "127.0.0.1:$GW1" -H stranger.test echo "127.0.0.1:$E4" x 1
log_has "wrong service principal logged" "$T_TMP/gw1.log" \
	'GSSAPI authentication from 127\.0\.0\.1:[0-9]+ refused: accept: '
gs "service restriction (socks only): an rcmd ticket is refused" 3 \
	'^error: authentication: the gateway aborted \(01 ff\)$' \
	-- -x "127.0.0.1:$GW3" -l 1 echo "127.0.0.1:$E4" x 1
gs "service restriction (socks only): a socks ticket is accepted" 0 \
	'^client: context established with socks/localhost@TEST\.EXAMPLE$' '^result: ok$' \
	-- -x "127.0.0.1:$GW3" -s socks -l 1 echo "127.0.0.1:$E4" x 1
gs "level 0 not granted: abort, no upgrade" 4 '^error: protection level: the gateway aborted \(01 ff\)$' \
	-- -x "127.0.0.1:$GW1" -l 0 echo "127.0.0.1:$E4" x 1
log_has "level refusal logged" "$T_TMP/gw1.log" \
	'GSSAPI level of alice@TEST\.EXAMPLE from .* refused: client asked for level 0 \(none\), granted: integrity confidentiality'
gs "level 2 with only integrity granted: abort, no downgrade" 4 \
	'^error: protection level: the gateway aborted' \
	-- -x "127.0.0.1:$GW3" -s socks -l 2 echo "127.0.0.1:$E4" x 1
gs "level 0 where none is granted: authentication only, then cleartext" 0 \
	'^client: level none \(asked none\)$' '^client: echo verified 2 times$' \
	-- -x "127.0.0.1:$GW2" -l 0 echo "127.0.0.1:$E4" "cleartext after auth" 2
gs "unwrapped (NEC) level refused unless enabled" 4 '^error: protection level: the gateway aborted' \
	-- -x "127.0.0.1:$GW1" -n echo "127.0.0.1:$E4" x 1
log_has "NEC refusal logged" "$T_TMP/gw1.log" 'sent unwrapped \(NEC style\), not enabled'
gs "unwrapped (NEC) level answered unwrapped with gssapi-nec yes" 0 \
	'^client: level confidentiality \(asked confidentiality\), unwrapped \(NEC\)$' '^result: ok$' \
	-- -x "127.0.0.1:$GW2" -n echo "127.0.0.1:$E4" x 1

# --- curl --socks5-gssapi (asks for level 0, wrapped) ---
# Debian bookworm's curl 7.88 has two bugs of its own on this path: it
# forgets that it offered GSS-API when the method selection arrives in a
# later read ("SOCKS5 GSSAPI per-message authentication is not supported",
# a race), and after a successful GSS-API exchange it falls through to
# "Undocumented SOCKS5 mode attempted to be used by server".  So: make
# curl's reads a little late (strace delays each recvfrom by 3 ms, so the
# method selection is always there at its first read) or, without strace,
# retry (bounded; it wins about one time in ten on loopback) until curl gets
# as far as the level exchange; then check what socks64d answered.  A curl
# that also fetches is checked too.
CURL_SLOW=()
command -v strace >/dev/null 2>&1 &&
	CURL_SLOW=(strace -f -o /dev/null -e trace=recvfrom -e inject=recvfrom:delay_enter=3000)
# curl_gss PORT REGEX: run curl until its log matches REGEX (at most 100 times).
curl_gss() {
	for _ in $(seq 1 100); do
		rm -f "$T_TMP/curl.out"
		"${CURL_SLOW[@]}" curl -sS -v --max-time 10 --socks5-gssapi -x "socks5://localhost:$1" \
			"http://127.0.0.1:$HP/big" -o "$T_TMP/curl.out" >"$T_TMP/curl.log" 2>&1
		CURL_RC=$?
		grep -Eq -- "$2" "$T_TMP/curl.log" && return 0
		grep -q 'per-message authentication is not supported' "$T_TMP/curl.log" || return 1
	done
	return 1
}
CURL_VER=$(curl --version | awk 'NR == 1 { print $2 }')
if curl_gss "$GW2" 'without GSS-API data protection granted'; then
	if grep -q 'authenticated user alice@TEST.EXAMPLE with GSS-API' "$T_TMP/curl.log"; then
		t_pass "curl $CURL_VER --socks5-gssapi, 'none' granted: authenticated, level 0 answered"
	else
		t_fail "curl with 'none' granted" "no authenticated user in curl's log"
	fi
	if [ "$CURL_RC" -eq 0 ] && cmp -s "$T_TMP/curl.out" "$T_TMP/www/big"; then
		t_pass "curl fetched through the authenticated session"
	elif grep -q 'Undocumented SOCKS5 mode' "$T_TMP/curl.log"; then
		t_log "curl $CURL_VER then fails inside itself: $(grep '^curl:' "$T_TMP/curl.log")"
	else
		sed 's/^/#   /' "$T_TMP/curl.log" | tail -n 10
		t_fail "curl after level 0" "exit $CURL_RC"
	fi
	log_has "curl's session: alice at level none" "$T_TMP/gw2.log" \
		'user=alice@TEST\.EXAMPLE .*gssapi=none'
elif grep -q 'per-message authentication is not supported' "$T_TMP/curl.log"; then
	t_skip "curl --socks5-gssapi" "curl $CURL_VER lost its own method-selection race 100 times"
else
	sed 's/^/#   /' "$T_TMP/curl.log" | tail -n 15
	t_fail "curl --socks5-gssapi with 'none' granted" "exit $CURL_RC"
fi
if curl_gss "$GW1" 'Failed to receive GSS-API encryption response'; then
	t_pass "curl --socks5-gssapi without 'none': refused cleanly at the level exchange"
	log_has "curl's refusal logged" "$T_TMP/gw1.log" 'client asked for level 0 \(none\)'
elif grep -q 'per-message authentication is not supported' "$T_TMP/curl.log"; then
	t_skip "curl refused without 'none'" "curl $CURL_VER lost its own method-selection race 100 times"
else
	sed 's/^/#   /' "$T_TMP/curl.log" | tail -n 15
	t_fail "curl refused without 'none'" "exit $CURL_RC"
fi

# --- UDP ASSOCIATE ---
gs "UDP at confidentiality (IPv4): datagrams wrapped both ways" 0 \
	'^client: datagrams: 5 of 5 echoes verified$' \
	-- -x "127.0.0.1:$GW1" -l 2 udp "127.0.0.1:$U4" "udp-dgram" 5
log_has "UDP session line" "$T_TMP/gw1.log" \
	'cmd=udp .*result=ok .*gssapi=confidentiality dgrams_up=5 dgrams_down=5 dropped=0'
gs "UDP at integrity (IPv6 control connection)" 0 '^client: datagrams: 4 of 4 echoes verified$' \
	-- -x "[::1]:$GW1" -l 1 udp "127.0.0.1:$U4" "udp6-dgram" 4

# --- rules on the principal ---
BOBCC=FILE:$KRB_DIR/bob.ccache
if KRB5CCNAME=$BOBCC krb_kinit bob; then
	gs "rules: bob@$KRB_REALM blocked to one port" 5 '^error: SOCKS5 reply 2 ' \
		-- -x "127.0.0.1:$GW1" -c "$BOBCC" echo "127.0.0.1:$E4" x 1
	gs "rules: bob@$KRB_REALM passed elsewhere" 0 '^result: ok$' \
		-- -x "127.0.0.1:$GW1" -c "$BOBCC" echo "[::1]:$E6" x 1
	log_has "bob's refusal names the rule" "$T_TMP/gw1.log" 'refused by block rule at line 7'
else
	t_fail "kinit bob" "no ticket"
fi

# --- reload: a bad keytab keeps the running snapshot; a new one is read ---
sed -i "s|^gssapi-keytab .*|gssapi-keytab $T_TMP/missing.keytab|" "$T_TMP/gw3.conf"
kill -HUP "$GW3_PID"
log_has "reload with a missing keytab fails with one line" "$T_TMP/gw3.log" \
	"reload failed, keeping the running configuration: .*gw3\\.conf:3: gssapi-keytab: $T_TMP/missing\\.keytab: No such file"
gs "still serving with the old snapshot" 0 '^result: ok$' \
	-- -x "127.0.0.1:$GW3" -s socks -l 1 echo "127.0.0.1:$E4" x 1
sed -i -e "s|^gssapi-keytab .*|gssapi-keytab $KRB_KEYTAB|" -e 's/^gssapi-service .*/gssapi-service rcmd/' \
	-e 's/^gssapi-protection .*/gssapi-protection confidentiality/' "$T_TMP/gw3.conf"
kill -HUP "$GW3_PID"
t_wait_file_grep "$T_TMP/gw3.log" 'reloaded ' 5
gs "after reload: rcmd accepted; integrity asked, only confidentiality granted: 2" 0 \
	'^client: context established with rcmd/localhost' \
	'^client: level confidentiality \(asked integrity\)$' '^result: ok$' \
	-- -x "127.0.0.1:$GW3" -l 1 echo "127.0.0.1:$E4" x 1

# --- tickets ---
SHORTCC=FILE:$KRB_DIR/short.ccache
if KRB5CCNAME=$SHORTCC krb_kinit alice 4s; then
	gs "an established context keeps working after its ticket expired" 0 \
		'^client: echo verified before and after 6 s$' \
		-- -x "127.0.0.1:$GW1" -c "$SHORTCC" -l 2 hold "127.0.0.1:$E4" "still here" 6
else
	t_fail "short ticket" "kinit failed"
fi
krb_kdestroy
gs "no ticket: the client cannot start (nothing reaches the gateway)" 3 \
	'^error: init: .*No Kerberos credentials available' \
	-- -x "127.0.0.1:$GW1" echo "127.0.0.1:$E4" x 1
if krb_kinit_expired alice; then
	gs "expired ticket: refused before a token is sent" 3 '^error: init: .*(expired|Ticket expired)' \
		-- -x "127.0.0.1:$GW1" echo "127.0.0.1:$E4" x 1
else
	t_fail "expired ticket" "could not make an expired ticket"
fi
log_has "gateway: the client went away during authentication" "$T_TMP/gw1.log" \
	'user=- .*reason="client closed during handshake"'

t_check "gateways alive" t_gw_alive
t_gw_stop "socks64d instances exit cleanly"
t_finish
