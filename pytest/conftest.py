"""conftest.py - fixtures of the tcplab pytest suite.

Session: the build (tcplab_bin), what the binary lists (listing; its topology table: table),
the result schema (result_schema). Per test: procs, a ProcessManager that stops everything
the test started (by PID) and prints the logs of it when the test failed; tcplab, the binary
run through it. The helpers are the project's package (python/tcplab, pytest.ini).

Parametrization from `tcplab list --json` (a test that parametrizes the name itself keeps its
own values):
  scenario      once per listed scenario;
  backend       once per listed backend this suite drives with every scenario: only
                "kernel" (the DPDK stacks have their own tests, with dpdk_stack);
  dpdk_stack    once per DPDK stack (tcplab.stacks.survey): each one built, and each one
                this tree expects but the binary lacks, which skips with the reason (a
                package missing) or fails (its packages are here: the build broke);
  any_backend   the kernel, every other listed backend, and the expected DPDK stacks the
                binary lacks (as for dpdk_stack).
The last two are module-scoped, so a module's fixtures may start a stack once; a module
marked only_stack(NAME) takes that stack alone (its own settings and build).
started_stack is dpdk_stack once seen to start here (a short echo_rr on memif, once a
session per stack): where DPDK cannot start, the test skips with the stack's message.

Markers for what a test needs skip with the reason when it is missing: root, dpdk, netns;
stack_absent (set on the parameters above) skips or fails with its reason.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tcplab import namespaces, schema, stacks
from tcplab.binary import EXIT_USAGE, Listing, Tcplab, find_binary, hist_tool_path
from tcplab.proc import ProcessManager
from tcplab.topology import LINUX, Table

ROOT = Path(__file__).resolve().parent.parent
BACKENDS_RUN_HERE = (LINUX,)

_binary_key = pytest.StashKey[Path]()
_listing_key = pytest.StashKey[Listing]()
_reports_key = pytest.StashKey[dict[str, pytest.TestReport]]()
_started_key = pytest.StashKey[dict[str, str | None]]()
_survey_key = pytest.StashKey[list[stacks.Presence]]()

MARKERS = {
    "root": "needs root (network namespaces, raw sockets)",
    "dpdk": "needs DPDK (libdpdk found by pkg-config)",
    "netns": "needs network namespaces (root and iproute2)",
}


def pytest_configure(config: pytest.Config) -> None:
    for name, what in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {what}")
    config.addinivalue_line("markers", "stack_absent(why, broken): a DPDK stack parameter the "
                            "binary lacks: skip with why, or fail when the build broke")
    config.addinivalue_line("markers", "only_stack(*names): dpdk_stack takes these only (tests "
                            "of one stack's own settings and build)")


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
    absent = item.get_closest_marker("stack_absent")
    if absent is not None:
        if absent.kwargs["broken"]:
            pytest.fail(absent.args[0], pytrace=False)
        pytest.skip(absent.args[0])
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


def _stack_params(config: pytest.Config, *first: str) -> list[Any]:
    """@first, then every DPDK stack: the absent ones marked stack_absent with their reason."""
    if _survey_key not in config.stash:
        config.stash[_survey_key] = stacks.survey(_listing(config).table, ROOT)
    survey = [p for p in config.stash[_survey_key] if p.name not in first]
    return [*first, *(pytest.param(p.name, id=p.name, marks=() if p.built else
                                   pytest.mark.stack_absent(p.why, broken=p.broken))
                      for p in survey)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for name in ("dpdk_stack", "any_backend"):
        if name in metafunc.fixturenames and not _parametrized_by_test(metafunc, name):
            first = [] if name == "dpdk_stack" else \
                [LINUX, *(b for b in _listing(metafunc.config).backends if b != LINUX)]
            params = _stack_params(metafunc.config, *first)
            only = metafunc.definition.get_closest_marker("only_stack")
            if only is not None:
                params = [p for p in params if getattr(p, "values", (p,))[0] in only.args]
            metafunc.parametrize(name, params, scope="module")
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


@pytest.fixture
def started_stack(request: pytest.FixtureRequest, dpdk_stack: str, tcplab_bin: Path,
                  tmp_path_factory: pytest.TempPathFactory) -> str:
    """@dpdk_stack, once a short echo_rr on memif has shown that it starts here (once per
    session and stack); where it exits 2 (DPDK cannot start here) the test skips with the
    stack's own line. Any other outcome is left to the test to judge."""
    seen = request.config.stash.setdefault(_started_key, {})
    if dpdk_stack not in seen:
        procs = ProcessManager(tmp_path_factory.mktemp(f"start-{dpdk_stack}"))
        try:
            run = Tcplab(tcplab_bin, procs).run(
                "echo_rr", "--topology", "memif", "--duration", "0.1", "--warmup", "0",
                backend=dpdk_stack, out=tmp_path_factory.mktemp(f"start-{dpdk_stack}-out"))
        finally:
            procs.cleanup()
        lines = [ln for ln in run.completed.stderr.splitlines() if ln.strip()]
        mine = [ln for ln in lines if ln.startswith(f"{dpdk_stack}:")] or lines[-1:]
        seen[dpdk_stack] = None if run.rc != EXIT_USAGE else \
            f"{dpdk_stack} cannot start here: {mine[0] if mine else 'exit 2'}"
    if seen[dpdk_stack] is not None:
        pytest.skip(seen[dpdk_stack])
    return dpdk_stack


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


def assert_run_refused(tcplab_bin: Path, out: Path, stack: str, flags: list[str],
                       message: str, namespace_prefix: str) -> None:
    """`tcplab run echo_rr FLAGS` (STACK in them standing for @stack) is refused as bad
    input should be: exit 2, one line saying @message, no result written, and no namespace
    named @namespace_prefix* made or left."""
    before = namespaces.listed(namespace_prefix)
    flags = [stack if f == "STACK" else f for f in flags]
    done = subprocess.run([str(tcplab_bin), "run", "echo_rr", "--out", str(out), *flags],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert message in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert not (out / "echo_rr.json").exists()
    assert namespaces.listed(namespace_prefix) == before

