"""test_bio.py - the buffered I/O layer (stack/bio) under the harness.

- Every bio scenario (program objects) passes briefly on the kernel backend, with the
  counters that are its point: one request per whole read or miss, zero extra requests for
  seeks inside the buffer, writes acknowledged by the server, a hit ratio from the cache.
- The reader against a real HTTP server: nginx (Debian package), started here on 127.0.0.1
  with its own prefix, configuration and pid file, stopped by PID on every exit path. Ranged
  reads at seeded random offsets through bio_fetch (stack/bio/test) return exactly the file's
  bytes.
- The same bio scenarios on every DPDK stack (conftest.py, dpdk_stack) over memif; a stack
  the binary lacks or that cannot start here skips with the reason (or fails, where its
  packages are installed: the build broke).
"""
from __future__ import annotations

import json
import random
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tcplab.proc import ManagedProcess, ProcessManager
from tcplab.binary import EXIT_PASS, Listing, Tcplab

DURATION = "0.5"
WARMUP = "0.1"
NGINX_READY_S = 10.0
FILE_SIZE = 3 * 1024 * 1024 + 4321	# not a multiple of any buffer or page size
RANGES = 40


def bio_scenarios(listing: Listing) -> list[str]:
    return [s["name"] for s in listing.scenarios if s["program"] == "objects"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "bio_scenario" in metafunc.fixturenames:
        from conftest import _listing	# the session's `tcplab list --json`
        metafunc.parametrize("bio_scenario", bio_scenarios(_listing(metafunc.config)))


def check_bio(name: str, doc: dict[str, Any]) -> None:
    """What each bio scenario exists to show, from metrics.bio."""
    m = doc["metrics"]
    b = m["bio"]
    tx = m["transactions"]
    assert tx > 0 and m["errors"] == 0, m["errors_by_reason"]
    assert b["extra_requests"] == 0, b
    # a transaction straddling the window's start counts its latency but not its requests
    if name.startswith(("read_full_", "raw_read_", "write_once_")):
        assert tx - 1 <= b["requests"] <= tx, b
    if name.startswith("read_full_"):
        size = int(doc["params"]["vars"]["size"][:-1]) * (1024 if name.endswith("k") else
                                                          1024 * 1024)
        if size >= 256 * 1024:	# at least the buffer: straight into the destination
            assert b["bypass_reads"] >= b["requests"], b
    if name.startswith("write_once_"):
        assert b["put_time_includes_ack"] is True
        assert b["puts_acked"] == b["requests"], b
        assert doc["sut"]["mismatches"] == 0
    if name == "seek_random":
        assert b["misses"] == b["requests"] and b["reads"] == tx, b
    if name == "seek_in_buffer":
        assert b["seeks_in_buffer"] >= 16 * (tx - 1), b
        assert b["requests"] <= tx, b
    if name == "cache_zipf":
        assert 0 < b["hit_ratio"] < 1, b
        assert b["requests"] == b["misses"], b
        assert b["reads"] == b["hits"] + b["misses"] == tx, b


def test_bio_scenario_kernel(tcplab: Tcplab, result_schema: Any, bio_scenario: str,
                             tmp_path: Path) -> None:
    from tcplab import schema
    run = tcplab.run(bio_scenario, "--duration", DURATION, "--warmup", WARMUP,
                     out=tmp_path / "out")
    assert run.rc == EXIT_PASS, f"exit {run.rc}: {run.completed.stderr.strip()}"
    doc = run.result
    assert schema.errors(result_schema, doc) == []
    assert doc["passed"] is True, [c for c in doc["checks"] if not c["ok"]]
    assert doc["sut"]["open"] == 0 and doc["sut"]["mismatches"] == 0, doc["sut"]
    check_bio(bio_scenario, doc)


def test_object_step_errors_are_one_line(tcplab: Tcplab, tmp_path: Path) -> None:
    bad = tmp_path / "bad.scn"
    bad.write_text("program objects\nclient {\n    seek_read 4k 64k random\n}\n")
    done = tcplab.cmd("run", str(bad), "--backend", "kernel", "--out", str(tmp_path))
    assert done.rc == 2
    assert done.stderr.strip().splitlines() == [
        f"{bad}:3: seek_read: expected 'seek_read OBJSIZE READSIZE random|inbuffer "
        "[buffer SIZE]', READSIZE <= OBJSIZE <= 1g"]


# ---- the reader against nginx ----

NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    keepalive_requests 10000;
    server {{
        listen 127.0.0.1:{port};
        root {prefix}/www;
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(proc: ManagedProcess, port: int, timeout: float) -> None:
    """nginx prints no ready line: readiness is its port accepting (or it exiting)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            raise RuntimeError(f"nginx exited {proc.returncode}: {proc.stderr_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nginx did not listen on 127.0.0.1:{port} within {timeout} s")


@pytest.fixture
def nginx(procs: ProcessManager, tmp_path: Path) -> Iterator[tuple[int, bytes]]:
    """nginx serving /data.bin (seeded random bytes) on 127.0.0.1; (port, the bytes).
    Started through the test's ProcessManager: stopped by PID however the test ends."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).is_file():
        pytest.skip("nginx not installed (Debian package nginx, in ci/packages.txt)")
    prefix = tmp_path / "nginx"
    for d in ("www", "tmp", "logs"):
        (prefix / d).mkdir(parents=True)
    data = random.Random(5).randbytes(FILE_SIZE)
    (prefix / "www" / "data.bin").write_bytes(data)
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(prefix=prefix, port=port))
    proc = procs.start([binary, "-p", str(prefix), "-c", str(conf), "-e",
                        str(prefix / "error.log")])
    try:
        wait_listening(proc, port, NGINX_READY_S)
        yield port, data
    finally:
        proc.stop()
        assert proc.returncode is not None


def fetch(procs: ProcessManager, tcplab_bin: Path, port: int, ranges: list[tuple[int, int]],
          *flags: str) -> dict[str, Any]:
    tool = tcplab_bin.parent.parent / "stack" / "bio" / "test" / "bio_fetch"
    assert tool.is_file(), f"{tool} is not built (stack/bio/test/meson.build)"
    done = procs.run([str(tool), f"127.0.0.1:{port}", "/data.bin", *flags,
                      *[f"{o}:{n}" for o, n in ranges]], timeout=60)
    assert done.rc == 0, f"bio_fetch exit {done.rc}: {done.stderr.strip()}"
    return json.loads(done.stdout)


def random_ranges(seed: int, size: int) -> list[tuple[int, int]]:
    rnd = random.Random(seed)
    ranges = [(0, 1), (size - 1, 1), (size - 5000, 5000)]	# the edges
    for _ in range(RANGES):
        n = rnd.choice((1, 17, 4096, 65536, 300000, rnd.randrange(1, 1 << 20)))
        ranges.append((rnd.randrange(0, size - n), n))
    return ranges


@pytest.mark.parametrize("buffer", [0, 4096, 1 << 20], ids=["default", "4k", "1m"])
def test_reader_against_nginx(nginx: tuple[int, bytes], procs: ProcessManager,
                              tcplab_bin: Path, buffer: int) -> None:
    port, data = nginx
    ranges = random_ranges(buffer + 1, len(data))
    flags = ["--buffer", str(buffer)] if buffer else []
    doc = fetch(procs, tcplab_bin, port, ranges, *flags)
    assert doc["size"] == len(data)
    assert len(doc["ranges"]) == len(ranges)
    for (off, n), got in zip(ranges, doc["ranges"]):
        assert (got["off"], got["len"]) == (off, n)
        want = data[off:off + n].hex()
        if got["hex"] != want:
            first = next(i for i in range(n) if got["hex"][2 * i:2 * i + 2] != want[2 * i:2 * i + 2])
            pytest.fail(f"range {off}+{n}: byte {off + first} is 0x{got['hex'][2 * first:2 * first + 2]}"
                        f", the file has 0x{want[2 * first:2 * first + 2]}")
    # every range moved at least one request, and none more than two (a miss, and reading
    # on past a bounded window once)
    assert doc["requests"] <= 2 * len(ranges), doc["requests"]


# ---- the DPDK stacks ----

STACK_DURATION = "2"	# a 16 MiB read through a DPDK stack took up to a second here


@pytest.mark.dpdk
def test_bio_scenario_on_stack(started_stack: str, tcplab: Tcplab, bio_scenario: str,
                               tmp_path: Path) -> None:
    run = tcplab.run(bio_scenario, "--duration", STACK_DURATION, "--warmup", WARMUP,
                     backend=started_stack, out=tmp_path / "out", timeout=120)
    assert run.rc == EXIT_PASS, f"exit {run.rc}: {run.completed.stderr.strip()}"
    doc = run.result
    assert doc["backend"] == started_stack
    assert doc["sut"]["open"] == 0 and doc["sut"]["mismatches"] == 0, doc["sut"]
    check_bio(bio_scenario, doc)
