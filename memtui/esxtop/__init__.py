"""esxtop batch captures (`esxtop -b`), written and read.

esxtop's batch mode writes perfmon's PDH-CSV 4.0: a header row whose first cell names the
format and the time zone, `(PDH-CSV 4.0) (UTC)(0)`, then one column per counter named
`\\\\HOST\\OBJECT\\COUNTER`; then one row per sample whose first cell is the sample time,
`MM/DD/YYYY HH:MM:SS`. Every cell is double-quoted. The memory counters are those of the host
(`\\\\HOST\\Memory\\Free MBytes`) and of each group (`\\\\HOST\\Group Memory(GID:NAME)\\...`).

`memtui.esxtop.writer` turns a run of the model into such a file (`memtui run --format esxtop`);
`memtui.esxtop.importer` turns a real host's capture into a profile (`memtui import esxtop`).
The counter names below are esxtop's, as real captures write them; docs/esxtop.md says where
each was seen. Imports no UI toolkit.
"""

from __future__ import annotations

from datetime import UTC, datetime

PDH_HEADER = "(PDH-CSV 4.0) (UTC)(0)"
PDH_PREFIX = "(PDH-CSV 4.0)"
TIME_FORMAT = "%m/%d/%Y %H:%M:%S"

# When a profile has no host.start_time, sample times count from this moment (UTC).
DEFAULT_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

HOST_OBJECT = "Memory"
VM_OBJECT = "Group Memory"

UNLIMITED = -1  # esxtop's AMAX for "no limit"

# Host counters: (esxtop counter, HostMetrics field), in the order esxtop's batch mode writes
# them (PMEM, VMKMEM, PSHARE, SWAP, ZIP, MEMCTL). The names are those of real captures of ESX 4.1
# and ESXi 6.x hosts (docs/esxtop.md says where each was seen).
HOST_COUNTERS: tuple[tuple[str, str], ...] = (
    ("Memory Overcommit (1 Minute Avg)", "overcommit_avg_1m"),
    ("Memory Overcommit (5 Minute Avg)", "overcommit_avg_5m"),
    ("Memory Overcommit (15 Minute Avg)", "overcommit_avg_15m"),
    ("Machine MBytes", "memory_mb"),
    ("Kernel MBytes", "system_mb"),
    ("NonKernel MBytes", "other_mb"),
    ("Free MBytes", "free_mb"),
    ("Kernel Managed MBytes", "managed_mb"),
    ("Kernel MinFree MBytes", "min_free_mb"),
    ("Kernel Reserved MBytes", "reserved_mb"),
    ("Kernel Unreserved MBytes", "unreserved_mb"),
    ("Kernel State", "state"),
    ("PShare Shared MBytes", "shared_mb"),
    ("PShare Common MBytes", "shared_common_mb"),
    ("PShare Savings MBytes", "shared_saved_mb"),
    ("Swap Used MBytes", "swapped_mb"),
    ("Swap Target MBytes", "swap_target_mb"),
    ("Swap MBytes Read/sec", "swap_in_mb_s"),
    ("Swap MBytes Write/sec", "swap_out_mb_s"),
    ("Total Compressed MBytes", "zipped_mb"),
    ("Total Saved By Compression MBytes", "zip_saved_mb"),
    ("Memctl Current MBytes", "balloon_mb"),
    ("Memctl Target MBytes", "balloon_target_mb"),
    ("Memctl Max MBytes", "balloon_max_mb"),
)

# Group (VM) counters: (esxtop counter, VMMetrics field), in the order esxtop writes them.
# "Alloc Min", "Alloc Max" and "Alloc Shares" are the memory screen's AMIN, AMAX and ASHRS: the
# reservation and limit in MB ("Alloc Max" is -1 when the VM has no limit) and the shares.
# "Memctl?" is MCTL?, 1 while the balloon driver runs, else 0.
VM_COUNTERS: tuple[tuple[str, str], ...] = (
    ("Alloc Min", "reservation_mb"),
    ("Alloc Max", "limit_mb"),
    ("Alloc Shares", "shares"),
    ("Memory Size MBytes", "memory_mb"),
    ("Memory Granted Size MBytes", "granted_mb"),
    ("Memory Consumed Size MBytes", "consumed_mb"),
    ("Target Size MBytes", "target_mb"),
    ("Touched MBytes", "touched_mb"),
    ("Touched Write MBytes", "touched_write_mb"),
    ("% Active Estimate", "active_pct"),
    ("% Active Slow Estimate", "active_slow_pct"),
    ("% Active Fast Estimate", "active_fast_pct"),
    ("% Active Next Estimate", "active_next_pct"),
    ("Memctl?", "balloon_active"),
    ("Memctl MBytes", "balloon_mb"),
    ("Memctl Target MBytes", "balloon_target_mb"),
    ("Memctl Max MBytes", "balloon_max_mb"),
    ("Swapped MBytes", "swapped_mb"),
    ("Swap Target MBytes", "swap_target_mb"),
    ("Swap Read MBytes/sec", "swap_in_mb_s"),
    ("Swap Written MBytes/sec", "swap_out_mb_s"),
    ("Zero MBytes", "zero_mb"),
    ("Shared MBytes", "shared_mb"),
    ("Shared Saved MBytes", "shared_saved_mb"),
    ("Overhead MBytes", "overhead_mb"),
    ("Overhead Max MBytes", "overhead_max_mb"),
    ("Compressed Memory MBytes", "zipped_mb"),
    ("Used Compressed Memory MBytes", "zip_cache_mb"),
    ("Compression MBytes/sec", "zip_rate_mb_s"),
    ("Decompression MBytes/sec", "unzip_rate_mb_s"),
)

# Names memtui's own esxtop output used before it took esxtop's, for counters esxtop names
# otherwise: the importer reads a file with either. (memtui name, esxtop name)
EARLIER_NAMES: tuple[tuple[str, str], ...] = (
    ("Kernel Minfree MBytes", "Kernel MinFree MBytes"),
    ("Kernel Reserved Memory MBytes", "Kernel Reserved MBytes"),
    ("Kernel Unreserved Memory MBytes", "Kernel Unreserved MBytes"),
    ("Zip Zipped MBytes", "Total Compressed MBytes"),
    ("Zip Saved MBytes", "Total Saved By Compression MBytes"),
    ("Memory Reservation MBytes", "Alloc Min"),
    ("Memory Limit MBytes", "Alloc Max"),
    ("Memory Shares", "Alloc Shares"),
)

# "Kernel State" as a number: esxtop's free-memory states in order, from the most free memory.
STATES_WITH_CLEAR = ("high", "clear", "soft", "hard", "low")  # ESX 6.x
STATES = ("high", "soft", "hard", "low")  # ESX 4.x, 5.x


# Memory compression counters: ESX 4.1 and later only.
ZIP_FIELDS = frozenset({"zipped_mb", "zip_saved_mb", "zip_cache_mb", "zip_rate_mb_s",
                        "unzip_rate_mb_s"})


def host_counters(version: str) -> tuple[tuple[str, str], ...]:
    """The host counters a host of this release shows."""
    return tuple(c for c in HOST_COUNTERS if version != "4.0" or c[1] not in ZIP_FIELDS)


def vm_counters(version: str) -> tuple[tuple[str, str], ...]:
    """The group counters a host of this release shows."""
    return tuple(c for c in VM_COUNTERS if version != "4.0" or c[1] not in ZIP_FIELDS)


def state_number(state: str, version: str) -> int:
    order = STATES_WITH_CLEAR if version == "6.x" else STATES
    return order.index(state) if state in order else STATES_WITH_CLEAR.index(state)


def column(host: str, obj: str, counter: str) -> str:
    """A PDH counter path: `\\\\esx01\\Group Memory(1234:web01)\\Touched MBytes`."""
    return f"\\\\{host}\\{obj}\\{counter}"


def vm_object(gid: int, name: str) -> str:
    return f"{VM_OBJECT}({gid}:{name})"


def split_path(cell: str) -> tuple[str, str, str] | None:
    """`\\\\esx01\\Group Memory(12:web (01))\\Touched MBytes` -> host, object, counter.

    The host runs to the first backslash after the leading two, the counter from the last one
    (esxtop's counter names have no backslash), so the object between may hold anything."""
    if not cell.startswith("\\\\"):
        return None
    host, sep, rest = cell[2:].partition("\\")
    if not sep:
        return None
    obj, sep, counter = rest.rpartition("\\")
    if not sep or not obj:
        return None
    return host, obj, counter


def split_group(obj: str) -> tuple[int, str] | None:
    """`Group Memory(1234:web01: blue (old))` -> (1234, "web01: blue (old)"): the group id runs to
    the first colon, the name from there to the object's closing parenthesis."""
    prefix = VM_OBJECT + "("
    if not obj.startswith(prefix) or not obj.endswith(")"):
        return None
    gid, sep, name = obj[len(prefix):-1].partition(":")
    if not sep or not gid.strip().isdigit():
        return None
    return int(gid), name
