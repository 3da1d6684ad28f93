"""test_scenario_bounds.py - the latency checks of scenarios/*.scn, which every run of a
scenario in pytest must pass (test_scenarios.py, test_impair_scenarios.py, the DPDK stack
tests), are bounds only a fault trips, never a busy host.

The faults a request/response round trip can have on these stacks are a retransmission
timeout (Linux and gVisor: 200 ms at least, TCP_RTO_MIN and tcp/snd.go MinRTO; lwIP: a
multiple of its 500 ms slow timer, tcp_priv.h TCP_SLOW_INTERVAL) or a frame never resent.
A busy 2-CPU host delays a round trip by scheduling waits of a CFS period on each side:
tens of ms with ten runnable tasks a CPU. So an upper bound on a latency percentile is at
least FLOOR (100 ms, half the smallest RTO) plus the one-way delay the scenario's
`impair` line adds; a lower bound is at most that added delay. Needs no root.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.scn"))
FLOOR_NS = 100_000_000
UNITS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
CHECK = re.compile(r"^check\s+(p\d+(?:_\d+)?|max|mean|min)\s*(<=?|>=?)\s*([\d.]+)(ns|us|ms|s)\s*$")


def ns(value: str, unit: str) -> int:
    return round(float(value) * UNITS[unit])


def added_delay_ns(text: str) -> int:
    """The one-way delay an `impair` line adds (delay=D; 0 without one)."""
    m = re.search(r"^impair\s+.*\bdelay=([\d.]+)(ns|us|ms|s)\b", text, re.M)
    return ns(*m.groups()) if m else 0


def latency_checks(text: str) -> list[tuple[str, str, int]]:
    return [(m[1], m[2], ns(m[3], m[4])) for line in text.splitlines()
            if (m := CHECK.match(line.strip()))]


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_latency_bounds_are_tripped_only_by_a_fault(path: Path) -> None:
    text = path.read_text()
    delay = added_delay_ns(text)
    for name, op, bound in latency_checks(text):
        if op.startswith("<"):
            assert bound >= FLOOR_NS + delay, (
                f"{path.name}: check {name} {op} {bound / 1e6:g}ms: a busy host's scheduling "
                f"may trip it; a fault's bound is {(FLOOR_NS + delay) / 1e6:g}ms at least")
        else:
            assert bound <= delay, f"{path.name}: check {name} {op} {bound} ns over the " \
                f"added delay {delay} ns"


def test_the_parser_sees_the_checks_it_judges() -> None:
    """The latency scenarios have checks this file reads (else the test above is empty)."""
    seen = {p.stem: latency_checks(p.read_text()) for p in SCENARIOS}
    assert ("p99", "<", 100_000_000) in seen["echo_rr"]
    assert ("p50", ">=", 2_000_000) in seen["echo_rr_delay"]
    assert added_delay_ns((ROOT / "scenarios" / "echo_rr_delay.scn").read_text()) == 2_000_000
    assert latency_checks("check p99 < 50ms\n") == [("p99", "<", 50_000_000)]
