#!/usr/bin/env python3
"""FTP in active mode (PORT/EPRT, the server connects back) for the shim's
BIND tests.

  shim_ftp.py serve ADDR PORT DIR   pyftpdlib, anonymous, read-only DIR
  shim_ftp.py get HOST PORT FILE [4|6]
                                    python's ftplib with set_pasv(False);
                                    prints the file's SHA-256 (family 6:
                                    connect to HOST's IPv6 address)

pyftpdlib is Debian's python3-pyftpdlib: run the server with /usr/bin/python3.
"""
import hashlib
import socket
import sys


def serve(addr, port, root):
    import logging
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer

    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    auth = DummyAuthorizer()
    auth.add_anonymous(root)

    class Handler(FTPHandler):
        authorizer = auth
        timeout = 60

    FTPServer((addr, port), Handler).serve_forever(timeout=1)


def get(host, port, name, fam):
    import ftplib

    if fam == "6":
        host = socket.getaddrinfo(host, port, socket.AF_INET6, socket.SOCK_STREAM)[0][4][0]
    h = hashlib.sha256()
    f = ftplib.FTP()
    f.connect(host, port)
    f.sock.settimeout(20)
    f.timeout = 20  # the data listener gets it too
    f.login()
    f.set_pasv(False)
    f.retrbinary("RETR " + name, h.update)
    f.quit()
    print(h.hexdigest())


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        get(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5] if len(sys.argv) > 5 else "4")
