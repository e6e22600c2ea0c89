#!/bin/bash
# Soak (make soak): mixed CONNECT / UDP ASSOCIATE / BIND load through
# socks64d on the reference topology -- clients on the IPv4-only and the
# IPv6-only LAN host, servers on the IPv6-only and IPv4-only WAN hosts,
# names (A only, AAAA only, both) and literals of both families -- for
# SOAK_SECONDS, with every stream's SHA-256 checked at both ends
# (tests/soak/soak.py).  Afterwards: every client and server count agrees,
# no digest differs, no connection is left in the gateway's namespace, its
# descriptors and RSS are back near the baseline taken after a warm-up, and
# every session logged its end.  With MIT's KDC tools and python3-gssapi, a
# share of the operations authenticates with GSSAPI (RFC 1961: integrity or
# confidentiality, every stream and datagram wrapped) against a throw-away
# realm (tests/krb5/realm.sh); the clients hold their service ticket before
# they start, as a LAN host would.  Ends with one summary line:
#   soak: sessions=N (...) bytes=N duration=Ns ... leaks: fds=+N rss=+N KiB stuck=N -> PASS|FAIL
#
#   SOAK_SECONDS=120        load duration (after a short warm-up)
#   SOAK_MAX_SESSIONS=200000  hard cap on sessions (split over the two clients)
#   SOAK_CONC=12            concurrent operations per client
#   SOAK_MIX=70,15,15       weights of CONNECT, UDP ASSOCIATE, BIND
#   SOAK_GSS_SHARE=0.25     share of operations with GSSAPI (0: none)
#   T_KEEP=1                keep the work directory (logs, JSON counts)
#
# Exit status 0 (pass), 1 (fail), 77 (no network namespaces).
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/netns/lib.sh
. "$T_ROOT/tests/netns/lib.sh"
# shellcheck source=tests/krb5/realm.sh
. "$T_ROOT/tests/krb5/realm.sh"
t_init
ns_require "soak"
if ! t_is_socks64d; then
	t_skip "soak" "needs socks64d"
	t_finish
fi

SECS=${SOAK_SECONDS:-120}
MAX_SESSIONS=${SOAK_MAX_SESSIONS:-200000}
CONC=${SOAK_CONC:-12}
MIX=${SOAK_MIX:-70,15,15}
GSS_SHARE=${SOAK_GSS_SHARE:-0.25}
WARM_SECS=3
SOAK=$T_ROOT/tests/soak/soak.py

if ! ns_topology; then
	t_fail "build the namespace topology"
	t_finish
fi
A4=203.0.113.80
A6=2001:db8:6::80
# udp_rcvbuf_drops: datagrams the kernel dropped for full receive buffers,
# IPv4 and IPv6, summed over our namespaces.
udp_rcvbuf_drops() {
	local ns t=0 n
	for ns in "${NS_LIST[@]}"; do
		# shellcheck disable=SC2016 # an awk program
		n=$(ip netns exec "$ns" awk '
			$1 == "Udp:" && $2 != "InDatagrams" { v += $6 }
			$1 == "Udp6RcvbufErrors" { v += $2 }
			END { print v + 0 }' /proc/net/snmp /proc/net/snmp6)
		t=$((t + n))
	done
	echo "$t"
}
rcvbuf0=$(udp_rcvbuf_drops)
# GSSAPI: Debian's python3-gssapi lives beside Debian's own interpreter.
GSS_PY=$PYTHON
GSS_SERVICE=rcmd@gw.test
GSS_NOTE=
if [ "$GSS_SHARE" = 0 ]; then
	GSS_NOTE="SOAK_GSS_SHARE=0"
elif ! "$GSS_PY" -c 'import gssapi' 2>/dev/null; then
	GSS_PY=/usr/bin/python3
	"$GSS_PY" -c 'import gssapi' 2>/dev/null || GSS_NOTE="python3-gssapi not installed"
fi
if [ -z "$GSS_NOTE" ]; then
	krb_realm_setup gw.test
	case $? in
	0)
		if ! krb_kinit alice || ! kvno -q "rcmd/gw.test@$KRB_REALM" >"$T_TMP/kvno.out" 2>&1; then
			t_fail "GSSAPI: a service ticket for the clients" "$(cat "$T_TMP/kvno.out" 2>/dev/null)"
			t_finish
		fi
		;;
	77) GSS_NOTE="MIT Kerberos KDC tools not installed" ;;
	*)
		t_fail "GSSAPI: throw-away realm" "krb_realm_setup failed"
		t_finish
		;;
	esac
fi
if [ -n "$GSS_NOTE" ]; then
	GSS_SHARE=0
	GSS_PY=$PYTHON
	t_log "GSSAPI left out of this soak: $GSS_NOTE"
fi
t_dnsmasq "$NS_GW" 53 127.0.0.1 $A4 $A6 || t_fail "start dnsmasq in gw"
t_bg "$T_TMP/server4.out" "$NS_WAN4" "$PYTHON" "$SOAK" server --addr $A4
SRV4=$T_LASTPID
t_bg "$T_TMP/server6.out" "$NS_WAN6" "$PYTHON" "$SOAK" server --addr $A6
SRV6=$T_LASTPID
t_wait_file_grep "$T_TMP/server4.out" 'server ready' 10 &&
	t_wait_file_grep "$T_TMP/server6.out" 'server ready' 10 || {
	t_fail "start the soak servers"
	t_finish
}

cat >"$T_TMP/gw.conf" <<EOF
listen 198.51.100.1:1080
listen [2001:db8:1::1]:1080
workers 2
nameserver 127.0.0.1
log-level info
pass from 198.51.100.0/24 to any
pass from 2001:db8:1::/64 to any
block
EOF
if [ "$GSS_SHARE" != 0 ]; then
	printf 'auth none gssapi\ngssapi-keytab %s\n' "$KRB_KEYTAB" >>"$T_TMP/gw.conf"
fi
t_gw_start "$NS_GW" "$T_TMP/gw.conf" "$T_TMP/gw.log" || {
	t_fail "start the gateway"
	t_finish
}
GWPID=$(t_gw_pid)
NAMES=www.v4.test,www.v6.test,dual.test

# client NS PROXY SECONDS MAX_SESSIONS OUT: one soak client in the background.
CLIENTS=()
client() {
	t_bg "$5" "$1" "$GSS_PY" "$SOAK" client --proxy "$2" --peer4 $A4 --peer6 $A6 \
		--names $NAMES --seconds "$3" --max-sessions "$4" --conc "$CONC" --mix "$MIX" \
		--gss-share "$GSS_SHARE" --gss-service "$GSS_SERVICE"
	CLIENTS+=("$T_LASTPID")
}
wait_clients() {
	local p rc=0
	for p in "${CLIENTS[@]}"; do
		wait "$p" || rc=1
	done
	CLIENTS=()
	return "$rc"
}
# fd_kinds PID: the process's descriptors by kind, "tcp=N udp=N pipe=N other=N"
# (sockets matched by inode against the tables of its own namespace).
fd_kinds() {
	"$PYTHON" - "$1" <<'EOF'
import os, sys
pid = sys.argv[1]
kind = {}
for table, k in (("tcp", "tcp"), ("tcp6", "tcp"), ("udp", "udp"), ("udp6", "udp")):
    with open("/proc/%s/net/%s" % (pid, table)) as f:
        next(f)
        for line in f:
            kind[line.split()[9]] = k
n = {"tcp": 0, "udp": 0, "pipe": 0, "other": 0}
for fd in os.listdir("/proc/%s/fd" % pid):
    try:
        t = os.readlink("/proc/%s/fd/%s" % (pid, fd))
    except OSError:
        continue
    if t.startswith("socket:["):
        n[kind.get(t[8:-1], "other")] += 1
    elif t.startswith("pipe:["):
        n["pipe"] += 1
    else:
        n["other"] += 1
print(" ".join("%s=%d" % kv for kv in n.items()))
EOF
}
json() { "$PYTHON" -c 'import json,sys; print(json.loads(sys.stdin.readline())[sys.argv[1]])' "$2" <"$1"; }

# ---- warm-up: pools, caches and resolver sockets reach their working size
client "$NS_LAN4" 198.51.100.1:1080 $WARM_SECS 400 "$T_TMP/warm4.out"
client "$NS_LAN6" "[2001:db8:1::1]:1080" $WARM_SECS 400 "$T_TMP/warm6.out"
wait_clients || t_fail "warm-up" "$(cat "$T_TMP/warm4.out" "$T_TMP/warm6.out" | head -c 600)"
sleep 1
fd0=$(t_fd_count "$GWPID")
kinds0=$(fd_kinds "$GWPID")
rss0=$(t_rss_kib "$GWPID")
log0=$(grep -c 'session=' "$T_GW_LOG")
t_log "baseline after the warm-up: $fd0 descriptors, $rss0 KiB RSS"

# ---- the soak
t_log "soak: ${SECS}s, $CONC concurrent per client, mix CONNECT,UDP,BIND=$MIX"
t0=$(date +%s.%N)
start=$SECONDS
half=$((MAX_SESSIONS / 2))
client "$NS_LAN4" 198.51.100.1:1080 "$SECS" "$half" "$T_TMP/client4.out"
client "$NS_LAN6" "[2001:db8:1::1]:1080" "$SECS" "$half" "$T_TMP/client6.out"
peak_fd=0
peak_rss=0
while :; do
	alive=0
	for p in "${CLIENTS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
	[ "$alive" -eq 0 ] && break
	n=$(t_fd_count "$GWPID")
	r=$(t_rss_kib "$GWPID")
	[ "${n:-0}" -gt "$peak_fd" ] && peak_fd=$n
	[ "${r:-0}" -gt "$peak_rss" ] && peak_rss=$r
	if [ $((SECONDS - start)) -gt $((${SECS%.*} + 120)) ]; then
		t_fail "clients finish" "still running $((SECS + 120)) s after the start"
		t_kill_pids "${CLIENTS[@]}"
		break
	fi
	sleep 1
done
if wait_clients; then
	t_pass "both clients finished without an error"
else
	t_fail "both clients finished without an error"
fi
dur=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
for f in "$T_TMP/client4.out" "$T_TMP/client6.out"; do
	if ! grep -q '^{' "$f"; then
		t_fail "client counts in $f" "$(tail -n 5 "$f")"
		t_finish
	fi
	if [ "$(json "$f" errors)" != 0 ]; then
		json "$f" error_samples | sed 's/^/#   /'
	fi
done

# ---- both ends agree
kill -TERM "$SRV4" "$SRV6"
t_wait_file_grep "$T_TMP/server4.out" '^\{' 10 && t_wait_file_grep "$T_TMP/server6.out" '^\{' 10 ||
	t_fail "server counts" "no JSON line from the servers"
read -r sessions connect udp bind checked hash_bad up down udp_sent udp_back udp_bad errors \
	gss_i gss_c <<<"$(
	"$PYTHON" - "$T_TMP"/client4.out "$T_TMP"/client6.out <<'EOF'
import json, sys
keys = ["sessions", "connect", "udp", "bind", "streams_checked", "hash_bad", "bytes_up",
        "bytes_down", "udp_sent", "udp_back", "udp_bad", "errors", "gss_integrity",
        "gss_confidentiality"]
tot = dict.fromkeys(keys, 0)
for f in sys.argv[1:]:
    c = json.loads(open(f).readline())
    for k in keys:
        tot[k] += c[k]
print(" ".join(str(tot[k]) for k in keys))
EOF
)"
read -r s_streams s_bad s_err b_streams b_bad b_err u_ok u_bad <<<"$(
	"$PYTHON" - "$T_TMP"/server4.out "$T_TMP"/server6.out <<'EOF'
import json, sys
keys = ["streams", "stream_bad", "stream_err", "bind_streams", "bind_bad", "bind_err",
        "udp_ok", "udp_bad"]
tot = dict.fromkeys(keys, 0)
for f in sys.argv[1:]:
    for line in open(f):
        if line.startswith("{"):
            c = json.loads(line)
            for k in keys:
                tot[k] += c[k]
print(" ".join(str(tot[k]) for k in keys))
EOF
)"
t_log "clients: sessions=$sessions connect=$connect udp=$udp bind=$bind checked=$checked" \
	"errors=$errors udp_sent=$udp_sent udp_back=$udp_back"
t_log "servers: streams=$s_streams bind_streams=$b_streams udp_ok=$u_ok" \
	"bad=$((s_bad + b_bad + u_bad)) errors=$((s_err + b_err))"
# The warm-up's operations are in the servers' counts too.
read -r w_connect w_bind <<<"$(
	"$PYTHON" - "$T_TMP"/warm4.out "$T_TMP"/warm6.out <<'EOF'
import json, sys
c = b = 0
for f in sys.argv[1:]:
    d = json.loads(open(f).readline())
    c += d["connect"]
    b += d["bind"]
print(c, b)
EOF
)"
if [ "$hash_bad" = 0 ] && [ "$udp_bad" = 0 ] && [ $((s_bad + b_bad + u_bad)) = 0 ]; then
	t_pass "every SHA-256 matched at both ends ($checked streams, $udp_back datagrams)"
else
	t_fail "every SHA-256 matched at both ends" \
		"client: $hash_bad streams, $udp_bad datagrams; server: $s_bad $b_bad $u_bad"
fi
if [ "$s_streams" = $((connect + w_connect)) ] && [ "$b_streams" = $((bind + w_bind)) ] &&
	[ $((s_err + b_err)) = 0 ]; then
	t_pass "servers checked every stream the clients checked (CONNECT $connect, BIND $bind)"
else
	t_fail "servers checked every stream the clients checked" \
		"CONNECT client $connect+$w_connect server $s_streams; BIND $bind+$w_bind / $b_streams; server errors $((s_err + b_err))"
fi
# UDP may lose datagrams, but every loss must be accounted for: dropped by
# the gateway (its session lines' dropped=) or by a full socket buffer
# (the kernel's RcvbufErrors).  Counted over warm-up and soak together.
read -r w_sent w_back <<<"$(
	"$PYTHON" - "$T_TMP"/warm4.out "$T_TMP"/warm6.out <<'EOF'
import json, sys
s = b = 0
for f in sys.argv[1:]:
    d = json.loads(open(f).readline())
    s += d["udp_sent"]
    b += d["udp_back"]
print(s, b)
EOF
)"
lost=$((udp_sent - udp_back))
all_lost=$((udp_sent + w_sent - udp_back - w_back))
gw_dropped=$(grep -o ' dropped=[0-9]*' "$T_GW_LOG" | awk -F= '{ t += $2 } END { print t + 0 }')
kdrops=$(($(udp_rcvbuf_drops) - rcvbuf0))
if [ "$all_lost" -eq $((gw_dropped + kdrops)) ]; then
	t_pass "UDP: every datagram accounted for ($((udp_sent + w_sent)) sent, $((udp_back + w_back)) back; dropped: $gw_dropped by the gateway, $kdrops by full socket buffers)"
else
	t_fail "UDP: every datagram accounted for" \
		"$all_lost lost, $gw_dropped dropped by the gateway, $kdrops by full socket buffers"
fi

# ---- nothing left behind
stuck=0
for _ in $(seq 1 100); do
	stuck=$(ip netns exec "$NS_GW" ss -Htn state established | wc -l)
	[ "$stuck" -eq 0 ] && break
	sleep 0.1
done
if [ "$stuck" -eq 0 ]; then
	t_pass "no connection left in the gateway's namespace"
else
	t_fail "no connection left in the gateway's namespace" "$stuck established"
	ip netns exec "$NS_GW" ss -tnp | head -n 10 | sed 's/^/#   /'
fi
# Cached splice pipes close after a few idle seconds: wait (bounded) for
# the baseline itself, then allow what a cache may still hold.
allow=4
fd1=$(t_wait_fds "$GWPID" "$fd0" 12)
fd_leak=$((fd1 - fd0))
if [ "$fd_leak" -le "$allow" ]; then
	t_pass "descriptors back: $fd1 (baseline $fd0)"
else
	t_fail "descriptors back" "$fd1 open, baseline $fd0"
	t_log "descriptors by kind: baseline $kinds0; now $(fd_kinds "$GWPID")"
fi
rss1=$(t_rss_kib "$GWPID")
rss_leak=$((rss1 - rss0))
rss_allow=$((16 * 1024))
# Sanitizer builds keep freed memory in quarantine.
[ "${SANITIZE:-}" = 1 ] && rss_allow=$((512 * 1024))
if [ "$rss_leak" -le "$rss_allow" ]; then
	t_pass "RSS back near the baseline: $rss1 KiB (baseline $rss0, peak $peak_rss, allowed +$rss_allow)"
else
	t_fail "RSS back near the baseline" "$rss1 KiB, baseline $rss0, allowed +$rss_allow"
fi
logged=$(($(grep -c 'session=' "$T_GW_LOG") - log0))
ids=$(grep -o 'session=[0-9]* ' "$T_GW_LOG" | sort -u | wc -l)
max=$(grep -o 'session=[0-9]* ' "$T_GW_LOG" | tr -dc '0-9\n' | sort -n | tail -n 1)
if [ "$ids" = "$max" ] && [ "$logged" -ge "$sessions" ]; then
	t_pass "every session logged its end ($logged during the soak, $sessions started by the clients)"
else
	t_fail "every session logged its end" "$ids ids up to $max; $logged lines for $sessions sessions"
fi
t_log "gateway results: $(grep -o 'result=[a-z-]*' "$T_GW_LOG" | sort | uniq -c | tr -s ' \n' ' ')"
t_log "gateway: peak $peak_fd descriptors, peak $peak_rss KiB RSS"
if [ "$GSS_SHARE" != 0 ]; then
	# The gateway's lines name the level of every GSSAPI session; the
	# warm-up's are among them.
	g_i=$(grep -c ' gssapi=integrity' "$T_GW_LOG")
	g_c=$(grep -c ' gssapi=confidentiality' "$T_GW_LOG")
	if [ "$gss_i" -gt 0 ] && [ "$gss_c" -gt 0 ] && [ "$g_i" -ge "$gss_i" ] && [ "$g_c" -ge "$gss_c" ]; then
		t_pass "GSSAPI operations relayed and checked: $gss_i at integrity, $gss_c at confidentiality (gateway lines: $g_i, $g_c)"
	else
		t_fail "GSSAPI operations relayed and checked" \
			"clients: $gss_i integrity, $gss_c confidentiality; gateway lines: $g_i, $g_c"
	fi
fi
t_gw_stop "gateway exits cleanly after the soak"

verdict=PASS
[ "$T_FAILED" -gt 0 ] && verdict=FAIL
# (fewer descriptors than the baseline: cached pipes were trimmed)
[ "$fd_leak" -lt 0 ] && fd_leak=0
printf 'soak: sessions=%s (connect=%s udp=%s bind=%s; gssapi: integrity=%s confidentiality=%s) bytes=%s (up=%s down=%s) duration=%ss streams_checked=%s hash_mismatches=%s udp_datagrams=%s lost=%s errors=%s leaks: fds=+%d (%s now, %s at baseline) rss=%+d KiB stuck=%s -> %s\n' \
	"$sessions" "$connect" "$udp" "$bind" "$gss_i" "$gss_c" $((up + down)) "$up" "$down" "$dur" "$checked" \
	$((hash_bad + udp_bad + s_bad + b_bad + u_bad)) "$udp_sent" "$lost" "$errors" "$fd_leak" \
	"$fd1" "$fd0" "$rss_leak" "$stuck" "$verdict"
t_finish
