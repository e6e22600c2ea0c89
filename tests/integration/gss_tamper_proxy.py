#!/usr/bin/env python3
"""A TCP proxy between a GSSAPI SOCKS5 client and the gateway that tampers
with one RFC 1961 data message (mtyp 3) on its way to the gateway.

The client -> gateway direction is parsed: the SOCKS5 greeting, then RFC 1961
messages (01 MTYP LEN(2) TOKEN, or the abort 01 ff).  Data messages are
counted from 1 (the first one carries the SOCKS request); the Kth one gets
one byte of its token flipped (--flip K) or is sent twice (--replay K).
Everything else, and the whole gateway -> client direction, passes as is.
Serves connections one after another until killed; prints one line per
tampering on stdout.

    gss_tamper_proxy.py --listen PORT --gateway HOST:PORT (--flip K | --replay K)
"""
import argparse
import socket
import sys
import threading


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def pump_raw(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def pump_client(src, dst, args):
    """Client -> gateway: greeting, then message by message."""
    data_msgs = 0
    try:
        head = recv_exact(src, 2)
        dst.sendall(head + recv_exact(src, head[1]))
        while True:
            hdr = recv_exact(src, 2)
            if hdr[1] == 0xFF:
                dst.sendall(hdr)
                continue
            hdr += recv_exact(src, 2)
            token = bytearray(recv_exact(src, (hdr[2] << 8) | hdr[3]))
            if hdr[1] == 3:
                data_msgs += 1
                if data_msgs == args.flip:
                    token[len(token) // 2] ^= 0x01
                    print("proxy: flipped a byte in data message %d" % data_msgs, flush=True)
            dst.sendall(hdr + bytes(token))
            if hdr[1] == 3 and data_msgs == args.replay:
                dst.sendall(hdr + bytes(token))
                print("proxy: sent data message %d twice" % data_msgs, flush=True)
    except (EOFError, OSError):
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--gateway", required=True)
    ap.add_argument("--flip", type=int, default=0)
    ap.add_argument("--replay", type=int, default=0)
    args = ap.parse_args()
    host, port = args.gateway.rsplit(":", 1)
    lsock = socket.socket(socket.AF_INET)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", args.listen))
    lsock.listen(8)
    while True:
        client, _ = lsock.accept()
        gw = socket.create_connection((host, int(port)), timeout=10)
        gw.settimeout(None)
        up = threading.Thread(target=pump_client, args=(client, gw, args), daemon=True)
        down = threading.Thread(target=pump_raw, args=(gw, client), daemon=True)
        up.start()
        down.start()
        up.join()
        down.join()
        client.close()
        gw.close()


if __name__ == "__main__":
    sys.exit(main())
