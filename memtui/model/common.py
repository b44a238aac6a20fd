"""Names every mechanism of the host uses: the content kinds of guest pages, what acts on a VM
now (the bits of `Host.action`), and the array helpers.

The package imports no UI toolkit.
"""

from __future__ import annotations

import numpy as np

Z, F, D, U = 0, 1, 2, 3  # content kinds: zero, family, duplicate, unique

# What acts on a VM now (bits of Host.action)
ACT_BALLOON = 1
ACT_DEFLATE = 2
ACT_ZIP = 4
ACT_SWAP = 8
ACT_BLOCKED = 16
ACT_SHARE_BEFORE_SWAP = 32
ACT_LIMIT = 64
ACT_SWAP_IN = 128


def _div(a, b, empty: float = 0.0) -> np.ndarray:
    """a / b elementwise, `empty` where b is 0."""
    out = np.empty(b.shape if type(b) is np.ndarray else np.shape(b))
    out.fill(empty)
    return np.divide(a, b, out=out, where=b > 0)


# The clip ufunc itself (what np.clip calls), without np.clip's per-call Python overhead.
try:
    from numpy._core.umath import clip as _clip
except ImportError:  # numpy 1.x
    from numpy.core.umath import clip as _clip  # noqa: F401


# numpy's own count_nonzero (what np.count_nonzero calls for a whole array), without the
# Python wrapper around it: a third of the call's cost on the short arrays of a host.
try:
    from numpy._core._multiarray_umath import count_nonzero as _count_nonzero
except ImportError:  # numpy 1.x
    from numpy.core._multiarray_umath import count_nonzero as _count_nonzero


def _any(a: np.ndarray) -> bool:
    """Whether any element of `a` is true (nonzero): a.any(), at a tenth of its cost on the
    short arrays of a host."""
    return _count_nonzero(a) > 0


def _all(a: np.ndarray) -> bool:
    """Whether every element of `a` is true (nonzero): a.all(), as cheaply as `_any`."""
    return _count_nonzero(a) == a.size


def _rows(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """a[idx] (a copy of the rows `idx` of a pool) at a quarter of its cost on a large host."""
    return np.take(a, idx, axis=0)


def _rowsum(a: np.ndarray) -> np.ndarray:
    """a.sum(axis=1) of a pool (n x 3 or n x 4), the same figures (added column by column, in
    the order numpy adds a row) at a fraction of the cost for short rows."""
    out = a[:, 0] + a[:, 1]
    for j in range(2, a.shape[1]):
        out += a[:, j]
    return out
