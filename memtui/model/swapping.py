"""Hypervisor swapping (memory-model.md, section 10), and the faults that bring pages back.

The host picks swap victims at random, so part of them is in the working set; the guest faults
those back in (SWR/s). Swap-out and swap-in share the datastore's throughput
(`host.swap_mb_per_s`), faults first. A victim with a sharing match is shared instead and a
compressible one compressed (4.1+) before anything is swapped. A VM at its limit faults a page
in only by giving up another, so a working set beyond the limit thrashes.

State (one per VM): `swapped` MB in the .vswp file (SWCUR), `swapped_act` the part in the
working set, `swap_tgt` (SWTGT), `swap_in_rate` and `swap_out_rate` MB/s (SWR/s, SWW/s).
"""

from __future__ import annotations

import numpy as np

from memtui import spec
from memtui.model.common import (
    ACT_BALLOON,
    ACT_SHARE_BEFORE_SWAP,
    ACT_SWAP,
    ACT_SWAP_IN,
    _any,
    _div,
    _rowsum,
)


class Swapping:
    """Swap-out within the datastore's budget, swap-in and decompression faults."""

    FLOAT_STATE = ("swapped", "swapped_act", "swap_tgt", "swap_in_rate", "swap_out_rate")

    def _plan_faults(self, s) -> None:
        """The datastore's budget this step: faults (swap-in) first, the rest for swap-out."""
        dt = s.dt
        budget = self.config.swap_mb_per_s * dt
        # Under its limit the guest's accesses to working-set pages it does not have in memory
        # are faults on swapped or compressed pages and first touches, in proportion: the room
        # under the limit is shared between them.
        out_ws = self.swapped_act + self.zipped_act
        s.granted = _rowsum(self.res)  # resident pages, unchanged until reclamation moves them
        ws_new = np.maximum(0.0, np.minimum(self.active_true, self.memsize - self.balloon)
                            - s.granted - self.swapped - self.zipped)
        if not (self._plain or _any(out_ws)):
            # No working-set page is swapped or compressed: no swap-in this step (the same
            # figures as below, for out_ws = 0), the whole budget is for swap-out.
            s.fault_room = np.minimum(s.fault_cap, s.limit_room * (ws_new <= 0))
            s.swin_want = np.zeros(s.n)
            s.budget_in = min(budget, 0.0, s.free_room)
            s.budget_out = budget - s.budget_in
            return
        s.fault_room = np.minimum(s.fault_cap, s.limit_room * _div(out_ws, out_ws + ws_new, 1.0))
        # Only faults that can be served need bandwidth: room under the limit and free memory.
        s.swin_want = np.where(s.runnable, np.minimum(self.swapped_act, s.fault_room), 0.0)
        s.budget_in = min(budget, float(s.swin_want.sum()), s.free_room)
        s.budget_out = budget - s.budget_in

    def _fault_in(self, s) -> None:
        """Faults on active pages that are compressed or swapped (blocked VMs wait)."""
        dt, n, runnable, act = s.dt, s.n, s.runnable, s.act
        if not (self._plain or _any(s.swin_want) or _any(self.zipped_act)):
            # No swapped page to bring back and no compressed one: no fault this step.
            self.swap_in_rate = np.zeros(n)
            self.unzip_rate = np.zeros(n)
            s.budget_out += s.budget_in - 0.0
            return
        swin_want, budget_in = s.swin_want, s.budget_in
        unzip = np.where(runnable, np.minimum(self.zipped_act, spec.ZIP_RATE_MB_S * dt), 0.0)
        swin_total = swin_want.sum()
        swin = swin_want * min(1.0, budget_in / swin_total) if swin_total > 0 else np.zeros(n)
        back = unzip + swin
        if _any(back):
            # Each page faulted in needs a free machine page (and room under the limit).
            room = np.minimum(s.fault_room + (unzip * (1 - spec.ZIP_RATIO)), back)
            total_back = room.sum()
            if total_back > s.free_room and total_back > 0:
                room *= s.free_room / total_back
            scale = _div(room, back)
            unzip *= scale
            swin *= scale
            self.zipped -= unzip
            self.zipped_act -= unzip
            self.swapped -= swin
            self.swapped_act -= swin
            self._add_resident(unzip + swin, s.lp_new)
            s.free_room -= float((unzip * (1 - spec.ZIP_RATIO) + swin).sum())
            s.limit_room -= unzip * (1 - spec.ZIP_RATIO) + swin
            s.fault_cap -= unzip * (1 - spec.ZIP_RATIO) + swin
            act |= np.where(swin > 0, ACT_SWAP_IN, 0)
        self.swap_in_rate = swin / dt
        self.unzip_rate = unzip / dt
        s.budget_out += budget_in - float(swin.sum())

    def _thrash_at_limit(self, s) -> None:
        """A VM at its limit faults its working set in only by swapping out another of its pages
        (random victims): a limit below the working set thrashes."""
        dt, runnable, act, lp_new = s.dt, s.runnable, s.act, s.lp_new
        budget_out = s.budget_out
        at_limit = runnable & (np.minimum(s.limit_room, s.fault_cap) <= 1e-9) & (self.swapped_act > 1e-9)
        if _any(at_limit):
            # Where the balloon may still grow, the guest gives it a page for each one faulted
            # in (it pages its own working set out), so ballooning takes over from swapping.
            room_b = np.maximum(0.0, np.minimum(self.balloon_tgt - self.balloon,
                                                spec.BALLOON_INFLATE_MB_S * dt - self._inflated))
            room_b = np.where(at_limit & s.can_balloon, np.minimum(room_b, self.swapped_act), 0.0)
            if _any(room_b) and budget_out > 0:
                room_b *= min(1.0, budget_out / float(room_b.sum()))
                got = self._take_private(np.minimum(room_b, np.maximum(0.0, self.private)))
                self.balloon += got
                self.swapped -= got
                self.swapped_act -= got
                self._add_resident(got, lp_new)
                self.swap_in_rate += got / dt
                budget_out -= float(got.sum())
                act |= np.where(got > 0, ACT_SWAP_IN | ACT_BALLOON, 0)
        if _any(at_limit) and budget_out > 0:
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
        s.budget_out = budget_out

    def _swap_and_compress(self, need: np.ndarray, dt: float, budget: float, act: np.ndarray) -> float:
        """Free `need` MB of resident pages per VM: share before swap, then compress the victims
        that compress well (4.1+, while the cache has room), then swap within the datastore's
        budget. Returns the budget left."""
        # Share before swap: a victim with a sharing match is shared instead.
        shared_now = self._share_before_swap(need)
        act |= np.where(shared_now > 0, ACT_SHARE_BEFORE_SWAP, 0)
        rest = np.maximum(0.0, need - shared_now)
        if self.compression:
            rest = self._compress(rest, dt, act)
        tot = rest.sum()
        if tot > 0 and budget > 0:
            rest *= min(1.0, budget / tot)
            sgot = self._swap_out(rest)
            budget -= float(sgot.sum())
            act |= np.where(sgot > 0, ACT_SWAP, 0)
        return budget

    def _active_resident_fraction(self) -> np.ndarray:
        """Share of each VM's resident pages that are in its working set (random victims hit
        the working set in this proportion)."""
        ws_res = np.maximum(0.0, np.minimum(self.active_true, self.memsize - self.balloon)
                            - self.swapped_act - self.zipped_act)
        return np.minimum(1.0, _div(ws_res, _rowsum(self.res)))

    def _swap_out(self, x: np.ndarray) -> np.ndarray:
        """Swap out up to x MB per VM (random victims); active pages swapped are faulted back."""
        fa = self._active_resident_fraction()
        got = self._take_private(x)
        self.swapped += got
        self.swapped_act += got * fa
        self.swap_out_rate += got
        return got
