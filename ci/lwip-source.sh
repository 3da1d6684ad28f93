#!/usr/bin/env bash
# ci/lwip-source.sh - fetch and unpack Debian's lwip source package, the same version as the
# installed liblwip-dev, so meson can build lwIP with this project's own lwipopts.h
# (stack/lwip/opts/; why: stack/lwip/README.md, "lwIP build"). Nothing is vendored: the
# source comes from the machine's own Debian mirror at build time, into .deps/ (ignored).
#   ci/lwip-source.sh            prints the unpacked tree's path on stdout (fetching it once)
# The deb-src entries are derived from the system's Debian "deb" entries into a private apt
# directory under .deps/: the system's apt configuration is not changed. Exit 1 with one line
# on stderr when the source cannot be had (no network, no mirror): the caller falls back to
# the packaged liblwip.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
deps=$root/.deps

fail() {
	echo "tcplab: lwip source: $*" >&2
	exit 1
}

version=$(dpkg-query -W -f='${Version}' liblwip-dev 2>/dev/null) ||
	fail "liblwip-dev is not installed (its version picks the source)"
upstream=${version%-*}			# 2.1.3+dfsg1-2 -> 2.1.3+dfsg1
tree=$deps/lwip-$version
if [ -f "$tree/.tcplab-unpacked" ]; then
	echo "$tree"
	exit 0
fi
command -v dpkg-source >/dev/null || fail "dpkg-source is missing (Debian package dpkg-dev)"

apt=$deps/apt
mkdir -p "$apt/lists/partial" "$apt/sources.list.d" "$apt/dl"
: >"$apt/sources.list"
# one-line entries: deb URI SUITE COMPONENTS -> deb-src, Debian mirrors only
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
	[ -r "$f" ] || continue
	sed -n -e '/debian/s/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?/deb-src \1/p' "$f" \
		>>"$apt/sources.list"
done
# deb822 entries: the same stanza with Types: deb-src
for f in /etc/apt/sources.list.d/*.sources; do
	[ -r "$f" ] || continue
	grep -q '^URIs:.*debian' "$f" || continue
	sed -e 's/^Types:.*/Types: deb-src/' "$f" >"$apt/sources.list.d/$(basename "$f")"
done
opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=$apt/sources.list.d"
	-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root
	-q)
mkdir -p "$apt/cache/archives/partial"
echo "tcplab: fetching Debian's lwip $version source package" >&2
apt-get "${opts[@]}" update >"$apt/update.log" 2>&1 ||
	fail "apt-get update of deb-src entries failed (see $apt/update.log)"
(cd "$apt/dl" && apt-get "${opts[@]}" source --download-only "lwip=$version") \
	>"$apt/source.log" 2>&1 || fail "apt-get source lwip=$version failed (see $apt/source.log)"
rm -rf "$tree"
dpkg-source -x "$apt/dl/lwip_${version#*:}.dsc" "$tree" >"$apt/unpack.log" 2>&1 ||
	fail "dpkg-source -x failed (see $apt/unpack.log)"
[ -f "$tree/src/core/tcp.c" ] || fail "$tree has no src/core/tcp.c (lwip $upstream layout?)"
touch "$tree/.tcplab-unpacked"
echo "$tree"
