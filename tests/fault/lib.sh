# shellcheck shell=bash
# Helpers shared by the fault-injection tests (bash; sourced after
# tests/lib.sh).

FAULTKIT=$T_ROOT/tests/fault/faultkit.py

# fk_connect NS PROXY TARGET LABEL [faultkit connect options...]
fk_connect() {
	local ns=$1 proxy=$2 target=$3 label=$4
	shift 4
	t_lines t_in "$ns" "$PYTHON" "$FAULTKIT" connect --proxy "$proxy" --target "$target" \
		--label "$label" "$@"
}

# fk_session_line REGEX: print the gateway's last session line matching
# REGEX as a comment (what the fault looked like in the log).
# fk_session_line PATTERN [WANT]: show the last session line matching
# PATTERN; with WANT (a regex), the line must also match it -- waited for a
# little, as the log thread writes it after the client has its reply.
fk_session_line() {
	local l _
	for _ in $(seq 1 30); do
		l=$(grep -E -- "$1" "$T_GW_LOG" | grep 'session=' | tail -n 1)
		if [ -z "${2-}" ] || printf '%s\n' "$l" | grep -Eq -- "$2"; then
			break
		fi
		sleep 0.1
	done
	[ -n "$l" ] && echo "#   log: $l"
	[ -z "${2-}" ] && return 0
	if printf '%s\n' "$l" | grep -Eq -- "$2"; then
		t_pass "log for $1: $2"
	else
		t_fail "log for $1: $2" "${l:-no session line matching $1}"
	fi
}

# fk_cpu_ticks PID: user + system CPU time of PID (all threads) in clock ticks.
fk_cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null
}

# fk_connect_bg NS PROXY TARGET LABEL [options...]: fk_connect in the
# background; fk_collect waits for all of them and counts their lines.
FK_BG=()
fk_connect_bg() {
	local ns=$1 proxy=$2 target=$3 label=$4 out
	shift 4
	out=$T_TMP/fk-bg.${#FK_BG[@]}
	(
		t_in "$ns" "$PYTHON" "$FAULTKIT" connect --proxy "$proxy" --target "$target" \
			--label "$label" "$@" >"$out" 2>&1
		echo $? >"$out.rc"
	) &
	FK_BG+=("$!:$out")
}

fk_collect() {
	local e
	for e in "${FK_BG[@]}"; do
		wait "${e%%:*}"
		# shellcheck disable=SC2016 # expanded by the inner sh
		t_lines sh -c 'cat "$1"; exit "$(cat "$1.rc")"' sh "${e#*:}"
	done
	FK_BG=()
}
