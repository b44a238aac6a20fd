"""Allocation: shares, reservation, limit and the idle memory tax (memory-model.md, section 5).

Each VM gets a target (esxtop SZTGT) by min-funding revocation on the adjusted shares-per-page
ratio `rho = S / (P (f + k (1 - f)))`, `k = 1 / (1 - tau)`: `P = (lambda S + (k - 1) a) / k`
while the active estimate `a` is below P, `P = lambda S` when it is not, clamped to
[min(reservation, demand), demand], with one lambda found by bisection so that the targets fill
the memory available to VMs. Targets are recomputed every Mem.BalancePeriod and on the triggers
(a state change, a power-on or off, a setting). This module also says how much memory each VM may
take in a step (`_allocation_room`).

State (one per VM): `target`; `bound` (BOUND_*: what set the target); the inputs of the last
decision, `d_tau`, `d_k`, `d_rho`, `d_lo`, `d_hi`, `d_active` (with the host-wide `d_t`,
`d_state`, `d_overcommitted`, `d_available`, `d_free_target`, `d_lambda`), read by
`Host.decision`.
"""

from __future__ import annotations

import numpy as np

from memtui.model.common import _clip, _div

# Why a target is what it is (Host.bound)
BOUND_DEMAND = 0  # not overcommitted, or the VM's demand is below its fair share
BOUND_RESERVATION = 1
BOUND_SHARES = 2  # between its bounds: set by shares, activity and the idle tax
BOUND_LIMIT = 3


def _allocated(alloc, lam: float, on: np.ndarray) -> float:
    """Memory the targets at `lam` give the powered-on VMs."""
    return (alloc(lam) * on).sum()


def _allocated_in_place(S, a, k, lo, hi, on):
    """`_allocated` for the bisection: the same arithmetic on buffers allocated once."""
    km1a = (k - 1) * a
    x = np.empty(len(S))
    p = np.empty(len(S))
    below = np.empty(len(S), dtype=bool)

    def total(alloc, lam: float, on_: np.ndarray) -> float:
        np.multiply(lam, S, out=x)
        np.add(x, km1a, out=p)
        np.divide(p, k, out=p)
        np.less_equal(x, a, out=below)
        np.copyto(p, x, where=below)
        _clip(p, lo, hi, out=p)
        np.multiply(p, on, out=p)
        return np.add.reduce(p)

    return total


class Allocation:
    """Targets by min-funding revocation with the idle memory tax."""

    FLOAT_STATE = ("target", "d_rho", "d_tau", "d_k", "d_lo", "d_hi", "d_active")
    INT_STATE = ("bound",)

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
        surplus = self.free_mb - self.free_target_mb - self._on_sum(base)
        total = self._on_sum(extra)
        if surplus <= 0 or total <= 0:
            return base
        return base + extra * min(1.0, surplus / total)

    def _wanted(self) -> np.ndarray:
        """What each VM would consume with no limit and no reclamation: what its guest has
        touched (including ballooned, swapped and compressed pages), or, once it has touched
        its share of memory, that share; minus its sharing saving."""
        touched = self.memsize - self.untouched
        touched = np.maximum(touched, self._touch_goal_now())
        touched = np.maximum(touched, self.active_true)
        saved = self.shared - self.common_share
        return self._on_only(np.maximum(0.0, touched - saved))

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
            total = _allocated if self._plain else _allocated_in_place(S, a, k, lo, hi, on)
            for _ in range(60):
                if lam_hi - lam_lo <= 1e-10 * lam_hi:
                    break
                mid = 0.5 * (lam_lo + lam_hi)
                if total(alloc, mid, on) > available:
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
