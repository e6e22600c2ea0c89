#!/bin/bash
# SOCKS5 CONNECT on loopback with real clients: curl --socks5 (client-side
# resolution) and --socks5-hostname (names and literals) through socks64d on
# 127.0.0.1 and ::1, to HTTP servers on 127.0.0.1 and ::1, names served by a
# dnsmasq the test starts (www.v4.test A only, www.v6.test AAAA only,
# dual.test both).  Then 100 MiB each way with SHA-256 compared at both ends,
# and the session log lines checked.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init

BIG=$((100 * 1024 * 1024))
DNSPORT=$(t_free_port) || exit 1
WEBPORT=$(t_free_port) || exit 1
GWPORT=$(t_free_port) || exit 1

# Two web roots so every answer says which family actually served it.
mkdir -p "$T_TMP/www4" "$T_TMP/www6"
echo "hello from v4" >"$T_TMP/www4/index.html"
echo "hello from v6" >"$T_TMP/www6/index.html"
head -c "$BIG" /dev/urandom >"$T_TMP/big.bin"
BIGSUM=$(sha256sum <"$T_TMP/big.bin" | cut -d' ' -f1)
ln "$T_TMP/big.bin" "$T_TMP/www6/big.bin"

t_dnsmasq "" "$DNSPORT" 127.0.0.1,::1 127.0.0.1 ::1 || {
	t_fail "start dnsmasq"
	t_finish
}
t_dns_zone_checks "" 127.0.0.1 "$DNSPORT" 127.0.0.1 ::1

t_httpd "" 127.0.0.1 "$WEBPORT" "$T_TMP/www4" || t_fail "start httpd on 127.0.0.1"
t_httpd "" ::1 "$WEBPORT" "$T_TMP/www6" || t_fail "start httpd on ::1"

cat >"$T_TMP/socks64d.conf" <<EOF
listen 127.0.0.1:$GWPORT
listen [::1]:$GWPORT
workers 2
nameserver 127.0.0.1:$DNSPORT
handshake-timeout 2s
connect-timeout 5s
log-level info
EOF
if ! t_is_socks64d; then
	# Debugging the script against microsocks: it resolves with the system
	# resolver, so give it the zone as a private hosts file.
	printf '127.0.0.1 www.v4.test dual.test\n::1 www.v6.test dual.test\n' >"$T_TMP/hosts"
	export T_GW_MOUNTS="$T_TMP/hosts=/etc/hosts"
	t_log "SOCKS_IMPL=$SOCKS_IMPL: names from a private /etc/hosts, not from dnsmasq"
fi
if ! t_gw_start "" "$T_TMP/socks64d.conf" "$T_TMP/gw.log"; then
	t_fail "start gateway"
	t_finish
fi
t_pass "gateway ready on 127.0.0.1:$GWPORT and [::1]:$GWPORT"

if t_is_socks64d; then
	t_check "socks64d -n accepts the test config" "$SOCKS64D" -n -f "$T_TMP/socks64d.conf"
	printf 'listen 127.0.0.1:%s\nworkers 1\nno-such-key 1\n' "$GWPORT" >"$T_TMP/bad.conf"
	out=$("$SOCKS64D" -n -f "$T_TMP/bad.conf" 2>&1)
	rc=$?
	if [ "$rc" -eq 1 ] && printf '%s\n' "$out" | grep -q "bad.conf:3"; then
		t_pass "socks64d -n rejects a bad config with file:line"
	else
		t_fail "socks64d -n rejects a bad config with file:line" "exit $rc: $out"
	fi
fi

NOK=0 # sessions that must have been logged with result=ok

# fetch NAME PROXYURL URL WANT: GET through the proxy, body must be WANT.
fetch() {
	local name=$1 proxy=$2 url=$3 want=$4 body
	body=$(curl -sS -g --max-time 20 -x "$proxy" "$url" 2>&1)
	if [ "$body" = "$want" ]; then
		t_pass "$name"
		NOK=$((NOK + 1))
	else
		t_fail "$name" "got: $(printf '%s' "$body" | head -c 200)"
	fi
}

for P in 127.0.0.1 '[::1]'; do
	# --socks5: curl resolves (only literals: the test zone is not in the
	# system resolver) and sends ATYP 1 / ATYP 4.
	fetch "socks5 proxy $P -> 127.0.0.1" "socks5://$P:$GWPORT" \
		"http://127.0.0.1:$WEBPORT/" "hello from v4"
	fetch "socks5 proxy $P -> [::1]" "socks5://$P:$GWPORT" \
		"http://[::1]:$WEBPORT/" "hello from v6"
	# --socks5-hostname: the gateway resolves.
	fetch "socks5h proxy $P -> 127.0.0.1" "socks5h://$P:$GWPORT" \
		"http://127.0.0.1:$WEBPORT/" "hello from v4"
	fetch "socks5h proxy $P -> [::1]" "socks5h://$P:$GWPORT" \
		"http://[::1]:$WEBPORT/" "hello from v6"
	fetch "socks5h proxy $P -> www.v4.test (A only)" "socks5h://$P:$GWPORT" \
		"http://www.v4.test:$WEBPORT/" "hello from v4"
	fetch "socks5h proxy $P -> www.v6.test (AAAA only)" "socks5h://$P:$GWPORT" \
		"http://www.v6.test:$WEBPORT/" "hello from v6"
	body=$(curl -sS -g --max-time 20 -x "socks5h://$P:$GWPORT" \
		"http://dual.test:$WEBPORT/" 2>&1)
	case $body in
	"hello from v4" | "hello from v6")
		t_pass "socks5h proxy $P -> dual.test ($body)"
		NOK=$((NOK + 1))
		;;
	*) t_fail "socks5h proxy $P -> dual.test" "got: $(printf '%s' "$body" | head -c 200)" ;;
	esac
done

# IP literals inside ATYP 3 are literals, BND.ADDR/BND.PORT are the real
# local address of the outbound socket, half-close is relayed.
t_check "probe: literals as names, BND, half-close (proxy 127.0.0.1)" \
	"$PYTHON" "$T_ROOT/tests/integration/socks_probe.py" --proxy "127.0.0.1:$GWPORT" \
	bnd_ipv4 bnd_ipv6 literal_v4_as_name literal_v6_as_name
t_check "probe: literals as names, BND, half-close (proxy ::1)" \
	"$PYTHON" "$T_ROOT/tests/integration/socks_probe.py" --proxy "[::1]:$GWPORT" \
	bnd_ipv4 bnd_ipv6 literal_v4_as_name literal_v6_as_name
NOK=$((NOK + 8))

# 100 MiB download: IPv4 client, IPv6-only name (the translating direction).
# curl reports the exact bytes each way, for the session log check below.
set -o pipefail
sum=$(curl -sS --max-time 300 -x "socks5h://127.0.0.1:$GWPORT" \
	-w '%{stderr}%{size_request} %{size_upload} %{size_header} %{size_download}\n' \
	"http://www.v6.test:$WEBPORT/big.bin" 2>"$T_TMP/dl.sizes" | sha256sum | cut -d' ' -f1)
rc=$?
if [ "$rc" -eq 0 ] && [ "$sum" = "$BIGSUM" ]; then
	t_pass "100 MiB download v4 client -> www.v6.test, sha256 equal"
	NOK=$((NOK + 1))
else
	t_fail "100 MiB download v4 client -> www.v6.test" "rc=$rc sha256 $sum want $BIGSUM"
fi

# 100 MiB upload: IPv6 client, IPv4-only name; the server hashes the body.
got=$(curl -sS --max-time 300 -x "socks5h://[::1]:$GWPORT" -T "$T_TMP/big.bin" \
	-w '%{stderr}%{size_request} %{size_upload} %{size_header} %{size_download}\n' \
	"http://www.v4.test:$WEBPORT/upload" 2>"$T_TMP/ul.sizes")
rc=$?
set +o pipefail
if [ "$rc" -eq 0 ] && [ "$got" = "$BIGSUM $BIG" ]; then
	t_pass "100 MiB upload v6 client -> www.v4.test, sha256 equal"
	NOK=$((NOK + 1))
else
	t_fail "100 MiB upload v6 client -> www.v4.test" \
		"rc=$rc server said '$got' want '$BIGSUM $BIG' ($(head -c 200 "$T_TMP/ul.sizes"))"
fi

if ! t_is_socks64d; then
	t_skip "session log checks" "SOCKS_IMPL=$SOCKS_IMPL"
else
	# Lines are written at session close; wait (bounded) until all are in.
	n=0
	for _ in $(seq 1 50); do
		n=$(grep -c 'result=ok' "$T_GW_LOG")
		[ "$n" -ge "$NOK" ] && break
		sleep 0.1
	done
	if [ "$n" -ge "$NOK" ]; then
		t_pass "session log: $n result=ok lines (>= $NOK successful sessions)"
	else
		t_fail "session log" "$n result=ok lines, want >= $NOK"
	fi

	# The big transfers: the byte counts are exactly what curl sent and
	# received over HTTP (up = client -> destination, down = the reverse).
	logline_check() {
		local name=$1 re=$2 sizes=$3 line req upl hdr dl want_up want_down up down
		read -r req upl hdr dl <"$sizes"
		want_up=$((req + upl))
		want_down=$((hdr + dl))
		line=$(grep -E "$re" "$T_GW_LOG" | grep 'result=ok' | tail -n 1)
		up=$(printf '%s\n' "$line" | grep -oE " up=[0-9]+" | cut -d= -f2)
		down=$(printf '%s\n' "$line" | grep -oE " down=[0-9]+" | cut -d= -f2)
		if [ "$up" = "$want_up" ] && [ "$down" = "$want_down" ]; then
			t_pass "$name: up=$up down=$down"
		else
			t_fail "$name" "want up=$want_up down=$want_down, line: ${line:-none}"
		fi
	}
	logline_check "session log of the download" \
		"client=127\\.0\\.0\\.1:[0-9]+ .*target=www\\.v6\\.test:$WEBPORT .*addr=\\[::1\\]:$WEBPORT " \
		"$T_TMP/dl.sizes"
	logline_check "session log of the upload" \
		"client=\\[::1\\]:[0-9]+ .*target=www\\.v4\\.test:$WEBPORT .*addr=127\\.0\\.0\\.1:$WEBPORT .*up=[0-9]{9}" \
		"$T_TMP/ul.sizes"
	if grep -E 'session=[0-9]+ ' "$T_GW_LOG" | grep -E 'result=' | grep -vqE 'dur_ms=[0-9]+'; then
		t_fail "session log lines carry dur_ms" "$(grep -E 'result=' "$T_GW_LOG" | grep -v dur_ms= | head -n 3)"
	else
		t_pass "session log lines carry dur_ms"
	fi
fi

if ! t_gw_alive; then
	t_fail "gateway still running after the transfers"
fi
t_gw_stop "gateway exits cleanly on SIGTERM"
[ "$T_FAILED" -gt 0 ] && t_gw_log_tail 40
t_finish
