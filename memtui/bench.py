"""`memtui bench`: how fast the model steps, how soon `memtui run` starts, how long whole runs take.

Prints the machine, then three tables, each figure twice: "reference" (the plain path: the model's
plain stepping where it has one, and the batch writer that builds Snapshot objects and uses the
json module) and "fast" (the paths `memtui run` takes):

  start-up   the first sample of `memtui run`, as a subprocess, on the default profile and on
             profiles/bench-1024.toml;
  stepping   simulated seconds per wall second, in-process, for synthetic hosts of 8, 64, 320
             and 1,024 powered-on VMs (about 1.3x overcommitted, so every reclamation path runs);
  whole runs `memtui run` of the 64-VM hour (mixed 1-4 GB VMs, three content families, one
             sample a minute) and of a 1,024-VM hour sampled every 10 s, written to a null sink;
             and the cost of writing one VM record of a sample.

Each goal is marked met or MISSED; the exit status is 1 when any goal is missed.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from memtui.config import Event, HostConfig, Profile, VMConfig, Workload
from memtui.model import Host

SIZES = (8, 64, 320, 1024)
STEP_GOALS_X = {64: 10_000.0, 1024: 3_000.0}  # simulated s per wall s, fast path
FIRST_SAMPLE_GOALS_S = {"default": 0.2, "bench-1024": 0.4}
WHOLE_RUN_GOALS_S = {"64-VM hour": 0.6, "1,024-VM hour": 3.0}

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


_FAMILIES = (  # content family, zero %, family %
    ("win2008", 15, 30), ("win7", 25, 35), ("rhel6", 5, 15),
)


def hour_profile(n_vms: int = 64, overcommit: float = 1.25, seed: int = 7) -> Profile:
    """A mixed host for an hour's run: VMs of 1 to 4 GB in three content families, working sets
    that change during the hour (schedules), a few VMs without a balloon driver, some
    reservations, high shares here and there, and a timeline event or two; about `overcommit`
    times more memory configured than the host can give."""
    rnd = random.Random(seed)
    vms = []
    for i in range(n_vms):
        mem = rnd.choice((1024, 2048, 3072, 4096))
        family, zero, fam = _FAMILIES[i % len(_FAMILIES)]
        active = round(mem * rnd.uniform(0.1, 0.6))
        schedule = []
        if i % 3 == 0:  # a busy spell in the hour
            start = rnd.randrange(5, 40) * 60
            schedule = [(0, float(active)), (start, float(round(mem * rnd.uniform(0.5, 0.9)))),
                        (start + rnd.randrange(5, 15) * 60, float(active))]
        vms.append(VMConfig(
            name=f"vm{i:03d}", memory_mb=mem, vcpus=rnd.choice((1, 2, 2, 4)),
            reservation_mb=512 if i % 8 == 0 else 0, tools=i % 11 != 5,
            shares="high" if i % 6 == 0 else "normal", content_family=family,
            workload=Workload(active_mb=active, zero_pct=zero, family_pct=fam,
                              dup_pct=rnd.choice((1, 2, 3, 5)), boot_s=rnd.randrange(30, 180),
                              schedule=schedule),
        ))
    configured = sum(v.memory_mb for v in vms)
    host = HostConfig(name=f"mixed{n_vms}", memory_mb=max(4096, int(configured / overcommit) + 800),
                      system_mb=800, esx_version="5.x", cpu_cores=16, cpu_mhz=2600, seed=seed,
                      datastore_free_mb=2_000_000, swap_mb_per_s=200)
    events = [Event(at_s=1800, set={"Mem.IdleTax": 50}),
              Event(at_s=2400, vm=vms[1].name, set={"power": "off"})]
    return Profile(host=host, vms=vms, events=events)
