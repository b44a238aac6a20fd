"""The memory mapping picture of the vSphere Resource Management guide (Figure 3-1), drawn from
the model's state: for the selected VM and up to two other powered-on VMs of its content family,
three rows of cells -- guest virtual -> guest physical -> machine -- and below them the machine
memory outside the VMs' own pages: the common copies that shared pages point at, the single zero
page, the swap files and the compression caches.

One cell stands for the same number of MB everywhere in the picture (the largest drawn VM's
memsize / the number of cells that fit). Each guest-physical cell shows one page state
(memory-model.md section 1) by glyph and colour; the proportions come from VMMetrics
(private_mb, shared_mb, zero_mb, balloon_mb, swapped_mb, zipped_mb, untouched_mb).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

from rich.text import Text

from memtui.history import History
from memtui.metrics import Snapshot, VMMetrics
from memtui.tables import Thresholds
from memtui.ui.bars import (
    PAGE_STATES,
    LinesWidget,
    allocate_cells,
    format_mb,
    plain_name,
    wrap_items,
)

__all__ = ["MemoryMap"]

ORDER = ("private", "shared", "zero", "balloon", "swapped", "zipped", "untouched")
# Where a guest-physical page in each state is backed (the machine row's arrow colour).
POINTS_TO = {"shared": "cyan", "zero": "white", "swapped": "red", "zipped": "blue"}
VIRTUAL_STYLE = "bold"
MIN_WIDTH = 30
WIDE_WIDTH = 60


def _parts(vm: VMMetrics) -> list[float]:
    return [vm.private_mb, max(0.0, vm.shared_mb - vm.zero_mb), vm.zero_mb, vm.balloon_mb,
            vm.swapped_mb, vm.zipped_mb, vm.untouched_mb]


class MemoryMap(LinesWidget):
    """Guest virtual -> guest physical -> machine memory for the selected VM and, when the
    families of the VMs are known, up to `max_vms - 1` other powered-on VMs of its content
    family.

    `update_from(snapshot, history, selected, thresholds, *, families=None)`: `families` maps VM
    name -> content family (`{vm.name: vm.content_family for vm in host.vms}`); the snapshot does
    not carry it. It is kept until given again (or `set_families` is called).
    """

    DEFAULT_CSS = """
    MemoryMap {
        width: 1fr;
        height: auto;
    }
    """

    def __init__(self, *, max_vms: int = 3, max_cells: int = 64, show_legend: bool = True,
                 families: Mapping[str, str | None] | None = None, name: str | None = None,
                 id: str | None = None, classes: str | None = None,
                 disabled: bool = False) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.max_vms = max(1, max_vms)
        self.max_cells = max(8, max_cells)
        self.show_legend = show_legend
        self.families: dict[str, str | None] = dict(families or {})

    def set_families(self, families: Mapping[str, str | None]) -> None:
        self.families = dict(families)

    def update_from(self, snapshot: Snapshot, history: History | None, selected: str | None,
                    thresholds: Thresholds | None, *,
                    families: Mapping[str, str | None] | None = None) -> None:
        if families is not None:
            self.families = dict(families)
        if selected is None:
            self._set_data((None,))
            return
        try:
            vm = snapshot.vm(selected)
        except KeyError:
            self._set_data((selected,))
            return
        family = self.families.get(vm.name)
        drawn = [vm]
        group = [vm]  # the VMs whose shared pages point at the same common copies
        if family and vm.power == "on":
            group = [v for v in snapshot.vms
                     if v.power == "on" and self.families.get(v.name) == family]
            others = [v for v in group if v.name != vm.name]
            drawn += others[: self.max_vms - 1]
        self._set_data((vm, tuple(drawn), tuple(group), family))

    def _empty_message(self) -> str:
        return "no VM selected: select one to see its memory mapping"

    # ------------------------------------------------------------------------- drawing

    def _build(self, width: int) -> list[Text]:
        if self._data[0] is None:
            return []
        if isinstance(self._data[0], str):
            return [Text.assemble(("no VM named ", "italic"), plain_name(self._data[0]))]
        if width < MIN_WIDTH:
            message = f"memory map needs {MIN_WIDTH} columns"
            return [Text(part, style="italic") for part in textwrap.wrap(message, width)]
        selected, drawn, group, family = self._data
        wide = width >= WIDE_WIDTH
        labels = (("guest virtual", "guest physical", "machine") if wide
                  else ("virt", "phys", "mach"))
        label_w = 16 if wide else 7
        cells_max = min(self.max_cells, width - label_w)
        on = [v for v in drawn if v.power == "on" and v.memory_mb > 0]
        biggest = max((v.memory_mb for v in on), default=0.0)
        lines: list[Text] = []
        if not on:
            line = Text()
            line.append(plain_name(selected.name), style="bold")
            line.append(f"  {format_mb(selected.memory_mb)} MB: powered off, no guest physical "
                        "memory is backed")
            return [line]
        mb_per_cell = biggest / cells_max
        lines.append(Text(f"1 cell = {format_mb(mb_per_cell)} MB", style="italic"))

        for vm in on:
            lines.append(self._title(vm, vm is selected, family, width))
            n = max(1, round(vm.memory_mb / mb_per_cell))
            counts = allocate_cells(_parts(vm), min(n, cells_max))
            states = [s for s, k in zip(ORDER, counts, strict=True) for _ in range(k)]
            virt, phys, mach = (Text(f"{label:<{label_w}}", style="dim") for label in labels)
            for state in states:
                seg = PAGE_STATES[state]
                virt.append(" " if state == "untouched" else "v", style=VIRTUAL_STYLE)
                phys.append(seg.glyph, style=seg.style)
                if state == "private":
                    mach.append(seg.glyph, style=seg.style)
                elif state in POINTS_TO:
                    mach.append("↓", style=f"bold {POINTS_TO[state]}")
                else:
                    mach.append(" ")
            lines += [virt, phys, mach]

        lines += self._machine_rows(on, group, family, mb_per_cell, label_w, cells_max, width, wide)
        if self.show_legend:
            lines += self._legend(width, wide)
        return lines

    def _title(self, vm: VMMetrics, is_selected: bool, family: str | None, width: int) -> Text:
        title = Text()
        title.append(plain_name(vm.name), style="bold underline" if is_selected else "bold")
        title.append(f"  {format_mb(vm.memory_mb)} MB")
        if family:
            title.append("  family ")
            title.append(plain_name(family))
        if is_selected:
            title.append("  (selected)")
        title.truncate(width, overflow="ellipsis")
        return title

    def _row(self, label: str, label_w: int, cells: Text, note: str, width: int) -> Text:
        row = Text(f"{label:<{label_w}}", style="dim")
        row.append_text(cells)
        row.append("  " + note if cells.cell_len else note)
        row.truncate(width, overflow="ellipsis")
        return row

    def _machine_rows(self, on: list[VMMetrics], group: tuple[VMMetrics, ...],
                      family: str | None, mb_per_cell: float, label_w: int, cells_max: int,
                      width: int, wide: bool) -> list[Text]:
        def cells_for(mb: float) -> int:
            return 0 if mb < 0.5 else max(1, round(mb / mb_per_cell))

        def run(state: str, n: int) -> Text:
            seg = PAGE_STATES[state]
            out = Text(seg.glyph * min(n, cells_max), style=seg.style)
            if n > cells_max:
                out.append("…")
            return out

        rows = [Text("machine memory the arrows point at (same scale)" if wide
                     else "where arrows point", style="italic")]
        # Common copies: each VM's part of the copies is its shared minus its saving.
        common_mb = sum(max(0.0, v.shared_mb - v.shared_saved_mb) for v in group)
        shared_mb = sum(max(0.0, v.shared_mb - v.zero_mb) for v in group)
        who = f"{len(group)} VM" + ("s" if len(group) != 1 else "")
        rows.append(self._row(
            "common copies" if wide else "copies", label_w, run("shared", cells_for(common_mb)),
            f"{format_mb(common_mb)} MB back {format_mb(shared_mb)} MB shared in {who}", width))
        zero_mb = sum(v.zero_mb for v in on)
        zero_cells = run("zero", 1) if zero_mb > 0 else Text()
        rows.append(self._row(
            "zero page" if wide else "zero", label_w, zero_cells,
            f"one 4 KB page backs {format_mb(zero_mb)} MB of zero pages" if zero_mb > 0
            else "no zero pages", width))

        for state, label, short, attr in (("swapped", "swap files", "swap", "swapped_mb"),
                                          ("zipped", "zip caches", "zip", "zip_cache_mb")):
            cells = Text()
            notes = []
            for vm in on:
                mb = getattr(vm, attr)
                if mb < 0.5 and (state != "zipped" or vm.zipped_mb < 0.5):
                    continue
                if cells.cell_len:
                    cells.append(" ")
                cells.append_text(run(state, cells_for(mb)))
                if state == "zipped":
                    notes.append(f"{plain_name(vm.name)} {format_mb(vm.zipped_mb)} MB in "
                                 f"{format_mb(mb)} MB")
                else:
                    notes.append(f"{plain_name(vm.name)} {format_mb(mb)} MB")
            note = ", ".join(notes) if notes else ("nothing swapped" if state == "swapped"
                                                   else "nothing compressed")
            rows.append(self._row(label if wide else short, label_w, cells, note, width))
        return rows

    def _legend(self, width: int, wide: bool) -> list[Text]:
        notes = {
            "private": "private (own machine page)",
            "shared": "shared ↓ common copy",
            "zero": "zero ↓ the zero page",
            "balloon": "ballooned (no machine page)",
            "swapped": "swapped ↓ swap file",
            "zipped": "compressed ↓ zip cache",
            "untouched": "untouched (not backed)",
        }
        if not wide:
            notes = {state: PAGE_STATES[state].label for state in ORDER}
        items = []
        for state in ORDER:
            seg = PAGE_STATES[state]
            items.append(Text.assemble((seg.glyph, seg.style), " ", notes[state]))
        items.append(Text.assemble(
            ("v", VIRTUAL_STYLE),
            " in use by the guest (its page tables: the host never sees them)" if wide
            else " guest-mapped"))
        if not wide:
            items.append(Text("↓ backed in a row below"))
        return wrap_items(items, width)
