# shellcheck shell=bash
# Network-namespace topology for the scenario tests (bash; sourced after
# tests/lib.sh).  Builds the reference topology of the testing guide:
#
#   lan4 (IPv4 only)  198.51.100.10/24 ---- 198.51.100.1/24  gw  2001:db8:6::1/64 ---- 2001:db8:6::80/64  wan6 (IPv6 only)
#   lan6 (IPv6 only)  2001:db8:1::10/64 --- 2001:db8:1::1/64     203.0.113.1/24   ---- 203.0.113.80/24    wan4 (IPv4 only)
#
# One veth pair per link, created directly inside the namespaces (the root
# namespace never sees an interface, address, route or sysctl of ours).  Only
# on-link routes exist, no default route anywhere, and gw does not forward:
# a LAN host reaches the WAN side only through the gateway daemon.
# Namespace names carry the PID so parallel runs do not collide; all are
# deleted, and whatever still runs in them is killed, on exit.

NS_PREFIX="s64t$$"
NS_LIST=()
NS_LAN4=
NS_LAN6=
NS_GW=
NS_WAN6=
NS_WAN4=

# ns_require: SKIP the whole test (exit 77) unless namespaces can be made.
ns_require() {
	local why='' probe="${NS_PREFIX}-probe"
	if [ "$(id -u)" -ne 0 ]; then
		why="not root"
	elif ! command -v ip >/dev/null 2>&1; then
		why="no ip(8) (iproute2)"
	elif ! ip netns add "$probe" 2>"$T_TMP/netns.err"; then
		why="cannot create a network namespace: $(head -n 1 "$T_TMP/netns.err")"
	else
		ip netns del "$probe"
	fi
	if [ -n "$why" ]; then
		echo "SKIP: ${1:-netns scenario} needs network namespaces: $why" >&2
		t_skip "${1:-netns scenario}" "$why"
		t_finish
	fi
	t_on_exit ns_cleanup
}

# ns_add NS [v4only]: create namespace NS with loopback up.
ns_add() {
	local ns=$1
	NS_LIST+=("$ns") # recorded first, so a half-made one is deleted too
	ip netns add "$ns" || return 1
	ip -n "$ns" link set lo up || return 1
	# Addresses usable at once: no IPv6 duplicate address detection.
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 || return 1
	if [ "${2:-}" = v4only ]; then
		# "IPv4 only" literally: no IPv6 at all, not even link-local.
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 || return 1
	fi
}

# ns_link NS1 IF1 NS2 IF2: a veth pair between two namespaces, both ends up.
ns_link() {
	ip -n "$1" link add "$2" type veth peer name "$4" netns "$3" &&
		ip -n "$1" link set "$2" up && ip -n "$3" link set "$4" up
}

# ns_addr NS IF ADDR/LEN: IPv6 addresses without DAD.
ns_addr() {
	case $3 in
	*:*) ip -n "$1" addr add "$3" dev "$2" nodad ;;
	*) ip -n "$1" addr add "$3" dev "$2" ;;
	esac
}

ns_topology() {
	NS_LAN4="${NS_PREFIX}-lan4"
	NS_LAN6="${NS_PREFIX}-lan6"
	NS_GW="${NS_PREFIX}-gw"
	NS_WAN6="${NS_PREFIX}-wan6"
	NS_WAN4="${NS_PREFIX}-wan4"
	ns_add "$NS_LAN4" v4only && ns_add "$NS_LAN6" && ns_add "$NS_GW" &&
		ns_add "$NS_WAN6" && ns_add "$NS_WAN4" v4only || return 1

	ns_link "$NS_GW" lan4 "$NS_LAN4" eth0 &&
		ns_link "$NS_GW" lan6 "$NS_LAN6" eth0 &&
		ns_link "$NS_GW" wan6 "$NS_WAN6" eth0 &&
		ns_link "$NS_GW" wan4 "$NS_WAN4" eth0 || return 1
	# The IPv4-only hosts' interfaces carry no IPv6, whatever the defaults.
	ip netns exec "$NS_LAN4" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1 &&
		ip netns exec "$NS_WAN4" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1 || return 1

	ns_addr "$NS_LAN4" eth0 198.51.100.10/24 &&
		ns_addr "$NS_GW" lan4 198.51.100.1/24 &&
		ns_addr "$NS_LAN6" eth0 2001:db8:1::10/64 &&
		ns_addr "$NS_GW" lan6 2001:db8:1::1/64 &&
		ns_addr "$NS_WAN6" eth0 2001:db8:6::80/64 &&
		ns_addr "$NS_GW" wan6 2001:db8:6::1/64 &&
		ns_addr "$NS_WAN4" eth0 203.0.113.80/24 &&
		ns_addr "$NS_GW" wan4 203.0.113.1/24 || return 1

	# The gateway must not route: only the daemon relays.
	ip netns exec "$NS_GW" sysctl -qw net.ipv4.ip_forward=0 \
		net.ipv6.conf.all.forwarding=0 || return 1
	return 0
}

# ns_cleanup: stop what still runs in our namespaces, then delete them.
ns_cleanup() {
	local ns pids _
	for ns in "${NS_LIST[@]}"; do
		[ -e "/run/netns/$ns" ] || continue
		pids=$(ip netns pids "$ns" 2>/dev/null)
		if [ -n "$pids" ]; then
			# shellcheck disable=SC2086 # a list of PIDs
			kill -TERM $pids 2>/dev/null
			for _ in $(seq 1 30); do
				[ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break
				sleep 0.1
			done
			pids=$(ip netns pids "$ns" 2>/dev/null)
			# shellcheck disable=SC2086
			[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
		fi
		ip netns del "$ns" 2>/dev/null || echo "# could not delete namespace $ns" >&2
	done
	NS_LIST=()
}
