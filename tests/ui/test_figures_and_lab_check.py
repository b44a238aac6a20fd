"""Figures and words the esxtop header and the why pane show, and `memtui lab check`'s output:
MEMCTL max counts only VMs with a balloon driver; during boot the target is explained by the
working set the guest boots into, not by what it has touched; `--json` is JSON on standard
output whatever else is asked; a wrong answer is marked WRONG, not ok.

These run headless (no terminal UI)."""

from __future__ import annotations

import json
from pathlib import Path

from memtui import paths
from memtui.practice.explain import explain_vm
from memtui.practice.labcli import lab_main

from .conftest import small_profile

# ------------------------------------------------------------------------------- figures


def test_memctl_max_counts_only_vms_with_a_balloon_driver():
    from memtui.model import Host
    from memtui.profile import load_profile

    host = Host.from_profile(load_profile(paths.bundled_profiles_dir() / "default.toml"))
    host.run(300)
    snap = host.snapshot()
    without = [v for v in snap.vms if v.power == "on" and not v.tools]
    assert without and all(v.balloon_max_mb > 0 for v in without)  # build01 has no Tools
    expected = sum(v.balloon_max_mb for v in snap.vms if v.power == "on" and v.tools)
    assert abs(snap.host.balloon_max_mb - expected) < 0.05


def test_why_pane_during_boot_names_the_working_set_not_what_was_touched():
    from memtui.model import Host

    host = Host.from_profile(small_profile())
    host.run(5)
    v = host.snapshot().vm("app01")
    assert v.booting and v.touched_mb < 500 and v.target_mb >= 1500
    text = " ".join(explain_vm(host, "app01"))
    assert "what it has touched" not in text
    assert "working set of 1,500 MB its guest is booting into" in text
    assert "touched " in text and "so far (TCHD)" in text


# ------------------------------------------------------------------------------- command line


def _wrong_answer(tmp_path: Path) -> Path:
    f = tmp_path / "wrong.toml"
    f.write_text('[[action]]\nat = "1m"\nanswer = 3\n\n[[action]]\nat = "2m"\nanswer = 4\n')
    return f


def test_lab_check_json_is_json_on_stdout_with_or_without_quiet(tmp_path, capsys):
    actions = _wrong_answer(tmp_path)
    for extra in ([], ["--quiet"]):
        lab_main(["check", "idle-tax", "--actions", str(actions), "--json", *extra])
        out, err = capsys.readouterr()
        result = json.loads(out)
        assert result["lab"] == "idle-tax"
        assert [a["result"] for a in result["actions"]] == ["WRONG", "ok"]
        assert ("WRONG: answered 3" in err) == (not extra)


def test_lab_check_marks_a_wrong_answer_wrong_not_ok(tmp_path, capsys):
    lab_main(["check", "idle-tax", "--actions", str(_wrong_answer(tmp_path))])
    out = capsys.readouterr().out
    assert "0:01:00  WRONG: answered 3: not right" in out
    assert "0:02:00  ok: answered 4: right" in out
