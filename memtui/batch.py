"""`memtui run`: the simulation without a terminal UI, like `esxtop -b`.

Writes one sample every INTERVAL of simulated time, as JSON lines or CSV, with the events of the
run in time order (jsonl), or as an esxtop batch capture (esxtop). Imports no UI toolkit.
"""

from __future__ import annotations

import io
import os
import sys
import time
from dataclasses import fields
from typing import IO

import numpy as np

from memtui.metrics import (
    BATCH_HOST_ADDED,
    BATCH_HOST_FIELDS,
    BATCH_VM_ADDED,
    BATCH_VM_FIELDS,
    CONTRACT_HOST_FIELDS,
    CONTRACT_VM_FIELDS,
    HostMetrics,
    SampleColumns,
    Snapshot,
    VMMetrics,
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


class _Texts(dict):
    """Value -> its text in one output format, formatted the reference way the first time a value
    is seen and remembered after (the figures of a run repeat a lot from sample to sample)."""

    __slots__ = ("format_value",)
    LIMIT = 1 << 18  # values remembered at most; then it starts afresh

    def __init__(self, format_value):
        super().__init__()
        self.format_value = format_value

    def __missing__(self, value):
        text = self.format_value(value)
        if len(self) >= self.LIMIT:
            self.clear()
        self[value] = text
        return text


class _Column:
    """The texts of one VM column from sample to sample, as an object array: only the values that
    changed since the previous sample are looked up again."""

    __slots__ = ("values", "texts")

    def __init__(self):
        self.values = None
        self.texts = np.empty(0, dtype=object)

    def update(self, values, table: _Texts) -> np.ndarray:
        prev = self.values
        self.values = values
        if isinstance(values, list):
            if values != prev:
                self.texts = np.array(list(map(table.__getitem__, values)) or [], dtype=object)
            return self.texts
        if prev is not None and not isinstance(prev, list) and prev.shape == values.shape:
            changed = (values != prev).nonzero()[0]
            if changed.size * 2 <= values.size:
                if changed.size:
                    self.texts[changed] = list(map(table.__getitem__, values[changed].tolist()))
                return self.texts
        self.texts = np.fromiter(map(table.__getitem__, values.tolist()), dtype=object, count=values.size)
        return self.texts


_VM_KIND = {f.name: ("bool" if f.type == "bool" else "str" if f.type == "str" else "num")
            for f in fields(VMMetrics)}


class _Lines:
    """The text of a sample built as one join over a list of pieces: per VM, a fixed separator
    before each field's text. The list is kept from sample to sample; each sample puts every
    column's texts into their places with one slice assignment each."""

    def __init__(self, vm_fields, tables: dict[str, _Texts], separators: list[str], end: str):
        self.vm_fields = list(vm_fields)
        self.tables = [tables[_VM_KIND[k]] for k in self.vm_fields]
        self.columns = [_Column() for _ in self.vm_fields]
        self.separators = separators  # the piece before each field, per VM
        self.end = end  # the last piece
        self.stride = 2 * len(self.vm_fields)
        self.pieces: list[str] = []
        self.n_vms = -1

    def texts(self, cols: SampleColumns) -> list[np.ndarray]:
        vms = cols.vms
        return [c.update(vms[k], t) for k, c, t in zip(self.vm_fields, self.columns, self.tables, strict=True)]

    def join(self, texts: list[np.ndarray], n_vms: int, first: str | None = None,
             end: str | None = None) -> str:
        """The sample's text; `first`: the separator before the very first field, when it is not
        the usual one; `end`: the last piece, when it is not the usual one."""
        self.size(n_vms)
        pieces = self.pieces
        if n_vms:
            pieces[0] = self.separators[0] if first is None else first
        pieces[-1] = self.end if end is None else end
        for j, t in enumerate(texts):
            pieces[2 * j + 1::self.stride] = t
        return "".join(pieces)

    def size(self, n_vms: int) -> None:
        """Lay the pieces out for `n_vms` VMs."""
        if n_vms != self.n_vms:
            self.n_vms = n_vms
            stride = self.stride
            self.pieces = pieces = [""] * (n_vms * stride) + [self.end]
            for j, sep in enumerate(self.separators):
                pieces[2 * j:n_vms * stride:stride] = [sep] * n_vms

    def place(self, j: int, text: str) -> None:
        """Put `text` as the separator before field j of every VM (a per-sample constant)."""
        self.pieces[2 * j:self.n_vms * self.stride:self.stride] = [text] * self.n_vms


def _plain_number(value) -> str | None:
    """The text every format writes for a float of ordinary size: the integer when it is whole
    (as `_num` and `_csv_value` make it), else its repr; None for any other value."""
    if value.__class__ is float and -1e15 < value < 1e15:
        return str(int(value)) if value.is_integer() else float.__repr__(value)
    return None


def _json_number(value) -> str:
    text = _plain_number(value)
    if text is None:
        import json

        return json.dumps(_num(value))
    return text


def _csv_number(value) -> str:
    text = _plain_number(value)
    return _csv_text(_csv_value(value)) if text is None else text


def _csv_text(value) -> str:
    """The text the csv module writes for one value of a row (quoted only when it must be)."""
    import csv

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([value, ""])
    return buf.getvalue()[:-2]


def _csv_line(values) -> str:
    import csv

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue()


class _ReferenceWriter:
    """The plain way: a Snapshot of objects per sample, a dict per VM, the json and csv modules."""

    def __init__(self, host: Host, fmt: str, out: IO[str]):
        self.fmt = fmt
        self.out = out
        self.log_pos = 0
        if fmt == "csv":
            import csv

            self.csv = csv.writer(out, lineterminator="\n")
        elif fmt == "esxtop":
            from memtui.esxtop.writer import EsxtopWriter

            self.esxtop = EsxtopWriter(out, host.config.name, host.config.esx_version,
                                       [vm.name for vm in host.vms], host.config.start_time)

    def write_header(self) -> None:
        if self.fmt == "csv":
            self.csv.writerow(csv_header())
        elif self.fmt == "esxtop":
            self.esxtop.write_header()

    def write_events(self, host: Host) -> None:
        import json

        new = host.log[self.log_pos:]
        self.log_pos = len(host.log)
        for ev in new:
            record = ev.as_dict()
            record["t"] = _num(record["t"])
            self.out.write(json.dumps(record) + "\n")

    def write_sample(self, host: Host) -> None:
        snap = host.snapshot()
        if self.fmt == "jsonl":
            import json

            self.write_events(host)
            self.out.write(json.dumps(sample_record(snap)) + "\n")
        elif self.fmt == "esxtop":
            self.esxtop.write_sample(snap)
        else:
            self.csv.writerows(csv_rows(snap))


class _FastWriter(_ReferenceWriter):
    """The direct way: each line built from the sample's columns (`Host.sample_columns()`)."""

    def __init__(self, host: Host, fmt: str, out: IO[str]):
        super().__init__(host, fmt, out)
        if fmt == "jsonl":
            import json

            self.dumps = json.dumps
            keys = [json.dumps(k) + ": " for k in BATCH_VM_FIELDS]
            self.lines = _Lines(BATCH_VM_FIELDS, {
                "num": _Texts(_json_number), "bool": _Texts(json.dumps), "str": _Texts(json.dumps)},
                ["}, {" + keys[0]] + [", " + k for k in keys[1:]], "}")
            self.first = "{" + keys[0]
        elif fmt == "csv":
            fields_ = [*CONTRACT_VM_FIELDS, *BATCH_VM_ADDED]
            self.n_contract = len(CONTRACT_VM_FIELDS)
            # Per row: t, the contract's VM fields, its host fields, the added VM fields, the added
            # host fields. The t and host parts are placed as separators every sample.
            self.lines = _Lines(fields_, {
                "num": _Texts(_csv_number), "bool": _Texts(_csv_number), "str": _Texts(_csv_text)},
                [""] + [","] * (len(fields_) - 1), "")
        else:
            from memtui.esxtop import UNLIMITED
            from memtui.esxtop.writer import _cell

            def cell(value):
                return _cell(UNLIMITED if value is None else value).replace('"', '""')

            vm_fields = [f for _, f in self.esxtop.vm_counters]
            self.lines = _Lines(vm_fields, {"num": _Texts(cell), "bool": _Texts(cell), "str": _Texts(cell)},
                                ['","'] * len(vm_fields), '"\n')
            self.order: np.ndarray | None = None
            self.order_of: list[str] | None = None

    def write_sample(self, host: Host) -> None:
        cols = host.sample_columns()
        if self.fmt == "jsonl":
            self.write_events(host)
            self.out.write(self.jsonl_line(cols))
        elif self.fmt == "csv":
            self.out.write(self.csv_lines(cols))
        else:
            self.out.write(self.esxtop_line(cols))

    def jsonl_line(self, cols: SampleColumns) -> str:
        host = {k: _num(cols.host[k]) for k in BATCH_HOST_FIELDS}
        head = self.dumps({"type": "sample", "t": _num(cols.t), "host": host, "vms": []})[:-2]
        if not cols.n_vms:
            return head + "]}\n"
        return head + self.lines.join(self.lines.texts(cols), cols.n_vms, self.first) + "]}\n"

    def csv_lines(self, cols: SampleColumns) -> str:
        n = cols.n_vms
        if not n:
            return ""
        h = cols.host
        lines = self.lines
        texts = lines.texts(cols)
        t = _csv_line([_csv_value(cols.t)])[:-1] + ","
        contract = _csv_line([_csv_value(h[k]) for k in CONTRACT_HOST_FIELDS])[:-1]
        end = "," + _csv_line([_csv_value(h[k]) for k in BATCH_HOST_ADDED])
        lines.size(n)
        lines.place(0, end + t)  # the end of the row before, and this row's t
        lines.place(self.n_contract, "," + contract + ",")
        return lines.join(texts, n, t, end)

    def esxtop_line(self, cols: SampleColumns) -> str:
        names = cols.vms["name"]
        esxtop = self.esxtop
        if names != self.order_of:
            if len(set(names)) != len(names) or not set(esxtop.vm_names) <= set(names):
                return esxtop_reference_line(esxtop, cols.snapshot())
            where = {name: i for i, name in enumerate(names)}
            order = [where[name] for name in esxtop.vm_names]
            self.order = None if order == list(range(len(names))) else np.array(order, dtype=np.intp)
            self.order_of = list(names)
        head = [esxtop.timestamp(cols.t), *esxtop.host_cells(HostMetrics(**cols.host))]
        head = '"' + '","'.join(c.replace('"', '""') for c in head)
        texts = self.lines.texts(cols)
        if self.order is not None:
            texts = [t[self.order] for t in texts]
        n = len(esxtop.vm_names)
        if not n:
            return head + '"\n'
        return head + self.lines.join(texts, n)


def esxtop_reference_line(esxtop, snap: Snapshot) -> str:
    import csv

    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n").writerow(esxtop.row(snap))
    return buf.getvalue()


def run_step(host: Host, seconds: float, reference: bool = False) -> None:
    """Advance `host` by `seconds`; `reference`: by the model's plain path."""
    host.run(seconds, reference=reference)


def run_batch(host: Host, duration_s: int, every_s: int, fmt: str, out: IO[str],
              progress: IO[str] | None = None, reference: bool = False) -> None:
    """Run `host` for `duration_s` and write samples every `every_s` to `out`.

    `reference`: the plain path (the model's plain stepping where it has one, Snapshot objects,
    the json and csv modules), against which the direct writer is checked; the output is the
    same byte for byte.
    """
    bar = _Progress(duration_s, progress) if progress is not None else None
    writer = (_ReferenceWriter if reference else _FastWriter)(host, fmt, out)
    writer.write_header()
    t_end = host.t + duration_s
    next_sample = host.t + every_s
    while next_sample <= t_end + 1e-9:
        run_step(host, next_sample - host.t, reference)
        writer.write_sample(host)
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
