"""The PerformanceManager: the realtime (20 s) mem.* counters of the host and its VMs, from
the samples the server keeps of the model's figures (the last hour, as an ESX host keeps).

Counters are in the units vSphere uses: KB for amounts, KBps for rates, mem.usage in
hundredths of a percent, mem.state as a number (0 high, 1 soft, 2 hard, 3 low; 6.x clear counts
as high). Each sample is the value at the end
of its 20 s interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from pyVmomi import vim, vmodl

from memtui.vsphere.inventory import MO, HostSystem, VirtualMachine
from memtui.vsphere.state import PERF_INTERVAL_S

if TYPE_CHECKING:
    from memtui.vsphere.api import Api

PM = vim.PerformanceManager
KB = 1024  # KB per MB
STATE_NUMBER = {"high": 0, "clear": 0, "soft": 1, "hard": 2, "low": 3}


@dataclass(frozen=True)
class Counter:
    key: int
    name: str
    label: str
    summary: str
    unit: str  # kiloBytes | kiloBytesPerSecond | number
    rollup: str  # average | latest | none
    stats: str  # absolute | rate
    level: int
    vm: Callable | None  # VMMetrics -> value (in the counter's unit), None: not a VM counter
    host: Callable | None  # HostMetrics -> value


def _kb(field: str) -> Callable:
    return lambda m: int(round(getattr(m, field) * KB))


COUNTERS: tuple[Counter, ...] = (
    Counter(1, "consumed", "Consumed", "Guest memory backed by machine memory, less the sharing saving",
            "kiloBytes", "average", "absolute", 1, _kb("consumed_mb"), _kb("consumed_mb")),
    Counter(2, "active", "Active", "Memory the host estimates the guest is actively using",
            "kiloBytes", "average", "absolute", 2, _kb("active_mb"), None),
    Counter(3, "granted", "Granted", "Guest memory backed by machine memory (shared or not)",
            "kiloBytes", "average", "absolute", 2, _kb("granted_mb"), None),
    Counter(4, "vmmemctl", "Balloon", "Memory reclaimed by the balloon driver",
            "kiloBytes", "average", "absolute", 1, _kb("balloon_mb"), _kb("balloon_mb")),
    Counter(5, "vmmemctltarget", "Balloon target", "What the host wants the balloon driver to reclaim",
            "kiloBytes", "average", "absolute", 2, _kb("balloon_target_mb"), _kb("balloon_target_mb")),
    Counter(6, "swapped", "Swapped", "Guest memory swapped out to the VM's swap file",
            "kiloBytes", "average", "absolute", 2, _kb("swapped_mb"), _kb("swapped_mb")),
    Counter(7, "swapinRate", "Swap in rate", "Rate at which memory is swapped in from disk",
            "kiloBytesPerSecond", "average", "rate", 1, _kb("swap_in_mb_s"), _kb("swap_in_mb_s")),
    Counter(8, "swapoutRate", "Swap out rate", "Rate at which memory is swapped out to disk",
            "kiloBytesPerSecond", "average", "rate", 1, _kb("swap_out_mb_s"), _kb("swap_out_mb_s")),
    Counter(9, "compressed", "Compressed", "Guest memory held in the compression cache",
            "kiloBytes", "average", "absolute", 2, _kb("zipped_mb"), _kb("zipped_mb")),
    Counter(10, "shared", "Shared", "Guest memory backed by shared pages (transparent page sharing)",
            "kiloBytes", "average", "absolute", 2, _kb("shared_mb"), _kb("shared_mb")),
    Counter(11, "zero", "Zero", "Guest memory that is zero pages (shared)",
            "kiloBytes", "average", "absolute", 2, _kb("zero_mb"), None),
    Counter(12, "overhead", "Overhead", "Machine memory the VMkernel uses to run the VM",
            "kiloBytes", "average", "absolute", 1, _kb("overhead_mb"), _kb("overhead_mb")),
    Counter(13, "state", "State", "Free memory state: 0 high, 1 soft, 2 hard, 3 low",
            "number", "latest", "absolute", 2, None, lambda h: STATE_NUMBER.get(h.state, 0)),
    Counter(14, "sharedcommon", "Shared common", "Machine memory holding the single copies of shared pages",
            "kiloBytes", "average", "absolute", 2, None, _kb("shared_common_mb")),
    Counter(15, "usage", "Usage", "VM: active memory / configured memory; host: memory in use / total (hundredths of %)",
            "percent", "average", "absolute", 1,
            lambda m: int(round(10000 * m.active_mb / m.memory_mb)) if m.memory_mb else 0,
            lambda h: int(round(10000 * (h.memory_mb - h.free_mb) / h.memory_mb)) if h.memory_mb else 0),
)
BY_KEY = {c.key: c for c in COUNTERS}


def counter_info(c: Counter) -> PM.CounterInfo:
    units = {"kiloBytes": ("KB", "Kilobytes"), "kiloBytesPerSecond": ("KBps", "Kilobytes per second"),
             "number": ("num", "Number"), "percent": ("%", "Percentage")}[c.unit]
    return PM.CounterInfo(
        key=c.key,
        nameInfo=vim.ElementDescription(key=c.name, label=c.label, summary=c.summary),
        groupInfo=vim.ElementDescription(key="mem", label="Memory", summary="Memory"),
        unitInfo=vim.ElementDescription(key=c.unit, label=units[0], summary=units[1]),
        rollupType=c.rollup, statsType=c.stats, level=c.level, perDeviceLevel=c.level)


def _entity_kind(mo: MO) -> str:
    if isinstance(mo, VirtualMachine):
        return "vm"
    if isinstance(mo, HostSystem):
        return "host"
    raise vmodl.fault.InvalidArgument(msg="performance counters are kept for the host and its VMs only",
                                      invalidProperty="entity")


def _available(kind: str) -> list[Counter]:
    return [c for c in COUNTERS if (c.vm if kind == "vm" else c.host) is not None]


class PerformanceManager(MO):
    vim_type = vim.PerformanceManager

    def __init__(self, api: Api):
        super().__init__("ha-perfmgr")
        self.api = api

    def p_perfCounter(self, call):
        return [counter_info(c) for c in COUNTERS]

    def p_historicalInterval(self, call):
        # an ESX host keeps realtime statistics only
        return []

    def p_description(self, call):
        def describe(keys):
            return [vim.ElementDescription(key=k, label=k, summary=k) for k in keys]
        return vim.PerformanceDescription(counterType=describe(("average", "latest", "none")),
                                          statsType=describe(("absolute", "delta", "rate")))

    def do_QueryPerfCounter(self, call, counterId):
        out = []
        for key in counterId:
            c = BY_KEY.get(key)
            if c is None:
                raise vmodl.fault.InvalidArgument(msg=f"no performance counter {key}", invalidProperty="counterId")
            out.append(counter_info(c))
        return out

    def do_QueryPerfCounterByLevel(self, call, level):
        if not 1 <= level <= 4:
            raise vmodl.fault.InvalidArgument(msg=f"level {level} is not 1 to 4", invalidProperty="level")
        return [counter_info(c) for c in COUNTERS if c.level <= level]

    def do_QueryPerfProviderSummary(self, call, entity):
        mo = self.api.resolve(entity, call)
        _entity_kind(mo)
        return PM.ProviderSummary(entity=mo.ref(), currentSupported=True, summarySupported=False,
                                  refreshRate=PERF_INTERVAL_S)

    def _check_interval(self, interval_id) -> None:
        if interval_id is not None and interval_id != PERF_INTERVAL_S:
            raise vmodl.fault.InvalidArgument(
                msg=f"this host keeps realtime ({PERF_INTERVAL_S} s) statistics only, not interval {interval_id}",
                invalidProperty="intervalId")

    def do_QueryAvailablePerfMetric(self, call, entity, beginTime=None, endTime=None, intervalId=None):
        mo = self.api.resolve(entity, call)
        self._check_interval(intervalId)
        return [PM.MetricId(counterId=c.key, instance="") for c in _available(_entity_kind(mo))]

    def do_QueryPerf(self, call, querySpec):
        samples = self.api.gate.perf_samples()
        view = call.view
        out = []
        for qs in querySpec:
            mo = self.api.resolve(qs.entity, call)
            kind = _entity_kind(mo)
            self._check_interval(qs.intervalId)
            if qs.format not in (None, "normal"):
                raise vmodl.fault.NotSupported(msg=f"format {qs.format!r}: only 'normal' is supported")
            available = {c.key: c for c in _available(kind)}
            if qs.metricId:
                wanted = []
                for mid in qs.metricId:
                    c = available.get(mid.counterId)
                    if c is None:
                        raise vmodl.fault.InvalidArgument(
                            msg=f"counter {mid.counterId} is not available for {mo.moid}", invalidProperty="metricId")
                    if mid.instance not in (None, "", "*"):
                        continue
                    wanted.append(c)
            else:
                wanted = list(available.values())
            chosen = []
            for snap in samples:
                stamp = view.boot_time + timedelta(seconds=snap.t)
                if qs.startTime is not None and stamp <= qs.startTime:
                    continue
                if qs.endTime is not None and stamp > qs.endTime:
                    continue
                if kind == "vm":
                    try:
                        subject = snap.vm(mo.name)
                    except KeyError:
                        continue
                else:
                    subject = snap.host
                chosen.append((stamp, subject))
            if qs.maxSample and qs.maxSample > 0:
                chosen = chosen[-qs.maxSample:]
            info = [PM.SampleInfo(timestamp=stamp, interval=PERF_INTERVAL_S) for stamp, _ in chosen]
            series = []
            for c in wanted:
                get = c.vm if kind == "vm" else c.host
                series.append(PM.IntSeries(id=PM.MetricId(counterId=c.key, instance=""),
                                           value=[int(get(s)) for _, s in chosen]))
            out.append(PM.EntityMetric(entity=mo.ref(), sampleInfo=info, value=series))
        return out
