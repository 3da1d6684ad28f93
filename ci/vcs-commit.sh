#!/bin/sh
# vcs-commit.sh [SRC] - the commit of the source tree at SRC (default: this script's tree),
# as a result records it: "HASH" clean, "HASH-dirty" when a tracked file changed or a file
# git does not track sits among the sources or scenarios (they change what a run does);
# "unknown" outside git. Used by meson's vcs_tag (built into the binary) and by ./tcplab.
src=${1:-$(dirname "$0")/..}
hash=$(git -C "$src" rev-parse HEAD 2>/dev/null) || { echo unknown; exit 0; }
changed=$(git -C "$src" status --porcelain --untracked-files=no 2>/dev/null | head -1)
untracked=$(git -C "$src" ls-files --others --exclude-standard -- scenarios harness stack \
    python results/resultkit results/tcplab_results.py meson.build meson_options.txt ci \
    2>/dev/null | head -1)
if [ -n "$changed$untracked" ]; then
    echo "$hash-dirty"
else
    echo "$hash"
fi
