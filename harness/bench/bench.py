#!/usr/bin/python3
"""tcplab bench NAME [ARGS]: run a benchmark by name.

A benchmark is harness/bench/NAME.py with a main(argv) -> int. Benchmarks print ratios
measured side by side in one run; they are never timed tests. Names that are not a module
here are suite names, handled by suite.py when it exists (see results/README.md).
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOT_BENCHMARKS = {"bench", "common", "suite"}


def benchmarks() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.py") if p.stem not in NOT_BENCHMARKS)


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"tcplab_bench_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    sys.path.insert(0, str(HERE))
    spec.loader.exec_module(mod)
    return mod


def main(argv: list[str]) -> int:
    names = benchmarks()
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: tcplab bench NAME [ARGS]\n  benchmarks: " + ", ".join(names)
              + "\n  suites: quick, full (tcplab bench --suites)", file=sys.stdout if argv
              else sys.stderr)
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name in names:
        return load(name).main(rest)
    if (HERE / "suite.py").exists():
        return load("suite").main(argv)
    print(f"tcplab bench: unknown benchmark '{name}' (valid: {', '.join(names)})",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
