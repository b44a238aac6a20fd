"""Forms that edit a VM, its workload, an advanced setting, or add / clone a VM.

Every field is checked as one types and says what is wrong under it; Enter or ctrl+s applies,
Esc backs out. The model has the last word: a change it refuses (a setting rule, admission
control) leaves the form open with the model's message, and nothing is lost.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.style import Style
from textual.widgets import Button, Checkbox, Input, Label, Static

from memtui import spec
from memtui.config import VMConfig, Workload, format_duration, parse_duration
from memtui.profile import schema
from memtui.ui.buttons import FocusButton

# --------------------------------------------------------------------------------------------
# Parsing what people type

FORMS_CSS = Path(__file__).with_name("forms.tcss")

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
_UNITS_MB = {"": 1, "m": 1, "g": 1024, "t": 1024 * 1024, "k": 1 / 1024}


def parse_mb(text: str, what: str = "a size") -> int:
    """Whole MB from "4096", "4096 MB", "4G", "4 GB", "0.5G"."""
    m = _SIZE_RE.match(text)
    if not m:
        raise ValueError(f"{what} is a whole number of MB, e.g. 4096, or 4G")
    value = float(m.group(1)) * _UNITS_MB[m.group(2).lower()]
    if abs(value - round(value)) > 1e-9:
        raise ValueError(f"{what} must be whole MB ({value:g} MB is not)")
    return int(round(value))


def parse_int(text: str, what: str, lo: int, hi: int) -> int:
    t = text.strip()
    if not re.fullmatch(r"[+-]?\d+", t):
        raise ValueError(f"{what} is a whole number from {lo} to {hi}")
    value = int(t)
    if not lo <= value <= hi:
        raise ValueError(f"{what} must be {lo} to {hi}, not {value}")
    return value


def parse_pct(text: str, what: str, lo: float = 0.0, hi: float = 100.0) -> float:
    t = text.strip().removesuffix("%").strip()
    try:
        value = float(t)
    except ValueError:
        raise ValueError(f"{what} is a percentage from {lo:g} to {hi:g}") from None
    if not lo <= value <= hi:
        raise ValueError(f"{what} must be {lo:g} to {hi:g} %, not {value:g}")
    return value


def parse_limit(text: str) -> int | None:
    t = text.strip().lower()
    if t in ("", "unlimited", "none", "-"):
        return None
    return parse_mb(text, "a limit")


def parse_optional_mb(text: str, what: str) -> int | None:
    t = text.strip().lower()
    if t in ("", "none", "-"):
        return None
    return parse_mb(text, what)


def parse_shares(text: str) -> str | int:
    t = text.strip().lower()
    if t in spec.SHARES_PER_MB:
        return t
    if re.fullmatch(r"\d+", t) and int(t) > 0:
        return int(t)
    raise ValueError("shares are low, normal, high or a positive whole number")


def parse_active(text: str, memory_mb: float) -> float | None:
    t = text.strip().lower()
    if t in ("", "idle", "none"):
        return None
    value = parse_mb(text, "the active memory")
    if value > memory_mb:
        raise ValueError(f"active memory cannot exceed the VM's memory ({memory_mb:g} MB)")
    return float(value)


def parse_duration_text(text: str) -> int:
    return parse_duration(text.strip())


def parse_schedule(text: str, memory_mb: float) -> list[tuple[int, float]]:
    """ "0s 50, 10m 150, 20m 0" -> [(0, 50), (600, 150), (1200, 0)]."""
    out: list[tuple[int, float]] = []
    t = text.strip()
    if not t or t.lower() == "none":
        return out
    for part in t.split(","):
        bits = part.split()
        if len(bits) != 2:
            raise ValueError('a schedule is "time MB" pairs separated by commas, e.g. "0s 50, 10m 150"')
        at = parse_duration(bits[0])
        mb = parse_mb(bits[1], "the active memory of a step")
        if mb > memory_mb:
            raise ValueError(f"a step's active memory cannot exceed the VM's memory ({memory_mb:g} MB)")
        out.append((at, float(mb)))
    if [a for a, _ in out] != sorted(a for a, _ in out):
        raise ValueError("schedule steps must be in time order")
    return out


def parse_name(text: str, taken: set[str]) -> str:
    name = text.strip()
    if not name:
        raise ValueError("a VM needs a name")
    if len(name) > 80:
        raise ValueError("a VM name is at most 80 characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ValueError("a VM name cannot hold control characters")
    if name in taken:
        raise ValueError(f"a VM named {name!r} exists already")
    return name


def parse_family(text: str) -> str | None:
    t = text.strip()
    return t or None


# --------------------------------------------------------------------------------------------
# The form


@dataclass
class Field:
    key: str
    label: str
    text: str | bool  # initial text of an Input, or the state of a Checkbox
    parse: Callable[[str], Any] | None = None  # None for a Checkbox
    help: str = ""
    disabled: bool = False
    placeholder: str = ""


@dataclass
class FormSpec:
    title: str | Text
    fields: list[Field]
    apply: Callable[[dict[str, Any]], str | None]  # raises to refuse; may return a message
    check: Callable[[dict[str, Any]], list[tuple[str, str]]] | None = None  # cross-field rules
    intro: str = ""
    apply_label: str = "Apply"
    only_changed: bool = True  # hand apply only the values that differ from the start
    initial: dict[str, Any] = field(default_factory=dict)
    # What-if: preview(values, apply) shows what the change would do and calls apply() when the
    # person chooses to apply it; None when the form offers no preview.
    preview: Callable[[dict[str, Any], Callable[[], None]], None] | None = None


class OnOffCheckbox(Checkbox, inherit_bindings=False):
    """A checkbox that reads "on" or "off" (and holds an X only when on): Textual's own draws
    the same "X" either way and tells them apart by colour alone. Space toggles it; Enter is
    left to the form, which applies."""

    BINDINGS = [Binding("space", "toggle_button", "Toggle", show=False)]

    def __init__(self, value: bool = False, **kw) -> None:
        super().__init__(on_off(value), value, **kw)

    @property
    def _button(self) -> Content:
        """As Textual draws it, with the X only when on."""
        button_style = self.get_visual_style("toggle--button")
        side_style = Style(foreground=button_style.background, background=self.background_colors[1])
        return Content.assemble(
            (self.BUTTON_LEFT, side_style),
            (self.BUTTON_INNER if self.value else " " * len(self.BUTTON_INNER), button_style),
            (self.BUTTON_RIGHT, side_style),
        )

    def watch_value(self) -> None:
        super().watch_value()
        self.label = on_off(self.value)


def on_off(value: bool) -> str:
    return "on " if value else "off"


class FormScreen(ModalScreen[str | None]):
    """A modal form. Dismisses with a message (or "") once applied, None when backed out."""

    CSS_PATH = FORMS_CSS  # read when the first dialog opens, not before the first frame

    BINDINGS = [
        Binding("escape", "cancel", "Back", id="form.cancel"),
        Binding("ctrl+s", "apply", "Apply", id="form.apply"),
        Binding("ctrl+r,f5", "preview", "Preview", id="form.preview"),
        # Moving between fields is a priority binding: it takes effect before the next key is
        # handed on, so keys typed fast across Tab land in the field they were meant for.
        Binding("tab,down", "app.focus_next", "Next field", show=False, priority=True, id="form.next"),
        Binding("shift+tab,up", "app.focus_previous", "Previous field", show=False, priority=True,
                id="form.previous"),
        Binding("enter", "apply", "Apply", show=False, id="form.enter"),  # on a checkbox too
    ]

    def __init__(self, form: FormSpec) -> None:
        super().__init__(classes="form-screen")
        self.form = form
        self.errors: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            title = self.form.title if isinstance(self.form.title, Text) else Text(self.form.title)
            yield Static(title, id="form-title", markup=False)
            if self.form.intro:
                yield Static(Text(self.form.intro), id="form-intro", markup=False)
            with VerticalScroll(id="form-fields"):
                for f in self.form.fields:
                    with Horizontal(classes="form-row", id=f"row-{f.key}"):
                        yield Label(f.label, classes="form-label")
                        if f.parse is None:
                            yield OnOffCheckbox(bool(f.text), id=f"f-{f.key}", disabled=f.disabled,
                                                classes="form-check", compact=True)
                        else:
                            yield Input(str(f.text), id=f"f-{f.key}", disabled=f.disabled,
                                        placeholder=f.placeholder, classes="form-input",
                                        select_on_focus=True, compact=True)
                    yield Static("", id=f"err-{f.key}", classes="form-field-error", markup=False)
            yield Static("", id="form-help", markup=False)
            yield Static("", id="form-error", markup=False)
            with Horizontal(id="form-buttons"):
                keys = "Enter applies · ↑↓ Tab move · Esc backs out"
                if self.form.preview is not None:
                    keys = "Enter applies · ctrl+r preview · Esc back"
                yield Static(Text(keys), id="form-keys", markup=False)
                if self.form.preview is not None:
                    yield FocusButton("Preview", id="form-preview", compact=True)
                yield FocusButton(self.form.apply_label, id="form-apply", variant="primary", compact=True)
                yield FocusButton("Cancel", id="form-cancel", compact=True)

    def on_mount(self) -> None:
        for f in self.form.fields:
            self.query_one(f"#err-{f.key}", Static).display = False
        self.query_one("#form-error", Static).display = False
        first = next((f for f in self.form.fields if not f.disabled), None)
        if first is not None:
            self.query_one(f"#f-{first.key}").focus()

    def on_descendant_focus(self, event) -> None:
        widget_id = getattr(event.widget, "id", None) or ""
        f = next((f for f in self.form.fields if f"f-{f.key}" == widget_id), None)
        if f is not None:
            self.query_one("#form-help", Static).update(Text(f"{f.label}: {f.help}"))

    # ---------------------------------------------------------------- values

    def field_value(self, f: Field) -> Any:
        widget = self.query_one(f"#f-{f.key}")
        if f.parse is None:
            return bool(widget.value)
        return f.parse(widget.value)

    def values(self) -> tuple[dict[str, Any], dict[str, str]]:
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for f in self.form.fields:
            try:
                values[f.key] = self.field_value(f)
            except ValueError as exc:
                errors[f.key] = str(exc)
        if not errors and self.form.check is not None:
            for key, msg in self.form.check(values):
                errors.setdefault(key, msg)
        return values, errors

    def _show_errors(self, errors: dict[str, str]) -> None:
        self.errors = errors
        for f in self.form.fields:
            err = self.query_one(f"#err-{f.key}", Static)
            msg = errors.get(f.key, "")
            err.update(Text(msg))
            err.display = bool(msg)
            self.query_one(f"#f-{f.key}").set_class(bool(msg), "-invalid")

    def show_error(self, message: str) -> None:
        box = self.query_one("#form-error", Static)
        box.update(Text(message))
        box.display = bool(message)

    def on_input_changed(self, event: Input.Changed) -> None:
        _, errors = self.values()
        self._show_errors(errors)
        self.show_error("")

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        _, errors = self.values()
        self._show_errors(errors)
        self.show_error("")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_apply()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "form-apply":
            self.action_apply()
        elif event.button.id == "form-preview":
            self.action_preview()
        else:
            self.action_cancel()

    # ---------------------------------------------------------------- actions

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _checked_values(self) -> dict[str, Any] | None:
        """The values to apply (only the changed ones where the form says so), or None after
        showing what is wrong."""
        values, errors = self.values()
        self._show_errors(errors)
        if errors:
            # Each message stands under its field; the first bad field gets the focus.
            bad = next(f for f in self.form.fields if f.key in errors)
            self.query_one(f"#f-{bad.key}").focus()
            return None
        if self.form.only_changed:
            start = self.form.initial
            values = {k: v for k, v in values.items() if k not in start or start[k] != v}
        return values

    def action_preview(self) -> None:
        """What-if: show what the change would do before applying it."""
        if self.form.preview is None:
            return
        values = self._checked_values()
        if values is None:
            return
        if not values:
            self.show_error("Nothing is changed yet: change a field, then preview it.")
            return
        self.show_error("")
        self.form.preview(values, self.action_apply)

    def action_apply(self) -> None:
        values = self._checked_values()
        if values is None:
            return
        if self.form.only_changed and not values:
            self.dismiss("")
            return
        try:
            message = self.form.apply(values)
        except Exception as exc:  # the model's refusal: SettingError, AdmissionError, ...
            from memtui.model import AdmissionError, SettingError
            from memtui.session import ReadOnlyError

            if not isinstance(exc, SettingError | AdmissionError | ReadOnlyError | ValueError | KeyError):
                raise
            text = str(exc)
            if isinstance(exc, KeyError) and exc.args:
                text = str(exc.args[0])
            self.show_error(f"Refused: {text}")
            return
        self.dismiss(message or "")


# --------------------------------------------------------------------------------------------
# The forms memtui offers

def _mb_text(value: int | None, none: str) -> str:
    return none if value is None else str(value)


def _field(table: str, key: str, text: str | bool, parse: Callable[[str], Any] | None,
           **kw: Any) -> Field:
    """A field for a key of the profile format, labelled and explained as the schema says."""
    k = schema.key(table, key)
    kw.setdefault("help", k.help or k.meaning)
    return Field(key, k.label, text, parse, **kw)


def _pct_field(key: str, text: str, what: str) -> Field:
    k = schema.key(schema.WORKLOAD, key)
    lo, hi = float(k.minimum or 0), float(k.maximum if k.maximum is not None else 100)
    return _field(schema.WORKLOAD, key, text, lambda t: parse_pct(t, what, lo, hi))


def vm_fields(c: VMConfig, powered_on: bool, max_vcpus: int) -> list[Field]:
    locked = "power the VM off to change it" if powered_on else ""
    vm = schema.VM
    min_vcpus = int(schema.key(vm, "vcpus").minimum or 1)
    return [
        _field(vm, "memory_mb", str(c.memory_mb), lambda t: _positive_mb(t, "memory"),
               help=locked or schema.key(vm, "memory_mb").help, disabled=powered_on),
        _field(vm, "vcpus", str(c.vcpus), lambda t: parse_int(t, "vCPUs", min_vcpus, max_vcpus),
               help=locked or f"{min_vcpus} to {max_vcpus}", disabled=powered_on),
        _field(vm, "reservation_mb", str(c.reservation_mb), lambda t: parse_mb(t, "a reservation")),
        _field(vm, "limit_mb", _mb_text(c.limit_mb, "unlimited"), parse_limit),
        _field(vm, "shares", str(c.shares), parse_shares),
        _field(vm, "max_balloon_mb", _mb_text(c.max_balloon_mb, "none"),
               lambda t: parse_optional_mb(t, "a balloon cap")),
        _field(vm, "tools", c.tools, None),
        _field(vm, "page_sharing", c.page_sharing, None),
        _field(vm, "content_family", c.content_family or "", parse_family),
    ]


def _positive_mb(text: str, what: str) -> int:
    value = parse_mb(text, what)
    if value <= 0:
        raise ValueError(f"{what} must be above 0 MB")
    return value


def vm_checks(values: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    mem, res, lim = values.get("memory_mb"), values.get("reservation_mb"), values.get("limit_mb")
    if mem is not None and res is not None and res > mem:
        out.append(("reservation_mb", f"a reservation of {res} MB is above the VM's memory ({mem} MB)"))
    if lim is not None and res is not None and lim < res:
        out.append(("limit_mb", f"the limit ({lim} MB) is below the reservation ({res} MB)"))
    return out


def workload_fields(c: VMConfig) -> list[Field]:
    wl = c.workload
    mem = c.memory_mb
    schedule = ", ".join(f"{format_duration(at)} {mb:g}" for at, mb in wl.schedule)
    w = schema.WORKLOAD
    active_help = schema.key(w, "active_mb").help.format(memory_mb=mem, idle_pct=spec.IDLE_ACTIVE_PCT)
    return [
        _pct_field("touched_pct", f"{wl.touched_pct:g}", "touched"),
        _field(w, "active_mb", "idle" if wl.active_mb is None else f"{wl.active_mb:g}",
               lambda t: parse_active(t, mem), help=active_help),
        _pct_field("zero_pct", f"{wl.zero_pct:g}", "zero pages"),
        _pct_field("family_pct", f"{wl.family_pct:g}", "family pages"),
        _pct_field("dup_pct", f"{wl.dup_pct:g}", "duplicates"),
        _field(w, "boot_s", format_duration(wl.boot_s), parse_duration_text),
        _field(w, "schedule", schedule, lambda t: parse_schedule(t, mem),
               placeholder="e.g. 0s 50, 10m 150, 20m 0"),
    ]


def workload_checks(values: dict[str, Any]) -> list[tuple[str, str]]:
    z, f, d = values.get("zero_pct"), values.get("family_pct"), values.get("dup_pct")
    if None not in (z, f, d) and z + f + d > 100:
        return [("dup_pct", f"zero + family + duplicates = {z + f + d:g} %: at most 100 %")]
    return []


def advanced_field(name: str, value: int) -> Field:
    k = schema.key(schema.ADVANCED, name)
    lo, hi = int(k.minimum), int(k.maximum)
    return Field("value", "Value", str(value), lambda t: parse_int(t, name, lo, hi),
                 help=f"{k.meaning} · default {k.default} · range {lo} to {hi}")


def new_vm_template(taken: set[str]) -> VMConfig:
    i = 1
    while f"vm{i:02d}" in taken:
        i += 1
    return VMConfig(name=f"vm{i:02d}", memory_mb=2048, workload=Workload())


def add_vm_fields(c: VMConfig, taken: set[str], max_vcpus: int) -> list[Field]:
    return [
        _field(schema.VM, "name", c.name, lambda t: parse_name(t, taken)),
        *vm_fields(c, False, max_vcpus),
        Field("active_mb", "Active (MB)", "idle", lambda t: t,
              help="the guest's true working set; idle for an idle guest (edit the workload later)"),
        Field("power", "Power on", True, None, help="power on at once (admission control applies)"),
    ]


def add_vm_checks(values: dict[str, Any]) -> list[tuple[str, str]]:
    out = vm_checks(values)
    mem = values.get("memory_mb")
    if mem is not None and "active_mb" in values:
        try:
            parse_active(values["active_mb"], mem)
        except ValueError as exc:
            out.append(("active_mb", str(exc)))
    return out
