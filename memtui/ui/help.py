"""Help (`?`, F1): the keys, and what each metric and state means in a sentence."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from memtui.ui.columns import (
    COLUMN_LIST,
    HEADER_MEANINGS,
    NOT_MODELLED,
    STATE_MEANINGS,
    VCENTER_WORDS,
)

FORMS_CSS = Path(__file__).with_name("forms.tcss")

INTRO = (
    "memtui simulates the memory manager of a VMware ESX host. The top lines are esxtop's memory "
    "header; below them every VM with esxtop's memory columns. Change VMs and settings and watch "
    "the host react: the clock runs (space pauses), the panes follow. Every figure comes from the "
    "model; none is computed by the screen."
)


def _table(rows: list[tuple[str, str]], head: tuple[str, str]) -> Table:
    t = Table(box=None, padding=(0, 2, 0, 0), show_edge=False, expand=True)
    t.add_column(head[0], style="bold", no_wrap=True, min_width=14)
    t.add_column(head[1], ratio=1)
    for a, b in rows:
        t.add_row(Text(a), Text(b))
    return t


class HelpScreen(ModalScreen[None]):

    CSS_PATH = FORMS_CSS  # read when the first dialog opens, not before the first frame
    BINDINGS = [
        Binding("escape", "close", "Back", id="help.close"),
        Binding("q", "close", "Back", show=False, id="help.quit"),
        Binding("question_mark", "close", "Back", show=False, id="help.toggle"),
        Binding("f1", "close", "Back", show=False, id="help.f1"),
        Binding("j", "scroll(1)", "Down", show=False, id="help.down"),
        Binding("k", "scroll(-1)", "Up", show=False, id="help.up"),
    ]

    def __init__(self, keys: list[tuple[str, str, str]]) -> None:
        """`keys`: (group, keys, what they do)."""
        super().__init__(classes="help-screen")
        self.keys = keys

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(Text("memtui help  (Esc closes; ↑↓ PgUp PgDn scroll)", style="bold"),
                         classes="help-title", markup=False)
            yield Static(Text(INTRO), classes="help-text", markup=False)
            groups: dict[str, list[tuple[str, str]]] = {}
            for group, key, what in self.keys:
                groups.setdefault(group, []).append((key, what))
            for group, rows in groups.items():
                yield Static(Text(f"Keys: {group}", style="bold underline"), classes="help-head",
                             markup=False)
                yield Static(_table(rows, ("key", "what it does")), markup=False)
            yield Static(Text("Memory states", style="bold underline"), classes="help-head", markup=False)
            yield Static(_table(list(STATE_MEANINGS), ("state", "meaning")), markup=False)
            yield Static(Text("Host header (esxtop lines)", style="bold underline"),
                         classes="help-head", markup=False)
            yield Static(_table(list(HEADER_MEANINGS), ("line", "meaning")), markup=False)
            yield Static(Text("VM columns (f chooses them; < > or a click on the header sorts)",
                              style="bold underline"), classes="help-head", markup=False)
            yield Static(_table([(c.key, c.meaning) for c in COLUMN_LIST], ("column", "meaning")),
                         markup=False)
            yield Static(Text("vCenter's words beside esxtop's", style="bold underline"),
                         classes="help-head", markup=False)
            yield Static(_table([(f"{word} = {esx}", what) for word, esx, what in VCENTER_WORDS],
                                ("vCenter = esxtop", "meaning")), markup=False)
            yield Static(Text("esxtop fields not modelled", style="bold underline"),
                         classes="help-head", markup=False)
            yield Static(_table(list(NOT_MODELLED), ("field", "why not")), markup=False)

    def on_mount(self) -> None:
        self.query_one("#help").focus()

    def action_scroll(self, lines: int) -> None:
        self.query_one("#help").scroll_relative(y=lines, animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
