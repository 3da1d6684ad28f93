"""verdicts.py - a backend's run compared with the kernel's: the oracle of `tcplab conform`.

Both kinds of conformance end here in the same shape: a socket-level case (cases.py) records
a trace per side (what the SUT's calls returned, what the peer's did), a packet-level check
(checks.py) one trace of wire steps, each step a stimulus and the SUT's reply, on the SUT
side. first_difference() finds the first step where two runs differ (for wire steps, the
field); verdict_for() turns it into a verdict, with the reason given in
scenarios/conformance/divergences.txt when the difference is one listed for that stack.

The divergences are per stack: each line of divergences.txt names the stack it is about and
where its difference first shows (`BACKEND CASE @SIDE:LINE: reason`, or
`@SIDE:STEP:FIELD` for a packet check), load_divergences() reads them all by stack,
divergences_of() one stack's list, which is all verdict_for() is given. A listed divergence
excuses exactly its own difference: a difference listed for one stack is never an excuse for
another, a difference elsewhere in a listed case is a divergence, and so is a run that
failed (a crash or a hang is never the behaviour a reason describes).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import UsageError
from .proc import ROOT
from .topology import LINUX

ORACLE = LINUX		# Linux's sockets: the reference every backend is compared with
DIVERGENCES = ROOT / "scenarios" / "conformance" / "divergences.txt"
SIDES = ("sut", "peer")
WHERE = re.compile(r"(sut|peer):\d+(:[a-z_]+)?$")


@dataclass
class Run:
    """One run of a case or a check on one backend: the trace of each side, or an error."""
    sut: list[dict[str, Any]] = field(default_factory=list)
    peer: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


def is_wire_step(step: dict[str, Any] | None) -> bool:
    """A packet check's step (the SUT's reply to a stimulus), not a socket call's."""
    return step is not None and "reply" in step


def first_difference(oracle: Run, other: Run) -> dict[str, Any] | None:
    """Where two runs first differ: the side, the step and its line; a socket call's two
    records whole, a wire step's first differing field with its two values. None: equal."""
    for side in SIDES:
        a, b = getattr(oracle, side), getattr(other, side)
        for i in range(max(len(a), len(b))):
            ea = a[i] if i < len(a) else None
            eb = b[i] if i < len(b) else None
            if ea == eb:
                continue
            if is_wire_step(ea) or is_wire_step(eb):
                return field_difference(side, i, ea or {}, eb or {})
            return {"side": side, "step": i, "line": (ea or eb or {}).get("line"),
                    "kernel": ea, "other": eb}
    return None


def field_difference(side: str, i: int, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    for key in list(a) + [k for k in b if k not in a]:
        if a.get(key) != b.get(key):
            return {"side": side, "step": i, "line": i, "op": a.get("op", b.get("op")),
                    "field": key, "kernel": a.get(key), "other": b.get(key)}
    raise AssertionError("steps differ in no field")


@dataclass(frozen=True)
class Listed:
    """A listed divergence: where its first difference is (SIDE:LINE, or SIDE:STEP:FIELD for a
    packet check's wire step) and why the stack differs there."""
    where: str
    reason: str


def where_of(diff: dict[str, Any]) -> str:
    """A first difference's place as divergences.txt writes it."""
    at = f"{diff['side']}:{diff['line']}"
    return f"{at}:{diff['field']}" if "field" in diff else at


def load_divergences(path: Path = DIVERGENCES) -> dict[str, dict[str, Listed]]:
    """divergences.txt by stack: {stack: {case: Listed}}; the file has
    'BACKEND CASE @WHERE: reason' per line, '#' comments; UsageError naming the line of one
    that is not."""
    out: dict[str, dict[str, Listed]] = {}
    if not path.exists():
        return out
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        head, sep, reason = line.partition(": ")
        words = head.split()
        if not sep or len(words) != 3 or not words[2].startswith("@") or \
                not WHERE.match(words[2][1:]) or not reason.strip():
            raise UsageError(f"{path}:{n}: expected 'BACKEND CASE @SIDE:LINE[:FIELD]: reason'")
        out.setdefault(words[0], {})[words[1]] = Listed(words[2][1:], reason.strip())
    return out


def divergences_of(backend: str, path: Path = DIVERGENCES) -> dict[str, Listed]:
    """The divergences listed for @backend: {case: Listed} (none listed: empty)."""
    return load_divergences(path).get(backend, {})


def classify(name: str, error: str | None, diff: dict[str, Any] | None, differs: str,
             listed: dict[str, Listed]) -> tuple[str, str]:
    """The verdict of one case or packet check on one backend, and its reason: a match, the
    difference the backend's own list has for it (its reason), or a divergence (what went
    wrong: a failed run, a difference nobody listed, or one elsewhere than the listed one)."""
    known = listed.get(name)
    if error is not None:
        return "divergence", error
    if diff is None:
        return "match", known.reason if known else ""
    if known is None:
        return "divergence", differs
    if where_of(diff) != known.where:
        return "divergence", (f"{differs} at {where_of(diff)}, not the listed difference "
                              f"at {known.where}")
    return "listed-divergence", known.reason


def describe_difference(diff: dict[str, Any] | None) -> str:
    if diff is None:
        return ""
    if "field" in diff:
        return f"step {diff['step']} ({diff['op']}) field {diff['field']}"
    return "differs"


def verdict_for(name: str, backend: str, oracle: Run, other: Run,
                listed: dict[str, Listed]) -> dict[str, Any]:
    """The record of @other (on @backend) against the kernel's @oracle, @listed being
    @backend's divergences (divergences_of). A run that failed is not compared: its error is
    the reason."""
    diff = None if other.error else first_difference(oracle, other)
    verdict, reason = classify(name, other.error, diff, describe_difference(diff), listed)
    return {"backend": backend, "verdict": verdict, "reason": reason,
            "first_difference": diff, "trace": {"sut": other.sut, "peer": other.peer}}


def short(value: Any) -> str:
    if isinstance(value, dict):
        return ",".join(k if v is True else f"{k}:{short(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "/".join(short(v) for v in value)
    return str(value)


def summarize(trace: list[dict[str, Any]]) -> str:
    """A short human form of a trace for the parity table: the calls that failed, or for a
    packet-level check what came back to each stimulus."""
    if trace and is_wire_step(trace[0]):
        bits = []
        for s in trace:
            fields = [f"{k}={short(v)}" for k, v in s.items() if k not in ("line", "op", "reply")]
            what = "no reply" if s.get("reply") == "none" else \
                f"{s.get('reply', '?')} {' '.join(fields)}".strip()
            bits.append(f"{s['op']}: {what}")
        return "; ".join(bits[:3]) + (" ..." if len(bits) > 3 else "")
    bits = [f"{e['op']}={e['err']}" for e in trace if "err" in e and "op" in e]
    return ", ".join(bits[:4]) + (" ..." if len(bits) > 4 else "") or "all ok"


def counts(results: list[dict[str, Any]]) -> dict[str, int]:
    """Records by verdict (a record compared with no backend counts once, as its own)."""
    out: dict[str, int] = {}
    for r in results:
        for o in r["others"] or [{"verdict": r["verdict"]}]:
            out[o["verdict"]] = out.get(o["verdict"], 0) + 1
    return out


def unexpected(results: list[dict[str, Any]]) -> list[str]:
    """The names whose oracle failed or that diverge without being listed."""
    return [r["name"] for r in results if r["verdict"] != "match"
            or any(o["verdict"] == "divergence" for o in r["others"])]
