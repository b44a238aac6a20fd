"""Reading, checking and saving host profiles (TOML).

`load_profile` / `parse_profile` turn a profile into the dataclasses of `memtui.config`, or raise
`ProfileError` with every problem found, each naming the file, the line, the key path and what is
allowed. Key paths count array entries from 1, as a person does: `vm[1]` is the first `[[vm]]`.

`save_profile` writes atomically and, when the profile was read from a file, edits the parsed
document in place so that the user's comments, layout and key order survive.

This module must not import the terminal UI toolkit: the batch runner and `memtui check` use it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import json
import math
import os
import re
import stat
import tempfile
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.container import Container
from tomlkit.items import AoT, InlineTable, Table, Whitespace

from memtui import spec
from memtui.config import (
    Event,
    HostConfig,
    Profile,
    VMConfig,
    Workload,
    format_duration,
    parse_duration,
)

FORMAT = 1  # the profile format version this memtui reads and writes

TOP_KEYS = ("format", "host", "advanced", "vm", "event")
HOST_KEYS = (  # in the order of the format's description
    "name",
    "esx_version",
    "memory_mb",
    "system_mb",
    "cpu_cores",
    "cpu_mhz",
    "mmu",
    "datastore_free_mb",
    "swap_mb_per_s",
    "seed",
    "start_time",
)
VM_KEYS = tuple(f.name for f in dataclasses.fields(VMConfig))
VM_SETTING_KEYS = tuple(k for k in VM_KEYS if k not in ("name", "workload"))  # what events may set
WORKLOAD_KEYS = tuple(f.name for f in dataclasses.fields(Workload))
EVENT_KEYS = ("at", "vm", "set", "workload")

SHARES_LEVELS = tuple(spec.SHARES_PER_MB)
POWER_STATES = ("on", "off")
MMU_MODES = ("hardware", "software")
_PCT_KEYS = ("zero_pct", "family_pct", "dup_pct")
_DURATION_KEYS = frozenset({"at", "boot_s"})
_NO_PATH = "<profile>"


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


# --------------------------------------------------------------------------------------------
# Checking


class _Bad:
    """Marks a value that failed its check (the problem is already reported)."""


_BAD: Any = _Bad()
_MISSING: Any = object()


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        return f"the string {json.dumps(value, ensure_ascii=False)}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    return f"a {type(value).__name__} ({value})"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _mb(value: int | float) -> int | float:
    """Sizes stay whole numbers when they are."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(json.dumps(n) for n in names)


def suggest(name: str, choices: Iterable[str]) -> str | None:
    """The known name closest to `name` (case-insensitively), if any is close."""
    lower = {c.lower(): c for c in choices}
    if name.lower() in lower:
        return lower[name.lower()]
    found = difflib.get_close_matches(name.lower(), list(lower), n=1, cutoff=0.6)
    return lower[found[0]] if found else None


def _flatten(table: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Advanced settings, whether written quoted ("Mem.IdleTax" = 75) or as dotted keys."""
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


class _Checker:
    """Checks the plain data of a profile (as tomllib reads it), collecting every problem."""

    def __init__(self, file: str, index: LineIndex):
        self.file = file
        self.index = index
        self.problems: list[ProfileProblem] = []

    def report(self, path: KeyPath, message: str, line_path: KeyPath | None = None) -> None:
        line = self.index.line_of(path if line_path is None else line_path)
        self.problems.append(ProfileProblem(self.file, line, format_key_path(path), message))

    # -- value checks: each returns the value, or _BAD after reporting -------------------------

    def number(
        self,
        path: KeyPath,
        value: Any,
        allowed: str,
        ok: Callable[[float], bool] = lambda v: True,
        subject: str = "",
    ) -> Any:
        if _is_number(value) and math.isfinite(value) and ok(value):
            return value
        lead = f"{subject} must be" if subject else "must be"
        self.report(path, f"{lead} {allowed}, not {_describe(value)}")
        return _BAD

    def integer(
        self, path: KeyPath, value: Any, allowed: str, ok: Callable[[int], bool] = lambda v: True
    ) -> Any:
        if not isinstance(value, int) or isinstance(value, bool) or not ok(value):
            self.report(path, f"must be {allowed}, not {_describe(value)}")
            return _BAD
        return value

    def boolean(self, path: KeyPath, value: Any) -> Any:
        if not isinstance(value, bool):
            self.report(path, f"must be true or false, not {_describe(value)}")
            return _BAD
        return value

    def choice(self, path: KeyPath, value: Any, choices: tuple[str, ...]) -> Any:
        if not isinstance(value, str) or value not in choices:
            self.report(path, f"must be one of {_quoted(choices)}, not {_describe(value)}")
            return _BAD
        return value

    def text(self, path: KeyPath, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            self.report(path, f"must be a non-empty string, not {_describe(value)}")
            return _BAD
        return value

    def date_time(self, path: KeyPath, value: Any) -> Any:
        """A TOML date-time (1979-05-27T07:32:00Z) or an ISO 8601 string of one; without an
        offset it is UTC."""
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = datetime.fromisoformat(value.strip())
        if isinstance(value, datetime):
            return value
        self.report(
            path,
            "must be a date and time such as 2026-03-01T08:00:00Z (a TOML date-time or an "
            f"ISO 8601 string), not {_describe(value)}",
        )
        return _BAD

    def duration(self, path: KeyPath, value: Any, subject: str = "") -> Any:
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.report(path, f"{subject} {exc}" if subject else str(exc))
            return _BAD

    def table(self, path: KeyPath, value: Any, how: str) -> bool:
        if isinstance(value, dict):
            return True
        self.report(path, f"must be a table ({how}), not {_describe(value)}")
        return False

    def keys(self, path: KeyPath, table: dict[str, Any], allowed: tuple[str, ...]) -> None:
        for key in table:
            if key in allowed:
                continue
            close = suggest(key, allowed)
            hint = f'; did you mean "{close}"?' if close else ""
            self.report(
                path + (key,), f'unknown key "{key}"{hint} (allowed keys: {", ".join(allowed)})'
            )

    # -- the profile ---------------------------------------------------------------------------

    def profile(self, data: dict[str, Any]) -> Profile | None:
        fmt = data.get("format", FORMAT)
        if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt > FORMAT:
            self.report(
                ("format",),
                f"this profile uses format {fmt}, but this memtui reads format {FORMAT} only; "
                "it was written by a newer memtui",
            )
            return None
        if not isinstance(fmt, int) or isinstance(fmt, bool) or fmt != FORMAT:
            self.report(("format",), f"must be {FORMAT} (the profile format), not {_describe(fmt)}")
        self.keys((), data, TOP_KEYS)
        host, version = self.host(data.get("host", _MISSING))
        advanced = self.advanced(data.get("advanced", _MISSING), version)
        vms, names = self.vms(data.get("vm", _MISSING), version)
        events = self.events(data.get("event", _MISSING), version, names, vms)
        if self.problems or host is None:
            return None
        return Profile(host=host, vms=vms, advanced=advanced, events=events, format=FORMAT)

    def host(self, table: Any) -> tuple[HostConfig | None, str | None]:
        path: KeyPath = ("host",)
        if table is _MISSING:
            self.report(path, "missing: a profile needs a [host] table with name and memory_mb")
            return None, spec.DEFAULT_VERSION
        if not self.table(path, table, "[host]"):
            return None, spec.DEFAULT_VERSION
        self.keys(path, table, HOST_KEYS)
        values: dict[str, Any] = {}
        version: str | None = spec.DEFAULT_VERSION
        if "esx_version" in table:
            version = self.version(path + ("esx_version",), table["esx_version"])
            values["esx_version"] = version
            version = None if version is _BAD else version
        maxi = spec.MAXIMUMS.get(version) if version else None
        for key in ("name", "memory_mb"):
            if key not in table:
                self.report(path + (key,), "missing: [host] needs name and memory_mb")
                values[key] = _BAD
        if "name" in table:
            values["name"] = self.text(path + ("name",), table["name"])
        if "memory_mb" in table:
            limit = maxi.memory_mb_per_host if maxi else math.inf
            allowed = "a number of MB greater than 0"
            if maxi:
                allowed += (
                    f" and at most {limit} ({_size(limit)}, the ESX {version} maximum per host)"
                )
            values["memory_mb"] = self.number(
                path + ("memory_mb",), table["memory_mb"], allowed, lambda v: 0 < v <= limit
            )
        checks: dict[str, Callable[[KeyPath, Any], Any]] = {
            "system_mb": lambda p, v: self.number(
                p, v, "a number of MB, 0 or more", lambda x: x >= 0
            ),
            "cpu_cores": lambda p, v: self.integer(
                p, v, "a whole number, 1 or more", lambda x: x >= 1
            ),
            "cpu_mhz": lambda p, v: self.number(
                p, v, "a number of MHz greater than 0", lambda x: x > 0
            ),
            "mmu": lambda p, v: self.choice(p, v, MMU_MODES),
            "datastore_free_mb": lambda p, v: self.number(
                p, v, "a number of MB, 0 or more", lambda x: x >= 0
            ),
            "swap_mb_per_s": lambda p, v: self.number(
                p, v, "a number of MB/s greater than 0", lambda x: x > 0
            ),
            "seed": lambda p, v: self.integer(p, v, "a whole number"),
            "start_time": self.date_time,
        }
        for key, check in checks.items():
            if key in table:
                values[key] = check(path + (key,), table[key])
        memory, system = values.get("memory_mb"), values.get("system_mb")
        if _is_number(memory) and _is_number(system) and system >= memory:
            self.report(
                path + ("system_mb",),
                f"must be less than host.memory_mb ({_describe(memory)} MB), not {_describe(system)}",
            )
            values["system_mb"] = _BAD
        if any(v is _BAD for v in values.values()):
            return None, version
        for key in ("memory_mb", "system_mb", "cpu_mhz", "datastore_free_mb"):
            if key in values:
                values[key] = _mb(values[key])
        if "swap_mb_per_s" in values:
            values["swap_mb_per_s"] = float(values["swap_mb_per_s"])
        return HostConfig(**values), version

    def version(self, path: KeyPath, value: Any) -> Any:
        if isinstance(value, str) and value in spec.VERSIONS:
            return value
        hint = ""
        if _is_number(value):
            hint = f' (write it as a string: esx_version = "{value}")'
        self.report(path, f"must be one of {_quoted(spec.VERSIONS)}, not {_describe(value)}{hint}")
        return _BAD

    def advanced(self, table: Any, version: str | None) -> dict[str, int]:
        path: KeyPath = ("advanced",)
        if table is _MISSING or not self.table(path, table, '[advanced], e.g. "Mem.IdleTax" = 75'):
            return {}
        out: dict[str, int] = {}
        for name, value in _flatten(table):
            checked = self.advanced_setting(path + (name,), name, value, version)
            if checked is not _BAD:
                out[name] = checked
        return out

    def advanced_setting(self, path: KeyPath, name: str, value: Any, version: str | None) -> Any:
        setting = spec.ADVANCED_SETTINGS.get(name)
        if setting is None:
            close = suggest(name, tuple(spec.ADVANCED_SETTINGS))
            if close:
                hint = f'; did you mean "{close}"?'
            else:
                hint = f" (known settings: {', '.join(spec.ADVANCED_SETTINGS)})"
            if name in VM_SETTING_KEYS or name in WORKLOAD_KEYS:
                hint = '; VM settings need the event\'s vm = "NAME"'
            self.report(path, f'unknown advanced setting "{name}"{hint}')
            return _BAD
        checked = self.integer(
            path,
            value,
            f"a whole number from {setting.minimum} to {setting.maximum} ({setting.meaning})",
            lambda v: setting.minimum <= v <= setting.maximum,
        )
        if version is not None and not spec.version_at_least(version, setting.since):
            self.report(
                path,
                f"{name} exists from ESX {setting.since} on, but host.esx_version is "
                f'"{version}"; remove it or set esx_version to "{setting.since}" or later',
            )
            return _BAD
        return checked

    # -- VMs -----------------------------------------------------------------------------------

    def vms(self, value: Any, version: str | None) -> tuple[list[VMConfig], set[str]]:
        """The valid VMs, and the names of all VMs whose name is valid (for events)."""
        path: KeyPath = ("vm",)
        if value is _MISSING:
            return [], set()
        if not isinstance(value, list):
            self.report(
                path, f"must be an array of tables, one [[vm]] per VM, not {_describe(value)}"
            )
            return [], set()
        maxi = spec.MAXIMUMS.get(version) if version else None
        if maxi and len(value) > maxi.vms_per_host:
            self.report(
                path,
                f"{len(value)} VMs, but ESX {version} allows at most {maxi.vms_per_host} VMs per host",
                line_path=path + (maxi.vms_per_host,),
            )
        vms: list[VMConfig] = []
        first_index: dict[str, int] = {}
        for i, table in enumerate(value):
            name = table.get("name") if isinstance(table, dict) else None
            duplicate = False
            if isinstance(name, str) and name.strip():
                if name in first_index:
                    self.report(
                        path + (i, "name"),
                        f'duplicate VM name "{name}" (also vm[{first_index[name] + 1}]); '
                        "VM names must be unique",
                    )
                    duplicate = True
                else:
                    first_index[name] = i
            vm = self.vm(path + (i,), table, version)
            if vm is not None and not duplicate:
                vms.append(vm)
        return vms, set(first_index)

    def vm(self, path: KeyPath, table: Any, version: str | None) -> VMConfig | None:
        if not self.table(path, table, "[[vm]] with the VM's settings"):
            return None
        self.keys(path, table, VM_KEYS)
        values: dict[str, Any] = {}
        for key in ("name", "memory_mb"):
            if key not in table:
                self.report(path + (key,), "missing: each [[vm]] needs name and memory_mb")
                values[key] = _BAD
        if "name" in table:
            values["name"] = self.text(path + ("name",), table["name"])
        for key in VM_SETTING_KEYS:
            if key in table:
                values[key] = self.vm_setting(path + (key,), key, table[key], version)
        memory = values.get("memory_mb", _BAD)
        reservation = values.get("reservation_mb", 0)
        limit = values.get("limit_mb")
        if _is_number(memory) and _is_number(reservation) and reservation > memory:
            self.report(
                path + ("reservation_mb",),
                f"must be at most the VM's memory_mb ({_describe(memory)} MB), "
                f"not {_describe(reservation)}",
            )
            values["reservation_mb"] = _BAD
        if _is_number(limit) and _is_number(reservation) and limit < reservation:
            self.report(
                path + ("limit_mb",),
                f'must be "unlimited" or at least reservation_mb ({_describe(reservation)} MB), '
                f"not {_describe(limit)}",
            )
            values["limit_mb"] = _BAD
        workload = Workload()
        if "workload" in table:
            workload = self.workload(
                path + ("workload",), table["workload"], memory if _is_number(memory) else None
            )
        if workload is _BAD or any(v is _BAD for v in values.values()):
            return None
        return VMConfig(**values, workload=workload)

    def vm_setting(self, path: KeyPath, key: str, value: Any, version: str | None) -> Any:
        """One VM setting, from [[vm]] or an event's `set`, in the form VMConfig keeps."""
        maxi = spec.MAXIMUMS.get(version) if version else None
        if key == "memory_mb":
            most = maxi.memory_mb_per_vm if maxi else math.inf
            allowed = "a number of MB greater than 0"
            if maxi:
                allowed += f" and at most {most} ({_size(most)}, the ESX {version} maximum per VM)"
            return _keep(_mb, self.number(path, value, allowed, lambda v: 0 < v <= most))
        if key == "vcpus":
            if maxi:
                allowed = (
                    f"a whole number from 1 to {maxi.vcpus_per_vm} "
                    f"(the ESX {version} maximum per VM)"
                )
                return self.integer(path, value, allowed, lambda v: 1 <= v <= maxi.vcpus_per_vm)
            return self.integer(path, value, "a whole number, 1 or more", lambda v: v >= 1)
        if key in ("reservation_mb", "max_balloon_mb"):
            return _keep(
                _mb, self.number(path, value, "a number of MB, 0 or more", lambda v: v >= 0)
            )
        if key == "limit_mb":
            if isinstance(value, str) and value.lower() == "unlimited":
                return None
            allowed = '"unlimited" or a number of MB, 0 or more'
            return _keep(_mb, self.number(path, value, allowed, lambda v: v >= 0))
        if key == "shares":
            if isinstance(value, str) and value in SHARES_LEVELS:
                return value
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
            self.report(
                path,
                f"must be one of {_quoted(SHARES_LEVELS)} or a positive whole number, "
                f"not {_describe(value)}",
            )
            return _BAD
        if key in ("tools", "page_sharing"):
            return self.boolean(path, value)
        if key == "power":
            return self.choice(path, value, POWER_STATES)
        if key == "content_family":
            return self.text(path, value)
        raise KeyError(key)

    # -- workloads -----------------------------------------------------------------------------

    def workload(self, path: KeyPath, table: Any, memory: float | None) -> Any:
        """A [vm.workload] table as a Workload, or _BAD."""
        if not self.table(path, table, "[vm.workload]"):
            return _BAD
        values = self.workload_settings(path, table, memory)
        defaults = Workload()
        pcts = [values.get(k, getattr(defaults, k)) for k in _PCT_KEYS]
        if all(p is not _BAD for p in pcts) and sum(pcts) > 100:
            self.report(path, _pct_sum_message(pcts), line_path=path + (_first_of(table),))
            return _BAD
        if any(v is _BAD for v in values.values()):
            return _BAD
        return Workload(**values)

    def workload_settings(
        self, path: KeyPath, table: dict[str, Any], memory: float | None
    ) -> dict[str, Any]:
        """The checked values of a workload table; those that failed are _BAD."""
        self.keys(path, table, WORKLOAD_KEYS)
        return {
            key: self.workload_setting(path + (key,), key, table[key], memory)
            for key in WORKLOAD_KEYS
            if key in table
        }

    def workload_setting(self, path: KeyPath, key: str, value: Any, memory: float | None) -> Any:
        top = memory if memory is not None else math.inf
        of_memory = f"from 0 to the VM's memory_mb ({_describe(memory)})" if memory else "0 or more"
        if key in ("touched_pct", "compressible_pct", "boot_zero_pct", *_PCT_KEYS):
            pct = self.number(path, value, "a percentage from 0 to 100", lambda v: 0 <= v <= 100)
            return _keep(float, pct)
        if key == "active_mb":
            allowed = f"a number of MB {of_memory}"
            return _keep(_mb, self.number(path, value, allowed, lambda v: 0 <= v <= top))
        if key == "boot_s":
            return self.duration(path, value)
        if key == "schedule":
            return self.schedule(path, value, memory)
        raise KeyError(key)

    def schedule(self, path: KeyPath, value: Any, memory: float | None) -> Any:
        example = 'e.g. [["0s", 50], ["10m", 150]]'
        if not isinstance(value, list):
            self.report(
                path,
                f"must be an array of [time, active_mb] pairs ({example}), not {_describe(value)}",
            )
            return _BAD
        top = memory if memory is not None else math.inf
        allowed = (
            f"a number of MB from 0 to the VM's memory_mb ({_describe(memory)})"
            if memory
            else "a number of MB, 0 or more"
        )
        steps: list[tuple[int, Any]] = []
        last: int | None = None
        ok = True
        for k, item in enumerate(value):
            p = path + (k,)
            if not isinstance(item, list) or len(item) != 2:
                self.report(
                    p, f"must be a pair [time, active_mb] ({example}), not {_describe(item)}"
                )
                ok = False
                continue
            at = self.duration(p, item[0], subject="the time:")
            mb = self.number(p, item[1], allowed, lambda v: 0 <= v <= top, subject="active_mb")
            if at is not _BAD:
                if last is not None and at <= last:
                    self.report(
                        p,
                        f"times must increase: {format_duration(at)} is not after "
                        f"{format_duration(last)}",
                    )
                    ok = False
                last = at
            if at is _BAD or mb is _BAD:
                ok = False
            else:
                steps.append((at, _mb(mb)))
        return steps if ok else _BAD

    # -- events --------------------------------------------------------------------------------

    def events(
        self, value: Any, version: str | None, names: set[str], vms: list[VMConfig]
    ) -> list[Event]:
        path: KeyPath = ("event",)
        if value is _MISSING:
            return []
        if not isinstance(value, list):
            self.report(
                path, f"must be an array of tables, one [[event]] per event, not {_describe(value)}"
            )
            return []
        found = [
            (j, self.event(path + (j,), table, version, names)) for j, table in enumerate(value)
        ]
        ordered = sorted(((j, e) for j, e in found if e is not None), key=lambda je: je[1].at_s)
        self.timeline(ordered, vms)
        return [e for _, e in ordered]

    def event(
        self, path: KeyPath, table: Any, version: str | None, names: set[str] | None
    ) -> Event | None:
        """One [[event]]; `names` of the profile's VMs, or None not to check them."""
        if not self.table(path, table, "[[event]] with at and set or workload"):
            return None
        self.keys(path, table, EVENT_KEYS)
        if "at" in table:
            at = self.duration(path + ("at",), table["at"])
        else:
            self.report(path + ("at",), 'missing: each event needs at = a time, e.g. at = "30m"')
            at = _BAD
        ok = at is not _BAD
        vm = table.get("vm")
        if "vm" in table:
            vm = self.text(path + ("vm",), vm)
            if vm is not _BAD and names is not None and vm not in names:
                close = suggest(vm, sorted(names))
                hint = f'; did you mean "{close}"?' if close else ""
                known = (
                    f" (VMs: {_quoted(sorted(names))})" if names else " (the profile has no VMs)"
                )
                self.report(path + ("vm",), f'no VM named "{vm}"{hint}{known}')
                vm = _BAD
            ok = ok and vm is not _BAD
        changes: Any = {}
        if "set" in table:
            spath = path + ("set",)
            if self.table(spath, table["set"], "e.g. set = { reservation_mb = 2048 }"):
                changes = self.event_set(spath, table["set"], "vm" in table, version)
            else:
                changes = _BAD
        workload: Any = {}
        if "workload" in table:
            wpath = path + ("workload",)
            if not self.table(wpath, table["workload"], "e.g. workload = { active_mb = 3000 }"):
                workload = _BAD
            elif "vm" not in table:
                self.report(wpath, 'a workload change needs the event\'s vm = "NAME"')
                workload = _BAD
            else:
                workload = self.workload_settings(wpath, table["workload"], None)
                if any(v is _BAD for v in workload.values()):
                    workload = _BAD
        ok = ok and changes is not _BAD and workload is not _BAD
        if ok and not changes and not workload:
            self.report(
                path, "an event must change something: give set = { ... } or workload = { ... }"
            )
            ok = False
        if not ok:
            return None
        return Event(at_s=at, vm=vm, set=changes, workload=workload)

    def event_set(
        self, path: KeyPath, table: dict[str, Any], has_vm: bool, version: str | None
    ) -> Any:
        out: dict[str, Any] = {}
        ok = True
        if has_vm:
            self.keys(path, table, VM_SETTING_KEYS)
            items: Iterator[tuple[str, Any]] = iter(table.items())
        else:
            items = _flatten(table)
        for key, value in items:
            if has_vm:
                if key not in VM_SETTING_KEYS:
                    ok = False
                    continue
                checked = self.vm_setting(path + (key,), key, value, version)
            else:
                checked = self.advanced_setting(path + (key,), key, value, version)
            if checked is _BAD:
                ok = False
            else:
                out[key] = checked
        return out if ok else _BAD

    def timeline(self, ordered: list[tuple[int, Event]], vms: list[VMConfig]) -> None:
        """Rules that involve a VM's settings at the time of an event (reservation <= memsize,
        limit >= reservation, the workload's shares and working set)."""
        state = {
            vm.name: {
                "memory_mb": vm.memory_mb,
                "reservation_mb": vm.reservation_mb,
                "limit_mb": vm.limit_mb,
                **{k: getattr(vm.workload, k) for k in _PCT_KEYS},
            }
            for vm in vms
        }
        for j, event in ordered:
            if event.vm not in state:
                continue
            st = state[event.vm]
            path: KeyPath = ("event", j)
            when = f"at {format_duration(event.at_s)}"
            s = event.set
            if "memory_mb" in s:
                st["memory_mb"] = s["memory_mb"]
                if "reservation_mb" not in s:
                    st["reservation_mb"] = min(st["reservation_mb"], st["memory_mb"])
            if "reservation_mb" in s:
                if s["reservation_mb"] > st["memory_mb"]:
                    self.report(
                        path + ("set", "reservation_mb"),
                        f"must be at most the VM's memory_mb ({_describe(st['memory_mb'])} MB {when}), "
                        f"not {_describe(s['reservation_mb'])}",
                    )
                st["reservation_mb"] = s["reservation_mb"]
            if "limit_mb" in s:
                st["limit_mb"] = s["limit_mb"]
            if ("limit_mb" in s or "reservation_mb" in s) and st["limit_mb"] is not None:
                if st["limit_mb"] < st["reservation_mb"]:
                    key = "limit_mb" if "limit_mb" in s else "reservation_mb"
                    self.report(
                        path + ("set", key),
                        f"limit_mb ({_describe(st['limit_mb'])} MB) must be at least "
                        f"reservation_mb ({_describe(st['reservation_mb'])} MB) {when}",
                    )
            w = event.workload
            wpath = path + ("workload",)
            if any(k in w for k in _PCT_KEYS):
                st.update({k: w[k] for k in _PCT_KEYS if k in w})
                pcts = [st[k] for k in _PCT_KEYS]
                if sum(pcts) > 100:
                    self.report(wpath, f"{_pct_sum_message(pcts)} {when}")
            memory = st["memory_mb"]
            if "active_mb" in w and w["active_mb"] > memory:
                self.report(
                    wpath + ("active_mb",),
                    f"must be at most the VM's memory_mb ({_describe(memory)} MB {when}), "
                    f"not {_describe(w['active_mb'])}",
                )
            for k, (_, mb) in enumerate(w.get("schedule", [])):
                if mb > memory:
                    self.report(
                        wpath + ("schedule", k),
                        f"active_mb must be at most the VM's memory_mb ({_describe(memory)} MB "
                        f"{when}), not {_describe(mb)}",
                    )


def _keep(convert: Callable[[Any], Any], value: Any) -> Any:
    return value if value is _BAD else convert(value)


def _size(mb: float) -> str:
    if mb >= 1024 * 1024 and mb % (1024 * 1024) == 0:
        return f"{mb // (1024 * 1024):g} TB"
    return f"{mb / 1024:g} GB"


def _pct_sum_message(pcts: list[float]) -> str:
    terms = " + ".join(f"{p:g}" for p in pcts)
    return f"zero_pct + family_pct + dup_pct must be at most 100, not {terms} = {sum(pcts):g}"


def _first_of(table: dict[str, Any]) -> str:
    return next((k for k in _PCT_KEYS if k in table), "")


# --------------------------------------------------------------------------------------------
# Reading


def _syntax_problem(file: str, text: str, exc: tomllib.TOMLDecodeError) -> ProfileProblem:
    message = str(exc)
    m = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if m:
        line: int | None = int(m.group(1))
        detail = f"{message[: m.start()]} (column {m.group(2)})"
    else:
        line = text.count("\n") + (0 if text.endswith("\n") else 1) if text else 1
        detail = re.sub(r"\s*\(at end of document\)$", " (at the end of the file)", message)
    return ProfileProblem(file, line, "", f"not valid TOML: {detail}")


def parse_profile(text: str, path: str = _NO_PATH) -> Profile:
    """Check a profile's text and return its Profile, or raise ProfileError with every problem.

    `path` names the file in messages; the Profile keeps it as `path` unless it is the default,
    and keeps the parsed document for saving.
    """
    text = text.removeprefix("\ufeff")
    profile = _check(text, path)
    try:
        profile.document = tomlkit.parse(text)
    except Exception:  # tomlkit refusing what tomllib accepted: save without it
        profile.document = None
    profile.path = None if path == _NO_PATH else path
    return profile


def _check(text: str, path: str) -> Profile:
    """The Profile a text describes (without its document), or ProfileError."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError([_syntax_problem(path, text, exc)]) from None
    checker = _Checker(path, LineIndex(text))
    profile = checker.profile(data)
    if checker.problems or profile is None:
        problems = sorted(checker.problems, key=lambda p: math.inf if p.line is None else p.line)
        raise ProfileError(problems)
    return profile


def load_profile(path: str | os.PathLike[str]) -> Profile:
    """Read and check the profile at `path`. Raises OSError when the file cannot be read and
    ProfileError when it is not a valid profile. Never changes the file."""
    name = os.fspath(path)
    data = Path(name).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        problem = ProfileProblem(
            name, line, "", f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8"
        )
        raise ProfileError([problem]) from None
    return parse_profile(text, name)


# --------------------------------------------------------------------------------------------
# Writing


def profile_to_document(profile: Profile) -> tomlkit.TOMLDocument:
    """A fresh document for a profile: format and every host key, then only what differs from
    the defaults (plus each VM's name and memory_mb)."""
    doc = tomlkit.document()
    doc["format"] = profile.format
    host = tomlkit.table()
    for key in HOST_KEYS:
        if getattr(profile.host, key) is not None:
            host[key] = _toml_value(key, getattr(profile.host, key))
    doc["host"] = host
    update_document(doc, profile)
    return doc


def dumps_profile(profile: Profile) -> str:
    """The profile as TOML text; with its document's comments and layout when it has one."""
    if isinstance(profile.document, tomlkit.TOMLDocument):
        update_document(profile.document, profile)
        return profile.document.as_string()
    return profile_to_document(profile).as_string()


def save_profile(profile: Profile, path: str | os.PathLike[str]) -> None:
    """Write the profile to `path` atomically: a temporary file beside it, flushed to disk, then
    renamed over it.

    The text is checked first: a profile that loading would refuse raises ProfileError (its
    problems carry no line, since the text was never written) and nothing is written. When the
    file system fails, ProfileSaveError (an OSError) says why; either way the old file is
    untouched and no temporary file is left. Afterwards the profile keeps `path` and the
    document it was saved from, so that later saves change only what changed.
    """
    name = os.fspath(path)
    try:
        text = dumps_profile(profile)
    except (TypeError, ValueError) as exc:
        raise ProfileError([ProfileProblem(name, None, "", f"cannot be written: {exc}")]) from exc
    try:
        _check(text, name)
    except ProfileError as exc:
        raise ProfileError([replace(p, line=None) for p in exc.problems]) from None
    if not isinstance(profile.document, tomlkit.TOMLDocument):
        profile.document = tomlkit.parse(text)
    target = Path(os.path.realpath(name))
    tmp: str | None = None
    try:
        mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else _new_file_mode()
        with tempfile.NamedTemporaryFile(
            "wb", dir=target.parent, prefix=f".{target.name}.", suffix=".tmp", delete=False
        ) as f:
            tmp = f.name
            f.write(text.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
        _fsync_directory(target.parent)
    except OSError as exc:
        error = ProfileSaveError(f"cannot save {name}: {exc.strerror or exc}")
        error.errno = exc.errno
        raise error from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    profile.path = name


def _new_file_mode() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- updating a document in place ------------------------------------------------------------

_REQUIRED: Any = object()  # "no default": the key is always written


def update_document(doc: tomlkit.TOMLDocument, profile: Profile) -> None:
    """Make `doc` describe `profile`, changing only what differs, so that comments, layout and
    key order survive. Keys that are absent and would hold their default are not added."""
    _put(doc, "format", profile.format, FORMAT)
    host = doc.get("host")
    if not isinstance(host, dict):
        host = tomlkit.table()
        doc["host"] = host
    _put_fields(host, profile.host)
    _put_advanced(doc, profile.advanced)
    _put_vms(doc, profile.vms)
    _put_events(doc, profile.events)


def _plain(item: Any) -> Any:
    return item.unwrap() if hasattr(item, "unwrap") else item


def _normal(key: str, value: Any) -> Any:
    """A document value in the form the dataclasses use, for comparing."""
    value = _plain(value)
    try:
        if key in _DURATION_KEYS:
            return parse_duration(value)
        if key == "limit_mb" and isinstance(value, str) and value.lower() == "unlimited":
            return None
        if key == "schedule" and isinstance(value, list):
            return [(parse_duration(at), mb) for at, mb in value]
        if key == "start_time" and isinstance(value, str):
            return datetime.fromisoformat(value.strip())
    except (ValueError, TypeError):
        pass
    return value


def _same(a: Any, b: Any) -> bool:
    """Equal as profile values (4096 == 4096.0; a list equals a tuple with the same items)."""
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def _toml_value(key: str, value: Any, old: Any = None) -> Any:
    """A profile value as the document writes it."""
    if key in _DURATION_KEYS:
        old = _plain(old)
        if isinstance(old, int) and not isinstance(old, bool):
            return int(value)
        return format_duration(value)
    if key == "limit_mb" and value is None:
        return "unlimited"
    if key == "schedule":
        steps = tomlkit.array()
        for at, mb in value:
            steps.append([format_duration(at), _mb(mb)])
        return steps
    if _is_number(value):
        return _mb(value)
    return value


def _representable(key: str, value: Any) -> bool:
    return value is not None or key == "limit_mb"


def _add(container: Any, key: str, value: Any) -> None:
    """Add a key after the last key/value pair of a table, ahead of the comments and blank lines
    that lead into the next table. tomlkit's own append would put it after them, and it has no
    public way to insert, hence its Container._insert_at."""
    body_owner = container.value if isinstance(container, Table) else container
    if isinstance(container, InlineTable) or not isinstance(body_owner, Container):
        container[key] = value
        return
    body = body_owner.body
    last = None
    for i, (k, v) in enumerate(body):
        if k is not None and (not isinstance(v, Table | AoT) or k.is_dotted()):
            last = i
    if last is None or last == len(body) - 1:
        container[key] = value
    else:
        body_owner._insert_at(last + 1, key, value)


def _put(container: Any, key: str, value: Any, default: Any) -> None:
    """Make container[key] hold `value`, touching the document only where it differs."""
    if key in container:
        old = container[key]
        if not _representable(key, value):
            del container[key]
        elif not _same(_normal(key, old), value):
            container[key] = _toml_value(key, value, old)
    elif _representable(key, value) and (default is _REQUIRED or not _same(value, default)):
        _add(container, key, _toml_value(key, value))


def _defaults(cls: type) -> dict[str, Any]:
    out = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
        else:
            out[f.name] = _REQUIRED
    return out


def _put_fields(container: Any, obj: Any, skip: tuple[str, ...] = ()) -> None:
    for key, default in _defaults(type(obj)).items():
        if key not in skip:
            _put(container, key, getattr(obj, key), default)


def _locations(container: Any, dotted: bool, prefix: str = "") -> dict[str, tuple[Any, str]]:
    """Where each entry of a table lives; with `dotted`, `Mem.IdleTax = 1` counts as the name
    "Mem.IdleTax" (advanced settings)."""
    out: dict[str, tuple[Any, str]] = {}
    for key in list(container.keys()):
        value = container[key]
        if dotted and isinstance(value, dict):
            out.update(_locations(value, True, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = (container, key)
    return out


def _prune_empty(container: Any) -> None:
    for key in list(container.keys()):
        value = container[key]
        if isinstance(value, dict):
            _prune_empty(value)
            if not value:
                del container[key]


def _put_mapping(
    parent: Any, key: str, mapping: dict[str, Any], *, dotted: bool, keep_empty: bool = False
) -> None:
    """Make parent[key] a table holding exactly `mapping` (advanced settings, an event's set
    or workload). Inline tables are rebuilt when keys come or go, to keep their layout tidy."""
    existing = parent.get(key)
    if not isinstance(existing, dict):
        if existing is not None:
            del parent[key]
        if mapping:
            _add(parent, key, _inline(mapping, {}))
        return
    if not mapping and not keep_empty:
        del parent[key]
        return
    where = _locations(existing, dotted)
    if isinstance(existing, InlineTable) and where.keys() != mapping.keys():
        parent[key] = _inline(mapping, where)
        return
    removed = False
    for name, (container, k) in where.items():
        if name not in mapping:
            del container[k]
            removed = True
    for name, value in mapping.items():
        if name in where:
            container, k = where[name]
            if not _same(_normal(name, container[k]), value):
                container[k] = _toml_value(name, value, container[k])
        else:
            _add(existing, name, _toml_value(name, value))
    if removed and dotted:
        _prune_empty(existing)


def _inline(mapping: dict[str, Any], where: dict[str, tuple[Any, str]]) -> InlineTable:
    """An inline table of `mapping`, reusing the document's items for unchanged values."""
    fresh = tomlkit.inline_table()
    for name, value in mapping.items():
        if name in where and _same(_normal(name, _get(where[name])), value):
            fresh[name] = _get(where[name])
        else:
            fresh[name] = _toml_value(name, value)
    return fresh


def _get(location: tuple[Any, str]) -> Any:
    container, key = location
    return container[key]


def _put_advanced(doc: tomlkit.TOMLDocument, advanced: dict[str, int]) -> None:
    """[advanced] keeps its table even when emptied (its comments may matter); a new one goes
    right after [host]."""
    if "advanced" in doc or not advanced:
        _put_mapping(doc, "advanced", advanced, dotted=True, keep_empty=True)
        return
    table = tomlkit.table()
    for name, value in advanced.items():
        table[name] = value
    table.add(tomlkit.nl())
    if "host" in doc:
        if not doc["host"].as_string().endswith("\n\n"):
            table.trivia.indent = "\n"
        doc._insert_after("host", "advanced", table)
    else:
        doc["advanced"] = table


def _put_workload(vm_table: Any, workload: Workload) -> None:
    existing = vm_table.get("workload")
    if isinstance(existing, InlineTable):
        values = {}
        for key, default in _defaults(Workload).items():
            value = getattr(workload, key)
            if _representable(key, value) and (key in existing or not _same(value, default)):
                values[key] = value
        _put_mapping(vm_table, "workload", values, dotted=False)
    elif isinstance(existing, Table):
        _put_fields(existing, workload)
    elif workload != Workload():
        fresh = _new_table(isinstance(vm_table, InlineTable))
        _put_fields(fresh, workload)
        vm_table["workload"] = fresh


def _new_table(inline: bool) -> Any:
    return tomlkit.inline_table() if inline else tomlkit.table()


def _put_vms(doc: tomlkit.TOMLDocument, vms: list[VMConfig]) -> None:
    """Match VMs to the document's tables by name, a renamed VM by position; update those in
    place, append new VMs, drop deleted ones, and follow the profile's order."""
    current = doc.get("vm")
    tables = list(current) if isinstance(current, list) else []
    inline = current is not None and not isinstance(current, AoT)
    doc_names = [_plain(t.get("name")) if isinstance(t, dict) else None for t in tables]
    wanted = {vm.name for vm in vms}
    used: set[int] = set()
    matches: list[int | None] = []
    for vm in vms:
        j = next((j for j, n in enumerate(doc_names) if n == vm.name and j not in used), None)
        if j is not None:
            used.add(j)
        matches.append(j)
    for i, _vm in enumerate(vms):
        if matches[i] is None and i < len(tables) and i not in used and doc_names[i] not in wanted:
            matches[i] = i
            used.add(i)
    final = []
    for vm, j in zip(vms, matches, strict=True):
        table = tables[j] if j is not None else _new_table(inline)
        _put_fields(table, vm, skip=("workload",))
        _put_workload(table, vm.workload)
        final.append(table)
    _set_array(doc, "vm", current, final, inline)


def _event_of(table: Any) -> Event | None:
    """What a document's [[event]] table says, for matching it to the profile's events."""
    if not isinstance(table, dict):
        return None
    return _Checker("", LineIndex("")).event(("event", 0), _plain(table), None, None)


def _likeness(old: Event | None, new: Event) -> int:
    """How much a document's event resembles one of the profile's; 0 means unrelated."""
    if old is None:
        return 0
    if old == new:
        return 100
    score = (4 if old.at_s == new.at_s else 0) + (2 if old.vm == new.vm else 0)
    if score:
        score += (old.set.keys() == new.set.keys()) + (old.workload.keys() == new.workload.keys())
    return score


def _put_events(doc: tomlkit.TOMLDocument, events: list[Event]) -> None:
    """Pair the profile's events with the document's tables (equal ones first, then the most
    alike: same time, same VM, same keys), update those in place, add and drop the others,
    and keep the file's order wherever it sorts to the same timeline."""
    current = doc.get("event")
    tables = list(current) if isinstance(current, list) else []
    inline = current is not None and not isinstance(current, AoT)
    existing = [_event_of(t) for t in tables]
    order = sorted(range(len(tables)), key=lambda i: existing[i].at_s if existing[i] else math.inf)
    candidates = sorted(
        (-_likeness(existing[j], event), k, rank, j)
        for k, event in enumerate(events)
        for rank, j in enumerate(order)
        if _likeness(existing[j], event)
    )
    used: set[int] = set()
    pairs: list[int | None] = [None] * len(events)
    for _, k, _, j in candidates:
        if pairs[k] is None and j not in used:
            pairs[k] = j
            used.add(j)
    by_event = []
    for event, j in zip(events, pairs, strict=True):
        table = tables[j] if j is not None else _new_table(inline)
        _put(table, "at", event.at_s, _REQUIRED)
        _put(table, "vm", event.vm, None)
        _put_mapping(table, "set", event.set, dotted=event.vm is None)
        _put_mapping(table, "workload", event.workload, dotted=False)
        by_event.append(table)
    kept = [t for j, t in enumerate(tables) if j in used]
    if _same_tables(kept, [t for t in by_event if any(t is k for k in kept)]):
        final = by_event  # the file is in time order: new events go where they belong
    else:
        at_of = {id(t): e.at_s for t, e in zip(by_event, events, strict=True)}
        physical = kept + [t for t in by_event if all(t is not k for k in kept)]
        resorted = sorted(physical, key=lambda t: at_of[id(t)])
        final = physical if _same_tables(resorted, by_event) else by_event
    _set_array(doc, "event", current, final, inline)


def _same_tables(a: list[Any], b: list[Any]) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))


def _set_array(
    doc: tomlkit.TOMLDocument, key: str, current: Any, final: list[Any], inline: bool
) -> None:
    """Make doc[key] hold exactly the tables `final`, in order, reusing the existing array:
    removing and appending where that is enough (comments inside an inline array survive),
    refilling it when the order changed."""
    if not final:
        if current is not None:
            del doc[key]
        return
    if current is None:
        array = tomlkit.aot()
        for table in final:
            array.append(table)
        doc[key] = array
        return
    old = list(current)
    if _same_tables(final, old):
        return
    kept = [t for t in final if any(t is o for o in old)]
    kept_in_file_order = [o for o in old if any(o is k for k in kept)]
    if _same_tables(final[: len(kept)], kept_in_file_order):
        for i in reversed(range(len(old))):
            if all(old[i] is not k for k in kept):
                del current[i]
        for table in final[len(kept) :]:
            current.append(table)
    else:
        del current[:]
        for table in final:
            current.append(table)
    if not inline:
        _space_new_tables(doc, current, final, old)


def _space_new_tables(doc: Any, array: AoT, final: list[Any], old: list[Any]) -> None:
    """Blank lines around tables added to a parsed array of tables."""

    def is_new(t: Any) -> bool:
        return all(t is not o for o in old)

    for i, table in enumerate(final):
        if i and (is_new(table) or is_new(final[i - 1])):
            if not final[i - 1].as_string().endswith("\n\n") and "\n" not in table.trivia.indent:
                table.trivia.indent = "\n" + table.trivia.indent
    if not is_new(final[-1]):
        return
    body = doc.body
    at = next((i for i, (_, v) in enumerate(body) if v is array), None)
    if at is None:
        return
    for _, item in body[at + 1 :]:
        if isinstance(item, Whitespace):
            return
        following = item[0] if isinstance(item, AoT) and len(item) else item
        if isinstance(following, Table) and "\n" not in following.trivia.indent:
            following.trivia.indent = "\n" + following.trivia.indent
        return
