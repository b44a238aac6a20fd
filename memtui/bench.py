"""`memtui bench`: how fast the model runs, and how soon `memtui run` gives its first sample.

Prints simulated seconds per wall second for hosts of 8, 64, 320 and 1,024 powered-on VMs
(moderately overcommitted, so every reclamation path is exercised), and the machine the figures
come from. Targets: a 64-VM host at 3,600x real time or better, a 1,024-VM host at 100x or better,
the first sample of `memtui run` within 0.3 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

from memtui.config import HostConfig, Profile, VMConfig, Workload
from memtui.model import Host

SIZES = (8, 64, 320, 1024)
TARGETS_X = {64: 3600.0, 1024: 100.0}
FIRST_SAMPLE_TARGET_S = 0.3

_KINDS = (  # (memory MB, vCPUs, active MB, family, zero %, family %)
    (4096, 2, 1500, "win2008", 15, 30),
    (2048, 1, 400, "win7", 25, 35),
    (8192, 4, 5000, "rhel5", 5, 15),
    (1024, 1, 150, "win7", 30, 35),
)


def synthetic_profile(n_vms: int, overcommit: float = 1.3, seed: int = 1) -> Profile:
    """A host of `n_vms` powered-on VMs whose configured memory is `overcommit` times the
    memory the host can give them."""
    version = "4.0" if n_vms <= 320 else "6.x"
    vms = []
    for i in range(n_vms):
        mem, cpus, active, family, zero, fam = _KINDS[i % len(_KINDS)]
        vms.append(VMConfig(
            name=f"vm{i:04d}", memory_mb=mem, vcpus=cpus, content_family=family,
            reservation_mb=512 if i % 10 == 0 else 0, tools=i % 7 != 3,
            shares="high" if i % 5 == 0 else "normal",
            workload=Workload(active_mb=active, zero_pct=zero, family_pct=fam, dup_pct=3,
                              boot_s=60 + (i * 7) % 120),
        ))
    configured = sum(v.memory_mb for v in vms)
    memory = int(configured / overcommit) + 1024
    memory = max(memory, 4096)
    host = HostConfig(name=f"bench{n_vms}", memory_mb=memory, system_mb=800, esx_version=version,
                      cpu_cores=16, cpu_mhz=2600, seed=seed, datastore_free_mb=10_000_000,
                      swap_mb_per_s=400)
    return Profile(host=host, vms=vms)


def measure_model(n_vms: int, sim_s: int) -> tuple[float, float, str]:
    """(simulated s per wall s, wall s, final state) for `sim_s` of simulated time."""
    host = Host.from_profile(synthetic_profile(n_vms))
    start = time.perf_counter()
    host.run(sim_s)
    wall = time.perf_counter() - start
    return sim_s / wall, wall, host.state


def measure_first_sample(runs: int = 5) -> list[float]:
    """Wall seconds from starting `memtui run` to reading its first sample line."""
    from memtui.paths import default_profile_path

    cmd = [sys.executable, "-m", "memtui", "run", str(default_profile_path()), "--for", "10s",
           "--every", "10s", "--format", "jsonl"]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while True:
            line = proc.stdout.readline()
            if not line or '"type": "sample"' in line:
                break
        times.append(time.perf_counter() - start)
        proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"memtui run failed: exit {proc.returncode}")
    return times


def machine() -> str:
    try:
        import psutil

        mem = f"{psutil.virtual_memory().total / 2**30:.0f} GiB"
    except Exception:  # psutil is optional here
        mem = "?"
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {mem}, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="memtui bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="shorter runs (less precise)")
    args = p.parse_args(argv)
    print(f"machine: {machine()}")
    print(f"{'VMs':>6} {'simulated':>10} {'wall s':>8} {'x real time':>12}  target")
    ok = True
    for n in SIZES:
        sim_s = {8: 3600, 64: 3600, 320: 900, 1024: 600}[n]
        if args.quick:
            sim_s //= 4
        speed, wall, state = measure_model(n, sim_s)
        target = TARGETS_X.get(n)
        verdict = ""
        if target:
            good = speed >= target
            ok &= good
            verdict = f">= {target:,.0f}x {'met' if good else 'MISSED'}"
        print(f"{n:>6} {sim_s:>9}s {wall:>8.2f} {speed:>11,.0f}x  {verdict}  (ends {state})")
    times = measure_first_sample(3 if args.quick else 5)
    med = statistics.median(times)
    good = med <= FIRST_SAMPLE_TARGET_S
    ok &= good
    print(f"memtui run, first sample: median {med:.3f} s of {len(times)} runs "
          f"(min {min(times):.3f}, max {max(times):.3f})  target <= {FIRST_SAMPLE_TARGET_S} s "
          f"{'met' if good else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
