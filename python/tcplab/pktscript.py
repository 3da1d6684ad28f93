"""pktscript.py - scripts in packetdrill's syntax (.pkt) read into a typed AST.

Place in the flow: `tcplab pkt FILE|DIR...` loads each script here (load, or parse for text)
before anything starts; a malformed line is a UsageError `file:line: message` (exit 2). The
runner then reports every node of Script.unsupported() as "not supported" on its line and
plays the events in order: system calls through the stack under test, inbound segments (`<`)
injected from the wire side, outbound ones (`>`) matched against what the stack sends.

What is read (scenarios/pkt/README.md is the reference): options (`--name=value` lines, or
the same in a comment before the first event), and events, each with its timing:

    Syscall      `0.1 setsockopt(3, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=0}, 8) = 0`
    Segment      `+0 > S. 0:0(0) ack 1 win 65535 <mss 1460,nop,wscale 7>`
    Unsupported  what the runner cannot do (shell commands, inline Python, UDP and ICMP
                 packets, IPv6, TCP Fast Open, zerocopy, system calls and socket options
                 outside the tables below): kept with its line and the reason, never dropped

Sequence and acknowledgment numbers are kept as written: like packetdrill, relative to the
initial sequence numbers (the inbound side's ISN for `<` seq and `>` ack, the stack's ISN for
`>` seq and `<` ack); the runner maps them. `...` is ANY: a value not checked.
Times are integer microseconds, so no float rounding touches a tolerance.
describe() prints a Script back, one line per event, in a form parse() reads again.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

from . import UsageError

USEC = 1_000_000
M32 = 1 << 32


@dataclass(frozen=True)
class AnyValue:
    """`...`: any value is accepted (packetdrill's ellipsis)."""

    def __str__(self) -> str:
        return "..."


ANY = AnyValue()
Num = Union[int, AnyValue]


# --- timing ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Timing:
    """When an event happens. mode "abs": usecs after the script's start; "rel": after the
    previous event; "any": `*`, whenever. until: the end of a range `a~b` (same mode), the
    event may happen anywhere in [usecs, until]."""
    mode: str
    usecs: int = 0
    until: int | None = None


# --- system call arguments ------------------------------------------------------------------

@dataclass(frozen=True)
class Int:
    value: int


@dataclass(frozen=True)
class Sym:
    """A symbolic constant: SOCK_STREAM, SO_LINGER, POLLIN."""
    name: str


@dataclass(frozen=True)
class Or:
    """Constants joined with `|`: O_RDWR|O_NONBLOCK."""
    terms: tuple[Expr, ...]


@dataclass(frozen=True)
class Str:
    """A string literal, as written between the quotes (escapes not processed)."""
    text: str


@dataclass(frozen=True)
class Ref:
    """`&name`: an out-parameter placeholder (packetdrill itself writes `...`)."""
    name: str


@dataclass(frozen=True)
class Array:
    """`[1000]`, `[{fd=4, events=POLLIN}]`: an int or a struct passed by pointer."""
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Struct:
    """`{l_onoff=1, l_linger=0}`: named fields, in order."""
    fields: tuple[tuple[str, Expr], ...]


@dataclass(frozen=True)
class Call:
    """`htons(8080)` inside an argument."""
    name: str
    args: tuple[Expr, ...]


Expr = Union[AnyValue, Int, Sym, Or, Str, Ref, Array, Struct, Call]


# --- TCP options ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Nop:
    pass


@dataclass(frozen=True)
class Eol:
    pass


@dataclass(frozen=True)
class Mss:
    value: Num


@dataclass(frozen=True)
class WScale:
    shift: Num


@dataclass(frozen=True)
class SackOK:
    pass


@dataclass(frozen=True)
class Sack:
    """SACK blocks, each (left, right) relative to the ISN of the sequence space acked."""
    blocks: tuple[tuple[Num, Num], ...]


@dataclass(frozen=True)
class Timestamp:
    val: Num
    ecr: Num


TcpOption = Union[Nop, Eol, Mss, WScale, SackOK, Sack, Timestamp]


# --- events ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Syscall:
    """A system call and its expected result: `= ret [ERRNO] [(note)]`. end: for a call
    that blocks (`0.1...0.3 accept(...)`), when it returns, in the mode of its timing."""
    line: int = field(compare=False)
    time: Timing
    name: str
    args: tuple[Expr, ...]
    ret: Expr
    errno: str | None = None
    note: str | None = None
    end: int | None = None


@dataclass(frozen=True)
class Segment:
    """A TCP segment: `<` inbound (injected), `>` outbound (expected from the stack).
    flags: letters in FLAG_ORDER ('.' is ACK). ack, win, urg: None when not written.
    options: () when none are written, ANY for `<...>`. ecn: the IP ECN field, when
    written in brackets (noecn, ect0, ect1, ect01, ce)."""
    line: int = field(compare=False)
    time: Timing
    direction: str
    flags: str
    seq: Num
    end: Num
    length: Num
    ack: Num | None = None
    win: Num | None = None
    urg: Num | None = None
    options: tuple[TcpOption, ...] | AnyValue = ()
    ecn: str | None = None


@dataclass(frozen=True)
class Unsupported:
    """A construct the runner does not support, with why (what) and the statement as
    written (text, which describe() prints back). time: None for an untimed one."""
    line: int = field(compare=False)
    time: Timing | None
    what: str
    text: str


Event = Union[Syscall, Segment, Unsupported]


@dataclass(frozen=True)
class Option:
    """A command-line-style option: `--name=value` (value None for a bare `--name`)."""
    line: int = field(compare=False)
    name: str
    value: str | None


@dataclass(frozen=True)
class Script:
    """A parsed script; two are equal when their options and events are (not the path,
    nor the line numbers)."""
    path: str = field(compare=False)
    options: tuple[Option, ...]
    events: tuple[Event, ...]

    def option(self, name: str) -> str | None:
        """The last value given for --name (None: not given, or bare)."""
        found = [o.value for o in self.options if o.name == name]
        return found[-1] if found else None

    def tolerance_usecs(self) -> int | None:
        v = self.option("tolerance_usecs")
        return None if v is None else int(v)

    def unsupported(self) -> tuple[Unsupported, ...]:
        """Everything the runner must report as not supported, in line order."""
        found = [u for u in map(unsupported_option, self.options) if u is not None]
        found += [e for e in self.events if isinstance(e, Unsupported)]
        return tuple(sorted(found, key=lambda u: u.line))


# --- the tables of what is supported --------------------------------------------------------

# System calls the runner drives, with their argument counts (fcntl: F_GETFL has no third).
SYSCALLS: dict[str, tuple[int, ...]] = {
    "socket": (3,), "bind": (3,), "listen": (2,), "accept": (3,), "connect": (3,),
    "read": (3,), "write": (3,), "send": (4,), "recv": (4,), "sendto": (6,),
    "recvfrom": (6,), "setsockopt": (5,), "getsockopt": (5,), "fcntl": (2, 3),
    "poll": (3,), "shutdown": (2,), "close": (1,),
}

# Socket options by level (both spellings of a level): the ones the transport API can
# express or a stack may answer; any other is reported as not supported.
_SOCKET_OPTS = frozenset({
    "SO_REUSEADDR", "SO_REUSEPORT", "SO_KEEPALIVE", "SO_LINGER", "SO_RCVBUF", "SO_SNDBUF",
    "SO_ERROR", "SO_RCVLOWAT", "SO_OOBINLINE", "SO_TYPE", "SO_ACCEPTCONN", "SO_RCVTIMEO",
    "SO_SNDTIMEO"})
_TCP_OPTS = frozenset({
    "TCP_NODELAY", "TCP_CORK", "TCP_KEEPIDLE", "TCP_KEEPINTVL", "TCP_KEEPCNT", "TCP_MAXSEG",
    "TCP_QUICKACK", "TCP_USER_TIMEOUT", "TCP_LINGER2", "TCP_SYNCNT", "TCP_WINDOW_CLAMP",
    "TCP_DEFER_ACCEPT"})
_IP_OPTS = frozenset({"IP_TOS", "IP_TTL"})
SOCKOPTS: dict[str, frozenset[str]] = {
    "SOL_SOCKET": _SOCKET_OPTS, "IPPROTO_TCP": _TCP_OPTS, "SOL_TCP": _TCP_OPTS,
    "IPPROTO_IP": _IP_OPTS, "SOL_IP": _IP_OPTS,
}

# Constants that make a call unsupported wherever they appear in its arguments.
UNSUPPORTED_NAMES: dict[str, str] = {
    "MSG_ZEROCOPY": "zerocopy (MSG_ZEROCOPY)",
    "SO_ZEROCOPY": "zerocopy (SO_ZEROCOPY)",
    "MSG_FASTOPEN": "TCP Fast Open (MSG_FASTOPEN)",
    "TCP_FASTOPEN": "TCP Fast Open (TCP_FASTOPEN)",
    "TCP_FASTOPEN_CONNECT": "TCP Fast Open (TCP_FASTOPEN_CONNECT)",
    "AF_INET6": "IPv6 (AF_INET6)",
    "PF_INET6": "IPv6 (PF_INET6)",
    "IPPROTO_IPV6": "IPv6 (IPPROTO_IPV6)",
    "TCP_MD5SIG": "TCP MD5 signatures (TCP_MD5SIG)",
}

# TCP options that packetdrill knows and the runner does not.
UNSUPPORTED_TCP_OPTIONS: dict[str, str] = {
    "FO": "TCP Fast Open cookie option (FO)",
    "FOEXP": "TCP Fast Open experimental option (FOEXP)",
    "md5": "TCP MD5 signature option (md5)",
    "mptcp": "MPTCP option (mptcp)",
    "exp": "experimental TCP option (exp)",
}

FLAG_ORDER = "SFRPUEWN."	# S F R P U; E (ECE), W (CWR), N (NS); '.' ACK last
ECN_FIELDS = ("noecn", "ect0", "ect1", "ect01", "ce")
ERRNO = re.compile(r"E[A-Z0-9]+$")
LIMITS = {"win": 0xFFFF, "urg": 0xFFFF, "mss": 0xFFFF, "wscale": 0xFF}


def unsupported_option(o: Option) -> Unsupported | None:
    """An option the runner cannot honour: any IP version but IPv4."""
    if o.name == "ip_version" and o.value != "ipv4":
        return Unsupported(o.line, None, f"IP version {o.value} (--ip_version)",
                           f"--{o.name}={o.value}")
    return None


# --- comments and statements ----------------------------------------------------------------

class _Unsupported(Exception):
    """Raised while parsing a statement the runner cannot run; becomes Unsupported."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def fail(path: str, line: int, message: str) -> UsageError:
    return UsageError(f"{path}:{line}: {message}")


@dataclass
class Source:
    """A script with its comments blanked out (line numbers kept): the comments by line,
    and the lines whose end falls inside brackets, a string, a backquoted command or
    %{ }% (the statement continues on the next line)."""
    clean: str
    comments: list[tuple[int, str]]
    continued: set[int]


def strip_comments(text: str, path: str) -> Source:
    """One pass over the text: comments out (but inside literals), option lines as they
    are, and the bracket depth and open literal at each line's end."""
    src = Source("", [], set())
    out: list[str] = []
    i, line, depth = 0, 1, 0
    mode, mode_line = "", 0		# "", '"', '`' or "%{": inside a literal since mode_line
    while i < len(text):
        c, two = text[i], text[i:i + 2]
        if not mode and not depth and (i == 0 or text[i - 1] == "\n") \
                and re.match(r"[ \t]*--", text[i:i + 256]):
            i = option_line(text, i, line, src, out)
            continue
        if not mode and two in ("//", "/*"):
            i, line = comment(text, i, line, path, src, out)
            continue
        if not mode and two == "%{" or mode == "%{" and two == "}%":
            mode, mode_line = ("%{" if not mode else ""), line
            out.append(two)
            i += 2
            continue
        if not mode and c in '"`':
            mode, mode_line = c, line
        elif mode and mode == c:
            mode = ""
        elif not mode and c in "([{":
            depth += 1
        elif not mode and c in ")]}":
            depth = max(0, depth - 1)
        elif mode == '"' and c == "\\" and text[i + 1:i + 2] not in ("", "\n"):
            out.append(two)
            i += 2
            continue
        if c == "\n":
            if mode == '"':
                raise fail(path, mode_line, "unterminated string (a \" is missing)")
            if depth or mode:
                src.continued.add(line)
            line += 1
        out.append(c)
        i += 1
    if mode:
        close = {'"': '"', "`": "`", "%{": "}%"}[mode]
        raise fail(path, mode_line, f"unterminated {mode}: {close} is missing")
    src.clean = "".join(out)
    return src


def option_line(text: str, i: int, line: int, src: Source, out: list[str]) -> int:
    """Copy a line of --options as it is (a value's brackets open nothing), but for a //
    comment after them; the index of its end."""
    end = text.find("\n", i)
    end = len(text) if end < 0 else end
    cut = text.find("//", i, end)
    if cut >= 0:
        src.comments.append((line, text[cut + 2:end]))
        out.append(text[i:cut] + " " * (end - cut))
    else:
        out.append(text[i:end])
    return end


def comment(text: str, i: int, line: int, path: str, src: Source,
            out: list[str]) -> tuple[int, int]:
    """Blank the comment at i (// or /* */), keep its text; the new index and line."""
    if text.startswith("//", i):
        end = text.find("\n", i)
        end = len(text) if end < 0 else end
        src.comments.append((line, text[i + 2:end]))
        out.append(" " * (end - i))
        return end, line
    end = text.find("*/", i + 2)
    if end < 0:
        raise fail(path, line, "unterminated /* comment: */ is missing")
    for k, part in enumerate(text[i + 2:end].split("\n")):
        src.comments.append((line + k, part))
    blank = re.sub(r"[^\n]", " ", text[i:end + 2])
    out.append(blank)
    return end + 2, line + blank.count("\n")


def statements(src: Source) -> list[tuple[int, str]]:
    """The statements: one a line, or more lines while a bracket or a literal is open."""
    found: list[tuple[int, str]] = []
    cur: list[str] = []
    start = 0
    for no, text in enumerate(src.clean.split("\n"), 1):
        if not cur and not text.strip():
            continue
        if not cur:
            start = no
        cur.append(text)
        if no not in src.continued:
            found.append((start, "\n".join(cur).strip()))
            cur = []
    return found


# --- tokens ---------------------------------------------------------------------------------

TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<ellipsis>\.\.\.)
  | (?P<num>0[xX][0-9a-fA-F]+|\d+\.\d+|\d+|\.\d+)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[-+*~=<>:(),\[\]{}|&.])
  | (?P<other>.)
""", re.X | re.S)


@dataclass(frozen=True)
class Tok:
    kind: str		# ellipsis, num, str, name, punct, other, end
    text: str
    pos: int		# offset in the statement
    spaced: bool	# whitespace (or the start) before it


def tokenize(text: str) -> list[Tok]:
    toks: list[Tok] = []
    spaced = True
    for m in TOKEN.finditer(text):
        kind = m.lastgroup or "other"
        if kind == "ws":
            spaced = True
            continue
        toks.append(Tok(kind, m.group(), m.start(), spaced))
        spaced = False
    toks.append(Tok("end", "", len(text), True))
    return toks


class Stmt:
    """One statement's tokens and a cursor; errors name the token's own line."""

    def __init__(self, path: str, line: int, text: str) -> None:
        self.path, self.line, self.text = path, line, text
        self.toks = tokenize(text)
        self.i = 0

    def peek(self, ahead: int = 0) -> Tok:
        return self.toks[min(self.i + ahead, len(self.toks) - 1)]

    def take(self) -> Tok:
        t = self.peek()
        self.i = min(self.i + 1, len(self.toks) - 1)
        return t

    def at(self, text: str) -> bool:
        t = self.peek()
        return t.kind != "str" and t.text == text

    def accept(self, text: str) -> bool:
        if self.at(text):
            self.take()
            return True
        return False

    def expect(self, text: str, what: str) -> Tok:
        if not self.at(text):
            raise self.error(f"expected {what}")
        return self.take()

    def note(self) -> str:
        """Free text in parentheses, from here to the matching ')' (it need not lex)."""
        start, depth = self.peek().pos, 0
        for i in range(start, len(self.text)):
            depth += {"(": 1, ")": -1}.get(self.text[i], 0)
            if depth == 0:
                while self.peek().pos <= i and self.peek().kind != "end":
                    self.take()
                return self.text[start + 1:i].strip()
        raise self.error("expected ')' closing the note")

    def rest(self) -> str:
        return self.text[self.peek().pos:].strip()

    def error(self, message: str, tok: Tok | None = None) -> UsageError:
        """message, then what was found instead (tok, or the next token) and its line;
        with tok given the message says all, and only the line is taken from it."""
        t = tok or self.peek()
        line = self.line + self.text[:t.pos].count("\n")
        if tok is not None:
            return fail(self.path, line, message)
        seen = "end of line" if t.kind == "end" else f"'{t.text}'"
        return fail(self.path, line, f"{message}, found {seen}")

    def end(self, what: str) -> None:
        if self.peek().kind != "end":
            raise self.error(f"expected end of line after {what}")


# --- numbers and times ----------------------------------------------------------------------

def integer(s: Stmt, what: str, limit: int = M32 - 1) -> int:
    t = s.peek()
    if t.kind != "num" or "." in t.text:
        raise s.error(f"expected {what} (an integer)")
    s.take()
    value = int(t.text, 0) if t.text.lower().startswith("0x") else int(t.text)
    if value > limit:
        raise s.error(f"{what} {value} is out of range (0..{limit})", t)
    return value


def number(s: Stmt, what: str, limit: int = M32 - 1) -> Num:
    """An integer, or `...` for any."""
    if s.accept("..."):
        return ANY
    return integer(s, what, limit)


def seconds(s: Stmt, what: str) -> int:
    """A time in seconds (`0`, `0.1`, `.25`) as microseconds, exactly."""
    t = s.peek()
    if t.kind != "num" or t.text.lower().startswith("0x"):
        raise s.error(f"expected {what} (seconds, as 0.1 or .1)")
    whole, _, frac = t.text.partition(".")
    if len(frac) > 6:
        raise s.error(f"{what} is finer than a microsecond", t)
    s.take()
    return int(whole or "0") * USEC + int(frac.ljust(6, "0"))


def timing(s: Stmt) -> Timing:
    """`*`, `T`, `+T`, `T~T` or `+T~+T`."""
    if s.accept("*"):
        return Timing("any")
    mode = "rel" if s.accept("+") else "abs"
    start = seconds(s, "a time")
    if not s.accept("~"):
        return Timing(mode, start)
    if mode == "rel" and not s.accept("+"):
        raise s.error("expected '+' after '~' in a relative range (+a~+b)")
    if mode == "abs" and s.at("+"):
        raise s.error("expected an absolute end after '~' in an absolute range (a~b)")
    until = seconds(s, "the end of the time range")
    if until < start:
        raise s.error("the time range ends before it starts", s.toks[s.i - 1])
    return Timing(mode, start, until)


# --- system calls ---------------------------------------------------------------------------

def expression(s: Stmt) -> Expr:
    """term ('|' term)*"""
    terms = [term(s)]
    while s.accept("|"):
        terms.append(term(s))
    return terms[0] if len(terms) == 1 else Or(tuple(terms))


def term(s: Stmt) -> Expr:
    t = s.peek()
    if s.accept("..."):
        return ANY
    if t.kind == "num" or t.text == "-" and s.peek(1).kind == "num":
        sign = -1 if s.accept("-") else 1
        return Int(sign * integer(s, "a number", M32 * M32))
    if t.kind == "str":
        s.take()
        return Str(t.text[1:-1])
    if t.kind == "name":
        s.take()
        if s.at("(") and not s.peek().spaced:
            s.take()
            return Call(t.text, arguments(s, ")"))
        return Sym(t.text)
    if s.accept("&"):
        name = s.peek()
        if name.kind != "name":
            raise s.error("expected a name after '&'")
        s.take()
        return Ref(name.text)
    if s.accept("["):
        return Array(arguments(s, "]"))
    if s.accept("{"):
        return struct(s)
    raise s.error("expected a value (a number, a NAME, ..., [..], {..} or \"..\")")


def arguments(s: Stmt, close: str) -> tuple[Expr, ...]:
    """Comma-separated expressions up to close (the opening bracket already taken)."""
    args: list[Expr] = []
    if s.accept(close):
        return ()
    while True:
        args.append(expression(s))
        if s.accept(close):
            return tuple(args)
        s.expect(",", f"',' or '{close}'")


def struct(s: Stmt) -> Struct:
    fields: list[tuple[str, Expr]] = []
    if s.accept("}"):
        return Struct(())
    while True:
        name = s.peek()
        if name.kind != "name":
            raise s.error("expected a field name in {name=value, ...}")
        s.take()
        s.expect("=", f"'=' after field {name.text}")
        fields.append((name.text, expression(s)))
        if s.accept("}"):
            return Struct(tuple(fields))
        s.expect(",", "',' or '}'")


def syscall(s: Stmt, when: Timing, end: int | None) -> Syscall:
    """`name(args) = result [ERRNO] [(note)]`; a call outside SYSCALLS is not parsed."""
    name = s.take()
    if name.text not in SYSCALLS:
        raise _Unsupported(f"system call {name.text}")
    s.take()						# '(': event() saw it
    args = arguments(s, ")")
    if len(args) not in SYSCALLS[name.text]:
        counts = SYSCALLS[name.text]
        said = " or ".join(map(str, counts)) + (" argument" if counts == (1,) else " arguments")
        raise s.error(f"{name.text} takes {said}, not {len(args)}", name)
    s.expect("=", "'= result' after the call")
    ret = expression(s)
    errno = None
    if s.peek().kind == "name" and ERRNO.match(s.peek().text):
        errno = s.take().text
    note = s.note() if s.at("(") else None
    s.end("the expected result")
    call = Syscall(s.line, when, name.text, args, ret, errno, note, end)
    check_call(call)
    return call


def names_in(e: Expr) -> list[str]:
    if isinstance(e, Sym):
        return [e.name]
    if isinstance(e, (Or, Array)):
        parts = e.terms if isinstance(e, Or) else e.items
        return [n for p in parts for n in names_in(p)]
    if isinstance(e, Struct):
        return [n for _, v in e.fields for n in names_in(v)]
    if isinstance(e, Call):
        return [n for a in e.args for n in names_in(a)]
    return []


def check_call(call: Syscall) -> None:
    """Raise _Unsupported for a call the runner cannot make as written."""
    for name in (n for a in call.args for n in names_in(a)):
        if name in UNSUPPORTED_NAMES:
            raise _Unsupported(UNSUPPORTED_NAMES[name])
    if call.name in ("setsockopt", "getsockopt"):
        level, opt = call.args[1], call.args[2]
        if isinstance(level, Sym) and level.name not in SOCKOPTS:
            raise _Unsupported(f"socket option level {level.name}")
        if isinstance(level, Sym) and isinstance(opt, Sym) \
                and opt.name not in SOCKOPTS[level.name]:
            raise _Unsupported(f"socket option {opt.name}")


# --- segments -------------------------------------------------------------------------------

def segment(s: Stmt, when: Timing) -> Segment:
    """`DIR [ECN] FLAGS SEQ` then ack, win, urg and <options>, each at most once."""
    direction = s.take().text
    proto = s.peek()
    if proto.kind == "name" and proto.text.lower() in ("udp", "icmp"):
        raise _Unsupported(f"{proto.text.lower()} packet")
    ecn = ip_fields(s)
    flags = tcp_flags(s)
    seq, end, length = sequence(s)
    fields: dict[str, Num | tuple[TcpOption, ...] | AnyValue] = {}
    while s.peek().kind != "end":
        t = s.peek()
        key = "options" if t.text == "<" else t.text
        if key not in ("ack", "win", "urg", "options"):
            raise s.error("expected ack N, win N, urg N or <options>")
        if key in fields:
            raise s.error(f"{t.text} is given twice", t)
        s.take()
        fields[key] = tcp_options(s) if key == "options" else \
            number(s, key, LIMITS.get(key, M32 - 1))
    return Segment(s.line, when, direction, flags, seq, end, length, ecn=ecn,
                   **fields)  # type: ignore[arg-type]


def ip_fields(s: Stmt) -> str | None:
    """`[ect0]`-style ECN field of the IP header; other IP fields are not supported."""
    if not s.accept("["):
        return None
    t = s.take()
    if t.text not in ECN_FIELDS:
        raise _Unsupported(f"IP header fields [{t.text} ...]")
    s.expect("]", "']' after the ECN field")
    return t.text


def tcp_flags(s: Stmt) -> str:
    """Letters of FLAG_ORDER written together (`S.`, `P.`, `SEW`, `.`), in that order."""
    letters = ""
    while True:
        t = s.peek()
        if (letters and t.spaced) or t.kind not in ("name", "punct") \
                or not t.text or any(c not in FLAG_ORDER for c in t.text):
            break
        letters += s.take().text
    if not letters:
        raise s.error(f"expected TCP flags (letters of {FLAG_ORDER})")
    if len(set(letters)) != len(letters):
        raise s.error(f"TCP flags '{letters}' repeat a letter", s.toks[s.i - 1])
    return "".join(c for c in FLAG_ORDER if c in letters)


def sequence(s: Stmt) -> tuple[Num, Num, Num]:
    """`start:end(length)` or `...`; end - start must equal the length (mod 2^32)."""
    if s.at("...") and s.peek(1).text != ":":
        s.take()
        return ANY, ANY, ANY
    first = s.peek()
    start = number(s, "the sequence start:end(length)")
    s.expect(":", "':' in start:end(length)")
    end = number(s, "the sequence end")
    s.expect("(", "'(' in start:end(length)")
    length = number(s, "the payload length")
    s.expect(")", "')' in start:end(length)")
    if not isinstance(start, AnyValue) and not isinstance(end, AnyValue) \
            and not isinstance(length, AnyValue) and (end - start) % M32 != length:
        raise s.error(f"{start}:{end} spans {(end - start) % M32} bytes, not the length "
                      f"{length}", first)
    return start, end, length


def tcp_options(s: Stmt) -> tuple[TcpOption, ...] | AnyValue:
    """`<...>` (any options) or a comma-separated list up to '>'."""
    if s.accept("..."):
        s.expect(">", "'>' after <...")
        return ANY
    opts: list[TcpOption] = []
    while True:
        opts.append(tcp_option(s))
        if s.accept(">"):
            return tuple(opts)
        s.expect(",", "',' or '>' in the TCP options")


def tcp_option(s: Stmt) -> TcpOption:
    t = s.peek()
    if t.text in UNSUPPORTED_TCP_OPTIONS:
        raise _Unsupported(UNSUPPORTED_TCP_OPTIONS[t.text])
    simple = {"nop": Nop, "eol": Eol, "sackOK": SackOK}
    if t.kind == "name" and t.text in simple:
        s.take()
        return simple[t.text]()
    if t.text in ("mss", "wscale"):
        s.take()
        value = number(s, t.text, LIMITS[t.text])
        return Mss(value) if t.text == "mss" else WScale(value)
    if t.text == "sack":
        s.take()
        return Sack(sack_blocks(s))
    if t.text == "TS":
        s.take()
        s.expect("val", "'val' after TS")
        val = number(s, "TS val")
        s.expect("ecr", "'ecr' after TS val N")
        return Timestamp(val, number(s, "TS ecr"))
    raise s.error("expected a TCP option (nop, eol, mss N, wscale N, sackOK, "
                  "sack L:R..., TS val N ecr N)")


def sack_blocks(s: Stmt) -> tuple[tuple[Num, Num], ...]:
    blocks: list[tuple[Num, Num]] = []
    while s.peek().kind == "num" or s.at("..."):
        left = number(s, "a SACK block's left edge")
        s.expect(":", "':' in a SACK block L:R")
        blocks.append((left, number(s, "a SACK block's right edge")))
    if not blocks:
        raise s.error("expected SACK blocks L:R after sack")
    return tuple(blocks)


# --- statements and scripts -----------------------------------------------------------------

def event(s: Stmt) -> Event:
    """A timed statement: a segment, a system call, or an unsupported command."""
    when = timing(s)
    end = None
    if s.accept("..."):
        end = seconds(s, "the time a blocking call returns")
    rest = s.rest()
    try:
        if rest.startswith("`"):
            raise _Unsupported("shell command")
        if rest.startswith("%{"):
            raise _Unsupported("inline Python (%{ }%)")
        if end is None and s.peek().text in ("<", ">"):
            return segment(s, when)
        if s.peek().kind == "name" and s.peek(1).text == "(":
            return syscall(s, when, end)
    except _Unsupported as e:
        return Unsupported(s.line, when, e.what, s.text)
    if end is not None:
        raise s.error("expected a system call after a blocking time range (a...b)")
    raise s.error("expected a segment (< or >), a system call, `command` or %{ code }% "
                  "after the time")


def option_words(words: list[str], line: int, path: str) -> list[Option]:
    opts = []
    for w in words:
        m = re.fullmatch(r"--([A-Za-z0-9_][A-Za-z0-9_-]*)(?:=(.*))?", w)
        if m is None:
            raise fail(path, line, f"expected an option --name=value, found '{w}'")
        opts.append(Option(line, m.group(1), m.group(2)))
    return opts


def comment_options(text: str, line: int, path: str) -> list[Option]:
    """A comment that starts with `--name`: its leading --words are options."""
    words = []
    for w in text.strip().lstrip("*").split():
        if not re.match(r"--[A-Za-z0-9_]", w):
            break
        words.append(w)
    return option_words(words, line, path)


def check_options(opts: list[Option], path: str) -> None:
    for o in opts:
        if o.name == "tolerance_usecs" and not (o.value or "").isdigit():
            raise fail(path, o.line, f"--tolerance_usecs takes a number of microseconds, "
                                     f"found '{o.value}'")


def parse(text: str, path: str = "<script>") -> Script:
    """The script in text, named path in errors; UsageError `path:line: message`."""
    src = strip_comments(text, path)
    opts: list[Option] = []
    events: list[Event] = []
    for line, stmt in statements(src):
        if stmt.startswith("--"):
            if events:
                raise fail(path, line, "options (--name=value) must come before the first "
                                       "event")
            opts += option_words(stmt.split(), line, path)
        elif stmt.startswith("`") or stmt.startswith("%{"):
            what = "shell command" if stmt[0] == "`" else "inline Python (%{ }%)"
            events.append(Unsupported(line, None, what, stmt))
        else:
            events.append(event(Stmt(path, line, stmt)))
    first = events[0].line if events else 1 << 30
    for line, body in src.comments:
        if line < first:
            opts += comment_options(body, line, path)
    opts.sort(key=lambda o: o.line)
    check_options(opts, path)
    return Script(path, tuple(opts), tuple(events))


def load(path: str | Path) -> Script:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: cannot read: {e}") from e
    return parse(text, str(path))


# --- describe -------------------------------------------------------------------------------

def secs(usecs: int) -> str:
    whole, frac = divmod(usecs, USEC)
    return f"{whole}.{frac:06d}".rstrip("0").rstrip(".")


def time_text(t: Timing) -> str:
    if t.mode == "any":
        return "*"
    plus = "+" if t.mode == "rel" else ""
    if t.until is None:
        return f"{plus}{secs(t.usecs)}"
    return f"{plus}{secs(t.usecs)}~{plus}{secs(t.until)}"


def expr_text(e: Expr) -> str:
    if isinstance(e, Int):
        return str(e.value)
    if isinstance(e, Sym):
        return e.name
    if isinstance(e, Or):
        return "|".join(map(expr_text, e.terms))
    if isinstance(e, Str):
        return f'"{e.text}"'
    if isinstance(e, Ref):
        return f"&{e.name}"
    if isinstance(e, Array):
        return "[" + ", ".join(map(expr_text, e.items)) + "]"
    if isinstance(e, Struct):
        return "{" + ", ".join(f"{k}={expr_text(v)}" for k, v in e.fields) + "}"
    if isinstance(e, Call):
        return f"{e.name}(" + ", ".join(map(expr_text, e.args)) + ")"
    return "..."


def option_text(o: TcpOption) -> str:
    if isinstance(o, Mss):
        return f"mss {o.value}"
    if isinstance(o, WScale):
        return f"wscale {o.shift}"
    if isinstance(o, Sack):
        return "sack " + " ".join(f"{a}:{b}" for a, b in o.blocks)
    if isinstance(o, Timestamp):
        return f"TS val {o.val} ecr {o.ecr}"
    return {Nop: "nop", Eol: "eol", SackOK: "sackOK"}[type(o)]


def segment_text(g: Segment) -> str:
    parts = [time_text(g.time), g.direction]
    if g.ecn is not None:
        parts.append(f"[{g.ecn}]")
    parts.append(g.flags)
    parts.append("..." if g.seq is ANY and g.end is ANY and g.length is ANY
                 else f"{g.seq}:{g.end}({g.length})")
    for key in ("ack", "win", "urg"):
        if getattr(g, key) is not None:
            parts.append(f"{key} {getattr(g, key)}")
    if isinstance(g.options, AnyValue):
        parts.append("<...>")
    elif g.options:
        parts.append("<" + ",".join(map(option_text, g.options)) + ">")
    return " ".join(parts)


def syscall_text(c: Syscall) -> str:
    start = time_text(c.time) + ("" if c.end is None else f"...{secs(c.end)}")
    text = f"{start} {c.name}(" + ", ".join(map(expr_text, c.args)) + f") = {expr_text(c.ret)}"
    if c.errno is not None:
        text += f" {c.errno}"
    if c.note is not None:
        text += f" ({c.note})"
    return text


def event_text(e: Event) -> str:
    if isinstance(e, Segment):
        return segment_text(e)
    if isinstance(e, Syscall):
        return syscall_text(e)
    return e.text


def describe(script: Script) -> str:
    """The script back as text: its options, then one line per event (an unsupported
    statement as it was written, which may span lines)."""
    lines = [f"--{o.name}" + ("" if o.value is None else f"={o.value}") for o in script.options]
    lines += [event_text(e) for e in script.events]
    return "\n".join(lines) + "\n"
