"""The lab pane: the running lab's briefing, what may be changed, each objective's live status
and progress, the simulated time used and left, hints on request, answers to its questions, and
the result once it ends, beside the learner's record (best result, attempts). Without a lab it
lists the bundled labs with their level and the learner's progress; Enter opens one.

The pane reads the `LabSession` (memtui.practice.session) and formats it; it never decides an objective.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from memtui.config import format_clock
from memtui.ui.buttons import FocusButton
from memtui.ui.vmdetail import _Sheet

if TYPE_CHECKING:
    from memtui.practice.progress import LabProgress
    from memtui.practice.session import LabResult, LabSession

STATUS_WORDS = {  # status -> (word, style): the word says it without colour
    "met": ("met", "bold green"),
    "failed": ("FAILED", "bold red"),
    "pending": ("open", "dim"),
}
_NUMBER_RE = re.compile(r"^\s*([+-]?\d[\d,_]*(?:\.\d+)?|[+-]?\.\d+)\s*(?:mb|MB|%)?\s*$")


def parse_answer(text: str) -> float:
    """A number as a learner types it: "280.53", "2,662", "2662 MB"."""
    m = _NUMBER_RE.match(text)
    if not m:
        raise ValueError("an answer is a number, e.g. 280.53 (MB figures in MB)")
    return float(m.group(1).replace(",", "").replace("_", ""))


def reflow(text: str) -> str:
    """A briefing as its author wrapped it in the TOML file, rejoined into paragraphs so that
    the pane wraps it to its own width; blank lines and list items keep their breaks."""
    out: list[str] = []
    for line in text.strip().splitlines():
        line = line.strip()
        if not line:
            out.append("")
        elif out and out[-1] and not re.match(r"^([-*•]|\d+[.)])\s", line):
            out[-1] += " " + line
        else:
            out.append(line)
    return "\n".join(out)


def allowed_words(lab_session: LabSession) -> str:
    """What the learner may change in this lab, in a sentence."""
    from memtui.practice.objectives import KIND_MAX_CHANGES

    lab = lab_session.lab
    may = ("You may change the VMs' settings (reservation, limit, shares, tools, balloon cap, ...), "
           "power VMs on and off, and the advanced settings (Mem.*)")
    may += (", and the guests' workloads." if lab.allow_workload
            else "; not the guests' workloads.")
    limits = [o.max_changes for o in lab.objectives if o.kind == KIND_MAX_CHANGES]
    if limits:
        n = min(limits)
        may += f" At most {n} change{'s' if n != 1 else ''} (one applied dialog each; a refused one does not count)."
    may += " Adding, cloning or deleting VMs is not part of a lab. Hints and answers are not changes."
    return may


def record_words(progress: LabProgress | None) -> str:
    """The learner's record on this lab, from the progress store."""
    if progress is None or (progress.attempts <= 1 and progress.best is None):
        return "Your first attempt at this lab."
    out = f"Attempt {max(progress.attempts, 1)}"
    best = progress.best
    if best:
        word = "passed" if best.get("passed") else "not passed"
        out += (f" · your best: {word}, {best.get('objectives_met', 0)} of {best.get('objectives', 0)} "
                f"objectives met, {best.get('changes', 0)} change{'s' if best.get('changes', 0) != 1 else ''}, "
                f"{best.get('hints', 0)} hint{'s' if best.get('hints', 0) != 1 else ''}")
        when = str(best.get("finished", ""))[:10]
        if when:
            out += f" ({when})"
    else:
        out += " · no result recorded yet"
    return out + "."


def result_text(result: LabResult, progress: LabProgress | None) -> Text:
    word = "PASSED" if result.passed else "NOT PASSED"
    out = Text()
    out.append(f" {word} ", style="bold reverse green" if result.passed else "bold reverse red")
    out.append(f"  {result.passed_count} of {result.total} objectives met · {result.changes} change"
               f"{'s' if result.changes != 1 else ''} made · {result.hints_used} hint"
               f"{'s' if result.hints_used != 1 else ''} used · {format_clock(result.elapsed_s)} simulated")
    if result.ended_early:
        out.append(" · ended early")
    out.append("\n")
    out.append(record_words(progress))
    out.append("\nThe simulation goes on if you want to watch it (space runs it); changes are no "
               "longer counted. Open the lab again from the palette (lab: open) for a new attempt.",
               style="dim")
    return out


ANSWER_CHARACTERS = frozenset("0123456789.,_+-%")


class AnswerInput(Input):
    """The field for a question's answer, a number. It takes only what a number is written
    with; other keys (space, h, e, p, q, ?) go on to the screen's bindings, so that space still
    runs the clock and h still gives a hint while the field has the focus."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return character is not None and character in ANSWER_CHARACTERS

    async def _on_key(self, event) -> None:
        if event.is_printable and event.character not in ANSWER_CHARACTERS:
            event.prevent_default()  # not typed here: it goes on up to the screen's bindings
        elif event.is_printable:
            self.call_after_refresh(self.scroll_visible, animate=False)  # what is typed is seen


class LabPane(VerticalScroll):
    """The lab pane (tab 7)."""

    class Answer(Message):
        def __init__(self, question: str, text: str) -> None:
            super().__init__()
            self.question = question
            self.text = text

    class Hint(Message):
        pass

    class End(Message):
        pass

    class Open(Message):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.lab_session: LabSession | None = None
        self.progress: LabProgress | None = None
        self._questions: tuple[str, ...] = ()
        self._notes: dict[str, str] = {}  # question -> the progress text last shown under it
        self._labs_listed = False

    def compose(self) -> ComposeResult:
        yield _Sheet(id="lab-head")
        yield _Sheet(id="lab-record", classes="lab-note")
        yield _Sheet(id="lab-result")
        yield Label("Briefing", classes="lab-heading", id="lab-briefing-head")
        yield _Sheet(id="lab-briefing")
        yield _Sheet(id="lab-rules", classes="lab-note")
        yield Label("Objectives", classes="lab-heading", id="lab-objectives-head")
        yield _Sheet(id="lab-objectives")
        yield Vertical(id="lab-questions")
        yield _Sheet(id="lab-hints")
        with Horizontal(id="lab-buttons"):
            yield FocusButton("Hint (h)", id="lab-hint", compact=True)
            yield FocusButton("End lab", id="lab-end", variant="error", compact=True)
        yield _Sheet(id="lab-none")
        yield OptionList(id="lab-list")

    def on_mount(self) -> None:
        self._show_parts(False)

    def _show_parts(self, lab: bool) -> None:
        for widget in self.children:
            widget.display = lab if widget.id not in ("lab-none", "lab-list") else not lab
        if lab:
            self.query_one("#lab-result").display = False

    # ---------------------------------------------------------------- the lab

    def set_lab(self, lab_session: LabSession | None, progress: LabProgress | None) -> None:
        """A lab was opened (or none is running): lay out its fixed parts."""
        self.lab_session = lab_session
        self.progress = progress
        self._show_parts(lab_session is not None)
        self._questions = ()
        self._notes = {}
        for sheet in self.query(_Sheet):
            sheet.show(None, "")
        if lab_session is None:
            self.run_worker(self._set_questions([]), group="lab-questions", exclusive=True)
            self.query_one("#lab-none", _Sheet).show("none", Text(
                "No lab is running. A lab is a host with a briefing and objectives that are checked "
                "live while the simulation runs; you get hints on request and a result at the end, "
                "kept with your progress.\nPick one below (Enter opens it; or lab: open in the "
                "command palette, or memtui lab start NAME):"))
            return
        lab = lab_session.lab
        self.query_one("#lab-briefing", _Sheet).show(("b", id(lab_session)), Text(reflow(lab.briefing)))
        self.query_one("#lab-rules", _Sheet).show(("r", id(lab_session)), Text(allowed_words(lab_session)))
        rows = []
        for s in lab_session.statuses:
            if s.objective.kind != "answer":
                continue
            rows.append(Vertical(
                Static(Text(f"Question ({s.id}): {s.objective.question}"), classes="lab-question",
                       markup=False),
                Horizontal(
                    Label("Answer", classes="lab-answer-label"),
                    AnswerInput(placeholder="a number, e.g. 280.53", id=f"answer-{s.id}",
                                classes="lab-answer", compact=True, select_on_focus=True),
                    classes="lab-answer-row"),
                Static("", id=f"answer-note-{s.id}", classes="lab-answer-note", markup=False),
                classes="lab-qbox", id=f"qbox-{s.id}"))
            self._questions += (s.id,)
        self.run_worker(self._set_questions(rows), group="lab-questions", exclusive=True)
        self.query_one("#lab-record", _Sheet).show(("rec", id(lab_session), repr(progress)),
                                                   Text(record_words(progress)))

    async def _set_questions(self, rows: list) -> None:
        """The previous lab's questions go before this lab's come (their ids may be the same)."""
        box = self.query_one("#lab-questions", Vertical)
        await box.remove_children()
        if rows:
            await box.mount_all(rows)
        if self.lab_session is not None:
            self.update_from(bool(getattr(self.app.session, "running", False)))
        if self.has_focus:  # the pane was given the focus before its questions were there
            self.take_focus()

    def first_open_answer(self) -> Input | None:
        return next((f for f in self.query(".lab-answer") if not f.disabled), None)

    def take_focus(self) -> None:
        """Focus the first open question's answer field (typed digits are the answer, not view
        keys), or the pane itself (PgUp / PgDn scroll it); the briefing stays in view."""
        field = self.first_open_answer()
        (field or self).focus(scroll_visible=False)

    def set_progress(self, progress: LabProgress | None) -> None:
        self.progress = progress
        self.query_one("#lab-record", _Sheet).show(("rec", repr(progress)), Text(record_words(progress)))

    def update_from(self, running: bool) -> None:
        """Show the lab's state now (cheap when nothing changed)."""
        ls = self.lab_session
        if ls is None:
            return
        lab = ls.lab
        elapsed, total = ls.elapsed_s, lab.duration_s
        if ls.finished:
            state = "PASSED" if ls.passed else ("ended early" if ls.ended_early else "ended: not passed")
        else:
            state = "running" if running else "paused (space runs the clock)"
        head = Text()
        head.append(lab.title, style="bold")
        head.append(f"\n{lab.name} · level {lab.level} ({lab.level_words}) · {format_clock(elapsed)} of "
                    f"{format_clock(total)} simulated, {format_clock(ls.remaining_s)} left · ")
        head.append(state, style="bold")
        self.query_one("#lab-head", _Sheet).show(("h", id(ls), int(elapsed), state), head, rows=2)
        # Objectives: the status as a word, the text, and the progress under it.
        key = (id(ls), ls.changes, *((s.status, s.progress) for s in ls.statuses))
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True, width=6)
        grid.add_column(ratio=1)
        for s in ls.statuses:
            word, style = STATUS_WORDS.get(s.status, (s.status, ""))
            grid.add_row(Text(word, style=style), Text(s.text))
            if s.progress:
                grid.add_row("", Text(s.progress, style="dim"))
        grid.add_row("", Text(f"Changes made: {ls.changes}", style="dim"))
        self.query_one("#lab-objectives", _Sheet).show(key, grid)
        # Questions: closed once decided.
        for s in ls.statuses:
            if s.id not in self._questions:
                continue
            done = s.status != "pending" or ls.finished
            try:
                field = self.query_one(f"#answer-{s.id}", Input)
                note = self.query_one(f"#answer-note-{s.id}", Static)
            except NoMatches:  # being mounted
                continue
            if field.disabled != done:
                field.disabled = done
            word, _ = STATUS_WORDS.get(s.status, (s.status, ""))
            text = s.progress if s.status == "pending" else f"{word}: {s.progress}"
            if self._notes.get(s.id) != text:
                self._notes[s.id] = text
                note.update(Text(text))
        # Hints.
        used, total_hints = ls.hints_used, len(lab.hints)
        hints = Text()
        if total_hints == 0:
            hints.append("This lab has no hints.", style="dim")
        else:
            hints.append(f"Hints: {used} of {total_hints} used", style="bold")
            if ls.finished:
                hints.append(" (the lab has ended)", style="dim")
            elif used < total_hints:
                hints.append(" · h shows the next; each one used counts in the result",
                             style="dim")
            for i, h in enumerate(ls.hints_shown, 1):
                hints.append(f"\n{i}. {h}")
        self.query_one("#lab-hints", _Sheet).show(("hints", id(ls), used, ls.finished), hints)
        hint_button = self.query_one("#lab-hint", Button)
        hint_button.disabled = ls.finished or used >= total_hints
        self.query_one("#lab-end", Button).disabled = ls.finished
        result = self.query_one("#lab-result", _Sheet)
        result.display = ls.finished
        self.query_one("#lab-record").display = not ls.finished  # the result box says it
        if ls.finished:
            result.show(("res", id(ls), repr(self.progress), ls.changes, ls.hints_used),
                        result_text(ls.result(), self.progress))

    def note_answer(self, question: str, message: str) -> None:
        """Say what became of an answer (right, wrong, refused) under its question."""
        try:
            self.query_one(f"#answer-note-{question}", Static).update(Text(message))
        except NoMatches:
            pass

    # ---------------------------------------------------------------- without a lab

    def list_labs(self, rows: list[tuple[str, int, str, str]]) -> None:
        """(name, level, status, title) of each bundled lab."""
        ol = self.query_one("#lab-list", OptionList)
        ol.clear_options()
        width = max((len(r[0]) for r in rows), default=4)
        ol.add_options([Option(Text(f"level {level}  {name:<{width}}  {status:<7}  {title}"), id=name)
                        for name, level, status, title in rows])
        self._labs_listed = True

    @property
    def labs_listed(self) -> bool:
        return self._labs_listed

    # ---------------------------------------------------------------- input

    @on(Input.Submitted, ".lab-answer")
    def _answer(self, event: Input.Submitted) -> None:
        event.stop()
        qid = str(event.input.id).removeprefix("answer-")
        self.post_message(self.Answer(qid, event.value))

    @on(Button.Pressed, "#lab-hint")
    def _hint(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Hint())

    @on(Button.Pressed, "#lab-end")
    def _end(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.End())

    @on(OptionList.OptionSelected, "#lab-list")
    def _open(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.post_message(self.Open(event.option.id))
