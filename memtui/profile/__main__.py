"""`python -m memtui.profile [PAGE]`: rewrite the reference tables of the profile format page
(docs/profile-format.md) from the schema."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from memtui.profile.schema import doc_regions, render_doc


def main(argv: list[str]) -> int:
    page = Path(argv[0] if argv else "docs/profile-format.md")
    try:
        text = page.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"memtui.profile: cannot read {page}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    if not doc_regions(text):
        print(f"memtui.profile: {page} has no <!-- schema:NAME begin --> tables", file=sys.stderr)
        return 2
    new = render_doc(text)
    if new == text:
        print(f"{page}: the tables are up to date")
        return 0
    fd, tmp = tempfile.mkstemp(dir=page.parent, prefix=f".{page.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(new)
        os.chmod(tmp, page.stat().st_mode & 0o777)
        os.replace(tmp, page)
    except OSError as exc:
        os.unlink(tmp)
        print(f"memtui.profile: cannot write {page}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"{page}: rewrote the tables {', '.join(doc_regions(new))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
