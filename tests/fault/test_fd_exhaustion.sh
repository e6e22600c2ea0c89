#!/bin/bash
# Descriptor exhaustion (loopback): socks64d runs under a tiny
# RLIMIT_NOFILE (prlimit --nofile=64:64 with one worker; 65 with two
# workers and one silent client, so that both "accept fails" and "accept
# works but the outbound socket fails" are met), tests/fault/fd_exhaust.py
# opens sessions until none fit, then checks that held sessions keep
# relaying, that clients beyond the limit wait in the backlog or get REP 1
# and a close, that the daemon neither spins nor floods its log, and that it
# serves again by itself as descriptors free up.  Afterwards its
# descriptors return to the start-up count.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/fault/lib.sh
. "$T_ROOT/tests/fault/lib.sh"
t_init
if ! t_is_socks64d; then
	t_skip "descriptor exhaustion" "needs socks64d"
	t_finish
fi
if ! command -v prlimit >/dev/null 2>&1; then
	t_skip "descriptor exhaustion" "no prlimit (util-linux)"
	t_finish
fi

# exhaust NOFILE WORKERS SILENT: SILENT clients that send nothing hold one
# descriptor each, so the last accept() lands on the other side of the limit.
exhaust() {
	local nofile=$1 workers=$2 silent=$3 port pid fd0 n
	port=$(t_free_port) || return 1
	cat >"$T_TMP/gw-$nofile.conf" <<EOF
listen 127.0.0.1:$port
workers $workers
handshake-timeout 30s
log-level info
EOF
	# t_gw_start with the limit: the daemon keeps a lower hard limit as is.
	T_GW_LOG=$T_TMP/gw-$nofile.log
	t_bg "$T_GW_LOG" "" prlimit --nofile="$nofile:$nofile" -- "$SOCKS64D" \
		-f "$T_TMP/gw-$nofile.conf"
	unset 'T_PIDS[-1]'
	T_GW_PIDS+=("$T_LASTPID")
	if ! t_wait_file_grep "$T_GW_LOG" 'ready' 15; then
		t_fail "start socks64d under RLIMIT_NOFILE $nofile"
		t_gw_log_tail 10
		return 1
	fi
	pid=$(t_gw_pid)
	sleep 0.3
	n=$(awk '$1 == "Max" && $2 == "open" && $3 == "files" { print $4 }' "/proc/$pid/limits")
	if [ "$n" = "$nofile" ]; then
		t_pass "nofile $nofile: the daemon runs with RLIMIT_NOFILE $n"
	else
		t_fail "nofile $nofile: the daemon runs with RLIMIT_NOFILE $nofile" "it has $n"
	fi
	fd0=$(t_fd_count "$pid")
	t_lines "$PYTHON" "$T_ROOT/tests/fault/fd_exhaust.py" --proxy "127.0.0.1:$port" \
		--pid "$pid" --log "$T_GW_LOG" --prefix "nofile $nofile: " --silent "$silent" \
		--workers "$workers"
	# Cached splice pipes are closed after a few idle seconds.
	n=$(t_wait_fds "$pid" "$fd0" 15)
	if [ "$n" -le "$fd0" ]; then
		t_pass "nofile $nofile: descriptors back to the start-up count ($n)"
	else
		t_fail "nofile $nofile: descriptors back to the start-up count" "$n open, $fd0 at start"
		t_fd_list "$pid"
	fi
	# Clients refused for want of a descriptor got REP 1: their lines say
	# result=error, the gateway's own failure, not the destination's.
	if grep -q 'reason="Too many open files"' "$T_GW_LOG"; then
		echo "#   log: $(grep 'reason="Too many open files"' "$T_GW_LOG" | head -n 1)"
		if grep 'reason="Too many open files"' "$T_GW_LOG" | grep -vq 'result=error '; then
			t_fail "nofile $nofile: descriptor failures logged as result=error" \
				"$(grep 'reason="Too many open files"' "$T_GW_LOG" | grep -v 'result=error ' | head -n 1)"
		else
			t_pass "nofile $nofile: descriptor failures logged as result=error"
		fi
	fi
	t_gw_stop "nofile $nofile: gateway exits cleanly"
}

exhaust 64 1 0
exhaust 65 2 1
t_finish
