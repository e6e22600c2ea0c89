#!/bin/sh
# Install the Debian packages that building and testing socks64 needs and
# that this machine lacks.  Quick and idempotent: apt-get runs (update once,
# then install) only when something is missing.  Without root it lists what
# is missing and fails.
set -eu

SOCKS64_DEPS="build-essential pkg-config clang clang-format libc-ares-dev libcmocka-dev
libnl-3-dev libnl-route-3-dev libkrb5-dev libcrypt-dev dnsmasq-base curl iproute2
python3 python3-socks ncat procps dante-server microsocks libclang-rt-14-dev
mandoc busybox shellcheck systemd krb5-kdc krb5-admin-server krb5-user python3-pyftpdlib python3-gssapi dante-client proxychains4 keepalived
tcpdump strace util-linux"

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps: not a Debian system; install the equivalents of: $SOCKS64_DEPS" >&2
	exit 0
fi

missing=
for p in $SOCKS64_DEPS; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done

if [ -z "$missing" ]; then
	echo "deps: all present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run as root: apt-get update && apt-get install -y$missing" >&2
	exit 1
fi

echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086 # word splitting of the package list is wanted
apt-get install -y -q --no-install-recommends $missing
