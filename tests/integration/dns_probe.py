#!/usr/bin/env python3
"""Ask one DNS server one question over UDP and print what came back.

usage: dns_probe.py SERVER PORT NAME A|AAAA
prints: "rcode=NOERROR answers=<n> <addr> ..." and exits 0, or exits 1
when nothing usable came back within the timeout.
"""
import random
import socket
import struct
import sys

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
QTYPES = {"A": 1, "AAAA": 28}


def skip_name(msg, off):
    # Walk labels or a compression pointer (RFC 1035 section 4.1.4).
    while True:
        n = msg[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n


def main():
    server, port, name, qtype = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    qid = random.randrange(65536)
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack("!HH", QTYPES[qtype], 1)
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(2)
    for _ in range(3):
        s.sendto(q, (server, port))
        try:
            msg = s.recv(4096)
        except socket.timeout:
            continue
        if len(msg) < 12 or struct.unpack("!H", msg[:2])[0] != qid:
            continue
        _, flags, qd, an, _, _ = struct.unpack("!HHHHHH", msg[:12])
        off = 12
        for _ in range(qd):
            off = skip_name(msg, off) + 4
        addrs = []
        for _ in range(an):
            off = skip_name(msg, off)
            rtype, _, _, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
            off += 10
            rdata = msg[off:off + rdlen]
            off += rdlen
            if rtype == 1:
                addrs.append(socket.inet_ntop(socket.AF_INET, rdata))
            elif rtype == 28:
                addrs.append(socket.inet_ntop(socket.AF_INET6, rdata))
        print("rcode=%s answers=%d %s" % (RCODES.get(flags & 15, str(flags & 15)), len(addrs),
                                          " ".join(addrs)))
        return 0
    print("no answer from %s port %d" % (server, port))
    return 1


if __name__ == "__main__":
    sys.exit(main())
