"""The memory manager of a simulated ESX host (memory-model.md).

`Host` holds the host's settings and the state of every VM as numpy arrays, one element per VM,
and advances in steps of `spec.STEP_S` simulated seconds. Every guest-physical page of a
powered-on VM is in one of the states of the spec's section 1:

    memsize = untouched + private + shared + balloon + swapped + zipped

Resident (granted) memory is kept per content kind (zero pages, content-family pages, intra-VM
duplicates, unique pages) and, within each kind, as unscanned, hashed-in-a-large-page or
shareable (scanned and in small pages). Sharing figures are derived from that state at every
step, so the host's conservation equation holds by construction:

    managed = free + sum(consumed + overhead + compression cache)

The module imports no UI toolkit.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import numpy as np

from memtui import cost, spec, tables
from memtui.config import Event, HostConfig, Profile, VMConfig, Workload, format_clock
from memtui.esxtop import memscreen
from memtui.metrics import HostMetrics, LogEvent, Snapshot, VMMetrics

Z, F, D, U = 0, 1, 2, 3  # content kinds: zero, family, duplicate, unique

# What acts on a VM now (bits of Host.action)
ACT_BALLOON = 1
ACT_DEFLATE = 2
ACT_ZIP = 4
ACT_SWAP = 8
ACT_BLOCKED = 16
ACT_SHARE_BEFORE_SWAP = 32
ACT_LIMIT = 64
ACT_SWAP_IN = 128

# Why a target is what it is (Host.bound)
BOUND_DEMAND = 0  # not overcommitted, or the VM's demand is below its fair share
BOUND_RESERVATION = 1
BOUND_SHARES = 2  # between its bounds: set by shares, activity and the idle tax
BOUND_LIMIT = 3

VM_SETTING_KEYS = (
    "memory_mb", "vcpus", "reservation_mb", "limit_mb", "shares", "tools", "max_balloon_mb",
    "page_sharing", "power", "content_family",
)
WORKLOAD_KEYS = ("touched_pct", "active_mb", "zero_pct", "family_pct", "dup_pct", "boot_s", "schedule",
                 "compressible_pct", "boot_zero_pct")


def _div(a, b, empty: float = 0.0) -> np.ndarray:
    """a / b elementwise, `empty` where b is 0."""
    out = np.empty(b.shape if type(b) is np.ndarray else np.shape(b))
    out.fill(empty)
    return np.divide(a, b, out=out, where=b > 0)


# The clip ufunc itself (what np.clip calls), without np.clip's per-call Python overhead.
try:
    from numpy._core.umath import clip as _clip
except ImportError:  # numpy 1.x
    from numpy.core.umath import clip as _clip


class AdmissionError(Exception):
    """A power-on or reservation change refused by admission control."""

    def __init__(self, vm: str, message: str, shortfall_mb: float):
        super().__init__(message)
        self.vm = vm
        self.shortfall_mb = shortfall_mb


class SettingError(ValueError):
    """A setting change that breaks a rule of the model."""


@dataclass(frozen=True)
class Decision:
    """The inputs and outcome of a VM's last target decision, for explanations."""

    vm: str
    t: float  # when the targets were last computed
    state: str
    overcommitted: bool
    shares: float
    active_mb: float  # the host's estimate used
    tau: float  # the idle tax rate applied to this VM
    k: float  # the cost of an idle page relative to an active one, 1 / (1 - tau)
    rho: float  # adjusted shares per MB at the target (inf when the target is 0)
    lower_mb: float  # min(reservation, demand)
    upper_mb: float  # demand: touched memory up to min(memsize, limit), in consumed terms
    target_mb: float
    bound: int  # BOUND_*
    available_mb: float  # memory the targets share out
    free_target_mb: float  # free memory the targets aim to keep
    action: int  # ACT_* bits acting on the VM now
    reservation_mb: float
    limit_mb: float | None
    consumed_mb: float


_FLOAT_FIELDS = (
    "memsize", "reservation", "limit", "shares", "overhead", "balloon_cap", "untouched", "large",
    "balloon", "swapped", "swapped_act", "zipped", "zipped_act", "act_slow", "act_fast", "act_cur",
    "sample_acc", "sample_elapsed", "active_true", "power_on_t", "boot_s", "touch_goal",
    "target", "balloon_tgt", "swap_tgt", "swap_in_rate", "swap_out_rate", "zip_rate", "unzip_rate",
    "next_schedule_t", "d_rho", "d_tau", "d_k", "d_lo", "d_hi", "d_active", "reserved_touched",
    "reclaim_hold", "zip_tgt", "compressible", "unmet", "boot_zero",
)
_INT_FIELDS = ("family", "bound", "action")
_BOOL_FIELDS = ("on", "tools", "pshare", "blocked", "touched_once")


class Host:
    """A simulated ESX host. Build one with `Host.from_profile(profile)`."""

    # ---------------------------------------------------------------- construction

    def __init__(self, host: HostConfig, advanced: dict[str, int] | None = None,
                 vms: list[VMConfig] | None = None, events: list[Event] | None = None):
        self.config = replace(host)
        self.advanced: dict[str, int] = {n: s.default for n, s in spec.ADVANCED_SETTINGS.items()}
        self.advanced.update(advanced or {})
        self.vms: list[VMConfig] = []
        self.t = 0.0
        self.rng = np.random.default_rng(self.config.seed)
        self.timeline: list[Event] = sorted(events or [], key=lambda e: e.at_s)
        self._next_event = 0
        self.log: list[LogEvent] = []
        self.state = spec.STATE_HIGH
        self._rise_since: float | None = None  # since when free memory allows a higher state
        self._last_free = 0.0
        self._growth_beyond_mb = 0.0  # memory VMs above their targets took in the last step
        self.free_mb = 0.0
        self._families: list[str] = []
        self._rebalance = True
        self._last_balance_t = -1e18
        self.d_t = 0.0
        self.d_state = spec.STATE_HIGH
        self.d_overcommitted = False
        self.d_available = 0.0
        self.d_free_target = 0.0
        self.d_lambda = 0.0
        self.revision = 0  # bumps on every change of settings, for observers
        self.overcommit_avg = (0.0, 0.0, 0.0)  # esxtop's MEM overcommit avg (memtui.esxtop.memscreen)
        self._inflated = np.zeros(0)  # balloon growth in the current step, per VM
        self._wanted_now = np.zeros(0)  # what each VM wants, this step
        self._thresholds_key = None
        self._groups_key = None
        self._floors_of = None
        self._groups = None
        self._thresholds: tables.Thresholds | None = None
        self._zero_all()
        for vm in vms or []:
            self._append_vm(copy.deepcopy(vm))
        self._derive()
        for vm in self.vms:
            if vm.power == "on":
                vm.power = "off"
                try:
                    self.power_on(vm.name)
                except AdmissionError:
                    pass
        self._derive()
        self._update_state()
        self._apply_due_events()

    @classmethod
    def from_profile(cls, profile: Profile) -> Host:
        return cls(profile.host, profile.advanced, profile.vms, profile.events)

    def to_profile(self, base: Profile | None = None) -> Profile:
        """The host's current settings as a profile (keeping `base`'s document for saving)."""
        defaults = {n: s.default for n, s in spec.ADVANCED_SETTINGS.items()}
        named = set(base.advanced) if base else set()
        advanced = {n: v for n, v in self.advanced.items() if n in named or v != defaults[n]}
        return Profile(
            host=replace(self.config),
            vms=copy.deepcopy(self.vms),
            advanced=advanced,
            events=copy.deepcopy(self.timeline),
            path=base.path if base else None,
            document=base.document if base else None,
        )

    def fork(self) -> Host:
        """An independent copy that can run ahead without touching this one."""
        other = copy.copy(self)
        for name in _FLOAT_FIELDS + _INT_FIELDS + _BOOL_FIELDS + ("res", "mix", "boot_mix", "shr", "hsh"):
            setattr(other, name, getattr(self, name).copy())
        other.config = replace(self.config)
        other.advanced = dict(self.advanced)
        other.vms = copy.deepcopy(self.vms)
        other.timeline = list(self.timeline)
        other.log = list(self.log)
        other._families = list(self._families)
        other.rng = copy.deepcopy(self.rng)
        return other

    # ---------------------------------------------------------------- arrays

    def _zero_all(self) -> None:
        for name in _FLOAT_FIELDS:
            setattr(self, name, np.zeros(0))
        for name in _INT_FIELDS:
            setattr(self, name, np.zeros(0, dtype=np.int64))
        for name in _BOOL_FIELDS:
            setattr(self, name, np.zeros(0, dtype=bool))
        self.res = np.zeros((0, 4))
        self.mix = np.zeros((0, 4))
        self.boot_mix = np.zeros((0, 4))
        self.shr = np.zeros((0, 3))
        self.hsh = np.zeros((0, 3))

    def _append_vm(self, vm: VMConfig) -> int:
        for name in _FLOAT_FIELDS + _INT_FIELDS + _BOOL_FIELDS:
            arr = getattr(self, name)
            setattr(self, name, np.append(arr, np.zeros(1, dtype=arr.dtype)))
        self.res = np.vstack([self.res, np.zeros((1, 4))])
        self.mix = np.vstack([self.mix, np.zeros((1, 4))])
        self.boot_mix = np.vstack([self.boot_mix, np.zeros((1, 4))])
        self.shr = np.vstack([self.shr, np.zeros((1, 3))])
        self.hsh = np.vstack([self.hsh, np.zeros((1, 3))])
        vm.power = vm.power if vm.power in ("on", "off") else "off"
        self.vms.append(vm)
        i = len(self.vms) - 1
        self._load_settings(i)
        self.untouched[i] = self.memsize[i]
        self.next_schedule_t[i] = np.inf
        return i

    def _delete_index(self, i: int) -> None:
        for name in _FLOAT_FIELDS + _INT_FIELDS + _BOOL_FIELDS + ("res", "mix", "boot_mix", "shr", "hsh"):
            setattr(self, name, np.delete(getattr(self, name), i, axis=0))
        del self.vms[i]

    def _family_id(self, family: str | None) -> int:
        if not family:
            return -1
        if family not in self._families:
            self._families.append(family)
        return self._families.index(family)

    def _load_settings(self, i: int) -> None:
        """Copy VM i's settings into the arrays."""
        vm = self.vms[i]
        self.memsize[i] = vm.memory_mb
        self.reservation[i] = vm.reservation_mb
        self.limit[i] = vm.limit_effective_mb
        self.shares[i] = vm.shares_value
        self.tools[i] = vm.tools
        self.pshare[i] = vm.page_sharing
        self.family[i] = self._family_id(vm.content_family)
        ov = tables.overhead_mb(self.config.esx_version, vm.memory_mb, vm.vcpus)
        self.overhead[i] = ov.mb
        self._load_balloon_cap(i)
        wl = vm.workload
        self.boot_s[i] = wl.boot_s
        self.touch_goal[i] = vm.memory_mb * wl.touched_pct / 100.0
        z, f, d = wl.zero_pct / 100, wl.family_pct / 100, wl.dup_pct / 100
        self.mix[i] = (z, f, d, max(0.0, 1 - z - f - d))
        zb = max(z, (wl.boot_zero_pct if wl.boot_zero_pct is not None else 0.0) / 100.0)
        scale = (1 - zb) / (1 - z) if z < 1 else 0.0
        self.boot_mix[i] = (zb, f * scale, d * scale, max(0.0, 1 - z - f - d) * scale)
        self.compressible[i] = wl.compressible_pct / 100.0

    def _load_balloon_cap(self, i: int) -> None:
        vm = self.vms[i]
        cap = vm.memory_mb * self.advanced["Mem.CtlMaxPercent"] / 100.0
        if vm.max_balloon_mb is not None:
            cap = min(cap, vm.max_balloon_mb)
        self.balloon_cap[i] = cap

    def index(self, name: str) -> int:
        for i, vm in enumerate(self.vms):
            if vm.name == name:
                return i
        raise KeyError(f"no VM named {name!r}")

    # ---------------------------------------------------------------- thresholds

    @property
    def managed_mb(self) -> float:
        return float(self.config.memory_mb - self.config.system_mb)

    @property
    def thresholds(self) -> tables.Thresholds:
        key = (self.config.esx_version, self.config.memory_mb, self.advanced["Mem.MinFreePct"])
        if self._thresholds_key != key:
            self._thresholds_key = key
            self._thresholds = tables.thresholds(*key)
        return self._thresholds

    @property
    def free_target_mb(self) -> float:
        """Free memory the targets aim for: the high threshold (4.x, 5.x) or minFree, the clear
        threshold (6.x, where the high state only governs large pages), plus a margin."""
        return self.thresholds.min_free_mb * (1.0 + spec.FREE_TARGET_MARGIN)

    @property
    def salted(self) -> bool:
        return self.config.esx_version == "6.x" and self.advanced["Mem.ShareForceSalting"] > 0

    @property
    def compression(self) -> bool:
        return spec.version_at_least(self.config.esx_version, "4.1") and self.advanced["Mem.MemZipEnable"] == 1

    @property
    def large_pages(self) -> bool:
        return self.config.mmu == "hardware" and self.advanced["Mem.AllocGuestLargePage"] == 1

    def _tight(self) -> bool:
        """Memory is tight enough to break large pages (soft or lower; below high in 6.x)."""
        if self.config.esx_version == "6.x":
            return self.state != spec.STATE_HIGH
        return self.state in (spec.STATE_SOFT, spec.STATE_HARD, spec.STATE_LOW)

    # ---------------------------------------------------------------- derived figures

    def _derive(self) -> None:
        """Recompute sharing, consumption and free memory from the state."""
        on = self.on
        R = self.res.sum(axis=1)
        self.granted = R
        shared_z = self.shr[:, Z] * on
        shared_d = self.shr[:, D] * on
        n = len(self.vms)
        shared_f = np.zeros(n)
        common_f_share = np.zeros(n)
        groups = self._family_groups()
        if groups is not None:
            # Family pages of a VM are shared as far as another VM of its family holds them:
            # shared_i = min(v_i, the largest v_j of the others), and the family's common copies
            # are the second-largest v (what the two largest hold in common).
            members, famv, order_key, ends, counts, last, second, has_second = groups
            vals = self.shr[members, F]
            sorted_vals = vals[np.lexsort((vals, order_key))]
            top1 = sorted_vals[last]
            top2 = np.where(has_second, sorted_vals[second], 0.0)
            other = np.where(vals < top1[famv], top1[famv], top2[famv])
            sf = np.minimum(vals, other)
            total = np.bincount(famv, weights=sf, minlength=len(counts))
            shared_f[members] = sf
            common_f_share[members] = top2[famv] * _div(sf, total[famv])
        zero_total = shared_z.sum()
        if self.salted:
            common_z_share = np.where(shared_z > 0, spec.PAGE_MB, 0.0)
        elif zero_total > 0:
            common_z_share = spec.PAGE_MB * shared_z / zero_total
        else:
            common_z_share = np.zeros_like(shared_z)
        common_z_share = np.minimum(common_z_share, shared_z)
        common_d_share = shared_d / spec.DUP_COPIES
        self.shared_zero = shared_z
        self.shared_fam = shared_f
        self.shared = shared_z + shared_f + shared_d
        self.common_share = common_z_share + common_f_share + common_d_share
        self.private = R - self.shared
        self.consumed = self.private + self.common_share
        self.zip_cache = self.zipped * spec.ZIP_RATIO
        used = ((self.consumed + self.overhead + self.zip_cache) * on).sum()
        self.free_mb = self.managed_mb - float(used)

    def _family_groups(self):
        """VMs that share family pages, grouped by family (cached until settings change)."""
        key = (self.revision, len(self.vms))
        if self._groups_key == key:
            return self._groups
        elig = self.on & self.pshare & (self.family >= 0) & (not self.salted)
        members = np.nonzero(elig)[0]
        if len(members) == 0:
            self._groups = None
        else:
            fams, famv = np.unique(self.family[members], return_inverse=True)
            counts = np.bincount(famv)
            ends = np.cumsum(counts)
            # With the index of each family's largest and second-largest value once sorted.
            self._groups = (members, famv, famv, ends, counts, ends - 1, np.maximum(ends - 2, 0), counts >= 2)
        self._groups_key = key
        return self._groups

    # ---------------------------------------------------------------- state

    def _update_state(self) -> bool:
        th = self.thresholds
        if self._floors_of is not th:  # the thresholds are cached and immutable
            self._floors_of = th
            self._floors = th.floors()
            self._floor_names = [s for s, _ in self._floors]
        floors = self._floors
        names = self._floor_names
        cur = names.index(self.state) if self.state in names else 0
        free = self.free_mb
        raw = next(i for i, (_, floor) in enumerate(floors) if free >= floor)
        new = cur
        if raw > cur:
            new = raw
            self._rise_since = None
        else:
            # Rise only once free memory has stayed clearly above the higher threshold (by the
            # margin) for the dwell time without falling: a host still losing memory stays down.
            min_free = self.thresholds.min_free_mb
            margin = spec.STATE_RISE_MARGIN * min_free
            up = cur
            while up > 0 and free >= floors[up - 1][1] + margin:
                up -= 1
            # Nor while VMs above their targets still take memory (a boot, a growing working
            # set): the disturbance that pushed the state down is not over.
            tol = spec.STATE_RISE_STEADY * min_free
            falling = up < cur and ((free < self._last_free - tol
                                     and free < min_free * (1.0 + spec.FREE_TARGET_MARGIN))
                                    or self._growth_beyond_mb > tol)
            if up == cur:
                self._rise_since = None
            elif self._rise_since is None or falling:
                self._rise_since = self.t
            if up < cur and self.t - self._rise_since >= spec.STATE_RISE_DWELL_S - 1e-9:
                new = up
                self._rise_since = None
        self._last_free = free
        if new != cur or self.state not in names:
            old = self.state
            self.state = names[new]
            if old != self.state:
                self._emit("state", f"{old} -> {self.state}")
                self._rebalance = True
            return True
        return False

    def _emit(self, kind: str, message: str, vm: str | None = None) -> None:
        self.log.append(LogEvent(self.t, kind, message, vm))

    # ---------------------------------------------------------------- admission control

    @property
    def reserved_mb(self) -> float:
        return float(((self.reservation + self.overhead) * self.on).sum())

    @property
    def unreserved_mb(self) -> float:
        return self.managed_mb - self.reserved_mb

    @property
    def swap_files_mb(self) -> float:
        return float(((self.memsize - self.reservation) * self.on).sum())

    def admission_shortfall(self, vm: VMConfig, extra_reservation_mb: float | None = None) -> tuple[float, str]:
        """(shortfall MB, message) for powering `vm` on now; (0, "") when it would be admitted."""
        ov = tables.overhead_mb(self.config.esx_version, vm.memory_mb, vm.vcpus).mb
        need = vm.reservation_mb + ov
        unres = self.unreserved_mb
        if need > unres + 1e-9:
            short = need - unres
            return short, (
                f"cannot power on {vm.name}: needs {need:.2f} MB (reservation {vm.reservation_mb} + "
                f"overhead {ov:.2f}) but only {unres:.2f} MB is unreserved; short by {short:.2f} MB"
            )
        swap = vm.memory_mb - vm.reservation_mb
        room = self.config.datastore_free_mb - self.swap_files_mb
        if swap > room + 1e-9:
            short = swap - room
            return short, (
                f"cannot power on {vm.name}: its swap file needs {swap} MB but the datastore has "
                f"{room:.0f} MB free; short by {short:.0f} MB"
            )
        return 0.0, ""

    # ---------------------------------------------------------------- operations

    def power_on(self, name: str) -> None:
        i = self.index(name)
        vm = self.vms[i]
        if self.on[i]:
            return
        short, msg = self.admission_shortfall(vm)
        if short > 0:
            self._emit("admission", msg, vm.name)
            raise AdmissionError(vm.name, msg, short)
        vm.power = "on"
        self._load_settings(i)
        self._reset_vm(i)
        self.on[i] = True
        self.power_on_t[i] = self.t
        self._refresh_workload(i)
        self._emit("power", f"{vm.name} powered on (overhead {self.overhead[i]:.2f} MB)", vm.name)
        self._changed()

    def power_off(self, name: str) -> None:
        i = self.index(name)
        vm = self.vms[i]
        if not self.on[i]:
            return
        vm.power = "off"
        self.on[i] = False
        self._reset_vm(i)
        self._emit("power", f"{vm.name} powered off", vm.name)
        self._changed()

    def _reset_vm(self, i: int) -> None:
        for name in ("large", "balloon", "swapped", "swapped_act", "zipped", "zipped_act", "act_slow",
                     "act_fast", "act_cur", "sample_acc", "sample_elapsed", "target", "balloon_tgt",
                     "swap_tgt", "swap_in_rate", "swap_out_rate", "zip_rate", "unzip_rate",
                     "reserved_touched", "reclaim_hold", "zip_tgt", "unmet", "boot_zero"):
            getattr(self, name)[i] = 0.0
        self.res[i] = 0.0
        self.shr[i] = 0.0
        self.hsh[i] = 0.0
        self.untouched[i] = self.memsize[i]
        self.blocked[i] = False
        self.touched_once[i] = False
        self.action[i] = 0

    def _changed(self) -> None:
        self._rebalance = True
        self.revision += 1
        self._derive()

    def set_advanced(self, name: str, value: int) -> None:
        s = spec.ADVANCED_SETTINGS.get(name)
        if s is None:
            raise SettingError(f"unknown advanced setting {name!r}")
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingError(f"{name} takes a whole number from {s.minimum} to {s.maximum}")
        if not s.minimum <= value <= s.maximum:
            raise SettingError(f"{name} = {value} is out of range: {s.minimum} to {s.maximum}")
        if not spec.version_at_least(self.config.esx_version, s.since):
            raise SettingError(f"{name} exists from ESX {s.since} on; this host runs {self.config.esx_version}")
        old = self.advanced[name]
        self.advanced[name] = value
        if name == "Mem.CtlMaxPercent":
            for i in range(len(self.vms)):
                self._load_balloon_cap(i)
        self._emit("setting", f"{name}: {old} -> {value}")
        self._changed()

    def set_vm(self, name: str, **changes) -> None:
        """Change a VM's settings (keys of VM_SETTING_KEYS). Raises SettingError or
        AdmissionError; on error nothing changes."""
        i = self.index(name)
        vm = self.vms[i]
        unknown = set(changes) - set(VM_SETTING_KEYS)
        if unknown:
            raise SettingError(f"unknown VM setting(s): {', '.join(sorted(unknown))}")
        power = changes.pop("power", None)
        new = replace(vm, **changes)
        new.workload = vm.workload
        if new.memory_mb <= 0:
            raise SettingError("memory_mb must be above 0")
        mx = spec.MAXIMUMS[self.config.esx_version]
        if new.memory_mb > mx.memory_mb_per_vm:
            raise SettingError(f"memory_mb {new.memory_mb} is past ESX {self.config.esx_version}'s "
                               f"maximum of {mx.memory_mb_per_vm} MB per VM")
        if not 1 <= new.vcpus <= mx.vcpus_per_vm:
            raise SettingError(f"vcpus must be 1 to {mx.vcpus_per_vm} on ESX {self.config.esx_version}")
        if self.on[i] and (new.memory_mb != vm.memory_mb or new.vcpus != vm.vcpus):
            raise SettingError(f"{vm.name} is powered on: power it off to change its memory or vCPUs")
        if "memory_mb" in changes and new.reservation_mb > new.memory_mb:
            new.reservation_mb = new.memory_mb  # lowering memsize lowers the reservation with it
        if new.reservation_mb < 0 or new.reservation_mb > new.memory_mb:
            raise SettingError(f"reservation_mb must be 0 to memory_mb ({new.memory_mb})")
        if new.limit_mb is not None and new.limit_mb < new.reservation_mb:
            raise SettingError(f"limit_mb ({new.limit_mb}) must be at least the reservation ({new.reservation_mb})")
        if isinstance(new.shares, str) and new.shares not in spec.SHARES_PER_MB:
            raise SettingError("shares must be low, normal, high or a positive whole number")
        if not isinstance(new.shares, str) and (isinstance(new.shares, bool) or new.shares <= 0):
            raise SettingError("shares must be low, normal, high or a positive whole number")
        if new.max_balloon_mb is not None and new.max_balloon_mb < 0:
            raise SettingError("max_balloon_mb cannot be negative")
        if self.on[i] and new.reservation_mb > vm.reservation_mb:
            extra = new.reservation_mb - vm.reservation_mb
            unres = self.unreserved_mb
            if extra > unres + 1e-9:
                msg = (f"cannot raise {vm.name}'s reservation to {new.reservation_mb} MB: needs {extra} MB "
                       f"more but only {unres:.2f} MB is unreserved; short by {extra - unres:.2f} MB")
                self._emit("admission", msg, vm.name)
                raise AdmissionError(vm.name, msg, extra - unres)
        if power == "on" and not self.on[i]:
            short, msg = self.admission_shortfall(new)
            if short > 0:
                self._emit("admission", msg, vm.name)
                raise AdmissionError(vm.name, msg, short)
        diffs = [k for k in changes if getattr(vm, k) != getattr(new, k)]
        if "memory_mb" in changes and new.reservation_mb != vm.reservation_mb:
            diffs.append("reservation_mb")
        self.vms[i] = new
        self._load_settings(i)
        if not self.on[i]:
            self.untouched[i] = self.memsize[i]
        if self.on[i] and not new.tools and vm.tools:
            self.untouched[i] += self.balloon[i]  # the driver is gone: its pages go back to the guest
            self.balloon[i] = 0.0
        if self.on[i] and not new.page_sharing and vm.page_sharing:
            self.shr[i] = 0.0
            self.hsh[i] = 0.0
        for k in diffs:
            self._emit("setting", f"{vm.name}: {k} {getattr(vm, k)!s} -> {getattr(new, k)!s}", vm.name)
        if power == "on":
            self.power_on(name)
        elif power == "off":
            self.power_off(name)
        elif power is not None:
            raise SettingError("power must be on or off")
        self._changed()

    def set_workload(self, name: str, **changes) -> None:
        i = self.index(name)
        vm = self.vms[i]
        unknown = set(changes) - set(WORKLOAD_KEYS)
        if unknown:
            raise SettingError(f"unknown workload key(s): {', '.join(sorted(unknown))}")
        wl = replace(vm.workload, **changes)
        if wl.active_mb is not None and not 0 <= wl.active_mb <= vm.memory_mb:
            raise SettingError(f"active_mb must be 0 to memory_mb ({vm.memory_mb})")
        for key in ("touched_pct", "zero_pct", "family_pct", "dup_pct", "compressible_pct"):
            if not 0 <= getattr(wl, key) <= 100:
                raise SettingError(f"{key} must be 0 to 100")
        if wl.boot_zero_pct is not None and not 0 <= wl.boot_zero_pct <= 100:
            raise SettingError("boot_zero_pct must be 0 to 100")
        if wl.zero_pct + wl.family_pct + wl.dup_pct > 100:
            raise SettingError("zero_pct + family_pct + dup_pct cannot exceed 100")
        if "active_mb" in changes and "schedule" not in changes and self.on[i]:
            # A new working set replaces the schedule's steps that have already happened.
            since = self.t - self.power_on_t[i]
            wl.schedule = [(at_s, mb) for at_s, mb in wl.schedule if at_s > since]
        vm.workload = wl
        self._load_settings(i)
        if self.on[i]:
            self._refresh_workload(i)
        self._emit("workload", f"{vm.name}: " + ", ".join(f"{k} = {v}" for k, v in changes.items()), vm.name)
        self._changed()

    def add_vm(self, vm: VMConfig) -> None:
        if any(v.name == vm.name for v in self.vms):
            raise SettingError(f"a VM named {vm.name!r} exists already")
        mx = spec.MAXIMUMS[self.config.esx_version]
        if len(self.vms) >= mx.vms_per_host:
            raise SettingError(f"ESX {self.config.esx_version} allows at most {mx.vms_per_host} VMs per host")
        want_on = vm.power == "on"
        vm = copy.deepcopy(vm)
        vm.power = "off"
        self._append_vm(vm)
        self._emit("setting", f"{vm.name} added", vm.name)
        self._changed()
        if want_on:
            self.power_on(vm.name)

    def clone_vm(self, name: str, new_name: str) -> None:
        src = self.vms[self.index(name)]
        vm = copy.deepcopy(src)
        vm.name = new_name
        vm.power = "off"
        self.add_vm(vm)

    def remove_vm(self, name: str) -> None:
        i = self.index(name)
        if self.on[i]:
            self.power_off(name)
        self._delete_index(i)
        self._emit("setting", f"{name} deleted", name)
        self._changed()

    def set_host(self, **changes) -> None:
        """Change host settings that make sense on a running host."""
        allowed = {"name", "datastore_free_mb", "swap_mb_per_s", "cpu_mhz", "cpu_cores"}
        unknown = set(changes) - allowed
        if unknown:
            raise SettingError(f"cannot change {', '.join(sorted(unknown))} on a running host")
        for k, v in changes.items():
            self._emit("setting", f"host: {k} {getattr(self.config, k)} -> {v}")
        self.config = replace(self.config, **changes)
        self._changed()

    # ---------------------------------------------------------------- workload bookkeeping

    def _refresh_workload(self, i: int) -> None:
        """Recompute VM i's true working set and when it next changes."""
        vm = self.vms[i]
        since = self.t - self.power_on_t[i]
        new = vm.workload.active_at(vm.memory_mb, since)
        self._set_active_true(i, new)
        nxt = np.inf
        for at_s, _ in vm.workload.schedule:
            if at_s > since:
                nxt = self.power_on_t[i] + at_s
                break
        self.next_schedule_t[i] = nxt

    def _set_active_true(self, i: int, new: float) -> None:
        old = self.active_true[i]
        self.active_true[i] = new
        if new < old:
            scale = new / old if old > 0 else 0.0
            self.swapped_act[i] *= scale
            self.zipped_act[i] *= scale
        elif new > old:
            # The new working-set pages are drawn from the guest's data at random.
            delta = new - old
            data = self.res[i].sum() + self.swapped[i] + self.zipped[i]
            if data > 0:
                frac = min(1.0, delta / data)
                self.swapped_act[i] += (self.swapped[i] - self.swapped_act[i]) * frac
                self.zipped_act[i] += (self.zipped[i] - self.zipped_act[i]) * frac
                # Part of the shared pages that join the working set is written: copy-on-write.
                w = frac * spec.COW_WRITE_FRACTION
                moved = self.shr[i] * w
                self.shr[i] -= moved
                self.res[i, :3] -= moved
                self.res[i, U] += moved.sum()

    # ---------------------------------------------------------------- simulation

    def _apply_due_events(self) -> None:
        while self._next_event < len(self.timeline) and self.timeline[self._next_event].at_s <= self.t:
            ev = self.timeline[self._next_event]
            self._next_event += 1
            self.apply_event(ev)

    def apply_event(self, ev: Event) -> None:
        """Apply one timeline entry now; a refused change is logged, never raised."""
        try:
            if ev.vm is None:
                for k, v in ev.set.items():
                    self.set_advanced(k, v)
            else:
                if ev.set:
                    self.set_vm(ev.vm, **ev.set)
                if ev.workload:
                    self.set_workload(ev.vm, **ev.workload)
        except AdmissionError:
            pass  # logged as an admission event already
        except (SettingError, KeyError) as exc:
            self._emit("setting", f"timeline change at {format_clock(ev.at_s)} refused: {exc}", ev.vm)

    def run(self, seconds: float) -> None:
        steps = int(round(seconds / spec.STEP_S))
        for _ in range(steps):
            self.step()

    def step(self) -> None:
        """Advance the host by one step (spec.STEP_S seconds).

        The derived figures (consumption, sharing, free memory) are those of the end of the
        previous step: targets and reclamation act on them first, then the guests run (faults,
        touches), the host samples and scans, and the figures are derived again.
        """
        dt = spec.STEP_S
        on = self.on
        n = len(self.vms)
        if n == 0 or not on.any():
            self.t += dt
            self._derive()
            memscreen.advance(self, dt)
            cost.advance(self, dt)
            self._update_state()
            self._apply_due_events()
            return
        # Working-set schedules.
        due = np.nonzero(on & (self.next_schedule_t <= self.t))[0]
        for i in due:
            self._refresh_workload(int(i))
        if len(due):
            self._derive()
        since = self.t - self.power_on_t
        booting = on & (since < self.boot_s)
        lp_new = self.large_pages and not self._tight()
        can_balloon = on & self.tools & ~booting & (self.advanced["Mem.CtlMaxPercent"] > 0)
        # What a VM may hold now: its limit and, while the host reclaims, its target (a VM at
        # its target gets a page only by giving up another).
        # Touches (first touches, a growing working set, refills): up to the limit; in the low
        # state a VM above its target is blocked. Faults: up to the target while overcommitted.
        limit_room = np.maximum(0.0, self.limit - self.consumed)
        fault_cap = self._allocation_room()
        free_room = max(0.0, self.free_mb)
        runnable = on & ~self.blocked
        act = np.zeros(n, dtype=np.int64)
        self.swap_out_rate = np.zeros(n)
        self.zip_rate = np.zeros(n)
        # Datastore throughput this step: faults (swap-in) first, the rest for swap-out.
        budget = self.config.swap_mb_per_s * dt
        # Under its limit the guest's accesses to working-set pages it does not have in memory
        # are faults on swapped or compressed pages and first touches, in proportion: the room
        # under the limit is shared between them.
        out_ws = self.swapped_act + self.zipped_act
        ws_new = np.maximum(0.0, np.minimum(self.active_true, self.memsize - self.balloon)
                            - self.res.sum(axis=1) - self.swapped - self.zipped)
        fault_room = np.minimum(fault_cap, limit_room * _div(out_ws, out_ws + ws_new, 1.0))
        # Only faults that can be served need bandwidth: room under the limit and free memory.
        swin_want = np.where(runnable, np.minimum(self.swapped_act, fault_room), 0.0)
        budget_in = min(budget, float(swin_want.sum()), free_room)
        budget_out = budget - budget_in

        # 1. Targets (on the balance period and on the triggers), and reclamation toward them.
        if self._rebalance or self.t - self._last_balance_t >= self.advanced["Mem.BalancePeriod"]:
            self._compute_targets()
        budget_out = self._reclaim(dt, budget_out, can_balloon, act)

        # 2. Faults on active pages that are compressed or swapped (blocked VMs wait).
        unzip = np.where(runnable, np.minimum(self.zipped_act, spec.ZIP_RATE_MB_S * dt), 0.0)
        swin_total = swin_want.sum()
        swin = swin_want * min(1.0, budget_in / swin_total) if swin_total > 0 else np.zeros(n)
        back = unzip + swin
        if back.any():
            # Each page faulted in needs a free machine page (and room under the limit).
            room = np.minimum(fault_room + (unzip * (1 - spec.ZIP_RATIO)), back)
            total_back = room.sum()
            if total_back > free_room and total_back > 0:
                room *= free_room / total_back
            scale = _div(room, back)
            unzip *= scale
            swin *= scale
            self.zipped -= unzip
            self.zipped_act -= unzip
            self.swapped -= swin
            self.swapped_act -= swin
            self._add_resident(unzip + swin, lp_new)
            free_room -= float((unzip * (1 - spec.ZIP_RATIO) + swin).sum())
            limit_room -= unzip * (1 - spec.ZIP_RATIO) + swin
            fault_cap -= unzip * (1 - spec.ZIP_RATIO) + swin
            act |= np.where(swin > 0, ACT_SWAP_IN, 0)
        self.swap_in_rate = swin / dt
        self.unzip_rate = unzip / dt
        budget_out += budget_in - float(swin.sum())
        # A VM at its limit faults its working set in only by swapping out another of its pages
        # (random victims): a limit below the working set thrashes.
        at_limit = runnable & (np.minimum(limit_room, fault_cap) <= 1e-9) & (self.swapped_act > 1e-9)
        if at_limit.any():
            # Where the balloon may still grow, the guest gives it a page for each one faulted
            # in (it pages its own working set out), so ballooning takes over from swapping.
            room_b = np.maximum(0.0, np.minimum(self.balloon_tgt - self.balloon,
                                                spec.BALLOON_INFLATE_MB_S * dt - self._inflated))
            room_b = np.where(at_limit & can_balloon, np.minimum(room_b, self.swapped_act), 0.0)
            if room_b.any() and budget_out > 0:
                room_b *= min(1.0, budget_out / float(room_b.sum()))
                got = self._take_private(np.minimum(room_b, np.maximum(0.0, self.private)))
                self.balloon += got
                self.swapped -= got
                self.swapped_act -= got
                self._add_resident(got, lp_new)
                self.swap_in_rate += got / dt
                budget_out -= float(got.sum())
                act |= np.where(got > 0, ACT_SWAP_IN | ACT_BALLOON, 0)
        if at_limit.any() and budget_out > 0:
            pair = np.where(at_limit, np.minimum(self.swapped_act, np.maximum(0.0, self.private)), 0.0)
            total = float(pair.sum())
            if total > 0:
                pair *= min(1.0, budget_out / (2 * total))
                out = self._swap_out(pair)
                self.swapped -= out
                self.swapped_act -= out
                np.maximum(self.swapped_act, 0.0, out=self.swapped_act)
                self._add_resident(out, lp_new)
                self.swap_in_rate += out / dt
                budget_out -= 2 * float(out.sum())
                act |= np.where(out > 0, ACT_SWAP_IN | ACT_SWAP, 0)

        # 3. The guest touches memory: during boot up to its touched share, afterwards it refills
        # memory the balloon gave back, and it always touches its working set.
        # A guest that has not yet touched its share once (its boot was slowed by the host)
        # goes on at the boot rate.
        # Ballooned pages count as touched: the guest refills pages the balloon gave back, not
        # pages it gave to the balloon; but its working set must be in memory it has.
        boot_frac = np.where(self.touched_once, 1.0, np.minimum(_div(since, self.boot_s, 1.0), 1.0))
        data = self.res.sum(axis=1) + self.swapped + self.zipped
        fill = np.minimum(self.touch_goal * boot_frac, self.memsize) - data - self.balloon
        ws_missing = np.minimum(self.active_true, self.memsize - self.balloon) - data
        want = np.maximum(0.0, np.maximum(fill, ws_missing))
        self.unmet = np.zeros(n)
        self._growth_beyond_mb = 0.0
        if want.any():
            boot_rate = np.where(self.boot_s > 0, _div(self.touch_goal, self.boot_s), self.touch_goal)
            # After boot the guest refills memory given back to it (page cache) only while the
            # host has room for it: not overcommitted, or the VM below its target.
            if self.d_overcommitted:
                refill = np.minimum(spec.GUEST_RETOUCH_MB_S, np.maximum(0.0, self.target - self.consumed))
            else:
                refill = np.full(n, spec.GUEST_RETOUCH_MB_S)
            first = booting | ~self.touched_once
            rate = np.where(first, np.maximum(boot_rate, spec.GUEST_RETOUCH_MB_S), refill) * dt
            # A growing working set is touched as fast as the guest allocates.
            need_ws = np.minimum(np.maximum(0.0, ws_missing), spec.GUEST_TOUCH_MB_S * dt)
            want = np.minimum(want, np.maximum(rate, need_ws))
            want = np.where(runnable, np.minimum(want, self.untouched), 0.0)
            # Up to the limit only: beyond it the host reclaims the VM's pages (balloon, then
            # compression and swap, toward its goal) and the guest touches the room made.
            touch = np.minimum(want, limit_room)
            tot = touch.sum()
            if tot > free_room and tot > 0:
                touch *= free_room / tot
            self.unmet = want - touch
            above = self.consumed >= self.target - 1e-6
            self._growth_beyond_mb = float((touch * (above & self.d_overcommitted)).sum())
            self.untouched -= touch
            # A booting guest's new pages follow its boot mix (zeroed at boot).
            if first.any():
                self._add_resident(touch, lp_new, np.where(first[:, None], self.boot_mix, self.mix))
                self.boot_zero += np.where(first, touch * (self.boot_mix[:, Z] - self.mix[:, Z]), 0.0)
            else:
                self._add_resident(touch, lp_new)
        R = self.res.sum(axis=1)
        self.touched_once |= on & ~booting & (R + self.swapped + self.zipped + self.balloon
                                              >= np.minimum(self.touch_goal, self.memsize) - 1e-6)
        self.reserved_touched = np.where(on, np.maximum(self.reserved_touched,
                                                        np.minimum(R, self.reservation)), 0.0)
        self.action = act
        self.swap_out_rate = self.swap_out_rate / dt

        # 4. Guests at work overwrite pages (copy-on-write), and active-memory sampling.
        self._guest_writes(dt, on & self.touched_once & ~booting)
        self._sample(dt)

        # 5. Page sharing: scanning, and large pages broken when memory is tight.
        if int(self.t) % spec.SCAN_BATCH_S == 0:
            self._scan(spec.SCAN_BATCH_S * dt)
        if self.large_pages and self._tight():
            self._break_large(np.where(on, spec.LARGE_PAGE_BREAK_MB_S * dt, 0.0))
        elif not self.large_pages and self.large.any():
            self._break_large(self.large.copy())

        self._derive()
        memscreen.advance(self, dt)
        cost.advance(self, dt)
        self._update_state()
        if self.state != spec.STATE_LOW and self.blocked.any():
            self.blocked[:] = False
            self.action &= ~ACT_BLOCKED
        self.t += dt
        self._apply_due_events()

    def _allocation_room(self) -> np.ndarray:
        """How much more machine memory each VM may take this step (faults and touches).

        Never past its limit. While the host is overcommitted a VM may grow up to its target
        from free memory; beyond its target only from free memory above the free target (what
        the targets leave free), so VMs above their targets never push the host out of the
        high state: a descent comes from VMs below their targets taking what they are entitled
        to faster than reclamation frees it. At its target a VM gets a page by giving up
        another (the host keeps its swap target in every state): a VM whose working set
        exceeds its target thrashes at its target instead of pulling the host down over and
        over."""
        up_to_limit = np.maximum(0.0, self.limit - self.consumed)
        if not self.d_overcommitted:
            return up_to_limit
        base = np.minimum(up_to_limit, np.maximum(0.0, self.target - self.consumed))
        extra = up_to_limit - base
        surplus = self.free_mb - self.free_target_mb - float((base * self.on).sum())
        total = float((extra * self.on).sum())
        if surplus <= 0 or total <= 0:
            return base
        return base + extra * min(1.0, surplus / total)

    def _add_resident(self, amount: np.ndarray, large: bool, mix: np.ndarray | None = None) -> None:
        """Back `amount` MB of guest pages per VM with new machine pages (unscanned)."""
        if not amount.any():
            return
        self.res += (self.mix if mix is None else mix) * amount[:, None]
        if large:
            self.large += amount

    def _guest_writes(self, dt: float, booted: np.ndarray) -> None:
        """Copy-on-write as a booted guest works: it overwrites the zero pages beyond its steady
        share (those its boot zeroed) at the rate its working set turns over; a zero page written
        leaves sharing and holds unique data."""
        if not self.boot_zero.any():
            return
        self.boot_zero = np.minimum(self.boot_zero, self.res[:, Z])
        excess = np.where(booted, self.boot_zero, 0.0)
        if not (excess > 0).any():
            return
        w = np.minimum(excess, self.active_true * dt / spec.WORKSET_TURNOVER_S)
        self.boot_zero -= w
        frac = _div(w, self.res[:, Z])
        self.shr[:, Z] -= self.shr[:, Z] * frac
        self.hsh[:, Z] -= self.hsh[:, Z] * frac
        self.res[:, Z] -= w
        self.res[:, U] += w

    def _unscanned_total(self) -> np.ndarray:
        return np.maximum(0.0, self.res[:, :3] - self.shr - self.hsh).sum(axis=1) + self.res[:, U]

    def _take_private(self, x: np.ndarray) -> np.ndarray:
        """Remove up to x MB of each VM's private resident pages, chosen at random; returns
        what was taken. Shared pages are not taken: freeing one frees nothing. Works on the
        VMs that give pages only (most steps touch few)."""
        out = np.zeros(len(x))
        idx = np.nonzero(x > 0)[0]
        if len(idx) == 0:
            return out
        res, shr, hsh = self.res[idx], self.shr[idx], self.hsh[idx]
        shared_c = np.zeros_like(res)
        shared_c[:, Z] = shr[:, Z]
        shared_c[:, F] = np.minimum(self.shared_fam[idx], shr[:, F])
        shared_c[:, D] = shr[:, D]
        priv_c = np.maximum(0.0, res - shared_c)
        priv = priv_c.sum(axis=1)
        xi = np.minimum(x[idx], priv)
        frac = _div(xi, priv)
        taken_c = priv_c * frac[:, None]
        # Within each kind: unscanned, hashed (large pages), shareable but unmatched (family).
        unmatched_f = shr[:, F] - shared_c[:, F]
        hsh_take = hsh * frac[:, None]
        unm_take = unmatched_f * frac
        uns_total = np.maximum(0.0, res[:, :3] - shr - hsh).sum(axis=1) + res[:, U]
        large = self.large[idx]
        large_unscanned = np.maximum(0.0, large - hsh.sum(axis=1))
        lu = np.minimum(1.0, _div(large_unscanned, uns_total))
        large = np.maximum(large - (hsh_take.sum(axis=1) + uns_total * frac * lu), 0.0)
        hsh = hsh - hsh_take
        shr[:, F] -= unm_take
        res = np.maximum(res - taken_c, 0.0)
        shr[:, F] = np.minimum(shr[:, F], res[:, F] - hsh[:, F])
        self.res[idx] = res
        self.shr[idx] = shr
        self.hsh[idx] = hsh
        self.large[idx] = large
        out[idx] = xi
        return out

    def _balloon_take(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The guest gives x MB of pages to the balloon, chosen among its inactive pages: resident
        ones (freeing machine memory) and swapped or compressed ones (freeing swap or cache).
        Returns (pages given, resident MB freed)."""
        if not x.any():
            return x, x
        priv = np.maximum(0.0, self.private)
        sw = np.maximum(0.0, self.swapped - self.swapped_act)
        zp = np.maximum(0.0, self.zipped - self.zipped_act)
        total = priv + sw + zp
        x = np.minimum(x, total)
        fr = _div(x, total)
        freed = self._take_private(priv * fr)
        self.swapped -= sw * fr
        self.zipped -= zp * fr
        return freed + sw * fr + zp * fr, freed

    def _active_resident_fraction(self) -> np.ndarray:
        """Share of each VM's resident pages that are in its working set (random victims hit
        the working set in this proportion)."""
        ws_res = np.maximum(0.0, np.minimum(self.active_true, self.memsize - self.balloon)
                            - self.swapped_act - self.zipped_act)
        return np.minimum(1.0, _div(ws_res, self.res.sum(axis=1)))

    def _swap_out(self, x: np.ndarray) -> np.ndarray:
        """Swap out up to x MB per VM (random victims); active pages swapped are faulted back."""
        fa = self._active_resident_fraction()
        got = self._take_private(x)
        self.swapped += got
        self.swapped_act += got * fa
        self.swap_out_rate += got
        return got

    def _sample(self, dt: float) -> None:
        on = self.on
        period = float(self.advanced["Mem.SamplePeriod"])
        ws = np.minimum(self.active_true, self.memsize - self.balloon)
        p = np.where(on & (self.memsize > 0), _clip(ws / np.where(self.memsize > 0, self.memsize, 1), 0, 1), 0.0)
        self.sample_acc += p * dt
        self.sample_elapsed += np.where(on, dt, 0.0)
        gs = 1 - (1 - spec.ACTIVE_SLOW_GAIN_PER_30S) ** (period / 30.0)
        gf = 1 - (1 - spec.ACTIVE_FAST_GAIN_PER_30S) ** (period / 30.0)
        done = on & (self.sample_elapsed >= period)
        if done.any():
            idx = np.nonzero(done)[0]
            p_avg = self.sample_acc[idx] / self.sample_elapsed[idx]
            hits = self.rng.binomial(spec.SAMPLE_PAGES, _clip(p_avg, 0, 1))
            f = hits / spec.SAMPLE_PAGES
            self.act_slow[idx] += gs * (f - self.act_slow[idx])
            self.act_fast[idx] += gf * (f - self.act_fast[idx])
            self.sample_acc[idx] = 0.0
            self.sample_elapsed[idx] = 0.0
        # The fast average with the current, unfinished period: its count so far is a lower
        # bound of the period's, so it only ever raises the estimate.
        partial = self.sample_acc / period
        self.act_cur = np.where(partial > self.act_fast, self.act_fast + gf * (partial - self.act_fast), self.act_fast)

    @property
    def active_estimate(self) -> np.ndarray:
        return np.maximum(np.maximum(self.act_slow, self.act_fast), self.act_cur) * self.memsize * self.on

    def _scan(self, dt: float) -> None:
        on = self.on & self.pshare
        ghz = self.advanced["Mem.ShareScanGHz"]
        if ghz <= 0 or not on.any():
            return
        rate = np.where(on, self.memsize / (self.advanced["Mem.ShareScanTime"] * 60.0), 0.0)
        if spec.version_at_least(self.config.esx_version, "5.x"):
            rate = np.minimum(rate, self.advanced["Mem.ShareRateMax"] / spec.PAGES_PER_MB)
        host_cap = ghz * self.config.cpu_cores * self.config.cpu_mhz / 1000.0
        total = rate.sum()
        if total > host_cap:
            rate *= host_cap / total
        frac = _div(rate * dt, self.memsize)
        unscanned = np.maximum(0.0, self.res[:, :3] - self.shr - self.hsh)
        new = np.minimum(unscanned, self.res[:, :3] * frac[:, None])
        uns_total = unscanned.sum(axis=1) + self.res[:, U]
        large_unscanned = np.maximum(0.0, self.large - self.hsh.sum(axis=1))
        lu = np.minimum(1.0, _div(large_unscanned, uns_total))
        self.hsh += new * lu[:, None]
        self.shr += new * (1 - lu)[:, None]

    def _break_large(self, amount: np.ndarray) -> None:
        """Break up to `amount` MB of large pages per VM; their hashed pieces share at once."""
        b = np.minimum(amount, self.large)
        if not b.any():
            return
        q = _div(b, self.large)
        moved = self.hsh * q[:, None]
        self.hsh -= moved
        self.shr += moved
        self.large -= b

    # ---------------------------------------------------------------- allocation

    def _wanted(self) -> np.ndarray:
        """What each VM would consume with no limit and no reclamation: what its guest has
        touched (including ballooned, swapped and compressed pages), or, once it has touched
        its share of memory, that share; minus its sharing saving."""
        touched = self.memsize - self.untouched
        since = self.t - self.power_on_t
        boot_frac = np.where(self.touched_once, 1.0, np.minimum(_div(since, self.boot_s, 1.0), 1.0))
        touched = np.maximum(touched, np.minimum(self.touch_goal * boot_frac, self.memsize))
        touched = np.maximum(touched, self.active_true)
        saved = self.shared - self.common_share
        return np.where(self.on, np.maximum(0.0, touched - saved), 0.0)

    def _demand(self) -> np.ndarray:
        """The upper bound of a VM's target: what it wants, up to min(memsize, limit)."""
        return np.minimum(self._wanted(), self.limit)

    def _compute_targets(self) -> None:
        on = self.on
        self._rebalance = False
        self._last_balance_t = self.t
        demand = self._demand()
        lo = np.minimum(self.reservation, demand)
        hi = demand
        a = np.minimum(self.active_estimate, demand)
        tau = self.advanced["Mem.IdleTax"] / 100.0
        if self.advanced["Mem.IdleTaxType"] == 1:
            # Variable tax (the model's own form): the rate grows with the VM's idle ratio.
            idle = 1.0 - _div(a, demand)
            tau_i = tau * np.sqrt(_clip(idle, 0, 1))
        else:
            tau_i = np.full(len(self.vms), tau)
        k = 1.0 / (1.0 - tau_i)
        S = np.maximum(self.shares, 1e-9)
        available = self.managed_mb - self.free_target_mb - float(((self.overhead + self.zip_cache) * on).sum())
        self.d_available = available
        self.d_free_target = self.free_target_mb

        def alloc(lam: float) -> np.ndarray:
            x = lam * S
            p = np.where(x <= a, x, (x + (k - 1) * a) / k)
            return _clip(p, lo, hi)

        if (hi * on).sum() <= available:
            target = hi.copy()
            lam = np.inf
            self.d_overcommitted = False
        elif (lo * on).sum() >= available:
            target = lo.copy()
            lam = 0.0
            self.d_overcommitted = True
        else:
            self.d_overcommitted = True
            lam_lo, lam_hi = 0.0, float(np.max(np.where(on, (k * hi) / S, 0.0))) + 1.0
            for _ in range(60):
                if lam_hi - lam_lo <= 1e-10 * lam_hi:
                    break
                mid = 0.5 * (lam_lo + lam_hi)
                if (alloc(mid) * on).sum() > available:
                    lam_hi = mid
                else:
                    lam_lo = mid
            lam = lam_lo
            target = alloc(lam)
        self.target = np.where(on, target, 0.0)
        self.d_lambda = lam
        self.d_tau = tau_i
        self.d_k = k
        self.d_lo = lo
        self.d_hi = hi
        self.d_active = a
        self.d_t = self.t
        self.d_state = self.state
        P = self.target
        ap = np.minimum(a, P)
        denom = ap + k * (P - ap)
        self.d_rho = np.where(denom > 0, S / np.where(denom > 0, denom, 1), np.inf)
        eps = 1e-6
        bound = np.full(len(self.vms), BOUND_SHARES)
        at_hi = P >= hi - eps
        bound = np.where(at_hi, np.where(self.limit < self.memsize - self.untouched - eps, BOUND_LIMIT, BOUND_DEMAND), bound)
        bound = np.where((P <= lo + eps) & (lo > 0) & ~at_hi, BOUND_RESERVATION, bound)
        self.bound = bound

    # ---------------------------------------------------------------- reclamation

    def _reclaim_goal(self) -> tuple[np.ndarray, bool]:
        """What each VM should hold beyond its target, as balloon + compressed + swapped pages
        together (the coordinated MCTLTGT + compression goal + SWTGT), and whether the state
        reclaims. In the reclaiming states the goal is what the guest wants beyond its target; in
        the high (and clear) state nothing new is taken: the goal stays what the host set out to
        reclaim (within the hold band), and is never less than what the guest wants beyond its
        limit."""
        wanted = self._wanted()
        self._wanted_now = wanted
        beyond_limit = np.maximum(0.0, wanted - self.limit)
        beyond_target = np.maximum(0.0, wanted - self.target)
        reclaiming = self.state in (spec.STATE_SOFT, spec.STATE_HARD, spec.STATE_LOW)
        if reclaiming:
            goal = np.maximum(beyond_target, beyond_limit)
            self.reclaim_hold = goal  # what the host finishes reclaiming, even once the state rises
        else:
            # What the host holds it gives back only when the VM's target has risen clearly
            # (by more than the sampling noise of the active estimate moves it): a settled host
            # does not chase that noise. Beyond its limit a VM is reclaimed in every state.
            band = spec.RECLAIM_DEADBAND_PCT / 100.0 * self.memsize if self.d_overcommitted else 0.0
            self.reclaim_hold = np.where(beyond_target < self.reclaim_hold - band, beyond_target,
                                         np.minimum(self.reclaim_hold, beyond_target + band))
            goal = np.maximum(beyond_limit, self.reclaim_hold)
        # Never below the part of the reservation the VM has touched.
        goal = np.minimum(goal, np.maximum(0.0, wanted - self.reserved_touched))
        return np.where(self.on, goal, 0.0), reclaiming

    def _reclaim(self, dt: float, budget: float, can_balloon: np.ndarray, act: np.ndarray) -> float:
        """Balloon, compress and swap toward the coordinated goals; returns the swap budget left.

        Each step moves a VM's reclaimed pages (balloon + compressed + swapped) toward its goal
        and never past it: the balloon takes what it can (up to its cap), compression and
        swapping what it cannot (the soft state), or at once what is still missing (hard, low).
        A VM holding more than its goal gets memory back (its balloon deflates), and a balloon
        below its goal takes over pages the host had swapped or compressed, so swap gives way to
        ballooning once the driver runs."""
        on = self.on
        st = self.state
        v6 = self.config.esx_version == "6.x"
        swap_states = (spec.STATE_HARD, spec.STATE_LOW)
        inflate_ok = st not in swap_states or not v6  # 6.x: no ballooning in hard and low
        goal, reclaiming = self._reclaim_goal()
        R = self.res.sum(axis=1)
        protect = np.maximum(0.0, R - self.reserved_touched)
        cap = np.where(can_balloon, self.balloon_cap, 0.0)
        b_goal = np.minimum(cap, goal) if inflate_ok else np.minimum(self.balloon, goal)
        b_goal = np.where(on & (can_balloon | ~self.tools), b_goal, self.balloon)  # a booting driver holds
        b_goal = np.where(on, b_goal, 0.0)
        self.balloon_tgt = b_goal
        held = self.balloon + self.swapped + self.zipped
        limit_bit = np.where(on & (goal > 1e-6) & (self._wanted_now > self.limit + 1e-6), ACT_LIMIT, 0)
        eps = 1e-9
        if not (
            (goal > held + eps).any()
            or ((self.balloon > b_goal + eps) | ((held > goal + eps) & (self.balloon > eps))).any()
            or ((b_goal > self.balloon + eps)
                & (self.swapped + self.zipped > self.swapped_act + self.zipped_act + eps)).any()
        ):
            # Nothing can move this step: no VM short of its goal, no balloon to deflate, no
            # swapped page for a balloon to take over.
            self._inflated = np.zeros(len(goal))
            self._set_rest_targets(goal, b_goal)
            self._set_blocked(act)
            act |= limit_bit
            return budget
        # Deflate: a balloon above its goal, or a VM holding more than its goal.
        excess = np.maximum(np.maximum(0.0, self.balloon - b_goal), held - goal)
        deflate = np.minimum(np.minimum(np.maximum(0.0, excess), self.balloon), spec.BALLOON_DEFLATE_MB_S * dt)
        deflate = np.where(on & (can_balloon | ~self.tools), deflate, 0.0)
        self.balloon -= deflate
        self.untouched += deflate
        held = held - deflate
        # Inflate: resident pages while reclaimed pages fall short of the goal, then pages the
        # host had swapped or compressed (the balloon takes over from swap).
        room = np.where(deflate > 0, 0.0, np.maximum(0.0, b_goal - self.balloon))
        rate = np.minimum(room, spec.BALLOON_INFLATE_MB_S * dt)
        missing = np.maximum(0.0, goal - held)
        resident = np.where(on, np.minimum(np.minimum(rate, missing), protect), 0.0)
        freed = self._take_private(resident)
        self.balloon += freed
        convert = self._balloon_convert(np.maximum(0.0, rate - freed))
        self.balloon += convert
        self._inflated = freed + convert
        act |= np.where(freed + convert > 0, ACT_BALLOON, 0) | np.where(deflate > 0, ACT_DEFLATE, 0)
        protect = protect - freed
        missing = np.maximum(0.0, missing - freed)
        # Compression and swapping: what the balloon cannot take (no driver, not running yet, at
        # its cap), or in the hard and low states whatever is still missing now.
        rest_goal = np.maximum(0.0, goal - b_goal)
        if st in swap_states:
            swap_need = missing
        else:
            swap_need = np.minimum(missing, np.maximum(0.0, rest_goal - self.swapped - self.zipped))
        swap_need = np.where(on, np.minimum(swap_need, np.maximum(0.0, protect)), 0.0)
        self._set_rest_targets(goal, b_goal)
        if swap_need.any():
            budget = self._swap_and_compress(swap_need, dt, budget, act)
        # Reclamation beyond a limit is marked as such.
        act |= limit_bit
        self._set_blocked(act)
        return budget

    def _set_blocked(self, act: np.ndarray) -> None:
        """Low state: VMs above their target are blocked from allocating."""
        if self.state == spec.STATE_LOW:
            self.blocked = self.on & (self.consumed > self.target + 1e-6)
            act |= np.where(self.blocked, ACT_BLOCKED, 0)
        else:
            self.blocked = np.zeros(len(self.vms), dtype=bool)

    def _set_rest_targets(self, goal: np.ndarray, b_goal: np.ndarray) -> None:
        """The compression goal and SWTGT: what the balloon's goal leaves of the reclamation
        goal, the compressible part to the cache (4.1+) as far as it has room."""
        on = self.on
        rest_goal = np.maximum(0.0, goal - b_goal)
        if self.compression:
            zip_cap = self.memsize * self.advanced["Mem.MemZipMaxPct"] / 100.0 / spec.ZIP_RATIO
            more = self.compressible * np.maximum(0.0, rest_goal - self.swapped - self.zipped)
            zip_goal = np.minimum(self.zipped + more, np.maximum(self.zipped, zip_cap))
        else:
            zip_goal = self.zipped
        self.zip_tgt = np.where(on, np.minimum(zip_goal, rest_goal), 0.0)
        self.swap_tgt = np.where(on, np.maximum(0.0, rest_goal - self.zip_tgt), 0.0)

    def _swap_and_compress(self, need: np.ndarray, dt: float, budget: float, act: np.ndarray) -> float:
        """Free `need` MB of resident pages per VM: share before swap, then compress the victims
        that compress well (4.1+, while the cache has room), then swap within the datastore's
        budget. Returns the budget left."""
        # Share before swap: a victim with a sharing match is shared instead.
        shared_now = self._share_before_swap(need)
        act |= np.where(shared_now > 0, ACT_SHARE_BEFORE_SWAP, 0)
        rest = np.maximum(0.0, need - shared_now)
        if self.compression:
            room = np.maximum(0.0, self.memsize * self.advanced["Mem.MemZipMaxPct"] / 100.0 / spec.ZIP_RATIO - self.zipped)
            # Of the victims, the compressible ones go to the cache while it has room; when
            # the compressor is the bottleneck, fewer victims are taken this step.
            c = self.compressible
            rate = spec.ZIP_RATE_MB_S * dt
            z = np.minimum(np.minimum(rest * c, room), rate)
            rate_bound = (rate < np.minimum(rest * c, room)) & (c > 0)
            fa = self._active_resident_fraction()
            zgot = self._take_private(z)
            self.zipped += zgot
            self.zipped_act += zgot * fa
            self.zip_rate = zgot / dt
            rest = np.where(rate_bound, _div(zgot * (1 - c), c), rest - zgot)
            act |= np.where(zgot > 0, ACT_ZIP, 0)
        tot = rest.sum()
        if tot > 0 and budget > 0:
            rest *= min(1.0, budget / tot)
            sgot = self._swap_out(rest)
            budget -= float(sgot.sum())
            act |= np.where(sgot > 0, ACT_SWAP, 0)
        return budget

    def _balloon_convert(self, x: np.ndarray) -> np.ndarray:
        """The balloon takes up to x MB of guest pages the host had swapped or compressed and
        the guest is not using (the swap slot or cache slot is freed; no machine memory moves).
        Returns the MB taken."""
        if not x.any():
            return np.zeros_like(x)
        sw = np.maximum(0.0, self.swapped - self.swapped_act)
        zp = np.maximum(0.0, self.zipped - self.zipped_act)
        total = sw + zp
        x = np.minimum(x, total)
        fr = _div(x, total)
        self.swapped = np.maximum(0.0, self.swapped - sw * fr)
        self.zipped = np.maximum(0.0, self.zipped - zp * fr)
        return x

    def _share_before_swap(self, x: np.ndarray) -> np.ndarray:
        """Of x MB of victims per VM, share those with a match (zero pages, intra-VM duplicates,
        family pages another VM holds); returns the MB shared instead of swapped. Works on the
        VMs with victims only."""
        out = np.zeros(len(x))
        on = self.on & self.pshare
        idx = np.nonzero((x > 0) & on)[0]
        if len(idx) == 0:
            return out
        res, shr, hsh = self.res[idx], self.shr[idx], self.hsh[idx]
        cand = np.maximum(0.0, res[:, :3] - shr - hsh) + hsh
        fam_ok = (self.family >= 0) & (not self.salted)
        if fam_ok[idx].any():
            counts = np.bincount(self.family[on & fam_ok], minlength=max(1, len(self._families)))
            partner = fam_ok & (counts[np.where(fam_ok, self.family, 0)] >= 2)
            cand[:, F] *= partner[idx]
        else:
            cand[:, F] = 0.0
        priv = np.maximum(self.private[idx], 1e-9)
        frac = _clip(x[idx] / priv, 0, 1)
        conv = cand * frac[:, None]
        # pieces of large pages: the page is broken to share them
        hsh_part = np.minimum(hsh, conv * _div(hsh, cand))
        uns_part = conv - hsh_part
        hsh = hsh - hsh_part
        shr = shr + conv
        uns_total = np.maximum(0.0, res[:, :3] - (shr - conv) - (hsh + hsh_part)).sum(axis=1) + res[:, U]
        large = self.large[idx]
        large_unscanned = np.maximum(0.0, large - hsh.sum(axis=1) - hsh_part.sum(axis=1))
        lu = np.minimum(1.0, _div(large_unscanned, uns_total))
        self.large[idx] = np.maximum(0.0, large - hsh_part.sum(axis=1) - uns_part.sum(axis=1) * lu)
        self.hsh[idx] = hsh
        self.shr[idx] = shr
        # Zero pages and duplicates free memory at once; family pages once matched.
        out[idx] = conv.sum(axis=1)
        return out

    # ---------------------------------------------------------------- reading

    def snapshot(self) -> Snapshot:
        self._derive()
        th = self.thresholds
        on = self.on
        vms = []
        active = self.active_estimate
        since = self.t - self.power_on_t
        booting = on & (since < self.boot_s)
        can_balloon = self.tools & ~booting & (self.advanced["Mem.CtlMaxPercent"] > 0)
        R = self.res.sum(axis=1)
        memsize = self.memsize

        def col(x) -> list[float]:
            return np.round(np.where(on, x, 0.0), 2).tolist()

        ov, gr, co, tg = col(self.overhead), col(R), col(self.consumed), col(self.target)
        tc, ac, at = col(R + self.swapped + self.zipped), col(active), col(self.active_true)
        bl, bt, bm = col(self.balloon), col(self.balloon_tgt), col(self.balloon_cap)
        sw, st, zp = col(self.swapped), col(self.swap_tgt), col(self.zipped)
        zt = col(self.zip_tgt)
        sh, ze, sv = col(self.shared), col(self.shared_zero), col(self.shared - self.common_share)
        si, so, pr = col(self.swap_in_rate), col(self.swap_out_rate), col(self.private)
        un = np.round(np.where(on, self.untouched, memsize), 2).tolist()
        ap = col(100 * _div(active, memsize))
        asl, afa = col(100 * self.act_slow), col(100 * self.act_fast)
        zc, zr, ur = col(self.zip_cache), col(self.zip_rate), col(self.unzip_rate)
        gp = col(np.maximum(0.0, self.active_true - (memsize - self.balloon)))
        balloon_active = (on & can_balloon).tolist()
        blocked, boot = self.blocked.tolist(), booting.tolist()
        added_cols = {**cost.snapshot_columns(self), **memscreen.snapshot_columns(self)}
        added_keys = tuple(added_cols)
        added = [dict(zip(added_keys, row, strict=True)) for row in zip(*added_cols.values(), strict=True)]
        for i, vm in enumerate(self.vms):
            vms.append(VMMetrics(
                name=vm.name, power=vm.power, memory_mb=float(vm.memory_mb), vcpus=vm.vcpus,
                reservation_mb=float(vm.reservation_mb),
                limit_mb=None if vm.limit_mb is None else float(vm.limit_mb),
                shares=int(vm.shares_value), overhead_mb=ov[i], granted_mb=gr[i],
                consumed_mb=co[i], target_mb=tg[i], touched_mb=tc[i], active_mb=ac[i],
                active_true_mb=at[i], balloon_mb=bl[i], balloon_target_mb=bt[i],
                balloon_max_mb=bm[i], swapped_mb=sw[i], swap_target_mb=st[i], zipped_mb=zp[i],
                shared_mb=sh[i], zero_mb=ze[i], shared_saved_mb=sv[i], swap_in_mb_s=si[i],
                swap_out_mb_s=so[i], blocked=blocked[i], tools=vm.tools,
                balloon_active=balloon_active[i], private_mb=pr[i], untouched_mb=un[i],
                active_pct=ap[i], active_slow_pct=asl[i], active_fast_pct=afa[i],
                zip_cache_mb=zc[i], zip_rate_mb_s=zr[i], unzip_rate_mb_s=ur[i],
                guest_paging_mb=gp[i], booting=boot[i], zip_target_mb=zt[i], **added[i],
            ))
        onf = on.astype(float)
        shared = float((self.shared * onf).sum())
        common = float((self.common_share * onf).sum())
        consumed = float((self.consumed * onf).sum())
        overhead = float((self.overhead * onf).sum())
        zcache = float((self.zip_cache * onf).sum())
        zipped = float((self.zipped * onf).sum())
        managed = self.managed_mb

        def r(x):
            return round(float(x), 2)

        host = HostMetrics(
            state=self.state, memory_mb=float(self.config.memory_mb), system_mb=float(self.config.system_mb),
            managed_mb=managed, free_mb=r(self.free_mb), min_free_mb=r(th.min_free_mb),
            reserved_mb=r(self.reserved_mb), unreserved_mb=r(self.unreserved_mb), consumed_mb=r(consumed),
            overhead_mb=r(overhead), shared_mb=r(shared), shared_common_mb=r(common),
            shared_saved_mb=r(shared - common), balloon_mb=r((self.balloon * onf).sum()),
            balloon_target_mb=r((self.balloon_tgt * onf).sum()), swapped_mb=r((self.swapped * onf).sum()),
            swap_target_mb=r((self.swap_tgt * onf).sum()), zipped_mb=r(zipped),
            swap_in_mb_s=r((self.swap_in_rate * onf).sum()), swap_out_mb_s=r((self.swap_out_rate * onf).sum()),
            # MEMCTL max: what the balloon drivers could take; a VM without one adds nothing.
            balloon_max_mb=r((self.balloon_cap * (on & self.tools)).sum()), zip_saved_mb=r(zipped - zcache),
            zip_cache_mb=r(zcache), other_mb=r(consumed + overhead + zcache),
            overcommit=round(float((self.memsize * onf).sum()) / managed, 3) if managed > 0 else 0.0,
            **memscreen.host_fields(self),
        )
        return Snapshot(round(self.t, 3), host, tuple(vms))

    def decision(self, name: str) -> Decision:
        i = self.index(name)
        vm = self.vms[i]
        self._derive()
        return Decision(
            vm=vm.name, t=self.d_t, state=self.d_state, overcommitted=self.d_overcommitted,
            shares=float(self.shares[i]), active_mb=float(self.d_active[i]), tau=float(self.d_tau[i]),
            k=float(self.d_k[i]), rho=float(self.d_rho[i]), lower_mb=float(self.d_lo[i]),
            upper_mb=float(self.d_hi[i]), target_mb=float(self.target[i]), bound=int(self.bound[i]),
            available_mb=self.d_available, free_target_mb=self.d_free_target, action=int(self.action[i]),
            reservation_mb=float(vm.reservation_mb), limit_mb=None if vm.limit_mb is None else float(vm.limit_mb),
            consumed_mb=float(self.consumed[i]),
        )

    def overhead_source(self, name: str) -> tables.Overhead:
        vm = self.vms[self.index(name)]
        return tables.overhead_mb(self.config.esx_version, vm.memory_mb, vm.vcpus)

    def drain_log(self, start: int = 0) -> list[LogEvent]:
        return self.log[start:]


def load_host(path: str) -> Host:
    """Read a profile file and build its host (raises memtui.profile.ProfileError)."""
    from memtui.profile import read_profile

    return Host.from_profile(read_profile(path))


__all__ = [
    "Host", "AdmissionError", "SettingError", "Decision", "Workload", "VMConfig", "HostConfig",
    "load_host",
]
