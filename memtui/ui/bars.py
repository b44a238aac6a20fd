"""One-line bars of what memory is made of: the host's (`HostMemoryBar`) and a VM's
(`VMMemoryBar`), each with its marks and a legend of MB figures.

Every figure comes from a `Snapshot` (memtui.metrics); the widgets only do layout arithmetic.
Each segment is filled with its own letter as well as its own colour, so the bars read the same
under NO_COLOR. Names from a profile are shown as text, never parsed as markup.

This module also holds what the other visual panes share: the page-state glyphs and colours,
`allocate_cells` and `format_mb`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

if TYPE_CHECKING:  # figures' types only: the first frame does without them
    from memtui.history import History
    from memtui.metrics import HostMetrics, Snapshot, VMMetrics
    from memtui.tables import Thresholds


__all__ = [
    "HostMemoryBar", "VMMemoryBar", "Segment", "HOST_SEGMENTS", "PAGE_STATES", "STATE_STYLES",
    "allocate_cells", "format_mb", "plain_name", "LinesWidget", "wrap_items",
]


@dataclass(frozen=True)
class Segment:
    """One kind of memory: its key, fill glyph (readable without colour), name and Rich style."""

    key: str
    glyph: str
    label: str
    style: str


# Guest-physical page states (memory-model.md section 1), shared with the memory map.
PAGE_STATES: dict[str, Segment] = {s.key: s for s in (
    Segment("private", "P", "private", "black on green"),
    Segment("shared", "=", "shared", "black on cyan"),
    Segment("zero", "0", "zero", "black on white"),
    Segment("balloon", "B", "ballooned", "black on yellow"),
    Segment("swapped", "W", "swapped", "bright_white on red"),
    Segment("zipped", "Z", "compressed", "bright_white on blue"),
    Segment("untouched", "·", "untouched", "bright_black"),
)}

# What the host's memory is made of (memory-model.md section 12, conservation).
HOST_SEGMENTS: dict[str, Segment] = {s.key: s for s in (
    Segment("system", "S", "system", "black on white"),
    Segment("consumed", "C", "VM consumed", "black on green"),
    Segment("common", "=", "shared common", "black on cyan"),
    Segment("overhead", "O", "overhead", "bright_white on bright_black"),
    Segment("zip_cache", "Z", "compression cache", "bright_white on blue"),
    Segment("free", "·", "free", "bright_black"),
)}

# Foreground colour of each host memory state, for threshold marks.
STATE_STYLES = {
    "high": "green", "clear": "cyan", "soft": "yellow", "hard": "bright_red", "low": "red",
}

MIN_VISIBLE_MB = 0.5  # a part this large gets at least one cell, if the bar has room


def format_mb(mb: float | None) -> str:
    """An MB figure as the legends show it: whole MB from 10 MB up, one decimal below."""
    if mb is None:
        return "unlimited"
    if abs(mb) >= 10 or mb == 0:
        return f"{mb:.0f}"
    return f"{mb:.1f}"


def plain_name(name: str) -> str:
    """A name from a profile made safe to show: control characters (escape sequences) become
    '?'. Markup needs no escaping because it is always appended as plain text."""
    return "".join(ch if ch.isprintable() else "?" for ch in name)


def allocate_cells(values: Sequence[float], cells: int, min_mb: float = MIN_VISIBLE_MB) -> list[int]:
    """Split `cells` among `values` in proportion (largest remainder), giving every value of at
    least `min_mb` one cell when there is room, so that small but real parts stay visible."""
    vals = [max(0.0, float(v)) for v in values]
    total = sum(vals)
    if cells <= 0 or total <= 0:
        return [0] * len(vals)
    exact = [v / total * cells for v in vals]
    out = [int(e) for e in exact]
    left = cells - sum(out)
    for i in sorted(range(len(vals)), key=lambda i: -vals[i]):
        if out[i] == 0 and vals[i] >= min_mb:
            if left > 0:
                out[i], left = 1, left - 1
            else:
                donor = max(range(len(out)), key=lambda j: out[j])
                if out[donor] > 1:
                    out[donor] -= 1
                    out[i] = 1
    for i in sorted(range(len(vals)), key=lambda i: -(exact[i] - out[i])):
        if left <= 0:
            break
        if vals[i] > 0:
            out[i] += 1
            left -= 1
    return out


def _place_marks(cols: list[int], width: int) -> list[int]:
    """Keep marks in order and apart by one cell, inside [0, width)."""
    placed: list[int] = []
    for c in cols:
        c = min(max(c, 0), width - 1)
        if placed and c <= placed[-1]:
            c = placed[-1] + 1
        placed.append(c)
    # Marks pushed past the right end move back left, still in order.
    for k in range(len(placed) - 1, -1, -1):
        limit = width - (len(placed) - k)
        if placed[k] > limit:
            placed[k] = max(limit, 0)
    return placed


def wrap_items(items: list[Text], width: int, sep: str = "  ") -> list[Text]:
    """Lay legend items out on as few lines of `width` as fit, cutting any item too long."""
    lines: list[Text] = []
    line = Text()
    for item in items:
        if len(item) > width:
            item = item.copy()
            item.truncate(width, overflow="ellipsis")
        if line.cell_len and line.cell_len + len(sep) + item.cell_len > width:
            lines.append(line)
            line = Text()
        if line.cell_len:
            line.append(sep)
        line.append_text(item)
    if line.cell_len:
        lines.append(line)
    return lines


def _key(seg: Segment, text: str) -> Text:
    out = Text()
    out.append(f" {seg.glyph} ", style=seg.style)
    out.append(" ")
    out.append(text)
    return out


class LinesWidget(Widget):
    """A widget whose lines depend on its width: built once per (width, data) and cached.
    Subclasses set their data with `_set_data` and draw it in `_build(width)`."""

    DEFAULT_CSS = """
    LinesWidget {
        width: 1fr;
        height: auto;
    }
    """

    def __init__(self, *, show_legend: bool = True, name: str | None = None,
                 id: str | None = None, classes: str | None = None,
                 disabled: bool = False) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.show_legend = show_legend
        self._data: tuple | None = None
        self._cache: dict[int, list[Text]] = {}
        self.rebuild_count = 0  # how many times lines were built (for tests and benchmarks)

    def _set_data(self, data: tuple) -> None:
        if data == self._data:
            return
        old_heights = {w: len(lines) for w, lines in self._cache.items()}
        self._data = data
        self._cache.clear()
        width = self.size.width
        relayout = width not in old_heights or len(self._lines(width)) != old_heights[width]
        if relayout:
            self.clear_cached_dimensions()
        self.refresh(layout=relayout)

    def _lines(self, width: int) -> list[Text]:
        lines = self._cache.get(width)
        if lines is None:
            self.rebuild_count += 1
            try:
                lines = self._build(max(width, 1)) if self._data is not None else []
            except Exception as error:  # a drawing bug must not take the app down
                lines = [Text(f"cannot draw: {type(error).__name__}", style="italic")]
            if not lines:
                lines = [Text(self._empty_message(), style="italic")]
            for line in lines:  # one Text per screen line: never let one wrap
                if line.cell_len > width:
                    line.truncate(max(width, 1), overflow="ellipsis")
            if len(self._cache) > 4:
                self._cache.clear()
            self._cache[width] = lines
        return lines

    def _build(self, width: int) -> list[Text]:
        raise NotImplementedError

    def _empty_message(self) -> str:
        return "no data yet"

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines(width)) if width else 0

    def render(self) -> Text:
        width = self.size.width
        return Text("\n").join(line for line in self._lines(width)) if width else Text()

    @property
    def plain_lines(self) -> list[str]:
        """What the widget shows at its current width, without styles (for tests)."""
        return [line.plain for line in self._lines(self.size.width or 80)]


class HostMemoryBar(LinesWidget):
    """The host's memory as one bar: system, VM consumed (its shared common copies apart),
    overhead, compression cache, free; below it a mark at each state threshold's free-memory
    level (the state drops when the free segment's left edge passes a mark), then the legend.

    `update_from(snapshot, history, selected, thresholds)`: only `snapshot.host` and
    `thresholds` are read.
    """

    DEFAULT_CSS = """
    HostMemoryBar {
        width: 1fr;
        height: auto;
    }
    """

    def update_from(self, snapshot: Snapshot, history: History | None, selected: str | None,
                    thresholds: Thresholds | None) -> None:
        levels = () if thresholds is None else tuple(thresholds.as_dict().items())
        self._set_data((snapshot.host, levels))

    def _build(self, width: int) -> list[Text]:
        host: HostMetrics = self._data[0]
        levels: tuple[tuple[str, float], ...] = self._data[1]
        total = host.memory_mb
        if total <= 0:
            return [Text("host has no memory", style="italic")]
        free = max(0.0, host.free_mb)
        used = [
            ("system", host.system_mb),
            ("consumed", max(0.0, host.consumed_mb - host.shared_common_mb)),
            ("common", host.shared_common_mb),
            ("overhead", host.overhead_mb),
            ("zip_cache", host.zip_cache_mb),
        ]
        # The free segment's edge is placed exactly (not inflated by small parts' minimum
        # cells), so it compares honestly with the threshold marks below it.
        free_start = min(width, max(0, round((total - free) / total * width)))
        cells = allocate_cells([mb for _, mb in used], free_start)
        bar = Text()
        for (key, _), n in zip(used, cells, strict=True):
            seg = HOST_SEGMENTS[key]
            bar.append(seg.glyph * n, style=seg.style)
        free_seg = HOST_SEGMENTS["free"]
        bar.append(free_seg.glyph * (width - free_start), style=free_seg.style)

        present = [(state, mb) for state, mb in levels if mb is not None]
        cols = _place_marks([round((total - mb) / total * width) for _, mb in present], width)
        chars = [" "] * width
        for col in cols:
            chars[col] = "▲"
        mark_line = Text("".join(chars))
        for (state, _), col in zip(present, cols, strict=True):
            mark_line.stylize(f"bold {STATE_STYLES.get(state, '')}", col, col + 1)
        if not self.show_legend:
            return [bar, mark_line]

        legend = [
            _key(HOST_SEGMENTS["system"], f"system {format_mb(host.system_mb)} MB"),
            _key(HOST_SEGMENTS["consumed"], f"VM consumed {format_mb(host.consumed_mb)} MB"),
            _key(HOST_SEGMENTS["common"],
                 f"shared common {format_mb(host.shared_common_mb)} MB (part of consumed)"),
            _key(HOST_SEGMENTS["overhead"], f"overhead {format_mb(host.overhead_mb)} MB"),
            _key(HOST_SEGMENTS["zip_cache"],
                 f"compression cache {format_mb(host.zip_cache_mb)} MB"),
            _key(HOST_SEGMENTS["free"], f"free {format_mb(host.free_mb)} MB"),
        ]
        marks = [Text.assemble(("▲", "bold"), " free-memory thresholds, left to right:")]
        for state_name, mb in present:
            marks.append(Text.assemble((state_name, f"bold {STATE_STYLES.get(state_name, '')}"),
                                       f" {format_mb(mb)} MB"))
        state = Text("state: ")
        state.append(host.state, style=f"bold reverse {STATE_STYLES.get(host.state, '')}")
        return [bar, mark_line, *wrap_items(legend, width), *wrap_items([*marks, state], width)]


class VMMemoryBar(LinesWidget):
    """The selected VM's guest memory as one bar: private, shared (zero pages apart),
    ballooned, swapped, compressed, untouched; below it marks for the target (T), the
    reservation (R) and the limit (L); then the legend.

    `update_from(snapshot, history, selected, thresholds)`: reads `snapshot.vm(selected)`.
    """

    DEFAULT_CSS = """
    VMMemoryBar {
        width: 1fr;
        height: auto;
    }
    """

    def update_from(self, snapshot: Snapshot, history: History | None, selected: str | None,
                    thresholds: Thresholds | None) -> None:
        vm: VMMetrics | str | None = None
        if selected is not None:
            try:
                vm = snapshot.vm(selected)
            except KeyError:
                vm = selected  # a name that is gone: say so
        self._set_data((vm,))

    def _empty_message(self) -> str:
        return "no VM selected"

    def _build(self, width: int) -> list[Text]:
        vm = self._data[0]
        if vm is None:
            return []
        if isinstance(vm, str):
            line = Text("no VM named ", style="italic")
            line.append(plain_name(vm))
            return [line]
        head = Text()
        head.append(plain_name(vm.name), style="bold")
        head.append(f"  {format_mb(vm.memory_mb)} MB guest memory")
        if vm.power != "on":
            head.append(", powered off: nothing is backed")
            return [head, Text(PAGE_STATES["untouched"].glyph * width,
                               style=PAGE_STATES["untouched"].style)]
        if vm.memory_mb <= 0:
            return [head]
        parts = [
            ("private", vm.private_mb),
            ("shared", max(0.0, vm.shared_mb - vm.zero_mb)),
            ("zero", vm.zero_mb),
            ("balloon", vm.balloon_mb),
            ("swapped", vm.swapped_mb),
            ("zipped", vm.zipped_mb),
            ("untouched", vm.untouched_mb),
        ]
        cells = allocate_cells([mb for _, mb in parts], width)
        bar = Text()
        for (key, _), n in zip(parts, cells, strict=True):
            seg = PAGE_STATES[key]
            bar.append(seg.glyph * n, style=seg.style)

        wanted = [("T", vm.target_mb, "bold")]
        if vm.reservation_mb > 0:
            wanted.append(("R", vm.reservation_mb, "bold green"))
        if vm.limit_mb is not None and vm.limit_mb < vm.memory_mb:
            wanted.append(("L", vm.limit_mb, "bold red"))
        wanted.sort(key=lambda m: m[1])
        cols = _place_marks([round(mb / vm.memory_mb * width) for _, mb, _ in wanted], width)
        chars = [" "] * width
        for (letter, _, _), col in zip(wanted, cols, strict=True):
            chars[col] = letter
        mark_line = Text("".join(chars))
        for (_, _, style), col in zip(wanted, cols, strict=True):
            mark_line.stylize(style, col, col + 1)

        if not self.show_legend:
            return [*wrap_items([head], width), bar, mark_line]
        legend = [
            _key(PAGE_STATES["private"], f"private {format_mb(vm.private_mb)} MB"),
            _key(PAGE_STATES["shared"], f"shared {format_mb(vm.shared_mb)} MB"),
            _key(PAGE_STATES["zero"], f"of which zero {format_mb(vm.zero_mb)} MB"),
            _key(PAGE_STATES["balloon"], f"ballooned {format_mb(vm.balloon_mb)} MB"),
            _key(PAGE_STATES["swapped"], f"swapped {format_mb(vm.swapped_mb)} MB"),
            _key(PAGE_STATES["zipped"], f"compressed {format_mb(vm.zipped_mb)} MB"),
            _key(PAGE_STATES["untouched"], f"untouched {format_mb(vm.untouched_mb)} MB"),
        ]
        marks = [Text.assemble(("T", "bold"), f" target {format_mb(vm.target_mb)} MB")]
        marks.append(Text.assemble(("R", "bold green"),
                                   f" reservation {format_mb(vm.reservation_mb)} MB"))
        limit = "unlimited" if vm.limit_mb is None else f"{format_mb(vm.limit_mb)} MB"
        marks.append(Text.assemble(("L", "bold red"), f" limit {limit}"))
        marks.append(Text(f"consumed {format_mb(vm.consumed_mb)} MB"))
        return [*wrap_items([head], width), bar, mark_line, *wrap_items(legend + marks, width)]
