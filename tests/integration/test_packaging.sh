#!/usr/bin/env bash
# Packaging checks: `make install` into a scratch DESTDIR (file list, modes,
# configs never overwritten, uninstall), the man pages (mandoc -Tlint, every
# configuration key documented), the systemd unit (systemd-analyze verify and
# security, and the daemon's system calls against its SystemCallFilter), the
# OpenWrt procd script (busybox ash -n, the UCI translation run under busybox
# ash with stand-in config_*/procd_* functions written here, its output
# checked by socks64d -n and by running it), the OpenWrt package Makefile's
# file references, and shellcheck.
#
# Inner shells get their arguments as "$1"...: single quotes are meant.
# shellcheck disable=SC2016
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init

cd "$T_ROOT" || exit 1
UNIT=init/socks64d.service
INITSCRIPT=init/socks64d.init
PAGES="docs/socks64d.8 docs/socks64d.conf.5 docs/socks64.1 docs/socks64.conf.5"

# expect_same NAME WANT_FILE GOT_FILE
expect_same() {
	if diff -u "$2" "$3" >"$T_TMP/diff" 2>&1; then
		t_pass "$1"
	else
		sed 's/^/#   /' "$T_TMP/diff"
		t_fail "$1" "differs"
	fi
}

# ---- make install / uninstall ----------------------------------------------

if ! make -s all >"$T_TMP/build.log" 2>&1; then
	sed 's/^/#   /' "$T_TMP/build.log" | tail -n 20
	t_fail "build" "make all failed"
	t_finish
fi

SHIM=0
[ -f client-shim/libsocks64.so ] && SHIM=1
dest=$T_TMP/dest
# sysconfdir=/etc is the Makefile's default: the objects are not rebuilt.
if make -s install DESTDIR="$dest" prefix=/usr sysconfdir=/etc >"$T_TMP/install.log" 2>&1; then
	t_pass "make install DESTDIR prefix=/usr"
else
	sed 's/^/#   /' "$T_TMP/install.log" | tail -n 20
	t_fail "make install DESTDIR prefix=/usr"
fi
{
	echo etc/socks64/socks64d.conf
	if [ "$SHIM" = 1 ]; then
		[ -f conf/socks64.conf ] && echo etc/socks64/socks64.conf
		echo usr/bin/socks64
		echo usr/lib/socks64/libsocks64.so
		echo usr/share/man/man1/socks64.1
		echo usr/share/man/man5/socks64.conf.5
	fi
	echo usr/lib/systemd/system/socks64d.service
	echo usr/sbin/socks64d
	echo usr/share/man/man5/socks64d.conf.5
	echo usr/share/man/man8/socks64d.8
} | sort >"$T_TMP/files.want"
(cd "$dest" && find . ! -type d | sed 's|^\./||' | sort) >"$T_TMP/files.got"
expect_same "installed file list" "$T_TMP/files.want" "$T_TMP/files.got"

modes_ok=1
while read -r f want; do
	[ -e "$dest/$f" ] || continue
	got=$(stat -c %a "$dest/$f")
	if [ "$got" != "$want" ]; then
		echo "#   $f: mode $got, want $want"
		modes_ok=0
	fi
done <<EOF
usr/sbin/socks64d 755
usr/bin/socks64 755
usr/lib/socks64/libsocks64.so 644
etc/socks64/socks64d.conf 644
usr/lib/systemd/system/socks64d.service 644
usr/share/man/man8/socks64d.8 644
EOF
if [ "$modes_ok" = 1 ]; then t_pass "installed modes"; else t_fail "installed modes"; fi

t_check "installed socks64d -V prints the version" \
	sh -c '[ "$("$1" -V)" = "$(sed -n "s/^VERSION *:= *//p" Makefile)" ]' sh "$dest/usr/sbin/socks64d"
t_check "installed example config passes socks64d -n" \
	"$dest/usr/sbin/socks64d" -n -f "$dest/etc/socks64/socks64d.conf"
if [ "$SHIM" = 1 ]; then
	# The wrapper finds the library through the installed layout.
	t_check "installed wrapper preloads the installed library" \
		sh -c '"$1" -q env | grep -qx "LD_PRELOAD=$2"' sh \
		"$dest/usr/bin/socks64" "$dest/usr/lib/socks64/libsocks64.so"
fi

echo "# an administrator's change" >>"$dest/etc/socks64/socks64d.conf"
cp "$dest/etc/socks64/socks64d.conf" "$T_TMP/conf.before"
make -s install DESTDIR="$dest" prefix=/usr sysconfdir=/etc >"$T_TMP/install2.log" 2>&1
expect_same "a second install keeps the existing socks64d.conf" \
	"$T_TMP/conf.before" "$dest/etc/socks64/socks64d.conf"

make -s uninstall DESTDIR="$dest" prefix=/usr sysconfdir=/etc >"$T_TMP/uninstall.log" 2>&1
grep '^etc/' "$T_TMP/files.want" >"$T_TMP/left.want"
(cd "$dest" && find . ! -type d | sed 's|^\./||' | sort) >"$T_TMP/left.got"
expect_same "uninstall removes everything but the configuration" \
	"$T_TMP/left.want" "$T_TMP/left.got"

# Default prefix, and systemdunitdir: the unit's paths follow sbindir and
# sysconfdir.
dest2=$T_TMP/dest2
make -s install DESTDIR="$dest2" >"$T_TMP/install3.log" 2>&1
unit2=$dest2/usr/local/lib/systemd/system/socks64d.service
t_check "default prefix: unit runs /usr/local/sbin/socks64d" \
	grep -qx 'ExecStart=/usr/local/sbin/socks64d -f /etc/socks64/socks64d.conf' "$unit2"
dest3=$T_TMP/dest3
make -s install DESTDIR="$dest3" prefix=/usr systemdunitdir=/lib/systemd/system \
	>"$T_TMP/install4.log" 2>&1
t_check "systemdunitdir is honoured" test -f "$dest3/lib/systemd/system/socks64d.service"

# ---- man pages ---------------------------------------------------------------

if command -v mandoc >/dev/null 2>&1; then
	for p in $PAGES; do
		# Cross-references to pages not installed on this machine are
		# reported as STYLE; everything else must be clean.
		out=$(mandoc -Tlint -W style "$p" 2>&1 |
			grep -v -e 'referenced manual not found' -e 'mandoc.db')
		if [ -z "$out" ]; then
			t_pass "mandoc -Tlint $p"
		else
			printf '%s\n' "$out" | sed 's/^/#   /'
			t_fail "mandoc -Tlint $p"
		fi
	done
else
	t_skip "mandoc -Tlint" "mandoc is not installed (apt-get install mandoc)"
fi

# Every key of the daemon's keyword table is documented, and so is every key
# the shim's parser knows, and every daemon option.
missing=
n=0
while read -r k; do
	n=$((n + 1))
	grep -q "^\.It Ic $k\( \|$\)" docs/socks64d.conf.5 || missing="$missing $k"
done < <(sed -n 's/^\t{"\([a-z-]*\)", conf_set_.*/\1/p' gateway/conf.c)
[ "$n" -ge 20 ] || missing="$missing (only $n keys found in gateway/conf.c)"
if [ -z "$missing" ]; then t_pass "socks64d.conf.5 documents every key ($n)"; else
	t_fail "socks64d.conf.5 documents every key" "missing:$missing"; fi
missing=
n=0
while read -r k; do
	n=$((n + 1))
	grep -q "^\.It Ic $k\( \|$\)" docs/socks64.conf.5 || missing="$missing $k"
done < <(grep -o 'strcmp(key, "[a-z0-9-]*")' client-shim/conf.c | sed 's/.*"\(.*\)".*/\1/')
[ "$n" -ge 5 ] || missing="$missing (only $n keys found in client-shim/conf.c)"
if [ -z "$missing" ]; then t_pass "socks64.conf.5 documents every shim key ($n)"; else
	t_fail "socks64.conf.5 documents every shim key" "missing:$missing"; fi
missing=
opts=$(sed -n 's/.*getopt(argc, argv, "\([^"]*\)").*/\1/p' gateway/main.c | tr -d :)
for ((i = 0; i < ${#opts}; i++)); do
	o=${opts:i:1}
	grep -q "^\.It Fl $o\( \|$\)" docs/socks64d.8 || missing="$missing -$o"
done
[ "$opts" = "${opts#*h}" ] || missing=${missing/ -h/}
if [ -n "$opts" ] && [ -z "$missing" ]; then t_pass "socks64d.8 documents every option"; else
	t_fail "socks64d.8 documents every option" "missing:$missing"; fi

# ---- systemd unit --------------------------------------------------------------

unitdir=$T_TMP/unit
mkdir -p "$unitdir"
sed -e "s|/usr/sbin/socks64d|$T_ROOT/gateway/socks64d|g" \
	-e "s|/etc/socks64/socks64d.conf|$T_ROOT/conf/socks64d.conf|g" "$UNIT" \
	>"$unitdir/socks64d.service"
if command -v systemd-analyze >/dev/null 2>&1; then
	# Unknown keys are only warnings (exit status 0): any output fails.
	if systemd-analyze verify --man=no "$unitdir/socks64d.service" >"$T_TMP/verify.out" 2>&1 &&
		[ ! -s "$T_TMP/verify.out" ]; then
		t_pass "systemd-analyze verify"
	else
		sed 's/^/#   /' "$T_TMP/verify.out"
		t_fail "systemd-analyze verify"
	fi
	# Exposure 0.0 (locked down) .. 10.0 (unsafe); the unit scores 1.8.
	if systemd-analyze security --offline=yes --threshold=25 \
		"$unitdir/socks64d.service" >"$T_TMP/security.out" 2>&1; then
		t_pass "systemd-analyze security: $(grep -o 'exposure level.*' "$T_TMP/security.out")"
	else
		tail -n 5 "$T_TMP/security.out" | sed 's/^/#   /'
		t_fail "systemd-analyze security" "exposure above 2.5"
	fi
	missing=
	for k in 'Type=notify' 'ExecStart=/usr/sbin/socks64d -f /etc/socks64/socks64d.conf' \
		'ExecReload=/bin/kill -HUP $MAINPID' 'DynamicUser=yes' \
		'CapabilityBoundingSet=CAP_NET_BIND_SERVICE' 'AmbientCapabilities=CAP_NET_BIND_SERVICE' \
		'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK' 'ProtectSystem=strict' \
		'SystemCallFilter=@system-service' 'NoNewPrivileges=yes' 'ProtectHome=yes' \
		'PrivateTmp=yes' 'LimitNOFILE=131072'; do
		grep -qxF "$k" "$UNIT" || missing="$missing '$k'"
	done
	if [ -z "$missing" ]; then t_pass "unit carries the required settings"; else
		t_fail "unit carries the required settings" "missing:$missing"; fi
else
	t_skip "systemd-analyze verify" "systemd-analyze is missing (apt-get install systemd)"
fi

# ---- procd init script -----------------------------------------------------------

if ! command -v busybox >/dev/null 2>&1; then
	t_skip "procd script" "busybox is missing (apt-get install busybox)"
	t_finish
fi
t_check "busybox ash -n $INITSCRIPT" busybox ash -n "$INITSCRIPT"

# The script's option table is the daemon's keyword table, '-' as '_'.
sed -n 's/^\t{"\([a-z-]*\)", conf_set_.*/\1/p' gateway/conf.c | grep -vx 'pass\|block' |
	tr - _ | sort >"$T_TMP/keys.want"
awk '/^SOCKS64_GATEWAY_OPTIONS="/ { on = 1; next } on && /^"/ { on = 0 } on { sub(/:.*/, ""); print }' \
	"$INITSCRIPT" | sort >"$T_TMP/keys.got"
expect_same "init script knows every socks64d.conf key" "$T_TMP/keys.want" "$T_TMP/keys.got"

# Stand-ins for OpenWrt's UCI shell API and procd helpers, written for this
# test: config_load reads $STUB_UCI_DIR/NAME (UCI syntax: config/option/list
# lines, shell-like quoting), the procd_* calls and the rc.common actions are
# recorded in $STUB_LOG.
cat >"$T_TMP/stubs.sh" <<'EOF'
STUB_SECTIONS=
STUB_VARS=
stub_rec() { echo "$*" >>"$STUB_LOG"; }
config_load() {
	local line sec="" n=0 v
	for v in $STUB_VARS; do unset "$v"; done
	STUB_VARS=
	STUB_SECTIONS=
	set -f
	while IFS= read -r line || [ -n "$line" ]; do
		eval "set -- $line"
		[ $# -gt 0 ] || continue
		case "$1" in
		config)
			n=$((n + 1))
			sec=${3:-cfg$n}
			STUB_SECTIONS="$STUB_SECTIONS $2:$sec"
			;;
		option)
			eval "STUB_V_${sec}_$2=\$3"
			STUB_VARS="$STUB_VARS STUB_V_${sec}_$2"
			;;
		list)
			eval "STUB_V_${sec}_$2=\${STUB_V_${sec}_$2:+\$STUB_V_${sec}_$2 }\$3"
			STUB_VARS="$STUB_VARS STUB_V_${sec}_$2"
			;;
		esac
	done <"$STUB_UCI_DIR/$1"
	set +f
}
config_get() {
	local __stub_v
	eval "__stub_v=\${STUB_V_${2}_${3}:-}"
	[ -n "$__stub_v" ] || __stub_v=${4:-}
	eval "$1=\$__stub_v"
}
config_get_bool() {
	local __stub_b
	config_get __stub_b "$2" "$3" "${4:-}"
	case "$__stub_b" in
	1 | on | true | yes | enabled) __stub_b=1 ;;
	0 | off | false | no | disabled) __stub_b=0 ;;
	*) __stub_b=${4:-} ;;
	esac
	eval "$1=\$__stub_b"
}
config_foreach() {
	local __stub_fn="$1" __stub_type="$2" __stub_s
	shift 2
	for __stub_s in $STUB_SECTIONS; do
		if [ "${__stub_s%%:*}" = "$__stub_type" ]; then
			"$__stub_fn" "${__stub_s#*:}" "$@"
		fi
	done
}
config_list_foreach() {
	local __stub_sec="$1" __stub_opt="$2" __stub_fn="$3" __stub_items __stub_i
	shift 3
	config_get __stub_items "$__stub_sec" "$__stub_opt"
	set -f
	for __stub_i in $__stub_items; do "$__stub_fn" "$__stub_i" "$@"; done
	set +f
}
procd_open_instance() { stub_rec procd_open_instance "$@"; }
procd_set_param() { stub_rec procd_set_param "$@"; }
procd_append_param() { stub_rec procd_append_param "$@"; }
procd_close_instance() { stub_rec procd_close_instance "$@"; }
procd_add_reload_trigger() { stub_rec procd_add_reload_trigger "$@"; }
procd_add_interface_trigger() { stub_rec procd_add_interface_trigger "$@"; }
procd_add_reload_interface_trigger() { stub_rec procd_add_reload_interface_trigger "$@"; }
procd_send_signal() { stub_rec procd_send_signal "$@"; }
extra_command() { :; }
restart() { stub_rec restart; }
stop() { stub_rec stop; }
logger() { :; }
EOF

uci=$T_TMP/uci
mkdir -p "$uci" "$T_TMP/var/etc"
# run_init ACTION...: source the init script under busybox ash with the
# stand-ins, the daemon of this tree and a private /var/etc; run the actions.
run_init() {
	: >"$T_TMP/procd.log"
	STUB_UCI_DIR=$uci STUB_LOG=$T_TMP/procd.log busybox ash -c '
		. "$1"; . "$2"
		PROG=$3
		CONF=$4
		shift 4
		rc=0
		for a in "$@"; do "$a" || rc=$?; done
		exit $rc' sh "$T_TMP/stubs.sh" "$INITSCRIPT" "$T_ROOT/gateway/socks64d" \
		"$T_TMP/var/etc/socks64d.conf" "$@"
}

# 1. The shipped example, enabled: its exact translation.
sed "0,/option enabled '0'/s//option enabled '1'/" conf/socks64.uci >"$uci/socks64"
cat >"$T_TMP/example.want" <<'EOF'
# AUTOGENERATED by /etc/init.d/socks64 from /etc/config/socks64 -- DO NOT EDIT.
# Change /etc/config/socks64 and run '/etc/init.d/socks64 reload'.
listen br-lan:1080
prefer ipv6
handshake-timeout 10s
connect-timeout 10s
idle-timeout 1h
max-sessions 2000
log-level info
auth none
allow-resolve yes
user socks64
block to 192.168.1.0/24,fd00::/8
pass from 192.168.1.0/24,fd00::/8 command connect,resolve
block
EOF
if run_init start_service >"$T_TMP/start.out" 2>&1; then
	t_pass "start_service on conf/socks64.uci"
else
	sed 's/^/#   /' "$T_TMP/start.out"
	t_fail "start_service on conf/socks64.uci"
fi
expect_same "conf/socks64.uci translates to the expected socks64d.conf" \
	"$T_TMP/example.want" "$T_TMP/var/etc/socks64d.conf"
t_check "socks64d -n accepts the translated example" \
	gateway/socks64d -n -f "$T_TMP/var/etc/socks64d.conf"
cat >"$T_TMP/procd.want" <<EOF
procd_open_instance
procd_set_param command $T_ROOT/gateway/socks64d -s -f $T_TMP/var/etc/socks64d.conf
procd_set_param file $T_TMP/var/etc/socks64d.conf
procd_set_param respawn
procd_set_param limits nofile=131072 131072
procd_set_param stdout 1
procd_set_param stderr 1
procd_close_instance
EOF
expect_same "start_service registers the instance with procd" \
	"$T_TMP/procd.want" "$T_TMP/procd.log"

run_init service_triggers >/dev/null 2>&1
cat >"$T_TMP/triggers.want" <<'EOF'
procd_add_reload_trigger socks64
procd_add_interface_trigger interface.* lan /etc/init.d/socks64 restart
procd_add_reload_interface_trigger wan
procd_add_reload_interface_trigger wan6
EOF
expect_same "service_triggers: config and interface triggers" \
	"$T_TMP/triggers.want" "$T_TMP/procd.log"

# 2. Every option, quoting, booleans, lists as options, a disabled rule.
cat >"$uci/socks64" <<'EOF'
config gateway
	option enabled 'yes'
	list listen '127.0.0.1:1080'
	list listen '[::1]:1080'
	option workers '2'
	option nameserver '198.51.100.53 [2001:db8:6::53]:5353'
	option prefer 'none'
	option handshake_timeout '5s'
	option connect_timeout '7s'
	option idle_timeout '0'
	option bind_timeout '1m'
	option attempt_delay '100ms'
	option resolution_delay '0'
	option dns_timeout '1s'
	option dns_tries '3'
	option dns_cache_size '0'
	option dns_cache_max_ttl '10m'
	option dns_negative_ttl '0'
	option max_sessions '100'
	option max_sessions_per_client '10'
	option max_sessions_per_user '5'
	option log_level 'debug'
	list auth 'none'
	option allow_resolve 'off'
	option user 'nobody'
	option stats_file '/var/run/socks64 stats#1.prom'
	option stats_interval '30s'

config rule 'r1'
	option action 'pass'
	option src '127.0.0.0/8 ::1'
	list dest '*.example.org'
	list dest '203.0.113.0/24'
	list port '80'
	list port '1024-2048'
	list command 'connect'
	list user 'alice'
	list method 'none'
	list version '5'

config rule
	option enabled '0'
	option action 'pass'

config rule
	option action 'block'
	list version '4'
EOF
cat >"$T_TMP/full.want" <<'EOF'
# AUTOGENERATED by /etc/init.d/socks64 from /etc/config/socks64 -- DO NOT EDIT.
# Change /etc/config/socks64 and run '/etc/init.d/socks64 reload'.
listen 127.0.0.1:1080
listen [::1]:1080
workers 2
nameserver 198.51.100.53
nameserver [2001:db8:6::53]:5353
prefer none
handshake-timeout 5s
connect-timeout 7s
idle-timeout 0
bind-timeout 1m
attempt-delay 100ms
resolution-delay 0
dns-timeout 1s
dns-tries 3
dns-cache-size 0
dns-cache-max-ttl 10m
dns-negative-ttl 0
max-sessions 100
max-sessions-per-client 10
max-sessions-per-user 5
log-level debug
auth none
allow-resolve no
user nobody
stats-file "/var/run/socks64 stats#1.prom"
stats-interval 30s
pass from 127.0.0.0/8,::1 to *.example.org,203.0.113.0/24 port 80,1024-2048 command connect user alice method none version 5
block version 4
EOF
rm -f "$T_TMP/var/etc/socks64d.conf"
run_init start_service >"$T_TMP/start2.out" 2>&1
expect_same "every gateway option and rule field translates" \
	"$T_TMP/full.want" "$T_TMP/var/etc/socks64d.conf"
t_check "socks64d -n accepts it (the quoted path comes back whole)" \
	gateway/socks64d -n -f "$T_TMP/var/etc/socks64d.conf"

# 3. Reload: a rule change is a HUP, and so is a listen change (the daemon
# applies listen lines on reload); a nameserver change is a restart.
cp "$T_TMP/var/etc/socks64d.conf" "$T_TMP/running.conf"
sed -i "s/list version '4'/list version '4'\n\tlist command 'bind'/" "$uci/socks64"
run_init reload_service >"$T_TMP/reload.out" 2>&1
echo "procd_send_signal socks64 * HUP" >"$T_TMP/hup.want"
expect_same "reload with a changed rule sends HUP" "$T_TMP/hup.want" "$T_TMP/procd.log"
t_check "reload put the new rule in place" \
	grep -qx 'block command bind version 4' "$T_TMP/var/etc/socks64d.conf"
sed -i "s/list listen '\[::1\]:1080'/list listen '[::1]:1081'/" "$uci/socks64"
run_init reload_service >"$T_TMP/reload2.out" 2>&1
expect_same "reload with a changed listen sends HUP" "$T_TMP/hup.want" "$T_TMP/procd.log"
sed -i "s/option prefer/list nameserver '2001:db8:6::53'\n\toption prefer/" "$uci/socks64"
run_init reload_service >"$T_TMP/reload3.out" 2>&1
echo restart >"$T_TMP/restart.want"
expect_same "reload with a changed nameserver restarts" "$T_TMP/restart.want" \
	"$T_TMP/procd.log"

# 4. Errors keep the running file: the daemon refuses a value, the script
# refuses a bad action and a line break.
run_init start_service >/dev/null 2>&1
cp "$T_TMP/var/etc/socks64d.conf" "$T_TMP/good.conf"
cp "$uci/socks64" "$T_TMP/good.uci"
sed -i "s/option prefer 'none'/option prefer 'ipv5'/" "$uci/socks64"
if run_init reload_service >"$T_TMP/bad.out" 2>&1; then
	t_fail "reload refuses a value socks64d refuses" "exit status 0"
elif ! grep -q 'prefer: expected ipv6, ipv4 or none' "$T_TMP/bad.out"; then
	sed 's/^/#   /' "$T_TMP/bad.out"
	t_fail "reload refuses a value socks64d refuses" "no daemon message"
elif [ -s "$T_TMP/procd.log" ] || ! cmp -s "$T_TMP/good.conf" "$T_TMP/var/etc/socks64d.conf"; then
	t_fail "reload refuses a value socks64d refuses" "changed something"
else
	t_pass "reload refuses a value socks64d refuses and keeps the running file"
fi
# `start` while running with a bad file re-registers the running one.
run_init start_service >/dev/null 2>&1
if cmp -s "$T_TMP/good.conf" "$T_TMP/var/etc/socks64d.conf" &&
	grep -qx "procd_set_param command .* -f $T_TMP/var/etc/socks64d.conf" "$T_TMP/procd.log"; then
	t_pass "start with a bad file keeps the running instance and file"
else
	t_fail "start with a bad file keeps the running instance and file"
fi
cp "$T_TMP/good.uci" "$uci/socks64"
sed -i "s/option action 'block'/option action 'deny'/" "$uci/socks64"
if run_init check >"$T_TMP/bad2.out" 2>&1 || ! grep -q "action must be pass or block" "$T_TMP/bad2.out"; then
	sed 's/^/#   /' "$T_TMP/bad2.out"
	t_fail "check refuses a bad rule action"
else
	t_pass "check refuses a bad rule action"
fi
# (The stand-in parser reads one line at a time, so the value is given
# directly.)
if STUB_LOG=/dev/null busybox ash -c '. "$1"; . "$2"; socks64_line users-file "$(printf "/a\nb")"' \
	sh "$T_TMP/stubs.sh" "$INITSCRIPT" >"$T_TMP/bad3.out" 2>&1 ||
	! grep -q "line break" "$T_TMP/bad3.out"; then
	sed 's/^/#   /' "$T_TMP/bad3.out"
	t_fail "a value with a line break is refused"
else
	t_pass "a value with a line break is refused"
fi
cp "$T_TMP/good.uci" "$uci/socks64"
t_check "check passes on a valid configuration" run_init check

# 5. Disabled: no instance, no file.
sed -i "s/option enabled 'yes'/option enabled '0'/" "$uci/socks64"
run_init start_service >/dev/null 2>&1
if [ -s "$T_TMP/procd.log" ] || [ -e "$T_TMP/var/etc/socks64d.conf" ]; then
	t_fail "a disabled gateway starts nothing"
else
	t_pass "a disabled gateway starts nothing"
fi

# 6. A translated configuration runs: the daemon (under strace when it is
# installed) serves one SOCKS session, reloads, logs counters and stops; the
# system calls it made must all be allowed by the unit's SystemCallFilter.
GWP=$(t_free_port) && WEBP=$(t_free_port) || exit 1
mkdir -p "$T_TMP/www"
echo packaging-page >"$T_TMP/www/index.html"
t_httpd "" 127.0.0.1 "$WEBP" "$T_TMP/www" || exit 1
cat >"$uci/socks64" <<EOF
config gateway 'main'
	option enabled '1'
	list listen '127.0.0.1:$GWP'
	option workers '1'
	option allow_resolve '1'

config rule
	option action 'pass'
	list src '127.0.0.1'
	list dest '127.0.0.1'
	list port '$WEBP'

config rule
	option action 'block'
EOF
rm -f "$T_TMP/var/etc/socks64d.conf"
run_init start_service >/dev/null 2>&1
runconf=$T_TMP/var/etc/socks64d.conf
STRACE=0
command -v strace >/dev/null 2>&1 && STRACE=1
if [ "$STRACE" = 1 ]; then
	t_bg "$T_TMP/gw.log" "" strace -f -qq -o "$T_TMP/strace.out" gateway/socks64d -f "$runconf"
else
	t_bg "$T_TMP/gw.log" "" gateway/socks64d -f "$runconf"
fi
tracer=$T_LASTPID
gwpid=$tracer
if t_wait_file_grep "$T_TMP/gw.log" 'ready' 15; then
	[ "$STRACE" = 1 ] && gwpid=$(pgrep -P "$tracer" | head -n 1)
	T_PIDS+=("$gwpid")
	body=$(curl -s --max-time 10 --socks5-hostname "127.0.0.1:$GWP" "http://127.0.0.1:$WEBP/")
	if [ "$body" = packaging-page ]; then
		t_pass "the translated configuration serves a session"
	else
		t_fail "the translated configuration serves a session" "got '$body'"
	fi
	kill -HUP "$gwpid"
	t_wait_file_grep "$T_TMP/gw.log" 'reloaded' 10 || t_fail "HUP reloads" "no 'reloaded'"
	kill -USR1 "$gwpid"
	t_wait_file_grep "$T_TMP/gw.log" 'stats: active=' 10 || t_fail "USR1 logs counters"
	kill -TERM "$gwpid"
	for _ in $(seq 1 100); do
		kill -0 "$tracer" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$gwpid" 2>/dev/null; then
		t_fail "SIGTERM stops the daemon"
	else
		t_pass "HUP, USR1 and TERM handled"
	fi
else
	sed 's/^/#   /' "$T_TMP/gw.log"
	t_fail "the translated configuration starts"
fi

# expand_filter SET...: every system call name in systemd's groups.
expand_filter() {
	local item
	for item in "$@"; do
		systemd-analyze syscall-filter "$item" 2>/dev/null |
			awk 'NR > 1 && $1 !~ /^#/ && NF { print $1 }' | while read -r s; do
			case $s in
			@*) expand_filter "$s" ;;
			*) echo "$s" ;;
			esac
		done
	done
}
if [ "$STRACE" = 1 ] && command -v systemd-analyze >/dev/null 2>&1 && [ -s "$T_TMP/strace.out" ]; then
	expand_filter @system-service | sort -u >"$T_TMP/allowed"
	expand_filter @privileged | sort -u >"$T_TMP/denied"
	# The calls after the exec of the daemon; "exited"/"killed" lines aside.
	awk '{ sub(/^[0-9]+ +/, ""); if (match($0, /^[a-z_0-9]+\(/)) print substr($0, 1, RLENGTH - 1) }' \
		"$T_TMP/strace.out" | grep -vx 'execve' | sort -u >"$T_TMP/used"
	bad=$(comm -23 "$T_TMP/used" "$T_TMP/allowed" | tr '\n' ' ')
	bad2=$(comm -12 "$T_TMP/used" "$T_TMP/denied" | tr '\n' ' ')
	if [ -z "$bad" ] && [ -z "$bad2" ]; then
		t_pass "every system call ($(wc -l <"$T_TMP/used") kinds) is in the unit's SystemCallFilter"
	else
		t_fail "system calls outside SystemCallFilter" "not allowed: $bad; denied: $bad2"
	fi
else
	t_skip "system calls against SystemCallFilter" "needs strace and systemd-analyze"
fi

# ---- OpenWrt package Makefile -------------------------------------------------

# Every file of this tree its install rules name exists (the client
# configuration is installed only when there is one).
missing=
while read -r f; do
	[ -z "$f" ] || [ -e "$f" ] || missing="$missing $f"
done < <(grep -o '$(PKG_BUILD_DIR)/[A-Za-z0-9_./-]*' init/openwrt/Makefile |
	sed 's|^$(PKG_BUILD_DIR)/||' | grep -vx 'conf/socks64.conf' | sort -u)
if [ -z "$missing" ]; then t_pass "init/openwrt/Makefile names only files that exist"; else
	t_fail "init/openwrt/Makefile names only files that exist" "missing:$missing"; fi
missing=
for k in 'PKG_NAME:=socks64' 'define Package/socks64d' 'define Package/libsocks64' \
	'+libcares' '+libnl-tiny' '+SOCKS64D_GSSAPI:krb5-libs' 'define Package/socks64d/conffiles' \
	'$(eval $(call BuildPackage,socks64d))' '$(eval $(call BuildPackage,libsocks64))'; do
	grep -qF -- "$k" init/openwrt/Makefile || missing="$missing '$k'"
done
if [ -z "$missing" ]; then t_pass "openwrt Makefile declares both packages and their dependencies"
else t_fail "openwrt Makefile declares both packages and their dependencies" "missing:$missing"; fi

# ---- shellcheck ----------------------------------------------------------------

if command -v shellcheck >/dev/null 2>&1; then
	# procd scripts: `local` (SC3043) is in busybox ash; START/USE_PROCD
	# (SC2034) are read by rc.common.
	t_check "shellcheck $INITSCRIPT" shellcheck -s sh -e SC3043,SC2034 "$INITSCRIPT"
	t_check "shellcheck tests/integration/test_packaging.sh" \
		shellcheck -x tests/integration/test_packaging.sh
else
	t_skip "shellcheck" "shellcheck is not installed (apt-get install shellcheck)"
fi

t_finish
