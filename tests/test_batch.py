"""`memtui run`, `memtui check` and the headless import contract, end to end."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from memtui.batch import csv_header
from memtui.cli import main
from memtui.metrics import (
    BATCH_HOST_ADDED,
    BATCH_HOST_FIELDS,
    BATCH_VM_ADDED,
    BATCH_VM_FIELDS,
    CONTRACT_HOST_FIELDS,
    CONTRACT_VM_FIELDS,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = str(ROOT / "profiles" / "default.toml")

SMALL = """
format = 1
[host]
name = "tiny"
memory_mb = 6144
system_mb = 500

[[vm]]
name = "a"
memory_mb = 4096
tools = false
[vm.workload]
active_mb = 3000
boot_s = 5

[[vm]]
name = "b"
memory_mb = 4096
[vm.workload]
active_mb = 500
boot_s = 5

[[event]]
at = "2m"
vm = "b"
set = { power = "off" }
"""


def run_cli(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return str(path)


def test_jsonl_samples_and_events_in_time_order(small, capsys):
    code, out, err = run_cli(["run", small, "--for", "5m", "--every", "30s", "--format", "jsonl"], capsys)
    assert code == 0 and err == ""
    records = [json.loads(line) for line in out.splitlines()]
    samples = [r for r in records if r["type"] == "sample"]
    assert [s["t"] for s in samples] == list(range(30, 301, 30))
    times = [r["t"] for r in records]
    assert times == sorted(times)
    kinds = {r["kind"] for r in records if r["type"] == "event"}
    assert {"power", "state"} <= kinds
    s = samples[-1]
    # The contract only grows: the first contract's fields first, in their order, then the
    # fields added since.
    assert list(s["host"]) == BATCH_HOST_FIELDS
    assert list(s["host"])[:len(CONTRACT_HOST_FIELDS)] == CONTRACT_HOST_FIELDS
    assert list(s["vms"][0]) == BATCH_VM_FIELDS
    assert list(s["vms"][0])[:len(CONTRACT_VM_FIELDS)] == CONTRACT_VM_FIELDS
    assert s["host"]["state"] in ("high", "soft", "hard", "low")
    b = next(v for v in s["vms"] if v["name"] == "b")
    assert b["power"] == "off" and b["limit_mb"] is None and b["consumed_mb"] == 0
    off = [r for r in records if r["type"] == "event" and r["kind"] == "power" and "off" in r["message"]]
    assert off and off[0]["t"] == 120 and off[0]["vm"] == "b"


def test_csv_has_a_header_and_a_row_per_vm_per_sample(small, capsys):
    code, out, _ = run_cli(["run", small, "--for", "1m", "--every", "20s"], capsys)
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == csv_header()
    # Every column of the first contract keeps its place; the added ones come after it.
    first = ["t", *CONTRACT_VM_FIELDS, *(f"host_{k}" for k in CONTRACT_HOST_FIELDS)]
    assert rows[0][:len(first)] == first and rows[0][len(first) - 1] == "host_swap_out_mb_s"
    assert rows[0][len(first):] == [*BATCH_VM_ADDED, *(f"host_{k}" for k in BATCH_HOST_ADDED)]
    assert all(len(r) == len(rows[0]) for r in rows)
    assert len(rows) == 1 + 3 * 2
    assert [r[1] for r in rows[1:3]] == ["a", "b"]


def test_same_profile_same_output_byte_for_byte(capsys):
    _, first, _ = run_cli(["run", DEFAULT, "--for", "10m", "--format", "jsonl"], capsys)
    _, second, _ = run_cli(["run", DEFAULT, "--for", "10m", "--format", "jsonl"], capsys)
    assert first == second and len(first) > 1000


@pytest.mark.parametrize("args, message", [
    (["run", "/no/such/profile.toml", "--for", "1m"], "cannot read"),
    (["run", "PROFILE", "--for", "soon"], "not a duration"),
    (["run", "PROFILE", "--for", "0"], "at least 1 second"),
    (["run", "PROFILE", "--for", "1m", "--format", "xml"], "invalid choice"),
    (["run", "PROFILE"], "required"),
])
def test_bad_arguments_exit_2_with_nothing_on_stdout(small, capsys, args, message):
    args = [small if a == "PROFILE" else a for a in args]
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's own exit
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2
    assert out == "" and message in err


def test_bad_profile_exits_2_naming_line_and_key(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(SMALL.replace("memory_mb = 6144", 'memory_mb = "lots"'))
    before = path.read_bytes()
    code, out, err = run_cli(["run", str(path), "--for", "1m"], capsys)
    assert code == 2 and out == ""
    assert "host.memory_mb" in err and ":5:" in err
    assert path.read_bytes() == before


def test_out_file_is_written_whole(small, tmp_path, capsys):
    target = tmp_path / "out.csv"
    code, out, _ = run_cli(["run", small, "--for", "1m", "--out", str(target)], capsys)
    assert code == 0 and out == ""
    assert target.read_text().startswith("t,name,")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "small.toml"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only directories")
def test_out_file_in_a_read_only_directory(small, tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    code, out, err = run_cli(["run", small, "--for", "1m", "--out", str(ro / "x.csv")], capsys)
    assert code == 2 and "cannot write" in err and list(ro.iterdir()) == []


def test_out_file_when_the_disk_fills(small, tmp_path, capsys, monkeypatch):
    """A write error mid-run leaves no output file and no temporary file behind."""
    import memtui.batch as batch

    def failing(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(batch, "run_batch", failing)
    monkeypatch.setattr("memtui.batch.run_batch", failing)
    target = tmp_path / "full.csv"
    code, out, err = run_cli(["run", small, "--for", "1m", "--out", str(target)], capsys)
    assert code == 1 and "No space left on device" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.toml"]


HEADLESS = """
import sys, io, contextlib
from memtui.cli import main
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    code = main(["run", sys.argv[1], "--for", "2m", "--format", "jsonl"])
import memtui.model, memtui.profile, memtui.batch, memtui.check, memtui.practice.explain, memtui.practice.whatif, memtui.practice.labcli
bad = sorted(m for m in sys.modules if m.split(".")[0] in ("textual", "rich", "textual_plotext", "plotext"))
print(code, bad)
"""


def test_batch_and_model_never_import_the_ui_toolkit(small):
    result = subprocess.run([sys.executable, "-c", HEADLESS, small], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0 []"


def test_check_summarises_and_refuses(small, tmp_path, capsys):
    code, out, err = run_cli(["check", small], capsys)
    assert code == 0 and "tiny" in out and err == ""
    bad = tmp_path / "broken.toml"
    bad.write_text("[host\nname = 1\n")
    code, out, err = run_cli(["check", str(bad)], capsys)
    assert code == 2 and out == "" and "broken.toml:1" in err


COST_PROFILE = """
format = 1
[host]
name = "cost"
memory_mb = 4096
system_mb = 400
swap_mb_per_s = 50

[[vm]]
name = "db01"
memory_mb = 3072
tools = false
[vm.workload]
active_mb = 2600
boot_s = 5

[[vm]]
name = "web01"
memory_mb = 2048
[vm.workload]
active_mb = 300
boot_s = 5
"""


def test_batch_carries_the_guest_cost_and_the_esxtop_fields(tmp_path, capsys):
    path = tmp_path / "cost.toml"
    path.write_text(COST_PROFILE)
    code, out, err = run_cli(["run", str(path), "--for", "10m", "--every", "10s", "--format", "jsonl"], capsys)
    assert code == 0 and err == ""
    samples = [json.loads(line) for line in out.splitlines() if '"sample"' in line]
    db = [next(v for v in s["vms"] if v["name"] == "db01") for s in samples]
    # db01 has no balloon driver: the host swaps its working set and it pays for it.
    assert min(v["throughput_pct"] for v in db) < 90
    assert max(v["swap_wait_pct"] for v in db) > 0
    for v in db:
        assert 0 <= v["throughput_pct"] <= 100
        assert v["mem_latency_pct"] == pytest.approx(v["swap_wait_pct"] + v["zip_wait_pct"], abs=0.02)
        assert v["overhead_max_mb"] == v["overhead_mb"]
        assert v["zip_cache_size_mb"] == 0  # ESX 4.0: no compression cache
    assert samples[-1]["host"]["overcommit_level"] > 0
    assert 0 < samples[-1]["host"]["overcommit_avg_15m"] < samples[-1]["host"]["overcommit_avg_1m"] \
        <= samples[-1]["host"]["overcommit_level"] + 1e-9
    code, out, _ = run_cli(["run", str(path), "--for", "1m", "--every", "30s"], capsys)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {"throughput_pct", "swap_wait_pct", "host_overcommit_avg_5m"} <= set(rows[0])
    assert all(0 <= float(r["throughput_pct"]) <= 100 for r in rows)
