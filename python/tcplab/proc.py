"""proc.py - the processes tcplab's Python starts: where the binary is, and processes managed
so that none outlives its caller.

tcplab_bin() is the one answer to "which tcplab binary": $TCPLAB_BIN, else the build's
(harness/tcplab under $TCPLAB_BUILD or build/). module_argv()/module_env() start a module of
this package in a child (the wire process in its namespace, a test's `tcplab conform`).

Every process started through a ProcessManager (tests) carries the manager's tag in its
environment (TCPLAB_TEST_TAG); children inherit it, so the SUT a `tcplab run` forks is found
and stopped too, by PID. stdout is kept (a transcript of the lines read, or the whole output
of a run to completion) and stderr goes to a log file; dump() renders both for a failed
test's report. A LineProc (tools) is one process speaking JSON lines on stdin and stdout.

Nothing here sleeps to guess: reads wait on the pipe with a deadline, waits have a timeout.
"""
from __future__ import annotations

import contextlib
import json
import os
import select
import selectors
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = Path(__file__).resolve().parents[1]	# python/: what PYTHONPATH names
TAG_VAR = "TCPLAB_TEST_TAG"
STOP_WAIT_S = 5.0
DRAIN_WAIT_S = 0.5
DUMP_LIMIT = 20000
POLL_S = 0.02


def build_dir() -> Path:
    """The meson build directory: $TCPLAB_BUILD, else build/ at the root."""
    return Path(os.environ.get("TCPLAB_BUILD", ROOT / "build"))


def tcplab_bin() -> Path:
    """The tcplab binary: $TCPLAB_BIN (./tcplab test sets it), else the build's."""
    given = os.environ.get("TCPLAB_BIN")
    return Path(given) if given else build_dir() / "harness" / "tcplab"


def module_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment with PYTHONPATH naming this package (and results/, for resultkit),
    for a child that runs `python3 -m tcplab.X`."""
    env = {**os.environ, **(extra or {})}
    paths = [str(PACKAGE_DIR), str(ROOT / "results")]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def module_argv(module: str, *args: str) -> list[str]:
    """`python3 -m tcplab.MODULE ARGS` with this interpreter."""
    return [sys.executable, "-m", f"tcplab.{module}", *args]


@dataclass
class ModuleRun:
    """A finished `python3 -m tcplab.MODULE`: its PID (what it made is named by it), exit
    status and output."""
    pid: int
    rc: int
    stdout: str
    stderr: str


def run_module(module: str, args: list[str], tcplab_bin: Path, timeout: float) -> ModuleRun:
    """`python3 -m tcplab.MODULE ARGS` run to its end with TCPLAB_BIN=@tcplab_bin. Past @timeout seconds (or on any error here) it gets SIGTERM,
    on which a tcplab module removes the namespaces it made, before it is waited for."""
    with subprocess.Popen(module_argv(module, *args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True,
                          env=module_env({"TCPLAB_BIN": str(tcplab_bin)})) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
    return ModuleRun(proc.pid, proc.returncode, stdout, stderr)


def children(pid: int) -> list[int]:
    """The PIDs of @pid's children (of its main thread), as /proc lists them now."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def suts(pid: int) -> list[int]:
    """@pid's children that are SUTs (`tcplab serve`): not a run's janitor (harness/cli/
    janitor.c) nor a capture's tcpdump, which a run starts too."""
    out = []
    for kid in children(pid):
        try:
            argv = Path(f"/proc/{kid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[1:2] == [b"serve"]:
            out.append(kid)
    return out


def poll_until(cond: Callable[[], bool], timeout: float, every: float = POLL_S) -> bool:
    """Whether @cond() came true within @timeout seconds, asked every @every seconds (for
    what no process signals: a process gone, a file removed)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() >= deadline:
            return False
        time.sleep(every)
    return True


def tagged_pids(tag: str) -> list[int]:
    """Live processes whose environment carries TAG_VAR=@tag: what was started with it and
    their descendants."""
    pids = []
    needle = f"{TAG_VAR}={tag}".encode()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as f:
                if needle in f.read().split(b"\0") and running(int(entry.name)):
                    pids.append(int(entry.name))
        except OSError:
            continue	# gone, a zombie, or not ours to read
    return pids


def running(pid: int) -> bool:
    """True while @pid exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def first_stderr_line(popen: subprocess.Popen, timeout: float) -> str:
    """The first line @popen writes on stderr, waited for with a deadline (AssertionError:
    none within @timeout, or stderr closed first)."""
    assert popen.stderr is not None
    fd, buf = popen.stderr.fileno(), b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            assert left > 0, f"no line on stderr within {timeout} s: {buf!r}"
            if sel.select(left):
                chunk = os.read(fd, 4096)
                assert chunk, f"stderr closed (exit {popen.poll()}): {buf!r}"
                buf += chunk
    return buf.decode(errors="replace").split("\n", 1)[0]


def terminate(popen: subprocess.Popen) -> None:
    """End a process we started, by PID: TERM, then KILL if it outlives STOP_WAIT_S; reaped."""
    popen.send_signal(signal.SIGTERM)
    try:
        popen.wait(STOP_WAIT_S)
    except subprocess.TimeoutExpired:
        popen.kill()
        popen.wait()

class ManagedProcess:
    """One started process: stdin and stdout pipes, stderr to a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path,
                 keep_stdin: bool = True, cwd: Path | None = None) -> None:
        self.name = name
        self.argv = argv
        self.stderr_path = log_dir / f"{name}.stderr"
        self.transcript: list[str] = []
        self._buf = b""
        with open(self.stderr_path, "wb") as err:
            self.popen = subprocess.Popen(
                argv, env=env, stdout=subprocess.PIPE, stderr=err, cwd=cwd,
                stdin=subprocess.PIPE if keep_stdin else subprocess.DEVNULL)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def read_line(self, timeout: float) -> str:
        """The next stdout line (without its newline) within @timeout seconds."""
        assert self.popen.stdout is not None
        deadline = time.monotonic() + timeout
        fd = self.popen.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.name} (pid {self.pid}) wrote no line on stdout "
                                       f"within {timeout} s")
                if not sel.select(left):
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise EOFError(f"{self.name} (pid {self.pid}) closed stdout "
                                   f"(exit status {self.popen.poll()}) before a full line; "
                                   f"partial: {self._buf!r}")
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        text = line.decode("utf-8", "replace")
        self.transcript.append(text)
        return text

    def unterminated(self) -> str:
        """What was read after the last newline."""
        return self._buf.decode("utf-8", "replace")

    def send(self, line: str) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.write(line.encode() + b"\n")
        self.popen.stdin.flush()

    def close_stdin(self) -> None:
        if self.popen.stdin is not None and not self.popen.stdin.closed:
            with contextlib.suppress(BrokenPipeError, OSError):
                self.popen.stdin.close()

    def rest_of_stdout(self, timeout: float) -> list[str]:
        """Every remaining stdout line up to end of file (the process is ending)."""
        lines = []
        while True:
            try:
                lines.append(self.read_line(timeout))
            except EOFError:
                return lines

    def wait(self, timeout: float) -> int:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"{self.name} (pid {self.pid}) did not exit within "
                               f"{timeout} s") from None

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def _drain_stdout(self) -> None:
        """Keep what an ended process wrote but nobody read, for the logs."""
        try:
            while True:
                self.read_line(DRAIN_WAIT_S)
        except (EOFError, TimeoutError, ValueError, OSError):
            pass	# ValueError/OSError: the pipe is already closed

    def stop(self) -> None:
        """End it by PID if it still runs (TERM, then KILL), reap it, close its pipes."""
        if self.popen.poll() is None:
            terminate(self.popen)
        self._drain_stdout()
        for f in (self.popen.stdin, self.popen.stdout):
            if f is not None and not f.closed:
                try:
                    f.close()
                except BrokenPipeError:
                    pass


class LineProc(ManagedProcess):
    """A process speaking JSON lines on stdin and stdout (a SUT's control, the wire process),
    stderr to a log file whose tail its errors carry. stop() ends it gently, by PID: end of
    stdin first (both such processes exit on it), then TERM, then KILL."""

    def __init__(self, name: str, argv: list[str], log_dir: Path,
                 env: dict[str, str] | None = None) -> None:
        super().__init__(name, argv, env if env is not None else dict(os.environ), log_dir)

    def read(self, timeout: float) -> dict[str, Any]:
        """The next line, parsed."""
        try:
            return json.loads(self.read_line(timeout))
        except (TimeoutError, EOFError) as e:
            raise type(e)(f"{e}; stderr: {self.stderr_tail()}") from None

    def request(self, req: dict[str, Any], timeout: float) -> dict[str, Any]:
        self.send(json.dumps(req))
        return self.read(timeout)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def rest(self, timeout: float = 1.0, limit: int = 4000) -> str:
        """What an ended process left on stdout (an assertion message, say)."""
        assert self.popen.stdout is not None
        fd = self.popen.stdout.fileno()
        deadline = time.monotonic() + timeout
        while len(self._buf) < limit and select.select([fd], [], [], max(
                deadline - time.monotonic(), 0))[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            self._buf += chunk
        return self._buf.decode(errors="replace")[-limit:]

    def stderr_tail(self, limit: int = 2000) -> str:
        try:
            text = self.stderr_text()
        except OSError:
            return ""
        return text[-limit:].strip()

    def stop(self) -> None:
        self.close_stdin()
        try:
            self.popen.wait(STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            terminate(self.popen)
        if self.popen.stdout is not None:
            self.popen.stdout.close()


@dataclass
class Completed:
    """A process run to completion."""
    argv: list[str]
    rc: int
    stdout: str
    stderr: str

    def stderr_lines(self) -> list[str]:
        return self.stderr.splitlines()


class ProcessManager:
    """Starts processes for one test and always cleans up after it."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.tag = uuid.uuid4().hex
        self.started: list[ManagedProcess] = []
        self.completed: list[Completed] = []

    def _env(self, env: dict[str, str] | None) -> dict[str, str]:
        full = dict(os.environ)
        full.update(env or {})
        full[TAG_VAR] = self.tag
        return full

    def _name(self, argv: list[str]) -> str:
        base = "-".join(Path(a).name for a in argv[:3])
        return f"{len(self.started) + len(self.completed):02d}-{base}"

    def start(self, argv: list[str], env: dict[str, str] | None = None) -> ManagedProcess:
        p = ManagedProcess(self._name(argv), argv, self._env(env), self.log_dir)
        self.started.append(p)
        return p

    def run(self, argv: list[str], timeout: float,
            env: dict[str, str] | None = None) -> Completed:
        """Run @argv to completion within @timeout seconds (stdin closed)."""
        p = ManagedProcess(self._name(argv), argv, self._env(env), self.log_dir,
                           keep_stdin=False)
        self.started.append(p)
        deadline = time.monotonic() + timeout
        out = []
        try:
            while True:
                try:
                    out.append(p.read_line(deadline - time.monotonic()))
                except EOFError:
                    break
            rc = p.wait(max(deadline - time.monotonic(), 0.1))
        finally:
            p.stop()
        self.started.remove(p)
        stdout = "".join(line + "\n" for line in out) + p.unterminated()
        done = Completed(argv, rc, stdout, p.stderr_text())
        self.completed.append(done)
        return done

    def tagged_pids(self) -> list[int]:
        """Live processes carrying this manager's tag: what it started and their children."""
        return tagged_pids(self.tag)

    def cleanup(self) -> list[int]:
        """Stop everything started; return the PIDs of descendants that had to be killed."""
        for p in self.started:
            p.stop()
        leftovers = self.tagged_pids()
        for pid in leftovers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return leftovers

    def dump(self) -> str:
        """The logs of everything started, for a failed test's report."""
        parts = []
        for c in self.completed:
            parts.append(f"=== {' '.join(c.argv)}  (exit {c.rc})\n"
                         f"--- stdout\n{_tail(c.stdout)}--- stderr\n{_tail(c.stderr)}")
        for p in self.started:
            parts.append(f"=== {' '.join(p.argv)}  (pid {p.pid}, exit {p.returncode})\n"
                         "--- stdout\n" + _tail("".join(
                             line + "\n" for line in p.transcript) + p.unterminated()) +
                         f"--- stderr\n{_tail(p.stderr_text())}")
        return "\n".join(parts)


def _tail(text: str) -> str:
    if len(text) > DUMP_LIMIT:
        text = f"[... {len(text) - DUMP_LIMIT} characters left out ...]\n" + text[-DUMP_LIMIT:]
    return text if text.endswith("\n") or not text else text + "\n"
