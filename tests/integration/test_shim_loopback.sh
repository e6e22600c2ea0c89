#!/bin/bash
# The client shim on loopback: unmodified curl, wget and python3 run under
# client-shim/socks64 fetch by name through socks64d on 127.0.0.1, the
# names served by a dnsmasq only the gateway asks (the system resolver does
# not know the .test zone, so a fetch that works proves the name went to the
# gateway).  One synthetic address across processes, reverse lookups of
# synthetic addresses, getpeername(), non-blocking connects (poll, select,
# epoll, asyncio, curl) against a gateway that answers slowly, and clean
# errors for a gateway that is down and for an unknown synthetic address.
# No root needed.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init

SOCKS64=$T_ROOT/client-shim/socks64
if [ ! -f "$T_ROOT/client-shim/libsocks64.so" ]; then
	t_skip "shim loopback" "client-shim/libsocks64.so not built"
	t_finish
fi

DNSPORT=$(t_free_port) || exit 1
WEBPORT=$(t_free_port) || exit 1
GWPORT=$(t_free_port) || exit 1
DEADPORT=$(t_free_port) || exit 1

# A private runtime directory: the synthetic map of this run only.
export XDG_RUNTIME_DIR=$T_TMP/run
mkdir -m 0700 "$XDG_RUNTIME_DIR"
# No client configuration from the machine or the user.
export XDG_CONFIG_HOME=$T_TMP/config
export SOCKS64_GATEWAY=127.0.0.1:$GWPORT
unset SOCKS64_CONF SOCKS64_VERBOSE

mkdir -p "$T_TMP/www4" "$T_TMP/www6"
echo "hello from v4" >"$T_TMP/www4/index.html"
echo "hello from v6" >"$T_TMP/www6/index.html"

t_dnsmasq "" "$DNSPORT" 127.0.0.1 127.0.0.1 ::1 --address=/multi.test/127.0.0.1 || {
	t_fail "start dnsmasq"
	t_finish
}
t_httpd "" 127.0.0.1 "$WEBPORT" "$T_TMP/www4" || t_fail "start httpd on 127.0.0.1"
t_httpd "" ::1 "$WEBPORT" "$T_TMP/www6" || t_fail "start httpd on ::1"

cat >"$T_TMP/socks64d.conf" <<EOF
listen 127.0.0.1:$GWPORT
listen [::1]:$GWPORT
workers 1
nameserver 127.0.0.1:$DNSPORT
handshake-timeout 2s
connect-timeout 5s
log-level info
EOF
if ! t_gw_start "" "$T_TMP/socks64d.conf" "$T_TMP/gw.log"; then
	t_fail "start gateway"
	t_finish
fi

# expect NAME WANT CMD...: CMD's stdout must be exactly WANT.
expect() {
	local name=$1 want=$2 got
	shift 2
	got=$(timeout 30 "$@" 2>"$T_TMP/stderr")
	if [ "$got" = "$want" ]; then
		t_pass "$name"
	else
		t_fail "$name" "got '$(printf '%s' "$got" | head -c 200)'; stderr: $(head -c 300 "$T_TMP/stderr")"
	fi
}

# Without the shim the names do not resolve here at all.
if getent hosts www.v6.test >/dev/null 2>&1; then
	t_skip "names unknown without the shim" "the system resolver knows www.v6.test"
else
	t_pass "www.v6.test does not resolve without the shim"
fi

for name in www.v6.test www.v4.test; do
	want="hello from ${name:4:2}" # www.v6.test -> v6
	expect "curl under socks64 -> $name" "$want" \
		"$SOCKS64" curl -sS --max-time 20 "http://$name:$WEBPORT/"
	expect "wget under socks64 -> $name" "$want" \
		"$SOCKS64" wget -q -T 20 -O - "http://$name:$WEBPORT/"
	expect "python3 urllib under socks64 -> $name" "$want" \
		"$SOCKS64" "$PYTHON" -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=20).read().decode())' \
		"http://$name:$WEBPORT/"
done
# Upper case and a trailing dot are the same name.
expect "curl under socks64 -> WWW.V6.TEST." "hello from v6" \
	"$SOCKS64" curl -sS --max-time 20 "http://WWW.V6.TEST.:$WEBPORT/"

# One address per name across processes of the same user.
out=$("$SOCKS64" sh -c 'getent ahostsv4 dual.test; getent ahostsv4 dual.test' 2>&1)
a1=$(printf '%s\n' "$out" | awk 'NR == 1 { print $1 }')
a2=$(printf '%s\n' "$out" | awk '/STREAM/ { n++; if (n == 2) print $1 }')
a3=$("$SOCKS64" getent ahostsv4 dual.test | awk 'NR == 1 { print $1 }')
if [ -n "$a1" ] && [ "$a1" = "$a2" ] && [ "$a1" = "$a3" ]; then
	t_pass "dual.test has one synthetic IPv4 across processes ($a1)"
else
	t_fail "one synthetic address across processes" "got '$a1' '$a2' '$a3'"
fi
case $a1 in
0.*) t_pass "the synthetic IPv4 address is in 0.0.0.0/8" ;;
*) t_fail "synthetic IPv4 in 0.0.0.0/8" "got '$a1'" ;;
esac
v6=$("$SOCKS64" getent ahostsv6 dual.test | awk 'NR == 1 { print $1 }')
case $v6 in
100::*) t_pass "the synthetic IPv6 address is in 100::/64 ($v6)" ;;
*) t_fail "synthetic IPv6 in 100::/64" "got '$v6'" ;;
esac

# Reverse lookups of synthetic addresses give the name back.
expect "getent hosts $a1 -> dual.test" "dual.test" \
	sh -c "'$SOCKS64' getent hosts '$a1' | awk '{ print \$2 }'"
expect "getent hosts $v6 -> dual.test" "dual.test" \
	sh -c "'$SOCKS64' getent hosts '$v6' | awk '{ print \$2 }'"
expect "getnameinfo of $a1 -> dual.test" "dual.test http" \
	"$SOCKS64" "$PYTHON" -c 'import socket, sys
print(*socket.getnameinfo((sys.argv[1], 80), 0))' "$a1"
expect "getnameinfo NI_NUMERICHOST keeps the address" "$a1" \
	"$SOCKS64" "$PYTHON" -c 'import socket, sys
print(socket.getnameinfo((sys.argv[1], 80), socket.NI_NUMERICHOST)[0])' "$a1"

# socks64 --map lists what was handed out.
if "$SOCKS64" --map | grep -Eq "^dual\\.test +$a1 +$v6 "; then
	t_pass "socks64 --map lists dual.test $a1 $v6"
else
	t_fail "socks64 --map" "$("$SOCKS64" --map 2>&1 | head -n 5)"
fi
mode=$(stat -c %a "$XDG_RUNTIME_DIR/socks64-map")
if [ "$mode" = 600 ]; then
	t_pass "map file mode 0600"
else
	t_fail "map file mode" "$mode"
fi

# getpeername() shows the synthetic address, not the gateway; canonname.
expect "getpeername is the synthetic address" "$a1 $WEBPORT" \
	"$SOCKS64" "$PYTHON" -c 'import socket, sys
s = socket.create_connection(("dual.test", int(sys.argv[1])), timeout=20)
print(*s.getpeername()[:2])' "$WEBPORT"
expect "AI_CANONNAME gives the name" "www.v6.test" \
	"$SOCKS64" "$PYTHON" -c 'import socket
print(socket.getaddrinfo("WWW.v6.test", 80, socket.AF_INET, socket.SOCK_STREAM, 0,
    socket.AI_CANONNAME)[0][3])'
expect "AF_INET6 callers get a synthetic IPv6 address" "AF_INET6 100" \
	"$SOCKS64" "$PYTHON" -c 'import socket
ai = socket.getaddrinfo("www.v4.test", "http", socket.AF_INET6, socket.SOCK_STREAM)
print(ai[0][0].name, ai[0][4][0].split(":")[0])'
expect "services resolve as libc does" "8080 EAI_SERVICE" \
	"$SOCKS64" "$PYTHON" -c 'import socket
print(socket.getaddrinfo("www.v4.test", "8080", socket.AF_INET, socket.SOCK_STREAM)[0][4][1], end=" ")
try:
    socket.getaddrinfo("www.v4.test", "no-such-service", socket.AF_INET, socket.SOCK_STREAM)
except socket.gaierror as e:
    print("EAI_SERVICE" if e.errno == socket.EAI_SERVICE else e)'

# A non-blocking client: asyncio's connect (EINPROGRESS path) and streams,
# over an IPv6 socket to the synthetic IPv6 address as well.
expect "asyncio client under socks64 (IPv4 and IPv6 sockets)" "hello from v6|hello from v4" \
	"$SOCKS64" "$PYTHON" -c 'import asyncio, socket, sys
async def get(host, port, family):
    r, w = await asyncio.wait_for(asyncio.open_connection(host, port, family=family), 20)
    w.write(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
    data = await asyncio.wait_for(r.read(), 20)
    w.close()
    return data.split(b"\r\n\r\n", 1)[1].decode().strip()
async def main(port):
    a, b = await asyncio.gather(get("www.v6.test", port, socket.AF_INET),
                                get("www.v4.test", port, socket.AF_INET6))
    print(a + "|" + b)
asyncio.run(main(int(sys.argv[1])))' "$WEBPORT"

# Non-blocking connects against a stand-in gateway that holds every CONNECT
# reply for a second (tests/integration/shim_slow_gw.py): connect() returns
# EINPROGRESS at once, the socket is not readable or writable before the
# reply (poll, select, epoll -- registered before or after connect()), the
# reply's error comes through SO_ERROR, close() cancels a handshake, the
# shim's own descriptors survive the program closing "everything", and a
# forked child runs its own handshakes.  The probe checks each itself and
# prints its verdict (tests/integration/shim_nb_probe.py).
SLOWPORT=$(t_free_port) || exit 1
t_bg "$T_TMP/slow_gw.log" "" "$PYTHON" "$T_ROOT/tests/integration/shim_slow_gw.py" \
	--port "$SLOWPORT" --delay 1
if ! t_wait_listen "" tcp 127.0.0.1 "$SLOWPORT" 10; then
	t_fail "start the slow SOCKS5 stand-in" "$(tail -n 5 "$T_TMP/slow_gw.log")"
else
	# nb NAME WANT MODE
	nb() {
		expect "non-blocking: $1" "$2" "$SOCKS64" -g "127.0.0.1:$SLOWPORT" \
			"$PYTHON" "$T_ROOT/tests/integration/shim_nb_probe.py" "$3" "$SLOWPORT" 1
	}
	for sel in poll select epoll; do
		nb "$sel: EINPROGRESS in < 100 ms, writable only after the reply, EALREADY, EISCONN" \
			ok "$sel"
		nb "$sel: REP 5 is ECONNREFUSED from SO_ERROR, once" ECONNREFUSED "refuse-$sel"
	done
	nb "asyncio (epoll): sock_connect, open_connection over IPv4 and IPv6, refusal" ok asyncio
	nb "epoll registrations (level and edge) made before connect()" ok epoll-before
	nb "close() mid-handshake: cancelled, no descriptor left" ok close
	nb "the shim's descriptors survive close(), dup2() and closerange()" ok protect
	nb "a child forked after the helper started, with a handshake in flight" ok fork
	# curl: non-blocking, poll(), both families at once (Happy Eyeballs).
	expect "non-blocking: curl through the slow gateway" "slow ok" \
		"$SOCKS64" -g "127.0.0.1:$SLOWPORT" curl -sS --max-time 20 "http://slow.test/"
	if grep -q ' early=[1-9]' "$T_TMP/slow_gw.log"; then
		t_fail "non-blocking: no application byte before the reply" \
			"$(grep ' early=[1-9]' "$T_TMP/slow_gw.log" | head -n 3)"
	elif [ "$(grep -c ' rep=0 early=0$' "$T_TMP/slow_gw.log")" -ge 10 ]; then
		t_pass "non-blocking: no application byte before the reply (stand-in's log)"
	else
		t_fail "non-blocking: the stand-in saw too few CONNECTs" "$(head -n 5 "$T_TMP/slow_gw.log")"
	fi
	if grep -q '^close\.test [0-9]* closed-before-reply$' "$T_TMP/slow_gw.log"; then
		t_pass "non-blocking: the gateway saw the cancelled handshake close"
	else
		t_fail "non-blocking: cancelled handshake" "$(grep close.test "$T_TMP/slow_gw.log")"
	fi
fi

# 40 threads resolving and connecting to 20 names at once: every thread
# sees the same address for the same name, and every fetch works.
expect "40 threads, 20 names, consistent answers" "ok 40" \
	"$SOCKS64" "$PYTHON" -c 'import socket, sys, threading
port = int(sys.argv[1]); res = {}; lock = threading.Lock(); ok = [0]
def run(i):
    name = "n%d.test" % (i % 20)
    a = socket.getaddrinfo(name, port, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
    with lock:
        if res.setdefault(name, a) != a: print("mismatch", name, a, res[name])
    b = socket.getaddrinfo("www.v4.test", port, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
    s = socket.create_connection((b, port), timeout=20)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    data = b""
    while True:
        d = s.recv(4096)
        if not d: break
        data += d
    if data.endswith(b"hello from v4\n"):
        with lock: ok[0] += 1
ts = [threading.Thread(target=run, args=(i,)) for i in range(40)]
[t.start() for t in ts]; [t.join(30) for t in ts]
print("ok", ok[0])' "$WEBPORT"

# 200 threads, 200 different names, all at once: each name gets one
# synthetic address (the same when asked again, never another name's), and
# every thread's connection to its own name is relayed by name.
expect "200 threads, 200 names at once, consistent both ways" "ok 200 200" \
	"$SOCKS64" "$PYTHON" -c 'import socket, sys, threading
port = int(sys.argv[1]); lock = threading.Lock(); addr = {}; ok = [0]; bad = []
def run(i):
    name = "n%d.multi.test" % i
    try:
        a = socket.getaddrinfo(name, port, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
        s = socket.create_connection((a, port), timeout=20)
        s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        data = b""
        while True:
            d = s.recv(4096)
            if not d: break
            data += d
        again = socket.getaddrinfo(name, port, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
        back = socket.gethostbyaddr(a)[0]
        with lock:
            addr[name] = a
            if again != a or back != name: bad.append((name, a, again, back))
            if data.endswith(b"hello from v4\n"): ok[0] += 1
    except Exception as e:
        with lock: bad.append((name, repr(e)))
ts = [threading.Thread(target=run, args=(i,)) for i in range(200)]
[t.start() for t in ts]; [t.join(60) for t in ts]
if bad: print("bad", bad[:3])
print("ok", ok[0], len(set(addr.values())))' "$WEBPORT"

# Loopback and numeric hosts are never touched: this works with the
# gateway pointed at a dead port.
expect "numeric loopback goes direct" "hello from v4" \
	"$SOCKS64" -g "127.0.0.1:$DEADPORT" curl -sS --max-time 20 "http://127.0.0.1:$WEBPORT/"

# A program that resolves no names is untouched: not even the map is made.
mkdir -m 0700 "$T_TMP/run2"
XDG_RUNTIME_DIR=$T_TMP/run2 "$SOCKS64" curl -sS --max-time 20 -o /dev/null \
	"http://127.0.0.1:$WEBPORT/"
if [ -z "$(ls -A "$T_TMP/run2")" ]; then
	t_pass "no map file for a program that resolves no names"
else
	t_fail "program without names" "made: $(ls -A "$T_TMP/run2")"
fi

# Clean errors: gateway down -> connection refused, quickly.
start=$(date +%s)
out=$("$SOCKS64" -q -g "127.0.0.1:$DEADPORT" "$PYTHON" -c 'import socket, sys
try:
    socket.create_connection(("www.v6.test", int(sys.argv[1])), timeout=20)
    print("connected?!")
except OSError as e:
    print(e.errno == 111 and "ECONNREFUSED" or e)' "$WEBPORT" 2>&1)
if [ "$out" = ECONNREFUSED ] && [ $(($(date +%s) - start)) -lt 10 ]; then
	t_pass "gateway down: ECONNREFUSED"
else
	t_fail "gateway down" "$out"
fi
# A synthetic address nobody handed out: EHOSTUNREACH, not a hang.
expect "unknown synthetic address: EHOSTUNREACH" "EHOSTUNREACH" \
	"$SOCKS64" -q "$PYTHON" -c 'import socket, errno
try:
    socket.create_connection(("0.255.255.250", 80), timeout=20)
except OSError as e:
    print(errno.errorcode.get(e.errno, e))'
# A name whose destination refuses: the gateway REP 5 becomes ECONNREFUSED.
expect "refused destination: ECONNREFUSED" "ECONNREFUSED" \
	"$SOCKS64" -q "$PYTHON" -c 'import socket, errno, sys
try:
    socket.create_connection(("www.v4.test", int(sys.argv[1])), timeout=20)
except OSError as e:
    print(errno.errorcode.get(e.errno, e))' "$DEADPORT"
# Bad names get libc errors.
expect "a 300-byte name fails at resolution" "gaierror" \
	"$SOCKS64" -q "$PYTHON" -c 'import socket
try:
    socket.getaddrinfo("a" * 300, 80)
except (socket.gaierror, UnicodeError) as e:
    print("gaierror")'

# verify-names: the shim asks the gateway (RESOLVE, command 0xF0) before it
# hands out an address, so an unknown name fails at resolution.  Against a
# stand-in that speaks only RESOLVE; then against socks64d, which may not
# answer 0xF0 (REP 7): the shim must then trust the name, not fail it.
RESPORT=$(t_free_port) || exit 1
t_bg "$T_TMP/resolve_gw.log" "" "$PYTHON" "$T_ROOT/tests/integration/shim_resolve_gw.py" \
	--port "$RESPORT" --known known.test
t_wait_listen "" tcp 127.0.0.1 "$RESPORT" 10 || t_fail "start the RESOLVE stand-in"
printf 'verify-names yes\nconnect-timeout 5s\n' >"$T_TMP/verify.conf"
expect "verify-names: a name the gateway knows resolves" "0." \
	sh -c "'$SOCKS64' -c '$T_TMP/verify.conf' -g 127.0.0.1:$RESPORT getent ahostsv4 known.test |
		awk 'NR == 1 { print substr(\$1, 1, 2) }'"
"$SOCKS64" -q -c "$T_TMP/verify.conf" -g "127.0.0.1:$RESPORT" getent ahosts nosuch.test >/dev/null
rc=$?
if [ "$rc" = 2 ]; then
	t_pass "verify-names: an unknown name is 'not found' (getent exit 2)"
else
	t_fail "verify-names: unknown name" "getent exit $rc"
fi
"$SOCKS64" -q -c "$T_TMP/verify.conf" -g "127.0.0.1:$RESPORT" \
	curl -sS --max-time 20 "http://nosuch2.test:$WEBPORT/" 2>"$T_TMP/curl.err"
rc=$?
if [ "$rc" = 6 ]; then
	t_pass "verify-names: curl fails at name resolution (exit 6)"
else
	t_fail "verify-names: curl on an unknown name" "exit $rc: $(cat "$T_TMP/curl.err")"
fi
if grep -q '^0xf0 nosuch.test 4$' "$T_TMP/resolve_gw.log" &&
	grep -q '^0xf0 known.test 0$' "$T_TMP/resolve_gw.log"; then
	t_pass "verify-names: the shim sent RESOLVE with the names"
else
	t_fail "verify-names: RESOLVE requests" "$(head -n 5 "$T_TMP/resolve_gw.log")"
fi
expect "verify-names with a gateway lacking RESOLVE: the name still works" "hello from v6" \
	"$SOCKS64" -q -c "$T_TMP/verify.conf" curl -sS --max-time 20 "http://www.v6.test:$WEBPORT/"

# A full pool (every address used within the quarantine): EAI_AGAIN, and
# the names already in the map keep working.
mkdir -m 0700 "$T_TMP/run3"
printf 'synth-size 2\nquarantine 10m\n' >"$T_TMP/small.conf"
expect "full pool: EAI_AGAIN for a third name, the first two still resolve" \
	"ok ok EAI_AGAIN ok" env XDG_RUNTIME_DIR="$T_TMP/run3" \
	"$SOCKS64" -q -c "$T_TMP/small.conf" "$PYTHON" -c 'import socket
out = []
for n in ("p1.test", "p2.test", "p3.test", "p1.test"):
    try:
        socket.getaddrinfo(n, 80, socket.AF_INET)
        out.append("ok")
    except socket.gaierror as e:
        out.append("EAI_AGAIN" if e.errno == socket.EAI_AGAIN else str(e))
print(*out)'

# resolve auto: a name this host resolves natively (here from a private
# /etc/hosts) stays native; one it cannot resolve gets a synthetic address.
if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
	t_skip "resolve auto" "needs root and unshare -m"
else
	printf '127.0.0.1 localhost\n127.0.0.9 native.test\n' >"$T_TMP/auto-hosts"
	printf 'resolve auto\n' >"$T_TMP/auto.conf"
	# shellcheck disable=SC2016 # expanded by the inner sh
	out=$(timeout 30 unshare -m sh -c 'mount --bind "$1" /etc/hosts && shift &&
		exec "$@"' sh "$T_TMP/auto-hosts" "$SOCKS64" -c "$T_TMP/auto.conf" sh -c \
		'getent ahostsv4 native.test | head -n 1; getent ahostsv4 www.v6.test | head -n 1' 2>&1)
	case $(printf '%s\n' "$out" | awk '{ printf "%s ", $1 }') in
	"127.0.0.9 0."*) t_pass "resolve auto: native name native, unknown name synthetic" ;;
	*) t_fail "resolve auto" "got: $out" ;;
	esac
fi

# The shim is a plain RFC 1928 client: the same fetch through Dante's sockd.
# Dante resolves with the system resolver, so it gets the test names from a
# private /etc/hosts (bind-mounted in a mount namespace of its own).
DANTED=$(command -v danted || echo /usr/sbin/danted)
if [ ! -x "$DANTED" ] || [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
	t_skip "shim through Dante sockd" "needs danted, root and unshare -m"
else
	DPORT=$(t_free_port) || exit 1
	printf '127.0.0.1 www.v4.test localhost\n::1 www.v6.test\n' >"$T_TMP/dante-hosts"
	cat >"$T_TMP/danted.conf" <<EOF
logoutput: stderr
internal: 127.0.0.1 port = $DPORT
external: 127.0.0.1
external: ::1
socksmethod: none
clientmethod: none
user.privileged: root
user.unprivileged: nobody
client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 command: connect }
EOF
	# shellcheck disable=SC2016 # expanded by the inner sh
	t_bg "$T_TMP/danted.log" "" unshare -m sh -c \
		'mount --bind "$1" /etc/hosts && exec "$2" -f "$3"' sh \
		"$T_TMP/dante-hosts" "$DANTED" "$T_TMP/danted.conf"
	if t_wait_listen "" tcp 127.0.0.1 "$DPORT" 10; then
		expect "curl under socks64 through Dante sockd -> www.v4.test" "hello from v4" \
			"$SOCKS64" -g "127.0.0.1:$DPORT" curl -sS --max-time 20 \
			"http://www.v4.test:$WEBPORT/"
	else
		t_fail "start Dante sockd" "$(tail -n 5 "$T_TMP/danted.log")"
	fi
fi

t_gw_alive || t_fail "gateway still running"
t_gw_stop "gateway exits cleanly on SIGTERM"
[ "$T_FAILED" -gt 0 ] && t_gw_log_tail 30
t_finish
