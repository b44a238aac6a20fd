"""Pilot tests of the terminal UI: each drives the real app with keys and checks the model's state
and what the screen shows."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from memtui.config import HostConfig, Profile, VMConfig, Workload
from memtui.ui.advanced import AdvancedTable
from memtui.ui.dialogs import ColumnsScreen, ConfirmScreen, OpenProfileScreen, SaveAsScreen
from memtui.ui.eventlog import EventLog
from memtui.ui.forms import FormScreen
from memtui.ui.help import HelpScreen
from memtui.ui.screen import MainScreen
from memtui.ui.vmtable import VMTable

from .conftest import make_app, screen_text, settle, small_profile, tight_profile

WIDE = (160, 50)


def vm_config(app, name):
    host = app.session.host
    return host.vms[host.index(name)]


async def select(pilot, name: str) -> None:
    app = pilot.app
    app.main.select_vm(name)
    await settle(pilot)
    assert app.main.selected_vm == name


async def type_into(pilot, widget_id: str, text: str) -> None:
    """Replace the text of an Input in the current screen."""
    widget = pilot.app.screen.query_one(widget_id)
    widget.value = text
    await settle(pilot)


# ------------------------------------------------------------------------------------ showing


async def test_start_shows_status_header_and_vms():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "esx-test" in text and "ESX 4.0" in text
        assert "0:00:00" in text and "paused" in text
        assert "HIGH" in text  # the state as a word, not by colour alone
        for line in (
            "PMEM  /MB:",
            "VMKMEM/MB:",
            "PSHARE/MB:",
            "SWAP  /MB:",
            "ZIP   /MB:",
            "MEMCTL/MB:",
        ):
            assert line in text
        for name in ("web01", "web02", "app01", "db01", "spare01"):
            assert name in text
        for col in (
            "MEMSZ",
            "GRANT",
            "SZTGT",
            "TCHD",
            "%ACTV",
            "MCTL?",
            "MCTLSZ",
            "MCTLTGT",
            "SWCUR",
            "SWTGT",
            "SWR/s",
            "SWW/s",
            "ZIP",
            "SHRD",
            "ZERO",
            "SHRDSVD",
            "OVHD",
        ):
            assert col in text
        table = app.main.table
        assert table.row_count == 5
        assert table.cell("web01", "NAME") == "web01"


async def test_markup_in_vm_names_is_shown_as_text():
    profile = small_profile()
    profile.vms[0].name = "[bold red]evil[/]"
    app = make_app(profile)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        app.main.select_vm("[bold red]evil[/]")
        await settle(pilot)
        text = screen_text(app)
        assert "[bold red]evil[/]" in text
        await pilot.press("e")
        await settle(pilot)
        assert "[bold red]evil[/]" in screen_text(app)


async def test_space_runs_and_pauses_and_step_advances():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("space")
        assert app.session.running
        await pilot.pause(0.3)
        await pilot.press("space")
        assert not app.session.running
        t = app.session.host.t
        await pilot.press("full_stop")
        await settle(pilot)
        assert app.session.host.t == t + 1
        assert "paused" in screen_text(app)


async def test_speed_keys_and_clock_runs_at_speed():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        for _ in range(12):
            await pilot.press("plus")
        assert app.session.speed_x == 3600
        await pilot.press("minus")
        assert app.session.speed_x == 1800
        await settle(pilot)
        assert "30m/s" in screen_text(app)
        await pilot.press("space")
        await pilot.pause(0.6)
        await pilot.press("space")
        assert app.session.host.t > 60  # far faster than real time


async def test_state_word_follows_the_model():
    app = make_app(tight_profile())
    async with app.run_test(size=WIDE) as pilot:
        for _ in range(300):
            app.step(1)
            if app.session.host.state != "high":
                break
        await settle(pilot)
        state = app.session.host.state
        assert state != "high"
        assert f" {state.upper()} " in screen_text(app)
        assert f"{state} state" in screen_text(app)


async def test_event_log_shows_state_changes_and_power_events():
    app = make_app(tight_profile())
    async with app.run_test(size=WIDE) as pilot:
        app.step(600)
        await pilot.press("4")
        await settle(pilot)
        log = app.main.query_one(EventLog)
        kinds = {ev.kind for ev in log.events}
        assert {"power", "state"} <= kinds
        text = screen_text(app)
        assert "state" in text and "->" in text  # the newest at the bottom, in view
        assert any("powered on" in line.text for line in log.lines)


# ------------------------------------------------------------------------------------ table


async def test_sort_keys_and_header_and_persisted(home):
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        table = app.main.table
        assert table.shown_names == sorted(table.shown_names)
        await pilot.press("M")  # esxtop: sort by MEMSZ, biggest first
        await settle(pilot)
        sizes = [vm_config(app, n).memory_mb for n in table.shown_names]
        assert sizes == sorted(sizes, reverse=True)
        await pilot.press("I")
        await settle(pilot)
        sizes = [vm_config(app, n).memory_mb for n in table.shown_names]
        assert sizes == sorted(sizes)
        await pilot.press("greater_than_sign")
        await settle(pilot)
        assert table.sort_key != "MEMSZ"
        await pilot.press("N")
        await settle(pilot)
    saved = tomllib.loads((home / "settings.toml").read_text())
    assert saved["vm_table"]["sort"] == "NAME"
    # a new app reads the sort back
    app2 = make_app()
    async with app2.run_test(size=WIDE) as pilot:
        assert app2.main.table.sort_key == "NAME"


async def test_cursor_follows_selected_vm_when_order_changes():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await select(pilot, "web02")
        await pilot.press("M")
        await settle(pilot)
        assert app.main.selected_vm == "web02"


async def test_filter_with_slash_and_escape():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("slash")
        await pilot.press("w", "e", "b")
        await settle(pilot)
        table = app.main.table
        assert sorted(table.shown_names) == ["web01", "web02"]
        await pilot.press("enter")
        await settle(pilot)
        assert app.focused is table and table.filter_text == "web"
        await pilot.press("slash")
        await pilot.press("escape")
        await settle(pilot)
        assert table.row_count == 5 and table.filter_text == ""


async def test_columns_chosen_with_f_are_kept(home):
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, ColumnsScreen)
        sl = app.screen.query_one("SelectionList")
        sl.deselect("ZERO")
        sl.select("%ACTVS")
        await pilot.press("enter")
        await settle(pilot)
        keys = app.main.table.column_keys
        assert "ZERO" not in keys and "%ACTVS" in keys
        assert "%ACTVS" in screen_text(app)
    saved = tomllib.loads((home / "settings.toml").read_text())
    assert "%ACTVS" in saved["vm_table"]["columns"] and "ZERO" not in saved["vm_table"]["columns"]
    app2 = make_app()
    async with app2.run_test(size=WIDE):
        assert app2.main.table.column_keys == saved["vm_table"]["columns"]


async def test_settings_file_comments_survive_and_bad_values_are_reported(home):
    (home / "settings.toml").write_text(
        '# my settings\n[vm_table]\nsort = "NOPE"\n[keys]\n"sim.pause" = "space,z"\n'
    )
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        assert app.main.table.sort_key == "NAME"
        assert any("NOPE" in p for p in app._settings_problems)
        await pilot.press("z")  # the user's own key for run/pause
        assert app.session.running
        await pilot.press("z")
        await pilot.press("M")
        await settle(pilot)
    text = (home / "settings.toml").read_text()
    assert text.startswith("# my settings")
    assert '"sim.pause" = "space,z"' in text


# ------------------------------------------------------------------------------------ VMs


async def test_edit_vm_applies_and_logs():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await select(pilot, "web01")
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        await type_into(pilot, "#f-reservation_mb", "512")
        await type_into(pilot, "#f-limit_mb", "1800")
        await type_into(pilot, "#f-shares", "high")
        await type_into(pilot, "#f-max_balloon_mb", "300")
        app.screen.query_one("#f-page_sharing").value = False
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        vm = vm_config(app, "web01")
        assert (vm.reservation_mb, vm.limit_mb, vm.shares, vm.max_balloon_mb, vm.page_sharing) == (
            512,
            1800,
            "high",
            300,
            False,
        )
        assert app.session.dirty
        assert any("reservation_mb 0 -> 512" in ev.message for ev in app.session.host.log)
        await pilot.press("1")
        await settle(pilot)
        assert "reservation 512 MB" in screen_text(app)


async def test_edit_vm_bad_input_keeps_everything():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await select(pilot, "spare01")  # powered off: memory can change
        before = vm_config(app, "spare01")
        await pilot.press("e")
        await settle(pilot)
        await type_into(pilot, "#f-memory_mb", "20x0")
        assert "whole number of MB" in screen_text(app)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)  # still open, text kept
        assert app.screen.query_one("#f-memory_mb").value == "20x0"
        await type_into(pilot, "#f-memory_mb", "1024")
        await type_into(pilot, "#f-reservation_mb", "4096")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        assert "above the VM's memory" in screen_text(app)
        assert vm_config(app, "spare01") == before
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert vm_config(app, "spare01") == before


async def test_raised_reservation_refused_by_admission_control_with_shortfall():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await select(pilot, "app01")
        await pilot.press("e")
        await settle(pilot)
        assert app.screen.query_one("#f-memory_mb").disabled  # powered on
        await type_into(pilot, "#f-reservation_mb", "4096")
        # fill the host: reserve almost everything elsewhere first
        app.session.host.set_vm("db01", reservation_mb=4096)
        app.session.host.add_vm(VMConfig("hog", 16000, reservation_mb=9000, power="on"))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        text = screen_text(app)
        assert "Refused" in text and "short by" in text
        assert vm_config(app, "app01").reservation_mb == 0
        assert any(ev.kind == "admission" for ev in app.session.host.log)


async def test_power_on_refused_shows_shortfall():
    profile = small_profile()
    profile.vms[4] = VMConfig("spare01", 2048, reservation_mb=2048, power="off")
    profile.vms.append(VMConfig("hog", 12000, reservation_mb=11000))
    app = make_app(profile)
    async with app.run_test(size=WIDE) as pilot:
        await select(pilot, "spare01")
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)  # power on asks first, and says why not
        assert "Admission control will refuse it" in screen_text(app)
        assert "short by" in screen_text(app)
        await pilot.press("enter")  # Power on has the focus: try it anyway
        await settle(pilot)
        assert vm_config(app, "spare01").power == "off"
        assert any(
            ev.kind == "admission" and "short by" in ev.message for ev in app.session.host.log
        )
        await pilot.press("4")
        await settle(pilot)
        assert "short by" in screen_text(app)


async def test_power_off_asks_first_and_power_on():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await select(pilot, "web01")
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert vm_config(app, "web01").power == "on"
        await pilot.press("p")
        await settle(pilot)
        await pilot.click("#choice-off")
        await settle(pilot)
        assert vm_config(app, "web01").power == "off"
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "Admission control: web01 needs" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert vm_config(app, "web01").power == "off"
        await pilot.press("p")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert vm_config(app, "web01").power == "on"
        assert app.main.table.cell("web01", "STAT") in ("boot", "on")


async def test_add_clone_delete():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        await type_into(pilot, "#f-name", "new01")
        await type_into(pilot, "#f-memory_mb", "1G")
        await type_into(pilot, "#f-active_mb", "300")
        await pilot.press("enter")
        await settle(pilot)
        assert vm_config(app, "new01").memory_mb == 1024
        assert vm_config(app, "new01").power == "on"
        assert vm_config(app, "new01").workload.active_mb == 300
        assert app.main.selected_vm == "new01"

        await pilot.press("c")
        await settle(pilot)
        assert app.screen.query_one("#f-name").value == "new01-clone"
        await pilot.press("enter")
        await settle(pilot)
        clone = vm_config(app, "new01-clone")
        assert clone.power == "off" and clone.memory_mb == 1024

        await select(pilot, "new01-clone")
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")  # the focused button is Cancel: the safe choice
        await settle(pilot)
        assert "new01-clone" in [vm.name for vm in app.session.host.vms]
        await pilot.press("delete")
        await settle(pilot)
        await pilot.click("#choice-delete")
        await settle(pilot)
        assert "new01-clone" not in [vm.name for vm in app.session.host.vms]
        assert "new01-clone" not in app.main.table.shown_names


async def test_add_vm_bad_name_and_duplicate():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("a")
        await settle(pilot)
        await type_into(pilot, "#f-name", "web01")
        await pilot.press("enter")
        await settle(pilot)
        assert "exists already" in screen_text(app)
        await type_into(pilot, "#f-name", "  ")
        await pilot.press("enter")
        await settle(pilot)
        assert "needs a name" in screen_text(app)
        assert len(app.session.host.vms) == 5


async def test_edit_workload():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await select(pilot, "web01")
        await pilot.press("w")
        await settle(pilot)
        await type_into(pilot, "#f-active_mb", "1500")
        await type_into(pilot, "#f-schedule", "0s 100, 5m 900")
        await pilot.press("enter")
        await settle(pilot)
        wl = vm_config(app, "web01").workload
        assert wl.active_mb == 1500 and wl.schedule == [(0, 100.0), (300, 900.0)]
        await pilot.press("w")
        await settle(pilot)
        await type_into(pilot, "#f-zero_pct", "abc")
        await pilot.press("enter")
        await settle(pilot)
        assert "percentage" in screen_text(app)
        await type_into(pilot, "#f-zero_pct", "60")
        await type_into(pilot, "#f-family_pct", "50")
        await pilot.press("enter")
        await settle(pilot)
        assert "at most 100 %" in screen_text(app)
        assert vm_config(app, "web01").workload.zero_pct == 15


# ------------------------------------------------------------------------------------ advanced


async def test_advanced_settings_pane_and_edit():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("5")
        await settle(pilot)
        text = screen_text(app)
        assert "Mem.IdleTax" in text and "idle memory tax rate" in text and "0-99" in text
        table = app.main.query_one(AdvancedTable)
        assert app.focused is app.main.table  # beside the VM list, the list keeps the keys
        await pilot.press("tab")  # Tab goes into the pane
        await settle(pilot)
        assert app.focused is table
        await pilot.press("enter")  # first row: Mem.IdleTax
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        await type_into(pilot, "#f-value", "abc")
        await pilot.press("enter")
        await settle(pilot)
        assert "whole number from 0 to 99" in screen_text(app)
        await type_into(pilot, "#f-value", "100")
        await pilot.press("enter")
        await settle(pilot)
        assert "must be 0 to 99" in screen_text(app)
        assert app.session.host.advanced["Mem.IdleTax"] == 75
        await type_into(pilot, "#f-value", "40")
        await pilot.press("enter")
        await settle(pilot)
        assert app.session.host.advanced["Mem.IdleTax"] == 40
        assert "Mem.IdleTax *" in screen_text(app)
        await pilot.press("d")  # back to the default
        await settle(pilot)
        assert app.session.host.advanced["Mem.IdleTax"] == 75


async def test_advanced_setting_of_a_later_release_is_refused():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        app.main.edit_advanced("Mem.MemZipEnable")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert "4.1" in " ".join(n.message for n in app._notifications)


# ------------------------------------------------------------------------------------ files

COMMENTED = """# my lab host: keep this comment
format = 1

[host]
name = "esx-file"  # the name
memory_mb = 8192

[[vm]]
name = "a1"   # first VM
memory_mb = 1024
"""


def write_profile(folder: Path, name: str = "mine.toml", text: str = COMMENTED) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def app_on_file(path: Path, **kw):
    from memtui.model import Host
    from memtui.profile import load_profile
    from memtui.ui.app import MemtuiApp

    profile = load_profile(path)
    kw.setdefault("paused", True)
    kw.setdefault("self_usage", False)
    return MemtuiApp(Host.from_profile(profile), profile, **kw)


async def test_save_keeps_comments(tmp_path):
    path = write_profile(tmp_path / "p")
    app = app_on_file(path)
    async with app.run_test(size=WIDE) as pilot:
        assert not app.session.dirty
        app.session.set_vm("a1", reservation_mb=256)
        app.refresh_view()
        await settle(pilot)
        assert "[modified]" in screen_text(app)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not app.session.dirty
        assert "[modified]" not in screen_text(app)
    text = path.read_text()
    assert "# my lab host: keep this comment" in text and "# first VM" in text
    assert "reservation_mb = 256" in text


async def test_save_as_and_read_only_directory_loses_nothing(tmp_path, home):
    path = write_profile(tmp_path / "p")
    app = app_on_file(path)
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o555)
    target = locked / "x.toml" if os.geteuid() != 0 else Path("/proc/memtui-test/x.toml")
    async with app.run_test(size=WIDE) as pilot:
        app.session.set_vm("a1", reservation_mb=128)
        await pilot.press("W")
        await settle(pilot)
        assert isinstance(app.screen, SaveAsScreen)
        await type_into(pilot, "#saveas-path", str(target))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SaveAsScreen)
        assert "Not saved" in screen_text(app)
        assert app.session.dirty and vm_config(app, "a1").reservation_mb == 128
        assert not target.exists()
        # a bare name goes to the user's profile folder
        await type_into(pilot, "#saveas-path", "copy")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert not app.session.dirty
    os.chmod(locked, 0o755)
    saved = home / "profiles" / "copy.toml"
    assert "reservation_mb = 128" in saved.read_text()
    assert "keep this comment" in saved.read_text()


async def test_saving_an_untitled_profile_asks_for_a_name(home):
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, SaveAsScreen)
        await type_into(pilot, "#saveas-path", "lab")
        await pilot.press("enter")
        await settle(pilot)
        assert (home / "profiles" / "lab.toml").exists()
        assert app.session.path == str(home / "profiles" / "lab.toml")


async def test_quit_with_unsaved_changes_asks(tmp_path):
    path = write_profile(tmp_path / "p")
    app = app_on_file(path)
    async with app.run_test(size=WIDE) as pilot:
        app.session.set_vm("a1", reservation_mb=64)
        await pilot.press("q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen) and app.is_running
        await pilot.press("q")
        await settle(pilot)
        await pilot.click("#choice-quit")
        await settle(pilot)
    assert app.return_code == 0
    assert "reservation_mb = 64" not in path.read_text()


async def test_quit_without_changes_exits_at_once(tmp_path):
    app = app_on_file(write_profile(tmp_path / "p"))
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("q")
        await settle(pilot)
    assert app.return_code == 0


async def test_open_profile_lists_and_refuses_a_bad_one(home, tmp_path):
    mine = home / "profiles"
    write_profile(mine, "good.toml")
    write_profile(mine, "broken.toml", '[host]\nname = 1\nmemory_mb = "lots"\n')
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)  # an untitled profile: unsaved
        await pilot.click("#choice-discard")
        await settle(pilot)
        assert isinstance(app.screen, OpenProfileScreen)
        text = screen_text(app)
        assert "good.toml" in text and "broken.toml" in text and "yours" in text
        names = [p.name for _, p in app.screen.profiles]
        await type_into(pilot, "#open-path", str(mine / "broken.toml"))
        await pilot.press("enter")
        await settle(pilot)
        text = screen_text(app)
        assert "cannot be opened" in text and "memory_mb" in text
        assert app.session.host.config.name == "esx-test"
        ol = app.screen.query_one("#open-list")
        ol.highlighted = names.index("good.toml")
        ol.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert app.session.host.config.name == "esx-file"
        assert app.main.table.shown_names == ["a1"]


def test_run_with_a_bad_profile_prints_problems_and_returns_2(tmp_path, capsys):
    from memtui.ui.app import run

    bad = write_profile(tmp_path, "bad.toml", '[host]\nname = "x"\nmemory_mb = -5\n')
    assert run(str(bad), headless=True) == 2  # the UI starts, reads it in its worker, closes
    err = capsys.readouterr().err
    assert "bad.toml" in err and "memory_mb" in err
    assert run(str(tmp_path / "missing.toml")) == 2
    assert "cannot read" in capsys.readouterr().err


def test_run_with_an_unknown_theme_returns_2(tmp_path, capsys):
    from memtui.ui.app import run

    good = write_profile(tmp_path)
    assert run(str(good), theme="no-such-theme") == 2
    assert "ansi-dark" in capsys.readouterr().err


# ------------------------------------------------------------------------------------ modes


async def test_readonly_changes_and_saves_nothing(tmp_path):
    path = write_profile(tmp_path / "p")
    before = path.read_text()
    app = app_on_file(path, readonly=True)
    async with app.run_test(size=WIDE) as pilot:
        for key in ("e", "w", "p", "a", "c", "d", "ctrl+s", "W"):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, MainScreen), key
        assert vm_config(app, "a1").power == "on"
        assert len(app.session.host.vms) == 1
        assert "read-only" in screen_text(app)
        await pilot.press("5", "enter")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        with pytest.raises(Exception, match="read-only"):
            app.session.set_vm("a1", reservation_mb=1)
        await pilot.press("q")
        await settle(pilot)
    assert app.return_code == 0  # no question on quit
    assert path.read_text() == before


async def test_theme_ansi_dark_and_no_color(monkeypatch):
    app = make_app(theme="ansi-dark")
    async with app.run_test(size=WIDE):
        assert app.theme == "ansi-dark"
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert app.no_color
        assert "HIGH" in screen_text(app)


async def test_too_small_names_the_size_needed():
    app = make_app()
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "at least 80x24" in text and "60x20" in text
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert "at least" not in screen_text(app)


async def test_80x24_folds_secondary_panes():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        main = app.main
        assert main.has_class("-folded") and not main.side_visible
        assert "MEMSZ" in screen_text(app)
        await pilot.press("2")
        await settle(pilot)
        assert main.side_visible and main.active_view == "charts"
        assert "MEMSZ" not in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert not main.side_visible and "MEMSZ" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert main.active_view == "vm" and "Overhead" in screen_text(app)


async def test_help_screen():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert "run or pause the simulation clock" in text
        await pilot.press("end")
        await settle(pilot)
        text = screen_text(app)
        assert "esxtop fields not modelled" in text
        while "Machine memory saved by page sharing" not in text:
            before = text
            await pilot.press("pageup")
            await settle(pilot)
            text = screen_text(app)
            assert text != before, "the column meanings are not in the help"
        assert "SHRDSVD" in text
        keys = {k for _, k, _ in app.key_help()}
        assert "space" in keys
        all_text = " ".join(w for _, _, w in app.key_help())
        assert "filter the VM list" in all_text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)


async def test_command_palette_powers_off_a_vm():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("colon")
        await settle(pilot)
        await pilot.press(*"power off web02")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot, 4)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.click("#choice-off")
        await settle(pilot)
        assert vm_config(app, "web02").power == "off"


async def test_command_palette_lists_namespaced_commands():
    from memtui.ui.commands import build_commands

    app = make_app()
    async with app.run_test(size=WIDE):
        titles = [c[0] for c in build_commands(app.main)]
        for wanted in (
            "vm: power on spare01",
            "vm: power off web01",
            "profile: save as...",
            "view: memory map",
            "profile: new from this machine",
            "sim: speed 1h/s",
        ):
            assert wanted in titles
    app = make_app(readonly=True)
    async with app.run_test(size=WIDE):
        titles = [c[0] for c in build_commands(app.main)]
        assert not any(t.startswith(("vm: power", "vm: edit", "profile: save")) for t in titles)


async def test_new_profile_from_this_machine():
    import psutil

    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        app.confirm_discard(app.new_from_machine, "x")
        await settle(pilot)
        await pilot.click("#choice-discard")
        await settle(pilot)
        cfg = app.session.host.config
        assert cfg.memory_mb == psutil.virtual_memory().total // (1024 * 1024)
        assert cfg.cpu_cores == (psutil.cpu_count(logical=False) or psutil.cpu_count())
        assert app.session.host.vms == []
        assert "No VMs on this host" in screen_text(app)
        assert app.session.dirty


async def test_status_shows_memtuis_own_memory_and_cpu():
    app = make_app(self_usage=True)
    async with app.run_test(size=WIDE) as pilot:
        for _ in range(60):  # the first reading comes once the first frame is up
            await pilot.pause(0.05)
            if "%cpu" in screen_text(app) and app.main._side_ready:  # not closing mid-mount
                break
        await settle(pilot)
        assert "memtui " in screen_text(app) and "%cpu" in screen_text(app)


async def test_vm_detail_shows_overhead_source_bar_and_history():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await select(pilot, "app01")
        app.step(30)
        app.step(30)
        await pilot.press("1")
        await settle(pilot)
        text = screen_text(app)
        assert "ESX 4.0 table 3-2" in text and "242.51" in text
        assert "private" in text and "untouched" in text  # the VM memory bar's legend
        assert "consumed" in text and "range" in text  # recent history
        await pilot.press("3")
        await settle(pilot)
        assert app.main.active_view == "map"
        await pilot.press("2")
        await settle(pilot)
        assert app.main.active_view == "charts"


async def test_escape_backs_out_everywhere():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        for key in ("e", "w", "a", "c", "f", "question_mark", "ctrl+o", "s"):
            await pilot.press(key)
            await settle(pilot)
            if isinstance(app.screen, ConfirmScreen):  # ctrl+o on an unsaved profile asks
                await pilot.press("escape")
                await settle(pilot)
            else:
                assert not isinstance(app.screen, MainScreen), key
                await pilot.press("escape")
                await settle(pilot)
            assert isinstance(app.screen, MainScreen), key
        await pilot.press("4", "tab")
        await settle(pilot)
        assert app.focused is not app.main.query_one(VMTable)
        await pilot.press("escape")
        await settle(pilot)
        assert app.focused is app.main.query_one(VMTable)


async def test_refresh_delay_with_s(home):
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        assert app.settings.refresh_s == 5.0  # from the current 1 s, two down
    assert tomllib.loads((home / "settings.toml").read_text())["ui"]["refresh_s"] == 5.0


async def test_table_updates_by_difference():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        table = app.main.table
        await settle(pilot)
        table._row_strip("spare01")
        table._row_strip("web01")
        off_row = table._strips["spare01"]
        web_row = table._strips["web01"]
        app.step(20)
        await settle(pilot)
        assert table._strips.get("spare01") is off_row  # a row that did not change is kept
        assert table._strips.get("web01") is not web_row
        assert table.cell("web01", "GRANT") != "0"


def host_with(vms: list[VMConfig]) -> Profile:
    return Profile(HostConfig("h", 8192), vms=vms)


async def test_empty_host_and_workload_idle_guest():
    app = make_app(host_with([]))
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert "No VMs on this host" in screen_text(app)
        await pilot.press("e")  # nothing selected: a message, no crash
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
    app = make_app(host_with([VMConfig("x", 1024, workload=Workload())]))
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("w")
        await settle(pilot)
        assert app.screen.query_one("#f-active_mb").value == "idle"


async def test_restricted_mode_keeps_files_in_the_users_folder(home):
    app = make_app(restricted=True)
    async with app.run_test(size=WIDE) as pilot:
        assert "restricted" in screen_text(app)
        await pilot.press("W")
        await settle(pilot)
        await type_into(pilot, "#saveas-path", "/tmp/elsewhere.toml")
        await pilot.press("enter")
        await settle(pilot)
        assert "restricted mode" in screen_text(app)
        await type_into(pilot, "#saveas-path", "mine")
        await pilot.press("enter")
        await settle(pilot)
        assert (home / "profiles" / "mine.toml").exists()
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert isinstance(app.screen, OpenProfileScreen)
        assert not app.screen.query("#open-path")  # no typing a path
