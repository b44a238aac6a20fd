"""`memtui check PROFILE`: validate a profile and print a one-screen summary of the host.

Plain text only: this must not import the terminal UI toolkit.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TextIO

from memtui import tables
from memtui.config import Profile, VMConfig
from memtui.profile import ProfileError, read_profile

SCREEN_LINES = 24
SCREEN_COLUMNS = 80


@dataclass
class Admission:
    """Powering on the profile's VMs in order, as admission control would (memory-model.md 4)."""

    unreserved_mb: float
    swap_needed_mb: float
    overhead_mb: float
    reserved_mb: float
    refused: list[tuple[str, str]]  # (VM name, why)


def admit(profile: Profile) -> Admission:
    """Admit each powered-on VM in list order: its reservation plus overhead must fit in the
    unreserved memory and its swap file (memsize - reservation) on the datastore."""
    host = profile.host
    unreserved = float(host.memory_mb - host.system_mb)
    datastore = float(host.datastore_free_mb)
    overhead = reserved = swap = 0.0
    refused: list[tuple[str, str]] = []
    for vm in profile.vms:
        if vm.power != "on":
            continue
        vm_overhead = tables.overhead_mb(host.esx_version, vm.memory_mb, vm.vcpus).mb
        need = vm.reservation_mb + vm_overhead
        swap_file = vm.memory_mb - vm.reservation_mb
        overhead += vm_overhead
        reserved += vm.reservation_mb
        swap += swap_file
        if need > unreserved:
            refused.append((vm.name, f"memory short by {need - unreserved:.0f} MB"))
        elif swap_file > datastore:
            refused.append((vm.name, f"datastore short by {swap_file - datastore:.0f} MB"))
        else:
            unreserved -= need
            datastore -= swap_file
    return Admission(unreserved, swap, overhead, reserved, refused)


def _mb(value: float) -> str:
    return f"{value:.0f} MB"


def _vm_row(vm: VMConfig) -> str:
    name = vm.name if len(vm.name) <= 16 else f"{vm.name[:7]}~{vm.name[-8:]}"
    limit = "unlimited" if vm.limit_mb is None else _mb(vm.limit_mb)
    return (
        f"{name:<16} {_mb(vm.memory_mb):>10} {vm.vcpus:>4} {_mb(vm.reservation_mb):>9} "
        f"{limit:>10} {str(vm.shares):>7} {vm.power:>5}"
    )


def summarize(profile: Profile) -> str:
    """The host at a glance, at most 24 lines of at most 80 columns."""
    host = profile.host
    version = host.esx_version
    managed = host.memory_mb - host.system_mb
    th = tables.thresholds(version, host.memory_mb, profile.advanced_value("Mem.MinFreePct"))
    states = ", ".join(f"{state} {mb:.0f}" for state, mb in th.as_dict().items())
    on = [vm for vm in profile.vms if vm.power == "on"]
    configured = sum(vm.memory_mb for vm in on)
    adm = admit(profile)
    ratio = configured / managed if managed > 0 else 0.0

    lines = [
        f"Host {host.name}: ESX {version}, {host.cpu_cores} x {host.cpu_mhz:g} MHz cores, "
        f"{host.mmu} MMU",
        f"Memory      {_mb(host.memory_mb)}, system {_mb(host.system_mb)}, "
        f"managed {_mb(managed)}, minFree {_mb(th.min_free_mb)}",
        f"Thresholds  {states} MB",
        f"VMs         {len(profile.vms)} ({len(on)} on, {len(profile.vms) - len(on)} off); "
        f"{len(profile.events)} events",
        f"Powered on  {_mb(configured)} configured, {_mb(adm.overhead_mb)} overhead, "
        f"{_mb(adm.reserved_mb)} reserved",
        f"Overcommit  {ratio:.2f}x (configured memory of powered-on VMs / managed memory)",
        f"Unreserved  {_mb(adm.unreserved_mb)} after admission control powers the VMs on",
    ]
    if adm.refused:
        first, why = adm.refused[0]
        more = f" and {len(adm.refused) - 1} more" if len(adm.refused) > 1 else ""
        lines.append(f"            refused: {first} ({why}){more}")
    lines.append(
        f"Swap files  {_mb(adm.swap_needed_mb)} needed, {_mb(host.datastore_free_mb)} free "
        "on the datastore"
    )
    if profile.vms:
        lines.append("")
        lines.append(
            f"{'VM':<16} {'Memory':>10} {'vCPU':>4} {'Reserv.':>9} {'Limit':>10} "
            f"{'Shares':>7} {'Power':>5}"
        )
        room = SCREEN_LINES - len(lines)
        shown = profile.vms if len(profile.vms) <= room else profile.vms[: room - 1]
        lines.extend(_vm_row(vm) for vm in shown)
        if len(shown) < len(profile.vms):
            lines.append(f"... and {len(profile.vms) - len(shown)} more VMs")
    return "\n".join(line[:SCREEN_COLUMNS] for line in lines)


def check_main(path: str, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Check the profile at `path`: the summary on `out` and 0, or the problems (or why the file
    cannot be read) on `err` and 2."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    try:
        profile = read_profile(path)
    except ProfileError as exc:
        for problem in exc.problems:
            print(problem, file=err)
        return 2
    except OSError as exc:
        print(f"memtui: cannot read {path}: {exc.strerror or exc}", file=err)
        return 2
    print(summarize(profile), file=out)
    return 0
