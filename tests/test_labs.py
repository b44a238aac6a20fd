"""Labs: the format, the objectives engine, the progress store and `memtui lab`."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from memtui.practice import actions, figures, labfile
from memtui.practice.labcli import lab_main
from memtui.practice.labfile import LabError, parse_lab
from memtui.practice.objectives import FAILED, MET, PENDING
from memtui.practice.progress import ProgressStore
from memtui.practice.session import LabSession

SOLUTIONS = Path(__file__).parent / "lab_solutions"
BUNDLED = sorted(p.stem for p in labfile.lab_files())


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMTUI_HOME", str(tmp_path / "home"))


# ------------------------------------------------------------------ bundled labs


def test_at_least_ten_bundled_labs_load():
    assert len(BUNDLED) >= 10
    loaded = labfile.list_labs()
    assert [lab.name for lab in loaded] != []
    assert sorted(lab.name for lab in loaded) == BUNDLED  # none is silently left out
    levels = {lab.level for lab in loaded}
    assert 1 in levels and max(levels) >= 4


def _expected_failures(path: Path) -> list[str]:
    m = re.search(r"^# expect-fail = (\[.*\])$", path.read_text(), re.M)
    assert m, f"{path.name} must say which objectives it fails: # expect-fail = [...]"
    return json.loads(m.group(1))


def _check(name: str, actions: Path, capsys) -> tuple[int, dict]:
    rc = lab_main(["check", name, "--actions", str(actions), "--quiet", "--json"])
    out = capsys.readouterr().out
    return rc, json.loads(out)


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_lab_is_solvable(name, capsys):
    rc, result = _check(name, SOLUTIONS / f"{name}.toml", capsys)
    failed = [o["id"] for o in result["objectives"] if o["status"] != MET]
    assert rc == 0 and result["passed"], failed


@pytest.mark.parametrize("path", sorted(SOLUTIONS.glob("*.wrong*.toml")), ids=lambda p: p.stem)
def test_wrong_solutions_fail_the_right_objective(path, capsys):
    name = path.name.split(".")[0]
    rc, result = _check(name, path, capsys)
    status = {o["id"]: o["status"] for o in result["objectives"]}
    assert rc == 1 and not result["passed"]
    for oid in _expected_failures(path):
        assert status[oid] == FAILED, (oid, status)


def test_every_bundled_lab_has_a_wrong_solution():
    wrong = {p.name.split(".")[0] for p in SOLUTIONS.glob("*.wrong*.toml")}
    assert set(BUNDLED) <= wrong


def test_every_lab_fails_untouched(capsys):
    """No lab passes by waiting: each needs the learner."""
    for name in BUNDLED:
        assert lab_main(["check", name, "--quiet"]) == 1, name
    capsys.readouterr()


# ------------------------------------------------------------------ a small lab for edge cases

BASE = """
format = 1
[host]
name = "t"
memory_mb = 8192
system_mb = 800
seed = 1

[[vm]]
name = "a"
memory_mb = 2048
[vm.workload]
active_mb = 500

[[vm]]
name = "b"
memory_mb = 2048
limit_mb = 1024
[vm.workload]
active_mb = 500
"""


def make_lab(objectives: str, duration: str = "5m", extra: str = "") -> labfile.Lab:
    text = (
        BASE
        + f"""
[lab]
title = "t"
duration = "{duration}"
briefing = "b"
hints = ["one", "two"]
{extra}
"""
        + objectives
    )
    return parse_lab(text, "t.toml")


def test_state_for_duration_counts_consecutive_time():
    lab = make_lab("""
[[lab.objective]]
id = "s"
kind = "state"
state = "high"
for = "2m"
""")
    s = LabSession(lab)
    s.advance(119)
    assert s.status("s").status == PENDING
    s.advance(1)
    assert s.status("s").status == MET


def test_state_objective_fails_early_when_it_can_no_longer_fit():
    lab = make_lab("""
[[lab.objective]]
id = "s"
kind = "state"
state = ["soft", "hard"]
for = "4m"
""")
    s = LabSession(lab)
    s.advance(61)  # 4 minutes no longer fit in the 5-minute lab
    st = s.status("s")
    assert st.status == FAILED and "can no longer fit" in st.progress


def test_state_run_restarts_when_the_state_changes(monkeypatch):
    lab = make_lab(
        """
[[lab.objective]]
id = "s"
kind = "state"
state = "high"
for = "60s"
""",
        duration="10m",
    )
    s = LabSession(lab)
    h = s.host
    states = iter(["high"] * 40 + ["soft"] + ["high"] * 59 + ["high"] * 5)
    real_step = h.step

    def step():
        real_step()
        h.state = next(states)

    monkeypatch.setattr(h, "step", step)
    s.advance(40)
    assert s.status("s").status == PENDING
    s.advance(1)  # soft: the run is broken
    assert "longest so far" in s.status("s").progress
    s.advance(59)
    assert s.status("s").status == PENDING  # 58 s of high since the break
    s.advance(2)
    assert s.status("s").status == MET


def test_throughout_metric_fails_at_the_first_breach_and_only_inside_its_window():
    lab = make_lab("""
[[lab.objective]]
id = "b"
kind = "metric"
vm = "b"
metric = "balloon_mb"
op = "<="
value = 0
after = "4m"
""")
    s = LabSession(lab)
    s.advance(239)  # b balloons above its limit before 4:00: not counted yet
    assert s.host.snapshot().vm("b").balloon_mb > 0
    assert s.status("b").status == PENDING
    s.advance(1)
    st = s.status("b")
    assert st.status == FAILED and st.decided_at_s == 240 and "MB" in st.progress


def test_throughout_metric_is_met_at_the_end_of_its_window():
    lab = make_lab("""
[[lab.objective]]
id = "a"
kind = "metric"
vm = "a"
metric = "swapped_mb"
op = "<="
value = 0
before = "3m"
""")
    s = LabSession(lab)
    s.advance(179)
    assert s.status("a").status == PENDING
    s.advance(1)
    assert s.status("a").status == MET


def test_every_vm_and_at_and_eventually_and_end():
    lab = make_lab("""
[[lab.objective]]
id = "all"
kind = "metric"
vm = "*"
metric = "swapped_mb"
op = "<="
value = 0
during = "at"
at = "10s"

[[lab.objective]]
id = "ev"
kind = "metric"
vm = "a"
metric = "consumed_mb"
op = ">="
value = 2000
during = "eventually"

[[lab.objective]]
id = "cmp"
kind = "metric"
vm = "a"
metric = "consumed_mb"
op = ">"
value = { vm = "b", metric = "consumed_mb" }
during = "end"
""")
    s = LabSession(lab)
    s.advance(10)
    assert s.status("all").status == MET
    s.run_to_end()
    assert s.status("ev").status == MET
    assert s.status("cmp").status == MET  # a has no limit, b is held at 1024 MB


def test_eventually_fails_when_the_window_closes():
    lab = make_lab("""
[[lab.objective]]
id = "ev"
kind = "metric"
metric = "swapped_mb"
op = ">="
value = 100000
during = "eventually"
before = "1m"
""")
    s = LabSession(lab)
    s.advance(60)
    assert s.status("ev").status == FAILED


def test_power_off_and_change_counting_and_refusals():
    lab = make_lab("""
[[lab.objective]]
id = "np"
kind = "no_power_off"
vms = ["a"]

[[lab.objective]]
id = "mc"
kind = "max_changes"
max = 1
""")
    s = LabSession(lab)
    r = s.apply({"vm": "b", "power": "off"})  # b is not protected
    assert r.ok and s.changes == 1 and s.status("np").status == PENDING
    r = s.apply({"vm": "a", "set": {"reservation_mb": 999999}})  # refused: counts nothing
    assert not r.ok and s.changes == 1
    r = s.apply({"vm": "nope", "set": {"shares": "high"}})
    assert not r.ok and "nope" in r.message
    r = s.apply({"vm": "a", "workload": {"active_mb": 10}})  # this lab forbids workload changes
    assert not r.ok and "workload" in r.message
    r = s.apply({"vm": "a", "power": "off"})
    assert r.ok and s.status("np").status == FAILED and s.status("mc").status == FAILED
    assert "2 changes" in s.status("mc").progress


def test_refused_power_on_changes_nothing():
    text = BASE.replace("limit_mb = 1024", 'limit_mb = 1024\npower = "off"')
    lab = parse_lab(
        text + '\n[lab]\ntitle = "t"\nduration = "1m"\nbriefing = "b"\n'
        '[[lab.objective]]\nkind = "max_changes"\nmax = 5\n',
        "t.toml",
    )
    s = LabSession(lab)
    too_big = {"memory_mb": 8192, "reservation_mb": 8000, "limit_mb": "unlimited", "power": "on"}
    r = s.apply({"vm": "b", "set": too_big})  # admission control: 8000 MB is not unreserved
    assert not r.ok and "short by" in r.message and s.changes == 0
    vm = s.host.vms[s.host.index("b")]
    assert (vm.memory_mb, vm.reservation_mb, vm.limit_mb, vm.power) == (2048, 0, 1024, "off")
    assert [e.kind for e in s.host.log if e.vm == "b"] == ["admission"]  # the host logs it
    r = s.apply(
        {"vm": "b", "set": {"reservation_mb": 2048, "limit_mb": "unlimited", "power": "on"}}
    )
    assert r.ok and s.changes == 1
    vm = s.host.vms[s.host.index("b")]
    assert vm.reservation_mb == 2048 and vm.limit_mb is None and vm.power == "on"


def test_answers_tolerance_attempts_and_live_answers():
    lab = make_lab("""
[[lab.objective]]
id = "q1"
kind = "answer"
question = "?"
answer = 100
tolerance = 1
attempts = 2

[[lab.objective]]
id = "q2"
kind = "answer"
question = "overhead of a?"
answer_from = { vm = "a", metric = "overhead_mb" }
""")
    s = LabSession(lab)
    assert not s.apply({"answer": 1}).ok  # two open questions: which?
    r = s.apply({"answer": 102, "question": "q1"})
    assert r.ok and r.correct is False and s.status("q1").status == PENDING
    r = s.apply({"answer": 101, "question": "q1"})
    assert r.correct is True and s.status("q1").status == MET
    ovhd = s.host.snapshot().vm("a").overhead_mb
    assert s.apply({"answer": ovhd}).correct  # the only open question
    assert s.finished and s.passed and s.elapsed_s == 0  # all decided: the lab ends early


def test_answer_fails_after_the_last_attempt():
    lab = make_lab(
        '[[lab.objective]]\nid = "q"\nkind = "answer"\nquestion = "?"\nanswer = 5\nattempts = 1\n'
        '[[lab.objective]]\nkind = "no_power_off"\n'
    )
    s = LabSession(lab)
    s.apply({"answer": 6})
    assert s.status("q").status == FAILED


def test_hints_are_counted_and_run_out():
    lab = make_lab('[[lab.objective]]\nkind = "no_power_off"\n')
    s = LabSession(lab)
    assert s.apply({"hint": True}).message == "one"
    assert s.hint() == "two"
    assert s.hint() is None
    assert s.hints_used == 2 and s.hints_shown == ["one", "two"]


def test_ending_early_fails_what_is_undecided():
    lab = make_lab('[[lab.objective]]\nid = "np"\nkind = "no_power_off"\n')
    s = LabSession(lab)
    s.advance(30)
    res = s.end()
    assert not res.passed and res.ended_early and res.objectives[0][2] == FAILED
    assert not s.apply({"vm": "a", "set": {"shares": "high"}}).ok


def test_fast_figures_equal_the_snapshot():
    lab = labfile.load_lab("swap-storm")
    s = LabSession(lab)
    for _ in range(8):
        s.advance(60)
        snap = s.host.snapshot()
        reader = figures.MetricReader(s.host)
        for vm in snap.vms:
            for metric in figures._FAST_VM:
                assert reader.vm(vm.name, metric) == pytest.approx(
                    getattr(vm, metric), abs=0.011
                ), metric
        cost_reader = figures.MetricReader(s.host)  # the cost figures' own fast path
        for vm in snap.vms:
            for metric in figures._COST_VM:
                assert cost_reader.vm(vm.name, metric) == pytest.approx(
                    getattr(vm, metric), abs=0.011
                ), metric
        for metric in figures._FAST_HOST:
            assert reader.host_metric(metric) == pytest.approx(
                getattr(snap.host, metric), abs=0.011
            ), metric


# ------------------------------------------------------------------ format errors


def test_bad_lab_reports_every_problem_with_lines():
    text = (
        BASE
        + """
[lab]
title = "t"
duration = "soon"
briefing = "b"
colour = "red"

[[lab.objective]]
kind = "metric"
vm = "zz"
metric = "consumed_mb"
value = 1

[[lab.objective]]
kind = "metric"
metric = "consumd_mb"
value = 1

[[lab.objective]]
kind = "state"
state = "sunny"
"""
    )
    with pytest.raises(LabError) as e:
        parse_lab(text, "x.toml")
    msgs = [(p.line, p.key_path, p.message) for p in e.value.problems]
    keys = [k for _, k, _ in msgs]
    assert "lab.duration" in keys and "lab.colour" in keys
    assert "lab.objective[1].vm" in keys and "lab.objective[2].metric" in keys
    assert "lab.objective[3].state" in keys
    assert any("did you mean" in m and "consumed_mb" in m for _, _, m in msgs)
    lines = text.split("\n")
    for line, key, _ in msgs:
        assert line is not None and key.split(".")[-1].split("[")[0] in lines[line - 1], (line, key)


def test_profile_problems_keep_the_lab_files_line_numbers():
    text = """format = 1
[lab]
title = "t"
duration = "1m"
briefing = "b"
[[lab.objective]]
kind = "no_power_off"

[host]
name = "t"
memory_mb = -5
"""
    with pytest.raises(LabError) as e:
        parse_lab(text, "x.toml")
    (p,) = e.value.problems
    assert p.key_path == "host.memory_mb" and p.line == 11


# ------------------------------------------------------------------ CLI


def test_cli_list_show_start_and_bad_input(tmp_path, capsys):
    assert lab_main(["list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in BUNDLED)
    assert lab_main(["show", "limit-balloon"]) == 0
    assert "Objectives:" in capsys.readouterr().out
    assert lab_main(["start", "limit-balloon", "--print"]) == 0
    capsys.readouterr()
    assert ProgressStore().get("limit-balloon").status == "started"
    assert lab_main(["check", "no-such-lab"]) == 2
    assert "no lab named" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[action]]\nat = "1m"\nvm = "web09"\nset = { reservation_mb = "lots" }\n'
        '[[action]]\nwhen = "2m"\n'
    )
    assert lab_main(["check", "limit-balloon", "--actions", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "action[1].vm" in err and "action[2]" in err and "Traceback" not in err
    assert lab_main(["check", "limit-balloon", "--actions", str(tmp_path / "missing.toml")]) == 2
    assert lab_main([]) == 2
    assert lab_main(["frobnicate"]) == 2


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_lab_start_opens_the_ui_the_command_line_hands_in(monkeypatch):
    """`memtui lab start` on a terminal runs the UI's entry it was handed (memtui.cli hands in
    the terminal UI's); with none it prints the briefing and says why."""
    from memtui import cli
    from memtui.ui.app import run_lab

    monkeypatch.setattr(sys, "stdin", _Terminal())
    monkeypatch.setattr(sys, "stdout", _Terminal())
    opened = []
    assert lab_main(["start", "idle-tax"], ui=lambda: lambda lab: opened.append(lab.name) or 0) == 0
    assert opened == ["idle-tax"] and sys.stdout.getvalue() == ""
    assert lab_main(["start", "idle-tax"], ui=lambda: None) == 0
    assert "Objectives:" in sys.stdout.getvalue()
    assert "the terminal UI cannot run labs here" in sys.stdout.getvalue()
    assert cli._lab_ui() is run_lab


def test_cli_check_prints_each_objective(capsys):
    rc = lab_main(["check", "limit-balloon", "--actions", str(SOLUTIONS / "limit-balloon.toml")])
    out = capsys.readouterr().out
    assert rc == 0
    assert "PASS  no-balloon" in out and "PASSED: 4 of 4" in out and "0:05:00  ok" in out


def test_labs_module_imports_no_ui_toolkit():
    code = (
        "import sys, memtui.practice.labcli, memtui.practice.explain, memtui.practice.whatif; "
        "assert 'textual' not in sys.modules and 'rich' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------ progress


def test_progress_survives_restarts_and_keeps_the_best(tmp_path):
    path = tmp_path / "p" / "labs.toml"
    lab = labfile.load_lab("esxtop-columns")
    store = ProgressStore(path)
    store.record_start(lab)
    s = LabSession(lab)
    s.end()
    store.record_result(s.result())
    assert ProgressStore(path).get(lab.name).status == "failed"
    s = actions.play(lab, actions.load_actions(SOLUTIONS / "esxtop-columns.toml", lab))
    ProgressStore(path).record_result(s.result())
    s = LabSession(lab)
    s.end()
    ProgressStore(path).record_result(s.result())
    p = ProgressStore(path).get(lab.name)
    assert p.status == "passed" and p.attempts == 1
    assert p.best["passed"] is True and p.last["passed"] is False
    data = tomllib.loads(path.read_text())
    assert data["lab"]["esxtop-columns"]["best"]["objectives_met"] == 3
    assert not list(path.parent.glob("*.tmp"))


def test_unreadable_progress_is_kept_aside(tmp_path):
    path = tmp_path / "labs.toml"
    path.write_text("this is = = not toml")
    store = ProgressStore(path)
    assert store.problem and store.get("x").status == "new"
    store.record_start(labfile.load_lab("idle-tax"))
    assert (tmp_path / "labs.toml.bad").read_text() == "this is = = not toml"
    assert ProgressStore(path).get("idle-tax").status == "started"


# ------------------------------------------------------------------ averages and guest cost


def test_average_objective_is_decided_on_the_mean_over_its_window():
    lab = make_lab("""
[[lab.objective]]
id = "mean-ok"
kind = "metric"
vm = "a"
metric = "throughput_pct"
op = ">="
value = 99
during = "average"
after = "1m"
before = "3m"

[[lab.objective]]
id = "mean-too-high"
kind = "metric"
vm = "*"
metric = "throughput_pct"
op = ">"
value = 100
during = "average"
after = "1m"
""")
    s = LabSession(lab)
    s.advance(90)
    st = s.status("mean-ok")
    assert st.status == PENDING and "average so far" in st.progress
    assert s.status("mean-too-high").status == PENDING  # decided only when the window ends
    s.advance(100)
    assert s.status("mean-ok").status == MET
    assert "average 0:01:00 to 0:03:00" in s.status("mean-ok").progress
    s.run_to_end()
    st = s.status("mean-too-high")
    assert st.status == FAILED and "needs > 100" in st.progress


def test_average_objective_counts_every_second_of_the_window():
    """Every second from `after` to `before`, both included, goes into the mean."""
    lab = make_lab("""
[[lab.objective]]
id = "m"
kind = "metric"
vm = "b"
metric = "on"
op = "=="
value = 1
during = "average"
after = "10s"
before = "20s"
""")
    s = LabSession(lab)
    s.advance(15)
    st = s.status("m")
    assert st.samples == 6 and st.sums == {"b": 6.0}
    s.advance(10)
    assert st.status == MET and st.samples == 11


def test_bad_during_names_average_among_the_choices():
    with pytest.raises(LabError) as exc:
        make_lab("""
[[lab.objective]]
kind = "metric"
vm = "a"
metric = "throughput_pct"
during = "mean"
value = 1
""")
    assert "average" in str(exc.value)


def test_cost_figures_are_objective_metrics():
    for metric in ("throughput_pct", "mem_latency_pct", "swap_wait_pct", "balloon_overhead_pct",
                   "ws_swapped_mb", "touched_write_mb", "zip_cache_size_mb"):
        assert metric in figures.VM_METRICS
    assert "overcommit_avg_5m" in figures.HOST_METRICS
