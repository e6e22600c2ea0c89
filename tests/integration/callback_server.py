#!/usr/bin/env python3
"""A TCP service that connects back, for BIND tests: each client sends
"PORT n\\n" on its connection; the server connects to the address that
connection came from, port n (as rsh does for its stderr channel: only the
port travels in the protocol), and sends one line there naming itself.

usage: callback_server.py ADDR PORT
"""
import socket
import sys
import threading


def serve(conn, peer, me):
    try:
        conn.settimeout(20)
        line = b""
        while not line.endswith(b"\n") and len(line) < 100:
            d = conn.recv(100)
            if not d:
                return
            line += d
        port = int(line.split()[1])
        back = socket.create_connection((peer[0], port), timeout=20)
        back.sendall(b"callback from %s\n" % me.encode())
        back.close()
        conn.sendall(b"done\n")
    except (OSError, ValueError, IndexError) as e:
        print("error:", e, file=sys.stderr, flush=True)
    finally:
        conn.close()


def main():
    addr, port = sys.argv[1], int(sys.argv[2])
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(8)
    while True:
        conn, peer = s.accept()
        print("client", peer[0], flush=True)
        threading.Thread(target=serve, args=(conn, peer, addr), daemon=True).start()


if __name__ == "__main__":
    main()
