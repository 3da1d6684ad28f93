"""test_results.py - the result file: the issue's "Done means" run of echo_rr, a failing
scenario check (exit 1, passed false, that check not ok), and the schema itself rejecting
documents that break it.
"""
from __future__ import annotations

import copy
import json
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tcplab import schema
from tcplab.binary import EXIT_FAIL, EXIT_PASS, Tcplab

FAILING_CHECK = "p50 < 1ns"


def failing_scenario(root: Path) -> str:
    """echo_rr's text with one more check no run can pass."""
    return (root / "scenarios" / "echo_rr.scn").read_text() + f"\ncheck {FAILING_CHECK}\n"


def test_done_means_echo_rr(tcplab: Tcplab, result_schema: jsonschema.Validator,
                            tmp_path: Path) -> None:
    out = tmp_path / "DIR"
    run = tcplab.run("echo_rr", "--duration", "2", backend="kernel", out=out)
    rc = run.rc
    assert rc == EXIT_PASS, f"exit {rc}: {run.completed.stderr.strip()}"
    assert sorted(p.name for p in out.iterdir()) == ["echo_rr.hgrm", "echo_rr.hlog",
                                                     "echo_rr.json"]
    doc = run.result
    assert doc["schema"] == "tcplab.result/1"
    assert schema.errors(result_schema, doc) == []
    assert doc["passed"] is True
    lat = doc["metrics"]["latency_ns"]
    assert lat["p50"] > 0
    assert lat["buckets"] and sum(c for _, c in lat["buckets"]) == lat["count"] > 0
    assert doc["params"]["duration_s"] == 2.0
    assert doc["metrics"]["window_s"] == pytest.approx(2.0, abs=0.01)


def check_failed_run(rc: int, doc: dict[str, Any], validator: jsonschema.Validator) -> None:
    assert rc == EXIT_FAIL
    assert schema.errors(validator, doc) == []
    assert doc["passed"] is False
    checks = {c["name"]: c for c in doc["checks"]}
    assert FAILING_CHECK in checks, f"no check named {FAILING_CHECK!r}: {list(checks)}"
    failed = checks[FAILING_CHECK]
    assert failed["ok"] is False
    assert failed["limit"] == 1
    assert failed["value"] == doc["metrics"]["latency_ns"]["p50"] > 1
    others = [n for n, c in checks.items() if n != FAILING_CHECK and not c["ok"]]
    assert others == [], "only the impossible check may fail"


def test_failing_check_exits_1(tcplab: Tcplab, root: Path,
                               result_schema: jsonschema.Validator, tmp_path: Path) -> None:
    """A scenario found by name (in a scenario tree of its own, TCPLAB_ROOT) whose check
    cannot pass: the run completes, exit 1, the result says which check failed."""
    tree = tmp_path / "tree"
    (tree / "scenarios").mkdir(parents=True)
    (tree / "scenarios" / "echo_fail.scn").write_text(failing_scenario(root))
    run = tcplab.run("echo_fail", "--duration", "0.5", "--warmup", "0", out=tmp_path / "out",
                     env={"TCPLAB_ROOT": str(tree)})
    rc = run.rc
    assert rc == EXIT_FAIL, f"exit {rc}: {run.completed.stderr.strip()}"
    assert run.result["scenario"] == "echo_fail"
    check_failed_run(rc, run.result, result_schema)


def test_scenario_file_by_path(tcplab: Tcplab, root: Path,
                               result_schema: jsonschema.Validator, tmp_path: Path) -> None:
    """A scenario given as a file path runs like one found by name: its name is the file
    stem (DESIGN.md), so the result is OUT/<stem>.json."""
    path = tmp_path / "echo_fail.scn"
    path.write_text(failing_scenario(root))
    out = tmp_path / "out"
    run = tcplab.run(str(path), "--duration", "0.5", "--warmup", "0", out=out,
                     result_name="echo_fail")
    rc = run.rc
    assert rc == EXIT_FAIL, f"exit {rc}: {run.completed.stderr.strip()}"
    assert run.result["scenario"] == "echo_fail"
    check_failed_run(rc, run.result, result_schema)


class _ZeroEcho(socketserver.BaseRequestHandler):
    """Answers every byte with a zero byte: the right length, the wrong data."""

    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(bytes(len(data)))


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture
def corrupting_peer() -> Iterator[tuple[str, int]]:
    server = _Server(("127.0.0.1", 0), _ZeroEcho)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[0], server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(10)


def test_corrupted_replies_fail_the_run(tcplab: Tcplab, result_schema: jsonschema.Validator,
                                        corrupting_peer: tuple[str, int],
                                        tmp_path: Path) -> None:
    """Driving a peer (--peer) that answers with wrong bytes: every transaction is a
    data_mismatch error, the data_integrity check fails, exit 1."""
    addr, port = corrupting_peer
    run = tcplab.run("echo_rr", "--peer", f"{addr}:{port}", "--duration", "0.5", "--warmup",
                     "0", out=tmp_path / "out")
    rc = run.rc
    assert rc == EXIT_FAIL, f"exit {rc}: {run.completed.stderr.strip()}"
    doc = run.result
    assert schema.errors(result_schema, doc) == []
    assert doc["passed"] is False
    assert doc["topology"] == "peer" and doc["sut"] is None
    m = doc["metrics"]
    assert m["transactions"] == 0 and m["latency_ns"]["count"] == 0
    assert m["latency_ns"]["buckets"] == []
    assert m["errors"] == m["errors_by_reason"].get("data_mismatch", 0) > 0, \
        m["errors_by_reason"]
    checks = {c["name"]: c for c in doc["checks"]}
    assert checks["data_integrity"]["ok"] is False
    assert checks["data_integrity"]["value"] == m["errors"]


# ---- the schema rejects what breaks it ----

def _valid_result() -> dict[str, Any]:
    """A minimal document in the shape harness/result/result.c writes."""
    lat = {"count": 2, "min": 10, "mean": 15.0, "p50": 10, "p90": 20, "p99": 20,
           "p99_9": 20, "p99_99": 20, "max": 20, "buckets": [[10, 1], [20, 1]]}
    return {
        "schema": "tcplab.result/1", "scenario": "x", "description": "d",
        "backend": "kernel", "topology": "loopback", "commit": "unknown", "dirty": False,
        "started_at": "2026-01-02T03:04:05Z",
        "host": {"hostname": "h", "cpu_model": "c", "cpus": 2, "kernel": "k", "machine": "m"},
        "versions": {"tcplab": "0.1.0", "dpdk": "22.11", "lwip": "2.1.3", "stack": "s"},
        "params": {"program": "echo", "conns": 1, "duration_s": 1, "warmup_s": 0,
                   "pacing": "closed", "rate": None, "nodelay": True, "vars": {},
                   "overrides": {}},
        "metrics": {"window_s": 1, "transactions": 2, "tps": 2, "throughput_bps": 0,
                    "bytes_sent": 0, "bytes_received": 0, "connections": 0,
                    "connections_per_s": 0, "errors": 0, "errors_by_reason": {},
                    "latency_ns": lat},
        "stack_counters": {}, "sut": None, "interrupted": False,
        "checks": [{"name": "errors == 0", "ok": True, "value": 0, "limit": 0}],
        "passed": True,
    }


def _drop(path: str):
    def mutate(d: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for p in parents:
            d = d[p]
        del d[last]
    return mutate


def _set(path: str, value: Any):
    def mutate(d: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for p in parents:
            d = d[p]
        d[last] = value
    return mutate


BROKEN = {
    "no passed": _drop("passed"),
    "no schema": _drop("schema"),
    "other schema": _set("schema", "tcplab.result/2"),
    "no metrics": _drop("metrics"),
    "no p50": _drop("metrics.latency_ns.p50"),
    "p50 as text": _set("metrics.latency_ns.p50", "35us"),
    "negative count": _set("metrics.latency_ns.count", -1),
    "bucket of three": _set("metrics.latency_ns.buckets", [[10, 1, 5]]),
    "bucket of zero samples": _set("metrics.latency_ns.buckets", [[10, 0]]),
    "transactions fractional": _set("metrics.transactions", 1.5),
    "passed as text": _set("passed", "true"),
    "check without ok": _set("checks", [{"name": "x", "value": 0, "limit": 0}]),
    "unknown pacing": _set("params.pacing", "bursty"),
    "open pacing without rate": _set("params.pacing", "open"),
    "closed pacing with rate": _set("params.rate", 1000),
    "sut without bytes": _set("sut", {"event": "stats", "program": "echo"}),
    "bad timestamp": _set("started_at", "yesterday"),
    "no host": _drop("host"),
    "unknown metrics field": _set("metrics.tsp", 1),
}


def test_schema_accepts_the_minimal_document(result_schema: jsonschema.Validator) -> None:
    doc = _valid_result()
    assert schema.errors(result_schema, doc) == []
    doc["future_field"] = {"anything": 1}
    assert schema.errors(result_schema, doc) == [], "top level must stay open to additions"


@pytest.mark.parametrize("broken", BROKEN)
def test_schema_rejects(result_schema: jsonschema.Validator, broken: str) -> None:
    doc = copy.deepcopy(_valid_result())
    BROKEN[broken](doc)
    assert schema.errors(result_schema, json.loads(json.dumps(doc))) != []
