"""What-if: preview a change on a copy of the host before applying it to the live run.

`preview(host, change)` forks the host twice, runs one copy ahead unchanged and the other with
the change applied, and returns both projections (default 10 simulated minutes) beside the
figures of now. The live host is never touched: `Host.fork()` copies its state, its random
generator included, so the live run goes on exactly as it would have without the preview.

A change is a small table, the vocabulary of profile events and lab actions:

    {"vm": "db01", "set": {"reservation_mb": 2048}}     a VM's settings (power included)
    {"vm": "db01", "power": "on"}                       power on / off
    {"set": {"Mem.IdleTax": 0}}                         advanced settings
    {"vm": "db01", "workload": {"active_mb": 3000}}     the guest's workload

The module imports no UI toolkit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from memtui.metrics import Snapshot

DEFAULT_SECONDS = 600

# The figures a preview compares, per VM and for the host.
VM_FIGURES = ("consumed_mb", "target_mb", "balloon_mb", "swapped_mb", "zipped_mb", "throughput_pct",
              "mem_latency_pct")
# Over the whole projection, per VM (memtui.cost): the mean and the lowest relative throughput.
RUN_FIGURES = ("throughput_mean_pct", "throughput_low_pct")
HOST_FIGURES = ("state", "free_mb", "balloon_mb", "swapped_mb", "zipped_mb", "unreserved_mb")


class ChangeRefused(Exception):
    """The model refused a change (admission control, a rule, an unknown name); nothing changed."""


class PreviewCancelled(Exception):
    """`preview(..., cancelled=...)` was told to stop before it finished."""


def describe_change(change: dict) -> str:
    vm = change.get("vm")
    parts = dict(change.get("set") or {})
    if "power" in change:
        parts["power"] = change["power"]
    parts.update(change.get("workload") or {})
    what = ", ".join(f"{k} = {'unlimited' if v is None else v}" for k, v in parts.items())
    return f"{vm}: {what}" if vm else what


def apply_change(host, change: dict, allow_workload: bool = True) -> str:
    """Apply one change to `host`; returns it in words, or raises ChangeRefused (and then the
    host is unchanged)."""
    from memtui.model import AdmissionError, SettingError

    if not isinstance(change, dict):
        raise ChangeRefused("a change is a table such as {\"vm\": \"db01\", \"set\": {...}}")
    unknown = set(change) - {"vm", "set", "power", "workload"}
    if unknown:
        raise ChangeRefused(f"unknown change key(s): {', '.join(sorted(unknown))}")
    vm = change.get("vm")
    changes: dict[str, Any] = dict(change.get("set") or {})
    if "power" in change:
        changes["power"] = change["power"]
    workload = dict(change.get("workload") or {})
    if not changes and not workload:
        raise ChangeRefused("the change changes nothing")
    try:
        if vm is None:
            if workload:
                raise SettingError('a workload change needs vm = "NAME"')
            if len(changes) > 1:  # all or nothing: try them on a copy first
                trial = host.fork()
                for k, v in changes.items():
                    trial.set_advanced(k, v)
            for k, v in changes.items():
                host.set_advanced(k, v)
        else:
            host.index(vm)  # an unknown VM raises KeyError
            if workload and not allow_workload:
                raise SettingError("this lab does not let you change the guest's workload")
            if isinstance(changes.get("limit_mb"), str) and changes["limit_mb"].lower() == "unlimited":
                changes["limit_mb"] = None
            if changes and workload:  # all or nothing: try both on a copy first
                trial = host.fork()
                trial.set_vm(vm, **changes)
                trial.set_workload(vm, **workload)
            if changes:
                host.set_vm(vm, **changes)
            if workload:
                host.set_workload(vm, **workload)
    except AdmissionError as exc:
        raise ChangeRefused(str(exc)) from None
    except KeyError as exc:
        raise ChangeRefused(str(exc.args[0]) if exc.args else "no such VM") from None
    except (SettingError, TypeError, ValueError) as exc:
        raise ChangeRefused(str(exc)) from None
    return describe_change({**change, "set": changes} if vm is None else change)


@dataclass(frozen=True)
class Row:
    """One figure before and after: `who` is a VM's name, or None for the host."""

    who: str | None
    figure: str
    now: Any
    before: Any  # projected without the change
    after: Any  # projected with the change (None when the change was refused)

    @property
    def changed(self) -> bool:
        if self.after is None:
            return False
        if isinstance(self.before, float) and isinstance(self.after, float):
            return abs(self.before - self.after) >= 0.5
        return self.before != self.after


@dataclass(frozen=True)
class Preview:
    change: dict
    description: str
    seconds: int
    now: Snapshot  # the live host's figures when the preview was made
    before: Snapshot  # a copy run `seconds` ahead without the change
    after: Snapshot | None  # a copy run `seconds` ahead with the change; None when refused
    error: str | None  # why the model refused the change
    # per VM name, {RUN_FIGURES: value} over the projection without and with the change
    before_run: dict | None = None
    after_run: dict | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def rows(self) -> list[Row]:
        """Host figures first, then each VM's, in the host's VM order."""
        out = [Row(None, f, getattr(self.now.host, f), getattr(self.before.host, f),
                   getattr(self.after.host, f) if self.after else None) for f in HOST_FIGURES]
        names = [v.name for v in self.before.vms]
        if self.after:
            names += [v.name for v in self.after.vms if v.name not in names]
        for name in names:
            now = _vm(self.now, name)
            before = _vm(self.before, name)
            after = _vm(self.after, name) if self.after else None
            for f in ("power",) + VM_FIGURES:
                out.append(Row(name, f, getattr(now, f) if now else None,
                               getattr(before, f) if before else None,
                               getattr(after, f) if after else None))
            for f in RUN_FIGURES:
                out.append(Row(name, f, now.throughput_pct if now else None,
                               (self.before_run or {}).get(name, {}).get(f),
                               (self.after_run or {}).get(name, {}).get(f) if self.after else None))
        return out

    def changed_rows(self) -> list[Row]:
        return [r for r in self.rows() if r.changed]

    def lines(self) -> list[str]:
        """The preview as plain text lines (for headless use and logs)."""
        head = f"What if {self.description}? Projection {self.seconds // 60} min ahead."
        if self.error:
            return [head, f"The host would refuse it: {self.error}"]
        out = [head, f"{'':10} {'figure':14} {'now':>10} {'without':>10} {'with':>10}"]
        for r in self.rows():
            out.append(f"{(r.who or 'host'):10} {r.figure:14} {_cell(r.now):>10} {_cell(r.before):>10} "
                       f"{_cell(r.after):>10}{'  *' if r.changed else ''}")
        return out


def _vm(snap: Snapshot | None, name: str):
    if snap is None:
        return None
    for v in snap.vms:
        if v.name == name:
            return v
    return None


def _cell(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:,.0f}"
    return str(x)


def preview(host, change: dict, seconds: int = DEFAULT_SECONDS, allow_workload: bool = True,
            cancelled: Callable[[], bool] | None = None) -> Preview:
    """Run copies of `host` `seconds` ahead without and with `change`; the live host is left
    exactly as it was. `cancelled`, when given, is asked now and then (a UI's worker whose
    dialog was closed): once it says True the preview stops with PreviewCancelled."""
    from memtui import cost, spec

    steps = int(round(seconds / spec.STEP_S))

    def run(copy) -> dict:
        """Run `copy` ahead; returns per VM the mean and lowest throughput over the run."""
        total: dict[str, float] = {}
        low: dict[str, float] = {}
        count: dict[str, int] = {}
        for k in range(steps):
            if cancelled is not None and k % 30 == 0 and cancelled():
                raise PreviewCancelled()
            copy.step()
            tp = cost.averaged(copy)["throughput_pct"]
            for i, vm in enumerate(copy.vms):
                if copy.on[i]:
                    v = round(float(tp[i]), 2)
                    total[vm.name] = total.get(vm.name, 0.0) + v
                    low[vm.name] = min(low.get(vm.name, v), v)
                    count[vm.name] = count.get(vm.name, 0) + 1
        return {name: {"throughput_mean_pct": round(total[name] / count[name], 2),
                       "throughput_low_pct": low[name]} for name in count}

    now = host.snapshot()
    base = host.fork()
    before_run = run(base)
    before = base.snapshot()
    other = host.fork()
    try:
        description = apply_change(other, change, allow_workload)
    except ChangeRefused as exc:
        return Preview(dict(change) if isinstance(change, dict) else {}, describe_change(change)
                       if isinstance(change, dict) else "?", seconds, now, before, None, str(exc),
                       before_run)
    after_run = run(other)
    return Preview(dict(change), description, seconds, now, before, other.snapshot(), None,
                   before_run, after_run)


__all__ = ["preview", "Preview", "Row", "apply_change", "describe_change", "ChangeRefused",
           "PreviewCancelled", "DEFAULT_SECONDS"]
