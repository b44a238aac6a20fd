"""The "why" pane: in plain words and with the model's numbers, why the selected VM has its
target, balloon, swap and compression, and why the host is in its state and what it does about
it. The sentences are memtui.practice.explain's, built from the model's recorded decision inputs; the
pane only lays them out (one bullet each, wrapped to the pane's width)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll

from memtui.ui.vmdetail import _Sheet


def _bullets(title: str, lines: list[str]) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, width=1)
    grid.add_column(ratio=1)
    grid.add_row("", Text(title, style="bold"))
    for line in lines:
        grid.add_row("•", Text(line))
    return grid


class WhyPane(VerticalScroll):
    """Why the selected VM and the host are where they are (tab 6)."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.vm_lines: list[str] = []
        self.host_lines: list[str] = []
        self._key: tuple | None = None

    def compose(self) -> ComposeResult:
        yield _Sheet(id="why-vm")
        yield _Sheet(id="why-host")

    def update_from(self, host, selected: str | None, force: bool = False) -> None:
        """Explain again when the model moved, a setting changed or the selection moved."""
        key = (id(host), host.t, host.revision, selected)
        if key == self._key and not force:
            return
        self._key = key
        from memtui.practice.explain import explain_host, explain_vm

        names = {vm.name for vm in host.vms}
        if selected is not None and selected in names:
            self.vm_lines = explain_vm(host, selected)
            vm_view = _bullets(f"Why {selected} has its target, balloon, swap and compression",
                               self.vm_lines)
        else:
            self.vm_lines = []
            vm_view = Text("No VM selected: pick one in the VM list to see why it has its "
                           "target, balloon, swap and compression.")
        self.host_lines = explain_host(host)
        state = host.state
        self.query_one("#why-vm", _Sheet).show(("vm", tuple(self.vm_lines), selected), vm_view)
        self.query_one("#why-host", _Sheet).show(
            ("host", tuple(self.host_lines)),
            _bullets(f"Why the host is in the {state} state, and what it does", self.host_lines))

    def reset(self) -> None:
        self._key = None
