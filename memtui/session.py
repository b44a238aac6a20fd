"""The host a person is administering, and what is kept around it: the terminal UI's session
and `memtui serve`'s.

A `Session` owns the model (`Host`), the profile it came from (for saving with the user's
comments), the history of snapshots for charts, the cursor into the model's event log, the
simulation clock's speed, and whether there are unsaved changes. Every change a person makes goes
through here, so that read-only mode and unsaved-change tracking hold everywhere, and so
that a running lab (`memtui.practice.session.LabSession`) sees and counts each one.

This module imports no UI toolkit: tests drive it directly, and the vSphere endpoint uses it
without the UI.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from memtui import paths

if TYPE_CHECKING:  # the model (numpy) and its figures are loaded after the first frame
    from memtui.config import Profile, VMConfig
    from memtui.metrics import LogEvent, Snapshot
    from memtui.model import Host
    from memtui.practice.session import LabSession

# Simulated seconds per wall second the clock offers: real time to an hour a second.
SPEEDS_X = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
# Model time the clock may spend in one tick before it hands the event loop back, so that a key
# press is answered promptly even when the model cannot keep up with the chosen speed.
STEP_BUDGET_S = 0.020
# Longest pause between two clock ticks.
MAX_TICK_S = 0.1
MIN_TICK_S = 0.02


class ReadOnlyError(Exception):
    """A change was asked for in read-only mode."""


class Refused(ValueError):
    """A running lab refused a change (the model's own refusal, or the lab's rules); nothing
    changed. The message says why, in the words the learner reads."""


NOT_IN_LAB = "a lab keeps its VMs: adding, cloning or deleting one is not part of the lab"


@dataclass
class ClockReport:
    """What one clock tick did."""

    steps: int
    model_s: float  # wall time spent in the model
    behind: bool  # the model could not keep up with the chosen speed


class Session:
    """One host being administered. `revision` bumps on every change a person makes."""

    def __init__(self, host: Host, profile: Profile, *, readonly: bool = False,
                 restricted: bool = False, history_length: int = 600,
                 lab: LabSession | None = None):
        """`lab`: a `memtui.practice.session.LabSession` on `host`; while it runs, every change goes
        through it and it observes every step."""
        from memtui.history import History

        self.host = host
        self.lab = lab
        self.lab_recorded = False  # the ended lab's result has been kept
        self.profile = profile
        self.readonly = readonly
        self.restricted = restricted
        self.history = History(history_length)
        self.log_read = 0  # events logged while the profile loaded are shown too
        self.speed_x: float = 1.0
        self.running = False
        self.user_changes = 0  # changes since the last save or load
        self.untitled = profile.path is None
        self._debt_steps = 0.0
        self._last_tick: float | None = None
        self.achieved_x = 0.0  # measured simulated seconds per wall second
        self.model_s_total = 0.0  # wall time spent stepping the model
        self.model_cpu_s_total = 0.0  # CPU time spent stepping the model

    # ---------------------------------------------------------------- building

    @classmethod
    def from_profile(cls, profile: Profile, **kw) -> Session:
        from memtui.model import Host

        return cls(Host.from_profile(profile), profile, **kw)

    # ---------------------------------------------------------------- what is shown

    @property
    def dirty(self) -> bool:
        """Unsaved changes: made by the person, or a profile that was never saved. A lab's
        changes are the exercise, not edits of a profile: they are never "unsaved"."""
        if self.lab is not None:
            return False
        return self.user_changes > 0 or (self.untitled and not self.readonly)

    @property
    def lab_running(self) -> bool:
        return self.lab is not None and not self.lab.finished

    @property
    def path(self) -> str | None:
        return self.profile.path

    @property
    def title(self) -> str:
        if self.lab is not None:
            return f"lab {self.lab.lab.name}"
        return Path(self.profile.path).name if self.profile.path else "untitled"

    def is_bundled(self) -> bool:
        """The profile is one memtui ships (saving it means saving a copy of one's own)."""
        if not self.profile.path:
            return False
        try:
            here = Path(self.profile.path).resolve()
            return here.parent in (paths.bundled_profiles_dir().resolve(),
                                   paths.bundled_labs_dir().resolve())
        except OSError:
            return False

    def snapshot(self) -> Snapshot:
        snap = self.host.snapshot()
        self.history.add(snap)
        return snap

    def new_events(self) -> list[LogEvent]:
        events = self.host.log[self.log_read:]
        self.log_read = len(self.host.log)
        return events

    # ---------------------------------------------------------------- the clock

    def set_speed(self, speed_x: float) -> None:
        self.speed_x = float(min(max(speed_x, SPEEDS_X[0]), SPEEDS_X[-1]))
        self._debt_steps = 0.0

    def faster(self) -> None:
        bigger = [s for s in SPEEDS_X if s > self.speed_x]
        self.set_speed(bigger[0] if bigger else SPEEDS_X[-1])

    def slower(self) -> None:
        smaller = [s for s in SPEEDS_X if s < self.speed_x]
        self.set_speed(smaller[-1] if smaller else SPEEDS_X[0])

    def set_running(self, running: bool) -> None:
        self.running = running
        self._last_tick = None
        self._debt_steps = 0.0

    def tick_delay_s(self) -> float:
        """How long the clock should wait before its next tick."""
        return max(MIN_TICK_S, min(MAX_TICK_S, 1.0 / max(self.speed_x, 1e-9)))

    def tick(self, now: float | None = None, budget_s: float = STEP_BUDGET_S) -> ClockReport:
        """Advance the model by the simulated time due since the last tick, spending at most
        `budget_s` of wall time; time the model could not catch up is dropped (and reported),
        never piled up."""
        now = time.perf_counter() if now is None else now
        if not self.running:
            self._last_tick = None
            return ClockReport(0, 0.0, False)
        if self._last_tick is None:
            self._last_tick = now
            return ClockReport(0, 0.0, False)
        wall = max(0.0, now - self._last_tick)
        self._last_tick = now
        self._debt_steps += wall * self.speed_x
        due = int(self._debt_steps)
        cpu_start = time.process_time()
        start = time.perf_counter()
        steps = 0
        host = self.host
        lab = self.lab if self.lab_running else None
        while steps < due:
            host.step()
            steps += 1
            if lab is not None:
                lab.observe()
                if lab.finished:  # the lab's time is up: stop where it ended
                    due = steps
                    break
            if time.perf_counter() - start >= budget_s:
                break
        model_s = time.perf_counter() - start
        self.model_s_total += model_s
        self.model_cpu_s_total += time.process_time() - cpu_start
        behind = steps < due
        self._debt_steps = 0.0 if behind else self._debt_steps - steps
        if wall > 0:
            rate = steps / wall
            self.achieved_x = rate if self.achieved_x == 0 else 0.8 * self.achieved_x + 0.2 * rate
        return ClockReport(steps, model_s, behind)

    def step(self, seconds: int = 1) -> None:
        """Advance `seconds` simulated seconds (a running lab stops the clock at its end)."""
        lab = self.lab if self.lab_running else None
        for _ in range(max(0, int(seconds))):
            self.host.step()
            if lab is not None:
                lab.observe()
                if lab.finished:
                    break

    # ---------------------------------------------------------------- changes

    def _check_writable(self) -> None:
        if self.readonly:
            raise ReadOnlyError("memtui is read-only (--readonly): nothing can be changed or saved")

    def _changed(self) -> None:
        self.user_changes += 1

    def _through_lab(self, action: dict) -> bool:
        """While a lab runs, hand it the change (it applies and counts it): True when it took
        it; raises Refused with the reason when it did not (then nothing changed)."""
        if not self.lab_running:
            return False
        result = self.lab.apply(action)
        if not result.ok:
            raise Refused(result.message)
        self._changed()
        return True

    def _not_in_lab(self) -> None:
        if self.lab_running:
            raise Refused(NOT_IN_LAB)

    def set_vm(self, name: str, **changes) -> None:
        self._check_writable()
        if self._through_lab({"vm": name, "set": dict(changes)}):
            return
        self.host.set_vm(name, **changes)
        self._changed()

    def set_workload(self, name: str, **changes) -> None:
        self._check_writable()
        if self._through_lab({"vm": name, "workload": dict(changes)}):
            return
        self.host.set_workload(name, **changes)
        self._changed()

    def set_advanced(self, name: str, value: int) -> None:
        self._check_writable()
        if self._through_lab({"set": {name: value}}):
            return
        self.host.set_advanced(name, value)
        self._changed()

    def power_on(self, name: str) -> None:
        self._check_writable()
        if self._through_lab({"vm": name, "power": "on"}):
            return
        try:
            self.host.power_on(name)
        finally:
            self._changed()  # a refusal is logged; the VM's power setting is unchanged either way

    def power_off(self, name: str) -> None:
        self._check_writable()
        if self._through_lab({"vm": name, "power": "off"}):
            return
        self.host.power_off(name)
        self._changed()

    def add_vm(self, vm: VMConfig) -> None:
        self._check_writable()
        self._not_in_lab()
        try:
            self.host.add_vm(vm)
        finally:
            if any(v.name == vm.name for v in self.host.vms):
                self._changed()

    def clone_vm(self, name: str, new_name: str) -> None:
        self._check_writable()
        self._not_in_lab()
        self.host.clone_vm(name, new_name)
        self._changed()

    def remove_vm(self, name: str) -> None:
        self._check_writable()
        self._not_in_lab()
        self.host.remove_vm(name)
        self._changed()

    # ---------------------------------------------------------------- labs

    def lab_allows(self, what: str) -> str | None:
        """Why a running lab refuses a kind of change ("workload", "vms"), or None."""
        if not self.lab_running:
            return None
        if what == "workload" and not self.lab.lab.allow_workload:
            return "this lab does not let you change the guest's workload"
        if what == "vms":
            return NOT_IN_LAB
        return None

    # ---------------------------------------------------------------- files

    def default_save_path(self) -> Path:
        """Where "save as" proposes to write: the profile's own file, or the user's folder."""
        if self.profile.path and not self.is_bundled() and not self.restricted:
            return Path(self.profile.path)
        stem = Path(self.profile.path).stem if self.profile.path else self.host.config.name
        return paths.user_profiles_dir() / f"{stem or 'host'}.toml"

    def resolve_save_path(self, text: str) -> Path:
        """The file a name typed into "save as" means: a bare name goes to the user's profile
        folder (and gets .toml); in restricted mode only such names are allowed."""
        text = text.strip()
        if not text:
            raise ValueError("type a file name")
        if self.restricted:
            # memtui.restricted's rules (a RestrictedError is a ValueError with the reason)
            from memtui.restricted import RestrictedPolicy

            try:
                return RestrictedPolicy.for_user().own_path(text)
            except ValueError as exc:
                raise ValueError(f"restricted mode: {exc}; profiles are saved by name in "
                                 f"{paths.user_profiles_dir()}") from None
        given = Path(os.path.expanduser(text))
        if given.parent == Path(".") and not text.startswith("."):
            given = paths.user_profiles_dir() / text
        if given.suffix != ".toml":
            given = given.with_name(given.name + ".toml")
        return given

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Save the host's settings to `path` (default: where the profile came from), keeping
        the user's comments. Raises ReadOnlyError, ValueError or OSError; on error nothing is
        lost and the changes stay unsaved."""
        from memtui.profile import save_profile

        self._check_writable()
        target = Path(path) if path is not None else (Path(self.profile.path) if self.profile.path else None)
        if target is None:
            raise ValueError("this profile has no file yet: use save as")
        if self.restricted and target.resolve().parent != paths.user_profiles_dir().resolve():
            raise ValueError(f"restricted mode: profiles are saved only in {paths.user_profiles_dir()}")
        if target.resolve().parent in (paths.bundled_profiles_dir().resolve(),
                                       paths.bundled_labs_dir().resolve()):
            raise ValueError("that is one of memtui's bundled profiles: save a copy under another name")
        target.parent.mkdir(parents=True, exist_ok=True)
        base = self.profile
        profile = self.host.to_profile(base)
        save_profile(profile, target)
        profile.path = os.fspath(target)
        self.profile = profile
        self.user_changes = 0
        self.untitled = False
        return target


def list_profiles(restricted: bool = False) -> list[tuple[str, Path]]:
    """The profiles a person can open: (where, path) for the user's own ones first, then
    memtui's bundled profiles and labs. In restricted mode the user's own are only plain files
    of their profile folder with a valid name (no link that leads elsewhere)."""
    out: list[tuple[str, Path]] = []
    mine = paths.user_profiles_dir()
    if restricted:
        from memtui.restricted import RestrictedError, RestrictedPolicy, check_name

        for p in RestrictedPolicy.for_user().own_profiles():
            try:
                check_name(p.name)
            except RestrictedError:
                continue
            out.append(("yours", p))
    elif mine.is_dir():
        out.extend(("yours", p) for p in sorted(mine.glob("*.toml")))
    out.extend(("bundled", p) for p in paths.bundled_profiles())
    try:
        labs = sorted(paths.bundled_labs_dir().glob("*.toml"))
    except OSError:
        labs = []
    out.extend(("lab", p) for p in labs)
    return out
