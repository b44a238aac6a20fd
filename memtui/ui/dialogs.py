"""Dialogs: confirm, open a profile, save as, choose columns, pick from a list."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.segment import Segment
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.strip import Strip
from textual.widgets import Button, Checkbox, Input, OptionList, SelectionList, Static
from textual.widgets.option_list import Option, OptionDoesNotExist
from textual.widgets.selection_list import Selection

from memtui.ui.buttons import FocusButton
from memtui.ui.columns import COLUMN_LIST

FORMS_CSS = Path(__file__).with_name("forms.tcss")

class ConfirmScreen(ModalScreen[str | None]):
    """Ask before doing something. Dismisses with the chosen button's id, or None when backed
    out. The focused button (marked `▸...◂`) is what Enter presses: the last one unless
    `default` names another."""

    CSS_PATH = FORMS_CSS  # read when the first dialog opens, not before the first frame

    BINDINGS = [
        Binding("escape", "cancel", "Back", id="confirm.cancel"),
        Binding("left", "app.focus_previous", "Previous button", show=False, id="confirm.left"),
        Binding("right", "app.focus_next", "Next button", show=False, id="confirm.right"),
    ]

    def __init__(self, title: str | Text, message: str | Text,
                 choices: list[tuple[str, str, str]] | None = None, default: str | None = None) -> None:
        """`choices`: (id, label, variant) buttons; default yes / no. `default`: the id of the
        button that has the focus (Enter presses it); the last one when None."""
        super().__init__(classes="dialog-screen")
        self.title_text = title if isinstance(title, Text) else Text(title)
        self.message = message if isinstance(message, Text) else Text(message)
        self.choices = choices or [("yes", "Yes", "error"), ("no", "No", "default")]
        self.default = default if default is not None else self.choices[-1][0]

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm", classes="dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            yield Static(self.message, id="confirm-message", markup=False)
            with Horizontal(classes="dialog-buttons"):
                for cid, label, variant in self.choices:
                    yield FocusButton(label, id=f"choice-{cid}", variant=variant)
            yield Static(Text("Enter presses the ▸marked◂ button · Tab or ←→ moves · Esc backs out"),
                         classes="dialog-keys", markup=False)

    def on_mount(self) -> None:
        self.query_one(f"#choice-{self.default}", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(str(event.button.id).removeprefix("choice-"))

    def action_cancel(self) -> None:
        self.dismiss(None)


class OpenProfileScreen(ModalScreen[Path | None]):
    """Pick a profile: memtui's bundled ones and the user's own, or type a path."""

    CSS_PATH = FORMS_CSS  # read when the first dialog opens, not before the first frame

    BINDINGS = [Binding("escape", "cancel", "Back", id="open.cancel")]

    def __init__(self, profiles: list[tuple[str, Path]], allow_path: bool,
                 load: Callable[[Path], list[str]]) -> None:
        """`load(path)` opens the profile and returns its problems (empty when it opened)."""
        super().__init__(classes="dialog-screen")
        self.profiles = profiles
        self.allow_path = allow_path
        self.load = load

    def compose(self) -> ComposeResult:
        with Vertical(id="open", classes="dialog"):
            yield Static("Open a profile", classes="dialog-title")
            options = [Option(Text(f"{where:<8} {path.name}"), id=str(i))
                       for i, (where, path) in enumerate(self.profiles)]
            if not options:
                options = [Option("(no profiles found)", disabled=True)]
            yield OptionList(*options, id="open-list")
            if self.allow_path:
                yield Input(placeholder="or type a path to a profile and press Enter", id="open-path")
            yield Static("", id="open-problems", markup=False)
            yield Static(Text("Enter opens · Tab moves · Esc backs out"), classes="dialog-keys",
                         markup=False)

    def on_mount(self) -> None:
        self.query_one("#open-problems", Static).display = False
        self.query_one("#open-list", OptionList).focus()

    def _try(self, path: Path) -> None:
        problems = self.load(path)
        if problems:
            box = self.query_one("#open-problems", Static)
            text = Text(f"{path} cannot be opened:\n", style="bold")
            text.append("\n".join(problems[:20]), style="")
            if len(problems) > 20:
                text.append(f"\n... and {len(problems) - 20} more")
            box.update(text)
            box.display = True
            return
        self.dismiss(path)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is None:
            return
        self._try(self.profiles[int(event.option.id)][1])

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if text:
            self._try(Path(text).expanduser())

    def action_cancel(self) -> None:
        self.dismiss(None)


class SaveAsScreen(ModalScreen[Path | None]):
    """Type where to save. A bare name goes to the user's profile folder; in restricted mode
    only a plain name is taken (checked as it is typed)."""

    CSS_PATH = FORMS_CSS  # read when the first dialog opens, not before the first frame

    BINDINGS = [Binding("escape", "cancel", "Back", id="saveas.cancel")]

    def __init__(self, default: str, folder: Path, save: Callable[[str], str | None],
                 restricted: bool = False) -> None:
        """`save(text)` saves and returns None, or returns why it could not."""
        super().__init__(classes="dialog-screen")
        self.default = default
        self.folder = folder
        self.save = save
        self.restricted = restricted

    def compose(self) -> ComposeResult:
        with Vertical(id="saveas", classes="dialog"):
            yield Static("Save profile as", classes="dialog-title")
            if self.restricted:
                help_text = ("Give the profile a name (letters, digits, spaces, dots, dashes, "
                             "underscores): it is saved in your own profile folder. A name "
                             "cannot hold a path.")
            else:
                help_text = f"A name without a folder is saved in {self.folder}"
            help_text = help_text.rstrip(".") + ". Typing replaces the proposed name (End keeps it, to edit it)."
            yield Static(Text(help_text), markup=False, classes="dialog-help")
            # The whole proposal is selected: typing a name replaces it (End keeps it, to edit).
            yield Input(self.default, id="saveas-path", select_on_focus=True,
                        placeholder="profile name" if self.restricted else "name or path")
            yield Static("", id="saveas-error", markup=False)
            yield Static(Text("Enter saves · Esc backs out"), classes="dialog-keys", markup=False)

    def on_mount(self) -> None:
        self.query_one("#saveas-error", Static).display = False
        self.query_one("#saveas-path", Input).focus()

    def show_error(self, message: str) -> None:
        box = self.query_one("#saveas-error", Static)
        box.update(Text(message))
        box.display = bool(message)

    def on_input_changed(self, event: Input.Changed) -> None:
        if not self.restricted:
            return
        from memtui.restricted import RestrictedError, check_name

        try:
            check_name(event.value)
        except RestrictedError as exc:
            self.show_error(f"restricted mode: {exc}")
        else:
            self.show_error("")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        error = self.save(event.value)
        if error:
            self.show_error(error)
        else:
            self.dismiss(Path(event.value))

    def action_cancel(self) -> None:
        self.dismiss(None)


class MarkedSelectionList(SelectionList[str]):
    """A SelectionList whose box holds an X only when the item is chosen (Textual draws the X in
    every box and tells them apart by colour alone, which NO_COLOR takes away)."""

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        try:
            selection = self.get_option_at_index(int(self.scroll_offset.y) + y)
        except OptionDoesNotExist:
            return strip
        if selection.value in self._selected:
            return strip
        segments = list(strip)
        if len(segments) < 2 or segments[0].text != Checkbox.BUTTON_LEFT:
            return strip
        mark = segments[1]
        segments[1] = Segment(" " * len(mark.text), mark.style, mark.control)
        return Strip(segments, strip.cell_length)


def column_order(shown: list[str], chosen: set[str]) -> list[str]:
    """The VM table's columns after the `f` chooser: in esxtop's order while the shown ones are
    in it; after an `o` reorder, the user's order kept and newly chosen columns added at the
    end."""
    canonical = [c.key for c in COLUMN_LIST]
    kept = [k for k in shown if k in chosen and k != "NAME"]
    in_canonical = [k for k in canonical if k in kept]
    if kept == in_canonical:
        return ["NAME", *(k for k in canonical if k in chosen and k != "NAME")]
    return ["NAME", *kept, *(k for k in canonical if k in chosen and k not in kept and k != "NAME")]


class ColumnsScreen(ModalScreen[list[str] | None]):
    """Choose the VM table's columns (esxtop's `f`): space toggles, Enter applies."""

    CSS_PATH = FORMS_CSS  # read when the first dialog opens, not before the first frame

    BINDINGS = [
        Binding("escape", "cancel", "Back", id="columns.cancel"),
        Binding("enter", "apply", "Apply", priority=True, id="columns.apply"),
        Binding("d", "defaults", "Defaults", id="columns.defaults"),
    ]

    def __init__(self, shown: list[str], defaults: tuple[str, ...]) -> None:
        super().__init__(classes="dialog-screen")
        self.shown = shown
        self.defaults = defaults

    def compose(self) -> ComposeResult:
        with Vertical(id="columns", classes="dialog"):
            yield Static("Columns of the VM list", classes="dialog-title")
            selections = [Selection(Text(f"{c.key:<9}") + Text(c.meaning, style="dim"), c.key,
                                    c.key in self.shown)
                          for c in COLUMN_LIST if c.key != "NAME"]
            yield MarkedSelectionList(*selections, id="columns-list")
            # The highlighted column's meaning in full (a row of the list cuts it short).
            yield Static("", id="columns-meaning", classes="dialog-help", markup=False)
            yield Static(Text("Space toggles · Enter applies · d defaults · Esc backs out"),
                         classes="dialog-keys", markup=False)

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    def on_selection_list_selection_highlighted(self, event: SelectionList.SelectionHighlighted) -> None:
        key = event.selection.value
        column = next((c for c in COLUMN_LIST if c.key == key), None)
        if column is not None:
            self.query_one("#columns-meaning", Static).update(Text(f"{column.key}: {column.meaning}"))

    def action_apply(self) -> None:
        chosen = set(self.query_one(SelectionList).selected)
        self.dismiss(column_order(self.shown, chosen))

    def action_defaults(self) -> None:
        sl = self.query_one(SelectionList)
        sl.deselect_all()
        for key in self.defaults:
            if key != "NAME":
                sl.select(key)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceScreen(ModalScreen[str | None]):
    """Pick one of a few values (speed, refresh delay, sort column)."""

    CSS_PATH = FORMS_CSS  # read when the first dialog opens, not before the first frame

    BINDINGS = [Binding("escape", "cancel", "Back", id="choice.cancel")]

    def __init__(self, title: str, choices: list[tuple[str, str]], current: str | None = None) -> None:
        """`choices`: (value, label)."""
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.choices = choices
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="choice", classes="dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            yield OptionList(*(Option(Text(label), id=value) for value, label in self.choices),
                             id="choice-list")
            yield Static(Text("Enter picks · Esc backs out"), classes="dialog-keys", markup=False)

    def on_mount(self) -> None:
        ol = self.query_one(OptionList)
        ol.focus()
        values = [v for v, _ in self.choices]
        if self.current in values:
            ol.highlighted = values.index(self.current)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
