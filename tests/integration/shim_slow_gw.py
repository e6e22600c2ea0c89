#!/usr/bin/env python3
"""A SOCKS5 server (RFC 1928, method "no authentication", CONNECT only) that
waits --delay seconds before it answers each CONNECT, to test the client
shim's non-blocking connect: the program must not see the socket ready, nor
send a byte, before the reply.

The reply code comes from the requested name: "refuse*" gets REP 5
(connection refused), "unreach*" REP 4 (host unreachable), "deny*" REP 2
(not allowed), anything else REP 0.  After REP 0 the connection answers an
HTTP GET with a small page ("slow ok") and echoes anything else prefixed
with "echo:".

Each CONNECT is logged to stdout as
    NAME PORT rep=N early=BYTES      (BYTES: application bytes that arrived
                                      before the reply was sent)
    NAME PORT closed-before-reply    (the client went away while waiting)
"""
import argparse
import os
import select
import socket
import socketserver
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from socks5_mini import accept_request, send_reply  # noqa: E402


def rep_for(name):
    for prefix, rep in (("refuse", 5), ("unreach", 4), ("deny", 2)):
        if name.startswith(prefix):
            return rep
    return 0


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        s.settimeout(10)
        try:
            req = accept_request(s)
            if req is None:
                return
            cmd, name, port = req
            rep = rep_for(name) if cmd == 1 else 7
            # Wait, watching the connection: the client may close it, or
            # (wrongly) send application data before the reply.
            end = time.monotonic() + self.server.delay
            early = 0
            while True:
                left = end - time.monotonic()
                if left <= 0:
                    break
                r, _, _ = select.select([s], [], [], left)
                if not r:
                    continue
                peek = s.recv(65536, socket.MSG_PEEK)
                if not peek:
                    print(f"{name} {port} closed-before-reply", flush=True)
                    return
                early = len(peek)
                time.sleep(min(left, 0.05))
            print(f"{name} {port} rep={rep} early={early}", flush=True)
            send_reply(s, rep)
            if rep != 0:
                return
            self.serve(s)
        except (EOFError, OSError, ValueError):
            pass

    def serve(self, s):
        while True:
            data = s.recv(65536)
            if not data:
                return
            if data.startswith(b"GET "):
                while b"\r\n\r\n" not in data:
                    more = s.recv(65536)
                    if not more:
                        return
                    data += more
                body = b"slow ok\n"
                s.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                return
            s.sendall(b"echo:" + data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--delay", type=float, default=1.0)
    args = ap.parse_args()
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.delay = args.delay
    print("ready", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
