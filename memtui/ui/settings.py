"""The user's own settings: VM table columns and sort, refresh delay, theme, key overrides.

Kept as TOML at `paths.settings_path()` (MEMTUI_HOME moves it). Read with tomllib, written with
tomlkit into the existing document so that the user's comments and key order survive, atomically
(a temporary file beside it, then a rename). A bad value is reported and ignored, never fatal.

Example:

    [vm_table]
    columns = ["NAME", "MEMSZ", "GRANT", "SZTGT", "MCTLSZ", "SWCUR"]
    sort = "MCTLSZ"
    reverse = true

    [ui]
    refresh_s = 1.0       # how often the screen is redrawn while the clock runs
    theme = "ansi-dark"
    speed_x = 10          # simulated seconds per wall second at start

    [keys]                # binding id = keys, as Textual names them
    "sim.pause" = "space,p"
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from memtui import paths
from memtui.ui.columns import COLUMNS, DEFAULT_COLUMNS

if TYPE_CHECKING:  # tomlkit is imported when the settings are first saved, not at start
    import tomlkit

REFRESH_CHOICES_S = (0.25, 0.5, 1.0, 2.0, 5.0)
DEFAULT_REFRESH_S = 1.0


@dataclass
class UserSettings:
    columns: list[str] = field(default_factory=lambda: list(DEFAULT_COLUMNS))
    sort: str = "NAME"
    reverse: bool = False
    refresh_s: float = DEFAULT_REFRESH_S
    theme: str | None = None
    speed_x: float | None = None
    keys: dict[str, str] = field(default_factory=dict)


def load_settings(path: Path | None = None) -> tuple[UserSettings, list[str]]:
    """The user's settings and a list of problems found (each ignored)."""
    path = paths.settings_path() if path is None else path
    settings = UserSettings()
    problems: list[str] = []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return settings, problems
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return settings, [f"{path}: cannot read settings ({exc}); using defaults"]

    table = data.get("vm_table", {})
    if isinstance(table, dict):
        cols = table.get("columns")
        if cols is not None:
            if isinstance(cols, list) and all(isinstance(c, str) for c in cols):
                known = [c for c in cols if c in COLUMNS]
                unknown = [c for c in cols if c not in COLUMNS]
                if unknown:
                    problems.append(f"{path}: vm_table.columns: unknown column(s) {', '.join(unknown)} ignored")
                if "NAME" in known:
                    known.remove("NAME")
                settings.columns = ["NAME", *dict.fromkeys(known)]
            else:
                problems.append(f"{path}: vm_table.columns must be a list of column names")
        sort = table.get("sort")
        if sort is not None:
            if isinstance(sort, str) and sort in COLUMNS:
                settings.sort = sort
            else:
                problems.append(f"{path}: vm_table.sort: {sort!r} is not a column")
        reverse = table.get("reverse")
        if reverse is not None:
            if isinstance(reverse, bool):
                settings.reverse = reverse
            else:
                problems.append(f"{path}: vm_table.reverse must be true or false")
    ui = data.get("ui", {})
    if isinstance(ui, dict):
        refresh = ui.get("refresh_s")
        if refresh is not None:
            if isinstance(refresh, int | float) and not isinstance(refresh, bool) and 0.1 <= refresh <= 60:
                settings.refresh_s = float(refresh)
            else:
                problems.append(f"{path}: ui.refresh_s must be a number of seconds from 0.1 to 60")
        theme = ui.get("theme")
        if theme is not None:
            if isinstance(theme, str):
                settings.theme = theme
            else:
                problems.append(f"{path}: ui.theme must be a theme name")
        speed = ui.get("speed_x")
        if speed is not None:
            if isinstance(speed, int | float) and not isinstance(speed, bool) and 1 <= speed <= 3600:
                settings.speed_x = float(speed)
            else:
                problems.append(f"{path}: ui.speed_x must be from 1 to 3600")
    keys = data.get("keys", {})
    if isinstance(keys, dict):
        for k, v in keys.items():
            if isinstance(v, str):
                settings.keys[k] = v
            else:
                problems.append(f"{path}: keys.{k} must be a string such as \"space,p\"")
    return settings, problems


def save_settings(settings: UserSettings, path: Path | None = None) -> None:
    """Write the settings the UI changes (columns, sort, refresh delay, theme), keeping the rest
    of the file as the user wrote it. Raises OSError."""
    import tomlkit

    path = paths.settings_path() if path is None else path
    try:
        doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        doc = tomlkit.document()
        doc.add(tomlkit.comment("memtui settings: written by memtui, comments are kept"))
    except (OSError, UnicodeDecodeError, Exception):  # unreadable: start afresh rather than fail
        doc = tomlkit.document()
    _set(doc, "vm_table", "columns", list(settings.columns))
    _set(doc, "vm_table", "sort", settings.sort)
    _set(doc, "vm_table", "reverse", settings.reverse)
    _set(doc, "ui", "refresh_s", settings.refresh_s)
    if settings.theme is not None:
        _set(doc, "ui", "theme", settings.theme)
    _atomic_write(path, tomlkit.dumps(doc))


def _set(doc: tomlkit.TOMLDocument, table: str, key: str, value) -> None:
    if table not in doc or not isinstance(doc[table], dict):
        import tomlkit

        doc[table] = tomlkit.table()
    current = doc[table].get(key)
    if current is not None and _plain(current) == value:
        return
    doc[table][key] = value


def _plain(item):
    return item.unwrap() if hasattr(item, "unwrap") else item


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = None
    try:
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent,
                                         prefix=f".{path.name}.", suffix=".tmp", delete=False) as f:
            tmp = f.name
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
