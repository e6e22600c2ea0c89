#!/usr/bin/env bash
# Username/password (RFC 1929), SOCKS4/4a and access rules, with real clients:
# curl (--socks4, --socks4a, --socks5, --socks5-hostname, --proxy-user),
# PySocks and ncat; a rule denial seen by each as its own error; a live
# session kept across a SIGHUP that changes the rules while new sessions see
# the new rules; max-sessions-per-client.
. "$(dirname "$0")/../lib.sh"
t_init

if ! t_is_socks64d; then
	t_skip "auth and rules" "needs socks64d"
	t_finish
fi
SYSPY=/usr/bin/python3
HAVE_PYSOCKS=0
"$SYSPY" -c 'import socks' 2>/dev/null && HAVE_PYSOCKS=1

GWP=$(t_free_port) && DNSP=$(t_free_port) && WEBP=$(t_free_port) && DENYP=$(t_free_port) &&
	ECHOP=$(t_free_port) || exit 1
mkdir -p "$T_TMP/www"
echo "auth-rules-page" >"$T_TMP/www/index.html"
t_dnsmasq "" "$DNSP" 127.0.0.1 127.0.0.1 ::1 || exit 1
t_httpd "" 127.0.0.1 "$WEBP" "$T_TMP/www" || exit 1
t_httpd "" ::1 "$WEBP" "$T_TMP/www" || exit 1
t_httpd "" 127.0.0.1 "$DENYP" "$T_TMP/www" || exit 1

# A line echo server for the long-lived sessions.
t_bg "$T_TMP/echo.log" "" "$PYTHON" -c '
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
def serve(c):
    with c:
        while True:
            d = c.recv(4096)
            if not d:
                return
            c.sendall(d)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
' "$ECHOP"
t_wait_listen "" tcp 127.0.0.1 "$ECHOP" 10 || exit 1

# Users: alice and bob, hashes made by the daemon itself.
printf 'alice-pw\n' | "$SOCKS64D" -p alice >"$T_TMP/users" &&
	printf 'bob pass word\n' | "$SOCKS64D" -p bob >>"$T_TMP/users" || exit 1
chmod 600 "$T_TMP/users"
t_check "socks64d -p writes name:yescrypt-or-sha512 lines" \
	grep -Eq '^alice:\$(y|6)\$' "$T_TMP/users"

write_conf() {
	cat >"$T_TMP/gw.conf" <<EOF
listen 127.0.0.1:$GWP
listen [::1]:$GWP
workers 2
nameserver 127.0.0.1:$DNSP
auth username none
users-file $T_TMP/users
log-level info
# SOCKS4 (no login): web port only
pass version 4 to 127.0.0.1,::1,www.v4.test port $WEBP command connect
# logins: alice everywhere on loopback except the deny port, bob the web only
block to any port $DENYP
$1
pass method username user alice to 127.0.0.1,::1 command connect
pass method username user bob to 127.0.0.1,::1 port $WEBP
block
EOF
}
write_conf "pass method username user alice port $ECHOP"
t_check "socks64d -n accepts the config" "$SOCKS64D" -n -f "$T_TMP/gw.conf"
t_gw_start "" "$T_TMP/gw.conf" "$T_TMP/gw.log" || exit 1
PID=$(t_gw_pid)

url="http://127.0.0.1:$WEBP/index.html"
fetch() { curl -sS --max-time 10 "$@" 2>&1; }

# ---- SOCKS5 with RFC 1929 -------------------------------------------------
out=$(fetch --socks5 "127.0.0.1:$GWP" --proxy-user alice:alice-pw "$url")
[ "$out" = auth-rules-page ] && t_pass "curl --socks5 --proxy-user alice (right password)" ||
	t_fail "curl --socks5 --proxy-user alice" "$out"
out=$(fetch --socks5-hostname "[::1]:$GWP" --proxy-user 'bob:bob pass word' \
	"http://[::1]:$WEBP/index.html")
[ "$out" = auth-rules-page ] && t_pass "curl --socks5-hostname over IPv6, bob (password with blanks)" ||
	t_fail "curl --socks5-hostname bob" "$out"
if fetch --socks5 "127.0.0.1:$GWP" --proxy-user alice:wrong "$url" >"$T_TMP/o" 2>&1; then
	t_fail "wrong password refused" "$(cat "$T_TMP/o")"
else
	t_pass "wrong password refused (curl: $(head -c 120 "$T_TMP/o"))"
fi
t_check "failed login logged with the user name" \
	t_wait_file_grep "$T_TMP/gw.log" "login failed for user 'alice'" 5
if fetch --socks5 "127.0.0.1:$GWP" --proxy-user nosuch:x "$url" >"$T_TMP/o" 2>&1; then
	t_fail "unknown user refused" "$(cat "$T_TMP/o")"
else
	t_pass "unknown user refused"
fi
# Method none is offered too, but no rule passes it for SOCKS5.
if fetch --socks5 "127.0.0.1:$GWP" "$url" >"$T_TMP/o" 2>&1; then
	t_fail "SOCKS5 without login is denied by the rules" "$(cat "$T_TMP/o")"
else
	t_pass "SOCKS5 without login denied by the rules (curl: $(head -c 100 "$T_TMP/o"))"
fi
# bob may not use the echo port; alice may not use the deny port.
if fetch --socks5 "127.0.0.1:$GWP" --proxy-user 'bob:bob pass word' \
	"http://127.0.0.1:$DENYP/index.html" >"$T_TMP/o" 2>&1; then
	t_fail "rule denial (block port) seen by curl" "$(cat "$T_TMP/o")"
else
	t_pass "rule denial seen by curl: $(head -c 100 "$T_TMP/o")"
fi
t_check "denial logged as result=denied" \
	t_wait_file_grep "$T_TMP/gw.log" "user=bob cmd=connect target=127.0.0.1:$DENYP .*result=denied" 5

# ---- SOCKS4 and 4a ---------------------------------------------------------
out=$(fetch --socks4 "127.0.0.1:$GWP" "$url")
[ "$out" = auth-rules-page ] && t_pass "curl --socks4" || t_fail "curl --socks4" "$out"
out=$(fetch --socks4a "127.0.0.1:$GWP" "http://www.v4.test:$WEBP/index.html")
[ "$out" = auth-rules-page ] && t_pass "curl --socks4a with a name" || t_fail "curl --socks4a" "$out"
if fetch --socks4 "127.0.0.1:$GWP" "http://127.0.0.1:$DENYP/index.html" >"$T_TMP/o" 2>&1; then
	t_fail "SOCKS4 rule denial" "$(cat "$T_TMP/o")"
else
	t_pass "SOCKS4 rule denial seen by curl: $(head -c 100 "$T_TMP/o")"
fi
if fetch --socks4a "127.0.0.1:$GWP" "http://nosuch.test:$WEBP/" >"$T_TMP/o" 2>&1; then
	t_fail "SOCKS4a unknown name refused" "$(cat "$T_TMP/o")"
else
	t_pass "SOCKS4a unknown name refused (91)"
fi

# ---- ncat ------------------------------------------------------------------
if command -v ncat >/dev/null 2>&1; then
	out=$(printf 'GET /index.html HTTP/1.0\r\n\r\n' | timeout 10 ncat --proxy "127.0.0.1:$GWP" \
		--proxy-type socks5 --proxy-auth alice:alice-pw 127.0.0.1 "$WEBP" 2>&1 | tail -n 1)
	[ "$out" = auth-rules-page ] && t_pass "ncat --proxy-type socks5 --proxy-auth" ||
		t_fail "ncat socks5 auth" "$out"
	out=$(printf 'GET /index.html HTTP/1.0\r\n\r\n' | timeout 10 ncat --proxy "127.0.0.1:$GWP" \
		--proxy-type socks4 127.0.0.1 "$WEBP" 2>&1 | tail -n 1)
	[ "$out" = auth-rules-page ] && t_pass "ncat --proxy-type socks4" || t_fail "ncat socks4" "$out"
	if printf 'x' | timeout 10 ncat --proxy "127.0.0.1:$GWP" --proxy-type socks5 \
		--proxy-auth alice:nope 127.0.0.1 "$WEBP" >"$T_TMP/o" 2>&1; then
		t_fail "ncat wrong password" "$(cat "$T_TMP/o")"
	else
		t_pass "ncat wrong password refused: $(head -c 100 "$T_TMP/o")"
	fi
else
	t_skip "ncat" "ncat not installed"
fi

# ---- PySocks and the reload under a live session ---------------------------
if [ "$HAVE_PYSOCKS" = 1 ]; then
	out=$("$SYSPY" - "$GWP" "$WEBP" <<'EOF' 2>&1
import socks, sys
gw, web = int(sys.argv[1]), int(sys.argv[2])
s = socks.socksocket()
s.set_proxy(socks.SOCKS5, "127.0.0.1", gw, username="alice", password="alice-pw")
s.settimeout(10)
s.connect(("127.0.0.1", web))
s.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
data = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    data += d
print(data.split(b"\r\n\r\n", 1)[1].decode().strip())
try:
    t = socks.socksocket()
    t.set_proxy(socks.SOCKS5, "127.0.0.1", gw, username="alice", password="bad")
    t.settimeout(10)
    t.connect(("127.0.0.1", web))
    print("wrong password accepted")
except socks.ProxyError as e:
    # PySocks wraps the RFC 1929 failure: the message says which.
    print("refused:", e.msg, "/", e.socket_err)
EOF
)
	case $out in
	"auth-rules-page"*"refused:"*"authentication failed"*) t_pass "PySocks username/password (right and wrong)" ;;
	*) t_fail "PySocks username/password" "$out" ;;
	esac

	# One live session across a reload that blocks its destination.
	"$SYSPY" - "$GWP" "$ECHOP" "$T_TMP" <<'EOF' >"$T_TMP/reload.out" 2>&1 &
import os, socks, sys, time
gw, echo, tmp = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def conn():
    s = socks.socksocket()
    s.set_proxy(socks.SOCKS5, "127.0.0.1", gw, username="alice", password="alice-pw")
    s.settimeout(10)
    s.connect(("127.0.0.1", echo))
    return s
s = conn()
s.sendall(b"before\n"); print("echo1", s.recv(100).decode().strip(), flush=True)
open(tmp + "/live", "w").close()
for _ in range(100):                     # wait (bounded) for the reload
    if os.path.exists(tmp + "/reloaded"):
        break
    time.sleep(0.1)
s.sendall(b"after\n"); print("echo2", s.recv(100).decode().strip(), flush=True)
try:
    conn(); print("new session passed", flush=True)
except socks.ProxyError as e:
    print("new session refused", type(e).__name__, flush=True)
EOF
	RPID=$!
	T_PIDS+=("$RPID")
	for _ in $(seq 1 100); do
		[ -e "$T_TMP/live" ] && break
		sleep 0.1
	done
	write_conf "block to any port $ECHOP"
	kill -HUP "$PID"
	t_wait_file_grep "$T_TMP/gw.log" 'reloaded' 5 && touch "$T_TMP/reloaded"
	wait "$RPID"
	out=$(tr '\n' ' ' <"$T_TMP/reload.out")
	case $out in
	"echo1 before echo2 after new session refused"*)
		t_pass "SIGHUP: live session kept its bytes flowing, new session saw the new rules" ;;
	*) t_fail "reload with a live session" "$out" ;;
	esac
	# A bad file keeps the running rules.
	echo "pass from nowhere" >>"$T_TMP/gw.conf"
	kill -HUP "$PID"
	t_check "bad reload names file:line and keeps the old config" \
		t_wait_file_grep "$T_TMP/gw.log" "reload failed, keeping the running configuration: .*gw.conf:[0-9]+:" 5
	out=$(fetch --socks5 "127.0.0.1:$GWP" --proxy-user alice:alice-pw "$url")
	[ "$out" = auth-rules-page ] && t_pass "still serving after a bad reload" ||
		t_fail "serving after a bad reload" "$out"
else
	t_skip "PySocks checks" "python3-socks not installed"
fi
t_check "gateway alive" t_gw_alive
t_gw_stop "socks64d exits cleanly"

# ---- max-sessions-per-client --------------------------------------------------
cat >"$T_TMP/gw2.conf" <<EOF
listen 127.0.0.1:$GWP
workers 2
max-sessions-per-client 2
log-level info
EOF
t_gw_start "" "$T_TMP/gw2.conf" "$T_TMP/gw2.log" || exit 1
out=$("$PYTHON" - "$GWP" "$ECHOP" <<'EOF' 2>&1
import socket, struct, sys
gw, echo = int(sys.argv[1]), int(sys.argv[2])
def conn():
    s = socket.create_connection(("127.0.0.1", gw), timeout=5)
    try:
        s.sendall(b"\x05\x01\x00" + b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack("!H", echo))
        r = b""
        while len(r) < 12:
            d = s.recv(12 - len(r))
            if not d:
                break
            r += d
    except OSError:
        r = b""
    return s, "ok" if r[:4] == b"\x05\x00\x05\x00" and len(r) == 12 else "refused"
held = []
for i in range(3):
    s, r = conn()
    held.append(s)
    print(i, r)
for s in held: s.close()
import time; time.sleep(0.3)
s, r = conn()
print("after", r)
EOF
)
case $(echo $out) in
"0 ok 1 ok 2 refused after ok") t_pass "max-sessions-per-client 2: third refused, slot freed on close" ;;
*) t_fail "max-sessions-per-client" "$out" ;;
esac
t_gw_stop "socks64d exits cleanly (limits)"
# ---- logins required: SOCKS4 (which has none) is refused ---------------------
cat >"$T_TMP/gw3.conf" <<EOF
listen 127.0.0.1:$GWP
workers 1
auth username
users-file $T_TMP/users
log-level info
pass from 127.0.0.0/8 to any
EOF
t_gw_start "" "$T_TMP/gw3.conf" "$T_TMP/gw3.log" || exit 1
if fetch --socks4 "127.0.0.1:$GWP" "$url" >"$T_TMP/o" 2>&1; then
	t_fail "SOCKS4 refused when auth offers no 'none'" "$(cat "$T_TMP/o")"
else
	t_pass "SOCKS4 refused when auth offers no 'none' ($(head -c 90 "$T_TMP/o"))"
fi
t_check "refusal logged" t_wait_file_grep "$T_TMP/gw3.log" "SOCKS4 has no login" 5
out=$(fetch --socks5 "127.0.0.1:$GWP" --proxy-user alice:alice-pw "$url")
[ "$out" = auth-rules-page ] && t_pass "SOCKS5 with a login still passes" ||
	t_fail "SOCKS5 login on the logins-only gateway" "$out"
t_gw_stop "socks64d exits cleanly (logins only)"
t_finish
