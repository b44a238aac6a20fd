"""The figures an objective can name, and reading them from a host, fast.

An objective compares a figure of one VM, of every VM or of the host (a `MetricRef`) with a
value. `MetricReader` reads those figures of one moment straight from the host's arrays (the
same numbers `Host.snapshot()` reports, rounded the same way) and falls back to a full snapshot,
at most once a moment, for figures that have no fast path.

The module imports no UI toolkit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from memtui import cost
from memtui.metrics import HostMetrics, VMMetrics

ALL_VMS = "*"

# Figures an objective can name: every numeric field of the snapshot, plus `on` (1 when the VM
# is powered on, else 0) for a VM.
VM_METRICS = tuple(f.name for f in fields(VMMetrics)
                   if f.type in ("float", "int", "bool", "float | None")
                   and f.name not in ("name", "power")) + ("on",)
HOST_METRICS = tuple(f.name for f in fields(HostMetrics) if f.type == "float")

# Words for figures in generated objective texts (esxtop column in parentheses).
METRIC_WORDS = {
    "consumed_mb": "consumed memory", "granted_mb": "granted memory (GRANT)",
    "target_mb": "target (SZTGT)", "balloon_mb": "balloon (MCTLSZ)",
    "swapped_mb": "swapped memory (SWCUR)", "zipped_mb": "compressed memory (ZIP/MB)",
    "active_mb": "active estimate (%ACTV)", "overhead_mb": "overhead (OVHD)",
    "shared_mb": "shared memory (SHRD)", "shared_saved_mb": "sharing saving",
    "free_mb": "free memory", "swap_in_mb_s": "swap-in rate (SWR/s)",
    "swap_out_mb_s": "swap-out rate (SWW/s)", "on": "power state (1 = on)",
    "touched_mb": "touched memory (TCHD)", "reservation_mb": "reservation",
    "guest_paging_mb": "guest paging", "unreserved_mb": "unreserved memory",
    "throughput_pct": "throughput", "swap_wait_pct": "swap wait (%SWPWT)",
    "mem_latency_pct": "memory latency (mem.latency)", "zip_wait_pct": "decompression wait",
    "guest_paging_wait_pct": "wait on its own paging", "balloon_overhead_pct": "balloon overhead",
    "ws_swapped_mb": "working set swapped", "ws_zipped_mb": "working set compressed",
    "overcommit_avg_1m": "memory overcommit (1 min average)",
    "overcommit_avg_5m": "memory overcommit (5 min average)",
    "overcommit_avg_15m": "memory overcommit (15 min average)",
    "zip_cache_size_mb": "compression cache size (CACHESZ)",
}


@dataclass(frozen=True)
class MetricRef:
    """A figure of one VM (vm = name), every VM (vm = "*") or the host (vm = None)."""

    metric: str
    vm: str | None = None
    scale: float = 1.0

    def describe(self) -> str:
        word = METRIC_WORDS.get(self.metric, self.metric)
        who = "the host's" if self.vm is None else ("every VM's" if self.vm == ALL_VMS else f"{self.vm}'s")
        out = f"{who} {word}"
        return out if self.scale == 1 else f"{self.scale:g} x {out}"


def _r2(x: float) -> float:
    return round(float(x), 2)


# VM figures read straight from the host's arrays; each must equal the snapshot's field (a test
# compares them). Anything else goes through `Host.snapshot()`.
_FAST_VM: dict[str, Callable[[Any, int], float]] = {
    "consumed_mb": lambda h, i: h.consumed[i],
    "balloon_mb": lambda h, i: h.balloon[i],
    "swapped_mb": lambda h, i: h.swapped[i],
    "zipped_mb": lambda h, i: h.zipped[i],
    "target_mb": lambda h, i: h.target[i],
    "overhead_mb": lambda h, i: h.overhead[i],
    "granted_mb": lambda h, i: h.granted[i],
    "shared_mb": lambda h, i: h.shared[i],
    "swap_in_mb_s": lambda h, i: h.swap_in_rate[i],
    "swap_out_mb_s": lambda h, i: h.swap_out_rate[i],
    "balloon_target_mb": lambda h, i: h.balloon_tgt[i],
    "swap_target_mb": lambda h, i: h.swap_tgt[i],
}
_FAST_HOST: dict[str, Callable[[Any], float]] = {
    "free_mb": lambda h: h.free_mb,
    "consumed_mb": lambda h: (h.consumed * h.on).sum(),
    "balloon_mb": lambda h: (h.balloon * h.on).sum(),
    "swapped_mb": lambda h: (h.swapped * h.on).sum(),
    "zipped_mb": lambda h: (h.zipped * h.on).sum(),
    "shared_saved_mb": lambda h: ((h.shared - h.common_share) * h.on).sum(),
    "unreserved_mb": lambda h: h.unreserved_mb,
    "reserved_mb": lambda h: h.reserved_mb,
}


# What memory costs the guests: computed for every VM at once, at most once a moment.
_COST_VM = frozenset(cost.SNAPSHOT_FIELDS)


class MetricReader:
    """Reads figures of one moment of a host, fast where it can; `snapshot()` at most once."""

    def __init__(self, host):
        self.host = host
        self._snap = None
        self._cost = None
        self._index: dict[str, int] = {}

    def reset(self) -> None:
        self._snap = None
        self._cost = None

    def snapshot(self):
        if self._snap is None:
            self._snap = self.host.snapshot()
        return self._snap

    def vm_index(self, name: str) -> int | None:
        vms = self.host.vms
        i = self._index.get(name)
        if i is not None and i < len(vms) and vms[i].name == name:
            return i
        for k, vm in enumerate(vms):
            if vm.name == name:
                self._index[name] = k
                return k
        return None

    def vm(self, name: str, metric: str) -> float:
        h = self.host
        i = self.vm_index(name)
        if i is None:
            return 0.0
        if metric == "on":
            return 1.0 if h.on[i] else 0.0
        fast = _FAST_VM.get(metric)
        if fast is not None:
            return _r2(fast(h, i)) if h.on[i] else 0.0
        if metric in _COST_VM and self._snap is None:
            if self._cost is None:
                self._cost = {k: np.round(v, 2) for k, v in cost.figures(h).items()}
            return float(self._cost[metric][i]) if h.on[i] else 0.0
        value = getattr(self.snapshot().vm(name), metric)
        return 0.0 if value is None else float(value)

    def host_metric(self, metric: str) -> float:
        fast = _FAST_HOST.get(metric)
        if fast is not None:
            return _r2(fast(self.host))
        return float(getattr(self.snapshot().host, metric))

    def values(self, ref: MetricRef) -> list[tuple[str | None, float]]:
        """(who, value) for each subject of `ref`."""
        if ref.vm is None:
            return [(None, self.host_metric(ref.metric) * ref.scale)]
        if ref.vm == ALL_VMS:
            return [(vm.name, self.vm(vm.name, ref.metric) * ref.scale) for vm in self.host.vms]
        return [(ref.vm, self.vm(ref.vm, ref.metric) * ref.scale)]

    def value(self, ref: MetricRef) -> float:
        return self.values(ref)[0][1]


def read_metric(host, ref: MetricRef) -> float:
    """One figure of the host now (for answer_from, the UI and tests)."""
    return MetricReader(host).value(ref)


def figure_unit(metric: str) -> str:
    return " MB/s" if metric.endswith("_mb_s") else " MB" if metric.endswith("_mb") else (
        " %" if metric.endswith("_pct") else "")


def format_figure(x: float) -> str:
    return f"{x:,.2f}".rstrip("0").rstrip(".") if not float(x).is_integer() else f"{x:,.0f}"

