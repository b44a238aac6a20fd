"""`memtui run --format esxtop`: esxtop's batch file, with the jsonl run's figures."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from memtui.cli import main
from memtui.esxtop import (
    HOST_COUNTERS,
    VM_COUNTERS,
    host_counters,
    split_group,
    split_path,
    vm_counters,
)
from memtui.esxtop.writer import EsxtopWriter, group_ids
from memtui.metrics import BATCH_HOST_FIELDS, BATCH_VM_FIELDS
from memtui.model import Host
from memtui.profile import parse_profile

PROFILE = """
format = 1
[host]
name = "esx01"
esx_version = "{version}"
memory_mb = 8192
system_mb = 600
{start}

[[vm]]
name = "web01"
memory_mb = 4096
vcpus = 2
limit_mb = 3000
content_family = "linux"
[vm.workload]
active_mb = 2500
boot_s = 20

[[vm]]
name = "db 01 (prod): main"
memory_mb = 4096
reservation_mb = 1024
shares = "high"
content_family = "linux"
[vm.workload]
active_mb = 3000
boot_s = 20

[[vm]]
name = "later"
memory_mb = 2048
power = "off"
[vm.workload]
active_mb = 1500
boot_s = 10

[[event]]
at = "3m"
vm = "later"
set = {{ power = "on" }}
"""


def write_profile(tmp_path, version="5.x", start=""):
    path = tmp_path / f"p-{version}.toml"
    path.write_text(PROFILE.format(version=version, start=start))
    return str(path)


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def parse_capture(text):
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def test_header_and_quoting_as_esxtop_writes_them(tmp_path, capsys):
    code, out, err = run(["run", write_profile(tmp_path), "--for", "1m", "--format", "esxtop"],
                         capsys)
    assert code == 0 and err == ""
    lines = out.split("\n")
    assert lines[-1] == "" and "\r" not in out  # LF line endings, a final newline
    assert lines[0].startswith('"(PDH-CSV 4.0) (UTC)(0)","\\\\esx01\\Memory\\Memory Overcommit (1 Minute Avg)"')
    for line in lines[:-1]:  # every cell double-quoted
        cells = line.split('","')
        assert cells[0].startswith('"') and cells[-1].endswith('"')
    header, rows = parse_capture(out)
    assert len(rows) == 6 and all(len(r) == len(header) for r in rows)
    assert [r[0] for r in rows] == [f"01/01/2000 00:00:{s:02d}" for s in (10, 20, 30, 40, 50)] + [
        "01/01/2000 00:01:00"]
    groups = {split_group(split_path(c)[1]) for c in header[1:] if "Group Memory" in c}
    names = sorted(name for _, name in groups)
    assert names == ["db 01 (prod): main", "later", "web01"]
    per_vm = [c for c in header if "db 01 (prod): main)" in c]
    assert [split_path(c)[2] for c in per_vm] == [name for name, _ in vm_counters("5.x")]
    assert header[1:1 + len(host_counters("5.x"))] == [
        f"\\\\esx01\\Memory\\{name}" for name, _ in host_counters("5.x")]


def test_figures_are_the_jsonl_runs(tmp_path, capsys):
    path = write_profile(tmp_path, "4.1")
    code, jsonl, _ = run(["run", path, "--for", "6m", "--every", "30s", "--format", "jsonl"], capsys)
    assert code == 0
    code, esx, _ = run(["run", path, "--for", "6m", "--every", "30s", "--format", "esxtop"], capsys)
    assert code == 0
    samples = [r for r in map(json.loads, jsonl.splitlines()) if r["type"] == "sample"]
    header, rows = parse_capture(esx)
    assert len(rows) == len(samples) == 12
    host_fields = dict(HOST_COUNTERS)
    vm_fields = dict(VM_COUNTERS)
    compared = 0
    for sample, row in zip(samples, rows, strict=True):
        vms = {vm["name"]: vm for vm in sample["vms"]}
        for cell, value in zip(header[1:], row[1:], strict=True):
            _, obj, counter = split_path(cell)
            if obj == "Memory":
                field, record = host_fields[counter], sample["host"]
            else:
                field, record = vm_fields[counter], vms[split_group(obj)[1]]
            if field not in record:
                continue
            expected = record[field]
            if field == "state":
                expected = ("high", "soft", "hard", "low").index(expected)
            elif field == "limit_mb" and expected is None:
                expected = -1
            assert float(value) == expected, (sample["t"], cell)
            compared += 1
    contract = [f for f in host_fields.values() if f in BATCH_HOST_FIELDS]
    contract_vm = [f for f in vm_fields.values() if f in BATCH_VM_FIELDS]
    assert compared == 12 * (len(contract) + 3 * len(contract_vm))
    # the run did something worth comparing: the late VM came on, a limit held
    assert any(float(v) > 0 for c, v in zip(header, rows[-1], strict=True)
               if "(" in c and "later)" in c and c.endswith("Memory Granted Size MBytes"))


def test_figures_beyond_the_contract_are_the_snapshots(tmp_path):
    profile = parse_profile(PROFILE.format(version="6.x", start=""))
    host = Host.from_profile(profile)
    out = io.StringIO()
    writer = EsxtopWriter(out, "esx01", "6.x", [vm.name for vm in host.vms])
    host.run(240)
    snap = host.snapshot()
    row = writer.row(snap)
    header = writer.header()
    cells = dict(zip(header[1:], row[1:], strict=True))
    assert float(cells["\\\\esx01\\Memory\\NonKernel MBytes"]) == snap.host.other_mb
    assert float(cells["\\\\esx01\\Memory\\Memctl Max MBytes"]) == snap.host.balloon_max_mb
    web = snap.vm("web01")
    gid = group_ids([vm.name for vm in host.vms])["web01"]
    prefix = f"\\\\esx01\\Group Memory({gid}:web01)\\"
    assert float(cells[prefix + "% Active Estimate"]) == web.active_pct
    assert float(cells[prefix + "% Active Slow Estimate"]) == web.active_slow_pct
    assert float(cells[prefix + "Alloc Max"]) == 3000
    assert web.balloon_active and cells[prefix + "Memctl?"] == "1"  # booted, with Tools
    db = snap.vm("db 01 (prod): main")
    assert db.limit_mb is None
    db_gid = group_ids([vm.name for vm in host.vms])[db.name]
    db_prefix = f"\\\\esx01\\Group Memory({db_gid}:{db.name})\\"
    assert cells[db_prefix + "Alloc Max"] == "-1"
    assert float(cells[db_prefix + "Alloc Min"]) == 1024
    assert float(cells[db_prefix + "Alloc Shares"]) == db.shares == 20 * 4096
    state = cells["\\\\esx01\\Memory\\Kernel State"]
    assert int(state) == ("high", "clear", "soft", "hard", "low").index(snap.host.state)


def test_start_time_from_the_profile_in_utc(tmp_path, capsys):
    path = write_profile(tmp_path, start="start_time = 2026-03-01T08:00:00+02:00")
    code, out, _ = run(["run", path, "--for", "20s", "--format", "esxtop"], capsys)
    assert code == 0
    _, rows = parse_capture(out)
    assert [r[0] for r in rows] == ["03/01/2026 06:00:10", "03/01/2026 06:00:20"]
    path = write_profile(tmp_path, start='start_time = "2026-12-31T23:59:55"')
    code, out, _ = run(["run", path, "--for", "10s", "--every", "5s", "--format", "esxtop"],
                       capsys)
    assert [r[0] for r in parse_capture(out)[1]] == ["01/01/2027 00:00:00", "01/01/2027 00:00:05"]


def test_bad_start_time_is_refused(tmp_path, capsys):
    path = write_profile(tmp_path, start='start_time = "yesterday"')
    code, out, err = run(["run", path, "--for", "20s", "--format", "esxtop"], capsys)
    assert code == 2 and out == ""
    assert "host.start_time" in err and "2026-03-01T08:00:00Z" in err


def test_compression_counters_only_from_4_1(tmp_path, capsys):
    for version, has_zip in (("4.0", False), ("4.1", True), ("6.x", True)):
        code, out, _ = run(["run", write_profile(tmp_path, version), "--for", "10s", "--format",
                            "esxtop"], capsys)
        header, _ = parse_capture(out)
        assert any(c.endswith("\\Compressed Memory MBytes") for c in header) is has_zip
        assert any(c.endswith("\\Memory\\Total Compressed MBytes") for c in header) is has_zip


def test_group_ids_are_stable_per_vm():
    a = group_ids(["web01", "db01", "app01"])
    b = group_ids(["app01", "new-vm", "web01"])
    assert a["web01"] == b["web01"] and a["app01"] == b["app01"]
    assert len(set(a.values())) == 3 and all(10_000 <= g < 100_000 for g in a.values())
    many = group_ids([f"vm{i}" for i in range(3000)])
    assert len(set(many.values())) == 3000


def test_same_profile_same_bytes_and_atomic_out(tmp_path, capsys):
    path = write_profile(tmp_path)
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    assert run(["run", path, "--for", "2m", "--format", "esxtop", "--out", str(first)], capsys)[0] == 0
    assert run(["run", path, "--for", "2m", "--format", "esxtop", "--out", str(second)], capsys)[0] == 0
    assert first.read_bytes() == second.read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_the_timestamp_follows_the_sample_time():
    out = io.StringIO()
    writer = EsxtopWriter(out, "h", "5.x", [], datetime(2026, 7, 4, 23, 59, 59, tzinfo=UTC))
    assert writer.timestamp(1) == "07/05/2026 00:00:00"
    assert writer.timestamp(86400) == "07/05/2026 23:59:59"


@pytest.mark.parametrize("module", ["memtui.esxtop.writer", "memtui.esxtop.importer"])
def test_esxtop_modules_never_import_the_ui_toolkit(module):
    code = (f"import sys, {module}\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
            "print(bad)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_backslash_cannot_split_the_host_name():
    writer = EsxtopWriter(io.StringIO(), "lab\\esx01", "5.x", ["a\\b (c)"])
    for cell in writer.header()[1:]:
        host, obj, _ = split_path(cell)
        assert host == "lab/esx01"
        if obj != "Memory":
            assert split_group(obj)[1] == "a\\b (c)"


def test_start_time_survives_a_save_as_written(tmp_path):
    from memtui.profile import dumps_profile, load_profile, save_profile

    for written in ('start_time = "2026-03-01T08:00:00Z"  # mine', "start_time = 2026-03-01T08:00:00Z"):
        path = tmp_path / "p.toml"
        text = PROFILE.format(version="5.x", start=written)
        path.write_text(text)
        profile = load_profile(path)
        assert dumps_profile(profile) == text
        profile.host.start_time = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
        save_profile(profile, path)
        assert load_profile(path).host.start_time == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
        assert "# mine" in path.read_text() or "#" not in written
