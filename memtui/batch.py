"""`memtui run`: the simulation without a terminal UI, like `esxtop -b`.

Writes one sample every INTERVAL of simulated time, as JSON lines or CSV, with the events of the
run in time order (jsonl), or as an esxtop batch capture (esxtop). Imports no UI toolkit.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from typing import IO

from memtui.metrics import (
    BATCH_HOST_ADDED,
    BATCH_HOST_FIELDS,
    BATCH_VM_ADDED,
    BATCH_VM_FIELDS,
    CONTRACT_HOST_FIELDS,
    CONTRACT_VM_FIELDS,
    Snapshot,
)
from memtui.model import Host

PROGRESS_MIN_WALL_S = 1.0  # show a progress bar only once a run has taken this long


def csv_header() -> list[str]:
    """`t`, the first contract's VM and host fields, then the fields added since (VM, host), so
    that every column of the first contract keeps its place."""
    return ["t", *CONTRACT_VM_FIELDS, *(f"host_{k}" for k in CONTRACT_HOST_FIELDS),
            *BATCH_VM_ADDED, *(f"host_{k}" for k in BATCH_HOST_ADDED)]


def _csv_value(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _num(v):
    return int(v) if isinstance(v, float) and v.is_integer() else v


def sample_record(snap: Snapshot) -> dict:
    host = {k: _num(getattr(snap.host, k)) for k in BATCH_HOST_FIELDS}
    vms = [{k: _num(getattr(vm, k)) for k in BATCH_VM_FIELDS} for vm in snap.vms]
    return {"type": "sample", "t": _num(snap.t), "host": host, "vms": vms}


def csv_rows(snap: Snapshot) -> list[list]:
    host = [_csv_value(getattr(snap.host, k)) for k in CONTRACT_HOST_FIELDS]
    host_added = [_csv_value(getattr(snap.host, k)) for k in BATCH_HOST_ADDED]
    return [[_csv_value(snap.t), *(_csv_value(getattr(vm, k)) for k in CONTRACT_VM_FIELDS), *host,
             *(_csv_value(getattr(vm, k)) for k in BATCH_VM_ADDED), *host_added]
            for vm in snap.vms]


class _Progress:
    """A one-line progress bar on a terminal's stderr, for long runs."""

    def __init__(self, total_s: float, stream: IO[str]):
        self.total_s = total_s
        self.stream = stream
        self.enabled = stream.isatty()
        self.start = time.perf_counter()
        self.shown = False
        self.last = 0.0

    def update(self, t: float) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self.start < PROGRESS_MIN_WALL_S or now - self.last < 0.2:
            return
        self.last = now
        frac = min(1.0, t / self.total_s) if self.total_s else 1.0
        width = 30
        filled = int(frac * width)
        speed = t / (now - self.start)
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {frac:4.0%}  {speed:,.0f}x real time ")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * 60 + "\r")
            self.stream.flush()


def run_batch(host: Host, duration_s: int, every_s: int, fmt: str, out: IO[str],
              progress: IO[str] | None = None) -> None:
    """Run `host` for `duration_s` and write samples every `every_s` to `out`."""
    bar = _Progress(duration_s, progress) if progress is not None else None
    log_pos = 0
    writer = None
    esxtop = None
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(csv_header())
    elif fmt == "esxtop":
        from memtui.esxtop.writer import EsxtopWriter

        esxtop = EsxtopWriter(out, host.config.name, host.config.esx_version,
                              [vm.name for vm in host.vms], host.config.start_time)
        esxtop.write_header()
    t_end = host.t + duration_s
    next_sample = host.t + every_s
    while next_sample <= t_end + 1e-9:
        host.run(next_sample - host.t)
        snap = host.snapshot()
        if fmt == "jsonl":
            new = host.log[log_pos:]
            log_pos = len(host.log)
            for ev in new:
                record = ev.as_dict()
                record["t"] = _num(record["t"])
                out.write(json.dumps(record) + "\n")
            out.write(json.dumps(sample_record(snap)) + "\n")
        elif esxtop is not None:
            esxtop.write_sample(snap)
        else:
            writer.writerows(csv_rows(snap))
        if bar:
            bar.update(host.t - (t_end - duration_s))
        next_sample += every_s
    if bar:
        bar.close()
    out.flush()


def open_output(path: str | None) -> tuple[IO[str], str | None]:
    """stdout, or a temporary file beside `path` to be renamed over it when the run succeeds."""
    if path is None:
        return sys.stdout, None
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    return open(tmp, "w", encoding="utf-8", newline=""), tmp
