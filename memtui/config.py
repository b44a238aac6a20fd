"""The settings of a simulated host: what a profile describes, as plain dataclasses.

These carry validated values only; reading and checking TOML is `memtui.profile`'s work, running
them is `memtui.model`'s. Sizes are MB, durations whole seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from memtui import spec

UNLIMITED = None  # limit_mb value meaning "unlimited" (the VM's memsize)

_DURATION_RE = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(value: Any) -> int:
    """Whole seconds from `90` or a string such as "45s", "30m", "1h30m", "2h".

    Raises ValueError with a message that says what is allowed.
    """
    if isinstance(value, bool):
        raise ValueError("a duration is whole seconds (90) or a string like \"30m\", \"1h30m\"")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        m = _DURATION_RE.match(text)
        if text and m and any(m.groups()):
            h, mi, s = (int(g) if g else 0 for g in m.groups())
            return h * 3600 + mi * 60 + s
    raise ValueError(
        f"{value!r} is not a duration: use whole seconds (90) or a string like \"45s\", \"30m\", \"1h30m\""
    )


def format_duration(seconds: float) -> str:
    """The profile's string form: 5430 -> "1h30m30s", 0 -> "0s"."""
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    out = (f"{h}h" if h else "") + (f"{m}m" if m else "") + (f"{sec}s" if sec else "")
    return out or "0s"


def format_clock(seconds: float) -> str:
    """Simulated clock as H:MM:SS."""
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


@dataclass
class Workload:
    touched_pct: float = 100.0
    active_mb: float | None = None  # None: an idle guest (spec.IDLE_ACTIVE_PCT of memsize)
    zero_pct: float = 10.0
    family_pct: float = 20.0
    dup_pct: float = 2.0
    boot_s: int = spec.DEFAULT_BOOT_S
    schedule: list[tuple[int, float]] = field(default_factory=list)  # (at_s, active_mb) steps
    compressible_pct: float = spec.COMPRESSIBLE_PCT  # share of pages that compress to 2 KB or less
    # Share of touched memory that is zero pages when the guest has booted (Windows zeroes its
    # memory at boot); None: zero_pct. After boot the guest overwrites the extra zero pages as
    # it works (copy-on-write takes them out of sharing).
    boot_zero_pct: float | None = None

    def active_at(self, memory_mb: float, since_power_on_s: float) -> float:
        """The guest's true working set at a moment after power-on."""
        active = self.active_mb
        for at_s, mb in self.schedule:
            if since_power_on_s >= at_s:
                active = mb
            else:
                break
        if active is None:
            active = memory_mb * spec.IDLE_ACTIVE_PCT / 100.0
        return max(0.0, min(float(active), float(memory_mb)))


@dataclass
class VMConfig:
    name: str
    memory_mb: int
    vcpus: int = 1
    reservation_mb: int = 0
    limit_mb: int | None = UNLIMITED
    shares: str | int = "normal"
    tools: bool = True
    max_balloon_mb: int | None = None
    page_sharing: bool = True
    power: str = "on"
    content_family: str | None = None
    workload: Workload = field(default_factory=Workload)

    @property
    def shares_value(self) -> int:
        """The number of shares: low / normal / high = 5 / 10 / 20 per MB of memsize."""
        if isinstance(self.shares, str):
            return spec.SHARES_PER_MB[self.shares] * int(self.memory_mb)
        return int(self.shares)

    @property
    def limit_effective_mb(self) -> float:
        if self.limit_mb is None:
            return float(self.memory_mb)
        return float(min(self.limit_mb, self.memory_mb))


@dataclass
class HostConfig:
    name: str
    memory_mb: int
    esx_version: str = spec.DEFAULT_VERSION
    system_mb: int = 800
    cpu_cores: int = 8
    cpu_mhz: int = 2400
    mmu: str = "hardware"
    datastore_free_mb: int = 1_000_000
    swap_mb_per_s: float = 100.0
    seed: int = 1
    start_time: datetime | None = None  # wall-clock time of t = 0 (esxtop batch timestamps)


@dataclass
class Event:
    """A timeline entry: at `at_s`, change advanced settings (vm is None), a VM's settings or
    power (`set`), or its guest workload (`workload`)."""

    at_s: int
    vm: str | None = None
    set: dict[str, Any] = field(default_factory=dict)
    workload: dict[str, Any] = field(default_factory=dict)


@dataclass
class Profile:
    host: HostConfig
    vms: list[VMConfig] = field(default_factory=list)
    advanced: dict[str, int] = field(default_factory=dict)  # only the settings the file names
    events: list[Event] = field(default_factory=list)
    format: int = 1
    path: str | None = field(default=None, compare=False, repr=False)  # where it was read from
    document: Any = field(default=None, compare=False, repr=False)  # tomlkit document, for saving

    def advanced_value(self, name: str) -> int:
        return self.advanced.get(name, spec.ADVANCED_SETTINGS[name].default)
