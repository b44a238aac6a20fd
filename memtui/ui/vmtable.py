"""The VM list with the esxtop memory columns: sortable, filterable, columns of one's choice.

A Line API widget, drawn the way esxtop draws: one line per VM, a header line that stays put,
the NAME column fixed while the others scroll sideways. It is updated by difference: each VM's
row keeps the text of its cells, only rows whose text changed are rebuilt, and only their lines
are repainted (so a slow link carries little and 320 VMs cost little). The cursor follows the
selected VM when the order changes.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input

from memtui.ui.columns import COLUMNS, DEFAULT_COLUMNS, Column, cell_text, raw_value

if TYPE_CHECKING:  # figures' types only: the first frame does without them
    from memtui.metrics import Snapshot, VMMetrics

NAME_MIN_W = 8
NAME_MAX_W = 24
PAD = 1  # spaces each side of a cell

Cell = tuple[str, str]  # (text, style)


def cell_style(col: Column, vm: VMMetrics, text: str) -> str:
    """Colour only adds to what the text says: a ballooned VM shows its MB, in yellow."""
    if vm.power != "on":
        return "dim"
    if col.key in ("MCTLSZ", "MCTLTGT") and text != "0":
        return "yellow"
    if col.key in ("SWCUR", "SWTGT", "SWR/s", "SWW/s") and text not in ("0", "0.00"):
        return "red"
    if col.key in ("ZIP", "CACHEUSD", "ZIP/s", "UNZIP/s") and text not in ("0", "0.00"):
        return "magenta"
    if col.key in ("%SWPWT", "%LAT", "%ZIPWT", "%GPGWT", "WSSWP", "WSZIP") and text != "0":
        return "red"
    if col.key == "%THRPT" and text.isdigit() and int(text) < 90:
        return "bold red"
    if col.key == "STAT" and text == "blkd":
        return "bold red"
    if col.key == "STAT" and text == "boot":
        return "italic"
    return ""


@lru_cache(maxsize=64)
def _style(spec: str) -> Style:
    return Style.parse(spec) if spec else Style()


def _fit(text: str, width: int, right: bool) -> str:
    if len(text) > width:
        return text[: max(0, width - 1)] + "…"
    return text.rjust(width) if right else text.ljust(width)


class FilterBar(Input):
    """`/` opens it; it filters the VM list by name as one types. Enter keeps the filter,
    Esc clears it."""

    BINDINGS = [
        Binding("escape", "clear", "Clear filter", id="filter.clear"),
    ]

    class FilterChanged(Message):
        def __init__(self, text: str, done: bool) -> None:
            super().__init__()
            self.text = text
            self.done = done

    def __init__(self, **kw) -> None:
        super().__init__(placeholder="filter VMs by name (Enter keeps, Esc clears)", **kw)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.FilterChanged(event.value, done=False))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.FilterChanged(event.value, done=True))

    def action_clear(self) -> None:
        self.value = ""
        self.post_message(self.FilterChanged("", done=True))


class VMTable(ScrollView, can_focus=True):
    """The VM list. Rows are keyed by VM name."""

    BINDINGS = [
        Binding("down,j", "cursor(1)", "Down", show=False, id="table.down"),
        Binding("up,k", "cursor(-1)", "Up", show=False, id="table.up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="table.page_down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="table.page_up"),
        Binding("home,g", "first", "First VM", show=False, id="table.top"),
        Binding("end,G", "last", "Last VM", show=False, id="table.bottom"),
        Binding("right", "sideways(1)", "Scroll right", show=False, id="table.right"),
        Binding("left", "sideways(-1)", "Scroll left", show=False, id="table.left"),
        Binding("enter", "choose", "Show VM", show=False, id="table.select"),
    ]

    COMPONENT_CLASSES = {"vmtable--header", "vmtable--cursor", "vmtable--cursor-blurred",
                         "vmtable--empty"}

    DEFAULT_CSS = """
    VMTable {
        background: $surface;
        color: $foreground;
    }
    VMTable > .vmtable--header {
        text-style: bold;
        background: $panel;
        color: $foreground;
    }
    VMTable > .vmtable--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    VMTable > .vmtable--cursor-blurred {
        background: $block-cursor-blurred-background;
        color: $block-cursor-blurred-foreground;
        text-style: $block-cursor-blurred-text-style;
    }
    """

    cursor_row: reactive[int] = reactive(0, always_update=False, init=False)

    class Highlighted(Message):
        """The cursor moved to another VM."""

        def __init__(self, table: VMTable, name: str | None) -> None:
            super().__init__()
            self.table = table
            self.name = name

        @property
        def control(self) -> VMTable:
            return self.table

    class Selected(Message):
        """Enter (or a second click) on a VM."""

        def __init__(self, table: VMTable, name: str) -> None:
            super().__init__()
            self.table = table
            self.name = name

        @property
        def control(self) -> VMTable:
            return self.table

    class SortChanged(Message):
        def __init__(self, table: VMTable, column: str, reverse: bool) -> None:
            super().__init__()
            self.table = table
            self.column = column
            self.reverse = reverse

        @property
        def control(self) -> VMTable:
            return self.table

    def __init__(self, columns: list[str] | None = None, sort: str = "NAME", reverse: bool = False,
                 **kw) -> None:
        super().__init__(**kw)
        self.column_keys: list[str] = self._clean_columns(columns or list(DEFAULT_COLUMNS))
        self.sort_key = sort if sort in COLUMNS else "NAME"
        self.sort_reverse = reverse
        self.filter_text = ""
        self.want_selected: str | None = None
        self._snapshot: Snapshot | None = None
        self._vms: dict[str, VMMetrics] = {}  # the latest figures of each VM shown
        self._cells: dict[str, tuple[Cell, ...]] = {}  # what each row in view says
        self._strips: dict[str, Strip] = {}  # each row drawn, without the cursor
        self._order: list[str] = []  # VM names in the order shown
        self._index: dict[str, int] = {}
        self._name_w = NAME_MIN_W
        self._widths: list[int] = []
        self._header: Strip | None = None
        self._highlighted: str | None = None
        self._layout()

    @staticmethod
    def _clean_columns(columns: list[str]) -> list[str]:
        keys = [c for c in dict.fromkeys(columns) if c in COLUMNS and c != "NAME"]
        return ["NAME", *keys]

    # ---------------------------------------------------------------- geometry

    def _layout(self) -> None:
        """Column widths and the table's virtual size."""
        self._widths = [self._name_w if k == "NAME" else max(COLUMNS[k].width, len(k) + 1)
                        for k in self.column_keys]
        self._header = None
        self._strips.clear()
        total = sum(w + 2 * PAD for w in self._widths)
        self.virtual_size = Size(total, len(self._order) + 1)

    @property
    def _fixed_w(self) -> int:
        return self._widths[0] + 2 * PAD

    @property
    def row_count(self) -> int:
        return len(self._order)

    @property
    def _rows_visible(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    # ---------------------------------------------------------------- drawing

    def _header_strip(self) -> Strip:
        if self._header is None:
            segs = []
            for key, width in zip(self.column_keys, self._widths, strict=True):
                label = key
                if key == self.sort_key:
                    label += "▼" if self.sort_reverse else "▲"
                right = COLUMNS[key].kind != "text"
                segs.append(Segment(" " * PAD + _fit(label, width, right) + " " * PAD))
            strip = Strip(segs)
            self._header = strip.apply_style(self.get_component_rich_style("vmtable--header"))
        return self._header

    def _row_strip(self, name: str) -> Strip:
        strip = self._strips.get(name)
        if strip is None:
            if name not in self._cells:
                self._cells[name] = self._row_cells(self._vms[name])
            segs = []
            for (text, style), key, width in zip(self._cells[name], self.column_keys, self._widths,
                                                 strict=True):
                right = COLUMNS[key].kind != "text"
                segs.append(Segment(" " * PAD + _fit(text, width, right) + " " * PAD, _style(style)))
            strip = self._strips[name] = Strip(segs)
        return strip

    def _viewport(self, strip: Strip, width: int) -> Strip:
        """The fixed NAME column, then the rest scrolled sideways."""
        fixed = self._fixed_w
        if fixed >= width:
            return strip.crop(0, width)
        left = strip.crop(0, fixed)
        # Only whole columns, as esxtop shows them: a column that does not fit is left out, not
        # cut (its header would read "M" for MCTLTGT).
        start = fixed + self._scroll_start()
        end = start + width - fixed
        edge = start
        for b in self._boundaries():
            if fixed + b > end:
                break
            edge = fixed + b
        if edge > start:
            end = edge
        right = strip.crop(start, end)
        return Strip.join([left, right])

    def _boundaries(self) -> list[int]:
        """Where each column after NAME ends, from the end of NAME."""
        out, edge = [], 0
        for w in self._widths[1:]:
            edge += w + 2 * PAD
            out.append(edge)
        return out

    def _scroll_start(self) -> int:
        """The first column shown after NAME starts here (from the end of NAME): the first
        column boundary at or after the sideways scroll, so no column is cut on the left."""
        scroll_x = int(self.scroll_offset.x)
        return next((b for b in [0, *self._boundaries()] if b >= scroll_x), scroll_x)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            return self._viewport(self._header_strip(), width).extend_cell_length(
                width, self.get_component_rich_style("vmtable--header")).apply_style(base)
        row = int(self.scroll_offset.y) + y - 1
        if not 0 <= row < len(self._order):
            return Strip.blank(width, base)
        name = self._order[row]
        strip = self._viewport(self._row_strip(name), width).extend_cell_length(width)
        if row == self.cursor_row:
            cls = "vmtable--cursor" if self.has_focus else "vmtable--cursor-blurred"
            strip = strip.apply_style(self.get_component_rich_style(cls))
        return strip.apply_style(base)

    def _refresh_row(self, row: int) -> None:
        y = row - int(self.scroll_offset.y) + 1
        if 1 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def on_focus(self) -> None:
        self._refresh_row(self.cursor_row)

    def on_blur(self) -> None:
        self._refresh_row(self.cursor_row)

    # ---------------------------------------------------------------- cursor

    def watch_cursor_row(self, old: int, new: int) -> None:
        self._refresh_row(old)
        self._refresh_row(new)
        self._scroll_to_cursor()
        name = self.selected_name
        if name != self._highlighted:
            self._highlighted = name
            self.post_message(self.Highlighted(self, name))

    def _scroll_to_cursor(self) -> None:
        top = int(self.scroll_offset.y)
        visible = self._rows_visible
        row = self.cursor_row
        if row < top:
            self.scroll_to(y=row, animate=False)
        elif row >= top + visible:
            self.scroll_to(y=row - visible + 1, animate=False)

    def _move_to(self, row: int) -> None:
        if self._order:
            self.cursor_row = max(0, min(row, len(self._order) - 1))

    def action_cursor(self, step: int) -> None:
        self._move_to(self.cursor_row + step)

    def action_page(self, step: int) -> None:
        self._move_to(self.cursor_row + step * self._rows_visible)

    def action_first(self) -> None:
        self._move_to(0)

    def action_last(self) -> None:
        self._move_to(len(self._order) - 1)

    def action_sideways(self, step: int) -> None:
        here = self._scroll_start()  # a column at a time
        stops = [0, *self._boundaries()[:-1]]
        later = [b for b in stops if b > here] if step > 0 else [b for b in stops if b < here]
        if later:
            self.scroll_to(x=later[0] if step > 0 else later[-1], animate=False)

    def action_choose(self) -> None:
        name = self.selected_name
        if name is not None:
            self.post_message(self.Selected(self, name))

    def on_click(self, event: events.Click) -> None:
        region = self.scrollable_content_region
        x, y = event.x - region.x, event.y - region.y
        if y == 0:
            column = self._column_at(x)
            if column is not None:
                self.set_sort(column)
            return
        row = int(self.scroll_offset.y) + y - 1
        if 0 <= row < len(self._order):
            if row == self.cursor_row:
                self.action_choose()
            self.cursor_row = row

    def _column_at(self, x: int) -> str | None:
        fixed = self._fixed_w
        pos = x if x < fixed else x + self._scroll_start()
        edge = 0
        for key, width in zip(self.column_keys, self._widths, strict=True):
            edge += width + 2 * PAD
            if pos < edge:
                return key
        return None

    @property
    def selected_name(self) -> str | None:
        if not self._order:
            return None
        return self._order[min(max(self.cursor_row, 0), len(self._order) - 1)]

    def select(self, name: str) -> bool:
        row = self._index.get(name)
        if row is None:
            self.want_selected = name
            return False
        self.cursor_row = row
        return True

    @property
    def shown_names(self) -> list[str]:
        return list(self._order)

    def cell(self, name: str, column: str) -> str:
        """The text of a cell as shown, or as it will be when scrolled into view."""
        cells = self._cells.get(name) or self._row_cells(self._vms[name])
        return cells[self.column_keys.index(column)][0]

    # ---------------------------------------------------------------- columns and sort

    def set_columns(self, columns: list[str]) -> None:
        new = self._clean_columns(columns)
        if new != self.column_keys:
            self.column_keys = new
            self._cells.clear()
            self._layout()
            if self._snapshot is not None:
                self.update_from(self._snapshot)
            self.refresh()

    def set_sort(self, key: str, reverse: bool | None = None) -> None:
        if key not in COLUMNS:
            return
        if reverse is None:
            # A new column sorts the way esxtop does (biggest first), NAME A to Z; the same
            # column again flips the order.
            reverse = (not self.sort_reverse) if key == self.sort_key else COLUMNS[key].kind != "text"
        self.sort_key, self.sort_reverse = key, reverse
        self._header = None
        self.refresh(Region(0, 0, self.size.width, 1))
        if self._snapshot is not None:
            self.update_from(self._snapshot)
        self.post_message(self.SortChanged(self, key, reverse))

    def sort_next(self, step: int) -> None:
        keys = self.column_keys
        i = keys.index(self.sort_key) if self.sort_key in keys else 0
        self.set_sort(keys[(i + step) % len(keys)])

    def invert_sort(self) -> None:
        self.set_sort(self.sort_key, not self.sort_reverse)

    # ---------------------------------------------------------------- filter

    def set_filter(self, text: str) -> None:
        text = text.strip()
        if text != self.filter_text:
            self.filter_text = text
            if self._snapshot is not None:
                self.update_from(self._snapshot)

    def _matches(self, name: str) -> bool:
        return not self.filter_text or self.filter_text.casefold() in name.casefold()

    # ---------------------------------------------------------------- update by difference

    def _row_cells(self, vm: VMMetrics) -> tuple[Cell, ...]:
        out = []
        for key in self.column_keys:
            col = COLUMNS[key]
            text = cell_text(col, vm)
            out.append((text, cell_style(col, vm, text)))
        return tuple(out)

    def _visible_rows(self) -> range:
        top = int(self.scroll_offset.y)
        return range(top, min(len(self._order), top + self._rows_visible))

    def update_from(self, snapshot: Snapshot, history=None, selected: str | None = None) -> None:
        """Show `snapshot`: rows in view whose text changed are rebuilt and repainted; rows out
        of view are rebuilt when they come into view. Re-order when the sort order changed."""
        self._snapshot = snapshot
        longest = max((len(vm.name) + 1 for vm in snapshot.vms), default=0)
        name_w = min(max(NAME_MIN_W, longest), NAME_MAX_W)
        if name_w != self._name_w:
            self._name_w = name_w
            self._layout()
            self.refresh()
        vms = [vm for vm in snapshot.vms if self._matches(vm.name)]
        col = COLUMNS[self.sort_key]
        if self.sort_key == "NAME":
            ranked = sorted(vms, key=lambda v: v.name.casefold(), reverse=self.sort_reverse)
        else:
            ranked = sorted(vms, key=lambda v: v.name.casefold())
            ranked.sort(key=lambda v: raw_value(col, v), reverse=self.sort_reverse)
        order = [vm.name for vm in ranked]
        wanted = self.want_selected or self.selected_name
        self._vms = {vm.name: vm for vm in ranked}
        reordered = order != self._order
        if reordered:
            self._order = order
            self._index = {name: i for i, name in enumerate(order)}
            self.virtual_size = Size(self.virtual_size.width, len(order) + 1)
            row = self._index.get(wanted, min(self.cursor_row, max(0, len(order) - 1))) \
                if wanted is not None else 0
            self.set_reactive(VMTable.cursor_row, row)
            self._scroll_to_cursor()
        # Rows in view: rebuild what changed now. Rows out of view: forget, rebuild on demand.
        visible = self._visible_rows()
        in_view = {order[i] for i in visible}
        changed = []
        for name in list(self._cells):
            if name not in in_view:
                del self._cells[name]
                self._strips.pop(name, None)
        for i in visible:
            name = order[i]
            cells = self._row_cells(self._vms[name])
            if self._cells.get(name) != cells:
                self._cells[name] = cells
                self._strips.pop(name, None)
                changed.append(i)
        if reordered or len(changed) > len(visible) // 2:
            self.refresh()
        else:
            for i in changed:
                self._refresh_row(i)
        if reordered and self.selected_name != self._highlighted:
            self._highlighted = self.selected_name
            self.post_message(self.Highlighted(self, self._highlighted))
        if self.want_selected is not None and self.want_selected in self._index:
            self.cursor_row = self._index[self.want_selected]
            self.want_selected = None
