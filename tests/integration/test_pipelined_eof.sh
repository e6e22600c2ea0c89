#!/usr/bin/env bash
# A client that sends greeting, request, data and its FIN in one go (e.g.
# `printf ... | nc -N`): the FIN arrives with the handshake bytes, before
# relaying starts, and makes no new edge for the edge-triggered loop.  The
# gateway must still carry it to the destination, which here answers only
# after EOF.  (Regression: the FIN was lost and the session hung until the
# idle timeout.)
. "$(dirname "$0")/../lib.sh"
t_init
if ! t_is_socks64d; then
	t_skip "pipelined EOF" "needs socks64d"
	t_finish
fi
GWP=$(t_free_port) || exit 1
cat >"$T_TMP/gw.conf" <<EOF
listen 127.0.0.1:$GWP
workers 1
log-level info
EOF
t_gw_start "" "$T_TMP/gw.conf" "$T_TMP/gw.log" || exit 1
out=$("$PYTHON" - "$GWP" <<'EOF'
import socket, sys, threading
gw = int(sys.argv[1])
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(32)
port = srv.getsockname()[1]
def serve():
    while True:
        c, _ = srv.accept()
        data = b""
        while True:
            d = c.recv(65536)
            if not d:
                break
            data += d
        c.sendall(b"got:" + data)
        c.close()
threading.Thread(target=serve, daemon=True).start()
ok = 0
for i in range(20):
    c = socket.create_connection(("127.0.0.1", gw))
    c.sendall(b"\x05\x01\x00" + b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1")
              + port.to_bytes(2, "big") + b"hello%d" % i)
    c.shutdown(socket.SHUT_WR)
    c.settimeout(5)
    data = b""
    try:
        while True:
            d = c.recv(4096)
            if not d:
                break
            data += d
    except socket.timeout:
        pass
    if data.endswith(b"got:hello%d" % i):
        ok += 1
    c.close()
print(ok)
EOF
)
if [ "$out" = 20 ]; then
	t_pass "greeting+request+data+FIN in one go: EOF carried, 20 of 20 answered"
else
	t_fail "pipelined EOF" "$out of 20 answered"
fi
t_gw_stop "socks64d exits cleanly"
t_finish
