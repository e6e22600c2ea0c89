#!/usr/bin/env python3
"""BIND exerciser: asks the gateway to BIND, connects to the announced address
as the expected peer (optionally after a stranger), checks both replies and
moves bytes both ways.  Prints one line: "ok ..." or "fail: why".

usage: bind_probe.py GW_HOST GW_PORT VERSION PEER_SRC [--stranger SRC] [--expect-timeout]
  VERSION   4 or 5
  PEER_SRC  address the peer connects from (and the client names as expected peer)
"""
import argparse
import ipaddress
import socket
import struct
import sys


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            raise EOFError("closed after %d of %d bytes" % (len(b), n))
        b += d
    return b


def read_reply5(s):
    head = recv_exact(s, 4)
    if head[0] != 5 or head[2] != 0:
        raise ValueError("bad reply header %s" % head.hex())
    atyp = head[3]
    if atyp == 1:
        addr = socket.inet_ntop(socket.AF_INET, recv_exact(s, 4))
    elif atyp == 4:
        addr = socket.inet_ntop(socket.AF_INET6, recv_exact(s, 16))
    else:
        raise ValueError("reply atyp %d" % atyp)
    port = struct.unpack("!H", recv_exact(s, 2))[0]
    return head[1], addr, port


def read_reply4(s):
    r = recv_exact(s, 8)
    if r[0] != 0:
        raise ValueError("SOCKS4 reply version %d" % r[0])
    return r[1], socket.inet_ntoa(r[4:8]), struct.unpack("!H", r[2:4])[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gw_host")
    ap.add_argument("gw_port", type=int)
    ap.add_argument("version", type=int)
    ap.add_argument("peer_src")
    ap.add_argument("--stranger")
    ap.add_argument("--expect-timeout", action="store_true")
    a = ap.parse_args()

    peer = ipaddress.ip_address(a.peer_src)
    c = socket.create_connection((a.gw_host, a.gw_port), timeout=10)
    if a.version == 5:
        c.sendall(b"\x05\x01\x00")
        if recv_exact(c, 2) != b"\x05\x00":
            return "fail: method"
        atyp = b"\x01" if peer.version == 4 else b"\x04"
        c.sendall(b"\x05\x02\x00" + atyp + peer.packed + struct.pack("!H", 0))
        rep, baddr, bport = read_reply5(c)
    else:
        c.sendall(b"\x04\x02" + struct.pack("!H", 0) + peer.packed + b"probe\x00")
        rep, baddr, bport = read_reply4(c)
        rep = 0 if rep == 90 else rep
    if rep != 0:
        return "first reply refused: %d" % rep
    if baddr in ("0.0.0.0", "::"):
        return "fail: first reply names an unspecified address"
    fam = socket.AF_INET6 if ":" in baddr else socket.AF_INET
    if a.stranger:
        st = socket.socket(fam, socket.SOCK_STREAM)
        st.settimeout(5)
        st.bind((a.stranger, 0))
        st.connect((baddr, bport))
        try:
            d = st.recv(1)
            if d:
                return "fail: stranger got data"
        except OSError:
            pass
        st.close()
    if a.expect_timeout:
        c.settimeout(15)
        try:
            if a.version == 5:
                rep, _, _ = read_reply5(c)
            else:
                rep, _, _ = read_reply4(c)
        except (EOFError, OSError) as e:
            return "fail: no second reply before close (%s)" % e
        return "timeout reply %d" % rep
    p = socket.socket(fam, socket.SOCK_STREAM)
    p.settimeout(10)
    p.bind((a.peer_src, 0))
    p.connect((baddr, bport))
    if a.version == 5:
        rep, paddr, pport = read_reply5(c)
    else:
        rep, paddr, pport = read_reply4(c)
        rep = 0 if rep == 90 else rep
    if rep != 0:
        return "fail: second reply %d" % rep
    if ipaddress.ip_address(paddr) != peer or pport != p.getsockname()[1]:
        return "fail: second reply names %s:%d, peer is %s:%d" % (
            paddr, pport, a.peer_src, p.getsockname()[1])
    c.sendall(b"client->peer")
    if recv_exact(p, 12) != b"client->peer":
        return "fail: client->peer bytes"
    p.sendall(b"peer->client!")
    if recv_exact(c, 13) != b"peer->client!":
        return "fail: peer->client bytes"
    p.shutdown(socket.SHUT_WR)
    if c.recv(1) != b"":
        return "fail: half-close not carried"
    return "ok listen=%s:%d peer=%s:%d" % (baddr, bport, paddr, pport)


if __name__ == "__main__":
    try:
        print(main())
    except Exception as e:  # one line for the test script
        print("fail: %s: %s" % (type(e).__name__, e))
    sys.exit(0)
