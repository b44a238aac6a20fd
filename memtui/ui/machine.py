"""The machine memtui runs on (psutil): memtui's own memory and CPU use, and a profile sized like
the machine as a starting point. No UI toolkit here."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import psutil

from memtui import spec
from memtui.config import HostConfig, Profile

MIB = 1024 * 1024


@dataclass(frozen=True)
class SelfUsage:
    rss_mb: float
    cpu_pct: float  # of one core, averaged since the previous reading


class SelfMonitor:
    """Readings of memtui's own process; the first CPU reading is 0 (psutil needs two)."""

    def __init__(self) -> None:
        self._proc = psutil.Process()
        self._proc.cpu_percent(None)

    def read(self) -> SelfUsage:
        with self._proc.oneshot():
            rss = self._proc.memory_info().rss / MIB
            cpu = self._proc.cpu_percent(None)
        return SelfUsage(rss, cpu)


def machine_profile() -> Profile:
    """A new profile whose host has this machine's memory, cores and clock, and no VMs."""
    memory_mb = int(psutil.virtual_memory().total // MIB)
    cores = psutil.cpu_count(logical=False) or psutil.cpu_count() or 1
    mhz = 2400
    try:
        freq = psutil.cpu_freq()
        if freq is not None:
            mhz = int(freq.max or freq.current or mhz)
    except (OSError, NotImplementedError, RuntimeError):
        pass
    name = (socket.gethostname().split(".")[0] or "esx01")[:40]
    version = spec.DEFAULT_VERSION
    maximum = spec.MAXIMUMS[version].memory_mb_per_host
    memory_mb = max(1024, min(memory_mb, maximum))
    system_mb = min(800, memory_mb // 4)
    host = HostConfig(name=name, memory_mb=memory_mb, esx_version=version, system_mb=system_mb,
                      cpu_cores=int(cores), cpu_mhz=max(100, mhz))
    return Profile(host=host, vms=[])
