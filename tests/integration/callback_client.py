#!/usr/bin/env python3
"""Client of callback_server.py: connect to HOST PORT, listen on the
wildcard address port 0, announce the port, accept the server's connection
back and print its line, then "peer-ok" when accept() named the host we
connected to (by getpeername), else the two addresses.

usage: callback_client.py HOST PORT [--libc-accept]
  --libc-accept  accept with libc's accept() through ctypes (Dante's client
                 library does not wrap accept4(), which python uses)
"""
import ctypes
import socket
import sys


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    ai = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
    c = socket.socket(ai[0], socket.SOCK_STREAM)
    c.connect(ai[4])  # blocking: the shim's synchronous path
    c.settimeout(20)
    ls = socket.socket(ai[0], socket.SOCK_STREAM)
    ls.bind(("", 0))
    ls.listen(1)
    c.sendall(b"PORT %d\n" % ls.getsockname()[1])
    if "--libc-accept" in sys.argv:
        libc = ctypes.CDLL(None, use_errno=True)
        sa = ctypes.create_string_buffer(128)
        salen = ctypes.c_uint32(128)  # Dante's accept() needs both
        fd = libc.accept(ls.fileno(), sa, ctypes.byref(salen))
        if fd < 0:
            raise OSError(ctypes.get_errno(), "accept")
        a = socket.socket(fileno=fd)
        peer = a.getpeername()
    else:
        ls.settimeout(20)
        a, peer = ls.accept()
    a.settimeout(20)
    line = a.makefile("rb").readline().decode().strip()
    ok = peer[0] == c.getpeername()[0]
    print(line, "peer-ok" if ok else "peer %s, connected to %s" % (peer[0], c.getpeername()[0]))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:
        print("fail: %s: %s" % (type(e).__name__, e))
