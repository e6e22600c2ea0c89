#!/bin/sh
# Brief fuzzing, run by tests/run.sh (and `make fuzz-brief`): builds the
# libFuzzer targets if needed (`make -s fuzz-bins`), replays every saved
# crash in tests/fuzz/regress/TARGET/, then runs each target for a few
# seconds from its seed corpus and what longer runs grew
# (tests/fuzz/grown/TARGET/), plus fresh mutations.  Passes when nothing
# crashed; skips (77) when clang cannot link libFuzzer.
#
#   FUZZ_BRIEF_SECONDS=4      seconds per target
#   FUZZ_BRIEF_RUNS=5000000   upper bound on executions per target
#   FUZZ_TARGETS="conf ..."   only these targets (read by fuzz.mk)
#
# New corpus entries go to a temporary directory that is removed on exit;
# a crashing input is copied to tests/fuzz/artifacts/TARGET/ and the
# command that replays it is printed.
set -u
cd "$(dirname "$0")/../.." || exit 1

secs=${FUZZ_BRIEF_SECONDS:-4}
runs=${FUZZ_BRIEF_RUNS:-5000000}
cc=${FUZZ_CC:-clang}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/socks64-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\n%s\n' \
	'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return d && n; }' \
	>"$tmp/probe.c"
if ! command -v "$cc" >/dev/null 2>&1 ||
	! "$cc" -fsanitize=fuzzer,address,undefined -o "$tmp/probe" "$tmp/probe.c" \
		>"$tmp/probe.log" 2>&1; then
	echo "SKIP: fuzz: $cc cannot build libFuzzer targets (Debian: clang, libclang-rt-14-dev)"
	sed 's/^/  /' "$tmp/probe.log" 2>/dev/null | head -n 5
	exit 77
fi

if ! make -s --no-print-directory fuzz-bins; then
	echo "FAIL: fuzz: building the fuzz targets failed"
	exit 1
fi
list=$(make -s --no-print-directory fuzz-list) || exit 1

failed=
mark_failed() {
	case " $failed " in
	*" $1 "*) ;;
	*) failed="$failed $1" ;;
	esac
}

# "TARGET MAXLEN" per line
while read -r t maxlen; do
	[ -n "$t" ] || continue
	bin=tests/fuzz/build/fuzz_$t
	if [ ! -x "$bin" ]; then
		echo "FAIL: fuzz: $bin missing"
		mark_failed "$t"
		continue
	fi

	# Every input that once crashed must now run clean.
	if [ -d "tests/fuzz/regress/$t" ]; then
		for f in "tests/fuzz/regress/$t"/*; do
			[ -f "$f" ] || continue
			if ! timeout 60 "$bin" "$f" >"$tmp/regress.log" 2>&1; then
				echo "FAIL: fuzz: $t: regression input $f"
				grep -E 'Assertion|ERROR|runtime error|SUMMARY' "$tmp/regress.log" |
					head -n 5 | sed 's/^/  /'
				echo "  replay: $bin $f"
				mark_failed "$t"
			fi
		done
	fi

	mkdir -p "$tmp/new-$t" "$tmp/art-$t"
	timeout -k 10 $((secs + 60)) "$bin" -max_total_time="$secs" -runs="$runs" \
		-max_len="$maxlen" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$tmp/art-$t/" "$tmp/new-$t" "tests/fuzz/corpus/$t" \
		$([ -d "tests/fuzz/grown/$t" ] && echo "tests/fuzz/grown/$t") \
		>"$tmp/$t.log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$t.log")
	if [ "$rc" -eq 0 ]; then
		echo "ok: fuzz: $t: ${execs:-?} executions in ${secs}s"
		continue
	fi
	mark_failed "$t"
	echo "FAIL: fuzz: $t: exit status $rc"
	grep -E 'Assertion|ERROR|runtime error|SUMMARY' "$tmp/$t.log" | head -n 8 | sed 's/^/  /'
	if ls "$tmp/art-$t"/* >/dev/null 2>&1; then
		mkdir -p "tests/fuzz/artifacts/$t"
		cp "$tmp/art-$t"/* "tests/fuzz/artifacts/$t/"
		for a in "$tmp/art-$t"/*; do
			echo "  replay: $bin tests/fuzz/artifacts/$t/$(basename "$a")"
		done
	fi
done <<LIST
$list
LIST

if [ -n "$failed" ]; then
	echo "fuzz: failed:$failed"
	exit 1
fi
echo "fuzz: no crash"
exit 0
