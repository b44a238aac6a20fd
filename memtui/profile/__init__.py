"""Reading, checking and saving host profiles (TOML).

- `schema`: every key of every table, with its type, range, default, unit and meaning;
- `reader`: `load_profile` / `parse_profile` turn a profile into the dataclasses of
  `memtui.config`, or raise `ProfileError` with every problem found, each naming the file, the
  line, the key path and what is allowed (`read_profile` is the fast path for callers that never
  save);
- `checker`: the checks, driven by the schema;
- `writer`: `save_profile` writes atomically and, when the profile was read with its document,
  edits that document in place so that the user's comments, layout and key order survive.

Nothing here imports the terminal UI toolkit: the batch runner and `memtui check` use it. The
writer (and with it tomlkit) is imported only when one of its names is first used.
"""

from __future__ import annotations

from typing import Any

from memtui.profile.checker import Checker, _Checker, suggest
from memtui.profile.problems import (
    KeyPath,
    LineIndex,
    ProfileError,
    ProfileProblem,
    ProfileSaveError,
    format_key_path,
)
from memtui.profile.reader import check_text, load_profile, parse_profile, read_profile
from memtui.profile.schema import (
    EVENT_KEYS,
    FORMAT,
    HOST_KEYS,
    MMU_MODES,
    POWER_STATES,
    SHARES_LEVELS,
    TOP_KEYS,
    VM_KEYS,
    VM_SETTING_KEYS,
    WORKLOAD_KEYS,
)

_WRITER_NAMES = frozenset(
    {"save_profile", "dumps_profile", "profile_to_document", "update_document", "_defaults"}
)


def __getattr__(name: str) -> Any:
    if name in _WRITER_NAMES:
        from memtui.profile import writer

        return getattr(writer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Checker", "_Checker", "suggest",
    "KeyPath", "LineIndex", "ProfileError", "ProfileProblem", "ProfileSaveError",
    "format_key_path",
    "check_text", "load_profile", "parse_profile", "read_profile",
    "EVENT_KEYS", "FORMAT", "HOST_KEYS", "MMU_MODES", "POWER_STATES", "SHARES_LEVELS", "TOP_KEYS",
    "VM_KEYS", "VM_SETTING_KEYS", "WORKLOAD_KEYS",
    "save_profile", "dumps_profile", "profile_to_document", "update_document",
]
