"""Transparent page sharing (memory-model.md, section 6).

Each VM is scanned once every Mem.ShareScanTime minutes, within Mem.ShareScanGHz and (5.x on)
Mem.ShareRateMax; zero pages collapse onto one machine page, a family page is shared as far as
another VM of the family holds it, intra-VM duplicates exist in `DUP_COPIES` copies. Under
hardware MMU with Mem.AllocGuestLargePage = 1 new memory is backed by large pages, hashed but not
shared until memory is tight and they are broken. A swap victim with a match is shared instead
(share before swap). The sharing figures, consumption and free memory are derived from the pools
after every change (`_derive`), so the conservation equation holds by construction.

State (one per VM): `shr` shareable MB per content kind (zero, family, duplicate; n x 3),
`hsh` hashed MB still in large pages (n x 3), `large` MB backed by large pages; derived each
step: `shared`, `shared_zero`, `shared_fam`, `common_share`, `private`, `consumed`, `granted`,
`zip_cache` and the host's `free_mb`.
"""

from __future__ import annotations

import numpy as np

from memtui import spec
from memtui.model.common import D, F, U, Z, _any, _clip, _div, _rows, _rowsum


class PageSharing:
    """Scanning, large pages, share before swap, and the figures derived from the pools."""

    FLOAT_STATE = ("large",)
    POOL_STATE = {"shr": 3, "hsh": 3}

    @property
    def salted(self) -> bool:
        return self.config.esx_version == "6.x" and self.advanced["Mem.ShareForceSalting"] > 0

    @property
    def large_pages(self) -> bool:
        return self.config.mmu == "hardware" and self.advanced["Mem.AllocGuestLargePage"] == 1

    def _tight(self) -> bool:
        """Memory is tight enough to break large pages (soft or lower; below high in 6.x)."""
        if self.config.esx_version == "6.x":
            return self.state != spec.STATE_HIGH
        return self.state in (spec.STATE_SOFT, spec.STATE_HARD, spec.STATE_LOW)

    def _share_step(self, dt: float) -> None:
        """A step of page sharing: a scan batch every `SCAN_BATCH_S` seconds, and large pages
        broken while memory is tight (all of them once large pages are turned off)."""
        on = self.on
        if int(self.t) % spec.SCAN_BATCH_S == 0:
            self._scan(spec.SCAN_BATCH_S * dt)
        if self.large_pages and self._tight():
            self._break_large(np.where(on, spec.LARGE_PAGE_BREAK_MB_S * dt, 0.0))
        elif not self.large_pages and _any(self.large):
            self._break_large(self.large.copy())

    def _derive(self) -> None:
        """Recompute sharing, consumption and free memory from the state."""
        on = self.on
        R = _rowsum(self.res)
        self.granted = R
        if self._all_on():
            shared_z, shared_d = self.shr[:, Z].copy(), self.shr[:, D].copy()
        else:
            shared_z, shared_d = self.shr[:, Z] * on, self.shr[:, D] * on
        n = len(self.vms)
        shared_f = np.zeros(n)
        common_f_share = np.zeros(n)
        groups = self._family_groups()
        if groups is not None:
            # Family pages of a VM are shared as far as another VM of its family holds them:
            # shared_i = min(v_i, the largest v_j of the others), and the family's common copies
            # are the second-largest v (what the two largest hold in common).
            members, famv, order_key, ends, counts, last, second, has_second = groups
            vals = self.shr[members, F]
            kept = self._family_figures
            if (not self._plain and kept is not None and kept[0] is groups
                    and not _any(kept[1] != vals)):
                # No VM's family pages changed since the last time: the same figures.
                shared_f, common_f_share = kept[2].copy(), kept[3].copy()
            else:
                sorted_vals = vals[np.lexsort((vals, order_key))]
                top1 = sorted_vals[last]
                top2 = np.where(has_second, sorted_vals[second], 0.0)
                other = np.where(vals < top1[famv], top1[famv], top2[famv])
                sf = np.minimum(vals, other)
                total = np.bincount(famv, weights=sf, minlength=len(counts))
                shared_f[members] = sf
                common_f_share[members] = top2[famv] * _div(sf, total[famv])
                self._family_figures = (groups, vals, shared_f.copy(), common_f_share.copy())
        zero_total = shared_z.sum()
        if self.salted:
            common_z_share = np.where(shared_z > 0, spec.PAGE_MB, 0.0)
        elif zero_total > 0:
            common_z_share = spec.PAGE_MB * shared_z / zero_total
        else:
            common_z_share = np.zeros_like(shared_z)
        common_z_share = np.minimum(common_z_share, shared_z)
        common_d_share = shared_d / spec.DUP_COPIES
        self.shared_zero = shared_z
        self.shared_fam = shared_f
        self.shared = shared_z + shared_f + shared_d
        self.common_share = common_z_share + common_f_share + common_d_share
        self.private = R - self.shared
        self.consumed = self.private + self.common_share
        self.zip_cache = self.zipped * spec.ZIP_RATIO
        self.free_mb = self.managed_mb - self._on_sum(self.consumed + self.overhead + self.zip_cache)

    # (groups, the family pages they were computed from, shared_f, common_f_share), for the
    # fast path: kept while no VM's family pages change.
    _family_figures = None

    def _family_groups(self):
        """VMs that share family pages, grouped by family (cached until settings change)."""
        key = (self.revision, len(self.vms))
        if self._groups_key == key:
            return self._groups
        elig = self.on & self.pshare & (self.family >= 0) & (not self.salted)
        members = np.nonzero(elig)[0]
        if len(members) == 0:
            self._groups = None
        else:
            fams, famv = np.unique(self.family[members], return_inverse=True)
            counts = np.bincount(famv)
            ends = np.cumsum(counts)
            # With the index of each family's largest and second-largest value once sorted.
            self._groups = (members, famv, famv, ends, counts, ends - 1, np.maximum(ends - 2, 0), counts >= 2)
        self._groups_key = key
        return self._groups

    def _scan(self, dt: float) -> None:
        on = self.on & self.pshare
        ghz = self.advanced["Mem.ShareScanGHz"]
        if ghz <= 0 or not _any(on):
            return
        rate = np.where(on, self.memsize / (self.advanced["Mem.ShareScanTime"] * 60.0), 0.0)
        if spec.version_at_least(self.config.esx_version, "5.x"):
            rate = np.minimum(rate, self.advanced["Mem.ShareRateMax"] / spec.PAGES_PER_MB)
        host_cap = ghz * self.config.cpu_cores * self.config.cpu_mhz / 1000.0
        total = rate.sum()
        if total > host_cap:
            rate *= host_cap / total
        frac = _div(rate * dt, self.memsize)
        unscanned = np.maximum(0.0, self.res[:, :3] - self.shr - self.hsh)
        new = np.minimum(unscanned, self.res[:, :3] * frac[:, None])
        uns_total = _rowsum(unscanned) + self.res[:, U]
        large_unscanned = np.maximum(0.0, self.large - _rowsum(self.hsh))
        lu = np.minimum(1.0, _div(large_unscanned, uns_total))
        self.hsh += new * lu[:, None]
        self.shr += new * (1 - lu)[:, None]

    def _break_large(self, amount: np.ndarray) -> None:
        """Break up to `amount` MB of large pages per VM; their hashed pieces share at once."""
        b = np.minimum(amount, self.large)
        if not _any(b):
            return
        q = _div(b, self.large)
        moved = self.hsh * q[:, None]
        self.hsh -= moved
        self.shr += moved
        self.large -= b

    def _share_before_swap(self, x: np.ndarray) -> np.ndarray:
        """Of x MB of victims per VM, share those with a match (zero pages, intra-VM duplicates,
        family pages another VM holds); returns the MB shared instead of swapped. Works on the
        VMs with victims only."""
        out = np.zeros(len(x))
        on = self.on & self.pshare
        idx = np.nonzero((x > 0) & on)[0]
        if len(idx) == 0:
            return out
        res, shr, hsh = _rows(self.res, idx), _rows(self.shr, idx), _rows(self.hsh, idx)
        cand = np.maximum(0.0, res[:, :3] - shr - hsh) + hsh
        fam_ok = (self.family >= 0) & (not self.salted)
        if _any(fam_ok[idx]):
            counts = np.bincount(self.family[on & fam_ok], minlength=max(1, len(self._families)))
            partner = fam_ok & (counts[np.where(fam_ok, self.family, 0)] >= 2)
            cand[:, F] *= partner[idx]
        else:
            cand[:, F] = 0.0
        priv = np.maximum(self.private[idx], 1e-9)
        frac = _clip(x[idx] / priv, 0, 1)
        conv = cand * frac[:, None]
        # pieces of large pages: the page is broken to share them
        hsh_part = np.minimum(hsh, conv * _div(hsh, cand))
        uns_part = conv - hsh_part
        hsh = hsh - hsh_part
        shr = shr + conv
        uns_total = _rowsum(np.maximum(0.0, res[:, :3] - (shr - conv) - (hsh + hsh_part))) + res[:, U]
        large = self.large[idx]
        large_unscanned = np.maximum(0.0, large - _rowsum(hsh) - _rowsum(hsh_part))
        lu = np.minimum(1.0, _div(large_unscanned, uns_total))
        self.large[idx] = np.maximum(0.0, large - _rowsum(hsh_part) - _rowsum(uns_part) * lu)
        self.hsh[idx] = hsh
        self.shr[idx] = shr
        # Zero pages and duplicates free memory at once; family pages once matched.
        out[idx] = _rowsum(conv)
        return out
