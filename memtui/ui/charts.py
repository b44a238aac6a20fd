"""Charts of the recent history: the host's memory (`HostChart`) and the selected VM's
(`VMChart`), each one `PlotextPlot`.

Charts cost real time on the UI thread (plotext builds the whole canvas), so:

- `update_from` does nothing when its inputs have not changed;
- the data are copied from the history at most once per `min_interval_s` of wall time (1 s),
  and only while the chart is on screen; a chart that is hidden catches up when shown;
- the plot is built only when the data, the size or the theme changed (the build is cached),
  and series are cut down to the chart's width before plotext sees them.

Series are told apart by marker as well as by colour (NO_COLOR), and the legend under the plot
pairs each marker with its name and current MB figure. Any plotext error (tiny sizes, odd data)
shows a short text instead of raising.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.app import RenderResult
from textual_plotext import PlotextPlot

from memtui.history import History
from memtui.metrics import Snapshot, VMMetrics
from memtui.tables import Thresholds
from memtui.ui.bars import format_mb, plain_name, wrap_items

__all__ = ["HostChart", "VMChart", "Series", "Level", "MIN_WIDTH", "MIN_HEIGHT"]

MIN_WIDTH = 24  # below this the chart shows a line of text instead
MIN_HEIGHT = 6
MIN_PLOT_HEIGHT = 6  # the legend gives way to the plot below this

# plotext colour name -> Rich style for the legend (plotext's "orange" is ANSI colour 3).
RICH_COLOURS = {
    "green": "green", "green+": "bright_green", "blue": "blue", "blue+": "bright_blue",
    "orange": "yellow", "orange+": "bright_yellow", "red": "red", "red+": "bright_red",
    "magenta": "magenta", "magenta+": "bright_magenta", "cyan": "cyan", "cyan+": "bright_cyan",
    "white": "bright_white", "gray": "bright_black", "gray+": "white",
}
STATE_COLOURS = {"high": "green", "clear": "cyan", "soft": "orange", "hard": "red+", "low": "red"}


@dataclass(frozen=True)
class Series:
    """One line of a chart: history key, legend name, marker character and plotext colour."""

    key: str
    label: str
    marker: str
    colour: str
    right: bool = False  # drawn against the right-hand axis


@dataclass(frozen=True)
class Level:
    """A horizontal line: a threshold, memsize, reservation or limit."""

    label: str
    mb: float
    colour: str


# Series that exist only from some ESX release on: the key -> the first release.
SERIES_SINCE = {"zipped_mb": "4.1"}  # memory compression came with ESX 4.1

# The free-memory axis is scaled for the thresholds: its top is at least this many times the
# highest threshold (so the states' lines sit apart, in the lower part of the chart), and above
# the current free memory; free memory that was higher earlier is drawn at the top edge (the
# legend says so).
FREE_AXIS_THRESHOLDS_X = 1.5
FREE_AXIS_HEADROOM = 1.15

# Simulated-time tick steps, seconds: round clock steps.
TIME_STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
                43200, 86400)


def series_for(series: tuple[Series, ...], version: str | None) -> tuple[Series, ...]:
    """The series that can exist on a host of ESX `version` (None: all)."""
    if version is None:
        return series
    from memtui import spec

    return tuple(s for s in series
                 if s.key not in SERIES_SINCE or spec.version_at_least(version, SERIES_SINCE[s.key]))


def time_ticks(t0: float, t1: float, count: int) -> tuple[list[float], list[str], str]:
    """Round simulated-time ticks (seconds) inside [t0, t1], at most `count` of them, their
    labels (m:ss below an hour, else h:mm) and the unit words for the legend."""
    span = max(t1 - t0, 1.0)
    step = next((s for s in TIME_STEPS_S if span / s <= max(1, count - 1)), TIME_STEPS_S[-1])
    first = math.ceil(t0 / step - 1e-9)
    ticks = [k * step for k in range(first, int(math.floor(t1 / step + 1e-9)) + 1)]
    if t1 >= 3600:
        labels = [f"{int(v) // 3600}:{int(v) % 3600 // 60:02d}" for v in ticks]
        unit = "h:mm"
    else:
        labels = [f"{int(v) // 60}:{int(v) % 60:02d}" for v in ticks]
        unit = "m:ss"
    return ticks, labels, unit


def free_axis_top(free_now: float, levels: Sequence[float], fallback: float) -> float:
    """The top of the free-memory axis: room for the thresholds and for free memory now."""
    high = max(levels, default=0.0)
    if high <= 0:
        return fallback
    return max(FREE_AXIS_THRESHOLDS_X * high, FREE_AXIS_HEADROOM * free_now)


HOST_SERIES = (
    Series("free_mb", "free", "●", "green+"),
    Series("consumed_mb", "consumed", "#", "magenta+", right=True),
    Series("shared_mb", "shared", "=", "cyan", right=True),
    Series("balloon_mb", "balloon", "b", "orange", right=True),
    Series("swapped_mb", "swapped", "s", "red", right=True),
    Series("zipped_mb", "zipped", "z", "blue", right=True),
)

VM_SERIES = (
    Series("consumed_mb", "consumed", "#", "magenta+"),
    Series("target_mb", "target", "t", "white"),
    Series("active_mb", "active est.", "a", "green+"),
    Series("active_true_mb", "working set", "w", "green"),
    Series("shared_mb", "shared", "=", "cyan"),
    Series("balloon_mb", "balloon", "b", "orange"),
    Series("swapped_mb", "swapped", "s", "red"),
    Series("zipped_mb", "zipped", "z", "blue"),
    # What it costs the guest: relative throughput, %, against the right-hand axis.
    Series("throughput_pct", "throughput % (right)", "%", "orange+", right=True),
)


def _nice_step(span: float, count: int) -> float:
    raw = span / max(1, count - 1)
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)


def nice_ticks(upper: float, count: int) -> list[float]:
    """Round tick values from 0 to at least `upper`, at most `count` of them, ending as close
    above `upper` as round steps allow."""
    if upper <= 0 or count < 2:
        return [0.0]
    best: list[float] = []
    for n in range(2, count + 1):
        step = _nice_step(upper, n)
        ticks = [i * step for i in range(math.ceil(upper / step - 1e-9) + 1)]
        if len(ticks) <= count and (not best or ticks[-1] <= best[-1]):
            best = ticks
    return best or [0.0, upper]


def nice_ticks_between(lo: float, hi: float, count: int) -> list[float]:
    """Round tick values inside [lo, hi], at most about `count` of them."""
    if hi <= lo or count < 2:
        return [lo]
    step = _nice_step(hi - lo, count)
    first = math.ceil(lo / step - 1e-9)
    return [k * step for k in range(first, int(math.floor(hi / step + 1e-9)) + 1)]


def cut_to_width(xs: Sequence[float], ys: Sequence[Sequence[float]],
                 points: int) -> tuple[list[float], list[list[float]]]:
    """At most `points` samples, evenly spread and always keeping the last one."""
    n = len(xs)
    if n <= points or points < 2:
        return list(xs), [list(y) for y in ys]
    idx = sorted({round(i * (n - 1) / (points - 1)) for i in range(points)})
    return [xs[i] for i in idx], [[y[i] for i in idx] for y in ys]


def _tick_label(mb: float) -> str:
    return f"{mb / 1024:g}G" if mb >= 10240 and mb % 1024 == 0 else f"{mb:g}"


class _HistoryChart(PlotextPlot):
    """What both charts share: throttled, visibility-aware updates and a cached, guarded
    build with a legend below the plot."""

    DEFAULT_CSS = """
    _HistoryChart {
        width: 1fr;
        height: 1fr;
        min-height: 8;
    }
    """

    def __init__(self, *, min_interval_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, name: str | None = None,
                 id: str | None = None, classes: str | None = None,
                 disabled: bool = False) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.min_interval_s = min_interval_s
        self._clock = clock
        self._inputs: tuple | None = None  # the latest update_from arguments
        self._drawn_key: object = None  # key of the inputs the data were taken from
        self._pending_key: object = None
        self._pending = False
        self._last_draw_s: float | None = None
        self._timer = None
        self._version = 0
        self._cache: tuple[object, Text] | None = None
        # What the plot shows, copied from the history at the last redraw.
        self._xs: list[float] = []
        self._ys: list[list[float]] = []
        self._series: tuple[Series, ...] = ()
        self._levels: list[Level] = []
        self._title = ""
        self._legend_items: list[Text] = []
        self._message: str | None = "waiting for samples"
        self.version: str | None = None
        self._left_top: float | None = None  # the left axis' top, when fixed by the chart
        self.redraw_count = 0  # times the data were taken from the history
        self.build_count = 0  # times plotext built the canvas

    # ------------------------------------------------------------------ updates

    def update_from(self, snapshot: Snapshot, history: History, selected: str | None,
                    thresholds: Thresholds | None, version: str | None = None) -> None:
        """`version`: the host's ESX release; series it cannot have are left out."""
        self.version = version
        key = (self._input_key(snapshot, history, selected, thresholds), version)
        self._inputs = (snapshot, history, selected, thresholds)
        if key == self._drawn_key:
            self._pending = False  # back to what is drawn: a waiting redraw is not needed
            return
        self._pending_key = key
        self._pending = True
        self._try_redraw()

    def _input_key(self, snapshot: Snapshot, history: History, selected: str | None,
                   thresholds: Thresholds | None) -> object:
        raise NotImplementedError

    def _can_draw(self) -> bool:
        try:
            return (self.is_mounted and self.display and self.visible
                    and self.screen.is_current and self.is_on_screen)
        except Exception:  # not in a screen yet
            return False

    def _try_redraw(self) -> None:
        if not self._pending or self._inputs is None or not self._can_draw():
            return
        if self._last_draw_s is not None:
            wait = self._last_draw_s + self.min_interval_s - self._clock()
            if wait > 0:
                if self._timer is None:
                    self._timer = self.set_timer(wait, self._on_timer)
                return
        self._redraw()

    def _on_timer(self) -> None:
        self._timer = None
        self._try_redraw()

    def _redraw(self) -> None:
        self._pending = False
        self._drawn_key = self._pending_key
        self._last_draw_s = self._clock()
        self.redraw_count += 1
        try:
            self._take_data(*self._inputs)
        except Exception as error:  # never let a chart take the app down
            self._message = f"chart unavailable ({type(error).__name__})"
        self._version += 1
        self.refresh()

    def on_show(self, event: events.Show) -> None:
        self._try_redraw()

    def _take_data(self, snapshot: Snapshot, history: History, selected: str | None,
                   thresholds: Thresholds | None) -> None:
        raise NotImplementedError

    def _set_data(self, ts: Sequence[float], series: tuple[Series, ...],
                  data: dict[str, Sequence[float]], levels: list[Level], title: str,
                  current: dict[str, float], extra: list[Text]) -> None:
        self._message = None if len(ts) else "waiting for samples"
        series = series_for(series, self.version)
        self._xs = [float(t) for t in ts]  # simulated seconds
        self._series = series
        self._ys = [list(data[s.key]) for s in series]
        self._levels = levels
        self._title = title
        items = []
        for s in series:
            item = Text()
            item.append(s.marker, style=f"bold {RICH_COLOURS.get(s.colour, '')}")
            item.append(f" {s.label} {format_mb(current.get(s.key, 0.0))}")
            items.append(item)
        self._legend_items = items + extra

    # ------------------------------------------------------------------ drawing

    def render(self) -> RenderResult:
        width, height = self.size
        if width < MIN_WIDTH or height < MIN_HEIGHT:
            return Text(f"chart needs {MIN_WIDTH}x{MIN_HEIGHT}", style="italic")
        if self._message:
            return Text(self._message, style="italic")
        theme = self._plotext_theme()
        key = (width, height, theme, self._version)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        legend = wrap_items(self._legend_items, width)
        # The legend gives way (its last lines first) so that the plot keeps 2/3 of the height.
        keep = max(MIN_PLOT_HEIGHT, (2 * height + 2) // 3)
        legend = legend[: max(0, height - keep)]
        try:
            self.build_count += 1
            canvas = self._build_plot(width, height - len(legend), theme)
            text = Text.from_ansi(canvas.rstrip("\n"), no_wrap=True, overflow="crop")
        except Exception as error:  # plotext can fail on odd sizes or data
            text = Text(f"chart cannot be drawn here ({type(error).__name__})", style="italic")
            legend = []
        result = Text("\n").join([text, *legend]) if legend else text
        self._cache = (key, result)
        return result

    def _plotext_theme(self) -> str:
        # With an ANSI theme (ansi-dark: "default" colours) the auto theme's RGB canvas would
        # not match the terminal: plotext's "clear" theme leaves the canvas uncoloured.
        if getattr(self.app, "native_ansi_color", False):
            return "clear"
        return self._get_plotext_theme_name(self.app.theme)

    def _left_top_ticks(self, rows: int) -> float | None:
        if self._left_top is None:
            return None
        return nice_ticks(self._left_top, min(6, max(2, rows * 2 // 3)))[-1]

    def _build_plot(self, width: int, height: int, theme: str) -> str:
        plt = self.plt
        plt.clear_data()
        plt.plotsize(width, height)
        plt._set_size(width, height)
        plt.theme(theme)
        plt.title(self._title)
        right = any(s.right for s in self._series)
        ticks_w = 14 if right else 7  # room the y tick labels take
        xs, ys = cut_to_width(self._xs, self._ys, max(2, width - ticks_w))
        rows = max(2, height - 4)  # title, frame top and bottom, x ticks
        # The first series is the most important: drawn last, on top of the others. Left-axis
        # values above a fixed top are drawn at the top edge.
        cap = self._left_top_ticks(rows)
        for s, y in reversed(list(zip(self._series, ys, strict=True))):
            if cap is not None and not s.right:
                y = [min(v, cap) for v in y]
            plt.plot(xs, y, marker=s.marker, color=s.colour, yside="right" if s.right else "left")
        left_values = [v for s, y in zip(self._series, ys, strict=True) if not s.right for v in y]
        left_top = max([*left_values, *(lv.mb for lv in self._levels), 1.0]) * 1.05
        if self._left_top is not None:
            left_top = self._left_top
        left_ticks = nice_ticks(left_top, min(6, max(2, rows * 2 // 3)))
        left_top = left_ticks[-1]
        plt.ylim(0, left_top, yside="left")
        plt.yticks(left_ticks, [_tick_label(v) for v in left_ticks], yside="left")
        if right:
            right_values = [v for s, y in zip(self._series, ys, strict=True) if s.right for v in y]
            right_top = max([*right_values, 1.0]) * 1.05
            right_ticks = nice_ticks(right_top, min(6, max(2, rows * 2 // 3)))
            plt.ylim(0, right_ticks[-1], yside="right")
            plt.yticks(right_ticks, [_tick_label(v) for v in right_ticks], yside="right")
        x0, x1 = (xs[0], xs[-1]) if xs else (0.0, 1.0)
        if x1 <= x0:
            x1 = x0 + 1.0
        plt.xlim(x0, x1)
        x_ticks, x_labels, _ = time_ticks(x0, x1, max(2, (width - ticks_w) // 10))
        plt.xticks(x_ticks, x_labels)
        # Levels: a line each; a name where it has a canvas row of its own.
        used_rows: set[int] = set()
        for level in sorted(self._levels, key=lambda lv: -lv.mb):
            plt.hline(level.mb, level.colour, yside="left")
            row = round(level.mb / left_top * (rows - 1)) if left_top > 0 else 0
            if row not in used_rows and 0 <= row < rows:
                used_rows.add(row)
                plt.text(level.label, x=x0, y=level.mb, color=level.colour, alignment="left",
                         yside="left")
        return plt.build()


class HostChart(_HistoryChart):
    """Free memory against the state thresholds (left axis), with consumed, shared, balloon,
    swapped and zipped memory (right axis), over the history in simulated minutes.

    `update_from(snapshot, history, selected, thresholds)`: reads `history.t`,
    `history.host` and `snapshot.host` (current figures in the legend); `selected` is ignored.
    """

    DEFAULT_CSS = """
    HostChart {
        width: 1fr;
        height: 1fr;
        min-height: 8;
    }
    """

    def _input_key(self, snapshot, history, selected, thresholds) -> object:
        t = history.t
        return (id(t), len(t), t[-1] if t else None, snapshot.t,
                None if thresholds is None else tuple(thresholds.as_dict().items()))

    def _take_data(self, snapshot, history, selected, thresholds) -> None:
        levels = []
        if thresholds is not None:
            levels = [Level(state, mb, STATE_COLOURS.get(state, "white"))
                      for state, mb in thresholds.as_dict().items() if mb is not None]
        host = snapshot.host
        current = {s.key: getattr(host, s.key) for s in HOST_SERIES}
        free = history.host.get("free_mb", [])
        self._left_top = free_axis_top(host.free_mb, [lv.mb for lv in levels], 1.0) if levels else None
        extra = []
        if levels:
            extra.append(Text.assemble(("─", "bold"), " thresholds (free MB):"))
            extra += [Text.assemble((lv.label, f"bold {RICH_COLOURS.get(lv.colour, '')}"),
                                    f" {format_mb(lv.mb)}") for lv in levels]
        extra.append(Text.assemble("state: ", (host.state, "bold reverse")))
        top = self._left_top_ticks(max(2, self.size.height - 4)) if self._left_top else None
        if top is not None and any(v > top for v in free):
            extra.append(Text(f"free above {format_mb(top)} drawn at the top", style="dim"))
        extra += [Text("axes: free, thresholds ◂", style="dim"), Text("▸ the rest", style="dim"),
                  Text(f"x: simulated time ({'h:mm' if history.t and history.t[-1] >= 3600 else 'm:ss'})",
                       style="dim")]
        self._set_data(list(history.t), HOST_SERIES, history.host, levels,
                       f"host memory, MB (state {host.state})", current, extra)


class VMChart(_HistoryChart):
    """The selected VM's consumed memory, target, active estimate against its true working set,
    shared, balloon, swapped and zipped memory, with lines at memsize, reservation and limit.

    `update_from(snapshot, history, selected, thresholds)`: reads `history.vm_t[selected]`,
    `history.vms[selected]` and `snapshot.vm(selected)`; `thresholds` is ignored.
    """

    DEFAULT_CSS = """
    VMChart {
        width: 1fr;
        height: 1fr;
        min-height: 8;
    }
    """

    def _input_key(self, snapshot, history, selected, thresholds) -> object:
        if selected is None:
            return None
        t = history.vm_t.get(selected)
        vm = next((v for v in snapshot.vms if v.name == selected), None)
        return (selected, id(t), len(t) if t else 0, t[-1] if t else None, snapshot.t,
                None if vm is None else (vm.memory_mb, vm.reservation_mb, vm.limit_mb))

    def update_from(self, snapshot: Snapshot, history: History, selected: str | None,
                    thresholds: Thresholds | None, version: str | None = None) -> None:
        if selected is None:
            if self._inputs is not None or self._message != "no VM selected":
                self._inputs = None
                self._drawn_key = None
                self._pending = False
                self._message = "no VM selected"
                self._version += 1
                self.refresh()
            return
        super().update_from(snapshot, history, selected, thresholds, version)

    def _take_data(self, snapshot, history, selected, thresholds) -> None:
        vm: VMMetrics | None = next((v for v in snapshot.vms if v.name == selected), None)
        series = history.vms.get(selected)
        if vm is None or series is None:
            self._message = f"no history for {plain_name(selected)}"
            return
        levels = [Level("memsize", vm.memory_mb, "gray")]
        if vm.reservation_mb > 0:
            levels.append(Level("reservation", vm.reservation_mb, "green"))
        if vm.limit_mb is not None and vm.limit_mb < vm.memory_mb:
            levels.append(Level("limit", vm.limit_mb, "red"))
        current = {s.key: getattr(vm, s.key) for s in VM_SERIES}
        extra = [Text.assemble(("─", "bold"), f" {lv.label} {format_mb(lv.mb)} MB")
                 for lv in levels]
        if vm.power != "on":
            extra.append(Text("powered off", style="bold"))
        ts = history.vm_t[selected]
        extra.append(Text(f"x: simulated time ({'h:mm' if ts and ts[-1] >= 3600 else 'm:ss'})",
                          style="dim"))
        self._set_data(list(ts), VM_SERIES, series, levels,
                       f"{plain_name(vm.name)}, MB", current, extra)
