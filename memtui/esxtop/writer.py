"""`memtui run --format esxtop`: a run written as esxtop's batch mode writes it.

One header row, then one row per sample. The figures are the snapshot's, exactly as the jsonl
output carries them; only the names and a few encodings differ (an unlimited limit is -1, the
memory state is a number, a flag is 1 or 0). Imports no UI toolkit.
"""

from __future__ import annotations

import csv
import zlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import IO

from memtui.esxtop import (
    DEFAULT_EPOCH,
    HOST_OBJECT,
    PDH_HEADER,
    TIME_FORMAT,
    UNLIMITED,
    column,
    host_counters,
    state_number,
    vm_counters,
    vm_object,
)
from memtui.metrics import HostMetrics, Snapshot, VMMetrics

GID_FIRST = 10_000  # esxtop's VM group ids are numbers of this order
GID_SPAN = 90_000


def group_ids(names: Iterable[str]) -> dict[str, int]:
    """A group id for each VM, from its name alone, so that the same VM keeps its GID from run
    to run whatever VMs are beside it (a collision moves the later VM to the next free id)."""
    used: set[int] = set()
    out: dict[str, int] = {}
    for name in names:
        gid = GID_FIRST + zlib.crc32(name.encode("utf-8")) % GID_SPAN
        while gid in used:
            gid = GID_FIRST + (gid - GID_FIRST + 1) % GID_SPAN
        used.add(gid)
        out[name] = gid
    return out


def start_of(start_time: datetime | None) -> datetime:
    """The wall-clock time of t = 0, in UTC: the profile's host.start_time (UTC when it has no
    offset) or the fixed epoch."""
    if start_time is None:
        return DEFAULT_EPOCH
    if start_time.tzinfo is None:
        return start_time.replace(tzinfo=UTC)
    return start_time.astimezone(UTC)


def _cell(value) -> str:
    if isinstance(value, bool):  # esxtop's flags (Memctl?) are 1 or 0
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class EsxtopWriter:
    """Writes samples of one host as a PDH-CSV capture to `out`."""

    def __init__(self, out: IO[str], host_name: str, version: str, vm_names: list[str],
                 start_time: datetime | None = None):
        self.writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
        # A counter path ends its host name at the first backslash: a host name cannot hold one.
        self.host_name = host_name.replace("\\", "/")
        self.version = version
        self.vm_names = list(vm_names)
        self.gids = group_ids(self.vm_names)
        self.start = start_of(start_time)
        self.host_counters = host_counters(version)
        self.vm_counters = vm_counters(version)

    def header(self) -> list[str]:
        cells = [PDH_HEADER]
        cells += [column(self.host_name, HOST_OBJECT, counter) for counter, _ in self.host_counters]
        for name in self.vm_names:
            obj = vm_object(self.gids[name], name)
            cells += [column(self.host_name, obj, counter) for counter, _ in self.vm_counters]
        return cells

    def write_header(self) -> None:
        self.writer.writerow(self.header())

    def timestamp(self, t: float) -> str:
        return (self.start + timedelta(seconds=round(t))).strftime(TIME_FORMAT)

    def host_cells(self, host: HostMetrics) -> list[str]:
        cells = []
        for _, field in self.host_counters:
            value = getattr(host, field)
            if field == "state":
                value = state_number(value, self.version)
            cells.append(_cell(value))
        return cells

    def vm_cells(self, vm: VMMetrics) -> list[str]:
        cells = []
        for _, field in self.vm_counters:
            value = getattr(vm, field)
            if field == "limit_mb" and value is None:
                value = UNLIMITED
            cells.append(_cell(value))
        return cells

    def row(self, snap: Snapshot) -> list[str]:
        by_name = {vm.name: vm for vm in snap.vms}
        cells = [self.timestamp(snap.t), *self.host_cells(snap.host)]
        for name in self.vm_names:
            cells += self.vm_cells(by_name[name])
        return cells

    def write_sample(self, snap: Snapshot) -> None:
        self.writer.writerow(self.row(snap))
