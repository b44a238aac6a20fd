"""The event log: state changes, power operations, admission refusals with the shortfall,
settings and workload changes, as the model logs them."""

from __future__ import annotations

from collections import deque

from rich.text import Text
from textual.widgets import RichLog

from memtui.config import format_clock
from memtui.metrics import LogEvent

KIND_STYLES = {
    "state": "bold yellow",
    "power": "cyan",
    "admission": "bold red",
    "setting": "",
    "workload": "dim",
}
KEEP_EVENTS = 2000


def event_line(ev: LogEvent) -> Text:
    line = Text(no_wrap=False)
    line.append(f"{format_clock(ev.t):>9} ")
    line.append(f"{ev.kind:<9}", KIND_STYLES.get(ev.kind, ""))
    line.append(" ")
    line.append(ev.message)  # VM names inside are plain text, never markup
    return line


class EventLog(RichLog):
    """The newest events at the bottom; scrolls with them unless one scrolls back."""

    def __init__(self, **kw) -> None:
        super().__init__(max_lines=KEEP_EVENTS, wrap=True, markup=False, highlight=False, **kw)
        self.events: deque[LogEvent] = deque(maxlen=KEEP_EVENTS)

    def add_events(self, events: list[LogEvent]) -> None:
        for ev in events[-KEEP_EVENTS:]:
            self.events.append(ev)
            self.write(event_line(ev))

    def reset(self) -> None:
        self.events.clear()
        self.clear()

    def update_from(self, snapshot, history, selected) -> None:
        pass  # fed by add_events as the model logs
