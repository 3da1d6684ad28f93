"""cases.py - socket-level conformance cases: both sides of one case, run once.

A case (scenarios/conformance/NAME.case) has a `peer` script, run on Linux, and a `sut`
script, run through the backend under test; both are `tcplab case FILE --side ...`
processes, each in its role's namespace (a Place), whose JSON trace lines are collected here,
passing `signal` lines from one side to the other's stdin. The SUT side starts first; the
peer starts once the SUT prints {"event": "ready"}, so an address the SUT's stack gives the
peer's side (a tap's kernel end) exists before the peer binds it.
"""
from __future__ import annotations

import json
import os
import selectors
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import UsageError
from .proc import ROOT, tcplab_bin
from .topology import Addresses
from .verdicts import ORACLE, Run

CASES = ROOT / "scenarios" / "conformance"
CASE_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class Place:
    """Where one run's two sides go: their namespaces, the addresses, the SUT's settings."""
    peer_ns: str
    sut_ns: str
    addresses: Addresses
    sut_opts: tuple[str, ...]


def side_cmd(ns: str, case: Path, side: str, backend: str, opts: tuple[str, ...],
             addrs: Addresses, run_id: str) -> list[str]:
    cmd = ["ip", "netns", "exec", ns, str(tcplab_bin()), "case", str(case), "--side", side,
           "--backend", backend, "--sut-addr", addrs.sut, "--peer-addr", addrs.engine,
           "--run-id", run_id]
    for o in opts:
        cmd += ["--stack-opt", o]
    return cmd


def spawn(cmd: list[str]) -> subprocess.Popen:
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def run_case(case: Path, at: Place, backend: str, run_id: str) -> Run:
    """Run both sides, relaying signals; the peer (Linux) starts when the SUT is ready;
    bounded by CASE_TIMEOUT_S; processes end by PID."""
    procs = {"sut": spawn(side_cmd(at.sut_ns, case, "sut", backend, at.sut_opts, at.addresses,
                                   run_id))}
    run = Run()
    try:
        relay(procs, run, lambda: spawn(side_cmd(at.peer_ns, case, "peer", ORACLE, (),
                                                 at.addresses, run_id)))
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
            p.wait()
    for side, p in procs.items():
        if p.returncode != 0 and run.error is None:
            err = p.stderr.read().decode(errors="replace").strip() if p.stderr else ""
            run.error = f"{side} exited {p.returncode}" + (f": {err}" if err else "")
    return run


def relay(procs: dict[str, subprocess.Popen], run: Run,
          start_peer: Callable[[], subprocess.Popen]) -> None:
    """Pass each side's signals to the other; procs starts with the SUT alone and gains the
    peer when the SUT's {"event": "ready"} line arrives."""
    other = {"peer": "sut", "sut": "peer"}
    sel = selectors.DefaultSelector()
    bufs: dict[str, bytes] = {}
    open_sides: set[str] = set()

    def watch(side: str, p: subprocess.Popen) -> None:
        assert p.stdout is not None
        os.set_blocking(p.stdout.fileno(), False)
        sel.register(p.stdout, selectors.EVENT_READ, side)
        bufs[side] = b""
        open_sides.add(side)

    watch("sut", procs["sut"])
    deadline = time.monotonic() + CASE_TIMEOUT_S
    while open_sides:
        left = deadline - time.monotonic()
        if left <= 0:
            run.error = f"timed out after {CASE_TIMEOUT_S:.0f}s (still running: " \
                        f"{', '.join(sorted(open_sides))})"
            return
        for key, _ in sel.select(timeout=left):
            side = key.data
            chunk = key.fileobj.read()  # type: ignore[union-attr]
            if not chunk:
                sel.unregister(key.fileobj)
                open_sides.discard(side)
                continue
            bufs[side] += chunk
            while b"\n" in bufs[side]:
                line, bufs[side] = bufs[side].split(b"\n", 1)
                rec = json.loads(line)
                if rec.get("event") == "ready":
                    if side == "sut" and "peer" not in procs:
                        procs["peer"] = start_peer()
                        watch("peer", procs["peer"])
                    continue
                handle_line(rec, side, procs.get(other[side]), run)


def handle_line(rec: dict, side: str, peer_proc: subprocess.Popen | None, run: Run) -> None:
    if "signal" in rec:
        if peer_proc is None:
            return
        if peer_proc.poll() is None and peer_proc.stdin is not None:
            try:
                peer_proc.stdin.write((rec["signal"] + "\n").encode())
                peer_proc.stdin.flush()
            except BrokenPipeError:
                pass
        return
    getattr(run, side).append(rec)
    if rec.get("err") in ("timeout", "no orchestrator") and "waited" in rec:
        run.error = f"{side} waited for '{rec['waited']}' in vain"


def describe(case: Path) -> str:
    for line in case.read_text().splitlines():
        if line.startswith("description"):
            return line[len("description"):].strip()
    return ""


def pick_cases(names: list[str]) -> list[Path]:
    available = sorted(CASES.glob("*.case"))
    if not names:
        return available
    by_name = {p.stem: p for p in available}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise UsageError(f"unknown case '{unknown[0]}' (valid: {', '.join(sorted(by_name))})")
    return [by_name[n] for n in names]


def check_syntax(cases: list[Path]) -> None:
    for case in cases:
        for side in ("peer", "sut"):
            p = subprocess.run([str(tcplab_bin()), "case", str(case), "--side", side,
                                "--check"], stderr=subprocess.PIPE, text=True)
            if p.returncode != 0:
                raise UsageError(p.stderr.strip())
