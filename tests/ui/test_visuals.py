"""The visual panes (bars, memory map, charts), mounted in a small app and fed snapshots of a
real simulated host."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import Callable

import pytest
from textual.app import App, ComposeResult
from textual.widget import Widget

from memtui.config import HostConfig, VMConfig, Workload
from memtui.history import History
from memtui.metrics import Snapshot
from memtui.model import Host
from memtui.tables import thresholds
from memtui.ui.bars import (
    HOST_SEGMENTS,
    PAGE_STATES,
    HostMemoryBar,
    VMMemoryBar,
    allocate_cells,
    format_mb,
)
from memtui.ui.charts import HostChart, VMChart, cut_to_width, nice_ticks
from memtui.ui.memmap import MemoryMap

MARKUP_NAME = "[bold]x[/bold]"


@functools.cache
def _build_host() -> tuple[Host, History]:
    """An overcommitted 4.1 host (so balloon, swap and compression all happen): five 2 GB
    VMs of one family, one of another family with a markup-like name, and one powered off."""
    busy = Workload(active_mb=1500)
    vms = [
        VMConfig(name=f"win{i}", memory_mb=2048, content_family="win", workload=busy)
        for i in range(5)
    ]
    vms.append(
        VMConfig(
            name=MARKUP_NAME,
            memory_mb=1024,
            content_family="lin",
            reservation_mb=256,
            limit_mb=800,
            max_balloon_mb=100,  # the balloon cannot take all it holds beyond its limit
            workload=Workload(active_mb=200),
        )
    )
    vms.append(VMConfig(name="idle", memory_mb=1024, power="off"))
    host = Host(HostConfig(name="t", memory_mb=8192, system_mb=800, esx_version="4.1"), {}, vms)
    history = History(length=200)
    for _ in range(40):
        host.run(10)
        history.add(host.snapshot())
    return host, history


@pytest.fixture(scope="module")
def world():
    host, history = _build_host()
    snap = host.snapshot()
    families = {vm.name: vm.content_family for vm in host.vms}
    return host, history, snap, families


class Harness(App):
    """Mounts the given widgets and feeds them once on mount."""

    def __init__(self, widgets: list[Widget], feed: Callable[[], None] | None = None):
        super().__init__()
        self._widgets = widgets
        self._feed = feed

    def compose(self) -> ComposeResult:
        yield from self._widgets

    def on_mount(self) -> None:
        if self._feed:
            self._feed()


def run_async(test):
    """Run an async test in its own event loop (no async pytest plugin is needed)."""

    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))

    return wrapper


def feed_all(widgets, world, selected):
    host, history, snap, families = world

    def feed():
        for w in widgets:
            if isinstance(w, MemoryMap):
                w.update_from(snap, history, selected, host.thresholds, families=families)
            else:
                w.update_from(snap, history, selected, host.thresholds)

    return feed


def rendered(widget) -> str:
    """What the widget draws now, without styles."""
    return widget.render().plain


# ----------------------------------------------------------------------- layout arithmetic


def test_allocate_cells_keeps_total_and_small_parts():
    assert sum(allocate_cells([1000, 3, 0, 500], 40)) == 40
    cells = allocate_cells([1000, 3, 0, 500], 40)
    assert cells[1] == 1 and cells[2] == 0
    assert allocate_cells([0, 0], 10) == [0, 0]
    assert allocate_cells([5.0], 0) == [0]
    # more visible parts than cells: the total still holds
    assert sum(allocate_cells([1, 1, 1, 1, 1], 3)) == 3


def test_cut_to_width_keeps_last_sample():
    xs = list(range(600))
    cx, (cy,) = cut_to_width(xs, [xs], 50)
    assert len(cx) <= 50 and cx[-1] == 599 and cx[0] == 0 and cy == cx
    assert cut_to_width([1, 2], [[3, 4]], 50) == ([1, 2], [[3, 4]])
    assert nice_ticks(7392, 5)[-1] >= 7392


# ----------------------------------------------------------------------- bars


@run_async
async def test_host_bar_legend_matches_snapshot(world):
    host, history, snap, _ = world
    bar = HostMemoryBar()
    app = Harness([bar], feed_all([bar], world, None))
    async with app.run_test(size=(80, 12)) as pilot:
        await pilot.pause()
        lines = rendered(bar).split("\n")
        text = "\n".join(lines)
        h = snap.host
        assert len(lines[0]) == 80
        for figure in (
            f"system {format_mb(h.system_mb)} MB",
            f"VM consumed {format_mb(h.consumed_mb)} MB",
            f"shared common {format_mb(h.shared_common_mb)} MB",
            f"overhead {format_mb(h.overhead_mb)} MB",
            f"compression cache {format_mb(h.zip_cache_mb)} MB",
            f"free {format_mb(h.free_mb)} MB",
        ):
            assert figure in text
        # the free segment's length is free memory's share of the bar
        free_glyph = HOST_SEGMENTS["free"].glyph
        assert lines[0].count(free_glyph) == round(h.free_mb / h.memory_mb * 80)
        # one mark per threshold (4.1: high, soft, hard, low), named in the legend
        assert lines[1].count("▲") == 4
        for state, mb in host.thresholds.as_dict().items():
            assert f"{state} {format_mb(mb)} MB" in text
        assert f"state: {h.state}" in text
        # every segment drawn carries its letter, which the legend explains
        for glyph in set(lines[0]):
            assert any(seg.glyph == glyph for seg in HOST_SEGMENTS.values())


@run_async
async def test_host_bar_redraws_only_when_figures_change(world):
    host, history, snap, _ = world
    bar = HostMemoryBar()
    app = Harness([bar], feed_all([bar], world, None))
    async with app.run_test(size=(80, 12)) as pilot:
        await pilot.pause()
        builds = bar.rebuild_count
        for _ in range(5):
            bar.update_from(snap, history, None, host.thresholds)
        await pilot.pause()
        assert bar.rebuild_count == builds
        other = host.fork()
        other.run(30)
        bar.update_from(other.snapshot(), history, None, other.thresholds)
        await pilot.pause()
        assert bar.rebuild_count == builds + 1


@run_async
async def test_bars_without_legend_are_two_lines(world):
    host_bar, vm_bar = HostMemoryBar(show_legend=False), VMMemoryBar(show_legend=False)
    app = Harness([host_bar, vm_bar], feed_all([host_bar, vm_bar], world, "win0"))
    async with app.run_test(size=(80, 12)) as pilot:
        await pilot.pause()
        assert host_bar.size.height == 2 and len(rendered(host_bar).split("\n")) == 2
        assert vm_bar.size.height == 3  # name, bar, marks


@run_async
async def test_vm_bar_shows_balloon_and_marks(world):
    host, history, snap, _ = world
    vm = snap.vm("win0")
    assert vm.balloon_mb > 0.5, "the scenario should balloon"
    bar = VMMemoryBar()
    app = Harness([bar], feed_all([bar], world, "win0"))
    async with app.run_test(size=(80, 12)) as pilot:
        await pilot.pause()
        lines = rendered(bar).split("\n")
        text = "\n".join(lines)
        cells = lines[1]
        assert len(cells) == 80
        assert PAGE_STATES["balloon"].glyph in cells
        assert abs(cells.count("P") - vm.private_mb / vm.memory_mb * 80) <= 2
        assert f"ballooned {format_mb(vm.balloon_mb)} MB" in text
        assert f"target {format_mb(vm.target_mb)} MB" in text
        assert "limit unlimited" in text
        assert lines[2].count("T") == 1 and "R" not in lines[2]


@run_async
async def test_vm_bar_reservation_limit_and_markup_name(world):
    host, history, snap, _ = world
    vm = snap.vm(MARKUP_NAME)
    bar = VMMemoryBar()
    app = Harness([bar], feed_all([bar], world, MARKUP_NAME))
    async with app.run_test(size=(60, 14)) as pilot:
        await pilot.pause()
        lines = rendered(bar).split("\n")
        assert lines[0].startswith(MARKUP_NAME)  # shown literally, not parsed as markup
        marks = lines[2]
        assert sorted(ch for ch in marks if ch != " ") == ["L", "R", "T"]
        # marks sit where their figures fall on the bar
        assert abs(marks.index("R") - vm.reservation_mb / vm.memory_mb * 60) <= 1
        assert abs(marks.index("L") - vm.limit_mb / vm.memory_mb * 60) <= 1
        assert "limit 800 MB" in "\n".join(lines)


@run_async
async def test_vm_bar_without_selection_and_powered_off(world):
    host, history, snap, _ = world
    bar = VMMemoryBar()
    app = Harness([bar], feed_all([bar], world, None))
    async with app.run_test(size=(60, 10)) as pilot:
        await pilot.pause()
        assert "no VM selected" in rendered(bar)
        bar.update_from(snap, history, "idle", host.thresholds)
        await pilot.pause()
        assert "powered off" in rendered(bar)
        bar.update_from(snap, history, "gone", host.thresholds)
        await pilot.pause()
        assert "no VM named gone" in rendered(bar)


# ----------------------------------------------------------------------- memory map


@run_async
async def test_memmap_draws_family_and_page_states(world):
    host, history, snap, families = world
    mm = MemoryMap()
    app = Harness([mm], feed_all([mm], world, "win2"))
    async with app.run_test(size=(80, 40)) as pilot:
        await pilot.pause()
        lines = rendered(mm).split("\n")
        text = "\n".join(lines)
        # the selected VM and two more of its family; not the other family
        titles = [line for line in lines if line.startswith("win")]
        assert len(titles) == 3 and titles[0].startswith("win2")
        assert MARKUP_NAME not in text
        phys = [line for line in lines if line.startswith("guest physical")]
        assert len(phys) == 3
        vm = snap.vm("win2")
        cells = phys[0][16:]
        assert cells.count("B") >= 1  # ballooned VM shows balloon cells
        assert cells.count("0") >= 1 and cells.count("=") >= 1
        assert abs(len(cells) - 64) <= 1
        per_cell = vm.memory_mb / 64
        assert abs(cells.count("B") - vm.balloon_mb / per_cell) <= 1.5
        # machine row: private cells are backed straight below, others point elsewhere
        mach = [line for line in lines if line.startswith("machine ")][0][16:]
        for p, m in zip(cells, mach, strict=False):
            if p == "P":
                assert m == "P"
            elif p in "=0WZ":
                assert m == "↓"
            else:
                assert m == " "
        common = sum(
            v.shared_mb - v.shared_saved_mb
            for v in snap.vms
            if v.power == "on" and families.get(v.name) == "win"
        )
        assert f"{format_mb(common)} MB back" in text
        assert "one 4 KB page backs" in text
        assert "shared in 5 VMs" in text
        assert all(len(line) <= 80 for line in lines)


@run_async
async def test_memmap_markup_name_narrow_and_tiny(world):
    host, history, snap, _ = world
    mm = MemoryMap()
    app = Harness([mm], feed_all([mm], world, MARKUP_NAME))
    async with app.run_test(size=(40, 30)) as pilot:
        await pilot.pause()
        text = rendered(mm)
        lines = text.split("\n")
        assert lines[1].startswith(MARKUP_NAME)
        assert all(len(line) <= 40 for line in lines)
        phys = [line for line in lines if line.startswith("phys")]
        assert len(phys) == 1 and len(phys[0][7:]) == 40 - 7  # fewer cells at narrow width
        assert "W" in phys[0] and "Z" in phys[0]  # swapped and compressed
        mm.styles.width = 12
        await pilot.pause()
        assert "needs 30 columns" in " ".join(rendered(mm).split("\n"))


@run_async
async def test_memmap_powered_off_and_no_selection(world):
    host, history, snap, _ = world
    mm = MemoryMap()
    app = Harness([mm], feed_all([mm], world, None))
    async with app.run_test(size=(80, 20)) as pilot:
        await pilot.pause()
        assert "no VM selected" in rendered(mm)
        mm.update_from(snap, history, "idle", host.thresholds)
        await pilot.pause()
        assert "powered off" in rendered(mm)
        alone = MemoryMap()  # families unknown: only the selected VM is drawn
        await app.mount(alone)
        alone.update_from(snap, history, "win0", host.thresholds)
        await pilot.pause()
        lines = rendered(alone).split("\n")
        assert [line for line in lines if line.startswith("win")] == [lines[1]]
        assert any(line.endswith("shared in 1 VM") for line in lines)


# ----------------------------------------------------------------------- charts


@run_async
async def test_host_chart_legend_and_thresholds(world):
    host, history, snap, _ = world
    chart = HostChart()
    app = Harness([chart], feed_all([chart], world, None))
    async with app.run_test(size=(90, 24)) as pilot:
        await pilot.pause()
        text = rendered(chart)
        assert chart.redraw_count == 1
        assert f"● free {format_mb(snap.host.free_mb)}" in text
        assert f"# consumed {format_mb(snap.host.consumed_mb)}" in text
        assert f"b balloon {format_mb(snap.host.balloon_mb)}" in text
        assert f"z zipped {format_mb(snap.host.zipped_mb)}" in text
        assert "high" in text and "low" in text
        assert f"state: {snap.host.state}" in text
        assert "┤" in text  # the plot itself was built


@run_async
async def test_chart_throttles_and_skips_unchanged(world):
    host, history, snap, _ = world
    # The later state is built before the chart starts its interval, so that a slow machine
    # cannot stretch the time between the two updates past it.
    later = host.fork()
    longer = History(length=200)
    for _ in range(3):
        later.run(10)
        longer.add(later.snapshot())
    later_snap = later.snapshot()
    chart = HostChart(min_interval_s=1.0)
    app = Harness([chart], feed_all([chart], world, None))
    async with app.run_test(size=(80, 20)) as pilot:
        await pilot.pause()
        assert chart.redraw_count == 1
        rendered(chart)
        builds = chart.build_count
        chart.update_from(snap, history, None, host.thresholds)  # same inputs
        rendered(chart)
        assert chart.redraw_count == 1 and chart.build_count == builds
        chart.update_from(later_snap, longer, None, later.thresholds)
        assert chart.redraw_count == 1  # within the interval: waits
        await asyncio.sleep(1.1)
        await pilot.pause()
        assert chart.redraw_count == 2


@run_async
async def test_hidden_chart_waits_until_shown(world):
    host, history, snap, _ = world
    chart = VMChart(min_interval_s=0.0)
    chart.display = False
    app = Harness([chart], feed_all([chart], world, "win1"))
    async with app.run_test(size=(80, 20)) as pilot:
        await pilot.pause()
        assert chart.redraw_count == 0
        chart.display = True
        await pilot.pause()
        await pilot.pause()
        assert chart.redraw_count == 1
        vm = snap.vm("win1")
        text = rendered(chart)
        assert f"a active est. {format_mb(vm.active_mb)}" in text
        assert f"w working set {format_mb(vm.active_true_mb)}" in text
        assert "memsize 2048" in text


@run_async
async def test_vm_chart_markup_name_and_no_selection(world):
    host, history, snap, _ = world
    chart = VMChart(min_interval_s=0.0)
    app = Harness([chart], feed_all([chart], world, MARKUP_NAME))
    async with app.run_test(size=(80, 22)) as pilot:
        await pilot.pause()
        text = rendered(chart)
        assert f"{MARKUP_NAME}, MB" in text
        assert "reservation 256" in text and "limit 800" in text
        chart.update_from(snap, history, None, host.thresholds)
        await pilot.pause()
        assert "no VM selected" in rendered(chart)


@run_async
async def test_chart_with_empty_history(world):
    host, history, snap, _ = world
    chart = HostChart()
    app = Harness([chart])
    async with app.run_test(size=(80, 20)) as pilot:
        chart.update_from(snap, History(), None, host.thresholds)
        await pilot.pause()
        assert "waiting for samples" in rendered(chart)


@pytest.mark.parametrize("size", [(1, 1), (12, 4), (30, 7)])
@run_async
async def test_tiny_sizes_do_not_crash(world, size):
    widgets = [
        HostChart(min_interval_s=0.0),
        VMChart(min_interval_s=0.0),
        HostMemoryBar(),
        VMMemoryBar(),
        MemoryMap(),
    ]
    app = Harness(widgets, feed_all(widgets, world, "win0"))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for w in widgets:
            w.styles.height = size[1]
            w.styles.width = size[0]
        await pilot.pause()
        for w in widgets:
            rendered(w)
        app.export_screenshot()
        chart = widgets[0]
        if size[0] < 24 or size[1] < 6:
            assert "chart needs" in rendered(chart)


@run_async
async def test_no_color_keeps_letters(world, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    widgets = [HostMemoryBar(), VMMemoryBar(), MemoryMap()]
    app = Harness(widgets, feed_all(widgets, world, "win0"))
    async with app.run_test(size=(80, 40)) as pilot:
        await pilot.pause()
        assert app.no_color
        screen = app.export_screenshot()
        for glyph in ("S", "C", "P", "B"):
            assert f"&#160;{glyph}&#160;" in screen or f" {glyph} " in screen


# ----------------------------------------------------------------------- SVG snapshots


# The pictures are compared with stored SVGs, so they are drawn from fixed figures (a real
# snapshot's shape with its numbers pinned): a change to the model's arithmetic must not
# change the pictures, only a change to the drawing may.
PINNED_VM = dict(private_mb=1000.0, shared_mb=620.0, zero_mb=190.0, balloon_mb=110.0,
                 swapped_mb=16.0, zipped_mb=40.0, untouched_mb=262.0, shared_saved_mb=500.0,
                 zip_cache_mb=20.0, target_mb=1100.0, consumed_mb=1120.0)
PINNED_HOST = dict(state="high", memory_mb=8192.0, system_mb=800.0, free_mb=522.0,
                   consumed_mb=6000.0, shared_common_mb=480.0, overhead_mb=810.0,
                   zip_cache_mb=60.0)


class _PinnedHost:
    thresholds = thresholds("4.1", 8192)


def _snapshot_app(widgets, selected):
    host, history = _build_host()
    real = host.snapshot()
    vms = tuple(dataclasses.replace(vm, **PINNED_VM) if vm.power == "on" and vm.memory_mb == 2048
                else vm for vm in real.vms)
    snap = Snapshot(600.0, dataclasses.replace(real.host, **PINNED_HOST), vms)
    families = {vm.name: vm.content_family for vm in host.vms}
    return Harness(widgets, feed_all(widgets, (_PinnedHost, history, snap, families), selected))


def test_snapshot_bars(snap_compare):
    app = _snapshot_app([HostMemoryBar(), VMMemoryBar()], "win0")
    assert snap_compare(app, terminal_size=(80, 16))


def test_snapshot_memmap(snap_compare):
    app = _snapshot_app([MemoryMap()], "win0")
    assert snap_compare(app, terminal_size=(80, 30))
