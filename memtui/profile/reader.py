"""Reading profiles: TOML text or a file -> `memtui.config.Profile`, or `ProfileError`.

Two paths read the same profiles into equal `Profile`s:

- the fast path (`keep_document=False`) reads with `tomllib` only, for callers that never write
  the profile back: `memtui run`, `memtui check`, the labs' checks;
- the document path (the default) also parses the text with `tomlkit` and keeps the document in
  `Profile.document`, so that saving (`memtui.profile.writer`) edits it in place and the user's
  comments and layout survive: the terminal UI's session, `memtui serve --save`.

Either way the checks are those of `memtui.profile.checker`; the lines of problems come from
`LineIndex`, built only when there is a problem to place.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from pathlib import Path

from memtui.config import Profile
from memtui.profile.checker import Checker
from memtui.profile.problems import ProfileError, ProfileProblem

_NO_PATH = "<profile>"


def _syntax_problem(file: str, text: str, exc: tomllib.TOMLDecodeError) -> ProfileProblem:
    message = str(exc)
    m = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if m:
        line: int | None = int(m.group(1))
        detail = f"{message[: m.start()]} (column {m.group(2)})"
    else:
        line = text.count("\n") + (0 if text.endswith("\n") else 1) if text else 1
        detail = re.sub(r"\s*\(at end of document\)$", " (at the end of the file)", message)
    return ProfileProblem(file, line, "", f"not valid TOML: {detail}")


def parse_profile(text: str, path: str = _NO_PATH, *, keep_document: bool = True) -> Profile:
    """Check a profile's text and return its Profile, or raise ProfileError with every problem.

    `path` names the file in messages; the Profile keeps it as `path` unless it is the default.
    With `keep_document` (the default) it also keeps the parsed tomlkit document, so that saving
    keeps the text's comments and layout; without it (for callers that never save) the text is
    read with tomllib alone, many times faster, and `document` is None.
    """
    text = text.removeprefix("\ufeff")
    profile = check_text(text, path)
    if keep_document:
        import tomlkit

        try:
            profile.document = tomlkit.parse(text)
        except Exception:  # tomlkit refusing what tomllib accepted: save without it
            profile.document = None
    profile.path = None if path == _NO_PATH else path
    return profile


def check_text(text: str, path: str) -> Profile:
    """The Profile a text describes (without its document), or ProfileError."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError([_syntax_problem(path, text, exc)]) from None
    checker = Checker(path, text=text)  # lines are indexed only if there is a problem
    profile = checker.profile(data)
    if checker.problems or profile is None:
        problems = sorted(checker.problems, key=lambda p: math.inf if p.line is None else p.line)
        raise ProfileError(problems)
    return profile


def load_profile(path: str | os.PathLike[str], *, keep_document: bool = True) -> Profile:
    """Read and check the profile at `path`. Raises OSError when the file cannot be read and
    ProfileError when it is not a valid profile. Never changes the file.

    `keep_document=False` is the fast path for callers that never save the profile (see
    `parse_profile`)."""
    name = os.fspath(path)
    data = Path(name).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        problem = ProfileProblem(
            name, line, "", f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8"
        )
        raise ProfileError([problem]) from None
    return parse_profile(text, name, keep_document=keep_document)


def read_profile(path: str | os.PathLike[str]) -> Profile:
    """The fast path of `load_profile`, for callers that never write the profile back: read
    with tomllib alone, no document kept (saving it writes a clean document)."""
    return load_profile(path, keep_document=False)
