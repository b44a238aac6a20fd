"""Active-memory estimation by sampling (memory-model.md, section 8).

Each Mem.SamplePeriod a VM's sample of `SAMPLE_PAGES` random pages is drawn from a binomial
distribution on the share of its memory the guest really uses; a slow and a fast average, and a
fast average that includes the current, unfinished period, are kept, and the estimate is the
largest of the three. The allocation sees only the estimate (`Host.active_estimate`).

State (one per VM): `act_slow`, `act_fast`, `act_cur` the three averages (fractions of
memsize); `sample_acc` the period's touched share so far, times seconds; `sample_elapsed`
seconds into the period. The host's `rng` draws the samples.
"""

from __future__ import annotations

import numpy as np

from memtui import spec
from memtui.model.common import _all, _any, _clip


def _gains(period: float) -> tuple[float, float]:
    """The slow and fast averages' gains per sample of `period` seconds."""
    gains = _GAINS.get(period)
    if gains is None:
        gains = _GAINS[period] = (1 - (1 - spec.ACTIVE_SLOW_GAIN_PER_30S) ** (period / 30.0),
                                  1 - (1 - spec.ACTIVE_FAST_GAIN_PER_30S) ** (period / 30.0))
    return gains


_GAINS: dict[float, tuple[float, float]] = {}


class ActiveMemorySampling:
    """The working-set sample and its three averages."""

    FLOAT_STATE = ("act_slow", "act_fast", "act_cur", "sample_acc", "sample_elapsed")

    def _sample(self, dt: float) -> None:
        on = self.on
        period = float(self.advanced["Mem.SamplePeriod"])
        ws = np.minimum(self.active_true, self.memsize - self.balloon)
        sized = self._settled("sampled", lambda: on & (self.memsize > 0))
        divisor = self._settled("sample_divisor", lambda: np.where(self.memsize > 0, self.memsize, 1))
        all_on = self._all_on()
        if all_on and self._settled("all_sampled", lambda: _all(sized)):
            p = _clip(ws / divisor, 0, 1)  # every VM sampled: np.where(sized, ...) is the same
        else:
            p = np.where(sized, _clip(ws / divisor, 0, 1), 0.0)
        self.sample_acc += p * dt
        self.sample_elapsed += dt if all_on else np.where(on, dt, 0.0)
        gs, gf = _gains(period)
        done = (self.sample_elapsed >= period) if all_on else on & (self.sample_elapsed >= period)
        if _any(done):
            idx = np.nonzero(done)[0]
            p_avg = self.sample_acc[idx] / self.sample_elapsed[idx]
            hits = self.rng.binomial(spec.SAMPLE_PAGES, _clip(p_avg, 0, 1))
            f = hits / spec.SAMPLE_PAGES
            self.act_slow[idx] += gs * (f - self.act_slow[idx])
            self.act_fast[idx] += gf * (f - self.act_fast[idx])
            self.sample_acc[idx] = 0.0
            self.sample_elapsed[idx] = 0.0
        # The fast average with the current, unfinished period: its count so far is a lower
        # bound of the period's, so it only ever raises the estimate.
        partial = self.sample_acc / period
        self.act_cur = self.act_fast + gf * np.maximum(partial - self.act_fast, 0.0)

    @property
    def active_estimate(self) -> np.ndarray:
        est = np.maximum(np.maximum(self.act_slow, self.act_fast), self.act_cur) * self.memsize
        return est if self._all_on() else est * self.on
