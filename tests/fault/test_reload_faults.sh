#!/bin/bash
# Reload faults (loopback): the users file vanishes, turns world-readable or
# becomes a directory, and the configuration file itself vanishes, each
# before a SIGHUP.  Every such reload must be refused with one log line
# naming the cause, the running configuration (logins included) must keep
# serving, and a later good reload must take effect.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init
if ! t_is_socks64d; then
	t_skip "reload faults" "needs socks64d"
	t_finish
fi

GWP=$(t_free_port) && WEBP=$(t_free_port) || exit 1
mkdir -p "$T_TMP/www"
echo "reload-fault-page" >"$T_TMP/www/index.html"
t_httpd "" 127.0.0.1 "$WEBP" "$T_TMP/www" || exit 1

USERS=$T_TMP/users
printf 'alice-pw\n' | "$SOCKS64D" -p alice >"$USERS" || exit 1
chmod 600 "$USERS"
cat >"$T_TMP/gw.conf" <<EOF
listen 127.0.0.1:$GWP
workers 2
auth username
users-file $USERS
log-level info
EOF
t_gw_start "" "$T_TMP/gw.conf" "$T_TMP/gw.log" || exit 1
PID=$(t_gw_pid)

# login NAME PASSWORD: fetch the page through the gateway with that login.
login() {
	curl -sS --max-time 10 --socks5 "127.0.0.1:$GWP" --proxy-user "$1:$2" \
		"http://127.0.0.1:$WEBP/index.html" 2>&1
}
expect_login() {
	local name=$1 user=$2 pw=$3 want=$4 out
	out=$(login "$user" "$pw")
	case $want:$out in
	ok:reload-fault-page) t_pass "$name" ;;
	refused:reload-fault-page) t_fail "$name" "the login was accepted" ;;
	refused:*) t_pass "$name" ;;
	*) t_fail "$name" "$out" ;;
	esac
}

# hup NAME: send SIGHUP and wait for the next reload verdict in the log;
# prints "ok" or "failed".
hup() {
	local before
	before=$(grep -cE 'reloaded|reload failed' "$T_GW_LOG")
	kill -HUP "$PID"
	for _ in $(seq 1 50); do
		if [ "$(grep -cE 'reloaded|reload failed' "$T_GW_LOG")" -gt "$before" ]; then
			grep -E 'reloaded|reload failed' "$T_GW_LOG" | tail -n 1 |
				grep -q 'reload failed' && echo failed || echo ok
			return 0
		fi
		sleep 0.1
	done
	echo none
}

# refused_reload NAME REGEX: a reload that must fail with one line matching REGEX.
refused_reload() {
	local name=$1 re=$2 v line
	v=$(hup)
	line=$(grep 'reload failed' "$T_GW_LOG" | tail -n 1)
	if [ "$v" = failed ] && grep -Eq -- "$re" <<<"$line"; then
		t_pass "$name: reload refused and logged"
		echo "#   log: $line"
	else
		t_fail "$name: reload refused and logged" "verdict $v, last line: $line"
	fi
	expect_login "$name: the running logins still work" alice alice-pw ok
	expect_login "$name: a wrong password is still refused" alice wrong refused
}

expect_login "login with the first users file" alice alice-pw ok

rm -f "$USERS"
refused_reload "users file removed" "$USERS"
n=$(grep -c 'reload failed' "$T_GW_LOG")
if [ "$n" -eq 1 ]; then
	t_pass "one log line for one refused reload"
else
	t_fail "one log line for one refused reload" "$n lines"
fi

printf 'bob-pw\n' | "$SOCKS64D" -p bob >"$USERS" || exit 1
chmod 644 "$USERS"
refused_reload "users file readable by others" "$USERS"

rm -f "$USERS"
mkdir "$USERS"
refused_reload "users file replaced by a directory" "$USERS"
rmdir "$USERS"

mv "$T_TMP/gw.conf" "$T_TMP/gw.conf.away"
refused_reload "configuration file removed" "gw\.conf"
mv "$T_TMP/gw.conf.away" "$T_TMP/gw.conf"

# A good file again: the new users take over.
printf 'bob-pw\n' | "$SOCKS64D" -p bob >"$USERS" || exit 1
chmod 600 "$USERS"
v=$(hup)
if [ "$v" = ok ]; then
	t_pass "a good users file is loaded by the next reload"
else
	t_fail "a good users file is loaded by the next reload" "verdict $v"
	t_gw_log_tail 10
fi
expect_login "after the good reload: the new user logs in" bob bob-pw ok
expect_login "after the good reload: the removed user is refused" alice alice-pw refused

if t_gw_alive; then
	t_pass "gateway alive after the reload faults"
else
	t_fail "gateway alive after the reload faults"
fi
t_gw_stop "gateway exits cleanly"
t_finish
