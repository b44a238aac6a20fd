"""Practice features in the terminal UI: the lab pane (briefing, objectives, hints, answers,
result and progress), the "why" pane, what-if previews, restricted mode, and the first frame
before the model is loaded. Each test drives the real app with Pilot."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from memtui.config import VMConfig
from memtui.model import Host
from memtui.practice.explain import explain_host, explain_vm
from memtui.practice.labfile import load_lab
from memtui.practice.progress import ProgressStore
from memtui.session import Refused
from memtui.ui.app import LoadError, MemtuiApp
from memtui.ui.dialogs import ConfirmScreen, OpenProfileScreen, SaveAsScreen
from memtui.ui.forms import FormScreen
from memtui.ui.labpane import LabPane
from memtui.ui.preview import PreviewScreen
from memtui.ui.screen import MainScreen
from memtui.ui.whypane import WhyPane

from .conftest import make_app, screen_text, settle, small_profile

WIDE = (160, 50)
SMALL = (80, 24)


def lab_app(name: str = "limit-balloon", **kw) -> MemtuiApp:
    lab = load_lab(name)
    kw.setdefault("paused", True)
    kw.setdefault("self_usage", False)
    return MemtuiApp(lab.new_host(), lab.profile, lab=lab, **kw)


def vm_config(app, name):
    host = app.session.host
    return host.vms[host.index(name)]


async def wait_workers(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await settle(pilot, 3)


async def palette_search(pilot, text: str) -> None:
    """Open the command palette with `text` typed into it."""
    await pilot.press("colon")
    await settle(pilot)
    pilot.app.screen.query_one("CommandInput").value = text
    for _ in range(20):  # the providers answer (the labs are read in a thread)
        await pilot.pause(0.05)
        if text.split()[-1] in screen_text(pilot.app):
            break
    await settle(pilot)


async def open_palette_command(pilot, text: str) -> None:
    """Type into the command palette and run the first match."""
    await palette_search(pilot, text)
    await pilot.press("enter")
    await settle(pilot, 3)


# ------------------------------------------------------------------------------------ labs


async def test_lab_pane_shows_briefing_rules_and_objectives_at_80x24():
    app = lab_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, 3)
        main = app.main
        assert main.active_view == "lab" and main.side_visible  # opens on the briefing
        text = screen_text(app)
        assert "A limit that balloons a VM on an idle host" in text
        assert "level 2 (basic)" in text and "0:20:00 left" in text
        assert "lab limit-balloon 20:00 left" in text  # in the status line too
        assert "Briefing" in text and "The web team says web01 is slow" in text
        pane = app.main.query_one(LabPane)
        # The focus is in the question's answer field (typed digits are the answer), and the
        # briefing stays in view; PgUp / PgDn still scroll the pane.
        assert pane.has_focus_within and app.focused.id == "answer-balloon-size"
        assert "Briefing" in screen_text(app)
        await pilot.press("pagedown")
        await settle(pilot)
        assert pane.scroll_y > 0
        pane.scroll_home(animate=False)
        pane.scroll_to_widget(pane.query_one("#lab-rules"), animate=False, top=True)
        await settle(pilot)
        text = " ".join(screen_text(app).split())
        assert "not the guests' workloads." in text and "At most 1 change" in text
        pane.scroll_end(animate=False)
        await settle(pilot)
        text = screen_text(app)
        for status in app.session.lab.statuses:
            assert status.text[:40] in text
        assert "Hints: 0 of 3 used" in text


async def test_lab_solved_through_the_ui_passes_and_its_progress_survives(home):
    lab = load_lab("limit-balloon")
    ProgressStore().record_start(lab)  # as `memtui lab start` does
    app = lab_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot, 3)
        session = app.session
        app.step(300)  # 5:00: web01's balloon has settled
        await settle(pilot)
        # The question: the balloon on the screen, typed into the lab pane.
        balloon = app.main.snapshot.vm("web01").balloon_mb
        assert balloon > 1000
        answer = app.main.query_one("#answer-balloon-size")
        answer.focus()
        answer.value = f"{balloon:.0f}"
        await pilot.press("enter")
        await settle(pilot)
        assert session.lab.status("balloon-size").status == "met"
        # The fix, through the VM form: web01's limit goes.
        app.main.select_vm("web01")
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        app.screen.query_one("#f-limit_mb").value = "unlimited"
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert vm_config(app, "web01").limit_mb is None
        assert session.lab.changes == 1  # the change went through the lab
        app.step(900)  # to 20:00: the lab ends with its time
        await settle(pilot, 3)
        assert session.lab.finished and session.lab.passed
        assert session.lab.elapsed_s == 1200  # the clock stopped where the lab ended
        assert not session.running
        app.step(10)  # after the end the simulation may go on, uncounted
        app.main.show_view("lab")
        await settle(pilot)
        text = screen_text(app)
        assert "PASSED" in text and "4 of 4 objectives met" in text
        assert "1 change made" in text and "0 hints used" in text
    progress = ProgressStore().get("limit-balloon")
    assert progress.status == "passed" and progress.best["passed"] is True
    assert progress.best["changes"] == 1
    # A new app on the lab shows the record.
    again = lab_app()
    async with again.run_test(size=WIDE) as pilot:
        await settle(pilot, 3)
        assert "your best: passed, 4 of 4 objectives met, 1 change, 0 hints" in screen_text(again)


async def test_lab_hint_answers_and_refusals():
    app = lab_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot, 3)
        lab = app.session.lab
        await pilot.press("h")
        await settle(pilot)
        assert lab.hints_used == 1
        assert "1. Compare web01 and web02" in screen_text(app)
        # Answers: not a number, wrong, right.
        field = app.main.query_one("#answer-balloon-size")
        field.focus()
        field.value = "lots"
        await pilot.press("enter")
        await settle(pilot)
        assert "an answer is a number" in screen_text(app)
        assert lab.status("balloon-size").tries == 0
        field.value = "1"
        await pilot.press("enter")
        await settle(pilot)
        assert "not right; 2 tries left" in screen_text(app)
        app.main.table.focus()
        # Refused: the workload, and adding a VM.
        await pilot.press("w")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert "workload" in screen_text(app)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        with pytest.raises(Refused, match="not part of the lab"):
            app.session.add_vm(VMConfig("extra", 1024))
        # A change that cannot be made is not counted and says why.
        await pilot.press("e")
        await settle(pilot)
        app.screen.query_one("#f-reservation_mb").value = "99999"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        assert "above the VM's memory" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert lab.changes == 0 and not app.session.dirty
        # Quitting while the lab runs asks first: it would end the lab.
        await pilot.press("q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen) and "still running" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert app.is_running and app.session.lab_running


async def test_lab_ends_when_time_is_up_and_when_given_up(home):
    app = lab_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot, 3)
        app.set_running(True)
        app.session.set_speed(3600)
        app.step(1190)
        await settle(pilot)
        for _ in range(40):  # the running clock reaches 20:00 and stops there
            await pilot.pause(0.05)
            if app.session.lab.finished:
                break
        await settle(pilot)
        assert app.session.lab.finished and not app.session.running
        assert app.session.lab.elapsed_s == 1200
        assert "NOT PASSED" in screen_text(app)
    assert ProgressStore().get("limit-balloon").status == "failed"
    # Giving up: lab: end asks first, then fails what is undecided.
    app = lab_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot, 3)
        app.step(30)
        await open_palette_command(pilot, "lab: end")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.click("#choice-end")
        await settle(pilot)
        lab = app.session.lab
        assert lab.finished and lab.ended_early
        assert "ended early" in screen_text(app)
    last = ProgressStore().get("limit-balloon").last
    assert last["ended_early"] is True and last["elapsed_s"] == 30


async def test_lab_open_from_the_palette_lists_labs_with_level_and_progress(home):
    ProgressStore().record_start(load_lab("idle-tax"))
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await palette_search(pilot, "lab: open")
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "lab: open limit-balloon" in text and "level 2 (basic)" in text
        assert "started" in text  # idle-tax's progress
        await pilot.press("escape")
        await settle(pilot)
        await open_palette_command(pilot, "lab: open limit-balloon")
        if isinstance(app.screen, ConfirmScreen):  # the untitled profile: unsaved
            await pilot.click("#choice-discard")
            await settle(pilot, 3)
        assert app.session.lab is not None and app.session.lab.lab.name == "limit-balloon"
        assert app.main.active_view == "lab" and not app.session.running
        assert "The web team says" in screen_text(app)
        # Opening another profile while it runs asks to end it first.
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen) and "still running" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert app.session.lab_running
    assert ProgressStore().get("limit-balloon").attempts == 1


async def test_lab_pane_without_a_lab_lists_labs():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("7")
        await wait_workers(pilot)
        text = screen_text(app)
        assert "No lab is running" in text
        assert "swap-storm" in text and "level 5" in text


# ------------------------------------------------------------------------------------ why


async def test_why_pane_says_what_explain_says_and_follows_the_selection():
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        app.step(120)
        app.main.select_vm("db01")
        await pilot.press("6")
        await settle(pilot, 3)
        pane = app.main.query_one(WhyPane)
        host = app.session.host
        assert pane.vm_lines == explain_vm(host, "db01")
        assert pane.host_lines == explain_host(host)
        text = " ".join(screen_text(app).split())
        assert "Why db01 has its target" in text
        assert " ".join(explain_vm(host, "db01")[0].split())[:60] in text
        await pilot.press("escape")
        await settle(pilot)
        app.main.select_vm("web01")
        await pilot.press("6")
        await settle(pilot, 3)
        assert pane.vm_lines == explain_vm(host, "web01")
        app.step(30)  # the pane follows the model
        await settle(pilot)
        assert pane.vm_lines == explain_vm(host, "web01")
        assert pane.host_lines == explain_host(host)


# ------------------------------------------------------------------------------------ what-if


@pytest.fixture
def short_preview(monkeypatch):
    """Previews 3 simulated minutes ahead instead of 10: the same code, a quicker test."""
    monkeypatch.setattr("memtui.ui.preview.DEFAULT_SECONDS", 180)


async def test_whatif_preview_shows_before_after_and_leaves_the_live_run_alone(short_preview):
    profile = small_profile()
    app = make_app(profile)
    control = Host.from_profile(small_profile())
    async with app.run_test(size=WIDE) as pilot:
        app.step(60)
        for _ in range(60):
            control.step()
        app.main.select_vm("web01")
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        app.screen.query_one("#f-limit_mb").value = "512"
        await settle(pilot)
        await pilot.press("ctrl+r")
        await wait_workers(pilot)
        preview = app.screen
        assert isinstance(preview, PreviewScreen) and preview.result is not None
        text = screen_text(app)
        assert "What if web01: limit_mb = 512?" in text
        assert "without" in text and "with the" in text and "target SZTGT" in text
        for figure in ("state", "consumed", "balloon MCTLSZ", "swapped SWCUR"):
            assert figure in text
        row = next(r for r in preview.result.rows() if r.who == "web01" and r.figure == "target_mb")
        assert row.after <= 512 < row.before
        await pilot.press("escape")  # back to the form
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert vm_config(app, "web01").limit_mb is None
        assert app.session.host.snapshot() == control.snapshot()
        app.step(60)
        for _ in range(60):
            control.step()
        assert app.session.host.snapshot() == control.snapshot()
        # Apply from the preview applies the form's change.
        await pilot.press("e")
        await settle(pilot)
        app.screen.query_one("#f-limit_mb").value = "512"
        await pilot.click("#form-preview")
        await wait_workers(pilot)
        await pilot.click("#preview-apply")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert vm_config(app, "web01").limit_mb == 512


async def test_whatif_power_on_and_advanced_settings_and_a_refusal(short_preview):
    profile = small_profile()
    profile.vms.append(VMConfig("huge", 16000, reservation_mb=15000, power="off"))
    app = make_app(profile)
    async with app.run_test(size=WIDE) as pilot:
        app.step(30)
        app.main.select_vm("spare01")
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        await pilot.click("#choice-preview")
        await wait_workers(pilot)
        assert isinstance(app.screen, PreviewScreen)
        assert "power" in screen_text(app)
        assert vm_config(app, "spare01").power == "off"  # nothing yet
        await pilot.click("#preview-apply")
        await settle(pilot)
        assert vm_config(app, "spare01").power == "on"
        # A power-on that admission control refuses: the preview says so, Apply is off.
        app.main.select_vm("huge")
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        await pilot.click("#choice-preview")
        await wait_workers(pilot)
        assert "would refuse it" in screen_text(app) and "short by" in screen_text(app)
        assert app.screen.query_one("#preview-apply").disabled
        await pilot.press("escape")
        await settle(pilot)
        assert vm_config(app, "huge").power == "off"
        # An advanced setting.
        await pilot.press("5", "tab")  # the view, then the focus into it (j, k stay the list's)
        await settle(pilot, 3)
        assert app.focused is app.main.query_one("#advanced")
        app.main.query_one("#advanced").move_cursor(row=0)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        app.screen.query_one("#f-value").value = "0"
        await pilot.press("f5")
        await wait_workers(pilot)
        assert isinstance(app.screen, PreviewScreen)
        assert "What if Mem." in screen_text(app)


# ------------------------------------------------------------------------------------ restricted


async def test_restricted_save_as_refuses_a_path(home, tmp_path):
    app = make_app(restricted=True)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("W")
        await settle(pilot)
        assert isinstance(app.screen, SaveAsScreen)
        assert "cannot hold a path" in str(app.screen.query_one(".dialog-help").content)
        field = app.screen.query_one("#saveas-path")
        error = app.screen.query_one("#saveas-error")
        for typed in ("/etc/passwd", "../escape", "~/x", ".hidden", "a\\b", "C:x", "sub/dir",
                      str(tmp_path / "x.toml")):
            field.value = typed
            await settle(pilot)
            assert error.display and "restricted mode" in str(error.content), typed  # as typed
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, SaveAsScreen), typed  # not saved
            assert "restricted mode" in str(error.content), typed
        field.value = "plain name"
        await settle(pilot)
        assert not error.display
    assert [p for p in tmp_path.rglob("*.toml")] == []


async def test_restricted_open_lists_only_own_and_bundled_by_name(home, tmp_path):
    mine = home / "profiles"
    mine.mkdir()
    app0 = make_app()
    app0.session.save(mine / "own.toml")
    outside = tmp_path / "outside.toml"
    outside.write_text((mine / "own.toml").read_text())
    os.symlink(outside, mine / "link.toml")
    app = make_app(restricted=True)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("ctrl+o")
        await settle(pilot)
        if isinstance(app.screen, ConfirmScreen):
            await pilot.click("#choice-discard")
            await settle(pilot)
        assert isinstance(app.screen, OpenProfileScreen)
        assert not app.screen.query("#open-path")  # no path can be typed
        names = [p.name for _, p in app.screen.profiles]
        assert "own.toml" in names and "default.toml" in names
        assert "link.toml" not in names  # a link that leads out of the folder
        refused = app.screen.load(outside)
        assert refused and "restricted mode" in refused[0]


async def test_restricted_no_way_out_and_labs_allowed(home):
    app = make_app(restricted=True)
    async with app.run_test(size=WIDE) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Screenshot" not in titles and "Quit" in titles
        app.action_suspend_process()
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert app.is_running
        assert any("cannot be suspended" in n.message for n in app._notifications)
        app.open_lab("../../etc/passwd", ask=False)
        await settle(pilot)
        assert app.session.lab is None
        assert any("labs are opened by the name" in n.message for n in app._notifications)
        app.open_lab("limit-balloon", ask=False)
        await settle(pilot, 3)
        assert app.session.lab is not None and app.session.restricted
    assert not list(Path(home).glob("*.svg"))


# ------------------------------------------------------------------------------------ loading


async def test_first_frame_comes_before_the_model_and_a_bad_profile_exits_2():
    profile = small_profile()
    loaded = []

    def load():
        loaded.append(True)
        return Host.from_profile(profile), profile, None

    app = MemtuiApp(load=load, loading="Loading test.toml...", paused=True, self_usage=False)
    async with app.run_test(size=WIDE) as pilot:
        assert app.session is None and not loaded  # the first frame: no model yet
        assert "Loading test.toml..." in screen_text(app)
        await pilot.press("e", "p", "space", "1", "2", "6", "7")  # nothing breaks meanwhile
        await wait_workers(pilot)
        assert app.session is not None and loaded
        assert "web01" in screen_text(app)

    def bad():
        raise LoadError(["memtui: x.toml cannot be opened:", "  x.toml:3: host.memory_mb: bad"])

    app = MemtuiApp(load=bad, paused=True, self_usage=False)
    async with app.run_test(size=WIDE) as pilot:
        await wait_workers(pilot)
    assert app.return_code == 2 and "host.memory_mb" in app.load_problems[1]


# ------------------------------------------------------------------------------------ pictures


def test_snapshot_lab_pane_80x24(snap_compare):
    app = lab_app()

    async def before(pilot) -> None:
        await settle(pilot, 3)
        app.step(200)
        await settle(pilot, 3)

    assert snap_compare(app, terminal_size=SMALL, run_before=before)


def test_snapshot_why_pane_80x24(snap_compare):
    from .test_snapshots import stepped

    app, before0 = stepped(90)

    async def before(pilot) -> None:
        await before0(pilot)
        app.main.select_vm("vm1")
        await pilot.press("6")
        await settle(pilot, 3)

    assert snap_compare(app, terminal_size=SMALL, run_before=before)


async def test_lab_start_opens_on_the_lab_pane_after_loading():
    from memtui.ui.app import app_for_lab

    app = app_for_lab(load_lab("esxtop-columns"), self_usage=False)
    async with app.run_test(size=SMALL) as pilot:
        if app.session is None:  # the first frame (the worker may have been quicker)
            assert "Loading the lab" in str(app.main.query_one("#side-slot").content)
        await wait_workers(pilot)
        assert app.session.lab is not None and not app.session.running
        assert app.main.active_view == "lab" and app.main.side_visible
        assert "h Hint" in screen_text(app)  # the footer offers hints while a lab runs


def test_the_ui_module_imports_no_model_before_the_first_frame():
    """`memtui` draws its first frame before numpy and the model are imported."""
    import subprocess
    import sys

    code = ("import sys, memtui.ui.app; "
            "print(sorted(m for m in ('numpy', 'memtui.model', 'memtui.profile', 'tomlkit', "
            "'memtui.practice', 'memtui.history') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


async def test_opening_labs_one_after_another_shows_each_one(home):
    app = lab_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot, 3)
        app.end_lab()
        await settle(pilot)
        app.open_lab("limit-balloon", ask=False)  # a new attempt at the same lab
        await settle(pilot, 3)
        assert not app.session.lab.finished
        assert [w.id for w in app.main.query(".lab-answer")] == ["answer-balloon-size"]
        assert "NOT PASSED" not in screen_text(app)
        app.open_lab("esxtop-columns", ask=False)
        await settle(pilot, 3)
        assert len(app.main.query(".lab-answer")) == 3
        assert "First steps: reading the esxtop memory columns" in screen_text(app)
    assert ProgressStore().get("limit-balloon").attempts == 1  # lab_app() itself records none
