#!/bin/bash
# Bad input against socks64d (RFC 1928): garbage, truncated and oversized
# greetings and requests, odd names, unknown command and address type, a
# leaked synthetic address, refused and unresolvable destinations, a client
# sending one byte per second, clients vanishing in every handshake state, a
# destination resetting mid-stream, pipelined input.  Each case is asserted by
# tests/integration/socks_probe.py; afterwards the daemon must still run and
# its descriptors and memory must be back to where they were.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init

PROBE=$T_ROOT/tests/integration/socks_probe.py
HANDSHAKE_TIMEOUT=2
CONNECT_TIMEOUT=3
DNSPORT=$(t_free_port) || exit 1
BLACKHOLE=$(t_free_port) || exit 1
WEBPORT=$(t_free_port) || exit 1
GWPORT=$(t_free_port) || exit 1

mkdir -p "$T_TMP/www"
echo "hello" >"$T_TMP/www/index.html"

# A DNS server that never answers: lookups under slow.test hang there, so a
# session can be caught (and abandoned) while it is resolving.
t_bg "$T_TMP/blackhole.log" "" "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    s.recv(4096)' "$BLACKHOLE"
t_wait_listen "" udp 127.0.0.1 "$BLACKHOLE" 10 || t_fail "start the silent DNS server"

t_dnsmasq "" "$DNSPORT" 127.0.0.1 127.0.0.1 ::1 --txt-record=nodata.test,nothing-here \
	--server="/slow.test/127.0.0.1#$BLACKHOLE" || {
	t_fail "start dnsmasq"
	t_finish
}
t_dns_expect "" 127.0.0.1 "$DNSPORT" nodata.test A "rcode=NOERROR answers=0"
t_dns_expect "" 127.0.0.1 "$DNSPORT" nodata.test AAAA "rcode=NOERROR answers=0"
t_httpd "" 127.0.0.1 "$WEBPORT" "$T_TMP/www" || t_fail "start httpd"

cat >"$T_TMP/socks64d.conf" <<EOF
listen 127.0.0.1:$GWPORT
listen [::1]:$GWPORT
workers 2
nameserver 127.0.0.1:$DNSPORT
handshake-timeout ${HANDSHAKE_TIMEOUT}s
connect-timeout ${CONNECT_TIMEOUT}s
log-level info
EOF
if ! t_gw_start "" "$T_TMP/socks64d.conf" "$T_TMP/gw.log"; then
	t_fail "start gateway"
	t_finish
fi
GWPID=$(t_gw_pid)

# probe PROXY PREFIX CASE...: run cases; the probe prints PASS/FAIL lines,
# which are counted here.
probe() {
	local proxy=$1 prefix=$2
	shift 2
	t_lines "$PYTHON" "$PROBE" --proxy "$proxy" --prefix "$prefix" \
		--http "127.0.0.1:$WEBPORT" --http-name "www.v4.test:$WEBPORT" \
		--nxdomain nosuch.test --nodata nodata.test --slow-name "x.slow.test" \
		--handshake-timeout "$HANDSHAKE_TIMEOUT" --connect-timeout "$CONNECT_TIMEOUT" \
		"$@" || true
}

# The quick cases, which also run over the IPv6 listener.
QUICK="garbage_http garbage_binary bad_version truncated_greeting_ver
truncated_greeting_methods truncated_request_header truncated_request_ipv4
truncated_request_ipv6 truncated_request_name truncated_request_port
methods_255_with_none methods_255_without_none methods_zero no_acceptable_method
name_255_bytes name_zero_length unknown_command unknown_atyp_2 unknown_atyp_255
leaked_synthetic leaked_synthetic_zero refused_ipv4 refused_ipv6
refused_literal_as_name nxdomain nodata vanish_after_connect vanish_mid_greeting
vanish_after_greeting vanish_mid_request vanish_resolving vanish_connecting
vanish_relaying dest_reset pipelined_literal pipelined_name"
SLOW="slow_client resolve_timeout connect_timeout"

# Round 1 warms the daemon up (worker pools, resolver sockets, caches);
# descriptors and memory measured after it are the baseline for round 2.
fd0=$(t_fd_count "$GWPID")
# shellcheck disable=SC2086 # the case lists are word lists
probe "127.0.0.1:$GWPORT" "v4 round1/" $QUICK $SLOW
if t_is_socks64d; then
	n=$(t_wait_fds "$GWPID" "$((fd0 + 8))" 15)
	if [ "$n" -le $((fd0 + 8)) ]; then
		t_pass "descriptors after round 1: $n (at start: $fd0)"
	else
		t_fail "descriptors after round 1" "$n open, $fd0 at start"
		t_fd_list "$GWPID"
	fi
fi
fd1=$(t_fd_count "$GWPID")
rss1=$(t_rss_kib "$GWPID")

# shellcheck disable=SC2086
probe "127.0.0.1:$GWPORT" "v4 round2/" $QUICK $SLOW
# shellcheck disable=SC2086
probe "[::1]:$GWPORT" "v6/" $QUICK

if t_gw_alive; then
	t_pass "gateway alive after all cases"
else
	t_fail "gateway alive after all cases" "it died"
	t_gw_log_tail 40
	t_finish
fi

if t_is_socks64d; then
	n=$(t_wait_fds "$GWPID" "$fd1" 15)
	if [ "$n" -le "$fd1" ]; then
		t_pass "descriptors back to baseline: $n (baseline $fd1)"
	else
		t_fail "descriptors back to baseline" "$n open, baseline $fd1"
		t_fd_list "$GWPID"
	fi
	rss2=$(t_rss_kib "$GWPID")
	# Sanitizer builds keep freed memory in quarantine: allow more there.
	limit=$((4 * 1024))
	[ "${SANITIZE:-}" = 1 ] && limit=$((64 * 1024))
	if [ -n "$rss1" ] && [ -n "$rss2" ] && [ $((rss2 - rss1)) -le "$limit" ]; then
		t_pass "RSS growth over round 2: $((rss2 - rss1)) KiB (limit $limit KiB)"
	else
		t_fail "RSS growth over round 2" "$rss1 -> $rss2 KiB, limit $limit KiB"
	fi

	# Every failure is logged with its result and a reason.
	for r in bad-request refused dns-fail timeout; do
		if grep -q "result=$r" "$T_GW_LOG"; then
			t_pass "session log has result=$r lines"
		else
			t_fail "session log has result=$r lines"
		fi
	done
	if grep 'result=' "$T_GW_LOG" | grep -v 'result=ok' | grep -v 'result=closed' |
		grep -vq 'reason='; then
		t_fail "failure lines carry reason=" \
			"$(grep 'result=' "$T_GW_LOG" | grep -v 'result=ok' | grep -v reason= | head -n 3)"
	else
		t_pass "failure lines carry reason="
	fi
	if grep -E 'result=' "$T_GW_LOG" | grep -v 'result=ok' | grep -q '0\.0\.0\.5'; then
		t_pass "leaked synthetic address logged"
	else
		t_fail "leaked synthetic address logged" "no failure line naming 0.0.0.5"
	fi
else
	t_skip "descriptor, memory and log checks" "SOCKS_IMPL=$SOCKS_IMPL"
fi

t_gw_stop "gateway exits cleanly on SIGTERM"
[ "$T_FAILED" -gt 0 ] && t_gw_log_tail 60
t_finish
