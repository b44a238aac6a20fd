"""Reclamation toward coordinated goals (memory-model.md, sections 7, 9, 10 and 11;
docs/model.md, "Reclamation: goals, and how each mechanism reaches them").

Each VM has one reclamation goal, what its guest wants beyond its target (a limit included). It
is split the way esxtop shows it: the balloon's share (memtui.model.ballooning), the compression
goal (memtui.model.compression) and SWTGT (memtui.model.swapping); balloon + compressed +
swapped moves toward the goal and never past it. The free-memory state decides how: the balloon
in soft, compression and swapping too in hard and low; in high nothing new is taken (the hold
band). Memory a VM has touched up to its reservation is never reclaimed.

State (one per VM): `reclaim_hold` what the host goes on holding in the high state;
`release_wait` how long the VM's target has stood clearly above what is held (in high);
`reserved_touched` the part of the reservation the VM has touched (protected); `action` the
ACT_* bits of what acts on the VM now; `_wanted_now` what each VM wants, this step.
"""

from __future__ import annotations

import numpy as np

from memtui import spec
from memtui.model.common import ACT_LIMIT, _any, _rowsum


class Reclamation:
    """The coordinated goal, and one step of reclamation toward it."""

    FLOAT_STATE = ("reclaim_hold", "release_wait", "reserved_touched")
    INT_STATE = ("action",)

    def _reclaim_goal(self, dt: float) -> tuple[np.ndarray, bool]:
        """What each VM should hold beyond its target, as balloon + compressed + swapped pages
        together (the coordinated MCTLTGT + compression goal + SWTGT), and whether the state
        reclaims. In the reclaiming states the goal is what the guest wants beyond its target; in
        the high (and clear) state nothing new is taken: the goal stays what the host set out to
        reclaim (within the hold band), and is never less than what the guest wants beyond its
        limit. What is held is given back once the VM's target has risen clearly for
        RECLAIM_RELEASE_DWELL_S."""
        wanted = self._wanted()
        self._wanted_now = wanted
        beyond_limit = np.maximum(0.0, wanted - self.limit)
        beyond_target = np.maximum(0.0, wanted - self.target)
        reclaiming = self.state in (spec.STATE_SOFT, spec.STATE_HARD, spec.STATE_LOW)
        if reclaiming:
            goal = np.maximum(beyond_target, beyond_limit)
            self.reclaim_hold = goal  # what the host finishes reclaiming, even once the state rises
            self.release_wait = np.zeros_like(goal)
        else:
            # What the host holds it gives back only when the VM's target has risen clearly
            # (by more than the sampling noise of the active estimate moves it) and stayed
            # risen for the dwell: a settled host does not chase that noise. A host that is not
            # overcommitted gives it back at once. Beyond its limit a VM is reclaimed in every
            # state.
            over = self.d_overcommitted
            hold = self.reclaim_hold
            band = spec.RECLAIM_DEADBAND_PCT / 100.0 * self.memsize if over else 0.0
            rise = beyond_target < hold - band
            if not (self._plain or _any(rise)):
                # No target above what is held: the same figures as below, with nothing rising.
                self.reclaim_hold = np.minimum(hold, beyond_target + band)
                self.release_wait = np.zeros(len(hold))
            else:
                wait = np.where(rise, self.release_wait + dt, 0.0)
                release = rise & (wait >= spec.RECLAIM_RELEASE_DWELL_S - 1e-9) if over else rise
                self.reclaim_hold = np.where(release, beyond_target,
                                             np.where(rise, hold, np.minimum(hold, beyond_target + band)))
                self.release_wait = np.where(release, 0.0, wait)
            goal = np.maximum(beyond_limit, self.reclaim_hold)
        # Never below the part of the reservation the VM has touched.
        goal = np.minimum(goal, np.maximum(0.0, wanted - self.reserved_touched))
        return self._on_only(goal), reclaiming

    def _reclaim(self, dt: float, budget: float, can_balloon: np.ndarray, act: np.ndarray,
                 granted: np.ndarray | None = None) -> float:
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
        goal, reclaiming = self._reclaim_goal(dt)
        R = granted if granted is not None and not self._plain else _rowsum(self.res)
        protect = np.maximum(0.0, R - self.reserved_touched)
        b_goal = self._balloon_goal(goal, can_balloon, inflate_ok)
        held = self.balloon + self.swapped + self.zipped
        limit_bit = np.where(on & (goal > 1e-6) & (self._wanted_now > self.limit + 1e-6), ACT_LIMIT, 0)
        eps = 1e-9
        if not (
            _any(goal > held + eps)
            or _any((self.balloon > b_goal + eps) | ((held > goal + eps) & (self.balloon > eps)))
            or _any((b_goal > self.balloon + eps)
                    & (self.swapped + self.zipped > self.swapped_act + self.zipped_act + eps))
        ):
            # Nothing can move this step: no VM short of its goal, no balloon to deflate, no
            # swapped page for a balloon to take over.
            self._inflated = np.zeros(len(goal))
            self._set_rest_targets(goal, b_goal)
            self._set_blocked(act)
            act |= limit_bit
            return budget
        missing, protect = self._move_balloons(dt, goal, b_goal, held, protect, can_balloon, act)
        # Compression and swapping: what the balloon cannot take (no driver, not running yet, at
        # its cap), or in the hard and low states whatever is still missing now.
        rest_goal = np.maximum(0.0, goal - b_goal)
        if st in swap_states:
            swap_need = missing
        else:
            swap_need = np.minimum(missing, np.maximum(0.0, rest_goal - self.swapped - self.zipped))
        swap_need = self._on_only(np.minimum(swap_need, np.maximum(0.0, protect)))
        self._set_rest_targets(goal, b_goal)
        if _any(swap_need):
            budget = self._swap_and_compress(swap_need, dt, budget, act)
        # Reclamation beyond a limit is marked as such.
        act |= limit_bit
        self._set_blocked(act)
        return budget
