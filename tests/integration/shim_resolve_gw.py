#!/usr/bin/env python3
"""A minimal SOCKS5 server that answers only Tor's RESOLVE extension
(command 0xF0), to test the client shim's `verify-names` before socks64d
implements it: names given with --known get REP 0 with BND 127.0.0.1
(the resolved address), every other name REP 4 (host unreachable), as Tor
answers a name that does not resolve; any other command gets REP 7.
Each request is logged to stdout as "CMD NAME REP"."""
import argparse
import os
import socketserver
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from socks5_mini import accept_request, send_reply  # noqa: E402


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        s.settimeout(10)
        try:
            req = accept_request(s)
            if req is None:
                return
            cmd, name, _ = req
            if cmd != 0xF0:
                rep = 7
            else:
                rep = 0 if name.lower() in self.server.known else 4
            print(f"{cmd:#x} {name} {rep}", flush=True)
            send_reply(s, rep)
        except (EOFError, OSError, ValueError):
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--known", action="append", default=[])
    args = ap.parse_args()
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.known = {k.lower() for k in args.known}
    print("ready", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
