"""requirements.py - the requirement matrix: which RFC requirements the conformance run
tests, by which socket cases, packet checks and .pkt scripts, and how each stack fares.

The matrix is scenarios/conformance/requirements.txt (its header gives the format): every
MUST of RFC 9293 (MUST-1 .. MUST-69) and the RFC 9293 SHOULD/MAY, RFC 5961, 7323, 1122,
2018, 5681, 6928 and 3168 items a case or check covers, each tested (by which), n/a (why)
or untested (what it would take). load() reads and checks it: a MUST missing, an ID
twice, a tested row naming nothing or a name that is not a case, a check or a .pkt script
(NAME.pkt) is a UsageError naming the line.
section() renders it from a conformance run's records, beside the parity table: per stack,
a requirement passes when the stack matches Linux on every case and check that tests it.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import UsageError
from .proc import ROOT

MATRIX = ROOT / "scenarios" / "conformance" / "requirements.txt"
RFC9293_MUSTS = tuple(f"MUST-{n}" for n in range(1, 70))	# Appendix B numbers them so
STATUSES = ("tested", "n/a", "untested")
ID = re.compile(r"(MUST|SHLD|MAY)-\d+$|RFC\d{4}-[0-9.]+(-[a-z]+)?$")


@dataclass(frozen=True)
class Requirement:
    id: str
    what: str
    status: str
    by: tuple[str, ...]		# tested: the cases and checks
    why: str			# n/a, untested: the reason
    line: int


def parse_line(text: str, where: str) -> Requirement:
    parts = [p.strip() for p in text.split(" | ")]
    if len(parts) != 4 or not all(parts):
        raise UsageError(f"{where}: expected 'ID | what | STATUS | BY', four fields")
    rid, what, status, by = parts
    if not ID.match(rid):
        raise UsageError(f"{where}: '{rid}' is not a requirement ID (MUST-N, SHLD-N, MAY-N, "
                         f"RFCNNNN-SECTION)")
    if status not in STATUSES:
        raise UsageError(f"{where}: status '{status}' is not one of {', '.join(STATUSES)}")
    line = int(where.rsplit(":", 1)[1])
    if status == "tested":
        return Requirement(rid, what, status, tuple(by.split()), "", line)
    return Requirement(rid, what, status, (), by, line)


def load(path: Path = MATRIX, known: Iterable[str] | None = None) -> list[Requirement]:
    """The matrix, checked: every RFC 9293 MUST once, each ID once, each tested row naming
    only @known cases and checks (None: the cases on disk and the packet checks)."""
    names = set(known) if known is not None else known_names()
    if not path.is_file():
        raise UsageError(f"{path}: no requirement matrix there")
    out: list[Requirement] = []
    seen: dict[str, int] = {}
    for n, text in enumerate(path.read_text().splitlines(), 1):
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        where = f"{path.name}:{n}"
        req = parse_line(text, where)
        if req.id in seen:
            raise UsageError(f"{where}: {req.id} is already at line {seen[req.id]}")
        unknown = [b for b in req.by if b not in names]
        if unknown:
            raise UsageError(f"{where}: {req.id} names '{unknown[0]}', which is not a case "
                             f"in scenarios/conformance, a packet check or a .pkt script")
        seen[req.id] = n
        out.append(req)
    missing = [m for m in RFC9293_MUSTS if m not in seen]
    if missing:
        raise UsageError(f"{path.name}: RFC 9293 {missing[0]} is not in the matrix "
                         f"({len(missing)} missing)")
    return out


def known_names() -> set[str]:
    from .checks import CHECK_NAMES	# noqa: PLC0415 (checks imports scapy's helpers lazily)
    scripts = {p.name for p in (ROOT / "scenarios" / "pkt").glob("*.pkt")}
    return {p.stem for p in MATRIX.parent.glob("*.case")} | set(CHECK_NAMES) | scripts


# ---- per stack ---------------------------------------------------------------------------

def verdicts_by_stack(results: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """stack -> case or check -> its verdict in these records."""
    out: dict[str, dict[str, str]] = {}
    for r in results:
        for o in r["others"]:
            out.setdefault(o["backend"], {})[r["name"]] = o["verdict"]
    return out


def standing(req: Requirement, verdicts: dict[str, str]) -> str:
    """One stack on one requirement: pass (it matches Linux on every case and check),
    listed (a listed divergence on one), FAILS (an unexpected divergence or a failed run),
    not run (a case or check missing from these records), or '-' (not tested)."""
    if req.status != "tested":
        return "-"
    got = [verdicts.get(b) for b in req.by]
    if None in got:
        return "not run"
    if any(v not in ("match", "listed-divergence") for v in got):
        return "FAILS"
    return "listed" if "listed-divergence" in got else "pass"


def tally(reqs: list[Requirement], verdicts: dict[str, str]) -> dict[str, int]:
    out = {k: 0 for k in ("pass", "listed", "FAILS", "not run")}
    for r in reqs:
        s = standing(r, verdicts)
        if s in out:
            out[s] += 1
    return out


def section(results: list[dict[str, Any]], stacks: list[str],
            reqs: list[Requirement] | None = None) -> list[str]:
    """The matrix as markdown lines: counts, then a row per requirement with each stack's
    standing."""
    reqs = reqs if reqs is not None else load()
    by = verdicts_by_stack(results)
    count = {s: sum(r.status == s for r in reqs) for s in STATUSES}
    musts = [r for r in reqs if r.id in RFC9293_MUSTS]
    lines = ["## Requirements", "",
             f"{len(reqs)} requirements (scenarios/conformance/requirements.txt): "
             f"{count['tested']} tested, {count['n/a']} not applicable, "
             f"{count['untested']} untested; of RFC 9293's {len(musts)} MUSTs, "
             f"{sum(r.status == 'tested' for r in musts)} tested, "
             f"{sum(r.status == 'n/a' for r in musts)} not applicable, "
             f"{sum(r.status == 'untested' for r in musts)} untested.",
             "A stack *passes* a tested requirement when it matches Linux on every case and",
             "check that tests it; *listed* when one of them is a listed divergence (which",
             "may still be within the RFC: the reasons are above); **FAILS** on an",
             "unexpected one.", ""]
    for s in stacks:
        t = tally(reqs, by.get(s, {}))
        lines.append(f"- {s}: {t['pass']} pass, {t['listed']} listed, {t['FAILS']} fail"
                     + (f", {t['not run']} not run" if t["not run"] else ""))
    lines += ["", "| requirement | what | status | tested by, or why not | "
              + " | ".join(stacks) + " |", "|---" * (4 + len(stacks)) + "|"]
    for r in reqs:
        by_text = " ".join(r.by) if r.status == "tested" else r.why
        cells = [r.id, r.what, r.status, by_text, *(standing(r, by.get(s, {})) for s in stacks)]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return lines + [""]


def as_json(results: list[dict[str, Any]], stacks: list[str],
            reqs: list[Requirement] | None = None) -> dict[str, Any]:
    """The matrix for results/conformance.json: each requirement with its status, what
    tests it or why not, and each stack's standing; the per-stack counts."""
    reqs = reqs if reqs is not None else load()
    by = verdicts_by_stack(results)
    return {"counts": {s: tally(reqs, by.get(s, {})) for s in stacks},
            "rows": [{"id": r.id, "what": r.what, "status": r.status, "by": list(r.by),
                      "why": r.why, "stacks": {s: standing(r, by.get(s, {})) for s in stacks}}
                     for r in reqs]}
