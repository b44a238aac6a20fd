"""Pilot tests of what the UI shows of the guest cost model and the rest of esxtop's memory
screen: the new columns, the VM pane's cost and vCenter rows, the why pane's sentence, help, the
field order screen (esxtop's o) and the field file (esxtop's W)."""

from __future__ import annotations

from memtui.ui import esxtoprc
from memtui.ui.columns import COLUMNS, cell_text
from memtui.ui.help import HelpScreen
from memtui.ui.orderscreen import FieldOrderScreen

from .conftest import make_app, screen_text, settle, tight_profile

WIDE = (200, 60)


def test_every_column_has_one_group_and_a_meaning():
    esxtoprc._check_groups()
    for key in ("TCHD_W", "%ACTVN", "OVHDMAX", "CACHESZ", "CACHEUSD", "ZIP/s", "UNZIP/s", "AMIN",
                "AMAX", "ASHRS", "%SWPWT", "%LAT", "%THRPT", "%BALOVH"):
        assert key in COLUMNS and COLUMNS[key].meaning


async def test_cost_columns_show_the_models_figures():
    app = make_app(tight_profile())
    async with app.run_test(size=WIDE) as pilot:
        host = app.session.host
        host.run(400)
        app.main.table.set_columns(["NAME", "%THRPT", "%LAT", "%SWPWT", "%BALOVH", "AMIN", "TCHD_W"])
        await pilot.press("full_stop")  # one step: the screen shows the figures after it
        await settle(pilot, 4)
        snap = host.snapshot()
        text = screen_text(app)
        assert "%THRPT" in text and "%BALOVH" in text and "TCHD_W" in text
        for vm in snap.vms:
            line = next(line for line in text.splitlines() if line.strip().startswith(vm.name))
            assert cell_text(COLUMNS["%THRPT"], vm) in line
            assert cell_text(COLUMNS["%BALOVH"], vm) in line


async def test_vm_pane_shows_cost_and_vcenters_words():
    app = make_app(tight_profile())
    async with app.run_test(size=WIDE) as pilot:
        app.session.host.run(300)
        app.main.select_vm("vm1")
        await pilot.press("full_stop")
        await settle(pilot, 4)
        text = screen_text(app)
        v = app.session.host.snapshot().vm("vm1")
        assert "entitlement" in text and "granted" in text and "consumed" in text
        assert f"throughput {v.throughput_pct:.0f} %" in text
        assert "mem.latency" in text and "OVHDMAX" in text and "TCHD_W" in text


async def test_why_pane_says_what_slows_the_guest():
    app = make_app(tight_profile())
    async with app.run_test(size=WIDE) as pilot:
        app.session.host.run(300)
        app.main.select_vm("vm1")
        await pilot.press("full_stop")
        await pilot.press("6")
        await settle(pilot, 4)
        pane = app.main.query_one("WhyPane")
        v = app.session.host.snapshot().vm("vm1")
        assert any(line.startswith(f"vm1 runs at {v.throughput_pct:.0f} %") for line in pane.vm_lines)


async def test_help_names_vcenter_words_and_fields_not_modelled():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        from rich.console import Console

        console = Console(width=200, record=True, color_system=None)
        for w in app.screen.query("Static"):
            console.print(w.content)
        text = console.export_text()
        assert "entitlement = SZTGT" in text and "granted = GRANT" in text
        assert "NUMA" in text and "LLSWR/s" in text and "not modelled" in text
        assert "esxtop's o" in text


async def test_o_moves_groups_and_enter_applies(home):
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        before = list(app.main.table.column_keys)
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(app.screen, FieldOrderScreen)
        assert "esxtop notation: " + esxtoprc.letters(before) in screen_text(app)
        await pilot.press("G")  # SWAP one place left, before MEMCTL
        await settle(pilot)
        order = app.screen.order
        assert order.index("G") < order.index("F")
        await pilot.press("enter")
        await settle(pilot)
        keys = app.main.table.column_keys
        assert keys.index("SWCUR") < keys.index("MCTLSZ")
        assert sorted(keys) == sorted(before)  # nothing shown or hidden, only the order
    import tomllib

    saved = tomllib.loads((home / "settings.toml").read_text())
    assert saved["vm_table"]["columns"] == keys


async def test_o_writes_and_reads_the_field_file(home, tmp_path):
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        app.main.table.set_columns(["NAME", "%THRPT", "MEMSZ", "SWCUR"])
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)
        await pilot.press("W")
        await settle(pilot)
        path = esxtoprc.default_path()
        assert path.exists() and "Written to" in screen_text(app)
        text = path.read_text()
        # NAME, then the shown groups in screen order (GUEST COST, SIZE, SWAP), then the others.
        assert 'memory = "ALDGbcefhijk"' in text
        assert esxtoprc.parse(text) == ["NAME", "%THRPT", "MEMSZ", "SWCUR"]
        assert esxtoprc.columns_from_letters("ALDGbcefhijk")[:3] == ["NAME", "%SWPWT", "%ZIPWT"]
        await pilot.press("escape")
        await settle(pilot)
        app.main.table.set_columns(["NAME", "MEMSZ"])
        await pilot.press("o")
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert list(app.main.table.column_keys) == esxtoprc.reorder(
            ["NAME", "%THRPT", "MEMSZ", "SWCUR"], esxtoprc.group_order(["NAME", "%THRPT", "MEMSZ", "SWCUR"]))


async def test_o_reports_a_bad_field_file_and_keeps_the_columns(home):
    path = esxtoprc.default_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('memory = "ABZ"\n')
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        before = list(app.main.table.column_keys)
        await pilot.press("o")
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        assert "unknown group letter(s) Z" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert list(app.main.table.column_keys) == before


async def test_restricted_mode_writes_no_field_file(home):
    app = make_app(restricted=True)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("o")
        await settle(pilot)
        await pilot.press("W")
        await settle(pilot)
        assert "restricted mode" in screen_text(app)
        assert not esxtoprc.default_path().exists()


async def test_vm_chart_draws_the_throughput_series():
    app = make_app(tight_profile())
    async with app.run_test(size=WIDE) as pilot:
        app.step(120)
        app.main.select_vm("vm1")
        await pilot.press("2")
        await settle(pilot, 6)
        text = screen_text(app)
        v = app.session.host.snapshot().vm("vm1")
        assert f"throughput % (right) {v.throughput_pct:.0f}" in text


async def test_whatif_preview_shows_the_throughput_over_the_projection(monkeypatch):
    from memtui.ui.preview import PreviewScreen

    monkeypatch.setattr("memtui.ui.preview.DEFAULT_SECONDS", 120)
    app = make_app(tight_profile())
    async with app.run_test(size=WIDE) as pilot:
        app.step(30)
        app.main.select_vm("vm1")
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        app.screen.query_one("#f-tools").value = False
        await settle(pilot)
        await pilot.press("ctrl+r")
        await pilot.app.workers.wait_for_complete()
        await settle(pilot, 3)
        assert isinstance(app.screen, PreviewScreen) and app.screen.result is not None
        text = screen_text(app)
        assert "thrpt mean %" in text and "thrpt low %" in text
        rows = {(r.who, r.figure): r for r in app.screen.result.rows()}
        assert rows[("vm1", "throughput_mean_pct")].after is not None


def test_column_chooser_keeps_an_o_reorder_and_adds_new_columns_after_it():
    from memtui.ui.columns import COLUMN_LIST
    from memtui.ui.dialogs import column_order

    canonical = [c.key for c in COLUMN_LIST]
    a, b, c, d = canonical[1:5]
    # in esxtop's order: a newly chosen column takes its own place
    assert column_order(["NAME", a, c], {a, b, c}) == ["NAME", a, b, c]
    # after a reorder (c before a): the order stays, the new column comes last, a dropped one goes
    assert column_order(["NAME", c, a, d], {a, b, c}) == ["NAME", c, a, b]
