"""The main screen: lays out the panes, answers the keys, and feeds every pane from a snapshot.

Layout, top to bottom: status line; host memory (esxtop header lines, and the bar of what the
host's memory is made of); the VM list; the secondary panes in tabs (VM details, charts, memory
map, event log, advanced settings); the footer. On a small terminal (under 100 columns or 36
lines) the secondary panes fold away: a view key (1 to 5, Enter on a VM) shows one in place of
the VM list, Esc comes back. Below MIN_SIZE a message says what size is needed.

Secondary panes are one `TabPane` each in `SIDE_LABELS` order, filled in `_fill_side` and fed in
`_update_side`: the VM, charts, map, log, advanced settings, "why" (memtui.practice.explain) and the lab.
Until the model is loaded (after the first frame) the panes say so and the keys wait.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, Static

from memtui import paths, spec
from memtui.session import SPEEDS_X, ReadOnlyError, list_profiles
from memtui.ui import optional
from memtui.ui.columns import DEFAULT_COLUMNS
from memtui.ui.hostpane import HostHeader
from memtui.ui.settings import REFRESH_CHOICES_S
from memtui.ui.status import ClockInfo, FileInfo, StatusLine, speed_text
from memtui.ui.vmtable import FilterBar, VMTable

if TYPE_CHECKING:
    from memtui.metrics import LogEvent, Snapshot
    from memtui.ui.app import MemtuiApp
    from memtui.ui.forms import FormSpec
    from memtui.ui.labpane import LabPane
    from memtui.ui.vmdetail import VMInfo


def _refusals() -> tuple[type[Exception], ...]:
    """The exceptions that mean "the model (or the lab) refused this change"."""
    from memtui.model import AdmissionError, SettingError

    return (AdmissionError, SettingError, KeyError, ValueError)

# Dialogs and forms are imported when first needed, not before the first frame.

MIN_SIZE = (80, 24)
FOLD_BELOW = (100, 36)  # secondary panes fold away below this width or height
SIDE_BESIDE_HEADER_W = 124
SHORT_BELOW_H = 30  # a folded-away pane shown on a short screen hides the host lines too  # from this width the host bar sits beside the esxtop lines
SIDE_LABELS = (("vm", "1 VM"), ("charts", "2 Charts"), ("map", "3 Map"), ("log", "4 Log"),
               ("advanced", "5 Advanced"), ("why", "6 Why"), ("lab", "7 Lab"))
SIDE_VIEWS = tuple(view for view, _ in SIDE_LABELS)
CHART_INTERVAL_S = 1.0  # charts redraw at most once a second
SELECTION_SETTLE_S = 0.06  # the selected VM's panes follow the cursor once it rests this long


def _text(s: str) -> Text:
    return Text(s)


CHART_MIN_ROWS = 16  # a chart below this many rows is not worth reading
CHART_MIN_COLS = 80


class ChartsBox(Vertical):
    """The charts pane: the host chart (free memory against its thresholds) always; the
    selected VM's chart below it where both have CHART_MIN_ROWS, or beside it where the pane
    is wide enough, else not at all (the VM pane, 1, has the VM's history)."""

    def on_resize(self, event: Resize) -> None:
        width, height = event.size
        stacked = height >= 2 * CHART_MIN_ROWS
        beside = not stacked and width >= 2 * CHART_MIN_COLS
        self.set_class(beside, "-beside")
        vm_chart = self.query_one("#vm-chart")
        was = vm_chart.display
        vm_chart.display = stacked or beside
        if vm_chart.display and not was:
            self.call_later(self._show_vm_chart)

    def _show_vm_chart(self) -> None:
        if isinstance(self.screen, MainScreen):
            self.screen._update_side(force=True)


class MainScreen(Screen):
    """memtui's one screen; everything else is a modal above it."""

    app: MemtuiApp

    AUTO_FOCUS = "#vm-table"

    BINDINGS = [
        Binding("space", "toggle_run", "Run/Pause", id="sim.pause"),
        Binding("full_stop", "step", "Step", show=False, id="sim.step"),
        Binding("plus,equals_sign", "faster", "Faster", show=False, id="sim.faster"),
        Binding("minus", "slower", "Slower", show=False, id="sim.slower"),
        Binding("s", "refresh_delay", "Delay", show=False, id="ui.delay"),
        Binding("slash", "filter", "Filter", id="table.filter"),
        Binding("f", "fields", "Fields", id="table.fields"),
        Binding("o", "field_order", "Order", show=False, id="table.order"),
        Binding("less_than_sign", "sort_step(-1)", "Sort left", show=False, id="table.sort_left"),
        Binding("greater_than_sign", "sort_step(1)", "Sort right", show=False, id="table.sort_right"),
        Binding("I", "invert_sort", "Invert sort", show=False, id="table.invert"),
        Binding("M", "sort_by('MEMSZ')", "Sort MEMSZ", show=False, id="table.sort_memsz"),
        Binding("B", "sort_by('MCTLSZ')", "Sort MCTLSZ", show=False, id="table.sort_mctlsz"),
        Binding("N", "sort_by('NAME')", "Sort NAME", show=False, id="table.sort_name"),
        Binding("e", "edit_vm", "Edit", id="vm.edit"),
        Binding("w", "edit_workload", "Workload", show=False, id="vm.workload"),
        Binding("p", "power", "Power", id="vm.power"),
        Binding("a", "add_vm", "Add", show=False, id="vm.add"),
        Binding("c", "clone_vm", "Clone", show=False, id="vm.clone"),
        Binding("d,delete", "delete_vm", "Delete", show=False, id="vm.delete"),
        Binding("1", "view('vm')", "VM", show=False, id="view.vm"),
        Binding("2", "view('charts')", "Charts", show=False, id="view.charts"),
        Binding("3", "view('map')", "Map", show=False, id="view.map"),
        Binding("4", "view('log')", "Log", show=False, id="view.log"),
        Binding("5", "view('advanced')", "Advanced", show=False, id="view.advanced"),
        Binding("6", "view('why')", "Why", show=False, id="view.why"),
        Binding("7", "view('lab')", "Lab", show=False, id="view.lab"),
        Binding("h", "lab_hint", "Hint", id="lab.hint"),  # in the footer while a lab runs
        # Outside a lab, h is help (as in esxtop); the binding above gives way to this one.
        Binding("h", "app.help", "Help", show=False, id="app.help_h"),
        Binding("escape", "back", "Back", show=False, id="ui.back"),
        Binding("ctrl+s", "save", "Save", show=False, id="profile.save"),
        Binding("W", "save_as", "Write", show=False, id="profile.write"),
        Binding("ctrl+o", "open", "Open", show=False, id="profile.open"),
    ]

    EDITING_ACTIONS = frozenset({
        "edit_vm", "edit_workload", "power", "add_vm", "clone_vm", "delete_vm", "save", "save_as",
    })
    # What can be done before the model has loaded (just after the first frame).
    BEFORE_LOAD_ACTIONS = frozenset({"view", "back"})

    def __init__(self) -> None:
        super().__init__(id="main")
        self.snapshot: Snapshot | None = None
        self._last_chart_t = 0.0
        self._advanced_rev = -1
        self._folded = False
        self._side_open = False
        self._side_timer = None
        self._side_ready = False
        self._filling = False
        self._view = "vm"  # the secondary pane shown (or to show once the tabs are there)
        self._pending_events: list[LogEvent] = []
        self._focus_after_fill: str | None = None

    # ---------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        settings = self.app.settings
        yield StatusLine(id="status")
        with Horizontal(id="host-pane"):
            yield HostHeader(id="host-header")
            bar = optional.widget("bars", "HostMemoryBar")
            yield bar(id="host-bar") if bar else optional.Placeholder(
                "host memory bar (memtui/ui/bars.py)", id="host-bar")
        with Vertical(id="body"):
            with Vertical(id="vm-pane"):
                # The filter bar is mounted when / first opens it.
                yield VMTable(columns=settings.columns, sort=settings.sort, reverse=settings.reverse,
                              id="vm-table")
                yield Static("No VMs on this host: press a to add one.", id="vm-empty")
            # The tabs are mounted here after the first frame (_fill_side): the first frame
            # shows the status line, the host lines and the VM list as soon as it can.
            yield Static("", id="side-slot")
        yield Static("", id="too-small", markup=False)
        yield Footer(id="footer", compact=True)

    def on_mount(self) -> None:
        if self.app.readonly:
            self._hide_editing_keys()
        if self.app.opening_lab:
            self._view = "lab"
        empty = self.query_one("#vm-empty", Static)
        self.query_one(VMTable).focus()
        self._apply_size(self.size.width, self.size.height)
        if self.app.opening_lab and self._folded:
            self._set_side_open(True)  # a lab opens on its briefing, at 80x24 too
            self._focus_after_fill = "#lab-pane"
        if self.app.session is None:  # the model loads after the first frame
            loading = Text(self.app.loading)
            if self._side_open:
                self.query_one("#side-slot", Static).update(loading)
            else:
                empty.update(loading)
            self.query_one(StatusLine).show_loading(self.app.loading)
        else:
            empty.display = False
        self.app.main_ready()
        if self.app.session is not None:
            self._filling = True
            self.call_after_refresh(self._fill_side)
        # else: once the model has loaded (session_changed); the loading worker has the
        # interpreter to itself meanwhile, so the figures come first.

    async def _fill_side(self) -> None:
        """Mount the secondary panes in their tabs (after the first frame: they are not needed
        for it, and the charts' plotting library takes a while to load)."""
        from textual.widgets import TabbedContent, TabPane

        from memtui.ui.advanced import AdvancedTable
        from memtui.ui.eventlog import EventLog
        from memtui.ui.labpane import LabPane
        from memtui.ui.vmdetail import VMDetail
        from memtui.ui.whypane import WhyPane

        host_chart = optional.widget("charts", "HostChart")
        vm_chart = optional.widget("charts", "VMChart")
        memmap = optional.widget("memmap", "MemoryMap")
        contents = {
            "vm": [VMDetail(id="vm-detail")],
            "charts": [ChartsBox(
                host_chart(id="host-chart") if host_chart else optional.Placeholder(
                    "host chart (memtui/ui/charts.py)", id="host-chart"),
                vm_chart(id="vm-chart") if vm_chart else optional.Placeholder(
                    "VM chart (memtui/ui/charts.py)", id="vm-chart"),
                id="charts")],
            "map": [memmap(id="memory-map") if memmap else optional.Placeholder(
                "memory map, Figure 3-1 (memtui/ui/memmap.py)", id="memory-map")],
            "log": [EventLog(id="event-log")],
            "advanced": [AdvancedTable(id="advanced"),
                         Static("", id="advanced-meaning", markup=False)],
            "why": [WhyPane(id="why")],
            "lab": [LabPane(id="lab-pane")],
        }
        tabs = TabbedContent(id="side", initial=f"tab-{self._view}")
        for view, label in SIDE_LABELS:  # as `with TabbedContent(): yield TabPane(...)` does
            tabs.compose_add_child(TabPane(label, *contents[view], id=f"tab-{view}"))
        from textual.widget import MountError

        try:
            slot = self.query_one("#side-slot")
            await self.query_one("#body").mount(tabs, after=slot)
            await slot.remove()
            self.query_one("#event-log")
        except (NoMatches, MountError):  # the app is closing
            return
        self._side_ready = True
        # The tab bar is not a stop of Tab: the view keys (1-7) pick the tab, and Tab goes from
        # the VM list straight into the pane shown.
        from textual.widgets import Tabs

        for bar in tabs.query(Tabs):
            bar.can_focus = False
        log = self.query_one("#event-log")
        log.add_events(self._pending_events)
        self._pending_events = []
        self._advanced_rev = -1
        if self.app.session is not None:
            self.session_changed()
        if self.snapshot is not None:
            self._update_advanced()
            if self.side_visible:
                self._update_side(force=True)
        if self._focus_after_fill is not None:
            target = self.query_one(self._focus_after_fill)
            if self._focus_after_fill == "#lab-pane":
                target.take_focus()
            else:
                target.focus()
            self._focus_after_fill = None
        self.app.settle_memory()

    def _update_advanced(self) -> None:
        if self.app.session is None:
            return
        host = self.app.session.host
        if self._side_ready and self._advanced_rev != host.revision:
            self._advanced_rev = host.revision
            self.query_one("#advanced").update_from(host.advanced, host.config.esx_version)

    def on_resize(self, event: Resize) -> None:
        self._apply_size(event.size.width, event.size.height)

    def _apply_size(self, width: int, height: int) -> None:
        small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        self.set_class(small, "-too-small")
        if small:
            self.query_one("#too-small", Static).update(Text(
                f"memtui needs a terminal of at least {MIN_SIZE[0]}x{MIN_SIZE[1]}; this one is "
                f"{width}x{height}.\nEnlarge the window, or press q to quit."))
        folded = width < FOLD_BELOW[0] or height < FOLD_BELOW[1]
        self._folded = folded
        self.set_class(folded, "-folded")
        self.set_class(width >= SIDE_BESIDE_HEADER_W, "-wide")
        self.set_class(height < SHORT_BELOW_H, "-short")
        if not folded:
            self._set_side_open(False)
        self.query_one(HostHeader).refit()

    def _set_side_open(self, open_: bool) -> None:
        self._side_open = open_
        self.set_class(open_, "-side-open")

    @property
    def side_visible(self) -> bool:
        return not self._folded or self._side_open

    @property
    def active_view(self) -> str:
        return self._view

    # ---------------------------------------------------------------- feeding the panes

    @property
    def table(self) -> VMTable:
        return self.query_one(VMTable)

    @property
    def selected_vm(self) -> str | None:
        return self.table.selected_name

    def show(self, snapshot: Snapshot, events: list[LogEvent]) -> None:
        """Show a new snapshot (and the events logged since the last one)."""
        self.snapshot = snapshot
        app = self.app
        session = app.session
        host = session.host
        with app.batch_update():
            self.update_status()
            self.query_one(HostHeader).update_from(snapshot)
            self.query_one("#host-bar").update_from(snapshot, session.history, self.selected_vm,
                                                    host.thresholds)
            table = self.table
            table.update_from(snapshot)
            self.query_one("#vm-empty").display = not snapshot.vms
            if events:
                if self._side_ready:
                    self.query_one("#event-log").add_events(events)
                else:
                    self._pending_events.extend(events)
            if self.side_visible:
                self._update_side(force=False)
            self._update_advanced()

    def update_status(self) -> None:
        if self.snapshot is None:
            return
        session = self.app.session
        cfg = session.host.config
        clock = ClockInfo(session.running, session.speed_x, session.achieved_x, self.app.behind)
        title = session.title
        lab = session.lab
        if lab is not None:
            left = int(lab.remaining_s)
            title += " ended" if lab.finished else f" {left // 60}:{left % 60:02d} left"
        file = FileInfo(title, session.dirty, session.readonly, session.restricted)
        self.query_one(StatusLine).update_from(self.snapshot, cfg.name, cfg.esx_version, clock, file)

    def vm_info(self, name: str | None) -> VMInfo | None:
        from memtui.ui.vmdetail import VMInfo

        if name is None:
            return None
        host = self.app.session.host
        try:
            config = host.vms[host.index(name)]
        except KeyError:
            return None
        return VMInfo(config, host.overhead_source(name), host.advanced["Mem.CtlMaxPercent"])

    def _update_side(self, force: bool) -> None:
        snap = self.snapshot
        if snap is None or not self._side_ready:
            return
        host = self.app.session.host
        history = self.app.session.history
        selected = self.selected_vm
        view = self.active_view
        if view == "vm":
            self.query_one("#vm-detail").update_from(snap, history, selected,
                                                     self.vm_info(selected), host.thresholds)
        elif view == "why":
            self.query_one("#why").update_from(host, selected, force=force)
        elif view == "lab":
            self._update_lab()
        elif view == "charts":
            now = time.monotonic()
            if force or now - self._last_chart_t >= CHART_INTERVAL_S:
                self._last_chart_t = now
                version = host.config.esx_version
                self.query_one("#host-chart").update_from(snap, history, selected, host.thresholds,
                                                          version)
                if self.query_one("#vm-chart").display:
                    self.query_one("#vm-chart").update_from(snap, history, selected, host.thresholds,
                                                            version)
        elif view == "map":
            families = {vm.name: vm.content_family for vm in host.vms}
            self.query_one("#memory-map").update_from(snap, history, selected, host.thresholds,
                                                      families=families)

    @on(VMTable.Highlighted, "#vm-table")
    def _vm_highlighted(self, event: VMTable.Highlighted) -> None:
        # The cursor answers at once; the selected VM's panes follow once it rests, so that
        # holding a key down over 320 VMs does not redraw them for every row passed.
        if not self.side_visible:
            return
        if self._side_timer is not None:
            self._side_timer.stop()
        self._side_timer = self.set_timer(SELECTION_SETTLE_S, self._selection_settled)

    def _selection_settled(self) -> None:
        self._side_timer = None
        self._update_side(force=True)

    @on(VMTable.Selected, "#vm-table")
    def _vm_selected(self, event: VMTable.Selected) -> None:
        self.show_view("vm")

    def on_tabbed_content_tab_activated(self, event) -> None:
        if event.tabbed_content.id == "side":
            self._view = str(event.pane.id).removeprefix("tab-")
            self.set_class(self._view == "charts", "-charts")
            self._update_side(force=True)

    @on(VMTable.SortChanged)
    def _sort_changed(self, event: VMTable.SortChanged) -> None:
        settings = self.app.settings
        settings.sort, settings.reverse = event.column, event.reverse
        self.app.save_settings()

    @on(FilterBar.FilterChanged)
    def _filter_changed(self, event: FilterBar.FilterChanged) -> None:
        self.table.set_filter(event.text)
        if event.done:
            bar = self.query_one(FilterBar)
            bar.display = bool(event.text)
            self.table.focus()

    def on_advanced_table_highlighted(self, event) -> None:
        """The setting under the cursor, in full under the table (its row is cut at 80
        columns)."""
        s = spec.ADVANCED_SETTINGS[event.name]
        version = self.app.session.host.config.esx_version if self.app.session else None
        there = version is None or spec.version_at_least(version, s.since)
        words = f"{event.name}: {s.meaning}. Default {s.default}, range {s.minimum} to {s.maximum}"
        words += "." if there else f"; from ESX {s.since} on (this host runs {version})."
        self.query_one("#advanced-meaning", Static).update(Text(words))

    def on_advanced_table_edit(self, event) -> None:
        """Enter, e or d in the advanced settings pane (AdvancedTable.Edit)."""
        if event.reset:
            self.reset_advanced(event.name)
        else:
            self.edit_advanced(event.name)

    # ---------------------------------------------------------------- guards

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        session = self.app.session
        if action == "lab_hint":  # only while a lab runs; otherwise h is help
            return session is not None and session.lab_running
        if session is None:  # still loading: only moving between views
            return True if action in self.BEFORE_LOAD_ACTIONS else None
        # Read-only: the editing keys are out of the footer (_hide_editing_keys) and say why
        # when pressed (_writable).
        return True

    def _hide_editing_keys(self) -> None:
        """Read-only mode: take the editing keys out of the footer (they still answer, saying
        that nothing can be changed)."""
        import dataclasses

        table = self._bindings.key_to_bindings
        for key, bindings in table.items():
            table[key] = [dataclasses.replace(b, show=False) if b.action in self.EDITING_ACTIONS else b
                          for b in bindings]
        self.refresh_bindings()

    def _lab_allows(self, what: str) -> bool:
        """False (and says why) when the running lab does not let the learner do `what`."""
        why = self.app.session.lab_allows(what)
        if why is not None:
            self.app.notify(f"Not in this lab: {why}.", title="Refused", severity="warning",
                            markup=False, timeout=8)
            return False
        return True

    def _writable(self) -> bool:
        if self.app.session.readonly:
            self.app.notify("Read-only (memtui --readonly): VMs, settings and the profile cannot be "
                            "changed or saved here; the clock, views and sorting still work.",
                            title="Read-only", severity="warning", markup=False)
            return False
        return True

    def _vm_or_warn(self, name: str | None = None) -> str | None:
        name = name or self.selected_vm
        if name is None:
            self.app.notify("No VM selected.", severity="warning", markup=False)
        return name

    def _report(self, exc: Exception) -> None:
        text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        self.app.notify(text, title="Refused", severity="error", markup=False, timeout=8)

    # ---------------------------------------------------------------- the clock

    def action_toggle_run(self) -> None:
        self.app.set_running(not self.app.session.running)

    def action_step(self, seconds: int = 1) -> None:
        """`.`: one simulated second from what the screen shows (the clock pauses first)."""
        if self.app.session.running:
            self.app.set_running(False)
        self.app.step(seconds)

    def set_speed(self, speed_x: float) -> None:
        self.app.session.set_speed(speed_x)
        self.app.clock_changed()

    def action_faster(self) -> None:
        self.app.session.faster()
        self.app.clock_changed()

    def action_slower(self) -> None:
        self.app.session.slower()
        self.app.clock_changed()

    def action_refresh_delay(self) -> None:
        from memtui.ui.dialogs import ChoiceScreen
        current = self.app.settings.refresh_s
        choices = [(f"{s:g}", f"redraw every {s:g} s") for s in REFRESH_CHOICES_S]

        def done(value: str | None) -> None:
            if value:
                self.app.settings.refresh_s = float(value)
                self.app.save_settings()
                self.app.notify(f"Screen redrawn every {float(value):g} s while running.", markup=False)

        self.app.push_screen(ChoiceScreen("Refresh delay (esxtop s)", choices, f"{current:g}"), done)

    def speed_choices(self) -> list[tuple[str, str]]:
        return [(str(s), f"{speed_text(s)}  ({s} simulated s per wall s)") for s in SPEEDS_X]

    # ---------------------------------------------------------------- the table

    @property
    def filter_bar(self) -> FilterBar | None:
        try:
            return self.query_one(FilterBar)
        except NoMatches:
            return None

    async def action_filter(self) -> None:
        bar = self.filter_bar
        if bar is None:
            bar = FilterBar(id="filter")
            await self.query_one("#vm-pane").mount(bar, before=self.table)
        bar.display = True
        if self._folded:
            self._set_side_open(False)
        bar.focus()

    def action_fields(self) -> None:
        from memtui.ui.dialogs import ColumnsScreen
        def done(columns: list[str] | None) -> None:
            if columns:
                self.table.set_columns(columns)
                self.app.settings.columns = list(self.table.column_keys)
                self.app.save_settings()

        self.app.push_screen(ColumnsScreen(list(self.table.column_keys), DEFAULT_COLUMNS), done)

    def action_field_order(self) -> None:
        """esxtop's o: reorder the field groups; W / R there write and read the field file."""
        from memtui.ui.orderscreen import FieldOrderScreen

        def done(columns: list[str] | None) -> None:
            if columns:
                self.table.set_columns(columns)
                self.app.settings.columns = list(self.table.column_keys)
                self.app.save_settings()

        self.app.push_screen(FieldOrderScreen(list(self.table.column_keys),
                                              files=not self.app.restricted), done)

    def action_sort_step(self, step: int) -> None:
        self.table.sort_next(step)

    def action_invert_sort(self) -> None:
        self.table.invert_sort()

    def action_sort_by(self, key: str) -> None:
        self.table.set_sort(key)

    def sort_by(self, key: str) -> None:
        if key not in self.table.column_keys:
            self.table.set_columns([*self.table.column_keys, key])
            self.app.settings.columns = list(self.table.column_keys)
        self.table.set_sort(key)

    def select_vm(self, name: str) -> None:
        if not self.table.select(name) and self.table.filter_text and self.filter_bar:
            self.filter_bar.value = ""
            self.table.set_filter("")
            self.table.select(name)
        self.table.focus()

    # ---------------------------------------------------------------- views

    def action_view(self, view: str) -> None:
        self.show_view(view)

    def show_view(self, view: str) -> None:
        self._view = view
        self.set_class(view == "charts", "-charts")
        if self._side_ready:
            self.query_one("#side").active = f"tab-{view}"
        if self._folded:
            self._set_side_open(True)
        self._update_side(force=True)
        if not self._folded:
            # Side by side: the VM list keeps the keys (j, k, e, p...); Tab moves to the pane.
            if self.focused is None or self._in_side(self.focused):
                self.table.focus()
            return
        # Folded: the pane is all there is to see, so it takes the focus.
        pane = {"log": "#event-log", "advanced": "#advanced", "why": "#why",
                "lab": "#lab-pane"}.get(view)
        if pane is not None and not self._side_ready:
            self._focus_after_fill = pane
        elif pane == "#lab-pane":
            self.query_one(pane).take_focus()
        elif pane is not None:
            self.query_one(pane).focus(scroll_visible=False)
        else:
            self.query_one(f"#tab-{view}").focus()

    def on_descendant_focus(self, event) -> None:
        """The pane that has the focus shows it on its tab (app.tcss: #side.-has-focus)."""
        try:
            side = self.query_one("#side")
        except NoMatches:
            return
        side.set_class(self._in_side(event.widget), "-has-focus")

    def _in_side(self, widget) -> bool:
        try:
            side = self.query_one("#side")
        except NoMatches:
            return False
        return widget is side or side in widget.ancestors

    def action_back(self) -> None:
        if self._folded and self._side_open:
            self._set_side_open(False)
            self.table.focus()
        elif self.focused is not self.table:
            self.table.focus()
        elif self.table.filter_text and self.filter_bar is not None:
            self.filter_bar.action_clear()

    # ---------------------------------------------------------------- VMs

    def action_power(self) -> None:
        name = self._vm_or_warn()
        if name is None or not self._writable():
            return
        host = self.app.session.host
        if host.vms[host.index(name)].power == "on":
            self.power_off(name)
        else:
            self.power_on(name)

    def power_on(self, name: str) -> None:
        """Ask first, saying what admission control will make of it; offer a what-if preview."""
        from memtui.ui.dialogs import ConfirmScreen
        if not self._writable():
            return
        host = self.app.session.host
        try:
            config = host.vms[host.index(name)]
        except KeyError as exc:
            self._report(exc)
            return
        short, why = host.admission_shortfall(config)
        if short > 0:
            words = f"Admission control will refuse it: {why}."
        else:
            overhead = host.overhead_source(name).mb
            words = (f"Admission control: {name} needs {config.reservation_mb + overhead:,.2f} MB "
                     f"(reservation {config.reservation_mb} + overhead {overhead:.2f}); "
                     f"{host.unreserved_mb:,.2f} MB is unreserved.")
        words += " Preview runs a copy of the host 10 simulated minutes ahead with and without it."

        def done(choice: str | None) -> None:
            if choice == "on":
                self._power_on_now(name)
            elif choice == "preview":
                self.preview_change({"vm": name, "power": "on"}, lambda: self._power_on_now(name),
                                    "Power on")

        self.app.push_screen(ConfirmScreen(
            Text(f"Power on {name}?"), Text(words),
            [("preview", "Preview", "default"), ("cancel", "Cancel", "default"),
             ("on", "Power on", "primary")], default="on"), done)

    def _power_on_now(self, name: str) -> None:
        if not self._writable():
            return
        try:
            self.app.session.power_on(name)
        except _refusals() as exc:
            self._report(exc)
        else:
            self.app.notify(f"{name} powered on.", markup=False)
        self.app.refresh_view()

    def power_off(self, name: str) -> None:
        from memtui.ui.dialogs import ConfirmScreen
        if not self._writable():
            return

        def done(choice: str | None) -> None:
            if choice == "off":
                try:
                    self.app.session.power_off(name)
                except _refusals() as exc:
                    self._report(exc)
                self.app.refresh_view()

        self.app.push_screen(ConfirmScreen(
            Text(f"Power off {name}?"),
            Text(f"{name} stops at once, as if its power were cut: its guest memory is gone, its "
                 "reservation and overhead are released."),
            [("cancel", "Cancel", "default"), ("off", "Power off", "error")], default="off"), done)

    def preview_change(self, change: dict, apply, label: str = "Apply") -> None:
        """What-if: run a copy of the host ahead with and without `change`; `apply()` when the
        person chooses to apply it."""
        from memtui.ui.preview import PreviewScreen

        session = self.app.session
        allow_workload = session.lab.lab.allow_workload if session.lab_running else True

        def done(ok: bool | None) -> None:
            if ok:
                apply()

        self.app.push_screen(PreviewScreen(session.host, change, allow_workload=allow_workload,
                                           apply_label=label), done)

    def _max_vcpus(self) -> int:
        return spec.MAXIMUMS[self.app.session.host.config.esx_version].vcpus_per_vm

    def action_edit_vm(self) -> None:
        name = self._vm_or_warn()
        if name:
            self.edit_vm(name)

    def edit_vm(self, name: str) -> None:
        from memtui.ui.forms import FormSpec, vm_checks, vm_fields
        if not self._writable():
            return
        session = self.app.session
        host = session.host
        config = host.vms[host.index(name)]
        on_ = config.power == "on"
        fields = vm_fields(config, on_, self._max_vcpus())
        initial = {f.key: (f.text if f.parse is None else f.parse(str(f.text))) for f in fields}

        def apply(changes: dict) -> str:
            session.set_vm(name, **changes)
            return f"{name}: " + ", ".join(f"{k} = {_show(v)}" for k, v in changes.items())

        title = Text("Edit VM ")
        title.append(name, style="bold")
        intro = "Admission control applies to a raised reservation."
        if on_:
            intro = f"{name} is powered on: power it off to change its memory or vCPUs. " + intro

        def preview(changes: dict, then) -> None:
            self.preview_change({"vm": name, "set": dict(changes)}, then)

        self._open_form(FormSpec(title, fields, apply, vm_checks, initial=initial, intro=intro,
                                 preview=preview))

    def action_edit_workload(self) -> None:
        name = self._vm_or_warn()
        if name:
            self.edit_workload(name)

    def edit_workload(self, name: str) -> None:
        from memtui.ui.forms import FormSpec, workload_checks, workload_fields
        if not self._writable() or not self._lab_allows("workload"):
            return
        session = self.app.session
        host = session.host
        config = host.vms[host.index(name)]
        fields = workload_fields(config)
        initial = {f.key: f.parse(str(f.text)) for f in fields if f.parse is not None}

        def apply(changes: dict) -> str:
            session.set_workload(name, **changes)
            return f"{name} workload: " + ", ".join(f"{k} = {_show(v)}" for k, v in changes.items())

        title = Text("Workload of ")
        title.append(name, style="bold")

        def preview(changes: dict, then) -> None:
            self.preview_change({"vm": name, "workload": dict(changes)}, then)

        self._open_form(FormSpec(title, fields, apply, workload_checks, initial=initial,
                                 intro="What the guest does: the model's input, not what the host sees.",
                                 preview=preview))

    def action_add_vm(self) -> None:
        from memtui.config import VMConfig, Workload
        from memtui.ui.forms import (
            FormSpec,
            add_vm_checks,
            add_vm_fields,
            new_vm_template,
            parse_active,
        )
        if not self._writable() or not self._lab_allows("vms"):
            return
        session = self.app.session
        taken = {vm.name for vm in session.host.vms}
        template = new_vm_template(taken)
        fields = add_vm_fields(template, taken, self._max_vcpus())

        def apply(values: dict) -> str:
            active = parse_active(values.pop("active_mb"), values["memory_mb"])
            power = values.pop("power")
            vm = VMConfig(**values, power="off", workload=Workload(active_mb=active))
            session.add_vm(vm)
            self.table.want_selected = vm.name
            if power:
                try:
                    session.power_on(vm.name)
                except _refusals() as exc:
                    self.app.notify(f"{vm.name} added but left powered off: {exc}",
                                    severity="warning", markup=False, timeout=10)
                    return ""
            return f"{vm.name} added" + (" and powered on" if power else "")

        self._open_form(FormSpec("Add a VM", fields, apply, add_vm_checks, apply_label="Add",
                                 only_changed=False))

    def action_clone_vm(self) -> None:
        name = self._vm_or_warn()
        if name:
            self.clone_vm(name)

    def clone_vm(self, name: str) -> None:
        from memtui.ui.forms import Field, FormSpec, parse_name
        if not self._writable() or not self._lab_allows("vms"):
            return
        session = self.app.session
        taken = {vm.name for vm in session.host.vms}
        proposal = f"{name}-clone"
        i = 2
        while proposal in taken:
            proposal = f"{name}-clone{i}"
            i += 1

        def apply(values: dict) -> str:
            session.clone_vm(name, values["name"])
            self.table.want_selected = values["name"]
            return f"{name} cloned as {values['name']} (powered off)"

        title = Text("Clone ")
        title.append(name, style="bold")
        self._open_form(FormSpec(
            title, [Field("name", "New name", proposal, lambda t: parse_name(t, taken))], apply,
            apply_label="Clone", only_changed=False,
            intro="The clone has the same settings and workload, and starts powered off."))

    def action_delete_vm(self) -> None:
        name = self._vm_or_warn()
        if name:
            self.delete_vm(name)

    def delete_vm(self, name: str) -> None:
        from memtui.ui.dialogs import ConfirmScreen
        if not self._writable() or not self._lab_allows("vms"):
            return

        def done(choice: str | None) -> None:
            if choice == "delete":
                try:
                    self.app.session.remove_vm(name)
                except _refusals() as exc:
                    self._report(exc)
                else:
                    self.app.notify(f"{name} deleted.", markup=False)
                self.app.refresh_view()

        self.app.push_screen(ConfirmScreen(
            Text(f"Delete VM {name}?"),
            Text(f"{name} is powered off and removed from the host. Saving the profile makes "
                 "this permanent."),
            [("delete", "Delete", "error"), ("cancel", "Cancel", "default")]), done)

    # ---------------------------------------------------------------- advanced settings

    def edit_advanced(self, name: str) -> None:
        from memtui.ui.forms import FormSpec, advanced_field
        if not self._writable():
            return
        session = self.app.session
        s = spec.ADVANCED_SETTINGS[name]
        if not spec.version_at_least(session.host.config.esx_version, s.since):
            self.app.notify(f"{name} exists from ESX {s.since} on; this host runs "
                            f"{session.host.config.esx_version}.", severity="warning", markup=False)
            return
        value = session.host.advanced[name]
        f = advanced_field(name, value)

        def apply(values: dict) -> str:
            session.set_advanced(name, values["value"])
            return f"{name} = {values['value']}"

        def preview(values: dict, then) -> None:
            self.preview_change({"set": {name: values["value"]}}, then)

        self._open_form(FormSpec(Text(f"Advanced setting {name}"), [f], apply,
                                 initial={"value": value}, intro=s.meaning, preview=preview))

    def reset_advanced(self, name: str) -> None:
        if not self._writable():
            return
        s = spec.ADVANCED_SETTINGS[name]
        try:
            self.app.session.set_advanced(name, s.default)
        except _refusals() as exc:
            self._report(exc)
        else:
            self.app.notify(f"{name} = {s.default} (default)", markup=False)
        self.app.refresh_view()

    def _open_form(self, form: FormSpec) -> None:
        from memtui.ui.forms import FormScreen
        def done(message: str | None) -> None:
            if message:
                self.app.notify(message, markup=False)
            self.app.refresh_view()

        self.app.push_screen(FormScreen(form), done)

    # ---------------------------------------------------------------- profiles

    def action_save(self) -> None:
        if not self._writable():
            return
        session = self.app.session
        if session.path is None or session.is_bundled() or session.restricted and not _inside(
                Path(session.path), paths.user_profiles_dir()):
            self.action_save_as()
            return
        try:
            target = session.save()
        except (OSError, ValueError, ReadOnlyError) as exc:
            self.app.notify(f"Not saved: {exc}", title="Save failed", severity="error",
                            markup=False, timeout=10)
        else:
            self.app.notify(f"Saved {target}", markup=False)
        self.update_status()

    def action_save_as(self, then=None) -> None:
        from memtui.ui.dialogs import SaveAsScreen
        if not self._writable():
            return
        session = self.app.session
        confirmed: dict[str, Path] = {}

        def save(text: str) -> str | None:
            try:
                target = session.resolve_save_path(text)
            except ValueError as exc:
                return str(exc)
            current = Path(session.path).resolve() if session.path else None
            if target.exists() and target.resolve() != current and confirmed.get("path") != target:
                confirmed["path"] = target
                return f"{target} exists: press Enter again to overwrite it"
            try:
                saved = session.save(target)
            except (OSError, ValueError, ReadOnlyError) as exc:
                return f"Not saved: {exc}"
            self.app.notify(f"Saved {saved}", markup=False)
            return None

        def done(path: Path | None) -> None:
            self.update_status()
            if then is not None and path is not None:
                then()

        default = session.default_save_path()
        # A bare name goes to the user's profile folder: propose just the name there.
        in_folder = default.parent == paths.user_profiles_dir()
        shown = default.name if session.restricted or in_folder else str(default)
        self.app.push_screen(SaveAsScreen(shown, paths.user_profiles_dir(), save,
                                          restricted=session.restricted), done)

    def action_open(self) -> None:
        self.app.leave_lab(lambda: self.app.confirm_discard(self._open_dialog, "Open another profile"),
                           "Open another profile")

    def _open_dialog(self) -> None:
        from memtui.ui.dialogs import OpenProfileScreen
        session = self.app.session
        loaded = {}
        labs_dir = paths.bundled_labs_dir()

        def load(path: Path) -> list[str]:
            if session.restricted and not (
                    _inside(path, paths.user_profiles_dir()) or _inside(path, paths.bundled_profiles_dir())
                    or _inside(path, labs_dir)):
                return ["restricted mode: only the listed profiles can be opened"]
            if _inside(path, labs_dir):
                loaded["lab"] = path.stem  # a lab opens as a lab: briefing, objectives, result
                return []
            problems, new = self.app.load_session(path)
            if new is not None:
                loaded["session"] = new
            return problems

        def done(path: Path | None) -> None:
            if path is None:
                return
            if "lab" in loaded:  # asked already about a running lab and unsaved changes
                self.app.open_lab(loaded["lab"], ask=False)
            elif "session" in loaded:
                self.app.replace_session(loaded["session"])
                self.app.notify(f"Opened {path}", markup=False)

        self.app.push_screen(OpenProfileScreen(list_profiles(session.restricted),
                                               not session.restricted, load), done)

    def action_new_from_machine(self) -> None:
        if not self._writable():
            return
        self.app.leave_lab(
            lambda: self.app.confirm_discard(self.app.new_from_machine, "New profile from this machine"),
            "New profile from this machine")

    def reset_panes(self) -> None:
        """A new session: forget what the panes showed."""
        if self._side_ready:
            self.query_one("#event-log").reset()
            self.query_one("#why").reset()
        self._pending_events = []
        self._advanced_rev = -1
        self.snapshot = None

    # ---------------------------------------------------------------- labs

    def session_changed(self) -> None:
        """A session is there (loaded, or another one opened): set the lab pane up for it."""
        session = self.app.session
        self.query_one("#vm-empty", Static).update(
            Text("No VMs on this host: press a to add one."))
        if not self._side_ready and not self._filling:
            self._filling = True
            self.call_after_refresh(self._fill_side)
        self.refresh_bindings()
        if not self._side_ready or session is None:
            return
        pane = self.query_one("#lab-pane")
        pane.set_lab(session.lab, self.app.lab_progress)
        if session.lab is None and self.active_view == "lab":
            self._list_labs()
        self._update_lab()

    def _update_lab(self) -> None:
        session = self.app.session
        if not self._side_ready or session is None:
            return
        pane: LabPane = self.query_one("#lab-pane")
        if session.lab is None:
            if not pane.labs_listed:
                self._list_labs()
            return
        pane.update_from(session.running)

    def _list_labs(self) -> None:
        """Fill the lab pane's list of labs (read in a worker: ten files to parse)."""
        pane: LabPane = self.query_one("#lab-pane")
        if pane.labs_listed or getattr(self, "_listing_labs", False):
            return
        self._listing_labs = True

        def read() -> list[tuple[str, int, str, str]]:
            return self.app.lab_catalog.rows()

        def done(rows: list) -> None:
            self._listing_labs = False
            try:
                self.query_one("#lab-pane").list_labs(rows)
            except NoMatches:
                pass

        worker = self.run_worker(read, thread=True, name="list labs", exit_on_error=False)
        self._labs_worker = (worker, done)

    def on_worker_state_changed(self, event) -> None:
        from textual.worker import WorkerState

        pending = getattr(self, "_labs_worker", None)
        if pending is None or event.worker is not pending[0]:
            return
        if event.state == WorkerState.SUCCESS:
            self._labs_worker = None
            pending[1](event.worker.result)
        elif event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            self._labs_worker = None
            self._listing_labs = False

    def lab_ended(self) -> None:
        """The lab has ended: show its result."""
        self.refresh_bindings()
        if self._side_ready:
            self.query_one("#lab-pane").set_progress(self.app.lab_progress)
        self.show_view("lab")
        self.update_status()

    def action_lab_hint(self) -> None:
        session = self.app.session
        lab = session.lab
        if lab is None:
            self.app.notify("No lab is running: open one with lab: open in the command palette "
                            "(:), or from the lab pane (7).", markup=False)
            return
        if lab.finished:
            self.app.notify("The lab has ended: hints are for a running lab.", markup=False)
            return
        result = lab.apply({"hint": True})
        self.refresh_bindings()
        if result.ok:
            self.app.notify(result.message, title=f"Hint {lab.hints_used} of {len(lab.lab.hints)}",
                            markup=False, timeout=20)
        else:
            self.app.notify("No more hints in this lab.", markup=False)
        self._update_lab()

    def lab_answer(self, question: str | None, text: str) -> None:
        from memtui.ui.labpane import parse_answer

        lab = self.app.session.lab
        if lab is None:
            return
        try:
            value = parse_answer(text)
        except ValueError as exc:
            if question:
                self.query_one("#lab-pane").note_answer(question, str(exc))
            return
        action = {"answer": value} if question is None else {"answer": value, "question": question}
        result = lab.apply(action)
        if not result.ok and question:
            self.query_one("#lab-pane").note_answer(question, f"Refused: {result.message}")
        elif result.correct:
            self.app.notify(f"Right: {result.message}", markup=False)
        self._update_lab()
        self.app.check_lab()

    def focus_answer(self) -> None:
        """Show the lab pane with the cursor in the first open question's answer field."""
        self.show_view("lab")
        for field in self.query(".lab-answer"):
            if not field.disabled:
                field.focus()
                field.scroll_visible()
                return

    def lab_end(self) -> None:
        """Give up: end the running lab (asks first)."""
        from memtui.ui.dialogs import ConfirmScreen

        session = self.app.session
        if session.lab is None or session.lab.finished:
            self.app.notify("No lab is running.", markup=False)
            return

        def done(choice: str | None) -> None:
            if choice == "end":
                self.app.end_lab()

        self.app.push_screen(ConfirmScreen(
            Text(f"End the lab {session.lab.lab.name} now?"),
            Text("Objectives not decided yet fail; the result is kept with your progress."),
            [("end", "End the lab", "error"), ("cancel", "Keep going", "default")]), done)

    def on_lab_pane_answer(self, event) -> None:
        self.lab_answer(event.question, event.text)

    def on_lab_pane_hint(self, event) -> None:
        self.action_lab_hint()

    def on_lab_pane_end(self, event) -> None:
        self.lab_end()

    def on_lab_pane_open(self, event) -> None:
        self.app.open_lab(event.name)


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().parent == folder.resolve()
    except OSError:
        return False


def _show(value) -> str:
    if value is None:
        return "none"
    return str(value)
