"""tcplab bench NAME [ARGS]: run a benchmark by name (`python3 -m tcplab.bench`).

A benchmark is a module of this folder with a main(argv) -> int, named in BENCHMARKS.
Benchmarks print ratios measured side by side in one run; they are never timed tests. Names
that are not a benchmark are suite names, handled by suite.py (see results/README.md).
"""
from __future__ import annotations

import sys
from collections.abc import Callable

from . import bio, calibrate, capture, overhead, stack, suite

BENCHMARKS: dict[str, Callable[[list[str]], int]] = {
    "bio": bio.main, "calibrate": calibrate.main, "capture": capture.main,
    "overhead": overhead.main, "stack": stack.main}


def main(argv: list[str]) -> int:
    names = sorted(BENCHMARKS)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: tcplab bench NAME [ARGS]\n  benchmarks: " + ", ".join(names)
              + "\n  suites: quick, full (tcplab bench --suites)", file=sys.stdout if argv
              else sys.stderr)
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name in BENCHMARKS:
        return BENCHMARKS[name](rest)
    return suite.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
