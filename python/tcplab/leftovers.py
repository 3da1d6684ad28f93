"""leftovers.py - what a `tcplab run` left behind after it ended, on whatever path: the one
answer for the tests and for `tcplab kill`.

A run is named by its engine's PID: its run id is tcplab<pid> (harness/cli/run.c), the prefix
of each side's DPDK runtime directory and hugepage files (stack/dpdk/eal.c) and the name of
its memif socket (abstract, or a file under /run/tcplab or /tmp); the namespaces it makes are
tcplab-r + a side letter + the PID (harness/topology.c; namespaces.made_by). Its processes
(the SUT, tcpdump for a capture) are found by a tag in their environment (proc.tagged_pids),
which every child inherits.
"""
from __future__ import annotations

from pathlib import Path

from .namespaces import made_by
from .proc import tagged_pids

RUN_NS_PREFIX = "tcplab-r"	# harness/topology.c PREFIX
DPDK_DIRS = (Path("/run/dpdk"), Path("/var/run/dpdk"), Path("/dev/hugepages"))
MEMIF_DIRS = (Path("/tmp"), Path("/run/tcplab"))
MEMIF_SUFFIX = ".memif"	# a memif port's control socket, RUN_ID.memif (stack/dpdk/settings.c)


def run_id(pid: int) -> str:
    """The run id of the `tcplab run` whose PID is @pid."""
    return f"tcplab{pid}"


def run_files(rid: str) -> list[str]:
    """What run @rid left in files and sockets: DPDK runtime dirs, hugepage files, memif
    sockets (listening or not)."""
    found = []
    for d in dict.fromkeys(d.resolve() for d in DPDK_DIRS):	# /var/run is /run, often
        if d.is_dir():
            found += [str(p) for p in d.iterdir() if p.name.startswith(rid + "-")]
    found += [p for p in memif_sockets() if f"/{rid}{MEMIF_SUFFIX}" in p]
    for d in MEMIF_DIRS:
        if d.is_dir():
            found += [str(p) for p in d.glob(f"{rid}*{MEMIF_SUFFIX}")]
    return found


def memif_sockets() -> list[str]:
    """The paths of the Unix sockets bound to a memif port's name (abstract ones with their
    leading @), any run's: /proc/net/unix."""
    with open("/proc/net/unix") as f:
        paths = [line.split()[-1] for line in f if len(line.split()) > 7]
    return [p for p in paths if p.endswith(MEMIF_SUFFIX)]


def everything(pid: int, tag: str | None = None) -> list[str]:
    """All the run with engine PID @pid left: its files and sockets, its namespaces
    ("netns NAME"), and with @tag the live processes carrying it ("pid N (COMM)")."""
    found = run_files(run_id(pid))
    found += [f"netns {n}" for n in made_by(RUN_NS_PREFIX, pid)]
    if tag is not None:
        found += [f"pid {p} ({comm(p)})" for p in tagged_pids(tag)]
    return found


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "gone"
