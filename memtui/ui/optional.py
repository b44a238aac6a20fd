"""Pane widgets written elsewhere (charts, memory map, memory bars), found when they exist.

`memtui/ui/charts.py` (HostChart, VMChart), `memtui/ui/memmap.py` (MemoryMap) and
`memtui/ui/bars.py` (HostMemoryBar, VMMemoryBar) each provide Textual widgets with
`update_from(snapshot, history, selected)`. Until a module exists its place in the layout holds a
`Placeholder` that says what will go there. A module that exists but fails to import is an error,
not hidden.
"""

from __future__ import annotations

import importlib
import importlib.util

from textual.widgets import Static


def widget(module: str, name: str):
    """The class `name` of `memtui.ui.<module>`, or None while that module does not exist."""
    full = f"memtui.ui.{module}"
    if importlib.util.find_spec(full) is None:
        return None
    return getattr(importlib.import_module(full), name, None)


class Placeholder(Static):
    """Holds the place of a pane widget that is not there yet."""

    def __init__(self, what: str, **kw) -> None:
        super().__init__(f"[{what}: not available yet]", markup=False, classes="placeholder", **kw)

    def update_from(self, snapshot, history, selected, *args, **kw) -> None:
        pass
