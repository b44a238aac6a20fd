"""Small builders of hosts for the model tests."""

from __future__ import annotations

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
