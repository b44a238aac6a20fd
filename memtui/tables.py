"""Overhead memory and free-memory thresholds, from the published tables (memory-model.md 3, 7)."""

from __future__ import annotations

from dataclasses import dataclass

from memtui import spec


@dataclass(frozen=True)
class Overhead:
    mb: float
    source: str  # where the figure comes from, in words a user can check against the table
    kind: str  # "table" | "interpolated" | "extrapolated"


def _column(table: dict[int, tuple[float | None, ...]], index: int) -> list[tuple[int, float]]:
    return [(mem, row[index]) for mem, row in sorted(table.items()) if row[index] is not None]


def _line(points: list[tuple[int, float]], memsize: float) -> tuple[float, str, tuple[int, int] | int]:
    """Piecewise-linear through the points, extended linearly beyond the first and last two."""
    for mem, mb in points:
        if mem == memsize:
            return mb, "table", mem
    if memsize < points[0][0]:
        (x0, y0), (x1, y1) = points[0], points[1]
        kind = "extrapolated"
    elif memsize > points[-1][0]:
        (x0, y0), (x1, y1) = points[-2], points[-1]
        kind = "extrapolated"
    else:
        j = next(j for j in range(1, len(points)) if points[j][0] > memsize)
        (x0, y0), (x1, y1) = points[j - 1], points[j]
        kind = "interpolated"
    value = y0 + (y1 - y0) * (memsize - x0) / (x1 - x0)
    return value, kind, (x0, x1)


def _describe(kind: str, where: tuple[int, int] | int, column: str, table: str) -> str:
    if kind == "table":
        return f"{table}: cell {where} MB, {column}"
    x0, x1 = where
    verb = "interpolated between" if kind == "interpolated" else "extrapolated from"
    return f"{table}: {verb} the {x0} and {x1} MB cells, {column}"


def overhead_mb(version: str, memory_mb: float, vcpus: int) -> Overhead:
    """Overhead memory of a powered-on VM and where the figure comes from."""
    if version in ("4.0", "4.1"):
        table = "ESX 4.0 table 3-2"
        col = min(max(int(vcpus), 1), 8) - 1
        value, kind, where = _line(_column(spec.OVERHEAD_40_TABLE_MB, col), memory_mb)
        return Overhead(round(value, 2), _describe(kind, where, f"{col + 1} vCPU column", table), kind)
    table = "vSphere 6.5 sample table"
    cols = spec.OVERHEAD_65_VCPUS
    if vcpus in cols:
        i = cols.index(vcpus)
        value, kind, where = _line(_column(spec.OVERHEAD_65_TABLE_MB, i), memory_mb)
        return Overhead(round(value, 2), _describe(kind, where, f"{vcpus} vCPU column", table), kind)
    # Between (or beyond) the published vCPU columns: linear in the vCPU count as well.
    if vcpus < cols[-1]:
        lo = max(c for c in cols if c < vcpus)
        hi = min(c for c in cols if c > vcpus)
    else:
        lo, hi = cols[-2], cols[-1]
    v_lo, _, where = _line(_column(spec.OVERHEAD_65_TABLE_MB, cols.index(lo)), memory_mb)
    v_hi, kind_hi, _ = _line(_column(spec.OVERHEAD_65_TABLE_MB, cols.index(hi)), memory_mb)
    value = v_lo + (v_hi - v_lo) * (vcpus - lo) / (hi - lo)
    between = "interpolated between" if vcpus < cols[-1] else "extrapolated from"
    mem_part = f"{memory_mb:g} MB" if not isinstance(where, tuple) else f"{memory_mb:g} MB (memory {kind_hi})"
    return Overhead(
        round(value, 2),
        f"{table}: {between} the {lo} and {hi} vCPU columns at {mem_part}",
        "interpolated" if vcpus < cols[-1] else "extrapolated",
    )


# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """Free-memory thresholds in MB. `high` is None where the release has no separate state for
    it (4.x, 5.x: the high threshold is minFree); `clear` exists only in 6.x."""

    min_free_mb: float  # the high threshold in 4.x / 5.x, the clear threshold in 6.x
    high: float
    clear: float | None
    soft: float
    hard: float
    low: float

    def floors(self) -> list[tuple[str, float]]:
        """Each state with the free memory it needs, best first; the worst state needs none."""
        out = [(spec.STATE_HIGH, self.high)]
        if self.clear is not None:
            out.append((spec.STATE_CLEAR, self.clear))
        out += [(spec.STATE_SOFT, self.soft), (spec.STATE_HARD, self.hard), (spec.STATE_LOW, float("-inf"))]
        return out

    def as_dict(self) -> dict[str, float]:
        out = {spec.STATE_HIGH: self.high}
        if self.clear is not None:
            out[spec.STATE_CLEAR] = self.clear
        out.update({spec.STATE_SOFT: self.soft, spec.STATE_HARD: self.hard, spec.STATE_LOW: self.low})
        return out


def sliding_min_free_mb(memory_mb: float) -> float:
    """5.x / 6.x minFree: 6 % of the first 4 GB, 4 % of the next 8 GB, 2 % of the next 16 GB,
    1 % of the rest."""
    left = float(memory_mb)
    total = 0.0
    for band, pct in spec.MINFREE_SCALE:
        part = left if band is None else min(left, band)
        total += part * pct / 100.0
        left -= part
        if left <= 0:
            break
    return total


def thresholds(version: str, memory_mb: float, min_free_pct: float = 6.0) -> Thresholds:
    if version == "4.0":
        t = {k: memory_mb * v / 100.0 for k, v in spec.THRESHOLDS_40_PCT.items()}
        return Thresholds(t["high"], t["high"], None, t["soft"], t["hard"], t["low"])
    if version == "4.1":
        mf = memory_mb * min_free_pct / 100.0
    else:
        mf = sliding_min_free_mb(memory_mb)
    soft, hard, low = mf * spec.SOFT_OF_MINFREE, mf * spec.HARD_OF_MINFREE, mf * spec.LOW_OF_MINFREE
    if version == "6.x":
        return Thresholds(mf, mf * spec.HIGH_OF_MINFREE_6X, mf, soft, hard, low)
    return Thresholds(mf, mf, None, soft, hard, low)
