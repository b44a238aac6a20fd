"""The simulated ESX host: construction, the settings API, and the arrays of its state.

`Host` holds the host's settings and the state of every VM as numpy arrays, one element (or row)
per VM. Each mechanism of memory-model.md is a module of this package that declares the arrays it
owns and the methods that act on them; `Host` brings them together, and memtui.model.step gives
the order in which one step calls them.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np

from memtui import spec, tables
from memtui.config import Event, HostConfig, Profile, VMConfig, format_clock
from memtui.metrics import LogEvent
from memtui.model.admission import AdmissionControl, AdmissionError
from memtui.model.allocation import Allocation
from memtui.model.ballooning import Ballooning
from memtui.model.compression import Compression
from memtui.model.pages import GuestPages
from memtui.model.reclamation import Reclamation
from memtui.model.sampling import ActiveMemorySampling
from memtui.model.sharing import PageSharing
from memtui.model.snapshot import Reading
from memtui.model.states import FreeMemoryStates
from memtui.model.step import Stepping
from memtui.model.swapping import Swapping
from memtui.model.workload import GuestWorkload

VM_SETTING_KEYS = (
    "memory_mb", "vcpus", "reservation_mb", "limit_mb", "shares", "tools", "max_balloon_mb",
    "page_sharing", "power", "content_family",
)
WORKLOAD_KEYS = ("touched_pct", "active_mb", "zero_pct", "family_pct", "dup_pct", "boot_s", "schedule",
                 "compressible_pct", "boot_zero_pct")


class SettingError(ValueError):
    """A setting change that breaks a rule of the model."""


class VMSettings:
    """The VM settings the mechanisms read, copied into arrays (`_load_settings`)."""

    FLOAT_STATE = ("memsize", "reservation", "limit", "shares")
    INT_STATE = ("family",)
    BOOL_STATE = ("tools", "pshare")


# The mechanisms, each with the arrays it owns (FLOAT_STATE, INT_STATE, BOOL_STATE: one element
# per VM; POOL_STATE: one row per VM, of the given width).
MECHANISMS = (VMSettings, AdmissionControl, Allocation, ActiveMemorySampling, PageSharing,
              Ballooning, Compression, Swapping, Reclamation, FreeMemoryStates, GuestWorkload,
              GuestPages)
_FLOAT_FIELDS = tuple(f for m in MECHANISMS for f in getattr(m, "FLOAT_STATE", ()))
_INT_FIELDS = tuple(f for m in MECHANISMS for f in getattr(m, "INT_STATE", ()))
_BOOL_FIELDS = tuple(f for m in MECHANISMS for f in getattr(m, "BOOL_STATE", ()))
_POOLS = {p: w for m in MECHANISMS for p, w in getattr(m, "POOL_STATE", {}).items()}


def _copy_vm(vm: VMConfig) -> VMConfig:
    """A copy of a VM's settings that shares nothing mutable with it (as copy.deepcopy, for a
    fraction of its cost: every field but the workload's schedule holds an immutable value)."""
    new = copy.copy(vm)
    new.workload = copy.copy(vm.workload)
    new.workload.schedule = copy.deepcopy(vm.workload.schedule)
    return new


class Host(AdmissionControl, Allocation, ActiveMemorySampling, PageSharing, Ballooning,
           Compression, Swapping, Reclamation, FreeMemoryStates, GuestWorkload, GuestPages,
           Reading, Stepping):
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
        self._append_vms([_copy_vm(vm) for vm in vms or []])
        self._power_on_in_order()
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
        for name in _FLOAT_FIELDS + _INT_FIELDS + _BOOL_FIELDS + tuple(_POOLS):
            setattr(other, name, getattr(self, name).copy())
        other.config = replace(self.config)
        other.advanced = dict(self.advanced)
        other.vms = copy.deepcopy(self.vms)
        other.timeline = list(self.timeline)
        other.log = list(self.log)
        other._families = list(self._families)
        other.rng = copy.deepcopy(self.rng)
        other._settled_key = None
        return other

    # ---------------------------------------------------------------- arrays

    def _zero_all(self) -> None:
        for name in _FLOAT_FIELDS:
            setattr(self, name, np.zeros(0))
        for name in _INT_FIELDS:
            setattr(self, name, np.zeros(0, dtype=np.int64))
        for name in _BOOL_FIELDS:
            setattr(self, name, np.zeros(0, dtype=bool))
        for name, width in _POOLS.items():
            setattr(self, name, np.zeros((0, width)))

    def _append_vm(self, vm: VMConfig) -> int:
        for name in _FLOAT_FIELDS + _INT_FIELDS + _BOOL_FIELDS:
            arr = getattr(self, name)
            setattr(self, name, np.append(arr, np.zeros(1, dtype=arr.dtype)))
        for name, width in _POOLS.items():
            setattr(self, name, np.vstack([getattr(self, name), np.zeros((1, width))]))
        vm.power = vm.power if vm.power in ("on", "off") else "off"
        self.vms.append(vm)
        i = len(self.vms) - 1
        self._load_settings(i)
        self.untouched[i] = self.memsize[i]
        self.next_schedule_t[i] = np.inf
        return i

    def _append_vms(self, vms: list[VMConfig]) -> None:
        """Append VMs (powered off) in one pass: the arrays grow once."""
        n = len(vms)
        if n == 0:
            return
        for name in _FLOAT_FIELDS + _INT_FIELDS + _BOOL_FIELDS:
            arr = getattr(self, name)
            setattr(self, name, np.concatenate([arr, np.zeros(n, dtype=arr.dtype)]))
        for name, width in _POOLS.items():
            setattr(self, name, np.concatenate([getattr(self, name), np.zeros((n, width))]))
        start = len(self.vms)
        for vm in vms:
            vm.power = vm.power if vm.power in ("on", "off") else "off"
            self.vms.append(vm)
        for i in range(start, start + n):
            self._load_settings(i)
        self.untouched[start:] = self.memsize[start:]
        self.next_schedule_t[start:] = np.inf

    # Figures that change only with the settings (a power-on or off, a setting, a VM added or
    # removed: all bump `revision`), kept until then on the fast path.
    _settled_key = None

    def _settled(self, name: str, compute):
        """`compute()`, kept until the settings change; the reference path computes it every
        time. The value is shared: callers never change it in place."""
        if self._plain:
            return compute()
        key = (self.revision, len(self.vms))
        if self._settled_key != key:
            self._settled_key = key
            self._settled_values = {}
        value = self._settled_values.get(name)
        if value is None:
            value = self._settled_values[name] = compute()
        return value

    _all_on_rev = _all_on_n = -1
    # (revision, VMs) at which no VM was booting any more: none boots until the settings change.
    _boots_over: tuple[int, int] | None = None

    def _all_on(self) -> bool:
        """Every VM is powered on (kept until the settings change). Always False on the
        reference path, which masks by power state every time. Kept by the same key as
        `_settled`, but in plain attributes: it is asked a dozen times a step, and `_settled`'s
        dictionary and closure cost more than the masking it saves."""
        if self._plain:
            return False
        if self._all_on_rev != self.revision or self._all_on_n != len(self.on):
            self._all_on_rev, self._all_on_n = self.revision, len(self.on)
            self._all_on_now = bool(self.on.all())
        return self._all_on_now

    def _on_only(self, x: np.ndarray) -> np.ndarray:
        """`x` where the VM is on, 0 where it is off: np.where(on, x, 0.0), and x itself when
        every VM is on, so callers pass a fresh array, never a state array."""
        return x if self._all_on() else np.where(self.on, x, 0.0)

    def _on_sum(self, x: np.ndarray) -> float:
        """The sum of `x` over the VMs that are on."""
        return float((x if self._all_on() else x * self.on).sum())

    def _delete_index(self, i: int) -> None:
        for name in _FLOAT_FIELDS + _INT_FIELDS + _BOOL_FIELDS + tuple(_POOLS):
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

    def index(self, name: str) -> int:
        for i, vm in enumerate(self.vms):
            if vm.name == name:
                return i
        raise KeyError(f"no VM named {name!r}")

    @property
    def managed_mb(self) -> float:
        return float(self.config.memory_mb - self.config.system_mb)

    def _emit(self, kind: str, message: str, vm: str | None = None) -> None:
        self.log.append(LogEvent(self.t, kind, message, vm))

    # ---------------------------------------------------------------- operations

    def _reset_vm(self, i: int) -> None:
        for name in ("large", "balloon", "swapped", "swapped_act", "zipped", "zipped_act", "act_slow",
                     "act_fast", "act_cur", "sample_acc", "sample_elapsed", "target", "balloon_tgt",
                     "swap_tgt", "swap_in_rate", "swap_out_rate", "zip_rate", "unzip_rate",
                     "reserved_touched", "reclaim_hold", "release_wait", "zip_tgt", "unmet", "boot_zero"):
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

    # ---------------------------------------------------------------- timeline

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


def load_host(path: str) -> Host:
    """Read a profile file and build its host (raises memtui.profile.ProfileError)."""
    from memtui.profile import read_profile

    return Host.from_profile(read_profile(path))
