"""The order of a step (docs/model.md, "Time").

One step advances the host by `spec.STEP_S` simulated seconds. The derived figures
(consumption, sharing, free memory) are those of the end of the previous step: targets and
reclamation act on them first, then the guests run (faults, touches), the host samples and
scans, and the figures are derived again. Each line below calls one mechanism's module;
`StepContext` carries what they share within the step (what each VM may still take, the
datastore's budget, what acts on each VM).
"""

from __future__ import annotations

import numpy as np

from memtui import cost, spec
from memtui.esxtop import memscreen
from memtui.model.common import _any


class StepContext:
    """What the mechanisms of one step share."""

    __slots__ = ("dt", "n", "on", "booting", "lp_new", "can_balloon", "limit_room",
                 "fault_cap", "free_room", "runnable", "act", "fault_room", "swin_want", "granted",
                 "budget_in", "budget_out")

    def __init__(self, host, dt: float):
        on = host.on
        n = len(host.vms)
        self.dt, self.n, self.on = dt, n, on
        self.lp_new = host.large_pages and not host._tight()  # new memory in large pages
        if host._boots_over == (host.revision, n) and not host._plain:
            # Every boot is over (and stays over until a power-on or a setting changes).
            self.booting = np.zeros(n, dtype=bool)
            self.can_balloon = host._settled("can_balloon_booted", lambda: (
                on & host.tools & (host.advanced["Mem.CtlMaxPercent"] > 0)))
        else:
            self.booting = on & ((host.t - host.power_on_t) < host.boot_s)
            if not _any(self.booting):
                host._boots_over = (host.revision, n)
            self.can_balloon = on & host.tools & ~self.booting & (host.advanced["Mem.CtlMaxPercent"] > 0)
        # What a VM may hold now: its limit and, while the host reclaims, its target (a VM at
        # its target gets a page only by giving up another).
        # Touches (first touches, a growing working set, refills): up to the limit; in the low
        # state a VM above its target is blocked. Faults: up to the target while overcommitted.
        self.limit_room = np.maximum(0.0, host.limit - host.consumed)
        self.fault_cap = host._allocation_room()
        self.free_room = max(0.0, host.free_mb)
        self.runnable = on & ~host.blocked
        self.act = np.zeros(n, dtype=np.int64)


class Stepping:
    """`Host.run` and `Host.step`."""

    # The reference path: every mechanism runs in full every step, with none of the fast
    # path's shortcuts (work skipped when its inputs say there is none, values cached between
    # the events that change them). Both paths give the same figures within 0.01 MB
    # (tests/test_fast_path.py).
    _plain = False

    def run(self, seconds: float, reference: bool = False) -> None:
        """Advance `seconds` of simulated time, one step of `spec.STEP_S` at a time.

        The fast path is the default; `reference=True` steps the plain way: every mechanism in
        full every step, no shortcut. Use it to check the fast path, or when in doubt."""
        steps = int(round(seconds / spec.STEP_S))
        plain, self._plain = self._plain, reference
        try:
            for _ in range(steps):
                self.step()
        finally:
            self._plain = plain

    def step(self) -> None:
        """Advance the host by one step (spec.STEP_S seconds)."""
        dt = spec.STEP_S
        if len(self.vms) == 0 or not _any(self.on):
            self.t += dt
            self._derive()
            memscreen.advance(self, dt)
            cost.advance(self, dt)
            self._update_state()
            self._apply_due_events()
            return
        self._run_schedules()  # workload: working sets that change now
        s = StepContext(self, dt)
        self.swap_out_rate = np.zeros(s.n)
        self.zip_rate = np.zeros(s.n)
        self._plan_faults(s)  # swapping: the datastore's budget, faults first

        # 1. Targets (on the balance period and on the triggers), and reclamation toward them.
        if self._rebalance or self.t - self._last_balance_t >= self.advanced["Mem.BalancePeriod"]:
            self._compute_targets()  # allocation
        s.budget_out = self._reclaim(dt, s.budget_out, s.can_balloon, s.act, s.granted)  # reclamation

        # 2. Faults on active pages that are compressed or swapped; thrashing at a limit.
        self._fault_in(s)  # swapping, compression
        self._thrash_at_limit(s)  # swapping, ballooning

        # 3. The guest touches memory (boot, refill, working set).
        self._guest_touch(s)  # workload
        self.action = s.act
        self.swap_out_rate = self.swap_out_rate / dt

        # 4. Guests at work overwrite pages (copy-on-write), and active-memory sampling.
        self._guest_writes(dt, s.on & self.touched_once & ~s.booting)  # workload
        self._sample(dt)  # sampling

        # 5. Page sharing: scanning, and large pages broken when memory is tight.
        self._share_step(dt)  # sharing

        self._derive()  # sharing figures, consumption, free memory
        memscreen.advance(self, dt)
        cost.advance(self, dt)
        self._update_state()  # states
        self._unblock()  # states
        self.t += dt
        self._apply_due_events()
