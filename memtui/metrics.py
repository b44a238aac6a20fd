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
    zip_target_mb: float = 0.0  # compression goal: MCTLTGT + this + SWTGT = the reclamation goal

    def as_dict(self) -> dict:
        return asdict(self)


CONTRACT_HOST_FIELDS = [f.name for f in fields(HostMetrics)][:20]
CONTRACT_VM_FIELDS = [f.name for f in fields(VMMetrics)][:26]


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
