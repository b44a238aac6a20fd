"""The guest workload (memory-model.md, sections 1 and 8; docs/model.md, "Guest memory").

What the guest does with its memory: during boot it touches its `touched_pct` of memory over
`boot_s` (its new pages in the boot mix, zeroed at boot), afterwards it refills memory the
balloon gave back while the host has room, and it always touches its working set, which follows
the workload's schedule (`active_at`). A booted guest at work overwrites the zero pages its boot
left (copy-on-write), at its working set's size every `WORKSET_TURNOVER_S`.

State (one per VM): `active_true` the working set the guest really uses (the host never sees
it), `next_schedule_t` when it next changes, `boot_s`, `touch_goal` MB the guest means to touch,
`touched_once` whether it has, `boot_zero` zero pages its boot left beyond its steady share,
`unmet` what it wanted to touch this step and could not.
"""

from __future__ import annotations

import numpy as np

from memtui import spec
from memtui.model.common import U, Z, _all, _any, _div, _rowsum


class GuestWorkload:
    """Working sets, boots, touches and the guest's writes."""

    FLOAT_STATE = ("active_true", "next_schedule_t", "boot_s", "touch_goal", "unmet", "boot_zero")
    BOOL_STATE = ("touched_once",)

    # The earliest next_schedule_t of any VM (or earlier): before it, no working set changes.
    _schedule_floor = -np.inf

    def _run_schedules(self) -> None:
        """Working-set schedules: the VMs whose working set changes now."""
        if self.t < self._schedule_floor and not self._plain:
            return
        due = np.nonzero(self.on & (self.next_schedule_t <= self.t))[0]
        for i in due:
            self._refresh_workload(int(i))
        if len(due):
            self._derive()
        self._schedule_floor = float(self.next_schedule_t.min()) if len(self.vms) else -np.inf

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
        self._schedule_floor = min(self._schedule_floor, nxt)

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

    def _boot_fraction(self):
        """Of its touched share, what each VM means to have touched by now: all of it once it
        has touched it once, else the share of its boot gone by."""
        if not self._plain and _all(self.touched_once):
            return 1.0  # every VM has: the same figures as an array of ones
        since = self.t - self.power_on_t
        return np.where(self.touched_once, 1.0, np.minimum(_div(since, self.boot_s, 1.0), 1.0))

    def _touch_goal_now(self) -> np.ndarray:
        """What each VM means to have touched by now, up to its memory size (shared: callers
        never change it in place)."""
        boot_frac = self._boot_fraction()
        if type(boot_frac) is float:  # every VM has touched its share once
            return self._settled("touch_goal_cap", lambda: np.minimum(self.touch_goal, self.memsize))
        return np.minimum(self.touch_goal * boot_frac, self.memsize)

    def _guest_touch(self, s) -> None:
        """The guest touches memory: during boot up to its touched share, afterwards it refills
        memory the balloon gave back, and it always touches its working set."""
        dt, n, on, booting = s.dt, s.n, s.on, s.booting
        runnable, limit_room, free_room, lp_new = s.runnable, s.limit_room, s.free_room, s.lp_new
        # A guest that has not yet touched its share once (its boot was slowed by the host)
        # goes on at the boot rate.
        # Ballooned pages count as touched: the guest refills pages the balloon gave back, not
        # pages it gave to the balloon; but its working set must be in memory it has.
        goal_now = self._touch_goal_now()
        R = _rowsum(self.res)
        data = R + self.swapped + self.zipped
        fill = goal_now - data - self.balloon
        ws_missing = np.minimum(self.active_true, self.memsize - self.balloon) - data
        want = np.maximum(0.0, np.maximum(fill, ws_missing))
        self.unmet = np.zeros(n)
        self._growth_beyond_mb = 0.0
        if _any(want):
            boot_rate = self._settled("boot_rate", lambda: np.where(
                self.boot_s > 0, _div(self.touch_goal, self.boot_s), self.touch_goal))
            # After boot the guest refills memory given back to it (page cache) only while the
            # host has room for it: not overcommitted, or the VM below its target.
            if self.d_overcommitted:
                refill = np.minimum(spec.GUEST_RETOUCH_MB_S, np.maximum(0.0, self.target - self.consumed))
            else:
                refill = np.full(n, spec.GUEST_RETOUCH_MB_S)
            if self._plain or not (self._boots_over == (self.revision, n) and _all(self.touched_once)):
                first = booting | ~self.touched_once
                rate = np.where(first, np.maximum(boot_rate, spec.GUEST_RETOUCH_MB_S), refill) * dt
            else:
                # Every guest has booted and touched its share once: none touches at the boot
                # rate (the same figures as np.where(first, ..., refill) with first all false).
                first = None
                rate = refill * dt
            # A growing working set is touched as fast as the guest allocates.
            need_ws = np.minimum(np.maximum(0.0, ws_missing), spec.GUEST_TOUCH_MB_S * dt)
            want = np.minimum(want, np.maximum(rate, need_ws))
            if self._plain or not _all(runnable):
                want = np.where(runnable, np.minimum(want, self.untouched), 0.0)
            else:
                want = np.minimum(want, self.untouched)
            # Up to the limit only: beyond it the host reclaims the VM's pages (balloon, then
            # compression and swap, toward its goal) and the guest touches the room made.
            touch = np.minimum(want, limit_room)
            tot = touch.sum()
            if tot > free_room and tot > 0:
                touch *= free_room / tot
            self.unmet = want - touch
            if self.d_overcommitted or self._plain:
                above = self.consumed >= self.target - 1e-6
                self._growth_beyond_mb = float((touch * (above & self.d_overcommitted)).sum())
            self.untouched -= touch
            # A booting guest's new pages follow its boot mix (zeroed at boot).
            if first is not None and _any(first):
                self._add_resident(touch, lp_new, np.where(first[:, None], self.boot_mix, self.mix))
                self.boot_zero += np.where(first, touch * (self.boot_mix[:, Z] - self.mix[:, Z]), 0.0)
            else:
                self._add_resident(touch, lp_new)
            R = _rowsum(self.res)
        elif self._plain:
            R = _rowsum(self.res)
        if self._plain or not _all(self.touched_once):
            self.touched_once |= on & ~booting & (R + self.swapped + self.zipped + self.balloon
                                                  >= np.minimum(self.touch_goal, self.memsize) - 1e-6)
        self.reserved_touched = self._on_only(np.maximum(self.reserved_touched,
                                                         np.minimum(R, self.reservation)))

    def _guest_writes(self, dt: float, booted: np.ndarray) -> None:
        """Copy-on-write as a booted guest works: it overwrites the zero pages beyond its steady
        share (those its boot zeroed) at the rate its working set turns over; a zero page written
        leaves sharing and holds unique data."""
        if not _any(self.boot_zero):
            return
        self.boot_zero = np.minimum(self.boot_zero, self.res[:, Z])
        excess = np.where(booted, self.boot_zero, 0.0)
        if not _any(excess > 0):
            return
        w = np.minimum(excess, self.active_true * dt / spec.WORKSET_TURNOVER_S)
        self.boot_zero -= w
        frac = _div(w, self.res[:, Z])
        self.shr[:, Z] -= self.shr[:, Z] * frac
        self.hsh[:, Z] -= self.hsh[:, Z] * frac
        self.res[:, Z] -= w
        self.res[:, U] += w
