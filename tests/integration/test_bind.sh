#!/usr/bin/env bash
# BIND (RFC 1928 §4/§6 and SOCKS4): two replies, the rendezvous address is a
# real one in the family that reaches the expected peer, only that peer may
# connect, bytes and half-close both ways, timeout answered.
. "$(dirname "$0")/../lib.sh"
t_init
if ! t_is_socks64d; then
	t_skip "bind" "needs socks64d"
	t_finish
fi
GWP=$(t_free_port) || exit 1
cat >"$T_TMP/gw.conf" <<EOF
listen 127.0.0.1:$GWP
listen [::1]:$GWP
workers 2
bind-timeout 2s
log-level info
EOF
t_gw_start "" "$T_TMP/gw.conf" "$T_TMP/gw.log" || exit 1
probe() { "$PYTHON" "$T_ROOT/tests/integration/bind_probe.py" "$@"; }
expect_ok() {
	local name=$1 out
	shift
	out=$(probe "$@")
	case $out in
	ok*) t_pass "$name: $out" ;;
	*) t_fail "$name" "$out" ;;
	esac
}
expect_ok "SOCKS5 BIND, IPv4 client, IPv4 peer" 127.0.0.1 "$GWP" 5 127.0.0.1
expect_ok "SOCKS5 BIND, IPv6 client, IPv6 peer" ::1 "$GWP" 5 ::1
expect_ok "SOCKS5 BIND across families: IPv6 client, IPv4 peer" ::1 "$GWP" 5 127.0.0.1
expect_ok "SOCKS5 BIND across families: IPv4 client, IPv6 peer" 127.0.0.1 "$GWP" 5 ::1
expect_ok "SOCKS4 BIND" 127.0.0.1 "$GWP" 4 127.0.0.1
expect_ok "a stranger is turned away, the expected peer still gets in" \
	127.0.0.1 "$GWP" 5 127.0.0.1 --stranger 127.0.0.2
t_check "stranger logged" t_wait_file_grep "$T_TMP/gw.log" \
	"BIND: refused a connection from 127.0.0.2" 5
out=$(probe 127.0.0.1 "$GWP" 5 127.0.0.1 --expect-timeout)
if [ "$out" = "timeout reply 6" ]; then
	t_pass "no peer within bind-timeout: REP 6"
else
	t_fail "bind timeout" "$out"
fi
t_check "gateway alive" t_gw_alive
t_gw_stop "socks64d exits cleanly"
t_finish
