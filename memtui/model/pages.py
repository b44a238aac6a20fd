"""Guest-physical page states (memory-model.md, section 1).

Every guest-physical page of a powered-on VM is untouched, private, shared, ballooned, swapped or
compressed: `memsize = untouched + private + shared + balloon + swapped + zipped`. This module
owns the guest's pages in memory and the moves every mechanism makes on them: resident (granted)
memory per content kind (zero, content family, intra-VM duplicate, unique) and the mix in which
a guest's new pages arrive.

State (one row per VM): `untouched` MB never touched; `res` resident MB per content kind
(n x 4); `mix` and `boot_mix` the content mix of new pages after and during boot (n x 4).
"""

from __future__ import annotations

import numpy as np

from memtui.model.common import D, F, U, Z, _any, _div, _rows, _rowsum


class GuestPages:
    """The resident pools, and the moves in and out of them."""

    FLOAT_STATE = ("untouched",)
    POOL_STATE = {"res": 4, "mix": 4, "boot_mix": 4}

    def _add_resident(self, amount: np.ndarray, large: bool, mix: np.ndarray | None = None) -> None:
        """Back `amount` MB of guest pages per VM with new machine pages (unscanned)."""
        if not _any(amount):
            return
        self.res += (self.mix if mix is None else mix) * amount[:, None]
        if large:
            self.large += amount

    def _unscanned_total(self) -> np.ndarray:
        return _rowsum(np.maximum(0.0, self.res[:, :3] - self.shr - self.hsh)) + self.res[:, U]

    def _take_private(self, x: np.ndarray) -> np.ndarray:
        """Remove up to x MB of each VM's private resident pages, chosen at random; returns
        what was taken. Shared pages are not taken: freeing one frees nothing. Works on the
        VMs that give pages only (most steps touch few)."""
        out = np.zeros(len(x))
        idx = np.nonzero(x > 0)[0]
        if len(idx) == 0:
            return out
        res, shr, hsh = _rows(self.res, idx), _rows(self.shr, idx), _rows(self.hsh, idx)
        shared_c = np.zeros_like(res)
        shared_c[:, Z] = shr[:, Z]
        shared_c[:, F] = np.minimum(self.shared_fam[idx], shr[:, F])
        shared_c[:, D] = shr[:, D]
        priv_c = np.maximum(0.0, res - shared_c)
        priv = _rowsum(priv_c)
        xi = np.minimum(x[idx], priv)
        frac = _div(xi, priv)
        taken_c = priv_c * frac[:, None]
        # Within each kind: unscanned, hashed (large pages), shareable but unmatched (family).
        unmatched_f = shr[:, F] - shared_c[:, F]
        hsh_take = hsh * frac[:, None]
        unm_take = unmatched_f * frac
        uns_total = _rowsum(np.maximum(0.0, res[:, :3] - shr - hsh)) + res[:, U]
        large = self.large[idx]
        large_unscanned = np.maximum(0.0, large - _rowsum(hsh))
        lu = np.minimum(1.0, _div(large_unscanned, uns_total))
        large = np.maximum(large - (_rowsum(hsh_take) + uns_total * frac * lu), 0.0)
        hsh = hsh - hsh_take
        shr[:, F] -= unm_take
        res = np.maximum(res - taken_c, 0.0)
        shr[:, F] = np.minimum(shr[:, F], res[:, F] - hsh[:, F])
        self.res[idx] = res
        self.shr[idx] = shr
        self.hsh[idx] = hsh
        self.large[idx] = large
        out[idx] = xi
        return out
