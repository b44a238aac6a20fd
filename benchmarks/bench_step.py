"""How fast the model steps, fast path against the reference path, and how long a host takes
to build: `python benchmarks/bench_step.py`.

Prints simulated seconds per wall second (best of 3 runs) for synthetic hosts of 64 and 1,024
VMs (memtui.bench.synthetic_profile, 900 s and 150 s from power-on), and the time
`Host.from_profile` takes on profiles/bench-1024.toml (best of 5).
"""

from __future__ import annotations

import time
from pathlib import Path

from memtui.bench import machine, synthetic_profile
from memtui.model import Host
from memtui.profile import load_profile

ROOT = Path(__file__).resolve().parent.parent


def stepping(n_vms: int, sim_s: int, reference: bool) -> float:
    host = Host.from_profile(synthetic_profile(n_vms))
    start = time.perf_counter()
    host.run(sim_s, reference=reference)
    return sim_s / (time.perf_counter() - start)


def building(path: Path, runs: int = 5) -> float:
    profile = load_profile(str(path))
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        Host.from_profile(profile)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    print(f"machine: {machine()}")
    for n, sim_s in ((64, 900), (1024, 150)):
        for reference in (False, True):
            best = max(stepping(n, sim_s, reference) for _ in range(3))
            path = "reference" if reference else "fast"
            print(f"{n:>5} VMs, {sim_s} s, {path:>9} path: {best:>7,.0f}x real time")
    print(f"Host.from_profile(bench-1024.toml): {building(ROOT / 'profiles' / 'bench-1024.toml') * 1000:.1f} ms")


if __name__ == "__main__":
    main()
