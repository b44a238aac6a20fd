"""The UI's headless parts: the session (clock, changes, saving), settings, form parsing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from memtui.session import SPEEDS_X, ReadOnlyError, Session
from memtui.ui import forms
from memtui.ui.settings import UserSettings, load_settings, save_settings

from .conftest import big_profile, small_profile


def test_headless_parts_import_no_ui_toolkit():
    code = ("import sys; import memtui.session, memtui.ui.columns, memtui.ui.machine; "
            "assert 'textual' not in sys.modules and 'rich' not in sys.modules, 'UI toolkit'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_speeds_run_from_real_time_to_an_hour_a_second():
    s = Session.from_profile(small_profile())
    assert SPEEDS_X[0] == 1 and SPEEDS_X[-1] == 3600
    for _ in range(20):
        s.faster()
    assert s.speed_x == 3600
    for _ in range(20):
        s.slower()
    assert s.speed_x == 1


def test_clock_runs_the_due_steps_and_drops_what_it_cannot_catch_up():
    s = Session.from_profile(small_profile())
    s.set_speed(10)
    s.set_running(True)
    s.tick(now=100.0)
    report = s.tick(now=101.0)
    assert report.steps == 10 and not report.behind and s.host.t == 10
    big = Session.from_profile(big_profile())
    big.set_speed(3600)
    big.set_running(True)
    big.tick(now=0.0)
    report = big.tick(now=1.0, budget_s=0.01)
    assert report.behind and 0 < report.steps < 3600
    report = big.tick(now=1.001, budget_s=0.01)
    assert report.steps <= 4  # the backlog was dropped, not piled up
    s.set_running(False)
    assert s.tick(now=200.0).steps == 0


def test_readonly_session_refuses_every_change(tmp_path):
    s = Session.from_profile(small_profile(), readonly=True)
    for call in (lambda: s.set_vm("web01", reservation_mb=1), lambda: s.power_off("web01"),
                 lambda: s.set_advanced("Mem.IdleTax", 10), lambda: s.remove_vm("web01"),
                 lambda: s.save(tmp_path / "x.toml")):
        with pytest.raises(ReadOnlyError):
            call()
    assert not (tmp_path / "x.toml").exists()


def test_save_paths_and_restricted_mode(home):
    s = Session.from_profile(small_profile())
    assert s.resolve_save_path("lab") == home / "profiles" / "lab.toml"
    assert s.resolve_save_path("/tmp/x.toml") == Path("/tmp/x.toml")
    r = Session.from_profile(small_profile(), restricted=True)
    with pytest.raises(ValueError, match="restricted"):
        r.resolve_save_path("/tmp/x.toml")
    with pytest.raises(ValueError, match="restricted"):
        r.resolve_save_path("../x")
    with pytest.raises(ValueError, match="restricted"):
        r.save(Path("/tmp/memtui-restricted-test.toml"))
    assert r.save(r.resolve_save_path("mine")) == home / "profiles" / "mine.toml"
    assert not r.dirty


def test_settings_round_trip_keeps_comments(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_text("# mine\n[ui]\nrefresh_s = 2  # slow link\n")
    settings, problems = load_settings(path)
    assert problems == [] and settings.refresh_s == 2.0
    settings.columns = ["NAME", "MEMSZ", "SWCUR"]
    settings.sort, settings.reverse = "SWCUR", True
    save_settings(settings, path)
    text = path.read_text()
    assert "# mine" in text and "# slow link" in text
    again, _ = load_settings(path)
    assert again.columns == ["NAME", "MEMSZ", "SWCUR"] and again.sort == "SWCUR" and again.reverse


def test_bad_settings_are_reported_not_fatal(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_text("[vm_table]\ncolumns = [\"NAME\", \"BOGUS\"]\nreverse = 3\n[ui]\nrefresh_s = -1\n")
    settings, problems = load_settings(path)
    assert settings.columns == ["NAME"] and settings.refresh_s == UserSettings().refresh_s
    assert len(problems) == 3
    path.write_text("not toml [")
    settings, problems = load_settings(path)
    assert problems and settings == UserSettings()


@pytest.mark.parametrize("text, mb", [("4096", 4096), ("4G", 4096), ("4 GB", 4096),
                                      ("512m", 512), ("0.5G", 512), ("1T", 1048576)])
def test_parse_mb(text, mb):
    assert forms.parse_mb(text) == mb


@pytest.mark.parametrize("text", ["", "abc", "4x", "-5", "1.5", "4 KB"])
def test_parse_mb_refuses(text):
    with pytest.raises(ValueError):
        forms.parse_mb(text)


def test_parse_other_fields():
    assert forms.parse_limit("unlimited") is None and forms.parse_limit("2G") == 2048
    assert forms.parse_shares("HIGH") == "high" and forms.parse_shares("1234") == 1234
    with pytest.raises(ValueError):
        forms.parse_shares("0")
    assert forms.parse_schedule("0s 50, 10m 150", 4096) == [(0, 50.0), (600, 150.0)]
    with pytest.raises(ValueError, match="time order"):
        forms.parse_schedule("10m 1, 1m 2", 4096)
    with pytest.raises(ValueError, match="exceed"):
        forms.parse_active("5000", 4096)
    with pytest.raises(ValueError, match="exists"):
        forms.parse_name("web01", {"web01"})
    with pytest.raises(ValueError, match="control"):
        forms.parse_name("a\x1bb", set())
    assert forms.vm_checks({"memory_mb": 1024, "reservation_mb": 2048, "limit_mb": None})
