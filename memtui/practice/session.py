"""A lab run live: `LabSession` watches a host after every simulated second and counts the
learner's changes, hints and answers; `LabResult` is the outcome.

The session is cheap per step: each observation reads a few figures straight from the host's
arrays (`memtui.practice.figures.MetricReader`) and hands them to the objectives' own rules
(`memtui.practice.objectives`).

The module imports no UI toolkit.
"""

from __future__ import annotations

from dataclasses import dataclass

from memtui import spec
from memtui.config import format_clock
from memtui.practice import objectives
from memtui.practice.figures import MetricReader, read_metric
from memtui.practice.labfile import Lab
from memtui.practice.objectives import (
    KIND_ANSWER,
    MET,
    PENDING,
    ObjectiveStatus,
)
from memtui.practice.whatif import ChangeRefused, apply_change

ACTION_KEYS = ("at", "vm", "set", "workload", "power", "answer", "question", "hint")


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
            s.progress = objectives.initial_progress(s.objective)
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
        self._last_t = t
        self._reader.reset()
        end = self.lab.duration_s
        state = self.host.state
        for s in self._pending:
            objectives.observe(s, t, state, self._reader, end)
        self._pending = [s for s in self._pending if s.status == PENDING]
        if t >= end:
            self._finish(t)
        elif not self._pending:
            self.finished = True
            self.ended_early = False

    def _finish(self, t: float, early: bool = False) -> None:
        for s in self.statuses:
            if s.status == PENDING:
                objectives.decide_at_end(s, t, self.changes, early)
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
        ok = objectives.take_answer(target, value, right, self.elapsed_s)
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
            objectives.count_change(s, self.changes, self.elapsed_s)
        self._pending = [s for s in self._pending if s.status == PENDING]
        self._reader.reset()
        return self._record(action, ActionResult(True, f"changed {what}", "change"))

    def _powered_off(self, vm: str) -> None:
        t = self.elapsed_s
        self.power_offs.append((t, vm))
        for s in self._pending:
            objectives.see_power_off(s, vm, t)

    def _record(self, action: dict, result: ActionResult) -> ActionResult:
        self.actions.append((self.elapsed_s, dict(action), result))
        return result


