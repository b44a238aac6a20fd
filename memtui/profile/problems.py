"""Problems with a profile, key paths, and the lines of a TOML text where each key path is.

A key path counts array entries from 1, as a person does: `vm[1]` is the first `[[vm]]`.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass

# --------------------------------------------------------------------------------------------
# Problems


@dataclass(frozen=True)
class ProfileProblem:
    """One thing wrong with a profile. `line` is 1-based, None where it cannot be found; an empty
    `key_path` means the problem is not about one key (a TOML syntax error)."""

    file: str
    line: int | None
    key_path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        if self.key_path:
            return f"{where}: {self.key_path}: {self.message}"
        return f"{where}: {self.message}"


class ProfileError(Exception):
    """A profile was refused; `problems` lists every reason, in file order."""

    def __init__(self, problems: list[ProfileProblem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ProfileSaveError(OSError):
    """A profile could not be saved; the file that was there (if any) is unchanged."""


# --------------------------------------------------------------------------------------------
# Key paths and their lines

KeyPath = tuple[str | int, ...]  # a key path; ints are 0-based array indexes

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_BARE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def format_key_path(path: KeyPath) -> str:
    """`("vm", 1, "workload", "active_mb")` -> `vm[2].workload.active_mb` (arrays count from 1);
    keys that are not bare TOML keys are quoted: `advanced."Mem.IdleTax"`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part + 1}]"
        else:
            name = part if _BARE_KEY.fullmatch(part) else json.dumps(part, ensure_ascii=False)
            out += f".{name}" if out else name
    return out


def _unquote(token: str) -> str:
    if token.startswith("'"):
        return token[1:-1]
    try:
        return tomllib.loads(f"k = {token}")["k"]
    except tomllib.TOMLDecodeError:
        return token[1:-1]


def _read_key(s: str, i: int) -> tuple[list[str], int] | None:
    """The parts of the (dotted) TOML key that starts at s[i], and the index after it."""
    parts: list[str] = []
    n = len(s)
    while True:
        while i < n and s[i] in " \t":
            i += 1
        if i >= n:
            return None
        if s[i] == '"':
            j = i + 1
            while j < n and s[j] != '"':
                j += 2 if s[j] == "\\" else 1
            if j >= n:
                return None
            parts.append(_unquote(s[i : j + 1]))
            i = j + 1
        elif s[i] == "'":
            j = s.find("'", i + 1)
            if j < 0:
                return None
            parts.append(s[i + 1 : j])
            i = j + 1
        else:
            j = i
            while j < n and s[j] in _BARE_CHARS:
                j += 1
            if j == i:
                return None
            parts.append(s[i:j])
            i = j
        while i < n and s[i] in " \t":
            i += 1
        if i < n and s[i] == ".":
            i += 1
            continue
        return parts, i


class _ValueScanner:
    """Follows strings and brackets of TOML values across lines, so that the lines inside a
    multi-line array or string are not mistaken for keys or table headers, and notes the line
    where each element of an array value starts."""

    def __init__(self, record: Callable[[KeyPath, int], None]) -> None:
        self.record = record
        self.multiline: str | None = None  # the quotes that opened a multi-line string
        self.openers: list[str] = []
        self.path: KeyPath = ()
        self.element = 0
        self.in_element = False

    @property
    def busy(self) -> bool:
        return self.multiline is not None or bool(self.openers)

    def start(self, path: KeyPath) -> None:
        """A new value begins, that of the key at `path`."""
        self.path = path
        self.element = 0
        self.in_element = False

    def scan(self, s: str, lineno: int, i: int = 0) -> None:
        n = len(s)
        while i < n:
            if self.multiline is not None:
                i = self._close_multiline(s, i)
                continue
            c = s[i]
            if c == "#":
                return
            if self.openers == ["["] and c not in " \t,]" and not self.in_element:
                self.record(self.path + (self.element,), lineno)
                self.in_element = True
            if s.startswith('"""', i) or s.startswith("'''", i):
                self.multiline = s[i : i + 3]
                i += 3
            elif c == '"':
                i += 1
                while i < n and s[i] != '"':
                    i += 2 if s[i] == "\\" else 1
                i += 1
            elif c == "'":
                end = s.find("'", i + 1)
                i = n if end < 0 else end + 1
            else:
                if c in "[{":
                    self.openers.append(c)
                elif c in "]}" and self.openers:
                    self.openers.pop()
                elif c == "," and self.openers == ["["]:
                    self.element += 1
                    self.in_element = False
                i += 1

    def _close_multiline(self, s: str, i: int) -> int:
        quote = self.multiline
        assert quote is not None
        j = s.find(quote, i)
        while j >= 0 and quote == '"""' and _escaped(s, j):
            j = s.find(quote, j + 1)
        if j < 0:
            return len(s)
        self.multiline = None
        j += 3
        extra = 0
        while j < len(s) and s[j] == quote[0] and extra < 2:
            j += 1
            extra += 1
        return j


def _escaped(s: str, j: int) -> bool:
    backslashes = 0
    while j - backslashes - 1 >= 0 and s[j - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


class LineIndex:
    """Maps key paths of a (valid) TOML text to the line that defines them.

    Table headers map to their own line, keys to the line of `key =`; whatever is inside an
    inline table or array maps to the line of the key that holds it (the nearest known prefix).
    """

    def __init__(self, text: str):
        self._lines: dict[KeyPath, int] = {}
        self._aot_count: dict[KeyPath, int] = {}
        self._scan(text)

    def line_of(self, path: KeyPath) -> int | None:
        p = tuple(path)
        while p:
            if p in self._lines:
                return self._lines[p]
            p = p[:-1]
        return None

    def _record(self, path: KeyPath, line: int) -> None:
        self._lines.setdefault(path, line)

    def _resolve(self, names: list[str]) -> KeyPath:
        path: KeyPath = ()
        for name in names:
            path += (name,)
            if path in self._aot_count:
                path += (self._aot_count[path],)
        return path

    def _scan(self, text: str) -> None:
        scanner = _ValueScanner(self._record)
        table: KeyPath = ()
        for lineno, raw in enumerate(text.split("\n"), 1):
            line = raw.rstrip("\r")
            if scanner.busy:
                scanner.scan(line, lineno)
                continue
            s = line.lstrip(" \t")
            if not s or s[0] == "#":
                continue
            if s.startswith("[["):
                key = _read_key(s, 2)
                if key:
                    parent = self._resolve(key[0][:-1])
                    array = parent + (key[0][-1],)
                    index = self._aot_count.get(array, -1) + 1
                    self._aot_count[array] = index
                    table = array + (index,)
                    self._record(array, lineno)
                    self._record(table, lineno)
            elif s[0] == "[":
                key = _read_key(s, 1)
                if key:
                    table = self._resolve(key[0])
                    self._record(table, lineno)
            else:
                key = _read_key(s, 0)
                if key and key[1] < len(s) and s[key[1]] == "=":
                    parts = key[0]
                    for k in range(1, len(parts) + 1):
                        self._record(table + tuple(parts[:k]), lineno)
                    if len(parts) > 1:
                        self._record(table + (".".join(parts),), lineno)
                    scanner.start(table + tuple(parts))
                    scanner.scan(s, lineno, key[1] + 1)

