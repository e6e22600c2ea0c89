#!/usr/bin/env python3
"""A minimal SOCKS5 server that answers only Tor's RESOLVE extension
(command 0xF0), to test the client shim's `verify-names` before socks64d
implements it: names given with --known get REP 0 with BND 127.0.0.1
(the resolved address), every other name REP 4 (host unreachable), as Tor
answers a name that does not resolve; any other command gets REP 7.
Each request is logged to stdout as "CMD NAME REP"."""
import argparse
import socket
import socketserver
import struct
import sys


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        s.settimeout(10)
        try:
            ver, nmethods = recv_exact(s, 2)
            methods = recv_exact(s, nmethods)
            if ver != 5 or 0 not in methods:
                s.sendall(b"\x05\xff")
                return
            s.sendall(b"\x05\x00")
            ver, cmd, _, atyp = recv_exact(s, 4)
            if atyp == 3:
                name = recv_exact(s, recv_exact(s, 1)[0]).decode("ascii", "replace")
            elif atyp == 1:
                name = socket.inet_ntop(socket.AF_INET, recv_exact(s, 4))
            else:
                name = socket.inet_ntop(socket.AF_INET6, recv_exact(s, 16))
            recv_exact(s, 2)
            if cmd != 0xF0:
                rep = 7
            else:
                rep = 0 if name.lower() in self.server.known else 4
            print(f"{cmd:#x} {name} {rep}", flush=True)
            s.sendall(struct.pack("!BBBB4sH", 5, rep, 0, 1, socket.inet_aton("127.0.0.1"), 0))
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
