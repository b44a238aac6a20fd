"""The selected VM: its settings, its overhead and where the figure comes from, a bar of its
memory, its figures now and its recent history."""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Label, Sparkline, Static

from memtui.config import VMConfig, format_duration
from memtui.history import History
from memtui.metrics import Snapshot, VMMetrics
from memtui.tables import Overhead
from memtui.ui import optional

HISTORY_SERIES = (  # (History.VM_SERIES key, label)
    ("consumed_mb", "consumed"),
    ("active_mb", "active"),
    ("balloon_mb", "balloon"),
    ("swapped_mb", "swapped"),
)


@dataclass(frozen=True)
class VMInfo:
    """What the pane shows besides the snapshot: the VM's settings and overhead source."""

    config: VMConfig
    overhead: Overhead
    host_balloon_pct: int


def _mb(x: float | None) -> str:
    return "unlimited" if x is None else f"{x:.2f}"


def _label(text: str) -> Text:
    return Text(text, style="bold")


def settings_table(info: VMInfo) -> Table:
    c = info.config
    wl = c.workload
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    shares = f"{c.shares} ({c.shares_value})" if isinstance(c.shares, str) else f"custom ({c.shares})"
    limit = "unlimited" if c.limit_mb is None else f"{c.limit_mb} MB"
    cap_host = f"Mem.CtlMaxPercent {info.host_balloon_pct} % of memory"
    cap = cap_host if c.max_balloon_mb is None else f"{c.max_balloon_mb} MB (and {cap_host})"
    grid.add_row(_label("Settings"), Text(
        f"memory {c.memory_mb} MB · {c.vcpus} vCPU{'s' if c.vcpus != 1 else ''} · reservation "
        f"{c.reservation_mb} MB · limit {limit} · shares {shares}"))
    grid.add_row("", Text(
        f"tools {'yes' if c.tools else 'no'} · balloon cap {cap} · page sharing "
        f"{'on' if c.page_sharing else 'off'} · content family {c.content_family or '-'}"))
    active = "idle guest" if wl.active_mb is None else f"{wl.active_mb:g} MB"
    schedule = ", ".join(f"{format_duration(at)} {mb:g}" for at, mb in wl.schedule) or "none"
    grid.add_row(_label("Workload"), Text(
        f"touched {wl.touched_pct:g} % · active {active} · zero {wl.zero_pct:g} % · family "
        f"{wl.family_pct:g} % · dup {wl.dup_pct:g} % · boot {format_duration(wl.boot_s)} · "
        f"schedule {schedule}"))
    grid.add_row(_label("Overhead"), Text(
        f"{info.overhead.mb:.2f} MB ({info.overhead.kind}): {info.overhead.source}"))
    return grid


def figures_table(vm: VMMetrics) -> Table:
    """The VM's figures now: one line per row (cut at the pane's edge, never wrapped), so the
    pane keeps its height while the figures change."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True, overflow="ellipsis")
    if vm.power != "on":
        grid.add_row(_label("Now"), Text("powered off: no memory in use, no overhead reserved"))
        return grid
    grid.add_row(_label("Now"), Text(
        f"granted {vm.granted_mb:.2f} · consumed {vm.consumed_mb:.2f} · target (SZTGT) "
        f"{vm.target_mb:.2f} · touched {vm.touched_mb:.2f} MB"))
    grid.add_row("", Text(
        f"active estimate {vm.active_mb:.2f} MB ({vm.active_pct:.0f} %, slow {vm.active_slow_pct:.0f} %, "
        f"fast {vm.active_fast_pct:.0f} %) · true working set {vm.active_true_mb:.2f} MB"))
    grid.add_row("", Text(
        f"private {vm.private_mb:.2f} · shared {vm.shared_mb:.2f} (zero {vm.zero_mb:.2f}) · saved "
        f"{vm.shared_saved_mb:.2f} · untouched {vm.untouched_mb:.2f} MB"))
    driver = "running" if vm.balloon_active else ("booting" if vm.booting and vm.tools else
                                                  ("not installed" if not vm.tools else "off"))
    grid.add_row(_label("Reclaim"), Text(
        f"balloon {vm.balloon_mb:.2f} of target {vm.balloon_target_mb:.2f}, max "
        f"{vm.balloon_max_mb:.2f} MB (driver {driver})"))
    grid.add_row("", Text(
        f"swapped {vm.swapped_mb:.2f} of target {vm.swap_target_mb:.2f} MB · in {vm.swap_in_mb_s:.2f} "
        f"out {vm.swap_out_mb_s:.2f} MB/s · compressed {vm.zipped_mb:.2f} MB (cache "
        f"{vm.zip_cache_mb:.2f})"))
    grid.add_row("", Text(
        f"TCHD_W {vm.touched_write_mb:.2f} MB · %ACTVN {vm.active_next_pct:.0f} · OVHD "
        f"{vm.overhead_mb:.2f} of OVHDMAX {vm.overhead_max_mb:.2f} · CACHESZ {vm.zip_cache_size_mb:.2f} "
        f"CACHEUSD {vm.zip_cache_mb:.2f} MB · ZIP/s {vm.zip_rate_mb_s:.2f} UNZIP/s {vm.unzip_rate_mb_s:.2f}"))
    # vCenter's words beside esxtop's, and what memory costs the guest.
    grid.add_row(_label("vCenter"), Text(
        f"entitlement {vm.target_mb:.2f} (SZTGT) · consumed {vm.consumed_mb:.2f} · active "
        f"{vm.active_mb:.2f} (%ACTV) · granted {vm.granted_mb:.2f} MB (GRANT)"))
    grid.add_row(_label("Cost"), Text(
        f"throughput {vm.throughput_pct:.0f} % (%THRPT) · latency {vm.mem_latency_pct:.1f} % "
        f"(mem.latency: swap-in {vm.swap_wait_pct:.1f} %SWPWT, decompression {vm.zip_wait_pct:.1f}) "
        f"· own paging {vm.guest_paging_wait_pct:.1f} % · balloon {vm.balloon_overhead_pct:.1f} %"))
    grid.add_row("", Text(
        f"working set {vm.active_true_mb:.2f} MB: swapped {vm.ws_swapped_mb:.2f} · compressed "
        f"{vm.ws_zipped_mb:.2f} · in the guest's swap {vm.guest_paging_mb:.2f} MB"))
    notes = []
    if vm.blocked:
        notes.append("BLOCKED: the host is in the low state and this VM is above its target")
    if vm.guest_paging_mb > 0:
        notes.append(f"the guest pages out {vm.guest_paging_mb:.2f} MB of its working set (balloon)")
    if notes:
        grid.add_row(_label("Note"), Text(" · ".join(notes), style="bold"))
    return grid


class _Sheet(Static):
    """A Static that redraws only when its text changes."""

    def __init__(self, **kw) -> None:
        super().__init__("", markup=False, **kw)
        self._key: object = None
        self._rows: int | None = None

    def show(self, key: object, renderable, rows: int | None = None) -> None:
        """Show `renderable` unless `key` says it is what is shown; `rows`, when the caller
        knows it, lets an update of the same height skip the screen's layout pass."""
        if key != self._key:
            self._key = key
            same_height = rows is not None and rows == self._rows
            self._rows = rows
            self.update(renderable, layout=not same_height)


class VMDetail(VerticalScroll):
    """The selected VM's pane."""

    def compose(self) -> ComposeResult:
        yield _Sheet(id="vm-title")
        yield _Sheet(id="vm-settings")
        bar_cls = optional.widget("bars", "VMMemoryBar")
        if bar_cls is not None:
            yield bar_cls(id="vm-bar")
        else:
            yield optional.Placeholder("VM memory bar (memtui/ui/bars.py)", id="vm-bar")
        yield _Sheet(id="vm-now")
        with Horizontal(id="vm-history"):
            for key, label in HISTORY_SERIES:
                with Widget(classes="spark-box"):
                    yield Label(label, classes="spark-label",
                                id=f"spark-label-{key.removesuffix('_mb')}")
                    yield Sparkline([], id=f"spark-{key.removesuffix('_mb')}", classes="spark")

    def update_from(self, snapshot: Snapshot, history: History, selected: str | None,
                    info: VMInfo | None = None, thresholds=None) -> None:
        title = self.query_one("#vm-title", _Sheet)
        vm = None
        if selected is not None:
            try:
                vm = snapshot.vm(selected)
            except KeyError:
                vm = None
        if vm is None or info is None:
            title.show("none", Text("No VM selected: pick one in the VM list."))
            self.query_one("#vm-settings", _Sheet).show(None, "")
            self.query_one("#vm-now", _Sheet).show(None, "")
            return
        state = {"on": "powered on", "off": "powered off"}[vm.power]
        if vm.booting:
            state += ", booting"
        head = Text()
        head.append(vm.name, style="bold")
        head.append(f"  {state}")
        title.show(("t", vm.name, state), head, rows=1)
        self.query_one("#vm-settings", _Sheet).show((info,), settings_table(info))
        figures = figures_table(vm)
        self.query_one("#vm-now", _Sheet).show(vm, figures, rows=figures.row_count)
        bar = self.query_one("#vm-bar")
        if hasattr(bar, "update_from"):
            bar.update_from(snapshot, history, selected, thresholds)
        series = history.vms.get(vm.name) if history is not None else None
        for key, label_text in HISTORY_SERIES:
            short = key.removesuffix("_mb")
            spark = self.query_one(f"#spark-{short}", Sparkline)
            data = list(series[key])[-120:] if series else []
            if list(spark.data or []) != data:
                spark.data = data
                low, high = (min(data), max(data)) if data else (0.0, 0.0)
                self.query_one(f"#spark-label-{short}", Label).update(Text(
                    f"{label_text} {getattr(vm, key):.0f} MB (range {low:.0f}-{high:.0f})"),
                    layout=False)
