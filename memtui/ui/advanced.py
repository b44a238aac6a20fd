"""Advanced settings (Mem.*): value, default, range and a one-line meaning each. Enter edits the
setting under the cursor."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from memtui import spec

COLUMNS = (("setting", "Setting", 24), ("value", "Value", 10), ("default", "Default", 8),
           ("range", "Range", 10), ("meaning", "Meaning", 60))


class AdvancedTable(DataTable):
    """One row per advanced setting, keyed by its name."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="advanced.down"),
        Binding("k", "cursor_up", "Up", show=False, id="advanced.up"),
        Binding("e", "edit", "Edit setting", id="advanced.edit"),
        Binding("d", "reset", "Default", id="advanced.reset"),
    ]

    class Edit(Message):
        def __init__(self, name: str, reset: bool = False) -> None:
            super().__init__()
            self.name = name
            self.reset = reset

    class Highlighted(Message):
        """The cursor is on another setting."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self, **kw) -> None:
        super().__init__(cursor_type="row", **kw)
        self._shown: dict[str, tuple] = {}

    def on_mount(self) -> None:
        if getattr(self.app, "readonly", False):  # out of the footer; the keys say why
            import dataclasses

            table = self._bindings.key_to_bindings
            for key, bindings in table.items():
                table[key] = [dataclasses.replace(b, show=False) if b.action in ("edit", "reset") else b
                              for b in bindings]
        for key, label, width in COLUMNS:
            self.add_column(Text(label, justify="right") if key in ("value", "default") else label,
                            key=key, width=width)

    def update_from(self, advanced: dict[str, int], version: str) -> None:
        with self.app.batch_update():
            for name, s in spec.ADVANCED_SETTINGS.items():
                available = spec.version_at_least(version, s.since)
                value = advanced.get(name, s.default)
                changed = value != s.default
                row = (value, available, changed)
                if self._shown.get(name) == row:
                    continue
                style = "" if available else "dim"
                cells = {
                    "setting": Text(name + (" *" if changed and available else ""), style=style),
                    "value": Text(str(value) if available else f"n/a ({s.since}+)", style=style,
                                  justify="right"),
                    "default": Text(str(s.default), style=style, justify="right"),
                    "range": Text(f"{s.minimum}-{s.maximum}", style=style),
                    "meaning": Text(s.meaning, style=style),
                }
                if name not in self._shown:
                    self.add_row(*cells.values(), key=name)
                else:
                    for key, cell in cells.items():
                        self.update_cell(name, key, cell)
                self._shown[name] = row

    @property
    def selected_setting(self) -> str | None:
        if self.row_count == 0:
            return None
        names = list(spec.ADVANCED_SETTINGS)
        row = min(max(self.cursor_row, 0), len(names) - 1)
        return names[row]

    def action_edit(self) -> None:
        if self.selected_setting:
            self.post_message(self.Edit(self.selected_setting))

    def action_reset(self) -> None:
        if self.selected_setting:
            self.post_message(self.Edit(self.selected_setting, reset=True))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key is None or event.row_key.value not in spec.ADVANCED_SETTINGS:
            return
        self.post_message(self.Highlighted(str(event.row_key.value)))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.Edit(str(event.row_key.value)))
