"""Checking a profile's plain data (as `tomllib` reads it) against the format.

`Checker.profile(data)` returns the `memtui.config.Profile` the data describes, or None with
every problem in `Checker.problems`, each naming the file, the line, the key path and what is
allowed. The keys, their types, ranges and choices are those of `memtui.profile.schema`; the
rules that tie keys together (a reservation within the memsize, the release's maximums, the
workload's shares, the timeline) are written out below.

This module must not import the terminal UI toolkit: the batch runner and `memtui check` use it.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

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
from memtui.profile import schema
from memtui.profile.problems import KeyPath, LineIndex, ProfileProblem, format_key_path
from memtui.profile.schema import (
    EVENT_KEYS,
    FORMAT,
    HOST_KEYS,
    TOP_KEYS,
    VM_KEYS,
    VM_SETTING_KEYS,
    WORKLOAD_KEYS,
)

_PCT_KEYS = ("zero_pct", "family_pct", "dup_pct")


_HOST_PLAIN = tuple(
    k for k in schema.keys_of(schema.HOST) if k.name not in ("name", "esx_version", "memory_mb")
)
_ADVANCED = {k.name: k for k in schema.keys_of(schema.ADVANCED)}


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
    import difflib  # only when a name is unknown

    found = difflib.get_close_matches(name.lower(), list(lower), n=1, cutoff=0.6)
    return lower[found[0]] if found else None


def _flatten(table: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Advanced settings, whether written quoted ("Mem.IdleTax" = 75) or as dotted keys."""
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


class Checker:
    """Checks the plain data of a profile (as tomllib reads it), collecting every problem.

    `index` places problems on lines; without one, the lines of `text` are indexed when the
    first problem is reported (a valid profile never needs them)."""

    def __init__(self, file: str, index: LineIndex | None = None, text: str = ""):
        self.file = file
        self._index = index
        self._text = text
        self.problems: list[ProfileProblem] = []

    @property
    def index(self) -> LineIndex:
        if self._index is None:
            self._index = LineIndex(self._text)
        return self._index

    def report(self, path: KeyPath, message: str, line_path: KeyPath | None = None) -> None:
        line = self.index.line_of(path if line_path is None else line_path)
        self.problems.append(ProfileProblem(self.file, line, format_key_path(path), message))

    def value(self, path: KeyPath, key: schema.Key, value: Any) -> Any:
        """A value of one of the schema's plain types, checked against the key's range or
        choices and kept in the form the dataclasses use; _BAD after reporting."""
        kind = key.type
        if kind in (schema.SIZE, schema.NUMBER, schema.PERCENT):
            checked = self.number(path, value, key.expected(), key.ok)
            if checked is _BAD:
                return _BAD
            return float(checked) if key.as_float else _mb(checked)
        if kind == schema.WHOLE:
            return self.integer(path, value, key.expected(), key.ok)
        if kind == schema.BOOLEAN:
            return self.boolean(path, value)
        if kind == schema.STRING:
            return self.choice(path, value, key.choices) if key.choices else self.text(path, value)
        if kind == schema.DURATION:
            return self.duration(path, value)
        if kind == schema.DATE_TIME:
            return self.date_time(path, value)
        raise KeyError(key.path)

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
            allowed = schema.key(schema.HOST, "memory_mb").expected()
            if maxi:
                allowed += (
                    f" and at most {limit} ({_size(limit)}, the ESX {version} maximum per host)"
                )
            values["memory_mb"] = self.number(
                path + ("memory_mb",), table["memory_mb"], allowed, lambda v: 0 < v <= limit
            )
        for key in _HOST_PLAIN:
            if key.name in table:
                values[key.name] = self.value(path + (key.name,), key, table[key.name])
        memory, system = values.get("memory_mb"), values.get("system_mb")
        if _is_number(memory) and _is_number(system) and system >= memory:
            self.report(
                path + ("system_mb",),
                f"must be less than host.memory_mb ({_describe(memory)} MB), not {_describe(system)}",
            )
            values["system_mb"] = _BAD
        if any(v is _BAD for v in values.values()):
            return None, version
        if "memory_mb" in values:
            values["memory_mb"] = _mb(values["memory_mb"])
        return HostConfig(**values), version

    def version(self, path: KeyPath, value: Any) -> Any:
        versions = schema.key(schema.HOST, "esx_version").choices
        if isinstance(value, str) and value in versions:
            return value
        hint = ""
        if _is_number(value):
            hint = f' (write it as a string: esx_version = "{value}")'
        self.report(path, f"must be one of {_quoted(versions)}, not {_describe(value)}{hint}")
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
        setting = _ADVANCED.get(name)
        if setting is None:
            close = suggest(name, schema.ADVANCED_KEYS)
            if close:
                hint = f'; did you mean "{close}"?'
            else:
                hint = f" (known settings: {', '.join(schema.ADVANCED_KEYS)})"
            if name in VM_SETTING_KEYS or name in WORKLOAD_KEYS:
                hint = '; VM settings need the event\'s vm = "NAME"'
            self.report(path, f'unknown advanced setting "{name}"{hint}')
            return _BAD
        checked = self.integer(path, value, f"{setting.expected()} ({setting.meaning})", setting.ok)
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
        spec_key = schema.key(schema.VM, key)
        if key == "memory_mb":
            most = maxi.memory_mb_per_vm if maxi else math.inf
            allowed = spec_key.expected()
            if maxi:
                allowed += f" and at most {most} ({_size(most)}, the ESX {version} maximum per VM)"
            return _keep(_mb, self.number(path, value, allowed, lambda v: 0 < v <= most))
        if key == "vcpus":
            if maxi:
                lo, hi = spec_key.minimum, maxi.vcpus_per_vm
                allowed = (
                    f"a whole number from {lo:g} to {hi} (the ESX {version} maximum per VM)"
                )
                return self.integer(path, value, allowed, lambda v: lo <= v <= hi)
            return self.value(path, spec_key, value)
        if key == "limit_mb":
            if isinstance(value, str) and value.lower() == "unlimited":
                return None
            allowed = spec_key.expected()
            return _keep(_mb, self.number(path, value, allowed, spec_key.ok))
        if key == "shares":
            if isinstance(value, str) and value in spec_key.choices:
                return value
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
            self.report(
                path,
                f"must be one of {_quoted(spec_key.choices)} or a positive whole number, "
                f"not {_describe(value)}",
            )
            return _BAD
        return self.value(path, spec_key, value)

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
        if key == "active_mb":
            top = memory if memory is not None else math.inf
            of_memory = f"from 0 to the VM's memory_mb ({_describe(memory)})" if memory else "0 or more"
            allowed = f"a number of MB {of_memory}"
            return _keep(_mb, self.number(path, value, allowed, lambda v: 0 <= v <= top))
        if key == "schedule":
            return self.schedule(path, value, memory)
        return self.value(path, schema.key(schema.WORKLOAD, key), value)

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




_Checker = Checker  # the name the labs' checks use
