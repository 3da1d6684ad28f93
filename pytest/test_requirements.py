"""The requirement matrix (scenarios/conformance/requirements.txt, tcplab.requirements):
complete for RFC 9293's MUSTs, naming only cases and checks that exist, and rendered into the
stored parity table with each stack's standing taken from the verdicts.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from tcplab import UsageError, requirements
from tcplab.requirements import Requirement, standing

ROOT = Path(__file__).resolve().parent.parent
HEADER = "# comment\n\n"


def test_every_must_of_rfc_9293_is_in_the_matrix() -> None:
    ids = [r.id for r in requirements.load()]
    missing = [m for m in requirements.RFC9293_MUSTS if m not in ids]
    assert not missing, f"not in requirements.txt: {missing}"
    assert len(requirements.RFC9293_MUSTS) == 69


def test_tested_rows_name_existing_cases_and_checks() -> None:
    known = requirements.known_names()
    for r in requirements.load():
        if r.status == "tested":
            assert r.by and set(r.by) <= known, (r.id, r.by)
        else:
            assert r.why, f"{r.id} is {r.status} and says not why"


def write(tmp_path: Path, rows: list[str], musts: bool = True) -> Path:
    lines = [f"MUST-{n} | x | n/a | why" for n in range(1, 70)] if musts else []
    p = tmp_path / "requirements.txt"
    p.write_text(HEADER + "\n".join(rows + lines) + "\n")
    return p


@pytest.mark.parametrize("rows,message", [
    ([], "RFC 9293 MUST-1 is not in the matrix (69 missing)"),
    (["MUST-1 | x | n/a | why"] + [f"MUST-{n} | x | n/a | why" for n in range(3, 70)],
     "RFC 9293 MUST-2 is not in the matrix (1 missing)"),
])
def test_a_missing_must_fails(tmp_path: Path, rows: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        requirements.load(write(tmp_path, rows, musts=False), known={"a"})


@pytest.mark.parametrize("row,message", [
    ("SHLD-3 | x | tested | nosuch", "requirements.txt:3: SHLD-3 names 'nosuch', which is"),
    ("SHLD-3 | x | maybe | a", "requirements.txt:3: status 'maybe' is not one of"),
    ("SHLD-3 | x | tested", "requirements.txt:3: expected 'ID | what | STATUS | BY'"),
    ("MUST-1 | x | tested | a", "requirements.txt:.*: MUST-1 is already at line 3"),
    ("RFC793-3 | x | tested | a", "requirements.txt:3: 'RFC793-3' is not a requirement ID"),
])
def test_a_malformed_row_names_its_line(tmp_path: Path, row: str, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("|", r"\|")):
        requirements.load(write(tmp_path, [row]), known={"a"})


def req(*by: str) -> Requirement:
    return Requirement("MUST-1", "x", "tested", by, "", 1)


@pytest.mark.parametrize("verdicts,want", [
    ({"a": "match", "b": "match"}, "pass"),
    ({"a": "match", "b": "listed-divergence"}, "listed"),
    ({"a": "divergence", "b": "listed-divergence"}, "FAILS"),
    ({"a": "oracle-unstable", "b": "match"}, "FAILS"),
    ({"a": "match"}, "not run"),
])
def test_a_stack_passes_only_by_matching_every_check(verdicts: dict, want: str) -> None:
    assert standing(req("a", "b"), verdicts) == want


def test_untested_and_not_applicable_rows_have_no_standing() -> None:
    r = Requirement("MUST-9", "x", "n/a", (), "why", 1)
    assert standing(r, {"a": "match"}) == "-"


def test_the_section_counts_per_stack() -> None:
    results = [{"name": "a", "others": [{"backend": "s1", "verdict": "match"},
                                        {"backend": "s2", "verdict": "divergence"}]},
               {"name": "b", "others": [{"backend": "s1", "verdict": "listed-divergence"},
                                        {"backend": "s2", "verdict": "match"}]}]
    reqs = [req("a"), Requirement("MUST-2", "y", "tested", ("b",), "", 2),
            Requirement("MUST-3", "z", "untested", (), "later", 3)]
    lines = requirements.section(results, ["s1", "s2"], reqs)
    assert "- s1: 1 pass, 1 listed, 0 fail" in lines
    assert "- s2: 1 pass, 0 listed, 1 fail" in lines
    assert "| MUST-1 | x | tested | a | pass | FAILS |" in lines
    assert "| MUST-3 | z | untested | later | - | - |" in lines


def test_the_stored_table_carries_the_matrix() -> None:
    """results/conformance.md and .json, as `tcplab conform` last wrote them, have a row
    per requirement of the matrix and a count per stack."""
    doc = json.loads((ROOT / "results" / "conformance.json").read_text())
    md = (ROOT / "results" / "conformance.md").read_text()
    ids = [r.id for r in requirements.load()]
    assert [r["id"] for r in doc["requirements"]["rows"]] == ids
    assert set(doc["requirements"]["counts"]) == set(doc["stacks"])
    for i in ids:
        assert f"\n| {i} | " in md, f"{i} is not in results/conformance.md"
