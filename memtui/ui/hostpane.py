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


def header_lines(h: HostMetrics) -> list[Text]:
    """The six esxtop memory header lines, whole MB as esxtop shows them. Numbers are as wide
    as the host's total memory, so the lines stay aligned and as short as they can be."""
    w = max(5, len(f"{h.memory_mb:.0f}"))

    def n(x: float) -> str:
        return f" {x:{w}.0f}"

    def r(x: float) -> str:
        return f"{x:.2f}"

    state = Text()
    state.append(f"VMKMEM/MB:{n(h.managed_mb)} managed:{n(h.min_free_mb)} minfree,"
                 f"{n(h.reserved_mb)} rsvd,{n(h.unreserved_mb)} ursvd, ")
    state.append(h.state, STATE_STYLES.get(h.state, "bold"))
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

    def update_from(self, snapshot: Snapshot, history=None, selected: str | None = None) -> None:
        lines = header_lines(snapshot.host)
        key = tuple(line.plain for line in lines)
        if key == self._shown:
            return
        self._shown = key
        self.update(Text("\n").join(lines), layout=False)  # always six lines of fixed width
