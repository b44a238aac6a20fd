"""The VM table's columns (esxtop memory screen names) and what each metric and state means.

Data only, no UI toolkit: the VM table, the column chooser and the help screen all read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # figures' types only: the first frame does without them
    from memtui.metrics import VMMetrics



@dataclass(frozen=True)
class Column:
    key: str  # the esxtop name, also the DataTable column key and the settings name
    field: str  # VMMetrics attribute
    kind: str  # "text" | "mb" | "pct" | "rate" | "flag" | "status" | "count"
    meaning: str  # one sentence for the help screen
    width: int = 6


COLUMN_LIST: tuple[Column, ...] = (
    Column("NAME", "name", "text", "The VM's name, as the profile gives it.", 12),
    Column("STAT", "power", "status",
           "Power state: on, off, boot (guest still booting, so no balloon driver yet) or "
           "blkd (the host blocks the VM from allocating more memory: low state).", 4),
    Column("MEMSZ", "memory_mb", "mb", "Configured memory (memsize): the guest-physical size, MB."),
    Column("GRANT", "granted_mb", "mb",
           "Granted: guest memory backed by machine memory, shared or not, MB."),
    Column("CNSM", "consumed_mb", "mb",
           "Consumed: machine memory the VM uses, granted minus its part of the sharing saving, MB."),
    Column("SZTGT", "target_mb", "mb",
           "Target size the host drives the VM toward (shares, reservation, limit, idle tax), MB."),
    Column("TCHD", "touched_mb", "mb",
           "Touched: guest memory holding data, resident, swapped or compressed, MB."),
    Column("%ACTV", "active_pct", "pct",
           "The host's estimate of active memory, % of MEMSZ (by sampling, not the true figure)."),
    Column("%ACTVS", "active_slow_pct", "pct", "Slow moving average of the active estimate, %."),
    Column("%ACTVF", "active_fast_pct", "pct", "Fast moving average of the active estimate, %."),
    Column("MCTL?", "tools", "flag",
           "Balloon driver (vmmemctl, VMware Tools) installed: Y or N.", 5),
    Column("MCTLSZ", "balloon_mb", "mb", "Memory reclaimed by the balloon driver now, MB."),
    Column("MCTLTGT", "balloon_target_mb", "mb", "Balloon target the host set for the VM, MB."),
    Column("MCTLMAX", "balloon_max_mb", "mb",
           "Most the balloon may take: Mem.CtlMaxPercent of MEMSZ or the VM's own cap, MB."),
    Column("SWCUR", "swapped_mb", "mb", "Guest memory swapped to the VM's .vswp file now, MB."),
    Column("SWTGT", "swap_target_mb", "mb", "Swap target the host set for the VM, MB."),
    Column("SWR/s", "swap_in_mb_s", "rate",
           "Swap-in rate: swapped pages the guest touched and read back, MB/s (slow)."),
    Column("SWW/s", "swap_out_mb_s", "rate", "Swap-out rate, MB/s."),
    Column("ZIP", "zipped_mb", "mb", "Guest memory held compressed in the compression cache, MB."),
    Column("CACHEUSD", "zip_cache_mb", "mb", "Compression cache in use (machine memory), MB.", 8),
    Column("ZIP/s", "zip_rate_mb_s", "rate", "Pages compressed per second, MB/s."),
    Column("UNZIP/s", "unzip_rate_mb_s", "rate", "Pages decompressed per second, MB/s."),
    Column("SHRD", "shared_mb", "mb",
           "Shared: guest memory backed by shared copy-on-write pages (includes zero pages), MB."),
    Column("ZERO", "zero_mb", "mb", "Zero pages, all backed by one shared machine page, MB."),
    Column("SHRDSVD", "shared_saved_mb", "mb", "Machine memory saved by page sharing, MB."),
    Column("OVHD", "overhead_mb", "mb",
           "Overhead: memory the VMM needs for the VM (frame buffer, page tables), reserved at "
           "power-on and never reclaimed, MB."),
    Column("RESV", "reservation_mb", "mb", "Reservation: memory guaranteed to the VM, MB."),
    Column("LIMIT", "limit_mb", "mb", "Limit: most machine memory the VM may get; - is unlimited, MB."),
    Column("SHARES", "shares", "count", "Memory shares (low 5, normal 10, high 20 per MB of MEMSZ).", 8),
    Column("VCPU", "vcpus", "count", "Virtual CPUs.", 4),
    # The rest of esxtop's memory screen
    Column("TCHD_W", "touched_write_mb", "mb",
           "Write working set estimate: the active estimate times the share of working-set pages "
           "the guest writes (the model's COW_WRITE_FRACTION), MB."),
    Column("%ACTVN", "active_next_pct", "pct",
           "The host's prediction of %ACTV at the next sample, from the sample in progress, %."),
    Column("OVHDMAX", "overhead_max_mb", "mb",
           "Most overhead the VM may use: what was reserved at power-on (memtui uses all of it, so "
           "OVHD equals it), MB.", 7),
    Column("CACHESZ", "zip_cache_size_mb", "mb",
           "Compression cache size: Mem.MemZipMaxPct of MEMSZ while compression is on (4.1+), MB.", 7),
    Column("AMIN", "reservation_mb", "mb", "Allocation minimum: the reservation (vCenter's word), MB."),
    Column("AMAX", "limit_mb", "mb",
           "Allocation maximum: the limit (vCenter's word); - is unlimited (esxtop shows -1), MB."),
    Column("ASHRS", "shares", "count", "Allocation shares: the memory shares (vCenter's word).", 8),
    # What memory costs the guest (memtui's own columns, named in esxtop's style)
    Column("%SWPWT", "swap_wait_pct", "pct",
           "Share of time the guest waits on host swap-in (esxtop's %SWPWT, on its CPU screen), "
           "average of the last 5 s, %.", 7),
    Column("%ZIPWT", "zip_wait_pct", "pct",
           "Share of time the guest waits on decompression of its compressed pages, %.", 7),
    Column("%LAT", "mem_latency_pct", "pct",
           "Memory latency (vCenter's mem.latency): share of time waiting on swapped or "
           "compressed memory, %SWPWT + %ZIPWT, %."),
    Column("%GPGWT", "guest_paging_wait_pct", "pct",
           "Share of the guest's work stalled on its own paging, when the balloon took part of "
           "its working set, %.", 7),
    Column("%BALOVH", "balloon_overhead_pct", "pct1",
           "The balloon's own cost to the guest's throughput (Waldspurger 2002, Fig. 2: 1.4 % with "
           "1/8 of memory ballooned, 4.4 % with half), %.", 7),
    Column("%THRPT", "throughput_pct", "pct",
           "Relative throughput of the guest's workload: 100 when all of its working set is "
           "resident and it holds no balloon; less the waits and the balloon's cost, %.", 7),
    Column("WSSWP", "ws_swapped_mb", "mb", "Working set swapped by the host now, MB."),
    Column("WSZIP", "ws_zipped_mb", "mb", "Working set held compressed now, MB."),
)

COLUMNS: dict[str, Column] = {c.key: c for c in COLUMN_LIST}

DEFAULT_COLUMNS: tuple[str, ...] = (
    "NAME", "STAT", "MEMSZ", "GRANT", "SZTGT", "TCHD", "%ACTV", "MCTL?", "MCTLSZ", "MCTLTGT",
    "SWCUR", "SWTGT", "SWR/s", "SWW/s", "ZIP", "SHRD", "ZERO", "SHRDSVD", "OVHD",
)


def status_of(vm: VMMetrics) -> str:
    if vm.power != "on":
        return "off"
    if vm.blocked:
        return "blkd"
    if vm.booting:
        return "boot"
    return "on"


def raw_value(col: Column, vm: VMMetrics):
    """The value the table sorts by."""
    if col.kind == "status":
        return ("on", "boot", "blkd", "off").index(status_of(vm))
    value = getattr(vm, col.field)
    if col.kind == "text":
        return str(value).casefold()
    if value is None:
        return float("inf")  # unlimited sorts above any limit
    return value


def cell_text(col: Column, vm: VMMetrics) -> str:
    """The cell as shown: whole MB (the detail pane gives two decimals), whole %, MB/s with two
    decimals, as esxtop does."""
    kind = col.kind
    if kind == "text":
        return vm.name
    if kind == "status":
        return status_of(vm)
    value = getattr(vm, col.field)
    if kind == "flag":
        return "Y" if value else "N"
    if value is None:
        return "-"
    if kind == "mb":
        return f"{value:.0f}"
    if kind == "pct":
        return f"{value:.0f}"
    if kind == "pct1":
        return f"{value:.1f}"
    if kind == "rate":
        return f"{value:.2f}"
    return str(value)


# esxtop memory-screen fields memtui does not show, and why (for the help screen).
NOT_MODELLED: tuple[tuple[str, str], ...] = (
    ("NHN NMIG NRMEM NLMEM N%L", "NUMA home node, migrations, remote and local memory: memtui's "
                                 "host has no NUMA nodes."),
    ("GST_ND* OVD_ND*", "Guest and overhead memory per NUMA node: no NUMA nodes."),
    ("LLSWR/s LLSWW/s", "Swap to host cache (an SSD, 5.0+): memtui's host has no host cache."),
    ("OVHDUW", "Overhead reserved for the VMX user world: the published tables give one overhead "
               "figure, which memtui keeps whole (OVHD, OVHDMAX)."),
    ("COWH", "Copy-on-write hint pages: memtui does not keep page hints."),
    ("CPTRD CPTTGT", "Checkpoint (suspend, snapshot) reads and target: memtui does not checkpoint VMs."),
)

# vCenter's words beside esxtop's, where learners read them (VM pane, help).
VCENTER_WORDS: tuple[tuple[str, str, str], ...] = (
    ("entitlement", "SZTGT", "the memory the host means the VM to have now: its target, set by "
                             "shares, reservation, limit and the idle tax"),
    ("consumed", "CNSM", "machine memory the VM uses: granted less its part of the sharing saving"),
    ("active", "%ACTV x MEMSZ", "the host's sampled estimate of what the guest uses"),
    ("granted", "GRANT", "guest memory backed by machine memory, shared or not"),
    ("balloon", "MCTLSZ", "memory the balloon driver holds"),
    ("swapped", "SWCUR", "guest memory in the VM's swap file"),
    ("compressed", "ZIP", "guest memory in the compression cache"),
    ("overhead", "OVHD", "memory the VMM needs for the VM"),
    ("reservation / limit / shares", "AMIN / AMAX / ASHRS", "the VM's allocation settings"),
    ("latency (mem.latency)", "%LAT", "share of time waiting on swapped or compressed memory"),
)


# --------------------------------------------------------------------------------------------
# The host header lines and the states, for the help screen

HEADER_MEANINGS: tuple[tuple[str, str], ...] = (
    ("PMEM", "Physical memory: total, system (VMkernel and service console, never for VMs), "
             "other (held by VMs: consumed + overhead + compression cache) and free, MB."),
    ("VMKMEM", "Memory the VMkernel manages (total minus system), minfree (the threshold of the "
               "high state, or of clear in 6.x), reserved (reservations and overheads of running "
               "VMs), unreserved (what admission control can still give), and the state."),
    ("PSHARE", "Page sharing: guest memory backed by shared pages, the machine memory holding "
               "the single common copies, and the saving (shared - common), MB."),
    ("SWAP", "Hypervisor swap: swapped now, the reclamation target, and the read (swap-in) and "
             "write (swap-out) rates, MB and MB/s."),
    ("ZIP", "Memory compression (4.1+): guest memory held compressed and the memory that saves, MB."),
    ("MEMCTL", "Ballooning: memory the balloon drivers hold now, their target, and the most they "
               "may take, MB."),
)

STATE_MEANINGS: tuple[tuple[str, str], ...] = (
    ("high", "Plenty of free memory: nothing is reclaimed; page sharing runs in the background."),
    ("clear", "(6.x) Free memory below 400 % of minFree: large pages are broken up and shared actively."),
    ("soft", "Free memory below the high (or clear) threshold: the host balloons VMs toward their "
             "targets and swaps only where ballooning can't."),
    ("hard", "Free memory low: the host compresses (4.1+) and swaps to force memory back; "
             "ballooning continues (stops in 6.x)."),
    ("low", "Free memory critical: swapping and compression continue, and every VM above its "
            "target is blocked from allocating more."),
)
