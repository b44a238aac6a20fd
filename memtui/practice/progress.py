"""Each user's progress on the labs: status, attempts, best and last result, kept in a TOML
file under `paths.lab_progress_path()` (docs/labs.md, "Progress"), written atomically.

The module imports no UI toolkit.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit

from memtui import paths
from memtui.practice.labfile import Lab, list_labs
from memtui.practice.session import LabResult


@dataclass
class LabProgress:
    name: str
    status: str = "new"  # new | started | passed | failed
    attempts: int = 0
    best: dict | None = None
    last: dict | None = None


def _result_record(result: LabResult) -> dict:
    return {
        "passed": result.passed,
        "objectives_met": result.passed_count,
        "objectives": result.total,
        "changes": result.changes,
        "hints": result.hints_used,
        "elapsed_s": int(round(result.elapsed_s)),
        "ended_early": result.ended_early,
        "finished": _dt.datetime.now(_dt.UTC).replace(microsecond=0),
        "status": {oid: status for oid, _, status, _ in result.objectives},
    }


def _better(a: dict, b: dict | None) -> bool:
    """Whether result record a beats b: passed, then more met, then fewer hints and changes."""
    if b is None:
        return True

    def key(r: dict) -> tuple:
        return (bool(r.get("passed")), r.get("objectives_met", 0), -r.get("hints", 0), -r.get("changes", 0))

    return key(a) > key(b)


class ProgressStore:
    """Each lab's status, attempts, best and last result, kept in a TOML file (atomic writes).

    An unreadable file is moved aside (to NAME.bad) on the next save, never silently lost;
    `problem` says what was wrong with it."""

    def __init__(self, path: str | os.PathLike[str] | None = None):
        self.path = Path(path) if path is not None else paths.lab_progress_path()
        self.problem: str | None = None
        self._doc = self._read()

    def _read(self) -> tomlkit.TOMLDocument:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return tomlkit.document()
        except (OSError, UnicodeDecodeError) as exc:
            self.problem = f"cannot read {self.path}: {exc}"
            return tomlkit.document()
        try:
            tomllib.loads(text)
            return tomlkit.parse(text)
        except Exception as exc:
            self.problem = f"{self.path} is not valid TOML ({exc}); it will be kept as {self.path.name}.bad"
            return tomlkit.document()

    def _labs(self) -> Any:
        if "lab" not in self._doc or not isinstance(self._doc["lab"], dict):
            self._doc["lab"] = tomlkit.table(is_super_table=True)
        return self._doc["lab"]

    def get(self, name: str) -> LabProgress:
        t = self._doc.get("lab", {}).get(name) if isinstance(self._doc.get("lab"), dict) else None
        if not isinstance(t, dict):
            return LabProgress(name)
        plain = json.loads(json.dumps(t, default=str))
        return LabProgress(name, status=plain.get("status", "new"), attempts=int(plain.get("attempts", 0)),
                           best=plain.get("best"), last=plain.get("last"))

    def all(self) -> dict[str, LabProgress]:
        labs = self._doc.get("lab")
        return {n: self.get(n) for n in labs} if isinstance(labs, dict) else {}

    def _entry(self, name: str) -> Any:
        labs = self._labs()
        if name not in labs:
            labs[name] = tomlkit.table()
        return labs[name]

    def record_start(self, lab: Lab) -> None:
        e = self._entry(lab.name)
        e["title"] = lab.title
        e["attempts"] = int(e.get("attempts", 0)) + 1
        if e.get("status") not in ("passed",):
            e["status"] = "started"
        e["last_started"] = _dt.datetime.now(_dt.UTC).replace(microsecond=0)
        self.save()

    def record_result(self, result: LabResult) -> None:
        e = self._entry(result.lab)
        e["title"] = result.title
        rec = _result_record(result)
        if e.get("status") != "passed":
            e["status"] = "passed" if result.passed else "failed"
        old_best = json.loads(json.dumps(e["best"], default=str)) if "best" in e else None
        e["last"] = rec
        if _better(rec, old_best):
            e["best"] = rec
        self.save()

    def reset(self, name: str) -> None:
        labs = self._doc.get("lab")
        if isinstance(labs, dict) and name in labs:
            del labs[name]
            self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.problem and self.path.exists():
            with contextlib.suppress(OSError):
                os.replace(self.path, self.path.with_name(self.path.name + ".bad"))
            self.problem = None
        text = tomlkit.dumps(self._doc)
        if not text.startswith("#"):
            text = "# memtui lab progress: written by memtui, safe to delete\n" + text
            self._doc = tomlkit.parse(text)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


class LabCatalog:
    """(name, level, the user's progress, title) of each bundled lab, for the lab pane and the
    command palette: the labs are read once (about 0.1 s), the progress every time."""

    def __init__(self) -> None:
        self._labs: list[tuple[str, int, str]] | None = None

    def rows(self) -> list[tuple[str, int, str, str]]:
        cached = self._labs
        if cached is None:
            cached = [(lab.name, lab.level, lab.title) for lab in list_labs()]
            self._labs = cached
        progress = ProgressStore().all()
        out = []
        for name, level, title in cached:
            p = progress.get(name)
            status = "new" if p is None else p.status
            if p is not None and p.best:
                status += f", best {p.best.get('objectives_met', 0)} of {p.best.get('objectives', 0)}"
            out.append((name, level, status, title))
        return out
