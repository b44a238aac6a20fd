"""The profile format's schema: one table that the checker, the reference page and the UI's
forms read; and the two reading paths (tomllib alone, and with the tomlkit document) agree."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import tomlkit
from hypothesis import HealthCheck, given, settings

from memtui import paths, spec
from memtui.config import HostConfig, Profile, VMConfig, Workload
from memtui.practice.labfile import lab_files, load_lab
from memtui.profile import (
    ProfileError,
    dumps_profile,
    load_profile,
    parse_profile,
    read_profile,
    schema,
)
from tests.test_profile import EXAMPLE, profiles

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "profile-format.md"
BUNDLED = sorted(paths.bundled_profiles_dir().glob("*.toml"))
LABS = lab_files()


def plain(p: Profile) -> Profile:
    return replace(p, document=None, path=None)


# --------------------------------------------------------------------------------------------
# One table


def test_the_reference_tables_are_the_schemas():
    text = DOC.read_text(encoding="utf-8")
    assert schema.doc_regions(text) == ["top", "host", "advanced", "vm", "workload", "event"]
    assert schema.render_doc(text) == text, (
        f"the key tables of {DOC.name} differ from memtui/profile/schema.py; regenerate them "
        f"with: {schema.REGENERATE}"
    )


def test_the_regenerate_command_rewrites_stale_tables(tmp_path):
    page = tmp_path / "page.md"
    good = DOC.read_text(encoding="utf-8")
    page.write_text(good.replace("| `cpu_cores` |", "| `cpu_korez` |"), encoding="utf-8")
    cmd = [sys.executable, "-m", "memtui.profile", str(page)]
    first = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert first.returncode == 0 and "rewrote" in first.stdout, first.stderr
    assert page.read_text(encoding="utf-8") == good
    again = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert again.returncode == 0 and "up to date" in again.stdout


def test_the_command_is_the_one_the_schema_names():
    assert schema.REGENERATE == f"python -m memtui.profile {DOC.relative_to(ROOT)}"


@pytest.mark.parametrize(
    ("cls", "table"), [(HostConfig, schema.HOST), (VMConfig, schema.VM), (Workload, schema.WORKLOAD)]
)
def test_schema_defaults_are_the_dataclass_defaults(cls, table):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    keys = schema.keys_of(table)
    assert {k.name for k in keys} == set(fields), "the schema and the dataclass name other keys"
    for k in keys:
        f = fields[k.name]
        if f.default is not dataclasses.MISSING:
            expected = f.default
        elif f.default_factory is not dataclasses.MISSING:
            expected = f.default_factory()
        else:
            assert k.required, k.path
            continue
        if k.name == "workload":  # a table: the default is an idle guest
            assert expected == Workload() and k.default is None
            continue
        if k.name == "schedule":
            assert expected == [] and list(k.default) == []
            continue
        assert k.default == expected and type(k.default) is type(expected), k.path


def test_schema_advanced_settings_are_the_specs():
    got = {k.name: (k.default, k.minimum, k.maximum, k.since, k.meaning)
           for k in schema.keys_of(schema.ADVANCED)}
    assert got == {s.name: (s.default, s.minimum, s.maximum, s.since, s.meaning)
                   for s in spec.ADVANCED_SETTINGS.values()}


def test_every_key_has_a_type_and_a_meaning():
    for k in schema.KEYS:
        assert k.type and k.meaning, k.path
        if k.type in (schema.SIZE, schema.PERCENT):
            assert k.unit, k.path


def _value_for(k: schema.Key):
    """A valid value of a key, as the profile writes it."""
    special = {
        ("vm", "limit_mb"): 2048, ("vm", "shares"): "high", ("vm", "workload"): {"active_mb": 5},
        ("vm", "name"): "a", ("vm.workload", "schedule"): [["0s", 5]],
        ("host", "start_time"): "2026-03-01T08:00:00Z", ("host", "memory_mb"): 16384,
        ("host", "system_mb"): 800, ("vm", "memory_mb"): 4096, ("vm", "reservation_mb"): 0,
        ("vm.workload", "active_mb"): 100,
    }
    if (k.table, k.name) in special:
        return special[(k.table, k.name)]
    if k.choices:
        return k.choices[-1]
    return {
        schema.SIZE: 10, schema.NUMBER: 10, schema.PERCENT: 10, schema.WHOLE: k.minimum or 1,
        schema.BOOLEAN: False, schema.STRING: "x", schema.DURATION: "1m",
    }[k.type]


def test_every_key_of_the_schema_is_read():
    host = {k.name: _value_for(k) for k in schema.keys_of(schema.HOST)}
    host["esx_version"] = spec.VERSIONS[-1]
    workload = {k.name: _value_for(k) for k in schema.keys_of(schema.WORKLOAD)}
    vm = {k.name: _value_for(k) for k in schema.keys_of(schema.VM) if k.name != "workload"}
    vm["workload"] = workload
    advanced = {k.name: _value_for(k) for k in schema.keys_of(schema.ADVANCED)}
    data = {"format": 1, "host": host, "advanced": advanced, "vm": [vm],
            "event": [{"at": "1m", "vm": "a", "set": {"tools": True}, "workload": {"dup_pct": 1}}]}
    assert set(data) == {k.name for k in schema.keys_of(schema.TOP)}
    assert set(data["event"][0]) == {k.name for k in schema.keys_of(schema.EVENT)}
    p = parse_profile(tomlkit.dumps(data), "p.toml")
    assert p.host.swap_mb_per_s == 10.0 and p.vms[0].workload.boot_zero_pct == 10.0
    assert p.advanced == advanced and len(p.events) == 1


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ('bogus = 1\n[host]\nname = "h"\nmemory_mb = 1024\n', "bogus"),
        ('[host]\nname = "h"\nmemory_mb = 1024\nbogus = 1\n', "host.bogus"),
        ('[host]\nname = "h"\nmemory_mb = 1024\n[[vm]]\nname = "a"\nmemory_mb = 5\nbogus = 1\n',
         "vm[1].bogus"),
        ('[host]\nname = "h"\nmemory_mb = 1024\n[[vm]]\nname = "a"\nmemory_mb = 5\n'
         "[vm.workload]\nbogus = 1\n", "vm[1].workload.bogus"),
        ('[host]\nname = "h"\nmemory_mb = 1024\n[[event]]\nat = 0\nset = { "Mem.IdleTax" = 1 }\n'
         "bogus = 1\n", "event[1].bogus"),
    ],
)
def test_a_key_the_schema_does_not_name_is_refused(text, path):
    with pytest.raises(ProfileError) as info:
        parse_profile(text, "p.toml")
    (problem,) = info.value.problems
    assert problem.key_path == path and "unknown key" in problem.message


def test_schema_ranges_are_what_the_checker_enforces():
    """Each number of the schema is refused just outside its range and read at its edges."""
    base = {"host": {"name": "h", "memory_mb": 16384, "esx_version": "6.x"},
            "vm": [{"name": "a", "memory_mb": 4096, "workload": {"zero_pct": 0, "family_pct": 0,
                                                               "dup_pct": 0}}]}
    checked = 0
    for k in schema.KEYS:
        if k.type not in (schema.SIZE, schema.NUMBER, schema.PERCENT, schema.WHOLE) or k.minimum is None:
            continue
        if k.table == schema.TOP or (k.table, k.name) in (("host", "memory_mb"), ("vm", "memory_mb")):
            continue

        def put(value, k=k):
            data = {"host": dict(base["host"]), "vm": [dict(base["vm"][0])]}
            data["vm"][0]["workload"] = dict(base["vm"][0]["workload"])
            target = {schema.HOST: data["host"], schema.VM: data["vm"][0],
                      schema.WORKLOAD: data["vm"][0]["workload"]}.get(k.table)
            if k.table == schema.ADVANCED:
                data["advanced"] = target = {}
            if k.table == schema.EVENT:
                return None
            target[k.name] = value
            return tomlkit.dumps(data)

        low = k.minimum - (1 if k.type == schema.WHOLE or not k.above else 0)
        with pytest.raises(ProfileError):
            parse_profile(put(low))
        if not k.above:
            parse_profile(put(int(k.minimum) if k.type == schema.WHOLE else k.minimum))
        if k.maximum is not None:
            parse_profile(put(k.maximum))
            with pytest.raises(ProfileError):
                parse_profile(put(k.maximum + 1))
        checked += 1
    assert checked >= 20


# --------------------------------------------------------------------------------------------
# The fast path and the document path


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_both_paths_read_each_bundled_profile_alike(path):
    fast = read_profile(path)
    full = load_profile(path)
    assert fast == full and fast.path == full.path == str(path)
    assert fast.document is None and isinstance(full.document, tomlkit.TOMLDocument)


@pytest.mark.parametrize("path", LABS, ids=lambda p: p.name)
def test_both_paths_read_each_lab_alike(path):
    fast = load_lab(path, keep_document=False)
    full = load_lab(path)
    assert fast.profile == full.profile and fast.profile.document is None
    assert full.profile.document is not None
    assert dataclasses.replace(fast, profile=None) == dataclasses.replace(full, profile=None)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profiles())
def test_both_paths_read_random_profiles_alike(p):
    text = "# a comment\n" + dumps_profile(p)
    fast = parse_profile(text, keep_document=False)
    full = parse_profile(text)
    assert fast == full == plain(p)
    assert fast.document is None and full.document is not None


@pytest.mark.parametrize("line", range(1, EXAMPLE.count("\n") + 1))
def test_both_paths_report_the_same_problems(line):
    lines = EXAMPLE.split("\n")
    if "=" not in lines[line - 1]:
        return
    lines[line - 1] = lines[line - 1].split("=")[0] + '= "?"'
    text = "\n".join(lines)
    outcomes = []
    for keep in (False, True):
        try:
            outcomes.append(plain(parse_profile(text, "p.toml", keep_document=keep)))
        except ProfileError as exc:
            outcomes.append([str(p) for p in exc.problems])
    assert outcomes[0] == outcomes[1]


def test_the_fast_path_does_not_import_tomlkit():
    code = (
        "import sys\n"
        "from memtui.profile import read_profile, ProfileError\n"
        f"read_profile({str(BUNDLED[0])!r})\n"
        "try:\n"
        "    read_profile(" + repr(str(DOC)) + ")\n"
        "except ProfileError:\n"
        "    pass\n"
        "print(sorted(m for m in ('tomlkit', 'textual', 'rich') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_saving_a_fast_read_profile_writes_a_clean_document(tmp_path):
    src = tmp_path / "p.toml"
    src.write_text(EXAMPLE, encoding="utf-8")
    fast = read_profile(src)
    from memtui.profile import save_profile

    out = tmp_path / "q.toml"
    save_profile(fast, out)
    assert plain(load_profile(out)) == plain(fast)
    assert "# profile format version" not in out.read_text(encoding="utf-8")
