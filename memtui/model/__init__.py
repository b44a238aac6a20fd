"""The memory manager of a simulated ESX host (memory-model.md).

`Host` holds the host's settings and the state of every VM as numpy arrays, one element per VM,
and advances in steps of `spec.STEP_S` simulated seconds. Every guest-physical page of a
powered-on VM is in one of the states of the spec's section 1:

    memsize = untouched + private + shared + balloon + swapped + zipped

Resident (granted) memory is kept per content kind (zero pages, content-family pages, intra-VM
duplicates, unique pages) and, within each kind, as unscanned, hashed-in-a-large-page or
shareable (scanned and in small pages). Sharing figures are derived from that state at every
step, so the host's conservation equation holds by construction:

    managed = free + sum(consumed + overhead + compression cache)

One module per mechanism of memory-model.md, each with the state it owns (docs/model.md,
"Where each mechanism lives"): admission, allocation, sampling, sharing, ballooning,
compression, swapping, reclamation (the coordinated goal), states, workload and pages; step
gives the order of a step, host the construction and settings, snapshot the reading.

The package imports no UI toolkit.
"""

from __future__ import annotations

from memtui.config import HostConfig, VMConfig, Workload
from memtui.model.admission import AdmissionError
from memtui.model.allocation import BOUND_DEMAND, BOUND_LIMIT, BOUND_RESERVATION, BOUND_SHARES
from memtui.model.common import (
    ACT_BALLOON,
    ACT_BLOCKED,
    ACT_DEFLATE,
    ACT_LIMIT,
    ACT_SHARE_BEFORE_SWAP,
    ACT_SWAP,
    ACT_SWAP_IN,
    ACT_ZIP,
    D,
    F,
    U,
    Z,
)
from memtui.model.host import VM_SETTING_KEYS, WORKLOAD_KEYS, Host, SettingError, load_host
from memtui.model.snapshot import Decision

__all__ = [
    "Host", "AdmissionError", "SettingError", "Decision", "Workload", "VMConfig", "HostConfig",
    "load_host", "VM_SETTING_KEYS", "WORKLOAD_KEYS", "Z", "F", "D", "U",
    "ACT_BALLOON", "ACT_DEFLATE", "ACT_ZIP", "ACT_SWAP", "ACT_BLOCKED", "ACT_SHARE_BEFORE_SWAP",
    "ACT_LIMIT", "ACT_SWAP_IN", "BOUND_DEMAND", "BOUND_RESERVATION", "BOUND_SHARES", "BOUND_LIMIT",
]
