# shellcheck shell=bash
# Shared helpers for the integration and namespace tests (bash; sourced).
#
# Every started process is recorded and stopped by PID from the EXIT trap;
# every wait is a bounded loop.  Results are printed as
#   PASS: name | FAIL: name (why) | SKIP: name (why)
# and t_finish exits 0 (all passed), 1 (something failed) or 77 (nothing ran
# but skips).
#
# Environment:
#   SOCKS64D    the daemon binary (default: gateway/socks64d in the tree)
#   SOCKS_IMPL  socks64d (default) or microsocks -- the latter only to debug
#               the scripts themselves; checks that need socks64d's own
#               features (config, session log) are skipped with it.
#   T_KEEP=1    keep the temporary directory (logs, configs) for a post-mortem

T_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SOCKS64D=${SOCKS64D:-$T_ROOT/gateway/socks64d}
SOCKS_IMPL=${SOCKS_IMPL:-socks64d}
PYTHON=${PYTHON:-python3}
T_PASSED=0
T_FAILED=0
T_SKIPPED=0
T_PIDS=()
T_CLEANUP_HOOKS=()
T_TMP=
T_GW_PIDS=()
T_GW_LOG=
T_LASTPID=

# Proxies in the environment must not change what curl does.
unset http_proxy https_proxy ftp_proxy all_proxy no_proxy \
	HTTP_PROXY HTTPS_PROXY FTP_PROXY ALL_PROXY NO_PROXY

t_pass() {
	T_PASSED=$((T_PASSED + 1))
	echo "PASS: $1"
}

t_fail() {
	T_FAILED=$((T_FAILED + 1))
	echo "FAIL: $1 (${2:-failed})"
}

t_skip() {
	T_SKIPPED=$((T_SKIPPED + 1))
	echo "SKIP: $1 (${2:-skipped})"
}

t_log() {
	echo "# $*"
}

# t_check NAME CMD...: PASS when CMD exits 0; its output is shown on failure.
t_check() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ]; then
		t_pass "$name"
	else
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/#   /'
		t_fail "$name" "exit $rc"
	fi
}

# t_expect NAME WANT_RC REGEX... -- CMD...: PASS when CMD exits WANT_RC and
# every REGEX matches a line of its output (stdout and stderr); the output's
# tail is shown on failure.
t_expect() {
	local name=$1 want=$2 out rc re ok=1 why=
	local -a res=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		res+=("$1")
		shift
	done
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		ok=0
		why="exit $rc, wanted $want"
	fi
	for re in "${res[@]}"; do
		if ! grep -Eq -- "$re" <<<"$out"; then
			ok=0
			why="${why:+$why; }no line matches /$re/"
		fi
	done
	if [ "$ok" -eq 1 ]; then
		t_pass "$name"
		return 0
	fi
	printf '%s\n' "$out" | tail -n 20 | sed 's/^/#   /'
	t_fail "$name" "$why"
	return 1
}

# t_lines CMD...: run CMD (a probe printing "PASS: x" / "FAIL: x (why)"
# lines) and count its lines here; other output is shown as comments.  A
# probe that fails without a FAIL line counts as one failure.
t_lines() {
	local out line rc nfail=0
	out=$("$@" 2>&1)
	rc=$?
	while IFS= read -r line; do
		case $line in
		"PASS: "*) t_pass "${line#PASS: }" ;;
		"FAIL: "*)
			T_FAILED=$((T_FAILED + 1))
			nfail=$((nfail + 1))
			echo "$line"
			;;
		"SKIP: "*) t_skip "${line#SKIP: }" ;;
		"") ;;
		*) echo "#   $line" ;;
		esac
	done <<<"$out"
	if [ "$rc" -ne 0 ] && [ "$nfail" -eq 0 ]; then
		t_fail "probe $*" "exit status $rc without a FAIL line"
	fi
	return "$rc"
}

# t_in NS CMD...: run CMD inside network namespace NS, or here when NS is "".
t_in() {
	local ns=$1
	shift
	if [ -n "$ns" ]; then
		ip netns exec "$ns" "$@"
	else
		"$@"
	fi
}

t_init() {
	T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/socks64-test.XXXXXX") || exit 1
	trap t_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# t_on_exit FUNC: run FUNC from the EXIT trap (after processes are stopped).
t_on_exit() {
	T_CLEANUP_HOOKS+=("$1")
}

# t_kill_pids PID...: TERM, wait up to 5 s, then KILL whatever is left.
t_kill_pids() {
	local p alive
	[ $# -gt 0 ] || return 0
	kill -TERM "$@" 2>/dev/null
	for _ in $(seq 1 50); do
		alive=0
		for p in "$@"; do
			kill -0 "$p" 2>/dev/null && alive=1
		done
		[ "$alive" -eq 0 ] && break
		sleep 0.1
	done
	for p in "$@"; do
		kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
	done
	wait "$@" 2>/dev/null
	return 0
}

t_cleanup() {
	local rc=$? h
	trap - EXIT
	t_kill_pids "${T_GW_PIDS[@]}" "${T_PIDS[@]}"
	for h in "${T_CLEANUP_HOOKS[@]}"; do
		"$h"
	done
	if [ -n "$T_TMP" ] && [ -d "$T_TMP" ]; then
		if [ "${T_KEEP:-0}" = 1 ]; then
			echo "# kept $T_TMP"
		else
			rm -rf "$T_TMP"
		fi
	fi
	exit "$rc"
}

t_finish() {
	echo "# $T_PASSED passed, $T_FAILED failed, $T_SKIPPED skipped"
	if [ "$T_FAILED" -gt 0 ]; then
		exit 1
	fi
	if [ "$T_PASSED" -eq 0 ] && [ "$T_SKIPPED" -gt 0 ]; then
		exit 77
	fi
	exit 0
}

# t_bg LOG NS CMD...: start CMD in the background in namespace NS ("" = here),
# output to LOG; its PID (the command itself, not a subshell) in T_LASTPID.
t_bg() {
	local log=$1 ns=$2
	shift 2
	if [ -n "$ns" ]; then
		set -- ip netns exec "$ns" "$@"
	fi
	"$@" </dev/null >"$log" 2>&1 &
	T_LASTPID=$!
	T_PIDS+=("$T_LASTPID")
}

# t_free_port: print a port that is free (TCP and UDP) on both 127.0.0.1 and
# ::1 and has not been handed out before in this run.  Usually called as
# $(t_free_port), a subshell: the ports handed out are kept in a file.
t_free_port() {
	local p used=$T_TMP/ports.used
	for _ in $(seq 1 50); do
		p=$("$PYTHON" -c '
import socket
a = socket.socket(socket.AF_INET)
a.bind(("127.0.0.1", 0))
p = a.getsockname()[1]
b = socket.socket(socket.AF_INET6)
b.bind(("::1", p))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", p))
v = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
v.bind(("::1", p))
print(p)' 2>/dev/null) || continue
		if ! grep -qx "$p" "$used" 2>/dev/null; then
			echo "$p" >>"$used"
			echo "$p"
			return 0
		fi
	done
	echo "t_free_port: no free port" >&2
	return 1
}

# t_wait_listen NS PROTO ADDR PORT SECONDS: wait until a socket is bound to
# ADDR:PORT (PROTO tcp or udp; ADDR "*" = any address) in namespace NS
# ("" = here).
t_wait_listen() {
	local ns=$1 proto=$2 addr=$3 port=$4 secs=${5:-10} flag=-Hltn want
	[ "$proto" = udp ] && flag=-Hlun
	case $addr in
	'*') want=":$port" ;;
	*:*) want="[$addr]:$port" ;;
	*) want="$addr:$port" ;;
	esac
	for _ in $(seq 1 $((secs * 10))); do
		if t_in "$ns" ss $flag "sport = :$port" 2>/dev/null |
			awk -v w="$want" '{ if (index($4, w) > 0 && (w ~ /^:/ || index($4, w) == 1)) f = 1 }
				END { exit !f }'; then
			return 0
		fi
		sleep 0.1
	done
	echo "t_wait_listen: nothing on $proto $want after ${secs}s" >&2
	return 1
}

# t_wait_file_grep FILE REGEX SECONDS: wait until FILE has a line matching REGEX.
t_wait_file_grep() {
	local f=$1 re=$2 secs=${3:-10}
	for _ in $(seq 1 $((secs * 10))); do
		grep -Eq -- "$re" "$f" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# t_dnsmasq NS PORT LISTEN ADDR4 ADDR6 [extra dnsmasq options...]
# An authoritative-only server for the test zone on address(es) LISTEN
# (comma-separated):  www.v4.test A ADDR4 only, www.v6.test AAAA ADDR6 only,
# dual.test both.  Nothing under .test is forwarded (unknown names get
# NXDOMAIN) and nothing else is configured, so no query leaves the test.
t_dnsmasq() {
	local ns=$1 port=$2 listen=$3 a4=$4 a6=$5 l largs=()
	shift 5
	for l in ${listen//,/ }; do
		largs+=("--listen-address=$l")
	done
	t_bg "$T_TMP/dnsmasq-$port.log" "$ns" dnsmasq --keep-in-foreground \
		--conf-file=/dev/null --no-resolv --no-hosts --no-poll --bind-interfaces \
		--pid-file="$T_TMP/dnsmasq-$port.pid" --log-facility=- --user=root \
		--port="$port" "${largs[@]}" --local=/test/ \
		--host-record="www.v4.test,$a4" --host-record="www.v6.test,$a6" \
		--host-record="dual.test,$a4,$a6" "$@"
	for l in ${listen//,/ }; do
		t_wait_listen "$ns" udp "$l" "$port" 10 || return 1
	done
}

# t_dns_zone_checks NS SERVER PORT ADDR4 ADDR6: prove the zone is what the
# scenario assumes: each missing family is NODATA (NOERROR, no answer), not
# NXDOMAIN and not forwarded; unknown names are NXDOMAIN.
t_dns_zone_checks() {
	local ns=$1 srv=$2 port=$3 a4=$4 a6=$5
	t_dns_expect "$ns" "$srv" "$port" www.v4.test A "rcode=NOERROR answers=1 $a4"
	t_dns_expect "$ns" "$srv" "$port" www.v4.test AAAA "rcode=NOERROR answers=0"
	t_dns_expect "$ns" "$srv" "$port" www.v6.test AAAA "rcode=NOERROR answers=1 $a6"
	t_dns_expect "$ns" "$srv" "$port" www.v6.test A "rcode=NOERROR answers=0"
	t_dns_expect "$ns" "$srv" "$port" dual.test A "rcode=NOERROR answers=1 $a4"
	t_dns_expect "$ns" "$srv" "$port" dual.test AAAA "rcode=NOERROR answers=1 $a6"
	t_dns_expect "$ns" "$srv" "$port" nosuch.test A "rcode=NXDOMAIN answers=0"
}

t_dns_expect() {
	local ns=$1 srv=$2 port=$3 name=$4 type=$5 want=$6 got
	got=$(t_in "$ns" "$PYTHON" "$T_ROOT/tests/integration/dns_probe.py" "$srv" "$port" \
		"$name" "$type" 2>&1)
	# strip the trailing blank left when there are no addresses
	got=${got% }
	if [ "$got" = "$want" ]; then
		t_pass "dns $name $type: $want"
	else
		t_fail "dns $name $type" "want '$want', got '$got'"
	fi
}

# t_httpd NS BIND PORT DIR: start tests/integration/httpd.py on one address.
t_httpd() {
	local ns=$1 bind=$2 port=$3 dir=$4
	t_bg "$T_TMP/httpd-$bind-$port.log" "$ns" "$PYTHON" \
		"$T_ROOT/tests/integration/httpd.py" --bind "$bind" --port "$port" --dir "$dir"
	t_wait_listen "$ns" tcp "$bind" "$port" 10
}

# t_gw_start NS CONF LOG: start the gateway under test with config file CONF,
# logging to LOG; waits until it is ready.  PIDs in T_GW_PIDS.
t_gw_start() {
	local ns=$1 conf=$2 log=$3 l addr port
	T_GW_LOG=$log
	case $SOCKS_IMPL in
	socks64d)
		if [ ! -x "$SOCKS64D" ]; then
			echo "t_gw_start: $SOCKS64D not built" >&2
			return 1
		fi
		t_bg "$log" "$ns" "$SOCKS64D" -f "$conf"
		unset 'T_PIDS[-1]'
		T_GW_PIDS+=("$T_LASTPID")
		if ! t_wait_file_grep "$log" 'ready' 15; then
			echo "t_gw_start: no 'ready' in the log after 15 s" >&2
			sed 's/^/#   /' "$log" >&2
			return 1
		fi
		;;
	microsocks)
		# Debugging aid only: one microsocks per listen line, names
		# resolved by the system resolver; T_GW_MOUNTS ("src=dst ...")
		# bind-mounts e.g. a hosts file over /etc/hosts, in a private
		# mount namespace.
		: >"$log"
		# shellcheck disable=SC2013 # one address per word is what we want
		for l in $(awk '$1 == "listen" { print $2 }' "$conf"); do
			port=${l##*:}
			addr=${l%:*}
			addr=${addr#[}
			addr=${addr%]}
			# shellcheck disable=SC2016 # expanded by the inner sh
			t_bg "$log.$port" "$ns" unshare -m sh -c '
				for m in $1; do mount --bind "${m%%=*}" "${m#*=}" || exit 1; done
				exec microsocks -i "$2" -p "$3"' sh "${T_GW_MOUNTS:-}" "$addr" "$port"
			unset 'T_PIDS[-1]'
			T_GW_PIDS+=("$T_LASTPID")
			t_wait_listen "$ns" tcp "$addr" "$port" 10 || return 1
		done
		;;
	*)
		echo "t_gw_start: unknown SOCKS_IMPL=$SOCKS_IMPL" >&2
		return 1
		;;
	esac
	return 0
}

t_gw_pid() {
	echo "${T_GW_PIDS[0]:-}"
}

# t_gw_alive: the gateway processes are all still running.
t_gw_alive() {
	local p
	[ ${#T_GW_PIDS[@]} -gt 0 ] || return 1
	for p in "${T_GW_PIDS[@]}"; do
		kill -0 "$p" 2>/dev/null || return 1
	done
	return 0
}

# t_gw_stop NAME: SIGTERM the gateway, expect a clean exit (status 0) within
# 10 s and no sanitizer report in its log; reports PASS/FAIL as NAME.
t_gw_stop() {
	local name=$1 p rc=0 st
	[ ${#T_GW_PIDS[@]} -gt 0 ] || return 0
	kill -TERM "${T_GW_PIDS[@]}" 2>/dev/null
	for _ in $(seq 1 100); do
		st=0
		for p in "${T_GW_PIDS[@]}"; do
			kill -0 "$p" 2>/dev/null && st=1
		done
		[ "$st" -eq 0 ] && break
		sleep 0.1
	done
	for p in "${T_GW_PIDS[@]}"; do
		if kill -0 "$p" 2>/dev/null; then
			kill -KILL "$p" 2>/dev/null
			wait "$p" 2>/dev/null
			rc=1
			t_fail "$name" "pid $p still running 10 s after SIGTERM"
		else
			wait "$p" 2>/dev/null
			st=$?
			if [ "$SOCKS_IMPL" = socks64d ] && [ "$st" -ne 0 ]; then
				rc=1
				t_fail "$name" "exit status $st after SIGTERM"
			fi
		fi
	done
	T_GW_PIDS=()
	if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T_GW_LOG" 2>/dev/null; then
		rc=1
		grep -E -A30 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T_GW_LOG" |
			head -n 60 | sed 's/^/#   /'
		t_fail "$name" "sanitizer report in the gateway log"
	fi
	if [ "$rc" -ne 0 ]; then
		t_gw_log_tail 30
		return 1
	fi
	t_pass "$name"
	return 0
}

# t_gw_log_tail N: show the last N lines of the gateway log.
t_gw_log_tail() {
	[ -n "$T_GW_LOG" ] && [ -f "$T_GW_LOG" ] || return 0
	echo "# --- gateway log (last ${1:-30} lines) ---"
	tail -n "${1:-30}" "$T_GW_LOG" | sed 's/^/#   /'
}

t_is_socks64d() {
	[ "$SOCKS_IMPL" = socks64d ]
}

# t_fd_count PID / t_rss_kib PID: open descriptors / resident set (KiB).
t_fd_count() {
	find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

t_rss_kib() {
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null
}

# t_fd_list PID: show what PID has open (for failure reports).
t_fd_list() {
	local f
	for f in "/proc/$1/fd"/*; do
		printf '#   %s -> %s\n' "${f##*/}" "$(readlink "$f")"
	done
}

# t_wait_fds PID MAX SECONDS: wait until PID has at most MAX descriptors;
# prints the last count seen.
t_wait_fds() {
	local pid=$1 max=$2 secs=$3 n
	for _ in $(seq 1 $((secs * 10))); do
		n=$(t_fd_count "$pid")
		if [ "$n" -le "$max" ]; then
			echo "$n"
			return 0
		fi
		sleep 0.1
	done
	echo "$n"
	return 1
}
