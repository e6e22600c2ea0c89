#!/usr/bin/env python3
"""Misbehaving peers and a measuring client for the fault-injection tests.

usage:
  faultkit.py dns --listen ADDR:PORT [--listen ...] [--no-tcp] --a4 IP --a6 IP
                  [--delay SECS]
  faultkit.py peer --listen ADDR:PORT [--listen ...]
  faultkit.py connect --proxy HOST:PORT --target HOST:PORT [--name] [options]

dns: an authoritative server for fault.test whose answer depends on a label
of the question name (the first label is free, so every case can ask a name
no cache has seen: "c7.servfail.fault.test"):
  ok       A -> --a4, AAAA -> --a6, TTL 1
  v4only   A -> --a4, AAAA -> NODATA
  slow     the ok answer after --delay seconds (longer than the resolver's
           whole timeout: the answer arrives after the gateway gave up)
  slowish  the ok answer after 0.3 s (inside the resolver's timeout)
  drop1    the first query for each (name, type) is dropped, retries answered
  servfail RCODE 2         refused  RCODE 5
  tc       over UDP: TC bit, no answer (RFC 1035 4.2.1: retry over TCP);
           over TCP: the ok answer.  With --no-tcp nothing listens on TCP,
           so the retry is refused.
  cut      the ok answer cut off in the middle of its answer record, TC clear
  wrongid  the ok answer with another message ID (must be ignored)
Every query is logged as "query proto=udp|tcp type=N name=NAME".

peer: a TCP server whose behaviour the client picks with its first line:
  "ECHO"               echo everything until EOF, then close
  "RST-AFTER-SEND N"   send N bytes, wait 0.3 s, reset (SO_LINGER 0)
  "RST-AFTER-RECV N"   read N bytes (discarding them), then reset

connect: one SOCKS5 CONNECT (method none) through --proxy, timed from the
request to the reply.  Prints "PASS: LABEL (...)" or "FAIL: LABEL (why)",
exits 0 or 1.  --want-rep takes a comma list of acceptable REP codes,
--within the longest acceptable time, --script what to do after REP 0:
  echo       a 64 KiB exchange with the peer's ECHO mode, compared
  rst-send N the peer sends N bytes and resets: the client must see the
             N bytes (or fewer, when the reset overtook them) and then the
             end of the connection (reset or EOF) within 5 s
  rst-recv N the client uploads until the peer resets after N bytes: its
             writes must fail or the connection end within 5 s
"""
import argparse
import asyncio
import os
import select
import socket
import struct
import sys
import threading
import time

ZONE = ("fault", "test")
MODES = {"ok", "v4only", "slow", "slowish", "drop1", "servfail", "refused", "tc", "cut",
         "wrongid"}


def split_hostport(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


# ------------------------------------------------------------------ dns


def dns_parse_question(msg):
    """(id, flags, labels, qtype, end of question) or None."""
    if len(msg) < 12:
        return None
    qid, flags, qd = struct.unpack("!HHH", msg[:6])
    if qd != 1 or flags & 0x8000:
        return None
    off, labels = 12, []
    while True:
        if off >= len(msg):
            return None
        n = msg[off]
        if n == 0:
            off += 1
            break
        if n & 0xC0:
            return None
        labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace").lower())
        off += 1 + n
    if off + 4 > len(msg):
        return None
    qtype, = struct.unpack("!H", msg[off:off + 2])
    return qid, flags, labels, qtype, off + 4


class DnsServer:
    def __init__(self, opts):
        self.o = opts
        self.seen = set()

    def mode_of(self, labels):
        if tuple(labels[-2:]) != ZONE:
            return None
        for lab in labels[:-2]:
            if lab in MODES:
                return lab
        return "ok"

    def build(self, qid, flags, question, qtype, mode, rcode=0, tc=False):
        answers = []
        if rcode == 0:
            if qtype == 1 and self.o.a4:
                answers.append((1, socket.inet_pton(socket.AF_INET, self.o.a4)))
            if qtype == 28 and self.o.a6 and mode != "v4only":
                answers.append((28, socket.inet_pton(socket.AF_INET6, self.o.a6)))
        if tc:
            answers = []
        # QR, AA, RD copied; RCODE
        out_flags = 0x8400 | (flags & 0x0100) | (0x0200 if tc else 0) | rcode
        msg = struct.pack("!HHHHHH", qid, out_flags, 1, len(answers), 0, 0) + question
        for t, rdata in answers:
            # name: pointer to the question (offset 12), class IN, TTL 1
            msg += struct.pack("!HHHIH", 0xC00C, t, 1, 1, len(rdata)) + rdata
        return msg

    def answer(self, msg, proto):
        """(reply bytes or None, delay seconds)."""
        q = dns_parse_question(msg)
        if q is None:
            return None, 0
        qid, flags, labels, qtype, qend = q
        name = ".".join(labels)
        print("query proto=%s type=%d name=%s" % (proto, qtype, name), flush=True)
        question = msg[12:qend]
        mode = self.mode_of(labels)
        if mode is None:
            return self.build(qid, flags, question, qtype, "ok", rcode=5), 0
        if mode == "servfail":
            return self.build(qid, flags, question, qtype, mode, rcode=2), 0
        if mode == "refused":
            return self.build(qid, flags, question, qtype, mode, rcode=5), 0
        if mode == "tc" and proto == "udp":
            return self.build(qid, flags, question, qtype, mode, tc=True), 0
        if mode == "drop1":
            key = (name, qtype)
            if key not in self.seen:
                self.seen.add(key)
                return None, 0
        reply = self.build(qid, flags, question, qtype, mode)
        if mode == "cut":
            # Cut inside the last answer record's RDATA, TC not set: a
            # malformed message, not a truncated one.
            if reply[7] != 0 or reply[6] != 0:
                reply = reply[:-2]
            else:
                reply = reply[:-1]
        if mode == "wrongid":
            reply = struct.pack("!H", (qid + 1) & 0xFFFF) + reply[2:]
        if mode == "slow":
            return reply, self.o.delay
        if mode == "slowish":
            return reply, 0.3
        return reply, 0


class DnsUdp(asyncio.DatagramProtocol):
    def __init__(self, srv):
        self.srv = srv
        self.tr = None

    def connection_made(self, transport):
        self.tr = transport

    def datagram_received(self, data, addr):
        reply, delay = self.srv.answer(data, "udp")
        if reply is None:
            return
        if delay:
            asyncio.get_running_loop().call_later(delay, self.tr.sendto, reply, addr)
        else:
            self.tr.sendto(reply, addr)


async def dns_tcp_client(srv, reader, writer):
    try:
        while True:
            n = struct.unpack("!H", await reader.readexactly(2))[0]
            msg = await reader.readexactly(n)
            reply, delay = srv.answer(msg, "tcp")
            if reply is None:
                continue
            if delay:
                await asyncio.sleep(delay)
            writer.write(struct.pack("!H", len(reply)) + reply)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def dns_main(o):
    srv = DnsServer(o)
    loop = asyncio.get_running_loop()
    for l in o.listen:
        host, port = split_hostport(l)
        await loop.create_datagram_endpoint(lambda: DnsUdp(srv), local_addr=(host, port))
        if not o.no_tcp:
            await asyncio.start_server(lambda r, w: dns_tcp_client(srv, r, w), host, port,
                                       reuse_address=True)
    print("dns ready", flush=True)
    await asyncio.Event().wait()


# ------------------------------------------------------------------ peer


def peer_serve(c):
    try:
        c.settimeout(30)
        line = b""
        while not line.endswith(b"\n") and len(line) < 100:
            d = c.recv(1)
            if not d:
                return
            line += d
        words = line.decode(errors="replace").split()
        if not words:
            return
        if words[0] == "ECHO":
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
            c.shutdown(socket.SHUT_WR)
            return
        n = int(words[1]) if len(words) > 1 else 0
        if words[0] == "RST-AFTER-SEND":
            c.sendall(b"R" * n)
            time.sleep(0.3)
        elif words[0] == "RST-AFTER-RECV":
            got = 0
            while got < n:
                d = c.recv(min(65536, n - got))
                if not d:
                    return
                got += len(d)
        else:
            return
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except (OSError, ValueError):
        pass
    finally:
        c.close()


def peer_main(o):
    socks = []
    for l in o.listen:
        host, port = split_hostport(l)
        s = socket.socket(family_of(host))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        s.listen(256)
        socks.append(s)
    print("peer ready", flush=True)
    while True:
        r, _, _ = select.select(socks, [], [])
        for s in r:
            c, _ = s.accept()
            threading.Thread(target=peer_serve, args=(c,), daemon=True).start()


# ------------------------------------------------------------------ client


class Fail(Exception):
    pass


def recv_exact(s, n, deadline):
    data = b""
    while len(data) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Fail("timed out after %d of %d bytes" % (len(data), n))
        s.settimeout(left)
        try:
            d = s.recv(n - len(data))
        except socket.timeout:
            continue
        except ConnectionResetError:
            raise Fail("reset after %d of %d bytes" % (len(data), n))
        if not d:
            raise Fail("closed after %d of %d bytes %r" % (len(data), n, data[:16]))
        data += d
    return data


def socks_connect_request(host, port, as_name):
    if not as_name:
        try:
            fam = family_of(host)
            raw = socket.inet_pton(fam, host)
            return bytes([5, 1, 0, 1 if fam == socket.AF_INET else 4]) + raw + \
                struct.pack("!H", port)
        except OSError:
            pass
    h = host.encode()
    return bytes([5, 1, 0, 3, len(h)]) + h + struct.pack("!H", port)


def read_reply(s, deadline):
    head = recv_exact(s, 4, deadline)
    if head[0] != 5:
        raise Fail("reply version %d" % head[0])
    alen = {1: 4, 4: 16}.get(head[3])
    if alen is None:
        if head[3] != 3:
            raise Fail("reply ATYP %d" % head[3])
        alen = recv_exact(s, 1, deadline)[0]
    recv_exact(s, alen + 2, deadline)
    return head[1]


def wait_end(s, secs):
    """Read until EOF or reset: ("eof"|"reset"|"open", bytes read)."""
    end = time.monotonic() + secs
    n = 0
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return "open", n
        s.settimeout(left)
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return "reset", n
        if not d:
            return "eof", n
        n += len(d)


def script_echo(s):
    payload = os.urandom(65536)
    s.sendall(b"ECHO\n" + payload)
    s.shutdown(socket.SHUT_WR)
    got = recv_exact(s, len(payload), time.monotonic() + 10)
    if got != payload:
        raise Fail("echo differs")
    how, extra = wait_end(s, 5)
    if how != "eof" or extra:
        raise Fail("after the echo: %s with %d more bytes" % (how, extra))
    return "64 KiB echoed"


def script_rst_send(s, n):
    s.sendall(b"RST-AFTER-SEND %d\n" % n)
    how, got = wait_end(s, 5 + 0.3)
    if how == "open":
        raise Fail("still open 5 s after the peer's reset (%d bytes read)" % got)
    if got > n:
        raise Fail("%d bytes read, the peer sent %d" % (got, n))
    return "%s after %d of %d bytes" % (how, got, n)


def script_rst_recv(s, n):
    s.sendall(b"RST-AFTER-RECV %d\n" % n)
    chunk = b"u" * 65536
    sent = 0
    t_limit = None
    s.setblocking(False)
    end = time.monotonic() + 20
    while time.monotonic() < end:
        _, w, _ = select.select([s], [s], [], 0.2)
        try:
            rd = s.recv(4096)
            if not rd:
                return "EOF after %d bytes uploaded" % sent
        except BlockingIOError:
            pass
        except ConnectionResetError:
            return "reset after %d bytes uploaded" % sent
        if w:
            try:
                sent += s.send(chunk)
            except BlockingIOError:
                pass
            except (BrokenPipeError, ConnectionResetError) as e:
                return "%s after %d bytes uploaded" % (type(e).__name__, sent)
        if sent >= n and t_limit is None:
            t_limit = time.monotonic() + 5
        if t_limit is not None and time.monotonic() > t_limit:
            raise Fail("still writable 5 s after uploading past the reset point "
                       "(%d bytes)" % sent)
    raise Fail("upload of %d bytes did not end" % sent)


def connect_main(o):
    proxy = split_hostport(o.proxy)
    host, port = split_hostport(o.target)
    want = [int(x) for x in o.want_rep.split(",")]
    label = o.label or ("CONNECT %s" % o.target)
    s = None
    try:
        s = socket.socket(family_of(proxy[0]))
        s.settimeout(5)
        s.connect(proxy)
        deadline = time.monotonic() + o.within + 5
        s.sendall(b"\x05\x01\x00")
        if recv_exact(s, 2, deadline) != b"\x05\x00":
            raise Fail("method selection refused")
        t0 = time.monotonic()
        s.sendall(socks_connect_request(host, port, o.name))
        rep = read_reply(s, deadline)
        took = time.monotonic() - t0
        what = "REP %d after %.2fs" % (rep, took)
        if rep not in want:
            raise Fail("%s, want REP %s" % (what, o.want_rep))
        if took > o.within:
            raise Fail("%s, want it within %.1fs" % (what, o.within))
        if took < o.min_secs:
            raise Fail("%s, want it no sooner than %.1fs" % (what, o.min_secs))
        if rep != 0:
            # RFC 1928 section 6: closed after a failure reply.
            how, extra = wait_end(s, 5)
            if how == "open" or extra:
                raise Fail("%s, then %s with %d bytes" % (what, how, extra))
        elif o.script:
            words = o.script.split()
            if words[0] == "echo":
                what += ", " + script_echo(s)
            elif words[0] == "rst-send":
                what += ", " + script_rst_send(s, int(words[1]))
            elif words[0] == "rst-recv":
                what += ", " + script_rst_recv(s, int(words[1]))
            else:
                raise Fail("unknown script %r" % o.script)
        print("PASS: %s (%s)" % (label, what), flush=True)
        return 0
    except (Fail, OSError) as e:
        print("FAIL: %s (%s: %s)" % (label, type(e).__name__, e), flush=True)
        return 1
    finally:
        if s is not None:
            s.close()


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dns")
    d.add_argument("--listen", action="append", required=True)
    d.add_argument("--no-tcp", action="store_true")
    d.add_argument("--a4")
    d.add_argument("--a6")
    d.add_argument("--delay", type=float, default=5.0)
    p = sub.add_parser("peer")
    p.add_argument("--listen", action="append", required=True)
    c = sub.add_parser("connect")
    c.add_argument("--proxy", required=True)
    c.add_argument("--target", required=True)
    c.add_argument("--name", action="store_true", help="send the target as ATYP 3")
    c.add_argument("--want-rep", default="0")
    c.add_argument("--within", type=float, default=10.0)
    c.add_argument("--min-secs", type=float, default=0.0)
    c.add_argument("--script")
    c.add_argument("--label")
    o = ap.parse_args()
    if o.cmd == "dns":
        asyncio.run(dns_main(o))
        return 0
    if o.cmd == "peer":
        peer_main(o)
        return 0
    return connect_main(o)


if __name__ == "__main__":
    sys.exit(main())
