"""The "why" explanations quote the model's own numbers, in every reclamation situation."""

from __future__ import annotations

import re

import pytest

from memtui import model
from memtui.practice.explain import explain_host, explain_vm, mb, num
from memtui.practice.labfile import load_lab
from memtui.practice.session import LabSession


def _scenarios():
    """(name, lab, actions before running): together they reach every situation below."""
    return [
        ("limit-balloon", []),  # limit on an idle host, booting, not overcommitted
        (
            "swap-storm",
            [{"vm": "web01", "set": {"reservation_mb": 1500}}],
        ),  # reservation, no tools, cap
        ("swap-storm", []),  # low, blocked
        ("compression-41", [{"set": {"Mem.MemZipEnable": 1}}]),  # compression, hard state
        ("idle-tax", [{"set": {"Mem.IdleTax": 75}}]),  # shares-bound with the idle tax
        ("no-balloon-driver", []),
    ]


SITUATIONS = (
    "not overcommitted",
    "demand",
    "reservation",
    "limit",
    "shares",
    "no tools",
    "booting",
    "balloon",
    "balloon cap",
    "compression",
    "swap",
    "blocked",
    "share before swap",
    "high but overcommitted",
)


def check_vm(host, name: str, seen: set[str]) -> None:
    text = "\n".join(explain_vm(host, name))
    snap = host.snapshot()
    v = snap.vm(name)
    if v.power != "on":
        assert "powered off" in text
        return
    d = host.decision(name)
    h = snap.host
    assert f"{h.state} state" in text and mb(h.free_mb) in text
    if d.bound == model.BOUND_LIMIT:
        seen.add("limit")
        assert "capped by its limit" in text and mb(d.limit_mb) in text and mb(v.touched_mb) in text
    elif not d.overcommitted:
        seen.add("not overcommitted")
        assert "not overcommitted" in text and mb(d.target_mb) in text
    elif d.bound == model.BOUND_DEMAND:
        seen.add("demand")
        assert "less than its fair share" in text and mb(d.upper_mb) in text
    elif d.bound == model.BOUND_RESERVATION:
        seen.add("reservation")
        assert (
            "reservation is a floor" in text
            and mb(d.reservation_mb) in text
            and mb(d.target_mb) in text
        )
    else:
        seen.add("shares")
        assert (
            f"rho = {num(d.rho)}" in text
            and mb(d.active_mb) in text
            and f"{d.shares:,.0f} shares" in text
        )
        assert f"k = {num(d.k)}" in text and mb(d.target_mb) in text
        for other in snap.vms:
            if other.name != name and other.power == "on":
                assert f"{other.name} rho {num(host.decision(other.name).rho)}" in text
    if v.booting:
        seen.add("booting")
        assert "booting" in text
    elif not v.tools:
        seen.add("no tools")
        assert "no balloon driver" in text
    a = d.action
    if a & model.ACT_BALLOON:
        seen.add("balloon")
        assert "inflating" in text and mb(v.balloon_mb) in text and mb(v.balloon_target_mb) in text
    if (
        v.tools
        and v.balloon_active
        and v.balloon_max_mb > 0
        and v.balloon_mb >= v.balloon_max_mb - 0.5
    ):
        seen.add("balloon cap")
        assert "at its cap" in text and mb(v.balloon_max_mb) in text
    if a & model.ACT_ZIP:
        seen.add("compression")
        assert "compresses" in text and mb(v.zipped_mb) in text and mb(v.zip_cache_mb) in text
    if a & model.ACT_SWAP:
        seen.add("swap")
        assert f"swapping it out at {v.swap_out_mb_s:g} MB/s" in text and mb(v.swapped_mb) in text
    if a & model.ACT_BLOCKED:
        seen.add("blocked")
        assert "blocked" in text and mb(v.consumed_mb) in text
    if a & model.ACT_SHARE_BEFORE_SWAP:
        seen.add("share before swap")
        assert "Share before swap" in text
    if a & model.ACT_LIMIT:
        assert d.limit_mb is not None and "above its limit" in text
    if d.overcommitted and h.state == "high" and not a:
        seen.add("high but overcommitted")
    if v.reservation_mb > 0 and d.bound != model.BOUND_RESERVATION:
        assert mb(v.reservation_mb) in text


def check_host(host) -> None:
    text = "\n".join(explain_host(host))
    snap = host.snapshot()
    h = snap.host
    th = host.thresholds
    assert f"the {h.state} state" in text and mb(h.free_mb) in text and mb(h.managed_mb) in text
    assert mb(th.high) in text and mb(th.soft) in text and mb(th.hard) in text
    if h.swapped_mb > 0:
        assert mb(h.swapped_mb) in text
    if h.balloon_mb > 0:
        assert mb(h.balloon_mb) in text
    if h.zipped_mb > 0:
        assert mb(h.zipped_mb) in text
    for v in snap.vms:
        if v.blocked:
            assert v.name in text.split("Blocked from allocating:")[1]


def test_explanations_match_the_model_in_every_situation():
    seen: set[str] = set()
    for name, actions in _scenarios():
        lab = load_lab(name)
        s = LabSession(lab)
        for a in actions:
            assert s.apply(a).ok
        # every 5 s for two minutes, then every 20 s, and every second through the burst of
        # the compression lab (the host compresses for a few seconds at a time there)
        while s.elapsed_s < 360:
            burst = name == "compression-41" and 320 <= s.elapsed_s < 350
            s.advance(1 if burst else 5 if s.elapsed_s < 120 else 20)
            check_host(s.host)
            for vm in s.host.vms:
                check_vm(s.host, vm.name, seen)
    missing = set(SITUATIONS) - seen
    assert not missing, f"situations never reached: {missing}"


def test_the_quoted_hysteresis_is_the_models():
    """Below the soft threshold the state rises back at the free memory the text quotes."""
    s = LabSession(load_lab("swap-storm"))
    host = s.host
    order = ["high", "soft", "hard", "low"]
    while host.state not in ("hard", "low"):
        assert s.elapsed_s < 600, "the storm never got past soft"
        s.advance(1)
    text = "\n".join(explain_host(host))
    rise = float(re.search(r"only once free memory is above ([\d,]+) MB", text)[1].replace(",", ""))
    for free, rises in ((rise - 1, False), (rise + 1, True)):
        probe = host.fork()
        probe.free_mb = free
        dwell = float(re.search(r"without falling, for ([\d.]+) s", text)[1])
        for _ in range(int(dwell) + 1):
            probe._update_state()
            probe.t += 1
        assert (order.index(probe.state) < order.index(host.state)) == rises, (free, probe.state)


def test_powered_off_vm_and_empty_host():
    lab = load_lab("overhead-admission")
    s = LabSession(lab)
    assert "powered off" in explain_vm(s.host, "db02")[0]
    for vm in ("db01", "app01"):
        s.apply({"vm": vm, "power": "off"})
    text = "\n".join(explain_host(s.host))
    assert "No VM is powered on" in text


def test_unknown_vm_raises_keyerror():
    s = LabSession(load_lab("idle-tax"))
    with pytest.raises(KeyError):
        explain_vm(s.host, "nope")
