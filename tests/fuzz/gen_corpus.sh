#!/bin/sh
# Regenerate the seed corpora in tests/fuzz/corpus/TARGET/: small valid
# messages of every kind plus a few malformed ones, one file each, named
# after what they hold.  The files are committed; run this after changing
# a format, then review the diff.  Needs python3.
set -eu
cd "$(dirname "$0")"
rm -rf corpus
exec python3 - <<'PY'
import hashlib, os, struct

def put(target, name, data):
    d = os.path.join("corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def v4(s):
    return bytes(int(x) for x in s.split("."))

V6 = bytes.fromhex("20010db8000600000000000000000080")
V6MAPPED = bytes(10) + b"\xff\xff" + v4("198.51.100.7")

def addr(atyp, a, port):
    if atyp == 3:
        return bytes([3, len(a)]) + a + struct.pack(">H", port)
    return bytes([atyp]) + a + struct.pack(">H", port)

ADDRS = {
    "ipv4": addr(1, v4("203.0.113.80"), 80),
    "ipv6": addr(4, V6, 443),
    "ipv6_mapped": addr(4, V6MAPPED, 22),
    "name": addr(3, b"www.example.org", 443),
    "name_dot": addr(3, b"www.example.org.", 80),
    "name_literal4": addr(3, b"198.51.100.1", 8080),
    "name_literal6": addr(3, b"[2001:db8::1]", 8080),
    "name_long": addr(3, b"a" * 63 + b"." + b"b" * 63 + b"." + b"c" * 63 + b"." + b"d" * 61, 1),
}

# SOCKS5 greeting (RFC 1928 §3)
put("socks5_greeting", "none", b"\x05\x01\x00")
put("socks5_greeting", "none_username", b"\x05\x02\x00\x02")
put("socks5_greeting", "gssapi_username_none", b"\x05\x03\x01\x02\x00")
put("socks5_greeting", "all_methods", b"\x05\xff" + bytes(range(255)))
put("socks5_greeting", "bad_nmethods0", b"\x05\x00")
put("socks5_greeting", "bad_socks4", b"\x04\x01\x00\x50")
put("socks5_greeting", "short", b"\x05\x03\x00")

# SOCKS5 request / reply (§4, §6)
for cmd, cname in ((1, "connect"), (2, "bind"), (3, "udp"), (0xF0, "resolve")):
    for an, a in ADDRS.items():
        if cname != "connect" and an not in ("ipv4", "name"):
            continue
        put("socks5_request", f"{cname}_{an}", bytes([5, cmd, 0]) + a)
put("socks5_request", "unknown_cmd", b"\x05\x09\x00" + ADDRS["ipv4"])
put("socks5_request", "bad_atyp", b"\x05\x01\x00\x05\x00\x00\x00\x00\x00\x50")
put("socks5_request", "bad_rsv", b"\x05\x01\x01" + ADDRS["ipv4"])
put("socks5_request", "bad_empty_name", b"\x05\x01\x00\x03\x00\x00\x50")
put("socks5_request", "bad_name_nul", b"\x05\x01\x00" + addr(3, b"a\x00b", 80))
put("socks5_request", "partial", b"\x05\x01\x00\x03\x0fwww.exa")
for rep in range(9):
    put("socks5_reply", f"rep{rep}_ipv4", bytes([5, rep, 0]) + ADDRS["ipv4"])
for an in ("ipv6", "ipv6_mapped", "name", "name_literal6"):
    put("socks5_reply", f"rep0_{an}", b"\x05\x00\x00" + ADDRS[an])
put("socks5_reply", "bad_version", b"\x04\x00\x00" + ADDRS["ipv4"])
put("socks5_reply", "partial", b"\x05\x00\x00\x04" + V6[:7])

# SOCKS5 UDP header (§7)
for an in ("ipv4", "ipv6", "ipv6_mapped", "name", "name_literal4"):
    put("socks5_udp", f"frag0_{an}", b"\x00\x00\x00" + ADDRS[an] + b"payload")
put("socks5_udp", "frag1_ipv4", b"\x00\x00\x01" + ADDRS["ipv4"] + b"x")
put("socks5_udp", "empty_payload", b"\x00\x00\x00" + ADDRS["ipv4"])
put("socks5_udp", "bad_rsv", b"\x00\x01\x00" + ADDRS["ipv4"])
put("socks5_udp", "bad_truncated", b"\x00\x00\x00\x04" + V6[:9])

# SOCKS4 / 4a
def s4req(cmd, port, ip, uid=b"", host=None):
    m = bytes([4, cmd]) + struct.pack(">H", port) + ip + uid + b"\x00"
    if host is not None:
        m += host + b"\x00"
    return m
put("socks4_request", "connect", s4req(1, 80, v4("203.0.113.80")))
put("socks4_request", "connect_userid", s4req(1, 80, v4("203.0.113.80"), b"alice"))
put("socks4_request", "bind", s4req(2, 2121, v4("203.0.113.80"), b"bob"))
put("socks4_request", "4a_name", s4req(1, 443, b"\x00\x00\x00\x01", b"", b"www.example.org"))
put("socks4_request", "4a_name_userid", s4req(1, 443, b"\x00\x00\x00\xff", b"u", b"Example.ORG."))
put("socks4_request", "4a_literal6", s4req(1, 22, b"\x00\x00\x00\x01", b"", b"2001:db8::1"))
put("socks4_request", "dstip_zero", s4req(1, 80, b"\x00\x00\x00\x00"))
put("socks4_request", "long_userid", s4req(1, 80, v4("198.51.100.1"), b"u" * 255))
put("socks4_request", "bad_userid_no_nul", b"\x04\x01\x00\x50" + v4("198.51.100.1") + b"u" * 256)
put("socks4_request", "bad_4a_empty_host", s4req(1, 80, b"\x00\x00\x00\x01", b"", b""))
put("socks4_request", "bad_version", b"\x05\x01\x00\x50" + v4("198.51.100.1") + b"\x00")
for cd in (90, 91, 92, 93):
    put("socks4_reply", f"cd{cd}", bytes([0, cd]) + struct.pack(">H", 1080) + v4("198.51.100.1"))
put("socks4_reply", "bad_version4", b"\x04\x5a\x00\x00\x00\x00\x00\x00")
put("socks4_reply", "partial", b"\x00\x5a\x00")

# RFC 1929
def upreq(u, p):
    return bytes([1, len(u)]) + u + bytes([len(p)]) + p
put("auth_pass_request", "alice", upreq(b"alice", b"secret"))
put("auth_pass_request", "empty_fields", upreq(b"", b""))
put("auth_pass_request", "max_fields", upreq(b"u" * 255, b"p" * 255))
put("auth_pass_request", "bad_version5", b"\x05" + upreq(b"a", b"b")[1:])
put("auth_pass_request", "bad_nul_in_name", upreq(b"al\x00ce", b"x"))
put("auth_pass_request", "partial", upreq(b"alice", b"secret")[:8])
put("auth_pass_reply", "ok", b"\x01\x00")
put("auth_pass_reply", "fail", b"\x01\x01")
put("auth_pass_reply", "bad_version5", b"\x05\x00")

# RFC 1961 framing: byte 0 = expected MTYP (auth/level/data) and token
# limit, byte 1 = read size for the deframer, then the stream
def gss(mtyp, tok):
    return bytes([1, mtyp]) + struct.pack(">H", len(tok)) + tok
put("gss_frame", "auth_token", b"\x0c\x10" + gss(1, b"\x60\x82" + bytes(range(40))))
put("gss_frame", "auth_empty_then_abort", b"\x0c\x00" + gss(1, b"") + b"\x01\xff")
put("gss_frame", "level", b"\x0d\x01" + gss(2, b"\x01" * 28))
put("gss_frame", "data_stream", b"\x0e\x07" + gss(3, b"a" * 30) + gss(3, b"b" * 5) + gss(3, b"")
    + gss(3, b"c" * 100)[:50])
put("gss_frame", "data_then_wrong_mtyp", b"\x0e\x20" + gss(3, b"x" * 8) + gss(1, b"y"))
put("gss_frame", "abort", b"\x00\x00\x01\xff")
put("gss_frame", "too_long_for_limit", b"\x08\x00" + gss(3, b"z" * 65))
put("gss_frame", "bad_version", b"\x0e\x00\x05\x03\x00\x00")
put("gss_frame", "bad_mtyp", b"\x0e\x00\x01\x04\x00\x00")

# users file: syntactically valid hashes of each accepted kind (not real
# passwords: the loader only checks the setting).
HASHES = {
    "y": "$y$j9T$ZmFrZXNhbHQ$zKgoO8TmbqUeDbzZ7X0GWE/ZJjSJ4jEGy3b2bn6Y7x5",
    "6": "$6$fakesalt$" + "a" * 86,
    "5": "$5$rounds=5000$fakesalt$" + "b" * 43,
    "2b": "$2b$05$" + "c" * 53,
}
put("auth_users", "one_yescrypt", f"alice:{HASHES['y']}\n")
put("auth_users", "kinds", "".join(f"user{k}:{h}\n" for k, h in HASHES.items()))
put("auth_users", "comments_blank", f"# users\n\n   \nalice:{HASHES['6']}\r\n  # x\n")
put("auth_users", "no_final_newline", f"bob:{HASHES['5']}")
put("auth_users", "empty", "")
put("auth_users", "bad_md5", "alice:$1$salt$hash\n")
put("auth_users", "bad_plain", "alice:secret\n")
put("auth_users", "bad_duplicate", f"a:{HASHES['6']}\na:{HASHES['6']}\n")
put("auth_users", "bad_no_colon", "alice\n")
put("auth_users", "bad_blank_in_name", f"al ice:{HASHES['6']}\n")

# socks_addr_set_name
for n in ("www.example.org", "www.example.org.", "EXAMPLE.org", "198.51.100.1",
          "198.51.100.1.", "2001:db8::1", "[2001:db8::1]", "::ffff:198.51.100.7",
          "[::ffff:0.0.0.1]", "0.0.0.1", "1.2.3", "0x7f.1", "localhost", ".", "",
          "[198.51.100.1]", "a b", "x" * 255, "x" * 256):
    put("socks_addr", "n_" + hashlib.sha1(n.encode()).hexdigest()[:10], n)

# gateway configuration
with open("../../conf/socks64d.conf") as f:
    put("conf", "example", f.read())
put("conf", "empty", "")
put("conf", "minimal", "listen 127.0.0.1:1080\nauth none\npass from 127.0.0.1 to any\n")
put("conf", "username", "auth username none\nusers-file /etc/socks64/users\n"
    "pass from any user alice,bob method username\nblock\n")
put("conf", "all_keys",
    "listen [::1]:1080\nlisten lo:1081\nworkers 2\nnameserver 198.51.100.53:5353\n"
    "nameserver [2001:db8::53]\nprefer none\nhandshake-timeout 250ms\n"
    "connect-timeout 1m\nidle-timeout 0\nbind-timeout 2m\nattempt-delay 10ms\n"
    "resolution-delay 0\ndns-timeout 100ms\ndns-tries 10\ndns-cache-size 0\n"
    "dns-cache-max-ttl 168h\ndns-negative-ttl 1h\nmax-sessions 1\n"
    "max-sessions-per-client 5\nmax-sessions-per-user 0\nlog-level debug\n"
    "allow-resolve on\n")
put("conf", "rules",
    "pass from 198.51.100.0/24,2001:db8:1::/48 to *.example.org,203.0.113.0/24 "
    "port 80,443,1024-65535 command connect,bind,udp,resolve version 4,5\n"
    "block from any to 2001:db8::/32 method none,username,gssapi\n"
    "pass to \"www.example.org\" # quoted\n")
put("conf", "bad_quote", "auth \"none\n")
put("conf", "bad_duplicate", "workers 1\nworkers 2\n")
put("conf", "bad_listen", "listen 2001:db8::1:1080\n")
put("conf", "bad_users_missing", "auth username\nusers-file /nonexistent/missing\n")

# shim configuration
put("shim_conf", "example",
    "# socks64.conf\ngateway 127.0.0.1:1080\ngateway [::1]:1080\nauth none\n"
    "resolve remote\nbypass 198.51.100.0/24 2001:db8:1::/48 .lan localhost\n"
    "synth-ipv4 0.0.0.0/8\nsynth-ipv6 100::/64\nsynth-size 4096\n"
    "verify-names no\nquarantine 10m\nconnect-timeout 60s\n")
put("shim_conf", "auto", "resolve auto\ngateway 198.51.100.1\nsynth-ipv4 10.64.0.0/30\n"
    "synth-ipv6 2001:db8:64::/126\nsynth-size 1\nquarantine 0\nverify-names yes\n")
put("shim_conf", "env_gateways", "198.51.100.1:1080,[2001:db8::1]:1080 203.0.113.1")
put("shim_conf", "bad_pool", "synth-ipv4 10.0.0.1/8\n")
put("shim_conf", "bad_key", "proxy 127.0.0.1\n")
put("shim_conf", "bad_gateway", "gateway 2001:db8::1:1080\n")

# synth table: mode byte, then either a raw region or table choice + patches
put("synth_table_check", "raw_empty", b"\x00")
put("synth_table_check", "template_clean", b"\x07\x06\x10\x02\x05\x08")
put("synth_table_check", "template_patched_sealed",
    b"\x03\x01\x05\x01\x09\x04" + b"\x48\x00\x01" + b"\x60\x00\x40" + b"\x10\x01\xff")
put("synth_table_check", "template_patched_unsealed",
    b"\x05\x02\x08\x00\x01\x06" + b"\x00\x00\x01" + b"\x44\x00\x02")
# synth ops: pool/capacity/quarantine/seed, then opcodes
def name_op(op, n):
    return bytes([op, len(n)]) + n
ops = bytes([2, 3, 2, 7])
for i, n in enumerate((b"www.example.org", b"WWW.Example.ORG.", b"a.test", b"b.test",
                       b"c.test", b"d.test")):
    ops += name_op(0, n) + bytes([5 + 8 * (i % 3)])
ops += name_op(1, b"a.test") + b"\x02\x01\x03\x00\x01\x04" + name_op(0, b"bad name")
put("synth_table_ops", "mixed", ops)
put("synth_table_ops", "fill_and_recycle",
    bytes([4, 0, 0, 1]) + b"".join(name_op(0, b"h%d" % i) + b"\x0d" for i in range(20)))
PY
