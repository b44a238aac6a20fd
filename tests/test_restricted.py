"""Restricted mode's file policy: only the user's own profile directory, by plain name."""

from __future__ import annotations

import pytest

from memtui.cli import main
from memtui.restricted import RestrictedError, RestrictedPolicy, check_name


@pytest.fixture
def policy(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMTUI_HOME", str(tmp_path / "home"))
    p = RestrictedPolicy.for_user()
    p.ensure_home()
    return p


@pytest.mark.parametrize("name", [
    "../etc/passwd", "/etc/passwd", "sub/dir", "..", ".hidden", "~root", "a\\\\b", "C:evil",
    "", "   ", "x" * 80, "bad\\nname", "a..b",
])
def test_names_with_a_path_or_odd_characters_are_refused(name, policy):
    with pytest.raises(RestrictedError):
        policy.own_path(name)


@pytest.mark.parametrize("name, stem", [("lab host", "lab host"), ("esx01.toml", "esx01"), ("my_host-2", "my_host-2")])
def test_plain_names_map_into_the_users_directory(name, stem, policy):
    assert check_name(name) == stem
    path = policy.own_path(name)
    assert path.parent == policy.home.resolve() and path.name == f"{stem}.toml"
    assert policy.may_write(path)


def test_bundled_profiles_are_readable_by_name_and_own_ones_come_first(policy):
    assert policy.readable_path("default").name == "default.toml"
    own = policy.own_path("default")
    own.write_text("format = 1\\n")
    assert policy.readable_path("default") == own
    assert policy.own_profiles() == [own]
    with pytest.raises(RestrictedError):
        policy.readable_path("nonexistent")


def test_writes_outside_the_directory_are_not_allowed(policy, tmp_path):
    assert not policy.may_write(tmp_path / "elsewhere.toml")
    assert not policy.may_write(policy.home / "notes.txt")


def test_the_command_line_refuses_a_path_in_restricted_mode(policy, capsys):
    assert main(["--restricted", "../../etc/passwd"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "cannot contain a path" in err
