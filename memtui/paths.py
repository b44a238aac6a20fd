"""Where memtui finds bundled profiles and keeps the user's files.

The user's files live under platformdirs paths; `MEMTUI_HOME` points all of them at one folder
instead (for a training host's per-student directories, and for tests).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

APP_NAME = "memtui"


def bundled_profiles_dir() -> Path:
    return Path(str(resources.files("memtui.profiles")))


def bundled_labs_dir() -> Path:
    return Path(str(resources.files("memtui.profiles.labs")))


def default_profile_path() -> Path:
    return bundled_profiles_dir() / "default.toml"


def bundled_profiles() -> list[Path]:
    return sorted(p for p in bundled_profiles_dir().glob("*.toml"))


def _home() -> Path | None:
    home = os.environ.get("MEMTUI_HOME")
    return Path(home).expanduser() if home else None


def user_data_dir() -> Path:
    home = _home()
    if home is not None:
        return home
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME))


def user_config_dir() -> Path:
    home = _home()
    if home is not None:
        return home
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME))


def user_profiles_dir() -> Path:
    return user_data_dir() / "profiles"


def settings_path() -> Path:
    return user_config_dir() / "settings.toml"


def lab_progress_path() -> Path:
    return user_data_dir() / "labs.toml"
