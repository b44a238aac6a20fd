"""memtui's terminal UI: `run()` for the command line, `MemtuiApp` for tests and embedding.

Data flows one way: the simulation clock (a one-shot timer that reschedules itself) advances
the model; at most every `refresh_s` the app takes a snapshot and hands it, with the events
logged since, to the main screen, whose panes redraw what changed. A person's changes go
through the `Session` and are followed by an immediate redraw.
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import App
from textual.binding import Binding
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from memtui import paths
from memtui.session import Session
from memtui.ui.screen import MainScreen
from memtui.ui.settings import load_settings, save_settings

if TYPE_CHECKING:  # the model (numpy) is imported after the first frame, in a worker
    from memtui.config import Profile
    from memtui.model import Host
    from memtui.practice.labfile import Lab
    from memtui.practice.progress import LabCatalog, LabProgress
    from memtui.ui.api import ApiLink

    # What a loader returns: the host, its profile, and the lab it is the host of (or None).
    Loaded = tuple[Host, Profile, Lab | None]

SELF_USAGE_INTERVAL_S = 2.0
LOAD_WORKER = "load profile"


class LoadError(Exception):
    """A profile (or lab) could not be opened; `problems` says why, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _commands_provider():
    """The command palette's provider, imported when the palette first opens."""
    from memtui.ui.commands import MemtuiCommands

    return MemtuiCommands

KEY_HELP = {  # binding id -> what the key does, in a sentence for the help screen
    "sim.pause": "run or pause the simulation clock",
    "sim.step": "advance the clock by one simulated second from what the screen shows (a running clock pauses first)",
    "sim.faster": "faster: 1x, 2x, 5x ... up to an hour of simulated time per second",
    "sim.slower": "slower, down to real time",
    "ui.delay": "how often the screen is redrawn while running (esxtop's s)",
    "ui.back": "back out: close a pane, a dialog, or clear the filter",
    "table.filter": "filter the VM list by name as you type; Enter keeps, Esc clears",
    "table.fields": "choose the VM list's columns (esxtop's f); kept in your settings",
    "table.order": "order the field groups (esxtop's o); W there writes the field file, R reads it",
    "table.sort_left": "sort by the column to the left",
    "table.sort_right": "sort by the column to the right",
    "table.invert": "invert the sort order",
    "table.sort_memsz": "sort by MEMSZ, biggest first (esxtop's M)",
    "table.sort_mctlsz": "sort by MCTLSZ, biggest first (esxtop's B)",
    "table.sort_name": "sort by name (esxtop's N)",
    "table.down": "next VM", "table.up": "previous VM", "table.top": "first VM",
    "table.bottom": "last VM", "table.page_down": "a page down", "table.page_up": "a page up",
    "table.left": "scroll the columns left (NAME stays)",
    "table.right": "scroll the columns right (NAME stays)",
    "table.select": "show the selected VM's details",
    "vm.edit": "edit the VM: memory, vCPUs, reservation, limit, shares, tools, balloon cap, sharing",
    "vm.workload": "edit the guest's workload: working set, page contents, boot time, schedule",
    "vm.power": "power the VM on (admission control applies) or off (asks first)",
    "vm.add": "add a VM", "vm.clone": "clone the VM (the clone starts powered off)",
    "vm.delete": "delete the VM (asks first)",
    "view.vm": "the selected VM: settings, overhead and its source, memory bar, history",
    "view.charts": "charts of host and VM memory over time",
    "view.map": "the memory mapping picture (Figure 3-1) for the selected VM",
    "view.log": "the event log", "view.advanced": "advanced settings (Mem.*)",
    "view.why": "why the selected VM has its target, balloon, swap and compression; why the host is in its state",
    "view.lab": "the lab: briefing, objectives and their progress, time, hints, questions, result",
    "lab.hint": "the running lab's next hint (each one used counts in the result)",
    "app.help_h": "this help, outside a lab (as in esxtop); in a running lab h is its next hint",
    "profile.save": "save the profile where it came from, keeping your comments",
    "profile.write": "write the profile to a file of your choice (save as)",
    "profile.open": "open a bundled profile or one of yours",
    "app.help": "this help", "app.palette": "the command palette (also ctrl+p)",
    "app.quit": "quit (asks when there are unsaved changes)", "app.quit_now": "quit",
    "advanced.edit": "edit the setting under the cursor (also Enter)",
    "advanced.reset": "set the setting under the cursor back to its default",
    "advanced.down": "next setting", "advanced.up": "previous setting",
}
KEY_GROUPS = {
    "sim": "simulation", "table": "VM list", "vm": "VMs", "view": "views", "profile": "profiles",
    "ui": "screen", "app": "application", "advanced": "advanced settings pane", "lab": "labs",
}


class MemtuiApp(App[int]):
    """The memtui application on one host.

    `paused=True` starts the clock stopped (tests step it with `step()`); `self_usage=False`
    hides memtui's own memory and CPU use (for snapshot tests, whose figures must not vary);
    `settings_path` overrides where the user's settings live.
    """

    TITLE = "memtui"
    CSS_PATH = [Path(__file__).with_name("app.tcss")]
    COMMANDS = App.COMMANDS | {_commands_provider}
    COMMAND_PALETTE_BINDING = "ctrl+p"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        Binding("question_mark,f1", "help", "Help", id="app.help"),
        Binding("colon", "command_palette", "Commands", id="app.palette"),
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit_now"),
    ]

    def __init__(self, host: Host | None = None, profile: Profile | None = None, *,
                 lab: Lab | None = None, load: Callable[[], Loaded] | None = None,
                 loading: str = "", lab_name: str | None = None, readonly: bool = False, theme: str | None = None,
                 restricted: bool = False, paused: bool = False, self_usage: bool = True,
                 settings_path: Path | None = None, speed_x: float | None = None,
                 api_link: ApiLink | None = None) -> None:
        """Either `host` and `profile` (and `lab` when the host is a lab's), built already; or
        `load`, called in a thread worker after the first frame (the screen says `loading`
        meanwhile), returning them or raising LoadError; `lab_name` says that what `load`
        opens is a lab (the first frame shows the lab pane)."""
        super().__init__()
        self.settings_path = settings_path
        self.settings, self._settings_problems = load_settings(settings_path)
        self.readonly = readonly
        self.restricted = restricted
        self.start_paused = paused
        self.show_self_usage = self_usage
        self.behind = False
        self._clock: Timer | None = None
        self._last_refresh = 0.0
        self._refreshed_t = -1.0
        self._refreshed_rev = -1
        self._monitor = None  # memtui's own memory and CPU use: started after the first frame
        self._theme_ready = False
        self._speed_x = speed_x
        self._load = load
        self.loading = loading or "Loading the profile..."
        self.load_problems: list[str] = []  # why `load` failed (run() prints them)
        self.lab_progress: LabProgress | None = None  # the learner's record on the open lab
        self._lab_catalog: LabCatalog | None = None
        self.opening_lab = lab_name or (lab.name if lab is not None else None)
        self.ui_s_total = 0.0  # wall time spent updating panes (the benchmark reads it)
        self.session: Session | None = None
        self.api_link = api_link  # the vSphere API endpoint (memtui --serve), or None
        if host is not None:
            if profile is None:
                raise TypeError("a host needs its profile")
            self.session = self._new_session(host, profile, lab)
        wanted = theme or self.settings.theme
        if wanted and wanted in self.available_themes:
            self.theme = wanted
        if self.settings.keys:
            self.set_keymap(dict(self.settings.keys))

    def _new_session(self, host: Host, profile: Profile, lab: Lab | None = None,
                     speed_x: float | None = None) -> Session:
        lab_session = None
        if lab is not None:
            from memtui.practice.session import LabSession

            lab_session = LabSession(lab, host)
        session = Session(host, profile, readonly=self.readonly, restricted=self.restricted,
                          lab=lab_session)
        session.set_speed(speed_x or self._speed_x or self.settings.speed_x or 1.0)
        return session

    @property
    def loaded(self) -> bool:
        return self.session is not None

    @property
    def lab_catalog(self) -> LabCatalog:
        """The bundled labs with the user's progress (the lab pane and the palette list
        them); made on first use, from a worker thread, so that nothing is read before then."""
        if self._lab_catalog is None:
            from memtui.practice.progress import LabCatalog

            self._lab_catalog = LabCatalog()
        return self._lab_catalog

    # ---------------------------------------------------------------- start and stop

    def get_default_screen(self) -> MainScreen:
        return MainScreen()

    def on_mount(self) -> None:
        # NO_COLOR: focus and on / off marks are drawn with text styles (app.tcss).
        self.set_class(self.no_color, "-no-color")
        if self.session is not None:
            self.title = f"memtui: {self.session.host.config.name}"
        if self.restricted and not self.is_headless:
            _no_suspend()

    def main_ready(self) -> None:
        """The main screen is up: show the host and start the clock, or start loading it
        once the first frame is on the screen."""
        for problem in self._settings_problems:
            self.notify(problem, severity="warning", markup=False, timeout=8)
        if self.show_self_usage:
            self.call_after_refresh(self._start_self_usage)
        self._theme_ready = True
        if self.session is None:
            self.call_after_refresh(self._start_loading)
            return
        self._session_ready()

    def _start_loading(self) -> None:
        if self._load is None:
            self.load_problems = ["memtui: nothing to open"]
            self.exit(2, return_code=2)
            return
        self.run_worker(self._load, thread=True, name=LOAD_WORKER, exit_on_error=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != LOAD_WORKER:
            return
        if event.state == WorkerState.SUCCESS:
            host, profile, lab = event.worker.result
            self.session = self._new_session(host, profile, lab)
            self.title = f"memtui: {host.config.name}"
            if lab is not None:
                self._read_lab_progress()
            try:
                self.main.session_changed()
            except LookupError:
                return
            self._session_ready()
            self.settle_memory()
        elif event.state == WorkerState.ERROR:
            error = event.worker.error
            self.load_problems = (error.problems if isinstance(error, LoadError)
                                  else [f"memtui: {error}"])
            self.exit(2, return_code=2)

    def _session_ready(self) -> None:
        """A session is there (at start, or once loaded): show it and start the clock."""
        if self.session.lab is not None and self.lab_progress is None:
            self._read_lab_progress()
        self.refresh_view()
        if self.api_link is not None:
            self.api_link.start(self)
        if not self.start_paused:
            self.set_running(True)

    def settle_memory(self) -> None:
        """Everything built so far lives as long as the app: take it out of the garbage
        collector's sight, so that its full collections stay short (with 320 VMs a full
        collection over everything takes 80 ms or more, long enough to be felt on a key)."""
        gc.collect()
        gc.freeze()

    def on_unmount(self) -> None:
        if self.api_link is not None:
            self.api_link.stop()
        gc.unfreeze()

    def watch_theme(self, theme: str) -> None:
        if getattr(self, "_theme_ready", False) and theme != self.settings.theme:
            self.settings.theme = theme
            self.save_settings()

    @property
    def main(self) -> MainScreen:
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                return screen
        raise LookupError("the main screen is not up")

    def save_settings(self) -> None:
        try:
            save_settings(self.settings, self.settings_path)
        except OSError as exc:
            self.notify(f"Could not save settings: {exc}", severity="warning", markup=False)

    # ---------------------------------------------------------------- the clock

    def set_running(self, running: bool) -> None:
        if self.session is None:
            return
        self.session.set_running(running)
        if self._clock is not None:
            self._clock.stop()
            self._clock = None
        if running:
            self.session.tick()  # start measuring from now
            self._clock = self.set_timer(self.session.tick_delay_s(), self._tick)
        self.behind = False
        if not running:
            # Paused: the screen shows exactly the state the clock stopped at (and the state
            # a running lab checks), not the last frame drawn while running.
            self.refresh_view()
        self._update_status()

    def clock_changed(self) -> None:
        """The speed changed: take it into account from the next tick."""
        if self.session.running:
            self.set_running(True)
        self._update_status()

    def _tick(self) -> None:
        self._clock = None
        session = self.session
        if not session.running:
            return
        report = session.tick()
        self.behind = report.behind
        if session.lab is not None and session.lab.finished and not session.lab_recorded:
            self.check_lab()  # the lab's time is up: the clock stops with it
            return
        now = time.perf_counter()
        host = session.host
        if now - self._last_refresh >= self.settings.refresh_s and (
                host.t != self._refreshed_t or host.revision != self._refreshed_rev):
            self.refresh_view()
        self._clock = self.set_timer(session.tick_delay_s(), self._tick)

    def step(self, seconds: int = 1) -> None:
        """Advance the model by `seconds` simulated seconds at once and redraw (a running lab
        stops the clock at its end)."""
        if self.session is None:
            return
        self.session.step(seconds)
        self.refresh_view()

    def _update_status(self) -> None:
        try:
            self.main.update_status()
        except LookupError:
            pass

    def _start_self_usage(self) -> None:
        from memtui.ui.machine import SelfMonitor

        self._monitor = SelfMonitor()
        self.set_interval(SELF_USAGE_INTERVAL_S, self._update_self_usage)
        self._update_self_usage()

    def _update_self_usage(self) -> None:
        if self._monitor is None:
            return
        usage = self._monitor.read()
        try:
            from memtui.ui.status import StatusLine

            self.main.query_one(StatusLine).update_self(usage.rss_mb, usage.cpu_pct)
        except LookupError:
            pass

    # ---------------------------------------------------------------- redraw

    def refresh_view(self) -> None:
        """Take a snapshot and show it, with the events logged since the last one."""
        try:
            main = self.main
        except LookupError:
            return
        session = self.session
        if session is None:
            return
        if session.lab is not None and session.lab.finished and not session.lab_recorded:
            self.check_lab()
        start = time.perf_counter()
        snapshot = session.snapshot()
        self._refreshed_t, self._refreshed_rev = session.host.t, session.host.revision
        events = session.new_events()
        main.show(snapshot, events)
        self._last_refresh = time.perf_counter()
        self.ui_s_total += self._last_refresh - start

    # ---------------------------------------------------------------- sessions

    def load_session(self, path: Path) -> tuple[list[str], Session | None]:
        """Read a profile into a new session, or say why it cannot be opened."""
        from memtui.model import Host
        from memtui.profile import ProfileError, load_profile

        try:
            profile = load_profile(path)
            host = Host.from_profile(profile)
        except ProfileError as exc:
            return [str(p) for p in exc.problems] or [str(exc)], None
        except OSError as exc:
            return [f"cannot read {path}: {exc.strerror or exc}"], None
        except (ValueError, KeyError) as exc:
            return [f"{path}: {exc}"], None
        return [], self._new_session(host, profile, speed_x=self.session.speed_x)

    def replace_session(self, session: Session) -> None:
        running = self.session.running
        self.set_running(False)
        self.session = session
        self.lab_progress = None
        self.title = f"memtui: {session.host.config.name}"
        main = self.main
        main.reset_panes()
        if session.lab is not None:
            self._read_lab_progress()
        main.session_changed()
        self.refresh_view()
        gc.unfreeze()  # the old session is garbage now
        self.settle_memory()
        if running:
            self.set_running(True)

    def new_from_machine(self) -> None:
        from memtui.model import Host
        from memtui.ui.machine import machine_profile

        profile = machine_profile()
        self.replace_session(self._new_session(Host.from_profile(profile), profile,
                                               speed_x=self.session.speed_x))
        h = profile.host
        self.notify(f"New host {h.name}: {h.memory_mb} MB, {h.cpu_cores} cores at {h.cpu_mhz} MHz, "
                    "no VMs yet (a adds one). Save it with W.", markup=False, timeout=10)

    # ---------------------------------------------------------------- labs

    def _read_lab_progress(self) -> None:
        from memtui.practice.progress import ProgressStore

        store = ProgressStore()
        if store.problem:
            self.notify(store.problem, severity="warning", markup=False, timeout=10)
        self.lab_progress = store.get(self.session.lab.lab.name)

    def open_lab(self, name: str, ask: bool = True) -> None:
        """Open a bundled lab by name, after asking to leave what is open (unless `ask` is
        False: asked already)."""

        def go() -> None:
            from memtui.practice.labfile import LabError, lab_files, load_lab
            from memtui.practice.progress import ProgressStore

            if self.restricted and name not in {f.stem for f in lab_files()}:
                self.notify(f"Restricted mode: labs are opened by the name of a bundled lab, "
                            f"not {name!r}.", severity="error", markup=False)
                return
            try:
                lab = load_lab(name)
            except LookupError as exc:
                self.notify(str(exc.args[0]), title="No such lab", severity="error", markup=False)
                return
            except LabError as exc:
                self.notify("\n".join(str(p) for p in exc.problems[:5]), title="The lab cannot be opened",
                            severity="error", markup=False, timeout=10)
                return
            except OSError as exc:
                self.notify(f"cannot read the lab {name}: {exc.strerror or exc}", severity="error",
                            markup=False)
                return
            store = ProgressStore()
            try:
                store.record_start(lab)
            except OSError as exc:
                self.notify(f"Your progress cannot be saved: {exc}", severity="warning", markup=False)
            session = self._new_session(lab.new_host(), lab.profile, lab, speed_x=self.session.speed_x)
            self.replace_session(session)
            self.set_running(False)  # a lab starts paused: read the briefing first
            self.main.show_view("lab")
            self.notify(f"Lab {lab.name}: {lab.title}. Read the briefing; space runs the clock.",
                        markup=False, timeout=8)

        if not ask:
            go()
            return
        self.leave_lab(lambda: self.confirm_discard(go, f"Open the lab {name}"), f"Open the lab {name}")

    def leave_lab(self, then: Callable[[], object], what: str) -> None:
        """Run `then` at once, or, while a lab runs, after asking to end it (its result is
        kept with the learner's progress)."""
        from memtui.ui.dialogs import ConfirmScreen

        session = self.session
        if session is None or not session.lab_running:
            then()
            return

        def done(choice: str | None) -> None:
            if choice == "end":
                self.end_lab()
                then()

        lab = session.lab
        self.push_screen(ConfirmScreen(
            Text(f"{what}: the lab {lab.lab.name} is still running"),
            Text(f"{what} ends the lab now, at {_clock(lab.elapsed_s)} of "
                 f"{_clock(lab.lab.duration_s)}: objectives not decided yet fail, and the result "
                 "is kept with your progress."),
            [("end", "End the lab", "error"), ("cancel", "Stay in the lab", "default")]), done)

    def end_lab(self) -> None:
        """The learner ends the lab early (gives up): record and show the result."""
        session = self.session
        if session is None or session.lab is None or session.lab.finished:
            return
        session.lab.end()
        self.check_lab()

    def check_lab(self) -> None:
        """Once the lab has ended (its time is up, every objective decided, or given up):
        stop the clock, keep the result with the learner's progress, and show it."""
        session = self.session
        if session is None or session.lab is None or not session.lab.finished or session.lab_recorded:
            return
        from memtui.practice.progress import ProgressStore

        session.lab_recorded = True
        self.set_running(False)
        result = session.lab.result()
        store = ProgressStore()
        try:
            store.record_result(result)
        except OSError as exc:
            self.notify(f"Your result cannot be saved: {exc}", severity="warning", markup=False)
        self.lab_progress = store.get(result.lab)
        self.notify(result.summary(), title=f"Lab {result.lab} ended",
                    severity="information" if result.passed else "warning", markup=False, timeout=12)
        try:
            main = self.main
        except LookupError:
            return
        main.lab_ended()
        self.refresh_view()

    def confirm_discard(self, then: Callable[[], object], what: str) -> None:
        """Run `then` at once, or after asking when there are unsaved changes."""
        from memtui.ui.dialogs import ConfirmScreen

        if self.session is None or not self.session.dirty or self.session.readonly:
            then()
            return

        def done(choice: str | None) -> None:
            if choice == "discard":
                then()
            elif choice == "save":
                self._save_then(then)

        self.push_screen(ConfirmScreen(
            Text(f"{what}: unsaved changes"),
            Text(f"{self.session.title} has changes that are not saved."),
            [("discard", "Discard", "error"), ("save", "Save first", "primary"),
             ("cancel", "Cancel", "default")]), done)

    def _save_then(self, then: Callable[[], object]) -> None:
        main = self.main
        session = self.session
        if session.path is None or session.is_bundled() or session.restricted:
            main.action_save_as(then=then)
            return
        main.action_save()
        if not session.dirty:
            then()

    # ---------------------------------------------------------------- app actions

    def action_help(self) -> None:
        from memtui.ui.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
            return
        self.push_screen(HelpScreen(self.key_help()))

    def key_help(self) -> list[tuple[str, str, str]]:
        """(group, keys, description) of every binding, with the user's key overrides."""
        from memtui.ui.advanced import AdvancedTable
        from memtui.ui.vmtable import VMTable

        keymap = getattr(self, "_keymap", {}) or {}
        out = []
        for owner in (MainScreen, VMTable, AdvancedTable, MemtuiApp):
            for b in owner.BINDINGS:
                if not isinstance(b, Binding) or b.id is None:
                    continue
                keys = keymap.get(b.id, b.key)
                shown = ", ".join(self.get_key_display(Binding(k.strip(), "")) for k in keys.split(","))
                group = KEY_GROUPS.get(b.id.split(".")[0], "other")
                out.append((group, shown, f"{KEY_HELP.get(b.id, b.description)}  [{b.id}]"))
        out.append(("views", "Tab / shift+Tab", "move between panes"))
        out.append(("forms", "Enter, ctrl+s", "apply the form (the model may refuse: it says why)"))
        out.append(("forms", "ctrl+r, F5", "what-if: run a copy of the host 10 simulated minutes "
                    "ahead with and without the change, show before / after, then apply or not "
                    "(VM, workload and advanced-setting forms; p offers it before a power-on)"))
        out.append(("VM list", "click a header", "sort by that column (again: the other way)"))
        return out

    async def action_quit(self) -> None:
        from memtui.ui.dialogs import ConfirmScreen

        session = self.session
        if isinstance(self.screen, ConfirmScreen):
            return
        if session is not None and session.lab_running:
            self.leave_lab(lambda: self.exit(0), "Quit")
            return
        if session is None or not session.dirty or session.readonly:
            self.exit(0)
            return

        def done(choice: str | None) -> None:
            if choice == "quit":
                self.exit(0)
            elif choice == "save":
                self._save_then(lambda: self.exit(0))

        self.push_screen(ConfirmScreen(
            Text("Quit memtui?"),
            Text(f"{session.title} has changes that are not saved."),
            [("quit", "Quit without saving", "error"), ("save", "Save and quit", "primary"),
             ("cancel", "Cancel", "default")]), done)

    # ---------------------------------------------------------------- restricted mode

    def get_system_commands(self, screen):
        """Textual's own palette commands, less those that write files where the user did not
        choose (a screenshot) in restricted mode."""
        for command in super().get_system_commands(screen):
            if self.restricted and command.title == "Screenshot":
                continue
            yield command

    def action_suspend_process(self) -> None:
        if self.restricted:
            self.notify("Restricted mode: memtui cannot be suspended to a shell.",
                        severity="warning", markup=False)
            return
        super().action_suspend_process()

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        if self.restricted:
            self.notify("Restricted mode: no screenshots are written.", severity="warning",
                        markup=False)
            return
        super().action_screenshot(filename, path)


def _clock(seconds: float) -> str:
    from memtui.config import format_clock

    return format_clock(seconds)


def _no_suspend() -> None:
    """Restricted mode: ctrl+z (SIGTSTP) does not stop memtui, whatever the terminal sends."""
    try:
        signal.signal(signal.SIGTSTP, signal.SIG_IGN)
    except (ValueError, AttributeError, OSError):  # not the main thread, or no SIGTSTP here
        pass


# --------------------------------------------------------------------------------------------
# The command line's entry point


def _load_profile(path: Path) -> Loaded:
    """Read a profile and build its host (in the UI's loading worker). Raises LoadError with
    the problems, one per line with file, line and key."""
    from memtui.profile import ProfileError, load_profile

    try:
        profile = load_profile(path)
        from memtui.model import Host

        host = Host.from_profile(profile)
    except ProfileError as exc:
        raise LoadError([f"memtui: {path} cannot be opened:"]
                        + [f"  {problem}" for problem in exc.problems]) from None
    except OSError as exc:
        raise LoadError([f"memtui: cannot read {path}: {exc.strerror or exc}"]) from None
    except (ValueError, KeyError) as exc:
        raise LoadError([f"memtui: {path}: {exc}"]) from None
    return host, profile, None


def _lab_host(lab: Lab) -> Loaded:
    return lab.new_host(), lab.profile, lab


def run(profile_path: str | None, *, readonly: bool = False, theme: str | None = None,
        restricted: bool = False, headless: bool = False, api_link: ApiLink | None = None) -> int:
    """Open the UI on a profile (None: the bundled default). Returns the exit status: 0, or 2
    when the profile cannot be used or the theme is unknown (the reasons go to stderr).

    The first frame comes before the profile is read and the model is built (both happen in a
    worker meanwhile); a profile that turns out to be unusable closes the UI at once."""
    path = Path(profile_path) if profile_path else paths.default_profile_path()
    if not path.is_file():
        problem = "no such file" if not path.exists() else "not a file"
        print(f"memtui: cannot read {path}: {problem}", file=sys.stderr)
        return 2
    app = app_for_path(path, readonly=readonly, theme=theme, restricted=restricted,
                       api_link=api_link)
    return _run_app(app, theme, headless)


def app_for_path(path: Path, **kw) -> MemtuiApp:
    """The app `memtui FILE` runs: a lab file opens as its lab (not in restricted mode, where
    labs are opened by the name of a bundled one), anything else as a profile."""
    if not kw.get("restricted") and is_lab_file(path):
        return app_for_lab_file(path, **kw)
    return app_for_profile(path, **kw)


_LAB_TABLE_RE = re.compile(rb"^[ \t]*\[[ \t]*lab[ \t]*\][ \t]*(#.*)?$", re.MULTILINE)


def is_lab_file(path: Path) -> bool:
    """Whether the file has a `[lab]` table, the mark of a lab (read without a TOML parser, so
    that nothing heavy is imported before the first frame; the lab reader checks the rest)."""
    try:
        return _LAB_TABLE_RE.search(path.read_bytes()) is not None
    except OSError:
        return False


def _load_lab_file(path: Path, record: bool = True) -> Loaded:
    from memtui.practice.labfile import LabError, load_lab
    from memtui.practice.progress import ProgressStore

    try:
        lab = load_lab(path)
    except LabError as exc:
        raise LoadError([f"memtui: the lab {path} cannot be opened:"]
                        + [f"  {problem}" for problem in exc.problems]) from None
    except OSError as exc:
        raise LoadError([f"memtui: cannot read {path}: {exc.strerror or exc}"]) from None
    except LookupError as exc:
        raise LoadError([f"memtui: {exc.args[0]}"]) from None
    if record:  # as `memtui lab start` does; the lab runs even if progress cannot be kept
        with contextlib.suppress(OSError):
            ProgressStore().record_start(lab)
    return _lab_host(lab)


def app_for_lab_file(path: Path, cls: type[MemtuiApp] | None = None, **kw) -> MemtuiApp:
    """The app `memtui LAB.toml` runs: the lab, as `memtui lab start` opens it (paused, on the
    lab pane), read in the loading worker after the first frame."""
    kw.setdefault("paused", True)
    record = not kw.get("readonly", False)
    return (cls or MemtuiApp)(load=lambda: _load_lab_file(path, record), loading=f"Loading the lab {path.name}...",
                              lab_name=path.stem, **kw)


def app_for_profile(path: Path, cls: type[MemtuiApp] | None = None, **kw) -> MemtuiApp:
    """The app `memtui PROFILE` runs: its first frame comes at once, the profile is read and
    the model built in a worker after it (the benchmark times exactly this)."""
    return (cls or MemtuiApp)(load=lambda: _load_profile(path), loading=f"Loading {path.name}...",
                              **kw)


def run_lab(lab: Lab, *, readonly: bool = False, theme: str | None = None,
            restricted: bool = False, headless: bool = False) -> int:
    """Open the UI on a lab (`memtui lab start NAME`): its host, with the lab pane showing the
    briefing and the objectives. Returns the exit status."""
    app = app_for_lab(lab, readonly=readonly, theme=theme, restricted=restricted)
    return _run_app(app, theme, headless)


def app_for_lab(lab: Lab, cls: type[MemtuiApp] | None = None, **kw) -> MemtuiApp:
    """The app `memtui lab start NAME` runs: the lab pane first, the clock paused."""
    kw.setdefault("paused", True)
    return (cls or MemtuiApp)(load=lambda: _lab_host(lab), loading=f"Loading the lab {lab.name}...",
                              lab_name=lab.name, **kw)


def _run_app(app: MemtuiApp, theme: str | None, headless: bool) -> int:
    if theme and theme not in app.available_themes:
        names = ", ".join(sorted(app.available_themes))
        print(f"memtui: unknown theme {theme!r}; choose one of: {names}", file=sys.stderr)
        return 2
    if app.restricted:
        # Keep the terminal's signal keys as keys: ctrl+z must not stop memtui (and drop the
        # user to a shell), whatever the environment asks of Textual.
        os.environ.pop("TEXTUAL_ALLOW_SIGNALS", None)
    _exit_when_terminal_goes(app)
    result = app.run(headless=headless)
    for problem in app.load_problems:
        print(problem, file=sys.stderr)
    if app.load_problems:
        return 2
    return int(result or 0) if app.return_code in (None, 0) else int(app.return_code)


def _exit_when_terminal_goes(app: MemtuiApp) -> None:
    """SIGHUP (the terminal or the SSH link went away): leave at once, without asking, and
    without trying to draw on a terminal that is not there."""

    def hangup(signum, frame) -> None:
        try:
            app.call_later(app.exit, 129)
        except Exception:
            os._exit(129)

    try:
        signal.signal(signal.SIGHUP, hangup)
    except (ValueError, AttributeError, OSError):  # not the main thread, or no SIGHUP here
        pass
