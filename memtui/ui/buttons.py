"""A button that shows it has the focus in its text as well as in its style: `▸Apply◂`.

Colour alone (or reverse video, which some terminals and screen captures lose) does not say
which button Enter presses; the marks do, with NO_COLOR too. The label keeps its width whether
focused or not, so nothing moves.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Button

FOCUS_MARKS = ("▸", "◂")


def framed(label: str, focused: bool) -> Content:
    left, right = FOCUS_MARKS if focused else (" " * len(FOCUS_MARKS[0]), " " * len(FOCUS_MARKS[1]))
    return Content(f"{left}{label}{right}")


class FocusButton(Button):
    """A Button whose label reads `▸label◂` while it has the focus."""

    def __init__(self, label: str, *args, **kw) -> None:
        self.plain_label = label
        super().__init__(framed(label, False), *args, **kw)

    def on_focus(self) -> None:
        self.label = framed(self.plain_label, True)

    def on_blur(self) -> None:
        self.label = framed(self.plain_label, False)
