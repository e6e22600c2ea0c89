#!/bin/bash
# Clients vanishing in the handshake states that the malformed-input test
# (tests/integration/test_malformed.sh, socks_probe.py) does not reach:
# during the RFC 1929 sub-negotiation and its password check, after a
# login, while a BIND waits for its peer, during a UDP association with
# datagrams in flight, mid SOCKS4 request and while a SOCKS4a name resolves
# (loopback; tests/fault/vanish_probe.py).  Two rounds:
# after the second the daemon's descriptors must be where they were after
# the first, and every session must have been logged.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init
if ! t_is_socks64d; then
	t_skip "vanishing clients" "needs socks64d"
	t_finish
fi

GWP=$(t_free_port) && SILENT=$(t_free_port) || exit 1
# A name server that never answers: every lookup hangs until the client goes.
t_bg "$T_TMP/silent.log" "" "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    s.recv(4096)' "$SILENT"
t_wait_listen "" udp 127.0.0.1 "$SILENT" 10 || t_fail "start the silent name server"

printf 'alice-pw\n' | "$SOCKS64D" -p alice >"$T_TMP/users" || exit 1
chmod 600 "$T_TMP/users"
cat >"$T_TMP/gw.conf" <<EOF
listen 127.0.0.1:$GWP
workers 2
nameserver 127.0.0.1:$SILENT
auth username none
users-file $T_TMP/users
handshake-timeout 3s
connect-timeout 3s
log-level info
EOF
t_gw_start "" "$T_TMP/gw.conf" "$T_TMP/gw.log" || exit 1
PID=$(t_gw_pid)

probe() {
	t_lines "$PYTHON" "$T_ROOT/tests/fault/vanish_probe.py" --proxy "127.0.0.1:$GWP" \
		--user alice --password alice-pw --slow-name x.slow.test --prefix "$1" all || true
}

probe "round 1: "
sleep 0.5
fd1=$(t_fd_count "$PID")
probe "round 2: "
if t_gw_alive; then
	t_pass "gateway alive after the vanishing clients"
else
	t_fail "gateway alive after the vanishing clients"
	t_gw_log_tail 30
	t_finish
fi
n=$(t_wait_fds "$PID" "$fd1" 10)
if [ "$n" -le "$fd1" ]; then
	t_pass "descriptors after round 2: $n (after round 1: $fd1)"
else
	t_fail "descriptors after round 2" "$n open, $fd1 after round 1"
	t_fd_list "$PID"
fi
# One line per session, every session: the ids logged are 1..N.
ids=$(grep -o 'session=[0-9]* ' "$T_GW_LOG" | sort -u | wc -l)
max=$(grep -o 'session=[0-9]* ' "$T_GW_LOG" | tr -dc '0-9\n' | sort -n | tail -n 1)
if [ "$ids" -gt 0 ] && [ "$ids" = "$max" ]; then
	t_pass "every one of the $ids sessions logged its end"
else
	t_fail "every session logged its end" "$ids distinct ids, highest $max"
fi
for re in 'cmd=bind .*result=closed' 'cmd=- .*result=closed .*reason="client'; do
	if grep -Eq "$re" "$T_GW_LOG"; then
		t_pass "session log: $(grep -E "$re" "$T_GW_LOG" | tail -n 1 | sed 's/.*session=[0-9]* //')"
	else
		t_fail "session log has a line matching /$re/"
	fi
done
t_gw_stop "gateway exits cleanly"
t_finish
