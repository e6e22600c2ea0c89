#!/usr/bin/env python3
"""UDP through the client shim, from the program's side: run under
client-shim/socks64.  Prints one line per check: "ok NAME" or
"fail NAME: why".

usage: shim_udp_probe.py NAME PORT FAMILY
  NAME    a name only the gateway can resolve, with a UDP echo service on
          PORT answering every datagram with b"echo:" + data
  FAMILY  4 or 6: the family of the program's socket (and of the synthetic
          address it gets for NAME)
"""
import ipaddress
import os
import select
import socket
import sys


def fds():
    return len(os.listdir("/proc/self/fd"))


def synthetic(addr):
    a = ipaddress.ip_address(addr)
    if a.version == 4:
        return a in ipaddress.ip_network("0.0.0.0/8")
    return a in ipaddress.ip_network("100::/64")


def main(name, port, fam):
    out = []

    def check(label, cond, why):
        out.append("ok %s" % label if cond else "fail %s: %s" % (label, why))

    dst = socket.getaddrinfo(name, port, fam, socket.SOCK_DGRAM)[0][4]
    check("synthetic-address", synthetic(dst[0]), "got %s" % dst[0])

    # Unconnected: sendto/recvfrom, the source is the address we used.
    n0 = fds()
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(5)
    for label in ("first", "second"):
        s.sendto(label.encode(), dst)
        d, src = s.recvfrom(70000)
        check("sendto-recvfrom-" + label, d == b"echo:" + label.encode(), "data %r" % d)
        check("source-is-synthetic-" + label, src[:2] == dst[:2], "source %s" % (src,))
    big = b"x" * 30000
    s.sendto(big, dst)
    d, _ = s.recvfrom(70000)
    check("big-datagram", d == b"echo:" + big, "got %d bytes" % len(d))
    s.sendto(b"peek", dst)
    p, _ = s.recvfrom(100, socket.MSG_PEEK)
    d, _ = s.recvfrom(100)
    check("msg-peek", p == d == b"echo:peek", "peeked %r, then %r" % (p, d))
    s.sendto(b"truncated", dst)
    buf = bytearray(4)
    n = s.recv_into(buf, 4, socket.MSG_TRUNC)
    check("msg-trunc", n == len(b"echo:truncated") and bytes(buf) == b"echo",
          "returned %d, buffer %r" % (n, bytes(buf)))
    s.sendto(b"msg", dst)
    d, _, flags, src = s.recvmsg(3)
    check("recvmsg-trunc-flag", d == b"ech" and flags & socket.MSG_TRUNC and
          src[:2] == dst[:2], "%r flags %#x source %s" % (d, flags, src))
    n1 = fds()
    s.close()
    check("association-per-socket", n1 - n0 == 2, "socket + control = %d fds" % (n1 - n0))
    check("close-ends-association", fds() == n0, "%d fds left" % (fds() - n0))

    # Connected: send/recv, write/read, getpeername.
    c = socket.socket(fam, socket.SOCK_DGRAM)
    c.settimeout(5)
    try:
        c.connect(dst)
    except OSError as e:
        out.append("fail connected-udp: connect: %s" % e)
        return out
    check("connected-getpeername", c.getpeername()[:2] == dst[:2], "%s" % (c.getpeername(),))
    c.send(b"conn")
    check("connected-send-recv", c.recv(100) == b"echo:conn", "no echo")
    os.write(c.fileno(), b"rw")
    # The socket is non-blocking (settimeout): wait for the reply first.
    ready = select.select([c], [], [], 5)[0]
    check("connected-write-read", ready and os.read(c.fileno(), 100) == b"echo:rw", "no echo")
    c.send(b"from")
    d, src = c.recvfrom(100)
    check("connected-source", d == b"echo:from" and src[:2] == dst[:2], "%r from %s" % (d, src))
    c.close()
    return out


if __name__ == "__main__":
    family = socket.AF_INET6 if sys.argv[3] == "6" else socket.AF_INET
    try:
        lines = main(sys.argv[1], int(sys.argv[2]), family)
    except Exception as e:  # one line for the test script
        lines = ["fail probe: %s: %s" % (type(e).__name__, e)]
    for line in lines:
        print(line)
