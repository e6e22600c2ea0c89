#!/usr/bin/env python3
"""Raw-socket SOCKS5 (RFC 1928) probe: drives a gateway with well-formed and
malformed input and checks each answer byte for byte.

usage: socks_probe.py --proxy HOST:PORT [options] CASE... | all | list

Each case prints "PASS: <prefix><case>" or "FAIL: <prefix><case> (why)"; the
exit status is 1 when any case failed.  The probe starts its own small
destination servers on loopback (whoami, reset, backlog-full, a closed port);
the HTTP server, names and timeouts come from the options.
"""
import argparse
import ipaddress
import select
import socket
import struct
import sys
import threading
import time

REP_NAMES = {
    0: "succeeded",
    1: "general failure",
    2: "not allowed by ruleset",
    3: "network unreachable",
    4: "host unreachable",
    5: "connection refused",
    6: "TTL expired",
    7: "command not supported",
    8: "address type not supported",
}


class Fail(Exception):
    pass


def split_hostport(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


# ---------------------------------------------------------------- servers


class Servers:
    """Destination servers the cases need, each on an ephemeral loopback port."""

    def __init__(self, loopback=True):
        if not loopback:  # scenarios in namespaces may have no loopback peer
            return
        self.whoami4 = self._listen("127.0.0.1", self._whoami)
        self.whoami6 = self._listen("::1", self._whoami)
        self.reset4 = self._listen("127.0.0.1", self._reset)
        self.closed4 = self._closed_port("127.0.0.1")
        self.closed6 = self._closed_port("::1")
        self.full4, self._full_keep = self._backlog_full("127.0.0.1")

    @staticmethod
    def _closed_port(host):
        # A port nothing listens on: bind, read the number, close.
        s = socket.socket(family_of(host))
        s.bind((host, 0))
        port = s.getsockname()[1]
        s.close()
        return port

    def _listen(self, host, handler):
        s = socket.socket(family_of(host))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, 0))
        s.listen(64)

        def loop():
            while True:
                c, peer = s.accept()
                t = threading.Thread(target=handler, args=(c, peer), daemon=True)
                t.start()

        t = threading.Thread(target=loop, daemon=True)
        t.start()
        return s.getsockname()[1]

    @staticmethod
    def _whoami(c, peer):
        # Tell the client which address it came from (so BND.ADDR/BND.PORT can
        # be checked), then count what it sends until EOF and report that:
        # the count only arrives if the client's half-close was carried.
        try:
            c.settimeout(20)
            c.sendall(("peer %s %d\n" % (peer[0], peer[1])).encode())
            n = 0
            while True:
                d = c.recv(65536)
                if not d:
                    break
                n += len(d)
            c.sendall(("got %d\n" % n).encode())
        except OSError:
            pass
        finally:
            c.close()

    @staticmethod
    def _reset(c, peer):
        # Send a known amount, give the relay time to pass it on, then abort
        # the connection with a RST (SO_LINGER 0).
        try:
            c.sendall(b"R" * 1000)
            time.sleep(0.3)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        finally:
            c.close()

    @staticmethod
    def _backlog_full(host):
        # A listener that never accepts, with its accept queue filled: Linux
        # drops further SYNs, so a connect() to it stays in progress (the
        # gateway's "connecting" state) until somebody gives up.
        s = socket.socket(family_of(host))
        s.bind((host, 0))
        s.listen(0)
        port = s.getsockname()[1]
        keep = [s]
        for _ in range(8):
            c = socket.socket(family_of(host))
            c.setblocking(False)
            c.connect_ex((host, port))
            keep.append(c)
            _, w, _ = select.select([], [c], [], 0.5)
            if not w:
                return port, keep  # this SYN was dropped: the queue is full
        raise RuntimeError("could not fill the accept queue of port %d" % port)


# ---------------------------------------------------------------- protocol


def addr_bytes(host):
    ip = ipaddress.ip_address(host)
    return (1 if ip.version == 4 else 4), ip.packed


def request(cmd, atyp, addr, port):
    if atyp == 3:
        if isinstance(addr, str):
            addr = addr.encode()
        body = bytes([len(addr)]) + addr
    else:
        body = addr
    return bytes([5, cmd, 0, atyp]) + body + struct.pack("!H", port)


def connect_req(host, port, as_name=False):
    if as_name:
        return request(1, 3, host, port)
    try:
        atyp, raw = addr_bytes(host)
    except ValueError:
        return request(1, 3, host, port)
    return request(1, atyp, raw, port)


class Probe:
    def __init__(self, opts, servers):
        self.o = opts
        self.srv = servers
        self.proxy = split_hostport(opts.proxy)

    # -- socket helpers

    def dial(self, timeout=5):
        s = socket.socket(family_of(self.proxy[0]))
        s.settimeout(timeout)
        s.connect(self.proxy)
        return s

    @staticmethod
    def recv_exact(s, n, timeout=5):
        data = b""
        end = time.monotonic() + timeout
        while len(data) < n:
            left = end - time.monotonic()
            if left <= 0:
                raise Fail("timed out after %d of %d bytes: %r" % (len(data), n, data))
            s.settimeout(left)
            try:
                d = s.recv(n - len(data))
            except socket.timeout:
                continue
            except ConnectionResetError:
                raise Fail("reset after %d of %d bytes: %r" % (len(data), n, data))
            if not d:
                raise Fail("closed after %d of %d bytes: %r" % (len(data), n, data))
            data += d
        return data

    @staticmethod
    def wait_close(s, timeout):
        """Read until EOF or reset; returns (how, bytes read, seconds)."""
        t0 = time.monotonic()
        end = t0 + timeout
        data = b""
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return "open", data, time.monotonic() - t0
            s.settimeout(left)
            try:
                d = s.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return "reset", data, time.monotonic() - t0
            if not d:
                return "eof", data, time.monotonic() - t0
            data += d

    def expect_close(self, s, timeout=5, allow_data=False):
        how, data, _ = self.wait_close(s, timeout)
        if how == "open":
            raise Fail("connection still open after %ds" % timeout)
        if data and not allow_data:
            raise Fail("unexpected bytes before close: %r" % data[:64])

    def greet(self, s):
        s.sendall(b"\x05\x01\x00")
        got = self.recv_exact(s, 2)
        if got != b"\x05\x00":
            raise Fail("method reply %r, want 05 00" % got)

    def read_reply(self, s, timeout=10):
        head = self.recv_exact(s, 4, timeout)
        if head[0] != 5 or head[2] != 0:
            raise Fail("bad reply header %r" % head)
        atyp = head[3]
        if atyp == 1:
            raw = self.recv_exact(s, 4)
            addr = socket.inet_ntop(socket.AF_INET, raw)
        elif atyp == 4:
            raw = self.recv_exact(s, 16)
            addr = socket.inet_ntop(socket.AF_INET6, raw)
        elif atyp == 3:
            n = self.recv_exact(s, 1)[0]
            addr = self.recv_exact(s, n).decode(errors="replace")
        else:
            raise Fail("reply ATYP %d" % atyp)
        port = struct.unpack("!H", self.recv_exact(s, 2))[0]
        return head[1], atyp, addr, port

    def expect_rep(self, req, want, greet=True, timeout=10, then_close=True):
        s = self.dial()
        try:
            if greet:
                self.greet(s)
            s.sendall(req)
            rep, _, _, _ = self.read_reply(s, timeout)
            if rep != want:
                raise Fail("REP %d (%s), want %d (%s)" % (rep, REP_NAMES.get(rep, "?"), want,
                                                          REP_NAMES.get(want, "?")))
            if then_close:
                # RFC 1928 section 6: after a failure reply the server closes
                # the connection (within 10 s; this gateway right away).
                self.expect_close(s, 5)
        finally:
            s.close()

    def alive_check(self):
        """A fresh CONNECT through the gateway still works."""
        s = self.dial()
        try:
            self.greet(s)
            s.sendall(connect_req("127.0.0.1", self.srv.whoami4))
            rep, _, _, _ = self.read_reply(s)
            if rep != 0:
                raise Fail("gateway no longer relays: REP %d" % rep)
            line = self.recv_exact(s, 5)
            if not line.startswith(b"peer "):
                raise Fail("relay returned %r" % line)
        finally:
            s.close()

    @staticmethod
    def abort(s):
        # Vanish abruptly: RST instead of FIN.
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        s.close()

    # -- the cases: each returns normally on success or raises Fail

    def case_garbage_http(self):
        s = self.dial()
        s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        self.expect_close(s)  # VER != 5: close without reply
        s.close()

    def case_garbage_binary(self):
        s = self.dial()
        s.sendall(bytes((i * 37 + 11) & 0xFF for i in range(512)))
        self.expect_close(s)
        s.close()

    def case_bad_version(self):
        s = self.dial()
        s.sendall(b"\x06\x01\x00")
        self.expect_close(s)
        s.close()

    def _truncated(self, data, greet):
        s = self.dial()
        if greet:
            self.greet(s)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)  # the client is done: EOF mid-message
        self.expect_close(s, self.o.handshake_timeout + 3)
        s.close()

    def case_truncated_greeting_ver(self):
        self._truncated(b"\x05", False)

    def case_truncated_greeting_methods(self):
        self._truncated(b"\x05\x03\x00", False)

    def case_truncated_request_header(self):
        self._truncated(b"\x05\x01\x00", True)

    def case_truncated_request_ipv4(self):
        self._truncated(b"\x05\x01\x00\x01\x7f\x00", True)

    def case_truncated_request_ipv6(self):
        self._truncated(b"\x05\x01\x00\x04" + b"\x00" * 9, True)

    def case_truncated_request_name(self):
        self._truncated(b"\x05\x01\x00\x03\x0bwww.v", True)

    def case_truncated_request_port(self):
        self._truncated(b"\x05\x01\x00\x01\x7f\x00\x00\x01\x00", True)

    def case_methods_255_with_none(self):
        s = self.dial()
        try:
            s.sendall(b"\x05\xff" + bytes(range(1, 255)) + b"\x00")
            got = self.recv_exact(s, 2)
            if got != b"\x05\x00":
                raise Fail("method reply %r, want 05 00" % got)
            s.sendall(connect_req("127.0.0.1", self.srv.whoami4))
            rep, _, _, _ = self.read_reply(s)
            if rep != 0:
                raise Fail("CONNECT after 255 methods: REP %d" % rep)
        finally:
            s.close()

    def _no_method(self, greeting):
        s = self.dial()
        try:
            s.sendall(greeting)
            got = self.recv_exact(s, 2)
            if got != b"\x05\xff":
                raise Fail("method reply %r, want 05 ff" % got)
            self.expect_close(s)  # RFC 1928 section 3: the client must close
        finally:
            s.close()

    def case_methods_255_without_none(self):
        self._no_method(b"\x05\xff" + bytes(range(1, 256)))

    def case_methods_zero(self):
        # RFC 1928 section 3 gives NMETHODS as 1..255, so 0 is malformed:
        # "no acceptable methods" (05 FF) or a close without reply are both
        # right; nothing else is.
        s = self.dial()
        try:
            s.sendall(b"\x05\x00")
            how, data, _ = self.wait_close(s, 5)
            if how == "open":
                raise Fail("connection still open after 5s")
            if data not in (b"", b"\x05\xff"):
                raise Fail("answered %r, want 05 ff or nothing" % data)
        finally:
            s.close()

    def case_no_acceptable_method(self):
        self._no_method(b"\x05\x01\x02")

    def case_name_255_bytes(self):
        labels = ["a" * 63, "b" * 63, "c" * 63, "d" * 58, "test"]
        name = ".".join(labels)
        assert len(name) == 255
        self.expect_rep(request(1, 3, name, 80), 4)

    def case_name_zero_length(self):
        self.expect_rep(request(1, 3, b"", 80), 1)

    def case_unknown_command(self):
        self.expect_rep(request(9, 1, socket.inet_aton("127.0.0.1"), self.srv.whoami4), 7)

    def case_unknown_atyp_2(self):
        self.expect_rep(b"\x05\x01\x00\x02\x7f\x00\x00\x01\x00\x50", 8)

    def case_unknown_atyp_255(self):
        self.expect_rep(b"\x05\x01\x00\xff\x7f\x00\x00\x01\x00\x50", 8)

    def case_leaked_synthetic(self):
        self.expect_rep(request(1, 1, socket.inet_aton("0.0.0.5"), 80), 2)

    def case_leaked_synthetic_zero(self):
        self.expect_rep(request(1, 1, socket.inet_aton("0.0.0.0"), 80), 2)

    def case_refused_ipv4(self):
        self.expect_rep(connect_req("127.0.0.1", self.srv.closed4), 5)

    def case_refused_ipv6(self):
        self.expect_rep(connect_req("::1", self.srv.closed6), 5)

    def case_refused_literal_as_name(self):
        self.expect_rep(connect_req("127.0.0.1", self.srv.closed4, as_name=True), 5)

    def case_nxdomain(self):
        if not self.o.nxdomain:
            raise Fail("--nxdomain not given")
        self.expect_rep(connect_req(self.o.nxdomain, 80), 4)

    def case_nodata(self):
        if not self.o.nodata:
            raise Fail("--nodata not given")
        self.expect_rep(connect_req(self.o.nodata, 80), 4)

    def _bnd_check(self, host, port, as_name, want_atyp):
        s = self.dial()
        try:
            self.greet(s)
            s.sendall(connect_req(host, port, as_name=as_name))
            rep, atyp, addr, bport = self.read_reply(s)
            if rep != 0:
                raise Fail("REP %d" % rep)
            line = b""
            while not line.endswith(b"\n"):
                line += self.recv_exact(s, 1)
            _, peer, pport = line.decode().split()
            if atyp != want_atyp:
                raise Fail("BND ATYP %d, want %d" % (atyp, want_atyp))
            if (ipaddress.ip_address(addr), bport) != (ipaddress.ip_address(peer), int(pport)):
                raise Fail("BND %s:%d but the destination saw %s:%s" % (addr, bport, peer, pport))
            # Half-close must be carried through the relay: the server
            # answers with the count only after it read EOF.
            s.sendall(b"x" * 3000)
            s.shutdown(socket.SHUT_WR)
            tail = self.recv_exact(s, len(b"got 3000\n"))
            if tail != b"got 3000\n":
                raise Fail("after half-close got %r" % tail)
            self.expect_close(s)
        finally:
            s.close()

    def case_bnd_ipv4(self):
        self._bnd_check("127.0.0.1", self.srv.whoami4, False, 1)

    def case_bnd_ipv6(self):
        self._bnd_check("::1", self.srv.whoami6, False, 4)

    def case_literal_v4_as_name(self):
        self._bnd_check("127.0.0.1", self.srv.whoami4, True, 1)

    def case_literal_v6_as_name(self):
        self._bnd_check("::1", self.srv.whoami6, True, 4)

    def case_slow_client(self):
        # One byte per second of a valid greeting + request: the handshake
        # timeout (greeting to complete request) must close the connection.
        msg = b"\x05\x01\x00" + connect_req("127.0.0.1", self.srv.whoami4)
        ht = self.o.handshake_timeout
        s = self.dial()
        t0 = time.monotonic()
        closed_at = None
        try:
            for b in msg:
                try:
                    s.sendall(bytes([b]))
                except OSError:
                    closed_at = time.monotonic() - t0
                    break
                how, _, _ = self.wait_close(s, 1.0)
                if how != "open":
                    closed_at = time.monotonic() - t0
                    break
                if time.monotonic() - t0 > ht + 5:
                    break
        finally:
            s.close()
        if closed_at is None:
            raise Fail("not closed after %.1fs (handshake timeout %ss)" %
                       (time.monotonic() - t0, ht))
        if closed_at < ht - 0.5 or closed_at > ht + 3:
            raise Fail("closed after %.1fs, handshake timeout is %ss" % (closed_at, ht))

    def case_vanish_after_connect(self):
        self.abort(self.dial())
        self.alive_check()

    def case_vanish_mid_greeting(self):
        s = self.dial()
        s.sendall(b"\x05\x02")
        self.abort(s)
        self.alive_check()

    def case_vanish_after_greeting(self):
        s = self.dial()
        s.sendall(b"\x05\x01\x00")
        self.abort(s)
        self.alive_check()

    def case_vanish_mid_request(self):
        s = self.dial()
        self.greet(s)
        s.sendall(b"\x05\x01\x00\x03\x0bwww")
        self.abort(s)
        self.alive_check()

    def case_vanish_resolving(self):
        if not self.o.slow_name:
            raise Fail("--slow-name not given")
        s = self.dial()
        self.greet(s)
        s.sendall(connect_req(self.o.slow_name, 80))
        time.sleep(0.3)
        self.abort(s)
        self.alive_check()

    def case_vanish_connecting(self):
        s = self.dial()
        self.greet(s)
        s.sendall(connect_req("127.0.0.1", self.srv.full4))
        time.sleep(0.3)
        self.abort(s)
        self.alive_check()

    def case_vanish_relaying(self):
        s = self.dial()
        self.greet(s)
        s.sendall(connect_req("127.0.0.1", self.srv.whoami4))
        rep, _, _, _ = self.read_reply(s)
        if rep != 0:
            raise Fail("REP %d" % rep)
        s.sendall(b"y" * 100000)
        self.abort(s)
        self.alive_check()

    def _timeout_rep(self, dest):
        # Resolution or connection that never completes: the connect timeout
        # ends it with a failure reply (host unreachable or TTL expired).
        s = self.dial()
        try:
            self.greet(s)
            s.sendall(dest)
            t0 = time.monotonic()
            rep, _, _, _ = self.read_reply(s, self.o.connect_timeout + 5)
            took = time.monotonic() - t0
            if rep not in (4, 6):
                raise Fail("REP %d, want 4 or 6" % rep)
            if took > self.o.connect_timeout + 4:
                raise Fail("reply after %.1fs, connect timeout %ss" % (took, self.o.connect_timeout))
            self.expect_close(s)
        finally:
            s.close()

    def case_resolve_timeout(self):
        if not self.o.slow_name:
            raise Fail("--slow-name not given")
        self._timeout_rep(connect_req(self.o.slow_name, 80))

    def case_connect_timeout(self):
        self._timeout_rep(connect_req("127.0.0.1", self.srv.full4))

    def case_dest_reset(self):
        s = self.dial()
        try:
            self.greet(s)
            s.sendall(connect_req("127.0.0.1", self.srv.reset4))
            rep, _, _, _ = self.read_reply(s)
            if rep != 0:
                raise Fail("REP %d" % rep)
            how, data, _ = self.wait_close(s, 5)
            if how == "open":
                raise Fail("client connection still open 5 s after the destination reset")
            if data != b"R" * 1000:
                raise Fail("got %d bytes before close, want 1000" % len(data))
        finally:
            s.close()

    def _pipelined(self, host, port):
        s = self.dial()
        try:
            s.sendall(b"\x05\x01\x00" + connect_req(host, port) +
                      b"GET / HTTP/1.0\r\nHost: test\r\n\r\n")
            got = self.recv_exact(s, 2)
            if got != b"\x05\x00":
                raise Fail("method reply %r" % got)
            rep, _, _, _ = self.read_reply(s)
            if rep != 0:
                raise Fail("REP %d" % rep)
            how, data, _ = self.wait_close(s, 10)
            if not (data.startswith(b"HTTP/1.") and data[8:13] == b" 200 "):
                raise Fail("HTTP answer %r (%s)" % (data[:40], how))
        finally:
            s.close()

    def case_target_rep(self):
        # Generic: CONNECT --target and expect --want-rep (for scenarios).
        if not self.o.target or self.o.want_rep is None:
            raise Fail("--target and --want-rep needed")
        host, port = split_hostport(self.o.target)
        self.expect_rep(connect_req(host, port, as_name=self.o.as_name), self.o.want_rep,
                        then_close=self.o.want_rep != 0)

    def case_pipelined_literal(self):
        if not self.o.http:
            raise Fail("--http not given")
        self._pipelined(*split_hostport(self.o.http))

    def case_pipelined_name(self):
        if not self.o.http_name:
            raise Fail("--http-name not given")
        self._pipelined(*split_hostport(self.o.http_name))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proxy", required=True, help="gateway HOST:PORT ([v6]:port)")
    ap.add_argument("--http", help="HTTP server as IP:PORT for the pipelined case")
    ap.add_argument("--http-name", help="HTTP server as NAME:PORT")
    ap.add_argument("--nxdomain", help="a name that gets NXDOMAIN")
    ap.add_argument("--nodata", help="a name that exists without A or AAAA")
    ap.add_argument("--slow-name", help="a name whose lookup is never answered")
    ap.add_argument("--handshake-timeout", type=float, default=2)
    ap.add_argument("--connect-timeout", type=float, default=5)
    ap.add_argument("--target", help="HOST:PORT for the target_rep case")
    ap.add_argument("--as-name", action="store_true", help="send --target as ATYP 3")
    ap.add_argument("--want-rep", type=int, help="REP the target_rep case expects")
    ap.add_argument("--prefix", default="")
    ap.add_argument("cases", nargs="+")
    o = ap.parse_args()

    # every case in definition order; "all" leaves out the parametrised one
    names = [n[5:] for n in Probe.__dict__ if n.startswith("case_") and n != "case_target_rep"]
    if o.cases == ["list"]:
        print("\n".join(names))
        return 0
    cases = names if o.cases == ["all"] else o.cases
    return run_cases(Probe(o, Servers(o.cases != ["target_rep"])), cases, o.prefix)


def run_cases(probe, cases, prefix):
    """Run probe.case_NAME for each name, a PASS or FAIL line each; 1 if any
    failed.  (Shared with tests/fault/vanish_probe.py.)"""
    failed = 0
    for c in cases:
        fn = getattr(probe, "case_" + c, None)
        try:
            if fn is None:
                raise Fail("no such case")
            fn()
            print("PASS: %s%s" % (prefix, c), flush=True)
        except Exception as e:  # one broken case must not hide the others
            failed += 1
            print("FAIL: %s%s (%s: %s)" % (prefix, c, type(e).__name__, e), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
