#!/usr/bin/env python3
"""Drive a gateway that runs with a tiny descriptor limit into exhaustion and
out again (tests/fault/test_fd_exhaustion.sh starts it).

usage: fd_exhaust.py --proxy HOST:PORT --pid PID --log FILE [--max N] [--prefix P]
                     [--workers N] [--silent N]

Phases, each printing PASS/FAIL lines:
  fill      clients open sessions to an echo server one after another until
            the gateway runs out of descriptors; each new client ends up
            relayed, answered with a failure REP and closed, closed without
            a reply, or waiting (its connection sits in the listen backlog);
  exhausted for EXHAUSTED_SECS nothing changes on the client side: the held
            sessions still relay, the gateway's CPU time stays low (no busy
            loop) and it logs state changes, not its retries;
  release   some held sessions close: the waiting clients are served and new
            clients get through;
  recover   everything closes: a new client is served at once.
The gateway's descriptor count is left for the shell to compare.
"""
import argparse
import os
import re
import select
import socket
import struct
import sys
import threading
import time

EXHAUSTED_SECS = 3.0
REPLY_WAIT = 1.0
# Log lines about running out of descriptors (or pausing accept because of it).
EXHAUST_RE = re.compile(r"accept|Too many open files|EMFILE|ENFILE|descriptor", re.I)
CLK_TCK = os.sysconf("SC_CLK_TCK")


def echo_server():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(256)

    def serve(c):
        with c:
            try:
                while True:
                    d = c.recv(65536)
                    if not d:
                        return
                    c.sendall(d)
            except OSError:
                return

    def loop():
        while True:
            c, _ = s.accept()
            threading.Thread(target=serve, args=(c,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return s.getsockname()[1]


def cpu_secs(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def log_lines(path):
    with open(path, errors="replace") as f:
        return f.read().splitlines()


class Client:
    """One SOCKS5 client whose greeting and CONNECT are sent at once."""

    def __init__(self, proxy, port):
        self.s = socket.create_connection(proxy, timeout=5)
        self.s.sendall(b"\x05\x01\x00" + b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") +
                       struct.pack("!H", port))
        self.buf = b""
        self.state = "waiting"  # -> relayed | rep N | closed
        self.rep = None

    def poll(self, secs):
        """Read what arrived within secs; update the state."""
        end = time.monotonic() + secs
        while self.state == "waiting":
            left = max(0.0, end - time.monotonic())
            r, _, _ = select.select([self.s], [], [], left)
            if not r:
                return
            try:
                d = self.s.recv(4096)
            except ConnectionResetError:
                d = b""
            if not d:
                self.state = "closed"
                return
            self.buf += d
            if len(self.buf) >= 12:  # 2 (method) + 10 (reply, IPv4 BND)
                if self.buf[:2] != b"\x05\x00" or self.buf[2] != 5:
                    self.state = "garbage %r" % self.buf[:12]
                    return
                self.rep = self.buf[3]
                self.state = "relayed" if self.rep == 0 else "rep %d" % self.rep

    def echo(self, n=1000):
        data = os.urandom(n)
        self.s.settimeout(5)
        self.s.sendall(data)
        got = b""
        while len(got) < n:
            d = self.s.recv(n - len(got))
            if not d:
                raise OSError("closed after %d of %d echoed bytes" % (len(got), n))
            got += d
        if got != data:
            raise OSError("echo differs")

    def closed_after_failure(self):
        """After a failure REP the connection must end (RFC 1928 section 6)."""
        self.s.settimeout(5)
        try:
            return self.s.recv(1) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.s.close()


class Run:
    def __init__(self, o):
        self.o = o
        self.proxy = (o.proxy.rpartition(":")[0], int(o.proxy.rpartition(":")[2]))
        self.port = echo_server()
        self.failed = 0

    def check(self, ok, name, why=""):
        if ok:
            print("PASS: %s%s" % (self.o.prefix, name), flush=True)
        else:
            self.failed += 1
            print("FAIL: %s%s (%s)" % (self.o.prefix, name, why), flush=True)

    def run(self):
        o = self.o
        # ---- fill
        held, others = [], []
        log0 = len(log_lines(o.log))
        # A client that sends nothing holds one descriptor of the gateway's
        # (a session holds two): it moves the last accept() to the other
        # side of the limit.
        silent = [socket.create_connection(self.proxy, timeout=5) for _ in range(o.silent)]
        for _ in range(o.max):
            c = Client(self.proxy, self.port)
            c.poll(REPLY_WAIT)
            if c.state == "relayed":
                held.append(c)
                continue
            others.append(c)
            if len(others) >= 3:
                break
        print("fill: %d sessions relayed, then %s" %
              (len(held), ", ".join(c.state for c in others)), flush=True)
        self.check(len(held) >= 10, "fill: sessions relayed before exhaustion: %d" % len(held),
                   "fewer than 10")
        self.check(len(others) > 0, "fill: the descriptor limit was reached",
                   "%d clients all relayed" % o.max)
        bad = [c.state for c in others
               if c.state not in ("waiting", "closed", "rep 1")]
        self.check(not bad, "fill: each client beyond the limit waits, gets REP 1 or is closed",
                   "; ".join(bad))
        for c in others:
            if c.state == "rep 1":
                self.check(c.closed_after_failure(), "fill: closed after REP 1",
                           "still open 5 s after the failure reply")
        waiting = [c for c in others if c.state == "waiting"]

        # ---- exhausted: nothing opens or closes on our side now.  The log
        # may follow state changes (a single descriptor freed by a failed
        # session closing lets one accept through, and pauses it again) but
        # must not log each retry.
        for c in waiting:
            c.poll(0)
        before = {c: c.state for c in waiting}
        log1 = len(log_lines(o.log))
        cpu0 = cpu_secs(o.pid)
        t0 = time.monotonic()
        errs = []
        for c in held:
            try:
                c.echo()
            except OSError as e:
                errs.append(str(e))
        self.check(not errs, "exhausted: all %d held sessions still relay" % len(held),
                   "; ".join(errs[:3]))
        time.sleep(max(0.0, EXHAUSTED_SECS - (time.monotonic() - t0)))
        cpu = cpu_secs(o.pid) - cpu0
        secs = time.monotonic() - t0
        self.check(cpu < 0.1 * secs,
                   "exhausted: gateway CPU %.2fs over %.1fs (no busy loop)" % (cpu, secs),
                   "more than 10%% of the time")
        for c in waiting:
            c.poll(0)
        events = sum(1 for c in waiting if c.state != before[c])
        lines = [l for l in log_lines(o.log)[log1:] if EXHAUST_RE.search(l)]
        every = [l for l in log_lines(o.log)[log0:] if EXHAUST_RE.search(l)]
        for l in every[:2]:
            print("log: %s" % l, flush=True)
        limit = 2 * o.workers + 2 * events
        self.check(len(lines) <= limit,
                   "exhausted: %d log lines in %.1fs, %d clients answered meanwhile "
                   "(at most %d: no line per retry)" % (len(lines), secs, events, limit),
                   "; ".join(lines[:4]))

        # ---- release.  While exhausted a waiting client may already have
        # been answered: when a single descriptor comes free (a failed
        # session closing), accept() takes it and the outbound socket()
        # fails, so that client gets REP 1.  Those still waiting now must be
        # served once sessions close.  The held sessions close first: with
        # the silent client's single descriptor back first, the same would
        # happen to the next waiting client.
        for c in waiting:
            c.poll(0)
        bad = [c.state for c in waiting if c.state not in ("waiting", "rep 1")]
        self.check(not bad, "exhausted: waiting clients wait on or get REP 1", "; ".join(bad))
        answered = [c for c in waiting if c.state == "rep 1"]
        waiting = [c for c in waiting if c.state == "waiting"]
        if answered:
            print("%d waiting clients got REP 1 while exhausted" % len(answered), flush=True)
        for c in held[:8]:
            c.close()
        time.sleep(0.3)
        for c in silent:
            c.close()
        for c in waiting:
            c.poll(3.0)
        states = [c.state for c in waiting]
        self.check(all(s == "relayed" for s in states),
                   "release: the %d clients still waiting are served once descriptors free up"
                   % len(waiting), ", ".join(states))
        for c in waiting:
            if c.state == "relayed":
                held.append(c)
        fresh = []
        for _ in range(2):
            c = Client(self.proxy, self.port)
            c.poll(2.0)
            fresh.append(c)
        self.check(all(c.state == "relayed" for c in fresh),
                   "release: new clients are served", ", ".join(c.state for c in fresh))
        try:
            for c in fresh:
                if c.state == "relayed":
                    c.echo()
            ok = True
        except OSError as e:
            ok = False
            why = str(e)
        self.check(ok, "release: their sessions relay", "" if ok else why)

        # ---- recover
        for c in held + fresh + others:
            c.close()
        time.sleep(0.5)
        c = Client(self.proxy, self.port)
        c.poll(2.0)
        ok = c.state == "relayed"
        if ok:
            try:
                c.echo()
            except OSError:
                ok = False
        self.check(ok, "recover: a new client is served after everything closed", c.state)
        c.close()
        return 1 if self.failed else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proxy", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--max", type=int, default=60)
    ap.add_argument("--prefix", default="")
    ap.add_argument("--silent", type=int, default=0,
                    help="clients that connect and send nothing, opened first")
    ap.add_argument("--workers", type=int, default=1, help="the gateway's workers")
    return Run(ap.parse_args()).run()


if __name__ == "__main__":
    sys.exit(main())
