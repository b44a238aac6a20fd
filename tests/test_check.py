"""`memtui check`: the summary of a valid profile, and clean refusals (memtui.check)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from memtui import tables
from memtui.check import admit, check_main, summarize
from memtui.config import HostConfig, Profile, VMConfig
from memtui.profile import parse_profile

PROFILE = """\
format = 1

[host]
name = "esx-lab"
esx_version = "4.0"
memory_mb = 16384
system_mb = 800
datastore_free_mb = 20000

[[vm]]
name = "web01"
memory_mb = 8192
vcpus = 2
reservation_mb = 1024

[[vm]]
name = "db01"
memory_mb = 8192
limit_mb = 4096
shares = "high"

[[vm]]
name = "spare"
memory_mb = 4096
power = "off"

[[event]]
at = "10m"
vm = "spare"
set = { power = "on" }
"""


def run(path: Path | str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = check_main(str(path), out=out, err=err)
    return status, out.getvalue(), err.getvalue()


def test_valid_profile_prints_a_summary(tmp_path):
    path = tmp_path / "lab.toml"
    path.write_text(PROFILE)
    status, out, err = run(path)
    assert (status, err) == (0, "")
    assert "esx-lab" in out and "ESX 4.0" in out
    assert "managed 15584 MB" in out
    assert "3 (2 on, 1 off); 1 events" in out
    assert "Overcommit  1.05x" in out  # (8192 + 8192) / (16384 - 800)
    assert "16384 MB configured" in out and "1024 MB reserved" in out
    assert "15360 MB needed, 20000 MB free" in out  # swap files: 7168 + 8192
    for name in ("web01", "db01", "spare"):
        assert name in out
    assert path.read_text() == PROFILE


def test_summary_figures_come_from_the_tables():
    p = parse_profile(PROFILE)
    overhead = sum(tables.overhead_mb("4.0", 8192, v).mb for v in (2, 1))
    adm = admit(p)
    assert adm.overhead_mb == pytest.approx(overhead)
    assert adm.unreserved_mb == pytest.approx(15584 - 1024 - overhead)
    assert adm.refused == []
    th = tables.thresholds("4.0", 16384)
    assert f"minFree {th.min_free_mb:.0f} MB" in summarize(p)


def test_min_free_pct_counts_on_4_1():
    p = parse_profile(
        PROFILE.replace('"4.0"', '"4.1"').replace(
            "[[vm]]", '[advanced]\n"Mem.MinFreePct" = 10\n\n[[vm]]', 1
        )
    )
    assert "minFree 1638 MB" in summarize(p)


def test_refused_power_on_is_shown():
    p = Profile(
        host=HostConfig("h", 4096, system_mb=800),
        vms=[VMConfig("big", 4096, reservation_mb=3200), VMConfig("ok", 256)],
    )
    adm = admit(p)
    assert [name for name, _ in adm.refused] == ["big"]
    assert "refused: big (memory short by" in summarize(p)


def test_summary_fits_one_screen():
    vms = [VMConfig(f"a-very-long-virtual-machine-name-{i}", 1024 * (i + 1)) for i in range(60)]
    p = Profile(host=HostConfig("h" * 70, 1024 * 1024, esx_version="6.x"), vms=vms)
    lines = summarize(p).split("\n")
    assert len(lines) <= 24
    assert max(len(line) for line in lines) <= 80
    assert lines[-1].startswith("... and ") and "more VMs" in lines[-1]


def test_bad_profile_prints_problems_on_stderr_only(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(PROFILE.replace("vcpus = 2", "vcpus = 9").replace('"high"', '"highest"'))
    status, out, err = run(path)
    assert (status, out) == (2, "")
    lines = err.strip().split("\n")
    assert lines == [
        f"{path}:13: vm[1].vcpus: must be a whole number from 1 to 8 (the ESX 4.0 maximum per VM),"
        " not 9",
        f'{path}:20: vm[2].shares: must be one of "low", "normal", "high" or a positive whole'
        ' number, not the string "highest"',
    ]


def test_broken_toml(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[host\nname = 1\n")
    status, out, err = run(path)
    assert (status, out) == (2, "")
    assert err.startswith(f"{path}:1: not valid TOML")


@pytest.mark.parametrize("what", ["missing", "directory"])
def test_unreadable_path(tmp_path, what):
    path = tmp_path / "missing.toml" if what == "missing" else tmp_path
    status, out, err = run(path)
    assert (status, out) == (2, "")
    assert err.startswith(f"memtui: cannot read {path}: ")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[host]\nname = "caf\xe9"\nmemory_mb = 1\n')
    status, out, err = run(path)
    assert (status, out) == (2, "")
    assert f"{path}:2:" in err and "UTF-8" in err
