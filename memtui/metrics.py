"""What the simulated host shows: snapshots of host and VM metrics, and logged events.

Field names are the batch output's (docs/profile-format.md, "Batch output"); each maps to an
esxtop column named in the comments.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class HostMetrics:
    state: str  # memory state: high | clear | soft | hard | low
    memory_mb: float  # PMEM total
    system_mb: float  # PMEM system (VMkernel, service console)
    managed_mb: float  # VMKMEM managed
    free_mb: float  # PMEM free
    min_free_mb: float  # VMKMEM minfree
    reserved_mb: float  # VMKMEM reserved (reservations + overheads of powered-on VMs)
    unreserved_mb: float  # VMKMEM unreserved
    consumed_mb: float  # sum of VMs' consumed (shared common pages counted once)
    overhead_mb: float
    shared_mb: float  # PSHARE shared
    shared_common_mb: float  # PSHARE common
    shared_saved_mb: float  # PSHARE saving
    balloon_mb: float  # MEMCTL current
    balloon_target_mb: float  # MEMCTL target
    swapped_mb: float  # SWAP current
    swap_target_mb: float  # SWAP target
    zipped_mb: float  # ZIP zipped
    swap_in_mb_s: float  # SWAP r/s
    swap_out_mb_s: float  # SWAP w/s
    # additions to the contract
    balloon_max_mb: float = 0.0  # MEMCTL max
    zip_saved_mb: float = 0.0  # ZIP saved
    zip_cache_mb: float = 0.0  # compression cache in use
    other_mb: float = 0.0  # PMEM other: memory held by VMs (consumed + overhead + zip cache)
    overcommit: float = 0.0  # configured memory of powered-on VMs / managed memory
    # esxtop "MEM overcommit avg" (memtui.esxtop.memscreen): the overcommit level now and its averages
    overcommit_level: float = 0.0  # (configured or limit + overhead) / managed - 1, at least 0
    overcommit_avg_1m: float = 0.0
    overcommit_avg_5m: float = 0.0
    overcommit_avg_15m: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class VMMetrics:
    name: str
    power: str  # on | off
    memory_mb: float  # MEMSZ
    vcpus: int
    reservation_mb: float
    limit_mb: float | None  # None when unlimited
    shares: int
    overhead_mb: float  # OVHD
    granted_mb: float  # GRANT
    consumed_mb: float  # granted minus this VM's part of the sharing saving
    target_mb: float  # SZTGT (guest part; overhead not included)
    touched_mb: float  # TCHD: guest memory holding data (resident, swapped, compressed)
    active_mb: float  # the host's active estimate (%ACTV x MEMSZ)
    active_true_mb: float  # the workload's real working set
    balloon_mb: float  # MCTLSZ
    balloon_target_mb: float  # MCTLTGT
    balloon_max_mb: float  # MCTLMAX
    swapped_mb: float  # SWCUR
    swap_target_mb: float  # SWTGT
    zipped_mb: float  # ZIP/MB
    shared_mb: float  # SHRD
    zero_mb: float  # ZERO
    shared_saved_mb: float  # SHRDSVD
    swap_in_mb_s: float  # SWR/s
    swap_out_mb_s: float  # SWW/s
    blocked: bool
    # additions to the contract
    tools: bool = True  # MCTL? (driver installed; see balloon_active for "running now")
    balloon_active: bool = False  # driver running (installed and the guest has booted)
    private_mb: float = 0.0
    untouched_mb: float = 0.0
    active_pct: float = 0.0  # %ACTV
    active_slow_pct: float = 0.0  # %ACTVS
    active_fast_pct: float = 0.0  # %ACTVF
    zip_cache_mb: float = 0.0  # CACHEUSD
    zip_rate_mb_s: float = 0.0  # ZIP/s
    unzip_rate_mb_s: float = 0.0  # UNZIP/s
    guest_paging_mb: float = 0.0  # working set the guest had to page out because of the balloon
    booting: bool = False
    # what memory costs the guest (memtui.cost)
    swap_wait_pct: float = 0.0  # %SWPWT: share of time waiting on host swap-in
    zip_wait_pct: float = 0.0  # share of time waiting on decompression
    mem_latency_pct: float = 0.0  # vCenter mem.latency: swap-in and decompression waits
    guest_paging_wait_pct: float = 0.0  # share of work stalled on the guest's own paging
    balloon_overhead_pct: float = 0.0  # the balloon's own cost (Waldspurger 2002, Fig. 2)
    throughput_pct: float = 0.0  # relative throughput: 100 = all of the working set resident
    ws_swapped_mb: float = 0.0  # working set swapped by the host
    ws_zipped_mb: float = 0.0  # working set compressed
    # esxtop memory-screen fields (memtui.esxtop.memscreen)
    touched_write_mb: float = 0.0  # TCHD_W: write working set estimate
    active_next_pct: float = 0.0  # %ACTVN: predicted %ACTV at the next sample
    overhead_max_mb: float = 0.0  # OVHDMAX: overhead reserved
    zip_cache_size_mb: float = 0.0  # CACHESZ: compression cache size
    zip_target_mb: float = 0.0  # compression goal: MCTLTGT + this + SWTGT = the reclamation goal

    def as_dict(self) -> dict:
        return asdict(self)


CONTRACT_HOST_FIELDS = [f.name for f in fields(HostMetrics)][:20]
CONTRACT_VM_FIELDS = [f.name for f in fields(VMMetrics)][:26]
# Fields added to the batch output after the first contract, in the order they are written (the
# contract only grows: these come after every field of the first one).
BATCH_HOST_ADDED = ["overcommit_level", "overcommit_avg_1m", "overcommit_avg_5m", "overcommit_avg_15m"]
BATCH_VM_ADDED = [
    "swap_wait_pct", "zip_wait_pct", "mem_latency_pct", "guest_paging_wait_pct",
    "balloon_overhead_pct", "throughput_pct", "ws_swapped_mb", "ws_zipped_mb", "guest_paging_mb",
    "touched_write_mb", "active_pct", "active_next_pct", "overhead_max_mb", "zip_cache_size_mb",
    "zip_cache_mb", "zip_rate_mb_s", "unzip_rate_mb_s", "zip_target_mb",
]
BATCH_HOST_FIELDS = CONTRACT_HOST_FIELDS + BATCH_HOST_ADDED
BATCH_VM_FIELDS = CONTRACT_VM_FIELDS + BATCH_VM_ADDED


HOST_FIELDS = [f.name for f in fields(HostMetrics)]
VM_FIELDS = [f.name for f in fields(VMMetrics)]


@dataclass(frozen=True)
class SampleColumns:
    """One moment of a host as columns: what a `Snapshot` holds, computed once for every VM.

    `host` maps each HostMetrics field, in field order, to its value; `vms` maps each VMMetrics
    field, in field order, to one value per VM: a list (names, settings) or a numpy array (the
    figures, rounded as the snapshot rounds them). The batch writers build their lines straight
    from these; `snapshot()` builds the objects from them, so both show the same numbers.
    """

    t: float
    host: dict
    vms: dict
    n_vms: int

    def vm_lists(self) -> dict[str, list]:
        """Every VM column as a list of Python values."""
        return {k: v if isinstance(v, list) else v.tolist() for k, v in self.vms.items()}

    def snapshot(self) -> Snapshot:
        lists = self.vm_lists()
        vms = tuple(VMMetrics(*row) for row in zip(*(lists[k] for k in VM_FIELDS), strict=True))
        return Snapshot(self.t, HostMetrics(**self.host), vms)


@dataclass(frozen=True)
class Snapshot:
    t: float
    host: HostMetrics
    vms: tuple[VMMetrics, ...]

    def vm(self, name: str) -> VMMetrics:
        for v in self.vms:
            if v.name == name:
                return v
        raise KeyError(name)


@dataclass(frozen=True)
class LogEvent:
    t: float
    kind: str  # state | power | admission | setting | workload
    message: str
    vm: str | None = None

    def as_dict(self) -> dict:
        return {"type": "event", "t": self.t, "kind": self.kind, "message": self.message, "vm": self.vm}
