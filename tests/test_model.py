"""The memory manager model against the numbers of memory-model.md."""

from __future__ import annotations

import math

import pytest

from memtui import spec
from memtui.config import HostConfig, VMConfig, Workload
from memtui.model import BOUND_RESERVATION, AdmissionError, Host, SettingError
from memtui.tables import overhead_mb, sliding_min_free_mb, thresholds
from tests.model_helpers import make_host, plain_workload, vm

# ------------------------------------------------------------------ overhead (section 3)


@pytest.mark.parametrize("memsize", list(spec.OVERHEAD_40_TABLE_MB))
def test_every_published_40_cell_comes_out_exact(memsize):
    for vcpus, cell in enumerate(spec.OVERHEAD_40_TABLE_MB[memsize], start=1):
        if cell is None:
            continue
        ov = overhead_mb("4.0", memsize, vcpus)
        assert ov.mb == cell
        assert ov.kind == "table"
        assert f"{memsize} MB" in ov.source and f"{vcpus} vCPU" in ov.source


def test_overhead_interpolates_and_extrapolates_linearly_per_column():
    mid = overhead_mb("4.0", 3072, 1)
    assert mid.kind == "interpolated"
    assert mid.mb == pytest.approx((137.81 + 165.98) / 2, abs=0.01)
    beyond = overhead_mb("4.0", 8192, 2)  # n/a in the table
    assert beyond.kind == "extrapolated"
    assert beyond.mb == pytest.approx(242.51 + (242.51 - 198.20) * 2, abs=0.01)
    assert "extrapolated" in beyond.source


def test_later_releases_use_the_65_sample_table():
    assert overhead_mb("6.x", 4096, 2).mb == 52.72
    assert overhead_mb("5.x", 16384, 8).mb == 168.60
    three = overhead_mb("6.x", 1024, 3)
    assert three.mb == pytest.approx((29.91 + 37.86) / 2, abs=0.01)
    assert overhead_mb("4.1", 1024, 1).mb == 123.73  # no 4.1 table: the 4.0 one


# ------------------------------------------------------------------ thresholds (section 7)


def test_40_thresholds_on_a_4096_mb_host():
    th = thresholds("4.0", 4096)
    assert (th.high, th.soft, th.hard, th.low) == pytest.approx((245.76, 163.84, 81.92, 40.96))


def test_sliding_scale_min_free():
    assert sliding_min_free_mb(28 * 1024) == pytest.approx(901.12)
    assert sliding_min_free_mb(96 * 1024) == pytest.approx(1597.44)
    th = thresholds("5.x", 28 * 1024)
    assert th.soft == pytest.approx(901.12 * 0.64)
    six = thresholds("6.x", 28 * 1024)
    assert six.clear == pytest.approx(901.12) and six.high == pytest.approx(4 * 901.12)


def test_41_min_free_pct_sets_the_high_threshold():
    th = thresholds("4.1", 10000, 10)
    assert th.high == pytest.approx(1000) and th.low == pytest.approx(160)


# ------------------------------------------------------------------ admission (section 4)


def test_admission_names_the_shortfall_and_keeps_the_vm_off():
    host = make_host([vm("big", 8192, reservation_mb=6000)], memory_mb=6144, system_mb=500)
    assert host.vms[0].power == "off"
    ev = [e for e in host.log if e.kind == "admission"]
    assert ev and "short by" in ev[0].message
    ov = overhead_mb("4.0", 8192, 1).mb
    expected = 6000 + ov - (6144 - 500)
    assert f"{expected:.2f} MB" in ev[0].message
    with pytest.raises(AdmissionError) as err:
        host.power_on("big")
    assert err.value.shortfall_mb == pytest.approx(expected)


def test_swap_file_must_fit_on_the_datastore():
    host = make_host([vm("a", 4096, reservation_mb=1024)], datastore_free_mb=3000)
    assert host.vms[0].power == "off"
    assert "swap file needs 3072 MB" in host.log[-1].message
    host = make_host([vm("a", 4096, reservation_mb=1096)], datastore_free_mb=3000)
    assert host.vms[0].power == "on"
    assert host.swap_files_mb == 4096 - 1096


def test_raising_a_reservation_is_admission_checked():
    host = make_host([vm("a", 4096), vm("b", 4096, reservation_mb=1500)], memory_mb=6144, system_mb=800)
    unreserved = host.unreserved_mb
    assert unreserved == pytest.approx(6144 - 800 - 1500 - 2 * 165.98)
    with pytest.raises(AdmissionError) as err:
        host.set_vm("a", reservation_mb=4000)
    assert err.value.shortfall_mb == pytest.approx(4000 - unreserved)
    assert host.vms[0].reservation_mb == 0
    assert host.log[-1].kind == "admission"
    host.set_vm("a", reservation_mb=3000)
    assert host.vms[0].reservation_mb == 3000
    with pytest.raises(SettingError):
        host.set_vm("a", reservation_mb=5000)  # above memsize


def test_lowering_memsize_lowers_the_reservation():
    host = make_host([vm("a", 4096, reservation_mb=3000, power="off")])
    host.set_vm("a", memory_mb=2048)
    assert host.vms[0].reservation_mb == 2048
    with pytest.raises(SettingError):
        host.set_vm("a", limit_mb=1000)  # below the reservation


# ------------------------------------------------------------------ allocation (section 5)


def _contended(tau_pct: int, shares=("normal", "normal"), active=(200, 3000)):
    vms = [vm("v1", 4096, shares=shares[0], workload=plain_workload(active_mb=active[0])),
           vm("v2", 4096, shares=shares[1], workload=plain_workload(active_mb=active[1], boot_s=200))]
    host = make_host(vms, memory_mb=6144, system_mb=500,
                     advanced={"Mem.IdleTax": tau_pct, "Mem.IdleTaxType": 0})
    host.run(900)
    return host


@pytest.mark.parametrize("tau_pct", [0, 50, 75, 90])
def test_equal_shares_differ_by_tau_times_active_difference(tau_pct):
    host = _contended(tau_pct)
    d1, d2 = host.decision("v1"), host.decision("v2")
    assert d1.overcommitted and d1.bound == d2.bound == 2  # both between their bounds
    tau = tau_pct / 100
    assert d2.target_mb - d1.target_mb == pytest.approx(tau * (d2.active_mb - d1.active_mb), abs=0.5)
    assert d1.rho == pytest.approx(d2.rho, rel=1e-6)


def test_fully_active_vms_get_memory_in_proportion_to_shares():
    host = _contended(75, shares=(20000, 10000), active=(4096, 4096))
    d1, d2 = host.decision("v1"), host.decision("v2")
    assert d1.bound == d2.bound == 2
    # A ballooned guest can only be active in what it still has, so its estimate sits at its
    # allocation, give or take the sampling noise (which the idle tax multiplies by k - 1 in a
    # single decision): 2:1 on average over the decisions, and in what the VMs hold.
    ratios, held = [], []
    for _ in range(20):
        host.run(15)
        ratios.append(host.decision("v1").target_mb / host.decision("v2").target_mb)
        snap = host.snapshot()
        held.append(snap.vm("v1").consumed_mb / snap.vm("v2").consumed_mb)
    assert sum(held) / len(held) == pytest.approx(2.0, rel=0.03)
    assert sum(ratios) / len(ratios) == pytest.approx(2.0, rel=0.05)


def test_without_the_tax_shares_alone_decide():
    host = _contended(0, shares=(20000, 10000), active=(300, 4096))
    d1, d2 = host.decision("v1"), host.decision("v2")
    assert d1.bound == d2.bound == 2
    assert d1.target_mb / d2.target_mb == pytest.approx(2.0, rel=1e-6)


def test_not_overcommitted_targets_are_demand_and_nothing_is_reclaimed():
    host = make_host([vm("a", 2048), vm("b", 2048)], memory_mb=16384)
    host.run(600)
    snap = host.snapshot()
    assert not host.decision("a").overcommitted
    for v in snap.vms:
        assert v.balloon_mb == 0 and v.swapped_mb == 0
        assert v.target_mb == pytest.approx(v.consumed_mb, abs=1)
    assert snap.host.state == "high"


def test_variable_idle_tax_is_never_above_the_flat_rate():
    host = _contended(75)
    host.set_advanced("Mem.IdleTaxType", 1)
    host.run(60)
    for name in ("v1", "v2"):
        d = host.decision(name)
        assert 0 <= d.tau <= 0.75


def test_reservation_holds_under_contention():
    vms = [vm("res", 4096, reservation_mb=3000, workload=plain_workload(active_mb=100)),
           vm("hog", 4096, workload=plain_workload(active_mb=4096))]
    host = make_host(vms, memory_mb=6144, system_mb=500)
    host.run(1200)
    snap = host.snapshot()
    res = snap.vm("res")
    assert res.granted_mb >= 3000 - 0.01
    assert res.target_mb >= 3000 - 0.01
    assert host.decision("res").bound == BOUND_RESERVATION


# ------------------------------------------------------------------ reclamation (sections 7, 9-11)


def test_a_limit_balloons_a_vm_on_an_idle_host():
    host = make_host([vm("lim", 4096, limit_mb=1024, workload=plain_workload(active_mb=300, boot_s=30))],
                     memory_mb=32768)
    host.run(600)
    snap = host.snapshot()
    v = snap.vm("lim")
    assert snap.host.state == "high"
    assert v.consumed_mb <= 1024 + 0.01
    assert v.balloon_mb == pytest.approx(4096 * 0.65, abs=1)  # at Mem.CtlMaxPercent


def test_no_tools_means_swap_instead_of_balloon():
    vms = [vm(f"t{i}", 4096, tools=i != 0, workload=plain_workload(active_mb=500, boot_s=20 * i + 20))
           for i in range(4)]
    host = make_host(vms, memory_mb=14000, system_mb=500)
    swapped_while_soft = 0.0
    for _ in range(40):
        host.run(15)
        snap = host.snapshot()
        assert snap.vm("t0").balloon_mb == 0
        assert snap.vm("t0").balloon_target_mb == 0
    snap = host.snapshot()
    swapped_while_soft = snap.vm("t0").swapped_mb
    assert swapped_while_soft > 0
    assert max(snap.vm(f"t{i}").balloon_mb for i in (1, 2, 3)) > 0


def test_balloon_never_exceeds_its_cap():
    vms = [vm("a", 4096, max_balloon_mb=100, workload=plain_workload(active_mb=200)),
           vm("b", 4096, workload=plain_workload(active_mb=4000))]
    host = make_host(vms, memory_mb=6144, system_mb=500, advanced={"Mem.CtlMaxPercent": 10})
    most = {"a": 0.0, "b": 0.0}
    for _ in range(120):
        host.run(10)
        snap = host.snapshot()
        assert snap.vm("a").balloon_max_mb == 100
        assert snap.vm("b").balloon_max_mb == pytest.approx(409.6)
        for name in most:
            v = snap.vm(name)
            assert v.balloon_mb <= v.balloon_max_mb + 1e-6
            assert v.balloon_target_mb <= v.balloon_max_mb + 1e-6
            most[name] = max(most[name], v.balloon_mb)
    assert most["a"] == pytest.approx(100, abs=0.5)  # held at its own cap
    assert most["b"] == pytest.approx(409.6, abs=0.5)  # held at the host's cap


def test_ballooning_disabled_on_the_host():
    vms = [vm("a", 4096, workload=plain_workload(active_mb=200)),
           vm("b", 4096, workload=plain_workload(active_mb=4000))]
    host = make_host(vms, memory_mb=6144, system_mb=500, advanced={"Mem.CtlMaxPercent": 0})
    host.run(600)
    snap = host.snapshot()
    assert snap.host.balloon_mb == 0 and snap.host.swapped_mb > 0


def test_compression_only_from_41_and_within_its_cache_cap():
    def run(version, **adv):
        vms = [vm(f"v{i}", 4096, tools=False, workload=plain_workload(active_mb=1000, boot_s=5))
               for i in range(3)]
        host = make_host(vms, memory_mb=8192, system_mb=500, esx_version=version, advanced=adv)
        host.run(600)
        return host.snapshot()

    assert run("4.0").host.zipped_mb == 0
    snap = run("4.1", **{"Mem.MemZipMaxPct": 5})
    assert snap.host.zipped_mb > 0
    for v in snap.vms:
        assert v.zip_cache_mb <= 4096 * 0.05 + 1e-6
        assert v.zipped_mb == pytest.approx(v.zip_cache_mb / spec.ZIP_RATIO, abs=0.03)
    assert run("4.1", **{"Mem.MemZipEnable": 0}).host.zipped_mb == 0


def test_swapped_active_pages_are_swapped_back_in():
    vms = [vm("a", 4096, tools=False, workload=plain_workload(active_mb=3000, boot_s=5)),
           vm("b", 4096, tools=False, workload=plain_workload(active_mb=3000, boot_s=5))]
    host = make_host(vms, memory_mb=6144, system_mb=500)
    seen_swap_in = False
    for _ in range(60):
        host.run(5)
        snap = host.snapshot()
        seen_swap_in |= snap.host.swap_in_mb_s > 0
        assert snap.host.swap_in_mb_s + snap.host.swap_out_mb_s <= host.config.swap_mb_per_s + 1e-6
    assert seen_swap_in


def test_low_state_blocks_vms_above_target():
    vms = [vm(f"v{i}", 8192, tools=False, workload=plain_workload(active_mb=8000, boot_s=1))
           for i in range(3)]
    host = make_host(vms, memory_mb=12288, system_mb=500, swap_mb_per_s=5)
    blocked = False
    for _ in range(120):
        host.step()
        snap = host.snapshot()
        if snap.host.state == "low":
            blocked |= any(v.blocked for v in snap.vms)
        else:
            assert not any(v.blocked for v in snap.vms)
    assert blocked


def test_state_hysteresis_drops_at_once_and_rises_with_a_margin_after_a_dwell():
    host = make_host([vm("a", 1024)], memory_mb=4096, system_mb=0)
    th = host.thresholds
    host.state = "high"
    host.free_mb = th.high - 1
    host._update_state()
    assert host.state == "soft"
    host.free_mb = th.high + 1  # above the threshold but inside the margin
    host._update_state()
    assert host.state == "soft"
    rise = th.high + spec.STATE_RISE_MARGIN * th.min_free_mb
    host.free_mb = rise + 0.04 * th.min_free_mb  # below the free target the allocator aims for
    start = host.t
    while host.t - start < spec.STATE_RISE_DWELL_S - 1:
        host._update_state()
        assert host.state == "soft"  # clearly above, but not yet for the dwell time
        host.t += 1
    host.free_mb = rise + 0.02 * th.min_free_mb  # falling, though still above: the dwell starts again
    host._update_state()
    assert host.state == "soft"
    host.t += spec.STATE_RISE_DWELL_S - 1
    host._update_state()
    assert host.state == "soft"
    host.t += 1
    host._update_state()
    assert host.state == "high"
    host.free_mb = th.hard - 1
    host._update_state()
    assert host.state == "low"


# ------------------------------------------------------------------ page sharing (section 6)


def _family_host(n, mmu="software", **adv):
    vms = [vm(f"d{i}", 2048, content_family="w7",
              workload=plain_workload(active_mb=100, family_pct=25))
           for i in range(n)]
    return make_host(vms, memory_mb=65536, mmu=mmu, advanced={"Mem.ShareScanTime": 10, **adv})


@pytest.mark.parametrize("n", [2, 3, 5])
def test_family_sharing_bookkeeping(n):
    host = _family_host(n)
    host.run(900)
    h = host.snapshot().host
    c = 2048 * 0.25
    assert h.shared_mb == pytest.approx(n * c, abs=0.01)
    assert h.shared_common_mb == pytest.approx(c, abs=0.01)
    assert h.shared_saved_mb == pytest.approx((n - 1) * c, abs=0.01)


def test_zero_pages_collapse_onto_one_page():
    vms = [vm(f"z{i}", 1024, workload=plain_workload(zero_pct=50)) for i in range(3)]
    host = make_host(vms, memory_mb=16384, mmu="software", advanced={"Mem.ShareScanTime": 10})
    host.run(900)
    h = host.snapshot().host
    assert h.shared_mb == pytest.approx(3 * 512, abs=0.01)
    assert h.shared_common_mb == pytest.approx(spec.PAGE_MB, abs=0.01)


def test_large_pages_share_little_until_memory_gets_tight():
    host = _family_host(4, mmu="hardware")
    host.run(900)
    assert host.snapshot().host.shared_mb < 1
    # Make memory tight: a big VM whose working set fills the host.
    host.add_vm(vm("hog", 60000, workload=plain_workload(active_mb=60000, boot_s=10)))
    host.power_on("hog")
    host.run(120)
    assert host.state in ("soft", "hard", "low") or host.snapshot().host.shared_mb > 100
    assert host.snapshot().host.shared_mb > 1000


def test_scanning_disabled_shares_nothing():
    host = _family_host(3, **{"Mem.ShareScanGHz": 0})
    host.run(900)
    assert host.snapshot().host.shared_mb == 0


def test_salting_keeps_only_intra_vm_sharing():
    vms = [vm(f"d{i}", 2048, content_family="w7",
              workload=plain_workload(family_pct=25, dup_pct=10)) for i in range(3)]
    host = make_host(vms, memory_mb=65536, mmu="software", esx_version="6.x",
                     advanced={"Mem.ShareScanTime": 10})
    host.run(900)
    h = host.snapshot().host
    assert h.shared_mb == pytest.approx(3 * 2048 * 0.10, abs=0.01)  # duplicates only
    host.set_advanced("Mem.ShareForceSalting", 0)
    host.run(60)
    assert host.snapshot().host.shared_mb > 3 * 2048 * 0.30


def test_share_before_swap_shares_victims_with_a_match():
    vms = [vm(f"v{i}", 4096, tools=False, content_family="w",
              workload=plain_workload(active_mb=500, zero_pct=40, boot_s=5)) for i in range(3)]
    host = make_host(vms, memory_mb=8192, system_mb=500, mmu="hardware",
                     advanced={"Mem.ShareScanGHz": 0})  # nothing shared by scanning
    host.run(300)
    snap = host.snapshot()
    assert snap.host.shared_mb > 0  # only share-before-swap can have shared them
    assert snap.host.swapped_mb > 0


# ------------------------------------------------------------------ workload, events, API


def test_working_set_schedule_and_events():
    from memtui.config import Event

    v = vm("a", 4096, workload=plain_workload(active_mb=100, schedule=[(0, 100), (300, 2000)]))
    host = make_host([v])
    host.timeline = [Event(at_s=120, set={"Mem.IdleTax": 50}),
                     Event(at_s=200, vm="a", workload={"active_mb": 50}),
                     Event(at_s=500, vm="a", set={"power": "off"})]
    host.run(250)
    assert host.advanced["Mem.IdleTax"] == 50
    assert host.snapshot().vm("a").active_true_mb == 50
    host.run(100)
    assert host.snapshot().vm("a").active_true_mb == 2000  # the schedule step at 5 min
    host.run(200)
    assert host.vms[0].power == "off"
    kinds = [e.kind for e in host.log]
    assert "setting" in kinds and "workload" in kinds and kinds.count("power") == 2


def test_fork_runs_ahead_without_touching_the_original():
    host = _contended(75)
    before = host.snapshot()
    fork = host.fork()
    fork.set_vm("v1", reservation_mb=2000)
    fork.run(300)
    assert host.snapshot() == before
    host.run(300)
    again = _contended(75)
    again.run(300)
    assert host.snapshot() == again.snapshot()


def test_add_clone_remove():
    host = make_host([vm("a", 1024)])
    host.clone_vm("a", "b")
    assert [v.name for v in host.vms] == ["a", "b"] and host.vms[1].power == "off"
    host.power_on("b")
    host.run(30)
    host.remove_vm("a")
    assert [v.name for v in host.snapshot().vms] == ["b"]
    with pytest.raises(SettingError):
        host.clone_vm("b", "b")


def test_active_estimate_follows_the_working_set_with_sampling_noise():
    host = make_host([vm("a", 4096, workload=plain_workload(active_mb=2048))], memory_mb=16384)
    host.run(1200)
    v = host.snapshot().vm("a")
    assert abs(v.active_mb - 2048) < 0.15 * 4096
    host.set_workload("a", active_mb=100)
    host.run(60)
    falling = host.snapshot().vm("a").active_mb
    assert falling > 1000  # falls slowly
    host.run(1800)
    assert host.snapshot().vm("a").active_mb < 700


def test_decision_records_inputs():
    host = _contended(75)
    d = host.decision("v1")
    assert d.k == pytest.approx(4.0) and d.tau == pytest.approx(0.75)
    assert math.isfinite(d.rho)
    assert d.state in spec.STATES_ORDER
    assert isinstance(d.action, int)


def test_a_limit_below_the_working_set_thrashes():
    host = make_host([vm("lim", 4096, limit_mb=1024, tools=False,
                         workload=plain_workload(active_mb=3000, boot_s=30))], memory_mb=32768)
    host.run(600)
    v = host.snapshot().vm("lim")
    assert host.state == "high"
    assert v.consumed_mb <= 1024 + 0.01
    assert v.swap_in_mb_s > 0 and v.swap_out_mb_s > 0  # faults served by swapping others out
    assert v.swap_in_mb_s + v.swap_out_mb_s <= host.config.swap_mb_per_s + 1e-6


def test_a_running_balloon_gives_its_pages_back_when_ballooning_is_turned_off():
    vm = VMConfig("vm0", 1024, limit_mb=512, workload=Workload(touched_pct=100, active_mb=100, boot_s=0))
    host = Host(HostConfig("b", memory_mb=4096, system_mb=300, seed=0), {}, [vm])
    host.run(300)
    assert host.balloon[0] > 100  # the limit is enforced by the balloon
    host.set_advanced("Mem.CtlMaxPercent", 0)
    host.run(120)
    assert host.balloon[0] == pytest.approx(0.0, abs=1e-6)
    assert host.balloon_tgt[0] <= host.balloon_cap[0] + 1e-9
