# shellcheck shell=bash
# A throw-away MIT Kerberos realm for one test run (bash; sourced).
#
#   . tests/krb5/realm.sh
#   krb_realm_setup [HOST...] || skip   # realm TEST.EXAMPLE, KDC on 127.0.0.1
#   krb_kinit alice                     # ticket for alice in $KRB5CCNAME
#   ... run clients and servers ...
#   (the KDC is stopped by PID from the EXIT trap; see krb_realm_cleanup)
#
# Everything lives in one temporary directory: its own krb5.conf and
# kdc.conf, database, stash, keytab, credential caches, replay caches and
# logs.  Exported for the programs under test:
#   KRB5_CONFIG KRB5_KDC_PROFILE KRB5CCNAME KRB5_KTNAME KRB5RCACHEDIR
#   KRB_DIR KRB_REALM KRB_KDC_PORT KRB_KDC_PID KRB_KEYTAB
# Principals: alice and bob (passwords in KRB_PW_alice / KRB_PW_bob),
# rcmd/HOST and socks/HOST for every HOST given (default: localhost), with
# their keys in $KRB_KEYTAB.  krb5.conf sets rdns = false and
# dns_canonicalize_hostname = false, so no name is looked up in DNS.
#
# Status: krb_realm_setup returns 0, 77 when the MIT KDC tools are not
# installed (callers SKIP loudly), or 1 when the realm could not be made.
#
# Cleanup: when tests/lib.sh is loaded (t_on_exit exists) the cleanup runs
# from its EXIT trap; otherwise this file sets its own EXIT trap.

KRB_REALM=TEST.EXAMPLE
KRB_DIR=
KRB_KDC_PID=
KRB_KDC_PORT=
KRB_KEYTAB=
KRB_PW_alice=alice-pw-1961
KRB_PW_bob=bob-pw-1961

# krb_tool NAME: path of an MIT tool (the admin tools live in sbin).
krb_tool() {
	local d
	command -v "$1" 2>/dev/null && return 0
	for d in /usr/sbin /sbin /usr/local/sbin; do
		[ -x "$d/$1" ] && echo "$d/$1" && return 0
	done
	return 1
}

# krb_free_port: a TCP and UDP port free on 127.0.0.1.
krb_free_port() {
	python3 -c '
import socket
t = socket.socket(socket.AF_INET)
t.bind(("127.0.0.1", 0))
p = t.getsockname()[1]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", p))
print(p)'
}

krb_realm_cleanup() {
	krb_kdc_stop
	if [ -n "$KRB_DIR" ] && [ -d "$KRB_DIR" ]; then
		if [ "${T_KEEP:-0}" = 1 ]; then
			echo "# kept $KRB_DIR"
		else
			rm -rf "$KRB_DIR"
		fi
	fi
	KRB_DIR=
}

# krb_kdc_start: start krb5kdc in the foreground (-n) in the background,
# remember its PID, wait (bounded) until it answers on its port.
krb_kdc_start() {
	local kdc
	kdc=$(krb_tool krb5kdc) || return 1
	[ -z "$KRB_KDC_PID" ] || return 0
	"$kdc" -n -r "$KRB_REALM" </dev/null >>"$KRB_DIR/kdc.out" 2>&1 &
	KRB_KDC_PID=$!
	for _ in $(seq 1 100); do
		if ! kill -0 "$KRB_KDC_PID" 2>/dev/null; then
			echo "krb_kdc_start: krb5kdc exited:" >&2
			sed 's/^/#   /' "$KRB_DIR/kdc.out" "$KRB_DIR/kdc.log" >&2 2>/dev/null
			KRB_KDC_PID=
			return 1
		fi
		if ss -Hltn "sport = :$KRB_KDC_PORT" 2>/dev/null | grep -q .; then
			return 0
		fi
		sleep 0.05
	done
	echo "krb_kdc_start: krb5kdc not listening on $KRB_KDC_PORT after 5 s" >&2
	krb_kdc_stop
	return 1
}

# krb_kdc_stop: TERM the KDC by PID, KILL it after 3 s.
krb_kdc_stop() {
	local p=$KRB_KDC_PID
	[ -n "$p" ] || return 0
	KRB_KDC_PID=
	kill -TERM "$p" 2>/dev/null
	for _ in $(seq 1 30); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}

# krb_kinit USER [LIFETIME]: get a TGT for USER (password on stdin) into
# $KRB5CCNAME; LIFETIME as kinit -l takes it ("10s", "1h").
krb_kinit() {
	local user=$1 life=${2:-} pwvar="KRB_PW_$1"
	local -a opts=()
	[ -n "$life" ] && opts=(-l "$life")
	printf '%s\n' "${!pwvar}" | kinit "${opts[@]}" "$user@$KRB_REALM" >"$KRB_DIR/kinit.out" 2>&1 || {
		sed 's/^/#   /' "$KRB_DIR/kinit.out" >&2
		return 1
	}
}

# krb_kinit_expired USER: a ticket that has already expired: a 1 s lifetime,
# wait (bounded) until klist no longer calls it valid, then past the
# realm's 2 s clock skew, which the KDC and acceptors still allow.
krb_kinit_expired() {
	krb_kinit "$1" 1s || return 1
	for _ in $(seq 1 50); do
		if ! klist -s 2>/dev/null; then
			sleep 2.5
			return 0
		fi
		sleep 0.1
	done
	echo "krb_kinit_expired: ticket still valid after 5 s" >&2
	return 1
}

krb_kdestroy() {
	kdestroy -q 2>/dev/null
	rm -f "${KRB5CCNAME#FILE:}"
	return 0
}

# krb_realm_setup [HOST...]: create the realm and start its KDC.
krb_realm_setup() {
	local hosts=("$@") kdb kadm h
	[ ${#hosts[@]} -gt 0 ] || hosts=(localhost)
	if ! kdb=$(krb_tool kdb5_util) || ! kadm=$(krb_tool kadmin.local) ||
		! krb_tool krb5kdc >/dev/null || ! command -v kinit >/dev/null ||
		! command -v klist >/dev/null; then
		echo "krb_realm_setup: MIT KDC tools missing (krb5-kdc, krb5-admin-server, krb5-user)" >&2
		return 77
	fi
	KRB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/socks64-krb5.XXXXXX") || return 1
	if declare -F t_on_exit >/dev/null; then
		t_on_exit krb_realm_cleanup
	else
		trap krb_realm_cleanup EXIT
	fi
	KRB_KDC_PORT=$(krb_free_port) || return 1
	KRB_KEYTAB=$KRB_DIR/krb5.keytab
	export KRB5_CONFIG=$KRB_DIR/krb5.conf
	export KRB5_KDC_PROFILE=$KRB_DIR/kdc.conf
	export KRB5CCNAME=FILE:$KRB_DIR/ccache
	export KRB5_KTNAME=FILE:$KRB_KEYTAB
	export KRB5RCACHEDIR=$KRB_DIR/rcache
	export KRB_DIR KRB_REALM KRB_KDC_PORT KRB_KEYTAB
	mkdir -p "$KRB5RCACHEDIR"
	# Short clock skew so an expired ticket is refused at once rather
	# than five minutes later; no DNS anywhere.
	cat >"$KRB5_CONFIG" <<EOF
[libdefaults]
	default_realm = $KRB_REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	rdns = false
	ignore_acceptor_hostname = false
	clockskew = 2
	forwardable = false
	udp_preference_limit = 1
[realms]
	$KRB_REALM = {
		kdc = 127.0.0.1:$KRB_KDC_PORT
	}
[domain_realm]
	localhost = $KRB_REALM
	.test = $KRB_REALM
	.example = $KRB_REALM
EOF
	cat >"$KRB5_KDC_PROFILE" <<EOF
[kdcdefaults]
	kdc_listen = 127.0.0.1:$KRB_KDC_PORT
	kdc_tcp_listen = 127.0.0.1:$KRB_KDC_PORT
[realms]
	$KRB_REALM = {
		database_name = $KRB_DIR/principal
		key_stash_file = $KRB_DIR/stash
		acl_file = $KRB_DIR/kadm5.acl
		max_life = 10h
		max_renewable_life = 0
	}
[logging]
	kdc = FILE:$KRB_DIR/kdc.log
	default = FILE:$KRB_DIR/kdc.log
EOF
	: >"$KRB_DIR/kadm5.acl"
	"$kdb" -r "$KRB_REALM" create -s -P "master-$RANDOM-$RANDOM" >"$KRB_DIR/setup.log" 2>&1 || {
		sed 's/^/#   /' "$KRB_DIR/setup.log" >&2
		return 1
	}
	{
		echo "addprinc -pw $KRB_PW_alice alice"
		echo "addprinc -pw $KRB_PW_bob bob"
		for h in "${hosts[@]}"; do
			echo "addprinc -randkey rcmd/$h"
			echo "addprinc -randkey socks/$h"
			echo "ktadd -k $KRB_KEYTAB rcmd/$h socks/$h"
		done
	} | "$kadm" -r "$KRB_REALM" >>"$KRB_DIR/setup.log" 2>&1
	if [ ! -s "$KRB_KEYTAB" ]; then
		echo "krb_realm_setup: kadmin.local made no keytab" >&2
		sed 's/^/#   /' "$KRB_DIR/setup.log" >&2
		return 1
	fi
	chmod 600 "$KRB_KEYTAB"
	krb_kdc_start
}
