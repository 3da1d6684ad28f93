"""stacks.py - the DPDK stacks under test: the ones the binary has built (`tcplab list --json`,
attach "dpdk"), and EXPECTED, the one table of the stacks this tree ships and why each is
expected here. This table is the only place in the Python that names a stack; everything else
(pytest's parameters, `tcplab conform`, `tcplab bench stack`, the fuzz run) asks for them.

A stack of the table is expected where its plug-in's folder is in this source tree and the
Debian packages meson builds it from are installed (meson builds a plug-in whenever what it
needs is found): a binary without it then comes from a broken build. Where a package is
missing it is absent for that reason, which a test that would run on it gives as its skip.
Any other DPDK backend the binary lists (a user's plug-in on TCPLAB_STACK_PATH) is a DPDK
stack under test as well, expected by nobody.

    built(table)              the DPDK stacks the binary has, in its order
    survey(table)             those, then each expected stack it lacks, with why
    targets(name)             a stack's `tcplab bench stack` targets (none: reported only)
    default_stack(table, bin) the DPDK stack `tcplab run` takes when none is named

`python3 -m tcplab.stacks` (ci/test.sh's first step, so `./tcplab test`'s first lines)
prints each DPDK stack the binary ($TCPLAB_BIN) built with the versions of the packages it
was built from, and each expected one it lacks with why; it exits 1, after one line naming
the stack and the missing build, when a stack whose packages are installed was not built.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .proc import ROOT
from .topology import DPDK, Table


@dataclass(frozen=True)
class Expected:
    """A stack this tree builds where its packages are installed."""
    name: str				# the plug-in's name: what --backend takes
    folder: str				# its source, relative to the root
    packages: tuple[str, ...]		# the Debian packages meson builds it from
    # `tcplab bench stack` targets by ratio (bench/stack.py RATIOS): floor is echo_rr p50 /
    # the raw memif p50, at most; stream and crr the stack's / the kernel's, at least
    targets: dict[str, float] = field(default_factory=dict)
    # the counters whose sum is the segments that reached its TCP input (the fuzz run
    # reports their share of the frames sent); none: it counts no such thing
    tcp_input: tuple[str, ...] = ()


LWIP = "lwip"		# its own settings and build have their own tests (pytest/test_lwip.py)
GVISOR = "gvisor"	# likewise (pytest/test_gvisor.py)

EXPECTED: tuple[Expected, ...] = (
    Expected(LWIP, "stack/lwip", ("libdpdk-dev", "liblwip-dev"),
             {"floor": 2.0, "stream": 1.3, "crr": 2.0}),
    Expected(GVISOR, "stack/gvisor", ("libdpdk-dev", "golang-go", "golang-gvisor-gvisor-dev"),
             {"floor": 5.0},
             # transport/tcp/dispatcher.go queuePacket: every segment that met an endpoint
             ("tcp_valid_segments_received", "tcp_invalid_segments_received",
              "tcp_checksum_errors")),
)

# the counters every DPDK stack reports (stack/README.md, "Counters"), which the fuzz run
# and pytest/test_dpdk_stack*.py judge leaks by: a stack without one fails, so a renamed
# counter cannot switch a leak check off
LEAK_COUNTERS = ("mbufs_in_use", "mbufs_in_use_start", "sockets_open", "tcp_active")
RX_COUNTER = "rx_packets"	# frames its port received (dpk_port_counters)


@dataclass(frozen=True)
class Presence:
    """A DPDK stack as this machine has it: built, or absent and why."""
    name: str
    built: bool
    why: str = ""		# absent: the reason, one line
    broken: bool = False	# absent although expected: the build broke


def built(table: Table) -> list[str]:
    """The DPDK stacks the binary lists (attach "dpdk"), in its order."""
    return [b.name for b in table.backends if b.attach == DPDK]


def installed(packages: Iterable[str]) -> set[str]:
    """Which of @packages dpkg has installed (none where there is no dpkg)."""
    packages = list(packages)
    if not packages or shutil.which("dpkg-query") is None:
        return set()
    done = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${db:Status-Status}\n",
                           *packages], capture_output=True, text=True, timeout=30)
    # exit 1 when a package is unknown to dpkg: the known ones are still printed
    return {line.split("\t")[0] for line in done.stdout.splitlines()
            if line.endswith("\tinstalled")}


def versions(packages: Iterable[str]) -> dict[str, str]:
    """The installed version of each of @packages dpkg knows (none where there is no dpkg)."""
    packages = list(packages)
    if not packages or shutil.which("dpkg-query") is None:
        return {}
    done = subprocess.run(["dpkg-query", "-W", "-f",
                           "${Package}\t${db:Status-Status}\t${Version}\n", *packages],
                          capture_output=True, text=True, timeout=30)
    return {f[0]: f[2] for f in (line.split("\t") for line in done.stdout.splitlines())
            if len(f) == 3 and f[1] == "installed"}


def absence(exp: Expected, root: Path, have: set[str]) -> Presence:
    """Why an expected stack is not in the binary, and whether that means a broken build."""
    if not (root / exp.folder / "meson.build").is_file():
        return Presence(exp.name, False, f"{exp.name}: {exp.folder}/ is not in this source tree")
    missing = [p for p in exp.packages if p not in have]
    if missing:
        return Presence(exp.name, False, f"{exp.name}: {' / '.join(missing)} not installed")
    return Presence(exp.name, False, f"{exp.name}: not built, though {exp.folder}/ is here and "
                                     f"{', '.join(exp.packages)} are installed: the build "
                                     f"broke (meson setup build; ninja -C build)", broken=True)


def survey(table: Table, root: Path = ROOT) -> list[Presence]:
    """Every DPDK stack: the ones built, then each expected one the binary lacks."""
    have = built(table)
    lacking = [e for e in EXPECTED if e.name not in have]
    pkgs = installed({p for e in lacking for p in e.packages})
    return [Presence(n, True) for n in have] + [absence(e, root, pkgs) for e in lacking]


def targets(name: str) -> dict[str, float]:
    """A stack's bench targets by ratio; none for a stack the table does not know."""
    return next((dict(e.targets) for e in EXPECTED if e.name == name), {})


def tcp_input(name: str) -> tuple[str, ...]:
    """The counters whose sum is what reached @name's TCP input; () where none is known."""
    return next((e.tcp_input for e in EXPECTED if e.name == name), ())


def build_option(binary: Path, name: str) -> str | None:
    """A meson option of the build @binary (BUILD/harness/tcplab) came from; None where that
    build's introspection is not there."""
    intro = binary.resolve().parent.parent / "meson-info" / "intro-buildoptions.json"
    try:
        options = json.loads(intro.read_text())
    except (OSError, ValueError):
        return None
    return next((str(o["value"]) for o in options if o.get("name") == name), None)


def default_stack(table: Table, binary: Path) -> str | None:
    """What a run with no --backend takes on a DPDK side (harness/cli/cli.h): the build's
    default_stack option where the binary has it as a DPDK stack, else the first DPDK stack
    it lists; None when it has none."""
    have = built(table)
    wanted = build_option(binary, "default_stack")
    return wanted if wanted in have else next(iter(have), None)


def report(survey: list[Presence], have: dict[str, str]) -> tuple[list[str], list[str]]:
    """What `python3 -m tcplab.stacks` prints: the lines of the survey (a built stack with
    the versions in @have of its packages), and one line per broken build (empty: none)."""
    lines = []
    for p in survey:
        exp = next((e for e in EXPECTED if e.name == p.name), None)
        if p.built:
            pkgs = ", ".join(f"{k} {have[k]}" for k in (exp.packages if exp else ())
                             if k in have)
            lines.append(f"stack {p.name}: built" + (f" ({pkgs})" if pkgs else
                                                     " (not in the table: a user's plug-in)"))
        elif p.broken:
            lines.append(f"stack {p.name}: NOT BUILT (build broken)")
        else:
            lines.append(f"stack {p.name}: absent, its tests skip: {p.why}")
    broken = [f"tcplab test: stack {p.why}" for p in survey if p.broken]
    return lines, broken


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    from .proc import tcplab_bin
    from .topology import Table

    ap = argparse.ArgumentParser(prog="python3 -m tcplab.stacks", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.parse_args(argv)
    binary = tcplab_bin()
    if not binary.is_file():
        print(f"tcplab test: {binary}: no such file (the build did not make the binary)",
              file=sys.stderr)
        return 1
    sv = survey(Table.load(binary), ROOT)
    lines, broken = report(sv, versions({k for e in EXPECTED for k in e.packages}))
    print(f"stacks of {binary}:")
    print("\n".join(f"  {line}" for line in lines) or "  none")
    sys.stdout.flush()
    for line in broken:
        print(line, file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
