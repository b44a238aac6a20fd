"""The profile format as data: one table of every key of every table of a host profile.

Each `Key` gives the key's type, its range or allowed values, its default, its unit and what it
means. The checker (`memtui.profile.checker`) checks values against it, the reference tables of
docs/profile-format.md are rendered from it (`render_tables`), and the terminal UI's forms take
their labels, ranges, defaults and help from it.

Advanced settings come from `memtui.spec.ADVANCED_SETTINGS` (the model reads them there too);
this table adds their type and unit.

This module imports nothing from the terminal UI toolkit and nothing from the TOML libraries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from memtui import spec

FORMAT = 1  # the profile format version this memtui reads and writes


class _Required:
    """The default of a key that has none: the profile must give it."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()

# Types, in the words of the reference page. The first ones are checked the same way for every
# key of that type; the others have checks of their own in the checker.
SIZE = "size"  # a number of MB, whole when it is whole
NUMBER = "number"
WHOLE = "whole number"  # a TOML integer
PERCENT = "percentage"
BOOLEAN = "boolean"
STRING = "string"  # with `choices`: one of them; without: not empty
DURATION = "duration"
DATE_TIME = "date-time"
TABLE = "table"
TABLES = "array of tables"
LIMIT = 'size or `"unlimited"`'
SHARES = "string or whole number"
SCHEDULE = "array of `[duration, size]` pairs"

# Table names: "" is the top level; "vm.workload" is each VM's [vm.workload].
TOP, HOST, ADVANCED, VM, WORKLOAD, EVENT = "", "host", "advanced", "vm", "vm.workload", "event"


@dataclass(frozen=True)
class Key:
    """One key of a profile table."""

    table: str
    name: str
    type: str
    default: Any = REQUIRED  # the value a missing key has (as the dataclasses keep it)
    meaning: str = ""  # one line: what the key is
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    above: bool = False  # the minimum itself is not allowed: greater than `minimum`
    choices: tuple[str, ...] = ()
    rule: str = ""  # what else limits the value (other keys, the release's maximums)
    allowed: str = ""  # the allowed values in words, where the range does not say it
    default_text: str = ""  # the default in words, where it is not a plain value
    since: str = spec.VERSIONS[0]  # the first release that has it (advanced settings)
    as_float: bool = False  # kept as a float (percentages, throughput); sizes stay whole
    label: str = ""  # the terminal UI's label of the field that edits it
    help: str = ""  # the UI's help line for that field, where it says more than `meaning`

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def path(self) -> str:
        return f"{self.table}.{self.name}" if self.table else self.name

    # -- the range in words ----------------------------------------------------------------

    def range_phrase(self) -> str:
        """How the checker's messages say the range: " greater than 0", ", 0 or more",
        " from 0 to 100" (to follow "a number of MB")."""
        lo, hi = _num(self.minimum), _num(self.maximum)
        if self.minimum is not None and self.maximum is not None:
            return f" from {lo} to {hi}"
        if self.minimum is not None:
            return f" greater than {lo}" if self.above else f", {lo} or more"
        return ""

    def expected(self) -> str:
        """What the checker says a value must be: "a number of MB, 0 or more"."""
        if self.type == PERCENT:
            return f"a percentage{self.range_phrase()}"
        if self.type == WHOLE:
            return f"a whole number{self.range_phrase()}"
        if self.type in (SIZE, NUMBER):
            unit = f" of {self.unit}" if self.unit else ""
            return f"a number{unit}{self.range_phrase()}"
        if self.type == LIMIT:
            return f'"unlimited" or a number of {self.unit}{self.range_phrase()}'
        raise ValueError(f"{self.path} is not a number")

    def ok(self, value: float) -> bool:
        """Whether a number is in the key's range."""
        if self.minimum is not None and (value <= self.minimum if self.above else value < self.minimum):
            return False
        return self.maximum is None or value <= self.maximum

    # -- the reference page ----------------------------------------------------------------

    def default_words(self) -> str:
        if self.default_text:
            return self.default_text
        return _value_words(self.default)

    def allowed_words(self) -> str:
        """The "allowed" cell of the reference: the range, the choices, the rules."""
        if self.allowed:
            first = self.allowed
        elif self.choices:
            quoted = [f'`"{c}"`' for c in self.choices]
            first = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
        elif self.type == STRING:
            first = "not empty"
        elif self.minimum is not None and self.maximum is not None:
            first = f"{_num(self.minimum)} to {_num(self.maximum)}"
        elif self.minimum is not None:
            first = f"{'>' if self.above else '>='} {_num(self.minimum)}"
        else:
            first = ""
        return " and ".join(part for part in (first, self.rule) if part)


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _value_words(value: Any) -> str:
    if value is REQUIRED:
        return "required"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, int | float):
        return _num(value)
    return str(value)


# --------------------------------------------------------------------------------------------
# The table

_ADVANCED_UNITS = {
    "Mem.IdleTax": "%",
    "Mem.SamplePeriod": "s",
    "Mem.BalancePeriod": "s",
    "Mem.CtlMaxPercent": "%",
    "Mem.ShareScanTime": "min",
    "Mem.ShareScanGHz": "MB/s per GHz",
    "Mem.MemZipMaxPct": "%",
    "Mem.MinFreePct": "%",
    "Mem.ShareRateMax": "pages/s",
}

_KEYS: tuple[Key, ...] = (
    # -- the top level -----------------------------------------------------------------------
    Key(TOP, "format", WHOLE, FORMAT, minimum=FORMAT, maximum=FORMAT, allowed=str(FORMAT),
        meaning="the profile format version. This memtui reads and writes format 1; a larger "
        "number is refused with a message saying so (and nothing else in the file is checked, "
        "since a newer format may have keys this version does not know)."),
    Key(TOP, "host", TABLE, REQUIRED, meaning="the host"),
    Key(TOP, "advanced", TABLE, None, meaning="advanced settings that differ from their defaults"),
    Key(TOP, "vm", TABLES, default_text="no VMs", default=(),
        meaning="the VMs, in the order the host lists them"),
    Key(TOP, "event", TABLES, default_text="no events", default=(), meaning="the timeline"),
    # -- [host] ------------------------------------------------------------------------------
    Key(HOST, "name", STRING, meaning="the host's name"),
    Key(HOST, "esx_version", STRING, spec.DEFAULT_VERSION, choices=spec.VERSIONS,
        meaning="the ESX release whose memory manager runs (semantics of each release in "
        '`docs/model.md`). Write it as a string: `esx_version = 4.1` is refused with a hint.'),
    Key(HOST, "memory_mb", SIZE, unit="MB", minimum=0, above=True,
        rule="at most the release's memory per host (below)", meaning="physical memory"),
    Key(HOST, "system_mb", SIZE, 800, unit="MB", minimum=0, rule="< `memory_mb`",
        meaning="VMkernel (+ service console) memory, not available to VMs"),
    Key(HOST, "cpu_cores", WHOLE, 8, minimum=1, meaning="CPU cores"),
    Key(HOST, "cpu_mhz", NUMBER, 2400, unit="MHz", minimum=0, above=True,
        meaning="per core; the page-sharing scan rate depends on it"),
    Key(HOST, "mmu", STRING, "hardware", choices=("hardware", "software"),
        meaning="hardware: EPT/RVI, large pages; software: shadow page tables"),
    Key(HOST, "datastore_free_mb", SIZE, 1_000_000, unit="MB", minimum=0,
        meaning="room for the VMs' swap files"),
    Key(HOST, "swap_mb_per_s", NUMBER, 100.0, unit="MB/s", minimum=0, above=True, as_float=True,
        meaning="datastore throughput for swap-out and swap-in"),
    Key(HOST, "seed", WHOLE, 1, allowed="any",
        meaning="random seed: the same profile and seed give the same run"),
    Key(HOST, "start_time", DATE_TIME, None,
        allowed="a TOML date-time (`2026-03-01T08:00:00Z`) or an ISO 8601 string; without an "
        "offset it is UTC",
        meaning="the wall-clock time of the run's start. Used for the sample times of `memtui "
        "run --format esxtop` (without it they count from 2000-01-01 00:00:00 UTC); `memtui "
        "import esxtop` sets it to the capture's sample. The simulation itself does not "
        "depend on it."),
    # -- [[vm]] ------------------------------------------------------------------------------
    Key(VM, "name", STRING, rule="unique within the profile", meaning="the VM's name",
        label="Name", help="unique on this host"),
    Key(VM, "memory_mb", SIZE, unit="MB", minimum=0, above=True,
        rule="at most the release's memory per VM", meaning="configured memory (memsize)",
        label="Memory (MB)", help="configured memory (memsize): 4096 or 4G"),
    Key(VM, "vcpus", WHOLE, 1, minimum=1, rule="at most the release's vCPUs per VM",
        meaning="virtual CPUs", label="vCPUs"),
    Key(VM, "reservation_mb", SIZE, 0, unit="MB", minimum=0, rule="<= `memory_mb`",
        meaning="guaranteed memory; admission control needs it free",
        label="Reservation (MB)",
        help="guaranteed memory; admission control needs it free (raising it on a running VM "
        "too)"),
    Key(VM, "limit_mb", LIMIT, None, unit="MB", minimum=0, default_text='`"unlimited"`',
        allowed='`"unlimited"` (the VM\'s memsize) or >= `reservation_mb`',
        meaning="the most machine memory the VM may get", label="Limit (MB)",
        help="unlimited, or the most machine memory the VM may get"),
    Key(VM, "shares", SHARES, "normal", choices=tuple(spec.SHARES_PER_MB),
        allowed='`"low"`, `"normal"`, `"high"` (5, 10, 20 shares per MB of memsize) or a whole '
        "number > 0",
        meaning="the VM's claim on memory when the host is short of it", label="Shares",
        help="low, normal, high (5 / 10 / 20 per MB) or a number"),
    Key(VM, "tools", BOOLEAN, True, meaning="VMware Tools' balloon driver installed and running",
        label="VMware Tools", help="balloon driver installed and running"),
    Key(VM, "max_balloon_mb", SIZE, None, unit="MB", minimum=0,
        default_text="none (the host's cap applies)",
        meaning="per-VM balloon cap (sched.mem.maxmemctl)", label="Balloon cap (MB)",
        help="sched.mem.maxmemctl: none, or the most the balloon may take"),
    Key(VM, "page_sharing", BOOLEAN, True,
        meaning="takes part in page sharing (sched.mem.pshare.enable)", label="Page sharing",
        help="sched.mem.pshare.enable: take part in page sharing"),
    Key(VM, "power", STRING, "on", choices=("on", "off"), meaning="powered on at the start"),
    Key(VM, "content_family", STRING, None, meaning="VMs of one family share identical pages",
        label="Content family",
        help="VMs of one family (guest OS, template) share identical pages; empty for none"),
    Key(VM, "workload", TABLE, default_text="an idle guest", default=None,
        allowed="`[vm.workload]`, below", meaning="the guest's behaviour"),
    # -- [vm.workload] -----------------------------------------------------------------------
    Key(WORKLOAD, "touched_pct", PERCENT, 100.0, unit="%", minimum=0, maximum=100, as_float=True,
        meaning="share of memsize the guest touches after boot", label="Touched (%)",
        help="share of memory the guest touches after boot (Windows zeroes all of it)"),
    Key(WORKLOAD, "active_mb", SIZE, None, unit="MB", minimum=0,
        default_text=f"{spec.IDLE_ACTIVE_PCT:g} % of memsize (an idle guest)",
        rule="<= the VM's `memory_mb`", meaning="the true working set (what the guest really uses)",
        label="Active (MB)",
        help="true working set, up to {memory_mb} MB; idle = {idle_pct:g} % of memory"),
    Key(WORKLOAD, "zero_pct", PERCENT, 10.0, unit="%", minimum=0, maximum=100, as_float=True,
        meaning="share of touched memory that is zero pages", label="Zero pages (%)"),
    Key(WORKLOAD, "family_pct", PERCENT, 20.0, unit="%", minimum=0, maximum=100, as_float=True,
        meaning="share of touched memory identical across the content family",
        label="Family pages (%)", help="share identical across the content family"),
    Key(WORKLOAD, "dup_pct", PERCENT, 2.0, unit="%", minimum=0, maximum=100, as_float=True,
        meaning="share of touched memory duplicated inside this VM", label="Duplicates (%)",
        help="share duplicated inside the VM"),
    Key(WORKLOAD, "boot_s", DURATION, spec.DEFAULT_BOOT_S, unit="s",
        meaning="time the guest takes to boot (no balloon driver until then)", label="Boot time",
        help='seconds or "2m": the balloon driver runs only once the guest has booted'),
    Key(WORKLOAD, "schedule", SCHEDULE, default_text="none", default=(),
        allowed="times strictly increase; sizes from 0 to `memory_mb`",
        meaning="the true working set over time since power-on: from each step's time on, "
        "`active_mb` is the step's size. Before the first step, `active_mb` applies.",
        label="Schedule", help="working set over time since power-on: time MB pairs; empty for none"),
    Key(WORKLOAD, "compressible_pct", PERCENT, spec.COMPRESSIBLE_PCT, unit="%", minimum=0,
        maximum=100, as_float=True,
        meaning="share of the guest's pages that compress to 2 KB or less (4.1+: those go to "
        "the compression cache instead of the swap file)"),
    Key(WORKLOAD, "boot_zero_pct", PERCENT, None, unit="%", minimum=0, maximum=100,
        as_float=True, default_text="`zero_pct`",
        meaning="share of touched memory that is zero pages when the guest has booted (Windows "
        "zeroes its memory at boot); after boot the guest overwrites the zero pages beyond "
        "`zero_pct` as it works, and copy-on-write takes them out of sharing"),
    # -- [[event]] ---------------------------------------------------------------------------
    Key(EVENT, "at", DURATION, unit="s",
        meaning="the simulated time of the change, from the start of the run"),
    Key(EVENT, "vm", STRING, None, rule="the name of a VM of the profile",
        meaning="the VM the event changes; without it, the event changes advanced settings"),
    Key(EVENT, "set", TABLE, None, meaning="the settings to change"),  # allowed: below
    Key(EVENT, "workload", TABLE, None, allowed="with `vm` only: keys and values of `[vm.workload]`",
        meaning="the guest workload to change"),
    # -- [advanced] ---------------------------------------------------------------------------
    *(
        Key(ADVANCED, s.name, WHOLE, s.default, minimum=s.minimum, maximum=s.maximum,
            meaning=s.meaning, since=s.since, unit=_ADVANCED_UNITS.get(s.name, ""))
        for s in spec.ADVANCED_SETTINGS.values()
    ),
)


# The event's `set` names the VM settings it may change; the list is the [[vm]] table's.
_VM_SETTINGS = tuple(k.name for k in _KEYS if k.table == VM and k.name not in ("name", "workload"))
KEYS: tuple[Key, ...] = tuple(
    replace(
        k,
        allowed="without `vm`: advanced settings (names and values as in `[advanced]`, including "
        "the release check). With `vm`: that VM's settings "
        + ", ".join(f"`{n}`" for n in _VM_SETTINGS)
        + ", with the values allowed in `[[vm]]`",
    )
    if (k.table, k.name) == (EVENT, "set")
    else k
    for k in _KEYS
)
_BY_PATH = {(k.table, k.name): k for k in KEYS}


def key(table: str, name: str) -> Key:
    """The key `name` of `table` ("host", "vm", "vm.workload", "event", "advanced", "")."""
    return _BY_PATH[(table, name)]


def keys_of(table: str) -> tuple[Key, ...]:
    return tuple(k for k in KEYS if k.table == table)


def names_of(table: str) -> tuple[str, ...]:
    return tuple(k.name for k in KEYS if k.table == table)


def defaults(table: str) -> dict[str, Any]:
    """The default of every key of a table (REQUIRED for those without one)."""
    return {k.name: k.default for k in keys_of(table)}


TOP_KEYS = names_of(TOP)
HOST_KEYS = names_of(HOST)  # in the order of the format's description
VM_KEYS = names_of(VM)
VM_SETTING_KEYS = _VM_SETTINGS  # what events may set
WORKLOAD_KEYS = names_of(WORKLOAD)
EVENT_KEYS = names_of(EVENT)
ADVANCED_KEYS = names_of(ADVANCED)

SHARES_LEVELS = key(VM, "shares").choices
POWER_STATES = key(VM, "power").choices
MMU_MODES = key(HOST, "mmu").choices


# --------------------------------------------------------------------------------------------
# The reference page

REGENERATE = "python -m memtui.profile docs/profile-format.md"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _key_cell(k: Key) -> str:
    if k.table == TOP and k.type == TABLE:
        return f"`[{k.name}]`"
    if k.table == TOP and k.type == TABLES:
        return f"`[[{k.name}]]`"
    return f"`{k.name}`"


def render_table(table: str) -> str:
    """The markdown reference table of one profile table."""
    if table == ADVANCED:
        rows = ["| setting | default | range | since | unit | meaning |", "|---|---|---|---|---|---|"]
        for k in keys_of(ADVANCED):
            rows.append(
                f"| `{k.name}` | {_num(k.default)} | {_num(k.minimum)}-{_num(k.maximum)} | "
                f"{k.since} | {_cell(k.unit)} | {_cell(k.meaning)} |"
            )
        return "\n".join(rows)
    rows = ["| key | type | unit | default | allowed | meaning |", "|---|---|---|---|---|---|"]
    for k in keys_of(table):
        cells = (_key_cell(k), k.type, k.unit, k.default_words(), k.allowed_words(), k.meaning)
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(rows)


TABLE_NAMES = {TOP: "top", HOST: "host", ADVANCED: "advanced", VM: "vm", WORKLOAD: "workload",
               EVENT: "event"}
_REGION = re.compile(
    r"(<!-- schema:(?P<name>\w+) begin[^>]*-->\n)(?P<body>.*?)(<!-- schema:(?P=name) end -->)",
    re.DOTALL,
)


def render_doc(text: str) -> str:
    """`text` (the reference page) with each generated table replaced by the schema's.

    A table sits between `<!-- schema:NAME begin ... -->` and `<!-- schema:NAME end -->`, where
    NAME is top, host, advanced, vm, workload or event."""
    by_name = {name: table for table, name in TABLE_NAMES.items()}

    def fill(m: re.Match[str]) -> str:
        name = m.group("name")
        if name not in by_name:
            raise ValueError(f"unknown schema table {name!r} in the reference page")
        return m.group(1) + render_table(by_name[name]) + "\n" + m.group(4)

    return _REGION.sub(fill, text)


def doc_regions(text: str) -> list[str]:
    """The names of the generated tables a page holds, in order."""
    return [m.group("name") for m in _REGION.finditer(text)]
