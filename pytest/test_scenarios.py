"""test_scenarios.py - every scenario `tcplab list --json` names, run briefly on each backend
this suite drives: it must pass, write a result valid against results/schema.json, and the
figures in it must agree with each other and with what the SUT reports. A scenario with an
`impair` line that the backend cannot run here (a kernel side needs netem) skips with the
binary's line; test_impair_scenarios.py tests those.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tcplab import percentile, schema
from tcplab.binary import EXIT_FAIL, EXIT_PASS, EXIT_USAGE, Listing, Tcplab

DURATION = "1"
WARMUP = "0.2"
PERCENTILES = {"p50": 50, "p90": 90, "p99": 99, "p99_9": "99.9", "p99_99": "99.99"}


def check_latency(lat: dict[str, Any], transactions: int) -> None:
    buckets = lat["buckets"]
    assert lat["count"] == transactions > 0
    assert lat["p50"] > 0
    assert buckets, "no latency buckets"
    assert sum(c for _, c in buckets) == lat["count"], "bucket counts do not add up to count"
    values = [v for v, _ in buckets]
    assert values == sorted(set(values)), "bucket values not strictly ascending"
    assert lat["min"] <= values[0], "min lies above the first bucket"
    assert lat["max"] <= values[-1], "max lies above the last bucket"
    if len(values) > 1:
        assert lat["max"] > values[-2], "max lies below the last bucket"
    order = [lat["min"], lat["p50"], lat["p90"], lat["p99"], lat["p99_9"], lat["p99_99"],
             lat["max"]]
    assert order == sorted(order), f"min <= p50 <= ... <= max violated: {order}"
    assert lat["min"] <= lat["mean"] <= lat["max"]
    wrong = []
    for key, p in PERCENTILES.items():
        want = percentile.from_buckets(buckets, lat["min"], lat["max"], p)
        if lat[key] != want:
            wrong.append(f"{key} is {lat[key]}, but the sample of rank "
                         f"{percentile.nearest_rank(lat['count'], p)} of {lat['count']} lies in "
                         f"the bucket up to {want}")
    assert not wrong, "percentiles disagree with their own buckets: " + "; ".join(wrong)


def check_rates(m: dict[str, Any]) -> None:
    w = m["window_s"]
    assert w == pytest.approx(float(DURATION), abs=0.01)
    assert m["tps"] == pytest.approx(m["transactions"] / w, rel=1e-9)
    assert m["throughput_bps"] == pytest.approx(
        (m["bytes_sent"] + m["bytes_received"]) * 8 / w, rel=1e-9)
    assert m["connections_per_s"] == pytest.approx(m["connections"] / w, rel=1e-9)
    assert m["errors"] == 0, f"errors: {m['errors_by_reason']}"
    assert m["errors_by_reason"] == {}


def msg_size(doc: dict[str, Any]) -> int:
    """The one message size the scenario declares as a param (size, read or write)."""
    sizes = [v for k, v in doc["params"]["vars"].items() if k in ("size", "read", "write")]
    assert len(sizes) == 1, f"expected one size param, have {doc['params']['vars']}"
    text = sizes[0].lower()
    return int(text[:-1]) * 1024 if text.endswith("k") else int(text)


def check_echo(doc: dict[str, Any]) -> None:
    m, sut, conns = doc["metrics"], doc["sut"], doc["params"]["conns"]
    size = msg_size(doc)
    # a transaction straddling either edge of the window counts its bytes or its latency,
    # not both: at most one per connection per edge
    slack = 2 * conns * size
    assert abs(m["bytes_sent"] - m["transactions"] * size) <= slack
    assert abs(m["bytes_received"] - m["transactions"] * size) <= slack
    assert sut["bytes_in"] == sut["bytes_out"], "echo SUT did not send back all it received"
    assert sut["bytes_in"] >= m["bytes_sent"]
    assert sut["accepted"] >= max(conns, m["connections"])


def check_sink(doc: dict[str, Any]) -> None:
    m, sut = doc["metrics"], doc["sut"]
    checks = {c["name"]: c for c in doc["checks"]}
    assert "sut_received_all_sent" in checks, "no check that the sink received every byte"
    c = checks["sut_received_all_sent"]
    assert c["ok"] and c["value"] == c["limit"] == sut["bytes_in"], c
    assert sut["bytes_in"] >= m["bytes_sent"] > 0
    assert m["bytes_received"] == 0 and sut["bytes_out"] == 0


def check_source(doc: dict[str, Any]) -> None:
    m, sut = doc["metrics"], doc["sut"]
    size = msg_size(doc)
    assert sut["bytes_out"] >= m["bytes_received"] > 0
    assert abs(m["bytes_received"] - m["transactions"] * size) <= 2 * doc["params"]["conns"] * size
    assert m["bytes_sent"] == 0


PROGRAM_CHECKS = {"echo": check_echo, "sink": check_sink, "source": check_source}


def test_scenario(tcplab: Tcplab, listing: Listing, result_schema: jsonschema.Validator,
                  scenario: str, backend: str, tmp_path: Path) -> None:
    run = tcplab.run(scenario, "--duration", DURATION, "--warmup", WARMUP, backend=backend,
                     out=tmp_path / "out")
    rc = run.rc
    if rc == EXIT_USAGE and "netem" in run.completed.stderr:
        # an `impair` line: a kernel side takes it through netem, which this topology or
        # kernel cannot give (test_impair_scenarios.py runs these where it can)
        pytest.skip(run.completed.stderr.strip().splitlines()[-1])
    assert rc == EXIT_PASS, f"exit {rc}: {run.completed.stderr.strip()}"
    doc = run.result
    assert schema.errors(result_schema, doc) == []

    listed = listing.scenario(scenario)
    assert doc["scenario"] == scenario
    assert doc["description"] == listed["description"]
    assert doc["backend"] == backend
    if os.environ.get("TCPLAB_COMMIT"):
        assert doc["commit"] == os.environ["TCPLAB_COMMIT"]
    assert doc["params"]["program"] == listed["program"]
    assert doc["params"]["overrides"] == {"duration": DURATION, "warmup": WARMUP}
    assert doc["params"]["duration_s"] == float(DURATION)
    assert doc["params"]["warmup_s"] == float(WARMUP)
    assert doc["passed"] is True and doc["interrupted"] is False
    assert [c["name"] for c in doc["checks"] if not c["ok"]] == []
    assert "data_integrity" in [c["name"] for c in doc["checks"]]

    m = doc["metrics"]
    check_rates(m)
    check_latency(m["latency_ns"], m["transactions"])

    sut = doc["sut"]
    assert sut is not None, "no SUT stats in the result"
    assert sut["program"] == listed["program"]
    assert sut["mismatches"] == 0 and sut["open"] == 0
    if listed["program"] in PROGRAM_CHECKS:
        PROGRAM_CHECKS[listed["program"]](doc)
    if doc["params"]["pacing"] == "closed":
        assert doc["params"]["rate"] is None


def test_open_loop_behind_schedule_is_said(tcplab: Tcplab, tmp_path: Path) -> None:
    """An open loop far past what one connection can do measures its own queue: the summary
    says so, and a rate the run keeps up with gets no such line."""
    behind = tcplab.run("echo_rr_open", "--duration", "0.5", "--warmup", "0", "--rate",
                        "2000000", out=tmp_path / "behind")
    assert behind.rc == EXIT_FAIL, behind.completed.stdout
    line = [ln for ln in behind.completed.stdout.splitlines() if "behind schedule" in ln]
    assert line and "2000000/s asked" in line[0], behind.completed.stdout
    kept = tcplab.run("echo_rr_open", "--duration", "0.5", "--warmup", "0", "--rate", "100",
                      out=tmp_path / "kept")
    assert kept.rc == EXIT_PASS, kept.completed.stdout
    assert "behind schedule" not in kept.completed.stdout


def test_engine_clock_agrees_with_the_kernels(tcplab: Tcplab, any_backend: str,
                                              tmp_path: Path) -> None:
    """On the kernel and on every DPDK stack (conftest.py, any_backend): the engine times
    transactions on the TSC where the kernel's clocksource is the TSC, or where its thread is
    pinned to one CPU whose TSC is invariant (a DPDK stack on a kvm-clock VM), at a rate it
    measures itself: a 20 ms sleep inside a measure block (the wait is the kernel's poll
    timeout, or the stack's own deadline) must come out as 20 ms and a little, and the run's
    window as long as asked."""
    path = tmp_path / "sleep.scn"
    path.write_text("description a timed pause\nprogram echo\nclient {\n connect\n"
                    " repeat {\n  measure {\n   sleep 20ms\n  }\n }\n}\n")
    run = tcplab.run(str(path), "--duration", "1", "--warmup", "0.1", backend=any_backend,
                     out=tmp_path / "out", result_name="sleep")
    assert run.rc == EXIT_PASS, run.completed.stdout + run.completed.stderr
    lat = run.result["metrics"]["latency_ns"]
    assert 20e6 <= lat["p50"] <= 22e6, lat
    assert 40 <= run.result["metrics"]["transactions"] <= 50
