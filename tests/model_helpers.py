"""Small builders of hosts for the model tests, and the random hosts of the property tests."""

from __future__ import annotations

from hypothesis import strategies as st

from memtui import spec
from memtui.config import HostConfig, VMConfig, Workload
from memtui.model import Host


def plain_workload(**kw) -> Workload:
    """A workload with no sharable content unless asked for."""
    base = dict(zero_pct=0, family_pct=0, dup_pct=0, boot_s=10)
    base.update(kw)
    return Workload(**base)


def make_host(vms: list[VMConfig], memory_mb: int = 16384, system_mb: int = 800,
              advanced: dict | None = None, **host_kw) -> Host:
    return Host(HostConfig(name="test", memory_mb=memory_mb, system_mb=system_mb, **host_kw),
                advanced or {}, vms)


def vm(name: str, memory_mb: int = 4096, **kw) -> VMConfig:
    workload = kw.pop("workload", None) or plain_workload()
    return VMConfig(name=name, memory_mb=memory_mb, workload=workload, **kw)


@st.composite
def random_vm(draw, i: int, *, varied: bool = False) -> VMConfig:
    """A random VM named vm{i}. `varied` adds what the fast-path comparison also covers: no
    active size (the touched share decides), a long boot, a schedule up to the whole memory,
    compressibility and a boot's zero share."""
    mem = draw(st.sampled_from([256, 512, 1024, 2048, 3000, 4096]))
    res = draw(st.sampled_from([0, 0, mem // 4, mem // 2, mem]))
    limit = draw(st.sampled_from([None, None, max(res, mem // 2), max(res, mem // 3), mem]))
    zero = draw(st.integers(0, 40))
    fam = draw(st.integers(0, 40))
    dup = draw(st.integers(0, 100 - zero - fam))
    touched = draw(st.sampled_from([30, 60, 100]))
    schedules = [[], [(60, mem // 3), (200, mem // 10)]]
    if varied:
        wl = Workload(
            touched_pct=touched, active_mb=draw(st.one_of(st.none(), st.integers(0, mem))),
            zero_pct=zero, family_pct=fam, dup_pct=min(dup, 20),
            boot_s=draw(st.sampled_from([0, 5, 30, 90, 200])),
            schedule=draw(st.sampled_from([*schedules, [(150, mem)]])),
            compressible_pct=draw(st.sampled_from([0, 60, 100])),
            boot_zero_pct=draw(st.sampled_from([None, 40])),
        )
    else:
        wl = Workload(
            touched_pct=touched, active_mb=draw(st.integers(0, mem)),
            zero_pct=zero, family_pct=fam, dup_pct=min(dup, 20),
            boot_s=draw(st.sampled_from([0, 5, 30, 90])), schedule=draw(st.sampled_from(schedules)),
        )
    return VMConfig(
        name=f"vm{i}", memory_mb=mem, vcpus=draw(st.integers(1, 4)), reservation_mb=res,
        limit_mb=limit, shares=draw(st.sampled_from(["low", "normal", "high", 1000, 50000])),
        tools=draw(st.booleans()), max_balloon_mb=draw(st.sampled_from([None, 0, 200])),
        page_sharing=draw(st.booleans()), power=draw(st.sampled_from(["on", "on", "on", "off"])),
        content_family=draw(st.sampled_from([None, "a", "b"])), workload=wl,
    )


@st.composite
def random_advanced(draw, version: str) -> dict:
    """Random values of the advanced settings the model tests vary."""
    adv = {
        "Mem.IdleTax": draw(st.sampled_from([0, 50, 75, 99])),
        "Mem.IdleTaxType": draw(st.integers(0, 1)),
        "Mem.CtlMaxPercent": draw(st.sampled_from([0, 30, 65])),
        "Mem.ShareScanTime": draw(st.sampled_from([10, 60])),
        "Mem.AllocGuestLargePage": draw(st.integers(0, 1)),
    }
    if version != "4.0":
        adv["Mem.MemZipMaxPct"] = draw(st.sampled_from([5, 10, 50]))
    return adv


@st.composite
def random_host_config(draw, name: str, version: str) -> HostConfig:
    """A random host of 3-12 GB running `version`."""
    return HostConfig(
        name=name, memory_mb=draw(st.sampled_from([3072, 4096, 6144, 12288])),
        system_mb=draw(st.sampled_from([300, 800])), esx_version=version,
        mmu=draw(st.sampled_from(["hardware", "software"])),
        swap_mb_per_s=draw(st.sampled_from([5, 100, 1000])), seed=draw(st.integers(0, 5)),
        datastore_free_mb=draw(st.sampled_from([4000, 1_000_000])),
    )


versions = st.sampled_from(spec.VERSIONS)
