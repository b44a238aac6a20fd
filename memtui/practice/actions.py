"""An actions file (`memtui lab check NAME --actions FILE`): a learner's run written down as
timed `[[action]]` tables, checked like a lab, and played against the lab headlessly.

The module imports no UI toolkit.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memtui.config import format_duration, parse_duration
from memtui.practice.labfile import Lab, LabError, lab_problem
from memtui.practice.session import ACTION_KEYS, ActionResult, LabSession
from memtui.profile import LineIndex, ProfileProblem, suggest


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
        problems.append(lab_problem(path, index, p, message))

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
