"""Helpers the benchmarks share: run the tcplab binary, start and stop helper processes,
wait for a TCP port; nearest-rank percentiles and medians (percentile.py)."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..percentile import exact, median
from ..proc import ROOT, build_dir, tcplab_bin

__all__ = ["NO_CAPTURE", "ROOT", "build_dir", "free_port", "log", "median", "percentile",
           "run_scenario", "stop", "tcplab_bin", "wait_port"]

# A benchmark's runs keep no capture (their directories go anyway), and record none: the
# DPDK capture ring copies every frame (its cost against a run without it: `tcplab bench
# capture`, issue 16) and a kernel side in a namespace gets a tcpdump (not measured).
NO_CAPTURE = ("--pcap", "never")


def log(msg: str) -> None:
    print(f"tcplab bench: {msg}", file=sys.stderr, flush=True)


def run_scenario(name: str, *args: str) -> dict:
    """Run one scenario quietly and return its result JSON (raises on exit 2)."""
    with tempfile.TemporaryDirectory(prefix="tcplab-bench-") as out:
        cmd = [str(tcplab_bin()), "run", name, "--quiet", "--out", out, *NO_CAPTURE, *args]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.strip()}")
        with open(Path(out) / f"{name}.json") as f:
            return json.load(f)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Wait until something accepts on 127.0.0.1:port: the server's own readiness."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


def stop(proc: subprocess.Popen) -> None:
    """End a process this benchmark started, by its PID."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile, the definition tcplab's histogram uses."""
    return exact(sorted(values), p)
