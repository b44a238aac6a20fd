"""Recent history of a host's figures, in bounded deques, for charts and trends."""

from __future__ import annotations

from collections import deque

from memtui.metrics import Snapshot

HOST_SERIES = ("free_mb", "consumed_mb", "balloon_mb", "swapped_mb", "zipped_mb", "shared_mb",
               "shared_saved_mb")
VM_SERIES = ("consumed_mb", "target_mb", "active_mb", "active_true_mb", "balloon_mb", "swapped_mb",
             "zipped_mb", "shared_mb", "throughput_pct")


class History:
    """The last `length` samples of the host and of each VM (by name)."""

    def __init__(self, length: int = 600):
        self.length = length
        self.t: deque[float] = deque(maxlen=length)
        self.host: dict[str, deque[float]] = {k: deque(maxlen=length) for k in HOST_SERIES}
        self.vms: dict[str, dict[str, deque[float]]] = {}
        self.vm_t: dict[str, deque[float]] = {}

    def add(self, snap: Snapshot) -> None:
        if self.t and snap.t <= self.t[-1]:
            return
        self.t.append(snap.t)
        for k in HOST_SERIES:
            self.host[k].append(getattr(snap.host, k))
        for vm in snap.vms:
            series = self.vms.get(vm.name)
            if series is None:
                series = self.vms[vm.name] = {k: deque(maxlen=self.length) for k in VM_SERIES}
                self.vm_t[vm.name] = deque(maxlen=self.length)
            self.vm_t[vm.name].append(snap.t)
            for k in VM_SERIES:
                series[k].append(getattr(vm, k))
        gone = set(self.vms) - {vm.name for vm in snap.vms}
        for name in gone:
            del self.vms[name]
            del self.vm_t[name]

    def clear(self) -> None:
        self.__init__(self.length)
