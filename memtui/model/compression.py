"""Memory compression (memory-model.md, section 11; ESX 4.1 and later).

Before a page is swapped the host tries to compress it: a page that compresses to 2 KB or less
(`compressible`, the workload's `compressible_pct`) goes to the VM's compression cache while the
cache has room (Mem.MemZipMaxPct % of memsize), at most `ZIP_RATE_MB_S` a second; otherwise it
is swapped. A compressed page the guest touches is decompressed (a fault far cheaper than a
swap-in; memtui.model.swapping serves both).

State (one per VM): `zipped` compressed guest MB (ZIP/MB), `zipped_act` the part in the working
set, `zip_tgt` the compression goal, `zip_rate` and `unzip_rate` MB/s, `compressible` the
share of pages that compress well; derived: `zip_cache` (CACHEUSD).
"""

from __future__ import annotations

import numpy as np

from memtui import spec
from memtui.model.common import ACT_ZIP, _div


class Compression:
    """The compression cache: its goal, and compressing swap victims."""

    FLOAT_STATE = ("zipped", "zipped_act", "zip_tgt", "zip_rate", "unzip_rate", "compressible")

    @property
    def compression(self) -> bool:
        return spec.version_at_least(self.config.esx_version, "4.1") and self.advanced["Mem.MemZipEnable"] == 1

    def _zip_cap(self) -> np.ndarray:
        """MB of guest pages each VM's compression cache can hold (Mem.MemZipMaxPct of its
        memory, at ZIP_RATIO); shared, never changed in place."""
        return self._settled("zip_cap", lambda: (
            self.memsize * self.advanced["Mem.MemZipMaxPct"] / 100.0 / spec.ZIP_RATIO))

    def _set_rest_targets(self, goal: np.ndarray, b_goal: np.ndarray) -> None:
        """The compression goal and SWTGT: what the balloon's goal leaves of the reclamation
        goal, the compressible part to the cache (4.1+) as far as it has room."""
        rest_goal = np.maximum(0.0, goal - b_goal)
        if self._settled("compression", lambda: self.compression):
            zip_cap = self._zip_cap()
            more = self.compressible * np.maximum(0.0, rest_goal - self.swapped - self.zipped)
            zip_goal = np.minimum(self.zipped + more, np.maximum(self.zipped, zip_cap))
        else:
            zip_goal = self.zipped
        self.zip_tgt = self._on_only(np.minimum(zip_goal, rest_goal))
        self.swap_tgt = self._on_only(np.maximum(0.0, rest_goal - self.zip_tgt))

    def _compress(self, rest: np.ndarray, dt: float, act: np.ndarray) -> np.ndarray:
        """Of `rest` MB of swap victims per VM, compress the compressible ones while the cache
        has room; returns the victims left to swap (fewer when the compressor is the
        bottleneck this step)."""
        room = np.maximum(0.0, self._zip_cap() - self.zipped)
        # Of the victims, the compressible ones go to the cache while it has room; when
        # the compressor is the bottleneck, fewer victims are taken this step.
        c = self.compressible
        rate = spec.ZIP_RATE_MB_S * dt
        z = np.minimum(np.minimum(rest * c, room), rate)
        rate_bound = (rate < np.minimum(rest * c, room)) & (c > 0)
        fa = self._active_resident_fraction()
        zgot = self._take_private(z)
        self.zipped += zgot
        self.zipped_act += zgot * fa
        self.zip_rate = zgot / dt
        rest = np.where(rate_bound, _div(zgot * (1 - c), c), rest - zgot)
        act |= np.where(zgot > 0, ACT_ZIP, 0)
        return rest
