#!/usr/bin/env python3
"""Soak load for socks64d: mixed CONNECT / UDP ASSOCIATE / BIND through a
SOCKS5 gateway, every stream checked with SHA-256 at both ends.

usage:
  soak.py server --addr ADDR [--stream-port 7000 --cb-port 7001 --udp-port 7002]
  soak.py client --proxy HOST:PORT --peer4 ADDR --peer6 ADDR --names N,N,...
                 --seconds S --max-sessions N [--conc N] [--mix C,U,B] [--seed N]
                 [--max-mib N] [--max-udp N] [--gss-share F --gss-service S@HOST]

Stream protocol (one TCP connection, full duplex).  The initiator sends
  "S64 <up> <down>\\n", <up> bytes, the 64-hex SHA-256 of those bytes, and
  half-closes (its FIN must cross the gateway);
the responder, at the same time, sends <down> bytes and their SHA-256, and
once it has read the upload, its digest and the EOF it answers "OK\\n" or
"BAD\\n" (its verdict on the upload) and closes.  The initiator checks the
download against the digest and reads the verdict and the EOF.  So each
direction is hashed where it was sent and where it arrived.

  CONNECT: the client (through the gateway) is the initiator, the server
           (port --stream-port) the responder.
  BIND:    the client asks the gateway to BIND with the server as the
           expected peer, then tells the server over a second, CONNECTed
           connection (port --cb-port): "CB <host> <port> <up> <down>\\n";
           the server connects to the announced address as initiator and
           answers "DONE <OK|BAD> <OK|BAD>\\n" (its check of the download,
           the client's verdict on the upload); the client is the responder.
  UDP:     one association; datagrams "U" + nonce(8) + seq(4) + body +
           SHA-256 of what precedes it, to the server's echo port (name or
           literal); the server checks each and echoes it; the client checks
           what comes back.  Late or lost datagrams are counted, not failed.

GSSAPI (--gss-share F, python3-gssapi): that share of the operations
authenticates with RFC 1961 (method 1, Kerberos) instead of "no
authentication", at integrity or confidentiality level at random; the SOCKS
request and reply, the streams of CONNECT and BIND and every UDP datagram
then travel as wrapped messages.  The credential cache must already hold the
service ticket: the client asks no KDC.

The client prints one JSON line with its counts at the end; the server
prints one when it gets SIGTERM or SIGINT.  Exit status 0 unless the
client met an error (a failed operation or a digest mismatch).
"""
import argparse
import asyncio
import hashlib
import ipaddress
import json
import os
import random
import signal
import socket
import struct
import sys
import time

try:
    import gssapi
except ImportError:
    gssapi = None

POOL = os.urandom(1 << 20)
CHUNK = 64 * 1024
OP_TIMEOUT = 60.0


def pool_chunk(rng, n):
    off = rng.randrange(0, len(POOL) - n + 1)
    return POOL[off:off + n]


def pick_size(rng):
    r = rng.random()
    if r < 0.08:
        return 0
    if r < 0.60:
        return rng.randrange(1, 16 * 1024)
    if r < 0.92:
        return rng.randrange(16 * 1024, 512 * 1024)
    return rng.randrange(1 << 20, 6 << 20)


# ------------------------------------------------------------ streams


async def send_data(writer, n, rng):
    h = hashlib.sha256()
    while n > 0:
        k = min(n, CHUNK)
        d = pool_chunk(rng, k)
        h.update(d)
        writer.write(d)
        await writer.drain()
        n -= k
    writer.write(h.hexdigest().encode())
    await writer.drain()


async def recv_data(reader, n):
    """Read n bytes and their digest; True when the digest matches."""
    h = hashlib.sha256()
    while n > 0:
        d = await reader.read(min(n, CHUNK))
        if not d:
            raise EOFError("stream ended %d bytes early" % n)
        h.update(d)
        n -= len(d)
    digest = await reader.readexactly(64)
    return digest == h.hexdigest().encode()


async def initiator(reader, writer, up, down, rng):
    """(download digest ok, responder's verdict ok)."""
    writer.write(b"S64 %d %d\n" % (up, down))

    async def upload():
        await send_data(writer, up, rng)
        writer.write_eof()

    t = asyncio.ensure_future(upload())
    try:
        ok_down = await recv_data(reader, down)
        verdict = await reader.readline()
        if await reader.read(1) != b"":
            raise EOFError("bytes after the verdict")
        await t
    finally:
        if not t.done():
            t.cancel()
    return ok_down, verdict == b"OK\n"


async def responder(reader, writer, rng):
    """(upload digest ok, bytes up, bytes down)."""
    head = (await reader.readline()).split()
    if len(head) != 3 or head[0] != b"S64":
        raise ValueError("bad stream header %r" % head)
    up, down = int(head[1]), int(head[2])
    t = asyncio.ensure_future(send_data(writer, down, rng))
    try:
        ok = await recv_data(reader, up)
        if await reader.read(1) != b"":
            ok = False
        await t
    finally:
        if not t.done():
            t.cancel()
    writer.write(b"OK\n" if ok else b"BAD\n")
    await writer.drain()
    return ok, up, down


# ------------------------------------------------------------ RFC 1961

GSS_VER = 1
GSS_AUTH = 1
GSS_LEVEL = 2
GSS_DATA = 3
GSS_ABORT = 0xFF
GSS_CHUNK = 16 * 1024  # plaintext per wrapped message


class GssError(Exception):
    pass


def gss_frame(mtyp, token):
    return struct.pack("!BBH", GSS_VER, mtyp, len(token)) + token


async def gss_read_frame(reader, want):
    head = await reader.readexactly(2)
    if head[0] != GSS_VER:
        raise GssError("message version %d" % head[0])
    if head[1] == GSS_ABORT:
        raise GssError("the gateway aborted the GSSAPI exchange")
    if head[1] != want:
        raise GssError("message type %d, want %d" % (head[1], want))
    n = struct.unpack("!H", await reader.readexactly(2))[0]
    return await reader.readexactly(n)


class GssStream:
    """An asyncio stream pair seen through RFC 1961 section 6
    encapsulation: what the stream code writes goes out as wrapped
    messages, what it reads comes from unwrapped ones.  Offers the part of
    the StreamReader/StreamWriter interface the soak uses."""

    def __init__(self, reader, writer, ctx, conf):
        self.r, self.w, self.ctx, self.conf = reader, writer, ctx, conf
        self.buf = bytearray()
        self.eof = False

    async def _fill(self):
        try:
            head = await self.r.readexactly(4)
        except asyncio.IncompleteReadError as e:
            if e.partial:
                raise GssError("message header cut after %d bytes" % len(e.partial))
            self.eof = True
            return
        if head[0] != GSS_VER or head[1] != GSS_DATA:
            raise GssError("encapsulated message header %r" % head)
        tok = await self.r.readexactly(struct.unpack("!H", head[2:])[0])
        res = self.ctx.unwrap(tok)
        if res.encrypted != self.conf:
            raise GssError("message protection %s, negotiated %s" % (res.encrypted, self.conf))
        self.buf += res.message

    async def read(self, n=-1):
        while not self.buf and not self.eof:
            await self._fill()
        k = len(self.buf) if n < 0 else min(n, len(self.buf))
        d = bytes(self.buf[:k])
        del self.buf[:k]
        return d

    async def readexactly(self, n):
        while len(self.buf) < n and not self.eof:
            await self._fill()
        if len(self.buf) < n:
            raise asyncio.IncompleteReadError(bytes(self.buf), n)
        return await self.read(n)

    async def readline(self):
        while b"\n" not in self.buf and not self.eof:
            await self._fill()
        i = self.buf.find(b"\n")
        return await self.read(len(self.buf) if i < 0 else i + 1)

    def write(self, data):
        for off in range(0, len(data), GSS_CHUNK):
            tok = self.ctx.wrap(bytes(data[off:off + GSS_CHUNK]), self.conf).message
            self.w.write(gss_frame(GSS_DATA, tok))

    async def drain(self):
        await self.w.drain()

    def write_eof(self):
        self.w.write_eof()

    def close(self):
        self.w.close()


async def gss_login(reader, writer, service, level, udp):
    """RFC 1961 sections 3-5 after method 1 was chosen: the context
    (mutual authentication) and the protection level.  Returns the
    context and whether data is encrypted."""
    flags = [gssapi.RequirementFlag.mutual_authentication,
             gssapi.RequirementFlag.replay_detection,
             gssapi.RequirementFlag.integrity,
             gssapi.RequirementFlag.confidentiality]
    if not udp:
        # Datagrams may be lost or reordered: no sequence checks for them.
        flags.append(gssapi.RequirementFlag.out_of_sequence_detection)
    name = gssapi.Name(service, gssapi.NameType.hostbased_service)
    ctx = gssapi.SecurityContext(name=name, usage="initiate", flags=flags,
                                 mech=gssapi.MechType.kerberos)
    tok = ctx.step()
    while True:
        if tok:
            writer.write(gss_frame(GSS_AUTH, tok))
        if ctx.complete:
            break
        tok = ctx.step(await gss_read_frame(reader, GSS_AUTH))
    # Section 4: the level, one octet wrapped without confidentiality.
    writer.write(gss_frame(GSS_LEVEL, ctx.wrap(bytes([level]), False).message))
    got = ctx.unwrap(await gss_read_frame(reader, GSS_LEVEL)).message
    if len(got) != 1 or got[0] not in (1, 2):
        raise GssError("protection level answered %r" % got)
    return ctx, got[0] == 2


# ------------------------------------------------------------ SOCKS5


def socks_addr(host, port):
    try:
        ip = ipaddress.ip_address(host)
        return (bytes([1]) if ip.version == 4 else bytes([4])) + ip.packed + \
            struct.pack("!H", port)
    except ValueError:
        h = host.encode()
        return bytes([3, len(h)]) + h + struct.pack("!H", port)


async def read_socks_addr(reader):
    atyp = (await reader.readexactly(1))[0]
    if atyp == 1:
        host = socket.inet_ntop(socket.AF_INET, await reader.readexactly(4))
    elif atyp == 4:
        host = socket.inet_ntop(socket.AF_INET6, await reader.readexactly(16))
    elif atyp == 3:
        n = (await reader.readexactly(1))[0]
        host = (await reader.readexactly(n)).decode()
    else:
        raise ValueError("ATYP %d" % atyp)
    port = struct.unpack("!H", await reader.readexactly(2))[0]
    return host, port


class SocksError(Exception):
    pass


async def socks_open(proxy, cmd, host, port, gss=None):
    """A SOCKS5 request; gss = (service, level) authenticates with
    GSSAPI and returns a GssStream as both reader and writer (and the
    context and encryption as a fourth value, for UDP)."""
    reader, writer = await asyncio.open_connection(proxy[0], proxy[1])
    try:
        req = bytes([5, cmd, 0]) + socks_addr(host, port)
        if gss is None:
            writer.write(b"\x05\x01\x00" + req)
            if await reader.readexactly(2) != b"\x05\x00":
                raise SocksError("method refused")
            return reader, writer, await read_reply(reader), None
        writer.write(b"\x05\x01\x01")
        if await reader.readexactly(2) != b"\x05\x01":
            raise SocksError("GSSAPI method refused")
        ctx, conf = await gss_login(reader, writer, gss[0], gss[1], cmd == 3)
        st = GssStream(reader, writer, ctx, conf)
        st.write(req)
        return st, st, await read_reply(st), (ctx, conf)
    except BaseException:
        writer.close()
        raise


async def read_reply(reader):
    head = await reader.readexactly(3)
    if head[0] != 5:
        raise SocksError("reply version %d" % head[0])
    addr = await read_socks_addr(reader)
    if head[1] != 0:
        raise SocksError("REP %d" % head[1])
    return addr


def udp_header(host, port):
    return b"\x00\x00\x00" + socks_addr(host, port)


def udp_strip(data):
    """Payload of a SOCKS5 UDP datagram (RFC 1928 section 7)."""
    if len(data) < 4 or data[2] != 0:
        return None
    atyp = data[3]
    if atyp == 1:
        off = 4 + 4
    elif atyp == 4:
        off = 4 + 16
    elif atyp == 3:
        off = 5 + data[4]
    else:
        return None
    return data[off + 2:]


def big_buffers(transport):
    """Room for bursts while the event loop is busy hashing streams (root may
    exceed net.core.rmem_max); what still overflows is counted by the kernel
    (RcvbufErrors) and by the driver."""
    s = transport.get_extra_info("socket")
    for opt in (getattr(socket, "SO_RCVBUFFORCE", 33), socket.SO_RCVBUF):
        try:
            s.setsockopt(socket.SOL_SOCKET, opt, 4 << 20)
            return
        except OSError:
            continue


class UdpQueue(asyncio.DatagramProtocol):
    def __init__(self):
        self.q = asyncio.Queue()

    def datagram_received(self, data, addr):
        self.q.put_nowait(data)

    def error_received(self, exc):
        pass


# ------------------------------------------------------------ server


class Server:
    def __init__(self, o):
        self.o = o
        self.c = {"streams": 0, "stream_bad": 0, "stream_err": 0, "bytes_in": 0,
                  "bytes_out": 0, "bind_streams": 0, "bind_bad": 0, "bind_err": 0,
                  "udp_ok": 0, "udp_bad": 0}
        self.rng = random.Random()

    async def on_stream(self, reader, writer):
        try:
            ok, up, down = await asyncio.wait_for(responder(reader, writer, self.rng),
                                                  OP_TIMEOUT)
            self.c["streams"] += 1
            self.c["bytes_in"] += up
            self.c["bytes_out"] += down
            if not ok:
                self.c["stream_bad"] += 1
        except Exception:
            self.c["stream_err"] += 1
        finally:
            writer.close()

    async def on_cb(self, reader, writer):
        try:
            w = (await reader.readline()).split()
            host, port, up, down = w[1].decode(), int(w[2]), int(w[3]), int(w[4])
            r2, w2 = await asyncio.open_connection(host, port)
            try:
                ok_down, ok_up = await asyncio.wait_for(
                    initiator(r2, w2, up, down, self.rng), OP_TIMEOUT)
            finally:
                w2.close()
            self.c["bind_streams"] += 1
            self.c["bytes_out"] += up
            self.c["bytes_in"] += down
            if not ok_down:
                self.c["bind_bad"] += 1
            writer.write(b"DONE %s %s\n" % (b"OK" if ok_down else b"BAD",
                                             b"OK" if ok_up else b"BAD"))
            await writer.drain()
        except Exception as e:
            self.c["bind_err"] += 1
            writer.write(b"ERR %s\n" % type(e).__name__.encode())
        finally:
            writer.close()

    def on_udp(self, data, addr, tr):
        if len(data) >= 45 and data[0:1] == b"U" and \
                hashlib.sha256(data[:-32]).digest() == data[-32:]:
            self.c["udp_ok"] += 1
            tr.sendto(data, addr)
        else:
            self.c["udp_bad"] += 1

    async def run(self):
        o = self.o
        loop = asyncio.get_running_loop()
        await asyncio.start_server(self.on_stream, o.addr, o.stream_port, backlog=512,
                                   reuse_address=True)
        await asyncio.start_server(self.on_cb, o.addr, o.cb_port, backlog=512,
                                   reuse_address=True)
        srv = self

        class Echo(asyncio.DatagramProtocol):
            def connection_made(self, transport):
                self.tr = transport

            def datagram_received(self, data, addr):
                srv.on_udp(data, addr, self.tr)

        tr, _ = await loop.create_datagram_endpoint(Echo, local_addr=(o.addr, o.udp_port))
        big_buffers(tr)
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        print("server ready %s" % o.addr, flush=True)
        await stop.wait()
        self.c["role"] = "server"
        self.c["addr"] = o.addr
        print(json.dumps(self.c, sort_keys=True), flush=True)


# ------------------------------------------------------------ client


class Client:
    def __init__(self, o):
        self.o = o
        host, _, port = o.proxy.rpartition(":")
        self.proxy = (host.strip("[]"), int(port))
        self.peers = [o.peer4, o.peer6]
        self.names = [n for n in o.names.split(",") if n]
        self.rng = random.Random(o.seed)
        self.c = {"sessions": 0, "connect": 0, "udp": 0, "bind": 0, "streams_checked": 0,
                  "hash_bad": 0, "bytes_up": 0, "bytes_down": 0, "udp_sent": 0,
                  "udp_back": 0, "udp_bad": 0, "errors": 0, "gss_integrity": 0,
                  "gss_confidentiality": 0, "by_target": {}}
        self.err_samples = []
        self.udp_started = 0
        self.deadline = 0.0
        self.mib_cap = o.max_mib * (1 << 20) if o.max_mib else 0

    def target_host(self):
        """A literal of either family or a name, with its family known or not."""
        r = self.rng.random()
        if r < 0.5 and self.names:
            return self.rng.choice(self.names)
        return self.rng.choice(self.peers)

    def pick_gss(self):
        """None (no authentication) or (service, level) for one operation."""
        if self.o.gss_share <= 0 or self.rng.random() >= self.o.gss_share:
            return None
        return (self.o.gss_service, self.rng.choice((1, 2)))

    def count_gss(self, gss):
        if gss is not None:
            self.c["gss_integrity" if gss[1] == 1 else "gss_confidentiality"] += 1

    def count_target(self, kind, host):
        k = "%s %s" % (kind, host)
        self.c["by_target"][k] = self.c["by_target"].get(k, 0) + 1

    def note_err(self, what, e):
        self.c["errors"] += 1
        if len(self.err_samples) < 10:
            self.err_samples.append("%s: %s: %s" % (what, type(e).__name__, e))

    async def op_connect(self):
        host = self.target_host()
        up, down = pick_size(self.rng), pick_size(self.rng)
        self.c["sessions"] += 1
        gss = self.pick_gss()
        reader, writer, _, _ = await socks_open(self.proxy, 1, host, self.o.stream_port, gss)
        try:
            ok_down, ok_up = await initiator(reader, writer, up, down, self.rng)
        finally:
            writer.close()
        self.c["connect"] += 1
        self.count_gss(gss)
        self.count_target("connect", host)
        self.c["streams_checked"] += 1
        self.c["bytes_up"] += up
        self.c["bytes_down"] += down
        if not (ok_down and ok_up):
            self.c["hash_bad"] += 1
            raise ValueError("digest mismatch (download %s, upload %s)" % (ok_down, ok_up))

    async def op_bind(self):
        peer = self.rng.choice(self.peers)
        up, down = pick_size(self.rng), pick_size(self.rng)
        self.c["sessions"] += 2
        # RFC 1928 section 4: DST of a BIND is the expected peer.
        gss = self.pick_gss()
        reader, writer, bnd, _ = await socks_open(self.proxy, 2, peer, 0, gss)
        try:
            cr, cw, _, _ = await socks_open(self.proxy, 1, peer, self.o.cb_port)
            try:
                cw.write(b"CB %s %d %d %d\n" % (bnd[0].encode(), bnd[1], up, down))
                second = await read_reply(reader)
                if second[0] != peer:
                    raise ValueError("BIND peer %s, want %s" % (second[0], peer))
                ok_up, _, _ = await responder(reader, writer, self.rng)
                # the initiator waits for our end of the stream
                writer.close()
                done = (await cr.readline()).split()
            finally:
                cw.close()
        finally:
            writer.close()
        self.c["bind"] += 1
        self.count_gss(gss)
        self.count_target("bind", peer)
        self.c["streams_checked"] += 1
        self.c["bytes_up"] += up
        self.c["bytes_down"] += down
        if done[:1] != [b"DONE"]:
            raise ValueError("BIND peer answered %r" % done)
        if not (ok_up and done[1] == b"OK" and done[2] == b"OK"):
            self.c["hash_bad"] += 1
            raise ValueError("digest mismatch (bind: %r, ours %s)" % (done, ok_up))

    async def op_udp(self):
        host = self.target_host()
        loop = asyncio.get_running_loop()
        fam = socket.AF_INET6 if ":" in self.proxy[0] else socket.AF_INET
        zero = "::" if fam == socket.AF_INET6 else "0.0.0.0"
        self.c["sessions"] += 1
        gss = self.pick_gss()
        reader, writer, relay, sec = await socks_open(self.proxy, 3, zero, 0, gss)
        tr = None
        try:
            tr, proto = await loop.create_datagram_endpoint(UdpQueue, family=fam,
                                                            remote_addr=relay)
            big_buffers(tr)
            nonce = os.urandom(8)
            n = self.rng.randrange(5, 40)
            hdr = udp_header(host, self.o.udp_port)
            want = {}
            for seq in range(n):
                body = nonce + struct.pack("!I", seq) + pool_chunk(
                    self.rng, self.rng.randrange(1, 1200))
                msg = b"U" + body
                msg += hashlib.sha256(msg).digest()
                want[seq] = msg
                if sec is None:
                    tr.sendto(hdr + msg)
                else:
                    # RFC 1961 section 6: the whole datagram, header included,
                    # is one wrapped message.
                    tr.sendto(gss_frame(GSS_DATA, sec[0].wrap(hdr + msg, sec[1]).message))
                self.c["udp_sent"] += 1
                self.c["bytes_up"] += len(msg)
                if seq % 8 == 7:
                    await asyncio.sleep(0.001)
            end = loop.time() + 2.0
            while want and loop.time() < end:
                try:
                    d = await asyncio.wait_for(proto.q.get(), end - loop.time())
                except asyncio.TimeoutError:
                    break
                if sec is not None:
                    if len(d) < 4 or d[:2] != bytes([GSS_VER, GSS_DATA]):
                        self.c["udp_bad"] += 1
                        continue
                    res = sec[0].unwrap(d[4:])
                    if res.encrypted != sec[1]:
                        self.c["udp_bad"] += 1
                        continue
                    d = res.message
                p = udp_strip(d)
                if p is None or len(p) < 45 or hashlib.sha256(p[:-32]).digest() != p[-32:]:
                    self.c["udp_bad"] += 1
                    continue
                if p[1:9] != nonce:
                    continue
                seq = struct.unpack("!I", p[9:13])[0]
                if want.pop(seq, None) == p:
                    self.c["udp_back"] += 1
                    self.c["bytes_down"] += len(p)
        finally:
            if tr is not None:
                tr.close()
            writer.close()
        self.c["udp"] += 1
        self.count_gss(gss)
        self.count_target("udp", host)

    async def worker(self):
        ops = (self.op_connect, self.op_udp, self.op_bind)
        weights = [float(x) for x in self.o.mix.split(",")]
        while time.monotonic() < self.deadline and self.c["sessions"] < self.o.max_sessions:
            if self.mib_cap and self.c["bytes_up"] + self.c["bytes_down"] > self.mib_cap:
                break
            op = self.rng.choices(ops, weights)[0]
            if op == self.op_udp and self.o.max_udp and self.udp_started >= self.o.max_udp:
                op = self.op_connect
            if op == self.op_udp:
                self.udp_started += 1
            try:
                await asyncio.wait_for(op(), OP_TIMEOUT)
            except Exception as e:
                self.note_err(op.__name__[3:], e)

    async def run(self):
        t0 = time.monotonic()
        self.deadline = t0 + self.o.seconds
        await asyncio.gather(*(self.worker() for _ in range(self.o.conc)))
        self.c["secs"] = round(time.monotonic() - t0, 2)
        self.c["role"] = "client"
        self.c["proxy"] = self.o.proxy
        self.c["error_samples"] = self.err_samples
        print(json.dumps(self.c, sort_keys=True), flush=True)
        return 1 if self.c["errors"] or self.c["hash_bad"] or self.c["udp_bad"] else 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("server")
    s.add_argument("--addr", required=True)
    c = sub.add_parser("client")
    c.add_argument("--proxy", required=True)
    c.add_argument("--peer4", required=True)
    c.add_argument("--peer6", required=True)
    c.add_argument("--names", default="")
    c.add_argument("--seconds", type=float, default=120)
    c.add_argument("--max-sessions", type=int, default=100000)
    c.add_argument("--max-mib", type=int, default=0, help="stop after this much data")
    c.add_argument("--conc", type=int, default=16)
    c.add_argument("--max-udp", type=int, default=0,
                   help="at most this many UDP associations (0: no limit)")
    c.add_argument("--mix", default="70,15,15", help="weights of CONNECT, UDP, BIND")
    c.add_argument("--seed", type=int, default=None)
    c.add_argument("--gss-share", type=float, default=0.0,
                   help="share of operations authenticated with GSSAPI (0-1)")
    c.add_argument("--gss-service", default="rcmd@localhost",
                   help="the gateway's service, SERVICE@HOST")
    for p in (s, c):
        p.add_argument("--stream-port", type=int, default=7000)
        p.add_argument("--cb-port", type=int, default=7001)
        p.add_argument("--udp-port", type=int, default=7002)
    o = ap.parse_args()
    if o.cmd == "client" and o.gss_share > 0 and gssapi is None:
        ap.error("--gss-share needs python3-gssapi")
    if o.cmd == "server":
        asyncio.run(Server(o).run())
        return 0
    return asyncio.run(Client(o).run())


if __name__ == "__main__":
    sys.exit(main())
