"""Invariants of the model over random hosts and random sequences of changes (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memtui import spec
from memtui.model import AdmissionError, F, Host, SettingError
from tests.model_helpers import random_advanced, random_host_config, random_vm, versions

TOL = 0.01

@st.composite
def hosts(draw):
    n = draw(st.integers(1, 6))
    vms = [draw(random_vm(i)) for i in range(n)]
    version = draw(versions)
    config = draw(random_host_config("prop", version))
    return config, draw(random_advanced(version)), vms


changes = st.lists(
    st.tuples(
        st.integers(1, 400),  # at (s)
        st.integers(0, 5),  # vm index
        st.sampled_from(["reservation", "limit", "shares", "tools", "power", "active", "pshare",
                         "idletax", "ctlmax", "balloon_cap", "zip"]),
        st.integers(0, 4096),
    ),
    max_size=8,
)


def _apply(host: Host, vm_i: int, kind: str, value: int) -> None:
    if not host.vms:
        return
    vm = host.vms[vm_i % len(host.vms)]
    try:
        if kind == "reservation":
            host.set_vm(vm.name, reservation_mb=min(value, vm.memory_mb))
        elif kind == "limit":
            host.set_vm(vm.name, limit_mb=None if value % 3 == 0 else max(value, vm.reservation_mb))
        elif kind == "shares":
            host.set_vm(vm.name, shares=max(1, value))
        elif kind == "tools":
            host.set_vm(vm.name, tools=bool(value % 2))
        elif kind == "pshare":
            host.set_vm(vm.name, page_sharing=bool(value % 2))
        elif kind == "power":
            host.set_vm(vm.name, power="on" if value % 2 else "off")
        elif kind == "active":
            host.set_workload(vm.name, active_mb=min(value, vm.memory_mb))
        elif kind == "idletax":
            host.set_advanced("Mem.IdleTax", value % 100)
        elif kind == "ctlmax":
            host.set_advanced("Mem.CtlMaxPercent", value % 100)
        elif kind == "balloon_cap":
            host.set_vm(vm.name, max_balloon_mb=value // 4)
        elif kind == "zip" and host.config.esx_version != "4.0":
            host.set_advanced("Mem.MemZipEnable", value % 2)
    except (AdmissionError, SettingError):
        pass


def _host_common(host: Host) -> float:
    """Machine memory holding shared pages, computed from the pools directly."""
    on = host.on
    zero = host.shr[:, 0] * on
    common = 0.0
    if host.salted:  # one zero page per VM (never more than the VM's zero pages)
        common += float(np.minimum(zero, spec.PAGE_MB).sum())
    else:  # one zero page for the host
        common += min(float(zero.sum()), spec.PAGE_MB)
    common += float((host.shr[:, 2] * on).sum()) / spec.DUP_COPIES
    if not host.salted:
        for fam in set(host.family[on & host.pshare & (host.family >= 0)].tolist()):
            vals = sorted(host.shr[on & host.pshare & (host.family == fam), F])
            if len(vals) >= 2:
                common += vals[-2]
    return common


def check_invariants(host: Host, protected: dict[str, float]) -> None:
    snap = host.snapshot()
    on = host.on
    arrays = [host.res, host.shr, host.hsh, host.untouched, host.balloon, host.swapped,
              host.zipped, host.large, host.swapped_act, host.zipped_act]
    for arr in arrays:
        assert (arr >= -1e-7).all(), "a pool went negative"
    assert (host.shr + host.hsh <= host.res[:, :3] + 1e-7).all()
    assert (host.swapped_act <= host.swapped + 1e-7).all()
    # Every page of every VM is in exactly one state.
    for v in snap.vms:
        parts = v.untouched_mb + v.private_mb + v.shared_mb + v.balloon_mb + v.swapped_mb + v.zipped_mb
        assert abs(parts - v.memory_mb) <= 6 * 0.005 + 1e-6, (v.name, parts, v.memory_mb)
        assert v.balloon_target_mb <= v.balloon_max_mb + 1e-6
        for field in ("granted_mb", "consumed_mb", "balloon_mb", "swapped_mb", "zipped_mb",
                      "shared_mb", "zero_mb", "shared_saved_mb", "overhead_mb", "target_mb"):
            assert getattr(v, field) >= 0, (v.name, field)
    # Conservation: managed = free + private + overhead + cache + the common copies (once).
    private = float(((host.res.sum(axis=1) - host.shared) * on).sum())
    used = private + float(((host.overhead + host.zipped * spec.ZIP_RATIO) * on).sum()) + _host_common(host)
    assert abs(host.managed_mb - (host.free_mb + used)) <= TOL
    h = snap.host
    assert abs(h.managed_mb - (h.free_mb + h.consumed_mb + h.overhead_mb + h.zip_cache_mb)) <= TOL + 0.02
    # A reservation, once touched, is never reclaimed.
    for i, vm in enumerate(host.vms):
        if not on[i]:
            protected.pop(vm.name, None)
            continue
        key = vm.name
        granted = float(host.res[i].sum())
        floor = protected.get(key, (0.0, vm.reservation_mb))
        if floor[1] != vm.reservation_mb:
            floor = (0.0, vm.reservation_mb)
        assert granted >= floor[0] - 1e-6, (vm.name, granted, floor)
        protected[key] = (max(floor[0], min(granted, vm.reservation_mb)), vm.reservation_mb)


def _run(config, adv, vms, seq, check: bool):
    host = Host(config, adv, vms)
    seq = sorted(seq)
    protected: dict[str, tuple] = {}
    j = 0
    for t in range(400):
        while j < len(seq) and seq[j][0] <= t:
            _, vm_i, kind, value = seq[j]
            _apply(host, vm_i, kind, value)
            protected.clear()
            j += 1
        host.step()
        if check and t % 4 == 0:
            check_invariants(host, protected)
    return host


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hosts(), changes)
def test_invariants_hold_at_every_step(h, seq):
    config, adv, vms = h
    _run(config, adv, vms, seq, check=True)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hosts(), changes)
def test_same_seed_same_run(h, seq):
    config, adv, vms = h
    a = _run(config, adv, vms, seq, check=False)
    b = _run(config, adv, vms, seq, check=False)
    assert a.snapshot() == b.snapshot()
    assert a.log == b.log
