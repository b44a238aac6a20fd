"""Reading, checking and saving host profiles (memtui.profile)."""

from __future__ import annotations

import copy
import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest
import tomlkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memtui import profile as profile_mod
from memtui import spec
from memtui.config import (
    Event,
    HostConfig,
    Profile,
    VMConfig,
    Workload,
    format_duration,
    parse_duration,
)
from memtui.profile import (
    LineIndex,
    ProfileError,
    ProfileProblem,
    ProfileSaveError,
    dumps_profile,
    format_key_path,
    load_profile,
    parse_profile,
    profile_to_document,
    save_profile,
)

EXAMPLE = """\
format = 1                      # profile format version; a newer, unknown version is refused

[host]
name = "esx01"
esx_version = "4.0"             # "4.0" | "4.1" | "5.x" | "6.x"  (semantics of memory-model.md)
memory_mb = 16384               # physical memory
system_mb = 800                 # VMkernel (+ service console) memory, not available to VMs
cpu_cores = 8
cpu_mhz = 2400                  # per core; the page-sharing scan rate depends on it
mmu = "hardware"                # "hardware" (EPT/RVI, large pages) | "software" (shadow page tables)
datastore_free_mb = 500000      # room for VM swap files
swap_mb_per_s = 100             # datastore throughput for swap-out and swap-in
seed = 1                        # random seed: the same profile and seed give the same run

[advanced]                      # ESX advanced settings, names as in the vSphere Client
"Mem.IdleTax" = 75
"Mem.IdleTaxType" = 0
"Mem.CtlMaxPercent" = 65
# any setting of memory-model.md section 13; an unknown name is an error

[[vm]]
name = "web01"
memory_mb = 4096
vcpus = 2
reservation_mb = 0
limit_mb = "unlimited"          # or a number of MB
shares = "normal"               # "low" | "normal" | "high" | a positive integer
tools = true                    # balloon driver installed and running
max_balloon_mb = 1024           # optional per-VM balloon cap (sched.mem.maxmemctl)
page_sharing = true             # optional (sched.mem.pshare.enable)
power = "on"                    # "on" | "off"
content_family = "win2008"      # VMs of one family share identical pages

[vm.workload]
touched_pct = 100               # share of memsize the guest touches after boot (Windows zeroes all)
active_mb = 1200                # true working set (what the guest really uses)
zero_pct = 20                   # share of touched memory that is zero pages
family_pct = 30                 # share of touched memory identical across the content family
dup_pct = 2                     # share of touched memory duplicated inside this VM
boot_s = 120                    # seconds the guest takes to boot (balloon driver not running yet)
schedule = [                    # optional: true working set over time, [at, active_mb] steps
  ["0s", 50], ["10m", 150], ["20m", 0],
]

[[event]]                       # optional timeline, applied when the run reaches `at`
at = "30m50s"
set = { "Mem.IdleTax" = 75 }    # change advanced settings
[[event]]
at = "40m"
vm = "web01"
set = { reservation_mb = 2048, power = "off" }   # change VM settings or power
[[event]]
at = "45m"
vm = "web01"
workload = { active_mb = 3000 }                   # change the guest workload
"""

MINIMAL = """\
[host]
name = "lab"
memory_mb = 8192

[[vm]]
name = "a"
memory_mb = 1024
"""


def plain(p: Profile) -> Profile:
    """The profile without where it came from, for comparing."""
    return replace(p, document=None, path=None)


def write(tmp_path: Path, text: str, name: str = "host.toml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def problems_of(text: str) -> list[ProfileProblem]:
    with pytest.raises(ProfileError) as info:
        parse_profile(text, "p.toml")
    return info.value.problems


def line_of(text: str, fragment: str) -> int:
    """The 1-based number of the first line containing `fragment`."""
    for number, line in enumerate(text.split("\n"), 1):
        if fragment in line:
            return number
    raise AssertionError(f"{fragment!r} not in text")


def vm_text(name: str = "a", memory: int = 1024, extra: str = "") -> str:
    return f'\n[[vm]]\nname = "{name}"\nmemory_mb = {memory}\n{extra}'


HOST = '[host]\nname = "h"\nmemory_mb = 16384\n'


# --------------------------------------------------------------------------------------------
# Durations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (90, 90),
        (0, 0),
        ("90", 90),
        ("45s", 45),
        ("30m", 1800),
        ("1h30m", 5400),
        ("2h", 7200),
        ("30m50s", 1850),
        ("1h0m5s", 3605),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", [-1, True, 1.5, "", "1d", "m30", "30 m", "-5s", None, [30]])
def test_parse_duration_refuses(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


@given(st.integers(min_value=0, max_value=10**7))
def test_format_duration_round_trips(seconds):
    assert parse_duration(format_duration(seconds)) == seconds


def test_profile_durations_in_both_forms():
    p = parse_profile(
        HOST + vm_text(extra='[vm.workload]\nboot_s = 90\nschedule = [[0, 1], ["1h1s", 2]]\n')
    )
    assert p.vms[0].workload.boot_s == 90
    assert p.vms[0].workload.schedule == [(0, 1), (3601, 2)]


# --------------------------------------------------------------------------------------------
# Valid profiles


def test_example_of_the_contract_parses():
    p = parse_profile(EXAMPLE, "example.toml")
    assert p.format == 1
    assert p.host == HostConfig(
        name="esx01",
        memory_mb=16384,
        esx_version="4.0",
        system_mb=800,
        cpu_cores=8,
        cpu_mhz=2400,
        mmu="hardware",
        datastore_free_mb=500000,
        swap_mb_per_s=100.0,
        seed=1,
    )
    assert p.advanced == {"Mem.IdleTax": 75, "Mem.IdleTaxType": 0, "Mem.CtlMaxPercent": 65}
    assert p.vms == [
        VMConfig(
            name="web01",
            memory_mb=4096,
            vcpus=2,
            reservation_mb=0,
            limit_mb=None,
            shares="normal",
            tools=True,
            max_balloon_mb=1024,
            page_sharing=True,
            power="on",
            content_family="win2008",
            workload=Workload(
                touched_pct=100.0,
                active_mb=1200,
                zero_pct=20.0,
                family_pct=30.0,
                dup_pct=2.0,
                boot_s=120,
                schedule=[(0, 50), (600, 150), (1200, 0)],
            ),
        )
    ]
    assert p.events == [
        Event(at_s=1850, vm=None, set={"Mem.IdleTax": 75}),
        Event(at_s=2400, vm="web01", set={"reservation_mb": 2048, "power": "off"}),
        Event(at_s=2700, vm="web01", workload={"active_mb": 3000}),
    ]
    assert p.path == "example.toml"
    assert isinstance(p.document, tomlkit.TOMLDocument)


def test_missing_keys_take_the_dataclass_defaults():
    p = parse_profile(MINIMAL)
    assert p.host == HostConfig(name="lab", memory_mb=8192)
    assert p.vms == [VMConfig(name="a", memory_mb=1024)]
    assert p.vms[0].workload == Workload()
    assert p.advanced == {} and p.events == [] and p.format == 1
    assert p.path is None


def test_values_are_normalised():
    p = parse_profile(
        HOST + vm_text(extra="limit_mb = 2048.0\nshares = 1500\n[vm.workload]\ntouched_pct = 50\n")
    )
    vm = p.vms[0]
    assert vm.limit_mb == 2048 and isinstance(vm.limit_mb, int)
    assert vm.shares == 1500 and vm.shares_value == 1500
    assert isinstance(vm.workload.touched_pct, float)


def test_advanced_settings_as_dotted_keys():
    p = parse_profile(HOST + '[advanced]\nMem.IdleTax = 10\n"Mem.CtlMaxPercent" = 20\n')
    assert p.advanced == {"Mem.IdleTax": 10, "Mem.CtlMaxPercent": 20}


def test_events_are_sorted_by_time_stably():
    text = HOST + "".join(
        f'\n[[event]]\nat = "{at}"\nset = {{ "Mem.IdleTax" = {tax} }}\n'
        for at, tax in [("40m", 1), ("10m", 2), ("40m", 3), ("0s", 4)]
    )
    p = parse_profile(text)
    assert [(e.at_s, e.set["Mem.IdleTax"]) for e in p.events] == [
        (0, 4),
        (600, 2),
        (2400, 1),
        (2400, 3),
    ]


def test_later_settings_allowed_on_later_versions():
    text = (
        HOST.replace('name = "h"', 'name = "h"\nesx_version = "6.x"')
        + ('[advanced]\n"Mem.MemZipEnable" = 0\n"Mem.ShareForceSalting" = 0\n')
        + vm_text(extra="vcpus = 128\n")
    )
    p = parse_profile(text)
    assert p.advanced_value("Mem.MemZipEnable") == 0
    assert p.vms[0].vcpus == 128


def test_vms_at_the_maximum_are_accepted():
    text = HOST + "".join(vm_text(f"vm{i}", 256) for i in range(320))
    assert len(parse_profile(text).vms) == 320


def test_event_may_raise_memory_then_reservation():
    text = (
        HOST
        + vm_text(extra="reservation_mb = 512\n")
        + (
            '\n[[event]]\nat = "1m"\nvm = "a"\nset = { memory_mb = 4096 }\n'
            '\n[[event]]\nat = "2m"\nvm = "a"\nset = { reservation_mb = 3000 }\n'
        )
    )
    assert parse_profile(text).events[1].set == {"reservation_mb": 3000}


# --------------------------------------------------------------------------------------------
# Refused profiles: one problem per case, naming the line and the key path


BAD_CASES = {
    "broken TOML": (HOST + "vcpus = = 2\n", "vcpus = = 2", "", "not valid TOML"),
    "unterminated array": (HOST + "x = [1,\n", "x = [1,", "", "not valid TOML"),
    "string for a size": (
        HOST + vm_text(memory='"4096"'),
        'memory_mb = "4096"',
        "vm[1].memory_mb",
        'not the string "4096"',
    ),
    "bool is not a number": (
        HOST + vm_text(extra="vcpus = true\n"),
        "vcpus = true",
        "vm[1].vcpus",
        "true (a boolean)",
    ),
    "bool for a size": (
        HOST + vm_text(memory="true"),
        "memory_mb = true",
        "vm[1].memory_mb",
        "not true (a boolean)",
    ),
    "float where a count is": (
        HOST + vm_text(extra="vcpus = 2.5\n"),
        "vcpus = 2.5",
        "vm[1].vcpus",
        "whole number",
    ),
    "percentage out of range": (
        HOST + vm_text(extra="[vm.workload]\ntouched_pct = 120\n"),
        "touched_pct",
        "vm[1].workload.touched_pct",
        "from 0 to 100",
    ),
    "negative memory": (
        HOST + vm_text(memory=-1),
        "memory_mb = -1",
        "vm[1].memory_mb",
        "greater than 0",
    ),
    "infinite size": (
        HOST + vm_text(extra="max_balloon_mb = inf\n"),
        "max_balloon_mb",
        "vm[1].max_balloon_mb",
        "0 or more",
    ),
    "unknown key with suggestion": (
        HOST + vm_text(extra="memroy_mb = 5\n"),
        "memroy_mb",
        "vm[1].memroy_mb",
        'did you mean "memory_mb"?',
    ),
    "unknown top-level table": (HOST + "[hots]\nx = 1\n", "[hots]", "hots", 'did you mean "host"?'),
    "unknown shares level": (
        HOST + vm_text(extra='shares = "medium"\n'),
        "shares",
        "vm[1].shares",
        '"low", "normal", "high"',
    ),
    "zero shares": (HOST + vm_text(extra="shares = 0\n"), "shares", "vm[1].shares", "positive"),
    "bad power": (HOST + vm_text(extra='power = "of"\n'), "power", "vm[1].power", '"on", "off"'),
    "bad limit word": (
        HOST + vm_text(extra='limit_mb = "none"\n'),
        "limit_mb",
        "vm[1].limit_mb",
        '"unlimited"',
    ),
    "bad mmu": (HOST + 'mmu = "ept"\n', "mmu", "host.mmu", '"hardware", "software"'),
    "bad version": (
        HOST + 'esx_version = "5.5"\n',
        "esx_version",
        "host.esx_version",
        '"4.0", "4.1", "5.x", "6.x"',
    ),
    "version as a number": (
        HOST + "esx_version = 4.1\n",
        "esx_version",
        "host.esx_version",
        'esx_version = "4.1"',
    ),
    "system memory not below memory": (
        HOST + "system_mb = 16384\n",
        "system_mb",
        "host.system_mb",
        "less than host.memory_mb",
    ),
    "zero swap rate": (
        HOST + "swap_mb_per_s = 0\n",
        "swap_mb_per_s",
        "host.swap_mb_per_s",
        "greater than 0",
    ),
    "zero cores": (HOST + "cpu_cores = 0\n", "cpu_cores", "host.cpu_cores", "1 or more"),
    "seed not an integer": (HOST + 'seed = "x"\n', "seed", "host.seed", "whole number"),
    "missing host": ('[[vm]]\nname = "a"\nmemory_mb = 1\n', None, "host", "[host]"),
    "missing host memory": ('[host]\nname = "h"\n', "[host]", "host.memory_mb", "missing"),
    "missing VM name": (HOST + "\n[[vm]]\nmemory_mb = 1\n", "[[vm]]", "vm[1].name", "missing"),
    "empty VM name": (HOST + vm_text(name=""), 'name = ""', "vm[1].name", "non-empty"),
    "duplicate VM name": (
        HOST + vm_text("web") + vm_text("db") + '[[vm]]\nname = "web"  # again\nmemory_mb = 1\n',
        "# again",
        "vm[3].name",
        'duplicate VM name "web" (also vm[1])',
    ),
    "reservation above memsize": (
        HOST + vm_text(memory=1024, extra="reservation_mb = 2048\n"),
        "reservation_mb",
        "vm[1].reservation_mb",
        "at most the VM's memory_mb (1024 MB)",
    ),
    "limit below reservation": (
        HOST + vm_text(extra="reservation_mb = 512\nlimit_mb = 256\n"),
        "limit_mb",
        "vm[1].limit_mb",
        "at least reservation_mb (512 MB)",
    ),
    "9 vCPUs on 4.0": (
        HOST + vm_text(extra="vcpus = 9\n"),
        "vcpus = 9",
        "vm[1].vcpus",
        "from 1 to 8 (the ESX 4.0 maximum per VM)",
    ),
    "VM memory past the 4.0 maximum": (
        HOST + vm_text(memory=255 * 1024 + 1),
        "memory_mb = 261121",
        "vm[1].memory_mb",
        "at most 261120",
    ),
    "host memory past the 4.0 maximum": (
        HOST.replace("16384", str(1024 * 1024 + 1)),
        "memory_mb",
        "host.memory_mb",
        "1 TB, the ESX 4.0 maximum per host",
    ),
    "advanced setting from a newer version": (
        HOST + '[advanced]\n"Mem.MemZipEnable" = 1\n',
        "MemZipEnable",
        'advanced."Mem.MemZipEnable"',
        'exists from ESX 4.1 on, but host.esx_version is "4.0"',
    ),
    "unknown advanced setting": (
        HOST + '[advanced]\n"Mem.IdelTax" = 1\n',
        "IdelTax",
        'advanced."Mem.IdelTax"',
        'did you mean "Mem.IdleTax"?',
    ),
    "advanced value out of range": (
        HOST + '[advanced]\n"Mem.IdleTax" = 100\n',
        "IdleTax",
        'advanced."Mem.IdleTax"',
        "from 0 to 99",
    ),
    "advanced value not an integer": (
        HOST + '[advanced]\n"Mem.IdleTax" = 7.5\n',
        "IdleTax",
        'advanced."Mem.IdleTax"',
        "whole number",
    ),
    "workload shares over 100": (
        HOST + vm_text(extra="[vm.workload]\nzero_pct = 50\nfamily_pct = 50\ndup_pct = 1\n"),
        "zero_pct",
        "vm[1].workload",
        "50 + 50 + 1 = 101",
    ),
    "active above memsize": (
        HOST + vm_text(memory=1024, extra="[vm.workload]\nactive_mb = 2000\n"),
        "active_mb",
        "vm[1].workload.active_mb",
        "from 0 to the VM's memory_mb (1024)",
    ),
    "schedule out of order": (
        HOST + vm_text(extra='[vm.workload]\nschedule = [\n  ["10m", 5],\n  ["5m", 6],\n]\n'),
        '["5m", 6]',
        "vm[1].workload.schedule[2]",
        "times must increase",
    ),
    "schedule item not a pair": (
        HOST + vm_text(extra="[vm.workload]\nschedule = [[1, 2, 3]]\n"),
        "schedule",
        "vm[1].workload.schedule[1]",
        "pair",
    ),
    "bad boot time": (
        HOST + vm_text(extra='[vm.workload]\nboot_s = "2 minutes"\n'),
        "boot_s",
        "vm[1].workload.boot_s",
        "not a duration",
    ),
    "VMs as one table": (HOST + '[vm]\nname = "a"\n', "[vm]", "vm", "[[vm]]"),
    "event without at": (
        HOST + '[[event]]\nset = { "Mem.IdleTax" = 1 }\n',
        "[[event]]",
        "event[1].at",
        "missing",
    ),
    "event with a bad time": (
        HOST + '[[event]]\nat = "soon"\nset = { "Mem.IdleTax" = 1 }\n',
        "soon",
        "event[1].at",
        "not a duration",
    ),
    "event for a VM that does not exist": (
        HOST + vm_text("web01") + '[[event]]\nat = 1\nvm = "web02"\nset = { power = "off" }\n',
        'vm = "web02"',
        "event[1].vm",
        'no VM named "web02"; did you mean "web01"?',
    ),
    "event that changes nothing": (
        HOST + vm_text() + '[[event]]\nat = 1\nvm = "a"\n',
        "[[event]]",
        "event[1]",
        "must change something",
    ),
    "event with an empty set": (
        HOST + "[[event]]\nat = 1\nset = {}\n",
        "[[event]]",
        "event[1]",
        "must change something",
    ),
    "VM setting in an event without vm": (
        HOST + '[[event]]\nat = 1\nset = { power = "off" }\n',
        "set =",
        "event[1].set.power",
        "VM settings need the event's vm",
    ),
    "unknown VM setting in an event": (
        HOST + vm_text() + '[[event]]\nat = 1\nvm = "a"\nset = { reservaton_mb = 1 }\n',
        "set =",
        "event[1].set.reservaton_mb",
        'did you mean "reservation_mb"?',
    ),
    "bad value in an event": (
        HOST + vm_text() + '[[event]]\nat = 1\nvm = "a"\nset = { vcpus = 9 }\n',
        "set =",
        "event[1].set.vcpus",
        "from 1 to 8",
    ),
    "advanced setting from a newer version in an event": (
        HOST + '[[event]]\nat = 1\nset = { "Mem.MinFreePct" = 3 }\n',
        "set =",
        'event[1].set."Mem.MinFreePct"',
        "exists from ESX 4.1 on",
    ),
    "workload event without vm": (
        HOST + "[[event]]\nat = 1\nworkload = { active_mb = 3 }\n",
        "workload =",
        "event[1].workload",
        "needs the event's vm",
    ),
    "event reservation above memsize at that time": (
        HOST
        + vm_text(memory=1024)
        + '[[event]]\nat = "1m"\nvm = "a"\nset = { reservation_mb = 2000 }\n',
        "set =",
        "event[1].set.reservation_mb",
        "at most the VM's memory_mb (1024 MB at 1m)",
    ),
    "event limit below reservation": (
        HOST
        + vm_text(extra="reservation_mb = 512\n")
        + '[[event]]\nat = "1m"\nvm = "a"\nset = { limit_mb = 100 }\n',
        "set =",
        "event[1].set.limit_mb",
        "must be at least reservation_mb (512 MB)",
    ),
    "event active above memsize": (
        HOST
        + vm_text(memory=1024)
        + '[[event]]\nat = "1m"\nvm = "a"\nworkload = { active_mb = 5000 }\n',
        "workload =",
        "event[1].workload.active_mb",
        "at most the VM's memory_mb",
    ),
    "event workload shares over 100": (
        HOST
        + vm_text(extra="[vm.workload]\nzero_pct = 50\n")
        + '[[event]]\nat = "1m"\nvm = "a"\nworkload = { family_pct = 60 }\n',
        "workload =",
        "event[1].workload",
        "50 + 60 + 2 = 112 at 1m",
    ),
    "newer format": (
        "format = 2\n" + HOST + "[future]\nx = 1\n",
        "format = 2",
        "format",
        "this memtui reads format 1",
    ),
    "format not 1": ('format = "1"\n' + HOST, "format", "format", "must be 1"),
}


@pytest.mark.parametrize("case", list(BAD_CASES), ids=list(BAD_CASES))
def test_bad_profile_gives_one_precise_problem(tmp_path, case):
    text, fragment, key_path, message = BAD_CASES[case]
    path = write(tmp_path, text)
    before = path.read_bytes()
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    problems = info.value.problems
    assert len(problems) == 1, problems
    problem = problems[0]
    assert problem.file == str(path)
    assert problem.key_path == key_path
    assert message in problem.message
    assert problem.line == (None if fragment is None else line_of(text, fragment))
    assert path.read_bytes() == before


def test_duplicate_vm_name_points_at_the_second():
    text = HOST + vm_text("web") + vm_text("web")
    (problem,) = problems_of(text)
    assert problem.line == [i for i, s in enumerate(text.split("\n"), 1) if s == 'name = "web"'][1]


def test_syntax_error_at_the_end_of_the_file():
    (problem,) = problems_of(HOST + "x = [1,\n")
    assert problem.line == 4 and "end of the file" in problem.message


def test_too_many_vms_for_the_version():
    text = HOST + "".join(vm_text(f"vm{i}", 256) for i in range(321))
    (problem,) = problems_of(text)
    assert problem.key_path == "vm"
    assert "321 VMs" in problem.message and "at most 320" in problem.message
    assert problem.line == line_of(text, 'name = "vm320"') - 1  # the 321st [[vm]]


def test_more_vms_allowed_on_later_versions():
    text = HOST.replace('name = "h"', 'name = "h"\nesx_version = "5.x"') + "".join(
        vm_text(f"vm{i}", 256) for i in range(321)
    )
    assert len(parse_profile(text).vms) == 321


def test_all_problems_are_reported_in_file_order():
    text = (
        '[host]\nname = "h"\nmemory_mb = 0\nmmu = "x"\n'
        '[advanced]\n"Mem.Bogus" = 1\n'
        + vm_text("a", extra="vcpus = 0\ncolour = 1\n")
        + vm_text("a", extra="reservation_mb = 99999\n")
        + '[[event]]\nat = "x"\nvm = "nobody"\n'
    )
    problems = problems_of(text)
    paths = [p.key_path for p in problems]
    assert paths == [
        "host.memory_mb",
        "host.mmu",
        'advanced."Mem.Bogus"',
        "vm[1].vcpus",
        "vm[1].colour",
        "vm[2].name",
        "vm[2].reservation_mb",
        "event[1].at",
        "event[1].vm",
    ]
    lines = [p.line for p in problems]
    assert lines == sorted(lines) and None not in lines
    assert str(ProfileError(problems)).count("\n") == len(problems) - 1


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(HOST.encode() + b"\n# caf\xe9\n")
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    (problem,) = info.value.problems
    assert problem.line == 5 and "UTF-8" in problem.message


def test_unreadable_files_raise_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_profile(tmp_path / "missing.toml")
    with pytest.raises(IsADirectoryError):
        load_profile(tmp_path)


def test_problem_text():
    assert str(ProfileProblem("f.toml", 3, "vm[1].vcpus", "bad")) == "f.toml:3: vm[1].vcpus: bad"
    assert str(ProfileProblem("f.toml", None, "host", "missing")) == "f.toml: host: missing"
    assert str(ProfileProblem("f.toml", 2, "", "not valid TOML")) == "f.toml:2: not valid TOML"


def test_key_paths_count_from_one_and_quote_odd_keys():
    assert format_key_path(("vm", 0, "workload", "schedule", 2)) == "vm[1].workload.schedule[3]"
    assert format_key_path(("advanced", "Mem.IdleTax")) == 'advanced."Mem.IdleTax"'


def test_line_index_is_not_fooled_by_arrays_and_strings():
    text = (
        'title = """\n[[vm]]\nname = 1\n"""\n'
        "[host]\n"
        "list = [\n  [1, 2],\n  [3, 4],  # [not.a.header]\n]\n"
        "inline = { a = 1 }\n"
        "x.y = 2\n"
        "[[vm]]\n[vm.workload]\nk = 1\n[[vm]]\nname = 'b'\n"
    )
    index = LineIndex(text)
    assert index.line_of(("host", "list")) == 6
    assert index.line_of(("host", "list", 0)) == 7
    assert index.line_of(("host", "list", 1)) == 8
    assert index.line_of(("host", "inline", "a")) == 10
    assert index.line_of(("host", "x.y")) == 11
    assert index.line_of(("host", "x", "y")) == 11
    assert index.line_of(("vm", 0)) == 12
    assert index.line_of(("vm", 0, "workload", "k")) == 14
    assert index.line_of(("vm", 1, "name")) == 16
    assert index.line_of(("nothing",)) is None


# --------------------------------------------------------------------------------------------
# Saving


def test_saving_an_unchanged_profile_changes_nothing(tmp_path):
    path = write(tmp_path, EXAMPLE)
    p = load_profile(path)
    save_profile(p, path)
    assert path.read_text() == EXAMPLE


def test_save_keeps_comments_and_key_order(tmp_path):
    path = write(tmp_path, EXAMPLE)
    p = load_profile(path)
    p.host.memory_mb = 32768
    p.vms[0].vcpus = 4
    p.vms[0].limit_mb = 3072
    p.advanced["Mem.IdleTax"] = 50
    save_profile(p, path)
    new = path.read_text().split("\n")
    old = EXAMPLE.split("\n")
    assert len(new) == len(old)
    changed = [(o, n) for o, n in zip(old, new, strict=True) if o != n]
    assert changed == [
        (
            "memory_mb = 16384               # physical memory",
            "memory_mb = 32768               # physical memory",
        ),
        ('"Mem.IdleTax" = 75', '"Mem.IdleTax" = 50'),
        ("vcpus = 2", "vcpus = 4"),
        (
            'limit_mb = "unlimited"          # or a number of MB',
            "limit_mb = 3072          # or a number of MB",
        ),
    ]
    assert plain(load_profile(path)) == plain(p)


def test_save_adds_only_keys_that_differ_from_defaults(tmp_path):
    path = write(tmp_path, MINIMAL)
    p = load_profile(path)
    p.vms[0].tools = True  # the default: not written
    p.vms[0].power = "off"
    p.vms[0].workload.active_mb = 100
    save_profile(p, path)
    text = path.read_text()
    assert "tools" not in text
    assert text.startswith(MINIMAL + 'power = "off"\n')
    assert "[vm.workload]\nactive_mb = 100\n" in text
    assert plain(load_profile(path)) == plain(p)


def test_new_keys_go_before_comments_that_lead_into_the_next_table(tmp_path):
    text = HOST + "\n# the web server\n" + vm_text("web")
    path = write(tmp_path, text)
    p = load_profile(path)
    p.host.cpu_cores = 16
    save_profile(p, path)
    assert "memory_mb = 16384\ncpu_cores = 16\n\n# the web server\n" in path.read_text()


def test_save_adds_renames_removes_and_reorders_vms(tmp_path):
    text = MINIMAL + "# b is the database\n" + vm_text("b", 2048) + vm_text("c", 512)
    path = write(tmp_path, text)
    p = load_profile(path)
    p.vms[0].name = "a2"  # renamed: keeps its table
    del p.vms[2]  # c removed
    p.vms.append(VMConfig("d", 4096, vcpus=2, workload=Workload(active_mb=10)))
    p.vms.reverse()  # d, b, a2
    save_profile(p, path)
    saved = path.read_text()
    assert "# b is the database" in saved and '"c"' not in saved
    assert plain(load_profile(path)) == plain(p)


def test_save_updates_events_in_place(tmp_path):
    path = write(tmp_path, EXAMPLE)
    p = load_profile(path)
    p.events[1].set["reservation_mb"] = 1024
    p.events[2].at_s = 3600
    p.events.append(Event(at_s=60, vm="web01", set={"limit_mb": None}))
    p.events.sort(key=lambda e: e.at_s)
    save_profile(p, path)
    saved = path.read_text()
    assert 'set = { reservation_mb = 1024, power = "off" }   # change VM settings or power' in saved
    assert 'at = "1h"' in saved and 'limit_mb = "unlimited"' in saved
    assert "# change the guest workload" in saved
    assert plain(load_profile(path)) == plain(p)


def test_save_keeps_the_order_of_unsorted_events(tmp_path):
    text = HOST + "".join(
        f'\n[[event]]\nat = "{at}"\nset = {{ "Mem.IdleTax" = {tax} }}\n'
        for at, tax in [("40m", 1), ("10m", 2)]
    )
    path = write(tmp_path, text)
    p = load_profile(path)
    save_profile(p, path)
    assert path.read_text() == text
    p.events[0].set["Mem.IdleTax"] = 9  # the 10m event, second in the file
    save_profile(p, path)
    assert path.read_text() == text.replace("= 2 }", "= 9 }")


def test_save_removes_settings_and_puts_new_advanced_after_host(tmp_path):
    text = MINIMAL.replace("8192\n", "8192\n\n# VMs follow\n")
    path = write(tmp_path, text)
    p = load_profile(path)
    p.advanced["Mem.IdleTax"] = 0
    save_profile(p, path)
    saved = path.read_text()
    assert saved.index("[advanced]") < saved.index("[[vm]]")
    assert plain(load_profile(path)) == plain(p)
    p.advanced.clear()
    save_profile(p, path)
    assert "Mem.IdleTax" not in path.read_text()
    assert load_profile(path).advanced == {}


def test_save_edits_dotted_advanced_keys_where_they_are(tmp_path):
    path = write(
        tmp_path, HOST + "[advanced]\nMem.IdleTax = 10  # low tax\nMem.SamplePeriod = 30\n"
    )
    p = load_profile(path)
    p.advanced["Mem.IdleTax"] = 20
    del p.advanced["Mem.SamplePeriod"]
    save_profile(p, path)
    assert path.read_text() == HOST + "[advanced]\nMem.IdleTax = 20  # low tax\n"


def test_durations_keep_their_form_when_changed(tmp_path):
    path = write(tmp_path, HOST + vm_text(extra="[vm.workload]\nboot_s = 90\n"))
    p = load_profile(path)
    p.vms[0].workload.boot_s = 100
    p.events.append(Event(at_s=5400, vm="a", workload={"boot_s": 30}))
    save_profile(p, path)
    saved = path.read_text()
    assert "boot_s = 100\n" in saved
    assert 'at = "1h30m"' in saved and 'workload = {boot_s = "30s"}' in saved


def test_save_without_a_document_builds_a_clean_one(tmp_path):
    p = plain(parse_profile(EXAMPLE))
    path = tmp_path / "new.toml"
    save_profile(p, path)
    text = path.read_text()
    assert text.startswith('format = 1\n\n[host]\nname = "esx01"\nesx_version = "4.0"\n')
    assert "tools" not in text  # defaults are left out
    assert plain(load_profile(path)) == plain(p)
    assert p.path == str(path) and p.document is not None
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_save_keeps_the_permissions_of_the_file(tmp_path):
    path = write(tmp_path, MINIMAL)
    path.chmod(0o640)
    p = load_profile(path)
    p.host.seed = 7
    save_profile(p, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_save_writes_through_a_symlink(tmp_path):
    real = write(tmp_path, MINIMAL, "real.toml")
    link = tmp_path / "link.toml"
    link.symlink_to(real)
    p = load_profile(link)
    p.host.seed = 7
    save_profile(p, link)
    assert link.is_symlink() and load_profile(real).host.seed == 7


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_failed_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch, failing):
    path = write(tmp_path, EXAMPLE)
    p = load_profile(path)
    p.host.memory_mb = 8192

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, fail)
    with pytest.raises(ProfileSaveError) as info:
        save_profile(p, path)
    monkeypatch.undo()
    assert isinstance(info.value, OSError) and info.value.errno == 28
    assert str(info.value) == f"cannot save {path}: No space left on device"
    assert path.read_text() == EXAMPLE
    assert sorted(os.listdir(tmp_path)) == ["host.toml"]


def test_save_refuses_a_profile_that_loading_would_refuse(tmp_path):
    path = write(tmp_path, EXAMPLE)
    p = load_profile(path)
    p.vms[0].reservation_mb = 99999
    with pytest.raises(ProfileError) as info:
        save_profile(p, path)
    (problem,) = info.value.problems
    assert (problem.file, problem.line, problem.key_path) == (
        str(path),
        None,
        "vm[1].reservation_mb",
    )
    assert path.read_text() == EXAMPLE
    assert os.listdir(tmp_path) == ["host.toml"]


def test_save_into_a_missing_directory_fails_cleanly(tmp_path):
    p = parse_profile(MINIMAL)
    with pytest.raises(ProfileSaveError, match="cannot save"):
        save_profile(p, tmp_path / "nowhere" / "p.toml")


def test_dumps_profile_matches_what_save_writes(tmp_path):
    p = load_profile(write(tmp_path, EXAMPLE))
    p.vms[0].shares = 2000
    text = dumps_profile(p)
    assert "shares = 2000" in text
    assert plain(parse_profile(text)) == plain(p)


# --------------------------------------------------------------------------------------------
# Properties: random valid profiles survive the trip through TOML

names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12).filter(
    lambda s: s.strip()
)
sizes = st.one_of(
    st.integers(min_value=1, max_value=200_000),
    st.floats(min_value=0.5, max_value=200_000, allow_nan=False, allow_infinity=False),
)
pcts = st.floats(min_value=0, max_value=100, allow_nan=False)
small_pcts = st.integers(min_value=0, max_value=33).map(float)


@st.composite
def workloads(draw, memory):
    schedule_times = draw(st.lists(st.integers(0, 10**6), unique=True, max_size=4))
    return Workload(
        touched_pct=draw(pcts),
        active_mb=draw(st.none() | st.floats(0, memory, allow_nan=False)),
        zero_pct=draw(small_pcts),
        family_pct=draw(small_pcts),
        dup_pct=draw(small_pcts),
        boot_s=draw(st.integers(0, 10**5)),
        schedule=[(t, draw(st.integers(0, int(memory)))) for t in sorted(schedule_times)],
    )


@st.composite
def vm_configs(draw, name, version):
    memory = draw(sizes)
    reservation = draw(st.integers(0, int(memory)))
    return VMConfig(
        name=name,
        memory_mb=memory,
        vcpus=draw(st.integers(1, spec.MAXIMUMS[version].vcpus_per_vm)),
        reservation_mb=reservation,
        limit_mb=draw(st.none() | st.integers(reservation, 10**6)),
        shares=draw(st.sampled_from(["low", "normal", "high"]) | st.integers(1, 10**9)),
        tools=draw(st.booleans()),
        max_balloon_mb=draw(st.none() | st.integers(0, 10**6)),
        page_sharing=draw(st.booleans()),
        power=draw(st.sampled_from(["on", "off"])),
        content_family=draw(st.none() | names),
        workload=draw(workloads(memory)),
    )


def advanced_settings(version):
    valid = [s for s in spec.ADVANCED_SETTINGS.values() if spec.version_at_least(version, s.since)]
    return st.dictionaries(
        st.sampled_from([s.name for s in valid]),
        st.integers(),
    ).map(
        lambda d: {
            k: spec.ADVANCED_SETTINGS[k].minimum
            + v % (spec.ADVANCED_SETTINGS[k].maximum - spec.ADVANCED_SETTINGS[k].minimum + 1)
            for k, v in d.items()
        }
    )


@st.composite
def events_for(draw, version, vms):
    at = draw(st.integers(0, 10**6))
    if not vms or draw(st.booleans()):
        changes = draw(advanced_settings(version).filter(bool))
        return Event(at_s=at, set=changes)
    vm = draw(st.sampled_from(vms))
    limit = vm.limit_mb if vm.limit_mb is not None else vm.memory_mb
    vm_changes = st.fixed_dictionaries(
        {},
        optional={
            "power": st.sampled_from(["on", "off"]),
            "tools": st.booleans(),
            "shares": st.sampled_from(["low", "high"]) | st.integers(1, 10**6),
            "vcpus": st.integers(1, spec.MAXIMUMS[version].vcpus_per_vm),
            "reservation_mb": st.integers(0, int(min(vm.memory_mb, limit))),
            "limit_mb": st.none(),
            "content_family": names,
        },
    )
    workload_changes = st.fixed_dictionaries(
        {},
        optional={
            "active_mb": st.integers(0, int(vm.memory_mb)),
            "touched_pct": pcts,
            "boot_s": st.integers(0, 10**4),
        },
    )
    changes, workload = draw(
        st.tuples(vm_changes, workload_changes).filter(lambda cw: cw[0] or cw[1])
    )
    return Event(at_s=at, vm=vm.name, set=changes, workload=workload)


@st.composite
def profiles(draw):
    version = draw(st.sampled_from(spec.VERSIONS))
    memory = draw(st.integers(1024, 1024 * 1024))
    host = HostConfig(
        name=draw(names),
        memory_mb=memory,
        esx_version=version,
        system_mb=draw(st.integers(0, memory - 1)),
        cpu_cores=draw(st.integers(1, 256)),
        cpu_mhz=draw(st.integers(1, 10_000)),
        mmu=draw(st.sampled_from(["hardware", "software"])),
        datastore_free_mb=draw(st.integers(0, 10**9)),
        swap_mb_per_s=draw(st.floats(0.01, 10_000, allow_nan=False)),
        seed=draw(st.integers(-(2**63), 2**63 - 1)),
    )
    vm_names = draw(st.lists(names, unique=True, max_size=4))
    vms = [draw(vm_configs(n, version)) for n in vm_names]
    events = draw(st.lists(events_for(version, vms), max_size=4))
    events.sort(key=lambda e: e.at_s)
    return Profile(host=host, vms=vms, advanced=draw(advanced_settings(version)), events=events)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profiles())
def test_round_trip_of_random_profiles(p):
    text = dumps_profile(p)
    assert plain(parse_profile(text)) == plain(p)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profiles(), profiles())
def test_editing_a_saved_document_into_another_profile(a, b):
    loaded = parse_profile("# keep me\n" + dumps_profile(a))
    loaded.host, loaded.vms = copy.deepcopy(b.host), copy.deepcopy(b.vms)
    loaded.advanced, loaded.events = dict(b.advanced), copy.deepcopy(b.events)
    text = dumps_profile(loaded)
    assert text.startswith("# keep me\n")
    assert plain(parse_profile(text)) == plain(b)


toml_values = st.recursive(
    st.none().map(lambda _: "x")
    | st.booleans()
    | st.integers(-5, 10**6)
    | st.floats(allow_nan=True)
    | st.sampled_from(["on", "low", "unlimited", "30m", "4.0", ""]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["name", "memory_mb", "x", "at", "vm", "set"]), inner, max_size=3
        )
    ),
    max_leaves=8,
)
known_keys = st.sampled_from(
    sorted(
        {
            *profile_mod.HOST_KEYS,
            *profile_mod.VM_KEYS,
            *profile_mod.WORKLOAD_KEYS,
            *profile_mod.EVENT_KEYS,
            *spec.ADVANCED_SETTINGS,
            "format",
            "bogus",
        }
    )
)
tables = st.dictionaries(known_keys, toml_values, max_size=6)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "format": toml_values,
            "host": tables | toml_values,
            "advanced": tables,
            "vm": st.lists(tables, max_size=3) | toml_values,
            "event": st.lists(tables, max_size=3),
        },
    )
)
def test_any_toml_gives_a_profile_or_problems(data):
    text = tomlkit.dumps(data)
    try:
        p = parse_profile(text)
    except ProfileError as exc:
        assert exc.problems
        assert all(isinstance(pr.message, str) and pr.message for pr in exc.problems)
    else:
        assert isinstance(p, Profile)


def test_clean_document_of_a_minimal_profile():
    p = Profile(host=HostConfig("h", 4096), vms=[VMConfig("a", 512)])
    doc = profile_to_document(p)
    assert doc.unwrap()["vm"] == [{"name": "a", "memory_mb": 512}]
    assert doc.unwrap()["host"]["mmu"] == "hardware"


REPLACEMENTS = [
    "1",
    "-1",
    '"x"',
    "true",
    "[]",
    "{}",
    '"web01"',
    "1e400",
    "nan",
    '"unlimited"',
    "[[1, 2]]",
    "{ a = 1 }",
    '"4.1"',
    "0",
    "[",
    '"',
]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 100), st.sampled_from(REPLACEMENTS)), min_size=1, max_size=4)
)
def test_damaged_example_gives_a_profile_or_problems_on_real_lines(edits):
    lines = EXAMPLE.split("\n")
    for k, token in edits:
        k %= len(lines)
        if "=" in lines[k]:
            lines[k] = lines[k].split("=")[0] + "= " + token
        else:
            del lines[k]
    text = "\n".join(lines)
    try:
        parse_profile(text)
    except ProfileError as exc:
        assert all(p.line is None or 1 <= p.line <= len(lines) for p in exc.problems)


# --------------------------------------------------------------------------------------------
# The reference page says what the code does

DOC = Path(__file__).resolve().parents[1] / "docs" / "profile-format.md"


def test_reference_lists_every_advanced_setting_as_the_spec_does():
    rows = {}
    for line in DOC.read_text().split("\n"):
        if line.startswith("| `Mem."):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0].strip("`")] = cells[1:4]
    assert rows == {
        s.name: [str(s.default), f"{s.minimum}-{s.maximum}", s.since]
        for s in spec.ADVANCED_SETTINGS.values()
    }


def test_reference_names_every_key_and_its_default():
    text = DOC.read_text()
    for cls, keys in (
        (HostConfig, profile_mod.HOST_KEYS),
        (VMConfig, profile_mod.VM_KEYS),
        (Workload, profile_mod.WORKLOAD_KEYS),
    ):
        defaults = profile_mod._defaults(cls)
        for key in keys:
            row = next((ln for ln in text.split("\n") if ln.startswith(f"| `{key}` |")), None)
            assert row is not None, key
            default = defaults[key]
            if isinstance(default, bool):
                assert f"`{str(default).lower()}`" in row, key
            elif isinstance(default, str):
                assert f'`"{default}"`' in row, key
            elif isinstance(default, int | float):
                number = int(default) if float(default).is_integer() else default
                assert f"| {number} |" in row, key
    for version, maxi in spec.MAXIMUMS.items():
        row = next(
            ln for ln in text.split("\n") if ln.startswith("| ") and version in ln.split("|")[1]
        )
        assert f"| {maxi.vcpus_per_vm} |" in row and f"{maxi.memory_mb_per_vm} MB" in row
        assert f"| {maxi.vms_per_host} |" in row and f"{maxi.memory_mb_per_host} MB" in row


# --------------------------------------------------------------------------------------------
# Workload keys of the dynamics: compressible pages and boot-zeroed pages


def test_compressible_and_boot_zero_keys():
    text = HOST + vm_text(extra="[vm.workload]\ncompressible_pct = 30\nboot_zero_pct = 55\nzero_pct = 5\n")
    wl = parse_profile(text, "p.toml").vms[0].workload
    assert wl.compressible_pct == 30 and wl.boot_zero_pct == 55 and wl.zero_pct == 5
    default = parse_profile(HOST + vm_text(), "p.toml").vms[0].workload
    assert default.compressible_pct == 60 and default.boot_zero_pct is None
    bad = HOST + vm_text(extra="[vm.workload]\ncompressible_pct = 150\n")
    (problem,) = problems_of(bad)
    assert problem.line == line_of(bad, "compressible_pct") and "percentage" in str(problem)
