"""Restricted mode, for a training host where memtui is an sshd ForceCommand.

Files are read and written only inside the user's own profile directory
(`paths.user_profiles_dir()`), by plain name; bundled profiles and labs can be opened (read only)
by name. No path can be given: a name with a directory part, a leading dot, `..` or a drive is
refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from memtui import paths

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,63}$")


class RestrictedError(ValueError):
    """A name refused in restricted mode."""


def check_name(name: str) -> str:
    """A profile name as typed, reduced to its stem; raises RestrictedError with the reason."""
    text = name.strip()
    if not text:
        raise RestrictedError("give a profile name")
    if "/" in text or "\\" in text or text.startswith("~") or ":" in text:
        raise RestrictedError(f"{name!r}: a profile name cannot contain a path")
    if text in (".", "..") or text.startswith("."):
        raise RestrictedError(f"{name!r}: a profile name cannot start with a dot")
    if text.lower().endswith(".toml"):
        text = text[:-5]
    if not _NAME_RE.match(text) or ".." in text:
        raise RestrictedError(
            f"{name!r}: use letters, digits, spaces, dots, dashes and underscores (64 at most)")
    return text


@dataclass(frozen=True)
class RestrictedPolicy:
    """Where a restricted session may read and write."""

    home: Path

    @classmethod
    def for_user(cls) -> RestrictedPolicy:
        return cls(paths.user_profiles_dir())

    def own_path(self, name: str) -> Path:
        """The file in the user's own directory for a profile name (to open or save)."""
        stem = check_name(name)
        path = (self.home / f"{stem}.toml").resolve()
        home = self.home.resolve()
        if path.parent != home:
            raise RestrictedError(f"{name!r}: not in your profile directory")
        return path

    def readable_path(self, name: str) -> Path:
        """A profile to open by name: the user's own first, then a bundled one."""
        stem = check_name(name)
        own = self.own_path(stem)
        if own.exists():
            return own
        bundled = paths.bundled_profiles_dir() / f"{stem}.toml"
        if bundled.exists():
            return bundled
        raise RestrictedError(f"no profile named {stem!r} in your profiles or the bundled ones")

    def own_profiles(self) -> list[Path]:
        if not self.home.is_dir():
            return []
        return sorted(p for p in self.home.glob("*.toml") if p.is_file() and not p.is_symlink())

    def may_write(self, path: Path) -> bool:
        try:
            return path.resolve().parent == self.home.resolve() and path.suffix == ".toml"
        except OSError:
            return False

    def ensure_home(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
