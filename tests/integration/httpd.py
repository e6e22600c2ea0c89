#!/usr/bin/env python3
"""Small HTTP server for the tests.

GET/HEAD serve files from a directory.  PUT/POST read the body (Content-Length
or chunked) while hashing it and answer "<sha256 hex> <byte count>\n", so a
large upload can be checked without storing it.  Listens on exactly one
address (IPv4 or IPv6, from the --bind argument).
"""
import argparse
import hashlib
import http.server
import socket
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep the test output readable
        pass

    def _read_body(self, digest):
        total = 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return total
                total += self._copy(size, digest)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length", "0"))
        return self._copy(length, digest)

    def _copy(self, length, digest):
        left = length
        while left > 0:
            chunk = self.rfile.read(min(left, 1 << 20))
            if not chunk:
                raise ConnectionError("body truncated")
            digest.update(chunk)
            left -= len(chunk)
        return length

    def do_PUT(self):
        if self.headers.get("Expect", "").lower() == "100-continue":
            self.send_response_only(100)
            self.end_headers()
        digest = hashlib.sha256()
        total = self._read_body(digest)
        body = ("%s %d\n" % (digest.hexdigest(), total)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PUT


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    args = ap.parse_args()

    family = socket.AF_INET6 if ":" in args.bind else socket.AF_INET

    class Server(http.server.ThreadingHTTPServer):
        # socketserver's default backlog (5) drops connections under a
        # burst of clients; the kernel then retransmits for seconds.
        request_queue_size = 1024
        address_family = family
        daemon_threads = True

        def server_bind(self):
            if family == socket.AF_INET6:
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            super().server_bind()

    def handler(*a, **kw):
        return Handler(*a, directory=args.dir, **kw)

    srv = Server((args.bind, args.port), handler)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
