"""SVG snapshots of memtui's main screens at 80x24, 100x30, 124x40, 160x50 and 200x60, in colour,
with NO_COLOR and in the 16-colour ansi-dark theme. The app is paused and stepped to a fixed time, so every run draws
the same screen. Update with `pytest tests/ui/test_snapshots.py --snapshot-update` after
checking the new pictures."""

from __future__ import annotations

from .conftest import make_app, settle, tight_profile


def stepped(seconds: int, profile=None, **kw):
    app = make_app(profile or tight_profile(), **kw)

    async def run_before(pilot) -> None:
        await settle(pilot, 3)
        app.step(seconds)
        await settle(pilot, 3)

    return app, run_before


def test_main_80x24(snap_compare):
    app, before = stepped(90)
    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


def test_main_160x50(snap_compare):
    app, before = stepped(90)
    assert snap_compare(app, terminal_size=(160, 50), run_before=before)


def test_main_160x50_no_color(snap_compare, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app, before = stepped(90)
    assert snap_compare(app, terminal_size=(160, 50), run_before=before)


def test_main_80x24_no_color(snap_compare, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app, before = stepped(90)
    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


def test_main_160x50_ansi_dark(snap_compare):
    app, before = stepped(90, theme="ansi-dark")
    assert snap_compare(app, terminal_size=(160, 50), run_before=before)


def test_vm_details_folded_80x24(snap_compare):
    app, before = stepped(90)
    assert snap_compare(app, terminal_size=(80, 24), run_before=before, press=["down", "enter"])


def test_event_log_160x50(snap_compare):
    app, before = stepped(200)
    assert snap_compare(app, terminal_size=(160, 50), run_before=before, press=["4"])


def test_advanced_settings_160x50(snap_compare):
    app, before = stepped(10)
    assert snap_compare(app, terminal_size=(160, 50), run_before=before, press=["5"])


def test_help_80x24(snap_compare):
    app, before = stepped(10)
    assert snap_compare(app, terminal_size=(80, 24), run_before=before, press=["question_mark"])


def test_edit_form_refusal_80x24(snap_compare):
    app, before0 = stepped(30)

    async def before(pilot) -> None:
        await before0(pilot)
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        form.query_one("#f-reservation_mb").value = "99999"
        for widget in form.query("Input"):
            widget.cursor_blink = False
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


def test_too_small(snap_compare):
    app, before = stepped(0)
    assert snap_compare(app, terminal_size=(70, 20), run_before=before)


def loaded_stepped(seconds: int):
    """`memtui profiles/default.toml` as it starts (the profile read after the first frame),
    paused and stepped to a fixed time."""
    from memtui import paths
    from memtui.ui.app import app_for_profile

    app = app_for_profile(paths.bundled_profiles_dir() / "default.toml", paused=True,
                          self_usage=False)

    async def run_before(pilot) -> None:
        for _ in range(100):
            await pilot.pause(0.05)
            if app.session is not None:
                break
        await settle(pilot, 3)
        app.step(seconds)
        await settle(pilot, 3)

    return app, run_before


def test_main_124x40(snap_compare):
    app, before = loaded_stepped(120)
    assert snap_compare(app, terminal_size=(124, 40), run_before=before)


def test_main_200x60(snap_compare):
    app, before = loaded_stepped(120)
    assert snap_compare(app, terminal_size=(200, 60), run_before=before)


def test_main_124x40_no_color(snap_compare, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app, before = loaded_stepped(120)
    assert snap_compare(app, terminal_size=(124, 40), run_before=before)


def test_columns_chooser_124x40_no_color(snap_compare, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app, before = loaded_stepped(10)
    assert snap_compare(app, terminal_size=(124, 40), run_before=before, press=["f"])


def test_charts_100x30(snap_compare):
    app, before = stepped(900)
    assert snap_compare(app, terminal_size=(100, 30), run_before=before, press=["2"])


def test_edit_form_checkboxes_80x24_no_color(snap_compare, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app, before0 = stepped(30)

    async def before(pilot) -> None:
        await before0(pilot)
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        for widget in form.query("Input"):
            widget.cursor_blink = False
        form.query_one("#f-tools").value = False
        await settle(pilot, 4)

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)
