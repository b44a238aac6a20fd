"""The status line: host, ESX version, simulated clock, speed, running or paused, the memory
state (as a word and a colour), the profile file, and memtui's own memory and CPU use.

One line of fixed size, redrawn only when its text changes, and never asking for a new layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.content import Content
from textual.widgets import Static

if TYPE_CHECKING:
    from memtui.metrics import Snapshot

# The state word's colours, from the theme; the word itself says it all without colour.
STATE_STYLES = {
    "high": "bold reverse $success",
    "clear": "bold reverse $accent",
    "soft": "bold reverse $warning",
    "hard": "bold reverse $error",
    "low": "bold reverse blink $error",
}


@dataclass(frozen=True)
class ClockInfo:
    running: bool
    speed_x: float
    achieved_x: float
    behind: bool


@dataclass(frozen=True)
class FileInfo:
    title: str
    dirty: bool
    readonly: bool
    restricted: bool


def speed_text(speed_x: float) -> str:
    if speed_x >= 3600 and speed_x % 3600 == 0:
        return f"{speed_x / 3600:g}h/s"
    if speed_x >= 60 and speed_x % 60 == 0:
        return f"{speed_x / 60:g}m/s"
    return f"{speed_x:g}x"


class StatusLine(Static):
    """One line at the top of the screen."""

    def __init__(self, **kw) -> None:
        super().__init__("", markup=False, **kw)
        self._left: list[tuple[str, str]] = []  # (text, style) pieces
        self._overcommit: tuple[float, float, float] | None = None  # esxtop's MEM overcommit avg
        self._short: list[tuple[str, str]] = []  # the same in fewer words
        self._self_usage = ""
        self._shown: tuple | None = None

    def update_from(self, snapshot: Snapshot, host_name: str, version: str, clock: ClockInfo,
                    file: FileInfo) -> None:
        from memtui.config import format_clock

        keeps = ""
        if clock.running and clock.behind and clock.achieved_x < clock.speed_x * 0.9:
            keeps = speed_text(max(1, round(clock.achieved_x)))
        if clock.running:
            run = f"▶ running {speed_text(clock.speed_x)}" + (f" (model keeps {keeps})" if keeps else "")
            short_run = f"▶ {speed_text(clock.speed_x)}" + (f" ({keeps})" if keeps else "")
        else:
            run = f"⏸ paused {speed_text(clock.speed_x)}"
            short_run = f"⏸ {speed_text(clock.speed_x)}"
        state = snapshot.host.state
        flags = []
        if file.readonly:
            flags.append("read-only")
        if file.restricted:
            flags.append("restricted")
        name = file.title + (" [modified]" if file.dirty and not file.readonly else "")
        self._left = [
            (f" {host_name}", "bold"), (f"  ESX {version}  ", ""),
            (format_clock(snapshot.t), "bold"), ("  ", ""),
            (run, "$text-success" if clock.running else "$text-warning"), ("  ", ""),
            (f" {state.upper()} ", STATE_STYLES.get(state, "bold reverse")), ("  ", ""),
            ("  ".join([name, *flags]), "$text-muted"),
        ]
        h = snapshot.host
        self._overcommit = (h.overcommit_avg_1m, h.overcommit_avg_5m, h.overcommit_avg_15m)
        # The same with fewer words, for a narrow terminal: nothing of it is cut.
        self._short = [
            (f" {host_name}", "bold"), (f" {version} ", ""),
            (format_clock(snapshot.t), "bold"), (" ", ""),
            (short_run, "$text-success" if clock.running else "$text-warning"), (" ", ""),
            (f" {state.upper()} ", STATE_STYLES.get(state, "bold reverse")), (" ", ""),
            (" ".join([name, *flags]), "$text-muted"),
        ]
        self._redraw()

    def show_loading(self, what: str) -> None:
        """Before the model is there: say what is being loaded."""
        self._left = [(" memtui", "bold"), (f"  {what}", "$text-muted")]
        self._overcommit = None
        self._short = self._left
        self._redraw()

    def update_self(self, rss_mb: float | None, cpu_pct: float | None) -> None:
        self._self_usage = "" if rss_mb is None else f"memtui {rss_mb:.0f}M {cpu_pct:.0f}%cpu "
        self._redraw()

    def overcommit_text(self, width: int) -> str:
        """esxtop's top-line "MEM overcommit avg" (1, 5, 15 minutes), after the file (or lab)
        where the line has room for it; nothing where it has not."""
        if self._overcommit is None:
            return ""
        a, b, c = self._overcommit
        text = f"  MEM overcommit avg: {a:.2f}, {b:.2f}, {c:.2f}"
        used = sum(len(t) for t, _ in self._left) + len(self._self_usage) + 1
        return text if used + len(text) <= width else ""

    def _redraw(self) -> None:
        key = (tuple(self._left), self._overcommit, self._self_usage, self.size.width)
        if key == self._shown:
            return
        self._shown = key
        width = self.size.width
        left = Content.assemble(*self._left, (self.overcommit_text(width), ""))
        if left.cell_length > width and self._short:
            left = Content.assemble(*self._short)
        right = self._self_usage
        gap = width - left.cell_length - len(right)
        if right and gap >= 1:
            line = Content.assemble(left, " " * gap, (right, "$text-muted"))
        else:
            line = left
        self.update(line, layout=False)

    def on_resize(self) -> None:
        self._redraw()

    @property
    def plain(self) -> str:
        return ("".join(text for text, _ in self._left) + self.overcommit_text(self.size.width)
                + "  " + self._self_usage)
