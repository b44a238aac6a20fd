"""What a new user of esxtop or htop expects of the terminal UI: a paused screen that is the
state, checkboxes that read on or off, focus that is always visible, charts that can be read,
fields that get the keys typed into them, dialogs that say what Enter does, nothing cut off at
80 columns, and the command line and read-only mode as the README says."""

from __future__ import annotations

import re

from textual import events

from memtui import paths
from memtui.config import HostConfig, Profile, VMConfig, Workload
from memtui.practice.labfile import load_lab
from memtui.ui.app import MemtuiApp
from memtui.ui.columns import COLUMNS
from memtui.ui.dialogs import ColumnsScreen, ConfirmScreen, SaveAsScreen
from memtui.ui.forms import FormScreen
from memtui.ui.help import HelpScreen
from memtui.ui.hostpane import header_lines
from memtui.ui.screen import MainScreen
from memtui.ui.status import StatusLine

from .conftest import big_profile, make_app, screen_text, settle, small_profile, tight_profile

WIDE = (160, 50)
SMALL = (80, 24)


def lab_app(name: str, **kw) -> MemtuiApp:
    lab = load_lab(name)
    kw.setdefault("paused", True)
    kw.setdefault("self_usage", False)
    return MemtuiApp(lab.new_host(), lab.profile, lab=lab, **kw)


def style_at(app, needle: str):
    """The style of the first character of `needle` where the screen shows it, or None."""
    for strip in app.screen._compositor.render_strips():
        text = strip.text
        if needle not in text:
            continue
        at, x = text.index(needle), 0
        for segment in strip:
            if x <= at < x + len(segment.text):
                return segment.style
            x += len(segment.text)
    return None


def lines_with(app, needle: str) -> list[str]:
    return [line for line in screen_text(app).splitlines() if needle in line]


async def burst(pilot, keys: list[str]) -> None:
    """Keys as a terminal delivers fast typing: all queued before the app handles the first."""
    for key in keys:
        pilot.app.post_message(events.Key(key, key if len(key) == 1 else None))
    await settle(pilot, 6)


# ------------------------------------------------------------------------------- the clock


async def test_pause_shows_the_exact_state_and_step_moves_one_second():
    app = make_app(small_profile(), speed_x=3600)
    app.settings.refresh_s = 30.0  # while running, the screen is not redrawn in this test
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("space")
        await pilot.pause(0.5)
        await pilot.press("space")
        await settle(pilot)
        host, main = app.session.host, app.main
        assert host.t > 60  # it ran at an hour a second
        assert main.snapshot.t == host.t  # the paused screen is the state the clock stopped at
        assert app.main.query_one(StatusLine).plain.count(_clock(host.t)) == 1
        t = host.t
        await pilot.press("full_stop")
        await settle(pilot)
        assert host.t == t + 1 and main.snapshot.t == t + 1
        # `.` while running pauses first, then moves one second from what is shown.
        await pilot.press("space")
        await pilot.pause(0.3)
        await pilot.press("full_stop")
        await settle(pilot)
        assert not app.session.running
        assert main.snapshot.t == host.t


async def test_paused_lab_shows_what_the_lab_checks():
    app = lab_app("limit-balloon", speed_x=600)
    app.settings.refresh_s = 30.0
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot, 3)
        await pilot.press("space")
        await pilot.pause(0.5)
        await pilot.press("space")
        await settle(pilot)
        lab = app.session.lab
        assert lab.elapsed_s > 30
        assert app.main.snapshot.t == app.session.host.t
        assert f"{_clock(lab.elapsed_s)} of 0:20:00 simulated" in screen_text(app)


def _clock(seconds: float) -> str:
    from memtui.config import format_clock

    return format_clock(seconds)


# ------------------------------------------------------------------------------- forms


async def test_checkboxes_read_on_and_off_and_enter_applies_the_form(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        app.main.select_vm("web01")
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        assert "▐X▌ on" in lines_with(app, "VMware Tools")[0]
        form.query_one("#f-tools").focus()
        await pilot.press("space")
        await settle(pilot)
        row = lines_with(app, "VMware Tools")[0]
        assert "▐ ▌ off" in row and "X" not in row.split("VMware Tools")[1]
        assert "▐X▌ on" in lines_with(app, "Page sharing")[0]
        await pilot.press("enter")  # on the checkbox: applies the form, does not toggle
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        host = app.session.host
        assert host.vms[host.index("web01")].tools is False


async def test_fast_typing_across_tab_on_a_busy_320_vm_host_keeps_each_field():
    app = make_app(big_profile(), paused=False, speed_x=3600)
    async with app.run_test(size=(124, 40)) as pilot:
        await settle(pilot, 3)
        await pilot.pause(1.0)  # the clock runs flat out
        await pilot.press("e")
        await settle(pilot, 3)
        form = app.screen
        assert isinstance(form, FormScreen) and app.focused.id == "f-reservation_mb"
        await burst(pilot, [*"123", "tab", *"4096", "tab", *"high", "shift+tab", *"8192"])
        values = {w.id: w.value for w in form.query("Input")}
        assert values["f-reservation_mb"] == "123"
        assert values["f-limit_mb"] == "8192"  # back with shift+tab: the field's text replaced
        assert values["f-shares"] == "high"


async def test_save_as_proposes_a_name_that_typing_replaces(home, tmp_path):
    app = make_app()  # an untitled profile: save as proposes a name in the profile folder
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("W")
        await settle(pilot)
        assert isinstance(app.screen, SaveAsScreen)
        field = app.screen.query_one("#saveas-path")
        assert field.value == "esx-test.toml"  # the name, not the folder
        await pilot.press(*"myhost", "enter")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
    assert (home / "profiles" / "myhost.toml").is_file()
    assert not list((home / "profiles").glob("esx-test*"))
    # A profile of one's own elsewhere: the whole path is proposed, and typing replaces it.
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        app.session.save(tmp_path / "mine.toml")
        await pilot.press("W")
        await settle(pilot)
        assert app.screen.query_one("#saveas-path").value == str(tmp_path / "mine.toml")
        await pilot.press(*"other", "enter")
        await settle(pilot)
    assert (home / "profiles" / "other.toml").is_file()


# ------------------------------------------------------------------------------- focus


async def test_view_keys_leave_the_vm_list_its_keys():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        table = app.main.table
        for view in "1234567":
            before = table.cursor_row
            await pilot.press(view)
            await settle(pilot)
            assert app.focused is table, view
            await pilot.press("j")
            await settle(pilot)
            assert table.cursor_row == min(before + 1, table.row_count - 1), view
            await pilot.press("k")


async def test_lab_pane_at_80x24_takes_typed_answers_and_space_still_runs():
    app = lab_app("limit-balloon")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, 3)
        app.step(300)
        await settle(pilot)
        balloon = app.main.snapshot.vm("web01").balloon_mb
        assert balloon > 1000
        await pilot.press(*f"{balloon:.0f}", "enter")
        await settle(pilot)
        assert app.main.active_view == "lab"  # the digits were the answer, not view keys
        assert app.session.lab.status("balloon-size").status == "met"
        assert not app.session.lab.finished  # Enter answered; it did not end the lab
        await pilot.press("space")
        assert app.session.running


async def test_focus_is_visible_without_colour(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        app.step(5)
        await pilot.press("4")
        await settle(pilot)
        row = app.main.table.selected_name
        assert style_at(app, f" {row} ").reverse  # the VM list has the focus
        assert not style_at(app, "4 Log").reverse
        await pilot.press("tab")
        await settle(pilot)
        assert app.focused is not app.main.table
        assert style_at(app, "4 Log").reverse  # now the log has it
        cursor = style_at(app, f" {row} ")
        assert cursor.underline and not cursor.reverse  # the list's cursor, without the focus


async def test_dialogs_mark_the_focused_button_and_enter_takes_the_power_action():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        app.main.select_vm("web01")
        await settle(pilot)
        for expected, key_button in (("off", "Power off"), ("on", "Power on")):
            await pilot.press("p")
            await settle(pilot)
            assert isinstance(app.screen, ConfirmScreen)
            text = screen_text(app)
            assert f"▸{key_button}◂" in text and "▸Cancel◂" not in text
            await pilot.press("tab")
            await settle(pilot)
            assert f"▸{key_button}◂" not in screen_text(app)  # the mark moves with the focus
            await pilot.press("shift+tab")
            await pilot.press("enter")
            await settle(pilot)
            host = app.session.host
            assert host.vms[host.index("web01")].power == expected


# ------------------------------------------------------------------------------- charts


def _profile_41() -> Profile:
    host = HostConfig(name="esx-41", esx_version="4.1", memory_mb=8192, system_mb=800, seed=3)
    vms = [VMConfig(f"vm{i}", 3072, content_family="win2008",
                    workload=Workload(active_mb=2000, boot_s=20)) for i in range(4)]
    return Profile(host=host, vms=vms)


async def _charts(app, size, seconds=900):
    async with app.run_test(size=size) as pilot:
        await settle(pilot, 3)
        app.step(seconds)
        await pilot.press("2")
        await settle(pilot, 4)
        await pilot.pause(0.1)
        await settle(pilot)
        chart = app.main.query_one("#host-chart")
        return chart.size.height, screen_text(app), app.main.query_one("#vm-chart").display


async def test_charts_can_be_read_at_100x30_and_200x60():
    height, text, vm_chart = await _charts(make_app(tight_profile()), (100, 30))
    assert height >= 20  # not two rows
    plot = text.split("host memory, MB")[1]
    for label in ("├high", "├soft", "├hard"):  # each threshold on a row of its own
        assert label in plot, label
    assert "0.01" not in plot and "0:00" in plot and "5:00" in plot  # clock ticks
    assert "z zipped" not in plot  # ESX 4.0 has no memory compression
    height, text, vm_chart = await _charts(make_app(_profile_41()), (200, 60))
    assert height >= 20 and vm_chart
    plot = text.split("host memory, MB")[1]
    for label in ("├high", "├soft", "├hard"):
        assert label in plot, label
    assert "z zipped" in plot  # 4.1 compresses


# ------------------------------------------------------------------------------- 80 columns


async def test_nothing_is_cut_at_80_columns():
    app = make_app(tight_profile())
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        app.step(30)
        await settle(pilot)
        header = next(line for line in screen_text(app).splitlines() if line.startswith(" NAME"))
        assert all(word.rstrip("▲▼") in COLUMNS for word in header.split())  # whole columns only
        await pilot.press("5")
        await settle(pilot, 3)
        text = screen_text(app)
        assert "n/a (4.1+)" in text and "n/a (6.x+)" in text
    app = lab_app("swap-storm")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, 3)
        app.set_running(True)
        app.behind, app.session.achieved_x = True, 140.0
        app.session.set_speed(3600)
        app.main.update_status()
        await settle(pilot)
        status = screen_text(app).splitlines()[0]
        # the clock runs while the screen settles, so the minutes left may have moved on
        assert "…" not in status and re.search(r"lab swap-storm \d\d:\d\d left$", status.rstrip())


def test_host_header_fits_80_columns_on_a_1_tb_host():
    from memtui.model import Host

    snap = Host.from_profile(big_profile()).snapshot()
    lines = [line.plain for line in header_lines(snap.host, 79)]
    assert all(len(line) <= 79 for line in lines)
    assert lines[1].startswith("VMKMEM/MB:") and lines[1].endswith(snap.host.state)
    assert lines[5].endswith("max")


# ------------------------------------------------------------------------------- esxtop header


async def loaded(pilot) -> None:
    """Wait for the profile to load (after the first frame, as `memtui PROFILE` does)."""
    for _ in range(100):
        await pilot.pause(0.05)
        if pilot.app.session is not None:
            break
    await settle(pilot, 3)


async def test_header_lines_show_at_124_columns_and_wider_from_the_start():
    from memtui.ui.app import app_for_profile

    for size in ((124, 40), (140, 40), (200, 60)):
        app = app_for_profile(paths.bundled_profiles_dir() / "default.toml", paused=True,
                              self_usage=False)
        async with app.run_test(size=size) as pilot:
            await loaded(pilot)
            app.step(30)
            await settle(pilot)
            text = screen_text(app)
            for head in ("PMEM  /MB:", "VMKMEM/MB:", "PSHARE/MB:", "SWAP  /MB:", "ZIP   /MB:",
                         "MEMCTL/MB:"):
                assert head in text, (size, head)
            assert "max" in lines_with(app, "MEMCTL/MB:")[0]


async def test_column_chooser_marks_only_the_shown_columns_without_colour(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    async with app.run_test(size=(124, 40)) as pilot:
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, ColumnsScreen)
        shown = set(app.main.table.column_keys)
        seen = 0
        for line in screen_text(app).splitlines():
            if "▐" not in line:
                continue
            key = line.split("▌", 1)[1].split()[0]
            mark = line.split("▐", 1)[1][0]
            assert mark == ("X" if key in shown else " "), line
            seen += 1
        assert seen >= 10


# ------------------------------------------------------------------------------- read-only, h


async def test_readonly_keeps_editing_keys_out_of_the_footer_and_says_why(tmp_path):
    app = make_app(readonly=True)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot, 3)
        footer = screen_text(app).splitlines()[-1]
        for word in ("Edit", "Power"):
            assert word not in footer, footer
        for key in ("e", "p", "ctrl+s"):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, MainScreen)
        notes = [n.message for n in app._notifications]
        assert len([n for n in notes if "Read-only" in n]) == 3


async def test_h_outside_a_lab_opens_help_and_in_a_lab_gives_a_hint():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("h")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
    app = lab_app("limit-balloon")
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot, 3)
        await pilot.press("escape")  # back to the VM list
        await pilot.press("h")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen) and app.session.lab.hints_used == 1


async def test_readonly_on_a_lab_file_opens_the_lab(tmp_path):
    from memtui.ui.app import app_for_path, is_lab_file  # what `memtui FILE` runs

    lab_file = paths.bundled_labs_dir() / "limit-balloon.toml"
    mine = tmp_path / "my-lab.toml"
    mine.write_text(lab_file.read_text())
    assert is_lab_file(mine) and not is_lab_file(paths.bundled_profiles_dir() / "default.toml")
    app = app_for_path(mine, readonly=True, self_usage=False)
    async with app.run_test(size=SMALL) as pilot:
        await loaded(pilot)
        assert app.load_problems == []
        assert app.session.lab is not None and app.session.readonly
        assert not app.session.running  # a lab starts paused, on its briefing
        text = screen_text(app)
        assert "A limit that balloons a VM on an idle host" in text and "read-only" in text
