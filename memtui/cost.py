"""What reclamation costs the guest: time waiting on memory, and the workload's throughput.

VMware teaches that ballooning costs a guest little and hypervisor swapping a lot; vCenter shows
the cost as memory latency (`mem.latency`, the share of time a VM waits on swapped or compressed
memory) and esxtop as %SWPWT (the share of time it waits on the VMkernel's swapping). This module
turns the model's state of each VM after its last step into those figures:

- swap-in: the swapped working-set pages the guest faulted back this step (`Host.swap_in_rate`,
  the faults the datastore served, thrashing at a limit included) kept it waiting while the
  datastore read them, at datastore speed (`host.swap_mb_per_s`); working-set pages still on disk
  (`Host.swapped_act`) stall their share of the workload;
- decompression: compressed working-set pages read back this step (`Host.unzip_rate`) cost
  `DECOMPRESS_S_PER_MB` each MB, far less than a swap-in; those still compressed
  (`Host.zipped_act`) stall their share as swapped ones do;
- the guest's own paging: when the balloon holds more than the guest's free memory, the guest
  pages part of its working set to its own swap (`guest_paging_mb`), and that part stalls its
  share of the workload;
- the balloon itself: a ballooned guest runs a little slower than one configured with the
  memory it is left with (Waldspurger 2002, Fig. 2: 1.4 % with a 32 MB balloon in a 256 MB VM,
  4.4 % with a 128 MB balloon), interpolated on the ballooned share of memory.

The relative throughput of the workload is the share of the step it was not waiting, less the
balloon's overhead: 100 % when all of its working set is resident and it holds no balloon.

The waits and the throughput are averaged over the last `AVERAGE_S` simulated seconds (esxtop's
default refresh interval: esxtop too shows the mean over its interval); the working set out of
memory is the figure now. The module imports no UI toolkit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memtui import spec

# Waldspurger 2002, Fig. 2 (dbench in a 256 MB VM ballooned down, against VMs configured with the
# same memory): the overhead of ballooning, at the share of memory the balloon held.
BALLOON_OVERHEAD_POINTS = ((0.0, 0.0), (32 / 256, 1.4), (128 / 256, 4.4))
# Past the largest balloon measured, the overhead goes on along the line through the two
# published points (8 % per unit of ballooned share); the model's choice.
BALLOON_OVERHEAD_SLOPE_PCT = (4.4 - 1.4) / (128 / 256 - 32 / 256)
# Seconds of guest time to read back one MB of compressed memory (4 microseconds a 4 KB page):
# VMware publishes only that decompressing costs far less than a swap-in; the model's choice is
# ten times less than swapping in at the default datastore speed (100 MB/s, 10 ms a MB).
DECOMPRESS_S_PER_MB = 0.001


@dataclass(frozen=True)
class GuestCost:
    """Per VM (arrays in the host's VM order) what memory costs its guest now."""

    swap_wait_pct: np.ndarray  # %SWPWT: share of time waiting on host swap-in
    zip_wait_pct: np.ndarray  # share of time waiting on decompression
    mem_latency_pct: np.ndarray  # vCenter mem.latency: swap-in and decompression together
    guest_paging_wait_pct: np.ndarray  # share of work stalled on the guest's own paging
    balloon_overhead_pct: np.ndarray  # the balloon's own cost (Fig. 2)
    throughput_pct: np.ndarray  # relative throughput, 100 = all of the working set resident
    ws_swapped_mb: np.ndarray  # working set swapped by the host now
    ws_zipped_mb: np.ndarray  # working set compressed now
    ws_guest_paged_mb: np.ndarray  # working set in the guest's own swap (balloon)


def balloon_overhead_pct(balloon_mb, memsize_mb) -> np.ndarray:
    """The balloon's overhead, % of throughput, from the ballooned share of memory."""
    memsize = np.asarray(memsize_mb, dtype=float)
    balloon = np.asarray(balloon_mb, dtype=float)
    shape = np.broadcast_shapes(np.shape(balloon), np.shape(memsize))
    frac = np.divide(np.broadcast_to(balloon, shape), np.broadcast_to(memsize, shape),
                     out=np.zeros(shape), where=np.broadcast_to(memsize, shape) > 0)
    frac = np.clip(frac, 0.0, 1.0)
    xs = [p[0] for p in BALLOON_OVERHEAD_POINTS]
    ys = [p[1] for p in BALLOON_OVERHEAD_POINTS]
    inside = np.interp(frac, xs, ys)
    beyond = ys[-1] + (frac - xs[-1]) * BALLOON_OVERHEAD_SLOPE_PCT
    return np.where(frac > xs[-1], beyond, inside)


def _core(swap_in_mb_s, unzip_mb_s, ws_swapped, ws_zipped, ws, balloon, memsize, on,
          speed_mb_s: float) -> dict[str, np.ndarray]:
    """The cost figures from the state of a step, elementwise (any shape: one step's VMs, or a
    window of steps by VMs)."""
    dt = spec.STEP_S
    ws = np.where(on, ws, 0.0)
    has_ws = ws > 1e-9
    safe_ws = np.where(has_ws, ws, 1.0)
    ws_swapped = np.where(on, np.clip(ws_swapped, 0.0, None), 0.0)
    ws_zipped = np.where(on, np.clip(ws_zipped, 0.0, None), 0.0)
    ws_guest = np.where(on, np.maximum(0.0, ws - (memsize - balloon)), 0.0)
    speed = max(float(speed_mb_s), 1e-9)
    # Faults served this step, and the working set still out after it.
    swap_in_mb = np.where(on, swap_in_mb_s, 0.0) * dt
    unzip_mb = np.where(on, unzip_mb_s, 0.0) * dt

    def stall(out_mb):
        return np.where(has_ws, dt * np.minimum(1.0, out_mb / safe_ws), 0.0)

    swap_s = swap_in_mb / speed + stall(ws_swapped)
    zip_s = unzip_mb * DECOMPRESS_S_PER_MB + stall(ws_zipped)
    guest_s = stall(ws_guest)
    total = swap_s + zip_s + guest_s
    scale = dt / np.maximum(total, dt)  # waits beyond the whole step scaled down to it
    swap_s, zip_s, guest_s = swap_s * scale, zip_s * scale, guest_s * scale
    waiting = np.minimum(1.0, (swap_s + zip_s + guest_s) / dt)
    over = np.where(on, balloon_overhead_pct(balloon, memsize), 0.0)
    return {
        "swap_wait_pct": np.where(on, 100.0 * swap_s / dt, 0.0),
        "zip_wait_pct": np.where(on, 100.0 * zip_s / dt, 0.0),
        "guest_paging_wait_pct": np.where(on, 100.0 * guest_s / dt, 0.0),
        "balloon_overhead_pct": over,
        "throughput_pct": np.where(on, 100.0 * (1.0 - waiting) * (1.0 - over / 100.0), 0.0),
        "ws_swapped_mb": ws_swapped, "ws_zipped_mb": ws_zipped, "ws_guest_paged_mb": ws_guest,
    }


def guest_cost(host) -> GuestCost:
    """What memory costs each guest of `host` now (after its last step)."""
    c = _core(host.swap_in_rate, host.unzip_rate, host.swapped_act, host.zipped_act,
              host.active_true, host.balloon, host.memsize, host.on, host.config.swap_mb_per_s)
    return GuestCost(mem_latency_pct=c["swap_wait_pct"] + c["zip_wait_pct"], **c)


# ------------------------------------------------------------------------------------------
# Averages over the last seconds, as esxtop shows its figures over its refresh interval

# Seconds the waits and the throughput are averaged over: esxtop's default refresh interval.
AVERAGE_S = 5
AVERAGED = ("swap_wait_pct", "zip_wait_pct", "guest_paging_wait_pct", "throughput_pct")
# The state of a step the averages are computed from, kept for the last AVERAGE_S steps.
_RAW = ("swap_in_rate", "unzip_rate", "swapped_act", "zipped_act", "active_true", "balloon", "on")


def advance(host, dt: float) -> None:
    """Keep the state of the step just simulated in the host's window of the last `AVERAGE_S`
    seconds (cheap: the figures are computed from it only when they are read).

    The window is a tuple of one array per step (`_RAW` x VMs), never changed in place, so a
    forked host can share it; it is kept with the VM names it belongs to and realigned when VMs
    come and go."""
    now = np.array([getattr(host, k) for k in _RAW], dtype=float)
    prev = getattr(host, "cost_window", None)
    rev = host.revision
    if prev is not None and prev[2] == rev and prev[1][-1].shape[1] == now.shape[1]:
        names, old = prev[0], prev[1]
    else:
        names = tuple(vm.name for vm in host.vms)
        old = ()
        if prev is not None:
            old_names, old = prev[0], prev[1]
            if old_names != names:
                where = {name: j for j, name in enumerate(old_names)}
                realigned = []
                for step in old:
                    moved = np.zeros((len(_RAW), len(names)))  # "on" = 0: not counted
                    for i, name in enumerate(names):
                        j = where.get(name)
                        if j is not None:
                            moved[:, i] = step[:, j]
                    realigned.append(moved)
                old = tuple(realigned)
    keep = max(1, int(round(AVERAGE_S / spec.STEP_S))) - 1
    window = (old[max(0, len(old) - keep):] if keep else ()) + (now,)
    host.cost_window = (names, window, rev)


def averaged(host, cost: GuestCost | None = None) -> dict[str, np.ndarray]:
    """The averaged figures over the window (the figures now where it holds none)."""
    c = guest_cost(host) if cost is None else cost
    out = {k: getattr(c, k) for k in AVERAGED}
    prev = getattr(host, "cost_window", None)
    if prev is None or not len(host.vms) or prev[1][-1].shape[1] != len(host.vms):
        return out
    if prev[2] != host.revision and prev[0] != tuple(vm.name for vm in host.vms):
        return out
    w = np.stack(prev[1])
    on_w = w[:, _RAW.index("on")] > 0.5
    figs = _core(*(w[:, _RAW.index(k)] for k in _RAW[:-1]), host.memsize[None, :], on_w,
                 host.config.swap_mb_per_s)
    count = on_w.sum(axis=0)
    on = host.on & (count > 0)
    for k in AVERAGED:
        mean = np.divide(np.where(on_w, figs[k], 0.0).sum(axis=0), count,
                         out=np.zeros(len(host.vms)), where=count > 0)
        out[k] = np.where(on, mean, out[k])
    return out


# The snapshot's fields (memtui.metrics.VMMetrics) filled here.
SNAPSHOT_FIELDS = (
    "swap_wait_pct", "zip_wait_pct", "mem_latency_pct", "guest_paging_wait_pct",
    "balloon_overhead_pct", "throughput_pct", "ws_swapped_mb", "ws_zipped_mb",
)


def figures(host) -> dict[str, np.ndarray]:
    """Per VM, every cost figure of the snapshot (waits and throughput averaged)."""
    c = guest_cost(host)
    avg = averaged(host, c)
    return {
        "swap_wait_pct": avg["swap_wait_pct"], "zip_wait_pct": avg["zip_wait_pct"],
        "mem_latency_pct": avg["swap_wait_pct"] + avg["zip_wait_pct"],
        "guest_paging_wait_pct": avg["guest_paging_wait_pct"],
        "balloon_overhead_pct": c.balloon_overhead_pct, "throughput_pct": avg["throughput_pct"],
        "ws_swapped_mb": c.ws_swapped_mb, "ws_zipped_mb": c.ws_zipped_mb,
    }


def snapshot_columns(host) -> dict[str, list[float]]:
    """The cost fields of the snapshot, a list (one value per VM) each, rounded as the snapshot
    rounds."""
    f = figures(host)
    return {k: np.round(f[k], 2).tolist() for k in SNAPSHOT_FIELDS}


def _mb(x: float) -> str:
    return f"{round(float(x), 2):,.0f} MB"


def _pct(x: float) -> str:
    return f"{x:.0f} %" if x >= 10 or x == 0 else f"{x:.1f} %"


def explain(vm, swap_mb_per_s: float) -> list[str]:
    """Sentences on what memory costs the guest of `vm` (a VMMetrics), for the why pane."""
    if vm.power != "on":
        return []
    name = vm.name
    ws = vm.active_true_mb
    causes = []
    if vm.ws_swapped_mb >= 0.5:
        causes.append(f"{_mb(vm.ws_swapped_mb)} of its working set is swapped")
    if vm.ws_zipped_mb >= 0.5:
        causes.append(f"{_mb(vm.ws_zipped_mb)} of its working set is compressed")
    if vm.guest_paging_mb >= 0.5:
        causes.append(f"its balloon pushed {_mb(vm.guest_paging_mb)} of its working set to the "
                      f"guest's own swap")
    if vm.swap_in_mb_s > 0.005 and vm.ws_swapped_mb < 0.5:
        causes.append(f"it faults swapped pages back in at {vm.swap_in_mb_s:.2f} MB/s")
    if vm.unzip_rate_mb_s > 0.005 and vm.ws_zipped_mb < 0.5:
        causes.append(f"it reads compressed pages back at {vm.unzip_rate_mb_s:.2f} MB/s")
    if vm.balloon_mb >= 0.5:
        causes.append(f"its balloon of {_mb(vm.balloon_mb)} costs {_pct(vm.balloon_overhead_pct)} "
                      f"(guest structures sized for {_mb(vm.memory_mb)})")
    tp = vm.throughput_pct
    if not causes:
        return [f"{name} runs at {_pct(tp)} of its throughput: none of its working set "
                f"({_mb(ws)}) is swapped, compressed or in its own swap, and it holds no balloon."]
    out = [f"{name} runs at {_pct(tp)} of its throughput because " + "; ".join(causes) + "."]
    waits = []
    if vm.swap_wait_pct > 0:
        waits.append(f"{_pct(vm.swap_wait_pct)} on swap-in from the datastore ({swap_mb_per_s:g} MB/s)")
    if vm.zip_wait_pct > 0:
        waits.append(f"{_pct(vm.zip_wait_pct)} on decompression")
    if vm.guest_paging_wait_pct > 0:
        waits.append(f"{_pct(vm.guest_paging_wait_pct)} on its own paging")
    if waits:
        out.append(f"Of its time the guest waits {', '.join(waits)}: memory latency (vCenter "
                   f"mem.latency) {_pct(vm.mem_latency_pct)}, esxtop %SWPWT {_pct(vm.swap_wait_pct)}.")
    if vm.balloon_mb >= 0.5 and vm.ws_swapped_mb < 0.5 and vm.guest_paging_mb < 0.5:
        out.append("Ballooning takes the guest's idle pages, so it costs little; host swapping "
                   "takes pages at random, working set included, and costs much more.")
    return out


__all__ = ["GuestCost", "guest_cost", "snapshot_columns", "advance", "averaged", "figures",
           "AVERAGE_S", "balloon_overhead_pct", "explain",
           "BALLOON_OVERHEAD_POINTS", "BALLOON_OVERHEAD_SLOPE_PCT", "DECOMPRESS_S_PER_MB",
           "SNAPSHOT_FIELDS"]
