"""test_scale.py - many connections on one engine thread, on every backend (any_backend: the
kernel on loopback, each DPDK stack on memif).

rr_many_1k (1,000 connections of closed-loop 64-byte request/response) runs briefly on each
backend: it must pass with no error, every connection must have been open at once, and the
result must say what each open connection cost the engine and the SUT (metrics.memory,
results/README.md) within the bounds the backend states (bounds() below); and again at
10,000 connections (the same scenario with --conns 10000). scenarios/README.md ("Scale") has
the limits measured per stack.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tcplab.binary import EXIT_PASS, Tcplab
from tcplab.topology import Table

DURATION = "2"
# 1,000 connections open within the warm-up on every stack; a SYN or SYN-ACK lost would
# cost lwIP its 3 s SYN timeout (scenarios/README.md, "Scale"), and the warm-up covers one
WARMUP = "3"
RUN_TIMEOUT_S = 180.0
KIB = 1024

# Resident growth per open connection, bytes: (floor, ceiling), the same for the engine and
# the SUT, as the backend states it (tl_limits.conn_bytes in <tcplab/stack.h>, with its
# reason; `tcplab list --json` backends[].limits). A user-space stack holds each connection
# in the process, so its growth has a floor; the kernel holds a socket in the kernel, and the
# processes grow by the harness's share only. Each ceiling is about twice the measured
# figure or more (scenarios/README.md, "Scale"). A backend that states none is held to
# NO_LIMITS.
NO_LIMITS = (0, 96 * KIB)


def bounds(table: Table, backend: str) -> tuple[tuple[int, int], str]:
    """(floor, ceiling) per open connection for @backend, and why."""
    lim = table.backend(backend).limits
    if lim is None:
        return NO_LIMITS, f"no limits stated by {backend}"
    return lim.conn_bytes, lim.conn_bytes_reason


def run_scale(tcplab: Tcplab, backend: str, out: Path, schema: jsonschema.Validator,
              *flags: str) -> dict[str, Any]:
    run = tcplab.run("rr_many_1k", "--duration", DURATION, "--warmup", WARMUP, *flags,
                     out=out, backend=backend, timeout=RUN_TIMEOUT_S)
    assert run.rc == EXIT_PASS, f"exit {run.rc}: {run.completed.stderr.strip()[-2000:]}"
    doc = run.result
    schema.validate(doc)
    assert doc["passed"] is True, [c for c in doc["checks"] if not c["ok"]]
    m = doc["metrics"]
    assert m["errors"] == 0, m["errors_by_reason"]
    assert m["transactions"] > 0
    assert doc["sut"]["open"] == 0, doc["sut"]
    return doc


def check_memory(doc: dict[str, Any], table: Table, backend: str, conns: int) -> None:
    mem = doc["metrics"].get("memory")
    assert mem is not None, "no metrics.memory: the connections were never all open at once"
    assert mem["open_conns"] == conns, mem
    assert mem["engine_rss_open"] == pytest.approx(
        mem["engine_rss_before"] + mem["engine_bytes_per_conn"] * conns), mem
    assert mem["sut_rss_before"] is not None and mem["sut_bytes_per_conn"] is not None, mem
    (lo, hi), why = bounds(table, backend)
    for side in ("engine", "sut"):
        got = mem[f"{side}_bytes_per_conn"]
        assert lo <= got <= hi, (f"{side}: {got:.0f} B per connection, expected {lo}..{hi} "
                                 f"({why}): {mem}")


def check_loop(doc: dict[str, Any], table: Table, backend: str, conns: int) -> None:
    """The engine's loop costs what is ready, not what is open, where the stack has a wait
    set (results/README.md, "metrics.loop"): a request/response registers each socket once,
    so a pass hands the stack next to nothing. Without one, a pass hands it every socket
    that waits, most of them."""
    loop = doc["metrics"]["loop"]
    assert loop["passes"] > 0, loop
    if table.backend(backend).wait_set:
        assert loop["wait"] == "wait_set", loop
        assert loop["handed_per_pass"] < conns / 100, loop
    else:
        assert loop["wait"] == "poll", loop
        assert loop["handed_per_pass"] > conns / 4, loop
    assert 0 < loop["ready_per_pass"] <= conns, loop


def test_rr_many_1k(any_backend: str, tcplab: Tcplab, table: Table, tmp_path: Path,
                    result_schema: jsonschema.Validator) -> None:
    doc = run_scale(tcplab, any_backend, tmp_path, result_schema)
    check_memory(doc, table, any_backend, 1000)
    check_loop(doc, table, any_backend, 1000)


# 10,000 connections (scenarios/README.md, "Scale"): the engine opens 128 at a time, and on a
# user-space stack a round over all of them takes seconds (lwIP's tcp_input walks every pcb),
# so the warm-up is long (lwIP had all 10,000 open after 40 to 45 s, and once not within 45)
# and a round's bound is 10 s. No stack setting: both sides are told the count
# (tl_stack_params.conns), and a DPDK side sizes its pool for it (32767 mbufs here).
WARMUP_10K = {"sockets": "4", "dpdk": "75"}


def test_rr_many_10k(any_backend: str, tcplab: Tcplab, table: Table, tmp_path: Path,
                     result_schema: jsonschema.Validator) -> None:
    attach = table.backend(any_backend).attach
    doc = run_scale(tcplab, any_backend, tmp_path, result_schema, "--conns", "10000",
                    "--warmup", WARMUP_10K[attach], "--set", "p99_max=10s")
    assert doc["params"]["conns"] == 10000, doc["params"]
    check_memory(doc, table, any_backend, 10000)
    check_loop(doc, table, any_backend, 10000)


def test_no_memory_without_all_open(tcplab: Tcplab, tmp_path: Path,
                                    result_schema: jsonschema.Validator) -> None:
    """crr closes each connection in its transaction: never all open, so no memory figures
    (and a check on them would fail, not pass)."""
    run = tcplab.run("crr", "--duration", "0.5", "--warmup", "0.1", out=tmp_path)
    assert run.rc == EXIT_PASS, run.completed.stderr
    result_schema.validate(run.result)
    assert "memory" not in run.result["metrics"]
