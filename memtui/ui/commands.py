"""The command palette (`:` and ctrl+p): namespaced commands such as "vm: power on web01",
"profile: save as...", "view: memory map"."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider

from memtui import spec
from memtui.session import SPEEDS_X
from memtui.ui.columns import COLUMN_LIST
from memtui.ui.screen import MainScreen
from memtui.ui.status import speed_text

Command = tuple[str, str, Callable[[], object], bool]  # (title, help, callback, discoverable)


def build_commands(main: MainScreen, labs: list[tuple[str, int, str, str]] | None = None) -> list[Command]:
    """Every command for the main screen now; `labs`: (name, level, progress, title) of the
    bundled labs, for "lab: open NAME"."""
    app = main.app
    session = app.session
    out: list[Command] = []

    def add(title: str, help_text: str, callback: Callable[[], object], discover: bool = True) -> None:
        out.append((title, help_text, callback, discover))

    if session is None:  # still loading the profile
        add("app: quit", "quit memtui (q)", app.action_quit)
        return out
    writable = not session.readonly

    selected = main.selected_vm
    add("sim: run / pause", "start or stop the simulation clock (space)", main.action_toggle_run)
    add("sim: step 1 second", "advance the paused clock by one second (.)", main.action_step)
    add("sim: step 1 minute", "advance the clock by 60 simulated seconds", partial(main.action_step, 60))
    add("sim: step 10 minutes", "advance the clock by 600 simulated seconds",
        partial(main.action_step, 600), False)
    for s in SPEEDS_X:
        add(f"sim: speed {speed_text(s)}", f"{s} simulated seconds per wall second",
            partial(main.set_speed, s), False)
    add("view: VM details", "the selected VM's settings, overhead, bar and history (1)",
        partial(main.show_view, "vm"))
    add("view: charts", "host and VM memory over time (2)", partial(main.show_view, "charts"))
    add("view: memory map", "Figure 3-1: guest virtual, guest physical and machine memory (3)",
        partial(main.show_view, "map"))
    add("view: event log", "state changes, power operations, refusals, settings (4)",
        partial(main.show_view, "log"))
    add("view: advanced settings", "Mem.* settings with default, range and meaning (5)",
        partial(main.show_view, "advanced"))
    add("view: why", "why the selected VM has its target, balloon, swap and compression, and why "
        "the host is in its state (6)", partial(main.show_view, "why"))
    add("view: lab", "the lab's briefing, objectives, time, hints and result; or the labs (7)",
        partial(main.show_view, "lab"))
    add("view: help", "keys, metrics and states (? or F1)", app.action_help)
    add("view: refresh delay...", "how often the screen is redrawn (s)", main.action_refresh_delay)
    add("table: choose columns...", "the esxtop columns of the VM list (f)", main.action_fields)
    add("table: filter...", "show only VMs whose name contains some text (/)", main.action_filter)
    add("table: invert sort", "flip the sort order (I)", main.action_invert_sort)
    for col in COLUMN_LIST:
        add(f"table: sort by {col.key}", col.meaning, partial(main.sort_by, col.key), False)
    add("profile: open...", "a bundled profile or one of yours (ctrl+o)", main.action_open)
    if writable:
        add("profile: save", "write the profile where it came from, keeping comments (ctrl+s)",
            main.action_save)
        add("profile: save as...", "write the profile to a new file (W)", main.action_save_as)
        add("profile: new from this machine", "a new host sized like the machine memtui runs on",
            main.action_new_from_machine)
        add("vm: add...", "create a VM (a)", main.action_add_vm)
    for vm in session.host.vms:
        name = vm.name
        first = name == selected
        add(f"vm: select {name}", "move the cursor to this VM", partial(main.select_vm, name), False)
        if writable:
            if vm.power == "on":
                add(f"vm: power off {name}", "asks first", partial(main.power_off, name), first)
            else:
                add(f"vm: power on {name}", "admission control applies",
                    partial(main.power_on, name), first)
            add(f"vm: edit {name}...", "memory, vCPUs, reservation, limit, shares, tools, balloon "
                "cap, page sharing", partial(main.edit_vm, name), first)
            add(f"vm: edit workload of {name}...", "the guest's working set and page contents",
                partial(main.edit_workload, name), first)
            add(f"vm: clone {name}...", "a powered-off copy under a new name",
                partial(main.clone_vm, name), first)
            add(f"vm: delete {name}...", "asks first", partial(main.delete_vm, name), False)
    if writable:
        for name, s in spec.ADVANCED_SETTINGS.items():
            if spec.version_at_least(session.host.config.esx_version, s.since):
                add(f"advanced: set {name}...", s.meaning, partial(main.edit_advanced, name), False)
    lab = session.lab
    if lab is not None and not lab.finished:
        add("lab: hint", f"the next hint ({lab.hints_used} of {len(lab.lab.hints)} used; each one "
            "counts in the result) (h)", main.action_lab_hint)
        if any(s.objective.kind == "answer" and s.status == "pending" for s in lab.statuses):
            add("lab: answer a question...", "type the number in the lab pane",
                main.focus_answer)
        add("lab: end (give up)...", "end the lab now: objectives not decided yet fail; the "
            "result is kept", main.lab_end)
    for name, level, progress, title in labs or []:
        from memtui.practice.labfile import LEVEL_WORDS

        add(f"lab: open {name}...", f"level {level} ({LEVEL_WORDS.get(level, level)}) · {progress} · "
            f"{title}", partial(app.open_lab, name), lab is None or lab.finished)
    add("app: quit", "asks first when there are unsaved changes (q)", app.action_quit)
    return out


class MemtuiCommands(Provider):
    """memtui's own commands."""

    async def startup(self) -> None:
        import asyncio

        screen = self.screen
        labs = None
        if isinstance(screen, MainScreen) and screen.app.session is not None:
            labs = await asyncio.to_thread(lambda: screen.app.lab_catalog.rows())
        self._commands: list[Command] = (build_commands(screen, labs)
                                         if isinstance(screen, MainScreen) else [])

    async def discover(self) -> Hits:
        for title, help_text, callback, discoverable in self._commands:
            if discoverable:
                yield DiscoveryHit(Text(title), callback, text=title, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback, _ in self._commands:
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, text=title, help=help_text)
