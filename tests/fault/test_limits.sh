#!/bin/bash
# Limits, in three namespaces (client 198.51.100.10-.26 -- gw -- server
# 203.0.113.80):
#  1. 9,000 proxied sessions held open while connection churn (request /
#     reply, connect-close, 32 at a time) runs around them: every churn
#     connection completes, every held session is still there afterwards.
#     (This machine's hard RLIMIT_NOFILE is 20,000 and cannot be raised, and
#     a held session costs the single-process gateway two descriptors: about
#     9,900 sessions is the ceiling here, so 9,000 rather than 20,000.)
#  2. a slowloris of 5,000 connections that send one byte of a greeting and
#     stall: new clients are still served (well) within the handshake
#     timeout while it lasts, and every slowloris connection is closed at
#     the handshake timeout.
# Afterwards no session is left and the descriptors are back.  Bounded: about
# a minute.  LIMITS_HELD / LIMITS_SLOWLORIS change the counts.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/netns/lib.sh
. "$T_ROOT/tests/netns/lib.sh"
# shellcheck source=tests/fault/lib.sh
. "$T_ROOT/tests/fault/lib.sh"
t_init
ns_require "limits"
if ! t_is_socks64d; then
	t_skip "limits" "needs socks64d"
	t_finish
fi
LOADGEN=$T_ROOT/tests/bench/loadgen
if [ ! -x "$LOADGEN" ]; then
	t_skip "limits" "$LOADGEN not built (make test-bins)"
	t_finish
fi

HELD=${LIMITS_HELD:-9000}
SLOW_N=${LIMITS_SLOWLORIS:-5000}
CHURN_SECS=8
HT=5 # handshake-timeout, seconds
NOFILE=$(ulimit -Hn)
need=$((2 * HELD + 200))
if [ "$NOFILE" != unlimited ] && [ "$NOFILE" -lt "$need" ]; then
	HELD=$(((NOFILE - 200) / 2))
	t_log "hard RLIMIT_NOFILE $NOFILE: holding $HELD sessions"
fi

NC="${NS_PREFIX}-cli"
NG="${NS_PREFIX}-gw"
NSV="${NS_PREFIX}-srv"
ns_add "$NC" && ns_add "$NG" && ns_add "$NSV" &&
	ns_link "$NC" eth0 "$NG" cli && ns_link "$NG" srv "$NSV" eth0 &&
	ns_addr "$NG" cli 198.51.100.1/24 && ns_addr "$NG" srv 203.0.113.1/24 &&
	ns_addr "$NSV" eth0 203.0.113.80/24 || {
	t_fail "build the namespaces"
	t_finish
}
SRCS=""
for i in $(seq 10 26); do
	ns_addr "$NC" eth0 "198.51.100.$i/24" || t_fail "client address .$i"
	SRCS="$SRCS${SRCS:+,}198.51.100.$i"
done
# Many short connections: wide port ranges and TIME_WAIT reuse, in our
# namespaces only.
for ns in "$NC" "$NG" "$NSV"; do
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65000" \
		net.ipv4.tcp_tw_reuse=1 net.core.somaxconn=8192 \
		net.ipv4.tcp_max_syn_backlog=8192 || t_fail "sysctls in $ns"
done

t_bg "$T_TMP/server.log" "$NSV" "$LOADGEN" server -l 203.0.113.80:9000
t_wait_listen "$NSV" tcp 203.0.113.80 9000 10 || t_fail "start the load server"

cat >"$T_TMP/gw.conf" <<EOF
listen 198.51.100.1:1080
workers 2
handshake-timeout ${HT}s
log-level notice
pass from 198.51.100.0/24 to 203.0.113.80
block
EOF
t_gw_start "$NG" "$T_TMP/gw.conf" "$T_TMP/gw.log" || {
	t_fail "start the gateway"
	t_finish
}
GWPID=$(t_gw_pid)
fd0=$(t_fd_count "$GWPID")

kv() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }
established() { ip netns exec "$NG" ss -Htn state established | wc -l; }

# ---- 1. held sessions and churn --------------------------------------------
t_bg "$T_TMP/idle.out" "$NC" "$LOADGEN" idle -t 203.0.113.80:9000 -x 198.51.100.1:1080 \
	-b "$SRCS" -N "$HELD" -c 256 -w 60
IDLE_PID=$T_LASTPID
if t_wait_file_grep "$T_TMP/idle.out" '^ready' 70; then
	r=$(grep '^ready' "$T_TMP/idle.out")
	est=$(kv "$r" established)
	if [ "$est" = "$HELD" ]; then
		t_pass "$HELD sessions held ($(kv "$r" setup_secs) s to open)"
	else
		t_fail "$HELD sessions held" "$r"
	fi
else
	t_fail "$HELD sessions held" "no ready line: $(tail -n 3 "$T_TMP/idle.out")"
fi
t_log "gateway: $(t_fd_count "$GWPID") descriptors, $(t_rss_kib "$GWPID") KiB RSS," \
	"$(established) established connections in its namespace"

out=$(ip netns exec "$NC" "$LOADGEN" rate -t 203.0.113.80:9000 -x 198.51.100.1:1080 \
	-b "$SRCS" -c 32 -T $CHURN_SECS 2>&1 | grep '^result')
t_log "churn: $out"
conns=$(kv "$out" conns)
errs=$(kv "$out" errors)
if [ -n "$conns" ] && [ "$conns" -gt 0 ] && [ "$errs" = 0 ]; then
	t_pass "churn around $HELD held sessions: $conns connections, none failed"
else
	t_fail "churn around $HELD held sessions" "${out:-no result line}"
fi

kill -TERM "$IDLE_PID" 2>/dev/null
for _ in $(seq 1 100); do
	kill -0 "$IDLE_PID" 2>/dev/null || break
	sleep 0.1
done
r=$(grep '^result' "$T_TMP/idle.out")
if [ "$(kv "$r" held)" = "$HELD" ] && [ "$(kv "$r" dropped)" = 0 ]; then
	t_pass "all $HELD held sessions survived the churn"
else
	t_fail "all $HELD held sessions survived the churn" "${r:-no result line}"
fi
n=$(t_wait_fds "$GWPID" "$((fd0 + 8))" 20)
if [ "$n" -le $((fd0 + 8)) ]; then
	t_pass "descriptors back after the held sessions closed: $n (start: $fd0)"
else
	t_fail "descriptors back after the held sessions closed" "$n open, $fd0 at start"
fi

# ---- 2. slowloris ----------------------------------------------------------
t_bg "$T_TMP/slow.out" "$NC" "$PYTHON" "$T_ROOT/tests/fault/slowloris.py" \
	--proxy 198.51.100.1:1080 -n "$SLOW_N" --src "$SRCS" --wait $((HT + 15))
SLOW_PID=$T_LASTPID
if t_wait_file_grep "$T_TMP/slow.out" '^ready' 60; then
	r=$(grep '^ready' "$T_TMP/slow.out")
	t_pass "slowloris: $(kv "$r" opened) connections sent one byte and stalled ($(kv "$r" setup_secs) s to open)"
	t_log "gateway: $(t_fd_count "$GWPID") descriptors during the slowloris"
	out=$(ip netns exec "$NC" "$LOADGEN" rate -t 203.0.113.80:9000 -x 198.51.100.1:1080 \
		-b "$SRCS" -c 8 -T 3 2>&1 | grep '^result')
	t_log "new clients during the slowloris: $out"
	p99=$(kv "$out" connect_p99_ms)
	ttfb=$(kv "$out" ttfb_p99_ms)
	if [ -n "$p99" ] && [ "$(kv "$out" errors)" = 0 ] && [ "$(kv "$out" conns)" -gt 0 ] &&
		awk -v a="$ttfb" -v h="$HT" 'BEGIN { exit !(a < h * 1000) }'; then
		t_pass "during the slowloris $(kv "$out" conns) new clients served, none failed (first reply byte p99 ${ttfb} ms; handshake timeout ${HT} s)"
	else
		t_fail "new clients served during the slowloris" "${out:-no result line}"
	fi
	# Still within the handshake timeout: nothing closed yet.
	if grep -q '^result' "$T_TMP/slow.out"; then
		t_fail "slowloris connections held until the handshake timeout" \
			"$(cat "$T_TMP/slow.out")"
	fi
else
	t_fail "slowloris" "not ready: $(tail -n 3 "$T_TMP/slow.out")"
fi
for _ in $(seq 1 $(((HT + 20) * 10))); do
	kill -0 "$SLOW_PID" 2>/dev/null || break
	sleep 0.1
done
r=$(grep '^result' "$T_TMP/slow.out")
t_log "slowloris: $r"
if [ "$(kv "$r" closed)" = "$SLOW_N" ] &&
	awk -v lo="$(kv "$r" close_min)" -v hi="$(kv "$r" close_max)" -v h="$HT" \
		'BEGIN { exit !(lo >= h - 0.5 && hi <= h + 3) }'; then
	t_pass "every slowloris connection closed at the handshake timeout (${HT} s: after $(kv "$r" close_min)-$(kv "$r" close_max) s)"
else
	t_fail "every slowloris connection closed at the handshake timeout" "${r:-no result line}"
fi

n=$(t_wait_fds "$GWPID" "$((fd0 + 8))" 20)
if [ "$n" -le $((fd0 + 8)) ]; then
	t_pass "descriptors back at the end: $n (start: $fd0)"
else
	t_fail "descriptors back at the end" "$n open, $fd0 at start"
fi
left=$(established)
if [ "$left" -eq 0 ]; then
	t_pass "no connection left in the gateway's namespace"
else
	t_fail "no connection left in the gateway's namespace" "$left established"
fi
t_gw_stop "gateway exits cleanly"
t_finish
