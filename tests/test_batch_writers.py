"""The direct batch writer against the plain one: the same bytes, sample for sample, in every
format; and `memtui bench` prints its tables."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memtui import bench, paths, spec
from memtui.batch import run_batch
from memtui.config import Event, HostConfig, Profile, VMConfig, Workload
from memtui.model import Host
from memtui.profile import load_profile

FORMATS = ("jsonl", "csv", "esxtop")

# VM names that quoting and escaping must survive in every format.
NAMES = ["web01", "db, primary", 'say "hi"', "a.0, b", "x.0}", "ünïcode ☃", "tab\there", "50%", "-0.0"]


@st.composite
def vm_configs(draw, name: str):
    mem = draw(st.sampled_from([256, 1024, 2048, 3000, 4096]))
    res = draw(st.sampled_from([0, 0, mem // 4, mem]))
    limit = draw(st.sampled_from([None, None, max(res, mem // 2), mem]))
    zero = draw(st.integers(0, 40))
    fam = draw(st.integers(0, 40))
    wl = Workload(
        touched_pct=draw(st.sampled_from([30, 100])), active_mb=draw(st.integers(0, mem)),
        zero_pct=zero, family_pct=fam, dup_pct=draw(st.integers(0, 10)),
        boot_s=draw(st.sampled_from([0, 5, 30])),
        schedule=draw(st.sampled_from([[], [(40, mem // 3), (90, mem // 10)]])),
    )
    return VMConfig(
        name=name, memory_mb=mem, vcpus=draw(st.integers(1, 4)), reservation_mb=res, limit_mb=limit,
        shares=draw(st.sampled_from(["low", "normal", "high", 1000])), tools=draw(st.booleans()),
        max_balloon_mb=draw(st.sampled_from([None, 200])), page_sharing=draw(st.booleans()),
        power=draw(st.sampled_from(["on", "on", "off"])),
        content_family=draw(st.sampled_from([None, "a", "b"])), workload=wl,
    )


@st.composite
def profiles(draw):
    names = draw(st.lists(st.sampled_from(NAMES), min_size=0, max_size=5, unique=True))
    vms = [draw(vm_configs(name)) for name in names]
    version = draw(st.sampled_from(spec.VERSIONS))
    host = HostConfig(
        name=draw(st.sampled_from(["esx01", "esx,\\02", 'h"q'])), memory_mb=draw(st.sampled_from([3072, 6144, 12288])),
        system_mb=400, esx_version=version, swap_mb_per_s=draw(st.sampled_from([5, 100])),
        seed=draw(st.integers(0, 3)),
        start_time=draw(st.sampled_from([None, datetime(2026, 3, 1, 8, 30)])),
    )
    events = []
    if vms and draw(st.booleans()):
        events.append(Event(at_s=draw(st.integers(1, 120)), vm=vms[0].name,
                            set={"power": draw(st.sampled_from(["on", "off"]))}))
    if draw(st.booleans()):
        events.append(Event(at_s=draw(st.integers(1, 120)), set={"Mem.IdleTax": 20}))
    if vms and draw(st.booleans()):
        events.append(Event(at_s=draw(st.integers(1, 120)), vm=vms[-1].name,
                            workload={"active_mb": vms[-1].memory_mb // 2}))
    return Profile(host=host, vms=vms, events=events)


def outputs(profile: Profile, duration_s: int, every_s: int, fmt: str) -> tuple[str, str]:
    """(reference, fast) output of one run."""
    texts = []
    for reference in (True, False):
        out = io.StringIO()
        run_batch(Host.from_profile(profile), duration_s, every_s, fmt, out, reference=reference)
        texts.append(out.getvalue())
    return texts[0], texts[1]


def assert_same(ref: str, fast: str) -> None:
    assert fast.splitlines() == ref.splitlines()  # the first differing line, when they differ
    assert fast == ref


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profile=profiles(), every_s=st.sampled_from([1, 7, 30]), fmt=st.sampled_from(FORMATS))
def test_random_profiles_give_the_same_bytes_on_both_paths(profile, every_s, fmt):
    ref, fast = outputs(profile, 150, every_s, fmt)
    assert_same(ref, fast)


BUNDLED = sorted(p.name for p in paths.bundled_profiles_dir().glob("*.toml"))


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_profiles_give_the_same_bytes_on_both_paths(name):
    profile = load_profile(paths.bundled_profiles_dir() / name)
    duration = 120 if name == "bench-1024.toml" else 600
    for fmt in FORMATS:
        ref, fast = outputs(profile, duration, 10, fmt)
        assert len(fast) > 1000
        assert_same(ref, fast)


def test_sample_columns_build_the_snapshot():
    host = Host.from_profile(load_profile(paths.bundled_profiles_dir() / "default.toml"))
    host.run(300)
    cols = host.sample_columns()
    assert cols.snapshot() == host.snapshot()
    assert cols.n_vms == len(host.vms) and list(cols.vms) == [
        f for f in cols.snapshot().vms[0].__dataclass_fields__]


def test_fast_path_is_deterministic_by_seed():
    profile = bench.hour_profile(8)
    first, again = (outputs(profile, 600, 60, "jsonl")[1] for _ in range(2))
    assert first == again
    profile.host.seed += 1
    other = outputs(profile, 600, 60, "jsonl")[1]
    assert other != first


def test_bench_prints_its_tables(tmp_path):
    """A bench of small sizes: every table is printed with both columns (not a timing test)."""
    hour = tmp_path / "mixed8.toml"
    from memtui.profile import dumps_profile

    hour.write_text(dumps_profile(bench.hour_profile(8)))
    default = str(paths.bundled_profiles_dir() / "default.toml")
    plan = bench.Plan(sizes=(8, 64), step_s={8: 60, 64: 30}, startup=(("default", default),), startup_runs=(1,),
                      whole=(("64-VM hour", str(hour), 300, 60, False),),
                      record=(("8 VMs, every 1m", bench.hour_profile(8), 60, 60, 2),),
                      env=bench.subprocess_env(str(tmp_path)))
    out = io.StringIO()
    bench.report(plan, out)
    text = out.getvalue()
    assert text.startswith("machine: ")
    assert "bytecode: cached" in text
    assert any((tmp_path / "pycache").rglob("batch*.pyc"))  # the warm-up filled the cache
    for heading in ("start-up", "stepping", "whole runs", "writing"):
        assert heading in text
    assert "reference" in text and "fast" in text
    assert "64 VMs, 30 s" in text and ">= 10,000x" in text
    assert "not judged" in text
    assert text.rstrip().endswith(("every goal met", "goals MISSED"))


def test_bench_quick_plan_covers_the_goals(tmp_path):
    plan = bench.default_plan(True, str(tmp_path))
    assert plan.sizes == (8, 64, 320, 1024)
    assert [label for label, _ in plan.startup] == ["default", "bench-1024"]
    assert [w[0] for w in plan.whole] == ["64-VM hour", "1,024-VM hour"]
    assert load_profile(plan.whole[0][1]).vms and len(load_profile(plan.whole[0][1]).vms) == 64


def test_bench_subprocesses_cache_bytecode_whatever_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    env = bench.subprocess_env(str(tmp_path))
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["PYTHONPYCACHEPREFIX"] == str(tmp_path / "pycache")
