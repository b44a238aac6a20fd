"""The fast path of `Host.run` against the plain reference path (`Host.run(s, reference=True)`),
over random small profiles: every sample's snapshot figures agree within 0.01 MB; and a host
is deterministic by its seed."""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memtui.config import Event, Profile
from memtui.model import Host
from tests.model_helpers import random_advanced, random_host_config, random_vm, versions

TOL_MB = 0.01
RUN_S = 420
EVERY_S = 10


@st.composite
def events(draw, names: list[str]):
    out = []
    for _ in range(draw(st.integers(0, 5))):
        at = draw(st.integers(1, RUN_S - 20))
        name = draw(st.sampled_from(names))
        kind = draw(st.sampled_from(["power", "tools", "limit", "shares", "active", "tax",
                                     "balloon"]))
        if kind == "power":
            out.append(Event(at, name, set={"power": draw(st.sampled_from(["on", "off"]))}))
        elif kind == "tools":
            out.append(Event(at, name, set={"tools": draw(st.booleans())}))
        elif kind == "limit":
            out.append(Event(at, name, set={"limit_mb": draw(st.sampled_from([None, 4096, 1024]))}))
        elif kind == "shares":
            out.append(Event(at, name, set={"shares": draw(st.sampled_from(["low", "high", 3000]))}))
        elif kind == "active":
            out.append(Event(at, name, workload={"active_mb": draw(st.integers(0, 256))}))
        elif kind == "tax":
            out.append(Event(at, None, set={"Mem.IdleTax": draw(st.sampled_from([0, 75]))}))
        else:
            out.append(Event(at, None, set={"Mem.CtlMaxPercent": draw(st.sampled_from([0, 65]))}))
    return out


@st.composite
def profiles(draw):
    n = draw(st.integers(1, 6))
    vms = [draw(random_vm(i, varied=True)) for i in range(n)]
    order = draw(st.permutations(range(n)))  # the power-on order is the order of the VMs
    vms = [vms[i] for i in order]
    version = draw(versions)
    adv = draw(random_advanced(version))
    host = draw(random_host_config("fast", version))
    return Profile(host=host, vms=vms, advanced=adv,
                   events=draw(events([v.name for v in vms])))


def _samples(profile: Profile, reference: bool) -> list:
    host = Host.from_profile(profile)
    out = [host.snapshot()]
    for _ in range(RUN_S // EVERY_S):
        host.run(EVERY_S, reference=reference)
        out.append(host.snapshot())
    return out


def _differences(a, b, where: str) -> list[str]:
    out = []
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        numeric = isinstance(x, int | float) and not isinstance(x, bool)
        if numeric and y is not None and not isinstance(y, bool):
            if abs(x - y) > TOL_MB:
                out.append(f"{where}.{f.name}: {x} != {y}")
        elif x != y:
            out.append(f"{where}.{f.name}: {x!r} != {y!r}")
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profiles())
def test_fast_path_matches_the_reference_path(profile):
    fast = _samples(profile, reference=False)
    plain = _samples(profile, reference=True)
    for s_fast, s_plain in zip(fast, plain, strict=True):
        assert s_fast.t == s_plain.t
        diffs = _differences(s_fast.host, s_plain.host, f"t={s_fast.t} host")
        assert len(s_fast.vms) == len(s_plain.vms)
        for v_fast, v_plain in zip(s_fast.vms, s_plain.vms, strict=True):
            diffs += _differences(v_fast, v_plain, f"t={s_fast.t} {v_fast.name}")
        assert not diffs, "\n".join(diffs[:20])


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profiles())
def test_a_host_is_deterministic_by_its_seed(profile):
    assert _samples(profile, reference=False) == _samples(profile, reference=False)


def test_a_reference_run_leaves_the_host_on_the_fast_path():
    from memtui.bench import synthetic_profile

    host = Host.from_profile(synthetic_profile(8))
    host.run(30, reference=True)
    assert host._plain is False
    other = Host.from_profile(synthetic_profile(8))
    other.run(30)
    a, b = host.snapshot(), other.snapshot()
    diffs = _differences(a.host, b.host, "host")
    for x, y in zip(a.vms, b.vms, strict=True):
        diffs += _differences(x, y, x.name)
    assert not diffs
