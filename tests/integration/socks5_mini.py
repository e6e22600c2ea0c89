"""The server side of a SOCKS5 handshake (RFC 1928, method "no
authentication" only), blocking, for the small test gateways that stand in
for socks64d (shim_resolve_gw.py, shim_slow_gw.py)."""
import socket
import struct


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def accept_request(s):
    """Read the greeting (answering it) and the request.  Returns (cmd,
    host, port) -- host is the name or the literal's text -- or None when
    the client offered no acceptable method (refused with X'FF')."""
    ver, nmethods = recv_exact(s, 2)
    methods = recv_exact(s, nmethods)
    if ver != 5 or 0 not in methods:
        s.sendall(b"\x05\xff")
        return None
    s.sendall(b"\x05\x00")
    _, cmd, _, atyp = recv_exact(s, 4)
    if atyp == 3:
        host = recv_exact(s, recv_exact(s, 1)[0]).decode("ascii", "replace")
    elif atyp == 1:
        host = socket.inet_ntop(socket.AF_INET, recv_exact(s, 4))
    else:
        host = socket.inet_ntop(socket.AF_INET6, recv_exact(s, 16))
    (port,) = struct.unpack("!H", recv_exact(s, 2))
    return cmd, host, port


def send_reply(s, rep):
    """A reply with BND 127.0.0.1:0."""
    s.sendall(struct.pack("!BBBB4sH", 5, rep, 0, 1, socket.inet_aton("127.0.0.1"), 0))
