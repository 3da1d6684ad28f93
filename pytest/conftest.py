"""conftest.py - fixtures of the tcplab pytest suite.

Session: the build (tcplab_bin), what the binary lists (listing; its topology table: table),
the result schema (result_schema). Per test: procs, a ProcessManager that stops everything
the test started (by PID) and prints the logs of it when the test failed; tcplab, the binary
run through it. The helpers are the project's package (python/tcplab, pytest.ini).

Parametrization from `tcplab list --json`: a test taking `scenario` runs once per listed
scenario; a test taking `backend` (and not parametrizing it itself) runs once per listed
backend that this suite drives, which is only "kernel" (the lwip backend has its own tests).

Markers for what a test needs skip with the reason when it is missing: root, dpdk, netns.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from tcplab import schema
from tcplab.binary import Listing, Tcplab, find_binary, hist_tool_path
from tcplab.proc import ProcessManager
from tcplab.topology import Table

ROOT = Path(__file__).resolve().parent.parent
BACKENDS_RUN_HERE = ("kernel",)

_binary_key = pytest.StashKey[Path]()
_listing_key = pytest.StashKey[Listing]()
_reports_key = pytest.StashKey[dict[str, pytest.TestReport]]()

MARKERS = {
    "root": "needs root (network namespaces, raw sockets)",
    "dpdk": "needs DPDK (libdpdk found by pkg-config)",
    "netns": "needs network namespaces (root and iproute2)",
}


def pytest_configure(config: pytest.Config) -> None:
    for name, what in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {what}")


def _missing(marker: str) -> str | None:
    """Why a test marked @marker cannot run here, or None."""
    if marker in ("root", "netns") and os.geteuid() != 0:
        return "needs root"
    if marker == "netns" and shutil.which("ip") is None:
        return "needs iproute2 (ip)"
    if marker == "dpdk":
        found = subprocess.run(["pkg-config", "--exists", "libdpdk"], check=False)
        if found.returncode != 0:
            return "needs DPDK (pkg-config libdpdk)"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    for name in MARKERS:
        if item.get_closest_marker(name) is not None:
            why = _missing(name)
            if why is not None:
                pytest.skip(f"{name}: {why}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Keep each phase's report on the item, so fixtures know at teardown if it failed."""
    outcome = yield
    rep = outcome.get_result()
    item.stash.setdefault(_reports_key, {})[rep.when] = rep


def _failed(item: pytest.Item) -> bool:
    return any(r.failed for r in item.stash.get(_reports_key, {}).values())


def _binary(config: pytest.Config) -> Path:
    if _binary_key not in config.stash:
        config.stash[_binary_key] = find_binary(ROOT)
    return config.stash[_binary_key]


def _listing(config: pytest.Config) -> Listing:
    if _listing_key not in config.stash:
        done = subprocess.run([str(_binary(config)), "list", "--json"], capture_output=True,
                              text=True, timeout=60, check=False)
        if done.returncode != 0:
            raise pytest.UsageError(f"tcplab list --json: exit {done.returncode}: "
                                    f"{done.stderr.strip()}")
        config.stash[_listing_key] = Listing.parse(done.stdout)
    return config.stash[_listing_key]


def _parametrized_by_test(metafunc: pytest.Metafunc, name: str) -> bool:
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0]
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",")]
        if name in names:
            return True
    return False


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "scenario" in metafunc.fixturenames and not _parametrized_by_test(metafunc, "scenario"):
        names = _listing(metafunc.config).scenario_names
        if not names:
            raise pytest.UsageError("tcplab list --json lists no scenarios")
        metafunc.parametrize("scenario", names)
    if "backend" in metafunc.fixturenames and not _parametrized_by_test(metafunc, "backend"):
        listed = _listing(metafunc.config).backends
        run_here = [b for b in listed if b in BACKENDS_RUN_HERE]
        if not run_here:
            raise pytest.UsageError(f"tcplab list --json lists none of {BACKENDS_RUN_HERE} "
                                    f"(backends: {listed})")
        metafunc.parametrize("backend", run_here)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def tcplab_bin(request: pytest.FixtureRequest) -> Path:
    """The build fixture: the binary of $TCPLAB_BIN, or build/ built by ci/setup.sh."""
    return _binary(request.config)


@pytest.fixture(scope="session")
def hist_tool(tcplab_bin: Path) -> Path:
    path = hist_tool_path(tcplab_bin)
    assert path.is_file(), f"{path} is not built (harness/test/meson.build builds it)"
    return path


@pytest.fixture(scope="session")
def listing(request: pytest.FixtureRequest) -> Listing:
    return _listing(request.config)


@pytest.fixture(scope="session")
def table(listing: Listing) -> Table:
    """Backends and topologies as the binary lists them (tcplab list --json)."""
    return listing.table


@pytest.fixture(scope="session")
def result_schema() -> jsonschema.Draft202012Validator:
    return schema.load(ROOT)


@pytest.fixture
def procs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProcessManager]:
    """Processes of this test: always stopped by PID afterwards; their logs are printed
    (shown in the report) when the test failed."""
    mgr = ProcessManager(tmp_path / "procs")
    yield mgr
    leftovers = mgr.cleanup()
    if _failed(request.node):
        sys.stderr.write(f"==== processes started by {request.node.nodeid}\n{mgr.dump()}\n")
        if leftovers:
            sys.stderr.write(f"==== still running at teardown, killed: {leftovers}\n")


@pytest.fixture
def tcplab(tcplab_bin: Path, procs: ProcessManager) -> Tcplab:
    return Tcplab(tcplab_bin, procs)
