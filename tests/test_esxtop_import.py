"""`memtui import esxtop`: a profile from an esxtop batch capture."""

from __future__ import annotations

import io
import json
import tomllib
from array import array

import pytest

from memtui.check import check_main
from memtui.cli import main
from memtui.esxtop import EARLIER_NAMES, importer
from memtui.esxtop.importer import compress_schedule, parse_at, read_capture
from memtui.profile import load_profile

TIMES = ["03/01/2026 08:00:00", "03/01/2026 08:00:05", "03/01/2026 08:00:10",
         "03/01/2026 08:00:15"]


def host_columns(host="esx01", machine=16384, managed=15584, minfree=983.04, n=4):
    return [
        (f"\\\\{host}\\Memory\\Memory Overcommit (1 Minute Avg)", ["0.45"] * n),
        (f"\\\\{host}\\Memory\\Machine MBytes", [str(machine)] * n),
        (f"\\\\{host}\\Memory\\Kernel MBytes", ["800"] * n),
        (f"\\\\{host}\\Memory\\Kernel Managed MBytes", [str(managed)] * n),
        (f"\\\\{host}\\Memory\\Kernel MinFree MBytes", [str(minfree)] * n),
        (f"\\\\{host}\\Memory\\Free MBytes", ["9000"] * n),
        (f"\\\\{host}\\Memory\\Kernel State", ["0"] * n),
    ]


def vm_columns(gid, name, host="esx01", n=4, **counters):
    values = {
        "Alloc Min": 0, "Alloc Max": -1, "Alloc Shares": 40960, "Memory Size MBytes": 4096,
        "Memory Granted Size MBytes": 4000,
        "Memory Consumed Size MBytes": 3800, "Target Size MBytes": 4000, "Touched MBytes": 1200,
        "% Active Estimate": 25, "% Active Slow Estimate": 24, "% Active Fast Estimate": 26,
        "Memctl MBytes": 0, "Memctl Max MBytes": 2662.4, "Swapped MBytes": 0,
        "Shared MBytes": 400, "Zero MBytes": 200, "Shared Saved MBytes": 150,
        "Overhead MBytes": 165.98,
    }
    values.update({k.replace("_", " "): v for k, v in counters.items()})
    out = []
    for counter, value in values.items():
        cells = value if isinstance(value, list) else [value] * n
        out.append((f"\\\\{host}\\Group Memory({gid}:{name})\\{counter}", [str(c) for c in cells]))
    return out


def other_groups(host="esx01", cpus=4, vms=(), n=4):
    """CPU, disk and network columns as a full esxtop -b capture has them."""
    cols = [(f"\\\\{host}\\Physical Cpu Load\\Cpu Load (1 Minute Avg)", ["0.30"] * n)]
    for c in range(cpus):
        cols.append((f"\\\\{host}\\Physical Cpu({c})\\% Processor Time", ["12.50"] * n))
    cols.append((f"\\\\{host}\\Physical Cpu(_Total)\\% Processor Time", ["12.50"] * n))
    for gid, name in vms:
        for counter in ("% Used", "% Ready", "% CoStop"):
            cols.append((f"\\\\{host}\\Group Cpu({gid}:{name})\\{counter}", ["1.00"] * n))
        cols.append((f"\\\\{host}\\Virtual Disk({name})\\Reads/sec", ["6.36"] * n))
        cols.append((f"\\\\{host}\\Network Port(vSwitch0:33554433:{gid}:{name})\\MBits "
                     "Transmitted/sec", ["0.10"] * n))
    cols.append((f"\\\\{host}\\Physical Disk NFS Volume(NFS_Datastore)\\Reads/sec", ["1"] * n))
    return cols


def capture_text(columns, times=TIMES, first="(PDH-CSV 4.0) (UTC)(0)", newline="\n"):
    header = [first] + [path for path, _ in columns]
    lines = [",".join(f'"{c}"' for c in header)]
    for i, when in enumerate(times):
        cells = [when] + [values[i] for _, values in columns]
        lines.append(",".join(f'"{c}"' for c in cells))
    return newline.join(lines) + newline


def write_capture(tmp_path, columns, name="capture.csv", **kw):
    path = tmp_path / name
    path.write_text(capture_text(columns, **kw), newline="")
    return str(path)


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def imported(tmp_path, capsys, capture, *extra, out="imported.toml"):
    target = tmp_path / out
    code, stdout, err = run(["import", "esxtop", capture, "--out", str(target), *extra], capsys)
    assert code == 0, err
    assert f"wrote {target}" in stdout
    return load_profile(target), target.read_text()


# -- round trip ------------------------------------------------------------------------------

ROUND_TRIP = """
format = 1
[host]
name = "esx-trip"
esx_version = "5.x"
memory_mb = 24576
system_mb = 1200
start_time = 2026-05-04T09:00:00Z

[[vm]]
name = "web01"
memory_mb = 4096
vcpus = 2
limit_mb = 3072
content_family = "linux"
[vm.workload]
active_mb = 1500
boot_s = 30

[[vm]]
name = "db (prod): main"
memory_mb = 8192
vcpus = 4
reservation_mb = 4096
shares = "high"
content_family = "linux"
[vm.workload]
active_mb = 5000
boot_s = 30

[[vm]]
name = "app 02"
memory_mb = 2048
vcpus = 1
shares = 12345
[vm.workload]
active_mb = 600
boot_s = 30

[[vm]]
name = "spare"
memory_mb = 2048
power = "off"
shares = "low"
"""


def test_import_of_its_own_output_gives_back_the_vms(tmp_path, capsys):
    source = tmp_path / "source.toml"
    source.write_text(ROUND_TRIP)
    cap = tmp_path / "run.csv"
    code, _, err = run(["run", str(source), "--for", "40m", "--every", "10s", "--format",
                        "esxtop", "--out", str(cap)], capsys)
    assert code == 0, err
    profile, text = imported(tmp_path, capsys, str(cap))
    original = load_profile(source)
    assert profile.host.name == "esx-trip"
    assert profile.host.memory_mb == 24576 and profile.host.system_mb == 1200
    assert profile.host.esx_version == "6.x"  # 5.x and 6.x have one minFree rule: the newest
    assert "guessed: its minFree rule" in text and "(so does 5.x's)" in text
    assert profile.host.start_time.isoformat() == "2026-05-04T09:00:10+00:00"
    assert [vm.name for vm in profile.vms] == [vm.name for vm in original.vms]
    for got, want in zip(profile.vms, original.vms, strict=True):
        assert (got.memory_mb, got.reservation_mb, got.limit_mb, got.power) == (
            want.memory_mb, want.reservation_mb, want.limit_mb, want.power), got.name
        assert got.shares_value == want.shares_value and got.shares == want.shares, got.name
        assert got.vcpus == want.vcpus, got.name
        if want.power == "on":
            # the working set the host estimated by the end of the capture
            final = (got.workload.schedule[-1][1] if got.workload.schedule
                     else got.workload.active_mb)
            assert final == pytest.approx(want.workload.active_mb, rel=0.2), got.name
            assert got.workload.touched_pct >= 90
            assert got.workload.boot_s == 0
    assert check_main(str(tmp_path / "imported.toml"), out=io.StringIO(), err=io.StringIO()) == 0
    assert text.startswith("# Built by memtui import esxtop from run.csv")


def test_the_imported_host_behaves_like_the_one_captured(tmp_path, capsys):
    source = tmp_path / "source.toml"
    source.write_text(ROUND_TRIP)
    cap = tmp_path / "run.csv"
    assert run(["run", str(source), "--for", "40m", "--format", "esxtop", "--out", str(cap)],
               capsys)[0] == 0
    imported(tmp_path, capsys, str(cap))
    finals = []
    for path in (source, tmp_path / "imported.toml"):
        code, out, _ = run(["run", str(path), "--for", "40m", "--every", "40m", "--format",
                            "jsonl"], capsys)
        assert code == 0
        finals.append(json.loads(out.splitlines()[-1]))
    want, got = finals
    assert got["host"]["free_mb"] == pytest.approx(want["host"]["free_mb"], rel=0.05)
    for a, b in zip(want["vms"], got["vms"], strict=True):
        assert b["granted_mb"] == pytest.approx(a["granted_mb"], rel=0.15, abs=1), a["name"]
        assert b["overhead_mb"] == a["overhead_mb"], a["name"]  # the vCPU counts came back


def test_power_on_during_the_capture_becomes_an_event(tmp_path, capsys):
    source = tmp_path / "source.toml"
    source.write_text(ROUND_TRIP + '\n[[event]]\nat = "5m"\nvm = "spare"\nset = { power = "on" }\n')
    cap = tmp_path / "run.csv"
    assert run(["run", str(source), "--for", "12m", "--format", "esxtop", "--out", str(cap)],
               capsys)[0] == 0
    profile, _ = imported(tmp_path, capsys, str(cap))
    spare = next(vm for vm in profile.vms if vm.name == "spare")
    assert spare.power == "off"
    [event] = profile.events
    assert event.vm == "spare" and event.set == {"power": "on"}
    assert event.at_s == 5 * 60 - 10  # the first sample that shows it, from the --at sample
    # its schedule counts from its power-on, not from the start of the capture
    assert spare.workload.schedule == [] or spare.workload.schedule[0][0] == 0


# -- real captures: other groups, awkward names ----------------------------------------------

AWKWARD = [(4242, "web 01: (blue) prod"), (77, "db01"), (912, "a:b:c (x) (y)")]


def test_capture_with_cpu_disk_network_groups_and_awkward_names(tmp_path, capsys):
    columns = host_columns()
    columns += vm_columns(4242, AWKWARD[0][1], Alloc_Min=1024,
                          Alloc_Max=3000, Alloc_Shares=81920)
    columns += other_groups(vms=AWKWARD, cpus=16)
    columns += vm_columns(77, "db01", Memory_Size_MBytes=8192, Alloc_Shares=41000,
                          Overhead_MBytes=0, Memory_Granted_Size_MBytes=0)
    columns += vm_columns(912, AWKWARD[2][1], Memory_Size_MBytes=2048, Alloc_Shares=10240)
    profile, text = imported(tmp_path, capsys, write_capture(tmp_path, columns))
    assert profile.host.name == "esx01" and profile.host.memory_mb == 16384
    assert profile.host.cpu_cores == 16
    by_name = {vm.name: vm for vm in profile.vms}
    assert sorted(by_name) == sorted(name for _, name in AWKWARD)
    web = by_name["web 01: (blue) prod"]
    assert (web.memory_mb, web.reservation_mb, web.limit_mb, web.shares) == (4096, 1024, 3000,
                                                                             "high")
    assert web.workload.active_mb == 1024  # 25 % of 4096
    assert web.workload.schedule == []  # a steady working set needs no schedule
    db = by_name["db01"]
    assert db.power == "off" and db.shares == 41000
    assert by_name["a:b:c (x) (y)"].shares == "low" and by_name["a:b:c (x) (y)"].memory_mb == 2048
    assert web.workload.zero_pct == pytest.approx(100 * 200 / 4000, abs=0.1)
    data = tomllib.loads(text)
    assert data["host"]["start_time"].isoformat() == "2026-03-01T08:00:00+00:00"
    assert "the VM did not run during the capture" in text  # db01 was off throughout
    assert check_main(str(tmp_path / "imported.toml"), out=io.StringIO(), err=io.StringIO()) == 0


def test_every_guessed_figure_has_a_comment(tmp_path, capsys):
    columns = host_columns()
    # a capture that kept only a few memory fields: no shares, reservation, limit or sharing
    columns += [c for c in vm_columns(10, "thin") if not c[0].endswith(
        ("Alloc Shares", "Alloc Min", "Alloc Max", "Shared MBytes", "Zero MBytes",
         "Overhead MBytes"))]
    _, text = imported(tmp_path, capsys, write_capture(tmp_path, columns))
    lines = {line.split("=")[0].strip(): line for line in text.splitlines() if "=" in line}
    for key in ("cpu_mhz", "mmu", "datastore_free_mb", "swap_mb_per_s", "esx_version",
                "cpu_cores", "shares", "reservation_mb", "limit_mb", "vcpus", "zero_pct",
                "family_pct", "dup_pct"):
        assert "# guessed: " in lines[key], key
    for key in ("memory_mb", "name", "touched_pct", "active_mb"):
        assert "guessed" not in lines[key], key
    assert '"guessed"' in text.splitlines()[2]


def test_time_zone_of_the_capture_and_crlf_lines(tmp_path, capsys):
    columns = host_columns() + vm_columns(5, "vm5")
    path = write_capture(tmp_path, columns, first="(PDH-CSV 4.0) (Pacific Standard Time)(480)",
                         newline="\r\n")
    profile, _ = imported(tmp_path, capsys, path)
    assert profile.host.start_time.isoformat() == "2026-03-01T16:00:00+00:00"
    assert [vm.name for vm in profile.vms] == ["vm5"]


def test_at_picks_the_sample_for_sizes_and_settings(tmp_path, capsys):
    columns = host_columns() + vm_columns(
        5, "vm5", Alloc_Min=[0, 0, 2048, 2048],
        **{"%_Active_Estimate": [10, 10, 50, 50]})
    path = write_capture(tmp_path, columns)
    first, _ = imported(tmp_path, capsys, path, out="first.toml")
    assert first.vms[0].reservation_mb == 0
    assert first.vms[0].workload.schedule == [(0, 410), (10, 2048)]
    later, _ = imported(tmp_path, capsys, path, "--at", "10s", out="later.toml")
    assert later.vms[0].reservation_mb == 2048
    assert later.host.start_time.isoformat() == "2026-03-01T08:00:10+00:00"
    assert later.vms[0].workload.active_mb == 2048 and later.vms[0].workload.schedule == []
    same, _ = imported(tmp_path, capsys, path, "--at", "03/01/2026 08:00:07", out="same.toml")
    assert same.vms[0].reservation_mb == 2048
    code, out, err = run(["import", "esxtop", path, "--out", str(tmp_path / "x.toml"), "--at",
                          "1h"], capsys)
    assert code == 2 and "--at is after the capture's last sample (03/01/2026 08:00:15" in err
    assert not (tmp_path / "x.toml").exists()
    code, out, err = run(["import", "esxtop", path, "--out", str(tmp_path / "x.toml"), "--at",
                          "soon"], capsys)
    assert code == 2 and "--at" in err and not (tmp_path / "x.toml").exists()


def test_an_incomplete_last_row_is_skipped(tmp_path, capsys):
    columns = host_columns() + vm_columns(5, "vm5")
    text = capture_text(columns)
    path = tmp_path / "cut.csv"
    path.write_text(text + '"03/01/2026 08:00:20","0.45","16384"', newline="")
    code, out, err = run(["import", "esxtop", str(path), "--out", str(tmp_path / "p.toml")],
                         capsys)
    assert code == 0 and "skipped 1 incomplete rows" in err and "4 samples" in out


# -- what is not a capture -------------------------------------------------------------------


def _refused(tmp_path, capsys, capture, *expected):
    target = tmp_path / "out.toml"
    before = set(tmp_path.iterdir())
    code, out, err = run(["import", "esxtop", str(capture), "--out", str(target)], capsys)
    assert code == 2 and out == ""
    assert str(capture) in err
    for text in expected:
        assert text in err
    assert "Traceback" not in err
    assert set(tmp_path.iterdir()) == before  # nothing written, no temporary file


def test_not_a_capture_is_refused_and_nothing_is_written(tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    _refused(tmp_path, capsys, empty, "empty", "(PDH-CSV 4.0) (UTC)(0)")
    blank = tmp_path / "blank.csv"
    blank.write_text("\n\n")
    _refused(tmp_path, capsys, blank, "empty")
    binary = tmp_path / "capture.gz"
    binary.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + bytes(range(256)))
    _refused(tmp_path, capsys, binary, "binary")
    ours = tmp_path / "memtui.csv"
    ours.write_text("t,name,power\n10,web01,on\n")
    _refused(tmp_path, capsys, ours, 'the first cell is "t"', "esxtop batch capture")
    cpu_only = tmp_path / "cpu.csv"
    cpu_only.write_text(capture_text(other_groups(vms=AWKWARD)), newline="")
    _refused(tmp_path, capsys, cpu_only, "no VM memory counters", "Memory Size MBytes")
    no_host = tmp_path / "nohost.csv"
    no_host.write_text(capture_text(vm_columns(1, "a")), newline="")
    _refused(tmp_path, capsys, no_host, "Machine MBytes")
    header_only = tmp_path / "header.csv"
    header_only.write_text(capture_text(host_columns() + vm_columns(1, "a"), times=[]))
    _refused(tmp_path, capsys, header_only, "no samples")
    bad_time = tmp_path / "badtime.csv"
    bad_time.write_text(capture_text(host_columns() + vm_columns(1, "a"),
                                     times=["yesterday", "x", "y", "z"]))
    _refused(tmp_path, capsys, bad_time, "line 2", "is not a sample time")
    _refused(tmp_path, capsys, tmp_path / "missing.csv", "cannot read", "No such file")
    folder = tmp_path / "folder"
    folder.mkdir()
    _refused(tmp_path, capsys, folder, "directory")


def test_an_existing_profile_is_not_replaced_without_force(tmp_path, capsys):
    path = write_capture(tmp_path, host_columns() + vm_columns(5, "vm5"))
    target = tmp_path / "mine.toml"
    target.write_text("# my own profile\n")
    code, out, err = run(["import", "esxtop", path, "--out", str(target)], capsys)
    assert code == 2 and "exists" in err and "--force" in err
    assert target.read_text() == "# my own profile\n"
    code, out, err = run(["import", "esxtop", path, "--out", str(target), "--force"], capsys)
    assert code == 0 and "vm5" in target.read_text()


def test_argument_errors_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["import", "esxtop", "x.csv"])  # no --out
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["import", "perfmon", "x.csv", "--out", "y.toml"])
    assert exc.value.code == 2


# -- the pieces ------------------------------------------------------------------------------


def test_schedule_steps_from_a_series():
    t = array("d", range(0, 600, 10))
    flat = array("d", [1000 + (i % 3) * 10 for i in range(60)])
    assert compress_schedule(t, flat, 4096) == [(0, 1010)]
    step = array("d", [500] * 20 + [2500] * 20 + [800] * 20)
    assert compress_schedule(t, step, 4096) == [(0, 500), (200, 2500), (400, 800)]
    saw = array("d", [(i % 2) * 3000 for i in range(60)])
    steps = compress_schedule(t, saw, 4096, max_steps=8)
    assert 1 <= len(steps) <= 8 and steps[0][0] == 0
    assert [a for a, _ in steps] == sorted({a for a, _ in steps})
    assert compress_schedule(array("d"), array("d"), 4096) == []


def test_at_values():
    assert parse_at("90") == ("offset", 90)
    assert parse_at("1h30m") == ("offset", 5400)
    kind, when = parse_at("03/01/2026 08:30:00")
    assert kind == "time" and when.isoformat() == "2026-03-01T08:30:00"
    kind, when = parse_at("2026-03-01T08:30:00Z")
    assert kind == "time" and when.utcoffset().total_seconds() == 0
    with pytest.raises(ValueError):
        parse_at("tomorrow")


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_only_on_a_terminal(tmp_path, monkeypatch):
    n = 400
    times = [f"03/01/2026 {8 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}" for i in range(n)]
    columns = host_columns(n=n) + vm_columns(5, "vm5", n=n) + other_groups(n=n, cpus=64)
    path = write_capture(tmp_path, columns, times=times)
    monkeypatch.setattr(importer, "PROGRESS_AFTER_S", 0.0)
    monkeypatch.setattr(importer, "_CHECK_EVERY_ROWS", 1)
    clock = iter(range(0, 10_000))
    monkeypatch.setattr(importer.time, "perf_counter", lambda: float(next(clock)))
    terminal = _Terminal()
    cap = read_capture(path, progress=terminal)
    assert cap.samples == n
    shown = terminal.getvalue()
    assert "\r[" in shown and "%" in shown and " MB" in shown
    assert shown.endswith("\r")  # the bar is cleared at the end
    pipe = io.StringIO()
    read_capture(path, progress=pipe)
    assert pipe.getvalue() == ""


def test_empty_and_odd_cells_are_left_out(tmp_path, capsys):
    columns = host_columns() + vm_columns(
        5, "vm5", **{"%_Active_Estimate": ["", "nan", "25", "25"],
                     "Touched_MBytes": ["1200", "n/a", "1300", "1300"]})
    profile, text = imported(tmp_path, capsys, write_capture(tmp_path, columns))
    vm = profile.vms[0]
    # where % Active Estimate has no number, % Active Slow Estimate (24 %) stands in
    assert vm.workload.active_mb == round((0.24 * 2 + 0.25 * 2) / 4 * 4096)
    assert vm.workload.schedule == []
    assert vm.memory_mb == 4096 and vm.power == "on"
    assert vm.workload.touched_pct == round(100 * 4000 / 4096, 1)  # granted when more than touched


# -- counter names as real captures write them -----------------------------------------------

# The memory counters of an ESXi 6.x host's capture (esxtop -b -a), in its order, with its values
# for one VM: the names the importer must read as they are.
REAL_HOST_COUNTERS = [
    ("Memory Overcommit (1 Minute Avg)", "0.78"), ("Memory Overcommit (5 Minute Avg)", "0.78"),
    ("Memory Overcommit (15 Minute Avg)", "0.78"), ("Machine MBytes", "8083"),
    ("Kernel MBytes", "1321"), ("NonKernel MBytes", "6171"), ("Free MBytes", "590"),
    ("Kernel Managed MBytes", "8043"), ("Kernel MinFree MBytes", "403"),
    ("Kernel Reserved MBytes", "4165"), ("Kernel Unreserved MBytes", "3877"),
    ("Kernel State", "1"), ("PShare Shared MBytes", "2152"), ("PShare Common MBytes", "217"),
    ("PShare Savings MBytes", "1935"), ("Swap Used MBytes", "1150"),
    ("Swap Target MBytes", "1148"), ("Swap MBytes Read/sec", "0.00"),
    ("Swap MBytes Write/sec", "0.00"), ("Total Compressed MBytes", "173"),
    ("Total Saved By Compression MBytes", "110"), ("Memctl Current MBytes", "5154"),
    ("Memctl Target MBytes", "5146"), ("Memctl Max MBytes", "9042"),
]
REAL_GROUP_COUNTERS = [
    ("Members", "1"), ("Alloc Min", "512"), ("Alloc Max", "-1"), ("Alloc Shares", "-3"),
    ("Alloc Min Limited", "-1"), ("Numa Home Nodes", "0"), ("Numa Rebalance Count Delta", "0"),
    ("Numa Remote Memory MBytes", "0.00"), ("Numa Local Memory MBytes", "957.92"),
    ("Numa % Local", "100.00"), ("Memory Size MBytes", "1069.34"),
    ("Memory Granted Size MBytes", "957.92"), ("Memory Consumed Size MBytes", "630.00"),
    ("Target Size MBytes", "960.00"), ("Touched MBytes", "420.00"),
    ("Touched Write MBytes", "300.00"), ("% Active Estimate", "20.00"),
    ("% Active Slow Estimate", "19.00"), ("% Active Fast Estimate", "21.00"),
    ("% Active Next Estimate", "20.00"), ("Memctl?", "1"), ("Memctl MBytes", "40.00"),
    ("Memctl Target MBytes", "40.00"), ("Memctl Max MBytes", "619.16"),
    ("Swapped MBytes", "12.00"), ("Swap Target MBytes", "12.00"),
    ("Swap Read MBytes/sec", "0.00"), ("Swap Written MBytes/sec", "0.00"),
    ("Llswap Read MBytes/sec", "0.00"), ("Llswap Written MBytes/sec", "0.00"),
    ("Checkpoint Read MBytes", "0.00"), ("Checkpoint Target MBytes", "0.00"),
    ("Zero MBytes", "587.46"), ("Shared MBytes", "654.32"), ("Shared Saved MBytes", "300.00"),
    ("Copy On Write Hint MBytes", "0.00"), ("Overhead UW MBytes", "5.00"),
    ("Overhead MBytes", "20.11"), ("Overhead Max MBytes", "40.00"),
    ("Min Commit Target MBytes", "0.00"), ("Commit Target MBytes", "0.00"),
    ("Commit Charged MBytes", "0.00"), ("Commit Pages Per Share", "0.00"),
    ("Compressed Memory MBytes", "6.00"), ("Used Compressed Memory MBytes", "3.00"),
    ("Compression MBytes/sec", "0.00"), ("Decompression MBytes/sec", "0.00"),
]


def real_columns(host_counters=REAL_HOST_COUNTERS, group_counters=REAL_GROUP_COUNTERS, n=4,
                 gid=1302698, name="styx"):
    columns = [(f"\\\\{host_name}\\Memory\\{c}", [v] * n)
               for host_name in ("localhost.home",) for c, v in host_counters]
    columns += [(f"\\\\localhost.home\\Group Memory({gid}:{name})\\{c}", [v] * n)
                for c, v in group_counters]
    return columns


def test_a_capture_with_esxtops_own_counter_names(tmp_path, capsys):
    cap = read_capture(write_capture(tmp_path, real_columns()))
    assert cap.host_at == {"memory_mb": 8083, "system_mb": 1321, "managed_mb": 8043,
                           "min_free_mb": 403}
    assert cap.has_zip_counters
    [group] = cap.groups
    assert (group.at["reservation_mb"], group.at["limit_mb"], group.at["shares"]) == (512, -1, -3)
    assert group.memctl_seen and group.memctl_ran
    profile, text = imported(tmp_path, capsys, write_capture(tmp_path, real_columns()))
    [vm] = profile.vms
    assert (vm.name, vm.memory_mb, vm.reservation_mb, vm.limit_mb) == ("styx", 1069, 512, None)
    lines = {line.split("=")[0].strip(): line for line in text.splitlines() if "=" in line}
    assert vm.shares == "normal" and "guessed: Alloc Shares is -3" in lines["shares"]
    assert vm.tools is True and "the balloon driver held memory" in lines["tools"]
    assert "guessed" not in lines["reservation_mb"] and "guessed" not in lines["limit_mb"]
    assert check_main(str(tmp_path / "imported.toml"), out=io.StringIO(), err=io.StringIO()) == 0


def test_memctl_flag_tells_whether_the_balloon_driver_ran(tmp_path, capsys):
    def group(flag, balloon="0.00"):
        return [(c, flag if c == "Memctl?" else balloon if c == "Memctl MBytes" else v)
                for c, v in REAL_GROUP_COUNTERS]

    never = real_columns(group_counters=group("0"))
    profile, text = imported(tmp_path, capsys, write_capture(tmp_path, never), out="never.toml")
    assert profile.vms[0].tools is False
    assert "guessed: Memctl? stayed 0 while the VM ran" in text
    ran = real_columns(group_counters=group("1"))
    profile, text = imported(tmp_path, capsys, write_capture(tmp_path, ran), out="ran.toml")
    assert profile.vms[0].tools is True and "Memctl? showed the balloon driver running" in text
    without = real_columns(group_counters=[c for c in group("1") if c[0] != "Memctl?"])
    profile, text = imported(tmp_path, capsys, write_capture(tmp_path, without), out="no.toml")
    assert profile.vms[0].tools is True and "cannot tell whether VMware Tools runs" in text


@pytest.mark.parametrize("shares, level, reason", [
    ("-3", "normal", "Alloc Shares is -3, the code esxtop writes for the default level"),
    ("-7", "normal", "Alloc Shares is -7, a share-level code this importer does not know"),
    ("21380", "high", None),  # 20 shares per MB of 1069 MB
    ("5000", 5000, None),
])
def test_alloc_shares_a_number_or_a_level_code(tmp_path, capsys, shares, level, reason):
    counters = [(c, shares if c == "Alloc Shares" else "1069.00" if c == "Memory Size MBytes"
                 else v) for c, v in REAL_GROUP_COUNTERS]
    profile, text = imported(tmp_path, capsys, write_capture(tmp_path, real_columns(
        group_counters=counters)))
    assert profile.vms[0].shares == level
    line = next(x for x in text.splitlines() if x.startswith("shares"))
    assert (reason in line) if reason else "guessed" not in line


def _renamed(columns, old, new):
    return [(path.replace("\\" + new, "\\" + old) if path.endswith("\\" + new) else path, values)
            for path, values in columns]


READ_EARLIER_NAMES = [(old, new) for old, new in EARLIER_NAMES
                      if new in importer.HOST_KEEP or new in importer.VM_KEEP]
ZIP_EARLIER_NAMES = [(old, new) for old, new in EARLIER_NAMES
                     if new in importer.ZIP_HOST_COUNTERS]


@pytest.mark.parametrize("old, new", READ_EARLIER_NAMES)
def test_the_earlier_memtui_names_are_read_too(tmp_path, old, new):
    field = importer.HOST_KEEP.get(new) or importer.VM_KEEP[new]
    want = read_capture(write_capture(tmp_path, real_columns(), name="new.csv"))
    got = read_capture(write_capture(tmp_path, _renamed(real_columns(), old, new), name="old.csv"))
    if new in importer.HOST_KEEP:
        assert got.host_at[field] == want.host_at[field]
    else:
        assert got.groups[0].at[field] == want.groups[0].at[field]
    # with both in one file, the column under esxtop's name is the one read
    both = real_columns() + [(path, ["7"] * len(values))
                             for path, values in _renamed(real_columns(), old, new)
                             if path.endswith("\\" + old)]
    cap = read_capture(write_capture(tmp_path, both, name="both.csv"))
    read = cap.host_at if new in importer.HOST_KEEP else cap.groups[0].at
    assert read[field] == (want.host_at if new in importer.HOST_KEEP else want.groups[0].at)[field]


@pytest.mark.parametrize("old, new", ZIP_EARLIER_NAMES)
def test_the_earlier_compression_names_show_a_host_with_compression(tmp_path, old, new):
    no_zip = [(c, v) for c, v in REAL_GROUP_COUNTERS if "Compress" not in c]
    host = [(c, v) for c, v in REAL_HOST_COUNTERS if c in ("Machine MBytes", new)]
    columns = _renamed(real_columns(host, no_zip), old, new)
    assert read_capture(write_capture(tmp_path, columns)).has_zip_counters
    bare = real_columns([("Machine MBytes", "8083")], no_zip)
    assert not read_capture(write_capture(tmp_path, bare, name="bare.csv")).has_zip_counters


def test_every_earlier_name_is_read_or_not_read_under_either_name():
    assert len(READ_EARLIER_NAMES) + len(ZIP_EARLIER_NAMES) + 2 == len(EARLIER_NAMES)
    for old, new in EARLIER_NAMES:  # reserved and unreserved memory: not read under either
        if (old, new) not in READ_EARLIER_NAMES + ZIP_EARLIER_NAMES:
            assert new in ("Kernel Reserved MBytes", "Kernel Unreserved MBytes")
            assert old not in importer.HOST_KEEP_EARLIER


def test_groups_of_the_hosts_own_processes_are_not_vms(tmp_path, capsys):
    # esxtop gives each user world (hostd, a shell) a group with a memory size, but no overhead
    hostd = [(c, {"Memory Size MBytes": "64.50", "Memory Granted Size MBytes": "35.03",
                  "Overhead MBytes": "0.00", "Memctl?": "0", "Memctl Max MBytes": "0.00",
                  "Memctl MBytes": "0.00"}.get(c, v)) for c, v in REAL_GROUP_COUNTERS]
    columns = real_columns() + real_columns(host_counters=[], group_counters=hostd, gid=5481,
                                            name="hostd.66694")
    target = tmp_path / "p.toml"
    code, out, err = run(["import", "esxtop", write_capture(tmp_path, columns), "--out",
                          str(target)], capsys)
    assert code == 0, err
    assert [vm.name for vm in load_profile(target).vms] == ["styx"]
    assert "1 VMs (1 on)" in out and "1 groups of the host's own processes" in out
    # a VM that stayed off (memtui's own captures keep its group) is still a VM
    off = [(c, "0.00" if c in ("Memory Granted Size MBytes", "Overhead MBytes") else v)
           for c, v in hostd]
    columns = real_columns() + real_columns(host_counters=[], group_counters=off, gid=77,
                                            name="spare")
    profile, _ = imported(tmp_path, capsys, write_capture(tmp_path, columns, name="off.csv"))
    assert [(vm.name, vm.power) for vm in profile.vms] == [("styx", "on"), ("spare", "off")]
