"""Published figures of the ESX memory manager, and the model's own named choices.

Everything here is data: the overhead tables, the free-memory thresholds of each release, the
advanced settings with their defaults and ranges, and the configuration maximums. Where VMware
published no figure the model chooses one; each such choice is a named constant below with a
comment that says so (see also docs/model.md).
"""

from __future__ import annotations

from dataclasses import dataclass

PAGES_PER_MB = 256  # 4 KB pages
PAGE_MB = 1.0 / PAGES_PER_MB

VERSIONS = ("4.0", "4.1", "5.x", "6.x")
DEFAULT_VERSION = "4.0"

# --------------------------------------------------------------------------------------------
# Overhead memory (memory-model.md section 3)

OVERHEAD_40_MEMSIZES_MB = (256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144)
# ESX 4.0, vSphere Resource Management Guide 4.0, Table 3-2. Columns: 1..8 vCPUs; None = n/a.
OVERHEAD_40_TABLE_MB: dict[int, tuple[float | None, ...]] = {
    256: (113.17, 159.43, 200.53, 241.62, 293.15, 334.27, 375.38, 416.50),
    512: (116.68, 164.96, 206.07, 247.17, 302.75, 343.88, 385.02, 426.15),
    1024: (123.73, 176.05, 217.18, 258.30, 322.00, 363.17, 404.34, 445.52),
    2048: (137.81, 198.20, 239.37, 280.53, 360.46, 401.70, 442.94, 484.18),
    4096: (165.98, 242.51, 283.75, 324.99, None, None, None, None),
    8192: (222.30, None, None, 413.91, None, None, None, None),
    16384: (334.96, None, None, None, None, None, None, None),
    32768: (560.27, None, None, None, None, None, None, None),
    65536: (1011.21, None, None, None, None, None, None, None),
    131072: (1912.48, None, None, None, None, None, None, None),
    262144: (3714.99, None, None, None, None, None, None, None),
}

# vSphere 6.5 / 6.7 sample table, used for "5.x" and "6.x" (no 4.1 or 5.0 table is published;
# 4.1 uses the 4.0 table). Columns: the vCPU counts below.
OVERHEAD_65_VCPUS = (1, 2, 4, 8)
OVERHEAD_65_TABLE_MB: dict[int, tuple[float, ...]] = {
    256: (20.29, 24.28, 32.23, 48.16),
    1024: (25.90, 29.91, 37.86, 53.82),
    4096: (48.64, 52.72, 60.67, 76.78),
    16384: (139.62, 143.98, 151.93, 168.60),
}

# --------------------------------------------------------------------------------------------
# Free memory states (section 7)

STATE_HIGH = "high"
STATE_CLEAR = "clear"
STATE_SOFT = "soft"
STATE_HARD = "hard"
STATE_LOW = "low"
STATES_ORDER = (STATE_HIGH, STATE_CLEAR, STATE_SOFT, STATE_HARD, STATE_LOW)  # best to worst

# ESX 4.0 thresholds, % of host memory.
THRESHOLDS_40_PCT = {STATE_HIGH: 6.0, STATE_SOFT: 4.0, STATE_HARD: 2.0, STATE_LOW: 1.0}
# 4.1 and later: soft / hard / low as fractions of minFree.
SOFT_OF_MINFREE = 0.64
HARD_OF_MINFREE = 0.32
LOW_OF_MINFREE = 0.16
# 6.x: the "high" state sits at 400 % of minFree (large pages are broken below it).
HIGH_OF_MINFREE_6X = 4.0
# 5.x / 6.x sliding scale: (size of band in MB, % of that band); the last band is unbounded.
MINFREE_SCALE = ((4096, 6.0), (8192, 4.0), (16384, 2.0), (None, 1.0))

# Unpublished: how far above a threshold free memory must climb before the state rises again
# (hysteresis), as a fraction of minFree.
STATE_RISE_MARGIN = 0.25
# Unpublished: how long free memory must stay above that level before the state rises (one
# Mem.BalancePeriod), so that reclamation toward the targets finishes before the state rises.
STATE_RISE_DWELL_S = 15.0
# The dwell starts again whenever free memory falls by more than this fraction of minFree in a
# step: a state rises only while free memory is steady or rising.
STATE_RISE_STEADY = 0.01
# Unpublished: the allocator aims free memory this fraction above the reclamation threshold, so
# that reclaiming towards the targets lifts the state out of soft and past the hysteresis band.
FREE_TARGET_MARGIN = 0.30

# Unpublished: in the high state the host gives back memory it has reclaimed from a VM only when
# the VM's target has risen by more than this share of its memsize (one standard error of the
# 100-page working-set sample is at most 5 % of memsize), so sampling noise does not make the
# balloons deflate and refill, which would drift free memory down into the soft state.
RECLAIM_DEADBAND_PCT = 5.0
# Unpublished: and only once that rise has lasted this long (one Mem.SamplePeriod, the time the
# active estimate takes to show a new sample), so that one high sample of a small working set
# does not deflate a balloon whose refill takes the host into soft again; a rise that lasts is
# given back. On a host that is not overcommitted the memory is given back at once.
RECLAIM_RELEASE_DWELL_S = 60.0

# --------------------------------------------------------------------------------------------
# Advanced settings (section 13)


@dataclass(frozen=True)
class AdvancedSetting:
    name: str
    default: int
    minimum: int
    maximum: int
    meaning: str
    since: str = "4.0"  # first release where it exists


ADVANCED_SETTINGS: dict[str, AdvancedSetting] = {
    s.name: s
    for s in (
        AdvancedSetting("Mem.IdleTax", 75, 0, 99, "idle memory tax rate, %"),
        AdvancedSetting("Mem.IdleTaxType", 1, 0, 1, "0 flat (the paper's formula), 1 variable"),
        AdvancedSetting("Mem.SamplePeriod", 60, 1, 600, "seconds of VM time per working-set sample"),
        AdvancedSetting("Mem.BalancePeriod", 15, 1, 600, "seconds between reallocations"),
        AdvancedSetting("Mem.CtlMaxPercent", 65, 0, 99, "balloon cap, % of memsize; 0 disables"),
        AdvancedSetting("Mem.ShareScanTime", 60, 10, 600, "minutes to scan a whole VM"),
        AdvancedSetting("Mem.ShareScanGHz", 4, 0, 32, "MB/s scanned per GHz of host CPU; 0 disables"),
        AdvancedSetting("Mem.AllocGuestLargePage", 1, 0, 1, "back guest memory with host large pages"),
        AdvancedSetting("Mem.MemZipEnable", 1, 0, 1, "compression cache (4.1+)", "4.1"),
        AdvancedSetting("Mem.MemZipMaxPct", 10, 5, 100, "compression cache cap, % of memsize (4.1+)", "4.1"),
        AdvancedSetting("Mem.MinFreePct", 6, 1, 50, "high threshold, % of host memory (4.1)", "4.1"),
        AdvancedSetting("Mem.ShareRateMax", 1024, 0, 32768, "per-VM scan cap, pages/s (5.x+)", "5.x"),
        AdvancedSetting("Mem.ShareForceSalting", 2, 0, 2, "inter-VM sharing off unless salts match (6.0+)", "6.x"),
    )
}


def version_at_least(version: str, since: str) -> bool:
    return VERSIONS.index(version) >= VERSIONS.index(since)


# --------------------------------------------------------------------------------------------
# Per-VM settings (section 2)

SHARES_PER_MB = {"low": 5, "normal": 10, "high": 20}


@dataclass(frozen=True)
class Maximums:
    vcpus_per_vm: int
    memory_mb_per_vm: int
    vms_per_host: int
    memory_mb_per_host: int


# Section 14. 4.x from the ESX 4.0 configuration maximums; 5.x from vSphere 5.5's; 6.x from the
# spec's "recent ESXi" figures.
MAXIMUMS = {
    "4.0": Maximums(8, 255 * 1024, 320, 1024 * 1024),
    "4.1": Maximums(8, 255 * 1024, 320, 1024 * 1024),
    "5.x": Maximums(64, 1024 * 1024, 512, 4 * 1024 * 1024),
    "6.x": Maximums(128, 24 * 1024 * 1024, 1024, 24 * 1024 * 1024),
}

# --------------------------------------------------------------------------------------------
# The model's own choices where nothing is published (documented in docs/model.md)

STEP_S = 1.0  # simulation step: the balloon driver polls about once a second
SCAN_BATCH_S = 5  # the page-sharing scanner runs in batches of this many seconds' work
SAMPLE_PAGES = 100  # pages sampled per VM per sample period (the paper's n)
# Active-memory averages: gain per 30 s of sample period (the paper's Figure 6 suggests the slow
# average closes about a quarter of the gap each 30 s period).
ACTIVE_SLOW_GAIN_PER_30S = 0.25
ACTIVE_FAST_GAIN_PER_30S = 0.75
IDLE_ACTIVE_PCT = 5.0  # working set of a guest whose profile gives none (an idle guest)
BALLOON_INFLATE_MB_S = 16.0  # vmmemctl inflate rate per VM
BALLOON_DEFLATE_MB_S = 32.0  # vmmemctl deflate rate per VM
ZIP_RATE_MB_S = 64.0  # pages compressed (or decompressed) per second per VM (CPU-bound)
COMPRESSIBLE_PCT = 60.0  # default share of a guest's pages that compress to 2 KB or less (workload key)
COMPRESSIBLE_FRACTION = COMPRESSIBLE_PCT / 100.0
ZIP_RATIO = 0.5  # a compressed page takes a 2 KB slot of the cache
DUP_COPIES = 2.0  # an intra-VM duplicate page exists in this many copies on average
LARGE_PAGE_BREAK_MB_S = 64.0  # large pages broken per VM per second when memory is tight
GUEST_TOUCH_MB_S = 32.0  # a guest whose working set grows touches new memory at this rate
GUEST_RETOUCH_MB_S = 2.0  # a booted guest refills freed memory (page cache) at this rate
# A booted guest at work overwrites the zero pages beyond its steady share (those its boot
# zeroed) at the rate its working set turns over: its working set's size every this many seconds.
# Calibrated on the paper's Fig. 8, where sharing falls from its boot peak (345 MB) to its working
# level (about 232 MB) within 15 to 30 minutes.
WORKSET_TURNOVER_S = 600.0
COW_WRITE_FRACTION = 0.25  # of shared pages that join the working set, share written (COW break)
DEFAULT_BOOT_S = 60
