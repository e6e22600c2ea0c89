#!/bin/bash
# make demo: the one-command tour.  Builds nothing itself (make does that
# first); creates the reference topology in network namespaces, starts a DNS
# server, two web servers and socks64d, and shows an IPv4-only host fetching
# an IPv6-only site by name through the gateway (and the reverse) -- first
# with curl speaking SOCKS5 itself, then with unmodified curl under the
# socks64 wrapper -- with the gateway's own log lines.  Everything it starts
# is stopped and every namespace deleted on exit.  Needs root (namespaces);
# takes a few seconds; exits 0 when every step worked.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "make demo needs root: it builds its small network out of Linux network" >&2
	echo "namespaces (ip netns), which only root can create.  Run it as root," >&2
	echo "e.g. 'sudo make demo'.  Nothing was changed." >&2
	exit 1
fi
SOCKS64=client-shim/socks64 # relative: the commands are shown as typed
cd "$T_ROOT" || exit 1
for f in "$SOCKS64D" client-shim/libsocks64.so; do
	if [ ! -e "$f" ]; then
		echo "demo: $f is not built; run 'make demo' (it builds first)" >&2
		exit 1
	fi
done
for c in ip curl dnsmasq "$PYTHON"; do
	if ! command -v "$c" >/dev/null 2>&1; then
		echo "demo: '$c' is missing; 'make demo' installs what is missing (make deps)" >&2
		exit 1
	fi
done

t_init
t_on_exit ns_cleanup
FAILED=0
START=$(date +%s)

say() {
	printf '%s\n' "$*"
}

step() {
	printf '\n== %s\n' "$*"
}

bad() {
	FAILED=$((FAILED + 1))
	say "   !! $*"
}

# show NS CMD...: print the command as typed on host NS, run it there with
# its output indented; the exit status is the command's.
show() {
	local ns=$1 host=$2 rc
	shift 2
	printf '   %s# %s\n' "$host" "$*"
	ip netns exec "$ns" "$@" 2>&1 | sed 's/^/     /'
	rc=${PIPESTATUS[0]}
	return "$rc"
}

GWLOG=$T_TMP/socks64d.log
LOGSEEN=0

# new_log_lines: the gateway's session lines logged since the last call.
new_log_lines() {
	local n
	sleep 0.2 # a session's line is written when it closes
	n=$(grep -c 'session=' "$GWLOG")
	if [ "$n" -gt "$LOGSEEN" ]; then
		say "   socks64d logged:"
		grep 'session=' "$GWLOG" | tail -n $((n - LOGSEEN)) |
			sed -e 's/^[^ ]* info: /     /'
	fi
	LOGSEEN=$n
}

step "socks64 demo: IPv4-only and IPv6-only hosts reach each other's web sites by name"
say "Building a small network out of Linux network namespaces (deleted at the end):"
say ""
say "  lan4 (IPv4 only)   198.51.100.10 ---.    .--- 2001:db8:6::80  wan6 (IPv6 only): www.v6.test"
say "                                      gw (socks64d, dnsmasq)"
say "  lan6 (IPv6 only)  2001:db8:1::10 ---'    '--- 203.0.113.80    wan4 (IPv4 only): www.v4.test"
say ""
say "The gateway 'gw' has both families but does not route: the LAN hosts reach"
say "the servers only through socks64d (198.51.100.1:1080, [2001:db8:1::1]:1080)."
if ! ns_topology; then
	bad "could not build the namespaces"
	exit 1
fi

mkdir -p "$T_TMP/wan6" "$T_TMP/wan4"
echo "Hello from www.v6.test, served over IPv6 only by 2001:db8:6::80" >"$T_TMP/wan6/index.html"
echo "Hello from www.v4.test, served over IPv4 only by 203.0.113.80" >"$T_TMP/wan4/index.html"
t_dnsmasq "$NS_GW" 53 127.0.0.1 203.0.113.80 2001:db8:6::80 >/dev/null 2>&1 ||
	bad "dnsmasq did not start"
t_httpd "$NS_WAN6" 2001:db8:6::80 80 "$T_TMP/wan6" >/dev/null 2>&1 ||
	bad "the web server on wan6 did not start"
t_httpd "$NS_WAN4" 203.0.113.80 80 "$T_TMP/wan4" >/dev/null 2>&1 ||
	bad "the web server on wan4 did not start"
cat >"$T_TMP/socks64d.conf" <<EOF
listen 198.51.100.1:1080
listen [2001:db8:1::1]:1080
workers 1
nameserver 127.0.0.1:53
log-level info
pass from 198.51.100.0/24 to any
pass from 2001:db8:1::/64 to any
block
EOF
if ! t_gw_start "$NS_GW" "$T_TMP/socks64d.conf" "$GWLOG" 2>/dev/null; then
	bad "socks64d did not start:"
	sed 's/^/     /' "$GWLOG"
	exit 1
fi
say "Started: dnsmasq in gw (www.v6.test has only an AAAA record, www.v4.test"
say "only an A record), a web server on wan6 and on wan4, and socks64d in gw with:"
sed -e 's/^/     /' "$T_TMP/socks64d.conf"

step "Without the gateway, lan4 has no way to the IPv6-only server"
if show "$NS_LAN4" lan4 curl -sS --max-time 3 -g "http://[2001:db8:6::80]/"; then
	bad "lan4 reached the server directly: the topology is not what it claims"
else
	say "   (expected: lan4 has no IPv6 at all)"
fi

step "lan4 (IPv4 only) -> http://www.v6.test/ with curl's own SOCKS5 support"
say "   curl hands the *name* to the gateway; socks64d resolves it (AAAA only),"
say "   connects over IPv6 and relays the bytes."
out=$(show "$NS_LAN4" lan4 curl -sS --max-time 10 --socks5-hostname 198.51.100.1:1080 \
	http://www.v6.test/)
say "$out"
case $out in *"Hello from www.v6.test"*) ;; *) bad "that did not fetch the page" ;; esac
new_log_lines

step "lan4 (IPv4 only) -> http://www.v6.test/ with unmodified curl under socks64"
say "   The socks64 wrapper preloads the client shim: the program's name lookup"
say "   gets a placeholder address, and its connect() to that address goes to the"
say "   gateway as a SOCKS5 CONNECT carrying the name (RFC 3089)."
export XDG_RUNTIME_DIR=$T_TMP/run XDG_CONFIG_HOME=$T_TMP/config
mkdir -m 0700 "$XDG_RUNTIME_DIR"
unset SOCKS64_CONF SOCKS64_GATEWAY SOCKS64_VERBOSE
out=$(show "$NS_LAN4" lan4 "$SOCKS64" -g 198.51.100.1:1080 getent ahostsv4 www.v6.test)
say "$out"
case $out in *www.v6.test*) ;; *) bad "the shim gave no IPv4 address for www.v6.test" ;; esac
out=$(show "$NS_LAN4" lan4 "$SOCKS64" -g 198.51.100.1:1080 curl -sS --max-time 10 \
	http://www.v6.test/)
say "$out"
case $out in *"Hello from www.v6.test"*) ;; *) bad "that did not fetch the page" ;; esac
new_log_lines

step "The reverse: lan6 (IPv6 only) -> http://www.v4.test/ (IPv4 only)"
out=$(show "$NS_LAN6" lan6 curl -sS --max-time 10 --socks5-hostname "[2001:db8:1::1]:1080" \
	http://www.v4.test/)
say "$out"
case $out in *"Hello from www.v4.test"*) ;; *) bad "that did not fetch the page" ;; esac
out=$(show "$NS_LAN6" lan6 "$SOCKS64" -g "[2001:db8:1::1]:1080" curl -sS --max-time 10 \
	http://www.v4.test/)
say "$out"
case $out in *"Hello from www.v4.test"*) ;; *) bad "that did not fetch the page" ;; esac
new_log_lines

step "Cleaning up"
kill -TERM "$(t_gw_pid)" 2>/dev/null
for _ in $(seq 1 60); do
	kill -0 "$(t_gw_pid)" 2>/dev/null || break
	sleep 0.1
done
grep -E 'notice: (signal|stats|socks64d stopped)' "$GWLOG" | sed -e 's/^[^ ]* notice: /   socks64d: /'
say "   Stopping dnsmasq and the web servers, deleting the namespaces."
say ""
if [ "$FAILED" -eq 0 ]; then
	say "Demo done in $(($(date +%s) - START)) s: every step worked."
	say "Next: README.md (configuration), docs/guide-ipv4-lan-to-ipv6.md (a real LAN)."
	exit 0
fi
say "Demo finished with $FAILED failed step(s); the log lines above say where."
exit 1
