"""Free memory states (memory-model.md, section 7).

Thresholds on free memory (4.0: 6 / 4 / 2 / 1 % of host memory; 4.1 Mem.MinFreePct; 5.x the
sliding scale; 6.x the clear state, memtui.tables) give the state high (clear), soft, hard or
low. The state drops at once below a threshold and rises only once free memory has stayed above
the higher threshold by `STATE_RISE_MARGIN` for `STATE_RISE_DWELL_S` without falling. A state
change recomputes the targets. In the low state VMs above their targets are blocked.

State: the host's `state`, `_rise_since`, `_last_free`, `_growth_beyond_mb` (memory VMs above
their targets took in the last step); per VM `blocked`.
"""

from __future__ import annotations

import numpy as np

from memtui import spec, tables
from memtui.model.common import ACT_BLOCKED, _any


class FreeMemoryStates:
    """Thresholds, the state with its hysteresis, and blocking in the low state."""

    BOOL_STATE = ("blocked",)

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

    def _set_blocked(self, act: np.ndarray) -> None:
        """Low state: VMs above their target are blocked from allocating."""
        if self.state == spec.STATE_LOW:
            self.blocked = self.on & (self.consumed > self.target + 1e-6)
            act |= np.where(self.blocked, ACT_BLOCKED, 0)
        else:
            self.blocked = np.zeros(len(self.vms), dtype=bool)

    def _unblock(self) -> None:
        """Out of the low state, no VM stays blocked."""
        if self.state != spec.STATE_LOW and _any(self.blocked):
            self.blocked[:] = False
            self.action &= ~ACT_BLOCKED
