"""What-if: before a change is applied, run a copy of the host ahead (10 simulated minutes by
default) with and without it, and show the figures that matter before and after. Apply applies
the change to the live host; Back leaves everything as it was.

The copy is taken on the UI thread (`Host.fork()`, a few milliseconds) and run in a thread
worker, so the screen and the live clock go on while it runs; the live host is never touched.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static
from textual.worker import Worker, WorkerState

from memtui.ui.buttons import FocusButton

FORMS_CSS = Path(__file__).with_name("forms.tcss")

if TYPE_CHECKING:
    from memtui.practice.whatif import Preview, Row

DEFAULT_SECONDS = 600  # memtui.practice.whatif.DEFAULT_SECONDS, without importing it before it is needed
SHOW_ALL_UP_TO_VMS = 8  # with more VMs, only those whose figures change are listed at first
FIGURE_WORDS = {
    "state": "state", "free_mb": "free", "balloon_mb": "balloon MCTLSZ",
    "swapped_mb": "swapped SWCUR", "zipped_mb": "compressed ZIP", "unreserved_mb": "unreserved",
    "power": "power", "consumed_mb": "consumed", "target_mb": "target SZTGT",
    "throughput_pct": "throughput %", "mem_latency_pct": "latency %",
    "throughput_mean_pct": "thrpt mean %", "throughput_low_pct": "thrpt low %",
}
VM_SHOWN = ("power", "consumed_mb", "target_mb", "balloon_mb", "swapped_mb", "zipped_mb",
            "throughput_mean_pct", "throughput_low_pct")


def _cell(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:,.0f}"
    return str(x)


def _diff(r: Row) -> Text:
    if r.after is None or not r.changed:
        return Text("")
    if isinstance(r.before, float) and isinstance(r.after, float):
        return Text(f"{r.after - r.before:+,.0f}", style="bold")
    return Text("changes", style="bold")


def preview_table(p: Preview, show_all: bool) -> tuple[Table, int]:
    """The before / after table, and how many VMs were left out (unchanged ones)."""
    t = Table(box=None, padding=(0, 1), show_edge=False, pad_edge=False, header_style="bold")
    t.add_column("", no_wrap=True, max_width=14, overflow="ellipsis")
    t.add_column("figure", no_wrap=True)
    t.add_column("now", justify="right", no_wrap=True)
    t.add_column(f"in {p.seconds // 60} min\nwithout", justify="right", no_wrap=True)
    t.add_column("with the\nchange", justify="right", no_wrap=True)
    t.add_column("diff", justify="right", no_wrap=True)
    rows = p.rows()
    changed_vm = p.change.get("vm")
    by_vm: dict[str | None, list[Row]] = {}
    for r in rows:
        by_vm.setdefault(r.who, []).append(r)
    zipped_any = any(r.figure == "zipped_mb" and any(isinstance(x, float) and x > 0
                                                     for x in (r.now, r.before, r.after))
                     for r in rows)
    hidden = 0
    for who, group in by_vm.items():
        if who is not None and not show_all and who != changed_vm and not any(r.changed for r in group):
            hidden += 1
            continue
        first = True
        for r in group:
            if who is not None and r.figure not in VM_SHOWN:
                continue
            if r.figure == "zipped_mb" and not zipped_any:
                continue
            if r.figure == "power" and not r.changed:
                continue
            style = "bold" if r.changed else ""
            t.add_row(Text("host" if who is None else who, style="bold") if first else "",
                      Text(FIGURE_WORDS.get(r.figure, r.figure), style=style),
                      _cell(r.now), _cell(r.before), Text(_cell(r.after), style=style), _diff(r))
            first = False
    return t, hidden


class PreviewScreen(ModalScreen[bool]):
    """Shows what a change would do; dismisses with True (apply it) or False."""

    CSS_PATH = FORMS_CSS  # read when the first dialog opens, not before the first frame

    BINDINGS = [
        Binding("escape", "cancel", "Back", id="preview.cancel"),
        Binding("a", "toggle_all", "All VMs", id="preview.all"),
        Binding("j", "scroll(1)", "Down", show=False, id="preview.down"),
        Binding("k", "scroll(-1)", "Up", show=False, id="preview.up"),
    ]

    def __init__(self, host, change: dict, *, allow_workload: bool = True,
                 seconds: int | None = None, apply_label: str = "Apply") -> None:
        super().__init__(classes="dialog-screen")
        self.host = host
        self.change = change
        self.allow_workload = allow_workload
        self.seconds = DEFAULT_SECONDS if seconds is None else seconds
        self.apply_label = apply_label
        self.result: Preview | None = None
        self.show_all = len(host.vms) <= SHOW_ALL_UP_TO_VMS
        self._stop = False

    def compose(self) -> ComposeResult:
        from memtui.practice.whatif import describe_change

        with Vertical(id="preview", classes="dialog"):
            yield Static(Text(f"What if {describe_change(self.change)}?"), classes="dialog-title",
                         markup=False)
            yield Static(Text(
                f"Running a copy of the host {self.seconds // 60} simulated minutes ahead, with and "
                "without the change... (the live run is not touched)"), id="preview-status",
                markup=False)
            with VerticalScroll(id="preview-body"):
                yield Static("", id="preview-table", markup=False)
            yield Static("", id="preview-error", markup=False)
            with Horizontal(id="preview-buttons"):
                yield Static(Text("a: all VMs / changed only · Esc back"), id="preview-keys",
                             markup=False)
                yield FocusButton("Back", id="preview-back", compact=True)
                yield FocusButton(self.apply_label, id="preview-apply", variant="primary",
                             disabled=True, compact=True)

    def on_mount(self) -> None:
        self.query_one("#preview-error", Static).display = False
        self.query_one("#preview-back", Button).focus()
        fork = self.host.fork()  # on the UI thread, between two steps of the live host
        self.run_worker(lambda: self._compute(fork), thread=True, name="what-if preview",
                        exit_on_error=False)

    def _compute(self, fork) -> Preview:
        from memtui.practice.whatif import preview

        return preview(fork, self.change, self.seconds, self.allow_workload,
                       cancelled=lambda: self._stop)

    def on_unmount(self) -> None:
        self._stop = True

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "what-if preview":
            return
        if event.state == WorkerState.SUCCESS:
            self.result = event.worker.result
            self._show()
        elif event.state == WorkerState.ERROR:
            self._error(f"The preview failed: {event.worker.error}")

    def _error(self, message: str) -> None:
        box = self.query_one("#preview-error", Static)
        box.update(Text(message))
        box.display = True

    def _show(self) -> None:
        p = self.result
        if p is None:
            return
        status = self.query_one("#preview-status", Static)
        if p.error:
            status.update(Text(f"The host would refuse it, and nothing would change: {p.error}"))
            self._error(f"Refused: {p.error}")
            self._table(preview_table(p, self.show_all)[0])
            return
        table, hidden = preview_table(p, self.show_all)
        words = (f"In {p.seconds // 60} simulated minutes, without and with the change (bold: "
                 f"figures that differ). The live run goes on untouched.")
        if hidden:
            words += f" {hidden} VM{'s' if hidden != 1 else ''} whose figures do not change are left out (a shows them)."
        status.update(Text(words))
        self._table(table)
        apply = self.query_one("#preview-apply", Button)
        apply.disabled = False
        apply.focus()

    def _table(self, table: Table) -> None:
        self.query_one("#preview-table", Static).update(table)
        self._table_rows = table.row_count + 2  # two header lines
        self._fit()

    def _fit(self) -> None:
        """The table's own height, or what the screen leaves for it (the rest of the dialog
        takes about 12 lines); it scrolls beyond."""
        rows = getattr(self, "_table_rows", 1)
        room = max(3, self.app.size.height - 12)
        self.query_one("#preview-body").styles.height = min(rows, room)

    def on_resize(self) -> None:
        self._fit()

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self._show()

    def action_scroll(self, lines: int) -> None:
        self.query_one("#preview-body").scroll_relative(y=lines, animate=False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "preview-apply":
            self.dismiss(True)
        else:
            self.dismiss(False)

    def action_cancel(self) -> None:
        self.dismiss(False)
