#!/bin/bash
# run.sh — the socks64 benchmark (make bench): the same workloads directly,
# through socks64d, and through Dante's danted and microsocks when installed,
# in one run, each case in fresh network namespaces.  Prints a Markdown table
# and a summary of the targets; see tests/bench/README.md for how to read it.
#
# Figures only: a missed target is reported, never an exit status.  A real
# failure (no namespaces, a tool that does not start, a workload that errors)
# exits non-zero.
#
# Environment: BENCH_QUICK=1 (about a minute), BENCH_KEEP=1 (keep the work
# directory with the raw result lines and logs), BENCH_ONLY="socks64d dante"
# (the gateways to measure; default: every one installed), BENCH_ROUNDS=N
# (rounds of the bulk and connection-rate workloads; default 2, quick 1).

# make runs us with sh.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -u -o pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LOADGEN=$ROOT/tests/bench/loadgen
SOCKS64D=$ROOT/gateway/socks64d
DANTED=/usr/sbin/danted
MICROSOCKS=$(command -v microsocks || true)
DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	BULK_SECS=1 # download time; the upload then moves as many bytes
	RATE_SECS=2
	IDLE_N=2000
	HOLD_N=0 # the 20,000-session check is skipped
	ROUNDS=${BENCH_ROUNDS:-1}
else
	BULK_SECS=2
	RATE_SECS=4
	IDLE_N=10000
	HOLD_N=20000
	ROUNDS=${BENCH_ROUNDS:-3}
fi
STREAMS=4
CONC=32
PORT_SRV=9000
PORT_GW=1080
NAME=bench.test

# Addresses (TESTING.md): client 198.51.100.0/24, server side 203.0.113.0/24.
C_ADDR=198.51.100.10
G_IN=198.51.100.1
G_OUT=203.0.113.1
S_ADDR=203.0.113.80
S_DNS=203.0.113.53
# Extra client source addresses so ports never run out at 20,000 sessions.
C_SRCS=""
for i in $(seq 11 26); do
	C_SRCS="$C_SRCS${C_SRCS:+,}198.51.100.$i"
done

WORK=$(mktemp -d -t socks64-bench.XXXXXX)
TAG="s64b$$"
NSLIST=()
PIDS=()
CASE=0

log() {
	printf 'bench: %s\n' "$*" >&2
}

die() {
	log "FAIL: $*"
	exit 1
}

# ---- processes ---------------------------------------------------------------

# A pid and all its descendants (Dante forks a process per role).
tree_pids() {
	local all=("$1") i=0 c
	while [ "$i" -lt "${#all[@]}" ]; do
		for c in $(cat /proc/"${all[$i]}"/task/*/children 2>/dev/null); do
			all+=("$c")
		done
		i=$((i + 1))
	done
	echo "${all[@]}"
}

stop_pid() {
	local pid=$1
	kill -0 "$pid" 2>/dev/null || return 0
	local tree
	tree=$(tree_pids "$pid")
	kill -TERM $tree 2>/dev/null
	for _ in $(seq 1 30); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	# shellcheck disable=SC2086
	kill -KILL $tree 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

stop_all() {
	local i
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		stop_pid "${PIDS[$i]}"
	done
	PIDS=()
}

cleanup() {
	local ns
	stop_all
	for ns in "${NSLIST[@]}"; do
		ip netns del "$ns" 2>/dev/null
		rm -rf "/etc/netns/$ns"
	done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		log "raw results and logs kept in $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# CPU seconds (user+system) of a process tree, plus the children it reaped.
tree_cpu() {
	local pid total=0 tck
	tck=$(getconf CLK_TCK)
	for pid in $(tree_pids "$1"); do
		# Fields after "(comm) ": state=1 ... utime=12 stime=13 cutime=14 cstime=15.
		total=$((total + $(sed 's/.*) //' /proc/"$pid"/stat 2>/dev/null |
			awk '{ print $12 + $13 + $14 + $15 }' || echo 0)))
	done
	awk -v t="$total" -v h="$tck" 'BEGIN { printf "%.3f", t / h }'
}

# Proportional set size of a process tree, in KiB.
tree_pss() {
	local pid total=0 kb
	for pid in $(tree_pids "$1"); do
		kb=$(awk '/^Pss:/ { print $2 }' /proc/"$pid"/smaps_rollup 2>/dev/null)
		total=$((total + ${kb:-0}))
	done
	echo "$total"
}

# Wait (bounded) until a file holds a line starting with $2.
wait_line() {
	local file=$1 prefix=$2 secs=$3 i
	for i in $(seq 1 $((secs * 10))); do
		grep -q "^$prefix" "$file" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

wait_listen() {
	local ns=$1 addr=$2 port=$3 i
	for i in $(seq 1 50); do
		ip netns exec "$ns" ss -Hltn "sport = :$port" 2>/dev/null | grep -q "$addr:$port" &&
			return 0
		sleep 0.1
	done
	return 1
}

kv() { # kv LINE KEY
	sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"
}

# ---- topology ----------------------------------------------------------------
#
#  client ns                 gw ns                          server ns
#  198.51.100.10(+.11-.26) -- 198.51.100.1 | 203.0.113.1 -- 203.0.113.80, DNS .53
#
# "direct" runs client -> server routed by the gw namespace's kernel (the
# physical limit of this path); the gateways run in the gw namespace.

topo_up() {
	CASE=$((CASE + 1))
	NC="$TAG-$CASE-c"
	NG="$TAG-$CASE-g"
	NS="$TAG-$CASE-s"
	local ns
	for ns in "$NC" "$NG" "$NS"; do
		ip netns add "$ns" || die "cannot create network namespace $ns (need root)"
		NSLIST+=("$ns")
		ip -n "$ns" link set lo up
		# Bench namespaces only: wide port range and TIME_WAIT reuse so
		# tens of thousands of short connections do not exhaust ports.
		ip netns exec "$ns" sysctl -q -w net.ipv4.ip_local_port_range="1024 65535" \
			net.ipv4.tcp_tw_reuse=1 net.core.somaxconn=8192 \
			net.ipv4.tcp_max_syn_backlog=8192
	done
	ip link add c0 netns "$NC" type veth peer name g0 netns "$NG"
	ip link add g1 netns "$NG" type veth peer name s0 netns "$NS"
	ip -n "$NC" addr add "$C_ADDR/24" dev c0
	for i in $(seq 11 26); do
		ip -n "$NC" addr add "198.51.100.$i/24" dev c0
	done
	ip -n "$NG" addr add "$G_IN/24" dev g0
	ip -n "$NG" addr add "$G_OUT/24" dev g1
	ip -n "$NS" addr add "$S_ADDR/24" dev s0
	ip -n "$NS" addr add "$S_DNS/24" dev s0
	ip -n "$NC" link set c0 up
	ip -n "$NG" link set g0 up
	ip -n "$NG" link set g1 up
	ip -n "$NS" link set s0 up
	# Specific routes only, never a default route.
	ip -n "$NC" route add 203.0.113.0/24 via "$G_IN"
	ip -n "$NS" route add 198.51.100.0/24 via "$G_OUT"
	ip netns exec "$NG" sysctl -q -w net.ipv4.ip_forward=1
	# The peers resolve with the C library: "ip netns exec" shows them
	# this resolv.conf instead of the host's.
	mkdir -p "/etc/netns/$NG"
	echo "nameserver $S_DNS" >"/etc/netns/$NG/resolv.conf"

	"$DNSMASQ" --version >/dev/null 2>&1 || die "dnsmasq not found"
	# --local makes AAAA for the name an empty answer (NODATA), as a real
	# zone would, instead of REFUSED for want of an upstream server.
	ip netns exec "$NS" "$DNSMASQ" -k -C /dev/null -u root --no-resolv --no-hosts \
		--bind-interfaces --listen-address="$S_DNS" --port=53 --pid-file= \
		--local=/test/ --host-record="$NAME,$S_ADDR" --local-ttl=60 --log-facility=- \
		>"$WORK/dnsmasq.$CASE.log" 2>&1 &
	DNS_PID=$!
	PIDS+=($!)
	start_server "$PORT_SRV"
	wait_listen "$NS" "$S_DNS" 53 || true
}

start_server() {
	local logf="$WORK/server.$CASE.$1.log"
	ip netns exec "$NS" "$LOADGEN" server -l "$S_ADDR:$1" >"$logf" 2>&1 &
	PIDS+=($!)
	wait_line "$logf" ready 5 || die "load server did not start"
}

topo_down() {
	local ns
	stop_all
	for ns in "$NC" "$NG" "$NS"; do
		ip netns del "$ns" 2>/dev/null
		rm -rf "/etc/netns/$ns"
	done
}

# Start gateway $1 in the gw namespace; sets GW_PID.
gw_start() {
	local which=$1 conf="$WORK/$1.$CASE.conf" logf="$WORK/$1.$CASE.log"
	case $which in
	socks64d)
		cat >"$conf" <<-EOF
			listen $G_IN:$PORT_GW
			workers 2
			nameserver $S_DNS
			log-level warning
			pass from 198.51.100.0/24 to any
		EOF
		set -- "$SOCKS64D" -f "$conf"
		;;
	dante)
		cat >"$conf" <<-EOF
			logoutput: stderr
			internal: $G_IN port = $PORT_GW
			external: $G_OUT
			clientmethod: none
			socksmethod: none
			user.privileged: root
			user.unprivileged: nobody
			client pass {
				from: 198.51.100.0/24 to: 0.0.0.0/0
			}
			socks pass {
				from: 198.51.100.0/24 to: 0.0.0.0/0
				command: connect
			}
			socks pass {
				from: 198.51.100.0/24 to: .test
				command: connect
			}
		EOF
		set -- "$DANTED" -f "$conf"
		;;
	microsocks)
		set -- "$MICROSOCKS" -i "$G_IN" -p "$PORT_GW"
		;;
	esac
	# Every gateway gets the same descriptor limit: the hard one.
	ip netns exec "$NG" "$@" >"$logf" 2>&1 &
	GW_PID=$!
	PIDS+=("$GW_PID")
	wait_listen "$NG" "$G_IN" "$PORT_GW" || {
		tail -5 "$logf" >&2
		die "$which did not start listening"
	}
	# Dante's mother forks its helpers after listening; let them settle.
	sleep 0.3
}

# Run the load generator in the client namespace; prints its result line.
client() {
	local out="$WORK/client.$CASE.$RANDOM.log"
	timeout 300 ip netns exec "$NC" "$LOADGEN" "$@" >"$out" 2>"$out.err"
	local rc=$?
	grep -h "^result" "$out"
	if [ "$rc" -ne 0 ]; then
		log "loadgen $* exited $rc: $(head -3 "$out.err" | tr '\n' ' ')"
		return 1
	fi
}

# ---- workloads ---------------------------------------------------------------

declare -A R # R[metric:config] = value

# Each throughput workload runs BENCH_ROUNDS times; the best round of each
# column is kept whole (its CPU and latency figures with it), which filters
# out a round that a neighbour on the host slowed down.
better() { # better OLD NEW: true when there is no OLD or NEW is higher
	awk -v o="$1" -v n="$2" 'BEGIN { exit !(o == "" || n + 0 > o + 0) }'
}

proxy_args() { # config -> loadgen arguments
	[ "$1" = direct ] || echo "-x $G_IN:$PORT_GW"
}

run_bulk() {
	local cfg=$1 down up c0 c1 bytes up_bytes both
	topo_up
	[ "$cfg" = direct ] || gw_start "$cfg"
	[ "$cfg" = direct ] || c0=$(tree_cpu "$GW_PID")
	# Download for a fixed time, then upload as many bytes as came down
	# (whole MiB per stream), so every column runs about as long.
	# shellcheck disable=SC2046
	down=$(client bulk -t "$S_ADDR:$PORT_SRV" $(proxy_args "$cfg") -P "$STREAMS" \
		-T "$BULK_SECS" -d down) || die "bulk download via $cfg failed"
	up_bytes=$(($(kv "$down" bytes) / (STREAMS << 20) * (STREAMS << 20)))
	[ "$up_bytes" -gt 0 ] || up_bytes=$((STREAMS << 20))
	# shellcheck disable=SC2046
	up=$(client bulk -t "$S_ADDR:$PORT_SRV" $(proxy_args "$cfg") -P "$STREAMS" \
		-B "$up_bytes" -d up) || die "bulk upload via $cfg failed"
	log "$cfg: $down"
	log "$cfg: $up"
	bytes=$(($(kv "$down" bytes) + up_bytes))
	both=$(awk -v b="$bytes" -v s1="$(kv "$down" secs)" -v s2="$(kv "$up" secs)" \
		'BEGIN { printf "%.1f", b / (s1 + s2) / 1e6 }')
	[ "$cfg" = direct ] || c1=$(tree_cpu "$GW_PID")
	topo_down
	better "${R[bulk_both:$cfg]:-}" "$both" || return 0
	R[bulk_down:$cfg]=$(kv "$down" mbytes_s)
	R[bulk_up:$cfg]=$(kv "$up" mbytes_s)
	R[bulk_both:$cfg]=$both
	if [ "$cfg" != direct ]; then
		R[cpu_gb:$cfg]=$(awk -v a="$c0" -v b="$c1" -v n="$bytes" \
			'BEGIN { printf "%.3f", (b - a) / (n / 1e9) }')
	fi
}

run_rate() {
	local cfg=$1 kind=$2 res c0 c1 queries target=$S_ADDR
	[ "$kind" = name ] && target=$NAME
	topo_up
	[ "$cfg" = direct ] || gw_start "$cfg"
	[ "$cfg" = direct ] || c0=$(tree_cpu "$GW_PID")
	# shellcheck disable=SC2046
	res=$(client rate -t "$target:$PORT_SRV" $(proxy_args "$cfg") -b "$C_SRCS" -c "$CONC" \
		-T "$RATE_SECS") || die "rate ($kind) via $cfg failed"
	log "$cfg: $res"
	[ "$cfg" = direct ] || c1=$(tree_cpu "$GW_PID")
	# dnsmasq logs its counters on SIGUSR1: how many queries the run cost.
	kill -USR1 "$DNS_PID"
	sleep 0.2
	queries=$(sed -n 's/.*queries answered locally \([0-9]*\).*/\1/p' \
		"$WORK/dnsmasq.$CASE.log" | tail -1)
	topo_down
	better "${R[rate_$kind:$cfg]:-}" "$(kv "$res" rate)" || return 0
	R[rate_$kind:$cfg]=$(kv "$res" rate)
	R[errors_$kind:$cfg]=$(kv "$res" errors)
	R[conn_p50_$kind:$cfg]=$(kv "$res" connect_p50_ms)
	R[conn_p99_$kind:$cfg]=$(kv "$res" connect_p99_ms)
	R[ttfb_p50_$kind:$cfg]=$(kv "$res" ttfb_p50_ms)
	R[ttfb_p99_$kind:$cfg]=$(kv "$res" ttfb_p99_ms)
	R[dns_kconn_$kind:$cfg]=$(awk -v q="${queries:-0}" -v n="$(kv "$res" conns)" \
		'BEGIN { if (n > 0) printf "%.1f", q / (n / 1000) }')
	if [ "$cfg" != direct ]; then
		R[cpu_kconn_$kind:$cfg]=$(awk -v a="$c0" -v b="$c1" -v n="$(kv "$res" conns)" \
			'BEGIN { if (n > 0) printf "%.3f", (b - a) / (n / 1000) }')
	fi
}

# Hold N idle proxied sessions; with measure=1 record PSS growth per session.
# The load generator and the server are split over as many processes as the
# descriptor limit needs, so they are never what runs out first.
run_idle() {
	local cfg=$1 n=$2 measure=$3 per parts i k pss0 pss1 out lg res
	local est=0 held=0 failed=0 setup=0 lgs=()
	per=$((NOFILE_HARD - 200))
	parts=$(((n + per - 1) / per))
	topo_up
	for ((i = 1; i < parts; i++)); do
		start_server $((PORT_SRV + i))
	done
	gw_start "$cfg"
	pss0=$(tree_pss "$GW_PID")
	for ((i = 0; i < parts; i++)); do
		k=$((n / parts + (i < n % parts ? 1 : 0)))
		out="$WORK/idle.$cfg.$n.$i.log"
		ip netns exec "$NC" "$LOADGEN" idle -t "$S_ADDR:$((PORT_SRV + i))" \
			-x "$G_IN:$PORT_GW" -b "$C_SRCS" -N "$k" -c 256 -w 150 >"$out" 2>"$out.err" &
		lgs+=($!)
		PIDS+=($!)
	done
	for ((i = 0; i < parts; i++)); do
		out="$WORK/idle.$cfg.$n.$i.log"
		if ! wait_line "$out" ready 160; then
			log "idle via $cfg: no ready line: $(head -3 "$out.err" | tr '\n' ' ')"
			topo_down
			return 1
		fi
	done
	sleep 1 # let the gateway finish any deferred work before measuring
	pss1=$(tree_pss "$GW_PID")
	kill -TERM "${lgs[@]}"
	for lg in "${lgs[@]}"; do
		for _ in $(seq 1 100); do
			kill -0 "$lg" 2>/dev/null || break
			sleep 0.1
		done
	done
	for ((i = 0; i < parts; i++)); do
		out="$WORK/idle.$cfg.$n.$i.log"
		res=$(grep "^result" "$out")
		log "$cfg: $(grep "^ready" "$out")"
		log "$cfg: $res"
		[ "$(head -1 "$out.err")" = "" ] || log "$cfg: $(sort "$out.err" | uniq -c | head -3)"
		est=$((est + $(kv "$res" established)))
		held=$((held + $(kv "$res" held)))
		failed=$((failed + $(kv "$res" failed)))
		setup=$(awk -v a="$setup" -v b="$(kv "$(grep "^ready" "$out")" setup_secs)" \
			'BEGIN { print (b > a ? b : a) }')
	done
	log "$cfg: $n idle sessions: established=$est held=$held failed=$failed" \
		"pss_before_kib=$pss0 pss_after_kib=$pss1"
	if [ "$measure" = 1 ]; then
		R[idle_est:$cfg]=$est
		R[idle_bytes:$cfg]=$(awk -v a="$pss0" -v b="$pss1" -v n="$est" \
			'BEGIN { if (n > 0) printf "%.0f", (b - a) * 1024 / n }')
		R[idle_setup:$cfg]=$setup
	else
		R[hold_held:$cfg]=$held
	fi
	topo_down
}

# ---- run -----------------------------------------------------------------------

[ -x "$LOADGEN" ] || die "$LOADGEN not built (run make bench)"
[ "$(id -u)" = 0 ] || die "needs root for network namespaces"

PROXIES=()
for cfg in ${BENCH_ONLY:-socks64d dante microsocks}; do
	case $cfg in
	socks64d)
		[ -x "$SOCKS64D" ] || die "$SOCKS64D not built (run make bench)"
		;;
	dante)
		[ -x "$DANTED" ] || {
			log "danted not installed: Dante column skipped"
			continue
		}
		;;
	microsocks)
		[ -n "$MICROSOCKS" ] || {
			log "microsocks not installed: microsocks column skipped"
			continue
		}
		;;
	*)
		die "unknown gateway in BENCH_ONLY: $cfg"
		;;
	esac
	PROXIES+=("$cfg")
done
CONFIGS=(direct "${PROXIES[@]}")

# Each session costs a single-process gateway at least two descriptors, so
# the hard RLIMIT_NOFILE (which only CAP_SYS_RESOURCE may raise) caps what
# can be measured; the memory figure is then taken at a smaller N.
NOFILE_HARD=$(ulimit -Hn)
[ "$NOFILE_HARD" = unlimited ] && NOFILE_HARD=1048576
ulimit -n "$NOFILE_HARD"
NOFILE_NOTE=""
if [ $((2 * HOLD_N + 200)) -gt "$NOFILE_HARD" ] || [ $((2 * IDLE_N + 200)) -gt "$NOFILE_HARD" ]; then
	NOFILE_NOTE="hard RLIMIT_NOFILE here is $NOFILE_HARD and cannot be raised, so one process can hold at most about $(((NOFILE_HARD - 200) / 2)) sessions (2 descriptors each)"
	if [ $((2 * IDLE_N + 200)) -gt "$NOFILE_HARD" ]; then
		IDLE_N=$(((NOFILE_HARD - 200) / 2 / 1000 * 1000))
	fi
	log "note: $NOFILE_NOTE; idle memory measured at $IDLE_N sessions"
fi

T0=$(date +%s)
log "workdir $WORK; bulk ${BULK_SECS}s down + as many bytes up over $STREAMS streams," \
	"rate ${RATE_SECS}s x $CONC concurrent, best of $ROUNDS, idle $IDLE_N, hold $HOLD_N"

# Workload by workload, every configuration back to back, so drift in the
# machine's load touches all columns alike.
for ((round = 1; round <= ROUNDS; round++)); do
	for cfg in "${CONFIGS[@]}"; do
		run_bulk "$cfg"
	done
	for cfg in "${CONFIGS[@]}"; do
		run_rate "$cfg" literal
	done
	for cfg in "${PROXIES[@]}"; do
		run_rate "$cfg" name
	done
done
for cfg in "${PROXIES[@]}"; do
	run_idle "$cfg" "$IDLE_N" 1 || log "idle via $cfg did not complete"
done
if [ "$HOLD_N" -gt 0 ]; then
	for cfg in "${PROXIES[@]}"; do
		run_idle "$cfg" "$HOLD_N" 0 || log "hold via $cfg did not complete"
	done
fi

# ---- report ----------------------------------------------------------------------

for cfg in "${PROXIES[@]}"; do
	R[name_rate_ratio:$cfg]=$(awk -v a="${R[rate_name:$cfg]:-}" -v b="${R[rate_literal:$cfg]:-}" \
		'BEGIN { if (a != "" && b > 0) printf "%.2f", a / b }')
	R[name_p99_ratio:$cfg]=$(awk -v a="${R[conn_p99_name:$cfg]:-}" \
		-v b="${R[conn_p99_literal:$cfg]:-}" 'BEGIN { if (a != "" && b > 0) printf "%.2f", a / b }')
done

ratio() { # ratio A B -> A/B with two decimals, or "" when either is missing
	awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "" && b + 0 > 0) {
		r = a / b; printf (r > 0 && r < 0.1) ? "%.4f" : "%.2f", r } }'
}

HDR="| metric | direct"
SEP="|---|---:"
for cfg in "${PROXIES[@]}"; do
	HDR="$HDR | $cfg"
	SEP="$SEP|---:"
done
for cfg in "${PROXIES[@]}"; do
	HDR="$HDR | $cfg ÷ direct"
	SEP="$SEP|---:"
done
HDR="$HDR | socks64d ÷ dante |"
SEP="$SEP|---:|"

row() { # row LABEL KEY
	local label=$1 key=$2 line cfg v d
	d=${R[$key:direct]:-}
	line="| $label | ${d:--}"
	for cfg in "${PROXIES[@]}"; do
		v=${R[$key:$cfg]:-}
		line="$line | ${v:--}"
	done
	for cfg in "${PROXIES[@]}"; do
		v=$(ratio "${R[$key:$cfg]:-}" "$d")
		line="$line | ${v:--}"
	done
	v=$(ratio "${R[$key:socks64d]:-}" "${R[$key:dante]:-}")
	echo "$line | ${v:--} |"
}

echo
echo "### socks64 bench ($(date -u +%Y-%m-%d), $(nproc) CPUs, $(uname -r), best of $ROUNDS round(s)$([ "${BENCH_QUICK:-0}" = 1 ] && echo ", quick"))"
echo
echo "$HDR"
echo "$SEP"
row "bulk download, MB/s ($STREAMS streams)" bulk_down
row "bulk upload, MB/s" bulk_up
row "bulk both ways, MB/s" bulk_both
row "gateway CPU s per GB relayed" cpu_gb
row "connections/s, IP literal ($CONC concurrent)" rate_literal
row "connections/s, name" rate_name
row "names ÷ literals, connection rate" name_rate_ratio
row "CONNECT p50 ms, literal" conn_p50_literal
row "CONNECT p99 ms, literal" conn_p99_literal
row "CONNECT p50 ms, name" conn_p50_name
row "CONNECT p99 ms, name" conn_p99_name
row "name p99 ÷ literal p99, CONNECT" name_p99_ratio
row "DNS queries per 1,000 name CONNECTs" dns_kconn_name
row "first reply byte p50 ms, literal" ttfb_p50_literal
row "first reply byte p99 ms, literal" ttfb_p99_literal
row "first reply byte p99 ms, name" ttfb_p99_name
row "failed connections, literal run" errors_literal
row "failed connections, name run" errors_name
row "gateway CPU s per 1,000 connections, literal" cpu_kconn_literal
row "gateway CPU s per 1,000 connections, name" cpu_kconn_name
row "idle sessions established (of $IDLE_N)" idle_est
row "gateway PSS bytes per idle session" idle_bytes
row "idle set-up seconds" idle_setup
[ "$HOLD_N" -gt 0 ] && row "sessions held (of $HOLD_N)" hold_held

# Target verdicts for socks64d (issue #2, "Benchmark").
verdict() { # verdict VALUE OP LIMIT
	awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN {
		if (v == "") { print "not measured"; exit }
		ok = (op == ">=") ? (v + 0 >= l + 0) : (v + 0 <= l + 0)
		print ok ? "met" : "not met" }'
}

d_down=$(ratio "${R[bulk_down:socks64d]:-}" "${R[bulk_down:direct]:-}")
d_up=$(ratio "${R[bulk_up:socks64d]:-}" "${R[bulk_up:direct]:-}")
d_min=$(awk -v a="$d_down" -v b="$d_up" 'BEGIN { if (a != "" && b != "") print (a < b ? a : b) }')
cpu_r=$(ratio "${R[cpu_gb:socks64d]:-}" "${R[cpu_gb:dante]:-}")
rate_r=$(ratio "${R[rate_literal:socks64d]:-}" "${R[rate_literal:direct]:-}")
name_r=${R[name_rate_ratio:socks64d]:-}
p99_r=${R[name_p99_ratio:socks64d]:-}
idle_b=${R[idle_bytes:socks64d]:-}
held=${R[hold_held:socks64d]:-}
held_ok=""
[ "$HOLD_N" -gt 0 ] && held_ok=$(awk -v h="${held:-0}" -v n="$HOLD_N" 'BEGIN { print (h >= n) }')

echo
echo "### Targets (socks64d)"
echo
echo "| target | measured | verdict |"
echo "|---|---:|---|"
echo "| bulk ≥ 0.90 × direct (each direction) | down ${d_down:--}, up ${d_up:--} | $(verdict "$d_min" ">=" 0.90) |"
echo "| CPU per GB ≤ 0.5 × Dante's | ${cpu_r:--} | $(verdict "$cpu_r" "<=" 0.5) |"
echo "| connection rate ≥ 0.5 × direct, literals | ${rate_r:--} | $(verdict "$rate_r" ">=" 0.5) |"
echo "| names ≥ 0.9 × literal rate | ${name_r:--} | $(verdict "$name_r" ">=" 0.9) |"
echo "| name CONNECT p99 ≤ 1.5 × literal p99 | ${p99_r:--} | $(verdict "$p99_r" "<=" 1.5) |"
echo "| ≤ 2 KiB per idle proxied session | ${idle_b:--} B | $(verdict "$idle_b" "<=" 2048) |"
if [ "$HOLD_N" -gt 0 ]; then
	echo "| $HOLD_N concurrent sessions held | ${held:--} | $(verdict "$held_ok" ">=" 1) |"
else
	echo "| 20000 concurrent sessions held | skipped (quick) | not measured |"
fi
[ -n "$NOFILE_NOTE" ] && echo && echo "Note: $NOFILE_NOTE."
echo
log "done in $(($(date +%s) - T0)) s"
exit 0
