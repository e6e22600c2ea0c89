#!/usr/bin/env bash
# GSSAPI faults (loopback, a throw-away MIT realm from tests/krb5/realm.sh,
# clients from tests/integration/gss_socks):
#   - the KDC goes down: a client holding a service ticket still gets in (the
#     gateway checks tickets with its keytab, it never asks the KDC), one
#     that still needs a ticket fails on its own side while the gateway
#     stays healthy, and everything works again once the KDC is back;
#   - the keytab vanishes: a SIGHUP is refused and logged, and the running
#     configuration keeps accepting GSSAPI logins; the keytab back, a reload
#     works.
# Skips (77) when the KDC tools, gss_socks or GSSAPI support are missing.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/krb5/realm.sh
. "$T_ROOT/tests/krb5/realm.sh"
t_init

CLIENT=${GSS_SOCKS:-$T_ROOT/tests/integration/gss_socks}
if ! t_is_socks64d; then
	t_skip "GSSAPI faults" "needs socks64d"
	t_finish
fi
if [ ! -x "$CLIENT" ]; then
	t_skip "GSSAPI faults" "$CLIENT not built"
	t_finish
fi
krb_realm_setup localhost
case $? in
0) ;;
77)
	t_skip "GSSAPI faults" "MIT Kerberos KDC tools not installed"
	t_finish
	;;
*)
	t_fail "throw-away realm" "krb_realm_setup failed"
	t_finish
	;;
esac

GWP=$(t_free_port) && ECHO=$(t_free_port) || exit 1
t_bg "$T_TMP/echo.log" "" "$PYTHON" -c '
import socket, sys, threading
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[1])))
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
' "$ECHO"
t_wait_listen "" tcp 127.0.0.1 "$ECHO" 10 || exit 1

KT=$T_TMP/gw.keytab
cp "$KRB_KEYTAB" "$KT" && chmod 600 "$KT" || exit 1
cat >"$T_TMP/gw.conf" <<EOF
listen 127.0.0.1:$GWP
workers 2
auth gssapi
gssapi-keytab $KT
log-level info
EOF
if ! "$SOCKS64D" -n -f "$T_TMP/gw.conf" >"$T_TMP/check.out" 2>&1; then
	t_skip "GSSAPI faults" "socks64d -n refuses auth gssapi: $(head -n 1 "$T_TMP/check.out")"
	t_finish
fi
t_gw_start "" "$T_TMP/gw.conf" "$T_TMP/gw.log" || exit 1
PID=$(t_gw_pid)

# gs NAME WANT(ok|fail) [REGEX] -- gss_socks ARGS...: run the client.
gs() {
	local name=$1 want=$2 re='' out rc
	shift 2
	if [ "$1" != -- ]; then
		re=$1
		shift
	fi
	shift
	out=$(timeout 30 "$CLIENT" -x "127.0.0.1:$GWP" "$@" 2>&1)
	rc=$?
	if { [ "$want" = ok ] && [ "$rc" -eq 0 ]; } ||
		{ [ "$want" = fail ] && [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] &&
			{ [ -z "$re" ] || grep -Eq -- "$re" <<<"$out"; }; }; then
		t_pass "$name$([ "$want" = fail ] && echo " ($(grep -m1 'error' <<<"$out" | cut -c1-110))")"
		return 0
	fi
	printf '%s\n' "$out" | tail -n 5 | sed 's/^/#   /'
	t_fail "$name" "exit $rc, wanted $want${re:+ and /$re/}"
	return 1
}

krb_kinit alice || exit 1
gs "GSSAPI login and echo" ok -- echo "127.0.0.1:$ECHO" hello 3
# A second cache with only a ticket-granting ticket: its owner will need
# the KDC for the gateway's service ticket.
CC2=FILE:$T_TMP/cc2
KRB5CCNAME=$CC2 krb_kinit bob || exit 1

# ---- the KDC goes down -------------------------------------------------------
krb_kdc_stop
gs "KDC down: a client holding its service ticket still gets in" ok -- \
	echo "127.0.0.1:$ECHO" still-here 2
gs "KDC down: a client needing a service ticket fails on its own side" fail \
	'KDC|contact|realm' -- -c "$CC2" echo "127.0.0.1:$ECHO" no 1
gs "KDC down: the first client again" ok -- echo "127.0.0.1:$ECHO" again 1
if t_gw_alive; then
	t_pass "KDC down: gateway alive"
else
	t_fail "KDC down: gateway alive"
fi
krb_kdc_start || t_fail "restart the KDC"
gs "KDC back: the second client gets in" ok -- -c "$CC2" echo "127.0.0.1:$ECHO" back 1

# ---- the keytab vanishes ------------------------------------------------------
mv "$KT" "$KT.away"
before=$(grep -c 'reload failed' "$T_GW_LOG")
kill -HUP "$PID"
if t_wait_file_grep "$T_GW_LOG" 'reload failed.*gw\.keytab' 5 &&
	[ "$(grep -c 'reload failed' "$T_GW_LOG")" -eq $((before + 1)) ]; then
	t_pass "keytab gone: reload refused, one line ($(grep 'reload failed' "$T_GW_LOG" |
		tail -n 1 | sed 's/.*reload failed/reload failed/' | cut -c1-120))"
else
	t_fail "keytab gone: reload refused and logged" "$(tail -n 3 "$T_GW_LOG")"
fi
# The running configuration holds a copy of the keys (gateway/gss.c), so
# logins go on with the file gone.
gs "keytab gone: the running configuration still accepts GSSAPI logins" ok -- \
	-c "$CC2" echo "127.0.0.1:$ECHO" kept 1
mv "$KT.away" "$KT"
kill -HUP "$PID"
if t_wait_file_grep "$T_GW_LOG" 'reloaded' 5; then
	t_pass "keytab back: reload accepted"
else
	t_fail "keytab back: reload accepted" "$(tail -n 3 "$T_GW_LOG")"
fi
gs "keytab back: GSSAPI login" ok -- echo "127.0.0.1:$ECHO" back 1
t_gw_stop "gateway exits cleanly"
t_finish
