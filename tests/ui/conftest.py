"""Fixtures for the terminal UI's tests: an isolated MEMTUI_HOME, small deterministic profiles
built from memtui.config dataclasses, and an app that starts paused."""

from __future__ import annotations

from pathlib import Path

import pytest

from memtui.config import HostConfig, Profile, VMConfig, Workload
from memtui.model import Host


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch) -> Path:
    """Every test gets its own MEMTUI_HOME, so no user file is read or written."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("MEMTUI_HOME", str(folder))
    monkeypatch.delenv("NO_COLOR", raising=False)
    return folder


def small_profile() -> Profile:
    """A 16 GB ESX 4.0 host with four powered-on VMs and one powered-off VM."""
    host = HostConfig(
        name="esx-test",
        memory_mb=16384,
        system_mb=800,
        cpu_cores=8,
        cpu_mhz=2400,
        datastore_free_mb=500_000,
        seed=7,
    )
    vms = [
        VMConfig(
            "web01",
            2048,
            vcpus=1,
            content_family="rhel5",
            workload=Workload(active_mb=600, zero_pct=15, family_pct=25, boot_s=30),
        ),
        VMConfig(
            "web02",
            2048,
            vcpus=1,
            content_family="rhel5",
            workload=Workload(active_mb=500, zero_pct=15, family_pct=25, boot_s=30),
        ),
        VMConfig(
            "app01",
            4096,
            vcpus=2,
            content_family="win2008",
            workload=Workload(active_mb=1500, boot_s=60),
        ),
        VMConfig(
            "db01",
            4096,
            vcpus=2,
            reservation_mb=2048,
            shares="high",
            workload=Workload(active_mb=3000, boot_s=60),
        ),
        VMConfig("spare01", 2048, power="off"),
    ]
    return Profile(host=host, vms=vms)


def tight_profile() -> Profile:
    """An overcommitted host: it goes to soft and hard within minutes."""
    host = HostConfig(name="esx-tight", memory_mb=8192, system_mb=800, seed=3)
    vms = [
        VMConfig(
            f"vm{i}", 3072, content_family="win2008", workload=Workload(active_mb=2000, boot_s=20)
        )
        for i in range(4)
    ]
    return Profile(host=host, vms=vms)


def big_profile() -> Profile:
    """The 320-VM host (ESX 4.0's maximum): the bundled one, or a synthetic one."""
    from memtui import paths

    bundled = paths.bundled_profiles_dir() / "max-host-40.toml"
    if bundled.exists():
        from memtui.profile import load_profile

        return load_profile(bundled)
    from memtui.bench import synthetic_profile

    return synthetic_profile(320)


def make_app(profile: Profile | None = None, **kw):
    from memtui.ui.app import MemtuiApp

    profile = profile or small_profile()
    kw.setdefault("paused", True)
    kw.setdefault("self_usage", False)
    return MemtuiApp(Host.from_profile(profile), profile, **kw)


def screen_text(app) -> str:
    """What the terminal shows now, as plain text."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


async def settle(pilot, times: int = 2) -> None:
    for _ in range(times):
        await pilot.pause()


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run `async def` tests in a fresh event loop (no pytest-asyncio needed)."""
    import asyncio
    import inspect

    if inspect.iscoroutinefunction(pyfuncitem.obj):
        names = pyfuncitem._fixtureinfo.argnames
        kwargs = {name: pyfuncitem.funcargs[name] for name in names}
        asyncio.run(pyfuncitem.obj(**kwargs))
        return True
    return None
