#!/bin/bash
# Two gateways, one LAN (docs/guide-failover.md): gw-a and gw-b both run
# socks64d and keepalived (VRRP) and share the virtual addresses
# 198.51.100.1 and 2001:db8:1::1 on one LAN segment (a bridge in a "switch"
# namespace; VRRP needs a shared L2 segment).  A LAN host reaches the
# IPv6-only server www.v6.test through whichever gateway holds the virtual
# address:
#
#   lan 198.51.100.10, 2001:db8:1::10
#    |
#   [br-lan]---- gw-a 198.51.100.2, 2001:db8:1::2  (VRRP master, priority 150)
#    |      \--- gw-b 198.51.100.3, 2001:db8:1::3  (VRRP backup, priority 100)
#   virtual: 198.51.100.1, 2001:db8:1::1        gw-a/gw-b 2001:db8:6::2/::3
#                                                   |
#                                              [br-wan]---- wan 2001:db8:6::80
#                                                           (HTTP; DNS on ::53)
#
# Shown: new connections through the virtual address succeed through gw-b
# once socks64d stops on gw-a (keepalived's track script sees it) and again
# once gw-a's LAN link goes down (missed advertisements); the address moves
# back when gw-a's daemon returns (preemption).  And the client shim's
# ordered gateway list (two real addresses, no VRRP involved): one process
# keeps working when the first gateway stops, and later connections start
# with the gateway that worked last.
#
# The daemons listen on the virtual address although the backup does not
# hold it: gw-a with `listen-freebind yes` (bound at once, IP_FREEBIND), gw-b
# without it (the daemon waits for the address and listens once keepalived
# adds it).  No ip_nonlocal_bind sysctl: it would hide the second way.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
t_init
ns_require "netns failover scenario"

KEEPALIVED=$(command -v keepalived || echo /usr/sbin/keepalived)
if [ ! -x "$KEEPALIVED" ]; then
	t_skip "failover scenario" "keepalived is not installed (Debian package keepalived)"
	t_finish
fi
if [ ! -x "$SOCKS64D" ]; then
	t_fail "failover scenario" "$SOCKS64D not built"
	t_finish
fi
if ! t_is_socks64d; then
	t_skip "failover scenario" "SOCKS_IMPL=$SOCKS_IMPL: needs socks64d's config and session log"
	t_finish
fi

NS_SW="${NS_PREFIX}-sw"
NS_GWA="${NS_PREFIX}-gwa"
NS_GWB="${NS_PREFIX}-gwb"
NS_LAN="${NS_PREFIX}-lan"
NS_WAN="${NS_PREFIX}-wan"
VIP4=198.51.100.1
VIP6=2001:db8:1::1
GWA4=198.51.100.2
GWB4=198.51.100.3
PAGE="served by wan over IPv6"
FAILOVER_MAX=15 # seconds: bound on every move of the virtual address

# port_on_switch NS IF PORT BRIDGE: veth NS:IF <-> switch:PORT in BRIDGE.
port_on_switch() {
	ns_link "$1" "$2" "$NS_SW" "$3" && ip -n "$NS_SW" link set "$3" master "$4"
}

topology() {
	ns_add "$NS_SW" && ns_add "$NS_GWA" && ns_add "$NS_GWB" && ns_add "$NS_LAN" &&
		ns_add "$NS_WAN" || return 1
	local br
	for br in br-lan br-wan; do
		# No multicast snooping: VRRP adverts (224.0.0.18, ff02::12) are
		# flooded to every port whether or not anyone sent a join.
		ip -n "$NS_SW" link add "$br" type bridge stp_state 0 mcast_snooping 0 &&
			ip -n "$NS_SW" link set "$br" up || return 1
	done
	port_on_switch "$NS_LAN" eth0 lan-host br-lan &&
		port_on_switch "$NS_GWA" eth0 lan-gwa br-lan &&
		port_on_switch "$NS_GWB" eth0 lan-gwb br-lan &&
		port_on_switch "$NS_GWA" eth1 wan-gwa br-wan &&
		port_on_switch "$NS_GWB" eth1 wan-gwb br-wan &&
		port_on_switch "$NS_WAN" eth0 wan-host br-wan || return 1
	ns_addr "$NS_LAN" eth0 198.51.100.10/24 && ns_addr "$NS_LAN" eth0 2001:db8:1::10/64 &&
		ns_addr "$NS_GWA" eth0 "$GWA4/24" && ns_addr "$NS_GWA" eth0 2001:db8:1::2/64 &&
		ns_addr "$NS_GWB" eth0 "$GWB4/24" && ns_addr "$NS_GWB" eth0 2001:db8:1::3/64 &&
		ns_addr "$NS_GWA" eth1 2001:db8:6::2/64 && ns_addr "$NS_GWB" eth1 2001:db8:6::3/64 &&
		ns_addr "$NS_WAN" eth0 2001:db8:6::80/64 && ns_addr "$NS_WAN" eth0 2001:db8:6::53/64 ||
		return 1
	local ns
	for ns in "$NS_GWA" "$NS_GWB"; do
		# The gateways relay, they do not route.
		ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=0 \
			net.ipv6.conf.all.forwarding=0 || return 1
	done
}

if ! topology; then
	t_fail "build the failover topology"
	t_finish
fi
t_pass "topology: lan, gw-a, gw-b on one bridged LAN; wan behind both (${NS_PREFIX}-*)"

# --- servers on the WAN side: HTTP on IPv6 only, DNS for www.v6.test
mkdir -p "$T_TMP/www"
echo "$PAGE" >"$T_TMP/www/index.html"
t_dnsmasq "$NS_WAN" 53 2001:db8:6::53 203.0.113.80 2001:db8:6::80 ||
	t_fail "start dnsmasq in wan"
t_httpd "$NS_WAN" 2001:db8:6::80 80 "$T_TMP/www" || t_fail "start httpd in wan"
if ip netns exec "$NS_LAN" curl -sS -g --max-time 3 "http://[2001:db8:6::80]/" >/dev/null 2>&1; then
	t_fail "lan has no path of its own to the server" "it reached it directly"
else
	t_pass "lan has no path of its own to the server"
fi

# --- socks64d on both gateways (same configuration but for the own address)
GWA_PID=
GWB_PID=
GW_RUNS=0

# gw_start NAME NS OWN4 OWN6 FREEBIND: start socks64d; its PID in T_LASTPID.
gw_start() {
	local name=$1 ns=$2 own4=$3 own6=$4 freebind=$5 log=$T_TMP/$1.log
	cat >"$T_TMP/$name.conf" <<EOF
listen-freebind $freebind
listen $VIP4:1080
listen [$VIP6]:1080
listen $own4:1080
listen [$own6]:1080
workers 1
nameserver [2001:db8:6::53]:53
handshake-timeout 5s
connect-timeout 5s
log-level info
block to 198.51.100.0/24,2001:db8:1::/64
pass from 198.51.100.0/24,2001:db8:1::/64 command connect
block
EOF
	GW_RUNS=$((GW_RUNS + 1))
	log=$log.run$GW_RUNS # one log per run, all kept
	t_bg "$log" "$ns" "$SOCKS64D" -f "$T_TMP/$name.conf"
	if ! t_wait_file_grep "$log" 'ready' 15; then
		sed 's/^/#   /' "$log"
		return 1
	fi
}

# gw_log NAME: every line that gateway's runs logged.
gw_log() {
	cat "$T_TMP/$1".log.run* 2>/dev/null
}

# ok_count NAME: sessions to www.v6.test that gateway relayed.
ok_count() {
	gw_log "$1" | grep -c 'target=www\.v6\.test:80 .*addr=\[2001:db8:6::80\]:80 .*result=ok'
}

# wait_ok NAME N: wait (5 s) until gateway NAME has logged N such sessions.
wait_ok() {
	for _ in $(seq 1 50); do
		[ "$(ok_count "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

if gw_start gwa "$NS_GWA" "$GWA4" 2001:db8:1::2 yes; then
	GWA_PID=$T_LASTPID
	t_pass "socks64d on gw-a (listen-freebind yes): listening on the virtual and its own addresses"
else
	t_fail "start socks64d on gw-a"
	t_finish
fi
if gw_start gwb "$NS_GWB" "$GWB4" 2001:db8:1::3 no; then
	GWB_PID=$T_LASTPID
	if gw_log gwb | grep -q "$VIP4:1080 is not an address of this host yet" &&
		gw_log gwb | grep -q "\[$VIP6\]:1080 is not an address of this host yet"; then
		t_pass "socks64d on gw-b (listen-freebind no): started, waits for the virtual addresses"
	else
		t_fail "socks64d on gw-b waits for the virtual addresses" "$(gw_log gwb | tail -n 5)"
	fi
else
	t_fail "start socks64d on gw-b"
	t_finish
fi

# --- keepalived on both gateways, its own files under the test directory
# The track script asks this namespace's kernel whether anything listens on
# port 1080: pgrep would see the other gateway's daemon on this same host.
cat >"$T_TMP/chk-socks64d.sh" <<'EOF'
#!/bin/sh
ss -Hltn 'sport = :1080' | grep -q .
EOF
chmod 0755 "$T_TMP/chk-socks64d.sh"

# keepalived_start NAME NS STATE PRIORITY
keepalived_start() {
	local name=$1 ns=$2 state=$3 prio=$4 conf=$T_TMP/keepalived-$1.conf
	cat >"$conf" <<EOF
global_defs {
    router_id $name
    script_user root
    enable_script_security
}

vrrp_script chk_socks64d {
    script "$T_TMP/chk-socks64d.sh"
    interval 1
    fall 2
    rise 2
}

vrrp_instance socks64_v4 {
    state $state
    interface eth0
    virtual_router_id 64
    priority $prio
    advert_int 1
    virtual_ipaddress {
        $VIP4/24
    }
    track_script {
        chk_socks64d
    }
}

vrrp_instance socks64_v6 {
    state $state
    interface eth0
    virtual_router_id 65
    priority $prio
    advert_int 1
    virtual_ipaddress {
        $VIP6/64
    }
    track_script {
        chk_socks64d
    }
}
EOF
	t_bg "$T_TMP/keepalived-$name.log" "$ns" "$KEEPALIVED" --dont-fork --log-console \
		--log-detail --no-syslog --vrrp -f "$conf" -p "$T_TMP/keepalived-$name.pid" \
		-r "$T_TMP/keepalived-$name-vrrp.pid" -c "$T_TMP/keepalived-$name-checkers.pid"
}

# holds NS: NS carries both virtual addresses.  lacks NS: neither.
holds() {
	ip -n "$1" -4 addr show dev eth0 | grep -q "inet $VIP4/" &&
		ip -n "$1" -6 addr show dev eth0 | grep -q "inet6 $VIP6/"
}
lacks() {
	! ip -n "$1" addr show dev eth0 | grep -Eq "inet $VIP4/|inet6 $VIP6/"
}

# wait_vip NS_HOLDER NS_OTHER: wait until the virtual addresses are on
# NS_HOLDER only; prints the seconds it took.
wait_vip() {
	local start end
	start=$(date +%s%N)
	for _ in $(seq 1 $((FAILOVER_MAX * 10))); do
		if holds "$1" && lacks "$2"; then
			end=$(date +%s%N)
			echo "$(((end - start) / 1000000)) ms"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

keepalived_start gw-a "$NS_GWA" MASTER 150
KA_A=$T_LASTPID
keepalived_start gw-b "$NS_GWB" BACKUP 100
KA_B=$T_LASTPID
if took=$(wait_vip "$NS_GWA" "$NS_GWB"); then
	t_pass "VRRP: gw-a holds $VIP4 and $VIP6 (after $took), gw-b does not"
else
	t_fail "VRRP: gw-a takes the virtual addresses"
	tail -n 20 "$T_TMP/keepalived-gw-a.log" "$T_TMP/keepalived-gw-b.log" | sed 's/^/#   /'
	t_finish
fi

# fetch NS PROXY: one page through PROXY (host:port) from NS; 0 when it is
# the server's page.
fetch() {
	local body
	body=$(ip netns exec "$1" curl -sS -g --max-time "${3:-5}" \
		--socks5-hostname "$2" http://www.v6.test/ 2>&1)
	[ "$body" = "$PAGE" ]
}

# through_vip WHO: a new connection through each virtual address works and
# gateway WHO logged it.
through_vip() {
	local who=$1 before proxy
	for proxy in "$VIP4:1080" "[$VIP6]:1080"; do
		before=$(ok_count "$who")
		if fetch "$NS_LAN" "$proxy" && wait_ok "$who" $((before + 1)); then
			t_pass "lan -> www.v6.test through $proxy: relayed by $who"
		else
			t_fail "lan -> www.v6.test through $proxy" "not relayed by $who"
		fi
	done
}

# since T0: milliseconds from T0 (date +%s%N) until now.
since() {
	echo $((($(date +%s%N) - $1) / 1000000))
}

# first_success PROXY: retry new connections (each bounded) until one works.
first_success() {
	for _ in $(seq 1 $((FAILOVER_MAX * 2))); do
		fetch "$NS_LAN" "$1" 2 && return 0
		sleep 0.3
	done
	return 1
}

through_vip gwa

# --- 1. the client shim's ordered gateway list: gw-a's own address first,
# then gw-b's (real addresses: VRRP plays no part).  One process, three
# fetches: the first while gw-a serves, the next two after its daemon
# stopped -- its router is still up, so a connection there is refused at
# once and the shim moves on.  The steps are driven through files, each wait
# bounded.
SOCKS64=$T_ROOT/client-shim/socks64
SHIM=0
if [ -f "$T_ROOT/client-shim/libsocks64.so" ]; then
	SHIM=1
	export XDG_RUNTIME_DIR=$T_TMP/run XDG_CONFIG_HOME=$T_TMP/config
	mkdir -m 0700 "$XDG_RUNTIME_DIR"
	unset SOCKS64_CONF SOCKS64_GATEWAY SOCKS64_VERBOSE
	cat >"$T_TMP/socks64.conf" <<EOF
gateway $GWA4:1080
gateway $GWB4:1080
connect-timeout 10s
EOF
	cat >"$T_TMP/shim_client.py" <<'EOF'
import os, sys, time, urllib.request
step_dir, page = sys.argv[1], sys.argv[2]
def fetch(n):
    t = time.monotonic()
    body = urllib.request.urlopen("http://www.v6.test/", timeout=15).read().decode()
    ms = int((time.monotonic() - t) * 1000)
    print(f"fetch{n} {'ok' if body.strip() == page else 'bad'} {ms}", flush=True)
for n in (1, 2, 3):
    if n == 2:
        for _ in range(300):
            if os.path.exists(os.path.join(step_dir, "go")):
                break
            time.sleep(0.05)
    try:
        fetch(n)
    except Exception as e:
        print(f"fetch{n} error {e}", flush=True)
    open(os.path.join(step_dir, f"done{n}"), "w").close()
EOF
	mkdir "$T_TMP/steps"
	a0=$(ok_count gwa)
	b0=$(ok_count gwb)
	t_bg "$T_TMP/shim.out" "$NS_LAN" timeout 60 "$SOCKS64" -v -c "$T_TMP/socks64.conf" \
		"$PYTHON" "$T_TMP/shim_client.py" "$T_TMP/steps" "$PAGE"
	SHIM_PID=$T_LASTPID
	for _ in $(seq 1 150); do
		[ -e "$T_TMP/steps/done1" ] && break
		sleep 0.1
	done
	if grep -q '^fetch1 ok' "$T_TMP/shim.out" && wait_ok gwa $((a0 + 1)); then
		t_pass "shim, gateways [$GWA4, $GWB4]: first fetch relayed by gw-a"
	else
		t_fail "shim: first fetch through gw-a" "$(tr '\n' '|' <"$T_TMP/shim.out" | head -c 300)"
	fi
else
	t_skip "shim gateway list" "client-shim/libsocks64.so not built"
fi

# --- 2. socks64d stops on gw-a
kill -TERM "$GWA_PID"
stopped=$(date +%s%N)
wait "$GWA_PID" 2>/dev/null

if [ "$SHIM" = 1 ]; then
	touch "$T_TMP/steps/go"
	for _ in $(seq 1 300); do
		[ -e "$T_TMP/steps/done3" ] && break
		sleep 0.1
	done
	wait "$SHIM_PID" 2>/dev/null
	ms2=$(awk '$1 == "fetch2" && $2 == "ok" { print $3 }' "$T_TMP/shim.out")
	if [ -n "$ms2" ] && grep -q '^fetch3 ok' "$T_TMP/shim.out" &&
		wait_ok gwb $((b0 + 2)) && [ "$(ok_count gwa)" -eq $((a0 + 1)) ]; then
		t_pass "shim: gw-a stopped, the same process's next fetches relayed by gw-b (first in $ms2 ms)"
	else
		t_fail "shim: fetches after gw-a stopped" \
			"$(tr '\n' '|' <"$T_TMP/shim.out" | head -c 600)"
	fi
	if [ -n "$ms2" ] && [ "$ms2" -lt 5000 ]; then
		t_pass "shim: a refused gateway is skipped at once ($ms2 ms, no timeout)"
	else
		t_fail "shim: a refused gateway is skipped at once" "fetch2 took ${ms2:-?} ms"
	fi
	# The shim names a gateway by address, or by its place in the list
	# when the refusal arrives after a non-blocking connect (0 = gw-a).
	refused=$(grep -Ec "gateway ($GWA4:1080|0): Connection refused" "$T_TMP/shim.out")
	if [ "$refused" -eq 1 ]; then
		t_pass "shim: gw-a refused once; the third fetch started with gw-b (the last that worked)"
	else
		t_fail "shim: the gateway that worked last is tried first" \
			"gw-a refused $refused times: $(grep -i gateway "$T_TMP/shim.out" | tr '\n' '|' | head -c 400)"
	fi
fi

# ... and keepalived's track script fails there: gw-b takes over.
if wait_vip "$NS_GWB" "$NS_GWA" >/dev/null; then
	t_pass "socks64d stopped on gw-a: the virtual addresses are on gw-b $(since "$stopped") ms after the stop"
	if first_success "$VIP4:1080"; then
		t_pass "a new connection through $VIP4 works $(since "$stopped") ms after the stop"
	else
		t_fail "new connections through $VIP4 after the stop"
	fi
	if gw_log gwb | grep -q "listening on $VIP4:1080" &&
		gw_log gwb | grep -q "listening on \[$VIP6\]:1080"; then
		t_pass "socks64d on gw-b listens on the virtual addresses since keepalived added them"
	else
		t_fail "socks64d on gw-b listens on the virtual addresses" "$(gw_log gwb | tail -n 5)"
	fi
	through_vip gwb
else
	t_fail "socks64d stopped on gw-a: the virtual addresses move to gw-b" \
		"not within ${FAILOVER_MAX}s"
	tail -n 20 "$T_TMP/keepalived-gw-a.log" "$T_TMP/keepalived-gw-b.log" | sed 's/^/#   /'
fi

# --- 3. gw-a's daemon returns: keepalived there sees it and preempts
if gw_start gwa "$NS_GWA" "$GWA4" 2001:db8:1::2 yes; then
	GWA_PID=$T_LASTPID
else
	t_fail "restart socks64d on gw-a"
fi
if took=$(wait_vip "$NS_GWA" "$NS_GWB"); then
	t_pass "socks64d back on gw-a: the virtual addresses moved back in $took (preemption)"
	through_vip gwa
else
	t_fail "socks64d back on gw-a: the virtual addresses move back" "not within ${FAILOVER_MAX}s"
fi

# --- 4. gw-a's LAN link goes down: gw-b misses three advertisements
ip -n "$NS_GWA" link set eth0 down
stopped=$(date +%s%N)
for _ in $(seq 1 $((FAILOVER_MAX * 10))); do
	holds "$NS_GWB" && break
	sleep 0.1
done
if holds "$NS_GWB"; then
	t_pass "gw-a's LAN link down: gw-b took the virtual addresses after $(since "$stopped") ms"
	if first_success "$VIP4:1080"; then
		t_pass "a new connection through $VIP4 works $(since "$stopped") ms after the link went down"
	else
		t_fail "new connections through $VIP4 after the link went down"
	fi
	if first_success "[$VIP6]:1080"; then
		t_pass "a new connection through [$VIP6]:1080 works $(since "$stopped") ms after the link went down"
	else
		t_fail "new connections through [$VIP6]:1080 after the link went down"
	fi
	through_vip gwb
else
	t_fail "gw-a's LAN link down: gw-b takes the virtual addresses" "not within ${FAILOVER_MAX}s"
	tail -n 20 "$T_TMP/keepalived-gw-b.log" | sed 's/^/#   /'
fi

# --- stop: keepalived and the daemons, each by PID, exit status checked
for p in "$KA_A" "$KA_B"; do
	kill -TERM "$p" 2>/dev/null
done
for name in gwa:"$GWA_PID" gwb:"$GWB_PID"; do
	pid=${name#*:}
	kill -TERM "$pid" 2>/dev/null
	st=
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		t_fail "socks64d on ${name%%:*} stops on SIGTERM" "still running after 10 s"
	else
		wait "$pid" 2>/dev/null
		st=$?
		if [ "$st" -eq 0 ]; then
			t_pass "socks64d on ${name%%:*} exits cleanly on SIGTERM"
		else
			t_fail "socks64d on ${name%%:*} exits cleanly on SIGTERM" "status $st"
		fi
	fi
done
if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T_TMP"/gw?.log.run*; then
	t_fail "no sanitizer report in the gateways' logs"
fi
if [ "$T_FAILED" -gt 0 ]; then
	for f in "$T_TMP"/gw?.log.run* "$T_TMP"/keepalived-gw-?.log; do
		echo "# --- $f (last 15 lines)"
		tail -n 15 "$f" | sed 's/^/#   /'
	done
fi
t_finish
