"""`memtui paper`: the paper's experiments and the guides' worked examples hold on the model."""

from __future__ import annotations

import subprocess
import sys

import pytest

from memtui import paper


@pytest.mark.parametrize("name", list(paper.EXPERIMENTS))
def test_experiment_holds(name):
    exp = paper.EXPERIMENTS[name]
    out = exp.run()
    assert out.comparisons
    missed = [f"{c.what}: memtui {c.memtui:.2f} published {c.published:.2f} +/- {c.tolerance:.2f}"
              for c in out.comparisons if not c.held]
    assert not missed, missed
    text = "\n".join(paper.report(exp, out))
    assert exp.name in text and "NOT HELD" not in text


def test_a_comparison_that_misses_is_reported_as_not_held():
    c = paper.Comparison("x", 10.0, 12.0, 1.0)
    assert not c.held
    exp = paper.Experiment("probe", "probe", "none", lambda: paper.Outcome([c]))
    assert "NOT HELD" in "\n".join(paper.report(exp, exp.run()))


def test_chart_draws_memtui_over_the_paper():
    exp = paper.EXPERIMENTS["fig2"]
    text = paper.chart(exp, exp.run(), width=60, height=15)
    assert "fig2" in text and len(text.splitlines()) >= 10


def test_main_list_unknown_and_exit_status(capsys, monkeypatch):
    assert paper.main(["--list"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in paper.EXPERIMENTS)
    assert paper.main(["nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown experiment nope" in err and "fig7" in err
    failing = paper.Experiment("probe", "probe", "none",
                               lambda: paper.Outcome([paper.Comparison("x", 1.0, 5.0, 1.0)]))
    monkeypatch.setitem(paper.EXPERIMENTS, "probe", failing)
    assert paper.main(["probe", "--chart", "never"]) == 1
    assert "not held: probe" in capsys.readouterr().out


def test_cli_smoke():
    r = subprocess.run([sys.executable, "-m", "memtui", "paper", "minfree", "no-driver"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "every comparison held" in r.stdout and "3,072.00 MB" in r.stdout
    r = subprocess.run([sys.executable, "-m", "memtui", "paper", "fig99"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "choose from" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("seed,boot_s", [(3, 120), (5, 200)])
def test_fig8_holds_for_neighbouring_setups(monkeypatch, seed, boot_s):
    original = paper.fig8_host
    monkeypatch.setattr(paper, "fig8_host", lambda: original(seed=seed, boot_s=boot_s))
    out = paper.fig8()
    assert out.held, [(c.what, c.memtui) for c in out.comparisons if not c.held]
