"""A lab file: a host profile plus a `[lab]` table, read and checked (docs/labs.md).

`parse_lab` checks the `[lab]` table the way the profile checker checks a profile, collecting
every problem with its file, line and key, and returns a `Lab`; `load_lab` finds a bundled lab
by name (or a lab file by path) and reads it; `list_labs` lists the bundled ones.

The module imports no UI toolkit.
"""

from __future__ import annotations

import difflib
import math
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit

from memtui import paths, spec
from memtui.config import Profile, format_duration, parse_duration
from memtui.practice.figures import ALL_VMS, HOST_METRICS, VM_METRICS, MetricRef
from memtui.practice.objectives import (
    DURING_AT,
    DURING_AVERAGE,
    DURING_EVENTUALLY,
    DURING_THROUGHOUT,
    DURINGS,
    KIND_ANSWER,
    KIND_MAX_CHANGES,
    KIND_METRIC,
    KIND_NO_POWER_OFF,
    KIND_STATE,
    KINDS,
    OPS,
    Objective,
    with_text,
)
from memtui.profile import (
    LineIndex,
    ProfileError,
    ProfileProblem,
    format_key_path,
    parse_profile,
    suggest,
)

LAB_FORMAT = 1

LAB_KEYS = ("title", "level", "order", "duration", "briefing", "hints", "allow_workload",
            "objective")
OBJECTIVE_KEYS = ("id", "kind", "text", "state", "for", "after", "before", "at", "vm", "metric",
                  "op", "value", "during", "vms", "max", "question", "answer", "answer_from",
                  "tolerance", "tolerance_pct", "attempts")
LEVEL_WORDS = {1: "first steps", 2: "basic", 3: "intermediate", 4: "advanced", 5: "hard"}


class LabError(ProfileError):
    """A lab (or an actions file) was refused; `problems` lists every reason."""


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


def lab_problem(file: str, index: LineIndex, path: tuple, message: str) -> ProfileProblem:
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
        self.problems.append(lab_problem(self.file, self.index, path, message))

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
        return with_text(obj, text)


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
