"""Objectives: their kinds, their words, and how each one is decided while a lab runs.

An `Objective` is one `[[lab.objective]]` as checked (docs/labs.md); an `ObjectiveStatus` is its
live state in a run. The functions below decide an objective from what the session tells them:
the moment, the host's state, a `MetricReader` on the host, the changes made, a power-off, an
answer. They never touch the host; `memtui.practice.session` calls them.

The module imports no UI toolkit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from memtui.config import format_clock, format_duration
from memtui.practice.figures import MetricReader, MetricRef, figure_unit, format_figure

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


# --------------------------------------------------------------------------------------------
# Words


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


def with_text(o: Objective, text: str | None) -> Objective:
    """The objective with its text: the lab's own words, or words made from its definition."""
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
# Deciding, live


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


def initial_progress(o: Objective) -> str:
    """What the learner reads beside the objective before anything is decided."""
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


def observe(s: ObjectiveStatus, t: float, state: str, reader: MetricReader, end_s: float) -> None:
    """A moment of the run: `t` seconds into a lab of `end_s`, the host in `state`, its figures
    read through `reader`. Only state and metric objectives watch the host."""
    kind = s.objective.kind
    if kind == KIND_STATE:
        observe_state(s, t, state, end_s)
    elif kind == KIND_METRIC:
        observe_metric(s, t, reader, end_s)


def observe_state(s: ObjectiveStatus, t: float, state: str, end_s: float) -> None:
    o = s.objective
    before = o.before_s if o.before_s is not None else end_s
    if t < o.after_s:
        return
    if t > before:
        s.decide(FAILED, t, f"not {format_duration(o.for_s)} in a row before {format_clock(before)} "
                           f"(longest {format_duration(s.best_run_s)})")
        return
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


def compare(o: Objective, reader: MetricReader) -> tuple[bool, str]:
    """Whether the objective's comparison holds now, and the figures in words."""
    target = reader.value(o.value_ref) if o.value_ref else float(o.value)
    bad: list[str] = []
    shown: list[str] = []
    unit = figure_unit(o.subject.metric)
    for who, v in reader.values(o.subject):
        ok = OPS[o.op](v, target)
        label = f"{who} {format_figure(v)}{unit}" if who else f"{format_figure(v)}{unit}"
        shown.append(label)
        if not ok:
            bad.append(label)
    limit = f"{o.op} {format_figure(target)}{unit}"
    if bad:
        return False, f"{', '.join(bad)} (needs {limit})"
    return True, f"{', '.join(shown[:4])}{' ...' if len(shown) > 4 else ''} ({limit})"


def observe_average(s: ObjectiveStatus, t: float, reader: MetricReader, end_s: float) -> None:
    """during = "average": sum the figure each second of the window; decide at its end."""
    o = s.objective
    before = o.before_s if o.before_s is not None else end_s
    if t < o.after_s:
        return
    if t <= before:
        if s.sums is None:
            s.sums = {}
        for who, v in reader.values(o.subject):
            s.sums[who] = s.sums.get(who, 0.0) + v
        s.samples += 1
    means = {who: total / s.samples for who, total in (s.sums or {}).items()} if s.samples else {}
    target = reader.value(o.value_ref) if o.value_ref else float(o.value)
    unit = figure_unit(o.subject.metric)
    limit = f"{o.op} {format_figure(target)}{unit}"
    shown = [f"{who} {format_figure(m)}{unit}" if who else f"{format_figure(m)}{unit}"
             for who, m in means.items()]
    bad = [f"{who} {format_figure(m)}{unit}" if who else f"{format_figure(m)}{unit}"
           for who, m in means.items() if not OPS[o.op](m, target)]
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


def observe_metric(s: ObjectiveStatus, t: float, reader: MetricReader, end_s: float) -> None:
    o = s.objective
    if o.during == DURING_AVERAGE:
        observe_average(s, t, reader, end_s)
        return
    if o.during == DURING_END:
        if t >= end_s:
            ok, words = compare(o, reader)
            s.decide(MET if ok else FAILED, t, f"at the end: {words}")
        else:
            s.progress = f"checked when the lab ends; now {compare(o, reader)[1]}"
        return
    if o.during == DURING_AT:
        if t >= o.at_s:
            ok, words = compare(o, reader)
            s.decide(MET if ok else FAILED, t, f"at {format_clock(t)}: {words}")
        return
    before = o.before_s if o.before_s is not None else end_s
    if t < o.after_s:
        return
    if t > before:
        if o.during == DURING_EVENTUALLY:
            s.decide(FAILED, t, f"not reached by {format_clock(before)}")
        else:
            s.decide(MET, t, f"held from {format_clock(o.after_s)} to {format_clock(before)}")
        return
    ok, words = compare(o, reader)
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


def count_change(s: ObjectiveStatus, changes: int, t: float) -> None:
    """The learner has made `changes` changes so far (max_changes objectives count them)."""
    o = s.objective
    if o.kind != KIND_MAX_CHANGES:
        return
    if changes > o.max_changes:
        s.decide(FAILED, t, f"{changes} changes made; at most {o.max_changes} allowed")
    else:
        s.progress = f"{changes} of {o.max_changes} changes used"


def see_power_off(s: ObjectiveStatus, vm: str, t: float) -> None:
    """The learner powered `vm` off at `t` (no_power_off objectives fail on it)."""
    o = s.objective
    if o.kind == KIND_NO_POWER_OFF and (not o.vms or vm in o.vms):
        s.decide(FAILED, t, f"{vm} was powered off at {format_clock(t)}")


def take_answer(s: ObjectiveStatus, value: float, right: float, t: float) -> bool:
    """One try at a question whose right answer is `right`: whether it is right (within the
    tolerance); a wrong one uses a try, the last try fails the objective."""
    o = s.objective
    tol = max(o.tolerance, abs(right) * o.tolerance_pct / 100.0, 0.005)
    s.tries += 1
    if abs(value - right) <= tol:
        s.decide(MET, t, f"answered {format_figure(value)}: right (the model says {format_figure(right)})")
        return True
    if s.tries >= o.attempts:
        s.decide(FAILED, t, f"answered {format_figure(value)}: wrong; no tries left (the model says "
                            f"{format_figure(right)})")
        return False
    left = o.attempts - s.tries
    s.progress = f"answered {format_figure(value)}: not right; {left} tr{'ies' if left != 1 else 'y'} left"
    return False


def decide_at_end(s: ObjectiveStatus, t: float, changes: int, early: bool = False) -> None:
    """The lab ends at `t` (`early`: the learner ended it) with the objective still pending."""
    o = s.objective
    if early:
        s.decide(FAILED, t, "not decided before the lab was ended")
    elif o.kind == KIND_NO_POWER_OFF:
        s.decide(MET, t, "no VM was powered off")
    elif o.kind == KIND_MAX_CHANGES:
        s.decide(MET, t, f"{changes} of {o.max_changes} changes used")
    elif o.kind == KIND_ANSWER:
        s.decide(FAILED, t, f"not answered right ({s.tries} tr{'ies' if s.tries != 1 else 'y'})"
                 if s.tries else "not answered")
    elif o.kind == KIND_METRIC and o.during == DURING_THROUGHOUT:
        s.decide(MET, t, f"held from {format_clock(o.after_s)} to the end")
    else:
        s.decide(FAILED, t, f"not met by the end ({s.progress})" if s.progress else "not met by the end")
