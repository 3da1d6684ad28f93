"""test_compare_hosts.py - compare across configurations and host states (issue 17, parts 1
and 6), on copies of the recorded fixtures (results/fixtures: base/ and same/ are halves of
one recording, latency2x/ has every latency of same/ doubled, throughput70/ its throughput
at 70 %), with the configuration and the host state written into the copies."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from resultkit.compare import HOST, SAME, WORSE, compare
from resultkit.resultset import config_of, load

FIXTURES = Path(__file__).resolve().parent.parent / "results" / "fixtures"
CALM = {"memif_floor_p50_us": 0.32, "loopback_p50_us": 20.0, "memcpy_gbps": 190.0,
        "cpu_loop_ms": 100.0}


def copy(name: str, dest: Path, edit: Any = None, host: list[dict] | None = None) -> Path:
    """fixtures/@name into @dest, each result passed through @edit; a manifest carrying
    @host (before, after) when given."""
    shutil.copytree(FIXTURES / name, dest)
    for f in dest.glob("*.json"):
        doc = json.loads(f.read_text())
        if doc.get("schema") == "tcplab.result/1" and edit is not None:
            edit(doc)
            f.write_text(json.dumps(doc))
    if host is not None:
        manifest = dest / "manifest.json"
        doc = json.loads(manifest.read_text()) if manifest.exists() else {
            "schema": "tcplab.manifest/1"}
        doc["host_state"] = {"before": host[0], "after": host[1]}
        manifest.write_text(json.dumps(doc))
    return dest


def with_config(opts: list[str], cpus: str = "0/1") -> Any:
    def edit(doc: dict) -> None:
        doc["params"]["stack_opts"] = opts
        e, s = cpus.split("/")
        doc["params"]["cpus"] = {"engine": {"affinity": e, "given": True},
                                 "sut": {"affinity": s, "given": True}}
        doc["build"] = {"commit": "x", "type": "release", "optimization": "3", "lto": True,
                        "sanitize": "none"}
    return edit


def test_config_of_names_what_differs() -> None:
    doc: dict = {"params": {}}
    assert config_of(doc) == ""
    with_config(["mtu=9000"], "0/1")(doc)
    assert config_of(doc) == "opts mtu=9000; cpus 0/1; build release O3 lto"


def test_other_settings_are_other_rows(tmp_path: Path) -> None:
    base = load(copy("base", tmp_path / "b", with_config([])), "BASE")
    new = load(copy("same", tmp_path / "n", with_config(["rcvbuf=1m"])), "NEW")
    cmp = compare(base, new)
    assert cmp.rows and {r.verdict for r in cmp.rows} == {"n/a"}, cmp.rows[:3]
    assert any("configurations differ" in n for n in cmp.notes), cmp.notes
    assert cmp.exit_status() == 0
    same = compare(base, load(copy("same", tmp_path / "s", with_config([])), "NEW"))
    assert {r.verdict for r in same.rows} != {"n/a"}


def test_an_older_result_pairs_with_the_one_config(tmp_path: Path) -> None:
    base = load(copy("base", tmp_path / "b"), "BASE")	# records no configuration
    new = load(copy("latency2x", tmp_path / "n", with_config([])), "NEW")
    cmp = compare(base, new)
    assert any(r.verdict == WORSE and r.metric == "p50" for r in cmp.rows), cmp.rows[:4]
    assert any("records no configuration" in n for n in cmp.notes), cmp.notes


def test_a_slower_host_is_not_a_regression(tmp_path: Path) -> None:
    """latency2x against base, the new host's loopback twice as slow: p50 doubled with the
    floor is the same ratio; throughput at 70 % is 'host differs', not worse."""
    slow = dict(CALM, loopback_p50_us=40.0)
    base = load(copy("base", tmp_path / "b", host=[CALM, CALM]), "BASE")
    lat = compare(base, load(copy("latency2x", tmp_path / "n", host=[slow, slow]), "NEW"))
    assert any("host differs: loopback_p50_us" in n for n in lat.notes), lat.notes
    p50 = [r for r in lat.rows if r.metric == "p50"]
    assert p50 and all(r.method == "floor ratio" and r.verdict == SAME for r in p50), p50
    thr = compare(base, load(copy("throughput70", tmp_path / "t", host=[slow, slow]), "NEW"))
    moved = [r for r in thr.rows if r.metric == "throughput"]
    assert moved and all(r.verdict == HOST for r in moved), moved
    assert thr.exit_status() == 0 and thr.counts()[HOST] >= len(moved)


def test_a_regression_on_a_calm_host_is_found(tmp_path: Path) -> None:
    """The same host state on both sides (within its noise): latency2x is worse."""
    jitter = dict(CALM, loopback_p50_us=21.0)
    base = load(copy("base", tmp_path / "b", host=[CALM, jitter]), "BASE")
    new = load(copy("latency2x", tmp_path / "n", host=[jitter, CALM]), "NEW")
    cmp = compare(base, new)
    assert not any(n.startswith("host differs") for n in cmp.notes), cmp.notes
    assert any(r.metric == "p50" and r.verdict == WORSE for r in cmp.rows)
    assert cmp.exit_status() == 1


def test_noise_widens_what_counts_as_another_host(tmp_path: Path) -> None:
    """A set whose own before/after differ by 50 % cannot tell a 40 % move from noise."""
    noisy = dict(CALM, loopback_p50_us=30.0)
    moved = dict(CALM, loopback_p50_us=28.0)
    base = load(copy("base", tmp_path / "b", host=[CALM, noisy]), "BASE")
    new = load(copy("same", tmp_path / "n", host=[moved, moved]), "NEW")
    assert not any(n.startswith("host differs") for n in compare(base, new).notes)


def test_a_change_the_host_cannot_explain_keeps_its_verdict(tmp_path: Path) -> None:
    """throughput70 (-30 %) against base: with the host's memcpy 12 % slower it is still
    worse (more than twice the host's move); with it 20 % slower, host differs."""
    base = load(copy("base", tmp_path / "b", host=[CALM, CALM]), "BASE")
    small = dict(CALM, memcpy_gbps=CALM["memcpy_gbps"] * 0.88)
    large = dict(CALM, memcpy_gbps=CALM["memcpy_gbps"] * 0.80)
    cmp = compare(base, load(copy("throughput70", tmp_path / "s", host=[small, small]), "NEW"))
    rows = [r for r in cmp.rows if r.metric == "throughput"]
    assert rows and all(r.verdict == WORSE and "beyond" in r.note for r in rows), rows
    cmp = compare(base, load(copy("throughput70", tmp_path / "l", host=[large, large]), "NEW"))
    rows = [r for r in cmp.rows if r.metric == "throughput"]
    assert rows and all(r.verdict == HOST for r in rows), rows
