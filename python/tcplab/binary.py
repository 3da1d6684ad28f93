"""binary.py - the tcplab binary from Python, for tests: find (or build) it, run its commands
through a ProcessManager and parse what it prints as JSON.

    tl = Tcplab(binary, procs)
    tl.listing()                          -> Listing (tcplab list --json; .table: topology)
    tl.run("echo_rr", "--duration", "1", out=dir) -> RunOutcome (exit status, result JSON)
    with tl.serve("echo") as sv: sv.ready, sv.address, sv.stats(), sv.quit()
"""
from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .proc import Completed, ManagedProcess, ProcessManager, build_dir, tcplab_bin
from .topology import Table

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_USAGE = 2

RUN_TIMEOUT_S = 60.0
READY_TIMEOUT_S = 30.0
CONTROL_TIMEOUT_S = 10.0


def find_binary(root: Path) -> Path:
    """The tcplab binary: $TCPLAB_BIN when set (./tcplab test sets it), else build/ is
    configured and built with ci/setup.sh build (the build fixture's work)."""
    if os.environ.get("TCPLAB_BIN"):
        binary = tcplab_bin()
        if not binary.is_file():
            raise FileNotFoundError(f"TCPLAB_BIN={binary}: no such file")
        return binary
    subprocess.run([str(root / "ci" / "setup.sh"), "build"], check=True)
    return build_dir() / "harness" / "tcplab"


def hist_tool_path(binary: Path) -> Path:
    """The histogram test helper, built next to the binary (harness/test/)."""
    return binary.parent / "test" / "hist_tool"


@dataclass(frozen=True)
class Listing:
    """What `tcplab list --json` reports; .table reads its backends and topologies (on first
    use: a test that needs no topology runs against a binary without the table too)."""
    scenarios: list[dict[str, str]]
    backends: list[str]
    programs: list[str]
    doc: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def parse(cls, text: str) -> "Listing":
        doc = json.loads(text)
        return cls(scenarios=doc["scenarios"],
                   backends=[b["name"] for b in doc["backends"]],
                   programs=[p["name"] for p in doc["programs"]], doc=doc)

    @property
    def table(self) -> Table:
        return Table.parse(self.doc)

    @property
    def scenario_names(self) -> list[str]:
        return [s["name"] for s in self.scenarios]

    def scenario(self, name: str) -> dict[str, str]:
        for s in self.scenarios:
            if s["name"] == name:
                return s
        raise KeyError(f"scenario {name!r} not in tcplab list (have {self.scenario_names})")


@dataclass
class RunOutcome:
    """One `tcplab run`: its exit status, output and the result file it should have written."""
    completed: Completed
    result_path: Path

    @property
    def rc(self) -> int:
        return self.completed.rc

    @property
    def result(self) -> dict[str, Any]:
        assert self.result_path.is_file(), (
            f"no result file {self.result_path} (exit {self.rc}); stderr: "
            f"{self.completed.stderr.strip()!r}")
        return json.loads(self.result_path.read_text())


class Server:
    """A running `tcplab serve PROGRAM`, ready (its ready line read and parsed)."""

    def __init__(self, proc: ManagedProcess, ready_timeout: float) -> None:
        self.proc = proc
        self.ready = self.read_event(ready_timeout)
        if self.ready.get("event") != "ready":
            raise AssertionError(f"serve: first line is not the ready event: {self.ready}")

    @property
    def address(self) -> tuple[str, int]:
        return self.ready["addr"], int(self.ready["port"])

    def read_event(self, timeout: float = CONTROL_TIMEOUT_S) -> dict[str, Any]:
        return json.loads(self.proc.read_line(timeout))

    def stats(self, timeout: float = CONTROL_TIMEOUT_S) -> dict[str, Any]:
        """Ask for stats; the reply comes once the SUT's connections have closed."""
        self.proc.send("stats")
        return self.read_event(timeout)

    def quit(self, timeout: float = CONTROL_TIMEOUT_S) -> dict[str, Any]:
        """Send quit; return the exit event (the process must then end)."""
        self.proc.send("quit")
        return self.read_event(timeout)

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.stop()


class Tcplab:
    """The binary, run through one test's ProcessManager."""

    def __init__(self, binary: Path, procs: ProcessManager) -> None:
        self.binary = binary
        self.procs = procs

    def cmd(self, *args: str, timeout: float = RUN_TIMEOUT_S,
            env: dict[str, str] | None = None) -> Completed:
        """Any tcplab command line, run to completion."""
        return self.procs.run([str(self.binary), *args], timeout, env)

    def listing(self, env: dict[str, str] | None = None) -> Listing:
        done = self.cmd("list", "--json", env=env)
        assert done.rc == EXIT_PASS, f"tcplab list --json: exit {done.rc}: {done.stderr}"
        return Listing.parse(done.stdout)

    def run(self, scenario: str, *flags: str, out: Path, backend: str = "kernel",
            timeout: float = RUN_TIMEOUT_S, env: dict[str, str] | None = None,
            result_name: str | None = None) -> RunOutcome:
        """`tcplab run SCENARIO --backend B --out OUT --quiet FLAGS...`; the result is
        expected at OUT/<result_name or SCENARIO>.json."""
        done = self.cmd("run", scenario, "--backend", backend, "--out", str(out), "--quiet",
                        *flags, timeout=timeout, env=env)
        return RunOutcome(done, out / f"{result_name or scenario}.json")

    def serve(self, program: str, *flags: str, backend: str = "kernel",
              ready_timeout: float = READY_TIMEOUT_S) -> Server:
        proc = self.procs.start([str(self.binary), "serve", program, "--backend", backend,
                                 *flags])
        return Server(proc, ready_timeout)
