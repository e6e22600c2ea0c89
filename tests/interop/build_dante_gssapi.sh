#!/usr/bin/env bash
# Build Dante (sockd, socksify, libsocks) WITH GSSAPI into a private, cached
# prefix and print that prefix on stdout.
#
# Debian's dante-server and dante-client packages are configured without
# GSSAPI, so the interop tests rebuild Debian's own `dante` source package:
#   - a private apt configuration whose only source is a deb-src twin of the
#     Debian archive entries this machine already uses (read from its
#     /etc/apt/sources.list*, at run time: no mirror is named here),
#   - `apt-get source dante` (the Debian patches applied),
#   - `autoreconf -fi`, `./configure --without-libwrap --without-pam
#     --without-upnp --prefix=PREFIX`, a serial `make` (the tree does not
#     build reliably in parallel), `make install`.
# Nothing of Dante enters the repository.  A finished build is reused: the
# second run prints the prefix at once.
#
#   tests/interop/build_dante_gssapi.sh        build if needed, print prefix
#   SOCKS64_DANTE_CACHE=DIR                    cache directory (default
#                     ${XDG_CACHE_HOME:-$HOME/.cache}/socks64/dante-gssapi)
#   SOCKS64_DANTE_REBUILD=1                    ignore a finished build
#
# Exit status: 0 with the prefix printed; 77 when the build cannot be done
# here (no apt, no source entry, not root for missing build dependencies) so
# callers can SKIP loudly; 1 when the build itself failed (log shown).
set -u

CACHE=${SOCKS64_DANTE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/socks64/dante-gssapi}
PREFIX=$CACHE/prefix
STAMP=$PREFIX/.socks64-built
LOG=$CACHE/build.log
BUILD_DEPS="dpkg-dev libkrb5-dev bison flex autoconf automake libtool make gcc"

say() {
	echo "build_dante_gssapi: $*" >&2
}

# dante_built: the cached prefix holds sockd, socksify and the client
# library (Debian names it libdsocksd), and both binaries link the GSSAPI
# library, i.e. the build really has GSSAPI.
dante_built() {
	[ -f "$STAMP" ] && [ -x "$PREFIX/sbin/sockd" ] && [ -x "$PREFIX/bin/socksify" ] || return 1
	[ -e "$PREFIX/lib/libdsocksd.so.0" ] || return 1
	ldd "$PREFIX/sbin/sockd" 2>/dev/null | grep -q 'libgssapi_krb5' || return 1
	ldd "$PREFIX/lib/libdsocksd.so.0" 2>/dev/null | grep -q 'libgssapi_krb5'
}

# codename: the Debian release of this machine (bookworm, ...).
codename() {
	local c=
	if [ -r /etc/os-release ]; then
		# shellcheck disable=SC1091 # the system file, read at run time
		c=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	fi
	if [ -z "$c" ] && command -v lsb_release >/dev/null 2>&1; then
		c=$(lsb_release -sc 2>/dev/null)
	fi
	echo "$c"
}

# src_entries CODENAME: print one-line "deb-src [signed-by=K] URI SUITE main"
# entries for every enabled Debian archive entry of this machine whose
# suite is CODENAME or CODENAME-updates/-security.  Handles both the
# one-line (*.list) and the deb822 (*.sources) formats; disabled files and
# third-party suites are ignored.
src_entries() {
	local cn=$1 f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk -v cn="$cn" '
			$1 != "deb" { next }
			{
				opts = ""; i = 2
				if ($2 ~ /^\[/) {
					while (i <= NF) { opts = opts " " $i; if ($i ~ /\]$/) break; i++ }
					i++
				}
				uri = $i; suite = $(i + 1)
				if (suite !~ "^" cn "(-updates|-security)?$") next
				for (j = i + 2; j <= NF; j++) if ($j == "main") {
					print "deb-src" opts " " uri " " suite " main"; break
				}
			}' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		# deb822: paragraphs separated by blank lines; "#" lines are comments
		awk -v cn="$cn" '
			function flush(   n, u, s, k, l, signed) {
				if (types ~ /(^| )deb( |$)/ && comps ~ /(^| )main( |$)/ && enabled != "no") {
					signed = (key != "") ? " [signed-by=" key "]" : ""
					n = split(uris, u, " "); m = split(suites, s, " ")
					for (k = 1; k <= n; k++) for (l = 1; l <= m; l++)
						if (s[l] ~ "^" cn "(-updates|-security)?$")
							print "deb-src" signed " " u[k] " " s[l] " main"
				}
				types = uris = suites = comps = key = enabled = ""
			}
			/^#/ { next }
			/^[ \t]*$/ { flush(); next }
			{
				k = tolower($1); sub(/:$/, "", k)
				v = $0; sub(/^[^:]*:[ \t]*/, "", v)
				if (k == "types") types = v
				else if (k == "uris") uris = v
				else if (k == "suites") suites = v
				else if (k == "components") comps = v
				else if (k == "signed-by") key = v
				else if (k == "enabled") enabled = tolower(v)
			}
			END { flush() }' "$f"
	done
}

install_build_deps() {
	local p st missing=
	for p in $BUILD_DEPS; do
		st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
		[ "$st" = installed ] || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		say "missing build dependencies:$missing (run as root to install them)"
		return 77
	fi
	say "installing build dependencies:$missing"
	# shellcheck disable=SC2086 # the package list is meant to split
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		$missing >>"$LOG" 2>&1 && return 0
	# A stale package list is the usual cause; refresh once and retry.
	apt-get update -q >>"$LOG" 2>&1
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		$missing >>"$LOG" 2>&1 || {
		say "could not install build dependencies (see $LOG)"
		return 1
	}
}

# fetch_source DIR: `apt-get source dante` into DIR through a private apt
# configuration (its own source list, package lists and cache under the
# build cache); the machine's apt state is left alone.
fetch_source() {
	local dir=$1 aptdir=$CACHE/apt cn entries
	cn=$(codename)
	if [ -z "$cn" ]; then
		say "cannot tell this machine's Debian release"
		return 77
	fi
	entries=$(src_entries "$cn" | sort -u)
	if [ -z "$entries" ]; then
		say "no Debian archive entry for $cn in /etc/apt/sources.list*"
		return 77
	fi
	mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial" "$aptdir/parts" \
		"$aptdir/prefs"
	printf '%s\n' "$entries" >"$aptdir/sources.list"
	# Downloads run as the invoking user: a cache in a home directory is
	# not writable by apt's sandbox user.
	local -a aptopts=(
		-o "Dir::Etc::SourceList=$aptdir/sources.list"
		-o "Dir::Etc::SourceParts=$aptdir/parts"
		-o "Dir::Etc::PreferencesParts=$aptdir/prefs"
		-o "Dir::State::Lists=$aptdir/lists"
		-o "Dir::Cache=$aptdir/cache"
		-o "Debug::NoLocking=1"
		-o "APT::Sandbox::User=$(id -un)"
	)
	say "fetching the dante source package ($(printf '%s\n' "$entries" | wc -l) source entries)"
	apt-get "${aptopts[@]}" update -q >>"$LOG" 2>&1 || {
		say "apt-get update with the private source list failed (see $LOG)"
		return 1
	}
	(cd "$dir" && apt-get "${aptopts[@]}" source -q dante) >>"$LOG" 2>&1 || {
		say "apt-get source dante failed (see $LOG)"
		return 1
	}
}

build() {
	local work=$CACHE/work src rc
	rm -rf "$work" "$PREFIX"
	mkdir -p "$work" || return 1
	fetch_source "$work" || return $?
	src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'dante-*' | head -n 1)
	if [ -z "$src" ] || [ ! -f "$src/configure.ac" ]; then
		say "no unpacked dante source under $work"
		return 1
	fi
	say "building $(basename "$src") with GSSAPI into $PREFIX (serial make, about 2 minutes)"
	(
		set -e
		cd "$src"
		autoreconf -fi
		./configure --prefix="$PREFIX" --without-libwrap --without-pam --without-upnp
		# Serial on purpose: parallel builds of this tree fail
		# intermittently.
		make -j1
		make -j1 install
	) >>"$LOG" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ]; then
		say "build failed in $src; last lines of $LOG:"
		tail -n 30 "$LOG" >&2
		return 1
	fi
	basename "$src" >"$STAMP"
	if ! dante_built; then
		rm -f "$STAMP"
		say "built, but sockd/libdsocksd do not link GSSAPI (see $src/config.log)"
		return 1
	fi
	rm -rf "$work"
}

main() {
	local rc
	mkdir -p "$CACHE" || exit 1
	if [ "${SOCKS64_DANTE_REBUILD:-0}" != 1 ] && dante_built; then
		echo "$PREFIX"
		exit 0
	fi
	if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
		say "not a Debian system: cannot rebuild the dante source package"
		exit 77
	fi
	# One builder at a time; a second caller waits for the first.
	exec 9>"$CACHE/.lock"
	if command -v flock >/dev/null 2>&1 && ! flock -w 900 9; then
		say "another build holds $CACHE/.lock"
		exit 1
	fi
	if [ "${SOCKS64_DANTE_REBUILD:-0}" != 1 ] && dante_built; then
		echo "$PREFIX"
		exit 0
	fi
	: >"$LOG"
	install_build_deps
	rc=$?
	[ "$rc" -eq 0 ] || exit "$rc"
	build
	rc=$?
	[ "$rc" -eq 0 ] || exit "$rc"
	say "done: $(cat "$STAMP")"
	echo "$PREFIX"
}

main "$@"
