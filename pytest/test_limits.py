"""test_limits.py - the limits each backend states (struct tl_limits, <tcplab/stack.h>) as
`tcplab list --json` prints them (backends[].limits), which the flood and scale checks read
instead of knowing a stack by name: every listed backend's parse and hold together (each
figure with its reason, a floor at most its ceiling), every backend this build ships states
them, and the parser refuses what the header forbids. No root, no lab.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tcplab.binary import EXIT_PASS, Listing, Tcplab
from tcplab.topology import Limits, parse_limits

PARTS = {"sockets", "conn_bytes", "syn_rcvd", "idle", "slack"}


def listed_limits(listing: Listing) -> list[tuple[str, dict[str, Any] | None]]:
    return [(b["name"], b["limits"]) for b in listing.doc["backends"]]


def test_every_backend_is_listed_with_its_limits_or_null(listing: Listing) -> None:
    for b in listing.doc["backends"]:
        assert "limits" in b, f"{b['name']}: no limits key (null when none stated): {b}"


def test_every_stated_limit_parses_and_holds_together(listing: Listing) -> None:
    for name, doc in listed_limits(listing):
        if doc is None:
            continue
        assert set(doc) == PARTS, (name, sorted(doc))
        lim = parse_limits(doc)
        lo, hi = lim.conn_bytes
        assert 0 <= lo <= hi, f"{name}: conn_bytes {lo}..{hi}"
        assert lim.max_sockets is None or lim.max_sockets > 0, (name, lim.max_sockets)
        assert lim.syn_over_backlog is None or lim.syn_over_backlog >= 0, (name, lim)
        assert lim.slack_bytes > 0, f"{name}: no slack: {lim}"
        reasons = {k: v for k, v in vars(lim).items() if k.endswith("_reason")}
        assert len(reasons) == len(PARTS) and all(r.strip() for r in reasons.values()), \
            (name, reasons)


def test_every_backend_this_build_ships_states_limits(listing: Listing,
                                                      tcplab_bin: Path) -> None:
    """Built in, or a plug-in of this build folder: each states its limits (a user's
    plug-in from TCPLAB_STACK_PATH may state none)."""
    build = tcplab_bin.resolve().parent.parent
    ours = [b for b in listing.doc["backends"] if b["origin"] == "built-in"
            or Path(b["path"]).resolve().is_relative_to(build)]
    assert ours, listing.doc["backends"]
    missing = [b["name"] for b in ours if b["limits"] is None]
    assert missing == [], f"shipped backends that state no limits: {missing}"


def test_the_text_list_has_a_limits_line_per_backend(tcplab: Tcplab, listing: Listing) -> None:
    done = tcplab.cmd("list")
    assert done.rc == EXIT_PASS, done.stderr
    lines = [ln for ln in done.stdout.splitlines() if ln.strip().startswith("limits:")]
    assert len(lines) == len(listing.backends), done.stdout


GOOD: dict[str, Any] = {
    "sockets": {"max": None, "reason": "r"},
    "conn_bytes": {"min": 1, "max": 2, "reason": "r"},
    "syn_rcvd": {"cap": "backlog", "over_backlog": 1, "bytes": 3, "reason": "r"},
    "idle": {"bytes": 4, "reason": "r"},
    "slack": {"bytes": 5, "reason": "r"},
}


def test_the_parser_reads_each_figure() -> None:
    assert parse_limits(GOOD) == Limits(None, "r", (1, 2), "r", 1, 3, "r", 4, "r", 5, "r")
    uncapped = copy.deepcopy(GOOD)
    uncapped["syn_rcvd"].update(cap="none", over_backlog=None)
    assert parse_limits(uncapped).syn_over_backlog is None


@pytest.mark.parametrize("part,key,value,message", [
    ("conn_bytes", "min", 3, "limits.conn_bytes: min 3 is above max 2"),
    ("idle", "reason", "", "limits.idle_reason is empty"),
    ("slack", "reason", " ", "limits.slack_reason is empty"),
    ("sockets", "reason", None, "limits.max_sockets_reason is empty"),
    ("syn_rcvd", "cap", "sometimes", "limits.syn_rcvd.cap 'sometimes'"),
])
def test_the_parser_refuses_what_the_header_forbids(part: str, key: str, value: Any,
                                                     message: str) -> None:
    bad = copy.deepcopy(GOOD)
    bad[part][key] = value
    with pytest.raises(ValueError) as e:
        parse_limits(bad)
    assert message in str(e.value)
