#!/usr/bin/env python3
"""UDP ASSOCIATE exerciser (RFC 1928 §7).  Prints one line per check:
"ok NAME" or "fail NAME: why".

usage: udp_probe.py GW_HOST GW_PORT ECHO4_PORT ECHO6_PORT NAME_V6
  The echo servers listen on 127.0.0.1:ECHO4_PORT and [::1]:ECHO6_PORT and
  answer every datagram with b"echo:" + data.  NAME_V6 resolves (through
  the gateway's nameserver) to ::1 only.
"""
import ipaddress
import socket
import struct
import sys


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            raise EOFError("control connection closed")
        b += d
    return b


def associate(gw_host, gw_port):
    c = socket.create_connection((gw_host, gw_port), timeout=5)
    c.sendall(b"\x05\x01\x00")
    if recv_exact(c, 2) != b"\x05\x00":
        raise ValueError("method")
    # DST all zeros: "I don't know where I will send from" (§7).
    c.sendall(b"\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00")
    head = recv_exact(c, 4)
    if head[1] != 0:
        raise ValueError("UDP ASSOCIATE refused: REP %d" % head[1])
    if head[3] == 1:
        addr = socket.inet_ntop(socket.AF_INET, recv_exact(c, 4))
    else:
        addr = socket.inet_ntop(socket.AF_INET6, recv_exact(c, 16))
    port = struct.unpack("!H", recv_exact(c, 2))[0]
    return c, addr, port


def header(host, port, frag=0):
    try:
        ip = ipaddress.ip_address(host)
        atyp = b"\x01" if ip.version == 4 else b"\x04"
        a = ip.packed
    except ValueError:
        atyp, a = b"\x03", bytes([len(host)]) + host.encode()
    return b"\x00\x00" + bytes([frag]) + atyp + a + struct.pack("!H", port)


def parse(d):
    if d[:3] != b"\x00\x00\x00":
        raise ValueError("reply header %s" % d[:4].hex())
    if d[3] == 1:
        return socket.inet_ntop(socket.AF_INET, d[4:8]), struct.unpack("!H", d[8:10])[0], d[10:]
    if d[3] == 4:
        return socket.inet_ntop(socket.AF_INET6, d[4:20]), struct.unpack("!H", d[20:22])[0], d[22:]
    raise ValueError("reply atyp %d" % d[3])


def run(gw_host, gw_port, e4, e6, name6):
    out = []
    c, raddr, rport = associate(gw_host, gw_port)
    if raddr in ("0.0.0.0", "::"):
        out.append("fail bnd: relay address is unspecified")
    fam = socket.AF_INET6 if ":" in raddr else socket.AF_INET
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.settimeout(3)
    u.bind((gw_host, 0))
    relay = (raddr, rport)

    def roundtrip(label, host, port, expect_src):
        u.sendto(header(host, port) + label.encode(), relay)
        try:
            d, frm = u.recvfrom(70000)
        except socket.timeout:
            out.append("fail %s: no reply" % label)
            return
        src, sport, data = parse(d)
        if data != b"echo:" + label.encode():
            out.append("fail %s: data %r" % (label, data))
        elif ipaddress.ip_address(src) != ipaddress.ip_address(expect_src) or sport != port:
            out.append("fail %s: source %s:%d" % (label, src, sport))
        else:
            out.append("ok %s" % label)

    roundtrip("ipv4-literal", "127.0.0.1", e4, "127.0.0.1")
    roundtrip("ipv6-literal", "::1", e6, "::1")
    roundtrip("name", name6, e6, "::1")
    roundtrip("name-again", name6, e6, "::1")
    # A big datagram survives whole.
    big = "big" + "x" * 30000
    u.sendto(header("127.0.0.1", e4) + big.encode(), relay)
    try:
        d, _ = u.recvfrom(70000)
        out.append("ok big-datagram" if parse(d)[2] == b"echo:" + big.encode()
                   else "fail big-datagram: content")
    except socket.timeout:
        out.append("fail big-datagram: no reply")
    # FRAG != 0 is dropped (no reassembly).
    u.sendto(header("127.0.0.1", e4, frag=1) + b"frag", relay)
    try:
        u.recvfrom(70000)
        out.append("fail frag-dropped: got a reply")
    except socket.timeout:
        out.append("ok frag-dropped")
    # Another socket (another port) of the same host is not the client.
    o = socket.socket(fam, socket.SOCK_DGRAM)
    o.settimeout(1.5)
    o.bind((gw_host, 0))
    o.sendto(header("127.0.0.1", e4) + b"stranger", relay)
    try:
        o.recvfrom(70000)
        out.append("fail stranger-dropped: got a reply")
    except socket.timeout:
        out.append("ok stranger-dropped")
    # Closing the control connection ends the association.
    c.close()
    import time
    time.sleep(0.5)
    u.settimeout(1.5)
    try:
        u.sendto(header("127.0.0.1", e4) + b"late", relay)
        u.recvfrom(70000)
        out.append("fail ends-with-control: got a reply")
    except (socket.timeout, ConnectionRefusedError):
        out.append("ok ends-with-control")
    return out


if __name__ == "__main__":
    try:
        for line in run(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]),
                        sys.argv[5]):
            print(line)
    except Exception as e:
        print("fail probe: %s: %s" % (type(e).__name__, e))
