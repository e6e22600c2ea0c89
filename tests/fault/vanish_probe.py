#!/usr/bin/env python3
"""Clients vanishing (RST) in the handshake states that
tests/integration/socks_probe.py does not reach: RFC 1929 sub-negotiation
(half sent, while the password is being checked, after success), BIND
waiting for its peer, a UDP association with datagrams in flight (and
late ones after it), SOCKS4 mid-request and SOCKS4a while resolving.
After each, a fresh CONNECT must still be relayed (socks_probe's
alive_check, reused with its servers).

usage: vanish_probe.py --proxy HOST:PORT --user NAME --password PW
                       --slow-name NAME [--prefix P] CASE... | all
Prints PASS/FAIL lines; exit status 1 when a case failed.
"""
import argparse
import os
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ left in the tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import socks_probe  # noqa: E402  (the shared raw-socket probe)
from socks_probe import Fail  # noqa: E402


def auth_request(user, pw):
    u, p = user.encode(), pw.encode()
    return bytes([1, len(u)]) + u + bytes([len(p)]) + p


class Vanish(socks_probe.Probe):
    def login(self, s):
        s.sendall(b"\x05\x01\x02")
        if self.recv_exact(s, 2) != b"\x05\x02":
            raise Fail("username method not selected")

    def case_vanish_mid_auth(self):
        s = self.dial()
        self.login(s)
        s.sendall(auth_request(self.o.user, self.o.password)[:4])
        self.abort(s)
        self.alive_check()

    def case_vanish_verifying(self):
        # The password check runs on a verifier thread; vanish while it does,
        # many times, so some land while the job is in flight.
        for _ in range(20):
            s = self.dial()
            self.login(s)
            s.sendall(auth_request(self.o.user, self.o.password))
            self.abort(s)
        time.sleep(0.5)
        self.alive_check()

    def case_vanish_after_auth(self):
        s = self.dial()
        self.login(s)
        s.sendall(auth_request(self.o.user, self.o.password))
        if self.recv_exact(s, 2) != b"\x01\x00":
            raise Fail("login refused")
        self.abort(s)
        self.alive_check()

    def case_vanish_bind_waiting(self):
        s = self.dial()
        self.greet(s)
        # BIND (RFC 1928 section 4) expecting a peer from 127.0.0.1
        s.sendall(socks_probe.request(2, 1, socket.inet_aton("127.0.0.1"), 0))
        rep, _, addr, port = self.read_reply(s)
        if rep != 0:
            raise Fail("BIND REP %d" % rep)
        self.abort(s)
        time.sleep(0.3)
        # The listener must be gone with the session.
        c = socket.socket(socks_probe.family_of(addr))
        c.settimeout(3)
        try:
            c.connect((addr, port))
            raise Fail("BIND listener %s:%d still accepts after the client left" % (addr, port))
        except ConnectionRefusedError:
            pass
        finally:
            c.close()
        self.alive_check()

    def case_vanish_udp_association(self):
        # UDP ASSOCIATE (RFC 1928 section 7), datagrams to an echo server,
        # the control connection reset while they fly, more datagrams to the
        # relay after that: the relay port must be closed with the session.
        echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        echo.bind(("127.0.0.1", 0))
        s = self.dial()
        self.greet(s)
        s.sendall(socks_probe.request(3, 1, bytes(4), 0))
        rep, _, addr, port = self.read_reply(s)
        if rep != 0:
            raise Fail("UDP ASSOCIATE REP %d" % rep)
        u = socket.socket(socks_probe.family_of(addr), socket.SOCK_DGRAM)
        u.settimeout(2)
        try:
            u.connect((addr, port))
            head = b"\x00\x00\x00\x01" + socket.inet_aton("127.0.0.1") + \
                struct.pack("!H", echo.getsockname()[1])
            for i in range(5):
                u.send(head + b"before %d" % i)
            echo.settimeout(2)
            echo.recvfrom(100)  # the relay is up
            self.abort(s)
            for i in range(20):
                try:
                    u.send(head + b"late %d" % i)
                except ConnectionRefusedError:
                    pass  # an earlier one already found the port closed
            time.sleep(0.3)
            try:
                u.send(head + b"probe")
                u.recv(100)
                raise Fail("the relay %s:%d still answers after the session" % (addr, port))
            except ConnectionRefusedError:
                pass  # ICMP port unreachable: the relay socket is gone
            except socket.timeout:
                raise Fail("no port-unreachable from the old relay %s:%d" % (addr, port))
        finally:
            u.close()
            echo.close()
        self.alive_check()

    def case_vanish_socks4_mid_request(self):
        s = self.dial()
        s.sendall(b"\x04\x01" + struct.pack("!H", 80) + socket.inet_aton("127.0.0.1") + b"us")
        self.abort(s)
        self.alive_check()

    def case_vanish_socks4a_resolving(self):
        s = self.dial()
        s.sendall(b"\x04\x01" + struct.pack("!H", 80) + b"\x00\x00\x00\x01" + b"\x00" +
                  self.o.slow_name.encode() + b"\x00")
        time.sleep(0.3)
        self.abort(s)
        self.alive_check()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proxy", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--slow-name", required=True)
    ap.add_argument("--prefix", default="")
    ap.add_argument("cases", nargs="+")
    o = ap.parse_args()
    names = [n[5:] for n in Vanish.__dict__ if n.startswith("case_")]
    cases = names if o.cases == ["all"] else o.cases
    return socks_probe.run_cases(Vanish(o, socks_probe.Servers()), cases, o.prefix)


if __name__ == "__main__":
    sys.exit(main())
