"""The live host behind the API: exclusive access to the model, its clock, and what a request
reads.

The model is single-threaded. A `Gate` runs a function with the model to itself: for
`memtui serve` a lock shared with the clock thread, in the terminal UI the UI's own thread.
Reads go through a `View`, the host's figures at one instant, built once per model step and
shared by every request that reads in that step.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from memtui.config import HostConfig, VMConfig
    from memtui.metrics import Snapshot
    from memtui.session import Session

PERF_INTERVAL_S = 20  # the realtime statistics interval of an ESX host
PERF_SAMPLES = 180  # an hour of realtime samples, as an ESX host keeps


@dataclass(frozen=True)
class View:
    """The host at one instant of its clock."""

    snap: Snapshot
    vms: tuple[VMConfig, ...]
    advanced: dict[str, int]
    config: HostConfig
    now: datetime  # the host's clock
    boot_time: datetime  # the host's clock at simulated time 0
    power_on_t: dict[str, float]  # simulated time each powered-on VM was powered on
    readonly: bool
    memo: dict = field(default_factory=dict, compare=False, repr=False)  # property values built at this instant

    def vm_config(self, name: str) -> VMConfig:
        for vm in self.vms:
            if vm.name == name:
                return vm
        raise KeyError(name)


class PerfHistory:
    """The realtime (20 s) samples of the host's figures: a snapshot taken each time the
    simulated clock passes a 20 s boundary, the last hour kept."""

    def __init__(self) -> None:
        self.samples: deque[Snapshot] = deque(maxlen=PERF_SAMPLES)
        self._host_id: int | None = None
        self._next_t = 0.0

    def observe(self, host) -> None:
        if id(host) != self._host_id:
            self._host_id = id(host)
            self.samples.clear()
            self._next_t = (host.t // PERF_INTERVAL_S + 1) * PERF_INTERVAL_S
            return
        if host.t + 1e-9 >= self._next_t:
            self.samples.append(host.snapshot())
            self._next_t = (host.t // PERF_INTERVAL_S + 1) * PERF_INTERVAL_S

    def copy(self) -> list[Snapshot]:
        return list(self.samples)


class Gate:
    """Runs functions with exclusive use of a memtui Session (and its Host)."""

    source = "API"

    def __init__(self) -> None:
        self.perf = PerfHistory()
        self._view: View | None = None
        self._view_key: tuple | None = None
        self._epoch: dict[int, datetime] = {}
        self._view_lock = threading.Lock()

    # subclasses provide run(fn) and session
    def run(self, fn: Callable[[Session], Any]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def changed(self) -> None:
        """Called (with the model held) after an API call changed the host."""

    def _boot_time(self, session: Session) -> datetime:
        key = id(session.host)
        epoch = self._epoch.get(key)
        if epoch is None:
            now = datetime.now(UTC).replace(microsecond=0)
            epoch = self._epoch[key] = now - timedelta(seconds=session.host.t)
        return epoch

    def clock(self, session: Session) -> datetime:
        return self._boot_time(session) + timedelta(seconds=session.host.t)

    def view(self) -> View:
        return self.run(self._current_view)

    def _current_view(self, session: Session) -> View:
        host = session.host
        key = (id(host), host.t, host.revision, len(host.log))
        with self._view_lock:
            if self._view_key == key and self._view is not None:
                return self._view
        snap = host.snapshot()
        boot = self._boot_time(session)
        on_t = {vm.name: float(host.power_on_t[i]) for i, vm in enumerate(host.vms) if host.on[i]}
        view = View(snap=snap, vms=tuple(host.vms), advanced=dict(host.advanced),
                    config=copy.copy(host.config), now=boot + timedelta(seconds=host.t),
                    boot_time=boot, power_on_t=on_t, readonly=session.readonly)
        with self._view_lock:
            self._view, self._view_key = view, key
        return view

    def perf_samples(self) -> list[Snapshot]:
        return self.run(lambda session: self.perf.copy())


class LockedGate(Gate):
    """For `memtui serve`: a lock around the model and a thread that runs its clock at
    `speed` times real time."""

    def __init__(self, session: Session, speed_x: float = 1.0):
        super().__init__()
        self.session = session
        self.lock = threading.RLock()
        session.set_speed(speed_x)
        session.speed_x = float(speed_x)  # any speed the command line allows, not only the UI's steps
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self, fn):
        with self.lock:
            return fn(self.session)

    def start_clock(self) -> None:
        with self.lock:
            self.perf.observe(self.session.host)
            self.session.set_running(True)
            self.session.tick()
        self._thread = threading.Thread(target=self._clock, name="memtui-clock", daemon=True)
        self._thread.start()

    def _clock(self) -> None:
        while not self._stop.is_set():
            with self.lock:
                self.session.tick()
                self.perf.observe(self.session.host)
                delay = self.session.tick_delay_s()
            self._stop.wait(delay)

    def stop_clock(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def wait_until(deadline: float, step_s: float = 0.05) -> float:
    """Seconds left until `deadline` (time.monotonic), at most `step_s`."""
    return max(0.0, min(step_s, deadline - time.monotonic()))
