"""Ballooning (memory-model.md, section 9).

The balloon driver (vmmemctl, part of VMware Tools) inflates toward its target (MCTLTGT) at
`BALLOON_INFLATE_MB_S`, taking the guest's inactive pages, and deflates at
`BALLOON_DEFLATE_MB_S`; it does not run while the guest boots, and it stops at its cap,
Mem.CtlMaxPercent % of memsize or the VM's sched.mem.maxmemctl. A balloon below its goal takes
over pages the host had swapped or compressed and the guest is not using. What the balloon is
asked to take comes from the coordinated reclamation goal (memtui.model.reclamation).

State (one per VM): `balloon` MB held (MCTLSZ), `balloon_tgt` (MCTLTGT), `balloon_cap`
(MCTLMAX); `_inflated` the balloon's growth in the current step.
"""

from __future__ import annotations

import numpy as np

from memtui import spec
from memtui.model.common import ACT_BALLOON, ACT_DEFLATE, _all, _any, _div


class Ballooning:
    """The balloon driver: its cap, its target, and its moves."""

    FLOAT_STATE = ("balloon", "balloon_tgt", "balloon_cap")

    def _load_balloon_cap(self, i: int) -> None:
        vm = self.vms[i]
        cap = vm.memory_mb * self.advanced["Mem.CtlMaxPercent"] / 100.0
        if vm.max_balloon_mb is not None:
            cap = min(cap, vm.max_balloon_mb)
        self.balloon_cap[i] = cap

    def _driver_moves(self, can_balloon: np.ndarray) -> np.ndarray:
        """Where the balloon follows its target: the driver runs and may inflate, there is no
        driver (nothing to hold), or the balloon is above its cap (ballooning turned off or the
        cap lowered: a running driver gives the pages back). A booting driver holds."""
        return can_balloon | ~self.tools | (self.balloon > self.balloon_cap + 1e-9)

    def _balloon_goal(self, goal: np.ndarray, can_balloon: np.ndarray, inflate_ok: bool) -> np.ndarray:
        """The balloon target (MCTLTGT): the reclamation goal up to the cap while the driver
        runs and may inflate; a booting driver holds what it has."""
        on = self.on
        if not self._plain and self._all_on() and _all(can_balloon):
            # Every driver runs: the same figures as below with can_balloon and on all true.
            b_goal = np.minimum(self.balloon_cap, goal) if inflate_ok else np.minimum(self.balloon, goal)
            self.balloon_tgt = b_goal
            return b_goal
        cap = np.where(can_balloon, self.balloon_cap, 0.0)
        b_goal = np.minimum(cap, goal) if inflate_ok else np.minimum(self.balloon, goal)
        b_goal = np.where(on & self._driver_moves(can_balloon), b_goal, self.balloon)  # a booting driver holds
        b_goal = self._on_only(b_goal)
        self.balloon_tgt = b_goal
        return b_goal

    def _move_balloons(self, dt: float, goal: np.ndarray, b_goal: np.ndarray, held: np.ndarray,
                       protect: np.ndarray, can_balloon: np.ndarray,
                       act: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Deflate balloons above their goal, inflate those below it; returns what is still
        missing of each VM's reclamation goal and its resident pages still unprotected."""
        on = self.on
        # Deflate: a balloon above its goal, or a VM holding more than its goal.
        excess = np.maximum(np.maximum(0.0, self.balloon - b_goal), held - goal)
        deflate = np.minimum(np.minimum(np.maximum(0.0, excess), self.balloon), spec.BALLOON_DEFLATE_MB_S * dt)
        deflate = np.where(on & self._driver_moves(can_balloon), deflate, 0.0)
        self.balloon -= deflate
        self.untouched += deflate
        held = held - deflate
        # Inflate: resident pages while reclaimed pages fall short of the goal, then pages the
        # host had swapped or compressed (the balloon takes over from swap).
        room = np.where(deflate > 0, 0.0, np.maximum(0.0, b_goal - self.balloon))
        rate = np.minimum(room, spec.BALLOON_INFLATE_MB_S * dt)
        missing = np.maximum(0.0, goal - held)
        resident = self._on_only(np.minimum(np.minimum(rate, missing), protect))
        freed = self._take_private(resident)
        self.balloon += freed
        convert = self._balloon_convert(np.maximum(0.0, rate - freed))
        self.balloon += convert
        self._inflated = freed + convert
        act |= np.where(freed + convert > 0, ACT_BALLOON, 0) | np.where(deflate > 0, ACT_DEFLATE, 0)
        protect = protect - freed
        missing = np.maximum(0.0, missing - freed)
        return missing, protect

    def _balloon_take(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The guest gives x MB of pages to the balloon, chosen among its inactive pages: resident
        ones (freeing machine memory) and swapped or compressed ones (freeing swap or cache).
        Returns (pages given, resident MB freed)."""
        if not _any(x):
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

    def _balloon_convert(self, x: np.ndarray) -> np.ndarray:
        """The balloon takes up to x MB of guest pages the host had swapped or compressed and
        the guest is not using (the swap slot or cache slot is freed; no machine memory moves).
        Returns the MB taken."""
        if not _any(x):
            return np.zeros_like(x)
        sw = np.maximum(0.0, self.swapped - self.swapped_act)
        zp = np.maximum(0.0, self.zipped - self.zipped_act)
        total = sw + zp
        x = np.minimum(x, total)
        fr = _div(x, total)
        self.swapped = np.maximum(0.0, self.swapped - sw * fr)
        self.zipped = np.maximum(0.0, self.zipped - zp * fr)
        return x
