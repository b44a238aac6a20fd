"""esxtop's `o`: the order of the VM list's field groups. An upper-case letter moves its group one
place left, a lower-case letter one place right; Enter applies, Esc backs out. `W` writes the
column choice to the field file (esxtop's `W` writes ~/.esxtop50rc), `R` reads it back."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from memtui.ui import esxtoprc

FORMS_CSS = Path(__file__).with_name("forms.tcss")


def order_table(columns: list[str], order: list[str]) -> Table:
    shown = {esxtoprc.GROUP_OF.get(k) for k in columns}
    t = Table(box=None, padding=(0, 1), show_edge=False, pad_edge=False, header_style="bold")
    t.add_column("key", no_wrap=True)
    t.add_column("group", no_wrap=True)
    t.add_column("", no_wrap=True)
    t.add_column("columns (those shown)", ratio=1)
    for letter in order:
        g = esxtoprc.BY_LETTER[letter]
        on = letter in shown
        cols = [k for k in columns if esxtoprc.GROUP_OF.get(k) == letter] if on else list(g.keys)
        t.add_row(Text(letter if on else letter.lower(), style="bold"), Text(g.title),
                  Text("shown" if on else "hidden", style="" if on else "dim"),
                  Text(" ".join(cols), style="" if on else "dim"))
    return t


class FieldOrderScreen(ModalScreen[list[str] | None]):
    """Reorder the field groups; dismisses with the new columns, or None."""

    CSS_PATH = FORMS_CSS
    BINDINGS = [
        Binding("escape", "cancel", "Back", id="order.cancel"),
        Binding("enter", "apply", "Apply", priority=True, id="order.apply"),
    ]

    def __init__(self, columns: list[str], *, files: bool = True, path: Path | None = None) -> None:
        """`files`: whether W and R may write and read the field file (not in restricted mode)."""
        super().__init__(classes="dialog-screen")
        self.columns = list(columns)
        self.order = esxtoprc.group_order(self.columns)
        self.files = files
        self.path = path
        self.message = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="field-order", classes="dialog"):
            yield Static("Order of the VM list's fields (esxtop's o)", classes="dialog-title")
            yield Static("", id="order-table", markup=False)
            yield Static("", id="order-letters", markup=False)
            keys = "A-L move a group (upper case left, lower right) · Enter applies"
            if self.files:
                keys += " · W/R write/read the field file"
            yield Static(Text(keys + " · Esc"), classes="dialog-keys order-keys", markup=False)

    def on_mount(self) -> None:
        self._show()

    @property
    def file_path(self) -> Path:
        return self.path if self.path is not None else esxtoprc.default_path()

    def _show(self) -> None:
        self.columns = esxtoprc.reorder(self.columns, self.order)
        self.query_one("#order-table", Static).update(order_table(self.columns, self.order))
        line = Text(f"esxtop notation: {esxtoprc.letters(self.columns)}")
        if self.message:
            line.append(f"\n{self.message}")
        self.query_one("#order-letters", Static).update(line)

    def on_key(self, event: events.Key) -> None:
        ch = event.character or ""
        if len(ch) != 1 or not ch.isalpha():
            return
        if ch.upper() in esxtoprc.BY_LETTER:
            event.stop()
            self.order = esxtoprc.move(self.order, ch.upper(), -1 if ch.isupper() else 1)
            self.message = ""
            self._show()
        elif ch in ("W", "R"):
            event.stop()
            if not self.files:
                self.message = "The field file is not written or read in restricted mode."
            elif ch == "W":
                try:
                    where = esxtoprc.write(self.file_path, self.columns)
                    self.message = f"Written to {where}."
                except OSError as exc:
                    self.message = f"Cannot write {self.file_path}: {exc.strerror or exc}"
            else:
                try:
                    self.columns = esxtoprc.read(self.file_path)
                    self.order = esxtoprc.group_order(self.columns)
                    self.message = f"Read from {self.file_path}: Enter applies it."
                except esxtoprc.RcError as exc:
                    self.message = str(exc)
            self._show()

    def action_apply(self) -> None:
        self.dismiss(esxtoprc.reorder(self.columns, self.order))

    def action_cancel(self) -> None:
        self.dismiss(None)
