"""test_formats.py - a run's latencies in HdrHistogram's formats, and the run's output flags
(issue 17, parts 4 and 7): NAME.hgrm (percentile distribution text) and NAME.hlog (interval
log, V2 compressed histograms) beside NAME.json, read back here with a decoder written from
the format's description; `--json FILE|-`; the short flags; 128 + the signal on Ctrl-C."""
from __future__ import annotations

import base64
import json
import math
import signal
import struct
import subprocess
import time
import zlib
from pathlib import Path
from typing import Any

from tcplab.topology import LINUX

COOKIE = 0x1c849313
COOKIE_COMPRESSED = 0x1c849314


def run(tcplab_bin: Path, *flags: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(tcplab_bin), "run", "echo_rr", "-b", LINUX, *flags],
                          capture_output=True, text=True, timeout=timeout)


def hgrm_lines(path: Path) -> list[tuple[float, float, int]]:
    """(value in us, percentile level, total count) of each data line."""
    out = []
    for line in path.read_text().splitlines():
        words = line.split()
        if len(words) in (3, 4) and not line.startswith("#") and words[0] != "Value":
            out.append((float(words[0]), float(words[1]), int(words[2])))
    return out


def leb128_words(data: bytes) -> list[int]:
    """ZigZag LEB128 words, the ninth byte of a word keeping all 8 bits."""
    words, i = [], 0
    while i < len(data):
        v, shift, n = 0, 0, 0
        while True:
            b = data[i]
            i += 1
            n += 1
            if n == 9:
                v |= b << shift
                break
            v |= (b & 0x7f) << shift
            shift += 7
            if not b & 0x80:
                break
        words.append((v >> 1) ^ -(v & 1))
    return words


def decode(text: str) -> dict[str, Any]:
    raw = base64.b64decode(text)
    cookie, length = struct.unpack(">II", raw[:8])
    assert cookie == COOKIE_COMPRESSED, hex(cookie)
    plain = zlib.decompress(raw[8:8 + length])
    cookie, payload, offset, digits, lowest, highest, ratio = struct.unpack(">IIiiqqd", plain[:40])
    assert (cookie, offset, digits, lowest, highest, ratio) == (COOKIE, 0, 3, 1, 2**42 - 1, 1.0)
    assert payload == len(plain) - 40
    counts: list[int] = []
    for w in leb128_words(plain[40:]):
        counts += [0] * -w if w < 0 else [w]
    return {"counts": counts}


def bucket_hi(index: int) -> int:
    """The highest value of counts index @index (2048 sub-buckets, unit 1)."""
    if index < 2048:
        return index
    shift = (index >> 10) - 1
    return ((index - (shift << 10)) << shift) + (1 << shift) - 1


def test_hgrm_and_hlog_match_the_json(tcplab_bin: Path, tmp_path: Path) -> None:
    done = run(tcplab_bin, "-d", "2", "--warmup", "0.5", "-q", "-o", str(tmp_path))
    assert done.returncode == 0, done.stderr
    lat = json.loads((tmp_path / "echo_rr.json").read_text())["metrics"]["latency_ns"]
    lines = hgrm_lines(tmp_path / "echo_rr.hgrm")
    assert lines[-1][1] == 1.0 and lines[-1][2] == lat["count"], lines[-1]
    assert lines[-1][0] == round(lat["max"] / 1000, 3)
    at = {level: value for value, level, _ in lines}
    assert at[0.5] == round(lat["p50"] / 1000, 3) and at[0.9] == round(lat["p90"] / 1000, 3)
    for p in ("p99", "p99_9"):	# not levels of the text: between the two around them
        rank = math.ceil(float(p[1:].replace("_", ".")) / 100 * lat["count"])
        below = [v for v, _, n in lines if n < rank]
        above = [v for v, _, n in lines if n >= rank]
        assert (below[-1] if below else 0) <= lat[p] / 1000 <= above[0], (p, lat[p])
    assert "#[Buckets =           32, SubBuckets     =         2048]" in \
        (tmp_path / "echo_rr.hgrm").read_text()

    log = (tmp_path / "echo_rr.hlog").read_text().splitlines()
    assert log[1] == "#[Histogram log format version 1.3]", log[:4]
    assert log[3].startswith('"StartTimestamp","Interval_Length"'), log[3]
    rows = [ln.split(",") for ln in log[4:]]
    assert len(rows) >= 2, rows
    total = 0
    for start, length, max_ms, hist in rows:
        counts = decode(hist)["counts"]
        assert counts and counts[-1] > 0
        # the interval's max (in ms, 3 decimals: +- 500 ns) lies in the last non-empty bucket
        lo, hi = bucket_hi(len(counts) - 2) + 1, bucket_hi(len(counts) - 1)
        assert lo - 500 <= float(max_ms) * 1e6 <= hi + 500, (max_ms, lo, hi)
        assert 0 < float(length) <= 1.001, length
        total += sum(counts)
    # the log covers the whole run, warm-up and drain too; the JSON the measured window
    assert total >= lat["count"], (total, lat["count"])
    assert [float(r[0]) for r in rows] == sorted(float(r[0]) for r in rows)


def test_json_to_stdout(tcplab_bin: Path, tmp_path: Path) -> None:
    done = subprocess.run([str(tcplab_bin), "run", "echo_rr", "-b", LINUX, "-d", "0.3",
                           "--warmup", "0", "-q", "--json", "-"], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["scenario"] == "echo_rr" and doc["passed"] is True
    assert "echo_rr on kernel" in done.stderr and "result: -" in done.stderr, done.stderr
    assert list(tmp_path.iterdir()) == []


def test_json_to_a_file(tcplab_bin: Path, tmp_path: Path) -> None:
    target = tmp_path / "sub" / "mine.json"
    target.parent.mkdir()
    done = run(tcplab_bin, "-d", "0.3", "--warmup", "0", "-q", "--json", str(target), "-o",
               str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert json.loads(target.read_text())["scenario"] == "echo_rr"
    assert (tmp_path / "sub" / "mine.hgrm").is_file() and (tmp_path / "sub" / "mine.hlog").is_file()


def test_short_flags_are_the_long_ones(tcplab_bin: Path, tmp_path: Path) -> None:
    done = run(tcplab_bin, "-d", "0.3", "-c", "2", "-R", "500", "-q", "-o", str(tmp_path),
               "--warmup", "0")
    assert done.returncode == 0, done.stderr
    params = json.loads((tmp_path / "echo_rr.json").read_text())["params"]
    assert params["conns"] == 2 and params["rate"] == 500 and params["duration_s"] == 0.3
    assert params["overrides"] == {"duration": "0.3", "conns": "2", "rate": "500",
                                   "warmup": "0"}, params
    bad = run(tcplab_bin, "-d")
    assert bad.returncode == 2 and bad.stderr == "tcplab run: flag '-d' needs a value\n", \
        bad.stderr
    bad = run(tcplab_bin, "-Z", "1")
    assert bad.returncode == 2 and bad.stderr.startswith("tcplab run: unknown flag '-Z'")


def test_ctrl_c_exits_130_with_a_result(tcplab_bin: Path, tmp_path: Path) -> None:
    proc = subprocess.Popen([str(tcplab_bin), "run", "echo_rr", "-b", LINUX, "-d", "30", "-q",
                             "-o", str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, proc.stderr.read() if proc.stderr else ""
    assert json.loads((tmp_path / "echo_rr.json").read_text())["interrupted"] is True


def test_version_and_help(tcplab_bin: Path) -> None:
    done = subprocess.run([str(tcplab_bin), "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("tcplab "), done
    assert "commit " in done.stdout and "build" in done.stdout, done.stdout
    done = subprocess.run([str(tcplab_bin), "--help"], capture_output=True, text=True)
    listed = {ln.split()[0] for ln in done.stdout.splitlines() if ln.startswith("  ")}
    script = (Path(__file__).resolve().parent.parent / "tcplab").read_text()
    # every command the ./tcplab script dispatches itself, and the binary's
    for line in script.splitlines():
        if line.strip().endswith(")") and "|" in line and not line.strip().startswith("#"):
            for name in line.strip().rstrip(")").split("|"):
                assert name in listed, (name, sorted(listed))
    assert {"run", "serve", "list", "case"} <= listed


def test_the_report_draws_latency_over_time(tcplab_bin: Path, tmp_path: Path) -> None:
    """report reads the .hlog beside a result (resultkit/hlog.py) into a latency-over-time
    plot: its intervals are the log's, in order, with this file's own decoder's counts."""
    import sys
    root = Path(__file__).resolve().parent.parent
    done = run(tcplab_bin, "-d", "2", "--warmup", "0.5", "-q", "-o", str(tmp_path / "set"))
    assert done.returncode == 0, done.stderr
    rep = subprocess.run([sys.executable, str(root / "results" / "tcplab_results.py"),
                          "report", str(tmp_path / "set"), "--out", str(tmp_path / "rep")],
                         capture_output=True, text=True, timeout=120)
    assert rep.returncode == 0, rep.stderr
    plots = json.loads((tmp_path / "rep" / "plots.json").read_text())["plots"]
    (timeline,) = [p for p in plots if p["kind"] == "timeline"]
    intervals = timeline["series"][0]["intervals"]
    rows = [ln.split(",") for ln in
            (tmp_path / "set" / "echo_rr.hlog").read_text().splitlines()[4:]]
    assert [iv["count"] for iv in intervals] == [sum(decode(r[3])["counts"]) for r in rows]
    assert all(0 < iv["p50_ns"] <= iv["p99_ns"] <= iv["max_ns"] for iv in intervals)
    assert (tmp_path / "rep" / timeline["file"]).is_file()
    assert "Latency over time" in (tmp_path / "rep" / "report.html").read_text()
