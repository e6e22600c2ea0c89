#!/bin/bash
# The daemon as a service, on loopback:
#  - reload under load: three transfers of 50 MiB each way run through
#    socks64d while three SIGHUPs each change a rule; every transfer keeps
#    its bytes flowing across every reload and arrives with equal SHA-256
#    both ways, while new sessions see each new rule set at once (a rule
#    that blocks the transfers' own port refuses new ones and leaves the live
#    ones alone); a bad file keeps the running rules;
#  - SIGUSR1 logs a stats line; SIGTERM with live sessions: a transfer that
#    finishes within the drain completes intact, idle sessions are closed,
#    the listeners stop at once, and the daemon exits within 5 s, status 0,
#    having logged the drain;
#  - sd_notify by hand: a datagram socket named by NOTIFY_SOCKET receives
#    READY=1, RELOADING=1 + MONOTONIC_USEC (CLOCK_MONOTONIC, now) and READY=1
#    for every SIGHUP, STOPPING=1 on SIGTERM;
#  - `-V` prints exactly the Makefile's VERSION;
#  - `user nobody` (needs root): every thread runs as nobody, with no
#    capability but CAP_NET_BIND_SERVICE (0x400), and still serves and reloads;
#  - `stats-file`: Prometheus text (every line a comment or `name{labels}
#    value`), its counters match the traffic, replaced by rename: polled
#    quickly while it is rewritten every second, no read ever sees a partial
#    file.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init

if ! t_is_socks64d; then
	t_skip "service behaviour" "SOCKS_IMPL=$SOCKS_IMPL: these are socks64d's own signals and files"
	t_finish
fi
if [ ! -x "$SOCKS64D" ]; then
	t_fail "service behaviour" "$SOCKS64D not built"
	t_finish
fi

# --- -V: exactly the Makefile's VERSION
want=$(sed -n 's/^VERSION[[:space:]]*:=[[:space:]]*//p' "$T_ROOT/Makefile")
got=$("$SOCKS64D" -V 2>&1)
if [ -n "$want" ] && [ "$got" = "$want" ]; then
	t_pass "socks64d -V prints exactly the Makefile's VERSION ($want)"
else
	t_fail "socks64d -V" "printed '$got', the Makefile says '$want'"
fi

# pyout FILE: the driver's PASS/FAIL lines become this test's results.
pyout() {
	local line
	while IFS= read -r line; do
		case $line in
		PASS:*) t_pass "${line#PASS: }" ;;
		FAIL:*)
			line=${line#FAIL: }
			t_fail "${line%% (*}" "${line#* (}"
			;;
		*) echo "# $line" ;;
		esac
	done <"$1"
}

# --- the driver: servers, SOCKS5 clients, signals (stdlib python only)
cat >"$T_TMP/driver.py" <<'EOF'
"""Drive socks64d under load.  Prints PASS:/FAIL: lines.

driver.py reload GWPORT PID CONF CONFDIR LOG DATA PROBE HOLD
  three paced 50 MiB transfers each way; before SIGHUP k, CONFDIR/conf<k>
  becomes CONF; after it, new sessions to PROBE and DATA must get the
  replies CONFDIR/expect<k> lists, and every live transfer must move on.
driver.py drain GWPORT PID LOG DATA HOLD
  one paced 8 MiB transfer each way and two idle sessions; SIGTERM; the
  transfer must finish intact, the idle sessions must be closed, the
  listeners must stop, the daemon must be gone within 5 s.
"""
import hashlib
import os
import random
import shutil
import signal
import socket
import struct
import sys
import threading
import time

CHUNK = 64 * 1024
results = []


def out(ok, name, why=""):
    print(f"PASS: {name}" if ok else f"FAIL: {name} ({why or 'failed'})", flush=True)


def listen(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(64)
    return s


def serve(lsock, handler):
    def loop():
        while True:
            c, _ = lsock.accept()
            threading.Thread(target=handler, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        b = s.recv(n - len(buf))
        if not b:
            raise EOFError(f"EOF after {len(buf)} of {n} bytes")
        buf += b
    return bytes(buf)


class Pacer:
    """Send n pseudo-random bytes at about n/secs bytes per second."""

    def __init__(self, seed, n, secs):
        self.rng = random.Random(seed)
        self.n, self.rate = n, n / secs
        self.done = 0
        self.sha = hashlib.sha256()

    def run(self, s):
        start = time.monotonic()
        while self.done < self.n:
            ahead = start + self.done / self.rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
            b = self.rng.randbytes(min(CHUNK, self.n - self.done))
            s.sendall(b)
            self.sha.update(b)
            self.done += len(b)


class Reader:
    def __init__(self, n):
        self.n, self.done, self.sha = n, 0, hashlib.sha256()

    def run(self, s):
        while self.done < self.n:
            b = s.recv(min(1 << 20, self.n - self.done))
            if not b:
                raise EOFError(f"EOF after {self.done} of {self.n} bytes")
            self.sha.update(b)
            self.done += len(b)


def data_handler(c):
    """Header: n, seconds (ms), seed.  Both ways at once, then the two
    digests (what arrived, what was sent)."""
    try:
        n, ms, seed = struct.unpack("!QII", recv_exact(c, 16))
        rd, pc = Reader(n), Pacer(seed, n, ms / 1000)
        t = threading.Thread(target=pc.run, args=(c,))
        t.start()
        rd.run(c)
        t.join()
        c.sendall(rd.sha.digest() + pc.sha.digest())
        c.recv(1)  # until the client closes
    except Exception:
        pass
    finally:
        c.close()


def close_handler(c):
    c.close()


def hold_handler(c):
    try:
        while c.recv(4096):
            pass
    except OSError:
        pass
    c.close()


def socks_connect(gwport, port, timeout=10):
    """SOCKS5 CONNECT 127.0.0.1:port (RFC 1928).  (sock, rep); rep None
    when the gateway closed without a reply."""
    s = socket.create_connection(("127.0.0.1", gwport), timeout=timeout)
    try:
        s.sendall(b"\x05\x01\x00")
        if recv_exact(s, 2) != b"\x05\x00":
            raise OSError("method refused")
        s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack("!H", port))
        rep = recv_exact(s, 10)
    except (EOFError, ConnectionResetError):
        s.close()
        return None, None
    if rep[1] != 0:
        s.close()
        return None, rep[1]
    return s, 0


class Transfer:
    def __init__(self, gwport, port, n, secs, seed):
        self.n, self.error = n, None
        self.pacer = Pacer(seed, n, secs)
        self.reader = Reader(n)
        self.peer = b""
        s, rep = socks_connect(gwport, port)
        if s is None:
            raise OSError(f"CONNECT refused (REP {rep})")
        s.settimeout(30)
        s.sendall(struct.pack("!QII", n, int(secs * 1000), seed + 1))
        self.sock = s
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            t = threading.Thread(target=self.pacer.run, args=(self.sock,), daemon=True)
            t.start()
            self.reader.run(self.sock)
            t.join()
            self.peer = recv_exact(self.sock, 64)
        except Exception as e:
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self.sock.close()

    def progress(self):
        return self.pacer.done, self.reader.done

    def verdict(self):
        """None when both ways arrived intact, else why not."""
        if self.error:
            return self.error
        if len(self.peer) != 64:
            return "no digests from the server"
        if self.peer[:32] != self.pacer.sha.digest():
            return "upload SHA-256 differs"
        if self.peer[32:] != self.reader.sha.digest():
            return "download SHA-256 differs"
        return None


def count_in(path, word):
    try:
        with open(path, errors="replace") as f:
            return sum(1 for line in f if word in line)
    except OSError:
        return 0


def wait_for(cond, secs):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def mib(n):
    return f"{n / 1048576:.1f} MiB"


def reload_mode(gwport, pid, conf, confdir, log, data, probe, hold):
    serve(listen(data), data_handler)
    serve(listen(probe), close_handler)
    serve(listen(hold), hold_handler)
    n, secs = 50 << 20, 7.0
    streams = [Transfer(gwport, data, n, secs, 100 * i) for i in range(3)]
    t0 = time.monotonic()
    base = count_in(log, "reloaded")
    for k in (1, 2, 3):
        # Reloads at about 1.5, 3 and 4.5 s into transfers that take 7 s.
        time.sleep(max(0.0, t0 + 1.5 * k - time.monotonic()))
        before = [s.progress() for s in streams]
        mid = all(0 < u < n and 0 < d < n for u, d in before)
        shutil.copyfile(os.path.join(confdir, f"conf{k}"), conf + ".new")
        os.rename(conf + ".new", conf)
        os.kill(pid, signal.SIGHUP)
        ok = wait_for(lambda: count_in(log, "reloaded") >= base + k, 5)
        out(ok and mid, f"SIGHUP {k} reloaded while all three transfers were mid-way",
            f"reloaded={ok}, progress={before}")
        with open(os.path.join(confdir, f"expect{k}")) as f:
            want = dict(line.split() for line in f if line.strip())
        for name, port in (("probe", probe), ("data", data)):
            s, rep = socks_connect(gwport, port)
            if s:
                s.close()
            got = "pass" if rep == 0 else f"rep{rep}"
            out(got == want[name],
                f"after SIGHUP {k}: a new session to the {name} port gets {want[name]}",
                f"got {got}")
        # Every live transfer keeps moving, both ways, after the reload.
        moved = wait_for(lambda: all(
            s.progress()[0] >= min(n, b[0] + (1 << 20)) and
            s.progress()[1] >= min(n, b[1] + (1 << 20))
            for s, b in zip(streams, before)), 5)
        out(moved, f"after SIGHUP {k}: every live transfer moved on by 1 MiB or more each way",
            f"before {before}, now {[s.progress() for s in streams]}")
    for i, s in enumerate(streams):
        s.thread.join(60)
        why = "still running after 60 s" if s.thread.is_alive() else s.verdict()
        out(why is None, f"transfer {i + 1}: {mib(n)} each way across 3 reloads, "
            f"SHA-256 equal both ways", why)
    print(f"the transfers took {time.monotonic() - t0:.1f} s", flush=True)


def gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1].startswith("Z")
    except OSError:
        return True


def drain_mode(gwport, pid, log, data, hold):
    serve(listen(data), data_handler)
    serve(listen(hold), hold_handler)
    idle = []
    for _ in range(2):
        s, rep = socks_connect(gwport, hold)
        if s is None:
            out(False, "idle sessions open", f"REP {rep}")
            return
        s.settimeout(10)
        idle.append(s)
    n = 8 << 20
    tr = Transfer(gwport, data, n, 2.0, 7)
    wait_for(lambda: tr.progress()[1] > 0, 5)
    os.kill(pid, signal.SIGTERM)
    t0 = time.monotonic()
    # The listeners close at once: a new client is refused.
    def refused():
        try:
            socket.create_connection(("127.0.0.1", gwport), timeout=1).close()
            return False
        except ConnectionRefusedError:
            return True
    ok = wait_for(refused, 1)
    out(ok, "SIGTERM: the listeners close at once (new clients refused)",
        "still accepting 1 s after SIGTERM")
    # The daemon is gone within 5 s (drain 4 s, then the joins).
    wait_for(lambda: gone(pid), 8)
    took = time.monotonic() - t0
    out(gone(pid) and took <= 5.0, f"SIGTERM with live sessions: the daemon exited in {took:.2f} s",
        f"{took:.2f} s, gone={gone(pid)}")
    tr.thread.join(10)
    why = "still running" if tr.thread.is_alive() else tr.verdict()
    out(why is None, f"a transfer live at SIGTERM finished within the drain, {mib(n)} each way "
        "intact", why)
    for i, s in enumerate(idle):
        try:
            b = s.recv(1)
            closed = b == b""
        except OSError:
            closed = True
        out(closed, f"idle session {i + 1} closed by the gateway at the end of the drain")


if __name__ == "__main__":
    mode, a = sys.argv[1], sys.argv[2:]
    if mode == "reload":
        reload_mode(int(a[0]), int(a[1]), a[2], a[3], a[4], int(a[5]), int(a[6]), int(a[7]))
    else:
        drain_mode(int(a[0]), int(a[1]), a[2], int(a[3]), int(a[4]))
EOF

# --- the notify socket: one line per datagram ("\n" shown as "|"), with
# CLOCK_MONOTONIC at arrival in microseconds.
cat >"$T_TMP/notify.py" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(1)
end = time.monotonic() + float(sys.argv[3])
with open(sys.argv[2], "a") as f:
    while time.monotonic() < end:
        try:
            m = s.recv(4096)
        except socket.timeout:
            continue
        now = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        f.write(f"{now} {m.decode(errors='replace').strip().replace(chr(10), '|')}\n")
        f.flush()
EOF

GWPORT=$(t_free_port) || exit 1
DATA=$(t_free_port) || exit 1
PROBE=$(t_free_port) || exit 1
HOLD=$(t_free_port) || exit 1
PAGE=$(t_free_port) || exit 1

# A one-line server the checks outside the driver use.
"$PYTHON" -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
while True:
    c, _ = s.accept(); c.sendall(b"page\n"); c.close()' "$PAGE" &
T_PIDS+=("$!")
t_wait_listen "" tcp 127.0.0.1 "$PAGE" 10 || t_fail "start the page server"

# page GWPORT: the page through the gateway ("" when refused).
page() {
	curl -sS --max-time 10 --socks5 "127.0.0.1:$1" "telnet://127.0.0.1:$PAGE" </dev/null 2>&1
}
mkdir "$T_TMP/confs"

# conf K RULES...: configuration K (0 = the start) with these rules first.
conf() {
	local k=$1
	shift
	{
		echo "listen 127.0.0.1:$GWPORT"
		echo "workers 2"
		echo "handshake-timeout 5s"
		echo "idle-timeout 1m"
		echo "log-level info"
		printf '%s\n' "$@"
		echo "pass from 127.0.0.1 to 127.0.0.1 port $DATA,$PROBE,$HOLD,$PAGE"
		echo "block"
	} >"$T_TMP/confs/conf$k"
}
conf 0
conf 1 "block to 127.0.0.1 port $PROBE"
printf 'probe rep2\ndata pass\n' >"$T_TMP/confs/expect1"
# The transfers' own port: new sessions refused, the live ones keep going
# on the rules they started with.
conf 2 "block to 127.0.0.1 port $PROBE,$DATA"
printf 'probe rep2\ndata rep2\n' >"$T_TMP/confs/expect2"
conf 3 "block to 127.0.0.1 port 9"
printf 'probe pass\ndata pass\n' >"$T_TMP/confs/expect3"
cp "$T_TMP/confs/conf0" "$T_TMP/gw.conf"

t_bg "$T_TMP/notify.log" "" "$PYTHON" "$T_TMP/notify.py" "$T_TMP/notify.sock" \
	"$T_TMP/notify.out" 120
for _ in $(seq 1 50); do
	[ -S "$T_TMP/notify.sock" ] && break
	sleep 0.1
done
export NOTIFY_SOCKET=$T_TMP/notify.sock
if ! t_gw_start "" "$T_TMP/gw.conf" "$T_TMP/gw.log"; then
	t_fail "start the gateway"
	t_finish
fi
unset NOTIFY_SOCKET
GWPID=$(t_gw_pid)

# --- reload under load
"$PYTHON" "$T_TMP/driver.py" reload "$GWPORT" "$GWPID" "$T_TMP/gw.conf" "$T_TMP/confs" \
	"$T_TMP/gw.log" "$DATA" "$PROBE" "$HOLD" >"$T_TMP/reload.out" 2>&1
pyout "$T_TMP/reload.out"
# Each client sent a 16-byte header + 50 MiB and read 50 MiB + two digests.
# The log is written by the daemon's writer thread: wait (bounded) for the
# last session's line.
for _ in $(seq 1 50); do
	n=$(grep -Ec "target=127\.0\.0\.1:$DATA .*result=ok up=52428816 down=52428864 " "$T_TMP/gw.log")
	[ "$n" -ge 3 ] && break
	sleep 0.1
done
if [ "$n" -eq 3 ]; then
	t_pass "session log: the three transfers, result=ok, every byte counted each way"
else
	t_fail "session log: the three transfers" \
		"$n lines: $(grep "target=127.0.0.1:$DATA" "$T_TMP/gw.log" | head -n 5)"
fi

# --- a bad file keeps the running configuration: had its first line (a
# rule that blocks the page) been applied, the page would be refused.
{
	echo "block to 127.0.0.1 port $PAGE"
	cat "$T_TMP/confs/conf3"
	echo "pass from nowhere"
} >"$T_TMP/gw.conf"
kill -HUP "$GWPID"
if t_wait_file_grep "$T_TMP/gw.log" \
	'reload failed, keeping the running configuration: .*gw\.conf:[0-9]+:' 5; then
	t_pass "a bad file on SIGHUP: file:line logged, running configuration kept"
else
	t_fail "a bad file on SIGHUP" "no 'reload failed' line"
fi
body=$(page "$GWPORT")
if [ "$body" = page ]; then
	t_pass "after the bad file: still serving on the last good rules"
else
	t_fail "after the bad file: still serving on the last good rules" "got '$body'"
fi

# --- SIGUSR1: one stats line
kill -USR1 "$GWPID"
if t_wait_file_grep "$T_TMP/gw.log" \
	'stats: active=[0-9]+ accepted=[0-9]+ refused=[0-9]+ relayed=([4-9]|[1-9][0-9]+) up=[0-9]+ down=[0-9]+' 5; then
	t_pass "SIGUSR1 logs a stats line: $(grep -o 'stats: .*' "$T_TMP/gw.log" | tail -n 1)"
else
	t_fail "SIGUSR1 logs a stats line"
fi

# --- SIGTERM with live sessions
"$PYTHON" "$T_TMP/driver.py" drain "$GWPORT" "$GWPID" "$T_TMP/gw.log" "$DATA" "$HOLD" \
	>"$T_TMP/drain.out" 2>&1
pyout "$T_TMP/drain.out"
for _ in $(seq 1 100); do
	kill -0 "$GWPID" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$GWPID" 2>/dev/null; then
	t_fail "SIGTERM: the daemon exits" "still running 10 s later"
else
	wait "$GWPID"
	st=$?
	if [ "$st" -eq 0 ]; then
		t_pass "SIGTERM: exit status 0"
	else
		t_fail "SIGTERM: exit status 0" "status $st"
	fi
fi
T_GW_PIDS=()
if grep -q 'signal 15: stopping (draining for up to [0-9]* ms)' "$T_TMP/gw.log" &&
	[ "$(grep -Ec "target=127\.0\.0\.1:$HOLD .*reason=\"shutdown\"" "$T_TMP/gw.log")" -eq 2 ] &&
	grep -q 'socks64d stopped' "$T_TMP/gw.log"; then
	t_pass "the log shows the drain: stopping, two idle sessions closed for shutdown, stopped"
else
	t_fail "the log shows the drain" "$(tail -n 8 "$T_TMP/gw.log" | tr '\n' '|')"
fi
if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T_TMP/gw.log"; then
	t_fail "no sanitizer report in the gateway log"
fi

# --- what the notify socket received
for _ in $(seq 1 20); do
	grep -q 'STOPPING=1' "$T_TMP/notify.out" 2>/dev/null && break
	sleep 0.1
done
msgs=$(cut -d' ' -f2- "$T_TMP/notify.out" 2>/dev/null | sed 's/MONOTONIC_USEC=[0-9]*/MONOTONIC_USEC=N/' |
	tr '\n' ' ')
r='RELOADING=1|MONOTONIC_USEC=N READY=1 '
if [ "$msgs" = "READY=1 $r$r$r${r}STOPPING=1 " ]; then
	t_pass "sd_notify: READY=1, (RELOADING=1 + MONOTONIC_USEC, READY=1) x4, STOPPING=1"
else
	t_fail "sd_notify sequence" "got: $msgs"
fi
# MONOTONIC_USEC is CLOCK_MONOTONIC when the reload began: at most a second
# before the datagram arrived, never after.
bad=$(awk '{ if (match($2, /MONOTONIC_USEC=[0-9]+/)) {
		v = substr($2, RSTART + 15, RLENGTH - 15) + 0
		if (v > $1 || $1 - v > 1000000) print
	} }' "$T_TMP/notify.out")
if [ -z "$bad" ] && grep -q MONOTONIC_USEC "$T_TMP/notify.out"; then
	t_pass "sd_notify: MONOTONIC_USEC is CLOCK_MONOTONIC at the reload"
else
	t_fail "sd_notify: MONOTONIC_USEC" "${bad:-none sent}"
fi

# --- user nobody (needs root) and stats-file
GW2PORT=$(t_free_port) || exit 1
DROP=0
AS=
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
	DROP=1
	AS=" as nobody"
	NOBODY_UID=$(id -u nobody)
	# nobody must reach its files: the directory is traversable, not listable.
	chmod 0711 "$T_TMP"
	install -d -m 0755 -o nobody "$T_TMP/stats"
else
	t_skip "user nobody" "needs root and a user named nobody"
	mkdir "$T_TMP/stats"
fi
STATS=$T_TMP/stats/socks64d.prom
{
	echo "listen 127.0.0.1:$GW2PORT"
	echo "workers 2"
	echo "log-level info"
	[ "$DROP" = 1 ] && echo "user nobody"
	echo "stats-file $STATS"
	echo "stats-interval 1s"
	echo "pass from 127.0.0.1 to 127.0.0.1 port $PAGE"
	echo "block"
} >"$T_TMP/gw2.conf"
chmod 0644 "$T_TMP/gw2.conf"
if ! t_gw_start "" "$T_TMP/gw2.conf" "$T_TMP/gw2.log"; then
	t_fail "start the gateway with stats-file${AS:+ and user nobody}"
	t_finish
fi
GW2PID=$(t_gw_pid)
body=$(page "$GW2PORT")
if [ "$body" = page ]; then
	t_pass "the gateway$AS relays a session"
else
	t_fail "the gateway relays a session" "got '$body'"
fi

if [ "$DROP" = 1 ]; then
	# Every thread: uid/gid nobody, no groups, CapEff and CapPrm 0x400 at
	# most (the main thread, which hands its set to the workers, exactly).
	probs=
	for st in /proc/"$GW2PID"/task/*/status; do
		tid=${st#/proc/"$GW2PID"/task/}
		tid=${tid%/status}
		probs+=$(awk -v u="$NOBODY_UID" -v main=$((tid == GW2PID)) -v tid="$tid" '
			$1 == "Uid:" && !($2 == u && $3 == u && $4 == u && $5 == u) { print tid ": " $0 }
			$1 == "Groups:" && NF > 1 { print tid ": " $0 }
			$1 == "CapEff:" || $1 == "CapPrm:" {
				v = $2
				if (main ? v != "0000000000000400" : (v != "0000000000000400" && v != "0000000000000000"))
					print tid ": " $0
			}
			$1 == "CapAmb:" && $2 != "0000000000000000" { print tid ": " $0 }' "$st")
	done
	nthreads=$(find "/proc/$GW2PID/task" -mindepth 1 -maxdepth 1 | wc -l)
	if [ -z "$probs" ] && [ "$nthreads" -ge 3 ]; then
		t_pass "user nobody: all $nthreads threads uid $NOBODY_UID, no groups, CapEff=CapPrm=0x400 (CAP_NET_BIND_SERVICE) at most"
	else
		t_fail "user nobody: uid and capabilities" "$probs"
	fi
	grep '^Cap' "/proc/$GW2PID/status" | sed 's/^/#   /'
	before=$(grep -c reloaded "$T_TMP/gw2.log")
	kill -HUP "$GW2PID"
	if t_wait_file_grep "$T_TMP/gw2.log" 'reloaded' 5 &&
		[ "$(grep -c reloaded "$T_TMP/gw2.log")" -gt "$before" ]; then
		t_pass "user nobody: SIGHUP still reloads (the file is readable by nobody)"
	else
		t_fail "user nobody: SIGHUP reloads" "$(tail -n 3 "$T_TMP/gw2.log" | tr '\n' '|')"
	fi
fi

# --- the stats file: appears, is Prometheus text, is replaced atomically
for _ in $(seq 1 30); do
	[ -s "$STATS" ] && break
	sleep 0.1
done
if [ -s "$STATS" ]; then
	t_pass "stats-file appears ($(wc -l <"$STATS") lines)"
	if [ "$DROP" = 1 ]; then
		owner=$(stat -c %u "$STATS")
		if [ "$owner" = "$NOBODY_UID" ]; then
			t_pass "stats-file written by nobody after the drop"
		else
			t_fail "stats-file written by nobody" "owner uid $owner"
		fi
	fi
else
	t_fail "stats-file appears" "no $STATS after 3 s"
fi
cat >"$T_TMP/prom.py" <<'EOF'
"""Poll a Prometheus textfile as fast as possible for a while; every read
must be a complete, valid exposition.  Prints PASS:/FAIL: lines."""
import os, re, sys, time

path, secs, want_relayed = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
SAMPLE = re.compile(rf"^({NAME})(\{{{LABEL}(?:,{LABEL})*\}})? "
                    r"([-+]?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|NaN|Inf))$")
COMMENT = re.compile(rf"^# (?:HELP {NAME} .*|TYPE {NAME} (?:counter|gauge|histogram|summary|untyped))$")


def check(text):
    if not text.endswith("\n"):
        return "does not end with a newline"
    lines = text[:-1].split("\n")
    typed = {}
    samples = {}
    for line in lines:
        if line.startswith("#"):
            if not COMMENT.match(line):
                return f"bad comment line {line!r}"
            w = line.split()
            if w[1] == "TYPE":
                typed[w[2]] = w[3]
            continue
        m = SAMPLE.match(line)
        if not m:
            return f"bad sample line {line!r}"
        if m.group(1) not in typed:
            return f"sample {m.group(1)} before its TYPE line"
        samples[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    if "socks64_log_dropped_total" not in samples:
        return "the last metric is missing (truncated?)"
    return samples


reads = 0
inodes = set()
last = None
end = time.monotonic() + secs
while time.monotonic() < end:
    try:
        with open(path) as f:
            inodes.add(os.fstat(f.fileno()).st_ino)
            text = f.read()
    except FileNotFoundError:
        print(f"FAIL: stats-file always present (missing at read {reads})")
        sys.exit(1)
    reads += 1
    r = check(text)
    if isinstance(r, str):
        print(f"FAIL: stats-file: every read a complete, valid exposition (read {reads}: {r})")
        sys.exit(1)
    last = r
print(f"PASS: stats-file: {reads} reads in {secs:.0f} s, every one complete and valid Prometheus text")
if len(inodes) >= 3:
    print(f"PASS: stats-file replaced by rename: {len(inodes)} different files seen")
else:
    print(f"FAIL: stats-file replaced every second (only {len(inodes)} inodes seen)")
got = last.get('socks64_sessions_total{result="relayed"}')
if got == want_relayed and last.get("socks64_build_info" '{version="' + sys.argv[4] + '"}') == 1:
    print(f"PASS: stats-file counters match: relayed={got:.0f}, build_info version {sys.argv[4]}")
else:
    print(f"FAIL: stats-file counters (relayed={got}, want {want_relayed}; {sorted(last)})")
EOF
if [ -s "$STATS" ]; then
	"$PYTHON" "$T_TMP/prom.py" "$STATS" 3.5 1 "$want" >"$T_TMP/prom.out" 2>&1
	pyout "$T_TMP/prom.out"
fi

t_gw_stop "gateway$AS with stats-file exits cleanly on SIGTERM"
[ "$T_FAILED" -gt 0 ] && t_gw_log_tail 30
t_finish
