"""The bundled sample profiles: each loads, runs, and shows what its header comment promises.

Each profile runs its 30 simulated minutes once (conservation checked at the end); each promise
is checked over only as much simulated time as it needs, so the whole file stays fast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from memtui import paths, spec
from memtui.metrics import Snapshot
from memtui.model import Host
from memtui.profile import load_profile

EXPECTED = {
    "default.toml",
    "idle-tax.toml",
    "balloon-driver.toml",
    "reservations-limits.toml",
    "admission.toml",
    "vdi-software-mmu.toml",
    "vdi-hardware-mmu.toml",
    "compression-41.toml",
    "max-host-40.toml",
    "esx5-minfree.toml",
    "esx6-salting.toml",
    "bench-1024.toml",
}


def _path(name: str):
    return paths.bundled_profiles_dir() / name


def _host(name: str) -> Host:
    return Host.from_profile(load_profile(_path(name)))


@dataclass
class Run:
    """A profile run for a while, with a snapshot every `every` seconds."""

    host: Host
    snaps: list[Snapshot] = field(default_factory=list)

    def at(self, t: float) -> Snapshot:
        """The last snapshot taken at or before t."""
        return [s for s in self.snaps if s.t <= t][-1]

    def between(self, t0: float, t1: float) -> list[Snapshot]:
        return [s for s in self.snaps if t0 <= s.t <= t1]

    def states(self) -> list[tuple[float, str]]:
        return [(e.t, e.message) for e in self.host.log if e.kind == "state"]


def _run(name: str, seconds: int, every: int = 10) -> Run:
    host = _host(name)
    run = Run(host, [host.snapshot()])
    for _ in range(seconds // every):
        host.run(every)
        run.snaps.append(host.snapshot())
    return run


# ------------------------------------------------------------------ every profile


def test_the_expected_profiles_are_bundled():
    names = {p.name for p in paths.bundled_profiles()}
    assert EXPECTED <= names


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_profile_loads_and_runs_30_minutes(name):
    profile = load_profile(_path(name))
    assert profile.vms
    host = Host.from_profile(profile)
    host.run(30 * 60)
    snap = host.snapshot()
    assert snap.t == 30 * 60
    h = snap.host
    assert h.managed_mb == profile.host.memory_mb - profile.host.system_mb
    held = sum(v.consumed_mb + v.overhead_mb + v.zip_cache_mb for v in snap.vms if v.power == "on")
    assert h.managed_mb == pytest.approx(h.free_mb + held, abs=0.01 * len(snap.vms) + 0.1)
    for v in snap.vms:
        if v.power == "on":
            pages = (
                v.untouched_mb
                + v.private_mb
                + v.shared_mb
                + v.balloon_mb
                + v.swapped_mb
                + v.zipped_mb
            )
            assert pages == pytest.approx(v.memory_mb, abs=0.1)
    assert not [e for e in host.log if "refused" in e.message and e.kind == "setting"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_profile_has_a_header_for_learners(name):
    text = _path(name).read_text()
    header = text[: text.index("format = 1")]
    for part in ("What it shows", "What to watch", "What to try"):
        assert part in header, f"{name}: header lacks {part!r}"


# ------------------------------------------------------------------ default


@pytest.fixture(scope="module")
def default_run():
    return _run("default.toml", 12 * 60)


def test_default_reaches_soft_and_balloons_within_minutes(default_run):
    first_soft = next(t for t, msg in default_run.states() if msg.endswith("-> soft"))
    assert first_soft <= 5 * 60
    early = default_run.between(0, 5 * 60)
    assert max(s.host.balloon_mb for s in early) > 1000
    assert max(s.host.swapped_mb for s in early) > 0  # brief swapping of booting VMs


def test_default_shares_more_and_settles(default_run):
    assert default_run.at(3 * 60).host.shared_mb > 0
    assert default_run.at(9 * 60).host.shared_mb > default_run.at(3 * 60).host.shared_mb + 500
    # not a permanent crisis: back in the high state before the build starts at 10m
    assert default_run.at(9 * 60).host.state == spec.STATE_HIGH
    assert all(
        s.host.state in (spec.STATE_HIGH, spec.STATE_SOFT)
        for s in default_run.between(4 * 60, 9 * 60)
    )


def test_default_build_event(default_run):
    assert any(
        e.kind == "workload" and e.vm == "build01" and e.t == 600 for e in default_run.host.log
    )
    assert default_run.at(11 * 60).vm("build01").active_true_mb == 2600
    assert not default_run.at(11 * 60).vm("build01").tools


# ------------------------------------------------------------------ idle tax


def _check_tax_formula(host: Host, tau: float) -> None:
    busy, idle = host.decision("busy"), host.decision("idle")
    assert busy.tau == pytest.approx(tau) and idle.tau == pytest.approx(tau)
    for d in (busy, idle):
        assert d.lower_mb < d.target_mb < d.upper_mb  # both strictly between their bounds
    gap = busy.target_mb - idle.target_mb
    assert gap == pytest.approx(tau * (busy.active_mb - idle.active_mb), rel=0.01, abs=5.0)
    assert gap > 1000  # memory planned away from the idle VM


def test_idle_tax_zero_splits_by_shares_alone():
    host = _host("idle-tax.toml")
    host.run(9 * 60)
    busy, idle = host.decision("busy"), host.decision("idle")
    assert busy.tau == 0.0 and busy.shares == idle.shares
    # the idle VM keeps all it touched (its target is its demand); the busy VM is ballooned
    assert idle.target_mb == pytest.approx(idle.upper_mb, abs=1.0)
    assert host.snapshot().vm("busy").balloon_mb > 1000


def test_idle_tax_75_at_10m():
    host = _host("idle-tax.toml")
    host.run(10 * 60 + 1)  # targets are recomputed at once when a setting changes
    _check_tax_formula(host, 0.75)
    host.run(15)  # and again at the next balance period, with new active estimates
    _check_tax_formula(host, 0.75)


def test_idle_tax_90_at_20m():
    host = _host("idle-tax.toml")
    host.run(20 * 60 + 1)
    _check_tax_formula(host, 0.90)


# ------------------------------------------------------------------ balloon driver


def test_balloon_driver_tools_vms_balloon_the_other_is_swapped():
    run = _run("balloon-driver.toml", 9 * 60, every=5)
    after = run.between(5 * 60, 9 * 60)
    assert any(s.host.state == spec.STATE_SOFT for s in after)
    assert all(s.host.state in (spec.STATE_HIGH, spec.STATE_SOFT) for s in after)
    end = run.at(9 * 60)
    assert all(s.vm("notools").balloon_mb == 0 for s in run.snaps)
    assert end.vm("notools").swapped_mb > 300
    for name in ("tools1", "tools2"):
        assert max(s.vm(name).balloon_mb for s in after) > 300
        assert all(s.vm(name).swapped_mb == 0 for s in run.snaps)
    assert max(s.vm("notools").swap_in_mb_s for s in after) > 0  # random victims hit active pages


# ------------------------------------------------------------------ reservations and limits


@pytest.fixture(scope="module")
def reslim_run():
    return _run("reservations-limits.toml", 16 * 60)


def test_limit_vm_is_ballooned_on_an_idle_host(reslim_run):
    quiet = reslim_run.between(4 * 60, 10 * 60 - 10)
    for s in quiet:
        assert s.host.state == spec.STATE_HIGH
        assert s.host.free_mb > 4000
        capped = s.vm("capped")
        assert capped.balloon_mb > 1000
        assert capped.consumed_mb <= capped.limit_mb + 1
    assert reslim_run.at(9 * 60).vm("capped").target_mb == pytest.approx(2048, abs=1)


def test_reservation_protected_under_contention(reslim_run):
    assert any(s.host.state != spec.STATE_HIGH for s in reslim_run.between(10 * 60, 16 * 60))
    for s in reslim_run.between(5 * 60, 16 * 60):
        assert s.vm("sql-res").granted_mb >= 3072 - 0.5
        assert s.vm("sql-res").target_mb >= 3072 - 0.5
    end = reslim_run.at(16 * 60)
    res, twin = end.vm("sql-res"), end.vm("sql-twin")
    assert twin.balloon_mb > res.balloon_mb + 500
    assert twin.consumed_mb < res.consumed_mb - 500


# ------------------------------------------------------------------ admission control


def _shortfall(message: str) -> float:
    return float(re.search(r"short by ([0-9.]+) MB", message).group(1))


def test_admission_refusals_name_the_shortfall():
    host = _host("admission.toml")
    refused = {e.vm: e.message for e in host.log if e.kind == "admission"}
    assert set(refused) == {"db02", "web03"}
    assert _shortfall(refused["db02"]) == pytest.approx(1373.78, abs=0.01)
    assert "unreserved" in refused["db02"]
    assert _shortfall(refused["web03"]) == pytest.approx(256, abs=0.5)
    assert "swap file" in refused["web03"]
    snap = host.snapshot()
    assert snap.vm("db02").power == "off" and snap.vm("web03").power == "off"

    host.run(7 * 60)
    snap = host.snapshot()
    assert snap.vm("web02").power == "off"
    assert snap.vm("web03").power == "on"
    assert snap.vm("db02").power == "on" and snap.vm("db02").reservation_mb == 4608

    host.run(8 * 60 + 1)
    raised = [e for e in host.log if e.kind == "admission" and e.vm == "web01"]
    assert len(raised) == 1 and _shortfall(raised[0].message) == pytest.approx(861.78, abs=0.01)
    assert host.snapshot().vm("web01").reservation_mb == 0


# ------------------------------------------------------------------ VDI and large pages


def test_vdi_hardware_mmu_shares_little_until_tight_then_much():
    run = _run("vdi-hardware-mmu.toml", 16 * 60, every=5)
    first_tight = run.states()[0][0]
    assert 11 * 60 <= first_tight <= 12 * 60 + 30
    before = run.between(0, first_tight - 1)
    assert max(s.host.shared_mb for s in before) < 50
    assert before[-1].host.consumed_mb > 25000  # many GB of identical pages, unshared
    assert run.at(first_tight + 120).host.shared_mb > 5000
    assert run.at(16 * 60).host.state == spec.STATE_HIGH


def test_vdi_software_mmu_shares_steadily():
    run = _run("vdi-software-mmu.toml", 15 * 60, every=30)
    shared = [run.at(m * 60).host.shared_mb for m in (2, 5, 10, 15)]
    assert shared[0] > 0
    assert all(b > a + 500 for a, b in zip(shared, shared[1:], strict=False))
    assert shared[-1] > 15000
    assert not run.states()
    assert all(s.host.balloon_mb == 0 and s.host.swapped_mb == 0 for s in run.snaps)


# ------------------------------------------------------------------ compression


def test_compression_41_compresses_under_pressure():
    run = _run("compression-41.toml", 7 * 60, every=5)
    assert all(s.host.zipped_mb == 0 for s in run.between(0, 299))
    spike = run.between(300, 7 * 60)
    assert any(s.host.state in (spec.STATE_HARD, spec.STATE_LOW) for s in spike)
    peak = max(spike, key=lambda s: s.host.zipped_mb)
    assert peak.host.zipped_mb > 200
    assert peak.host.zipped_mb > peak.host.swapped_mb  # compression first, swap what does not fit
    assert max(v.unzip_rate_mb_s for s in spike for v in s.vms) > 0
    for v in peak.vms:  # each cache within Mem.MemZipMaxPct (10 %) of memsize
        assert v.zip_cache_mb <= 0.10 * v.memory_mb + 0.01
    assert run.at(7 * 60).host.state == spec.STATE_HIGH


# ------------------------------------------------------------------ configuration maximums


def test_max_host_40_is_at_the_40_maximums():
    profile = load_profile(_path("max-host-40.toml"))
    mx = spec.MAXIMUMS["4.0"]
    assert profile.host.esx_version == "4.0"
    assert profile.host.memory_mb == mx.memory_mb_per_host
    assert len(profile.vms) == mx.vms_per_host == 320
    assert max(vm.memory_mb for vm in profile.vms) == mx.memory_mb_per_vm
    assert max(vm.vcpus for vm in profile.vms) == mx.vcpus_per_vm
    host = Host.from_profile(profile)
    assert not [e for e in host.log if e.kind == "admission"]
    host.run(5 * 60)
    snap = host.snapshot()
    assert sum(v.power == "on" for v in snap.vms) == 320
    assert host.overhead_source("dwh01").kind == "extrapolated"
    assert snap.host.state == spec.STATE_HIGH and snap.host.shared_mb == 0
    assert 0.06 * snap.host.memory_mb < snap.host.free_mb < 0.09 * snap.host.memory_mb
    # the ETL run (from 5m) pushes free memory below the threshold around 14m
    host.run(10 * 60)
    snap = host.snapshot()
    assert any(e.kind == "state" and e.t > 5 * 60 for e in host.log)
    assert snap.host.shared_mb > 2000
    assert snap.vm("dwh01").balloon_mb == 0 and snap.vm("dwh01").swapped_mb == 0


def test_bench_1024_powers_on_1024_vms_and_reclaims_during_the_batch_jobs():
    profile = load_profile(_path("bench-1024.toml"))
    assert profile.host.esx_version == "6.x"
    assert len(profile.vms) == spec.MAXIMUMS["6.x"].vms_per_host == 1024
    host = Host.from_profile(profile)
    assert not [e for e in host.log if e.kind == "admission"]
    host.run(5 * 60)
    snap = host.snapshot()
    assert sum(v.power == "on" for v in snap.vms) == 1024
    assert snap.host.state == spec.STATE_CLEAR and snap.host.balloon_mb == 0
    host.run(2 * 60)
    snap = host.snapshot()
    assert snap.host.balloon_mb > 1000  # ballooned in the soft state
    assert any(e.kind == "state" and e.message.endswith("-> soft") and e.t >= 360 for e in host.log)
    host.run(13 * 60)
    assert host.snapshot().host.balloon_mb < snap.host.balloon_mb  # given back after the jobs


# ------------------------------------------------------------------ 5.x and 6.x


def test_esx5_minfree_sliding_scale():
    run = _run("esx5-minfree.toml", 12 * 60)
    quiet = run.at(9 * 60).host
    assert quiet.min_free_mb == pytest.approx(1597.44, abs=0.01)
    assert quiet.state == spec.STATE_HIGH
    assert quiet.free_mb < 0.06 * quiet.memory_mb  # 4.x would be in the soft state here
    assert all(s.host.balloon_mb == 0 for s in run.between(0, 10 * 60 - 1))
    after = run.between(10 * 60, 12 * 60)
    assert any(s.host.state != spec.STATE_HIGH for s in after)
    assert max(s.host.balloon_mb for s in after) > 1000
    assert after[-1].host.shared_mb > 1000  # large pages broken once below minFree


def test_esx6_clear_state_and_salting():
    run = _run("esx6-salting.toml", 11 * 60, every=5)
    before = run.at(10 * 60 - 5).host
    assert before.state == spec.STATE_CLEAR
    assert before.min_free_mb == pytest.approx(1269.76, abs=0.01)
    assert 0 < before.shared_saved_mb < 3000  # intra-VM sharing only
    after = run.at(10 * 60 + 5).host
    assert after.shared_saved_mb > before.shared_saved_mb + 8000
    assert run.at(11 * 60).host.state == spec.STATE_HIGH
    assert any(e.kind == "setting" and "ShareForceSalting" in e.message for e in run.host.log)
