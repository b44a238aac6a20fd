"""memtui's terminal UI: `run()` for the command line, `MemtuiApp` for tests and embedding.

Data flows one way: the simulation clock (a one-shot timer that reschedules itself) advances
the model; at most every `refresh_s` the app takes a snapshot and hands it, with the events
logged since, to the main screen, whose panes redraw what changed. A person's changes go
through the `Session` and are followed by an immediate redraw.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual.app import App
from textual.binding import Binding
from textual.timer import Timer

from memtui import paths
from memtui.config import Profile
from memtui.model import Host
from memtui.ui.screen import MainScreen
from memtui.ui.session import Session
from memtui.ui.settings import load_settings, save_settings

SELF_USAGE_INTERVAL_S = 2.0


def _commands_provider():
    """The command palette's provider, imported when the palette first opens."""
    from memtui.ui.commands import MemtuiCommands

    return MemtuiCommands

KEY_HELP = {  # binding id -> what the key does, in a sentence for the help screen
    "sim.pause": "run or pause the simulation clock",
    "sim.step": "advance the clock by one simulated second (handy while paused)",
    "sim.faster": "faster: 1x, 2x, 5x ... up to an hour of simulated time per second",
    "sim.slower": "slower, down to real time",
    "ui.delay": "how often the screen is redrawn while running (esxtop's s)",
    "ui.back": "back out: close a pane, a dialog, or clear the filter",
    "table.filter": "filter the VM list by name as you type; Enter keeps, Esc clears",
    "table.fields": "choose the VM list's columns (esxtop's f); kept in your settings",
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
    "ui": "screen", "app": "application", "advanced": "advanced settings pane",
}


class MemtuiApp(App[int]):
    """The memtui application on one host.

    `paused=True` starts the clock stopped (tests step it with `step()`); `self_usage=False`
    hides memtui's own memory and CPU use (for snapshot tests, whose figures must not vary);
    `settings_path` overrides where the user's settings live.
    """

    TITLE = "memtui"
    CSS_PATH = [Path(__file__).with_name("app.tcss"), Path(__file__).with_name("forms.tcss")]
    COMMANDS = App.COMMANDS | {_commands_provider}
    COMMAND_PALETTE_BINDING = "ctrl+p"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        Binding("question_mark,f1", "help", "Help", id="app.help"),
        Binding("colon", "command_palette", "Commands", id="app.palette"),
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit_now"),
    ]

    def __init__(self, host: Host, profile: Profile, *, readonly: bool = False,
                 theme: str | None = None, restricted: bool = False, paused: bool = False,
                 self_usage: bool = True, settings_path: Path | None = None,
                 speed_x: float | None = None) -> None:
        super().__init__()
        self.settings_path = settings_path
        self.settings, self._settings_problems = load_settings(settings_path)
        self.session = Session(host, profile, readonly=readonly, restricted=restricted)
        self.start_paused = paused
        self.show_self_usage = self_usage
        self.behind = False
        self._clock: Timer | None = None
        self._last_refresh = 0.0
        self._refreshed_t = -1.0
        self._refreshed_rev = -1
        self._monitor = None  # memtui's own memory and CPU use: started after the first frame
        self._theme_ready = False
        self.ui_s_total = 0.0  # wall time spent updating panes (the benchmark reads it)
        self.session.set_speed(speed_x or self.settings.speed_x or 1.0)
        wanted = theme or self.settings.theme
        if wanted and wanted in self.available_themes:
            self.theme = wanted
        if self.settings.keys:
            self.set_keymap(dict(self.settings.keys))

    # ---------------------------------------------------------------- start and stop

    def get_default_screen(self) -> MainScreen:
        return MainScreen()

    def on_mount(self) -> None:
        self.title = f"memtui: {self.session.host.config.name}"

    def main_ready(self) -> None:
        """The main screen is up: show the host and start the clock."""
        self.refresh_view()
        for problem in self._settings_problems:
            self.notify(problem, severity="warning", markup=False, timeout=8)
        if self.show_self_usage:
            self.call_after_refresh(self._start_self_usage)
        if not self.start_paused:
            self.set_running(True)
        self._theme_ready = True

    def settle_memory(self) -> None:
        """Everything built so far lives as long as the app: take it out of the garbage
        collector's sight, so that its full collections stay short (with 320 VMs a full
        collection over everything takes 80 ms or more, long enough to be felt on a key)."""
        gc.collect()
        gc.freeze()

    def on_unmount(self) -> None:
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
        self.session.set_running(running)
        if self._clock is not None:
            self._clock.stop()
            self._clock = None
        if running:
            self.session.tick()  # start measuring from now
            self._clock = self.set_timer(self.session.tick_delay_s(), self._tick)
        self.behind = False
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
        now = time.perf_counter()
        host = session.host
        if now - self._last_refresh >= self.settings.refresh_s and (
                host.t != self._refreshed_t or host.revision != self._refreshed_rev):
            self.refresh_view()
        self._clock = self.set_timer(session.tick_delay_s(), self._tick)

    def step(self, seconds: int = 1) -> None:
        """Advance the model by `seconds` simulated seconds at once and redraw."""
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
        start = time.perf_counter()
        session = self.session
        snapshot = session.snapshot()
        self._refreshed_t, self._refreshed_rev = session.host.t, session.host.revision
        events = session.new_events()
        main.show(snapshot, events)
        self._last_refresh = time.perf_counter()
        self.ui_s_total += self._last_refresh - start

    # ---------------------------------------------------------------- sessions

    def load_session(self, path: Path) -> tuple[list[str], Session | None]:
        """Read a profile into a new session, or say why it cannot be opened."""
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
        old = self.session
        new = Session(host, profile, readonly=old.readonly, restricted=old.restricted)
        new.set_speed(old.speed_x)
        return [], new

    def replace_session(self, session: Session) -> None:
        running = self.session.running
        self.set_running(False)
        self.session = session
        self.title = f"memtui: {session.host.config.name}"
        main = self.main
        main.reset_panes()
        self.refresh_view()
        gc.unfreeze()  # the old session is garbage now
        self.settle_memory()
        if running:
            self.set_running(True)

    def new_from_machine(self) -> None:
        from memtui.ui.machine import machine_profile

        profile = machine_profile()
        session = Session(Host.from_profile(profile), profile, readonly=self.session.readonly,
                          restricted=self.session.restricted)
        session.set_speed(self.session.speed_x)
        self.replace_session(session)
        h = profile.host
        self.notify(f"New host {h.name}: {h.memory_mb} MB, {h.cpu_cores} cores at {h.cpu_mhz} MHz, "
                    "no VMs yet (a adds one). Save it with W.", markup=False, timeout=10)

    def confirm_discard(self, then: Callable[[], object], what: str) -> None:
        """Run `then` at once, or after asking when there are unsaved changes."""
        from memtui.ui.dialogs import ConfirmScreen

        if not self.session.dirty or self.session.readonly:
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
        out.append(("VM list", "click a header", "sort by that column (again: the other way)"))
        return out

    async def action_quit(self) -> None:
        from memtui.ui.dialogs import ConfirmScreen

        if not self.session.dirty or self.session.readonly:
            self.exit(0)
            return

        def done(choice: str | None) -> None:
            if choice == "quit":
                self.exit(0)
            elif choice == "save":
                self._save_then(lambda: self.exit(0))

        if isinstance(self.screen, ConfirmScreen):
            return
        self.push_screen(ConfirmScreen(
            Text("Quit memtui?"),
            Text(f"{self.session.title} has changes that are not saved."),
            [("quit", "Quit without saving", "error"), ("save", "Save and quit", "primary"),
             ("cancel", "Cancel", "default")]), done)


# --------------------------------------------------------------------------------------------
# The command line's entry point


def run(profile_path: str | None, *, readonly: bool = False, theme: str | None = None,
        restricted: bool = False) -> int:
    """Open the UI on a profile (None: the bundled default). Returns the exit status: 0, or 2
    when the profile cannot be used or the theme is unknown (the reasons go to stderr)."""
    from memtui.profile import ProfileError, load_profile

    path = Path(profile_path) if profile_path else paths.default_profile_path()
    try:
        profile = load_profile(path)
        host = Host.from_profile(profile)
    except ProfileError as exc:
        print(f"memtui: {path} cannot be opened:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"memtui: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except (ValueError, KeyError) as exc:
        print(f"memtui: {path}: {exc}", file=sys.stderr)
        return 2
    app = MemtuiApp(host, profile, readonly=readonly, theme=theme, restricted=restricted)
    if theme and theme not in app.available_themes:
        names = ", ".join(sorted(app.available_themes))
        print(f"memtui: unknown theme {theme!r}; choose one of: {names}", file=sys.stderr)
        return 2
    _exit_when_terminal_goes(app)
    result = app.run()
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
