"""The architecture holds (docs/architecture.md): the import contracts of pyproject.toml
(`[tool.importlinter]`) are kept, they name every part of memtui, and no module imports another
that imports it back.

Each contract is also shown to break: a copy of the source tree gets one bad import, and
import-linter must report exactly the contracts that import breaks.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
CONTRACTS = {c["id"]: c for c in CONFIG["tool"]["importlinter"]["contracts"]}

# import-linter's own command (`lint-imports`), run on the tree at `root`.
LINT = ("import sys; from importlinter.cli import lint_imports; "
        "sys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True, no_logo=True))")


def lint(root: Path) -> tuple[int, dict[str, str], str]:
    """Run the contracts on the source tree at `root`: exit status, each contract's id ->
    "KEPT" or "BROKEN", and the report."""
    env = dict(os.environ, PYTHONPATH=str(root))
    run = subprocess.run([sys.executable, "-c", LINT, str(root / "pyproject.toml")], cwd=root,
                         env=env, capture_output=True, text=True, timeout=300)
    report = run.stdout + run.stderr
    results = {}
    for cid, contract in CONTRACTS.items():  # a long name may wrap in the report
        words = r"\s+".join(re.escape(w) for w in contract["name"].split())
        found = re.search(rf"^{words}\s+(KEPT|BROKEN)$", report, re.MULTILINE)
        results[cid] = found.group(1) if found else "MISSING"
    return run.returncode, results, report


def test_the_import_contracts_are_kept():
    status, results, report = lint(ROOT)
    assert results == {cid: "KEPT" for cid in CONTRACTS}, report
    assert status == 0, report


# (module of the copied tree, the line added to it, the contracts that must break)
PROBES = [
    ("memtui/practice/probe.py", "import textual\n", {"headless"}),
    ("memtui/esxtop/probe.py", "from memtui.ui import app\n", {"headless", "layers"}),
    ("memtui/practice/probe.py", "import memtui.vsphere.serve\n", {"layers"}),
    ("memtui/practice/probe.py",
     "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from memtui.session import Session\n",
     {"layers"}),  # an annotation's import counts too
    ("memtui/practice/figures.py", "from memtui.practice import labcli\n", {"practice-layers"}),
]


@pytest.mark.parametrize("module, line, broken", PROBES, ids=[f"{m}: {s.splitlines()[-1].strip()}"
                                                           for m, s, _ in PROBES])
def test_a_bad_import_breaks_its_contracts(tmp_path, module, line, broken):
    shutil.copytree(ROOT / "memtui", tmp_path / "memtui",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    text = target.read_text(encoding="utf-8") if target.exists() else ""
    target.write_text(text + "\n" + line, encoding="utf-8")
    status, results, report = lint(tmp_path)
    assert {cid for cid, word in results.items() if word == "BROKEN"} == broken, report
    assert "MISSING" not in results.values(), report
    assert status == (1 if broken else 0), report


def _parts(package: Path) -> set[str]:
    """The modules and subpackages directly in a package, by name."""
    out = set()
    for p in package.iterdir():
        if p.suffix == ".py" and p.stem != "__init__":
            out.add(p.stem)
        elif p.is_dir() and (p / "__init__.py").exists():
            out.add(p.name)
    return out


def _layered(contract: dict) -> set[str]:
    return {name.strip() for layer in contract["layers"] for name in re.split(r"[|:]", layer)}


def test_the_contracts_name_every_part_of_memtui():
    """A new module or package must be placed in the layers (and, unless it is the UI or the
    command line, in the headless core): a part no contract names is not checked at all."""
    parts = _parts(ROOT / "memtui")
    assert _layered(CONTRACTS["layers"]) == parts
    headless = {m.removeprefix("memtui.") for m in CONTRACTS["headless"]["source_modules"]}
    assert headless == parts - {"ui", "cli", "__main__"}
    assert _layered(CONTRACTS["practice-layers"]) == _parts(ROOT / "memtui" / "practice")


# --------------------------------------------------------------------------------------------
# No import circles


def import_graph() -> grimp.ImportGraph:
    """memtui's imports, those inside functions included. An import under `if TYPE_CHECKING:`
    is left out: it names a type for the annotations and never runs, so it cannot take part in
    a circle (the layers contract still counts it)."""
    return grimp.build_graph("memtui", cache_dir=None, exclude_type_checking_imports=True)


def import_circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The groups of modules that import one another in a circle (strongly connected
    components of more than one module), each sorted (Tarjan's algorithm, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    group.append(m)
                    if m == node:
                        break
                if len(group) > 1:
                    out.append(sorted(group))
    return out


def _describe(graph: grimp.ImportGraph, group: list[str]) -> str:
    lines = []
    for a in group:
        for b in group:
            for d in graph.get_import_details(importer=a, imported=b):
                lines.append(f"  {a}:{d['line_number']} imports {b}")
    return "\n".join(lines)


def test_no_module_imports_one_that_imports_it_back():
    graph = import_graph()
    circles = import_circles(graph)
    assert not circles, "import circles:\n" + "\n\n".join(_describe(graph, g) for g in circles)


def test_an_import_circle_is_found():
    graph = import_graph()
    assert import_circles(graph) == []
    graph.add_import(importer="memtui.spec", imported="memtui.ui.app")  # ui.app -> ... -> spec
    circles = import_circles(graph)
    assert len(circles) == 1 and {"memtui.spec", "memtui.ui.app"} <= set(circles[0])
