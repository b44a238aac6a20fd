"""The VM list's field groups in esxtop's letter notation, their order (esxtop's `o`), and the
column choice written to and read from a file, as esxtop's `W` writes its ~/.esxtop50rc.

esxtop keeps, per screen, one string of letters: one letter per field group, upper case when the
group is shown, lower case when it is not, the letters in the order the groups appear. memtui
writes the same kind of string for its VM list, with its own letter table (`GROUPS`, shown in the
field order screen and in docs/ui.md), and beside it the exact list of columns, since memtui
lets you choose single columns within a group:

    # memtui VM list fields (esxtop notation) ...
    memory = "ABcDEfGhIJkL"
    columns = ["NAME", "STAT", "MEMSZ", ...]

Reading takes `columns` when it is there, else builds the columns from the letters (every column
of each upper-case group, groups in the letters' order). Data and files only: no UI toolkit.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from memtui.ui.columns import COLUMNS

RC_NAME = "memtui-esxtoprc"  # in the user's config directory unless a path is given


@dataclass(frozen=True)
class Group:
    letter: str
    title: str
    keys: tuple[str, ...]


GROUPS: tuple[Group, ...] = (
    Group("A", "NAME", ("NAME",)),
    Group("B", "STATE", ("STAT",)),
    Group("C", "MEM ALLOC", ("AMIN", "AMAX", "ASHRS")),
    Group("D", "SIZE", ("MEMSZ", "GRANT", "CNSM", "SZTGT", "TCHD", "TCHD_W")),
    Group("E", "ACTIVE", ("%ACTV", "%ACTVS", "%ACTVF", "%ACTVN")),
    Group("F", "MEMCTL", ("MCTL?", "MCTLSZ", "MCTLTGT", "MCTLMAX")),
    Group("G", "SWAP", ("SWCUR", "SWTGT", "SWR/s", "SWW/s")),
    Group("H", "ZIP", ("ZIP", "CACHESZ", "CACHEUSD", "ZIP/s", "UNZIP/s")),
    Group("I", "COW", ("SHRD", "ZERO", "SHRDSVD")),
    Group("J", "OVERHEAD", ("OVHD", "OVHDMAX")),
    Group("K", "SETTINGS", ("RESV", "LIMIT", "SHARES", "VCPU")),
    Group("L", "GUEST COST", ("%SWPWT", "%ZIPWT", "%LAT", "%GPGWT", "%BALOVH", "%THRPT", "WSSWP",
                              "WSZIP")),
)
BY_LETTER = {g.letter: g for g in GROUPS}
GROUP_OF = {key: g.letter for g in GROUPS for key in g.keys}


class RcError(ValueError):
    """A field file that cannot be used: the message names the file, the line and the key."""


def group_order(columns: list[str]) -> list[str]:
    """The groups' letters in screen order: those with a column shown, in the order their first
    column appears, then the others in the table's order. NAME (A) is always first."""
    order: list[str] = ["A"]
    for key in columns:
        letter = GROUP_OF.get(key)
        if letter and letter not in order:
            order.append(letter)
    order += [g.letter for g in GROUPS if g.letter not in order]
    return order


def move(order: list[str], letter: str, step: int) -> list[str]:
    """esxtop's `o`: move group `letter` one place left (step -1) or right (+1); NAME stays."""
    order = list(order)
    if letter not in order or letter == "A":
        return order
    i = order.index(letter)
    j = i + step
    if not 1 <= j < len(order):
        return order
    order[i], order[j] = order[j], order[i]
    return order


def reorder(columns: list[str], order: list[str]) -> list[str]:
    """The shown columns regrouped in the groups' `order`; within a group they keep their order."""
    out: list[str] = []
    for letter in order:
        out += [key for key in columns if GROUP_OF.get(key) == letter and key not in out]
    out += [key for key in columns if key not in out]  # none, unless a column has no group
    if "NAME" in out:
        out.remove("NAME")
    return ["NAME", *out]


def letters(columns: list[str]) -> str:
    """The esxtop string: each group's letter in screen order, upper case when shown."""
    shown = {GROUP_OF.get(k) for k in columns}
    return "".join(letter if letter in shown else letter.lower() for letter in group_order(columns))


def columns_from_letters(text: str) -> list[str]:
    """Columns from an esxtop string alone: every column of each upper-case group."""
    out: list[str] = []
    for ch in text:
        group = BY_LETTER.get(ch.upper())
        if group is not None and ch.isupper():
            out += [k for k in group.keys if k not in out]
    if "NAME" in out:
        out.remove("NAME")
    return ["NAME", *out]


def render(columns: list[str]) -> str:
    """The file's text for `columns`."""
    table = "\n".join(f"#   {g.letter} {g.title}: {' '.join(g.keys)}" for g in GROUPS)
    cols = ", ".join(f'"{k}"' for k in columns)
    return (
        "# memtui VM list fields, in esxtop's notation: one letter per field group, upper case =\n"
        "# shown, lower case = hidden, in the order shown (memtui's letters, not esxtop's):\n"
        f"{table}\n"
        "# `columns` is the exact choice (memtui lets you pick single columns in a group); without\n"
        "# it, every column of each upper-case group is shown.\n"
        f'memory = "{letters(columns)}"\n'
        f"columns = [{cols}]\n"
    )


def default_path() -> Path:
    from memtui import paths

    return paths.user_config_dir() / RC_NAME


def write(path: str | os.PathLike[str], columns: list[str]) -> Path:
    """Write the field file atomically (a temporary file beside it, renamed over it)."""
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(render(columns))
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


def _line_of(text: str, key: str) -> int:
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip().startswith(key):
            return n
    return 1


def parse(text: str, path: str = "<fields>") -> list[str]:
    """The columns a field file gives, or RcError naming file, line and key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RcError(f"{path}: not a field file: {exc}") from None
    unknown = set(data) - {"memory", "columns"}
    if unknown:
        key = sorted(unknown)[0]
        raise RcError(f"{path}:{_line_of(text, key)}: {key}: unknown key (allowed: memory, columns)")
    if "columns" in data:
        cols = data["columns"]
        line = _line_of(text, "columns")
        if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
            raise RcError(f"{path}:{line}: columns: must be a list of column names")
        bad = [c for c in cols if c not in COLUMNS]
        if bad:
            raise RcError(f"{path}:{line}: columns: unknown column(s) {', '.join(bad)} "
                          f"(columns: {', '.join(COLUMNS)})")
        out = [c for c in dict.fromkeys(cols) if c != "NAME"]
        return ["NAME", *out]
    if "memory" not in data:
        raise RcError(f"{path}:1: memory: missing: the letters of the shown field groups, e.g. "
                      f'memory = "{letters(list(COLUMNS))}"')
    text_letters = data["memory"]
    line = _line_of(text, "memory")
    if not isinstance(text_letters, str) or not text_letters:
        raise RcError(f"{path}:{line}: memory: must be a string of group letters")
    bad = sorted({ch for ch in text_letters if ch.upper() not in BY_LETTER})
    if bad:
        raise RcError(f"{path}:{line}: memory: unknown group letter(s) {', '.join(bad)} "
                      f"(letters: {''.join(BY_LETTER)})")
    return columns_from_letters(text_letters)


def read(path: str | os.PathLike[str]) -> list[str]:
    target = Path(path).expanduser()
    try:
        text = target.read_text(encoding="utf-8")
    except OSError as exc:
        raise RcError(f"{target}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise RcError(f"{target}: not a text file") from None
    return parse(text, str(target))


def _check_groups() -> None:
    """Every column belongs to exactly one group (checked by the tests)."""
    keys = [k for g in GROUPS for k in g.keys]
    assert sorted(keys) == sorted(COLUMNS), set(keys) ^ set(COLUMNS)


__all__ = ["GROUPS", "Group", "RcError", "group_order", "move", "reorder", "letters",
           "columns_from_letters", "render", "write", "read", "parse", "default_path"]
