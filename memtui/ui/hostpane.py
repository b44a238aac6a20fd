"""The host memory header: esxtop's PMEM, VMKMEM, PSHARE, SWAP, ZIP and MEMCTL lines."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

if TYPE_CHECKING:  # figures' types only: the first frame does without them
    from memtui.metrics import HostMetrics, Snapshot


# Rich styles for the state word; in NO_COLOR the word itself says it all.
STATE_STYLES = {
    "high": "bold green",
    "clear": "bold cyan",
    "soft": "bold yellow",
    "hard": "bold red",
    "low": "bold reverse red",
}


BAR_MIN_W = 30  # beside the header lines (wide layout), the host bar keeps at least this


def header_lines(h: HostMetrics, room: int | None = None) -> list[Text]:
    """The six esxtop memory header lines, whole MB as esxtop shows them. Numbers are as wide
    as the host's total memory, so the lines stay aligned and as short as they can be. When a
    line would not fit in `room` columns, the numbers lose their padding, and then the state
    line its word "state", so that nothing is cut (a 1 TB host at 80 columns)."""
    lines = _header_lines(h, max(5, len(f"{h.memory_mb:.0f}")), True)
    if room is not None and max(len(line) for line in lines) > room:
        lines = _header_lines(h, 0, True)
        if max(len(line) for line in lines) > room:
            lines = _header_lines(h, 0, False)
    return lines


def _header_lines(h: HostMetrics, w: int, state_word: bool) -> list[Text]:

    def n(x: float) -> str:
        return f" {x:{w}.0f}"

    def r(x: float) -> str:
        return f"{x:.2f}"

    state = Text()
    state.append(f"VMKMEM/MB:{n(h.managed_mb)} managed:{n(h.min_free_mb)} minfree,"
                 f"{n(h.reserved_mb)} rsvd,{n(h.unreserved_mb)} ursvd, ")
    state.append(h.state, STATE_STYLES.get(h.state, "bold"))
    if state_word:
        state.append(" state")
    return [
        Text(f"PMEM  /MB:{n(h.memory_mb)} total:{n(h.system_mb)}     vmk,{n(h.other_mb)} other,"
             f"{n(h.free_mb)} free"),
        state,
        Text(f"PSHARE/MB:{n(h.shared_mb)}  shared,{n(h.shared_common_mb)}  common:"
             f"{n(h.shared_saved_mb)} saving"),
        Text(f"SWAP  /MB:{n(h.swapped_mb)}    curr,{n(h.swap_target_mb)} rclmtgt: "
             f"{r(h.swap_in_mb_s):>8} r/s, {r(h.swap_out_mb_s):>6} w/s"),
        Text(f"ZIP   /MB:{n(h.zipped_mb)}  zipped,{n(h.zip_saved_mb)}   saved"),
        Text(f"MEMCTL/MB:{n(h.balloon_mb)}    curr,{n(h.balloon_target_mb)}  target,"
             f"{n(h.balloon_max_mb)} max"),
    ]


class HostHeader(Static):
    """The esxtop memory header; redraws only when a figure changed."""

    def __init__(self, **kw) -> None:
        super().__init__("", markup=False, **kw)
        self._shown: tuple[str, ...] = ()
        self._width = 0
        self._host: HostMetrics | None = None

    def update_from(self, snapshot: Snapshot, history=None, selected: str | None = None) -> None:
        self._host = snapshot.host
        self._draw()

    def refit(self) -> None:
        """The terminal changed size: fit the lines to it."""
        self._draw()

    def _room(self) -> int | None:
        try:
            screen = self.screen
        except Exception:  # not on a screen yet
            return None
        width = screen.size.width - 1  # the left padding
        return width - BAR_MIN_W if screen.has_class("-wide") else width

    def _draw(self) -> None:
        if self._host is None:
            return
        lines = header_lines(self._host, self._room())
        key = tuple(line.plain for line in lines)
        if key == self._shown:
            return
        width = max(line.cell_len for line in lines)
        # Six lines whose width changes only with the state word or the terminal: a new layout
        # only then (beside the bar, the header's width is its text's).
        relayout = width != self._width
        self._shown, self._width = key, width
        self.update(Text("\n").join(lines), layout=relayout)
