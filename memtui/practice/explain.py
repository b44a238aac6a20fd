"""Why a VM has its target, balloon, swap and compression, and why the host is in its state.

Built only from what the model recorded: `Host.decision(name)` (the inputs of the VM's last
target decision), `Host.snapshot()`, `Host.thresholds` and the settings. Every number quoted is
one of the model's, formatted by `mb()` / `num()` / `pct()` below, so the words are always
true. Each function returns plain sentences, one per line, for the "why" pane.

The module imports no UI toolkit.
"""

from __future__ import annotations

import math

from memtui import spec

STATE_DOES = {
    spec.STATE_HIGH: "no reclamation (page sharing runs in the background in every state)",
    spec.STATE_CLEAR: "no ballooning or swapping; page sharing works actively",
    spec.STATE_SOFT: "ballooning toward the targets; swapping only where ballooning can't",
    spec.STATE_HARD: "swapping to force memory back (compression first from 4.1 on); ballooning continues",
    spec.STATE_LOW: "swapping, and every VM above its target is blocked from allocating more",
}
STATE_DOES_6X = {
    spec.STATE_SOFT: "page sharing and ballooning toward the targets",
    spec.STATE_HARD: "page sharing, compression and swapping; no more ballooning",
    spec.STATE_LOW: "compression and swapping, and VMs above their target are blocked",
}


def mb(x: float) -> str:
    """A size as the explanations quote it: whole MB."""
    return f"{round(float(x), 2):,.0f} MB"


def num(x: float) -> str:
    """A ratio (rho, k) to three significant figures."""
    if math.isinf(x):
        return "infinite"
    return f"{x:.3g}"


def pct(x: float) -> str:
    return f"{x:g} %"


def _floors(host) -> list[tuple[str, float]]:
    return host.thresholds.floors()


def _decided(host) -> bool:
    """Whether the host has set the VMs' targets yet (it does at its first step)."""
    return getattr(host, "_last_balance_t", 0.0) > -1e17


NOT_DECIDED = ("The host has not set the VMs' targets yet: it does at the first simulated second "
               "(step the clock to see them).")


def _thresholds_words(host) -> str:
    parts = [f"{state} from {mb(floor)}" for state, floor in _floors(host)[:-1]]
    return ", ".join(parts) + f", {spec.STATE_LOW} below"


def _does(host, state: str) -> str:
    if host.config.esx_version == "6.x" and state in STATE_DOES_6X:
        return STATE_DOES_6X[state]
    return STATE_DOES[state]


def explain_host(host) -> list[str]:
    """Why the host is in its state, and what it does about it."""
    snap = host.snapshot()
    h = snap.host
    floors = dict(_floors(host))
    out = [f"The host is in the {h.state} state: {mb(h.free_mb)} free of {mb(h.managed_mb)} managed "
           f"(thresholds: {_thresholds_words(host)})."]
    order = [s for s, _ in _floors(host)]
    if h.state in order:
        i = order.index(h.state)
        if i > 0:
            better = order[i - 1]
            floor = floors.get(better)
            if floor is not None:
                min_free = host.thresholds.min_free_mb
                rise = floor + spec.STATE_RISE_MARGIN * min_free
                out.append(f"Free memory is below the {better} threshold ({mb(floor)}); the state "
                           f"rises again only once free memory is above {mb(rise)} (hysteresis: "
                           f"{pct(spec.STATE_RISE_MARGIN * 100)} of minFree, {mb(min_free)}) and "
                           f"has stayed there, without falling, for {spec.STATE_RISE_DWELL_S:g} s.")
        floor = floors.get(h.state)
        if floor is not None and floor > -math.inf and i < len(order) - 1:
            out.append(f"It drops to {order[i + 1]} if free memory falls below {mb(floor)}.")
    out.append(f"In this state the host does {_does(host, h.state)}.")
    on = [v.name for v in snap.vms if v.power == "on"]
    if not on:
        out.append("No VM is powered on.")
        return out
    if not _decided(host):
        out.append(NOT_DECIDED)
        return out
    d = host.decision(on[0])
    avail = d.available_mb
    if d.overcommitted:
        out.append(f"Memory is overcommitted: the VMs' demands exceed the {mb(avail)} the targets "
                   f"share out (managed memory less overheads and the {mb(d.free_target_mb)} of "
                   f"free memory the targets keep), so targets are set by shares, activity and the "
                   f"idle tax (Mem.IdleTax = {host.advanced['Mem.IdleTax']}).")
        if h.state == spec.STATE_HIGH:
            out.append("Free memory is still above the high threshold, so nothing is reclaimed yet.")
    else:
        out.append(f"Memory is not overcommitted: every VM's demand fits in the {mb(avail)} the "
                   f"targets share out, so each target is the VM's demand.")
    out.append(f"Configured memory of powered-on VMs is {h.overcommit:g} times managed memory; "
               f"{mb(h.reserved_mb)} is reserved (reservations and overheads), {mb(h.unreserved_mb)} "
               f"unreserved.")
    if h.overcommit_level > 0 or h.overcommit_avg_15m > 0:
        out.append(f"esxtop's memory overcommit (what the VMs ask for, memory or limit plus overhead, "
                   f"over managed memory, minus 1) is {h.overcommit_level:.2f} now; averages over 1, 5 "
                   f"and 15 minutes {h.overcommit_avg_1m:.2f}, {h.overcommit_avg_5m:.2f}, "
                   f"{h.overcommit_avg_15m:.2f}.")
    acts = []
    if h.balloon_mb > 0:
        acts.append(f"balloons hold {mb(h.balloon_mb)} (target {mb(h.balloon_target_mb)})")
    if h.swapped_mb > 0:
        acts.append(f"{mb(h.swapped_mb)} is swapped (target {mb(h.swap_target_mb)}; out {h.swap_out_mb_s:g} "
                    f"MB/s, in {h.swap_in_mb_s:g} MB/s)")
    if h.zipped_mb > 0:
        acts.append(f"{mb(h.zipped_mb)} is compressed in {mb(h.zip_cache_mb)} of cache")
    if h.shared_saved_mb > 0:
        acts.append(f"page sharing saves {mb(h.shared_saved_mb)}")
    if acts:
        out.append("Now: " + "; ".join(acts) + ".")
    blocked = [v.name for v in snap.vms if v.blocked]
    if blocked:
        out.append(f"Blocked from allocating: {', '.join(blocked)}.")
    return out


def _bound_sentence(host, d, v, decisions) -> list[str]:
    from memtui import model

    name = d.vm
    if d.bound == model.BOUND_LIMIT:
        lead = "Memory is not overcommitted, but " if not d.overcommitted else ""
        return [f"{lead}{name}'s target is capped by its limit: {mb(d.target_mb)} (limit {mb(d.limit_mb or 0)}); "
                f"its guest has touched {mb(v.touched_mb)}, more than the limit allows, so the host "
                f"reclaims the rest whatever its state."]
    if not d.overcommitted:
        cap = mb(min(v.memory_mb, d.limit_mb if d.limit_mb is not None else v.memory_mb))
        if v.active_true_mb > v.touched_mb + 0.5:
            # Its working set is ahead of what it has touched (a guest booting or growing): the
            # demand is the working set it is touching its way into.
            doing = "is booting into" if v.booting else "is touching its way into"
            return [f"Memory is not overcommitted, so {name}'s target is its demand: {mb(d.target_mb)} "
                    f"(the working set of {mb(v.active_true_mb)} its guest {doing}, of which it has "
                    f"touched {mb(v.touched_mb)} so far (TCHD); less its sharing saving, up to "
                    f"min(memsize, limit) = {cap})."]
        return [f"Memory is not overcommitted, so {name}'s target is its demand: {mb(d.target_mb)} "
                f"(what it has touched, less its sharing saving, up to min(memsize, limit) = "
                f"{cap})."]
    if d.bound == model.BOUND_DEMAND:
        return [f"{name} needs less than its fair share: its target is its whole demand, {mb(d.upper_mb)}."]
    if d.bound == model.BOUND_RESERVATION:
        return [f"By shares {name} would get less, but its reservation is a floor: its target is "
                f"{mb(d.target_mb)} (reservation {mb(d.reservation_mb)}, demand {mb(d.upper_mb)})."]
    # Shares-bound.
    out = [f"{name}'s target, {mb(d.target_mb)}, is set by shares: it holds {d.shares:,.0f} shares, the "
           f"host estimates {mb(d.active_mb)} of it active, and with an idle tax of "
           f"{pct(round(d.tau * 100, 1))} an idle page costs k = {num(d.k)} times an active one; so it "
           f"pays rho = {num(d.rho)} shares per MB at its target (between {mb(d.lower_mb)} and "
           f"{mb(d.upper_mb)})."]
    others = [(o.vm, o) for o in decisions if o.vm != name]
    if others:
        words = []
        for other, od in others:
            where = {model.BOUND_SHARES: "set by shares", model.BOUND_RESERVATION: "at its reservation",
                     model.BOUND_LIMIT: "at its limit", model.BOUND_DEMAND: "at its demand"}[od.bound]
            words.append(f"{other} rho {num(od.rho)} ({where}, target {mb(od.target_mb)})")
        out.append("The host takes memory from the VM that pays least per MB, so VMs set by shares "
                   "end with equal rho: " + "; ".join(words) + ".")
    return out


def explain_vm(host, name: str) -> list[str]:
    """Why VM `name` has its current target, balloon, swap and compression."""
    from memtui import model

    snap = host.snapshot()
    v = snap.vm(name)
    if v.power != "on":
        return [f"{name} is powered off: it has no target and holds no machine memory."]
    h = snap.host
    if not _decided(host):
        return [f"The host is in the {h.state} state ({mb(h.free_mb)} free; thresholds: "
                f"{_thresholds_words(host)}).", NOT_DECIDED]
    d = host.decision(name)
    decisions = [host.decision(o.name) for o in snap.vms if o.power == "on"]
    th = host.thresholds
    out = [f"The host is in the {d.state} state ({mb(h.free_mb)} free; thresholds: "
           f"{_thresholds_words(host)}); in it the host does {_does(host, h.state)}."]
    if h.state != d.state:
        out[0] = (f"The host is in the {h.state} state ({mb(h.free_mb)} free; thresholds: "
                  f"{_thresholds_words(host)}); the targets were set at {d.t:g} s in the {d.state} state.")
    out += _bound_sentence(host, d, v, decisions)
    if d.reservation_mb > 0 and d.bound != model.BOUND_RESERVATION:
        out.append(f"Its reservation of {mb(d.reservation_mb)} guarantees that memory once touched: it is "
                   f"never ballooned, compressed or swapped.")
    if d.limit_mb is not None and d.bound != model.BOUND_LIMIT and d.limit_mb < v.memory_mb:
        out.append(f"Its limit is {mb(d.limit_mb)} of {mb(v.memory_mb)} configured.")
    act = d.action
    over_target = v.consumed_mb - v.target_mb
    # What acts on it now.
    if v.booting:
        boot = host.vms[host.index(name)].workload.boot_s
        out.append(f"{name} is booting (boot takes {boot} s): its balloon driver is not running yet, so "
                   f"the host can only swap it.")
    elif not v.tools:
        out.append(f"{name} has no balloon driver (VMware Tools are not installed), so the host cannot "
                   f"balloon it: it swaps instead.")
    elif not v.balloon_active:
        out.append(f"Ballooning is disabled on this host (Mem.CtlMaxPercent = "
                   f"{host.advanced['Mem.CtlMaxPercent']}), so the host swaps instead.")
    if act & model.ACT_LIMIT and d.limit_mb is not None:
        out.append(f"It is above its limit ({mb(d.limit_mb or 0)}): the host reclaims from it even in "
                   f"the {h.state} state.")
    if act & model.ACT_BALLOON:
        out.append(f"The balloon driver is inflating: {mb(v.balloon_mb)} now, target {mb(v.balloon_target_mb)} "
                   f"(at most {mb(v.balloon_max_mb)}).")
    elif act & model.ACT_DEFLATE:
        out.append(f"The balloon is deflating: {mb(v.balloon_mb)} now, target {mb(v.balloon_target_mb)}.")
    if v.tools and v.balloon_active and v.balloon_max_mb > 0 and v.balloon_mb >= v.balloon_max_mb - 0.5:
        cap_pct = host.advanced["Mem.CtlMaxPercent"]
        out.append(f"The balloon is at its cap, {mb(v.balloon_max_mb)} (Mem.CtlMaxPercent = {cap_pct} % of "
                   f"{mb(v.memory_mb)}, or the VM's own max balloon): what more must go is swapped.")
    if act & model.ACT_SHARE_BEFORE_SWAP:
        out.append("Share before swap: pages picked for swapping that match a shared page are shared "
                   "instead.")
    if act & model.ACT_ZIP:
        out.append(f"The host compresses its pages before swapping: {mb(v.zipped_mb)} compressed into "
                   f"{mb(v.zip_cache_mb)} of cache, at {v.zip_rate_mb_s:g} MB/s.")
    if act & model.ACT_SWAP:
        out.append(f"The host is swapping it out at {v.swap_out_mb_s:g} MB/s: {mb(v.swapped_mb)} swapped, "
                   f"swap target {mb(v.swap_target_mb)}.")
    if act & model.ACT_SWAP_IN:
        out.append(f"The guest touches swapped pages, which fault back in at {v.swap_in_mb_s:g} MB/s.")
    if act & model.ACT_BLOCKED or v.blocked:
        out.append(f"The host is in the low state and {name} is above its target ({mb(v.consumed_mb)} "
                   f"consumed, target {mb(v.target_mb)}): its allocations are blocked.")
    if not act & (model.ACT_BALLOON | model.ACT_DEFLATE | model.ACT_ZIP | model.ACT_SWAP | model.ACT_BLOCKED
                  | model.ACT_LIMIT | model.ACT_SHARE_BEFORE_SWAP):
        if over_target > 0.5 and h.state in (spec.STATE_HIGH, spec.STATE_CLEAR):
            out.append(f"It holds {mb(v.consumed_mb)}, above its target, but free memory is above the "
                       f"high threshold ({mb(th.high)}), so nothing reclaims it now.")
        else:
            out.append("Nothing reclaims memory from it now.")
    held = []
    if v.balloon_mb > 0 and not act & (model.ACT_BALLOON | model.ACT_DEFLATE):
        held.append(f"a balloon of {mb(v.balloon_mb)}")
    if v.swapped_mb > 0 and not act & model.ACT_SWAP:
        held.append(f"{mb(v.swapped_mb)} swapped out (swapped pages stay on disk until the guest touches them)")
    if v.zipped_mb > 0 and not act & model.ACT_ZIP:
        held.append(f"{mb(v.zipped_mb)} compressed")
    if held:
        out.append("It still has " + " and ".join(held) + ".")
    if v.guest_paging_mb > 0:
        out.append(f"Its balloon is larger than the guest's free memory: the guest pages {mb(v.guest_paging_mb)} "
                   f"of its working set to its own swap.")
    from memtui.cost import explain as explain_cost

    out += explain_cost(v, host.config.swap_mb_per_s)
    return out


__all__ = ["explain_vm", "explain_host", "mb", "num", "pct"]
