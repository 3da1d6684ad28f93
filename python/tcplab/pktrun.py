"""pktrun.py - one .pkt script run against one backend: the SUT makes the script's calls
(`tcplab case`, the calls translated by pktcase.py), scapy plays the wire (pktplay.py), and
this side, in the root namespace, relays the wire's control commands to the SUT.

Flow (one script, one backend): parse (pktscript.py; "not supported" before anything runs
when a line is, or when a call has no case-language form) -> write the case -> ScriptLab:
the packet lab of lab.py (topology namespaces, the wire process at the spare address) with
`tcplab case CASE --side sut` as its SUT -> {"pkt": {...}} to the wire -> while it plays,
each {"sut": "call N wait|start SECS"} becomes the line `eN` on the SUT's stdin (its `wait
eN` releases call N), answered with the call's trace line (wait) or at once (start: a
blocking call, collected later by `result N SECS`) -> the wire's verdict -> `end` to the
SUT -> everything torn down (lab.py's ExitStack, on every exit path).

A fresh lab per script: the SUT's stack and sockets start clean, and a DPDK SUT's tap (which
the wire listens on) lives only as long as its process.
"""
from __future__ import annotations

import contextlib
import json
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from . import pktscript
from .lab import PacketLab
from .pktcase import NotRunnable, Ports, expected_usecs, translate
from .proc import LineProc, tcplab_bin
from .topology import Table

DEFAULT_TOLERANCE_US = 4000	# packetdrill's default --tolerance_usecs
SUT_PORT = 8080			# the port a script's bind() takes (packetdrill's local port)
WIRE_PORT = 20080		# scapy's: our SYN's source, the port the SUT's connect() names
SCRIPT_SLACK_S = 60.0		# the wire answers within the script's stated length + this


@dataclass
class Outcome:
    """A script's verdict on one backend: pass, fail (the first mismatch: line, field,
    expected, seen), not supported (line and what), or error (the run broke)."""
    verdict: str
    line: int | None = None
    field: str | None = None
    expected: str | None = None
    seen: str | None = None
    message: str = ""
    seconds: float = 0.0

    def text(self) -> str:
        return self.verdict if not self.message else f"{self.verdict}: {self.message}"


class ScriptLab(PacketLab):
    """The packet lab with `tcplab case CASE --side sut` as the SUT: the script's calls, each
    released by the orchestrator, on the backend under test at the table's SUT address, its
    peer (`peer` in the case) the wire's spare address."""

    def __init__(self, backend: str, case: Path, **kw: Any) -> None:
        super().__init__(backend, **kw)
        self.case = case

    def sut_argv(self) -> list[str]:
        opts = self.topo.stack_opts("sut", self.attach)
        return [self.binary, "case", str(self.case), "--side", "sut", "--backend",
                self.backend, "--sut-addr", self.addrs.sut, "--peer-addr",
                str(self.addrs.spare), "--run-id", f"pkt{self.tag}",
                *(a for o in opts for a in ("--stack-opt", o))]


def tolerance_of(script: pktscript.Script, given: int | None) -> int:
    """The script's own --tolerance_usecs, else the command line's, else packetdrill's."""
    own = script.tolerance_usecs()
    return own if own is not None else given if given is not None else DEFAULT_TOLERANCE_US


def prepare(script: pktscript.Script, tolerance_us: int) -> tuple[str | None, Outcome | None]:
    """The case text, or the "not supported" outcome naming the first line it concerns."""
    unsupported = script.unsupported()
    if unsupported:
        u = unsupported[0]
        return None, Outcome("not supported", line=u.line, message=f"line {u.line}: {u.what}")
    try:
        text, _ = translate(script, Ports(SUT_PORT, WIRE_PORT), tolerance_us)
    except NotRunnable as e:
        line = int(str(e).split(":", 1)[0])
        return None, Outcome("not supported", line=line, message=f"line {e}")
    return text, None


def relay(sut: LineProc, command: str) -> dict[str, Any]:
    """A wire command for the SUT: `call N wait|start SECS` releases call N (`eN` on its
    stdin) and answers its trace line, or at once for a blocking call; `result N SECS` the
    trace line of the blocking call N. {"timeout": true} when the line does not come."""
    words = command.split()
    kind, secs = words[0], float(words[-1])
    try:
        if kind == "call":
            sut.send(f"e{words[1]}")
            waited = sut.read(secs)
            if waited.get("waited") != f"e{words[1]}" or "err" in waited:
                return {"error": f"the SUT was not waiting for call {words[1]}: {waited}"}
            if words[2] == "start":
                return {"started": True}
        return sut.read(secs)
    except TimeoutError:
        return {"timeout": True}
    except (EOFError, BrokenPipeError, OSError) as e:
        return {"error": f"the SUT ended: {e}"}


def run_script(script: pktscript.Script, backend: str, table: Table, binary: str | None,
               tolerance_us: int, log_dir: Path | None = None) -> Outcome:
    """The script on @backend in a lab of its own; its outcome."""
    text, early = prepare(script, tolerance_us)
    if early is not None:
        return early
    assert text is not None
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tcplab-pkt-") as tmp:
        logs = log_dir or Path(tmp)
        logs.mkdir(parents=True, exist_ok=True)
        case = logs / "script.case"
        case.write_text(text)
        bad = check_case(case, binary)
        if bad is not None:
            return Outcome("error", message=f"the case made of it: {bad}")
        try:
            with ScriptLab(backend, case, binary=binary, log_dir=logs, table=table) as lab:
                out = play(lab, script, tolerance_us)
                if out.verdict == "error":
                    out.message += f" ({lab.logs()})"
        except Exception as e:	# noqa: BLE001 (a lab that broke is this script's error)
            out = Outcome("error", message=f"{type(e).__name__}: {str(e).splitlines()[0]}"
                          if str(e) else repr(e))
    out.seconds = round(time.monotonic() - started, 2)
    return out


def check_case(case: Path, binary: str | None) -> str | None:
    """What `tcplab case --check` says against the translated case (a translation bug),
    or None when it reads."""
    done = subprocess.run([binary or str(tcplab_bin()), "case", str(case), "--side", "sut",
                           "--check"], capture_output=True, text=True, timeout=30)
    return None if done.returncode == 0 else done.stderr.strip()


SUT_END_S = 3.0	# the SUT exits within this of "end" (one still blocked is stopped later)


def play(lab: ScriptLab, script: pktscript.Script, tolerance_us: int) -> Outcome:
    """Have the wire play the script, relaying its commands; then release the SUT."""
    lab.wire.send(json.dumps({"pkt": {"path": str(Path(script.path).resolve()),
                                      "tolerance_usecs": tolerance_us, "sut_port": SUT_PORT,
                                      "wire_port": WIRE_PORT}}))
    deadline = time.monotonic() + expected_usecs(script) / pktscript.USEC + SCRIPT_SLACK_S
    while True:
        line = lab.wire.read(max(deadline - time.monotonic(), 0.1))
        if "sut" not in line:
            break
        lab.wire.send(json.dumps(relay(lab.sut, line["sut"])))
    with contextlib.suppress(OSError):	# BrokenPipeError: the SUT ended already
        lab.sut.send("end")
    with contextlib.suppress(subprocess.TimeoutExpired):	# ended by "end", or stopped later
        lab.sut.popen.wait(SUT_END_S)
    if (lab.sut.popen.returncode or 0) < 0:	# a crash is never a script's verdict
        return Outcome("error", message=f"the SUT was killed by signal "
                       f"{-lab.sut.popen.returncode} (the script: {line.get('pkt')})")
    got = line.get("pkt", {"verdict": "error", "message": f"unexpected answer {line}"})
    return Outcome(got["verdict"], got.get("line"), got.get("field"), got.get("expected"),
                   got.get("seen"), got.get("message", ""))


def outcome_dict(o: Outcome) -> dict[str, Any]:
    return {k: v for k, v in asdict(o).items() if v not in (None, "")}
