#!/bin/bash
# Listeners that follow the interfaces (issue: router appliance).  In a
# gateway namespace: `listen lan0:1080` accepts on every address lan0 has
# and gains or loses listeners as addresses are added and removed (IPv6 only
# once duplicate address detection is done); a literal `listen` address that
# is not on the host yet does not stop the daemon and is listened on once it
# appears; `listen-freebind` binds such an address at once; a `listen` line
# added by SIGHUP takes effect without a restart.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
ns_require "netns listen-follow scenario"
if ! t_is_socks64d; then
	t_skip "listen follow" "needs socks64d"
	t_finish
fi
GW="${NS_PREFIX}-gw"
CL="${NS_PREFIX}-cl"
ns_add "$GW" && ns_add "$CL" && ns_link "$GW" lan0 "$CL" eth0 &&
	ns_addr "$GW" lan0 198.51.100.1/24 && ns_addr "$CL" eth0 198.51.100.10/24 &&
	ns_addr "$GW" lan0 2001:db8:1::1/64 && ns_addr "$CL" eth0 2001:db8:1::10/64 || {
	t_fail "build the namespaces"
	t_finish
}

listening() { # ADDR PORT: is socks64d listening there (inside gw)?
	local want=$1:$2
	case $1 in *:*) want="[$1]:$2" ;; esac
	ip netns exec "$GW" ss -Hltn "sport = :$2" | awk '{print $4}' | grep -qxF "$want"
}
wait_listening() { # ADDR PORT yes|no
	for _ in $(seq 1 50); do
		if listening "$1" "$2"; then [ "$3" = yes ] && return 0; else [ "$3" = no ] && return 0; fi
		sleep 0.1
	done
	return 1
}
socks_ok() { # ADDR PORT: a SOCKS5 greeting from the client namespace is answered
	ip netns exec "$CL" "$PYTHON" -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
s.sendall(b"\x05\x01\x00")
sys.exit(0 if s.recv(2) == b"\x05\x00" else 1)' "$1" "$2" 2>/dev/null
}

cat >"$T_TMP/gw.conf" <<EOF
listen lan0:1080
listen 198.51.100.77:1081
workers 2
log-level info
pass from 198.51.100.0/24 to any
pass from 2001:db8:1::/64 to any
block
EOF
t_gw_start "$GW" "$T_TMP/gw.conf" "$T_TMP/gw.log" || {
	t_fail "socks64d starts although 198.51.100.77 is not an address of the host yet"
	t_finish
}
t_pass "socks64d starts although 198.51.100.77 is not an address of the host yet"
t_check "logged that it waits for 198.51.100.77" \
	t_wait_file_grep "$T_TMP/gw.log" "198.51.100.77:1081 is not an address of this host yet" 5
t_check "lan0:1080 listens on 198.51.100.1" wait_listening 198.51.100.1 1080 yes
t_check "lan0:1080 listens on 2001:db8:1::1" wait_listening 2001:db8:1::1 1080 yes
t_check "a client reaches it" socks_ok 198.51.100.1 1080

ip -n "$GW" addr add 198.51.100.2/24 dev lan0
t_check "address added to lan0: listening on 198.51.100.2" wait_listening 198.51.100.2 1080 yes
t_check "a client reaches the new address" socks_ok 198.51.100.2 1080
ip -n "$GW" addr del 198.51.100.2/24 dev lan0
t_check "address removed: no longer listening on 198.51.100.2" wait_listening 198.51.100.2 1080 no
t_check "the other listeners stay" listening 198.51.100.1 1080

# IPv6 with duplicate address detection: not listened on while tentative.
ip netns exec "$GW" sysctl -qw net.ipv6.conf.lan0.accept_dad=1 net.ipv6.conf.lan0.dad_transmits=3 \
	net.ipv6.neigh.lan0.retrans_time_ms=500
ip -n "$GW" -6 addr add 2001:db8:1::2/64 dev lan0
if ip -n "$GW" -6 addr show dev lan0 | grep -q '2001:db8:1::2/64.*tentative'; then
	if listening 2001:db8:1::2 1080; then
		t_fail "tentative IPv6 address not listened on" "listening before DAD finished"
	else
		t_pass "tentative IPv6 address (DAD running) not listened on yet"
	fi
else
	t_skip "tentative check" "DAD finished before it could be observed"
fi
t_check "after DAD: listening on 2001:db8:1::2" wait_listening 2001:db8:1::2 1080 yes

ip -n "$GW" addr add 198.51.100.77/24 dev lan0
t_check "literal 198.51.100.77:1081 listened on once it appears" \
	wait_listening 198.51.100.77 1081 yes
t_check "a client reaches 198.51.100.77:1081" socks_ok 198.51.100.77 1081

# A new listen line by SIGHUP, and listen-freebind for an absent address.
cat >>"$T_TMP/gw.conf" <<EOF
listen-freebind yes
listen 198.51.100.88:1082
EOF
kill -HUP "$(t_gw_pid)"
t_check "reload: listen-freebind binds 198.51.100.88 before it exists" \
	wait_listening 198.51.100.88 1082 yes
sed -i '/^listen 198.51.100.77:1081$/d' "$T_TMP/gw.conf"
kill -HUP "$(t_gw_pid)"
t_check "reload: a removed listen line closes its listener" wait_listening 198.51.100.77 1081 no
t_check "gateway alive" t_gw_alive
t_gw_stop "socks64d exits cleanly"
t_finish
