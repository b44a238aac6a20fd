"""What `pip install .` installs: every package of the source tree, so that a non-editable
install runs what the tests ran."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_of_the_tree_is_installed():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    mapped = config["tool"]["setuptools"].get("package-dir", {})
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "memtui").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    found |= set(mapped)  # packages laid out elsewhere (the bundled profiles)
    assert found == listed, f"missing from pyproject: {sorted(found - listed)}; " \
                            f"listed but absent: {sorted(listed - found)}"
