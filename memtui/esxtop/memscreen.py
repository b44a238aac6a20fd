"""esxtop memory-screen figures derived from the model's state: TCHD_W, %ACTVN, OVHDMAX,
CACHESZ, and the header's "MEM overcommit avg" over 1, 5 and 15 minutes.

Every figure is computed from what the model holds (the active-memory sample in progress, the
overhead reserved at power-on, the compression settings, the powered-on VMs' memory); none is a
constant. The module imports no UI toolkit.
"""

from __future__ import annotations

import math

import numpy as np

from memtui import spec

# esxtop's "MEM overcommit avg": exponentially weighted moving averages of the overcommit level,
# like a load average, over these periods (seconds).
OVERCOMMIT_AVG_PERIODS_S = (60.0, 300.0, 900.0)


def overcommit_level(host) -> float:
    """esxtop's memory overcommit level: the memory the powered-on VMs ask for (configured
    memory, or the limit when it is lower, plus the overhead reserved) over managed memory, minus
    1; 0 while it fits."""
    managed = host.managed_mb
    if managed <= 0:
        return 0.0
    requested = host._settled("requested_mb", lambda: host._on_sum(
        np.minimum(host.memsize, host.limit) + host.overhead))
    return max(0.0, requested / managed - 1.0)


def advance(host, dt: float) -> None:
    """Move the host's overcommit averages on by one step of `dt` seconds."""
    level = overcommit_level(host)
    prev = getattr(host, "overcommit_avg", (0.0, 0.0, 0.0))
    gains = _GAINS.get(dt)
    if gains is None:
        gains = _GAINS[dt] = tuple(1.0 - math.exp(-dt / period) for period in OVERCOMMIT_AVG_PERIODS_S)
    host.overcommit_avg = (prev[0] + gains[0] * (level - prev[0]), prev[1] + gains[1] * (level - prev[1]),
                           prev[2] + gains[2] * (level - prev[2]))


# The gain of each average for a step of dt seconds, by dt.
_GAINS: dict[float, tuple[float, float, float]] = {}


def host_fields(host) -> dict[str, float]:
    avg = getattr(host, "overcommit_avg", (0.0, 0.0, 0.0))
    return {
        "overcommit_level": round(overcommit_level(host), 3),
        "overcommit_avg_1m": round(avg[0], 3),
        "overcommit_avg_5m": round(avg[1], 3),
        "overcommit_avg_15m": round(avg[2], 3),
    }


def active_next(host) -> np.ndarray:
    """%ACTVN: the host's prediction of %ACTV at the next sample, from the sample in progress
    (the share of sampled pages touched so far) fed to the slow and fast averages."""
    period = float(host.advanced["Mem.SamplePeriod"])
    gs = 1 - (1 - spec.ACTIVE_SLOW_GAIN_PER_30S) ** (period / 30.0)
    gf = 1 - (1 - spec.ACTIVE_FAST_GAIN_PER_30S) ** (period / 30.0)
    elapsed = host.sample_elapsed
    now = np.maximum(np.maximum(host.act_slow, host.act_fast), host.act_cur)
    p = np.divide(host.sample_acc, elapsed, out=now.copy(), where=elapsed > 0)
    slow = host.act_slow + gs * (p - host.act_slow)
    fast = host.act_fast + gf * (p - host.act_fast)
    return np.where(host.on, 100.0 * np.maximum(slow, fast), 0.0)


def cache_size(host) -> np.ndarray:
    """CACHESZ: the VM's compression cache size, Mem.MemZipMaxPct % of its memory while
    compression is on (4.1+), in machine MB."""
    if not host.compression:
        return np.zeros(len(host.vms))
    return np.where(host.on, host.memsize * host.advanced["Mem.MemZipMaxPct"] / 100.0, 0.0)


# The snapshot's fields (memtui.metrics.VMMetrics) filled here.
SNAPSHOT_FIELDS = ("touched_write_mb", "active_next_pct", "overhead_max_mb", "zip_cache_size_mb")


def snapshot_columns(host) -> dict[str, list[float]]:
    """The fields of the snapshot filled here, a list (one value per VM) each."""
    on = host.on
    cols = {
        "touched_write_mb": np.where(on, host.active_estimate * spec.COW_WRITE_FRACTION, 0.0),
        "active_next_pct": active_next(host),
        "overhead_max_mb": np.where(on, host.overhead, 0.0),
        "zip_cache_size_mb": cache_size(host),
    }
    return {k: np.round(v, 2).tolist() for k, v in cols.items()}


__all__ = ["overcommit_level", "advance", "host_fields", "active_next", "cache_size",
           "snapshot_columns", "OVERCOMMIT_AVG_PERIODS_S", "SNAPSHOT_FIELDS"]
