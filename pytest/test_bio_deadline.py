"""test_bio_deadline.py - a stuck server fails an object run in bounded time (issue 18, part
2): a server on 127.0.0.1 that accepts and never answers; `tcplab run read_full_4k --peer`
ends with error `timeout` (stack/bio's BIO_HTTP_TIMEOUT_MS, 10 s a wait) and one clear line
a failed step, where it used to wait for the server to go away."""
from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from pathlib import Path

from tcplab.topology import LINUX

WAIT_S = 10.0	# BIO_HTTP_TIMEOUT_MS


def test_a_silent_server_times_out(tcplab_bin: Path, tmp_path: Path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:	# take every connection, read nothing, answer nothing
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        done = subprocess.run([str(tcplab_bin), "run", "read_full_4k", "-b", LINUX, "--peer",
                               f"127.0.0.1:{server.getsockname()[1]}", "-d", "1",
                               "--warmup", "0", "-q", "-o", str(tmp_path)],
                              capture_output=True, text=True, timeout=120)
        took = time.monotonic() - started
    finally:
        stop.set()
        thread.join()
        for c in held:
            c.close()
        server.close()
    assert done.returncode == 1, done.stderr
    assert took < 4 * WAIT_S, took
    errors = json.loads((tmp_path / "read_full_4k.json").read_text())["metrics"]
    assert set(errors["errors_by_reason"]) == {"timeout"}, errors["errors_by_reason"]
    lines = [ln for ln in done.stderr.splitlines() if "object step" in ln]
    assert lines and all(ln.endswith(f"the server sent nothing for {int(WAIT_S * 1000)} ms")
                         for ln in lines), done.stderr
    assert "nan" not in done.stdout, done.stdout	# the summary of no sample says n/a
