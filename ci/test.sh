#!/usr/bin/env bash
# ci/test.sh - the whole test suite, what `./tcplab test` runs (and CI through .ci/run):
#   0. the DPDK stacks the build made, with their packages' versions (python3 -m
#      tcplab.stacks); a stack whose packages are installed but that was not built
#      ends the run here: exit 1, one line naming the stack
#   1. C unit tests of build/ (meson test, suite unit)
#   2. the same unit tests built with AddressSanitizer + UBSan and warnings as errors, then
#      the fuzz drivers (suite fuzz: every input parser on 100,000 inputs) in that build
#   3. pytest (pytest/): scenarios, result schema, CLI errors, histogram accuracy, ...
# Ends with pytest's summary line. Extra arguments go to pytest.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${TCPLAB_BUILD:-$root/build}
asan=$root/build-asan

# what `python3 -m tcplab.X` imports (pytest itself: pytest.ini's pythonpath)
export PYTHONPATH="$root/python:$root/results${PYTHONPATH:+:$PYTHONPATH}"

echo "== stacks"
TCPLAB_BIN=$build/harness/tcplab /usr/bin/python3 -m tcplab.stacks

echo "== unit tests ($build)"
meson test -C "$build" --suite unit --print-errorlogs -q

echo "== unit tests under ASan+UBSan ($asan)"
if [ ! -f "$asan/build.ninja" ]; then
    meson setup "$asan" "$root" -Db_sanitize=address,undefined -Db_lundef=false \
        -Dwerror=true -Dbuildtype=debug -Db_lto=false >/dev/null
fi
if ! out=$(ninja -C "$asan" 2>&1); then printf "%s\n" "$out" >&2; exit 1; fi
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C "$asan" --suite unit --print-errorlogs -q

echo "== fuzz under ASan+UBSan ($asan)"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C "$asan" --suite fuzz --print-errorlogs -q

echo "== pytest"
cd "$root"
export TCPLAB_BIN=$build/harness/tcplab
exec /usr/bin/python3 -m pytest -p no:cacheprovider pytest "$@"
