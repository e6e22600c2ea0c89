#!/bin/sh
# dns/resolver.c against a real DNS server (dnsmasq on 127.0.0.1, a free high
# port, nothing but the records below), driven by tests/integration/resolve_probe.
#
#   www.v4.test  A only         www.v6.test  AAAA only
#   dual.test    A (two) + AAAA coal.test   A + AAAA (for the coalescing check)
#
# Prints PASS:/FAIL: lines; exits 0 if all passed, 1 otherwise, 77 to skip.
# Run from the top of the tree after `make tests/integration/resolve_probe`.

PROBE=${PROBE:-tests/integration/resolve_probe}
DNSMASQ=${DNSMASQ:-$(command -v dnsmasq || echo /usr/sbin/dnsmasq)}

if [ ! -x "$PROBE" ]; then
	echo "SKIP: $PROBE not built (make $PROBE)"
	exit 77
fi
if [ ! -x "$DNSMASQ" ]; then
	echo "SKIP: dnsmasq not installed (Debian package dnsmasq-base)"
	exit 77
fi
if ! command -v python3 >/dev/null 2>&1; then
	echo "SKIP: python3 is needed for the silent server and free ports"
	exit 77
fi

TMP=$(mktemp -d)
DNS_PID=
SILENT_PID=
PROBE_PID=
failures=0

cleanup() {
	for pid in $PROBE_PID $SILENT_PID $DNS_PID; do
		kill "$pid" 2>/dev/null
	done
	for pid in $PROBE_PID $SILENT_PID $DNS_PID; do
		wait "$pid" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

pass() { echo "PASS: $*"; }
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# A port free for both UDP and TCP on 127.0.0.1 (dnsmasq takes both).
free_port() {
	python3 - <<'EOF'
import socket
for _ in range(50):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    port = u.getsockname()[1]
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        t.bind(("127.0.0.1", port))
    except OSError:
        u.close()
        continue
    t.close()
    u.close()
    print(port)
    break
EOF
}

# Valgrind, when present, checks the runs that free a resolver with work
# still in flight and the cache round; not for sanitizer builds, which check
# themselves and cannot run under it.
VG=
if command -v valgrind >/dev/null 2>&1 && [ "${SANITIZE:-}" != 1 ] &&
	! grep -q __asan_init "$PROBE"; then
	VG="valgrind -q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=9"
fi

# ---- start dnsmasq ----
start_dnsmasq() {
	DNS_PORT=$(free_port)
	[ -n "$DNS_PORT" ] || return 1
	"$DNSMASQ" --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
		--listen-address=127.0.0.1 --port="$DNS_PORT" --pid-file= \
		--user="$(id -un)" --group="$(id -gn)" --local=/test/ --local-ttl=300 \
		--host-record=www.v4.test,198.51.100.80 \
		--host-record=www.v6.test,2001:db8:6::80 \
		--host-record=dual.test,203.0.113.80,2001:db8:6::81 \
		--host-record=dual.test,198.51.100.81 \
		--host-record=coal.test,203.0.113.82,2001:db8:6::82 \
		--log-queries --log-facility="$TMP/dnsmasq.log" 2>"$TMP/dnsmasq.err" &
	DNS_PID=$!
	# Ready when it answers (bounded: 50 x 0.1 s).
	i=0
	while [ $i -lt 50 ]; do
		if ! kill -0 "$DNS_PID" 2>/dev/null; then
			wait "$DNS_PID" 2>/dev/null
			DNS_PID=
			return 1
		fi
		if timeout 5 "$PROBE" -t 200 -r 1 "127.0.0.1:$DNS_PORT" ready.test 2>/dev/null |
			grep -q "ready.test A nxdomain"; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

tries=0
until start_dnsmasq; do
	tries=$((tries + 1))
	if [ -n "$DNS_PID" ]; then
		kill "$DNS_PID" 2>/dev/null
		wait "$DNS_PID" 2>/dev/null
		DNS_PID=
	fi
	if [ $tries -ge 3 ]; then
		echo "SKIP: dnsmasq did not start: $(tail -n 3 "$TMP/dnsmasq.err" 2>/dev/null)"
		exit 77
	fi
done
SERVER="127.0.0.1:$DNS_PORT"

# line_in FILE LINE: FILE has exactly this line.
line_in() { grep -qxF "$2" "$1"; }

# addrs_line FILE NAME FAMILY ADDR...: one "ok" line for NAME/FAMILY carrying
# exactly these addresses, in any order (servers may rotate them).
addrs_line() {
	f=$1 n=$2 fam=$3
	shift 3
	l=$(grep "^$n $fam ok " "$f")
	[ "$(printf '%s\n' "$l" | grep -c .)" -eq 1 ] || return 1
	want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
	got=$(printf '%s\n' "$l" | tr ' ' '\n' | sed -n '4,$p' | grep -v '^ttl=' | sort |
		tr '\n' ' ')
	[ "$want" = "$got" ]
}

# ---- 1. both families, NODATA, NXDOMAIN ----
out=$TMP/basic.out
timeout 20 "$PROBE" "$SERVER" www.v4.test www.v6.test dual.test x.test >"$out" 2>"$TMP/basic.err"
rc=$?
if [ $rc -eq 0 ] && [ "$(wc -l <"$out")" -eq 8 ] &&
	line_in "$out" "www.v4.test A ok 198.51.100.80 ttl=300" &&
	line_in "$out" "www.v4.test AAAA nodata" &&
	line_in "$out" "www.v6.test AAAA ok 2001:db8:6::80 ttl=300" &&
	line_in "$out" "www.v6.test A nodata" &&
	addrs_line "$out" dual.test A 203.0.113.80 198.51.100.81 &&
	line_in "$out" "dual.test AAAA ok 2001:db8:6::81 ttl=300" &&
	line_in "$out" "x.test A nxdomain" && line_in "$out" "x.test AAAA nxdomain"; then
	pass "A-only, AAAA-only and dual names: both families, NODATA for the missing one, NXDOMAIN"
else
	fail "basic answers (rc=$rc):"
	sed 's/^/    /' "$out" "$TMP/basic.err"
fi

# ---- 2. the cache's TTL cap shows in the answer ----
out=$TMP/cap.out
timeout 20 "$PROBE" -m 60 "$SERVER" www.v4.test >"$out" 2>&1
if line_in "$out" "www.v4.test A ok 198.51.100.80 ttl=60"; then
	pass "TTL capped at cache_max_ttl (300 s record, 60 s cap)"
else
	fail "TTL cap:"
	sed 's/^/    /' "$out"
fi

# ---- 3. one query per (name, family) for concurrent lookups ----
out=$TMP/coal.out
timeout 20 "$PROBE" "$SERVER" Coal.TEST. coal.test coal.test >"$out" 2>&1
rc=$?
sleep 0.2 # dnsmasq writes its log asynchronously
na=$(grep -ci 'query\[A\] coal\.test' "$TMP/dnsmasq.log")
naaaa=$(grep -ci 'query\[AAAA\] coal\.test' "$TMP/dnsmasq.log")
if [ $rc -eq 0 ] && [ "$(grep -c ' ok ' "$out")" -eq 6 ] && [ "$na" -eq 1 ] &&
	[ "$naaaa" -eq 1 ]; then
	pass "3 concurrent lookups of one name (any case, trailing dot) -> 1 A + 1 AAAA query"
else
	fail "coalescing: rc=$rc, server saw $na A and $naaaa AAAA queries:"
	sed 's/^/    /' "$out"
fi

# ---- 3b. cancelling from inside a callback, also queries sharing its answer ----
out=$TMP/cancel.out
timeout 60 $VG "$PROBE" -c "$SERVER" dual.test dual.test www.v4.test www.v6.test dual.test \
	>"$out" 2>"$TMP/cancel.err"
rc=$?
if [ $rc -eq 0 ] && [ "$(wc -l <"$out")" -eq 1 ] && [ ! -s "$TMP/cancel.err" ]; then
	pass "resolver_cancel from inside a callback (shared, other, answered queries): nothing more delivered${VG:+, valgrind clean}"
else
	fail "cancel from callback: rc=$rc:"
	sed 's/^/    /' "$out" "$TMP/cancel.err"
fi

# ---- 4. timeout against a server that never answers ----
SILENT_PORT=$(free_port)
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
time.sleep(60)' "$SILENT_PORT" &
SILENT_PID=$!
sleep 0.3
out=$TMP/timeout.out
t0=$(date +%s%N)
timeout 20 "$PROBE" -t 300 -r 2 "127.0.0.1:$SILENT_PORT" dual.test >"$out" 2>&1
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
if [ $rc -eq 0 ] && line_in "$out" "dual.test A timeout" && line_in "$out" "dual.test AAAA timeout" &&
	[ $ms -lt 5000 ]; then
	pass "silent server: both families report timeout after ${ms} ms (300 ms x 2 tries)"
else
	fail "timeout: rc=$rc after ${ms} ms:"
	sed 's/^/    /' "$out"
fi

# ---- 5. a port with nothing bound: each family fails (refused) or times out ----
# Which one is c-ares' business: an ICMP port unreachable ends the query it
# lands on as refused, the other one may still run into its timeout.
CLOSED_PORT=$(free_port)
out=$TMP/closed.out
timeout 20 "$PROBE" -t 300 -r 1 "127.0.0.1:$CLOSED_PORT" dual.test >"$out" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ "$(wc -l <"$out")" -eq 2 ] &&
	[ "$(grep -Ec '^dual\.test (A|AAAA) (fail|timeout)$' "$out")" -eq 2 ]; then
	pass "closed port: both families answered with fail/timeout"
else
	fail "closed port: rc=$rc:"
	sed 's/^/    /' "$out"
fi

# ---- 6. freeing the resolver with lookups in flight delivers nothing ----
out=$TMP/free.out
timeout 60 $VG "$PROBE" -t 2000 -r 1 -g 300 -x a.test "127.0.0.1:$SILENT_PORT" dual.test \
	>"$out" 2>"$TMP/free.err"
rc=$?
if [ $rc -eq 2 ] && [ "$(cat "$out")" = "gave up: 2 answers missing" ] && [ ! -s "$TMP/free.err" ]; then
	pass "resolver_free with queries in flight (one cancelled): no callbacks${VG:+, valgrind clean}"
else
	fail "free in flight: rc=$rc:"
	sed 's/^/    /' "$out" "$TMP/free.err"
fi

# ---- 7. second round answered from the cache after the server is gone ----
out=$TMP/twice.out
: >"$out"
$VG "$PROBE" -w -x www.v4.test "$SERVER" www.v4.test www.v6.test dual.test x.test \
	>"$out" 2>"$TMP/twice.err" &
PROBE_PID=$!
i=0
while [ $i -lt 200 ] && ! grep -q "^round 1 done" "$out"; do
	sleep 0.1
	i=$((i + 1))
done
kill "$DNS_PID"
wait "$DNS_PID" 2>/dev/null
DNS_PID=
# Proof that the server is really gone: a fresh resolver now fails.
gone=$(timeout 20 "$PROBE" -t 300 -r 1 "$SERVER" www.v4.test 2>/dev/null | grep -c ' ok ')
kill -USR1 "$PROBE_PID" 2>/dev/null
i=0
while [ $i -lt 300 ] && kill -0 "$PROBE_PID" 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
if kill -0 "$PROBE_PID" 2>/dev/null; then
	kill "$PROBE_PID"
	rc=124
else
	wait "$PROBE_PID"
	rc=$?
fi
PROBE_PID=
round2=$TMP/round2.out
sed -n '/^round 1 done$/,$p' "$out" | grep -v ' cached ' | sed 1d >"$round2"
if [ $rc -eq 0 ] && [ "$gone" -eq 0 ] && [ ! -s "$TMP/twice.err" ] &&
	line_in "$out" "www.v4.test A cached ok 198.51.100.80 ttl=300" &&
	line_in "$out" "www.v4.test AAAA cached nodata" &&
	line_in "$out" "www.v6.test AAAA cached ok 2001:db8:6::80 ttl=300" &&
	line_in "$out" "x.test A cached nxdomain" &&
	[ "$(wc -l <"$round2")" -eq 8 ] &&
	line_in "$round2" "www.v4.test A ok 198.51.100.80 ttl=300" &&
	line_in "$round2" "www.v6.test A nodata" &&
	addrs_line "$round2" dual.test A 203.0.113.80 198.51.100.81 &&
	line_in "$round2" "x.test AAAA nxdomain"; then
	pass "with the server killed, resolver_cached and resolver_lookup answer from the cache (positive and negative)${VG:+, valgrind clean}"
else
	fail "cache round: rc=$rc, fresh lookups ok after kill: $gone:"
	sed 's/^/    /' "$out" "$TMP/twice.err"
fi

if [ $failures -ne 0 ]; then
	echo "test_resolver: $failures failed"
	exit 1
fi
echo "test_resolver: all passed"
exit 0
