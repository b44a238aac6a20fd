"""The main screen: lays out the panes, answers the keys, and feeds every pane from a snapshot.

Layout, top to bottom: status line; host memory (esxtop header lines, and the bar of what the
host's memory is made of); the VM list; the secondary panes in tabs (VM details, charts, memory
map, event log, advanced settings); the footer. On a small terminal (under 100 columns or 36
lines) the secondary panes fold away: a view key (1 to 5, Enter on a VM) shows one in place of
the VM list, Esc comes back. Below MIN_SIZE a message says what size is needed.

New secondary panes (labs, "why", what-if) are one more `TabPane` in `SIDE_VIEWS` order and one
more case in `_update_side`.
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
from textual.widgets import Footer, Static, TabbedContent, TabPane

from memtui import paths, spec
from memtui.config import VMConfig, Workload
from memtui.metrics import LogEvent, Snapshot
from memtui.model import AdmissionError, SettingError
from memtui.ui import optional
from memtui.ui.columns import DEFAULT_COLUMNS
from memtui.ui.hostpane import HostHeader
from memtui.ui.session import SPEEDS_X, ReadOnlyError, list_profiles
from memtui.ui.settings import REFRESH_CHOICES_S
from memtui.ui.status import ClockInfo, FileInfo, StatusLine, speed_text
from memtui.ui.vmdetail import VMDetail, VMInfo
from memtui.ui.vmtable import FilterBar, VMTable

if TYPE_CHECKING:
    from memtui.ui.app import MemtuiApp
    from memtui.ui.forms import FormSpec

# Dialogs and forms are imported when first needed, not before the first frame.

MIN_SIZE = (80, 24)
FOLD_BELOW = (100, 36)  # secondary panes fold away below this width or height
SIDE_BESIDE_HEADER_W = 124
SHORT_BELOW_H = 30  # a folded-away pane shown on a short screen hides the host lines too  # from this width the host bar sits beside the esxtop lines
SIDE_LABELS = (("vm", "1 VM"), ("charts", "2 Charts"), ("map", "3 Map"), ("log", "4 Log"),
               ("advanced", "5 Advanced"))
SIDE_VIEWS = tuple(view for view, _ in SIDE_LABELS)
CHART_INTERVAL_S = 1.0  # charts redraw at most once a second
SELECTION_SETTLE_S = 0.06  # the selected VM's panes follow the cursor once it rests this long


def _text(s: str) -> Text:
    return Text(s)


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
        Binding("escape", "back", "Back", show=False, id="ui.back"),
        Binding("ctrl+s", "save", "Save", show=False, id="profile.save"),
        Binding("W", "save_as", "Write", show=False, id="profile.write"),
        Binding("ctrl+o", "open", "Open", show=False, id="profile.open"),
    ]

    EDITING_ACTIONS = frozenset({
        "edit_vm", "edit_workload", "power", "add_vm", "clone_vm", "delete_vm", "save", "save_as",
    })

    def __init__(self) -> None:
        super().__init__(id="main")
        self.snapshot: Snapshot | None = None
        self._last_chart_t = 0.0
        self._advanced_rev = -1
        self._folded = False
        self._side_open = False
        self._side_timer = None
        self._side_ready = False
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
                yield FilterBar(id="filter")
                yield VMTable(columns=settings.columns, sort=settings.sort, reverse=settings.reverse,
                              id="vm-table")
                yield Static("No VMs on this host: press a to add one.", id="vm-empty")
            with TabbedContent(id="side", initial="tab-vm"):
                # Filled after the first frame (_fill_side): the VM list shows at once.
                for view, label in SIDE_LABELS:
                    yield TabPane(label, id=f"tab-{view}")
        yield Static("", id="too-small", markup=False)
        yield Footer(id="footer", compact=True)

    def on_mount(self) -> None:
        self.query_one(FilterBar).display = False
        self.query_one("#vm-empty").display = False
        self.query_one(VMTable).focus()
        self._apply_size(self.size.width, self.size.height)
        self.app.main_ready()
        self.call_after_refresh(self._fill_side)

    async def _fill_side(self) -> None:
        """Mount the secondary panes' widgets (after the first frame: they are not needed for
        it, and the charts' plotting library takes a while to load)."""
        from memtui.ui.advanced import AdvancedTable
        from memtui.ui.eventlog import EventLog

        host_chart = optional.widget("charts", "HostChart")
        vm_chart = optional.widget("charts", "VMChart")
        memmap = optional.widget("memmap", "MemoryMap")
        contents = {
            "vm": [VMDetail(id="vm-detail")],
            "charts": [Vertical(
                host_chart(id="host-chart") if host_chart else optional.Placeholder(
                    "host chart (memtui/ui/charts.py)", id="host-chart"),
                vm_chart(id="vm-chart") if vm_chart else optional.Placeholder(
                    "VM chart (memtui/ui/charts.py)", id="vm-chart"),
                id="charts")],
            "map": [memmap(id="memory-map") if memmap else optional.Placeholder(
                "memory map, Figure 3-1 (memtui/ui/memmap.py)", id="memory-map")],
            "log": [EventLog(id="event-log")],
            "advanced": [AdvancedTable(id="advanced")],
        }
        try:
            for view, widgets in contents.items():
                await self.query_one(f"#tab-{view}", TabPane).mount_all(widgets)
            self.query_one("#event-log")
        except NoMatches:  # the app is closing
            return
        self._side_ready = True
        log = self.query_one("#event-log")
        log.add_events(self._pending_events)
        self._pending_events = []
        self._advanced_rev = -1
        if self.snapshot is not None:
            self._update_advanced()
            if self.side_visible:
                self._update_side(force=True)
        if self._focus_after_fill is not None:
            self.query_one(self._focus_after_fill).focus()
            self._focus_after_fill = None
        self.app.settle_memory()

    def _update_advanced(self) -> None:
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

    def _set_side_open(self, open_: bool) -> None:
        self._side_open = open_
        self.set_class(open_, "-side-open")

    @property
    def side_visible(self) -> bool:
        return not self._folded or self._side_open

    @property
    def active_view(self) -> str:
        active = self.query_one("#side", TabbedContent).active or "tab-vm"
        return active.removeprefix("tab-")

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
        file = FileInfo(session.title, session.dirty, session.readonly, session.restricted)
        self.query_one(StatusLine).update_from(self.snapshot, cfg.name, cfg.esx_version, clock, file)

    def vm_info(self, name: str | None) -> VMInfo | None:
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
            self.query_one(VMDetail).update_from(snap, history, selected, self.vm_info(selected),
                                                 host.thresholds)
        elif view == "charts":
            now = time.monotonic()
            if force or now - self._last_chart_t >= CHART_INTERVAL_S:
                self._last_chart_t = now
                self.query_one("#host-chart").update_from(snap, history, selected, host.thresholds)
                self.query_one("#vm-chart").update_from(snap, history, selected, host.thresholds)
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

    @on(TabbedContent.TabActivated, "#side")
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
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

    def on_advanced_table_edit(self, event) -> None:
        """Enter, e or d in the advanced settings pane (AdvancedTable.Edit)."""
        if event.reset:
            self.reset_advanced(event.name)
        else:
            self.edit_advanced(event.name)

    # ---------------------------------------------------------------- guards

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.EDITING_ACTIONS and self.app.session.readonly:
            return None  # shown disabled in the footer; the key tells why
        return True

    def _writable(self) -> bool:
        if self.app.session.readonly:
            self.app.notify("Read-only (--readonly): nothing can be changed or saved.",
                            severity="warning", markup=False)
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

    def action_filter(self) -> None:
        bar = self.query_one(FilterBar)
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
        if not self.table.select(name) and self.table.filter_text:
            self.query_one(FilterBar).value = ""
            self.table.set_filter("")
            self.table.select(name)
        self.table.focus()

    # ---------------------------------------------------------------- views

    def action_view(self, view: str) -> None:
        self.show_view(view)

    def show_view(self, view: str) -> None:
        tabs = self.query_one("#side", TabbedContent)
        tabs.active = f"tab-{view}"
        if self._folded:
            self._set_side_open(True)
        self._update_side(force=True)
        pane = {"log": "#event-log", "advanced": "#advanced"}.get(view)
        if pane is not None and not self._side_ready:
            self._focus_after_fill = pane
        elif pane is not None:
            self.query_one(pane).focus()
        elif self._folded:
            self.query_one(f"#tab-{view}").focus()

    def action_back(self) -> None:
        if self._folded and self._side_open:
            self._set_side_open(False)
            self.table.focus()
        elif self.focused is not self.table:
            self.table.focus()
        elif self.table.filter_text:
            self.query_one(FilterBar).action_clear()

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
        if not self._writable():
            return
        try:
            self.app.session.power_on(name)
        except (AdmissionError, SettingError, KeyError) as exc:
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
                except (SettingError, KeyError) as exc:
                    self._report(exc)
                self.app.refresh_view()

        self.app.push_screen(ConfirmScreen(
            Text(f"Power off {name}?"),
            Text(f"{name} stops at once, as if its power were cut: its guest memory is gone, its "
                 "reservation and overhead are released."),
            [("off", "Power off", "error"), ("cancel", "Cancel", "default")]), done)

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
        self._open_form(FormSpec(title, fields, apply, vm_checks, initial=initial, intro=intro))

    def action_edit_workload(self) -> None:
        name = self._vm_or_warn()
        if name:
            self.edit_workload(name)

    def edit_workload(self, name: str) -> None:
        from memtui.ui.forms import FormSpec, workload_checks, workload_fields
        if not self._writable():
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
        self._open_form(FormSpec(title, fields, apply, workload_checks, initial=initial,
                                 intro="What the guest does: the model's input, not what the host sees."))

    def action_add_vm(self) -> None:
        from memtui.ui.forms import (
            FormSpec,
            add_vm_checks,
            add_vm_fields,
            new_vm_template,
            parse_active,
        )
        if not self._writable():
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
                except AdmissionError as exc:
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
        if not self._writable():
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
        if not self._writable():
            return

        def done(choice: str | None) -> None:
            if choice == "delete":
                try:
                    self.app.session.remove_vm(name)
                except KeyError as exc:
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

        self._open_form(FormSpec(Text(f"Advanced setting {name}"), [f], apply,
                                 initial={"value": value}, intro=s.meaning))

    def reset_advanced(self, name: str) -> None:
        if not self._writable():
            return
        s = spec.ADVANCED_SETTINGS[name]
        try:
            self.app.session.set_advanced(name, s.default)
        except SettingError as exc:
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
        shown = default.name if session.restricted else str(default)
        self.app.push_screen(SaveAsScreen(shown, paths.user_profiles_dir(), save), done)

    def action_open(self) -> None:
        self.app.confirm_discard(self._open_dialog, "Open another profile")

    def _open_dialog(self) -> None:
        from memtui.ui.dialogs import OpenProfileScreen
        session = self.app.session
        loaded = {}

        def load(path: Path) -> list[str]:
            if session.restricted and not (
                    _inside(path, paths.user_profiles_dir()) or _inside(path, paths.bundled_profiles_dir())
                    or _inside(path, paths.bundled_labs_dir())):
                return ["restricted mode: only the listed profiles can be opened"]
            problems, new = self.app.load_session(path)
            if new is not None:
                loaded["session"] = new
            return problems

        def done(path: Path | None) -> None:
            if path is not None and "session" in loaded:
                self.app.replace_session(loaded["session"])
                self.app.notify(f"Opened {path}", markup=False)

        self.app.push_screen(OpenProfileScreen(list_profiles(), not session.restricted, load), done)

    def action_new_from_machine(self) -> None:
        if not self._writable():
            return
        self.app.confirm_discard(self.app.new_from_machine, "New profile from this machine")

    def reset_panes(self) -> None:
        """A new session: forget what the panes showed."""
        if self._side_ready:
            self.query_one("#event-log").reset()
        self._pending_events = []
        self._advanced_rev = -1
        self.snapshot = None


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().parent == folder.resolve()
    except OSError:
        return False


def _show(value) -> str:
    if value is None:
        return "none"
    return str(value)
