"""The guest cost model (memtui.cost) and the esxtop fields derived from the state
(memtui.esxtop.memscreen): unit tests on built hosts and properties over random ones."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from memtui import cost
from memtui.esxtop import memscreen
from memtui.model import Host
from tests.model_helpers import make_host, plain_workload, vm
from tests.test_model_properties import _apply, changes, hosts


def _run(host: Host, seconds: int) -> Host:
    host.run(seconds)
    return host


def test_all_resident_runs_at_full_throughput():
    h = _run(make_host([vm("a", 2048, workload=plain_workload(active_mb=1000))]), 120)
    v = h.snapshot().vm("a")
    assert v.throughput_pct == 100
    assert v.swap_wait_pct == v.zip_wait_pct == v.mem_latency_pct == v.guest_paging_wait_pct == 0
    assert v.ws_swapped_mb == 0 and v.balloon_overhead_pct == 0


def test_powered_off_vm_shows_no_cost_and_no_throughput():
    h = _run(make_host([vm("a", 2048, power="off")]), 10)
    v = h.snapshot().vm("a")
    assert v.throughput_pct == 0 and v.mem_latency_pct == 0


def test_balloon_overhead_follows_the_papers_figure_2():
    over = cost.balloon_overhead_pct(np.array([0.0, 32.0, 128.0, 64.0, 192.0]), np.full(5, 256.0))
    assert over[0] == 0
    assert over[1] == pytest.approx(1.4)
    assert over[2] == pytest.approx(4.4)
    assert 1.4 < over[3] < 4.4  # between the published points
    assert over[4] == pytest.approx(4.4 + 0.25 * cost.BALLOON_OVERHEAD_SLOPE_PCT)


def _swapping_host(swap_mb_per_s: float = 40.0, **adv) -> Host:
    """db01 has no balloon driver and a working set the host cannot hold: it is swapped."""
    return make_host(
        [vm("db01", 3072, tools=False, workload=plain_workload(active_mb=2600, boot_s=5)),
         vm("web01", 2048, workload=plain_workload(active_mb=300, boot_s=5))],
        memory_mb=4096, system_mb=400, swap_mb_per_s=swap_mb_per_s, advanced=adv)


def test_swapped_working_set_costs_throughput_and_shows_as_latency():
    h = _swapping_host()
    worst = None
    for _ in range(600):
        h.step()
        v = h.snapshot().vm("db01")
        if worst is None or v.throughput_pct < worst.throughput_pct:
            worst = v
    assert worst.throughput_pct < 80
    assert worst.swap_wait_pct > 10 and worst.mem_latency_pct >= worst.swap_wait_pct
    # The figures come from the state: a working set that is out, or faults being served.
    assert worst.ws_swapped_mb > 0 or worst.swap_in_mb_s > 0


def test_the_stall_share_is_the_working_set_out_of_memory():
    """With nothing faulted this step, the wait is exactly the share of the working set that is
    swapped or compressed (set on a built state, so the figures are known)."""
    h = _run(make_host([vm("a", 2048, workload=plain_workload(active_mb=1000))]), 60)
    h.swapped_act[0] = 250.0
    h.swapped[0] = max(h.swapped[0], 250.0)
    h.zipped_act[0] = 100.0
    h.zipped[0] = max(h.zipped[0], 100.0)
    h.swap_in_rate[0] = 0.0
    h.unzip_rate[0] = 0.0
    c = cost.guest_cost(h)
    assert c.swap_wait_pct[0] == pytest.approx(25.0)
    assert c.zip_wait_pct[0] == pytest.approx(10.0)
    assert c.throughput_pct[0] == pytest.approx(65.0)
    # Faults served add the time the datastore took to read them (at its speed).
    h.swap_in_rate[0] = 20.0
    c = cost.guest_cost(h)
    assert c.swap_wait_pct[0] == pytest.approx(25.0 + 100 * 20.0 / h.config.swap_mb_per_s)
    # Decompressing the same amount costs far less than swapping it in.
    h.swap_in_rate[0] = 0.0
    h.unzip_rate[0] = 20.0
    c2 = cost.guest_cost(h)
    assert c2.zip_wait_pct[0] - 10.0 < (100 * 20.0 / h.config.swap_mb_per_s) / 5


def test_guest_paging_when_the_balloon_takes_the_working_set():
    h = _run(make_host([vm("a", 2048, workload=plain_workload(active_mb=1500))]), 60)
    h.balloon[0] = 1024.0  # leaves the guest 1024 MB for a 1500 MB working set
    c = cost.guest_cost(h)
    assert c.ws_guest_paged_mb[0] == pytest.approx(476.0)
    assert c.guest_paging_wait_pct[0] == pytest.approx(100 * 476 / 1500)
    assert c.throughput_pct[0] < 100 - c.guest_paging_wait_pct[0] + 1e-9


def test_a_balloon_of_idle_memory_costs_little_a_swap_of_the_same_size_much_more():
    """The learner's lesson: ballooning costs a few per cent, swapping a lot."""
    balloon = _swapping_host()
    balloon.set_vm("db01", tools=True)
    swap = _swapping_host()
    tb, ts = [], []
    for t in range(900):
        balloon.step()
        swap.step()
        if t >= 300:
            tb.append(balloon.snapshot().vm("db01").throughput_pct)
            ts.append(swap.snapshot().vm("db01").throughput_pct)
    assert np.mean(tb) > np.mean(ts) + 5


def test_averages_survive_vms_coming_and_going_and_forks():
    h = _swapping_host()
    h.run(200)
    other = h.fork()
    other.run(50)
    before = h.snapshot().vm("db01").throughput_pct
    h.remove_vm("web01")
    h.step()
    assert h.cost_window[0] == ("db01",)
    assert 0 <= h.snapshot().vm("db01").throughput_pct <= 100
    assert before >= 0  # the fork ran on without changing the original's window
    assert other.cost_window[0] == ("db01", "web01")


def test_overcommit_averages_move_like_load_averages():
    h = _swapping_host()
    level = memscreen.overcommit_level(h)
    on = h.on
    requested = float(((np.minimum(h.memsize, h.limit) + h.overhead) * on).sum())
    assert level == pytest.approx(requested / h.managed_mb - 1)
    h.run(60)
    a1, a5, a15 = h.overcommit_avg
    assert a1 == pytest.approx(level * (1 - math.exp(-1)), rel=1e-6)
    assert level > a1 > a5 > a15 > 0
    for name in [v.name for v in h.vms]:
        h.power_off(name)
    h.run(60)
    assert memscreen.overcommit_level(h) == 0 and h.overcommit_avg[0] < a1


def test_esxtop_fields_from_the_state():
    h = make_host([vm("a", 4096, workload=plain_workload(active_mb=2000))], esx_version="4.1")
    h.run(300)
    v = h.snapshot().vm("a")
    assert v.zip_cache_size_mb == pytest.approx(409.6)  # Mem.MemZipMaxPct 10 % of 4096 MB
    assert v.overhead_max_mb == v.overhead_mb
    assert v.touched_write_mb == pytest.approx(v.active_mb * 0.25, abs=0.02)
    assert abs(v.active_next_pct - v.active_pct) < 25
    h.set_advanced("Mem.MemZipEnable", 0)
    assert h.snapshot().vm("a").zip_cache_size_mb == 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hosts(), changes)
def test_cost_figures_stay_in_bounds_over_random_hosts(h, seq):
    config, adv, vms = h
    host = Host(config, adv, vms)
    seq = sorted(seq)
    j = 0
    for t in range(300):
        while j < len(seq) and seq[j][0] <= t:
            _, vm_i, kind, value = seq[j]
            _apply(host, vm_i, kind, value)
            j += 1
        host.step()
        if t % 5:
            continue
        snap = host.snapshot()
        for v in snap.vms:
            for f in ("swap_wait_pct", "zip_wait_pct", "mem_latency_pct", "guest_paging_wait_pct",
                      "throughput_pct", "balloon_overhead_pct", "active_next_pct"):
                assert 0 <= getattr(v, f) <= 100 + 1e-6, (v.name, f, getattr(v, f))
            assert v.mem_latency_pct + v.guest_paging_wait_pct <= 100 + 0.05
            assert v.ws_swapped_mb <= v.swapped_mb + 0.01 and v.ws_zipped_mb <= v.zipped_mb + 0.01
            if v.power != "on":
                assert v.throughput_pct == 0
            elif v.swap_wait_pct == v.zip_wait_pct == v.guest_paging_wait_pct == 0:
                # Nothing waited on in the window: only a balloon (now or in it) costs anything.
                assert v.throughput_pct >= 100 - cost.balloon_overhead_pct(v.memory_mb, v.memory_mb) - 0.01
        assert snap.host.overcommit_level >= 0 and snap.host.overcommit_avg_15m >= 0
