"""What-if previews run on copies: the live run is never disturbed."""

from __future__ import annotations

from memtui.practice.labfile import load_lab
from memtui.practice.whatif import ChangeRefused, apply_change, preview


def _host(name="limit-balloon"):
    return load_lab(name).new_host()


def test_preview_leaves_the_live_run_untouched():
    plain = _host("swap-storm")
    watched = _host("swap-storm")
    for minute in range(8):
        plain.run(60)
        watched.run(60)
        if minute in (2, 5):
            p = preview(watched, {"set": {"Mem.CtlMaxPercent": 65}}, seconds=120)
            assert p.ok and p.after is not None
            p = preview(watched, {"vm": "batch01", "power": "off"}, seconds=60)
            assert p.after.vm("batch01").power == "off"
    assert plain.snapshot() == watched.snapshot()
    assert [e.as_dict() for e in plain.log] == [e.as_dict() for e in watched.log]
    assert plain.rng.bit_generator.state == watched.rng.bit_generator.state
    assert plain.advanced == watched.advanced and plain.vms == watched.vms


def test_preview_shows_the_effect_of_the_change():
    host = _host()
    host.run(300)
    t = host.t
    p = preview(host, {"vm": "web01", "set": {"limit_mb": "unlimited"}})
    assert host.t == t and host.vms[0].limit_mb == 1024
    assert p.now.t == t and p.before.t == t + 600 and p.after.t == t + 600
    assert p.before.vm("web01").balloon_mb > 2000
    assert p.after.vm("web01").balloon_mb == 0
    rows = {(r.who, r.figure): r for r in p.rows()}
    assert rows[("web01", "balloon_mb")].changed
    assert not rows[("web02", "power")].changed
    assert rows[(None, "state")].before == "high"
    assert any("web01" in line and "balloon_mb" in line for line in p.lines())


def test_refused_change_returns_the_reason_and_no_projection():
    host = load_lab("overhead-admission").new_host()
    p = preview(host, {"vm": "db02", "power": "on"}, seconds=30)
    assert not p.ok and p.after is None and "short by 180.85 MB" in p.error
    assert p.before is not None and host.vms[2].power == "off"
    assert "refuse" in p.lines()[1]
    p = preview(host, {"vm": "db02", "set": {"reservation_mb": 1536, "power": "on"}}, seconds=30)
    assert p.ok and p.after.vm("db02").power == "on" and host.vms[2].power == "off"


def test_apply_change_is_all_or_nothing():
    host = _host()
    before = dict(host.advanced)
    for bad in (
        {"set": {"Mem.IdleTax": 50, "Mem.Nope": 1}},
        {"set": {"Mem.IdleTax": 50, "Mem.CtlMaxPercent": 200}},
        {"vm": "nope", "set": {"shares": "high"}},
        {"vm": "web01", "set": {"shares": "high"}, "workload": {"active_mb": 999999}},
        {"vm": "web01"},
        {"what": 1},
    ):
        try:
            apply_change(host, bad)
        except ChangeRefused:
            pass
        else:
            raise AssertionError(bad)
    assert host.advanced == before
    assert host.vms[0].shares == "normal"
    assert "Mem.IdleTax = 50" in apply_change(host, {"set": {"Mem.IdleTax": 50}})
    assert host.advanced["Mem.IdleTax"] == 50


def test_preview_shows_what_the_change_gains_the_guests():
    """Ballooning back on before the batch: db01's throughput over the projection is higher with
    the change than without (mean and lowest), and the rows carry both."""
    lab = load_lab("balloon-vs-swap")
    host = lab.new_host()
    host.run(200)
    p = preview(host, {"set": {"Mem.CtlMaxPercent": 65}}, seconds=300)
    assert p.ok
    without, with_ = p.before_run["db01"], p.after_run["db01"]
    assert with_["throughput_mean_pct"] > without["throughput_mean_pct"] + 3
    assert with_["throughput_low_pct"] > without["throughput_low_pct"] + 20
    rows = {(r.who, r.figure): r for r in p.rows()}
    r = rows[("db01", "throughput_low_pct")]
    assert r.before == without["throughput_low_pct"] and r.after == with_["throughput_low_pct"]
    assert r.changed
    assert ("db01", "mem_latency_pct") in rows and ("db01", "throughput_pct") in rows
