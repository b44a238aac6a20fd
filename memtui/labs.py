"""Labs: a host profile with a briefing, objectives checked live, hints and questions.

A lab file is a host profile (docs/profile-format.md) plus a `[lab]` table (docs/labs.md). This
module reads labs, runs a `LabSession` that watches a `Host` after every simulated second and
counts the learner's changes, keeps each user's progress and results (TOML under
`paths.lab_progress_path()`), and implements `memtui lab list | show | start | check`.

The session is cheap per step: each observation reads a few figures straight from the host's
arrays (the same numbers `Host.snapshot()` reports, rounded the same way) and only falls back to
a full snapshot for figures that have no fast path.

The module imports no UI toolkit.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import difflib
import json
import math
import os
import sys
import tempfile
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import tomlkit

from memtui import cost, paths, spec
from memtui.config import Profile, format_clock, format_duration, parse_duration
from memtui.metrics import HostMetrics, VMMetrics
from memtui.profile import (
    LineIndex,
    ProfileError,
    ProfileProblem,
    format_key_path,
    parse_profile,
    suggest,
)
from memtui.whatif import ChangeRefused, apply_change

LAB_FORMAT = 1

# --------------------------------------------------------------------------------------------
# Vocabulary

KIND_STATE = "state"  # the host is in one of `states` for `for` consecutive seconds
KIND_METRIC = "metric"  # a figure of a VM (or every VM, or the host) compared with a value
KIND_NO_POWER_OFF = "no_power_off"  # the learner powers no VM (of `vms`) off
KIND_MAX_CHANGES = "max_changes"  # the learner makes at most `max` changes
KIND_ANSWER = "answer"  # a question with a numeric answer
KINDS = (KIND_STATE, KIND_METRIC, KIND_NO_POWER_OFF, KIND_MAX_CHANGES, KIND_ANSWER)

DURING_THROUGHOUT = "throughout"  # holds at every moment of the window
DURING_EVENTUALLY = "eventually"  # holds at some moment of the window
DURING_AT = "at"  # holds at the moment `at`
DURING_END = "end"  # holds when the lab ends
DURING_AVERAGE = "average"  # the figure's mean over the window holds when the window ends
DURINGS = (DURING_THROUGHOUT, DURING_EVENTUALLY, DURING_AT, DURING_END, DURING_AVERAGE)

OPS: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: abs(a - b) < 0.005,
    "!=": lambda a, b: abs(a - b) >= 0.005,
}
OP_WORDS = {"<": "below", "<=": "at most", ">": "above", ">=": "at least", "==": "exactly",
            "!=": "not"}

PENDING = "pending"
MET = "met"
FAILED = "failed"

ALL_VMS = "*"

# Figures an objective can name: every numeric field of the snapshot, plus `on` (1 when the VM
# is powered on, else 0) for a VM.
VM_METRICS = tuple(f.name for f in fields(VMMetrics)
                   if f.type in ("float", "int", "bool", "float | None")
                   and f.name not in ("name", "power")) + ("on",)
HOST_METRICS = tuple(f.name for f in fields(HostMetrics) if f.type == "float")

# Words for figures in generated objective texts (esxtop column in parentheses).
METRIC_WORDS = {
    "consumed_mb": "consumed memory", "granted_mb": "granted memory (GRANT)",
    "target_mb": "target (SZTGT)", "balloon_mb": "balloon (MCTLSZ)",
    "swapped_mb": "swapped memory (SWCUR)", "zipped_mb": "compressed memory (ZIP/MB)",
    "active_mb": "active estimate (%ACTV)", "overhead_mb": "overhead (OVHD)",
    "shared_mb": "shared memory (SHRD)", "shared_saved_mb": "sharing saving",
    "free_mb": "free memory", "swap_in_mb_s": "swap-in rate (SWR/s)",
    "swap_out_mb_s": "swap-out rate (SWW/s)", "on": "power state (1 = on)",
    "touched_mb": "touched memory (TCHD)", "reservation_mb": "reservation",
    "guest_paging_mb": "guest paging", "unreserved_mb": "unreserved memory",
    "throughput_pct": "throughput", "swap_wait_pct": "swap wait (%SWPWT)",
    "mem_latency_pct": "memory latency (mem.latency)", "zip_wait_pct": "decompression wait",
    "guest_paging_wait_pct": "wait on its own paging", "balloon_overhead_pct": "balloon overhead",
    "ws_swapped_mb": "working set swapped", "ws_zipped_mb": "working set compressed",
    "overcommit_avg_1m": "memory overcommit (1 min average)",
    "overcommit_avg_5m": "memory overcommit (5 min average)",
    "overcommit_avg_15m": "memory overcommit (15 min average)",
    "zip_cache_size_mb": "compression cache size (CACHESZ)",
}

LAB_KEYS = ("title", "level", "order", "duration", "briefing", "hints", "allow_workload",
            "objective")
OBJECTIVE_KEYS = ("id", "kind", "text", "state", "for", "after", "before", "at", "vm", "metric",
                  "op", "value", "during", "vms", "max", "question", "answer", "answer_from",
                  "tolerance", "tolerance_pct", "attempts")
ACTION_KEYS = ("at", "vm", "set", "workload", "power", "answer", "question", "hint")
LEVEL_WORDS = {1: "first steps", 2: "basic", 3: "intermediate", 4: "advanced", 5: "hard"}


class LabError(ProfileError):
    """A lab (or an actions file) was refused; `problems` lists every reason."""


# --------------------------------------------------------------------------------------------
# The lab


@dataclass(frozen=True)
class MetricRef:
    """A figure of one VM (vm = name), every VM (vm = "*") or the host (vm = None)."""

    metric: str
    vm: str | None = None
    scale: float = 1.0

    def describe(self) -> str:
        word = METRIC_WORDS.get(self.metric, self.metric)
        who = "the host's" if self.vm is None else ("every VM's" if self.vm == ALL_VMS else f"{self.vm}'s")
        out = f"{who} {word}"
        return out if self.scale == 1 else f"{self.scale:g} x {out}"


@dataclass(frozen=True)
class Objective:
    id: str
    kind: str
    text: str
    # state
    states: tuple[str, ...] = ()
    for_s: int = 0
    # windows (state, metric)
    after_s: int = 0
    before_s: int | None = None  # None: the end of the lab
    at_s: int | None = None
    # metric
    subject: MetricRef | None = None
    op: str = ">="
    value: float | None = None
    value_ref: MetricRef | None = None
    during: str = DURING_THROUGHOUT
    # no_power_off
    vms: tuple[str, ...] = ()
    # max_changes
    max_changes: int = 0
    # answer
    question: str = ""
    answer: float | None = None
    answer_from: MetricRef | None = None
    tolerance: float = 0.0
    tolerance_pct: float = 0.0
    attempts: int = 3


@dataclass
class Lab:
    name: str  # the file's stem: what `memtui lab start NAME` takes
    title: str
    level: int
    order: int
    duration_s: int
    briefing: str
    hints: list[str]
    objectives: list[Objective]
    profile: Profile
    allow_workload: bool = False
    path: str | None = None

    @property
    def questions(self) -> list[Objective]:
        return [o for o in self.objectives if o.kind == KIND_ANSWER]

    @property
    def level_words(self) -> str:
        return LEVEL_WORDS.get(self.level, str(self.level))

    def new_host(self):
        from memtui.model import Host

        return Host.from_profile(self.profile)

    def start(self, host=None) -> LabSession:
        return LabSession(self, host)


def _lab_problem(file: str, index: LineIndex, path: tuple, message: str) -> ProfileProblem:
    return ProfileProblem(file, index.line_of(path), format_key_path(path), message)


class _LabChecker:
    """Checks the `[lab]` table, collecting every problem (the profile checker's style)."""

    def __init__(self, file: str, index: LineIndex, vm_names: set[str], version: str):
        self.file = file
        self.index = index
        self.vm_names = vm_names
        self.version = version
        self.problems: list[ProfileProblem] = []

    def report(self, path: tuple, message: str) -> None:
        self.problems.append(_lab_problem(self.file, self.index, path, message))

    def keys(self, path: tuple, table: dict, allowed: tuple[str, ...]) -> None:
        for key in table:
            if key not in allowed:
                close = suggest(key, allowed)
                hint = f'; did you mean "{close}"?' if close else ""
                self.report(path + (key,), f'unknown key "{key}"{hint} (allowed keys: {", ".join(allowed)})')

    def text(self, path: tuple, value: Any) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.report(path, "must be a non-empty string")
            return None
        return value

    def duration(self, path: tuple, value: Any) -> int | None:
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.report(path, str(exc))
            return None

    def number(self, path: tuple, value: Any, allowed: str, ok: Callable[[float], bool] = lambda v: True):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or not ok(value):
            self.report(path, f"must be {allowed}, not {value!r}")
            return None
        return float(value)

    def integer(self, path: tuple, value: Any, allowed: str, ok: Callable[[int], bool] = lambda v: True):
        if isinstance(value, bool) or not isinstance(value, int) or not ok(value):
            self.report(path, f"must be {allowed}, not {value!r}")
            return None
        return value

    def vm(self, path: tuple, value: Any, allow_all: bool) -> str | None | bool:
        """A VM name (or "*"); False after a problem."""
        if not isinstance(value, str) or not value:
            self.report(path, "must be a VM's name" + (' or "*" (every VM)' if allow_all else ""))
            return False
        if value == ALL_VMS and allow_all:
            return value
        if value not in self.vm_names:
            close = suggest(value, sorted(self.vm_names))
            hint = f'; did you mean "{close}"?' if close else ""
            self.report(path, f'no VM named "{value}"{hint} (VMs: {", ".join(sorted(self.vm_names))})')
            return False
        return value

    def metric(self, path: tuple, value: Any, vm: str | None) -> str | None:
        allowed = HOST_METRICS if vm is None else VM_METRICS
        if not isinstance(value, str) or value not in allowed:
            close = suggest(value, allowed) if isinstance(value, str) else None
            hint = f'; did you mean "{close}"?' if close else ""
            who = "the host" if vm is None else "a VM"
            self.report(path, f"{value!r} is not a figure of {who}{hint} (figures: {', '.join(allowed)})")
            return None
        return value

    def ref(self, path: tuple, table: Any, allow_all: bool) -> MetricRef | None:
        if not isinstance(table, dict):
            self.report(path, 'must be a table such as { vm = "db01", metric = "consumed_mb" }')
            return None
        self.keys(path, table, ("vm", "metric", "scale"))
        vm = None
        if "vm" in table:
            vm = self.vm(path + ("vm",), table["vm"], allow_all)
            if vm is False:
                return None
        if "metric" not in table:
            self.report(path + ("metric",), "missing: name the figure, e.g. metric = \"consumed_mb\"")
            return None
        metric = self.metric(path + ("metric",), table["metric"], vm)
        scale = 1.0
        if "scale" in table:
            scale = self.number(path + ("scale",), table["scale"], "a number")
        if metric is None or scale is None:
            return None
        return MetricRef(metric, vm, scale)

    def lab(self, name: str, table: Any, profile: Profile) -> Lab | None:
        path = ("lab",)
        if not isinstance(table, dict):
            self.report(path, "missing: a lab needs a [lab] table with title, duration, briefing and objectives")
            return None
        self.keys(path, table, LAB_KEYS)
        title = self.text(path + ("title",), table.get("title"))
        briefing = self.text(path + ("briefing",), table.get("briefing"))
        duration = None
        if "duration" not in table:
            self.report(path + ("duration",), 'missing: how long the lab runs, e.g. duration = "30m"')
        else:
            duration = self.duration(path + ("duration",), table["duration"])
            if duration is not None and duration <= 0:
                self.report(path + ("duration",), "must be at least 1 second")
                duration = None
        level = self.integer(path + ("level",), table.get("level", 1), "a whole number from 1 (first steps) to 5 (hard)",
                             lambda v: 1 <= v <= 5)
        order = self.integer(path + ("order",), table.get("order", 1000), "a whole number")
        hints = table.get("hints", [])
        if not isinstance(hints, list) or not all(isinstance(h, str) and h.strip() for h in hints):
            self.report(path + ("hints",), "must be an array of non-empty strings")
            hints = []
        allow_workload = table.get("allow_workload", False)
        if not isinstance(allow_workload, bool):
            self.report(path + ("allow_workload",), "must be true or false")
        objectives: list[Objective] = []
        raw = table.get("objective")
        if not isinstance(raw, list) or not raw:
            self.report(path + ("objective",), "missing: a lab needs at least one [[lab.objective]]")
            raw = []
        seen: set[str] = set()
        for j, item in enumerate(raw):
            obj = self.objective(path + ("objective", j), item, j, duration)
            if obj is None:
                continue
            if obj.id in seen:
                self.report(path + ("objective", j, "id"), f'duplicate objective id "{obj.id}"')
                continue
            seen.add(obj.id)
            objectives.append(obj)
        if self.problems or None in (title, briefing, duration, level, order):
            return None
        return Lab(name=name, title=title.strip(), level=level, order=order, duration_s=duration,
                   briefing=briefing.strip(), hints=[h.strip() for h in hints], objectives=objectives,
                   profile=profile, allow_workload=bool(allow_workload))

    def objective(self, path: tuple, t: Any, j: int, duration: int | None) -> Objective | None:
        if not isinstance(t, dict):
            self.report(path, "must be a table ([[lab.objective]])")
            return None
        self.keys(path, t, OBJECTIVE_KEYS)
        before = len(self.problems)
        kind = t.get("kind")
        if kind not in KINDS:
            self.report(path + ("kind",), f"must be one of {', '.join(KINDS)}, not {kind!r}")
            return None
        oid = t.get("id", f"{kind}-{j + 1}")
        if not isinstance(oid, str) or not oid.strip():
            self.report(path + ("id",), "must be a non-empty string")
            oid = f"{kind}-{j + 1}"
        text = t.get("text")
        if text is not None and self.text(path + ("text",), text) is None:
            text = None
        kw: dict[str, Any] = {}
        end = duration if duration is not None else 10**9

        def window() -> None:
            after = self.duration(path + ("after",), t["after"]) if "after" in t else 0
            before_s = self.duration(path + ("before",), t["before"]) if "before" in t else None
            if after is not None and before_s is not None and before_s < after:
                self.report(path + ("before",), "must not be earlier than after")
            if after is not None and after > end:
                self.report(path + ("after",), f"is after the end of the lab ({format_duration(end)})")
            kw["after_s"] = after or 0
            kw["before_s"] = before_s

        if kind == KIND_STATE:
            states = t.get("state")
            states = [states] if isinstance(states, str) else states
            if not isinstance(states, list) or not states or any(s not in spec.STATES_ORDER for s in states):
                self.report(path + ("state",), f"must be a state or an array of states: {', '.join(spec.STATES_ORDER)}")
                states = []
            kw["states"] = tuple(states)
            kw["for_s"] = self.duration(path + ("for",), t.get("for", 0)) or 0
            window()
        elif kind == KIND_METRIC:
            vm = None
            if "vm" in t:
                vm = self.vm(path + ("vm",), t["vm"], True)
                if vm is False:
                    return None
            if "metric" not in t:
                self.report(path + ("metric",), 'missing: name the figure, e.g. metric = "consumed_mb"')
                return None
            metric = self.metric(path + ("metric",), t["metric"], vm)
            op = t.get("op", ">=")
            if op not in OPS:
                self.report(path + ("op",), f"must be one of {', '.join(OPS)}, not {op!r}")
            value = t.get("value")
            if isinstance(value, dict):
                kw["value_ref"] = self.ref(path + ("value",), value, False)
            elif value is None:
                self.report(path + ("value",), "missing: a number, or a figure such as { vm = \"web01\", metric = \"consumed_mb\" }")
            else:
                kw["value"] = self.number(path + ("value",), value, "a number or a figure table")
            during = t.get("during", DURING_THROUGHOUT)
            if during not in DURINGS:
                self.report(path + ("during",), f"must be one of {', '.join(DURINGS)}, not {during!r}")
            kw.update(subject=MetricRef(metric, vm) if metric else None, op=op, during=during)
            if during == DURING_AT:
                if "at" not in t:
                    self.report(path + ("at",), 'missing: during = "at" needs at = a time')
                else:
                    kw["at_s"] = self.duration(path + ("at",), t["at"])
                    if kw["at_s"] is not None and kw["at_s"] > end:
                        self.report(path + ("at",), f"is after the end of the lab ({format_duration(end)})")
            elif during in (DURING_THROUGHOUT, DURING_EVENTUALLY, DURING_AVERAGE):
                window()
        elif kind == KIND_NO_POWER_OFF:
            vms = t.get("vms", [])
            if not isinstance(vms, list):
                self.report(path + ("vms",), "must be an array of VM names")
                vms = []
            for k, name in enumerate(vms):
                self.vm(path + ("vms", k), name, False)
            kw["vms"] = tuple(vms)
        elif kind == KIND_MAX_CHANGES:
            if "max" not in t:
                self.report(path + ("max",), "missing: the number of changes allowed, e.g. max = 3")
            else:
                kw["max_changes"] = self.integer(path + ("max",), t["max"], "a whole number, 0 or more", lambda v: v >= 0)
        elif kind == KIND_ANSWER:
            kw["question"] = self.text(path + ("question",), t.get("question")) or ""
            if ("answer" in t) == ("answer_from" in t):
                self.report(path + ("answer",), "give exactly one of answer = a number or answer_from = a figure")
            elif "answer" in t:
                kw["answer"] = self.number(path + ("answer",), t["answer"], "a number")
            else:
                kw["answer_from"] = self.ref(path + ("answer_from",), t["answer_from"], False)
            kw["tolerance"] = self.number(path + ("tolerance",), t.get("tolerance", 0), "a number, 0 or more", lambda v: v >= 0) or 0.0
            kw["tolerance_pct"] = self.number(path + ("tolerance_pct",), t.get("tolerance_pct", 0), "a percentage, 0 or more", lambda v: v >= 0) or 0.0
            kw["attempts"] = self.integer(path + ("attempts",), t.get("attempts", 3), "a whole number, 1 or more", lambda v: v >= 1) or 3
        if len(self.problems) > before:
            return None
        obj = Objective(id=oid.strip(), kind=kind, text="", **kw)
        return _with_text(obj, text)


def _when(o: Objective) -> str:
    if o.kind == KIND_METRIC and o.during == DURING_AT:
        return f"at {format_clock(o.at_s or 0)}"
    if o.kind == KIND_METRIC and o.during == DURING_END:
        return "when the lab ends"
    parts = []
    if o.after_s:
        parts.append(f"from {format_clock(o.after_s)}")
    if o.before_s is not None:
        parts.append(f"until {format_clock(o.before_s)}")
    return " ".join(parts)


def _with_text(o: Objective, text: str | None) -> Objective:
    """The objective with its text: the lab's own words, or words made from its definition."""
    from dataclasses import replace

    if text:
        return replace(o, text=text.strip())
    when = _when(o)
    if o.kind == KIND_STATE:
        states = " or ".join(o.states)
        out = f"The host is in the {states} state for {format_duration(o.for_s)} in a row"
        out += f" ({when})" if when else ""
    elif o.kind == KIND_METRIC:
        value = o.value_ref.describe() if o.value_ref else f"{o.value:g}"
        how = {DURING_THROUGHOUT: "stays", DURING_EVENTUALLY: "gets to be",
               DURING_AVERAGE: "averages"}.get(o.during, "is")
        out = f"{o.subject.describe().capitalize()} {how} {OP_WORDS[o.op]} {value}"
        out += f" {when}" if when else ""
    elif o.kind == KIND_NO_POWER_OFF:
        out = "Power off none of " + ", ".join(o.vms) if o.vms else "Power no VM off"
    elif o.kind == KIND_MAX_CHANGES:
        out = f"Make at most {o.max_changes} change{'s' if o.max_changes != 1 else ''}"
    else:
        out = o.question
    return replace(o, text=out)


# --------------------------------------------------------------------------------------------
# Reading labs


def _strip_lab(text: str) -> tuple[str, Any]:
    """The profile part of a lab's text (the [lab] tables removed) and the lab table."""
    doc = tomlkit.parse(text)
    lab = doc.get("lab")
    if "lab" in doc:
        del doc["lab"]
    return doc.as_string(), lab


def _line_map(original: str, stripped: str) -> dict[int, int]:
    """Line numbers of the stripped text -> line numbers of the original."""
    a = original.split("\n")
    b = stripped.split("\n")
    out: dict[int, int] = {}
    for block in difflib.SequenceMatcher(a=b, b=a, autojunk=False).get_matching_blocks():
        for k in range(block.size):
            out[block.a + k + 1] = block.b + k + 1
    return out


def parse_lab(text: str, path: str = "<lab>", name: str | None = None, *,
              keep_document: bool = True) -> Lab:
    """Check a lab's text and return the Lab, or raise LabError with every problem.
    `keep_document=False` reads its profile without the document saving needs (faster)."""
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        try:
            parse_profile(text, path)  # reports the syntax error in the profile's words
        except ProfileError as exc:
            raise LabError(exc.problems) from None
        raise
    index = LineIndex(text)
    problems: list[ProfileProblem] = []
    try:
        stripped, _ = _strip_lab(text)
    except Exception as exc:  # tomlkit refusing what tomllib accepted
        raise LabError([ProfileProblem(path, None, "", f"cannot read the lab: {exc}")]) from None
    profile: Profile | None = None
    try:
        profile = parse_profile(stripped, path, keep_document=keep_document)
    except ProfileError as exc:
        lines = _line_map(text, stripped)
        problems += [ProfileProblem(p.file, lines.get(p.line, p.line) if p.line else None, p.key_path, p.message)
                     for p in exc.problems]
    names = {vm.name for vm in profile.vms} if profile else set()
    if profile is None:  # still check the lab's names against what the file says
        names = {vm.get("name") for vm in data.get("vm", []) if isinstance(vm, dict) and isinstance(vm.get("name"), str)}
    version = profile.host.esx_version if profile else spec.DEFAULT_VERSION
    checker = _LabChecker(path, index, names, version)
    stem = name or (Path(path).stem if path != "<lab>" else "lab")
    lab = checker.lab(stem, data.get("lab"), profile)
    problems += checker.problems
    if problems or lab is None or profile is None:
        problems.sort(key=lambda p: math.inf if p.line is None else p.line)
        raise LabError(problems)
    lab.path = None if path == "<lab>" else path
    return lab


def lab_files() -> list[Path]:
    return sorted(p for p in paths.bundled_labs_dir().glob("*.toml"))


def find_lab(name_or_path: str | os.PathLike[str]) -> Path:
    """The file of a bundled lab named NAME, or a path to a lab file. Raises LookupError with a
    message naming the labs there are."""
    text = os.fspath(name_or_path)
    p = Path(text)
    if p.suffix == ".toml" or os.sep in text or "/" in text:
        if p.is_file():
            return p
        raise LookupError(f"no lab file {text}")
    for f in lab_files():
        if f.stem == text:
            return f
    names = [f.stem for f in lab_files()]
    close = suggest(text, names)
    hint = f'; did you mean "{close}"?' if close else ""
    raise LookupError(f'no lab named "{text}"{hint} (labs: {", ".join(names)})')


def load_lab(name_or_path: str | os.PathLike[str], *, keep_document: bool = True) -> Lab:
    """A bundled lab by name, or a lab file by path. Raises LookupError (no such lab), OSError
    (cannot read) or LabError (not a valid lab). `keep_document` as for `parse_lab`."""
    f = find_lab(name_or_path)
    data = f.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise LabError([ProfileProblem(str(f), line, "", "not UTF-8 text; save the file as UTF-8")]) from None
    return parse_lab(text, str(f), f.stem, keep_document=keep_document)


def list_labs() -> list[Lab]:
    """The bundled labs, first steps first. A bundled lab that does not load is left out
    (tests check that every one loads)."""
    out = []
    for f in lab_files():
        try:
            out.append(load_lab(f, keep_document=False))
        except (LabError, OSError):
            continue
    return sorted(out, key=lambda lab: (lab.order, lab.level, lab.name))


# --------------------------------------------------------------------------------------------
# Reading the host's figures, fast


def _r2(x: float) -> float:
    return round(float(x), 2)


# VM figures read straight from the host's arrays; each must equal the snapshot's field (a test
# compares them). Anything else goes through `Host.snapshot()`.
_FAST_VM: dict[str, Callable[[Any, int], float]] = {
    "consumed_mb": lambda h, i: h.consumed[i],
    "balloon_mb": lambda h, i: h.balloon[i],
    "swapped_mb": lambda h, i: h.swapped[i],
    "zipped_mb": lambda h, i: h.zipped[i],
    "target_mb": lambda h, i: h.target[i],
    "overhead_mb": lambda h, i: h.overhead[i],
    "granted_mb": lambda h, i: h.granted[i],
    "shared_mb": lambda h, i: h.shared[i],
    "swap_in_mb_s": lambda h, i: h.swap_in_rate[i],
    "swap_out_mb_s": lambda h, i: h.swap_out_rate[i],
    "balloon_target_mb": lambda h, i: h.balloon_tgt[i],
    "swap_target_mb": lambda h, i: h.swap_tgt[i],
}
_FAST_HOST: dict[str, Callable[[Any], float]] = {
    "free_mb": lambda h: h.free_mb,
    "consumed_mb": lambda h: (h.consumed * h.on).sum(),
    "balloon_mb": lambda h: (h.balloon * h.on).sum(),
    "swapped_mb": lambda h: (h.swapped * h.on).sum(),
    "zipped_mb": lambda h: (h.zipped * h.on).sum(),
    "shared_saved_mb": lambda h: ((h.shared - h.common_share) * h.on).sum(),
    "unreserved_mb": lambda h: h.unreserved_mb,
    "reserved_mb": lambda h: h.reserved_mb,
}


# What memory costs the guests: computed for every VM at once, at most once a moment.
_COST_VM = frozenset(cost.SNAPSHOT_FIELDS)


class MetricReader:
    """Reads figures of one moment of a host, fast where it can; `snapshot()` at most once."""

    def __init__(self, host):
        self.host = host
        self._snap = None
        self._cost = None
        self._index: dict[str, int] = {}

    def reset(self) -> None:
        self._snap = None
        self._cost = None

    def snapshot(self):
        if self._snap is None:
            self._snap = self.host.snapshot()
        return self._snap

    def vm_index(self, name: str) -> int | None:
        vms = self.host.vms
        i = self._index.get(name)
        if i is not None and i < len(vms) and vms[i].name == name:
            return i
        for k, vm in enumerate(vms):
            if vm.name == name:
                self._index[name] = k
                return k
        return None

    def vm(self, name: str, metric: str) -> float:
        h = self.host
        i = self.vm_index(name)
        if i is None:
            return 0.0
        if metric == "on":
            return 1.0 if h.on[i] else 0.0
        fast = _FAST_VM.get(metric)
        if fast is not None:
            return _r2(fast(h, i)) if h.on[i] else 0.0
        if metric in _COST_VM and self._snap is None:
            if self._cost is None:
                self._cost = {k: np.round(v, 2) for k, v in cost.figures(h).items()}
            return float(self._cost[metric][i]) if h.on[i] else 0.0
        value = getattr(self.snapshot().vm(name), metric)
        return 0.0 if value is None else float(value)

    def host_metric(self, metric: str) -> float:
        fast = _FAST_HOST.get(metric)
        if fast is not None:
            return _r2(fast(self.host))
        return float(getattr(self.snapshot().host, metric))

    def values(self, ref: MetricRef) -> list[tuple[str | None, float]]:
        """(who, value) for each subject of `ref`."""
        if ref.vm is None:
            return [(None, self.host_metric(ref.metric) * ref.scale)]
        if ref.vm == ALL_VMS:
            return [(vm.name, self.vm(vm.name, ref.metric) * ref.scale) for vm in self.host.vms]
        return [(ref.vm, self.vm(ref.vm, ref.metric) * ref.scale)]

    def value(self, ref: MetricRef) -> float:
        return self.values(ref)[0][1]


def read_metric(host, ref: MetricRef) -> float:
    """One figure of the host now (for answer_from, the UI and tests)."""
    return MetricReader(host).value(ref)


# --------------------------------------------------------------------------------------------
# Objectives, live


@dataclass
class ObjectiveStatus:
    objective: Objective
    status: str = PENDING
    progress: str = ""  # what the learner reads beside the objective, e.g. "2:30 of 5:00"
    decided_at_s: float | None = None
    # bookkeeping
    run_since: float | None = None  # state: when the current run began
    best_run_s: float = 0.0
    tries: int = 0
    sums: dict | None = None  # average: per subject, the sum of the figure over the window
    samples: int = 0  # average: seconds summed

    @property
    def id(self) -> str:
        return self.objective.id

    @property
    def text(self) -> str:
        return self.objective.text

    def decide(self, status: str, t: float, progress: str) -> None:
        self.status = status
        self.decided_at_s = t
        self.progress = progress


@dataclass(frozen=True)
class ActionResult:
    ok: bool
    message: str
    kind: str  # "change" | "answer" | "hint" | "refused"
    correct: bool | None = None  # answers


@dataclass
class LabResult:
    lab: str
    title: str
    passed: bool
    objectives: list[tuple[str, str, str, str]]  # (id, text, status, progress)
    changes: int
    hints_used: int
    elapsed_s: float
    ended_early: bool = False

    @property
    def passed_count(self) -> int:
        return sum(1 for o in self.objectives if o[2] == MET)

    @property
    def total(self) -> int:
        return len(self.objectives)

    def summary(self) -> str:
        word = "PASSED" if self.passed else "FAILED"
        return (f"{word}: {self.passed_count} of {self.total} objectives met, {self.changes} "
                f"change{'s' if self.changes != 1 else ''}, {self.hints_used} hint"
                f"{'s' if self.hints_used != 1 else ''} used, {format_clock(self.elapsed_s)} simulated")


def _unit(metric: str) -> str:
    return " MB/s" if metric.endswith("_mb_s") else " MB" if metric.endswith("_mb") else (
        " %" if metric.endswith("_pct") else "")


def _fmt(x: float) -> str:
    return f"{x:,.2f}".rstrip("0").rstrip(".") if not float(x).is_integer() else f"{x:,.0f}"


class LabSession:
    """A learner's run of a lab on a host (a fresh one from the lab's profile by default).

    Call `observe()` after every `host.step()` (or use `advance(seconds)`, which steps and
    observes), and route every change the learner makes through `apply(action)` so that it is
    counted. `statuses` holds each objective's live status; `result()` the outcome.
    """

    def __init__(self, lab: Lab, host=None):
        self.lab = lab
        self.host = host if host is not None else lab.new_host()
        self.start_t = float(self.host.t)
        self.changes = 0
        self.hints_used = 0
        self.power_offs: list[tuple[float, str]] = []
        self.statuses = [ObjectiveStatus(o) for o in lab.objectives]
        self._pending = list(self.statuses)
        self._reader = MetricReader(self.host)
        self._last_t: float | None = None
        self.finished = False
        self.ended_early = False
        self.actions: list[tuple[float, dict, ActionResult]] = []
        for s in self.statuses:
            s.progress = self._initial_progress(s.objective)
        self.observe()

    # -- time ------------------------------------------------------------------------------

    @property
    def elapsed_s(self) -> float:
        return float(self.host.t) - self.start_t

    @property
    def remaining_s(self) -> float:
        return max(0.0, self.lab.duration_s - self.elapsed_s)

    @property
    def passed(self) -> bool:
        return all(s.status == MET for s in self.statuses)

    def status(self, objective_id: str) -> ObjectiveStatus:
        for s in self.statuses:
            if s.id == objective_id:
                return s
        raise KeyError(objective_id)

    def advance(self, seconds: float) -> None:
        """Step the host `seconds` of simulated time (never past the lab's end), observing
        after each step."""
        steps = int(round(seconds / spec.STEP_S))
        for _ in range(steps):
            if self.finished:
                return
            self.host.step()
            self.observe()

    def run_to_end(self) -> LabResult:
        while not self.finished:
            self.host.step()
            self.observe()
        return self.result()

    # -- observing -------------------------------------------------------------------------

    def observe(self) -> None:
        """Look at the host now and update the objectives (cheap; call after every step)."""
        if self.finished:
            return
        t = self.elapsed_s
        if self._last_t is not None and t <= self._last_t:
            return
        prev = self._last_t
        self._last_t = t
        self._reader.reset()
        end = self.lab.duration_s
        for s in self._pending:
            o = s.objective
            if o.kind == KIND_STATE:
                self._observe_state(s, t, prev)
            elif o.kind == KIND_METRIC:
                self._observe_metric(s, t)
        self._pending = [s for s in self._pending if s.status == PENDING]
        if t >= end:
            self._finish(t)
        elif not self._pending:
            self.finished = True
            self.ended_early = False

    def _observe_state(self, s: ObjectiveStatus, t: float, prev: float | None) -> None:
        o = s.objective
        before = o.before_s if o.before_s is not None else self.lab.duration_s
        if t < o.after_s:
            return
        if t > before:
            s.decide(FAILED, t, f"not {format_duration(o.for_s)} in a row before {format_clock(before)} "
                               f"(longest {format_duration(s.best_run_s)})")
            return
        state = self.host.state
        if state in o.states:
            if s.run_since is None:
                s.run_since = t
            run = t - s.run_since
            s.best_run_s = max(s.best_run_s, run)
            if run >= o.for_s:
                s.decide(MET, t, f"{state} for {format_duration(run)} in a row "
                                 f"({format_clock(s.run_since)} to {format_clock(t)})")
                return
            s.progress = f"{state} for {format_duration(run)} of {format_duration(o.for_s)}"
        else:
            s.run_since = None
            s.progress = (f"now {state}; longest so far {format_duration(s.best_run_s)} of "
                          f"{format_duration(o.for_s)}")
        start = s.run_since if s.run_since is not None else t
        if before - start < o.for_s:
            s.decide(FAILED, t, f"{format_duration(o.for_s)} in a row can no longer fit before "
                                f"{format_clock(before)} (longest {format_duration(s.best_run_s)}, now {state})")

    def _compare(self, o: Objective) -> tuple[bool, str]:
        """Whether the objective's comparison holds now, and the figures in words."""
        target = self._reader.value(o.value_ref) if o.value_ref else float(o.value)
        bad: list[str] = []
        shown: list[str] = []
        unit = _unit(o.subject.metric)
        for who, v in self._reader.values(o.subject):
            ok = OPS[o.op](v, target)
            label = f"{who} {_fmt(v)}{unit}" if who else f"{_fmt(v)}{unit}"
            shown.append(label)
            if not ok:
                bad.append(label)
        limit = f"{o.op} {_fmt(target)}{unit}"
        if bad:
            return False, f"{', '.join(bad)} (needs {limit})"
        return True, f"{', '.join(shown[:4])}{' ...' if len(shown) > 4 else ''} ({limit})"

    def _observe_average(self, s: ObjectiveStatus, t: float) -> None:
        """during = "average": sum the figure each second of the window; decide at its end."""
        o = s.objective
        before = o.before_s if o.before_s is not None else self.lab.duration_s
        if t < o.after_s:
            return
        if t <= before:
            if s.sums is None:
                s.sums = {}
            for who, v in self._reader.values(o.subject):
                s.sums[who] = s.sums.get(who, 0.0) + v
            s.samples += 1
        means = {who: total / s.samples for who, total in (s.sums or {}).items()} if s.samples else {}
        target = self._reader.value(o.value_ref) if o.value_ref else float(o.value)
        unit = _unit(o.subject.metric)
        limit = f"{o.op} {_fmt(target)}{unit}"
        shown = [f"{who} {_fmt(m)}{unit}" if who else f"{_fmt(m)}{unit}" for who, m in means.items()]
        bad = [f"{who} {_fmt(m)}{unit}" if who else f"{_fmt(m)}{unit}" for who, m in means.items()
               if not OPS[o.op](m, target)]
        span = f"{format_clock(o.after_s)} to {format_clock(min(t, before))}"
        if t >= before:
            if not means:
                s.decide(FAILED, t, "no second of the window was observed")
            elif bad:
                s.decide(FAILED, t, f"average {span}: {', '.join(bad)} (needs {limit})")
            else:
                s.decide(MET, t, f"average {span}: {', '.join(shown[:4])}{' ...' if len(shown) > 4 else ''} ({limit})")
        elif means:
            s.progress = f"average so far ({span}): {', '.join(shown[:4])}{' ...' if len(shown) > 4 else ''} ({limit})"

    def _observe_metric(self, s: ObjectiveStatus, t: float) -> None:
        o = s.objective
        if o.during == DURING_AVERAGE:
            self._observe_average(s, t)
            return
        if o.during == DURING_END:
            if t >= self.lab.duration_s:
                ok, words = self._compare(o)
                s.decide(MET if ok else FAILED, t, f"at the end: {words}")
            else:
                s.progress = f"checked when the lab ends; now {self._compare(o)[1]}"
            return
        if o.during == DURING_AT:
            if t >= o.at_s:
                ok, words = self._compare(o)
                s.decide(MET if ok else FAILED, t, f"at {format_clock(t)}: {words}")
            return
        before = o.before_s if o.before_s is not None else self.lab.duration_s
        if t < o.after_s:
            return
        if t > before:
            if o.during == DURING_EVENTUALLY:
                s.decide(FAILED, t, f"not reached by {format_clock(before)}")
            else:
                s.decide(MET, t, f"held from {format_clock(o.after_s)} to {format_clock(before)}")
            return
        ok, words = self._compare(o)
        if o.during == DURING_THROUGHOUT:
            if not ok:
                s.decide(FAILED, t, f"broken at {format_clock(t)}: {words}")
            elif t >= before:
                s.decide(MET, t, f"held from {format_clock(o.after_s)} to {format_clock(before)}")
            else:
                s.progress = f"holding: {words}"
        else:
            if ok:
                s.decide(MET, t, f"reached at {format_clock(t)}: {words}")
            elif t >= before:
                s.decide(FAILED, t, f"not reached by {format_clock(before)}: {words}")
            else:
                s.progress = f"not yet: {words}"

    def _initial_progress(self, o: Objective) -> str:
        if o.kind == KIND_NO_POWER_OFF:
            return "no VM powered off so far"
        if o.kind == KIND_MAX_CHANGES:
            return f"0 of {o.max_changes} changes used"
        if o.kind == KIND_ANSWER:
            return f"not answered yet ({o.attempts} tr{'ies' if o.attempts != 1 else 'y'})"
        if o.kind == KIND_METRIC and o.during == DURING_AT:
            return f"checked at {format_clock(o.at_s)}"
        if o.after_s:
            return f"starts at {format_clock(o.after_s)}"
        return ""

    def _finish(self, t: float, early: bool = False) -> None:
        for s in self.statuses:
            if s.status != PENDING:
                continue
            o = s.objective
            if early:
                s.decide(FAILED, t, "not decided before the lab was ended")
            elif o.kind == KIND_NO_POWER_OFF:
                s.decide(MET, t, "no VM was powered off")
            elif o.kind == KIND_MAX_CHANGES:
                s.decide(MET, t, f"{self.changes} of {o.max_changes} changes used")
            elif o.kind == KIND_ANSWER:
                s.decide(FAILED, t, f"not answered right ({s.tries} tr{'ies' if s.tries != 1 else 'y'})"
                         if s.tries else "not answered")
            elif o.kind == KIND_METRIC and o.during == DURING_THROUGHOUT:
                s.decide(MET, t, f"held from {format_clock(o.after_s)} to the end")
            else:
                s.decide(FAILED, t, f"not met by the end ({s.progress})" if s.progress else "not met by the end")
        self._pending = []
        self.finished = True
        self.ended_early = early

    def end(self) -> LabResult:
        """End the lab now (the learner gives up or stops early): whatever is undecided fails."""
        if not self.finished:
            self._finish(self.elapsed_s, early=True)
        return self.result()

    def result(self) -> LabResult:
        return LabResult(
            lab=self.lab.name, title=self.lab.title, passed=self.passed,
            objectives=[(s.id, s.text, s.status, s.progress) for s in self.statuses],
            changes=self.changes, hints_used=self.hints_used, elapsed_s=self.elapsed_s,
            ended_early=self.ended_early,
        )

    # -- the learner's actions ---------------------------------------------------------------

    def hint(self) -> str | None:
        """The next hint (None when there are no more); counts as a hint used."""
        if self.hints_used >= len(self.lab.hints):
            return None
        h = self.lab.hints[self.hints_used]
        self.hints_used += 1
        return h

    @property
    def hints_shown(self) -> list[str]:
        return self.lab.hints[: self.hints_used]

    def answer(self, value: float, question: str | None = None) -> ActionResult:
        qs = [s for s in self.statuses if s.objective.kind == KIND_ANSWER]
        if not qs:
            return self._record({"answer": value}, ActionResult(False, "this lab asks no question", "refused"))
        if question is None:
            open_qs = [s for s in qs if s.status == PENDING]
            if len(qs) > 1 and len(open_qs) != 1:
                ids = ", ".join(s.id for s in open_qs or qs)
                return self._record({"answer": value}, ActionResult(False, f"say which question: {ids}", "refused"))
            target = open_qs[0] if open_qs else qs[0]
        else:
            found = [s for s in qs if s.id == question]
            if not found:
                return self._record({"answer": value, "question": question},
                                    ActionResult(False, f"no question {question!r} (questions: {', '.join(s.id for s in qs)})", "refused"))
            target = found[0]
        action = {"answer": value, "question": target.id}
        if target.status != PENDING:
            return self._record(action, ActionResult(False, f"{target.id} is {target.status} already", "refused"))
        if self.finished:
            return self._record(action, ActionResult(False, "the lab has ended", "refused"))
        o = target.objective
        right = o.answer if o.answer is not None else read_metric(self.host, o.answer_from)
        tol = max(o.tolerance, abs(right) * o.tolerance_pct / 100.0, 0.005)
        target.tries += 1
        t = self.elapsed_s
        if abs(value - right) <= tol:
            target.decide(MET, t, f"answered {_fmt(value)}: right (the model says {_fmt(right)})")
            ok = True
        elif target.tries >= o.attempts:
            target.decide(FAILED, t, f"answered {_fmt(value)}: wrong; no tries left (the model says {_fmt(right)})")
            ok = False
        else:
            left = o.attempts - target.tries
            target.progress = f"answered {_fmt(value)}: not right; {left} tr{'ies' if left != 1 else 'y'} left"
            ok = False
        self._pending = [s for s in self._pending if s.status == PENDING]
        if not self._pending and not self.finished:
            self.finished = True
        return self._record(action, ActionResult(True, target.progress, "answer", correct=ok))

    def apply(self, action: dict) -> ActionResult:
        """Apply one learner action: {"vm": NAME, "set": {...}} (VM settings, power included),
        {"set": {"Mem.IdleTax": 0}} (advanced settings), {"vm": NAME, "power": "off"},
        {"vm": NAME, "workload": {...}} (only where the lab allows it), {"answer": 123.4,
        "question": ID}, {"hint": true}. A change that the model refuses changes nothing and is
        not counted; the result says why."""
        if not isinstance(action, dict):
            return ActionResult(False, "an action is a table", "refused")
        unknown = set(action) - set(ACTION_KEYS)
        if unknown:
            return self._record(action, ActionResult(False, f"unknown action key(s): {', '.join(sorted(unknown))}", "refused"))
        if action.get("hint"):
            h = self.hint()
            return self._record(action, ActionResult(h is not None, h or "no more hints", "hint"))
        if "answer" in action:
            value = action["answer"]
            if isinstance(value, bool) or not isinstance(value, int | float):
                return self._record(action, ActionResult(False, "an answer is a number", "refused"))
            return self.answer(float(value), action.get("question"))
        if self.finished:
            return self._record(action, ActionResult(False, "the lab has ended", "refused"))
        change = {k: action[k] for k in ("vm", "set", "power", "workload") if k in action}
        vm = change.get("vm")
        was_on = vm is not None and any(v.name == vm and v.power == "on" for v in self.host.vms)
        try:
            what = apply_change(self.host, change, self.lab.allow_workload)
        except ChangeRefused as exc:
            return self._record(action, ActionResult(False, str(exc), "refused"))
        if was_on and not any(v.name == vm and v.power == "on" for v in self.host.vms):
            self._powered_off(vm)
        self.changes += 1
        for s in self._pending:
            o = s.objective
            if o.kind == KIND_MAX_CHANGES:
                if self.changes > o.max_changes:
                    s.decide(FAILED, self.elapsed_s, f"{self.changes} changes made; at most {o.max_changes} allowed")
                else:
                    s.progress = f"{self.changes} of {o.max_changes} changes used"
        self._pending = [s for s in self._pending if s.status == PENDING]
        self._reader.reset()
        return self._record(action, ActionResult(True, f"changed {what}", "change"))

    def _powered_off(self, vm: str) -> None:
        t = self.elapsed_s
        self.power_offs.append((t, vm))
        for s in self._pending:
            o = s.objective
            if o.kind == KIND_NO_POWER_OFF and (not o.vms or vm in o.vms):
                s.decide(FAILED, t, f"{vm} was powered off at {format_clock(t)}")

    def _record(self, action: dict, result: ActionResult) -> ActionResult:
        self.actions.append((self.elapsed_s, dict(action), result))
        return result


# --------------------------------------------------------------------------------------------
# Actions files (memtui lab check)


@dataclass(frozen=True)
class TimedAction:
    at_s: int
    action: dict
    line: int | None = None


def parse_actions(text: str, path: str, lab: Lab) -> list[TimedAction]:
    """An actions file: [[action]] tables with at = a time and the vocabulary of profile events
    (vm, set, workload) plus power, answer (with question) and hint. Raises LabError."""
    from memtui.profile import _Checker  # the profile's own checks for event values

    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LabError([ProfileProblem(path, None, "", f"not valid TOML: {exc}")]) from None
    index = LineIndex(text)
    problems: list[ProfileProblem] = []

    def report(p: tuple, message: str) -> None:
        problems.append(_lab_problem(path, index, p, message))

    for key in data:
        if key != "action":
            report((key,), f'unknown key "{key}" (an actions file holds [[action]] tables)')
    raw = data.get("action", [])
    if not isinstance(raw, list):
        report(("action",), "must be an array of tables, one [[action]] per action")
        raw = []
    names = {vm.name for vm in lab.profile.vms}
    questions = {o.id for o in lab.questions}
    version = lab.profile.host.esx_version
    out: list[TimedAction] = []
    for j, t in enumerate(raw):
        p = ("action", j)
        if not isinstance(t, dict):
            report(p, "must be a table")
            continue
        for key in t:
            if key not in ACTION_KEYS:
                close = suggest(key, ACTION_KEYS)
                hint = f'; did you mean "{close}"?' if close else ""
                report(p + (key,), f'unknown key "{key}"{hint} (allowed keys: {", ".join(ACTION_KEYS)})')
        if "at" not in t:
            report(p + ("at",), 'missing: when to act, e.g. at = "2m"')
            continue
        try:
            at = parse_duration(t["at"])
        except ValueError as exc:
            report(p + ("at",), str(exc))
            continue
        if at > lab.duration_s:
            report(p + ("at",), f"is after the end of the lab ({format_duration(lab.duration_s)})")
            continue
        line = index.line_of(p)
        if t.get("hint") is True and len(t) == 2:
            out.append(TimedAction(at, {"hint": True}, line))
            continue
        if "hint" in t:
            report(p + ("hint",), "a hint action is just at = a time and hint = true")
            continue
        if "answer" in t:
            value = t["answer"]
            if isinstance(value, bool) or not isinstance(value, int | float):
                report(p + ("answer",), f"must be a number, not {value!r}")
                continue
            q = t.get("question")
            if q is not None and q not in questions:
                report(p + ("question",), f"no question {q!r} in this lab (questions: {', '.join(sorted(questions)) or 'none'})")
                continue
            if set(t) - {"at", "answer", "question"}:
                report(p, "an answer action holds at, answer and question only")
                continue
            act = {"answer": float(value)}
            if q is not None:
                act["question"] = q
            out.append(TimedAction(at, act, line))
            continue
        event_table = {k: t[k] for k in ("at", "vm", "set", "workload") if k in t}
        if "power" in t:
            if "vm" not in t:
                report(p + ("power",), 'a power action needs vm = "NAME"')
                continue
            if t["power"] not in ("on", "off"):
                report(p + ("power",), f'must be "on" or "off", not {t["power"]!r}')
                continue
            event_table["set"] = {**(t.get("set") or {}), "power": t["power"]}
        checker = _Checker(path, index)
        event = checker.event(p, event_table, version, names)
        problems.extend(checker.problems)
        if event is None:
            continue
        act: dict[str, Any] = {}
        if event.vm is not None:
            act["vm"] = event.vm
        if event.set:
            act["set"] = dict(event.set)
        if event.workload:
            act["workload"] = dict(event.workload)
        out.append(TimedAction(at, act, line))
    if problems:
        problems.sort(key=lambda q: math.inf if q.line is None else q.line)
        raise LabError(problems)
    return sorted(out, key=lambda a: a.at_s)


def load_actions(path: str | os.PathLike[str], lab: Lab) -> list[TimedAction]:
    name = os.fspath(path)
    try:
        text = Path(name).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise LabError([ProfileProblem(name, None, "", "not UTF-8 text")]) from None
    return parse_actions(text, name, lab)


def play(lab: Lab, actions: Iterable[TimedAction],
         on_action: Callable[[TimedAction, ActionResult], None] | None = None) -> LabSession:
    """Run the lab headlessly, applying each action when the simulated clock reaches its time
    (before the step that starts at that moment); returns the ended session."""
    session = LabSession(lab)
    queue = sorted(actions, key=lambda a: a.at_s)
    k = 0
    while True:
        while k < len(queue) and queue[k].at_s <= session.elapsed_s:
            res = session.apply(queue[k].action)
            if on_action:
                on_action(queue[k], res)
            k += 1
        if session.finished:
            break
        session.host.step()
        session.observe()
    return session


# --------------------------------------------------------------------------------------------
# Progress and results, per user


@dataclass
class LabProgress:
    name: str
    status: str = "new"  # new | started | passed | failed
    attempts: int = 0
    best: dict | None = None
    last: dict | None = None


def _result_record(result: LabResult) -> dict:
    return {
        "passed": result.passed,
        "objectives_met": result.passed_count,
        "objectives": result.total,
        "changes": result.changes,
        "hints": result.hints_used,
        "elapsed_s": int(round(result.elapsed_s)),
        "ended_early": result.ended_early,
        "finished": _dt.datetime.now(_dt.UTC).replace(microsecond=0),
        "status": {oid: status for oid, _, status, _ in result.objectives},
    }


def _better(a: dict, b: dict | None) -> bool:
    """Whether result record a beats b: passed, then more met, then fewer hints and changes."""
    if b is None:
        return True

    def key(r: dict) -> tuple:
        return (bool(r.get("passed")), r.get("objectives_met", 0), -r.get("hints", 0), -r.get("changes", 0))

    return key(a) > key(b)


class ProgressStore:
    """Each lab's status, attempts, best and last result, kept in a TOML file (atomic writes).

    An unreadable file is moved aside (to NAME.bad) on the next save, never silently lost;
    `problem` says what was wrong with it."""

    def __init__(self, path: str | os.PathLike[str] | None = None):
        self.path = Path(path) if path is not None else paths.lab_progress_path()
        self.problem: str | None = None
        self._doc = self._read()

    def _read(self) -> tomlkit.TOMLDocument:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return tomlkit.document()
        except (OSError, UnicodeDecodeError) as exc:
            self.problem = f"cannot read {self.path}: {exc}"
            return tomlkit.document()
        try:
            tomllib.loads(text)
            return tomlkit.parse(text)
        except Exception as exc:
            self.problem = f"{self.path} is not valid TOML ({exc}); it will be kept as {self.path.name}.bad"
            return tomlkit.document()

    def _labs(self) -> Any:
        if "lab" not in self._doc or not isinstance(self._doc["lab"], dict):
            self._doc["lab"] = tomlkit.table(is_super_table=True)
        return self._doc["lab"]

    def get(self, name: str) -> LabProgress:
        t = self._doc.get("lab", {}).get(name) if isinstance(self._doc.get("lab"), dict) else None
        if not isinstance(t, dict):
            return LabProgress(name)
        plain = json.loads(json.dumps(t, default=str))
        return LabProgress(name, status=plain.get("status", "new"), attempts=int(plain.get("attempts", 0)),
                           best=plain.get("best"), last=plain.get("last"))

    def all(self) -> dict[str, LabProgress]:
        labs = self._doc.get("lab")
        return {n: self.get(n) for n in labs} if isinstance(labs, dict) else {}

    def _entry(self, name: str) -> Any:
        labs = self._labs()
        if name not in labs:
            labs[name] = tomlkit.table()
        return labs[name]

    def record_start(self, lab: Lab) -> None:
        e = self._entry(lab.name)
        e["title"] = lab.title
        e["attempts"] = int(e.get("attempts", 0)) + 1
        if e.get("status") not in ("passed",):
            e["status"] = "started"
        e["last_started"] = _dt.datetime.now(_dt.UTC).replace(microsecond=0)
        self.save()

    def record_result(self, result: LabResult) -> None:
        e = self._entry(result.lab)
        e["title"] = result.title
        rec = _result_record(result)
        if e.get("status") != "passed":
            e["status"] = "passed" if result.passed else "failed"
        old_best = json.loads(json.dumps(e["best"], default=str)) if "best" in e else None
        e["last"] = rec
        if _better(rec, old_best):
            e["best"] = rec
        self.save()

    def reset(self, name: str) -> None:
        labs = self._doc.get("lab")
        if isinstance(labs, dict) and name in labs:
            del labs[name]
            self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.problem and self.path.exists():
            with contextlib.suppress(OSError):
                os.replace(self.path, self.path.with_name(self.path.name + ".bad"))
            self.problem = None
        text = tomlkit.dumps(self._doc)
        if not text.startswith("#"):
            text = "# memtui lab progress: written by memtui, safe to delete\n" + text
            self._doc = tomlkit.parse(text)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


# --------------------------------------------------------------------------------------------
# memtui lab ...


def _print_problems(exc: ProfileError) -> None:
    for p in exc.problems:
        print(str(p), file=sys.stderr)


def _load_for_cli(name: str, keep_document: bool = False) -> Lab | None:
    try:
        return load_lab(name, keep_document=keep_document)
    except LookupError as exc:
        print(f"memtui lab: {exc.args[0]}", file=sys.stderr)
    except LabError as exc:
        _print_problems(exc)
    except OSError as exc:
        print(f"memtui lab: cannot read {name}: {exc.strerror or exc}", file=sys.stderr)
    return None


def describe_lab(lab: Lab) -> list[str]:
    """The briefing page: title, level, duration, briefing, objectives, hints available."""
    lines = [f"{lab.title}  [{lab.name}, level {lab.level}: {lab.level_words}, {format_duration(lab.duration_s)} simulated]",
             ""]
    lines += lab.briefing.splitlines()
    lines += ["", "Objectives:"]
    lines += [f"  - {o.text}" for o in lab.objectives]
    if lab.hints:
        lines += ["", f"{len(lab.hints)} hint{'s' if len(lab.hints) != 1 else ''} available on request."]
    return lines


def _cmd_list(args) -> int:
    store = ProgressStore()
    labs = list_labs()
    progress = store.all()
    width = max((len(lab.name) for lab in labs), default=4)
    for lab in labs:
        p = progress.get(lab.name)
        status = p.status if p else "new"
        print(f"{lab.name:<{width}}  {lab.level}  {status:<7}  {lab.title}")
    if store.problem:
        print(f"memtui lab: {store.problem}", file=sys.stderr)
    return 0


def _cmd_show(args) -> int:
    lab = _load_for_cli(args.name)
    if lab is None:
        return 2
    print("\n".join(describe_lab(lab)))
    return 0


# The terminal UI's entry point for a lab, "module:function" taking the Lab and returning an exit
# status; imported only by `memtui lab start`, never by the rest of this module.
LAB_UI_ENTRY = "memtui.ui.app:run_lab"


def _cmd_start(args) -> int:
    lab = _load_for_cli(args.name, keep_document=True)  # the terminal UI may save it
    if lab is None:
        return 2
    ProgressStore().record_start(lab)
    if not args.print and not (sys.stdin.isatty() and sys.stdout.isatty()):
        args.print = True  # no terminal for the UI: print the briefing
    if not args.print:
        module, _, func = LAB_UI_ENTRY.partition(":")
        try:
            import importlib

            entry = getattr(importlib.import_module(module), func)
        except (ImportError, AttributeError):
            entry = None
        if entry is not None:
            return int(entry(lab) or 0)
    print("\n".join(describe_lab(lab)))
    if not args.print:
        print(f"\n(the terminal UI cannot run labs here; try: memtui lab check {lab.name} --actions FILE)")
    return 0


def action_mark(res: ActionResult) -> str:
    """How `memtui lab check` marks an action: "ok", "WRONG" (an answer taken but not right),
    or "REFUSED" (nothing changed)."""
    if not res.ok:
        return "REFUSED"
    if res.correct is False:
        return "WRONG"
    return "ok"


def _cmd_check(args) -> int:
    lab = _load_for_cli(args.name)
    if lab is None:
        return 2
    actions: list[TimedAction] = []
    if args.actions:
        try:
            actions = load_actions(args.actions, lab)
        except LabError as exc:
            _print_problems(exc)
            return 2
        except OSError as exc:
            print(f"memtui lab: cannot read {args.actions}: {exc.strerror or exc}", file=sys.stderr)
            return 2
    # With --json, standard output is the one JSON object; the action lines go to stderr.
    out = sys.stderr if args.json else sys.stdout
    played: list[dict[str, Any]] = []

    def said(a: TimedAction, res: ActionResult) -> None:
        mark = action_mark(res)
        played.append({"at_s": a.at_s, "result": mark, "kind": res.kind, "message": res.message})
        if not args.quiet:
            print(f"{format_clock(a.at_s)}  {mark}: {res.message}", file=out)

    session = play(lab, actions, said)
    result = session.result()
    if args.json:
        print(json.dumps({
            "lab": result.lab, "passed": result.passed, "changes": result.changes,
            "hints": result.hints_used, "elapsed_s": result.elapsed_s,
            "objectives": [{"id": i, "text": t, "status": s, "detail": d} for i, t, s, d in result.objectives],
            "actions": played,
        }))
    else:
        print(f"{lab.title} ({lab.name})")
        for oid, text, status, detail in result.objectives:
            word = {MET: "PASS", FAILED: "FAIL"}.get(status, status.upper())
            print(f"  {word}  {oid}: {text}")
            if detail:
                print(f"        {detail}")
        print(result.summary())
    return 0 if result.passed else 1


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="memtui lab", description="Guided labs on a simulated ESX host.")
    sub = p.add_subparsers(dest="command", metavar="{list,show,start,check}")
    sub.add_parser("list", help="the bundled labs and your progress")
    s = sub.add_parser("show", help="a lab's briefing and objectives")
    s.add_argument("name", help="a bundled lab's name or a lab file")
    s = sub.add_parser("start", help="start a lab in the terminal UI")
    s.add_argument("name", help="a bundled lab's name or a lab file")
    s.add_argument("--print", action="store_true", help="print the briefing instead of opening the UI")
    s = sub.add_parser("check", help="play a file of timed actions against a lab and print the result")
    s.add_argument("name", help="a bundled lab's name or a lab file")
    s.add_argument("--actions", help="TOML file of [[action]] tables (none: the lab runs untouched)")
    s.add_argument("--quiet", action="store_true", help="do not print each action as it is applied")
    s.add_argument("--json", action="store_true", help="print the result as one JSON object")
    return p


def lab_main(argv: list[str]) -> int:
    """`memtui lab ...`: 0 success (check: every objective met), 1 check failed, 2 bad input."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 2
    commands = {"list": _cmd_list, "show": _cmd_show, "start": _cmd_start, "check": _cmd_check}
    if args.command is None:
        parser.print_usage(sys.stderr)
        return 2
    return commands[args.command](args)


__all__ = [
    "Lab", "Objective", "MetricRef", "LabSession", "LabResult", "ObjectiveStatus", "ActionResult",
    "LabError", "TimedAction", "ProgressStore", "LabProgress", "load_lab", "parse_lab", "list_labs",
    "find_lab", "parse_actions", "load_actions", "play", "read_metric", "describe_lab", "lab_main",
    "PENDING", "MET", "FAILED",
]
