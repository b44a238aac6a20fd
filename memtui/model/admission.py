"""Admission control (memory-model.md, sections 3 and 4).

A VM powers on only if the host's unreserved memory covers its reservation plus its overhead and
its swap file (memsize - reservation) fits on the datastore; the refusal names the shortfall in
MB. Raising a running VM's reservation goes through the same check (`Host.set_vm`).

State (one per VM): `on` powered on; `power_on_t` when; `overhead` MB reserved at power-on
(memtui.tables).
"""

from __future__ import annotations

from memtui import tables
from memtui.config import VMConfig


class AdmissionError(Exception):
    """A power-on or reservation change refused by admission control."""

    def __init__(self, vm: str, message: str, shortfall_mb: float):
        super().__init__(message)
        self.vm = vm
        self.shortfall_mb = shortfall_mb


class AdmissionControl:
    """Reservations, overheads and swap files of powered-on VMs; power on and off."""

    FLOAT_STATE = ("overhead", "power_on_t")
    BOOL_STATE = ("on",)

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

    def power_on(self, name: str) -> None:
        i = self.index(name)
        if self.on[i]:
            return
        self._admit(i)
        self._changed()

    def _admit(self, i: int, reload: bool = True) -> None:
        """Power VM i on if admission control lets it (raises AdmissionError); the derived
        figures are left for the caller to bring up to date. `reload=False` when its settings
        were just loaded."""
        vm = self.vms[i]
        short, msg = self.admission_shortfall(vm)
        if short > 0:
            self._emit("admission", msg, vm.name)
            raise AdmissionError(vm.name, msg, short)
        vm.power = "on"
        if reload:
            self._load_settings(i)
        self._reset_vm(i)
        self.on[i] = True
        self.power_on_t[i] = self.t
        self._refresh_workload(i)
        self._emit("power", f"{vm.name} powered on (overhead {self.overhead[i]:.2f} MB)", vm.name)

    def _power_on_in_order(self) -> None:
        """Power on, in the profile's order, the VMs it has on (a host being built): admission
        control in one pass, the figures derived once afterwards. A VM refused stays off."""
        for i, vm in enumerate(self.vms):
            if vm.power == "on":
                vm.power = "off"
                try:
                    self._admit(i, reload=False)
                except AdmissionError:
                    continue
                self._rebalance = True
                self.revision += 1

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
