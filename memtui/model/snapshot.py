"""Reading the host: snapshots (memory-model.md, section 12) and decisions.

`Host.snapshot()` reports every VM's figures and the host's esxtop memory header, rounded to
0.01 MB; `Host.decision(name)` the inputs and outcome of a VM's last target decision. Reading
changes no state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memtui import cost, tables
from memtui.esxtop import memscreen
from memtui.metrics import HOST_FIELDS, VM_FIELDS, LogEvent, SampleColumns, Snapshot
from memtui.model.common import _div


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


class Reading:
    """Snapshots, decisions, overhead sources and the log."""

    def snapshot(self) -> Snapshot:
        return self.sample_columns().snapshot()

    def sample_columns(self) -> SampleColumns:
        """The figures of `snapshot()` as columns, one value per VM each (metrics.SampleColumns):
        computed once for all VMs, for writers that need no objects per VM."""
        self._derive()
        th = self.thresholds
        on = self.on
        active = self.active_estimate
        since = self.t - self.power_on_t
        booting = on & (since < self.boot_s)
        can_balloon = self.tools & ~booting & (self.advanced["Mem.CtlMaxPercent"] > 0)
        R = self.res.sum(axis=1)
        memsize = self.memsize
        vms = self.vms

        def col(x) -> np.ndarray:
            return np.round(np.where(on, x, 0.0), 2)

        cols = {
            "name": [vm.name for vm in vms], "power": [vm.power for vm in vms],
            "memory_mb": [float(vm.memory_mb) for vm in vms], "vcpus": [vm.vcpus for vm in vms],
            "reservation_mb": [float(vm.reservation_mb) for vm in vms],
            "limit_mb": [None if vm.limit_mb is None else float(vm.limit_mb) for vm in vms],
            "shares": self.shares.astype(np.int64),  # each VM's shares_value
            "overhead_mb": col(self.overhead), "granted_mb": col(R), "consumed_mb": col(self.consumed),
            "target_mb": col(self.target), "touched_mb": col(R + self.swapped + self.zipped),
            "active_mb": col(active), "active_true_mb": col(self.active_true),
            "balloon_mb": col(self.balloon), "balloon_target_mb": col(self.balloon_tgt),
            "balloon_max_mb": col(self.balloon_cap), "swapped_mb": col(self.swapped),
            "swap_target_mb": col(self.swap_tgt), "zipped_mb": col(self.zipped),
            "shared_mb": col(self.shared), "zero_mb": col(self.shared_zero),
            "shared_saved_mb": col(self.shared - self.common_share),
            "swap_in_mb_s": col(self.swap_in_rate), "swap_out_mb_s": col(self.swap_out_rate),
            "blocked": self.blocked.copy(), "tools": [vm.tools for vm in vms],
            "balloon_active": on & can_balloon, "private_mb": col(self.private),
            "untouched_mb": np.round(np.where(on, self.untouched, memsize), 2),
            "active_pct": col(100 * _div(active, memsize)),
            "active_slow_pct": col(100 * self.act_slow), "active_fast_pct": col(100 * self.act_fast),
            "zip_cache_mb": col(self.zip_cache), "zip_rate_mb_s": col(self.zip_rate),
            "unzip_rate_mb_s": col(self.unzip_rate),
            "guest_paging_mb": col(np.maximum(0.0, self.active_true - (memsize - self.balloon))),
            "booting": booting, "zip_target_mb": col(self.zip_tgt),
        }
        figures = cost.figures(self)
        for k in cost.SNAPSHOT_FIELDS:
            cols[k] = np.round(figures[k], 2)
        for k, v in memscreen.snapshot_columns(self).items():
            cols[k] = np.array(v, dtype=float)
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

        host = dict(
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
        return SampleColumns(round(self.t, 3), {k: host[k] for k in HOST_FIELDS},
                             {k: cols[k] for k in VM_FIELDS}, len(vms))

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
