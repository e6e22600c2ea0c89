#!/bin/sh
# Run every test: the unit test binaries (tests/unit/test_*), the loopback
# integration scripts (tests/integration/test_*.sh), the namespace
# scenarios (tests/netns/test_*.sh), the brief fuzzing and regression
# replay (tests/fuzz/test_fuzz.sh), fault injection and limits
# (tests/fault/test_*.sh), a brief soak (tests/soak/test_*.sh) and the
# interoperability checks against Dante built with GSSAPI
# (tests/interop/test_*.sh; the first run builds Dante, about two minutes,
# and caches it), each under a time limit.
#
# A test passes with exit status 0, is skipped with 77, fails otherwise (a
# unit binary counts as one test).  The last line is
#   N passed, N failed, N skipped
# and the exit status is 1 when anything failed.
#
#   sh tests/run.sh [WORD...]   run only tests whose path contains a WORD
#   SANITIZE=1                  binaries built with ASan/UBSan: abort on the
#                               first error, report leaks
#   TEST_TIMEOUT=600            seconds per test
set -u
cd "$(dirname "$0")/.." || exit 1

TEST_TIMEOUT=${TEST_TIMEOUT:-600}

if [ "${SANITIZE:-}" = 1 ]; then
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:halt_on_error=1:check_initialization_order=1:strict_init_order=1}
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:abort_on_error=1}
	# Leaks inside system libraries only, each explained in the file.
	LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0}
	export ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
	echo "run: sanitizers: ASAN_OPTIONS=$ASAN_OPTIONS UBSAN_OPTIONS=$UBSAN_OPTIONS LSAN_OPTIONS=$LSAN_OPTIONS"
fi

passed=0
failed=0
skipped=0
results=$(mktemp "${TMPDIR:-/tmp}/socks64-results.XXXXXX") || exit 1
trap 'rm -f "$results"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

selected() {
	[ $# -eq 1 ] && return 0
	t=$1
	shift
	for w in "$@"; do
		case $t in
		*"$w"*) return 0 ;;
		esac
	done
	return 1
}

# run_one NAME CMD...
run_one() {
	name=$1
	shift
	echo "=== $name"
	start=$(date +%s)
	timeout -k 10 "$TEST_TIMEOUT" "$@"
	rc=$?
	secs=$(($(date +%s) - start))
	case $rc in
	0)
		line="PASS: $name (${secs}s)"
		passed=$((passed + 1))
		;;
	77)
		line="SKIP: $name (${secs}s)"
		skipped=$((skipped + 1))
		;;
	124 | 137)
		line="FAIL: $name (timed out after ${TEST_TIMEOUT}s)"
		failed=$((failed + 1))
		;;
	*)
		line="FAIL: $name (exit status $rc, ${secs}s)"
		failed=$((failed + 1))
		;;
	esac
	echo "$line"
	echo "$line" >>"$results"
}

# Scripts run with the interpreter their first line names.
interpreter() {
	case $(head -n 1 "$1") in
	*bash*) echo bash ;;
	*) echo sh ;;
	esac
}

for f in tests/unit/test_*; do
	if [ ! -f "$f" ] || [ ! -x "$f" ]; then continue; fi
	case $f in
	*.c | *.d | *.o | *.h) continue ;;
	esac
	selected "$f" "$@" || continue
	run_one "$f" "./$f"
done

for f in tests/integration/test_*.sh tests/netns/test_*.sh tests/fuzz/test_*.sh \
	tests/fault/test_*.sh tests/soak/test_*.sh tests/interop/test_*.sh; do
	[ -f "$f" ] || continue
	selected "$f" "$@" || continue
	run_one "$f" "$(interpreter "$f")" "$f"
done

echo "=== summary"
cat "$results"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
