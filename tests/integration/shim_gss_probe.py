#!/usr/bin/env python3
"""A protected TCP connection through the client shim, from the program's
side: run under client-shim/socks64 with `auth gssapi` at integrity or
confidentiality.  Prints one line per check: "ok NAME" or "fail NAME: why".

usage: shim_gss_probe.py NAME HTTP_PORT ECHO_PORT
  NAME       a name only the gateway can resolve
  HTTP_PORT  tests/integration/httpd.py serving big.bin (1 MiB) there
  ECHO_PORT  a TCP echo service (every byte sent back, close after EOF)

The socket the program holds must behave like the kernel's own after a
connect: blocking and non-blocking connects, O_NONBLOCK, FD_CLOEXEC and
SO_RCVTIMEO as the program set them, SO_ERROR 0, getpeername() the
synthetic address, a stream far larger than one RFC 1961 token in both
directions, and end of stream carried both ways (shutdown(SHUT_WR) to the
echo service, the servers' close back to us).
"""
import errno
import fcntl
import hashlib
import ipaddress
import select
import socket
import struct
import sys
import time


def synthetic(addr):
    a = ipaddress.ip_address(addr)
    if a.version == 4:
        return a in ipaddress.ip_network("0.0.0.0/8")
    return a in ipaddress.ip_network("100::/64")


def recv_all(s, deadline):
    data = bytearray()
    while time.monotonic() < deadline:
        if s.getblocking():
            d = s.recv(65536)
        else:
            r, _, _ = select.select([s], [], [], max(0.0, deadline - time.monotonic()))
            if not r:
                continue
            try:
                d = s.recv(65536)
            except BlockingIOError:
                continue
        if not d:
            return bytes(data)
        data += d
    raise TimeoutError("no end of stream")


def send_all(s, data, deadline):
    view = memoryview(data)
    while view and time.monotonic() < deadline:
        if not s.getblocking():
            _, w, _ = select.select([], [s], [], max(0.0, deadline - time.monotonic()))
            if not w:
                continue
        try:
            n = s.send(view)
        except BlockingIOError:
            continue
        view = view[n:]
    if view:
        raise TimeoutError("send stalled")


def http_get(s, name, path, deadline):
    send_all(s, ("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (path, name)).encode(), deadline)
    resp = recv_all(s, deadline)
    head, _, body = resp.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0], body


def main(out, name, port, echo_port):
    def check(label, cond, why):
        out.append("ok %s" % label if cond else "fail %s: %s" % (label, why))

    want = hashlib.sha256(bytes(range(256)) * 4096).hexdigest()
    deadline = time.monotonic() + 30

    # Blocking connect: the program's thread runs the handshake.  The
    # receive timeout set before connect() must survive on the socket the
    # program keeps (and bounds the reads below).
    tv = struct.pack("ll", 10, 0)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
    s.connect((name, port))
    check("blocking-rcvtimeo-kept",
          s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, len(tv)) == tv, "changed")
    peer = s.getpeername()
    check("blocking-getpeername", synthetic(peer[0]) and peer[1] == port, "%s" % (peer,))
    check("blocking-so-error", s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0, "nonzero")
    check("blocking-flags",
          not fcntl.fcntl(s, fcntl.F_GETFL) & 0o4000 and fcntl.fcntl(s, fcntl.F_GETFD) & 1,
          "F_GETFL %#x F_GETFD %#x" % (fcntl.fcntl(s, fcntl.F_GETFL),
                                       fcntl.fcntl(s, fcntl.F_GETFD)))
    status, body = http_get(s, name, "/big.bin", deadline)
    check("blocking-1mib-download", b" 200 " in status and hashlib.sha256(body).hexdigest() == want,
          "%r, %d bytes" % (status, len(body)))
    s.close()

    # Non-blocking connect, not close-on-exec: EINPROGRESS, writable once
    # the gateway's reply is in, flags untouched.
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fcntl.fcntl(s, fcntl.F_SETFD, 0)
    s.setblocking(False)
    err = s.connect_ex(socket.getaddrinfo(name, echo_port, socket.AF_INET)[0][4])
    check("nonblocking-einprogress", err == errno.EINPROGRESS, errno.errorcode.get(err, err))
    _, w, _ = select.select([], [s], [], 10)
    check("nonblocking-writable", bool(w), "not writable in 10 s")
    check("nonblocking-so-error", s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0,
          "nonzero")
    check("nonblocking-flags",
          fcntl.fcntl(s, fcntl.F_GETFL) & 0o4000 and not fcntl.fcntl(s, fcntl.F_GETFD) & 1,
          "F_GETFL %#x F_GETFD %#x" % (fcntl.fcntl(s, fcntl.F_GETFL),
                                       fcntl.fcntl(s, fcntl.F_GETFD)))
    check("nonblocking-getpeername", synthetic(s.getpeername()[0]), "%s" % (s.getpeername(),))
    # 600 KB each way: many tokens, both directions at once (the echo
    # sends back while we still send), then a half-close.
    blob = bytes(range(256)) * 2400
    got = bytearray()
    view = memoryview(blob)
    while time.monotonic() < deadline and (view or len(got) < len(blob)):
        r, w, _ = select.select([s], [s] if view else [], [], 1)
        if w:
            try:
                view = view[s.send(view[:100000]):]
            except BlockingIOError:
                pass
            if not view:
                s.shutdown(socket.SHUT_WR)
        if r:
            d = s.recv(65536)
            if not d:
                break
            got += d
    check("echo-600k-both-ways", bytes(got) == blob, "%d of %d bytes back" % (len(got), len(blob)))
    rest = recv_all(s, deadline)
    check("half-close-eof", rest == b"", "%d more bytes" % len(rest))
    s.close()


if __name__ == "__main__":
    lines = []
    try:
        main(lines, sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
    except Exception as e:  # a probe that dies says why, as a failed check
        lines.append("fail probe: %s: %s" % (type(e).__name__, e))
    print("\n".join(lines))
