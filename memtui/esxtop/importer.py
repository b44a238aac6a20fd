"""`memtui import esxtop CAPTURE --out PROFILE`: a host profile from an esxtop batch capture.

The capture is read in one pass as a stream (a real one can be hundreds of MB, with tens of
thousands of CPU, disk and network columns): only the memory columns are kept, and of those
only one full sample (the one `--at` picks) and, per VM, the series the working-set schedule is
built from. Every figure the capture does not hold is guessed and says so in a comment of the
written profile. Imports no UI toolkit.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import operator
import os
import re
import sys
import time
from array import array
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, Any

import tomlkit

from memtui import spec, tables
from memtui.config import format_duration, parse_duration
from memtui.esxtop import (
    EARLIER_NAMES,
    HOST_COUNTERS,
    HOST_OBJECT,
    PDH_PREFIX,
    TIME_FORMAT,
    UNLIMITED,
    ZIP_FIELDS,
    split_group,
    split_path,
)
from memtui.profile import FORMAT, ProfileError, ProfileSaveError, parse_profile, save_profile

EXPECTED = (
    "an esxtop batch capture (esxtop -b > capture.csv): a CSV file whose first cell is "
    '"(PDH-CSV 4.0) (UTC)(0)" and with \\\\HOST\\Group Memory(GID:NAME)\\... columns'
)

# The counters the importer reads; every other column is skipped without being converted.
HOST_KEEP = {
    "Machine MBytes": "memory_mb",
    "Kernel MBytes": "system_mb",
    "Kernel Managed MBytes": "managed_mb",
    "Kernel MinFree MBytes": "min_free_mb",
}
VM_KEEP = {
    "Memory Size MBytes": "memory_mb",
    "Alloc Min": "reservation_mb",
    "Alloc Max": "limit_mb",
    "Alloc Shares": "shares",
    "Memory Granted Size MBytes": "granted_mb",
    "Touched MBytes": "touched_mb",
    "% Active Estimate": "active_pct",
    "% Active Slow Estimate": "active_slow_pct",
    "Memctl?": "balloon_active",
    "Memctl MBytes": "balloon_mb",
    "Memctl Max MBytes": "balloon_max_mb",
    "Swapped MBytes": "swapped_mb",
    "Compressed Memory MBytes": "zipped_mb",
    "Shared MBytes": "shared_mb",
    "Zero MBytes": "zero_mb",
    "Overhead MBytes": "overhead_mb",
}
# The same counters under the names memtui's own esxtop output used before it took esxtop's; a
# column under esxtop's name wins over one under the earlier name.
HOST_KEEP_EARLIER = {old: HOST_KEEP[new] for old, new in EARLIER_NAMES if new in HOST_KEEP}
VM_KEEP_EARLIER = {old: VM_KEEP[new] for old, new in EARLIER_NAMES if new in VM_KEEP}
# Host counters that only a host with memory compression (ESX 4.1 and later) writes.
_ZIP_HOST = {name for name, f in HOST_COUNTERS if f in ZIP_FIELDS}
ZIP_HOST_COUNTERS = frozenset(_ZIP_HOST | {old for old, new in EARLIER_NAMES if new in _ZIP_HOST})
# "Alloc Shares" below zero is not a number of shares but a share level's code: esxtop writes
# -3 for groups with the default setting (normal), as captures of ESXi 6.x hosts show.
SHARES_LEVEL_CODES = {-3: "normal"}

SCHEDULE_MAX_STEPS = 48  # a longer schedule is coarsened until it fits
SCHEDULE_MIN_STEP_MB = 64.0  # a change of the working set smaller than this is not a new step
SCHEDULE_STEP_FRACTION = 0.05  # ... nor one smaller than this share of the VM's memory
SCHEDULE_NOISE_SIGMAS = 3.0  # ... nor one within this many standard deviations of the noise

PROGRESS_AFTER_S = 0.5  # a progress bar appears once reading has taken this long
_TZ_RE = re.compile(r"\((-?\d+)\)\s*$")
_PCPU_RE = re.compile(r"^Physical Cpu\((\d+)\)$")
_CHECK_EVERY_ROWS = 8


class CaptureError(Exception):
    """A capture that cannot be imported; the message names the file and what is wrong."""


# --------------------------------------------------------------------------------------------
# Times


def parse_time(text: str) -> datetime | None:
    text = text.strip()
    for fmt in (TIME_FORMAT, TIME_FORMAT + ".%f"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def parse_at(text: str) -> tuple[str, Any]:
    """`--at`: ("offset", seconds) from a duration, or ("time", datetime) from a sample time
    (MM/DD/YYYY HH:MM:SS as the capture writes it) or an ISO 8601 date-time. ValueError else."""
    try:
        return "offset", parse_duration(text)
    except ValueError:
        pass
    when = parse_time(text)
    if when is None:
        try:
            when = datetime.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(
                f"{text!r} is neither a time into the capture (90, \"30m\", \"1h30m\") nor a "
                'sample time ("03/01/2026 08:30:00" or 2026-03-01T08:30:00)'
            ) from None
    return "time", when


# --------------------------------------------------------------------------------------------
# Reading


@dataclass
class Group:
    gid: int
    name: str
    columns: dict[str, int] = field(default_factory=dict)  # field -> column index
    at: dict[str, float] = field(default_factory=dict)  # the --at sample's values
    series_t: array = field(default_factory=lambda: array("d"))  # seconds after the --at sample
    series_active_mb: array = field(default_factory=lambda: array("d"))
    max_memory_mb: float = 0.0
    max_touched_mb: float = 0.0
    max_balloon_mb: float = 0.0
    max_shared_pct: float | None = None
    max_zero_pct: float | None = None
    overhead_seen_mb: float | None = None  # the last overhead while powered on
    memctl_seen: bool = False  # a Memctl? cell was read while powered on
    memctl_ran: bool = False  # ... and one of them was 1: the balloon driver ran
    ever_on: bool = False  # held memory at some sample from the --at sample on
    power_at: bool = False  # powered on at the --at sample
    power_changes: list[tuple[float, bool]] = field(default_factory=list)  # (at_s, on) after it
    prev_t: float = 0.0  # the previous sample, seconds after the --at sample
    on_now: bool = False

    @property
    def user_world(self) -> bool:
        """A group of the host's own processes (hostd, vpxa, a shell: esxtop gives each user
        world a group with a memory size), not a VM: it held memory but never had overhead
        memory, which every running VM has. Without an Overhead MBytes column, no group is."""
        return "overhead_mb" in self.columns and self.ever_on and self.overhead_seen_mb is None


@dataclass
class Capture:
    path: str
    host_name: str
    bias_min: int  # UTC = local time + bias
    host_columns: dict[str, int]
    groups: list[Group]
    cpu_count: int
    samples: int = 0
    first: datetime | None = None  # UTC
    last: datetime | None = None
    at_time: datetime | None = None  # UTC time of the sample used for sizes and settings
    at_index: int | None = None
    host_at: dict[str, float] = field(default_factory=dict)
    skipped_rows: int = 0
    has_zip_counters: bool = False

    @property
    def interval_s(self) -> float:
        if self.samples < 2 or self.first is None or self.last is None:
            return 0.0
        return (self.last - self.first).total_seconds() / (self.samples - 1)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _values(keys: tuple[str, ...], numbers: list[float | None], clean: bool) -> dict[str, float]:
    if clean:
        return dict(zip(keys, numbers, strict=True))
    return {k: v for k, v in zip(keys, numbers, strict=True) if v is not None}


class _Progress:
    """A one-line progress bar on a terminal's stderr, by bytes read."""

    def __init__(self, total_bytes: int, stream: IO[str] | None):
        self.total = max(total_bytes, 1)
        self.stream = stream
        self.enabled = stream is not None and hasattr(stream, "isatty") and stream.isatty()
        self.start = time.perf_counter()
        self.last = 0.0
        self.shown = False

    def update(self, position: int) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self.start < PROGRESS_AFTER_S or now - self.last < 0.2:
            return
        self.last = now
        frac = min(1.0, position / self.total)
        width = 30
        filled = int(frac * width)
        rate = position / (now - self.start) / 2**20
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {frac:4.0%}  "
            f"{position / 2**20:,.0f} of {self.total / 2**20:,.0f} MB  {rate:,.0f} MB/s "
        )
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * 70 + "\r")
            self.stream.flush()


def _layout(path: str, header: list[str]) -> tuple[str, dict[str, int], list[Group], int, bool]:
    """The host name, host memory columns, VM groups and physical CPU count of a header row."""
    host_name = ""
    host_columns: dict[str, int] = {}
    groups: dict[int, Group] = {}
    cpus: set[int] = set()
    has_zip = False
    earlier_host: dict[str, int] = {}
    earlier_vm: dict[int, dict[str, int]] = {}
    for i, cell in enumerate(header):
        if i == 0:
            continue
        parts = split_path(cell)
        if parts is None:
            continue
        host, obj, counter = parts
        if obj == HOST_OBJECT:
            host_name = host_name or host
            if counter in HOST_KEEP:
                host_columns.setdefault(HOST_KEEP[counter], i)
            elif counter in HOST_KEEP_EARLIER:
                earlier_host.setdefault(HOST_KEEP_EARLIER[counter], i)
            if counter in ZIP_HOST_COUNTERS:
                has_zip = True
            continue
        m = _PCPU_RE.match(obj)
        if m:
            cpus.add(int(m.group(1)))
            continue
        grp = split_group(obj)
        if grp is None:
            continue
        host_name = host_name or host
        gid, name = grp
        group = groups.get(gid)
        if group is None:
            group = groups[gid] = Group(gid, name)
        if counter in VM_KEEP:
            group.columns.setdefault(VM_KEEP[counter], i)
        elif counter in VM_KEEP_EARLIER:
            earlier_vm.setdefault(gid, {}).setdefault(VM_KEEP_EARLIER[counter], i)
        if counter == "Compressed Memory MBytes":
            has_zip = True
    for key, i in earlier_host.items():
        host_columns.setdefault(key, i)
    for gid, columns in earlier_vm.items():
        for key, i in columns.items():
            groups[gid].columns.setdefault(key, i)
    groups_with_size = [g for g in groups.values() if "memory_mb" in g.columns]
    if not groups_with_size:
        raise CaptureError(
            f"{path}: no VM memory counters: expected \\\\HOST\\Group Memory(GID:NAME)\\Memory "
            "Size MBytes columns (capture all counters with esxtop -b -a, or keep the memory "
            "screen's fields)"
        )
    if "memory_mb" not in host_columns:
        raise CaptureError(
            f"{path}: no host memory counters: expected a \\\\HOST\\Memory\\Machine MBytes column"
        )
    return host_name, host_columns, groups_with_size, len(cpus), has_zip


def read_capture(path: str, at: tuple[str, Any] | None = None,
                 progress: IO[str] | None = None) -> Capture:
    """Read the capture at `path` in one pass. `at` picks the sample for sizes and settings
    (see parse_at; default the first sample). Raises CaptureError."""
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed below, wrapped by the text reader
    except IsADirectoryError:
        raise CaptureError(f"{path}: is a directory; expected {EXPECTED}") from None
    except OSError as exc:
        raise CaptureError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        size = os.fstat(raw.fileno()).st_size
        head = raw.read(65536)
        if not head.strip():
            raise CaptureError(f"{path}: the file is empty; expected {EXPECTED}")
        if b"\0" in head:
            raise CaptureError(f"{path}: a binary file, not text; expected {EXPECTED}")
        raw.seek(0)
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
        return _read(path, text, raw, size, at, progress)
    finally:
        raw.close()


def _read(path: str, text: IO[str], raw: IO[bytes], size: int, at: tuple[str, Any] | None,
          progress: IO[str] | None) -> Capture:
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        raise CaptureError(f"{path}: the file is empty; expected {EXPECTED}") from None
    except csv.Error as exc:
        raise CaptureError(f"{path}: line 1: not CSV ({exc}); expected {EXPECTED}") from None
    first_cell = header[0].strip() if header else ""
    if not first_cell.startswith(PDH_PREFIX):
        shown = first_cell if len(first_cell) <= 40 else first_cell[:37] + "..."
        raise CaptureError(
            f'{path}: line 1: the first cell is "{shown}", not "(PDH-CSV 4.0) (...)(...)": this '
            f"is not {EXPECTED}"
        )
    m = _TZ_RE.search(first_cell)
    bias = int(m.group(1)) if m else 0
    host_name, host_columns, groups, cpu_count, has_zip = _layout(path, header)
    cap = Capture(path, host_name, bias, host_columns, groups, cpu_count, has_zip_counters=has_zip)

    # One getter for every kept column, so a row of 50,000 cells is touched only where needed:
    # the host's columns first, then each group's, as one run of cells per group.
    host_keys = tuple(host_columns)
    indices = list(host_columns.values())
    spans: list[tuple[Group, tuple[str, ...], int, int]] = []
    for group in groups:
        start = len(indices)
        indices.extend(group.columns.values())
        spans.append((group, tuple(group.columns), start, len(indices)))
    getter = operator.itemgetter(*indices)
    single = len(indices) == 1
    n_host = len(host_keys)
    width = len(header)
    bar = _Progress(size, progress)

    at_kind, at_value = at if at is not None else ("offset", 0)
    at_target: datetime | None = None
    rows = 0
    try:
        for row in reader:
            rows += 1
            if rows % _CHECK_EVERY_ROWS == 0:
                bar.update(raw.tell())
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) < width:
                cap.skipped_rows += 1  # a capture cut off while esxtop was writing a row
                continue
            when = parse_time(row[0])
            if when is None:
                raise CaptureError(
                    f'{path}: line {reader.line_num}: "{row[0][:40]}" is not a sample time '
                    "(MM/DD/YYYY HH:MM:SS)"
                )
            when = (when + timedelta(minutes=bias)).replace(tzinfo=UTC)
            if cap.first is None:
                cap.first = when
                if at_kind == "offset":
                    at_target = when + timedelta(seconds=at_value)
                else:
                    value = at_value
                    if value.tzinfo is None:  # a time as the capture writes it: its local time
                        value = (value + timedelta(minutes=bias)).replace(tzinfo=UTC)
                    at_target = value.astimezone(UTC)
            cap.last = when
            cap.samples += 1
            taking = cap.at_time is None and when >= at_target
            if cap.at_time is None and not taking:
                continue  # before the --at sample: nothing of it is kept
            cells = getter(row)
            if single:
                cells = (cells,)
            try:  # the usual row: every kept cell a number
                numbers: list[float | None] = list(map(float, cells))
                clean = all(map(math.isfinite, numbers))
            except ValueError:
                clean = False
            if not clean:  # empty or odd cells: leave them out
                numbers = [_number(c) for c in cells]
            if taking:
                cap.at_time = when
                cap.at_index = cap.samples - 1
                cap.host_at = _values(host_keys, numbers[:n_host], clean)
            for group, keys, start, end in spans:
                _sample(group, _values(keys, numbers[start:end], clean), when, cap.at_time,
                        taking)
    except csv.Error as exc:
        raise CaptureError(f"{path}: line {reader.line_num}: not CSV ({exc})") from None
    finally:
        bar.close()
    if cap.samples == 0:
        raise CaptureError(f"{path}: the capture has a header but no samples")
    if cap.at_time is None:
        raise CaptureError(
            f"{path}: --at is after the capture's last sample "
            f"({cap.last.strftime(TIME_FORMAT)} UTC)"
        )
    return cap


def _sample(group: Group, v: dict[str, float], when: datetime, at_time: datetime,
            taking: bool) -> None:
    """Fold one sample of one group into what the importer keeps."""
    t = (when - at_time).total_seconds()
    memory = v.get("memory_mb", 0.0)
    on = memory > 0 and (v.get("granted_mb", 0.0) > 0 or v.get("overhead_mb", 0.0) > 0)
    if taking:
        group.at = dict(v)
        group.power_at = group.on_now = on
    elif on != group.on_now:
        # A power-on (or off) shows from the first sample at or after it: time it there.
        group.power_changes.append((t, on))
        group.on_now = on
    group.prev_t = t
    group.max_memory_mb = max(group.max_memory_mb, memory)
    if not on:
        return
    group.ever_on = True
    if v.get("overhead_mb", 0.0) > 0:
        group.overhead_seen_mb = v["overhead_mb"]
    if "balloon_active" in v:
        group.memctl_seen = True
        group.memctl_ran = group.memctl_ran or v["balloon_active"] > 0
    # What the guest has touched since boot: its pages held now (backed, swapped, compressed)
    # and those it gave the balloon driver, which it had touched before.
    held = (v.get("granted_mb", 0.0) + v.get("swapped_mb", 0.0) + v.get("zipped_mb", 0.0)
            + v.get("balloon_mb", 0.0))
    touched = max(v.get("touched_mb", 0.0) + v.get("balloon_mb", 0.0), held)
    group.max_touched_mb = max(group.max_touched_mb, touched)
    group.max_balloon_mb = max(group.max_balloon_mb, v.get("balloon_mb", 0.0))
    if touched > 0:
        if "shared_mb" in v:
            pct = 100.0 * v["shared_mb"] / touched
            group.max_shared_pct = max(group.max_shared_pct or 0.0, pct)
        if "zero_mb" in v:
            pct = 100.0 * v["zero_mb"] / touched
            group.max_zero_pct = max(group.max_zero_pct or 0.0, pct)
    pct = v.get("active_pct", v.get("active_slow_pct"))
    if pct is not None:
        group.series_t.append(t)
        group.series_active_mb.append(memory * pct / 100.0)


# --------------------------------------------------------------------------------------------
# Building the profile


def noise_mb(series: array) -> float:
    """The sample-to-sample noise of a series (the host's active estimate samples pages at
    random, and holds each estimate for a sample period): the median of the changes between
    successive estimates, scaled to a standard deviation. Steps of the true working set are
    rare among those changes and barely move it."""
    diffs = sorted(abs(b - a) for a, b in itertools.pairwise(series) if b != a)
    if len(diffs) < 3:
        return 0.0
    return diffs[len(diffs) // 2] / (0.6745 * math.sqrt(2.0))


def compress_schedule(times_s: array, active_mb: array, memory_mb: float,
                      max_steps: int = SCHEDULE_MAX_STEPS) -> list[tuple[int, int]]:
    """Working-set steps [(at_s, mb)] from a series: a new step where the series leaves the
    current step's mean by more than a tolerance, which grows until the steps fit `max_steps`."""
    if not times_s:
        return []
    tol = max(SCHEDULE_MIN_STEP_MB, SCHEDULE_STEP_FRACTION * memory_mb,
              SCHEDULE_NOISE_SIGMAS * noise_mb(active_mb))
    while True:
        steps: list[tuple[float, float]] = []
        start, total, count = times_s[0], active_mb[0], 1
        for t, mb in zip(times_s[1:], active_mb[1:], strict=True):
            mean = total / count
            if abs(mb - mean) > tol:
                steps.append((start, mean))
                start, total, count = t, mb, 1
            else:
                total += mb
                count += 1
        steps.append((start, total / count))
        out: list[tuple[int, int]] = []
        for t, mb in steps:
            at_s = max(0, int(round(t)))
            mb_int = int(round(min(max(mb, 0.0), memory_mb)))
            if out and out[-1][1] == mb_int:
                continue
            if out and at_s <= out[-1][0]:
                out[-1] = (out[-1][0], mb_int)
                continue
            out.append((at_s, mb_int))
        if out:
            out[0] = (0, out[0][1])
        if len(out) <= max_steps:
            return out
        tol *= 2


def _shares_setting(shares: float, memory_mb: int) -> str | int:
    for level, per_mb in spec.SHARES_PER_MB.items():
        if abs(shares - per_mb * memory_mb) < 0.5:
            return level
    return max(1, int(round(shares)))


def guess_vcpus(version: str, memory_mb: int, overhead_mb: float | None) -> int | None:
    """The vCPU count whose overhead (the release's overhead table) is nearest the captured
    Overhead MBytes, or None without one."""
    if not overhead_mb or overhead_mb <= 0:
        return None
    most = spec.MAXIMUMS[version].vcpus_per_vm
    best, best_gap = 1, math.inf
    for vcpus in range(1, most + 1):
        gap = abs(tables.overhead_mb(version, memory_mb, vcpus).mb - overhead_mb)
        if gap < best_gap - 1e-9:
            best, best_gap = vcpus, gap
        elif gap > best_gap + 1e-9:
            break  # overhead grows with the vCPU count: past the nearest, it only gets further
    return best


def guess_version(memory_mb: float, min_free_mb: float | None, largest_vm_mb: float,
                  has_zip: bool, vm_count: int = 0) -> tuple[str, str]:
    """The ESX release, and how it was chosen. esxtop does not write the release, but memory
    compression counters exist from 4.1 on, the minFree it reports follows each release's rule,
    and a release must allow the host's and VMs' sizes. Of releases that fit equally (5.x and
    6.x share their minFree rule), the newest: most captures come from current hosts."""
    fits = [
        v for v in spec.VERSIONS
        if memory_mb <= spec.MAXIMUMS[v].memory_mb_per_host
        and largest_vm_mb <= spec.MAXIMUMS[v].memory_mb_per_vm
        and vm_count <= spec.MAXIMUMS[v].vms_per_host
    ]
    if not fits:
        return spec.VERSIONS[-1], "the capture's sizes are past every release's maximums"
    if not has_zip and "4.0" in fits:
        return "4.0", "no memory compression counters, which ESX has from 4.1 on"
    fits = [v for v in fits if v != "4.0"] or fits
    if min_free_mb is not None:
        default_pct = spec.ADVANCED_SETTINGS["Mem.MinFreePct"].default
        matching = [
            v for v in fits
            if abs(tables.thresholds(v, memory_mb, default_pct).min_free_mb - min_free_mb)
            <= max(1.0, 0.005 * min_free_mb)
        ]
        if matching:
            how = "its minFree rule gives the captured Kernel MinFree MBytes"
            if len(matching) > 1:
                how += f" (so does {', '.join(matching[:-1])}'s)"
            return matching[-1], how
    return fits[-1], "the capture does not tell; the newest release that fits its sizes"


@dataclass
class Built:
    document: tomlkit.TOMLDocument
    vms: int
    vms_on: int
    guessed: int
    events: int = 0
    user_worlds: int = 0  # groups of the host's own processes, left out


def _commented(value: Any, note: str | None) -> Any:
    item = tomlkit.item(value)
    if note:
        item.comment(note)
    return item


def build_document(cap: Capture) -> Built:
    """The profile for a capture, as a commented TOML document."""
    guessed = 0

    def put(table: Any, key: str, value: Any, guess: str | None = None, note: str | None = None):
        nonlocal guessed
        if guess:
            guessed += 1
            table.add(key, _commented(value, f"guessed: {guess}"))
        else:
            table.add(key, _commented(value, note))

    h = cap.host_at
    memory_mb = int(round(h.get("memory_mb", 0.0)))
    if memory_mb <= 0:
        raise CaptureError(f"{cap.path}: Memory\\Machine MBytes has no value at the chosen sample")
    sized = [g for g in cap.groups if g.at.get("memory_mb", 0.0) > 0 or g.max_memory_mb > 0]
    vms_at = [g for g in sized if not g.user_world]
    largest = max((g.at.get("memory_mb", g.max_memory_mb) for g in vms_at), default=0.0)
    version, version_how = guess_version(memory_mb, h.get("min_free_mb"), largest,
                                         cap.has_zip_counters, len(vms_at))

    doc = tomlkit.document()
    when = cap.at_time.strftime("%Y-%m-%d %H:%M:%S")
    doc.add(tomlkit.comment(f"Built by memtui import esxtop from {os.path.basename(cap.path)}:"))
    doc.add(tomlkit.comment(
        f"{cap.samples} samples about every {cap.interval_s:.0f}s, sizes and settings from the "
        f"sample at {when} UTC."
    ))
    doc.add(tomlkit.comment(
        'A figure the capture does not hold is marked "guessed": check it against the host.'
    ))
    doc.add(tomlkit.nl())
    doc.add("format", FORMAT)

    host = tomlkit.table()
    put(host, "name", cap.host_name or "esx", guess=None if cap.host_name else "no host name")
    put(host, "esx_version", version, guess=version_how)
    put(host, "memory_mb", memory_mb)
    if "managed_mb" in h:
        put(host, "system_mb", max(0, memory_mb - int(round(h["managed_mb"]))),
            note="Machine MBytes - Kernel Managed MBytes")
    elif "system_mb" in h:
        put(host, "system_mb", int(round(h["system_mb"])), note="Kernel MBytes")
    else:
        put(host, "system_mb", 800, guess="no Kernel Managed MBytes or Kernel MBytes column")
    if cap.cpu_count:
        put(host, "cpu_cores", cap.cpu_count, note="Physical Cpu columns (logical CPUs)")
    else:
        put(host, "cpu_cores", 8, guess="no Physical Cpu columns")
    put(host, "cpu_mhz", 2400, guess="esxtop's batch output has no CPU clock rate")
    put(host, "mmu", "hardware", guess="not in the capture")
    put(host, "datastore_free_mb", 1_000_000, guess="datastore space is not in a capture")
    put(host, "swap_mb_per_s", 100, guess="swap throughput is not in a capture")
    put(host, "seed", 1)
    put(host, "start_time", cap.at_time, note="the sample the sizes come from")
    doc.add("host", host)

    aot = tomlkit.aot()
    events: list[tuple[float, str, bool]] = []
    names: set[str] = set()
    on_count = 0
    largest_vcpus = spec.MAXIMUMS[version].vcpus_per_vm
    for g in vms_at:
        v = g.at
        vm_memory = int(round(v.get("memory_mb", g.max_memory_mb)))
        if vm_memory <= 0:
            continue
        name = g.name.strip() or f"group-{g.gid}"
        if name in names:
            name = f"{name} ({g.gid})"
        names.add(name)
        table = tomlkit.table()
        put(table, "name", name)
        put(table, "memory_mb", vm_memory)
        vcpus = guess_vcpus(version, vm_memory, v.get("overhead_mb") or g.overhead_seen_mb)
        if vcpus is None:
            put(table, "vcpus", 1, guess="no Overhead MBytes to tell the vCPU count by")
        else:
            put(table, "vcpus", min(vcpus, largest_vcpus),
                guess="the vCPU count whose overhead is nearest Overhead MBytes")
        reservation = 0
        if "reservation_mb" in v:
            reservation = min(vm_memory, max(0, int(round(v["reservation_mb"]))))
            put(table, "reservation_mb", reservation)
        else:
            put(table, "reservation_mb", 0, guess="no Alloc Min (reservation) column")
        if "limit_mb" in v:
            limit = v["limit_mb"]
            if limit == UNLIMITED or limit < 0:
                put(table, "limit_mb", "unlimited")
            else:
                put(table, "limit_mb", max(reservation, int(round(limit))))
        else:
            put(table, "limit_mb", "unlimited", guess="no Alloc Max (limit) column")
        shares = v.get("shares")
        if shares is not None and shares > 0:
            put(table, "shares", _shares_setting(shares, vm_memory))
        elif shares is not None and round(shares) in SHARES_LEVEL_CODES:
            put(table, "shares", SHARES_LEVEL_CODES[round(shares)],
                guess=f"Alloc Shares is {shares:g}, the code esxtop writes for the default "
                      "level, not a number of shares")
        elif shares is not None:
            put(table, "shares", "normal",
                guess=f"Alloc Shares is {shares:g}, a share-level code this importer does not "
                      "know")
        else:
            put(table, "shares", "normal", guess="no Alloc Shares column")
        if g.max_balloon_mb > 0:
            put(table, "tools", True, note="the balloon driver held memory during the capture")
        elif g.memctl_ran:
            put(table, "tools", True, note="Memctl? showed the balloon driver running")
        elif g.memctl_seen:
            put(table, "tools", False, guess="Memctl? stayed 0 while the VM ran: its balloon "
                                             "driver never ran (no VMware Tools, or not "
                                             "loaded yet)")
        else:
            put(table, "tools", True, guess="the balloon never inflated, so the capture cannot "
                                            "tell whether VMware Tools runs")
        ctl_pct = spec.ADVANCED_SETTINGS["Mem.CtlMaxPercent"].default
        cap_mb = v.get("balloon_max_mb")
        if cap_mb is not None and 0 < cap_mb < vm_memory * ctl_pct / 100.0 - 0.5:
            put(table, "max_balloon_mb", int(round(cap_mb)), note="Memctl Max MBytes")
        on = g.power_at
        on_count += on
        for at_s, becomes_on in g.power_changes:
            events.append((at_s, name, becomes_on))
        if on:
            put(table, "power", "on")
        else:
            put(table, "power", "off", note="no memory granted and no overhead at that sample")
        shared_pct = g.max_shared_pct
        zero_pct = g.max_zero_pct
        family_pct = None
        if shared_pct is not None:
            family_pct = max(0.0, shared_pct - (zero_pct or 0.0) - 2.0)
        if family_pct:
            put(table, "content_family", "imported",
                guess="the capture does not say which guests share pages; all that share "
                      "pages are one family")
        table.add("workload", _workload(g, vm_memory, zero_pct, family_pct, put))
        aot.append(table)
    doc.add("vm", aot)
    if events:
        timeline = tomlkit.aot()
        for at_s, name, becomes_on in sorted(events, key=lambda e: e[0]):
            event = tomlkit.table()
            event.add("at", _commented(format_duration(at_s), "seen in the capture"))
            event.add("vm", name)
            change = tomlkit.inline_table()
            change["power"] = "on" if becomes_on else "off"
            event.add("set", change)
            timeline.append(event)
        doc.add("event", timeline)
    return Built(doc, len(aot), on_count, guessed, len(events), len(sized) - len(vms_at))


def _workload(g: Group, memory_mb: int, zero_pct: float | None, family_pct: float | None, put):
    wl = tomlkit.table()
    ran = g.max_touched_mb > 0 or len(g.series_t) > 0
    if ran:
        touched_pct = min(100.0, 100.0 * g.max_touched_mb / memory_mb)
        put(wl, "touched_pct", round(touched_pct, 1),
            note="most Touched MBytes + Memctl MBytes (or granted + swapped + compressed + "
                 "ballooned) over the capture")
    else:
        put(wl, "touched_pct", 100.0, guess="the VM did not run during the capture")
    # Schedule times count from the VM's power-on: the --at sample, or the first power-on after.
    first_on = 0.0 if g.power_at else next((t for t, on in g.power_changes if on), 0.0)
    times = array("d", (t - first_on for t in g.series_t))
    steps = compress_schedule(times, g.series_active_mb, memory_mb)
    if steps:
        put(wl, "active_mb", steps[0][1], note="% Active Estimate x Memory Size MBytes")
    else:
        why = ("no % Active Estimate column" if "active_pct" not in g.columns
               and "active_slow_pct" not in g.columns else "the VM did not run during the capture")
        put(wl, "active_mb", int(round(memory_mb * spec.IDLE_ACTIVE_PCT / 100.0)),
            guess=f"{why}: an idle guest")
    z = min(100.0, zero_pct) if zero_pct is not None else None
    if z is None:
        put(wl, "zero_pct", 10.0, guess="no Zero MBytes column")
    else:
        put(wl, "zero_pct", round(z, 1), note="most Zero MBytes / touched over the capture")
    if family_pct is None:
        put(wl, "family_pct", 20.0, guess="no Shared MBytes column")
        put(wl, "dup_pct", 2.0, guess="no Shared MBytes column")
    else:
        room = max(0.0, 100.0 - (z or 0.0))
        dup = min(2.0, room)
        put(wl, "family_pct", round(min(family_pct, room - dup), 1),
            guess="Shared MBytes beyond the zero pages, less dup_pct")
        put(wl, "dup_pct", round(dup, 1), guess="esxtop does not split shared pages by origin")
    put(wl, "boot_s", 0, note="the guest was already running in the capture")
    if len(steps) > 1:
        schedule = tomlkit.array()
        schedule.multiline(True)
        for at_s, mb in steps:
            schedule.append([format_duration(at_s), mb])
        put(wl, "schedule", schedule, note="the working set over the capture, in steps")
    return wl


# --------------------------------------------------------------------------------------------
# The command


def import_main(capture: str, out: str, at: str | None = None, force: bool = False,
                stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> int:
    """`memtui import esxtop`: 0 and a one-line summary, or 2 and why (nothing written)."""
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr

    def fail(message: str) -> int:
        print(f"memtui: {message}", file=stderr)
        return 2

    try:
        at_spec = parse_at(at) if at is not None else None
    except ValueError as exc:
        return fail(f"--at: {exc}")
    if os.path.exists(out) and not force:
        return fail(f"{out} exists; use --force to replace it")
    if os.path.isdir(out):
        return fail(f"{out} is a directory; --out names the profile file to write")
    try:
        cap = read_capture(capture, at_spec, progress=stderr)
        built = build_document(cap)
    except CaptureError as exc:
        return fail(str(exc))
    text = built.document.as_string()
    try:
        profile = parse_profile(text, out)
    except ProfileError as exc:
        for problem in exc.problems:
            print(f"memtui: {capture}: the profile built from it is not valid: {problem}",
                  file=stderr)
        return 2
    try:
        save_profile(profile, out)
    except ProfileSaveError as exc:
        return fail(str(exc))
    except ProfileError as exc:
        for problem in exc.problems:
            print(f"memtui: {problem}", file=stderr)
        return 2
    if cap.skipped_rows:
        print(f"memtui: {capture}: skipped {cap.skipped_rows} incomplete rows", file=stderr)
    print(
        f"wrote {out}: host {cap.host_name}, {built.vms} VMs ({built.vms_on} on), "
        f"{built.events} power events, {cap.samples} samples; "
        + (f"{built.user_worlds} groups of the host's own processes (no overhead memory) left "
           "out; " if built.user_worlds else "")
        + f"{built.guessed} guessed figures are marked in the file",
        file=stdout,
    )
    return 0
