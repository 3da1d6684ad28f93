#!/usr/bin/env bash
# ci/setup.sh - make this machine able to build and run tcplab: install the Debian packages
# of ci/packages.txt that are missing (as root), configure meson into build/ and build.
# Quiet when there is nothing to do; build output goes to stderr so stdout stays for results.
#   ci/setup.sh [packages|build|all]     (default all)
# TCPLAB_PACKAGES names another package list (the tests use it).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
what=${1:-all}

missing_packages() {
    local pkgs list=${TCPLAB_PACKAGES:-$root/ci/packages.txt}
    if [ ! -r "$list" ]; then
        echo "tcplab: cannot read the package list $list" >&2
        exit 2
    fi
    pkgs=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$list")
    # dpkg-query prints one status line per package, "<name> install ok installed" when there
    for p in $pkgs; do
        if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed"; then
            printf '%s ' "$p"
        fi
    done
}

ensure_packages() {
    local missing
    missing=$(missing_packages) || exit 2
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "tcplab: missing Debian packages; run: sudo apt-get install -y $missing" >&2
        exit 2
    fi
    echo "tcplab: installing $missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q $missing >&2; then
        apt-get update -q >&2
        apt-get install -y -q $missing >&2
    fi
}

ensure_build() {
    local dir=${TCPLAB_BUILD:-$root/build}
    if [ ! -f "$dir/build.ninja" ]; then
        echo "tcplab: configuring $dir" >&2
        meson setup "$dir" "$root" >&2
    fi
    if ! out=$(ninja -C "$dir" 2>&1); then
        printf '%s\n' "$out" >&2
        echo "tcplab: build failed" >&2
        exit 2
    fi
    case "$out" in *"no work to do"*) ;; *) echo "tcplab: built $dir" >&2 ;; esac
}

case "$what" in
    packages) ensure_packages ;;
    build) ensure_build ;;
    all) ensure_packages; ensure_build ;;
    *) echo "ci/setup.sh: unknown step '$what' (valid: packages, build, all)" >&2; exit 2 ;;
esac
